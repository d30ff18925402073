package rop

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// TestHandleNumbering: handles are LogonId<<24 | n with n counting from 0
// for the logon and never reused, per logon (MAPI.md §5.3).
func TestHandleNumbering(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	if c.handles[0] != 0x0C000000 || c.handles[1] != 0x0C000001 {
		t.Fatalf("handles %08X %08X, want 0C000000 0C000001 (ruler hard-codes them)", c.handles[0], c.handles[1])
	}
	c.exec(&ReleaseRequest{RequestHeader: hdr(1)})
	c.openFolder(0, 1, storage.RoleOutbox)
	if c.handles[1] != 0x0C000002 {
		t.Errorf("after a release the next handle is %08X, want 0C000002", c.handles[1])
	}
	// A second logon id counts on its own.
	c.one(&LogonRequest{RequestHeader: RequestHeader{LogonID: 1}, OutputHandleIndex: 2, LogonFlags: LogonFlagPrivate, Essdn: DefaultLegacyDN(alice)})
	c.one(&OpenFolderRequest{RequestHeader: RequestHeader{LogonID: 1, InputHandleIndex: 2}, OutputHandleIndex: 3, FolderID: roleFID(storage.RoleInbox)})
	if c.handles[2] != 0x01000000 || c.handles[3] != 0x01000001 {
		t.Errorf("second logon handles %08X %08X", c.handles[2], c.handles[3])
	}
	// A handle of logon 1 does not serve a ROP of logon 0x0C.
	if ec := c.ec(&OpenFolderRequest{RequestHeader: hdr(3), OutputHandleIndex: 4, FolderID: roleFID(storage.RoleInbox)}); ec != mp.ErrNullObject {
		t.Errorf("cross-logon handle: %v", ec)
	}
	// A new logon with the same id replaces the old one and its objects.
	c.logon()
	if c.handles[0] != 0x0C000003 {
		t.Errorf("re-logon handle %08X, want 0C000003 (numbers are never reused)", c.handles[0])
	}
	if ec := c.ec(&GetHierarchyTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 5}); ec != mp.ErrNullObject {
		t.Errorf("folder of a replaced logon: %v", ec)
	}
}

// TestUnknownHandle: an empty slot, an out-of-range index and a released
// handle give ecNullObject; later ROPs still run; RopRelease of an unknown
// handle is silent.
func TestUnknownHandle(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	resps := c.exec(
		&ReleaseRequest{RequestHeader: hdr(5)},
		&OpenFolderRequest{RequestHeader: hdr(3), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox)},
		&OpenFolderRequest{RequestHeader: hdr(200), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox)},
		&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox)},
		// The folder is not a table: SetColumns on it fails alone.
		&SetColumnsRequest{RequestHeader: hdr(1), PropertyTags: []mp.Tag{mp.PidTagSubject}},
	)
	if len(resps) != 4 {
		t.Fatalf("%d responses, want 4 (Release has none)", len(resps))
	}
	want := []mp.ErrorCode{mp.ErrNullObject, mp.ErrNullObject, 0, mp.ErrNotSupported}
	for i, r := range resps {
		if ec := r.(StandardResponse).Header().ReturnValue; ec != want[i] {
			t.Errorf("response %d (%s): %v, want %v", i, r.RopID(), ec, want[i])
		}
	}
	h := c.handles[1]
	c.exec(&ReleaseRequest{RequestHeader: hdr(1)})
	if c.handles[1] != h {
		t.Errorf("release changed the slot")
	}
	if ec := c.ec(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2}); ec != mp.ErrNullObject {
		t.Errorf("released handle: %v", ec)
	}
}

// TestReleaseCascades: releasing a folder releases the tables opened on it.
func TestReleaseCascades(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2})
	c.exec(&ReleaseRequest{RequestHeader: hdr(1)})
	if ec := c.ec(&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: []mp.Tag{mp.PidTagSubject}}); ec != mp.ErrNullObject {
		t.Errorf("table of a released folder: %v", ec)
	}
}

// TestUnknownRop: a ROP the codec does not know is answered with
// ecNotSupported after the ROPs before it; nothing after it runs and the
// buffer stays well-formed.
func TestUnknownRop(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	open, _ := MarshalRequests([]Request{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox)}}, 0)
	after, _ := MarshalRequests([]Request{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleOutbox)}}, 0)
	rops := append(append(append([]byte{}, open...), 0x70, testLogon, 0x03, 0xAA, 0xBB), after...)
	buf, err := c.raw(rops, c.handles, 0x8000)
	if err != nil {
		t.Fatal(err)
	}
	resps, derr := DecodeResponses(buf.Rops[:len(buf.Rops)-6], []Request{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1}}, ResponseOptions{})
	if derr != nil || len(resps) != 1 || resps[0].(StandardResponse).Header().ReturnValue != 0 {
		t.Fatalf("responses before the unknown ROP: %v %v", resps, derr)
	}
	tail := buf.Rops[len(buf.Rops)-6:]
	if tail[0] != 0x70 || tail[1] != 0x03 || mp.ErrorCode(binary.LittleEndian.Uint32(tail[2:])) != mp.ErrNotSupported {
		t.Errorf("unknown ROP answered % x", tail)
	}
	if buf.Handles[1] == EmptyHandle || buf.Handles[2] != EmptyHandle {
		t.Errorf("handles %08X: the ROP before ran, the one after must not", buf.Handles)
	}
}

// TestMalformedBuffer: a truncated known ROP or broken framing fails the
// whole Execute with ecRpcFormat before anything runs.
func TestMalformedBuffer(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	open, _ := MarshalRequests([]Request{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox)}}, 0)
	truncated := append(append([]byte{}, open...), byte(RopOpenFolder), testLogon, 0)
	if _, err := c.raw(truncated, c.handles, 0x8000); !errors.Is(err, mp.ErrRPCFormat) {
		t.Errorf("truncated ROP: %v, want ecRpcFormat", err)
	}
	if ec := c.ec(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2}); ec != mp.ErrNullObject {
		t.Errorf("the ROP before the malformed one ran: %v", ec)
	}
	for _, in := range [][]byte{{}, {1}, {0xFF, 0xFF, 0}, {4, 0, 1}} {
		if _, err := c.sess.Execute(context.Background(), in, 0x8000); !errors.Is(err, mp.ErrRPCFormat) {
			t.Errorf("framing % x: %v", in, err)
		}
	}
}

// TestBufferTooSmall: output that does not fit MaxRopOut ends with
// RopBufferTooSmall carrying the ROPs left; sent again with room they run.
func TestBufferTooSmall(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	reqs := []Request{
		&GetReceiveFolderTableRequest{RequestHeader: hdr(0)},
		&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox)},
		&GetReceiveFolderTableRequest{RequestHeader: hdr(0)},
	}
	rops, _ := MarshalRequests(reqs, 0)
	full, err := c.raw(rops, c.handles, 0x8000)
	if err != nil {
		t.Fatal(err)
	}
	firstTwo, _ := MarshalRequests(reqs[:2], 0)
	third := rops[len(firstTwo):]
	// The two table answers are the same size; OpenFolder answers 8 bytes.
	tableAnswer := (len(full.Rops) - 8) / 2
	// Room for the first two answers and RopBufferTooSmall, not the third.
	limit := 2 + tableAnswer + 8 + 4*len(c.handles) + 3 + len(third)
	handles := append([]uint32{}, c.handles...)
	buf, err := c.raw(rops, handles, limit)
	if err != nil {
		t.Fatalf("Execute with MaxRopOut %d: %v", limit, err)
	}
	resps, err := DecodeResponses(buf.Rops, reqs, ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last, ok := resps[len(resps)-1].(*BufferTooSmallResponse)
	if !ok || len(resps) != 3 {
		t.Fatalf("responses %v, want two answers and RopBufferTooSmall", resps)
	}
	if !bytes.Equal(last.RequestBuffers, third) {
		t.Errorf("RequestBuffers % x, want the third ROP % x", last.RequestBuffers, third)
	}
	if int(last.SizeNeeded) <= limit {
		t.Errorf("SizeNeeded %d not above the limit %d", last.SizeNeeded, limit)
	}
	// The client sends the rest again with a larger buffer.
	again, err := c.raw(last.RequestBuffers, buf.Handles, int(last.SizeNeeded))
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := DecodeResponses(again.Rops, reqs[2:], ResponseOptions{}); err != nil || len(rs) != 1 || rs[0].(StandardResponse).Header().ReturnValue != 0 {
		t.Errorf("retry: %v %v", rs, err)
	}
	// A limit too small for anything fails the call.
	if _, err := c.raw(rops, handles, 8); !errors.Is(err, mp.ErrBufferTooSmall) {
		t.Errorf("tiny buffer: %v", err)
	}
}

// TestQueryRowsFitsBuffer: QueryRows returns fewer rows rather than failing
// when the buffer is small.
func TestQueryRowsFitsBuffer(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	for i := 0; i < 20; i++ {
		env.Deliver(t, mimeMessage("a message with a long enough subject to fill rows", 50, ""), alice.ID)
	}
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode})
	c.one(&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: []mp.Tag{mp.PidTagSubject, mp.PidTagMid}})
	c.maxOut = 1000
	qr := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 20}).(*QueryRowsResponse)
	if len(qr.Rows) == 0 || len(qr.Rows) >= 20 || qr.Origin != BookmarkCurrent {
		t.Fatalf("%d rows, origin %d: want a partial page", len(qr.Rows), qr.Origin)
	}
	got := len(qr.Rows)
	c.maxOut = 0x8000
	pos := c.one(&QueryPositionRequest{RequestHeader: hdr(2)}).(*QueryPositionResponse)
	if int(pos.Numerator) != got || pos.Denominator != 20 {
		t.Errorf("position %d/%d after %d rows", pos.Numerator, pos.Denominator, got)
	}
	rest := c.one(&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 100}).(*QueryRowsResponse)
	if len(rest.Rows)+got != 20 || rest.Origin != BookmarkEnd {
		t.Errorf("rest: %d rows, origin %d", len(rest.Rows), rest.Origin)
	}
}

// TestClosedSession: Execute after Close fails with ecError.
func TestClosedSession(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.sess.Close()
	rops, _ := MarshalRequests([]Request{&GetStoreStateRequest{RequestHeader: hdr(0)}}, 0)
	if _, err := c.raw(rops, c.handles, 0x8000); !errors.Is(err, mp.ErrCallFailed) {
		t.Errorf("closed session: %v", err)
	}
}

// TestConcurrentSessions: sessions of one server share the derivation
// cache and the named-property map; Close waits for a running Execute.
func TestConcurrentSessions(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	env.Deliver(t, mimeMessage("shared", 3000, "att"), alice.ID)
	srv := newTestServer(env)
	mid := inboxMID(t, env, alice.ID, 0)
	done := make(chan error, 4)
	for i := 0; i < 4; i++ {
		c := newTestClient(t, env, srv, alice)
		c.logon()
		reqs := []Request{
			&OpenMessageRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox), MessageID: mid},
			&GetPropertiesSpecificRequest{RequestHeader: hdr(1), WantUnicode: 1, PropertyTags: []mp.Tag{mp.PidTagSubject, mp.PidTagBody}},
			&GetPropertyIdsFromNamesRequest{RequestHeader: hdr(0), Flags: GetPropertyIdsCreate, PropertyNames: []mp.PropertyName{mp.LIDName(mp.PSETID_Common, 0x8500+uint32(i%2))}},
			&ReleaseRequest{RequestHeader: hdr(1)},
		}
		rops, _ := MarshalRequests(reqs, 0)
		payload, _ := ROPBuffer{Rops: rops, Handles: c.handles}.Bytes()
		go func() {
			for j := 0; j < 20; j++ {
				if _, err := c.sess.Execute(context.Background(), payload, 0x8000); err != nil {
					done <- err
					return
				}
			}
			c.sess.Close()
			done <- nil
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
