// Package imaptest holds the IMAP door's consistency harness, shared by the
// door's own tests and the cross-door tests (deliveries through SMTP): many
// wire-level clients work on one folder at random while mail arrives, and
// every client's picture of the folder is checked against what the server
// told it and, at the end, against the store.
package imaptest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/storage"
)

// Config describes the server under test and the workload.
type Config struct {
	// Addr speaks IMAP over implicit TLS with TLS as the client config.
	Addr     string
	TLS      *tls.Config
	User     string
	Password string
	// Store and AccountID let the harness compare with the store's truth.
	Store     *storage.Store
	AccountID int64
	// Clients work Ops random operations each while Deliveries messages
	// arrive through Deliver, which returns the message's UID in INBOX, or
	// 0 when its path does not tell (SMTP).
	Clients, Ops, Deliveries int
	Deliver                  func(ctx context.Context, raw []byte) (uint32, error)
}

// vclient is a wire-level IMAP client that keeps its own picture of the
// selected mailbox purely from what the server says (EXISTS, EXPUNGE,
// FETCH) and checks every response against it.
type vclient struct {
	t    *testing.T
	id   int
	conn *tls.Conn
	r    *bufio.Reader
	tag  int
	// view[i] is the UID at sequence number i+1 (0 while unknown).
	view  []uint32
	flags map[uint32]string // last flags heard per UID, normalised
	// expunged collects the UIDs the server said were expunged.
	expunged []uint32
	errs     []string
}

var (
	reFetch  = regexp.MustCompile(`^\* (\d+) FETCH \((.*)\)$`)
	reUID    = regexp.MustCompile(`UID (\d+)`)
	reFlags  = regexp.MustCompile(`FLAGS \(([^)]*)\)`)
	reCopyUI = regexp.MustCompile(`\[COPYUID \d+ ([0-9:,]+) ([0-9:,]+)\]`)
	reAppUID = regexp.MustCompile(`\[APPENDUID \d+ (\d+)\]`)
)

func (c *vclient) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf("client %d: ", c.id)+fmt.Sprintf(format, args...))
}

func normFlags(s string) string {
	f := strings.Fields(s)
	for i := range f {
		f[i] = strings.ToLower(f[i])
	}
	slices.Sort(f)
	return strings.Join(f, " ")
}

// storeFlags renders the store's flags the way IMAP shows them.
func storeFlags(bits storage.Flags, keywords string) string {
	var out []string
	for _, sf := range []struct {
		bit  storage.Flags
		name string
	}{{storage.FlagSeen, `\Seen`}, {storage.FlagAnswered, `\Answered`}, {storage.FlagFlagged, `\Flagged`},
		{storage.FlagDeleted, `\Deleted`}, {storage.FlagDraft, `\Draft`}, {storage.FlagForwarded, "$Forwarded"}} {
		if bits&sf.bit != 0 {
			out = append(out, sf.name)
		}
	}
	return normFlags(strings.Join(append(out, strings.Fields(keywords)...), " "))
}

// handle applies one untagged response to the view.
func (c *vclient) handle(line string) {
	fields := strings.SplitN(line, " ", 4)
	if len(fields) < 3 || fields[0] != "*" {
		return
	}
	n, err := strconv.Atoi(fields[1])
	if err != nil {
		return
	}
	switch strings.ToUpper(fields[2]) {
	case "EXISTS":
		if n < len(c.view) {
			c.errorf("EXISTS %d below the %d messages known", n, len(c.view))
			return
		}
		for len(c.view) < n {
			c.view = append(c.view, 0)
		}
	case "EXPUNGE":
		if n < 1 || n > len(c.view) {
			c.errorf("EXPUNGE %d outside 1..%d", n, len(c.view))
			return
		}
		if u := c.view[n-1]; u != 0 {
			c.expunged = append(c.expunged, u)
		}
		c.view = slices.Delete(c.view, n-1, n)
	case "FETCH":
		m := reFetch.FindStringSubmatch(line)
		if m == nil {
			c.errorf("unparsable FETCH %q", line)
			return
		}
		if n < 1 || n > len(c.view) {
			c.errorf("FETCH %d outside 1..%d: %q", n, len(c.view), line)
			return
		}
		u := reUID.FindStringSubmatch(m[2])
		if u == nil {
			c.errorf("FETCH without UID: %q", line)
			return
		}
		uid64, _ := strconv.ParseUint(u[1], 10, 32)
		uid := uint32(uid64)
		if old := c.view[n-1]; old != 0 && old != uid {
			c.errorf("sequence %d was UID %d, now UID %d without an EXPUNGE", n, old, uid)
		}
		c.view[n-1] = uid
		if f := reFlags.FindStringSubmatch(m[2]); f != nil {
			c.flags[uid] = normFlags(f[1])
		}
	}
}

// checkAscending: UIDs increase with sequence numbers.
func (c *vclient) checkAscending(after string) {
	var last uint32
	for i, u := range c.view {
		if u == 0 {
			continue
		}
		if u <= last {
			c.errorf("after %s: UID %d at sequence %d not above %d", after, u, i+1, last)
			return
		}
		last = u
	}
}

func (c *vclient) readLine() (string, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(60 * time.Second)); err != nil {
		return "", err
	}
	l, err := c.r.ReadString('\n')
	return strings.TrimRight(l, "\r\n"), err
}

// run sends a command (with an optional literal, sent as LITERAL+) and
// returns the tagged line; untagged responses update the view.
func (c *vclient) run(command string, literal []byte) (string, []string) {
	c.tag++
	tag := fmt.Sprintf("c%d", c.tag)
	msg := tag + " " + command
	if literal != nil {
		msg += fmt.Sprintf(" {%d+}\r\n", len(literal)) + string(literal)
	}
	if _, err := c.conn.Write([]byte(msg + "\r\n")); err != nil {
		c.t.Errorf("client %d: write: %v", c.id, err)
		return "", nil
	}
	var untagged []string
	for {
		l, err := c.readLine()
		if err != nil {
			c.t.Errorf("client %d: %s: read: %v", c.id, command, err)
			return "", untagged
		}
		if strings.HasPrefix(l, tag+" ") {
			c.checkAscending(command)
			return l, untagged
		}
		untagged = append(untagged, l)
		c.handle(l)
	}
}

func (c *vclient) ok(command string, literal []byte) (string, []string) {
	done, untagged := c.run(command, literal)
	if !strings.HasPrefix(done, "c") || !strings.Contains(done, " OK") {
		c.errorf("%s: %s", command, done)
	}
	return done, untagged
}

func parseUIDList(s string) []uint32 {
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		lo, _ := strconv.ParseUint(a, 10, 32)
		hi := lo
		if isRange {
			hi, _ = strconv.ParseUint(b, 10, 32)
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		for u := lo; u <= hi; u++ {
			out = append(out, uint32(u))
		}
	}
	return out
}

// Message is a small message with a unique subject.
func Message(subject string) []byte {
	return []byte("From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.com>\r\n\r\nbody of " + subject + "\r\n")
}

// Consistency runs cfg.Clients clients doing APPEND, STORE, COPY, MOVE and
// EXPUNGE at random on INBOX while cfg.Deliveries messages arrive, then
// checks: no UID reused or going backwards, no sequence number changing its
// UID without an EXPUNGE, EXISTS and EXPUNGE adding up to what the store
// holds, flags converging to the store's, and every message either present
// or expunged in the store, never both, never twice.
func Consistency(t *testing.T, cfg Config) {
	ctx := context.Background()
	inbox, err := cfg.Store.FolderByRole(ctx, cfg.AccountID, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	created := map[uint32]string{} // UID -> who made it
	unknown := 0                   // deliveries whose UID the path did not tell
	record := func(uid uint32, who string) {
		mu.Lock()
		defer mu.Unlock()
		if uid == 0 {
			unknown++
			return
		}
		if prev, dup := created[uid]; dup {
			t.Errorf("UID %d handed out twice (%s, then %s)", uid, prev, who)
		}
		created[uid] = who
	}
	for i := range 10 {
		uid, err := cfg.Deliver(ctx, Message(fmt.Sprintf("seed %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		record(uid, "seed")
	}

	dial := func(id int) *vclient {
		conn, err := tls.Dial("tcp", cfg.Addr, cfg.TLS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		vc := &vclient{t: t, id: id, conn: conn, r: bufio.NewReader(conn), flags: map[uint32]string{}}
		if _, err := vc.readLine(); err != nil {
			t.Fatal(err)
		}
		vc.ok(fmt.Sprintf("LOGIN %s %q", cfg.User, cfg.Password), nil)
		return vc
	}
	setup := dial(-1)
	if done, _ := setup.run("CREATE Other", nil); !strings.Contains(done, " OK") && !strings.Contains(done, "ALREADYEXISTS") {
		t.Fatalf("CREATE Other: %s", done)
	}
	vcs := make([]*vclient, cfg.Clients)
	for i := range vcs {
		vc := dial(i)
		vc.ok("SELECT INBOX", nil)
		vc.ok("FETCH 1:* (UID FLAGS)", nil)
		vcs[i] = vc
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range cfg.Deliveries {
			uid, err := cfg.Deliver(ctx, Message(fmt.Sprintf("delivery %d", i)))
			if err != nil {
				t.Errorf("delivery: %v", err)
				return
			}
			record(uid, "delivery")
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		}
	}()
	for _, vc := range vcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(vc.id), 99))
			who := fmt.Sprintf("client %d", vc.id)
			pick := func() int { return 1 + r.IntN(max(len(vc.view), 1)) }
			for op := range cfg.Ops {
				switch r.IntN(7) {
				case 0:
					done, _ := vc.ok("APPEND INBOX (\\Seen)", Message(fmt.Sprintf("append %d/%d", vc.id, op)))
					if m := reAppUID.FindStringSubmatch(done); m != nil {
						u, _ := strconv.ParseUint(m[1], 10, 32)
						record(uint32(u), who)
					} else {
						vc.errorf("APPEND without APPENDUID: %s", done)
					}
				case 1, 2:
					flag := []string{`\Flagged`, `\Seen`, `\Answered`, "Work", "$Label2"}[r.IntN(5)]
					sign := []string{"+", "-"}[r.IntN(2)]
					vc.ok(fmt.Sprintf("STORE %d %sFLAGS (%s)", pick(), sign, flag), nil)
				case 3:
					a := pick()
					done, _ := vc.ok(fmt.Sprintf("COPY %d:%d INBOX", a, min(a+r.IntN(3), max(len(vc.view), 1))), nil)
					if m := reCopyUI.FindStringSubmatch(done); m != nil {
						for _, u := range parseUIDList(m[2]) {
							record(u, who+" copy")
						}
					}
				case 4:
					vc.ok(fmt.Sprintf("MOVE %d Other", pick()), nil)
				case 5:
					vc.ok(fmt.Sprintf("STORE %d +FLAGS.SILENT (\\Deleted)", pick()), nil)
					if r.IntN(2) == 0 {
						vc.ok("EXPUNGE", nil)
					} else {
						vc.ok("UID EXPUNGE 1:*", nil)
					}
				default:
					vc.ok("NOOP", nil)
				}
				if r.IntN(3) == 0 {
					vc.ok("FETCH 1:* (UID FLAGS)", nil)
				}
			}
		}()
	}
	wg.Wait()

	// Quiet now: every client catches up and must agree with the store.
	meta, err := cfg.Store.FolderMeta(ctx, cfg.AccountID, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	final := make([]uint32, len(meta))
	finalFlags := map[uint32]string{}
	for i, m := range meta {
		final[i] = m.UID
		finalFlags[m.UID] = storeFlags(m.Flags, m.Keywords)
	}
	reported := map[uint32]bool{}
	for _, vc := range vcs {
		vc.ok("NOOP", nil)
		// What the client heard unasked must already match the store.
		for i, u := range vc.view {
			if u == 0 {
				continue // announced by EXISTS, not fetched yet: fetched below
			}
			if i >= len(final) || final[i] != u {
				vc.errorf("after NOOP, sequence %d is UID %d; the store has %v", i+1, u, final)
				break
			}
			if got, want := vc.flags[u], finalFlags[u]; got != want {
				vc.errorf("after NOOP, UID %d flags %q, store has %q: flag changes did not converge", u, got, want)
			}
		}
		if len(vc.view) != len(final) {
			vc.errorf("EXISTS/EXPUNGE add up to %d messages, the store has %d", len(vc.view), len(final))
		}
		_, untagged := vc.ok("FETCH 1:* (UID FLAGS)", nil)
		if len(untagged) != len(final) {
			vc.errorf("FETCH 1:* returned %d messages, the store has %d", len(untagged), len(final))
		}
		if !slices.Equal(vc.view, final) {
			vc.errorf("final view %v, store %v", vc.view, final)
		}
		for _, u := range vc.expunged {
			reported[u] = true
		}
		for _, e := range vc.errs {
			t.Error(e)
		}
	}
	for _, e := range setup.errs {
		t.Error(e)
	}

	// Nothing lost, nothing duplicated: every UID handed out is either
	// still there or expunged in the store, never both; a UID the store
	// has but nobody was told of belongs to a delivery that did not say.
	tombs, err := cfg.Store.ExpungedSince(ctx, cfg.AccountID, inbox.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	gone := map[uint32]bool{}
	for _, tb := range tombs {
		gone[tb.UID] = true
	}
	present := map[uint32]bool{}
	for _, u := range final {
		present[u] = true
		if gone[u] {
			t.Errorf("UID %d both present and expunged", u)
		}
		if reported[u] {
			t.Errorf("UID %d reported expunged but still present", u)
		}
	}
	for u, who := range created {
		if !present[u] && !gone[u] {
			t.Errorf("UID %d (%s) vanished without being expunged", u, who)
		}
	}
	for u := range reported {
		if !gone[u] {
			t.Errorf("UID %d reported expunged to a client but not expunged in the store", u)
		}
	}
	untold := 0
	for u := range present {
		if _, ok := created[u]; !ok {
			untold++
		}
	}
	for u := range gone {
		if _, ok := created[u]; !ok {
			untold++
		}
	}
	if untold != unknown {
		t.Errorf("%d UIDs were never handed out to anyone, but %d deliveries did not report theirs: messages lost or duplicated", untold, unknown)
	}
	t.Logf("%d clients, %d UIDs handed out (+%d by deliveries that do not say), %d remain, %d expunged",
		cfg.Clients, len(created), unknown, len(final), len(gone))
	if len(gone) == 0 || len(created)+unknown < 50 {
		t.Errorf("the workload did too little to mean anything: %d created, %d expunged", len(created)+unknown, len(gone))
	}
}
