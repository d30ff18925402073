package rop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

func segment(flags uint16, payload []byte, actual int) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(payload)))
	b = binary.LittleEndian.AppendUint16(b, uint16(actual))
	return append(b, payload...)
}

func xored(b []byte) []byte {
	c := append([]byte{}, b...)
	xorMagic(c)
	return c
}

func TestExtendedBufferVariants(t *testing.T) {
	plain := bytes.Repeat([]byte("ROP payload "), 40)
	comp := compressLZ77(plain)
	if len(comp) >= len(plain) {
		t.Fatal("test payload does not compress")
	}
	cases := map[string][]byte{
		"plain":              segment(HeaderFlagLast, plain, len(plain)),
		"xor":                segment(HeaderFlagLast|HeaderFlagXorMagic, xored(plain), len(plain)),
		"compressed":         segment(HeaderFlagLast|HeaderFlagCompressed, comp, len(plain)),
		"compressed and xor": segment(HeaderFlagLast|HeaderFlagCompressed|HeaderFlagXorMagic, xored(comp), len(plain)),
		"built by BuildExtendedBuffer": func() []byte {
			b, err := BuildExtendedBuffer(plain)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}(),
	}
	for name, b := range cases {
		segs, err := ParseExtendedBuffer(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(segs) != 1 || !bytes.Equal(segs[0].Payload, plain) {
			t.Fatalf("%s: payload mismatch", name)
		}
	}
	// Multiple segments: only the last carries Last.
	multi := append(segment(HeaderFlagCompressed, comp, len(plain)), segment(HeaderFlagLast|HeaderFlagXorMagic, xored([]byte("tail")), 4)...)
	segs, err := ParseExtendedBuffer(multi)
	if err != nil || len(segs) != 2 || !bytes.Equal(segs[0].Payload, plain) || string(segs[1].Payload) != "tail" {
		t.Fatalf("multi: %v %v", segs, err)
	}
	built, err := BuildExtendedBuffer([]byte("one"), []byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, append(segment(0, []byte("one"), 3), segment(HeaderFlagLast, []byte("two"), 3)...)) {
		t.Fatalf("built % x", built)
	}
	// The header records what was on the wire.
	if segs[0].Header != (HeaderExt{Flags: HeaderFlagCompressed, Size: uint16(len(comp)), SizeActual: uint16(len(plain))}) {
		t.Errorf("header %+v", segs[0].Header)
	}
}

func TestExtendedBufferErrors(t *testing.T) {
	ok := segment(HeaderFlagLast, []byte("abc"), 3)
	bad := map[string][]byte{
		"empty":            nil,
		"short header":     ok[:5],
		"version":          append([]byte{1, 0}, ok[2:]...),
		"size past end":    segment(HeaderFlagLast, []byte("abc"), 3)[:9],
		"no last":          segment(0, []byte("abc"), 3),
		"trailing":         append(append([]byte{}, ok...), 0),
		"size mismatch":    segment(HeaderFlagLast, []byte("abc"), 4),
		"bad compression":  segment(HeaderFlagLast|HeaderFlagCompressed, []byte{0xff, 0xff, 0xff, 0xff, 8, 0}, 10),
		"compressed short": segment(HeaderFlagLast|HeaderFlagCompressed, compressLZ77([]byte("abcd")), 9),
	}
	for name, b := range bad {
		if _, err := ParseExtendedBuffer(b); !errors.Is(err, ErrFraming) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := BuildExtendedBuffer(make([]byte, 70000)); err == nil {
		t.Error("oversized payload framed")
	}
	if _, err := BuildExtendedBuffer(); err == nil {
		t.Error("no payload framed")
	}
}

func TestROPBufferFraming(t *testing.T) {
	b, err := ROPBuffer{Rops: []byte{0x15, 0, 0, 0, 1, 0x32, 0}, Handles: []uint32{0x0C000001, EmptyHandle}}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "0900 15000000013200 0100000c ffffffff"); !bytes.Equal(b, want) {
		t.Fatalf("got % x", b)
	}
	rb, err := ParseROPBuffer(b)
	if err != nil || !reflect.DeepEqual(rb.Handles, []uint32{0x0C000001, EmptyHandle}) || len(rb.Rops) != 7 {
		t.Fatalf("parse: %+v %v", rb, err)
	}
	// No handle table at all is allowed.
	if rb, err := ParseROPBuffer(unhex(t, "0200")); err != nil || len(rb.Rops) != 0 || len(rb.Handles) != 0 {
		t.Fatalf("empty: %+v %v", rb, err)
	}
	for name, h := range map[string]string{"short": "02", "ropsize 1": "0100", "ropsize past end": "0900 1500", "ragged handles": "0200 ffffff"} {
		if _, err := ParseROPBuffer(unhex(t, h)); !errors.Is(err, ErrFraming) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestCompressedObfuscatedLogon(t *testing.T) {
	// The ruler logon of the golden vectors, compressed and obfuscated as a
	// client that allows both would send it, decodes to the same request.
	var g golden
	for _, v := range loadGolden(t) {
		if v.name == "ruler_logon_execute.txt" {
			g = v
		}
	}
	e := parseExecute(t, g.hex)
	segs, err := ParseExtendedBuffer(e.ropBuffer)
	if err != nil {
		t.Fatal(err)
	}
	payload := segs[0].Payload
	wire := segment(HeaderFlagLast|HeaderFlagCompressed|HeaderFlagXorMagic, xored(compressLZ77(payload)), len(payload))
	segs2, err := ParseExtendedBuffer(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(segs2[0].Payload, payload) {
		t.Fatal("payload differs")
	}
}

func TestDecodeRequestsStopsAtUnknownROP(t *testing.T) {
	// A RopQueryRows, then RopSynchronizationConfigure (0x70), whose layout
	// this codec does not know, then another RopQueryRows.
	list := unhex(t, "15 00 00 00 01 32 00  70 01 02 00 00  15 00 00 00 01 32 00")
	l, err := DecodeRequests(list, nil)
	var ue *UnknownRopError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
	if ue.RopID != RopSynchronizationConfigure || ue.Offset != 7 || ue.LogonID != 1 || ue.HandleIndex != 2 || ue.ErrorCode() != mp.ErrNotSupported {
		t.Fatalf("unknown ROP error %+v", ue)
	}
	if len(l.Requests) != 1 || l.Requests[0].RopID() != RopQueryRows {
		t.Fatalf("decoded before the unknown ROP: %v", l.Requests)
	}
	if !bytes.Equal(l.Remainder(0), list) || l.Remainder(1) != nil {
		t.Error("Remainder")
	}
	for _, id := range []byte{0x00, 0x28, 0x2A, 0x6E, 0xFF, 0xF9} {
		if _, _, err := DecodeRequest([]byte{id, 0, 0, 0, 0}, nil); !errors.As(err, &ue) {
			t.Errorf("RopId 0x%02X: err = %v", id, err)
		}
	}
}

func TestDecodeRequestsTruncated(t *testing.T) {
	list := unhex(t, "15 00 00 00 01 32 00  02 00 00 01 0d00")
	l, err := DecodeRequests(list, nil)
	var de *DecodeError
	if !errors.As(err, &de) || de.RopID != RopOpenFolder || de.Offset != 7 || de.ErrorCode() != mp.ErrRPCFormat {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, mp.ErrTruncated) {
		t.Errorf("error does not wrap ErrTruncated: %v", err)
	}
	if len(l.Requests) != 1 {
		t.Errorf("%d requests before the truncated one", len(l.Requests))
	}
	if _, _, err := DecodeRequest([]byte{0x15}, nil); !errors.As(err, &de) {
		t.Errorf("one byte: %v", err)
	}
}

func TestDecodeResponsesExtras(t *testing.T) {
	reqs := []Request{
		&OpenFolderRequest{RequestHeader: rq(0), OutputHandleIndex: 1, FolderID: tFID},
		&ReleaseRequest{rq(1)},
		&GetMessageStatusRequest{RequestHeader: rq(0), MessageID: tMID},
		&QueryRowsRequest{RequestHeader: rq(2), ForwardRead: true, RowCount: 10},
	}
	resps := []Response{
		&OpenFolderResponse{ResponseHeader: rs(1)},
		&GetMessageStatusResponse{MessageStatusResponse{ResponseHeader: rs(0), MessageStatusFlags: 4}},
		&NotifyResponse{NotificationHandle: 0x0C000003, LogonID: 3, Data: NotificationData{NotificationFlags: NotifyObjectDeleted | NotifyFlagMessage, FolderID: tFID, MessageID: tMID}},
		&PendingResponse{SessionIndex: 1},
		&BufferTooSmallResponse{SizeNeeded: 0x100, RequestBuffers: unhex(t, "15 00 02 00 01 0a00")},
	}
	out, err := MarshalResponses(resps, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeResponses(out, reqs, ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, resps) {
		t.Fatalf("got %#v", got)
	}
	// A response for a ROP that was not asked for is an error.
	bad, _ := MarshalResponses([]Response{&SetColumnsResponse{}}, 0)
	if _, err := DecodeResponses(bad, reqs[:1], ResponseOptions{}); err == nil {
		t.Error("mismatched response accepted")
	}
	if _, err := DecodeResponses(bad, nil, ResponseOptions{}); err == nil {
		t.Error("response without request accepted")
	}
	if _, err := DecodeResponses([]byte{0x02, 0x01}, reqs[:1], ResponseOptions{}); err == nil {
		t.Error("truncated response accepted")
	}
}

func TestDecodeResponsesTracksColumns(t *testing.T) {
	// SetColumns then QueryRows on the same handle in one buffer: the rows
	// decode over the columns set, without a callback. OpenMessage then
	// ReadRecipients: the recipient rows decode over the message's columns.
	reqs := []Request{
		&SetColumnsRequest{RequestHeader: rq(2), PropertyTags: tCols},
		&QueryRowsRequest{RequestHeader: rq(2), ForwardRead: true, RowCount: 10},
		&OpenMessageRequest{RequestHeader: rq(1), OutputHandleIndex: 3, FolderID: tFID, MessageID: tMID},
		&ReadRecipientsRequest{RequestHeader: rq(3)},
	}
	resps := []Response{
		&SetColumnsResponse{TableStatusResponse{ResponseHeader: rs(2)}},
		&QueryRowsResponse{ResponseHeader: rs(2), Origin: BookmarkEnd, Columns: tCols, Rows: tRows},
		&OpenMessageResponse{ResponseHeader: rs(3), MessageInfo: tInfo},
		&ReadRecipientsResponse{ResponseHeader: rs(3), Columns: tRecipCols, Rows: []ReadRecipientRow{{RowID: 0, RecipientType: 1, CodePageID: 1252, Row: tRecip}}},
	}
	out, err := MarshalResponses(resps, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeResponses(out, reqs, ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, resps) {
		t.Fatalf("got %#v", got)
	}
}

func TestNotificationData(t *testing.T) {
	row, err := EncodeTableRow(tCols, tRows[0])
	if err != nil {
		t.Fatal(err)
	}
	gid := mp.NewGID(tGUID, 0x0D)
	cases := []NotificationData{
		{NotificationFlags: NotifyNewMail | NotifyFlagMessage, FolderID: tFID, MessageID: tMID, MessageFlags: 0x00000001, UnicodeFlag: true, MessageClass: "IPM.Note"},
		{NotificationFlags: NotifyNewMail | NotifyFlagMessage, FolderID: tFID, MessageID: tMID, UnicodeFlag: false, MessageClass: "IPM.Note"},
		{NotificationFlags: NotifyObjectCreated, FolderID: tFID, ParentFolderID: 9, TagCount: 2, Tags: []Tag{mp.PidTagDisplayName, mp.PidTagContentCount}},
		{NotificationFlags: NotifyObjectCreated | NotifyFlagMessage, FolderID: tFID, MessageID: tMID, TagCount: 0xFFFF},
		{NotificationFlags: NotifyObjectCreated | NotifyFlagMessage | NotifyFlagSearch, FolderID: tFID, MessageID: tMID, ParentFolderID: 5, TagCount: 0, Tags: []Tag{}},
		{NotificationFlags: NotifyObjectModified | NotifyFlagMessage | NotifyFlagTotalCount | NotifyFlagUnreadCount, FolderID: tFID, MessageID: tMID, TagCount: 1, Tags: []Tag{mp.PidTagMessageFlags}, TotalMessageCount: 10, UnreadMessageCount: 3},
		{NotificationFlags: NotifyObjectMoved | NotifyFlagMessage, FolderID: tFID, MessageID: tMID, OldFolderID: 9, OldMessageID: 10},
		{NotificationFlags: NotifyObjectCopied, FolderID: tFID, ParentFolderID: 2, OldFolderID: 9, OldParentFolderID: 3},
		{NotificationFlags: NotifyObjectDeleted, FolderID: tFID, ParentFolderID: 2},
		{NotificationFlags: NotifySearchComplete, FolderID: tFID},
		{NotificationFlags: NotifyTableModified, TableEventType: TableChanged},
		{NotificationFlags: NotifyTableModified | NotifyFlagMessage, TableEventType: TableRowAdded, TableRowFolderID: tFID, TableRowMessageID: tMID, TableRowInstance: 1,
			InsertAfterTableRowFolderID: tFID, InsertAfterTableRowID: 5, InsertAfterTableRowInstance: 0, TableRowData: row},
		{NotificationFlags: NotifyTableModified, TableEventType: TableRowModified, TableRowFolderID: tFID, InsertAfterTableRowFolderID: 3, TableRowData: row},
		{NotificationFlags: NotifyTableModified | NotifyFlagMessage, TableEventType: TableRowDeleted, TableRowFolderID: tFID, TableRowMessageID: tMID, TableRowInstance: 2},
		{NotificationFlags: NotifyICS, HierarchyChanged: true, FolderGIDs: []mp.GID{gid}, ICSChangeNumbers: []uint32{7}},
	}
	for i, d := range cases {
		resp := &NotifyResponse{NotificationHandle: 0x0C000002, LogonID: 0x0C, Data: d}
		out, err := MarshalResponses([]Response{resp}, 0)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got, err := DecodeResponses(out, nil, ResponseOptions{})
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(got[0], Response(resp)) {
			t.Errorf("case %d:\n got %#v\nwant %#v", i, got[0].(*NotifyResponse).Data, d)
		}
	}
	// NewMail layout (MS-OXCNOTIF 2.2.1.4.1.2): flags, FID, MID,
	// MessageFlags, UnicodeFlag, MessageClass.
	out, _ := MarshalResponses([]Response{&NotifyResponse{NotificationHandle: 1, LogonID: 2, Data: cases[1]}}, 0)
	want := unhex(t, "2a 01000000 02 0280 0100 00000000000d 0100 000000001234 00000000 00 49504d2e4e6f746500")
	if !bytes.Equal(out, want) {
		t.Fatalf("new mail layout\n got % x\nwant % x", out, want)
	}
	// The row helper decodes what EncodeTableRow wrote.
	back, err := cases[11].TableRow(tCols)
	if err != nil || !reflect.DeepEqual(back, tRows[0]) {
		t.Fatalf("TableRow: %v %v", back, err)
	}
	if _, err := cases[11].TableRow([]Tag{mp.PidTagBody}); err == nil {
		t.Error("TableRow over the wrong columns succeeded")
	}
}

func TestBackoff(t *testing.T) {
	b := &BackoffResponse{LogonID: 1, Duration: 1000, Rops: []BackoffRop{{RopQueryRows, 500}}, AdditionalData: []byte{}}
	out, err := MarshalResponses([]Response{b}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "f9 01 e8030000 01 15 f4010000 0000"); !bytes.Equal(out, want) {
		t.Fatalf("got % x", out)
	}
	got, err := DecodeResponses(out, nil, ResponseOptions{})
	if err != nil || !reflect.DeepEqual(got[0], Response(b)) {
		t.Fatalf("got %#v %v", got, err)
	}
}

func TestRowsNeedColumns(t *testing.T) {
	out, _ := MarshalResponses([]Response{&QueryRowsResponse{ResponseHeader: rs(2), Columns: tCols, Rows: tRows}}, 0)
	if _, err := DecodeResponses(out, []Request{&QueryRowsRequest{RequestHeader: rq(2)}}, ResponseOptions{}); err == nil {
		t.Error("rows decoded without a column set")
	}
}

func TestSmallHelpers(t *testing.T) {
	lt := NewLogonTime(time.Date(2026, 11, 29, 15, 43, 13, 0, time.UTC)) // a Sunday
	if lt != (LogonTime{Seconds: 13, Minutes: 43, Hour: 15, DayOfWeek: 0, Day: 29, Month: 11, Year: 2026}) {
		t.Errorf("logon time %+v", lt)
	}
	if (&ReadStreamRequest{ByteCount: 100, MaximumByteCount: 7}).Limit() != 100 ||
		(&ReadStreamRequest{ByteCount: ReadStreamMaxSentinel, MaximumByteCount: 1 << 20}).Limit() != 1<<20 {
		t.Error("ReadStreamRequest.Limit")
	}
	if RopID(0x70).String() != "RopSynchronizationConfigure" || RopID(0x00).String() != "Rop(0x00)" {
		t.Error("RopID names")
	}
	ue := &UnknownRopError{RopID: 0x70, Offset: 3}
	de := &DecodeError{RopID: RopQueryRows, Offset: 5, Err: mp.ErrTruncated}
	if ue.Error() == "" || de.Error() == "" || !errors.Is(de, mp.ErrTruncated) {
		t.Error("error texts")
	}
}
