// Package delivery is the one ingest path: every door that puts a message
// into the store (SMTP, IMAP APPEND, MAPI submit, webmail send, sendmail,
// import) comes through here. A message is parsed once, its bytes stored
// once for all recipients, and every local copy and queue entry is written
// in one transaction: either all of it is durable or none of it is.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// Options configure a Deliverer.
type Options struct {
	Store     *storage.Store
	Directory directory.Directory
	Logger    *slog.Logger
	// QueueLifetime bounds how long remote delivery is retried.
	QueueLifetime time.Duration
	// Hostname names this server in DSNs (Reporting-MTA, MAILER-DAEMON@)
	// and in generated Message-IDs.
	Hostname string
	// BounceContent is what a DSN carries of the original message when the
	// sender did not ask (RFC 3461 RET): "headers" (default) or "full".
	BounceContent string
	// OOFPeriod is how long a sender who got an out-of-office reply gets
	// no other (0: DefaultOOFPeriod).
	OOFPeriod time.Duration
	// AccountByLegacyDN resolves an Exchange LegacyDN (a rule's forward
	// recipient picked from the address book); nil leaves such recipients
	// out. The MAPI layer's resolver of the same name fits.
	AccountByLegacyDN func(ctx context.Context, dn string) (*directory.Account, error)
}

// Deliverer puts messages into the store and the outbound queue.
type Deliverer struct {
	store *storage.Store
	dir   directory.Directory
	log   *slog.Logger
	opts  Options
}

// New makes a Deliverer.
func New(opts Options) *Deliverer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{store: opts.Store, dir: opts.Directory, log: opts.Logger.With("component", "delivery"), opts: opts}
}

// Store returns the store the deliverer writes to.
func (d *Deliverer) Store() *storage.Store { return d.store }

// Target is one local copy to make.
type Target struct {
	AccountID int64
	// FolderID 0 means the account's folder with FolderRole (default Inbox).
	FolderID   int64
	FolderRole string
	Flags      storage.Flags
	Keywords   []string
	// IgnoreQuota stores the copy even over quota (Sent Items copies, drafts).
	IgnoreQuota bool
	// Recipient is the address this copy is for (trace log only).
	Recipient string
}

// Ingest is one message to store.
type Ingest struct {
	Raw          []byte
	Targets      []Target
	InternalDate time.Time
	// Remote, when set, is queued for outbound delivery in the same
	// transaction (its BlobHash and Size are filled in here).
	Remote *storage.NewQueueMessage
	// Sender is the envelope sender (trace log).
	Sender string
	// Parsed may be passed when the caller already parsed Raw.
	Parsed *message.Parsed
	// Also, when set, runs inside the same transaction after the message
	// is stored (the queue runner finishes a delivery attempt there, so a
	// bounce and the attempt's outcome commit together).
	Also func(tx *storage.Tx) error
}

// TargetResult says what happened to one target.
type TargetResult struct {
	Target    Target
	MessageID int64
	FolderID  int64
	UID       uint32
	// Err is storage.ErrQuotaExceeded or another per-target failure; the
	// other targets are delivered regardless.
	Err error
}

// Result of an Ingest.
type Result struct {
	BlobHash string
	Targets  []TargetResult
	QueueID  int64
}

// ErrNothingToDo is returned for an Ingest without targets or remote part.
var ErrNothingToDo = errors.New("delivery: no recipients")

// Ingest stores a message for every target and queues its remote part, in
// one durable transaction. It returns after the commit; a nil error means
// every target without its own Err is stored.
func (d *Deliverer) Ingest(ctx context.Context, in *Ingest) (*Result, error) {
	if len(in.Targets) == 0 && in.Remote == nil {
		return nil, ErrNothingToDo
	}
	p := in.Parsed
	if p == nil {
		p = message.Parse(in.Raw)
	}
	parsed := p.Marshal()
	for _, t := range in.Targets {
		if err := d.store.EnsureMailbox(ctx, t.AccountID); err != nil {
			return nil, fmt.Errorf("delivery: mailbox of account %d: %w", t.AccountID, err)
		}
	}
	// Resolve folder roles outside the write transaction: reads are cheap
	// and the single sqlite writer should only write.
	folders := make([]int64, len(in.Targets))
	for i, t := range in.Targets {
		if t.FolderID != 0 {
			folders[i] = t.FolderID
			continue
		}
		role := t.FolderRole
		if role == "" {
			role = storage.RoleInbox
		}
		f, err := d.store.FolderByRole(ctx, t.AccountID, role)
		if err != nil {
			return nil, fmt.Errorf("delivery: %s folder of account %d: %w", role, t.AccountID, err)
		}
		folders[i] = f.ID
	}
	// Inbox rules and out-of-office are decided before the transaction, so
	// a moved message is stored in its folder at once (rules.go).
	runs := d.prepareRules(ctx, in, p, folders)
	res := &Result{}
	err := d.store.Write(ctx, func(tx *storage.Tx) error {
		res.Targets = res.Targets[:0]
		hash, err := tx.PutBlob(in.Raw)
		if err != nil {
			return err
		}
		res.BlobHash = hash
		var logs []storage.DeliveryLog
		for i, t := range in.Targets {
			nm := newMessage(p, parsed, hash, int64(len(in.Raw)), in.InternalDate, t)
			m, folder, err := d.storeTarget(tx, runs[i], t, folders[i], nm)
			tr := TargetResult{Target: t, FolderID: folder, Err: err}
			outcome, detail := "delivered", ""
			if err != nil {
				if !errors.Is(err, storage.ErrQuotaExceeded) {
					return err
				}
				outcome, detail = "failed", "quota exceeded"
			} else if m != nil {
				tr.MessageID, tr.UID = m.ID, m.UID
			} else {
				detail = "deleted by a rule"
			}
			res.Targets = append(res.Targets, tr)
			if t.Recipient != "" {
				logs = append(logs, storage.DeliveryLog{MessageID: p.MessageID, Sender: in.Sender, Recipient: t.Recipient, Outcome: outcome, Detail: detail, AccountID: t.AccountID})
			}
		}
		if in.Remote != nil {
			in.Remote.BlobHash, in.Remote.Size = hash, int64(len(in.Raw))
			if in.Remote.MessageID == "" {
				in.Remote.MessageID = p.MessageID
			}
			if in.Remote.Lifetime == 0 {
				in.Remote.Lifetime = d.opts.QueueLifetime
			}
			qm, err := tx.Enqueue(in.Remote)
			if err != nil {
				return err
			}
			res.QueueID = qm.ID
			for _, r := range in.Remote.Recipients {
				logs = append(logs, storage.DeliveryLog{MessageID: p.MessageID, Sender: in.Sender, Recipient: r.Address, Outcome: "queued", AccountID: in.Remote.AccountID})
			}
		}
		if in.Also != nil {
			if err := in.Also(tx); err != nil {
				return err
			}
		}
		return tx.LogDelivery(logs...)
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: storing message: %w", err)
	}
	d.afterRules(ctx, in, p, runs, res)
	return res, nil
}

func newMessage(p *message.Parsed, parsed []byte, hash string, size int64, internal time.Time, t Target) *storage.NewMessage {
	return &storage.NewMessage{
		BlobHash: hash, Size: size, InternalDate: internal, Flags: t.Flags, Keywords: t.Keywords, Parsed: parsed,
		MessageClass: "IPM.Note", Subject: p.Subject, FromName: p.FromName, FromAddr: p.FromAddr,
		ToDisplay: p.ToDisplay, CcDisplay: p.CcDisplay, SentAt: p.SentAt, HasAttachments: p.HasAttachments,
		Importance: p.Importance, MessageIDHeader: p.MessageID, Preview: p.Preview,
	}
}

// DeliverLocal stores raw in the Inbox of each account, in one transaction.
func (d *Deliverer) DeliverLocal(ctx context.Context, raw []byte, accountIDs []int64) (*Result, error) {
	in := &Ingest{Raw: raw}
	for _, id := range accountIDs {
		in.Targets = append(in.Targets, Target{AccountID: id})
	}
	return d.Ingest(ctx, in)
}
