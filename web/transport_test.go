package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/web"
)

// Over the harness's real plain-HTTP listener on 127.0.0.1, the webmail
// takes a password or a session cookie only with the loopback switch or
// from a trusted proxy that terminated TLS; otherwise it answers a
// tls-required problem before looking at them. Behind the trusted proxy
// the session cookie is marked Secure.
func TestTransportPolicy(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	viaTLSProxy := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
	cases := []struct {
		name    string
		policy  *httpguard.Policy
		headers map[string]string
		allowed bool
	}{
		{"plain, no switch", &httpguard.Policy{}, nil, false},
		{"plain, loopback switch", &httpguard.Policy{AllowInsecureLoopback: true}, nil, true},
		{"trusted proxy with https", &httpguard.Policy{TrustedProxies: loopback}, viaTLSProxy, true},
		{"trusted proxy without X-Forwarded-Proto", &httpguard.Policy{TrustedProxies: loopback}, map[string]string{"X-Forwarded-For": "198.51.100.7"}, false},
		{"untrusted peer claiming https", &httpguard.Policy{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, viaTLSProxy, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{configure: func(o *web.Options) { o.Transport = tc.policy }})
			send := func(method, path, body, cookie string) (*http.Response, map[string]any) {
				t.Helper()
				req, err := http.NewRequest(method, h.url+web.APIPrefix+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				for k, v := range tc.headers {
					req.Header.Set(k, v)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				data, _ := io.ReadAll(res.Body)
				var m map[string]any
				json.Unmarshal(data, &m)
				return res, m
			}
			expectTLSRequired := func(what string, res *http.Response, m map[string]any) {
				t.Helper()
				if res.StatusCode != http.StatusForbidden || m["code"] != "tls-required" || !strings.Contains(m["detail"].(string), "HTTPS") {
					t.Errorf("%s: %d %v, want 403 tls-required", what, res.StatusCode, m)
				}
			}

			res, m := send(http.MethodPost, "/login", `{"login":"alice@example.com","password":"`+password+`"}`, "")
			if !tc.allowed {
				expectTLSRequired("sign-in", res, m)
				// Any cookie at all is refused unread; no cookie is a plain 401.
				res, m = send(http.MethodGet, "/session", "", "pochta_web=whatever")
				expectTLSRequired("session cookie", res, m)
				if res, _ := send(http.MethodGet, "/session", "", ""); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("no cookie: %d, want 401", res.StatusCode)
				}
				return
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("sign-in: %d %v", res.StatusCode, m)
			}
			var cookie *http.Cookie
			for _, c := range res.Cookies() {
				if c.Name == "pochta_web" {
					cookie = c
				}
			}
			if cookie == nil {
				t.Fatal("no session cookie")
			}
			if behindProxy := tc.headers != nil; cookie.Secure != behindProxy {
				t.Errorf("cookie Secure = %v behind proxy = %v", cookie.Secure, behindProxy)
			}
			res, m = send(http.MethodGet, "/session", "", "pochta_web="+cookie.Value)
			if res.StatusCode != http.StatusOK || m["account"] == nil {
				t.Errorf("session: %d %v", res.StatusCode, m)
			}
		})
	}
}
