package rop

import (
	"context"
	"slices"
	"strings"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/storage"
)

// Logon and store ROPs (MS-OXCSTOR).

// logonFolderRoles are the 13 special folders RopLogon returns, in the
// order of MS-OXCSTOR 2.2.1.1.3.
var logonFolderRoles = [13]string{
	storage.RoleRoot, storage.RoleDeferredAction, storage.RoleSpoolerQueue, storage.RoleIPMSubtree,
	storage.RoleInbox, storage.RoleOutbox, storage.RoleSent, storage.RoleDeleted,
	storage.RoleCommonViews, storage.RoleSchedule, storage.RoleFinder, storage.RoleViews, storage.RoleShortcuts,
}

// roleFID is the FID of a well-known folder.
func roleFID(role string) mp.ID {
	gc, _ := storage.WellKnownGlobCnt(role)
	return makeID(gc)
}

// ropLogon opens the private mailbox (MS-OXCSTOR 3.2.5.1). Only the
// session's own mailbox may be opened: another user's DN is ecLoginPerm,
// an unknown one ecUnknownUser. Public folders are not served.
func (s *Session) ropLogon(ctx context.Context, x *LogonRequest, st *execState) Response {
	if x.LogonFlags&LogonFlagPrivate == 0 {
		return fail(x, mp.ErrLoginFailure)
	}
	if !strings.EqualFold(strings.TrimSpace(x.Essdn), s.legacyDN) {
		ec := mp.ErrLoginPerm
		if resolve := s.srv.opts.AccountByLegacyDN; resolve != nil {
			a, err := resolve(ctx, x.Essdn)
			switch {
			case err != nil || a == nil:
				ec = mp.ErrUnknownUser
			case a.ID == s.acc.ID:
				ec = mp.Success // another spelling of our own DN
			}
		}
		if ec != mp.Success {
			return fail(x, ec)
		}
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return fail(x, err)
	}
	// MS-OXCROPS 2.2.3.1.1: a logon with an active LogonId replaces it.
	if old, ok := s.logons[x.LogonID]; ok {
		s.release(old)
	}
	e, err := s.newHandle(x.LogonID, nil, &logonObj{id: x.LogonID, flags: x.LogonFlags, openFlags: x.OpenFlags})
	if err != nil {
		return fail(x, err)
	}
	s.logons[x.LogonID] = e.handle
	st.handles[x.OutputHandleIndex] = e.handle
	resp := newResp[*LogonResponse](x)
	resp.LogonFlags = x.LogonFlags
	for i, role := range logonFolderRoles {
		resp.FolderIDs[i] = roleFID(role)
	}
	resp.ResponseFlags = LogonResponseReserved | LogonResponseOwnerRight | LogonResponseSendAsRight
	resp.MailboxGUID = s.mbox.storeGUID
	resp.ReplID = 1
	resp.ReplGUID = s.mbox.replGUID
	now := time.Now()
	resp.LogonTime = NewLogonTime(now)
	resp.GwartTime = mp.TimeToFileTime(now)
	return resp
}

// Store support mask bits (MS-OXCSTOR 2.2.2.1.1.x).
const storeSupportMask int32 = 0x00000001 | // ENTRYID_UNIQUE
	0x00000008 | 0x00000010 | 0x00000020 | 0x00000040 | // MODIFY, CREATE, ATTACH, OLE
	0x00000080 | 0x00000100 | 0x00000200 | 0x00000400 | // SUBMIT, NOTIFY, MV_PROPS, CATEGORIZE
	0x00000800 | 0x00001000 | 0x00002000 | 0x00008000 | // RTF, RESTRICTION, SORT, UNCOMPRESSED_RTF
	0x00010000 | 0x00020000 | 0x00040000 // HTML, ANSI, UNICODE

// getProps returns the store object's properties (MS-OXCSTOR 2.2.2.1).
func (l *logonObj) getProps(ctx context.Context, s *Session, _ bool) (oxcmail.Props, error) {
	var p oxcmail.Props
	name := s.acc.DisplayName
	if name == "" {
		name = s.acc.Address
	}
	storeKey := append([]byte{}, s.mbox.storeGUID[:]...)
	ownerEID := mp.AddressBookEntryID{DisplayType: mp.DisplayTypeMailUser, X500DN: s.legacyDN}.Bytes()
	p.Set(mp.StringValue(mp.PidTagDisplayName, "Mailbox - "+name))
	p.Set(mp.BinaryValue(mp.PidTagStoreRecordKey, storeKey))
	p.Set(mp.BinaryValue(mp.PidTagRecordKey, storeKey))
	p.Set(mp.BinaryValue(mp.PidTagStoreEntryId, s.storeEntryID()))
	p.Set(mp.BinaryValue(mp.PidTagEntryId, s.storeEntryID()))
	p.Set(mp.BinaryValue(mp.PidTagMappingSignature, append([]byte{}, s.mbox.replGUID[:]...)))
	p.Set(mp.BinaryValue(mp.PidTagStoreProvider, append([]byte{}, mp.ProviderUIDPrivateStore[:]...)))
	p.Set(mp.Int32Value(mp.PidTagStoreSupportMask, storeSupportMask))
	p.Set(mp.Int32Value(mp.PidTagStoreState, 0))
	p.Set(mp.Int32Value(mp.PidTagObjectType, mp.ObjectTypeStore))
	p.Set(mp.StringValue(mp.PidTagMailboxOwnerName, name))
	p.Set(mp.BinaryValue(mp.PidTagMailboxOwnerEntryId, ownerEID))
	p.Set(mp.BinaryValue(mp.PidTagUserEntryId, ownerEID))
	p.Set(mp.StringValue(mp.PidTagEmailAddress, s.legacyDN))
	p.Set(mp.StringValue(mp.PidTagAddressType, "EX"))
	p.Set(mp.Int32Value(mp.PidTagLocaleId, 1033))
	p.Set(mp.Int32Value(mp.PidTagSortLocaleId, 1033))
	p.Set(mp.Int32Value(mp.PidTagCodePageId, int32(s.codePage)))
	p.Set(mp.Int32Value(mp.PidTagMaximumSubmitMessageSize, 50*1024)) // KiB
	p.Set(mp.BoolValue(mp.PidTagOutOfOfficeState, false))
	for _, ef := range []struct {
		tag  mp.Tag
		role string
	}{
		{mp.PidTagRootEntryId, storage.RoleRoot}, {mp.PidTagIpmSubtreeEntryId, storage.RoleIPMSubtree},
		{mp.PidTagIpmInboxEntryId, storage.RoleInbox}, {mp.PidTagIpmOutboxEntryId, storage.RoleOutbox},
		{mp.PidTagIpmWastebasketEntryId, storage.RoleDeleted}, {mp.PidTagIpmSentMailEntryId, storage.RoleSent},
		{mp.PidTagViewsEntryId, storage.RoleViews}, {mp.PidTagCommonViewsEntryId, storage.RoleCommonViews},
		{mp.PidTagFinderEntryId, storage.RoleFinder}, {mp.PidTagSpoolerQueueEntryId, storage.RoleSpoolerQueue},
	} {
		gc, _ := storage.WellKnownGlobCnt(ef.role)
		p.Set(mp.BinaryValue(ef.tag, s.folderEntryID(gc)))
	}
	// FOLDER_IPM_SUBTREE_VALID … FOLDER_FINDER_VALID (MS-OXCSTOR 2.2.2.1.1.11).
	p.Set(mp.Int32Value(mp.PidTagValidFolderMask, 0xFF))
	if mb, err := s.srv.store.Mailbox(ctx, s.mbox.accountID); err == nil {
		p.Set(mp.Int32Value(mp.PidTagMessageSize, int32(min(mb.UsedBytes, 1<<31-1))))
		p.Set(mp.Int64Value(mp.PidTagMessageSizeExtended, mb.UsedBytes))
		if mb.QuotaBytes > 0 {
			kb := int32(min(mb.QuotaBytes/1024, 1<<31-1))
			p.Set(mp.Int32Value(mp.PidTagProhibitSendQuota, kb))
			p.Set(mp.Int32Value(mp.PidTagProhibitReceiveQuota, kb))
			p.Set(mp.Int32Value(mp.PidTagStorageQuotaLimit, kb))
		}
	}
	rows, err := s.srv.store.PropsOf(ctx, s.mbox.accountID, storage.ObjectStore, []int64{s.mbox.accountID}, false)
	if err != nil {
		return p, err
	}
	overlay(&p, rows[s.mbox.accountID])
	return p, nil
}

// storeComputed reports store properties a client cannot set.
func storeComputed(t mp.Tag) bool {
	switch t.ID() {
	case mp.PidTagStoreRecordKey.ID(), mp.PidTagRecordKey.ID(), mp.PidTagStoreEntryId.ID(), mp.PidTagEntryId.ID(),
		mp.PidTagMappingSignature.ID(), mp.PidTagStoreSupportMask.ID(), mp.PidTagObjectType.ID(),
		mp.PidTagMailboxOwnerEntryId.ID(), mp.PidTagUserEntryId.ID(), mp.PidTagMessageSize.ID(),
		mp.PidTagValidFolderMask.ID():
		return true
	}
	return t.ID() >= mp.PidTagRootEntryId.ID() && t.ID() <= mp.PidTagSpoolerQueueEntryId.ID()
}

// setProps stores store properties at once (MS-OXCPRPT 3.2.5.4: store and
// folder writes are not transacted).
func (l *logonObj) setProps(ctx context.Context, s *Session, vals []mp.Value) ([]mp.PropertyProblem, error) {
	var rows []storage.PropValue
	var problems []mp.PropertyProblem
	for i, v := range vals {
		if storeComputed(v.Tag) || !storable(v) {
			problems = append(problems, problem(i, v.Tag, mp.ErrAccessDenied))
			continue
		}
		pv, err := encodeStored(v)
		if err != nil {
			problems = append(problems, problem(i, v.Tag, mp.ErrInvalidParam))
			continue
		}
		rows = append(rows, pv)
	}
	if len(rows) == 0 {
		return problems, nil
	}
	err := s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		return tx.SetProps(s.mbox.accountID, storage.ObjectStore, s.mbox.accountID, rows)
	})
	return problems, err
}

func (l *logonObj) deleteProps(ctx context.Context, s *Session, tags []mp.Tag) ([]mp.PropertyProblem, error) {
	var ids []uint16
	var problems []mp.PropertyProblem
	for i, t := range tags {
		if storeComputed(t) {
			problems = append(problems, problem(i, t, mp.ErrAccessDenied))
			continue
		}
		ids = append(ids, t.ID())
	}
	err := s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		return tx.DeletePropIDs(s.mbox.accountID, storage.ObjectStore, s.mbox.accountID, ids)
	})
	return problems, err
}

// receiveEntry is one receive folder setting (MS-OXCSTOR 2.2.1.2).
type receiveEntry struct {
	class    string // upper-case
	folderGC int64
	modified time.Time
}

// receiveFolders returns the store's receive folder settings: the stored
// ones over the defaults (the Inbox for "", IPM and REPORT.IPM, the root
// for IPC, as Exchange has them).
func (s *Session) receiveFolders(ctx context.Context) ([]receiveEntry, error) {
	inbox, _ := storage.WellKnownGlobCnt(storage.RoleInbox)
	root, _ := storage.WellKnownGlobCnt(storage.RoleRoot)
	mb, err := s.srv.store.Mailbox(ctx, s.mbox.accountID)
	if err != nil {
		return nil, err
	}
	out := []receiveEntry{{"", inbox, mb.CreatedAt}, {"IPC", root, mb.CreatedAt}, {"IPM", inbox, mb.CreatedAt}, {"REPORT.IPM", inbox, mb.CreatedAt}}
	rows, err := s.srv.store.PropsOf(ctx, s.mbox.accountID, storage.ObjectStore, []int64{s.mbox.accountID}, true)
	if err != nil {
		return nil, err
	}
	for _, r := range rows[s.mbox.accountID] {
		if r.Tag != tagInternalReceive {
			continue
		}
		rd := storedReader(r.Value)
		n := rd.U32()
		for i := uint32(0); i < n && rd.Err() == nil && rd.Len() > 0; i++ {
			e := receiveEntry{class: rd.UTF16String(), folderGC: int64(rd.U64()), modified: mp.FileTimeToTime(rd.U64())}
			if rd.Err() != nil {
				break
			}
			out = slices.DeleteFunc(out, func(o receiveEntry) bool { return o.class == e.class })
			if e.folderGC != 0 {
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b receiveEntry) int { return strings.Compare(a.class, b.class) })
	return out, nil
}

// ropGetReceiveFolder finds the folder that receives a message class: the
// setting of the longest class that is the class or a prefix of it
// (MS-OXCSTOR 3.2.5.2).
func (s *Session) ropGetReceiveFolder(ctx context.Context, x *GetReceiveFolderRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	class := normalizeClass(x.MessageClass)
	if len(class) > 255 {
		return nil, mp.ErrInvalidParam
	}
	entries, err := s.receiveFolders(ctx)
	if err != nil {
		return nil, err
	}
	best := -1
	for i, e := range entries {
		if e.class == "" || class == e.class || strings.HasPrefix(class, e.class+".") {
			if best < 0 || len(e.class) > len(entries[best].class) {
				best = i
			}
		}
	}
	resp := newResp[*GetReceiveFolderResponse](x)
	resp.FolderID = makeID(entries[best].folderGC)
	resp.ExplicitMessageClass = entries[best].class
	return resp, nil
}

// ropSetReceiveFolder sets or (FolderID 0) removes a receive folder
// (MS-OXCSTOR 3.2.5.3).
func (s *Session) ropSetReceiveFolder(ctx context.Context, x *SetReceiveFolderRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	class := normalizeClass(x.MessageClass)
	if len(class) > 255 || class == "IPC" || strings.HasPrefix(class, "IPC.") {
		return nil, mp.ErrAccessDenied
	}
	var gc int64
	if x.FolderID != 0 {
		var ok bool
		if gc, ok = globCntOf(x.FolderID); !ok {
			return nil, mp.ErrNotFound
		}
		if _, err := s.srv.store.FolderByGlobCnt(ctx, s.mbox.accountID, gc); err != nil {
			return nil, err
		}
	} else if class == "" {
		return nil, mp.ErrCallFailed // the default cannot be removed
	}
	entries, err := s.receiveFolders(ctx)
	if err != nil {
		return nil, err
	}
	entries = slices.DeleteFunc(entries, func(e receiveEntry) bool { return e.class == class })
	w := storedWriter()
	w.U32(uint32(len(entries) + 1))
	for _, e := range entries {
		w.UTF16String(e.class)
		w.U64(uint64(e.folderGC))
		w.U64(mp.TimeToFileTime(e.modified))
	}
	w.UTF16String(class)
	w.U64(uint64(gc))
	w.U64(mp.TimeToFileTime(time.Now()))
	err = s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		return tx.SetProps(s.mbox.accountID, storage.ObjectStore, s.mbox.accountID, []storage.PropValue{{Tag: tagInternalReceive, Value: w.Bytes()}})
	})
	if err != nil {
		return nil, err
	}
	return newResp[*SetReceiveFolderResponse](x), nil
}

// ropGetReceiveFolderTable lists the receive folder settings
// (MS-OXCSTOR 3.2.5.4).
func (s *Session) ropGetReceiveFolderTable(ctx context.Context, x *GetReceiveFolderTableRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	entries, err := s.receiveFolders(ctx)
	if err != nil {
		return nil, err
	}
	cols := ReceiveFolderTableColumns()
	resp := newResp[*GetReceiveFolderTableResponse](x)
	for _, e := range entries {
		resp.Rows = append(resp.Rows, mp.NewPropertyRow(cols, []mp.Value{
			mp.Int64Value(mp.PidTagFolderId, int64(makeID(e.folderGC))),
			mp.String8Value(mp.PidTagMessageClass, e.class),
			mp.TimeValue(mp.PidTagLastModificationTime, e.modified),
		}))
	}
	return resp, nil
}

// ropGetStoreState: no search folders are being populated (MS-OXCSTOR 3.2.5.7).
func (s *Session) ropGetStoreState(_ context.Context, x *GetStoreStateRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	return newResp[*GetStoreStateResponse](x), nil
}

// ropLongTermIdFromId (MS-OXCSTOR 3.2.5.8): the replica GUID of replica 1
// and the GLOBCNT.
func (s *Session) ropLongTermIdFromId(_ context.Context, x *LongTermIdFromIdRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	gc, ok := globCntOf(x.ObjectID)
	if !ok {
		return nil, mp.ErrNotFound
	}
	resp := newResp[*LongTermIdFromIdResponse](x)
	resp.LongTermID = mp.NewLongTermID(s.mbox.replGUID, uint64(gc))
	return resp, nil
}

// ropIdFromLongTermId (MS-OXCSTOR 3.2.5.9).
func (s *Session) ropIdFromLongTermId(_ context.Context, x *IdFromLongTermIdRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	if x.LongTermID.DatabaseGUID != s.mbox.replGUID {
		return nil, mp.ErrNotFound
	}
	resp := newResp[*IdFromLongTermIdResponse](x)
	resp.ObjectID = makeID(int64(x.LongTermID.Counter()))
	return resp, nil
}

// ropGetPerUserLongTermIds: a private mailbox keeps no per-user data for
// other stores (MS-OXCSTOR 3.2.5.11), so the list is empty.
func (s *Session) ropGetPerUserLongTermIds(_ context.Context, x *GetPerUserLongTermIdsRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	return newResp[*GetPerUserLongTermIdsResponse](x), nil
}
