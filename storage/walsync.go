package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
)

// syncDepth bounds how many committed batches may wait for their fsync;
// with the writer's batch size it bounds what a power loss can take back
// of what readers may already have seen (see skipPastUnsynced).
const syncDepth = 64

// unsyncedMargin is how far counters skip after an unclean stop: more than
// syncDepth batches of the largest size can have used.
const unsyncedMargin = 10_000

type relaxedKey struct{}

// WithRelaxedDurability marks writes made with the returned context as
// ones a power loss may undo (an IMAP flag change or expunge, never a
// message): with Options.RelaxedFlagChanges they return once committed,
// and the next fsync, which follows at once, makes them durable.
func WithRelaxedDurability(ctx context.Context) context.Context {
	return context.WithValue(ctx, relaxedKey{}, true)
}

func isRelaxed(ctx context.Context) bool { return ctx.Value(relaxedKey{}) != nil }

// skipPastUnsynced moves the change number, MAPI id and UID counters
// forward after an unclean stop of the serving process. Its readers see a
// commit before its fsync, so a client may have been shown a UID, change
// number or id that a power loss then took back; handing it out again
// would break IMAP's and MAPI's promise that they are never reused. The
// serving marker left behind says the last serving process did not stop
// cleanly (an admin command opening the store in between does not hide
// it, as a WAL replayed and removed by that command would).
func (s *Store) skipPastUnsynced(ctx context.Context) error {
	if s.servingMarker == "" {
		return nil
	}
	_, err := os.Stat(s.servingMarker)
	unclean := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("storage: %w", err)
	}
	if unclean {
		if err := s.skipCounters(ctx); err != nil {
			return err
		}
		s.log.Warn("the last run did not stop cleanly; UID, change-number and id counters moved ahead", "by", unsyncedMargin)
	}
	if err := os.WriteFile(s.servingMarker, []byte("pochta serve has this store open\n"), 0o600); err != nil {
		return fmt.Errorf("storage: serving marker: %w", err)
	}
	return syncDir(filepath.Dir(s.servingMarker))
}

func (s *Store) skipCounters(ctx context.Context) error {
	return s.write.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		if err := db.Exec("UPDATE mailboxes SET change_num = change_num + ?, glob_cnt = glob_cnt + ?", unsyncedMargin, unsyncedMargin).Error; err != nil {
			return fmt.Errorf("storage: skipping counters after an unclean stop: %w", err)
		}
		if err := db.Exec("UPDATE folders SET uid_next = uid_next + ? WHERE uid_next < ?", unsyncedMargin, uint32(1<<32-1-unsyncedMargin)).Error; err != nil {
			return fmt.Errorf("storage: skipping UIDs after an unclean stop: %w", err)
		}
		return nil
	})
}

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
				if r.relaxed {
					continue // answered at commit
				}
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
