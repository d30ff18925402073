package rop

import (
	"context"
	"fmt"
	"github.com/pochta/pochta/internal/obs"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/storage"
)

// The server side of the ROP layer: a Server holds what every session
// shares (the store, the directory, the derivation cache, the named
// property map), a Session is one EMSMDB session context with its logons
// and server objects. The handlers live in one file per MS-OX document:
// oxcstor.go (logon, store), oxcfold.go (folders), oxctabl.go (tables),
// oxcmsg.go (messages, attachments), oxcprpt.go (properties, streams,
// named properties), oxomsg.go (submission), oxorule.go (rules),
// oxcperm.go (permissions).

// Options configure a Server.
type Options struct {
	// Store is the mail store every session reads and writes.
	Store *storage.Store
	// Directory answers who is who (EX recipients, the address book
	// entry ids of the organisation's users).
	Directory directory.Directory
	// Deliverer submits mail (RopSubmitMessage, RopTransportSend).
	Deliverer *delivery.Deliverer
	// Logger receives the ROP layer's logs; nil discards them.
	Logger *slog.Logger
	// Hostname names this server: the right-hand side of generated
	// Message-IDs and the server in store entry ids. Default "localhost".
	Hostname string
	// LegacyDN builds an account's ESSDN, the one format used by
	// Autodiscover, Connect, RopLogon and the address book. Nil uses
	// DefaultLegacyDN.
	LegacyDN func(*directory.Account) string
	// AccountByLegacyDN maps an ESSDN back to its account: recipients
	// addressed by DN ("EX") at submission, and a logon naming another
	// user's mailbox (ecLoginPerm rather than ecUnknownUser). Nil: only the
	// session's own DN is known.
	AccountByLegacyDN func(ctx context.Context, dn string) (*directory.Account, error)
	// MaxObjects caps the server objects (handles) one session holds.
	// Default 32768, as gromox.
	MaxObjects int
	// DerivedCacheBytes bounds the memory of the cache of messages whose
	// MAPI properties were derived from their MIME. Default 64 MiB.
	DerivedCacheBytes int64
	// Metrics counts panics recovered in ROP processing
	// (pochta_panics_total{component="mapi"}); nil counts nothing.
	Metrics *obs.Metrics
}

// DefaultLegacyDN is the ESSDN format used when Options.LegacyDN is nil:
// the account id in hex and the local part of its address.
func DefaultLegacyDN(a *directory.Account) string {
	local, _, _ := strings.Cut(a.Address, "@")
	return fmt.Sprintf("/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=%x-%s", a.ID, local)
}

// defaultAccountByLegacyDN maps a DefaultLegacyDN back to its account.
func defaultAccountByLegacyDN(dir directory.Directory) func(ctx context.Context, dn string) (*directory.Account, error) {
	return func(ctx context.Context, dn string) (*directory.Account, error) {
		i := strings.LastIndex(strings.ToLower(dn), "/cn=")
		if i < 0 {
			return nil, directory.ErrNotFound
		}
		idHex, _, ok := strings.Cut(dn[i+4:], "-")
		if !ok {
			return nil, directory.ErrNotFound
		}
		id, err := strconv.ParseInt(idHex, 16, 64)
		if err != nil {
			return nil, directory.ErrNotFound
		}
		a, err := dir.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(DefaultLegacyDN(a), dn) {
			return nil, directory.ErrNotFound
		}
		return a, nil
	}
}

// Server answers the ROP buffers of every EMSMDB session.
type Server struct {
	opts    Options
	store   *storage.Store
	log     *slog.Logger
	derived *derivedCache
	ab      *addressBook
	// migrated is set once the store has the door's indexes.
	migrated atomic.Bool

	namedMu sync.Mutex
	named   map[int64]*namedMap // per account
}

// NewServer makes a Server.
func NewServer(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.LegacyDN == nil {
		opts.LegacyDN = DefaultLegacyDN
		if opts.AccountByLegacyDN == nil && opts.Directory != nil {
			opts.AccountByLegacyDN = defaultAccountByLegacyDN(opts.Directory)
		}
	}
	if opts.MaxObjects <= 0 {
		opts.MaxObjects = 32768
	}
	if opts.DerivedCacheBytes <= 0 {
		opts.DerivedCacheBytes = 64 << 20
	}
	s := &Server{
		opts:    opts,
		store:   opts.Store,
		log:     opts.Logger.With("component", "mapi/rop"),
		derived: newDerivedCache(opts.DerivedCacheBytes),
		named:   map[int64]*namedMap{},
	}
	s.ab = &addressBook{srv: s, cache: map[string]abEntry{}}
	return s
}

// mailbox is what a session knows of its mailbox.
type mailbox struct {
	accountID int64
	storeGUID mp.GUID // PidTagStoreRecordKey, the RopLogon MailboxGuid
	replGUID  mp.GUID // the REPLGUID of replica id 1
}

// NewSession is made per EMSMDB session context (at Connect), bound to the
// authenticated account. It creates the account's mailbox if it has none.
func (s *Server) NewSession(ctx context.Context, acc *directory.Account) (*Session, error) {
	if acc == nil {
		return nil, fmt.Errorf("rop: session without an account")
	}
	if !s.migrated.Load() {
		if err := s.store.MigrateMAPI(ctx); err != nil {
			s.log.Warn("creating the MAPI indexes (counts stay slow)", "err", err)
		} else {
			s.migrated.Store(true)
		}
	}
	if err := s.store.EnsureMailbox(ctx, acc.ID); err != nil {
		return nil, fmt.Errorf("rop: mailbox of account %d: %w", acc.ID, err)
	}
	mb, err := s.store.Mailbox(ctx, acc.ID)
	if err != nil {
		return nil, fmt.Errorf("rop: mailbox of account %d: %w", acc.ID, err)
	}
	storeGUID, err := mp.ParseGUID(mb.GUID)
	if err != nil {
		return nil, fmt.Errorf("rop: mailbox GUID: %w", err)
	}
	replGUID, err := mp.ParseGUID(mb.ReplicaGUID)
	if err != nil {
		return nil, fmt.Errorf("rop: replica GUID: %w", err)
	}
	a := *acc
	sess := &Session{
		srv:      s,
		acc:      &a,
		legacyDN: s.opts.LegacyDN(&a),
		mbox:     mailbox{accountID: acc.ID, storeGUID: storeGUID, replGUID: replGUID},
		objects:  map[uint32]*handleEntry{},
		counters: map[uint8]uint32{},
		logons:   map[uint8]uint32{},
		codePage: mp.CodePageWindows1252,
		log:      s.log.With("account", acc.ID),
		notif:    newNotifier(),
	}
	return sess, nil
}
