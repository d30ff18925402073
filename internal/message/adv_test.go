package message

import (
	"bytes"
	"strings"
	"testing"
)

// adversarialInputs are shapes that make a naive parser quadratic or make
// it recurse without bound: long runs of encoded-word starts, brackets,
// comments, parameters, delimiters and guessed boundaries.
func adversarialInputs(n int) map[string][]byte {
	cases := map[string][]byte{
		"subject-words":  []byte("Subject: " + strings.Repeat("=?utf-8?q?", n/10) + "\r\n\r\n"),
		"subject-words2": []byte("Subject: " + strings.Repeat("=?u?q?a", n/7) + "\r\n\r\n"),
		"subject-words3": []byte("Subject: " + strings.Repeat("=??", n/3) + "?=\r\n\r\n"),
		"to-angles":      []byte("To: " + strings.Repeat("<", n) + "\r\n\r\n"),
		"to-groups":      []byte("To: " + strings.Repeat("a:", n/2) + "\r\n\r\n"),
		"to-comments":    []byte("To: " + strings.Repeat("(", n) + "\r\n\r\n"),
		"ct-params":      []byte("Content-Type: text/plain" + strings.Repeat("; a*1*=b", n/8) + "\r\n\r\n"),
		"ct-value":       []byte("Content-Type: text/plain; a=" + strings.Repeat("b ", n/2) + "\r\n\r\n"),
		"dashes":         append([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n"), bytes.Repeat([]byte("--\n"), n/3)...),
		"parts":          append([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n"), bytes.Repeat([]byte("--a\n"), n/4)...),
		"refs":           []byte("References: " + strings.Repeat("<a", n/2) + "\r\n\r\n"),
		"date":           []byte("Date: " + strings.Repeat("Mon, ", n/5) + "\r\n\r\n"),
		"header-lines":   bytes.Repeat([]byte("a: b\n"), n/5),
		"continuations":  append([]byte("Subject: x\n"), bytes.Repeat([]byte(" b\n"), n/3)...),
		"html":           append([]byte("Content-Type: text/html\r\n\r\n"), bytes.Repeat([]byte("<a>"), n/3)...),
	}
	var nested bytes.Buffer
	for i := 0; i < 60; i++ {
		nested.WriteString("Content-Type: multipart/mixed; boundary=nope\r\n\r\n--x" + strings.Repeat("y", i) + "\r\n")
	}
	nested.Write(bytes.Repeat([]byte("z\r\n"), n/3))
	cases["nested-guess"] = nested.Bytes()
	return cases
}

func TestAdversarialInputs(t *testing.T) {
	for name, raw := range adversarialInputs(64 << 10) {
		if err := checkInvariants(raw, Parse(raw)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// BenchmarkAdversarial shows per-input cost on 1 MB inputs; a quadratic
// regression turns milliseconds into seconds here.
func BenchmarkAdversarial(b *testing.B) {
	for name, raw := range adversarialInputs(1 << 20) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				Parse(raw)
			}
		})
	}
}
