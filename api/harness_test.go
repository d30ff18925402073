package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/internal/throttle"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// The OpenAPI document, loaded and validated once per test binary.
var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(OpenAPIDocument())
		if specErr != nil {
			return
		}
		if specErr = specDoc.Validate(context.Background()); specErr != nil {
			return
		}
		specRouter, specErr = gorillamux.NewRouter(specDoc)
	})
	if specErr != nil {
		t.Fatalf("openapi.json: %v", specErr)
	}
	return specDoc, specRouter
}

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(s.b.String(), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// harness is one API server on a real loopback listener, with an admin
// and a read token, validating every response against the OpenAPI
// document and recording which operations answered with which status.
type harness struct {
	env     *testenv.Env
	srv     *Server
	metrics *obs.Metrics
	logs    *syncBuffer
	base    string // http://127.0.0.1:PORT/api/v1
	admin   string
	read    string
	client  *http.Client

	mu   sync.Mutex
	seen map[string]map[int]bool // "METHOD /path/{template}" → statuses
}

type harnessOptions struct {
	postgres      bool
	directoryKind string
	throttle      Throttle
	maxBody       int64
	// transport replaces the suite's policy (loopback switch on, loopback
	// a trusted proxy).
	transport *httpguard.Policy
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	loadSpec(t)
	env := testenv.New(t, testenv.Options{Postgres: o.postgres})
	logs := &syncBuffer{}
	metrics := obs.NewMetrics()
	th := o.throttle
	if th == nil {
		// Generous limits: the suite fails many authentications on purpose.
		th = throttle.New(throttle.Options{IPPerMinute: 1 << 20, IPPerDay: 1 << 20, LoginPerMinute: 1 << 20, LoginPerDay: 1 << 20})
	}
	// The suite talks plain HTTP on loopback (the development switch);
	// loopback is also a trusted proxy, so a request naming another client
	// in X-Forwarded-For is a remote client behind a proxy.
	transport := &httpguard.Policy{AllowInsecureLoopback: true, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if o.transport != nil {
		transport = o.transport
	}
	srv, err := New(Options{
		Store: env.Store, Local: env.Dir, DirectoryKind: o.directoryKind,
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:  metrics,
		Throttle: th,
		Version:  "test-1",
		Started:  time.Now().Add(-90 * time.Second),
		Listeners: []Listener{
			{Name: "smtp", Address: "127.0.0.1:2525"}, {Name: "http", Address: "127.0.0.1:8080"},
		},
		MaxBodyBytes: o.maxBody,
		Transport:    transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	srv.Mount(e)
	ln := testenv.Listen(t)
	hs := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	ctx := context.Background()
	admin, _, err := env.Dir.CreateAPIToken(ctx, "test-admin", directory.ScopeAdmin)
	if err != nil {
		t.Fatal(err)
	}
	read, _, err := env.Dir.CreateAPIToken(ctx, "test-read", directory.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{env: env, srv: srv, metrics: metrics, logs: logs, base: "http://" + ln.Addr().String() + Prefix,
		admin: admin, read: read, client: &http.Client{Timeout: 30 * time.Second}, seen: map[string]map[int]bool{}}
}

// response is one live answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// raw is a request body sent as is.
type raw struct {
	body        []byte
	contentType string
}

// do sends a request to path (below /api/v1). body is nil, a raw, or a
// value sent as JSON. The response is validated against the OpenAPI
// document before it is returned.
func (h *harness) do(t *testing.T, method, path, token string, body any) *response {
	t.Helper()
	var rdr io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case raw:
		rdr, ct = bytes.NewReader(b.body), b.contentType
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rdr, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, h.base+path, rdr)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{Status: res.StatusCode, Header: res.Header, Body: data}
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id", method, path)
	}
	h.validate(t, req, r)
	return r
}

// validate checks a live response against the document: the route and
// method must be there, the status must be documented for it, and the
// body and headers must match the schema. Answers for methods or paths
// the API does not have (405, unknown path 404) are checked against the
// Problem schema.
func (h *harness) validate(t *testing.T, req *http.Request, r *response) {
	t.Helper()
	doc, router := loadSpec(t)
	route, params, err := router.FindRoute(req)
	if err != nil {
		if r.Status != http.StatusMethodNotAllowed && r.Status != http.StatusNotFound {
			t.Errorf("%s %s answered %d but is not in openapi.json: %v", req.Method, req.URL.Path, r.Status, err)
		}
		validateProblemBody(t, doc, r)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.Status, Header: r.Header,
		Body: io.NopCloser(bytes.NewReader(r.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		t.Errorf("%s %s → %d does not match openapi.json: %v\nbody: %s", req.Method, req.URL.Path, r.Status, err, r.Body)
	}
	key := req.Method + " " + route.Path
	h.mu.Lock()
	if h.seen[key] == nil {
		h.seen[key] = map[int]bool{}
	}
	h.seen[key][r.Status] = true
	h.mu.Unlock()
}

func validateProblemBody(t *testing.T, doc *openapi3.T, r *response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != problemContentType {
		t.Errorf("status %d with content type %q, want %s: %s", r.Status, ct, problemContentType, r.Body)
		return
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Errorf("problem body: %v", err)
		return
	}
	if err := doc.Components.Schemas["Problem"].Value.VisitJSON(v); err != nil {
		t.Errorf("problem body does not match the Problem schema: %v\n%s", err, r.Body)
	}
}

// expect fails unless the response has status.
func expect(t *testing.T, r *response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
}

// expectProblem fails unless the response is a problem of this status and
// type slug; it returns the problem.
func expectProblem(t *testing.T, r *response, status int, slug string) *Problem {
	t.Helper()
	expect(t, r, status)
	if ct := r.Header.Get("Content-Type"); ct != problemContentType {
		t.Fatalf("content type %q, want %s", ct, problemContentType)
	}
	var p Problem
	r.decode(t, &p)
	if p.Type != ProblemBase+slug || p.Status != status || p.Title == "" {
		t.Fatalf("problem %+v, want type %s status %d", p, ProblemBase+slug, status)
	}
	if p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
		t.Fatalf("problem request id %q, header %q", p.RequestID, r.Header.Get("X-Request-Id"))
	}
	return &p
}

// expectField fails unless a validation problem names field (in "in").
func expectField(t *testing.T, r *response, in, field string) {
	t.Helper()
	p := expectProblem(t, r, http.StatusUnprocessableEntity, "validation")
	for _, e := range p.Errors {
		if e.Field == field && e.In == in && e.Detail != "" {
			return
		}
	}
	t.Fatalf("validation problem without %s field %q: %+v", in, field, p.Errors)
}

// operations lists every operation of the document as "METHOD /path".
func operations(t testing.TB) []string {
	doc, _ := loadSpec(t)
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// checkCoverage fails for every documented status of every operation the
// suite never saw live, except those listed in skip (tested elsewhere).
func (h *harness) checkCoverage(t *testing.T, skip ...int) {
	t.Helper()
	doc, _ := loadSpec(t)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, key := range operations(t) {
		method, path, _ := strings.Cut(key, " ")
		op := doc.Paths.Value(path).GetOperation(method)
		for code := range op.Responses.Map() {
			var status int
			fmt.Sscan(code, &status)
			skipped := false
			for _, s := range skip {
				skipped = skipped || s == status
			}
			if !skipped && !h.seen[key][status] {
				t.Errorf("%s: documented status %d never exercised", key, status)
			}
		}
	}
}
