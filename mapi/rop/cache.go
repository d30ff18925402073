package rop

import (
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/storage"
)

// derivedCache keeps the MAPI view of messages stored as MIME, so a client
// that lists, opens and streams one message derives it once. A stored row's
// MIME never changes (an edit makes a new row), so the message id is the
// key; entries are shared read-only and cloned by whoever changes them.
type derivedCache struct {
	mu       sync.Mutex
	max, cur int64
	ll       *list.List
	items    map[int64]*list.Element
}

type derivedEntry struct {
	id   int64
	msg  *oxcmail.Message
	size int64
}

func newDerivedCache(max int64) *derivedCache {
	return &derivedCache{max: max, ll: list.New(), items: map[int64]*list.Element{}}
}

func (c *derivedCache) get(id int64) *oxcmail.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[id]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*derivedEntry).msg
	}
	return nil
}

func (c *derivedCache) put(id int64, m *oxcmail.Message, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.max/4 {
		return // one huge message would evict everything else
	}
	if el, ok := c.items[id]; ok {
		c.ll.MoveToFront(el)
		return
	}
	c.items[id] = c.ll.PushFront(&derivedEntry{id: id, msg: m, size: size})
	c.cur += size
	for c.cur > c.max && c.ll.Len() > 0 {
		el := c.ll.Back()
		e := el.Value.(*derivedEntry)
		c.ll.Remove(el)
		delete(c.items, e.id)
		c.cur -= e.size
	}
}

// namedMap caches an account's named-property map; ids never change once
// given, so entries never go stale.
type namedMap struct {
	mu     sync.Mutex
	byName map[mp.PropertyName]uint16
	byID   map[uint16]mp.PropertyName
}

func (s *Server) namedOf(accountID int64) *namedMap {
	s.namedMu.Lock()
	defer s.namedMu.Unlock()
	nm := s.named[accountID]
	if nm == nil {
		nm = &namedMap{byName: map[mp.PropertyName]uint16{}, byID: map[uint16]mp.PropertyName{}}
		s.named[accountID] = nm
	}
	return nm
}

func guidString(g mp.GUID) string {
	return strings.ToLower(strings.Trim(g.String(), "{}"))
}

func toStorageName(n mp.PropertyName) storage.PropertyName {
	return storage.PropertyName{GUID: guidString(n.GUID), IsLID: n.Kind == mp.KindLID, LID: n.LID, Name: n.Name}
}

func fromStorageName(n storage.PropertyName) (mp.PropertyName, bool) {
	g, err := mp.ParseGUID(n.GUID)
	if err != nil {
		return mp.PropertyName{}, false
	}
	if n.IsLID {
		return mp.LIDName(g, n.LID), true
	}
	return mp.StringName(g, n.Name), true
}

// maxNameLen bounds a string property name (MS-OXCDATA 2.6.1: NameSize is
// a byte, so 127 UTF-16 characters after the terminator).
const maxNameLen = 127

// namedIDs maps property names to the account's property ids: PS_MAPI
// names are the tag with that LID (MAPI.md §6.4); others come from the
// store, created when create is set. Unmapped names get 0.
func (s *Server) namedIDs(ctx context.Context, accountID int64, names []mp.PropertyName, create bool) ([]uint16, error) {
	ids := make([]uint16, len(names))
	nm := s.namedOf(accountID)
	var missIdx []int
	var miss []storage.PropertyName
	nm.mu.Lock()
	for i, n := range names {
		switch {
		case n.Kind == mp.KindLID && n.GUID == mp.PS_MAPI:
			if n.LID < 0x8000 {
				ids[i] = uint16(n.LID)
			}
			continue
		case n.Kind != mp.KindLID && n.Kind != mp.KindName,
			n.Kind == mp.KindName && (n.Name == "" || len([]rune(n.Name)) > maxNameLen):
			continue
		}
		if id, ok := nm.byName[n]; ok {
			ids[i] = id
			continue
		}
		missIdx = append(missIdx, i)
		miss = append(miss, toStorageName(n))
	}
	nm.mu.Unlock()
	if len(miss) == 0 {
		return ids, nil
	}
	got, err := s.store.NamedPropIDs(ctx, accountID, miss, create)
	if err != nil {
		return nil, fmt.Errorf("rop: named property ids: %w", err)
	}
	nm.mu.Lock()
	defer nm.mu.Unlock()
	for j, i := range missIdx {
		if got[j] >= 0x8000 {
			ids[i] = got[j]
			nm.byName[names[i]] = got[j]
			nm.byID[got[j]] = names[i]
		}
	}
	return ids, nil
}

// namesOf maps property ids back to names; ok[i] is false for an id with
// no name.
func (s *Server) namesOf(ctx context.Context, accountID int64, ids []uint16) ([]mp.PropertyName, []bool, error) {
	names := make([]mp.PropertyName, len(ids))
	ok := make([]bool, len(ids))
	nm := s.namedOf(accountID)
	var missIdx []int
	var miss []uint16
	nm.mu.Lock()
	for i, id := range ids {
		if id < 0x8000 {
			names[i], ok[i] = mp.LIDName(mp.PS_MAPI, uint32(id)), true
			continue
		}
		if n, found := nm.byID[id]; found {
			names[i], ok[i] = n, true
			continue
		}
		missIdx = append(missIdx, i)
		miss = append(miss, id)
	}
	nm.mu.Unlock()
	if len(miss) == 0 {
		return names, ok, nil
	}
	got, found, err := s.store.NamesFromIDs(ctx, accountID, miss)
	if err != nil {
		return nil, nil, fmt.Errorf("rop: named property names: %w", err)
	}
	nm.mu.Lock()
	defer nm.mu.Unlock()
	for j, i := range missIdx {
		if !found[j] {
			continue
		}
		n, valid := fromStorageName(got[j])
		if !valid {
			continue
		}
		names[i], ok[i] = n, true
		nm.byID[miss[j]] = n
		nm.byName[n] = miss[j]
	}
	return names, ok, nil
}

// namedProps is oxcmail.NamedProps over the account's map.
type namedProps struct {
	srv       *Server
	accountID int64
}

func (n namedProps) IDs(ctx context.Context, names []mp.PropertyName, create bool) ([]uint16, error) {
	return n.srv.namedIDs(ctx, n.accountID, names, create)
}

// addressBook is oxcmail.AddressBook over the directory: the
// organisation's own users get their permanent address-book entry id.
type addressBook struct {
	srv *Server

	mu    sync.Mutex
	cache map[string]abEntry
}

type abEntry struct {
	eid []byte
	at  time.Time
}

const (
	abCacheTTL  = 5 * time.Minute
	abCacheSize = 4096
)

func (ab *addressBook) EntryID(ctx context.Context, address string) ([]byte, uint32, bool) {
	if ab.srv.opts.Directory == nil || address == "" {
		return nil, 0, false
	}
	key := directory.NormalizeAddress(address)
	ab.mu.Lock()
	if e, ok := ab.cache[key]; ok && time.Since(e.at) < abCacheTTL {
		ab.mu.Unlock()
		return e.eid, mp.DisplayTypeMailUser, e.eid != nil
	}
	ab.mu.Unlock()
	res, err := ab.srv.opts.Directory.Resolve(ctx, key)
	if err != nil {
		return nil, 0, false // a one-off entry id is always a valid fallback
	}
	var eid []byte
	if res.Kind == directory.KindAccount && len(res.Accounts) == 1 {
		a := res.Accounts[0]
		eid = mp.AddressBookEntryID{DisplayType: mp.DisplayTypeMailUser, X500DN: ab.srv.opts.LegacyDN(&a)}.Bytes()
	}
	ab.mu.Lock()
	if len(ab.cache) >= abCacheSize {
		clear(ab.cache)
	}
	ab.cache[key] = abEntry{eid: eid, at: time.Now()}
	ab.mu.Unlock()
	return eid, mp.DisplayTypeMailUser, eid != nil
}
