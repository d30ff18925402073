// Package pop3 is Pochta's POP3 server: RFC 1939 (USER/PASS, APOP, STAT,
// LIST, RETR, DELE, NOOP, RSET, QUIT, TOP, UIDL and the AUTHORIZATION,
// TRANSACTION and UPDATE states), RFC 2449 (CAPA, response codes), RFC 2595
// (STLS), RFC 5034 (AUTH PLAIN) and RFC 3206 ([AUTH], [SYS/TEMP]).
//
// The maildrop is the account's Inbox in the store, without MAPI associated
// (FAI) messages. One session holds a maildrop at a time: an in-process lock
// answers a second session on the same node at once, and on PostgreSQL a
// lease row in the store (storage.AcquirePOP3Lease, renewed while the
// session lives) does the same across the nodes sharing the database. A session's view is the snapshot
// taken at login; DELE marks, and only QUIT applies the marks, in one store
// transaction (storage.ApplyPOP3Update) that also sets \Seen on retrieved
// messages; a dropped connection changes nothing. The change is an ordinary
// store change, so IMAP, MAPI and the webmail see it at once.
//
// UIDL names a message by its Inbox UIDVALIDITY and UID, which never change
// for the life of a message in the Inbox (Dovecot's default "%08Xu%08Xv").
// RETR and TOP stream the stored bytes with CRLF line ends and
// dot-stuffing; a message larger than one blob chunk is never held whole.
package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/connlimit"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("pop3: server closed")

// Maildrop lock modes (Options.MaildropLock).
const (
	// LockAuto takes store leases on PostgreSQL, where several nodes may
	// share the database, and only the in-process lock on sqlite, whose
	// store belongs to one process.
	LockAuto = ""
	// LockLocal takes only the in-process lock.
	LockLocal = "local"
	// LockShared always takes a store lease as well.
	LockShared = "shared"
)

// Delete policies: what DELE followed by QUIT does.
const (
	// DeleteExpunge removes the message from the store.
	DeleteExpunge = "delete"
	// DeleteMoveToTrash moves the message to the Deleted Items folder.
	DeleteMoveToTrash = "move-to-trash"
)

// Throttle is the authentication throttle every door shares
// (internal/throttle): Allow before checking a password, Fail after a wrong
// one, Succeed after a right one.
type Throttle interface {
	Allow(ip netip.Addr, login string) (ok bool, retryAfter time.Duration)
	Fail(ip netip.Addr, login, password string)
	Succeed(ip netip.Addr, login string)
}

// APOPFunc returns the account for an APOP login and the shared secret its
// digest is made with (RFC 1939 §7). directory.ErrAuthFailed for an unknown
// login, directory.ErrUnavailable when it cannot tell.
type APOPFunc func(ctx context.Context, login string) (*directory.Account, string, error)

// Options configure a Server. Store and Directory are required.
type Options struct {
	// Store holds the maildrops.
	Store *storage.Store
	// Directory checks logins.
	Directory directory.Directory
	// TLS is used by STLS (RFC 2595) and ServeTLS. Nil disables both.
	TLS *tls.Config
	// Hostname is named in the greeting and in the APOP timestamp.
	Hostname string
	// Logger gets connection errors, and protocol lines at obs.LevelTrace
	// (credentials redacted). Nil discards.
	Logger *slog.Logger
	// Metrics counts panics, auth failures and open connections. May be nil.
	Metrics *obs.Metrics
	// Throttle limits failed logins per address and login. Nil: none.
	Throttle Throttle
	// IdleTimeout closes a connection that sends nothing for this long;
	// 0 means 10 minutes, the minimum RFC 1939 §3 allows.
	IdleTimeout time.Duration
	// MaxConnsPerIP bounds simultaneous connections from one address
	// (IPv6: one /64); 0 is no limit.
	MaxConnsPerIP int
	// MaxConns bounds simultaneous connections from all addresses
	// together; 0 is no limit.
	MaxConns int
	// DeletePolicy is DeleteExpunge (default) or DeleteMoveToTrash.
	DeletePolicy string
	// LoginDelay is the least time between two logins of one account on
	// this node, advertised as LOGIN-DELAY (RFC 2449 §6.5); 0 is none.
	LoginDelay time.Duration
	// Expire is advertised as EXPIRE (RFC 2449 §6.7): "never" (default) or
	// a number of days. Pochta itself deletes nothing; the value tells
	// clients what the operator promises.
	Expire string
	// AllowInsecureAuthLoopback allows USER/PASS, APOP and AUTH without TLS
	// from 127.0.0.1 and ::1 (development, local scripts). Elsewhere
	// authentication needs STLS or implicit TLS.
	AllowInsecureAuthLoopback bool
	// APOP enables the APOP command and the greeting timestamp. Nil (the
	// default) disables APOP: the store keeps password hashes, not the
	// shared secrets APOP needs.
	APOP APOPFunc
	// NoFlagUpdates leaves \Seen alone; by default messages retrieved with
	// RETR are marked \Seen when the session ends with QUIT.
	NoFlagUpdates bool
	// MaxErrors closes a connection after this many bad commands; 0 is 10.
	MaxErrors int
	// MaxAuthFailures closes a connection after this many failed logins;
	// 0 is 3.
	MaxAuthFailures int
	// AuthFailureDelay is waited before answering a failed login; 0 is one
	// second, negative is none.
	AuthFailureDelay time.Duration
	// MaildropLock is LockAuto (default), LockLocal or LockShared.
	MaildropLock string
	// LeaseTTL is how long a maildrop lease lasts without renewal (it is
	// renewed every third of it); it bounds how long a crashed node keeps
	// its users locked out. 0 is two minutes.
	LeaseTTL time.Duration
}

// Server serves POP3 on any number of listeners. Its methods are safe for
// concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	baseCtx context.Context
	cancel  context.CancelFunc
	nodeID  string // makes lease holders unique across nodes
	shared  bool   // take store leases (MaildropLock)

	closing atomic.Bool
	nextID  atomic.Uint64
	wg      sync.WaitGroup

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	// sessions maps each session to the release of its connection slot.
	sessions  map[*session]func()
	limit     *connlimit.Limiter
	locks     map[int64]string    // account → holder of this node's maildrop lock
	lastLogin map[int64]time.Time // for LOGIN-DELAY

	schemaMu    sync.Mutex
	schemaReady bool
}

// New checks opts and returns a Server that is not yet serving.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("pop3: Options.Store is required")
	}
	if opts.Directory == nil {
		return nil, errors.New("pop3: Options.Directory is required")
	}
	switch opts.DeletePolicy {
	case "":
		opts.DeletePolicy = DeleteExpunge
	case DeleteExpunge, DeleteMoveToTrash:
	default:
		return nil, fmt.Errorf("pop3: unknown delete policy %q (want %s or %s)", opts.DeletePolicy, DeleteExpunge, DeleteMoveToTrash)
	}
	switch exp := strings.ToLower(opts.Expire); {
	case exp == "" || exp == "never":
		opts.Expire = "NEVER"
	default:
		if d, err := strconv.Atoi(exp); err != nil || d < 0 {
			return nil, fmt.Errorf("pop3: Expire must be \"never\" or a number of days, not %q", opts.Expire)
		}
	}
	if opts.Logger == nil {
		opts.Logger = obs.Discard()
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
		if opts.Hostname == "" {
			opts.Hostname = "localhost"
		}
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = 10
	}
	if opts.MaxAuthFailures <= 0 {
		opts.MaxAuthFailures = 3
	}
	if opts.AuthFailureDelay == 0 {
		opts.AuthFailureDelay = time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 2 * time.Minute
	}
	var shared bool
	switch opts.MaildropLock {
	case LockAuto:
		shared = opts.Store.Driver() != "sqlite"
	case LockLocal:
	case LockShared:
		shared = true
	default:
		return nil, fmt.Errorf("pop3: unknown maildrop lock mode %q (want %q or %q)", opts.MaildropLock, LockLocal, LockShared)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts:      opts,
		log:       opts.Logger.With("component", "pop3"),
		baseCtx:   ctx,
		cancel:    cancel,
		nodeID:    randomToken(6),
		shared:    shared,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]func(){},
		limit:     connlimit.New(opts.MaxConnsPerIP, opts.MaxConns),
		locks:     map[int64]string{},
		lastLogin: map[int64]time.Time{},
	}, nil
}

// Serve accepts connections on ln until Shutdown or Close, and returns
// ErrServerClosed then. Connections on a listener that yields *tls.Conn
// (tls.NewListener) are implicit TLS (POP3S, port 995).
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln, true) {
		return ErrServerClosed
	}
	defer s.track(ln, false)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "err", err, "in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.wg.Add(1)
		go s.handle(nc)
	}
}

// ServeTLS serves implicit TLS (POP3S) on ln with Options.TLS.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("pop3: ServeTLS needs Options.TLS")
	}
	return s.Serve(tls.NewListener(ln, s.opts.TLS))
}

func (s *Server) track(ln net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		s.listeners[ln] = struct{}{}
	} else {
		delete(s.listeners, ln)
	}
	return true
}

// Shutdown stops accepting, lets every session finish the command it is
// running (a QUIT completes its UPDATE), closes sessions that are waiting for
// a command — which deletes nothing, as for any dropped connection — and
// waits for them. When ctx ends first, the remaining connections are closed
// and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	var errs []error
	for ln := range s.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for sess := range s.sessions {
		sess.interrupt()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.closeSessions()
		<-done
		errs = append(errs, ctx.Err())
	}
	s.cancel()
	return errors.Join(errs...)
}

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.mu.Lock()
	var errs []error
	for ln := range s.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.mu.Unlock()
	s.closeSessions()
	s.wg.Wait()
	s.cancel()
	return errors.Join(errs...)
}

func (s *Server) closeSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		sess.raw.Close()
	}
}

// handle runs one connection.
func (s *Server) handle(nc net.Conn) {
	defer s.wg.Done()
	log := s.log.With("cid", s.nextID.Add(1), "remote", nc.RemoteAddr().String())
	defer nc.Close()
	defer s.opts.Metrics.ConnOpened(obs.DoorPOP3)()
	// Deferred last so it runs first: a panic is logged and counted before
	// the client sees the connection close.
	defer s.opts.Metrics.Recover(log, obs.DoorPOP3)

	sess := newSession(s, nc, log)
	if refusal := s.admit(sess); refusal != "" {
		// RFC 3206 §4: SYS/TEMP, a temporary problem; try again later.
		sess.writeLine("-ERR [SYS/TEMP] " + refusal)
		sess.flush()
		return
	}
	defer s.leave(sess)
	sess.run()
}

// admit registers a session unless the server is closing or a connection
// limit is reached; it returns the refusal's text, or "" when admitted.
func (s *Server) admit(sess *session) string {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return "Server shutting down"
	}
	release, reason := s.limit.Acquire(sess.remote)
	if reason == connlimit.Accepted {
		s.sessions[sess] = release
	}
	s.mu.Unlock()
	if reason == connlimit.Accepted {
		return ""
	}
	sess.log.Info("connection refused: limit reached", "limit", string(reason))
	s.opts.Metrics.ConnRefused(obs.DoorPOP3, string(reason))
	if reason == connlimit.Total {
		return "Too many connections, try again later"
	}
	return "Too many connections from your address"
}

func (s *Server) leave(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if release, ok := s.sessions[sess]; ok {
		delete(s.sessions, sess)
		release()
	}
}

// ensureSchema creates the lease table once per Server (retrying after a
// failure).
func (s *Server) ensureSchema(ctx context.Context) error {
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.schemaReady {
		return nil
	}
	if err := s.opts.Store.MigratePOP3(ctx); err != nil {
		return err
	}
	s.schemaReady = true
	return nil
}

// lockLocal takes this node's lock on an account's maildrop.
func (s *Server) lockLocal(accountID int64, holder string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.locks[accountID]; busy {
		return false
	}
	s.locks[accountID] = holder
	return true
}

func (s *Server) unlockLocal(accountID int64, holder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[accountID] == holder {
		delete(s.locks, accountID)
	}
}

// loginWait applies LOGIN-DELAY: how long the account must still wait
// before it may log in again on this node.
func (s *Server) loginWait(accountID int64, now time.Time) time.Duration {
	if s.opts.LoginDelay <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.lastLogin[accountID]; ok {
		return max(0, s.opts.LoginDelay-now.Sub(last))
	}
	return 0
}

// recordLogin remembers a successful login for LOGIN-DELAY.
func (s *Server) recordLogin(accountID int64, now time.Time) {
	if s.opts.LoginDelay <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lastLogin) > 10000 {
		// Forget logins older than the delay so the map stays small.
		for id, t := range s.lastLogin {
			if now.Sub(t) >= s.opts.LoginDelay {
				delete(s.lastLogin, id)
			}
		}
	}
	s.lastLogin[accountID] = now
}
