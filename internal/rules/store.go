package rules

import (
	"context"
	"fmt"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/storage"
)

// PidTagOofState is the store's out-of-office switch (MS-OXCSTOR
// 2.2.2.1.2.x, PtypBoolean on the store object).
const PidTagOofState mp.Tag = 0x661D000B

// Load reads a folder's rules in execution order. A damaged row reads as
// no rules (and is logged by the caller through the error).
func Load(ctx context.Context, st *storage.Store, accountID, folderID int64) ([]Rule, error) {
	rows, err := st.PropsOf(ctx, accountID, storage.ObjectFolder, []int64{folderID}, true)
	if err != nil {
		return nil, fmt.Errorf("rules: reading folder %d: %w", folderID, err)
	}
	for _, r := range rows[folderID] {
		if r.Tag == StoredTag {
			return Decode(r.Value)
		}
	}
	return nil, nil
}

// Save replaces a folder's rules (the row RopModifyRules writes).
func Save(ctx context.Context, st *storage.Store, accountID, folderID int64, rs []Rule) error {
	row, err := Encode(rs)
	if err != nil {
		return err
	}
	return st.Write(ctx, func(tx *storage.Tx) error {
		if err := tx.SetProps(accountID, storage.ObjectFolder, folderID, []storage.PropValue{{Tag: StoredTag, Value: row}}); err != nil {
			return err
		}
		_, err := tx.TouchFolder(accountID, folderID)
		return err
	})
}

// OOF is a mailbox's out-of-office setting.
type OOF struct {
	Enabled bool
	// Text is the reply's body; empty means the MAPI template message (or
	// a default text) is used.
	Text string
}

// LoadOOF reads the out-of-office state (PidTagOofState, as the MAPI
// layer stores it on the store object) and the reply text.
func LoadOOF(ctx context.Context, st *storage.Store, accountID int64) (OOF, error) {
	rows, err := st.PropsOf(ctx, accountID, storage.ObjectStore, []int64{accountID}, true)
	if err != nil {
		return OOF{}, fmt.Errorf("rules: reading store properties: %w", err)
	}
	var o OOF
	for _, r := range rows[accountID] {
		switch r.Tag {
		case uint32(PidTagOofState):
			if v, ok := DecodeValue(r.Tag, r.Value); ok {
				o.Enabled, _ = v.Data.(bool)
			}
		case OOFTextTag:
			if v, ok := DecodeValue(uint32(mp.PidTagBody), r.Value); ok {
				o.Text, _ = v.Data.(string)
			}
		}
	}
	return o, nil
}

// SaveOOF stores the out-of-office state and text. Turning it on clears
// the reply log, so everyone gets one reply per absence.
func SaveOOF(ctx context.Context, st *storage.Store, accountID int64, o OOF) error {
	state, err := EncodeValue(mp.BoolValue(PidTagOofState, o.Enabled))
	if err != nil {
		return err
	}
	text, err := EncodeValue(mp.StringValue(mp.PidTagBody, o.Text))
	if err != nil {
		return err
	}
	if err := st.EnsureMailbox(ctx, accountID); err != nil {
		return fmt.Errorf("rules: mailbox of account %d: %w", accountID, err)
	}
	return st.Write(ctx, func(tx *storage.Tx) error {
		was, _, err := tx.Prop(accountID, storage.ObjectStore, accountID, uint32(PidTagOofState))
		if err != nil {
			return err
		}
		if o.Enabled {
			if v, ok := DecodeValue(uint32(PidTagOofState), was); !ok || v.Data != true {
				if err := tx.DeleteProps(accountID, storage.ObjectStore, accountID, []uint32{OOFSentTag}); err != nil {
					return err
				}
			}
		}
		return tx.SetProps(accountID, storage.ObjectStore, accountID, []storage.PropValue{
			{Tag: uint32(PidTagOofState), Value: state},
			{Tag: OOFTextTag, Value: text},
		})
	})
}

// StoredRow returns the property row (tag and value) of a value the way the
// MAPI layer stores a client-set property; ok is false for values that are
// not kept (errors, objects, store-internal ids).
func StoredRow(v mp.Value) (storage.PropValue, bool) {
	v = normalize(v)
	switch v.Tag.Type() {
	case mp.PtypNull, mp.PtypErrorCode, mp.PtypUnspecified, mp.PtypObject:
		return storage.PropValue{}, false
	}
	if v.Tag.ID() == 0 || !v.Tag.Type().Known() || v.Validate() != nil {
		return storage.PropValue{}, false
	}
	b, err := EncodeValue(v)
	if err != nil {
		return storage.PropValue{}, false
	}
	return storage.PropValue{Tag: uint32(v.Tag), Value: b}, true
}
