package rop

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// TestLogonSpecialFolders: RopLogon answers the 13 special folder ids in
// the MS-OXCSTOR order, the mailbox and replica GUIDs, and the logon
// handle LogonId<<24.
func TestLogonSpecialFolders(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	resp := c.logon()
	if c.handles[0] != testLogon<<24 {
		t.Fatalf("logon handle 0x%08X, want 0x%08X", c.handles[0], testLogon<<24)
	}
	ctx := context.Background()
	for i, role := range logonFolderRoles {
		f := folderByRole(t, env, alice.ID, role)
		if resp.FolderIDs[i] != mp.MakeID(1, uint64(f.GlobCnt)) {
			t.Errorf("FolderIds[%d] (%s) = %v, want GLOBCNT 0x%X", i, role, resp.FolderIDs[i], f.GlobCnt)
		}
	}
	mb, err := env.Store.Mailbox(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := mp.ParseGUID(mb.GUID); resp.MailboxGUID != g {
		t.Errorf("MailboxGuid %v, want %v", resp.MailboxGUID, g)
	}
	if g, _ := mp.ParseGUID(mb.ReplicaGUID); resp.ReplGUID != g || resp.ReplID != 1 {
		t.Errorf("replica %d %v, want 1 %v", resp.ReplID, resp.ReplGUID, g)
	}
	if resp.ResponseFlags&LogonResponseReserved == 0 || resp.ResponseFlags&LogonResponseOwnerRight == 0 {
		t.Errorf("ResponseFlags 0x%02X", resp.ResponseFlags)
	}
	// The store answers its entry ids and the special folder entry ids.
	props := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(0), WantUnicode: 1,
		PropertyTags: []mp.Tag{mp.PidTagIpmSubtreeEntryId, mp.PidTagValidFolderMask, mp.PidTagMailboxOwnerName, mp.PidTagStoreRecordKey}}).(*GetPropertiesSpecificResponse)
	v, _ := props.Row.Get(mp.PidTagIpmSubtreeEntryId.ID())
	e, err := mp.ParseFolderEntryID(v.Data.([]byte))
	if err != nil || int64(e.GlobalCounter) != folderByRole(t, env, alice.ID, storage.RoleIPMSubtree).GlobCnt {
		t.Errorf("IPM subtree entry id %v (%v)", e, err)
	}
	if name := str(t, props.Row, mp.PidTagMailboxOwnerName); name != "alice@example.com" {
		t.Errorf("owner name %q", name)
	}
}

// TestLogonOtherUser: another user's DN is refused; an unknown one too.
func TestLogonOtherUser(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	bob := env.AddUser(t, "bob@example.com", "pw")
	srv := NewServer(Options{Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, Logger: env.Logger,
		AccountByLegacyDN: func(ctx context.Context, dn string) (*directory.Account, error) {
			if strings.EqualFold(dn, DefaultLegacyDN(bob)) {
				return bob, nil
			}
			return nil, errors.New("no such DN")
		}})
	c := newTestClient(t, env, srv, alice)
	req := &LogonRequest{RequestHeader: RequestHeader{LogonID: 1}, LogonFlags: LogonFlagPrivate, Essdn: DefaultLegacyDN(bob)}
	if ec := c.ec(req); ec != mp.ErrLoginPerm {
		t.Errorf("logon as bob: %v, want ecLoginPerm", ec)
	}
	req.Essdn = "/o=Nowhere/cn=Recipients/cn=nobody"
	if ec := c.ec(req); ec != mp.ErrUnknownUser {
		t.Errorf("logon as nobody: %v, want ecUnknownUser", ec)
	}
	if c.handles[0] != EmptyHandle {
		t.Errorf("a refused logon set handle 0x%08X", c.handles[0])
	}
	req.Essdn = strings.ToUpper(DefaultLegacyDN(alice))
	if ec := c.ec(req); ec != 0 {
		t.Errorf("own DN in upper case: %v", ec)
	}
}

// TestHierarchy: the IPM subtree lists the default folders with correct
// counts.
func TestHierarchy(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	env.Deliver(t, mimeMessage("first", 100, ""), alice.ID)
	env.Deliver(t, mimeMessage("second", 100, ""), alice.ID)
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleIPMSubtree)
	n := c.one(&GetHierarchyTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode}).(*GetHierarchyTableResponse).RowCount
	cols := []mp.Tag{mp.PidTagDisplayName, mp.PidTagContentCount, mp.PidTagContentUnreadCount, mp.PidTagFolderId, mp.PidTagSubfolders, mp.PidTagContainerClass, mp.PidTagDepth}
	rows := c.rows(2, cols, 100)
	if int(n) != len(rows) {
		t.Fatalf("RowCount %d, %d rows", n, len(rows))
	}
	byName := map[string]mp.PropertyRow{}
	for _, r := range rows {
		byName[str(t, r, mp.PidTagDisplayName)] = r
	}
	for _, want := range []string{"Inbox", "Outbox", "Sent Items", "Deleted Items", "Drafts", "Junk Email", "Calendar", "Contacts", "Tasks", "Notes", "Journal"} {
		if _, ok := byName[want]; !ok {
			t.Errorf("hierarchy lacks %q (has %v)", want, keys(byName))
		}
	}
	inbox := byName["Inbox"]
	if got := i32(t, inbox, mp.PidTagContentCount); got != 2 {
		t.Errorf("Inbox ContentCount %d, want 2", got)
	}
	if got := i32(t, inbox, mp.PidTagContentUnreadCount); got != 2 {
		t.Errorf("Inbox unread %d, want 2", got)
	}
	if got := str(t, byName["Calendar"], mp.PidTagContainerClass); got != "IPF.Appointment" {
		t.Errorf("Calendar class %q", got)
	}
	if got := i32(t, inbox, mp.PidTagDepth); got != 1 {
		t.Errorf("Inbox depth %d", got)
	}
	// The Inbox carries the special folder entry ids (MS-OXOSFLD 2.2.3).
	c.openFolder(0, 3, storage.RoleInbox)
	p := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(3), PropertyTags: []mp.Tag{mp.PidTagIpmAppointmentEntryId, mp.PidTagIpmDraftsEntryId, mp.PidTagAdditionalRenEntryIds}}).(*GetPropertiesSpecificResponse)
	v, ok := p.Row.Get(mp.PidTagIpmDraftsEntryId.ID())
	if !ok {
		t.Fatalf("no drafts entry id: %v", p.Row.Values)
	}
	e, _ := mp.ParseFolderEntryID(v.Data.([]byte))
	if int64(e.GlobalCounter) != folderByRole(t, env, alice.ID, storage.RoleDrafts).GlobCnt {
		t.Errorf("drafts entry id names GLOBCNT %d", e.GlobalCounter)
	}
	ren, _ := p.Row.Get(mp.PidTagAdditionalRenEntryIds.ID())
	if ids := ren.Data.([][]byte); len(ids) != 5 || len(ids[4]) != 46 {
		t.Errorf("AdditionalRenEntryIds %v", ren.Data)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestReadDeliveredMessage: a message delivered as MIME is listed in the
// Inbox contents table, sorted and restricted, and reads back with its
// subject, sender, recipients, body (through a stream) and attachment.
func TestReadDeliveredMessage(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	attachment := strings.Repeat("0123456789abcdef", 300)
	env.Deliver(t, mimeMessage("older note", 50, ""), alice.ID)
	env.Deliver(t, mimeMessage("Quarterly report", 9000, attachment), alice.ID)
	env.Deliver(t, mimeMessage("newest note", 50, ""), alice.ID)
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode})
	c.one(&SortTableRequest{RequestHeader: hdr(2), SortOrderSet: mp.SortOrderSet{SortOrders: []mp.SortOrder{{PropTag: mp.PidTagMessageDeliveryTime, Order: mp.SortDescending}}}})
	cols := []mp.Tag{mp.PidTagMid, mp.PidTagSubject, mp.PidTagSenderName, mp.PidTagMessageFlags, mp.PidTagHasAttachments, mp.PidTagDisplayTo}
	all := c.rows(2, cols, 10)
	if len(all) != 3 || str(t, all[0], mp.PidTagSubject) != "newest note" || str(t, all[2], mp.PidTagSubject) != "older note" {
		t.Fatalf("sorted rows: %v", all)
	}
	c.one(&RestrictRequest{RequestHeader: hdr(2), Restriction: &mp.ContentRestriction{FuzzyLevelLow: 1, FuzzyLevelHigh: 1,
		PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, "quarterly")}})
	rows := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 10}).(*QueryRowsResponse)
	if len(rows.Rows) != 1 || rows.Origin != BookmarkEnd {
		t.Fatalf("restricted rows: %v origin %d", rows.Rows, rows.Origin)
	}
	row := rows.Rows[0]
	if got := str(t, row, mp.PidTagSenderName); got != "Zed Sender" {
		t.Errorf("sender %q", got)
	}
	if v, _ := row.Get(mp.PidTagHasAttachments.ID()); v.Data != true {
		t.Errorf("HasAttachments %v", v.Data)
	}
	if f := i32(t, row, mp.PidTagMessageFlags); f&mp.MessageFlagRead != 0 {
		t.Errorf("new message flagged read: 0x%X", f)
	}
	midV, _ := row.Get(mp.PidTagMid.ID())
	mid := mp.ID(midV.Data.(int64))

	om := c.one(&OpenMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 3, CodePageID: 0x0FFF, FolderID: roleFID(storage.RoleInbox), MessageID: mid}).(*OpenMessageResponse)
	if om.NormalizedSubject.Value != "Quarterly report" || om.RecipientCount != 2 || len(om.RecipientRows) != 2 {
		t.Fatalf("OpenMessage: subject %q, %d recipients, %d rows", om.NormalizedSubject.Value, om.RecipientCount, len(om.RecipientRows))
	}
	var rcpts []string
	for _, r := range om.RecipientRows {
		rcpts = append(rcpts, r.Row.EmailAddress)
	}
	if !slices.Contains(rcpts, "alice@example.com") || !slices.Contains(rcpts, "bob@example.com") {
		t.Errorf("recipients %v", rcpts)
	}
	props := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(3), WantUnicode: 1, PropertyTags: []mp.Tag{
		mp.PidTagSubject, mp.PidTagSenderEmailAddress, mp.PidTagDisplayTo, mp.PidTagDisplayCc, mp.PidTagBody, mp.PidTagMessageClass}}).(*GetPropertiesSpecificResponse)
	if got := str(t, props.Row, mp.PidTagSubject); got != "Quarterly report" {
		t.Errorf("subject %q", got)
	}
	if got := str(t, props.Row, mp.PidTagSenderEmailAddress); got != "zed@outside.example" {
		t.Errorf("sender address %q", got)
	}
	if got := str(t, props.Row, mp.PidTagDisplayCc); !strings.Contains(got, "bob@example.com") {
		t.Errorf("DisplayCc %q", got)
	}
	body, _ := value(props.Row, mp.PidTagBody)
	if ec, ok := body.Data.(mp.ErrorCode); !ok || ec != mp.ErrMAPIOOM {
		t.Fatalf("a 9000-byte body answered %v, want ecMAPIOOM", body.Data)
	}
	c.one(&OpenStreamRequest{RequestHeader: hdr(3), OutputHandleIndex: 4, PropertyTag: mp.PidTagBody, OpenModeFlags: StreamReadOnly})
	var text []byte
	for i := 0; i < 100; i++ {
		rs := c.one(&ReadStreamRequest{RequestHeader: hdr(4), ByteCount: 4000}).(*ReadStreamResponse)
		if len(rs.Data) == 0 {
			break
		}
		text = append(text, rs.Data...)
	}
	if got := mp.DecodeUTF16(text); !strings.HasPrefix(got, "line of body text") || len(got) < 9000 {
		t.Errorf("streamed body: %d characters %q…", len(got), got[:min(40, len(got))])
	}

	// The attachment through the attachment table and a stream.
	c.one(&GetAttachmentTableRequest{RequestHeader: hdr(3), OutputHandleIndex: 5, TableFlags: TableFlagUseUnicode})
	arows := c.rows(5, []mp.Tag{mp.PidTagAttachNumber, mp.PidTagAttachLongFilename, mp.PidTagAttachMethod}, 10)
	if len(arows) != 1 || str(t, arows[0], mp.PidTagAttachLongFilename) != "data.bin" {
		t.Fatalf("attachment rows %v", arows)
	}
	num := uint32(i32(t, arows[0], mp.PidTagAttachNumber))
	c.one(&OpenAttachmentRequest{RequestHeader: hdr(3), OutputHandleIndex: 6, AttachmentID: num})
	c.one(&OpenStreamRequest{RequestHeader: hdr(6), OutputHandleIndex: 7, PropertyTag: mp.PidTagAttachDataBinary})
	rs := c.one(&ReadStreamRequest{RequestHeader: hdr(7), ByteCount: ReadStreamMaxSentinel, MaximumByteCount: 20000}).(*ReadStreamResponse)
	if string(rs.Data) != attachment {
		t.Errorf("attachment data: %d bytes", len(rs.Data))
	}
}

// TestSetReadFlags: SetReadFlags sets \Seen in the store, so IMAP sees it,
// and a \Seen set elsewhere reads as MSGFLAG_READ.
func TestSetReadFlags(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	res := env.Deliver(t, mimeMessage("to be read", 50, ""), alice.ID)
	env.Deliver(t, mimeMessage("stays unread", 50, ""), alice.ID)
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	ctx := context.Background()
	m, err := env.Store.MessageByID(ctx, alice.ID, res.Targets[0].MessageID)
	if err != nil {
		t.Fatal(err)
	}
	c.one(&SetReadFlagsRequest{RequestHeader: hdr(1), MessageIDs: []mp.ID{mp.MakeID(1, uint64(m.GlobCnt))}})
	ms := messagesIn(t, env, alice.ID, storage.RoleInbox)
	for _, m := range ms {
		seen := m.Flags&storage.FlagSeen != 0
		if seen != (m.Subject == "to be read") {
			t.Errorf("%q: \\Seen %v", m.Subject, seen)
		}
	}
	// Clear it again through SetMessageReadFlag on the open message.
	c.one(&OpenMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleInbox), MessageID: mp.MakeID(1, uint64(m.GlobCnt)), OpenModeFlags: OpenModeReadWrite})
	c.one(&SetMessageReadFlagRequest{RequestHeader: hdr(2), ResponseHandleIndex: 1, ReadFlags: ReadFlagClearReadFlag})
	if m, _ = env.Store.MessageByID(ctx, alice.ID, m.ID); m.Flags&storage.FlagSeen != 0 {
		t.Errorf("SetMessageReadFlag(clear) left \\Seen")
	}
	// A \Seen from another door shows as read.
	if _, err := env.Store.SetFlags(ctx, alice.ID, m.FolderID, []int64{m.ID}, storage.FlagsAdd, storage.FlagSeen, nil, 0); err != nil {
		t.Fatal(err)
	}
	p := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(2), PropertyTags: []mp.Tag{mp.PidTagMessageFlags}}).(*GetPropertiesSpecificResponse)
	if f := i32(t, p.Row, mp.PidTagMessageFlags); f&mp.MessageFlagRead == 0 {
		t.Errorf("\\Seen from IMAP reads as flags 0x%X", f)
	}
}

// composeRecipient is a ModifyRecipients row for an SMTP address.
func composeRecipient(id uint32, typ uint8, name, addr string) ModifyRecipientRow {
	cols := []mp.Tag{mp.PidTagObjectType, mp.PidTagDisplayType, mp.PidTagSmtpAddress}
	row := &mp.RecipientRow{Flags: mp.RecipientTypeSMTP | mp.RecipientFlagEmail | mp.RecipientFlagDisplay | mp.RecipientFlagSame | mp.RecipientFlagUnicode,
		EmailAddress: addr, DisplayName: name, ColumnCount: uint16(len(cols)),
		Properties: mp.NewPropertyRow(cols, []mp.Value{mp.Int32Value(mp.PidTagObjectType, 6), mp.Int32Value(mp.PidTagDisplayType, 0), mp.StringValue(mp.PidTagSmtpAddress, addr)})}
	return ModifyRecipientRow{RowID: id, RecipientType: typ, Row: row}
}

var composeColumns = []mp.Tag{mp.PidTagObjectType, mp.PidTagDisplayType, mp.PidTagSmtpAddress}

// TestSubmitUnsaved: CreateMessage + SetProperties + ModifyRecipients +
// SubmitMessage in one Execute, as ruler sends it: the local recipient
// has it in the Inbox, the remote one is queued, the sender's copy is in
// Sent Items as valid MIME.
func TestSubmitUnsaved(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	bob := env.AddUser(t, "bob@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	resps := c.exec(
		&CreateMessageRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, CodePageID: 0x0FFF, FolderID: roleFID(storage.RoleOutbox)},
		&SetPropertiesRequest{RequestHeader: hdr(1), Properties: []mp.Value{
			mp.StringValue(mp.PidTagSubject, "Lunch on Friday"),
			mp.StringValue(mp.PidTagBody, "Shall we meet at noon?"),
			mp.StringValue(mp.PidTagMessageClass, "IPM.Note"),
			mp.Int32Value(mp.PidTagMessageFlags, 8),
		}},
		&ModifyRecipientsRequest{RequestHeader: hdr(1), RecipientColumns: composeColumns, Rows: []ModifyRecipientRow{
			composeRecipient(0, 1, "Bob", "bob@example.com"),
			composeRecipient(1, 2, "Carol", "carol@remote.example"),
		}},
		&SubmitMessageRequest{RequestHeader: hdr(1)},
	)
	for _, r := range resps {
		if ec := r.(StandardResponse).Header().ReturnValue; ec != 0 {
			t.Fatalf("%s: %v", r.RopID(), ec)
		}
	}
	if cm := resps[0].(*CreateMessageResponse); cm.MessageID != nil {
		t.Errorf("CreateMessage answered a MessageId (ruler cannot parse it)")
	}
	inbox := messagesIn(t, env, bob.ID, storage.RoleInbox)
	if len(inbox) != 1 || inbox[0].Subject != "Lunch on Friday" {
		t.Fatalf("bob's Inbox: %v", inbox)
	}
	raw, err := env.Store.ReadBlob(context.Background(), inbox[0].BlobHash)
	if err != nil {
		t.Fatal(err)
	}
	p := message.Parse(raw)
	if !strings.Contains(p.FromAddr, "alice@example.com") || !strings.Contains(message.TextBody(raw, p), "meet at noon") {
		t.Errorf("delivered MIME: from %q body %q", p.FromAddr, message.TextBody(raw, p))
	}
	q, err := env.Store.QueueMessages(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || len(q[0].Recipients) != 1 || q[0].Recipients[0].Address != "carol@remote.example" || q[0].Sender != "alice@example.com" {
		t.Fatalf("queue: %+v", q)
	}
	sent := messagesIn(t, env, alice.ID, storage.RoleSent)
	if len(sent) != 1 || sent[0].Subject != "Lunch on Friday" || sent[0].Flags&storage.FlagSeen == 0 || sent[0].MIMEFromChange == 0 {
		t.Fatalf("alice's Sent Items: %+v", sent)
	}
	if out := messagesIn(t, env, alice.ID, storage.RoleOutbox); len(out) != 0 {
		t.Errorf("Outbox keeps %d messages", len(out))
	}
	// The Sent Items copy reads back through MAPI with its recipients.
	c.openFolder(0, 2, storage.RoleSent)
	om := c.one(&OpenMessageRequest{RequestHeader: hdr(2), OutputHandleIndex: 3, FolderID: roleFID(storage.RoleSent), MessageID: mp.MakeID(1, uint64(sent[0].GlobCnt))}).(*OpenMessageResponse)
	if om.RecipientCount != 2 || om.NormalizedSubject.Value != "Lunch on Friday" {
		t.Errorf("sent copy: %d recipients, subject %q", om.RecipientCount, om.NormalizedSubject.Value)
	}
}

// TestDraftIsValidMIME: a draft saved in Drafts is stored as MIME that
// parses cleanly (what IMAP FETCH serves), is \Draft, and keeps its MAPI
// properties and attachment.
func TestDraftIsValidMIME(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleDrafts)
	c.one(&CreateMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, CodePageID: 0x0FFF, FolderID: roleFID(storage.RoleDrafts)})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{
		mp.StringValue(mp.PidTagSubject, "Draft: plans ✓"),
		mp.BinaryValue(mp.PidTagHtml, []byte("<html><body><p>Plans for <b>next</b> week</p></body></html>")),
	}})
	c.one(&ModifyRecipientsRequest{RequestHeader: hdr(2), RecipientColumns: composeColumns, Rows: []ModifyRecipientRow{composeRecipient(0, 1, "Dave", "dave@remote.example")}})
	ca := c.one(&CreateAttachmentRequest{RequestHeader: hdr(2), OutputHandleIndex: 3}).(*CreateAttachmentResponse)
	c.one(&SetPropertiesRequest{RequestHeader: hdr(3), Properties: []mp.Value{
		mp.Int32Value(mp.PidTagAttachMethod, mp.AttachMethodByValue),
		mp.StringValue(mp.PidTagAttachLongFilename, "plan.txt"),
	}})
	c.one(&OpenStreamRequest{RequestHeader: hdr(3), OutputHandleIndex: 4, PropertyTag: mp.PidTagAttachDataBinary, OpenModeFlags: StreamCreate})
	c.one(&WriteStreamRequest{RequestHeader: hdr(4), Data: []byte("step one\r\nstep two\r\n")})
	c.one(&CommitStreamRequest{RequestHeader: hdr(4)})
	c.one(&SaveChangesAttachmentRequest{RequestHeader: hdr(3), ResponseHandleIndex: 3})
	sv := c.one(&SaveChangesMessageRequest{RequestHeader: hdr(2), ResponseHandleIndex: 2, SaveFlags: SaveKeepOpenReadWrite}).(*SaveChangesMessageResponse)

	drafts := messagesIn(t, env, alice.ID, storage.RoleDrafts)
	if len(drafts) != 1 {
		t.Fatalf("Drafts has %d messages", len(drafts))
	}
	d := drafts[0]
	if sv.MessageID != mp.MakeID(1, uint64(d.GlobCnt)) {
		t.Errorf("SaveChangesMessage MessageId %v, stored GLOBCNT %d", sv.MessageID, d.GlobCnt)
	}
	if d.Flags&storage.FlagDraft == 0 || d.Subject != "Draft: plans ✓" {
		t.Errorf("draft row: flags %v subject %q", d.Flags, d.Subject)
	}
	raw, err := env.Store.ReadBlob(context.Background(), d.BlobHash)
	if err != nil {
		t.Fatal(err)
	}
	p := message.Parse(raw)
	if len(p.Warnings) > 0 {
		t.Errorf("draft MIME has warnings: %v\n%s", p.Warnings, raw)
	}
	if !bytes.Contains(raw, []byte("dave@remote.example")) || !strings.Contains(message.HTMLBody(raw, p), "<b>next</b>") {
		t.Errorf("draft MIME lacks recipient or body:\n%s", raw)
	}
	atts := message.Attachments(p)
	if len(atts) != 1 || atts[0].FileName != "plan.txt" {
		t.Errorf("draft MIME attachments: %+v", atts)
	}
	// Editing the draft replaces its content under the same MID and a new UID.
	c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "Plans (final)")}})
	sv2 := c.one(&SaveChangesMessageRequest{RequestHeader: hdr(2), ResponseHandleIndex: 2, SaveFlags: SaveKeepOpenReadWrite}).(*SaveChangesMessageResponse)
	drafts = messagesIn(t, env, alice.ID, storage.RoleDrafts)
	if len(drafts) != 1 || drafts[0].Subject != "Plans (final)" || drafts[0].UID == d.UID || sv2.MessageID != sv.MessageID {
		t.Fatalf("after edit: %+v (MID %v was %v)", drafts, sv2.MessageID, sv.MessageID)
	}
	// Reopened from the store, the attachment and its data are there.
	c.one(&OpenMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 5, FolderID: roleFID(storage.RoleDrafts), MessageID: sv2.MessageID})
	c.one(&OpenAttachmentRequest{RequestHeader: hdr(5), OutputHandleIndex: 6, AttachmentID: ca.AttachmentID})
	ap := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(6), WantUnicode: 1, PropertyTags: []mp.Tag{mp.PidTagAttachLongFilename, mp.PidTagAttachDataBinary}}).(*GetPropertiesSpecificResponse)
	if str(t, ap.Row, mp.PidTagAttachLongFilename) != "plan.txt" {
		t.Errorf("attachment name after reload")
	}
	if v, _ := value(ap.Row, mp.PidTagAttachDataBinary); !bytes.Equal(asBytes(v.Data), []byte("step one\r\nstep two\r\n")) {
		t.Errorf("attachment data after reload: %q", v.Data)
	}
}

func asBytes(d any) []byte {
	b, _ := d.([]byte)
	return b
}
