package api

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

// Errors are RFC 9457 problem details. Every problem has a stable type,
// a relative URI under ProblemBase that GET answers with its description,
// so a client can branch on type and a person can look it up.

// ProblemBase prefixes every problem type URI.
const ProblemBase = "/api/v1/problems/"

const problemContentType = "application/problem+json"

// ProblemType is one entry of the problem catalogue.
type ProblemType struct {
	Slug        string `json:"-"`
	Status      int    `json:"status"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// URI is the problem's type member.
func (t ProblemType) URI() string { return ProblemBase + t.Slug }

// The problem catalogue. Slugs never change once published.
var (
	ptBadRequest = ProblemType{"bad-request", http.StatusBadRequest, "Malformed request",
		"The request body is not well-formed JSON, or the request cannot be parsed at all."}
	ptUnauthenticated = ProblemType{"unauthenticated", http.StatusUnauthorized, "Authentication required",
		"The request carries no API token. Send one as \"Authorization: Bearer TOKEN\"; make tokens with \"pochta token create\"."}
	ptInvalidToken = ProblemType{"invalid-token", http.StatusUnauthorized, "Invalid token",
		"The API token is malformed, unknown or revoked."}
	ptInsufficientScope = ProblemType{"insufficient-scope", http.StatusForbidden, "Insufficient scope",
		"The API token's scope does not allow this request: read tokens may only read."}
	ptTLSRequired = ProblemType{"tls-required", http.StatusForbidden, "HTTPS required",
		"The request carries an API token but did not arrive over HTTPS, so the token was not looked at. Use the https:// address (or a reverse proxy that terminates TLS and is listed in http.trusted_proxies); allow_insecure_auth_loopback permits plain HTTP from 127.0.0.1 and ::1 for development. Treat a token sent in clear as exposed."}
	ptNotFound = ProblemType{"not-found", http.StatusNotFound, "Not found",
		"The resource named by the path does not exist."}
	ptMethodNotAllowed = ProblemType{"method-not-allowed", http.StatusMethodNotAllowed, "Method not allowed",
		"The resource exists but does not support this method; the Allow header lists those it does."}
	ptAlreadyExists = ProblemType{"already-exists", http.StatusConflict, "Already exists",
		"Another account, alias, group, domain or membership already uses this name or address."}
	ptDirectoryManaged = ProblemType{"directory-managed", http.StatusConflict, "Managed by the external directory",
		"The account belongs to the external directory (LDAP): change it there. Only its mailbox settings (quota) can be changed here."}
	ptNotEmpty = ProblemType{"not-empty", http.StatusConflict, "Not empty",
		"The domain still has accounts, aliases or groups; remove them first."}
	ptUnsupportedMediaType = ProblemType{"unsupported-media-type", http.StatusUnsupportedMediaType, "Unsupported media type",
		"Request bodies must be JSON (Content-Type: application/json)."}
	ptTooLarge = ProblemType{"request-too-large", http.StatusRequestEntityTooLarge, "Request too large",
		"The request body is larger than the API accepts."}
	ptValidation = ProblemType{"validation", http.StatusUnprocessableEntity, "Validation failed",
		"One or more values are missing or invalid; the errors member names each field and what is wrong with it."}
	ptTooManyRequests = ProblemType{"too-many-requests", http.StatusTooManyRequests, "Too many failed authentications",
		"This client failed to authenticate too often; wait for the time in the Retry-After header."}
	ptUnavailable = ProblemType{"unavailable", http.StatusServiceUnavailable, "Temporarily unavailable",
		"The store or the directory cannot answer right now (database busy, LDAP down); retry later."}
	ptInternal = ProblemType{"internal", http.StatusInternalServerError, "Internal error",
		"The server failed unexpectedly; the request id in the problem finds the details in the server log."}
)

// ProblemTypes is the whole catalogue, in a stable order.
var ProblemTypes = []ProblemType{ptBadRequest, ptUnauthenticated, ptInvalidToken, ptInsufficientScope, ptTLSRequired, ptNotFound,
	ptMethodNotAllowed, ptAlreadyExists, ptDirectoryManaged, ptNotEmpty, ptUnsupportedMediaType, ptTooLarge,
	ptValidation, ptTooManyRequests, ptUnavailable, ptInternal}

// FieldError says what is wrong with one input value.
type FieldError struct {
	// Field is the JSON member, query parameter or path parameter.
	Field string `json:"field"`
	// In is "body", "query" or "path".
	In     string `json:"in"`
	Detail string `json:"detail"`
}

// Problem is an RFC 9457 problem details object; handlers return it as an
// error and the API's middleware writes it.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
	// RequestID finds the request in the server log (extension member).
	RequestID string `json:"request_id,omitempty"`

	retryAfter time.Duration
	// authenticate is the WWW-Authenticate value for 401 and 403 (RFC 6750 §3).
	authenticate string
	allow        string
	cause        error
}

func (p *Problem) Error() string {
	if p.cause != nil {
		return fmt.Sprintf("%s: %s: %v", p.Title, p.Detail, p.cause)
	}
	return p.Title + ": " + p.Detail
}

func (p *Problem) Unwrap() error { return p.cause }

func newProblem(t ProblemType, detail string) *Problem {
	return &Problem{Type: t.URI(), Title: t.Title, Status: t.Status, Detail: detail}
}

func problemf(t ProblemType, format string, args ...any) *Problem {
	return newProblem(t, fmt.Sprintf(format, args...))
}

// invalid is a 422 with field errors.
func invalid(errs ...FieldError) *Problem {
	p := newProblem(ptValidation, "")
	p.Errors = errs
	if len(errs) == 1 {
		p.Detail = errs[0].Field + ": " + errs[0].Detail
	} else {
		p.Detail = fmt.Sprintf("%d values are invalid", len(errs))
	}
	return p
}

func bodyField(field, detail string) FieldError {
	return FieldError{Field: field, In: "body", Detail: detail}
}
func queryField(field, detail string) FieldError {
	return FieldError{Field: field, In: "query", Detail: detail}
}
func pathField(field, detail string) FieldError {
	return FieldError{Field: field, In: "path", Detail: detail}
}

// fieldErrors collects validation failures of one request.
type fieldErrors []FieldError

func (f *fieldErrors) add(e FieldError) { *f = append(*f, e) }

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return invalid(f...)
}

// toProblem maps any handler error onto a problem. Store and directory
// errors keep their meaning: not found, exists, read-only, temporary.
func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return httpErrorProblem(he)
	}
	switch {
	case errors.Is(err, directory.ErrNotFound), errors.Is(err, storage.ErrNotFound):
		return &Problem{Type: ptNotFound.URI(), Title: ptNotFound.Title, Status: ptNotFound.Status, Detail: "not found", cause: err}
	case errors.Is(err, directory.ErrExists), errors.Is(err, storage.ErrExists):
		return &Problem{Type: ptAlreadyExists.URI(), Title: ptAlreadyExists.Title, Status: ptAlreadyExists.Status, Detail: "already exists", cause: err}
	case errors.Is(err, directory.ErrReadOnly):
		return &Problem{Type: ptDirectoryManaged.URI(), Title: ptDirectoryManaged.Title, Status: ptDirectoryManaged.Status,
			Detail: "the entry is managed by the external directory", cause: err}
	case errors.Is(err, directory.ErrUnavailable), errors.Is(err, storage.ErrTemporary), errors.Is(err, context.DeadlineExceeded):
		return &Problem{Type: ptUnavailable.URI(), Title: ptUnavailable.Title, Status: ptUnavailable.Status,
			Detail: "the store or directory cannot answer now", retryAfter: 5 * time.Second, cause: err}
	case errors.Is(err, directory.ErrInvalid):
		return &Problem{Type: ptValidation.URI(), Title: ptValidation.Title, Status: ptValidation.Status, Detail: err.Error(), cause: err}
	}
	return &Problem{Type: ptInternal.URI(), Title: ptInternal.Title, Status: ptInternal.Status,
		Detail: "the server failed; see its log for this request id", cause: err}
}

// httpErrorProblem covers errors echo itself makes (no route, 405, bad bind).
func httpErrorProblem(he *echo.HTTPError) *Problem {
	for _, t := range ProblemTypes {
		if t.Status == he.Code && t != ptInvalidToken && t != ptDirectoryManaged && t != ptNotEmpty {
			detail := http.StatusText(he.Code)
			if m, ok := he.Message.(string); ok && m != "" {
				detail = m
			}
			if he.Code == http.StatusNotFound {
				detail = "no such resource"
			}
			return &Problem{Type: t.URI(), Title: t.Title, Status: t.Status, Detail: detail, cause: he.Internal}
		}
	}
	return &Problem{Type: ptInternal.URI(), Title: ptInternal.Title, Status: ptInternal.Status, Detail: "unexpected error", cause: he}
}

// writeProblem sends p as application/problem+json.
func writeProblem(c echo.Context, p *Problem) error {
	h := c.Response().Header()
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((p.retryAfter+time.Second-1)/time.Second)))
	}
	if p.authenticate != "" {
		h.Set("WWW-Authenticate", p.authenticate)
	}
	if p.allow != "" {
		h.Set("Allow", p.allow)
	}
	h.Set(echo.HeaderContentType, problemContentType)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	return json.NewEncoder(c.Response()).Encode(p)
}
