package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/storage"
)

// Search runs the promoted-column conditions (sender, subject, dates) in
// SQL and tests text against the preview and then the decoded body, row by
// row, newest first. One request reads at most maxSearchScan rows; the
// answer's cursor goes on from where it stopped.
const (
	maxSearchScan   = 2000
	searchBatch     = 200
	maxSearchLength = 500
)

// searchQuery is what the search form asks.
type searchQuery struct {
	Text    string // anywhere: subject, sender, recipients, body
	From    string
	Subject string
	Body    string
	Since   time.Time
	Before  time.Time
	Folder  int64 // 0: every mail folder
	After   storage.WebCursor
	Limit   int
}

// parseSearchTime reads a date ("2006-01-02", midnight UTC) or an RFC 3339
// time.
func parseSearchTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, invalid(field, "use a date like 2025-03-01")
}

// parseCursor reads "unixnano.id".
func parseCursor(v string) (storage.WebCursor, bool) {
	if v == "" {
		return storage.WebCursor{}, true
	}
	a, b, ok := strings.Cut(v, ".")
	if !ok || a == "" || b == "" || strings.Trim(a+b, "0123456789") != "" || len(v) > 40 {
		return storage.WebCursor{}, false
	}
	ns, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return storage.WebCursor{}, false
	}
	return storage.WebCursor{ReceivedAt: time.Unix(0, ns).UTC(), ID: id}, true
}

func formatCursor(c storage.WebCursor) string {
	return strconv.FormatInt(c.ReceivedAt.UnixNano(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

func parseSearch(c echo.Context) (*searchQuery, error) {
	q := &searchQuery{
		Text: strings.TrimSpace(c.QueryParam("q")), From: strings.TrimSpace(c.QueryParam("from")),
		Subject: strings.TrimSpace(c.QueryParam("subject")), Body: strings.TrimSpace(c.QueryParam("body")),
	}
	for field, v := range map[string]string{"q": q.Text, "from": q.From, "subject": q.Subject, "body": q.Body} {
		if len(v) > maxSearchLength {
			return nil, invalid(field, fmt.Sprintf("at most %d bytes", maxSearchLength))
		}
	}
	var err error
	if q.Since, err = parseSearchTime("since", c.QueryParam("since")); err != nil {
		return nil, err
	}
	if q.Before, err = parseSearchTime("before", c.QueryParam("before")); err != nil {
		return nil, err
	}
	if v := c.QueryParam("folder"); v != "" && v != "0" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, errNotFound
		}
		q.Folder = id
	}
	cur, ok := parseCursor(c.QueryParam("cursor"))
	if !ok {
		return nil, invalid("cursor", "not a cursor this server gave")
	}
	q.After = cur
	if q.Limit, err = queryInt(c, "limit", defaultPageSize, maxPageSize); err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = defaultPageSize
	}
	return q, nil
}

func containsFold(haystack, needle string) bool {
	return strings.Contains(strings.ToLower(haystack), strings.ToLower(needle))
}

// search finds messages in one mail folder or all of them.
func (s *Server) search(c echo.Context) error {
	q, err := parseSearch(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	t, err := s.mailTree(ctx, ws.AccountID)
	if err != nil {
		return err
	}
	folders := t.ids()
	if q.Folder != 0 {
		if !t.has(q.Folder) {
			return errNotFound
		}
		folders = []int64{q.Folder}
	}
	needBody := q.Text != "" || q.Body != ""
	sq := storage.WebSearch{
		FolderIDs: folders, From: q.From, Subject: q.Subject, Since: q.Since, Before: q.Before,
		After: q.After, Limit: searchBatch, WithParsed: needBody,
	}
	found := []messageSummary{}
	scanned, more := 0, false
scan:
	for {
		rows, err := s.opts.Store.WebSearchMessages(ctx, ws.AccountID, sq)
		if err != nil {
			return err
		}
		for i := range rows {
			m := &rows[i]
			scanned++
			sq.After = storage.WebCursor{ReceivedAt: m.ReceivedAt, ID: m.ID}
			if s.matches(ctx, m, q) {
				found = append(found, summarize(m))
			}
			if len(found) >= q.Limit || scanned >= maxSearchScan {
				more = i < len(rows)-1 || len(rows) == searchBatch
				break scan
			}
		}
		if len(rows) < searchBatch {
			break
		}
	}
	cursor := ""
	if more {
		cursor = formatCursor(sq.After)
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": found, "cursor": cursor, "scanned": scanned})
}

// matches tests the text conditions SQL could not.
func (s *Server) matches(ctx context.Context, m *storage.Message, q *searchQuery) bool {
	var body *string
	bodyHas := func(needle string) bool {
		if body == nil {
			t := ""
			if l, err := s.loadRow(ctx, m); err == nil {
				t, _ = s.bodyText(ctx, l)
			}
			body = &t
		}
		return containsFold(*body, needle)
	}
	if q.Body != "" && !containsFold(m.Preview, q.Body) && !bodyHas(q.Body) {
		return false
	}
	if q.Text != "" {
		for _, f := range []string{m.Subject, m.FromName, m.FromAddr, m.ToDisplay, m.CcDisplay, m.Preview} {
			if containsFold(f, q.Text) {
				return true
			}
		}
		return bodyHas(q.Text)
	}
	return true
}
