package rop

import (
	"context"
	"fmt"
	"slices"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// moveSetup: slot 1 the Inbox, slot 2 its contents table, slot 3 a
// subscription on the Inbox to every object event, slot 4 the Archive
// folder, slot 5 a subscription on it to created and deleted only (a
// client that did not ask for moves and copies).
type moveSetup struct {
	*testClient
	inbox, archive *storage.Folder
}

func newMoveSetup(t *testing.T) *moveSetup {
	t.Helper()
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	inbox := folderByRole(t, env, alice.ID, storage.RoleInbox)
	archive, err := env.Store.CreateFolder(context.Background(), alice.ID, inbox.ID, "Archive", "IPF.Note")
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode})
	c.one(&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: notifyCols})
	all := NotifyNewMail | NotifyObjectCreated | NotifyObjectDeleted | NotifyObjectModified | NotifyObjectMoved | NotifyObjectCopied
	c.one(&RegisterNotificationRequest{RequestHeader: hdr(1), OutputHandleIndex: 3, NotificationTypes: uint8(all), FolderID: roleFID(storage.RoleInbox)})
	c.one(&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 4, FolderID: makeID(archive.GlobCnt)})
	c.one(&RegisterNotificationRequest{RequestHeader: hdr(4), OutputHandleIndex: 5,
		NotificationTypes: uint8(NotifyObjectCreated | NotifyObjectDeleted), FolderID: makeID(archive.GlobCnt)})
	return &moveSetup{testClient: c, inbox: inbox, archive: archive}
}

// notifies waits for pending events and returns the RopNotify responses
// of the next Execute.
func (c *moveSetup) notifies() []*NotifyResponse {
	c.t.Helper()
	if !c.sess.WaitEvents(context.Background()) {
		c.t.Fatal("WaitEvents returned without events")
	}
	var out []*NotifyResponse
	for _, r := range c.drain(0x8000) {
		n, ok := r.(*NotifyResponse)
		if !ok {
			c.t.Fatalf("unexpected %s", r.RopID())
		}
		out = append(out, n)
	}
	return out
}

func notifyList(ns []*NotifyResponse) string {
	var s []string
	for _, n := range ns {
		s = append(s, fmt.Sprintf("h%x:%04x/%d mid %v old %v", n.NotificationHandle, n.Data.NotificationFlags, n.Data.TableEventType, n.Data.MessageID, n.Data.OldMessageID))
	}
	return fmt.Sprint(s)
}

func pick(ns []*NotifyResponse, handle uint32, flags uint16) []*NotifyResponse {
	var out []*NotifyResponse
	for _, n := range ns {
		if n.NotificationHandle == handle && n.Data.NotificationFlags == flags {
			out = append(out, n)
		}
	}
	return out
}

// MS-OXCNOTIF 2.2.1.4.1.2: a move is one ObjectMoved (new FolderId and
// MessageId, OldFolderId and OldMessageId) to a subscription that asked
// for it, with the source table's row deleted; a subscription that did not
// ask hears ObjectCreated in its folder instead; no NewMail for a move.
func TestNotifyObjectMoved(t *testing.T) {
	c := newMoveSetup(t)
	ctx := context.Background()
	c.env.Deliver(t, mimeMessage("to be filed", 10, ""), c.acc.ID)
	c.notifies()
	m := messagesIn(t, c.env, c.acc.ID, storage.RoleInbox)[0]
	oldMID := makeID(m.GlobCnt)

	moved, err := c.env.Store.MoveMessages(ctx, c.acc.ID, c.inbox.ID, []int64{m.ID}, c.archive.ID)
	if err != nil {
		t.Fatal(err)
	}
	nm, err := c.env.Store.MessageByID(ctx, c.acc.ID, moved[0].DstID)
	if err != nil {
		t.Fatal(err)
	}
	newMID := makeID(nm.GlobCnt)
	got := c.notifies()
	inboxSub, archiveSub, table := c.handles[3], c.handles[5], c.handles[2]

	mv := pick(got, inboxSub, NotifyObjectMoved|NotifyFlagMessage)
	if len(mv) != 1 {
		t.Fatalf("ObjectMoved on the Inbox subscription: %s", notifyList(got))
	}
	d := mv[0].Data
	if d.FolderID != makeID(c.archive.GlobCnt) || d.MessageID != newMID || d.OldFolderID != roleFID(storage.RoleInbox) || d.OldMessageID != oldMID {
		t.Errorf("ObjectMoved: folder %v message %v old folder %v old message %v; want %v %v %v %v",
			d.FolderID, d.MessageID, d.OldFolderID, d.OldMessageID, makeID(c.archive.GlobCnt), newMID, roleFID(storage.RoleInbox), oldMID)
	}
	if n := pick(got, inboxSub, NotifyObjectDeleted|NotifyFlagMessage); len(n) != 0 {
		t.Errorf("a subscription that asked for moves also heard ObjectDeleted: %s", notifyList(got))
	}
	if n := pick(got, inboxSub, NotifyNewMail|NotifyFlagMessage); len(n) != 0 {
		t.Errorf("a move was told as new mail: %s", notifyList(got))
	}
	// The Inbox's counts changed.
	if n := pick(got, inboxSub, NotifyObjectModified); len(n) != 1 || n[0].Data.FolderID != roleFID(storage.RoleInbox) {
		t.Errorf("Inbox counts: %s", notifyList(got))
	}
	rowDeleted := false
	for _, n := range pick(got, table, NotifyTableModified|NotifyFlagMessage) {
		if n.Data.TableEventType == TableRowDeleted && n.Data.TableRowMessageID == oldMID {
			rowDeleted = true
		}
		if n.Data.TableEventType == TableRowAdded {
			t.Errorf("the Inbox table got a row added for a move out of it")
		}
	}
	if !rowDeleted {
		t.Errorf("no row deleted in the source table: %s", notifyList(got))
	}
	cr := pick(got, archiveSub, NotifyObjectCreated|NotifyFlagMessage)
	if len(cr) != 1 || cr[0].Data.MessageID != newMID || cr[0].Data.FolderID != makeID(c.archive.GlobCnt) {
		t.Errorf("the Archive subscription (created, deleted) should hear ObjectCreated: %s", notifyList(got))
	}
	for _, n := range got {
		if n.NotificationHandle == archiveSub && n.Data.Type() != NotifyObjectCreated {
			t.Errorf("the Archive subscription heard type 0x%X", n.Data.Type())
		}
	}
	// The codec round trip of ObjectMoved: the old ids are on the wire.
	enc, err := c.sess.encode(mv[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeResponses(enc, nil, ResponseOptions{})
	if err != nil || len(again) != 1 || again[0].(*NotifyResponse).Data.OldMessageID != oldMID {
		t.Errorf("ObjectMoved round trip: %v %v", again, err)
	}
}

// A copy is ObjectCopied to the source's subscription (which stays with
// its message) and ObjectCreated to a destination subscription that did
// not ask for copies; the source table is untouched.
func TestNotifyObjectCopied(t *testing.T) {
	c := newMoveSetup(t)
	ctx := context.Background()
	c.env.Deliver(t, mimeMessage("to be copied", 10, ""), c.acc.ID)
	c.notifies()
	m := messagesIn(t, c.env, c.acc.ID, storage.RoleInbox)[0]

	copied, err := c.env.Store.CopyMessages(ctx, c.acc.ID, c.inbox.ID, []int64{m.ID}, c.archive.ID)
	if err != nil {
		t.Fatal(err)
	}
	nm, err := c.env.Store.MessageByID(ctx, c.acc.ID, copied[0].DstID)
	if err != nil {
		t.Fatal(err)
	}
	got := c.notifies()
	cp := pick(got, c.handles[3], NotifyObjectCopied|NotifyFlagMessage)
	if len(cp) != 1 || cp[0].Data.OldMessageID != makeID(m.GlobCnt) || cp[0].Data.MessageID != makeID(nm.GlobCnt) ||
		cp[0].Data.OldFolderID != roleFID(storage.RoleInbox) || cp[0].Data.FolderID != makeID(c.archive.GlobCnt) {
		t.Fatalf("ObjectCopied on the Inbox subscription: %s", notifyList(got))
	}
	for _, n := range got {
		if n.NotificationHandle == c.handles[2] {
			t.Errorf("the Inbox table heard of a copy out of it: %s", notifyList(got))
		}
		if n.NotificationHandle == c.handles[3] && n.Data.Type() == NotifyObjectModified {
			t.Errorf("the Inbox's counts did not change: %s", notifyList(got))
		}
	}
	if cr := pick(got, c.handles[5], NotifyObjectCreated|NotifyFlagMessage); len(cr) != 1 || cr[0].Data.MessageID != makeID(nm.GlobCnt) {
		t.Errorf("Archive subscription: %s", notifyList(got))
	}
}

// ObjectModified of a flag change lists the properties the change
// altered; a keyword change (no MAPI property) is the no-list form.
func TestNotifyObjectModifiedTags(t *testing.T) {
	c := newMoveSetup(t)
	ctx := context.Background()
	c.env.Deliver(t, mimeMessage("flag me", 10, ""), c.acc.ID)
	c.notifies()
	m := messagesIn(t, c.env, c.acc.ID, storage.RoleInbox)[0]
	mid := makeID(m.GlobCnt)
	for _, tc := range []struct {
		flags storage.Flags
		kw    []string
		want  []Tag
	}{
		{storage.FlagFlagged, nil, []Tag{mp.PidTagFlagStatus}},
		{storage.FlagSeen, nil, []Tag{mp.PidTagMessageFlags}},
		{storage.FlagAnswered, nil, []Tag{mp.PidTagIconIndex, mp.PidTagLastVerbExecuted}},
		{0, []string{"$label1"}, nil},
	} {
		if _, err := c.env.Store.SetFlags(ctx, c.acc.ID, c.inbox.ID, []int64{m.ID}, storage.FlagsAdd, tc.flags, tc.kw, 0); err != nil {
			t.Fatal(err)
		}
		got := c.notifies()
		var mod *NotifyResponse
		for _, n := range pick(got, c.handles[3], NotifyObjectModified|NotifyFlagMessage) {
			if n.Data.MessageID == mid {
				mod = n
			}
		}
		if mod == nil {
			t.Fatalf("flags %v: no ObjectModified: %s", tc.flags, notifyList(got))
		}
		if tc.want == nil {
			if mod.Data.TagCount != 0xFFFF {
				t.Errorf("keywords: TagCount %d, want the no-list form 0xFFFF", mod.Data.TagCount)
			}
			continue
		}
		if int(mod.Data.TagCount) != len(tc.want) || !slices.Equal(mod.Data.Tags, tc.want) {
			t.Errorf("flags %v: tags %v (count %d), want %v", tc.flags, mod.Data.Tags, mod.Data.TagCount, tc.want)
		}
	}
}
