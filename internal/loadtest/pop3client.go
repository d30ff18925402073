package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// pop3Client is the small POP3 client (RFC 1939) the benchmark needs: read
// the greeting, send a command, read a status line, read a multi-line answer.
// It is private to loadtest; Pochta's POP3 server lives in package pop3.
type pop3Client struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration // per command; 0 means none
}

// pop3MaxLine bounds a status line. RFC 2449 §4 allows 512 octets; servers
// send more in practice, so be generous but bounded.
const pop3MaxLine = 8192

// pop3Error is a "-ERR" answer: the server refused the command, the session
// goes on.
type pop3Error struct {
	Cmd  string
	Text string
}

func (e *pop3Error) Error() string {
	if e.Cmd == "" {
		return "-ERR " + e.Text
	}
	return e.Cmd + ": -ERR " + e.Text
}

// errPOP3Protocol marks an answer that is neither +OK nor -ERR, or a broken
// multi-line answer; the session cannot continue after it.
var errPOP3Protocol = errors.New("pop3 protocol error")

func newPOP3Client(conn net.Conn, timeout time.Duration) *pop3Client {
	return &pop3Client{
		conn:    conn,
		r:       bufio.NewReaderSize(conn, 32*1024),
		w:       bufio.NewWriter(conn),
		timeout: timeout,
	}
}

func (c *pop3Client) setDeadline() {
	if c.timeout > 0 && c.conn != nil {
		_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	}
}

// readLine reads one line of at most pop3MaxLine bytes and strips CRLF (or a
// bare LF, which some servers send).
func (c *pop3Client) readLine() (string, error) {
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || (err == nil && len(line) > pop3MaxLine) {
		return "", fmt.Errorf("%w: response line longer than %d bytes", errPOP3Protocol, pop3MaxLine)
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", fmt.Errorf("read: %w", err)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line), nil
}

// readStatus reads "+OK text" or "-ERR text" (RFC 1939 §3) and returns the
// text after the indicator.
func (c *pop3Client) readStatus(cmd string) (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", err
	}
	if text, ok := cutIndicator(line, "+OK"); ok {
		return text, nil
	}
	if text, ok := cutIndicator(line, "-ERR"); ok {
		return "", &pop3Error{Cmd: cmd, Text: text}
	}
	return "", fmt.Errorf("%w: %s: unexpected answer %q", errPOP3Protocol, cmd, truncate(line, 80))
}

// cutIndicator matches the status indicator case-insensitively, followed by
// a space or the end of the line.
func cutIndicator(line, ind string) (string, bool) {
	if len(line) < len(ind) || !strings.EqualFold(line[:len(ind)], ind) {
		return "", false
	}
	rest := line[len(ind):]
	if rest == "" {
		return "", true
	}
	if rest[0] != ' ' {
		return "", false
	}
	return rest[1:], true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// greeting reads the server's first line.
func (c *pop3Client) greeting() (string, error) {
	c.setDeadline()
	return c.readStatus("greeting")
}

// cmd sends one command line and reads its status line. The name used in
// errors is the command verb only, so a password never lands in a report.
func (c *pop3Client) cmd(line string) (string, error) {
	verb, _, _ := strings.Cut(line, " ")
	c.setDeadline()
	if _, err := c.w.WriteString(line + "\r\n"); err != nil {
		return "", fmt.Errorf("%s: write: %w", verb, err)
	}
	if err := c.w.Flush(); err != nil {
		return "", fmt.Errorf("%s: write: %w", verb, err)
	}
	return c.readStatus(verb)
}

// readMultiline copies a multi-line answer body to w, undoing the
// byte-stuffing of lines that start with "." (RFC 1939 §3), and stops after
// the terminating ".". It returns the bytes written (CRLFs included).
// Lines longer than the buffer are streamed in pieces.
func (c *pop3Client) readMultiline(w io.Writer) (int64, error) {
	var n int64
	atLineStart := true
	for {
		chunk, err := c.r.ReadSlice('\n')
		partial := errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !partial {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, fmt.Errorf("multi-line answer: %w", err)
		}
		if atLineStart && len(chunk) > 0 && chunk[0] == '.' {
			if !partial && (string(chunk) == ".\r\n" || string(chunk) == ".\n") {
				return n, nil
			}
			chunk = chunk[1:]
		}
		m, werr := w.Write(chunk)
		n += int64(m)
		if werr != nil {
			return n, fmt.Errorf("multi-line answer: %w", werr)
		}
		atLineStart = !partial
	}
}

// stat sends STAT and parses "+OK count size" (RFC 1939 §5).
func (c *pop3Client) stat() (count int, size int64, err error) {
	text, err := c.cmd("STAT")
	if err != nil {
		return 0, 0, err
	}
	return parseStat(text)
}

func parseStat(text string) (int, int64, error) {
	fields := strings.Fields(text)
	if len(fields) < 2 {
		return 0, 0, fmt.Errorf("%w: STAT answer %q", errPOP3Protocol, truncate(text, 80))
	}
	count, err1 := strconv.Atoi(fields[0])
	size, err2 := strconv.ParseInt(fields[1], 10, 64)
	if err1 != nil || err2 != nil || count < 0 || size < 0 {
		return 0, 0, fmt.Errorf("%w: STAT answer %q", errPOP3Protocol, truncate(text, 80))
	}
	return count, size, nil
}

// retr fetches message num into w and returns its size as received.
func (c *pop3Client) retr(num int, w io.Writer) (int64, error) {
	if _, err := c.cmd("RETR " + strconv.Itoa(num)); err != nil {
		return 0, err
	}
	n, err := c.readMultiline(w)
	if err != nil {
		return n, fmt.Errorf("RETR %d: %w", num, err)
	}
	return n, nil
}
