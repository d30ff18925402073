package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/storage"
)

// sinkBackend is a remote MX for the smarthost: it hands every message to a channel.
type sinkBackend struct{ got chan string }

func (b sinkBackend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) {
	return &sinkSession{got: b.got}, nil
}

type sinkSession struct {
	got chan string
	to  string
}

func (s *sinkSession) Reset()                                      {}
func (s *sinkSession) Logout() error                               { return nil }
func (s *sinkSession) Mail(string, *gosmtp.MailOptions) error      { return nil }
func (s *sinkSession) Rcpt(to string, _ *gosmtp.RcptOptions) error { s.to = to; return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err == nil {
		s.got <- s.to + "\n" + string(b)
	}
	return err
}

// The SMTP door in the real binary: the MX takes mail for a local user,
// submission over implicit TLS takes an authenticated message for outside,
// and the queue runner relays it through the configured smarthost.
func TestServeSMTPDoor(t *testing.T) {
	dir := t.TempDir()
	env, httpAddr := serverEnv(t)
	mxAddr, subsAddr := freeAddr(t), freeAddr(t)
	sink := sinkBackend{got: make(chan string, 4)}
	remote := gosmtp.NewServer(sink)
	remote.Domain = "remote.example"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go remote.Serve(ln)
	defer remote.Close()
	env = append(env,
		"POCHTA_SERVER_HOSTNAME=mx.example.com",
		"POCHTA_SMTP_LISTEN="+mxAddr, "POCHTA_SMTP_SUBMISSIONS_LISTEN="+subsAddr,
		"POCHTA_SMTP_QUEUE_SMARTHOST="+ln.Addr().String(), "POCHTA_SMTP_QUEUE_SMARTHOST_TLS=none",
	)
	if out, err := runPochta(t, dir, env, "secret\n", "user", "add", "alice@example.com"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	srv := startServer(t, dir, env, httpAddr)

	msg := "From: x@remote.example\r\nSubject: in\r\n\r\nhello\r\n"
	mx, err := gosmtp.Dial(mxAddr) // plain: a remote MTA that does not use STARTTLS
	if err != nil {
		t.Fatal(err)
	}
	if err := mx.SendMail("x@remote.example", []string{"alice@example.com"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("MX: %v\n%s", err, srv.log.String())
	}
	mx.Close()
	c, err := gosmtp.DialTLS(subsAddr, &tls.Config{InsecureSkipVerify: true}) // the server's self-signed certificate
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.com", "secret")); err != nil {
		t.Fatal(err)
	}
	out := "From: alice@example.com\r\nSubject: out\r\n\r\nbye\r\n"
	if err := c.SendMail("alice@example.com", []string{"partner@foreign.example"}, strings.NewReader(out)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sink.got:
		if !strings.HasPrefix(got, "partner@foreign.example\n") || !strings.HasSuffix(got, out) {
			t.Fatalf("smarthost got %q", got)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("nothing relayed\n%s", srv.log.String())
	}
	srv.stop()

	st, err := storage.Open(context.Background(), storage.Options{Driver: "sqlite", DSN: filepath.Join(dir, "pochta-data", "pochta.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for role, want := range map[string]string{storage.RoleInbox: "hello\r\n", storage.RoleSent: "bye\r\n"} {
		f, err := st.FolderByRole(ctx, 1, role)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := st.ListMessages(ctx, 1, f.ID, storage.ListQuery{})
		if len(ms) != 1 {
			t.Fatalf("%s has %d messages", role, len(ms))
		}
		b, _ := st.ReadBlob(ctx, ms[0].BlobHash)
		if !strings.HasSuffix(string(b), want) || !strings.Contains(string(b), "by mx.example.com (Pochta)") {
			t.Fatalf("%s: %q", role, b)
		}
	}
	if q, _ := st.QueueMessages(ctx, 0, 10); len(q) != 0 {
		t.Fatalf("queue not empty: %+v", q)
	}
}
