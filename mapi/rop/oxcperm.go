package rop

import (
	"context"
	"slices"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
)

// Folder permissions (MS-OXCPERM). Entries are stored per folder; for now
// only the owner has access whatever they say (delegate access comes
// later), but clients can read and edit them.

// Member ids of the two entries every table has (MS-OXCPERM 2.2.5).
const (
	memberDefault   int64 = 0
	memberAnonymous int64 = -1
)

func (s *Session) loadPermissions(ctx context.Context, folderID int64) ([]oxcmail.Props, error) {
	list, err := s.loadFolderList(ctx, folderID, tagInternalPermissions)
	if err != nil {
		return nil, err
	}
	for _, id := range []int64{memberAnonymous, memberDefault} {
		if !slices.ContainsFunc(list, func(p oxcmail.Props) bool { return memberID(p) == id }) {
			var p oxcmail.Props
			p.Set(mp.Int64Value(mp.PidTagMemberId, id))
			p.Set(mp.Int32Value(mp.PidTagMemberRights, 0))
			list = append([]oxcmail.Props{p}, list...)
		}
	}
	for _, p := range list {
		id := memberID(p)
		if !p.Has(mp.PidTagMemberName) {
			name := ""
			switch id {
			case memberDefault:
				name = "Default"
			case memberAnonymous:
				name = "Anonymous"
			}
			p.Set(mp.StringValue(mp.PidTagMemberName, name))
		}
		if !p.Has(mp.PidTagEntryId) {
			p.Set(mp.BinaryValue(mp.PidTagEntryId, []byte{}))
		}
	}
	return list, nil
}

func memberID(p oxcmail.Props) int64 {
	if v, ok := p.Get(mp.PidTagMemberId); ok {
		if id, ok := v.Data.(int64); ok {
			return id
		}
	}
	return 1 << 62
}

// ropGetPermissionsTable opens the folder's permission table
// (MS-OXCPERM 3.2.5.2).
func (s *Session) ropGetPermissionsTable(ctx context.Context, x *GetPermissionsTableRequest, in *handleEntry, st *execState) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	t := &tableObj{kind: tablePermissions, flags: x.TableFlags, unicode: true, folderID: f.id, folderGC: f.globCnt}
	if err := s.open(st, x.OutputHandleIndex, in, t); err != nil {
		return nil, err
	}
	return newResp[*GetPermissionsTableResponse](x), nil
}

func (s *Session) permissionRows(ctx context.Context, t *tableObj) ([]*tableRow, error) {
	list, err := s.loadPermissions(ctx, t.folderID)
	if err != nil {
		return nil, err
	}
	rows := make([]*tableRow, 0, len(list))
	for _, p := range list {
		id := memberID(p)
		rows = append(rows, &tableRow{key: uint64(id), rowID: id, props: p})
	}
	return rows, nil
}

// ropModifyPermissions adds, changes and removes entries (MS-OXCPERM
// 3.2.5.1).
func (s *Session) ropModifyPermissions(ctx context.Context, x *ModifyPermissionsRequest, in *handleEntry) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	list, err := s.loadPermissions(ctx, f.id)
	if err != nil {
		return nil, err
	}
	if x.ModifyFlags&ModifyPermissionsReplaceRows != 0 {
		list = slices.DeleteFunc(list, func(p oxcmail.Props) bool {
			id := memberID(p)
			return id != memberDefault && id != memberAnonymous
		})
	}
	var next int64
	for _, p := range list {
		next = max(next, memberID(p)&(1<<62-1))
	}
	for _, rd := range x.PermissionsData {
		var id int64 = -2
		var rights int32
		var hasRights bool
		var eid []byte
		for _, v := range rd.Properties {
			switch v.Tag {
			case mp.PidTagMemberId:
				id, _ = v.Data.(int64)
			case mp.PidTagMemberRights:
				rights, hasRights = v.Data.(int32)
			case mp.PidTagEntryId:
				eid, _ = v.Data.([]byte)
			}
		}
		switch rd.Flags {
		case RowAdd:
			if eid == nil || !hasRights {
				return nil, mp.ErrInvalidParam
			}
			var p oxcmail.Props
			next++
			p.Set(mp.Int64Value(mp.PidTagMemberId, next))
			p.Set(mp.Int32Value(mp.PidTagMemberRights, rights))
			p.Set(mp.BinaryValue(mp.PidTagEntryId, eid))
			p.Set(mp.StringValue(mp.PidTagMemberName, s.memberName(ctx, eid)))
			list = append(list, p)
		case RowModify, RowRemove:
			i := slices.IndexFunc(list, func(p oxcmail.Props) bool { return memberID(p) == id })
			if i < 0 {
				return nil, mp.ErrNotFound
			}
			if rd.Flags == RowRemove {
				if id == memberDefault || id == memberAnonymous {
					list[i].Set(mp.Int32Value(mp.PidTagMemberRights, 0))
				} else {
					list = slices.Delete(list, i, i+1)
				}
				continue
			}
			if hasRights {
				list[i].Set(mp.Int32Value(mp.PidTagMemberRights, rights))
			}
		default:
			return nil, mp.ErrInvalidParam
		}
	}
	if err := s.saveFolderList(ctx, f.id, tagInternalPermissions, list); err != nil {
		return nil, err
	}
	return newResp[*ModifyPermissionsResponse](x), nil
}

// memberName is the display name of the account an entry id names.
func (s *Session) memberName(ctx context.Context, eid []byte) string {
	e, err := mp.ParseAddressBookEntryID(eid)
	if err != nil {
		return ""
	}
	if e.X500DN == s.legacyDN {
		return s.acc.DisplayName
	}
	if resolve := s.srv.opts.AccountByLegacyDN; resolve != nil {
		if a, err := resolve(ctx, e.X500DN); err == nil && a != nil {
			if a.DisplayName != "" {
				return a.DisplayName
			}
			return a.Address
		}
	}
	return ""
}
