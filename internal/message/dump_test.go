package message

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dumpPart(sb *strings.Builder, raw []byte, p *Part, indent string) {
	fmt.Fprintf(sb, "%s%s/%s [%d %d %d] size=%d lines=%d params=%v enc=%q disp=%q dp=%v cid=%q fn=%q\n", indent, p.MediaType, p.MediaSubtype, p.HeaderStart, p.BodyStart, p.End, p.Size, p.Lines, p.Params, p.Encoding, p.Disposition, p.DispositionParams, p.ContentID, p.FileName())
	fmt.Fprintf(sb, "%s  body=%q\n", indent, truncate(string(raw[p.BodyStart:p.End]), 60))
	if p.Envelope != nil {
		fmt.Fprintf(sb, "%s  env=%+v\n", indent, *p.Envelope)
	}
	for _, c := range p.Parts {
		dumpPart(sb, raw, c, indent+"  ")
	}
}

func TestDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	files, _ := filepath.Glob("testdata/*.eml")
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		p := Parse(raw)
		var sb strings.Builder
		fmt.Fprintf(&sb, "== %s\n", f)
		fmt.Fprintf(&sb, "subject=%q from=%q <%s> to=%q cc=%q sent=%v mid=%q irt=%q refs=%q att=%v imp=%d\npreview=%q\nwarn=%q\nenv=%+v\n", p.Subject, p.FromName, p.FromAddr, p.ToDisplay, p.CcDisplay, p.SentAt, p.MessageID, p.InReplyTo, p.References, p.HasAttachments, p.Importance, p.Preview, p.Warnings, p.Envelope)
		dumpPart(&sb, raw, p.Root, "")
		for _, a := range Attachments(p) {
			fmt.Fprintf(&sb, "att %v %q inline=%v %s\n", a.Path, a.FileName, a.Inline, a.Part.ContentType())
		}
		t.Log(sb.String())
	}
}
