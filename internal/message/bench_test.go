package message

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// fourKB builds a typical 4 KB message: headers, text and HTML
// alternatives, and a small attachment.
func fourKB() []byte {
	var b bytes.Buffer
	b.WriteString("Received: from mx.example.org by mx.example.com; Tue, 14 May 2024 09:21:07 +0000\r\n" +
		"From: =?UTF-8?Q?Alice_M=C3=BCller?= <alice@example.org>\r\nTo: Bob <bob@example.com>, carol@example.com\r\n" +
		"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=\r\nDate: Tue, 14 May 2024 11:21:05 +0200\r\n" +
		"Message-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n" +
		"--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n" +
		"--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "Line %d of the message text, Gr=C3=BC=C3=9Fe and some more words to fill it.\r\n", i)
	}
	b.WriteString("--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>")
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "<p>Line %d of the message text, Grüße and some more words.</p>\r\n", i)
	}
	b.WriteString("</body></html>\r\n--a--\r\n--m\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for b.Len() < 4000 {
		b.WriteString("JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURl\r\n")
	}
	b.WriteString("--m--\r\n")
	return b.Bytes()
}

func BenchmarkParse4KB(b *testing.B) {
	raw := fourKB()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(raw)
	}
}

func BenchmarkParse10MBAttachment(b *testing.B) {
	raw, _ := bigAttachment(10 << 20)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(raw)
	}
}

func BenchmarkDecodeBody10MB(b *testing.B) {
	raw, _ := bigAttachment(10 << 20)
	p := Parse(raw)
	part := AttachmentParts(p)[0]
	b.SetBytes(part.Size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.Copy(io.Discard, DecodeBody(raw, part)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal4KB(b *testing.B) {
	p := Parse(fourKB())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(p.Marshal()); err != nil {
			b.Fatal(err)
		}
	}
}
