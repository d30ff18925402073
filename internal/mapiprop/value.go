package mapiprop

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// Value is one property: its tag and a Go value whose type follows the
// tag's property type:
//
//	PtypNull                   nil
//	PtypInteger16              int16
//	PtypInteger32              int32
//	PtypFloating32             float32
//	PtypFloating64             float64
//	PtypCurrency               int64 (units of 1/10000)
//	PtypFloatingTime           float64 (OLE Automation date)
//	PtypErrorCode              ErrorCode
//	PtypBoolean                bool
//	PtypInteger64              int64
//	PtypString, PtypString8    string
//	PtypTime                   time.Time (UTC; FILETIME on the wire)
//	PtypGuid                   GUID
//	PtypServerId               []byte
//	PtypRestriction            Restriction
//	PtypRuleAction             RuleActions
//	PtypBinary, PtypObject     []byte (PtypObject uses the binary layout, as gromox does)
//	PtypMultipleInteger16      []int16
//	PtypMultipleInteger32      []int32
//	PtypMultipleFloating32     []float32
//	PtypMultipleFloating64     []float64
//	PtypMultipleCurrency       []int64
//	PtypMultipleFloatingTime   []float64
//	PtypMultipleInteger64      []int64
//	PtypMultipleString(8)      []string
//	PtypMultipleTime           []time.Time
//	PtypMultipleGuid           []GUID
//	PtypMultipleBinary         [][]byte
type Value struct {
	Tag  Tag
	Data any
}

// Convenience constructors; the tag's type is set to match the Go value.

// StringValue is a PtypString value.
func StringValue(t Tag, s string) Value { return Value{t.WithType(PtypString), s} }

// String8Value is a PtypString8 value.
func String8Value(t Tag, s string) Value { return Value{t.WithType(PtypString8), s} }

// Int16Value is a PtypInteger16 value.
func Int16Value(t Tag, v int16) Value { return Value{t.WithType(PtypInteger16), v} }

// Int32Value is a PtypInteger32 value.
func Int32Value(t Tag, v int32) Value { return Value{t.WithType(PtypInteger32), v} }

// Int64Value is a PtypInteger64 value.
func Int64Value(t Tag, v int64) Value { return Value{t.WithType(PtypInteger64), v} }

// BoolValue is a PtypBoolean value.
func BoolValue(t Tag, v bool) Value { return Value{t.WithType(PtypBoolean), v} }

// BinaryValue is a PtypBinary value.
func BinaryValue(t Tag, b []byte) Value { return Value{t.WithType(PtypBinary), b} }

// TimeValue is a PtypTime value.
func TimeValue(t Tag, v time.Time) Value { return Value{t.WithType(PtypTime), v.UTC()} }

// GUIDValue is a PtypGuid value.
func GUIDValue(t Tag, g GUID) Value { return Value{t.WithType(PtypGuid), g} }

// ErrorValue is a PtypErrorCode value, the way a row reports a property
// that could not be returned.
func ErrorValue(t Tag, ec ErrorCode) Value { return Value{t.WithType(PtypErrorCode), ec} }

// NullValue marks a missing value in a flagged row.
func NullValue(t Tag) Value { return Value{t.WithType(PtypNull), nil} }

// IsError reports whether v carries an error code instead of a value.
func (v Value) IsError() bool { return v.Tag.Type() == PtypErrorCode }

// AsString returns the value of a PtypString or PtypString8 property.
func (v Value) AsString() (string, bool) { s, ok := v.Data.(string); return s, ok }

// AsInt32 returns the value of a PtypInteger32 property.
func (v Value) AsInt32() (int32, bool) { i, ok := v.Data.(int32); return i, ok }

// AsInt64 returns the value of a PtypInteger64 or PtypCurrency property.
func (v Value) AsInt64() (int64, bool) { i, ok := v.Data.(int64); return i, ok }

// AsBool returns the value of a PtypBoolean property.
func (v Value) AsBool() (bool, bool) { b, ok := v.Data.(bool); return b, ok }

// AsBytes returns the value of a PtypBinary, PtypServerId or PtypObject property.
func (v Value) AsBytes() ([]byte, bool) { b, ok := v.Data.([]byte); return b, ok }

// AsTime returns the value of a PtypTime property.
func (v Value) AsTime() (time.Time, bool) { t, ok := v.Data.(time.Time); return t, ok }

// AsErrorCode returns the value of a PtypErrorCode property.
func (v Value) AsErrorCode() (ErrorCode, bool) { e, ok := v.Data.(ErrorCode); return e, ok }

// fileTimeEpochDelta is the number of seconds from 1601-01-01 to 1970-01-01.
const fileTimeEpochDelta = 11644473600

// FileTimeToTime converts a FILETIME (100 ns ticks since 1601-01-01 UTC).
func FileTimeToTime(ft uint64) time.Time {
	return time.Unix(int64(ft/1e7)-fileTimeEpochDelta, int64(ft%1e7)*100).UTC()
}

// TimeToFileTime converts t to a FILETIME; times before 1601 become 0.
func TimeToFileTime(t time.Time) uint64 {
	secs := t.Unix() + fileTimeEpochDelta
	if secs < 0 {
		return 0
	}
	return uint64(secs)*1e7 + uint64(t.Nanosecond()/100)
}

// Validate reports whether v.Data has the Go type required by v.Tag.
func (v Value) Validate() error {
	w := NewWriter()
	w.PropertyValue(v.Tag.Type(), v.Data)
	return w.Err()
}

// EncodedSize is the number of bytes the value takes in a ROP buffer
// without its tag (for the "too big, use a stream" decision of
// MS-OXCPRPT 3.2.5.1).
func (v Value) EncodedSize() int {
	w := NewWriter()
	w.PropertyValue(v.Tag.Type(), v.Data)
	return w.Len()
}

// Equal reports whether two values have the same tag and data.
func (v Value) Equal(o Value) bool {
	if v.Tag != o.Tag {
		return false
	}
	a, b := NewWriter(), NewWriter()
	a.CodePage, b.CodePage = CodePageUTF8, CodePageUTF8
	a.PropertyValue(v.Tag.Type(), v.Data)
	b.PropertyValue(o.Tag.Type(), o.Data)
	return a.Err() == nil && b.Err() == nil && bytes.Equal(a.Bytes(), b.Bytes())
}

func (v Value) String() string { return fmt.Sprintf("%s=%v", v.Tag, v.Data) }

// PropertyValue writes a PropertyValue: the value alone, its type known from
// context (MS-OXCDATA 2.11.2).
func (w *Writer) PropertyValue(t PropType, data any) {
	bad := func() { w.Failf("value for %s has Go type %T", t, data) }
	switch t {
	case PtypNull:
		if data != nil {
			bad()
		}
	case PtypInteger16:
		if v, ok := data.(int16); ok {
			w.U16(uint16(v))
		} else {
			bad()
		}
	case PtypInteger32:
		if v, ok := data.(int32); ok {
			w.U32(uint32(v))
		} else {
			bad()
		}
	case PtypFloating32:
		if v, ok := data.(float32); ok {
			w.U32(math.Float32bits(v))
		} else {
			bad()
		}
	case PtypFloating64, PtypFloatingTime:
		if v, ok := data.(float64); ok {
			w.U64(math.Float64bits(v))
		} else {
			bad()
		}
	case PtypCurrency, PtypInteger64:
		if v, ok := data.(int64); ok {
			w.U64(uint64(v))
		} else {
			bad()
		}
	case PtypErrorCode:
		if v, ok := data.(ErrorCode); ok {
			w.U32(uint32(v))
		} else {
			bad()
		}
	case PtypBoolean:
		// MS-OXCDATA 2.11.1: one byte, 0x00 or 0x01, in ROP buffers.
		if v, ok := data.(bool); ok {
			w.Bool(v)
		} else {
			bad()
		}
	case PtypString:
		if v, ok := data.(string); ok {
			w.UTF16String(v)
		} else {
			bad()
		}
	case PtypString8:
		if v, ok := data.(string); ok {
			w.CString(v)
		} else {
			bad()
		}
	case PtypTime:
		if v, ok := data.(time.Time); ok {
			w.U64(TimeToFileTime(v))
		} else {
			bad()
		}
	case PtypGuid:
		if v, ok := data.(GUID); ok {
			w.GUID(v)
		} else {
			bad()
		}
	case PtypBinary, PtypServerId, PtypObject:
		if v, ok := data.([]byte); ok {
			w.binary(v)
		} else {
			bad()
		}
	case PtypRestriction:
		if v, ok := data.(Restriction); ok && v != nil {
			w.Restriction(v)
		} else {
			bad()
		}
	case PtypRuleAction:
		if v, ok := data.(RuleActions); ok {
			w.RuleActions(v)
		} else {
			bad()
		}
	case PtypMultipleInteger16:
		if v, ok := data.([]int16); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				w.U16(uint16(x))
			}
		} else {
			bad()
		}
	case PtypMultipleInteger32:
		if v, ok := data.([]int32); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				w.U32(uint32(x))
			}
		} else {
			bad()
		}
	case PtypMultipleFloating32:
		if v, ok := data.([]float32); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				w.U32(math.Float32bits(x))
			}
		} else {
			bad()
		}
	case PtypMultipleFloating64, PtypMultipleFloatingTime:
		if v, ok := data.([]float64); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				w.U64(math.Float64bits(x))
			}
		} else {
			bad()
		}
	case PtypMultipleCurrency, PtypMultipleInteger64:
		if v, ok := data.([]int64); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				w.U64(uint64(x))
			}
		} else {
			bad()
		}
	case PtypMultipleString, PtypMultipleString8:
		if v, ok := data.([]string); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				if t == PtypMultipleString {
					w.UTF16String(x)
				} else {
					w.CString(x)
				}
			}
		} else {
			bad()
		}
	case PtypMultipleTime:
		if v, ok := data.([]time.Time); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				w.U64(TimeToFileTime(x))
			}
		} else {
			bad()
		}
	case PtypMultipleGuid:
		if v, ok := data.([]GUID); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				w.GUID(x)
			}
		} else {
			bad()
		}
	case PtypMultipleBinary:
		if v, ok := data.([][]byte); ok {
			w.U32(uint32(len(v)))
			for _, x := range v {
				w.binary(x)
			}
		} else {
			bad()
		}
	default:
		w.Failf("unsupported property type %s", t)
	}
}

// binary writes COUNT + bytes; COUNT is 16-bit in ROP buffers and 32-bit in
// the Wide format (MS-OXCDATA 2.11.1.1).
func (w *Writer) binary(b []byte) {
	w.count(len(b), "binary value")
	w.Raw(b)
}

func (r *Reader) binary() []byte {
	n := r.count()
	if uint64(n) > uint64(r.Len()) {
		r.Fail(fmt.Errorf("%w: binary length %d exceeds the %d bytes left at offset %d", ErrTruncated, n, r.Len(), r.off))
		return nil
	}
	return r.Bytes(int(n))
}

// mvCount reads a multi-value count and checks it against the bytes left,
// so a hostile count cannot make us allocate gigabytes.
func (r *Reader) mvCount(minElem int) int {
	n := r.U32()
	if r.err != nil {
		return 0
	}
	if uint64(n)*uint64(minElem) > uint64(r.Len()) {
		r.Fail(fmt.Errorf("%w: %d values of at least %d bytes exceed the %d bytes left at offset %d", ErrTruncated, n, minElem, r.Len(), r.off))
		return 0
	}
	return int(n)
}

// PropertyValue reads a PropertyValue of type t (MS-OXCDATA 2.11.2).
func (r *Reader) PropertyValue(t PropType) any {
	switch t {
	case PtypNull:
		return nil
	case PtypInteger16:
		return int16(r.U16())
	case PtypInteger32:
		return int32(r.U32())
	case PtypFloating32:
		return math.Float32frombits(r.U32())
	case PtypFloating64, PtypFloatingTime:
		return math.Float64frombits(r.U64())
	case PtypCurrency, PtypInteger64:
		return int64(r.U64())
	case PtypErrorCode:
		return ErrorCode(r.U32())
	case PtypBoolean:
		return r.U8() != 0
	case PtypString:
		return r.UTF16String()
	case PtypString8:
		return r.CString()
	case PtypTime:
		return FileTimeToTime(r.U64())
	case PtypGuid:
		return r.GUID()
	case PtypBinary, PtypServerId, PtypObject:
		return r.binary()
	case PtypRestriction:
		return r.Restriction()
	case PtypRuleAction:
		return r.RuleActions()
	case PtypMultipleInteger16:
		n := r.mvCount(2)
		v := make([]int16, n)
		for i := range v {
			v[i] = int16(r.U16())
		}
		return v
	case PtypMultipleInteger32:
		n := r.mvCount(4)
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(r.U32())
		}
		return v
	case PtypMultipleFloating32:
		n := r.mvCount(4)
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(r.U32())
		}
		return v
	case PtypMultipleFloating64, PtypMultipleFloatingTime:
		n := r.mvCount(8)
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(r.U64())
		}
		return v
	case PtypMultipleCurrency, PtypMultipleInteger64:
		n := r.mvCount(8)
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(r.U64())
		}
		return v
	case PtypMultipleString:
		n := r.mvCount(2)
		v := make([]string, n)
		for i := range v {
			v[i] = r.UTF16String()
		}
		return v
	case PtypMultipleString8:
		n := r.mvCount(1)
		v := make([]string, n)
		for i := range v {
			v[i] = r.CString()
		}
		return v
	case PtypMultipleTime:
		n := r.mvCount(8)
		v := make([]time.Time, n)
		for i := range v {
			v[i] = FileTimeToTime(r.U64())
		}
		return v
	case PtypMultipleGuid:
		n := r.mvCount(16)
		v := make([]GUID, n)
		for i := range v {
			v[i] = r.GUID()
		}
		return v
	case PtypMultipleBinary:
		minElem := 2
		if r.Wide {
			minElem = 4
		}
		n := r.mvCount(minElem)
		v := make([][]byte, n)
		for i := range v {
			v[i] = r.binary()
		}
		return v
	}
	r.Failf("unsupported property type %s", t)
	return nil
}

// TaggedValue writes a TaggedPropertyValue: tag + value (MS-OXCDATA 2.11.4).
func (w *Writer) TaggedValue(v Value) {
	t := v.Tag.Type()
	if t == PtypUnspecified || t&MultiValueInstance != 0 {
		w.Failf("tagged value %s has no concrete type", v.Tag)
	}
	w.U32(uint32(v.Tag))
	w.PropertyValue(t, v.Data)
}

// TaggedValue reads a TaggedPropertyValue.
func (r *Reader) TaggedValue() Value {
	tag := Tag(r.U32())
	if r.err != nil {
		return Value{}
	}
	t := tag.Type()
	if t == PtypUnspecified || t&MultiValueInstance != 0 || !t.Known() {
		r.Failf("tagged value with unusable type %s", t)
		return Value{}
	}
	return Value{Tag: tag, Data: r.PropertyValue(t)}
}

// TypedValue writes a TypedPropertyValue: type + value (MS-OXCDATA 2.11.3).
func (w *Writer) TypedValue(t PropType, data any) {
	w.U16(uint16(t))
	w.PropertyValue(t, data)
}

// TypedValue reads a TypedPropertyValue and returns its type and data.
func (r *Reader) TypedValue() (PropType, any) {
	t := PropType(r.U16())
	if r.err != nil {
		return 0, nil
	}
	if !t.Known() {
		r.Failf("typed value with unusable type %s", t)
		return 0, nil
	}
	return t, r.PropertyValue(t)
}

// TaggedValues writes a count (uint16) followed by TaggedPropertyValues.
func (w *Writer) TaggedValues(vals []Value) {
	w.U16Len(len(vals), "property value count")
	for _, v := range vals {
		w.TaggedValue(v)
	}
}

// TaggedValues reads a uint16 count followed by TaggedPropertyValues.
func (r *Reader) TaggedValues() []Value {
	n := int(r.U16())
	return r.TaggedValuesN(n)
}

// TaggedValuesN reads n TaggedPropertyValues.
func (r *Reader) TaggedValuesN(n int) []Value {
	if n > r.Len()/4 {
		r.Fail(fmt.Errorf("%w: %d tagged values cannot fit in %d bytes", ErrTruncated, n, r.Len()))
		return nil
	}
	vals := make([]Value, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		vals = append(vals, r.TaggedValue())
	}
	if r.err != nil {
		return nil
	}
	return vals
}

// Tags writes a PropertyTagArray: uint16 count + tags (MS-OXCDATA 2.10.1).
func (w *Writer) Tags(tags []Tag) {
	w.U16Len(len(tags), "property tag count")
	for _, t := range tags {
		w.U32(uint32(t))
	}
}

// Tags reads a PropertyTagArray.
func (r *Reader) Tags() []Tag { return r.TagsN(int(r.U16())) }

// TagsN reads n property tags.
func (r *Reader) TagsN(n int) []Tag {
	if n*4 > r.Len() {
		r.Fail(fmt.Errorf("%w: %d property tags need %d bytes, %d left", ErrTruncated, n, n*4, r.Len()))
		return nil
	}
	tags := make([]Tag, n)
	for i := range tags {
		tags[i] = Tag(r.U32())
	}
	return tags
}

// PropertyProblem reports a property that could not be set, deleted or
// copied (MS-OXCDATA 2.7).
type PropertyProblem struct {
	Index uint16 // index into the request's property array
	Tag   Tag
	Err   ErrorCode
}

// Problems writes a PropertyProblemArray: uint16 count + problems.
func (w *Writer) Problems(p []PropertyProblem) {
	w.U16Len(len(p), "property problem count")
	for _, x := range p {
		w.U16(x.Index)
		w.U32(uint32(x.Tag))
		w.U32(uint32(x.Err))
	}
}

// Problems reads a PropertyProblemArray.
func (r *Reader) Problems() []PropertyProblem {
	n := int(r.U16())
	if n*10 > r.Len() {
		r.Fail(fmt.Errorf("%w: %d property problems need %d bytes, %d left", ErrTruncated, n, n*10, r.Len()))
		return nil
	}
	p := make([]PropertyProblem, n)
	for i := range p {
		p[i] = PropertyProblem{Index: r.U16(), Tag: Tag(r.U32()), Err: ErrorCode(r.U32())}
	}
	return p
}

// ActionBlock is one action of a rule (MS-OXORULE 2.2.5.1). Data is the
// ActionData field, kept raw: its layout depends on ActionType.
type ActionBlock struct {
	Type   uint8
	Flavor uint32
	Flags  uint32
	Data   []byte
}

// Rule action types (MS-OXORULE 2.2.5.1).
const (
	ActionMove       uint8 = 0x01
	ActionCopy       uint8 = 0x02
	ActionReply      uint8 = 0x03
	ActionOOFReply   uint8 = 0x04
	ActionDefer      uint8 = 0x05
	ActionBounce     uint8 = 0x06
	ActionForward    uint8 = 0x07
	ActionDelegate   uint8 = 0x08
	ActionTag        uint8 = 0x09
	ActionDelete     uint8 = 0x0A
	ActionMarkAsRead uint8 = 0x0B
)

// RuleActions is a PtypRuleAction value: a list of action blocks
// (MS-OXORULE 2.2.5). Counts and lengths are 16-bit in ROP buffers and
// 32-bit in the Wide (extended rule) format.
type RuleActions []ActionBlock

// RuleActions writes a RuleAction structure.
func (w *Writer) RuleActions(a RuleActions) {
	w.count(len(a), "rule action count")
	for _, b := range a {
		w.count(9+len(b.Data), "rule action length")
		w.U8(b.Type)
		w.U32(b.Flavor)
		w.U32(b.Flags)
		w.Raw(b.Data)
	}
}

// RuleActions reads a RuleAction structure.
func (r *Reader) RuleActions() RuleActions {
	n := r.count()
	if r.err != nil {
		return nil
	}
	if uint64(n)*11 > uint64(r.Len()) {
		r.Fail(fmt.Errorf("%w: %d rule actions cannot fit in %d bytes", ErrTruncated, n, r.Len()))
		return nil
	}
	a := make(RuleActions, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		l := r.count()
		if r.err != nil {
			break
		}
		if l < 9 || uint64(l) > uint64(r.Len()) {
			r.Failf("rule action length %d", l)
			break
		}
		s := r.Sub(int(l))
		b := ActionBlock{Type: s.U8(), Flavor: s.U32(), Flags: s.U32()}
		b.Data = s.Rest()
		a = append(a, b)
	}
	if r.err != nil {
		return nil
	}
	return a
}
