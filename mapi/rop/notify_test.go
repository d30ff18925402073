package rop

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// notifyCols are the columns of the notification tests' contents table.
var notifyCols = []mp.Tag{mp.PidTagMid, mp.PidTagSubject, mp.PidTagMessageFlags}

// notifySetup: slot 1 the Inbox, slot 2 its contents table (columns set),
// slot 3 a whole-store subscription to every object event.
func notifySetup(t testing.TB) *testClient {
	t.Helper()
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode})
	c.one(&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: notifyCols})
	all := NotifyNewMail | NotifyObjectCreated | NotifyObjectDeleted | NotifyObjectModified | NotifyObjectMoved | NotifyObjectCopied
	c.one(&RegisterNotificationRequest{RequestHeader: hdr(0), OutputHandleIndex: 3, NotificationTypes: uint8(all), WantWholeStore: true})
	return c
}

// drain runs one cheap ROP and returns the responses that are not its
// answer, decoded by the codec's client side (DecodeResponses).
func (c *testClient) drain(maxOut int) []Response {
	c.t.Helper()
	reqs := []Request{&QueryPositionRequest{RequestHeader: hdr(2)}}
	rops, err := MarshalRequests(reqs, 1252)
	if err != nil {
		c.t.Fatal(err)
	}
	buf, err := c.raw(rops, c.handles, maxOut)
	if err != nil {
		c.t.Fatalf("Execute: %v", err)
	}
	resps, err := DecodeResponses(buf.Rops, reqs, ResponseOptions{CodePage: 1252})
	if err != nil {
		c.t.Fatalf("decoding responses: %v", err)
	}
	var out []Response
	answered := false
	for _, r := range resps {
		if _, ok := r.(*QueryPositionResponse); ok && !answered {
			answered = true
			continue
		}
		out = append(out, r)
	}
	if !answered {
		c.t.Fatalf("QueryPosition not answered: %v", resps)
	}
	return out
}

// waitNoBlock reports whether events are pending without waiting.
func (c *testClient) waitNoBlock() bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return c.sess.WaitEvents(ctx)
}

// The RopNotify responses the server makes decode with the client side of
// the codec, byte for byte the same after a second round trip.
func TestNotifyResponsesDecode(t *testing.T) {
	c := notifySetup(t)
	if c.waitNoBlock() {
		t.Fatal("events pending before any change")
	}
	c.env.Deliver(t, mimeMessage("hello", 10, ""), c.acc.ID)
	if !c.sess.WaitEvents(context.Background()) {
		t.Fatal("WaitEvents did not report the delivery")
	}
	got := c.drain(0x8000)
	var types []string
	var added *NotifyResponse
	for _, r := range got {
		n, ok := r.(*NotifyResponse)
		if !ok {
			t.Fatalf("unexpected %s", r.RopID())
		}
		types = append(types, fmt.Sprintf("%x/%d@%x", n.Data.NotificationFlags, n.Data.TableEventType, n.NotificationHandle))
		if n.LogonID != testLogon {
			t.Errorf("LogonId %d", n.LogonID)
		}
		// Second round trip through the codec: identical.
		enc, err := c.sess.encode(n)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeResponses(enc, nil, ResponseOptions{})
		if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], n) {
			t.Errorf("round trip of %+v: %+v, %v", n, again, err)
		}
		if n.NotificationHandle == c.handles[2] && n.Data.TableEventType == TableRowAdded {
			added = n
		}
	}
	want := map[uint16]uint32{
		NotifyNewMail | NotifyFlagMessage:       c.handles[3],
		NotifyObjectCreated | NotifyFlagMessage: c.handles[3],
		NotifyObjectModified:                    c.handles[3], // the Inbox's counts
		NotifyTableModified | NotifyFlagMessage: c.handles[2],
	}
	for flags, h := range want {
		found := false
		for _, r := range got {
			if n := r.(*NotifyResponse); n.Data.NotificationFlags == flags && n.NotificationHandle == h {
				found = true
			}
		}
		if !found {
			t.Errorf("no notification 0x%04X on handle 0x%08X: %v", flags, h, types)
		}
	}
	if added == nil {
		t.Fatalf("no row added: %v", types)
	}
	row, err := added.Data.TableRow(notifyCols)
	if err != nil {
		t.Fatal(err)
	}
	if s := str(t, row, mp.PidTagSubject); s != "hello" {
		t.Errorf("row subject %q", s)
	}
	if c.waitNoBlock() {
		t.Error("events still pending after the Execute that carried them")
	}
}

// Notifications that do not fit wait for the next Execute, announced by
// RopPending (MS-OXCROPS 2.2.14.3); none is lost or repeated.
func TestNotifyPendingWhenFull(t *testing.T) {
	c := notifySetup(t)
	const n = 25
	for i := range n {
		c.env.Deliver(t, mimeMessage(fmt.Sprintf("m%02d", i), 10, ""), c.acc.ID)
	}
	seen := map[mp.ID]int{}
	sawPending := false
	for round := 0; round < 200 && c.waitNoBlock(); round++ {
		got := c.drain(600)
		for i, r := range got {
			switch x := r.(type) {
			case *PendingResponse:
				sawPending = true
				if i != len(got)-1 {
					t.Errorf("RopPending not last")
				}
			case *NotifyResponse:
				if x.Data.NotificationFlags == NotifyNewMail|NotifyFlagMessage {
					seen[x.Data.MessageID]++
				}
			}
		}
	}
	if !sawPending {
		t.Error("no RopPending though the notifications could not fit one buffer")
	}
	if len(seen) != n {
		t.Errorf("%d messages announced, want %d", len(seen), n)
	}
	for mid, k := range seen {
		if k != 1 {
			t.Errorf("%v announced %d times", mid, k)
		}
	}
}

// Releasing the subscription and the table leaves the change feed: later
// changes queue nothing.
func TestNotifyReleaseUnsubscribes(t *testing.T) {
	c := notifySetup(t)
	c.drain(0x8000) // subscribes
	if c.sess.notif.sub == nil {
		t.Fatal("no feed subscription with a table and a subscription open")
	}
	c.exec(&ReleaseRequest{RequestHeader: hdr(3)}, &ReleaseRequest{RequestHeader: hdr(2)}, &GetStoreStateRequest{RequestHeader: hdr(0)})
	if c.sess.notif.sub != nil {
		t.Fatal("still subscribed after releasing every listener")
	}
	c.env.Deliver(t, mimeMessage("unheard", 10, ""), c.acc.ID)
	if c.waitNoBlock() {
		t.Error("events pending without listeners")
	}
	// A table opened with NoNotifications does not subscribe either.
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagNoNotifications})
	if c.sess.notif.sub != nil {
		t.Error("a NoNotifications table subscribed")
	}
}

// Close ends a NotificationWait in progress.
func TestNotifyCloseEndsWait(t *testing.T) {
	c := notifySetup(t)
	c.drain(0x8000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan bool)
	go func() { done <- c.sess.WaitEvents(ctx) }()
	c.sess.Close()
	// Closed sessions have no events; the wait goes on until its period
	// (the transport's context) ends.
	cancel()
	if <-done {
		t.Error("WaitEvents reported events of a closed session")
	}
}

// BenchmarkNotifyDeliveryToWake measures a local delivery until the
// session's WaitEvents returns and the next Execute carried the events.
func BenchmarkNotifyDeliveryToWake(b *testing.B) {
	c := notifySetup(b)
	c.drain(0x8000)
	raw := mimeMessage("bench", 10, "")
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		c.env.Deliver(b, raw, c.acc.ID)
		if !c.sess.WaitEvents(ctx) {
			b.Fatal("no wake-up")
		}
		if len(c.drain(0x8000)) == 0 {
			b.Fatal("no notifications")
		}
	}
}

// A hierarchy table hears of a delivery as TableRowModified of the
// folder's row, carrying the new counts; a new folder reloads it.
func TestNotifyHierarchyCounts(t *testing.T) {
	c := notifySetup(t)
	c.openFolder(0, 4, storage.RoleIPMSubtree)
	c.one(&GetHierarchyTableRequest{RequestHeader: hdr(4), OutputHandleIndex: 5, TableFlags: TableFlagUseUnicode})
	cols := []mp.Tag{mp.PidTagFolderId, mp.PidTagDisplayName, mp.PidTagContentUnreadCount}
	c.one(&SetColumnsRequest{RequestHeader: hdr(5), PropertyTags: cols})
	c.drain(0x8000)
	c.env.Deliver(t, mimeMessage("count me", 10, ""), c.acc.ID)
	var mod *NotifyResponse
	for _, r := range c.drain(0x8000) {
		if n, ok := r.(*NotifyResponse); ok && n.NotificationHandle == c.handles[5] {
			if mod != nil {
				t.Errorf("second hierarchy notification %+v", n.Data)
			}
			mod = n
		}
	}
	if mod == nil || mod.Data.TableEventType != TableRowModified || mod.Data.TableRowFolderID != roleFID(storage.RoleInbox) {
		t.Fatalf("hierarchy notification %+v, want the Inbox row modified", mod)
	}
	row, err := mod.Data.TableRow(cols)
	if err != nil {
		t.Fatal(err)
	}
	if str(t, row, mp.PidTagDisplayName) != "Inbox" || i32(t, row, mp.PidTagContentUnreadCount) != 1 {
		t.Errorf("Inbox row %v", row.Values)
	}
	ipm := folderByRole(t, c.env, c.acc.ID, storage.RoleIPMSubtree)
	if _, err := c.env.Store.CreateFolder(t.Context(), c.acc.ID, ipm.ID, "Projects", ""); err != nil {
		t.Fatal(err)
	}
	reloaded := false
	for _, r := range c.drain(0x8000) {
		if n, ok := r.(*NotifyResponse); ok && n.NotificationHandle == c.handles[5] && n.Data.TableEventType == TableChanged {
			reloaded = true
		}
	}
	if !reloaded {
		t.Error("no TableChanged on the hierarchy table after a folder was created")
	}
}

// A row too long for the client's buffer does not block the queue: the
// table is told to reload instead.
func TestNotifyRowTooLongReloads(t *testing.T) {
	c := notifySetup(t)
	// Only the table listens, so the long row is all there is to send.
	c.exec(&ReleaseRequest{RequestHeader: hdr(3)})
	long := strings.Repeat("very long subject ", 40)
	c.env.Deliver(t, mimeMessage(long, 10, ""), c.acc.ID)
	var got []string
	for round := 0; round < 5 && c.waitNoBlock(); round++ {
		for _, r := range c.drain(300) {
			if n, ok := r.(*NotifyResponse); ok {
				got = append(got, fmt.Sprintf("%d", n.Data.TableEventType))
			}
		}
	}
	if c.waitNoBlock() {
		t.Fatal("the long row is still queued")
	}
	if len(got) != 1 || got[0] != fmt.Sprint(TableChanged) {
		t.Errorf("table events %v, want one TableChanged", got)
	}
}

// In a built (non-paged) view a new row names the row it follows.
func TestNotifyInsertAfterInSortedView(t *testing.T) {
	c := notifySetup(t)
	c.exec(&ReleaseRequest{RequestHeader: hdr(3)})
	// Two sort keys: the view is built in memory, not paged from SQL.
	c.one(&SortTableRequest{RequestHeader: hdr(2), SortOrderSet: mp.SortOrderSet{SortOrders: []mp.SortOrder{
		{PropTag: mp.PidTagSubject, Order: mp.SortAscending}, {PropTag: mp.PidTagMessageDeliveryTime, Order: mp.SortAscending}}}})
	c.env.Deliver(t, mimeMessage("bravo", 10, ""), c.acc.ID)
	c.drain(0x8000)
	c.env.Deliver(t, mimeMessage("charlie", 10, ""), c.acc.ID)
	c.env.Deliver(t, mimeMessage("alpha", 10, ""), c.acc.ID)
	after := map[string]mp.ID{}
	mids := map[string]mp.ID{}
	for round := 0; round < 5 && c.waitNoBlock(); round++ {
		for _, r := range c.drain(0x8000) {
			n, ok := r.(*NotifyResponse)
			if !ok || n.Data.TableEventType != TableRowAdded {
				continue
			}
			row, err := n.Data.TableRow(notifyCols)
			if err != nil {
				t.Fatal(err)
			}
			after[str(t, row, mp.PidTagSubject)] = n.Data.InsertAfterTableRowID
		}
	}
	for _, m := range messagesIn(t, c.env, c.acc.ID, storage.RoleInbox) {
		mids[m.Subject] = makeID(m.GlobCnt)
	}
	if a, ok := after["alpha"]; !ok || a != 0 {
		t.Errorf("alpha inserted after %v (%v), want first", a, ok)
	}
	if a, ok := after["charlie"]; !ok || a != mids["bravo"] {
		t.Errorf("charlie inserted after %v (%v), want bravo %v", a, ok, mids["bravo"])
	}
}
