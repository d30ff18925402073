package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// RunnerOptions configure the outbound queue runner.
type RunnerOptions struct {
	// Deliverer stores bounces and owns the store the queue lives in.
	Deliverer *Deliverer
	// Workers is how many messages are delivered at the same time (default 4).
	Workers int
	// Hostname is the EHLO name and the Reporting-MTA of DSNs.
	Hostname string
	// Smarthost is host:port of a relay that takes all outbound mail; ""
	// delivers to each domain's MX.
	Smarthost string
	// SmarthostUsername and SmarthostPassword enable AUTH PLAIN there.
	SmarthostUsername, SmarthostPassword string
	// SmarthostTLS is "starttls" (required, the default), "implicit" or "none".
	SmarthostTLS string
	// TLSConfig is the base client TLS configuration (RootCAs); nil uses the
	// system roots. MX hosts get opportunistic, unverified TLS.
	TLSConfig *tls.Config
	// Resolver looks up MX records (default net.DefaultResolver).
	Resolver MXResolver
	// MXPort is the port of remote MX hosts (default "25"; tests change it).
	MXPort string
	// DelayDSN sends one "delayed" notice when a message is still queued
	// DelayDSNAfter after it was accepted.
	DelayDSN      bool
	DelayDSNAfter time.Duration
	// RetryBase is the wait after the first failed attempt, doubled after
	// each further one up to RetryMax (defaults 5m and 4h).
	RetryBase, RetryMax time.Duration
	// PollInterval is how often the queue is looked at without a signal
	// (default 30s); enqueues on this node wake the runner at once.
	PollInterval time.Duration
	// Lease is how long a claimed message is hidden from other workers
	// and nodes (default 30m); it must outlast an attempt.
	Lease time.Duration
	// ConnectTimeout, CommandTimeout and DataTimeout bound the SMTP client
	// (defaults 30s, 5m, 10m as RFC 5321 §4.5.3.2 suggests).
	ConnectTimeout, CommandTimeout, DataTimeout time.Duration
	Logger                                      *slog.Logger
	Metrics                                     *obs.Metrics
}

// Runner delivers the outbound queue: it claims due messages (several
// nodes may run one against the same PostgreSQL), delivers each to the
// remote servers, records per-recipient outcomes, reschedules temporary
// failures with exponential backoff, and bounces permanent failures and
// expired recipients to the sender.
type Runner struct {
	opts  RunnerOptions
	d     *Deliverer
	store *storage.Store
	log   *slog.Logger
}

// NewRunner checks the options and fills in defaults.
func NewRunner(opts RunnerOptions) (*Runner, error) {
	if opts.Deliverer == nil {
		return nil, errors.New("delivery: runner needs a Deliverer")
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Hostname == "" {
		opts.Hostname = opts.Deliverer.hostname()
	}
	switch opts.SmarthostTLS {
	case "":
		opts.SmarthostTLS = "starttls"
	case "starttls", "implicit", "none":
	default:
		return nil, fmt.Errorf("delivery: smarthost TLS mode %q (want starttls, implicit or none)", opts.SmarthostTLS)
	}
	if opts.Smarthost != "" {
		if _, _, err := net.SplitHostPort(opts.Smarthost); err != nil {
			return nil, fmt.Errorf("delivery: smarthost %q: %w", opts.Smarthost, err)
		}
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.MXPort == "" {
		opts.MXPort = "25"
	}
	if opts.DelayDSNAfter <= 0 {
		opts.DelayDSNAfter = 4 * time.Hour
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 5 * time.Minute
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 4 * time.Hour
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 30 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Minute
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 30 * time.Second
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 5 * time.Minute
	}
	if opts.DataTimeout <= 0 {
		opts.DataTimeout = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = obs.Discard()
	}
	return &Runner{opts: opts, d: opts.Deliverer, store: opts.Deliverer.Store(), log: opts.Logger.With("component", "queue")}, nil
}

// Run delivers until ctx ends, then stops claiming and waits for the
// attempts in flight to finish and be recorded. It returns nil on a clean
// stop.
func (r *Runner) Run(ctx context.Context) error {
	work := make(chan storage.QueueMessage)
	var wg sync.WaitGroup
	idle := make(chan struct{}, r.opts.Workers)
	for range r.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				func() {
					// A panic costs this attempt (the lease brings the
					// message back), never the worker.
					defer r.opts.Metrics.Recover(r.log, "queue")
					// An attempt under way is not cut at shutdown: cutting
					// it after the remote server took the data but before
					// its 250 arrived would send the message twice. Its
					// own timeouts bound it; serve's grace bounds the wait.
					r.attempt(context.WithoutCancel(ctx), &m)
				}()
				idle <- struct{}{}
			}
		}()
	}
	free := r.opts.Workers
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer func() {
		close(work)
		wg.Wait()
	}()
	for {
		// Claim only as many messages as there are free workers, so a
		// message never waits leased behind another.
		if free > 0 {
			ms, err := r.store.ClaimQueue(ctx, free, r.opts.Lease)
			if err != nil && ctx.Err() == nil {
				r.log.Error("claiming queue work", "err", err)
			}
			for _, m := range ms {
				select {
				case work <- m:
					free--
				case <-ctx.Done():
					return nil
				}
			}
			if len(ms) > 0 && free > 0 {
				continue // more may be due
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(r.opts.PollInterval)
		select {
		case <-ctx.Done():
			return nil
		case <-idle:
			free++
		case <-r.store.QueueSignal():
		case <-timer.C:
		}
	}
}

// RunOnce delivers every message that is due now, one after the other,
// and returns how many it attempted (tests, `pochta queue run`).
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	n := 0
	for {
		ms, err := r.store.ClaimQueue(ctx, 1, r.opts.Lease)
		if err != nil {
			return n, err
		}
		if len(ms) == 0 {
			return n, nil
		}
		r.attempt(ctx, &ms[0])
		n++
	}
}

// attempt delivers one claimed message to its pending recipients and
// records the outcome.
func (r *Runner) attempt(ctx context.Context, m *storage.QueueMessage) {
	log := r.log.With("queue_id", m.ID, "message_id", m.MessageID)
	if len(m.Recipients) == 0 {
		r.finish(ctx, log, m, nil, nil)
		return
	}
	raw, err := r.store.ReadBlob(ctx, m.BlobHash)
	if err != nil {
		log.Error("reading queued message", "err", err)
		// Leave it leased; it comes back after the lease.
		return
	}
	data := StripReturnPath(raw)
	// Group recipients by destination: one session per domain, or one
	// for everything through a smarthost.
	groups := map[string][]int{}
	var order []string
	for i, q := range m.Recipients {
		key := ""
		if r.opts.Smarthost == "" {
			_, key, _ = SplitAddress(q.Address)
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	results := make([]rcptResult, len(m.Recipients))
	for _, key := range order {
		idx := groups[key]
		rcpts := make([]storage.QueueRecipient, len(idx))
		for j, i := range idx {
			rcpts[j] = m.Recipients[i]
		}
		var res []rcptResult
		if key == "" && r.opts.Smarthost == "" {
			res = make([]rcptResult, len(rcpts))
			for j := range res {
				res[j] = rcptResult{state: storage.RcptFailed, code: 550, status: "5.1.3", text: "550 5.1.3 Bad recipient address syntax"}
			}
		} else {
			res = r.deliverGroup(ctx, m, rcpts, key, data)
		}
		for j, i := range idx {
			results[i] = res[j]
		}
	}
	// Record the outcome even when shutting down: a delivery that went
	// through must not be made again when the lease runs out, and a
	// cut-off one is simply deferred.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	r.finish(fctx, log, m, results, raw)
}

// finish records an attempt: per-recipient states, the next attempt time,
// and — in the same transaction — a DSN for what the sender must hear about.
func (r *Runner) finish(ctx context.Context, log *slog.Logger, m *storage.QueueMessage, results []rcptResult, raw []byte) {
	now := time.Now()
	expired := now.After(m.ExpiresAt)
	var (
		rr       []storage.RecipientResult
		notices  []DSNRecipient
		lastErr  string
		pending  int
		delayDSN bool
	)
	for i, q := range m.Recipients {
		res := results[i]
		if res.state == storage.RcptPending && expired {
			res.state = storage.RcptExpired
			if statusClass(res.status) == 4 {
				res.status = "5" + res.status[1:]
			}
		}
		notify := SplitNotify(q.Notify)
		n := DSNRecipient{OriginalRecipient: q.ORcpt, FinalRecipient: q.Address, Status: res.status, RemoteMTA: res.remoteMTA, Diagnostic: res.text, LastAttempt: now}
		switch res.state {
		case storage.RcptDelivered:
			r.opts.Metrics.Delivered(obs.DeliveryDelivered)
			// RFC 3461 §5.2.2: a server that took the DSN parameters reports
			// success itself; otherwise we say "relayed".
			if !res.dsnPassed && NotifyWanted(notify, NotifySuccess) {
				n.Action = ActionRelayed
				notices = append(notices, n)
			}
		case storage.RcptFailed, storage.RcptExpired:
			r.opts.Metrics.Delivered(obs.DeliveryFailed)
			if NotifyWanted(notify, NotifyFailure) {
				n.Action = ActionFailed
				if res.state == storage.RcptExpired && n.Diagnostic == "" {
					n.Diagnostic = "message expired in the queue"
				}
				notices = append(notices, n)
			}
		default:
			r.opts.Metrics.Delivered(obs.DeliveryDeferred)
			pending++
			lastErr = res.text
			if r.opts.DelayDSN && !m.DelayNotified && now.Sub(m.CreatedAt) >= r.opts.DelayDSNAfter && NotifyWanted(notify, NotifyDelay) {
				n.Action, n.WillRetryUntil = ActionDelayed, m.ExpiresAt
				notices = append(notices, n)
				delayDSN = true
			}
		}
		rr = append(rr, storage.RecipientResult{RecipientID: q.ID, State: res.state, Code: res.code, Error: res.text})
		log.Info("delivery attempt", "rcpt", q.Address, "state", res.state, "reply", res.text)
	}
	next := now.Add(backoff(m.Attempts+1, r.opts.RetryBase, r.opts.RetryMax))
	if next.After(m.ExpiresAt) && pending > 0 {
		// One last try at the end of the lifetime, then the bounce.
		next = m.ExpiresAt.Add(time.Second)
	}
	record := func(tx *storage.Tx) error {
		if delayDSN {
			if err := tx.MarkDelayNotified(m.ID); err != nil {
				return err
			}
		}
		var logs []storage.DeliveryLog
		for i, res := range rr {
			outcome := map[string]string{storage.RcptDelivered: "relayed", storage.RcptFailed: "bounced", storage.RcptExpired: "bounced", storage.RcptPending: "deferred"}[res.State]
			logs = append(logs, storage.DeliveryLog{MessageID: m.MessageID, Sender: m.Sender, Recipient: m.Recipients[i].Address, Outcome: outcome, Detail: res.Error, AccountID: m.AccountID})
		}
		if err := tx.LogDelivery(logs...); err != nil {
			return err
		}
		_, err := tx.FinishAttempt(m.ID, rr, next, lastErr)
		return err
	}
	// RFC 5321 §4.5.5: a message with the null sender is never bounced.
	if len(notices) > 0 && m.Sender != "" {
		dsn := &DSN{ReportingMTA: r.opts.Hostname, To: m.Sender, EnvID: m.EnvID, ArrivalDate: m.CreatedAt, Recipients: notices, Original: raw, Full: r.d.returnFull(m.Ret)}
		err := r.d.SendDSN(ctx, dsn, record)
		switch {
		case err == nil, errors.Is(err, ErrNoBounceRoute):
			return
		default:
			// The notice cannot be made now (directory down): record the
			// deliveries, keep the failed recipients pending so the
			// failure — and its notice — come round again.
			log.Warn("cannot send delivery status notification yet", "to", m.Sender, "err", err)
			for i := range rr {
				if rr[i].State == storage.RcptFailed || rr[i].State == storage.RcptExpired {
					rr[i].State = storage.RcptPending
				}
			}
			delayDSN = false
		}
	}
	if err := r.store.Write(ctx, record); err != nil {
		log.Error("recording delivery attempt", "err", err)
	}
}
