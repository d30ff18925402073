package storage

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Prop reads one stored property of an object inside a write transaction,
// so a read-modify-write of a row (the out-of-office reply log of
// internal/rules) sees the committed state and writes after it in the
// same transaction. ok is false when the row does not exist.
func (tx *Tx) Prop(accountID int64, kind int, objectID int64, tag uint32) (value []byte, ok bool, err error) {
	var row Property
	err = tx.db.Where("account_id = ? AND object_kind = ? AND object_id = ? AND tag = ?", accountID, kind, objectID, tag).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: reading property: %w", classify(err))
	}
	return row.Value, true, nil
}
