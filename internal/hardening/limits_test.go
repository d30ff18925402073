package hardening

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/storage"
)

// limitsWorld has small limits, so tests reach them quickly.
func limitsWorld(t *testing.T) *world {
	return newWorld(t, worldOptions{
		maxConnsPerIP: 3, idleTimeout: 2 * time.Second,
		maxMessageBytes: 64 << 10, maxRecipients: 3, appendLimit: 64 << 10, maxBodyBytes: 64 << 10,
	})
}

// imapSession is an IMAP client logged in as alice over implicit TLS.
func imapSession(t *testing.T, w *world, src string) *lineConn {
	t.Helper()
	c := dialLines(t, src, w.imapsAddr, w.clientTLS)
	c.line()
	if _, done := c.imapCmd("L", "LOGIN %q %q", w.alice.Address, alicePassword); !strings.HasPrefix(done, "OK") {
		t.Fatalf("IMAP LOGIN: %q", done)
	}
	return c
}

// stillServes proves each door still serves a well-behaved client from
// another address: an SMTP delivery, an IMAP login and a POP3 login.
func stillServes(t *testing.T, w *world) {
	t.Helper()
	sm := dialLines(t, "127.0.0.3", w.smtpAddr, nil)
	sm.smtpReply()
	for _, c := range []string{"EHLO ok.example", "MAIL FROM:<ok@remote.example>", "RCPT TO:<alice@example.com>"} {
		if r := sm.smtpCmd("%s", c); !strings.HasPrefix(r, "250") {
			t.Fatalf("second client, %s: %q", c, r)
		}
	}
	if r := sm.smtpCmd("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatalf("second client, DATA: %q", r)
	}
	if r := sm.smtpCmd("Subject: still served\r\n\r\nok\r\n."); !strings.HasPrefix(r, "250") {
		t.Fatalf("second client, message: %q", r)
	}
	im := imapSession(t, w, "127.0.0.3")
	if _, done := im.imapCmd("a", "SELECT INBOX"); !strings.HasPrefix(done, "OK") {
		t.Fatalf("second client, SELECT: %q", done)
	}
	if got := pop3Login(t, w, "127.0.0.3", w.bob.Address, bobPassword); got != accepted {
		t.Fatalf("second client, POP3: %s", got)
	}
}

// refusedOrClosed reads the answer to an over-limit request: an error
// reply (matching isError), or the server closing the connection.
func refusedOrClosed(t *testing.T, c *lineConn, isError func(string) bool) string {
	t.Helper()
	for {
		l, err := c.tryLine()
		if err != nil {
			return "closed"
		}
		if isError(l) {
			return l
		}
		if strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "250-") {
			continue // untagged data, a continued reply
		}
		t.Fatalf("over-limit request answered %q", l)
	}
}

// Done-when 3: an overlong command line is refused (or the connection
// cut) on SMTP, IMAP and POP3, and the server keeps serving.
func TestLimitCommandLine(t *testing.T) {
	w := limitsWorld(t)
	long := strings.Repeat("a", 100<<10)

	sm := dialLines(t, "127.0.0.2", w.smtpAddr, nil)
	sm.smtpReply()
	sm.send("EHLO %s", long)
	got := refusedOrClosed(t, sm, func(l string) bool { return strings.HasPrefix(l, "5") })
	t.Logf("SMTP: %s", got)

	im := dialLines(t, "127.0.0.2", w.imapsAddr, w.clientTLS)
	im.line()
	im.send("a1 LOGIN %s x", long)
	got = refusedOrClosed(t, im, func(l string) bool { return strings.HasPrefix(l, "a1 BAD") || strings.HasPrefix(l, "a1 NO") })
	t.Logf("IMAP: %s", got)

	p3 := dialLines(t, "127.0.0.2", w.pop3sAddr, w.clientTLS)
	p3.line()
	p3.send("USER %s", long)
	got = refusedOrClosed(t, p3, func(l string) bool { return strings.HasPrefix(l, "-ERR") })
	t.Logf("POP3: %s", got)

	stillServes(t, w)
}

// An APPEND larger than APPENDLIMIT is refused before its bytes are
// accepted, and a message within the limit is stored.
func TestLimitIMAPLiteral(t *testing.T) {
	w := limitsWorld(t)
	c := imapSession(t, w, "127.0.0.2")
	caps, _ := c.imapCmd("c", "CAPABILITY")
	if !strings.Contains(strings.Join(caps, " "), "APPENDLIMIT=65536") {
		t.Fatalf("APPENDLIMIT not advertised: %q", caps)
	}
	// A synchronizing literal over the limit: no continuation, NO [TOOBIG].
	c.send("a1 APPEND INBOX {%d}", 1<<20)
	if l := c.line(); !strings.HasPrefix(l, "a1 NO [TOOBIG]") {
		t.Fatalf("oversized APPEND answered %q", l)
	}
	// The session goes on.
	msg := "Subject: fits\r\n\r\nsmall\r\n"
	c.send("a2 APPEND INBOX {%d}", len(msg))
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND within the limit: %q", l)
	}
	c.send("%s", msg)
	if l := c.line(); !strings.HasPrefix(l, "a2 OK") {
		t.Fatalf("APPEND within the limit: %q", l)
	}
	// (Other commands' literals are limited to 4 KiB; the door's literal
	// guard answers an oversized one with TOOBIG and closes, see
	// imap/literal_guard.go and TestLimitRefusedLiteralNotExecuted.)
	if _, done := c.imapCmd("a4", "NOOP"); !strings.HasPrefix(done, "OK") {
		t.Fatalf("NOOP after refusals: %q", done)
	}
	stillServes(t, w)
}

// A client that uses the literals the server advertises (LITERAL+ means
// it may send a big literal without waiting) appends a message over the
// limit whose body holds IMAP command lines — a message from anyone, e.g.
// dragged from another account. The APPEND is refused and none of the
// body's lines may run as commands in the user's session.
func TestLimitRefusedLiteralNotExecuted(t *testing.T) {
	w := limitsWorld(t)
	c := imapSession(t, w, "127.0.0.2")
	caps, _ := c.imapCmd("c", "CAPABILITY")
	literalPlus := strings.Contains(" "+strings.Join(caps, " ")+" ", " LITERAL+ ")
	// The crafted lines sit in the header section: go-imap gives up on the
	// first empty line.
	body := strings.Repeat("x1 NOOP\r\n", 4) + "x2 CREATE Injected\r\nSubject: crafted\r\n\r\n" + strings.Repeat("filler line\r\n", 10000)
	if literalPlus {
		c.send("a1 APPEND INBOX {%d+}", len(body))
		c.send("%s", body)
	} else {
		c.send("a1 APPEND INBOX {%d}", len(body))
	}
	if l := c.line(); !strings.HasPrefix(l, "a1 NO [TOOBIG]") {
		t.Fatalf("oversized APPEND answered %q", l)
	}
	// Whatever the server does with the rest (reads it as data, or closes
	// the connection), the crafted command must not have run.
	var ran []string
	for literalPlus {
		l, err := c.tryLine()
		if err != nil {
			break
		}
		if strings.HasPrefix(l, "x1 ") || strings.HasPrefix(l, "x2 ") {
			ran = append(ran, l)
		}
	}
	folders, err := w.env.Store.Folders(context.Background(), w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if f.Name == "Injected" {
			ran = append(ran, "folder "+f.Name+" created")
		}
	}
	stillServes(t, w)
	if len(ran) > 0 {
		// go-imap v2.0.0-beta.8 answers TOOBIG before reading a
		// non-synchronizing literal and then parses the literal's bytes
		// as commands (issue 11); the door's literal guard refuses the
		// literal itself and closes the connection (imap/literal_guard.go).
		t.Fatalf("lines of a refused LITERAL+ APPEND ran as commands: %q", ran)
	}
}

// SMTP: a message over SIZE is refused whether announced or not, a
// recipient beyond the limit is refused, and the connection goes on.
func TestLimitSMTPMessage(t *testing.T) {
	w := limitsWorld(t)
	c := dialLines(t, "127.0.0.2", w.smtpAddr, nil)
	c.smtpReply()
	c.send("EHLO big.example")
	var ehlo []string
	for {
		l := c.line()
		ehlo = append(ehlo, l)
		if l[3] != '-' {
			break
		}
	}
	if !strings.Contains(strings.Join(ehlo, "\n"), "SIZE 65536") {
		t.Fatalf("SIZE not advertised: %q", ehlo)
	}
	if r := c.smtpCmd("MAIL FROM:<big@remote.example> SIZE=1000000"); !strings.HasPrefix(r, "552") {
		t.Fatalf("announced oversized message: %q", r)
	}
	// Unannounced: refused after the data.
	if r := c.smtpCmd("MAIL FROM:<big@remote.example>"); !strings.HasPrefix(r, "250") {
		t.Fatal(r)
	}
	if r := c.smtpCmd("RCPT TO:<alice@example.com>"); !strings.HasPrefix(r, "250") {
		t.Fatal(r)
	}
	if r := c.smtpCmd("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatal(r)
	}
	c.send("Subject: too big\r\n\r\n%s\r\n.", strings.Repeat("0123456789abcdef\r\n", 8000))
	if r := c.smtpReply(); !strings.HasPrefix(r, "552") {
		t.Fatalf("unannounced oversized message: %q", r)
	}
	// Too many recipients: the fourth is refused, three are delivered.
	if r := c.smtpCmd("MAIL FROM:<many@remote.example>"); !strings.HasPrefix(r, "250") {
		t.Fatalf("MAIL after an oversized message: %q", r)
	}
	for i, rcpt := range []string{"alice@example.com", "bob@example.com", "robert@example.com", "alice@example.com"} {
		r := c.smtpCmd("RCPT TO:<%s>", rcpt)
		if i < 3 && !strings.HasPrefix(r, "250") || i == 3 && !strings.HasPrefix(r, "452") && !strings.HasPrefix(r, "552") {
			t.Fatalf("RCPT %d: %q", i+1, r)
		}
	}
	if r := c.smtpCmd("DATA"); !strings.HasPrefix(r, "354") {
		t.Fatal(r)
	}
	if r := c.smtpCmd("Subject: three recipients\r\n\r\nhi\r\n."); !strings.HasPrefix(r, "250") {
		t.Fatalf("message to three recipients: %q", r)
	}
	inbox, err := w.env.Store.FolderByRole(context.Background(), w.alice.ID, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := w.env.Store.ListMessages(context.Background(), w.alice.ID, inbox.ID, storage.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Subject == "too big" {
			t.Fatalf("the oversized message was stored")
		}
	}
	stillServes(t, w)
}

// The REST API and MAPI refuse a request body over the limit without
// reading it all, and go on serving.
func TestLimitHTTPBody(t *testing.T) {
	w := limitsWorld(t)
	hc := w.httpClient("127.0.0.2")
	big := bytes.Repeat([]byte("x"), 1<<20)

	req, _ := http.NewRequest(http.MethodPost, "https://"+w.httpsAddr+"/api/v1/accounts", bytes.NewReader(append([]byte(`{"address":"big@example.com","password":"`), big...)))
	req.Header.Set("Authorization", "Bearer "+w.adminToken)
	req.Header.Set("Content-Type", "application/json")
	if code := status(t, hc, req); code != http.StatusRequestEntityTooLarge {
		t.Errorf("API: oversized body answered %d", code)
	}
	req, _ = http.NewRequest(http.MethodPost, "https://"+w.httpsAddr+"/mapi/emsmdb/", bytes.NewReader(big))
	req.SetBasicAuth(w.alice.Address, alicePassword)
	req.Header.Set("Content-Type", "application/mapi-http")
	req.Header.Set("X-RequestType", "Connect")
	req.Header.Set("X-ClientApplication", "Outlook/16.0.17928.20114")
	req.Header.Set("X-RequestId", "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:1")
	req.Header.Set("X-ClientInfo", "{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1")
	// MAPI/HTTP reports failures in X-ResponseCode (MS-OXCMAPIHTTP
	// 2.2.3.3.3); 9 is "request too large".
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("MAPI: %v", err)
	}
	resp.Body.Close()
	if rc := resp.Header.Get("X-ResponseCode"); rc != "9" {
		t.Errorf("MAPI: oversized body answered HTTP %d, X-ResponseCode %q", resp.StatusCode, rc)
	}
	// Both still answer.
	req, _ = http.NewRequest(http.MethodGet, "https://"+w.httpsAddr+"/api/v1/accounts", nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	if code := status(t, w.httpClient("127.0.0.3"), req); code != http.StatusOK {
		t.Errorf("API after an oversized body: %d", code)
	}
	if got := mapiBasic(t, w, "127.0.0.3", w.alice.Address, alicePassword); got != accepted {
		t.Errorf("MAPI after an oversized body: %s", got)
	}
}

func status(t *testing.T, hc *http.Client, req *http.Request) int {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		// The server may close the connection while the client still
		// sends: that is a refusal too, but the test wants the status.
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// Done-when 3: the per-address connection limit of each door refuses the
// connection beyond it with the protocol's temporary refusal, frees the
// slot when a connection closes, and does not touch other addresses.
func TestLimitConnectionsPerAddress(t *testing.T) {
	w := limitsWorld(t)
	type door struct {
		name, addr string
		tls        bool
		greeting   string // prefix of a normal greeting
		refusal    string // prefix of the refusal
	}
	for _, d := range []door{
		{"SMTP", w.smtpAddr, false, "220", "421"},
		{"submission", w.submissionsAddr, true, "220", "421"},
		{"IMAP", w.imapsAddr, true, "* OK", "* BYE"},
		{"POP3", w.pop3sAddr, true, "+OK", "-ERR"},
	} {
		t.Run(d.name, func(t *testing.T) {
			cfg := w.clientTLS
			if !d.tls {
				cfg = nil
			}
			var held []*lineConn
			for i := range 3 {
				c := dialLines(t, "127.0.0.2", d.addr, cfg)
				if l := c.line(); !strings.HasPrefix(l, d.greeting) {
					t.Fatalf("connection %d: %q", i+1, l)
				}
				held = append(held, c)
			}
			extra := dialLines(t, "127.0.0.2", d.addr, cfg)
			if l := extra.line(); !strings.HasPrefix(l, d.refusal) {
				t.Fatalf("4th connection from one address: %q", l)
			}
			if !extra.closedByServer(func(string) bool { return true }) {
				t.Fatal("the refused connection stayed open")
			}
			other := dialLines(t, "127.0.0.3", d.addr, cfg)
			if l := other.line(); !strings.HasPrefix(l, d.greeting) {
				t.Fatalf("another address: %q", l)
			}
			// Closing one frees its slot (the server notices the close
			// asynchronously, so wait for it).
			held[0].conn.Close()
			for attempt := 0; ; attempt++ {
				c := dialLines(t, "127.0.0.2", d.addr, cfg)
				l := c.line()
				if strings.HasPrefix(l, d.greeting) {
					break
				}
				c.conn.Close()
				if attempt > 100 {
					t.Fatalf("slot not freed after a close: %q", l)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// Done-when 3: a slowloris client, sending a command one byte at a time
// and never finishing it, is cut off by the command timeout, while other
// clients are served. (SMTP and POP3 time out after their configured 2
// seconds; IMAP after go-imap's fixed 30-second command timeout.)
func TestLimitSlowClient(t *testing.T) {
	w := limitsWorld(t)
	type door struct {
		name, addr string
		tls        bool
		prepare    func(c *lineConn)
		// prefix starts the command; it goes on with 'x' bytes, one word
		// that never ends, so no parser can take it as complete.
		prefix string
	}
	for _, d := range []door{
		{"SMTP", w.smtpAddr, false, func(c *lineConn) { c.smtpReply() }, "EHLO "},
		{"POP3", w.pop3sAddr, true, func(c *lineConn) { c.line() }, "USER "},
		{"IMAP-unauthenticated", w.imapsAddr, true, func(c *lineConn) { c.line() }, "a1 LOGIN "},
		{"IMAP-authenticated", w.imapsAddr, true, func(c *lineConn) {
			c.line()
			if _, done := c.imapCmd("L", "LOGIN %q %q", w.alice.Address, alicePassword); !strings.HasPrefix(done, "OK") {
				t.Fatalf("LOGIN: %q", done)
			}
		}, "a2 SELECT "},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			cfg := w.clientTLS
			if !d.tls {
				cfg = nil
			}
			c := dialLines(t, "127.0.0.4", d.addr, cfg)
			d.prepare(c)
			// One byte a second would do; four a second keep the test
			// shorter. 400 bytes outlast every timeout (100 s).
			trickle := d.prefix + strings.Repeat("x", 400-len(d.prefix))
			cut := make(chan error, 1)
			go func() {
				for i := 0; i < len(trickle); i++ {
					if _, err := c.conn.Write([]byte{trickle[i]}); err != nil {
						cut <- err
						return
					}
					time.Sleep(250 * time.Millisecond)
				}
				cut <- nil
			}()
			// The server may say goodbye before it closes.
			_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Minute))
			buf := make([]byte, 512)
			var err error
			for err == nil {
				_, err = c.conn.Read(buf)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the slow client was never cut off")
			}
			if err := <-cut; err == nil {
				t.Fatal("the whole trickle was accepted")
			}
		})
	}
	t.Run("others-served", func(t *testing.T) {
		t.Parallel()
		stillServes(t, w)
	})
}
