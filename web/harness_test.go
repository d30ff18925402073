package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/imap"
	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/internal/throttle"
	"github.com/pochta/pochta/smtp"
	"github.com/pochta/pochta/web"
)

const password = "correct horse battery staple"

// harness is the webmail on loopback with the SMTP MX and the IMAP door
// beside it over one store, and two users.
type harness struct {
	t          testing.TB
	env        *testenv.Env
	web        *web.Server
	url        string // http://127.0.0.1:port
	smtpAddr   string
	imapAddr   string
	alice, bob *directory.Account
	throttle   *throttle.Throttle
	now        func() time.Time
}

type harnessOptions struct {
	configure func(*web.Options)
}

func newHarness(t testing.TB, hos ...harnessOptions) *harness {
	t.Helper()
	var ho harnessOptions
	if len(hos) > 0 {
		ho = hos[0]
	}
	env := testenv.New(t)
	h := &harness{t: t, env: env}
	h.alice = h.addUser("alice@example.com", "Alice Archer")
	h.bob = h.addUser("bob@example.com", "Bob Baker")
	h.throttle = throttle.New(throttle.Options{IPPerMinute: 5, IPPerDay: 50, LoginPerMinute: 5, LoginPerDay: 50})

	opts := web.Options{
		Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, Logger: env.Logger,
		Throttle: h.throttle, Hostname: "mail.example.com", MaxMessageBytes: 2 << 20,
		// The suite talks plain HTTP on loopback: the development switch.
		Transport: &httpguard.Policy{AllowInsecureLoopback: true},
	}
	if ho.configure != nil {
		ho.configure(&opts)
	}
	srv, err := web.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.web = srv
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	srv.Mount(e)
	ln := testenv.Listen(t)
	hs := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	h.url = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("web shutdown: %v", err)
		}
		hs.Shutdown(ctx)
	})

	mx, err := smtp.New(smtp.Options{Mode: smtp.ModeMX, Hostname: "mx.example.com", Deliverer: env.Deliverer, Directory: env.Dir, Store: env.Store, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	sln := testenv.Listen(t)
	go mx.Serve(sln)
	h.smtpAddr = sln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		mx.Shutdown(ctx)
	})

	im, err := imap.New(imap.Options{Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	iln := testenv.Listen(t)
	go im.ServeTLS(iln)
	h.imapAddr = iln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		im.Shutdown(ctx)
	})
	return h
}

func (h *harness) addUser(addr, name string) *directory.Account {
	h.t.Helper()
	ctx := context.Background()
	a, err := h.env.Dir.AddAccount(ctx, directory.NewAccount{Address: addr, Password: password, DisplayName: name})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.env.Store.EnsureMailbox(ctx, a.ID); err != nil {
		h.t.Fatal(err)
	}
	return a
}

// smtpSend delivers raw to rcpts through the MX, as mail from outside.
func (h *harness) smtpSend(from string, rcpts []string, raw string) {
	h.t.Helper()
	c, err := gosmtp.Dial(h.smtpAddr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("sender.example.org"); err != nil {
		h.t.Fatal(err)
	}
	if err := c.SendMail(from, rcpts, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n"))); err != nil {
		h.t.Fatalf("SMTP send: %v", err)
	}
	if err := c.Quit(); err != nil {
		h.t.Fatal(err)
	}
}

// imapClient logs in to the IMAP door over TLS.
func (h *harness) imapClient(user string) *imapclient.Client {
	h.t.Helper()
	c, err := imapclient.DialTLS(h.imapAddr, &imapclient.Options{TLSConfig: h.env.ClientTLS})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		h.t.Fatalf("IMAP login: %v", err)
	}
	return c
}

// client is a browser-less webmail client with its own cookie jar.
type client struct {
	h    *harness
	http *http.Client
	csrf string
}

func (h *harness) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &client{h: h, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// problemCode returns the code member of a problem document.
func (r *response) problemCode() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.body, &p)
	return p.Code
}

// do sends a request; body is JSON-encoded unless it is an io.Reader (then
// ctype names it). The CSRF token is sent when withCSRF is set.
func (c *client) do(method, path string, body any, withCSRF bool, ctype ...string) *response {
	c.h.t.Helper()
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		r = b
		if len(ctype) > 0 {
			ct = ctype[0]
		}
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.h.t.Fatal(err)
		}
		r, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, c.h.url+path, r)
	if err != nil {
		c.h.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if withCSRF && c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.h.t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: data}
}

// mustOK fails the test unless the response status is want.
func (r *response) mustStatus(t testing.TB, want int) *response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

func (c *client) login(login, pw string) *response {
	c.h.t.Helper()
	res := c.do(http.MethodPost, "/web/api/login", map[string]string{"login": login, "password": pw}, false)
	if res.status == http.StatusOK {
		var s struct {
			CSRF string `json:"csrf"`
		}
		res.json(c.h.t, &s)
		c.csrf = s.CSRF
	}
	return res
}

func (c *client) mustLogin(login string) {
	c.h.t.Helper()
	c.login(login, password).mustStatus(c.h.t, http.StatusOK)
}

type folder struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Parent int64  `json:"parent"`
	Total  int64  `json:"total"`
	Unread int64  `json:"unread"`
}

func (c *client) folders() []folder {
	c.h.t.Helper()
	var res struct {
		Folders []folder `json:"folders"`
	}
	c.do(http.MethodGet, "/web/api/folders", nil, false).mustStatus(c.h.t, http.StatusOK).json(c.h.t, &res)
	return res.Folders
}

func (c *client) folderByRole(role string) folder {
	c.h.t.Helper()
	for _, f := range c.folders() {
		if f.Role == role {
			return f
		}
	}
	c.h.t.Fatalf("no %s folder", role)
	return folder{}
}

type summary struct {
	ID         int64     `json:"id"`
	Folder     int64     `json:"folder"`
	Subject    string    `json:"subject"`
	FromAddr   string    `json:"from_addr"`
	Seen       bool      `json:"seen"`
	Flagged    bool      `json:"flagged"`
	Answered   bool      `json:"answered"`
	Attachment bool      `json:"attachment"`
	Date       time.Time `json:"date"`
}

func (c *client) list(folderID int64) []summary {
	c.h.t.Helper()
	var res struct {
		Messages []summary `json:"messages"`
	}
	c.do(http.MethodGet, "/web/api/folders/"+itoa(folderID)+"/messages", nil, false).mustStatus(c.h.t, http.StatusOK).json(c.h.t, &res)
	return res.Messages
}

// sendForm posts a compose request with files as multipart/form-data.
func (c *client) sendForm(path string, msg any, files map[string][]byte) *response {
	c.h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	data, err := json.Marshal(msg)
	if err != nil {
		c.h.t.Fatal(err)
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", `form-data; name="message"`)
	hdr.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(hdr)
	if err != nil {
		c.h.t.Fatal(err)
	}
	w.Write(data)
	for name, content := range files {
		fw, err := mw.CreateFormFile("attachment", name)
		if err != nil {
			c.h.t.Fatal(err)
		}
		fw.Write(content)
	}
	if err := mw.Close(); err != nil {
		c.h.t.Fatal(err)
	}
	return c.do(http.MethodPost, path, &buf, true, mw.FormDataContentType())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// waitFor polls cond until it holds or the deadline passes: for effects
// that cross goroutines (a queued delivery, an event stream).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
