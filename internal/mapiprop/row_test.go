package mapiprop

import (
	"bytes"
	"reflect"
	"testing"
)

func TestStandardRow(t *testing.T) {
	cols := []Tag{PidTagMid, PidTagSubject, NewTag(0x0E07, PtypUnspecified)}
	row := NewPropertyRow(cols, []Value{
		Int64Value(PidTagMid, 0x0D00000000000001),
		StringValue(PidTagSubject, "Hi"),
		Int32Value(PidTagMessageFlags, 1),
	})
	if row.Flagged {
		t.Fatal("row with all values should be standard")
	}
	w := NewWriter()
	w.PropertyRow(cols, row)
	// Flag 00, I8, UTF-16 "Hi", typed I4 (type 0x0003 + value).
	want := unhex(t, "00 010000000000000d 4800690000 00 0300 01000000")
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x\nwant % x", w.Bytes(), want)
	}
	got := NewReader(w.Bytes()).PropertyRow(cols)
	if !reflect.DeepEqual(got, row) {
		t.Fatalf("got %#v", got)
	}
	if v, ok := got.Get(0x0037); !ok || v.Data != "Hi" {
		t.Errorf("Get subject = %v %v", v, ok)
	}
}

func TestFlaggedRow(t *testing.T) {
	cols := []Tag{PidTagSubject, PidTagBody, NewTag(0x0E08, PtypUnspecified), NewTag(0x1000, PtypUnspecified), PidTagImportance}
	row := NewPropertyRow(cols, []Value{
		StringValue(PidTagSubject, "S"),
		ErrorValue(PidTagBody, ErrMAPIOOM),
		NullValue(NewTag(0x0E08, PtypUnspecified)),
		ErrorValue(NewTag(0x1000, 0), ErrNotFound),
		Int32Value(PidTagImportance, 2),
	})
	if !row.Flagged {
		t.Fatal("row with an error should be flagged")
	}
	w := NewWriter()
	w.PropertyRow(cols, row)
	want := unhex(t, "01"+
		"00 5300 0000"+ // subject: flag 0 + UTF-16 "S"
		"0a 0e000780"+ // body: error ecMAPIOOM
		"0000 01"+ // unspecified, unavailable
		"0a00 0a 0f010480"+ // unspecified, error typed as PtypErrorCode
		"00 02000000") // importance
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x\nwant % x", w.Bytes(), want)
	}
	got := NewReader(w.Bytes()).PropertyRow(cols)
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, row) {
		t.Fatalf("got %#v\nwant %#v", got, row)
	}
	if _, ok := got.Get(0x1000); ok {
		t.Error("Get returned an error value")
	}
}

func TestMultiValueInstanceColumn(t *testing.T) {
	col := PidTagEmsAbProxyAddresses.WithType(PtypMultipleString | MultiValueInstance)
	row := PropertyRow{Values: []Value{StringValue(col, "SMTP:a@b")}}
	w := NewWriter()
	w.PropertyRow([]Tag{col}, row)
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	got := NewReader(w.Bytes()).PropertyRow([]Tag{col})
	if got.Values[0].Tag != PidTagEmsAbProxyAddresses.WithType(PtypString) || got.Values[0].Data != "SMTP:a@b" {
		t.Fatalf("got %v", got.Values[0])
	}
}

func TestRowErrors(t *testing.T) {
	cols := []Tag{PidTagSubject}
	w := NewWriter()
	w.PropertyRow(cols, PropertyRow{Values: []Value{ErrorValue(PidTagSubject, ErrNotFound)}})
	if w.Err() == nil {
		t.Error("standard row with an error value encoded")
	}
	w = NewWriter()
	w.PropertyRow(cols, PropertyRow{})
	if w.Err() == nil {
		t.Error("row with too few values encoded")
	}
	for _, h := range []string{"02", "01 07", "00 4100", "00"} {
		r := NewReader(unhex(t, h))
		r.PropertyRow(cols)
		if r.Err() == nil {
			t.Errorf("%s decoded without error", h)
		}
	}
	r := NewReader(unhex(t, "00 ffff 00"))
	r.PropertyRow([]Tag{NewTag(1, PtypUnspecified)})
	if r.Err() == nil {
		t.Error("unknown typed value decoded")
	}
}

func TestTypedString(t *testing.T) {
	cases := []struct {
		s   TypedString
		hex string
	}{
		{NewTypedString("", false), "00"},
		{NewTypedString("", true), "01"},
		{NewTypedString("Hé", true), "03 48e900"},
		{NewTypedString("Hи", true), "04 4800 3804 0000"},
		{TypedString{Type: TypedString8, Value: "€"}, "02 8000"},
	}
	for _, c := range cases {
		w := NewWriter()
		w.TypedString(c.s)
		if want := unhex(t, c.hex); !bytes.Equal(w.Bytes(), want) {
			t.Errorf("%v: got % x want % x", c.s, w.Bytes(), want)
		}
		r := NewReader(w.Bytes())
		if got := r.TypedString(); got != c.s || r.Err() != nil {
			t.Errorf("%v: decoded %v, %v", c.s, got, r.Err())
		}
	}
	r := NewReader([]byte{9})
	r.TypedString()
	if r.Err() == nil {
		t.Error("TypedString type 9 accepted")
	}
}

func TestRecipientRowRulerShape(t *testing.T) {
	// ruler's ModifyRecipients row (MAPI.md §6.5): SMTP|E|D|T|U with three
	// strings and 8 columns.
	cols := []Tag{PidTagObjectType, PidTagDisplayType, PidTagEmailAddress, PidTagSendInternetEncoding,
		PidTagDisplayTypeEx, PidTagRecipientDisplayName, PidTagRecipientFlags, PidTagRecipientTrackStatus}
	rr := RecipientRow{
		Flags:                    0x023B,
		EmailAddress:             "bob@example.com",
		DisplayName:              "Bob",
		TransmittableDisplayName: "Bob",
		ColumnCount:              8,
		Properties: PropertyRow{Values: []Value{
			Int32Value(PidTagObjectType, 6), Int32Value(PidTagDisplayType, 0),
			StringValue(PidTagEmailAddress, "bob@example.com"), Int32Value(PidTagSendInternetEncoding, 0),
			Int32Value(PidTagDisplayTypeEx, 0), StringValue(PidTagRecipientDisplayName, "Bob"),
			Int32Value(PidTagRecipientFlags, 1), Int32Value(PidTagRecipientTrackStatus, 0),
		}},
	}
	w := NewWriter()
	w.RecipientRow(cols, &rr)
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(w.Bytes(), unhex(t, "3b02 6200 6f00 6200 4000")) {
		t.Fatalf("prefix % x", w.Bytes()[:10])
	}
	got := NewReader(w.Bytes()).RecipientRow(cols)
	if !reflect.DeepEqual(got, rr) {
		t.Fatalf("got %#v", got)
	}
}

func TestRecipientRowVariants(t *testing.T) {
	cols := []Tag{PidTagRecipientType, PidTagDisplayName}
	rows := []RecipientRow{
		{Flags: RecipientTypeX500DN | RecipientFlagDisplay, AddressPrefixUsed: 3, DisplayType: 0, X500DN: "/o=X/cn=Recipients/cn=bob",
			DisplayName: "Bob (8-bit é)", ColumnCount: 1, Properties: PropertyRow{Values: []Value{Int32Value(PidTagRecipientType, 1)}}},
		{Flags: RecipientTypePDL1 | RecipientFlagUnicode | RecipientFlagSimple, EntryID: []byte{1, 2}, SearchKey: []byte{},
			SimpleDisplayName: "List", ColumnCount: 2, Properties: PropertyRow{Values: []Value{Int32Value(PidTagRecipientType, 2), StringValue(PidTagDisplayName, "L")}}},
		{Flags: RecipientFlagOutOfStd | RecipientFlagEmail | RecipientFlagUnicode, AddressType: "FAX", EmailAddress: "+1 555",
			ColumnCount: 0, Properties: PropertyRow{Values: []Value{}}},
	}
	for i, rr := range rows {
		w := NewWriter()
		w.RecipientRow(cols, &rr)
		if err := w.Err(); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		r := NewReader(w.Bytes())
		got := r.RecipientRow(cols)
		if r.Err() != nil || r.Len() != 0 || !reflect.DeepEqual(got, rr) {
			t.Errorf("row %d: got %#v, err %v", i, got, r.Err())
		}
	}
	r := NewReader(unhex(t, "1000 4100 0500"))
	r.RecipientRow(cols)
	if r.Err() == nil {
		t.Error("ColumnCount beyond the column list accepted")
	}
}

func TestPropertyName(t *testing.T) {
	names := []PropertyName{
		LIDName(PSETID_Common, 0x8520),
		StringName(PS_PUBLIC_STRINGS, "Keywords"),
		{Kind: KindNone, GUID: PS_MAPI},
	}
	w := NewWriter()
	w.PropertyNames(names)
	b := w.Bytes()
	// Count, then kind 0 + GUID + LID.
	if !bytes.HasPrefix(b, unhex(t, "0300 00 08200600 0000 0000 c000000000000046 20850000 01")) {
		t.Fatalf("got % x", b[:30])
	}
	// NameSize counts the terminator: "Keywords" = 8 chars = 18 bytes.
	if b[2+21+17] != 18 {
		t.Fatalf("NameSize = %d", b[2+21+17])
	}
	r := NewReader(b)
	if got := r.PropertyNames(); !reflect.DeepEqual(got, names) || r.Len() != 0 {
		t.Fatalf("got %v (%v)", got, r.Err())
	}
	w = NewWriter()
	w.PropertyName(StringName(PS_MAPI, strings128()))
	if w.Err() == nil {
		t.Error("over-long name encoded")
	}
}

func strings128() string { return string(bytes.Repeat([]byte("x"), 128)) }

func TestSortOrderSet(t *testing.T) {
	s := SortOrderSet{CategorizedCount: 1, ExpandedCount: 1, SortOrders: []SortOrder{
		{PropTag: PidTagConversationTopic, Order: SortAscending},
		{PropTag: PidTagMessageDeliveryTime, Order: SortDescending},
	}}
	w := NewWriter()
	w.SortOrderSet(s)
	want := unhex(t, "0200 0100 0100 1f007000 00 4000060e 01")
	if !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x", w.Bytes())
	}
	if got := NewReader(want).SortOrderSet(); !reflect.DeepEqual(got, s) {
		t.Fatalf("got %v", got)
	}
	r := NewReader(unhex(t, "0100 0200 0000 1f007000 00"))
	r.SortOrderSet()
	if r.Err() == nil {
		t.Error("more categories than keys accepted")
	}
}

func TestNewPropertyRowFlagsErrorsInUnspecifiedColumns(t *testing.T) {
	cols := []Tag{NewTag(0x0037, PtypUnspecified)}
	if !NewPropertyRow(cols, []Value{ErrorValue(PidTagSubject, ErrNotFound)}).Flagged {
		t.Error("error in an unspecified column gave a standard row")
	}
	if NewPropertyRow(cols, []Value{StringValue(PidTagSubject, "s")}).Flagged {
		t.Error("plain value gave a flagged row")
	}
	if NewPropertyRow([]Tag{NewTag(1, PtypErrorCode)}, []Value{ErrorValue(NewTag(1, 0), ErrNotFound)}).Flagged {
		t.Error("error in a PtypErrorCode column gave a flagged row")
	}
}
