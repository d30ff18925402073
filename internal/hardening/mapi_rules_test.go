package hardening

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/internal/delivery"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/rules"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/rop"
	"github.com/pochta/pochta/storage"
)

// Issue 10, done-when 3: rules written with RopModifyRules through the
// MAPI client over HTTPS, and the out-of-office state and text set the way
// Outlook sets them, act on mail that arrives over a real SMTP listener:
// the move rule files it, the forward rule queues a copy that the queue
// runner hands to a smarthost, and the out-of-office reply goes once per
// sender and never to bulk, list or null-sender mail (RFC 3834).

// relay is a go-smtp server on 127.0.0.1 standing in for the smarthost.
type relay struct {
	addr string
	mu   sync.Mutex
	got  []relayed
}

type relayed struct {
	from string
	to   []string
	data string
}

func newRelay(t *testing.T) *relay {
	t.Helper()
	r := &relay{}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &relaySession{r: r}, nil }))
	s.Domain = "relay.remote.example"
	ln := testenv.Listen(t)
	r.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return r
}

func (r *relay) messages() []relayed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

type relaySession struct {
	r   *relay
	cur relayed
}

func (s *relaySession) Mail(from string, _ *gosmtp.MailOptions) error { s.cur.from = from; return nil }
func (s *relaySession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.r.mu.Lock()
	s.r.got = append(s.r.got, s.cur)
	s.r.mu.Unlock()
	s.cur = relayed{}
	return nil
}
func (s *relaySession) Reset()        { s.cur = relayed{} }
func (s *relaySession) Logout() error { return nil }

// subjectContains is the condition Outlook's "with specific words in the
// subject" writes (MS-OXORULE 2.2.1.3.1.9, a content restriction).
func subjectContains(word string) mp.Value {
	return mp.Value{Tag: mp.PidTagRuleCondition, Data: &mp.ContentRestriction{FuzzyLevelLow: mp.FuzzySubstring, FuzzyLevelHigh: mp.FuzzyIgnoreCase,
		PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, word)}}
}

func TestMAPIRulesOverSMTP(t *testing.T) {
	w := newWorld(t, worldOptions{})
	ctx := context.Background()
	alice := w.alice
	ipm := w.role(t, alice, storage.RoleIPMSubtree)
	reports, err := w.env.Store.CreateFolder(ctx, alice.ID, ipm.ID, "Reports", "IPF.Note")
	if err != nil {
		t.Fatal(err)
	}
	reportsFID := midOf(reports.GlobCnt)

	// Outlook's side, over HTTPS: the rules on the Inbox, the OOF switch on
	// the store, the OOF text in the Inbox's FAI template message.
	c := w.mapiSession(t, alice, alicePassword, 0)
	logon, lr, err := c.Logon(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	inboxFID := lr.FolderIDs[rop.FolderInbox]
	inbox, err := c.OpenFolder(ctx, logon, inboxFID)
	if err != nil {
		t.Fatal(err)
	}
	move, err := rules.EncodeMoveCopy(rules.MoveCopy{InThisStore: true, FolderID: reportsFID})
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := rules.EncodeForward([][]mp.Value{rules.SMTPRecipient("Dan Remote", "dan@remote.example")})
	if err != nil {
		t.Fatal(err)
	}
	b := c.NewBatch()
	b.Add(&rop.ModifyRulesRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(inbox)}, RulesData: []rop.RowData{
		{Flags: rop.RowAdd, Properties: []mp.Value{mp.StringValue(mp.PidTagRuleName, "file reports"), mp.StringValue(mp.PidTagRuleProvider, "RuleOrganizer"),
			mp.Int32Value(mp.PidTagRuleSequence, 10), mp.Int32Value(mp.PidTagRuleState, 1), subjectContains("report"),
			{Tag: mp.PidTagRuleActions, Data: mp.RuleActions{{Type: mp.ActionMove, Data: move}}}}},
		{Flags: rop.RowAdd, Properties: []mp.Value{mp.StringValue(mp.PidTagRuleName, "forward invoices"), mp.StringValue(mp.PidTagRuleProvider, "RuleOrganizer"),
			mp.Int32Value(mp.PidTagRuleSequence, 11), mp.Int32Value(mp.PidTagRuleState, 1), subjectContains("invoice"),
			{Tag: mp.PidTagRuleActions, Data: mp.RuleActions{{Type: mp.ActionForward, Data: fwd}}}}},
	}})
	if _, err := b.Run(ctx, true); err != nil {
		t.Fatalf("RopModifyRules: %v", err)
	}
	if _, err := c.SetProps(ctx, logon, mp.BoolValue(rules.PidTagOofState, true)); err != nil {
		t.Fatalf("PidTagOofState: %v", err)
	}
	tmpl, err := c.CreateMessage(ctx, inbox, inboxFID, true)
	if err != nil {
		t.Fatal(err)
	}
	const oofText = "Away until Monday; your mail waits for me."
	if _, err := c.SetProps(ctx, tmpl, mp.StringValue(mp.PidTagMessageClass, "IPM.Note.Rules.OofTemplate.Microsoft"),
		mp.StringValue(mp.PidTagBody, oofText)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SaveMessage(ctx, tmpl); err != nil {
		t.Fatal(err)
	}

	// Mail over the MX.
	send := func(envFrom, headerFrom, subject string, extra ...string) {
		t.Helper()
		w.smtpDeliver(t, envFrom, alice.Address, plainMessage(headerFrom, alice.Address, subject, extra...))
	}
	send("ann@partner.example", "ann@partner.example", "Monthly report")         // moved; OOF to ann
	send("ann@partner.example", "ann@partner.example", "Invoice 42")             // forwarded; no second OOF to ann
	send("", "mailer-daemon@partner.example", "Undelivered invoice")             // null sender: no OOF, no forward
	send("news@shop.example", "news@shop.example", "Offers", "Precedence: bulk") // bulk: no OOF
	send("list@lists.example", "list@lists.example", "Digest", "List-Id: <talk.lists.example>")
	send("carl@partner.example", "carl@partner.example", "Lunch?") // OOF to carl
	send("carl@partner.example", "carl@partner.example", "Lunch!") // not again within the period

	// The move rule filed the report: the MAPI client sees it in Reports,
	// and not in the Inbox.
	reportsH, err := c.OpenFolder(ctx, logon, reportsFID)
	if err != nil {
		t.Fatal(err)
	}
	subjects := func(folder uint32) []string {
		t.Helper()
		tb, err := c.ContentsTable(ctx, folder, rop.TableFlagUseUnicode, mapiclient.TableQuery{Columns: []mp.Tag{mp.PidTagSubject}})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range tb.Rows {
			if v, ok := r.Get(mp.PidTagSubject.ID()); ok {
				out = append(out, v.Data.(string))
			}
		}
		slices.Sort(out)
		return out
	}
	if got := subjects(reportsH); !slices.Equal(got, []string{"Monthly report"}) {
		t.Errorf("Reports holds %q, want the report", got)
	}
	if got := subjects(inbox); slices.Contains(got, "Monthly report") || len(got) != 6 {
		t.Errorf("Inbox holds %q; want the six others", got)
	}

	// The queue: one forward from alice to dan (not of the bounce), one
	// out-of-office reply from the null sender to each of ann and carl. The
	// replies are queued as the messages are delivered; a generous poll.
	type queued struct{ sender, to, raw string }
	var forwards, replies []queued
	deadline := time.Now().Add(60 * time.Second)
	for {
		forwards, replies = nil, nil
		qs, err := w.env.Store.QueueMessages(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			raw, err := w.env.Store.ReadBlob(ctx, q.BlobHash)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range q.Recipients {
				x := queued{q.Sender, r.Address, string(raw)}
				if q.Sender == "" {
					replies = append(replies, x)
				} else {
					forwards = append(forwards, x)
				}
			}
		}
		if len(forwards) >= 1 && len(replies) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(forwards) != 1 || forwards[0].to != "dan@remote.example" || !strings.EqualFold(forwards[0].sender, alice.Address) ||
		!strings.Contains(forwards[0].raw, "Invoice 42") {
		t.Errorf("forwards queued: %+v", forwards)
	}
	var replyTo []string
	for _, r := range replies {
		replyTo = append(replyTo, r.to)
		if !strings.Contains(r.raw, oofText) || !strings.Contains(r.raw, "Auto-Submitted: auto-replied") {
			t.Errorf("out-of-office reply to %s lacks the template text or Auto-Submitted:\n%s", r.to, r.raw)
		}
	}
	slices.Sort(replyTo)
	if !slices.Equal(replyTo, []string{"ann@partner.example", "carl@partner.example"}) {
		t.Errorf("out-of-office replies to %v; want one each to ann and carl, none to bulk, list or null-sender mail", replyTo)
	}

	// The queue runner hands them to the smarthost: the forward from
	// alice, the replies from <>.
	sh := newRelay(t)
	runner, err := delivery.NewRunner(delivery.RunnerOptions{Deliverer: w.env.Deliverer, Smarthost: sh.addr, SmarthostTLS: "none",
		Hostname: "mx.example.com", Logger: w.env.Logger, RetryBase: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := runner.RunOnce(ctx); err != nil || n != 3 {
		t.Fatalf("queue run: %d messages, %v; want 3", n, err)
	}
	var relayedForwards, relayedReplies []string
	for _, m := range sh.messages() {
		if m.from == "" {
			relayedReplies = append(relayedReplies, m.to...)
		} else if strings.EqualFold(m.from, alice.Address) {
			relayedForwards = append(relayedForwards, m.to...)
		} else {
			t.Errorf("the smarthost got mail from %q to %v", m.from, m.to)
		}
	}
	slices.Sort(relayedReplies)
	if !slices.Equal(relayedForwards, []string{"dan@remote.example"}) || !slices.Equal(relayedReplies, []string{"ann@partner.example", "carl@partner.example"}) {
		t.Errorf("smarthost: forwards to %v, replies to %v", relayedForwards, relayedReplies)
	}
}
