package directory_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/directory"
	pimap "github.com/pochta/pochta/imap"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/smtp"
)

// doors are the real IMAP and SMTP listeners over an LDAP directory.
type doors struct {
	env                       *testenv.Env
	imapAddr, mxAddr, subAddr string
}

func startDoors(t *testing.T, env *testenv.Env, dir directory.Directory) *doors {
	t.Helper()
	d := delivery.New(delivery.Options{Store: env.Store, Directory: dir, Logger: env.Logger, Hostname: "mx.example.com"})
	im, err := pimap.New(pimap.Options{Store: env.Store, Directory: dir, Deliverer: d, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	base := smtp.Options{Hostname: "mx.example.com", Deliverer: d, Directory: dir, Store: env.Store, TLS: env.TLS, Logger: env.Logger}
	mxo, subo := base, base
	mxo.Mode, subo.Mode = smtp.ModeMX, smtp.ModeSubmission
	mx, err := smtp.New(mxo)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := smtp.New(subo)
	if err != nil {
		t.Fatal(err)
	}
	imapLn, mxLn, subLn := testenv.Listen(t), testenv.Listen(t), testenv.Listen(t)
	go im.Serve(imapLn)
	go mx.Serve(mxLn)
	go sub.Serve(subLn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		im.Shutdown(ctx)
		mx.Shutdown(ctx)
		sub.Shutdown(ctx)
	})
	return &doors{env: env, imapAddr: imapLn.Addr().String(), mxAddr: mxLn.Addr().String(), subAddr: subLn.Addr().String()}
}

// imapLogin connects with STARTTLS and logs in; the client is closed at
// the end of the test.
func (ds *doors) imapLogin(t *testing.T, user, password string) (*imapclient.Client, error) {
	t.Helper()
	c, err := imapclient.DialStartTLS(ds.imapAddr, &imapclient.Options{TLSConfig: ds.env.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.Login(user, password).Wait()
}

// submissionAuth connects to submission with STARTTLS and tries AUTH PLAIN.
func (ds *doors) submissionAuth(t *testing.T, user, password string) (*gosmtp.Client, error) {
	t.Helper()
	c, err := gosmtp.DialStartTLS(ds.subAddr, ds.env.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.Auth(sasl.NewPlainClient("", user, password))
}

func smtpCode(err error) int {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func sendMail(c *gosmtp.Client, from string, to []string, msg string) error {
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

// inboxSubjects logs in over IMAP and lists the Inbox's subjects.
func (ds *doors) inboxSubjects(t *testing.T, user, password string) []string {
	t.Helper()
	c, err := ds.imapLogin(t, user, password)
	if err != nil {
		t.Fatalf("IMAP login %s: %v", user, err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, sel.NumMessages), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Envelope.Subject)
	}
	return out
}

func count(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

// An LDAP user logs in over IMAP and SMTP submission with the directory
// password; wrong, empty and disabled are refused, and unknown logins too.
func TestLDAPThroughListenersLogin(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv)
	ds := startDoors(t, e.Env, e.LDAP)

	c, err := ds.imapLogin(t, "alice", "alice-pw")
	if err != nil {
		t.Fatalf("IMAP LOGIN alice: %v", err)
	}
	// The mailbox was made on first login.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT INBOX: %v", err)
	}
	if _, err := ds.imapLogin(t, "alice@example.com", "alice-pw"); err != nil {
		t.Errorf("IMAP LOGIN by address: %v", err)
	}
	refused := map[string][2]string{
		"wrong password": {"alice", "alice-pw2"},
		"empty password": {"alice", ""},
		"disabled user":  {"dave", "dave-pw"},
		"unknown user":   {"zed", "alice-pw"},
		"wildcard login": {"*", "alice-pw"},
	}
	for name, cred := range refused {
		_, err := ds.imapLogin(t, cred[0], cred[1])
		if err == nil || !strings.Contains(err.Error(), "AUTHENTICATIONFAILED") {
			t.Errorf("IMAP %s: %v; want NO [AUTHENTICATIONFAILED]", name, err)
		}
	}

	sc, err := ds.submissionAuth(t, "alice", "alice-pw")
	if err != nil {
		t.Fatalf("SMTP AUTH alice: %v", err)
	}
	// She may send as her alias, to a colleague who never logged in.
	msg := "From: a.archer@example.com\r\nTo: bob@example.com\r\nSubject: from alice\r\n\r\nhello\r\n"
	if err := sendMail(sc, "a.archer@example.com", []string{"bob@example.com"}, msg); err != nil {
		t.Fatalf("submission: %v", err)
	}
	for name, cred := range refused {
		_, err := ds.submissionAuth(t, cred[0], cred[1])
		if smtpCode(err) != 535 {
			t.Errorf("SMTP %s: %v; want 535", name, err)
		}
	}
	if got := ds.inboxSubjects(t, "bob", "bob-pw"); count(got, "from alice") != 1 {
		t.Errorf("bob's Inbox: %q", got)
	}
}

// Mail through the MX to an LDAP alias lands in the user's Inbox; to a
// nested (and looping) group, once in each member's Inbox.
func TestLDAPThroughListenersDelivery(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv)
	ds := startDoors(t, e.Env, e.LDAP)

	send := func(to []string, subject string) {
		t.Helper()
		c, err := gosmtp.Dial(ds.mxAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example.org"); err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("From: someone@elsewhere.example\r\nTo: %s\r\nSubject: %s\r\n\r\nbody\r\n", strings.Join(to, ", "), subject)
		if err := sendMail(c, "someone@elsewhere.example", to, msg); err != nil {
			t.Fatalf("MX to %v: %v", to, err)
		}
	}
	send([]string{"Alice.Sales@example.com"}, "to the alias")
	send([]string{"all@example.com"}, "to all staff")
	send([]string{"ops@example.com"}, "to ops")

	c, err := gosmtp.Dial(ds.mxAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("someone@elsewhere.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("nobody@example.com", nil); smtpCode(err) != 550 {
		t.Errorf("RCPT to an unknown LDAP address: %v; want 550", err)
	}

	inbox := map[string][]string{
		"alice": ds.inboxSubjects(t, "alice", "alice-pw"),
		"bob":   ds.inboxSubjects(t, "bob", "bob-pw"),
		"carol": ds.inboxSubjects(t, "carol", "carol-pw"),
	}
	want := map[string]map[string]int{
		"alice": {"to the alias": 1, "to all staff": 1, "to ops": 0},
		"bob":   {"to the alias": 0, "to all staff": 1, "to ops": 1},
		"carol": {"to the alias": 0, "to all staff": 1, "to ops": 1},
	}
	for user, subjects := range want {
		for subject, n := range subjects {
			if got := count(inbox[user], subject); got != n {
				t.Errorf("%s has %d copies of %q, want %d (Inbox: %q)", user, got, subject, n, inbox[user])
			}
		}
	}
}

// slapd stops: SMTP answers 451 at RCPT (454 at AUTH), IMAP LOGIN
// NO [UNAVAILABLE]; slapd starts again: both work, Pochta untouched.
func TestLDAPThroughListenersOutage(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv)
	ds := startDoors(t, e.Env, e.LDAP)
	if _, err := ds.imapLogin(t, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	_, err := ds.imapLogin(t, "alice", "alice-pw")
	if err == nil || !strings.Contains(err.Error(), "UNAVAILABLE") {
		t.Errorf("IMAP LOGIN during the outage: %v; want NO [UNAVAILABLE]", err)
	}
	_, err = ds.imapLogin(t, "alice", "wrong")
	if err == nil || !strings.Contains(err.Error(), "UNAVAILABLE") {
		t.Errorf("IMAP LOGIN with a wrong password during the outage: %v; want NO [UNAVAILABLE]", err)
	}
	c, err := gosmtp.Dial(ds.mxAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("someone@elsewhere.example", nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"alice@example.com", "nobody@example.com", "all@example.com"} {
		err := c.Rcpt(rcpt, nil)
		var se *gosmtp.SMTPError
		if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (gosmtp.EnhancedCode{4, 4, 3}) {
			t.Errorf("RCPT %s during the outage: %v; want 451 4.4.3", rcpt, err)
		}
	}
	_, err = ds.submissionAuth(t, "alice", "alice-pw")
	if code := smtpCode(err); code < 400 || code >= 500 {
		t.Errorf("SMTP AUTH during the outage: %v; want a temporary 4xx", err)
	}

	srv.Start()
	if _, err := ds.imapLogin(t, "alice", "alice-pw"); err != nil {
		t.Errorf("IMAP LOGIN after the restart: %v", err)
	}
	if err := c.Rcpt("alice@example.com", nil); err != nil {
		t.Errorf("RCPT after the restart: %v", err)
	}
	if _, err := ds.submissionAuth(t, "alice", "alice-pw"); err != nil {
		t.Errorf("SMTP AUTH after the restart: %v", err)
	}
}
