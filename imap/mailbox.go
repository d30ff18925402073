package imap

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// Sequence numbers (RFC 9051 §2.3.1.2) are per client: a client learns of
// new messages only through EXISTS and of removed ones only through
// EXPUNGE, and both may be sent only at certain points. So each folder that
// some session has selected has one mailbox: the folder's messages in UID
// order as the store has them now (msgs), fed by the store's change feed.
// Each selecting session has a view of it: what its client has been told.
//
// A view is small, because UIDs only ever grow: the client knows every
// message of msgs up to knownMax (the highest UID announced to it), plus
// ghosts, the messages it still believes exist although they are gone
// (until their EXPUNGE is sent). Its sequence numbers are the positions in
// the merge of the two; flushing a view (at the end of a command, or during
// IDLE) sends the EXPUNGEs for the ghosts, one EXISTS for everything above
// knownMax, and FETCH FLAGS for the messages whose flags others changed.
// This is go-imap's MailboxTracker idea, reworked: that tracker cannot say
// what "*" is in a client's view and mis-numbers EXISTS jumps of more than
// one (its own TODO), and both matter here.
//
// A session applies its own writes (STORE, EXPUNGE, MOVE) to the mailbox
// as soon as the store has committed them, so the other views learn of
// them at once and its own does not hear of its flag changes twice; the
// feed's copies of the same changes are recognised and ignored (a flag
// change by its change number, an expunge because the message is gone,
// an addition because its UID is not above the last one seen).

type mailboxKey struct{ account, folder int64 }

// msgMeta is what a mailbox keeps of a message.
type msgMeta struct {
	id       int64
	uid      uint32
	flags    storage.Flags
	modseq   int64
	size     int64
	keywords string
}

type mailbox struct {
	srv *Server
	key mailboxKey

	refs    int // guarded by srv.mu
	ready   chan struct{}
	loadErr error
	sub     *storage.Subscription
	quit    chan struct{}
	done    chan struct{}

	// syncMu makes syncs one at a time; needNew survives a failed read.
	syncMu  sync.Mutex
	needNew bool

	mu       sync.Mutex // guards the fields below and every view's fields
	msgs     []msgMeta  // UID order
	lastUID  uint32     // highest UID ever loaded
	views    map[*view]struct{}
	keywords map[string]struct{}
	kwGen    int // bumped when keywords grows
	deleted  bool
}

// view is one session's picture of a mailbox. Its fields are guarded by
// the mailbox's mu.
type view struct {
	mb           *mailbox
	knownMax     uint32
	ghosts       []uint32 // sorted UIDs
	pendingFlags map[uint32]struct{}
	kwGen        int
	notify       chan struct{} // has a value when there is something to flush
}

// openMailbox returns the folder's shared mailbox, loading it on first use.
// Call release when done.
func (s *Server) openMailbox(ctx context.Context, account, folder int64) (*mailbox, error) {
	key := mailboxKey{account, folder}
	s.mu.Lock()
	mb := s.mailboxes[key]
	if mb != nil {
		mb.refs++
		s.mu.Unlock()
		select {
		case <-mb.ready:
		case <-ctx.Done():
			mb.release()
			return nil, ctx.Err()
		}
		if mb.loadErr != nil {
			mb.release()
			return nil, mb.loadErr
		}
		return mb, nil
	}
	mb = &mailbox{
		srv: s, key: key, refs: 1, ready: make(chan struct{}),
		quit: make(chan struct{}), done: make(chan struct{}),
		views: map[*view]struct{}{}, keywords: map[string]struct{}{},
	}
	s.mailboxes[key] = mb
	s.mu.Unlock()

	// Subscribe before reading, so nothing committed in between is missed;
	// what the read already shows is recognised and ignored.
	mb.sub = s.store.Subscribe(account)
	metas, err := s.store.FolderMetaAfter(ctx, account, folder, 0)
	if err != nil {
		mb.loadErr = err
		mb.sub.Close()
		close(mb.done)
		s.mu.Lock()
		if s.mailboxes[key] == mb {
			delete(s.mailboxes, key)
		}
		s.mu.Unlock()
		close(mb.ready)
		mb.release()
		return nil, err
	}
	mb.msgs = make([]msgMeta, 0, len(metas)+16)
	for _, m := range metas {
		mb.appendLocked(m)
	}
	close(mb.ready)
	go mb.run()
	return mb, nil
}

// mailboxLinger is how long a mailbox nobody has selected stays loaded
// (and fed): clients that SELECT the same folder again and again, or
// reconnect, then do not reload it each time.
const mailboxLinger = 30 * time.Second

// release drops a reference; a mailbox without any is stopped after
// mailboxLinger unless someone selects it again.
func (mb *mailbox) release() {
	s := mb.srv
	s.mu.Lock()
	mb.refs--
	last := mb.refs == 0
	linger := s.linger
	if last && mb.loadErr != nil && s.mailboxes[mb.key] == mb {
		delete(s.mailboxes, mb.key)
	}
	s.mu.Unlock()
	if !last || mb.loadErr != nil {
		return
	}
	time.AfterFunc(linger, func() {
		s.mu.Lock()
		idle := mb.refs == 0 && s.mailboxes[mb.key] == mb
		if idle {
			delete(s.mailboxes, mb.key)
		}
		s.mu.Unlock()
		if idle {
			mb.stop()
		}
	})
}

// stop ends the feed goroutine (idempotent).
func (mb *mailbox) stop() {
	select {
	case <-mb.ready:
	default:
		return
	}
	if mb.loadErr != nil {
		return
	}
	mb.mu.Lock()
	select {
	case <-mb.quit:
	default:
		close(mb.quit)
	}
	mb.mu.Unlock()
	<-mb.done
}

// run applies the feed as it comes, so IDLE clients hear at once.
func (mb *mailbox) run() {
	defer close(mb.done)
	defer mb.sub.Close()
	defer mb.srv.opts.Metrics.Recover(mb.srv.log, obs.DoorIMAP)
	for {
		select {
		case <-mb.quit:
			return
		case <-mb.sub.Notify():
			mb.sync(mb.srv.baseCtx)
		}
	}
}

// sync applies what the feed has published: expunges, new messages (read
// from the store above the last UID seen), flag changes, the folder's
// deletion. Safe to call from any goroutine.
func (mb *mailbox) sync(ctx context.Context) {
	mb.syncMu.Lock()
	defer mb.syncMu.Unlock()
	changes, overflow := mb.sub.Take()
	if overflow {
		mb.resync(ctx)
		return
	}
	var expunged []uint32
	var flagChanges []storage.Change
	deleted := false
	for _, c := range changes {
		if c.FolderID != mb.key.folder {
			continue
		}
		switch c.Kind {
		case storage.MessageAdded:
			mb.needNew = true
		case storage.MessageExpunged:
			expunged = append(expunged, c.UID)
		case storage.MessageFlagsChanged:
			flagChanges = append(flagChanges, c)
		case storage.FolderDeleted:
			deleted = true
		}
	}
	var added []storage.MessageMeta
	if mb.needNew {
		mb.mu.Lock()
		after := mb.lastUID
		mb.mu.Unlock()
		var err error
		added, err = mb.srv.store.FolderMetaAfter(ctx, mb.key.account, mb.key.folder, after)
		if err != nil {
			mb.srv.log.Warn("reading new messages", "folder", mb.key.folder, "err", err)
		} else {
			mb.needNew = false
		}
	}
	if len(expunged) == 0 && len(added) == 0 && len(flagChanges) == 0 && !deleted {
		return
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.removeLocked(expunged)
	for _, m := range added {
		mb.appendLocked(m)
	}
	for _, c := range flagChanges {
		mb.setFlagsLocked(c.UID, c.Flags, strings.Join(c.Keywords, " "), c.ChangeNum, nil)
	}
	if deleted {
		mb.deleted = true
	}
	mb.notifyLocked(nil)
}

// resync rebuilds the mailbox from the store after the feed dropped
// changes: what is gone is expunged, what is new is added, flags are
// compared.
func (mb *mailbox) resync(ctx context.Context) {
	metas, err := mb.srv.store.FolderMetaAfter(ctx, mb.key.account, mb.key.folder, 0)
	if err != nil {
		mb.srv.log.Warn("resynchronising a mailbox", "folder", mb.key.folder, "err", err)
		mb.needNew = true
		return
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	present := make(map[uint32]*storage.MessageMeta, len(metas))
	for i := range metas {
		present[metas[i].UID] = &metas[i]
	}
	var gone []uint32
	for _, m := range mb.msgs {
		if present[m.uid] == nil {
			gone = append(gone, m.uid)
		}
	}
	mb.removeLocked(gone)
	for i := range metas {
		m := &metas[i]
		if m.UID > mb.lastUID {
			mb.appendLocked(*m)
			continue
		}
		mb.setFlagsLocked(m.UID, m.Flags, m.Keywords, m.ChangeNum, nil)
	}
	mb.notifyLocked(nil)
}

// appendLocked adds a message above the last UID (anything else would
// renumber what clients were told, and cannot happen: UIDs are taken in
// commit order).
func (mb *mailbox) appendLocked(m storage.MessageMeta) {
	if m.UID <= mb.lastUID {
		return
	}
	mb.msgs = append(mb.msgs, msgMeta{id: m.ID, uid: m.UID, flags: m.Flags, modseq: m.ChangeNum, size: m.Size, keywords: m.Keywords})
	mb.lastUID = m.UID
	mb.addKeywordsLocked(m.Keywords)
}

func (mb *mailbox) addKeywordsLocked(kws string) {
	for _, k := range strings.Fields(kws) {
		if _, ok := mb.keywords[k]; !ok {
			mb.keywords[k] = struct{}{}
			mb.kwGen++
		}
	}
}

// index returns the position of uid in msgs.
func (mb *mailbox) index(uid uint32) (int, bool) {
	i := sort.Search(len(mb.msgs), func(i int) bool { return mb.msgs[i].uid >= uid })
	return i, i < len(mb.msgs) && mb.msgs[i].uid == uid
}

// removeLocked drops messages; views that knew them keep them as ghosts
// until their EXPUNGE is sent.
func (mb *mailbox) removeLocked(uids []uint32) {
	if len(uids) == 0 {
		return
	}
	gone := make(map[uint32]struct{}, len(uids))
	for _, u := range uids {
		if _, ok := mb.index(u); ok {
			gone[u] = struct{}{}
		}
	}
	if len(gone) == 0 {
		return
	}
	kept := mb.msgs[:0]
	for _, m := range mb.msgs {
		if _, ok := gone[m.uid]; !ok {
			kept = append(kept, m)
		}
	}
	clear(mb.msgs[len(kept):])
	mb.msgs = kept
	for v := range mb.views {
		for u := range gone {
			if u <= v.knownMax {
				i, _ := slices.BinarySearch(v.ghosts, u)
				v.ghosts = slices.Insert(v.ghosts, i, u)
			}
			delete(v.pendingFlags, u)
		}
	}
}

// setFlagsLocked records a message's flags at change number modseq unless
// it already has a later state; views other than source are told.
func (mb *mailbox) setFlagsLocked(uid uint32, flags storage.Flags, keywords string, modseq int64, source *view) {
	i, ok := mb.index(uid)
	if !ok || modseq <= mb.msgs[i].modseq {
		return
	}
	m := &mb.msgs[i]
	if m.flags == flags && m.keywords == keywords {
		m.modseq = modseq
		return
	}
	m.flags, m.keywords, m.modseq = flags, keywords, modseq
	mb.addKeywordsLocked(keywords)
	for v := range mb.views {
		if v != source && uid <= v.knownMax {
			if v.pendingFlags == nil {
				v.pendingFlags = map[uint32]struct{}{}
			}
			v.pendingFlags[uid] = struct{}{}
		}
	}
}

// notifyLocked wakes views with something to flush (IDLE).
func (mb *mailbox) notifyLocked(except *view) {
	var top uint32
	if n := len(mb.msgs); n > 0 {
		top = mb.msgs[n-1].uid
	}
	for v := range mb.views {
		if v == except {
			continue
		}
		if len(v.ghosts) > 0 || len(v.pendingFlags) > 0 || top > v.knownMax || v.kwGen != mb.kwGen || mb.deleted {
			select {
			case v.notify <- struct{}{}:
			default:
			}
		}
	}
}

// applyFlags records a session's own STORE (or implicit \Seen) result.
func (mb *mailbox) applyFlags(updates []storage.FlagUpdate, source *view) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for _, u := range updates {
		if u.Skipped {
			continue
		}
		mb.setFlagsLocked(u.UID, u.Flags, strings.Join(u.Keywords, " "), u.ChangeNum, source)
	}
	mb.notifyLocked(source)
}

// applyExpunged records a session's own EXPUNGE or MOVE; its own view gets
// the ghosts too, so the EXPUNGE responses go out when go-imap polls after
// the command.
func (mb *mailbox) applyExpunged(removed []storage.Expunged) {
	uids := make([]uint32, len(removed))
	for i, e := range removed {
		uids[i] = e.UID
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.removeLocked(uids)
	mb.notifyLocked(nil)
}

// newView makes a view that knows every message now in the mailbox.
func (mb *mailbox) newView() *view {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	v := &view{mb: mb, knownMax: mb.lastUID, kwGen: mb.kwGen, notify: make(chan struct{}, 1)}
	mb.views[v] = struct{}{}
	return v
}

func (v *view) close() {
	v.mb.mu.Lock()
	delete(v.mb.views, v)
	v.mb.mu.Unlock()
}

// knownLocked is how many messages of msgs the client knows (a prefix).
func (v *view) knownLocked() int {
	msgs := v.mb.msgs
	return sort.Search(len(msgs), func(i int) bool { return msgs[i].uid > v.knownMax })
}

// countLocked is the number of messages in the client's view.
func (v *view) countLocked() uint32 {
	return uint32(v.knownLocked() + len(v.ghosts))
}

// ghostsBelow counts ghosts with a UID below uid.
func (v *view) ghostsBelow(uid uint32) int {
	i, _ := slices.BinarySearch(v.ghosts, uid)
	return i
}

// seqOfIndex is the client sequence number of msgs[i] (i < knownLocked).
func (v *view) seqOfIndex(i int) uint32 {
	return uint32(i + 1 + v.ghostsBelow(v.mb.msgs[i].uid))
}

// maxUIDLocked is "*" of a UID set: the highest UID in the client's view.
func (v *view) maxUIDLocked() uint32 {
	var top uint32
	if k := v.knownLocked(); k > 0 {
		top = v.mb.msgs[k-1].uid
	}
	if n := len(v.ghosts); n > 0 && v.ghosts[n-1] > top {
		top = v.ghosts[n-1]
	}
	return top
}

// target is a message a command addresses, with its client sequence number.
type target struct {
	seq uint32
	msgMeta
}

// resolveLocked lists the existing messages a sequence or UID set names in
// the client's view, in sequence order without duplicates. Ghosts are
// skipped: their messages are gone (RFC 9051 §7.5.1 lets a server omit
// them). UIDs above knownMax are not in the view yet.
func (v *view) resolveLocked(set imap.NumSet) []target {
	known := v.knownLocked()
	msgs := v.mb.msgs
	var out []target
	switch set := set.(type) {
	case imap.SeqSet:
		count := uint32(known + len(v.ghosts))
		for _, r := range set {
			lo, hi := staticRange(r.Start, r.Stop, count)
			if lo == 0 {
				lo = 1
			}
			hi = min(hi, count)
			if lo > hi {
				continue
			}
			// First message whose sequence number is at least lo.
			i := sort.Search(known, func(i int) bool { return v.seqOfIndex(i) >= lo })
			for ; i < known; i++ {
				seq := v.seqOfIndex(i)
				if seq > hi {
					break
				}
				out = append(out, target{seq: seq, msgMeta: msgs[i]})
			}
		}
	case imap.UIDSet:
		top := v.maxUIDLocked()
		for _, r := range set {
			lo, hi := staticRange(uint32(r.Start), uint32(r.Stop), top)
			hi = min(hi, v.knownMax)
			i := sort.Search(known, func(i int) bool { return msgs[i].uid >= lo })
			for ; i < known && msgs[i].uid <= hi; i++ {
				out = append(out, target{seq: v.seqOfIndex(i), msgMeta: msgs[i]})
			}
		}
	}
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b target) int { return int(a.seq) - int(b.seq) })
		out = slices.CompactFunc(out, func(a, b target) bool { return a.seq == b.seq })
	}
	return out
}

// staticRange resolves "*" (0) to max and orders the ends (RFC 9051 §9:
// "n:m" and "m:n" are the same range).
func staticRange(start, stop, max uint32) (uint32, uint32) {
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if start > stop {
		start, stop = stop, start
	}
	return start, stop
}

// update is one untagged response a flush produces.
type update struct {
	kind   int // updExpunge, updExists, updFlags, updMailboxFlags
	seq    uint32
	uid    uint32
	flags  []imap.Flag
	exists uint32
}

const (
	updExpunge = iota
	updExists
	updFlags
	updMailboxFlags
)

// flushLocked brings the client's view up to date and returns the
// responses that tell it so, in the order they must be written:
// EXPUNGEs (highest first, so each number is right when it is read), then
// FLAGS for new keywords, one EXISTS, and the flag changes. Without
// allowExpunge (during FETCH, STORE, SEARCH) ghosts stay and are counted.
func (v *view) flushLocked(allowExpunge bool) []update {
	mb := v.mb
	var out []update
	if allowExpunge && len(v.ghosts) > 0 {
		for j := len(v.ghosts) - 1; j >= 0; j-- {
			g := v.ghosts[j]
			below := sort.Search(len(mb.msgs), func(i int) bool { return mb.msgs[i].uid >= g })
			out = append(out, update{kind: updExpunge, seq: uint32(j + 1 + below)})
		}
		v.ghosts = v.ghosts[:0]
	}
	if v.kwGen != mb.kwGen {
		v.kwGen = mb.kwGen
		out = append(out, update{kind: updMailboxFlags, flags: mailboxFlags(mb.keywords)})
	}
	if n := len(mb.msgs); n > 0 && mb.msgs[n-1].uid > v.knownMax {
		v.knownMax = mb.msgs[n-1].uid
		out = append(out, update{kind: updExists, exists: v.countLocked()})
	}
	if len(v.pendingFlags) > 0 {
		start := len(out)
		for uid := range v.pendingFlags {
			i, ok := mb.index(uid)
			if !ok || uid > v.knownMax {
				continue
			}
			m := mb.msgs[i]
			out = append(out, update{kind: updFlags, seq: v.seqOfIndex(i), uid: uid, flags: imapFlags(m.flags, m.keywords)})
		}
		slices.SortFunc(out[start:], func(a, b update) int { return int(a.seq) - int(b.seq) })
		clear(v.pendingFlags)
	}
	return out
}

// writeUpdates sends what flushLocked produced, outside the lock.
func writeUpdates(w *imapserver.UpdateWriter, ups []update) error {
	for _, u := range ups {
		var err error
		switch u.kind {
		case updExpunge:
			err = w.WriteExpunge(u.seq)
		case updExists:
			err = w.WriteNumMessages(u.exists)
		case updFlags:
			err = w.WriteMessageFlags(u.seq, imap.UID(u.uid), u.flags)
		case updMailboxFlags:
			err = w.WriteMailboxFlags(u.flags)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
