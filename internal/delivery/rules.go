package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/internal/rules"
	"github.com/pochta/pochta/storage"
)

// Server-side rules (MS-OXORULE) and the out-of-office reply run on every
// local delivery to an Inbox, whichever door the message came through.
// They are decided before the delivery's transaction, so a moved message
// lands in its folder in the same transaction that stores it; replies and
// forwards go out after the commit. A rule that cannot run is logged and
// skipped: the message stays in the Inbox, never lost.

// ruleRun is what the Inbox rules and out-of-office decided for one target.
type ruleRun struct {
	account    directory.Account
	addresses  []string // the account's own addresses (never auto-replied to)
	plan       *rules.Plan
	folder     int64 // where the message is filed; 0 keeps the target's
	copies     []int64
	seen       bool
	importance int // -1: unchanged
	rows       []storage.PropValue
	oof        rules.OOF
	oofSender  string // a reply may be due to this sender
	oofDue     bool   // decided in the transaction
}

// inboxTarget tells whether a target is a delivery to an Inbox by role
// (doors that file into a named folder, such as IMAP APPEND, name it).
func inboxTarget(t Target) bool {
	return t.FolderID == 0 && (t.FolderRole == "" || t.FolderRole == storage.RoleInbox)
}

// prepareRules evaluates the rules of every Inbox target.
func (d *Deliverer) prepareRules(ctx context.Context, in *Ingest, p *message.Parsed, folders []int64) []*ruleRun {
	runs := make([]*ruleRun, len(in.Targets))
	for i, t := range in.Targets {
		if !inboxTarget(t) {
			continue
		}
		rr, err := d.ruleRunFor(ctx, in, p, t, folders[i])
		if err != nil {
			d.log.Warn("inbox rules not run; message stays in the Inbox", "account", t.AccountID, "err", err)
			continue
		}
		runs[i] = rr
	}
	return runs
}

func (d *Deliverer) ruleRunFor(ctx context.Context, in *Ingest, p *message.Parsed, t Target, inbox int64) (*ruleRun, error) {
	rs, err := rules.Load(ctx, d.store, t.AccountID, inbox)
	if err != nil {
		return nil, err
	}
	oof, err := rules.LoadOOF(ctx, d.store, t.AccountID)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 && !oof.Enabled {
		return nil, nil
	}
	rr := &ruleRun{importance: -1, oof: oof}
	if d.dir != nil {
		if acc, err := d.dir.Account(ctx, t.AccountID); err == nil {
			rr.account = *acc
		}
		if addrs, err := d.dir.Addresses(ctx, t.AccountID); err == nil {
			rr.addresses = addrs
		}
	}
	if rr.account.Address == "" {
		rr.account.Address = t.Recipient
	}
	rr.account.ID = t.AccountID
	if len(rs) > 0 {
		msg, err := oxcmail.InetToMAPI(ctx, in.Raw, p, namedLookup{d.store, t.AccountID}, oxcmail.ToMAPIOptions{
			DeliveryTime: time.Now(),
			ReceivedBy:   oxcmail.Mailbox{Name: rr.account.DisplayName, Address: rr.account.Address},
		})
		if err != nil {
			return nil, fmt.Errorf("deriving properties: %w", err)
		}
		rr.plan = rules.Evaluate(rs, msg, rules.Facts{OOF: oof.Enabled}, d.log.With("account", t.AccountID))
		d.resolvePlan(ctx, rr, t.AccountID)
	}
	if oof.Enabled && autoReplyAllowed(in.Raw, p, in.Sender, rr.addresses) {
		rr.oofSender = in.Sender
	}
	return rr, nil
}

// resolvePlan turns the plan's folders into store ids and its property
// settings into rows. What cannot be resolved is skipped.
func (d *Deliverer) resolvePlan(ctx context.Context, rr *ruleRun, accountID int64) {
	pl := rr.plan
	if pl.MoveTo != nil {
		if id, err := d.ruleFolder(ctx, accountID, *pl.MoveTo); err != nil {
			d.log.Warn("rule move target not found; message stays in the Inbox", "account", accountID, "err", err)
		} else {
			rr.folder = id
		}
	}
	for _, c := range pl.CopyTo {
		if id, err := d.ruleFolder(ctx, accountID, c); err != nil {
			d.log.Warn("rule copy target not found", "account", accountID, "err", err)
		} else if id != rr.folder {
			rr.copies = append(rr.copies, id)
		}
	}
	rr.seen = pl.MarkRead
	for _, v := range pl.Set {
		if v.Tag.ID() == mp.PidTagImportance.ID() {
			if i, ok := v.Data.(int32); ok && i >= 0 && i <= 2 {
				rr.importance = int(i)
			}
		}
		if row, ok := rules.StoredRow(v); ok {
			rr.rows = append(rr.rows, row)
		}
	}
}

// ruleFolder finds the folder a move or copy action names: a FID of this
// mailbox, or a folder entry id of this mailbox's store.
func (d *Deliverer) ruleFolder(ctx context.Context, accountID int64, mc rules.MoveCopy) (int64, error) {
	var gc uint64
	if mc.InThisStore {
		gc = mc.FolderID.GlobalCounter()
	} else {
		eid, err := mp.ParseFolderEntryID(mc.FolderEID)
		if err != nil {
			return 0, fmt.Errorf("rule folder entry id: %w", err)
		}
		mb, err := d.store.Mailbox(ctx, accountID)
		if err != nil {
			return 0, err
		}
		if g, err := mp.ParseGUID(mb.GUID); err != nil || g != eid.ProviderUID {
			return 0, errors.New("rule folder is in another store")
		}
		gc = eid.GlobalCounter
	}
	f, err := d.store.FolderByGlobCnt(ctx, accountID, int64(gc))
	if err != nil {
		return 0, fmt.Errorf("rule folder %d: %w", gc, err)
	}
	return f.ID, nil
}

// storeTarget stores one target's copy inside the delivery transaction,
// the way its rules decided. m is nil when a rule deleted the message.
func (d *Deliverer) storeTarget(tx *storage.Tx, rr *ruleRun, t Target, folder int64, nm *storage.NewMessage) (*storage.Message, int64, error) {
	if rr == nil {
		m, err := tx.AddMessage(t.AccountID, folder, nm, t.IgnoreQuota)
		return m, folder, err
	}
	rr.oofDue = false
	if rr.oofSender != "" {
		due, err := rules.RecordOOFReply(tx, t.AccountID, rr.oofSender, time.Now(), d.oofPeriod())
		if err != nil {
			return nil, folder, err
		}
		rr.oofDue = due
	}
	if rr.seen {
		nm.Flags |= storage.FlagSeen
	}
	if rr.importance >= 0 {
		nm.Importance = rr.importance
	}
	var m *storage.Message
	if rr.plan == nil || !rr.plan.Delete {
		target := folder
		if rr.folder != 0 {
			target = rr.folder
		}
		var err error
		m, err = tx.AddMessage(t.AccountID, target, nm, t.IgnoreQuota)
		if err != nil && target != folder && !errors.Is(err, storage.ErrQuotaExceeded) {
			// The rule's folder went away since the rules were read.
			d.log.Warn("rule move failed; message stays in the Inbox", "account", t.AccountID, "err", err)
			target = folder
			m, err = tx.AddMessage(t.AccountID, folder, nm, t.IgnoreQuota)
		}
		if err != nil {
			return nil, folder, err
		}
		folder = target
		if len(rr.rows) > 0 {
			if err := tx.SetProps(t.AccountID, storage.ObjectMessage, m.ID, rr.rows); err != nil {
				return nil, folder, err
			}
		}
	}
	for _, c := range rr.copies {
		cp := *nm
		cm, err := tx.AddMessage(t.AccountID, c, &cp, t.IgnoreQuota)
		if err != nil {
			if errors.Is(err, storage.ErrQuotaExceeded) {
				continue // the copy is lost, the message is not
			}
			return nil, folder, err
		}
		if len(rr.rows) > 0 {
			if err := tx.SetProps(t.AccountID, storage.ObjectMessage, cm.ID, rr.rows); err != nil {
				return nil, folder, err
			}
		}
	}
	return m, folder, nil
}

// afterRules sends what the rules and out-of-office decided once the
// message is durable: forwards, redirects and replies. Failures are
// logged; the delivery itself has succeeded.
func (d *Deliverer) afterRules(ctx context.Context, in *Ingest, p *message.Parsed, runs []*ruleRun, res *Result) {
	for i, rr := range runs {
		if rr == nil || i >= len(res.Targets) || res.Targets[i].Err != nil {
			continue
		}
		// An OOF reply rule (OP_OOF_REPLY) answers with its own template
		// in place of the mailbox's text, under the same once-per-sender
		// log; without a due reply it stays silent.
		var oofRule *rules.Reply
		if rr.plan != nil {
			for j := range rr.plan.Replies {
				if rr.plan.Replies[j].OOF {
					oofRule = &rr.plan.Replies[j]
					break
				}
			}
		}
		if rr.oofDue {
			err := error(nil)
			if oofRule != nil {
				err = d.ruleReply(ctx, in, p, rr, *oofRule)
			}
			if oofRule == nil || err != nil {
				err = d.sendOOF(ctx, in, p, rr)
			}
			if err != nil {
				d.log.Error("sending out-of-office reply", "account", rr.account.ID, "to", rr.oofSender, "err", err)
			}
		}
		if rr.plan == nil {
			continue
		}
		for _, f := range rr.plan.Forwards {
			if in.Sender == "" || isAutoSubmitted(headerOf(in.Raw, p)) {
				// Never forward bounces or machine-made mail: that is how
				// two forwarding mailboxes loop.
				d.log.Info("rule forward skipped for an automatic message", "account", rr.account.ID, "rule", f.RuleID)
				continue
			}
			if err := d.forward(ctx, in, p, rr, f); err != nil {
				d.log.Error("rule forward", "account", rr.account.ID, "rule", f.RuleID, "err", err)
			}
		}
		for _, r := range rr.plan.Replies {
			if r.OOF || !autoReplyAllowed(in.Raw, p, in.Sender, rr.addresses) {
				continue
			}
			if err := d.ruleReply(ctx, in, p, rr, r); err != nil {
				d.log.Error("rule reply", "account", rr.account.ID, "rule", r.RuleID, "err", err)
			}
		}
	}
}

// forward sends a rule's forward or redirect (MS-OXORULE 2.2.5.1.2.3).
// Both carry Auto-Submitted: auto-generated, and come from the mailbox's
// own address, so a bounce returns to it.
func (d *Deliverer) forward(ctx context.Context, in *Ingest, p *message.Parsed, rr *ruleRun, f rules.Forward) error {
	var to []string
	for _, block := range f.Recipients {
		addr, x500, ok := rules.RecipientAddress(block)
		if !ok && x500 != "" && d.opts.AccountByLegacyDN != nil {
			if acc, err := d.opts.AccountByLegacyDN(ctx, x500); err == nil && acc != nil && acc.Address != "" {
				addr, ok = acc.Address, true
			}
		}
		if !ok {
			d.log.Warn("rule forward recipient without an SMTP address skipped", "account", rr.account.ID, "dn", x500)
			continue
		}
		if strings.EqualFold(addr, rr.account.Address) {
			continue // never to itself
		}
		to = append(to, addr)
	}
	if len(to) == 0 {
		return nil
	}
	var raw []byte
	if f.Redirect() {
		raw = redirectMessage(in.Raw, rr.account.Address, to, d.newMessageID())
	} else {
		raw = forwardMessage(in.Raw, p, rr.account, to, d.newMessageID())
	}
	out := &Outgoing{Sender: rr.account.Address, Raw: raw, AccountID: rr.account.ID}
	for _, a := range to {
		out.Recipients = append(out.Recipients, Recipient{Address: a})
	}
	_, err := d.Send(ctx, out)
	return err
}

// ruleReply sends a rule's reply built from its template message.
func (d *Deliverer) ruleReply(ctx context.Context, in *Ingest, p *message.Parsed, rr *ruleRun, r rules.Reply) error {
	subject, body, err := d.replyTemplate(ctx, rr.account.ID, r.Template)
	if err != nil {
		return err
	}
	if subject == "" {
		subject = "RE: " + p.Subject
	}
	raw := autoReply(p, rr.account, in.Sender, subject, body, d.newMessageID())
	_, err = d.Send(ctx, &Outgoing{Sender: "", Raw: raw, AccountID: rr.account.ID, Recipients: []Recipient{{Address: in.Sender, Notify: []string{NotifyNever}}}})
	return err
}

// replyTemplate reads a reply template message's subject and body.
func (d *Deliverer) replyTemplate(ctx context.Context, accountID int64, t rules.ReplyTemplate) (subject, body string, err error) {
	f, err := d.store.FolderByGlobCnt(ctx, accountID, int64(t.FolderID.GlobalCounter()))
	if err != nil {
		return "", "", fmt.Errorf("reply template folder: %w", err)
	}
	ms, err := d.store.MessagesByGlobCnt(ctx, accountID, f.ID, []int64{int64(t.MessageID.GlobalCounter())})
	if err != nil {
		return "", "", fmt.Errorf("reply template: %w", err)
	}
	if len(ms) == 0 {
		return "", "", errors.New("reply template message not found")
	}
	raw, err := d.store.ReadBlob(ctx, ms[0].BlobHash)
	if err != nil {
		return "", "", fmt.Errorf("reply template content: %w", err)
	}
	msg, err := oxcmail.InetToMAPI(ctx, raw, nil, nil, oxcmail.ToMAPIOptions{})
	if err != nil {
		return "", "", err
	}
	return msg.Props.String(mp.PidTagSubject), msg.Props.String(mp.PidTagBody), nil
}

// namedLookup is oxcmail.NamedProps over the store without creating ids:
// a condition can only name properties the mailbox already knows.
type namedLookup struct {
	store     *storage.Store
	accountID int64
}

func (n namedLookup) IDs(ctx context.Context, names []mp.PropertyName, _ bool) ([]uint16, error) {
	ids := make([]uint16, len(names))
	var idx []int
	var want []storage.PropertyName
	for i, nm := range names {
		if nm.Kind == mp.KindLID && nm.GUID == mp.PS_MAPI {
			if nm.LID < 0x8000 {
				ids[i] = uint16(nm.LID)
			}
			continue
		}
		if nm.Kind != mp.KindLID && (nm.Kind != mp.KindName || nm.Name == "") {
			continue
		}
		idx = append(idx, i)
		want = append(want, storage.PropertyName{GUID: strings.ToLower(strings.Trim(nm.GUID.String(), "{}")), IsLID: nm.Kind == mp.KindLID, LID: nm.LID, Name: nm.Name})
	}
	if len(want) == 0 {
		return ids, nil
	}
	got, err := n.store.NamedPropIDs(ctx, n.accountID, want, false)
	if err != nil {
		return nil, err
	}
	for j, i := range idx {
		ids[i] = got[j]
	}
	return ids, nil
}
