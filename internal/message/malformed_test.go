package message

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestMalformedStructure covers boundary and header shapes that break
// strict parsers. Each case lists the leaf parts expected as
// "type/subtype=body".
func TestMalformedStructure(t *testing.T) {
	const mp = "Content-Type: multipart/mixed; boundary=a\r\n\r\n"
	tests := []struct {
		name  string
		raw   string
		parts []string
		warn  string
	}{
		{"header without empty line before delimiter", mp + "--a\r\nContent-Type: text/html\r\n--a--\r\n",
			[]string{"text/html="}, "header not terminated"},
		{"part without header", mp + "--a\r\nhello\r\n--a--\r\n",
			[]string{"text/plain=hello"}, "entity without header"},
		{"empty part", mp + "--a\r\n\r\n--a--\r\n",
			[]string{"text/plain="}, ""},
		{"delimiter with trailing space and text", mp + "--a  trailing\r\n\r\nx\r\n--a--\r\n",
			[]string{"text/plain=x"}, ""},
		{"close delimiter with junk", mp + "--a\r\n\r\nx\r\n--a--junk\r\nepilogue",
			[]string{"text/plain=x"}, ""},
		{"boundary prefix of another", mp + "--a\r\nContent-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n\r\ninner\r\n--ab--\r\n--a\r\n\r\nouter\r\n--a--\r\n",
			[]string{"text/plain=inner", "text/plain=outer"}, ""},
		{"delimiter-like line that is not one", mp + "--a\r\n\r\n--ab is text\r\n--a--\r\n",
			[]string{"text/plain=--ab is text"}, ""},
		{"mixed line ends", "Content-Type: multipart/mixed; boundary=a\n\r\n--a\r\n\nx\n--a\r\n\r\ny\r\n--a--\n",
			[]string{"text/plain=x", "text/plain=y"}, ""},
		{"empty boundary parameter", "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--q\r\n\r\nx\r\n--q--\r\n",
			[]string{"text/plain=x"}, "guessed"},
		{"no delimiter at all", mp + "just text\r\n",
			nil, "has no parts"},
		{"close delimiter first", mp + "--a--\r\n--a\r\n\r\nx\r\n",
			nil, "has no parts"},
		{"content-type without subtype", "Content-Type: image\r\n\r\nx",
			[]string{"text/plain=x"}, "invalid Content-Type"},
		{"parameters with junk", "Content-Type: text/plain; ;; =x; charset=\"utf-8\r\n\r\nx",
			[]string{"text/plain=x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw)
			p := Parse(raw)
			if err := checkInvariants(raw, p); err != nil {
				t.Fatal(err)
			}
			var leaves []string
			p.Root.Walk(func(_ []int, part *Part) bool {
				if !part.IsMultipart() {
					leaves = append(leaves, part.ContentType()+"="+string(part.BodyBytes(raw)))
				}
				return true
			})
			if strings.Join(leaves, "|") != strings.Join(tc.parts, "|") {
				t.Errorf("parts %q, want %q", leaves, tc.parts)
			}
			found := tc.warn == ""
			for _, w := range p.Warnings {
				found = found || strings.Contains(w, tc.warn)
			}
			if !found || (tc.warn == "" && len(p.Warnings) > 0) {
				t.Errorf("warnings %q, want one containing %q", p.Warnings, tc.warn)
			}
			// A multipart without parts still has a valid IMAP structure.
			if mpbs, ok := p.Root.IMAPBodyStructure().(*imap.BodyStructureMultiPart); ok && len(mpbs.Children) == 0 {
				t.Error("multipart body structure without children")
			}
		})
	}
}
