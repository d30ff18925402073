// Package imap is Pochta's IMAP4rev2/IMAP4rev1 door (RFC 9051, RFC 3501):
// an imapserver.Session from github.com/emersion/go-imap/v2 over the store.
//
// What it owns:
//   - the mapping of the store's folders to IMAP mailboxes: the mail folders
//     (container class IPF.Note or none) below the IPM subtree, by their
//     Exchange names, INBOX for the Inbox, special-use attributes from the
//     folder roles (RFC 6154); calendar, contacts and other non-mail folders
//     are not mailboxes;
//   - sequence numbers: one in-memory list of a folder's messages (UID,
//     flags, size) shared by every session that has it selected, fed by the
//     store's change feed, and per session a view of what the client has
//     been told (see mailbox.go); UIDs come from the store, strictly
//     ascending per folder;
//   - FETCH from the stored bytes and the stored part tree, SEARCH as SQL
//     with row-level checks only for what SQL cannot answer, STORE, COPY,
//     MOVE, EXPUNGE, APPEND through internal/delivery;
//   - the listeners: STARTTLS and implicit TLS, authentication only over
//     TLS (or plain on loopback when allowed), the shared throttle, a
//     connection limit per address, the idle timeout.
//
// go-imap v2.0.0-beta.8's server does not parse CONDSTORE (RFC 7162) or ID
// (RFC 2971), so neither is advertised.
package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/connlimit"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// ErrServerClosed is returned by Serve and ServeTLS after Shutdown.
var ErrServerClosed = errors.New("imap: server closed")

// Throttle is the shared authentication throttle (internal/throttle).
type Throttle interface {
	Allow(ip netip.Addr, login string) (ok bool, retryAfter time.Duration)
	Fail(ip netip.Addr, login, password string)
	Succeed(ip netip.Addr, login string)
}

// Options configure a Server.
type Options struct {
	// Store holds the mailboxes. Required.
	Store *storage.Store
	// Directory authenticates logins. Required.
	Directory directory.Directory
	// Deliverer stores APPENDed messages (the one ingest path). Required.
	Deliverer *delivery.Deliverer
	// TLS is the certificate configuration for STARTTLS and ServeTLS; nil
	// disables STARTTLS (and with it authentication, except on loopback
	// when AllowInsecureAuthLoopback is set).
	TLS *tls.Config
	// Logger receives the door's logs; nil discards them.
	Logger *slog.Logger
	// Metrics counts connections, authentication failures and panics; nil
	// counts nothing.
	Metrics *obs.Metrics
	// Throttle refuses logins from addresses and for accounts that failed
	// too often; nil does not throttle.
	Throttle Throttle
	// AppendLimit is the largest message APPEND accepts, in bytes,
	// advertised as APPENDLIMIT (RFC 7889). 0 means 50 MiB.
	AppendLimit int64
	// MaxConnsPerIP bounds simultaneous connections from one client
	// address (IPv6: one /64); 0 means no limit.
	MaxConnsPerIP int
	// MaxConns bounds simultaneous connections from all addresses
	// together; 0 means no limit.
	MaxConns int
	// IdleTimeout closes an authenticated connection, IDLE included, after
	// this long without a command (RFC 9051 §5.4 asks for at least 30
	// minutes; clients re-issue IDLE before 29). 0 means 30 minutes.
	// Unauthenticated connections get go-imap's 30 seconds per command.
	IdleTimeout time.Duration
	// AllowInsecureAuthLoopback allows LOGIN and AUTHENTICATE without TLS
	// from 127.0.0.1 and ::1, for local scripts and tests.
	AllowInsecureAuthLoopback bool
}

// Server is the IMAP door. Create it with New.
type Server struct {
	opts  Options
	log   *slog.Logger
	store *storage.Store

	// Two go-imap servers: one refuses authentication without TLS, the
	// other (used only for loopback plain connections when allowed) does not.
	secure, loose     *imapserver.Server
	secureLn, looseLn *chanListener
	guardedTLS        guardTLS // implicit TLS, terminated below the literal guard

	baseCtx context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	// sessions maps each session to the release of its connection slot.
	sessions  map[*session]func()
	limit     *connlimit.Limiter
	mailboxes map[mailboxKey]*mailbox
	idle      chan struct{} // closed when the last session ends during shutdown

	// logins bounds the password checks running at once.
	logins chan struct{}
	// linger is mailboxLinger; tests shorten it.
	linger time.Duration

	wg sync.WaitGroup // Serve loops and go-imap servers
}

// New makes a Server; it serves nothing until Serve or ServeTLS.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Directory == nil || opts.Deliverer == nil {
		return nil, errors.New("imap: Store, Directory and Deliverer are required")
	}
	if opts.Logger == nil {
		opts.Logger = obs.Discard()
	}
	if opts.AppendLimit <= 0 {
		opts.AppendLimit = 50 << 20
	}
	if opts.AppendLimit > 1<<32-1 {
		opts.AppendLimit = 1<<32 - 1
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts: opts, log: opts.Logger.With("component", "imap"), store: opts.Store,
		baseCtx: ctx, cancel: cancel,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]func(){},
		limit:     connlimit.New(opts.MaxConnsPerIP, opts.MaxConns),
		mailboxes: map[mailboxKey]*mailbox{},
		idle:      make(chan struct{}),
		logins:    make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		linger:    mailboxLinger,
	}
	libOpts := func(insecure bool) *imapserver.Options {
		return &imapserver.Options{
			NewSession:   s.newSession,
			Caps:         capabilities(),
			Logger:       &libLogger{log: s.log, metrics: opts.Metrics},
			TLSConfig:    opts.TLS,
			InsecureAuth: insecure,
		}
	}
	s.secure = imapserver.New(libOpts(false))
	s.secureLn = newChanListener()
	s.startLib(s.secure, s.secureLn)
	if opts.AllowInsecureAuthLoopback {
		s.loose = imapserver.New(libOpts(true))
		s.looseLn = newChanListener()
		s.startLib(s.loose, s.looseLn)
	}
	s.guardedTLS = s.startGuardTLS(libOpts(true))
	return s, nil
}

// capabilities are the extensions this session implements; go-imap adds
// the ones that need no backend (IDLE, ENABLE, UNSELECT, SASL-IR,
// LITERAL-, STARTTLS, AUTH=PLAIN, APPENDLIMIT from SessionAppendLimit) and
// checks that the session implements what is claimed here.
func capabilities() imap.CapSet {
	return imap.CapSet{
		imap.CapIMAP4rev1:    {},
		imap.CapIMAP4rev2:    {},
		imap.CapNamespace:    {}, // RFC 2342
		imap.CapUIDPlus:      {}, // RFC 4315
		imap.CapESearch:      {}, // RFC 4731
		imap.CapSearchRes:    {}, // RFC 5182
		imap.CapListExtended: {}, // RFC 5258
		imap.CapListStatus:   {}, // RFC 5819
		imap.CapMove:         {}, // RFC 6851
		imap.CapStatusSize:   {}, // RFC 8438
		imap.CapBinary:       {}, // RFC 3516
		imap.CapChildren:     {}, // RFC 3348
		imap.CapSpecialUse:   {}, // RFC 6154
		imap.CapLiteralPlus:  {}, // RFC 7888
	}
}

func (s *Server) startLib(lib *imapserver.Server, ln *chanListener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.opts.Metrics.Recover(s.log, obs.DoorIMAP)
		if err := lib.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("imap server stopped", "err", err)
		}
	}()
}

// Serve accepts plain connections (STARTTLS available when Options.TLS is
// set) on ln until Shutdown. A listener that already speaks TLS (from
// tls.NewListener) also works, but ServeTLS applies the idle timeout
// below TLS and should be preferred.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeTLS accepts connections on ln and speaks TLS from the first byte
// (implicit TLS, RFC 8314) with Options.TLS.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("imap: ServeTLS needs Options.TLS")
	}
	return s.serve(ln, true)
}

func (s *Server) serve(ln net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporaryAccept(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "in", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("imap: accept: %w", err)
		}
		delay = 0
		s.dispatch(conn, implicitTLS)
	}
}

// isTemporaryAccept recognises accept errors worth waiting out (too many
// open files, aborted connections).
func isTemporaryAccept(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "too many open files") || strings.Contains(msg, "connection aborted") ||
		strings.Contains(msg, "connection reset")
}

// dispatch hands an accepted connection to one of the go-imap servers. The
// idle-timeout wrapper goes below TLS, the literal guard above it; TLS
// connections go to the go-imap server that allows authentication
// without seeing a *tls.Conn (see literal_guard.go).
func (s *Server) dispatch(conn net.Conn, implicitTLS bool) {
	_, alreadyTLS := conn.(*tls.Conn)
	var c net.Conn
	switch {
	case alreadyTLS:
		c = conn
	case implicitTLS:
		c = tls.Server(&timeoutConn{Conn: conn, idle: s.opts.IdleTimeout}, s.opts.TLS)
	default:
		c = &timeoutConn{Conn: conn, idle: s.opts.IdleTimeout}
	}
	target := s.secureLn
	if s.looseLn != nil && !implicitTLS && !alreadyTLS && isLoopback(conn.RemoteAddr()) {
		target = s.looseLn
	}
	c, target = s.guard(c, target) // issue 11: literals go-imap does not read
	if !target.deliver(c) {
		_ = c.Close()
	}
}

func isLoopback(a net.Addr) bool {
	ip := addrOf(a)
	return ip.IsValid() && ip.IsLoopback()
}

// addrOf extracts the client address of a connection.
func addrOf(a net.Addr) netip.Addr { return connlimit.AddrOf(a) }

// ipKey is the group a client is counted in (IPv6: its /64).
func ipKey(ip netip.Addr) netip.Prefix {
	p, _ := connlimit.ClientKey(ip)
	return p
}

// Shutdown stops accepting, says BYE to every client, and waits for the
// sessions to end until ctx is done; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closed = true
	var errs []error
	for ln := range s.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	idle := s.idle
	if len(s.sessions) == 0 {
		close(idle)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		go sess.bye("Server shutting down")
	}
	select {
	case <-idle:
	case <-ctx.Done():
		// Out of time: drop whoever is left. (go-imap's own Close is not
		// used: its Serve adds to a WaitGroup outside its lock, which races
		// with Close's Wait when a Serve has only just started.)
		s.mu.Lock()
		for sess := range s.sessions {
			_ = sess.conn.NetConn().Close()
		}
		s.mu.Unlock()
	}
	s.secureLn.Close()
	s.guardedTLS.ln.Close()
	if s.looseLn != nil {
		s.looseLn.Close()
	}
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	for _, mb := range s.mailboxes {
		mb.stop()
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}

// newSession is go-imap's NewSession: it enforces the connection limits
// (a BYE greeting) and makes the session's context.
func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	ip := addrOf(c.NetConn().RemoteAddr())
	key := ipKey(ip)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down"}
	}
	release, reason := s.limit.Acquire(ip)
	if reason != connlimit.Accepted {
		s.mu.Unlock()
		s.log.Info("connection refused: limit reached", "remote", ip, "limit", string(reason))
		s.opts.Metrics.ConnRefused(obs.DoorIMAP, string(reason))
		if reason == connlimit.Total {
			// RFC 5530 §3: UNAVAILABLE is a temporary failure of the server.
			return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Code: imap.ResponseCodeUnavailable, Text: "Too many connections, try again later"}
		}
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Code: imap.ResponseCodeLimit, Text: "Too many connections from your address"}
	}
	ctx, cancel := context.WithCancel(s.baseCtx)
	sess := &session{
		srv: s, conn: c, ip: ip, ipKey: key, ctx: ctx, cancel: cancel,
		log:    s.log.With("remote", ip.String()),
		closed: s.opts.Metrics.ConnOpened(obs.DoorIMAP),
	}
	s.sessions[sess] = release
	s.mu.Unlock()
	return sess, nil, nil
}

// sessionEnded undoes newSession's bookkeeping.
func (s *Server) sessionEnded(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	release, ok := s.sessions[sess]
	if !ok {
		return
	}
	delete(s.sessions, sess)
	release()
	if s.closed && len(s.sessions) == 0 {
		close(s.idle)
	}
}

// libLogger gives go-imap a logger; its panic reports (it recovers panics
// of a connection itself) are counted like ours.
type libLogger struct {
	log     *slog.Logger
	metrics *obs.Metrics
}

func (l *libLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.HasPrefix(msg, "panic") {
		l.log.Error("go-imap recovered a panic", "detail", msg)
		if l.metrics != nil {
			l.metrics.Panics.WithLabelValues(obs.DoorIMAP).Inc()
		}
		return
	}
	// Read errors of departing clients are routine.
	l.log.Debug("go-imap", "detail", msg)
}

// timeoutConn replaces go-imap's fixed 35-minute wait for the next command
// (and for DONE during IDLE) with Options.IdleTimeout; shorter deadlines
// (one command, one literal) pass through unchanged. Once such a wait has
// timed out, every later read fails at once: go-imap would otherwise go
// on to read the command with its 30-second deadline.
type timeoutConn struct {
	net.Conn
	idle     time.Duration
	waiting  atomic.Bool // the current deadline is the idle one
	timedOut atomic.Bool
}

func (c *timeoutConn) SetReadDeadline(t time.Time) error {
	long := !t.IsZero() && time.Until(t) > 10*time.Minute
	if long {
		t = time.Now().Add(c.idle)
	}
	c.waiting.Store(long)
	return c.Conn.SetReadDeadline(t)
}

func (c *timeoutConn) Read(p []byte) (int, error) {
	if c.timedOut.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.Conn.Read(p)
	if err != nil && c.waiting.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
	return n, err
}

// chanListener feeds accepted connections to a go-imap server.
type chanListener struct {
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
