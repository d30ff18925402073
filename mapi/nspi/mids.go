package nspi

import (
	"strings"
	"sync"
	"time"

	"github.com/pochta/pochta/directory"
)

// MIds: the first ones are reserved for the positions and ANR results of
// MS-OXNSPI 2.2.1.8-2.2.1.9 (gromox keeps the first 16), MIds name
// objects from 0x10 up and stay below 0x80000000.
const (
	groupsContainerMId uint32 = 0x10
	firstEntryMId      uint32 = 0x11
	maxMId             uint32 = 0x7FFFFFFF
)

// abObject is one address book entry with a MId: a snapshot of its
// directory entry, refreshed whenever a listing shows it again.
type abObject struct {
	mid   uint32
	entry directory.Entry
	seen  time.Time
}

// midTable assigns MIds to entries by address for the life of a Server,
// so a MId means the same entry in every session (MS-OXNSPI 2.2.9.1 only
// asks for a session; longer is allowed and cheaper).
type midTable struct {
	now func() time.Time

	mu     sync.RWMutex
	byAddr map[string]*abObject
	byMId  []*abObject // index mid-firstEntryMId
}

func newMIdTable(now func() time.Time) *midTable {
	return &midTable{now: now, byAddr: map[string]*abObject{}}
}

// assign returns the MId of e, assigning one on first sight, and stores e
// as the entry's latest snapshot. Entries without an address get 0.
func (t *midTable) assign(e directory.Entry) uint32 {
	key := strings.ToLower(e.Address)
	if key == "" {
		return 0
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if o, ok := t.byAddr[key]; ok {
		o.entry, o.seen = e, now
		return o.mid
	}
	next := firstEntryMId + uint32(len(t.byMId))
	if next > maxMId {
		return 0 // 2^31 entries: never in practice
	}
	o := &abObject{mid: next, entry: e, seen: now}
	t.byAddr[key] = o
	t.byMId = append(t.byMId, o)
	return next
}

// lookup returns a copy of the object with a MId.
func (t *midTable) lookup(mid uint32) (abObject, bool) {
	if mid < firstEntryMId {
		return abObject{}, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	i := int(mid - firstEntryMId)
	if i >= len(t.byMId) {
		return abObject{}, false
	}
	return *t.byMId[i], true
}

// byAddress returns the MId of an address, if one was assigned.
func (t *midTable) byAddress(addr string) (uint32, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	o, ok := t.byAddr[strings.ToLower(addr)]
	if !ok {
		return 0, false
	}
	return o.mid, true
}

// len is the number of MIds assigned.
func (t *midTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byMId)
}
