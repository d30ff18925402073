package message

import (
	"net/mail"
	"strings"
	"time"
)

// Envelope holds the header fields of IMAP ENVELOPE (RFC 3501 §7.4.2,
// RFC 9051 §7.5.2) as raw values: unfolded and trimmed but not decoded, so
// the IMAP layer can send them as they were written. Sender and ReplyTo are
// empty when the header lacks them; the IMAP writer substitutes From as the
// RFC requires (go-imap's imapserver does).
type Envelope struct {
	Date, Subject, InReplyTo, MessageID string
	From, Sender, ReplyTo, To, Cc, Bcc  []Address
}

// Address is one entry of an address list, or a group marker. RFC 3501
// represents "name: a, b;" as a start marker, the members, and an end
// marker; Address does the same.
type Address struct {
	Name    string // display name (or the group's name on a start marker), raw: quotes removed, RFC 2047 words kept
	Mailbox string // local part, quotes removed
	Host    string // domain; empty only for a malformed address without one
	// GroupStart marks the start of a group whose name is Name;
	// GroupEnd marks its end. Mailbox and Host are empty on markers.
	GroupStart, GroupEnd bool
}

// Addr returns "mailbox@host", or "" for a group marker.
func (a Address) Addr() string {
	if a.GroupStart || a.GroupEnd {
		return ""
	}
	if a.Host == "" {
		return a.Mailbox
	}
	return a.Mailbox + "@" + a.Host
}

// DisplayName returns the decoded display name.
func (a Address) DisplayName() string { return DecodeHeaderText(a.Name) }

func buildEnvelope(h header) Envelope {
	return Envelope{
		Date:      h.value("Date"),
		Subject:   h.value("Subject"),
		InReplyTo: h.value("In-Reply-To"),
		MessageID: h.value("Message-Id"),
		From:      ParseAddressList(h.value("From")),
		Sender:    ParseAddressList(h.value("Sender")),
		ReplyTo:   ParseAddressList(h.value("Reply-To")),
		To:        ParseAddressList(h.value("To")),
		Cc:        ParseAddressList(h.value("Cc")),
		Bcc:       ParseAddressList(h.value("Bcc")),
	}
}

func (e *Envelope) normalize() {
	for _, l := range []*[]Address{&e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc} {
		if len(*l) == 0 {
			*l = nil
		}
	}
}

// promote fills the promoted columns of p from the top-level header.
func (ps *parser) promote(p *Parsed, h header) {
	env := &p.Envelope
	env.normalize()
	p.Subject = DecodeHeaderText(env.Subject)
	for _, a := range env.From {
		if !a.GroupStart && !a.GroupEnd {
			p.FromName, p.FromAddr = a.DisplayName(), a.Addr()
			break
		}
	}
	p.ToDisplay = displayList(env.To)
	p.CcDisplay = displayList(env.Cc)
	if env.Date != "" {
		if t, ok := ParseDate(env.Date); ok {
			p.SentAt = t
		} else {
			ps.warn("unparsable Date %q", truncate(env.Date, 60))
		}
	}
	if ids := ParseMessageIDs(env.MessageID); len(ids) > 0 {
		p.MessageID = ids[0]
	}
	if ids := ParseMessageIDs(env.InReplyTo); len(ids) > 0 {
		p.InReplyTo = ids[0]
	}
	p.References = ParseMessageIDs(h.value("References"))
	p.Importance = importance(h)
	for _, a := range Attachments(p) {
		if !a.Inline {
			p.HasAttachments = true
			break
		}
	}
}

// displayList renders recipients like Outlook's PidTagDisplayTo: display
// names (or addresses when there is none) joined by "; ".
func displayList(l []Address) string {
	var names []string
	for _, a := range l {
		if a.GroupStart || a.GroupEnd {
			continue
		}
		n := strings.TrimSpace(a.DisplayName())
		if n == "" {
			n = a.Addr()
		}
		if n != "" {
			names = append(names, n)
		}
	}
	return strings.Join(names, "; ")
}

// ParseDate parses a Date header value (RFC 5322 §3.3) leniently and
// returns it in UTC.
func ParseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t.UTC(), true
	}
	// Drop comments and collapse white space, then try the shapes seen in
	// the wild that net/mail rejects.
	l := &lexer{s: v}
	var sb strings.Builder
	for !l.end() {
		if l.peek() == '(' {
			l.comment()
			sb.WriteByte(' ')
			continue
		}
		sb.WriteByte(l.s[l.pos])
		l.pos++
	}
	clean := strings.Join(strings.Fields(strings.ReplaceAll(sb.String(), ",", ", ")), " ")
	clean = strings.ReplaceAll(clean, " ,", ",")
	if t, err := mail.ParseDate(clean); err == nil {
		return t.UTC(), true
	}
	for _, layout := range []string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 -0700 MST",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 -0700",
		"2 Jan 2006 15:04:05 MST",
		"Mon, 2 Jan 06 15:04:05 -0700",
		"Mon, 2 Jan 06 15:04:05 MST",
		"Mon, 2 January 2006 15:04:05 -0700",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		"Mon Jan 2 15:04:05 -0700 2006",
		"Mon, Jan 2 2006 15:04:05 -0700",
		"2006-01-02 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05",
		"2 Jan 2006 15:04:05",
		time.RFC3339,
	} {
		if t, err := time.Parse(layout, clean); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// ParseMessageIDs returns the message ids ("<id>", RFC 5322 §3.6.4) in a
// Message-ID, In-Reply-To or References value, without angle brackets.
// Values without any angle brackets yield their white-space separated
// words, because some mailers omit the brackets.
func ParseMessageIDs(v string) []string {
	var ids []string
	rest := v
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i+1:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(rest[i+1 : i+1+j]); id != "" {
			ids = append(ids, id)
		}
		rest = rest[i+1+j+1:]
	}
	if len(ids) == 0 && !strings.ContainsAny(v, "<>") {
		l := &lexer{s: v}
		var sb strings.Builder
		for !l.end() {
			if l.peek() == '(' {
				l.comment()
				sb.WriteByte(' ')
				continue
			}
			sb.WriteByte(l.s[l.pos])
			l.pos++
		}
		ids = strings.Fields(sb.String())
	}
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// importance maps Importance (RFC 2156), X-Priority, Priority (RFC 2156)
// and X-MSMail-Priority to 0 low, 1 normal, 2 high.
func importance(h header) int {
	word := func(v string) string {
		v = strings.ToLower(strings.TrimSpace(v))
		if i := strings.IndexAny(v, " \t("); i >= 0 {
			v = v[:i]
		}
		return v
	}
	switch word(h.value("Importance")) {
	case "high":
		return 2
	case "low":
		return 0
	case "normal":
		return 1
	}
	if v := strings.TrimSpace(h.value("X-Priority")); v != "" {
		switch v[0] {
		case '1', '2':
			return 2
		case '3':
			return 1
		case '4', '5':
			return 0
		}
	}
	switch word(h.value("Priority")) {
	case "urgent":
		return 2
	case "non-urgent":
		return 0
	}
	switch word(h.value("X-Msmail-Priority")) {
	case "high":
		return 2
	case "low":
		return 0
	}
	return 1
}
