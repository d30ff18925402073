package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// Limits of what one request reads or changes.
const (
	maxPageSize      = 200
	defaultPageSize  = 50
	maxIDsPerRequest = 1000
	// maxTextBytes and maxHTMLBytes bound the body bytes decoded for
	// reading; the rest is left out (and said so).
	maxTextBytes = 2 << 20
	maxHTMLBytes = 4 << 20
)

type messageSummary struct {
	ID         int64     `json:"id"`
	Folder     int64     `json:"folder"`
	Subject    string    `json:"subject"`
	FromName   string    `json:"from_name"`
	FromAddr   string    `json:"from_addr"`
	To         string    `json:"to"`
	Date       time.Time `json:"date"`
	Preview    string    `json:"preview"`
	Seen       bool      `json:"seen"`
	Flagged    bool      `json:"flagged"`
	Answered   bool      `json:"answered"`
	Forwarded  bool      `json:"forwarded"`
	Draft      bool      `json:"draft"`
	Deleted    bool      `json:"deleted"`
	Attachment bool      `json:"attachment"`
	Size       int64     `json:"size"`
	Importance int       `json:"importance"`
}

func summarize(m *storage.Message) messageSummary {
	return messageSummary{
		ID: m.ID, Folder: m.FolderID, Subject: m.Subject, FromName: m.FromName, FromAddr: m.FromAddr,
		To: m.ToDisplay, Date: m.ReceivedAt.UTC(), Preview: m.Preview,
		Seen: m.Flags&storage.FlagSeen != 0, Flagged: m.Flags&storage.FlagFlagged != 0,
		Answered: m.Flags&storage.FlagAnswered != 0, Forwarded: m.Flags&storage.FlagForwarded != 0,
		Draft: m.Flags&storage.FlagDraft != 0, Deleted: m.Flags&storage.FlagDeleted != 0,
		Attachment: m.HasAttachments, Size: m.Size, Importance: m.Importance,
	}
}

// queryInt reads a non-negative integer query parameter.
func queryInt(c echo.Context, name string, def, maxValue int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalid(name, "must be a non-negative integer")
	}
	if maxValue > 0 && n > maxValue {
		n = maxValue
	}
	return n, nil
}

// listMessages pages through a folder, newest first.
func (s *Server) listMessages(c echo.Context) error {
	_, f, err := s.folderParam(c)
	if err != nil {
		return err
	}
	offset, err := queryInt(c, "offset", 0, 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", defaultPageSize, maxPageSize)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = defaultPageSize
	}
	ctx := c.Request().Context()
	ws := sess(c)
	st, err := s.opts.Store.FolderStatus(ctx, ws.AccountID, f.ID)
	if err != nil {
		return err
	}
	ms, err := s.opts.Store.ListMessages(ctx, ws.AccountID, f.ID, storage.ListQuery{Sort: storage.SortReceived, Descending: true, Offset: offset, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]messageSummary, len(ms))
	for i := range ms {
		out[i] = summarize(&ms[i])
	}
	return c.JSON(http.StatusOK, map[string]any{
		"folder": f.ID, "total": st.Messages, "unread": st.Unseen, "offset": offset, "messages": out,
	})
}

// loaded is a message of the session's account with its part tree.
type loaded struct {
	m *storage.Message
	p *message.Parsed
}

// loadMessage returns a message of the account by id; another account's
// id, a MAPI folder-associated item and an unknown id are all not found.
func (s *Server) loadMessage(ctx context.Context, accountID, id int64) (*loaded, error) {
	m, err := s.opts.Store.MessageByID(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if m.Flags&storage.FlagAssociated != 0 {
		return nil, errNotFound
	}
	return s.loadRow(ctx, m)
}

// loadRow pairs a message row with its part tree, parsing the blob when
// the row has none (or an unreadable one).
func (s *Server) loadRow(ctx context.Context, m *storage.Message) (*loaded, error) {
	var p *message.Parsed
	var err error
	if len(m.Parsed) > 0 {
		p, err = message.Unmarshal(m.Parsed)
	}
	if p == nil || err != nil {
		raw, err := s.opts.Store.ReadBlob(ctx, m.BlobHash)
		if err != nil {
			return nil, fmt.Errorf("web: reading message %d: %w", m.ID, err)
		}
		p = message.Parse(raw)
	}
	return &loaded{m: m, p: p}, nil
}

func (s *Server) messageParam(c echo.Context) (*loaded, error) {
	id, err := paramID(c, "message")
	if err != nil {
		return nil, err
	}
	return s.loadMessage(c.Request().Context(), sess(c).AccountID, id)
}

// readPart returns the body bytes of part, at most limit of them (0: all),
// read from the blob without loading the rest of the message, and a copy
// of part whose offsets point into those bytes.
func (s *Server) readPart(ctx context.Context, m *storage.Message, part *message.Part, limit int64) ([]byte, *message.Part, bool, error) {
	r, err := s.opts.Store.OpenBlob(ctx, m.BlobHash)
	if err != nil {
		return nil, nil, false, err
	}
	start := min(max(part.BodyStart, 0), r.Size())
	end := min(max(part.End, start), r.Size())
	n := end - start
	truncated := false
	if limit > 0 && n > limit {
		n, truncated = limit, true
	}
	buf := make([]byte, n)
	if n > 0 {
		if _, err := r.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, false, fmt.Errorf("web: reading message part: %w", err)
		}
	}
	cp := *part
	cp.HeaderStart, cp.BodyStart, cp.End = 0, 0, n
	return buf, &cp, truncated, nil
}

// decodeTextPart returns a text part's content as UTF-8, bounded.
func (s *Server) decodeTextPart(ctx context.Context, m *storage.Message, part *message.Part, limit int64) (string, bool, error) {
	buf, cp, truncated, err := s.readPart(ctx, m, part, limit)
	if err != nil {
		return "", false, err
	}
	return message.DecodeText(buf, cp), truncated, nil
}

type addrJSON struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

func addrList(l []message.Address) []addrJSON {
	out := []addrJSON{}
	for _, a := range l {
		if a.GroupStart || a.GroupEnd {
			continue
		}
		out = append(out, addrJSON{Name: a.DisplayName(), Address: a.Addr()})
	}
	return out
}

type attachmentJSON struct {
	Part   string `json:"part"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	URL    string `json:"url"`
	Inline bool   `json:"inline,omitempty"`
}

func pathString(path []int) string {
	parts := make([]string, len(path))
	for i, n := range path {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ".")
}

// decodedSize estimates a part's size after its transfer encoding.
func decodedSize(p *message.Part) int64 {
	if strings.EqualFold(strings.TrimSpace(p.Encoding), "base64") {
		return p.Size * 76 / 78 * 3 / 4 // line ends are not data
	}
	return p.Size
}

// attachmentName is a part's file name, or one made up from its type.
func attachmentName(p *message.Part, path []int) string {
	if n := p.FileName(); n != "" {
		return n
	}
	if p.IsMessage() && p.Envelope != nil {
		subj := message.DecodeHeaderText(p.Envelope.Subject)
		if subj = safeFileName(subj); subj != "" {
			return subj + ".eml"
		}
		return "message.eml"
	}
	ext := ""
	switch p.ContentType() {
	case "text/plain":
		ext = ".txt"
	case "text/html":
		ext = ".html"
	case "image/png":
		ext = ".png"
	case "image/jpeg":
		ext = ".jpg"
	case "image/gif":
		ext = ".gif"
	case "application/pdf":
		ext = ".pdf"
	}
	return "part-" + pathString(path) + ext
}

// safeFileName drops characters file systems and headers dislike.
func safeFileName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f:
			return -1
		case strings.ContainsRune(`/\:*?"<>|`, r):
			return '_'
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 120 {
		s = s[:120]
	}
	return strings.ToValidUTF8(s, "")
}

func attachmentsJSON(id int64, p *message.Parsed, withInline bool) []attachmentJSON {
	out := []attachmentJSON{}
	for _, a := range message.Attachments(p) {
		if a.Inline && !withInline {
			continue
		}
		ps := pathString(a.Path)
		out = append(out, attachmentJSON{
			Part: ps, Name: attachmentName(a.Part, a.Path), Type: a.Part.ContentType(), Size: decodedSize(a.Part),
			URL: fmt.Sprintf("%s/messages/%d/parts/%s", APIPrefix, id, ps), Inline: a.Inline,
		})
	}
	return out
}

type messageDetail struct {
	messageSummary
	From          []addrJSON       `json:"from"`
	ToList        []addrJSON       `json:"to_list"`
	Cc            []addrJSON       `json:"cc"`
	Bcc           []addrJSON       `json:"bcc"`
	ReplyTo       []addrJSON       `json:"reply_to"`
	Sent          *time.Time       `json:"sent,omitempty"`
	MessageID     string           `json:"message_id,omitempty"`
	Text          string           `json:"text"`
	TextTruncated bool             `json:"text_truncated,omitempty"`
	HTML          bool             `json:"html"`
	BodyURL       string           `json:"body_url,omitempty"`
	RemoteImages  int              `json:"remote_images"`
	Attachments   []attachmentJSON `json:"attachments"`
	RawURL        string           `json:"raw_url"`
	FolderRole    string           `json:"folder_role,omitempty"`
}

// getMessage returns everything the reading pane shows. The HTML body is
// not in it: the pane loads BodyURL into a sandboxed iframe.
func (s *Server) getMessage(c echo.Context) error {
	l, err := s.messageParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d := messageDetail{
		messageSummary: summarize(l.m),
		From:           addrList(l.p.Envelope.From), ToList: addrList(l.p.Envelope.To), Cc: addrList(l.p.Envelope.Cc),
		Bcc: addrList(l.p.Envelope.Bcc), ReplyTo: addrList(l.p.Envelope.ReplyTo),
		MessageID: l.p.MessageID,
		RawURL:    fmt.Sprintf("%s/messages/%d/raw", APIPrefix, l.m.ID),
	}
	if !l.p.SentAt.IsZero() {
		t := l.p.SentAt.UTC()
		d.Sent = &t
	}
	if f, err := s.opts.Store.Folder(ctx, sess(c).AccountID, l.m.FolderID); err == nil {
		d.FolderRole = f.Role
	}
	htmlPart := message.HTMLPart(l.p)
	if tp := message.TextPart(l.p); tp != nil {
		if d.Text, d.TextTruncated, err = s.decodeTextPart(ctx, l.m, tp, maxTextBytes); err != nil {
			return err
		}
	}
	if htmlPart != nil {
		doc, err := s.renderHTML(ctx, l, false)
		if err != nil {
			return err
		}
		d.HTML = true
		d.RemoteImages = doc.blocked
		d.BodyURL = fmt.Sprintf("%s/messages/%d/body", APIPrefix, l.m.ID)
		if d.Text == "" {
			d.Text = doc.text
		}
	}
	d.Attachments = attachmentsJSON(l.m.ID, l.p, htmlPart == nil)
	return c.JSON(http.StatusOK, d)
}

// idsRequest names messages by id.
type idsRequest struct {
	IDs []int64 `json:"ids"`
}

// byFolder loads the named messages of the account grouped by folder; any
// id that is not the account's makes the whole request "not found".
func (s *Server) byFolder(ctx context.Context, accountID int64, ids []int64) (map[int64][]storage.Message, error) {
	if len(ids) == 0 {
		return nil, invalid("ids", "name at least one message")
	}
	if len(ids) > maxIDsPerRequest {
		return nil, invalid("ids", fmt.Sprintf("at most %d messages at a time", maxIDsPerRequest))
	}
	uniq := slices.Clone(ids)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	ms, err := s.opts.Store.MessagesByIDs(ctx, accountID, uniq)
	if err != nil {
		return nil, err
	}
	out := map[int64][]storage.Message{}
	n := 0
	for _, m := range ms {
		if m.Flags&storage.FlagAssociated != 0 {
			continue
		}
		out[m.FolderID] = append(out[m.FolderID], m)
		n++
	}
	if n != len(uniq) {
		return nil, errNotFound
	}
	return out, nil
}

func msgIDs(ms []storage.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

var flagNames = map[string]storage.Flags{
	"seen": storage.FlagSeen, "flagged": storage.FlagFlagged, "answered": storage.FlagAnswered,
	"forwarded": storage.FlagForwarded, "deleted": storage.FlagDeleted,
}

func parseFlags(field string, names []string) (storage.Flags, error) {
	var f storage.Flags
	for _, n := range names {
		v, ok := flagNames[n]
		if !ok {
			return 0, invalid(field, fmt.Sprintf("unknown flag %q", n))
		}
		f |= v
	}
	return f, nil
}

// setFlags marks messages read/unread, flagged/unflagged.
func (s *Server) setFlags(c echo.Context) error {
	var req struct {
		IDs    []int64  `json:"ids"`
		Add    []string `json:"add"`
		Remove []string `json:"remove"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	add, err := parseFlags("add", req.Add)
	if err != nil {
		return err
	}
	remove, err := parseFlags("remove", req.Remove)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	groups, err := s.byFolder(ctx, ws.AccountID, req.IDs)
	if err != nil {
		return err
	}
	type flagState struct {
		ID      int64 `json:"id"`
		Seen    bool  `json:"seen"`
		Flagged bool  `json:"flagged"`
	}
	var out []flagState
	for folder, ms := range groups {
		var ups []storage.FlagUpdate
		if add != 0 {
			if ups, err = s.opts.Store.SetFlags(ctx, ws.AccountID, folder, msgIDs(ms), storage.FlagsAdd, add, nil, 0); err != nil {
				return err
			}
		}
		if remove != 0 {
			if ups, err = s.opts.Store.SetFlags(ctx, ws.AccountID, folder, msgIDs(ms), storage.FlagsRemove, remove, nil, 0); err != nil {
				return err
			}
		}
		for _, u := range ups {
			out = append(out, flagState{ID: u.ID, Seen: u.Flags&storage.FlagSeen != 0, Flagged: u.Flags&storage.FlagFlagged != 0})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": out})
}

type moveRequest struct {
	IDs    []int64 `json:"ids"`
	Folder int64   `json:"folder"`
}

type movedJSON struct {
	ID    int64 `json:"id"`
	NewID int64 `json:"new_id"`
}

// transfer moves or copies messages into another mail folder of the
// account.
func (s *Server) transfer(c echo.Context, move bool) error {
	var req moveRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	t, err := s.mailTree(ctx, ws.AccountID)
	if err != nil {
		return err
	}
	if !t.has(req.Folder) {
		return errNotFound
	}
	groups, err := s.byFolder(ctx, ws.AccountID, req.IDs)
	if err != nil {
		return err
	}
	out := []movedJSON{}
	for src, ms := range groups {
		if move && src == req.Folder {
			continue
		}
		var done []storage.Copied
		if move {
			done, err = s.opts.Store.MoveMessages(ctx, ws.AccountID, src, msgIDs(ms), req.Folder)
		} else {
			done, err = s.opts.Store.CopyMessages(ctx, ws.AccountID, src, msgIDs(ms), req.Folder)
		}
		if err != nil {
			return err
		}
		for _, d := range done {
			out = append(out, movedJSON{ID: d.SrcID, NewID: d.DstID})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": out})
}

func (s *Server) moveMessages(c echo.Context) error { return s.transfer(c, true) }
func (s *Server) copyMessages(c echo.Context) error { return s.transfer(c, false) }

// deleteMessages moves messages to Deleted Items; messages already there
// are removed for good.
func (s *Server) deleteMessages(c echo.Context) error {
	var req idsRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	groups, err := s.byFolder(ctx, ws.AccountID, req.IDs)
	if err != nil {
		return err
	}
	trash, err := s.opts.Store.FolderByRole(ctx, ws.AccountID, storage.RoleDeleted)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	moved, removed := []movedJSON{}, []int64{}
	for src, ms := range groups {
		if trash == nil || src == trash.ID {
			ex, err := s.opts.Store.Expunge(ctx, ws.AccountID, src, msgIDs(ms))
			if err != nil {
				return err
			}
			for _, e := range ex {
				removed = append(removed, e.ID)
			}
			continue
		}
		done, err := s.opts.Store.MoveMessages(ctx, ws.AccountID, src, msgIDs(ms), trash.ID)
		if err != nil {
			return err
		}
		for _, d := range done {
			moved = append(moved, movedJSON{ID: d.SrcID, NewID: d.DstID})
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"moved": moved, "removed": removed})
}
