package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// RFC 3461 NOTIFY values.
const (
	NotifyNever   = "NEVER"
	NotifySuccess = "SUCCESS"
	NotifyFailure = "FAILURE"
	NotifyDelay   = "DELAY"
)

// Recipient is one envelope recipient with its RFC 3461 options.
type Recipient struct {
	Address string
	// Notify holds the NOTIFY values (upper-case); empty means the default,
	// which is FAILURE (and DELAY at our discretion, RFC 3461 §4.1).
	Notify []string
	// ORcpt is the ORCPT parameter as "type;address", decoded; "" if none.
	ORcpt string
	// Route, when set, is the resolution done earlier (SMTP resolves at
	// RCPT time); Send resolves recipients without one.
	Route *Route
}

// Wants tells whether the recipient asked for a notification of kind
// (NotifySuccess, NotifyFailure or NotifyDelay).
func (r Recipient) Wants(kind string) bool { return NotifyWanted(r.Notify, kind) }

// NotifyWanted applies the RFC 3461 §4.1 defaults to a NOTIFY list.
func NotifyWanted(notify []string, kind string) bool {
	if len(notify) == 0 {
		return kind == NotifyFailure || kind == NotifyDelay
	}
	for _, n := range notify {
		if strings.EqualFold(n, NotifyNever) {
			return false
		}
	}
	for _, n := range notify {
		if strings.EqualFold(n, kind) {
			return true
		}
	}
	return false
}

// Outgoing is one message to deliver: what every door hands to Send.
type Outgoing struct {
	// Sender is the envelope sender; "" is the null sender (bounces), which
	// never receives a notification.
	Sender     string
	Recipients []Recipient
	// EnvID and Ret are RFC 3461 ENVID and RET ("FULL", "HDRS" or "").
	EnvID, Ret string
	// Raw is the complete message as stored, trace fields included.
	Raw []byte
	// Parsed may be passed when the caller already parsed Raw.
	Parsed *message.Parsed
	// AccountID is the authenticated submitter (0 for mail from outside).
	AccountID int64
	// SentCopy stores a copy in the submitter's Sent Items (marked seen).
	SentCopy bool
	// ArrivedAt is when the message came in (Arrival-Date of DSNs).
	ArrivedAt time.Time
}

// Outcomes of one recipient.
const (
	OutcomeDelivered = "delivered" // stored in a local mailbox
	OutcomeQueued    = "queued"    // in the outbound queue
	OutcomeFailed    = "failed"    // not delivered; see Status
)

// RecipientOutcome is what happened for one final recipient.
type RecipientOutcome struct {
	// Address is the final recipient: the envelope recipient, or the member
	// of a group it expanded to.
	Address string
	// Original is the envelope recipient it came from (a group address for
	// an expanded member).
	Original  string
	AccountID int64
	Outcome   string
	// Status is the enhanced status code of a failure ("5.1.1").
	Status     string
	Diagnostic string
	// Quota marks a failure because the mailbox is full.
	Quota bool
}

// SendResult is the outcome of Send.
type SendResult struct {
	Recipients []RecipientOutcome
	Delivered  int
	Queued     int
	Failed     int
	QueueID    int64
	// Bounced tells whether a notification about failures (or requested
	// successes) was sent to the sender.
	Bounced bool
}

// AllFailed tells whether no recipient got the message. Send stores nothing
// and bounces nothing then (bar a Sent Items copy when a quota check failed
// at commit time): the caller reports the failure to its client.
func (r *SendResult) AllFailed() bool { return r.Delivered == 0 && r.Queued == 0 && r.Failed > 0 }

// QuotaOnly tells whether every failure is a full mailbox.
func (r *SendResult) QuotaOnly() bool {
	for _, o := range r.Recipients {
		if o.Outcome == OutcomeFailed && !o.Quota {
			return false
		}
	}
	return r.Failed > 0
}

// Send delivers a message: it resolves the recipients it was not given
// routes for, stores one copy per local account (and the Sent Items copy)
// and queues the remote recipients, all in one transaction, then sends the
// sender a DSN (RFC 3464) for recipients that failed after acceptance and
// those that asked for success notices. It returns after the commit.
//
// A directory or store that cannot answer gives an error (temporary: the
// caller answers 4xx). Unknown local recipients are failures in the result.
func (d *Deliverer) Send(ctx context.Context, m *Outgoing) (*SendResult, error) {
	if m.ArrivedAt.IsZero() {
		m.ArrivedAt = time.Now()
	}
	res := &SendResult{}
	type owner struct {
		rcpt     int // index in m.Recipients
		original string
	}
	var (
		targets    []Target
		targetOwn  [][]owner // per target: which recipients it stands for
		byAccount  = map[int64]int{}
		remote     []storage.NewQueueRecipient
		remoteSeen = map[string]bool{}
		failedPre  []RecipientOutcome
		failedRcpt = map[int]bool{}
	)
	for i := range m.Recipients {
		rc := &m.Recipients[i]
		rt := rc.Route
		if rt == nil {
			var err error
			if rt, err = d.Route(ctx, rc.Address); err != nil {
				if errors.Is(err, directory.ErrInvalid) {
					failedPre = append(failedPre, RecipientOutcome{Address: rc.Address, Original: rc.Address, Outcome: OutcomeFailed, Status: "5.1.3", Diagnostic: "550 5.1.3 Bad recipient address syntax"})
					failedRcpt[i] = true
					continue
				}
				return nil, err
			}
			rc.Route = rt
		}
		switch rt.Kind {
		case RouteUnknown:
			st, diag := "5.1.1", "550 5.1.1 No such user here"
			if rt.Disabled {
				st, diag = "5.2.1", "550 5.2.1 Mailbox disabled"
			}
			failedPre = append(failedPre, RecipientOutcome{Address: rt.Address, Original: rc.Address, Outcome: OutcomeFailed, Status: st, Diagnostic: diag})
			failedRcpt[i] = true
		case RouteRemote:
			if !remoteSeen[rt.Address] {
				remoteSeen[rt.Address] = true
				remote = append(remote, storage.NewQueueRecipient{Address: rt.Address, ORcpt: rc.ORcpt, Notify: strings.Join(rc.Notify, ",")})
			}
		case RouteLocal:
			for _, a := range rt.Accounts {
				if ti, ok := byAccount[a.ID]; ok {
					targetOwn[ti] = append(targetOwn[ti], owner{i, rc.Address})
					continue
				}
				byAccount[a.ID] = len(targets)
				targets = append(targets, Target{AccountID: a.ID, Recipient: a.Address})
				targetOwn = append(targetOwn, []owner{{i, rc.Address}})
			}
			for _, ext := range rt.External {
				ext = directory.NormalizeAddress(ext)
				if remoteSeen[ext] {
					continue
				}
				remoteSeen[ext] = true
				orcpt := rc.ORcpt
				if orcpt == "" {
					orcpt = "rfc822;" + rt.Address
				}
				remote = append(remote, storage.NewQueueRecipient{Address: ext, ORcpt: orcpt, Notify: strings.Join(rc.Notify, ",")})
			}
		}
	}
	nLocal := len(targets)
	if nLocal == 0 && len(remote) == 0 {
		// Either every recipient failed, or only empty groups were named
		// (accepted and delivered to nobody).
		res.Recipients = failedPre
		res.Failed = len(failedPre)
		return res, nil
	}
	in := &Ingest{Raw: m.Raw, Parsed: m.Parsed, Targets: targets, Sender: m.Sender, InternalDate: m.ArrivedAt}
	if m.SentCopy && m.AccountID != 0 {
		in.Targets = append(in.Targets, Target{AccountID: m.AccountID, FolderRole: storage.RoleSent, Flags: storage.FlagSeen, IgnoreQuota: true})
	}
	if len(remote) > 0 {
		in.Remote = &storage.NewQueueMessage{Sender: m.Sender, AccountID: m.AccountID, EnvID: m.EnvID, Ret: m.Ret, Recipients: remote}
	}
	if in.Parsed == nil {
		in.Parsed = message.Parse(m.Raw)
	}
	ir, err := d.Ingest(ctx, in)
	if err != nil {
		return nil, err
	}
	res.QueueID = ir.QueueID
	var notices []DSNRecipient
	for ti := 0; ti < nLocal; ti++ {
		tr := ir.Targets[ti]
		for _, ow := range targetOwn[ti] {
			rc := m.Recipients[ow.rcpt]
			o := RecipientOutcome{Address: tr.Target.Recipient, Original: ow.original, AccountID: tr.Target.AccountID, Outcome: OutcomeDelivered}
			if tr.Err != nil {
				o.Outcome, o.Quota, o.Status, o.Diagnostic = OutcomeFailed, true, "5.2.2", "552 5.2.2 Mailbox full"
			}
			res.Recipients = append(res.Recipients, o)
			switch {
			case o.Outcome == OutcomeFailed && rc.Wants(NotifyFailure):
				notices = append(notices, d.notice(rc, o, ActionFailed))
			case o.Outcome == OutcomeDelivered && rc.Wants(NotifySuccess):
				notices = append(notices, d.notice(rc, o, ActionDelivered))
			}
		}
	}
	for _, r := range remote {
		res.Recipients = append(res.Recipients, RecipientOutcome{Address: r.Address, Original: r.Address, Outcome: OutcomeQueued})
	}
	for _, o := range failedPre {
		res.Recipients = append(res.Recipients, o)
	}
	for ri := range m.Recipients {
		if failedRcpt[ri] && m.Recipients[ri].Wants(NotifyFailure) {
			for _, o := range failedPre {
				if o.Original == m.Recipients[ri].Address {
					notices = append(notices, d.notice(m.Recipients[ri], o, ActionFailed))
					break
				}
			}
		}
	}
	for _, o := range res.Recipients {
		switch o.Outcome {
		case OutcomeDelivered:
			res.Delivered++
		case OutcomeQueued:
			res.Queued++
		case OutcomeFailed:
			res.Failed++
		}
	}
	if res.AllFailed() || len(notices) == 0 || m.Sender == "" {
		return res, nil
	}
	dsn := &DSN{
		ReportingMTA: d.hostname(), To: m.Sender, EnvID: m.EnvID, ArrivalDate: m.ArrivedAt,
		Recipients: notices, Original: m.Raw, Full: d.returnFull(m.Ret),
	}
	if err := d.SendDSN(ctx, dsn, nil); err != nil {
		// The message itself is stored; a lost notice is logged, not fatal.
		d.log.Error("sending delivery status notification", "to", m.Sender, "err", err)
	} else {
		res.Bounced = true
	}
	return res, nil
}

func (d *Deliverer) notice(rc Recipient, o RecipientOutcome, action string) DSNRecipient {
	n := DSNRecipient{OriginalRecipient: rc.ORcpt, FinalRecipient: o.Address, Action: action, Status: o.Status, Diagnostic: o.Diagnostic, LastAttempt: time.Now()}
	if action == ActionDelivered {
		n.Status = "2.0.0"
	}
	if n.OriginalRecipient == "" && !strings.EqualFold(o.Original, o.Address) {
		n.OriginalRecipient = "rfc822;" + o.Original
	}
	return n
}

func (d *Deliverer) hostname() string {
	if d.opts.Hostname != "" {
		return d.opts.Hostname
	}
	return "localhost"
}

// returnFull decides what a DSN carries: the sender's RET wins, then the
// configured default.
func (d *Deliverer) returnFull(ret string) bool {
	switch strings.ToUpper(ret) {
	case "FULL":
		return true
	case "HDRS":
		return false
	}
	return d.opts.BounceContent == "full"
}

// ErrNoBounceRoute: the DSN's recipient is a local address nobody receives
// mail for; the notice is dropped.
var ErrNoBounceRoute = errors.New("delivery: bounce recipient does not exist")

// SendDSN delivers a notification to dsn.To with the null sender, so it can
// never cause another bounce (RFC 5321 §4.5.5): into the Inbox of a local
// sender, or through the queue. also, when set, runs in the same
// transaction (the queue runner records its attempt there).
func (d *Deliverer) SendDSN(ctx context.Context, dsn *DSN, also func(tx *storage.Tx) error) error {
	if dsn.To == "" {
		return errors.New("delivery: no bounce to the null sender")
	}
	rt, err := d.Route(ctx, dsn.To)
	if err != nil {
		return err
	}
	raw := dsn.Bytes()
	in := &Ingest{Raw: raw, Sender: "", Also: also}
	switch rt.Kind {
	case RouteLocal:
		for _, a := range rt.Accounts {
			in.Targets = append(in.Targets, Target{AccountID: a.ID, Recipient: a.Address})
		}
		for _, ext := range rt.External {
			if in.Remote == nil {
				in.Remote = &storage.NewQueueMessage{}
			}
			in.Remote.Recipients = append(in.Remote.Recipients, storage.NewQueueRecipient{Address: ext, Notify: NotifyNever})
		}
	case RouteRemote:
		in.Remote = &storage.NewQueueMessage{Recipients: []storage.NewQueueRecipient{{Address: rt.Address, Notify: NotifyNever}}}
	default:
		if also != nil {
			if err := d.store.Write(ctx, also); err != nil {
				return fmt.Errorf("delivery: recording attempt: %w", err)
			}
		}
		d.log.Warn("dropping delivery status notification: no such local sender", "to", dsn.To)
		return ErrNoBounceRoute
	}
	if len(in.Targets) == 0 && in.Remote == nil {
		if also != nil {
			return d.store.Write(ctx, also)
		}
		return nil
	}
	if _, err := d.Ingest(ctx, in); err != nil {
		return fmt.Errorf("delivery: storing notification: %w", err)
	}
	return nil
}

// sortedNotify normalises a NOTIFY list for storage.
func sortedNotify(n []string) []string {
	out := make([]string, 0, len(n))
	for _, v := range n {
		out = append(out, strings.ToUpper(strings.TrimSpace(v)))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SplitNotify parses a stored NOTIFY list ("FAILURE,DELAY").
func SplitNotify(s string) []string {
	if s == "" {
		return nil
	}
	return sortedNotify(strings.Split(s, ","))
}
