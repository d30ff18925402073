// Package rules is the one shape of server-side mail rules (MS-OXORULE)
// shared by every door: MAPI writes them with RopModifyRules, internal/
// delivery executes them on every local delivery to an Inbox, and the
// webmail and REST API read and edit the same stored row.
//
// A folder's rules are one store-internal property row (StoredTag on the
// folder object): a list of property sets, one per rule, with the rule's
// MAPI properties (PidTagRuleId, PidTagRuleSequence, PidTagRuleState,
// PidTagRuleCondition as a restriction, PidTagRuleActions, …). The list
// encoding is EncodeList/DecodeList; the same encoding also keeps other
// per-folder lists (the MAPI layer's permission entries).
package rules

import (
	"errors"
	"fmt"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
)

// StoredTag is the store-internal property tag (property id 0, below
// storage.InternalTagLimit) of a folder's rule list.
const StoredTag uint32 = 0x00000002

// OOFTextTag is the store-internal tag of the out-of-office reply text on
// the store object (set by the webmail and REST API; MAPI clients keep it
// in an OOF template message, read as a fallback).
const OOFTextTag uint32 = 0x00000005

// OOFSentTag is the store-internal tag of the out-of-office reply log on the
// store object: who got a reply when (RFC 3834 §2: once per sender per
// period).
const OOFSentTag uint32 = 0x00000006

// ErrCorrupt is returned for a stored row that cannot be read.
var ErrCorrupt = errors.New("rules: stored list is damaged")

// maxListEntries bounds a stored list (a sanity limit for hostile input).
const maxListEntries = 1 << 16

// Writer returns a writer in the stored format: 32-bit counts (so binaries
// over 64 KiB fit) and strings as UTF-16.
func Writer() *mp.Writer {
	w := mp.NewWriter()
	w.Wide = true
	w.CodePage = mp.CodePageUTF8
	return w
}

// Reader returns a reader of the stored format.
func Reader(b []byte) *mp.Reader {
	r := mp.NewReader(b)
	r.Wide = true
	r.CodePage = mp.CodePageUTF8
	return r
}

// normalize makes 8-bit string types Unicode: strings are stored in one
// form whatever a client uploaded.
func normalize(v mp.Value) mp.Value {
	switch v.Tag.Type() {
	case mp.PtypString8:
		v.Tag = v.Tag.WithType(mp.PtypString)
	case mp.PtypMultipleString8:
		v.Tag = v.Tag.WithType(mp.PtypMultipleString)
	}
	return v
}

// PutValues writes values with a 32-bit count.
func PutValues(w *mp.Writer, vals []mp.Value) {
	w.U32(uint32(len(vals)))
	for _, v := range vals {
		w.TaggedValue(normalize(v))
	}
}

// GetValues reads values written by PutValues.
func GetValues(r *mp.Reader) []mp.Value {
	n := r.U32()
	if uint64(n)*5 > uint64(r.Len()) {
		r.Failf("%d values in %d bytes", n, r.Len())
		return nil
	}
	out := make([]mp.Value, 0, n)
	for i := uint32(0); i < n && r.Err() == nil; i++ {
		out = append(out, r.TaggedValue())
	}
	return out
}

// EncodeList encodes a list of property sets (a folder's rules).
func EncodeList(list []oxcmail.Props) ([]byte, error) {
	w := Writer()
	w.U32(uint32(len(list)))
	for _, p := range list {
		PutValues(w, p.Values())
	}
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("rules: encoding list: %w", err)
	}
	b := w.Bytes()
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// DecodeList decodes a row written by EncodeList. A damaged row gives
// ErrCorrupt (callers usually treat it as an empty list rather than fail
// the folder).
func DecodeList(b []byte) ([]oxcmail.Props, error) {
	rd := Reader(b)
	n := rd.U32()
	if rd.Err() != nil || n > maxListEntries || uint64(n)*4 > uint64(rd.Len()) {
		return nil, ErrCorrupt
	}
	out := make([]oxcmail.Props, 0, n)
	for i := uint32(0); i < n && rd.Err() == nil; i++ {
		var p oxcmail.Props
		for _, v := range GetValues(rd) {
			p.Set(v)
		}
		out = append(out, p)
	}
	if rd.Err() != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, rd.Err())
	}
	return out, nil
}

// EncodeValue encodes one property value the way the MAPI layer stores a
// property row (the value alone; the tag is the row's).
func EncodeValue(v mp.Value) ([]byte, error) {
	v = normalize(v)
	w := Writer()
	w.PropertyValue(v.Tag.Type(), v.Data)
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("rules: encoding %s: %w", v.Tag, err)
	}
	b := w.Bytes()
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// DecodeValue reads a property row written by EncodeValue (or by the MAPI
// layer). ok is false for a tombstone (empty row) or an unreadable one.
func DecodeValue(tag uint32, b []byte) (mp.Value, bool) {
	if len(b) == 0 {
		return mp.Value{}, false
	}
	t := mp.Tag(tag)
	if !t.Type().Known() || t.Type() == mp.PtypUnspecified {
		return mp.Value{}, false
	}
	r := Reader(b)
	data := r.PropertyValue(t.Type())
	if r.Err() != nil {
		return mp.Value{}, false
	}
	return mp.Value{Tag: t, Data: data}, true
}
