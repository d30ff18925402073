package web

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"golang.org/x/net/html"

	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// checkSafeHTML fails when sanitised markup could run a script, submit a
// form, frame or embed anything, or load a resource (remote images only
// when allowRemote).
func checkSafeHTML(t testing.TB, out string, allowRemote bool) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "script", "style", "iframe", "frame", "object", "embed", "link", "meta", "base", "form", "input", "button",
			"svg", "math", "video", "audio", "source", "track", "applet", "textarea", "select", "noscript", "template":
			t.Fatalf("element <%s> survived in %q", tok.Data, out)
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			val := strings.ToLower(strings.TrimSpace(a.Val))
			switch {
			case strings.HasPrefix(key, "on"):
				t.Fatalf("handler %s survived in %q", a.Key, out)
			case key == "srcset" || key == "background" || key == "poster" || key == "action" || key == "formaction" || key == "xlink:href" || key == "data":
				t.Fatalf("attribute %s survived in %q", a.Key, out)
			case key == "style" && (strings.Contains(val, "url(") || strings.Contains(val, "expression") || strings.Contains(val, "\\") || strings.Contains(val, "@import")):
				t.Fatalf("style %q survived in %q", a.Val, out)
			case key == "href":
				if !strings.HasPrefix(val, "http:") && !strings.HasPrefix(val, "https:") && !strings.HasPrefix(val, "mailto:") {
					t.Fatalf("href %q survived in %q", a.Val, out)
				}
			case key == "src":
				if tok.Data != "img" {
					t.Fatalf("src on <%s> in %q", tok.Data, out)
				}
				remote := strings.HasPrefix(val, "http:") || strings.HasPrefix(val, "https:")
				image := strings.HasPrefix(val, "data:image/png;base64,") || strings.HasPrefix(val, "data:image/jpeg;base64,") ||
					strings.HasPrefix(val, "data:image/gif;base64,") || strings.HasPrefix(val, "data:image/webp;base64,") || a.Val == blockedImage
				if !image && !(remote && allowRemote) {
					t.Fatalf("img src %q survived in %q", a.Val, out)
				}
			}
		}
	}
}

func TestSanitizeHTML(t *testing.T) {
	p := newPolicy()
	inline := func(cid string) (string, bool) {
		if cid == "logo@x" {
			return "data:image/png;base64,AAAA", true
		}
		return "", false
	}
	cases := []struct {
		name        string
		in          string
		remote      bool
		want        []string
		notWant     []string
		wantBlocked int
	}{
		{name: "script", in: `<p>a</p><script>alert(1)</script><SCRIPT SRC=//x.js></SCRIPT>`, want: []string{"<p>a</p>"}, notWant: []string{"alert", "x.js"}},
		{name: "handlers", in: `<img src=x onerror=alert(1)><body onload=alert(2)><div onmouseover="alert(3)">d</div>`, notWant: []string{"alert", "onerror", "onload"}},
		{name: "javascript links", in: `<a href="javascript:alert(1)">a</a><a href=" JaVaScRiPt:alert(2)">b</a><a href="java&#x09;script:alert(3)">c</a><a href="vbscript:x">d</a><a href="data:text/html,<script>alert(4)</script>">e</a>`,
			notWant: []string{"alert", "script:", "href"}},
		{name: "css expressions and urls", in: `<p style="color: red; width: expression(alert(1)); background: url(http://r.example/a); background-image:url(http://r.example/b)">x</p><div style="behavior: url(x.htc)">y</div><p style="font-family: url(http://r.example/f)">z</p>`,
			want: []string{"color: red"}, notWant: []string{"expression", "url(", "r.example", "behavior"}},
		{name: "remote image blocked", in: `<img src="http://r.example/p.gif" alt=""><img src="https://r.example/q.png" alt="logo"><img src="//r.example/s.png">`,
			want: []string{`data-blocked="remote"`, `alt="logo"`, `alt="[remote image blocked]"`}, notWant: []string{"r.example"}, wantBlocked: 2},
		{name: "remote image allowed", in: `<img src="https://r.example/q.png">`, remote: true, want: []string{`src="https://r.example/q.png"`}},
		{name: "cid image embedded", in: `<img src="cid:logo@x"><img src="cid:missing@x"><a href="cid:logo@x">l</a>`,
			want: []string{`src="data:image/png;base64,AAAA"`, blockedImage}, notWant: []string{"cid:"}},
		{name: "relative and odd urls", in: `<img src="/web/api/logout"><a href="/web/api/x">x</a><img src="file:///etc/passwd">`, notWant: []string{"/web/api", "file:"}},
		{name: "data images", in: `<img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/svg+xml;base64,PHN2Zz4="><img src="data:text/html;base64,PHNjcmlwdD4=">`,
			want: []string{"data:image/png;base64,iVBORw0KGgo=", blockedImage}, notWant: []string{"text/html", "PHN2Zz4="}},
		{name: "frames forms plugins", in: `<iframe src=http://r.example></iframe><object data=x></object><embed src=y><form action=http://r.example><input name=a></form><meta http-equiv=refresh content="0;url=http://r.example"><base href=http://r.example/><link rel=stylesheet href=http://r.example/c.css>`,
			notWant: []string{"r.example", "<iframe", "<object", "<embed", "<form", "<input", "<meta", "<base", "<link"}},
		{name: "links open safely", in: `<a href="https://example.org/x">x</a>`, want: []string{`target="_blank"`, `rel="noopener noreferrer nofollow"`}},
		{name: "mail markup kept", in: `<table bgcolor="#eeeeee" cellpadding="4"><tr><td align="center" valign="top"><font color="#336699" face="Arial">hi</font></td></tr></table><center>c</center>`,
			want: []string{`bgcolor="#eeeeee"`, `<font color="#336699" face="Arial">`, "<center>"}},
		{name: "svg and math", in: `<svg><script>alert(1)</script><a xlink:href="javascript:alert(2)"><rect/></a></svg><math><mi xlink:href="javascript:alert(3)">x</mi></math>`, notWant: []string{"alert", "<svg", "xlink"}},
		{name: "comments and conditionals", in: `<!--[if gte mso 9]><script>alert(1)</script><![endif]--><p>t</p>`, notWant: []string{"alert", "<!--"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, blocked := sanitizeHTML(p, tc.in, tc.remote, inline)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in %q", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(strings.ToLower(out), strings.ToLower(w)) {
					t.Errorf("do not want %q in %q", w, out)
				}
			}
			if blocked != tc.wantBlocked {
				t.Errorf("blocked %d, want %d", blocked, tc.wantBlocked)
			}
			checkSafeHTML(t, out, tc.remote)
		})
	}
}

func TestHTMLToText(t *testing.T) {
	got := htmlToText(`<html><head><title>T</title><style>p{}</style></head><body><p>Hello <b>world</b>,</p><p>second&nbsp;para<br>line two</p><ul><li>one</li><li>two</li></ul><script>x()</script><table><tr><td>a</td><td>b</td></tr></table></body></html>`)
	want := "Hello world,\n\nsecond para\nline two\n\none\ntwo\n\na\tb"
	if strings.TrimSpace(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestParsePartPath(t *testing.T) {
	for in, want := range map[string][]int{"1": {1}, "2.3": {2, 3}, "1.1.10": {1, 1, 10}} {
		got, ok := parsePartPath(in)
		if !ok || !slices.Equal(got, want) || pathString(got) != in {
			t.Errorf("%q: %v %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "0", "01", "1..2", "1.", ".1", "a", "-1", "1.99999", strings.Repeat("1.", 200) + "1", "1 "} {
		if got, ok := parsePartPath(bad); ok {
			t.Errorf("%q accepted as %v", bad, got)
		}
	}
}

func TestParseAddresses(t *testing.T) {
	got, err := parseAddresses("to", `Bob Baker <bob@example.com>, "Doe, Jane" <jane@example.org>; carol@example.net, Zoë <zoe@exämple.de>`)
	if err != nil {
		t.Fatal(err)
	}
	want := []mail.Address{{Name: "Bob Baker", Address: "bob@example.com"}, {Name: "Doe, Jane", Address: "jane@example.org"}, {Address: "carol@example.net"}, {Name: "Zoë", Address: "zoe@exämple.de"}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if *got[i] != want[i] {
			t.Errorf("%d: %+v, want %+v", i, *got[i], want[i])
		}
	}
	for _, bad := range []string{"bob", "bob@", "@x.org", "a b@x.org", "bob@exa mple.com", "x@y.org\r\nBcc: e@v.il", "bob@-x.org"} {
		if l, err := parseAddresses("to", bad); err == nil {
			t.Errorf("%q accepted: %v", bad, l)
		}
	}
	if l, err := parseAddresses("to", "  "); err != nil || l != nil {
		t.Errorf("empty field: %v %v", l, err)
	}
	for _, a := range want {
		back, err := parseAddresses("to", formatAddress(a.Name, a.Address))
		if err != nil || len(back) != 1 || *back[0] != a {
			t.Errorf("round trip of %+v: %v %v", a, back, err)
		}
	}
}

func TestComposedBuild(t *testing.T) {
	m := &composed{
		from:    &mail.Address{Name: "Zoë Ångström", Address: "zoe@example.com"},
		to:      []*mail.Address{{Name: "Bob", Address: "bob@example.org"}},
		cc:      []*mail.Address{{Address: "carol@example.org"}},
		bcc:     []*mail.Address{{Address: "secret@example.org"}},
		subject: "Grüße — the plan", body: "Line one\nLine two ünicode\n\n> quoted\n",
		date: time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC), messageID: "abc@mail.example.com",
		inReplyTo: []string{"orig@example.org"}, references: []string{"root@example.org", "orig@example.org"},
		attachments: []attachment{
			{name: "résumé.pdf", ctype: "application/pdf", data: []byte("%PDF\x00\x01binary")},
			{name: "fwd.eml", ctype: "message/rfc822", data: []byte("Subject: inner\r\n\r\nhi\r\n")},
		},
	}
	for _, withBcc := range []bool{false, true} {
		m.withBcc = withBcc
		raw, err := m.build()
		if err != nil {
			t.Fatal(err)
		}
		p := message.Parse(raw)
		if len(p.Warnings) > 0 {
			t.Errorf("warnings: %v\n%s", p.Warnings, raw)
		}
		if p.Subject != m.subject || p.FromName != "Zoë Ångström" || p.FromAddr != "zoe@example.com" || p.MessageID != "abc@mail.example.com" || p.InReplyTo != "orig@example.org" || !slices.Equal(p.References, m.references) {
			t.Errorf("header: %+v", p)
		}
		if got := strings.ReplaceAll(message.TextBody(raw, p), "\r\n", "\n"); got != m.body {
			t.Errorf("body %q, want %q", got, m.body)
		}
		if hasBcc := bytes.Contains(raw, []byte("secret@example.org")); hasBcc != withBcc {
			t.Errorf("Bcc in the message: %v, want %v", hasBcc, withBcc)
		}
		atts := message.Attachments(p)
		if len(atts) != 2 || atts[0].FileName != "résumé.pdf" || atts[0].Part.ContentType() != "application/pdf" || atts[1].Part.ContentType() != "message/rfc822" {
			t.Fatalf("attachments: %+v", atts)
		}
		data, _ := io.ReadAll(message.DecodeBody(raw, atts[0].Part))
		if !bytes.Equal(data, m.attachments[0].data) {
			t.Errorf("attachment data %q", data)
		}
		for _, line := range strings.Split(string(raw), "\r\n") {
			if len(line) > 998 {
				t.Errorf("line of %d octets", len(line))
			}
		}
	}
	// A long non-ASCII body goes quoted-printable; a plain one 7bit.
	for body, cte := range map[string]string{"plain ascii\n": "7bit", "ünïcode\n": "quoted-printable", strings.Repeat("x", 2000): "quoted-printable"} {
		m := &composed{from: &mail.Address{Address: "a@example.com"}, subject: "s", body: body, date: time.Now(), messageID: "x@y"}
		raw, err := m.build()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw, []byte("Content-Transfer-Encoding: "+cte)) {
			t.Errorf("body %.20q: want %s in\n%s", body, cte, raw)
		}
		if got := message.TextBody(raw, message.Parse(raw)); strings.ReplaceAll(got, "\r\n", "\n") != body {
			t.Errorf("body %.20q came back as %.20q", body, got)
		}
	}
}

func TestSubjectsAndQuotes(t *testing.T) {
	for in, want := range map[string]string{"Hello": "Re: Hello", "Re: Hello": "Re: Hello", "RE: x": "RE: x", " AW: y": "AW: y"} {
		if got := subjectWith("Re: ", in); got != want {
			t.Errorf("reply to %q: %q, want %q", in, got, want)
		}
	}
	if got := subjectWith("Fwd: ", "Fw: a"); got != "Fw: a" {
		t.Errorf("forward: %q", got)
	}
	for in, want := range map[string]string{"Re: Fwd: RE[2]: Plan": "Plan", "Plan": "Plan", "Re:": "", "fw:re:  x ": "x"} {
		if got := baseSubject(in); got != want {
			t.Errorf("base of %q: %q, want %q", in, got, want)
		}
	}
	if got := quote("a\r\n> b\n\n"); got != "> a\n>> b" {
		t.Errorf("quote: %q", got)
	}
	if !owns([]string{"Alice@example.com", "a.archer@example.com"}, "alice+lists@EXAMPLE.com") || owns([]string{"alice@example.com"}, "bob@example.com") || owns([]string{"alice@example.com"}, "alice") {
		t.Error("owns")
	}
}

func TestBuildMailTree(t *testing.T) {
	fs := []storage.Folder{
		{ID: 1, Name: "Root", Role: storage.RoleRoot, Hidden: true},
		{ID: 2, ParentID: 1, Name: "Top", Role: storage.RoleIPMSubtree},
		{ID: 3, ParentID: 2, Name: "Sent Items", Role: storage.RoleSent, ContainerClass: "IPF.Note"},
		{ID: 4, ParentID: 2, Name: "Inbox", Role: storage.RoleInbox, ContainerClass: "IPF.Note"},
		{ID: 5, ParentID: 2, Name: "Calendar", Role: storage.RoleCalendar, ContainerClass: "IPF.Appointment"},
		{ID: 6, ParentID: 2, Name: "archive", ContainerClass: "IPF.Note"},
		{ID: 7, ParentID: 4, Name: "Lists", ContainerClass: "IPF.Note"},
		{ID: 8, ParentID: 2, Name: "Sync Issues", Hidden: true, ContainerClass: "IPF.Note"},
		{ID: 9, ParentID: 5, Name: "Under calendar", ContainerClass: "IPF.Note"},
		{ID: 10, ParentID: 2, Name: "Business", ContainerClass: "IPF.Note.Custom"},
		{ID: 11, ParentID: 1, Name: "Deferred", Role: storage.RoleDeferredAction},
	}
	tr := buildMailTree(fs)
	var got []string
	for _, f := range tr.list {
		got = append(got, strings.Repeat("  ", f.Depth)+f.Path)
	}
	want := []string{"Inbox", "  Inbox/Lists", "Sent Items", "archive", "Business"}
	if !slices.Equal(got, want) {
		t.Errorf("tree %q, want %q", got, want)
	}
	if tr.list[1].Parent != 4 || tr.list[0].Parent != 0 || tr.role[storage.RoleInbox] != 4 || tr.has(5) || tr.has(2) {
		t.Errorf("tree: %+v", tr)
	}
}

func TestSessionStore(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	st := newSessionStore(time.Hour, 10*time.Hour, func() time.Time { return now })
	tok, ws := st.create(1, "a@x", "A")
	if st.get(tok) != ws || st.get("nope") != nil || st.get("") != nil {
		t.Fatal("lookup")
	}
	if ws.csrfOK("") || ws.csrfOK(ws.CSRF+"x") || !ws.csrfOK(ws.CSRF) {
		t.Error("csrf comparison")
	}
	// The map is keyed by a hash: the token itself is not stored.
	for k := range st.byKey {
		if k == tok {
			t.Error("token stored as a key")
		}
	}
	now = now.Add(59 * time.Minute)
	ws.touch(now)
	now = now.Add(59 * time.Minute)
	if st.get(tok) == nil {
		t.Error("touched session expired")
	}
	now = now.Add(61 * time.Minute)
	if st.get(tok) != nil || st.count() != 0 {
		t.Error("idle session kept")
	}
	var toks []string
	for i := 0; i < maxSessionsPerAccount+3; i++ {
		tok, _ := st.create(2, "b@x", "B")
		toks = append(toks, tok)
	}
	if st.count() != maxSessionsPerAccount || st.get(toks[0]) != nil || st.get(toks[len(toks)-1]) == nil {
		t.Errorf("per-account limit: %d sessions", st.count())
	}
	other, ows := st.create(3, "c@x", "C")
	st.removeAccount(2)
	if st.count() != 1 || st.get(other) != ows || !st.alive(ows) {
		t.Error("removeAccount")
	}
	st.remove(ows)
	if st.alive(ows) {
		t.Error("removed session alive")
	}
	// Sweeping drops expired sessions of others on the next sign-in.
	st.create(4, "d@x", "D")
	now = now.Add(2 * time.Hour)
	st.create(5, "e@x", "E")
	if st.count() != 1 {
		t.Errorf("sweep left %d sessions", st.count())
	}
}

func TestBuildChangeEvent(t *testing.T) {
	ev := buildChangeEvent([]storage.Change{
		{Kind: storage.MessageAdded, FolderID: 7, MessageID: 70},
		{Kind: storage.MessageFlagsChanged, FolderID: 3, MessageID: 30, Flags: storage.FlagSeen | storage.FlagFlagged},
		{Kind: storage.MessageExpunged, FolderID: 7, MessageID: 71},
		{Kind: storage.FolderRenamed, FolderID: 9},
	}, false)
	if !slices.Equal(ev.Folders, []int64{3, 7}) || !slices.Equal(ev.Added, []int64{70}) || !slices.Equal(ev.Removed, []int64{71}) ||
		len(ev.Flags) != 1 || !ev.Flags[0].Seen || !ev.Flags[0].Flagged || ev.Flags[0].Answered || !ev.Tree || ev.Resync {
		t.Errorf("event %+v", ev)
	}
	many := make([]storage.Change, maxEventIDs+1)
	for i := range many {
		many[i] = storage.Change{Kind: storage.MessageAdded, FolderID: 1, MessageID: int64(i)}
	}
	if ev := buildChangeEvent(many, false); !ev.Resync || len(ev.Added) != 0 || !slices.Equal(ev.Folders, []int64{1}) {
		t.Errorf("large batch: resync %v, %d ids", ev.Resync, len(ev.Added))
	}
	if ev := buildChangeEvent(nil, true); !ev.Resync {
		t.Error("overflow does not ask for a resync")
	}
}

func TestContentTypeAndNames(t *testing.T) {
	p := &message.Part{MediaType: "text", MediaSubtype: "plain", Params: map[string]string{"charset": "iso-8859-1"}}
	if got := contentType(p); got != "text/plain; charset=iso-8859-1" {
		t.Errorf("text: %q", got)
	}
	p = &message.Part{MediaType: "image", MediaSubtype: "png\r\nX-Evil: 1"}
	if got := contentType(p); got != "application/octet-stream" {
		t.Errorf("bad type: %q", got)
	}
	if got := safeFileName("../a\x00b/c:d\r\n.txt"); got != ".._ab_c_d.txt" {
		t.Errorf("safeFileName: %q", got)
	}
	if got := attachmentType("application/octet-stream", "x.pdf"); got != "application/pdf" {
		t.Errorf("guessed type %q", got)
	}
	if got := attachmentType("multipart/mixed; boundary=x", "x"); got != "application/octet-stream" {
		t.Errorf("multipart upload type %q", got)
	}
}
