package mapiprop

import "fmt"

// Restriction types (MS-OXCDATA 2.12).
const (
	RestrictAnd          uint8 = 0x00
	RestrictOr           uint8 = 0x01
	RestrictNot          uint8 = 0x02
	RestrictContent      uint8 = 0x03
	RestrictProperty     uint8 = 0x04
	RestrictCompareProps uint8 = 0x05
	RestrictBitmask      uint8 = 0x06
	RestrictSize         uint8 = 0x07
	RestrictExist        uint8 = 0x08
	RestrictSubObject    uint8 = 0x09
	RestrictComment      uint8 = 0x0A
	RestrictCount        uint8 = 0x0B
)

// Relational operators of Property, CompareProperties and Size
// restrictions (MS-OXCDATA 2.12.4).
const (
	RelOpLessThan           uint8 = 0x00
	RelOpLessThanOrEqual    uint8 = 0x01
	RelOpGreaterThan        uint8 = 0x02
	RelOpGreaterThanOrEqual uint8 = 0x03
	RelOpEqual              uint8 = 0x04
	RelOpNotEqual           uint8 = 0x05
	RelOpRegex              uint8 = 0x06
	RelOpMemberOfDL         uint8 = 0x64
)

// Fuzzy levels of Content restrictions (MS-OXCDATA 2.12.5). FuzzyLevelLow
// holds the match mode; FuzzyLevelHigh the comparison flags.
const (
	FuzzyFullString      uint16 = 0x0000
	FuzzySubstring       uint16 = 0x0001
	FuzzyPrefix          uint16 = 0x0002
	FuzzyPrefixOnAnyWord uint16 = 0x0010
	FuzzyPhraseMatch     uint16 = 0x0020

	FuzzyIgnoreCase     uint16 = 0x0001
	FuzzyIgnoreNonSpace uint16 = 0x0002
	FuzzyLoose          uint16 = 0x0004
)

// Bitmask restriction operators (MS-OXCDATA 2.12.7).
const (
	BitmaskEqualZero    uint8 = 0x00 // BMR_EQZ
	BitmaskNotEqualZero uint8 = 0x01 // BMR_NEZ
)

// Restriction is one node of a restriction tree (MS-OXCDATA 2.12). The
// concrete types are the *Restriction structs of this package.
type Restriction interface {
	restrictionType() uint8
}

// AndRestriction matches when every child matches (2.12.1).
type AndRestriction struct{ Restrictions []Restriction }

// OrRestriction matches when any child matches (2.12.2).
type OrRestriction struct{ Restrictions []Restriction }

// NotRestriction inverts its child (2.12.3).
type NotRestriction struct{ Restriction Restriction }

// ContentRestriction matches string or binary content (2.12.4).
type ContentRestriction struct {
	FuzzyLevelLow  uint16
	FuzzyLevelHigh uint16
	PropTag        Tag
	Value          Value
}

// PropertyRestriction compares a property with a value (2.12.5).
type PropertyRestriction struct {
	RelOp   uint8
	PropTag Tag
	Value   Value
}

// ComparePropertiesRestriction compares two properties of the object (2.12.6).
type ComparePropertiesRestriction struct {
	RelOp    uint8
	PropTag1 Tag
	PropTag2 Tag
}

// BitmaskRestriction tests bits of an integer property (2.12.7).
type BitmaskRestriction struct {
	RelOp   uint8 // BitmaskEqualZero or BitmaskNotEqualZero
	PropTag Tag
	Mask    uint32
}

// SizeRestriction compares the size of a property value (2.12.8).
type SizeRestriction struct {
	RelOp   uint8
	PropTag Tag
	Size    uint32
}

// ExistRestriction matches when the property exists (2.12.9).
type ExistRestriction struct{ PropTag Tag }

// SubObjectRestriction applies its child to recipients or attachments
// (2.12.10). SubObject is PidTagMessageRecipients or PidTagMessageAttachments.
type SubObjectRestriction struct {
	SubObject   Tag
	Restriction Restriction
}

// CommentRestriction annotates a restriction with property values (2.12.11).
// Restriction may be nil.
type CommentRestriction struct {
	Values      []Value
	Restriction Restriction
}

// CountRestriction limits how many objects its child may match (2.12.12).
type CountRestriction struct {
	Count       uint32
	Restriction Restriction
}

func (*AndRestriction) restrictionType() uint8               { return RestrictAnd }
func (*OrRestriction) restrictionType() uint8                { return RestrictOr }
func (*NotRestriction) restrictionType() uint8               { return RestrictNot }
func (*ContentRestriction) restrictionType() uint8           { return RestrictContent }
func (*PropertyRestriction) restrictionType() uint8          { return RestrictProperty }
func (*ComparePropertiesRestriction) restrictionType() uint8 { return RestrictCompareProps }
func (*BitmaskRestriction) restrictionType() uint8           { return RestrictBitmask }
func (*SizeRestriction) restrictionType() uint8              { return RestrictSize }
func (*ExistRestriction) restrictionType() uint8             { return RestrictExist }
func (*SubObjectRestriction) restrictionType() uint8         { return RestrictSubObject }
func (*CommentRestriction) restrictionType() uint8           { return RestrictComment }
func (*CountRestriction) restrictionType() uint8             { return RestrictCount }

// Restriction writes a restriction tree.
func (w *Writer) Restriction(res Restriction) {
	if res == nil {
		w.Failf("nil restriction")
		return
	}
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxDepth {
		w.Failf("restriction nested deeper than %d", maxDepth)
		return
	}
	w.U8(res.restrictionType())
	switch x := res.(type) {
	case *AndRestriction:
		w.count(len(x.Restrictions), "And restriction count")
		for _, c := range x.Restrictions {
			w.Restriction(c)
		}
	case *OrRestriction:
		w.count(len(x.Restrictions), "Or restriction count")
		for _, c := range x.Restrictions {
			w.Restriction(c)
		}
	case *NotRestriction:
		w.Restriction(x.Restriction)
	case *ContentRestriction:
		w.U16(x.FuzzyLevelLow)
		w.U16(x.FuzzyLevelHigh)
		w.U32(uint32(x.PropTag))
		w.TaggedValue(x.Value)
	case *PropertyRestriction:
		w.U8(x.RelOp)
		w.U32(uint32(x.PropTag))
		w.TaggedValue(x.Value)
	case *ComparePropertiesRestriction:
		w.U8(x.RelOp)
		w.U32(uint32(x.PropTag1))
		w.U32(uint32(x.PropTag2))
	case *BitmaskRestriction:
		w.U8(x.RelOp)
		w.U32(uint32(x.PropTag))
		w.U32(x.Mask)
	case *SizeRestriction:
		w.U8(x.RelOp)
		w.U32(uint32(x.PropTag))
		w.U32(x.Size)
	case *ExistRestriction:
		w.U32(uint32(x.PropTag))
	case *SubObjectRestriction:
		w.U32(uint32(x.SubObject))
		w.Restriction(x.Restriction)
	case *CommentRestriction:
		if len(x.Values) > 0xFF {
			w.Failf("comment restriction with %d values", len(x.Values))
		}
		w.U8(uint8(len(x.Values)))
		for _, v := range x.Values {
			w.TaggedValue(v)
		}
		if x.Restriction != nil {
			w.U8(1)
			w.Restriction(x.Restriction)
		} else {
			w.U8(0)
		}
	case *CountRestriction:
		w.U32(x.Count)
		w.Restriction(x.Restriction)
	default:
		w.Failf("unknown restriction type %T", res)
	}
}

// Restriction reads a restriction tree.
func (r *Reader) Restriction() Restriction {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxDepth {
		r.Failf("restriction nested deeper than %d", maxDepth)
		return nil
	}
	typ := r.U8()
	if r.err != nil {
		return nil
	}
	var res Restriction
	switch typ {
	case RestrictAnd, RestrictOr:
		n := r.count()
		// Every child takes at least 3 bytes (an empty And/Or, or a
		// Comment without values or child).
		if uint64(n)*3 > uint64(r.Len()) {
			r.Fail(fmt.Errorf("%w: %d restrictions cannot fit in %d bytes", ErrTruncated, n, r.Len()))
			return nil
		}
		children := make([]Restriction, 0, n)
		for i := uint32(0); i < n && r.err == nil; i++ {
			children = append(children, r.Restriction())
		}
		if typ == RestrictAnd {
			res = &AndRestriction{children}
		} else {
			res = &OrRestriction{children}
		}
	case RestrictNot:
		res = &NotRestriction{r.Restriction()}
	case RestrictContent:
		res = &ContentRestriction{FuzzyLevelLow: r.U16(), FuzzyLevelHigh: r.U16(), PropTag: Tag(r.U32()), Value: r.TaggedValue()}
	case RestrictProperty:
		res = &PropertyRestriction{RelOp: r.U8(), PropTag: Tag(r.U32()), Value: r.TaggedValue()}
	case RestrictCompareProps:
		res = &ComparePropertiesRestriction{RelOp: r.U8(), PropTag1: Tag(r.U32()), PropTag2: Tag(r.U32())}
	case RestrictBitmask:
		res = &BitmaskRestriction{RelOp: r.U8(), PropTag: Tag(r.U32()), Mask: r.U32()}
	case RestrictSize:
		res = &SizeRestriction{RelOp: r.U8(), PropTag: Tag(r.U32()), Size: r.U32()}
	case RestrictExist:
		res = &ExistRestriction{Tag(r.U32())}
	case RestrictSubObject:
		res = &SubObjectRestriction{SubObject: Tag(r.U32()), Restriction: r.Restriction()}
	case RestrictComment:
		c := &CommentRestriction{Values: r.TaggedValuesN(int(r.U8()))}
		switch present := r.U8(); present {
		case 0:
		case 1:
			c.Restriction = r.Restriction()
		default:
			if r.err == nil {
				r.Failf("comment RestrictionPresent 0x%02X", present)
			}
		}
		res = c
	case RestrictCount:
		res = &CountRestriction{Count: r.U32(), Restriction: r.Restriction()}
	default:
		r.Failf("restriction type 0x%02X", typ)
	}
	if r.err != nil {
		return nil
	}
	return res
}

// SizedRestriction writes RestrictionDataSize (uint16) followed by the
// restriction; a nil restriction is written as size 0 (MS-OXCROPS 2.2.5.3).
func (w *Writer) SizedRestriction(res Restriction) {
	if res == nil {
		w.U16(0)
		return
	}
	at := w.Len()
	w.U16(0)
	w.Restriction(res)
	n := w.Len() - at - 2
	if n > 0xFFFF {
		w.Failf("restriction of %d bytes exceeds 65535", n)
		return
	}
	w.PatchU16(at, uint16(n))
}

// SizedRestriction reads RestrictionDataSize (uint16) and, if non-zero, the
// restriction it covers. Bytes inside the size after the restriction are
// skipped; a restriction running past the size is an error.
func (r *Reader) SizedRestriction() Restriction {
	n := int(r.U16())
	if n == 0 || r.err != nil {
		return nil
	}
	s := r.Sub(n)
	res := s.Restriction()
	r.Fail(s.Err())
	return res
}
