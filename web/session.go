package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"
)

// Sessions are kept in memory, keyed by a hash of the cookie's token so
// that the map itself holds nothing a reader of memory could replay.

// maxSessionsPerAccount bounds the sessions one account may hold: the
// oldest is dropped when a new sign-in would exceed it.
const maxSessionsPerAccount = 32

// recheckEvery is how often a session asks the directory whether its
// account still exists and is enabled.
const recheckEvery = 5 * time.Minute

// webSession is one signed-in browser.
type webSession struct {
	key         string // hash of the token
	AccountID   int64
	Address     string
	DisplayName string
	CSRF        string
	Created     time.Time

	mu       sync.Mutex
	lastSeen time.Time
	checked  time.Time
}

func (ws *webSession) touch(now time.Time) {
	ws.mu.Lock()
	ws.lastSeen = now
	ws.mu.Unlock()
}

// dueForCheck tells whether the account should be looked up again, and
// records that it is being.
func (ws *webSession) dueForCheck(now time.Time) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if now.Sub(ws.checked) < recheckEvery {
		return false
	}
	ws.checked = now
	return true
}

// csrfOK compares a presented token with the session's in constant time.
func (ws *webSession) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ws.CSRF)) == 1
}

type sessionStore struct {
	idle, lifetime time.Duration
	now            func() time.Time

	mu        sync.Mutex
	byKey     map[string]*webSession
	byAccount map[int64][]*webSession
	lastSweep time.Time
}

func newSessionStore(idle, lifetime time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{idle: idle, lifetime: lifetime, now: now, byKey: map[string]*webSession{}, byAccount: map[int64][]*webSession{}}
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("web: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// create opens a session and returns the cookie token naming it.
func (st *sessionStore) create(accountID int64, address, name string) (string, *webSession) {
	now := st.now()
	token := randomToken()
	ws := &webSession{key: tokenKey(token), AccountID: accountID, Address: address, DisplayName: name,
		CSRF: randomToken(), Created: now, lastSeen: now, checked: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked(now)
	list := st.byAccount[accountID]
	for len(list) >= maxSessionsPerAccount {
		delete(st.byKey, list[0].key)
		list = list[1:]
	}
	st.byKey[ws.key] = ws
	st.byAccount[accountID] = append(list, ws)
	return token, ws
}

func (st *sessionStore) expired(ws *webSession, now time.Time) bool {
	ws.mu.Lock()
	last := ws.lastSeen
	ws.mu.Unlock()
	return now.Sub(last) >= st.idle || now.Sub(ws.Created) >= st.lifetime
}

// get returns the live session a token names, or nil.
func (st *sessionStore) get(token string) *webSession {
	if token == "" {
		return nil
	}
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	ws := st.byKey[tokenKey(token)]
	if ws == nil {
		return nil
	}
	if st.expired(ws, now) {
		st.removeLocked(ws)
		return nil
	}
	return ws
}

// alive tells whether a session is still open and unexpired (for streams
// that outlive the request that found it).
func (st *sessionStore) alive(ws *webSession) bool {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byKey[ws.key] != ws {
		return false
	}
	if st.expired(ws, now) {
		st.removeLocked(ws)
		return false
	}
	return true
}

func (st *sessionStore) remove(ws *webSession) {
	st.mu.Lock()
	st.removeLocked(ws)
	st.mu.Unlock()
}

// removeAccount ends every session of an account (disabled or deleted).
func (st *sessionStore) removeAccount(accountID int64) {
	st.mu.Lock()
	for _, ws := range st.byAccount[accountID] {
		delete(st.byKey, ws.key)
	}
	delete(st.byAccount, accountID)
	st.mu.Unlock()
}

func (st *sessionStore) removeLocked(ws *webSession) {
	delete(st.byKey, ws.key)
	list := st.byAccount[ws.AccountID]
	for i, o := range list {
		if o == ws {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(st.byAccount, ws.AccountID)
	} else {
		st.byAccount[ws.AccountID] = list
	}
}

// sweepLocked drops expired sessions, at most once a minute.
func (st *sessionStore) sweepLocked(now time.Time) {
	if now.Sub(st.lastSweep) < time.Minute {
		return
	}
	st.lastSweep = now
	for _, ws := range st.byKey {
		if st.expired(ws, now) {
			st.removeLocked(ws)
		}
	}
}

// count returns the number of sessions held (tests).
func (st *sessionStore) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byKey)
}
