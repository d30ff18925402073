package nspi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
)

// Options configure a Server.
type Options struct {
	// Directory lists the address book (SearchGAL) and resolves names,
	// accounts and groups. Required.
	Directory directory.Directory
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
	// LegacyDN returns the ESSDN of an account: mapi.LegacyDN, the one
	// format used everywhere. Required.
	LegacyDN func(*directory.Account) string
	// ParseLegacyDN returns the account id of a DN made by LegacyDN:
	// mapi.ParseLegacyDN. Required.
	ParseLegacyDN func(string) (int64, bool)
	// MailboxURL answers GetMailboxUrl: the EMSMDB URL of the account's
	// mailbox, built as Autodiscover builds it. Nil derives
	// BaseURL + "/mapi/emsmdb/".
	MailboxURL func(ctx context.Context, acc *directory.Account) (string, error)
	// AddressBookURL answers GetAddressBookUrl. Nil derives
	// BaseURL + "/mapi/nspi/".
	AddressBookURL func(ctx context.Context, acc *directory.Account) (string, error)
	// ExternalURL is the public base URL (https://mail.example.com) the
	// default URL builders use; empty takes the request's base URL from
	// the context (WithRequestBaseURL).
	ExternalURL string
	// HomeMDB is PidTagEmsAbHomeMdb of people with a mailbox here:
	// mapi.MailboxStoreLegacyDN(hostname). Empty leaves it out.
	HomeMDB string
	// ThumbnailPhoto returns a person's picture (JPEG), or nil without
	// one. Nil means no entry has a photo.
	ThumbnailPhoto func(ctx context.Context, e directory.Entry) ([]byte, error)
	// ServerGUID is returned by Bind and names this server in ephemeral
	// entry IDs. Zero picks a random one per run, like the MIds.
	ServerGUID mapiprop.GUID
	// GroupsContainerName is the display name of the container of
	// distribution lists. Default "Groups".
	GroupsContainerName string
	// CensusTTL bounds the age of the GAL census (size, checkpoints,
	// groups). Default one minute.
	CensusTTL time.Duration
	// EntryTTL bounds the age of an entry's snapshot before GetProps of
	// its MId asks the directory again. Default two minutes.
	EntryTTL time.Duration
	// MaxRowsPerRequest caps the rows of one QueryRows or GetMatches
	// (fewer than asked is allowed; more never). Default 1000.
	MaxRowsPerRequest int
	// MaxEntries caps the entries a census reads. Default 1,000,000.
	MaxEntries int
}

// Server answers NSPI requests. It is safe for concurrent use; sessions
// are used one request at a time by the transport.
type Server struct {
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	mids      *midTable
	gal       *gal
	dnPrefix  string // ".../cn=Recipients/cn=", where DNs of entries without an account live
	groupsDN  string
	groupsEID []byte
	readAhead int // rows a window reads beyond what a request asks
	windowMax int // rows a session window keeps
}

// Errors Handle returns when the request gets no NSPI answer; the
// transport maps them to X-ResponseCode values (MS-OXCMAPIHTTP 2.2.3.3.3).
var (
	// ErrUnknownRequestType: X-ResponseCode 5 (Invalid Request Type).
	ErrUnknownRequestType = errors.New("nspi: unknown request type")
	// ErrNoSession: a request other than Bind without a live session,
	// X-ResponseCode 10 (Context Not Found).
	ErrNoSession = errors.New("nspi: no session")
	// ErrWrongUser: the session belongs to another account,
	// X-ResponseCode 11 (No Privilege).
	ErrWrongUser = errors.New("nspi: session of another account")
	// ErrInvalidBody (wrapping ErrMalformed): X-ResponseCode 12.
	ErrInvalidBody = errors.New("nspi: invalid request body")
	// ErrInternal: a bug (a recovered panic); X-ResponseCode 1.
	ErrInternal = errors.New("nspi: internal error")
)

// NewServer checks opts and makes a Server.
func NewServer(opts Options) (*Server, error) {
	if opts.Directory == nil || opts.LegacyDN == nil || opts.ParseLegacyDN == nil {
		return nil, errors.New("nspi: Directory, LegacyDN and ParseLegacyDN are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ServerGUID.IsZero() {
		if _, err := rand.Read(opts.ServerGUID[:]); err != nil {
			return nil, fmt.Errorf("nspi: server GUID: %w", err)
		}
	}
	if opts.GroupsContainerName == "" {
		opts.GroupsContainerName = "Groups"
	}
	if opts.CensusTTL <= 0 {
		opts.CensusTTL = time.Minute
	}
	if opts.EntryTTL <= 0 {
		opts.EntryTTL = 2 * time.Minute
	}
	if opts.MaxRowsPerRequest <= 0 {
		opts.MaxRowsPerRequest = 1000
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 1_000_000
	}
	opts.ExternalURL = strings.TrimRight(opts.ExternalURL, "/")
	s := &Server{opts: opts, log: opts.Logger.With("door", "mapi", "endpoint", "nspi"), now: time.Now,
		readAhead: defaultReadAhead, windowMax: defaultWindowMax}
	s.mids = newMIdTable(func() time.Time { return s.now() })
	s.gal = &gal{dir: opts.Directory, mids: s.mids, ttl: opts.CensusTTL, maxEntries: opts.MaxEntries,
		now: func() time.Time { return s.now() }, log: s.log}
	s.dnPrefix = recipientsPrefix(opts.LegacyDN)
	s.groupsDN = "/guid=" + strings.ToUpper(fmt.Sprintf("%x", groupsContainerGUID[:]))
	s.groupsEID = mapiprop.AddressBookEntryID{DisplayType: mapiprop.DisplayTypeContainer, X500DN: s.groupsDN}.Bytes()
	return s, nil
}

// groupsContainerGUID names the container of distribution lists in its
// DN ("/guid=…", the form of MS-OXNSPI 2.2.9.3 for containers).
var groupsContainerGUID = mapiprop.MustParseGUID("{5E2A7C1D-3B0F-4C8A-9D61-0F2B6A4E8C37}")

// recipientsPrefix derives, from the LegacyDN format, the DN prefix of
// recipients (".../cn=Recipients/cn="), where entries without an account
// (groups, directory people who never logged in) get their DNs too.
func recipientsPrefix(legacyDN func(*directory.Account) string) string {
	dn := legacyDN(&directory.Account{ID: 1, Address: "x@example.com"})
	if i := strings.LastIndex(strings.ToLower(dn), "/cn="); i > 0 && strings.HasPrefix(dn, "/o=") {
		return dn[:i+len("/cn=")]
	}
	return "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="
}

// ServerGUID is the GUID Bind returns.
func (s *Server) ServerGUID() mapiprop.GUID { return s.opts.ServerGUID }

type baseURLKey struct{}

// WithRequestBaseURL returns ctx carrying the base URL (scheme://host:port)
// a request came to; GetMailboxUrl and GetAddressBookUrl build their
// answers from it when Options.ExternalURL is empty.
func WithRequestBaseURL(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, baseURLKey{}, strings.TrimRight(base, "/"))
}

// RequestBaseURL returns the base URL WithRequestBaseURL put in ctx, or "".
func RequestBaseURL(ctx context.Context) string {
	b, _ := ctx.Value(baseURLKey{}).(string)
	return b
}

func (s *Server) baseURL(ctx context.Context) string {
	if s.opts.ExternalURL != "" {
		return s.opts.ExternalURL
	}
	return RequestBaseURL(ctx)
}

// Handle answers one NSPI request. requestType is the X-RequestType value
// (any case), acc the authenticated account, sess the session of the
// request's session context (nil for Bind, which makes one), body the
// request body. It returns the response body and, for a successful Bind,
// the new session, which the transport keeps in a session context of its
// own (cookie path /mapi/nspi/). After Unbind the session is closed
// (Closed reports true) and the transport drops the context.
//
// An NSPI-level failure is an answer (a response body with its ErrorCode);
// the error return is for requests that get none: ErrUnknownRequestType,
// ErrNoSession, ErrWrongUser, ErrInvalidBody and ErrInternal.
func (s *Server) Handle(ctx context.Context, requestType string, acc *directory.Account, sess *Session, body []byte) (resp []byte, newSession *Session, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("nspi: panic", "request", requestType, "panic", p, "stack", string(debug.Stack()))
			resp, newSession, err = nil, nil, fmt.Errorf("%w: %v", ErrInternal, p)
		}
	}()
	typ := canonicalType(requestType)
	if typ == "" {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownRequestType, requestType)
	}
	if acc == nil {
		return nil, nil, ErrNoSession
	}
	req := NewRequest(typ)
	if err := Unmarshal(body, req); err != nil {
		if typ != RequestBind {
			return nil, nil, fmt.Errorf("%w: %w", ErrInvalidBody, err)
		}
		// Outlook's Bind probe may come with a short or zero body: bind
		// with the defaults rather than refuse it.
		s.log.Debug("nspi: lenient Bind", "err", err)
		req = &BindRequest{}
	}
	if typ == RequestBind {
		out, ns := s.bind(ctx, acc, req.(*BindRequest))
		resp, err := Marshal(out)
		if err != nil {
			return nil, nil, err
		}
		return resp, ns, nil
	}
	if sess == nil || sess.Closed() {
		return nil, nil, ErrNoSession
	}
	if sess.accountID != acc.ID {
		return nil, nil, ErrWrongUser
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	out := s.dispatch(ctx, acc, sess, req)
	resp, err = Marshal(out)
	if err != nil {
		return nil, nil, err
	}
	return resp, nil, nil
}

// dispatch runs a decoded request (other than Bind) with sess.mu held.
func (s *Server) dispatch(ctx context.Context, acc *directory.Account, sess *Session, req Message) Message {
	switch q := req.(type) {
	case *UnbindRequest:
		sess.closed, sess.windows = true, nil
		return &UnbindResponse{Result: Result{ErrorCode: mapiprop.ErrUnbindSuccess}} // MS-OXNSPI 3.1.4.1.2
	case *CompareMIdsRequest:
		return s.compareMIds(ctx, sess, q)
	case *DNToMIdRequest:
		return s.dnToMId(ctx, acc, q)
	case *GetMatchesRequest:
		return s.getMatches(ctx, sess, q)
	case *GetPropListRequest:
		return s.getPropList(ctx, q)
	case *GetPropsRequest:
		return s.getProps(ctx, sess, q)
	case *GetSpecialTableRequest:
		return s.getSpecialTable(ctx, q)
	case *GetTemplateInfoRequest:
		return s.getTemplateInfo(q)
	case *ModLinkAttRequest:
		// MS-OXNSPI 3.1.4.1.15: the directory is edited where it lives
		// (the admin API, LDAP), not through the address book.
		return &ModLinkAttResponse{Result: Result{ErrorCode: mapiprop.ErrNotSupported}}
	case *ModPropsRequest:
		return &ModPropsResponse{Result: Result{ErrorCode: mapiprop.ErrNotSupported}} // MS-OXNSPI 3.1.4.1.14
	case *QueryColumnsRequest:
		return s.queryColumns(q)
	case *QueryRowsRequest:
		return s.queryRows(ctx, sess, q)
	case *ResolveNamesRequest:
		return s.resolveNames(ctx, sess, q)
	case *ResortRestrictionRequest:
		return s.resortRestriction(ctx, q)
	case *SeekEntriesRequest:
		return s.seekEntries(ctx, sess, q)
	case *UpdateStatRequest:
		return s.updateStat(ctx, sess, q)
	case *GetMailboxURLRequest:
		return s.getMailboxURL(ctx, acc)
	case *GetAddressBookURLRequest:
		return s.getAddressBookURL(ctx, acc)
	}
	return &UnbindResponse{Result: Result{ErrorCode: mapiprop.ErrNotSupported}}
}

// container returns the rows of a container MId: 0 the GAL, the groups
// container when the directory has groups.
func (s *Server) container(ctx context.Context, id uint32) (source, bool, error) {
	switch id {
	case 0:
		return galSource{s.gal}, true, nil
	case groupsContainerMId:
		c, err := s.gal.census(ctx)
		if err != nil {
			return nil, true, err
		}
		if len(c.groups) == 0 {
			return nil, false, nil
		}
		return listSource{c.groups}, true, nil
	}
	return nil, false, nil
}

// errorCode turns a directory failure into an NSPI return value: a
// directory that cannot answer now is a network error for the client
// (temporary), never "not found".
func (s *Server) errorCode(op string, err error) mapiprop.ErrorCode {
	var ec mapiprop.ErrorCode
	if errors.As(err, &ec) {
		return ec
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return mapiprop.ErrNetworkError
	}
	s.log.Warn("nspi: directory failed", "op", op, "err", err)
	return mapiprop.ErrNetworkError
}
