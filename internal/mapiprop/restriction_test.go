package mapiprop

import (
	"bytes"
	"reflect"
	"testing"
)

// allRestrictions has one of every restriction type, nested.
func allRestrictions() Restriction {
	return &AndRestriction{Restrictions: []Restriction{
		&OrRestriction{Restrictions: []Restriction{
			&ContentRestriction{FuzzyLevelLow: FuzzySubstring, FuzzyLevelHigh: FuzzyIgnoreCase, PropTag: PidTagSubject, Value: StringValue(PidTagSubject, "report")},
			&NotRestriction{Restriction: &ExistRestriction{PropTag: PidTagBody}},
		}},
		&PropertyRestriction{RelOp: RelOpGreaterThanOrEqual, PropTag: PidTagMessageSize, Value: Int32Value(PidTagMessageSize, 1024)},
		&ComparePropertiesRestriction{RelOp: RelOpNotEqual, PropTag1: PidTagSenderName, PropTag2: PidTagSentRepresentingName},
		&BitmaskRestriction{RelOp: BitmaskNotEqualZero, PropTag: PidTagMessageFlags, Mask: uint32(MessageFlagRead)},
		&SizeRestriction{RelOp: RelOpLessThan, PropTag: PidTagBody, Size: 100},
		&SubObjectRestriction{SubObject: PidTagMessageRecipients, Restriction: &ExistRestriction{PropTag: PidTagSmtpAddress}},
		&CommentRestriction{Values: []Value{StringValue(NewTag(0x6707, 0), "note")}, Restriction: &ExistRestriction{PropTag: PidTagSubject}},
		&CommentRestriction{Values: []Value{}},
		&CountRestriction{Count: 5, Restriction: &ExistRestriction{PropTag: PidTagMid}},
	}}
}

func TestRestrictionRoundTrip(t *testing.T) {
	for _, wide := range []bool{false, true} {
		res := allRestrictions()
		w := NewWriter()
		w.Wide = wide
		w.Restriction(res)
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
		r := NewReader(w.Bytes())
		r.Wide = wide
		got := r.Restriction()
		if r.Err() != nil || r.Len() != 0 {
			t.Fatalf("wide=%v: err %v, %d left", wide, r.Err(), r.Len())
		}
		if !reflect.DeepEqual(got, res) {
			t.Fatalf("wide=%v: got %#v", wide, got)
		}
	}
}

func TestRestrictionLayout(t *testing.T) {
	// And of one Exist: type 00, count u16 1, type 08, tag.
	w := NewWriter()
	w.Restriction(&AndRestriction{Restrictions: []Restriction{&ExistRestriction{PropTag: PidTagSubject}}})
	if want := unhex(t, "00 0100 08 1f003700"); !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x", w.Bytes())
	}
	// Content: type 03, fuzzy low/high u16, tag, tagged value.
	w = NewWriter()
	w.Restriction(&ContentRestriction{FuzzyLevelLow: FuzzyPrefix, FuzzyLevelHigh: FuzzyIgnoreCase, PropTag: PidTagSubject, Value: StringValue(PidTagSubject, "a")})
	if want := unhex(t, "03 0200 0100 1f003700 1f003700 6100 0000"); !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x", w.Bytes())
	}
	// Sized restriction: u16 size prefix; nil is size 0.
	w = NewWriter()
	w.SizedRestriction(&ExistRestriction{PropTag: PidTagSubject})
	w.SizedRestriction(nil)
	if want := unhex(t, "0500 08 1f003700 0000"); !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("got % x", w.Bytes())
	}
	r := NewReader(w.Bytes())
	if res := r.SizedRestriction(); res == nil || r.SizedRestriction() != nil || r.Err() != nil {
		t.Fatal("sized restriction decode")
	}
}

func TestRestrictionHostile(t *testing.T) {
	deep := bytes.Repeat([]byte{RestrictNot}, 200)
	deep = append(deep, 0x08, 0x1f, 0, 0x37, 0)
	cases := map[string][]byte{
		"too deep":        deep,
		"bad type":        {0x0C},
		"and count":       unhex(t, "00 ffff"),
		"truncated prop":  unhex(t, "04 04 1f003700"),
		"comment present": unhex(t, "0a 00 02"),
		"sized overrun":   unhex(t, "0200 08 1f003700"),
	}
	for name, b := range cases {
		r := NewReader(b)
		if name == "sized overrun" {
			r.SizedRestriction()
		} else {
			r.Restriction()
		}
		if r.Err() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	w := NewWriter()
	var res Restriction = &ExistRestriction{PropTag: PidTagSubject}
	for i := 0; i < 100; i++ {
		res = &NotRestriction{Restriction: res}
	}
	w.Restriction(res)
	if w.Err() == nil {
		t.Error("encoding a too-deep restriction succeeded")
	}
}

// props is a property bag for Evaluate tests.
type props map[uint16]Value

func (p props) get(t Tag) (Value, bool) {
	v, ok := p[t.ID()]
	return v, ok
}

func message() props {
	return props{
		0x0037: StringValue(PidTagSubject, "Quarterly Report – Zürich office"),
		0x001A: String8Value(PidTagMessageClass, "IPM.Note"),
		0x0E07: Int32Value(PidTagMessageFlags, MessageFlagRead|MessageFlagHasAttach),
		0x0E08: Int32Value(PidTagMessageSize, 2048),
		0x0E06: TimeValue(PidTagMessageDeliveryTime, FileTimeToTime(0x01D9C2A4E1F0C800)),
		0x0C1A: StringValue(PidTagSenderName, "Alice"),
		0x0042: StringValue(PidTagSentRepresentingName, "alice"),
		0x1000: StringValue(PidTagBody, "hi"),
		0x0FFF: BinaryValue(PidTagEntryId, []byte{1, 2, 3, 4}),
		0x800F: {PidTagEmsAbProxyAddresses, []string{"SMTP:a@x.org", "smtp:alias@x.org"}},
		0x0017: Int32Value(PidTagImportance, 2),
		0x0E1B: BoolValue(PidTagHasAttachments, true),
		0x3007: ErrorValue(PidTagCreationTime, ErrNotFound),
	}
}

func TestEvaluateContent(t *testing.T) {
	m := message()
	content := func(low, high uint16, tag Tag, v Value) bool {
		return Evaluate(&ContentRestriction{FuzzyLevelLow: low, FuzzyLevelHigh: high, PropTag: tag, Value: v}, m.get)
	}
	subj := func(s string) Value { return StringValue(PidTagSubject, s) }
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"fullstring exact", content(FuzzyFullString, 0, PidTagSubject, subj("Quarterly Report – Zürich office")), true},
		{"fullstring partial", content(FuzzyFullString, 0, PidTagSubject, subj("Quarterly")), false},
		{"substring case-sensitive miss", content(FuzzySubstring, 0, PidTagSubject, subj("report")), false},
		{"substring ignorecase", content(FuzzySubstring, FuzzyIgnoreCase, PidTagSubject, subj("report")), true},
		{"prefix", content(FuzzyPrefix, 0, PidTagSubject, subj("Quarterly")), true},
		{"prefix miss", content(FuzzyPrefix, 0, PidTagSubject, subj("Report")), false},
		{"nonspace miss", content(FuzzySubstring, 0, PidTagSubject, subj("Zurich")), false},
		{"ignorenonspace", content(FuzzySubstring, FuzzyIgnoreNonSpace, PidTagSubject, subj("Zurich")), true},
		{"loose", content(FuzzySubstring, FuzzyLoose, PidTagSubject, subj("zurich OFFICE")), true},
		{"prefix on any word", content(FuzzyPrefixOnAnyWord, FuzzyIgnoreCase, PidTagSubject, subj("rep")), true},
		{"prefix on any word miss", content(FuzzyPrefixOnAnyWord, FuzzyIgnoreCase, PidTagSubject, subj("port")), false},
		{"phrase match", content(FuzzyPhraseMatch, FuzzyIgnoreCase, PidTagSubject, subj("report")), true},
		{"phrase inside word", content(FuzzyPhraseMatch, FuzzyIgnoreCase, PidTagSubject, subj("port")), false},
		{"string8 property", content(FuzzyPrefix, 0, PidTagMessageClass, StringValue(PidTagMessageClass, "IPM.")), true},
		{"binary substring", content(FuzzySubstring, 0, PidTagEntryId, BinaryValue(PidTagEntryId, []byte{2, 3})), true},
		{"binary full miss", content(FuzzyFullString, 0, PidTagEntryId, BinaryValue(PidTagEntryId, []byte{2, 3})), false},
		{"multi-valued property", content(FuzzyPrefix, FuzzyIgnoreCase, PidTagEmsAbProxyAddresses, StringValue(PidTagEmsAbProxyAddresses, "smtp:alias")), true},
		{"missing property", content(FuzzySubstring, 0, PidTagComment, StringValue(PidTagComment, "")), false},
		{"type mismatch", content(FuzzySubstring, 0, PidTagSubject, BinaryValue(PidTagSubject, []byte("Q"))), false},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEvaluateRelops(t *testing.T) {
	m := message()
	prop := func(op uint8, v Value) bool {
		return Evaluate(&PropertyRestriction{RelOp: op, PropTag: v.Tag, Value: v}, m.get)
	}
	size := func(n int32) Value { return Int32Value(PidTagMessageSize, n) }
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"lt", prop(RelOpLessThan, size(4096)), true},
		{"lt equal", prop(RelOpLessThan, size(2048)), false},
		{"le", prop(RelOpLessThanOrEqual, size(2048)), true},
		{"gt", prop(RelOpGreaterThan, size(2047)), true},
		{"ge", prop(RelOpGreaterThanOrEqual, size(2049)), false},
		{"eq", prop(RelOpEqual, size(2048)), true},
		{"ne", prop(RelOpNotEqual, size(2048)), false},
		{"int width mix", prop(RelOpEqual, Int64Value(PidTagMessageSize, 2048)), true},
		{"string eq ignores case", prop(RelOpEqual, StringValue(PidTagMessageClass, "ipm.note")), true},
		{"string ordering", prop(RelOpLessThan, StringValue(PidTagSenderName, "Bob")), true},
		{"time", prop(RelOpGreaterThan, TimeValue(PidTagMessageDeliveryTime, FileTimeToTime(0x01D9000000000000))), true},
		{"bool", prop(RelOpEqual, BoolValue(PidTagHasAttachments, true)), true},
		{"mv any", prop(RelOpEqual, StringValue(PidTagEmsAbProxyAddresses, "SMTP:A@X.ORG")), true},
		{"regex", prop(RelOpRegex, StringValue(PidTagSubject, "^quarterly.*office$")), true},
		{"bad regex", prop(RelOpRegex, StringValue(PidTagSubject, "(")), false},
		{"incomparable", prop(RelOpEqual, StringValue(PidTagMessageSize, "2048")), false},
		{"missing ne", prop(RelOpNotEqual, StringValue(PidTagComment, "x")), false},
		{"error value is missing", prop(RelOpNotEqual, TimeValue(PidTagCreationTime, FileTimeToTime(1))), false},
		{"member of DL without resolver", prop(RelOpMemberOfDL, BinaryValue(PidTagEntryId, []byte{1})), false},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEvaluateOthers(t *testing.T) {
	m := message()
	ev := func(r Restriction) bool { return Evaluate(r, m.get) }
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"compare props eq (case-insensitive)", ev(&ComparePropertiesRestriction{RelOp: RelOpEqual, PropTag1: PidTagSenderName, PropTag2: PidTagSentRepresentingName}), true},
		{"compare props missing", ev(&ComparePropertiesRestriction{RelOp: RelOpNotEqual, PropTag1: PidTagSenderName, PropTag2: PidTagComment}), false},
		{"bitmask nez", ev(&BitmaskRestriction{RelOp: BitmaskNotEqualZero, PropTag: PidTagMessageFlags, Mask: uint32(MessageFlagRead)}), true},
		{"bitmask eqz", ev(&BitmaskRestriction{RelOp: BitmaskEqualZero, PropTag: PidTagMessageFlags, Mask: uint32(MessageFlagSubmitted)}), true},
		{"bitmask eqz set bit", ev(&BitmaskRestriction{RelOp: BitmaskEqualZero, PropTag: PidTagMessageFlags, Mask: uint32(MessageFlagHasAttach)}), false},
		{"bitmask missing", ev(&BitmaskRestriction{RelOp: BitmaskEqualZero, PropTag: PidTagAccess, Mask: 1}), false},
		{"size string", ev(&SizeRestriction{RelOp: RelOpEqual, PropTag: PidTagBody, Size: 6}), true},
		{"size binary", ev(&SizeRestriction{RelOp: RelOpGreaterThan, PropTag: PidTagEntryId, Size: 3}), true},
		{"exist", ev(&ExistRestriction{PropTag: PidTagBody}), true},
		{"exist error value", ev(&ExistRestriction{PropTag: PidTagCreationTime}), false},
		{"not", ev(&NotRestriction{Restriction: &ExistRestriction{PropTag: PidTagComment}}), true},
		{"and", ev(&AndRestriction{Restrictions: []Restriction{&ExistRestriction{PropTag: PidTagBody}, &ExistRestriction{PropTag: PidTagComment}}}), false},
		{"or", ev(&OrRestriction{Restrictions: []Restriction{&ExistRestriction{PropTag: PidTagBody}, &ExistRestriction{PropTag: PidTagComment}}}), true},
		{"empty and", ev(&AndRestriction{}), true},
		{"empty or", ev(&OrRestriction{}), false},
		{"comment without child", ev(&CommentRestriction{Values: []Value{StringValue(PidTagComment, "x")}}), true},
		{"comment with child", ev(&CommentRestriction{Restriction: &ExistRestriction{PropTag: PidTagComment}}), false},
		{"subobject without access", ev(&SubObjectRestriction{SubObject: PidTagMessageRecipients, Restriction: &AndRestriction{}}), false},
		{"full tree", ev(allRestrictions()), false},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEvaluatorSubObjectsCountAndDL(t *testing.T) {
	recips := []props{
		{0x39FE: StringValue(PidTagSmtpAddress, "bob@x.org"), 0x0C15: Int32Value(PidTagRecipientType, RecipientTo)},
		{0x39FE: StringValue(PidTagSmtpAddress, "eve@x.org"), 0x0C15: Int32Value(PidTagRecipientType, RecipientBcc)},
	}
	e := Evaluator{
		GetProp: message().get,
		SubObjects: func(t Tag) []func(Tag) (Value, bool) {
			if t != PidTagMessageRecipients {
				return nil
			}
			var out []func(Tag) (Value, bool)
			for _, r := range recips {
				out = append(out, r.get)
			}
			return out
		},
		MemberOfDL: func(p, dl Value) bool { s, _ := p.AsString(); return s == "Alice" },
	}
	bcc := &SubObjectRestriction{SubObject: PidTagMessageRecipients, Restriction: &AndRestriction{Restrictions: []Restriction{
		&PropertyRestriction{RelOp: RelOpEqual, PropTag: PidTagRecipientType, Value: Int32Value(PidTagRecipientType, RecipientBcc)},
		&ContentRestriction{FuzzyLevelLow: FuzzyPrefix, PropTag: PidTagSmtpAddress, Value: StringValue(PidTagSmtpAddress, "eve")},
	}}}
	if !e.Match(bcc) {
		t.Error("recipient sub-object did not match")
	}
	if e.Match(&SubObjectRestriction{SubObject: PidTagMessageAttachments, Restriction: &AndRestriction{}}) {
		t.Error("attachment sub-object matched with no attachments")
	}
	if !e.Match(&PropertyRestriction{RelOp: RelOpMemberOfDL, PropTag: PidTagSenderName, Value: BinaryValue(PidTagEntryId, nil)}) {
		t.Error("MemberOfDL resolver not used")
	}
	// Count: only the first 2 matching objects pass.
	cnt := &CountRestriction{Count: 2, Restriction: &ExistRestriction{PropTag: PidTagSubject}}
	var got []bool
	for i := 0; i < 4; i++ {
		got = append(got, e.Match(cnt))
	}
	if !reflect.DeepEqual(got, []bool{true, true, false, false}) {
		t.Errorf("count restriction gave %v", got)
	}
	if Evaluate(&CountRestriction{Count: 0, Restriction: &AndRestriction{}}, message().get) {
		t.Error("count 0 matched")
	}
}

func TestStripDiacriticsTable(t *testing.T) {
	in := "ÀÉÎõüÿ ĀčĐęĞħİĴķĹłŃňŌőŔšŢťŨűŵŷŸŹžſ Æß"
	want := "AEIouy AcDeGhIJkLlNnOoRsTtUuwyYZzſ Æß"
	if got := stripDiacritics(in); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := stripDiacritics("e\u0301"); got != "e" {
		t.Errorf("combining mark kept: %q", got)
	}
}

func TestCompareValues(t *testing.T) {
	c, ok := CompareValues(Value{PidTagEmsAbProxyAddresses, []string{"a", "b"}}, Value{PidTagEmsAbProxyAddresses, []string{"a", "c"}})
	if !ok || c >= 0 {
		t.Errorf("mv compare = %d %v", c, ok)
	}
	if c, ok := CompareValues(Value{0, 1.5}, Int32Value(0, 1)); !ok || c <= 0 {
		t.Errorf("float vs int = %d %v", c, ok)
	}
	if _, ok := CompareValues(Value{0, GUID{}}, Int32Value(0, 1)); ok {
		t.Error("guid vs int compared")
	}
}
