package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/storage"
)

// Problem is an RFC 9457 problem document. Code is a stable slug the
// application branches on; Errors names the fields of a refused form.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
	// Recipients lists per-recipient outcomes when sending failed.
	Recipients []recipientOutcome `json:"recipients,omitempty"`

	retryAfter time.Duration
}

// FieldError says what is wrong with one input value.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail) }

func problem(status int, code, format string, args ...any) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Problems the handlers return.
var (
	errNotFound     = problem(http.StatusNotFound, "not-found", "no such item")
	errUnauthorized = problem(http.StatusUnauthorized, "unauthenticated", "sign in first; the session is missing or has expired")
	errBadCSRF      = problem(http.StatusForbidden, "csrf", "the request lacks the session's CSRF token (X-CSRF-Token header)")
	errInternal     = problem(http.StatusInternalServerError, "internal", "the server failed; see its log")
	errUnavailable  = problem(http.StatusServiceUnavailable, "unavailable", "the directory or the store cannot answer right now; try again shortly")
)

func badRequest(format string, args ...any) *Problem {
	return problem(http.StatusBadRequest, "bad-request", format, args...)
}

func invalid(field, message string) *Problem {
	p := problem(http.StatusUnprocessableEntity, "validation", "%s: %s", field, message)
	p.Errors = []FieldError{{Field: field, Message: message}}
	return p
}

// toProblem maps an error to the problem the client sees. Causes are
// logged, never shown: a store error's text is not for the browser.
func (s *Server) toProblem(c echo.Context, err error) *Problem {
	var p *Problem
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &mbe):
		return problem(http.StatusRequestEntityTooLarge, "too-large", "the request is larger than the %d bytes accepted", mbe.Limit)
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, directory.ErrNotFound):
		return errNotFound
	case errors.Is(err, storage.ErrExists):
		return problem(http.StatusConflict, "exists", "a folder with that name exists already")
	case errors.Is(err, storage.ErrQuotaExceeded):
		return problem(http.StatusInsufficientStorage, "quota", "the mailbox is full")
	case errors.Is(err, directory.ErrUnavailable), errors.Is(err, storage.ErrTemporary):
		u := *errUnavailable
		u.retryAfter = 5 * time.Second
		return &u
	case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
		return problem(499, "canceled", "the client went away")
	case errors.As(err, &he):
		code := "http"
		switch he.Code {
		case http.StatusNotFound:
			code = "not-found"
		case http.StatusMethodNotAllowed:
			code = "method-not-allowed"
		}
		return problem(he.Code, code, "%v", he.Message)
	}
	return errInternal
}

func (p *Problem) write(c echo.Context) error {
	if p.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int((p.retryAfter+time.Second-1)/time.Second)))
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	status := p.Status
	if status == 499 {
		status = http.StatusBadRequest // never sent: the client is gone
	}
	return c.Blob(status, "application/problem+json", b)
}
