package storage_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/pochta/pochta/storage"
)

// A write is acknowledged only after the WAL fsync that follows its commit:
// while that fsync is held, the writer waits for its answer.
func TestWriteWaitsForWALSync(t *testing.T) {
	s := OpenSQLite(t, t.TempDir())
	ctx := context.Background()
	entered, release := make(chan struct{}, 16), make(chan struct{})
	storage.SetWALFsync(s, func(f *os.File) error {
		entered <- struct{}{}
		<-release
		return f.Sync()
	})
	done := make(chan error, 1)
	go func() {
		done <- s.Write(ctx, func(tx *storage.Tx) error {
			_, err := tx.PutBlob([]byte("durable or not at all"))
			return err
		})
	}()
	<-entered // committed, now syncing
	select {
	case err := <-done:
		t.Fatalf("write acknowledged before its fsync finished (err %v)", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Sync (for the directory's writes) goes through the same fsync.
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// After a failed fsync nothing more is acknowledged: what is on disk is
// unknown until a restart.
func TestWALSyncFailureStopsWrites(t *testing.T) {
	s := OpenSQLite(t, t.TempDir())
	ctx := context.Background()
	storage.SetWALFsync(s, func(*os.File) error { return errors.New("EIO") })
	put := func() error {
		return s.Write(ctx, func(tx *storage.Tx) error {
			_, err := tx.PutBlob([]byte("x"))
			return err
		})
	}
	if err := put(); !errors.Is(err, storage.ErrTemporary) {
		t.Fatalf("write with failing fsync: %v", err)
	}
	storage.SetWALFsync(s, nil) // the disk "recovers": still refused
	if err := put(); err == nil {
		t.Fatal("write acknowledged after an fsync failure")
	}
	if err := s.Sync(ctx); err == nil {
		t.Fatal("Sync succeeded after an fsync failure")
	}
}

// Writes made on the directory handles become durable through Sync, and
// survive a reopen.
func TestSyncAfterDirectWrite(t *testing.T) {
	dir := t.TempDir()
	s := OpenSQLite(t, dir)
	ctx := context.Background()
	w, _ := s.DBs()
	if err := w.Exec("CREATE TABLE IF NOT EXISTS synctest (v TEXT)").Error; err != nil {
		t.Fatal(err)
	}
	if err := w.Exec("INSERT INTO synctest (v) VALUES ('kept')").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := OpenSQLite(t, dir)
	_, r := s2.DBs()
	var v string
	if err := r.Raw("SELECT v FROM synctest").Scan(&v).Error; err != nil || v != "kept" {
		t.Fatalf("after reopen: %q, %v", v, err)
	}
}
