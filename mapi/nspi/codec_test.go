package nspi

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/mapiprop"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The Bind of MS-OXNSPI section 4 (Protocol Examples): dwFlags 0 and a
// STAT of zeros with CodePage 0x4E4 (1252), TemplateLocale and SortLocale
// 0x409, laid out as MS-OXCMAPIHTTP 2.2.5.1.1 frames it.
func TestGoldenBindRequestOfSpecExample(t *testing.T) {
	golden := unhex(t, `
		00000000
		ff
		00000000 00000000 00000000 00000000 00000000 00000000 e4040000 09040000 09040000
		00000000`)
	var q BindRequest
	if err := Unmarshal(golden, &q); err != nil {
		t.Fatal(err)
	}
	want := BindRequest{State: &STAT{CodePage: 0x4E4, TemplateLocale: 0x409, SortLocale: 0x409}}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("decoded %+v (state %+v), want %+v", q, q.State, want)
	}
	out, err := Marshal(&q)
	if err != nil || !bytes.Equal(out, golden) {
		t.Fatalf("re-encoded % x, %v", out, err)
	}
}

// Outlook's Bind probe (MAPI.md §13.21): 45 zero bytes, i.e. a STAT
// marked absent but sent anyway; the codec reads Flags, HasState and the
// auxiliary size, and ignores the rest.
func TestBindProbeOf45ZeroBytes(t *testing.T) {
	var q BindRequest
	if err := Unmarshal(make([]byte, 45), &q); err != nil {
		t.Fatal(err)
	}
	if q.Flags != 0 || q.State != nil || q.Aux != nil {
		t.Fatalf("decoded %+v", q)
	}
}

func TestGoldenBindResponse(t *testing.T) {
	guid := mapiprop.MustParseGUID("{00112233-4455-6677-8899-AABBCCDDEEFF}")
	out, err := Marshal(&BindResponse{ServerGUID: guid})
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, `00000000 00000000 33221100 5544 7766 8899 aabbccddeeff 00000000`)
	if !bytes.Equal(out, want) {
		t.Fatalf("got % x\nwant % x", out, want)
	}
	// A failure response (StatusCode != 0) is StatusCode and the
	// auxiliary buffer only (MS-OXCMAPIHTTP 2.2.5.1.3).
	out, err = Marshal(&BindResponse{Result: Result{StatusCode: 3}, Aux: []byte{7}})
	if err != nil || !bytes.Equal(out, unhex(t, `03000000 01000000 07`)) {
		t.Fatalf("failure response % x, %v", out, err)
	}
	var back BindResponse
	if err := Unmarshal(out, &back); err != nil || back.StatusCode != 3 || !bytes.Equal(back.Aux, []byte{7}) {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}

// AddressBookPropertyValue (MS-OXCMAPIHTTP 2.2.1.1): HasValue before
// strings, binaries and multi-valued values only; 32-bit counts; every
// element of a string or binary array has its own HasValue.
func TestGoldenAddressBookValues(t *testing.T) {
	cases := []struct {
		name string
		v    mapiprop.Value
		hex  string
	}{
		{"int32", mapiprop.Int32Value(mapiprop.PidTagDisplayType, 6), "03000039 06000000"},
		{"bool", mapiprop.BoolValue(mapiprop.PidTagSendRichInfo, true), "0b00403a 01"},
		{"unicode", mapiprop.StringValue(mapiprop.PidTagDisplayName, "Al"), "1f000130 ff 41006c00 0000"},
		{"8-bit", mapiprop.String8Value(mapiprop.PidTagDisplayName, "Al"), "1e000130 ff 416c 00"},
		{"absent string", mapiprop.Value{Tag: mapiprop.PidTagDisplayName}, "1f000130 00"},
		{"binary", mapiprop.BinaryValue(mapiprop.PidTagEntryId, []byte{1, 2}), "0201ff0f ff 02000000 0102"},
		{"mv strings", mapiprop.Value{Tag: mapiprop.PidTagEmsAbProxyAddresses, Data: []string{"a", ""}},
			"1f100f80 ff 02000000 ff 61000000 ff 0000"},
		{"mv binary", mapiprop.Value{Tag: mapiprop.NewTag(0x8000, mapiprop.PtypMultipleBinary), Data: [][]byte{{9}, nil}},
			"02110080 ff 02000000 ff 01000000 09 00"},
		{"mv int32", mapiprop.Value{Tag: mapiprop.NewTag(0x8001, mapiprop.PtypMultipleInteger32), Data: []int32{1}},
			"03100180 ff 01000000 01000000"},
		{"error", mapiprop.ErrorValue(mapiprop.PidTagTitle, mapiprop.ErrNotFound), "0a00173a 0f010480"},
		{"time", mapiprop.TimeValue(mapiprop.PidTagCreationTime, time.Date(1601, 1, 1, 0, 0, 1, 0, time.UTC)),
			"40000730 8096980000000000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWriter()
			w.taggedValue(c.v)
			if err := w.Err(); err != nil {
				t.Fatal(err)
			}
			want := unhex(t, c.hex)
			if !bytes.Equal(w.Bytes(), want) {
				t.Fatalf("encoded % x\nwant    % x", w.Bytes(), want)
			}
			r := newReader(want)
			got := r.taggedValue()
			if err := r.Err(); err != nil || r.Len() != 0 {
				t.Fatalf("decode: %v, %d left", err, r.Len())
			}
			if !reflect.DeepEqual(got, c.v) {
				t.Fatalf("decoded %#v, want %#v", got, c.v)
			}
		})
	}
}

// AddressBookPropertyRow (2.2.1.7): a standard row is the values; a
// flagged row has a flag per value (0 value, 1 unavailable, 0xA error),
// and PtypUnspecified columns add the type before it.
func TestGoldenPropertyRows(t *testing.T) {
	cols := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagTitle, mapiprop.PidTagDisplayType.WithType(mapiprop.PtypUnspecified)}
	rs := &RowSet{Columns: cols, Rows: []mapiprop.PropertyRow{
		{Values: []mapiprop.Value{mapiprop.StringValue(mapiprop.PidTagDisplayName, "A"),
			mapiprop.StringValue(mapiprop.PidTagTitle, "B"), mapiprop.Int32Value(mapiprop.PidTagDisplayType, 0)}},
		{Flagged: true, Values: []mapiprop.Value{mapiprop.StringValue(mapiprop.PidTagDisplayName, "C"),
			mapiprop.NullValue(mapiprop.PidTagTitle), mapiprop.ErrorValue(mapiprop.PidTagDisplayType.WithType(mapiprop.PtypUnspecified), mapiprop.ErrAccessDenied)}},
	}}
	w := newWriter()
	w.rowSet(rs)
	want := unhex(t, `
		03000000 1f000130 1f00173a 00000039
		02000000
		00  ff 41000000  ff 42000000  0300 00000000
		01  00 ff 43000000  01  0a00 0a 05000780`)
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("encoded % x\nwant    % x", w.Bytes(), want)
	}
	r := newReader(want)
	got := r.rowSet()
	if r.Err() != nil || !reflect.DeepEqual(got, rs) {
		t.Fatalf("decoded %+v, %v", got, r.Err())
	}
}

// Restrictions travel in their NSPI form: 32-bit And/Or counts, and the
// value of a Content or Property restriction behind a presence byte, as
// an address book tagged value.
func TestGoldenRestriction(t *testing.T) {
	res := &mapiprop.AndRestriction{Restrictions: []mapiprop.Restriction{
		&mapiprop.ContentRestriction{FuzzyLevelLow: mapiprop.FuzzyPrefix, FuzzyLevelHigh: mapiprop.FuzzyIgnoreCase,
			PropTag: mapiprop.PidTagDisplayName, Value: mapiprop.StringValue(mapiprop.PidTagDisplayName, "Al")},
		&mapiprop.ExistRestriction{PropTag: mapiprop.PidTagSmtpAddress},
	}}
	w := newWriter()
	w.restriction(res)
	want := unhex(t, `
		00 02000000
		03 0200 0100 1f000130 ff 1f000130 ff 41006c00 0000
		08 1f00fe39`)
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("encoded % x\nwant    % x", w.Bytes(), want)
	}
	r := newReader(want)
	if got := r.restriction(); r.Err() != nil || !reflect.DeepEqual(got, res) {
		t.Fatalf("decoded %#v, %v", got, r.Err())
	}
}

// sampleMessages holds one filled-in value of every request and response.
func sampleMessages() map[string]Message {
	st := &STAT{SortType: 0, ContainerID: 0x10, CurrentRec: 0x11, Delta: -3, NumPos: 4, TotalRecs: 5000,
		CodePage: 1252, TemplateLocale: 1033, SortLocale: 2057}
	cols := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagSmtpAddress, mapiprop.PidTagEntryId}
	rows := &RowSet{Columns: cols, Rows: []mapiprop.PropertyRow{
		{Values: []mapiprop.Value{mapiprop.StringValue(mapiprop.PidTagDisplayName, "Zoë Ünal"),
			mapiprop.StringValue(mapiprop.PidTagSmtpAddress, "zoe@example.com"),
			mapiprop.BinaryValue(mapiprop.PidTagEntryId, []byte{0, 0, 0, 0, 0xdc, 0xa7})}},
	}}
	version := uint32(7)
	dn := "/o=Pochta"
	delta := int32(-2)
	target := mapiprop.StringValue(mapiprop.PidTagDisplayName, "Bo")
	values := []mapiprop.Value{mapiprop.String8Value(mapiprop.PidTagDisplayName, "Café"),
		mapiprop.Int32Value(mapiprop.PidTagObjectType, 6)}
	filter := &mapiprop.OrRestriction{Restrictions: []mapiprop.Restriction{
		&mapiprop.PropertyRestriction{RelOp: mapiprop.RelOpEqual, PropTag: mapiprop.PidTagAnr, Value: mapiprop.StringValue(mapiprop.PidTagAnr, "bob")},
		&mapiprop.NotRestriction{Restriction: &mapiprop.BitmaskRestriction{RelOp: 1, PropTag: mapiprop.PidTagDisplayType, Mask: 1}},
		&mapiprop.CommentRestriction{Values: []mapiprop.Value{mapiprop.Int32Value(mapiprop.PidTagDepth, 1)}},
	}}
	ok := Result{ErrorCode: mapiprop.ErrWarnWithErrors}
	aux := []byte{1, 2, 3}
	return map[string]Message{
		"BindRequest":               &BindRequest{Flags: 0, State: st, Aux: aux},
		"BindResponse":              &BindResponse{Result: ok, ServerGUID: mapiprop.ProviderUIDAddressBook},
		"UnbindRequest":             &UnbindRequest{Reserved: 1},
		"UnbindResponse":            &UnbindResponse{Result: Result{ErrorCode: mapiprop.ErrUnbindSuccess}},
		"CompareMIdsRequest":        &CompareMIdsRequest{State: st, MinimalID1: 0x11, MinimalID2: 0x12},
		"CompareMIdsResponse":       &CompareMIdsResponse{Result: ok, Compared: -1},
		"DNToMIdRequest":            &DNToMIdRequest{Names: []string{dn, ""}},
		"DNToMIdResponse":           &DNToMIdResponse{MinimalIDs: []uint32{0x11, 0}},
		"GetMatchesRequest":         &GetMatchesRequest{State: st, MinimalIDs: []uint32{}, Filter: filter, PropertyName: &PropertyName{GUID: mapiprop.ProviderUIDOneOff, PropertyID: 9}, RowCount: 50, Columns: cols},
		"GetMatchesResponse":        &GetMatchesResponse{Result: ok, State: st, MinimalIDs: []uint32{0x11}, Rows: rows},
		"GetPropListRequest":        &GetPropListRequest{Flags: 1, MinimalID: 0x11, CodePage: 1252},
		"GetPropListResponse":       &GetPropListResponse{PropertyTags: cols},
		"GetPropsRequest":           &GetPropsRequest{Flags: FlagEphID, State: st, PropertyTags: cols},
		"GetPropsResponse":          &GetPropsResponse{Result: ok, CodePage: 1252, Values: values},
		"GetSpecialTableRequest":    &GetSpecialTableRequest{Flags: FlagUnicodeStrings, State: st, Version: &version},
		"GetSpecialTableResponse":   &GetSpecialTableResponse{CodePage: 1252, Version: &version, Rows: [][]mapiprop.Value{values, {}}},
		"GetTemplateInfoRequest":    &GetTemplateInfoRequest{Flags: FlagTemplate, DisplayType: 1, TemplateDN: &dn, CodePage: 1252, LocaleID: 1033},
		"GetTemplateInfoResponse":   &GetTemplateInfoResponse{CodePage: 1252, Row: values},
		"ModLinkAttRequest":         &ModLinkAttRequest{Flags: 1, PropertyTag: mapiprop.PidTagEmsAbProxyAddresses, MinimalID: 0x11, EntryIDs: [][]byte{{1}, {}}},
		"ModLinkAttResponse":        &ModLinkAttResponse{Result: Result{ErrorCode: mapiprop.ErrNotSupported}},
		"ModPropsRequest":           &ModPropsRequest{State: st, PropertyTagsToRemove: cols, Values: values},
		"ModPropsResponse":          &ModPropsResponse{},
		"QueryColumnsRequest":       &QueryColumnsRequest{MapiFlags: FlagUnicodeProptypes},
		"QueryColumnsResponse":      &QueryColumnsResponse{Columns: cols},
		"QueryRowsRequest":          &QueryRowsRequest{Flags: FlagEphID, State: st, ExplicitTable: []uint32{0x11, 0x12}, RowCount: 100, Columns: cols},
		"QueryRowsResponse":         &QueryRowsResponse{State: st, Rows: rows},
		"ResolveNamesRequest":       &ResolveNamesRequest{Reserved: 0x80000000, State: st, PropertyTags: cols, Names: []string{"bob", "=SMTP:a@b.c", ""}},
		"ResolveNamesResponse":      &ResolveNamesResponse{CodePage: 1252, MinimalIDs: []uint32{MIdResolved, MIdAmbiguous}, Rows: rows},
		"ResortRestrictionRequest":  &ResortRestrictionRequest{State: st, MinimalIDs: []uint32{3, 2, 1}},
		"ResortRestrictionResponse": &ResortRestrictionResponse{State: st, MinimalIDs: []uint32{1, 2, 3}},
		"SeekEntriesRequest":        &SeekEntriesRequest{State: st, Target: &target, ExplicitTable: []uint32{0x11}, Columns: cols},
		"SeekEntriesResponse":       &SeekEntriesResponse{State: st, Rows: rows},
		"UpdateStatRequest":         &UpdateStatRequest{State: st, DeltaRequested: true},
		"UpdateStatResponse":        &UpdateStatResponse{State: st, Delta: &delta},
		"GetMailboxURLRequest":      &GetMailboxURLRequest{Flags: 0, ServerDN: "/o=Pochta/cn=Servers/cn=mail"},
		"GetMailboxURLResponse":     &GetMailboxURLResponse{ServerURL: "https://mail.example.com/mapi/emsmdb/?MailboxId=x"},
		"GetAddressBookURLRequest":  &GetAddressBookURLRequest{UserDN: dn},
		"GetAddressBookURLResponse": &GetAddressBookURLResponse{ServerURL: "https://mail.example.com/mapi/nspi/"},
	}
}

// Every message survives Marshal/Unmarshal unchanged, and so do the bytes.
func TestRoundTripEveryMessage(t *testing.T) {
	for name, m := range sampleMessages() {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			back := reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
			if err := Unmarshal(b, back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, m) {
				t.Fatalf("decoded\n%#v\nwant\n%#v", back, m)
			}
			again, err := Marshal(back)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoded differently: %v", err)
			}
			// Every strict prefix is an error, never a panic or a success
			// that made up the missing bytes.
			for i := range b {
				short := reflect.New(reflect.TypeOf(m).Elem()).Interface().(Message)
				if err := Unmarshal(b[:i], short); err == nil {
					t.Fatalf("prefix of %d/%d bytes decoded without error", i, len(b))
				}
			}
		})
	}
	// Every request type has a request and a response.
	for _, typ := range RequestTypes {
		if NewRequest(strings.ToUpper(typ)) == nil || NewResponse(strings.ToLower(typ)) == nil {
			t.Errorf("no message for %s", typ)
		}
	}
	if NewRequest("Connect") != nil {
		t.Error("Connect is not an NSPI request")
	}
}

func TestHostileCountsFailCleanly(t *testing.T) {
	cases := map[string]string{
		"huge MId count":       "00000000 00 ffffffff",                   // QueryRows: no STAT, ExplicitTableCount 2^32-1
		"huge names":           "00000000 ff ffffff7f",                   // DNToMId
		"bad HasValue":         "00000000 00 00 ff 01000000 1f000130 07", // ModProps: a string value with HasValue 0x07
		"deep restriction":     "00000000 00 00 00000000 ff" + strings.Repeat("02", 100),
		"unterminated unicode": "00000000 4100",
	}
	types := map[string]Message{
		"huge MId count": &QueryRowsRequest{}, "huge names": &DNToMIdRequest{},
		"bad HasValue": &ModPropsRequest{}, "deep restriction": &GetMatchesRequest{},
		"unterminated unicode": &GetMailboxURLRequest{},
	}
	for name, h := range cases {
		err := Unmarshal(unhex(t, h), types[name])
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}
