package rop

import (
	"context"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// folderPath finds a folder by IMAP path, as other doors see it.
func folderPath(t *testing.T, env *testenv.Env, acc int64, path string) *storage.Folder {
	t.Helper()
	fs, err := env.Store.Folders(context.Background(), acc)
	if err != nil {
		t.Fatal(err)
	}
	paths := storage.FolderPaths(fs)
	for i := range fs {
		if paths[fs[i].ID] == path {
			return &fs[i]
		}
	}
	return nil
}

// TestFolderLifecycle: create (and open existing), rename, move, copy,
// empty and delete folders; every change shows in the store's tree that
// IMAP reads.
func TestFolderLifecycle(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	env.Deliver(t, mimeMessage("in inbox", 10, ""), alice.ID)
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleIPMSubtree)
	cf := c.one(&CreateFolderRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderType: FolderTypeGeneric, UseUnicodeStrings: true,
		DisplayName: "Projects ✓", Comment: "work"}).(*CreateFolderResponse)
	if cf.IsExistingFolder || folderPath(t, env, alice.ID, "Projects ✓") == nil {
		t.Fatalf("created folder not in the store: %+v", cf)
	}
	if ec := c.ec(&CreateFolderRequest{RequestHeader: hdr(1), OutputHandleIndex: 3, FolderType: FolderTypeGeneric, UseUnicodeStrings: true, DisplayName: "projects ✓"}); ec != mp.ErrDuplicateName {
		t.Errorf("duplicate name: %v", ec)
	}
	again := c.one(&CreateFolderRequest{RequestHeader: hdr(1), OutputHandleIndex: 3, FolderType: FolderTypeGeneric, UseUnicodeStrings: true,
		OpenExisting: true, DisplayName: "Projects ✓"}).(*CreateFolderResponse)
	if !again.IsExistingFolder || again.FolderID != cf.FolderID {
		t.Errorf("OpenExisting: %+v", again)
	}
	p := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(2), WantUnicode: 1, PropertyTags: []mp.Tag{mp.PidTagComment, mp.PidTagDisplayName, mp.PidTagParentFolderId}}).(*GetPropertiesSpecificResponse)
	if str(t, p.Row, mp.PidTagComment) != "work" || str(t, p.Row, mp.PidTagDisplayName) != "Projects ✓" {
		t.Errorf("new folder properties: %v", p.Row.Values)
	}
	// Rename through PidTagDisplayName.
	c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{mp.StringValue(mp.PidTagDisplayName, "Projects")}})
	if folderPath(t, env, alice.ID, "Projects") == nil {
		t.Fatal("rename did not reach the store")
	}
	// A subfolder, moved under Inbox, then copied back with its message.
	c.one(&CreateFolderRequest{RequestHeader: hdr(2), OutputHandleIndex: 3, FolderType: FolderTypeGeneric, DisplayName: "Alpha"})
	c.openFolder(0, 4, storage.RoleInbox)
	c.one(&MoveCopyMessagesRequest{RequestHeader: hdr(4), DestHandleIndex: 3, MessageIDs: []mp.ID{inboxMID(t, env, alice.ID, 0)}, WantCopy: true})
	sub := c.one(&GetPropertiesSpecificRequest{RequestHeader: hdr(3), PropertyTags: []mp.Tag{mp.PidTagFolderId}}).(*GetPropertiesSpecificResponse)
	alphaID, _ := sub.Row.Get(mp.PidTagFolderId.ID())
	c.one(&MoveFolderRequest{RequestHeader: hdr(2), DestHandleIndex: 4, UseUnicode: true, FolderID: mp.ID(alphaID.Data.(int64)), NewFolderName: "Beta"})
	if folderPath(t, env, alice.ID, "Inbox/Beta") == nil {
		t.Fatal("MoveFolder: Inbox/Beta missing")
	}
	c.one(&CopyFolderRequest{RequestHeader: hdr(4), DestHandleIndex: 2, WantRecursive: true, UseUnicode: true, FolderID: mp.ID(alphaID.Data.(int64)), NewFolderName: "Gamma"})
	gamma := folderPath(t, env, alice.ID, "Projects/Gamma")
	if gamma == nil {
		t.Fatal("CopyFolder: Projects/Gamma missing")
	}
	if n, _ := env.Store.CountMessages(context.Background(), alice.ID, gamma.ID, false); n != 1 {
		t.Errorf("copied folder has %d messages", n)
	}
	// Deleting a folder with content needs the flags.
	if ec := c.ec(&DeleteFolderRequest{RequestHeader: hdr(2), FolderID: mp.MakeID(1, uint64(gamma.GlobCnt))}); ec != mp.ErrHasMessages {
		t.Errorf("deleting a folder with messages without DEL_MESSAGES: %v", ec)
	}
	c.one(&DeleteFolderRequest{RequestHeader: hdr(2), DeleteFolderFlags: DeleteFolderMessages | DeleteFolderFolders, FolderID: mp.MakeID(1, uint64(gamma.GlobCnt))})
	if folderPath(t, env, alice.ID, "Projects/Gamma") != nil {
		t.Error("deleted folder still there")
	}
	// Special folders stay.
	c.openFolder(0, 5, storage.RoleRoot)
	if ec := c.ec(&DeleteFolderRequest{RequestHeader: hdr(1), DeleteFolderFlags: 0x15, FolderID: roleFID(storage.RoleInbox)}); ec != mp.ErrAccessDenied {
		t.Errorf("deleting the Inbox: %v", ec)
	}
	// EmptyFolder removes messages and non-special subfolders.
	c.one(&EmptyFolderRequest{RequestHeader: hdr(4)})
	if n, _ := env.Store.CountMessages(context.Background(), alice.ID, folderByRole(t, env, alice.ID, storage.RoleInbox).ID, false); n != 0 {
		t.Errorf("emptied Inbox has %d messages", n)
	}
	if folderPath(t, env, alice.ID, "Inbox/Beta") != nil {
		t.Error("EmptyFolder kept a subfolder")
	}
}

// inboxMID is the MID of the account's i-th Inbox message.
func inboxMID(t *testing.T, env *testenv.Env, acc int64, i int) mp.ID {
	t.Helper()
	ms := messagesIn(t, env, acc, storage.RoleInbox)
	if i >= len(ms) {
		t.Fatalf("Inbox has %d messages", len(ms))
	}
	return mp.MakeID(1, uint64(ms[i].GlobCnt))
}

// TestMoveCopyDeleteMessages: messages move, copy and go, and the missing
// ones give PartialCompletion.
func TestMoveCopyDeleteMessages(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	for _, s := range []string{"one", "two", "three"} {
		env.Deliver(t, mimeMessage(s, 10, ""), alice.ID)
	}
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.openFolder(0, 2, storage.RoleDeleted)
	one, two, three := inboxMID(t, env, alice.ID, 0), inboxMID(t, env, alice.ID, 1), inboxMID(t, env, alice.ID, 2)
	mv := c.one(&MoveCopyMessagesRequest{RequestHeader: hdr(1), DestHandleIndex: 2, MessageIDs: []mp.ID{one, mp.MakeID(1, 0xFFFFFF)}}).(*MoveCopyMessagesResponse)
	if !mv.PartialCompletion {
		t.Errorf("a missing MID did not give PartialCompletion")
	}
	if d := messagesIn(t, env, alice.ID, storage.RoleDeleted); len(d) != 1 || d[0].Subject != "one" {
		t.Errorf("Deleted Items after move: %v", d)
	}
	if ec := c.ec(&MoveCopyMessagesRequest{RequestHeader: hdr(1), DestHandleIndex: 7, MessageIDs: []mp.ID{two}}); ec != mp.ErrDstNullObject {
		t.Errorf("bad destination: %v", ec)
	}
	c.one(&DeleteMessagesRequest{RequestHeader: hdr(1), MessageIDs: []mp.ID{two}})
	c.one(&HardDeleteMessagesRequest{RequestHeader: hdr(1), MessageIDs: []mp.ID{three}})
	if in := messagesIn(t, env, alice.ID, storage.RoleInbox); len(in) != 0 {
		t.Errorf("Inbox keeps %v", in)
	}
	// Message status bits (MS-OXCMSG 3.2.5.8-9).
	moved := messagesIn(t, env, alice.ID, storage.RoleDeleted)[0]
	mid := mp.MakeID(1, uint64(moved.GlobCnt))
	old := c.one(&SetMessageStatusRequest{RequestHeader: hdr(2), MessageID: mid, MessageStatusFlags: 0x1000 | 0x2, MessageStatusMask: 0x1000}).(*SetMessageStatusResponse)
	if old.MessageStatusFlags != 0 {
		t.Errorf("old status 0x%X", old.MessageStatusFlags)
	}
	if st := c.one(&GetMessageStatusRequest{RequestHeader: hdr(2), MessageID: mid}).(*GetMessageStatusResponse); st.MessageStatusFlags != 0x1000 {
		t.Errorf("status 0x%X, want 0x1000 (the mask keeps bit 2 out)", st.MessageStatusFlags)
	}
}

// TestStoreIDsAndReceiveFolders: long-term ids round-trip and receive
// folders resolve by message class (MS-OXCSTOR).
func TestStoreIDsAndReceiveFolders(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	inbox := roleFID(storage.RoleInbox)
	lt := c.one(&LongTermIdFromIdRequest{RequestHeader: hdr(0), ObjectID: inbox}).(*LongTermIdFromIdResponse).LongTermID
	back := c.one(&IdFromLongTermIdRequest{RequestHeader: hdr(0), LongTermID: lt}).(*IdFromLongTermIdResponse).ObjectID
	if back != inbox {
		t.Errorf("long-term id round trip: %v → %v", inbox, back)
	}
	lt.DatabaseGUID[0] ^= 0xFF
	if ec := c.ec(&IdFromLongTermIdRequest{RequestHeader: hdr(0), LongTermID: lt}); ec != mp.ErrNotFound {
		t.Errorf("foreign long-term id: %v", ec)
	}
	rf := c.one(&GetReceiveFolderRequest{RequestHeader: hdr(0), MessageClass: "IPM.Note.Custom"}).(*GetReceiveFolderResponse)
	if rf.FolderID != inbox || rf.ExplicitMessageClass != "IPM" {
		t.Errorf("receive folder of IPM.Note.Custom: %v %q", rf.FolderID, rf.ExplicitMessageClass)
	}
	c.one(&SetReceiveFolderRequest{RequestHeader: hdr(0), FolderID: roleFID(storage.RoleJunk), MessageClass: "IPM.Note.Spam"})
	rf = c.one(&GetReceiveFolderRequest{RequestHeader: hdr(0), MessageClass: "ipm.note.spam.x"}).(*GetReceiveFolderResponse)
	if rf.FolderID != roleFID(storage.RoleJunk) || rf.ExplicitMessageClass != "IPM.NOTE.SPAM" {
		t.Errorf("after SetReceiveFolder: %v %q", rf.FolderID, rf.ExplicitMessageClass)
	}
	tbl := c.one(&GetReceiveFolderTableRequest{RequestHeader: hdr(0)}).(*GetReceiveFolderTableResponse)
	if len(tbl.Rows) != 5 {
		t.Errorf("receive folder table has %d rows, want 5", len(tbl.Rows))
	}
	if st := c.one(&GetStoreStateRequest{RequestHeader: hdr(0)}).(*GetStoreStateResponse); st.StoreState != 0 {
		t.Errorf("store state %d", st.StoreState)
	}
	if ids := c.one(&GetPerUserLongTermIdsRequest{RequestHeader: hdr(0)}).(*GetPerUserLongTermIdsResponse); len(ids.LongTermIDs) != 0 {
		t.Errorf("per-user ids %v", ids.LongTermIDs)
	}
}
