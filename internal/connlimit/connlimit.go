// Package connlimit bounds simultaneous connections: per client (an IPv4
// address, or an IPv6 address's /64, the block one customer usually holds)
// and in total for one door. Each door asks its Limiter when a connection
// arrives and answers a refusal in its own protocol's words; Listener does
// that for HTTP.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
)

// Reason says why a connection was refused; it is also the "reason" label
// of pochta_connections_refused_total.
type Reason string

const (
	// Accepted means the connection got a slot.
	Accepted Reason = ""
	// PerClient means the client's address (or /64) has its maximum.
	PerClient Reason = "per_ip"
	// Total means the door has its maximum from all clients together.
	Total Reason = "total"
)

// Limiter counts open connections. The zero caps mean no limit; a nil
// *Limiter accepts everything. Safe for concurrent use.
type Limiter struct {
	perClient, total int

	mu     sync.Mutex
	open   int
	counts map[netip.Prefix]int
}

// New returns a Limiter allowing perClient connections from one client and
// total connections altogether; 0 (or less) means no limit.
func New(perClient, total int) *Limiter {
	return &Limiter{perClient: max(perClient, 0), total: max(total, 0), counts: map[netip.Prefix]int{}}
}

// Acquire takes a slot for a connection from ip. On success it returns
// Accepted and release, which frees the slot (once; later calls do
// nothing). Otherwise release is nil and reason says which cap was hit.
// An invalid ip (no address, e.g. a unix socket) counts only in the total.
func (l *Limiter) Acquire(ip netip.Addr) (release func(), reason Reason) {
	if l == nil {
		return func() {}, Accepted
	}
	key, keyed := ClientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	keyed = keyed && l.perClient > 0
	// The client's own cap first: when both are full, the client is the
	// one to tell.
	if keyed && l.counts[key] >= l.perClient {
		return nil, PerClient
	}
	if l.total > 0 && l.open >= l.total {
		return nil, Total
	}
	l.open++
	if keyed {
		l.counts[key]++
	}
	var once sync.Once
	return func() { once.Do(func() { l.release(key, keyed) }) }, Accepted
}

// AcquireAddr is Acquire for a connection's RemoteAddr.
func (l *Limiter) AcquireAddr(a net.Addr) (release func(), reason Reason) {
	return l.Acquire(AddrOf(a))
}

func (l *Limiter) release(key netip.Prefix, keyed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if keyed {
		if l.counts[key]--; l.counts[key] <= 0 {
			delete(l.counts, key)
		}
	}
}

// Open returns the number of connections holding a slot.
func (l *Limiter) Open() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// ClientKey is the group ip is counted in: an IPv4 address alone (an
// IPv4-mapped IPv6 address counts as its IPv4 address), an IPv6 address
// with the rest of its /64. ok is false for the zero Addr.
func ClientKey(ip netip.Addr) (key netip.Prefix, ok bool) {
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// AddrOf extracts the client address from a connection's RemoteAddr (TCP
// or any "host:port" form), unmapped; the zero Addr when there is none.
func AddrOf(a net.Addr) netip.Addr {
	if tcp, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(tcp.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
