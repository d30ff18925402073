package pop3

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// state is the RFC 1939 §3 session state.
type state uint8

const (
	stateAuthorization state = 1 << iota
	stateTransaction
	stateUpdate
)

func (st state) String() string {
	switch st {
	case stateAuthorization:
		return "AUTHORIZATION"
	case stateTransaction:
		return "TRANSACTION"
	}
	return "UPDATE"
}

var (
	errLineTooLong  = errors.New("line too long")
	errInterrupted  = errors.New("server shutting down")
	errStreamBroken = errors.New("message stream failed after +OK")
)

// tlsHandshakeTimeout bounds a TLS handshake (implicit TLS or STLS).
const tlsHandshakeTimeout = 30 * time.Second

// session is one POP3 connection. Only its own goroutine touches it, except
// interrupt (Shutdown) which uses raw and the atomic flag.
type session struct {
	srv    *Server
	raw    net.Conn // the accepted connection
	conn   net.Conn // raw, or the TLS connection over it after STLS
	r      *bufio.Reader
	w      *bufio.Writer
	log    *slog.Logger
	remote netip.Addr
	isTLS  bool
	trace  bool
	redact obs.Redactor

	ctx         context.Context
	cancel      context.CancelFunc
	interrupted atomic.Bool

	state        state
	user         string // from USER, waiting for PASS
	apopStamp    string // the greeting's timestamp when APOP is on
	errors       int
	authFailures int

	// TRANSACTION state: the maildrop snapshot taken at login.
	account     *directory.Account
	holder      string // lease holder token while the maildrop is locked
	renewStop   chan struct{}
	renewDone   chan struct{}
	drop        *storage.POP3Maildrop
	deleted     []bool
	retrieved   []bool
	liveCount   int   // messages not marked deleted
	liveOctets  int64 // their size
	numScratch  []byte
	copyScratch []byte
	// Read-ahead of small messages by maildrop index (see smallBlob).
	ahead      map[int][]byte
	aheadBytes int64
}

func newSession(srv *Server, nc net.Conn, log *slog.Logger) *session {
	ctx, cancel := context.WithCancel(srv.baseCtx)
	s := &session{
		srv: srv, raw: nc, conn: nc, log: log, ctx: ctx, cancel: cancel,
		state: stateAuthorization,
		trace: obs.Enabled(log, obs.LevelTrace),
	}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		s.remote = ap.Addr().Unmap()
	}
	s.r = bufio.NewReaderSize(nc, 4096)
	s.w = bufio.NewWriterSize(connWriter{s}, 32<<10)
	return s
}

// connWriter writes to the session's current connection, arming the write
// deadline first so that a client that stops reading cannot pin a session.
type connWriter struct{ s *session }

func (cw connWriter) Write(p []byte) (int, error) {
	if err := cw.s.conn.SetWriteDeadline(time.Now().Add(cw.s.srv.opts.IdleTimeout)); err != nil {
		return 0, err
	}
	return cw.s.conn.Write(p)
}

// interrupt asks a session to end once its current command is done.
func (s *session) interrupt() {
	s.interrupted.Store(true)
	_ = s.raw.SetReadDeadline(time.Now())
}

// run is the connection's life: TLS handshake for POP3S, greeting, commands.
func (s *session) run() {
	defer s.cleanup()
	if tc, ok := s.conn.(*tls.Conn); ok {
		hctx, cancel := context.WithTimeout(s.ctx, tlsHandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			s.log.Debug("TLS handshake failed", "err", err)
			return
		}
		s.isTLS = true
	}
	s.greet()
	for {
		if err := s.flushIfIdle(); err != nil {
			s.log.Debug("write failed", "err", err)
			return
		}
		line, err := s.readLine(MaxLineLength)
		if errors.Is(err, errLineTooLong) {
			s.protoError("Line too long")
		} else if err != nil {
			if s.interrupted.Load() {
				s.writeLine("-ERR [SYS/TEMP] Server shutting down")
				s.flush()
			}
			s.log.Debug("connection ended", "err", err, "state", s.state.String())
			return
		} else if s.dispatch(line) {
			s.flush()
			return
		}
		if s.errors >= s.srv.opts.MaxErrors {
			s.writeLine("-ERR Too many errors; closing connection")
			s.flush()
			return
		}
	}
}

// dispatch runs one command line; true ends the session.
func (s *session) dispatch(line []byte) (done bool) {
	if s.trace {
		s.log.Log(s.ctx, obs.LevelTrace, "C: "+s.redact.Redact(string(line)))
	}
	cmd, err := ParseCommand(line)
	if err != nil {
		s.protoError(capitalize(err.Error()))
		return false
	}
	h, ok := commands[cmd.Name]
	if !ok {
		s.protoError("Unknown command " + cmd.Name)
		return false
	}
	if h.states&s.state == 0 {
		s.protoError(cmd.Name + " is not valid in the " + s.state.String() + " state")
		return false
	}
	return h.fn(s, cmd)
}

// flushIfIdle sends buffered answers unless more pipelined commands are
// already waiting (RFC 2449 §6.6): one write for a batch of commands.
func (s *session) flushIfIdle() error {
	if s.r.Buffered() > 0 {
		return nil
	}
	return s.flush()
}

func (s *session) flush() error { return s.w.Flush() }

// readLine reads one line of at most max bytes without its line end (CRLF
// or a bare LF). A longer line is read to its end and discarded.
func (s *session) readLine(max int) ([]byte, error) {
	// Set the deadline before checking the flag: interrupt sets the flag
	// before the deadline, so one of the two is always seen.
	if err := s.raw.SetReadDeadline(time.Now().Add(s.srv.opts.IdleTimeout)); err != nil {
		return nil, err
	}
	if s.interrupted.Load() {
		return nil, errInterrupted
	}
	var line []byte
	tooLong := false
	for {
		frag, err := s.r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(frag) > max+2 {
				tooLong, line = true, nil
			} else if err == bufio.ErrBufferFull || line != nil {
				line = append(line, frag...)
			} else {
				line = frag // the common case: no copy
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if tooLong {
		return nil, errLineTooLong
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// writeLine queues one response line.
func (s *session) writeLine(line string) {
	if s.trace {
		s.log.Log(s.ctx, obs.LevelTrace, "S: "+line)
	}
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
}

func (s *session) ok(text string) { s.writeLine("+OK " + text) }

// fail answers -ERR without counting it as a client mistake.
func (s *session) fail(text string) { s.writeLine("-ERR " + text) }

// protoError answers -ERR and counts a client mistake; enough of them end
// the connection.
func (s *session) protoError(text string) {
	s.errors++
	s.writeLine("-ERR " + text)
}

// storeError answers a failed store or directory call: temporary causes get
// [SYS/TEMP] (RFC 3206 §4), anything else [SYS/PERM] after being logged.
func (s *session) storeError(what string, err error) {
	if errors.Is(err, storage.ErrTemporary) || errors.Is(err, directory.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn(what+" failed temporarily", "err", err)
		s.fail("[SYS/TEMP] " + capitalize(what) + " failed; try again later")
		return
	}
	s.log.Error(what+" failed", "err", err)
	s.fail("[SYS/PERM] " + capitalize(what) + " failed")
}

func (s *session) greet() {
	text := "Pochta POP3 server ready"
	if s.srv.opts.APOP != nil {
		// RFC 1939 §7: a timestamp unique to this greeting.
		s.apopStamp = fmt.Sprintf("<%s.%d@%s>", randomToken(6), time.Now().UnixNano(), s.srv.opts.Hostname)
		text += " " + s.apopStamp
	}
	s.ok(text)
}

// authAllowed: credentials only over TLS, unless the development switch
// allows them from loopback.
func (s *session) authAllowed() bool {
	return s.isTLS || s.srv.opts.AllowInsecureAuthLoopback && s.remote.IsLoopback()
}

// cleanup runs when the connection ends for any reason: a session that did
// not QUIT changes nothing, and gives the maildrop back.
func (s *session) cleanup() {
	if s.holder != "" {
		s.unlock(nil)
	}
	s.cancel()
}

// unlock stops the lease renewal and releases the lease (unless released is
// non-nil and true: the UPDATE transaction did it) and this node's lock.
func (s *session) unlock(released *bool) {
	s.stopRenewal()
	if s.srv.shared && (released == nil || !*released) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 30*time.Second)
		if err := s.srv.opts.Store.ReleasePOP3Lease(ctx, s.account.ID, s.holder); err != nil {
			// It expires by itself after LeaseTTL.
			s.log.Warn("releasing maildrop lease", "err", err)
		}
		cancel()
	}
	s.srv.unlockLocal(s.account.ID, s.holder)
	s.holder = ""
}

// lock takes the maildrop: this node's lock first (cheap, and answers a
// second local session at once), then the store lease for other nodes.
func (s *session) lock(acct *directory.Account) (ok bool, err error) {
	holder := s.srv.nodeID + "-" + randomToken(9)
	if !s.srv.lockLocal(acct.ID, holder) {
		return false, nil
	}
	if !s.srv.shared {
		s.account, s.holder = acct, holder
		return true, nil
	}
	if err := s.srv.ensureSchema(s.ctx); err != nil {
		s.srv.unlockLocal(acct.ID, holder)
		return false, err
	}
	got, err := s.srv.opts.Store.AcquirePOP3Lease(s.ctx, acct.ID, holder, s.srv.opts.LeaseTTL)
	if err != nil || !got {
		s.srv.unlockLocal(acct.ID, holder)
		return false, err
	}
	s.account, s.holder = acct, holder
	s.startRenewal()
	return true, nil
}

// startRenewal keeps the lease alive while the session lives.
func (s *session) startRenewal() {
	stop, done := make(chan struct{}), make(chan struct{})
	s.renewStop, s.renewDone = stop, done
	accountID, holder, ttl := s.account.ID, s.holder, s.srv.opts.LeaseTTL
	store, log, metrics := s.srv.opts.Store, s.log, s.srv.opts.Metrics
	go func() {
		defer metrics.Recover(log, obs.DoorPOP3)
		defer close(done)
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			kept, err := store.RenewPOP3Lease(s.ctx, accountID, holder, ttl)
			switch {
			case err != nil:
				log.Warn("renewing maildrop lease", "err", err)
			case !kept:
				// It expired (a stalled database?) and perhaps another node
				// took it. Take it back when it is free; the deletions this
				// session applies at QUIT name messages by id, so they stay
				// safe either way.
				if got, err := store.AcquirePOP3Lease(s.ctx, accountID, holder, ttl); err != nil || !got {
					log.Warn("maildrop lease lost to another session", "err", err)
				}
			}
		}
	}()
}

func (s *session) stopRenewal() {
	if s.renewStop != nil {
		close(s.renewStop)
		<-s.renewDone
		s.renewStop, s.renewDone = nil, nil
	}
}

// randomToken returns n random bytes in hex.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// appendNum is strconv.AppendInt for the listing loops.
func appendNum(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
