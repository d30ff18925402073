package imap

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if tempDir != "" {
		os.RemoveAll(tempDir) // the fuzz server's, which outlives every test
	}
	os.Exit(code)
}

const testPassword = "correct horse battery staple"

// testServer is a running IMAP door on loopback: implicit TLS on tlsAddr,
// plain with STARTTLS on plainAddr.
type testServer struct {
	env       *testenv.Env
	srv       *Server
	tlsAddr   string
	plainAddr string
	accountID int64
	user      string
}

func newTestServer(t testing.TB, configure ...func(*Options)) *testServer {
	return newTestServerEnv(t, testenv.New(t), configure...)
}

func newTestServerEnv(t testing.TB, env *testenv.Env, configure ...func(*Options)) *testServer {
	t.Helper()
	acct := env.AddUser(t, "alice@example.com", testPassword)
	opts := Options{
		Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer,
		TLS: env.TLS, Logger: env.Logger,
	}
	for _, c := range configure {
		c(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	tlsLn, plainLn := testenv.Listen(t), testenv.Listen(t)
	go srv.ServeTLS(tlsLn)
	go srv.Serve(plainLn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && err != ErrServerClosed {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &testServer{env: env, srv: srv, tlsAddr: tlsLn.Addr().String(), plainAddr: plainLn.Addr().String(), accountID: acct.ID, user: acct.Address}
}

// client connects over implicit TLS and logs in.
func (ts *testServer) client(t testing.TB, opts ...*imapclient.Options) *imapclient.Client {
	t.Helper()
	c := ts.connect(t, opts...)
	if err := c.Login(ts.user, testPassword).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

// connect connects over implicit TLS without logging in.
func (ts *testServer) connect(t testing.TB, opts ...*imapclient.Options) *imapclient.Client {
	t.Helper()
	o := &imapclient.Options{}
	if len(opts) > 0 && opts[0] != nil {
		o = opts[0]
	}
	o.TLSConfig = ts.env.ClientTLS
	c, err := imapclient.DialTLS(ts.tlsAddr, o)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a line-level client for what imapclient hides.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	buf  []byte
}

func (ts *testServer) raw(t testing.TB, implicitTLS bool) *rawConn {
	t.Helper()
	var conn net.Conn
	var err error
	if implicitTLS {
		conn, err = tls.Dial("tcp", ts.tlsAddr, ts.env.ClientTLS)
	} else {
		conn, err = net.Dial("tcp", ts.plainAddr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rc := &rawConn{t: t, conn: conn}
	rc.line() // greeting
	return rc
}

// line reads one line (without CRLF).
func (rc *rawConn) line() string {
	rc.t.Helper()
	for {
		for i := 0; i+1 < len(rc.buf); i++ {
			if rc.buf[i] == '\r' && rc.buf[i+1] == '\n' {
				l := string(rc.buf[:i])
				rc.buf = rc.buf[i+2:]
				return l
			}
		}
		if err := rc.conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
			rc.t.Fatal(err)
		}
		tmp := make([]byte, 4096)
		n, err := rc.conn.Read(tmp)
		if err != nil {
			rc.t.Fatalf("read: %v (have %q)", err, rc.buf)
		}
		rc.buf = append(rc.buf, tmp[:n]...)
	}
}

// cmd sends "tag command" and returns the untagged lines and the tagged one.
func (rc *rawConn) cmd(tag, command string) (untagged []string, done string) {
	rc.t.Helper()
	if _, err := rc.conn.Write([]byte(tag + " " + command + "\r\n")); err != nil {
		rc.t.Fatal(err)
	}
	for {
		l := rc.line()
		if len(l) > len(tag) && l[:len(tag)+1] == tag+" " {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}
