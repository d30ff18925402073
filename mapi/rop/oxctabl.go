package rop

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"sort"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/storage"
)

// Table objects and the table ROPs (MS-OXCTABL). A table is a view of rows
// (folders, messages, attachments, rules, permission entries) with a
// column set, a sort order with optional categories, a restriction, a
// cursor and bookmarks. Contents tables of plain views (no restriction, no
// categories, one sort key the store indexes) read pages from SQL; every
// other view is built in memory from all rows of the folder, with
// restrictions evaluated by mapiprop.Evaluate.

type tableKind int

const (
	tableHierarchy tableKind = iota + 1
	tableContents
	tableAttachments
	tableRules
	tablePermissions
)

// tableRow is one row of a source: its properties, and for a message of
// which only the promoted columns were read, a way to load the rest.
type tableRow struct {
	key   uint64 // identity for bookmarks: FID, MID, attach number, rule or member id
	rowID int64  // secondary sort key, as the store's lists break ties
	props oxcmail.Props
	// lazy makes a property the row does not hold yet (ids and keys that
	// are cheap to compute but costly to make for every row).
	lazy func(id uint16) (mp.Value, bool)
	// full loads every property of the row (nil: props are complete).
	full func(ctx context.Context) (oxcmail.Props, error)
	// sub returns the recipients and attachments of a message row for
	// SubObject restrictions (nil: none).
	sub func(ctx context.Context) (*oxcmail.Message, error)
}

// get returns the row's property with t's id, loading the full row when
// the light one does not have it.
func (r *tableRow) get(ctx context.Context, t mp.Tag) (mp.Value, bool) {
	if v, ok := r.props.Get(t.WithType(mp.PtypUnspecified)); ok {
		return v, true
	}
	if r.fillLazy(t) {
		return r.props.Get(t.WithType(mp.PtypUnspecified))
	}
	if r.full == nil {
		return mp.Value{}, false
	}
	r.loadFull(ctx)
	return r.props.Get(t.WithType(mp.PtypUnspecified))
}

func (r *tableRow) loadFull(ctx context.Context) {
	if r.full == nil {
		return
	}
	full, err := r.full(ctx)
	r.full = nil
	if err != nil {
		return // the row keeps what it has; missing columns read ecNotFound
	}
	// The light properties (flags, ids) are current; the full ones fill in.
	for _, v := range full.Values() {
		if !r.props.Has(v.Tag) {
			r.props.Set(v)
		}
	}
}

// fillLazy makes a lazy property; it reports whether it did.
func (r *tableRow) fillLazy(t mp.Tag) bool {
	if r.lazy == nil {
		return false
	}
	v, ok := r.lazy(t.ID())
	if ok {
		r.props.Set(v)
	}
	return ok
}

// propsFor returns the row's properties, complete for the given columns.
func (r *tableRow) propsFor(ctx context.Context, cols []mp.Tag) oxcmail.Props {
	for _, c := range cols {
		if r.props.Has(c) || r.fillLazy(c) || tableComputed(c) {
			continue
		}
		r.loadFull(ctx)
	}
	return r.props
}

// tableComputed reports the columns a table makes itself.
func tableComputed(t mp.Tag) bool {
	switch t.ID() {
	case mp.PidTagInstID.ID(), mp.PidTagInstanceNum.ID(), mp.PidTagRowType.ID(), mp.PidTagDepth.ID(), mp.PidTagInstanceKey.ID():
		return true
	}
	return false
}

// category is a header row of a categorised view (MS-OXCTABL 3.2.5.4).
type category struct {
	id       uint64
	depth    int
	col      mp.Tag
	value    mp.Value
	hasValue bool
	count    int // leaf rows below
	unread   int
	parent   *category
	items    []viewItem // subcategories or leaves, in order
}

// viewItem is a row of the view: a leaf or a category header.
type viewItem struct {
	row     *tableRow
	cat     *category
	depth   int
	instNum int32
	mvi     *mp.Value // the value of the multi-value-instance column
}

func (it viewItem) key() uint64 {
	if it.cat != nil {
		return it.cat.id
	}
	return it.row.key ^ uint64(it.instNum)<<48
}

// bookmark remembers a row of the view (MS-OXCTABL 3.2.5.10).
type bookmark struct {
	key uint64
	pos int
	end bool
}

// tableObj is a table server object.
type tableObj struct {
	kind     tableKind
	flags    uint8
	unicode  bool
	folderID int64 // hierarchy, contents, rules, permissions
	folderGC int64
	assoc    bool        // contents: FAI messages
	depth    bool        // hierarchy: all descendants
	msg      *messageObj // attachments

	columns  []mp.Tag
	sort     mp.SortOrderSet
	restrict mp.Restriction

	pos      int
	view     []viewItem // built view; nil when it must be rebuilt
	builtSeq uint64     // the Execute the view was built or checked in
	// builtModSeq is the folder's highest change number the contents view
	// was built from.
	builtModSeq int64
	roots       []*category
	collapsed   map[uint64]bool // explicit category states (true = collapsed)
	bookmarks   map[uint32]bookmark
	nextBM      uint32
}

// lazy reports whether the contents view can be paged from SQL.
func (t *tableObj) lazy() bool {
	if t.kind != tableContents || t.restrict != nil || t.sort.CategorizedCount > 0 || len(t.sort.SortOrders) > 1 {
		return false
	}
	for _, c := range t.columns {
		if c.Type()&mp.MultiValueInstance != 0 {
			return false
		}
	}
	if len(t.sort.SortOrders) == 0 {
		return true
	}
	_, ok := sqlSort(t.sort.SortOrders[0])
	return ok
}

// sqlSort maps a sort key to a promoted column the store sorts on.
func sqlSort(so mp.SortOrder) (storage.ListQuery, bool) {
	q := storage.ListQuery{Descending: so.Order == mp.SortDescending}
	if so.Order != mp.SortAscending && so.Order != mp.SortDescending {
		return q, false
	}
	switch so.PropTag.WithType(mp.PtypUnspecified) {
	case mp.PidTagMessageDeliveryTime.WithType(mp.PtypUnspecified):
		q.Sort = storage.SortReceived
	case mp.PidTagClientSubmitTime.WithType(mp.PtypUnspecified):
		q.Sort = storage.SortSent
	case mp.PidTagMessageSize.WithType(mp.PtypUnspecified):
		q.Sort = storage.SortSize
	case mp.PidTagSubject.WithType(mp.PtypUnspecified):
		q.Sort = storage.SortSubject
	default:
		return q, false
	}
	return q, true
}

func (t *tableObj) listQuery() storage.ListQuery {
	q := storage.ListQuery{Sort: storage.SortUID, Associated: t.assoc}
	if len(t.sort.SortOrders) == 1 {
		q, _ = sqlSort(t.sort.SortOrders[0])
		q.Associated = t.assoc
	}
	return q
}

// invalidate drops the built view (after SortTable, Restrict, a change).
func (t *tableObj) invalidate() { t.view, t.roots = nil, nil }

// rows returns every row of the table's source.
func (s *Session) tableRows(ctx context.Context, t *tableObj) ([]*tableRow, error) {
	switch t.kind {
	case tableHierarchy:
		return s.hierarchyRows(ctx, t)
	case tableContents:
		ms, err := s.srv.store.ListMessages(ctx, s.mbox.accountID, t.folderID, storage.ListQuery{Sort: storage.SortUID, Limit: 1 << 30, Associated: t.assoc})
		if err != nil {
			return nil, err
		}
		return s.contentsRows(ctx, t, ms)
	case tableAttachments:
		return s.attachmentRows(t), nil
	case tableRules:
		return s.ruleRows(ctx, t)
	case tablePermissions:
		return s.permissionRows(ctx, t)
	}
	return nil, nil
}

// build makes the view: restriction, multi-value instances, sort,
// categories (MS-OXCTABL 3.2.5.2-3.2.5.4).
func (s *Session) build(ctx context.Context, t *tableObj) error {
	if t.view != nil && !s.stale(ctx, t) {
		return nil
	}
	t.view, t.roots = nil, nil
	t.builtSeq = s.execSeq
	if t.kind == tableContents {
		if f, err := s.srv.store.Folder(ctx, s.mbox.accountID, t.folderID); err == nil {
			t.builtModSeq = f.HighestModSeq
		}
	}
	rows, err := s.tableRows(ctx, t)
	if err != nil {
		return err
	}
	if t.restrict != nil {
		kept := rows[:0]
		m := s.matcher(ctx, t.restrict)
		for _, r := range rows {
			if m.match(r) {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	items := make([]viewItem, 0, len(rows))
	mviCol, hasMVI := t.mviColumn()
	for _, r := range rows {
		if !hasMVI {
			items = append(items, viewItem{row: r})
			continue
		}
		v, ok := r.get(ctx, mviCol.WithType(mviCol.Type().Base()|mp.MultipleFlag))
		els := mp.Elements(v)
		if !ok || len(els) == 0 {
			items = append(items, viewItem{row: r})
			continue
		}
		for i, el := range els {
			el := el
			el.Tag = mviCol.WithType(mviCol.Type().Base())
			items = append(items, viewItem{row: r, instNum: int32(i + 1), mvi: &el})
		}
	}
	orders := t.sort.SortOrders
	sort.SliceStable(items, func(i, j int) bool {
		for _, so := range orders {
			a, aok := s.sortValue(ctx, items[i], so.PropTag)
			b, bok := s.sortValue(ctx, items[j], so.PropTag)
			c := compareSort(a, aok, b, bok)
			if so.Order == mp.SortDescending {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		if items[i].row.rowID != items[j].row.rowID {
			desc := len(orders) == 1 && orders[0].Order == mp.SortDescending
			return (items[i].row.rowID < items[j].row.rowID) != desc
		}
		return items[i].instNum < items[j].instNum
	})
	ncat := int(t.sort.CategorizedCount)
	if ncat > len(orders) {
		ncat = len(orders)
	}
	if ncat == 0 {
		t.view, t.roots = items, nil
		if t.view == nil {
			t.view = []viewItem{}
		}
		return nil
	}
	t.roots = s.categorize(ctx, t, items, ncat)
	t.flatten()
	return nil
}

// stale tells whether a built view may no longer show the store: a table
// is a live view (MS-OXCTABL 3.1.1), so what other doors and sessions did
// shows at the next Execute. A contents view is rebuilt when its folder
// changed, other views once per Execute (they are small).
func (s *Session) stale(ctx context.Context, t *tableObj) bool {
	if t.builtSeq == s.execSeq {
		return false
	}
	switch t.kind {
	case tableContents:
		f, err := s.srv.store.Folder(ctx, s.mbox.accountID, t.folderID)
		if err != nil || f.HighestModSeq != t.builtModSeq {
			return true
		}
		t.builtSeq = s.execSeq
		return false
	case tableAttachments:
		return true // the message object may have changed in memory
	}
	return true
}

// mviColumn is the column (or sort key) asking for one row per value.
func (t *tableObj) mviColumn() (mp.Tag, bool) {
	for _, c := range t.columns {
		if c.Type()&mp.MultiValueInstance != 0 {
			return c, true
		}
	}
	for _, so := range t.sort.SortOrders {
		if so.PropTag.Type()&mp.MultiValueInstance != 0 {
			return so.PropTag, true
		}
	}
	return 0, false
}

func (s *Session) sortValue(ctx context.Context, it viewItem, t mp.Tag) (mp.Value, bool) {
	if it.mvi != nil && it.mvi.Tag.ID() == t.ID() {
		return *it.mvi, true
	}
	return it.row.get(ctx, t)
}

// compareSort orders values; a missing value sorts first.
func compareSort(a mp.Value, aok bool, b mp.Value, bok bool) int {
	switch {
	case !aok && !bok:
		return 0
	case !aok:
		return -1
	case !bok:
		return 1
	}
	c, _ := mp.CompareValues(a, b)
	return c
}

// rowMatcher evaluates a restriction over the rows of one scan: one
// mapiprop.Evaluator, since Count restrictions count across the scan.
type rowMatcher struct {
	res mp.Restriction
	ev  mp.Evaluator
	cur *tableRow
}

func (s *Session) matcher(ctx context.Context, res mp.Restriction) *rowMatcher {
	m := &rowMatcher{res: res}
	m.ev.GetProp = func(t mp.Tag) (mp.Value, bool) { return m.cur.get(ctx, t) }
	m.ev.SubObjects = func(t mp.Tag) []func(mp.Tag) (mp.Value, bool) {
		if m.cur.sub == nil {
			return nil
		}
		msg, err := m.cur.sub(ctx)
		if err != nil || msg == nil {
			return nil
		}
		var out []func(mp.Tag) (mp.Value, bool)
		add := func(p oxcmail.Props) {
			out = append(out, func(t mp.Tag) (mp.Value, bool) { return p.Get(t.WithType(mp.PtypUnspecified)) })
		}
		switch t.ID() {
		case mp.PidTagMessageRecipients.ID():
			for _, rc := range msg.Recipients {
				add(rc)
			}
		case mp.PidTagMessageAttachments.ID():
			for _, a := range msg.Attachments {
				add(a.Props)
			}
		}
		return out
	}
	return m
}

func (m *rowMatcher) match(r *tableRow) bool {
	m.cur = r
	return m.ev.Match(m.res)
}

// categorize groups sorted leaves under ncat levels of headers.
func (s *Session) categorize(ctx context.Context, t *tableObj, items []viewItem, ncat int) []*category {
	var roots []*category
	var path []*category
	for _, it := range items {
		for d := 0; d < ncat; d++ {
			col := t.sort.SortOrders[d].PropTag
			v, ok := s.sortValue(ctx, it, col)
			if d < len(path) && sameCategory(path[d], v, ok) {
				continue
			}
			path = path[:d]
			var parent *category
			if d > 0 {
				parent = path[d-1]
			}
			c := &category{depth: d, col: col.WithType(col.Type().Base()), value: v, hasValue: ok, parent: parent}
			c.id = categoryID(parent, v, ok, d)
			if parent == nil {
				roots = append(roots, c)
			} else {
				parent.items = append(parent.items, viewItem{cat: c, depth: d})
			}
			path = append(path, c)
		}
		it.depth = ncat
		leaf := path[ncat-1]
		leaf.items = append(leaf.items, it)
		unread := false
		if v, ok := it.row.props.Get(mp.PidTagMessageFlags); ok {
			if f, ok := v.Data.(int32); ok && f&mp.MessageFlagRead == 0 {
				unread = true
			}
		}
		for c := leaf; c != nil; c = c.parent {
			c.count++
			if unread {
				c.unread++
			}
		}
	}
	return roots
}

func sameCategory(c *category, v mp.Value, ok bool) bool {
	if c.hasValue != ok {
		return false
	}
	if !ok {
		return true
	}
	cmp, comparable := mp.CompareValues(c.value, v)
	return comparable && cmp == 0
}

// categoryID derives a category's id from its path, so it stays the same
// when the view is rebuilt (collapse states and bookmarks survive).
func categoryID(parent *category, v mp.Value, ok bool, depth int) uint64 {
	h := fnv.New64a()
	if parent != nil {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], parent.id)
		h.Write(b[:])
	}
	h.Write([]byte{byte(depth)})
	if ok {
		w := storedWriter()
		w.TaggedValue(normalize(v))
		h.Write(w.Bytes())
	}
	return h.Sum64() | 1<<63
}

// expanded tells whether a category shows its contents: the client's
// explicit state, else the first ExpandedCount levels (MS-OXCDATA 2.13.2).
func (t *tableObj) expanded(c *category) bool {
	if st, ok := t.collapsed[c.id]; ok {
		return !st
	}
	return c.depth < int(t.sort.ExpandedCount)
}

// flatten lists the visible rows of a categorised view.
func (t *tableObj) flatten() {
	t.view = []viewItem{}
	var walk func(items []viewItem)
	walk = func(items []viewItem) {
		for _, it := range items {
			t.view = append(t.view, it)
			if it.cat != nil && t.expanded(it.cat) {
				walk(it.cat.items)
			}
		}
	}
	roots := make([]viewItem, len(t.roots))
	for i, c := range t.roots {
		roots[i] = viewItem{cat: c, depth: 0}
	}
	walk(roots)
}

// findCategory returns the category with an id.
func (t *tableObj) findCategory(id uint64) *category {
	var found *category
	var walk func(cs []*category)
	walk = func(cs []*category) {
		for _, c := range cs {
			if found != nil {
				return
			}
			if c.id == id {
				found = c
				return
			}
			var subs []*category
			for _, it := range c.items {
				if it.cat != nil {
					subs = append(subs, it.cat)
				}
			}
			walk(subs)
		}
	}
	walk(t.roots)
	return found
}

// itemValues makes the values of a view row over the columns.
func (s *Session) itemValues(ctx context.Context, t *tableObj, it viewItem, cols []mp.Tag) []mp.Value {
	opts := getOptions{unicode: t.unicode, truncate: true, limit: 0x8000}
	vals := make([]mp.Value, len(cols))
	if it.cat != nil {
		c := it.cat
		rowType := mp.RowTypeCollapsed
		if t.expanded(c) {
			rowType = mp.RowTypeExpanded
		}
		var p oxcmail.Props
		if c.hasValue {
			p.Set(mp.Value{Tag: c.col.WithType(c.value.Tag.Type()), Data: c.value.Data})
		}
		p.Set(mp.Int32Value(mp.PidTagRowType, rowType))
		p.Set(mp.Int32Value(mp.PidTagDepth, int32(c.depth)))
		p.Set(mp.Int64Value(mp.PidTagInstID, int64(c.id)))
		p.Set(mp.Int32Value(mp.PidTagInstanceNum, 0))
		p.Set(mp.Int32Value(mp.PidTagContentCount, int32(c.count)))
		p.Set(mp.Int32Value(mp.PidTagContentUnreadCount, int32(c.unread)))
		var ik [8]byte
		binary.LittleEndian.PutUint64(ik[:], c.id)
		p.Set(mp.BinaryValue(mp.PidTagInstanceKey, ik[:]))
		for i, col := range cols {
			vals[i] = outValue(col, p, opts)
		}
		return vals
	}
	p := it.row.propsFor(ctx, cols)
	if it.mvi != nil || t.sort.CategorizedCount > 0 || it.instNum != 0 {
		p = p.Clone()
		if it.mvi != nil {
			p.Set(*it.mvi)
		}
		if t.sort.CategorizedCount > 0 {
			p.Set(mp.Int32Value(mp.PidTagRowType, mp.RowTypeLeaf))
			p.Set(mp.Int32Value(mp.PidTagDepth, int32(it.depth)))
		}
		p.Set(mp.Int32Value(mp.PidTagInstanceNum, it.instNum))
		if ik, ok := p.Get(mp.PidTagInstanceKey); ok {
			if b, ok := ik.Data.([]byte); ok && len(b) >= 4 {
				b = slices.Clone(b)
				binary.LittleEndian.PutUint32(b[len(b)-4:], uint32(it.instNum))
				p.Set(mp.BinaryValue(mp.PidTagInstanceKey, b))
			}
		}
	}
	for i, col := range cols {
		if col.Type()&mp.MultiValueInstance != 0 && it.mvi != nil && col.ID() == it.mvi.Tag.ID() {
			vals[i] = mp.Value{Tag: col.WithType(it.mvi.Tag.Type()), Data: it.mvi.Data}
			continue
		}
		vals[i] = outValue(col, p, opts)
	}
	return vals
}

// rowOf encodes a row and its size.
func rowOf(cols []mp.Tag, vals []mp.Value) (mp.PropertyRow, int, error) {
	row := mp.NewPropertyRow(cols, vals)
	w := mp.NewWriter()
	w.PropertyRow(cols, row)
	return row, w.Len(), w.Err()
}

// --- ROP handlers ---

func tableOf(e *handleEntry) (*tableObj, error) {
	t, ok := e.obj.(*tableObj)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	return t, nil
}

// ropSetColumns (MS-OXCTABL 3.2.5.1).
func (s *Session) ropSetColumns(ctx context.Context, x *SetColumnsRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if len(x.PropertyTags) == 0 {
		return nil, mp.ErrInvalidParam
	}
	mviBefore, _ := t.mviColumn()
	t.columns = slices.Clone(x.PropertyTags)
	if mviAfter, _ := t.mviColumn(); mviAfter != mviBefore {
		t.invalidate()
	}
	return newResp[*SetColumnsResponse](x), nil
}

// ropSortTable (MS-OXCTABL 3.2.5.2): the cursor goes back to the start.
func (s *Session) ropSortTable(ctx context.Context, x *SortTableRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	so := x.SortOrderSet
	if int(so.CategorizedCount) > len(so.SortOrders) || so.ExpandedCount > so.CategorizedCount {
		return nil, mp.ErrInvalidParam
	}
	t.sort = mp.SortOrderSet{CategorizedCount: so.CategorizedCount, ExpandedCount: so.ExpandedCount, SortOrders: slices.Clone(so.SortOrders)}
	t.collapsed = nil
	t.pos = 0
	t.invalidate()
	return newResp[*SortTableResponse](x), nil
}

// ropRestrict (MS-OXCTABL 3.2.5.3): nil removes the restriction.
func (s *Session) ropRestrict(ctx context.Context, x *RestrictRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	t.restrict = x.Restriction
	t.pos = 0
	t.invalidate()
	return newResp[*RestrictResponse](x), nil
}

// ropQueryRows returns rows from the cursor (MS-OXCTABL 3.2.5.5): at most
// RowCount, and no more than fit in the output buffer; reading backward
// moves the cursor back first and then reads forward.
func (s *Session) ropQueryRows(ctx context.Context, x *QueryRowsRequest, in *handleEntry, st *execState) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if len(t.columns) == 0 {
		return nil, mp.ErrNullObject // MS-OXCTABL 3.2.5.5: columns must be set first
	}
	if x.RowCount == 0 {
		return nil, mp.ErrInvalidParam
	}
	resp := newResp[*QueryRowsResponse](x)
	resp.Columns = t.columns
	budget := st.budget - 9 // RopId, index, ReturnValue, Origin, RowCount
	n := int(x.RowCount)
	if t.lazy() && t.view == nil {
		return s.queryRowsLazy(ctx, t, x, resp, n, budget)
	}
	if err := s.build(ctx, t); err != nil {
		return nil, err
	}
	t.pos = min(t.pos, len(t.view))
	start, end := t.pos, min(t.pos+n, len(t.view))
	if !x.ForwardRead {
		start, end = max(t.pos-n, 0), t.pos
	}
	used := 0
	got := 0
	for i := start; i < end; i++ {
		row, size, err := rowOf(t.columns, s.itemValues(ctx, t, t.view[i], t.columns))
		if err != nil {
			return nil, err
		}
		if used+size > budget {
			break
		}
		used += size
		resp.Rows = append(resp.Rows, row)
		got++
	}
	if got == 0 && end > start {
		return nil, mp.ErrBufferTooSmall // not even one row fits: let the client grow its buffer
	}
	if x.QueryRowsFlags&QueryRowsNoAdvance == 0 {
		if x.ForwardRead {
			t.pos = start + got
		} else {
			t.pos = start
		}
	}
	resp.Origin = t.origin(len(t.view), x.ForwardRead, start, start+got)
	return resp, nil
}

// origin says where a read ended (MS-OXCTABL 2.2.2.5.2).
func (t *tableObj) origin(total int, forward bool, start, end int) uint8 {
	switch {
	case forward && end >= total:
		return BookmarkEnd
	case !forward && start == 0:
		return BookmarkBeginning
	}
	return BookmarkCurrent
}

// queryRowsLazy pages a plain contents view from SQL.
func (s *Session) queryRowsLazy(ctx context.Context, t *tableObj, x *QueryRowsRequest, resp *QueryRowsResponse, n, budget int) (Response, error) {
	start := t.pos
	if !x.ForwardRead {
		start = max(t.pos-n, 0)
		n = t.pos - start
	}
	q := t.listQuery()
	q.Offset, q.Limit = start, n+1 // one more tells whether the end was reached
	var ms []storage.Message
	if n > 0 {
		var err error
		if ms, err = s.srv.store.ListMessages(ctx, s.mbox.accountID, t.folderID, q); err != nil {
			return nil, err
		}
	}
	atEnd := len(ms) <= n
	if len(ms) > n {
		ms = ms[:n]
	}
	rows, err := s.contentsRows(ctx, t, ms)
	if err != nil {
		return nil, err
	}
	used, got := 0, 0
	for _, r := range rows {
		row, size, err := rowOf(t.columns, s.itemValues(ctx, t, viewItem{row: r}, t.columns))
		if err != nil {
			return nil, err
		}
		if used+size > budget {
			atEnd = false
			break
		}
		used += size
		resp.Rows = append(resp.Rows, row)
		got++
	}
	if got == 0 && len(rows) > 0 {
		return nil, mp.ErrBufferTooSmall
	}
	if x.QueryRowsFlags&QueryRowsNoAdvance == 0 {
		if x.ForwardRead {
			t.pos = start + got
		} else {
			t.pos = start
		}
	}
	switch {
	case x.ForwardRead && atEnd:
		resp.Origin = BookmarkEnd
	case !x.ForwardRead && start == 0:
		resp.Origin = BookmarkBeginning
	default:
		resp.Origin = BookmarkCurrent
	}
	return resp, nil
}

// rowCount is the number of rows of the view.
func (s *Session) rowCount(ctx context.Context, t *tableObj) (int, error) {
	if t.lazy() && t.view == nil {
		n, err := s.srv.store.CountMessages(ctx, s.mbox.accountID, t.folderID, t.assoc)
		return int(n), err
	}
	if err := s.build(ctx, t); err != nil {
		return 0, err
	}
	return len(t.view), nil
}

// ropQueryPosition (MS-OXCTABL 3.2.5.7).
func (s *Session) ropQueryPosition(ctx context.Context, x *QueryPositionRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	n, err := s.rowCount(ctx, t)
	if err != nil {
		return nil, err
	}
	resp := newResp[*QueryPositionResponse](x)
	resp.Numerator = uint32(min(t.pos, n))
	resp.Denominator = uint32(n)
	return resp, nil
}

// ropSeekRow moves the cursor (MS-OXCTABL 3.2.5.8).
func (s *Session) ropSeekRow(ctx context.Context, x *SeekRowRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	n, err := s.rowCount(ctx, t)
	if err != nil {
		return nil, err
	}
	var base int
	switch x.Origin {
	case BookmarkBeginning:
		base = 0
	case BookmarkCurrent:
		base = min(t.pos, n)
	case BookmarkEnd:
		base = n
	default:
		return nil, mp.ErrInvalidParam
	}
	resp := newResp[*SeekRowResponse](x)
	resp.RowsSought, resp.HasSoughtLess = t.seek(base, int64(x.RowCount), n)
	return resp, nil
}

// seek moves the cursor from base by delta rows within [0, n].
func (t *tableObj) seek(base int, delta int64, n int) (moved int32, less bool) {
	target := int64(base) + delta
	switch {
	case target < 0:
		target, less = 0, true
	case target > int64(n):
		target, less = int64(n), true
	}
	t.pos = int(target)
	return int32(target - int64(base)), less
}

// ropSeekRowFractional (MS-OXCTABL 3.2.5.10).
func (s *Session) ropSeekRowFractional(ctx context.Context, x *SeekRowFractionalRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if x.Denominator == 0 {
		return nil, mp.ErrInvalidParam
	}
	n, err := s.rowCount(ctx, t)
	if err != nil {
		return nil, err
	}
	num := min(uint64(x.Numerator), uint64(x.Denominator))
	t.pos = int(num * uint64(n) / uint64(x.Denominator))
	return newResp[*SeekRowFractionalResponse](x), nil
}

// maxBookmarks caps the bookmarks one table keeps.
const maxBookmarks = 4096

// ropCreateBookmark (MS-OXCTABL 3.2.5.11).
func (s *Session) ropCreateBookmark(ctx context.Context, x *CreateBookmarkRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if len(t.bookmarks) >= maxBookmarks {
		return nil, mp.ErrServerOOM
	}
	var bm bookmark
	if t.lazy() && t.view == nil {
		// A paged view bookmarks the row at the cursor without building.
		key, ok, err := s.lazyKeyAt(ctx, t, t.pos)
		if err != nil {
			return nil, err
		}
		bm = bookmark{pos: t.pos, key: key, end: !ok}
	} else {
		if err := s.build(ctx, t); err != nil {
			return nil, err
		}
		bm = bookmark{pos: t.pos}
		if t.pos >= len(t.view) {
			bm.end = true
		} else {
			bm.key = t.view[t.pos].key()
		}
	}
	if t.bookmarks == nil {
		t.bookmarks = map[uint32]bookmark{}
	}
	t.nextBM++
	t.bookmarks[t.nextBM] = bm
	resp := newResp[*CreateBookmarkResponse](x)
	resp.Bookmark = binary.LittleEndian.AppendUint32(nil, t.nextBM)
	return resp, nil
}

// lazyKeyAt returns the key of the row at pos of a paged view; ok is false
// past the end.
func (s *Session) lazyKeyAt(ctx context.Context, t *tableObj, pos int) (uint64, bool, error) {
	q := t.listQuery()
	q.Offset, q.Limit = pos, 1
	ms, err := s.srv.store.ListMessages(ctx, s.mbox.accountID, t.folderID, q)
	if err != nil || len(ms) == 0 {
		return 0, false, err
	}
	return uint64(makeID(ms[0].GlobCnt)), true, nil
}

func (t *tableObj) bookmarkOf(b []byte) (bookmark, bool) {
	if len(b) != 4 {
		return bookmark{}, false
	}
	bm, ok := t.bookmarks[binary.LittleEndian.Uint32(b)]
	return bm, ok
}

// locate returns the current position of a bookmarked row; ok false if
// the row is gone (then the position is where it was, clamped).
func (t *tableObj) locate(bm bookmark) (int, bool) {
	if bm.end {
		return len(t.view), true
	}
	if bm.pos < len(t.view) && t.view[bm.pos].key() == bm.key {
		return bm.pos, true
	}
	for i, it := range t.view {
		if it.key() == bm.key {
			return i, true
		}
	}
	return min(bm.pos, len(t.view)), false
}

// ropSeekRowBookmark (MS-OXCTABL 3.2.5.9).
func (s *Session) ropSeekRowBookmark(ctx context.Context, x *SeekRowBookmarkRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	bm, ok := t.bookmarkOf(x.Bookmark)
	if !ok {
		return nil, mp.ErrInvalidBookmark
	}
	resp := newResp[*SeekRowBookmarkResponse](x)
	if t.lazy() && t.view == nil {
		// The row is usually still where it was; only if not is the view built.
		key, found, err := s.lazyKeyAt(ctx, t, bm.pos)
		if err != nil {
			return nil, err
		}
		if (found && key == bm.key) || (!found && bm.end) {
			n, err := s.rowCount(ctx, t)
			if err != nil {
				return nil, err
			}
			resp.RowsSought, resp.HasSoughtLess = t.seek(min(bm.pos, n), int64(x.RowCount), n)
			return resp, nil
		}
	}
	if err := s.build(ctx, t); err != nil {
		return nil, err
	}
	base, visible := t.locate(bm)
	resp.RowNoLongerVisible = !visible
	resp.RowsSought, resp.HasSoughtLess = t.seek(base, int64(x.RowCount), len(t.view))
	return resp, nil
}

// ropFreeBookmark (MS-OXCTABL 3.2.5.15).
func (s *Session) ropFreeBookmark(ctx context.Context, x *FreeBookmarkRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if _, ok := t.bookmarkOf(x.Bookmark); !ok {
		return nil, mp.ErrInvalidBookmark
	}
	delete(t.bookmarks, binary.LittleEndian.Uint32(x.Bookmark))
	return newResp[*FreeBookmarkResponse](x), nil
}

// ropFindRow finds the next row matching a restriction from an origin
// (MS-OXCTABL 3.2.5.14) and moves the cursor to it.
func (s *Session) ropFindRow(ctx context.Context, x *FindRowRequest, in *handleEntry, st *execState) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if len(t.columns) == 0 {
		return nil, mp.ErrNullObject
	}
	if x.Restriction == nil {
		return nil, mp.ErrInvalidParam
	}
	if err := s.build(ctx, t); err != nil {
		return nil, err
	}
	resp := newResp[*FindRowResponse](x)
	resp.Columns = t.columns
	var start int
	switch x.Origin {
	case BookmarkBeginning:
		start = 0
	case BookmarkCurrent:
		start = min(t.pos, len(t.view))
	case BookmarkEnd:
		start = len(t.view)
	case BookmarkCustom:
		bm, ok := t.bookmarkOf(x.Bookmark)
		if !ok {
			return nil, mp.ErrInvalidBookmark
		}
		var visible bool
		start, visible = t.locate(bm)
		resp.RowNoLongerVisible = !visible
	default:
		return nil, mp.ErrInvalidParam
	}
	backward := x.FindRowFlags&FindRowBackward != 0
	found := -1
	matcher := s.matcher(ctx, x.Restriction)
	if backward {
		for i := min(start, len(t.view)) - 1; i >= 0; i-- {
			if it := t.view[i]; it.row != nil && matcher.match(it.row) {
				found = i
				break
			}
		}
	} else {
		for i := start; i < len(t.view); i++ {
			if it := t.view[i]; it.row != nil && matcher.match(it.row) {
				found = i
				break
			}
		}
	}
	if found < 0 {
		return nil, mp.ErrNotFound
	}
	t.pos = found
	row, size, err := rowOf(t.columns, s.itemValues(ctx, t, t.view[found], t.columns))
	if err != nil {
		return nil, err
	}
	if size+9 > st.budget {
		return nil, mp.ErrBufferTooSmall
	}
	resp.Row = &row
	return resp, nil
}

// ropQueryColumnsAll lists the columns the table's rows can have
// (MS-OXCTABL 3.2.5.12).
func (s *Session) ropQueryColumnsAll(ctx context.Context, x *QueryColumnsAllRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	seen := map[mp.Tag]bool{}
	var tags []mp.Tag
	add := func(tg mp.Tag) {
		if isStringType(tg.Type()) && !t.unicode {
			tg = tg.WithType(mp.PtypString8)
		}
		if !seen[tg] {
			seen[tg] = true
			tags = append(tags, tg)
		}
	}
	var rows []*tableRow
	if t.kind == tableContents {
		// The first page is enough to know the columns.
		q := t.listQuery()
		q.Limit = 50
		ms, err := s.srv.store.ListMessages(ctx, s.mbox.accountID, t.folderID, q)
		if err != nil {
			return nil, err
		}
		if rows, err = s.contentsRows(ctx, t, ms); err != nil {
			return nil, err
		}
	} else if rows, err = s.tableRows(ctx, t); err != nil {
		return nil, err
	}
	for _, r := range rows {
		for _, tg := range r.props.Tags() {
			add(tg)
		}
	}
	if t.kind == tableContents {
		for _, tg := range identityTags {
			add(tg)
		}
	}
	for _, tg := range []mp.Tag{mp.PidTagInstID, mp.PidTagInstanceNum, mp.PidTagRowType, mp.PidTagDepth} {
		add(tg)
	}
	resp := newResp[*QueryColumnsAllResponse](x)
	resp.PropertyTags = tags
	return resp, nil
}

// ropTableStatus answers RopGetStatus and RopAbort: every operation here
// is synchronous, so a table is always complete (MS-OXCTABL 3.2.5.6).
func (s *Session) ropTableStatus(req Request, in *handleEntry) (Response, error) {
	if _, err := tableOf(in); err != nil {
		return nil, err
	}
	resp, err := NewResponse(req)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// ropResetTable drops columns, sort, restriction, bookmarks and the cursor
// (MS-OXCTABL 3.2.5.16).
func (s *Session) ropResetTable(ctx context.Context, x *ResetTableRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	t.columns, t.sort, t.restrict = nil, mp.SortOrderSet{}, nil
	t.pos, t.bookmarks, t.collapsed = 0, nil, nil
	t.invalidate()
	return newResp[*ResetTableResponse](x), nil
}

// ropExpandRow expands a category and returns its first rows
// (MS-OXCTABL 3.2.5.17).
func (s *Session) ropExpandRow(ctx context.Context, x *ExpandRowRequest, in *handleEntry, st *execState) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if err := s.build(ctx, t); err != nil {
		return nil, err
	}
	c := t.findCategory(x.CategoryID)
	if c == nil {
		return nil, mp.ErrNotFound
	}
	if t.expanded(c) {
		return nil, errNotCollapsed
	}
	if t.collapsed == nil {
		t.collapsed = map[uint64]bool{}
	}
	before := len(t.view)
	t.collapsed[c.id] = false
	t.flatten()
	resp := newResp[*ExpandRowResponse](x)
	resp.ExpandedRowCount = uint32(len(t.view) - before)
	resp.Columns = t.columns
	budget := st.budget - 13
	used := 0
	for i, it := range c.items {
		if i >= int(x.MaxRowCount) || len(t.columns) == 0 {
			break
		}
		row, size, err := rowOf(t.columns, s.itemValues(ctx, t, it, t.columns))
		if err != nil {
			return nil, err
		}
		if used+size > budget {
			break
		}
		used += size
		resp.Rows = append(resp.Rows, row)
	}
	return resp, nil
}

// ropCollapseRow hides a category's rows (MS-OXCTABL 3.2.5.18).
func (s *Session) ropCollapseRow(ctx context.Context, x *CollapseRowRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if err := s.build(ctx, t); err != nil {
		return nil, err
	}
	c := t.findCategory(x.CategoryID)
	if c == nil {
		return nil, mp.ErrNotFound
	}
	if !t.expanded(c) {
		return nil, errNotExpanded
	}
	if t.collapsed == nil {
		t.collapsed = map[uint64]bool{}
	}
	before := len(t.view)
	t.collapsed[c.id] = true
	t.flatten()
	t.pos = min(t.pos, len(t.view))
	resp := newResp[*CollapseRowResponse](x)
	resp.CollapsedRowCount = uint32(before - len(t.view))
	return resp, nil
}

// collapseState is the opaque blob of RopGetCollapseState: the explicit
// category states and the row to return to (MS-OXCTABL 3.2.5.19).
func (t *tableObj) encodeCollapseState(rowKey uint64) []byte {
	w := mp.NewWriter()
	w.U64(rowKey)
	ids := make([]uint64, 0, len(t.collapsed))
	for id := range t.collapsed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w.U32(uint32(len(ids)))
	for _, id := range ids {
		w.U64(id)
		w.Bool(t.collapsed[id])
	}
	return w.Bytes()
}

// ropGetCollapseState (MS-OXCTABL 3.2.5.19).
func (s *Session) ropGetCollapseState(ctx context.Context, x *GetCollapseStateRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	if err := s.build(ctx, t); err != nil {
		return nil, err
	}
	key := x.RowID
	for _, it := range t.view {
		if it.row != nil && it.row.key == x.RowID && it.instNum == int32(x.RowInstanceNumber) {
			key = it.key()
			break
		}
	}
	state := t.encodeCollapseState(key)
	if len(state) > 0x8000 {
		return nil, mp.ErrTooBig
	}
	resp := newResp[*GetCollapseStateResponse](x)
	resp.CollapseState = state
	return resp, nil
}

// ropSetCollapseState restores category states and returns a bookmark to
// the saved row (MS-OXCTABL 3.2.5.20).
func (s *Session) ropSetCollapseState(ctx context.Context, x *SetCollapseStateRequest, in *handleEntry) (Response, error) {
	t, err := tableOf(in)
	if err != nil {
		return nil, err
	}
	r := mp.NewReader(x.CollapseState)
	key := r.U64()
	n := r.U32()
	if r.Err() != nil || uint64(n)*9 != uint64(r.Len()) {
		return nil, mp.ErrInvalidParam
	}
	states := make(map[uint64]bool, n)
	for i := uint32(0); i < n; i++ {
		id := r.U64()
		states[id] = r.Bool()
	}
	if len(t.bookmarks) >= maxBookmarks {
		return nil, mp.ErrServerOOM
	}
	t.collapsed = states
	if t.view != nil && t.sort.CategorizedCount > 0 {
		t.flatten()
	}
	if err := s.build(ctx, t); err != nil {
		return nil, err
	}
	bm := bookmark{key: key, end: true}
	for i, it := range t.view {
		if it.key() == key {
			bm = bookmark{key: key, pos: i}
			break
		}
	}
	if t.bookmarks == nil {
		t.bookmarks = map[uint32]bookmark{}
	}
	t.nextBM++
	t.bookmarks[t.nextBM] = bm
	resp := newResp[*SetCollapseStateResponse](x)
	resp.Bookmark = binary.LittleEndian.AppendUint32(nil, t.nextBM)
	return resp, nil
}
