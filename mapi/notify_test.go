package mapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/rop"
	"github.com/pochta/pochta/storage"
)

// notifyClient is a MAPI client with an open Inbox, a contents table on
// it and a subscription on it, as Outlook has them.
type notifyClient struct {
	t        *testing.T
	c        *mapiclient.Client
	inboxFID mp.ID
	table    uint32
	sub      uint32
	cols     []mp.Tag
	got      []*rop.NotifyResponse
	// since is when the change being waited for was made (for the log).
	since time.Time
}

func openNotifyClient(t *testing.T, c *mapiclient.Client, types uint16) *notifyClient {
	t.Helper()
	ctx := context.Background()
	logon, lr, err := c.Logon(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	nc := &notifyClient{t: t, c: c, inboxFID: lr.FolderIDs[rop.FolderInbox],
		cols: []mp.Tag{mp.PidTagMid, mp.PidTagSubject, mp.PidTagMessageFlags}}
	inbox, err := c.OpenFolder(ctx, logon, nc.inboxFID)
	if err != nil {
		t.Fatal(err)
	}
	b := c.NewBatch()
	in, tbl, sub := b.In(inbox), b.Out(), b.Out()
	b.Add(&rop.GetContentsTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: tbl, TableFlags: rop.TableFlagUseUnicode},
		&rop.SetColumnsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}, PropertyTags: nc.cols},
		&rop.SortTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}, SortOrderSet: mp.SortOrderSet{
			SortOrders: []mp.SortOrder{{PropTag: mp.PidTagMessageDeliveryTime, Order: mp.SortDescending}}}},
		&rop.RegisterNotificationRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: sub,
			NotificationTypes: uint8(types), FolderID: nc.inboxFID})
	res, err := b.Run(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	nc.table, nc.sub = res.Handle(tbl), res.Handle(sub)
	return nc
}

// collect long-polls and executes until have is satisfied by the
// notifications received so far; it fails after a generous deadline.
func (nc *notifyClient) collect(what string, have func([]*rop.NotifyResponse) bool) {
	nc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for !have(nc.got) {
		pending, err := nc.c.NotificationWait(ctx)
		if err != nil {
			nc.t.Fatalf("waiting for %s: NotificationWait: %v (have %s)", what, err, describe(nc.got))
		}
		if !pending {
			continue
		}
		nc.t.Logf("%s: NotificationWait answered %v after the change was made", what, time.Since(nc.since))
		// Any Execute carries the queued events; QueryPosition is cheap.
		b := nc.c.NewBatch()
		b.Add(&rop.QueryPositionRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(nc.table)}})
		res, err := b.Run(ctx, true)
		if err != nil {
			nc.t.Fatalf("Execute after the wake-up: %v", err)
		}
		for _, r := range res.Responses {
			if n, ok := r.(*rop.NotifyResponse); ok {
				nc.got = append(nc.got, n)
			}
		}
	}
}

func describe(ns []*rop.NotifyResponse) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, fmt.Sprintf("handle 0x%08X type 0x%04X event %d", n.NotificationHandle, n.Data.NotificationFlags, n.Data.TableEventType))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (nc *notifyClient) find(handle uint32, match func(*rop.NotifyResponse) bool) *rop.NotifyResponse {
	for _, n := range nc.got {
		if n.NotificationHandle == handle && match(n) {
			return n
		}
	}
	return nil
}

func objectEvent(typ uint16, mid mp.ID) func(*rop.NotifyResponse) bool {
	return func(n *rop.NotifyResponse) bool {
		return n.Data.Type() == typ && n.Data.NotificationFlags&rop.NotifyFlagMessage != 0 && (mid == 0 || n.Data.MessageID == mid)
	}
}

func tableEvent(ev uint16, mid mp.ID) func(*rop.NotifyResponse) bool {
	return func(n *rop.NotifyResponse) bool {
		return n.Data.Type() == rop.NotifyTableModified && n.Data.TableEventType == ev && (mid == 0 || n.Data.TableRowMessageID == mid)
	}
}

// MS-OXCNOTIF end to end: an SMTP delivery, an IMAP STORE and an expunge
// reach a MAPI client with an open Inbox table and a subscription as a
// NotificationWait wake-up and RopNotify responses on the next Execute,
// decoded by the client's codec.
func TestNotificationsFromOtherDoors(t *testing.T) { notificationsFromOtherDoors(t, newWorld(t)) }

// The same on PostgreSQL, where commits and the feed run differently.
func TestNotificationsFromOtherDoorsPostgres(t *testing.T) {
	notificationsFromOtherDoors(t, newWorld(t, testenv.Options{Postgres: true}))
}

func notificationsFromOtherDoors(t *testing.T, w *world) {
	alice := w.user("alice")
	ctx := context.Background()
	nc := openNotifyClient(t, w.connected(alice),
		rop.NotifyNewMail|rop.NotifyObjectCreated|rop.NotifyObjectDeleted|rop.NotifyObjectModified)

	// New mail over SMTP.
	nc.since = time.Now()
	w.sendSMTP("zed@outside.example", alice.Address, inboundMessage("ping from afar", 40, ""))
	nc.collect("new mail and row added", func(ns []*rop.NotifyResponse) bool {
		return nc.find(nc.sub, objectEvent(rop.NotifyNewMail, 0)) != nil && nc.find(nc.table, tableEvent(rop.TableRowAdded, 0)) != nil
	})
	nm := nc.find(nc.sub, objectEvent(rop.NotifyNewMail, 0))
	if nm.Data.FolderID != nc.inboxFID || nm.Data.MessageClass != "IPM.Note" || nm.Data.MessageFlags&uint32(mp.MessageFlagRead) != 0 {
		t.Errorf("NewMail: folder %v (Inbox %v), class %q, flags 0x%X", nm.Data.FolderID, nc.inboxFID, nm.Data.MessageClass, nm.Data.MessageFlags)
	}
	mid := nm.Data.MessageID
	if nc.find(nc.sub, objectEvent(rop.NotifyObjectCreated, mid)) == nil {
		t.Errorf("no ObjectCreated for the new message: %s", describe(nc.got))
	}
	added := nc.find(nc.table, tableEvent(rop.TableRowAdded, 0))
	if added.Data.TableRowMessageID != mid || added.Data.TableRowFolderID != nc.inboxFID {
		t.Errorf("row added for %v in %v, want %v in %v", added.Data.TableRowMessageID, added.Data.TableRowFolderID, mid, nc.inboxFID)
	}
	if added.Data.InsertAfterTableRowID != 0 {
		t.Errorf("the only row is inserted after %v", added.Data.InsertAfterTableRowID)
	}
	row, err := added.Data.TableRow(nc.cols)
	if err != nil {
		t.Fatalf("row added data: %v", err)
	}
	if v, ok := row.Get(mp.PidTagSubject.ID()); !ok || v.Data != "ping from afar" {
		t.Errorf("row added subject %v", v)
	}
	if v, ok := row.Get(mp.PidTagMid.ID()); !ok || mp.ID(v.Data.(int64)) != mid {
		t.Errorf("row added MID %v, want %v", v, mid)
	}

	// IMAP STORE \Seen: object modified and row modified, with the read flag.
	ic := w.imapLogin(alice.Address, "secret-alice")
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	nc.since = time.Now()
	if err := ic.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	nc.got = nil
	nc.collect("object and row modified", func(ns []*rop.NotifyResponse) bool {
		return nc.find(nc.sub, objectEvent(rop.NotifyObjectModified, mid)) != nil && nc.find(nc.table, tableEvent(rop.TableRowModified, mid)) != nil
	})
	mod := nc.find(nc.table, tableEvent(rop.TableRowModified, mid))
	row, err = mod.Data.TableRow(nc.cols)
	if err != nil {
		t.Fatalf("row modified data: %v", err)
	}
	if v, ok := row.Get(mp.PidTagMessageFlags.ID()); !ok || uint32(v.Data.(int32))&uint32(mp.MessageFlagRead) == 0 {
		t.Errorf("row modified flags %v, want read", v)
	}
	om := nc.find(nc.sub, objectEvent(rop.NotifyObjectModified, mid))
	if om.Data.TagCount != 1 || om.Data.Tags[0] != mp.PidTagMessageFlags {
		t.Errorf("ObjectModified tags %v", om.Data.Tags)
	}

	// Expunge (as a POP3 deletion does): object deleted and row deleted.
	inbox, err := w.env.Store.FolderByRole(ctx, alice.ID, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := w.env.Store.ListMessages(ctx, alice.ID, inbox.ID, storage.ListQuery{Sort: storage.SortUID, Limit: 10})
	if err != nil || len(ms) != 1 {
		t.Fatalf("Inbox: %d messages, %v", len(ms), err)
	}
	nc.since = time.Now()
	if _, err := w.env.Store.Expunge(ctx, alice.ID, inbox.ID, []int64{ms[0].ID}); err != nil {
		t.Fatal(err)
	}
	nc.got = nil
	nc.collect("object and row deleted", func(ns []*rop.NotifyResponse) bool {
		return nc.find(nc.sub, objectEvent(rop.NotifyObjectDeleted, mid)) != nil && nc.find(nc.table, tableEvent(rop.TableRowDeleted, mid)) != nil
	})
}

// A change made by another MAPI session of the same user reaches the
// first one, and a subscription hears only the types it asked for.
func TestNotificationsAcrossSessions(t *testing.T) {
	w := newWorld(t)
	bob := w.user("bob")
	ctx := context.Background()
	nc := openNotifyClient(t, w.connected(bob), rop.NotifyNewMail)
	other := w.connected(bob)

	nc.since = time.Now()
	w.sendSMTP("zed@outside.example", bob.Address, inboundMessage("first", 20, ""))
	nc.collect("new mail", func(ns []*rop.NotifyResponse) bool {
		return nc.find(nc.sub, objectEvent(rop.NotifyNewMail, 0)) != nil
	})
	mid := nc.find(nc.sub, objectEvent(rop.NotifyNewMail, 0)).Data.MessageID

	// The other session marks it read through MAPI (RopSetReadFlags).
	logon, lr, err := other.Logon(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := other.OpenFolder(ctx, logon, lr.FolderIDs[rop.FolderInbox])
	if err != nil {
		t.Fatal(err)
	}
	nc.since = time.Now()
	if err := other.SetReadFlags(ctx, inbox, 0, mid); err != nil {
		t.Fatal(err)
	}
	nc.got = nil
	nc.collect("row modified from the other session", func(ns []*rop.NotifyResponse) bool {
		return nc.find(nc.table, tableEvent(rop.TableRowModified, mid)) != nil
	})
	// The subscription asked for NewMail only: no object events.
	for _, n := range nc.got {
		if n.NotificationHandle == nc.sub {
			t.Errorf("NewMail-only subscription got type 0x%X", n.Data.Type())
		}
	}
}
