package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	dto "github.com/prometheus/client_model/go"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

const inboundMsg = "From: Sender <sender@remote.example>\r\n" +
	"To: Alice <alice@example.com>\r\n" +
	"Subject: Quarterly figures\r\n" +
	"Message-ID: <q1@remote.example>\r\n" +
	"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n" +
	"\r\n" +
	"The figures are in.\r\n" +
	".A line that starts with a dot.\r\n"

// Done-when 1: mail from go-smtp's client lands in the Inbox byte for
// byte, behind our Return-Path: and Received: trace fields — on both
// backends.
func TestInboundGoSMTPClient(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessConfig{postgres: pg})
			alice := h.addUser("alice@example.com", "pw")
			c := h.dial(h.mxAddr)
			if err := send(c, "sender@remote.example", []string{"alice@example.com"}, inboundMsg); err != nil {
				t.Fatal(err)
			}
			got := h.inbox(alice.ID)
			if len(got) != 1 {
				t.Fatalf("%d messages in the Inbox", len(got))
			}
			trace := splitTrace(t, got[0], inboundMsg)
			if k := fieldKeys(trace); k != "Return-Path,Received" {
				t.Fatalf("trace fields %s", k)
			}
			if trace[0].Value != "<sender@remote.example>" {
				t.Errorf("Return-Path %q", trace[0].Value)
			}
			rcv := trace[1].Value
			for _, want := range []string{"from client.example.org ([127.0.0.1])", "by mx.example.com", "with ESMTP\t", "for <alice@example.com>"} {
				if !strings.Contains(rcv, want) {
					t.Errorf("Received %q lacks %q", rcv, want)
				}
			}
			if strings.Contains(rcv, "authenticated") || strings.Contains(rcv, "TLS") {
				t.Errorf("Received %q claims TLS or AUTH", rcv)
			}
		})
	}
}

// Over STARTTLS on the MX, Received: says so (RFC 3848 ESMTPS).
func TestInboundSTARTTLSReceived(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "pw")
	c, err := gosmtp.DialStartTLS(h.mxAddr, h.env.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, "sender@remote.example", []string{"alice@example.com"}, inboundMsg); err != nil {
		t.Fatal(err)
	}
	trace := splitTrace(t, h.inbox(alice.ID)[0], inboundMsg)
	rcv := trace[1].Value
	if !strings.Contains(rcv, "with ESMTPS") || !strings.Contains(rcv, "using TLS 1.3 with cipher TLS_") {
		t.Fatalf("Received %q", rcv)
	}
}

// Done-when 1: Python's smtplib, a client we did not write.
func TestInboundPythonSmtplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is required in CI")
		}
		t.Skip("SKIPPING: python3 not found")
	}
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "pw")
	bob := h.addUser("bob@example.com", "pw")
	// 8-bit body, a dot-stuffed line, a long line.
	msg := "From: py@remote.example\r\nTo: alice@example.com, bob@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nGrüße aus Python.\r\n.\r\n..two dots\r\n" + strings.Repeat("x", 900) + "\r\n"
	host, port, _ := net.SplitHostPort(h.mxAddr)
	script := `
import smtplib, sys
msg = sys.stdin.buffer.read()
with smtplib.SMTP(sys.argv[1], int(sys.argv[2])) as s:
    s.ehlo("python.example")
    refused = s.sendmail("py@remote.example", ["alice@example.com", "bob@example.com"], msg, mail_options=["BODY=8BITMIME"])
    assert not refused, refused
`
	cmd := exec.Command(py, "-c", script, host, port)
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for _, id := range []int64{alice.ID, bob.ID} {
		got := h.inbox(id)
		if len(got) != 1 {
			t.Fatalf("account %d: %d messages", id, len(got))
		}
		trace := splitTrace(t, got[0], msg)
		if k := fieldKeys(trace); k != "Return-Path,Received" {
			t.Fatalf("trace %s", k)
		}
		// Two recipients: Received must not name either (Bcc privacy).
		if strings.Contains(trace[1].Value, " for <") {
			t.Errorf("Received names a recipient: %q", trace[1].Value)
		}
	}
	if n, _ := h.env.Store.BlobCount(context.Background()); n != 1 {
		t.Errorf("two local recipients stored %d blobs", n)
	}
}

// Done-when 2: an unknown local recipient is refused at RCPT, and the
// known one in the same transaction still gets the message.
func TestUnknownRecipient(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "pw")
	c := h.dial(h.mxAddr)
	if err := c.Mail("sender@remote.example", nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("nobody@example.com", nil)
	if code, ec := smtpCode(err); code != 550 || ec != "5.1.1" {
		t.Fatalf("unknown recipient: %v", err)
	}
	if err := c.Rcpt("alice@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, inboundMsg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.inbox(alice.ID)); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

// Done-when 2: the open-relay table. Without AUTH none of these may be
// accepted; with AUTH a foreign domain is fine.
func TestOpenRelayRefused(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.com", "pw")
	cases := []struct {
		rcpt string
		code int
		ec   string
	}{
		{"user@foreign.example", 554, "5.7.1"},
		{"ALICE@Foreign.Example", 554, "5.7.1"},
		{"alice%foreign.example@example.com", 550, "5.7.1"},                 // percent hack
		{"foreign.example!alice@example.com", 550, "5.7.1"},                 // bang path
		{`"alice@foreign.example"@example.com`, 550, "5.7.1"},               // quoted local part with a route
		{`"alice%foreign.example"@example.com`, 550, "5.7.1"},               // quoted percent hack
		{`"foreign.example!alice"@example.com`, 550, "5.7.1"},               // quoted bang path
		{"@example.com:alice@foreign.example", 554, "5.7.1"},                // source route to outside
		{"@mx.example.com,@example.com:user@foreign.example", 554, "5.7.1"}, // longer source route
		{"alice@[127.0.0.1]", 554, "5.7.1"},                                 // IP literal
		{"alice@[IPv6:::1]", 554, "5.7.1"},
		{"alice@[192.0.2.1]", 554, "5.7.1"},
	}
	for _, tc := range cases {
		t.Run(tc.rcpt, func(t *testing.T) {
			c := h.dial(h.mxAddr)
			if err := c.Mail("spammer@remote.example", nil); err != nil {
				t.Fatal(err)
			}
			err := c.Rcpt(tc.rcpt, nil)
			code, ec := smtpCode(err)
			if code != tc.code || ec != tc.ec {
				t.Fatalf("RCPT %s: got %v, want %d %s", tc.rcpt, err, tc.code, tc.ec)
			}
		})
	}
	if q, _ := h.env.Store.QueueMessages(context.Background(), 0, 10); len(q) != 0 {
		t.Fatalf("refused relay left %d queue entries", len(q))
	}
	// An authenticated user may relay.
	c := h.dialSubmission(false, "alice@example.com", "pw")
	if err := send(c, "alice@example.com", []string{"user@foreign.example"}, "From: alice@example.com\r\nSubject: out\r\n\r\nhi\r\n"); err != nil {
		t.Fatalf("authenticated relay: %v", err)
	}
	if q, _ := h.env.Store.QueueMessages(context.Background(), 0, 10); len(q) != 1 || q[0].Recipients[0].Address != "user@foreign.example" {
		t.Fatalf("queue %+v", q)
	}
}

// A full mailbox is refused at RCPT: 452 4.2.2 by default, 552 5.2.2 when
// configured permanent. A message that only overflows at commit time gets
// the same answer after DATA.
func TestQuota(t *testing.T) {
	for _, perm := range []bool{false, true} {
		t.Run(fmt.Sprint("permanent=", perm), func(t *testing.T) {
			h := newHarness(t, harnessConfig{opts: func(o *Options) { o.QuotaPermanent = perm }})
			alice := h.addUser("alice@example.com", "pw")
			ctx := context.Background()
			wantCode, wantEC := 452, "4.2.2"
			if perm {
				wantCode, wantEC = 552, "5.2.2"
			}
			// Room for nothing of this size: refused after DATA.
			if err := h.env.Store.SetQuota(ctx, alice.ID, 100); err != nil {
				t.Fatal(err)
			}
			c := h.dial(h.mxAddr)
			err := send(c, "sender@remote.example", []string{"alice@example.com"}, inboundMsg)
			if code, ec := smtpCode(err); code != wantCode || ec != wantEC {
				t.Fatalf("over quota at DATA: %v", err)
			}
			// Announced SIZE beyond the room: refused at RCPT.
			if err := c.Mail("sender@remote.example", &gosmtp.MailOptions{Size: 5000}); err != nil {
				t.Fatal(err)
			}
			err = c.Rcpt("alice@example.com", nil)
			if code, ec := smtpCode(err); code != wantCode || ec != wantEC {
				t.Fatalf("over quota at RCPT: %v", err)
			}
			if n := len(h.inbox(alice.ID)); n != 0 {
				t.Fatalf("%d messages stored over quota", n)
			}
		})
	}
}

// A recipient that fails after the 250 (a group member over quota) gets a
// DSN to the sender; the other members get the message.
func TestFailureAfterAcceptanceBounces(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	alice := h.addUser("alice@example.com", "pw")
	carol := h.addUser("carol@example.com", "pw")
	bob := h.addUser("bob@example.com", "pw")
	if err := h.env.Dir.AddGroup(ctx, "team@example.com", "Team"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"alice@example.com", "carol@example.com"} {
		if err := h.env.Dir.AddGroupMember(ctx, "team@example.com", m); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.env.Store.SetQuota(ctx, alice.ID, 10); err != nil {
		t.Fatal(err)
	}
	c := h.dial(h.mxAddr)
	if err := send(c, "bob@example.com", []string{"team@example.com"}, inboundMsg); err != nil {
		t.Fatal(err)
	}
	if n := len(h.inbox(carol.ID)); n != 1 {
		t.Fatalf("carol has %d", n)
	}
	if n := len(h.inbox(alice.ID)); n != 0 {
		t.Fatalf("alice over quota has %d", n)
	}
	got := h.inbox(bob.ID)
	if len(got) != 1 {
		t.Fatalf("bob has %d messages, want the DSN", len(got))
	}
	rep, err := delivery.ParseDSN(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Recipients) != 1 || rep.Recipients[0].FinalRecipient != "alice@example.com" || rep.Recipients[0].Action != "failed" || rep.Recipients[0].Status != "5.2.2" {
		t.Fatalf("report %+v", rep.Recipients)
	}
	if rep.Recipients[0].OriginalRecipient != "rfc822;team@example.com" {
		t.Errorf("Original-Recipient %q", rep.Recipients[0].OriginalRecipient)
	}
	if !strings.Contains(string(rep.Original), "Subject: Quarterly figures") || strings.Contains(string(rep.Original), "The figures are in") {
		t.Errorf("headers-only return: %q", rep.Original)
	}
}

// Groups: local members get one copy each from one blob; external members
// are queued with the group as original recipient.
func TestGroupExpansion(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	alice := h.addUser("alice@example.com", "pw")
	carol := h.addUser("carol@example.com", "pw")
	d := h.env.Dir
	if err := d.AddGroup(ctx, "team@example.com", "Team"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"alice@example.com", "carol@example.com", "partner@outside.example"} {
		if err := d.AddGroupMember(ctx, "team@example.com", m); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.AddAlias(ctx, "sales@example.com", alice.ID); err != nil {
		t.Fatal(err)
	}
	c := h.dial(h.mxAddr)
	// alice named three times (directly, through an alias and through the
	// group) gets one copy.
	if err := send(c, "sender@remote.example", []string{"team@example.com", "alice@example.com", "Sales@Example.com"}, inboundMsg); err != nil {
		t.Fatal(err)
	}
	if a, b := len(h.inbox(alice.ID)), len(h.inbox(carol.ID)); a != 1 || b != 1 {
		t.Fatalf("alice %d, carol %d", a, b)
	}
	q, _ := h.env.Store.QueueMessages(ctx, 0, 10)
	if len(q) != 1 || len(q[0].Recipients) != 1 || q[0].Recipients[0].Address != "partner@outside.example" || q[0].Recipients[0].ORcpt != "rfc822;team@example.com" {
		t.Fatalf("queue %+v", q)
	}
	if q[0].Sender != "sender@remote.example" {
		t.Errorf("queued sender %q", q[0].Sender)
	}
	if n, _ := h.env.Store.BlobCount(ctx); n != 1 {
		t.Errorf("%d blobs", n)
	}
}

// Limits: SIZE, the data limit, recipients per message.
func TestLimits(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.com", "pw")
	c := h.dial(h.mxAddr)
	err := c.Mail("sender@remote.example", &gosmtp.MailOptions{Size: 2 << 20})
	if code, ec := smtpCode(err); code != 552 || ec != "5.3.4" {
		t.Fatalf("SIZE over the limit: %v", err)
	}
	big := inboundMsg + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", (1<<20)/66+10)
	err = send(c, "sender@remote.example", []string{"alice@example.com"}, big)
	if code, _ := smtpCode(err); code != 552 {
		t.Fatalf("data over the limit: %v", err)
	}
	c = h.dial(h.mxAddr)
	if err := c.Mail("sender@remote.example", nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := c.Rcpt("alice@example.com", nil); err != nil {
			t.Fatalf("rcpt %d: %v", i, err)
		}
	}
	if code, _ := smtpCode(c.Rcpt("alice@example.com", nil)); code != 452 {
		t.Fatal("51st recipient accepted")
	}
}

// Connections per address: the one over the limit gets 421 at once.
func TestConnsPerIP(t *testing.T) {
	h := newHarness(t, harnessConfig{opts: func(o *Options) { o.MaxConnsPerIP = 2 }})
	a, b := h.dial(h.mxAddr), h.dial(h.mxAddr)
	_, _ = a, b
	conn, err := net.Dial("tcp", h.mxAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "421 4.7.0") {
		t.Fatalf("third connection greeted %q", line)
	}
	// Once one closes, a new one is welcome.
	a.Quit()
	c := h.dial(h.mxAddr)
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
}

// EHLO advertises the extensions the issue asks for; AUTH only after TLS.
func TestExtensions(t *testing.T) {
	h := newHarness(t)
	c := h.dial(h.mxAddr)
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE", "ENHANCEDSTATUSCODES", "DSN", "CHUNKING", "STARTTLS"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("EHLO lacks %s", ext)
		}
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered without TLS")
	}
	tc, err := gosmtp.DialStartTLS(h.mxAddr, h.env.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if ok, mechs := tc.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Errorf("after STARTTLS: AUTH %v %q", ok, mechs)
	}
}

// CHUNKING (RFC 3030): BDAT in pieces stores the same bytes.
func TestBDAT(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "pw")
	conn, err := net.Dial("tcp", h.mxAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	expect := func(prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading reply: %v", err)
			}
			if len(line) >= 4 && line[3] == '-' {
				continue
			}
			if !strings.HasPrefix(line, prefix) {
				t.Fatalf("got %q, want %s", line, prefix)
			}
			return
		}
	}
	expect("220")
	half := len(inboundMsg) / 2
	fmt.Fprintf(conn, "EHLO chunky.example\r\n")
	expect("250")
	fmt.Fprintf(conn, "MAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@example.com>\r\n")
	expect("250")
	expect("250")
	fmt.Fprintf(conn, "BDAT %d\r\n%s", half, inboundMsg[:half])
	expect("250")
	fmt.Fprintf(conn, "BDAT %d LAST\r\n%s", len(inboundMsg)-half, inboundMsg[half:])
	expect("250")
	got := h.inbox(alice.ID)
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	splitTrace(t, got[0], inboundMsg)
}

// flakyDir is a directory that can be switched to "cannot answer".
type flakyDir struct {
	directory.Directory
	down bool
}

func (f *flakyDir) IsLocalDomain(ctx context.Context, d string) (bool, error) {
	if f.down {
		return false, fmt.Errorf("ldap: connection refused: %w", directory.ErrUnavailable)
	}
	return f.Directory.IsLocalDomain(ctx, d)
}

// Temporary causes are 4xx, never 5xx: a directory that cannot answer at
// RCPT, a store that cannot commit at DATA.
func TestTemporaryFailuresAre4xx(t *testing.T) {
	var fd *flakyDir
	h := newHarness(t, harnessConfig{})
	h.addUser("alice@example.com", "pw")
	fd = &flakyDir{Directory: h.env.Dir}
	d := delivery.New(delivery.Options{Store: h.env.Store, Directory: fd, Hostname: "mx.example.com"})
	srv, err := New(Options{Mode: ModeMX, Hostname: "mx.example.com", Deliverer: d, Directory: fd, Store: h.env.Store})
	if err != nil {
		t.Fatal(err)
	}
	addr := h.serve(srv, false)
	t.Cleanup(func() { srv.Close() })

	fd.down = true
	c := h.dial(addr)
	if err := c.Mail("sender@remote.example", nil); err != nil {
		t.Fatal(err)
	}
	if code, ec := smtpCode(c.Rcpt("alice@example.com", nil)); code != 451 || ec != "4.4.3" {
		t.Fatalf("directory down: %d %s", code, ec)
	}
	fd.down = false
	if err := c.Rcpt("alice@example.com", nil); err != nil {
		t.Fatal(err)
	}
	// The store goes away between RCPT and DATA.
	h.env.Store.Close()
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, inboundMsg)
	err = w.Close()
	if code, ec := smtpCode(err); code != 451 || ec != "4.3.0" {
		t.Fatalf("store down at DATA: %v", err)
	}
	var se *gosmtp.SMTPError
	if errors.As(err, &se) && strings.Contains(se.Message, "storage") {
		t.Errorf("internal error text leaked: %q", se.Message)
	}
}

// RFC 3461 parameters of an authenticated relay are kept in the queue.
func TestDSNParametersQueued(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.com", "pw")
	c := h.dialSubmission(false, "alice@example.com", "pw")
	if err := c.Mail("alice@example.com", &gosmtp.MailOptions{Return: gosmtp.DSNReturnHeaders, EnvelopeID: "env+42"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@foreign.example", &gosmtp.RcptOptions{Notify: []gosmtp.DSNNotify{gosmtp.DSNNotifyFailure, gosmtp.DSNNotifyDelayed}, OriginalRecipientType: gosmtp.DSNAddressTypeRFC822, OriginalRecipient: "robert@foreign.example"}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "From: alice@example.com\r\nSubject: x\r\n\r\nx\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	q, err := h.env.Store.QueueMessages(context.Background(), 0, 10)
	if err != nil || len(q) != 1 {
		t.Fatalf("queue %v %v", q, err)
	}
	m := q[0]
	if m.Ret != "HDRS" || m.EnvID != "env+42" || m.Recipients[0].Notify != "FAILURE,DELAY" || m.Recipients[0].ORcpt != "rfc822;robert@foreign.example" {
		t.Fatalf("queued %+v %+v", m, m.Recipients[0])
	}
	if m.Recipients[0].State != storage.RcptPending {
		t.Fatalf("state %s", m.Recipients[0].State)
	}
}

// panicDir panics where a directory lookup would answer.
type panicDir struct{ directory.Directory }

func (panicDir) IsLocalDomain(context.Context, string) (bool, error) { panic("directory bug") }

// A panic in our code is a temporary reply, never a 250 or a dropped
// server, and it is counted.
func TestPanicIsTemporary(t *testing.T) {
	h := newHarness(t)
	metrics := obs.NewMetrics()
	pd := panicDir{h.env.Dir}
	d := delivery.New(delivery.Options{Store: h.env.Store, Directory: pd})
	srv, err := New(Options{Mode: ModeMX, Deliverer: d, Directory: pd, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	addr := h.serve(srv, false)
	t.Cleanup(func() { srv.Close() })
	c := h.dial(addr)
	if err := c.Mail("a@remote.example", nil); err != nil {
		t.Fatal(err)
	}
	if code, ec := smtpCode(c.Rcpt("alice@example.com", nil)); code != 451 || ec != "4.3.0" {
		t.Fatalf("panic answered %d %s", code, ec)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("session did not survive: %v", err)
	}
	var pm dto.Metric
	if err := metrics.Panics.WithLabelValues("smtp").Write(&pm); err != nil || pm.GetCounter().GetValue() != 1 {
		t.Fatalf("pochta_panics_total{component=smtp} = %v (%v)", pm.GetCounter().GetValue(), err)
	}
}

// Timeouts: an idle client is told 421 and disconnected; a client that
// stalls inside DATA gets a temporary 451 and nothing is stored.
func TestTimeouts(t *testing.T) {
	h := newHarness(t, harnessConfig{opts: func(o *Options) { o.ReadTimeout, o.DataTimeout = 300*time.Millisecond, 300*time.Millisecond }})
	alice := h.addUser("alice@example.com", "pw")
	conn, err := net.Dial("tcp", h.mxAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	r.ReadString('\n') // greeting
	line, _ := r.ReadString('\n')
	if !strings.HasPrefix(line, "421 4.4.2") {
		t.Fatalf("idle client got %q", line)
	}

	conn2, err := net.Dial("tcp", h.mxAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	r = bufio.NewReader(conn2)
	fmt.Fprintf(conn2, "EHLO slow.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\nSubject: half\r\n")
	var last string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			break
		}
		last = l
		if strings.HasPrefix(l, "451") {
			break
		}
	}
	if !strings.HasPrefix(last, "451 4.4.2") {
		t.Fatalf("stalled DATA ended with %q", last)
	}
	if n := len(h.inbox(alice.ID)); n != 0 {
		t.Fatalf("half a message stored (%d)", n)
	}
}

// SMTPUTF8 (RFC 6531): a UTF-8 envelope is accepted and noted in Received:.
func TestSMTPUTF8(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "pw")
	c := h.dial(h.mxAddr)
	msg := "From: Jürgen <jürgen@bücher.example>\r\nTo: alice@example.com\r\nSubject: Grüße\r\n\r\nHallo\r\n"
	if err := c.Mail("jürgen@bücher.example", &gosmtp.MailOptions{UTF8: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("alice@example.com", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, msg)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	trace := splitTrace(t, h.inbox(alice.ID)[0], msg)
	if trace[0].Value != "<jürgen@bücher.example>" || !strings.Contains(trace[1].Value, "with UTF8SMTP") {
		t.Fatalf("trace %q / %q", trace[0].Value, trace[1].Value)
	}
}

// Shutdown does not wait for idle clients (it would wait forever here: no
// deadline), and the server is gone afterwards.
func TestShutdownClosesIdleClients(t *testing.T) {
	h := newHarness(t)
	c := h.dial(h.mxAddr)
	if err := h.mx.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); err == nil {
		t.Fatal("idle session still served after shutdown")
	}
	if _, err := net.Dial("tcp", h.mxAddr); err == nil {
		t.Fatal("listener still open")
	}
}

// On the implicit-TLS port the per-address refusal is spoken over TLS, so
// the client reads a 421 instead of a handshake error.
func TestConnsPerIPImplicitTLS(t *testing.T) {
	h := newHarness(t, harnessConfig{opts: func(o *Options) { o.MaxConnsPerIP = 1 }})
	first, err := tls.Dial("tcp", h.subsAddr, h.env.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if l, _ := bufio.NewReader(first).ReadString('\n'); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("first connection greeted %q", l)
	}
	second, err := tls.Dial("tcp", h.subsAddr, h.env.ClientTLS)
	if err != nil {
		t.Fatalf("refused connection failed its handshake: %v", err)
	}
	defer second.Close()
	if l, _ := bufio.NewReader(second).ReadString('\n'); !strings.HasPrefix(l, "421 4.7.0") {
		t.Fatalf("second connection got %q", l)
	}
}
