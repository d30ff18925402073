package mapi_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/internal/throttle"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/rop"
)

// harness is a MAPI door over HTTPS on 127.0.0.1 with a stand-in ROP
// layer (fakeROP), for the transport and session tests.
type harness struct {
	t       testing.TB
	env     *testenv.Env
	srv     *mapi.Server
	base    string // https://127.0.0.1:port
	hc      *http.Client
	metrics *obs.Metrics
	rop     *fakeROP
	clock   *fakeClock
	echo    *echo.Echo
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newHarness(t testing.TB, configure ...func(*mapi.Options)) *harness {
	t.Helper()
	return newHarnessOn(t, testenv.New(t), configure...)
}

// newHarnessOn is newHarness on an existing env.
func newHarnessOn(t testing.TB, env *testenv.Env, configure ...func(*mapi.Options)) *harness {
	t.Helper()
	h := &harness{t: t, env: env, metrics: obs.NewMetrics(), rop: &fakeROP{}, clock: &fakeClock{now: time.Now()}}
	opts := mapi.Options{
		Directory: env.Dir, Store: env.Store, Logger: env.Logger, Metrics: h.metrics,
		Hostname:      "mail.example.com",
		NewROPSession: h.rop.newSession,
		Throttle:      throttle.New(throttle.Options{}),
	}
	for _, f := range configure {
		f(&opts)
	}
	srv, err := mapi.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mapi.SetClock(srv, h.clock.Now)
	h.srv = srv
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	srv.Mount(e)
	h.echo = e
	ln := testenv.Listen(t)
	hs := &http.Server{Handler: e, ErrorLog: obs.StdLogger(env.Logger, 0)}
	go hs.Serve(tls.NewListener(ln, env.TLS))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Shutdown(ctx)
	})
	h.base = "https://" + ln.Addr().String()
	h.hc = &http.Client{Transport: &http.Transport{TLSClientConfig: env.ClientTLS}, Timeout: 30 * time.Second}
	return h
}

// user adds an account in example.com.
func (h *harness) user(local string) *directory.Account {
	h.t.Helper()
	return h.env.AddUser(h.t, local+"@example.com", "secret-"+local)
}

// client makes a MAPI client for acc, not yet connected.
func (h *harness) client(acc *directory.Account, configure ...func(*mapiclient.Options)) *mapiclient.Client {
	h.t.Helper()
	local, _, _ := strings.Cut(acc.Address, "@")
	opts := mapiclient.Options{
		MailStoreURL: h.base + mapi.EMSMDBPath + "?MailboxId=x@example.com",
		User:         acc.Address, Password: "secret-" + local,
		UserDN: mapi.LegacyDN(acc), HTTPClient: h.hc,
	}
	for _, f := range configure {
		f(&opts)
	}
	c, err := mapiclient.New(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// connected returns a client with a session context.
func (h *harness) connected(acc *directory.Account) *mapiclient.Client {
	h.t.Helper()
	c := h.client(acc)
	if _, err := c.Connect(context.Background()); err != nil {
		h.t.Fatalf("Connect: %v", err)
	}
	return c
}

// fakeROP stands in for package mapi/rop: each session answers a ROP
// buffer with an empty ROP list and the request's handle table, and
// records what it was given.
type fakeROP struct {
	mu       sync.Mutex
	sessions []*fakeSession
	// gate, when set, makes Execute wait for it to close; entered gets a
	// value each time an Execute starts waiting.
	gate    chan struct{}
	entered chan struct{}
	// panicOnExecute makes Execute panic.
	panicOnExecute bool
	// failConnect makes NewROPSession fail.
	failConnect error
}

type fakeSession struct {
	f      *fakeROP
	acc    *directory.Account
	info   mapi.ConnectInfo
	mu     sync.Mutex
	inputs [][]byte
	maxOut []int
	closed bool
	events chan struct{} // WaitEvents returns true when it gets a value
	waits  chan struct{} // WaitEvents sends here when it starts waiting
}

func (f *fakeROP) newSession(ctx context.Context, acc *directory.Account, info mapi.ConnectInfo) (mapi.ROPSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failConnect != nil {
		return nil, f.failConnect
	}
	s := &fakeSession{f: f, acc: acc, info: info, events: make(chan struct{}, 1), waits: make(chan struct{}, 8)}
	f.sessions = append(f.sessions, s)
	return s, nil
}

func (f *fakeROP) last() *fakeSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sessions) == 0 {
		return nil
	}
	return f.sessions[len(f.sessions)-1]
}

func (s *fakeSession) Execute(ctx context.Context, in []byte, maxRopOut int) ([]byte, error) {
	s.f.mu.Lock()
	gate, entered, boom := s.f.gate, s.f.entered, s.f.panicOnExecute
	s.f.mu.Unlock()
	if boom {
		panic("fake ROP layer exploded")
	}
	s.mu.Lock()
	s.inputs = append(s.inputs, append([]byte{}, in...))
	s.maxOut = append(s.maxOut, maxRopOut)
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errors.New("closed")
	}
	if gate != nil {
		if entered != nil {
			entered <- struct{}{}
		}
		<-gate
	}
	buf, err := rop.ParseROPBuffer(in)
	if err != nil {
		return nil, err
	}
	return rop.ROPBuffer{Handles: buf.Handles}.Bytes()
}

func (s *fakeSession) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *fakeSession) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *fakeSession) WaitEvents(ctx context.Context) bool {
	s.waits <- struct{}{}
	select {
	case <-s.events:
		return true
	case <-ctx.Done():
		return false
	}
}

func echoFor(h *harness) *echo.Echo { return h.echo }

// listenPlain serves e over plain HTTP on 127.0.0.1 and returns the
// address.
func listenPlain(t *testing.T, e *echo.Echo) string {
	t.Helper()
	ln := testenv.Listen(t)
	hs := &http.Server{Handler: e}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}
