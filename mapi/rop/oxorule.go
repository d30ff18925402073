package rop

import (
	"context"
	"slices"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/internal/rules"
	"github.com/pochta/pochta/storage"
)

// Server-side rules (MS-OXORULE): stored per folder as one internal
// property row (the rule table with every rule's property values) in the
// shape of internal/rules, which internal/delivery executes.

// Rule states (MS-OXORULE 2.2.1.3.1.3).
const ruleStateEnabled int32 = 0x00000001

func (s *Session) loadRules(ctx context.Context, folderID int64) ([]oxcmail.Props, error) {
	return s.loadFolderList(ctx, folderID, tagInternalRules)
}

// loadFolderList reads a list of property sets kept in an internal row.
func (s *Session) loadFolderList(ctx context.Context, folderID int64, tag uint32) ([]oxcmail.Props, error) {
	rows, err := s.srv.store.PropsOf(ctx, s.mbox.accountID, storage.ObjectFolder, []int64{folderID}, true)
	if err != nil {
		return nil, err
	}
	for _, r := range rows[folderID] {
		if r.Tag != tag {
			continue
		}
		list, err := rules.DecodeList(r.Value)
		if err != nil {
			return nil, nil // a damaged list reads as empty rather than failing the folder
		}
		return list, nil
	}
	return nil, nil
}

// saveFolderList stores a list of property sets in an internal row.
func (s *Session) saveFolderList(ctx context.Context, folderID int64, tag uint32, list []oxcmail.Props) error {
	row, err := rules.EncodeList(list)
	if err != nil {
		return mp.ErrInvalidParam
	}
	return s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		if err := tx.SetProps(s.mbox.accountID, storage.ObjectFolder, folderID, []storage.PropValue{{Tag: tag, Value: row}}); err != nil {
			return err
		}
		_, err := tx.TouchFolder(s.mbox.accountID, folderID)
		return err
	})
}

// ropGetRulesTable opens the folder's rule table (MS-OXORULE 3.2.5.2).
func (s *Session) ropGetRulesTable(ctx context.Context, x *GetRulesTableRequest, in *handleEntry, st *execState) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	t := &tableObj{kind: tableRules, flags: x.TableFlags, unicode: x.TableFlags&RulesTableUnicode != 0, folderID: f.id, folderGC: f.globCnt}
	if err := s.open(st, x.OutputHandleIndex, in, t); err != nil {
		return nil, err
	}
	return newResp[*GetRulesTableResponse](x), nil
}

func (s *Session) ruleRows(ctx context.Context, t *tableObj) ([]*tableRow, error) {
	rules, err := s.loadRules(ctx, t.folderID)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rules, func(a, b oxcmail.Props) int {
		sa, _ := a.Int32(mp.PidTagRuleSequence)
		sb, _ := b.Int32(mp.PidTagRuleSequence)
		return int(sa) - int(sb)
	})
	rows := make([]*tableRow, 0, len(rules))
	for _, r := range rules {
		id := ruleID(r)
		rows = append(rows, &tableRow{key: uint64(id), rowID: id, props: r})
	}
	return rows, nil
}

func ruleID(p oxcmail.Props) int64 {
	if v, ok := p.Get(mp.PidTagRuleId); ok {
		if id, ok := v.Data.(int64); ok {
			return id
		}
	}
	return 0
}

// ropModifyRules adds, changes and removes rules (MS-OXORULE 3.2.5.1).
func (s *Session) ropModifyRules(ctx context.Context, x *ModifyRulesRequest, in *handleEntry) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	rules, err := s.loadRules(ctx, f.id)
	if err != nil {
		return nil, err
	}
	if x.ModifyRulesFlag&ModifyRulesReplace != 0 {
		rules = nil
	}
	var next int64
	for _, r := range rules {
		next = max(next, ruleID(r))
	}
	for _, rd := range x.RulesData {
		switch rd.Flags {
		case RowAdd:
			var p oxcmail.Props
			for _, v := range rd.Properties {
				if storable(v) && v.Tag.ID() != mp.PidTagRuleId.ID() {
					p.Set(normalize(v))
				}
			}
			if !p.Has(mp.PidTagRuleCondition) || !p.Has(mp.PidTagRuleActions) {
				return nil, mp.ErrInvalidParam // MS-OXORULE 3.2.5.1.1
			}
			next++
			p.Set(mp.Int64Value(mp.PidTagRuleId, next))
			if !p.Has(mp.PidTagRuleSequence) {
				p.Set(mp.Int32Value(mp.PidTagRuleSequence, int32(len(rules)+1)))
			}
			if !p.Has(mp.PidTagRuleState) {
				p.Set(mp.Int32Value(mp.PidTagRuleState, ruleStateEnabled))
			}
			if !p.Has(mp.PidTagRuleLevel) {
				p.Set(mp.Int32Value(mp.PidTagRuleLevel, 0))
			}
			rules = append(rules, p)
		case RowModify, RowRemove:
			id := int64(-1)
			for _, v := range rd.Properties {
				if v.Tag == mp.PidTagRuleId {
					id = v.Data.(int64)
				}
			}
			i := slices.IndexFunc(rules, func(r oxcmail.Props) bool { return ruleID(r) == id })
			if i < 0 {
				return nil, mp.ErrNotFound
			}
			if rd.Flags == RowRemove {
				rules = slices.Delete(rules, i, i+1)
				continue
			}
			for _, v := range rd.Properties {
				if storable(v) && v.Tag.ID() != mp.PidTagRuleId.ID() {
					rules[i].Set(normalize(v))
				}
			}
		default:
			return nil, mp.ErrInvalidParam
		}
	}
	if err := s.saveFolderList(ctx, f.id, tagInternalRules, rules); err != nil {
		return nil, err
	}
	return newResp[*ModifyRulesResponse](x), nil
}

// The rule row's tag is internal/rules' (a mismatch does not compile).
var _ [0]struct{} = [tagInternalRules - rules.StoredTag]struct{}{}
