package mapi

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// ResponseCode is the X-ResponseCode of a MAPI/HTTP response, numbered as
// MS-OXCMAPIHTTP 2.2.3.3.3 numbers it. Anything but CodeSuccess means the
// body is diagnostic text, not a MAPI body.
type ResponseCode int

const (
	CodeSuccess              ResponseCode = 0
	CodeUnknownFailure       ResponseCode = 1
	CodeInvalidVerb          ResponseCode = 2
	CodeInvalidPath          ResponseCode = 3
	CodeInvalidHeader        ResponseCode = 4
	CodeInvalidRequestType   ResponseCode = 5
	CodeInvalidContextCookie ResponseCode = 6
	CodeMissingHeader        ResponseCode = 7
	CodeAnonymousNotAllowed  ResponseCode = 8
	CodeTooLarge             ResponseCode = 9
	CodeContextNotFound      ResponseCode = 10
	CodeNoPrivilege          ResponseCode = 11
	CodeInvalidRequestBody   ResponseCode = 12
	CodeMissingCookie        ResponseCode = 13
	CodeInvalidSequence      ResponseCode = 15
	CodeEndpointDisabled     ResponseCode = 16
	CodeInvalidResponse      ResponseCode = 17
	CodeEndpointShuttingDown ResponseCode = 18
)

var codeNames = map[ResponseCode]string{
	CodeSuccess: "Success", CodeUnknownFailure: "Unknown Failure", CodeInvalidVerb: "Invalid Verb",
	CodeInvalidPath: "Invalid Path", CodeInvalidHeader: "Invalid Header",
	CodeInvalidRequestType: "Invalid Request Type", CodeInvalidContextCookie: "Invalid Context Cookie",
	CodeMissingHeader: "Missing Header", CodeAnonymousNotAllowed: "Anonymous Not Allowed",
	CodeTooLarge: "Too Large", CodeContextNotFound: "Context Not Found", CodeNoPrivilege: "No Privilege",
	CodeInvalidRequestBody: "Invalid Request Body", CodeMissingCookie: "Missing Cookie",
	CodeInvalidSequence: "Invalid Sequence", CodeEndpointDisabled: "Endpoint Disabled",
	CodeInvalidResponse: "Invalid Response", CodeEndpointShuttingDown: "Endpoint Shutting Down",
}

func (c ResponseCode) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "X-ResponseCode " + strconv.Itoa(int(c))
}

// Header names of MS-OXCMAPIHTTP 2.2.3.3.
const (
	HeaderRequestType       = "X-RequestType"
	HeaderRequestID         = "X-RequestId"
	HeaderClientInfo        = "X-ClientInfo"
	HeaderClientApplication = "X-ClientApplication"
	HeaderResponseCode      = "X-ResponseCode"
	HeaderServerApplication = "X-ServerApplication"
	HeaderPendingPeriod     = "X-PendingPeriod"
	HeaderExpirationInfo    = "X-ExpirationInfo"
	HeaderElapsedTime       = "X-ElapsedTime"
	HeaderStartTime         = "X-StartTime"
)

// ContentType is the media type of MAPI/HTTP request and response bodies
// (MS-OXCMAPIHTTP 2.2.3.2.2).
const ContentType = "application/mapi-http"

// Meta-tags of the response body (MS-OXCMAPIHTTP 2.2.7).
const (
	MetaProcessing = "PROCESSING"
	MetaPending    = "PENDING"
	MetaDone       = "DONE"
)

// exchange is one MAPI/HTTP request and its response under way.
type exchange struct {
	s           *Server
	c           echo.Context
	requestType string // as the client sent it
	start       time.Time
	cookiePath  string
	// flushed is set once the response headers and PROCESSING went out;
	// from then on the X-ResponseCode header cannot change and a failure
	// is reported in the additional headers after DONE.
	flushed bool
}

func (s *Server) newExchange(c echo.Context, requestType, cookiePath string) *exchange {
	return &exchange{s: s, c: c, requestType: requestType, start: s.now(), cookiePath: cookiePath}
}

// setCommonHeaders sets the headers every response carries
// (MS-OXCMAPIHTTP 2.2.2.2): the echoes of the request's identifiers, the
// server version and the timing hints.
func (x *exchange) setCommonHeaders(code ResponseCode) {
	h := x.c.Response().Header()
	req := x.c.Request().Header
	if x.requestType != "" {
		setHeader(h, HeaderRequestType, x.requestType)
	}
	if v := req.Get(HeaderRequestID); v != "" {
		setHeader(h, HeaderRequestID, v)
	}
	if v := req.Get(HeaderClientInfo); v != "" {
		setHeader(h, HeaderClientInfo, v)
	}
	setHeader(h, HeaderResponseCode, strconv.Itoa(int(code)))
	setHeader(h, HeaderServerApplication, x.s.opts.ServerApplication)
	setHeader(h, HeaderPendingPeriod, strconv.FormatInt(x.s.opts.PendingPeriod.Milliseconds(), 10))
	setHeader(h, HeaderExpirationInfo, strconv.FormatInt(x.s.opts.SessionIdleTimeout.Milliseconds(), 10))
	h.Set("Cache-Control", "private")
}

// setHeader sets a header under the exact spelling of the specification
// (X-RequestId, not Go's canonical X-Requestid): header names are
// case-insensitive, but clients written against Exchange need not be.
func setHeader(h http.Header, name, value string) {
	h.Del(name)
	h[name] = []string{value}
}

// setCookies sends the cookies of a session context, scoped to the
// endpoint's path (MS-OXCMAPIHTTP 3.2.5.1).
func (x *exchange) setCookies(contextID, seq string) {
	secure := x.s.opts.Transport.Secure(x.c.Request()) // TLS here or at a trusted proxy
	for _, ck := range []*http.Cookie{
		{Name: ContextCookie, Value: contextID, Path: x.cookiePath, Secure: secure, HttpOnly: true},
		{Name: SequenceCookie, Value: seq, Path: x.cookiePath, Secure: secure, HttpOnly: true},
	} {
		x.c.SetCookie(ck)
	}
}

// expireCookies tells the client to forget the context's cookies
// (Disconnect).
func (x *exchange) expireCookies() {
	for _, name := range []string{ContextCookie, SequenceCookie} {
		x.c.SetCookie(&http.Cookie{Name: name, Value: "", Path: x.cookiePath, MaxAge: -1, HttpOnly: true, Secure: x.s.opts.Transport.Secure(x.c.Request())})
	}
}

// metaBlock is the end of the meta-tag section: DONE, the additional
// headers and the empty line before the body (MS-OXCMAPIHTTP 2.2.7,
// X-ElapsedTime in milliseconds per 2.2.3.3.9).
func (x *exchange) metaBlock(code ResponseCode) []byte {
	var b bytes.Buffer
	b.WriteString(MetaDone + "\r\n")
	fmt.Fprintf(&b, "%s: %d\r\n", HeaderResponseCode, code)
	fmt.Fprintf(&b, "%s: %d\r\n", HeaderElapsedTime, x.s.now().Sub(x.start).Milliseconds())
	fmt.Fprintf(&b, "%s: %s\r\n", HeaderStartTime, x.start.UTC().Format(http.TimeFormat))
	b.WriteString("\r\n")
	return b.Bytes()
}

// fail answers with a non-zero X-ResponseCode and a diagnostic body, in
// the same framing as a success so clients that skip to the first empty
// line find the text. The HTTP status stays 200: MAPI/HTTP reports
// failures in X-ResponseCode (MS-OXCMAPIHTTP 2.2.2.2).
func (x *exchange) fail(code ResponseCode, detail string) error {
	x.s.log.Debug("MAPI request refused", "type", x.requestType, "code", int(code), "detail", detail,
		"remote", x.c.Request().RemoteAddr)
	text := fmt.Sprintf("<html><head><title>%s</title></head><body><p>X-ResponseCode %d: %s</p><p>%s</p></body></html>",
		html.EscapeString(code.String()), code, html.EscapeString(code.String()), html.EscapeString(detail))
	if x.flushed {
		// The headers already said success; the additional headers carry
		// the real code (MS-OXCMAPIHTTP 4.2).
		w := x.c.Response()
		_, _ = w.Write(x.metaBlock(code))
		_, _ = w.Write([]byte(text))
		return nil
	}
	x.setCommonHeaders(code)
	h := x.c.Response().Header()
	h.Set(echo.HeaderContentType, "text/html; charset=utf-8")
	var b bytes.Buffer
	b.WriteString(MetaProcessing + "\r\n")
	b.Write(x.metaBlock(code))
	b.WriteString(text)
	return x.c.Blob(http.StatusOK, "text/html; charset=utf-8", b.Bytes())
}

// result is what a request's work produced: a MAPI body, or a failure
// code with a diagnostic.
type result struct {
	body   []byte
	code   ResponseCode
	detail string
}

// run answers a request whose work may take a while: it sends the
// headers (with X-ResponseCode 0, cookies already set by the caller),
// PROCESSING, a PENDING line every PendingPeriod while work runs, and
// DONE with the additional headers and the body when it ends
// (MS-OXCMAPIHTTP 2.2.7, 3.2.5.3). Small requests end before the first
// flush and go out in one write. work runs on its own goroutine; a panic
// in it becomes X-ResponseCode 1 and is counted.
func (x *exchange) run(work func() result) error {
	done := make(chan result, 1)
	go func() {
		finished := false
		defer func() {
			if !finished {
				done <- result{code: CodeUnknownFailure, detail: "internal error"}
			}
		}()
		// Runs first: logs and counts the panic, then the function above
		// reports the failure.
		defer x.s.opts.Metrics.Recover(x.s.log, "mapi")
		res := work()
		finished = true
		done <- res
	}()
	w := x.c.Response()
	x.setCommonHeaders(CodeSuccess)
	w.Header().Set(echo.HeaderContentType, ContentType)
	var head bytes.Buffer
	head.WriteString(MetaProcessing + "\r\n")
	// The first flush comes early so a client sees PROCESSING promptly on
	// a slow request; later ones every PendingPeriod.
	first := min(x.s.opts.PendingPeriod, time.Second)
	timer := time.NewTimer(first)
	defer timer.Stop()
	rc := http.NewResponseController(w)
	for {
		select {
		case res := <-done:
			if res.code != CodeSuccess {
				return x.fail(res.code, res.detail)
			}
			if !x.flushed {
				w.WriteHeader(http.StatusOK)
			}
			head.Write(x.metaBlock(CodeSuccess))
			head.Write(res.body)
			_, err := w.Write(head.Bytes())
			return err
		case <-timer.C:
			if !x.flushed {
				w.WriteHeader(http.StatusOK)
				x.flushed = true
			} else {
				head.WriteString(MetaPending + "\r\n")
			}
			// A failed write means the client went away; keep waiting for
			// the work so the context is released in order.
			if _, err := w.Write(head.Bytes()); err == nil {
				_ = rc.Flush()
			}
			head.Reset()
			timer.Reset(x.s.opts.PendingPeriod)
		}
	}
}
