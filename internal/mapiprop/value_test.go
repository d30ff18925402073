package mapiprop

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// sampleTime is built the way the decoder builds times, so DeepEqual works.
var sampleTime = FileTimeToTime(0x01D9C2A4E1F0C800)

// everyType has one value of every property type the codec supports.
func everyType() []Value {
	res := &AndRestriction{Restrictions: []Restriction{
		&ExistRestriction{PropTag: PidTagSubject},
		&PropertyRestriction{RelOp: RelOpEqual, PropTag: PidTagMessageClass, Value: StringValue(PidTagMessageClass, "IPM.Note")},
	}}
	return []Value{
		{NewTag(0x6001, PtypNull), nil},
		{NewTag(0x6002, PtypInteger16), int16(-2)},
		{NewTag(0x6003, PtypInteger32), int32(-123456)},
		{NewTag(0x6004, PtypFloating32), float32(1.5)},
		{NewTag(0x6005, PtypFloating64), math.Pi},
		{NewTag(0x6006, PtypCurrency), int64(123456789)},
		{NewTag(0x6007, PtypFloatingTime), 45123.75},
		{NewTag(0x6008, PtypErrorCode), ErrNotFound},
		{NewTag(0x6009, PtypBoolean), true},
		{NewTag(0x600A, PtypInteger64), int64(-1) << 40},
		{NewTag(0x600B, PtypString8), "Grüße €"},
		{NewTag(0x600C, PtypString), "Grüße 😀 мир"},
		{NewTag(0x600D, PtypTime), sampleTime},
		{NewTag(0x600E, PtypGuid), PS_PUBLIC_STRINGS},
		{NewTag(0x600F, PtypServerId), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}},
		{NewTag(0x6010, PtypRestriction), Restriction(res)},
		{NewTag(0x6011, PtypRuleAction), RuleActions{{Type: ActionMove, Flavor: 0, Flags: 0, Data: []byte{1, 2, 3}}, {Type: ActionDelete, Data: []byte{}}}},
		{NewTag(0x6012, PtypBinary), []byte{0xDE, 0xAD, 0xBE, 0xEF}},
		{NewTag(0x6013, PtypObject), []byte{0x01}},
		{NewTag(0x6014, PtypMultipleInteger16), []int16{1, -1}},
		{NewTag(0x6015, PtypMultipleInteger32), []int32{7, 8, 9}},
		{NewTag(0x6016, PtypMultipleFloating32), []float32{0.25}},
		{NewTag(0x6017, PtypMultipleFloating64), []float64{1e300, -0.5}},
		{NewTag(0x6018, PtypMultipleCurrency), []int64{10000}},
		{NewTag(0x6019, PtypMultipleFloatingTime), []float64{1.0}},
		{NewTag(0x601A, PtypMultipleInteger64), []int64{1 << 62}},
		{NewTag(0x601B, PtypMultipleString8), []string{"a", "", "ç"}},
		{NewTag(0x601C, PtypMultipleString), []string{"x", "", "ÿ€"}},
		{NewTag(0x601D, PtypMultipleTime), []time.Time{sampleTime, FileTimeToTime(0)}},
		{NewTag(0x601E, PtypMultipleGuid), []GUID{PS_MAPI, PSETID_Common}},
		{NewTag(0x601F, PtypMultipleBinary), [][]byte{{1}, {}, {2, 3}}},
	}
}

func TestTaggedValueRoundTripEveryType(t *testing.T) {
	for _, wide := range []bool{false, true} {
		for _, v := range everyType() {
			w := NewWriter()
			w.Wide = wide
			w.TaggedValue(v)
			if err := w.Err(); err != nil {
				t.Fatalf("%s: encode: %v", v.Tag.Type(), err)
			}
			r := NewReader(w.Bytes())
			r.Wide = wide
			got := r.TaggedValue()
			if err := r.Err(); err != nil {
				t.Fatalf("%s: decode: %v", v.Tag.Type(), err)
			}
			if r.Len() != 0 {
				t.Errorf("%s: %d bytes left over", v.Tag.Type(), r.Len())
			}
			if !reflect.DeepEqual(got, v) {
				t.Errorf("%s (wide=%v): got %#v, want %#v", v.Tag.Type(), wide, got, v)
			}
		}
	}
}

func TestValueWireLayouts(t *testing.T) {
	cases := []struct {
		name string
		v    Value
		hex  string
	}{
		// MS-OXCDATA 2.9: the tag goes out little-endian, type first.
		{"string", StringValue(PidTagDisplayName, "Hi"), "1f000130 4800 6900 0000"},
		{"string8", String8Value(PidTagDisplayName, "Hi"), "1e000130 486900"},
		{"bool one byte", BoolValue(PidTagHasAttachments, true), "0b001b0e 01"},
		{"int32", Int32Value(PidTagMessageFlags, 9), "0300070e 09000000"},
		{"binary u16 count", BinaryValue(PidTagEntryId, []byte{0xAA, 0xBB}), "0201ff0f 0200 aabb"},
		{"mv string u32 count", Value{PidTagEmsAbProxyAddresses, []string{"a"}}, "1f100f80 01000000 6100 0000"},
		{"mv binary", Value{PidTagAdditionalRenEntryIds, [][]byte{{1}}}, "0211d836 01000000 0100 01"},
		// 2000-01-01T00:00:00Z is FILETIME 0x01BF53EB256D4000.
		{"time", TimeValue(PidTagCreationTime, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)), "40000730 00406d25eb53bf01"},
		// PS_PUBLIC_STRINGS {00020329-0000-0000-C000-000000000046} in DCE order.
		{"guid", GUIDValue(NewTag(0x8000, 0), PS_PUBLIC_STRINGS), "48000080 29030200 0000 0000 c000000000000046"},
		{"error", ErrorValue(PidTagSubject, ErrNotFound), "0a003700 0f010480"},
	}
	for _, c := range cases {
		w := NewWriter()
		w.TaggedValue(c.v)
		if err := w.Err(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if want := unhex(t, c.hex); !bytes.Equal(w.Bytes(), want) {
			t.Errorf("%s: got % x, want % x", c.name, w.Bytes(), want)
		}
	}
}

func TestWideBinaryCount(t *testing.T) {
	w := NewWriter()
	w.Wide = true
	w.PropertyValue(PtypBinary, []byte{9})
	if want := []byte{1, 0, 0, 0, 9}; !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x, want % x", w.Bytes(), want)
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []Value{
		{PidTagSubject, 42},                            // wrong Go type
		{PidTagEntryId, make([]byte, 70000)},           // binary too long for a u16 count
		{NewTag(1, PtypUnspecified), nil},              // no concrete type
		{NewTag(1, PropType(0x0123)), []byte{}},        // unknown type
		{NewTag(1, PtypRestriction), Restriction(nil)}, // nil restriction
	}
	for _, v := range cases {
		w := NewWriter()
		w.TaggedValue(v)
		if !errors.Is(w.Err(), ErrEncode) {
			t.Errorf("%v: err = %v, want ErrEncode", v, w.Err())
		}
	}
}

func TestDecodeTruncatedAndHostile(t *testing.T) {
	cases := map[string]string{
		"short int32":         "03000100 0100",
		"unterminated string": "1f000130 4100",
		"binary past end":     "02010100 0500 0102",
		"huge mv count":       "1f100100 ffffffff",
		"mv binary count":     "02110100 ffffff7f 0000",
		"unknown type":        "23010100 00",
		"unspecified":         "00000100",
		"mvi bit":             "1f300100 00",
	}
	for name, h := range cases {
		r := NewReader(unhex(t, h))
		r.TaggedValue()
		if r.Err() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestFileTime(t *testing.T) {
	ft := uint64(0x01BF53EB256D4000)
	tm := FileTimeToTime(ft)
	if !tm.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("FileTimeToTime = %v", tm)
	}
	for _, x := range []uint64{0, 1, ft, ft + 12345, 1<<63 + 7, math.MaxUint64} {
		if got := TimeToFileTime(FileTimeToTime(x)); got != x {
			t.Errorf("round trip of %d gave %d", x, got)
		}
	}
	if got := TimeToFileTime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)); got != 0 {
		t.Errorf("time before 1601 = %d, want 0", got)
	}
}

func TestCodePages(t *testing.T) {
	b, err := EncodeString8("€uro é", CodePageWindows1252)
	if err != nil || !bytes.Equal(b, []byte{0x80, 'u', 'r', 'o', ' ', 0xE9}) {
		t.Fatalf("1252 encode = % x, %v", b, err)
	}
	s, _ := DecodeString8(b, 0)
	if s != "€uro é" {
		t.Fatalf("1252 decode = %q", s)
	}
	// Every byte survives 1252, including the five undefined ones.
	all := make([]byte, 255)
	for i := range all {
		all[i] = byte(i + 1)
	}
	s, _ = DecodeString8(all, CodePageWindows1252)
	back, _ := EncodeString8(s, CodePageWindows1252)
	if !bytes.Equal(back, all) {
		t.Fatalf("1252 is not a bijection")
	}
	if b, _ := EncodeString8("日本", CodePageWindows1252); string(b) != "??" {
		t.Errorf("unencodable = %q", b)
	}
	if b, _ := EncodeString8("日本", CodePageUTF8); string(b) != "日本" {
		t.Errorf("utf-8 = %q", b)
	}
	if b, _ := EncodeString8("é", CodePageASCII); string(b) != "?" {
		t.Errorf("ascii = %q", b)
	}
	if _, err := DecodeString8([]byte("x"), 936); err == nil {
		t.Errorf("code page 936 accepted")
	}
	// A reader with the UTF-8 code page reads PtypString8 as UTF-8.
	r := NewReader([]byte("日本\x00"))
	r.CodePage = CodePageUTF8
	if got := r.PropertyValue(PtypString8); got != "日本" {
		t.Errorf("utf-8 string8 = %q", got)
	}
}

func TestStringWithNULIsCut(t *testing.T) {
	w := NewWriter()
	w.PropertyValue(PtypString, "ab\x00cd")
	if want := unhex(t, "6100 6200 0000"); !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x", w.Bytes())
	}
}

func TestProblemsAndTags(t *testing.T) {
	w := NewWriter()
	p := []PropertyProblem{{Index: 1, Tag: PidTagSubject, Err: ErrAccessDenied}}
	w.Problems(p)
	w.Tags([]Tag{PidTagSubject, PidTagBody})
	r := NewReader(w.Bytes())
	if got := r.Problems(); !reflect.DeepEqual(got, p) {
		t.Errorf("problems = %v", got)
	}
	if got := r.Tags(); !reflect.DeepEqual(got, []Tag{PidTagSubject, PidTagBody}) {
		t.Errorf("tags = %v", got)
	}
	if r.Err() != nil || r.Len() != 0 {
		t.Errorf("err %v, %d left", r.Err(), r.Len())
	}
}

func TestValueHelpers(t *testing.T) {
	v := StringValue(PidTagSubject, "x")
	if s, ok := v.AsString(); !ok || s != "x" {
		t.Error("AsString")
	}
	if _, ok := v.AsInt32(); ok {
		t.Error("AsInt32 on a string")
	}
	if !ErrorValue(PidTagSubject, ErrNotFound).IsError() {
		t.Error("IsError")
	}
	if err := (Value{PidTagSubject, int32(1)}).Validate(); err == nil {
		t.Error("Validate accepted int32 for PtypString")
	}
	if n := StringValue(PidTagSubject, "ab").EncodedSize(); n != 6 {
		t.Errorf("EncodedSize = %d", n)
	}
	if !StringValue(PidTagSubject, "ab").Equal(StringValue(PidTagSubject, "ab")) || StringValue(PidTagSubject, "ab").Equal(StringValue(PidTagSubject, "ac")) {
		t.Error("Equal")
	}
	if ErrNotFound.Error() != "ecNotFound (0x8004010F)" {
		t.Errorf("Error() = %q", ErrNotFound.Error())
	}
}

func TestTagHelpers(t *testing.T) {
	tag := PidTagDisplayName
	if tag.ID() != 0x3001 || tag.Type() != PtypString || tag.WithType(PtypString8) != 0x3001001E {
		t.Fatal("tag accessors")
	}
	if !NewTag(0x8001, PtypString).IsNamed() || tag.IsNamed() {
		t.Error("IsNamed")
	}
	mvi := PtypMultipleString | MultiValueInstance
	if !mvi.IsMultiple() || mvi.Base() != PtypString || mvi.Effective() != PtypString || PtypMultipleString.Effective() != PtypMultipleString {
		t.Error("type flags")
	}
	if PtypString.String() != "PtypString" || PropType(0x77).String() != "PropType(0x0077)" {
		t.Error("type names")
	}
}
