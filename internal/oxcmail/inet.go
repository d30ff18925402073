package oxcmail

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"strings"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
)

// Limits that keep hostile mail cheap to convert.
const (
	// maxEmbedDepth is how deep attached messages are converted; deeper
	// ones become plain by-value attachments.
	maxEmbedDepth = 8
	// maxHeaderProps caps the X- header fields kept as named properties
	// per message.
	maxHeaderProps = 64
	// maxHeaderValue caps the length of one header-derived string.
	maxHeaderValue = 16 << 10
	// maxRecipients caps the recipient table derived from the header.
	maxRecipients = 10000
)

// ToMAPIOptions are the facts about a stored message that its MIME does
// not say.
type ToMAPIOptions struct {
	// DeliveryTime is PidTagMessageDeliveryTime (and the creation and
	// modification times). Zero: the date of the newest Received field,
	// else the Date field.
	DeliveryTime time.Time
	// Read sets MessageFlagRead (the message's \Seen flag).
	Read bool
	// Unsent sets MessageFlagUnsent: a draft that Outlook opens for
	// editing (the message's \Draft flag).
	Unsent bool
	// ReceivedBy is the mailbox the message was delivered to; it fills
	// PidTagReceivedBy* and PidTagReceivedRepresenting* and the
	// PidTagMessageToMe/CcMe/RecipientMe flags. Empty: left out.
	ReceivedBy Mailbox
	// AddressBook turns the organisation's own addresses into address
	// book entry ids. Nil: every address gets a one-off entry id.
	AddressBook AddressBook
}

// wellKnownHeaders are X- (and a few other) header fields whose named
// properties are created when missing. Other X- fields are mapped only if
// a client already registered their name, so hostile mail with thousands
// of invented header names cannot exhaust the mailbox's 32k named
// property ids.
var wellKnownHeaders = map[string]bool{
	"x-mailer": true, "user-agent": true, "x-originating-ip": true,
	"x-spam-flag": true, "x-spam-status": true, "x-spam-score": true, "x-spam-level": true,
	"x-virus-scanned": true, "x-ms-has-attach": true, "x-ms-tnef-correlator": true,
	"x-message-flag": true, "x-auto-response-suppress": true, "x-priority": true,
	"x-msmail-priority": true, "x-mimeole": true, "content-class": true,
}

// InetToMAPI derives the MAPI properties of a message stored as MIME
// (MS-OXCMAIL 2.2.3). raw is the message exactly as stored and p its parse
// (message.Parse or message.Unmarshal of the stored tree). np resolves the
// named properties of X- header fields and Keywords; nil leaves them out.
// Malformed mail never fails: what cannot be understood is left out. The
// error is only ever np's.
func InetToMAPI(ctx context.Context, raw []byte, p *message.Parsed, np NamedProps, opts ToMAPIOptions) (*Message, error) {
	if p == nil {
		p = message.Parse(raw)
	}
	c := &converter{ctx: ctx, raw: raw, opts: opts}
	root := p.Root
	if root == nil {
		root = &message.Part{MediaType: "text", MediaSubtype: "plain"}
	}
	m := c.convert(root, 0)
	m.Props.setInt32(mp.PidTagMessageSize, int32(min(int64(len(raw)), 1<<31-1)))
	if np != nil && len(c.named) > 0 {
		if err := c.resolveNamed(np); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// converter holds the state of one InetToMAPI call.
type converter struct {
	ctx   context.Context
	raw   []byte
	opts  ToMAPIOptions
	named []pendingNamed
}

// pendingNamed is a named property waiting for its id.
type pendingNamed struct {
	props  *Props
	name   mp.PropertyName
	create bool
	typ    mp.PropType
	value  any
}

// resolveNamed asks np for the ids of all named properties at once (one
// call for those that may be created, one for those that may not) and sets
// them.
func (c *converter) resolveNamed(np NamedProps) error {
	for _, create := range []bool{true, false} {
		var names []mp.PropertyName
		var idx []int
		seen := map[mp.PropertyName]int{}
		for i, pn := range c.named {
			if pn.create != create {
				continue
			}
			if _, ok := seen[pn.name]; !ok {
				seen[pn.name] = len(names)
				names = append(names, pn.name)
			}
			idx = append(idx, i)
		}
		if len(names) == 0 {
			continue
		}
		ids, err := np.IDs(c.ctx, names, create)
		if err != nil {
			return fmt.Errorf("oxcmail: named property ids: %w", err)
		}
		if len(ids) != len(names) {
			return fmt.Errorf("oxcmail: named property ids: %d ids for %d names", len(ids), len(names))
		}
		for _, i := range idx {
			pn := c.named[i]
			id := ids[seen[pn.name]]
			if id < 0x8000 {
				continue
			}
			pn.props.Set(mp.Value{Tag: mp.NewTag(id, pn.typ), Data: pn.value})
		}
	}
	return nil
}

// headers is the header section of one entity.
type headers []message.HeaderField

func (h headers) get(key string) string {
	for _, f := range h {
		if strings.EqualFold(f.Key, key) {
			return f.Value
		}
	}
	return ""
}

func (h headers) has(key string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Key, key) {
			return true
		}
	}
	return false
}

// text returns the decoded (RFC 2047, charsets) value of key, cleaned for
// a MAPI string.
func (h headers) text(key string) string {
	return headerText(h.get(key))
}

func headerText(v string) string {
	return truncateRunes(strings.TrimSpace(stripControls(message.DecodeHeaderText(v))), maxHeaderValue)
}

// mailboxes parses an address list into mailboxes with decoded names,
// skipping group markers and entries without a domain.
func mailboxes(v string) []Mailbox {
	var out []Mailbox
	for _, a := range message.ParseAddressList(v) {
		if a.GroupStart || a.GroupEnd || a.Host == "" || a.Mailbox == "" {
			continue
		}
		out = append(out, Mailbox{
			Name:    truncateRunes(strings.TrimSpace(stripControls(a.DisplayName())), 1024),
			Address: stripControls(a.Addr()),
		})
	}
	return out
}

// convert derives the message whose top-level entity is root.
func (c *converter) convert(root *message.Part, depth int) *Message {
	m := &Message{}
	p := &m.Props
	hdr := headers(message.ReadHeader(root.HeaderBytes(c.raw)))
	pseudo := &message.Parsed{Root: root}

	// Message class and the structure it implies (MS-OXCMAIL 2.2.3.7,
	// MS-OXOSMIME 2.1.3).
	class := "IPM.Note"
	var reportPart *message.Part
	var dsn *dsnReport
	smime := ""
	switch {
	case root.MediaType == "multipart" && root.MediaSubtype == "signed" && isPKCS7(root.Params["protocol"]):
		class, smime = "IPM.Note.SMIME.MultipartSigned", "signed"
	case root.MediaType == "application" && isPKCS7(root.ContentType()):
		class, smime = "IPM.Note.SMIME", "opaque"
	case root.MediaType == "multipart" && root.MediaSubtype == "report":
		for _, part := range root.Parts {
			switch part.ContentType() {
			case "message/delivery-status", "message/global-delivery-status":
				r := parseDSN(readPart(c.raw, part, maxReportBody))
				if a := r.highestAction(); a != "" {
					class = "REPORT.IPM.Note." + reportActions[a].suffix
					reportPart, dsn = part, &r
				}
			case "message/disposition-notification", "message/global-disposition-notification":
				switch mdnDisposition(readPart(c.raw, part, maxReportBody)) {
				case "deleted", "denied", "failed":
					class = "REPORT.IPM.Note.IPNNRN"
				default:
					class = "REPORT.IPM.Note.IPNRN"
				}
				reportPart = part
			}
			if reportPart != nil {
				break
			}
		}
	}
	p.setString(mp.PidTagMessageClass, class)

	// Subject and conversation (MS-OXCMAIL 2.2.3.2.6; MS-OXOMSG 2.2.1.3).
	subject := hdr.text("Subject")
	if hdr.has("Subject") {
		setSubject(p, subject)
	}
	_, norm := SplitSubject(subject)
	topic := norm
	if hdr.has("Thread-Topic") {
		topic = hdr.text("Thread-Topic")
	}
	p.setString(mp.PidTagConversationTopic, topic)

	// Dates.
	sent, hasDate := message.ParseDate(hdr.get("Date"))
	if hasDate {
		p.Set(mp.TimeValue(mp.PidTagClientSubmitTime, sent))
	}
	var delivery time.Time
	if depth == 0 {
		delivery = c.opts.DeliveryTime
		if delivery.IsZero() {
			delivery = receivedTime(hdr)
		}
	}
	if delivery.IsZero() && hasDate {
		delivery = sent
	}
	if !delivery.IsZero() {
		if depth == 0 {
			p.Set(mp.TimeValue(mp.PidTagMessageDeliveryTime, delivery))
		}
		p.Set(mp.TimeValue(mp.PidTagCreationTime, delivery))
		p.Set(mp.TimeValue(mp.PidTagLastModificationTime, delivery))
	}

	// Message ids and threading.
	msgID := cleanID(hdr.get("Message-Id"))
	if msgID != "" {
		p.setString(mp.PidTagInternetMessageId, msgID)
	}
	inReplyTo := cleanID(hdr.get("In-Reply-To"))
	if inReplyTo != "" {
		p.setString(mp.PidTagInReplyToId, inReplyTo)
	}
	refs := message.ParseMessageIDs(hdr.get("References"))
	if len(refs) > 0 {
		p.setString(mp.PidTagInternetReferences, joinIDs(refs))
	}
	if idx := decodeThreadIndex(hdr.get("Thread-Index")); idx != nil {
		p.setBinary(mp.PidTagConversationIndex, idx)
	} else {
		root := ""
		switch {
		case len(refs) > 0:
			root = refs[0]
		case inReplyTo != "":
			root = strings.Trim(inReplyTo, "<>")
		case msgID != "":
			root = strings.Trim(msgID, "<>")
		default:
			root = "topic:" + topic
		}
		replies := len(refs)
		if replies == 0 && inReplyTo != "" {
			replies = 1
		}
		t := sent
		if !hasDate {
			t = delivery
		}
		p.setBinary(mp.PidTagConversationIndex, ConversationIndex(t, root, replies))
	}

	// Originator (MS-OXCMAIL 2.2.3.2.1-2.2.3.2.3): From is the
	// represented sender, Sender the one who sent; without Sender both
	// are From.
	from := mailboxes(hdr.get("From"))
	sender := mailboxes(hdr.get("Sender"))
	if len(from) == 0 && len(sender) > 0 {
		from = sender
	}
	if len(sender) == 0 {
		sender = from
	}
	if len(from) > 0 {
		setAddress(c.ctx, p, sentReprTags, c.opts.AddressBook, from[0])
	}
	if len(sender) > 0 {
		setAddress(c.ctx, p, senderTags, c.opts.AddressBook, sender[0])
	}
	if replyTo := mailboxes(hdr.get("Reply-To")); len(replyTo) > 0 {
		var eids [][]byte
		var names []string
		for _, mb := range replyTo[:min(len(replyTo), 64)] {
			eids = append(eids, OneOffEntryID(mb.Name, mb.Address))
			n := mb.Name
			if n == "" {
				n = mb.Address
			}
			names = append(names, strings.ReplaceAll(n, ";", ""))
		}
		p.setBinary(mp.PidTagReplyRecipientEntries, FlatEntryList(eids))
		p.setString(mp.PidTagReplyRecipientNames, strings.Join(names, "; "))
	}

	// Recipients.
	if dsn != nil {
		m.Recipients = c.dsnRecipients(*dsn)
	} else {
		for _, f := range []struct {
			key string
			typ int32
		}{{"To", mp.RecipientTo}, {"Cc", mp.RecipientCc}, {"Bcc", mp.RecipientBcc}} {
			for _, fld := range hdr {
				if !strings.EqualFold(fld.Key, f.key) {
					continue
				}
				for _, mb := range mailboxes(fld.Value) {
					if len(m.Recipients) >= maxRecipients {
						break
					}
					m.Recipients = append(m.Recipients, newRecipient(c.ctx, c.opts.AddressBook, len(m.Recipients), f.typ, mb))
				}
			}
		}
	}
	to, cc, bcc := DisplayRecipients(m.Recipients)
	p.setString(mp.PidTagDisplayTo, to)
	p.setString(mp.PidTagDisplayCc, cc)
	p.setString(mp.PidTagDisplayBcc, bcc)
	if depth == 0 && c.opts.ReceivedBy.Address != "" {
		c.setReceivedBy(m)
	}
	if dsn != nil && dsn.reportingMTA != "" {
		p.setString(PidTagReportingMessageTransferAgent, truncateRunes(stripControls(dsn.reportingMTA), 1024))
	}

	// Flags and options (MS-OXCMAIL 2.2.3.2.4-2.2.3.2.10).
	p.setInt32(mp.PidTagImportance, importance(hdr))
	if v := hdr.get("Priority"); v != "" {
		switch strings.ToLower(firstWord(v)) {
		case "urgent":
			p.setInt32(mp.PidTagPriority, PriorityUrgent)
		case "non-urgent":
			p.setInt32(mp.PidTagPriority, PriorityNonUrgent)
		default:
			p.setInt32(mp.PidTagPriority, PriorityNormal)
		}
	}
	p.setInt32(mp.PidTagSensitivity, sensitivity(hdr.get("Sensitivity")))
	if v := hdr.get("Disposition-Notification-To"); v != "" {
		p.setBool(mp.PidTagReadReceiptRequested, true)
		p.setBool(PidTagNonReceiptNotificationRequested, true)
		if mbs := mailboxes(v); len(mbs) > 0 {
			setAddress(c.ctx, p, readReceiptTags, nil, mbs[0])
		}
	}
	if hdr.has("Return-Receipt-To") {
		p.setBool(mp.PidTagOriginatorDeliveryReportRequested, true)
	}
	if v := hdr.get("X-Auto-Response-Suppress"); v != "" {
		p.setInt32(PidTagAutoResponseSuppress, autoResponseSuppress(v))
	}
	if v := strings.ToLower(firstWord(hdr.get("Auto-Submitted"))); v != "" && v != "no" {
		if !p.Has(PidTagAutoResponseSuppress) {
			p.setInt32(PidTagAutoResponseSuppress, 0x10|0x20) // OOF | AutoReply
		}
		if v == "auto-forwarded" {
			p.setBool(mp.PidTagAutoForwarded, true)
		}
	}
	for _, l := range []struct {
		key string
		tag mp.Tag
	}{{"List-Help", PidTagListHelp}, {"List-Subscribe", PidTagListSubscribe}, {"List-Unsubscribe", PidTagListUnsubscribe}} {
		if v := hdr.get(l.key); v != "" {
			p.setString(l.tag, truncateRunes(stripControls(v), maxHeaderValue))
		}
	}
	if depth == 0 || root.HeaderStart < root.BodyStart {
		p.setString(mp.PidTagTransportMessageHeaders, fallbackUTF8(root.HeaderBytes(c.raw)))
	}

	// Body (MS-OXCMAIL 2.2.3.3).
	c.setBody(p, pseudo)

	// Attachments (MS-OXCMAIL 2.2.3.4).
	switch smime {
	case "signed":
		// The signature part is no attachment of the signed content.
		hasAtt := len(root.Parts) > 0 && hasRealAttachments(&message.Parsed{Root: root.Parts[0]})
		m.Attachments = []*Attachment{c.smimeAttachment(root, true)}
		p.setBool(mp.PidTagHasAttachments, hasAtt)
	case "opaque":
		m.Attachments = []*Attachment{c.smimeAttachment(root, false)}
		p.setBool(mp.PidTagHasAttachments, true)
	default:
		for _, a := range message.Attachments(pseudo) {
			if a.Part == reportPart {
				continue
			}
			m.Attachments = append(m.Attachments, c.attachment(a, len(m.Attachments), depth))
		}
		has := false
		for _, a := range m.Attachments {
			if !a.Props.Bool(PidTagAttachmentHidden) {
				has = true
			}
		}
		p.setBool(mp.PidTagHasAttachments, has)
	}

	flags := int32(0)
	if c.opts.Read {
		flags |= mp.MessageFlagRead
	}
	if c.opts.Unsent && depth == 0 {
		flags |= mp.MessageFlagUnsent
	}
	if p.Bool(mp.PidTagHasAttachments) {
		flags |= mp.MessageFlagHasAttach
	}
	if depth > 0 {
		flags |= mp.MessageFlagRead
	}
	p.setInt32(mp.PidTagMessageFlags, flags)

	c.headerProps(p, hdr)
	return m
}

// setReceivedBy fills PidTagReceivedBy* and PidTagReceivedRepresenting*
// and the "to me" flags from the delivery recipient.
func (c *converter) setReceivedBy(m *Message) {
	p := &m.Props
	mb := c.opts.ReceivedBy
	setAddress(c.ctx, p, receivedByTags, c.opts.AddressBook, mb)
	setAddress(c.ctx, p, receivedReprTags, c.opts.AddressBook, mb)
	toMe, ccMe := false, false
	for _, r := range m.Recipients {
		if !strings.EqualFold(r.String(mp.PidTagSmtpAddress), mb.Address) {
			continue
		}
		switch t, _ := r.Int32(mp.PidTagRecipientType); t {
		case mp.RecipientTo:
			toMe = true
		case mp.RecipientCc:
			ccMe = true
		}
	}
	p.setBool(mp.PidTagMessageToMe, toMe)
	p.setBool(mp.PidTagMessageCcMe, ccMe)
	p.setBool(mp.PidTagMessageRecipientMe, toMe || ccMe)
}

// dsnRecipients builds the recipient table of a delivery report from its
// per-recipient fields of the highest severity (MS-OXCMAIL 2.2.3.7.1).
func (c *converter) dsnRecipients(r dsnReport) []Props {
	action := r.highestAction()
	var out []Props
	for _, rc := range r.recipients {
		if rc.action != action || len(out) >= maxRecipients {
			continue
		}
		addr := stripControls(rc.finalRecipient)
		rp := newRecipient(c.ctx, c.opts.AddressBook, len(out), mp.RecipientTo, Mailbox{Name: stripControls(rc.displayName), Address: addr})
		if rc.remoteMTA != "" {
			rp.setString(PidTagRemoteMessageTransferAgent, truncateRunes(stripControls(rc.remoteMTA), 1024))
		}
		rp.setString(PidTagSupplementaryInfo, truncateRunes(stripControls(rc.supplementaryInfo()), maxHeaderValue))
		out = append(out, rp)
	}
	return out
}

// setBody sets PidTagBody, PidTagHtml, PidTagNativeBody and
// PidTagInternetCodepage from the message's text and HTML parts.
func (c *converter) setBody(p *Props, pseudo *message.Parsed) {
	textPart := message.TextPart(pseudo)
	htmlPart := message.HTMLPart(pseudo)
	var cp uint32
	if htmlPart != nil {
		body := readPart(c.raw, htmlPart, 1<<62)
		charset := htmlPart.Params["charset"]
		html, hcp := htmlBytes(body, charset)
		p.setBinary(mp.PidTagHtml, html)
		cp = hcp
		p.setInt32(mp.PidTagNativeBody, NativeBodyHTML)
		if textPart == nil {
			p.setString(mp.PidTagBody, HTMLToText(decodeCharset(charsetOfCodePage(hcp), html)))
		}
	}
	if textPart != nil {
		p.setString(mp.PidTagBody, message.DecodeText(c.raw, textPart))
		if htmlPart == nil {
			p.setInt32(mp.PidTagNativeBody, NativeBodyPlain)
			cp = textCodePage(textPart.Params["charset"], readPart(c.raw, textPart, 1<<20))
		}
	}
	if cp == 0 {
		cp = 65001
	}
	p.setInt32(mp.PidTagInternetCodepage, int32(cp))
}

// htmlBytes returns the HTML body as PidTagHtml keeps it: the bytes as
// sent with the code page of their charset, or converted to UTF-8 (code
// page 65001) when the charset has no code page or does not say what the
// bytes are.
func htmlBytes(body []byte, charset string) ([]byte, uint32) {
	cp, ok := CodePageForCharset(charset)
	switch {
	case ok && cp == 20127 && !isASCII(body):
		// Mislabelled 8-bit: read it the way internal/message does.
		return []byte(fallbackUTF8(body)), 65001
	case ok && cp != 1200 && cp != 1201 && cp != 65000:
		if _, labelled := CharsetForCodePage(cp); labelled {
			return body, cp
		}
	}
	return []byte(decodeCharset(charset, body)), 65001
}

// textCodePage is the code page of a text body for PidTagInternetCodepage.
func textCodePage(charset string, sample []byte) uint32 {
	cp, ok := CodePageForCharset(charset)
	if !ok || (cp == 20127 && !isASCII(sample)) {
		if isASCII(sample) && charset == "" {
			return 20127
		}
		return 65001
	}
	return cp
}

func charsetOfCodePage(cp uint32) string {
	name, _ := CharsetForCodePage(cp)
	return name
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// hasRealAttachments reports whether a message has an attachment that is
// not rendered inside its HTML body.
func hasRealAttachments(p *message.Parsed) bool {
	for _, a := range message.Attachments(p) {
		if !a.Inline {
			return true
		}
	}
	return false
}

// attachment derives one attachment object (MS-OXCMAIL 2.2.3.4).
func (c *converter) attachment(a message.Attachment, num, depth int) *Attachment {
	part := a.Part
	att := &Attachment{Part: part, raw: c.raw}
	p := &att.Props
	p.setInt32(mp.PidTagAttachNumber, int32(num))
	p.setInt32(mp.PidTagObjectType, mp.ObjectTypeAttachment)
	p.setInt32(mp.PidTagRenderingPosition, -1)
	mimeTag := part.ContentType()
	p.setString(mp.PidTagAttachMimeTag, mimeTag)

	if emb := part.Embedded(); emb != nil && depth < maxEmbedDepth {
		att.Embedded = c.convert(emb, depth+1)
		att.Embedded.Props.setInt32(mp.PidTagMessageSize, int32(min(part.Size, 1<<31-1)))
		p.setInt32(mp.PidTagAttachMethod, mp.AttachMethodEmbedded)
		p.setInt32(mp.PidTagAttachSize, int32(min(part.Size, 1<<31-1)))
		name := att.Embedded.Props.String(mp.PidTagSubject)
		if a.FileName != "" {
			name = sanitizeFileName(a.FileName)
		}
		p.setString(mp.PidTagDisplayName, name)
	} else {
		p.setInt32(mp.PidTagAttachMethod, mp.AttachMethodByValue)
		p.setInt32(mp.PidTagAttachSize, int32(min(decodedSize(c.raw, part), 1<<31-1)))
		name := sanitizeFileName(a.FileName)
		if name == "" {
			name = fmt.Sprintf("attachment%d%s", num+1, extensionForType(mimeTag))
		}
		setFileName(p, name)
		if part.MediaType == "text" {
			if cs := part.Params["charset"]; cs != "" {
				p.setString(PidTagTextAttachmentCharset, stripControls(cs))
			}
		}
	}
	if id := strings.TrimSpace(strings.Trim(strings.TrimSpace(part.ContentID), "<>")); id != "" {
		p.setString(mp.PidTagAttachContentId, truncateRunes(stripControls(id), 1024))
	}
	if loc := strings.TrimSpace(part.Location); loc != "" {
		p.setString(mp.PidTagAttachContentLocation, truncateRunes(stripControls(loc), 2048))
	}
	if a.Inline {
		p.setBool(PidTagAttachmentHidden, true)
		p.setInt32(mp.PidTagAttachFlags, AttachRenderedInBody)
	} else {
		p.setBool(PidTagAttachmentHidden, false)
		p.setInt32(mp.PidTagAttachFlags, 0)
	}
	// RFC 2183 §2.4-2.5 dates, when the sender gave them.
	if t, ok := message.ParseDate(part.DispositionParams["creation-date"]); ok {
		p.Set(mp.TimeValue(mp.PidTagCreationTime, t))
	}
	if t, ok := message.ParseDate(part.DispositionParams["modification-date"]); ok {
		p.Set(mp.TimeValue(mp.PidTagLastModificationTime, t))
	}
	return att
}

// smimeAttachment is the single attachment of an S/MIME message
// (MS-OXOSMIME 2.1.3.1-2.1.3.2): "smime.p7m" holding the whole
// multipart/signed entity (its Content-* header fields and body) for a
// clear-signed message, or the decoded PKCS #7 body of an opaque one.
func (c *converter) smimeAttachment(root *message.Part, clearSigned bool) *Attachment {
	att := &Attachment{raw: c.raw}
	p := &att.Props
	p.setInt32(mp.PidTagAttachNumber, 0)
	p.setInt32(mp.PidTagObjectType, mp.ObjectTypeAttachment)
	p.setInt32(mp.PidTagAttachMethod, mp.AttachMethodByValue)
	p.setInt32(mp.PidTagRenderingPosition, -1)
	setFileName(p, "smime.p7m")
	p.setBool(PidTagAttachmentHidden, false)
	p.setInt32(mp.PidTagAttachFlags, 0)
	if clearSigned {
		p.setString(mp.PidTagAttachMimeTag, "multipart/signed")
		var b bytes.Buffer
		for _, f := range message.ReadHeader(root.HeaderBytes(c.raw)) {
			if strings.HasPrefix(strings.ToLower(f.Key), "content-") || strings.EqualFold(f.Key, "MIME-Version") {
				b.Write(f.Raw)
			}
		}
		b.WriteString("\r\n")
		b.Write(root.BodyBytes(c.raw))
		p.setBinary(mp.PidTagAttachDataBinary, b.Bytes())
		p.setInt32(mp.PidTagAttachSize, int32(min(b.Len(), 1<<31-1)))
	} else {
		p.setString(mp.PidTagAttachMimeTag, root.ContentType())
		att.Part = root
		p.setInt32(mp.PidTagAttachSize, int32(min(decodedSize(c.raw, root), 1<<31-1)))
	}
	return att
}

func isPKCS7(ct string) bool {
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "application/pkcs7-signature", "application/x-pkcs7-signature",
		"application/pkcs7-mime", "application/x-pkcs7-mime":
		return true
	}
	return false
}

// setFileName sets the file name properties of a by-value attachment.
func setFileName(p *Props, name string) {
	p.setString(mp.PidTagDisplayName, name)
	p.setString(mp.PidTagAttachLongFilename, name)
	p.setString(mp.PidTagAttachFilename, shortFileName(name))
	if ext := path.Ext(name); ext != "" && len(ext) <= 16 {
		p.setString(mp.PidTagAttachExtension, ext)
	}
}

// sanitizeFileName removes what a client cannot store as a file name: path
// separators, characters Windows forbids, control characters, leading and
// trailing dots and blanks.
func sanitizeFileName(name string) string {
	name = stripControls(name)
	name = strings.Map(func(r rune) rune {
		switch r {
		case '/', '\\', ':', '*', '?', '"', '<', '>', '|', '\t':
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, ". ")
	return truncateRunes(name, 255)
}

// shortFileName makes an 8.3 name for PidTagAttachFilename.
func shortFileName(name string) string {
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	clean := func(s string, n int) string {
		var sb strings.Builder
		for _, r := range strings.ToUpper(s) {
			if sb.Len() >= n {
				break
			}
			if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
				sb.WriteRune(r)
			}
		}
		return sb.String()
	}
	b, e := clean(base, 8), clean(strings.TrimPrefix(ext, "."), 3)
	if b == "" {
		b = "ATTACH"
	}
	if e == "" {
		return b
	}
	return b + "." + e
}

// decodedSize is the size of a part's body once its transfer encoding is
// undone, computed without decoding base64 into memory.
func decodedSize(raw []byte, p *message.Part) int64 {
	body := p.BodyBytes(raw)
	switch strings.ToLower(strings.Trim(p.Encoding, " \t\"")) {
	case "base64":
		// Same rules as message.DecodeBody: bytes outside the alphabet
		// are skipped, '=' ends the current quantum.
		var n int64
		q := 0
		for _, ch := range body {
			switch base64Class[ch] {
			case b64Alpha:
				q++
				if q == 4 {
					n += 3
					q = 0
				}
			case b64Pad:
				if q >= 2 {
					n += int64(q - 1)
				}
				q = 0
			}
		}
		if q >= 2 {
			n += int64(q - 1)
		}
		return n
	case "quoted-printable":
		var n int64
		r := message.DecodeBody(raw, p)
		buf := make([]byte, 32<<10)
		for {
			k, err := r.Read(buf)
			n += int64(k)
			if err != nil {
				return n
			}
		}
	}
	return int64(len(body))
}

// base64 byte classes for decodedSize.
const (
	b64Skip = iota
	b64Alpha
	b64Pad
)

var base64Class = func() (t [256]uint8) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = b64Alpha
	}
	t['='] = b64Pad
	return t
}()

// receivedTime returns the date of the newest (topmost) Received field.
func receivedTime(h headers) time.Time {
	for _, f := range h {
		if !strings.EqualFold(f.Key, "Received") {
			continue
		}
		if i := strings.LastIndexByte(f.Value, ';'); i >= 0 {
			if t, ok := message.ParseDate(f.Value[i+1:]); ok {
				return t
			}
		}
		return time.Time{}
	}
	return time.Time{}
}

// cleanID returns a message id field value as MAPI keeps it (with angle
// brackets), or "" when it holds no id.
func cleanID(v string) string {
	ids := message.ParseMessageIDs(v)
	if len(ids) == 0 {
		return ""
	}
	id := stripControls(ids[0])
	if id == "" || strings.ContainsAny(id, " \t") || len(id) > 998 {
		return ""
	}
	return "<" + id + ">"
}

// joinIDs renders message ids the way PidTagInternetReferences holds them.
func joinIDs(ids []string) string {
	var sb strings.Builder
	for _, id := range ids {
		id = stripControls(id)
		if id == "" || strings.ContainsAny(id, " \t<>") {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("<" + id + ">")
		if sb.Len() > maxHeaderValue {
			break
		}
	}
	return sb.String()
}

// decodeThreadIndex decodes an Outlook Thread-Index field (base64 of
// PidTagConversationIndex), or returns nil when it is not one.
func decodeThreadIndex(v string) []byte {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil || len(b) < 22 || (len(b)-22)%5 != 0 || b[0] != 0x01 {
		return nil
	}
	return b
}

// importance maps Importance, X-Priority, Priority and X-MSMail-Priority
// to PidTagImportance, the first present field winning (MS-OXCMAIL
// 2.2.3.2.5).
func importance(h headers) int32 {
	if v := strings.ToLower(firstWord(h.get("Importance"))); v != "" {
		switch v {
		case "high":
			return ImportanceHigh
		case "low":
			return ImportanceLow
		}
		return ImportanceNormal
	}
	if v := strings.TrimSpace(h.get("X-Priority")); v != "" {
		switch v[0] {
		case '1', '2':
			return ImportanceHigh
		case '4', '5':
			return ImportanceLow
		}
		return ImportanceNormal
	}
	if v := strings.ToLower(firstWord(h.get("Priority"))); v != "" {
		switch v {
		case "urgent":
			return ImportanceHigh
		case "non-urgent":
			return ImportanceLow
		}
		return ImportanceNormal
	}
	switch strings.ToLower(firstWord(h.get("X-MSMail-Priority"))) {
	case "high":
		return ImportanceHigh
	case "low":
		return ImportanceLow
	}
	return ImportanceNormal
}

// sensitivity maps the Sensitivity field (RFC 2156; MS-OXCMAIL 2.2.3.2.6).
func sensitivity(v string) int32 {
	switch strings.ToLower(firstWord(v)) {
	case "personal":
		return SensitivityPersonal
	case "private":
		return SensitivityPrivate
	case "company-confidential":
		return SensitivityCompanyConfidential
	}
	return SensitivityNone
}

// autoResponseSuppress maps X-Auto-Response-Suppress (MS-OXCMAIL
// 2.2.3.2.14) to PidTagAutoResponseSuppress bits.
func autoResponseSuppress(v string) int32 {
	var bits int32
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch strings.ToLower(w) {
		case "dr":
			bits |= 0x01
		case "ndr":
			bits |= 0x02
		case "rn":
			bits |= 0x04
		case "nrn":
			bits |= 0x08
		case "oof":
			bits |= 0x10
		case "autoreply":
			bits |= 0x20
		case "all":
			bits = -1
		}
	}
	return bits
}

// headerProps queues the named properties of the header: X- fields and a
// few others in PS_INTERNET_HEADERS (names lower case, values decoded),
// and Keywords as the categories (PS_PUBLIC_STRINGS "Keywords").
func (c *converter) headerProps(p *Props, h headers) {
	seen := map[string]bool{}
	n := 0
	for _, f := range h {
		key := strings.ToLower(f.Key)
		if seen[key] {
			continue
		}
		seen[key] = true
		switch {
		case key == "keywords":
			var kw []string
			for _, k := range strings.Split(headerText(f.Value), ",") {
				if k = strings.TrimSpace(k); k != "" && len(kw) < 64 {
					kw = append(kw, cleanString(k))
				}
			}
			if len(kw) > 0 {
				c.named = append(c.named, pendingNamed{props: p, name: mp.StringName(mp.PS_PUBLIC_STRINGS, "Keywords"),
					create: true, typ: mp.PtypMultipleString, value: kw})
			}
			continue
		case strings.HasPrefix(key, "x-") || wellKnownHeaders[key]:
		default:
			continue
		}
		if len(key) > 120 {
			continue
		}
		if !wellKnownHeaders[key] {
			// Only lookups, but still bounded per message.
			if n >= maxHeaderProps {
				continue
			}
			n++
		}
		c.named = append(c.named, pendingNamed{props: p, name: mp.StringName(mp.PS_INTERNET_HEADERS, key),
			create: wellKnownHeaders[key], typ: mp.PtypString, value: cleanString(headerText(f.Value))})
	}
}

// extensionForType returns a file name extension for attachments that
// name none. A fixed table keeps the result the same on every machine
// (mime.ExtensionsByType reads the host's tables).
func extensionForType(ct string) string {
	switch ct {
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".htm"
	case "text/calendar":
		return ".ics"
	case "text/vcard", "text/x-vcard":
		return ".vcf"
	case "text/csv":
		return ".csv"
	case "text/rfc822-headers":
		return ".txt"
	case "message/rfc822":
		return ".eml"
	case "message/delivery-status", "message/disposition-notification":
		return ".txt"
	case "image/jpeg", "image/jpg", "image/pjpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/bmp":
		return ".bmp"
	case "image/tiff":
		return ".tif"
	case "application/pdf":
		return ".pdf"
	case "application/zip":
		return ".zip"
	case "application/ms-tnef":
		return ".dat"
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		return ".p7m"
	case "application/pkcs7-signature", "application/x-pkcs7-signature":
		return ".p7s"
	case "audio/mpeg":
		return ".mp3"
	case "audio/wav", "audio/x-wav":
		return ".wav"
	}
	return ".bin"
}
