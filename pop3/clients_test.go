package pop3_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/pop3"
)

// requireTool finds an external client; locally a missing one skips the
// test loudly, in CI (CI=true) it fails it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("SKIPPING: %s not installed (%v)", name, err)
	}
	return p
}

// caFile writes the fixture's certificate as PEM for external clients.
func (f *fixture) caFile(t *testing.T) string {
	t.Helper()
	der := f.env.TLS.Certificates[0].Certificate[0]
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func ports(t *testing.T, addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// poplibScript drives every command of Python's poplib through STLS,
// implicit TLS and APOP, and prints what it saw as JSON.
const poplibScript = `
import json, poplib, ssl, sys
host, port, tls_port, apop_port, cafile, user, pw, secret = sys.argv[1:9]
ctx = ssl.create_default_context(cafile=cafile)
out = {}
def err(f):
    try:
        r = f()
        return "unexpected success: %r" % (r,)
    except poplib.error_proto as e:
        return e.args[0].decode() if isinstance(e.args[0], bytes) else str(e.args[0])
def d(b): return b.decode()

p = poplib.POP3(host, int(port), timeout=30)
out["welcome"] = d(p.getwelcome())
out["capa_plain"] = p.capa()
out["user_before_tls"] = err(lambda: p.user(user))
out["stat_before_login"] = err(lambda: p.stat())
out["stls"] = d(p.stls(ctx))
out["capa_tls"] = p.capa()
out["user"] = d(p.user(user))
out["bad_pass"] = err(lambda: p.pass_("wrong"))
p.user(user)
out["pass"] = d(p.pass_(pw))
out["capa_trans"] = p.capa()
out["stat"] = list(p.stat())
resp, lines, octets = p.list()
out["list"] = [d(l) for l in lines]
out["list2"] = d(p.list(2))
resp, lines, octets = p.uidl()
out["uidl"] = [d(l) for l in lines]
out["uidl2"] = d(p.uidl(2))
resp, lines, octets = p.retr(2)
out["retr2"] = [d(l) for l in lines]
out["retr2_resp"] = d(resp)
resp, lines, octets = p.top(1, 1)
out["top1"] = [d(l) for l in lines]
out["noop"] = d(p.noop())
out["dele1"] = d(p.dele(1))
out["dele1_again"] = err(lambda: p.dele(1))
out["retr_deleted"] = err(lambda: p.retr(1))
out["retr_missing"] = err(lambda: p.retr(9))
out["stat_after_dele"] = list(p.stat())
out["rset"] = d(p.rset())
out["stat_after_rset"] = list(p.stat())
out["user_in_trans"] = err(lambda: p.user(user))
out["stls_in_trans"] = err(lambda: p.stls(ctx))
out["utf8"] = err(lambda: p.utf8())
out["dele3"] = d(p.dele(3))
out["quit"] = d(p.quit())

s = poplib.POP3_SSL(host, int(tls_port), context=ctx, timeout=30)
out["ssl_capa"] = s.capa()
s.user(user)
out["ssl_pass"] = d(s.pass_(pw))
out["ssl_stat"] = list(s.stat())
resp, lines, octets = s.uidl()
out["ssl_uidl"] = [d(l) for l in lines]
out["ssl_quit"] = d(s.quit())

a = poplib.POP3_SSL(host, int(apop_port), context=ctx, timeout=30)
out["apop_bad"] = err(lambda: a.apop(user, "wrong"))
out["apop"] = d(a.apop(user, secret))
out["apop_quit"] = d(a.quit())
print(json.dumps(out))
`

func TestPythonPoplib(t *testing.T) {
	python := requireTool(t, "python3")
	const secret = "apop-secret"
	f := newFixture(t, testenv.Options{}, nil)
	f.deliver(t, testMessage(1), dotty, testMessage(3))
	apopSrv := &fixture{env: f.env, acct: f.acct}
	apopSrv.start(t, func(o *pop3.Options) {
		o.APOP = func(ctx context.Context, login string) (*directory.Account, string, error) {
			if login != testUser {
				return nil, "", directory.ErrAuthFailed
			}
			return f.acct, secret, nil
		}
	})
	p := ports(t, f.addr, f.tlsAddr, apopSrv.tlsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", poplibScript, "127.0.0.1", p[0], p[1], p[2], f.caFile(t), testUser, testPass, secret)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("poplib output %q: %v", stdout, err)
	}
	str := func(k string) string { s, _ := out[k].(string); return s }
	prefix := map[string]string{
		"welcome":           "+OK",
		"user_before_tls":   "-ERR [AUTH]",
		"stat_before_login": "-ERR STAT is not valid in the AUTHORIZATION state",
		"stls":              "+OK",
		"user":              "+OK",
		"bad_pass":          "-ERR [AUTH] Invalid login or password",
		"pass":              "+OK Maildrop has 3 messages",
		"list2":             "+OK 2 ",
		"retr2_resp":        "+OK ",
		"noop":              "+OK",
		"dele1":             "+OK Message 1 deleted",
		"dele1_again":       "-ERR Message 1 is deleted",
		"retr_deleted":      "-ERR Message 1 is deleted",
		"retr_missing":      "-ERR No such message",
		"rset":              "+OK Maildrop has 3 messages",
		"user_in_trans":     "-ERR USER is not valid in the TRANSACTION state",
		"stls_in_trans":     "-ERR",
		"utf8":              "-ERR Unknown command UTF8",
		"dele3":             "+OK",
		"quit":              "+OK",
		"ssl_pass":          "+OK Maildrop has 2 messages",
		"ssl_quit":          "+OK",
		"apop_bad":          "-ERR [AUTH]",
		"apop":              "+OK Maildrop has 2 messages",
		"apop_quit":         "+OK",
	}
	for k, want := range prefix {
		if !strings.HasPrefix(str(k), want) {
			t.Errorf("%s: %q, want %q…", k, str(k), want)
		}
	}
	capa := func(k string) map[string]any { m, _ := out[k].(map[string]any); return m }
	if c := capa("capa_plain"); c["STLS"] == nil || c["USER"] != nil || c["UIDL"] == nil {
		t.Errorf("capa before TLS: %v", c)
	}
	if c := capa("capa_tls"); c["STLS"] != nil || c["USER"] == nil || !reflect.DeepEqual(c["SASL"], []any{"PLAIN"}) {
		t.Errorf("capa after STLS: %v", c)
	}
	if c := capa("capa_trans"); c["TOP"] == nil || c["USER"] != nil {
		t.Errorf("capa in TRANSACTION: %v", c)
	}
	if c := capa("ssl_capa"); c["STLS"] != nil || c["USER"] == nil {
		t.Errorf("capa on POP3S: %v", c)
	}
	lines := func(k string) []string {
		var l []string
		for _, v := range out[k].([]any) {
			l = append(l, v.(string))
		}
		return l
	}
	if got := lines("retr2"); strings.Join(got, "\r\n")+"\r\n" != strings.ReplaceAll(strings.ReplaceAll(dotty, "\r\n", "\n"), "\n", "\r\n")+"\r\n" {
		t.Errorf("RETR 2 through poplib: %q", got)
	}
	if got := lines("top1"); !reflect.DeepEqual(got, []string{"From: bob@example.org", "To: alice@example.com", "Subject: message 1", "Message-ID: <m1@example.org>", "", "line one of 1"}) {
		t.Errorf("TOP 1 1 through poplib: %q", got)
	}
	if got := lines("list"); len(got) != 3 || got[1] != "2 "+strconv.Itoa(len(dotty)) {
		t.Errorf("LIST through poplib: %q", got)
	}
	uidl := lines("uidl")
	if len(uidl) != 3 || str("uidl2") != "+OK "+uidl[1] {
		t.Errorf("UIDL through poplib: %q / %q", uidl, str("uidl2"))
	}
	// After QUIT removed message 3 only (1 was un-deleted by RSET): the
	// survivors keep their ids on the implicit-TLS session.
	if got := lines("ssl_uidl"); !reflect.DeepEqual(got, []string{uidl[0], uidl[1]}) {
		t.Errorf("UIDL on POP3S after QUIT: %q, want %q", got, uidl[:2])
	}
	if st, _ := out["ssl_stat"].([]any); len(st) != 2 || st[0].(float64) != 2 {
		t.Errorf("STAT on POP3S: %v", out["ssl_stat"])
	}
}

// curlCase is one curl run: its arguments (after the common ones), what
// stdout must be, and what its trace (-v) must contain.
type curlCase struct {
	name   string
	args   []string
	stdout string   // exact, unless empty
	trace  []string // lines curl's -v shows, in order
	exit   int
	absent []string // must not be in the trace
}

func runCurl(t *testing.T, curl string, c curlCase) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, curl, append([]string{"-sS", "-v", "--max-time", "30"}, c.args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	exit := 0
	if ee, ok := err.(*exec.ExitError); ok {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	trace := stderr.String()
	if exit != c.exit {
		t.Errorf("%s: exit %d, want %d\n%s", c.name, exit, c.exit, trace)
		return
	}
	if c.stdout != "" && stdout.String() != c.stdout {
		t.Errorf("%s: stdout %q, want %q", c.name, stdout.String(), c.stdout)
	}
	rest := trace
	for _, want := range c.trace {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Errorf("%s: trace lacks %q (in order)\n%s", c.name, want, trace)
			return
		}
		rest = rest[i+len(want):]
	}
	for _, no := range c.absent {
		if strings.Contains(trace, no) {
			t.Errorf("%s: trace has %q\n%s", c.name, no, trace)
		}
	}
}

func TestCurl(t *testing.T) {
	curl := requireTool(t, "curl")
	ver, err := exec.Command(curl, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"pop3", "pop3s"} {
		if !strings.Contains(" "+string(ver)+" ", " "+proto+" ") {
			t.Fatalf("curl lacks %s: %s", proto, ver)
		}
	}
	f := newFixture(t, testenv.Options{}, func(o *pop3.Options) { o.MaxErrors = 100 })
	f.deliver(t, testMessage(1), dotty, testMessage(3))
	ca := f.caFile(t)
	user := testUser + ":" + testPass
	stls := func(path string, extra ...string) []string {
		return append([]string{"--ssl-reqd", "--cacert", ca, "-u", user, "pop3://" + f.addr + path}, extra...)
	}
	pop3s := func(path string, extra ...string) []string {
		return append([]string{"--cacert", ca, "-u", user, "pop3s://" + f.tlsAddr + path}, extra...)
	}
	list := "1 " + strconv.Itoa(len(testMessage(1))) + "\r\n2 " + strconv.Itoa(len(dotty)) + "\r\n3 " + strconv.Itoa(len(testMessage(3))) + "\r\n"
	wireDotty := strings.ReplaceAll(strings.ReplaceAll(dotty, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
	hdr1 := testMessage(1)[:strings.Index(testMessage(1), "\r\n\r\n")+4]
	// curl sends QUIT when it closes its connection cache at exit, after its
	// -v trace ends; the deletion checks below show that it did.
	for _, c := range []curlCase{
		{name: "LIST over STLS with AUTH PLAIN", args: stls("/"), stdout: list,
			trace: []string{"> CAPA", "< STLS", "> STLS", "< +OK Begin TLS", "> CAPA", "< SASL PLAIN", "> AUTH PLAIN", "< + ", "< +OK Maildrop has 3", "> LIST"}},
		{name: "RETR over STLS", args: stls("/2"), stdout: wireDotty, trace: []string{"> RETR 2", "< +OK " + strconv.Itoa(len(dotty)) + " octets"}},
		{name: "RETR over POP3S with SASL-IR", args: pop3s("/1", "--sasl-ir"), stdout: testMessage(1),
			trace: []string{"> AUTH PLAIN ", "< +OK Maildrop", "> RETR 1"}, absent: []string{"> STLS"}},
		{name: "UIDL", args: pop3s("/", "-X", "UIDL"), trace: []string{"> UIDL", "< +OK Unique-ID listing follows"}},
		{name: "TOP", args: pop3s("/", "-X", "TOP 1 0"), stdout: hdr1, trace: []string{"> TOP 1 0", "< +OK Top of message follows"}},
		{name: "STAT", args: pop3s("/", "-X", "STAT", "-I"), trace: []string{"> STAT", "< +OK 3 "}},
		{name: "LIST one", args: pop3s("/", "-X", "LIST 2", "-I"), trace: []string{"> LIST 2", "< +OK 2 " + strconv.Itoa(len(dotty))}},
		{name: "UIDL one", args: pop3s("/", "-X", "UIDL 3", "-I"), trace: []string{"> UIDL 3", "< +OK 3 00000003u"}},
		{name: "NOOP", args: pop3s("/", "-X", "NOOP", "-I"), trace: []string{"> NOOP", "< +OK"}},
		{name: "RSET", args: pop3s("/", "-X", "RSET", "-I"), trace: []string{"> RSET", "< +OK Maildrop has 3"}},
		{name: "CAPA in TRANSACTION", args: pop3s("/", "-X", "CAPA"), stdout: "TOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nEXPIRE NEVER\r\nIMPLEMENTATION Pochta\r\n"},
		{name: "missing message", args: pop3s("/9"), exit: 8, trace: []string{"> RETR 9", "< -ERR No such message"}},
		{name: "unknown command", args: pop3s("/", "-X", "XYZZ", "-I"), exit: 8, trace: []string{"> XYZZ", "< -ERR Unknown command XYZZ"}},
		{name: "USER in TRANSACTION", args: pop3s("/", "-X", "USER bob", "-I"), exit: 8, trace: []string{"< -ERR USER is not valid in the TRANSACTION state"}},
		{name: "STLS in TRANSACTION", args: pop3s("/", "-X", "STLS", "-I"), exit: 8, trace: []string{"< -ERR STLS is not valid in the TRANSACTION state"}},
		{name: "wrong password", args: []string{"--cacert", ca, "-u", testUser + ":nope", "pop3s://" + f.tlsAddr + "/"}, exit: 67,
			trace: []string{"> AUTH PLAIN", "< -ERR [AUTH] Invalid login or password"}},
		{name: "no TLS, no login", args: []string{"-u", user, "pop3://" + f.addr + "/"}, exit: 67,
			trace: []string{"< STLS"}, absent: []string{"> AUTH", "> USER", "> PASS"}},
		{name: "DELE then QUIT", args: pop3s("/3", "-X", "DELE", "-I"), trace: []string{"> DELE 3", "< +OK Message 3 deleted"}},
		{name: "LIST after DELE", args: stls("/"), stdout: list[:strings.LastIndex(list[:len(list)-2], "\r\n")+2]},
	} {
		runCurl(t, curl, c)
	}
	if n := len(f.inboxMeta(t)); n != 2 {
		t.Fatalf("%d messages after curl's DELE", n)
	}

	// APOP: curl digests the greeting's timestamp with the password.
	apop := &fixture{env: f.env, acct: f.acct}
	apop.start(t, func(o *pop3.Options) {
		o.APOP = func(ctx context.Context, login string) (*directory.Account, string, error) {
			return f.acct, testPass, nil
		}
	})
	runCurl(t, curl, curlCase{name: "APOP", args: []string{"--cacert", ca, "-u", user, "--login-options", "AUTH=+APOP", "pop3s://" + apop.tlsAddr + "/", "-X", "STAT", "-I"},
		trace: []string{"> APOP " + testUser + " ", "< +OK Maildrop has 2", "> STAT"}})
}
