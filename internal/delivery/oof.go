package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/internal/rules"
	"github.com/pochta/pochta/storage"
)

// DefaultOOFPeriod is how long a sender who got an out-of-office reply
// gets no other (RFC 3834 §2 suggests a week).
const DefaultOOFPeriod = 7 * 24 * time.Hour

func (d *Deliverer) oofPeriod() time.Duration {
	if d.opts.OOFPeriod > 0 {
		return d.opts.OOFPeriod
	}
	return DefaultOOFPeriod
}

// defaultOOFText is the reply when the mailbox has no text of its own.
const defaultOOFText = "I am currently out of the office and will read your message when I return."

// sendOOF sends the out-of-office reply (RFC 3834) with the null sender,
// so it can cause no bounce and no other automatic reply.
func (d *Deliverer) sendOOF(ctx context.Context, in *Ingest, p *message.Parsed, rr *ruleRun) error {
	text := rr.oof.Text
	if strings.TrimSpace(text) == "" {
		text = d.oofTemplateText(ctx, rr.account.ID)
	}
	if strings.TrimSpace(text) == "" {
		text = defaultOOFText
	}
	subject := "Automatic reply: " + p.Subject
	raw := autoReply(p, rr.account, rr.oofSender, subject, text, d.newMessageID())
	_, err := d.Send(ctx, &Outgoing{Sender: "", Raw: raw, AccountID: rr.account.ID, Recipients: []Recipient{{Address: rr.oofSender, Notify: []string{NotifyNever}}}})
	return err
}

// headerOf returns the top-level header fields of a message.
func headerOf(raw []byte, p *message.Parsed) []message.HeaderField {
	if p == nil || p.Root == nil {
		return nil
	}
	return message.ReadHeader(p.Root.HeaderBytes(raw))
}

func headerValue(h []message.HeaderField, key string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Key, key) {
			return f.Value, true
		}
	}
	return "", false
}

// isAutoSubmitted tells whether a message says it was made by a machine
// (RFC 3834 §5: any Auto-Submitted value but "no").
func isAutoSubmitted(h []message.HeaderField) bool {
	v, ok := headerValue(h, "Auto-Submitted")
	if !ok {
		return false
	}
	v, _, _ = strings.Cut(v, ";")
	return !strings.EqualFold(strings.TrimSpace(v), "no")
}

// autoReplyAllowed applies RFC 3834 §2 to an incoming message: never reply
// to the null sender, to machine-made or list mail, to mailer daemons and
// list owners, or to the mailbox's own addresses.
func autoReplyAllowed(raw []byte, p *message.Parsed, sender string, own []string) bool {
	if sender == "" {
		return false
	}
	local, _, ok := directory.SplitAddress(sender)
	if !ok {
		return false
	}
	l := strings.ToLower(local)
	if l == "mailer-daemon" || l == "postmaster" || strings.HasPrefix(l, "owner-") || strings.HasSuffix(l, "-request") || strings.HasPrefix(l, "bounce") || l == "noreply" || l == "no-reply" {
		return false
	}
	for _, a := range own {
		if strings.EqualFold(a, sender) {
			return false
		}
	}
	h := headerOf(raw, p)
	if isAutoSubmitted(h) {
		return false
	}
	for _, k := range []string{"List-Id", "List-Unsubscribe", "List-Post", "List-Help"} {
		if _, ok := headerValue(h, k); ok {
			return false
		}
	}
	if v, ok := headerValue(h, "Precedence"); ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "bulk", "list", "junk":
			return false
		}
	}
	// MS-OXCMAIL 2.2.3.2.14: X-Auto-Response-Suppress OOF (or All).
	if v, ok := headerValue(h, "X-Auto-Response-Suppress"); ok {
		for _, w := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == ',' || r == ' ' }) {
			if w == "oof" || w == "all" || w == "autoreply" {
				return false
			}
		}
	}
	return true
}

func (d *Deliverer) newMessageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "@" + d.hostname()
}

// headerSafe keeps a header value on one line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func qWord(s string) string { return mime.QEncoding.Encode("utf-8", headerSafe(s)) }

func fromLine(acc directory.Account) string {
	if acc.DisplayName == "" {
		return "<" + headerSafe(acc.Address) + ">"
	}
	return qWord(acc.DisplayName) + " <" + headerSafe(acc.Address) + ">"
}

// autoReply builds an automatic reply (RFC 3834 §3): Auto-Submitted:
// auto-replied, In-Reply-To and References of the original.
func autoReply(p *message.Parsed, acc directory.Account, to, subject, body, msgID string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", fromLine(acc))
	fmt.Fprintf(&b, "To: <%s>\r\n", headerSafe(to))
	fmt.Fprintf(&b, "Subject: %s\r\n", qWord(subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", msgID)
	if p.MessageID != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\n", headerSafe(p.MessageID))
		refs := append(append([]string(nil), p.References...), p.MessageID)
		for i := range refs {
			refs[i] = "<" + headerSafe(refs[i]) + ">"
		}
		fmt.Fprintf(&b, "References: %s\r\n", strings.Join(refs, " "))
	}
	b.WriteString("Auto-Submitted: auto-replied\r\n")
	b.WriteString("X-Auto-Response-Suppress: All\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	writeText(&b, body)
	return b.Bytes()
}

// writeText writes text with CRLF line ends.
func writeText(b *bytes.Buffer, text string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, line := range strings.Split(text, "\n") {
		b.WriteString(line)
		b.WriteString("\r\n")
	}
}

// redirectMessage resends the original unchanged but for Resent- fields
// (RFC 5322 §3.6.6) and Auto-Submitted: auto-generated.
func redirectMessage(raw []byte, by string, to []string, msgID string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Resent-From: <%s>\r\n", headerSafe(by))
	quoted := make([]string, len(to))
	for i, a := range to {
		quoted[i] = "<" + headerSafe(a) + ">"
	}
	fmt.Fprintf(&b, "Resent-To: %s\r\n", strings.Join(quoted, ", "))
	fmt.Fprintf(&b, "Resent-Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Resent-Message-ID: <%s>\r\n", msgID)
	b.WriteString("Auto-Submitted: auto-generated\r\n")
	b.Write(raw)
	return b.Bytes()
}

// forwardMessage wraps the original as a message/rfc822 attachment of a new
// message from the mailbox.
func forwardMessage(raw []byte, p *message.Parsed, acc directory.Account, to []string, msgID string) []byte {
	boundary := "fwd-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for bytes.Contains(raw, []byte(boundary)) {
		boundary += "x"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", fromLine(acc))
	quoted := make([]string, len(to))
	for i, a := range to {
		quoted[i] = "<" + headerSafe(a) + ">"
	}
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(quoted, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", qWord("FW: "+p.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", msgID)
	b.WriteString("Auto-Submitted: auto-generated\r\n")
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary)
	writeText(&b, "Forwarded by a rule of "+acc.Address+".")
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n", boundary)
	b.Write(raw)
	if !bytes.HasSuffix(raw, []byte("\n")) {
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

// oofTemplateClass is the class of the FAI message in which Outlook keeps
// the out-of-office text when it sets it through MAPI (MS-OXORULE 2.2.6.1).
const oofTemplateClass = "IPM.Note.Rules.OofTemplate.Microsoft"

// oofTemplateText reads the body of the mailbox's OOF template message in
// the Inbox: its stored PidTagBody, else the body of its MIME rendering.
// "" when there is none.
func (d *Deliverer) oofTemplateText(ctx context.Context, accountID int64) string {
	inbox, err := d.store.FolderByRole(ctx, accountID, storage.RoleInbox)
	if err != nil {
		return ""
	}
	ms, err := d.store.ListMessages(ctx, accountID, inbox.ID, storage.ListQuery{Associated: true, Limit: 200, Sort: storage.SortUID, Descending: true})
	if err != nil {
		d.log.Warn("reading the out-of-office template", "account", accountID, "err", err)
		return ""
	}
	for _, m := range ms {
		if !strings.EqualFold(m.MessageClass, oofTemplateClass) {
			continue
		}
		rows, err := d.store.PropsOf(ctx, accountID, storage.ObjectMessage, []int64{m.ID}, false)
		if err == nil {
			for _, r := range rows[m.ID] {
				if mp.Tag(r.Tag).ID() == mp.PidTagBody.ID() {
					if v, ok := rules.DecodeValue(r.Tag, r.Value); ok {
						if s, ok := v.Data.(string); ok && s != "" {
							return s
						}
					}
				}
			}
		}
		raw, err := d.store.ReadBlob(ctx, m.BlobHash)
		if err != nil || len(raw) == 0 {
			continue
		}
		msg, err := oxcmail.InetToMAPI(ctx, raw, nil, nil, oxcmail.ToMAPIOptions{})
		if err == nil {
			if s := msg.Props.String(mp.PidTagBody); s != "" {
				return s
			}
		}
	}
	return ""
}
