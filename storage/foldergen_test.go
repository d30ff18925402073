package storage_test

import (
	"context"
	"testing"

	"github.com/pochta/pochta/storage"
)

// The folder generation moves with every folder change (so IMAP may keep
// its folder tree between commands) and stays put for message traffic.
func TestFolderGeneration(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if err := s.EnsureMailbox(ctx, 7); err != nil {
			t.Fatal(err)
		}
		ipm, err := s.FolderByRole(ctx, 7, storage.RoleIPMSubtree)
		if err != nil {
			t.Fatal(err)
		}
		gen := s.FolderGeneration(7)
		moved := func(what string) {
			t.Helper()
			g := s.FolderGeneration(7)
			if g == gen {
				t.Fatalf("%s: generation stayed %d", what, g)
			}
			gen = g
		}
		f, err := s.CreateFolder(ctx, 7, ipm.ID, "Projects", "IPF.Note")
		if err != nil {
			t.Fatal(err)
		}
		moved("create")
		add(t, s, 7, raw("not a folder change"))
		if g := s.FolderGeneration(7); g != gen && s.Driver() == "sqlite" {
			t.Fatalf("a delivery moved the folder generation %d → %d", gen, g)
		} else if g == gen && s.Driver() == "postgres" {
			t.Fatal("on PostgreSQL (several nodes) the generation must not promise anything")
		}
		gen = s.FolderGeneration(7)
		if err := s.SetSubscribed(ctx, 7, f.ID, false); err != nil {
			t.Fatal(err)
		}
		moved("unsubscribe")
		if err := s.RenameFolder(ctx, 7, f.ID, ipm.ID, "Archive 2026"); err != nil {
			t.Fatal(err)
		}
		moved("rename")
		if err := s.DeleteFolder(ctx, 7, f.ID); err != nil {
			t.Fatal(err)
		}
		moved("delete")
		if s.Driver() == "sqlite" && s.FolderGeneration(8) != 0 {
			t.Fatal("another account's generation moved")
		}
	})
}
