package mapiclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/mapi/nspi"
)

// AddressBookOptions configure an AddressBook.
type AddressBookOptions struct {
	// URL is the NSPI endpoint, e.g. the AddressBook URL of an
	// Autodiscover answer. Required.
	URL string
	// User and Password are the Basic credentials.
	User, Password string
	// HTTPClient sends the requests; nil uses http.DefaultClient.
	HTTPClient *http.Client
	// CodePage is the STAT code page (8-bit strings). Default 1252.
	CodePage uint32
	// Locale is the STAT's TemplateLocale and SortLocale. Default 1033.
	Locale uint32
}

// AddressBook is one session context on the NSPI endpoint (MS-OXCMAPIHTTP
// 2.2.5): Bind, the address book calls, Unbind. It carries the server's
// cookies itself, scoped to this endpoint, apart from any EMSMDB Client.
type AddressBook struct {
	c    *Client
	opts AddressBookOptions

	mu         sync.Mutex
	serverGUID mp.GUID
}

// NewAddressBook makes an AddressBook; Bind creates its session context.
func NewAddressBook(opts AddressBookOptions) (*AddressBook, error) {
	if opts.URL == "" {
		return nil, errors.New("mapiclient: address book URL is required")
	}
	if opts.CodePage == 0 {
		opts.CodePage = 1252
	}
	if opts.Locale == 0 {
		opts.Locale = 1033
	}
	c, err := New(Options{MailStoreURL: opts.URL, User: opts.User, Password: opts.Password, HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, err
	}
	return &AddressBook{c: c, opts: opts}, nil
}

// Transport returns the underlying client (cookies, Do) for tests that
// craft their own requests.
func (ab *AddressBook) Transport() *Client { return ab.c }

// ServerGUID is the GUID Bind returned.
func (ab *AddressBook) ServerGUID() mp.GUID {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	return ab.serverGUID
}

// Stat returns a STAT for container (0 is the Global Address List) at a
// position (a MId or nspi.MIdBeginningOfTable, …), in the client's code
// page and locale.
func (ab *AddressBook) Stat(container, current uint32) *nspi.STAT {
	return &nspi.STAT{ContainerID: container, CurrentRec: current, CodePage: ab.opts.CodePage,
		TemplateLocale: ab.opts.Locale, SortLocale: ab.opts.Locale}
}

// Call sends an NSPI request and decodes the response into resp. A
// transport refusal is a *ResponseError, a failure response (StatusCode
// not 0) an error; an NSPI ErrorCode is left in resp for the caller.
func (ab *AddressBook) Call(ctx context.Context, req, resp nspi.Message) error {
	ab.c.reqMu.Lock()
	defer ab.c.reqMu.Unlock()
	typ := nspi.RequestType(req)
	body, err := nspi.Marshal(req)
	if err != nil {
		return fmt.Errorf("mapiclient: %s: %w", typ, err)
	}
	out, err := ab.c.call(ctx, typ, body)
	if err != nil {
		return err
	}
	if err := nspi.Unmarshal(out, resp); err != nil {
		return fmt.Errorf("mapiclient: %s: %w", typ, err)
	}
	if st := statusOf(resp); st != 0 {
		return fmt.Errorf("mapiclient: %s: StatusCode %d", typ, st)
	}
	return nil
}

// statusOf reads the StatusCode every response embeds.
func statusOf(m nspi.Message) uint32 {
	if r, ok := m.(interface{ Outcome() nspi.Result }); ok {
		return r.Outcome().StatusCode
	}
	return 0
}

// errorCode turns a non-zero NSPI ErrorCode into an error.
func errorCode(ec mp.ErrorCode) error {
	if ec == mp.Success {
		return nil
	}
	return ec
}

// Bind creates the session context (MS-OXCMAPIHTTP 2.2.5.1); with the
// cookies of an earlier one the server replaces it.
func (ab *AddressBook) Bind(ctx context.Context) error {
	var resp nspi.BindResponse
	if err := ab.Call(ctx, &nspi.BindRequest{State: ab.Stat(0, 0)}, &resp); err != nil {
		return err
	}
	if err := errorCode(resp.ErrorCode); err != nil {
		return err
	}
	ab.mu.Lock()
	ab.serverGUID = resp.ServerGUID
	ab.mu.Unlock()
	return nil
}

// Unbind ends the session context (MS-OXCMAPIHTTP 2.2.5.2).
func (ab *AddressBook) Unbind(ctx context.Context) error {
	var resp nspi.UnbindResponse
	if err := ab.Call(ctx, &nspi.UnbindRequest{}, &resp); err != nil {
		return err
	}
	if resp.ErrorCode != mp.ErrUnbindSuccess && resp.ErrorCode != mp.Success {
		return resp.ErrorCode
	}
	return nil
}

// Containers reads the address book hierarchy (GetSpecialTable, Unicode
// names): one property list per container.
func (ab *AddressBook) Containers(ctx context.Context) ([][]mp.Value, error) {
	var resp nspi.GetSpecialTableResponse
	if err := ab.Call(ctx, &nspi.GetSpecialTableRequest{Flags: nspi.FlagUnicodeStrings, State: ab.Stat(0, 0)}, &resp); err != nil {
		return nil, err
	}
	return resp.Rows, errorCode(resp.ErrorCode)
}

// QueryRows reads up to count rows of a container from st's position and
// returns them with the moved STAT.
func (ab *AddressBook) QueryRows(ctx context.Context, st *nspi.STAT, count uint32, columns []mp.Tag) (*nspi.RowSet, *nspi.STAT, error) {
	var resp nspi.QueryRowsResponse
	if err := ab.Call(ctx, &nspi.QueryRowsRequest{State: st, RowCount: count, Columns: columns}, &resp); err != nil {
		return nil, nil, err
	}
	if err := errorCode(resp.ErrorCode); err != nil {
		return nil, nil, err
	}
	if resp.Rows == nil || resp.State == nil {
		return nil, nil, errors.New("mapiclient: QueryRows: response without rows or STAT")
	}
	return resp.Rows, resp.State, nil
}

// ReadContainer walks a whole container page by page, as ruler's
// "abk list" does: QueryRows from the beginning, again with each returned
// STAT, until the end of the table.
func (ab *AddressBook) ReadContainer(ctx context.Context, container, pageSize uint32, columns []mp.Tag) ([]mp.PropertyRow, error) {
	st := ab.Stat(container, nspi.MIdBeginningOfTable)
	var out []mp.PropertyRow
	for {
		rs, next, err := ab.QueryRows(ctx, st, pageSize, columns)
		if err != nil {
			return out, err
		}
		if len(rs.Rows) > int(pageSize) {
			return out, fmt.Errorf("mapiclient: QueryRows returned %d rows for %d asked", len(rs.Rows), pageSize)
		}
		out = append(out, rs.Rows...)
		if next.CurrentRec == nspi.MIdEndOfTable || len(rs.Rows) == 0 {
			return out, nil
		}
		st = next
	}
}

// ResolveNames resolves names (ResolveNames): one MId per name
// (nspi.MIdResolved, MIdAmbiguous, MIdUnresolved) and a row per resolved
// name.
func (ab *AddressBook) ResolveNames(ctx context.Context, names []string, columns []mp.Tag) ([]uint32, *nspi.RowSet, error) {
	var resp nspi.ResolveNamesResponse
	req := &nspi.ResolveNamesRequest{Reserved: 0x80000000, State: ab.Stat(0, 0), PropertyTags: columns, Names: names}
	if err := ab.Call(ctx, req, &resp); err != nil {
		return nil, nil, err
	}
	return resp.MinimalIDs, resp.Rows, errorCode(resp.ErrorCode)
}

// GetMatches restricts a container (GetMatches): at most count MIds and
// their rows.
func (ab *AddressBook) GetMatches(ctx context.Context, container uint32, filter mp.Restriction, count uint32, columns []mp.Tag) ([]uint32, *nspi.RowSet, error) {
	var resp nspi.GetMatchesResponse
	req := &nspi.GetMatchesRequest{State: ab.Stat(container, 0), Filter: filter, RowCount: count, Columns: columns}
	if err := ab.Call(ctx, req, &resp); err != nil {
		return nil, nil, err
	}
	return resp.MinimalIDs, resp.Rows, errorCode(resp.ErrorCode)
}

// DNToMId maps ESSDNs to MIds (0 for unknown ones).
func (ab *AddressBook) DNToMId(ctx context.Context, dns ...string) ([]uint32, error) {
	var resp nspi.DNToMIdResponse
	if err := ab.Call(ctx, &nspi.DNToMIdRequest{Names: dns}, &resp); err != nil {
		return nil, err
	}
	return resp.MinimalIDs, errorCode(resp.ErrorCode)
}

// GetProps reads properties of the object mid names. Missing properties
// are PtypErrorCode values; the ErrorCode ecWarnWithErrors that reports
// them is not an error here.
func (ab *AddressBook) GetProps(ctx context.Context, mid uint32, tags []mp.Tag) ([]mp.Value, error) {
	var resp nspi.GetPropsResponse
	if err := ab.Call(ctx, &nspi.GetPropsRequest{State: ab.Stat(0, mid), PropertyTags: tags}, &resp); err != nil {
		return nil, err
	}
	if resp.ErrorCode != mp.ErrWarnWithErrors {
		if err := errorCode(resp.ErrorCode); err != nil {
			return nil, err
		}
	}
	return resp.Values, nil
}

// MailboxURL asks for the EMSMDB URL of the user's mailbox
// (GetMailboxUrl).
func (ab *AddressBook) MailboxURL(ctx context.Context, serverDN string) (string, error) {
	var resp nspi.GetMailboxURLResponse
	if err := ab.Call(ctx, &nspi.GetMailboxURLRequest{ServerDN: serverDN}, &resp); err != nil {
		return "", err
	}
	return resp.ServerURL, errorCode(resp.ErrorCode)
}

// AddressBookURL asks for the NSPI URL of a user (GetAddressBookUrl).
func (ab *AddressBook) AddressBookURL(ctx context.Context, userDN string) (string, error) {
	var resp nspi.GetAddressBookURLResponse
	if err := ab.Call(ctx, &nspi.GetAddressBookURLRequest{UserDN: userDN}, &resp); err != nil {
		return "", err
	}
	return resp.ServerURL, errorCode(resp.ErrorCode)
}
