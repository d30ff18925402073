package mapiprop

import "fmt"

// PropType is a property type code (MS-OXCDATA 2.11.1).
type PropType uint16

// Property types (MS-OXCDATA 2.11.1, 2.11.1.2).
const (
	PtypUnspecified  PropType = 0x0000
	PtypNull         PropType = 0x0001
	PtypInteger16    PropType = 0x0002
	PtypInteger32    PropType = 0x0003
	PtypFloating32   PropType = 0x0004
	PtypFloating64   PropType = 0x0005
	PtypCurrency     PropType = 0x0006
	PtypFloatingTime PropType = 0x0007
	PtypErrorCode    PropType = 0x000A
	PtypBoolean      PropType = 0x000B
	PtypObject       PropType = 0x000D
	PtypInteger64    PropType = 0x0014
	PtypString8      PropType = 0x001E
	PtypString       PropType = 0x001F
	PtypTime         PropType = 0x0040
	PtypGuid         PropType = 0x0048
	PtypServerId     PropType = 0x00FB
	PtypRestriction  PropType = 0x00FD
	PtypRuleAction   PropType = 0x00FE
	PtypBinary       PropType = 0x0102

	PtypMultipleInteger16    PropType = 0x1002
	PtypMultipleInteger32    PropType = 0x1003
	PtypMultipleFloating32   PropType = 0x1004
	PtypMultipleFloating64   PropType = 0x1005
	PtypMultipleCurrency     PropType = 0x1006
	PtypMultipleFloatingTime PropType = 0x1007
	PtypMultipleInteger64    PropType = 0x1014
	PtypMultipleString8      PropType = 0x101E
	PtypMultipleString       PropType = 0x101F
	PtypMultipleTime         PropType = 0x1040
	PtypMultipleGuid         PropType = 0x1048
	PtypMultipleBinary       PropType = 0x1102
)

// Type flags (MS-OXCDATA 2.11.1.3).
const (
	// MultipleFlag marks a multi-valued type.
	MultipleFlag PropType = 0x1000
	// MultiValueInstance asks a table for one row per value of a
	// multi-valued column (used in RopSetColumns and sort orders).
	MultiValueInstance PropType = 0x2000
)

// IsMultiple reports whether t is a multi-valued type.
func (t PropType) IsMultiple() bool { return t&MultipleFlag != 0 }

// Base strips the multi-value and multi-value-instance flags.
func (t PropType) Base() PropType { return t &^ (MultipleFlag | MultiValueInstance) }

// Effective is the type of one cell in a table column of type t: a
// multi-value-instance column yields single values of the base type.
func (t PropType) Effective() PropType {
	if t&MultiValueInstance != 0 {
		return t.Base()
	}
	return t
}

// Known reports whether t is a type this package can encode and decode.
func (t PropType) Known() bool {
	_, ok := typeNames[t]
	return ok && t != PtypUnspecified
}

var typeNames = map[PropType]string{
	PtypUnspecified: "PtypUnspecified", PtypNull: "PtypNull",
	PtypInteger16: "PtypInteger16", PtypInteger32: "PtypInteger32",
	PtypFloating32: "PtypFloating32", PtypFloating64: "PtypFloating64",
	PtypCurrency: "PtypCurrency", PtypFloatingTime: "PtypFloatingTime",
	PtypErrorCode: "PtypErrorCode", PtypBoolean: "PtypBoolean",
	PtypObject: "PtypObject", PtypInteger64: "PtypInteger64",
	PtypString8: "PtypString8", PtypString: "PtypString",
	PtypTime: "PtypTime", PtypGuid: "PtypGuid", PtypServerId: "PtypServerId",
	PtypRestriction: "PtypRestriction", PtypRuleAction: "PtypRuleAction",
	PtypBinary:               "PtypBinary",
	PtypMultipleInteger16:    "PtypMultipleInteger16",
	PtypMultipleInteger32:    "PtypMultipleInteger32",
	PtypMultipleFloating32:   "PtypMultipleFloating32",
	PtypMultipleFloating64:   "PtypMultipleFloating64",
	PtypMultipleCurrency:     "PtypMultipleCurrency",
	PtypMultipleFloatingTime: "PtypMultipleFloatingTime",
	PtypMultipleInteger64:    "PtypMultipleInteger64",
	PtypMultipleString8:      "PtypMultipleString8",
	PtypMultipleString:       "PtypMultipleString",
	PtypMultipleTime:         "PtypMultipleTime",
	PtypMultipleGuid:         "PtypMultipleGuid",
	PtypMultipleBinary:       "PtypMultipleBinary",
}

func (t PropType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("PropType(0x%04X)", uint16(t))
}

// Tag is a property tag: property ID in the high 16 bits, type in the low
// 16 bits (MS-OXCDATA 2.9). On the wire it is a little-endian uint32, so the
// type bytes come first.
type Tag uint32

// NewTag composes a tag from a property ID and a type.
func NewTag(id uint16, t PropType) Tag { return Tag(uint32(id)<<16 | uint32(t)) }

// ID is the property ID.
func (t Tag) ID() uint16 { return uint16(t >> 16) }

// Type is the property type.
func (t Tag) Type() PropType { return PropType(t) }

// WithType returns the tag with the same ID and type pt.
func (t Tag) WithType(pt PropType) Tag { return NewTag(t.ID(), pt) }

// IsNamed reports whether the ID is in the named-property range (0x8000 and
// above), which is mapped per mailbox by RopGetPropertyIdsFromNames.
func (t Tag) IsNamed() bool { return t.ID() >= 0x8000 }

func (t Tag) String() string { return fmt.Sprintf("0x%08X", uint32(t)) }
