package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pochta/pochta/internal/message"
)

// DSN actions (RFC 3464 §2.3.3).
const (
	ActionFailed    = "failed"
	ActionDelayed   = "delayed"
	ActionDelivered = "delivered"
	ActionRelayed   = "relayed"
	ActionExpanded  = "expanded"
)

// DSNRecipient is one per-recipient block of a delivery status report
// (RFC 3464 §2.3).
type DSNRecipient struct {
	// OriginalRecipient is the RFC 3461 ORCPT as "type;address" (decoded),
	// "" when the client gave none.
	OriginalRecipient string
	// FinalRecipient is the address delivery was attempted to.
	FinalRecipient string
	Action         string // ActionFailed, …
	Status         string // enhanced status code (RFC 3463), e.g. "5.1.1"
	// RemoteMTA is the host name of the server that answered, if any.
	RemoteMTA string
	// Diagnostic is that server's reply ("550 5.1.1 No such user"), or ours.
	Diagnostic     string
	LastAttempt    time.Time
	WillRetryUntil time.Time
}

// DSN is a delivery status notification to build (RFC 3464): a
// multipart/report with a human-readable part, the machine-readable
// message/delivery-status part, and the original message or its header.
type DSN struct {
	// ReportingMTA is this server's host name.
	ReportingMTA string
	// To is the envelope sender being notified.
	To string
	// EnvID is the RFC 3461 ENVID the sender gave, decoded ("" when none).
	EnvID       string
	ArrivalDate time.Time
	Date        time.Time
	MessageID   string // without angle brackets; generated when ""
	Recipients  []DSNRecipient
	// Original is the message the report is about.
	Original []byte
	// Full includes the whole original message instead of its header.
	Full bool
	// Boundary is the MIME boundary; generated when "" (tests set it).
	Boundary string
}

// maxDSNField bounds one field of the report: a remote server's reply can be
// long, and header lines must stay under 998 octets (RFC 5322 §2.1.1).
const maxDSNField = 900

// Bytes renders the notification as a complete RFC 5322 message.
func (d *DSN) Bytes() []byte {
	host := dsnText(d.ReportingMTA, 255)
	if host == "" {
		host = "localhost"
	}
	global := !d.ascii()
	now := d.Date
	if now.IsZero() {
		now = time.Now()
	}
	mid := d.MessageID
	if mid == "" {
		mid = NewMessageID(host)
	}
	boundary := d.Boundary
	if boundary == "" || bytes.Contains(d.Original, []byte(boundary)) {
		for {
			boundary = "=_dsn_" + NewID()
			if !bytes.Contains(d.Original, []byte(boundary)) {
				break
			}
		}
	}
	action := d.mainAction()
	var subject string
	switch action {
	case ActionFailed:
		subject = "Undelivered Mail Returned to Sender"
	case ActionDelayed:
		subject = "Delayed Mail (still being retried)"
	case ActionRelayed:
		subject = "Mail Relayed (no further delivery reports)"
	default:
		subject = "Successful Mail Delivery Report"
	}
	var b bytes.Buffer
	b.Grow(len(d.Original) + 2048)
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", headerToken(host))
	if to := dsnAddress(d.To); to != "" {
		fmt.Fprintf(&b, "To: <%s>\r\n", to)
	}
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", dsnText(mid, 255))
	// RFC 3834 §5: never auto-answered, never bounced in a loop.
	b.WriteString("Auto-Submitted: auto-replied\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	b.WriteString("This is a MIME-encapsulated message: a delivery status notification.\r\n\r\n")

	// Part 1: for people.
	fmt.Fprintf(&b, "--%s\r\n", boundary)
	b.WriteString("Content-Description: Notification\r\n")
	if global {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	} else {
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
	}
	d.writeHuman(&b, host)

	// Part 2: for programs (RFC 3464 §2; RFC 6533 for UTF-8 addresses).
	fmt.Fprintf(&b, "\r\n--%s\r\n", boundary)
	b.WriteString("Content-Description: Delivery report\r\n")
	if global {
		b.WriteString("Content-Type: message/global-delivery-status\r\n\r\n")
	} else {
		b.WriteString("Content-Type: message/delivery-status\r\n\r\n")
	}
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", host)
	if d.EnvID != "" {
		fmt.Fprintf(&b, "Original-Envelope-Id: %s\r\n", EncodeXtext(dsnText(d.EnvID, maxDSNField)))
	}
	if !d.ArrivalDate.IsZero() {
		fmt.Fprintf(&b, "Arrival-Date: %s\r\n", d.ArrivalDate.Format(time.RFC1123Z))
	}
	addrType := "rfc822"
	if global {
		addrType = "utf-8"
	}
	for _, r := range d.Recipients {
		b.WriteString("\r\n")
		if orcpt := dsnText(r.OriginalRecipient, maxDSNField); orcpt != "" {
			if !strings.Contains(orcpt, ";") {
				orcpt = addrType + ";" + orcpt
			}
			fmt.Fprintf(&b, "Original-Recipient: %s\r\n", orcpt)
		}
		fmt.Fprintf(&b, "Final-Recipient: %s; %s\r\n", addrType, dsnAddress(r.FinalRecipient))
		fmt.Fprintf(&b, "Action: %s\r\n", validAction(r.Action))
		fmt.Fprintf(&b, "Status: %s\r\n", validStatus(r.Status, r.Action))
		if mta := headerToken(r.RemoteMTA); mta != "" {
			fmt.Fprintf(&b, "Remote-MTA: dns; %s\r\n", mta)
		}
		if diag := dsnText(r.Diagnostic, maxDSNField); diag != "" {
			fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s\r\n", diag)
		}
		if !r.LastAttempt.IsZero() {
			fmt.Fprintf(&b, "Last-Attempt-Date: %s\r\n", r.LastAttempt.Format(time.RFC1123Z))
		}
		if !r.WillRetryUntil.IsZero() && r.Action == ActionDelayed {
			fmt.Fprintf(&b, "Will-Retry-Until: %s\r\n", r.WillRetryUntil.Format(time.RFC1123Z))
		}
	}

	// Part 3: what was sent (RFC 3462 text/rfc822-headers, or the message).
	orig := StripReturnPath(d.Original)
	fmt.Fprintf(&b, "\r\n--%s\r\n", boundary)
	switch {
	case d.Full && global:
		b.WriteString("Content-Description: Undelivered Message\r\nContent-Type: message/global\r\n\r\n")
	case d.Full:
		b.WriteString("Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n")
	case global:
		b.WriteString("Content-Description: Undelivered Message Headers\r\nContent-Type: message/global-headers\r\n\r\n")
		orig = orig[:HeaderEnd(orig)]
	default:
		b.WriteString("Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n")
		orig = orig[:HeaderEnd(orig)]
	}
	b.Write(orig)
	if len(orig) > 0 && orig[len(orig)-1] != '\n' {
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes()
}

func (d *DSN) writeHuman(b *bytes.Buffer, host string) {
	fmt.Fprintf(b, "This is the mail system at %s.\r\n\r\n", host)
	var failed, delayed, done []DSNRecipient
	for _, r := range d.Recipients {
		switch r.Action {
		case ActionFailed:
			failed = append(failed, r)
		case ActionDelayed:
			delayed = append(delayed, r)
		default:
			done = append(done, r)
		}
	}
	if len(failed) > 0 {
		b.WriteString("Your message could not be delivered to the following recipients.\r\nThis is a permanent error; the message will not be retried.\r\n\r\n")
		writeHumanList(b, failed)
		b.WriteString("\r\n")
	}
	if len(delayed) > 0 {
		b.WriteString("Your message has not been delivered yet to the following recipients.\r\nIt will be retried; you do not need to send it again.\r\n\r\n")
		writeHumanList(b, delayed)
		b.WriteString("\r\n")
	}
	if len(done) > 0 {
		b.WriteString("Your message was delivered (or handed on) to the following recipients.\r\n\r\n")
		writeHumanList(b, done)
	}
}

func writeHumanList(b *bytes.Buffer, rs []DSNRecipient) {
	for _, r := range rs {
		fmt.Fprintf(b, "  <%s>", dsnAddress(r.FinalRecipient))
		if diag := dsnText(r.Diagnostic, maxDSNField); diag != "" {
			fmt.Fprintf(b, ": %s", diag)
		}
		if r.Action == ActionDelayed && !r.WillRetryUntil.IsZero() {
			fmt.Fprintf(b, " (retried until %s)", r.WillRetryUntil.Format(time.RFC1123Z))
		}
		b.WriteString("\r\n")
	}
}

// mainAction is the action the subject talks about: failure wins over delay
// wins over success.
func (d *DSN) mainAction() string {
	best := ""
	rank := map[string]int{ActionFailed: 3, ActionDelayed: 2, ActionRelayed: 1}
	for _, r := range d.Recipients {
		if rank[r.Action] > rank[best] || best == "" {
			best = r.Action
		}
	}
	return best
}

// ascii tells whether every field that goes into the report is ASCII; if
// not, the RFC 6533 "global" media types are used.
func (d *DSN) ascii() bool {
	if !isASCII(d.To) || !isASCII(d.EnvID) {
		return false
	}
	for _, r := range d.Recipients {
		if !isASCII(r.OriginalRecipient) || !isASCII(r.FinalRecipient) || !isASCII(r.Diagnostic) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// dsnText makes s safe as (part of) a header field value: valid UTF-8,
// controls (CR and LF above all) turned into spaces, trimmed and bounded.
func dsnText(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// dsnAddress is an address as it may appear in Final-Recipient and To:
// no white space, no angle brackets, no controls.
func dsnAddress(s string) string {
	s = dsnText(s, 320)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '<' || r == '>' || r == ';' {
			return -1
		}
		return r
	}, s)
}

func validAction(a string) string {
	switch a {
	case ActionFailed, ActionDelayed, ActionDelivered, ActionRelayed, ActionExpanded:
		return a
	}
	return ActionFailed
}

// validStatus returns s if it is an enhanced status code (RFC 3463:
// class "." subject "." detail, class 2, 4 or 5), else a generic one that
// fits the action.
func validStatus(s, action string) string {
	if ParseStatus(s) != "" {
		return s
	}
	switch action {
	case ActionDelayed:
		return "4.0.0"
	case ActionDelivered, ActionRelayed, ActionExpanded:
		return "2.0.0"
	}
	return "5.0.0"
}

// ParseStatus returns the enhanced status code at the start of s (as in
// "5.1.1 No such user"), or "" if there is none.
func ParseStatus(s string) string {
	code, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	parts := strings.Split(code, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return ""
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 {
			return ""
		}
		if _, err := strconv.Atoi(p); err != nil || p[0] == '+' || p[0] == '-' {
			return ""
		}
	}
	return code
}

// EncodeXtext encodes s as xtext (RFC 3461 §4): printable ASCII except
// '+' and '=' as is, everything else as "+HH".
func EncodeXtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '!' && c <= '~' && c != '+' && c != '=' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "+%02X", c)
		}
	}
	return b.String()
}

// DecodeXtext decodes xtext (RFC 3461 §4).
func DecodeXtext(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) {
				return "", errors.New("delivery: truncated xtext hexchar")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil || s[i+1] == '+' || s[i+1] == '-' {
				return "", fmt.Errorf("delivery: bad xtext hexchar %q", s[i:i+3])
			}
			b.WriteByte(byte(v))
			i += 2
		case c < '!' || c > '~' || c == '=':
			return "", fmt.Errorf("delivery: character %q not allowed in xtext", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// Report is a parsed delivery status notification.
type Report struct {
	ReportingMTA string
	EnvID        string
	ArrivalDate  time.Time
	Recipients   []DSNRecipient
	// Original is the third part: the returned header or message.
	Original []byte
	// OriginalType is its media type (text/rfc822-headers, message/rfc822, …).
	OriginalType string
}

// ErrNotDSN is returned by ParseDSN for a message that is not a
// multipart/report with a delivery-status part.
var ErrNotDSN = errors.New("delivery: not a delivery status notification")

// ParseDSN reads a delivery status notification (RFC 3464). It is used to
// recognise bounces and in tests; it never panics on bad input.
func ParseDSN(raw []byte) (*Report, error) {
	p := message.Parse(raw)
	root := p.Root
	if root == nil || root.ContentType() != "multipart/report" {
		return nil, ErrNotDSN
	}
	var status *message.Part
	rep := &Report{}
	for _, part := range root.Parts {
		switch ct := part.ContentType(); ct {
		case "message/delivery-status", "message/global-delivery-status":
			if status == nil {
				status = part
			}
		case "text/rfc822-headers", "message/rfc822", "message/global", "message/global-headers":
			if rep.Original == nil {
				rep.Original, rep.OriginalType = raw[part.BodyStart:part.End], ct
			}
		}
	}
	if status == nil {
		return nil, ErrNotDSN
	}
	groups := splitGroups(raw[status.BodyStart:status.End])
	if len(groups) == 0 {
		return nil, fmt.Errorf("%w: empty delivery-status part", ErrNotDSN)
	}
	for _, f := range message.ReadHeader(groups[0]) {
		switch strings.ToLower(f.Key) {
		case "reporting-mta":
			rep.ReportingMTA = typedValue(f.Value)
		case "original-envelope-id":
			if v, err := DecodeXtext(strings.TrimSpace(f.Value)); err == nil {
				rep.EnvID = v
			} else {
				rep.EnvID = strings.TrimSpace(f.Value)
			}
		case "arrival-date":
			rep.ArrivalDate, _ = message.ParseDate(f.Value)
		}
	}
	for _, g := range groups[1:] {
		var r DSNRecipient
		for _, f := range message.ReadHeader(g) {
			switch strings.ToLower(f.Key) {
			case "original-recipient":
				r.OriginalRecipient = strings.TrimSpace(f.Value)
			case "final-recipient":
				r.FinalRecipient = typedValue(f.Value)
			case "action":
				r.Action = strings.ToLower(strings.TrimSpace(f.Value))
			case "status":
				r.Status = ParseStatus(f.Value)
			case "remote-mta":
				r.RemoteMTA = typedValue(f.Value)
			case "diagnostic-code":
				r.Diagnostic = typedValue(f.Value)
			case "last-attempt-date":
				r.LastAttempt, _ = message.ParseDate(f.Value)
			case "will-retry-until":
				r.WillRetryUntil, _ = message.ParseDate(f.Value)
			}
		}
		if r.FinalRecipient == "" && r.Action == "" {
			continue
		}
		rep.Recipients = append(rep.Recipients, r)
	}
	return rep, nil
}

// typedValue strips the type of "dns; host" or "rfc822; addr" values.
func typedValue(v string) string {
	if _, rest, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}

// splitGroups splits a delivery-status body into its blank-line separated
// groups of fields (RFC 3464 §2.1).
func splitGroups(body []byte) [][]byte {
	var groups [][]byte
	start := -1
	for pos := 0; pos <= len(body); {
		next := bytes.IndexByte(body[pos:], '\n')
		end := len(body)
		if next >= 0 {
			end = pos + next + 1
		}
		line := bytes.TrimRight(body[pos:end], "\r\n")
		blank := len(bytes.TrimSpace(line)) == 0
		switch {
		case blank && start >= 0:
			groups = append(groups, body[start:pos])
			start = -1
		case !blank && start < 0:
			start = pos
		}
		if next < 0 {
			break
		}
		pos = end
	}
	if start >= 0 {
		groups = append(groups, body[start:])
	}
	return groups
}
