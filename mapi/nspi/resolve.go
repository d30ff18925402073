package nspi

import (
	"context"
	"errors"
	"strings"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
)

// anrCandidates bounds the entries one name is resolved against: beyond a
// handful the answer is "ambiguous" whatever the count.
const anrCandidates = 50

type anrOutcome int

const (
	anrUnresolved anrOutcome = iota
	anrAmbiguous
	anrResolved
)

// resolveNames resolves each name (MS-OXNSPI 3.1.4.1.16-17, ANR of
// 3.1.4.7) to MIdResolved, MIdAmbiguous or MIdUnresolved, with a row for
// each resolved name, in the order of the names. Outlook sends Reserved
// 0x80000000 where the spec says 0; it is not checked.
func (s *Server) resolveNames(ctx context.Context, sess *Session, q *ResolveNamesRequest) *ResolveNamesResponse {
	st := STAT{CodePage: mapiprop.CodePageWindows1252}
	if q.State != nil {
		st = *q.State
	}
	resp := &ResolveNamesResponse{CodePage: st.CodePage}
	if st.CodePage == CodePageWinUnicode {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	columns, ok := columnsOrDefault(q.PropertyTags)
	if !ok {
		resp.ErrorCode = mapiprop.ErrTableTooBig
		return resp
	}
	src, ok, err := s.container(ctx, st.ContainerID)
	switch {
	case err != nil:
		resp.ErrorCode = s.errorCode("ResolveNames", err)
		return resp
	case !ok:
		resp.ErrorCode = mapiprop.ErrInvalidBookmark
		return resp
	}
	if len(q.Names) > s.opts.MaxRowsPerRequest {
		resp.ErrorCode = mapiprop.ErrTableTooBig // each name is a directory search
		return resp
	}
	pc := propCtx{codePage: st.CodePage, container: st.ContainerID}
	mids := make([]uint32, len(q.Names))
	rows := &RowSet{Columns: columns, Rows: []mapiprop.PropertyRow{}}
	for i, name := range q.Names {
		e, outcome, err := s.anr(ctx, src, name)
		if err != nil {
			resp.ErrorCode = s.errorCode("ResolveNames", err)
			return resp
		}
		switch outcome {
		case anrResolved:
			mid := s.mids.assign(e)
			mids[i] = MIdResolved // the ANR result, not the entry's MId (MS-OXNSPI 3.1.4.7)
			rows.Rows = append(rows.Rows, s.entryRow(ctx, subject{entry: e, mid: mid}, columns, pc))
		case anrAmbiguous:
			mids[i] = MIdAmbiguous
		default:
			mids[i] = MIdUnresolved
		}
	}
	resp.MinimalIDs, resp.Rows = mids, rows
	return resp
}

// anr resolves one name in a container. "=SMTP:address" and text with an
// "@" are looked up as an address first (primary or alias); otherwise, and
// when an "@" text is no known address, the entries anrMatch accepts among
// the directory's prefix matches decide: one resolves, none leaves the
// name unresolved, several are ambiguous unless exactly one has the name,
// account or address itself.
func (s *Server) anr(ctx context.Context, src source, name string) (directory.Entry, anrOutcome, error) {
	q, exact := stripSMTP(name)
	if q == "" {
		return directory.Entry{}, anrUnresolved, nil // MS-OXNSPI 3.1.4.7: empty strings never resolve
	}
	if exact || strings.Contains(q, "@") {
		e, found, err := s.addressEntry(ctx, q)
		if err != nil {
			return directory.Entry{}, anrUnresolved, err
		}
		if found && src.holds(e) {
			return e, anrResolved, nil
		}
		if exact {
			return directory.Entry{}, anrUnresolved, nil
		}
	}
	cands, _, err := s.gal.search(ctx, q, anrCandidates, "")
	if err != nil {
		return directory.Entry{}, anrUnresolved, err
	}
	lq := strings.ToLower(q)
	var matched, same []directory.Entry
	for _, e := range cands {
		if !src.holds(e) || !anrMatch(e, q) {
			continue
		}
		matched = append(matched, e)
		if strings.ToLower(directory.EntrySortName(e)) == lq || strings.ToLower(accountName(e)) == lq ||
			strings.EqualFold(e.Address, q) {
			same = append(same, e)
		}
	}
	switch {
	case len(same) == 1:
		return same[0], anrResolved, nil
	case len(matched) == 1:
		return matched[0], anrResolved, nil
	case len(matched) > 1:
		return directory.Entry{}, anrAmbiguous, nil
	}
	return directory.Entry{}, anrUnresolved, nil
}

// addressEntry finds the entry of an address: a primary address in the
// GAL, else an alias the directory resolves to one account.
func (s *Server) addressEntry(ctx context.Context, addr string) (directory.Entry, bool, error) {
	e, found, err := s.lookupAddress(ctx, addr)
	if err != nil || found {
		return e, found, err
	}
	res, err := s.opts.Directory.Resolve(ctx, directory.NormalizeAddress(addr))
	if err != nil {
		return directory.Entry{}, false, err
	}
	if res.Kind != directory.KindAccount || len(res.Accounts) != 1 {
		return directory.Entry{}, false, nil
	}
	a := res.Accounts[0]
	if a.Disabled {
		return directory.Entry{}, false, nil
	}
	if e, found, err := s.lookupAddress(ctx, a.Address); err != nil || found {
		return e, found, err
	}
	return entryOf(&a), true, nil
}

// dnToMId maps ESSDNs to MIds (MS-OXNSPI 3.1.4.1.13): account DNs through
// ParseLegacyDN, address DNs of entries without an account, and the groups
// container's DN; anything else is 0.
func (s *Server) dnToMId(ctx context.Context, acc *directory.Account, q *DNToMIdRequest) *DNToMIdResponse {
	resp := &DNToMIdResponse{}
	if q.Names == nil {
		return resp
	}
	if len(q.Names) > s.opts.MaxRowsPerRequest {
		resp.ErrorCode = mapiprop.ErrTableTooBig
		return resp
	}
	mids := make([]uint32, len(q.Names))
	for i, dn := range q.Names {
		mid, err := s.midOfDN(ctx, acc, dn)
		if err != nil {
			resp.ErrorCode = s.errorCode("DNToMId", err)
			return resp
		}
		mids[i] = mid
	}
	resp.MinimalIDs = mids
	return resp
}

func (s *Server) midOfDN(ctx context.Context, acc *directory.Account, dn string) (uint32, error) {
	if strings.EqualFold(dn, s.groupsDN) {
		return groupsContainerMId, nil
	}
	if id, ok := s.opts.ParseLegacyDN(dn); ok {
		a := acc
		if id != acc.ID {
			var err error
			if a, err = s.opts.Directory.Account(ctx, id); err != nil {
				if errors.Is(err, directory.ErrNotFound) {
					return 0, nil
				}
				return 0, err
			}
		}
		if a.Disabled {
			return 0, nil
		}
		// The GAL entry when one is known, so the row shows what listings
		// show; the account's own fields otherwise.
		if e, found, err := s.lookupAddress(ctx, a.Address); err == nil && found {
			if e.AccountID == 0 {
				e.AccountID = a.ID
			}
			return s.mids.assign(e), nil
		}
		return s.mids.assign(entryOf(a)), nil
	}
	if addr, ok := s.addressFromDN(dn); ok {
		e, found, err := s.lookupAddress(ctx, addr)
		if err != nil || !found {
			return 0, err
		}
		return s.mids.assign(e), nil
	}
	return 0, nil
}
