package mapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/mapi/rop"
)

// Request types of the EMSMDB endpoint (MS-OXCMAPIHTTP 2.2.3.3.1),
// compared without regard to case (ruler sends them in upper case).
const (
	RequestConnect          = "Connect"
	RequestExecute          = "Execute"
	RequestDisconnect       = "Disconnect"
	RequestNotificationWait = "NotificationWait"
	RequestPing             = "PING"
)

// Connect response values (MS-OXCMAPIHTTP 2.2.4.1.2): how often a client
// without notifications should poll, and how it retries a busy server.
const (
	maxPollingInterval = 60000 // ms
	retryCount         = 6
	retryDelay         = 10000 // ms
)

// maxRopOut bounds the ROP output of one Execute: the EcDoRpcExt2
// ceiling (MS-OXCRPC 3.1.4.2).
const maxRopOut = 0x40000

// emsmdbHandler serves POST /mapi/emsmdb/ (MS-OXCMAPIHTTP 2.2.4).
func (s *Server) emsmdbHandler(c echo.Context) error {
	r := c.Request()
	reqType := r.Header.Get(HeaderRequestType)
	x := s.newExchange(c, reqType, EMSMDBPath)
	if s.isShuttingDown() {
		return x.fail(CodeEndpointShuttingDown, "the server is shutting down")
	}
	if r.Method != http.MethodPost {
		return x.fail(CodeInvalidVerb, "MAPI/HTTP requests are POST")
	}
	// MS-OXCMAPIHTTP 2.2.2.1 (X-RequestType, X-RequestId) and 2.2.3.3.4
	// (X-ClientInfo on every request). Their format is not checked: ruler
	// sends X-ClientInfo without the ":counter" part.
	for _, h := range []string{HeaderRequestType, HeaderRequestID, HeaderClientInfo} {
		if strings.TrimSpace(r.Header.Get(h)) == "" {
			return x.fail(CodeMissingHeader, "missing "+h)
		}
	}
	if code, detail := checkContentType(r.Header.Get(echo.HeaderContentType)); code != CodeSuccess {
		return x.fail(code, detail)
	}
	var handler func(*exchange, []byte) error
	switch {
	case strings.EqualFold(reqType, RequestConnect):
		if strings.TrimSpace(r.Header.Get(HeaderClientApplication)) == "" {
			// It stands in for the client version of EcDoConnectEx
			// (MS-OXCRPC 3.1.4.1.3).
			return x.fail(CodeMissingHeader, "missing "+HeaderClientApplication)
		}
		handler = s.connect
	case strings.EqualFold(reqType, RequestExecute):
		handler = s.execute
	case strings.EqualFold(reqType, RequestDisconnect):
		handler = s.disconnect
	case strings.EqualFold(reqType, RequestNotificationWait):
		handler = s.notificationWait
	case strings.EqualFold(reqType, RequestPing):
		handler = s.ping
	default:
		return x.fail(CodeInvalidRequestType, fmt.Sprintf("unknown request type %q", reqType))
	}
	body, err := readBody(r, s.opts.MaxBodyBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return x.fail(CodeTooLarge, fmt.Sprintf("request body over %d bytes", s.opts.MaxBodyBytes))
		}
		return x.fail(CodeInvalidRequestBody, "reading the request body: "+err.Error())
	}
	return handler(x, body)
}

// checkContentType accepts application/mapi-http and, leniently,
// application/octet-stream (seen from Outlook probes).
func checkContentType(v string) (ResponseCode, string) {
	if strings.TrimSpace(v) == "" {
		return CodeMissingHeader, "missing Content-Type"
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil || (mt != ContentType && mt != "application/octet-stream") {
		return CodeInvalidHeader, fmt.Sprintf("Content-Type %q is not %s", v, ContentType)
	}
	return CodeSuccess, ""
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
}

// cookieValue returns the value of the request cookie name, "" if absent.
func cookieValue(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// connect creates a session context (MS-OXCMAPIHTTP 3.2.5.1); with the
// cookies of an old context it replaces that context (3.2.5.6).
func (s *Server) connect(x *exchange, body []byte) error {
	var req ConnectRequest
	if err := req.UnmarshalBinary(body); err != nil {
		return x.fail(CodeInvalidRequestBody, err.Error())
	}
	acc := accountOf(x.c)
	r := x.c.Request()
	if old := cookieValue(r, ContextCookie); old != "" {
		s.emsmdb.destroyIfOwned(old, acc.ID)
	}
	reply := func(ec mp.ErrorCode) error {
		resp := &ConnectResponse{ErrorCode: ec, MaxPollingInterval: maxPollingInterval, RetryCount: retryCount, RetryDelay: retryDelay}
		if ec == mp.Success {
			resp.DisplayName = displayName(acc)
		}
		out, _ := resp.MarshalBinary()
		return x.run(func() result { return result{body: out} })
	}
	// MS-OXCRPC 3.1.4.1: the DN must name the authenticated user; admin
	// privilege is not offered.
	if id, ok := ParseLegacyDN(req.UserDN); !ok {
		s.log.Info("Connect with an unknown user DN", "account", acc.ID, "dn", describeDN(req.UserDN))
		return reply(mp.ErrUnknownUser)
	} else if id != acc.ID {
		s.log.Info("Connect naming another user", "account", acc.ID, "dn", describeDN(req.UserDN))
		return reply(mp.ErrAccessDenied)
	}
	if req.Flags&ConnectFlagAdmin != 0 {
		return reply(mp.ErrLoginPerm)
	}
	info := ConnectInfo{
		UserDN: req.UserDN, CodePage: req.DefaultCodePage, LcidSort: req.LcidSort, LcidString: req.LcidString,
		ClientApplication: r.Header.Get(HeaderClientApplication),
	}
	sc := s.emsmdb.create(acc, info)
	if sc == nil {
		s.log.Info("Connect refused: every session context of the user is busy", "account", acc.ID)
		return reply(mp.ErrTooManySessions)
	}
	// The cookies go out with the headers, which a slow Connect may flush
	// before it ends; the context exists (busy) from now on.
	x.setCookies(sc.id, sc.seq)
	return x.run(func() result {
		defer s.emsmdb.release(sc, true)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
		defer cancel()
		rs, err := s.opts.NewROPSession(ctx, sc.acc, info)
		ec := mp.Success
		switch {
		case err != nil:
			s.log.Error("creating the ROP session", "account", acc.ID, "err", err)
			ec = mp.ErrCallFailed
			if !errors.As(err, &ec) {
				ec = mp.ErrCallFailed
			}
		case !sc.setROP(rs):
			ec = mp.ErrCallFailed // destroyed while connecting
		}
		resp := &ConnectResponse{ErrorCode: ec, MaxPollingInterval: maxPollingInterval, RetryCount: retryCount, RetryDelay: retryDelay}
		if ec != mp.Success {
			s.emsmdb.destroy(sc)
		} else {
			resp.DisplayName = displayName(sc.acc)
			s.log.Info("MAPI session connected", "account", acc.ID, "client", info.ClientApplication,
				"ip", clientIP(r).String())
		}
		out, _ := resp.MarshalBinary()
		return result{body: out}
	})
}

// displayName is what Connect returns for the user.
func displayName(acc *directory.Account) string {
	if acc.DisplayName != "" {
		return acc.DisplayName
	}
	return acc.Address
}

// session finds the context of a request. sequenced requests must carry
// the current sequence cookie and get a new one.
func (s *Server) session(x *exchange, sequenced bool) (*sessionContext, ResponseCode, string) {
	r := x.c.Request()
	id := cookieValue(r, ContextCookie)
	if id == "" {
		return nil, CodeMissingCookie, "no " + ContextCookie + " cookie: Connect first"
	}
	sc, seq, code := s.emsmdb.acquire(id, cookieValue(r, SequenceCookie), accountOf(x.c).ID, sequenced)
	switch code {
	case CodeSuccess:
		if sequenced {
			x.setCookies(sc.id, seq)
		}
		return sc, code, ""
	case CodeContextNotFound:
		return nil, code, "the session context has expired or never existed: reconnect"
	case CodeNoPrivilege:
		s.log.Warn("MAPI request with another user's session context", "account", accountOf(x.c).ID,
			"ip", clientIP(r).String())
		return nil, code, "the session context belongs to another user"
	case CodeInvalidSequence:
		return nil, code, "stale " + SequenceCookie + " cookie, or another request is running on this context"
	case CodeMissingCookie:
		return nil, code, "no " + SequenceCookie + " cookie"
	default:
		return nil, code, "malformed " + ContextCookie + " cookie"
	}
}

// execute runs a ROP buffer (MS-OXCMAPIHTTP 2.2.4.2; MS-OXCRPC 3.1.4.2).
func (s *Server) execute(x *exchange, body []byte) error {
	var req ExecuteRequest
	if err := req.UnmarshalBinary(body); err != nil {
		return x.fail(CodeInvalidRequestBody, err.Error())
	}
	sc, code, detail := s.session(x, true)
	if code != CodeSuccess {
		return x.fail(code, detail)
	}
	ctx := x.c.Request().Context()
	return x.run(func() result {
		defer s.emsmdb.release(sc, true)
		resp := s.runROPs(ctx, sc, &req)
		out, _ := resp.MarshalBinary()
		return result{body: out}
	})
}

// runROPs unframes the ROP input, runs it and frames the output. Only a
// buffer that cannot be parsed, a lost session or an internal failure
// fail the call as a whole; a failing ROP is reported in its own
// ReturnValue inside the output.
func (s *Server) runROPs(ctx context.Context, sc *sessionContext, req *ExecuteRequest) *ExecuteResponse {
	fail := func(ec mp.ErrorCode) *ExecuteResponse { return &ExecuteResponse{ErrorCode: ec} }
	segs, err := rop.ParseExtendedBuffer(req.RopBuffer)
	if err != nil || len(segs) != 1 {
		// One ROP input buffer per Execute; chained input is not a thing
		// clients send.
		s.log.Debug("unparseable ROP input", "account", sc.accountID, "err", err, "segments", len(segs))
		return fail(mp.ErrRPCFormat)
	}
	limit := int(min(req.MaxRopOut, maxRopOut)) - rop.HeaderExtSize
	if limit < 2 {
		return fail(mp.ErrBufferTooSmall)
	}
	rs := sc.getROP()
	if rs == nil {
		return fail(mp.ErrCallFailed)
	}
	out, err := rs.Execute(ctx, segs[0].Payload, limit)
	if err != nil {
		ec := mp.ErrCallFailed
		if !errors.As(err, &ec) {
			s.log.Error("ROP execution failed", "account", sc.accountID, "err", err)
			ec = mp.ErrCallFailed
		}
		return fail(ec)
	}
	framed, err := rop.BuildExtendedBuffer(out)
	if err != nil {
		s.log.Error("framing the ROP output", "account", sc.accountID, "err", err)
		return fail(mp.ErrCallFailed)
	}
	return &ExecuteResponse{RopBuffer: framed}
}

// disconnect destroys the session context (MS-OXCMAPIHTTP 2.2.4.3).
func (s *Server) disconnect(x *exchange, body []byte) error {
	var req DisconnectRequest
	if err := req.UnmarshalBinary(body); err != nil {
		return x.fail(CodeInvalidRequestBody, err.Error())
	}
	sc, code, detail := s.session(x, false)
	if code != CodeSuccess {
		return x.fail(code, detail)
	}
	s.emsmdb.release(sc, false)
	x.expireCookies()
	return x.run(func() result {
		// Close waits for a running Execute of the context.
		s.emsmdb.destroy(sc)
		s.log.Info("MAPI session disconnected", "account", sc.accountID)
		out, _ := (&DisconnectResponse{}).MarshalBinary()
		return result{body: out}
	})
}

// ping answers PING (MS-OXCMAPIHTTP 2.2.6): an empty body, and a touch of
// the session context's idle timer when one is named.
func (s *Server) ping(x *exchange, _ []byte) error {
	if cookieValue(x.c.Request(), ContextCookie) != "" {
		sc, code, detail := s.session(x, false)
		if code != CodeSuccess {
			return x.fail(code, detail)
		}
		s.emsmdb.release(sc, false)
	}
	return x.run(func() result { return result{} })
}

// notificationWait holds the request until the session has notifications
// or NotificationWaitTimeout passes (MS-OXCMAPIHTTP 2.2.4.4, 3.2.5.4;
// MS-OXCNOTIF). It is not sequenced: it runs beside Execute requests of
// the same context.
func (s *Server) notificationWait(x *exchange, body []byte) error {
	var req NotificationWaitRequest
	if err := req.UnmarshalBinary(body); err != nil {
		return x.fail(CodeInvalidRequestBody, err.Error())
	}
	sc, code, detail := s.session(x, false)
	if code != CodeSuccess {
		return x.fail(code, detail)
	}
	reqCtx := x.c.Request().Context()
	return x.run(func() result {
		defer s.emsmdb.release(sc, false)
		ctx, cancel := context.WithTimeout(reqCtx, s.opts.NotificationWaitTimeout)
		defer cancel()
		go func() {
			// The wait also ends when the context is destroyed or the
			// server stops.
			select {
			case <-sc.done:
			case <-s.stop:
			case <-ctx.Done():
			}
			cancel()
		}()
		var pending uint32
		if es, ok := sc.getROP().(EventSource); ok && es.WaitEvents(ctx) {
			pending = EventPending
		} else {
			<-ctx.Done()
		}
		select {
		case <-sc.done:
			return result{code: CodeContextNotFound, detail: "the session context ended during the wait"}
		default:
		}
		out, _ := (&NotificationWaitResponse{EventPending: pending}).MarshalBinary()
		return result{body: out}
	})
}

// disabledEndpoint answers the address book endpoint, which this build
// does not serve yet.
func (s *Server) disabledEndpoint(c echo.Context) error {
	return s.newExchange(c, c.Request().Header.Get(HeaderRequestType), NSPIPath).
		fail(CodeEndpointDisabled, "the address book endpoint is not available")
}

// invalidPath answers any other /mapi/ path.
func (s *Server) invalidPath(c echo.Context) error {
	return s.newExchange(c, c.Request().Header.Get(HeaderRequestType), EMSMDBPath).
		fail(CodeInvalidPath, "no MAPI endpoint at "+c.Request().URL.Path)
}
