package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/internal/throttle"
	"github.com/pochta/pochta/storage"
)

// TestRoutesMatchDocument: the routes echo has are exactly the document's
// operations, and each route's scope is the one the document states.
func TestRoutesMatchDocument(t *testing.T) {
	env := testenv.New(t)
	s, err := New(Options{Store: env.Store, Local: env.Dir})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	s.Mount(e)
	var live []string
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || strings.Contains(r.Name, "methodNotAllowed") {
			continue
		}
		path, ok := strings.CutPrefix(r.Path, Prefix)
		if !ok {
			t.Errorf("route %s %s outside %s", r.Method, r.Path, Prefix)
			continue
		}
		segs := strings.Split(path, "/")
		for i, seg := range segs {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				segs[i] = "{" + name + "}"
			}
		}
		live = append(live, r.Method+" "+strings.Join(segs, "/"))
	}
	slices.Sort(live)
	documented := operations(t)
	for _, op := range live {
		if !slices.Contains(documented, op) {
			t.Errorf("route %s is missing from openapi.json", op)
		}
	}
	for _, op := range documented {
		if !slices.Contains(live, op) {
			t.Errorf("openapi.json documents %s, which the server does not have", op)
		}
	}
	names := map[access]string{public: "public", readScope: "read", adminScope: "admin"}
	for _, r := range s.routes() {
		path := r.path
		for _, seg := range strings.Split(path, "/") {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				path = strings.Replace(path, seg, "{"+name+"}", 1)
			}
		}
		if got := opScope(t, r.method, path); got != names[r.access] {
			t.Errorf("%s %s: document says scope %q, server enforces %q", r.method, path, got, names[r.access])
		}
	}
}

func authFailures(t *testing.T, m *obs.Metrics) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.AuthFailures.WithLabelValues("api").Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue()
}

// TestThrottle: failed token checks go through the shared throttle; once
// the address is over its limit it gets 429 with Retry-After, even with a
// good token, and the failures are counted for the api door.
func TestThrottle(t *testing.T) {
	th := throttle.New(throttle.Options{IPPerMinute: 3})
	h := newHarness(t, harnessOptions{throttle: th})
	for i := 0; i < 3; i++ {
		expectProblem(t, h.do(t, http.MethodGet, "/status", fmt.Sprintf("guess-%d", i), nil), http.StatusUnauthorized, "invalid-token")
	}
	r := h.do(t, http.MethodGet, "/status", "guess-4", nil)
	expectProblem(t, r, http.StatusTooManyRequests, "too-many-requests")
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	expectProblem(t, h.do(t, http.MethodGet, "/status", h.admin, nil), http.StatusTooManyRequests, "too-many-requests")
	if n := authFailures(t, h.metrics); n != 3 {
		t.Fatalf("pochta_auth_failures_total{door=api} = %v, want 3", n)
	}
	// A request without any token is not a guess: not counted, still 401.
	expectProblem(t, h.do(t, http.MethodGet, "/status", "", nil), http.StatusUnauthorized, "unauthenticated")
}

// fakeTokens stands in for the token table: it fails with err, or accepts
// every token as an admin token.
type fakeTokens struct{ err error }

func (f fakeTokens) VerifyAPIToken(ctx context.Context, token string) (*directory.APIToken, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &directory.APIToken{Name: "fake", Scope: directory.ScopeAdmin}, nil
}

// TestUnavailable: a directory or store that cannot answer gives 503 with
// Retry-After, never 401 or 404.
func TestUnavailable(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, err := range []error{
		fmt.Errorf("%w: ldap down", directory.ErrUnavailable),
		fmt.Errorf("%w: database is locked", storage.ErrTemporary),
	} {
		h.srv.tokens = fakeTokens{err: err}
		r := h.do(t, http.MethodGet, "/accounts", h.admin, nil)
		expectProblem(t, r, http.StatusServiceUnavailable, "unavailable")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	}
}

// TestInternalError: a store failure that is not temporary is a 500 whose
// body tells nothing internal but whose request id finds the error in the
// log.
func TestInternalError(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.srv.tokens = fakeTokens{}
	if err := h.env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	r := h.do(t, http.MethodGet, "/queue", h.admin, nil)
	p := expectProblem(t, r, http.StatusInternalServerError, "internal")
	if strings.Contains(p.Detail, "sql") || strings.Contains(p.Detail, "closed") {
		t.Fatalf("internal detail leaks: %q", p.Detail)
	}
	found := false
	for _, l := range h.logs.lines() {
		if l["request_id"] == p.RequestID && l["level"] == "ERROR" && strings.Contains(fmt.Sprint(l["err"]), "closed") {
			found = true
		}
	}
	if !found {
		t.Fatal("the cause of the 500 is not in the log")
	}
}

// TestPanicRecovered: a panicking handler answers 500 as a problem, is
// counted, and the server goes on.
func TestPanicRecovered(t *testing.T) {
	env := testenv.New(t)
	m := obs.NewMetrics()
	s, err := New(Options{Store: env.Store, Local: env.Dir, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	g := e.Group(Prefix)
	g.Use(s.observe)
	g.GET("/boom", func(echo.Context) error { panic("boom") })
	g.GET("/fine", func(c echo.Context) error { return c.String(http.StatusOK, "fine") })
	for _, path := range []string{"/boom", "/fine"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Prefix+path, nil))
		if path == "/boom" && (rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != problemContentType ||
			!strings.Contains(rec.Body.String(), ProblemBase+"internal")) {
			t.Fatalf("panic answered %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if path == "/fine" && rec.Code != http.StatusOK {
			t.Fatalf("after a panic: %d", rec.Code)
		}
	}
	var out dto.Metric
	if err := m.Panics.WithLabelValues("api").Write(&out); err != nil || out.GetCounter().GetValue() != 1 {
		t.Fatalf("panics counted %v (%v)", out.GetCounter().GetValue(), err)
	}
}

// TestLDAPOnlyDirectory: with accounts only in LDAP the API creates none
// and says why.
func TestLDAPOnlyDirectory(t *testing.T) {
	h := newHarness(t, harnessOptions{directoryKind: "ldap"})
	p := expectProblem(t, h.do(t, http.MethodPost, "/accounts", h.admin, map[string]any{"address": "new@example.com", "password": "long enough"}),
		http.StatusConflict, "directory-managed")
	if !strings.Contains(p.Detail, "LDAP") {
		t.Fatalf("detail %q", p.Detail)
	}
	r := h.do(t, http.MethodGet, "/status", h.read, nil)
	expect(t, r, http.StatusOK)
	if !bytes.Contains(r.Body, []byte(`"kind":"ldap"`)) {
		t.Fatalf("status %s", r.Body)
	}
}

func TestProblemMapping(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		slug   string
	}{
		{fmt.Errorf("x: %w", directory.ErrNotFound), 404, "not-found"},
		{fmt.Errorf("x: %w", storage.ErrNotFound), 404, "not-found"},
		{fmt.Errorf("x: %w", directory.ErrExists), 409, "already-exists"},
		{fmt.Errorf("x: %w", directory.ErrReadOnly), 409, "directory-managed"},
		{fmt.Errorf("x: %w", directory.ErrInvalid), 422, "validation"},
		{fmt.Errorf("x: %w", directory.ErrUnavailable), 503, "unavailable"},
		{fmt.Errorf("x: %w", storage.ErrTemporary), 503, "unavailable"},
		{context.DeadlineExceeded, 503, "unavailable"},
		{echo.ErrNotFound, 404, "not-found"},
		{echo.ErrMethodNotAllowed, 405, "method-not-allowed"},
		{errors.New("disk on fire"), 500, "internal"},
	} {
		p := toProblem(c.err)
		if p.Status != c.status || p.Type != ProblemBase+c.slug {
			t.Errorf("%v → %d %s, want %d %s", c.err, p.Status, p.Type, c.status, c.slug)
		}
		if c.status == 500 && strings.Contains(p.Detail, "fire") {
			t.Errorf("internal detail leaks the cause: %q", p.Detail)
		}
	}
}
