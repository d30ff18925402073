package imap

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// greetingFrom connects over implicit TLS from src (a loopback address) and
// returns the greeting line.
func (ts *testServer) greetingFrom(t *testing.T, src string) (string, net.Conn) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", ts.tlsAddr, ts.env.ClientTLS)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return l, c
}

// The server-wide cap: the connection beyond MaxConns gets BYE
// [UNAVAILABLE] whatever its address, the sessions already open carry on,
// and a slot is free again once one of them has logged out.
func TestIMAPConnectionLimitTotal(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.MaxConns = 2 })
	a := ts.client(t)
	b := ts.client(t)

	l, _ := ts.greetingFrom(t, "127.0.0.2")
	if !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
		t.Fatalf("third connection greeted with %q, want BYE [UNAVAILABLE]", l)
	}

	if _, err := a.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT on an open session over the cap: %v", err)
	}
	if err := b.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, c := ts.greetingFrom(t, "127.0.0.3")
		c.Close()
		if strings.HasPrefix(l, "* OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %q", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatalf("first session after the churn: %v", err)
	}
}
