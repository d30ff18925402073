package pop3_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/pop3"
)

// firstLine connects over implicit TLS from src (a loopback address) and
// returns the server's first line.
func firstLine(t *testing.T, src, addr string, cfg *tls.Config) string {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// The server-wide cap: the connection beyond MaxConns gets -ERR
// [SYS/TEMP] whatever its address and listener, the sessions already open
// carry on, and a slot is free again once one of them has quit.
func TestMaxConnsTotal(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.MaxConns = 2 })
	f.deliver(t, testMessage(1))
	a := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	if resp := a.login(); !strings.HasPrefix(resp, "+OK") {
		t.Fatalf("login: %q", resp)
	}
	// Both listeners count towards the one total.
	b := dialPlain(t, f.addr)

	if l := firstLine(t, "127.0.0.2", f.tlsAddr, f.env.ClientTLS); l != "-ERR [SYS/TEMP] Too many connections, try again later" {
		t.Fatalf("third connection: %q", l)
	}

	if resp := a.ok("STAT"); !strings.HasPrefix(resp, "+OK 1 ") {
		t.Fatalf("STAT on an open session over the cap: %q", resp)
	}
	b.ok("QUIT")
	if !b.closed() {
		t.Fatal("QUIT did not close")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := firstLine(t, "127.0.0.3", f.tlsAddr, f.env.ClientTLS)
		if strings.HasPrefix(l, "+OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %q", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.ok("NOOP")
}
