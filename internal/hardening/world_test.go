package hardening

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pochta/pochta/api"
	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/imap"
	"github.com/pochta/pochta/internal/connlimit"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/internal/throttle"
	"github.com/pochta/pochta/internal/tlsutil"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/rop"
	"github.com/pochta/pochta/pop3"
	"github.com/pochta/pochta/smtp"
	"github.com/pochta/pochta/web"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	cleanupBinary()
	os.Exit(code)
}

const (
	alicePassword = "alice-Correct-Horse-7"
	bobPassword   = "bob-Battery-Staple-9"
	// panicLogin makes the trap directory panic in Authenticate, and
	// panicRcpt in Resolve: the test hook for the panic tests.
	panicLogin = "panic@example.com"
	panicRcpt  = "panic-rcpt@example.com"
	// panicROP logs in normally; making its MAPI session panics.
	panicROP         = "panic-rop@example.com"
	panicROPPassword = "panic-rop-password-1"
)

// worldOptions change the doors' limits from cmd's defaults, so a test can
// reach them quickly.
type worldOptions struct {
	// insecureLoopback is the development switch: plain-text
	// authentication from loopback addresses on every door.
	insecureLoopback bool
	maxConnsPerIP    int
	// maxConns is the total connection cap of each SMTP server, IMAP and
	// POP3 (0: none).
	maxConns int
	// httpMaxConnsPerIP and httpMaxConns limit the HTTP listeners
	// together, as cmd/pochta's serve.go does (0: none).
	httpMaxConnsPerIP, httpMaxConns int
	// idleTimeout is IMAP's and POP3's idle timeout and SMTP's read
	// (command) timeout.
	idleTimeout     time.Duration
	maxMessageBytes int64
	maxRecipients   int
	appendLimit     int64
	maxBodyBytes    int64
	// minBodyRate and bodyGrace are the HTTP body minimum rate; zero
	// means cmd's defaults (1 KiB/s after 10 s).
	minBodyRate int64
	bodyGrace   time.Duration
	// remap rewrites the client address doors see, by the loopback address
	// a test dials from (127.0.0.9 → 2001:db8::9, say), so IPv6 /64
	// grouping and non-loopback clients can be tried on loopback.
	remap map[netip.Addr]netip.Addr
}

// world is every door of one server, started in-process the way
// cmd/pochta wires them: one store, one directory, one throttle, one
// metrics registry, one TLS configuration (tlsutil's, the binary's policy).
type world struct {
	t        *testing.T
	env      *testenv.Env
	metrics  *obs.Metrics
	throttle *throttle.Throttle
	logs     *logBuffer
	dir      *trapDirectory

	serverTLS, clientTLS *tls.Config

	smtpAddr, submissionAddr, submissionsAddr string
	imapAddr, imapsAddr                       string
	pop3Addr, pop3sAddr                       string
	httpAddr, httpsAddr                       string

	alice, bob *directory.Account
	// bobAlias is another address of bob's.
	bobAlias          string
	adminToken, token string // admin and read API tokens
}

func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	ctx := context.Background()
	env := testenv.New(t)
	logs := &logBuffer{}
	logger, err := obs.NewLogger(logs, "trace", "text")
	if err != nil {
		t.Fatal(err)
	}
	env.Logger = logger
	serverTLS, err := tlsutil.LoadOrCreate(t.TempDir(), "", "", []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	pem, err := tlsutil.CertPEM(serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := tlsutil.ClientConfigTrusting(pem)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS.ServerName = "localhost"

	w := &world{
		t: t, env: env, metrics: obs.NewMetrics(), logs: logs,
		// As cmd/pochta: the configuration's defaults (10 a minute, 50 a day).
		throttle:  throttle.New(throttle.Options{}),
		dir:       &trapDirectory{Directory: env.Dir},
		serverTLS: serverTLS, clientTLS: clientTLS,
	}
	// Every door delivers through the trap directory too.
	env.Deliverer = delivery.New(delivery.Options{Store: env.Store, Directory: w.dir, Logger: logger, Hostname: "mx.example.com"})
	w.alice = env.AddUser(t, "alice@example.com", alicePassword)
	w.bob = env.AddUser(t, "bob@example.com", bobPassword)
	w.bobAlias = "robert@example.com"
	if err := env.Dir.AddAlias(ctx, w.bobAlias, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	// The panic hook's login exists, so Authenticate would succeed.
	env.AddUser(t, panicLogin, "panic-password-1")
	env.AddUser(t, panicROP, panicROPPassword)
	if w.adminToken, _, err = env.Dir.CreateAPIToken(ctx, "hardening-admin", directory.ScopeAdmin); err != nil {
		t.Fatal(err)
	}
	if w.token, _, err = env.Dir.CreateAPIToken(ctx, "hardening-read", directory.ScopeRead); err != nil {
		t.Fatal(err)
	}

	listen := func() net.Listener {
		ln := testenv.Listen(t)
		if o.remap != nil {
			return &remapListener{Listener: ln, remap: o.remap}
		}
		return ln
	}
	shutdown := func(name string, stop func(context.Context) error) {
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := stop(sctx); err != nil && !errors.Is(err, net.ErrClosed) &&
				!errors.Is(err, imap.ErrServerClosed) && !errors.Is(err, pop3.ErrServerClosed) {
				t.Logf("%s shutdown: %v", name, err)
			}
		})
	}

	// SMTP: MX, submission with STARTTLS, submission over implicit TLS.
	smtpOpts := smtp.Options{
		Hostname: "mx.example.com", Deliverer: env.Deliverer, Directory: w.dir, Store: env.Store, TLS: serverTLS,
		MaxMessageBytes: o.maxMessageBytes, MaxRecipients: o.maxRecipients, MaxConnsPerIP: o.maxConnsPerIP, MaxConns: o.maxConns,
		ReadTimeout: o.idleTimeout, DataTimeout: o.idleTimeout,
		AllowInsecureAuthLoopback: o.insecureLoopback,
		Logger:                    logger, Metrics: w.metrics, Throttle: w.throttle,
	}
	mxOpts := smtpOpts
	mxOpts.Mode = smtp.ModeMX
	mx, err := smtp.New(mxOpts)
	if err != nil {
		t.Fatal(err)
	}
	ln := listen()
	w.smtpAddr = ln.Addr().String()
	go mx.Serve(ln)
	shutdown("smtp", mx.Shutdown)
	subOpts := smtpOpts
	subOpts.Mode = smtp.ModeSubmission
	sub, err := smtp.New(subOpts)
	if err != nil {
		t.Fatal(err)
	}
	ln = listen()
	w.submissionAddr = ln.Addr().String()
	go sub.Serve(ln)
	ln = listen()
	w.submissionsAddr = ln.Addr().String()
	go sub.ServeTLS(ln)
	shutdown("submission", sub.Shutdown)

	// IMAP: STARTTLS and implicit TLS on one server.
	im, err := imap.New(imap.Options{
		Store: env.Store, Directory: w.dir, Deliverer: env.Deliverer, TLS: serverTLS,
		Logger: logger, Metrics: w.metrics, Throttle: w.throttle,
		AppendLimit: o.appendLimit, MaxConnsPerIP: o.maxConnsPerIP, MaxConns: o.maxConns, IdleTimeout: o.idleTimeout,
		AllowInsecureAuthLoopback: o.insecureLoopback,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln = listen()
	w.imapAddr = ln.Addr().String()
	go im.Serve(ln)
	ln = listen()
	w.imapsAddr = ln.Addr().String()
	go im.ServeTLS(ln)
	shutdown("imap", im.Shutdown)

	// POP3: STLS and implicit TLS on one server. The failed-login delay is
	// a politeness towards humans; the throttle is what limits guessing.
	p3, err := pop3.New(pop3.Options{
		Store: env.Store, Directory: w.dir, TLS: serverTLS, Hostname: "mx.example.com",
		Logger: logger, Metrics: w.metrics, Throttle: w.throttle,
		IdleTimeout: o.idleTimeout, MaxConnsPerIP: o.maxConnsPerIP, MaxConns: o.maxConns,
		AllowInsecureAuthLoopback: o.insecureLoopback, AuthFailureDelay: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln = listen()
	w.pop3Addr = ln.Addr().String()
	go p3.Serve(ln)
	ln = listen()
	w.pop3sAddr = ln.Addr().String()
	go p3.ServeTLS(ln)
	shutdown("pop3", p3.Shutdown)

	// HTTP: the REST API, MAPI and the webmail on one echo instance, as cmd/pochta's
	// newHTTP builds it, behind a plain and a TLS listener.
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(recoverMiddleware(w.metrics, logger))
	transport := &httpguard.Policy{AllowInsecureLoopback: o.insecureLoopback}
	e.IPExtractor = transport.ExtractIP
	a, err := api.New(api.Options{
		Store: env.Store, Local: env.Dir, Directory: w.dir, Logger: logger, Metrics: w.metrics,
		Throttle: w.throttle, MaxBodyBytes: o.maxBodyBytes, Transport: transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Mount(e)
	ropSrv := rop.NewServer(rop.Options{
		Store: env.Store, Directory: w.dir, Deliverer: env.Deliverer, Logger: logger,
		Hostname: "mx.example.com", LegacyDN: mapi.LegacyDN, AccountByLegacyDN: mapi.AccountByLegacyDN(w.dir),
		Metrics: w.metrics,
	})
	ms, err := mapi.New(mapi.Options{
		Directory: w.dir, Store: env.Store, Logger: logger, Metrics: w.metrics, Throttle: w.throttle,
		NewROPSession: func(ctx context.Context, acc *directory.Account, _ mapi.ConnectInfo) (mapi.ROPSession, error) {
			if acc.Address == panicROP {
				panic("hardening: injected panic in NewROPSession")
			}
			s, err := ropSrv.NewSession(ctx, acc)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Hostname: "mx.example.com", MaxBodyBytes: o.maxBodyBytes, Transport: transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	ms.Mount(e)
	shutdown("mapi", ms.Shutdown)
	wm, err := web.New(web.Options{
		Store: env.Store, Directory: w.dir, Deliverer: env.Deliverer, Logger: logger, Metrics: w.metrics,
		Throttle: w.throttle, Hostname: "mx.example.com", MaxMessageBytes: o.maxMessageBytes, Transport: transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	wm.Mount(e)
	shutdown("web", wm.Shutdown)
	// As serve.go: one connection count for both listeners, a 503 on
	// plain HTTP, a close below TLS.
	httpLimit := connlimit.New(o.httpMaxConnsPerIP, o.httpMaxConns)
	for _, tlsOn := range []bool{false, true} {
		ln := listen()
		limitOpts := connlimit.ListenerOptions{Door: obs.DoorHTTP, Metrics: w.metrics, Logger: logger}
		minRate, grace := o.minBodyRate, o.bodyGrace
		if minRate == 0 {
			minRate = 1024
		}
		if grace == 0 {
			grace = 10 * time.Second
		}
		hs := &http.Server{Handler: httpguard.MinBodyRate(e, minRate, grace), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		if tlsOn {
			w.httpsAddr = ln.Addr().String()
			go hs.Serve(tls.NewListener(connlimit.NewListener(ln, httpLimit, limitOpts), serverTLS))
		} else {
			w.httpAddr = ln.Addr().String()
			limitOpts.Reply = connlimit.HTTPRefusal
			go hs.Serve(connlimit.NewListener(ln, httpLimit, limitOpts))
		}
		shutdown("http", hs.Shutdown)
	}
	return w
}

// recoverMiddleware mirrors cmd/pochta's (serve.go): a handler panic
// becomes a 500, logged once and counted under "http".
func recoverMiddleware(m *obs.Metrics, log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			panicked := true
			defer func() {
				if panicked {
					err = echo.NewHTTPError(http.StatusInternalServerError)
				}
			}()
			defer m.Recover(log, "http")
			err = next(c)
			panicked = false
			return err
		}
	}
}

// trapDirectory is the panic test hook: the real directory, except that
// Authenticate panics for panicLogin, Resolve for panicRcpt, Health when
// healthPanics is set and Account for the id in accountPanics.
type trapDirectory struct {
	directory.Directory
	healthPanics atomic.Bool
	// accountPanics is an account id whose lookup by id panics.
	accountPanics atomic.Int64
}

func (d *trapDirectory) Account(ctx context.Context, id int64) (*directory.Account, error) {
	if id != 0 && id == d.accountPanics.Load() {
		panic("hardening: injected panic in Account")
	}
	return d.Directory.Account(ctx, id)
}

func (d *trapDirectory) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	if strings.EqualFold(login, panicLogin) {
		panic("hardening: injected panic in Authenticate")
	}
	return d.Directory.Authenticate(ctx, login, password)
}

func (d *trapDirectory) Resolve(ctx context.Context, address string) (*directory.Resolution, error) {
	if strings.EqualFold(address, panicRcpt) {
		panic("hardening: injected panic in Resolve")
	}
	return d.Directory.Resolve(ctx, address)
}

func (d *trapDirectory) Health(ctx context.Context) error {
	if d.healthPanics.Load() {
		panic("hardening: injected panic in Health")
	}
	return d.Directory.Health(ctx)
}

// authFailures is pochta_auth_failures_total{door}.
func (w *world) authFailures(door string) float64 {
	return counterValue(w.t, w.metrics.AuthFailures.WithLabelValues(door))
}

// panics is pochta_panics_total{component}.
func (w *world) panics(component string) float64 {
	return counterValue(w.t, w.metrics.Panics.WithLabelValues(component))
}

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// logBuffer collects the doors' log output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// remapListener makes accepted connections report another client address
// (by their real loopback source address), so doors can be shown IPv6
// neighbours and non-loopback clients.
type remapListener struct {
	net.Listener
	remap map[netip.Addr]netip.Addr
}

func (l *remapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	src := throttle.AddrOf(c.RemoteAddr())
	if to, ok := l.remap[src]; ok {
		return &remappedConn{Conn: c, remote: &net.TCPAddr{IP: to.AsSlice(), Port: c.RemoteAddr().(*net.TCPAddr).Port}}, nil
	}
	return c, nil
}

type remappedConn struct {
	net.Conn
	remote net.Addr
}

func (c *remappedConn) RemoteAddr() net.Addr { return c.remote }

func remapTable(m map[string]string) map[netip.Addr]netip.Addr {
	out := map[netip.Addr]netip.Addr{}
	for k, v := range m {
		out[netip.MustParseAddr(k)] = netip.MustParseAddr(v)
	}
	return out
}

// from returns a dialer whose connections come from a loopback address
// such as "127.0.0.2", so each test client can be its own "IP".
func from(src string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
}

// lineConn is a line-level client for any of the text protocols.
type lineConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dialLines connects from src to addr, with implicit TLS when cfg is set.
func dialLines(t testing.TB, src, addr string, cfg *tls.Config) *lineConn {
	t.Helper()
	c, err := from(src).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	if cfg != nil {
		tc := tls.Client(c, cfg)
		if err := tc.Handshake(); err != nil {
			c.Close()
			t.Fatalf("TLS handshake with %s: %v", addr, err)
		}
		c = tc
	}
	t.Cleanup(func() { c.Close() })
	return &lineConn{t: t, conn: c, r: bufio.NewReader(c)}
}

// startTLS switches the connection to TLS after the protocol's STARTTLS.
func (l *lineConn) startTLS(cfg *tls.Config) {
	l.t.Helper()
	if l.r.Buffered() > 0 {
		l.t.Fatalf("unread data before TLS: %d bytes", l.r.Buffered())
	}
	tc := tls.Client(l.conn, cfg)
	if err := tc.Handshake(); err != nil {
		l.t.Fatalf("STARTTLS handshake: %v", err)
	}
	l.conn, l.r = tc, bufio.NewReader(tc)
}

func (l *lineConn) send(format string, args ...any) {
	l.t.Helper()
	_ = l.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprintf(l.conn, format+"\r\n", args...); err != nil {
		l.t.Fatalf("send %q: %v", fmt.Sprintf(format, args...), err)
	}
}

// line reads a line without its CRLF; it fails the test on an error.
func (l *lineConn) line() string {
	l.t.Helper()
	s, err := l.tryLine()
	if err != nil {
		l.t.Fatalf("read: %v", err)
	}
	return s
}

func (l *lineConn) tryLine() (string, error) {
	_ = l.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	s, err := l.r.ReadString('\n')
	if err != nil {
		return s, err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// smtpReply reads a whole (multi-line) SMTP reply and returns its last line.
func (l *lineConn) smtpReply() string {
	l.t.Helper()
	for {
		s := l.line()
		if len(s) < 4 || s[3] != '-' {
			return s
		}
	}
}

// smtpCmd sends a command and returns the reply's last line.
func (l *lineConn) smtpCmd(format string, args ...any) string {
	l.t.Helper()
	l.send(format, args...)
	return l.smtpReply()
}

// imapCmd sends "tag command" and returns the untagged lines and the
// tagged completion without the tag.
func (l *lineConn) imapCmd(tag, format string, args ...any) (untagged []string, done string) {
	l.t.Helper()
	l.send(tag+" "+format, args...)
	for {
		s := l.line()
		if rest, ok := strings.CutPrefix(s, tag+" "); ok {
			return untagged, rest
		}
		untagged = append(untagged, s)
	}
}

// closedByServer reports whether the server ends the connection (EOF or a
// reset) before sending anything more than lines matching allowed.
func (l *lineConn) closedByServer(allowed func(string) bool) bool {
	l.t.Helper()
	for {
		s, err := l.tryLine()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				l.t.Fatalf("the server kept the connection open (last: %q)", s)
			}
			return true
		}
		if !allowed(s) {
			l.t.Errorf("unexpected line before close: %q", s)
			return false
		}
	}
}

// httpClient sends requests from src, trusting the world's certificate.
func (w *world) httpClient(src string) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:       from(src).DialContext,
			TLSClientConfig:   w.clientTLS.Clone(),
			DisableKeepAlives: true,
		},
	}
}

// webSignIn posts the webmail sign-in over HTTPS from src; jar, if set,
// keeps the session cookie.
func (w *world) webSignIn(t *testing.T, src, login, password string, jar http.CookieJar) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": password})
	req, err := http.NewRequest(http.MethodPost, "https://"+w.httpsAddr+"/web/api/login", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := w.httpClient(src)
	hc.Jar = jar
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// mapiClient is a MAPI/HTTP client for acct over HTTPS from src.
func (w *world) mapiClient(t *testing.T, src string, acct *directory.Account, password string) *mapiclient.Client {
	t.Helper()
	c, err := mapiclient.New(mapiclient.Options{
		MailStoreURL: "https://" + w.httpsAddr + mapi.EMSMDBPath,
		User:         acct.Address, Password: password, UserDN: mapi.LegacyDN(acct),
		HTTPClient: w.httpClient(src),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
