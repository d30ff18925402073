package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pochta/pochta/storage"
)

// BenchmarkIMAPCycleWrites runs the writes of one cycle of `pochta bench
// imap` (APPEND, STORE +FLAGS, STORE +FLAGS \Deleted, EXPUNGE) on a folder
// kept at 20 messages: the store's share of the IMAP comparison, without
// the network and the protocol.
func BenchmarkIMAPCycleWrites(b *testing.B) {
	s, err := storage.Open(context.Background(), storage.Options{Driver: "sqlite", DSN: b.TempDir() + "/pochta.db", Synchronous: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.EnsureMailbox(ctx, 1); err != nil {
		b.Fatal(err)
	}
	inbox, err := s.FolderByRole(ctx, 1, storage.RoleInbox)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for i := range 20 {
		ids = append(ids, add(b, s, 1, raw(fmt.Sprintf("prefill %d", i))).ID)
	}
	b.ResetTimer()
	for i := range b.N {
		m := add(b, s, 1, raw(fmt.Sprintf("cycle %d", i)))
		ids = append(ids, m.ID)
		if _, err := s.SetFlags(ctx, 1, inbox.ID, ids[len(ids)/2:len(ids)/2+1], storage.FlagsAdd, storage.FlagSeen, nil, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := s.SetFlags(ctx, 1, inbox.ID, ids[:1], storage.FlagsAdd, storage.FlagDeleted, nil, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ExpungeDeleted(ctx, 1, inbox.ID, 1<<31, nil); err != nil {
			b.Fatal(err)
		}
		ids = ids[1:]
	}
}
