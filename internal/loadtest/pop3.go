package loadtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// pop3Config is what `pochta bench pop3` was asked to do.
type pop3Config struct {
	Addr        string
	Cred        credential
	Concurrency int
	TLS         bool
	StartTLS    bool
	Insecure    bool
	Max         int
	Timeout     time.Duration
}

// pop3Result is what one run measured.
type pop3Result struct {
	Sessions int64 // sessions that logged in
	Messages int64 // messages retrieved completely
	Bytes    int64
	Errors   errorLog
	Elapsed  time.Duration
	Retr     summary
	Login    summary
}

const pop3Summary = `Opens -c POP3 sessions to the same maildrop; each logs in (USER/PASS), reads STAT,
RETRs every message (or the first -max) and QUITs without deleting anything.
Prints messages/s and bytes/s over the whole run (connect to QUIT), and RETR
latency percentiles. Fill the maildrop first, e.g. with "pochta bench smtp".`

// RunPOP3 is `pochta bench pop3`.
func RunPOP3(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parsePOP3Flags(args, stdout)
	if err != nil {
		return err
	}
	res, err := runPOP3(ctx, cfg)
	if err != nil {
		return err
	}
	writePOP3Report(stdout, cfg, res)
	if res.Sessions == 0 {
		return fmt.Errorf("bench pop3: no session logged in")
	}
	return nil
}

func parsePOP3Flags(args []string, out io.Writer) (pop3Config, error) {
	fs := newFlagSet("pop3", pop3Summary, out)
	var cfg pop3Config
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:1110", "server `host:port`")
	fs.StringVar(&cfg.Cred.User, "user", "", "login")
	fs.StringVar(&cfg.Cred.Pass, "pass", "", "password")
	fs.IntVar(&cfg.Concurrency, "c", 1, "concurrent sessions, each reading the whole maildrop")
	fs.BoolVar(&cfg.TLS, "tls", false, "implicit TLS (POP3S)")
	fs.BoolVar(&cfg.StartTLS, "starttls", false, "upgrade with STLS (RFC 2595)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "do not verify the server's TLS certificate")
	fs.IntVar(&cfg.Max, "max", 0, "RETR at most this many messages per session (0: all)")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "give up the whole run after this long")
	if err := parseFlags(fs, args); err != nil {
		return cfg, err
	}
	switch {
	case cfg.Cred.User == "":
		return cfg, errors.New("bench pop3: -user is required")
	case cfg.Concurrency < 1:
		return cfg, errors.New("bench pop3: -c must be at least 1")
	case cfg.Max < 0:
		return cfg, errors.New("bench pop3: -max must not be negative")
	case cfg.TLS && cfg.StartTLS:
		return cfg, errors.New("bench pop3: -tls and -starttls exclude each other")
	}
	return cfg, nil
}

func runPOP3(ctx context.Context, cfg pop3Config) (*pop3Result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	workers := make([]*pop3Worker, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &pop3Worker{cfg: &cfg}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(ctx); err != nil {
				w.errs.add("session", err)
			}
		}()
	}
	wg.Wait()
	res := &pop3Result{Elapsed: time.Since(start)}
	var retr, login latencies
	for _, w := range workers {
		if w.loggedIn {
			res.Sessions++
		}
		res.Messages += w.messages
		res.Bytes += w.bytes
		res.Errors.merge(&w.errs)
		retr.merge(&w.retr)
		login.merge(&w.login)
	}
	res.Retr = retr.summarize()
	res.Login = login.summarize()
	return res, nil
}

type pop3Worker struct {
	cfg *pop3Config

	loggedIn bool
	messages int64
	bytes    int64
	errs     errorLog
	retr     latencies
	login    latencies
}

// run is one session: greeting, (STLS), USER/PASS, STAT, RETR 1..n, QUIT.
func (w *pop3Worker) run(ctx context.Context) error {
	t0 := time.Now()
	conn, release, err := dial(ctx, w.cfg.Addr, w.cfg.TLS, w.cfg.Insecure, 30*time.Second)
	if err != nil {
		return err
	}
	defer release()
	defer conn.Close()
	c := newPOP3Client(conn, time.Minute)
	if _, err := c.greeting(); err != nil {
		return err
	}
	if w.cfg.StartTLS {
		// RFC 2595 §4: after +OK to STLS the TLS handshake starts at once.
		if _, err := c.cmd("STLS"); err != nil {
			return err
		}
		tc := tls.Client(conn, tlsConfigFor(w.cfg.Addr, w.cfg.Insecure))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("STLS handshake: %w", err)
		}
		c = newPOP3Client(tc, time.Minute)
	}
	if _, err := c.cmd("USER " + w.cfg.Cred.User); err != nil {
		return err
	}
	if _, err := c.cmd("PASS " + w.cfg.Cred.Pass); err != nil {
		return err
	}
	w.loggedIn = true
	w.login.add(time.Since(t0))
	count, _, err := c.stat()
	if err != nil {
		return err
	}
	if w.cfg.Max > 0 && count > w.cfg.Max {
		count = w.cfg.Max
	}
	for num := 1; num <= count; num++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r0 := time.Now()
		n, err := c.retr(num, io.Discard)
		if err != nil {
			var perr *pop3Error
			if errors.As(err, &perr) {
				w.errs.add("RETR", err) // refused, e.g. deleted meanwhile; go on
				continue
			}
			return err
		}
		w.retr.add(time.Since(r0))
		w.messages++
		w.bytes += n
	}
	if _, err := c.cmd("QUIT"); err != nil {
		return err
	}
	return nil
}

func writePOP3Report(out io.Writer, cfg pop3Config, res *pop3Result) {
	fmt.Fprintf(out, "bench pop3: %s as %s, %d sessions\n", cfg.Addr, cfg.Cred.User, cfg.Concurrency)
	fmt.Fprintf(out, "retrieved: %d messages, %d bytes in %.3fs = %.1f msg/s, %.2f MB/s (%d sessions logged in)\n",
		res.Messages, res.Bytes, res.Elapsed.Seconds(), rate(res.Messages, res.Elapsed),
		rate(res.Bytes, res.Elapsed)/1e6, res.Sessions)
	fmt.Fprintf(out, "login (connect to PASS ok, ms): p50 %s  max %s\n", ms(res.Login.P50), ms(res.Login.Max))
	fmt.Fprintf(out, "RETR latency (ms): p50 %s  p95 %s  p99 %s  max %s\n",
		ms(res.Retr.P50), ms(res.Retr.P95), ms(res.Retr.P99), ms(res.Retr.Max))
	res.Errors.write(out)
	r := resultLine{tool: "pop3"}
	r.set("sessions", res.Sessions)
	r.set("messages", res.Messages)
	r.set("bytes", res.Bytes)
	r.set("errors", res.Errors.count)
	r.set("seconds", res.Elapsed)
	r.set("messages_per_s", rate(res.Messages, res.Elapsed))
	r.set("bytes_per_s", rate(res.Bytes, res.Elapsed))
	r.set("retr_p50_ms", ms(res.Retr.P50))
	r.set("retr_p99_ms", ms(res.Retr.P99))
	fmt.Fprintln(out, r.String())
}
