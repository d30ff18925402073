package connlimit

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/tlsutil"
)

// httpWorld is an http.Server behind a limited listener on 127.0.0.1.
type httpWorld struct {
	addr    string
	metrics *obs.Metrics
	lim     *Limiter
}

func startHTTP(t *testing.T, perClient, total int, serverTLS *tls.Config) *httpWorld {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &httpWorld{addr: ln.Addr().String(), metrics: obs.NewMetrics(), lim: New(perClient, total)}
	opts := ListenerOptions{Door: obs.DoorHTTP, Metrics: w.metrics}
	var served net.Listener
	if serverTLS != nil {
		served = tls.NewListener(NewListener(ln, w.lim, opts), serverTLS)
	} else {
		opts.Reply = HTTPRefusal
		served = NewListener(ln, w.lim, opts)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(rw, "hello\n")
		}),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() { _ = srv.Serve(served) }()
	t.Cleanup(func() { _ = srv.Close() })
	return w
}

func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one request on c and returns the status and body.
func get(t *testing.T, c net.Conn, r *bufio.Reader) (int, string, error) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode == http.StatusServiceUnavailable &&
		(resp.Header.Get("Retry-After") == "" || !resp.Close) {
		t.Errorf("503 without Retry-After or Connection: close: %v", resp.Header)
	}
	return resp.StatusCode, string(b), nil
}

// keptAlive opens a connection from src and proves it is served.
func keptAlive(t *testing.T, w *httpWorld, src string) net.Conn {
	t.Helper()
	c := dialFrom(t, src, w.addr)
	code, body, err := get(t, c, bufio.NewReader(c))
	if err != nil || code != http.StatusOK || body != "hello\n" {
		t.Fatalf("connection from %s: %d %q %v", src, code, body, err)
	}
	return c
}

func TestListenerTotal(t *testing.T) {
	w := startHTTP(t, 0, 2, nil)
	first := keptAlive(t, w, "127.0.0.2")
	second := keptAlive(t, w, "127.0.0.3")

	// A third client, from yet another address, is over the total.
	c := dialFrom(t, "127.0.0.4", w.addr)
	code, body, err := get(t, c, bufio.NewReader(c))
	if err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %d %q %v", code, body, err)
	}
	if got := w.refused(t, Total); got != 1 {
		t.Errorf("refusals counted: %v, want 1", got)
	}
	// A real client sees the 503 too.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get("http://" + w.addr + "/")
	if err != nil {
		t.Fatalf("http.Client over the limit: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("http.Client over the limit: %d", resp.StatusCode)
	}

	// The held connections keep working.
	if code, _, err := get(t, second, bufio.NewReader(second)); err != nil || code != http.StatusOK {
		t.Fatalf("held connection after refusals: %d %v", code, err)
	}

	// Closing one frees its slot once the server has noticed the close.
	first.Close()
	waitFor(t, func() bool { return w.lim.Open() < 2 })
	keptAlive(t, w, "127.0.0.4")
}

func TestListenerPerClient(t *testing.T) {
	w := startHTTP(t, 1, 0, nil)
	keptAlive(t, w, "127.0.0.2")
	c := dialFrom(t, "127.0.0.2", w.addr)
	if code, _, err := get(t, c, bufio.NewReader(c)); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("second connection from one address: %d %v", code, err)
	}
	if got := w.refused(t, PerClient); got != 1 {
		t.Errorf("refusals counted: %v, want 1", got)
	}
	keptAlive(t, w, "127.0.0.3")
}

// Below TLS a refused connection is closed without a handshake.
func TestListenerTLS(t *testing.T) {
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
	w := startHTTP(t, 0, 1, serverTLS)

	held := tls.Client(dialFrom(t, "127.0.0.2", w.addr), clientTLS)
	if code, _, err := get(t, held, bufio.NewReader(held)); err != nil || code != http.StatusOK {
		t.Fatalf("first TLS connection: %d %v", code, err)
	}
	over := tls.Client(dialFrom(t, "127.0.0.3", w.addr), clientTLS)
	_ = over.SetDeadline(time.Now().Add(30 * time.Second))
	err = over.Handshake()
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("over-limit TLS connection: handshake %v, want closed", err)
	}
	if code, _, err := get(t, held, bufio.NewReader(held)); err != nil || code != http.StatusOK {
		t.Fatalf("held TLS connection after a refusal: %d %v", code, err)
	}
	held.Close()
	waitFor(t, func() bool { return w.lim.Open() == 0 })
	again := tls.Client(dialFrom(t, "127.0.0.3", w.addr), clientTLS)
	if code, _, err := get(t, again, bufio.NewReader(again)); err != nil || code != http.StatusOK {
		t.Fatalf("TLS connection after a slot was freed: %d %v", code, err)
	}
}

// The refusal reply stays well-formed: its Content-Length is its body's.
func TestHTTPRefusalWellFormed(t *testing.T) {
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(HTTPRefusal)), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || int64(len(body)) != resp.ContentLength || !resp.Close {
		t.Fatalf("refusal: %d, %d body bytes for Content-Length %d, close %v", resp.StatusCode, len(body), resp.ContentLength, resp.Close)
	}
	if !strings.HasSuffix(HTTPRefusal, string(body)) || len(HTTPRefusal) != strings.Index(HTTPRefusal, "\r\n\r\n")+4+len(body) {
		t.Fatalf("trailing bytes after the body")
	}
}

// waitFor polls cond (the server sees a close asynchronously).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refused is pochta_connections_refused_total{door="http",reason}.
func (w *httpWorld) refused(t *testing.T, reason Reason) float64 {
	t.Helper()
	var m dto.Metric
	if err := w.metrics.ConnectionsRefused.WithLabelValues(obs.DoorHTTP, string(reason)).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
