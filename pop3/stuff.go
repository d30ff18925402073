package pop3

import (
	"bufio"
	"bytes"
	"io"
)

// dotStuffer writes message bytes as the body of a POP3 multi-line response
// (RFC 1939 §3): every line ends in CRLF (a bare LF gets its CR), a line that
// starts with "." gets another one, and close adds the terminating ".".
// It keeps only a few bits of state, so a message of any size streams
// through it.
type dotStuffer struct {
	w   *bufio.Writer
	bol bool // the next byte starts a line
	cr  bool // the last byte written was a CR not yet followed by LF
	n   int64
}

func newDotStuffer(w *bufio.Writer) *dotStuffer { return &dotStuffer{w: w, bol: true} }

// Write implements io.Writer. It counts the message bytes it consumed.
func (d *dotStuffer) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if d.bol && p[0] == '.' {
			if err := d.w.WriteByte('.'); err != nil {
				return total - len(p), err
			}
		}
		d.bol = false
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if _, err := d.w.Write(p); err != nil {
				return total - len(p), err
			}
			d.cr = p[len(p)-1] == '\r'
			break
		}
		if i > 0 {
			if _, err := d.w.Write(p[:i]); err != nil {
				return total - len(p), err
			}
			d.cr = p[i-1] == '\r'
		}
		if !d.cr {
			if err := d.w.WriteByte('\r'); err != nil {
				return total - len(p), err
			}
		}
		if err := d.w.WriteByte('\n'); err != nil {
			return total - len(p), err
		}
		d.cr, d.bol = false, true
		p = p[i+1:]
	}
	d.n += int64(total)
	return total, nil
}

// close ends the last line if it is open and writes the terminating line.
func (d *dotStuffer) close() error {
	if !d.bol {
		end := "\r\n"
		if d.cr {
			end = "\n"
		}
		if _, err := d.w.WriteString(end); err != nil {
			return err
		}
		d.bol, d.cr = true, false
	}
	_, err := d.w.WriteString(".\r\n")
	return err
}

// lineLimiter reads from r until it has passed n line feeds (the n-th
// included), then reports EOF: the body part of TOP (RFC 1939 §7).
type lineLimiter struct {
	r    io.Reader
	left int
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.left--
			if l.left == 0 {
				return i + 1, nil
			}
		}
	}
	return n, err
}

// headerEnd finds where the header of a raw message ends when no part tree
// is at hand: just after the first empty line, or at the end when there is
// none. It reads r through once.
func headerEnd(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 16<<10)
	var off int64
	bol := true
	for {
		line, err := br.ReadSlice('\n')
		// A line longer than the buffer comes in pieces; only a piece that
		// starts a line can be the empty line.
		if bol && (string(line) == "\n" || string(line) == "\r\n") {
			return off + int64(len(line)), nil
		}
		off += int64(len(line))
		switch err {
		case nil:
			bol = true
		case bufio.ErrBufferFull:
			bol = false
		case io.EOF:
			return off, nil
		default:
			return 0, err
		}
	}
}
