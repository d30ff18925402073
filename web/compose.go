package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// Compose modes: what a message being written answers.
const (
	modeNew      = ""
	modeReply    = "reply"
	modeReplyAll = "reply-all"
	modeForward  = "forward"
)

// composeHeader is kept in drafts only (never sent): which stored message
// the draft answers or forwards, so that sending it later marks that one.
const composeHeader = "X-Pochta-Compose"

// maxRecipients bounds the recipients of one message.
const maxRecipients = 500

// partRef names an attachment of a stored message to include.
type partRef struct {
	Message int64  `json:"message"`
	Part    string `json:"part"`
}

// composeRequest is a message as the compose form sends it. Address
// fields are what the user typed: "Name <a@b>, c@d".
type composeRequest struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Cc      string    `json:"cc"`
	Bcc     string    `json:"bcc"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`
	Ref     int64     `json:"ref"`   // message answered or forwarded
	Mode    string    `json:"mode"`  // "", reply, reply-all, forward
	Draft   int64     `json:"draft"` // draft this replaces
	Keep    []partRef `json:"keep"`  // attachments of stored messages
}

type upload struct {
	name, ctype string
	data        []byte
}

// readCompose reads a compose request: JSON, or multipart/form-data with
// the JSON in the field "message" and files in fields "attachment".
func (s *Server) readCompose(c echo.Context) (*composeRequest, []upload, error) {
	req := c.Request()
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if mt != "multipart/form-data" {
		var cr composeRequest
		if err := decodeJSON(c, &cr); err != nil {
			return nil, nil, err
		}
		return &cr, nil, nil
	}
	limit := s.opts.MaxMessageBytes + 1<<20
	req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
	mr, err := req.MultipartReader()
	if err != nil {
		return nil, nil, badRequest("cannot read the form: %v", err)
	}
	var cr *composeRequest
	var ups []upload
	var total int64
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, tooLarge(s.opts.MaxMessageBytes)
			}
			return nil, nil, badRequest("cannot read the form: %v", err)
		}
		data, err := io.ReadAll(io.LimitReader(p, limit-total+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, nil, tooLarge(s.opts.MaxMessageBytes)
			}
			return nil, nil, badRequest("cannot read the form: %v", err)
		}
		total += int64(len(data))
		if total > limit {
			return nil, nil, tooLarge(s.opts.MaxMessageBytes)
		}
		switch p.FormName() {
		case "message":
			cr = &composeRequest{}
			if err := json.Unmarshal(data, cr); err != nil {
				return nil, nil, badRequest("the message field is not valid JSON: %v", err)
			}
		case "attachment":
			name := safeFileName(path.Base(strings.ReplaceAll(p.FileName(), `\`, "/")))
			if name == "" || name == "." || name == "/" {
				name = "attachment"
			}
			ups = append(ups, upload{name: name, ctype: p.Header.Get("Content-Type"), data: data})
		}
	}
	if cr == nil {
		return nil, nil, invalid("message", "the form has no message field")
	}
	return cr, ups, nil
}

func tooLarge(limit int64) *Problem {
	return problem(http.StatusRequestEntityTooLarge, "too-large", "the message with its attachments is larger than the %d bytes allowed", limit)
}

// splitRecipients splits an address field at the commas and semicolons
// that are outside quoted strings, comments and angle brackets.
func splitRecipients(v string) []string {
	var out []string
	start, depth, quoted, angle := 0, 0, false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case !angle && (c == ',' || c == ';'):
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// parseAddresses reads an address field as typed: addresses, or
// "Name <address>", separated by commas or semicolons. Every entry must be
// one usable address.
func parseAddresses(field, v string) ([]*mail.Address, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	if !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n\x00") {
		return nil, invalid(field, "contains characters that cannot be in an address")
	}
	var out []*mail.Address
	for _, entry := range splitRecipients(v) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		bad := invalid(field, fmt.Sprintf("%q is not an e-mail address", entry))
		l := message.ParseAddressList(entry)
		if len(l) != 1 || l[0].GroupStart || l[0].GroupEnd {
			return nil, bad
		}
		a := l[0]
		addr := a.Addr()
		if !directory.ValidAddress(strings.ToLower(addr)) || strings.ContainsAny(addr, " \t") {
			return nil, bad
		}
		// A bare address is one word: "a b@x.org" is a typo, not a name.
		if !strings.Contains(entry, "<") && strings.ContainsAny(entry, " \t") {
			return nil, bad
		}
		out = append(out, &mail.Address{Name: strings.TrimSpace(a.DisplayName()), Address: addr})
	}
	if len(out) == 0 {
		return nil, invalid(field, fmt.Sprintf("%q is not an e-mail address", strings.TrimSpace(v)))
	}
	return out, nil
}

// formatAddress writes an address the way a user types it, undecoded.
func formatAddress(name, addr string) string {
	name = strings.TrimSpace(name)
	if name == "" || strings.EqualFold(name, addr) {
		return addr
	}
	if strings.ContainsAny(name, `",;:<>@()[]\.`) {
		name = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name + " <" + addr + ">"
}

func formatList(l []addrJSON) string {
	parts := make([]string, 0, len(l))
	for _, a := range l {
		parts = append(parts, formatAddress(a.Name, a.Address))
	}
	return strings.Join(parts, ", ")
}

// owns tells whether addr is one of the account's addresses, or a
// sub-address (user+tag@) of one, as SMTP submission allows.
func owns(owned []string, addr string) bool {
	norm := directory.NormalizeAddress(addr)
	local, domain, ok := directory.SplitAddress(norm)
	if !ok {
		return false
	}
	base := norm
	if b, _, found := strings.Cut(local, "+"); found && b != "" {
		base = b + "@" + domain
	}
	for _, a := range owned {
		a = directory.NormalizeAddress(a)
		if a == norm || a == base {
			return true
		}
	}
	return false
}

// attachment is one file of a composed message.
type attachment struct {
	name, ctype string
	data        []byte
}

// composed is a message ready to be written as MIME.
type composed struct {
	from                  *mail.Address
	to, cc, bcc           []*mail.Address
	subject, body         string
	date                  time.Time
	messageID             string
	inReplyTo, references []string
	attachments           []attachment
	withBcc               bool   // drafts keep Bcc; sent mail never shows it
	composeInfo           string // drafts only
}

// sevenBitClean tells whether data can travel as 7bit: ASCII without NUL,
// lines at most 998 octets (RFC 5322 §2.1.1).
func sevenBitClean(data []byte) bool {
	line := 0
	for _, b := range data {
		if b == 0 || b >= 0x80 {
			return false
		}
		if b == '\n' {
			line = 0
			continue
		}
		if line++; line > 998 {
			return false
		}
	}
	return true
}

// attachmentType returns the media type a file is sent with: the one
// given when it is well-formed, else one guessed from the name.
func attachmentType(given, name string) string {
	// Browsers send application/octet-stream for types they do not know;
	// the name may say more.
	if mt, params, err := mime.ParseMediaType(given); err == nil && strings.Contains(mt, "/") && !strings.HasPrefix(mt, "multipart/") && mt != "application/octet-stream" {
		if cs := params["charset"]; cs != "" && strings.HasPrefix(mt, "text/") {
			return mime.FormatMediaType(mt, map[string]string{"charset": cs})
		}
		return mt
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}

// build writes the message as MIME (RFC 5322, RFC 2045-2049).
func (m *composed) build() ([]byte, error) {
	var h mail.Header
	h.SetDate(m.date)
	h.SetAddressList("From", []*mail.Address{m.from})
	if len(m.to) > 0 {
		h.SetAddressList("To", m.to)
	}
	if len(m.cc) > 0 {
		h.SetAddressList("Cc", m.cc)
	}
	if m.withBcc && len(m.bcc) > 0 {
		h.SetAddressList("Bcc", m.bcc)
	}
	h.SetSubject(m.subject)
	h.SetMessageID(m.messageID)
	if len(m.inReplyTo) > 0 {
		h.SetMsgIDList("In-Reply-To", m.inReplyTo)
	}
	if len(m.references) > 0 {
		h.SetMsgIDList("References", m.references)
	}
	if m.composeInfo != "" {
		h.Set(composeHeader, m.composeInfo)
	}
	h.Set("User-Agent", "Pochta webmail")
	body := normalizeNewlines(m.body)
	var buf bytes.Buffer
	textHeader := func(th *mail.InlineHeader) {
		th.Set("Content-Type", "text/plain; charset=utf-8")
		if sevenBitClean([]byte(body)) {
			th.Set("Content-Transfer-Encoding", "7bit")
		} else {
			th.Set("Content-Transfer-Encoding", "quoted-printable")
		}
	}
	if len(m.attachments) == 0 {
		var th mail.InlineHeader
		textHeader(&th)
		fields := th.Fields()
		for fields.Next() {
			h.Set(fields.Key(), fields.Value())
		}
		w, err := mail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, crlf(body, th.Get("Content-Transfer-Encoding") == "7bit")); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	var th mail.InlineHeader
	textHeader(&th)
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, crlf(body, th.Get("Content-Transfer-Encoding") == "7bit")); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	for _, a := range m.attachments {
		var ah mail.AttachmentHeader
		ctype := a.ctype
		if ctype == "message/rfc822" {
			if sevenBitClean(a.data) {
				ah.Set("Content-Transfer-Encoding", "7bit")
			} else {
				ctype = "application/octet-stream" // RFC 2046 §5.2.1: no base64 for message/rfc822
			}
		}
		ah.Set("Content-Type", mime.FormatMediaType(ctype, map[string]string{"name": a.name}))
		if ah.Get("Content-Type") == "" {
			ah.Set("Content-Type", ctype)
		}
		ah.SetFilename(a.name)
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := aw.Write(a.data); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// normalizeNewlines makes every line end (CRLF, CR, LF) an LF.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// crlf gives text CRLF line ends; a 7bit body is written as it is, so it
// needs them itself (quoted-printable makes its own).
func crlf(s string, sevenBit bool) string {
	if !sevenBit {
		return s
	}
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// subjectWith prefixes a subject for a reply ("Re: ") or a forward
// ("Fwd: ") unless it already has such a prefix.
func subjectWith(prefix, subject string) string {
	s := strings.TrimSpace(subject)
	l := strings.ToLower(s)
	switch prefix {
	case "Re: ":
		if strings.HasPrefix(l, "re:") || strings.HasPrefix(l, "aw:") {
			return s
		}
	case "Fwd: ":
		if strings.HasPrefix(l, "fwd:") || strings.HasPrefix(l, "fw:") {
			return s
		}
	}
	return prefix + s
}

// quote prefixes every line with "> ".
func quote(text string) string {
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ">") {
			lines[i] = ">" + l
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}

// composeForm is a compose form filled in from a stored message.
type composeForm struct {
	From        string           `json:"from"`
	To          string           `json:"to"`
	Cc          string           `json:"cc"`
	Bcc         string           `json:"bcc"`
	Subject     string           `json:"subject"`
	Body        string           `json:"body"`
	Ref         int64            `json:"ref,omitempty"`
	Mode        string           `json:"mode"`
	Draft       int64            `json:"draft,omitempty"`
	Attachments []keptAttachment `json:"attachments"`
}

type keptAttachment struct {
	partRef
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
}

func keptAttachments(id int64, p *message.Parsed) []keptAttachment {
	out := []keptAttachment{}
	for _, a := range attachmentsJSON(id, p, true) {
		out = append(out, keptAttachment{partRef: partRef{Message: id, Part: a.Part}, Name: a.Name, Type: a.Type, Size: a.Size})
	}
	return out
}

// bodyText returns the text a reply quotes or a forward includes.
func (s *Server) bodyText(ctx context.Context, l *loaded) (string, error) {
	if tp := message.TextPart(l.p); tp != nil {
		t, _, err := s.decodeTextPart(ctx, l.m, tp, maxTextBytes)
		return t, err
	}
	if hp := message.HTMLPart(l.p); hp != nil {
		t, _, err := s.decodeTextPart(ctx, l.m, hp, maxHTMLBytes)
		return htmlToText(t), err
	}
	return "", nil
}

// replyFrom picks the address a reply comes from: the one of the user's
// addresses the message was sent to, else the primary.
func replyFrom(owned []string, l *loaded) string {
	for _, list := range [][]message.Address{l.p.Envelope.To, l.p.Envelope.Cc} {
		for _, a := range list {
			for _, o := range owned {
				if strings.EqualFold(a.Addr(), o) {
					return o
				}
			}
		}
	}
	if len(owned) > 0 {
		return owned[0]
	}
	return ""
}

// composeFrom fills in the compose form to reply to, reply to all of,
// forward or go on editing (mode "draft") a stored message.
func (s *Server) composeFrom(c echo.Context) error {
	l, err := s.messageParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	owned, err := s.opts.Directory.Addresses(ctx, ws.AccountID)
	if err != nil || len(owned) == 0 {
		owned = []string{ws.Address}
	}
	text, err := s.bodyText(ctx, l)
	if err != nil {
		return err
	}
	env := &l.p.Envelope
	mode := c.QueryParam("mode")
	f := composeForm{Mode: mode, Ref: l.m.ID, From: replyFrom(owned, l), Attachments: []keptAttachment{}}
	isOwn := func(a message.Address) bool { return owns(owned, a.Addr()) }
	replyTo := env.ReplyTo
	if len(replyTo) == 0 {
		replyTo = env.From
	}
	switch mode {
	case modeReply, modeReplyAll:
		f.Subject = subjectWith("Re: ", l.p.Subject)
		who := formatList(addrList(env.From))
		if who == "" {
			who = "someone"
		}
		date := strings.TrimSpace(env.Date)
		if date == "" {
			date = l.m.ReceivedAt.UTC().Format(time.RFC1123Z)
		}
		f.Body = "\n\nOn " + date + ", " + who + " wrote:\n" + quote(text) + "\n"
		to := addrList(replyTo)
		if mode == modeReplyAll {
			seen := map[string]bool{}
			var toAll, ccAll []addrJSON
			add := func(dst *[]addrJSON, l []message.Address) {
				for _, a := range l {
					if a.GroupStart || a.GroupEnd || a.Addr() == "" {
						continue
					}
					key := strings.ToLower(a.Addr())
					if seen[key] || isOwn(a) {
						continue
					}
					seen[key] = true
					*dst = append(*dst, addrJSON{Name: a.DisplayName(), Address: a.Addr()})
				}
			}
			add(&toAll, replyTo)
			add(&toAll, env.To)
			add(&ccAll, env.Cc)
			if len(toAll) == 0 {
				toAll = to // replying to one's own message
			}
			to = toAll
			f.Cc = formatList(ccAll)
		}
		f.To = formatList(to)
	case modeForward:
		f.Subject = subjectWith("Fwd: ", l.p.Subject)
		var b strings.Builder
		b.WriteString("\n\n---------- Forwarded message ----------\n")
		fmt.Fprintf(&b, "From: %s\n", formatList(addrList(env.From)))
		if env.Date != "" {
			fmt.Fprintf(&b, "Date: %s\n", env.Date)
		}
		fmt.Fprintf(&b, "Subject: %s\n", l.p.Subject)
		if to := formatList(addrList(env.To)); to != "" {
			fmt.Fprintf(&b, "To: %s\n", to)
		}
		if cc := formatList(addrList(env.Cc)); cc != "" {
			fmt.Fprintf(&b, "Cc: %s\n", cc)
		}
		b.WriteString("\n")
		b.WriteString(text)
		f.Body = b.String()
		f.Attachments = keptAttachments(l.m.ID, l.p)
	case "draft":
		f.Mode, f.Ref = modeNew, 0
		// Only a message in Drafts is replaced when saved or sent; any
		// other opens as a new message with its content.
		if drafts, err := s.opts.Store.FolderByRole(ctx, ws.AccountID, storage.RoleDrafts); err == nil && drafts.ID == l.m.FolderID {
			f.Draft = l.m.ID
		}
		f.To, f.Cc, f.Bcc = formatList(addrList(env.To)), formatList(addrList(env.Cc)), formatList(addrList(env.Bcc))
		f.Subject = l.p.Subject
		f.Body = text
		if from := addrList(env.From); len(from) > 0 && owns(owned, from[0].Address) {
			f.From = from[0].Address
		}
		f.Attachments = keptAttachments(l.m.ID, l.p)
		if info := s.composeInfoOf(ctx, l); info != nil {
			f.Mode, f.Ref = info.mode, info.ref
		}
	default:
		return invalid("mode", "use reply, reply-all, forward or draft")
	}
	return c.JSON(http.StatusOK, f)
}

type composeInfo struct {
	mode string
	ref  int64
}

// composeInfoOf reads a draft's X-Pochta-Compose field ("reply 123").
func (s *Server) composeInfoOf(ctx context.Context, l *loaded) *composeInfo {
	if l.p.Root == nil {
		return nil
	}
	buf, _, _, err := s.readPart(ctx, l.m, &message.Part{BodyStart: l.p.Root.HeaderStart, End: l.p.Root.BodyStart}, 256<<10)
	if err != nil {
		return nil
	}
	for _, f := range message.ReadHeader(buf) {
		if !strings.EqualFold(f.Key, composeHeader) {
			continue
		}
		fields := strings.Fields(f.Value)
		if len(fields) != 2 {
			return nil
		}
		switch fields[0] {
		case modeReply, modeReplyAll, modeForward:
		default:
			return nil
		}
		ref, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || ref <= 0 {
			return nil
		}
		return &composeInfo{mode: fields[0], ref: ref}
	}
	return nil
}

// prepared is a compose request checked and turned into a message.
type prepared struct {
	msg      *composed
	raw      []byte
	ref      *loaded // the message answered or forwarded, if still there
	mode     string
	draft    *storage.Message
	drafts   *storage.Folder
	rcpts    []*mail.Address
	fromAddr string
}

// prepare checks a compose request and builds its message. forDraft keeps
// Bcc and the compose info in the message and allows no recipients.
func (s *Server) prepare(c echo.Context, forDraft bool) (*prepared, error) {
	cr, ups, err := s.readCompose(c)
	if err != nil {
		return nil, err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	owned, err := s.opts.Directory.Addresses(ctx, ws.AccountID)
	if err != nil {
		return nil, err
	}
	if len(owned) == 0 {
		owned = []string{ws.Address}
	}
	from := strings.TrimSpace(cr.From)
	if from == "" {
		from = owned[0]
	}
	if !owns(owned, from) {
		return nil, invalid("from", "you cannot send as "+from)
	}
	p := &prepared{fromAddr: from}
	m := &composed{
		from: &mail.Address{Name: ws.DisplayName, Address: from}, subject: strings.TrimSpace(cr.Subject), body: cr.Body,
		date: s.opts.Now(), messageID: delivery.NewMessageID(s.opts.Hostname), withBcc: forDraft,
	}
	if strings.ContainsAny(m.subject, "\r\n\x00") || !utf8.ValidString(m.subject) {
		return nil, invalid("subject", "contains characters a subject cannot have")
	}
	if !utf8.ValidString(m.body) {
		return nil, invalid("body", "is not valid UTF-8")
	}
	if m.to, err = parseAddresses("to", cr.To); err != nil {
		return nil, err
	}
	if m.cc, err = parseAddresses("cc", cr.Cc); err != nil {
		return nil, err
	}
	if m.bcc, err = parseAddresses("bcc", cr.Bcc); err != nil {
		return nil, err
	}
	p.rcpts = append(append(append(p.rcpts, m.to...), m.cc...), m.bcc...)
	if len(p.rcpts) == 0 && !forDraft {
		return nil, invalid("to", "name at least one recipient")
	}
	if len(p.rcpts) > maxRecipients {
		return nil, invalid("to", fmt.Sprintf("at most %d recipients", maxRecipients))
	}
	switch cr.Mode {
	case modeNew, modeReply, modeReplyAll, modeForward:
	default:
		return nil, invalid("mode", "unknown mode")
	}
	if cr.Ref != 0 && cr.Mode != modeNew {
		// A message deleted since is no reason to refuse the send.
		if l, err := s.loadMessage(ctx, ws.AccountID, cr.Ref); err == nil {
			p.ref, p.mode = l, cr.Mode
		} else if !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, errNotFound) {
			return nil, err
		}
	}
	if p.ref != nil && p.mode != modeForward && p.ref.p.MessageID != "" {
		m.inReplyTo = []string{p.ref.p.MessageID}
		refs := append(append([]string{}, p.ref.p.References...), p.ref.p.MessageID)
		if len(refs) > 20 {
			refs = append(refs[:1:1], refs[len(refs)-19:]...)
		}
		m.references = refs
	}
	if forDraft && p.ref != nil {
		m.composeInfo = p.mode + " " + strconv.FormatInt(p.ref.m.ID, 10)
	}
	if cr.Draft != 0 {
		drafts, err := s.opts.Store.FolderByRole(ctx, ws.AccountID, storage.RoleDrafts)
		if err != nil {
			return nil, err
		}
		d, err := s.opts.Store.MessageByID(ctx, ws.AccountID, cr.Draft)
		if err != nil {
			return nil, err
		}
		if d.FolderID != drafts.ID {
			return nil, errNotFound
		}
		p.draft, p.drafts = d, drafts
	}
	var size int64
	for _, k := range cr.Keep {
		a, err := s.keptFile(ctx, ws.AccountID, k)
		if err != nil {
			return nil, err
		}
		size += int64(len(a.data))
		if size > s.opts.MaxMessageBytes {
			return nil, tooLarge(s.opts.MaxMessageBytes)
		}
		m.attachments = append(m.attachments, a)
	}
	for _, u := range ups {
		m.attachments = append(m.attachments, attachment{name: u.name, ctype: attachmentType(u.ctype, u.name), data: u.data})
	}
	raw, err := m.build()
	if err != nil {
		return nil, fmt.Errorf("web: writing the message: %w", err)
	}
	if int64(len(raw)) > s.opts.MaxMessageBytes {
		return nil, tooLarge(s.opts.MaxMessageBytes)
	}
	p.msg, p.raw = m, raw
	return p, nil
}

// keptFile reads an attachment of a stored message of the account.
func (s *Server) keptFile(ctx context.Context, accountID int64, k partRef) (attachment, error) {
	l, err := s.loadMessage(ctx, accountID, k.Message)
	if err != nil {
		return attachment{}, err
	}
	path, ok := parsePartPath(k.Part)
	if !ok {
		return attachment{}, errNotFound
	}
	part := l.p.PartByPath(path)
	if part == nil || part.IsMultipart() {
		return attachment{}, errNotFound
	}
	buf, cp, _, err := s.readPart(ctx, l.m, part, 0)
	if err != nil {
		return attachment{}, err
	}
	data, err := io.ReadAll(message.DecodeBody(buf, cp))
	if err != nil {
		return attachment{}, err
	}
	ctype := part.ContentType()
	if part.IsMessage() {
		ctype = "message/rfc822"
	}
	return attachment{name: safeFileName(attachmentName(part, path)), ctype: attachmentType(ctype, attachmentName(part, path)), data: data}, nil
}

type recipientOutcome struct {
	Address    string `json:"address"`
	Outcome    string `json:"outcome"`
	Status     string `json:"status,omitempty"`
	Diagnostic string `json:"diagnostic,omitempty"`
}

// send sends a message through delivery.Send, with a copy in Sent Items;
// the draft it came from is removed and the message it answers marked.
func (s *Server) send(c echo.Context) error {
	p, err := s.prepare(c, false)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	out := &delivery.Outgoing{Sender: p.fromAddr, Raw: p.raw, AccountID: ws.AccountID, SentCopy: true, ArrivedAt: s.opts.Now()}
	seen := map[string]bool{}
	for _, a := range p.rcpts {
		key := strings.ToLower(a.Address)
		if !seen[key] {
			seen[key] = true
			out.Recipients = append(out.Recipients, delivery.Recipient{Address: a.Address})
		}
	}
	res, err := s.opts.Deliverer.Send(ctx, out)
	if err != nil {
		return err
	}
	outcomes := make([]recipientOutcome, 0, len(res.Recipients))
	for _, o := range res.Recipients {
		outcomes = append(outcomes, recipientOutcome{Address: o.Original, Outcome: o.Outcome, Status: o.Status, Diagnostic: o.Diagnostic})
	}
	if res.AllFailed() {
		pr := problem(http.StatusUnprocessableEntity, "send-failed", "no recipient could be reached; nothing was sent")
		pr.Recipients = outcomes
		return pr
	}
	s.log.Info("webmail message sent", "account", ws.AccountID, "delivered", res.Delivered, "queued", res.Queued, "failed", res.Failed)
	// The message is out: what follows must not make the client send it again.
	if p.ref != nil {
		flag := storage.FlagAnswered
		if p.mode == modeForward {
			flag = storage.FlagForwarded
		}
		if _, err := s.opts.Store.SetFlags(ctx, ws.AccountID, p.ref.m.FolderID, []int64{p.ref.m.ID}, storage.FlagsAdd, flag, nil, 0); err != nil {
			s.log.Warn("marking the answered message", "account", ws.AccountID, "message", p.ref.m.ID, "err", err)
		}
	}
	if p.draft != nil {
		if _, err := s.opts.Store.Expunge(ctx, ws.AccountID, p.drafts.ID, []int64{p.draft.ID}); err != nil {
			s.log.Warn("removing the sent draft", "account", ws.AccountID, "message", p.draft.ID, "err", err)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{
		"delivered": res.Delivered, "queued": res.Queued, "failed": res.Failed, "recipients": outcomes,
	})
}

// saveDraft stores the message in Drafts, replacing the draft it was
// opened from in the same transaction.
func (s *Server) saveDraft(c echo.Context) error {
	p, err := s.prepare(c, true)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	in := &delivery.Ingest{
		Raw: p.raw, InternalDate: s.opts.Now(), Sender: p.fromAddr,
		Targets: []delivery.Target{{AccountID: ws.AccountID, FolderRole: storage.RoleDrafts, Flags: storage.FlagSeen | storage.FlagDraft, IgnoreQuota: true}},
	}
	if p.draft != nil {
		old, folder := p.draft.ID, p.drafts.ID
		in.Targets[0].FolderID = folder
		in.Also = func(tx *storage.Tx) error {
			_, err := tx.Expunge(ws.AccountID, folder, []int64{old})
			return err
		}
	}
	res, err := s.opts.Deliverer.Ingest(ctx, in)
	if err != nil {
		return err
	}
	if len(res.Targets) != 1 || res.Targets[0].Err != nil {
		if len(res.Targets) == 1 {
			return res.Targets[0].Err
		}
		return errInternal
	}
	return c.JSON(http.StatusOK, map[string]any{"id": res.Targets[0].MessageID, "folder": res.Targets[0].FolderID})
}
