package mapi

import (
	"crypto/rand"
	"encoding/base64"
	"sort"
	"sync"
	"time"

	"github.com/pochta/pochta/directory"
)

// Cookie names of a session context (MS-OXCMAPIHTTP 4.2 names Exchange's;
// the names are opaque to clients). They are scoped to the endpoint's path
// so the EMSMDB and NSPI contexts do not overwrite each other in a
// client's cookie jar.
const (
	ContextCookie  = "MapiContext"
	SequenceCookie = "MapiSequence"
)

// tokenLen is the length of a context id or sequence value: 16 random
// bytes in unpadded base64url.
const tokenLen = 22

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validToken reports whether v has the form of a token this server makes;
// anything else is an invalid cookie (X-ResponseCode 6) rather than an
// unknown context.
func validToken(v string) bool {
	if len(v) != tokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// sessionContext is one session context of an endpoint.
type sessionContext struct {
	id        string
	accountID int64
	acc       *directory.Account
	info      ConnectInfo
	// done is closed when the context is destroyed; it wakes a held
	// NotificationWait.
	done chan struct{}

	// The ROP session, set by the Connect that made the context.
	ropMu     sync.Mutex
	rop       ROPSession
	ropClosed bool

	// Guarded by the table's mutex.
	seq      string    // the MapiSequence value the next sequenced request must carry
	busy     bool      // a sequenced request runs
	inflight int       // requests of any type running
	lastUsed time.Time // end of the last request
	closed   bool
}

// sessionTable holds the session contexts of one endpoint.
type sessionTable struct {
	srv      *Server
	endpoint string
	idle     time.Duration
	max      int

	mu        sync.Mutex
	byID      map[string]*sessionContext
	byAccount map[int64]map[string]*sessionContext
}

func newSessionTable(srv *Server, endpoint string, idle time.Duration, max int) *sessionTable {
	return &sessionTable{
		srv: srv, endpoint: endpoint, idle: idle, max: max,
		byID:      map[string]*sessionContext{},
		byAccount: map[int64]map[string]*sessionContext{},
	}
}

// expired reports whether sc has been idle too long; a context with a
// request running is never idle.
func (t *sessionTable) expired(sc *sessionContext, now time.Time) bool {
	return sc.inflight == 0 && now.Sub(sc.lastUsed) > t.idle
}

// create makes a context for acc, busy (its Connect runs) and in flight.
// When the account is at its cap, the least recently used contexts
// without a running request are destroyed first; if every one is busy,
// create returns nil.
func (t *sessionTable) create(acc *directory.Account, info ConnectInfo) *sessionContext {
	now := t.srv.now()
	var evicted []*sessionContext
	t.mu.Lock()
	mine := t.byAccount[acc.ID]
	if t.max > 0 && len(mine) >= t.max {
		idle := make([]*sessionContext, 0, len(mine))
		for _, sc := range mine {
			if sc.inflight == 0 {
				idle = append(idle, sc)
			}
		}
		sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed.Before(idle[j].lastUsed) })
		for len(mine) >= t.max && len(idle) > 0 {
			evicted = append(evicted, idle[0])
			t.removeLocked(idle[0])
			idle = idle[1:]
		}
		if len(mine) >= t.max {
			t.mu.Unlock()
			return nil
		}
	}
	a := *acc
	sc := &sessionContext{
		id: newToken(), accountID: acc.ID, acc: &a, info: info,
		done: make(chan struct{}),
		seq:  newToken(), busy: true, inflight: 1, lastUsed: now,
	}
	t.byID[sc.id] = sc
	if mine == nil {
		mine = map[string]*sessionContext{}
		t.byAccount[acc.ID] = mine
	}
	mine[sc.id] = sc
	t.mu.Unlock()
	for _, old := range evicted {
		t.srv.log.Info("session context dropped: too many for the user", "endpoint", t.endpoint, "account", old.accountID)
		old.closeROP()
	}
	return sc
}

// acquire finds the context named by id for a request of accountID. A
// sequenced request must carry the current sequence value; it then owns
// the context until release, and the sequence value is rotated at once,
// so a second request with the same cookies is refused. It returns the
// context and the new sequence value, or the X-ResponseCode refusing the
// request (MS-OXCMAPIHTTP 3.2.5.1, 2.2.3.3.3).
func (t *sessionTable) acquire(id, seq string, accountID int64, sequenced bool) (*sessionContext, string, ResponseCode) {
	if !validToken(id) {
		return nil, "", CodeInvalidContextCookie
	}
	now := t.srv.now()
	t.mu.Lock()
	sc := t.byID[id]
	if sc == nil {
		t.mu.Unlock()
		return nil, "", CodeContextNotFound
	}
	if t.expired(sc, now) {
		t.removeLocked(sc)
		t.mu.Unlock()
		t.srv.log.Debug("session context expired", "endpoint", t.endpoint, "account", sc.accountID)
		sc.closeROP()
		return nil, "", CodeContextNotFound
	}
	if sc.accountID != accountID {
		t.mu.Unlock()
		return nil, "", CodeNoPrivilege
	}
	if sequenced {
		switch {
		case seq == "":
			t.mu.Unlock()
			return nil, "", CodeMissingCookie
		case sc.busy || seq != sc.seq:
			t.mu.Unlock()
			return nil, "", CodeInvalidSequence
		}
		sc.busy = true
		sc.seq = newToken()
	}
	sc.inflight++
	newSeq := sc.seq
	t.mu.Unlock()
	return sc, newSeq, CodeSuccess
}

// release ends a request on sc.
func (t *sessionTable) release(sc *sessionContext, sequenced bool) {
	now := t.srv.now()
	t.mu.Lock()
	if sequenced {
		sc.busy = false
	}
	sc.inflight--
	sc.lastUsed = now
	t.mu.Unlock()
}

// destroy removes sc and closes its ROP session (waiting for a running
// Execute to end).
func (t *sessionTable) destroy(sc *sessionContext) {
	t.mu.Lock()
	t.removeLocked(sc)
	t.mu.Unlock()
	sc.closeROP()
}

// destroyIfOwned destroys the context named by id when it belongs to
// accountID (a reconnecting Connect, MS-OXCMAPIHTTP 3.2.5.6). Another
// user's context is left alone.
func (t *sessionTable) destroyIfOwned(id string, accountID int64) {
	t.mu.Lock()
	sc := t.byID[id]
	if sc == nil || sc.accountID != accountID {
		t.mu.Unlock()
		return
	}
	t.removeLocked(sc)
	t.mu.Unlock()
	sc.closeROP()
}

func (t *sessionTable) removeLocked(sc *sessionContext) {
	if sc.closed {
		return
	}
	sc.closed = true
	close(sc.done)
	delete(t.byID, sc.id)
	if mine := t.byAccount[sc.accountID]; mine != nil {
		delete(mine, sc.id)
		if len(mine) == 0 {
			delete(t.byAccount, sc.accountID)
		}
	}
}

// sweep destroys expired contexts.
func (t *sessionTable) sweep() {
	now := t.srv.now()
	var dead []*sessionContext
	t.mu.Lock()
	for _, sc := range t.byID {
		if t.expired(sc, now) {
			dead = append(dead, sc)
		}
	}
	for _, sc := range dead {
		t.removeLocked(sc)
	}
	t.mu.Unlock()
	for _, sc := range dead {
		t.srv.log.Debug("session context expired", "endpoint", t.endpoint, "account", sc.accountID)
		sc.closeROP()
	}
}

// closeAll destroys every context (shutdown).
func (t *sessionTable) closeAll() {
	t.mu.Lock()
	all := make([]*sessionContext, 0, len(t.byID))
	for _, sc := range t.byID {
		all = append(all, sc)
	}
	for _, sc := range all {
		t.removeLocked(sc)
	}
	t.mu.Unlock()
	for _, sc := range all {
		sc.closeROP()
	}
}

// count returns the number of contexts, and of those of accountID.
func (t *sessionTable) count(accountID int64) (all, mine int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID), len(t.byAccount[accountID])
}

// setROP stores the ROP session Connect made. When the context was
// destroyed meanwhile (a Disconnect or a cap eviction racing the Connect)
// the session is closed at once and setROP reports false.
func (sc *sessionContext) setROP(r ROPSession) bool {
	sc.ropMu.Lock()
	if sc.ropClosed {
		sc.ropMu.Unlock()
		r.Close()
		return false
	}
	sc.rop = r
	sc.ropMu.Unlock()
	return true
}

// getROP returns the context's ROP session, nil before Connect set it or
// after the context was destroyed.
func (sc *sessionContext) getROP() ROPSession {
	sc.ropMu.Lock()
	defer sc.ropMu.Unlock()
	return sc.rop
}

// closeROP closes the ROP session once; Close waits for a running Execute.
func (sc *sessionContext) closeROP() {
	sc.ropMu.Lock()
	r := sc.rop
	sc.rop, sc.ropClosed = nil, true
	sc.ropMu.Unlock()
	if r != nil {
		r.Close()
	}
}
