package rules

import (
	"log/slog"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
)

// Plan is what a folder's rules decided for one delivered message
// (MS-OXORULE 3.2.5.1): the delivery executes it.
type Plan struct {
	// MoveTo is the folder the message is filed in instead of the Inbox
	// (the first move action that ran; later moves become copies, the way
	// Exchange treats a second move).
	MoveTo *MoveCopy
	// CopyTo are further folders that get a copy.
	CopyTo []MoveCopy
	// Delete drops the message (OP_DELETE) after the other actions ran.
	Delete bool
	// MarkRead stores it read (OP_MARK_AS_READ).
	MarkRead bool
	// Set are property values to set on the message (OP_TAG), e.g.
	// PidTagImportance.
	Set []mp.Value
	// Forwards are forward and redirect actions (OP_FORWARD, OP_DELEGATE).
	Forwards []Forward
	// Replies are reply actions (OP_REPLY, OP_OOF_REPLY).
	Replies []Reply
	// Matched are the ids of the rules whose condition matched.
	Matched []int64
	// Failed are rules whose actions could not be read; they are skipped
	// (the message is never lost over a broken rule).
	Failed []int64
}

// Forward is one forward or redirect action.
type Forward struct {
	RuleID     int64
	Flavor     uint32
	Recipients [][]mp.Value
}

// Redirect reports whether the message goes on unchanged (redirect, or
// a delegate action) rather than as a new forwarded message.
func (f Forward) Redirect() bool { return f.Flavor&FwdPreserveSender != 0 }

// Reply is one reply action.
type Reply struct {
	RuleID   int64
	OOF      bool
	Flavor   uint32
	Template ReplyTemplate
}

// Facts are what the evaluation needs about the delivery besides the
// message's own properties.
type Facts struct {
	// OOF is true while the mailbox is out of office (rules with
	// ST_ONLY_WHEN_OOF run only then).
	OOF bool
}

// Evaluate runs rules (in the order Decode gives) against a message (its
// properties as the recipient sees them, with its recipient and
// attachment tables for sub-object restrictions) and collects their
// actions. A rule with ST_EXIT_LEVEL that matched ends the evaluation
// (MS-OXORULE 2.2.1.3.1.3).
func Evaluate(rs []Rule, msg *oxcmail.Message, facts Facts, log *slog.Logger) *Plan {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Plan{}
	for i := range rs {
		r := &rs[i]
		if !r.Enabled() || r.State&(StateError|StateRuleParseError) != 0 {
			continue
		}
		if r.State&StateOnlyWhenOOF != 0 && !facts.OOF {
			continue
		}
		if r.Condition != nil {
			e := evaluator(msg)
			if !e.Match(r.Condition) {
				continue
			}
		}
		p.Matched = append(p.Matched, r.ID)
		if err := p.add(r); err != nil {
			log.Warn("skipping a rule whose actions cannot be read", "rule", r.ID, "name", r.Name, "err", err)
			p.Failed = append(p.Failed, r.ID)
		}
		if r.State&StateExitLevel != 0 {
			break
		}
	}
	return p
}

// add collects a matching rule's actions. All of a rule's actions are
// decoded before any is kept, so a rule runs whole or not at all.
func (p *Plan) add(r *Rule) error {
	next := *p
	next.CopyTo = append([]MoveCopy(nil), p.CopyTo...)
	next.Set = append([]mp.Value(nil), p.Set...)
	next.Forwards = append([]Forward(nil), p.Forwards...)
	next.Replies = append([]Reply(nil), p.Replies...)
	for _, a := range r.Actions {
		switch a.Type {
		case mp.ActionMove, mp.ActionCopy:
			mc, err := ParseMoveCopy(a.Data)
			if err != nil {
				return err
			}
			if a.Type == mp.ActionMove && next.MoveTo == nil {
				next.MoveTo = &mc
			} else {
				next.CopyTo = append(next.CopyTo, mc)
			}
		case mp.ActionDelete:
			next.Delete = true
		case mp.ActionMarkAsRead:
			next.MarkRead = true
		case mp.ActionTag:
			v, err := ParseTag(a.Data)
			if err != nil {
				return err
			}
			next.Set = append(next.Set, v)
		case mp.ActionForward, mp.ActionDelegate:
			rcpts, err := ParseForward(a.Data)
			if err != nil {
				return err
			}
			flavor := a.Flavor
			if a.Type == mp.ActionDelegate {
				flavor |= Redirect
			}
			next.Forwards = append(next.Forwards, Forward{RuleID: r.ID, Flavor: flavor, Recipients: rcpts})
		case mp.ActionReply, mp.ActionOOFReply:
			t, err := ParseReply(a.Data)
			if err != nil {
				return err
			}
			next.Replies = append(next.Replies, Reply{RuleID: r.ID, OOF: a.Type == mp.ActionOOFReply, Flavor: a.Flavor, Template: t})
		case mp.ActionDefer, mp.ActionBounce:
			// Deferred actions are the client's (left for it); a bounce
			// action is not executed by this server.
		default:
			return ErrBadAction
		}
	}
	matched, failed := p.Matched, p.Failed
	*p = next
	p.Matched, p.Failed = matched, failed
	return nil
}

// evaluator reads the message's properties and sub-objects.
func evaluator(msg *oxcmail.Message) *mp.Evaluator {
	return &mp.Evaluator{
		GetProp: msg.Props.Get,
		SubObjects: func(t mp.Tag) []func(mp.Tag) (mp.Value, bool) {
			var out []func(mp.Tag) (mp.Value, bool)
			switch t.ID() {
			case mp.PidTagMessageRecipients.ID():
				for _, r := range msg.Recipients {
					out = append(out, r.Get)
				}
			case mp.PidTagMessageAttachments.ID():
				for _, a := range msg.Attachments {
					out = append(out, a.Props.Get)
				}
			}
			return out
		},
	}
}
