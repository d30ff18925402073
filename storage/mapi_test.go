package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pochta/pochta/storage"
)

func mailbox(t *testing.T, s *storage.Store, id int64) {
	t.Helper()
	if err := s.EnsureMailbox(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

func TestMAPIProps(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		mailbox(t, s, 1)
		err := s.Write(ctx, func(tx *storage.Tx) error {
			if err := tx.SetProps(1, storage.ObjectMessage, 10, []storage.PropValue{{Tag: 0x0037001F, Value: []byte("a")}, {Tag: 0x00000001, Value: []byte("internal")}, {Tag: 0x00370102, Value: []byte("b")}}); err != nil {
				return err
			}
			return tx.SetProps(1, storage.ObjectMessage, 11, []storage.PropValue{{Tag: 0x1000001F, Value: []byte("c")}})
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.PropsOf(ctx, 1, storage.ObjectMessage, []int64{10, 11, 12}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got[10]) != 2 || len(got[11]) != 1 || len(got[12]) != 0 {
			t.Fatalf("public props %v", got)
		}
		all, _ := s.PropsOf(ctx, 1, storage.ObjectMessage, []int64{10}, true)
		if len(all[10]) != 3 || all[10][0].Tag != 1 {
			t.Fatalf("with internal rows %v", all)
		}
		// DeletePropIDs takes every type of an id; ReplaceProps the whole set.
		err = s.Write(ctx, func(tx *storage.Tx) error { return tx.DeletePropIDs(1, storage.ObjectMessage, 10, []uint16{0x0037}) })
		if err != nil {
			t.Fatal(err)
		}
		if all, _ = s.PropsOf(ctx, 1, storage.ObjectMessage, []int64{10}, true); len(all[10]) != 1 {
			t.Fatalf("after DeletePropIDs %v", all[10])
		}
		err = s.Write(ctx, func(tx *storage.Tx) error {
			return tx.ReplaceProps(1, storage.ObjectMessage, 11, []storage.PropValue{{Tag: 0x3001001F, Value: []byte("x")}, {Tag: 0x3001001F, Value: []byte("y")}})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ = s.PropsOf(ctx, 1, storage.ObjectMessage, []int64{11}, true); len(got[11]) != 1 || string(got[11][0].Value) != "y" {
			t.Fatalf("after ReplaceProps %v", got[11])
		}
	})
}

func TestSaveMAPIMessage(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		mailbox(t, s, 1)
		drafts, _ := s.FolderByRole(ctx, 1, storage.RoleDrafts)
		sub := s.Subscribe(1)
		defer sub.Close()
		save := func(replace int64, subject string, props []storage.PropValue) *storage.Message {
			t.Helper()
			data := raw(subject)
			var m *storage.Message
			err := s.Write(ctx, func(tx *storage.Tx) error {
				h, err := tx.PutBlob(data)
				if err != nil {
					return err
				}
				m, err = tx.SaveMAPIMessage(1, drafts.ID, replace, &storage.NewMessage{BlobHash: h, Size: int64(len(data)), Subject: subject, Flags: storage.FlagDraft}, props, false)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		first := save(0, "v1", []storage.PropValue{{Tag: 0x0037001F, Value: []byte("v1")}, {Tag: 1, Value: []byte("recips")}})
		if first.MIMEFromChange != first.ChangeNum || first.MIMEFromChange == 0 {
			t.Fatalf("MIMEFromChange %d, change %d", first.MIMEFromChange, first.ChangeNum)
		}
		second := save(first.ID, "v2", []storage.PropValue{{Tag: 0x0037001F, Value: []byte("v2")}})
		if second.ID == first.ID || second.UID <= first.UID || second.GlobCnt != first.GlobCnt {
			t.Fatalf("replacement: %+v after %+v", second, first)
		}
		stored, _ := s.MessageByID(ctx, 1, second.ID)
		if stored.GlobCnt != first.GlobCnt || stored.MIMEFromChange != second.ChangeNum || stored.ReceivedAt.Sub(first.ReceivedAt).Abs() > time.Millisecond {
			t.Errorf("stored replacement %+v", stored)
		}
		if _, err := s.MessageByID(ctx, 1, first.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("old row: %v", err)
		}
		props, _ := s.PropsOf(ctx, 1, storage.ObjectMessage, []int64{first.ID, second.ID}, true)
		if len(props[first.ID]) != 0 || len(props[second.ID]) != 1 || string(props[second.ID][0].Value) != "v2" {
			t.Errorf("properties %v", props)
		}
		gone, _ := s.ExpungedSince(ctx, 1, drafts.ID, 0)
		if len(gone) != 1 || gone[0].UID != first.UID {
			t.Errorf("tombstones %+v", gone)
		}
		ms, _ := s.MessagesByGlobCnt(ctx, 1, drafts.ID, []int64{first.GlobCnt})
		if len(ms) != 1 || ms[0].ID != second.ID {
			t.Errorf("by GLOBCNT: %+v", ms)
		}
		<-sub.Notify()
		changes, _ := sub.Take()
		var added, expunged int
		for _, c := range changes {
			switch c.Kind {
			case storage.MessageAdded:
				added++
				if c.GlobCnt != first.GlobCnt {
					t.Errorf("MessageAdded with GLOBCNT %d, want %d", c.GlobCnt, first.GlobCnt)
				}
			case storage.MessageExpunged:
				expunged++
			}
		}
		if added != 2 || expunged != 1 {
			t.Errorf("changes: %d added, %d expunged", added, expunged)
		}
	})
}

func TestTouchAndCounts(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		mailbox(t, s, 1)
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		m1 := add(t, s, 1, raw("one"))
		add(t, s, 1, raw("two"))
		if _, err := s.SetFlags(ctx, 1, inbox.ID, []int64{m1.ID}, storage.FlagsAdd, storage.FlagSeen, nil, 0); err != nil {
			t.Fatal(err)
		}
		err := s.Write(ctx, func(tx *storage.Tx) error {
			h, err := tx.PutBlob(raw("fai"))
			if err != nil {
				return err
			}
			_, err = tx.AddMessage(1, inbox.ID, &storage.NewMessage{BlobHash: h, Size: 10, Flags: storage.FlagAssociated}, false)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := s.MigrateMAPI(ctx); err != nil {
				t.Fatalf("MigrateMAPI (run %d): %v", i+1, err)
			}
		}
		if n, err := s.CountMessages(ctx, 1, inbox.ID, false); err != nil || n != 2 {
			t.Errorf("normal count %d, %v", n, err)
		}
		if n, _ := s.CountMessages(ctx, 2, inbox.ID, false); n != 0 {
			t.Errorf("another account counts %d in this folder", n)
		}
		counts, err := s.FolderCounts(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if c := counts[inbox.ID]; c.Messages != 2 || c.Unread != 1 || c.Associated != 1 || c.Size == 0 {
			t.Errorf("counts %+v", c)
		}
		if n, _ := s.CountMessages(ctx, 1, inbox.ID, true); n != 1 {
			t.Errorf("associated count %d", n)
		}
		before, _ := s.MessageByID(ctx, 1, m1.ID)
		subject := "renamed"
		var cn int64
		err = s.Write(ctx, func(tx *storage.Tx) error {
			var err error
			cn, err = tx.TouchMessage(1, m1.ID, storage.MessageColumns{Subject: &subject})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		after, _ := s.MessageByID(ctx, 1, m1.ID)
		if after.ChangeNum != cn || cn <= before.ChangeNum || after.Subject != "renamed" {
			t.Errorf("touched message %+v", after)
		}
		err = s.Write(ctx, func(tx *storage.Tx) error {
			_, err := tx.TouchFolder(1, inbox.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := s.Folder(ctx, 1, inbox.ID); f.ChangeNum <= inbox.ChangeNum {
			t.Errorf("folder change number %d", f.ChangeNum)
		}
		if err := s.Write(ctx, func(tx *storage.Tx) error { _, err := tx.TouchFolder(1, 99999); return err }); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("touching a missing folder: %v", err)
		}
	})
}

func TestEmptyAndCopyFolder(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		mailbox(t, s, 1)
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		ipm, _ := s.FolderByRole(ctx, 1, storage.RoleIPMSubtree)
		add(t, s, 1, raw("one"))
		err := s.Write(ctx, func(tx *storage.Tx) error {
			h, err := tx.PutBlob(raw("fai"))
			if err != nil {
				return err
			}
			if _, err = tx.AddMessage(1, inbox.ID, &storage.NewMessage{BlobHash: h, Size: 10, Flags: storage.FlagAssociated}, false); err != nil {
				return err
			}
			return tx.SetProps(1, storage.ObjectFolder, inbox.ID, []storage.PropValue{{Tag: 0x3004001F, Value: []byte("c")}})
		})
		if err != nil {
			t.Fatal(err)
		}
		child, err := s.CreateFolder(ctx, 1, inbox.ID, "Child", "IPF.Note")
		if err != nil {
			t.Fatal(err)
		}
		var cp *storage.Folder
		err = s.Write(ctx, func(tx *storage.Tx) error {
			var err error
			cp, err = tx.CopyFolder(1, inbox.ID, ipm.ID, "Inbox copy", true)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if cp.Role != "" {
			t.Errorf("copy took the role %q", cp.Role)
		}
		if n, _ := s.CountMessages(ctx, 1, cp.ID, false); n != 1 {
			t.Errorf("copy has %d messages", n)
		}
		if n, _ := s.CountMessages(ctx, 1, cp.ID, true); n != 1 {
			t.Errorf("copy has %d FAI messages", n)
		}
		if props, _ := s.Props(ctx, 1, storage.ObjectFolder, cp.ID); len(props) != 1 {
			t.Errorf("copy properties %v", props)
		}
		paths := storage.FolderPaths(mustFolders(t, s))
		found := false
		for _, p := range paths {
			found = found || p == "Inbox copy/Child"
		}
		if !found {
			t.Errorf("recursive copy lacks the child: %v", paths)
		}
		if err := s.Write(ctx, func(tx *storage.Tx) error { _, err := tx.CopyFolder(1, inbox.ID, child.ID, "Loop", true); return err }); err == nil {
			t.Error("copying a folder into its own child succeeded")
		}
		// Empty without FAI keeps FAI; with keeps nothing.
		var kept bool
		err = s.Write(ctx, func(tx *storage.Tx) error { var err error; kept, err = tx.EmptyFolder(1, inbox.ID, false); return err })
		if err != nil || kept {
			t.Fatalf("empty: kept %v, %v", kept, err)
		}
		if n, _ := s.CountMessages(ctx, 1, inbox.ID, false); n != 0 {
			t.Errorf("%d normal messages left", n)
		}
		if n, _ := s.CountMessages(ctx, 1, inbox.ID, true); n != 1 {
			t.Errorf("%d FAI messages left, want 1", n)
		}
		if _, err := s.Folder(ctx, 1, child.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("subfolder survived: %v", err)
		}
		err = s.Write(ctx, func(tx *storage.Tx) error { var err error; kept, err = tx.EmptyFolder(1, inbox.ID, true); return err })
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountMessages(ctx, 1, inbox.ID, true); n != 0 {
			t.Errorf("%d FAI messages left", n)
		}
		// Special subfolders are kept.
		sync, _ := s.FolderByRole(ctx, 1, storage.RoleSyncIssues)
		err = s.Write(ctx, func(tx *storage.Tx) error { var err error; kept, err = tx.EmptyFolder(1, sync.ID, true); return err })
		if err != nil || !kept {
			t.Errorf("emptying Sync Issues: kept %v, %v", kept, err)
		}
	})
}

func mustFolders(t *testing.T, s *storage.Store) []storage.Folder {
	t.Helper()
	fs, err := s.Folders(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestNamedPropsList(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		mailbox(t, s, 1)
		names := []storage.PropertyName{
			{GUID: "00020329-0000-0000-C000-000000000046", Name: "Keywords"},
			{GUID: "00062008-0000-0000-c000-000000000046", IsLID: true, LID: 0x8580},
		}
		ids, err := s.NamedPropIDs(ctx, 1, names, true)
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.NamedProps(ctx, 1, "")
		if err != nil || len(all) != 2 || all[0].ID != ids[0] || all[1].Name.LID != 0x8580 {
			t.Fatalf("all named props %+v %v", all, err)
		}
		one, _ := s.NamedProps(ctx, 1, "00062008-0000-0000-C000-000000000046")
		if len(one) != 1 || one[0].ID != ids[1] {
			t.Errorf("one set: %+v", one)
		}
	})
}
