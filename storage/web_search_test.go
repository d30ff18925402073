package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pochta/pochta/storage"
)

// webFixture stores n messages in the Inbox and n in Sent Items with
// distinct received times (one minute apart, the newest last) and returns
// the two folders.
func webFixture(t *testing.T, s *storage.Store, account int64, n int) (inbox, sent *storage.Folder, base time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := s.EnsureMailbox(ctx, account); err != nil {
		t.Fatal(err)
	}
	var err error
	if inbox, err = s.FolderByRole(ctx, account, storage.RoleInbox); err != nil {
		t.Fatal(err)
	}
	if sent, err = s.FolderByRole(ctx, account, storage.RoleSent); err != nil {
		t.Fatal(err)
	}
	base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 2*n; i++ {
		folder, from := inbox, fmt.Sprintf("Sender %d <s%d@example.org>", i%3, i%3)
		if i%2 == 1 {
			folder = sent
		}
		data := []byte(fmt.Sprintf("From: %s\r\nSubject: Topic %d\r\n\r\nbody %d\r\n", from, i%4, i))
		err := s.Write(ctx, func(tx *storage.Tx) error {
			h, err := tx.PutBlob(data)
			if err != nil {
				return err
			}
			m, err := tx.AddMessage(account, folder.ID, &storage.NewMessage{
				BlobHash: h, Size: int64(len(data)), Subject: fmt.Sprintf("Topic %d", i%4),
				FromName: fmt.Sprintf("Sender %d", i%3), FromAddr: fmt.Sprintf("s%d@example.org", i%3),
				MessageIDHeader: fmt.Sprintf("m%d@example.org", i),
			}, false)
			if err != nil {
				return err
			}
			return tx.SetReceivedForTest(m.ID, base.Add(time.Duration(i)*time.Minute))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return inbox, sent, base
}

func TestWebSearchMessages(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		inbox, sent, base := webFixture(t, s, 1, 10)
		webFixture(t, s, 2, 3) // another account: never seen
		both := []int64{inbox.ID, sent.ID}

		// Paging with the cursor walks every message once, newest first.
		var seen []storage.Message
		q := storage.WebSearch{FolderIDs: both, Limit: 7}
		for {
			page, err := s.WebSearchMessages(ctx, 1, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			seen = append(seen, page...)
			last := page[len(page)-1]
			q.After = storage.WebCursor{ReceivedAt: last.ReceivedAt, ID: last.ID}
		}
		if len(seen) != 20 {
			t.Fatalf("paged through %d messages, want 20", len(seen))
		}
		for i := 1; i < len(seen); i++ {
			if !seen[i].ReceivedAt.Before(seen[i-1].ReceivedAt) {
				t.Fatalf("not newest first at %d: %v then %v", i, seen[i-1].ReceivedAt, seen[i].ReceivedAt)
			}
			if seen[i].AccountID != 1 {
				t.Fatalf("message of account %d returned", seen[i].AccountID)
			}
		}
		if seen[0].Parsed != nil {
			t.Error("part tree returned without WithParsed")
		}

		count := func(q storage.WebSearch) int {
			t.Helper()
			q.Limit = 1000
			ms, err := s.WebSearchMessages(ctx, 1, q)
			if err != nil {
				t.Fatal(err)
			}
			return len(ms)
		}
		// Conditions, checked against what the fixture made.
		want := func(f func(i int) bool) int {
			n := 0
			for i := 0; i < 20; i++ {
				if f(i) {
					n++
				}
			}
			return n
		}
		if got, w := count(storage.WebSearch{FolderIDs: []int64{inbox.ID}}), 10; got != w {
			t.Errorf("inbox only: %d, want %d", got, w)
		}
		if got, w := count(storage.WebSearch{FolderIDs: both, From: "SENDER 1"}), want(func(i int) bool { return i%3 == 1 }); got != w {
			t.Errorf("from: %d, want %d", got, w)
		}
		if got, w := count(storage.WebSearch{FolderIDs: both, From: "s2@EXAMPLE"}), want(func(i int) bool { return i%3 == 2 }); got != w {
			t.Errorf("from address: %d, want %d", got, w)
		}
		if got, w := count(storage.WebSearch{FolderIDs: both, Subject: "topic 3"}), want(func(i int) bool { return i%4 == 3 }); got != w {
			t.Errorf("subject: %d, want %d", got, w)
		}
		since, before := base.Add(5*time.Minute), base.Add(9*time.Minute)
		if got, w := count(storage.WebSearch{FolderIDs: both, Since: since, Before: before}), 4; got != w {
			t.Errorf("date range: %d, want %d", got, w)
		}
		if got := count(storage.WebSearch{FolderIDs: both, Subject: "50%_"}); got != 0 {
			t.Errorf("LIKE wildcards not escaped: %d matches", got)
		}
		if got := count(storage.WebSearch{}); got != 0 {
			t.Errorf("no folders matched %d", got)
		}
		// Another account's folder ids give nothing.
		if got := count(storage.WebSearch{FolderIDs: []int64{inbox.ID}, Subject: "Topic"}); got == 0 {
			t.Error("own folder found nothing")
		}
		ms, err := s.WebSearchMessages(ctx, 2, storage.WebSearch{FolderIDs: both, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 0 {
			t.Errorf("account 2 sees %d messages of account 1's folders", len(ms))
		}
	})
}

func TestWebThreadCandidates(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		inbox, sent, _ := webFixture(t, s, 1, 6)
		both := []int64{inbox.ID, sent.ID}
		ms, err := s.WebThreadCandidates(ctx, 1, both, []string{"m0@example.org", "m5@example.org"}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[0].MessageIDHeader != "m5@example.org" || ms[1].MessageIDHeader != "m0@example.org" {
			t.Fatalf("by message id: %+v", ms)
		}
		ms, err = s.WebThreadCandidates(ctx, 1, both, nil, "topic 2", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 { // i = 2, 6, 10
			t.Fatalf("by subject: %d messages, want 3", len(ms))
		}
		ms, err = s.WebThreadCandidates(ctx, 2, both, []string{"m0@example.org"}, "Topic", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 0 {
			t.Fatalf("another account found %d", len(ms))
		}
	})
}
