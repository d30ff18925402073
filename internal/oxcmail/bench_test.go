package oxcmail

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/pochta/pochta/internal/message"
)

// bigMessage is a text+HTML message with a 10 MB attachment.
func bigMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: A <a@example.com>\r\nTo: b@example.com\r\nSubject: big\r\nDate: Mon, 03 Jun 2024 09:00:00 +0000\r\n" +
		"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.Repeat("Some body text, line after line.\r\n", 200) +
		"--m\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	data := bytes.Repeat([]byte{0, 1, 2, 3, 250, 251, 252}, 10<<20/7)
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--m--\r\n")
	return b.Bytes()
}

// BenchmarkInetToMAPI derives the properties of a message with a 10 MB
// attachment from a stored parse (what OpenMessage costs): the attachment
// is sized, not decoded.
func BenchmarkInetToMAPI(b *testing.B) {
	raw := bigMessage()
	p := message.Parse(raw)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := InetToMAPI(context.Background(), raw, p, nil, ToMAPIOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMAPIToInet renders the sample message (text, HTML, inline
// image, attachments, an embedded message).
func BenchmarkMAPIToInet(b *testing.B) {
	m := sampleMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MAPIToInet(m, ToInetOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
