package storage_test

import (
	"context"
	"testing"

	"github.com/pochta/pochta/storage"
)

// A copy's MessageAdded names its source, a move marks both its halves,
// and a flag change says what the flags were: what MAPI's ObjectMoved,
// ObjectCopied and ObjectModified are made from.
func TestFeedCarriesMoveCopySource(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		s.EnsureMailbox(ctx, 1)
		inbox, _ := s.FolderByRole(ctx, 1, storage.RoleInbox)
		archive, err := s.CreateFolder(ctx, 1, inbox.ID, "Archive", "IPF.Note")
		if err != nil {
			t.Fatal(err)
		}
		m := add(t, s, 1, raw("moving"))
		sub := s.Subscribe(1)
		defer sub.Close()

		if _, err := s.SetFlags(ctx, 1, inbox.ID, []int64{m.ID}, storage.FlagsAdd, storage.FlagSeen, []string{"$label1"}, 0); err != nil {
			t.Fatal(err)
		}
		ch, _ := sub.Take()
		if len(ch) != 1 || ch[0].Kind != storage.MessageFlagsChanged || ch[0].PrevFlags&storage.FlagSeen != 0 ||
			ch[0].Flags&storage.FlagSeen == 0 || !ch[0].KeywordsChanged {
			t.Fatalf("flag change %+v", ch)
		}

		copied, err := s.CopyMessages(ctx, 1, inbox.ID, []int64{m.ID}, archive.ID)
		if err != nil || len(copied) != 1 {
			t.Fatalf("copy: %v %v", copied, err)
		}
		ch, _ = sub.Take()
		if len(ch) != 1 || ch[0].Kind != storage.MessageAdded || ch[0].Moved || ch[0].FolderID != archive.ID ||
			ch[0].SourceFolderID != inbox.ID || ch[0].SourceMessageID != m.ID || ch[0].SourceGlobCnt != m.GlobCnt {
			t.Fatalf("copy changes %+v", ch)
		}

		moved, err := s.MoveMessages(ctx, 1, inbox.ID, []int64{m.ID}, archive.ID)
		if err != nil || len(moved) != 1 {
			t.Fatalf("move: %v %v", moved, err)
		}
		ch, _ = sub.Take()
		if len(ch) != 2 {
			t.Fatalf("move published %+v", ch)
		}
		added, gone := ch[0], ch[1]
		if added.Kind != storage.MessageAdded || !added.Moved || added.MessageID != moved[0].DstID ||
			added.SourceFolderID != inbox.ID || added.SourceMessageID != m.ID || added.SourceGlobCnt != m.GlobCnt {
			t.Errorf("move's added half %+v", added)
		}
		if gone.Kind != storage.MessageExpunged || !gone.Moved || gone.MessageID != m.ID || gone.FolderID != inbox.ID {
			t.Errorf("move's expunged half %+v", gone)
		}

		// A plain expunge and a plain delivery are not halves of a move.
		n := add(t, s, 1, raw("plain"))
		if _, err := s.Expunge(ctx, 1, inbox.ID, []int64{n.ID}); err != nil {
			t.Fatal(err)
		}
		ch, _ = sub.Take()
		for _, c := range ch {
			if c.Moved || c.SourceMessageID != 0 {
				t.Errorf("plain change marked as a move or copy: %+v", c)
			}
		}
	})
}
