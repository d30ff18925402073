package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpConfig is what `pochta bench smtp` was asked to do.
type smtpConfig struct {
	Addr        string
	N           int
	Concurrency int
	Size        int
	From        string
	To          []string
	LMTP        bool
	StartTLS    bool
	TLS         bool
	Auth        *credential
	Insecure    bool
	Timeout     time.Duration

	// Delivered-rate measurement: poll the recipient's INBOX over IMAP.
	WaitIMAP     string
	WaitCred     credential
	WaitTimeout  time.Duration
	WaitInterval time.Duration
}

// smtpResult is what one run measured.
type smtpResult struct {
	Sent     int64 // transactions attempted
	Accepted int64 // transactions the server answered 250 to
	Errors   errorLog
	Elapsed  time.Duration
	Latency  summary // per accepted transaction, MAIL FROM to final reply

	WaitedForDelivery bool
	Delivered         int64         // messages that appeared in the INBOX
	DeliveredElapsed  time.Duration // from the first MAIL FROM to the last arrival seen
	DeliveryErr       error
}

const smtpSummary = `Sends N messages of about -size bytes over -c reused connections (SMTP or LMTP)
and prints the accepted rate and latency percentiles. With -wait-imap it then polls
the recipient's INBOX (IMAP STATUS) until every accepted message has arrived and
prints the delivered rate (messages/s until all are in the INBOX).`

// RunSMTP is `pochta bench smtp`.
func RunSMTP(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseSMTPFlags(args, stdout)
	if err != nil {
		return err
	}
	res, err := runSMTP(ctx, cfg)
	if err != nil {
		return err
	}
	writeSMTPReport(stdout, cfg, res)
	if res.Accepted < res.Sent {
		return fmt.Errorf("bench smtp: %d of %d messages not accepted", res.Sent-res.Accepted, res.Sent)
	}
	if res.DeliveryErr != nil {
		return fmt.Errorf("bench smtp: %w", res.DeliveryErr)
	}
	return nil
}

func parseSMTPFlags(args []string, out io.Writer) (smtpConfig, error) {
	fs := newFlagSet("smtp", smtpSummary, out)
	var cfg smtpConfig
	var to, auth string
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:2525", "server `host:port`")
	fs.IntVar(&cfg.N, "n", 1000, "number of messages to send")
	fs.IntVar(&cfg.Concurrency, "c", 10, "concurrent connections (each reused for many messages)")
	fs.IntVar(&cfg.Size, "size", 4096, "message size in bytes, header included")
	fs.StringVar(&cfg.From, "from", "sender@example.com", "envelope sender")
	fs.StringVar(&to, "to", "bench@example.com", "envelope recipient(s), comma separated")
	fs.BoolVar(&cfg.LMTP, "lmtp", false, "speak LMTP (RFC 2033) instead of SMTP")
	fs.BoolVar(&cfg.StartTLS, "starttls", false, "upgrade each connection with STARTTLS")
	fs.BoolVar(&cfg.TLS, "tls", false, "implicit TLS (submissions port)")
	fs.StringVar(&auth, "auth", "", "authenticate with AUTH PLAIN as `user:pass`")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "do not verify the server's TLS certificate")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "give up the whole run after this long")
	fs.StringVar(&cfg.WaitIMAP, "wait-imap", "", "IMAP `host:port` to poll for delivery of the messages")
	fs.StringVar(&cfg.WaitCred.User, "wait-user", "", "IMAP login of the recipient for -wait-imap")
	fs.StringVar(&cfg.WaitCred.Pass, "wait-pass", "", "IMAP password for -wait-imap")
	fs.DurationVar(&cfg.WaitTimeout, "wait-timeout", 3*time.Minute, "how long to wait for delivery after sending")
	fs.DurationVar(&cfg.WaitInterval, "wait-interval", 100*time.Millisecond, "INBOX poll interval")
	if err := parseFlags(fs, args); err != nil {
		return cfg, err
	}
	for _, r := range strings.Split(to, ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.To = append(cfg.To, r)
		}
	}
	if auth != "" {
		c, err := parseCredential(auth)
		if err != nil {
			return cfg, fmt.Errorf("bench smtp: -auth: %w", err)
		}
		cfg.Auth = &c
	}
	switch {
	case cfg.N < 1:
		return cfg, errors.New("bench smtp: -n must be at least 1")
	case cfg.Concurrency < 1:
		return cfg, errors.New("bench smtp: -c must be at least 1")
	case cfg.Size < 256:
		return cfg, errors.New("bench smtp: -size must be at least 256")
	case len(cfg.To) == 0:
		return cfg, errors.New("bench smtp: -to is empty")
	case cfg.StartTLS && cfg.TLS:
		return cfg, errors.New("bench smtp: -starttls and -tls exclude each other")
	case cfg.LMTP && cfg.StartTLS:
		return cfg, errors.New("bench smtp: -starttls is not supported with -lmtp")
	case cfg.WaitIMAP != "" && cfg.WaitCred.User == "":
		return cfg, errors.New("bench smtp: -wait-imap needs -wait-user and -wait-pass")
	}
	if cfg.Concurrency > cfg.N {
		cfg.Concurrency = cfg.N
	}
	return cfg, nil
}

// runSMTP sends cfg.N messages and, if asked, waits for their delivery.
func runSMTP(ctx context.Context, cfg smtpConfig) (*smtpResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	// The INBOX count before sending is the baseline, so a mailbox that was
	// not empty does not fake an instant delivery.
	var watcher *inboxWatcher
	if cfg.WaitIMAP != "" {
		w, err := newInboxWatcher(ctx, cfg.WaitIMAP, cfg.WaitCred)
		if err != nil {
			return nil, fmt.Errorf("bench smtp: -wait-imap: %w", err)
		}
		defer w.close()
		watcher = w
	}
	var base uint32
	if watcher != nil {
		n, err := watcher.count()
		if err != nil {
			return nil, fmt.Errorf("bench smtp: -wait-imap: %w", err)
		}
		base = n
	}

	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	var next atomic.Int64 // index of the next message to send
	workers := make([]*smtpWorker, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &smtpWorker{cfg: &cfg, runID: runID}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, &next)
		}()
	}
	wg.Wait()
	res := &smtpResult{Elapsed: time.Since(start)}

	var lat latencies
	for _, w := range workers {
		res.Sent += w.sent
		res.Accepted += w.accepted
		res.Errors.merge(&w.errs)
		lat.merge(&w.lat)
	}
	res.Latency = lat.summarize()

	if watcher != nil && res.Accepted > 0 {
		res.WaitedForDelivery = true
		// One copy per accepted message is expected in the watched INBOX,
		// whatever the other recipients are.
		target := base + uint32(res.Accepted)
		waitCtx, waitCancel := context.WithTimeout(ctx, cfg.WaitTimeout)
		n, at, err := watcher.waitFor(waitCtx, target, cfg.WaitInterval)
		waitCancel()
		res.Delivered = int64(n) - int64(base)
		res.DeliveredElapsed = at.Sub(start)
		res.DeliveryErr = err
	}
	return res, nil
}

// smtpWorker owns one connection at a time and sends messages on it until
// the shared counter passes N.
type smtpWorker struct {
	cfg   *smtpConfig
	runID string

	client   *smtp.Client
	release  func()
	sent     int64
	accepted int64
	errs     errorLog
	lat      latencies
}

func (w *smtpWorker) run(ctx context.Context, next *atomic.Int64) {
	defer w.drop(true)
	for {
		seq := next.Add(1)
		if seq > int64(w.cfg.N) || ctx.Err() != nil {
			return
		}
		w.sent++
		if w.client == nil {
			if err := w.connect(ctx); err != nil {
				w.errs.add("connect", err)
				continue
			}
		}
		msg := fullMessage(w.cfg.From, w.cfg.To[0], w.runID, int(seq), w.cfg.Size, time.Now())
		t0 := time.Now()
		err := w.send(msg)
		if err == nil {
			w.lat.add(time.Since(t0))
			w.accepted++
			continue
		}
		w.errs.add("send", err)
		var smtpErr *smtp.SMTPError
		if errors.As(err, &smtpErr) {
			// A protocol refusal leaves the session usable: abort the
			// transaction and go on (RFC 5321 §4.1.1.5).
			if rerr := w.client.Reset(); rerr == nil {
				continue
			}
		}
		w.drop(false)
	}
}

func (w *smtpWorker) connect(ctx context.Context) error {
	conn, release, err := dial(ctx, w.cfg.Addr, w.cfg.TLS, w.cfg.Insecure, 30*time.Second)
	if err != nil {
		return err
	}
	var c *smtp.Client
	switch {
	case w.cfg.LMTP:
		c = smtp.NewClientLMTP(conn)
	case w.cfg.StartTLS:
		c, err = smtp.NewClientStartTLS(conn, tlsConfigFor(w.cfg.Addr, w.cfg.Insecure))
		if err != nil {
			release()
			conn.Close()
			return fmt.Errorf("starttls: %w", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = time.Minute
	c.SubmissionTimeout = 2 * time.Minute
	// Greeting and EHLO/LHLO now, so a refused session counts as a connect
	// error rather than as a failed message.
	if err := c.Hello("bench.localhost"); err != nil {
		release()
		c.Close()
		return fmt.Errorf("hello: %w", err)
	}
	if w.cfg.Auth != nil {
		if err := c.Auth(sasl.NewPlainClient("", w.cfg.Auth.User, w.cfg.Auth.Pass)); err != nil {
			release()
			c.Close()
			return fmt.Errorf("auth: %w", err)
		}
	}
	w.client, w.release = c, release
	return nil
}

// send runs one MAIL/RCPT/DATA transaction.
func (w *smtpWorker) send(msg []byte) error {
	c := w.client
	if err := c.Mail(w.cfg.From, nil); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, rcpt := range w.cfg.To {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return fmt.Errorf("RCPT TO <%s>: %w", rcpt, err)
		}
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := wc.Write(msg); err != nil {
		wc.Close()
		return fmt.Errorf("DATA write: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return nil
}

// drop ends the current connection; quit says whether to say QUIT first.
func (w *smtpWorker) drop(quit bool) {
	if w.client == nil {
		return
	}
	if quit {
		if err := w.client.Quit(); err != nil {
			w.client.Close()
		}
	} else {
		w.client.Close()
	}
	w.release()
	w.client, w.release = nil, nil
}

func writeSMTPReport(out io.Writer, cfg smtpConfig, res *smtpResult) {
	proto := "smtp"
	if cfg.LMTP {
		proto = "lmtp"
	}
	fmt.Fprintf(out, "bench smtp: %s %s, %d messages of %d bytes, %d connections, to %s\n",
		proto, cfg.Addr, cfg.N, cfg.Size, cfg.Concurrency, strings.Join(cfg.To, ","))
	fmt.Fprintf(out, "accepted: %d of %d in %.3fs = %.1f msg/s\n",
		res.Accepted, res.Sent, res.Elapsed.Seconds(), rate(res.Accepted, res.Elapsed))
	fmt.Fprintf(out, "latency per message (ms): p50 %s  p95 %s  p99 %s  max %s\n",
		ms(res.Latency.P50), ms(res.Latency.P95), ms(res.Latency.P99), ms(res.Latency.Max))
	res.Errors.write(out)
	if res.WaitedForDelivery {
		fmt.Fprintf(out, "delivered: %d in INBOX after %.3fs = %.1f msg/s",
			res.Delivered, res.DeliveredElapsed.Seconds(), rate(res.Delivered, res.DeliveredElapsed))
		if res.DeliveryErr != nil {
			fmt.Fprintf(out, " (incomplete: %v)", res.DeliveryErr)
		}
		fmt.Fprintln(out)
	}
	r := resultLine{tool: "smtp"}
	r.set("sent", res.Sent)
	r.set("accepted", res.Accepted)
	r.set("errors", res.Errors.count)
	r.set("seconds", res.Elapsed)
	r.set("accepted_per_s", rate(res.Accepted, res.Elapsed))
	r.set("p50_ms", ms(res.Latency.P50))
	r.set("p95_ms", ms(res.Latency.P95))
	r.set("p99_ms", ms(res.Latency.P99))
	if res.WaitedForDelivery {
		r.set("delivered", res.Delivered)
		r.set("delivered_seconds", res.DeliveredElapsed)
		r.set("delivered_per_s", rate(res.Delivered, res.DeliveredElapsed))
	}
	fmt.Fprintln(out, r.String())
}

// inboxWatcher keeps one IMAP session open to count the INBOX with STATUS
// (RFC 9051 §6.3.11), which does not need the mailbox selected.
type inboxWatcher struct {
	client  *imapclient.Client
	release func()
}

func newInboxWatcher(ctx context.Context, addr string, cred credential) (*inboxWatcher, error) {
	conn, release, err := dial(ctx, addr, false, false, 30*time.Second)
	if err != nil {
		return nil, err
	}
	c := imapclient.New(conn, nil)
	if err := c.Login(cred.User, cred.Pass).Wait(); err != nil {
		c.Close()
		release()
		return nil, fmt.Errorf("login %s: %w", cred.User, err)
	}
	return &inboxWatcher{client: c, release: release}, nil
}

func (w *inboxWatcher) count() (uint32, error) {
	data, err := w.client.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("STATUS INBOX: %w", err)
	}
	if data.NumMessages == nil {
		return 0, errors.New("STATUS INBOX: no MESSAGES in the answer")
	}
	return *data.NumMessages, nil
}

// waitFor polls until the INBOX holds at least target messages. It returns
// the last count and the time it was seen.
func (w *inboxWatcher) waitFor(ctx context.Context, target uint32, interval time.Duration) (uint32, time.Time, error) {
	var last uint32
	lastAt := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		n, err := w.count()
		if err != nil {
			return last, lastAt, err
		}
		if n != last {
			last, lastAt = n, time.Now()
		}
		if n >= target {
			return n, lastAt, nil
		}
		select {
		case <-ctx.Done():
			return last, lastAt, fmt.Errorf("waiting for delivery: %d of %d in INBOX: %w", last, target, ctx.Err())
		case <-tick.C:
		}
	}
}

func (w *inboxWatcher) close() {
	// LOGOUT is a courtesy; the connection is closed either way.
	_ = w.client.Logout().Wait()
	w.client.Close()
	w.release()
}
