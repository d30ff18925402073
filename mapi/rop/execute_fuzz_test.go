package rop

import (
	"context"
	"errors"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// fuzzSeeds are ROP buffers of the sequences clients send, against a
// session whose logon 0x0C is open (handle 0x0C000000 in slot 0).
func fuzzSeeds(acc string) [][]Request {
	inbox := roleFID(storage.RoleInbox)
	logon := &LogonRequest{RequestHeader: RequestHeader{LogonID: testLogon}, LogonFlags: LogonFlagPrivate, OpenFlags: 0x0100040C, Essdn: acc}
	cols := []mp.Tag{mp.PidTagMid, mp.PidTagSubject, mp.PidTagSenderName, mp.PidTagMessageFlags, mp.PidTagInstID, mp.PidTagRowType}
	return [][]Request{
		{logon},
		{logon, &OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: inbox}},
		{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleIPMSubtree)},
			&GetHierarchyTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagDepth | TableFlagUseUnicode},
			&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: []mp.Tag{mp.PidTagDisplayName, mp.PidTagContentCount, mp.PidTagFolderId}},
			&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 50}},
		{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: inbox},
			&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode},
			&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: cols},
			&SortTableRequest{RequestHeader: hdr(2), SortOrderSet: mp.SortOrderSet{CategorizedCount: 1, ExpandedCount: 1, SortOrders: []mp.SortOrder{{PropTag: mp.PidTagSenderName}, {PropTag: mp.PidTagSubject, Order: 1}}}},
			&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 10},
			&CreateBookmarkRequest{RequestHeader: hdr(2)},
			&FindRowRequest{RequestHeader: hdr(2), Restriction: &mp.ExistRestriction{PropTag: mp.PidTagSubject}},
			&ExpandRowRequest{RequestHeader: hdr(2), MaxRowCount: 5, CategoryID: 1},
			&QueryPositionRequest{RequestHeader: hdr(2)}},
		{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: inbox},
			&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2},
			&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: cols},
			&RestrictRequest{RequestHeader: hdr(2), Restriction: &mp.ContentRestriction{FuzzyLevelLow: 1, FuzzyLevelHigh: 1, PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, "fuzz")}},
			&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 10},
			&SeekRowRequest{RequestHeader: hdr(2), Origin: BookmarkEnd, RowCount: -3},
			&QueryRowsRequest{RequestHeader: hdr(2), RowCount: 3}},
		{&OpenMessageRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: inbox, MessageID: mp.MakeID(1, 0x101), OpenModeFlags: OpenModeReadWrite},
			&GetPropertiesSpecificRequest{RequestHeader: hdr(1), WantUnicode: 1, PropertyTags: []mp.Tag{mp.PidTagSubject, mp.PidTagBody, mp.PidTagRtfCompressed, mp.PidTagHtml}},
			&GetPropertiesAllRequest{RequestHeader: hdr(1)},
			&OpenStreamRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, PropertyTag: mp.PidTagBody},
			&ReadStreamRequest{RequestHeader: hdr(2), ByteCount: 100},
			&SeekStreamRequest{RequestHeader: hdr(2), Origin: SeekEnd, Offset: -4},
			&GetAttachmentTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 3},
			&ReadRecipientsRequest{RequestHeader: hdr(1)}},
		{&CreateMessageRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleDrafts)},
			&SetPropertiesRequest{RequestHeader: hdr(1), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "fuzz draft"), mp.StringValue(mp.PidTagBody, "x")}},
			&ModifyRecipientsRequest{RequestHeader: hdr(1), RecipientColumns: composeColumns, Rows: []ModifyRecipientRow{composeRecipient(0, 1, "Bob", "bob@example.com")}},
			&CreateAttachmentRequest{RequestHeader: hdr(1), OutputHandleIndex: 2},
			&OpenEmbeddedMessageRequest{RequestHeader: hdr(2), OutputHandleIndex: 3, OpenEmbeddedFlags: OpenModeCreate},
			&SaveChangesMessageRequest{RequestHeader: hdr(3), ResponseHandleIndex: 3},
			&SaveChangesAttachmentRequest{RequestHeader: hdr(2), ResponseHandleIndex: 2},
			&SaveChangesMessageRequest{RequestHeader: hdr(1), ResponseHandleIndex: 1, SaveFlags: SaveKeepOpenReadWrite},
			&SubmitMessageRequest{RequestHeader: hdr(1)}},
		{&GetPropertyIdsFromNamesRequest{RequestHeader: hdr(0), Flags: GetPropertyIdsCreate, PropertyNames: []mp.PropertyName{mp.StringName(mp.PS_PUBLIC_STRINGS, "Keywords")}},
			&GetNamesFromPropertyIdsRequest{RequestHeader: hdr(0), PropertyIDs: []uint16{0x8000, 0x8001}},
			&QueryNamedPropertiesRequest{RequestHeader: hdr(0)},
			&GetReceiveFolderRequest{RequestHeader: hdr(0), MessageClass: "IPM.Note"},
			&GetReceiveFolderTableRequest{RequestHeader: hdr(0)},
			&LongTermIdFromIdRequest{RequestHeader: hdr(0), ObjectID: inbox},
			&GetAddressTypesRequest{RequestHeader: hdr(0)}},
		{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: inbox},
			&ModifyRulesRequest{RequestHeader: hdr(1), RulesData: []RowData{{Flags: RowAdd, Properties: []mp.Value{mp.StringValue(mp.PidTagRuleName, "r"),
				{Tag: mp.PidTagRuleCondition, Data: &mp.ExistRestriction{PropTag: mp.PidTagSubject}}, {Tag: mp.PidTagRuleActions, Data: mp.RuleActions{{Type: 10}}}}}}},
			&GetRulesTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2},
			&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: []mp.Tag{mp.PidTagRuleName, mp.PidTagRuleId}},
			&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 10},
			&CreateFolderRequest{RequestHeader: hdr(1), OutputHandleIndex: 3, FolderType: 1, DisplayName: "fz", OpenExisting: true},
			&GetPermissionsTableRequest{RequestHeader: hdr(3), OutputHandleIndex: 4},
			&EmptyFolderRequest{RequestHeader: hdr(3)}},
	}
}

// FuzzExecute runs arbitrary ROP buffers against a live session: the
// server never panics, and what it answers is a well-formed ROP buffer of
// at most MaxRopOut bytes whose responses decode against the requests.
func FuzzExecute(f *testing.F) {
	env := testenv.New(f)
	alice := env.AddUser(f, "alice@example.com", "pw")
	env.AddUser(f, "bob@example.com", "pw")
	env.Deliver(f, mimeMessage("fuzz target", 5000, "attached"), alice.ID)
	env.Deliver(f, mimeMessage("another", 10, ""), alice.ID)
	c := newTestClient(f, env, newTestServer(env), alice)
	c.logon()
	handles := []uint32{0x0C000000, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle}
	for _, reqs := range fuzzSeeds(DefaultLegacyDN(alice)) {
		rops, err := MarshalRequests(reqs, 1252)
		if err != nil {
			f.Fatal(err)
		}
		payload, _ := ROPBuffer{Rops: rops, Handles: handles}.Bytes()
		f.Add(payload, uint16(0x8000))
		f.Add(payload, uint16(120))
	}
	f.Add([]byte{2, 0, 0, 0, 0, 0x0C}, uint16(100))
	f.Add([]byte{5, 0, 0x70, 0x0C, 0}, uint16(100))
	f.Fuzz(func(t *testing.T, in []byte, maxOut uint16) { checkExecute(t, c.sess, in, maxOut) })
}

// FuzzExecuteRops is FuzzExecute with the framing fixed: the input is the
// ROP list, sent with the logon in slot 0 of an eight-slot handle table,
// so every input reaches the handlers.
func FuzzExecuteRops(f *testing.F) {
	env := testenv.New(f)
	alice := env.AddUser(f, "alice@example.com", "pw")
	env.AddUser(f, "bob@example.com", "pw")
	env.Deliver(f, mimeMessage("fuzz target", 5000, "attached"), alice.ID)
	c := newTestClient(f, env, newTestServer(env), alice)
	c.logon()
	for _, reqs := range fuzzSeeds(DefaultLegacyDN(alice)) {
		rops, err := MarshalRequests(reqs, 1252)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rops)
	}
	f.Fuzz(func(t *testing.T, rops []byte) {
		handles := []uint32{c.sess.logons[testLogon], EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle, EmptyHandle}
		payload, err := ROPBuffer{Rops: rops, Handles: handles}.Bytes()
		if err != nil {
			return
		}
		checkExecute(t, c.sess, payload, 0x8000)
	})
}

// checkExecute runs one buffer and checks the answer.
func checkExecute(t *testing.T, sess *Session, in []byte, maxOut uint16) {
	ctx := context.Background()
	panicsBefore := sess.panics
	out, err := sess.Execute(ctx, in, int(maxOut))
	if sess.panics != panicsBefore {
		t.Fatalf("Execute panicked on % x", in)
	}
	if err != nil {
		var ec mp.ErrorCode
		if !errors.As(err, &ec) {
			t.Fatalf("error %v is not an ErrorCode", err)
		}
		return
	}
	if len(out) > int(maxOut) {
		t.Fatalf("%d bytes of output for MaxRopOut %d", len(out), maxOut)
	}
	buf, perr := ParseROPBuffer(out)
	if perr != nil {
		t.Fatalf("output does not parse: %v", perr)
	}
	inBuf, _ := ParseROPBuffer(in)
	if len(buf.Handles) != len(inBuf.Handles) {
		t.Fatalf("%d handle slots out, %d in", len(buf.Handles), len(inBuf.Handles))
	}
	list, _ := DecodeRequests(inBuf.Rops, &RequestContext{CodePage: 1252})
	_, derr := DecodeResponses(buf.Rops, list.Requests, ResponseOptions{CodePage: 1252, Columns: func(req Request) []mp.Tag {
		idx := req.Header().InputHandleIndex
		if int(idx) >= len(inBuf.Handles) {
			return nil
		}
		e := sess.objects[inBuf.Handles[idx]]
		if e == nil {
			return nil
		}
		switch o := e.obj.(type) {
		case *tableObj:
			return o.columns
		case *messageObj:
			return recipientColumns(o.content.Recipients)
		}
		return nil
	}})
	if derr != nil && !unknownTail(buf.Rops) {
		t.Fatalf("output does not decode against the requests: %v\nin  % x\nout % x", derr, in, out)
	}
}

// unknownTail reports whether a decode failure can be the ecNotSupported
// answer to an unknown ROP, which has no request type to decode against.
func unknownTail(rops []byte) bool {
	return len(rops) >= 6 && mp.ErrorCode(uint32(rops[len(rops)-4])|uint32(rops[len(rops)-3])<<8|uint32(rops[len(rops)-2])<<16|uint32(rops[len(rops)-1])<<24) == mp.ErrNotSupported
}
