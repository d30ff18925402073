package mapiprop

// RecipientFlags bits (MS-OXCDATA 2.8.3.1). The low three bits are the
// recipient type.
const (
	RecipientTypeMask      uint16 = 0x0007
	RecipientTypeNone      uint16 = 0x0000
	RecipientTypeX500DN    uint16 = 0x0001
	RecipientTypeMsMail    uint16 = 0x0002
	RecipientTypeSMTP      uint16 = 0x0003
	RecipientTypeFax       uint16 = 0x0004
	RecipientTypeOffice    uint16 = 0x0005 // ProfessionalOfficeSystem
	RecipientTypePDL1      uint16 = 0x0006 // PersonalDistributionList1
	RecipientTypePDL2      uint16 = 0x0007 // PersonalDistributionList2
	RecipientFlagEmail     uint16 = 0x0008 // E: EmailAddress present
	RecipientFlagDisplay   uint16 = 0x0010 // D: DisplayName present
	RecipientFlagTransmit  uint16 = 0x0020 // T: TransmittableDisplayName present
	RecipientFlagSame      uint16 = 0x0040 // S: transmittable name equals display name
	RecipientFlagResponsib uint16 = 0x0080 // R: this recipient is responsible for delivery
	RecipientFlagNonRich   uint16 = 0x0100 // N: does not support rich text
	RecipientFlagUnicode   uint16 = 0x0200 // U: strings are UTF-16
	RecipientFlagSimple    uint16 = 0x0400 // I: SimpleDisplayName present
	RecipientFlagOutOfStd  uint16 = 0x8000 // O: AddressType present (type None only)
)

// RecipientRow is one recipient of a message (MS-OXCDATA 2.8.3.2). Which
// optional fields are on the wire follows from Flags; fields whose flag is
// not set are ignored when encoding and left empty when decoding.
type RecipientRow struct {
	Flags uint16
	// X500DN recipients (type 0x1): ASCII DN and its prefix/display type.
	AddressPrefixUsed uint8
	DisplayType       uint8
	X500DN            string
	// Personal distribution lists (types 0x6, 0x7).
	EntryID   []byte
	SearchKey []byte
	// AddressType (8-bit) for type None with the O flag.
	AddressType string
	// Strings governed by the E, D, I and T flags; UTF-16 if U is set,
	// 8-bit in the reader's/writer's code page otherwise.
	EmailAddress             string
	DisplayName              string
	SimpleDisplayName        string
	TransmittableDisplayName string
	// ColumnCount is RecipientColumnCount: how many of the ROP's recipient
	// columns (from the start) Properties covers.
	ColumnCount uint16
	Properties  PropertyRow
}

// Type returns the recipient type bits.
func (rr *RecipientRow) Type() uint16 { return rr.Flags & RecipientTypeMask }

func (rr *RecipientRow) columns(all []Tag) ([]Tag, bool) {
	if int(rr.ColumnCount) > len(all) {
		return nil, false
	}
	return all[:rr.ColumnCount], true
}

// RecipientRow writes rr; columns is the ROP's full recipient column list.
func (w *Writer) RecipientRow(columns []Tag, rr *RecipientRow) {
	w.U16(rr.Flags)
	str := func(s string) {
		if rr.Flags&RecipientFlagUnicode != 0 {
			w.UTF16String(s)
		} else {
			w.CString(s)
		}
	}
	switch rr.Type() {
	case RecipientTypeX500DN:
		w.U8(rr.AddressPrefixUsed)
		w.U8(rr.DisplayType)
		w.ASCIIString(rr.X500DN)
	case RecipientTypePDL1, RecipientTypePDL2:
		w.U16Len(len(rr.EntryID), "recipient entry ID")
		w.Raw(rr.EntryID)
		w.U16Len(len(rr.SearchKey), "recipient search key")
		w.Raw(rr.SearchKey)
	case RecipientTypeNone:
		if rr.Flags&RecipientFlagOutOfStd != 0 {
			w.ASCIIString(rr.AddressType)
		}
	}
	if rr.Flags&RecipientFlagEmail != 0 {
		str(rr.EmailAddress)
	}
	if rr.Flags&RecipientFlagDisplay != 0 {
		str(rr.DisplayName)
	}
	if rr.Flags&RecipientFlagSimple != 0 {
		str(rr.SimpleDisplayName)
	}
	if rr.Flags&RecipientFlagTransmit != 0 {
		str(rr.TransmittableDisplayName)
	}
	w.U16(rr.ColumnCount)
	cols, ok := rr.columns(columns)
	if !ok {
		w.Failf("recipient row covers %d columns, only %d known", rr.ColumnCount, len(columns))
		return
	}
	w.PropertyRow(cols, rr.Properties)
}

// RecipientRow reads a RecipientRow; columns is the ROP's full recipient
// column list.
func (r *Reader) RecipientRow(columns []Tag) RecipientRow {
	var rr RecipientRow
	rr.Flags = r.U16()
	str := func() string {
		if rr.Flags&RecipientFlagUnicode != 0 {
			return r.UTF16String()
		}
		return r.CString()
	}
	switch rr.Type() {
	case RecipientTypeX500DN:
		rr.AddressPrefixUsed = r.U8()
		rr.DisplayType = r.U8()
		rr.X500DN = r.ASCIIString()
	case RecipientTypePDL1, RecipientTypePDL2:
		rr.EntryID = r.Bytes(int(r.U16()))
		rr.SearchKey = r.Bytes(int(r.U16()))
	case RecipientTypeNone:
		if rr.Flags&RecipientFlagOutOfStd != 0 {
			rr.AddressType = r.ASCIIString()
		}
	}
	if rr.Flags&RecipientFlagEmail != 0 {
		rr.EmailAddress = str()
	}
	if rr.Flags&RecipientFlagDisplay != 0 {
		rr.DisplayName = str()
	}
	if rr.Flags&RecipientFlagSimple != 0 {
		rr.SimpleDisplayName = str()
	}
	if rr.Flags&RecipientFlagTransmit != 0 {
		rr.TransmittableDisplayName = str()
	}
	rr.ColumnCount = r.U16()
	if r.err != nil {
		return RecipientRow{}
	}
	cols, ok := rr.columns(columns)
	if !ok {
		r.Failf("recipient row covers %d columns, only %d known", rr.ColumnCount, len(columns))
		return RecipientRow{}
	}
	rr.Properties = r.PropertyRow(cols)
	if r.err != nil {
		return RecipientRow{}
	}
	return rr
}
