package nspi

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
)

// columnsOrDefault returns the request's columns, the default ones when
// it has none, or false when there are too many (ecTableTooBig).
func columnsOrDefault(cols []mapiprop.Tag) ([]mapiprop.Tag, bool) {
	if cols == nil {
		return defaultRowColumns, true
	}
	return cols, len(cols) <= maxColumns
}

// object returns the entry a MId names, asking the directory again when
// its snapshot is older than EntryTTL. A directory failure keeps the
// snapshot: stale display data beats no answer.
func (s *Server) object(ctx context.Context, mid uint32) (subject, bool) {
	o, ok := s.mids.lookup(mid)
	if !ok {
		return subject{}, false
	}
	if s.now().Sub(o.seen) > s.opts.EntryTTL {
		e, found, err := s.lookupAddress(ctx, o.entry.Address)
		switch {
		case err != nil:
			s.log.Debug("nspi: refreshing entry", "mid", mid, "err", err)
		case !found:
			return subject{}, false
		default:
			o.entry = e
		}
	}
	return subject{entry: o.entry, mid: mid}, true
}

// lookupAddress finds the GAL entry whose primary address is addr.
func (s *Server) lookupAddress(ctx context.Context, addr string) (directory.Entry, bool, error) {
	addr = directory.NormalizeAddress(addr)
	if addr == "" {
		return directory.Entry{}, false, nil
	}
	entries, _, err := s.gal.search(ctx, addr, 50, "")
	if err != nil {
		return directory.Entry{}, false, err
	}
	for _, e := range entries {
		if strings.EqualFold(e.Address, addr) {
			return e, true, nil
		}
	}
	return directory.Entry{}, false, nil
}

// queryRows reads rows (MS-OXNSPI 3.1.4.1.8): of an explicit table when
// the request lists MIds, else of the container from the STAT's position,
// never more than RowCount, then moves the STAT past them.
func (s *Server) queryRows(ctx context.Context, sess *Session, q *QueryRowsRequest) *QueryRowsResponse {
	resp := &QueryRowsResponse{}
	if q.State == nil || q.State.CodePage == CodePageWinUnicode {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	st := *q.State
	columns, ok := columnsOrDefault(q.Columns)
	if !ok {
		resp.ErrorCode = mapiprop.ErrTableTooBig
		return resp
	}
	pc := propCtx{codePage: st.CodePage, ephemeral: q.Flags&FlagEphID != 0, container: st.ContainerID}
	if len(q.ExplicitTable) > 0 {
		if len(q.ExplicitTable) > s.opts.MaxRowsPerRequest {
			resp.ErrorCode = mapiprop.ErrTableTooBig
			return resp
		}
		rs := &RowSet{Columns: columns}
		for _, mid := range q.ExplicitTable {
			sub, ok := s.object(ctx, mid)
			if !ok {
				rs.Rows = append(rs.Rows, errorRow(columns))
				continue
			}
			rs.Rows = append(rs.Rows, s.entryRow(ctx, sub, columns, pc))
		}
		resp.State, resp.Rows = &st, rs
		return resp
	}
	if q.RowCount == 0 {
		resp.ErrorCode = mapiprop.ErrInvalidParam
		return resp
	}
	t, ec := s.openTable(ctx, sess, st.ContainerID, "QueryRows")
	if ec != mapiprop.Success {
		resp.ErrorCode = ec
		return resp
	}
	pos, err := t.startPosition(ctx, st)
	if err != nil {
		resp.ErrorCode = s.errorCode("QueryRows", err)
		return resp
	}
	pos = t.move(pos, st.Delta)
	n := min(int(min(q.RowCount, math.MaxInt32)), s.opts.MaxRowsPerRequest, t.total-pos)
	rows, err := t.rows(ctx, pos, n)
	if err == nil {
		st.CurrentRec, err = t.currentRec(ctx, pos+len(rows))
	}
	if err != nil {
		resp.ErrorCode = s.errorCode("QueryRows", err)
		return resp
	}
	rs := &RowSet{Columns: columns, Rows: make([]mapiprop.PropertyRow, 0, len(rows))}
	for _, r := range rows {
		rs.Rows = append(rs.Rows, s.entryRow(ctx, subject{entry: r.entry, mid: r.mid}, columns, pc))
	}
	st.Delta, st.NumPos, st.TotalRecs = 0, uint32(pos+len(rows)), uint32(t.total)
	resp.State, resp.Rows = &st, rs
	return resp
}

// updateStat moves the position by Delta without reading rows (MS-OXNSPI
// 3.1.4.1.4) and reports how far it actually moved.
func (s *Server) updateStat(ctx context.Context, sess *Session, q *UpdateStatRequest) *UpdateStatResponse {
	resp := &UpdateStatResponse{}
	if q.State == nil || q.State.CodePage == CodePageWinUnicode {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	st := *q.State
	t, ec := s.openTable(ctx, sess, st.ContainerID, "UpdateStat")
	if ec != mapiprop.Success {
		resp.ErrorCode = ec
		return resp
	}
	pos, err := t.startPosition(ctx, st)
	if err != nil {
		resp.ErrorCode = s.errorCode("UpdateStat", err)
		return resp
	}
	pos = t.move(pos, st.Delta)
	switch {
	case pos == 0:
		st.CurrentRec = MIdBeginningOfTable
	default:
		if st.CurrentRec, err = t.currentRec(ctx, pos); err != nil {
			resp.ErrorCode = s.errorCode("UpdateStat", err)
			return resp
		}
	}
	if q.DeltaRequested {
		d := int32(int64(pos) - int64(st.NumPos))
		resp.Delta = &d
	}
	st.Delta, st.NumPos, st.TotalRecs = 0, uint32(pos), uint32(t.total)
	resp.State = &st
	return resp
}

// seekEntries moves to the first row whose display name is not before the
// target (MS-OXNSPI 3.1.4.1.9) and, when columns are given, returns it.
func (s *Server) seekEntries(ctx context.Context, sess *Session, q *SeekEntriesRequest) *SeekEntriesResponse {
	resp := &SeekEntriesResponse{}
	if q.State == nil || q.State.CodePage == CodePageWinUnicode {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	st := *q.State
	if q.Target == nil {
		resp.ErrorCode = mapiprop.ErrInvalidParam
		return resp
	}
	name, isString := q.Target.AsString()
	if !isString || q.Target.Tag.ID() != mapiprop.PidTagDisplayName.ID() ||
		(st.SortType != SortTypeDisplayName && st.SortType != SortTypeDisplayNameRO && st.SortType != SortTypeDisplayNameW) {
		resp.ErrorCode = mapiprop.ErrCallFailed // only the display name order exists here
		return resp
	}
	if len(q.Columns) > maxColumns {
		resp.ErrorCode = mapiprop.ErrTableTooBig
		return resp
	}
	pc := propCtx{codePage: st.CodePage, container: st.ContainerID}
	lower := strings.ToLower(name)
	if len(q.ExplicitTable) > s.opts.MaxRowsPerRequest {
		resp.ErrorCode = mapiprop.ErrTableTooBig
		return resp
	}
	if q.ExplicitTable != nil {
		var rows []mapiprop.PropertyRow
		first := -1
		for i, mid := range q.ExplicitTable {
			sub, ok := s.object(ctx, mid)
			if !ok || keyOf(sub.entry).name < lower {
				continue
			}
			if first < 0 {
				first, st.CurrentRec = i, mid
			}
			if q.Columns != nil {
				rows = append(rows, s.entryRow(ctx, sub, q.Columns, pc))
			}
		}
		if first < 0 {
			resp.ErrorCode = mapiprop.ErrNotFound
			return resp
		}
		st.Delta, st.NumPos, st.TotalRecs = 0, uint32(first), uint32(len(q.ExplicitTable))
		resp.State = &st
		if q.Columns != nil {
			resp.Rows = &RowSet{Columns: q.Columns, Rows: rows}
		}
		return resp
	}
	t, ec := s.openTable(ctx, sess, st.ContainerID, "SeekEntries")
	if ec != mapiprop.Success {
		resp.ErrorCode = ec
		return resp
	}
	pos, r, found, err := t.seekName(ctx, name)
	switch {
	case err != nil:
		resp.ErrorCode = s.errorCode("SeekEntries", err)
		return resp
	case !found:
		resp.ErrorCode = mapiprop.ErrNotFound
		return resp
	}
	st.CurrentRec, st.Delta, st.NumPos, st.TotalRecs = r.mid, 0, uint32(pos), uint32(max(t.total, pos+1))
	resp.State = &st
	if q.Columns != nil {
		resp.Rows = &RowSet{Columns: q.Columns, Rows: []mapiprop.PropertyRow{
			s.entryRow(ctx, subject{entry: r.entry, mid: r.mid}, q.Columns, pc)}}
	}
	return resp
}

// getMatches builds an explicit table (MS-OXNSPI 3.1.4.1.10): the rows of
// the container the restriction matches, or, without a restriction, the
// members of the distribution list STAT.CurrentRec when STAT.ContainerID
// is PidTagAddressBookMember. Never more than RowCount.
func (s *Server) getMatches(ctx context.Context, sess *Session, q *GetMatchesRequest) *GetMatchesResponse {
	resp := &GetMatchesResponse{}
	if q.State == nil || q.State.CodePage == CodePageWinUnicode {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	st := *q.State
	if q.PropertyName != nil {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	if len(q.Columns) > maxColumns {
		resp.ErrorCode = mapiprop.ErrTableTooBig
		return resp
	}
	limit := int(min(uint64(q.RowCount), uint64(s.opts.MaxRowsPerRequest)))
	pc := propCtx{codePage: st.CodePage, container: st.ContainerID}
	var matches []row
	if q.Filter == nil {
		var err error
		if matches, err = s.members(ctx, st, limit); err != nil {
			resp.ErrorCode = s.errorCode("GetMatches", err)
			return resp
		}
	} else {
		src, ok, err := s.container(ctx, st.ContainerID)
		switch {
		case err != nil:
			resp.ErrorCode = s.errorCode("GetMatches", err)
			return resp
		case !ok:
			resp.ErrorCode = mapiprop.ErrInvalidBookmark
			return resp
		}
		if matches, err = s.findMatches(ctx, src, q.Filter, limit, pc); err != nil {
			resp.ErrorCode = s.errorCode("GetMatches", err)
			return resp
		}
	}
	resp.MinimalIDs = make([]uint32, 0, len(matches))
	for _, m := range matches {
		resp.MinimalIDs = append(resp.MinimalIDs, m.mid)
	}
	if q.Columns != nil {
		rs := &RowSet{Columns: q.Columns, Rows: make([]mapiprop.PropertyRow, 0, len(matches))}
		for _, m := range matches {
			rs.Rows = append(rs.Rows, s.entryRow(ctx, subject{entry: m.entry, mid: m.mid}, q.Columns, pc))
		}
		resp.Rows = rs
	}
	// MS-OXNSPI 3.1.4.1.10: ContainerID is the one field of the STAT the
	// server changes here, to CurrentRec (gromox does the same).
	st.ContainerID = st.CurrentRec
	resp.State = &st
	return resp
}

// members lists a distribution list (MS-OXNSPI 3.1.4.1.10, the
// lpPropName-less form: the property STAT.ContainerID of the object
// STAT.CurrentRec). Only PidTagAddressBookMember of groups has rows.
func (s *Server) members(ctx context.Context, st STAT, limit int) ([]row, error) {
	if mapiprop.Tag(st.ContainerID).ID() != tagAddressBookMember.ID() {
		return nil, nil
	}
	sub, ok := s.object(ctx, st.CurrentRec)
	if !ok || !sub.entry.IsGroup {
		return nil, nil
	}
	res, err := s.opts.Directory.Resolve(ctx, sub.entry.Address)
	if err != nil {
		return nil, err
	}
	var out []row
	for _, a := range res.Accounts {
		if len(out) >= limit {
			break
		}
		e := entryOf(&a)
		if mid := s.mids.assign(e); mid != 0 {
			out = append(out, row{entry: e, mid: mid})
		}
	}
	return out, nil
}

// entryOf is the address list entry of an account.
func entryOf(a *directory.Account) directory.Entry {
	return directory.Entry{AccountID: a.ID, Address: a.Address, DisplayName: a.DisplayName, Title: a.Title,
		Department: a.Department, Phone: a.Phone, Office: a.Office, Company: a.Company}
}

// findMatches evaluates a restriction over a container, in sort order,
// until limit rows match. A prefix the restriction requires (on the
// display name, address, account or ANR) narrows the directory search;
// the restriction itself then decides.
func (s *Server) findMatches(ctx context.Context, src source, res mapiprop.Restriction, limit int, pc propCtx) ([]row, error) {
	var out []row
	consider := func(e directory.Entry) {
		if len(out) >= limit || !src.holds(e) {
			return
		}
		mid := s.mids.assign(e)
		if mid == 0 {
			return
		}
		sub := subject{entry: e, mid: mid}
		if s.restrictionMatches(ctx, sub, res, pc) {
			out = append(out, row{entry: e, mid: mid})
		}
	}
	if l, ok := src.(listSource); ok {
		for _, e := range l.entries {
			consider(e)
		}
		return out, nil
	}
	hint, _ := searchHint(res)
	pageSize := searchPageLimit
	if hint != "" {
		// The directory's prefix matches are mostly restriction matches
		// too: a page a little larger than the rows wanted usually ends
		// the search, and a small one keeps the directory's work small.
		pageSize = min(max(2*limit, 20), searchPageLimit)
	}
	cursor := ""
	for len(out) < limit {
		page, next, err := s.gal.search(ctx, hint, pageSize, cursor)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			consider(e)
		}
		if next == "" || next == cursor || len(page) == 0 {
			break
		}
		cursor = next
	}
	return out, nil
}

// searchHint returns a string SearchGAL can narrow a restriction with: a
// prefix every matching entry's display name or address starts with.
func searchHint(res mapiprop.Restriction) (string, bool) {
	switch x := res.(type) {
	case *mapiprop.AndRestriction:
		for _, c := range x.Restrictions {
			if h, ok := searchHint(c); ok {
				return h, true
			}
		}
	case *mapiprop.ContentRestriction:
		mode := x.FuzzyLevelLow & 0x000F
		if mode != mapiprop.FuzzyFullString && mode != mapiprop.FuzzyPrefix {
			return "", false
		}
		return hintValue(x.PropTag, x.Value)
	case *mapiprop.PropertyRestriction:
		if x.PropTag.ID() == mapiprop.PidTagAnr.ID() || x.RelOp == mapiprop.RelOpEqual {
			return hintValue(x.PropTag, x.Value)
		}
	}
	return "", false
}

func hintValue(tag mapiprop.Tag, v mapiprop.Value) (string, bool) {
	s, ok := v.AsString()
	if !ok {
		return "", false
	}
	switch tag.ID() {
	case mapiprop.PidTagAnr.ID():
		s, _ = stripSMTP(s)
	case mapiprop.PidTagDisplayName.ID(), mapiprop.PidTagSmtpAddress.ID(), mapiprop.PidTagAccount.ID():
	default:
		return "", false
	}
	s = strings.TrimSpace(s)
	return s, s != ""
}

// restrictionMatches evaluates a restriction against an entry; PidTagAnr
// restrictions do ambiguous name resolution (anrMatch), everything else
// is MS-OXCDATA 2.12 over the entry's properties.
func (s *Server) restrictionMatches(ctx context.Context, sub subject, res mapiprop.Restriction, pc propCtx) bool {
	switch x := res.(type) {
	case *mapiprop.AndRestriction:
		for _, c := range x.Restrictions {
			if !s.restrictionMatches(ctx, sub, c, pc) {
				return false
			}
		}
		return true
	case *mapiprop.OrRestriction:
		for _, c := range x.Restrictions {
			if s.restrictionMatches(ctx, sub, c, pc) {
				return true
			}
		}
		return false
	case *mapiprop.NotRestriction:
		return x.Restriction != nil && !s.restrictionMatches(ctx, sub, x.Restriction, pc)
	case *mapiprop.PropertyRestriction:
		if x.Value.Data == nil {
			return false
		}
		if x.PropTag.ID() == mapiprop.PidTagAnr.ID() {
			q, _ := x.Value.AsString()
			return anrMatch(sub.entry, q)
		}
	case *mapiprop.ContentRestriction:
		if x.Value.Data == nil {
			return false
		}
		if x.PropTag.ID() == mapiprop.PidTagAnr.ID() {
			q, _ := x.Value.AsString()
			return anrMatch(sub.entry, q)
		}
	case nil:
		return false
	}
	return mapiprop.Evaluate(res, func(tag mapiprop.Tag) (mapiprop.Value, bool) {
		v, ec := s.entryProp(ctx, sub, tag.WithType(propTypeUnspecified), pc)
		return v, ec == mapiprop.Success
	})
}

// stripSMTP removes an "=SMTP:" or "SMTP:" prefix, reporting whether one
// was there: the string is then an exact address.
func stripSMTP(q string) (string, bool) {
	q = strings.TrimSpace(q)
	for _, p := range []string{"=smtp:", "smtp:"} {
		if len(q) >= len(p) && strings.EqualFold(q[:len(p)], p) {
			return strings.TrimSpace(q[len(p):]), true
		}
	}
	return q, false
}

// anrMatch is this server's ambiguous name resolution (MS-OXNSPI 3.1.4.7
// leaves the algorithm to the server): "=SMTP:address" matches that exact
// address; other text matches entries whose display name, any word of it,
// or address starts with it, without regard to case.
func anrMatch(e directory.Entry, q string) bool {
	q, exact := stripSMTP(q)
	if exact {
		return q != "" && strings.EqualFold(e.Address, q)
	}
	lq := strings.ToLower(q)
	if lq == "" {
		return false
	}
	name := strings.ToLower(directory.EntrySortName(e))
	if strings.HasPrefix(name, lq) || strings.HasPrefix(strings.ToLower(e.Address), lq) {
		return true
	}
	for _, w := range strings.FieldsFunc(name, isNameSeparator) {
		if strings.HasPrefix(w, lq) {
			return true
		}
	}
	return false
}

func isNameSeparator(c rune) bool {
	return c == ' ' || c == '.' || c == '-' || c == ',' || c == '_' || c == '\'' || c == '(' || c == ')'
}

// resortRestriction sorts an explicit table by display name (MS-OXNSPI
// 3.1.4.1.11), dropping MIds that name nothing.
func (s *Server) resortRestriction(ctx context.Context, q *ResortRestrictionRequest) *ResortRestrictionResponse {
	resp := &ResortRestrictionResponse{}
	if q.State == nil || q.State.CodePage == CodePageWinUnicode {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	st := *q.State
	if len(q.MinimalIDs) > s.opts.MaxRowsPerRequest {
		resp.ErrorCode = mapiprop.ErrTableTooBig
		return resp
	}
	type item struct {
		key sortKey
		mid uint32
	}
	items := make([]item, 0, len(q.MinimalIDs))
	seen := map[uint32]bool{}
	for _, mid := range q.MinimalIDs {
		if seen[mid] {
			continue
		}
		seen[mid] = true
		if sub, ok := s.object(ctx, mid); ok {
			items = append(items, item{keyOf(sub.entry), mid})
		}
	}
	slices.SortFunc(items, func(a, b item) int {
		switch {
		case a.key.less(b.key):
			return -1
		case b.key.less(a.key):
			return 1
		}
		return 0
	})
	resp.MinimalIDs = make([]uint32, len(items))
	found := false
	for i, it := range items {
		resp.MinimalIDs[i] = it.mid
		if it.mid == st.CurrentRec {
			st.NumPos, found = uint32(i), true
		}
	}
	if !found {
		st.CurrentRec, st.NumPos = MIdBeginningOfTable, 0
	}
	st.TotalRecs = uint32(len(items))
	resp.State = &st
	return resp
}

// compareMIds compares the positions of two rows of the container
// (MS-OXNSPI 3.1.4.1.6): negative when the first comes first.
func (s *Server) compareMIds(ctx context.Context, sess *Session, q *CompareMIdsRequest) *CompareMIdsResponse {
	resp := &CompareMIdsResponse{}
	st := STAT{CodePage: mapiprop.CodePageWindows1252}
	if q.State != nil {
		st = *q.State
	}
	if st.CodePage == CodePageWinUnicode {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	t, ec := s.openTable(ctx, sess, st.ContainerID, "CompareMIds")
	if ec != mapiprop.Success {
		resp.ErrorCode = ec
		return resp
	}
	if q.MinimalID1 == q.MinimalID2 {
		if _, ok := s.mids.lookup(q.MinimalID1); !ok {
			resp.ErrorCode = mapiprop.ErrCallFailed
		}
		return resp
	}
	p1, ok1, err := t.position(ctx, q.MinimalID1)
	if err != nil {
		resp.ErrorCode = s.errorCode("CompareMIds", err)
		return resp
	}
	p2, ok2, err := t.position(ctx, q.MinimalID2)
	if err != nil {
		resp.ErrorCode = s.errorCode("CompareMIds", err)
		return resp
	}
	if !ok1 || !ok2 {
		resp.ErrorCode = mapiprop.ErrCallFailed
		return resp
	}
	resp.Compared = int32(max(min(p1-p2, math.MaxInt32), math.MinInt32))
	return resp
}

// getProps reads properties of one object (MS-OXNSPI 3.1.4.1.7): the MId
// in STAT.CurrentRec, or the row at the STAT's position for the position
// markers. Without tags, the properties the object has; with tags, one
// value each, PtypErrorCode for those it lacks (ecWarnWithErrors).
func (s *Server) getProps(ctx context.Context, sess *Session, q *GetPropsRequest) *GetPropsResponse {
	resp := &GetPropsResponse{}
	if q.State == nil {
		resp.ErrorCode = mapiprop.ErrNotSupported
		return resp
	}
	st := *q.State
	resp.CodePage = st.CodePage
	unicode := st.CodePage == CodePageWinUnicode
	for _, t := range q.PropertyTags {
		if unicode && (t.Type() == propTypeString8 || t.Type() == propTypeMultipleString8) {
			resp.ErrorCode = mapiprop.ErrNotSupported // MS-OXNSPI 3.1.4.1.7 rule 1
			return resp
		}
	}
	if len(q.PropertyTags) > maxColumns {
		resp.ErrorCode = mapiprop.ErrTableTooBig
		return resp
	}
	pc := propCtx{codePage: st.CodePage, ephemeral: q.Flags&FlagEphID != 0, container: st.ContainerID}
	sub, found, err := s.propsSubject(ctx, sess, st)
	if err != nil {
		resp.ErrorCode = s.errorCode("GetProps", err)
		return resp
	}
	if !found {
		if q.PropertyTags != nil {
			resp.Values = make([]mapiprop.Value, len(q.PropertyTags))
			for i, t := range q.PropertyTags {
				resp.Values[i] = mapiprop.ErrorValue(t, mapiprop.ErrNotFound)
			}
		}
		resp.ErrorCode = mapiprop.ErrWarnWithErrors
		return resp
	}
	tags := q.PropertyTags
	if tags == nil {
		tags = defaultPropTags(sub.entry, unicode)
	}
	vals, warn := s.entryValues(ctx, sub, tags, pc, q.PropertyTags == nil)
	resp.Values = vals
	if warn {
		resp.ErrorCode = mapiprop.ErrWarnWithErrors
	}
	return resp
}

// propsSubject is the object a GetProps STAT names.
func (s *Server) propsSubject(ctx context.Context, sess *Session, st STAT) (subject, bool, error) {
	if st.CurrentRec >= firstEntryMId {
		sub, ok := s.object(ctx, st.CurrentRec)
		return sub, ok, nil
	}
	t, ok, err := sess.table(ctx, st.ContainerID)
	if err != nil || !ok {
		return subject{}, false, err
	}
	pos, err := t.startPosition(ctx, st)
	if err != nil {
		return subject{}, false, err
	}
	if st.CurrentRec == MIdEndOfTable {
		pos = t.total - 1 // the last row, as gromox reads it
	}
	rows, err := t.rows(ctx, t.move(pos, st.Delta), 1)
	if err != nil || len(rows) == 0 {
		return subject{}, false, err
	}
	return subject{entry: rows[0].entry, mid: rows[0].mid}, true, nil
}

// getPropList lists the properties an object has (MS-OXNSPI 3.1.4.1.6).
func (s *Server) getPropList(ctx context.Context, q *GetPropListRequest) *GetPropListResponse {
	resp := &GetPropListResponse{}
	sub, ok := s.object(ctx, q.MinimalID)
	if !ok {
		resp.ErrorCode = mapiprop.ErrInvalidObject
		return resp
	}
	unicode := q.CodePage == CodePageWinUnicode
	pc := propCtx{codePage: q.CodePage}
	resp.PropertyTags = []mapiprop.Tag{}
	for _, t := range defaultPropTags(sub.entry, unicode) {
		if _, ec := s.entryProp(ctx, sub, t, pc); ec == mapiprop.Success {
			resp.PropertyTags = append(resp.PropertyTags, t)
		}
	}
	return resp
}

// openTable returns the session's table of a container, or the error code
// the request op answers with: the failure's code, or ecInvalidBookmark for
// a container the session cannot show.
func (s *Server) openTable(ctx context.Context, sess *Session, containerID uint32, op string) (*table, mapiprop.ErrorCode) {
	t, ok, err := sess.table(ctx, containerID)
	switch {
	case err != nil:
		return nil, s.errorCode(op, err)
	case !ok:
		return nil, mapiprop.ErrInvalidBookmark
	}
	return t, mapiprop.Success
}
