package mapiprop

import "fmt"

// Flag bytes of FlaggedPropertyValue (MS-OXCDATA 2.11.5).
const (
	flagValue       = 0x00
	flagUnavailable = 0x01
	flagError       = 0x0A
)

// PropertyRow is one row of values over a column set known from context
// (MS-OXCDATA 2.8.1): the requested tags of RopGetPropertiesSpecific or the
// table columns of RopQueryRows, RopFindRow and RopExpandRow.
type PropertyRow struct {
	// Flagged selects FlaggedPropertyRow, which can carry missing values and
	// errors; otherwise the row is a StandardPropertyRow.
	Flagged bool
	// Values holds one value per column, in column order. Its tag is the
	// column's ID with the type actually sent: for PtypUnspecified columns
	// the stored type, for multi-value-instance columns the base type. In a
	// flagged row a missing value has type PtypNull and a failed one type
	// PtypErrorCode carrying an ErrorCode.
	Values []Value
}

// NewPropertyRow builds a row for the given columns, choosing the flagged
// form when any value is missing (PtypNull) or an error (PtypErrorCode in a
// column not of that type), as Exchange and gromox do (MS-OXCDATA 2.8.1).
// len(values) must equal len(columns).
func NewPropertyRow(columns []Tag, values []Value) PropertyRow {
	row := PropertyRow{Values: values}
	for i, v := range values {
		if i >= len(columns) {
			break
		}
		ct := columns[i].Type().Effective()
		switch v.Tag.Type() {
		case PtypNull:
			row.Flagged = true
		case PtypErrorCode:
			if ct != PtypErrorCode {
				row.Flagged = true
			}
		}
	}
	return row
}

// Get returns the value for property ID id, if the row has it and it is
// neither missing nor an error.
func (row PropertyRow) Get(id uint16) (Value, bool) {
	for _, v := range row.Values {
		if v.Tag.ID() == id && v.Tag.Type() != PtypNull && v.Tag.Type() != PtypErrorCode {
			return v, true
		}
	}
	return Value{}, false
}

// PropertyRow writes row over columns (MS-OXCDATA 2.8.1).
func (w *Writer) PropertyRow(columns []Tag, row PropertyRow) {
	if len(row.Values) != len(columns) {
		w.Failf("row has %d values for %d columns", len(row.Values), len(columns))
		return
	}
	if row.Flagged {
		w.U8(1)
	} else {
		w.U8(0)
	}
	for i, col := range columns {
		v := row.Values[i]
		ct := col.Type().Effective()
		vt := v.Tag.Type()
		if !row.Flagged {
			if ct == PtypUnspecified {
				if vt == PtypUnspecified || vt&MultiValueInstance != 0 {
					w.Failf("column %s: value has no concrete type", col)
				}
				w.TypedValue(vt, v.Data)
				continue
			}
			if vt != ct {
				w.Failf("column %s: standard row value has type %s", col, vt)
			}
			w.PropertyValue(ct, v.Data)
			continue
		}
		// FlaggedPropertyValue / FlaggedPropertyValueWithType (2.11.5, 2.11.6).
		switch {
		case vt == PtypNull:
			if ct == PtypUnspecified {
				w.U16(uint16(PtypUnspecified))
			}
			w.U8(flagUnavailable)
		case vt == PtypErrorCode && ct != PtypErrorCode:
			if ct == PtypUnspecified {
				w.U16(uint16(PtypErrorCode))
			}
			w.U8(flagError)
			w.PropertyValue(PtypErrorCode, v.Data)
		default:
			if ct == PtypUnspecified {
				if vt == PtypUnspecified || vt&MultiValueInstance != 0 {
					w.Failf("column %s: value has no concrete type", col)
				}
				w.U16(uint16(vt))
			} else if vt != ct {
				w.Failf("column %s: flagged row value has type %s", col, vt)
			}
			w.U8(flagValue)
			w.PropertyValue(vt, v.Data)
		}
	}
}

// PropertyRow reads a row over columns.
func (r *Reader) PropertyRow(columns []Tag) PropertyRow {
	var row PropertyRow
	switch f := r.U8(); f {
	case 0:
	case 1:
		row.Flagged = true
	default:
		if r.err == nil {
			r.Failf("property row flag 0x%02X", f)
		}
		return row
	}
	row.Values = make([]Value, 0, len(columns))
	for _, col := range columns {
		if r.err != nil {
			break
		}
		ct := col.Type().Effective()
		t := ct
		if ct == PtypUnspecified {
			t = PropType(r.U16())
		}
		if row.Flagged {
			switch f := r.U8(); f {
			case flagValue:
			case flagUnavailable:
				row.Values = append(row.Values, NullValue(col))
				continue
			case flagError:
				row.Values = append(row.Values, ErrorValue(col, ErrorCode(r.U32())))
				continue
			default:
				if r.err == nil {
					r.Failf("flagged value flag 0x%02X", f)
				}
				continue
			}
		}
		if !t.Known() || t&MultiValueInstance != 0 {
			if r.err == nil {
				r.Failf("column %s: unusable value type %s", col, t)
			}
			break
		}
		row.Values = append(row.Values, Value{Tag: col.WithType(t), Data: r.PropertyValue(t)})
	}
	if r.err != nil {
		return PropertyRow{}
	}
	return row
}

// PropertyRows reads n rows over columns (the RowData of a PropertyRowSet,
// MS-OXCDATA 2.8.2, whose count the ROP carries separately).
func (r *Reader) PropertyRows(columns []Tag, n int) []PropertyRow {
	if n > r.Len() {
		r.Fail(fmt.Errorf("%w: %d rows cannot fit in %d bytes", ErrTruncated, n, r.Len()))
		return nil
	}
	rows := make([]PropertyRow, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		rows = append(rows, r.PropertyRow(columns))
	}
	if r.err != nil {
		return nil
	}
	return rows
}

// PropertyRows writes rows over columns, without a count.
func (w *Writer) PropertyRows(columns []Tag, rows []PropertyRow) {
	for _, row := range rows {
		w.PropertyRow(columns, row)
	}
}

// TypedString is the TypedString structure of RopOpenMessage responses
// (MS-OXCDATA 2.11.7).
type TypedString struct {
	// Type is one of the TypedString* constants.
	Type  uint8
	Value string
}

// TypedString types (MS-OXCDATA 2.11.7).
const (
	TypedStringNone           uint8 = 0x00 // no string
	TypedStringEmpty          uint8 = 0x01 // empty string, nothing follows
	TypedString8              uint8 = 0x02 // 8-bit string in the message code page
	TypedStringReducedUnicode uint8 = 0x03 // Unicode string sent as 8-bit (all code points < 0x100)
	TypedStringUnicode        uint8 = 0x04 // UTF-16LE string
)

// NewTypedString picks the compact form the way Exchange does: None for
// absent, Empty for "", reduced Unicode when every character fits a byte,
// UTF-16 otherwise.
func NewTypedString(s string, present bool) TypedString {
	switch {
	case !present:
		return TypedString{Type: TypedStringNone}
	case s == "":
		return TypedString{Type: TypedStringEmpty}
	}
	for _, c := range s {
		if c == 0 || c >= 0x100 {
			return TypedString{Type: TypedStringUnicode, Value: s}
		}
	}
	return TypedString{Type: TypedStringReducedUnicode, Value: s}
}

// TypedString writes a TypedString.
func (w *Writer) TypedString(s TypedString) {
	w.U8(s.Type)
	switch s.Type {
	case TypedStringNone, TypedStringEmpty:
	case TypedString8:
		w.CString(s.Value)
	case TypedStringReducedUnicode:
		// Latin-1: each code point below 0x100 becomes one byte.
		b, _ := EncodeString8(s.Value, CodePageLatin1)
		w.rawCString(b)
	case TypedStringUnicode:
		w.UTF16String(s.Value)
	default:
		w.Failf("TypedString type 0x%02X", s.Type)
	}
}

// TypedString reads a TypedString.
func (r *Reader) TypedString() TypedString {
	s := TypedString{Type: r.U8()}
	switch s.Type {
	case TypedStringNone, TypedStringEmpty:
	case TypedString8:
		s.Value = r.CString()
	case TypedStringReducedUnicode:
		s.Value, _ = DecodeString8(r.RawCString(), CodePageLatin1)
	case TypedStringUnicode:
		s.Value = r.UTF16String()
	default:
		if r.err == nil {
			r.Failf("TypedString type 0x%02X", s.Type)
		}
	}
	return s
}
