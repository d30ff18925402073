package mapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
)

// withHeaders adds fixed headers to every request, as a reverse proxy in
// front of the server would.
type withHeaders struct {
	next http.RoundTripper
	h    http.Header
	// setCookies, when set, collects the Set-Cookie lines of the answers.
	setCookies *[]string
}

func (w withHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range w.h {
		r.Header[k] = vs
	}
	res, err := w.next.RoundTrip(r)
	if err == nil && w.setCookies != nil {
		*w.setCookies = append(*w.setCookies, res.Header.Values("Set-Cookie")...)
	}
	return res, err
}

// Over a real plain-HTTP listener on 127.0.0.1, MAPI takes Basic
// credentials only with the loopback development switch, or from a
// trusted proxy that says it terminated TLS (X-Forwarded-Proto: https).
// A proxy that is not trusted, or that does not say https, is refused
// before the password is checked; and Autodiscover behind the trusted
// proxy points clients at https.
func TestTransportPolicy(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	elsewhere := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	viaProxy := http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"198.51.100.7"}}
	cases := []struct {
		name    string
		policy  *httpguard.Policy
		headers http.Header
		allowed bool
	}{
		{"plain, no switch", &httpguard.Policy{}, nil, false},
		{"plain, loopback switch", &httpguard.Policy{AllowInsecureLoopback: true}, nil, true},
		{"trusted proxy with https", &httpguard.Policy{TrustedProxies: loopback}, viaProxy, true},
		{"trusted proxy without X-Forwarded-Proto", &httpguard.Policy{TrustedProxies: loopback},
			http.Header{"X-Forwarded-For": {"198.51.100.7"}}, false},
		// The switch is about loopback clients: a remote client relayed in
		// plain text by a local proxy is still refused.
		{"trusted proxy, plain, remote client, switch on", &httpguard.Policy{TrustedProxies: loopback, AllowInsecureLoopback: true},
			http.Header{"X-Forwarded-Proto": {"http"}, "X-Forwarded-For": {"198.51.100.7"}}, false},
		{"untrusted peer claiming https", &httpguard.Policy{TrustedProxies: elsewhere}, viaProxy, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *mapi.Options) { o.Transport = tc.policy })
			alice := h.user("alice")
			addr := listenPlain(t, echoFor(h))
			var setCookies []string
			hc := &http.Client{Transport: withHeaders{http.DefaultTransport, tc.headers, &setCookies}}
			c := h.client(alice, func(o *mapiclient.Options) {
				o.MailStoreURL = "http://" + addr + mapi.EMSMDBPath
				o.HTTPClient = hc
			})
			_, err := c.Connect(context.Background())
			var re *mapiclient.ResponseError
			switch {
			case tc.allowed && err != nil:
				t.Errorf("Connect: %v", err)
			case !tc.allowed && (!errors.As(err, &re) || re.HTTPStatus != http.StatusForbidden):
				t.Errorf("Connect answered %v, want 403", err)
			}
			// Session cookies are Secure whenever the client reached us over
			// TLS, here or at the trusted proxy.
			if tc.allowed {
				if len(setCookies) == 0 {
					t.Error("Connect set no session cookies")
				}
				for _, ck := range setCookies {
					if secure := strings.Contains(ck, "; Secure"); secure != (tc.headers != nil) {
						t.Errorf("cookie %q: Secure = %v, want %v", ck, secure, tc.headers != nil)
					}
				}
			}
			if n := counterValue(t, h.metrics.AuthFailures.WithLabelValues("mapi")); n != 0 {
				t.Errorf("a refused transport counted %v authentication failures", n)
			}

			res, err := hc.Get("http://" + addr + mapi.AutodiscoverJSON + "/v1.0/alice@example.com?Protocol=AutodiscoverV1")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var ad mapi.AutodiscoverJSONResponse
			if err := json.NewDecoder(res.Body).Decode(&ad); err != nil {
				t.Fatal(err)
			}
			wantScheme := "https://"
			if tc.allowed && tc.headers == nil {
				wantScheme = "http://" // development: the plain listener itself
			}
			if !strings.HasPrefix(ad.URL, wantScheme) {
				t.Errorf("Autodiscover URL %q, want %s…", ad.URL, wantScheme)
			}
		})
	}
}
