package hardening

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/rop"
)

// Done-when 4: a panic in a handler, forced through the trap directory
// (Authenticate panics for panicLogin, Resolve for panicRcpt, Health on
// demand) or the MAPI session factory (for panicROP), ends that request
// or connection, is logged once with its stack and counted in
// pochta_panics_total{component}, and the next client is served.
func TestPanicsRecovered(t *testing.T) {
	w := newWorld(t, worldOptions{})
	plainPanic := base64.StdEncoding.EncodeToString([]byte("\x00" + panicLogin + "\x00x"))
	cases := []struct {
		name      string
		component string
		trigger   func(t *testing.T)
		next      func(t *testing.T)
	}{
		{"IMAP", obs.DoorIMAP, func(t *testing.T) {
			c := dialLines(t, "127.0.0.2", w.imapsAddr, w.clientTLS)
			c.line()
			c.send("a LOGIN %s x", panicLogin)
			if !c.closedByServer(func(l string) bool { return strings.HasPrefix(l, "* BYE") }) {
				t.Error("connection not closed after the panic")
			}
		}, func(t *testing.T) {
			if got := imapLogin(t, w, "127.0.0.3", w.alice.Address, alicePassword); got != accepted {
				t.Errorf("next IMAP client: %s", got)
			}
		}},
		{"POP3", obs.DoorPOP3, func(t *testing.T) {
			c := dialLines(t, "127.0.0.2", w.pop3sAddr, w.clientTLS)
			c.line()
			c.send("AUTH PLAIN %s", plainPanic)
			if !c.closedByServer(func(l string) bool { return strings.HasPrefix(l, "-ERR") }) {
				t.Error("connection not closed after the panic")
			}
		}, func(t *testing.T) {
			if got := pop3Login(t, w, "127.0.0.3", w.alice.Address, alicePassword); got != accepted {
				t.Errorf("next POP3 client: %s", got)
			}
		}},
		{"SMTP-AUTH", "smtp", func(t *testing.T) {
			c := dialLines(t, "127.0.0.2", w.submissionsAddr, w.clientTLS)
			c.smtpReply()
			c.smtpCmd("EHLO panic.example")
			c.send("AUTH PLAIN %s", plainPanic)
			if !c.closedByServer(func(l string) bool { return strings.HasPrefix(l, "4") }) {
				t.Error("connection not closed after the panic")
			}
		}, func(t *testing.T) {
			if got := smtpAuth(t, w, "127.0.0.3", w.alice.Address, alicePassword); got != accepted {
				t.Errorf("next SMTP client: %s", got)
			}
		}},
		// SMTP commands inside a transaction recover to a temporary reply
		// (a 250 is never sent for work that panicked) and the session
		// goes on; the client retries the recipient later.
		{"SMTP-RCPT", "smtp", func(t *testing.T) {
			c := dialLines(t, "127.0.0.2", w.smtpAddr, nil)
			c.smtpReply()
			c.smtpCmd("EHLO panic.example")
			c.smtpCmd("MAIL FROM:<x@remote.example>")
			if r := c.smtpCmd("RCPT TO:<%s>", panicRcpt); !strings.HasPrefix(r, "451") {
				t.Errorf("RCPT that panicked: %q", r)
			}
			if r := c.smtpCmd("RCPT TO:<alice@example.com>"); !strings.HasPrefix(r, "250") {
				t.Errorf("the session did not go on after the panic: %q", r)
			}
		}, func(t *testing.T) {}},
		{"REST-API", "api", func(t *testing.T) {
			w.dir.healthPanics.Store(true)
			defer w.dir.healthPanics.Store(false)
			if got := apiStatus(t, w, "127.0.0.2"); got != http.StatusInternalServerError {
				t.Errorf("GET /status that panicked: %d", got)
			}
		}, func(t *testing.T) {
			if got := apiStatus(t, w, "127.0.0.3"); got != http.StatusOK {
				t.Errorf("next API request: %d", got)
			}
		}},
		{"MAPI-auth", "mapi", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "https://"+w.httpsAddr+"/autodiscover/autodiscover.xml", nil)
			req.SetBasicAuth(panicLogin, "x")
			if code := status(t, w.httpClient("127.0.0.2"), req); code != http.StatusInternalServerError {
				t.Errorf("MAPI request that panicked: %d", code)
			}
		}, func(t *testing.T) {
			if got := mapiBasic(t, w, "127.0.0.3", w.alice.Address, alicePassword); got != accepted {
				t.Errorf("next MAPI client: %s", got)
			}
		}},
		{"MAPI-session", "mapi", func(t *testing.T) {
			acct, err := w.env.Dir.AccountByAddress(context.Background(), panicROP)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.mapiClient(t, "127.0.0.2", acct, panicROPPassword).Connect(context.Background()); err == nil {
				t.Error("a Connect whose session panicked succeeded")
			}
		}, func(t *testing.T) {
			if _, err := w.mapiClient(t, "127.0.0.3", w.alice, alicePassword).Connect(context.Background()); err != nil {
				t.Errorf("next MAPI Connect: %v", err)
			}
		}},
		// Inside a ROP: a RopLogon naming the panic account's DN makes the
		// ROP layer look that account up by id.
		{"MAPI-ROP", "mapi", func(t *testing.T) {
			acct, err := w.env.Dir.AccountByAddress(context.Background(), panicLogin)
			if err != nil {
				t.Fatal(err)
			}
			w.dir.accountPanics.Store(acct.ID)
			defer w.dir.accountPanics.Store(0)
			c := w.mapiClient(t, "127.0.0.2", w.alice, alicePassword)
			if _, err := c.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			b := c.NewBatch()
			out := b.Out()
			b.Add(&rop.LogonRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: out}, OutputHandleIndex: out,
				LogonFlags: rop.LogonFlagPrivate, Essdn: mapi.LegacyDN(acct)})
			if res, err := b.Run(context.Background(), true); err == nil {
				t.Errorf("a RopLogon whose handling panicked succeeded: %+v", res.Responses)
			}
		}, func(t *testing.T) {
			c := w.mapiClient(t, "127.0.0.3", w.alice, alicePassword)
			if _, err := c.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Logon(context.Background(), 0); err != nil {
				t.Errorf("next MAPI logon: %v", err)
			}
		}},
		{"webmail", "web", func(t *testing.T) {
			if code, body := w.webSignIn(t, "127.0.0.2", panicLogin, "x", nil); code != http.StatusInternalServerError {
				t.Errorf("webmail sign-in that panicked: %d %s", code, body)
			}
		}, func(t *testing.T) {
			if got := webLogin(t, w, "127.0.0.3", w.alice.Address, alicePassword); got != accepted {
				t.Errorf("next webmail client: %s", got)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := w.panics(tc.component)
			logged := strings.Count(w.logs.String(), "hardening: injected panic")
			tc.trigger(t)
			// A library may report the panic just after it closed the
			// connection the client saw closing.
			waitFor(func() bool { return w.panics(tc.component) > before })
			if got := w.panics(tc.component); got != before+1 {
				t.Errorf("pochta_panics_total{component=%q} went from %v to %v", tc.component, before, got)
			}
			if n := strings.Count(w.logs.String(), "hardening: injected panic") - logged; n != 1 {
				t.Errorf("the panic was logged %d times", n)
			}
			if testing.Verbose() && t.Failed() {
				t.Log(w.logs.String())
			}
			tc.next(t)
		})
	}
}

func apiStatus(t *testing.T, w *world, src string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://"+w.httpsAddr+"/api/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	return status(t, w.httpClient(src), req)
}

// waitFor polls cond for a while (it is not a timing assertion: the
// caller checks the condition again and fails if it never came true).
func waitFor(cond func() bool) {
	for i := 0; i < 500 && !cond(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}
