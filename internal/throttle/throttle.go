// Package throttle is the one authentication throttle shared by every door
// (SMTP AUTH, IMAP, POP3, MAPI Basic, webmail, REST API), so an attacker
// cannot get more guesses by switching protocols.
//
// Use it around every password check:
//
//	if ok, wait := th.Allow(ip, login); !ok {
//		// refuse without checking the password; suggest retrying after wait
//	}
//	if err := check(login, password); err != nil {
//		th.Fail(ip, login, password)
//	} else {
//		th.Succeed(ip, login)
//	}
//
// Policy:
//
//   - Per client address (IPv4 address, IPv6 /64): at most IPPerMinute
//     failures within any minute and IPPerDay within any 24 hours; beyond
//     that the address is refused, even with a correct password, until the
//     oldest counted failure leaves the window.
//   - Per login name, across addresses: beyond LoginPerMinute (or
//     LoginPerDay) failures, the login is refused from addresses that have
//     failed before (any login, within a day) and have not logged in as it
//     successfully. An address with a clean record, or one the owner used
//     before, still gets in, so a distributed attack cannot lock the owner
//     out, and each attacking address gets at most one guess once the
//     login is under attack.
//   - A wrong password repeated (same login, same password, from the same
//     address for the address count, from anywhere for the login count)
//     counts once: a client retrying a stale saved password is not an
//     attack and must not lock its user out. Passwords are never stored,
//     only a keyed 64-bit fingerprint.
//   - A success never erases failures, so one valid account does not reset
//     an address's count while it guesses others.
//
// Memory is bounded: entries expire after a day, tables are capped at
// MaxEntries (least recently active entries go first), and a login key is
// a fixed-size fingerprint whatever the client sends.
package throttle

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	minute = time.Minute
	day    = 24 * time.Hour
)

// Reason says which limit refused an attempt.
type Reason string

const (
	ReasonIPMinute Reason = "ip-minute" // the address failed too often within a minute
	ReasonIPDay    Reason = "ip-day"    // the address failed too often within a day
	ReasonLogin    Reason = "login"     // the login is under attack and this address has failed before
)

// Options configures a Throttle; zero fields take the defaults shown.
type Options struct {
	IPPerMinute    int // failures per address per minute before refusal (10)
	IPPerDay       int // failures per address per 24 hours (50)
	LoginPerMinute int // failures per login per minute before suspicious addresses are refused (10)
	LoginPerDay    int // failures per login per 24 hours (100)

	// KnownGoodFor is how long a successful login lets its address past the
	// per-login limit for that login (30 days).
	KnownGoodFor time.Duration
	// MaxEntries caps each table: addresses, logins, known-good pairs (100000).
	MaxEntries int
	// Now is the clock (time.Now); tests inject their own.
	Now func() time.Time
	// Key keys the password and login fingerprints; random when empty, so
	// fingerprints are useless outside this process.
	Key []byte
	// OnRefuse, if set, is called (without locks held) for every refused
	// attempt, e.g. to count it in a metric.
	OnRefuse func(Reason)
}

// Throttle tracks authentication failures. It is safe for concurrent use.
type Throttle struct {
	opts Options

	mu        sync.Mutex
	ips       map[netip.Prefix]*record
	logins    map[loginKey]*record
	good      map[goodKey]time.Time // last successful login of the pair
	lastSweep time.Time
}

type loginKey [16]byte

type goodKey struct {
	net   netip.Prefix
	login loginKey
}

// failure is one counted failure: when, and the fingerprint of the
// (login, password) tried, to recognise a repeat.
type failure struct {
	at          time.Time
	fingerprint uint64
}

// record is the failures of one address or login within the last day,
// oldest first, at most the day limit of them.
type record struct {
	fails []failure
	last  time.Time // latest activity, for eviction
}

// New returns a Throttle with opts, defaults filled in.
func New(opts Options) *Throttle {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.IPPerMinute, 10)
	def(&opts.IPPerDay, 50)
	def(&opts.LoginPerMinute, 10)
	def(&opts.LoginPerDay, 100)
	def(&opts.MaxEntries, 100_000)
	if opts.KnownGoodFor <= 0 {
		opts.KnownGoodFor = 30 * day
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Key) == 0 {
		opts.Key = make([]byte, 32)
		rand.Read(opts.Key) // never fails (crypto/rand panics rather than return an error)
	}
	return &Throttle{
		opts:   opts,
		ips:    map[netip.Prefix]*record{},
		logins: map[loginKey]*record{},
		good:   map[goodKey]time.Time{},
	}
}

// AddrOf extracts the client address from a connection's RemoteAddr (TCP
// or any "host:port" form); the zero Addr when there is none (unix socket).
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

// Allow reports whether an authentication attempt from ip for login may
// proceed. When it may not, retryAfter says when the blocking limit frees
// up (a hint for the client; the answer may change earlier or later).
// login may be empty when it is not known yet; only the address is
// checked then.
func (t *Throttle) Allow(ip netip.Addr, login string) (ok bool, retryAfter time.Duration) {
	now := t.opts.Now()
	group := netOf(ip)
	t.mu.Lock()
	t.sweep(now)
	reason, wait := t.refusal(now, group, login)
	t.mu.Unlock()
	if reason == "" {
		return true, 0
	}
	if t.opts.OnRefuse != nil {
		t.opts.OnRefuse(reason)
	}
	return false, wait
}

// refusal returns why an attempt would be refused and for how long, or ""
// when it is allowed. Must be called with t.mu held.
func (t *Throttle) refusal(now time.Time, group netip.Prefix, login string) (Reason, time.Duration) {
	ipRec := t.ips[group]
	if ipRec != nil {
		if wait := ipRec.wait(now, minute, t.opts.IPPerMinute); wait > 0 {
			return ReasonIPMinute, max(wait, ipRec.wait(now, day, t.opts.IPPerDay))
		}
		if wait := ipRec.wait(now, day, t.opts.IPPerDay); wait > 0 {
			return ReasonIPDay, wait
		}
	}
	if login == "" {
		return "", 0
	}
	lk := t.loginKey(login)
	lr := t.logins[lk]
	if lr == nil {
		return "", 0
	}
	wait := max(lr.wait(now, minute, t.opts.LoginPerMinute), lr.wait(now, day, t.opts.LoginPerDay))
	if wait == 0 {
		return "", 0
	}
	// The login is under attack. Only addresses with failures of their own
	// are suspects; a known-good address for this login is its owner.
	if ipRec == nil || ipRec.count(now, day) == 0 {
		return "", 0
	}
	if last, ok := t.good[goodKey{group, lk}]; ok && now.Sub(last) < t.opts.KnownGoodFor {
		return "", 0
	}
	return ReasonLogin, wait
}

// Fail records a failed authentication. The password is only fingerprinted
// (keyed hash) to recognise repeats, never kept.
func (t *Throttle) Fail(ip netip.Addr, login, password string) {
	now := t.opts.Now()
	group := netOf(ip)
	norm := normalize(login)
	fp := t.fingerprint(norm, password)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	ipRec := t.ips[group]
	if ipRec == nil {
		t.makeRoom(now)
		ipRec = &record{}
		t.ips[group] = ipRec
	}
	ipRec.add(now, fp, t.opts.IPPerDay)
	if norm == "" {
		return
	}
	lk := t.loginKey(login)
	lr := t.logins[lk]
	if lr == nil {
		t.makeRoom(now)
		lr = &record{}
		t.logins[lk] = lr
	}
	lr.add(now, fp, max(t.opts.LoginPerDay, t.opts.LoginPerMinute))
}

// Succeed records a successful authentication: the address becomes known
// good for this login. It does not erase any failure.
func (t *Throttle) Succeed(ip netip.Addr, login string) {
	if normalize(login) == "" {
		return
	}
	now := t.opts.Now()
	key := goodKey{netOf(ip), t.loginKey(login)}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	if _, ok := t.good[key]; !ok {
		t.makeRoom(now)
	}
	t.good[key] = now
}

// netOf groups addresses the way one client usually holds them: an IPv4
// address alone, an IPv6 address with its /64 (one subnet per customer).
// The zero Addr (no IP, e.g. a unix socket) is its own group.
func netOf(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits) // cannot fail: bits fits the family
	return p
}

// normalize makes logins that name the same account compare equal.
func normalize(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

func (t *Throttle) mac(parts ...string) []byte {
	h := hmac.New(sha256.New, t.opts.Key)
	for _, p := range parts {
		// Length-prefixed so that ("ab","c") and ("a","bc") differ.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

func (t *Throttle) fingerprint(normLogin, password string) uint64 {
	return binary.BigEndian.Uint64(t.mac("password", normLogin, password))
}

func (t *Throttle) loginKey(login string) loginKey {
	var k loginKey
	copy(k[:], t.mac("login", normalize(login)))
	return k
}

// add counts a failure unless the same fingerprint is already counted
// within the day, keeping at most limit entries.
func (r *record) add(now time.Time, fp uint64, limit int) {
	r.prune(now)
	r.last = now
	for _, f := range r.fails {
		if f.fingerprint == fp {
			return // a repeat of a guess already counted
		}
	}
	if len(r.fails) >= limit {
		r.fails = append(r.fails[:0], r.fails[len(r.fails)-limit+1:]...)
	}
	r.fails = append(r.fails, failure{at: now, fingerprint: fp})
}

// prune drops failures older than a day.
func (r *record) prune(now time.Time) {
	i := 0
	for i < len(r.fails) && now.Sub(r.fails[i].at) >= day {
		i++
	}
	if i > 0 {
		r.fails = append(r.fails[:0], r.fails[i:]...)
	}
}

// count is the number of failures within window before now.
func (r *record) count(now time.Time, window time.Duration) int {
	n := 0
	for i := len(r.fails) - 1; i >= 0 && now.Sub(r.fails[i].at) < window; i-- {
		n++
	}
	return n
}

// wait is how long until fewer than limit failures remain within window,
// or 0 when that is already so.
func (r *record) wait(now time.Time, window time.Duration, limit int) time.Duration {
	n := r.count(now, window)
	if n < limit {
		return 0
	}
	// Once this failure leaves the window, limit-1 remain.
	freeing := r.fails[len(r.fails)-n+(n-limit)]
	return max(freeing.at.Add(window).Sub(now), time.Nanosecond)
}

// sweep drops expired entries, at most once a minute. Must be called with
// t.mu held.
func (t *Throttle) sweep(now time.Time) {
	if now.Sub(t.lastSweep) < minute {
		return
	}
	t.lastSweep = now
	t.expire(now)
}

func (t *Throttle) expire(now time.Time) {
	for k, r := range t.ips {
		if r.prune(now); len(r.fails) == 0 {
			delete(t.ips, k)
		}
	}
	for k, r := range t.logins {
		if r.prune(now); len(r.fails) == 0 {
			delete(t.logins, k)
		}
	}
	for k, last := range t.good {
		if now.Sub(last) >= t.opts.KnownGoodFor {
			delete(t.good, k)
		}
	}
}

// makeRoom keeps every table below MaxEntries before an insertion: expire
// what is old, then drop the least recently active tenth of a full table
// (so the sorting cost is spread over many insertions). Must be called with
// t.mu held.
func (t *Throttle) makeRoom(now time.Time) {
	limit := t.opts.MaxEntries
	if len(t.ips) < limit && len(t.logins) < limit && len(t.good) < limit {
		return
	}
	t.expire(now)
	keep := limit - max(limit/10, 1)
	evictOldest(t.ips, limit, keep, func(r *record) time.Time { return r.last })
	evictOldest(t.logins, limit, keep, func(r *record) time.Time { return r.last })
	evictOldest(t.good, limit, keep, func(last time.Time) time.Time { return last })
}

func evictOldest[K comparable, V any](m map[K]V, limit, keep int, last func(V) time.Time) {
	if len(m) < limit {
		return
	}
	type entry struct {
		key  K
		last time.Time
	}
	entries := make([]entry, 0, len(m))
	for k, v := range m {
		entries = append(entries, entry{k, last(v)})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].last.Before(entries[j].last) })
	for _, e := range entries[:len(entries)-keep] {
		delete(m, e.key)
	}
}

// Len reports how many addresses, logins and known-good pairs are tracked.
func (t *Throttle) Len() (ips, logins, good int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ips), len(t.logins), len(t.good)
}
