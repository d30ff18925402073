package pop3_test

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/pop3"
	"github.com/pochta/pochta/storage"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const (
	testUser = "alice@example.com"
	testPass = "correct horse battery staple"
)

// fixture is one test's world: a store with a user, and a POP3 server on a
// STLS listener and an implicit-TLS listener.
type fixture struct {
	env      *testenv.Env
	acct     *directory.Account
	srv      *pop3.Server
	addr     string // STLS
	tlsAddr  string // implicit TLS
	serveErr chan error
}

// newFixture starts a server; mod adjusts its options.
func newFixture(t *testing.T, envOpts testenv.Options, mod func(*pop3.Options)) *fixture {
	t.Helper()
	env := testenv.New(t, envOpts)
	f := &fixture{env: env}
	f.acct = env.AddUser(t, testUser, testPass)
	f.start(t, mod)
	return f
}

// start (re)starts the server over the fixture's store.
func (f *fixture) start(t *testing.T, mod func(*pop3.Options)) {
	t.Helper()
	opts := pop3.Options{
		Store: f.env.Store, Directory: f.env.Dir, TLS: f.env.TLS, Hostname: "pop.example.com",
		Logger: f.env.Logger, AuthFailureDelay: -1,
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := pop3.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	ln, tln := testenv.Listen(t), testenv.Listen(t)
	f.addr, f.tlsAddr = ln.Addr().String(), tln.Addr().String()
	f.serveErr = make(chan error, 2)
	go func() { f.serveErr <- srv.Serve(ln) }()
	go func() { f.serveErr <- srv.ServeTLS(tln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
}

// deliver stores raw messages in the user's Inbox.
func (f *fixture) deliver(t *testing.T, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		f.env.Deliver(t, []byte(m), f.acct.ID)
	}
}

func (f *fixture) inboxMeta(t *testing.T) []storage.MessageMeta {
	t.Helper()
	ctx := context.Background()
	inbox, err := f.env.Store.FolderByRole(ctx, f.acct.ID, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := f.env.Store.FolderMeta(ctx, f.acct.ID, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	return meta
}

func testMessage(i int) string {
	return fmt.Sprintf("From: bob@example.org\r\nTo: alice@example.com\r\nSubject: message %d\r\nMessage-ID: <m%d@example.org>\r\n\r\nline one of %d\r\nline two\r\nline three\r\n", i, i, i)
}

// client is a raw POP3 client for exact protocol checks.
type client struct {
	t        *testing.T
	conn     net.Conn
	r        *bufio.Reader
	greeting string
}

func dialPlain(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, conn)
}

func dialTLS(t *testing.T, addr string, cfg *tls.Config) *client {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, conn)
}

func newClient(t *testing.T, conn net.Conn) *client {
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c.greeting = c.line()
	if !strings.HasPrefix(c.greeting, "+OK") {
		t.Fatalf("greeting %q", c.greeting)
	}
	return c
}

// line reads one response line without CRLF; "" at EOF.
func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		return ""
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends a command and returns the status line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// ok sends a command that must succeed.
func (c *client) ok(line string) string {
	c.t.Helper()
	resp := c.cmd(line)
	if !strings.HasPrefix(resp, "+OK") {
		c.t.Fatalf("%s: %q", line, resp)
	}
	return resp
}

// multi reads a multi-line body up to the terminating ".", un-stuffed,
// with CRLF line ends.
func (c *client) multi() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("multi-line answer cut: %v (so far %q)", err, b.String())
		}
		if !strings.HasSuffix(l, "\r\n") {
			c.t.Fatalf("line without CRLF in multi-line answer: %q", l)
		}
		if l == ".\r\n" {
			return b.String()
		}
		b.WriteString(strings.TrimPrefix(l, "."))
	}
}

// login runs USER/PASS on a connection that may authenticate.
func (c *client) login() string {
	c.t.Helper()
	c.ok("USER " + testUser)
	return c.cmd("PASS " + testPass)
}

// startTLS upgrades with STLS.
func (c *client) startTLS(cfg *tls.Config) {
	c.t.Helper()
	c.ok("STLS")
	c.startTLSAfterOK(cfg)
}

// startTLSAfterOK runs the handshake once STLS was answered.
func (c *client) startTLSAfterOK(cfg *tls.Config) {
	c.t.Helper()
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// closed reports whether the server closed the connection.
func (c *client) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := c.r.ReadByte()
	return err != nil
}

// loginWhenFree logs in a fresh session, retrying while the maildrop is
// still held by a session whose connection is being torn down.
func (f *fixture) loginWhenFree(t *testing.T) *client {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
		resp := c.login()
		if strings.HasPrefix(resp, "+OK") {
			return c
		}
		if !strings.Contains(resp, "[IN-USE]") || time.Now().After(deadline) {
			t.Fatalf("login: %q", resp)
		}
		c.conn.Close()
		time.Sleep(10 * time.Millisecond)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
