package rop

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/storage"
)

// Property plumbing shared by the handlers: how values are stored, how
// they are converted to the type and size a client asked for, the ids and
// entry ids of store objects, and the mapping of store errors.

// Store-internal property tags (property id 0, see
// storage.InternalTagLimit): rows only this package reads.
const (
	tagInternalRecipients  uint32 = 0x00000001 // a message's recipient table
	tagInternalRules       uint32 = 0x00000002 // a folder's rules
	tagInternalPermissions uint32 = 0x00000003 // a folder's permission entries
	tagInternalReceive     uint32 = 0x00000004 // the store's receive folder settings
	tagInternalAttachBase  uint32 = 0x00001000 // + attach number: one attachment of a message
)

// maxAttachments bounds the attachments of one stored message (the tags
// below storage.InternalTagLimit that are left for them).
const maxAttachments = storage.InternalTagLimit - tagInternalAttachBase

// storedFormat is how values are kept in property rows: 32-bit counts (so
// binaries over 64 KiB fit) and strings as UTF-16.
func storedWriter() *mp.Writer {
	w := mp.NewWriter()
	w.Wide = true
	w.CodePage = mp.CodePageUTF8
	return w
}

func storedReader(b []byte) *mp.Reader {
	r := mp.NewReader(b)
	r.Wide = true
	r.CodePage = mp.CodePageUTF8
	return r
}

// unicodeType turns 8-bit string types into their Unicode forms: strings
// are kept in one form whatever a client uploaded (MAPI.md §13 item 15).
func unicodeType(t mp.PropType) mp.PropType {
	switch t {
	case mp.PtypString8:
		return mp.PtypString
	case mp.PtypMultipleString8:
		return mp.PtypMultipleString
	}
	return t
}

// storable reports whether a client-set value can be kept.
func storable(v mp.Value) bool {
	t := v.Tag.Type()
	switch t {
	case mp.PtypNull, mp.PtypErrorCode, mp.PtypUnspecified, mp.PtypObject:
		return false
	}
	if t&mp.MultiValueInstance != 0 || !t.Known() {
		return false
	}
	return v.Validate() == nil
}

// normalize returns v with 8-bit string types made Unicode.
func normalize(v mp.Value) mp.Value {
	v.Tag = v.Tag.WithType(unicodeType(v.Tag.Type()))
	return v
}

// encodeStored returns the property row of a value.
func encodeStored(v mp.Value) (storage.PropValue, error) {
	v = normalize(v)
	w := storedWriter()
	w.PropertyValue(v.Tag.Type(), v.Data)
	if err := w.Err(); err != nil {
		return storage.PropValue{}, fmt.Errorf("rop: storing %s: %w", v.Tag, err)
	}
	b := w.Bytes()
	if b == nil {
		b = []byte{}
	}
	return storage.PropValue{Tag: uint32(v.Tag), Value: b}, nil
}

// tombstone is the row value that marks a property deleted on a message
// whose properties are derived from its MIME: no encoded value is empty
// (every type has a fixed width or a count), so an empty row is not a value.
var tombstone = []byte{}

// decodeStored reads a property row; ok is false for a tombstone or a row
// that cannot be read.
func decodeStored(p storage.PropValue) (mp.Value, bool) {
	if len(p.Value) == 0 {
		return mp.Value{}, false
	}
	t := mp.Tag(p.Tag)
	if !t.Type().Known() || t.Type() == mp.PtypUnspecified {
		return mp.Value{}, false
	}
	r := storedReader(p.Value)
	data := r.PropertyValue(t.Type())
	if r.Err() != nil {
		return mp.Value{}, false
	}
	return mp.Value{Tag: t, Data: data}, true
}

// Internal rows (message content, recipients, attachments) use the same
// value list as stored rules: rules.PutValues and rules.GetValues.

func propsFromValues(vals []mp.Value) oxcmail.Props {
	var p oxcmail.Props
	for _, v := range vals {
		p.Set(v)
	}
	return p
}

// isStringType reports whether t is a (single-valued) string type.
func isStringType(t mp.PropType) bool { return t == mp.PtypString || t == mp.PtypString8 }

// approxSize is a cheap upper bound of a value's encoded size.
func approxSize(v mp.Value) int {
	switch d := v.Data.(type) {
	case []byte:
		return len(d) + 2
	case string:
		return 2*len(d) + 2
	case []string:
		n := 4
		for _, s := range d {
			n += 2*len(s) + 2
		}
		return n
	case [][]byte:
		n := 4
		for _, b := range d {
			n += len(b) + 2
		}
		return n
	}
	return 16
}

// getOptions say how a client wants values.
type getOptions struct {
	unicode bool // PtypUnspecified strings as PtypString
	// limit turns bigger strings and binaries into ecMAPIOOM, so the client
	// reads them with a stream (MS-OXCPRPT 3.2.5.1). 0: no limit.
	limit int
	// truncate cuts strings to 255 characters instead (table rows, as
	// Exchange does for non-streamed columns).
	truncate bool
}

// defaultSizeLimit is where a single value in RopGetProperties* becomes
// "use a stream" when the client gave no PropertySizeLimit (MAPI.md §6.3,
// the smaller of gromox's thresholds).
const defaultSizeLimit = 0x1000

// outValue is the value of column/tag t of props as a client asked it: the
// stored type for PtypUnspecified (strings by opts.unicode), string types
// converted, a missing property as ecNotFound, a too large one as ecMAPIOOM.
func outValue(t mp.Tag, props oxcmail.Props, opts getOptions) mp.Value {
	want := t.Type()
	if want&mp.MultiValueInstance != 0 {
		want = want &^ mp.MultiValueInstance
		t = t.WithType(want)
	}
	v, ok := props.Get(t)
	if !ok {
		return mp.ErrorValue(t, mp.ErrNotFound)
	}
	if want == mp.PtypUnspecified {
		switch v.Tag.Type() {
		case mp.PtypString, mp.PtypString8:
			want = mp.PtypString8
			if opts.unicode {
				want = mp.PtypString
			}
		case mp.PtypMultipleString, mp.PtypMultipleString8:
			want = mp.PtypMultipleString8
			if opts.unicode {
				want = mp.PtypMultipleString
			}
		default:
			want = v.Tag.Type()
		}
	}
	v = mp.Value{Tag: t.WithType(want), Data: v.Data}
	if s, ok := v.Data.(string); ok && opts.truncate && utf8.RuneCountInString(s) > 255 {
		v.Data = truncateRunes(s, 255)
		return v
	}
	if opts.limit > 0 && approxSize(v) > opts.limit {
		switch v.Data.(type) {
		case string, []byte, []string, [][]byte:
			if exactSize(v) > opts.limit {
				return mp.ErrorValue(t, mp.ErrMAPIOOM)
			}
		}
	}
	return v
}

func exactSize(v mp.Value) int {
	if s, ok := v.Data.(string); ok {
		if v.Tag.Type() == mp.PtypString {
			return mp.UTF16Len(s) + 2
		}
		b, _ := mp.EncodeString8(s, mp.CodePageWindows1252)
		return len(b) + 1
	}
	return mp.ValueSize(v) + 2
}

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// ids of store objects (MS-OXCDATA 2.2.1): replica 1 and the GLOBCNT.
func makeID(globCnt int64) mp.ID { return mp.MakeID(1, uint64(globCnt)) }

// globCntOf returns the GLOBCNT of a FID or MID of this store.
func globCntOf(id mp.ID) (int64, bool) {
	if id.ReplicaID() != 1 {
		return 0, false
	}
	return int64(id.GlobalCounter()), true
}

func (s *Session) folderEntryID(globCnt int64) []byte {
	return mp.NewPrivateFolderEntryID(s.mbox.storeGUID, s.mbox.replGUID, uint64(globCnt)).Bytes()
}

func (s *Session) messageEntryID(folderGC, messageGC int64) []byte {
	return mp.NewPrivateMessageEntryID(s.mbox.storeGUID, s.mbox.replGUID, uint64(folderGC), uint64(messageGC)).Bytes()
}

func (s *Session) storeEntryID() []byte {
	if s.storeEID == nil {
		s.storeEID = mp.NewPrivateStoreEntryID(s.srv.opts.Hostname, s.legacyDN).Bytes()
	}
	return slices.Clone(s.storeEID)
}

// sourceKey is PidTagSourceKey: the GID of the object (MS-OXCFXICS 2.2.1.2.5).
func (s *Session) sourceKey(globCnt int64) []byte {
	return mp.NewGID(s.mbox.replGUID, uint64(globCnt)).Bytes()
}

// changeKey is PidTagChangeKey: the XID of the last change.
func (s *Session) changeKey(changeNum int64) []byte {
	gc := mp.GlobalCounterBytes(uint64(changeNum))
	return mp.XID{NamespaceGUID: s.mbox.replGUID, LocalID: gc[:]}.Bytes()
}

func (s *Session) predecessors(changeNum int64) []byte {
	gc := mp.GlobalCounterBytes(uint64(changeNum))
	return mp.EncodePCL([]mp.XID{{NamespaceGUID: s.mbox.replGUID, LocalID: gc[:]}})
}

// folderGlobCntOfEntryID returns the GLOBCNT a folder entry id of this
// store names.
func (s *Session) folderGlobCntOfEntryID(b []byte) (int64, bool) {
	e, err := mp.ParseFolderEntryID(b)
	if err != nil || e.ProviderUID != s.mbox.storeGUID || e.DatabaseGUID != s.mbox.replGUID {
		return 0, false
	}
	return int64(e.GlobalCounter), true
}

// storeError maps store and directory errors to MAPI error codes.
func storeError(err error) mp.ErrorCode {
	switch {
	case err == nil:
		return mp.Success
	case errors.Is(err, storage.ErrNotFound):
		return mp.ErrNotFound
	case errors.Is(err, storage.ErrExists):
		return mp.ErrDuplicateName
	case errors.Is(err, storage.ErrQuotaExceeded):
		return mp.ErrQuotaExceeded
	case errors.Is(err, storage.ErrTemporary):
		return mp.ErrBusy
	}
	return mp.ErrCallFailed
}

// setProblem returns a problem entry for a value that was refused.
func problem(i int, t mp.Tag, ec mp.ErrorCode) mp.PropertyProblem {
	return mp.PropertyProblem{Index: uint16(i), Tag: t, Err: ec}
}

// normalizeClass trims a message class the way MAPI compares them.
func normalizeClass(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// newGUID returns a random (version 4) GUID.
func newGUID() mp.GUID {
	var g mp.GUID
	_, _ = rand.Read(g[:])
	g[7] = g[7]&0x0F | 0x40
	g[8] = g[8]&0x3F | 0x80
	return g
}
