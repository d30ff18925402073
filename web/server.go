// Package web is Pochta's webmail: a single-page application served at "/"
// by the HTTP door (its HTML, CSS and JavaScript modules are embedded with
// go:embed and need no build step), talking to JSON endpoints of its own
// under /web/api over the store.
//
// Sign-in checks the account's password through the directory (local or
// LDAP), through the shared authentication throttle, and opens a
// server-side session named by an HttpOnly, SameSite=Strict cookie (Secure
// on HTTPS). Passwords and session cookies are taken only over HTTPS (or
// from a trusted TLS-terminating proxy; plain HTTP from loopback only with
// the development switch): see Options.Transport. Sessions live in this process's memory: one node keeps them,
// a restart signs everyone out, and several nodes behind a load balancer
// need sticky sessions. Every state-changing request must carry the
// session's CSRF token in the X-CSRF-Token header.
//
// Every query is scoped to the session's account: another account's
// message, folder or attachment id is "not found", exactly like an id that
// does not exist. Errors are RFC 9457 problem documents; a directory or
// store that cannot answer gives 503.
//
// Reading mail never runs a script of the message and loads nothing remote
// until the reader allows it: HTML is sanitised with bluemonday, remote
// images are replaced by a placeholder, inline (cid:) images are embedded
// as data: URIs, and the result is served as its own document for a
// sandboxed iframe under a Content-Security-Policy that allows no script,
// no connection and images only from data: (and from the web only after
// the reader said so). The application itself runs under a strict CSP.
//
// Sending goes down the one ingest path, delivery.Send (local and remote
// recipients, the Sent Items copy, DSNs); drafts are stored in Drafts
// through delivery.Ingest. Live updates are server-sent events fed by the
// store's change feed.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/microcosm-cc/bluemonday"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// APIPrefix is where the webmail's JSON endpoints live.
const APIPrefix = "/web/api"

// Throttle is the shared authentication throttle (*throttle.Throttle).
type Throttle interface {
	Allow(ip netip.Addr, login string) (ok bool, retryAfter time.Duration)
	Fail(ip netip.Addr, login, password string)
	Succeed(ip netip.Addr, login string)
}

// Options configure a Server.
type Options struct {
	// Store holds the mailboxes. Required.
	Store *storage.Store
	// Directory authenticates sign-ins, lists the addresses a user may send
	// as and answers the global address list. Required.
	Directory directory.Directory
	// Deliverer sends mail and stores drafts. Required.
	Deliverer *delivery.Deliverer
	// Logger receives the webmail's logs; nil discards them.
	Logger *slog.Logger
	// Metrics counts failed sign-ins (door "webmail") and panics; nil counts
	// nothing.
	Metrics *obs.Metrics
	// Throttle refuses sign-ins from addresses and for accounts that failed
	// too often; nil does not throttle.
	Throttle Throttle
	// Hostname is the right-hand side of the Message-IDs of composed mail;
	// "" means "localhost".
	Hostname string
	// SessionIdleTimeout ends a session after this long without a request
	// the user made (live updates do not count); 0 means 2 hours.
	SessionIdleTimeout time.Duration
	// SessionLifetime ends a session this long after sign-in whatever its
	// use; 0 means 24 hours.
	SessionLifetime time.Duration
	// SecureCookies marks the session cookie Secure on every response, for
	// a server behind a TLS-terminating proxy. Without it the cookie is
	// Secure when the request came over TLS.
	SecureCookies bool
	// MaxMessageBytes bounds a composed message with its attachments (and
	// so the upload of a send or draft request); 0 means 25 MiB.
	MaxMessageBytes int64
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Transport says which requests arrived securely (TLS, or a trusted
	// TLS-terminating proxy) and who the client is. A sign-in or a session
	// cookie on a request that did not arrive securely is refused
	// (tls-required) unless the policy's loopback development switch
	// covers it. Nil means TLS only, no trusted proxies.
	Transport *httpguard.Policy
}

// Server is the webmail. It has no listener of its own: Mount adds its
// routes to the HTTP door's echo instance.
type Server struct {
	opts     Options
	log      *slog.Logger
	sessions *sessionStore
	policy   *bluemonday.Policy
	assets   *assetSet

	// ctx ends at Shutdown; live-update streams watch it.
	ctx     context.Context
	cancel  context.CancelFunc
	streams sync.WaitGroup
}

// New checks opts and makes a Server.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Directory == nil || opts.Deliverer == nil {
		return nil, errors.New("web: Store, Directory and Deliverer are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.SessionIdleTimeout <= 0 {
		opts.SessionIdleTimeout = 2 * time.Hour
	}
	if opts.SessionLifetime <= 0 {
		opts.SessionLifetime = 24 * time.Hour
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 25 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger.With("component", "web"),
		sessions: newSessionStore(opts.SessionIdleTimeout, opts.SessionLifetime, opts.Now),
		policy:   newPolicy(),
		assets:   assets,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Shutdown ends the live-update streams (an HTTP server's own Shutdown
// would wait for them forever) and waits for them until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	done := make(chan struct{})
	go func() { s.streams.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// access says what a route needs.
type access int

const (
	public  access = iota // no session (sign-in)
	session               // a signed-in session
)

type route struct {
	method, path string
	access       access
	handler      echo.HandlerFunc
}

func (s *Server) routes() []route {
	return []route{
		{http.MethodPost, "/login", public, s.login},
		{http.MethodGet, "/session", session, s.sessionInfo},
		{http.MethodPost, "/logout", session, s.logout},

		{http.MethodGet, "/folders", session, s.listFolders},
		{http.MethodPost, "/folders", session, s.createFolder},
		{http.MethodPatch, "/folders/:folder", session, s.renameFolder},
		{http.MethodDelete, "/folders/:folder", session, s.deleteFolder},
		{http.MethodGet, "/folders/:folder/messages", session, s.listMessages},

		{http.MethodGet, "/messages/:message", session, s.getMessage},
		{http.MethodGet, "/messages/:message/body", session, s.messageBody},
		{http.MethodGet, "/messages/:message/parts/:part", session, s.downloadPart},
		{http.MethodGet, "/messages/:message/raw", session, s.downloadRaw},
		{http.MethodGet, "/messages/:message/thread", session, s.thread},
		{http.MethodGet, "/messages/:message/compose", session, s.composeFrom},
		{http.MethodPost, "/messages/flags", session, s.setFlags},
		{http.MethodPost, "/messages/move", session, s.moveMessages},
		{http.MethodPost, "/messages/copy", session, s.copyMessages},
		{http.MethodPost, "/messages/delete", session, s.deleteMessages},

		{http.MethodGet, "/search", session, s.search},
		{http.MethodGet, "/recipients", session, s.recipients},
		{http.MethodPost, "/send", session, s.send},
		{http.MethodPost, "/drafts", session, s.saveDraft},
		{http.MethodGet, "/events", session, s.events},
	}
}

// Mount adds the webmail to e: the application at "/", its assets under
// /web/assets/ and the JSON endpoints under APIPrefix.
func (s *Server) Mount(e *echo.Echo) {
	e.GET("/", s.index)
	e.HEAD("/", s.index)
	e.GET("/web", s.redirectIndex)
	e.GET("/web/", s.redirectIndex)
	e.GET("/web/assets/*", s.asset)
	e.HEAD("/web/assets/*", s.asset)
	g := e.Group(APIPrefix)
	g.Use(s.observe)
	methods := map[string][]string{}
	var paths []string
	for _, r := range s.routes() {
		var mw []echo.MiddlewareFunc
		if r.access == session {
			mw = append(mw, s.requireSession)
		}
		g.Add(r.method, r.path, r.handler, mw...)
		if methods[r.path] == nil {
			paths = append(paths, r.path)
		}
		methods[r.path] = append(methods[r.path], r.method)
	}
	// Echo answers a wrong method outside the group's middleware; a handler
	// for each other method keeps those answers problem documents.
	for _, path := range paths {
		allow := strings.Join(methods[path], ", ")
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if !slices.Contains(methods[path], m) {
				g.Add(m, path, func(c echo.Context) error {
					c.Response().Header().Set("Allow", allow)
					return problem(http.StatusMethodNotAllowed, "method-not-allowed", "use %s", allow)
				})
			}
		}
	}
}

// observe turns errors and panics of the API into problem documents, sets
// the headers every API answer carries and logs failures.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		var err error
		func() {
			panicked := true
			defer func() {
				if panicked {
					err = errInternal
				}
			}()
			defer s.opts.Metrics.Recover(s.log, "web")
			err = next(c)
			panicked = false
		}()
		if err == nil {
			return nil
		}
		p := s.toProblem(c, err)
		if p.Status >= 500 {
			s.log.Error("webmail request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "status", p.Status, "err", err)
		} else {
			s.log.Debug("webmail request refused", "method", c.Request().Method, "path", c.Request().URL.Path, "status", p.Status, "err", err)
		}
		if !c.Response().Committed {
			return p.write(c)
		}
		return nil
	}
}

// clientIP is the address failures are counted against: the TCP peer, or
// the client a trusted proxy names (httpguard.Policy.ClientIP). echo's
// default RealIP would believe X-Forwarded-For from anyone.
func (s *Server) clientIP(c echo.Context) netip.Addr {
	return s.opts.Transport.ClientIP(c.Request())
}

// errTLSRequired refuses a password or session cookie that did not arrive
// over HTTPS; it is answered before they are looked at.
var errTLSRequired = problem(http.StatusForbidden, "tls-required",
	"sign-in and sessions need HTTPS: open this page at its https:// address")

// credentialsAllowed is the transport policy's verdict on c's request.
func (s *Server) credentialsAllowed(c echo.Context) bool {
	return s.opts.Transport.CredentialsAllowed(c.Request())
}
