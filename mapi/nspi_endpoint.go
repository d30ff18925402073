package mapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/mapi/nspi"
)

// AddressBook is the NSPI endpoint, /mapi/nspi/ (MS-OXCMAPIHTTP 2.2.5):
// the requests of package mapi/nspi over the transport of this package,
// with session contexts of its own. Bind creates a context (cookies scoped
// to /mapi/nspi/, so they never clobber the EMSMDB ones), Unbind destroys
// it; every other request but PING is sequenced like Execute. Idle
// contexts expire like EMSMDB ones.
type AddressBook struct {
	s        *Server
	book     *nspi.Server
	contexts *sessionTable

	stop     chan struct{}
	stopOnce sync.Once
	janitor  sync.WaitGroup
}

// NewAddressBook makes the address book endpoint of s. Fields of opts left
// empty are taken from s: Directory, Logger, LegacyDN and ParseLegacyDN
// (the one LegacyDN format), HomeMDB (this server's mailbox database DN),
// and the GetMailboxUrl and GetAddressBookUrl answers, built as
// Autodiscover builds its URLs. It starts a goroutine that expires idle
// contexts; Shutdown stops it.
func (s *Server) NewAddressBook(opts nspi.Options) (*AddressBook, error) {
	if opts.Directory == nil {
		opts.Directory = s.opts.Directory
	}
	if opts.Logger == nil {
		opts.Logger = s.opts.Logger
	}
	if opts.LegacyDN == nil {
		opts.LegacyDN = LegacyDN
	}
	if opts.ParseLegacyDN == nil {
		opts.ParseLegacyDN = ParseLegacyDN
	}
	if opts.HomeMDB == "" {
		opts.HomeMDB = MailboxStoreLegacyDN(s.opts.Hostname)
	}
	if opts.MailboxURL == nil {
		opts.MailboxURL = func(ctx context.Context, acc *directory.Account) (string, error) {
			return s.endpointURL(ctx, acc, EMSMDBPath)
		}
	}
	if opts.AddressBookURL == nil {
		opts.AddressBookURL = func(ctx context.Context, acc *directory.Account) (string, error) {
			return s.endpointURL(ctx, acc, NSPIPath)
		}
	}
	book, err := nspi.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("mapi: address book: %w", err)
	}
	ab := &AddressBook{s: s, book: book, stop: make(chan struct{}),
		contexts: newSessionTable(s, "nspi", s.opts.SessionIdleTimeout, s.opts.MaxSessionsPerUser)}
	ab.janitor.Add(1)
	go ab.sweepLoop()
	return ab, nil
}

// endpointURL is the URL of an endpoint for acc, with the MailboxId
// Autodiscover puts in it, from the request's base URL (nspi carries it in
// the context) or the configured external URL.
func (s *Server) endpointURL(ctx context.Context, acc *directory.Account, path string) (string, error) {
	base := s.opts.ExternalURL
	if base == "" {
		base = nspi.RequestBaseURL(ctx)
	}
	if base == "" {
		return "", mp.ErrNotFound
	}
	if err := s.opts.Store.EnsureMailbox(ctx, acc.ID); err != nil {
		return "", fmt.Errorf("mapi: mailbox of account %d: %w", acc.ID, err)
	}
	mb, err := s.opts.Store.Mailbox(ctx, acc.ID)
	if err != nil {
		return "", fmt.Errorf("mapi: mailbox of account %d: %w", acc.ID, err)
	}
	id := strings.ToLower(mb.GUID) + "@" + acc.Domain()
	return base + path + "?MailboxId=" + strings.ReplaceAll(url.QueryEscape(id), "%40", "@"), nil
}

// Book is the address book server behind the endpoint.
func (ab *AddressBook) Book() *nspi.Server { return ab.book }

// Mount routes /mapi/nspi/ of e to the address book. Call it after
// Server.Mount: the route replaces the "endpoint disabled" answer.
func (ab *AddressBook) Mount(e *echo.Echo) {
	e.Any(NSPIPath, ab.handle, ab.s.authenticate)
}

// Shutdown stops the expiry goroutine and destroys every context.
func (ab *AddressBook) Shutdown(ctx context.Context) error {
	ab.stopOnce.Do(func() { close(ab.stop) })
	ab.janitor.Wait()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ab.contexts.closeAll()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mapi: closing address book sessions: %w", ctx.Err())
	}
}

func (ab *AddressBook) sweepLoop() {
	defer ab.janitor.Done()
	defer ab.s.opts.Metrics.Recover(ab.s.log, "mapi")
	every := min(ab.s.opts.SessionIdleTimeout/4, time.Minute)
	t := time.NewTicker(max(every, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ab.stop:
			return
		case <-ab.s.stop:
			return
		case <-t.C:
			ab.contexts.sweep()
		}
	}
}

// nspiContext holds an NSPI session in a session context (the table's
// slot for the EMSMDB ROP session); it runs no ROPs.
type nspiContext struct{ sess *nspi.Session }

func (nspiContext) Execute(context.Context, []byte, int) ([]byte, error) {
	return nil, mp.ErrNotSupported
}

func (n nspiContext) Close() { n.sess.Close() }

// handle serves POST /mapi/nspi/ (MS-OXCMAPIHTTP 2.2.5).
func (ab *AddressBook) handle(c echo.Context) error {
	s := ab.s
	r := c.Request()
	reqType := r.Header.Get(HeaderRequestType)
	x := s.newExchange(c, reqType, NSPIPath)
	if s.isShuttingDown() {
		return x.fail(CodeEndpointShuttingDown, "the server is shutting down")
	}
	if r.Method != http.MethodPost {
		return x.fail(CodeInvalidVerb, "MAPI/HTTP requests are POST")
	}
	for _, h := range []string{HeaderRequestType, HeaderRequestID, HeaderClientInfo} {
		if strings.TrimSpace(r.Header.Get(h)) == "" {
			return x.fail(CodeMissingHeader, "missing "+h)
		}
	}
	isBind := strings.EqualFold(reqType, nspi.RequestBind)
	// Outlook's first Bind may come as application/octet-stream or without
	// a content type at all (MAPI.md §13.21): Bind takes any.
	if !isBind {
		if code, detail := checkContentType(r.Header.Get(echo.HeaderContentType)); code != CodeSuccess {
			return x.fail(code, detail)
		}
	}
	isPing := strings.EqualFold(reqType, RequestPing)
	if !isPing && nspi.NewRequest(reqType) == nil {
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
	base, _ := s.baseURL(r)
	ctx := nspi.WithRequestBaseURL(r.Context(), base)
	switch {
	case isBind:
		return ab.bind(ctx, x, body)
	case isPing:
		return ab.ping(x)
	}
	return ab.call(ctx, x, reqType, body)
}

// bind creates a session context (MS-OXCMAPIHTTP 3.2.5.1); with the
// cookies of an old one it replaces it (3.2.5.6).
func (ab *AddressBook) bind(ctx context.Context, x *exchange, body []byte) error {
	acc := accountOf(x.c)
	if old := cookieValue(x.c.Request(), ContextCookie); old != "" {
		ab.contexts.destroyIfOwned(old, acc.ID)
	}
	out, sess, err := ab.book.Handle(ctx, nspi.RequestBind, acc, nil, body)
	if err != nil {
		return x.fail(nspiCode(err), err.Error())
	}
	if sess == nil {
		// Bind refused (its ErrorCode says why): no context.
		return x.run(func() result { return result{body: out} })
	}
	sc := ab.contexts.create(acc, ConnectInfo{})
	if sc == nil {
		sess.Close()
		ab.s.log.Info("Bind refused: every address book context of the user is busy", "account", acc.ID)
		refused, _ := nspi.Marshal(&nspi.BindResponse{Result: nspi.Result{ErrorCode: mp.ErrTooManySessions}})
		return x.run(func() result { return result{body: refused} })
	}
	if !sc.setROP(nspiContext{sess}) {
		ab.contexts.release(sc, true)
		return x.fail(CodeUnknownFailure, "the session context ended while binding")
	}
	x.setCookies(sc.id, sc.seq)
	ab.contexts.release(sc, true)
	return x.run(func() result { return result{body: out} })
}

// ping answers PING on the address book endpoint (MS-OXCMAPIHTTP 2.2.6).
func (ab *AddressBook) ping(x *exchange) error {
	if cookieValue(x.c.Request(), ContextCookie) != "" {
		sc, code, detail := ab.session(x, false)
		if code != CodeSuccess {
			return x.fail(code, detail)
		}
		ab.contexts.release(sc, false)
	}
	return x.run(func() result { return result{} })
}

// call runs any other request on the context of its cookies. Unbind is
// not sequenced and ends the context.
func (ab *AddressBook) call(ctx context.Context, x *exchange, reqType string, body []byte) error {
	unbind := strings.EqualFold(reqType, nspi.RequestUnbind)
	sc, code, detail := ab.session(x, !unbind)
	if code != CodeSuccess {
		return x.fail(code, detail)
	}
	nc, ok := sc.getROP().(nspiContext)
	if !ok {
		ab.contexts.release(sc, !unbind)
		return x.fail(CodeContextNotFound, "the session context has ended: bind again")
	}
	if unbind {
		x.expireCookies()
	}
	acc := accountOf(x.c)
	return x.run(func() result {
		defer func() {
			ab.contexts.release(sc, !unbind)
			if unbind || nc.sess.Closed() {
				ab.contexts.destroy(sc)
			}
		}()
		out, _, err := ab.book.Handle(ctx, reqType, acc, nc.sess, body)
		if err != nil {
			return result{code: nspiCode(err), detail: err.Error()}
		}
		return result{body: out}
	})
}

// session finds the context of a request, as Server.session does for
// EMSMDB.
func (ab *AddressBook) session(x *exchange, sequenced bool) (*sessionContext, ResponseCode, string) {
	r := x.c.Request()
	id := cookieValue(r, ContextCookie)
	if id == "" {
		return nil, CodeMissingCookie, "no " + ContextCookie + " cookie: Bind first"
	}
	sc, seq, code := ab.contexts.acquire(id, cookieValue(r, SequenceCookie), accountOf(x.c).ID, sequenced)
	switch code {
	case CodeSuccess:
		if sequenced {
			x.setCookies(sc.id, seq)
		}
		return sc, code, ""
	case CodeContextNotFound:
		return nil, code, "the address book session has expired or never existed: bind again"
	case CodeNoPrivilege:
		ab.s.log.Warn("NSPI request with another user's session context", "account", accountOf(x.c).ID,
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

// nspiCode maps the errors of nspi.Server.Handle to X-ResponseCode values.
func nspiCode(err error) ResponseCode {
	switch {
	case errors.Is(err, nspi.ErrUnknownRequestType):
		return CodeInvalidRequestType
	case errors.Is(err, nspi.ErrNoSession):
		return CodeContextNotFound
	case errors.Is(err, nspi.ErrWrongUser):
		return CodeNoPrivilege
	case errors.Is(err, nspi.ErrInvalidBody):
		return CodeInvalidRequestBody
	}
	return CodeUnknownFailure
}
