package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/storage"
)

func TestPOP3Maildrop(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if _, err := s.POP3Maildrop(ctx, 3); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("maildrop of an account without mailbox: %v", err)
		}
		if err := s.EnsureMailbox(ctx, 3); err != nil {
			t.Fatal(err)
		}
		a := add(t, s, 3, raw("one"))
		b := add(t, s, 3, raw("two"))
		// An associated (FAI) message in the Inbox is not part of the maildrop.
		inbox, _ := s.FolderByRole(ctx, 3, storage.RoleInbox)
		err := s.Write(ctx, func(tx *storage.Tx) error {
			h, err := tx.PutBlob([]byte("fai"))
			if err != nil {
				return err
			}
			_, err = tx.AddMessage(3, inbox.ID, &storage.NewMessage{BlobHash: h, Size: 3, Flags: storage.FlagAssociated}, false)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.POP3Maildrop(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if d.FolderID != inbox.ID || d.UIDValidity != inbox.UIDValidity || len(d.Messages) != 2 {
			t.Fatalf("maildrop %+v", d)
		}
		for i, m := range []*storage.Message{a, b} {
			got := d.Messages[i]
			if got.ID != m.ID || got.UID != m.UID || got.Size != m.Size || got.BlobHash != m.BlobHash {
				t.Errorf("message %d: %+v, want %+v", i, got, m)
			}
		}
		if _, err := s.MessageParsed(ctx, 3, 999999); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("MessageParsed of a missing message: %v", err)
		}
	})
}

func TestPOP3Lease(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if err := s.MigratePOP3(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.MigratePOP3(ctx); err != nil { // idempotent
			t.Fatal(err)
		}
		ok, err := s.AcquirePOP3Lease(ctx, 1, "a", time.Minute)
		if err != nil || !ok {
			t.Fatalf("first acquire: %v %v", ok, err)
		}
		if ok, _ := s.AcquirePOP3Lease(ctx, 1, "b", time.Minute); ok {
			t.Fatal("second holder got a held lease")
		}
		if ok, _ := s.AcquirePOP3Lease(ctx, 2, "b", time.Minute); !ok {
			t.Fatal("another account's lease is independent")
		}
		if kept, err := s.RenewPOP3Lease(ctx, 1, "a", time.Minute); err != nil || !kept {
			t.Fatalf("renew by holder: %v %v", kept, err)
		}
		if kept, _ := s.RenewPOP3Lease(ctx, 1, "b", time.Minute); kept {
			t.Fatal("a non-holder renewed")
		}
		// Release by a non-holder does nothing.
		if err := s.ReleasePOP3Lease(ctx, 1, "b"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.AcquirePOP3Lease(ctx, 1, "b", time.Minute); ok {
			t.Fatal("lease released by a non-holder")
		}
		if err := s.ReleasePOP3Lease(ctx, 1, "a"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.AcquirePOP3Lease(ctx, 1, "b", time.Minute); !ok {
			t.Fatal("lease not free after release")
		}
		// An expired lease is taken over, and its old holder learns it lost it.
		if ok, _ := s.AcquirePOP3Lease(ctx, 5, "old", time.Millisecond); !ok {
			t.Fatal("acquire")
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			ok, err := s.AcquirePOP3Lease(ctx, 5, "new", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("expired lease never taken over")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if kept, _ := s.RenewPOP3Lease(ctx, 5, "old", time.Minute); kept {
			t.Fatal("old holder still renews a lease taken over")
		}
	})
}

// Many sessions racing for one maildrop: exactly one wins.
func TestPOP3LeaseRace(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if err := s.MigratePOP3(ctx); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.AcquirePOP3Lease(ctx, 9, string(rune('a'+i)), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d sessions hold the maildrop", won)
		}
	})
}

func TestApplyPOP3Update(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if err := s.MigratePOP3(ctx); err != nil {
			t.Fatal(err)
		}
		s.EnsureMailbox(ctx, 4)
		inbox, _ := s.FolderByRole(ctx, 4, storage.RoleInbox)
		trash, _ := s.FolderByRole(ctx, 4, storage.RoleDeleted)
		m1 := add(t, s, 4, raw("one"))
		m2 := add(t, s, 4, raw("two"))
		m3 := add(t, s, 4, raw("three"))
		m4 := add(t, s, 4, raw("four"))
		if ok, _ := s.AcquirePOP3Lease(ctx, 4, "h", time.Minute); !ok {
			t.Fatal("acquire")
		}
		sub := s.Subscribe(4)
		defer sub.Close()
		removed, err := s.ApplyPOP3Update(ctx, storage.POP3Update{
			AccountID: 4, FolderID: inbox.ID,
			Seen:          []int64{m1.ID, m2.ID},
			Delete:        []int64{m2.ID, m3.ID, 424242}, // a missing id is skipped
			ReleaseHolder: "h",
		})
		if err != nil || removed != 2 {
			t.Fatalf("update: removed %d, %v", removed, err)
		}
		meta, _ := s.FolderMeta(ctx, 4, inbox.ID)
		if len(meta) != 2 || meta[0].ID != m1.ID || meta[1].ID != m4.ID {
			t.Fatalf("left %+v", meta)
		}
		if meta[0].Flags&storage.FlagSeen == 0 || meta[1].Flags&storage.FlagSeen != 0 {
			t.Fatalf("seen flags %+v", meta)
		}
		if meta[0].ChangeNum <= m4.ChangeNum {
			t.Fatal("\\Seen took no change number")
		}
		changes, _ := sub.Take()
		kinds := map[storage.ChangeKind]int{}
		for _, c := range changes {
			kinds[c.Kind]++
		}
		// m2 was seen then expunged; m1 and m2 changed flags.
		if kinds[storage.MessageFlagsChanged] != 2 || kinds[storage.MessageExpunged] != 2 {
			t.Fatalf("feed %+v", changes)
		}
		if ok, _ := s.AcquirePOP3Lease(ctx, 4, "other", time.Minute); !ok {
			t.Fatal("the update did not release the lease")
		}
		s.ReleasePOP3Lease(ctx, 4, "other")

		// move-to-trash: the message leaves the Inbox and lands in Deleted Items.
		removed, err = s.ApplyPOP3Update(ctx, storage.POP3Update{
			AccountID: 4, FolderID: inbox.ID, Delete: []int64{m4.ID}, MoveToRole: storage.RoleDeleted,
		})
		if err != nil || removed != 1 {
			t.Fatalf("move: %d %v", removed, err)
		}
		tm, _ := s.FolderMeta(ctx, 4, trash.ID)
		if len(tm) != 1 || tm[0].Size != m4.Size {
			t.Fatalf("trash %+v", tm)
		}
		im, _ := s.FolderMeta(ctx, 4, inbox.ID)
		if len(im) != 1 {
			t.Fatalf("inbox after move %+v", im)
		}
	})
}

func TestReadSmallBlobs(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		s.EnsureMailbox(ctx, 6)
		small1 := add(t, s, 6, raw("small one"))
		small2 := add(t, s, 6, raw("small two"))
		big := make([]byte, 600<<10)
		for i := range big {
			big[i] = byte('a' + i%26)
		}
		large := add(t, s, 6, big)
		got, err := s.ReadSmallBlobs(ctx, []string{small1.BlobHash, small2.BlobHash, large.BlobHash, "0123"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || string(got[small1.BlobHash]) != string(raw("small one")) || string(got[small2.BlobHash]) != string(raw("small two")) {
			t.Fatalf("got %d blobs", len(got))
		}
		if _, ok := got[large.BlobHash]; ok {
			t.Fatal("a multi-chunk blob came back as its first chunk")
		}
		empty, err := s.ReadSmallBlobs(ctx, nil)
		if err != nil || len(empty) != 0 {
			t.Fatalf("no hashes: %v %v", empty, err)
		}
	})
}

// BenchmarkReadSmallBlobs compares one query for 64 small blobs with 64
// ReadBlob queries (the POP3 read-ahead's reason to exist).
func BenchmarkReadSmallBlobs(b *testing.B) {
	s := OpenSQLite(b, b.TempDir())
	ctx := context.Background()
	s.EnsureMailbox(ctx, 1)
	var hashes []string
	for i := range 64 {
		body := make([]byte, 4096)
		for j := range body {
			body[j] = byte('a' + (i+j)%26)
		}
		copy(body, fmt.Sprintf("blob %d\r\n", i))
		hashes = append(hashes, add(b, s, 1, body).BlobHash)
	}
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			got, err := s.ReadSmallBlobs(ctx, hashes)
			if err != nil || len(got) != 64 {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("one-by-one", func(b *testing.B) {
		for b.Loop() {
			for _, h := range hashes {
				if _, err := s.ReadBlob(ctx, h); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
