package smtp

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawGreeting connects from src (a loopback address) and returns the first
// line and the rest the server sent before closing; over TLS when cfg is set.
func rawGreeting(t *testing.T, src, addr string, cfg *tls.Config) (greeting string, conn net.Conn) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	if cfg != nil {
		c = tls.Client(c, cfg)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("greeting from %s: %v", addr, err)
	}
	return l, c
}

// The server-wide cap: the connection beyond MaxConns is refused with 421
// at the greeting whatever its address, the sessions already open carry on,
// and a slot is free again once one of them has gone.
func TestConnsTotal(t *testing.T) {
	h := newHarness(t, harnessConfig{opts: func(o *Options) { o.MaxConns = 2 }})
	alice := h.addUser("alice@example.com", "alice-password-1")
	a, b := h.dial(h.mxAddr), h.dial(h.mxAddr)

	// From another address: the per-address limit (none here) is not what
	// refuses it.
	l, c := rawGreeting(t, "127.0.0.2", h.mxAddr, nil)
	if !strings.HasPrefix(l, "421 4.7.0 ") || !strings.Contains(l, "Too many connections") {
		t.Fatalf("third connection greeted %q", l)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("refused connection not closed cleanly: %v", err)
	}

	// The open sessions still work: a whole delivery on one of them.
	msg := "From: x@remote.example\r\nSubject: over the cap\r\n\r\nstill delivered\r\n"
	if err := send(a, "x@remote.example", []string{alice.Address}, msg); err != nil {
		t.Fatalf("delivery on an open session: %v", err)
	}
	if got := len(h.inbox(alice.ID)); got != 1 {
		t.Fatalf("%d messages in the inbox, want 1", got)
	}

	// The server closes after QUIT and frees the slot when it notices.
	if err := b.Quit(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, c := rawGreeting(t, "127.0.0.3", h.mxAddr, nil)
		c.Close()
		if strings.HasPrefix(l, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %q", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.Noop(); err != nil {
		t.Fatalf("first session after the churn: %v", err)
	}
}

// On the implicit-TLS port the total cap is refused over TLS too.
func TestConnsTotalImplicitTLS(t *testing.T) {
	h := newHarness(t, harnessConfig{opts: func(o *Options) { o.MaxConns = 1 }})
	l, _ := rawGreeting(t, "127.0.0.2", h.subsAddr, h.env.ClientTLS)
	if !strings.HasPrefix(l, "220 ") {
		t.Fatalf("first connection greeted %q", l)
	}
	l, _ = rawGreeting(t, "127.0.0.3", h.subsAddr, h.env.ClientTLS)
	if !strings.HasPrefix(l, "421 4.7.0 ") || !strings.Contains(l, "Too many connections") {
		t.Fatalf("second connection greeted %q", l)
	}
	// The MX server has its own count.
	if l, _ := rawGreeting(t, "127.0.0.3", h.mxAddr, nil); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("MX while submission is full: %q", l)
	}
}
