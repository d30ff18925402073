package imap

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scanEventAt is one event of a scan, at an offset of the whole stream.
type scanEventAt struct {
	ev      scanEvent
	at      int // bytes passed on before the event (a refusal: the end of its line)
	size    int64
	nonSync bool
	limit   int64
}

// scanChunks feeds stream to a scanner in chunks of the given sizes
// (cycled) as the guard would when go-imap reads every literal and
// writes nothing: non-synchronizing literals are read, synchronizing ones
// never get a continuation. It stops at a refusal.
func scanChunks(stream []byte, sizes []int, appendLimit int64, startTLS bool) []scanEventAt {
	sc := newLiteralScanner(appendLimit)
	sc.startTLS = startTLS
	var evs []scanEventAt
	pos, si := 0, 0
	for pos < len(stream) {
		size := sizes[si%len(sizes)]
		si++
		end := min(pos+size, len(stream))
		chunk := stream[pos:end]
		for len(chunk) > 0 {
			n, ev := sc.scan(chunk)
			switch ev {
			case evNone:
				pos += n
				chunk = nil
			case evLiteral:
				evs = append(evs, scanEventAt{ev, pos + n, sc.pending.size, sc.pending.nonSync, sc.pending.limit})
				if sc.pending.nonSync {
					sc.accept()
				}
				pos += n
				chunk = chunk[n:]
			case evRefuse:
				// Where the refused line began depends on the pieces;
				// where it ends does not.
				evs = append(evs, scanEventAt{ev, pos + sc.lineEndAt, sc.pending.size, true, sc.pending.limit})
				return evs
			case evStartTLS:
				evs = append(evs, scanEventAt{ev: ev, at: pos + sc.lineEndAt})
				pos += sc.lineEndAt
				chunk = chunk[sc.lineEndAt:]
			}
		}
	}
	return evs
}

func TestLiteralScanner(t *testing.T) {
	const appendLimit = 100000
	huge := "a1 APPEND INBOX {" + strings.Repeat("9", 40) + "+}\r\n"
	cases := []struct {
		name   string
		stream string
		want   []scanEventAt
	}{
		{"plain commands", "a1 NOOP\r\na2 LIST \"\" *\r\n", nil},
		{"append within the limit, literal looks like commands",
			"a1 APPEND INBOX {22+}\r\nx DELETE INBOX {9999999+}\r\n\r\na2 NOOP\r\n",
			[]scanEventAt{{evLiteral, 23, 22, true, appendLimit}}},
		{"append over the limit", "a0 NOOP\r\na1 APPEND INBOX (\\Seen) {100001+}\r\nX LOGOUT\r\n",
			[]scanEventAt{{evRefuse, 44, 100001, true, appendLimit}}},
		{"append mailbox literal is buffered", "a1 APPEND {5000+}\r\n",
			[]scanEventAt{{evRefuse, 19, 5000, true, bufferedLiteralLimit}}},
		{"mailbox literal then message literal", "a1 APPEND {5+}\r\nINBOX {3+}\r\nabc\r\n",
			[]scanEventAt{{evLiteral, 16, 5, true, bufferedLiteralLimit}, {evLiteral, 28, 3, true, appendLimit}}},
		{"other command over 4096", "a1 CREATE {4097+}\r\nx\r\n",
			[]scanEventAt{{evRefuse, 19, 4097, true, bufferedLiteralLimit}}},
		{"other command at 4096", "a1 CREATE {4096+}\r\n",
			[]scanEventAt{{evLiteral, 19, 4096, true, bufferedLiteralLimit}}},
		{"sync literal over the limit is go-imap's to refuse", "a1 APPEND INBOX {999999}\r\na2 NOOP\r\n",
			[]scanEventAt{{evLiteral, 26, 999999, false, appendLimit}}},
		{"nested literals in one command", "a LOGIN {5+}\r\nalice {8+}\r\npassword\r\nb NOOP\r\n",
			[]scanEventAt{{evLiteral, 14, 5, true, bufferedLiteralLimit}, {evLiteral, 26, 8, true, bufferedLiteralLimit}}},
		{"zero-length literal", "a1 APPEND INBOX {0+}\r\n\r\na2 CREATE {9000+}\r\n",
			[]scanEventAt{{evLiteral, 22, 0, true, appendLimit}, {evRefuse, 43, 9000, true, bufferedLiteralLimit}}},
		{"huge digits saturate", huge, []scanEventAt{{evRefuse, 61, math.MaxInt64, true, appendLimit}}},
		{"brace inside a quoted string", "a1 SEARCH SUBJECT \"{99999+}\"\r\na2 NOOP\r\n", nil},
		{"quoted string across CRLF as go-imap reads it", "a1 LOGIN \"x{99999+}\r\n\" y\r\n", nil},
		{"escaped quote", "a1 SELECT \"a\\\"{99999+}\r\n\"\r\n", nil},
		{"escaped backslash ends the quote", "a1 SELECT \"a\\\\\" {99999+}\r\n",
			[]scanEventAt{{evRefuse, 26, 99999, true, bufferedLiteralLimit}}},
		{"LF alone and SP before CRLF", "a1 CREATE {4+} \nabcd\na2 CREATE {5000+}\n",
			[]scanEventAt{{evLiteral, 16, 4, true, bufferedLiteralLimit}, {evRefuse, 39, 5000, true, bufferedLiteralLimit}}},
		{"not announcements", "a1 X {5-}\r\na2 X {+5}\r\na3 X {5}x\r\na4 X {}\r\na5 X {5+}}\r\n", nil},
		{"starttls", "a1 CAPABILITY\r\na2 starttls\r\nrest", []scanEventAt{{ev: evStartTLS, at: 28}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := []byte(tc.stream)
			want := fmt.Sprint(tc.want)
			splits := [][]int{{len(stream) + 1}, {1}, {2}, {3}, {7}}
			for cut := 1; cut < len(stream); cut++ {
				splits = append(splits, []int{cut, len(stream)})
			}
			for _, sizes := range splits {
				if got := fmt.Sprint(scanChunks(stream, sizes, appendLimit, true)); got != want {
					t.Fatalf("chunks %v: events %s, want %s", sizes, got, want)
				}
			}
		})
	}
	t.Run("starttls only when the guard does it", func(t *testing.T) {
		if evs := scanChunks([]byte("a STARTTLS\r\n"), []int{64}, appendLimit, false); evs != nil {
			t.Fatalf("events %v", evs)
		}
	})
}

// TestLiteralGuardOutWatch: what go-imap writes while a literal is pending
// decides how its bytes are read.
func TestLiteralGuardOutWatch(t *testing.T) {
	for _, tc := range []struct {
		out                    []string // write calls
		cont, tagged, taggedOK bool
	}{
		{[]string{"+ Ready for literal data\r\n"}, true, false, false},
		{[]string{"a1 NO [TOOBIG] too big\r\n"}, false, true, false},
		{[]string{"* 3 EXISTS\r\n", "a", "1 O", "K done\r\n"}, false, true, true},
		{[]string{"a10 NO x\r\n"}, false, false, false},
		{[]string{"* a1 NO\r\nx + y\r\n"}, false, false, false},
	} {
		var w outWatch
		w.start([]byte("a1"))
		for _, o := range tc.out {
			w.feed([]byte(o))
		}
		if w.sawCont != tc.cont || w.sawTagged != tc.tagged || w.sawTaggedOK != tc.taggedOK {
			t.Errorf("%q: cont %v tagged %v ok %v", tc.out, w.sawCont, w.sawTagged, w.sawTaggedOK)
		}
	}
}

// chunkConn is a client byte stream read in given chunk sizes.
type chunkConn struct {
	net.Conn // nil: only Read, Write and Close are used
	data     []byte
	sizes    []int
	next     int
	out      bytes.Buffer
	closed   bool
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	size := c.sizes[c.next%len(c.sizes)]
	c.next++
	n := copy(p[:min(len(p), size)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error)     { return c.out.Write(p) }
func (c *chunkConn) Close() error                    { c.closed = true; return nil }
func (c *chunkConn) SetReadDeadline(time.Time) error { return nil }

// guardRead reads everything the guard passes on, in reads of the given
// sizes, as go-imap would if it read every literal and wrote nothing.
func guardRead(data []byte, connSizes, readSizes []int, appendLimit int64) (passed []byte, out string, err error) {
	conn := &chunkConn{data: data, sizes: connSizes}
	g := &literalGuard{Conn: conn, log: slog.New(slog.DiscardHandler), sc: newLiteralScanner(appendLimit)}
	for i := 0; ; i++ {
		buf := make([]byte, readSizes[i%len(readSizes)])
		n, err := g.Read(buf)
		passed = append(passed, buf[:n]...)
		if err != nil {
			return passed, conn.out.String(), err
		}
		if n == 0 {
			return passed, conn.out.String(), errors.New("a read returned nothing and no error")
		}
	}
}

var refTrailer = regexp.MustCompile(`\{([0-9]+)(\+?)\} ?\r?\n$`)

// referenceRefusal finds, the simple way, where a stream must be cut: the
// start and the LF of the first line announcing a non-synchronizing
// literal over its limit, reading every literal within its limit and
// taking no synchronizing literal (no continuation was sent).
func referenceRefusal(in []byte, appendLimit int64) (start, lf int, found bool) {
	i, newCmd, firstLine := 0, true, false
	var head []byte
	for i < len(in) {
		if newCmd {
			newCmd, firstLine = false, true
		}
		j, quoted, esc := i, false, false
		for ; j < len(in); j++ {
			c := in[j]
			switch {
			case quoted && esc:
				esc = false
			case quoted && c == '\\':
				esc = true
			case c == '"':
				quoted = !quoted
			case !quoted && c == '\n':
				goto eol
			}
		}
		return 0, 0, false
	eol:
		line := in[i : j+1]
		if firstLine {
			head = line[:min(len(line), commandHeadMax)]
		}
		m := refTrailer.FindSubmatchIndex(line)
		if m == nil {
			newCmd = true
			i = j + 1
			continue
		}
		size, err := strconv.ParseInt(string(line[m[2]:m[3]]), 10, 64)
		if err != nil {
			size = math.MaxInt64
		}
		nonSync := m[5] > m[4]
		limit := int64(bufferedLiteralLimit)
		f := strings.Fields(string(head))
		if len(f) >= 2 && strings.EqualFold(f[1], "APPEND") && (len(head) < commandHeadMax || strings.Contains(string(head), " APPEND ")) {
			limit = appendLimit
			if firstLine && m[0] == len(f[0])+len(f[1])+2 {
				limit = bufferedLiteralLimit
			}
		}
		if nonSync && size > limit {
			return i, j, true
		}
		firstLine = false
		i = j + 1
		if nonSync {
			if size > int64(len(in)-i) {
				return 0, 0, false
			}
			i += int(size)
		}
	}
	return 0, 0, false
}

// FuzzLiteralGuard: over any client byte stream, read in any pieces, the
// guard never panics, passes on a prefix of the stream, and never passes
// on the end of a line announcing a non-synchronizing literal over its
// limit, nor anything after it; then it answers [TOOBIG] and closes.
func FuzzLiteralGuard(f *testing.F) {
	seeds := []string{
		"a1 APPEND INBOX {20+}\r\nx1 NOOP\r\nx2 NOOP\r\n\r\na2 LOGOUT\r\n",
		"a1 APPEND INBOX {200+}\r\nX DELETE INBOX\r\n",
		"a1 APPEND {5000+}\r\nINBOX {3+}\r\nabc\r\n",
		"a LOGIN {5+}\r\nalice {8+}\r\npassword\r\nb CREATE {5000+}\r\nx\r\n",
		"a1 SEARCH SUBJECT \"{99999+}\r\n\"\r\na2 CREATE {4097+}\r\n",
		"a1 APPEND INBOX {" + strings.Repeat("9", 30) + "+}\r\n",
		"a1 APPEND INBOX {100}\r\na2 APPEND INBOX {0+}\r\n\r\n",
		"a1 CREATE {4+} \nabcd\na2 CREATE {5000+}\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i+1), uint8(3*i+2))
	}
	f.Fuzz(func(t *testing.T, in []byte, connSize, readSize uint8) {
		const appendLimit = 100
		sizes := []int{int(connSize%64) + 1, int(connSize/64) + 1, 4096}
		reads := []int{int(readSize%32) + 1, 4096, int(readSize/32) + 1}
		passed, out, err := guardRead(in, sizes, reads, appendLimit)
		if !bytes.HasPrefix(in, passed) {
			t.Fatalf("passed on %q, not a prefix of the stream", passed)
		}
		start, lf, found := referenceRefusal(in, appendLimit)
		if !found {
			if !errors.Is(err, io.EOF) || len(passed) != len(in) {
				t.Fatalf("no refusal due, yet %d of %d bytes passed on (err %v)", len(passed), len(in), err)
			}
			return
		}
		if len(passed) < start || len(passed) > lf {
			t.Fatalf("refused line at %d..%d, %d bytes passed on", start, lf, len(passed))
		}
		if !errors.Is(err, errLiteralRefused) || !strings.Contains(out, "[TOOBIG]") || !strings.Contains(out, "* BYE") {
			t.Fatalf("refusal: err %v, out %q", err, out)
		}
	})
}

// FuzzLiteralGuardAnswers: when go-imap answers commands (here: at some
// reads, as the fuzzer picks) the guard drops or holds bytes, never
// invents or reorders them, and never panics.
func FuzzLiteralGuardAnswers(f *testing.F) {
	f.Add([]byte("a1 APPEND INBOX (\\Bad) {16+}\r\nx1 CREATE Evil\r\na2 NOOP\r\n"), uint16(0xffff), uint8(7))
	f.Add([]byte("a1 APPEND INBOX {5}\r\nhello\r\na2 NOOP {70000+}\r\n"), uint16(1), uint8(200))
	f.Add([]byte("a1 CREATE {3+}\r\nabc\r\n"), uint16(0x5555), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, answerAt uint16, readSize uint8) {
		conn := &chunkConn{data: in, sizes: []int{int(readSize%64) + 1, 4096}}
		g := &literalGuard{Conn: conn, log: slog.New(slog.DiscardHandler), sc: newLiteralScanner(100)}
		var passed []byte
		for i := 0; i < 10000; i++ {
			if answerAt&(1<<(i%16)) != 0 {
				// go-imap answers whatever command the guard saw last, or
				// asks for a literal.
				answer := append(append([]byte(nil), g.sc.tag()...), " BAD x\r\n"...)
				if i%3 == 0 {
					answer = []byte("+ Ready for literal data\r\n")
				}
				if _, err := g.Write(answer); err != nil {
					t.Fatal(err)
				}
			}
			buf := make([]byte, int(readSize/8)+1)
			n, err := g.Read(buf)
			passed = append(passed, buf[:n]...)
			if err != nil {
				break
			}
		}
		// passed is a subsequence of in: what the guard dropped is gone,
		// nothing else changed.
		j := 0
		for _, c := range in {
			if j < len(passed) && passed[j] == c {
				j++
			}
		}
		if j != len(passed) {
			t.Fatalf("passed on %q, not a subsequence of %q", passed, in)
		}
	})
}

// BenchmarkLiteralGuardAppend: the guard's cost on a large APPEND.
func BenchmarkLiteralGuardAppend(b *testing.B) {
	const size = 50 << 20
	stream := append([]byte(fmt.Sprintf("a1 APPEND INBOX {%d+}\r\n", size)), make([]byte, size)...)
	stream = append(stream, "\r\na2 LOGOUT\r\n"...)
	b.SetBytes(int64(len(stream)))
	buf := make([]byte, 32<<10)
	for b.Loop() {
		conn := &chunkConn{data: stream, sizes: []int{64 << 10}}
		g := &literalGuard{Conn: conn, log: slog.New(slog.DiscardHandler), sc: newLiteralScanner(size)}
		for {
			if _, err := g.Read(buf); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

// TestLiteralGuardHoldsBytes: bytes after an announcement wait until go-imap
// asks for more, and its tagged answer (it did not read the literal)
// makes the guard drop them.
func TestLiteralGuardHoldsBytes(t *testing.T) {
	stream := "a1 APPEND INBOX (\\Bad flag) {16+}\r\nx1 CREATE Evil\r\na2 NOOP\r\n"
	conn := &chunkConn{data: []byte(stream), sizes: []int{len(stream)}}
	g := &literalGuard{Conn: conn, log: slog.New(slog.DiscardHandler), sc: newLiteralScanner(1000)}
	buf := make([]byte, 4096)
	n, err := g.Read(buf)
	if err != nil || string(buf[:n]) != "a1 APPEND INBOX (\\Bad flag) {16+}\r\n" {
		t.Fatalf("first read: %q, %v", buf[:n], err)
	}
	if _, err := g.Write([]byte("a1 BAD Syntax error\r\n")); err != nil {
		t.Fatal(err)
	}
	n, err = g.Read(buf)
	if err != nil || string(buf[:n]) != "a2 NOOP\r\n" {
		t.Fatalf("after go-imap's answer: %q, %v (the literal must be dropped)", buf[:n], err)
	}
}

// guardTestBody is a message whose header section holds command lines
// (go-imap would stop parsing them at the first empty line).
func guardTestBody(size int) string {
	b := "X DELETE INBOX\r\nx2 CREATE Injected\r\nSubject: crafted\r\n\r\n"
	return b + strings.Repeat("filler line\r\n", max(0, size-len(b))/13+1)
}

// TestIMAPLiteralGuard runs the guard in the door over real TLS: implicit
// TLS and STARTTLS.
func TestIMAPLiteralGuard(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.AppendLimit = 20000 })
	loggedIn := func(t *testing.T, starttls bool) *rawConn {
		t.Helper()
		var rc *rawConn
		if starttls {
			rc = ts.raw(t, false)
			if _, done := rc.cmd("s", "STARTTLS"); !strings.HasPrefix(done, "s OK") {
				t.Fatalf("STARTTLS: %s", done)
			}
			tc := tls.Client(rc.conn, ts.env.ClientTLS)
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			rc.conn = tc
			// No second greeting: the next line answers CAPABILITY.
			untagged, done := rc.cmd("c", "CAPABILITY")
			if len(untagged) != 1 || !strings.HasPrefix(untagged[0], "* CAPABILITY ") || !strings.HasPrefix(done, "c OK") {
				t.Fatalf("CAPABILITY after STARTTLS: %q %q", untagged, done)
			}
			if caps := untagged[0] + " "; strings.Contains(caps, " STARTTLS ") || strings.Contains(caps, "LOGINDISABLED") || !strings.Contains(caps, " AUTH=PLAIN ") {
				t.Fatalf("capabilities after STARTTLS: %s", caps)
			}
		} else {
			rc = ts.raw(t, true)
		}
		if _, done := rc.cmd("l", `LOGIN alice@example.com "`+testPassword+`"`); !strings.HasPrefix(done, "l OK") {
			t.Fatalf("LOGIN: %s", done)
		}
		return rc
	}
	send := func(rc *rawConn, s string) {
		rc.t.Helper()
		if _, err := rc.conn.Write([]byte(s)); err != nil {
			rc.t.Fatal(err)
		}
	}
	// closedAfter reads lines until the server closes the connection.
	closedAfter := func(rc *rawConn) []string {
		var lines []string
		for {
			for {
				i := bytes.Index(rc.buf, []byte("\r\n"))
				if i < 0 {
					break
				}
				lines = append(lines, string(rc.buf[:i]))
				rc.buf = rc.buf[i+2:]
			}
			if err := rc.conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
				rc.t.Fatal(err)
			}
			tmp := make([]byte, 4096)
			n, err := rc.conn.Read(tmp)
			rc.buf = append(rc.buf, tmp[:n]...)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					rc.t.Fatalf("the connection stayed open: %q", lines)
				}
				return lines
			}
		}
	}
	// noInjection checks from another connection that no command ran.
	noInjection := func(t *testing.T) {
		t.Helper()
		c := ts.client(t)
		names := listNames(t, c, "*", nil)
		if _, ok := names["INBOX"]; !ok {
			t.Fatalf("INBOX is gone: %v", mapKeys(names))
		}
		for name := range names {
			if strings.HasPrefix(name, "Injected") {
				t.Fatalf("a command from a literal ran: mailbox %q", name)
			}
		}
	}

	for _, starttls := range []bool{false, true} {
		t.Run(fmt.Sprintf("starttls=%v", starttls), func(t *testing.T) {
			t.Run("oversized non-synchronizing APPEND", func(t *testing.T) {
				rc := loggedIn(t, starttls)
				body := guardTestBody(30000)
				send(rc, fmt.Sprintf("a1 APPEND INBOX {%d+}\r\n%s\r\n", len(body), body))
				lines := closedAfter(rc)
				if len(lines) != 2 || !strings.HasPrefix(lines[0], "a1 NO [TOOBIG]") || !strings.HasPrefix(lines[1], "* BYE") {
					t.Fatalf("oversized APPEND answered %q", lines)
				}
				noInjection(t)
			})
			t.Run("oversized literal elsewhere", func(t *testing.T) {
				rc := loggedIn(t, starttls)
				body := guardTestBody(5000)
				send(rc, fmt.Sprintf("a1 CREATE {%d+}\r\n%s\r\n", len(body), body))
				lines := closedAfter(rc)
				if len(lines) != 2 || !strings.HasPrefix(lines[0], "a1 BAD [TOOBIG]") || !strings.HasPrefix(lines[1], "* BYE") {
					t.Fatalf("oversized CREATE literal answered %q", lines)
				}
				noInjection(t)
			})
			t.Run("oversized synchronizing literal elsewhere", func(t *testing.T) {
				// go-imap loses its own answer and waits for the literal;
				// the guard answers and closes at once.
				rc := loggedIn(t, starttls)
				send(rc, "a1 CREATE {5000}\r\n")
				lines := closedAfter(rc)
				if len(lines) != 2 || !strings.HasPrefix(lines[0], "a1 NO [TOOBIG]") || !strings.HasPrefix(lines[1], "* BYE") {
					t.Fatalf("oversized synchronizing CREATE literal answered %q", lines)
				}
			})
			t.Run("literals within the limits", func(t *testing.T) {
				rc := loggedIn(t, starttls)
				body := plainMessage("guarded", strings.Repeat("{999999+}\r\nx9 CREATE Injected9\r\n", 300))
				send(rc, fmt.Sprintf("a1 APPEND INBOX (\\Seen) {%d+}\r\n%s\r\n", len(body), body))
				if _, done := rc.cmd("a2", "NOOP"); !strings.HasPrefix(done, "a2 OK") {
					t.Fatalf("after a non-synchronizing APPEND: %s", done)
				}
				// A synchronizing literal waits for the continuation.
				send(rc, fmt.Sprintf("a3 APPEND INBOX {%d}\r\n", len(body)))
				if l := rc.line(); !strings.HasPrefix(l, "+") {
					t.Fatalf("synchronizing literal: %q", l)
				}
				send(rc, body+"\r\n")
				if l := rc.line(); !strings.HasPrefix(l, "a3 OK [APPENDUID") {
					t.Fatalf("synchronizing APPEND: %s", l)
				}
				// go-imap refuses an oversized synchronizing literal before
				// it is sent, and the connection goes on.
				if _, done := rc.cmd("a4", "APPEND INBOX {999999}"); !strings.HasPrefix(done, "a4 NO [TOOBIG]") {
					t.Fatalf("oversized synchronizing APPEND: %s", done)
				}
				// Literals for a mailbox name and the message in one command.
				send(rc, fmt.Sprintf("a5 APPEND {5+}\r\nINBOX {%d+}\r\n%s\r\n", len(body), body))
				if l := rc.line(); !strings.HasPrefix(l, "a5 OK [APPENDUID") {
					t.Fatalf("APPEND with a mailbox literal: %s", l)
				}
				if _, done := rc.cmd("a6", "STATUS INBOX (MESSAGES)"); !strings.HasPrefix(done, "a6 OK") {
					t.Fatal(done)
				}
				noInjection(t)
			})
			t.Run("literal of a command go-imap gave up on", func(t *testing.T) {
				rc := loggedIn(t, starttls)
				evil := "x1 CREATE Injected1\r\n"
				send(rc, fmt.Sprintf("a1 APPEND INBOX (\\Seen) junk {%d+}\r\n%s", len(evil), evil))
				if l := rc.line(); !strings.HasPrefix(l, "a1 BAD") {
					t.Fatalf("malformed APPEND: %q", l)
				}
				// The literal was discarded; the connection goes on.
				if _, done := rc.cmd("a2", "NOOP"); !strings.HasPrefix(done, "a2 OK") {
					t.Fatalf("after a discarded literal: %s", done)
				}
				noInjection(t)
			})
		})
	}
}
