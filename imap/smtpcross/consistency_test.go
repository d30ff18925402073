// Package smtpcross_test runs the IMAP consistency harness with its mail
// arriving through the SMTP server, the way it does in production. It is a
// test-only package so that the imap package itself never depends on the
// smtp door.
package smtpcross_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/imap"
	"github.com/pochta/pochta/imap/internal/imaptest"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/smtp"
)

const password = "correct horse battery staple"

// TestIMAPConsistencyWithSMTPDeliveries: 20 IMAP clients work on INBOX at
// random while messages arrive by SMTP (MX) on one connection; every
// client's view stays consistent and nothing is lost or duplicated.
func TestIMAPConsistencyWithSMTPDeliveries(t *testing.T) {
	env := testenv.New(t)
	acct := env.AddUser(t, "alice@example.com", password)

	isrv, err := imap.New(imap.Options{Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	iln := testenv.Listen(t)
	go isrv.ServeTLS(iln)
	ssrv, err := smtp.New(smtp.Options{Mode: smtp.ModeMX, Hostname: "mx.example.com", Deliverer: env.Deliverer,
		Directory: env.Dir, Store: env.Store, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	sln := testenv.Listen(t)
	go func() {
		if err := ssrv.Serve(sln); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Logf("smtp serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ssrv.Shutdown(ctx)
		isrv.Shutdown(ctx)
	})

	c, err := gosmtp.Dial(sln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		t.Fatal(err)
	}
	deliver := func(ctx context.Context, raw []byte) (uint32, error) {
		if err := c.Mail("bob@remote.example", nil); err != nil {
			return 0, err
		}
		if err := c.Rcpt("alice@example.com", nil); err != nil {
			return 0, err
		}
		w, err := c.Data()
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(raw); err != nil {
			return 0, err
		}
		// 250 comes after the message is durably in the store.
		return 0, w.Close()
	}
	imaptest.Consistency(t, imaptest.Config{
		Addr: iln.Addr().String(), TLS: env.ClientTLS, User: acct.Address, Password: password,
		Store: env.Store, AccountID: acct.ID, Clients: 20, Ops: 25, Deliveries: 60, Deliver: deliver,
	})
}

// TestIMAPIdleWokenBySMTP: a message accepted by the SMTP server reaches a
// client in IDLE as EXISTS.
func TestIMAPIdleWokenBySMTP(t *testing.T) {
	env := testenv.New(t)
	acct := env.AddUser(t, "alice@example.com", password)
	isrv, err := imap.New(imap.Options{Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	iln := testenv.Listen(t)
	go isrv.ServeTLS(iln)
	ssrv, err := smtp.New(smtp.Options{Mode: smtp.ModeMX, Hostname: "mx.example.com", Deliverer: env.Deliverer, Directory: env.Dir, Store: env.Store, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	sln := testenv.Listen(t)
	go ssrv.Serve(sln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ssrv.Shutdown(ctx)
		isrv.Shutdown(ctx)
	})

	exists := make(chan uint32, 10)
	c, err := imapclient.DialTLS(iln.Addr().String(), &imapclient.Options{TLSConfig: env.ClientTLS, UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(acct.Address, password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := gosmtp.Dial(sln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.SendMail("bob@remote.example", []string{"alice@example.com"}, bytes.NewReader(imaptest.Message("wake up"))); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Fatalf("EXISTS %d, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the IDLE client heard nothing within 10s of the SMTP delivery")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}
