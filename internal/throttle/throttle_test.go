package throttle

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newThrottle(c *clock) *Throttle { return New(Options{Now: c.Now}) }

var (
	attacker = netip.MustParseAddr("203.0.113.7")
	owner    = netip.MustParseAddr("198.51.100.20")
)

func mustAllow(t *testing.T, th *Throttle, ip netip.Addr, login string) {
	t.Helper()
	if ok, wait := th.Allow(ip, login); !ok {
		t.Fatalf("Allow(%s, %q) refused (retry after %v), want allowed", ip, login, wait)
	}
}

func mustRefuse(t *testing.T, th *Throttle, ip netip.Addr, login string) time.Duration {
	t.Helper()
	ok, wait := th.Allow(ip, login)
	if ok {
		t.Fatalf("Allow(%s, %q) allowed, want refused", ip, login)
	}
	if wait <= 0 {
		t.Fatalf("refused without a retry time")
	}
	return wait
}

// failDistinct records n failures with passwords never tried before, each
// after an allowed check, as a door would.
func failDistinct(t *testing.T, th *Throttle, ip netip.Addr, login string, n int) {
	t.Helper()
	for range n {
		mustAllow(t, th, ip, login)
		th.Fail(ip, login, rand.Text())
	}
}

func TestEleventhFailureWithinMinuteRefused(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	for i := range 10 {
		mustAllow(t, th, attacker, "alice")
		th.Fail(attacker, "alice", fmt.Sprintf("guess-%d", i))
		c.Advance(time.Second)
	}
	wait := mustRefuse(t, th, attacker, "alice")
	// The first failure was 10s ago; it leaves the minute window in 50s.
	if wait != 50*time.Second {
		t.Errorf("retry after %v, want 50s", wait)
	}
	// Refused for every login from that address, the correct one included.
	mustRefuse(t, th, attacker, "bob")
	mustRefuse(t, th, attacker, "")
}

func TestRefusedAddressBlocksCorrectPasswordAndSuccessErasesNothing(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	failDistinct(t, th, attacker, "alice", 9)
	// The address logs in successfully as another user (it owns one account).
	th.Succeed(attacker, "mallory")
	failDistinct(t, th, attacker, "alice", 1)
	// Ten failures counted despite the success in between.
	mustRefuse(t, th, attacker, "mallory")
	mustRefuse(t, th, attacker, "alice")
}

func TestOtherAddressWithCorrectPasswordAccepted(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	// Many addresses each fail against alice: the login is under attack.
	for i := range 30 {
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		mustAllow(t, th, ip, "alice")
		th.Fail(ip, "alice", fmt.Sprintf("guess-%d", i))
	}
	// An address that failed before gets no second guess at alice...
	mustRefuse(t, th, netip.MustParseAddr("192.0.2.1"), "alice")
	// ...but may still try other logins (its own limit is not reached).
	mustAllow(t, th, netip.MustParseAddr("192.0.2.1"), "bob")
	// The owner, from an address without failures, gets in.
	mustAllow(t, th, owner, "alice")
	th.Succeed(owner, "alice")

	// A fresh address whose first try fails is a suspect like the others...
	guest := netip.MustParseAddr("198.51.100.99")
	mustAllow(t, th, guest, "alice")
	th.Fail(guest, "alice", "typo")
	mustRefuse(t, th, guest, "alice")
	// ...while the owner's known-good address keeps working even after a typo.
	th.Fail(owner, "alice", "typo")
	mustAllow(t, th, owner, "alice")
}

func TestRepeatedIdenticalWrongPasswordCountsOnce(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	for range 30 {
		mustAllow(t, th, attacker, "alice")
		th.Fail(attacker, "alice", "old-saved-password")
		c.Advance(time.Second)
	}
	// One failure counted: eight more distinct ones (nine in all) still leave
	// the address allowed, the ninth distinct (ten in all) refuses it.
	failDistinct(t, th, attacker, "alice", 8)
	mustAllow(t, th, attacker, "alice")
	th.Fail(attacker, "alice", "one-more")
	mustRefuse(t, th, attacker, "alice")
}

func TestSamePasswordAgainstManyLoginsCountsEach(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	// Password spraying: one password, many logins.
	for i := range 10 {
		login := fmt.Sprintf("user%d", i)
		mustAllow(t, th, attacker, login)
		th.Fail(attacker, login, "Winter2026!")
	}
	mustRefuse(t, th, attacker, "user10")
}

func TestLoginCountIgnoresRepeatsFromManyDevices(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	// Twenty devices of one user retry the same stale password.
	for i := range 20 {
		ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
		th.Fail(ip, "alice", "stale")
	}
	// Counted once for alice, so alice is not under attack: a device that
	// failed may try again (with the new password).
	mustAllow(t, th, netip.MustParseAddr("10.0.0.1"), "alice")
}

func TestDayLimit(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	// 50 failures at 5 per minute stay under the minute limit.
	for i := range 50 {
		mustAllow(t, th, attacker, "alice")
		th.Fail(attacker, "alice", fmt.Sprintf("guess-%d", i))
		if i%5 == 4 {
			c.Advance(time.Minute)
		}
	}
	wait := mustRefuse(t, th, attacker, "alice")
	// The first failure was 10 minutes ago.
	if wait != 24*time.Hour-10*time.Minute {
		t.Errorf("retry after %v, want 23h50m", wait)
	}
	c.Advance(wait - time.Second)
	mustRefuse(t, th, attacker, "alice")
	c.Advance(time.Second)
	mustAllow(t, th, attacker, "alice")
}

func TestExpiryAfterAMinute(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	failDistinct(t, th, attacker, "alice", 10)
	mustRefuse(t, th, attacker, "alice")
	c.Advance(59 * time.Second)
	mustRefuse(t, th, attacker, "alice")
	c.Advance(time.Second)
	mustAllow(t, th, attacker, "alice")
	// The minute budget is whole again: ten more failures (twenty in the
	// day, still under fifty) refuse for a minute, not for a day.
	failDistinct(t, th, attacker, "alice", 10)
	if wait := mustRefuse(t, th, attacker, "alice"); wait > time.Minute {
		t.Errorf("retry after %v, want at most a minute", wait)
	}
}

func TestIPv6GroupedBySlash64(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	for i := range 10 {
		// A different address in the same /64 each time.
		ip := netip.MustParseAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1))
		mustAllow(t, th, ip, "alice")
		th.Fail(ip, "alice", fmt.Sprintf("guess-%d", i))
	}
	mustRefuse(t, th, netip.MustParseAddr("2001:db8:1:2:ffff:ffff:ffff:ffff"), "bob")
	mustAllow(t, th, netip.MustParseAddr("2001:db8:1:3::1"), "bob") // next /64
	// IPv4-mapped IPv6 is the IPv4 address.
	failDistinct(t, th, netip.MustParseAddr("192.0.2.55"), "carol", 10)
	mustRefuse(t, th, netip.MustParseAddr("::ffff:192.0.2.55"), "dave")
}

func TestLoginNamesNormalized(t *testing.T) {
	c := newClock()
	th := newThrottle(c)
	for i := range 10 {
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		th.Fail(ip, fmt.Sprintf(" Alice%s", []string{"", " "}[i%2]), fmt.Sprintf("g%d", i))
	}
	mustRefuse(t, th, netip.MustParseAddr("192.0.2.1"), "ALICE")
}

func TestLimitsFromOptions(t *testing.T) {
	c := newClock()
	var refusals []Reason
	th := New(Options{Now: c.Now, IPPerMinute: 3, IPPerDay: 4, OnRefuse: func(r Reason) { refusals = append(refusals, r) }})
	failDistinct(t, th, attacker, "x", 3)
	mustRefuse(t, th, attacker, "x")
	c.Advance(time.Minute)
	failDistinct(t, th, attacker, "x", 1)
	mustRefuse(t, th, attacker, "x")
	if len(refusals) != 2 || refusals[0] != ReasonIPMinute || refusals[1] != ReasonIPDay {
		t.Errorf("refusals %v, want [ip-minute ip-day]", refusals)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	c := newClock()
	th := New(Options{Now: c.Now, MaxEntries: 100})
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		th.Fail(ip, fmt.Sprintf("user%d", i), "pw")
		th.Succeed(ip, fmt.Sprintf("user%d", i))
		c.Advance(time.Millisecond)
	}
	ips, logins, good := th.Len()
	if ips > 100 || logins > 100 || good > 100 {
		t.Errorf("tables grew to %d/%d/%d, cap 100", ips, logins, good)
	}
	// The most recent entries survive eviction.
	last := netip.AddrFrom4([4]byte{10, 0, 3, 231}) // i = 999
	failDistinct(t, th, last, "user999", 8)
	mustAllow(t, th, last, "user999")
	th.Fail(last, "user999", "tenth")
	mustRefuse(t, th, last, "user999")

	// Everything expires after a day.
	c.Advance(24*time.Hour + time.Minute)
	th.Allow(attacker, "") // triggers the sweep
	if ips, logins, _ := th.Len(); ips != 0 || logins != 0 {
		t.Errorf("after a day %d addresses and %d logins remain", ips, logins)
	}
}

func TestConcurrentUse(t *testing.T) {
	th := New(Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				ip := netip.AddrFrom4([4]byte{10, 1, byte(g), byte(i % 7)})
				th.Allow(ip, "shared")
				th.Fail(ip, "shared", fmt.Sprint(i))
				th.Succeed(ip, "shared")
			}
		}()
	}
	wg.Wait()
	if ips, logins, good := th.Len(); ips != 56 || logins != 1 || good != 56 {
		t.Errorf("tracked %d/%d/%d, want 56/1/56", ips, logins, good)
	}
}

func TestAddrOf(t *testing.T) {
	tests := []struct {
		in   net.Addr
		want netip.Addr
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 25}, netip.MustParseAddr("192.0.2.1")},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 25}, netip.MustParseAddr("2001:db8::1")},
		{&net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.9"), Port: 1}, netip.MustParseAddr("192.0.2.9")},
		{&net.UnixAddr{Name: "/run/pochta.sock", Net: "unix"}, netip.Addr{}},
		{nil, netip.Addr{}},
	}
	for _, tt := range tests {
		if got := AddrOf(tt.in); got != tt.want {
			t.Errorf("AddrOf(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPasswordsAreNotKept(t *testing.T) {
	th := New(Options{})
	th.Fail(attacker, "alice", "hunter2-secret")
	th.mu.Lock()
	defer th.mu.Unlock()
	s := fmt.Sprintf("%+v %+v", th.ips, th.logins)
	for _, r := range th.ips {
		s += fmt.Sprintf("%+v", *r)
	}
	for _, r := range th.logins {
		s += fmt.Sprintf("%+v", *r)
	}
	for _, secret := range []string{"hunter2", "alice"} {
		if strings.Contains(s, secret) {
			t.Errorf("state holds %q: %s", secret, s)
		}
	}
}
