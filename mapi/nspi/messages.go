package nspi

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/pochta/pochta/internal/mapiprop"
)

// Request types of the NSPI endpoint (MS-OXCMAPIHTTP 2.2.3.3.1, 2.2.5).
// The transport compares X-RequestType without regard to case.
const (
	RequestBind              = "Bind"
	RequestUnbind            = "Unbind"
	RequestCompareMIds       = "CompareMIds"
	RequestDNToMId           = "DNToMId"
	RequestGetMatches        = "GetMatches"
	RequestGetPropList       = "GetPropList"
	RequestGetProps          = "GetProps"
	RequestGetSpecialTable   = "GetSpecialTable"
	RequestGetTemplateInfo   = "GetTemplateInfo"
	RequestModLinkAtt        = "ModLinkAtt"
	RequestModProps          = "ModProps"
	RequestQueryColumns      = "QueryColumns"
	RequestQueryRows         = "QueryRows"
	RequestResolveNames      = "ResolveNames"
	RequestResortRestriction = "ResortRestriction"
	RequestSeekEntries       = "SeekEntries"
	RequestUpdateStat        = "UpdateStat"
	RequestGetMailboxURL     = "GetMailboxUrl"
	RequestGetAddressBookURL = "GetAddressBookUrl"
)

// RequestTypes lists every request type in the order of MS-OXCMAPIHTTP
// 2.2.5.
var RequestTypes = []string{
	RequestBind, RequestUnbind, RequestCompareMIds, RequestDNToMId, RequestGetMatches,
	RequestGetPropList, RequestGetProps, RequestGetSpecialTable, RequestGetTemplateInfo,
	RequestModLinkAtt, RequestModProps, RequestQueryColumns, RequestQueryRows,
	RequestResolveNames, RequestResortRestriction, RequestSeekEntries, RequestUpdateStat,
	RequestGetMailboxURL, RequestGetAddressBookURL,
}

// Message is a request or response body. Optional fields are pointers or
// slices: nil is absent (its Has… byte 0x00), non-nil present, even when
// empty.
type Message interface {
	encode(w *writer)
	decode(r *reader)
}

// ErrMalformed is wrapped by Unmarshal errors.
var ErrMalformed = errors.New("nspi: malformed body")

// Marshal encodes m.
func Marshal(m Message) ([]byte, error) {
	w := newWriter()
	m.encode(w)
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("nspi: encoding %T: %w", m, err)
	}
	return w.Bytes(), nil
}

// Unmarshal decodes b into m, which it first resets. Bytes after the
// auxiliary buffer are ignored: Outlook's Bind probe sends a STAT it marks
// absent.
func Unmarshal(b []byte, m Message) error {
	if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && !v.IsNil() {
		v.Elem().SetZero()
	}
	r := newReader(b)
	m.decode(r)
	if err := r.Err(); err != nil {
		return fmt.Errorf("%w: %T: %w", ErrMalformed, m, err)
	}
	return nil
}

// NewRequest returns an empty request of a type (compared without regard
// to case), or nil for an unknown one.
func NewRequest(requestType string) Message {
	switch canonicalType(requestType) {
	case RequestBind:
		return &BindRequest{}
	case RequestUnbind:
		return &UnbindRequest{}
	case RequestCompareMIds:
		return &CompareMIdsRequest{}
	case RequestDNToMId:
		return &DNToMIdRequest{}
	case RequestGetMatches:
		return &GetMatchesRequest{}
	case RequestGetPropList:
		return &GetPropListRequest{}
	case RequestGetProps:
		return &GetPropsRequest{}
	case RequestGetSpecialTable:
		return &GetSpecialTableRequest{}
	case RequestGetTemplateInfo:
		return &GetTemplateInfoRequest{}
	case RequestModLinkAtt:
		return &ModLinkAttRequest{}
	case RequestModProps:
		return &ModPropsRequest{}
	case RequestQueryColumns:
		return &QueryColumnsRequest{}
	case RequestQueryRows:
		return &QueryRowsRequest{}
	case RequestResolveNames:
		return &ResolveNamesRequest{}
	case RequestResortRestriction:
		return &ResortRestrictionRequest{}
	case RequestSeekEntries:
		return &SeekEntriesRequest{}
	case RequestUpdateStat:
		return &UpdateStatRequest{}
	case RequestGetMailboxURL:
		return &GetMailboxURLRequest{}
	case RequestGetAddressBookURL:
		return &GetAddressBookURLRequest{}
	}
	return nil
}

// NewResponse returns an empty response of a request type, or nil.
func NewResponse(requestType string) Message {
	switch canonicalType(requestType) {
	case RequestBind:
		return &BindResponse{}
	case RequestUnbind:
		return &UnbindResponse{}
	case RequestCompareMIds:
		return &CompareMIdsResponse{}
	case RequestDNToMId:
		return &DNToMIdResponse{}
	case RequestGetMatches:
		return &GetMatchesResponse{}
	case RequestGetPropList:
		return &GetPropListResponse{}
	case RequestGetProps:
		return &GetPropsResponse{}
	case RequestGetSpecialTable:
		return &GetSpecialTableResponse{}
	case RequestGetTemplateInfo:
		return &GetTemplateInfoResponse{}
	case RequestModLinkAtt:
		return &ModLinkAttResponse{}
	case RequestModProps:
		return &ModPropsResponse{}
	case RequestQueryColumns:
		return &QueryColumnsResponse{}
	case RequestQueryRows:
		return &QueryRowsResponse{}
	case RequestResolveNames:
		return &ResolveNamesResponse{}
	case RequestResortRestriction:
		return &ResortRestrictionResponse{}
	case RequestSeekEntries:
		return &SeekEntriesResponse{}
	case RequestUpdateStat:
		return &UpdateStatResponse{}
	case RequestGetMailboxURL:
		return &GetMailboxURLResponse{}
	case RequestGetAddressBookURL:
		return &GetAddressBookURLResponse{}
	}
	return nil
}

// RequestType returns the request type a request or response belongs
// to, or "" for a Message of no request type.
func RequestType(m Message) string {
	t := reflect.TypeOf(m)
	for _, rt := range RequestTypes {
		if reflect.TypeOf(NewRequest(rt)) == t || reflect.TypeOf(NewResponse(rt)) == t {
			return rt
		}
	}
	return ""
}

// canonicalType returns the spelling of RequestTypes for a request type
// in any case, or "" for an unknown one.
func canonicalType(requestType string) string {
	for _, t := range RequestTypes {
		if len(t) == len(requestType) && equalFoldASCII(t, requestType) {
			return t
		}
	}
	return ""
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Result opens every response: StatusCode is the MAPI/HTTP status (0 when
// the request was processed; otherwise the body is a failure response
// holding nothing else but the auxiliary buffer), ErrorCode the NSPI
// return value (MS-OXNSPI 2.2.1.2).
type Result struct {
	StatusCode uint32
	ErrorCode  mapiprop.ErrorCode
}

// Outcome returns the StatusCode and ErrorCode; every response has it.
func (r Result) Outcome() Result { return r }

// encodeResult writes StatusCode and, for a processed request, ErrorCode;
// it reports whether the rest of the response follows.
func (w *writer) result(res Result) bool {
	w.U32(res.StatusCode)
	if res.StatusCode != 0 {
		return false
	}
	w.U32(uint32(res.ErrorCode))
	return true
}

func (r *reader) result(res *Result) bool {
	res.StatusCode = r.U32()
	if res.StatusCode != 0 || r.Err() != nil {
		return false
	}
	res.ErrorCode = mapiprop.ErrorCode(r.U32())
	return r.Err() == nil
}

// BindRequest starts an NSPI session (MS-OXCMAPIHTTP 2.2.5.1.1).
type BindRequest struct {
	Flags uint32 // FlagAnonymousLogin
	State *STAT
	Aux   []byte
}

func (m *BindRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.optStat(m.State)
	w.aux(m.Aux)
}

func (m *BindRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.State = r.optStat()
	m.Aux = r.aux()
}

// BindResponse (2.2.5.1.2) carries the server GUID, the ProviderUID of
// ephemeral entry IDs.
type BindResponse struct {
	Result
	ServerGUID mapiprop.GUID
	Aux        []byte
}

func (m *BindResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.GUID(m.ServerGUID)
	}
	w.aux(m.Aux)
}

func (m *BindResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.ServerGUID = r.GUID()
	}
	m.Aux = r.aux()
}

// UnbindRequest ends an NSPI session (2.2.5.2.1).
type UnbindRequest struct {
	Reserved uint32
	Aux      []byte
}

func (m *UnbindRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.aux(m.Aux)
}

func (m *UnbindRequest) decode(r *reader) {
	m.Reserved = r.U32()
	m.Aux = r.aux()
}

// UnbindResponse (2.2.5.2.2); ErrorCode is ErrUnbindSuccess on success.
type UnbindResponse struct {
	Result
	Aux []byte
}

func (m *UnbindResponse) encode(w *writer) {
	w.result(m.Result)
	w.aux(m.Aux)
}

func (m *UnbindResponse) decode(r *reader) {
	r.result(&m.Result)
	m.Aux = r.aux()
}

// CompareMIdsRequest compares the positions of two MIds (2.2.5.3.1).
type CompareMIdsRequest struct {
	Reserved   uint32
	State      *STAT
	MinimalID1 uint32
	MinimalID2 uint32
	Aux        []byte
}

func (m *CompareMIdsRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.optStat(m.State)
	w.U32(m.MinimalID1)
	w.U32(m.MinimalID2)
	w.aux(m.Aux)
}

func (m *CompareMIdsRequest) decode(r *reader) {
	m.Reserved = r.U32()
	m.State = r.optStat()
	m.MinimalID1 = r.U32()
	m.MinimalID2 = r.U32()
	m.Aux = r.aux()
}

// CompareMIdsResponse (2.2.5.3.2): Result is negative when MinimalID1
// comes first, zero when both are the same row, positive otherwise.
type CompareMIdsResponse struct {
	Result
	Compared int32
	Aux      []byte
}

func (m *CompareMIdsResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.I32(m.Compared)
	}
	w.aux(m.Aux)
}

func (m *CompareMIdsResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.Compared = r.I32()
	}
	m.Aux = r.aux()
}

// DNToMIdRequest maps ESSDNs to MIds (2.2.5.4.1).
type DNToMIdRequest struct {
	Reserved uint32
	Names    []string // 8-bit DNs; nil when absent
	Aux      []byte
}

func (m *DNToMIdRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.has(m.Names != nil)
	if m.Names != nil {
		w.U32(uint32(len(m.Names)))
		for _, n := range m.Names {
			w.ASCIIString(n)
		}
	}
	w.aux(m.Aux)
}

func (m *DNToMIdRequest) decode(r *reader) {
	m.Reserved = r.U32()
	if r.present() {
		n := r.count(1, "names")
		m.Names = make([]string, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			m.Names = append(m.Names, r.ASCIIString())
		}
	}
	m.Aux = r.aux()
}

// DNToMIdResponse (2.2.5.4.2): one MId per name, 0 for unknown ones.
type DNToMIdResponse struct {
	Result
	MinimalIDs []uint32
	Aux        []byte
}

func (m *DNToMIdResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.optMids(m.MinimalIDs)
	}
	w.aux(m.Aux)
}

func (m *DNToMIdResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.MinimalIDs = r.optMids()
	}
	m.Aux = r.aux()
}

// PropertyName names the property GetMatches opens as a table (2.2.5.5.1).
type PropertyName struct {
	GUID       mapiprop.GUID
	PropertyID uint32
}

// GetMatchesRequest restricts a container into an explicit table
// (2.2.5.5.1).
type GetMatchesRequest struct {
	Reserved1            uint32
	State                *STAT
	MinimalIDs           []uint32 // reserved
	InterfaceOptionFlags uint32
	Filter               mapiprop.Restriction
	PropertyName         *PropertyName
	RowCount             uint32
	Columns              []mapiprop.Tag
	Aux                  []byte
}

func (m *GetMatchesRequest) encode(w *writer) {
	w.U32(m.Reserved1)
	w.optStat(m.State)
	w.optMids(m.MinimalIDs)
	w.U32(m.InterfaceOptionFlags)
	w.has(m.Filter != nil)
	if m.Filter != nil {
		w.restriction(m.Filter)
	}
	w.has(m.PropertyName != nil)
	if m.PropertyName != nil {
		w.GUID(m.PropertyName.GUID)
		w.U32(m.PropertyName.PropertyID)
	}
	w.U32(m.RowCount)
	w.optTags(m.Columns)
	w.aux(m.Aux)
}

func (m *GetMatchesRequest) decode(r *reader) {
	m.Reserved1 = r.U32()
	m.State = r.optStat()
	m.MinimalIDs = r.optMids()
	m.InterfaceOptionFlags = r.U32()
	if r.present() {
		m.Filter = r.restriction()
	}
	if r.present() {
		m.PropertyName = &PropertyName{GUID: r.GUID(), PropertyID: r.U32()}
	}
	m.RowCount = r.U32()
	m.Columns = r.optTags()
	m.Aux = r.aux()
}

// GetMatchesResponse (2.2.5.5.2).
type GetMatchesResponse struct {
	Result
	State      *STAT
	MinimalIDs []uint32
	Rows       *RowSet
	Aux        []byte
}

func (m *GetMatchesResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.optStat(m.State)
		w.optMids(m.MinimalIDs)
		w.optRowSet(m.Rows)
	}
	w.aux(m.Aux)
}

func (m *GetMatchesResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.State = r.optStat()
		m.MinimalIDs = r.optMids()
		m.Rows = r.optRowSet()
	}
	m.Aux = r.aux()
}

// GetPropListRequest lists the properties of an object (2.2.5.6.1).
type GetPropListRequest struct {
	Flags     uint32
	MinimalID uint32
	CodePage  uint32
	Aux       []byte
}

func (m *GetPropListRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.U32(m.MinimalID)
	w.U32(m.CodePage)
	w.aux(m.Aux)
}

func (m *GetPropListRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.MinimalID = r.U32()
	m.CodePage = r.U32()
	m.Aux = r.aux()
}

// GetPropListResponse (2.2.5.6.2).
type GetPropListResponse struct {
	Result
	PropertyTags []mapiprop.Tag
	Aux          []byte
}

func (m *GetPropListResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.optTags(m.PropertyTags)
	}
	w.aux(m.Aux)
}

func (m *GetPropListResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.PropertyTags = r.optTags()
	}
	m.Aux = r.aux()
}

// GetPropsRequest reads properties of the object STAT.CurrentRec names
// (2.2.5.7.1).
type GetPropsRequest struct {
	Flags        uint32 // FlagEphID, FlagSkipObjects
	State        *STAT
	PropertyTags []mapiprop.Tag
	Aux          []byte
}

func (m *GetPropsRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.optStat(m.State)
	w.optTags(m.PropertyTags)
	w.aux(m.Aux)
}

func (m *GetPropsRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.State = r.optStat()
	m.PropertyTags = r.optTags()
	m.Aux = r.aux()
}

// GetPropsResponse (2.2.5.7.2): the values, in CodePage for PtypString8.
type GetPropsResponse struct {
	Result
	CodePage uint32
	Values   []mapiprop.Value // nil when absent
	Aux      []byte
}

func (m *GetPropsResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.U32(m.CodePage)
		w.codePage = m.CodePage
		w.has(m.Values != nil)
		if m.Values != nil {
			w.valueList(m.Values)
		}
	}
	w.aux(m.Aux)
}

func (m *GetPropsResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.CodePage = r.U32()
		r.codePage = m.CodePage
		if r.present() {
			m.Values = r.valueList()
		}
	}
	m.Aux = r.aux()
}

// GetSpecialTableRequest reads the address book hierarchy (2.2.5.8.1).
type GetSpecialTableRequest struct {
	Flags   uint32 // FlagCreationTemplates, FlagUnicodeStrings
	State   *STAT
	Version *uint32
	Aux     []byte
}

func (m *GetSpecialTableRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.optStat(m.State)
	w.has(m.Version != nil)
	if m.Version != nil {
		w.U32(*m.Version)
	}
	w.aux(m.Aux)
}

func (m *GetSpecialTableRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.State = r.optStat()
	if r.present() {
		v := r.U32()
		m.Version = &v
	}
	m.Aux = r.aux()
}

// GetSpecialTableResponse (2.2.5.8.2): one property list per container.
type GetSpecialTableResponse struct {
	Result
	CodePage uint32
	Version  *uint32
	Rows     [][]mapiprop.Value // nil when absent
	Aux      []byte
}

func (m *GetSpecialTableResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.U32(m.CodePage)
		w.codePage = m.CodePage
		w.has(m.Version != nil)
		if m.Version != nil {
			w.U32(*m.Version)
		}
		w.has(m.Rows != nil)
		if m.Rows != nil {
			w.U32(uint32(len(m.Rows)))
			for _, row := range m.Rows {
				w.valueList(row)
			}
		}
	}
	w.aux(m.Aux)
}

func (m *GetSpecialTableResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.CodePage = r.U32()
		r.codePage = m.CodePage
		if r.present() {
			v := r.U32()
			m.Version = &v
		}
		if r.present() {
			n := r.count(4, "rows")
			m.Rows = make([][]mapiprop.Value, 0, n)
			for i := 0; i < n && r.Err() == nil; i++ {
				m.Rows = append(m.Rows, r.valueList())
			}
		}
	}
	m.Aux = r.aux()
}

// GetTemplateInfoRequest reads a display or address template (2.2.5.9.1).
type GetTemplateInfoRequest struct {
	Flags       uint32 // FlagTemplate, FlagScript
	DisplayType uint32
	TemplateDN  *string
	CodePage    uint32
	LocaleID    uint32
	Aux         []byte
}

func (m *GetTemplateInfoRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.U32(m.DisplayType)
	w.has(m.TemplateDN != nil)
	if m.TemplateDN != nil {
		w.ASCIIString(*m.TemplateDN)
	}
	w.U32(m.CodePage)
	w.U32(m.LocaleID)
	w.aux(m.Aux)
}

func (m *GetTemplateInfoRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.DisplayType = r.U32()
	if r.present() {
		dn := r.ASCIIString()
		m.TemplateDN = &dn
	}
	m.CodePage = r.U32()
	m.LocaleID = r.U32()
	m.Aux = r.aux()
}

// GetTemplateInfoResponse (2.2.5.9.2).
type GetTemplateInfoResponse struct {
	Result
	CodePage uint32
	Row      []mapiprop.Value // nil when absent
	Aux      []byte
}

func (m *GetTemplateInfoResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.U32(m.CodePage)
		w.codePage = m.CodePage
		w.has(m.Row != nil)
		if m.Row != nil {
			w.valueList(m.Row)
		}
	}
	w.aux(m.Aux)
}

func (m *GetTemplateInfoResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.CodePage = r.U32()
		r.codePage = m.CodePage
		if r.present() {
			m.Row = r.valueList()
		}
	}
	m.Aux = r.aux()
}

// ModLinkAttRequest edits a link attribute (2.2.5.10.1); the entry IDs
// travel as counted binaries.
type ModLinkAttRequest struct {
	Flags       uint32 // FlagModDelete
	PropertyTag mapiprop.Tag
	MinimalID   uint32
	EntryIDs    [][]byte // nil when absent
	Aux         []byte
}

func (m *ModLinkAttRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.U32(uint32(m.PropertyTag))
	w.U32(m.MinimalID)
	w.has(m.EntryIDs != nil)
	if m.EntryIDs != nil {
		w.U32(uint32(len(m.EntryIDs)))
		for _, e := range m.EntryIDs {
			w.binary(e)
		}
	}
	w.aux(m.Aux)
}

func (m *ModLinkAttRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.PropertyTag = mapiprop.Tag(r.U32())
	m.MinimalID = r.U32()
	if r.present() {
		n := r.count(4, "entry IDs")
		m.EntryIDs = make([][]byte, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			m.EntryIDs = append(m.EntryIDs, r.binary())
		}
	}
	m.Aux = r.aux()
}

// ModLinkAttResponse (2.2.5.10.2).
type ModLinkAttResponse struct {
	Result
	Aux []byte
}

func (m *ModLinkAttResponse) encode(w *writer) {
	w.result(m.Result)
	w.aux(m.Aux)
}

func (m *ModLinkAttResponse) decode(r *reader) {
	r.result(&m.Result)
	m.Aux = r.aux()
}

// ModPropsRequest edits properties of an object (2.2.5.11.1).
type ModPropsRequest struct {
	Reserved             uint32
	State                *STAT
	PropertyTagsToRemove []mapiprop.Tag
	Values               []mapiprop.Value // nil when absent
	Aux                  []byte
}

func (m *ModPropsRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.optStat(m.State)
	w.optTags(m.PropertyTagsToRemove)
	w.has(m.Values != nil)
	if m.Values != nil {
		w.valueList(m.Values)
	}
	w.aux(m.Aux)
}

func (m *ModPropsRequest) decode(r *reader) {
	m.Reserved = r.U32()
	m.State = r.optStat()
	m.PropertyTagsToRemove = r.optTags()
	if r.present() {
		m.Values = r.valueList()
	}
	m.Aux = r.aux()
}

// ModPropsResponse (2.2.5.11.2).
type ModPropsResponse struct {
	Result
	Aux []byte
}

func (m *ModPropsResponse) encode(w *writer) {
	w.result(m.Result)
	w.aux(m.Aux)
}

func (m *ModPropsResponse) decode(r *reader) {
	r.result(&m.Result)
	m.Aux = r.aux()
}

// QueryColumnsRequest lists the columns the server knows (2.2.5.12.1).
type QueryColumnsRequest struct {
	Reserved  uint32
	MapiFlags uint32 // FlagUnicodeProptypes
	Aux       []byte
}

func (m *QueryColumnsRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.U32(m.MapiFlags)
	w.aux(m.Aux)
}

func (m *QueryColumnsRequest) decode(r *reader) {
	m.Reserved = r.U32()
	m.MapiFlags = r.U32()
	m.Aux = r.aux()
}

// QueryColumnsResponse (2.2.5.12.2).
type QueryColumnsResponse struct {
	Result
	Columns []mapiprop.Tag
	Aux     []byte
}

func (m *QueryColumnsResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.optTags(m.Columns)
	}
	w.aux(m.Aux)
}

func (m *QueryColumnsResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.Columns = r.optTags()
	}
	m.Aux = r.aux()
}

// QueryRowsRequest reads rows of a container or of an explicit table
// (2.2.5.13.1). The explicit table has no presence byte: an empty one
// walks the container.
type QueryRowsRequest struct {
	Flags         uint32 // FlagSkipObjects, FlagEphID
	State         *STAT
	ExplicitTable []uint32
	RowCount      uint32
	Columns       []mapiprop.Tag
	Aux           []byte
}

func (m *QueryRowsRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.optStat(m.State)
	w.mids(m.ExplicitTable)
	w.U32(m.RowCount)
	w.optTags(m.Columns)
	w.aux(m.Aux)
}

func (m *QueryRowsRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.State = r.optStat()
	m.ExplicitTable = r.mids()
	m.RowCount = r.U32()
	m.Columns = r.optTags()
	m.Aux = r.aux()
}

// QueryRowsResponse (2.2.5.13.2).
type QueryRowsResponse struct {
	Result
	State *STAT
	Rows  *RowSet
	Aux   []byte
}

func (m *QueryRowsResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.optStat(m.State)
		w.optRowSet(m.Rows)
	}
	w.aux(m.Aux)
}

func (m *QueryRowsResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.State = r.optStat()
		m.Rows = r.optRowSet()
	}
	m.Aux = r.aux()
}

// ResolveNamesRequest performs ambiguous name resolution (2.2.5.14.1).
// Outlook sends Reserved 0x80000000 although the spec says 0.
type ResolveNamesRequest struct {
	Reserved     uint32
	State        *STAT
	PropertyTags []mapiprop.Tag
	Names        []string // UTF-16 on the wire; nil when absent
	Aux          []byte
}

func (m *ResolveNamesRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.optStat(m.State)
	w.optTags(m.PropertyTags)
	w.has(m.Names != nil)
	if m.Names != nil {
		w.U32(uint32(len(m.Names)))
		for _, n := range m.Names {
			w.UTF16String(n)
		}
	}
	w.aux(m.Aux)
}

func (m *ResolveNamesRequest) decode(r *reader) {
	m.Reserved = r.U32()
	m.State = r.optStat()
	m.PropertyTags = r.optTags()
	if r.present() {
		n := r.count(2, "names")
		m.Names = make([]string, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			m.Names = append(m.Names, r.UTF16String())
		}
	}
	m.Aux = r.aux()
}

// ResolveNamesResponse (2.2.5.14.2): one MId per name (MIdResolved,
// MIdAmbiguous, MIdUnresolved) and a row per resolved name, in order.
type ResolveNamesResponse struct {
	Result
	CodePage   uint32
	MinimalIDs []uint32
	Rows       *RowSet
	Aux        []byte
}

func (m *ResolveNamesResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.U32(m.CodePage)
		w.codePage = m.CodePage
		w.optMids(m.MinimalIDs)
		w.optRowSet(m.Rows)
	}
	w.aux(m.Aux)
}

func (m *ResolveNamesResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.CodePage = r.U32()
		r.codePage = m.CodePage
		m.MinimalIDs = r.optMids()
		m.Rows = r.optRowSet()
	}
	m.Aux = r.aux()
}

// ResortRestrictionRequest sorts an explicit table (2.2.5.15.1).
type ResortRestrictionRequest struct {
	Reserved   uint32
	State      *STAT
	MinimalIDs []uint32
	Aux        []byte
}

func (m *ResortRestrictionRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.optStat(m.State)
	w.optMids(m.MinimalIDs)
	w.aux(m.Aux)
}

func (m *ResortRestrictionRequest) decode(r *reader) {
	m.Reserved = r.U32()
	m.State = r.optStat()
	m.MinimalIDs = r.optMids()
	m.Aux = r.aux()
}

// ResortRestrictionResponse (2.2.5.15.2).
type ResortRestrictionResponse struct {
	Result
	State      *STAT
	MinimalIDs []uint32
	Aux        []byte
}

func (m *ResortRestrictionResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.optStat(m.State)
		w.optMids(m.MinimalIDs)
	}
	w.aux(m.Aux)
}

func (m *ResortRestrictionResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.State = r.optStat()
		m.MinimalIDs = r.optMids()
	}
	m.Aux = r.aux()
}

// SeekEntriesRequest moves to the first row not before a value
// (2.2.5.16.1).
type SeekEntriesRequest struct {
	Reserved      uint32
	State         *STAT
	Target        *mapiprop.Value
	ExplicitTable []uint32
	Columns       []mapiprop.Tag
	Aux           []byte
}

func (m *SeekEntriesRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.optStat(m.State)
	w.has(m.Target != nil)
	if m.Target != nil {
		w.taggedValue(*m.Target)
	}
	w.optMids(m.ExplicitTable)
	w.optTags(m.Columns)
	w.aux(m.Aux)
}

func (m *SeekEntriesRequest) decode(r *reader) {
	m.Reserved = r.U32()
	m.State = r.optStat()
	if r.present() {
		v := r.taggedValue()
		m.Target = &v
	}
	m.ExplicitTable = r.optMids()
	m.Columns = r.optTags()
	m.Aux = r.aux()
}

// SeekEntriesResponse (2.2.5.16.2).
type SeekEntriesResponse struct {
	Result
	State *STAT
	Rows  *RowSet
	Aux   []byte
}

func (m *SeekEntriesResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.optStat(m.State)
		w.optRowSet(m.Rows)
	}
	w.aux(m.Aux)
}

func (m *SeekEntriesResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.State = r.optStat()
		m.Rows = r.optRowSet()
	}
	m.Aux = r.aux()
}

// UpdateStatRequest moves the table position without reading rows
// (2.2.5.17.1).
type UpdateStatRequest struct {
	Reserved       uint32
	State          *STAT
	DeltaRequested bool
	Aux            []byte
}

func (m *UpdateStatRequest) encode(w *writer) {
	w.U32(m.Reserved)
	w.optStat(m.State)
	w.Bool(m.DeltaRequested)
	w.aux(m.Aux)
}

func (m *UpdateStatRequest) decode(r *reader) {
	m.Reserved = r.U32()
	m.State = r.optStat()
	m.DeltaRequested = r.U8() != 0
	m.Aux = r.aux()
}

// UpdateStatResponse (2.2.5.17.2): Delta is the number of rows moved.
type UpdateStatResponse struct {
	Result
	State *STAT
	Delta *int32
	Aux   []byte
}

func (m *UpdateStatResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.optStat(m.State)
		w.has(m.Delta != nil)
		if m.Delta != nil {
			w.I32(*m.Delta)
		}
	}
	w.aux(m.Aux)
}

func (m *UpdateStatResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.State = r.optStat()
		if r.present() {
			d := r.I32()
			m.Delta = &d
		}
	}
	m.Aux = r.aux()
}

// GetMailboxURLRequest asks where a mailbox's EMSMDB endpoint is
// (2.2.5.18.1).
type GetMailboxURLRequest struct {
	Flags    uint32
	ServerDN string
	Aux      []byte
}

func (m *GetMailboxURLRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.UTF16String(m.ServerDN)
	w.aux(m.Aux)
}

func (m *GetMailboxURLRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.ServerDN = r.UTF16String()
	m.Aux = r.aux()
}

// GetMailboxURLResponse (2.2.5.18.2).
type GetMailboxURLResponse struct {
	Result
	ServerURL string
	Aux       []byte
}

func (m *GetMailboxURLResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.UTF16String(m.ServerURL)
	}
	w.aux(m.Aux)
}

func (m *GetMailboxURLResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.ServerURL = r.UTF16String()
	}
	m.Aux = r.aux()
}

// GetAddressBookURLRequest asks where a user's NSPI endpoint is
// (2.2.5.19.1).
type GetAddressBookURLRequest struct {
	Flags  uint32
	UserDN string
	Aux    []byte
}

func (m *GetAddressBookURLRequest) encode(w *writer) {
	w.U32(m.Flags)
	w.UTF16String(m.UserDN)
	w.aux(m.Aux)
}

func (m *GetAddressBookURLRequest) decode(r *reader) {
	m.Flags = r.U32()
	m.UserDN = r.UTF16String()
	m.Aux = r.aux()
}

// GetAddressBookURLResponse (2.2.5.19.2).
type GetAddressBookURLResponse struct {
	Result
	ServerURL string
	Aux       []byte
}

func (m *GetAddressBookURLResponse) encode(w *writer) {
	if w.result(m.Result) {
		w.UTF16String(m.ServerURL)
	}
	w.aux(m.Aux)
}

func (m *GetAddressBookURLResponse) decode(r *reader) {
	if r.result(&m.Result) {
		m.ServerURL = r.UTF16String()
	}
	m.Aux = r.aux()
}
