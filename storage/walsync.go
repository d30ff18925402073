package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// A syncJob is a committed batch waiting for the WAL fsync that makes it
// durable; errs are the per-write outcomes inside the transaction.
type syncJob struct {
	batch []*writeReq
	errs  []error
}

// syncer acknowledges committed batches once the WAL is on disk. One fsync
// covers every batch committed before it began: sqlite appends to the WAL
// in order, and recovery keeps only an unbroken prefix of checksummed
// frames, so a later batch can never survive a crash that loses an earlier
// one.
func (s *Store) syncer() {
	defer s.writerWG.Done()
	for job := range s.syncCh {
		jobs := []syncJob{job}
	drain:
		for {
			select {
			case j, ok := <-s.syncCh:
				if !ok {
					break drain
				}
				jobs = append(jobs, j)
			default:
				break drain
			}
		}
		err := s.wal.sync()
		if err != nil {
			err = fmt.Errorf("storage: making the write-ahead log durable: %w: %w", err, ErrTemporary)
			// After a failed fsync the kernel may have dropped the dirty
			// pages: what is committed is unknown, so nothing more is
			// acknowledged until an operator restarts the server.
			s.syncErr.CompareAndSwap(nil, &err)
			s.log.Error("fsync of the write-ahead log failed; refusing further writes until restart", "err", err)
		}
		for _, j := range jobs {
			for i, r := range j.batch {
				e := j.errs[i]
				if err != nil {
					e = err
				}
				r.done <- classify(e)
			}
		}
	}
}

// Sync makes every committed write durable. Writes through Store.Write are
// durable when it returns; Sync is for code that writes on the handles from
// DBs (the local directory), which commit without waiting for the disk.
// It is a no-op on PostgreSQL and with synchronous "normal".
func (s *Store) Sync(ctx context.Context) error {
	if s.syncCh == nil {
		return nil
	}
	if perr := s.syncErr.Load(); perr != nil {
		return *perr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.wal.sync(); err != nil {
		return fmt.Errorf("storage: making the write-ahead log durable: %w", err)
	}
	return nil
}

// walFile is sqlite's write-ahead log, opened a second time only to fsync
// it. fsync works on the file, not the descriptor, so it flushes what the
// writer's connection wrote.
type walFile struct {
	path string

	mu    sync.Mutex
	f     *os.File
	fsync func(*os.File) error // nil: (*os.File).Sync; tests replace it
	syncs atomic.Int64         // fsyncs done, for tests
}

func (w *walFile) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.path == "" {
		return nil
	}
	// sqlite deletes the WAL when the last connection closes and makes a
	// new one on the next open; a descriptor of the old file would sync
	// nothing, so check it is still the file at path.
	cur, err := os.Stat(w.path)
	if errors.Is(err, os.ErrNotExist) {
		// No WAL yet: nothing was written since it was last checkpointed
		// away, which sqlite does only after syncing.
		w.closeLocked()
		return nil
	}
	if err != nil {
		return err
	}
	if w.f != nil {
		if held, err := w.f.Stat(); err != nil || !os.SameFile(held, cur) {
			w.closeLocked()
		}
	}
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		w.f = f
		// A new WAL's directory entry must be durable too.
		if err := syncDir(filepath.Dir(w.path)); err != nil {
			return err
		}
	}
	w.syncs.Add(1)
	if w.fsync != nil {
		return w.fsync(w.f)
	}
	return w.f.Sync()
}

func (w *walFile) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked()
}

func (w *walFile) closeLocked() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
