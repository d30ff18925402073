package loadtest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpBackend is a trivial go-smtp backend that records what arrives, with
// knobs to refuse messages and to require AUTH.
type smtpBackend struct {
	mu        sync.Mutex
	messages  [][]byte
	rcpts     []string
	sessions  int
	dataCalls int

	rejectEvery int          // refuse every k-th DATA with a 451 (0: never)
	authPass    string       // when set, MAIL needs AUTH PLAIN with this password
	deliver     func([]byte) // optional hand-off, e.g. into an IMAP mailbox
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	return &smtpSession{b: b}, nil
}

type smtpSession struct {
	b      *smtpBackend
	authed bool
	rcpts  []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if pass != s.b.authPass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if s.b.authPass != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	b := s.b
	b.mu.Lock()
	b.dataCalls++
	reject := b.rejectEvery > 0 && b.dataCalls%b.rejectEvery == 0
	if !reject {
		b.messages = append(b.messages, body)
		b.rcpts = append(b.rcpts, s.rcpts...)
	}
	deliver := b.deliver
	b.mu.Unlock()
	if reject {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	if deliver != nil {
		deliver(body)
	}
	return nil
}

func (s *smtpSession) Reset()        { s.rcpts = nil }
func (s *smtpSession) Logout() error { return nil }

// startSMTP serves be on 127.0.0.1 and returns the address and listener.
func startSMTP(t *testing.T, be *smtpBackend, configure func(*smtp.Server)) *countingListener {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "test.localhost"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if configure != nil {
		configure(srv)
	}
	ln := listenLoopback(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln
}

func TestSMTPSendsEveryMessageOverReusedConnections(t *testing.T) {
	be := &smtpBackend{}
	ln := startSMTP(t, be, nil)
	var out bytes.Buffer
	err := RunSMTP(testContext(t), []string{"-addr", ln.Addr().String(), "-n", "57", "-c", "4",
		"-size", "4096", "-from", "a@x.test", "-to", "b@y.test"}, &out)
	if err != nil {
		t.Fatalf("RunSMTP: %v\n%s", err, out.String())
	}
	report := out.String()
	if got := resultInt(t, report, "accepted"); got != 57 {
		t.Errorf("reported accepted = %d, want 57", got)
	}
	if got := resultInt(t, report, "errors"); got != 0 {
		t.Errorf("reported errors = %d, want 0", got)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.messages) != 57 {
		t.Fatalf("server received %d messages, want 57", len(be.messages))
	}
	if ln.accepted.Load() != 4 || be.sessions != 4 {
		t.Errorf("connections = %d, sessions = %d, want 4 each (connections reused)", ln.accepted.Load(), be.sessions)
	}
	ids := map[string]bool{}
	for i, m := range be.messages {
		if len(m) != 4096 {
			t.Errorf("message %d is %d bytes, want 4096", i, len(m))
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m))
		if err != nil {
			t.Fatalf("message %d does not parse: %v", i, err)
		}
		ids[msg.Header.Get("Message-ID")] = true
	}
	if len(ids) != 57 {
		t.Errorf("%d distinct Message-IDs, want 57", len(ids))
	}
	for _, r := range be.rcpts {
		if r != "b@y.test" {
			t.Errorf("recipient %q, want b@y.test", r)
		}
	}
}

func TestSMTPCountsRefusedMessagesAndKeepsTheSession(t *testing.T) {
	be := &smtpBackend{rejectEvery: 5}
	ln := startSMTP(t, be, nil)
	cfg, err := parseSMTPFlags([]string{"-addr", ln.Addr().String(), "-n", "40", "-c", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runSMTP(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 40 || res.Accepted != 32 || res.Errors.count != 8 {
		t.Errorf("sent/accepted/errors = %d/%d/%d, want 40/32/8", res.Sent, res.Accepted, res.Errors.count)
	}
	if len(res.Errors.texts) == 0 || !strings.Contains(res.Errors.texts[0], "451") {
		t.Errorf("error texts %q should show the 451", res.Errors.texts)
	}
	be.mu.Lock()
	kept, sessions := len(be.messages), be.sessions
	be.mu.Unlock()
	if kept != 32 {
		t.Errorf("server kept %d messages, want 32", kept)
	}
	if sessions != 2 {
		t.Errorf("%d sessions, want 2: a 451 must not cost the connection", sessions)
	}
	// The command-line entry point reports the shortfall as an error.
	var out bytes.Buffer
	err = RunSMTP(testContext(t), []string{"-addr", ln.Addr().String(), "-n", "5", "-c", "1"}, &out)
	if err == nil || !strings.Contains(err.Error(), "not accepted") {
		t.Errorf("RunSMTP with refusals: err = %v, want 'not accepted'", err)
	}
}

func TestSMTPOverLMTP(t *testing.T) {
	be := &smtpBackend{}
	ln := startSMTP(t, be, func(s *smtp.Server) { s.LMTP = true })
	var out bytes.Buffer
	err := RunSMTP(testContext(t), []string{"-addr", ln.Addr().String(), "-lmtp", "-n", "20", "-c", "3",
		"-to", "bench@bench.test"}, &out)
	if err != nil {
		t.Fatalf("RunSMTP -lmtp: %v\n%s", err, out.String())
	}
	if got := resultInt(t, out.String(), "accepted"); got != 20 {
		t.Errorf("accepted = %d, want 20", got)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.messages) != 20 {
		t.Errorf("LMTP server received %d, want 20", len(be.messages))
	}
}

func TestSMTPStartTLSAndAuth(t *testing.T) {
	be := &smtpBackend{authPass: "secret"}
	tlsCfg := selfSignedTLS(t)
	ln := startSMTP(t, be, func(s *smtp.Server) {
		s.TLSConfig = tlsCfg
		s.AllowInsecureAuth = false // AUTH only after STARTTLS
	})
	addr := ln.Addr().String()

	var out bytes.Buffer
	err := RunSMTP(testContext(t), []string{"-addr", addr, "-starttls", "-insecure", "-auth", "u@x.test:secret",
		"-n", "10", "-c", "2"}, &out)
	if err != nil {
		t.Fatalf("RunSMTP -starttls -auth: %v\n%s", err, out.String())
	}
	if got := resultInt(t, out.String(), "accepted"); got != 10 {
		t.Errorf("accepted = %d, want 10", got)
	}

	// Without -insecure the self-signed certificate is refused.
	cfg, _ := parseSMTPFlags([]string{"-addr", addr, "-starttls", "-auth", "u@x.test:secret", "-n", "3", "-c", "1"}, io.Discard)
	res, err := runSMTP(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 0 || res.Errors.count != 3 {
		t.Errorf("unverified cert: accepted %d errors %d, want 0 and 3", res.Accepted, res.Errors.count)
	}

	// A wrong password fails every message at connect time.
	cfg, _ = parseSMTPFlags([]string{"-addr", addr, "-starttls", "-insecure", "-auth", "u@x.test:wrong", "-n", "3", "-c", "1"}, io.Discard)
	res, err = runSMTP(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 0 || res.Errors.count != 3 || !strings.Contains(strings.Join(res.Errors.texts, "\n"), "auth") {
		t.Errorf("wrong password: accepted %d errors %d %q", res.Accepted, res.Errors.count, res.Errors.texts)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.messages) != 10 {
		t.Errorf("server received %d, want 10", len(be.messages))
	}
}

// TestSMTPWaitsForDeliveryOverIMAP hands every accepted message to a
// goroutine that appends it to an imapmemserver INBOX later, the way a queue
// delivers after the 250, and checks the tool waits for all of them.
func TestSMTPWaitsForDeliveryOverIMAP(t *testing.T) {
	mem, imapAddr := startIMAPMem(t, map[string]string{"rcpt@example.com": "pw"})
	user := mem.users["rcpt@example.com"]

	// One old message: the tool must count from the baseline, not from 0.
	appendRaw(t, user, fullMessage("a@x", "b@y", "old", 0, 1024, testNow()))

	queue := make(chan []byte, 100)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for m := range queue {
			appendRaw(t, user, m)
		}
	}()
	be := &smtpBackend{deliver: func(m []byte) { queue <- m }}
	ln := startSMTP(t, be, nil)

	var out bytes.Buffer
	err := RunSMTP(testContext(t), []string{"-addr", ln.Addr().String(), "-n", "30", "-c", "3",
		"-to", "rcpt@example.com", "-wait-imap", imapAddr, "-wait-user", "rcpt@example.com", "-wait-pass", "pw",
		"-wait-interval", "10ms"}, &out)
	close(queue)
	<-delivered
	if err != nil {
		t.Fatalf("RunSMTP -wait-imap: %v\n%s", err, out.String())
	}
	report := out.String()
	if got := resultInt(t, report, "delivered"); got != 30 {
		t.Errorf("delivered = %d, want 30\n%s", got, report)
	}
	if !strings.Contains(report, "delivered: 30 in INBOX") {
		t.Errorf("report lacks the delivered line:\n%s", report)
	}
	data, err := user.Status("INBOX", &imap.StatusOptions{NumMessages: true})
	if err != nil {
		t.Fatal(err)
	}
	if *data.NumMessages != 31 {
		t.Errorf("INBOX holds %d, want 31", *data.NumMessages)
	}
}

func TestSMTPWaitGivesUpWhenMessagesNeverArrive(t *testing.T) {
	_, imapAddr := startIMAPMem(t, map[string]string{"rcpt@example.com": "pw"})
	be := &smtpBackend{} // accepts but never delivers
	ln := startSMTP(t, be, nil)
	var out bytes.Buffer
	err := RunSMTP(testContext(t), []string{"-addr", ln.Addr().String(), "-n", "5", "-c", "1",
		"-wait-imap", imapAddr, "-wait-user", "rcpt@example.com", "-wait-pass", "pw",
		"-wait-timeout", "300ms", "-wait-interval", "20ms"}, &out)
	if err == nil || !strings.Contains(err.Error(), "0 of 5") {
		t.Fatalf("err = %v, want a delivery timeout with 0 of 5", err)
	}
	if got := resultInt(t, out.String(), "delivered"); got != 0 {
		t.Errorf("delivered = %d, want 0", got)
	}
}

func TestSMTPFlags(t *testing.T) {
	var out bytes.Buffer
	if err := RunSMTP(testContext(t), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "usage: pochta bench smtp") || !strings.Contains(out.String(), "-wait-imap") {
		t.Errorf("-h output lacks usage:\n%s", out.String())
	}
	for _, args := range [][]string{
		{"-n", "0"},
		{"-c", "0"},
		{"-auth", "nocolon"},
		{"-lmtp", "-starttls"},
		{"-wait-imap", "127.0.0.1:1"},
		{"extra"},
	} {
		if _, err := parseSMTPFlags(args, io.Discard); err == nil {
			t.Errorf("flags %q accepted, want an error", args)
		}
	}
	cfg, err := parseSMTPFlags([]string{"-n", "3", "-c", "10", "-to", "a@x, b@y", "-auth", "u:p:q"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Concurrency != 3 {
		t.Errorf("concurrency %d, want capped to n=3", cfg.Concurrency)
	}
	if fmt.Sprint(cfg.To) != "[a@x b@y]" || cfg.Auth.User != "u" || cfg.Auth.Pass != "p:q" {
		t.Errorf("parsed to=%q auth=%+v", cfg.To, cfg.Auth)
	}
}

// appendRaw puts a message straight into a memserver INBOX.
func appendRaw(t *testing.T, u *imapmemserver.User, msg []byte) {
	t.Helper()
	if _, err := u.Append("INBOX", bytes.NewReader(msg), &imap.AppendOptions{}); err != nil {
		t.Errorf("append: %v", err)
	}
}
