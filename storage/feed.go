package storage

import (
	"sync"
)

// ChangeKind says what a Change is about.
type ChangeKind int

const (
	MessageAdded ChangeKind = iota + 1
	MessageFlagsChanged
	MessageExpunged
	// MessageUpdated: properties or content of a message changed (MAPI).
	MessageUpdated
	FolderCreated
	FolderDeleted
	FolderRenamed
	// FolderUpdated: folder properties changed (not its contents).
	FolderUpdated
)

// Change is one committed change, published on the feed after its commit.
type Change struct {
	Kind      ChangeKind
	AccountID int64
	FolderID  int64
	// For message changes.
	MessageID int64
	UID       uint32
	GlobCnt   int64
	Flags     Flags
	Keywords  []string
	// ChangeNum is the change number (IMAP MODSEQ) the change took.
	ChangeNum int64
	// For folder renames/moves.
	Name     string
	ParentID int64

	// PrevFlags are the flags before a MessageFlagsChanged, and
	// KeywordsChanged says whether its keywords changed, so a listener can
	// tell what changed (MAPI's ObjectModified lists the properties).
	PrevFlags       Flags
	KeywordsChanged bool
	// For the MessageAdded of a copy or a move: the message it was made
	// from (a move's source is expunged by the time the change is read).
	// For a FolderRenamed: SourceFolderID is the folder's old parent, and
	// Moved says the parent changed.
	SourceFolderID  int64
	SourceMessageID int64
	SourceGlobCnt   int64
	// Moved marks both halves of a move: the MessageAdded in the
	// destination (with the source above) and the MessageExpunged in the
	// source, so a listener can tell a move from a create and a delete.
	Moved bool
}

// maxPending bounds what an inattentive subscriber may accumulate; past it
// the subscriber is told to resynchronise instead.
const maxPending = 100000

// Subscription receives the changes of one account. Notify fires when
// changes are pending; Take collects them.
type Subscription struct {
	account  int64
	f        *feed
	notify   chan struct{}
	mu       sync.Mutex
	pending  []Change
	overflow bool
	closed   bool
}

// Notify returns a channel that has a value whenever changes are pending.
func (sub *Subscription) Notify() <-chan struct{} { return sub.notify }

// Take returns and clears the pending changes. overflow is true when changes
// were dropped: the subscriber must resynchronise from the store.
func (sub *Subscription) Take() (changes []Change, overflow bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	changes, overflow = sub.pending, sub.overflow
	sub.pending, sub.overflow = nil, false
	return changes, overflow
}

// Close stops the subscription.
func (sub *Subscription) Close() {
	sub.f.remove(sub)
}

func (sub *Subscription) add(changes []Change) {
	sub.mu.Lock()
	if sub.closed {
		sub.mu.Unlock()
		return
	}
	if len(sub.pending)+len(changes) > maxPending {
		sub.pending, sub.overflow = nil, true
	} else {
		sub.pending = append(sub.pending, changes...)
	}
	sub.mu.Unlock()
	select {
	case sub.notify <- struct{}{}:
	default:
	}
}

type feed struct {
	mu   sync.RWMutex
	subs map[int64]map[*Subscription]struct{}
}

func newFeed() *feed { return &feed{subs: map[int64]map[*Subscription]struct{}{}} }

// Subscribe starts receiving the committed changes of one account.
func (s *Store) Subscribe(accountID int64) *Subscription {
	sub := &Subscription{account: accountID, f: s.feed, notify: make(chan struct{}, 1)}
	s.feed.mu.Lock()
	m := s.feed.subs[accountID]
	if m == nil {
		m = map[*Subscription]struct{}{}
		s.feed.subs[accountID] = m
	}
	m[sub] = struct{}{}
	s.feed.mu.Unlock()
	return sub
}

func (f *feed) remove(sub *Subscription) {
	f.mu.Lock()
	if m := f.subs[sub.account]; m != nil {
		delete(m, sub)
		if len(m) == 0 {
			delete(f.subs, sub.account)
		}
	}
	f.mu.Unlock()
	sub.mu.Lock()
	sub.closed, sub.pending = true, nil
	sub.mu.Unlock()
}

func (f *feed) publish(changes []Change) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	// Group by account, keeping order within each.
	start := 0
	for i := 1; i <= len(changes); i++ {
		if i == len(changes) || changes[i].AccountID != changes[start].AccountID {
			for sub := range f.subs[changes[start].AccountID] {
				sub.add(changes[start:i])
			}
			start = i
		}
	}
}
