package oxcmail

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
)

// FuzzInetToMAPI derives properties from arbitrary bytes: it must never
// fail or panic, every value must be encodable on the wire, strings must be
// valid UTF-8 without NULs, and the result must render back to
// well-formed MIME whose subject derives to the same text.
func FuzzInetToMAPI(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range []string{
		"",
		"Subject: =?utf-8?B?////?= \x00\r\nFrom: \"\xff\" <@>\r\n\r\n",
		"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: ;\r\nAction: failed\r\n--b--",
		"Content-Type: multipart/signed; protocol=application/pkcs7-signature; boundary=s\r\n\r\n--s--",
		"Content-Type: text/html; charset=utf-16\r\n\r\n\xff\xfe<\x00p\x00>\x00",
		"Thread-Index: AQ==\r\nReferences: <a> <b> <<c>>\r\nKeywords: ,,,\r\nX-A: \x00\r\n\r\n",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nSubject: deep\r\n\r\n",
		"Reply-To: a@b, c@d, e\r\nDisposition-Notification-To: <>\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		np := newFakeNamedProps()
		m, err := InetToMAPI(context.Background(), raw, message.Parse(raw), np, ToMAPIOptions{ReceivedBy: Mailbox{Address: "me@example.com"}})
		if err != nil {
			t.Fatalf("InetToMAPI: %v", err)
		}
		checkValues(t, m, 0)
		out, err := MAPIToInet(m, ToInetOptions{KeepBcc: true})
		if err != nil {
			t.Fatalf("MAPIToInet: %v", err)
		}
		checkWellFormed(t, out)
		back, err := InetToMAPI(context.Background(), out, message.Parse(out), nil, ToMAPIOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if a, b := safeHeader(m.Props.String(mp.PidTagSubject)), back.Props.String(mp.PidTagSubject); a != b {
			t.Errorf("subject %q rendered and derived as %q", a, b)
		}
		if a, b := len(m.Recipients), len(back.Recipients); a < b {
			t.Errorf("%d recipients became %d", a, b)
		}
	})
}

func checkValues(t *testing.T, m *Message, depth int) {
	t.Helper()
	all := []Props{m.Props}
	all = append(all, m.Recipients...)
	for _, a := range m.Attachments {
		all = append(all, a.Props)
		if a.Embedded != nil {
			checkValues(t, a.Embedded, depth+1)
		}
	}
	for _, p := range all {
		for _, v := range p.Values() {
			if err := v.Validate(); err != nil {
				t.Errorf("%s: %v", v.Tag, err)
			}
			switch d := v.Data.(type) {
			case string:
				if !utf8.ValidString(d) || strings.ContainsRune(d, 0) {
					t.Errorf("%s: bad string %q", v.Tag, d)
				}
			case []string:
				for _, s := range d {
					if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
						t.Errorf("%s: bad string %q", v.Tag, s)
					}
				}
			}
		}
	}
}

// encodeFuzzMessage serialises a message for FuzzMAPIToInet seeds: the
// message's tagged values, then recipients and attachments (each a flag
// byte, 1 for an embedded message that follows, and tagged values).
func encodeFuzzMessage(w *mp.Writer, m *Message, depth int) {
	w.TaggedValues(m.Props.Values())
	w.U8(uint8(len(m.Recipients)))
	for _, r := range m.Recipients {
		w.TaggedValues(r.Values())
	}
	w.U8(uint8(len(m.Attachments)))
	for _, a := range m.Attachments {
		w.TaggedValues(a.Props.Values())
		if a.Embedded != nil && depth < 2 {
			w.U8(1)
			encodeFuzzMessage(w, a.Embedded, depth+1)
		} else {
			w.U8(0)
		}
	}
}

func decodeFuzzMessage(r *mp.Reader, depth int) *Message {
	m := &Message{}
	for _, v := range r.TaggedValues() {
		m.Props.Set(v)
	}
	for n := int(r.U8()); n > 0 && r.Err() == nil; n-- {
		var p Props
		for _, v := range r.TaggedValues() {
			p.Set(v)
		}
		m.Recipients = append(m.Recipients, p)
	}
	for n := int(r.U8()); n > 0 && r.Err() == nil; n-- {
		a := &Attachment{}
		for _, v := range r.TaggedValues() {
			a.Props.Set(v)
		}
		if r.U8() == 1 && depth < 3 {
			a.Embedded = decodeFuzzMessage(r, depth+1)
		}
		m.Attachments = append(m.Attachments, a)
	}
	return m
}

func fuzzFormat() mp.Format { return mp.Format{CodePage: mp.CodePageUTF8, Wide: true} }

// FuzzMAPIToInet renders arbitrary property sets (as a client could set
// them through MAPI): never a panic or an error, always well-formed MIME
// without header injection.
func FuzzMAPIToInet(f *testing.F) {
	seed := func(m *Message) []byte {
		w := mp.NewWriter()
		w.Format = fuzzFormat()
		encodeFuzzMessage(w, m, 0)
		if w.Err() != nil {
			f.Fatal(w.Err())
		}
		return w.Bytes()
	}
	f.Add(seed(sampleMessage()))
	f.Add([]byte{})
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		raw, _ := os.ReadFile(name)
		m, err := InetToMAPI(context.Background(), raw, nil, nil, ToMAPIOptions{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed(m))
	}
	odd := &Message{}
	odd.Props.setString(mp.PidTagSubject, "\r\n=?utf-8?q?x?=\t\x7f")
	odd.Props.setBinary(mp.PidTagHtml, []byte{0xff, 0xfe, 0x00})
	odd.Props.setInt32(mp.PidTagInternetCodepage, 1200)
	odd.Props.setBinary(mp.PidTagRtfCompressed, []byte("garbage that is not rtf at all"))
	odd.Props.setString(mp.PidTagMessageClass, "IPM.Note.SMIME.MultipartSigned")
	oa := &Attachment{}
	oa.Props.setString(mp.PidTagAttachMimeTag, "multipart/signed")
	oa.Props.setBinary(mp.PidTagAttachDataBinary, []byte("Content-Type: multipart/signed; boundary=x\r\n\r\n--x\r\n\r\n--x--\r\n"))
	odd.Attachments = []*Attachment{oa}
	f.Add(seed(odd))

	f.Fuzz(func(t *testing.T, b []byte) {
		r := mp.NewReader(b)
		r.Format = fuzzFormat()
		m := decodeFuzzMessage(r, 0)
		out, err := MAPIToInet(m, ToInetOptions{Hostname: "fuzz.example"})
		if err != nil {
			t.Fatalf("MAPIToInet: %v", err)
		}
		checkWellFormed(t, out)
		p := message.Parse(out)
		hdr := out[:p.Root.BodyStart]
		seen := map[string]int{}
		for _, fld := range message.ReadHeader(hdr) {
			seen[strings.ToLower(fld.Key)]++
		}
		for _, k := range []string{"from", "to", "subject", "date", "message-id", "mime-version", "content-type"} {
			if seen[k] > 1 {
				t.Errorf("%d %s fields:\n%s", seen[k], k, hdr)
			}
		}
		if seen["bcc"] > 0 {
			t.Errorf("Bcc rendered:\n%s", hdr)
		}
		if !bytes.HasSuffix(hdr, []byte("\r\n\r\n")) {
			t.Errorf("header does not end with an empty line:\n%q", hdr)
		}
	})
}
