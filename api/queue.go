package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/storage"
)

// The outbound queue and the delivery log (message trace).

type queueRecipientJSON struct {
	Address   string    `json:"address"`
	State     string    `json:"state"`
	LastCode  int       `json:"last_code,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

type queueJSON struct {
	ID            int64                `json:"id"`
	Sender        string               `json:"sender"`
	AccountID     int64                `json:"account_id,omitempty"`
	Size          int64                `json:"size"`
	MessageID     string               `json:"message_id,omitempty"`
	Attempts      int                  `json:"attempts"`
	NextAttemptAt time.Time            `json:"next_attempt_at"`
	ExpiresAt     time.Time            `json:"expires_at"`
	LastError     string               `json:"last_error,omitempty"`
	CreatedAt     time.Time            `json:"created_at"`
	Recipients    []queueRecipientJSON `json:"recipients"`
}

func toQueueJSON(m *storage.QueueMessage) queueJSON {
	out := queueJSON{ID: m.ID, Sender: m.Sender, AccountID: m.AccountID, Size: m.Size, MessageID: m.MessageID,
		Attempts: m.Attempts, NextAttemptAt: m.NextAttemptAt.UTC(), ExpiresAt: m.ExpiresAt.UTC(), LastError: m.LastError,
		CreatedAt: m.CreatedAt.UTC(), Recipients: make([]queueRecipientJSON, 0, len(m.Recipients))}
	for _, r := range m.Recipients {
		out.Recipients = append(out.Recipients, queueRecipientJSON{Address: r.Address, State: r.State, LastCode: r.LastCode,
			LastError: r.LastError, UpdatedAt: r.UpdatedAt.UTC()})
	}
	return out
}

// listQueue pages through the queue, oldest first. The cursor is a
// position, so a page may repeat or skip an entry when messages leave the
// queue between pages.
func (s *Server) listQueue(c echo.Context) error {
	var errs fieldErrors
	limit := limitParam(c, &errs)
	offset := cursorParam(c, &errs)
	if offset > 1<<31 {
		errs.add(queryField("cursor", "not a cursor this API returned"))
	}
	if err := errs.err(); err != nil {
		return err
	}
	ms, err := s.opts.Store.QueueMessages(c.Request().Context(), int(offset), limit+1)
	if err != nil {
		return err
	}
	out := page[queueJSON]{Items: make([]queueJSON, 0, len(ms))}
	if len(ms) > limit {
		ms = ms[:limit]
		out.NextCursor = encodeCursor(offset + int64(limit))
	}
	for i := range ms {
		out.Items = append(out.Items, toQueueJSON(&ms[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func queueIDParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid(pathField("id", "must be a positive integer"))
	}
	return id, nil
}

func (s *Server) queued(c echo.Context, id int64) error {
	m, err := s.opts.Store.QueueMessage(c.Request().Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return problemf(ptNotFound, "no message %d in the queue", id)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toQueueJSON(m))
}

func (s *Server) getQueued(c echo.Context) error {
	id, err := queueIDParam(c)
	if err != nil {
		return err
	}
	return s.queued(c, id)
}

// retryQueued makes a queued message due now; the queue runner picks it up
// at once.
func (s *Server) retryQueued(c echo.Context) error {
	id, err := queueIDParam(c)
	if err != nil {
		return err
	}
	err = s.opts.Store.RetryQueued(c.Request().Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return problemf(ptNotFound, "no message %d in the queue", id)
	}
	if err != nil {
		return err
	}
	return s.queued(c, id)
}

// deleteQueued drops a message from the queue without a bounce.
func (s *Server) deleteQueued(c echo.Context) error {
	id, err := queueIDParam(c)
	if err != nil {
		return err
	}
	err = s.opts.Store.DeleteQueued(c.Request().Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return problemf(ptNotFound, "no message %d in the queue", id)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type traceJSON struct {
	At        time.Time `json:"at"`
	MessageID string    `json:"message_id"`
	Sender    string    `json:"sender"`
	Recipient string    `json:"recipient"`
	// Outcome: delivered, queued, relayed, bounced, deferred, failed.
	Outcome   string `json:"outcome"`
	Detail    string `json:"detail,omitempty"`
	AccountID int64  `json:"account_id,omitempty"`
}

const maxTraceLimit = 1000

// trace finds what happened to messages: by Message-ID, envelope sender,
// recipient and time range, newest first.
func (s *Server) trace(c echo.Context) error {
	var errs fieldErrors
	q := storage.TraceQuery{Sender: strings.TrimSpace(c.QueryParam("sender")), Recipient: strings.TrimSpace(c.QueryParam("recipient"))}
	if v := strings.TrimSpace(c.QueryParam("message_id")); v != "" {
		// The log keeps ids without angle brackets (RFC 5322 §3.6.4 msg-id
		// content); accept them either way.
		id := strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
		if id != "" && !strings.ContainsAny(id, "<> \t\r\n") {
			q.MessageID = id
		} else {
			errs.add(queryField("message_id", "must be one Message-ID, with or without angle brackets"))
		}
	}
	for _, f := range [][2]string{{"sender", q.Sender}, {"recipient", q.Recipient}, {"message_id", q.MessageID}} {
		if utf8.RuneCountInString(f[1]) > 998 {
			errs.add(queryField(f[0], "too long"))
		}
	}
	parseTime := func(name string) time.Time {
		v := c.QueryParam(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs.add(queryField(name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"))
		}
		return t
	}
	q.Since, q.Until = parseTime("since"), parseTime("until")
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		errs.add(queryField("until", "must not be before since"))
	}
	q.Limit = 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTraceLimit {
			errs.add(queryField("limit", "must be an integer from 1 to 1000"))
		}
		q.Limit = n
	}
	if err := errs.err(); err != nil {
		return err
	}
	entries, err := s.opts.Store.Trace(c.Request().Context(), q)
	if err != nil {
		return err
	}
	out := page[traceJSON]{Items: make([]traceJSON, 0, len(entries))}
	for _, e := range entries {
		out.Items = append(out.Items, traceJSON{At: e.At.UTC(), MessageID: e.MessageID, Sender: e.Sender, Recipient: e.Recipient,
			Outcome: e.Outcome, Detail: e.Detail, AccountID: e.AccountID})
	}
	return c.JSON(http.StatusOK, out)
}
