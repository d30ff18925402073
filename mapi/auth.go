package mapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/httpguard"
)

// Authentication is HTTP Basic on every request (MS-OXCMAPIHTTP 2.1), over
// TLS: the password travels with each request, so a request that did not
// arrive securely (TLS here, or a trusted proxy that terminated it) is
// refused unless it comes from a loopback client and the development
// switch is on (Options.Transport). The user name is an e-mail address
// (UPN style) or DOMAIN\user; see loginName.

// authRealm is offered in WWW-Authenticate.
const authRealm = `Basic realm="Pochta", charset="UTF-8"`

// ctxAccount is the echo context key of the authenticated account.
const ctxAccount = "mapi.account"

// accountOf returns the account authenticate stored.
func accountOf(c echo.Context) *directory.Account {
	a, _ := c.Get(ctxAccount).(*directory.Account)
	return a
}

// clientIPKey holds, in the request's context, the client address
// authenticate resolved, for the handlers' log lines.
type clientIPKey struct{}

// clientIP is the address the throttle counts against and the logs name:
// the TCP peer, or the client a trusted proxy names
// (httpguard.Policy.ClientIP), as authenticate resolved it. Forwarded
// headers from anyone else are not believed: they would let a client pick
// its own throttle bucket.
func clientIP(r *http.Request) netip.Addr {
	if ip, ok := r.Context().Value(clientIPKey{}).(netip.Addr); ok {
		return ip
	}
	return (*httpguard.Policy)(nil).ClientIP(r)
}

// loginName maps a Basic user name to a directory login. An address is
// used as is. DOMAIN\user (what Windows clients send with a domain) becomes
// user@DOMAIN when DOMAIN is a DNS name and stays the bare user name
// otherwise (a NetBIOS domain; directories that know bare logins, such as
// LDAP with sAMAccountName, accept it).
func loginName(user string) string {
	user = strings.TrimSpace(user)
	domain, name, ok := strings.Cut(user, `\`)
	if !ok || name == "" || strings.Contains(domain, "@") {
		return user // not DOMAIN\user: left for the directory to refuse
	}
	if strings.Contains(name, "@") || !strings.Contains(domain, ".") {
		return name
	}
	return name + "@" + domain
}

// parseBasic returns the credentials of an "Authorization: Basic" header.
func parseBasic(header string) (user, password string, ok bool) {
	scheme, value, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return "", "", false
	}
	return user, password, true
}

// authenticate is the middleware in front of every route but the JSON
// Autodiscover (which is anonymous by design and reveals only a URL).
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ip := s.opts.Transport.ClientIP(r)
		r = r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip))
		c.SetRequest(r)
		if !s.opts.Transport.CredentialsAllowed(r) {
			// Credentials must not cross the network in clear; refuse before
			// looking at them.
			return c.String(http.StatusForbidden, "MAPI over HTTP and Autodiscover need HTTPS\n")
		}
		header := r.Header.Get(echo.HeaderAuthorization)
		if header == "" {
			return s.challenge(c, "authentication required")
		}
		user, password, ok := parseBasic(header)
		login := loginName(user)
		if s.opts.Throttle != nil {
			if allowed, wait := s.opts.Throttle.Allow(ip, login); !allowed {
				s.log.Info("MAPI login refused by the throttle", "ip", ip.String(), "login", login)
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(max(wait, time.Second).Seconds())))
				return c.String(http.StatusTooManyRequests, "too many failed logins; retry later\n")
			}
		}
		var acc *directory.Account
		err := directory.ErrAuthFailed
		if ok {
			acc, err = s.opts.Directory.Authenticate(r.Context(), login, password)
		}
		switch {
		case err == nil:
		case errors.Is(err, directory.ErrAuthFailed):
			if s.opts.Throttle != nil {
				s.opts.Throttle.Fail(ip, login, password)
			}
			s.opts.Metrics.AuthFailed("mapi")
			s.log.Info("MAPI login failed", "ip", ip.String(), "login", login)
			return s.challenge(c, "wrong user name or password")
		default:
			// ErrUnavailable or a store error: temporary, never "wrong
			// password" (the client would ask the user again).
			s.log.Warn("MAPI login: directory unavailable", "ip", ip.String(), "err", err)
			c.Response().Header().Set("Retry-After", "30")
			return c.String(http.StatusServiceUnavailable, "directory temporarily unavailable\n")
		}
		if s.opts.Throttle != nil {
			s.opts.Throttle.Succeed(ip, login)
		}
		c.Set(ctxAccount, acc)
		return next(c)
	}
}

// challenge answers 401 with the Basic challenge. On the MAPI endpoints
// X-ResponseCode 8 (anonymous not allowed) says the same to clients that
// only read that header.
func (s *Server) challenge(c echo.Context, text string) error {
	h := c.Response().Header()
	h.Set(echo.HeaderWWWAuthenticate, authRealm)
	if strings.HasPrefix(c.Request().URL.Path, "/mapi/") {
		setHeader(h, HeaderResponseCode, strconv.Itoa(int(CodeAnonymousNotAllowed)))
	}
	return c.String(http.StatusUnauthorized, text+"\n")
}
