package oxcmail

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"mime"
	"path"
	"strings"
	"time"
	"unicode/utf16"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
)

// maxRenderDepth bounds embedded messages inside embedded messages; a
// deeper (or cyclic) structure is an error, not a stack overflow.
const maxRenderDepth = 16

// ToInetOptions control MAPIToInet.
type ToInetOptions struct {
	// Hostname is the right-hand side of a generated Message-ID.
	// Default "localhost".
	Hostname string
	// Now is the Date when the message has no PidTagClientSubmitTime.
	// Zero: the current time.
	Now time.Time
	// KeepBcc writes the Bcc field. A message handed to transport never
	// carries it (RFC 5322 §3.6.3); the copy kept in Sent Items may.
	KeepBcc bool
}

// ErrTooDeep reports embedded messages nested beyond maxRenderDepth (or a
// cycle of them).
var ErrTooDeep = errors.New("oxcmail: embedded messages nested too deeply")

// MAPIToInet renders a message made through MAPI as RFC 5322/MIME
// (MS-OXCMAIL 2.1.3) with CRLF line ends and 7-bit-clean content:
//
//   - From from PidTagSentRepresenting*, Sender from PidTagSender* when it
//     differs; To and Cc (and Bcc only with KeepBcc) from the recipients;
//     Reply-To from PidTagReplyRecipientEntries;
//   - Subject (RFC 2047 when not ASCII), Date from PidTagClientSubmitTime,
//     Message-ID from PidTagInternetMessageId (generated when missing:
//     callers that keep the message set it first with NewMessageID),
//     In-Reply-To, References, Thread-Topic, Thread-Index, Importance,
//     X-Priority, Priority, Sensitivity, Disposition-Notification-To,
//     X-Auto-Response-Suppress;
//   - the body as text/plain, text/html, or multipart/alternative of both
//     (the text made from the HTML when only HTML is set; the HTML or text
//     de-encapsulated from PidTagRtfCompressed when that is all there is),
//     inline attachments (Content-ID, rendered in the body) beside the
//     HTML in multipart/related, other attachments in multipart/mixed with
//     Content-Disposition and RFC 2231 file names, embedded messages as
//     message/rfc822;
//   - an S/MIME message (IPM.Note.SMIME*) whose only attachment is its
//     smime.p7m as that signed or encrypted entity (MS-OXOSMIME 2.1.3).
//
// Header values are sanitised (no control characters, no header
// injection); recipients without an SMTP address are left out (see
// RecipientMailbox). The result parses with message.Parse without
// warnings.
func MAPIToInet(m *Message, opts ToInetOptions) ([]byte, error) {
	if m == nil {
		return nil, errors.New("oxcmail: nil message")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := &renderer{opts: opts}
	var buf bytes.Buffer
	if err := r.message(&buf, m, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NewMessageID returns a new unique Message-ID value "<…@hostname>".
func NewMessageID(hostname string) string {
	hostname = strings.Trim(safeHeader(hostname), ".")
	if hostname == "" || !isToken(strings.ReplaceAll(hostname, ".", "")) {
		hostname = "localhost"
	}
	var b [15]byte
	rand.Read(b[:])
	return "<" + strings.ToLower(base32.StdEncoding.EncodeToString(b[:])) + "@" + hostname + ">"
}

type renderer struct {
	opts ToInetOptions
}

// entity is one MIME entity being built: its Content-* fields and either
// an encoded body or child entities.
type entity struct {
	mediaType string   // "type/subtype"
	params    []string // rendered Content-Type parameters (without boundary)
	encoding  string   // Content-Transfer-Encoding; "" for multiparts
	disp      string   // Content-Disposition type, "" for none
	dispParam []string
	id        string // Content-ID with brackets
	location  string
	desc      string
	body      []byte // encoded body of a leaf
	parts     []*entity
	raw       []byte // a complete entity (header fields, blank line, body) written as is
}

// message writes the header of m and its content.
func (r *renderer) message(buf *bytes.Buffer, m *Message, depth int) error {
	if depth > maxRenderDepth {
		return ErrTooDeep
	}
	p := m.Props
	h := headerWriter{buf}

	// Originator (MS-OXCMAIL 2.1.3.2.1-2.1.3.2.3).
	from := addressOf(p, sentReprTags)
	sender := addressOf(p, senderTags)
	if !validAddress(from.Address) {
		from = sender
	}
	if validAddress(from.Address) {
		h.field("From", formatAddress(from))
		if validAddress(sender.Address) && !strings.EqualFold(sender.Address, from.Address) {
			h.field("Sender", formatAddress(sender))
		}
	}
	if eids, err := ParseFlatEntryList(p.Binary(mp.PidTagReplyRecipientEntries)); err == nil {
		var list []string
		for _, e := range eids {
			if oo, err := mp.ParseOneOffEntryID(e); err == nil && validAddress(oo.EmailAddress) {
				list = append(list, formatAddress(Mailbox{Name: oo.DisplayName, Address: oo.EmailAddress}))
			}
		}
		if len(list) > 0 {
			h.field("Reply-To", strings.Join(list, ", "))
		}
	}

	// Recipients (MS-OXCMAIL 2.1.3.2.4).
	var to, cc, bcc []string
	for _, rc := range m.Recipients {
		mb, ok := RecipientMailbox(rc)
		if !ok {
			continue
		}
		typ, _ := rc.Int32(mp.PidTagRecipientType)
		switch typ & 0x0F {
		case mp.RecipientTo:
			to = append(to, formatAddress(mb))
		case mp.RecipientCc:
			cc = append(cc, formatAddress(mb))
		case mp.RecipientBcc:
			bcc = append(bcc, formatAddress(mb))
		}
	}
	if len(to) > 0 {
		h.field("To", strings.Join(to, ", "))
	}
	if len(cc) > 0 {
		h.field("Cc", strings.Join(cc, ", "))
	}
	if len(bcc) > 0 && r.opts.KeepBcc {
		h.field("Bcc", strings.Join(bcc, ", "))
	}

	subject := p.String(mp.PidTagSubject)
	if !p.Has(mp.PidTagSubject) {
		subject = p.String(mp.PidTagSubjectPrefix) + p.String(mp.PidTagNormalizedSubject)
	}
	if s := encodeText(subject); s != "" {
		h.field("Subject", s)
	}
	// A draft has no submit time; its modification time keeps the
	// rendering stable.
	date := r.opts.Now
	for _, tag := range []mp.Tag{mp.PidTagCreationTime, mp.PidTagLastModificationTime, mp.PidTagClientSubmitTime} {
		if v, ok := p.Get(tag); ok {
			if t, ok := v.AsTime(); ok && t.Year() > 1601 {
				date = t
			}
		}
	}
	h.field("Date", date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	if id := idsOf(p.String(mp.PidTagInternetMessageId)); len(id) > 0 {
		h.field("Message-ID", id[0])
	} else if depth == 0 {
		h.field("Message-ID", NewMessageID(r.opts.Hostname))
	}
	if ids := idsOf(p.String(mp.PidTagInReplyToId)); len(ids) > 0 {
		h.field("In-Reply-To", ids[0])
	}
	if ids := idsOf(p.String(mp.PidTagInternetReferences)); len(ids) > 0 {
		h.field("References", strings.Join(ids, " "))
	}
	if topic := p.String(mp.PidTagConversationTopic); topic != "" {
		h.field("Thread-Topic", encodeText(topic))
	}
	if idx := p.Binary(mp.PidTagConversationIndex); len(idx) >= 22 && len(idx) <= 22+5*64 {
		h.field("Thread-Index", encodeBase64Line(idx))
	}

	// Options (MS-OXCMAIL 2.1.3.2.5-2.1.3.2.14).
	if imp, ok := p.Int32(mp.PidTagImportance); ok {
		switch imp {
		case ImportanceHigh:
			h.field("Importance", "high")
			h.field("X-Priority", "1 (Highest)")
		case ImportanceLow:
			h.field("Importance", "low")
			h.field("X-Priority", "5 (Lowest)")
		}
	}
	if pr, ok := p.Int32(mp.PidTagPriority); ok {
		switch {
		case pr > 0:
			h.field("Priority", "urgent")
		case pr < 0:
			h.field("Priority", "non-urgent")
		}
	}
	if s, ok := p.Int32(mp.PidTagSensitivity); ok {
		switch s {
		case SensitivityPersonal:
			h.field("Sensitivity", "Personal")
		case SensitivityPrivate:
			h.field("Sensitivity", "Private")
		case SensitivityCompanyConfidential:
			h.field("Sensitivity", "Company-Confidential")
		}
	}
	if p.Bool(mp.PidTagReadReceiptRequested) {
		rr := addressOf(p, readReceiptTags)
		if !validAddress(rr.Address) {
			rr = from
		}
		if validAddress(rr.Address) {
			h.field("Disposition-Notification-To", formatAddress(rr))
		}
	}
	if bits, ok := p.Int32(PidTagAutoResponseSuppress); ok && bits != 0 {
		h.field("X-Auto-Response-Suppress", suppressNames(bits))
	}
	h.field("MIME-Version", "1.0")

	content, err := r.content(m, depth)
	if err != nil {
		return err
	}
	r.writeEntity(buf, content)
	return nil
}

// content builds the MIME structure of m's body and attachments.
func (r *renderer) content(m *Message, depth int) (*entity, error) {
	p := m.Props
	if e := r.smimeContent(m); e != nil {
		return e, nil
	}
	text, html, htmlCharset := r.bodies(p)

	var inline, regular []*entity
	for _, a := range m.Attachments {
		e, err := r.attachment(a, depth)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue
		}
		if html != nil && e.id != "" && (a.Props.Bool(PidTagAttachmentHidden) || attachFlags(a.Props)&AttachRenderedInBody != 0) {
			e.disp = "inline"
			inline = append(inline, e)
		} else {
			regular = append(regular, e)
		}
	}

	var body *entity
	textEnt := textEntity("text/plain", []byte(text), "utf-8")
	if html != nil {
		htmlEnt := textEntity("text/html", html, htmlCharset)
		if len(inline) > 0 {
			htmlEnt = &entity{mediaType: "multipart/related", params: []string{`type="text/html"`},
				parts: append([]*entity{htmlEnt}, inline...)}
		}
		body = &entity{mediaType: "multipart/alternative", parts: []*entity{textEnt, htmlEnt}}
	} else {
		body = textEnt
	}
	if len(regular) > 0 {
		body = &entity{mediaType: "multipart/mixed", parts: append([]*entity{body}, regular...)}
	}
	return body, nil
}

// bodies returns the plain text and the HTML (in its charset) of a
// message: PidTagBody, PidTagHtml in the PidTagInternetCodepage charset
// (or PidTagBodyHtml), and failing both what PidTagRtfCompressed holds.
func (r *renderer) bodies(p Props) (text string, html []byte, htmlCharset string) {
	text = p.String(mp.PidTagBody)
	hasText := p.Has(mp.PidTagBody)
	if v, ok := p.m[mp.PidTagHtml.ID()]; ok {
		switch d := v.Data.(type) {
		case []byte:
			cp, _ := p.Int32(mp.PidTagInternetCodepage)
			html, htmlCharset = htmlForCodePage(d, uint32(cp))
		case string:
			html, htmlCharset = []byte(d), "utf-8"
		}
	}
	if html == nil && !hasText {
		if rtf := p.Binary(mp.PidTagRtfCompressed); rtf != nil {
			if raw, err := DecompressRTF(rtf); err == nil {
				if h, ok := RTFToHTML(raw); ok {
					html, htmlCharset = []byte(h), "utf-8"
				} else {
					text, hasText = RTFToText(raw), true
				}
			}
		}
	}
	if html != nil && !hasText {
		text = HTMLToText(decodeCharset(htmlCharset, html))
	}
	return text, html, htmlCharset
}

// htmlForCodePage returns HTML bytes and the charset to label them with:
// as they are when the code page names a MIME charset, converted to UTF-8
// otherwise.
func htmlForCodePage(b []byte, cp uint32) ([]byte, string) {
	if cp == 1200 || cp == 1201 {
		u := make([]uint16, len(b)/2)
		for i := range u {
			if cp == 1200 {
				u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
			} else {
				u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			}
		}
		return []byte(string(utf16.Decode(u))), "utf-8"
	}
	if cs, ok := CharsetForCodePage(cp); ok {
		if cs == "us-ascii" && !isASCII(b) {
			return []byte(fallbackUTF8(b)), "utf-8"
		}
		return b, cs
	}
	return []byte(fallbackUTF8(b)), "utf-8"
}

// textEntity builds a text part in canonical form.
func textEntity(mediaType string, body []byte, charset string) *entity {
	body = canonicalLines(body)
	e := &entity{mediaType: mediaType, params: paramValue("charset", charset)}
	e.encoding = textEncoding(body)
	if e.encoding == "quoted-printable" {
		e.body = encodeQP(body)
	} else {
		e.body = body
	}
	return e
}

func attachFlags(p Props) int32 {
	f, _ := p.Int32(mp.PidTagAttachFlags)
	return f
}

// attachment builds the entity of one attachment, or nil for one with
// nothing to send.
func (r *renderer) attachment(a *Attachment, depth int) (*entity, error) {
	p := a.Props
	method, _ := p.Int32(mp.PidTagAttachMethod)
	name := p.String(mp.PidTagAttachLongFilename)
	if name == "" {
		name = p.String(mp.PidTagAttachFilename)
	}
	if name == "" && method != mp.AttachMethodEmbedded {
		name = p.String(mp.PidTagDisplayName)
	}
	name = sanitizeFileName(name)
	e := &entity{disp: "attachment"}
	if id := safeHeader(strings.Trim(p.String(mp.PidTagAttachContentId), "<> ")); id != "" && !strings.ContainsAny(id, " <>") {
		e.id = "<" + id + ">"
	}
	if loc := safeHeader(p.String(mp.PidTagAttachContentLocation)); loc != "" && !strings.Contains(loc, " ") {
		e.location = loc
	}

	if a.Embedded != nil || method == mp.AttachMethodEmbedded {
		if a.Embedded == nil {
			return nil, nil
		}
		var inner bytes.Buffer
		if err := r.message(&inner, a.Embedded, depth+1); err != nil {
			return nil, err
		}
		e.mediaType = "message/rfc822"
		e.encoding = "7bit"
		e.body = inner.Bytes()
		if name != "" {
			e.dispParam = paramValue("filename", name)
		}
		return e, nil
	}

	data := a.Bytes()
	if len(data) == 0 && method != mp.AttachMethodByValue {
		return nil, nil
	}
	mimeTag, tagParams, _ := mime.ParseMediaType(p.String(mp.PidTagAttachMimeTag))
	charset := p.String(PidTagTextAttachmentCharset)
	if charset == "" {
		charset = tagParams["charset"]
	}
	if !validMediaType(mimeTag) {
		mimeTag = typeForExtension(path.Ext(name))
	}
	switch {
	case mimeTag == "message/rfc822" || mimeTag == "message/global":
		// RFC 2046 §5.2.1: never base64; send a message that is not
		// 7-bit or 8-bit clean as an opaque file.
		data = canonicalLines(data)
		switch textEncoding(data) {
		case "7bit":
			e.mediaType, e.encoding, e.body = "message/rfc822", "7bit", data
		default:
			if eightBitClean(data) {
				e.mediaType, e.encoding, e.body = "message/rfc822", "8bit", data
			} else {
				e.mediaType, e.encoding, e.body = "application/octet-stream", "base64", encodeBase64(a.Bytes())
			}
		}
	case strings.HasPrefix(mimeTag, "multipart/") || strings.HasPrefix(mimeTag, "message/"):
		// A multipart or message body would need its own structure;
		// as an attachment it is an opaque file.
		e.mediaType, e.encoding, e.body = "application/octet-stream", "base64", encodeBase64(data)
	default:
		e.mediaType, e.encoding, e.body = mimeTag, "base64", encodeBase64(data)
		if strings.HasPrefix(mimeTag, "text/") {
			if charset != "" && isToken(charset) {
				e.params = append(e.params, paramValue("charset", charset)...)
			}
		}
	}
	if name != "" {
		e.params = append(e.params, `name="`+encodeNameParam(name)+`"`)
		e.dispParam = paramValue("filename", name)
	}
	return e, nil
}

// encodeNameParam renders a file name for the Content-Type name parameter:
// encoded-words when it is not plain ASCII (what Outlook and most mailers
// read), escaped for a quoted string otherwise.
func encodeNameParam(name string) string {
	if needsEncoding(name) || strings.ContainsAny(name, `"\`) {
		return mime.BEncoding.Encode("utf-8", name)
	}
	return name
}

func eightBitClean(b []byte) bool {
	lineLen := 0
	for _, c := range b {
		switch c {
		case 0:
			return false
		case '\n':
			lineLen = 0
			continue
		}
		lineLen++
		if lineLen > 998 {
			return false
		}
	}
	return true
}

// smimeContent renders an S/MIME message from its smime.p7m attachment
// (MS-OXOSMIME 2.1.3.1, 2.1.3.2): the attachment holds the whole
// multipart/signed entity of a clear-signed message, or the PKCS #7 blob
// of an opaque-signed or encrypted one. Any other message returns nil.
func (r *renderer) smimeContent(m *Message) *entity {
	class := strings.ToUpper(m.Props.String(mp.PidTagMessageClass))
	if !strings.HasPrefix(class, "IPM.NOTE.SMIME") || len(m.Attachments) != 1 {
		return nil
	}
	a := m.Attachments[0]
	tag := strings.ToLower(a.Props.String(mp.PidTagAttachMimeTag))
	data := a.Bytes()
	switch {
	case strings.HasPrefix(tag, "multipart/signed"):
		// Only take the entity as it is when it really is one.
		parsed := message.Parse(data)
		if parsed.Root == nil || parsed.Root.ContentType() != "multipart/signed" || len(parsed.Warnings) > 0 {
			return nil
		}
		hdr := parsed.Root.HeaderBytes(data)
		var fields bytes.Buffer
		for _, f := range message.ReadHeader(hdr) {
			if strings.HasPrefix(strings.ToLower(f.Key), "content-") {
				fields.Write(canonicalLines(f.Raw))
			}
		}
		fields.WriteString("\r\n")
		fields.Write(parsed.Root.BodyBytes(data))
		return &entity{raw: fields.Bytes()}
	case isPKCS7(tag) || strings.EqualFold(a.Props.String(mp.PidTagAttachLongFilename), "smime.p7m"):
		smimeType := "enveloped-data"
		if pkcs7ContentType(data) == 2 {
			smimeType = "signed-data"
		}
		return &entity{mediaType: "application/pkcs7-mime",
			params:    []string{"smime-type=" + smimeType, `name="smime.p7m"`},
			encoding:  "base64",
			disp:      "attachment",
			dispParam: []string{`filename="smime.p7m"`},
			body:      encodeBase64(data)}
	}
	return nil
}

// pkcs7ContentType returns the last arc of the PKCS #7 content type OID
// (1.2.840.113549.1.7.x: 2 signed-data, 3 enveloped-data) near the start
// of a DER blob, or 0.
func pkcs7ContentType(der []byte) int {
	oid := []byte{0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07}
	head := der[:min(len(der), 64)]
	if i := bytes.Index(head, oid); i >= 0 && i+len(oid) < len(head) {
		return int(head[i+len(oid)])
	}
	return 0
}

// writeEntity writes the Content-* fields of e, the blank line and its
// body (multipart children with a fresh boundary that occurs in none of
// them).
func (r *renderer) writeEntity(buf *bytes.Buffer, e *entity) {
	if e.raw != nil {
		buf.Write(e.raw)
		return
	}
	h := headerWriter{buf}
	var children [][]byte
	params := e.params
	boundary := ""
	if len(e.parts) > 0 {
		for _, c := range e.parts {
			var cb bytes.Buffer
			r.writeEntity(&cb, c)
			children = append(children, cb.Bytes())
		}
		boundary = newBoundary(children)
		params = append(params[:len(params):len(params)], `boundary="`+boundary+`"`)
	}
	h.params("Content-Type", e.mediaType, params)
	if e.encoding != "" {
		h.field("Content-Transfer-Encoding", e.encoding)
	}
	if e.disp != "" {
		h.params("Content-Disposition", e.disp, e.dispParam)
	}
	if e.id != "" {
		h.field("Content-ID", e.id)
	}
	if e.location != "" {
		h.field("Content-Location", e.location)
	}
	if e.desc != "" {
		h.field("Content-Description", encodeText(e.desc))
	}
	buf.WriteString("\r\n")
	if boundary == "" {
		buf.Write(e.body)
		return
	}
	for _, c := range children {
		buf.WriteString("--" + boundary + "\r\n")
		buf.Write(c)
		buf.WriteString("\r\n")
	}
	buf.WriteString("--" + boundary + "--\r\n")
}

// newBoundary returns a random boundary (RFC 2046 §5.1.1) that occurs in
// none of the parts. "=_" cannot occur in base64 or quoted-printable text.
func newBoundary(parts [][]byte) string {
	for {
		var b [12]byte
		rand.Read(b[:])
		boundary := fmt.Sprintf("=_%x", b)
		clash := false
		for _, p := range parts {
			if bytes.Contains(p, []byte(boundary)) {
				clash = true
				break
			}
		}
		if !clash {
			return boundary
		}
	}
}

// idsOf returns the message ids of a MAPI id-list property, bracketed and
// safe for a header field.
func idsOf(v string) []string {
	var out []string
	for _, id := range message.ParseMessageIDs(v) {
		id = safeHeader(id)
		if id == "" || len(id) > 900 || strings.ContainsAny(id, " <>()\",;\\") || !isASCIIString(id) {
			continue
		}
		out = append(out, "<"+id+">")
		if len(out) >= 100 {
			break
		}
	}
	return out
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func encodeBase64Line(b []byte) string {
	return string(bytes.ReplaceAll(encodeBase64(b), []byte("\r\n"), nil))
}

// suppressNames renders PidTagAutoResponseSuppress bits as
// X-Auto-Response-Suppress keywords (MS-OXCMAIL 2.2.3.2.14).
func suppressNames(bits int32) string {
	if bits == -1 {
		return "All"
	}
	var names []string
	for _, b := range []struct {
		bit  int32
		name string
	}{{0x01, "DR"}, {0x02, "NDR"}, {0x04, "RN"}, {0x08, "NRN"}, {0x10, "OOF"}, {0x20, "AutoReply"}} {
		if bits&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	if len(names) == 0 {
		return "None"
	}
	return strings.Join(names, ", ")
}

// typeForExtension guesses a media type from a file name extension, from a
// fixed table so the result is the same on every machine.
func typeForExtension(ext string) string {
	switch strings.ToLower(ext) {
	case ".txt", ".text", ".log":
		return "text/plain"
	case ".htm", ".html":
		return "text/html"
	case ".csv":
		return "text/csv"
	case ".ics":
		return "text/calendar"
	case ".vcf":
		return "text/vcard"
	case ".eml":
		return "message/rfc822"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".bmp":
		return "image/bmp"
	case ".tif", ".tiff":
		return "image/tiff"
	case ".svg":
		return "image/svg+xml"
	case ".pdf":
		return "application/pdf"
	case ".zip":
		return "application/zip"
	case ".doc":
		return "application/msword"
	case ".docx":
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case ".xls":
		return "application/vnd.ms-excel"
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case ".ppt":
		return "application/vnd.ms-powerpoint"
	case ".pptx":
		return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	case ".p7m":
		return "application/pkcs7-mime"
	case ".p7s":
		return "application/pkcs7-signature"
	case ".mp3":
		return "audio/mpeg"
	case ".wav":
		return "audio/wav"
	case ".mp4":
		return "video/mp4"
	}
	return "application/octet-stream"
}

// Sender returns the mailbox a message is sent as (PidTagSentRepresenting*,
// else PidTagSender*), for the SMTP envelope and the From field.
func (m *Message) Sender() Mailbox {
	mb := addressOf(m.Props, sentReprTags)
	if !validAddress(mb.Address) {
		mb = addressOf(m.Props, senderTags)
	}
	return mb
}

// EnvelopeRecipients returns the SMTP addresses of every To, Cc and Bcc
// recipient, once each, for the SMTP envelope of a submitted message.
// Recipients without an SMTP address are missing; see RecipientMailbox.
func (m *Message) EnvelopeRecipients() []string {
	var out []string
	seen := map[string]bool{}
	for _, rc := range m.Recipients {
		mb, ok := RecipientMailbox(rc)
		if !ok {
			continue
		}
		typ, _ := rc.Int32(mp.PidTagRecipientType)
		switch typ & 0x0F {
		case mp.RecipientTo, mp.RecipientCc, mp.RecipientBcc:
		default:
			continue
		}
		key := strings.ToLower(mb.Address)
		if !seen[key] {
			seen[key] = true
			out = append(out, mb.Address)
		}
	}
	return out
}
