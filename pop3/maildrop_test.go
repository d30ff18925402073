package pop3_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/pop3"
	"github.com/pochta/pochta/storage"
)

// Done-when 2: DELE then a dropped connection leaves every message; DELE
// then QUIT removes them, and the store's other readers (the change feed
// IMAP IDLE uses, FolderMeta that IMAP SELECT uses) see the expunge.
func TestDeleteOnlyAtQuit(t *testing.T) {
	for _, backend := range []struct {
		name string
		opts testenv.Options
	}{{"sqlite", testenv.Options{}}, {"postgres", testenv.Options{Postgres: true}}} {
		t.Run(backend.name, func(t *testing.T) {
			f := newFixture(t, backend.opts, nil)
			f.deliver(t, testMessage(1), testMessage(2), testMessage(3))
			before := f.inboxMeta(t)

			c := f.loginWhenFree(t)
			c.ok("DELE 1")
			c.ok("DELE 3")
			c.conn.Close() // no QUIT
			d := f.loginWhenFree(t)
			if r := d.ok("STAT"); !strings.HasPrefix(r, "+OK 3 ") {
				t.Fatalf("after a dropped connection: %q", r)
			}
			if n := len(f.inboxMeta(t)); n != 3 {
				t.Fatalf("%d messages in the store after a dropped connection", n)
			}

			sub := f.env.Store.Subscribe(f.acct.ID)
			defer sub.Close()
			d.ok("DELE 1")
			d.ok("DELE 3")
			d.ok("RETR 2")
			d.multi()
			if r := d.ok("QUIT"); !strings.Contains(r, "1 messages left") {
				t.Fatalf("QUIT: %q", r)
			}
			after := f.inboxMeta(t)
			if len(after) != 1 || after[0].ID != before[1].ID {
				t.Fatalf("left in the Inbox: %+v", after)
			}
			if after[0].Flags&storage.FlagSeen == 0 {
				t.Error("the retrieved message is not \\Seen")
			}
			// The feed carries the expunges, as published after the commit.
			changes, _ := sub.Take()
			gone := map[int64]bool{}
			for _, ch := range changes {
				if ch.Kind == storage.MessageExpunged {
					gone[ch.MessageID] = true
				}
			}
			if len(gone) != 2 || !gone[before[0].ID] || !gone[before[2].ID] {
				t.Fatalf("feed: %+v", changes)
			}
			// The tombstones IMAP QRESYNC reads are there too.
			inbox, _ := f.env.Store.FolderByRole(context.Background(), f.acct.ID, storage.RoleInbox)
			ts, err := f.env.Store.ExpungedSince(context.Background(), f.acct.ID, inbox.ID, before[2].ChangeNum)
			if err != nil || len(ts) != 2 {
				t.Fatalf("tombstones %+v %v", ts, err)
			}
			// A new session sees the result.
			e := f.loginWhenFree(t)
			if r := e.ok("STAT"); r != fmt.Sprintf("+OK 1 %d", len(testMessage(2))) {
				t.Fatalf("STAT in a new session: %q", r)
			}
		})
	}
}

func TestMoveToTrashPolicy(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.DeletePolicy = pop3.DeleteMoveToTrash })
	f.deliver(t, testMessage(1), testMessage(2))
	c := f.loginWhenFree(t)
	c.ok("RETR 1")
	c.multi()
	c.ok("DELE 1")
	c.ok("QUIT")
	if n := len(f.inboxMeta(t)); n != 1 {
		t.Fatalf("%d messages in the Inbox", n)
	}
	ctx := context.Background()
	trash, _ := f.env.Store.FolderByRole(ctx, f.acct.ID, storage.RoleDeleted)
	tm, _ := f.env.Store.FolderMeta(ctx, f.acct.ID, trash.ID)
	if len(tm) != 1 || tm[0].Size != int64(len(testMessage(1))) || tm[0].Flags&storage.FlagSeen == 0 {
		t.Fatalf("Deleted Items: %+v", tm)
	}
}

func TestNoFlagUpdates(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.NoFlagUpdates = true })
	f.deliver(t, testMessage(1))
	c := f.loginWhenFree(t)
	c.ok("RETR 1")
	c.multi()
	c.ok("QUIT")
	if m := f.inboxMeta(t); m[0].Flags&storage.FlagSeen != 0 {
		t.Fatal("\\Seen set with NoFlagUpdates")
	}
}

// Messages removed by IMAP while a POP3 session holds its snapshot: RETR
// says so, QUIT still succeeds.
func TestMessageRemovedMeanwhile(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	f.deliver(t, testMessage(1), testMessage(2))
	c := f.loginWhenFree(t)
	meta := f.inboxMeta(t)
	inbox, _ := f.env.Store.FolderByRole(context.Background(), f.acct.ID, storage.RoleInbox)
	if _, err := f.env.Store.Expunge(context.Background(), f.acct.ID, inbox.ID, []int64{meta[0].ID}); err != nil {
		t.Fatal(err)
	}
	if r := c.cmd("RETR 1"); !strings.HasPrefix(r, "-ERR") || !strings.Contains(r, "removed") {
		t.Fatalf("RETR of an expunged message: %q", r)
	}
	c.ok("DELE 1")
	c.ok("DELE 2")
	if r := c.ok("QUIT"); !strings.HasPrefix(r, "+OK") {
		t.Fatal(r)
	}
	if n := len(f.inboxMeta(t)); n != 0 {
		t.Fatalf("%d left", n)
	}
}

// Done-when 3: one session per maildrop; the second is refused with
// [IN-USE] at once and gets in after the first quits.
func TestMaildropLock(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	f.deliver(t, testMessage(1))
	a := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	if r := a.login(); !strings.HasPrefix(r, "+OK") {
		t.Fatal(r)
	}
	b := dialPlain(t, f.addr)
	b.startTLS(f.env.ClientTLS)
	if r := b.login(); r != "-ERR [IN-USE] Maildrop is locked by another session" {
		t.Fatalf("second session: %q", r)
	}
	// Still in AUTHORIZATION: it may try again on the same connection.
	if r := b.cmd("STAT"); !strings.Contains(r, "AUTHORIZATION") {
		t.Fatalf("second session state: %q", r)
	}
	a.ok("QUIT")
	if r := b.login(); !strings.HasPrefix(r, "+OK Maildrop has 1") {
		t.Fatalf("after the first quit: %q", r)
	}
}

// The lock holds across nodes: two servers on one PostgreSQL database share
// it through the lease row (by default), and so do two on one sqlite store
// when told to (LockShared; a sqlite store normally has one process).
func TestMaildropLockAcrossNodes(t *testing.T) {
	for _, backend := range []struct {
		name string
		opts testenv.Options
		mode string
	}{{"sqlite", testenv.Options{}, pop3.LockShared}, {"postgres", testenv.Options{Postgres: true}, pop3.LockAuto}} {
		t.Run(backend.name, func(t *testing.T) {
			mode := func(o *pop3.Options) { o.MaildropLock = backend.mode }
			node1 := newFixture(t, backend.opts, mode)
			node2 := &fixture{env: node1.env, acct: node1.acct}
			node2.start(t, mode)
			a := dialTLS(t, node1.tlsAddr, node1.env.ClientTLS)
			if r := a.login(); !strings.HasPrefix(r, "+OK") {
				t.Fatal(r)
			}
			b := dialTLS(t, node2.tlsAddr, node2.env.ClientTLS)
			if r := b.login(); !strings.HasPrefix(r, "-ERR [IN-USE]") {
				t.Fatalf("other node: %q", r)
			}
			a.ok("QUIT")
			if r := b.login(); !strings.HasPrefix(r, "+OK") {
				t.Fatalf("other node after quit: %q", r)
			}
			// A dropped connection frees the maildrop too.
			b.conn.Close()
			node1.loginWhenFree(t)
		})
	}
}

// LockAuto takes a store lease on PostgreSQL and none on sqlite.
func TestLockAuto(t *testing.T) {
	for _, backend := range []struct {
		name  string
		opts  testenv.Options
		lease bool
	}{{"sqlite", testenv.Options{}, false}, {"postgres", testenv.Options{Postgres: true}, true}} {
		t.Run(backend.name, func(t *testing.T) {
			f := newFixture(t, backend.opts, nil)
			c := f.loginWhenFree(t)
			ctx := context.Background()
			if err := f.env.Store.MigratePOP3(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := f.env.Store.AcquirePOP3Lease(ctx, f.acct.ID, "probe", time.Minute)
			if err != nil || got == backend.lease {
				t.Fatalf("a probe got the lease: %v (%v); want %v", got, err, !backend.lease)
			}
			c.ok("QUIT")
		})
	}
}

// A node that died leaves a lease that expires: another node gets in
// after it, and renewal keeps a live session's lease past its TTL.
func TestLeaseExpiresAndRenews(t *testing.T) {
	const ttl = 2 * time.Second
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) {
		o.LeaseTTL = ttl
		o.MaildropLock = pop3.LockShared
	})
	ctx := context.Background()
	if err := f.env.Store.MigratePOP3(ctx); err != nil {
		t.Fatal(err)
	}
	// A crashed node's lease.
	if ok, err := f.env.Store.AcquirePOP3Lease(ctx, f.acct.ID, "dead-node", 200*time.Millisecond); !ok || err != nil {
		t.Fatal(ok, err)
	}
	c := f.loginWhenFree(t) // waits for the expiry
	// Well past the TTL, renewal (every third of it) has kept the lease.
	time.Sleep(ttl * 9 / 4)
	if ok, err := f.env.Store.AcquirePOP3Lease(ctx, f.acct.ID, "other-node", ttl); ok || err != nil {
		t.Fatalf("live session's lease taken: %v %v", ok, err)
	}
	c.ok("QUIT")
	if ok, err := f.env.Store.AcquirePOP3Lease(ctx, f.acct.ID, "other-node", ttl); !ok || err != nil {
		t.Fatalf("lease not released at QUIT: %v %v", ok, err)
	}
}

// Done-when 4: UIDL is the same in every session and after a restart of
// the server on a reopened store.
func TestUIDLStable(t *testing.T) {
	env := testenv.New(t)
	acct := env.AddUser(t, testUser, testPass)
	for i := range 4 {
		env.Deliver(t, []byte(testMessage(i)), acct.ID)
	}
	dsn := filepath.Join(env.DataDir, "pochta.db")
	f := &fixture{env: env, acct: acct}
	f.start(t, nil)
	uidl := func(f *fixture) map[string]string {
		c := f.loginWhenFree(t)
		c.ok("UIDL")
		out := map[string]string{}
		for _, l := range strings.Split(strings.TrimSuffix(c.multi(), "\r\n"), "\r\n") {
			n, id, _ := strings.Cut(l, " ")
			c.ok("TOP " + n + " 0")
			subject := ""
			for _, h := range strings.Split(c.multi(), "\r\n") {
				if s, ok := strings.CutPrefix(h, "Subject: "); ok {
					subject = s
				}
			}
			out[subject] = id
		}
		c.ok("QUIT")
		return out
	}
	first := uidl(f)
	if len(first) != 4 {
		t.Fatalf("UIDL: %v", first)
	}
	if again := uidl(f); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("second session: %v, first %v", again, first)
	}
	// Deleting one message renumbers the others but keeps their ids.
	c := f.loginWhenFree(t)
	c.ok("DELE 1")
	c.ok("QUIT")
	delete(first, "message 0")
	if again := uidl(f); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("after a deletion: %v, want %v", again, first)
	}
	// Restart: stop the server, close the store, open it again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	reopened, err := storage.Open(context.Background(), storage.Options{Driver: "sqlite", DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reopened.Close() })
	w, r := reopened.DBs()
	dir, err := directory.NewLocal(context.Background(), directory.LocalOptions{DB: w, ReadDB: r, Durable: reopened.Sync})
	if err != nil {
		t.Fatal(err)
	}
	env2 := *env
	env2.Store, env2.Dir = reopened, dir
	g := &fixture{env: &env2, acct: acct}
	g.start(t, nil)
	if again := uidl(g); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("after restart: %v, want %v", again, first)
	}
}

// A message of several blob chunks streams through RETR and TOP exactly.
func TestLargeMessageStreams(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	var b bytes.Buffer
	b.WriteString("From: bob@example.org\r\nSubject: big\r\n\r\n")
	for i := 0; b.Len() < 3<<20; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, ".line %d starts with a dot\r\n", i)
		case 1:
			fmt.Fprintf(&b, "line %d ends in a bare LF\n", i)
		default:
			b.WriteString(strings.Repeat("x", 990) + "\r\n")
		}
	}
	raw := b.String()
	f.deliver(t, raw)
	want := strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	c := f.loginWhenFree(t)
	if r := c.ok("RETR 1"); r != fmt.Sprintf("+OK %d octets", len(raw)) {
		t.Fatalf("RETR: %q", r)
	}
	if got := c.multi(); got != want {
		t.Fatalf("RETR of %d bytes differs (got %d bytes)", len(want), len(got))
	}
	c.ok("TOP 1 3")
	if got, w := c.multi(), "From: bob@example.org\r\nSubject: big\r\n\r\n.line 0 starts with a dot\r\nline 1 ends in a bare LF\r\n"+strings.Repeat("x", 990)+"\r\n"; got != w {
		t.Fatalf("TOP of a large message: %q", got)
	}
	c.ok("QUIT")
}

// Messages come out right whatever the order of RETR and TOP, across the
// read-ahead's batches, with deleted messages skipped.
func TestRetrieveOrderAndReadAhead(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	const n = 150
	var msgs []string
	for i := range n {
		msgs = append(msgs, testMessage(i))
	}
	f.deliver(t, msgs...)
	c := f.loginWhenFree(t)
	c.ok("DELE 3")
	order := []int{}
	for i := 1; i <= n; i++ {
		order = append(order, i)
	}
	for i := n; i >= 1; i -= 7 {
		order = append(order, i)
	}
	for _, i := range order {
		if i == 3 {
			if r := c.cmd("RETR 3"); !strings.HasPrefix(r, "-ERR") {
				t.Fatalf("RETR of a deleted message: %q", r)
			}
			continue
		}
		c.ok(fmt.Sprintf("RETR %d", i))
		if got := c.multi(); got != msgs[i-1] {
			t.Fatalf("RETR %d: %q", i, got)
		}
		if i%10 == 0 {
			c.ok(fmt.Sprintf("TOP %d 1", i))
			if got := c.multi(); !strings.Contains(got, fmt.Sprintf("Subject: message %d\r\n", i-1)) {
				t.Fatalf("TOP %d: %q", i, got)
			}
		}
	}
	c.ok("QUIT")
}
