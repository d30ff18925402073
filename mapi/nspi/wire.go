package nspi

import (
	"fmt"
	"time"

	"github.com/pochta/pochta/internal/mapiprop"
)

// STAT is the table position of NSPI calls (MS-OXNSPI 2.2.8), 36 bytes on
// the wire.
type STAT struct {
	SortType       uint32
	ContainerID    uint32 // MId of the container; 0 is the Global Address List
	CurrentRec     uint32 // MId of the current row, or MIdBeginningOfTable/MIdCurrent/MIdEndOfTable
	Delta          int32
	NumPos         uint32
	TotalRecs      uint32
	CodePage       uint32
	TemplateLocale uint32
	SortLocale     uint32
}

// statSize is the wire size of a STAT.
const statSize = 36

// Positions in STAT.CurrentRec (MS-OXNSPI 2.2.1.8).
const (
	MIdBeginningOfTable uint32 = 0x0
	MIdCurrent          uint32 = 0x1
	MIdEndOfTable       uint32 = 0x2
)

// Results of ambiguous name resolution (MS-OXNSPI 2.2.1.9).
const (
	MIdUnresolved uint32 = 0x0
	MIdAmbiguous  uint32 = 0x1
	MIdResolved   uint32 = 0x2
)

// Sort types of STAT.SortType (MS-OXNSPI 2.2.1.10).
const (
	SortTypeDisplayName         uint32 = 0x00000000
	SortTypePhoneticDisplayName uint32 = 0x00000003
	SortTypeDisplayNameRO       uint32 = 0x000003E8
	SortTypeDisplayNameW        uint32 = 0x000003E9
)

// Flags of Bind, QueryRows, GetProps, GetSpecialTable, QueryColumns and
// GetTemplateInfo (MS-OXNSPI 2.2.1.x).
const (
	FlagAnonymousLogin      uint32 = 0x00000020 // Bind: fAnonymousLogin
	FlagSkipObjects         uint32 = 0x00000001 // fSkipObjects
	FlagEphID               uint32 = 0x00000002 // fEphID: ephemeral entry IDs
	FlagCreationTemplates   uint32 = 0x00000002 // GetSpecialTable: NspiAddressCreationTemplates
	FlagUnicodeStrings      uint32 = 0x00000004 // GetSpecialTable: NspiUnicodeStrings
	FlagUnicodeProptypes    uint32 = 0x80000000 // QueryColumns: NspiUnicodeProptypes
	FlagTemplate            uint32 = 0x00000001 // GetTemplateInfo: TI_TEMPLATE
	FlagScript              uint32 = 0x00000004 // GetTemplateInfo: TI_SCRIPT
	FlagModDelete           uint32 = 0x00000001 // ModLinkAtt: fDelete
	CodePageWinUnicode      uint32 = 1200       // CP_WINUNICODE, refused by Bind
	maxColumns                     = 100        // more columns answer ecTableTooBig (MS-OXNSPI 3.1.4.1.8)
	maxRestrictionDepth            = 32
	hasValuePresent         uint8  = 0xFF
	hasValueAbsent          uint8  = 0x00
	flaggedValue            uint8  = 0x00
	flaggedUnavailable      uint8  = 0x01
	flaggedError            uint8  = 0x0A
	rowFlagStandard         uint8  = 0x00
	rowFlagFlagged          uint8  = 0x01
	propTypeUnspecified            = mapiprop.PtypUnspecified
	propTypeErrorCode              = mapiprop.PtypErrorCode
	propTypeNull                   = mapiprop.PtypNull
	propTypeString                 = mapiprop.PtypString
	propTypeString8                = mapiprop.PtypString8
	propTypeBinary                 = mapiprop.PtypBinary
	propTypeMultipleString         = mapiprop.PtypMultipleString
	propTypeMultipleString8        = mapiprop.PtypMultipleString8
	propTypeMultipleBinary         = mapiprop.PtypMultipleBinary
)

// RowSet is the PropertyRowSet of NSPI responses (MS-OXCMAPIHTTP 2.2.1.8):
// the columns and one AddressBookPropertyRow per row over them. A row's
// values follow mapiprop.PropertyRow: in a flagged row a missing value has
// type PtypNull and a failed one type PtypErrorCode.
type RowSet struct {
	Columns []mapiprop.Tag
	Rows    []mapiprop.PropertyRow
}

// reader decodes NSPI bodies: little-endian, 32-bit counts, presence bytes
// before optional fields and before string, binary and multi-valued
// property values. Every count is checked against the bytes left before
// anything is allocated.
type reader struct {
	*mapiprop.Reader
	codePage uint32 // of PtypString8 values
	depth    int
}

func newReader(b []byte) *reader {
	r := &reader{Reader: mapiprop.NewReader(b), codePage: mapiprop.CodePageWindows1252}
	r.Wide = true
	return r
}

// present reads a Has… byte: zero is absent, anything else present.
func (r *reader) present() bool { return r.U8() != 0 }

// count reads a u32 count of elements of at least minSize bytes each.
func (r *reader) count(minSize int, what string) int {
	n := r.U32()
	if r.Err() != nil {
		return 0
	}
	if uint64(n)*uint64(max(minSize, 1)) > uint64(r.Len()) {
		r.Fail(fmt.Errorf("%w: %d %s cannot fit in %d bytes", mapiprop.ErrTruncated, n, what, r.Len()))
		return 0
	}
	return int(n)
}

func (r *reader) stat() STAT {
	return STAT{SortType: r.U32(), ContainerID: r.U32(), CurrentRec: r.U32(), Delta: r.I32(),
		NumPos: r.U32(), TotalRecs: r.U32(), CodePage: r.U32(), TemplateLocale: r.U32(), SortLocale: r.U32()}
}

// optStat reads HasState and the STAT; it also takes the STAT's code page
// for the PtypString8 values that follow.
func (r *reader) optStat() *STAT {
	if !r.present() {
		return nil
	}
	s := r.stat()
	if r.Err() != nil {
		return nil
	}
	r.codePage = s.CodePage
	return &s
}

// mids reads a MId array: Count u32 + u32 values.
func (r *reader) mids() []uint32 {
	n := r.count(4, "MIds")
	out := make([]uint32, n)
	for i := range out {
		out[i] = r.U32()
	}
	return out
}

func (r *reader) optMids() []uint32 {
	if !r.present() {
		return nil
	}
	return r.mids()
}

// tags reads a LargePropertyTagArray: Count u32 + tags.
func (r *reader) tags() []mapiprop.Tag {
	n := r.count(4, "property tags")
	out := make([]mapiprop.Tag, n)
	for i := range out {
		out[i] = mapiprop.Tag(r.U32())
	}
	return out
}

func (r *reader) optTags() []mapiprop.Tag {
	if !r.present() {
		return nil
	}
	return r.tags()
}

// aux reads AuxiliaryBufferSize and the buffer.
func (r *reader) aux() []byte {
	n := r.count(1, "auxiliary bytes")
	if n == 0 {
		return nil
	}
	return r.Bytes(n)
}

// string8 reads a NUL-terminated 8-bit string in the reader's code page;
// unknown code pages are read as Windows-1252 rather than refused.
func (r *reader) string8() string {
	return decodeString8(r.RawCString(), r.codePage)
}

func decodeString8(b []byte, cp uint32) string {
	s, err := mapiprop.DecodeString8(b, cp)
	if err != nil {
		s, _ = mapiprop.DecodeString8(b, mapiprop.CodePageWindows1252)
	}
	return s
}

func encodeString8(s string, cp uint32) []byte {
	b, err := mapiprop.EncodeString8(s, cp)
	if err != nil {
		b, _ = mapiprop.EncodeString8(s, mapiprop.CodePageWindows1252)
	}
	return b
}

// binary reads a u32 length and the bytes.
func (r *reader) binary() []byte {
	return r.Bytes(r.count(1, "binary bytes"))
}

// hasValueType reports whether values of type t carry a HasValue byte
// (MS-OXCMAPIHTTP 2.2.1.1).
func hasValueType(t mapiprop.PropType) bool {
	return t == propTypeString || t == propTypeString8 || t == propTypeBinary || t.IsMultiple()
}

// value reads an AddressBookPropertyValue of type t (MS-OXCMAPIHTTP
// 2.2.1.1). A value marked absent by its HasValue byte decodes as nil.
func (r *reader) value(t mapiprop.PropType) any {
	if hasValueType(t) {
		switch hv := r.U8(); {
		case r.Err() != nil:
			return nil
		case hv == hasValueAbsent:
			return nil
		case hv != hasValuePresent:
			r.Failf("HasValue 0x%02X", hv)
			return nil
		}
	}
	switch t {
	case propTypeNull:
		return nil
	case mapiprop.PtypInteger16:
		return int16(r.U16())
	case mapiprop.PtypInteger32:
		return int32(r.U32())
	case mapiprop.PtypFloating32, mapiprop.PtypFloating64, mapiprop.PtypCurrency,
		mapiprop.PtypFloatingTime, mapiprop.PtypInteger64, mapiprop.PtypTime, mapiprop.PtypGuid,
		mapiprop.PtypMultipleInteger16, mapiprop.PtypMultipleInteger32, mapiprop.PtypMultipleFloating32,
		mapiprop.PtypMultipleFloating64, mapiprop.PtypMultipleCurrency, mapiprop.PtypMultipleFloatingTime,
		mapiprop.PtypMultipleInteger64, mapiprop.PtypMultipleTime, mapiprop.PtypMultipleGuid:
		// Fixed-size values and their arrays have the ROP layout (u32
		// counts); mapiprop reads them, bounded by the bytes left.
		return r.PropertyValue(t)
	case propTypeErrorCode:
		return mapiprop.ErrorCode(r.U32())
	case mapiprop.PtypBoolean:
		return r.U8() != 0
	case propTypeString8:
		return r.string8()
	case propTypeString:
		return r.UTF16String()
	case propTypeBinary:
		return r.binary()
	case propTypeMultipleString, propTypeMultipleString8:
		n := r.count(2, "strings")
		out := make([]string, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			// Elements carry their own HasValue byte; an absent one is "".
			switch hv := r.U8(); {
			case hv == hasValueAbsent:
				out = append(out, "")
				continue
			case hv != hasValuePresent && r.Err() == nil:
				r.Failf("HasValue 0x%02X", hv)
				continue
			}
			if t == propTypeMultipleString {
				out = append(out, r.UTF16String())
			} else {
				out = append(out, r.string8())
			}
		}
		return out
	case propTypeMultipleBinary:
		n := r.count(1, "binary values")
		out := make([][]byte, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			switch hv := r.U8(); {
			case hv == hasValueAbsent:
				out = append(out, nil)
				continue
			case hv != hasValuePresent && r.Err() == nil:
				r.Failf("HasValue 0x%02X", hv)
				continue
			}
			out = append(out, r.binary())
		}
		return out
	}
	r.Failf("address book value of type %s", t)
	return nil
}

// taggedValue reads an AddressBookTaggedPropertyValue (2.2.1.2).
func (r *reader) taggedValue() mapiprop.Value {
	tag := mapiprop.Tag(r.U32())
	if r.Err() != nil {
		return mapiprop.Value{}
	}
	t := tag.Type()
	if t == propTypeUnspecified || !t.Known() {
		r.Failf("tagged value of type %s", t)
		return mapiprop.Value{}
	}
	return mapiprop.Value{Tag: tag, Data: r.value(t)}
}

// valueList reads an AddressBookPropertyValueList (2.2.1.3).
func (r *reader) valueList() []mapiprop.Value {
	n := r.count(4, "property values")
	out := make([]mapiprop.Value, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		out = append(out, r.taggedValue())
	}
	if r.Err() != nil {
		return nil
	}
	return out
}

// row reads an AddressBookPropertyRow over columns (2.2.1.7).
func (r *reader) row(columns []mapiprop.Tag) mapiprop.PropertyRow {
	var row mapiprop.PropertyRow
	switch f := r.U8(); {
	case r.Err() != nil:
		return row
	case f == rowFlagStandard:
	case f == rowFlagFlagged:
		row.Flagged = true
	default:
		r.Failf("property row flag 0x%02X", f)
		return row
	}
	row.Values = make([]mapiprop.Value, 0, len(columns))
	for _, col := range columns {
		if r.Err() != nil {
			break
		}
		t := col.Type()
		if t == propTypeUnspecified {
			t = mapiprop.PropType(r.U16())
		}
		if row.Flagged {
			switch f := r.U8(); f {
			case flaggedValue:
			case flaggedUnavailable:
				row.Values = append(row.Values, mapiprop.NullValue(col))
				continue
			case flaggedError:
				row.Values = append(row.Values, mapiprop.ErrorValue(col, mapiprop.ErrorCode(r.U32())))
				continue
			default:
				if r.Err() == nil {
					r.Failf("flagged value flag 0x%02X", f)
				}
				continue
			}
		}
		if t == propTypeUnspecified || !t.Known() {
			if r.Err() == nil {
				r.Failf("column %s: value type %s", col, t)
			}
			break
		}
		row.Values = append(row.Values, mapiprop.Value{Tag: col.WithType(t), Data: r.value(t)})
	}
	if r.Err() != nil {
		return mapiprop.PropertyRow{}
	}
	return row
}

// rowSet reads Columns, RowCount and the rows.
func (r *reader) rowSet() *RowSet {
	rs := &RowSet{Columns: r.tags()}
	n := r.count(1, "rows")
	rs.Rows = make([]mapiprop.PropertyRow, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		rs.Rows = append(rs.Rows, r.row(rs.Columns))
	}
	if r.Err() != nil {
		return nil
	}
	return rs
}

func (r *reader) optRowSet() *RowSet {
	if !r.present() {
		return nil
	}
	return r.rowSet()
}

// restriction reads a restriction (MS-OXCDATA 2.12) in its NSPI form:
// 32-bit And/Or counts, and the value of a Property or Content restriction
// preceded by a presence byte and carried as an address book tagged value
// (the layout Outlook sends; gromox reads it the same way).
func (r *reader) restriction() mapiprop.Restriction {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxRestrictionDepth {
		r.Failf("restriction nested deeper than %d", maxRestrictionDepth)
		return nil
	}
	typ := r.U8()
	if r.Err() != nil {
		return nil
	}
	var res mapiprop.Restriction
	switch typ {
	case mapiprop.RestrictAnd, mapiprop.RestrictOr:
		n := r.count(1, "restrictions")
		children := make([]mapiprop.Restriction, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			children = append(children, r.restriction())
		}
		if typ == mapiprop.RestrictAnd {
			res = &mapiprop.AndRestriction{Restrictions: children}
		} else {
			res = &mapiprop.OrRestriction{Restrictions: children}
		}
	case mapiprop.RestrictNot:
		res = &mapiprop.NotRestriction{Restriction: r.restriction()}
	case mapiprop.RestrictContent:
		c := &mapiprop.ContentRestriction{FuzzyLevelLow: r.U16(), FuzzyLevelHigh: r.U16(), PropTag: mapiprop.Tag(r.U32())}
		c.Value = r.restrictionValue()
		res = c
	case mapiprop.RestrictProperty:
		p := &mapiprop.PropertyRestriction{RelOp: r.U8(), PropTag: mapiprop.Tag(r.U32())}
		p.Value = r.restrictionValue()
		res = p
	case mapiprop.RestrictCompareProps:
		res = &mapiprop.ComparePropertiesRestriction{RelOp: r.U8(), PropTag1: mapiprop.Tag(r.U32()), PropTag2: mapiprop.Tag(r.U32())}
	case mapiprop.RestrictBitmask:
		res = &mapiprop.BitmaskRestriction{RelOp: r.U8(), PropTag: mapiprop.Tag(r.U32()), Mask: r.U32()}
	case mapiprop.RestrictSize:
		res = &mapiprop.SizeRestriction{RelOp: r.U8(), PropTag: mapiprop.Tag(r.U32()), Size: r.U32()}
	case mapiprop.RestrictExist:
		res = &mapiprop.ExistRestriction{PropTag: mapiprop.Tag(r.U32())}
	case mapiprop.RestrictSubObject:
		res = &mapiprop.SubObjectRestriction{SubObject: mapiprop.Tag(r.U32()), Restriction: r.restriction()}
	case mapiprop.RestrictComment:
		n := int(r.U8())
		c := &mapiprop.CommentRestriction{Values: make([]mapiprop.Value, 0, n)}
		for i := 0; i < n && r.Err() == nil; i++ {
			c.Values = append(c.Values, r.taggedValue())
		}
		if r.present() {
			c.Restriction = r.restriction()
		}
		res = c
	case mapiprop.RestrictCount:
		res = &mapiprop.CountRestriction{Count: r.U32(), Restriction: r.restriction()}
	default:
		r.Failf("restriction type 0x%02X", typ)
	}
	if r.Err() != nil {
		return nil
	}
	return res
}

// restrictionValue reads the presence byte and tagged value of a Property
// or Content restriction. An absent value is the zero Value.
func (r *reader) restrictionValue() mapiprop.Value {
	if !r.present() {
		return mapiprop.Value{}
	}
	return r.taggedValue()
}

// writer encodes NSPI bodies; the first failure is kept in Err.
type writer struct {
	*mapiprop.Writer
	codePage uint32
	depth    int
}

func newWriter() *writer {
	w := &writer{Writer: mapiprop.NewWriter(), codePage: mapiprop.CodePageWindows1252}
	w.Wide = true
	return w
}

func (w *writer) has(ok bool) {
	if ok {
		w.U8(hasValuePresent)
	} else {
		w.U8(hasValueAbsent)
	}
}

func (w *writer) stat(s STAT) {
	w.U32(s.SortType)
	w.U32(s.ContainerID)
	w.U32(s.CurrentRec)
	w.I32(s.Delta)
	w.U32(s.NumPos)
	w.U32(s.TotalRecs)
	w.U32(s.CodePage)
	w.U32(s.TemplateLocale)
	w.U32(s.SortLocale)
}

func (w *writer) optStat(s *STAT) {
	w.has(s != nil)
	if s != nil {
		w.stat(*s)
		w.codePage = s.CodePage
	}
}

func (w *writer) mids(m []uint32) {
	w.U32(uint32(len(m)))
	for _, v := range m {
		w.U32(v)
	}
}

func (w *writer) optMids(m []uint32) {
	w.has(m != nil)
	if m != nil {
		w.mids(m)
	}
}

func (w *writer) tags(t []mapiprop.Tag) {
	w.U32(uint32(len(t)))
	for _, v := range t {
		w.U32(uint32(v))
	}
}

func (w *writer) optTags(t []mapiprop.Tag) {
	w.has(t != nil)
	if t != nil {
		w.tags(t)
	}
}

func (w *writer) aux(b []byte) {
	w.U32(uint32(len(b)))
	w.Raw(b)
}

func (w *writer) string8(s string) {
	b := encodeString8(s, w.codePage)
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	w.Raw(b)
	w.U8(0)
}

func (w *writer) binary(b []byte) {
	w.U32(uint32(len(b)))
	w.Raw(b)
}

// value writes an AddressBookPropertyValue of type t. For types with a
// HasValue byte, nil data is written as absent.
func (w *writer) value(t mapiprop.PropType, data any) {
	if hasValueType(t) {
		w.has(data != nil && !isNilSlice(data))
		if data == nil || isNilSlice(data) {
			return
		}
	}
	bad := func() { w.Failf("value for %s has Go type %T", t, data) }
	switch t {
	case propTypeNull:
	case propTypeErrorCode:
		if v, ok := data.(mapiprop.ErrorCode); ok {
			w.U32(uint32(v))
		} else {
			bad()
		}
	case mapiprop.PtypBoolean:
		if v, ok := data.(bool); ok {
			w.Bool(v)
		} else {
			bad()
		}
	case propTypeString8:
		if v, ok := data.(string); ok {
			w.string8(v)
		} else {
			bad()
		}
	case propTypeString:
		if v, ok := data.(string); ok {
			w.UTF16String(v)
		} else {
			bad()
		}
	case propTypeBinary:
		if v, ok := data.([]byte); ok {
			w.binary(v)
		} else {
			bad()
		}
	case propTypeMultipleString, propTypeMultipleString8:
		v, ok := data.([]string)
		if !ok {
			bad()
			return
		}
		w.U32(uint32(len(v)))
		for _, s := range v {
			// Never an absent element: Outlook's NSPI code crashes on
			// null strings in arrays (gromox lib/mapi/ext_buffer.cpp).
			w.U8(hasValuePresent)
			if t == propTypeMultipleString {
				w.UTF16String(s)
			} else {
				w.string8(s)
			}
		}
	case propTypeMultipleBinary:
		v, ok := data.([][]byte)
		if !ok {
			bad()
			return
		}
		w.U32(uint32(len(v)))
		for _, b := range v {
			w.has(b != nil)
			if b != nil {
				w.binary(b)
			}
		}
	case mapiprop.PtypInteger16, mapiprop.PtypInteger32, mapiprop.PtypFloating32, mapiprop.PtypFloating64,
		mapiprop.PtypCurrency, mapiprop.PtypFloatingTime, mapiprop.PtypInteger64, mapiprop.PtypTime,
		mapiprop.PtypGuid, mapiprop.PtypMultipleInteger16, mapiprop.PtypMultipleInteger32,
		mapiprop.PtypMultipleFloating32, mapiprop.PtypMultipleFloating64, mapiprop.PtypMultipleCurrency,
		mapiprop.PtypMultipleFloatingTime, mapiprop.PtypMultipleInteger64, mapiprop.PtypMultipleTime,
		mapiprop.PtypMultipleGuid:
		if tv, ok := data.(time.Time); ok && t == mapiprop.PtypTime {
			data = tv.UTC()
		}
		w.PropertyValue(t, data)
	default:
		w.Failf("address book value of type %s", t)
	}
}

// isNilSlice reports whether data is a nil binary or multi-valued slice,
// which the HasValue byte marks absent.
func isNilSlice(data any) bool {
	switch v := data.(type) {
	case []byte:
		return v == nil
	case []string:
		return v == nil
	case [][]byte:
		return v == nil
	case []int16:
		return v == nil
	case []int32:
		return v == nil
	case []int64:
		return v == nil
	case []float32:
		return v == nil
	case []float64:
		return v == nil
	case []time.Time:
		return v == nil
	case []mapiprop.GUID:
		return v == nil
	}
	return false
}

func (w *writer) taggedValue(v mapiprop.Value) {
	t := v.Tag.Type()
	if t == propTypeUnspecified || !t.Known() {
		w.Failf("tagged value %s has no concrete type", v.Tag)
	}
	w.U32(uint32(v.Tag))
	w.value(t, v.Data)
}

func (w *writer) valueList(vals []mapiprop.Value) {
	w.U32(uint32(len(vals)))
	for _, v := range vals {
		w.taggedValue(v)
	}
}

// row writes an AddressBookPropertyRow over columns (2.2.1.7).
func (w *writer) row(columns []mapiprop.Tag, row mapiprop.PropertyRow) {
	if len(row.Values) != len(columns) {
		w.Failf("row has %d values for %d columns", len(row.Values), len(columns))
		return
	}
	if row.Flagged {
		w.U8(rowFlagFlagged)
	} else {
		w.U8(rowFlagStandard)
	}
	for i, col := range columns {
		v := row.Values[i]
		ct, vt := col.Type(), v.Tag.Type()
		if !row.Flagged {
			if ct == propTypeUnspecified {
				w.U16(uint16(vt)) // AddressBookTypedPropertyValue (2.2.1.4)
			} else if vt != ct {
				w.Failf("column %s: standard row value has type %s", col, vt)
			}
			w.value(vt, v.Data)
			continue
		}
		// AddressBookFlaggedPropertyValue(WithType) (2.2.1.5, 2.2.1.6).
		switch {
		case vt == propTypeNull:
			if ct == propTypeUnspecified {
				w.U16(uint16(propTypeUnspecified))
			}
			w.U8(flaggedUnavailable)
		case vt == propTypeErrorCode && ct != propTypeErrorCode:
			if ct == propTypeUnspecified {
				w.U16(uint16(propTypeErrorCode))
			}
			w.U8(flaggedError)
			w.value(propTypeErrorCode, v.Data)
		default:
			if ct == propTypeUnspecified {
				w.U16(uint16(vt))
			} else if vt != ct {
				w.Failf("column %s: flagged row value has type %s", col, vt)
			}
			w.U8(flaggedValue)
			w.value(vt, v.Data)
		}
	}
}

func (w *writer) rowSet(rs *RowSet) {
	w.tags(rs.Columns)
	w.U32(uint32(len(rs.Rows)))
	for _, row := range rs.Rows {
		w.row(rs.Columns, row)
	}
}

func (w *writer) optRowSet(rs *RowSet) {
	w.has(rs != nil)
	if rs != nil {
		w.rowSet(rs)
	}
}

// restriction writes a restriction in its NSPI form (see reader.restriction).
func (w *writer) restriction(res mapiprop.Restriction) {
	if res == nil {
		w.Failf("nil restriction")
		return
	}
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxRestrictionDepth {
		w.Failf("restriction nested deeper than %d", maxRestrictionDepth)
		return
	}
	switch x := res.(type) {
	case *mapiprop.AndRestriction:
		w.U8(mapiprop.RestrictAnd)
		w.U32(uint32(len(x.Restrictions)))
		for _, c := range x.Restrictions {
			w.restriction(c)
		}
	case *mapiprop.OrRestriction:
		w.U8(mapiprop.RestrictOr)
		w.U32(uint32(len(x.Restrictions)))
		for _, c := range x.Restrictions {
			w.restriction(c)
		}
	case *mapiprop.NotRestriction:
		w.U8(mapiprop.RestrictNot)
		w.restriction(x.Restriction)
	case *mapiprop.ContentRestriction:
		w.U8(mapiprop.RestrictContent)
		w.U16(x.FuzzyLevelLow)
		w.U16(x.FuzzyLevelHigh)
		w.U32(uint32(x.PropTag))
		w.restrictionValue(x.Value)
	case *mapiprop.PropertyRestriction:
		w.U8(mapiprop.RestrictProperty)
		w.U8(x.RelOp)
		w.U32(uint32(x.PropTag))
		w.restrictionValue(x.Value)
	case *mapiprop.ComparePropertiesRestriction:
		w.U8(mapiprop.RestrictCompareProps)
		w.U8(x.RelOp)
		w.U32(uint32(x.PropTag1))
		w.U32(uint32(x.PropTag2))
	case *mapiprop.BitmaskRestriction:
		w.U8(mapiprop.RestrictBitmask)
		w.U8(x.RelOp)
		w.U32(uint32(x.PropTag))
		w.U32(x.Mask)
	case *mapiprop.SizeRestriction:
		w.U8(mapiprop.RestrictSize)
		w.U8(x.RelOp)
		w.U32(uint32(x.PropTag))
		w.U32(x.Size)
	case *mapiprop.ExistRestriction:
		w.U8(mapiprop.RestrictExist)
		w.U32(uint32(x.PropTag))
	case *mapiprop.SubObjectRestriction:
		w.U8(mapiprop.RestrictSubObject)
		w.U32(uint32(x.SubObject))
		w.restriction(x.Restriction)
	case *mapiprop.CommentRestriction:
		w.U8(mapiprop.RestrictComment)
		if len(x.Values) > 0xFF {
			w.Failf("comment restriction with %d values", len(x.Values))
		}
		w.U8(uint8(len(x.Values)))
		for _, v := range x.Values {
			w.taggedValue(v)
		}
		w.has(x.Restriction != nil)
		if x.Restriction != nil {
			w.restriction(x.Restriction)
		}
	case *mapiprop.CountRestriction:
		w.U8(mapiprop.RestrictCount)
		w.U32(x.Count)
		w.restriction(x.Restriction)
	default:
		w.Failf("unknown restriction type %T", res)
	}
}

func (w *writer) restrictionValue(v mapiprop.Value) {
	if v.Tag == 0 && v.Data == nil {
		w.has(false)
		return
	}
	w.has(true)
	w.taggedValue(v)
}
