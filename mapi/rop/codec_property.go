package rop

import "github.com/pochta/pochta/internal/mapiprop"

// Property ROPs (MS-OXCROPS 2.2.8; semantics in MS-OXCPRPT).

// GetPropertyIdsFromNames flags (MS-OXCPRPT 2.2.12.1).
const GetPropertyIdsCreate uint8 = 0x02

// GetPropertyIdsFromNamesRequest (MS-OXCROPS 2.2.8.1.1).
type GetPropertyIdsFromNamesRequest struct {
	RequestHeader
	Flags         uint8
	PropertyNames []mapiprop.PropertyName
}

func (*GetPropertyIdsFromNamesRequest) RopID() RopID { return RopGetPropertyIdsFromNames }
func (x *GetPropertyIdsFromNamesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.Flags)
	w.PropertyNames(x.PropertyNames)
}
func (x *GetPropertyIdsFromNamesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Flags = r.U8()
	x.PropertyNames = r.PropertyNames()
}

// GetPropertyIdsFromNamesResponse (MS-OXCROPS 2.2.8.1.2). The IDs are also
// sent with ReturnValue ecWarnWithErrors (0 for names that could not be
// mapped, MS-OXCPRPT 3.2.5.8).
type GetPropertyIdsFromNamesResponse struct {
	ResponseHeader
	PropertyIDs []uint16
}

func (*GetPropertyIdsFromNamesResponse) RopID() RopID { return RopGetPropertyIdsFromNames }
func (x *GetPropertyIdsFromNamesResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) || x.ReturnValue == mapiprop.ErrWarnWithErrors {
		putU16s(w, x.PropertyIDs)
	}
}
func (x *GetPropertyIdsFromNamesResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) || x.ReturnValue == mapiprop.ErrWarnWithErrors {
		x.PropertyIDs = getU16s(r)
	}
}

func putU16s(w *mapiprop.Writer, v []uint16) {
	w.U16Len(len(v), "property ID count")
	for _, x := range v {
		w.U16(x)
	}
}

func getU16s(r *mapiprop.Reader) []uint16 {
	n := int(r.U16())
	if n*2 > r.Len() {
		r.Failf("%d property IDs in %d bytes", n, r.Len())
		return nil
	}
	v := make([]uint16, n)
	for i := range v {
		v[i] = r.U16()
	}
	return v
}

// GetNamesFromPropertyIdsRequest (MS-OXCROPS 2.2.8.2.1).
type GetNamesFromPropertyIdsRequest struct {
	RequestHeader
	PropertyIDs []uint16
}

func (*GetNamesFromPropertyIdsRequest) RopID() RopID { return RopGetNamesFromPropertyIds }
func (x *GetNamesFromPropertyIdsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putU16s(w, x.PropertyIDs)
}
func (x *GetNamesFromPropertyIdsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.PropertyIDs = getU16s(r)
}

// GetNamesFromPropertyIdsResponse (MS-OXCROPS 2.2.8.2.2).
type GetNamesFromPropertyIdsResponse struct {
	ResponseHeader
	PropertyNames []mapiprop.PropertyName
}

func (*GetNamesFromPropertyIdsResponse) RopID() RopID { return RopGetNamesFromPropertyIds }
func (x *GetNamesFromPropertyIdsResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.PropertyNames(x.PropertyNames)
	}
}
func (x *GetNamesFromPropertyIdsResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.PropertyNames = r.PropertyNames()
	}
}

// GetPropertiesSpecificRequest (MS-OXCROPS 2.2.8.3.1).
type GetPropertiesSpecificRequest struct {
	RequestHeader
	PropertySizeLimit uint16
	WantUnicode       uint16
	PropertyTags      []Tag
}

func (*GetPropertiesSpecificRequest) RopID() RopID { return RopGetPropertiesSpecific }
func (x *GetPropertiesSpecificRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U16(x.PropertySizeLimit)
	w.U16(x.WantUnicode)
	w.Tags(x.PropertyTags)
}
func (x *GetPropertiesSpecificRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.PropertySizeLimit = r.U16()
	x.WantUnicode = r.U16()
	x.PropertyTags = r.Tags()
}

// GetPropertiesSpecificResponse (MS-OXCROPS 2.2.8.3.2): one row over the
// requested tags. PropertyTags is not on the wire: it is the request's
// list, needed to encode the row and taken from the request when decoding.
type GetPropertiesSpecificResponse struct {
	ResponseHeader
	PropertyTags []Tag
	Row          mapiprop.PropertyRow
}

func (*GetPropertiesSpecificResponse) RopID() RopID { return RopGetPropertiesSpecific }
func (x *GetPropertiesSpecificResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.PropertyRow(x.PropertyTags, x.Row)
	}
}
func (x *GetPropertiesSpecificResponse) decodeResponse(r *mapiprop.Reader, ctx *ResponseContext) {
	if x.get(r) {
		if req, ok := ctx.Request.(*GetPropertiesSpecificRequest); ok {
			x.PropertyTags = req.PropertyTags
		}
		x.Row = r.PropertyRow(x.PropertyTags)
	}
}

// GetPropertiesAllRequest (MS-OXCROPS 2.2.8.4.1).
type GetPropertiesAllRequest struct {
	RequestHeader
	PropertySizeLimit uint16
	WantUnicode       uint16
}

func (*GetPropertiesAllRequest) RopID() RopID { return RopGetPropertiesAll }
func (x *GetPropertiesAllRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U16(x.PropertySizeLimit)
	w.U16(x.WantUnicode)
}
func (x *GetPropertiesAllRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.PropertySizeLimit = r.U16()
	x.WantUnicode = r.U16()
}

// GetPropertiesAllResponse (MS-OXCROPS 2.2.8.4.2).
type GetPropertiesAllResponse struct {
	ResponseHeader
	Properties []mapiprop.Value
}

func (*GetPropertiesAllResponse) RopID() RopID { return RopGetPropertiesAll }
func (x *GetPropertiesAllResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.TaggedValues(x.Properties)
	}
}
func (x *GetPropertiesAllResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Properties = r.TaggedValues()
	}
}

// GetPropertiesListRequest (MS-OXCROPS 2.2.8.5.1).
type GetPropertiesListRequest struct{ RequestHeader }

func (*GetPropertiesListRequest) RopID() RopID { return RopGetPropertiesList }

// GetPropertiesListResponse (MS-OXCROPS 2.2.8.5.2).
type GetPropertiesListResponse struct {
	ResponseHeader
	PropertyTags []Tag
}

func (*GetPropertiesListResponse) RopID() RopID { return RopGetPropertiesList }
func (x *GetPropertiesListResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Tags(x.PropertyTags)
	}
}
func (x *GetPropertiesListResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.PropertyTags = r.Tags()
	}
}

// putSizedValues writes PropertyValueSize, PropertyValueCount and the
// values; the size counts the count field and the values
// (MS-OXCROPS 2.2.8.6.1).
func putSizedValues(w *mapiprop.Writer, vals []mapiprop.Value) {
	at := w.Len()
	w.U16(0)
	w.TaggedValues(vals)
	n := w.Len() - at - 2
	if n > 0xFFFF {
		w.Failf("property values of %d bytes exceed 65535", n)
	}
	w.PatchU16(at, uint16(n))
}

func getSizedValues(r *mapiprop.Reader) []mapiprop.Value {
	s := r.Sub(int(r.U16()))
	vals := s.TaggedValues()
	r.Fail(s.Err())
	return vals
}

// SetPropertiesRequest (MS-OXCROPS 2.2.8.6.1).
type SetPropertiesRequest struct {
	RequestHeader
	Properties []mapiprop.Value
}

func (*SetPropertiesRequest) RopID() RopID { return RopSetProperties }
func (x *SetPropertiesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSizedValues(w, x.Properties)
}
func (x *SetPropertiesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Properties = getSizedValues(r)
}

// ProblemsResponse is the body of ROPs answering with a
// PropertyProblemArray (SetProperties, DeleteProperties and their
// NoReplicate variants).
type ProblemsResponse struct {
	ResponseHeader
	Problems []mapiprop.PropertyProblem
}

func (x *ProblemsResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Problems(x.Problems)
	}
}
func (x *ProblemsResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Problems = r.Problems()
	}
}

// SetPropertiesResponse (MS-OXCROPS 2.2.8.6.2).
type SetPropertiesResponse struct{ ProblemsResponse }

func (*SetPropertiesResponse) RopID() RopID { return RopSetProperties }

// SetPropertiesNoReplicateRequest (MS-OXCROPS 2.2.8.7.1).
type SetPropertiesNoReplicateRequest struct {
	RequestHeader
	Properties []mapiprop.Value
}

func (*SetPropertiesNoReplicateRequest) RopID() RopID { return RopSetPropertiesNoReplicate }
func (x *SetPropertiesNoReplicateRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	putSizedValues(w, x.Properties)
}
func (x *SetPropertiesNoReplicateRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Properties = getSizedValues(r)
}

// SetPropertiesNoReplicateResponse (MS-OXCROPS 2.2.8.7.2).
type SetPropertiesNoReplicateResponse struct{ ProblemsResponse }

func (*SetPropertiesNoReplicateResponse) RopID() RopID { return RopSetPropertiesNoReplicate }

// DeletePropertiesRequest (MS-OXCROPS 2.2.8.8.1).
type DeletePropertiesRequest struct {
	RequestHeader
	PropertyTags []Tag
}

func (*DeletePropertiesRequest) RopID() RopID { return RopDeleteProperties }
func (x *DeletePropertiesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Tags(x.PropertyTags)
}
func (x *DeletePropertiesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.PropertyTags = r.Tags()
}

// DeletePropertiesResponse (MS-OXCROPS 2.2.8.8.2).
type DeletePropertiesResponse struct{ ProblemsResponse }

func (*DeletePropertiesResponse) RopID() RopID { return RopDeleteProperties }

// DeletePropertiesNoReplicateRequest (MS-OXCROPS 2.2.8.9.1).
type DeletePropertiesNoReplicateRequest struct {
	RequestHeader
	PropertyTags []Tag
}

func (*DeletePropertiesNoReplicateRequest) RopID() RopID { return RopDeletePropertiesNoReplicate }
func (x *DeletePropertiesNoReplicateRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Tags(x.PropertyTags)
}
func (x *DeletePropertiesNoReplicateRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.PropertyTags = r.Tags()
}

// DeletePropertiesNoReplicateResponse (MS-OXCROPS 2.2.8.9.2).
type DeletePropertiesNoReplicateResponse struct{ ProblemsResponse }

func (*DeletePropertiesNoReplicateResponse) RopID() RopID { return RopDeletePropertiesNoReplicate }

// QueryNamedProperties flags (MS-OXCPRPT 2.2.9.1).
const (
	QueryNamedNoStrings uint8 = 0x01
	QueryNamedNoIDs     uint8 = 0x02
)

// QueryNamedPropertiesRequest (MS-OXCROPS 2.2.8.10.1); PropertyGUID nil
// means all property sets (HasGuid 0).
type QueryNamedPropertiesRequest struct {
	RequestHeader
	QueryFlags   uint8
	PropertyGUID *GUID
}

func (*QueryNamedPropertiesRequest) RopID() RopID { return RopQueryNamedProperties }
func (x *QueryNamedPropertiesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.QueryFlags)
	if x.PropertyGUID == nil {
		w.U8(0)
		return
	}
	w.U8(1)
	w.GUID(*x.PropertyGUID)
}
func (x *QueryNamedPropertiesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.QueryFlags = r.U8()
	if r.Bool() {
		g := r.GUID()
		x.PropertyGUID = &g
	}
}

// QueryNamedPropertiesResponse (MS-OXCROPS 2.2.8.10.2): PropertyIDs[i] is
// mapped to PropertyNames[i]; both have the same length.
type QueryNamedPropertiesResponse struct {
	ResponseHeader
	PropertyIDs   []uint16
	PropertyNames []mapiprop.PropertyName
}

func (*QueryNamedPropertiesResponse) RopID() RopID { return RopQueryNamedProperties }
func (x *QueryNamedPropertiesResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		if len(x.PropertyIDs) != len(x.PropertyNames) {
			w.Failf("%d property IDs for %d names", len(x.PropertyIDs), len(x.PropertyNames))
		}
		putU16s(w, x.PropertyIDs)
		for _, n := range x.PropertyNames {
			w.PropertyName(n)
		}
	}
}
func (x *QueryNamedPropertiesResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.PropertyIDs = getU16s(r)
		x.PropertyNames = r.PropertyNamesN(len(x.PropertyIDs))
	}
}

// Copy flags of RopCopyProperties and RopCopyTo (MS-OXCPRPT 2.2.10.1).
const (
	CopyFlagMove        uint8 = 0x01
	CopyFlagNoOverwrite uint8 = 0x02
)

// CopyResponse is the body of RopCopyProperties and RopCopyTo: problems on
// success, the 32-bit DestHandleIndex on ecDstNullObject, nothing on other
// failures (MS-OXCROPS 2.2.8.11.2-4).
type CopyResponse struct {
	ResponseHeader
	Problems        []mapiprop.PropertyProblem
	DestHandleIndex uint32
}

func (x *CopyResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Problems(x.Problems)
	} else if x.ReturnValue == mapiprop.ErrDstNullObject {
		w.U32(x.DestHandleIndex)
	}
}
func (x *CopyResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Problems = r.Problems()
	} else if x.ReturnValue == mapiprop.ErrDstNullObject {
		x.DestHandleIndex = r.U32()
	}
}

// CopyPropertiesRequest (MS-OXCROPS 2.2.8.11.1); InputHandleIndex is the
// source (SourceHandleIndex).
type CopyPropertiesRequest struct {
	RequestHeader
	DestHandleIndex  uint8
	WantAsynchronous bool
	CopyFlags        uint8
	PropertyTags     []Tag
}

func (*CopyPropertiesRequest) RopID() RopID { return RopCopyProperties }
func (x *CopyPropertiesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.DestHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.U8(x.CopyFlags)
	w.Tags(x.PropertyTags)
}
func (x *CopyPropertiesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.DestHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.CopyFlags = r.U8()
	x.PropertyTags = r.Tags()
}

// CopyPropertiesResponse (MS-OXCROPS 2.2.8.11.2-4).
type CopyPropertiesResponse struct{ CopyResponse }

func (*CopyPropertiesResponse) RopID() RopID { return RopCopyProperties }

// CopyToRequest (MS-OXCROPS 2.2.8.12.1).
type CopyToRequest struct {
	RequestHeader
	DestHandleIndex  uint8
	WantAsynchronous bool
	WantSubObjects   bool
	CopyFlags        uint8
	ExcludedTags     []Tag
}

func (*CopyToRequest) RopID() RopID { return RopCopyTo }
func (x *CopyToRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.DestHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.Bool(x.WantSubObjects)
	w.U8(x.CopyFlags)
	w.Tags(x.ExcludedTags)
}
func (x *CopyToRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.DestHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.WantSubObjects = r.Bool()
	x.CopyFlags = r.U8()
	x.ExcludedTags = r.Tags()
}

// CopyToResponse (MS-OXCROPS 2.2.8.12.2-4).
type CopyToResponse struct{ CopyResponse }

func (*CopyToResponse) RopID() RopID { return RopCopyTo }

// ProgressRequest (MS-OXCROPS 2.2.8.13.1).
type ProgressRequest struct {
	RequestHeader
	WantCancel bool
}

func (*ProgressRequest) RopID() RopID { return RopProgress }
func (x *ProgressRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Bool(x.WantCancel)
}
func (x *ProgressRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.WantCancel = r.Bool()
}

// ProgressResponse (MS-OXCROPS 2.2.8.13.2).
type ProgressResponse struct {
	ResponseHeader
	LogonID            uint8
	CompletedTaskCount uint32
	TotalTaskCount     uint32
}

func (*ProgressResponse) RopID() RopID { return RopProgress }
func (x *ProgressResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U8(x.LogonID)
		w.U32(x.CompletedTaskCount)
		w.U32(x.TotalTaskCount)
	}
}
func (x *ProgressResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.LogonID = r.U8()
		x.CompletedTaskCount = r.U32()
		x.TotalTaskCount = r.U32()
	}
}
