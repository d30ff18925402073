// Package hardening holds the cross-door hardening suite (its tests start
// every door in-process and try what a security reviewer and an operator
// would try) and the crash soak driver used by scripts/soak/crash-soak.sh
// and by TestCrashSoakShort.
//
// The crash soak runs SMTP load against a real `pochta serve` process,
// kills it with SIGKILL at a random moment, restarts it, and at the end
// opens the store directly and checks that every message that got a 250
// is in its recipients' mailboxes exactly once, whole. The senders never
// resend: a message whose 250 was not seen is abandoned, so any duplicate
// is a defect, not a retry.
package hardening

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/storage"
)

// SoakOptions configure RunCrashSoak.
type SoakOptions struct {
	// Binary is the pochta executable to run. Required.
	Binary string
	// WorkDir is a scratch folder; the data folder and the server log go
	// inside it. Required; it should be empty.
	WorkDir string
	// Cycles is how many times the server is killed and restarted (100 in
	// CI-sized runs, 1000 for a release). Default 5.
	Cycles int
	// MaxDuration bounds the whole run: no new cycle starts after it, and
	// the result says how many cycles ran. Default 30 minutes.
	MaxDuration time.Duration
	// Senders is the number of concurrent SMTP clients. Default 4.
	Senders int
	// MinUp and MaxUp bound the random moment of the kill, measured from
	// when the server first answered with a greeting. Defaults 200 ms and
	// 1.5 s.
	MinUp, MaxUp time.Duration
	// StartupKillEvery makes every Nth cycle (on average) kill the server
	// at a random moment before it is ready, during its start-up and
	// recovery; 0 means never.
	StartupKillEvery int
	// Seed makes the kill moments and message sizes reproducible; 0 picks one.
	Seed uint64
	// Progress, if set, receives one line per cycle.
	Progress io.Writer
}

// SoakResult is what a run found.
type SoakResult struct {
	Cycles        int           // kill/restart cycles completed
	StartupKills  int           // of them, killed before the server was ready
	Attempted     int64         // messages whose DATA was started
	Acknowledged  int           // messages that got 250 after DATA
	Deliveries    int           // acknowledged (message, recipient) pairs
	Lost          int           // acknowledged deliveries missing from the mailbox
	Duplicated    int           // deliveries stored more than once (acknowledged or not)
	Incomplete    int           // stored messages whose body is cut short
	Unacked       int           // stored deliveries of messages whose 250 was not seen (allowed)
	Unexpected    int           // stored messages that no sender sent
	Examples      []string      // a few lost, duplicated or incomplete ids, for the report
	Elapsed       time.Duration // wall time of the run
	Seed          uint64
	ServerLogPath string
}

// OK reports whether nothing acknowledged was lost, duplicated or damaged.
func (r *SoakResult) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Incomplete == 0 && r.Unexpected == 0
}

// String is the one-line summary the script prints.
func (r *SoakResult) String() string {
	return fmt.Sprintf("cycles=%d (killed during start-up: %d) attempted=%d acknowledged=%d deliveries=%d lost=%d duplicated=%d incomplete=%d unexpected=%d stored-unacknowledged=%d elapsed=%s seed=%d",
		r.Cycles, r.StartupKills, r.Attempted, r.Acknowledged, r.Deliveries, r.Lost, r.Duplicated, r.Incomplete, r.Unexpected, r.Unacked, r.Elapsed.Round(time.Second), r.Seed)
}

const (
	soakDomain   = "soak.example"
	soakHost     = "mx." + soakDomain
	soakPassword = "soak-password-1"
)

var soakUsers = []string{"alice@" + soakDomain, "bob@" + soakDomain}

// RunCrashSoak runs the soak described in the package comment. An error
// means the soak could not run (the server would not start, say); what it
// found is in the result.
func RunCrashSoak(ctx context.Context, opts SoakOptions) (*SoakResult, error) {
	if opts.Binary == "" || opts.WorkDir == "" {
		return nil, errors.New("soak: Binary and WorkDir are required")
	}
	if opts.Cycles <= 0 {
		opts.Cycles = 5
	}
	if opts.MaxDuration <= 0 {
		opts.MaxDuration = 30 * time.Minute
	}
	if opts.Senders <= 0 {
		opts.Senders = 4
	}
	if opts.MinUp <= 0 {
		opts.MinUp = 200 * time.Millisecond
	}
	if opts.MaxUp < opts.MinUp {
		opts.MaxUp = max(opts.MinUp, 1500*time.Millisecond)
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(opts.Seed, 0x50c4))
	res := &SoakResult{Seed: opts.Seed, ServerLogPath: filepath.Join(opts.WorkDir, "server.log")}

	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	srv := &soakServer{bin: opts.Binary, dir: opts.WorkDir, addr: addr, logPath: res.ServerLogPath}
	if err := srv.addUsers(ctx); err != nil {
		return nil, err
	}

	ledger := newLedger()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range opts.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &sender{id: i, addr: addr, ledger: ledger, stop: stop,
				rng: rand.New(rand.NewPCG(opts.Seed, uint64(i)+1))}
			s.run()
		}()
	}
	stopSenders := func() {
		close(stop)
		wg.Wait()
	}

	deadline := start.Add(opts.MaxDuration)
	for res.Cycles < opts.Cycles && time.Now().Before(deadline) && ctx.Err() == nil {
		startupKill := opts.StartupKillEvery > 0 && rng.IntN(opts.StartupKillEvery) == 0
		before := ledger.acked()
		if err := srv.start(); err != nil {
			stopSenders()
			return res, err
		}
		var killAfter time.Duration
		if startupKill {
			// Somewhere in the first half second after exec: opening the
			// store, recovering the journal, binding.
			killAfter = time.Duration(rng.Int64N(int64(500 * time.Millisecond)))
			time.Sleep(killAfter)
		} else {
			if err := srv.waitReady(ctx, 60*time.Second); err != nil {
				srv.kill()
				stopSenders()
				return res, err
			}
			killAfter = opts.MinUp + time.Duration(rng.Int64N(int64(opts.MaxUp-opts.MinUp)+1))
			time.Sleep(killAfter)
		}
		if err := srv.kill(); err != nil {
			stopSenders()
			return res, err
		}
		res.Cycles++
		if startupKill {
			res.StartupKills++
		}
		fmt.Fprintf(opts.Progress, "cycle %d: killed after %s%s; acknowledged %d (+%d)\n",
			res.Cycles, killAfter.Round(time.Millisecond), map[bool]string{true: " (during start-up)"}[startupKill],
			ledger.acked(), ledger.acked()-before)
	}
	stopSenders()
	res.Attempted = ledger.attempted.Load()
	if err := verify(ctx, filepath.Join(opts.WorkDir, "data", "pochta.db"), ledger, res); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// soakServer runs the binary over one data folder, again and again.
type soakServer struct {
	bin, dir, addr, logPath string
	cmd                     *exec.Cmd
	exited                  chan error
}

// env gives the server only the SMTP listener, on a loopback port, and a
// data folder of its own; the caller's POCHTA_* settings are dropped so
// they cannot point the soak at a real installation.
func (s *soakServer) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POCHTA_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"POCHTA_SERVER_DATA_DIR="+filepath.Join(s.dir, "data"),
		"POCHTA_SERVER_HOSTNAME="+soakHost,
		"POCHTA_SERVER_SHUTDOWN_GRACE=1s",
		"POCHTA_LOG_LEVEL=warn",
		"POCHTA_SMTP_LISTEN="+s.addr,
		"POCHTA_SMTP_SUBMISSION_LISTEN=", "POCHTA_SMTP_SUBMISSIONS_LISTEN=",
		"POCHTA_IMAP_LISTEN=", "POCHTA_IMAP_TLS_LISTEN=",
		"POCHTA_POP3_LISTEN=", "POCHTA_POP3_TLS_LISTEN=",
		"POCHTA_HTTP_LISTEN=", "POCHTA_HTTP_TLS_LISTEN=", "POCHTA_HTTP_METRICS_LISTEN=",
	)
}

func (s *soakServer) addUsers(ctx context.Context) error {
	for _, u := range soakUsers {
		cmd := exec.CommandContext(ctx, s.bin, "user", "add", u)
		cmd.Dir, cmd.Env = s.dir, s.env()
		cmd.Stdin = strings.NewReader(soakPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("soak: pochta user add %s: %w\n%s", u, err, out)
		}
	}
	return nil
}

func (s *soakServer) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("soak: server log: %w", err)
	}
	fmt.Fprintf(logf, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin, "serve")
	cmd.Dir, cmd.Env = s.dir, s.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("soak: starting pochta serve: %w", err)
	}
	s.cmd = cmd
	s.exited = make(chan error, 1)
	go func() {
		s.exited <- cmd.Wait()
		logf.Close()
	}()
	return nil
}

// waitReady waits for the SMTP greeting; a server that exits first is an
// error (it could not recover its store, say).
func (s *soakServer) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case err := <-s.exited:
			s.exited <- err
			return fmt.Errorf("soak: pochta serve exited before it was ready (%v); see %s", err, s.logPath)
		default:
		}
		if greets(s.addr, soakHost) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("soak: pochta serve not ready after %s; see %s", limit, s.logPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone. A process that
// had already exited on its own is an error: nothing else should stop it.
func (s *soakServer) kill() error {
	select {
	case err := <-s.exited:
		return fmt.Errorf("soak: pochta serve exited on its own (%v); see %s", err, s.logPath)
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("soak: killing pochta serve: %w", err)
	}
	<-s.exited
	return nil
}

// greets reports whether an SMTP server named host answers on addr: the
// name tells our server from another process that took the port while
// ours was down.
func greets(addr, host string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "220 "+host+" ") {
		return false
	}
	_, _ = io.WriteString(c, "QUIT\r\n")
	return true
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("soak: finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// ledger records what the senders sent and what was acknowledged.
type ledger struct {
	attempted atomic.Int64
	mu        sync.Mutex
	sent      map[string][]string // id → recipients, for every message whose DATA began
	ack       map[string]bool
}

func newLedger() *ledger {
	return &ledger{sent: map[string][]string{}, ack: map[string]bool{}}
}

func (l *ledger) began(id string, rcpts []string) {
	l.attempted.Add(1)
	l.mu.Lock()
	l.sent[id] = rcpts
	l.mu.Unlock()
}

func (l *ledger) acknowledged(id string) {
	l.mu.Lock()
	l.ack[id] = true
	l.mu.Unlock()
}

func (l *ledger) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ack)
}

// sender sends messages one after the other over a connection, reconnecting
// when the server goes away, and never sends a message twice.
type sender struct {
	id     int
	addr   string
	ledger *ledger
	stop   chan struct{}
	rng    *rand.Rand
	seq    int
}

func (s *sender) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

func (s *sender) run() {
	for !s.stopped() {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.session(c)
		c.Close()
	}
}

// session runs one connection until it fails or the soak stops.
func (s *sender) session(c net.Conn) {
	tp := textproto.NewConn(c)
	step := func() { _ = c.SetDeadline(time.Now().Add(30 * time.Second)) }
	step()
	if _, msg, err := tp.ReadResponse(220); err != nil || !strings.HasPrefix(msg, soakHost+" ") {
		return // not up yet, or not our server
	}
	if err := cmd(tp, 250, "EHLO sender%d.remote.example", s.id); err != nil {
		return
	}
	for !s.stopped() {
		s.seq++
		id := fmt.Sprintf("s%d-m%d", s.id, s.seq)
		rcpts := []string{soakUsers[s.rng.IntN(len(soakUsers))]}
		if s.rng.IntN(4) == 0 {
			rcpts = soakUsers // one transaction, two mailboxes
		}
		step()
		if err := cmd(tp, 250, "MAIL FROM:<sender%d@remote.example>", s.id); err != nil {
			return
		}
		for _, r := range rcpts {
			if err := cmd(tp, 250, "RCPT TO:<%s>", r); err != nil {
				return
			}
		}
		if err := cmd(tp, 354, "DATA"); err != nil {
			return
		}
		s.ledger.began(id, rcpts)
		w := tp.DotWriter()
		if _, err := io.WriteString(w, soakMessage(id, rcpts, 512+s.rng.IntN(8192))); err != nil {
			return
		}
		if err := w.Close(); err != nil {
			return
		}
		if _, _, err := tp.ReadResponse(250); err != nil {
			return // not acknowledged: abandoned, never resent
		}
		s.ledger.acknowledged(id)
	}
	_ = cmd(tp, 221, "QUIT")
}

func cmd(tp *textproto.Conn, code int, format string, args ...any) error {
	if err := tp.PrintfLine(format, args...); err != nil {
		return err
	}
	_, _, err := tp.ReadResponse(code)
	return err
}

// soakMessage is a message named by id in its Subject, Message-ID and last
// line, padded to about size bytes.
func soakMessage(id string, rcpts []string, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <soak@remote.example>\r\nTo: %s\r\nSubject: soak %s\r\nMessage-ID: <%s@remote.example>\r\n\r\n",
		strings.Join(rcpts, ", "), id, id)
	for b.Len() < size {
		fmt.Fprintf(&b, "%s: line at %d of a message that must arrive whole, once\r\n", id, b.Len())
	}
	b.WriteString(soakEnd(id))
	return b.String()
}

func soakEnd(id string) string { return "END " + id + "\r\n" }

// verify opens the store left by the last kill and counts every message
// of every soak account, in every folder.
func verify(ctx context.Context, dbPath string, l *ledger, res *SoakResult) error {
	st, err := storage.Open(ctx, storage.Options{Driver: "sqlite", DSN: dbPath})
	if err != nil {
		return fmt.Errorf("soak: opening the store after the last kill: %w", err)
	}
	defer st.Close()
	w, r := st.DBs()
	dir, err := directory.NewLocal(ctx, directory.LocalOptions{DB: w, ReadDB: r, Durable: st.Sync})
	if err != nil {
		return fmt.Errorf("soak: opening the directory: %w", err)
	}
	stored := map[string]int{} // "id rcpt" → copies
	for _, u := range soakUsers {
		acct, err := dir.AccountByAddress(ctx, u)
		if err != nil {
			return fmt.Errorf("soak: account %s: %w", u, err)
		}
		folders, err := st.Folders(ctx, acct.ID)
		if err != nil {
			return fmt.Errorf("soak: folders of %s: %w", u, err)
		}
		for _, f := range folders {
			for off := 0; ; {
				page, err := st.ListMessages(ctx, acct.ID, f.ID, storage.ListQuery{Sort: storage.SortUID, Offset: off, Limit: 500})
				if err != nil {
					return fmt.Errorf("soak: listing %s/%s: %w", u, f.Name, err)
				}
				for _, m := range page {
					id, ok := strings.CutPrefix(m.Subject, "soak ")
					if !ok {
						continue // a folder's own items, not soak mail
					}
					stored[id+" "+u]++
					raw, err := st.ReadBlob(ctx, m.BlobHash)
					if err != nil {
						return fmt.Errorf("soak: reading %s: %w", id, err)
					}
					if !strings.HasSuffix(string(raw), soakEnd(id)) {
						res.Incomplete++
						res.example("incomplete " + id + " for " + u)
					}
				}
				if len(page) < 500 {
					break
				}
				off += len(page)
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	res.Acknowledged = len(l.ack)
	keys := make([]string, 0, len(stored))
	for k := range stored {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		id, rcpt, _ := strings.Cut(k, " ")
		rcpts, sent := l.sent[id]
		if !sent || !contains(rcpts, rcpt) {
			res.Unexpected++
			res.example("unexpected " + id + " for " + rcpt)
			continue
		}
		if n := stored[k]; n > 1 {
			res.Duplicated += n - 1
			res.example(fmt.Sprintf("duplicated %s for %s (%d copies)", id, rcpt, n))
		}
		if !l.ack[id] {
			res.Unacked++
		}
	}
	ids := make([]string, 0, len(l.ack))
	for id := range l.ack {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, rcpt := range l.sent[id] {
			res.Deliveries++
			if stored[id+" "+rcpt] == 0 {
				res.Lost++
				res.example("lost " + id + " for " + rcpt)
			}
		}
	}
	return nil
}

func (r *SoakResult) example(s string) {
	if len(r.Examples) < 20 {
		r.Examples = append(r.Examples, s)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
