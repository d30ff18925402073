package hardening

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/obs"
)

// Issue 11: the total connection cap of each door. Connections come from
// different addresses, so the per-address limit is not what refuses them;
// the one over the cap hears the door's temporary refusal, the sessions
// already open carry on, and a slot is free again once one has closed.
func TestLimitConnectionsTotal(t *testing.T) {
	const total = 3
	w := newWorld(t, worldOptions{maxConnsPerIP: 10, maxConns: total})
	type door struct {
		name, addr, metric string
		tls                bool
		greeting, refusal  string // prefixes
		// use proves an open session still works; the second use logs
		// in as another user (a POP3 maildrop is one session's).
		use func(t *testing.T, c *lineConn, second bool)
	}
	ehlo := func(t *testing.T, c *lineConn, _ bool) {
		if r := c.smtpCmd("EHLO still.example"); !strings.HasPrefix(r, "250") {
			t.Fatalf("EHLO on an open session: %q", r)
		}
		if r := c.smtpCmd("NOOP"); !strings.HasPrefix(r, "250") {
			t.Fatalf("NOOP on an open session: %q", r)
		}
	}
	for _, d := range []door{
		{"SMTP", w.smtpAddr, obs.DoorSMTP, false, "220 ", "421 4.7.0 ", ehlo},
		{"submission", w.submissionsAddr, obs.DoorSubmission, true, "220 ", "421 4.7.0 ", ehlo},
		{"IMAP", w.imapsAddr, obs.DoorIMAP, true, "* OK", "* BYE [UNAVAILABLE] ", func(t *testing.T, c *lineConn, _ bool) {
			if _, done := c.imapCmd("L", "LOGIN %q %q", w.alice.Address, alicePassword); !strings.HasPrefix(done, "OK") {
				t.Fatalf("LOGIN on an open session: %q", done)
			}
			if _, done := c.imapCmd("S", "SELECT INBOX"); !strings.HasPrefix(done, "OK") {
				t.Fatalf("SELECT on an open session: %q", done)
			}
		}},
		{"POP3", w.pop3sAddr, obs.DoorPOP3, true, "+OK", "-ERR [SYS/TEMP] ", func(t *testing.T, c *lineConn, second bool) {
			user, password := w.bob.Address, bobPassword
			if second {
				user, password = w.alice.Address, alicePassword
			}
			for _, cmd := range []string{"USER " + user, "PASS " + password, "STAT"} {
				c.send("%s", cmd)
				if l := c.line(); !strings.HasPrefix(l, "+OK") {
					t.Fatalf("%s on an open session: %q", strings.Fields(cmd)[0], l)
				}
			}
		}},
	} {
		t.Run(d.name, func(t *testing.T) {
			cfg := w.clientTLS
			if !d.tls {
				cfg = nil
			}
			var held []*lineConn
			for i := range total {
				c := dialLines(t, fmt.Sprintf("127.0.0.%d", 10+i), d.addr, cfg)
				if l := c.line(); !strings.HasPrefix(l, d.greeting) {
					t.Fatalf("connection %d: %q", i+1, l)
				}
				held = append(held, c)
			}
			before := counterValue(t, w.metrics.ConnectionsRefused.WithLabelValues(d.metric, "total"))
			extra := dialLines(t, "127.0.0.20", d.addr, cfg)
			if l := extra.line(); !strings.HasPrefix(l, d.refusal) || !strings.Contains(l, "Too many connections") {
				t.Fatalf("connection %d, from a fresh address: %q", total+1, l)
			}
			if !extra.closedByServer(func(string) bool { return true }) {
				t.Fatal("the refused connection stayed open")
			}
			if after := counterValue(t, w.metrics.ConnectionsRefused.WithLabelValues(d.metric, "total")); after != before+1 {
				t.Errorf("pochta_connections_refused_total{door=%q,reason=\"total\"} went %v → %v", d.metric, before, after)
			}
			d.use(t, held[1], false)

			// The server notices the close asynchronously: poll.
			held[0].conn.Close()
			for attempt := 0; ; attempt++ {
				c := dialLines(t, "127.0.0.21", d.addr, cfg)
				l := c.line()
				c.conn.Close()
				if strings.HasPrefix(l, d.greeting) {
					break
				}
				if attempt > 300 {
					t.Fatalf("slot not freed after a close: %q", l)
				}
				time.Sleep(50 * time.Millisecond)
			}
			d.use(t, held[2], true)
		})
	}
}

// heldHTTP is a kept-alive HTTP connection.
type heldHTTP struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialHTTP connects from src to the plain or TLS HTTP listener; the
// handshake's error is returned, not fatal.
func dialHTTP(t *testing.T, w *world, src string, overTLS bool) (*heldHTTP, error) {
	t.Helper()
	addr := w.httpAddr
	if overTLS {
		addr = w.httpsAddr
	}
	c, err := from(src).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if overTLS {
		tc := tls.Client(c, w.clientTLS)
		if err := tc.Handshake(); err != nil {
			return nil, err
		}
		c = tc
	}
	return &heldHTTP{conn: c, r: bufio.NewReader(c)}, nil
}

// get sends one request with the read token and returns the status.
func (h *heldHTTP) get(t *testing.T, w *world) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "/api/v1/accounts", nil)
	req.Host = "mx.example.com"
	req.Header.Set("Authorization", "Bearer "+w.token)
	if err := req.Write(h.conn); err != nil {
		t.Fatalf("request: %v", err)
	}
	resp, err := http.ReadResponse(h.r, req)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("response body: %v", err)
	}
	return resp.StatusCode
}

// hold opens a connection from src that has been served once.
func hold(t *testing.T, w *world, src string, overTLS bool) *heldHTTP {
	t.Helper()
	h, err := dialHTTP(t, w, src, overTLS)
	if err != nil {
		t.Fatalf("connection from %s: %v", src, err)
	}
	if code := h.get(t, w); code == http.StatusServiceUnavailable {
		t.Fatalf("connection from %s refused", src)
	}
	return h
}

// Issue 11: the HTTP listeners (MAPI, REST API, webmail) share one total
// cap. Over it, plain HTTP answers 503 with Retry-After and HTTPS closes
// the connection before the handshake; the connections already open are
// still served, and a slot is free again once one has closed.
func TestLimitHTTPConnectionsTotal(t *testing.T) {
	w := newWorld(t, worldOptions{httpMaxConns: 3})
	// Plain and TLS count together.
	a := hold(t, w, "127.0.0.10", true)
	hold(t, w, "127.0.0.11", false)
	c := hold(t, w, "127.0.0.12", true)

	resp, err := w.httpClient("127.0.0.20").Get("http://" + w.httpAddr + "/api/v1/accounts")
	if err != nil {
		t.Fatalf("plain HTTP over the cap: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("plain HTTP over the cap: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if _, err := dialHTTP(t, w, "127.0.0.20", true); err == nil {
		t.Fatal("HTTPS over the cap: the handshake succeeded")
	}
	if got := counterValue(t, w.metrics.ConnectionsRefused.WithLabelValues(obs.DoorHTTP, "total")); got != 2 {
		t.Errorf("pochta_connections_refused_total{door=\"http\",reason=\"total\"} = %v, want 2", got)
	}

	// The open connections are still served.
	if code := c.get(t, w); code != http.StatusOK {
		t.Fatalf("open HTTPS connection over the cap: %d", code)
	}

	a.conn.Close()
	for attempt := 0; ; attempt++ {
		resp, err := w.httpClient("127.0.0.21").Get("https://" + w.httpsAddr + "/api/v1/accounts")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				break
			}
		}
		if attempt > 300 {
			t.Fatalf("slot not freed after a close: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := c.get(t, w); code != http.StatusOK {
		t.Fatalf("open HTTPS connection after the churn: %d", code)
	}
}

// Issue 11: the HTTP per-address cap groups IPv6 clients by /64 and lets
// other clients in.
func TestLimitHTTPConnectionsPerAddress(t *testing.T) {
	w := newWorld(t, worldOptions{
		httpMaxConnsPerIP: 2,
		remap: remapTable(map[string]string{
			"127.0.0.7": "2001:db8:1:2::7",
			"127.0.0.8": "2001:db8:1:2::8", // the same /64
			"127.0.0.9": "2001:db8:1:3::9", // the next /64
		}),
	})
	hold(t, w, "127.0.0.7", true)
	held := hold(t, w, "127.0.0.8", false)

	resp, err := w.httpClient("127.0.0.7").Get("http://" + w.httpAddr + "/api/v1/accounts")
	if err != nil {
		t.Fatalf("third connection from one /64: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection from one /64: %d", resp.StatusCode)
	}
	if _, err := dialHTTP(t, w, "127.0.0.8", true); err == nil {
		t.Fatal("third connection from one /64 over HTTPS: the handshake succeeded")
	}
	if got := counterValue(t, w.metrics.ConnectionsRefused.WithLabelValues(obs.DoorHTTP, "per_ip")); got != 2 {
		t.Errorf("pochta_connections_refused_total{door=\"http\",reason=\"per_ip\"} = %v, want 2", got)
	}
	// Another /64 and another IPv4 client are served.
	hold(t, w, "127.0.0.9", true)
	hold(t, w, "127.0.0.10", false)
	if code := held.get(t, w); code == http.StatusServiceUnavailable {
		t.Fatal("an open connection was refused")
	}
}
