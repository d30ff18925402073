package pop3_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/pop3"
	"github.com/pochta/pochta/storage"
)

func capaLines(c *client) []string {
	c.ok("CAPA")
	return strings.Split(strings.TrimSuffix(c.multi(), "\r\n"), "\r\n")
}

func has(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestCapaAndSTLS(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.Expire = "30" })
	c := dialPlain(t, f.addr)
	caps := capaLines(c)
	if has(caps, "LOGIN-DELAY 0") || len(caps) != 8 {
		t.Errorf("CAPA: %q", caps)
	}
	for _, want := range []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "EXPIRE 30", "IMPLEMENTATION Pochta", "STLS"} {
		if !has(caps, want) {
			t.Errorf("CAPA before TLS lacks %q: %q", want, caps)
		}
	}
	// Credentials are not offered, nor accepted, in the clear.
	if has(caps, "USER") || has(caps, "SASL PLAIN") {
		t.Errorf("CAPA offers authentication without TLS: %q", caps)
	}
	for _, cmd := range []string{"USER " + testUser, "AUTH PLAIN AGFsaWNlAHg="} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "-ERR [AUTH]") || !strings.Contains(r, "STLS") {
			t.Errorf("%s before TLS: %q", cmd, r)
		}
	}
	if r := c.cmd("PASS x"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("PASS without USER: %q", r)
	}
	c.startTLS(f.env.ClientTLS)
	caps = capaLines(c)
	if has(caps, "STLS") || !has(caps, "USER") || !has(caps, "SASL PLAIN") {
		t.Errorf("CAPA after STLS: %q", caps)
	}
	if r := c.cmd("STLS"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("second STLS: %q", r)
	}
	if r := c.login(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("login after STLS: %q", r)
	}
	caps = capaLines(c)
	if has(caps, "USER") || has(caps, "STLS") || !has(caps, "UIDL") {
		t.Errorf("CAPA in TRANSACTION: %q", caps)
	}
	c.ok("QUIT")

	// Implicit TLS: authentication at once, no STLS offered.
	s := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	caps = capaLines(s)
	if has(caps, "STLS") || !has(caps, "USER") {
		t.Errorf("CAPA on POP3S: %q", caps)
	}
	if r := s.login(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("login on POP3S: %q", r)
	}
	s.ok("QUIT")
}

// Commands pipelined after STLS were sent in the clear: they are dropped,
// never run inside the TLS session (CVE-2011-0411).
func TestSTLSDropsPipelinedPlaintext(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	c := dialPlain(t, f.addr)
	c.send("STLS\r\nCAPA")
	if r := c.line(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("STLS: %q", r)
	}
	c.startTLSAfterOK(f.env.ClientTLS)
	// The first answer inside TLS must be to our NOOP-like probe, not to the
	// injected CAPA.
	if r := c.cmd("QUIT"); !strings.HasPrefix(r, "+OK") || strings.Contains(r, "Capability") {
		t.Fatalf("answer after STLS: %q", r)
	}
}

func TestLoopbackSwitch(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.AllowInsecureAuthLoopback = true })
	c := dialPlain(t, f.addr)
	caps := capaLines(c)
	if !has(caps, "USER") || !has(caps, "STLS") {
		t.Errorf("CAPA with the loopback switch: %q", caps)
	}
	if r := c.login(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("plain login from loopback with the switch: %q", r)
	}
}

const dotty = "From: bob@example.org\r\nSubject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n.\r\nbare lf line\nanother\n\r\nlast line without end"

func TestTransactionCommands(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.MaxErrors = 100 })
	f.deliver(t, testMessage(1), dotty, testMessage(3))
	sizes := []int{len(testMessage(1)), len(dotty), len(testMessage(3))}
	total := sizes[0] + sizes[1] + sizes[2]
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	if r := c.login(); r != "+OK Maildrop has 3 messages ("+fmt.Sprint(total)+" octets)" {
		t.Fatalf("login: %q", r)
	}
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK 3 %d", total) {
		t.Errorf("STAT: %q", r)
	}
	c.ok("LIST")
	if got, want := c.multi(), fmt.Sprintf("1 %d\r\n2 %d\r\n3 %d\r\n", sizes[0], sizes[1], sizes[2]); got != want {
		t.Errorf("LIST: %q, want %q", got, want)
	}
	if r := c.ok("LIST 2"); r != fmt.Sprintf("+OK 2 %d", sizes[1]) {
		t.Errorf("LIST 2: %q", r)
	}
	c.ok("UIDL")
	uidls := c.multi()
	lines := strings.Split(strings.TrimSuffix(uidls, "\r\n"), "\r\n")
	if len(lines) != 3 {
		t.Fatalf("UIDL: %q", uidls)
	}
	uidRe := regexp.MustCompile(`^([1-3]) ([\x21-\x7e]{1,70})$`)
	seen := map[string]bool{}
	for i, l := range lines {
		m := uidRe.FindStringSubmatch(l)
		if m == nil || m[1] != fmt.Sprint(i+1) || seen[m[2]] {
			t.Fatalf("UIDL line %q", l)
		}
		seen[m[2]] = true
		if r := c.ok("UIDL " + m[1]); r != "+OK "+l {
			t.Errorf("UIDL %s: %q, want +OK %s", m[1], r, l)
		}
	}
	if r := c.ok("RETR 1"); r != fmt.Sprintf("+OK %d octets", sizes[0]) {
		t.Errorf("RETR status %q", r)
	}
	if got := c.multi(); got != testMessage(1) {
		t.Errorf("RETR 1: %q", got)
	}
	// Dot-stuffing on the wire, CRLF for bare LF, a line end added at the end.
	c.ok("RETR 2")
	var raw strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		raw.WriteString(l)
		if l == ".\r\n" {
			break
		}
	}
	wantWire := "From: bob@example.org\r\nSubject: dots\r\n\r\n..starts with a dot\r\n...two dots\r\n..\r\nbare lf line\r\nanother\r\n\r\nlast line without end\r\n.\r\n"
	if raw.String() != wantWire {
		t.Errorf("RETR 2 on the wire:\n%q\nwant\n%q", raw.String(), wantWire)
	}
	// TOP: header, blank line, n body lines.
	c.ok("TOP 1 0")
	if got, want := c.multi(), testMessage(1)[:strings.Index(testMessage(1), "\r\n\r\n")+4]; got != want {
		t.Errorf("TOP 1 0: %q, want %q", got, want)
	}
	c.ok("TOP 1 2")
	if got := c.multi(); !strings.HasSuffix(got, "\r\n\r\nline one of 1\r\nline two\r\n") {
		t.Errorf("TOP 1 2: %q", got)
	}
	c.ok("TOP 1 100")
	if got := c.multi(); got != testMessage(1) {
		t.Errorf("TOP 1 100: %q", got)
	}
	c.ok("TOP 2 2")
	if got := c.multi(); got != "From: bob@example.org\r\nSubject: dots\r\n\r\n.starts with a dot\r\n..two dots\r\n" {
		t.Errorf("TOP 2 2: %q", got)
	}
	if r := c.ok("NOOP"); r != "+OK " && r != "+OK" {
		t.Errorf("NOOP: %q", r)
	}
	if r := c.ok("DELE 1"); !strings.Contains(r, "deleted") {
		t.Errorf("DELE: %q", r)
	}
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK 2 %d", total-sizes[0]) {
		t.Errorf("STAT after DELE: %q", r)
	}
	for _, cmd := range []string{"DELE 1", "RETR 1", "LIST 1", "UIDL 1", "TOP 1 0"} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "-ERR") || !strings.Contains(r, "deleted") {
			t.Errorf("%s on a deleted message: %q", cmd, r)
		}
	}
	c.ok("LIST")
	if got := c.multi(); strings.HasPrefix(got, "1 ") {
		t.Errorf("LIST shows a deleted message: %q", got)
	}
	c.ok("UIDL")
	if got := c.multi(); strings.HasPrefix(got, "1 ") {
		t.Errorf("UIDL shows a deleted message: %q", got)
	}
	if r := c.ok("RSET"); !strings.Contains(r, "3 messages") {
		t.Errorf("RSET: %q", r)
	}
	if r := c.ok("LIST 1"); r != fmt.Sprintf("+OK 1 %d", sizes[0]) {
		t.Errorf("LIST 1 after RSET: %q", r)
	}
	for cmd, frag := range map[string]string{
		"RETR 4":     "No such message",
		"RETR 0":     "Invalid message number",
		"RETR -1":    "Invalid message number",
		"RETR x":     "Invalid message number",
		"LIST 99":    "No such message",
		"TOP 1":      "Syntax",
		"TOP 1 x":    "Invalid number of lines",
		"RETR":       "Syntax",
		"DELE":       "Syntax",
		"STAT 1":     "Syntax",
		"NOOP 1":     "Syntax",
		"RSET 1":     "Syntax",
		"LIST 1 2":   "Syntax",
		"UIDL 1 2":   "Syntax",
		"USER bob":   "not valid in the TRANSACTION state",
		"PASS x":     "not valid in the TRANSACTION state",
		"STLS":       "not valid in the TRANSACTION state",
		"AUTH PLAIN": "not valid in the TRANSACTION state",
		"APOP a b":   "not valid in the TRANSACTION state",
	} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "-ERR") || !strings.Contains(r, frag) {
			t.Errorf("%s: %q, want -ERR …%s…", cmd, r, frag)
		}
	}
	if r := c.ok("QUIT"); !strings.Contains(r, "3 messages left") {
		t.Errorf("QUIT: %q", r)
	}
	if !c.closed() {
		t.Error("connection open after QUIT")
	}
}

func TestAuthorizationStateErrors(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.MaxErrors = 100 })
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	for _, cmd := range []string{"STAT", "LIST", "LIST 1", "UIDL", "RETR 1", "TOP 1 1", "DELE 1", "NOOP", "RSET"} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "-ERR") || !strings.Contains(r, "not valid in the AUTHORIZATION state") {
			t.Errorf("%s before login: %q", cmd, r)
		}
	}
	for cmd, frag := range map[string]string{
		"":                        "Empty",
		"XYZZ":                    "Unknown command XYZZ",
		"XYZZY":                   "keyword",
		"RE":                      "keyword",
		"RETRIEVE 1":              "keyword",
		"US3R x":                  "Unknown command US3R",
		"US-R x":                  "keyword",
		"USER":                    "Syntax",
		"USER a b":                "Syntax",
		"USER " + testUser + " x": "Syntax",
		"PASS secret":             "USER first",
		"APOP a b":                "not enabled",
		"AUTH CRAM-MD5":           "Unsupported",
		"STLS now":                "Syntax",
		"STLS":                    "not available",
		"QUIT now":                "Syntax",
		"CAPA\x00":                "Control characters",
		"LIST 1 2 3":              "Too many arguments",
	} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "-ERR") || !strings.Contains(r, frag) {
			t.Errorf("%q: %q, want -ERR …%s…", cmd, r, frag)
		}
	}
	// Lower-case keywords work (RFC 1939 §3).
	c.ok("capa")
	c.multi()
	if r := c.cmd("quit"); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("quit: %q", r)
	}
}

func TestTooManyErrorsCloses(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.MaxErrors = 4 })
	c := dialPlain(t, f.addr)
	for i := range 3 {
		if r := c.cmd("BOGUS"); !strings.HasPrefix(r, "-ERR") {
			t.Fatalf("error %d: %q", i, r)
		}
	}
	if r := c.cmd("BOGU"); !strings.HasPrefix(r, "-ERR Unknown") {
		t.Fatalf("fourth: %q", r)
	}
	if r := c.line(); !strings.Contains(r, "Too many errors") {
		t.Fatalf("no closing answer: %q", r)
	}
	if !c.closed() {
		t.Fatal("connection still open")
	}
}

func TestOverlongLine(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	c := dialPlain(t, f.addr)
	if r := c.cmd("USER " + strings.Repeat("a", 20000)); r != "-ERR Line too long" {
		t.Fatalf("overlong: %q", r)
	}
	// The session goes on with the next line.
	c.ok("CAPA")
	c.multi()
	if r := c.cmd("USER " + strings.Repeat("b", 300)); !strings.Contains(r, "too long") {
		t.Fatalf("overlong argument: %q", r)
	}
}

func TestPipelining(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	f.deliver(t, testMessage(1), testMessage(2))
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	// RFC 2449 §6.6: several commands in one write, answers in order.
	c.send("USER " + testUser + "\r\nPASS " + testPass + "\r\nSTAT\r\nRETR 1\r\nDELE 2\r\nLIST\r\nNOOP")
	for _, want := range []string{"+OK Send", "+OK Maildrop has 2", "+OK 2 ", "+OK "} {
		if r := c.line(); !strings.HasPrefix(r, want) {
			t.Fatalf("pipelined answer %q, want %q…", r, want)
		}
	}
	if got := c.multi(); got != testMessage(1) {
		t.Fatalf("pipelined RETR: %q", got)
	}
	if r := c.line(); !strings.HasPrefix(r, "+OK Message 2 deleted") {
		t.Fatalf("DELE: %q", r)
	}
	if r := c.line(); !strings.HasPrefix(r, "+OK 1 messages") {
		t.Fatalf("LIST: %q", r)
	}
	c.multi()
	if r := c.line(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("NOOP: %q", r)
	}
}

func TestAuthPLAIN(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	plain := func(authz, user, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
	}
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	c.ok("AUTH")
	if got := c.multi(); got != "PLAIN\r\n" {
		t.Errorf("AUTH list: %q", got)
	}
	// Continuation, then cancel.
	if r := c.cmd("AUTH PLAIN"); r != "+ " {
		t.Fatalf("AUTH PLAIN: %q", r)
	}
	if r := c.cmd("*"); !strings.HasPrefix(r, "-ERR") || !strings.Contains(r, "cancelled") {
		t.Fatalf("cancel: %q", r)
	}
	for resp, frag := range map[string]string{
		"!!!": "base64",
		"=":   "Malformed",
		base64.StdEncoding.EncodeToString([]byte("x")): "Malformed",
	} {
		if r := c.cmd("AUTH PLAIN " + resp); !strings.HasPrefix(r, "-ERR") || !strings.Contains(r, frag) {
			t.Errorf("AUTH PLAIN %s: %q", resp, r)
		}
	}
	if r := c.cmd("AUTH PLAIN " + plain("", testUser, "wrong")); !strings.HasPrefix(r, "-ERR [AUTH]") {
		t.Errorf("wrong password: %q", r)
	}
	if r := c.cmd("AUTH PLAIN " + plain("bob@example.com", testUser, testPass)); !strings.HasPrefix(r, "-ERR [AUTH]") {
		t.Errorf("another authorization identity: %q", r)
	}
	// Initial response with a matching authzid.
	if r := c.cmd("AUTH PLAIN " + plain(testUser, testUser, testPass)); !strings.HasPrefix(r, "+OK Maildrop") {
		t.Fatalf("AUTH PLAIN with initial response: %q", r)
	}
	c.ok("QUIT")

	// Continuation path.
	d := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	if r := d.cmd("AUTH plain"); r != "+ " {
		t.Fatalf("AUTH plain: %q", r)
	}
	if r := d.cmd(plain("", testUser, testPass)); !strings.HasPrefix(r, "+OK Maildrop") {
		t.Fatalf("AUTH PLAIN continuation: %q", r)
	}
}

// fakeThrottle refuses after limit failures per address.
type fakeThrottle struct {
	mu       sync.Mutex
	limit    int
	fails    map[netip.Addr]int
	succeeds int
}

func (th *fakeThrottle) Allow(ip netip.Addr, login string) (bool, time.Duration) {
	th.mu.Lock()
	defer th.mu.Unlock()
	if th.fails[ip] >= th.limit {
		return false, 42 * time.Second
	}
	return true, 0
}

func (th *fakeThrottle) Fail(ip netip.Addr, login, password string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.fails[ip]++
}

func (th *fakeThrottle) Succeed(ip netip.Addr, login string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.succeeds++
}

func TestFailedLoginsThrottledAndClosed(t *testing.T) {
	th := &fakeThrottle{limit: 4, fails: map[netip.Addr]int{}}
	metrics := obs.NewMetrics()
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) {
		o.Throttle = th
		o.Metrics = metrics
	})
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	for i := range 2 {
		c.ok("USER " + testUser)
		if r := c.cmd("PASS nope"); r != "-ERR [AUTH] Invalid login or password" {
			t.Fatalf("failure %d: %q", i, r)
		}
	}
	c.ok("USER nobody@example.com")
	if r := c.cmd("PASS nope"); r != "-ERR [AUTH] Invalid login or password" {
		t.Fatalf("unknown user must look the same: %q", r)
	}
	// Three failures on one connection close it.
	if r := c.line(); !strings.Contains(r, "Too many failed logins") || !c.closed() {
		t.Fatalf("after 3 failures: %q", r)
	}
	// The throttle saw the failures; the fourth attempt is refused before the
	// password is checked, even a right one, from a new connection.
	d := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	d.ok("USER " + testUser)
	if r := d.cmd("PASS nope"); !strings.HasPrefix(r, "-ERR [AUTH]") {
		t.Fatalf("fourth failure: %q", r)
	}
	d.ok("USER " + testUser)
	if r := d.cmd("PASS " + testPass); r != "-ERR [SYS/TEMP] Too many failed logins; try again in 42 seconds" {
		t.Fatalf("throttled: %q", r)
	}
	if th.succeeds != 0 {
		t.Fatal("throttle told of a success")
	}
	if n := testutilCounter(t, metrics, "pochta_auth_failures_total"); n < 5 {
		t.Errorf("auth failures counted %v", n)
	}
}

func testutilCounter(t *testing.T, m *obs.Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, mm := range mf.GetMetric() {
				sum += mm.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// flakyDirectory answers Authenticate with a fixed error, or panics.
type flakyDirectory struct {
	directory.Directory
	err   error
	panic bool
}

func (d flakyDirectory) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	if d.panic {
		panic("directory exploded")
	}
	return nil, d.err
}

func TestTemporaryFailures(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) {
		o.Directory = flakyDirectory{err: fmt.Errorf("ldap: %w", directory.ErrUnavailable)}
	})
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	if r := c.login(); !strings.HasPrefix(r, "-ERR [SYS/TEMP]") {
		t.Fatalf("directory down: %q", r)
	}
	// The session stays usable.
	c.ok("CAPA")
	c.multi()

	// A store that is closed underneath: the maildrop cannot be opened.
	g := newFixture(t, testenv.Options{}, nil)
	g.env.Store.Close()
	d := dialTLS(t, g.tlsAddr, g.env.ClientTLS)
	if r := d.login(); !strings.HasPrefix(r, "-ERR [SYS/") {
		t.Fatalf("store closed: %q", r)
	}
}

func TestPanicRecovered(t *testing.T) {
	metrics := obs.NewMetrics()
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) {
		o.Directory = flakyDirectory{panic: true}
		o.Metrics = metrics
	})
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	c.ok("USER " + testUser)
	c.send("PASS " + testPass)
	if !c.closed() {
		t.Fatal("connection survived a panic")
	}
	if n := testutilCounter(t, metrics, "pochta_panics_total"); n != 1 {
		t.Fatalf("panics counted: %v", n)
	}
	// The server carries on.
	d := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	d.ok("CAPA")
	d.multi()
}

func TestAPOP(t *testing.T) {
	const secret = "tanstaaf"
	var f *fixture
	f = newFixture(t, testenv.Options{}, func(o *pop3.Options) {
		o.APOP = func(ctx context.Context, login string) (*directory.Account, string, error) {
			if login != testUser {
				return nil, "", directory.ErrAuthFailed
			}
			return f.acct, secret, nil
		}
	})
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	stamp := regexp.MustCompile(`<[^<>]+@pop\.example\.com>`).FindString(c.greeting)
	if stamp == "" {
		t.Fatalf("greeting without APOP timestamp: %q", c.greeting)
	}
	if r := c.cmd("APOP " + testUser + " " + md5hex(stamp+"wrong")); !strings.HasPrefix(r, "-ERR [AUTH]") {
		t.Fatalf("bad digest: %q", r)
	}
	if r := c.cmd("APOP " + testUser + " " + md5hex(stamp+secret)); !strings.HasPrefix(r, "+OK Maildrop") {
		t.Fatalf("APOP: %q", r)
	}
}

func TestLoginDelay(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.LoginDelay = time.Hour })
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	if caps := capaLines(c); !has(caps, "LOGIN-DELAY 3600") || !has(caps, "EXPIRE NEVER") {
		t.Errorf("CAPA: %q", caps)
	}
	if r := c.login(); !strings.HasPrefix(r, "+OK") {
		t.Fatal(r)
	}
	c.ok("QUIT")
	d := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	if r := d.login(); !strings.HasPrefix(r, "-ERR [LOGIN-DELAY]") {
		t.Fatalf("second login within the delay: %q", r)
	}
}

func TestIdleTimeoutCloses(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.IdleTimeout = 100 * time.Millisecond })
	f.deliver(t, testMessage(1))
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	c.login()
	c.ok("DELE 1")
	if !c.closed() {
		t.Fatal("idle connection not closed")
	}
	// An idle close is a dropped connection: nothing is deleted.
	if n := len(f.inboxMeta(t)); n != 1 {
		t.Fatalf("%d messages after an idle close", n)
	}
}

func TestMaxConnsPerIP(t *testing.T) {
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.MaxConnsPerIP = 2 })
	a := dialPlain(t, f.addr)
	dialPlain(t, f.addr)
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 200)
	n, _ := conn.Read(buf)
	if !bytes.HasPrefix(buf[:n], []byte("-ERR [SYS/TEMP] Too many connections")) {
		t.Fatalf("third connection: %q", buf[:n])
	}
	a.ok("QUIT")
	a.closed()
	// A slot is free again once the first one is gone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := conn.Read(buf)
		conn.Close()
		if bytes.HasPrefix(buf[:n], []byte("+OK")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %q", buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShutdown(t *testing.T) {
	f := newFixture(t, testenv.Options{}, nil)
	f.deliver(t, testMessage(1))
	c := dialTLS(t, f.tlsAddr, f.env.ClientTLS)
	c.login()
	c.ok("DELE 1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if r := c.line(); r != "-ERR [SYS/TEMP] Server shutting down" {
		t.Fatalf("session told: %q", r)
	}
	for range 2 {
		if err := <-f.serveErr; err != pop3.ErrServerClosed {
			t.Fatalf("Serve returned %v", err)
		}
	}
	if n := len(f.inboxMeta(t)); n != 1 {
		t.Fatal("shutdown applied a DELE without QUIT")
	}
}

func TestNewValidates(t *testing.T) {
	env := testenv.New(t)
	for name, o := range map[string]pop3.Options{
		"no store":     {Directory: env.Dir},
		"no directory": {Store: env.Store},
		"bad policy":   {Store: env.Store, Directory: env.Dir, DeletePolicy: "shred"},
		"bad expire":   {Store: env.Store, Directory: env.Dir, Expire: "soon"},
		"bad lock":     {Store: env.Store, Directory: env.Dir, MaildropLock: "global"},
	} {
		if _, err := pop3.New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
	if _, err := pop3.New(pop3.Options{Store: env.Store, Directory: env.Dir, DeletePolicy: pop3.DeleteMoveToTrash, Expire: "never"}); err != nil {
		t.Fatal(err)
	}
}

var _ = storage.RoleInbox
