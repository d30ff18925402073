package rop

import (
	"bytes"
	"context"
	"strings"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// TestNamedProperties: ids are created, stable, map back to names, and
// PS_MAPI names are their LID (MS-OXCPRPT 3.2.5.8, 3.2.5.9, 3.2.5.12).
func TestNamedProperties(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	srv := newTestServer(env)
	c := newTestClient(t, env, srv, alice)
	c.logon()
	names := []mp.PropertyName{
		mp.StringName(mp.PS_PUBLIC_STRINGS, "Keywords"),
		mp.LIDName(mp.PSETID_Common, 0x8580),
		mp.LIDName(mp.PS_MAPI, 0x0037),
	}
	missing := c.exec(&GetPropertyIdsFromNamesRequest{RequestHeader: hdr(0), PropertyNames: names[:2]})[0].(*GetPropertyIdsFromNamesResponse)
	if missing.ReturnValue != mp.ErrWarnWithErrors || len(missing.PropertyIDs) != 2 || missing.PropertyIDs[0] != 0 {
		t.Errorf("without create: %v %v", missing.ReturnValue, missing.PropertyIDs)
	}
	got := c.one(&GetPropertyIdsFromNamesRequest{RequestHeader: hdr(0), Flags: GetPropertyIdsCreate, PropertyNames: names}).(*GetPropertyIdsFromNamesResponse)
	if got.PropertyIDs[0] < 0x8000 || got.PropertyIDs[1] < 0x8000 || got.PropertyIDs[0] == got.PropertyIDs[1] || got.PropertyIDs[2] != 0x0037 {
		t.Fatalf("ids %04X", got.PropertyIDs)
	}
	// Another session (and server) sees the same ids.
	c2 := newTestClient(t, env, newTestServer(env), alice)
	c2.logon()
	again := c2.one(&GetPropertyIdsFromNamesRequest{RequestHeader: hdr(0), PropertyNames: names}).(*GetPropertyIdsFromNamesResponse)
	if again.PropertyIDs[0] != got.PropertyIDs[0] || again.PropertyIDs[1] != got.PropertyIDs[1] {
		t.Errorf("ids changed: %04X then %04X", got.PropertyIDs, again.PropertyIDs)
	}
	back := c2.one(&GetNamesFromPropertyIdsRequest{RequestHeader: hdr(0), PropertyIDs: append(got.PropertyIDs, 0xFFF0)}).(*GetNamesFromPropertyIdsResponse)
	if back.PropertyNames[0] != names[0] || back.PropertyNames[1] != names[1] || back.PropertyNames[2] != names[2] || back.PropertyNames[3].Kind != mp.KindNone {
		t.Errorf("names %v", back.PropertyNames)
	}
	q := c.one(&QueryNamedPropertiesRequest{RequestHeader: hdr(0), QueryFlags: QueryNamedNoIDs}).(*QueryNamedPropertiesResponse)
	if len(q.PropertyIDs) != 1 || q.PropertyNames[0] != names[0] {
		t.Errorf("QueryNamedProperties(no LIDs): %v %v", q.PropertyIDs, q.PropertyNames)
	}
}

// TestEditDeliveredMessage: a named property and a flag set on a message
// that arrived as MIME are stored beside it; the MIME (what IMAP serves)
// and the UID stay; deleting a derived property hides it.
func TestEditDeliveredMessage(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	env.Deliver(t, append([]byte("X-Mailer: Pochta Test\r\n"), mimeMessage("keep my bytes", 10, "")...), alice.ID)
	before := messagesIn(t, env, alice.ID, storage.RoleInbox)[0]
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	ids := c.one(&GetPropertyIdsFromNamesRequest{RequestHeader: hdr(0), Flags: GetPropertyIdsCreate,
		PropertyNames: []mp.PropertyName{mp.StringName(mp.PS_PUBLIC_STRINGS, "Keywords"), mp.StringName(mp.PS_INTERNET_HEADERS, "x-mailer")}}).(*GetPropertyIdsFromNamesResponse).PropertyIDs
	keywords := mp.NewTag(ids[0], mp.PtypMultipleString)
	mailer := mp.NewTag(ids[1], mp.PtypString)
	c.openFolder(0, 1, storage.RoleInbox)
	mid := mp.MakeID(1, uint64(before.GlobCnt))
	c.one(&OpenMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleInbox), MessageID: mid, OpenModeFlags: OpenModeReadWrite})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{
		{Tag: keywords, Data: []string{"Red category"}},
		mp.Int32Value(mp.PidTagFlagStatus, 2),
	}})
	p := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(2), WantUnicode: 1, PropertyTags: []mp.Tag{mailer}}).(*GetPropertiesSpecificResponse)
	if got := str(t, p.Row, mailer); got != "Pochta Test" {
		t.Fatalf("derived X-Mailer %q", got)
	}
	c.one(&DeletePropertiesRequest{RequestHeader: hdr(2), PropertyTags: []mp.Tag{mailer}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(2), ResponseHandleIndex: 2})
	after := messagesIn(t, env, alice.ID, storage.RoleInbox)[0]
	if after.ID != before.ID || after.UID != before.UID || after.BlobHash != before.BlobHash || after.MIMEFromChange != 0 {
		t.Errorf("an overlay edit replaced the message: %+v → %+v", before, after)
	}
	if after.Flags&storage.FlagFlagged == 0 || after.ChangeNum <= before.ChangeNum {
		t.Errorf("follow-up flag: flags %v, change %d → %d", after.Flags, before.ChangeNum, after.ChangeNum)
	}
	// A new session reads the edits.
	c2 := newTestClient(t, env, newTestServer(env), alice)
	c2.logon()
	c2.openFolder(0, 1, storage.RoleInbox)
	c2.one(&OpenMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleInbox), MessageID: mid})
	p = c2.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(2), WantUnicode: 1, PropertyTags: []mp.Tag{keywords, mailer, mp.PidTagSubject}}).(*GetPropertiesSpecificResponse)
	if v, _ := p.Row.Get(keywords.ID()); v.Data == nil || v.Data.([]string)[0] != "Red category" {
		t.Errorf("keywords %v", p.Row.Values[0])
	}
	if v, _ := value(p.Row, mailer); !v.IsError() {
		t.Errorf("deleted X-Mailer still reads %v", v.Data)
	}
	all := c2.one(&GetPropertiesAllRequest{RequestHeader: hdr(2), WantUnicode: 1}).(*GetPropertiesAllResponse)
	found := false
	for _, v := range all.Properties {
		found = found || v.Tag.ID() == keywords.ID()
	}
	if !found {
		t.Errorf("GetPropertiesAll lacks the named property")
	}
	// Property types: PtypString8 on request, PtypUnspecified as stored.
	p = c2.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(2), PropertyTags: []mp.Tag{mp.PidTagSubject.WithType(mp.PtypString8), mp.PidTagImportance.WithType(mp.PtypUnspecified)}}).(*GetPropertiesSpecificResponse)
	if p.Row.Values[0].Tag.Type() != mp.PtypString8 || p.Row.Values[0].Data != "keep my bytes" || p.Row.Values[1].Tag.Type() != mp.PtypInteger32 {
		t.Errorf("typed values %v", p.Row.Values)
	}
	list := c2.one(&GetPropertiesListRequest{RequestHeader: hdr(2)}).(*GetPropertiesListResponse)
	if len(list.PropertyTags) < 10 {
		t.Errorf("GetPropertiesList: %d tags", len(list.PropertyTags))
	}
}

// TestCopyAndStreams: CopyTo and CopyProperties between messages; streams
// write, size, seek and copy; a folder property written by stream is
// stored at once.
func TestCopyAndStreams(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	env.Deliver(t, mimeMessage("source", 100, "ATTACHED"), alice.ID)
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&OpenMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleInbox), MessageID: inboxMID(t, env, alice.ID, 0)})
	c.openFolder(0, 3, storage.RoleDrafts)
	c.one(&CreateMessageRequest{RequestHeader: hdr(3), OutputHandleIndex: 4, FolderID: roleFID(storage.RoleDrafts)})
	c.one(&CopyToRequest{RequestHeader: hdr(2), DestHandleIndex: 4, WantSubObjects: true, ExcludedTags: []mp.Tag{mp.PidTagSubject}})
	c.one(&CopyPropertiesRequest{RequestHeader: hdr(2), DestHandleIndex: 4, PropertyTags: []mp.Tag{mp.PidTagImportance}})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(4), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "FW: source")}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(4), ResponseHandleIndex: 4})
	d := messagesIn(t, env, alice.ID, storage.RoleDrafts)
	if len(d) != 1 || d[0].Subject != "FW: source" || !d[0].HasAttachments {
		t.Fatalf("copied draft: %+v", d)
	}
	raw, _ := env.Store.ReadBlob(context.Background(), d[0].BlobHash)
	if !bytes.Contains(raw, []byte("line of body text")) || !bytes.Contains(raw, []byte("data.bin")) {
		t.Errorf("copy lacks body or attachment:\n%s", raw)
	}
	// Stream on the new message's body.
	c.one(&OpenStreamRequest{RequestHeader: hdr(4), OutputHandleIndex: 5, PropertyTag: mp.PidTagBody, OpenModeFlags: StreamCreate})
	c.one(&WriteStreamRequest{RequestHeader: hdr(5), Data: mp.EncodeUTF16("hello world")})
	if sz := c.one(&GetStreamSizeRequest{RequestHeader: hdr(5)}).(*GetStreamSizeResponse).StreamSize; sz != 22 {
		t.Errorf("stream size %d", sz)
	}
	c.one(&SeekStreamRequest{RequestHeader: hdr(5), Origin: SeekBeginning, Offset: 12})
	c.one(&WriteStreamRequest{RequestHeader: hdr(5), Data: mp.EncodeUTF16("W")})
	c.one(&SetStreamSizeRequest{RequestHeader: hdr(5), StreamSize: 14})
	c.one(&CommitStreamRequest{RequestHeader: hdr(5)})
	if ec := c.ec(&SeekStreamRequest{RequestHeader: hdr(5), Origin: SeekCurrent, Offset: -1000}); ec != errStreamSeek {
		t.Errorf("seek before the start: %v", ec)
	}
	p := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(4), WantUnicode: 1, PropertyTags: []mp.Tag{mp.PidTagBody}}).(*GetPropertiesSpecificResponse)
	if got := str(t, p.Row, mp.PidTagBody); got != "hello W" {
		t.Errorf("body after stream edits %q", got)
	}
	// CopyToStream into a second stream.
	c.one(&OpenStreamRequest{RequestHeader: hdr(4), OutputHandleIndex: 6, PropertyTag: mp.PidTagBody, OpenModeFlags: StreamReadOnly})
	c.one(&OpenStreamRequest{RequestHeader: hdr(4), OutputHandleIndex: 7, PropertyTag: mp.PidTagHtml, OpenModeFlags: StreamCreate})
	cs := c.one(&CopyToStreamRequest{RequestHeader: hdr(6), DestHandleIndex: 7, ByteCount: 100}).(*CopyToStreamResponse)
	if cs.ReadByteCount != 14 || cs.WrittenByteCount != 14 {
		t.Errorf("CopyToStream %+v", cs)
	}
	if ec := c.ec(&WriteStreamRequest{RequestHeader: hdr(6), Data: []byte{1}}); ec != mp.ErrAccessDenied {
		t.Errorf("writing a read-only stream: %v", ec)
	}
	// A folder property through a stream is stored on release.
	c.one(&OpenStreamRequest{RequestHeader: hdr(3), OutputHandleIndex: 5, PropertyTag: mp.PidTagComment, OpenModeFlags: StreamCreate})
	c.one(&WriteStreamRequest{RequestHeader: hdr(5), Data: mp.EncodeUTF16("drafts live here")})
	c.exec(&ReleaseRequest{RequestHeader: hdr(5)})
	c2 := newTestClient(t, env, newTestServer(env), alice)
	c2.logon()
	c2.openFolder(0, 1, storage.RoleDrafts)
	fp := c2.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(1), WantUnicode: 1, PropertyTags: []mp.Tag{mp.PidTagComment}}).(*GetPropertiesSpecificResponse)
	if got := str(t, fp.Row, mp.PidTagComment); got != "drafts live here" {
		t.Errorf("folder comment %q", got)
	}
}

// TestRTFOnRequest: PidTagRtfCompressed is made from the body when asked
// and decodes back to it.
func TestRTFOnRequest(t *testing.T) {
	var p oxcmail.Props
	p.Set(mp.BinaryValue(mp.PidTagHtml, []byte("<html><body><p>Caf\u00e9 {braces} \\ back</p>\n<p>two</p></body></html>")))
	rtf := bodyRTF(p)
	raw, err := oxcmail.DecompressRTF(rtf)
	if err != nil {
		t.Fatal(err)
	}
	html, ok := oxcmail.RTFToHTML(raw)
	if !ok || !strings.Contains(html, "<p>Caf\u00e9 {braces} \\ back</p>") || !strings.Contains(html, "<p>two</p>") {
		t.Errorf("de-encapsulated %q (ok %v) from %s", html, ok, raw)
	}
	var q oxcmail.Props
	q.Set(mp.StringValue(mp.PidTagBody, "plain\r\nZ\u00fcrich"))
	raw, err = oxcmail.DecompressRTF(bodyRTF(q))
	if err != nil {
		t.Fatal(err)
	}
	if got := oxcmail.RTFToText(raw); !strings.Contains(got, "plain") || !strings.Contains(got, "Z\u00fcrich") {
		t.Errorf("RTF text %q", got)
	}
}

// TestEmbeddedMessage: an attached message made through
// RopOpenEmbeddedMessage is rendered as message/rfc822 and reads back.
func TestEmbeddedMessage(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleDrafts)
	c.one(&CreateMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleDrafts)})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "outer"), mp.StringValue(mp.PidTagBody, "see attached")}})
	num := c.one(&CreateAttachmentRequest{RequestHeader: hdr(2), OutputHandleIndex: 3}).(*CreateAttachmentResponse).AttachmentID
	c.one(&OpenEmbeddedMessageRequest{RequestHeader: hdr(3), OutputHandleIndex: 4, OpenEmbeddedFlags: OpenModeCreate})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(4), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "inner"), mp.StringValue(mp.PidTagBody, "inner body")}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(4), ResponseHandleIndex: 4})
	c.one(&SaveChangesAttachmentRequest{RequestHeader: hdr(3), ResponseHandleIndex: 3})
	sv := c.one(&SaveChangesMessageRequest{RequestHeader: hdr(2), ResponseHandleIndex: 2}).(*SaveChangesMessageResponse)
	d := messagesIn(t, env, alice.ID, storage.RoleDrafts)
	raw, _ := env.Store.ReadBlob(context.Background(), d[0].BlobHash)
	if !bytes.Contains(raw, []byte("message/rfc822")) || !bytes.Contains(raw, []byte("Subject: inner")) {
		t.Errorf("embedded message not rendered:\n%s", raw)
	}
	c.one(&OpenMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 5, FolderID: roleFID(storage.RoleDrafts), MessageID: sv.MessageID})
	c.one(&OpenAttachmentRequest{RequestHeader: hdr(5), OutputHandleIndex: 6, AttachmentID: num})
	em := c.one(&OpenEmbeddedMessageRequest{RequestHeader: hdr(6), OutputHandleIndex: 7}).(*OpenEmbeddedMessageResponse)
	if em.NormalizedSubject.Value != "inner" {
		t.Errorf("embedded subject %q", em.NormalizedSubject.Value)
	}
}

// TestSubmitVariants: no recipients is refused; DeleteAfterSubmit keeps no
// copy; a saved draft leaves Drafts for Sent Items; an unknown local
// recipient gets the sender a non-delivery report.
func TestSubmitVariants(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	env.AddUser(t, "bob@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleDrafts)
	c.one(&CreateMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleDrafts)})
	if ec := c.ec(&SubmitMessageRequest{RequestHeader: hdr(2)}); ec != mp.ErrNoRecipients {
		t.Errorf("no recipients: %v", ec)
	}
	// Delete after submit.
	c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "gone"), mp.BoolValue(mp.PidTagDeleteAfterSubmit, true)}})
	c.one(&ModifyRecipientsRequest{RequestHeader: hdr(2), RecipientColumns: composeColumns, Rows: []ModifyRecipientRow{composeRecipient(0, 1, "Bob", "bob@example.com")}})
	c.one(&SubmitMessageRequest{RequestHeader: hdr(2)})
	if s := messagesIn(t, env, alice.ID, storage.RoleSent); len(s) != 0 {
		t.Errorf("DeleteAfterSubmit kept %d in Sent Items", len(s))
	}
	if ec := c.ec(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "x")}}); ec != mp.ErrAccessDenied {
		t.Errorf("changing a submitted message: %v", ec)
	}
	// A saved draft, then submitted.
	c.one(&CreateMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 3, FolderID: roleFID(storage.RoleDrafts)})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(3), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "from drafts")}})
	c.one(&ModifyRecipientsRequest{RequestHeader: hdr(3), RecipientColumns: composeColumns, Rows: []ModifyRecipientRow{
		composeRecipient(0, 1, "Bob", "bob@example.com"), composeRecipient(1, 3, "Nobody", "nobody@example.com")}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(3), ResponseHandleIndex: 3, SaveFlags: SaveKeepOpenReadWrite})
	if n := len(messagesIn(t, env, alice.ID, storage.RoleDrafts)); n != 1 {
		t.Fatalf("Drafts has %d", n)
	}
	c.one(&SubmitMessageRequest{RequestHeader: hdr(3)})
	if n := len(messagesIn(t, env, alice.ID, storage.RoleDrafts)); n != 0 {
		t.Errorf("Drafts keeps %d after submit", n)
	}
	sent := messagesIn(t, env, alice.ID, storage.RoleSent)
	if len(sent) != 1 || sent[0].Subject != "from drafts" || sent[0].Flags&storage.FlagDraft != 0 {
		t.Fatalf("Sent Items: %+v", sent)
	}
	raw, _ := env.Store.ReadBlob(context.Background(), sent[0].BlobHash)
	if !bytes.Contains(raw, []byte("Bcc:")) {
		t.Errorf("the sender's copy lacks its Bcc:\n%s", raw)
	}
	bobs, _ := env.Dir.Resolve(context.Background(), "bob@example.com")
	for _, m := range messagesIn(t, env, bobs.Accounts[0].ID, storage.RoleInbox) {
		b, _ := env.Store.ReadBlob(context.Background(), m.BlobHash)
		if bytes.Contains(b, []byte("Bcc:")) || bytes.Contains(b, []byte("nobody@example.com")) {
			t.Errorf("a recipient's copy shows the Bcc:\n%s", b)
		}
	}
}

// TestRulesAndPermissions: rules and permission entries are stored and
// listed (MS-OXORULE, MS-OXCPERM).
func TestRulesAndPermissions(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	bob := env.AddUser(t, "bob@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	cond := &mp.ContentRestriction{FuzzyLevelLow: 1, PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, "spam")}
	actions := mp.RuleActions{{Type: 10}}
	rule := func(name string) RowData {
		return RowData{Flags: RowAdd, Properties: []mp.Value{mp.StringValue(mp.PidTagRuleName, name), mp.StringValue(mp.PidTagRuleProvider, "RuleOrganizer"),
			{Tag: mp.PidTagRuleCondition, Data: cond}, {Tag: mp.PidTagRuleActions, Data: actions}}}
	}
	c.one(&ModifyRulesRequest{RequestHeader: hdr(1), RulesData: []RowData{rule("first"), rule("second")}})
	c.one(&GetRulesTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: RulesTableUnicode})
	rows := c.rows(2, []mp.Tag{mp.PidTagRuleName, mp.PidTagRuleId, mp.PidTagRuleCondition, mp.PidTagRuleState}, 10)
	if len(rows) != 2 || str(t, rows[0], mp.PidTagRuleName) != "first" {
		t.Fatalf("rules %v", rows)
	}
	if v, _ := rows[0].Get(mp.PidTagRuleCondition.ID()); v.Data == nil {
		t.Errorf("condition lost")
	}
	id, _ := rows[0].Get(mp.PidTagRuleId.ID())
	c.one(&ModifyRulesRequest{RequestHeader: hdr(1), RulesData: []RowData{{Flags: RowRemove, Properties: []mp.Value{id}}}})
	of := c.one(&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 3, FolderID: roleFID(storage.RoleInbox)}).(*OpenFolderResponse)
	if !of.HasRules {
		t.Errorf("HasRules false with a rule left")
	}
	c.one(&GetRulesTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: RulesTableUnicode})
	if rows = c.rows(2, []mp.Tag{mp.PidTagRuleName}, 10); len(rows) != 1 || str(t, rows[0], mp.PidTagRuleName) != "second" {
		t.Errorf("after removal %v", rows)
	}
	// Permissions.
	c.one(&GetPermissionsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 4})
	cols := []mp.Tag{mp.PidTagMemberId, mp.PidTagMemberName, mp.PidTagMemberRights}
	if rows = c.rows(4, cols, 10); len(rows) != 2 {
		t.Fatalf("default permission rows %v", rows)
	}
	eid := mp.AddressBookEntryID{X500DN: DefaultLegacyDN(bob)}.Bytes()
	c.one(&ModifyPermissionsRequest{RequestHeader: hdr(1), PermissionsData: []RowData{{Flags: RowAdd, Properties: []mp.Value{
		mp.BinaryValue(mp.PidTagEntryId, eid), mp.Int32Value(mp.PidTagMemberRights, 0x401)}}}})
	c.one(&GetPermissionsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 4})
	rows = c.rows(4, cols, 10)
	if len(rows) != 3 || i32(t, rows[2], mp.PidTagMemberRights) != 0x401 {
		t.Fatalf("permissions after add %v", rows)
	}
	mid, _ := rows[2].Get(mp.PidTagMemberId.ID())
	c.one(&ModifyPermissionsRequest{RequestHeader: hdr(1), PermissionsData: []RowData{{Flags: RowRemove, Properties: []mp.Value{mid}}}})
	c.one(&GetPermissionsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 4})
	if rows = c.rows(4, cols, 10); len(rows) != 2 {
		t.Errorf("after removal %d rows", len(rows))
	}
}
