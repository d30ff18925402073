package loadtest

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

type memIMAP struct {
	users map[string]*imapmemserver.User
	ln    *countingListener
}

func testNow() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

// startIMAPMem serves go-imap's in-memory reference backend on 127.0.0.1
// with the given users, each with an empty INBOX.
func startIMAPMem(t *testing.T, users map[string]string) (*memIMAP, string) {
	t.Helper()
	mem := imapmemserver.New()
	m := &memIMAP{users: map[string]*imapmemserver.User{}}
	for name, pass := range users {
		u := imapmemserver.NewUser(name, pass)
		if err := u.Create("INBOX", nil); err != nil {
			t.Fatal(err)
		}
		mem.AddUser(u)
		m.users[name] = u
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	m.ln = listenLoopback(t)
	go srv.Serve(m.ln)
	t.Cleanup(func() { srv.Close() })
	return m, m.ln.Addr().String()
}

func mailboxState(t *testing.T, u *imapmemserver.User) (messages, uidNext uint32) {
	t.Helper()
	data, err := u.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true})
	if err != nil {
		t.Fatal(err)
	}
	return *data.NumMessages, uint32(data.UIDNext)
}

func TestIMAPWorkloadCountsMatchTheServer(t *testing.T) {
	mem, addr := startIMAPMem(t, map[string]string{"u1": "pw", "u2": "pw"})
	const prefill = 6
	cfg, err := parseIMAPFlags([]string{"-addr", addr, "-user-pattern", "u%d", "-pass", "pw", "-c", "2",
		"-duration", "1500ms", "-prefill", "6", "-noop-every", "1", "-idle-every", "1", "-size", "2048"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runIMAP(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors.count != 0 {
		t.Fatalf("errors %d: %q", res.Errors.count, res.Errors.texts)
	}
	if res.Cycles < 1 {
		t.Fatalf("no full cycle ran")
	}
	count := func(kind string) int64 {
		if l := res.ByKind[kind]; l != nil {
			return int64(len(l.samples))
		}
		return 0
	}
	var sum int64
	for _, l := range res.ByKind {
		sum += int64(len(l.samples))
	}
	if sum != res.Commands {
		t.Errorf("commands %d but per-kind counts add to %d", res.Commands, sum)
	}
	// Sessions kept open: one LOGIN per client, no LOGOUT counted.
	if count(kindLogin) != 2 || count(kindLogout) != 0 {
		t.Errorf("LOGIN %d LOGOUT %d, want 2 and 0", count(kindLogin), count(kindLogout))
	}
	// Every full cycle has SELECT..APPEND, NOOP and IDLE (both every cycle
	// here); a cycle cut by the deadline may have some of them.
	for _, k := range []string{kindSelect, kindFetchFlags, kindFetchBody, kindStore, kindAppend, kindNoop, kindIdle} {
		if n := count(k); n < res.Cycles || n > res.Cycles+2 {
			t.Errorf("%s ran %d times for %d full cycles", k, n, res.Cycles)
		}
	}

	// The server's view: every APPEND took a UID, every EXPUNGE removed one.
	var msgs, uids uint32
	for _, u := range mem.users {
		m, next := mailboxState(t, u)
		msgs += m
		uids += next - 1
		if m < prefill || m > prefill+1 {
			t.Errorf("mailbox holds %d messages, want it steady at %d..%d", m, prefill, prefill+1)
		}
	}
	if int64(uids) != 2*prefill+count(kindAppend) {
		t.Errorf("server assigned %d UIDs, want prefill %d + APPENDs %d", uids, 2*prefill, count(kindAppend))
	}
	if int64(msgs) != 2*prefill+count(kindAppend)-count(kindExpunge) {
		t.Errorf("server holds %d messages, want %d + %d - %d", msgs, 2*prefill, count(kindAppend), count(kindExpunge))
	}
}

func TestIMAPReconnectLogsInEveryCycle(t *testing.T) {
	mem, addr := startIMAPMem(t, map[string]string{"a@example.com": "pw"})
	var out bytes.Buffer
	err := RunIMAP(testContext(t), []string{"-addr", addr, "-users", "a@example.com:pw", "-c", "2",
		"-duration", "1s", "-reconnect", "-prefill", "3"}, &out)
	if err != nil {
		t.Fatalf("RunIMAP: %v\n%s", err, out.String())
	}
	report := out.String()
	if got := resultInt(t, report, "errors"); got != 0 {
		t.Fatalf("errors = %d\n%s", got, report)
	}
	cycles := resultInt(t, report, "cycles")
	cfgLogins := loginCount(t, report)
	// One prefill session, then one connection per LOGIN; each client may
	// have connected just before the deadline and then not logged in.
	if conns := mem.ln.accepted.Load(); conns < cfgLogins+1 || conns > cfgLogins+1+2 {
		t.Errorf("server accepted %d connections, want LOGINs %d + 1 prefill (+ up to 2 cut by the deadline)", conns, cfgLogins)
	}
	if cfgLogins < cycles || cfgLogins > cycles+2 {
		t.Errorf("%d LOGINs for %d cycles", cfgLogins, cycles)
	}
	if resultField(t, report, "reconnect") != "true" {
		t.Errorf("result line does not say reconnect=true")
	}
}

// loginCount reads the LOGIN row of the latency table.
func loginCount(t *testing.T, report string) int64 {
	t.Helper()
	for _, line := range strings.Split(report, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == kindLogin {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("LOGIN row %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no LOGIN row in:\n%s", report)
	return 0
}

func TestIMAPCountsRefusedLogins(t *testing.T) {
	_, addr := startIMAPMem(t, map[string]string{"a": "right"})
	cfg, err := parseIMAPFlags([]string{"-addr", addr, "-users", "a:wrong", "-c", "1", "-duration", "300ms", "-prefill", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runIMAP(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commands != 0 || res.Errors.count == 0 {
		t.Errorf("commands %d errors %d, want 0 and some", res.Commands, res.Errors.count)
	}
	if len(res.Errors.texts) != 1 || !strings.HasPrefix(res.Errors.texts[0], "LOGIN: ") {
		t.Errorf("error texts %q, want one LOGIN error", res.Errors.texts)
	}
	// With a prefill the bad login is a hard error before timing starts.
	cfg.Prefill = 2
	if _, err := runIMAP(testContext(t), cfg); err == nil || !strings.Contains(err.Error(), "prefill") {
		t.Errorf("prefill with a bad login: err = %v", err)
	}
}

func TestIMAPFlags(t *testing.T) {
	var out bytes.Buffer
	if err := RunIMAP(testContext(t), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v", err)
	}
	if !strings.Contains(out.String(), "usage: pochta bench imap") {
		t.Errorf("-h output:\n%s", out.String())
	}
	for _, args := range [][]string{
		{},
		{"-users", "a:b", "-user-pattern", "u%d"},
		{"-user-pattern", "user"},
		{"-user-pattern", "u%d%s"},
		{"-users", "a:b", "-duration", "0s"},
		{"-users", "nopass"},
		{"-users", "a:b", "-tls", "-starttls"},
	} {
		if _, err := parseIMAPFlags(args, io.Discard); err == nil {
			t.Errorf("flags %q accepted", args)
		}
	}
	cfg, err := parseIMAPFlags([]string{"-user-pattern", "bench%d@example.com", "-pass", "pw", "-c", "3"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []credential{{"bench1@example.com", "pw"}, {"bench2@example.com", "pw"}, {"bench3@example.com", "pw"}}
	if len(cfg.Users) != 3 || cfg.Users[0] != want[0] || cfg.Users[2] != want[2] {
		t.Errorf("users %v, want %v", cfg.Users, want)
	}
}
