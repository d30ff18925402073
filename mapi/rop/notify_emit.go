package rop

import (
	"context"
	"sort"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/storage"
)

// Turning queued store changes into RopNotify responses (MS-OXCNOTIF
// 2.2.1.4, MS-OXCROPS 2.2.14.2).

// pendingSize is the encoded size of RopPending: RopId and SessionIndex.
const pendingSize = 3

// notifyTarget is an object of the session that receives notifications.
type notifyTarget struct {
	e     *handleEntry
	sub   *subscriptionObj // or
	table *tableObj
}

// notifyBatch is the state of one Execute's notifications.
type notifyBatch struct {
	targets []notifyTarget
	// reloaded: tables told TableChanged in this batch; row events for
	// them would be redundant.
	reloaded map[uint32]bool
	// folderModified: (subscription handle, folder) pairs told already.
	folderModified map[[2]uint64]bool
	msgCache       map[int64]*storage.Message
	// hierRow: (hierarchy table handle, FID) rows told already.
	hierRow map[[2]uint64]bool
	// built: views rebuilt in this batch; one rebuild reads every change
	// committed so far, so a batch of many changes costs one.
	built map[uint32]bool
}

// appendNotifications refreshes what the session watches and appends the
// RopNotify responses of the queued changes to rops, within room bytes;
// changes that do not fit stay queued and RopPending says so
// (MS-OXCROPS 2.2.14.3). s.mu is held.
func (s *Session) appendNotifications(ctx context.Context, rops []byte, room int) []byte {
	s.refreshInterest(ctx)
	changes, overflow := s.notif.takeQueue()
	if len(changes) == 0 && !overflow {
		return rops
	}
	b := &notifyBatch{reloaded: map[uint32]bool{}, folderModified: map[[2]uint64]bool{}, msgCache: map[int64]*storage.Message{},
		hierRow: map[[2]uint64]bool{}, built: map[uint32]bool{}}
	for _, e := range s.objects {
		switch o := e.obj.(type) {
		case *subscriptionObj:
			b.targets = append(b.targets, notifyTarget{e: e, sub: o})
		case *tableObj:
			if o.wantsNotifications() {
				b.targets = append(b.targets, notifyTarget{e: e, table: o})
			}
		}
	}
	// Handle order: the order the client made them, stable across calls.
	sort.Slice(b.targets, func(i, j int) bool { return b.targets[i].e.handle < b.targets[j].e.handle })

	used := 0
	fits := func(enc [][]byte) bool {
		n := 0
		for _, x := range enc {
			n += len(x)
		}
		return used+n+pendingSize <= room
	}
	put := func(enc [][]byte) {
		for _, x := range enc {
			rops = append(rops, x...)
			used += len(x)
		}
	}
	if overflow {
		enc := s.encodeNotifies(b.reloadAll())
		if !fits(enc) {
			s.notif.requeue(changes, true)
			return s.appendPending(rops, room-used)
		}
		put(enc)
	}
	for i, c := range changes {
		enc := s.encodeNotifies(s.notificationsOf(ctx, b, c))
		if !fits(enc) && used == 0 {
			// One change too large for the whole buffer (a long row)
			// would wait forever: the tables reload instead.
			enc = s.encodeNotifies(b.reloadAll())
		}
		if !fits(enc) {
			s.notif.requeue(changes[i:], false)
			return s.appendPending(rops, room-used)
		}
		put(enc)
	}
	return rops
}

func (s *Session) appendPending(rops []byte, room int) []byte {
	if room < pendingSize {
		return rops
	}
	enc, err := s.encode(&PendingResponse{SessionIndex: 0})
	if err != nil {
		return rops
	}
	return append(rops, enc...)
}

// encodeNotifies encodes responses, dropping (and logging) any the codec
// refuses.
func (s *Session) encodeNotifies(resps []*NotifyResponse) [][]byte {
	out := make([][]byte, 0, len(resps))
	for _, r := range resps {
		enc, err := s.encode(r)
		if err != nil {
			s.log.Error("encoding RopNotify", "err", err)
			continue
		}
		out = append(out, enc)
	}
	return out
}

// reloadAll tells every table to reload (TableChanged), after changes
// were lost.
func (b *notifyBatch) reloadAll() []*NotifyResponse {
	var out []*NotifyResponse
	for _, t := range b.targets {
		if t.table != nil && !b.reloaded[t.e.handle] {
			b.reloaded[t.e.handle] = true
			out = append(out, tableChanged(t.e))
		}
	}
	return out
}

func tableChanged(e *handleEntry) *NotifyResponse {
	return &NotifyResponse{NotificationHandle: e.handle, LogonID: e.logonID,
		Data: NotificationData{NotificationFlags: NotifyTableModified, TableEventType: TableChanged}}
}

// notificationsOf returns the notifications one change makes.
func (s *Session) notificationsOf(ctx context.Context, b *notifyBatch, c storage.Change) []*NotifyResponse {
	switch c.Kind {
	case storage.MessageAdded, storage.MessageFlagsChanged, storage.MessageUpdated, storage.MessageExpunged:
		return s.messageNotifications(ctx, b, c)
	case storage.FolderCreated, storage.FolderDeleted, storage.FolderRenamed, storage.FolderUpdated:
		return s.folderNotifications(ctx, b, c)
	}
	return nil
}

// message returns a message row for the batch, read once.
func (s *Session) message(ctx context.Context, b *notifyBatch, id int64) *storage.Message {
	if m, ok := b.msgCache[id]; ok {
		return m
	}
	m, err := s.srv.store.MessageByID(ctx, s.mbox.accountID, id)
	if err != nil {
		m = nil // expunged since: no row to show
	}
	b.msgCache[id] = m
	return m
}

// messageNotifications: object notifications for subscriptions
// (MS-OXCNOTIF 3.2.5.2) and table notifications for the contents tables
// of the folder (MS-OXCNOTIF 3.2.5.3).
func (s *Session) messageNotifications(ctx context.Context, b *notifyBatch, c storage.Change) []*NotifyResponse {
	fid, ok := s.fidOf(ctx, c.FolderID)
	if !ok {
		return nil
	}
	if c.GlobCnt == 0 {
		// Some store paths (SetFlags) publish without the GlobCnt; the
		// message row has it.
		m := s.message(ctx, b, c.MessageID)
		if m == nil {
			return nil
		}
		c.GlobCnt = m.GlobCnt
	}
	mid := makeID(c.GlobCnt)
	assoc := c.Flags&storage.FlagAssociated != 0
	var out []*NotifyResponse
	for _, t := range b.targets {
		if t.sub != nil {
			out = append(out, s.messageObjectEvents(ctx, b, t, c, fid, mid, assoc)...)
			continue
		}
		tb := t.table
		if tb.kind == tableHierarchy {
			if r := s.hierarchyRowEvent(ctx, b, t.e, tb, fid); r != nil {
				out = append(out, r)
			}
			continue
		}
		if tb.kind != tableContents || tb.folderID != c.FolderID || b.reloaded[t.e.handle] {
			continue
		}
		if c.Kind != storage.MessageExpunged && tb.assoc != assoc {
			continue
		}
		if r := s.tableRowEvent(ctx, b, t.e, tb, c, fid, mid); r != nil {
			if r.Data.TableEventType == TableChanged {
				b.reloaded[t.e.handle] = true
			}
			out = append(out, r)
		}
	}
	return out
}

// messageObjectEvents are the events of a message change for one
// subscription: NewMail, ObjectCreated, ObjectModified, ObjectDeleted,
// ObjectMoved and ObjectCopied of the message, and ObjectModified of its
// folder (its counts changed).
//
// A move or copy is told as ObjectMoved or ObjectCopied, from its
// MessageAdded (which names the source), to subscriptions on either
// folder or message (MS-OXCNOTIF 2.2.1.4.1.2: FolderId and MessageId are
// the new ones, OldFolderId and OldMessageId the old). A subscription that
// did not ask for that type hears the halves as ObjectCreated and
// ObjectDeleted instead, as it would have before.
func (s *Session) messageObjectEvents(ctx context.Context, b *notifyBatch, t notifyTarget, c storage.Change, fid, mid mp.ID, assoc bool) []*NotifyResponse {
	sub := t.sub
	var oldFID, oldMID mp.ID
	if c.Kind == storage.MessageAdded && c.SourceMessageID != 0 && c.SourceGlobCnt != 0 {
		if f, ok := s.fidOf(ctx, c.SourceFolderID); ok {
			oldFID, oldMID = f, makeID(c.SourceGlobCnt)
		}
	}
	inFolder := sub.wholeStre || sub.folderID == fid
	inSource := oldFID != 0 && sub.folderID == oldFID
	if !inFolder && !inSource {
		return nil
	}
	types := uint16(sub.types)
	forMessage := sub.wholeStre || sub.messageID == 0 || sub.messageID == mid || (oldMID != 0 && sub.messageID == oldMID)
	mk := func(d NotificationData) *NotifyResponse {
		return &NotifyResponse{NotificationHandle: t.e.handle, LogonID: t.e.logonID, Data: d}
	}
	msg := func(typ uint16) NotificationData {
		return NotificationData{NotificationFlags: typ | NotifyFlagMessage, FolderID: fid, MessageID: mid}
	}
	var out []*NotifyResponse
	if forMessage {
		switch c.Kind {
		case storage.MessageAdded:
			if oldMID != 0 {
				typ := NotifyObjectCopied
				if c.Moved {
					typ = NotifyObjectMoved
				}
				if types&typ != 0 {
					d := msg(typ)
					d.OldFolderID, d.OldMessageID = oldFID, oldMID
					out = append(out, mk(d))
					break
				}
				if !inFolder {
					break // the source's subscription hears the expunge
				}
			}
			if types&NotifyNewMail != 0 && c.SourceMessageID == 0 && !assoc && c.Flags&(storage.FlagDraft|storage.FlagSeen) == 0 {
				// MS-OXCNOTIF 2.2.1.4.1.2: NewMail carries the message's
				// flags and class. A copy or move is not new mail.
				d := msg(NotifyNewMail)
				d.UnicodeFlag = true
				d.MessageClass = "IPM.Note"
				if m := s.message(ctx, b, c.MessageID); m != nil && m.MessageClass != "" {
					d.MessageClass = m.MessageClass
				}
				d.MessageFlags = notifyMessageFlags(c.Flags)
				out = append(out, mk(d))
			}
			if types&NotifyObjectCreated != 0 {
				d := msg(NotifyObjectCreated)
				d.TagCount = 0xFFFF
				out = append(out, mk(d))
			}
		case storage.MessageFlagsChanged, storage.MessageUpdated:
			if types&NotifyObjectModified != 0 {
				d := msg(NotifyObjectModified)
				d.Tags = nil
				if c.Kind == storage.MessageFlagsChanged {
					d.Tags = flagChangeTags(c)
				}
				// 0xFFFF: the changed properties are not listed (the feed
				// does not say which stored properties a MAPI save
				// changed, nor which a keyword change touches).
				d.TagCount = 0xFFFF
				if len(d.Tags) > 0 {
					d.TagCount = uint16(len(d.Tags))
				}
				out = append(out, mk(d))
			}
		case storage.MessageExpunged:
			// The expunge that ends a move was told as ObjectMoved to
			// subscriptions that asked for it.
			if types&NotifyObjectDeleted != 0 && !(c.Moved && types&NotifyObjectMoved != 0) {
				out = append(out, mk(msg(NotifyObjectDeleted)))
			}
		}
	}
	// The folder's content counts changed (not for a subscription on one
	// message; a move's source folder hears of it from the expunge).
	key := [2]uint64{uint64(t.e.handle), uint64(fid)}
	if inFolder && types&NotifyObjectModified != 0 && (sub.wholeStre || sub.messageID == 0) && !b.folderModified[key] {
		b.folderModified[key] = true
		out = append(out, mk(NotificationData{NotificationFlags: NotifyObjectModified, FolderID: fid,
			TagCount: 2, Tags: []Tag{mp.PidTagContentCount, mp.PidTagContentUnreadCount}}))
	}
	return out
}

// flagChangeTags lists the MAPI properties a store flag change altered
// (they are computed from the flags; see setIdentity). Keywords have no
// MAPI property here, and \Deleted none at all: nil then.
func flagChangeTags(c storage.Change) []Tag {
	changed := c.Flags ^ c.PrevFlags
	if changed == 0 && !c.KeywordsChanged {
		return []Tag{mp.PidTagMessageFlags} // a publisher that did not say what the flags were
	}
	var tags []Tag
	if changed&(storage.FlagSeen|storage.FlagDraft) != 0 {
		tags = append(tags, mp.PidTagMessageFlags)
	}
	if changed&storage.FlagFlagged != 0 {
		tags = append(tags, mp.PidTagFlagStatus)
	}
	if changed&(storage.FlagAnswered|storage.FlagForwarded) != 0 {
		tags = append(tags, mp.PidTagIconIndex, mp.PidTagLastVerbExecuted)
	}
	return tags
}

// notifyMessageFlags is PidTagMessageFlags of a message with store flags f.
func notifyMessageFlags(f storage.Flags) uint32 {
	var v uint32
	if f&storage.FlagSeen != 0 {
		v |= uint32(mp.MessageFlagRead)
	}
	if f&storage.FlagDraft != 0 {
		v |= uint32(mp.MessageFlagUnsent)
	}
	return v
}

// tableRowEvent makes the table notification of a message change in a
// contents table: TableRowAdded, TableRowModified or TableRowDeleted with
// the row and the row it follows, or TableChanged when the position cannot
// be told cheaply (categories, multi-value instances, a restricted view
// whose membership may change, no column set yet).
func (s *Session) tableRowEvent(ctx context.Context, b *notifyBatch, e *handleEntry, t *tableObj, c storage.Change, fid, mid mp.ID) *NotifyResponse {
	_, mvi := t.mviColumn()
	if t.sort.CategorizedCount > 0 || mvi || len(t.columns) == 0 {
		return tableChanged(e)
	}
	if !b.built[e.handle] {
		t.invalidate() // the view is a live one: what it shows has changed
		b.built[e.handle] = true
	}
	d := NotificationData{NotificationFlags: NotifyTableModified | NotifyFlagMessage, TableRowFolderID: fid, TableRowMessageID: mid}
	if c.Kind == storage.MessageExpunged {
		d.TableEventType = TableRowDeleted
		return &NotifyResponse{NotificationHandle: e.handle, LogonID: e.logonID, Data: d}
	}
	if t.restrict != nil && c.Kind != storage.MessageAdded {
		return tableChanged(e)
	}
	m := s.message(ctx, b, c.MessageID)
	if m == nil {
		return nil // gone already; its expunge follows
	}
	rows, err := s.contentsRows(ctx, t, []storage.Message{*m})
	if err != nil || len(rows) != 1 {
		return tableChanged(e)
	}
	if t.restrict != nil && !s.matcher(ctx, t.restrict).match(rows[0]) {
		return nil // not in this view
	}
	after, ok := s.rowBefore(ctx, t, mid)
	if !ok {
		return tableChanged(e)
	}
	row := mp.NewPropertyRow(t.columns, s.itemValues(ctx, t, viewItem{row: rows[0]}, t.columns))
	data, err := EncodeTableRow(t.columns, row)
	if err != nil {
		return tableChanged(e)
	}
	d.TableEventType = TableRowModified
	if c.Kind == storage.MessageAdded {
		d.TableEventType = TableRowAdded
	}
	d.InsertAfterTableRowFolderID = fid
	d.InsertAfterTableRowID = after
	if after == 0 {
		d.InsertAfterTableRowFolderID = 0 // the first row (MS-OXCNOTIF 2.2.1.4.1.2)
	}
	d.TableRowData = data
	return &NotifyResponse{NotificationHandle: e.handle, LogonID: e.logonID, Data: d}
}

// rowBefore returns the MID of the row before mid in the table's view (0:
// mid is the first row); ok is false when it is not told cheaply. A paged
// view is asked at its ends only, where new mail lands; a built view is
// rebuilt and searched.
func (s *Session) rowBefore(ctx context.Context, t *tableObj, mid mp.ID) (mp.ID, bool) {
	if t.lazy() {
		first, ok, err := s.lazyKeyAt(ctx, t, 0)
		if err != nil || !ok {
			return 0, false
		}
		if mp.ID(first) == mid {
			return 0, true
		}
		n, err := s.srv.store.CountMessages(ctx, s.mbox.accountID, t.folderID, t.assoc)
		if err != nil || n < 2 {
			return 0, false
		}
		last, ok, err := s.lazyKeyAt(ctx, t, int(n-1))
		if err != nil || !ok || mp.ID(last) != mid {
			return 0, false
		}
		prev, ok, err := s.lazyKeyAt(ctx, t, int(n-2))
		if err != nil || !ok {
			return 0, false
		}
		return mp.ID(prev), true
	}
	if err := s.build(ctx, t); err != nil {
		return 0, false
	}
	for i, it := range t.view {
		if it.row != nil && it.row.key == uint64(mid) {
			if i == 0 {
				return 0, true
			}
			return mp.ID(t.view[i-1].row.key), true
		}
	}
	return 0, false
}

// folderNotifications: hierarchy tables reload (TableChanged) and
// subscriptions on the store or the parent folder hear of the folder
// (MS-OXCNOTIF 3.2.5.2).
func (s *Session) folderNotifications(ctx context.Context, b *notifyBatch, c storage.Change) []*NotifyResponse {
	var out []*NotifyResponse
	fid, fok := s.fidOf(ctx, c.FolderID)
	var pfid, oldPFID mp.ID
	pok, oldOK := false, false
	if c.ParentID != 0 {
		pfid, pok = s.fidOf(ctx, c.ParentID)
	}
	if c.Kind == storage.FolderRenamed && c.Moved && c.SourceFolderID != 0 {
		oldPFID, oldOK = s.fidOf(ctx, c.SourceFolderID)
	}
	for _, t := range b.targets {
		if t.table != nil {
			if t.table.kind == tableHierarchy && !b.reloaded[t.e.handle] {
				t.table.invalidate()
				b.reloaded[t.e.handle] = true
				out = append(out, tableChanged(t.e))
			}
			continue
		}
		if !fok {
			continue
		}
		sub := t.sub
		if !sub.wholeStre && sub.folderID != fid && !(pok && sub.folderID == pfid) && !(oldOK && sub.folderID == oldPFID) {
			continue
		}
		types := uint16(sub.types)
		mk := func(d NotificationData) {
			out = append(out, &NotifyResponse{NotificationHandle: t.e.handle, LogonID: t.e.logonID, Data: d})
		}
		switch c.Kind {
		case storage.FolderCreated:
			if types&NotifyObjectCreated != 0 && pok {
				mk(NotificationData{NotificationFlags: NotifyObjectCreated, FolderID: fid, ParentFolderID: pfid, TagCount: 0xFFFF})
			}
		case storage.FolderDeleted:
			if types&NotifyObjectDeleted != 0 {
				mk(NotificationData{NotificationFlags: NotifyObjectDeleted, FolderID: fid, ParentFolderID: pfid})
			}
		case storage.FolderRenamed, storage.FolderUpdated:
			// MS-OXCNOTIF 2.2.1.4.1.2: a folder that changed parent is
			// ObjectMoved, with its old parent, to whoever asked for moves.
			if oldOK && pok && types&NotifyObjectMoved != 0 {
				mk(NotificationData{NotificationFlags: NotifyObjectMoved, FolderID: fid, ParentFolderID: pfid, OldFolderID: fid, OldParentFolderID: oldPFID})
			} else if types&NotifyObjectModified != 0 {
				mk(NotificationData{NotificationFlags: NotifyObjectModified, FolderID: fid, TagCount: 0xFFFF})
			}
		}
	}
	return out
}

// hierarchyRowEvent tells a hierarchy table that a folder's row changed
// (its counts), once per batch: TableRowModified with the row and the row
// it follows (MS-OXCNOTIF 3.2.5.3). Nothing when the folder is not in the
// view or the view is categorised.
func (s *Session) hierarchyRowEvent(ctx context.Context, b *notifyBatch, e *handleEntry, t *tableObj, fid mp.ID) *NotifyResponse {
	key := [2]uint64{uint64(e.handle), uint64(fid)}
	if b.reloaded[e.handle] || b.hierRow[key] || len(t.columns) == 0 || t.sort.CategorizedCount > 0 {
		return nil
	}
	b.hierRow[key] = true
	if !b.built[e.handle] {
		t.invalidate()
		b.built[e.handle] = true
	}
	if err := s.build(ctx, t); err != nil {
		return nil
	}
	for i, it := range t.view {
		if it.row == nil || it.row.key != uint64(fid) {
			continue
		}
		row := mp.NewPropertyRow(t.columns, s.itemValues(ctx, t, it, t.columns))
		data, err := EncodeTableRow(t.columns, row)
		if err != nil {
			return nil
		}
		d := NotificationData{NotificationFlags: NotifyTableModified, TableEventType: TableRowModified,
			TableRowFolderID: fid, TableRowData: data}
		if i > 0 && t.view[i-1].row != nil {
			d.InsertAfterTableRowFolderID = mp.ID(t.view[i-1].row.key)
		}
		return &NotifyResponse{NotificationHandle: e.handle, LogonID: e.logonID, Data: d}
	}
	return nil
}
