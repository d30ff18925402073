// Package api is the REST admin API under /api/v1 on the HTTP listeners:
// accounts, domains, aliases, local groups, mailbox statistics, the
// outbound queue, the message trace and server status, for provisioning
// scripts and monitoring.
//
// Authentication is by API token only (directory.Local keeps them, hashed;
// "pochta token create" makes them): "Authorization: Bearer TOKEN"
// (RFC 6750), over HTTPS (or a trusted TLS-terminating proxy; plain HTTP
// from loopback only with the development switch). A token's scope is admin or read; a read token gets 403 on
// every route that changes something. Failed authentications go through
// the shared throttle, so the API is no easier to guess passwords at than
// IMAP. Every request is logged once, with its request id (also sent as
// X-Request-Id and in every problem) and its outcome.
//
// Errors are RFC 9457 problem details (application/problem+json) with a
// stable type from the catalogue in problem.go. The OpenAPI 3 document
// describing every route is openapi.json in this folder, embedded and served
// at /api/v1/openapi.json; tests check the live routes and responses
// against it.
//
// Accounts of an external directory (Source other than "local", i.e. LDAP)
// are read-only here except for their quota, which belongs to the store.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Throttle is the shared authentication throttle (*throttle.Throttle).
type Throttle interface {
	Allow(ip netip.Addr, login string) (ok bool, retryAfter time.Duration)
	Fail(ip netip.Addr, login, password string)
	Succeed(ip netip.Addr, login string)
}

// Listener names one listening socket for the status resource.
type Listener struct {
	Name    string `json:"name"`    // "smtp", "imaps", "https", …
	Address string `json:"address"` // host:port
}

// Options configure a Server.
type Options struct {
	// Store holds mailboxes and the queue. Required.
	Store *storage.Store
	// Local keeps accounts, domains, aliases, groups and API tokens. Required.
	Local *directory.Local
	// Directory is what the doors ask (Local, LDAP or a chain); the status
	// resource reports its health. Nil means Local.
	Directory directory.Directory
	// DirectoryKind is the configured directory: "local" (default), "ldap"
	// (accounts come only from LDAP, so the API creates none) or
	// "ldap+local" (LDAP people plus local service accounts).
	DirectoryKind string
	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
	// Metrics counts authentication failures (door "api") and panics; nil
	// counts nothing.
	Metrics *obs.Metrics
	// Throttle refuses clients that failed to authenticate too often; nil
	// does not throttle.
	Throttle Throttle
	// Version and Started are reported by the status resource.
	Version string
	Started time.Time
	// Listeners are reported by the status resource.
	Listeners []Listener
	// MinPasswordLength is the shortest password the API sets; 0 means 8.
	MinPasswordLength int
	// MaxBodyBytes bounds request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	// Transport says which requests arrived securely (TLS, or a trusted
	// TLS-terminating proxy) and who the client is. A token on a request
	// that did not arrive securely is refused (tls-required) unless the
	// policy's loopback development switch covers it. Nil means TLS only,
	// no trusted proxies.
	Transport *httpguard.Policy
}

// Server is the REST admin API. It has no listener of its own: Mount adds
// its routes to the HTTP door's echo instance.
type Server struct {
	opts Options
	log  *slog.Logger
	// tokens checks bearer tokens: opts.Local, or a test's stand-in.
	tokens tokenVerifier
}

type tokenVerifier interface {
	VerifyAPIToken(ctx context.Context, token string) (*directory.APIToken, error)
}

// New checks opts and makes a Server.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Local == nil {
		return nil, errors.New("api: Store and Local are required")
	}
	if opts.Directory == nil {
		opts.Directory = opts.Local
	}
	switch opts.DirectoryKind {
	case "":
		opts.DirectoryKind = "local"
	case "local", "ldap", "ldap+local":
	default:
		return nil, fmt.Errorf("api: unknown directory kind %q", opts.DirectoryKind)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	if opts.MinPasswordLength <= 0 {
		opts.MinPasswordLength = 8
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	return &Server{opts: opts, log: opts.Logger.With("component", "api"), tokens: opts.Local}, nil
}

// access says who may call a route.
type access int

const (
	public access = iota // no token (the OpenAPI document, problem descriptions)
	readScope
	adminScope
)

type route struct {
	method, path string
	access       access
	handler      echo.HandlerFunc
}

// routes is the whole API. The OpenAPI document describes exactly these;
// a test compares them.
func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/openapi.json", public, s.openAPI},
		{http.MethodGet, "/problems/:type", public, s.problemType},
		{http.MethodGet, "/status", readScope, s.status},

		{http.MethodGet, "/accounts", readScope, s.listAccounts},
		{http.MethodPost, "/accounts", adminScope, s.createAccount},
		{http.MethodGet, "/accounts/:account", readScope, s.getAccount},
		{http.MethodPatch, "/accounts/:account", adminScope, s.updateAccount},
		{http.MethodDelete, "/accounts/:account", adminScope, s.deleteAccount},
		{http.MethodPut, "/accounts/:account/password", adminScope, s.setPassword},
		{http.MethodPut, "/accounts/:account/quota", adminScope, s.setQuota},
		{http.MethodPost, "/accounts/:account/disable", adminScope, s.disableAccount},
		{http.MethodPost, "/accounts/:account/enable", adminScope, s.enableAccount},
		{http.MethodGet, "/accounts/:account/mailbox", readScope, s.mailboxStats},

		{http.MethodGet, "/domains", readScope, s.listDomains},
		{http.MethodPost, "/domains", adminScope, s.createDomain},
		{http.MethodDelete, "/domains/:domain", adminScope, s.deleteDomain},

		{http.MethodGet, "/aliases", readScope, s.listAliases},
		{http.MethodPost, "/aliases", adminScope, s.createAlias},
		{http.MethodDelete, "/aliases/:alias", adminScope, s.deleteAlias},

		{http.MethodGet, "/groups", readScope, s.listGroups},
		{http.MethodPost, "/groups", adminScope, s.createGroup},
		{http.MethodGet, "/groups/:group", readScope, s.getGroup},
		{http.MethodDelete, "/groups/:group", adminScope, s.deleteGroup},
		{http.MethodPost, "/groups/:group/members", adminScope, s.addGroupMember},
		{http.MethodDelete, "/groups/:group/members/:member", adminScope, s.removeGroupMember},

		{http.MethodGet, "/queue", readScope, s.listQueue},
		{http.MethodGet, "/queue/:id", readScope, s.getQueued},
		{http.MethodPost, "/queue/:id/retry", adminScope, s.retryQueued},
		{http.MethodDelete, "/queue/:id", adminScope, s.deleteQueued},

		{http.MethodGet, "/trace", readScope, s.trace},
	}
}

// Mount adds the API's routes under Prefix to e. The group's middleware
// also answers unknown paths below Prefix with a problem.
func (s *Server) Mount(e *echo.Echo) {
	g := e.Group(Prefix)
	g.Use(s.observe)
	routes := s.routes()
	methods := map[string][]string{}
	for _, r := range routes {
		var mw []echo.MiddlewareFunc
		if r.access != public {
			mw = append(mw, s.authenticate, s.requireScope(r.access))
		}
		g.Add(r.method, r.path, r.handler, mw...)
		methods[r.path] = append(methods[r.path], r.method)
	}
	// Echo answers a wrong method outside group middleware, as plain JSON;
	// a handler per unsupported method keeps 405s problem documents.
	for path, ms := range methods {
		allow := strings.Join(ms, ", ")
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if !contains(ms, m) {
				g.Add(m, path, s.methodNotAllowed(allow))
			}
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) methodNotAllowed(allow string) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := problemf(ptMethodNotAllowed, "%s is not supported here; use %s", c.Request().Method, allow)
		p.allow = allow
		return p
	}
}

// Context keys.
const (
	ctxRequestID = "api.request_id"
	ctxToken     = "api.token"
)

func newRequestID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "unknown"
	}
	return hex.EncodeToString(b[:])
}

// observe gives each request an id, turns errors and panics into problem
// documents, and logs the request once with its outcome.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		id := newRequestID()
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		var prob *Problem
		func() {
			panicked := true
			defer func() {
				if panicked {
					prob = newProblem(ptInternal, "the server failed; see its log for this request id")
				}
			}()
			defer s.opts.Metrics.Recover(s.log.With("request_id", id), "api")
			if err := next(c); err != nil {
				prob = toProblem(err)
			}
			panicked = false
		}()
		if prob != nil {
			prob.RequestID = id
			prob.Instance = c.Request().URL.Path
			if !c.Response().Committed {
				if err := writeProblem(c, prob); err != nil {
					s.log.Debug("writing problem", "request_id", id, "err", err)
				}
			}
		}
		s.logRequest(c, id, start, prob)
		return nil
	}
}

func (s *Server) logRequest(c echo.Context, id string, start time.Time, prob *Problem) {
	attrs := []any{
		"request_id", id,
		"method", c.Request().Method,
		"path", c.Request().URL.Path,
		"route", c.Path(),
		"status", c.Response().Status,
		"remote", c.Request().RemoteAddr,
		"duration", time.Since(start).Round(time.Microsecond),
	}
	if t, ok := c.Get(ctxToken).(*directory.APIToken); ok {
		attrs = append(attrs, "token", t.Name)
	}
	level := slog.LevelInfo
	if prob != nil {
		attrs = append(attrs, "problem", strings.TrimPrefix(prob.Type, ProblemBase))
		if prob.cause != nil {
			attrs = append(attrs, "err", prob.cause.Error())
		}
		if prob.Status >= 500 {
			level = slog.LevelError
		}
	}
	s.log.Log(c.Request().Context(), level, "api request", attrs...)
}

// clientIP is the address failures are counted against: the TCP peer, or
// the client a trusted proxy names (httpguard.Policy.ClientIP). echo's
// default RealIP believes X-Forwarded-For from anyone, which would let a
// client pick its own throttle bucket.
func (s *Server) clientIP(c echo.Context) netip.Addr {
	return s.opts.Transport.ClientIP(c.Request())
}

// bearerToken extracts the token of an "Authorization: Bearer" header
// (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110 §11.1).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", false
	}
	return token, true
}

const authRealm = `Bearer realm="pochta-api"`

// authenticate checks the bearer token, through the throttle.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		header := c.Request().Header.Get(echo.HeaderAuthorization)
		if header == "" {
			p := newProblem(ptUnauthenticated, "no API token: send \"Authorization: Bearer TOKEN\"")
			p.authenticate = authRealm
			return p
		}
		if !s.opts.Transport.CredentialsAllowed(c.Request()) {
			// Refused before the token is looked at: it has crossed the
			// network in clear already, but is not confirmed either way.
			return newProblem(ptTLSRequired, "API tokens are accepted only over HTTPS")
		}
		ip := s.clientIP(c)
		token, ok := bearerToken(header)
		login := "api-token:"
		if ok {
			if keyID, _, parsed := directory.ParseAPIToken(token); parsed {
				login += keyID
			}
		}
		if s.opts.Throttle != nil {
			if allowed, wait := s.opts.Throttle.Allow(ip, login); !allowed {
				p := newProblem(ptTooManyRequests, "too many failed authentications from this address; retry later")
				p.retryAfter = max(wait, time.Second)
				return p
			}
		}
		var t *directory.APIToken
		var err error
		if ok {
			t, err = s.tokens.VerifyAPIToken(c.Request().Context(), token)
		} else {
			err = directory.ErrAuthFailed
		}
		if errors.Is(err, directory.ErrAuthFailed) {
			if s.opts.Throttle != nil {
				s.opts.Throttle.Fail(ip, login, header)
			}
			s.opts.Metrics.AuthFailed("api")
			p := newProblem(ptInvalidToken, "the API token is malformed, unknown or revoked")
			p.authenticate = authRealm + `, error="invalid_token"`
			return p
		}
		if err != nil {
			return err
		}
		if s.opts.Throttle != nil {
			s.opts.Throttle.Succeed(ip, login)
		}
		c.Set(ctxToken, t)
		return next(c)
	}
}

// requireScope refuses tokens whose scope does not cover the route.
func (s *Server) requireScope(need access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			t, _ := c.Get(ctxToken).(*directory.APIToken)
			if t == nil {
				return newProblem(ptUnauthenticated, "no API token")
			}
			if need == adminScope && t.Scope != directory.ScopeAdmin {
				p := problemf(ptInsufficientScope, "token %q has scope %q; this request needs %q", t.Name, t.Scope, directory.ScopeAdmin)
				p.authenticate = authRealm + `, error="insufficient_scope", scope="admin"`
				return p
			}
			return next(c)
		}
	}
}

// problemType describes one problem type of the catalogue.
func (s *Server) problemType(c echo.Context) error {
	slug := c.Param("type")
	for _, t := range ProblemTypes {
		if t.Slug == slug {
			return c.JSON(http.StatusOK, struct {
				Type string `json:"type"`
				ProblemType
			}{t.URI(), t})
		}
	}
	return problemf(ptNotFound, "no problem type %q", slug)
}

// status reports version, uptime, listeners and the health of the store
// and the directory. It answers 200 even when a part is unhealthy: the
// body says which (/readyz is the probe that fails).
func (s *Server) status(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	type part struct {
		Backend string `json:"backend,omitempty"`
		Kind    string `json:"kind,omitempty"`
		Healthy bool   `json:"healthy"`
		Error   string `json:"error,omitempty"`
	}
	store := part{Backend: s.opts.Store.Driver(), Healthy: true}
	if err := s.opts.Store.Ping(ctx); err != nil {
		store.Healthy, store.Error = false, err.Error()
	}
	dir := part{Kind: s.opts.DirectoryKind, Healthy: true}
	if err := s.opts.Directory.Health(ctx); err != nil {
		dir.Healthy, dir.Error = false, err.Error()
	}
	listeners := s.opts.Listeners
	if listeners == nil {
		listeners = []Listener{}
	}
	now := time.Now()
	return c.JSON(http.StatusOK, map[string]any{
		"version":        s.opts.Version,
		"started_at":     s.opts.Started.UTC().Format(time.RFC3339),
		"uptime_seconds": int64(now.Sub(s.opts.Started) / time.Second),
		"listeners":      listeners,
		"store":          store,
		"directory":      dir,
	})
}
