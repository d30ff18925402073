package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
)

// FuzzAccountCreateBody feeds arbitrary request bodies through the JSON
// decoding and validation of POST /accounts: the answer is either a
// problem of a client-error status, or a request whose values are valid.
func FuzzAccountCreateBody(f *testing.F) {
	for _, seed := range []string{
		`{"address":"alice@example.com","password":"correct horse","display_name":"Alice","quota_bytes":1000}`,
		`{"address":"alice@example.com","password":"short"}`,
		`{"address":5}`,
		`{"address":"a@b","password":"12345678","bogus":true}`,
		`{"address":"x@example.com","password":"12345678","quota_bytes":-1}`,
		`{"address":"x@example.com","password":"12345678","quota_bytes":1e30}`,
		`{"address":"x@example.com","password":"1234\u00005678"}`,
		`{"address":"x@example.com"} {"address":"y@example.com"}`,
		`[]`, `null`, `"x"`, `{`, ``, `{"address":"` + strings.Repeat("a", 5000) + `@example.com"}`,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte(`address=x`), "application/x-www-form-urlencoded")
	f.Add([]byte(`{}`), "application/merge-patch+json; charset=utf-8")
	f.Add([]byte(`{}`), "application/json; charset")
	s := &Server{opts: Options{MaxBodyBytes: 4096, MinPasswordLength: 8}}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := httptest.NewRequest(http.MethodPost, Prefix+"/accounts", bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		c := e.NewContext(req, httptest.NewRecorder())
		var in accountCreate
		err := s.decodeBody(c, &in)
		var addr string
		if err == nil {
			addr, err = s.checkAccountCreate(&in)
		}
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("error is not a problem: %v", err)
			}
			switch p.Status {
			case 400, 413, 415, 422:
			default:
				t.Fatalf("status %d for a bad body", p.Status)
			}
			if p.Status == 422 && len(p.Errors) == 0 {
				t.Fatal("validation problem without field errors")
			}
			return
		}
		if !directory.ValidAddress(addr) || utf8.RuneCountInString(in.Password) < 8 || in.QuotaBytes != nil && *in.QuotaBytes < 0 {
			t.Fatalf("accepted %+v", in)
		}
	})
}

// FuzzCursor: a cursor decodes only if it is exactly what encodeCursor
// makes.
func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(0))
	f.Add(encodeCursor(123456789))
	f.Add("YzEuMDA")  // "c1.00"
	f.Add("YzEuLTE")  // "c1.-1"
	f.Add("YzEuKzE")  // "c1.+1"
	f.Add("bm9wZQ")   // "nope"
	f.Add("YzEu")     // "c1."
	f.Add("YzEuMQ==") // padded
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := decodeCursor(s)
		if !ok {
			return
		}
		if n < 0 || encodeCursor(n) != s {
			t.Fatalf("%q decoded to %d, which encodes as %q", s, n, encodeCursor(n))
		}
	})
}

// FuzzBearerToken: whatever the Authorization header holds, the token
// taken from it has no white space and came after a Bearer scheme.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer pochta_0123456789abcdef_x", "bearer  x", "Bearer", "Bearer ", "Basic YTpi", "Bearer a b", "BEARER\tx", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearerToken(h)
		if !ok {
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") || !strings.HasSuffix(h, tok) || !strings.EqualFold(h[:6], "Bearer") {
			t.Fatalf("%q gave token %q", h, tok)
		}
	})
}
