package pop3_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pochta/pochta/imap"
	"github.com/pochta/pochta/internal/testutil/testenv"
)

// Done-when 2 through a real IMAP client: a go-imap client with the Inbox
// selected sees POP3's QUIT expunge the DELEted messages on its next NOOP,
// and \Seen on the retrieved one; a dropped POP3 session shows it nothing.
// (Only the test crosses from one door to the other; the packages do not
// import each other.)
func TestIMAPSeesPOP3Deletes(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	f.deliver(t, testMessage(1), testMessage(2), testMessage(3))
	isrv, err := imap.New(imap.Options{Store: f.env.Store, Directory: f.env.Dir, Deliverer: f.env.Deliverer, TLS: f.env.TLS, Logger: f.env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	ln := testenv.Listen(t)
	go isrv.ServeTLS(ln)
	t.Cleanup(func() { isrv.Shutdown(context.Background()) })

	var mu sync.Mutex
	var expunged []uint32
	c, err := imapclient.DialTLS(ln.Addr().String(), &imapclient.Options{
		TLSConfig: f.env.ClientTLS,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Expunge: func(seq uint32) { mu.Lock(); expunged = append(expunged, seq); mu.Unlock() },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 3 {
		t.Fatalf("SELECT: %+v %v", sel, err)
	}

	// Dropped POP3 session: IMAP sees nothing.
	p := f.loginWhenFree(t)
	p.ok("DELE 1")
	p.conn.Close()
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(expunged) != 0 {
		t.Fatalf("IMAP saw expunges after a dropped POP3 session: %v", expunged)
	}
	mu.Unlock()

	// DELE 1 and 3, RETR 2, QUIT.
	q := f.loginWhenFree(t)
	q.ok("DELE 1")
	q.ok("DELE 3")
	q.ok("RETR 2")
	q.multi()
	q.ok("QUIT")
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	// Expunging 1 then 3 in a mailbox of three: EXPUNGE 3 then EXPUNGE 1,
	// or EXPUNGE 1 then EXPUNGE 2 — either way two of them.
	if len(expunged) != 2 {
		t.Fatalf("IMAP expunges after POP3 QUIT: %v", expunged)
	}
	mu.Unlock()
	msgs, err := c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %v", msgs, err)
	}
	if msgs[0].Envelope.Subject != "message 2" || !slices.Contains(msgs[0].Flags, goimap.FlagSeen) {
		t.Fatalf("the survivor: %q %v", msgs[0].Envelope.Subject, msgs[0].Flags)
	}
	st, err := c.Status("INBOX", &goimap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 1 {
		t.Fatalf("STATUS: %+v %v", st, err)
	}
}
