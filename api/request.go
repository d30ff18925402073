package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// decodeBody reads a JSON request body into v: bounded in size, unknown
// members refused (a typo must not be silently ignored by an admin
// script), trailing data refused.
func (s *Server) decodeBody(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return problemf(ptUnsupportedMediaType, "content type %q is not JSON", ct)
		}
	}
	body := http.MaxBytesReader(c.Response().Writer, req.Body, s.opts.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyProblem(err, s.opts.MaxBodyBytes)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return bodyProblem(err, s.opts.MaxBodyBytes)
		}
		return newProblem(ptBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// bodyProblem explains a JSON decoding failure: with the member's name
// where the decoder knows it.
func bodyProblem(err error, limit int64) *Problem {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return problemf(ptTooLarge, "the body exceeds %d bytes", limit)
	case errors.Is(err, io.EOF):
		return newProblem(ptBadRequest, "the request needs a JSON body")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return problemf(ptBadRequest, "the body must be a JSON object, not %s", typeErr.Value)
		}
		return invalid(bodyField(typeErr.Field, fmt.Sprintf("must be %s, not %s", jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)))
	case errors.As(err, &syntaxErr):
		return problemf(ptBadRequest, "malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(ptBadRequest, "malformed JSON: the body ends early")
	}
	// encoding/json has no error type for unknown members.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return invalid(bodyField(name, "unknown member"))
	}
	return problemf(ptBadRequest, "malformed JSON: %v", err)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return kind
}

// pathParam returns a path parameter, percent-decoded.
func pathParam(c echo.Context, name string) string {
	v := c.Param(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

// limitParam reads ?limit= (1..maxLimit, default defaultLimit).
func limitParam(c echo.Context, errs *fieldErrors) int {
	v := c.QueryParam("limit")
	if v == "" {
		return defaultLimit
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		errs.add(queryField("limit", fmt.Sprintf("must be an integer from 1 to %d", maxLimit)))
		return defaultLimit
	}
	return n
}

// Cursors are opaque to clients: "c1." and a position, base64url. The
// position is an account id or a queue offset, depending on the list.
const cursorVersion = "c1."

func encodeCursor(pos int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + strconv.FormatInt(pos, 10)))
}

// decodeCursor reverses encodeCursor; ok is false for anything else.
func decodeCursor(s string) (int64, bool) {
	if len(s) > 64 {
		return 0, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return 0, false
	}
	rest, found := strings.CutPrefix(string(raw), cursorVersion)
	if !found {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	// Only the exact text encodeCursor makes: base64 decoders skip line
	// breaks and ignore trailing bits, numbers may carry signs and zeros.
	if err != nil || n < 0 || encodeCursor(n) != s {
		return 0, false
	}
	return n, true
}

// cursorParam reads ?cursor= (absent: 0, the start).
func cursorParam(c echo.Context, errs *fieldErrors) int64 {
	v := c.QueryParam("cursor")
	if v == "" {
		return 0
	}
	n, ok := decodeCursor(v)
	if !ok {
		errs.add(queryField("cursor", "not a cursor this API returned"))
	}
	return n
}

// page is the shape of every list response.
type page[T any] struct {
	Items []T `json:"items"`
	// NextCursor fetches the next page; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}
