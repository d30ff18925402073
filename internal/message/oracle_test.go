package message

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"
)

// oracleFiles are well-formed messages on which go-imap's own extraction
// (imapserver.ExtractBodyStructure / ExtractEnvelope, built on go-message)
// is a trustworthy oracle. Malformed mail is where the two may rightly
// differ, so it is tested elsewhere.
var oracleFiles = []string{
	"simple.eml", "alternative.eml", "mixed.eml", "forward.eml",
	"groups.eml", "dsn.eml", "bare-lf.eml", "nested-unclosed.eml",
}

func TestBodyStructureMatchesGoIMAP(t *testing.T) {
	for _, name := range oracleFiles {
		t.Run(name, func(t *testing.T) {
			raw := readTestdata(t, name)
			p := Parse(raw)
			want := normalizeBS(imapserver.ExtractBodyStructure(bytes.NewReader(raw)))
			got := normalizeBS(p.Root.IMAPBodyStructure())
			if !reflect.DeepEqual(got, want) {
				t.Errorf("body structure differs from go-imap\n got: %s\nwant: %s", dumpBS(got), dumpBS(want))
			}
		})
	}
}

func TestEnvelopeMatchesGoIMAP(t *testing.T) {
	for _, name := range oracleFiles {
		t.Run(name, func(t *testing.T) {
			raw := readTestdata(t, name)
			p := Parse(raw)
			h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatalf("go-message cannot read the header: %v", err)
			}
			want := normalizeEnv(imapserver.ExtractEnvelope(h))
			got := normalizeEnv(p.Envelope.IMAP())
			if !reflect.DeepEqual(got, want) {
				t.Errorf("envelope differs from go-imap\n got: %+v\nwant: %+v", got, want)
			}
		})
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// normalizeBS removes the differences that are representation, not
// meaning: go-imap decodes RFC 2047 words in parameters (we keep them, as
// they are on the wire), and nil vs empty maps and slices.
func normalizeBS(bs imap.BodyStructure) imap.BodyStructure {
	switch bs := bs.(type) {
	case *imap.BodyStructureSinglePart:
		c := *bs
		c.Params = normParams(c.Params)
		if c.Extended != nil {
			e := *c.Extended
			e.Disposition = normDisp(e.Disposition)
			e.Language = normSlice(e.Language)
			c.Extended = &e
		}
		if c.MessageRFC822 != nil {
			m := *c.MessageRFC822
			m.Envelope = normalizeEnv(m.Envelope)
			m.BodyStructure = normalizeBS(m.BodyStructure)
			c.MessageRFC822 = &m
		}
		return &c
	case *imap.BodyStructureMultiPart:
		c := *bs
		c.Children = nil
		for _, ch := range bs.Children {
			c.Children = append(c.Children, normalizeBS(ch))
		}
		if c.Extended != nil {
			e := *c.Extended
			e.Params = normParams(e.Params)
			e.Disposition = normDisp(e.Disposition)
			e.Language = normSlice(e.Language)
			c.Extended = &e
		}
		return &c
	}
	return bs
}

func normParams(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = DecodeHeaderText(v)
	}
	return out
}

func normDisp(d *imap.BodyStructureDisposition) *imap.BodyStructureDisposition {
	if d == nil {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: d.Value, Params: normParams(d.Params)}
}

func normSlice(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// normalizeEnv compares dates as instants and drops group markers: go-imap
// flattens groups (it notes "TODO: handle groups"), we keep RFC 3501's
// markers.
func normalizeEnv(e *imap.Envelope) *imap.Envelope {
	if e == nil {
		return nil
	}
	c := *e
	c.Date = c.Date.UTC()
	for _, l := range []*[]imap.Address{&c.From, &c.Sender, &c.ReplyTo, &c.To, &c.Cc, &c.Bcc} {
		var out []imap.Address
		for _, a := range *l {
			if a.IsGroupStart() || a.IsGroupEnd() {
				continue
			}
			out = append(out, a)
		}
		*l = out
	}
	c.InReplyTo = normSlice(c.InReplyTo)
	return &c
}

func dumpBS(bs imap.BodyStructure) string {
	var b bytes.Buffer
	var dump func(bs imap.BodyStructure, indent string)
	dump = func(bs imap.BodyStructure, indent string) {
		switch bs := bs.(type) {
		case *imap.BodyStructureSinglePart:
			fmt.Fprintf(&b, "\n%s%+v ext=%+v", indent, *bs, *bs.Extended)
			if bs.Text != nil {
				fmt.Fprintf(&b, " text=%+v", *bs.Text)
			}
			if m := bs.MessageRFC822; m != nil {
				fmt.Fprintf(&b, " env=%+v lines=%d", *m.Envelope, m.NumLines)
				dump(m.BodyStructure, indent+"  ")
			}
		case *imap.BodyStructureMultiPart:
			fmt.Fprintf(&b, "\n%smultipart/%s ext=%+v", indent, bs.Subtype, *bs.Extended)
			for _, c := range bs.Children {
				dump(c, indent+"  ")
			}
		}
	}
	dump(bs, "")
	return b.String()
}
