package smtp

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/storage"
)

// queueSetup is a harness, a remote MX behind STARTTLS and AUTH, and a
// runner that uses it as smarthost.
type queueSetup struct {
	*harness
	remote *remoteMX
	runner *delivery.Runner
	alice  *directory.Account
}

func newQueueSetup(t *testing.T, tweak func(*delivery.RunnerOptions), hc ...harnessConfig) *queueSetup {
	t.Helper()
	h := newHarness(t, hc...)
	q := &queueSetup{harness: h}
	q.alice = h.addUser("alice@example.com", "secret")
	q.remote = newRemoteMX(t, h.env.TLS, "relayuser", "relaypass")
	ro := delivery.RunnerOptions{
		Deliverer: h.d, Workers: 2, Hostname: "mx.example.com",
		Smarthost: q.remote.addr, SmarthostTLS: "starttls", SmarthostUsername: "relayuser", SmarthostPassword: "relaypass",
		TLSConfig: h.env.ClientTLS, RetryBase: time.Hour, Logger: h.env.Logger,
	}
	if tweak != nil {
		tweak(&ro)
	}
	r, err := delivery.NewRunner(ro)
	if err != nil {
		t.Fatal(err)
	}
	q.runner = r
	return q
}

func (q *queueSetup) submit(to ...string) {
	q.t.Helper()
	c := q.dialSubmission(false, "alice@example.com", "secret")
	if err := send(c, "alice@example.com", to, submitted); err != nil {
		q.t.Fatal(err)
	}
}

func (q *queueSetup) runOnce() int {
	q.t.Helper()
	n, err := q.runner.RunOnce(context.Background())
	if err != nil {
		q.t.Fatal(err)
	}
	return n
}

func (q *queueSetup) queue() []storage.QueueMessage {
	q.t.Helper()
	ms, err := q.env.Store.QueueMessages(context.Background(), 0, 100)
	if err != nil {
		q.t.Fatal(err)
	}
	return ms
}

// Done-when 4: a relayed message arrives at the smarthost over STARTTLS
// with AUTH, without our Return-Path:, with our Received:, and leaves the queue.
func TestRelayThroughSmarthost(t *testing.T) {
	q := newQueueSetup(t, nil)
	q.submit("partner@foreign.example")
	if n := q.runOnce(); n != 1 {
		t.Fatalf("attempted %d", n)
	}
	got := q.remote.messages()
	if len(got) != 1 {
		t.Fatalf("remote got %d", len(got))
	}
	m := got[0]
	if m.from != "alice@example.com" || len(m.to) != 1 || m.to[0] != "partner@foreign.example" || !m.tls || m.auth != "relayuser" {
		t.Fatalf("remote saw %+v", m)
	}
	// go-smtp's DialStartTLS says EHLO localhost.
	if !strings.HasSuffix(string(m.data), submitted) || !strings.HasPrefix(string(m.data), "Received: from localhost ([127.0.0.1])") {
		t.Fatalf("relayed bytes %q", m.data)
	}
	if strings.Contains(string(m.data), "Return-Path:") {
		t.Error("Return-Path relayed")
	}
	if len(q.queue()) != 0 {
		t.Fatal("delivered message still queued")
	}
	if n, _ := q.env.Store.BlobCount(context.Background()); n != 1 {
		t.Errorf("%d blobs (the Sent Items copy keeps one)", n)
	}
	tr, _ := q.env.Store.Trace(context.Background(), storage.TraceQuery{Recipient: "partner@foreign.example"})
	if len(tr) == 0 || tr[0].Outcome != "relayed" {
		t.Errorf("trace %+v", tr)
	}
}

// Done-when 4: a 4xx is retried later (with backoff), then delivered.
func TestTemporaryFailureRetried(t *testing.T) {
	q := newQueueSetup(t, nil)
	q.remote.setRcptErr(func(addr string, attempt int) error {
		if attempt == 1 {
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	})
	q.submit("partner@foreign.example")
	before := time.Now()
	q.runOnce()
	ms := q.queue()
	if len(ms) != 1 || ms[0].Attempts != 1 || ms[0].Recipients[0].State != storage.RcptPending || ms[0].Recipients[0].LastCode != 451 {
		t.Fatalf("after 4xx: %+v", ms)
	}
	if !ms[0].NextAttemptAt.After(before.Add(30 * time.Minute)) {
		t.Fatalf("next attempt %v is not backed off", ms[0].NextAttemptAt)
	}
	if n := q.runOnce(); n != 0 {
		t.Fatalf("retried before it was due (%d)", n)
	}
	// Time passes (the admin's "queue retry" does the same).
	if err := q.env.Store.RetryQueued(context.Background(), ms[0].ID); err != nil {
		t.Fatal(err)
	}
	q.runOnce()
	if len(q.remote.messages()) != 1 || len(q.queue()) != 0 {
		t.Fatalf("not delivered on retry: remote %d, queue %d", len(q.remote.messages()), len(q.queue()))
	}
	if got := q.inbox(q.alice.ID); len(got) != 0 {
		t.Fatalf("sender got %d notices for a delivered message", len(got))
	}
}

// Done-when 4: a 5xx makes a DSN in the sender's Inbox carrying the
// original headers; a second recipient that succeeded is not reported.
func TestPermanentFailureBounces(t *testing.T) {
	q := newQueueSetup(t, nil)
	q.remote.setRcptErr(func(addr string, _ int) error {
		if strings.HasPrefix(addr, "gone@") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	})
	q.submit("gone@foreign.example", "partner@foreign.example")
	q.runOnce()
	if len(q.queue()) != 0 {
		t.Fatal("message still queued")
	}
	inbox := q.inbox(q.alice.ID)
	if len(inbox) != 1 {
		t.Fatalf("alice has %d messages, want 1 DSN", len(inbox))
	}
	rep, err := delivery.ParseDSN(inbox[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1 {
		t.Fatalf("report %+v", rep.Recipients)
	}
	r := rep.Recipients[0]
	if r.FinalRecipient != "gone@foreign.example" || r.Action != "failed" || r.Status != "5.1.1" || !strings.Contains(r.Diagnostic, "550 5.1.1 no such user") || r.RemoteMTA != "127.0.0.1" {
		t.Fatalf("recipient block %+v", r)
	}
	if rep.ReportingMTA != "mx.example.com" || rep.OriginalType != "text/rfc822-headers" {
		t.Fatalf("report %+v", rep)
	}
	for _, want := range []string{"Subject: Plans", "Message-ID: <plans@example.com>", "From: Alice <alice@example.com>"} {
		if !strings.Contains(string(rep.Original), want) {
			t.Errorf("returned headers lack %q", want)
		}
	}
	if strings.Contains(string(rep.Original), "See you at nine") || strings.Contains(string(rep.Original), "Return-Path") {
		t.Errorf("returned part %q", rep.Original)
	}
	// The DSN itself came from the null sender.
	if !strings.HasPrefix(string(inbox[0]), "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>") {
		t.Errorf("DSN starts %q", inbox[0][:80])
	}
}

// RET=FULL (or bounce_content = full) returns the whole message.
func TestBounceFullContent(t *testing.T) {
	q := newQueueSetup(t, nil, harnessConfig{bounceContent: "full"})
	q.remote.setRcptErr(func(string, int) error {
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "rejected"}
	})
	q.submit("partner@foreign.example")
	q.runOnce()
	rep, err := delivery.ParseDSN(q.inbox(q.alice.ID)[0])
	if err != nil {
		t.Fatal(err)
	}
	if rep.OriginalType != "message/rfc822" || !strings.Contains(string(rep.Original), "See you at nine.") {
		t.Fatalf("returned %s %q", rep.OriginalType, rep.Original)
	}
}

// Done-when 4: a message from the null sender that fails makes no bounce.
// It comes in as a bounce from outside to a local group with a remote member.
func TestNullSenderNeverBounced(t *testing.T) {
	q := newQueueSetup(t, nil)
	ctx := context.Background()
	d := q.env.Dir
	if err := d.AddGroup(ctx, "team@example.com", "Team"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"alice@example.com", "partner@foreign.example"} {
		if err := d.AddGroupMember(ctx, "team@example.com", m); err != nil {
			t.Fatal(err)
		}
	}
	q.remote.setRcptErr(func(string, int) error {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	})
	c := q.dial(q.mxAddr)
	if err := send(c, "", []string{"team@example.com"}, "From: MAILER-DAEMON@remote.example\r\nSubject: bounce\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	ms := q.queue()
	if len(ms) != 1 || ms[0].Sender != "" {
		t.Fatalf("queue %+v", ms)
	}
	q.runOnce()
	if len(q.queue()) != 0 {
		t.Fatal("still queued")
	}
	if got := q.inbox(q.alice.ID); len(got) != 1 {
		t.Fatalf("alice has %d (want only the group copy, no bounce)", len(got))
	}
	tr, _ := q.env.Store.Trace(ctx, storage.TraceQuery{Recipient: "partner@foreign.example"})
	if len(tr) == 0 || tr[0].Outcome != "bounced" {
		t.Fatalf("trace %+v", tr)
	}
}

// NOTIFY=NEVER: a failure is not reported.
func TestNotifyNever(t *testing.T) {
	q := newQueueSetup(t, nil)
	q.remote.setRcptErr(func(string, int) error {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no"}
	})
	c := q.dialSubmission(false, "alice@example.com", "secret")
	if err := c.Mail("alice@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("partner@foreign.example", &gosmtp.RcptOptions{Notify: []gosmtp.DSNNotify{gosmtp.DSNNotifyNever}}); err != nil {
		t.Fatal(err)
	}
	w, _ := c.Data()
	w.Write([]byte(submitted))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	q.runOnce()
	if len(q.queue()) != 0 || len(q.inbox(q.alice.ID)) != 0 {
		t.Fatal("NOTIFY=NEVER failure was reported or kept")
	}
}

// The remote server got our RFC 3461 parameters (it supports DSN).
func TestDSNParametersRelayed(t *testing.T) {
	q := newQueueSetup(t, nil)
	c := q.dialSubmission(false, "alice@example.com", "secret")
	if err := c.Mail("alice@example.com", &gosmtp.MailOptions{Return: gosmtp.DSNReturnHeaders, EnvelopeID: "id42"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("partner@foreign.example", &gosmtp.RcptOptions{Notify: []gosmtp.DSNNotify{gosmtp.DSNNotifySuccess, gosmtp.DSNNotifyFailure}, OriginalRecipientType: gosmtp.DSNAddressTypeRFC822, OriginalRecipient: "p@foreign.example"}); err != nil {
		t.Fatal(err)
	}
	w, _ := c.Data()
	w.Write([]byte(submitted))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	q.runOnce()
	m := q.remote.messages()[0]
	if m.opts.Return != gosmtp.DSNReturnHeaders || m.opts.EnvelopeID != "id42" {
		t.Fatalf("MAIL options %+v", m.opts)
	}
	ro := m.rcpt[0]
	if len(ro.Notify) != 2 || ro.OriginalRecipient != "p@foreign.example" {
		t.Fatalf("RCPT options %+v", ro)
	}
	// The next hop took NOTIFY=SUCCESS; it reports, we do not (RFC 3461 §5.2.2).
	if n := len(q.inbox(q.alice.ID)); n != 0 {
		t.Fatalf("%d notices", n)
	}
}

// Expiry: a recipient still failing temporarily after the lifetime is
// bounced (5.x), with the last error.
func TestExpiryBounces(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "secret")
	remote := newRemoteMX(t, h.env.TLS, "", "")
	remote.setRcptErr(func(string, int) error {
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 2, 0}, Message: "busy"}
	})
	// A lifetime shorter than any attempt.
	d := delivery.New(delivery.Options{Store: h.env.Store, Directory: h.env.Dir, Hostname: "mx.example.com", QueueLifetime: time.Nanosecond})
	out := &delivery.Outgoing{Sender: "alice@example.com", AccountID: alice.ID, Raw: []byte(submitted), Recipients: []delivery.Recipient{{Address: "partner@foreign.example"}}}
	if _, err := d.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	r, err := delivery.NewRunner(delivery.RunnerOptions{Deliverer: d, Smarthost: remote.addr, SmarthostTLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ms, _ := h.env.Store.QueueMessages(context.Background(), 0, 10); len(ms) != 0 {
		t.Fatalf("expired message still queued: %+v", ms)
	}
	rep, err := delivery.ParseDSN(h.inbox(alice.ID)[0])
	if err != nil {
		t.Fatal(err)
	}
	if rep.Recipients[0].Action != "failed" || rep.Recipients[0].Status != "5.2.0" || !strings.Contains(rep.Recipients[0].Diagnostic, "busy") {
		t.Fatalf("expiry report %+v", rep.Recipients[0])
	}
}

// The optional delay DSN is sent once.
func TestDelayDSN(t *testing.T) {
	q := newQueueSetup(t, func(o *delivery.RunnerOptions) { o.DelayDSN, o.DelayDSNAfter = true, time.Nanosecond })
	q.remote.setRcptErr(func(string, int) error {
		return &gosmtp.SMTPError{Code: 452, EnhancedCode: gosmtp.EnhancedCode{4, 2, 2}, Message: "full"}
	})
	q.submit("partner@foreign.example")
	q.runOnce()
	ms := q.queue()
	if len(ms) != 1 || !ms[0].DelayNotified {
		t.Fatalf("queue %+v", ms)
	}
	rep, err := delivery.ParseDSN(q.inbox(q.alice.ID)[0])
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Recipients[0]; r.Action != "delayed" || r.Status != "4.2.2" || r.WillRetryUntil.IsZero() {
		t.Fatalf("delay report %+v", r)
	}
	q.env.Store.RetryQueued(context.Background(), ms[0].ID)
	q.runOnce()
	if n := len(q.inbox(q.alice.ID)); n != 1 {
		t.Fatalf("%d notices after the second attempt", n)
	}
}

// fakeResolver answers MX lookups from a table.
type fakeResolver map[string][]*net.MX

func (f fakeResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if mx, ok := f[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// Without a smarthost, delivery goes to the domain's MX (by preference,
// skipping one that does not answer) with opportunistic STARTTLS; a null
// MX bounces at once.
func TestMXDelivery(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "secret")
	remote := newRemoteMX(t, h.env.TLS, "", "")
	_, port, _ := net.SplitHostPort(remote.addr)
	dead, _ := net.Listen("tcp", "127.0.0.2:"+port)
	if dead != nil {
		dead.Close() // 127.0.0.2 on the same port: nothing answers there
	}
	res := fakeResolver{
		"foreign.example": {{Host: "127.0.0.2.", Pref: 5}, {Host: "127.0.0.1.", Pref: 10}},
		"nomail.example":  {{Host: ".", Pref: 0}},
	}
	r, err := delivery.NewRunner(delivery.RunnerOptions{Deliverer: h.d, Resolver: res, MXPort: port, Hostname: "mx.example.com", ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	out := &delivery.Outgoing{Sender: "alice@example.com", AccountID: alice.ID, Raw: []byte(submitted),
		Recipients: []delivery.Recipient{{Address: "partner@foreign.example"}, {Address: "x@nomail.example"}}}
	if _, err := h.d.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := remote.messages()
	if len(got) != 1 || got[0].to[0] != "partner@foreign.example" || !got[0].tls {
		t.Fatalf("remote got %+v", got)
	}
	rep, err := delivery.ParseDSN(h.inbox(alice.ID)[0])
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Recipients[0]; r.FinalRecipient != "x@nomail.example" || r.Status != "5.1.10" {
		t.Fatalf("null MX report %+v", r)
	}
}

// Run, the long-running loop: an enqueue wakes it and the message leaves.
func TestRunnerLoop(t *testing.T) {
	q := newQueueSetup(t, func(o *delivery.RunnerOptions) { o.PollInterval = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.runner.Run(ctx) }()
	for i := 0; i < 3; i++ {
		q.submit("partner" + strconv.Itoa(i) + "@foreign.example")
	}
	deadline := time.After(30 * time.Second)
	for got := 0; got < 3; got++ {
		select {
		case <-q.remote.arrived:
		case <-deadline:
			t.Fatalf("only %d of 3 arrived", got)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Two nodes' runners on one PostgreSQL: every queued message is delivered
// exactly once (claims use FOR UPDATE SKIP LOCKED).
func TestTwoRunnersShareQueuePostgres(t *testing.T) {
	h := newHarness(t, harnessConfig{postgres: true})
	alice := h.addUser("alice@example.com", "secret")
	remote := newRemoteMX(t, nil, "", "")
	const n = 30
	for i := 0; i < n; i++ {
		out := &delivery.Outgoing{Sender: "alice@example.com", AccountID: alice.ID, Raw: []byte(submitted),
			Recipients: []delivery.Recipient{{Address: "p" + strconv.Itoa(i) + "@foreign.example"}}}
		if _, err := h.d.Send(context.Background(), out); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var runs []chan error
	for node := 0; node < 2; node++ {
		r, err := delivery.NewRunner(delivery.RunnerOptions{Deliverer: h.d, Workers: 3, Smarthost: remote.addr, SmarthostTLS: "none", PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		runs = append(runs, done)
	}
	deadline := time.After(60 * time.Second)
	for got := 0; got < n; got++ {
		select {
		case <-remote.arrived:
		case <-deadline:
			t.Fatalf("%d of %d arrived", got, n)
		}
	}
	// Let the runners record their last attempts, then stop them.
	for i := 0; i < 200 && len(mustQueue(t, h)) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	for _, d := range runs {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	for _, m := range remote.messages() {
		seen[m.to[0]]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct recipients reached", len(seen))
	}
	for rcpt, k := range seen {
		if k != 1 {
			t.Errorf("%s got %d copies", rcpt, k)
		}
	}
	if q := mustQueue(t, h); len(q) != 0 {
		t.Fatalf("%d left in the queue", len(q))
	}
}

func mustQueue(t *testing.T, h *harness) []storage.QueueMessage {
	t.Helper()
	ms, err := h.env.Store.QueueMessages(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// An authenticated user may send to an address literal (RFC 5321 §4.1.3);
// the runner connects to that address without an MX lookup.
func TestAddressLiteralDelivery(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "secret")
	remote := newRemoteMX(t, nil, "", "")
	_, port, _ := net.SplitHostPort(remote.addr)
	c := h.dialSubmission(false, "alice@example.com", "secret")
	if err := send(c, "alice@example.com", []string{"postmaster@[127.0.0.1]"}, submitted); err != nil {
		t.Fatal(err)
	}
	r, err := delivery.NewRunner(delivery.RunnerOptions{Deliverer: h.d, Resolver: fakeResolver{}, MXPort: port})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := remote.messages()
	if len(got) != 1 || got[0].to[0] != "postmaster@[127.0.0.1]" {
		t.Fatalf("remote got %+v", got)
	}
	if n := len(h.inbox(alice.ID)); n != 0 {
		t.Fatalf("%d notices", n)
	}
}
