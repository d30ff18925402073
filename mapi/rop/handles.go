package rop

import (
	mp "github.com/pochta/pochta/internal/mapiprop"
)

// The server object handle table (MS-OXCROPS 3.1.4.1, 3.2.5.1). Handles
// are allocated per logon as LogonId<<24 | n, n counting from 0 (the logon
// itself) and never reused within the session: ruler hard-codes
// 0x0C000000 for the logon and 0x0C000001 for the folder it opens next
// (MAPI.md §5.3), and a stale handle can never name a newer object.

// handleEntry is one server object in the session's table.
type handleEntry struct {
	handle  uint32
	logonID uint8
	// parent is the object this one was opened from; releasing a parent
	// releases its children, as gromox's object tree does.
	parent   *handleEntry
	children map[uint32]*handleEntry
	obj      any // *logonObj, *folderObj, *messageObj, *attachObj, *tableObj, *streamObj, *subscriptionObj
}

// maxHandleN is the largest n a logon may use (24 bits).
const maxHandleN = 0x00FFFFFF

// newHandle allocates the next handle of a logon for obj. It fails with
// ecServerOOM when the session holds too many objects or the logon used up
// its 24-bit numbers.
func (s *Session) newHandle(logonID uint8, parent *handleEntry, obj any) (*handleEntry, error) {
	if len(s.objects) >= s.srv.opts.MaxObjects {
		return nil, mp.ErrServerOOM
	}
	n := s.counters[logonID]
	if n > maxHandleN {
		return nil, mp.ErrServerOOM
	}
	s.counters[logonID] = n + 1
	e := &handleEntry{handle: uint32(logonID)<<24 | n, logonID: logonID, parent: parent, obj: obj}
	s.objects[e.handle] = e
	if parent != nil {
		if parent.children == nil {
			parent.children = map[uint32]*handleEntry{}
		}
		parent.children[e.handle] = e
	}
	return e, nil
}

// release frees an object and everything opened from it. Unknown handles
// are ignored (ruler releases empty 0xFFFFFFFF slots).
func (s *Session) release(h uint32) {
	e := s.objects[h]
	if e == nil {
		return
	}
	s.releaseEntry(e)
}

func (s *Session) releaseEntry(e *handleEntry) {
	// Iterative, so a long chain of objects cannot exhaust the stack.
	stack := []*handleEntry{e}
	if e.parent != nil {
		delete(e.parent.children, e.handle)
	}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range cur.children {
			stack = append(stack, c)
		}
		cur.children = nil
		delete(s.objects, cur.handle)
		if l, ok := cur.obj.(*logonObj); ok {
			if s.logons[cur.logonID] == cur.handle {
				delete(s.logons, cur.logonID)
			}
			l.closed = true
		}
		if st, ok := cur.obj.(*streamObj); ok {
			st.released()
		}
	}
}

// lookup returns the object in handles[idx] if it belongs to logonID.
func (s *Session) lookup(handles []uint32, idx uint8, logonID uint8) (*handleEntry, mp.ErrorCode) {
	if int(idx) >= len(handles) {
		return nil, mp.ErrNullObject
	}
	e := s.objects[handles[idx]]
	if e == nil || e.logonID != logonID {
		return nil, mp.ErrNullObject
	}
	return e, mp.Success
}
