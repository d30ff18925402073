package rules

import (
	"errors"
	"fmt"
	"strings"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

// Action data layouts of the standard (non-extended) rule format, the one
// RopModifyRules carries and the store keeps (MS-OXORULE 2.2.5.1.2).

// Forward flavors (MS-OXORULE 2.2.5.1.1).
const (
	FwdPreserveSender uint32 = 0x00000001
	FwdDoNotMungeMsg  uint32 = 0x00000002
	FwdAsAttachment   uint32 = 0x00000004
)

// Redirect is the flavor Outlook writes for "redirect to": the message goes
// on unchanged with its original sender.
const Redirect = FwdPreserveSender | FwdDoNotMungeMsg

// Reply flavors (MS-OXORULE 2.2.5.1.1).
const (
	ReplyDoNotSendToOriginator uint32 = 0x00000001
	ReplyStockTemplate         uint32 = 0x00000002
)

// ErrBadAction is returned for action data that cannot be read.
var ErrBadAction = errors.New("rules: malformed action data")

// MoveCopy is the ActionData of OP_MOVE and OP_COPY (MS-OXORULE
// 2.2.5.1.2.1): a folder of this store by FID (ServerEid), or a folder
// entry id (possibly of another store).
type MoveCopy struct {
	InThisStore bool
	StoreEID    []byte
	// FolderID is the target's FID when InThisStore (ServerEid form).
	FolderID mp.ID
	// FolderEID is the target's folder entry id when not InThisStore.
	FolderEID []byte
}

// serverEidSize is Ours (1) + FolderId (8) + MessageId (8) + Instance (4).
const serverEidSize = 21

// ParseMoveCopy decodes OP_MOVE/OP_COPY ActionData.
func ParseMoveCopy(data []byte) (MoveCopy, error) {
	r := mp.NewReader(data)
	var m MoveCopy
	m.InThisStore = r.U8() != 0
	m.StoreEID = r.Bytes(int(r.U16()))
	eid := r.Bytes(int(r.U16()))
	if r.Err() != nil {
		return MoveCopy{}, fmt.Errorf("%w: move/copy: %v", ErrBadAction, r.Err())
	}
	if m.InThisStore {
		if len(eid) < serverEidSize || eid[0] != 0x01 {
			return MoveCopy{}, fmt.Errorf("%w: move/copy: server entry id of %d bytes", ErrBadAction, len(eid))
		}
		er := mp.NewReader(eid[1:9])
		m.FolderID = mp.ID(er.U64())
		return m, nil
	}
	m.FolderEID = eid
	return m, nil
}

// EncodeMoveCopy makes OP_MOVE/OP_COPY ActionData.
func EncodeMoveCopy(m MoveCopy) ([]byte, error) {
	w := mp.NewWriter()
	eid := m.FolderEID
	if m.InThisStore {
		e := mp.NewWriter()
		e.U8(0x01)
		e.U64(uint64(m.FolderID))
		e.U64(0)
		e.U32(0)
		eid = e.Bytes()
		w.U8(1)
	} else {
		w.U8(0)
	}
	w.U16Len(len(m.StoreEID), "store entry id size")
	w.Raw(m.StoreEID)
	w.U16Len(len(eid), "folder entry id size")
	w.Raw(eid)
	return w.Bytes(), w.Err()
}

// ReplyTemplate is the ActionData of OP_REPLY and OP_OOF_REPLY
// (MS-OXORULE 2.2.5.1.2.2): the reply template message (an FAI message of
// the rule's folder) by FID and MID.
type ReplyTemplate struct {
	FolderID  mp.ID
	MessageID mp.ID
	GUID      mp.GUID
}

// ParseReply decodes OP_REPLY/OP_OOF_REPLY ActionData.
func ParseReply(data []byte) (ReplyTemplate, error) {
	r := mp.NewReader(data)
	t := ReplyTemplate{FolderID: mp.ID(r.U64()), MessageID: mp.ID(r.U64()), GUID: r.GUID()}
	if r.Err() != nil {
		return ReplyTemplate{}, fmt.Errorf("%w: reply: %v", ErrBadAction, r.Err())
	}
	return t, nil
}

// EncodeReply makes OP_REPLY/OP_OOF_REPLY ActionData.
func EncodeReply(t ReplyTemplate) []byte {
	w := mp.NewWriter()
	w.U64(uint64(t.FolderID))
	w.U64(uint64(t.MessageID))
	w.GUID(t.GUID)
	return w.Bytes()
}

// maxForwardRecipients bounds the recipients of one forward action.
const maxForwardRecipients = 256

// ParseForward decodes OP_FORWARD/OP_DELEGATE ActionData
// (MS-OXORULE 2.2.5.1.2.3): recipient blocks of property values.
func ParseForward(data []byte) ([][]mp.Value, error) {
	r := mp.NewReader(data)
	n := int(r.U16())
	if n > maxForwardRecipients || n*3 > r.Len() {
		return nil, fmt.Errorf("%w: %d forward recipients in %d bytes", ErrBadAction, n, r.Len())
	}
	out := make([][]mp.Value, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		r.U8() // Reserved, 0x01
		out = append(out, r.TaggedValues())
	}
	if r.Err() != nil {
		return nil, fmt.Errorf("%w: forward: %v", ErrBadAction, r.Err())
	}
	return out, nil
}

// EncodeForward makes OP_FORWARD/OP_DELEGATE ActionData.
func EncodeForward(recipients [][]mp.Value) ([]byte, error) {
	w := mp.NewWriter()
	w.U16Len(len(recipients), "forward recipient count")
	for _, rc := range recipients {
		w.U8(0x01)
		w.TaggedValues(rc)
	}
	return w.Bytes(), w.Err()
}

// SMTPRecipient is the recipient block of an SMTP address, as Outlook
// writes a one-off recipient.
func SMTPRecipient(name, address string) []mp.Value {
	if name == "" {
		name = address
	}
	return []mp.Value{
		mp.StringValue(mp.PidTagDisplayName, name),
		mp.StringValue(mp.PidTagAddressType, "SMTP"),
		mp.StringValue(mp.PidTagEmailAddress, address),
		mp.StringValue(mp.PidTagSmtpAddress, address),
		mp.BinaryValue(mp.PidTagEntryId, mp.NewSMTPOneOff(name, address).Bytes()),
	}
}

// RecipientAddress returns the SMTP address of a forward recipient block:
// PidTagSmtpAddress, an SMTP PidTagEmailAddress, or the address of a
// one-off entry id. ok is false for a recipient named only by an address
// book entry (resolve its X500 DN with the directory).
func RecipientAddress(block []mp.Value) (addr string, x500 string, ok bool) {
	var typ, email string
	var eid []byte
	for _, v := range block {
		switch v.Tag.ID() {
		case mp.PidTagSmtpAddress.ID():
			if s, isStr := v.Data.(string); isStr && s != "" {
				return s, "", true
			}
		case mp.PidTagAddressType.ID():
			typ, _ = v.Data.(string)
		case mp.PidTagEmailAddress.ID():
			email, _ = v.Data.(string)
		case mp.PidTagEntryId.ID():
			eid, _ = v.Data.([]byte)
		}
	}
	if strings.EqualFold(typ, "SMTP") && email != "" {
		return email, "", true
	}
	if eid != nil {
		if oo, err := mp.ParseOneOffEntryID(eid); err == nil && strings.EqualFold(oo.AddressType, "SMTP") && oo.EmailAddress != "" {
			return oo.EmailAddress, "", true
		}
		if ab, err := mp.ParseAddressBookEntryID(eid); err == nil {
			return "", ab.X500DN, false
		}
	}
	if strings.EqualFold(typ, "EX") {
		return "", email, false
	}
	return "", "", false
}

// ParseTag decodes OP_TAG ActionData (MS-OXORULE 2.2.5.1.2.4): one tagged
// property value to set on the message.
func ParseTag(data []byte) (mp.Value, error) {
	r := mp.NewReader(data)
	v := r.TaggedValue()
	if r.Err() != nil {
		return mp.Value{}, fmt.Errorf("%w: tag: %v", ErrBadAction, r.Err())
	}
	return v, nil
}

// EncodeTag makes OP_TAG ActionData.
func EncodeTag(v mp.Value) ([]byte, error) {
	w := mp.NewWriter()
	w.TaggedValue(v)
	return w.Bytes(), w.Err()
}
