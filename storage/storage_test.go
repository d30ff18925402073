package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/storage"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// backends runs f against a fresh sqlite store and a fresh PostgreSQL store:
// the same tests, the same expectations.
func backends(t *testing.T, f func(t *testing.T, s *storage.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, OpenSQLite(t, t.TempDir()))
	})
	t.Run("postgres", func(t *testing.T) {
		f(t, OpenPostgres(t))
	})
}

func OpenSQLite(t testing.TB, dir string) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), storage.Options{Driver: "sqlite", DSN: filepath.Join(dir, "pochta.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func OpenPostgres(t testing.TB) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), storage.Options{Driver: "postgres", DSN: pgtest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func raw(subject string) []byte {
	return []byte("From: a@example.org\r\nTo: b@example.com\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n")
}

// add stores raw in the account's Inbox.
func add(t testing.TB, s *storage.Store, account int64, data []byte) *storage.Message {
	t.Helper()
	ctx := context.Background()
	inbox, err := s.FolderByRole(ctx, account, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	var m *storage.Message
	err = s.Write(ctx, func(tx *storage.Tx) error {
		h, err := tx.PutBlob(data)
		if err != nil {
			return err
		}
		m, err = tx.AddMessage(account, inbox.ID, &storage.NewMessage{BlobHash: h, Size: int64(len(data)), Subject: "s"}, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDefaultFolderTree(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if err := s.EnsureMailbox(ctx, 7); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureMailbox(ctx, 7); err != nil { // idempotent
			t.Fatal(err)
		}
		fs, err := s.Folders(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		paths := storage.FolderPaths(fs)
		byRole := map[string]storage.Folder{}
		for _, f := range fs {
			byRole[f.Role] = f
		}
		ipm := byRole[storage.RoleIPMSubtree]
		if byRole[storage.RoleRoot].ParentID != 0 || ipm.ParentID != byRole[storage.RoleRoot].ID {
			t.Fatalf("IPM subtree must sit under the root: %+v", ipm)
		}
		want := map[string]struct{ name, class string }{
			storage.RoleInbox: {"Inbox", "IPF.Note"}, storage.RoleOutbox: {"Outbox", "IPF.Note"},
			storage.RoleSent: {"Sent Items", "IPF.Note"}, storage.RoleDeleted: {"Deleted Items", "IPF.Note"},
			storage.RoleDrafts: {"Drafts", "IPF.Note"}, storage.RoleJunk: {"Junk Email", "IPF.Note"},
			storage.RoleCalendar: {"Calendar", "IPF.Appointment"}, storage.RoleContacts: {"Contacts", "IPF.Contact"},
			storage.RoleTasks: {"Tasks", "IPF.Task"}, storage.RoleNotes: {"Notes", "IPF.StickyNote"},
			storage.RoleJournal: {"Journal", "IPF.Journal"},
		}
		for role, w := range want {
			f, ok := byRole[role]
			if !ok {
				t.Fatalf("no %s folder", role)
			}
			if f.Name != w.name || f.ContainerClass != w.class || f.ParentID != ipm.ID || paths[f.ID] != w.name {
				t.Errorf("%s: got %q %q parent %d path %q", role, f.Name, f.ContainerClass, f.ParentID, paths[f.ID])
			}
		}
		if len(fs) != 24 {
			t.Errorf("want 24 folders, got %d", len(fs))
		}
		// Another account has its own tree; ids never collide.
		if err := s.EnsureMailbox(ctx, 8); err != nil {
			t.Fatal(err)
		}
		inbox8, _ := s.FolderByRole(ctx, 8, storage.RoleInbox)
		if inbox8.ID == byRole[storage.RoleInbox].ID {
			t.Fatal("accounts share an inbox")
		}
		if _, err := s.Folder(ctx, 7, inbox8.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("account 7 reads account 8's folder: %v", err)
		}
	})
}

func TestMessagesUIDsAndChangeNumbers(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		s.EnsureMailbox(ctx, 1)
		var last *storage.Message
		for i := range 5 {
			m := add(t, s, 1, raw(fmt.Sprint("m", i)))
			if last != nil && (m.UID <= last.UID || m.ChangeNum <= last.ChangeNum || m.GlobCnt <= last.GlobCnt) {
				t.Fatalf("ids must ascend: %+v after %+v", m, last)
			}
			last = m
		}
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		st, err := s.FolderStatus(ctx, 1, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages != 5 || st.Unseen != 5 || st.UIDNext != last.UID+1 || st.HighestModSeq != last.ChangeNum {
			t.Fatalf("status %+v", st)
		}
		meta, _ := s.FolderMeta(ctx, 1, inbox.ID)
		ids := []int64{meta[0].ID, meta[1].ID}
		sub := s.Subscribe(1)
		defer sub.Close()
		ups, err := s.SetFlags(ctx, 1, inbox.ID, ids, storage.FlagsAdd, storage.FlagSeen|storage.FlagDeleted, []string{"$Label1"}, 0)
		if ch, _ := sub.Take(); len(ch) != 2 || ch[0].GlobCnt != meta[0].GlobCnt || ch[0].Kind != storage.MessageFlagsChanged {
			t.Fatalf("flag changes published %+v", ch)
		}
		if err != nil || len(ups) != 2 || ups[0].ChangeNum <= last.ChangeNum || ups[0].Keywords[0] != "$Label1" {
			t.Fatalf("setflags %v %+v", err, ups)
		}
		// A no-op change keeps the change number.
		again, _ := s.SetFlags(ctx, 1, inbox.ID, ids[:1], storage.FlagsAdd, storage.FlagSeen, nil, 0)
		if again[0].ChangeNum != ups[0].ChangeNum {
			t.Fatal("no-op flag change took a change number")
		}
		// UNCHANGEDSINCE refuses a change to a message modified later.
		cond, _ := s.SetFlags(ctx, 1, inbox.ID, ids[:1], storage.FlagsAdd, storage.FlagFlagged, nil, last.ChangeNum)
		if !cond[0].Skipped {
			t.Fatal("UNCHANGEDSINCE not honoured")
		}
		gone, err := s.Expunge(ctx, 1, inbox.ID, nil)
		if err != nil || len(gone) != 2 || gone[0].UID != meta[0].UID {
			t.Fatalf("expunge %v %+v", err, gone)
		}
		st2, _ := s.FolderStatus(ctx, 1, inbox.ID)
		if st2.Messages != 3 || st2.HighestModSeq <= ups[0].ChangeNum {
			t.Fatalf("after expunge %+v", st2)
		}
		ts, _ := s.ExpungedSince(ctx, 1, inbox.ID, last.ChangeNum)
		if len(ts) != 2 {
			t.Fatalf("tombstones %+v", ts)
		}
		// A new message after expunge never reuses a UID.
		m := add(t, s, 1, raw("after"))
		if m.UID != last.UID+1 {
			t.Fatalf("uid %d after %d", m.UID, last.UID)
		}
	})
}

func TestCopyMoveShareBlobAndFreeIt(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		s.EnsureMailbox(ctx, 1)
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		trash, _ := s.FolderByRole(ctx, 1, storage.RoleDeleted)
		m := add(t, s, 1, raw("shared"))
		cp, err := s.CopyMessages(ctx, 1, inbox.ID, []int64{m.ID}, trash.ID)
		if err != nil || len(cp) != 1 {
			t.Fatal(err)
		}
		if n, _ := s.BlobCount(ctx); n != 1 {
			t.Fatalf("copy duplicated the blob: %d blobs", n)
		}
		mv, err := s.MoveMessages(ctx, 1, inbox.ID, []int64{m.ID}, trash.ID)
		if err != nil || len(mv) != 1 || mv[0].DstUID != cp[0].DstUID+1 {
			t.Fatalf("move %v %+v", err, mv)
		}
		if st, _ := s.FolderStatus(ctx, 1, inbox.ID); st.Messages != 0 {
			t.Fatal("move left the source")
		}
		if _, err := s.Expunge(ctx, 1, trash.ID, []int64{cp[0].DstID, mv[0].DstID}); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.BlobCount(ctx); n != 0 {
			t.Fatalf("blob not freed after the last reference: %d", n)
		}
		mb, _ := s.Mailbox(ctx, 1)
		if mb.UsedBytes != 0 {
			t.Fatalf("usage %d after deleting everything", mb.UsedBytes)
		}
	})
}

func TestQuota(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		s.EnsureMailbox(ctx, 1)
		data := raw("q")
		if err := s.SetQuota(ctx, 1, int64(len(data))+1); err != nil {
			t.Fatal(err)
		}
		add(t, s, 1, data)
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		err := s.Write(ctx, func(tx *storage.Tx) error {
			h, _ := tx.PutBlob(data)
			_, err := tx.AddMessage(1, inbox.ID, &storage.NewMessage{BlobHash: h, Size: int64(len(data))}, false)
			return err
		})
		if !errors.Is(err, storage.ErrQuotaExceeded) {
			t.Fatalf("want quota error, got %v", err)
		}
	})
}

func TestFeedPublishesOnlyCommitted(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		s.EnsureMailbox(ctx, 1)
		sub := s.Subscribe(1)
		defer sub.Close()
		other := s.Subscribe(2)
		defer other.Close()
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		boom := errors.New("boom")
		err := s.Write(ctx, func(tx *storage.Tx) error {
			h, _ := tx.PutBlob(raw("x"))
			if _, err := tx.AddMessage(1, inbox.ID, &storage.NewMessage{BlobHash: h, Size: 3}, false); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if ch, _ := sub.Take(); len(ch) != 0 {
			t.Fatalf("rolled-back write published %+v", ch)
		}
		if st, _ := s.FolderStatus(ctx, 1, inbox.ID); st.Messages != 0 {
			t.Fatal("rolled-back message is visible")
		}
		m := add(t, s, 1, raw("y"))
		select {
		case <-sub.Notify():
		case <-time.After(5 * time.Second):
			t.Fatal("no notification")
		}
		ch, overflow := sub.Take()
		if overflow || len(ch) != 1 || ch[0].Kind != storage.MessageAdded || ch[0].UID != m.UID || ch[0].FolderID != inbox.ID {
			t.Fatalf("changes %+v", ch)
		}
		if ch, _ := other.Take(); len(ch) != 0 {
			t.Fatal("another account saw the change")
		}
	})
}

// Concurrent writes are grouped, yet one failing write does not undo the
// others that share its transaction.
func TestConcurrentWritesIsolated(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		s.EnsureMailbox(ctx, 1)
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Write(ctx, func(tx *storage.Tx) error {
					data := raw(fmt.Sprint("c", i))
					h, err := tx.PutBlob(data)
					if err != nil {
						return err
					}
					if _, err := tx.AddMessage(1, inbox.ID, &storage.NewMessage{BlobHash: h, Size: int64(len(data))}, false); err != nil {
						return err
					}
					if i%4 == 0 {
						return fmt.Errorf("fail %d", i)
					}
					return nil
				})
			}()
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			if (i%4 == 0) != (err != nil) {
				t.Fatalf("write %d: %v", i, err)
			}
			if err == nil {
				ok++
			}
		}
		meta, _ := s.FolderMeta(ctx, 1, inbox.ID)
		if len(meta) != ok {
			t.Fatalf("%d messages stored, %d writes succeeded", len(meta), ok)
		}
		seen := map[uint32]bool{}
		for _, m := range meta {
			if seen[m.UID] {
				t.Fatal("duplicate UID")
			}
			seen[m.UID] = true
		}
	})
}

func TestBlobStreaming(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		data := bytes.Repeat([]byte("0123456789abcdef"), 70000) // > 4 chunks
		var hash string
		if err := s.Write(ctx, func(tx *storage.Tx) error {
			var err error
			hash, err = tx.PutBlob(data)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		r, err := s.OpenBlob(ctx, hash)
		if err != nil || r.Size() != int64(len(data)) {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("streamed bytes differ: %v", err)
		}
		buf := make([]byte, 1000)
		off := int64(256<<10 - 500) // across a chunk boundary
		if n, err := r.ReadAt(buf, off); n != 1000 || err != nil || !bytes.Equal(buf, data[off:off+1000]) {
			t.Fatalf("ReadAt: %d %v", n, err)
		}
		whole, _ := s.ReadBlob(ctx, hash)
		if !bytes.Equal(whole, data) {
			t.Fatal("ReadBlob differs")
		}
	})
}

func TestFolders(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		s.EnsureMailbox(ctx, 1)
		ipm, _ := s.FolderByRole(ctx, 1, storage.RoleIPMSubtree)
		work, err := s.CreateFolder(ctx, 1, ipm.ID, "Work", "IPF.Note")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateFolder(ctx, 1, ipm.ID, "work", "IPF.Note"); !errors.Is(err, storage.ErrExists) {
			t.Fatalf("duplicate name: %v", err)
		}
		sub, _ := s.CreateFolder(ctx, 1, work.ID, "Projects", "IPF.Note")
		add(t, s, 1, raw("keep"))
		if err := s.RenameFolder(ctx, 1, work.ID, ipm.ID, "Job"); err != nil {
			t.Fatal(err)
		}
		fs, _ := s.Folders(ctx, 1)
		if p := storage.FolderPaths(fs)[sub.ID]; p != "Job/Projects" {
			t.Fatalf("child path after rename: %q", p)
		}
		if err := s.RenameFolder(ctx, 1, work.ID, sub.ID, "Loop"); err == nil {
			t.Fatal("moved a folder into its own child")
		}
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		if err := s.DeleteFolder(ctx, 1, inbox.ID); err == nil {
			t.Fatal("deleted the Inbox")
		}
		if err := s.DeleteFolder(ctx, 1, work.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Folder(ctx, 1, sub.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal("child folder survived its parent")
		}
	})
}

func TestQueueClaimAndFinish(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		data := raw("out")
		err := s.Write(ctx, func(tx *storage.Tx) error {
			h, _ := tx.PutBlob(data)
			_, err := tx.Enqueue(&storage.NewQueueMessage{Sender: "a@example.com", BlobHash: h, Size: int64(len(data)),
				Recipients: []storage.NewQueueRecipient{{Address: "x@remote.test"}, {Address: "y@remote.test"}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimQueue(ctx, 10, time.Minute)
		if err != nil || len(got) != 1 || len(got[0].Recipients) != 2 {
			t.Fatalf("claim %v %+v", err, got)
		}
		if again, _ := s.ClaimQueue(ctx, 10, time.Minute); len(again) != 0 {
			t.Fatal("a leased message was claimed twice")
		}
		var done bool
		s.Write(ctx, func(tx *storage.Tx) error {
			done, err = tx.FinishAttempt(got[0].ID, []storage.RecipientResult{
				{RecipientID: got[0].Recipients[0].ID, State: storage.RcptDelivered, Code: 250},
				{RecipientID: got[0].Recipients[1].ID, State: storage.RcptPending, Code: 451, Error: "try later"},
			}, time.Now().Add(-time.Second), "451 try later")
			return err
		})
		if done {
			t.Fatal("message left the queue with a pending recipient")
		}
		retry, _ := s.ClaimQueue(ctx, 10, time.Minute)
		if len(retry) != 1 || len(retry[0].Recipients) != 1 || retry[0].Recipients[0].Address != "y@remote.test" || retry[0].Attempts != 1 {
			t.Fatalf("retry %+v", retry)
		}
		s.Write(ctx, func(tx *storage.Tx) error {
			done, err = tx.FinishAttempt(retry[0].ID, []storage.RecipientResult{{RecipientID: retry[0].Recipients[0].ID, State: storage.RcptDelivered}}, time.Time{}, "")
			return err
		})
		if !done {
			t.Fatal("finished message still queued")
		}
		if n, _ := s.BlobCount(ctx); n != 0 {
			t.Fatal("queue blob not freed")
		}
	})
}

func TestNamedPropsStable(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		names := []storage.PropertyName{
			{GUID: "00062008-0000-0000-C000-000000000046", IsLID: true, LID: 0x8503},
			{GUID: "00020329-0000-0000-c000-000000000046", Name: "Keywords"},
		}
		ids, err := s.NamedPropIDs(ctx, 1, names, false)
		if err != nil || ids[0] != 0 || ids[1] != 0 {
			t.Fatalf("lookup without create gave %v %v", ids, err)
		}
		ids, err = s.NamedPropIDs(ctx, 1, names, true)
		if err != nil || ids[0] < 0x8000 || ids[1] < 0x8000 || ids[0] == ids[1] {
			t.Fatalf("create gave %v %v", ids, err)
		}
		again, _ := s.NamedPropIDs(ctx, 1, names[1:], true)
		if again[0] != ids[1] {
			t.Fatal("named property id changed")
		}
		back, ok, _ := s.NamesFromIDs(ctx, 1, []uint16{ids[0], 0x9999})
		if !ok[0] || ok[1] || back[0].LID != 0x8503 {
			t.Fatalf("names %+v %v", back, ok)
		}
	})
}

// First deliveries to a new account may race; every one of them must find
// the mailbox made exactly once.
func TestEnsureMailboxConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.EnsureMailbox(ctx, 42)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		fs, err := s.Folders(ctx, 42)
		if err != nil || len(fs) != 24 {
			t.Fatalf("%d folders after concurrent creation: %v", len(fs), err)
		}
	})
}
