// Package smtp is Pochta's SMTP door: the MX that takes mail for the local
// domains from other servers (RFC 5321), and the submission service for
// users (RFC 6409 on port 587 with STARTTLS, RFC 8314 on port 465 with
// implicit TLS) with AUTH PLAIN and LOGIN (RFC 4954).
//
// Sessions are github.com/emersion/go-smtp sessions. Policy lives here:
// who may relay (only authenticated users), which recipients exist (asked
// at RCPT through internal/delivery, so unknown ones get 550 5.1.1 at
// once), what an authenticated user may send as, and the limits. Accepted
// mail goes down the one ingest path, delivery.Send: one transaction for
// every local copy and the queued remote part, committed before the 250.
//
// Every error a client sees is a bare *smtp.SMTPError with a generic text
// (go-smtp would turn anything else into a permanent 554 carrying our
// internal error text); a temporary cause is always a 4xx.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/connlimit"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// Mode is what a listener is for.
type Mode int

const (
	// ModeMX takes mail from other servers for the local domains; AUTH is
	// offered after TLS, and only authenticated sessions may relay.
	ModeMX Mode = iota
	// ModeSubmission requires AUTH before MAIL (ports 587 and 465).
	ModeSubmission
)

func (m Mode) door() string {
	if m == ModeSubmission {
		return obs.DoorSubmission
	}
	return obs.DoorSMTP
}

// Throttle is the shared authentication throttle (*throttle.Throttle).
type Throttle interface {
	Allow(ip netip.Addr, login string) (ok bool, retryAfter time.Duration)
	Fail(ip netip.Addr, login, password string)
	Succeed(ip netip.Addr, login string)
}

// Options configure a Server.
type Options struct {
	// Mode selects MX or submission behaviour.
	Mode Mode
	// Hostname is this server's name: greeting, Received: fields.
	Hostname string
	// Deliverer resolves recipients and stores accepted mail.
	Deliverer *delivery.Deliverer
	// Directory authenticates users and lists the addresses they own.
	Directory directory.Directory
	// Store is read (never written) for the quota check at RCPT; nil skips it.
	Store *storage.Store
	// TLS enables STARTTLS (and is used by ServeTLS); nil disables TLS.
	TLS *tls.Config
	// MaxMessageBytes is the largest message accepted (SIZE); default 50 MiB.
	MaxMessageBytes int64
	// MaxRecipients bounds RCPT commands per message; default 1000.
	MaxRecipients int
	// MaxConnsPerIP bounds simultaneous connections from one address (IPv6:
	// one /64); 0 = no limit.
	MaxConnsPerIP int
	// MaxConns bounds simultaneous connections on this server from all
	// addresses together; 0 = no limit.
	MaxConns int
	// ReadTimeout is how long a command may take to arrive; default 5m.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a reply; default 5m.
	WriteTimeout time.Duration
	// DataTimeout bounds receiving the message after DATA; default 10m.
	DataTimeout time.Duration
	// AllowInsecureAuthLoopback offers AUTH without TLS to 127.0.0.1 and ::1.
	AllowInsecureAuthLoopback bool
	// QuotaPermanent answers a full mailbox with 552 5.2.2 (the sender
	// bounces) instead of 452 4.2.2 (the sender retries).
	QuotaPermanent bool
	// Throttle limits failed AUTH attempts per address and per login; nil
	// means no throttle.
	Throttle Throttle
	Logger   *slog.Logger
	Metrics  *obs.Metrics
}

// Server is one SMTP service (MX or submission) that may serve several
// listeners.
type Server struct {
	opts   Options
	log    *slog.Logger
	gs     *gosmtp.Server
	ctx    context.Context
	cancel context.CancelFunc

	limit *connlimit.Limiter
	mu    sync.Mutex
	conns map[*countedConn]struct{}
	// inData counts sessions inside DATA/BDAT: shutdown waits for them,
	// not for idle clients.
	inData atomic.Int64
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = gosmtp.ErrServerClosed

// New makes a server.
func New(opts Options) (*Server, error) {
	if opts.Deliverer == nil || opts.Directory == nil {
		return nil, errors.New("smtp: Deliverer and Directory are required")
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 50 << 20
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = 1000
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 5 * time.Minute
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 5 * time.Minute
	}
	if opts.DataTimeout <= 0 {
		opts.DataTimeout = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = obs.Discard()
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "smtp", "door", opts.Mode.door()), conns: map[*countedConn]struct{}{}}
	s.limit = connlimit.New(opts.MaxConnsPerIP, opts.MaxConns)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	gs := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	gs.Domain = opts.Hostname
	gs.TLSConfig = opts.TLS
	gs.MaxMessageBytes = opts.MaxMessageBytes
	gs.MaxRecipients = opts.MaxRecipients
	gs.ReadTimeout = opts.ReadTimeout
	gs.WriteTimeout = opts.WriteTimeout
	// AUTH is offered and refused per connection by the session (TLS, or
	// loopback when allowed); go-smtp's switch is all-or-nothing.
	gs.AllowInsecureAuth = true
	gs.EnableSMTPUTF8 = true
	gs.EnableDSN = true
	gs.ErrorLog = libLogger{log: s.log, metrics: opts.Metrics}
	if obs.Enabled(s.log, obs.LevelTrace) {
		gs.Debug = obs.NewTraceWriter(s.log)
	}
	s.gs = gs
	return s, nil
}

// Serve accepts plain connections (STARTTLS is offered when Options.TLS is
// set) until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.gs.Serve(&limitListener{Listener: ln, s: s})
}

// ServeTLS accepts connections that speak TLS from the first byte (RFC
// 8314, port 465). Pass the plain listener: the per-address limit must see
// the TCP connection and go-smtp must see the *tls.Conn.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLS == nil {
		return errors.New("smtp: ServeTLS without a TLS configuration")
	}
	return s.gs.Serve(tls.NewListener(&limitListener{Listener: ln, s: s, tls: s.opts.TLS}, s.opts.TLS))
}

// Shutdown stops accepting, lets messages being received finish (until
// ctx ends), then closes every connection: idle clients are not waited
// for; they reconnect to another node or retry later.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.gs.Shutdown(context.Background()) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for s.inData.Load() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	s.cancel()
	s.closeConns()
	err := <-done
	if errors.Is(err, gosmtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	s.cancel()
	err := s.gs.Close()
	s.closeConns()
	if errors.Is(err, gosmtp.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) closeConns() {
	s.mu.Lock()
	conns := make([]*countedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// limitListener refuses connections beyond MaxConnsPerIP or MaxConns with
// a 421 and counts the open ones.
type limitListener struct {
	net.Listener
	s *Server
	// tls is set below an implicit-TLS listener: the refusal must be
	// spoken over TLS too, or the client sees a handshake error.
	tls *tls.Config
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := addrOf(c.RemoteAddr())
		release, reason := l.s.limit.Acquire(ip)
		if reason != connlimit.Accepted {
			l.s.log.Info("connection refused: limit reached", "remote", ip, "limit", string(reason))
			l.s.opts.Metrics.ConnRefused(l.s.opts.Mode.door(), string(reason))
			// Off the accept loop: a TLS handshake may take a while.
			go l.refuse(c, reason)
			continue
		}
		cc := &countedConn{Conn: c, closed: l.s.opts.Metrics.ConnOpened(l.s.opts.Mode.door())}
		cc.release = func() {
			release()
			l.s.forget(cc)
		}
		l.s.mu.Lock()
		l.s.conns[cc] = struct{}{}
		l.s.mu.Unlock()
		return cc, nil
	}
}

// refuse answers a connection over a limit and closes it. RFC 5321 §3.8:
// a server may refuse with 421 at the greeting.
func (l *limitListener) refuse(c net.Conn, reason connlimit.Reason) {
	defer l.s.opts.Metrics.Recover(l.s.log, "smtp")
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if l.tls != nil {
		c = tls.Server(c, l.tls)
	}
	who := "from your address"
	if reason == connlimit.Total {
		who = "on this server"
	}
	_, _ = fmt.Fprintf(c, "421 4.7.0 %s Too many connections %s, try again later\r\n", l.s.opts.Hostname, who)
	_ = c.Close()
}

func (s *Server) forget(c *countedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// countedConn releases its slot once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
	closed  func()
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.release()
		c.closed()
	})
	return c.Conn.Close()
}

func addrOf(a net.Addr) netip.Addr { return connlimit.AddrOf(a) }

// libLogger is go-smtp's ErrorLog. go-smtp recovers panics of the session
// methods our own recovery does not wrap (AUTH, for one), answers 421 and
// closes the connection, and reports them only here: count them like ours.
type libLogger struct {
	log     *slog.Logger
	metrics *obs.Metrics
}

func (l libLogger) Printf(format string, args ...any) { l.print(fmt.Sprintf(format, args...)) }
func (l libLogger) Println(args ...any)               { l.print(fmt.Sprintln(args...)) }

func (l libLogger) print(msg string) {
	msg = strings.TrimSuffix(msg, "\n")
	if strings.HasPrefix(msg, "panic serving") {
		// The message carries the panic value and the stack.
		l.log.Error("panic recovered", "component", "smtp", "panic", msg)
		if l.metrics != nil {
			l.metrics.Panics.WithLabelValues("smtp").Inc()
		}
		return
	}
	l.log.Warn(msg)
}
