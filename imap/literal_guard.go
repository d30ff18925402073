package imap

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// The literal guard sits between a client connection (after TLS) and
// go-imap, because go-imap v2.0.0-beta.8 mishandles a non-synchronizing
// literal (RFC 7888 LITERAL+) that it does not read: when it refuses one
// (over APPENDLIMIT, over 4096 bytes outside APPEND) or gives up on the
// command before the literal (a syntax error), it goes on to parse the
// literal's bytes as commands, so mail content would run as commands
// (issue 11). RFC 7888 §4 leaves the server two choices for a literal it
// will not take: read and discard it, or close the connection. The guard
// follows the command stream just far enough to know where literals are
// and:
//   - refuses a non-synchronizing literal over the limit itself (tagged
//     NO or BAD [TOOBIG], then BYE) and closes the connection without
//     passing the announcement or the literal to go-imap;
//   - holds back the bytes after every other literal announcement until
//     go-imap asks for more: by then it has either answered the command
//     (it will not read the literal: the guard discards a small one and
//     closes the connection for a large one), sent "+" (a synchronizing
//     literal it accepts) or written nothing (it is reading the literal).
//
// Literal bytes are only counted, never scanned or copied, so a 50 MB
// APPEND costs next to nothing; command lines are scanned byte by byte,
// and go-imap bounds them at 50 KiB.
//
// The guard must read plain text, so the door terminates TLS itself: for
// implicit TLS in dispatch, for STARTTLS in the guard (doStartTLS). go-imap
// then never sees a *tls.Conn, which is how it decides whether to allow
// authentication and offer STARTTLS, so TLS connections are served by a
// go-imap server that allows authentication and has no TLS configuration
// (guardTLS).

const (
	// bufferedLiteralLimit is go-imap's limit for a literal it buffers (any
	// literal but APPEND's message; imapserver.Conn.checkBufferedLiteral).
	bufferedLiteralLimit = 4096
	// discardLimit is the largest literal go-imap gave up on that the
	// guard reads and throws away; past it the connection is closed.
	discardLimit = 64 << 10
	// commandHeadMax is how much of a command's first line is kept to know
	// its tag and name.
	commandHeadMax = 128
)

// scanMode is what the next client bytes are.
type scanMode uint8

const (
	scanLine    scanMode = iota // a command line
	scanLiteral                 // literal data go-imap reads
	scanDiscard                 // literal data go-imap does not read
)

// headerState follows a possible literal announcement at the end of a
// line: "{" digits ["+"] "}" [SP] [CR] LF, as imapwire.Decoder reads it.
type headerState uint8

const (
	hdrNone   headerState = iota
	hdrOpen               // "{"
	hdrDigits             // "{" digits
	hdrPlus               // "{" digits "+"
	hdrClose              // ... "}"
	hdrSpace              // ... "}" SP
	hdrCR                 // ... "}" [SP] CR
)

// scanEvent is why scan stopped before the end of its input.
type scanEvent uint8

const (
	evNone     scanEvent = iota
	evLiteral            // a literal announcement ended; the guard decides how its bytes are read
	evRefuse             // a non-synchronizing literal over the limit; the line was not passed on
	evStartTLS           // a STARTTLS command line ended; it was not passed on
)

// pendingLiteral is an announced literal whose fate is not known yet.
type pendingLiteral struct {
	size    int64 // math.MaxInt64 when the digits overflow
	nonSync bool
	limit   int64
}

// literalScanner follows the client's side of an IMAP connection (RFC 9051
// §4.3 literals, RFC 7888 non-synchronizing literals). It is fed the bytes
// in order and says where a literal announcement ends; the guard tells it
// what go-imap did with the literal.
type literalScanner struct {
	appendLimit int64
	// startTLS makes a STARTTLS command an event (the guard does STARTTLS).
	startTLS bool
	// lineEndAt is, after evRefuse or evStartTLS, the offset in scan's
	// input just past the line's LF.
	lineEndAt int

	mode      scanMode
	remaining int64 // bytes left in the literal (scanLiteral, scanDiscard)

	// The current command.
	newCommand bool // the next byte starts a command
	firstLine  bool // the current line is the command's first
	head       [commandHeadMax]byte
	headLen    int

	// The current line.
	lineLen int64
	braceAt int64 // offset in the line of the last "{"
	quoted  bool  // inside a quoted string (imapwire.Decoder.Quoted reads across CRLF)
	escaped bool  // after a backslash inside a quoted string
	hdr     headerState
	hdrSize int64

	pending pendingLiteral
}

func newLiteralScanner(appendLimit int64) *literalScanner {
	return &literalScanner{appendLimit: appendLimit, newCommand: true}
}

// scan consumes b up to an event and returns how many bytes go-imap may
// have now. For evRefuse n counts only the bytes before the refused
// command line's start in b.
func (sc *literalScanner) scan(b []byte) (n int, ev scanEvent) {
	i := 0
	for i < len(b) {
		switch sc.mode {
		case scanLiteral:
			take := int64(len(b) - i)
			if take >= sc.remaining {
				take = sc.remaining
				sc.mode = scanLine
			}
			sc.remaining -= take
			i += int(take)
			continue
		case scanDiscard:
			// The guard drops these bytes before scanning.
			panic("imap: literal scanner fed discarded bytes")
		}
		lineStart := i
		if sc.lineLen > 0 {
			lineStart = 0 // the line began in an earlier read
		}
		for ; i < len(b); i++ {
			c := b[i]
			if sc.newCommand {
				sc.newCommand, sc.firstLine, sc.headLen = false, true, 0
				sc.resetLine()
			}
			if sc.firstLine && sc.headLen < len(sc.head) {
				sc.head[sc.headLen] = c
				sc.headLen++
			}
			sc.lineLen++
			if sc.quoted {
				switch {
				case sc.escaped:
					sc.escaped = false
				case c == '\\':
					sc.escaped = true
				case c == '"':
					sc.quoted = false
				}
				continue
			}
			switch c {
			case '"':
				sc.quoted = true
				sc.hdr = hdrNone
				continue
			case '\n':
				i++
				if ev := sc.lineEnd(); ev != evNone {
					if ev == evLiteral {
						return i, ev
					}
					sc.lineEndAt = i
					return lineStart, ev
				}
				goto next
			}
			sc.headerByte(c)
		}
	next:
	}
	return len(b), evNone
}

// headerByte advances the announcement state by one byte of a line.
func (sc *literalScanner) headerByte(c byte) {
	switch {
	case c == '{':
		sc.hdr, sc.hdrSize = hdrOpen, 0
		sc.braceAt = sc.lineLen - 1
	case c >= '0' && c <= '9' && (sc.hdr == hdrOpen || sc.hdr == hdrDigits):
		sc.hdr = hdrDigits
		d := int64(c - '0')
		if sc.hdrSize > (math.MaxInt64-d)/10 {
			sc.hdrSize = math.MaxInt64 // saturate: over every limit
		} else {
			sc.hdrSize = sc.hdrSize*10 + d
		}
	case c == '+' && sc.hdr == hdrDigits:
		sc.hdr = hdrPlus
	case c == '}' && (sc.hdr == hdrDigits || sc.hdr == hdrPlus):
		sc.pending.nonSync = sc.hdr == hdrPlus
		sc.hdr = hdrClose
	case c == ' ' && sc.hdr == hdrClose:
		sc.hdr = hdrSpace
	case c == '\r' && (sc.hdr == hdrClose || sc.hdr == hdrSpace):
		sc.hdr = hdrCR
	default:
		sc.hdr = hdrNone
	}
}

// lineEnd handles a LF outside a quoted string.
func (sc *literalScanner) lineEnd() scanEvent {
	switch sc.hdr {
	case hdrClose, hdrSpace, hdrCR:
	default:
		startTLS := sc.startTLS && sc.firstLine && bytes.EqualFold(sc.name(), []byte("STARTTLS"))
		sc.newCommand = true
		sc.resetLine()
		if startTLS {
			return evStartTLS
		}
		return evNone
	}
	sc.pending.size = sc.hdrSize
	sc.pending.limit = sc.literalLimit()
	sc.firstLine = false
	sc.resetLine()
	if sc.pending.nonSync && sc.pending.size > sc.pending.limit {
		return evRefuse
	}
	return evLiteral
}

func (sc *literalScanner) resetLine() {
	sc.lineLen, sc.braceAt, sc.quoted, sc.escaped, sc.hdr = 0, -1, false, false, hdrNone
}

// literalLimit is the largest literal go-imap reads at this place: the
// APPENDLIMIT for APPEND's message, 4096 bytes for anything it buffers
// (APPEND's mailbox name is the literal right after "tag APPEND ").
func (sc *literalScanner) literalLimit() int64 {
	tag, name := sc.tag(), sc.name()
	if !bytes.EqualFold(name, []byte("APPEND")) {
		return bufferedLiteralLimit
	}
	if sc.firstLine && sc.braceAt == int64(len(tag)+1+len(name)+1) {
		return bufferedLiteralLimit
	}
	return sc.appendLimit
}

// tag is the current command's tag (empty while unknown).
func (sc *literalScanner) tag() []byte {
	h := sc.head[:sc.headLen]
	sp := bytes.IndexByte(h, ' ')
	if sp <= 0 {
		return nil
	}
	return h[:sp]
}

// name is the current command's name (empty while unknown or cut off).
func (sc *literalScanner) name() []byte {
	h := sc.head[:sc.headLen]
	sp := bytes.IndexByte(h, ' ')
	if sp <= 0 {
		return nil
	}
	rest := h[sp+1:]
	end := bytes.IndexAny(rest, " \r\n")
	if end < 0 {
		return nil
	}
	return rest[:end]
}

// The guard's verdicts on the pending literal.

// accept: go-imap reads the literal.
func (sc *literalScanner) accept() {
	sc.mode, sc.remaining = scanLiteral, sc.pending.size
	if sc.remaining == 0 {
		sc.mode = scanLine
	}
}

// discard: go-imap answered the command without reading the literal.
func (sc *literalScanner) discard() {
	sc.mode, sc.remaining, sc.newCommand = scanDiscard, sc.pending.size, true
	if sc.remaining == 0 {
		sc.mode = scanLine
	}
}

// notSent: a synchronizing literal go-imap refused; the client does not
// send it, and the next line is a new command.
func (sc *literalScanner) notSent() { sc.newCommand = true }

// dropDiscarded removes the discarded literal bytes at the start of b and
// returns what is left.
func (sc *literalScanner) dropDiscarded(b []byte) []byte {
	if sc.mode != scanDiscard {
		return b
	}
	d := min(int64(len(b)), sc.remaining)
	sc.remaining -= d
	if sc.remaining == 0 {
		sc.mode = scanLine
	}
	return b[d:]
}

// outWatch looks at what go-imap writes while a literal (or STARTTLS) is
// pending: a continuation request, or the command's tagged response.
type outWatch struct {
	active bool
	tag    []byte
	pos    int // bytes of the current output line seen, capped
	// whether the current line can still be "+", "<tag> " or "<tag> OK"
	cont, tagged bool

	sawCont, sawTagged, sawTaggedOK bool
}

func (w *outWatch) start(tag []byte) {
	*w = outWatch{active: true, tag: append(w.tag[:0], tag...)}
}

func (w *outWatch) feed(p []byte) {
	for _, c := range p {
		if w.pos == 0 {
			w.cont, w.tagged = c == '+', len(w.tag) > 0
		}
		switch {
		case c == '\n':
			w.pos = 0
			continue
		case w.pos == 0 && w.cont:
			w.sawCont = true
		}
		if w.tagged {
			switch {
			case w.pos < len(w.tag):
				w.tagged = c == w.tag[w.pos]
			case w.pos == len(w.tag):
				w.tagged = c == ' '
				w.sawTagged = w.sawTagged || w.tagged
			case w.pos == len(w.tag)+1:
				w.tagged = c == 'O' || c == 'o'
			case w.pos == len(w.tag)+2:
				w.sawTaggedOK = w.sawTaggedOK || c == 'K' || c == 'k'
				w.tagged = false
			}
		}
		if w.pos < len(w.tag)+3 {
			w.pos++
		}
	}
}

// errLiteralRefused ends go-imap's reading after the guard closed the
// connection; it wraps net.ErrClosed so go-imap does not log it as a
// failure.
var errLiteralRefused = fmt.Errorf("imap: non-synchronizing literal refused: %w", net.ErrClosed)

// literalGuard is a net.Conn (in plain text: above TLS) whose reads go
// through a literalScanner. Only go-imap's connection goroutine reads;
// writes may come from others (a shutdown BYE).
type literalGuard struct {
	net.Conn
	srv *Server
	log *slog.Logger
	sc  *literalScanner

	// Bytes read but not passed on yet, held until go-imap shows how it
	// reads them; pendingBuf is reused. The first passOn bytes of pending
	// were scanned already.
	pending, pendingBuf []byte
	passOn              int
	deferredErr         error // a read error that came with held bytes
	refused             bool  // a refusal is due at the next Read
	startTLS            bool  // a STARTTLS command is held
	readErr             error // sticky: the guard closed the connection

	// handoff is the connection after STARTTLS, for the guarded-TLS
	// go-imap server once go-imap is done with this one.
	handoff   *literalGuard
	closeOnce sync.Once

	mu    sync.Mutex // guards watch, dropGreeting and handoff
	watch outWatch
	// dropGreeting: go-imap's greeting after a STARTTLS handoff is not
	// sent (the client expects none).
	dropGreeting bool
	wmu          sync.Mutex // serialises writes: go-imap's and the guard's own
}

func (s *Server) newLiteralGuard(c net.Conn) *literalGuard {
	g := &literalGuard{Conn: c, srv: s, sc: newLiteralScanner(s.opts.AppendLimit),
		log: s.log.With("remote", addrOf(c.RemoteAddr()).String())}
	_, isTLS := c.(*tls.Conn)
	g.sc.startTLS = !isTLS && s.opts.TLS != nil
	return g
}

func (g *literalGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	if g.watch.active {
		g.watch.feed(p)
	}
	skip := 0
	if g.dropGreeting {
		if !bytes.HasPrefix(p, []byte("* OK ")) {
			g.dropGreeting = false // a BYE greeting (a limit) is sent
		} else if nl := bytes.IndexByte(p, '\n'); nl >= 0 {
			skip, g.dropGreeting = nl+1, false
		}
	}
	g.mu.Unlock()
	if skip == len(p) {
		return len(p), nil
	}
	g.wmu.Lock()
	defer g.wmu.Unlock()
	n, err := g.Conn.Write(p[skip:])
	return skip + n, err
}

func (g *literalGuard) Close() error {
	var err error
	g.closeOnce.Do(func() {
		g.mu.Lock()
		next := g.handoff
		g.mu.Unlock()
		if next == nil {
			err = g.Conn.Close()
			return
		}
		// go-imap is done with the connection before TLS: the one after
		// TLS goes to the guarded-TLS server.
		if !g.srv.guardedTLS.ln.deliver(next) {
			err = next.Close()
		}
	})
	return err
}

func (g *literalGuard) Read(p []byte) (int, error) {
	if g.readErr != nil {
		return 0, g.readErr
	}
	if len(p) == 0 {
		return 0, nil
	}
	if g.startTLS {
		g.startTLS = false
		if err := g.doStartTLS(); err != nil {
			return 0, err
		}
	}
	g.mu.Lock()
	deciding, w := g.watch.active, g.watch
	g.watch.active = false
	g.mu.Unlock()
	if deciding {
		if err := g.decide(w); err != nil {
			return 0, err
		}
	}
	for {
		if g.refused {
			return 0, g.refuse()
		}
		var n int
		var err error
		fromPending := len(g.pending) > 0
		if fromPending {
			n = copy(p, g.pending)
			g.pending = g.pending[n:]
		} else {
			if g.deferredErr != nil {
				err, g.deferredErr = g.deferredErr, nil
				return 0, err
			}
			n, err = g.Conn.Read(p)
			if n == 0 {
				return 0, err
			}
		}
		scanned := 0
		if g.passOn > 0 {
			scanned = min(n, g.passOn)
			g.passOn -= scanned
			if scanned == n {
				return n, err
			}
		} else if g.sc.mode == scanDiscard {
			rest := g.sc.dropDiscarded(p[:n])
			n = copy(p, rest)
			if n == 0 {
				if err != nil {
					return 0, err
				}
				continue
			}
		}
		k, ev := g.sc.scan(p[scanned:n])
		k += scanned
		switch ev {
		case evLiteral:
			g.hold(p[k:n], fromPending)
			g.mu.Lock()
			g.watch.start(g.sc.tag())
			g.mu.Unlock()
		case evStartTLS:
			// The command line and what follows wait for doStartTLS; the
			// line's bytes were scanned.
			g.hold(p[k:n], fromPending)
			g.passOn = scanned + g.sc.lineEndAt - k
			g.startTLS = true
		case evRefuse:
			g.refused = true
			n = k
		}
		if k < n && err != nil {
			g.deferredErr, err = err, nil
		}
		if k == 0 {
			if ev == evRefuse {
				return 0, g.refuse()
			}
			return g.Read(p) // STARTTLS at the start of the read
		}
		return k, err
	}
}

// hold keeps b (read but not passed on) for the next Read.
func (g *literalGuard) hold(b []byte, fromPending bool) {
	if len(b) == 0 {
		return
	}
	if fromPending {
		// b is what pending held just before its current start.
		g.pending = g.pendingBuf[len(g.pendingBuf)-len(g.pending)-len(b):]
		return
	}
	g.pendingBuf = append(g.pendingBuf[:0], b...)
	g.pending = g.pendingBuf
}

// decide tells the scanner what go-imap did with the pending literal,
// from what it wrote since the announcement.
func (g *literalGuard) decide(w outWatch) error {
	sc, lit := g.sc, g.sc.pending
	switch {
	case lit.nonSync && !w.sawTagged:
		sc.accept() // go-imap is reading it
	case lit.nonSync && lit.size <= discardLimit:
		g.log.Info("discarding a non-synchronizing literal go-imap did not read", "size", lit.size)
		sc.discard()
	case lit.nonSync:
		g.log.Info("closing: go-imap did not read a large non-synchronizing literal", "size", lit.size)
		g.closeWith("* BYE [TOOBIG] The literal was not read; closing the connection\r\n", true)
		return g.readErr
	case w.sawCont && lit.size <= lit.limit:
		sc.accept()
	case w.sawTagged:
		sc.notSent()
	case lit.size > lit.limit:
		// go-imap refused the literal but lost its answer and reads on
		// while the client waits for "+" (imapwire.Decoder.Literal); it
		// would close the connection after 30 s without a word.
		g.log.Info("refused a synchronizing literal over the limit",
			"command", string(sc.name()), "size", lit.size, "limit", lit.limit)
		g.closeWith(g.tooBig("NO", fmt.Sprintf("Literals are limited to %d bytes for this command", lit.limit)), false)
		return g.readErr
	default:
		// go-imap reads on without a continuation: the bytes are not a
		// literal to it either.
	}
	return nil
}

// doStartTLS carries out a held STARTTLS (RFC 9051 §6.2.1) below go-imap,
// so that the guard goes on reading plain text: go-imap's own STARTTLS
// would put TLS between the guard and itself. If go-imap would refuse the
// command (the session is authenticated), the command is passed on.
// Otherwise the connection after TLS is handed, as a new session, to the
// guarded-TLS server, and this go-imap session ends.
func (g *literalGuard) doStartTLS() error {
	sess := g.srv.sessionOn(g)
	if sess == nil || sess.accountID != 0 {
		return nil // passOn lets go-imap answer
	}
	tag := g.sc.tag()
	if !validTag(tag) {
		return nil
	}
	// Cleartext sent after the command is TLS input to the handshake, as
	// with go-imap's STARTTLS.
	early := g.pending[g.passOn:]
	g.pending, g.passOn = nil, 0
	g.wmu.Lock()
	_, err := g.Conn.Write(fmt.Appendf(nil, "%s OK Begin TLS negotiation now\r\n", tag))
	g.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("imap: STARTTLS: %w", err)
	}
	var below net.Conn = g.Conn
	if len(early) > 0 {
		below = &prefixedConn{Conn: g.Conn, prefix: append([]byte(nil), early...)}
	}
	tc := tls.Server(below, g.srv.opts.TLS)
	ctx, cancel := context.WithTimeout(g.srv.baseCtx, startTLSTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		g.readErr = fmt.Errorf("imap: STARTTLS handshake: %w", net.ErrClosed)
		_ = g.Conn.Close()
		g.log.Debug("STARTTLS handshake failed", "err", err)
		return g.readErr
	}
	next := g.srv.newLiteralGuard(tc)
	next.dropGreeting = true
	g.mu.Lock()
	g.handoff = next
	g.mu.Unlock()
	g.readErr = io.EOF // go-imap ends this session and closes g
	return io.EOF
}

// startTLSTimeout bounds the TLS handshake after STARTTLS.
const startTLSTimeout = 30 * time.Second

// sessionOn finds the session on a connection.
func (s *Server) sessionOn(c net.Conn) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		if sess.conn.NetConn() == c {
			return sess
		}
	}
	return nil
}

// prefixedConn reads prefix before the connection.
type prefixedConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixedConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// refuse answers a refused non-synchronizing literal (RFC 7888 §4: tagged
// [TOOBIG], then the connection is closed instead of reading the literal).
func (g *literalGuard) refuse() error {
	lit := g.sc.pending
	kind := "BAD"
	text := fmt.Sprintf("Non-synchronizing literals are limited to %d bytes here", lit.limit)
	if bytes.EqualFold(g.sc.name(), []byte("APPEND")) && lit.limit == g.sc.appendLimit {
		// As go-imap answers a synchronizing one (RFC 7889).
		kind, text = "NO", fmt.Sprintf("Message is larger than APPENDLIMIT (%d bytes)", lit.limit)
	}
	g.log.Info("refused a non-synchronizing literal over the limit",
		"command", string(g.sc.name()), "size", lit.size, "limit", lit.limit)
	g.closeWith(g.tooBig(kind, text), true)
	return g.readErr
}

// tooBig is the tagged [TOOBIG] answer to the current command and the BYE.
func (g *literalGuard) tooBig(kind, text string) string {
	var resp []byte
	if tag := g.sc.tag(); validTag(tag) {
		resp = fmt.Appendf(resp, "%s %s [TOOBIG] %s\r\n", tag, kind, text)
	}
	resp = append(resp, "* BYE [TOOBIG] Refused literal not read; closing the connection\r\n"...)
	return string(resp)
}

// closeWith writes the last words and closes the connection; go-imap's
// next read fails. Before closing it reads and drops (drain) what the
// client still sends of the literal (a bounded amount, for a bounded time): a
// client writes the whole literal before it reads, and closing with
// unread bytes resets the connection, which can make the client's system
// drop the answer before the client reads it.
func (g *literalGuard) closeWith(resp string, drain bool) {
	g.readErr = errLiteralRefused
	g.wmu.Lock()
	_, err := g.Conn.Write([]byte(resp))
	g.wmu.Unlock()
	if cw, ok := g.Conn.(interface{ CloseWrite() error }); ok && err == nil {
		_ = cw.CloseWrite() // TLS close_notify: the client reads the end
	}
	if drain && err == nil && g.Conn.SetReadDeadline(time.Now().Add(drainTime)) == nil {
		left := min(g.sc.pending.size, drainLimit) - int64(len(g.pending))
		buf := make([]byte, 32<<10)
		for left > 0 {
			n, err := g.Conn.Read(buf)
			left -= int64(n)
			if err != nil {
				break
			}
		}
	}
	g.pending = nil
	_ = g.Conn.Close()
}

const (
	// drainLimit and drainTime bound what closeWith reads of a refused
	// literal.
	drainLimit = 8 << 20
	drainTime  = 5 * time.Second
)

// validTag is whether tag can be echoed in a response (RFC 9051 tag:
// ASTRING-CHAR except "+").
func validTag(tag []byte) bool {
	if len(tag) == 0 {
		return false
	}
	for _, c := range tag {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`(){%*"\+`), c) >= 0 {
			return false
		}
	}
	return true
}

// guardTLS is the go-imap server for connections whose TLS the door
// terminates itself (implicit TLS, and STARTTLS, see doStartTLS) so that
// the guard reads plain text: go-imap sees no *tls.Conn, so it must allow
// authentication without one and offer no STARTTLS.
type guardTLS struct {
	lib *imapserver.Server
	ln  *chanListener
}

// startGuardTLS starts the go-imap server for guarded TLS connections.
func (s *Server) startGuardTLS(opts *imapserver.Options) guardTLS {
	opts.InsecureAuth, opts.TLSConfig = true, nil
	g := guardTLS{lib: imapserver.New(opts), ln: newChanListener()}
	s.startLib(g.lib, g.ln)
	return g
}

// guard wraps a connection in the literal guard; a TLS connection goes to
// the guarded-TLS go-imap server.
func (s *Server) guard(c net.Conn, target *chanListener) (net.Conn, *chanListener) {
	if _, isTLS := c.(*tls.Conn); isTLS {
		return s.newLiteralGuard(c), s.guardedTLS.ln
	}
	return s.newLiteralGuard(c), target
}
