package rop

import (
	"fmt"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// contentsClient delivers n messages "msg 00".."msg n-1" (senders cycling
// over three names) and opens the Inbox contents table in slot 2.
func contentsClient(t *testing.T, n int) *testClient {
	t.Helper()
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	senders := []string{"Ann", "Ben", "Cid"}
	for i := 0; i < n; i++ {
		raw := fmt.Sprintf("From: %s <%s@outside.example>\r\nTo: alice@example.com\r\nSubject: msg %02d\r\nMessage-ID: <m%d@x>\r\n\r\n%s\r\n",
			senders[i%3], senders[i%3], i, i, "body")
		env.Deliver(t, []byte(raw), alice.ID)
	}
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode})
	return c
}

func subjects(t *testing.T, rows []mp.PropertyRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, str(t, r, mp.PidTagSubject))
	}
	return out
}

// TestTableCursor: positions, seeks, bookmarks and backward reads
// (MS-OXCTABL 3.2.5.5-3.2.5.11, 3.2.5.15).
func TestTableCursor(t *testing.T) {
	c := contentsClient(t, 30)
	cols := []mp.Tag{mp.PidTagSubject, mp.PidTagMid}
	first := c.rows(2, cols, 10)
	if got := subjects(t, first); got[0] != "msg 00" || got[9] != "msg 09" {
		t.Fatalf("first page %v", got)
	}
	pos := c.one(&QueryPositionRequest{RequestHeader: hdr(2)}).(*QueryPositionResponse)
	if pos.Numerator != 10 || pos.Denominator != 30 {
		t.Errorf("position %d/%d", pos.Numerator, pos.Denominator)
	}
	sr := c.one(&SeekRowRequest{RequestHeader: hdr(2), Origin: BookmarkCurrent, RowCount: -5, WantRowMovedCount: true}).(*SeekRowResponse)
	if sr.RowsSought != -5 || sr.HasSoughtLess {
		t.Errorf("seek -5: %+v", sr)
	}
	bm := c.one(&CreateBookmarkRequest{RequestHeader: hdr(2)}).(*CreateBookmarkResponse).Bookmark
	sr = c.one(&SeekRowRequest{RequestHeader: hdr(2), Origin: BookmarkEnd, RowCount: 5, WantRowMovedCount: true}).(*SeekRowResponse)
	if sr.RowsSought != 0 || !sr.HasSoughtLess {
		t.Errorf("seek past the end: %+v", sr)
	}
	sb := c.one(&SeekRowBookmarkRequest{RequestHeader: hdr(2), Bookmark: bm, RowCount: 1}).(*SeekRowBookmarkResponse)
	if sb.RowNoLongerVisible || sb.RowsSought != 1 {
		t.Errorf("seek to bookmark: %+v", sb)
	}
	qr := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 1}).(*QueryRowsResponse)
	if got := subjects(t, qr.Rows); got[0] != "msg 06" {
		t.Errorf("row after bookmark+1: %v", got)
	}
	// Reading backward moves back, then reads forward (IMAPITable::QueryRows).
	back := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: false, RowCount: 3}).(*QueryRowsResponse)
	if got := subjects(t, back.Rows); len(got) != 3 || got[0] != "msg 04" || got[2] != "msg 06" {
		t.Errorf("backward read %v", got)
	}
	c.one(&SeekRowFractionalRequest{RequestHeader: hdr(2), Numerator: 1, Denominator: 2})
	if p := c.one(&QueryPositionRequest{RequestHeader: hdr(2)}).(*QueryPositionResponse); p.Numerator != 15 {
		t.Errorf("fractional seek to %d", p.Numerator)
	}
	c.one(&FreeBookmarkRequest{RequestHeader: hdr(2), Bookmark: bm})
	if ec := c.ec(&SeekRowBookmarkRequest{RequestHeader: hdr(2), Bookmark: bm}); ec != mp.ErrInvalidBookmark {
		t.Errorf("freed bookmark: %v", ec)
	}
	// FindRow from the start and backward from the end.
	fr := c.one(&FindRowRequest{RequestHeader: hdr(2), Origin: BookmarkBeginning, Restriction: &mp.PropertyRestriction{RelOp: mp.RelOpEqual,
		PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, "msg 17")}}).(*FindRowResponse)
	if fr.Row == nil || str(t, *fr.Row, mp.PidTagSubject) != "msg 17" {
		t.Fatalf("FindRow: %+v", fr)
	}
	if p := c.one(&QueryPositionRequest{RequestHeader: hdr(2)}).(*QueryPositionResponse); p.Numerator != 17 {
		t.Errorf("FindRow left the cursor at %d", p.Numerator)
	}
	fr = c.one(&FindRowRequest{RequestHeader: hdr(2), FindRowFlags: FindRowBackward, Origin: BookmarkEnd,
		Restriction: &mp.ContentRestriction{FuzzyLevelLow: 2, PropTag: mp.PidTagSenderName, Value: mp.StringValue(mp.PidTagSenderName, "Ann")}}).(*FindRowResponse)
	if fr.Row == nil || str(t, *fr.Row, mp.PidTagSubject) != "msg 27" {
		t.Errorf("backward FindRow: %+v", fr.Row)
	}
	if ec := c.ec(&FindRowRequest{RequestHeader: hdr(2), Origin: BookmarkBeginning, Restriction: &mp.ExistRestriction{PropTag: mp.PidTagRtfCompressed}}); ec != mp.ErrNotFound {
		t.Errorf("FindRow without a match: %v", ec)
	}
	// ResetTable drops the columns.
	c.one(&ResetTableRequest{RequestHeader: hdr(2)})
	if ec := c.ec(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 1}); ec == 0 {
		t.Errorf("QueryRows without columns after ResetTable succeeded")
	}
}

// TestTableRestrictions: every restriction type narrows the view
// (MS-OXCDATA 2.12, evaluated by mapiprop).
func TestTableRestrictions(t *testing.T) {
	c := contentsClient(t, 12)
	cols := []mp.Tag{mp.PidTagSubject}
	c.one(&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: cols})
	subj := func(s string) mp.Value { return mp.StringValue(mp.PidTagSubject, s) }
	ann := &mp.ContentRestriction{FuzzyLevelLow: 0, FuzzyLevelHigh: 1, PropTag: mp.PidTagSenderName, Value: mp.StringValue(mp.PidTagSenderName, "ann")}
	cases := []struct {
		name string
		res  mp.Restriction
		want int
	}{
		{"content", ann, 4},
		{"and", &mp.AndRestriction{Restrictions: []mp.Restriction{ann, &mp.PropertyRestriction{RelOp: mp.RelOpGreaterThanOrEqual, PropTag: mp.PidTagSubject, Value: subj("msg 06")}}}, 2},
		{"or", &mp.OrRestriction{Restrictions: []mp.Restriction{ann, &mp.PropertyRestriction{RelOp: mp.RelOpEqual, PropTag: mp.PidTagSubject, Value: subj("msg 01")}}}, 5},
		{"not", &mp.NotRestriction{Restriction: ann}, 8},
		{"exist", &mp.ExistRestriction{PropTag: mp.PidTagSubject}, 12},
		{"bitmask", &mp.BitmaskRestriction{RelOp: mp.BitmaskEqualZero, PropTag: mp.PidTagMessageFlags, Mask: uint32(mp.MessageFlagRead)}, 12},
		{"size", &mp.SizeRestriction{RelOp: mp.RelOpGreaterThan, PropTag: mp.PidTagSubject, Size: 4}, 12},
		{"compare", &mp.ComparePropertiesRestriction{RelOp: mp.RelOpEqual, PropTag1: mp.PidTagSubject, PropTag2: mp.PidTagNormalizedSubject}, 12},
		{"comment", &mp.CommentRestriction{Values: []mp.Value{subj("x")}, Restriction: ann}, 4},
		{"count", &mp.CountRestriction{Count: 2, Restriction: ann}, 2},
		{"subobject", &mp.SubObjectRestriction{SubObject: mp.PidTagMessageRecipients, Restriction: &mp.ContentRestriction{FuzzyLevelLow: 1, FuzzyLevelHigh: 1,
			PropTag: mp.PidTagEmailAddress, Value: mp.StringValue(mp.PidTagEmailAddress, "alice@")}}, 12},
		{"body (derived, not promoted)", &mp.ContentRestriction{FuzzyLevelLow: 1, PropTag: mp.PidTagBody, Value: mp.StringValue(mp.PidTagBody, "body")}, 12},
	}
	for _, tc := range cases {
		c.one(&RestrictRequest{RequestHeader: hdr(2), Restriction: tc.res})
		rows := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse).Rows
		if len(rows) != tc.want {
			t.Errorf("%s: %d rows %v, want %d", tc.name, len(rows), subjects(t, rows), tc.want)
		}
	}
	c.one(&RestrictRequest{RequestHeader: hdr(2)})
	if rows := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse).Rows; len(rows) != 12 {
		t.Errorf("after removing the restriction: %d rows", len(rows))
	}
}

// TestTableSortStable: multi-key sorts run in memory and agree with the
// store's own ordering for single keys.
func TestTableSort(t *testing.T) {
	c := contentsClient(t, 9)
	cols := []mp.Tag{mp.PidTagSubject, mp.PidTagSenderName}
	c.one(&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: cols})
	c.one(&SortTableRequest{RequestHeader: hdr(2), SortOrderSet: mp.SortOrderSet{SortOrders: []mp.SortOrder{
		{PropTag: mp.PidTagSenderName, Order: mp.SortDescending}, {PropTag: mp.PidTagSubject, Order: mp.SortAscending}}}})
	rows := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse).Rows
	want := []string{"msg 02", "msg 05", "msg 08", "msg 01", "msg 04", "msg 07", "msg 00", "msg 03", "msg 06"}
	if got := subjects(t, rows); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sender desc, subject asc: %v, want %v", got, want)
	}
	c.one(&SortTableRequest{RequestHeader: hdr(2), SortOrderSet: mp.SortOrderSet{SortOrders: []mp.SortOrder{{PropTag: mp.PidTagSubject, Order: mp.SortDescending}}}})
	rows = c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 3}).(*QueryRowsResponse).Rows
	if got := subjects(t, rows); fmt.Sprint(got) != "[msg 08 msg 07 msg 06]" {
		t.Errorf("subject desc (paged from the store): %v", got)
	}
}

// TestCategorizedView: a view grouped by sender has header rows; they
// expand and collapse, and the collapse state round-trips
// (MS-OXCTABL 3.2.5.4, 3.2.5.17-3.2.5.20).
func TestCategorizedView(t *testing.T) {
	c := contentsClient(t, 9)
	cols := []mp.Tag{mp.PidTagSenderName, mp.PidTagSubject, mp.PidTagRowType, mp.PidTagDepth, mp.PidTagInstID, mp.PidTagContentCount}
	c.one(&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: cols})
	c.one(&SortTableRequest{RequestHeader: hdr(2), SortOrderSet: mp.SortOrderSet{CategorizedCount: 1, ExpandedCount: 0,
		SortOrders: []mp.SortOrder{{PropTag: mp.PidTagSenderName, Order: mp.SortAscending}, {PropTag: mp.PidTagSubject, Order: mp.SortAscending}}}})
	rows := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse).Rows
	if len(rows) != 3 {
		t.Fatalf("collapsed view: %d rows", len(rows))
	}
	for i, want := range []string{"Ann", "Ben", "Cid"} {
		if got := str(t, rows[i], mp.PidTagSenderName); got != want || i32(t, rows[i], mp.PidTagRowType) != mp.RowTypeCollapsed || i32(t, rows[i], mp.PidTagContentCount) != 3 {
			t.Errorf("header %d: %v", i, rows[i].Values)
		}
	}
	benV, _ := rows[1].Get(mp.PidTagInstID.ID())
	ben := uint64(benV.Data.(int64))
	ex := c.one(&ExpandRowRequest{RequestHeader: hdr(2), MaxRowCount: 10, CategoryID: ben}).(*ExpandRowResponse)
	if ex.ExpandedRowCount != 3 || len(ex.Rows) != 3 || str(t, ex.Rows[0], mp.PidTagSubject) != "msg 01" || i32(t, ex.Rows[0], mp.PidTagRowType) != mp.RowTypeLeaf {
		t.Fatalf("ExpandRow: %+v", ex)
	}
	if ec := c.ec(&ExpandRowRequest{RequestHeader: hdr(2), MaxRowCount: 10, CategoryID: ben}); ec != errNotCollapsed {
		t.Errorf("expanding twice: %v", ec)
	}
	c.one(&SeekRowRequest{RequestHeader: hdr(2), Origin: BookmarkBeginning})
	rows = c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse).Rows
	if len(rows) != 6 || i32(t, rows[1], mp.PidTagRowType) != mp.RowTypeExpanded || str(t, rows[2], mp.PidTagSubject) != "msg 01" {
		t.Fatalf("after expanding Ben: %d rows", len(rows))
	}
	leaf, _ := rows[3].Get(mp.PidTagInstID.ID())
	state := c.one(&GetCollapseStateRequest{RequestHeader: hdr(2), RowID: uint64(leaf.Data.(int64))}).(*GetCollapseStateResponse).CollapseState
	col := c.one(&CollapseRowRequest{RequestHeader: hdr(2), CategoryID: ben}).(*CollapseRowResponse)
	if col.CollapsedRowCount != 3 {
		t.Errorf("CollapseRow hid %d rows", col.CollapsedRowCount)
	}
	bm := c.one(&SetCollapseStateRequest{RequestHeader: hdr(2), CollapseState: state}).(*SetCollapseStateResponse).Bookmark
	c.one(&SeekRowBookmarkRequest{RequestHeader: hdr(2), Bookmark: bm})
	qr := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 1}).(*QueryRowsResponse)
	if got := str(t, qr.Rows[0], mp.PidTagSubject); got != "msg 04" {
		t.Errorf("row after SetCollapseState: %q, want msg 04", got)
	}
	if n := c.one(&QueryPositionRequest{RequestHeader: hdr(2)}).(*QueryPositionResponse).Denominator; n != 6 {
		t.Errorf("restored view has %d rows, want 6", n)
	}
}

// TestAssociatedContents: FAI messages are listed only by the associated
// contents table and never by IMAP.
func TestAssociatedContents(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	env.Deliver(t, mimeMessage("normal", 10, ""), alice.ID)
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&CreateMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleInbox), AssociatedFlag: true})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{mp.StringValue(mp.PidTagMessageClass, "IPM.Configuration.Test"), mp.StringValue(mp.PidTagSubject, "config")}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(2), ResponseHandleIndex: 2})
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 3, TableFlags: TableFlagAssociated | TableFlagUseUnicode})
	fai := c.rows(3, []mp.Tag{mp.PidTagMessageClass, mp.PidTagAssociated, mp.PidTagMessageFlags}, 10)
	if len(fai) != 1 || str(t, fai[0], mp.PidTagMessageClass) != "IPM.Configuration.Test" || i32(t, fai[0], mp.PidTagMessageFlags)&mp.MessageFlagAssociated == 0 {
		t.Fatalf("associated table: %v", fai)
	}
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 4, TableFlags: TableFlagUseUnicode})
	if normal := c.rows(4, []mp.Tag{mp.PidTagSubject}, 10); len(normal) != 1 || str(t, normal[0], mp.PidTagSubject) != "normal" {
		t.Errorf("normal table: %v", normal)
	}
	metas, err := env.Store.FolderMeta(t.Context(), alice.ID, folderByRole(t, env, alice.ID, storage.RoleInbox).ID)
	if err != nil || len(metas) != 1 {
		t.Errorf("IMAP's view of the Inbox: %d messages (%v)", len(metas), err)
	}
}

// TestQueryColumnsAll lists the columns rows have.
func TestQueryColumnsAll(t *testing.T) {
	c := contentsClient(t, 2)
	tags := c.one(&QueryColumnsAllRequest{RequestHeader: hdr(2)}).(*QueryColumnsAllResponse).PropertyTags
	seen := map[mp.Tag]bool{}
	for _, tg := range tags {
		seen[tg] = true
	}
	for _, want := range []mp.Tag{mp.PidTagSubject, mp.PidTagMid, mp.PidTagMessageFlags, mp.PidTagInstID} {
		if !seen[want] {
			t.Errorf("QueryColumnsAll lacks %s", want)
		}
	}
}

// TestLiveViews: tables show what other doors did by the next Execute,
// materialised views included (MS-OXCTABL 3.1.1).
func TestLiveViews(t *testing.T) {
	c := contentsClient(t, 3)
	c.one(&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: []mp.Tag{mp.PidTagSubject}})
	c.one(&RestrictRequest{RequestHeader: hdr(2), Restriction: &mp.ExistRestriction{PropTag: mp.PidTagSubject}})
	if rows := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse).Rows; len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	bm := c.one(&CreateBookmarkRequest{RequestHeader: hdr(2)}).(*CreateBookmarkResponse).Bookmark
	c.env.Deliver(t, mimeMessage("arrived later", 10, ""), c.acc.ID)
	rows := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse).Rows
	if len(rows) != 1 || str(t, rows[0], mp.PidTagSubject) != "arrived later" {
		t.Errorf("new message not in the view: %v", subjects(t, rows))
	}
	if sb := c.one(&SeekRowBookmarkRequest{RequestHeader: hdr(2), Bookmark: bm}).(*SeekRowBookmarkResponse); sb.RowNoLongerVisible {
		t.Errorf("end bookmark lost")
	}
	// The hierarchy sees a folder IMAP made.
	c.openFolder(0, 3, storage.RoleIPMSubtree)
	c.one(&GetHierarchyTableRequest{RequestHeader: hdr(3), OutputHandleIndex: 4})
	before := len(c.rows(4, []mp.Tag{mp.PidTagDisplayName}, 100))
	ipm := folderByRole(t, c.env, c.acc.ID, storage.RoleIPMSubtree)
	if _, err := c.env.Store.CreateFolder(t.Context(), c.acc.ID, ipm.ID, "From IMAP", ""); err != nil {
		t.Fatal(err)
	}
	c.one(&SeekRowRequest{RequestHeader: hdr(4), Origin: BookmarkBeginning})
	after := c.one(&QueryRowsRequest{RequestHeader: hdr(4), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse).Rows
	if len(after) != before+1 {
		t.Errorf("hierarchy: %d rows, then %d", before, len(after))
	}
	// A paged contents view bookmarks without building.
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 5})
	c.one(&SetColumnsRequest{RequestHeader: hdr(5), PropertyTags: []mp.Tag{mp.PidTagSubject}})
	c.one(&SeekRowRequest{RequestHeader: hdr(5), Origin: BookmarkBeginning, RowCount: 2})
	bm = c.one(&CreateBookmarkRequest{RequestHeader: hdr(5)}).(*CreateBookmarkResponse).Bookmark
	c.one(&SeekRowRequest{RequestHeader: hdr(5), Origin: BookmarkBeginning})
	c.one(&SeekRowBookmarkRequest{RequestHeader: hdr(5), Bookmark: bm})
	if r := c.one(&QueryRowsRequest{RequestHeader: hdr(5), ForwardRead: true, RowCount: 1}).(*QueryRowsResponse).Rows; str(t, r[0], mp.PidTagSubject) != "msg 02" {
		t.Errorf("paged bookmark row %v", subjects(t, r))
	}
	first := messagesIn(t, c.env, c.acc.ID, storage.RoleInbox)[0]
	if _, err := c.env.Store.Expunge(t.Context(), c.acc.ID, first.FolderID, []int64{first.ID}); err != nil {
		t.Fatal(err)
	}
	sb := c.one(&SeekRowBookmarkRequest{RequestHeader: hdr(5), Bookmark: bm}).(*SeekRowBookmarkResponse)
	if sb.RowNoLongerVisible {
		t.Errorf("the bookmarked row moved up one and is still visible")
	}
	if r := c.one(&QueryRowsRequest{RequestHeader: hdr(5), ForwardRead: true, RowCount: 1}).(*QueryRowsResponse).Rows; str(t, r[0], mp.PidTagSubject) != "msg 02" {
		t.Errorf("bookmark after a deletion: %v", subjects(t, r))
	}
}
