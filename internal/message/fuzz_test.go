package message

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds are the malformed shapes Parse must survive, beside the
// testdata corpus.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{
		nil,
		[]byte("\r\n"),
		[]byte("\n\n\n"),
		[]byte(" leading continuation\r\nSubject: x\r\n\r\nbody"),
		[]byte("Subject: =?bogus-charset?Q?=FF=FE?= =?utf-8?B?////?=\r\nFrom: \xff\xfe <a@\xff>\r\n\r\n\xff"),
		[]byte("Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n----\r\n"),
		[]byte("Content-Type: multipart/mixed\r\n\r\n--a\r\n\r\nx\r\n--a--"),
		[]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a--\r\n--a\r\n"),
		[]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n--a\r\n--a"),
		[]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n--a--\r\n"),
		[]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n--a--"),
		[]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n"),
		[]byte("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: =41\r\n\r\n"),
		[]byte("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n--d\r\nContent-Type: multipart/mixed; boundary=e\r\n\r\n--e--\r\n--d--"),
		[]byte("Content-Type: text/plain; charset*0*=utf-8''%; charset*1=x; name*=''%ZZ\r\nContent-Disposition: attachment; filename*99999999999999=a\r\n\r\n"),
		[]byte("Content-Transfer-Encoding: base64\r\n\r\n===="),
		[]byte("Content-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n=\n="),
		[]byte("To: a:b:c;;;,<<>>@@,\"unterminated\r\nCc: (((\r\nDate: ((Mon\r\nReferences: <<<>>>\r\n\r\n"),
		[]byte("From mbox-line Mon Jan  1 00:00:00 2024\nFrom: a@b\n\nbody\n"),
		nestedMultipart(100),
	}
	big, _ := bigAttachment(1 << 20)
	seeds = append(seeds, big)
	return seeds
}

// FuzzParse checks that Parse never panics on any input, that offsets stay
// within the input and ordered, that section numbers resolve, and that
// Marshal/Unmarshal round-trips. It also exercises the readers and
// converters every door uses on the result.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		orig := bytes.Clone(raw)
		p := Parse(raw)
		if !bytes.Equal(raw, orig) {
			t.Fatal("Parse modified its input")
		}
		if err := checkInvariants(raw, p); err != nil {
			t.Fatal(err)
		}
		p.Root.Walk(func(path []int, part *Part) bool {
			if _, err := io.Copy(io.Discard, DecodeBody(raw, part)); err != nil {
				t.Fatalf("DecodeBody: %v", err)
			}
			_ = part.FileName()
			return true
		})
		_ = Attachments(p)
		_ = TextBody(raw, p)
		_ = HTMLBody(raw, p)
		_ = p.Root.IMAPBodyStructure()
		_ = p.Envelope.IMAP()
	})
}

// FuzzUnmarshal checks that a corrupt database value is an error, never a
// panic, and that whatever decodes encodes back to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(Parse(raw).Marshal())
	}
	f.Add([]byte{marshalVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b)
		if err != nil {
			return
		}
		if again := p.Marshal(); !bytes.Equal(again, b) {
			// Maps and varints have one canonical encoding only when the
			// input was canonical; decoding again must still agree.
			q, err := Unmarshal(again)
			if err != nil {
				t.Fatalf("re-encoded value does not decode: %v", err)
			}
			if !bytes.Equal(q.Marshal(), again) {
				t.Fatal("encoding is not stable")
			}
		}
	})
}
