package rop

import (
	"context"
	"slices"
	"sync"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/storage"
)

// Notifications (MS-OXCNOTIF). A session follows the store's change feed
// while it holds a subscription object (RopRegisterNotification) or a
// contents or hierarchy table that wants notifications. Changes that
// concern what it watches are queued; NotificationWait (through
// WaitEvents) wakes on them, and the next Execute turns them into RopNotify
// responses after its own, with RopPending when some did not fit
// (MS-OXCNOTIF 3.1.5.1, 3.2.5.2).

// maxQueuedChanges bounds the queue of a session nobody collects; past it
// the tables are told to reload instead (TableChanged).
const maxQueuedChanges = 10000

// notifier is a session's notification state. Its mutex is taken after
// Session.mu (never the other way), so WaitEvents runs beside an Execute.
type notifier struct {
	mu  sync.Mutex
	sub *storage.Subscription
	// interest is what the session watches, refreshed after every Execute.
	interest interest
	queue    []storage.Change
	// overflow: changes were dropped; every table gets TableChanged.
	overflow bool
	// changed wakes WaitEvents when the subscription or the queue changed
	// outside it.
	changed chan struct{}
	// folderGC maps storage folder ids to GlobCnts (FIDs), remembered so a
	// deleted folder can still be named.
	folderGC map[int64]int64
	// subFolder caches the storage folder a folder subscription names.
	subFolder map[*subscriptionObj]int64
}

// interest is what the session's subscriptions and tables watch.
type interest struct {
	any        bool
	wholeStore bool
	hierarchy  bool // folder events matter
	folders    map[int64]bool
}

func (in *interest) wants(c storage.Change) bool {
	if !in.any {
		return false
	}
	if in.wholeStore || in.hierarchy {
		// A hierarchy table shows every folder's counts.
		return true
	}
	switch c.Kind {
	case storage.FolderCreated, storage.FolderDeleted, storage.FolderRenamed, storage.FolderUpdated:
		return in.hierarchy || in.folders[c.FolderID] || in.folders[c.ParentID]
	}
	// A copy or move also concerns the folder it came from (ObjectMoved,
	// ObjectCopied).
	return in.folders[c.FolderID] || (c.SourceFolderID != 0 && in.folders[c.SourceFolderID])
}

func newNotifier() *notifier {
	return &notifier{changed: make(chan struct{}, 1), folderGC: map[int64]int64{}, subFolder: map[*subscriptionObj]int64{}}
}

func (n *notifier) wake() {
	select {
	case n.changed <- struct{}{}:
	default:
	}
}

// pullLocked moves the subscription's relevant changes into the queue.
// n.mu is held.
func (n *notifier) pullLocked() {
	if n.sub == nil {
		return
	}
	changes, overflow := n.sub.Take()
	if overflow {
		n.overflow = true
	}
	for _, c := range changes {
		if n.interest.wants(c) {
			n.queue = append(n.queue, c)
		}
	}
	if len(n.queue) > maxQueuedChanges {
		n.queue, n.overflow = nil, true
	}
}

func (n *notifier) pendingLocked() bool { return len(n.queue) > 0 || n.overflow }

// WaitEvents blocks until notifications are queued for the session (true)
// or ctx ends (false); the transport's NotificationWait calls it
// (MS-OXCMAPIHTTP 2.2.4.4).
func (s *Session) WaitEvents(ctx context.Context) bool {
	n := s.notif
	for {
		n.mu.Lock()
		n.pullLocked()
		if n.pendingLocked() {
			n.mu.Unlock()
			return true
		}
		var feed <-chan struct{}
		if n.sub != nil {
			feed = n.sub.Notify()
		}
		n.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-feed:
		case <-n.changed:
		}
	}
}

// closeNotifications ends the session's feed subscription (Close).
func (s *Session) closeNotifications() {
	n := s.notif
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sub != nil {
		n.sub.Close()
		n.sub = nil
	}
	n.queue, n.overflow = nil, false
	n.wake()
}

// wantsNotifications reports whether a table sends table notifications
// (MS-OXCFOLD 2.2.1.14.1: NoNotifications).
func (t *tableObj) wantsNotifications() bool {
	if t.flags&TableFlagNoNotifications != 0 {
		return false
	}
	return t.kind == tableContents || t.kind == tableHierarchy
}

// refreshInterest recomputes what the session watches from its objects,
// and subscribes to or leaves the change feed. s.mu is held.
func (s *Session) refreshInterest(ctx context.Context) {
	n := s.notif
	in := interest{folders: map[int64]bool{}}
	var subs []*subscriptionObj
	for _, e := range s.objects {
		switch o := e.obj.(type) {
		case *subscriptionObj:
			in.any = true
			if o.wholeStre {
				in.wholeStore = true
				continue
			}
			subs = append(subs, o)
		case *tableObj:
			if !o.wantsNotifications() {
				continue
			}
			in.any = true
			switch o.kind {
			case tableHierarchy:
				in.hierarchy = true
			case tableContents:
				in.folders[o.folderID] = true
			}
			n.rememberFolder(o.folderID, o.folderGC)
		case *folderObj:
			n.rememberFolder(o.id, o.globCnt)
		}
	}
	for _, sub := range subs {
		id, ok := s.subscriptionFolder(ctx, sub)
		if ok {
			in.folders[id] = true
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for sub := range n.subFolder {
		if !slices.Contains(subs, sub) {
			delete(n.subFolder, sub)
		}
	}
	n.interest = in
	switch {
	case in.any && n.sub == nil:
		n.sub = s.srv.store.Subscribe(s.mbox.accountID)
		n.wake()
	case !in.any && n.sub != nil:
		n.sub.Close()
		n.sub, n.queue, n.overflow = nil, nil, false
		n.wake()
	}
}

func (n *notifier) rememberFolder(id, gc int64) {
	n.mu.Lock()
	n.folderGC[id] = gc
	n.mu.Unlock()
}

// subscriptionFolder resolves the folder a folder subscription names.
func (s *Session) subscriptionFolder(ctx context.Context, sub *subscriptionObj) (int64, bool) {
	n := s.notif
	n.mu.Lock()
	id, ok := n.subFolder[sub]
	n.mu.Unlock()
	if ok {
		return id, id != 0
	}
	gc, ok := globCntOf(sub.folderID)
	if ok {
		if f, err := s.srv.store.FolderByGlobCnt(ctx, s.mbox.accountID, gc); err == nil {
			id = f.ID
			n.rememberFolder(f.ID, f.GlobCnt)
		}
	}
	n.mu.Lock()
	n.subFolder[sub] = id // 0: unknown folder, watched for nothing
	n.mu.Unlock()
	return id, id != 0
}

// fidOf returns the FID of a storage folder.
func (s *Session) fidOf(ctx context.Context, folderID int64) (mp.ID, bool) {
	n := s.notif
	n.mu.Lock()
	gc, ok := n.folderGC[folderID]
	n.mu.Unlock()
	if ok {
		return makeID(gc), true
	}
	f, err := s.srv.store.Folder(ctx, s.mbox.accountID, folderID)
	if err != nil {
		return 0, false
	}
	n.rememberFolder(f.ID, f.GlobCnt)
	return makeID(f.GlobCnt), true
}

// takeQueue returns the queued changes and whether any were dropped.
func (n *notifier) takeQueue() ([]storage.Change, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.pullLocked()
	q, o := n.queue, n.overflow
	n.queue, n.overflow = nil, false
	return q, o
}

// requeue puts back changes that did not fit in a response, ahead of
// newer ones.
func (n *notifier) requeue(changes []storage.Change, overflow bool) {
	if len(changes) == 0 && !overflow {
		return
	}
	n.mu.Lock()
	n.queue = append(slices.Clone(changes), n.queue...)
	n.overflow = n.overflow || overflow
	n.mu.Unlock()
}
