package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imapConfig is what `pochta bench imap` was asked to do.
type imapConfig struct {
	Addr        string
	Users       []credential
	Concurrency int
	Duration    time.Duration
	Reconnect   bool
	TLS         bool
	StartTLS    bool
	Insecure    bool
	Size        int
	Prefill     int
	FetchBodies int
	Mailbox     string
	NoopEvery   int
	IdleEvery   int
	Grace       time.Duration
}

// Command kinds, as named in the report.
const (
	kindLogin      = "LOGIN"
	kindSelect     = "SELECT"
	kindFetchFlags = "FETCH_FLAGS"
	kindFetchBody  = "FETCH_BODY"
	kindStore      = "STORE"
	kindAppend     = "APPEND"
	kindDelete     = "STORE_DEL"
	kindExpunge    = "EXPUNGE"
	kindNoop       = "NOOP"
	kindIdle       = "IDLE"
	kindLogout     = "LOGOUT"
)

// imapResult is what one run measured.
type imapResult struct {
	Commands int64
	Cycles   int64
	Errors   errorLog
	Elapsed  time.Duration
	ByKind   map[string]*latencies
}

const imapSummary = `Runs -c IMAP clients for -duration, each looping over a mixed stateful workload:
LOGIN (every cycle with -reconnect, else once), SELECT, FETCH 1:* FLAGS, FETCH a few
bodies, STORE +FLAGS \Seen or \Flagged, APPEND a -size message, then STORE \Deleted
and EXPUNGE of the oldest message so the mailbox stays near -prefill messages, with
an occasional NOOP and IDLE/DONE. Prints commands/s, errors (with the first texts)
and latency percentiles per command kind. Client i logs in as user i (mod the list).`

// RunIMAP is `pochta bench imap`.
func RunIMAP(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseIMAPFlags(args, stdout)
	if err != nil {
		return err
	}
	res, err := runIMAP(ctx, cfg)
	if err != nil {
		return err
	}
	writeIMAPReport(stdout, cfg, res)
	return nil
}

func parseIMAPFlags(args []string, out io.Writer) (imapConfig, error) {
	fs := newFlagSet("imap", imapSummary, out)
	var cfg imapConfig
	var users, pattern, pass string
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:1143", "server `host:port`")
	fs.StringVar(&users, "users", "", "logins as `u1:p1,u2:p2,...`")
	fs.StringVar(&pattern, "user-pattern", "", "login pattern such as `bench%d@example.com`, numbered 1..c, with -pass")
	fs.StringVar(&pass, "pass", "", "password for -user-pattern")
	fs.IntVar(&cfg.Concurrency, "c", 10, "concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long to run the workload")
	fs.BoolVar(&cfg.Reconnect, "reconnect", false, "log in and out on every cycle instead of keeping sessions open")
	fs.BoolVar(&cfg.TLS, "tls", false, "implicit TLS")
	fs.BoolVar(&cfg.StartTLS, "starttls", false, "upgrade with STARTTLS")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "do not verify the server's TLS certificate")
	fs.IntVar(&cfg.Size, "size", 4096, "size of each APPENDed message in bytes")
	fs.IntVar(&cfg.Prefill, "prefill", 20, "before timing, APPEND until each mailbox holds this many messages")
	fs.IntVar(&cfg.FetchBodies, "fetch-bodies", 3, "messages whose full body one FETCH per cycle reads")
	fs.StringVar(&cfg.Mailbox, "mailbox", "INBOX", "mailbox to work in")
	fs.IntVar(&cfg.NoopEvery, "noop-every", 5, "send NOOP every N cycles (0: never)")
	fs.IntVar(&cfg.IdleEvery, "idle-every", 10, "enter and leave IDLE every N cycles, if the server has IDLE (0: never)")
	fs.DurationVar(&cfg.Grace, "grace", 15*time.Second, "after -duration, wait this long for commands in flight before closing connections")
	if err := parseFlags(fs, args); err != nil {
		return cfg, err
	}
	var err error
	switch {
	case users != "" && pattern != "":
		return cfg, errors.New("bench imap: give -users or -user-pattern, not both")
	case users != "":
		cfg.Users, err = parseCredentialList(users)
	case pattern != "":
		cfg.Users, err = patternCredentials(pattern, pass, cfg.Concurrency)
	default:
		return cfg, errors.New("bench imap: -users or -user-pattern is required")
	}
	if err != nil {
		return cfg, fmt.Errorf("bench imap: %w", err)
	}
	switch {
	case len(cfg.Users) == 0:
		return cfg, errors.New("bench imap: no users")
	case cfg.Concurrency < 1:
		return cfg, errors.New("bench imap: -c must be at least 1")
	case cfg.Duration <= 0:
		return cfg, errors.New("bench imap: -duration must be positive")
	case cfg.Size < 256:
		return cfg, errors.New("bench imap: -size must be at least 256")
	case cfg.Prefill < 0 || cfg.FetchBodies < 0 || cfg.NoopEvery < 0 || cfg.IdleEvery < 0:
		return cfg, errors.New("bench imap: counts must not be negative")
	case cfg.TLS && cfg.StartTLS:
		return cfg, errors.New("bench imap: -tls and -starttls exclude each other")
	}
	return cfg, nil
}

func runIMAP(ctx context.Context, cfg imapConfig) (*imapResult, error) {
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := prefillIMAP(ctx, cfg, runID); err != nil {
		return nil, fmt.Errorf("bench imap: prefill: %w", err)
	}

	// Soft deadline: no new command starts after it. Hard deadline: any
	// connection still open is closed, so a stuck server cannot hold the run.
	start := time.Now()
	softDeadline := start.Add(cfg.Duration)
	hardCtx, cancel := context.WithDeadline(ctx, softDeadline.Add(cfg.Grace))
	defer cancel()

	workers := make([]*imapWorker, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &imapWorker{
			cfg:      &cfg,
			cred:     cfg.Users[i%len(cfg.Users)],
			deadline: softDeadline,
			rng:      rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(i))),
			byKind:   map[string]*latencies{},
			runID:    runID,
			id:       i,
		}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(hardCtx)
		}()
	}
	wg.Wait()

	res := &imapResult{Elapsed: time.Since(start), ByKind: map[string]*latencies{}}
	for _, w := range workers {
		res.Commands += w.commands
		res.Cycles += w.cycles
		res.Errors.merge(&w.errs)
		for k, l := range w.byKind {
			if res.ByKind[k] == nil {
				res.ByKind[k] = &latencies{}
			}
			res.ByKind[k].merge(l)
		}
	}
	return res, nil
}

// imapSession is one connected, logged-in client.
type imapSession struct {
	client  *imapclient.Client
	release func()
}

func (s *imapSession) close() {
	s.client.Close()
	s.release()
}

func connectIMAP(ctx context.Context, cfg *imapConfig) (*imapSession, error) {
	conn, release, err := dial(ctx, cfg.Addr, cfg.TLS, cfg.Insecure, 30*time.Second)
	if err != nil {
		return nil, err
	}
	var c *imapclient.Client
	if cfg.StartTLS {
		c, err = imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: tlsConfigFor(cfg.Addr, cfg.Insecure)})
		if err != nil {
			conn.Close()
			release()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	} else {
		c = imapclient.New(conn, nil)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		release()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return &imapSession{client: c, release: release}, nil
}

// prefillIMAP tops each distinct user's mailbox up to cfg.Prefill messages,
// untimed, so every server starts the timed phase with the same mailbox size.
func prefillIMAP(ctx context.Context, cfg imapConfig, runID string) error {
	if cfg.Prefill == 0 {
		return nil
	}
	seen := map[string]bool{}
	var creds []credential
	for i := 0; i < cfg.Concurrency && i < len(cfg.Users); i++ {
		if u := cfg.Users[i]; !seen[u.User] {
			seen[u.User] = true
			creds = append(creds, u)
		}
	}
	errs := make([]error, len(creds))
	var wg sync.WaitGroup
	for i, cred := range creds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = prefillOne(ctx, &cfg, cred, runID)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func prefillOne(ctx context.Context, cfg *imapConfig, cred credential, runID string) error {
	s, err := connectIMAP(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.client.Login(cred.User, cred.Pass).Wait(); err != nil {
		return fmt.Errorf("login %s: %w", cred.User, err)
	}
	data, err := s.client.Select(cfg.Mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("%s: SELECT %s: %w", cred.User, cfg.Mailbox, err)
	}
	for n := int(data.NumMessages); n < cfg.Prefill; n++ {
		msg := fullMessage("prefill@bench.invalid", cred.User, runID+"p", n, cfg.Size, time.Now())
		if err := appendMessage(s.client, cfg.Mailbox, msg); err != nil {
			return fmt.Errorf("%s: %w", cred.User, err)
		}
	}
	return s.client.Logout().Wait()
}

func appendMessage(c *imapclient.Client, mailbox string, msg []byte) error {
	cmd := c.Append(mailbox, int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		cmd.Close()
		return fmt.Errorf("APPEND write: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("APPEND: %w", err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("APPEND: %w", err)
	}
	return nil
}

// imapWorker is one simulated client.
type imapWorker struct {
	cfg      *imapConfig
	cred     credential
	deadline time.Time
	rng      *rand.Rand
	runID    string
	id       int

	sess     *imapSession
	commands int64
	cycles   int64
	appended int
	errs     errorLog
	byKind   map[string]*latencies
}

// errStop ends a cycle because the soft deadline passed.
var errStop = errors.New("duration over")

func (w *imapWorker) run(ctx context.Context) {
	defer w.disconnect(true)
	for ctx.Err() == nil && time.Now().Before(w.deadline) {
		err := w.cycle(ctx)
		if errors.Is(err, errStop) {
			return
		}
		if err == nil {
			w.cycles++
		}
	}
}

// do times one command. A server's NO/BAD (*imap.Error) keeps the session;
// anything else (I/O, protocol breakage) drops it and the next cycle
// reconnects.
func (w *imapWorker) do(kind string, f func() error) error {
	if !time.Now().Before(w.deadline) {
		return errStop
	}
	t0 := time.Now()
	err := f()
	if err != nil {
		w.errs.add(kind, err)
		var imapErr *imap.Error
		if !errors.As(err, &imapErr) {
			w.disconnect(false)
		}
		return err
	}
	l := w.byKind[kind]
	if l == nil {
		l = &latencies{}
		w.byKind[kind] = l
	}
	l.add(time.Since(t0))
	w.commands++
	return nil
}

// cycle is one pass of the workload; the first error ends it.
func (w *imapWorker) cycle(ctx context.Context) error {
	if w.sess == nil {
		if !time.Now().Before(w.deadline) {
			return errStop
		}
		s, err := connectIMAP(ctx, w.cfg)
		if err != nil {
			w.errs.add("connect", err)
			// Do not spin on a refused port: the run is bounded by time.
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			return err
		}
		w.sess = s
		if err := w.do(kindLogin, func() error { return s.client.Login(w.cred.User, w.cred.Pass).Wait() }); err != nil {
			w.disconnect(false)
			return err
		}
	}
	c := w.sess.client

	var exists uint32
	if err := w.do(kindSelect, func() error {
		data, err := c.Select(w.cfg.Mailbox, nil).Wait()
		if err == nil {
			exists = data.NumMessages
		}
		return err
	}); err != nil {
		return err
	}

	if exists > 0 {
		var all imap.SeqSet
		all.AddRange(1, 0) // 1:*
		if err := w.do(kindFetchFlags, func() error {
			return c.Fetch(all, &imap.FetchOptions{Flags: true}).Close()
		}); err != nil {
			return err
		}
	}

	if exists > 0 && w.cfg.FetchBodies > 0 {
		var set imap.SeqSet
		for range w.cfg.FetchBodies {
			set.AddNum(1 + w.rng.Uint32N(exists))
		}
		// An empty answer is not an error: a client sharing the mailbox may
		// have expunged those messages since our SELECT.
		if err := w.do(kindFetchBody, func() error {
			_, err := c.Fetch(set, &imap.FetchOptions{
				BodySection: []*imap.FetchItemBodySection{{Peek: true}},
			}).Collect()
			return err
		}); err != nil {
			return err
		}
	}

	if exists > 0 {
		flag := imap.FlagSeen
		if w.cycles%2 == 1 {
			flag = imap.FlagFlagged
		}
		seq := imap.SeqSetNum(1 + w.rng.Uint32N(exists))
		if err := w.do(kindStore, func() error {
			return c.Store(seq, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{flag}}, nil).Close()
		}); err != nil {
			return err
		}
	}

	w.appended++
	msg := fullMessage("bench@bench.invalid", w.cred.User, w.runID, w.id*1_000_000+w.appended, w.cfg.Size, time.Now())
	if err := w.do(kindAppend, func() error { return appendMessage(c, w.cfg.Mailbox, msg) }); err != nil {
		return err
	}

	// Delete the oldest message once the mailbox is above its target size,
	// so append and expunge balance and the mailbox stays near -prefill.
	keep := uint32(max(w.cfg.Prefill, 1))
	if mbox := c.Mailbox(); mbox != nil && mbox.NumMessages > keep {
		if err := w.do(kindDelete, func() error {
			return c.Store(imap.SeqSetNum(1), &imap.StoreFlags{
				Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted},
			}, nil).Close()
		}); err != nil {
			return err
		}
		if err := w.do(kindExpunge, func() error { return c.Expunge().Close() }); err != nil {
			return err
		}
	}

	if w.cfg.NoopEvery > 0 && w.cycles%int64(w.cfg.NoopEvery) == 0 {
		if err := w.do(kindNoop, func() error { return c.Noop().Wait() }); err != nil {
			return err
		}
	}
	if w.cfg.IdleEvery > 0 && w.cycles%int64(w.cfg.IdleEvery) == int64(w.cfg.IdleEvery)-1 && hasIdle(c) {
		if err := w.do(kindIdle, func() error {
			idle, err := c.Idle()
			if err != nil {
				return err
			}
			if err := idle.Close(); err != nil {
				return err
			}
			return idle.Wait()
		}); err != nil {
			return err
		}
	}

	if w.cfg.Reconnect {
		if err := w.do(kindLogout, func() error { return c.Logout().Wait() }); err != nil {
			return err
		}
		w.disconnect(false)
	}
	return nil
}

func hasIdle(c *imapclient.Client) bool {
	caps := c.Caps()
	return caps.Has(imap.CapIdle) || caps.Has(imap.CapIMAP4rev2)
}

// disconnect closes the session; logout says whether to say LOGOUT first
// (untimed, at the end of the run).
func (w *imapWorker) disconnect(logout bool) {
	if w.sess == nil {
		return
	}
	if logout {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = w.sess.client.Logout().Wait()
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	w.sess.close()
	w.sess = nil
}

func writeIMAPReport(out io.Writer, cfg imapConfig, res *imapResult) {
	mode := "sessions kept open"
	if cfg.Reconnect {
		mode = "reconnect every cycle"
	}
	fmt.Fprintf(out, "bench imap: %s, %d clients, %s, %s, mailbox %s near %d messages\n",
		cfg.Addr, cfg.Concurrency, cfg.Duration, mode, cfg.Mailbox, cfg.Prefill)
	fmt.Fprintf(out, "commands: %d in %.3fs = %.1f commands/s (%d full cycles)\n",
		res.Commands, res.Elapsed.Seconds(), rate(res.Commands, res.Elapsed), res.Cycles)
	res.Errors.write(out)
	writeLatencyTable(out, res.ByKind)
	r := resultLine{tool: "imap"}
	r.set("commands", res.Commands)
	r.set("errors", res.Errors.count)
	r.set("seconds", res.Elapsed)
	r.set("commands_per_s", rate(res.Commands, res.Elapsed))
	r.set("cycles", res.Cycles)
	r.set("reconnect", cfg.Reconnect)
	fmt.Fprintln(out, r.String())
}
