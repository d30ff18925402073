package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"

	imapdoor "github.com/pochta/pochta/imap"
	smtpdoor "github.com/pochta/pochta/smtp"
)

// TestCreatedAccountIsRealAtOnce: an account made through the API logs in
// over IMAP and receives a message over SMTP straight away; the API then
// shows the message in the mailbox statistics and the trace. A password
// changed and an account disabled through the API take effect on IMAP at
// once too.
func TestCreatedAccountIsRealAtOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	env := h.env

	mx, err := smtpdoor.New(smtpdoor.Options{Mode: smtpdoor.ModeMX, Hostname: "mx.example.com", Deliverer: env.Deliverer,
		Directory: env.Dir, Store: env.Store, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	mxLn := serveDoor(t, mx.Serve, mx.Shutdown)
	imapSrv, err := imapdoor.New(imapdoor.Options{Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	imapLn := serveDoor(t, imapSrv.ServeTLS, imapSrv.Shutdown)

	const password = "made by the API"
	r := h.do(t, http.MethodPost, "/accounts", h.admin, map[string]any{"address": "newhire@example.com", "password": password, "display_name": "New Hire"})
	expect(t, r, http.StatusCreated)

	// SMTP: the MX accepts mail for the new address at once.
	raw := "From: hr@partner.example\r\nTo: newhire@example.com\r\nSubject: Welcome aboard\r\nMessage-ID: <welcome-1@partner.example>\r\n\r\nHello!\r\n"
	c, err := gosmtp.Dial(mxLn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("partner.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("hr@partner.example", []string{"newhire@example.com"}, strings.NewReader(raw)); err != nil {
		t.Fatalf("SMTP delivery to the new account: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}

	// IMAP: the new account logs in and finds the message.
	ic, err := imapclient.DialTLS(imapLn, &imapclient.Options{TLSConfig: env.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login("newhire@example.com", password).Wait(); err != nil {
		t.Fatalf("IMAP login of the new account: %v", err)
	}
	sel, err := ic.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 {
		t.Fatalf("INBOX has %d messages, want 1", sel.NumMessages)
	}
	msgs, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Envelope == nil || msgs[0].Envelope.Subject != "Welcome aboard" {
		t.Fatalf("fetched %+v", msgs)
	}
	if err := ic.Logout().Wait(); err != nil {
		t.Fatal(err)
	}

	// The API sees the delivery.
	r = h.do(t, http.MethodGet, "/accounts/newhire@example.com/mailbox", h.read, nil)
	expect(t, r, http.StatusOK)
	var mb mailboxJSON
	r.decode(t, &mb)
	if mb.Messages != 1 || mb.UsedBytes == 0 {
		t.Fatalf("mailbox after delivery %+v", mb)
	}
	r = h.do(t, http.MethodGet, "/trace?message_id="+url.QueryEscape("<welcome-1@partner.example>"), h.read, nil)
	expect(t, r, http.StatusOK)
	var tr page[traceJSON]
	r.decode(t, &tr)
	if len(tr.Items) != 1 || tr.Items[0].Outcome != "delivered" || tr.Items[0].Recipient != "newhire@example.com" {
		t.Fatalf("trace %+v", tr.Items)
	}

	// Password changes and disabling reach IMAP at once.
	login := func(pw string) error {
		ic, err := imapclient.DialTLS(imapLn, &imapclient.Options{TLSConfig: env.ClientTLS})
		if err != nil {
			t.Fatal(err)
		}
		defer ic.Close()
		return ic.Login("newhire@example.com", pw).Wait()
	}
	expect(t, h.do(t, http.MethodPut, "/accounts/newhire@example.com/password", h.admin, map[string]any{"password": "second password"}), http.StatusNoContent)
	if err := login(password); err == nil {
		t.Fatal("old password still logs in over IMAP")
	}
	if err := login("second password"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	expect(t, h.do(t, http.MethodPost, "/accounts/newhire@example.com/disable", h.admin, nil), http.StatusOK)
	if err := login("second password"); err == nil {
		t.Fatal("disabled account logs in over IMAP")
	}
}

// serveDoor runs a door on a loopback listener until the test ends and
// returns its address.
func serveDoor(t *testing.T, serve func(net.Listener) error, shutdown func(context.Context) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return ln.Addr().String()
}
