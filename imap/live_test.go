package imap

import (
	"context"

	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pochta/pochta/storage"
)

// events collects what a client hears unasked.
type events struct {
	exists  chan uint32
	expunge chan uint32
	fetch   chan *imapclient.FetchMessageBuffer
}

func newEvents() (*events, *imapclient.Options) {
	ev := &events{exists: make(chan uint32, 100), expunge: make(chan uint32, 100), fetch: make(chan *imapclient.FetchMessageBuffer, 100)}
	return ev, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				ev.exists <- *d.NumMessages
			}
		},
		Expunge: func(seq uint32) { ev.expunge <- seq },
		Fetch: func(m *imapclient.FetchMessageData) {
			buf, err := m.Collect()
			if err == nil {
				ev.fetch <- buf
			}
		},
	}}
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		panic("unreachable")
	}
}

// TestIMAPIdleSeesOtherDoors: a delivery (the SMTP path, through
// internal/delivery), a flag change and an expunge made by other doors
// reach a client in IDLE.
func TestIMAPIdleSeesOtherDoors(t *testing.T) {
	ts := newTestServer(t)
	ev, opts := newEvents()
	c := ts.client(t, opts)
	ts.env.Deliver(t, []byte(plainMessage("first", "one")), ts.accountID)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}

	res := ts.env.Deliver(t, []byte(plainMessage("second", "two")), ts.accountID)
	if n := wait(t, ev.exists, "EXISTS after a delivery"); n != 2 {
		t.Fatalf("EXISTS %d, want 2", n)
	}

	// Another door (MAPI, webmail, POP3) changes flags through the store.
	ctx := context.Background()
	inbox := res.Targets[0].FolderID
	if _, err := ts.env.Store.SetFlags(ctx, ts.accountID, inbox, []int64{res.Targets[0].MessageID}, storage.FlagsAdd, storage.FlagFlagged, nil, 0); err != nil {
		t.Fatal(err)
	}
	m := wait(t, ev.fetch, "FETCH FLAGS after a flag change")
	if m.SeqNum != 2 || len(m.Flags) != 1 || m.Flags[0] != imap.FlagFlagged {
		t.Fatalf("unsolicited FETCH %+v", m)
	}

	// And expunges (a POP3 DELE, a MAPI delete).
	meta, err := ts.env.Store.FolderMeta(ctx, ts.accountID, inbox)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.env.Store.Expunge(ctx, ts.accountID, inbox, []int64{meta[0].ID}); err != nil {
		t.Fatal(err)
	}
	if seq := wait(t, ev.expunge, "EXPUNGE after a removal"); seq != 1 {
		t.Fatalf("EXPUNGE %d, want 1", seq)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != imap.UID(res.Targets[0].UID) {
		t.Fatalf("after IDLE: %v %+v", err, msgs)
	}
}

// TestIMAPNoopSeesChanges: a command after a change committed by another
// session reports it (go-imap polls after every command).
func TestIMAPNoopSeesChanges(t *testing.T) {
	ts := newTestServer(t)
	evA, optsA := newEvents()
	a := ts.client(t, optsA)
	b := ts.client(t)
	for _, c := range []*imapclient.Client{a, b} {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	ts.env.Deliver(t, []byte(plainMessage("one", "1")), ts.accountID)
	appendMsg(t, b, "INBOX", plainMessage("two", "2"), nil)
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := a.Mailbox().NumMessages; n != 2 {
		t.Fatalf("A sees %d messages after NOOP, want 2", n)
	}
	if err := b.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if m := wait(t, evA.fetch, "FETCH FLAGS"); m.SeqNum != 1 || m.Flags[0] != imap.FlagDeleted {
		t.Fatalf("A heard %+v", m)
	}
	// B expunges; A, during FETCH, must not hear the EXPUNGE (RFC 9051
	// §7.5.1) and must still address the message as 1.
	if _, err := b.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	msgs, err := a.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != 2 {
		t.Fatalf("A's FETCH 2 during a pending expunge: %v %+v", err, msgs)
	}
	select {
	case seq := <-evA.expunge:
		t.Fatalf("EXPUNGE %d sent during FETCH", seq)
	default:
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if seq := wait(t, evA.expunge, "EXPUNGE on NOOP"); seq != 1 {
		t.Fatalf("EXPUNGE %d, want 1", seq)
	}
	msgs, err = a.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].UID != 2 {
		t.Fatalf("A after EXPUNGE: %v %+v", err, msgs)
	}
}

// TestIMAPDeletedSelectedMailbox: deleting the mailbox a session has
// selected ends that session with BYE.
func TestIMAPDeletedSelectedMailbox(t *testing.T) {
	ts := newTestServer(t)
	a, b := ts.client(t), ts.client(t)
	if err := b.Create("Temp", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Select("Temp", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete("Temp").Wait(); err != nil {
		t.Fatal(err)
	}
	a.Noop().Wait()
	select {
	case <-a.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("session on a deleted mailbox still open")
	}
}

// BenchmarkIMAPIdleWake measures the time from a delivery's commit to the
// EXISTS reaching a client in IDLE.
func BenchmarkIMAPIdleWake(b *testing.B) {
	ts := newTestServer(b)
	ev, opts := newEvents()
	c := ts.client(b, opts)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		b.Fatal(err)
	}
	defer idle.Close()
	raw := []byte(plainMessage("wake", "up"))
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		if _, err := ts.env.Deliverer.DeliverLocal(context.Background(), raw, []int64{ts.accountID}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		select {
		case n := <-ev.exists:
			if n != uint32(i+1) {
				b.Fatalf("EXISTS %d, want %d", n, i+1)
			}
		case <-time.After(10 * time.Second):
			b.Fatal("no EXISTS")
		}
		total += time.Since(committed)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-commit-to-EXISTS")
}
