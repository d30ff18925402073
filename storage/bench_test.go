package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pochta/pochta/storage"
)

// fillFolder puts n messages in the account's Inbox quickly: many per
// transaction, all sharing one blob (listing does not read blobs).
func fillFolder(b *testing.B, s *storage.Store, account int64, n int) int64 {
	ctx := context.Background()
	if err := s.EnsureMailbox(ctx, account); err != nil {
		b.Fatal(err)
	}
	inbox, _ := s.FolderByRole(ctx, account, storage.RoleInbox)
	data := []byte("From: a@example.org\r\nSubject: fill\r\n\r\nx\r\n")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		err := s.Write(ctx, func(tx *storage.Tx) error {
			h, err := tx.PutBlob(data)
			if err != nil {
				return err
			}
			for i := 0; i < 2000 && done+i < n; i++ {
				k := done + i
				_, err := tx.AddMessage(account, inbox.ID, &storage.NewMessage{
					BlobHash: h, Size: int64(len(data)), Subject: fmt.Sprintf("message %d", k),
					FromAddr: "a@example.org", SentAt: base.Add(time.Duration(k*7919%n) * time.Minute),
				}, true)
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += 2000
	}
	return inbox.ID
}

// BenchmarkList100k lists the newest 50 of a 100,000-message folder sorted
// by date, as a mail client's first screen does.
func BenchmarkList100k(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var s *storage.Store
			if backend == "sqlite" {
				s = OpenSQLite(b, b.TempDir())
			} else {
				s = OpenPostgres(b)
			}
			folder := fillFolder(b, s, 1, 100000)
			ctx := context.Background()
			for _, q := range []struct {
				name string
				q    storage.ListQuery
			}{
				{"received-desc-first50", storage.ListQuery{Sort: storage.SortReceived, Descending: true, Limit: 50}},
				{"sent-desc-page1000", storage.ListQuery{Sort: storage.SortSent, Descending: true, Offset: 50000, Limit: 50}},
			} {
				b.Run(q.name, func(b *testing.B) {
					for range b.N {
						ms, err := s.ListMessages(ctx, 1, folder, q.q)
						if err != nil || len(ms) != 50 {
							b.Fatalf("%v %d", err, len(ms))
						}
					}
				})
			}
			b.Run("meta-all", func(b *testing.B) {
				for range b.N {
					ms, err := s.FolderMeta(ctx, 1, folder)
					if err != nil || len(ms) != 100000 {
						b.Fatalf("%v %d", err, len(ms))
					}
				}
			})
		})
	}
}
