package rop

import (
	"context"
	"encoding/binary"
	"errors"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/storage"
)

// Folder objects and folder ROPs (MS-OXCFOLD).

// folderObj is an opened folder.
type folderObj struct {
	id      int64 // storage folder id
	globCnt int64
}

// folderSnap is the folder tree of a mailbox with counts and stored
// properties, read once per request that needs it.
type folderSnap struct {
	byID     map[int64]*storage.Folder
	byGC     map[int64]*storage.Folder
	children map[int64][]*storage.Folder // in id order
	counts   map[int64]storage.FolderCount
	stored   map[int64][]storage.PropValue // internal rows included
}

func (s *Session) snapshot(ctx context.Context) (*folderSnap, error) {
	fs, err := s.srv.store.Folders(ctx, s.mbox.accountID)
	if err != nil {
		return nil, err
	}
	snap := &folderSnap{byID: map[int64]*storage.Folder{}, byGC: map[int64]*storage.Folder{}, children: map[int64][]*storage.Folder{}}
	ids := make([]int64, len(fs))
	for i := range fs {
		f := &fs[i]
		ids[i] = f.ID
		snap.byID[f.ID] = f
		snap.byGC[f.GlobCnt] = f
		snap.children[f.ParentID] = append(snap.children[f.ParentID], f)
	}
	if snap.counts, err = s.srv.store.FolderCounts(ctx, s.mbox.accountID); err != nil {
		return nil, err
	}
	if snap.stored, err = s.srv.store.PropsOf(ctx, s.mbox.accountID, storage.ObjectFolder, ids, true); err != nil {
		return nil, err
	}
	return snap, nil
}

// Folder types (MS-OXCFOLD 2.2.2.2.1.9).
const (
	folderTypeRoot    int32 = 0
	folderTypeGeneric int32 = 1
)

// rightsOwner is every right of MS-OXCPERM 2.2.7 but the free/busy ones:
// the mailbox owner's rights on its folders.
const rightsOwner int32 = 0x000007FB

// specialEntryIDs are the entry-id properties the Inbox and the root
// carry so clients find the special folders (MS-OXOSFLD 2.2.3).
var specialEntryIDs = []struct {
	tag  mp.Tag
	role string
}{
	{mp.PidTagIpmAppointmentEntryId, storage.RoleCalendar},
	{mp.PidTagIpmContactEntryId, storage.RoleContacts},
	{mp.PidTagIpmJournalEntryId, storage.RoleJournal},
	{mp.PidTagIpmNoteEntryId, storage.RoleNotes},
	{mp.PidTagIpmTaskEntryId, storage.RoleTasks},
	{mp.PidTagIpmDraftsEntryId, storage.RoleDrafts},
}

// additionalRen are the folders of PidTagAdditionalRenEntryIds, in order
// (MS-OXOSFLD 2.2.4).
var additionalRen = []string{storage.RoleConflicts, storage.RoleSyncIssues, storage.RoleLocalFailures, storage.RoleServerFailures, storage.RoleJunk}

// folderProps computes a folder's properties (MAPI.md §9.1, §9.3).
func (s *Session) folderProps(snap *folderSnap, f *storage.Folder) oxcmail.Props {
	var p oxcmail.Props
	c := snap.counts[f.ID]
	kids := snap.children[f.ID]
	name := f.Name
	p.Set(mp.StringValue(mp.PidTagDisplayName, name))
	p.Set(mp.Int64Value(mp.PidTagFolderId, int64(makeID(f.GlobCnt))))
	eid := s.folderEntryID(f.GlobCnt)
	p.Set(mp.BinaryValue(mp.PidTagEntryId, eid))
	p.Set(mp.BinaryValue(mp.PidTagRecordKey, eid))
	p.Set(mp.BinaryValue(mp.PidTagSourceKey, s.sourceKey(f.GlobCnt)))
	if parent := snap.byID[f.ParentID]; parent != nil {
		p.Set(mp.Int64Value(mp.PidTagParentFolderId, int64(makeID(parent.GlobCnt))))
		p.Set(mp.BinaryValue(mp.PidTagParentEntryId, s.folderEntryID(parent.GlobCnt)))
		p.Set(mp.BinaryValue(mp.PidTagParentSourceKey, s.sourceKey(parent.GlobCnt)))
	} else {
		p.Set(mp.Int64Value(mp.PidTagParentFolderId, 0))
		p.Set(mp.BinaryValue(mp.PidTagParentEntryId, eid))
		p.Set(mp.BinaryValue(mp.PidTagParentSourceKey, []byte{}))
	}
	p.Set(mp.BinaryValue(mp.PidTagChangeKey, s.changeKey(f.ChangeNum)))
	p.Set(mp.BinaryValue(mp.PidTagPredecessorChangeList, s.predecessors(f.ChangeNum)))
	p.Set(mp.Int64Value(mp.PidTagChangeNumber, int64(makeID(f.ChangeNum))))
	p.Set(mp.Int32Value(mp.PidTagContentCount, int32(c.Messages)))
	p.Set(mp.Int32Value(mp.PidTagContentUnreadCount, int32(c.Unread)))
	p.Set(mp.Int32Value(mp.PidTagAssociatedContentCount, int32(c.Associated)))
	p.Set(mp.Int32Value(mp.PidTagFolderChildCount, int32(len(kids))))
	p.Set(mp.BoolValue(mp.PidTagSubfolders, len(kids) > 0))
	p.Set(mp.Int32Value(mp.PidTagMessageSize, int32(min(c.Size, 1<<31-1))))
	p.Set(mp.Int64Value(mp.PidTagMessageSizeExtended, c.Size))
	if f.ContainerClass != "" {
		p.Set(mp.StringValue(mp.PidTagContainerClass, f.ContainerClass))
	}
	ft := folderTypeGeneric
	if f.Role == storage.RoleRoot {
		ft = folderTypeRoot
	}
	p.Set(mp.Int32Value(mp.PidTagFolderType, ft))
	p.Set(mp.BoolValue(mp.PidTagAttributeHidden, f.Hidden))
	access := mp.AccessModify | mp.AccessRead | mp.AccessDelete | mp.AccessCreateHierarchy | mp.AccessCreateContents | mp.AccessCreateAssociated
	if f.Role != "" {
		access &^= mp.AccessDelete // special folders stay
	}
	p.Set(mp.Int32Value(mp.PidTagAccess, access))
	p.Set(mp.Int32Value(mp.PidTagAccessLevel, 1))
	p.Set(mp.Int32Value(mp.PidTagRights, rightsOwner))
	p.Set(mp.Int32Value(mp.PidTagObjectType, mp.ObjectTypeFolder))
	p.Set(mp.TimeValue(mp.PidTagCreationTime, f.CreatedAt))
	p.Set(mp.TimeValue(mp.PidTagLastModificationTime, f.UpdatedAt))
	p.Set(mp.TimeValue(mp.PidTagLocalCommitTimeMax, f.UpdatedAt))
	p.Set(mp.Int32Value(mp.PidTagDeletedCountTotal, 0))
	p.Set(mp.Int32Value(mp.PidTagHierarchyChangeNumber, int32(f.ChangeNum)))
	hasRules := false
	for _, r := range snap.stored[f.ID] {
		if r.Tag == tagInternalRules && len(r.Value) > 4 {
			hasRules = true
		}
	}
	p.Set(mp.BoolValue(mp.PidTagHasRules, hasRules))
	if f.Role == storage.RoleInbox || f.Role == storage.RoleRoot {
		for _, se := range specialEntryIDs {
			if gc, ok := storage.WellKnownGlobCnt(se.role); ok && snap.byGC[gc] != nil {
				p.Set(mp.BinaryValue(se.tag, s.folderEntryID(gc)))
			}
		}
		var ren [][]byte
		for _, role := range additionalRen {
			gc, ok := storage.WellKnownGlobCnt(role)
			if ok && snap.byGC[gc] != nil {
				ren = append(ren, s.folderEntryID(gc))
			} else {
				ren = append(ren, []byte{})
			}
		}
		p.Set(mp.Value{Tag: mp.PidTagAdditionalRenEntryIds, Data: ren})
	}
	var stored []storage.PropValue
	for _, r := range snap.stored[f.ID] {
		if r.Tag >= storage.InternalTagLimit {
			stored = append(stored, r)
		}
	}
	overlay(&p, stored)
	return p
}

// folderComputed reports folder properties a client cannot set.
func folderComputed(t mp.Tag) bool {
	switch t.ID() {
	case mp.PidTagFolderId.ID(), mp.PidTagParentFolderId.ID(), mp.PidTagEntryId.ID(), mp.PidTagRecordKey.ID(),
		mp.PidTagSourceKey.ID(), mp.PidTagParentSourceKey.ID(), mp.PidTagParentEntryId.ID(), mp.PidTagChangeKey.ID(),
		mp.PidTagPredecessorChangeList.ID(), mp.PidTagChangeNumber.ID(), mp.PidTagContentCount.ID(),
		mp.PidTagContentUnreadCount.ID(), mp.PidTagAssociatedContentCount.ID(), mp.PidTagFolderChildCount.ID(),
		mp.PidTagSubfolders.ID(), mp.PidTagMessageSize.ID(), mp.PidTagFolderType.ID(), mp.PidTagAccess.ID(),
		mp.PidTagAccessLevel.ID(), mp.PidTagRights.ID(), mp.PidTagObjectType.ID(), mp.PidTagHasRules.ID(),
		mp.PidTagDeletedCountTotal.ID(), mp.PidTagHierarchyChangeNumber.ID(), mp.PidTagInstanceKey.ID(),
		mp.PidTagDepth.ID(), mp.PidTagInstID.ID(), mp.PidTagInstanceNum.ID(), mp.PidTagRowType.ID():
		return true
	}
	return false
}

func (f *folderObj) getProps(ctx context.Context, s *Session, _ bool) (oxcmail.Props, error) {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return oxcmail.Props{}, err
	}
	row := snap.byID[f.id]
	if row == nil {
		return oxcmail.Props{}, mp.ErrObjectDeleted
	}
	return s.folderProps(snap, row), nil
}

// setProps writes folder properties at once (MS-OXCFOLD 3.2.5.x: folder
// changes are not transacted). A new PidTagDisplayName renames the folder.
func (f *folderObj) setProps(ctx context.Context, s *Session, vals []mp.Value) ([]mp.PropertyProblem, error) {
	var rows []storage.PropValue
	var problems []mp.PropertyProblem
	rename := ""
	for i, v := range vals {
		switch {
		case folderComputed(v.Tag) || !storable(v):
			problems = append(problems, problem(i, v.Tag, mp.ErrAccessDenied))
			continue
		case v.Tag.ID() == mp.PidTagDisplayName.ID():
			name, _ := v.Data.(string)
			if !storage.ValidFolderName(name) {
				problems = append(problems, problem(i, v.Tag, mp.ErrInvalidParam))
				continue
			}
			rename = name
			continue
		}
		pv, err := encodeStored(v)
		if err != nil {
			problems = append(problems, problem(i, v.Tag, mp.ErrInvalidParam))
			continue
		}
		rows = append(rows, pv)
	}
	if rename != "" {
		row, err := s.srv.store.Folder(ctx, s.mbox.accountID, f.id)
		if err != nil {
			return nil, err
		}
		if row.Name != rename {
			if err := s.srv.store.RenameFolder(ctx, s.mbox.accountID, f.id, row.ParentID, rename); err != nil {
				return nil, err
			}
		}
	}
	if len(rows) > 0 {
		err := s.srv.store.Write(ctx, func(tx *storage.Tx) error {
			if err := tx.SetProps(s.mbox.accountID, storage.ObjectFolder, f.id, rows); err != nil {
				return err
			}
			_, err := tx.TouchFolder(s.mbox.accountID, f.id)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return problems, nil
}

func (f *folderObj) deleteProps(ctx context.Context, s *Session, tags []mp.Tag) ([]mp.PropertyProblem, error) {
	var del []uint16
	var problems []mp.PropertyProblem
	for i, t := range tags {
		if folderComputed(t) || t.ID() == mp.PidTagDisplayName.ID() {
			problems = append(problems, problem(i, t, mp.ErrAccessDenied))
			continue
		}
		del = append(del, t.ID())
	}
	if len(del) == 0 {
		return problems, nil
	}
	err := s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		if err := tx.DeletePropIDs(s.mbox.accountID, storage.ObjectFolder, f.id, del); err != nil {
			return err
		}
		_, err := tx.TouchFolder(s.mbox.accountID, f.id)
		return err
	})
	return problems, err
}

// folderOf returns the folder object of an entry.
func folderOf(e *handleEntry) (*folderObj, error) {
	f, ok := e.obj.(*folderObj)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	return f, nil
}

// folderByID finds a folder of the mailbox by FID.
func (s *Session) folderByID(ctx context.Context, fid mp.ID) (*storage.Folder, error) {
	gc, ok := globCntOf(fid)
	if !ok {
		return nil, mp.ErrNotFound
	}
	f, err := s.srv.store.FolderByGlobCnt(ctx, s.mbox.accountID, gc)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// hasRules tells whether a folder has stored rules.
func (s *Session) hasRules(ctx context.Context, folderID int64) bool {
	rules, err := s.loadRules(ctx, folderID)
	return err == nil && len(rules) > 0
}

// ropOpenFolder (MS-OXCFOLD 3.2.5.1): the input is the logon or any folder.
func (s *Session) ropOpenFolder(ctx context.Context, x *OpenFolderRequest, in *handleEntry, st *execState) (Response, error) {
	switch in.obj.(type) {
	case *logonObj, *folderObj:
	default:
		return nil, mp.ErrNotSupported
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return nil, err
	}
	f, err := s.folderByID(ctx, x.FolderID)
	if err != nil {
		return nil, err
	}
	if err := s.open(st, x.OutputHandleIndex, in, &folderObj{id: f.ID, globCnt: f.GlobCnt}); err != nil {
		return nil, err
	}
	resp := newResp[*OpenFolderResponse](x)
	resp.HasRules = s.hasRules(ctx, f.ID)
	return resp, nil
}

// ropCreateFolder (MS-OXCFOLD 3.2.5.2). Search folders are not offered.
func (s *Session) ropCreateFolder(ctx context.Context, x *CreateFolderRequest, in *handleEntry, st *execState) (Response, error) {
	parent, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return nil, err
	}
	if x.FolderType != FolderTypeGeneric {
		return nil, mp.ErrNotSupported
	}
	if !storage.ValidFolderName(x.DisplayName) {
		return nil, mp.ErrInvalidParam
	}
	resp := newResp[*CreateFolderResponse](x)
	f, err := s.srv.store.CreateFolder(ctx, s.mbox.accountID, parent.id, x.DisplayName, "")
	if errors.Is(err, storage.ErrExists) {
		if !x.OpenExisting {
			return nil, mp.ErrDuplicateName
		}
		fs, ferr := s.srv.store.Folders(ctx, s.mbox.accountID)
		if ferr != nil {
			return nil, ferr
		}
		for i := range fs {
			if fs[i].ParentID == parent.id && equalFoldName(fs[i].Name, x.DisplayName) {
				f = &fs[i]
			}
		}
		if f == nil {
			return nil, mp.ErrDuplicateName
		}
		resp.IsExistingFolder = true
		resp.HasRules = s.hasRules(ctx, f.ID)
	} else if err != nil {
		return nil, err
	} else if x.Comment != "" {
		pv, perr := encodeStored(mp.StringValue(mp.PidTagComment, x.Comment))
		if perr == nil {
			if err := s.srv.store.Write(ctx, func(tx *storage.Tx) error {
				return tx.SetProps(s.mbox.accountID, storage.ObjectFolder, f.ID, []storage.PropValue{pv})
			}); err != nil {
				return nil, err
			}
		}
	}
	if err := s.open(st, x.OutputHandleIndex, in, &folderObj{id: f.ID, globCnt: f.GlobCnt}); err != nil {
		return nil, err
	}
	resp.FolderID = makeID(f.GlobCnt)
	return resp, nil
}

func equalFoldName(a, b string) bool {
	return len(a) == len(b) && (a == b || normalizeClass(a) == normalizeClass(b))
}

// ropDeleteFolder deletes a subfolder of the input folder (MS-OXCFOLD
// 3.2.5.3). Without DEL_MESSAGES / DEL_FOLDERS a folder with contents is
// refused; special folders cannot be deleted.
func (s *Session) ropDeleteFolder(ctx context.Context, x *DeleteFolderRequest, in *handleEntry) (Response, error) {
	parent, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	f, err := s.folderByID(ctx, x.FolderID)
	if err != nil {
		return nil, err
	}
	if f.ParentID != parent.id {
		return nil, mp.ErrNotFound
	}
	if f.Role != "" {
		return nil, mp.ErrAccessDenied
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	c := snap.counts[f.ID]
	if x.DeleteFolderFlags&DeleteFolderMessages == 0 && c.Messages+c.Associated > 0 {
		return nil, mp.ErrHasMessages
	}
	if x.DeleteFolderFlags&DeleteFolderFolders == 0 && len(snap.children[f.ID]) > 0 {
		return nil, mp.ErrHasFolders
	}
	if err := s.srv.store.DeleteFolder(ctx, s.mbox.accountID, f.ID); err != nil {
		return nil, err
	}
	return newResp[*DeleteFolderResponse](x), nil
}

// ropEmptyFolder removes a folder's messages and subfolders (MS-OXCFOLD
// 3.2.5.9, and RopHardDeleteMessagesAndSubfolders 3.2.5.10: nothing is
// kept for recovery here, so both are hard).
func (s *Session) ropEmptyFolder(ctx context.Context, req Request, in *handleEntry, assoc bool) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	row, err := s.srv.store.Folder(ctx, s.mbox.accountID, f.id)
	if err != nil {
		return nil, err
	}
	if row.Role == storage.RoleRoot || row.Role == storage.RoleIPMSubtree {
		return nil, mp.ErrAccessDenied
	}
	var kept bool
	err = s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		var err error
		kept, err = tx.EmptyFolder(s.mbox.accountID, f.id, assoc)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp, err := NewResponse(req)
	if err != nil {
		return nil, err
	}
	switch r := resp.(type) {
	case *EmptyFolderResponse:
		r.PartialCompletion = kept
	case *HardDeleteMessagesAndSubfoldersResponse:
		r.PartialCompletion = kept
	}
	return resp, nil
}

// messagesOf maps MIDs to the rows of a folder; missing tells whether some
// were not there.
func (s *Session) messagesOf(ctx context.Context, folderID int64, mids []ID) (ids []int64, missing bool, err error) {
	gcs := make([]int64, 0, len(mids))
	for _, mid := range mids {
		gc, ok := globCntOf(mid)
		if !ok {
			missing = true
			continue
		}
		gcs = append(gcs, gc)
	}
	ms, err := s.srv.store.MessagesByGlobCnt(ctx, s.mbox.accountID, folderID, gcs)
	if err != nil {
		return nil, false, err
	}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids, missing || len(ms) < len(gcs), nil
}

// ropMoveCopyMessages (MS-OXCFOLD 3.2.5.6).
func (s *Session) ropMoveCopyMessages(ctx context.Context, x *MoveCopyMessagesRequest, in *handleEntry, st *execState) (Response, error) {
	src, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	dst := s.destFolder(st, x.DestHandleIndex, x.LogonID)
	if dst == nil {
		resp := newResp[*MoveCopyMessagesResponse](x)
		resp.ReturnValue = mp.ErrDstNullObject
		resp.DestHandleIndex = uint32(x.DestHandleIndex)
		return resp, nil
	}
	ids, missing, err := s.messagesOf(ctx, src.id, x.MessageIDs)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 && !(src.id == dst.id && !x.WantCopy) {
		if x.WantCopy {
			_, err = s.srv.store.CopyMessages(ctx, s.mbox.accountID, src.id, ids, dst.id)
		} else {
			_, err = s.srv.store.MoveMessages(ctx, s.mbox.accountID, src.id, ids, dst.id)
		}
		if err != nil {
			return nil, err
		}
	}
	resp := newResp[*MoveCopyMessagesResponse](x)
	resp.PartialCompletion = missing
	return resp, nil
}

// ropMoveFolder moves a subfolder of the input folder under the
// destination, optionally renamed (MS-OXCFOLD 3.2.5.7).
func (s *Session) ropMoveFolder(ctx context.Context, x *MoveFolderRequest, in *handleEntry, st *execState) (Response, error) {
	src, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	dst := s.destFolder(st, x.DestHandleIndex, x.LogonID)
	if dst == nil {
		resp := newResp[*MoveFolderResponse](x)
		resp.ReturnValue = mp.ErrDstNullObject
		resp.DestHandleIndex = uint32(x.DestHandleIndex)
		return resp, nil
	}
	f, err := s.folderByID(ctx, x.FolderID)
	if err != nil {
		return nil, err
	}
	if f.ParentID != src.id {
		return nil, mp.ErrNotFound
	}
	if f.Role != "" {
		return nil, mp.ErrAccessDenied
	}
	name := x.NewFolderName
	if name == "" {
		name = f.Name
	}
	if err := s.srv.store.RenameFolder(ctx, s.mbox.accountID, f.ID, dst.id, name); err != nil {
		if errors.Is(err, storage.ErrExists) {
			return nil, mp.ErrDuplicateName
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return nil, mp.ErrFolderCycle
		}
		return nil, err
	}
	return newResp[*MoveFolderResponse](x), nil
}

// ropCopyFolder copies a subfolder of the input folder under the
// destination (MS-OXCFOLD 3.2.5.8).
func (s *Session) ropCopyFolder(ctx context.Context, x *CopyFolderRequest, in *handleEntry, st *execState) (Response, error) {
	src, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	dst := s.destFolder(st, x.DestHandleIndex, x.LogonID)
	if dst == nil {
		resp := newResp[*CopyFolderResponse](x)
		resp.ReturnValue = mp.ErrDstNullObject
		resp.DestHandleIndex = uint32(x.DestHandleIndex)
		return resp, nil
	}
	f, err := s.folderByID(ctx, x.FolderID)
	if err != nil {
		return nil, err
	}
	if f.ParentID != src.id {
		return nil, mp.ErrNotFound
	}
	name := x.NewFolderName
	if name == "" {
		name = f.Name
	}
	err = s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		_, err := tx.CopyFolder(s.mbox.accountID, f.ID, dst.id, name, x.WantRecursive)
		return err
	})
	if err != nil {
		if errors.Is(err, storage.ErrExists) {
			return nil, mp.ErrDuplicateName
		}
		return nil, err
	}
	return newResp[*CopyFolderResponse](x), nil
}

// ropGetHierarchyTable opens the folder's subfolder table (MS-OXCFOLD
// 3.2.5.13); with Depth every descendant is listed.
func (s *Session) ropGetHierarchyTable(ctx context.Context, x *GetHierarchyTableRequest, in *handleEntry, st *execState) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return nil, err
	}
	t := &tableObj{kind: tableHierarchy, flags: x.TableFlags, unicode: x.TableFlags&TableFlagUseUnicode != 0,
		folderID: f.id, folderGC: f.globCnt, depth: x.TableFlags&TableFlagDepth != 0}
	n, err := s.rowCount(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := s.open(st, x.OutputHandleIndex, in, t); err != nil {
		return nil, err
	}
	resp := newResp[*GetHierarchyTableResponse](x)
	resp.RowCount = uint32(n)
	return resp, nil
}

// ropGetContentsTable opens the folder's message table, normal or FAI
// (MS-OXCFOLD 3.2.5.14).
func (s *Session) ropGetContentsTable(ctx context.Context, x *GetContentsTableRequest, in *handleEntry, st *execState) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return nil, err
	}
	if x.TableFlags&TableFlagSoftDeletes != 0 {
		return nil, mp.ErrNotSupported // nothing is soft-deleted here
	}
	t := &tableObj{kind: tableContents, flags: x.TableFlags, unicode: x.TableFlags&TableFlagUseUnicode != 0,
		folderID: f.id, folderGC: f.globCnt, assoc: x.TableFlags&TableFlagAssociated != 0}
	n, err := s.rowCount(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := s.open(st, x.OutputHandleIndex, in, t); err != nil {
		return nil, err
	}
	resp := newResp[*GetContentsTableResponse](x)
	resp.RowCount = uint32(n)
	return resp, nil
}

// ropDeleteMessages removes messages of the input folder (MS-OXCFOLD
// 3.2.5.11, 3.2.5.12; nothing is kept for recovery, so both are hard).
func (s *Session) ropDeleteMessages(ctx context.Context, req Request, in *handleEntry, mids []ID) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	ids, missing, err := s.messagesOf(ctx, f.id, mids)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		if _, err := s.srv.store.Expunge(ctx, s.mbox.accountID, f.id, ids); err != nil {
			return nil, err
		}
	}
	resp, err := NewResponse(req)
	if err != nil {
		return nil, err
	}
	switch r := resp.(type) {
	case *DeleteMessagesResponse:
		r.PartialCompletion = missing
	case *HardDeleteMessagesResponse:
		r.PartialCompletion = missing
	}
	return resp, nil
}

// ropSetReadFlags marks messages of the folder (all of them when no MID is
// given) read or unread: the store's \Seen, so IMAP sees it (MS-OXCMSG
// 3.2.5.10).
func (s *Session) ropSetReadFlags(ctx context.Context, x *SetReadFlagsRequest, in *handleEntry) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	var ids []int64
	missing := false
	if len(x.MessageIDs) == 0 {
		metas, err := s.srv.store.FolderMeta(ctx, s.mbox.accountID, f.id)
		if err != nil {
			return nil, err
		}
		for _, m := range metas {
			ids = append(ids, m.ID)
		}
	} else if ids, missing, err = s.messagesOf(ctx, f.id, x.MessageIDs); err != nil {
		return nil, err
	}
	if op, ok := readOp(x.ReadFlags); ok && len(ids) > 0 {
		if _, err := s.srv.store.SetFlags(ctx, s.mbox.accountID, f.id, ids, op, storage.FlagSeen, nil, 0); err != nil {
			return nil, err
		}
	}
	resp := newResp[*SetReadFlagsResponse](x)
	resp.PartialCompletion = missing
	return resp, nil
}

// readOp is what ReadFlags ask of \Seen; ok is false when they only ask
// about receipts (MS-OXCMSG 2.2.3.10.1).
func readOp(flags uint8) (storage.FlagOp, bool) {
	switch {
	case flags&ReadFlagClearReadFlag != 0:
		return storage.FlagsRemove, true
	case flags&(ReadFlagGenerateReceipt|ReadFlagClearNotifyRead|ReadFlagClearNotifyUnread) != 0:
		return 0, false
	}
	return storage.FlagsAdd, true
}

// hierarchyRows lists the folder's subfolders (all descendants with Depth)
// in tree order, with PidTagDepth counted from 1 for direct subfolders.
func (s *Session) hierarchyRows(ctx context.Context, t *tableObj) ([]*tableRow, error) {
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	var rows []*tableRow
	var walk func(parent int64, depth int)
	walk = func(parent int64, depth int) {
		if depth > 64 {
			return
		}
		for _, f := range snap.children[parent] {
			if f.ID == parent {
				continue
			}
			p := s.folderProps(snap, f)
			p.Set(mp.Int32Value(mp.PidTagDepth, int32(depth)))
			ik := make([]byte, 20)
			binary.LittleEndian.PutUint64(ik, uint64(makeID(f.GlobCnt)))
			p.Set(mp.BinaryValue(mp.PidTagInstanceKey, ik))
			p.Set(mp.Int64Value(mp.PidTagInstID, int64(makeID(f.GlobCnt))))
			p.Set(mp.Int32Value(mp.PidTagInstanceNum, 0))
			rows = append(rows, &tableRow{key: uint64(makeID(f.GlobCnt)), rowID: f.ID, props: p})
			if t.depth {
				walk(f.ID, depth+1)
			}
		}
	}
	walk(t.folderID, 1)
	return rows, nil
}

// contentsRows makes table rows of messages from their promoted columns
// and stored properties; anything else is loaded when a column needs it.
func (s *Session) contentsRows(ctx context.Context, t *tableObj, ms []storage.Message) ([]*tableRow, error) {
	ids := make([]int64, len(ms))
	for i := range ms {
		ids[i] = ms[i].ID
	}
	stored, err := s.srv.store.PropsOf(ctx, s.mbox.accountID, storage.ObjectMessage, ids, false)
	if err != nil {
		return nil, err
	}
	rows := make([]*tableRow, len(ms))
	for i := range ms {
		m := &ms[i]
		r := &tableRow{key: uint64(makeID(m.GlobCnt)), rowID: m.ID, props: s.lightMessageProps(m, t.folderGC, stored[m.ID])}
		r.lazy = func(id uint16) (mp.Value, bool) { return s.messageIdentity(id, t.folderGC, m.GlobCnt, m.ChangeNum) }
		r.sub = func(ctx context.Context) (*oxcmail.Message, error) { return s.loadContent(ctx, m) }
		if m.MIMEFromChange == 0 {
			r.full = func(ctx context.Context) (oxcmail.Props, error) {
				c, err := s.loadContent(ctx, m)
				if err != nil {
					return oxcmail.Props{}, err
				}
				return s.messageProps(&messageObj{row: m, folderGC: t.folderGC, content: c, assoc: m.Flags&storage.FlagAssociated != 0}), nil
			}
		}
		rows[i] = r
	}
	return rows, nil
}

// attachmentRows lists a message's attachments (MS-OXCMSG 3.2.5.14).
func (s *Session) attachmentRows(t *tableObj) []*tableRow {
	if t.msg == nil {
		return nil
	}
	var rows []*tableRow
	for i, a := range t.msg.content.Attachments {
		n := attachNum(a, i)
		p := attachmentProps(a, n)
		ik := make([]byte, 8)
		binary.LittleEndian.PutUint32(ik, n)
		p.Set(mp.BinaryValue(mp.PidTagInstanceKey, ik))
		p.Set(mp.Int64Value(mp.PidTagInstID, int64(n)))
		p.Set(mp.Int32Value(mp.PidTagInstanceNum, 0))
		// The data itself is read through RopOpenAttachment/RopOpenStream.
		p.Delete(mp.PidTagAttachDataBinary.ID())
		rows = append(rows, &tableRow{key: uint64(n), rowID: int64(n), props: p})
	}
	return rows
}

// destFolder returns the folder a move or copy targets, or nil when the
// destination handle names none (the caller answers ecDstNullObject).
func (s *Session) destFolder(st *execState, idx, logonID uint8) *folderObj {
	e, ec := s.lookup(st.handles, idx, logonID)
	if ec != mp.Success {
		return nil
	}
	f, _ := e.obj.(*folderObj)
	return f
}
