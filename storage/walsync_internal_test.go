package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// sqlite deletes and recreates the WAL across opens; a descriptor of the
// old file would sync nothing, so walFile must follow the path.
func TestWALFileFollowsReplacement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db-wal")
	w := &walFile{path: path}
	defer w.close()
	if err := w.sync(); err != nil { // no WAL yet: nothing to do
		t.Fatal(err)
	}
	if w.f != nil {
		t.Fatal("opened a WAL that does not exist")
	}
	if err := os.WriteFile(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	first := w.f
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	held, err := w.f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	cur, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.f == first || !os.SameFile(held, cur) {
		t.Fatal("still syncing the replaced WAL")
	}
	if got := w.syncs.Load(); got != 2 {
		t.Fatalf("fsyncs = %d, want 2", got)
	}
}

// The writer runs its hottest statements prepared once (hotsql.go), not
// through gorm: inside a write they resolve to the prepared form.
func TestHotStatementsPrepared(t *testing.T) {
	s, err := Open(context.Background(), Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "pochta.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.hot) != len(hotSQL) {
		t.Fatalf("%d of %d statements prepared", len(s.hot), len(hotSQL))
	}
	err = s.Write(context.Background(), func(tx *Tx) error {
		for _, q := range hotSQL {
			if tx.stmt(q) == nil {
				t.Errorf("not prepared inside a write: %s", q)
			}
		}
		if tx.stmt("SELECT 1") != nil {
			t.Error("a statement that is not hot came back prepared")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
