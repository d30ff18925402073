package rop

import "github.com/pochta/pochta/internal/mapiprop"

// Table ROPs (MS-OXCROPS 2.2.5; semantics in MS-OXCTABL).

// Table status values (MS-OXCTABL 2.2.2.1.3).
const (
	TableStatusComplete      uint8 = 0x00
	TableStatusQChanged      uint8 = 0x07
	TableStatusSorting       uint8 = 0x09
	TableStatusSortError     uint8 = 0x0A
	TableStatusSettingCols   uint8 = 0x0B
	TableStatusSetColError   uint8 = 0x0D
	TableStatusRestricting   uint8 = 0x0E
	TableStatusRestrictError uint8 = 0x0F
)

// Bookmarks / seek origins (MS-OXCTABL 2.2.2.1.1).
const (
	BookmarkBeginning uint8 = 0x00
	BookmarkCurrent   uint8 = 0x01
	BookmarkEnd       uint8 = 0x02
	BookmarkCustom    uint8 = 0x03
)

// Asynchronous flags of SetColumns, SortTable and Restrict
// (MS-OXCTABL 2.2.2.1.4).
const TableAsync uint8 = 0x01

// QueryRows flags (MS-OXCTABL 2.2.2.5.1).
const (
	QueryRowsAdvance             uint8 = 0x00
	QueryRowsNoAdvance           uint8 = 0x01
	QueryRowsEnablePackedBuffers uint8 = 0x02
)

// FindRow flags (MS-OXCTABL 2.2.2.14.1).
const FindRowBackward uint8 = 0x01

func putSized(w *mapiprop.Writer, b []byte, what string) {
	w.U16Len(len(b), what)
	w.Raw(b)
}

func getSized(r *mapiprop.Reader) []byte { return r.Bytes(int(r.U16())) }

// TableStatusResponse is the body of RopSetColumns, RopSortTable,
// RopRestrict, RopAbort and RopGetStatus.
type TableStatusResponse struct {
	ResponseHeader
	TableStatus uint8
}

func (x *TableStatusResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U8(x.TableStatus)
	}
}
func (x *TableStatusResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.TableStatus = r.U8()
	}
}

// SetColumnsRequest (MS-OXCROPS 2.2.5.1.1).
type SetColumnsRequest struct {
	RequestHeader
	SetColumnsFlags uint8
	PropertyTags    []Tag
}

func (*SetColumnsRequest) RopID() RopID { return RopSetColumns }
func (x *SetColumnsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.SetColumnsFlags)
	w.Tags(x.PropertyTags)
}
func (x *SetColumnsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.SetColumnsFlags = r.U8()
	x.PropertyTags = r.Tags()
}

// SetColumnsResponse (MS-OXCROPS 2.2.5.1.2).
type SetColumnsResponse struct{ TableStatusResponse }

func (*SetColumnsResponse) RopID() RopID { return RopSetColumns }

// SortTableRequest (MS-OXCROPS 2.2.5.2.1).
type SortTableRequest struct {
	RequestHeader
	SortTableFlags uint8
	SortOrderSet   mapiprop.SortOrderSet
}

func (*SortTableRequest) RopID() RopID { return RopSortTable }
func (x *SortTableRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.SortTableFlags)
	w.SortOrderSet(x.SortOrderSet)
}
func (x *SortTableRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.SortTableFlags = r.U8()
	x.SortOrderSet = r.SortOrderSet()
}

// SortTableResponse (MS-OXCROPS 2.2.5.2.2).
type SortTableResponse struct{ TableStatusResponse }

func (*SortTableResponse) RopID() RopID { return RopSortTable }

// RestrictRequest (MS-OXCROPS 2.2.5.3.1); a nil Restriction removes the
// table's restriction.
type RestrictRequest struct {
	RequestHeader
	RestrictFlags uint8
	Restriction   mapiprop.Restriction
}

func (*RestrictRequest) RopID() RopID { return RopRestrict }
func (x *RestrictRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.RestrictFlags)
	w.SizedRestriction(x.Restriction)
}
func (x *RestrictRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.RestrictFlags = r.U8()
	x.Restriction = r.SizedRestriction()
}

// RestrictResponse (MS-OXCROPS 2.2.5.3.2).
type RestrictResponse struct{ TableStatusResponse }

func (*RestrictResponse) RopID() RopID { return RopRestrict }

// QueryRowsRequest (MS-OXCROPS 2.2.5.4.1).
type QueryRowsRequest struct {
	RequestHeader
	QueryRowsFlags uint8
	ForwardRead    bool
	RowCount       uint16
}

func (*QueryRowsRequest) RopID() RopID { return RopQueryRows }
func (x *QueryRowsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.QueryRowsFlags)
	w.Bool(x.ForwardRead)
	w.U16(x.RowCount)
}
func (x *QueryRowsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.QueryRowsFlags = r.U8()
	x.ForwardRead = r.Bool()
	x.RowCount = r.U16()
}

// QueryRowsResponse (MS-OXCROPS 2.2.5.4.2). Columns is not on the wire: it
// is the table's column set, needed to encode the rows and filled from the
// ResponseContext when decoding.
type QueryRowsResponse struct {
	ResponseHeader
	Origin  uint8
	Columns []Tag
	Rows    []mapiprop.PropertyRow
}

func (*QueryRowsResponse) RopID() RopID { return RopQueryRows }
func (x *QueryRowsResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U8(x.Origin)
		w.U16Len(len(x.Rows), "row count")
		w.PropertyRows(x.Columns, x.Rows)
	}
}
func (x *QueryRowsResponse) decodeResponse(r *mapiprop.Reader, ctx *ResponseContext) {
	if x.get(r) {
		x.Origin = r.U8()
		n := int(r.U16())
		x.Columns = ctx.Columns
		if n > 0 && len(x.Columns) == 0 {
			r.Failf("RopQueryRows rows without the table's column set")
			return
		}
		x.Rows = r.PropertyRows(x.Columns, n)
	}
}

// AbortRequest (MS-OXCROPS 2.2.5.5.1).
type AbortRequest struct{ RequestHeader }

func (*AbortRequest) RopID() RopID { return RopAbort }

// AbortResponse (MS-OXCROPS 2.2.5.5.2).
type AbortResponse struct{ TableStatusResponse }

func (*AbortResponse) RopID() RopID { return RopAbort }

// GetStatusRequest (MS-OXCROPS 2.2.5.6.1).
type GetStatusRequest struct{ RequestHeader }

func (*GetStatusRequest) RopID() RopID { return RopGetStatus }

// GetStatusResponse (MS-OXCROPS 2.2.5.6.2).
type GetStatusResponse struct{ TableStatusResponse }

func (*GetStatusResponse) RopID() RopID { return RopGetStatus }

// QueryPositionRequest (MS-OXCROPS 2.2.5.7.1).
type QueryPositionRequest struct{ RequestHeader }

func (*QueryPositionRequest) RopID() RopID { return RopQueryPosition }

// QueryPositionResponse (MS-OXCROPS 2.2.5.7.2): the cursor position and
// the number of rows.
type QueryPositionResponse struct {
	ResponseHeader
	Numerator   uint32
	Denominator uint32
}

func (*QueryPositionResponse) RopID() RopID { return RopQueryPosition }
func (x *QueryPositionResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(x.Numerator)
		w.U32(x.Denominator)
	}
}
func (x *QueryPositionResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Numerator = r.U32()
		x.Denominator = r.U32()
	}
}

// SeekRowRequest (MS-OXCROPS 2.2.5.8.1).
type SeekRowRequest struct {
	RequestHeader
	Origin            uint8
	RowCount          int32
	WantRowMovedCount bool
}

func (*SeekRowRequest) RopID() RopID { return RopSeekRow }
func (x *SeekRowRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.Origin)
	w.I32(x.RowCount)
	w.Bool(x.WantRowMovedCount)
}
func (x *SeekRowRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Origin = r.U8()
	x.RowCount = r.I32()
	x.WantRowMovedCount = r.Bool()
}

// SeekRowResponse (MS-OXCROPS 2.2.5.8.2).
type SeekRowResponse struct {
	ResponseHeader
	HasSoughtLess bool
	RowsSought    int32
}

func (*SeekRowResponse) RopID() RopID { return RopSeekRow }
func (x *SeekRowResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Bool(x.HasSoughtLess)
		w.I32(x.RowsSought)
	}
}
func (x *SeekRowResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.HasSoughtLess = r.Bool()
		x.RowsSought = r.I32()
	}
}

// SeekRowBookmarkRequest (MS-OXCROPS 2.2.5.9.1).
type SeekRowBookmarkRequest struct {
	RequestHeader
	Bookmark          []byte
	RowCount          int32
	WantRowMovedCount bool
}

func (*SeekRowBookmarkRequest) RopID() RopID { return RopSeekRowBookmark }
func (x *SeekRowBookmarkRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSized(w, x.Bookmark, "bookmark")
	w.I32(x.RowCount)
	w.Bool(x.WantRowMovedCount)
}
func (x *SeekRowBookmarkRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Bookmark = getSized(r)
	x.RowCount = r.I32()
	x.WantRowMovedCount = r.Bool()
}

// SeekRowBookmarkResponse (MS-OXCROPS 2.2.5.9.2).
type SeekRowBookmarkResponse struct {
	ResponseHeader
	RowNoLongerVisible bool
	HasSoughtLess      bool
	RowsSought         int32
}

func (*SeekRowBookmarkResponse) RopID() RopID { return RopSeekRowBookmark }
func (x *SeekRowBookmarkResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Bool(x.RowNoLongerVisible)
		w.Bool(x.HasSoughtLess)
		w.I32(x.RowsSought)
	}
}
func (x *SeekRowBookmarkResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.RowNoLongerVisible = r.Bool()
		x.HasSoughtLess = r.Bool()
		x.RowsSought = r.I32()
	}
}

// SeekRowFractionalRequest (MS-OXCROPS 2.2.5.10.1).
type SeekRowFractionalRequest struct {
	RequestHeader
	Numerator   uint32
	Denominator uint32
}

func (*SeekRowFractionalRequest) RopID() RopID { return RopSeekRowFractional }
func (x *SeekRowFractionalRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U32(x.Numerator)
	w.U32(x.Denominator)
}
func (x *SeekRowFractionalRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Numerator = r.U32()
	x.Denominator = r.U32()
}

// SeekRowFractionalResponse (MS-OXCROPS 2.2.5.10.2).
type SeekRowFractionalResponse struct{ ResponseHeader }

func (*SeekRowFractionalResponse) RopID() RopID { return RopSeekRowFractional }

// CreateBookmarkRequest (MS-OXCROPS 2.2.5.11.1).
type CreateBookmarkRequest struct{ RequestHeader }

func (*CreateBookmarkRequest) RopID() RopID { return RopCreateBookmark }

// CreateBookmarkResponse (MS-OXCROPS 2.2.5.11.2).
type CreateBookmarkResponse struct {
	ResponseHeader
	Bookmark []byte
}

func (*CreateBookmarkResponse) RopID() RopID { return RopCreateBookmark }
func (x *CreateBookmarkResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		putSized(w, x.Bookmark, "bookmark")
	}
}
func (x *CreateBookmarkResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Bookmark = getSized(r)
	}
}

// QueryColumnsAllRequest (MS-OXCROPS 2.2.5.12.1).
type QueryColumnsAllRequest struct{ RequestHeader }

func (*QueryColumnsAllRequest) RopID() RopID { return RopQueryColumnsAll }

// QueryColumnsAllResponse (MS-OXCROPS 2.2.5.12.2).
type QueryColumnsAllResponse struct {
	ResponseHeader
	PropertyTags []Tag
}

func (*QueryColumnsAllResponse) RopID() RopID { return RopQueryColumnsAll }
func (x *QueryColumnsAllResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Tags(x.PropertyTags)
	}
}
func (x *QueryColumnsAllResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.PropertyTags = r.Tags()
	}
}

// FindRowRequest (MS-OXCROPS 2.2.5.13.1). Bookmark is used when Origin is
// BookmarkCustom.
type FindRowRequest struct {
	RequestHeader
	FindRowFlags uint8
	Restriction  mapiprop.Restriction
	Origin       uint8
	Bookmark     []byte
}

func (*FindRowRequest) RopID() RopID { return RopFindRow }
func (x *FindRowRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.FindRowFlags)
	w.SizedRestriction(x.Restriction)
	w.U8(x.Origin)
	putSized(w, x.Bookmark, "bookmark")
}
func (x *FindRowRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.FindRowFlags = r.U8()
	x.Restriction = r.SizedRestriction()
	x.Origin = r.U8()
	x.Bookmark = getSized(r)
}

// FindRowResponse (MS-OXCROPS 2.2.5.13.2). Row is nil when no row matched
// (HasRowData 0). Columns is not on the wire; see QueryRowsResponse.
type FindRowResponse struct {
	ResponseHeader
	RowNoLongerVisible bool
	Columns            []Tag
	Row                *mapiprop.PropertyRow
}

func (*FindRowResponse) RopID() RopID { return RopFindRow }
func (x *FindRowResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Bool(x.RowNoLongerVisible)
		if x.Row == nil {
			w.U8(0)
			return
		}
		w.U8(1)
		w.PropertyRow(x.Columns, *x.Row)
	}
}
func (x *FindRowResponse) decodeResponse(r *mapiprop.Reader, ctx *ResponseContext) {
	if x.get(r) {
		x.RowNoLongerVisible = r.Bool()
		x.Columns = ctx.Columns
		if r.Bool() {
			if len(x.Columns) == 0 {
				r.Failf("RopFindRow row without the table's column set")
				return
			}
			row := r.PropertyRow(x.Columns)
			x.Row = &row
		}
	}
}

// FreeBookmarkRequest (MS-OXCROPS 2.2.5.14.1).
type FreeBookmarkRequest struct {
	RequestHeader
	Bookmark []byte
}

func (*FreeBookmarkRequest) RopID() RopID { return RopFreeBookmark }
func (x *FreeBookmarkRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSized(w, x.Bookmark, "bookmark")
}
func (x *FreeBookmarkRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Bookmark = getSized(r)
}

// FreeBookmarkResponse (MS-OXCROPS 2.2.5.14.2).
type FreeBookmarkResponse struct{ ResponseHeader }

func (*FreeBookmarkResponse) RopID() RopID { return RopFreeBookmark }

// ResetTableRequest (MS-OXCROPS 2.2.5.15.1).
type ResetTableRequest struct{ RequestHeader }

func (*ResetTableRequest) RopID() RopID { return RopResetTable }

// ResetTableResponse (MS-OXCROPS 2.2.5.15.2).
type ResetTableResponse struct{ ResponseHeader }

func (*ResetTableResponse) RopID() RopID { return RopResetTable }

// ExpandRowRequest (MS-OXCROPS 2.2.5.16.1).
type ExpandRowRequest struct {
	RequestHeader
	MaxRowCount uint16
	CategoryID  uint64
}

func (*ExpandRowRequest) RopID() RopID { return RopExpandRow }
func (x *ExpandRowRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U16(x.MaxRowCount)
	w.U64(x.CategoryID)
}
func (x *ExpandRowRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.MaxRowCount = r.U16()
	x.CategoryID = r.U64()
}

// ExpandRowResponse (MS-OXCROPS 2.2.5.16.2). Columns is not on the wire;
// see QueryRowsResponse.
type ExpandRowResponse struct {
	ResponseHeader
	ExpandedRowCount uint32
	Columns          []Tag
	Rows             []mapiprop.PropertyRow
}

func (*ExpandRowResponse) RopID() RopID { return RopExpandRow }
func (x *ExpandRowResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(x.ExpandedRowCount)
		w.U16Len(len(x.Rows), "row count")
		w.PropertyRows(x.Columns, x.Rows)
	}
}
func (x *ExpandRowResponse) decodeResponse(r *mapiprop.Reader, ctx *ResponseContext) {
	if x.get(r) {
		x.ExpandedRowCount = r.U32()
		n := int(r.U16())
		x.Columns = ctx.Columns
		if n > 0 && len(x.Columns) == 0 {
			r.Failf("RopExpandRow rows without the table's column set")
			return
		}
		x.Rows = r.PropertyRows(x.Columns, n)
	}
}

// CollapseRowRequest (MS-OXCROPS 2.2.5.17.1).
type CollapseRowRequest struct {
	RequestHeader
	CategoryID uint64
}

func (*CollapseRowRequest) RopID() RopID { return RopCollapseRow }
func (x *CollapseRowRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(x.CategoryID)
}
func (x *CollapseRowRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.CategoryID = r.U64()
}

// CollapseRowResponse (MS-OXCROPS 2.2.5.17.2).
type CollapseRowResponse struct {
	ResponseHeader
	CollapsedRowCount uint32
}

func (*CollapseRowResponse) RopID() RopID { return RopCollapseRow }
func (x *CollapseRowResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(x.CollapsedRowCount)
	}
}
func (x *CollapseRowResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.CollapsedRowCount = r.U32()
	}
}

// GetCollapseStateRequest (MS-OXCROPS 2.2.5.18.1).
type GetCollapseStateRequest struct {
	RequestHeader
	RowID             uint64
	RowInstanceNumber uint32
}

func (*GetCollapseStateRequest) RopID() RopID { return RopGetCollapseState }
func (x *GetCollapseStateRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(x.RowID)
	w.U32(x.RowInstanceNumber)
}
func (x *GetCollapseStateRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.RowID = r.U64()
	x.RowInstanceNumber = r.U32()
}

// GetCollapseStateResponse (MS-OXCROPS 2.2.5.18.2).
type GetCollapseStateResponse struct {
	ResponseHeader
	CollapseState []byte
}

func (*GetCollapseStateResponse) RopID() RopID { return RopGetCollapseState }
func (x *GetCollapseStateResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		putSized(w, x.CollapseState, "collapse state")
	}
}
func (x *GetCollapseStateResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.CollapseState = getSized(r)
	}
}

// SetCollapseStateRequest (MS-OXCROPS 2.2.5.19.1).
type SetCollapseStateRequest struct {
	RequestHeader
	CollapseState []byte
}

func (*SetCollapseStateRequest) RopID() RopID { return RopSetCollapseState }
func (x *SetCollapseStateRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSized(w, x.CollapseState, "collapse state")
}
func (x *SetCollapseStateRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.CollapseState = getSized(r)
}

// SetCollapseStateResponse (MS-OXCROPS 2.2.5.19.2).
type SetCollapseStateResponse struct {
	ResponseHeader
	Bookmark []byte
}

func (*SetCollapseStateResponse) RopID() RopID { return RopSetCollapseState }
func (x *SetCollapseStateResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		putSized(w, x.Bookmark, "bookmark")
	}
}
func (x *SetCollapseStateResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Bookmark = getSized(r)
	}
}
