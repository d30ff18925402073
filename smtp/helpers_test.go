package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/internal/throttle"
	"github.com/pochta/pochta/storage"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	os.Exit(pgtest.Run(m))
}

// harness is a running MX and submission service over a test store.
type harness struct {
	t        testing.TB
	env      *testenv.Env
	d        *delivery.Deliverer
	th       *throttle.Throttle
	mx, sub  *Server
	mxAddr   string // MX with STARTTLS
	subAddr  string // submission with STARTTLS
	subsAddr string // submission with implicit TLS
}

type harnessConfig struct {
	postgres      bool
	bounceContent string
	opts          func(*Options)
}

func newHarness(t testing.TB, cfgs ...harnessConfig) *harness {
	t.Helper()
	var cfg harnessConfig
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	env := testenv.New(t, testenv.Options{Postgres: cfg.postgres})
	d := delivery.New(delivery.Options{Store: env.Store, Directory: env.Dir, Logger: env.Logger, Hostname: "mx.example.com", BounceContent: cfg.bounceContent})
	h := &harness{t: t, env: env, d: d}
	h.th = throttle.New(throttle.Options{IPPerMinute: 3, IPPerDay: 20, LoginPerMinute: 3, LoginPerDay: 20})
	base := Options{
		Hostname: "mx.example.com", Deliverer: d, Directory: env.Dir, Store: env.Store, TLS: env.TLS,
		MaxMessageBytes: 1 << 20, MaxRecipients: 50, Throttle: h.th, Logger: env.Logger,
	}
	if cfg.opts != nil {
		cfg.opts(&base)
	}
	mxo := base
	mxo.Mode = ModeMX
	subo := base
	subo.Mode = ModeSubmission
	var err error
	if h.mx, err = New(mxo); err != nil {
		t.Fatal(err)
	}
	if h.sub, err = New(subo); err != nil {
		t.Fatal(err)
	}
	h.mxAddr = h.serve(h.mx, false)
	h.subAddr = h.serve(h.sub, false)
	h.subsAddr = h.serve(h.sub, true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.mx.Shutdown(ctx)
		h.sub.Shutdown(ctx)
	})
	return h
}

func (h *harness) serve(s *Server, implicitTLS bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	go func() {
		var err error
		if implicitTLS {
			err = s.ServeTLS(ln)
		} else {
			err = s.Serve(ln)
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			h.t.Logf("serve: %v", err)
		}
	}()
	return ln.Addr().String()
}

func (h *harness) addUser(addr, password string) *directory.Account {
	h.t.Helper()
	return h.env.AddUser(h.t, addr, password)
}

// dial connects a go-smtp client and says EHLO.
func (h *harness) dial(addr string) *gosmtp.Client {
	h.t.Helper()
	c, err := gosmtp.Dial(addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.example.org"); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// dialSubmission connects with STARTTLS (or implicit TLS) and authenticates.
func (h *harness) dialSubmission(implicit bool, user, password string) *gosmtp.Client {
	h.t.Helper()
	var c *gosmtp.Client
	var err error
	if implicit {
		c, err = gosmtp.DialTLS(h.subsAddr, h.env.ClientTLS)
	} else {
		c, err = gosmtp.DialStartTLS(h.subAddr, h.env.ClientTLS)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	if user != "" {
		if err := c.Auth(sasl.NewPlainClient("", user, password)); err != nil {
			h.t.Fatalf("AUTH: %v", err)
		}
	}
	return c
}

// send runs one transaction and returns the error of the first step that failed.
func send(c *gosmtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	return w.Close()
}

// folderMessages returns the raw messages of an account's folder, oldest first.
func (h *harness) folderMessages(accountID int64, role string) [][]byte {
	h.t.Helper()
	ctx := context.Background()
	if err := h.env.Store.EnsureMailbox(ctx, accountID); err != nil {
		h.t.Fatal(err)
	}
	f, err := h.env.Store.FolderByRole(ctx, accountID, role)
	if err != nil {
		h.t.Fatal(err)
	}
	ms, err := h.env.Store.ListMessages(ctx, accountID, f.ID, storage.ListQuery{Sort: storage.SortUID, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	var out [][]byte
	for _, m := range ms {
		b, err := h.env.Store.ReadBlob(ctx, m.BlobHash)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func (h *harness) inbox(accountID int64) [][]byte {
	return h.folderMessages(accountID, storage.RoleInbox)
}

// traceAndRest splits a stored message into the trace fields we prepended
// (and submission additions) and the bytes that follow them.
func splitTrace(t *testing.T, stored []byte, sent string) (prefix []message.HeaderField) {
	t.Helper()
	if !bytes.HasSuffix(stored, []byte(sent)) {
		t.Fatalf("stored message does not end with the sent bytes:\nstored: %q\nsent:   %q", stored, sent)
	}
	pre := stored[:len(stored)-len(sent)]
	fields := message.ReadHeader(append(append([]byte{}, pre...), "\r\n"...))
	var n int
	for _, f := range fields {
		n += len(f.Raw)
	}
	if n != len(pre) {
		t.Fatalf("prefix is not only header fields: %q", pre)
	}
	return fields
}

func fieldKeys(fs []message.HeaderField) string {
	var ks []string
	for _, f := range fs {
		ks = append(ks, f.Key)
	}
	return strings.Join(ks, ",")
}

// smtpCode returns the reply code of an error from go-smtp's client.
func smtpCode(err error) (int, string) {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	return 0, ""
}

// remoteMX is a second go-smtp server standing for a remote mail server:
// it records what it receives and answers recipients as told.
type remoteMX struct {
	srv  *gosmtp.Server
	addr string

	mu       sync.Mutex
	received []remoteMsg
	// rcptErr answers RCPT for an address; attempts counts RCPTs per address.
	rcptErr  func(addr string, attempt int) error
	attempts map[string]int
	arrived  chan struct{}
	user     string
	password string
}

type remoteMsg struct {
	from string
	to   []string
	data []byte
	opts *gosmtp.MailOptions
	rcpt []*gosmtp.RcptOptions
	tls  bool
	auth string
}

func newRemoteMX(t *testing.T, tlsCfg *tls.Config, user, password string) *remoteMX {
	t.Helper()
	r := &remoteMX{attempts: map[string]int{}, arrived: make(chan struct{}, 100), user: user, password: password}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &remoteSession{mx: r, conn: c}, nil
	}))
	s.Domain = "remote.example.net"
	s.TLSConfig = tlsCfg
	s.EnableDSN = true
	s.EnableSMTPUTF8 = true
	s.AllowInsecureAuth = false
	s.ErrorLog = nopLogger{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.srv, r.addr = s, ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return r
}

func (r *remoteMX) setRcptErr(f func(addr string, attempt int) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rcptErr = f
}

func (r *remoteMX) messages() []remoteMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]remoteMsg(nil), r.received...)
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...interface{}) {}
func (nopLogger) Println(...interface{})        {}

type remoteSession struct {
	mx   *remoteMX
	conn *gosmtp.Conn
	cur  remoteMsg
}

func (s *remoteSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *remoteSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.mx.user || password != s.mx.password {
			return gosmtp.ErrAuthFailed
		}
		s.cur.auth = username
		return nil
	}), nil
}
func (s *remoteSession) Reset() {
	auth := s.cur.auth
	s.cur = remoteMsg{auth: auth}
}
func (s *remoteSession) Logout() error { return nil }
func (s *remoteSession) Mail(from string, opts *gosmtp.MailOptions) error {
	if s.mx.user != "" && s.cur.auth == "" {
		return gosmtp.ErrAuthRequired
	}
	s.cur.from, s.cur.opts = from, opts
	_, s.cur.tls = s.conn.TLSConnectionState()
	return nil
}
func (s *remoteSession) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	s.mx.mu.Lock()
	s.mx.attempts[to]++
	n := s.mx.attempts[to]
	fn := s.mx.rcptErr
	s.mx.mu.Unlock()
	if fn != nil {
		if err := fn(to, n); err != nil {
			return err
		}
	}
	s.cur.to = append(s.cur.to, to)
	s.cur.rcpt = append(s.cur.rcpt, opts)
	return nil
}
func (s *remoteSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.mx.mu.Lock()
	s.mx.received = append(s.mx.received, s.cur)
	s.mx.mu.Unlock()
	s.mx.arrived <- struct{}{}
	return nil
}
