// Package storage is Pochta's one store: mailboxes, folders, messages, flags,
// UIDs, change numbers, MAPI property rows, named properties, blobs, the
// outbound queue and the change feed, on sqlite (embedded default) or
// PostgreSQL (production) through gorm.
//
// Writes go through Store.Write. On sqlite a single writer goroutine runs
// them, grouping concurrent writes into one transaction (each in its own
// savepoint) so that many deliveries share one fsync without giving up
// durability: Write returns only after the commit is on disk. With
// synchronous "full" the writer commits without waiting for the disk and a
// second goroutine fsyncs the write-ahead log behind it, answering every
// write committed before that fsync began; the writer meanwhile runs the
// next batch, so the disk's latency is no longer the writer's. On PostgreSQL each Write
// is its own transaction, retried on serialization failures. Changes are
// published on the feed only after their transaction committed.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Errors callers match with errors.Is.
var (
	ErrNotFound      = errors.New("storage: not found")
	ErrExists        = errors.New("storage: already exists")
	ErrQuotaExceeded = errors.New("storage: quota exceeded")
	ErrClosed        = errors.New("storage: closed")
	// ErrTemporary wraps causes worth retrying later (busy database, lost connection).
	ErrTemporary = errors.New("storage: temporarily unavailable")
)

// Options configure Open.
type Options struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string
	// DSN is a file path for sqlite, a connection string for PostgreSQL.
	DSN string
	// Synchronous is sqlite's synchronous pragma: "full" (default) or "normal".
	Synchronous string
	// MaxOpenConns bounds read connections (sqlite) or all connections (PostgreSQL).
	MaxOpenConns int
	// MaxBatch bounds how many writes one sqlite transaction groups.
	MaxBatch int
	// RelaxedFlagChanges lets writes made with a context from
	// WithRelaxedDurability return once committed, before their fsync
	// (sqlite with Synchronous "full"; see WithRelaxedDurability).
	RelaxedFlagChanges bool
	// Serving marks the process that serves clients (pochta serve, not
	// the admin commands): it keeps a marker file while open, and finding
	// one left behind at open means it stopped uncleanly (see
	// skipPastUnsynced).
	Serving bool
	Logger  *slog.Logger
}

// Store is safe for concurrent use.
type Store struct {
	driver string
	write  *gorm.DB // sqlite: one connection, used only by the writer goroutine and admin writes
	read   *gorm.DB
	log    *slog.Logger
	feed   *feed

	queueSig  chan struct{}
	writeCh   chan *writeReq
	closeOnce sync.Once
	closed    chan struct{}
	writerWG  sync.WaitGroup
	maxBatch  int

	// Pipelined durability (sqlite, synchronous "full"): committed batches
	// wait in syncCh for an fsync of the WAL before their writers hear back.
	syncCh  chan syncJob
	wal     walFile
	syncErr atomic.Pointer[error] // sticky: after a failed fsync nothing is acknowledged again
	relaxOK bool                  // honour WithRelaxedDurability
	// servingMarker exists while a serving process has the store open.
	servingMarker string

	folderGens sync.Map // account id → *atomic.Uint64, see FolderGeneration

	hot map[string]*sql.Stmt // sqlite: hotSQL prepared on the writer's connection
}

// Open opens (and migrates) the store.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Driver == "" {
		opts.Driver = "sqlite"
	}
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = 8
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 128
	}
	gcfg := &gorm.Config{
		Logger:                                   logger.Discard,
		SkipDefaultTransaction:                   true,
		DisableForeignKeyConstraintWhenMigrating: false,
		NowFunc:                                  func() time.Time { return time.Now().UTC() },
	}
	s := &Store{
		driver:   opts.Driver,
		log:      opts.Logger.With("component", "storage"),
		feed:     newFeed(),
		queueSig: make(chan struct{}, 1),
		closed:   make(chan struct{}),
		maxBatch: opts.MaxBatch,
	}
	switch opts.Driver {
	case "sqlite":
		if opts.DSN == "" {
			return nil, errors.New("storage: sqlite needs a database path")
		}
		if dir := filepath.Dir(opts.DSN); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("storage: creating database folder: %w", err)
			}
		}
		// The writer's connection never waits for the disk itself: with
		// "full" the syncer goroutine fsyncs the WAL after each commit and
		// only then are the writes acknowledged (see writer and syncer).
		pipelined := !strings.EqualFold(opts.Synchronous, "normal")
		base := "file:" + opts.DSN + "?_journal_mode=WAL&_foreign_keys=1&_busy_timeout=30000&_synchronous=NORMAL"
		wcfg := *gcfg
		wcfg.PrepareStmt = true // the writer runs the same few statements all day
		w, err := gorm.Open(sqlite.Open(base+"&_txlock=immediate"), &wcfg)
		if err != nil {
			return nil, fmt.Errorf("storage: opening sqlite %s: %w", opts.DSN, err)
		}
		wdb, err := w.DB()
		if err != nil {
			return nil, err
		}
		// One writer: sqlite allows only one, and a pool would turn contention
		// into SQLITE_BUSY instead of a queue.
		wdb.SetMaxOpenConns(1)
		wdb.SetMaxIdleConns(1)
		wdb.SetConnMaxLifetime(0)
		rcfg := *gcfg
		// Reads run outside transactions, so gorm's cache keeps each
		// statement prepared per connection; bounded, because IMAP SEARCH
		// and list queries vary.
		rcfg.PrepareStmt, rcfg.PrepareStmtMaxSize, rcfg.PrepareStmtTTL = true, 512, 10*time.Minute
		r, err := gorm.Open(sqlite.Open(base+"&_query_only=1"), &rcfg)
		if err != nil {
			return nil, fmt.Errorf("storage: opening sqlite %s for reading: %w", opts.DSN, err)
		}
		rdb, err := r.DB()
		if err != nil {
			return nil, err
		}
		rdb.SetMaxOpenConns(opts.MaxOpenConns)
		rdb.SetMaxIdleConns(opts.MaxOpenConns)
		s.write, s.read = w, r
		if pipelined {
			if opts.Serving {
				s.servingMarker = opts.DSN + ".serving"
			}
			s.wal.path = opts.DSN + "-wal"
			s.syncCh = make(chan syncJob, syncDepth)
			s.relaxOK = opts.RelaxedFlagChanges
		}
	case "postgres":
		db, err := gorm.Open(postgres.Open(opts.DSN), gcfg)
		if err != nil {
			return nil, fmt.Errorf("storage: opening postgres: %w", err)
		}
		sdb, err := db.DB()
		if err != nil {
			return nil, err
		}
		sdb.SetMaxOpenConns(opts.MaxOpenConns * 2)
		sdb.SetMaxIdleConns(opts.MaxOpenConns)
		s.write, s.read = db, db
	default:
		return nil, fmt.Errorf("storage: unknown driver %q (want sqlite or postgres)", opts.Driver)
	}
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.skipPastUnsynced(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.Sync(ctx); err != nil { // the migrations, when there were any
		s.closeDBs()
		return nil, err
	}
	if s.driver == "sqlite" {
		if err := s.prepareHot(ctx); err != nil {
			s.closeDBs()
			return nil, err
		}
		s.writeCh = make(chan *writeReq, 4*s.maxBatch)
		s.writerWG.Add(1)
		go s.writer()
		if s.syncCh != nil {
			s.writerWG.Add(1)
			go s.syncer()
		}
	}
	return s, nil
}

// FolderGeneration is a number that changes whenever one of the account's
// folders is created, deleted, renamed, moved or updated, before the write
// that did it returns; a caller may keep what it built from Folders for as
// long as the number stays the same. On PostgreSQL other nodes change
// folders too, unseen by this process, so there it changes on every call.
func (s *Store) FolderGeneration(accountID int64) uint64 {
	if s.driver != "sqlite" {
		return s.folderGeneration(0).Add(1)
	}
	return s.folderGeneration(accountID).Load()
}

func (s *Store) folderGeneration(accountID int64) *atomic.Uint64 {
	if g, ok := s.folderGens.Load(accountID); ok {
		return g.(*atomic.Uint64)
	}
	g, _ := s.folderGens.LoadOrStore(accountID, new(atomic.Uint64))
	return g.(*atomic.Uint64)
}

// Driver names the backend: "sqlite" or "postgres".
func (s *Store) Driver() string { return s.driver }

// DBs returns the handles the directory keeps its own tables on (it shares
// the database but not the store's tables). Writes must use w.
func (s *Store) DBs() (w, r *gorm.DB) { return s.write, s.read }

// Close stops the writer and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.writerWG.Wait()
		s.closeHot()
		s.wal.close()
		if s.servingMarker != "" {
			_ = os.Remove(s.servingMarker) // a clean stop
		}
	})
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, db := range []*gorm.DB{s.write, s.read} {
		if db == nil {
			continue
		}
		sdb, err := db.DB()
		if err == nil {
			err = sdb.Close()
		}
		if err != nil && !strings.Contains(err.Error(), "closed") {
			errs = append(errs, err)
		}
		if s.write == s.read {
			break
		}
	}
	return errors.Join(errs...)
}

// Ping checks the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	sdb, err := s.read.DB()
	if err != nil {
		return err
	}
	return sdb.PingContext(ctx)
}

// Tx is a write transaction. Methods on Tx record the changes they make;
// the Store publishes them after the commit.
type Tx struct {
	db      *gorm.DB
	s       *Store
	changes []Change
	after   []func()
}

func (tx *Tx) publish(c Change) { tx.changes = append(tx.changes, c) }

// AfterCommit runs f after the transaction committed (never if it did not).
func (tx *Tx) AfterCommit(f func()) { tx.after = append(tx.after, f) }

type writeReq struct {
	ctx     context.Context
	fn      func(*Tx) error
	done    chan error
	tx      *Tx
	relaxed bool // answered at commit, not after the fsync
}

// Write runs fn in a write transaction and returns after it committed
// durably (or failed). fn may be grouped with other writes into one database
// transaction, inside its own savepoint: its failure rolls back only its own
// work. fn must not block on anything but the database.
func (s *Store) Write(ctx context.Context, fn func(tx *Tx) error) error {
	if s.driver != "sqlite" {
		return s.writeDirect(ctx, fn)
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1), relaxed: s.relaxOK && isRelaxed(ctx)}
	select {
	case s.writeCh <- req:
	case <-s.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Wait for the outcome even when ctx ends: the writer may be committing it.
	err := <-req.done
	if err == nil {
		s.finish(req.tx)
	}
	return err
}

func (s *Store) finish(tx *Tx) {
	if len(tx.changes) > 0 {
		for _, c := range tx.changes {
			switch c.Kind {
			case FolderCreated, FolderDeleted, FolderRenamed, FolderUpdated:
				s.folderGeneration(c.AccountID).Add(1)
			}
		}
		s.feed.publish(tx.changes)
	}
	for _, f := range tx.after {
		f()
	}
}

func (s *Store) writeDirect(ctx context.Context, fn func(*Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		tx := &Tx{s: s}
		err = s.write.WithContext(ctx).Transaction(func(db *gorm.DB) error {
			tx.db = db
			return fn(tx)
		})
		if err == nil {
			s.finish(tx)
			return nil
		}
		if !isRetryable(err) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return classify(err)
}

// writer is sqlite's single writer: it takes whatever writes are waiting,
// runs each in a savepoint of one transaction, commits once, then answers.
func (s *Store) writer() {
	defer s.writerWG.Done()
	if s.syncCh != nil {
		// The syncer answers what the writer has committed, then stops.
		defer close(s.syncCh)
	}
	var batch []*writeReq
	for {
		select {
		case <-s.closed:
			// Refuse what is still waiting.
			for {
				select {
				case r := <-s.writeCh:
					r.done <- ErrClosed
				default:
					return
				}
			}
		case r := <-s.writeCh:
			// A fresh slice: with pipelined durability the syncer still
			// holds the previous batch.
			batch = append(make([]*writeReq, 0, s.maxBatch), r)
		fill:
			for len(batch) < s.maxBatch {
				select {
				case r := <-s.writeCh:
					batch = append(batch, r)
				default:
					break fill
				}
			}
			s.runBatch(batch)
		}
	}
}

func (s *Store) runBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	if perr := s.syncErr.Load(); perr != nil {
		for _, r := range batch {
			r.done <- *perr
		}
		return
	}
	ctx := context.Background() // each request's own ctx is checked before it runs
	commitErr := s.write.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			// Statements run without the request's ctx: sqlite aborts the whole
			// transaction when a statement is interrupted, which would take the
			// other writes of the batch with it.
			tx := &Tx{s: s, db: db}
			r.tx = tx
			if len(batch) == 1 {
				errs[i] = s.runGuarded(r.fn, tx)
				if errs[i] != nil {
					return errs[i]
				}
				continue
			}
			sp := fmt.Sprintf("w%d", i)
			if err := db.SavePoint(sp).Error; err != nil {
				return err
			}
			if err := s.runGuarded(r.fn, tx); err != nil {
				errs[i] = err
				if rerr := db.RollbackTo(sp).Error; rerr != nil {
					return rerr
				}
			}
		}
		return nil
	})
	if commitErr == nil && s.syncCh != nil {
		// Relaxed writes hear back now; the batch still queues for its
		// fsync, so the writer never runs more than syncDepth batches
		// ahead of the disk.
		for i, r := range batch {
			if r.relaxed {
				r.done <- classify(errs[i])
			}
		}
		s.syncCh <- syncJob{batch: batch, errs: errs}
		return
	}
	for i, r := range batch {
		err := errs[i]
		if commitErr != nil && err == nil {
			err = commitErr
		}
		r.done <- classify(err)
	}
}

// runGuarded turns a panic inside a write function into an error for its
// caller, so one bad write cannot kill the writer everyone depends on.
func (s *Store) runGuarded(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in store write", "panic", p)
			err = fmt.Errorf("storage: panic in write: %v", p)
		}
	}()
	return fn(tx)
}

func isRetryable(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "40001") || strings.Contains(msg, "40P01") ||
		strings.Contains(msg, "could not serialize") || strings.Contains(msg, "deadlock detected")
}

// classify marks database conditions a caller should answer temporarily.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrTemporary) {
		return err
	}
	msg := err.Error()
	if strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "bad connection") ||
		strings.Contains(msg, "57P01") || isRetryable(err) {
		return fmt.Errorf("%w: %w", ErrTemporary, err)
	}
	return err
}

func (s *Store) queueSignal() <-chan struct{} { return s.queueSig }

// signalQueue wakes a queue worker (after the commit that enqueued).
func (s *Store) signalQueue() {
	select {
	case s.queueSig <- struct{}{}:
	default:
	}
}

// readDB is the handle for queries outside a write.
func (s *Store) readDB(ctx context.Context) *gorm.DB { return s.read.WithContext(ctx) }
