package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/obs"
)

// cookieName names the session cookie.
const cookieName = "pochta_web"

// csrfHeader carries the session's CSRF token on state-changing requests.
const csrfHeader = "X-CSRF-Token"

// backgroundHeader marks requests the application makes on its own (live
// refreshes); they do not keep an idle session alive.
const backgroundHeader = "X-Pochta-Background"

const ctxSession = "web.session"

// maxJSONBytes bounds JSON request bodies.
const maxJSONBytes = 1 << 20

func sess(c echo.Context) *webSession { return c.Get(ctxSession).(*webSession) }

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// requireSession finds the request's session and, for state-changing
// methods, checks its CSRF token. It also notices, every few minutes, an
// account that was disabled or removed since sign-in.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var ws *webSession
		if ck, err := c.Cookie(cookieName); err == nil {
			if !s.credentialsAllowed(c) {
				return errTLSRequired
			}
			ws = s.sessions.get(ck.Value)
		}
		if ws == nil {
			return errUnauthorized
		}
		req := c.Request()
		if unsafeMethod(req.Method) && !ws.csrfOK(req.Header.Get(csrfHeader)) {
			return errBadCSRF
		}
		now := s.opts.Now()
		if ws.dueForCheck(now) {
			acct, err := s.opts.Directory.Account(req.Context(), ws.AccountID)
			switch {
			case errors.Is(err, directory.ErrNotFound) || (err == nil && acct.Disabled):
				s.sessions.removeAccount(ws.AccountID)
				return errUnauthorized
			case err != nil:
				// The directory is down: keep the session, ask again later.
				s.log.Warn("rechecking a webmail session's account", "account", ws.AccountID, "err", err)
			}
		}
		if req.Header.Get(backgroundHeader) == "" {
			ws.touch(now)
		}
		c.Set(ctxSession, ws)
		return next(c)
	}
}

func (s *Server) secure(c echo.Context) bool {
	return s.opts.SecureCookies || s.opts.Transport.Secure(c.Request())
}

func (s *Server) setCookie(c echo.Context, value string, remove bool) {
	ck := &http.Cookie{
		Name: cookieName, Value: value, Path: "/",
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteStrictMode,
	}
	if remove {
		ck.MaxAge = -1
	}
	c.SetCookie(ck)
}

// sameOrigin refuses requests another site's page made: an Origin header
// naming another host, or a browser's Sec-Fetch-Site saying cross-site.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}

// decodeJSON reads a JSON request body into v. It insists on the JSON
// media type: a cross-site page can post a form without asking, but not
// JSON.
func decodeJSON(c echo.Context, v any) error {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != echo.MIMEApplicationJSON {
		return problem(http.StatusUnsupportedMediaType, "media-type", "send the request body as application/json")
	}
	body := http.MaxBytesReader(c.Response(), c.Request().Body, maxJSONBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("the body is not valid JSON for this request: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body has data after its JSON value")
	}
	return nil
}

type accountJSON struct {
	ID      int64  `json:"id"`
	Address string `json:"address"`
	Name    string `json:"name"`
}

type sessionJSON struct {
	Account accountJSON `json:"account"`
	// CSRF is the token every state-changing request must send in the
	// X-CSRF-Token header.
	CSRF string `json:"csrf"`
	// Addresses are those the user may send as, primary first.
	Addresses []string `json:"addresses"`
	// MaxMessageBytes bounds a composed message with its attachments.
	MaxMessageBytes int64 `json:"max_message_bytes"`
}

func (s *Server) sessionBody(c echo.Context, ws *webSession) sessionJSON {
	addrs, err := s.opts.Directory.Addresses(c.Request().Context(), ws.AccountID)
	if err != nil || len(addrs) == 0 {
		addrs = []string{ws.Address}
	}
	return sessionJSON{
		Account:   accountJSON{ID: ws.AccountID, Address: ws.Address, Name: ws.DisplayName},
		CSRF:      ws.CSRF,
		Addresses: addrs, MaxMessageBytes: s.opts.MaxMessageBytes,
	}
}

// login checks a login and password and opens a session.
func (s *Server) login(c echo.Context) error {
	if !sameOrigin(c.Request()) {
		return problem(http.StatusForbidden, "cross-origin", "sign-in from another site is refused")
	}
	if !s.credentialsAllowed(c) {
		return errTLSRequired
	}
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	login := strings.TrimSpace(req.Login)
	if login == "" {
		return invalid("login", "enter your address or user name")
	}
	if req.Password == "" {
		return invalid("password", "enter your password")
	}
	ip := s.clientIP(c)
	if s.opts.Throttle != nil {
		if ok, wait := s.opts.Throttle.Allow(ip, login); !ok {
			p := problem(http.StatusTooManyRequests, "throttled", "too many failed sign-ins; try again later")
			p.retryAfter = max(wait, time.Second)
			return p
		}
	}
	ctx := c.Request().Context()
	acct, err := s.opts.Directory.Authenticate(ctx, login, req.Password)
	if errors.Is(err, directory.ErrAuthFailed) {
		if s.opts.Throttle != nil {
			s.opts.Throttle.Fail(ip, login, req.Password)
		}
		s.opts.Metrics.AuthFailed(obs.DoorWebmail)
		s.log.Info("webmail sign-in failed", "login", login, "remote", ip.String())
		return problem(http.StatusUnauthorized, "auth-failed", "wrong login or password")
	}
	if err != nil {
		return err
	}
	if s.opts.Throttle != nil {
		s.opts.Throttle.Succeed(ip, login)
	}
	// LDAP users get their mailbox on first sign-in.
	if err := s.opts.Store.EnsureMailbox(ctx, acct.ID); err != nil {
		return err
	}
	name := acct.DisplayName
	token, ws := s.sessions.create(acct.ID, acct.Address, name)
	s.setCookie(c, token, false)
	s.log.Info("webmail sign-in", "account", acct.ID, "remote", ip.String())
	return c.JSON(http.StatusOK, s.sessionBody(c, ws))
}

// sessionInfo tells a reloaded page who is signed in and its CSRF token
// (same-origin only: another site cannot read the answer).
func (s *Server) sessionInfo(c echo.Context) error {
	return c.JSON(http.StatusOK, s.sessionBody(c, sess(c)))
}

func (s *Server) logout(c echo.Context) error {
	s.sessions.remove(sess(c))
	s.setCookie(c, "", true)
	return c.NoContent(http.StatusNoContent)
}
