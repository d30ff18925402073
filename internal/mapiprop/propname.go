package mapiprop

import "fmt"

// PropertyName kinds (MS-OXCDATA 2.6.1).
const (
	KindLID  uint8 = 0x00 // MNID_ID: identified by a 32-bit LID
	KindName uint8 = 0x01 // MNID_STRING: identified by a string name
	KindNone uint8 = 0xFF // no name (reply to an unmapped ID)
)

// PropertyName names a named property: a property set GUID plus a LID or a
// string (MS-OXCDATA 2.6.1).
type PropertyName struct {
	Kind uint8
	GUID GUID
	LID  uint32 // Kind == KindLID
	Name string // Kind == KindName
}

// LIDName is a PropertyName with a LID.
func LIDName(set GUID, lid uint32) PropertyName {
	return PropertyName{Kind: KindLID, GUID: set, LID: lid}
}

// StringName is a PropertyName with a string.
func StringName(set GUID, name string) PropertyName {
	return PropertyName{Kind: KindName, GUID: set, Name: name}
}

func (n PropertyName) String() string {
	switch n.Kind {
	case KindLID:
		return fmt.Sprintf("%s:0x%04X", n.GUID, n.LID)
	case KindName:
		return fmt.Sprintf("%s:%q", n.GUID, n.Name)
	}
	return fmt.Sprintf("%s:none", n.GUID)
}

// PropertyName writes a PropertyName. Names are limited to 126 UTF-16 code
// units because NameSize (which counts the terminator) is one byte.
func (w *Writer) PropertyName(n PropertyName) {
	w.U8(n.Kind)
	w.GUID(n.GUID)
	switch n.Kind {
	case KindLID:
		w.U32(n.LID)
	case KindName:
		size := UTF16Len(n.Name) + 2
		if size > 0xFF {
			w.Failf("property name %q too long (%d bytes)", n.Name, size)
			return
		}
		w.U8(uint8(size))
		w.UTF16String(n.Name)
	case KindNone:
	default:
		w.Failf("property name kind 0x%02X", n.Kind)
	}
}

// PropertyName reads a PropertyName.
func (r *Reader) PropertyName() PropertyName {
	n := PropertyName{Kind: r.U8(), GUID: r.GUID()}
	switch n.Kind {
	case KindLID:
		n.LID = r.U32()
	case KindName:
		size := int(r.U8())
		n.Name = r.UTF16Bytes(size)
	case KindNone:
	default:
		if r.err == nil {
			r.Failf("property name kind 0x%02X", n.Kind)
		}
	}
	return n
}

// PropertyNames writes a uint16 count followed by PropertyNames.
func (w *Writer) PropertyNames(names []PropertyName) {
	w.U16Len(len(names), "property name count")
	for _, n := range names {
		w.PropertyName(n)
	}
}

// PropertyNames reads a uint16 count followed by PropertyNames.
func (r *Reader) PropertyNames() []PropertyName { return r.PropertyNamesN(int(r.U16())) }

// PropertyNamesN reads n PropertyNames.
func (r *Reader) PropertyNamesN(n int) []PropertyName {
	if n*17 > r.Len() {
		r.Fail(fmt.Errorf("%w: %d property names cannot fit in %d bytes", ErrTruncated, n, r.Len()))
		return nil
	}
	names := make([]PropertyName, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		names = append(names, r.PropertyName())
	}
	if r.err != nil {
		return nil
	}
	return names
}
