// Package mapi is MAPI over HTTP (MS-OXCMAPIHTTP): the HTTP transport of
// the EMSMDB endpoint (/mapi/emsmdb/) with its session contexts, cookies
// and response framing, HTTP Basic authentication, and Autodiscover (POX
// and JSON) that tells clients where the endpoints are. The remote
// operations inside Execute requests are run by package mapi/rop behind
// the ROPSession interface. The address book endpoint (/mapi/nspi/) is
// AddressBook, package mapi/nspi over the same machinery; without it
// /mapi/nspi/ answers X-ResponseCode 16 (endpoint disabled).
//
// The server has no listener of its own: Mount adds its routes to the echo
// instance behind the HTTP and HTTPS listeners.
//
// Session contexts (MS-OXCMAPIHTTP 3.1.5.1, 3.2.5.1) live in memory keyed
// by the MapiContext cookie, never by the TCP connection, and are bound to
// the account that created them. A second cookie, MapiSequence, changes on
// every sequenced request (Connect, Execute); a request carrying an older
// value, including a second request sent while one is still running on
// the same context, is refused with X-ResponseCode 15 (Invalid Sequence):
// concurrent requests on one context are refused, not queued.
// NotificationWait, PING and Disconnect are not sequenced and may run next
// to an Execute. Idle contexts expire (X-ResponseCode 10 afterwards, so
// the client reconnects), and a user holding the maximum number of
// contexts loses the least recently used idle one when opening another.
package mapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// ROPSession runs the ROP buffers of one EMSMDB session context; package
// mapi/rop's *Session implements it.
type ROPSession interface {
	// Execute runs one ROP buffer: in is the payload of the request's
	// RPC_HEADER_EXT (de-obfuscated and decompressed), the result the
	// response payload of at most maxRopOut bytes. A non-nil error is the
	// Execute response's ErrorCode (a mapiprop.ErrorCode, else ecError).
	Execute(ctx context.Context, in []byte, maxRopOut int) ([]byte, error)
	// Close releases the session's objects. It may be called while an
	// Execute runs and then waits for it.
	Close()
}

// EventSource is implemented by ROP sessions that queue notifications
// (MS-OXCNOTIF). NotificationWait answers EventPending as soon as
// WaitEvents returns true; without it NotificationWait always ends with
// no events after its wait.
type EventSource interface {
	// WaitEvents blocks until notifications are queued for the session
	// (true) or ctx ends (false).
	WaitEvents(ctx context.Context) bool
}

// ConnectInfo is what a Connect request tells about the client.
type ConnectInfo struct {
	UserDN            string
	CodePage          uint32 // DefaultCodePage: for PtypString8 values
	LcidSort          uint32
	LcidString        uint32
	ClientApplication string // X-ClientApplication, e.g. "Outlook/16.0.17928.20114"
}

// Throttle is the shared authentication throttle (*throttle.Throttle).
type Throttle interface {
	Allow(ip netip.Addr, login string) (ok bool, retryAfter time.Duration)
	Fail(ip netip.Addr, login, password string)
	Succeed(ip netip.Addr, login string)
}

// Options configure a Server.
type Options struct {
	// Directory authenticates Basic credentials and resolves addresses.
	// Required.
	Directory directory.Directory
	// Store provides each account's mailbox GUID (the MailboxId of the
	// endpoint URLs). Required.
	Store *storage.Store
	// NewROPSession makes the ROP session of a new session context, bound
	// to the authenticated account. Required.
	NewROPSession func(ctx context.Context, acc *directory.Account, info ConnectInfo) (ROPSession, error)
	// Logger receives the door's logs; nil discards them.
	Logger *slog.Logger
	// Metrics counts authentication failures (door "mapi") and panics;
	// nil counts nothing.
	Metrics *obs.Metrics
	// Throttle refuses clients that failed to authenticate too often; nil
	// does not throttle.
	Throttle Throttle
	// ExternalURL is the public base URL (https://mail.example.com) of the
	// endpoints in Autodiscover answers. Empty derives it from each
	// request's Host and scheme, so a development server on
	// 127.0.0.1:8443 works as is.
	ExternalURL string
	// Hostname names this server (Autodiscover Server element, the
	// deployment id). Default "localhost".
	Hostname string
	// SessionIdleTimeout drops a session context without requests for
	// this long. Default 30 minutes.
	SessionIdleTimeout time.Duration
	// MaxSessionsPerUser caps the session contexts of one account; 0 means
	// no cap. Opening one more drops the least recently used idle one.
	MaxSessionsPerUser int
	// MaxBodyBytes bounds request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// PendingPeriod is the interval of PENDING keep-alives while a request
	// runs (X-PendingPeriod). Default 30 s, the spec's default
	// (MS-OXCMAPIHTTP 2.2.3.3.5).
	PendingPeriod time.Duration
	// NotificationWaitTimeout is how long a NotificationWait is held when
	// no notification comes. Default 5 minutes (MS-OXCRPC 3.3.4.1, the
	// EcDoAsyncWaitEx limit NotificationWait replaces).
	NotificationWaitTimeout time.Duration
	// Transport says which requests arrived securely (TLS, or a trusted
	// TLS-terminating proxy), who the client is, and whether plain HTTP
	// from loopback may carry credentials. Nil means a policy with no
	// trusted proxies and AllowInsecureLoopback below.
	Transport *httpguard.Policy
	// AllowInsecureLoopback accepts plain HTTP from 127.0.0.1 and ::1
	// (development and tests) when Transport is nil. Anything else must
	// come over TLS.
	AllowInsecureLoopback bool
	// ServerApplication is sent as X-ServerApplication; clients compare
	// server versions, so it names an Exchange 2016-era build. Default
	// "Exchange/15.01.2507.006".
	ServerApplication string
	// DeploymentID is the Autodiscover DeploymentId; empty derives a
	// stable one from Hostname.
	DeploymentID string
}

// Server is the MAPI/HTTP door. Mount it on the HTTP echo instance;
// Shutdown ends its sessions.
type Server struct {
	opts     Options
	log      *slog.Logger
	emsmdb   *sessionTable
	now      func() time.Time
	stop     chan struct{}
	stopOnce sync.Once
	janitor  sync.WaitGroup

	mu           sync.Mutex
	shuttingDown bool
}

// New checks opts and makes a Server. It starts a goroutine that drops
// expired session contexts; Shutdown stops it.
func New(opts Options) (*Server, error) {
	if opts.Directory == nil || opts.Store == nil || opts.NewROPSession == nil {
		return nil, errors.New("mapi: Directory, Store and NewROPSession are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.SessionIdleTimeout <= 0 {
		opts.SessionIdleTimeout = 30 * time.Minute
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.PendingPeriod <= 0 {
		opts.PendingPeriod = 30 * time.Second
	}
	if opts.NotificationWaitTimeout <= 0 {
		opts.NotificationWaitTimeout = 5 * time.Minute
	}
	if opts.ServerApplication == "" {
		opts.ServerApplication = "Exchange/15.01.2507.006"
	}
	if opts.ExternalURL != "" {
		u, err := parseBaseURL(opts.ExternalURL)
		if err != nil {
			return nil, fmt.Errorf("mapi: ExternalURL: %w", err)
		}
		opts.ExternalURL = u
	}
	if opts.Transport == nil {
		opts.Transport = &httpguard.Policy{AllowInsecureLoopback: opts.AllowInsecureLoopback}
	}
	if opts.DeploymentID == "" {
		opts.DeploymentID = deploymentID(opts.Hostname)
	}
	s := &Server{
		opts: opts,
		log:  opts.Logger.With("door", "mapi"),
		now:  time.Now,
		stop: make(chan struct{}),
	}
	s.emsmdb = newSessionTable(s, "emsmdb", opts.SessionIdleTimeout, opts.MaxSessionsPerUser)
	s.janitor.Add(1)
	go s.sweepLoop()
	return s, nil
}

// Paths of the endpoints (MS-OXCMAPIHTTP 2.2.1; the MailboxId query
// parameter is routing information for the client and ignored here).
const (
	EMSMDBPath       = "/mapi/emsmdb/"
	NSPIPath         = "/mapi/nspi/"
	AutodiscoverPath = "/autodiscover/autodiscover.xml"
	AutodiscoverJSON = "/autodiscover/autodiscover.json"
)

// Mount adds the routes to e: Autodiscover (POX and JSON, any case of the
// path), /mapi/emsmdb/, /mapi/nspi/ and the rest of /mapi/. It also adds a
// Pre middleware that rewrites the case of these paths to the canonical
// one, since clients spell them variously (/Autodiscover/Autodiscover.xml,
// /mapi/emsmdb).
func (s *Server) Mount(e *echo.Echo) {
	e.Pre(canonicalPaths)
	e.POST(AutodiscoverPath, s.autodiscoverPOX, s.recoverPanics, s.authenticate)
	e.GET(AutodiscoverPath, s.autodiscoverPOX, s.recoverPanics, s.authenticate)
	e.GET(AutodiscoverJSON+"/v1.0/:address", s.autodiscoverJSON, s.recoverPanics)
	e.GET(AutodiscoverJSON, s.autodiscoverJSON, s.recoverPanics)
	e.Any(EMSMDBPath, s.emsmdbHandler, s.recoverPanics, s.authenticate)
	e.Any(NSPIPath, s.disabledEndpoint, s.recoverPanics, s.authenticate)
	e.Any("/mapi/*", s.invalidPath, s.recoverPanics, s.authenticate)
}

// recoverPanics turns a panic in a request into a 500, logged once and
// counted in pochta_panics_total{component="mapi"}; the server goes on.
// (Work that run does on its own goroutine has its own recovery.)
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		panicked := true
		defer func() {
			if panicked {
				err = echo.NewHTTPError(http.StatusInternalServerError)
			}
		}()
		// Runs first: recovers, logs and counts.
		defer s.opts.Metrics.Recover(s.log, "mapi")
		err = next(c)
		panicked = false
		return err
	}
}

// Shutdown refuses new requests (X-ResponseCode 18, endpoint shutting
// down), wakes held NotificationWaits and closes every session context.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shuttingDown = true
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) })
	s.janitor.Wait()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.emsmdb.closeAll()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mapi: closing sessions: %w", ctx.Err())
	}
}

func (s *Server) isShuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shuttingDown
}

// sweepLoop drops expired session contexts, so a client that never comes
// back does not hold memory until it does.
func (s *Server) sweepLoop() {
	defer s.janitor.Done()
	defer s.opts.Metrics.Recover(s.log, "mapi")
	every := min(s.opts.SessionIdleTimeout/4, time.Minute)
	t := time.NewTicker(max(every, time.Second))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.emsmdb.sweep()
		}
	}
}

// canonicalPaths rewrites the case of the Autodiscover and MAPI paths
// before routing (Outlook sends /Autodiscover/Autodiscover.xml; the
// endpoints are case-insensitive on IIS).
func canonicalPaths(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		for _, canon := range []string{AutodiscoverPath, AutodiscoverJSON, EMSMDBPath, NSPIPath} {
			p, ok := canonicalPrefix(u.Path, canon)
			if !ok {
				continue
			}
			if p != u.Path {
				if u.RawPath != "" {
					if rp, ok := canonicalPrefix(u.RawPath, canon); ok {
						u.RawPath = rp
					} else {
						u.RawPath = ""
					}
				}
				u.Path = p
			}
			break
		}
		return next(c)
	}
}

// canonicalPrefix returns path with its prefix canon (compared without
// regard to case; a missing trailing slash of canon counts as present
// when nothing follows) replaced by canon.
func canonicalPrefix(path, canon string) (string, bool) {
	bare := strings.TrimSuffix(canon, "/")
	if len(path) < len(bare) || !strings.EqualFold(path[:len(bare)], bare) {
		return "", false
	}
	rest := path[len(bare):]
	switch {
	case rest == "":
		return canon, true
	case rest[0] != '/':
		return "", false // another name that merely starts the same
	case bare != canon:
		return canon + rest[1:], true
	default:
		return canon + rest, true
	}
}
