package rop

import (
	"context"
	"testing"

	"github.com/pochta/pochta/storage"
)

// MS-OXCNOTIF 2.2.1.4.1.2: a folder moved to another parent is one
// ObjectMoved (FolderId, new ParentFolderId, OldFolderId, OldParentFolderId)
// to a subscription that asked for moves on either parent; a rename in place
// stays ObjectModified.
func TestNotifyFolderMoved(t *testing.T) {
	c := newMoveSetup(t)
	ctx := context.Background()
	ipm := folderByRole(t, c.env, c.acc.ID, storage.RoleIPMSubtree)
	archiveFID, inboxFID, ipmFID := makeID(c.archive.GlobCnt), roleFID(storage.RoleInbox), roleFID(storage.RoleIPMSubtree)
	inboxSub, archiveSub := c.handles[3], c.handles[5]

	if err := c.env.Store.RenameFolder(ctx, c.acc.ID, c.archive.ID, c.inbox.ID, "Archive 2026"); err != nil {
		t.Fatal(err)
	}
	got := c.notifies()
	if n := pick(got, inboxSub, NotifyObjectMoved); len(n) != 0 {
		t.Errorf("a rename in place was told as a move: %s", notifyList(got))
	}
	if n := pick(got, inboxSub, NotifyObjectModified); len(n) == 0 {
		t.Errorf("a rename in place told nothing to its parent's subscription: %s", notifyList(got))
	}

	if err := c.env.Store.RenameFolder(ctx, c.acc.ID, c.archive.ID, ipm.ID, "Archive 2026"); err != nil {
		t.Fatal(err)
	}
	got = c.notifies()
	mv := pick(got, inboxSub, NotifyObjectMoved)
	if len(mv) != 1 {
		t.Fatalf("ObjectMoved on the old parent's subscription: %s", notifyList(got))
	}
	d := mv[0].Data
	if d.FolderID != archiveFID || d.OldFolderID != archiveFID || d.ParentFolderID != ipmFID || d.OldParentFolderID != inboxFID {
		t.Errorf("ObjectMoved: folder %v parent %v old folder %v old parent %v; want %v %v %v %v",
			d.FolderID, d.ParentFolderID, d.OldFolderID, d.OldParentFolderID, archiveFID, ipmFID, archiveFID, inboxFID)
	}
	for _, n := range got {
		if n.NotificationHandle == archiveSub {
			t.Errorf("a subscription for created and deleted only heard type 0x%X", n.Data.Type())
		}
	}
	// On the wire: the old parent is there.
	enc, err := c.sess.encode(mv[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeResponses(enc, nil, ResponseOptions{})
	if err != nil || len(again) != 1 {
		t.Fatalf("round trip: %v %v", again, err)
	}
	if back := again[0].(*NotifyResponse).Data; back.OldParentFolderID != inboxFID || back.ParentFolderID != ipmFID {
		t.Errorf("round trip: %+v", back)
	}
}
