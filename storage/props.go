package storage

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm/clause"
)

// PropValue is one stored property: the tag and its encoded value. The store
// does not interpret either; internal/mapiprop does.
type PropValue struct {
	Tag   uint32
	Value []byte
}

// Props returns the stored properties of an object.
func (s *Store) Props(ctx context.Context, accountID int64, kind int, objectID int64) ([]PropValue, error) {
	var rows []Property
	if err := s.readDB(ctx).Where("account_id = ? AND object_kind = ? AND object_id = ?", accountID, kind, objectID).Order("tag").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: reading properties: %w", classify(err))
	}
	out := make([]PropValue, len(rows))
	for i, r := range rows {
		out[i] = PropValue{Tag: r.Tag, Value: r.Value}
	}
	return out, nil
}

// SetProps stores (replacing) properties of an object.
func (tx *Tx) SetProps(accountID int64, kind int, objectID int64, props []PropValue) error {
	for _, p := range props {
		row := Property{AccountID: accountID, ObjectKind: kind, ObjectID: objectID, Tag: p.Tag, Value: p.Value}
		if err := tx.db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "object_kind"}, {Name: "object_id"}, {Name: "tag"}},
			DoUpdates: clause.AssignmentColumns([]string{"value"}),
		}).Create(&row).Error; err != nil {
			return fmt.Errorf("storage: writing property: %w", err)
		}
	}
	return nil
}

// DeleteProps removes properties of an object.
func (tx *Tx) DeleteProps(accountID int64, kind int, objectID int64, tags []uint32) error {
	if len(tags) == 0 {
		return nil
	}
	return tx.db.Where("account_id = ? AND object_kind = ? AND object_id = ? AND tag IN ?", accountID, kind, objectID, tags).Delete(&Property{}).Error
}

func (tx *Tx) copyProps(kind int, from, to, accountID int64) error {
	var rows []Property
	if err := tx.db.Where("object_kind = ? AND object_id = ?", kind, from).Find(&rows).Error; err != nil {
		return err
	}
	for i := range rows {
		rows[i].ObjectID = to
		rows[i].AccountID = accountID
	}
	if len(rows) == 0 {
		return nil
	}
	return tx.db.CreateInBatches(rows, 200).Error
}

// PropertyName identifies a named property: a property set GUID and either
// a numeric LID or a string name.
type PropertyName struct {
	GUID  string // canonical lower-case form, e.g. 00020329-0000-0000-c000-000000000046
	IsLID bool
	LID   uint32
	Name  string
}

// NamedPropIDs maps names to the store's property ids (≥ 0x8000). With
// create, unknown names get new ids; without, they map to 0. Ids never
// change once given.
func (s *Store) NamedPropIDs(ctx context.Context, accountID int64, names []PropertyName, create bool) ([]uint16, error) {
	ids := make([]uint16, len(names))
	missing := false
	for i, n := range names {
		id, err := s.lookupNamed(ctx, accountID, n)
		if err != nil {
			return nil, err
		}
		ids[i] = id
		missing = missing || id == 0
	}
	if !missing || !create {
		return ids, nil
	}
	err := s.Write(ctx, func(tx *Tx) error {
		for i, n := range names {
			if ids[i] != 0 {
				continue
			}
			key := namedKey(accountID, n)
			var existing NamedProp
			if err := tx.db.Where(key).Limit(1).Find(&existing).Error; err != nil {
				return err
			}
			if existing.PropID != 0 {
				ids[i] = existing.PropID
				continue
			}
			var max int64
			if err := tx.db.Model(&NamedProp{}).Where("account_id = ?", accountID).Select("COALESCE(MAX(prop_id), 32767)").Row().Scan(&max); err != nil {
				return err
			}
			if max >= 0xFFFE {
				return fmt.Errorf("storage: named property ids exhausted")
			}
			np := key
			np.PropID = uint16(max + 1)
			if err := tx.db.Create(&np).Error; err != nil {
				return err
			}
			ids[i] = np.PropID
		}
		return nil
	})
	return ids, err
}

func namedKey(accountID int64, n PropertyName) NamedProp {
	np := NamedProp{AccountID: accountID, GUID: strings.ToLower(n.GUID)}
	if n.IsLID {
		np.Kind, np.LID = 0, n.LID
	} else {
		np.Kind, np.Name = 1, n.Name
	}
	return np
}

func (s *Store) lookupNamed(ctx context.Context, accountID int64, n PropertyName) (uint16, error) {
	var np NamedProp
	key := namedKey(accountID, n)
	if err := s.readDB(ctx).Where("account_id = ? AND guid = ? AND kind = ? AND lid = ? AND name = ?", key.AccountID, key.GUID, key.Kind, key.LID, key.Name).Limit(1).Find(&np).Error; err != nil {
		return 0, fmt.Errorf("storage: named property: %w", classify(err))
	}
	return np.PropID, nil
}

// NamesFromIDs maps property ids back to names; unknown ids give ok=false.
func (s *Store) NamesFromIDs(ctx context.Context, accountID int64, ids []uint16) ([]PropertyName, []bool, error) {
	names := make([]PropertyName, len(ids))
	ok := make([]bool, len(ids))
	for i, id := range ids {
		var np NamedProp
		if err := s.readDB(ctx).Where("account_id = ? AND prop_id = ?", accountID, id).Limit(1).Find(&np).Error; err != nil {
			return nil, nil, fmt.Errorf("storage: named property: %w", classify(err))
		}
		if np.GUID == "" {
			continue
		}
		ok[i] = true
		names[i] = PropertyName{GUID: np.GUID, IsLID: np.Kind == 0, LID: np.LID, Name: np.Name}
	}
	return names, ok, nil
}
