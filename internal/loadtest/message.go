package loadtest

import (
	"bytes"
	"fmt"
	"time"
)

// messageBody returns a plain-text body of about size bytes once headerLen
// bytes of header are counted: 76-character lines of printable text ending
// in CRLF, so no server has to re-wrap or re-encode it.
func messageBody(size, headerLen int) []byte {
	want := size - headerLen
	if want < 2 {
		want = 2
	}
	const line = "The quick brown fox jumps over the lazy dog. Pochta benchmark filler text."
	var b bytes.Buffer
	b.Grow(want + len(line))
	for b.Len()+len(line)+2 <= want {
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	// Pad the last line so the total is exact.
	if rest := want - b.Len() - 2; rest > 0 {
		b.Write(bytes.Repeat([]byte{'x'}, rest))
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// messageHeader returns the RFC 5322 header block (ending with the empty
// line) for message seq of a run. A unique Message-ID keeps any
// de-duplicating server from collapsing the load.
func messageHeader(from, to, runID string, seq int, now time.Time) []byte {
	return fmt.Appendf(nil, "From: <%s>\r\nTo: <%s>\r\nSubject: pochta bench %s #%d\r\n"+
		"Date: %s\r\nMessage-ID: <%s.%d@bench.invalid>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
		from, to, runID, seq, now.Format(time.RFC1123Z), runID, seq)
}

// fullMessage is header plus a body padded to size bytes in total.
func fullMessage(from, to, runID string, seq, size int, now time.Time) []byte {
	h := messageHeader(from, to, runID, seq, now)
	return append(h, messageBody(size, len(h))...)
}
