package api

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/internal/throttle"
)

// doWith is harness.do for a bodiless request with extra headers (what a
// reverse proxy adds), validated against the document like every answer.
func (h *harness) doWith(t *testing.T, method, path, token string, headers map[string]string) *response {
	t.Helper()
	req, err := http.NewRequest(method, h.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &response{Status: res.StatusCode, Header: res.Header, Body: data}
	h.validate(t, req, r)
	return r
}

// testTLSRequiredSweep: every protected route refuses a valid admin token
// that a remote client sent in plain HTTP through the (trusted) proxy,
// before looking at it: no authentication failure is counted.
func (h *harness) testTLSRequiredSweep(t *testing.T) {
	before := counterValue(t, h.metrics.AuthFailures.WithLabelValues("api"))
	remotePlain := map[string]string{"X-Forwarded-For": "192.0.2.10", "X-Forwarded-Proto": "http"}
	for _, key := range operations(t) {
		method, path, ok := strings.Cut(key, " ")
		if !ok || opScope(t, method, path) == "public" {
			continue
		}
		r := h.doWith(t, method, samplePath(path), h.admin, remotePlain)
		expectProblem(t, r, http.StatusForbidden, "tls-required")
	}
	if after := counterValue(t, h.metrics.AuthFailures.WithLabelValues("api")); after != before {
		t.Errorf("refused transports counted %v authentication failures", after-before)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// Over a real plain-HTTP listener on 127.0.0.1, a token is accepted only
// with the loopback switch or from a trusted proxy that terminated TLS;
// a request without a token is still a plain 401.
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
			h := newHarness(t, harnessOptions{transport: tc.policy})
			r := h.doWith(t, http.MethodGet, "/status", h.read, tc.headers)
			if tc.allowed {
				expect(t, r, http.StatusOK)
			} else {
				p := expectProblem(t, r, http.StatusForbidden, "tls-required")
				if p.Detail == "" {
					t.Error("tls-required without a detail")
				}
			}
			expectProblem(t, h.doWith(t, http.MethodGet, "/status", "", tc.headers), http.StatusUnauthorized, "unauthenticated")
		})
	}
}

// The throttle counts failures against the real client: behind a trusted
// proxy that is the X-Forwarded-For address, so one client's failures do
// not lock out another; from an untrusted peer the header is ignored, so
// a client cannot escape its bucket by inventing addresses.
func TestThrottleKeysOnClient(t *testing.T) {
	newTh := func() *throttle.Throttle {
		return throttle.New(throttle.Options{IPPerMinute: 3, IPPerDay: 100, LoginPerMinute: 1 << 20, LoginPerDay: 1 << 20})
	}
	failUntilThrottled := func(t *testing.T, h *harness, headers map[string]string) {
		t.Helper()
		for i := range 20 {
			// Different each time: the throttle forgives a repeated one.
			r := h.doWith(t, http.MethodGet, "/status", fmt.Sprintf("not-a-token-%d", i), headers)
			if r.Status == http.StatusTooManyRequests {
				return
			}
			expectProblem(t, r, http.StatusUnauthorized, "invalid-token")
		}
		t.Fatal("never throttled")
	}
	tlsFrom := func(client string) map[string]string {
		return map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": client}
	}

	t.Run("trusted proxy", func(t *testing.T) {
		h := newHarness(t, harnessOptions{throttle: newTh(),
			transport: &httpguard.Policy{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
		failUntilThrottled(t, h, tlsFrom("198.51.100.1"))
		expectProblem(t, h.doWith(t, http.MethodGet, "/status", h.read, tlsFrom("198.51.100.1")), http.StatusTooManyRequests, "too-many-requests")
		expect(t, h.doWith(t, http.MethodGet, "/status", h.read, tlsFrom("198.51.100.2")), http.StatusOK)
	})
	t.Run("untrusted peer", func(t *testing.T) {
		h := newHarness(t, harnessOptions{throttle: newTh(), transport: &httpguard.Policy{AllowInsecureLoopback: true}})
		failUntilThrottled(t, h, map[string]string{"X-Forwarded-For": "198.51.100.1"})
		expectProblem(t, h.doWith(t, http.MethodGet, "/status", h.read, map[string]string{"X-Forwarded-For": "198.51.100.2"}),
			http.StatusTooManyRequests, "too-many-requests")
	})
}
