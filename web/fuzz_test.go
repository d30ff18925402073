package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/internal/message"
)

// Message HTML is network input: whatever it is, the sanitised result must
// hold nothing that runs or loads (checkSafeHTML says what).
func FuzzSanitizeHTML(f *testing.F) {
	for _, s := range []string{
		`<p>hello</p>`,
		`<script>alert(1)</script><img src=x onerror=alert(1)>`,
		`<a href="jav&#x09;ascript:alert(1)">x</a><a href="https://example.org">y</a>`,
		`<p style="color:red;width:expression(alert(1));background:url(http://x/)">z</p>`,
		`<img src="http://remote.example/a.png"><img src="cid:logo@x"><img src="data:image/png;base64,AAAA">`,
		`<svg><image href="http://x/"/></svg><math><mi xlink:href="javascript:x">m</mi></math>`,
		`<table background="http://x/"><tr><td style="background-image:url(http://x/)">c</td></tr></table>`,
		`<!--[if mso]><script>x</script><![endif]--><style>@import url(http://x/)</style>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
		`<form action=http://x/><input type=image src=http://x/><button formaction=http://x/>b</button></form>`,
		`<img srcset="http://x/ 2x" src="//x/y.png"><video poster=http://x/></video><object data=x></object>`,
		`<a href="mailto:a@b?subject=x">m</a><font color="#fff" face="Arial">f</font>`,
		"<p style=\"font-family:'a\\\\' url(x)'\">q</p>",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	p := newPolicy()
	inline := func(cid string) (string, bool) { return "data:image/png;base64,AAAA", cid != "" }
	f.Fuzz(func(t *testing.T, src string, allowRemote bool) {
		out, blocked := sanitizeHTML(p, src, allowRemote, inline)
		if blocked < 0 || (allowRemote && blocked != 0) {
			t.Fatalf("blocked %d with allowRemote %v", blocked, allowRemote)
		}
		checkSafeHTML(t, out, allowRemote)
		// Sanitising is stable: the output sanitised again is safe too.
		again, _ := sanitizeHTML(p, out, allowRemote, inline)
		checkSafeHTML(t, again, allowRemote)
		_ = htmlToText(src)
	})
}

// Address fields come from the browser: parsing never panics, accepts only
// valid addresses, and what it accepts survives formatting and parsing.
func FuzzParseAddresses(f *testing.F) {
	for _, s := range []string{
		"bob@example.com", `Bob <bob@example.com>, "Doe, Jane" <jane@example.org>`, "a b@x.org", "Zoë <zoe@exämple.de>; c@d.org",
		`"unterminated <a@b.c>`, "<<a@b.c>>", "x: a@b.c, d@e.f;", "(comment) a@b.c", `"a\"b" <a@b.c>`, ",,,", "a@b.c,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		l, err := parseAddresses("to", v)
		if err != nil {
			return
		}
		for _, a := range l {
			if strings.ContainsAny(a.Address, " \t\r\n") || strings.Count(a.Address, "@") < 1 {
				t.Fatalf("accepted %q from %q", a.Address, v)
			}
			back, err := parseAddresses("to", formatAddress(a.Name, a.Address))
			if err != nil || len(back) != 1 || back[0].Address != a.Address {
				t.Fatalf("%+v from %q does not survive formatting as %q: %v %v", a, v, formatAddress(a.Name, a.Address), back, err)
			}
		}
	})
}

// Part paths and search cursors come from URLs.
func FuzzPartPathAndCursor(f *testing.F) {
	for _, s := range []string{"1", "2.3", "0", "1..2", "99999", "1.2.3.4.5", "1700000000000000000.12", "-5.3", "a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, ok := parsePartPath(s); ok {
			if pathString(p) != s {
				t.Fatalf("path %q read as %v", s, p)
			}
		}
		if c, ok := parseCursor(s); ok && s != "" {
			// Spellings with leading zeros format differently but must
			// read back the same.
			if c2, ok := parseCursor(formatCursor(c)); !ok || c2 != c || c.ID <= 0 {
				t.Fatalf("cursor %q: %v does not round trip", s, c)
			}
		}
	})
}

// A composed message read back has what was written: subject, body, the
// names and contents of its files, whatever they are.
func FuzzComposeRoundTrip(f *testing.F) {
	f.Add("Hello", "Body text\n", "Zoë", "file.txt", []byte("data"))
	f.Add("Grüße — =?utf-8?q?x?=", "=\n.\r\n\x00line", "\"Doe, Jane\"", "résumé (1).pdf", []byte{0, 1, 2, 255})
	f.Add("", "", "", "", []byte{})
	f.Add(strings.Repeat("long subject ", 30), strings.Repeat("x", 1200), "a\\b", "a;b=c.eml", []byte("From: x\r\n\r\ny"))
	f.Fuzz(func(t *testing.T, subject, body, name, filename string, data []byte) {
		if !utf8.ValidString(subject) || !utf8.ValidString(body) || !utf8.ValidString(name) || strings.ContainsAny(subject+name, "\r\n\x00") {
			return
		}
		filename = safeFileName(filename)
		if filename == "" {
			filename = "attachment"
		}
		subject = strings.TrimSpace(subject)
		m := &composed{
			from: &mail.Address{Name: name, Address: "a@example.com"}, to: []*mail.Address{{Address: "b@example.org"}},
			subject: subject, body: body, date: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), messageID: "id@example.com",
			attachments: []attachment{{name: filename, ctype: "application/octet-stream", data: data}},
		}
		raw, err := m.build()
		if err != nil {
			t.Fatal(err)
		}
		p := message.Parse(raw)
		if strings.Join(strings.Fields(p.Subject), " ") != strings.Join(strings.Fields(subject), " ") {
			t.Fatalf("subject %q came back as %q", subject, p.Subject)
		}
		if got, want := strings.ReplaceAll(message.TextBody(raw, p), "\r\n", "\n"), normalizeNewlines(body); got != want {
			t.Fatalf("body %q came back as %q", body, got)
		}
		atts := message.Attachments(p)
		if len(atts) != 1 {
			t.Fatalf("%d attachments", len(atts))
		}
		if atts[0].FileName != filename {
			t.Fatalf("file name %q came back as %q", filename, atts[0].FileName)
		}
		buf := new(bytes.Buffer)
		buf.ReadFrom(message.DecodeBody(raw, atts[0].Part))
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("attachment of %d bytes came back as %d", len(data), buf.Len())
		}
	})
}

// Search parameters come from the query string; bad ones are refused
// with a problem, never a panic.
func FuzzSearchQuery(f *testing.F) {
	f.Add("q=hello&since=2025-01-01&before=2025-02-01T00:00:00Z&folder=3&cursor=1.2&limit=10")
	f.Add("since=yesterday&limit=-1&folder=x")
	f.Add("cursor=..&q=" + strings.Repeat("a", 600))
	e := echo.New()
	f.Fuzz(func(t *testing.T, rawQuery string) {
		if _, err := url.ParseQuery(rawQuery); err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "/web/api/search", nil)
		req.URL.RawQuery = rawQuery
		c := e.NewContext(req, httptest.NewRecorder())
		q, err := parseSearch(c)
		if err != nil {
			if _, ok := err.(*Problem); !ok {
				t.Fatalf("not a problem: %v", err)
			}
			b, _ := json.Marshal(err)
			if !utf8.Valid(b) {
				t.Fatal("problem is not UTF-8 JSON")
			}
			return
		}
		if q.Limit <= 0 || q.Limit > maxPageSize || q.Folder < 0 || slices.Contains([]string{q.Text, q.From, q.Subject, q.Body}, strings.Repeat("a", 600)) {
			t.Fatalf("accepted %+v", q)
		}
	})
}
