package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/textproto"
	"strings"
	"testing"
)

func clientOver(s string) *pop3Client {
	return &pop3Client{r: bufio.NewReaderSize(strings.NewReader(s), 32*1024), w: bufio.NewWriter(io.Discard)}
}

func TestPOP3ReadStatus(t *testing.T) {
	for _, tc := range []struct {
		in, text string
		errPOP3  bool // -ERR answer
		errProto bool
	}{
		{in: "+OK ready\r\n", text: "ready"},
		{in: "+OK\r\n", text: ""},
		{in: "+ok lower case\n", text: "lower case"},
		{in: "-ERR [AUTH] nope\r\n", errPOP3: true},
		{in: "-ERR\r\n", errPOP3: true},
		{in: "+OKAY\r\n", errProto: true},
		{in: "* OK imap?\r\n", errProto: true},
		{in: "", errProto: false}, // EOF: an I/O error, neither of the above
		{in: "+OK " + strings.Repeat("x", pop3MaxLine) + "\r\n", errProto: true},
	} {
		text, err := clientOver(tc.in).readStatus("T")
		var perr *pop3Error
		switch {
		case tc.errPOP3:
			if !errors.As(err, &perr) {
				t.Errorf("%q: err %v, want -ERR", tc.in, err)
			}
		case tc.errProto:
			if !errors.Is(err, errPOP3Protocol) {
				t.Errorf("%q: err %v, want protocol error", tc.in, err)
			}
		case tc.in == "":
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("EOF: err %v", err)
			}
		default:
			if err != nil || text != tc.text {
				t.Errorf("%q: got %q, %v; want %q", tc.in, text, err, tc.text)
			}
		}
	}
}

func TestPOP3ReadMultiline(t *testing.T) {
	long := strings.Repeat("a", 100_000) // longer than the read buffer
	for _, tc := range []struct{ wire, want string }{
		{"line one\r\nline two\r\n.\r\n", "line one\r\nline two\r\n"},
		{".\r\n", ""},
		{"..dot\r\n...\r\n.\r\n", ".dot\r\n..\r\n"},
		{".\n", ""},                         // bare LF terminator
		{long + "\r\n.\r\n", long + "\r\n"}, // streamed in pieces
		{"." + long + "\r\n.\r\n", long + "\r\n"},
		{"x\r\n.\r\n+OK next\r\n", "x\r\n"}, // stops at the terminator
	} {
		c := clientOver(tc.wire)
		var got bytes.Buffer
		n, err := c.readMultiline(&got)
		if err != nil {
			t.Errorf("%.30q: %v", tc.wire, err)
			continue
		}
		if got.String() != tc.want || n != int64(len(tc.want)) {
			t.Errorf("%.30q: got %.30q (%d bytes), want %.30q", tc.wire, got.String(), n, tc.want)
		}
	}
	// A long line that happens to start with "." at a buffer boundary is
	// data, not a terminator.
	c := clientOver(strings.Repeat("b", 32*1024-1) + "\r\n.\r\n")
	if n, err := c.readMultiline(io.Discard); err != nil || n != 32*1024+1 {
		t.Errorf("boundary: n %d err %v", n, err)
	}
	// Cut short: an error, never a silent partial message.
	if _, err := clientOver("abc\r\nde").readMultiline(io.Discard); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated answer: err %v", err)
	}
}

func TestParseStat(t *testing.T) {
	if n, size, err := parseStat("12 49152"); err != nil || n != 12 || size != 49152 {
		t.Errorf("parseStat: %d %d %v", n, size, err)
	}
	for _, bad := range []string{"", "12", "x 1", "1 y", "-1 5", "99999999999999999999 1"} {
		if _, _, err := parseStat(bad); !errors.Is(err, errPOP3Protocol) {
			t.Errorf("parseStat(%q) err %v", bad, err)
		}
	}
}

// FuzzPOP3Responses feeds arbitrary server bytes through the client's
// readers: they must return errors, never panic or loop, and a multi-line
// answer never yields more bytes than the input held.
func FuzzPOP3Responses(f *testing.F) {
	for _, seed := range []string{
		"+OK POP3 ready\r\n+OK 2 8192\r\n+OK\r\nhello\r\n.\r\n",
		"-ERR [IN-USE] locked\r\n",
		"+OK\r\n..stuffed\r\n.\r\n",
		"+OK\r\n.\n",
		"+OK 3 octets\r\nabc",
		"\r\n\r\n.\r\n",
		"+OK\r\n...\r\n..\r\n.\r\n-ERR x\r\n+OK 0 0\r\n.\r\n",
	} {
		// Seeds stay small: the fuzzer minimizes every new find, which
		// takes minutes on inputs of tens of kilobytes. Long lines are
		// covered by TestPOP3ReadStatus and TestPOP3ReadMultiline.
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &pop3Client{r: bufio.NewReaderSize(bytes.NewReader(data), 32*1024), w: bufio.NewWriter(io.Discard)}
		var total int64
		for range 100 {
			text, err := c.readStatus("F")
			if err == nil {
				parseStat(text)
			}
			var perr *pop3Error
			if err != nil && !errors.As(err, &perr) {
				break
			}
			n, err := c.readMultiline(io.Discard)
			total += n
			if err != nil {
				break
			}
		}
		if total > int64(len(data)) {
			t.Fatalf("read %d bytes of body from %d bytes of input", total, len(data))
		}
	})
}

// FuzzPOP3DotStuffingRoundTrip checks that what a server byte-stuffs
// (net/textproto's DotWriter, as any RFC 1939 server does) comes back
// byte-exact, with lines normalized to CRLF.
func FuzzPOP3DotStuffingRoundTrip(f *testing.F) {
	for _, seed := range []string{"", "a\r\nb\r\n", ".\r\n", "..\r\n.x\n", "no newline", "\r\n.\r\n.\r\n", ".", "\n.\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var wire bytes.Buffer
		bw := bufio.NewWriter(&wire)
		dw := textproto.NewWriter(bw).DotWriter()
		dw.Write(body)
		dw.Close()
		bw.Flush()
		// What the DotWriter means: CRLF line ends, a final CRLF added.
		want := normalizeCRLF(body)
		c := &pop3Client{r: bufio.NewReaderSize(bytes.NewReader(wire.Bytes()), 32*1024)}
		var got bytes.Buffer
		n, err := c.readMultiline(&got)
		if err != nil {
			t.Fatalf("readMultiline(%q): %v", wire.Bytes(), err)
		}
		if !bytes.Equal(got.Bytes(), want) || n != int64(len(want)) {
			t.Fatalf("body %q: got %q (n=%d), want %q", body, got.Bytes(), n, want)
		}
		if c.r.Buffered() != 0 {
			t.Fatalf("%d bytes left after the terminator", c.r.Buffered())
		}
	})
}

// normalizeCRLF mirrors textproto.DotWriter's state machine: a "\n" that
// does not end a "\r\n" pair gets a "\r" before it, and the body always
// ends with CRLF (an empty body becomes one empty line).
func normalizeCRLF(b []byte) []byte {
	var out []byte
	cr := false // the previous byte was a '\r' that may start a CRLF
	for _, c := range b {
		switch {
		case cr:
			cr = false
		case c == '\r':
			cr = true
		case c == '\n':
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	switch {
	case cr:
		out = append(out, '\n')
	case !bytes.HasSuffix(out, []byte("\r\n")) || len(out) == 0:
		out = append(out, '\r', '\n')
	}
	return out
}
