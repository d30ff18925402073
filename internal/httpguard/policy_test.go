package httpguard

import (
	"crypto/tls"
	"net/http"
	"net/netip"
	"testing"
)

func prefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestPolicy(t *testing.T) {
	proxies := prefixes(t, "10.0.0.0/8", "127.0.0.1/32")
	cases := []struct {
		name        string
		policy      *Policy
		remote      string
		tls         bool
		headers     map[string][]string
		client      string
		secure      bool
		credentials bool
	}{
		{name: "TLS from anywhere", policy: &Policy{}, remote: "192.0.2.7:5000", tls: true,
			client: "192.0.2.7", secure: true, credentials: true},
		{name: "nil policy, TLS", policy: nil, remote: "192.0.2.7:5000", tls: true,
			client: "192.0.2.7", secure: true, credentials: true},
		{name: "nil policy, plain loopback", policy: nil, remote: "127.0.0.1:5000",
			client: "127.0.0.1", secure: false, credentials: false},
		{name: "plain loopback without the switch", policy: &Policy{}, remote: "127.0.0.1:5000",
			client: "127.0.0.1", secure: false, credentials: false},
		{name: "plain loopback with the switch", policy: &Policy{AllowInsecureLoopback: true}, remote: "127.0.0.1:5000",
			client: "127.0.0.1", secure: false, credentials: true},
		{name: "plain IPv6 loopback with the switch", policy: &Policy{AllowInsecureLoopback: true}, remote: "[::1]:5000",
			client: "::1", secure: false, credentials: true},
		{name: "plain remote with the switch", policy: &Policy{AllowInsecureLoopback: true}, remote: "192.0.2.7:5000",
			client: "192.0.2.7", secure: false, credentials: false},
		{name: "IPv4-mapped peer", policy: &Policy{AllowInsecureLoopback: true}, remote: "[::ffff:127.0.0.1]:5000",
			client: "127.0.0.1", secure: false, credentials: true},
		{name: "trusted proxy with X-Forwarded-Proto https", policy: &Policy{TrustedProxies: proxies}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"198.51.100.4"}},
			client:  "198.51.100.4", secure: true, credentials: true},
		{name: "trusted proxy, X-Forwarded-Proto in capitals", policy: &Policy{TrustedProxies: proxies}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Forwarded-Proto": {"HTTPS"}},
			client:  "10.1.2.3", secure: true, credentials: true},
		{name: "trusted proxy without X-Forwarded-Proto", policy: &Policy{TrustedProxies: proxies}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.4"}},
			client:  "198.51.100.4", secure: false, credentials: false},
		{name: "trusted proxy saying http", policy: &Policy{TrustedProxies: proxies}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Forwarded-Proto": {"http"}},
			client:  "10.1.2.3", secure: false, credentials: false},
		{name: "client's https before the proxy's http", policy: &Policy{TrustedProxies: proxies}, remote: "10.1.2.3:5000",
			headers: map[string][]string{"X-Forwarded-Proto": {"https, http"}},
			client:  "10.1.2.3", secure: false, credentials: false},
		{name: "loopback proxy relaying a remote client, switch on", policy: &Policy{TrustedProxies: proxies, AllowInsecureLoopback: true},
			remote: "127.0.0.1:5000", headers: map[string][]string{"X-Forwarded-For": {"198.51.100.4"}},
			client: "198.51.100.4", secure: false, credentials: false},
		{name: "untrusted peer spoofing both headers", policy: &Policy{TrustedProxies: proxies}, remote: "192.0.2.7:5000",
			headers: map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"127.0.0.1"}},
			client:  "192.0.2.7", secure: false, credentials: false},
		{name: "untrusted peer spoofing loopback, switch on", policy: &Policy{AllowInsecureLoopback: true}, remote: "192.0.2.7:5000",
			headers: map[string][]string{"X-Forwarded-For": {"127.0.0.1"}},
			client:  "192.0.2.7", secure: false, credentials: false},
		{name: "rightmost untrusted hop", policy: &Policy{TrustedProxies: proxies}, remote: "10.0.0.1:5000",
			headers: map[string][]string{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"203.0.113.66, 198.51.100.4", "10.9.9.9"}},
			client:  "198.51.100.4", secure: true, credentials: true},
		{name: "all hops trusted: leftmost", policy: &Policy{TrustedProxies: proxies}, remote: "10.0.0.1:5000",
			headers: map[string][]string{"X-Forwarded-For": {"10.3.3.3, 10.2.2.2"}},
			client:  "10.3.3.3", secure: false, credentials: false},
		{name: "garbage hop stops the walk", policy: &Policy{TrustedProxies: proxies}, remote: "10.0.0.1:5000",
			headers: map[string][]string{"X-Forwarded-For": {"198.51.100.4, not-an-address, 10.2.2.2"}},
			client:  "10.2.2.2", secure: false, credentials: false},
		{name: "hop with a port", policy: &Policy{TrustedProxies: proxies}, remote: "10.0.0.1:5000",
			headers: map[string][]string{"X-Forwarded-For": {"[2001:db8::5]:4711"}},
			client:  "2001:db8::5", secure: false, credentials: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodGet, "http://mail.example.com/", nil)
			if err != nil {
				t.Fatal(err)
			}
			r.RemoteAddr = c.remote
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, vs := range c.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := c.policy.ClientIP(r); got != netip.MustParseAddr(c.client) {
				t.Errorf("ClientIP = %v, want %s", got, c.client)
			}
			if got := c.policy.ExtractIP(r); got != c.client {
				t.Errorf("ExtractIP = %q, want %s", got, c.client)
			}
			if got := c.policy.Secure(r); got != c.secure {
				t.Errorf("Secure = %v, want %v", got, c.secure)
			}
			if got := c.policy.CredentialsAllowed(r); got != c.credentials {
				t.Errorf("CredentialsAllowed = %v, want %v", got, c.credentials)
			}
			want := "http"
			if c.secure {
				want = "https"
			}
			if got := c.policy.Scheme(r); got != want {
				t.Errorf("Scheme = %q, want %q", got, want)
			}
		})
	}
}

// FuzzClientIP: any X-Forwarded-For and X-Forwarded-Proto from a trusted
// proxy gives either a valid address or the peer's, never a panic, and an
// untrusted peer's headers change nothing.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"", "198.51.100.4", "203.0.113.66, 198.51.100.4, 10.9.9.9", "[2001:db8::5]:4711",
		"not-an-address", ",,,", "fe80::1%eth0", "::ffff:10.1.1.1", "10.0.0.1, unknown", "1.2.3.4:99999"} {
		f.Add(s, "https")
	}
	f.Add("198.51.100.4", "https, http")
	f.Add("198.51.100.4", "HTTPS")
	policy := &Policy{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	f.Fuzz(func(t *testing.T, xff, proto string) {
		for _, remote := range []string{"10.0.0.1:5000", "192.0.2.7:5000"} {
			r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}, "X-Forwarded-Proto": {proto}}}
			ip := policy.ClientIP(r)
			if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
				t.Fatalf("ClientIP(%q from %s) = %v", xff, remote, ip)
			}
			if remote == "192.0.2.7:5000" && (ip != netip.MustParseAddr("192.0.2.7") || policy.Secure(r)) {
				t.Fatalf("an untrusted peer's headers were believed: %v", ip)
			}
			_ = policy.CredentialsAllowed(r)
		}
	})
}
