package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/storage"
)

// imapFixture fills an Inbox with messages whose promoted columns, flags,
// keywords, sizes and dates vary, so random conditions select interesting
// subsets.
func imapFixture(t *testing.T, s *storage.Store, account int64, n int) (folderID int64) {
	t.Helper()
	ctx := context.Background()
	if err := s.EnsureMailbox(ctx, account); err != nil {
		t.Fatal(err)
	}
	inbox, err := s.FolderByRole(ctx, account, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	subjects := []string{"Quarterly report", "lunch?", "RE: Quarterly REPORT", "100% done_now", `back\slash`, "Ünïcode Grüße", ""}
	froms := [][2]string{{"Alice", "alice@example.org"}, {"Bob Builder", "bob@example.com"}, {"", "carol@example.net"}}
	kws := [][]string{nil, {"$Junk"}, {"work", "Urgent"}, {"urgent"}}
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	err = s.Write(ctx, func(tx *storage.Tx) error {
		for i := range n {
			data := []byte(fmt.Sprintf("Subject: m%d\r\n\r\n%s", i, make([]byte, i*37%500)))
			h, err := tx.PutBlob(data)
			if err != nil {
				return err
			}
			f := froms[i%len(froms)]
			sent := base.Add(time.Duration(i*7) * time.Hour)
			if i%5 == 0 {
				sent = time.Time{} // no Date header: the internal date stands in
			}
			_, err = tx.AddMessage(account, inbox.ID, &storage.NewMessage{
				BlobHash: h, Size: int64(len(data)), InternalDate: base.Add(time.Duration(i*11) * time.Hour),
				Flags: storage.Flags(i*13) % (storage.FlagForwarded << 1), Keywords: kws[i%len(kws)],
				Subject: subjects[i%len(subjects)], FromName: f[0], FromAddr: f[1], SentAt: sent,
				MessageIDHeader: fmt.Sprintf("id%d@Example.org", i),
			}, false)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return inbox.ID
}

func randomCond(r *rand.Rand, depth int, external bool) storage.SearchCond {
	leaf := func() storage.SearchCond {
		day := time.Date(2024, 3, 1+r.IntN(30), 0, 0, 0, 0, time.UTC)
		switch r.IntN(14) {
		case 0:
			a := uint32(r.IntN(40) + 1)
			return storage.SearchCond{Kind: storage.SearchUID, UIDs: []storage.UIDRange{{Start: a, Stop: a + uint32(r.IntN(10))}, {Start: 50, Stop: 52}}}
		case 1:
			return storage.SearchCond{Kind: storage.SearchFlagsSet, Flags: storage.Flags(1 << r.IntN(6))}
		case 2:
			return storage.SearchCond{Kind: storage.SearchFlagsClear, Flags: storage.Flags(1 << r.IntN(6))}
		case 3:
			return storage.SearchCond{Kind: storage.SearchKeyword, Text: []string{"urgent", "URGENT", "work", "$junk", "none", "urg"}[r.IntN(6)]}
		case 4:
			return storage.SearchCond{Kind: storage.SearchSince, Time: day}
		case 5:
			return storage.SearchCond{Kind: storage.SearchBefore, Time: day}
		case 6:
			return storage.SearchCond{Kind: storage.SearchSentSince, Time: day}
		case 7:
			return storage.SearchCond{Kind: storage.SearchSentBefore, Time: day}
		case 8:
			return storage.SearchCond{Kind: storage.SearchLarger, Size: int64(r.IntN(500))}
		case 9:
			return storage.SearchCond{Kind: storage.SearchSmaller, Size: int64(r.IntN(500))}
		case 10:
			return storage.SearchCond{Kind: storage.SearchSubject, Text: []string{"report", "QUARTERLY", "%", "_", `\`, "grüße", "", "RE:"}[r.IntN(8)]}
		case 11:
			return storage.SearchCond{Kind: storage.SearchFrom, Text: []string{"alice", "BOB", "example.net", "zed"}[r.IntN(4)]}
		case 12:
			return storage.SearchCond{Kind: storage.SearchMessageID, Text: []string{"id1", "EXAMPLE", "id2@"}[r.IntN(3)]}
		default:
			if external {
				return storage.SearchCond{Kind: storage.SearchExternal, Ext: r.IntN(3)}
			}
			return storage.SearchCond{Kind: storage.SearchAll}
		}
	}
	if depth <= 0 || r.IntN(3) == 0 {
		return leaf()
	}
	switch r.IntN(3) {
	case 0:
		return storage.SearchCond{Kind: storage.SearchNot, Sub: []storage.SearchCond{randomCond(r, depth-1, external)}}
	case 1:
		return storage.SearchCond{Kind: storage.SearchOr, Sub: []storage.SearchCond{randomCond(r, depth-1, external), randomCond(r, depth-1, external)}}
	default:
		return storage.SearchCond{Kind: storage.SearchAnd, Sub: []storage.SearchCond{randomCond(r, depth-1, external), randomCond(r, depth-1, external), randomCond(r, depth-1, external)}}
	}
}

// TestIMAPSearchSQLAgreesWithMatch runs random condition trees as SQL and
// row by row: both must select the same messages, on both backends.
func TestIMAPSearchSQLAgreesWithMatch(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		folder := imapFixture(t, s, 1, 60)
		all, err := s.SearchCandidates(ctx, 1, folder, 0, 1<<31, &storage.SearchCond{Kind: storage.SearchAll}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 60 {
			t.Fatalf("%d candidates for ALL, want 60", len(all))
		}
		r := rand.New(rand.NewPCG(1, 2))
		nonEmpty := 0
		for i := range 300 {
			cond := randomCond(r, 3, i%2 == 1)
			maxUID := uint32(45 + r.IntN(20))
			var want []uint32
			for j := range all {
				m := &all[j]
				if m.UID > maxUID {
					continue
				}
				ok, err := s.MatchSearch(&cond, m, func(c *storage.SearchCond) (bool, error) { return int(m.UID)%3 == c.Ext, nil })
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					want = append(want, m.UID)
				}
			}
			exact, err := storage.SearchExact(&cond)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint32
			if exact {
				got, err = s.SearchUIDs(ctx, 1, folder, maxUID, &cond)
				if err != nil {
					t.Fatalf("cond %d %+v: %v", i, cond, err)
				}
			} else {
				var after uint32
				for {
					page, err := s.SearchCandidates(ctx, 1, folder, after, maxUID, &cond, 7)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					for j := range page {
						m := &page[j]
						ok, err := s.MatchSearch(&cond, m, func(c *storage.SearchCond) (bool, error) { return int(m.UID)%3 == c.Ext, nil })
						if err != nil {
							t.Fatal(err)
						}
						if ok {
							got = append(got, m.UID)
						}
						after = m.UID
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("cond %d (exact %v) %+v:\n sql  %v\n rows %v", i, exact, cond, got, want)
			}
			if len(want) > 0 && len(want) < 45 {
				nonEmpty++
			}
		}
		if nonEmpty < 100 {
			t.Fatalf("only %d of 300 random conditions selected a proper subset; the fixture does not exercise the search", nonEmpty)
		}
	})
}

func TestIMAPSearchTooDeep(t *testing.T) {
	s := OpenSQLite(t, t.TempDir())
	c := storage.SearchCond{Kind: storage.SearchAll}
	for range storage.MaxSearchDepth + 2 {
		c = storage.SearchCond{Kind: storage.SearchNot, Sub: []storage.SearchCond{c}}
	}
	if _, err := s.SearchUIDs(context.Background(), 1, 1, 10, &c); err != storage.ErrSearchTooComplex {
		t.Fatalf("deep condition: %v, want ErrSearchTooComplex", err)
	}
}

func TestIMAPExpungeDeletedAndMetaAfter(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		folder := imapFixture(t, s, 7, 20)
		meta, err := s.FolderMeta(ctx, 7, folder)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[uint32]int64{}
		var all []int64
		for _, m := range meta {
			ids[m.UID] = m.ID
			all = append(all, m.ID)
		}
		// The fixture flags some messages \Deleted; start from none.
		if _, err := s.SetFlags(ctx, 7, folder, all, storage.FlagsRemove, storage.FlagDeleted, nil, 0); err != nil {
			t.Fatal(err)
		}
		// Flag 2..10 \Deleted, then clear it again on 4: it must survive.
		var del []int64
		for u := uint32(2); u <= 10; u++ {
			del = append(del, ids[u])
		}
		if _, err := s.SetFlags(ctx, 7, folder, del, storage.FlagsAdd, storage.FlagDeleted, nil, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetFlags(ctx, 7, folder, []int64{ids[4]}, storage.FlagsRemove, storage.FlagDeleted, nil, 0); err != nil {
			t.Fatal(err)
		}
		sub := s.Subscribe(7)
		defer sub.Close()
		got, err := s.ExpungeDeleted(ctx, 7, folder, 8, []storage.UIDRange{{Start: 1, Stop: 3}, {Start: 5, Stop: 20}})
		if err != nil {
			t.Fatal(err)
		}
		var uids []uint32
		for _, e := range got {
			uids = append(uids, e.UID)
		}
		// 9 and 10 are above maxUID, 4 lost its flag, 1 never had it.
		if want := []uint32{2, 3, 5, 6, 7, 8}; !slices.Equal(uids, want) {
			t.Fatalf("expunged %v, want %v", uids, want)
		}
		changes, _ := sub.Take()
		if len(changes) != 6 || changes[0].Kind != storage.MessageExpunged {
			t.Fatalf("feed got %d changes (%+v), want 6 expunges", len(changes), changes)
		}
		rest, err := s.ExpungeDeleted(ctx, 7, folder, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rest) != 2 || rest[0].UID != 9 || rest[1].UID != 10 {
			t.Fatalf("second expunge removed %+v, want UIDs 9 and 10", rest)
		}
		after, err := s.FolderMetaAfter(ctx, 7, folder, 11)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 9 || after[0].UID != 12 || after[8].UID != 20 {
			t.Fatalf("meta after 11: %d rows from %v", len(after), after)
		}
		rows, err := s.MessagesForFetch(ctx, 7, folder, []int64{ids[1], ids[2], ids[12]}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Parsed != nil {
			t.Fatalf("rows for fetch: %d (parsed %v), want 2 without part trees", len(rows), rows[0].Parsed)
		}
	})
}

// TestIMAPWriteAccountLockedNoLostFlags: concurrent read-then-write flag
// changes under the account lock never overwrite each other (PostgreSQL's
// READ COMMITTED would without it).
func TestIMAPWriteAccountLockedNoLostFlags(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		folder := imapFixture(t, s, 3, 1)
		meta, err := s.FolderMeta(ctx, 3, folder)
		if err != nil {
			t.Fatal(err)
		}
		id := meta[0].ID
		bits := []storage.Flags{storage.FlagSeen, storage.FlagAnswered, storage.FlagFlagged, storage.FlagDraft}
		for round := range 15 {
			if _, err := s.SetFlags(ctx, 3, folder, []int64{id}, storage.FlagsReplace, 0, nil, 0); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for _, b := range bits {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.WriteAccountLocked(ctx, 3, func(tx *storage.Tx) error {
						_, err := tx.SetFlags(3, folder, []int64{id}, storage.FlagsAdd, b, []string{fmt.Sprintf("k%d", b)}, 0)
						return err
					})
					if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			meta, err := s.FolderMeta(ctx, 3, folder)
			if err != nil {
				t.Fatal(err)
			}
			if got := meta[0].Flags; got != storage.FlagSeen|storage.FlagAnswered|storage.FlagFlagged|storage.FlagDraft {
				t.Fatalf("round %d: flags %b, a concurrent change was lost", round, got)
			}
			if n := len(strings.Fields(meta[0].Keywords)); n != 4 {
				t.Fatalf("round %d: keywords %q, a concurrent change was lost", round, meta[0].Keywords)
			}
		}
	})
}
