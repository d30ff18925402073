// Package httpguard holds what the HTTP doors (MAPI over HTTP, the REST
// API, the webmail) share about the transport under a request: whether it
// arrived over TLS, who the client is when a reverse proxy stands between,
// whether it may carry credentials, and a minimum upload rate that cuts
// off slow request bodies (slowloris).
package httpguard

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Policy decides what a request's transport is believed to be. The zero
// value (and a nil *Policy) trusts no proxy and accepts credentials only
// over TLS.
//
// A request "arrived securely" when it came over TLS, or from a trusted
// proxy that says X-Forwarded-Proto: https (the proxy terminated TLS).
// The client address is the TCP peer, except that from a trusted proxy it
// is the rightmost X-Forwarded-For address that is not itself a trusted
// proxy: everything left of that was written by the client and proves
// nothing. Headers from any other peer are ignored, so a client cannot pick
// the address the authentication throttle counts against.
type Policy struct {
	// TrustedProxies are the TLS-terminating reverse proxies.
	TrustedProxies []netip.Prefix
	// AllowInsecureLoopback accepts credentials over plain HTTP when the
	// client address is loopback (127.0.0.0/8, ::1): development only.
	AllowInsecureLoopback bool
}

// peer is the TCP peer address of r (invalid if RemoteAddr is not one).
func peer(r *http.Request) netip.Addr {
	return parseAddr(r.RemoteAddr)
}

// parseAddr reads "192.0.2.1", "2001:db8::1", "[2001:db8::1]:443" or
// "192.0.2.1:80"; IPv4-mapped IPv6 becomes IPv4.
func parseAddr(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}

// trusted reports whether a is one of the trusted proxies.
func (p *Policy) trusted(a netip.Addr) bool {
	if p == nil || !a.IsValid() {
		return false
	}
	for _, pre := range p.TrustedProxies {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the address of the client that sent r (see Policy). It is
// invalid only when RemoteAddr is not an address (a test's fake request).
func (p *Policy) ClientIP(r *http.Request) netip.Addr {
	from := peer(r)
	if !p.trusted(from) {
		return from
	}
	// Each proxy appends the address it received the request from; walk
	// from the right while the hops are our own proxies.
	hops := headerList(r.Header, "X-Forwarded-For")
	client := from
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseAddr(hops[i])
		if !a.IsValid() {
			// Garbage where an address belongs: nothing left of it can be
			// believed; the last trusted hop is the best answer.
			return client
		}
		client = a
		if !p.trusted(a) {
			return a
		}
	}
	return client
}

// Secure reports whether r arrived over TLS: directly, or through a
// trusted proxy that terminated it.
func (p *Policy) Secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !p.trusted(peer(r)) {
		return false
	}
	// The rightmost value is the one our proxy wrote, should it append to
	// a value the client sent.
	protos := headerList(r.Header, "X-Forwarded-Proto")
	return len(protos) > 0 && strings.EqualFold(protos[len(protos)-1], "https")
}

// CredentialsAllowed reports whether r may carry a password, token or
// session cookie: it arrived securely, or it comes from a loopback client
// and the development switch is on. A request refused here must be
// answered before its credentials are looked at.
func (p *Policy) CredentialsAllowed(r *http.Request) bool {
	if p.Secure(r) {
		return true
	}
	return p != nil && p.AllowInsecureLoopback && p.ClientIP(r).IsLoopback()
}

// Scheme is "https" when r arrived securely, else "http": the scheme of
// URLs that point back at this server.
func (p *Policy) Scheme(r *http.Request) string {
	if p.Secure(r) {
		return "https"
	}
	return "http"
}

// ExtractIP is ClientIP in the shape of echo's IPExtractor, so that
// echo.Context.RealIP follows the same rule.
func (p *Policy) ExtractIP(r *http.Request) string {
	if a := p.ClientIP(r); a.IsValid() {
		return a.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// headerList splits every value of a comma-separated header into its
// trimmed, non-empty elements, in order.
func headerList(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}
