package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"testing"
)

func acquire(t *testing.T, l *Limiter, addr string) func() {
	t.Helper()
	release, reason := l.Acquire(netip.MustParseAddr(addr))
	if reason != Accepted {
		t.Fatalf("%s refused (%s), want accepted", addr, reason)
	}
	return release
}

func refused(t *testing.T, l *Limiter, addr string, want Reason) {
	t.Helper()
	release, reason := l.Acquire(netip.MustParseAddr(addr))
	if reason != want {
		if release != nil {
			release()
		}
		t.Fatalf("%s: reason %q, want %q", addr, reason, want)
	}
	if release != nil {
		t.Fatalf("%s: a refusal returned a release func", addr)
	}
}

func TestIPv6SharesSlash64(t *testing.T) {
	l := New(2, 0)
	acquire(t, l, "2001:db8:1:2::1")
	acquire(t, l, "2001:db8:1:2:ffff::9")
	// A third address in the same /64 is the same client.
	refused(t, l, "2001:db8:1:2::abcd", PerClient)
	// The neighbouring /64 is another client.
	acquire(t, l, "2001:db8:1:3::1")
	// A zone does not make a different client.
	refused(t, l, "2001:db8:1:2::7%eth0", PerClient)
}

func TestIPv4ExactAndMapped(t *testing.T) {
	l := New(1, 0)
	acquire(t, l, "192.0.2.1")
	// IPv4 is counted by the address alone: the next one is another client.
	acquire(t, l, "192.0.2.2")
	// The IPv4-mapped form of 192.0.2.1 is 192.0.2.1.
	refused(t, l, "::ffff:192.0.2.1", PerClient)
	l2 := New(1, 0)
	acquire(t, l2, "::ffff:198.51.100.7")
	refused(t, l2, "198.51.100.7", PerClient)
}

func TestTotalAndPerClient(t *testing.T) {
	l := New(2, 3)
	r1 := acquire(t, l, "192.0.2.1")
	acquire(t, l, "192.0.2.1")
	refused(t, l, "192.0.2.1", PerClient)
	acquire(t, l, "192.0.2.2")
	// Three open: every client is refused now, for the total.
	refused(t, l, "192.0.2.3", Total)
	// A client at its own cap hears about its own cap.
	refused(t, l, "192.0.2.1", PerClient)
	if got := l.Open(); got != 3 {
		t.Fatalf("Open() = %d, want 3", got)
	}
	r1()
	acquire(t, l, "192.0.2.3")
	refused(t, l, "192.0.2.4", Total)
}

func TestReleaseOnce(t *testing.T) {
	l := New(1, 2)
	r := acquire(t, l, "192.0.2.1")
	r()
	r() // a second call must not free a slot that someone else holds
	acquire(t, l, "192.0.2.1")
	acquire(t, l, "192.0.2.2")
	refused(t, l, "192.0.2.3", Total)
	refused(t, l, "192.0.2.1", PerClient)
	if got := l.Open(); got != 2 {
		t.Fatalf("Open() = %d, want 2", got)
	}
}

func TestNoLimits(t *testing.T) {
	l := New(0, 0)
	for range 100 {
		acquire(t, l, "192.0.2.1")
	}
	var nilLimiter *Limiter
	release, reason := nilLimiter.Acquire(netip.MustParseAddr("192.0.2.1"))
	if reason != Accepted || release == nil {
		t.Fatalf("nil Limiter: %q", reason)
	}
	release()
}

// Connections without an IP address (unix sockets, pipes) have no client
// to group them by; they still count in the total.
func TestNoAddressCountsInTotal(t *testing.T) {
	l := New(1, 2)
	for range 2 {
		if _, reason := l.AcquireAddr(&net.UnixAddr{Name: "@sock", Net: "unix"}); reason != Accepted {
			t.Fatalf("no address: %q", reason)
		}
	}
	if _, reason := l.AcquireAddr(nil); reason != Total {
		t.Fatalf("third without address: %q, want total", reason)
	}
}

func TestAcquireAddr(t *testing.T) {
	l := New(1, 0)
	if _, reason := l.AcquireAddr(&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}); reason != Accepted {
		t.Fatal(reason)
	}
	// The same /64 from a "host:port" form.
	if _, reason := l.AcquireAddr(stringAddr("[2001:db8::2]:25")); reason != PerClient {
		t.Fatalf("same /64 as a string address: %q", reason)
	}
	// A 16-byte IPv4 address (as net.ParseIP makes them) is IPv4.
	if _, reason := l.AcquireAddr(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}); reason != Accepted {
		t.Fatal(reason)
	}
	if _, reason := l.Acquire(netip.MustParseAddr("192.0.2.1")); reason != PerClient {
		t.Fatalf("16-byte IPv4 counted apart from its 4-byte form: %q", reason)
	}
}

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }

// Many goroutines taking and freeing slots never exceed the caps and leave
// nothing behind.
func TestConcurrent(t *testing.T) {
	l := New(3, 5)
	var wg sync.WaitGroup
	var mu sync.Mutex
	perClient := map[string]int{}
	total := 0
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := []string{"192.0.2.1", "192.0.2.2", "2001:db8::1"}[g%3]
			for range 200 {
				release, reason := l.Acquire(netip.MustParseAddr(addr))
				if reason != Accepted {
					continue
				}
				mu.Lock()
				perClient[addr]++
				total++
				if perClient[addr] > 3 || total > 5 {
					t.Errorf("caps exceeded: %s=%d total=%d", addr, perClient[addr], total)
				}
				perClient[addr]--
				total--
				mu.Unlock()
				release()
			}
		}()
	}
	wg.Wait()
	if got := l.Open(); got != 0 {
		t.Fatalf("Open() = %d after every release", got)
	}
	if len(l.counts) != 0 {
		t.Fatalf("per-client counts left behind: %v", l.counts)
	}
}
