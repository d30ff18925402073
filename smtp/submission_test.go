package smtp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/storage"
)

const submitted = "From: Alice <alice@example.com>\r\n" +
	"To: bob@example.com, partner@foreign.example\r\n" +
	"Subject: Plans\r\n" +
	"Message-ID: <plans@example.com>\r\n" +
	"Date: Mon, 02 Mar 2026 11:00:00 +0000\r\n" +
	"\r\n" +
	"See you at nine.\r\n"

// Done-when 3: submission over STARTTLS (587) and implicit TLS (465) with
// AUTH: the local recipient gets it with an authenticated Received:, the
// remote one is queued, the sender has a copy in Sent Items.
func TestSubmissionTLSAndAuth(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		t.Run(map[bool]string{false: "starttls", true: "implicit"}[implicit], func(t *testing.T) {
			h := newHarness(t)
			alice := h.addUser("alice@example.com", "secret")
			bob := h.addUser("bob@example.com", "pw")
			c := h.dialSubmission(implicit, "alice@example.com", "secret")
			if err := send(c, "alice@example.com", []string{"bob@example.com", "partner@foreign.example"}, submitted); err != nil {
				t.Fatal(err)
			}
			got := h.inbox(bob.ID)
			if len(got) != 1 {
				t.Fatalf("bob has %d", len(got))
			}
			trace := splitTrace(t, got[0], submitted)
			if k := fieldKeys(trace); k != "Return-Path,Received" {
				t.Fatalf("trace %s", k)
			}
			rcv := trace[1].Value
			for _, want := range []string{"with ESMTPSA", "using TLS 1.3", "(authenticated as alice@example.com)"} {
				if !strings.Contains(rcv, want) {
					t.Errorf("Received %q lacks %q", rcv, want)
				}
			}
			sent := h.folderMessages(alice.ID, storage.RoleSent)
			if len(sent) != 1 || !strings.HasSuffix(string(sent[0]), submitted) {
				t.Fatalf("Sent Items: %d", len(sent))
			}
			ctx := context.Background()
			f, _ := h.env.Store.FolderByRole(ctx, alice.ID, storage.RoleSent)
			ms, _ := h.env.Store.ListMessages(ctx, alice.ID, f.ID, storage.ListQuery{})
			if ms[0].Flags&storage.FlagSeen == 0 {
				t.Error("Sent Items copy not marked seen")
			}
			q, _ := h.env.Store.QueueMessages(ctx, 0, 10)
			if len(q) != 1 || q[0].Recipients[0].Address != "partner@foreign.example" || q[0].AccountID != alice.ID {
				t.Fatalf("queue %+v", q)
			}
			// One blob for Inbox, Sent Items and the queue.
			if n, _ := h.env.Store.BlobCount(ctx); n != 1 {
				t.Errorf("%d blobs", n)
			}
		})
	}
}

// AUTH LOGIN works as well as PLAIN.
func TestAuthLogin(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.com", "secret")
	c, err := gosmtp.DialStartTLS(h.subAddr, h.env.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewLoginClient("alice@example.com", "secret")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@example.com", nil); err != nil {
		t.Fatal(err)
	}
}

// Done-when 3: AUTH before TLS is refused (and not offered); MAIL on the
// submission port without AUTH is refused.
func TestAuthBeforeTLSRefused(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.com", "secret")
	c := h.dial(h.subAddr)
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH advertised without TLS")
	}
	err := c.Auth(sasl.NewPlainClient("", "alice@example.com", "secret"))
	if code, ec := smtpCode(err); code != 523 || ec != "5.7.10" {
		t.Fatalf("AUTH without TLS: %v", err)
	}
	if code, ec := smtpCode(c.Mail("alice@example.com", nil)); code != 530 || ec != "5.7.0" {
		t.Fatalf("MAIL without AUTH on submission: %d %s", code, ec)
	}
}

// The loopback exception, when configured, allows plain-text AUTH from
// 127.0.0.1 only.
func TestInsecureAuthLoopback(t *testing.T) {
	h := newHarness(t, harnessConfig{opts: func(o *Options) { o.AllowInsecureAuthLoopback = true }})
	h.addUser("alice@example.com", "secret")
	c := h.dial(h.subAddr)
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.com", "secret")); err != nil {
		t.Fatalf("loopback plain AUTH: %v", err)
	}
}

// Done-when 3: wrong passwords repeated get the address throttled: after
// the limit even the right password is refused with a temporary 454.
func TestAuthThrottle(t *testing.T) {
	h := newHarness(t) // throttle: 3 failures per minute per address
	h.addUser("alice@example.com", "secret")
	for i := 0; i < 3; i++ {
		c, err := gosmtp.DialStartTLS(h.subAddr, h.env.ClientTLS)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Auth(sasl.NewPlainClient("", "alice@example.com", fmt.Sprintf("guess%d", i)))
		if code, ec := smtpCode(err); code != 535 || ec != "5.7.8" {
			t.Fatalf("wrong password %d: %v", i, err)
		}
		c.Close()
	}
	c, err := gosmtp.DialStartTLS(h.subAddr, h.env.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Auth(sasl.NewPlainClient("", "alice@example.com", "secret"))
	if code, ec := smtpCode(err); code != 454 || ec != "4.7.0" {
		t.Fatalf("throttled attempt: %v", err)
	}
}

// Done-when 3: a forged envelope sender or From: is refused with 553 5.7.1;
// an alias of the account is allowed.
func TestForgedSender(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	alice := h.addUser("alice@example.com", "secret")
	bob := h.addUser("bob@example.com", "pw")
	if err := h.env.Dir.AddAlias(ctx, "sales@example.com", alice.ID); err != nil {
		t.Fatal(err)
	}
	c := h.dialSubmission(false, "alice@example.com", "secret")
	if code, ec := smtpCode(c.Mail("bob@example.com", nil)); code != 553 || ec != "5.7.1" {
		t.Fatalf("forged MAIL FROM: %d %s", code, ec)
	}
	if code, _ := smtpCode(c.Mail("", nil)); code != 553 {
		t.Fatalf("null sender on submission: %d", code)
	}
	forged := "From: Bob <bob@example.com>\r\nSubject: not me\r\n\r\nx\r\n"
	err := send(c, "alice@example.com", []string{"bob@example.com"}, forged)
	if code, ec := smtpCode(err); code != 553 || ec != "5.7.1" {
		t.Fatalf("forged From: %v", err)
	}
	if n := len(h.inbox(bob.ID)); n != 0 {
		t.Fatalf("forged message delivered")
	}
	// An alias and a sub-address of it are the account's own.
	if err := send(c, "sales+q1@example.com", []string{"bob@example.com"}, "From: Sales <sales@example.com>\r\nSubject: offer\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("alias: %v", err)
	}
	if n := len(h.inbox(bob.ID)); n != 1 {
		t.Fatalf("bob has %d", n)
	}
}

// RFC 6409 §8: Message-ID: and Date: are added when missing, after the
// trace fields and before the message's own header.
func TestSubmissionAddsMessageIDAndDate(t *testing.T) {
	h := newHarness(t)
	h.addUser("alice@example.com", "secret")
	bob := h.addUser("bob@example.com", "pw")
	c := h.dialSubmission(true, "alice@example.com", "secret")
	bare := "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: bare\r\n\r\nno id, no date\r\n"
	if err := send(c, "alice@example.com", []string{"bob@example.com"}, bare); err != nil {
		t.Fatal(err)
	}
	got := h.inbox(bob.ID)[0]
	fields := splitTrace(t, got, bare)
	if k := fieldKeys(fields); k != "Return-Path,Received,Message-ID,Date" {
		t.Fatalf("prefix fields %s", k)
	}
	if !strings.HasSuffix(fields[2].Value, "@mx.example.com>") {
		t.Errorf("Message-ID %q", fields[2].Value)
	}
	m, err := h.env.Store.ListMessages(context.Background(), bob.ID, mustInbox(t, h, bob.ID), storage.ListQuery{})
	if err != nil || m[0].MessageIDHeader == "" || m[0].SentAt.IsZero() {
		t.Fatalf("promoted columns %+v %v", m, err)
	}
}

func mustInbox(t *testing.T, h *harness, id int64) int64 {
	f, err := h.env.Store.FolderByRole(context.Background(), id, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

// A client cannot forge header fields or Received: clauses through its
// HELO name.
func TestHeloCannotInjectHeaders(t *testing.T) {
	h := newHarness(t)
	alice := h.addUser("alice@example.com", "pw")
	conn, err := net.Dial("tcp", h.mxAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	read := func() string {
		var last string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			last = line
			if len(line) < 4 || line[3] != '-' {
				return last
			}
		}
	}
	read()
	fmt.Fprintf(conn, "EHLO evil(x);\x0bX-Injected:\r\n")
	read()
	fmt.Fprintf(conn, "MAIL FROM:<a@remote.example>\r\n")
	read()
	fmt.Fprintf(conn, "RCPT TO:<alice@example.com>\r\n")
	read()
	fmt.Fprintf(conn, "DATA\r\n")
	read()
	fmt.Fprintf(conn, "Subject: x\r\n\r\nx\r\n.\r\n")
	if l := read(); !strings.HasPrefix(l, "250") {
		t.Fatalf("DATA: %q", l)
	}
	got := h.inbox(alice.ID)[0]
	fields := delivery.Header(got)
	if k := fieldKeys(fields); k != "Return-Path,Received,Subject" {
		t.Fatalf("fields %s in %q", k, got)
	}
	// Parentheses, ";" and controls of the HELO name are neutralised, so
	// it cannot close the "from" clause or start a date early.
	if !strings.Contains(fields[1].Value, "from evil?x???X-Injected: ([127.0.0.1])") {
		t.Fatalf("Received %q", fields[1].Value)
	}
}
