package mapiprop

import (
	"bytes"
	"fmt"
)

// Store object entry ID types (MS-OXCDATA 2.2.4.1, 2.2.4.2).
const (
	EntryTypePrivateFolder  uint16 = 0x0001 // eitLTPrivateFolder
	EntryTypePublicFolder   uint16 = 0x0003 // eitLTPublicFolder
	EntryTypeWackyFolder    uint16 = 0x0005 // eitLTWackyFolder
	EntryTypePrivateMessage uint16 = 0x0007 // eitLTPrivateMessage
	EntryTypePublicMessage  uint16 = 0x0009 // eitLTPublicMessage
	EntryTypeWackyMessage   uint16 = 0x000B // eitLTWackyMessage
)

// Store entry ID wrapped types (MS-OXCDATA 2.2.4.3).
const (
	WrappedTypePrivate uint32 = 0x0000000C
	WrappedTypePublic  uint32 = 0x00000006
)

// Address book display types (MS-OXNSPI 2.2.1.3), used in entry IDs and
// PidTagDisplayType.
const (
	DisplayTypeMailUser        uint32 = 0x00000000 // DT_MAILUSER
	DisplayTypeDistList        uint32 = 0x00000001 // DT_DISTLIST
	DisplayTypeForum           uint32 = 0x00000002
	DisplayTypeAgent           uint32 = 0x00000003
	DisplayTypeOrganization    uint32 = 0x00000004
	DisplayTypePrivateDL       uint32 = 0x00000005
	DisplayTypeRemoteMailUser  uint32 = 0x00000006
	DisplayTypeContainer       uint32 = 0x00000100
	DisplayTypeTemplate        uint32 = 0x00000101
	DisplayTypeAddressTemplate uint32 = 0x00000102
	DisplayTypeSearch          uint32 = 0x00000200
)

// FolderEntryID identifies a folder in a store (MS-OXCDATA 2.2.4.1), 46
// bytes. ProviderUID is the mailbox's store GUID (PidTagStoreRecordKey),
// DatabaseGUID the replica GUID of the FID's REPLID.
type FolderEntryID struct {
	Flags         uint32
	ProviderUID   GUID
	FolderType    uint16
	DatabaseGUID  GUID
	GlobalCounter uint64
}

// NewPrivateFolderEntryID builds the entry ID of a private-mailbox folder.
func NewPrivateFolderEntryID(storeGUID, replGUID GUID, globcnt uint64) FolderEntryID {
	return FolderEntryID{ProviderUID: storeGUID, FolderType: EntryTypePrivateFolder, DatabaseGUID: replGUID, GlobalCounter: globcnt}
}

// Bytes returns the 46-byte wire form.
func (e FolderEntryID) Bytes() []byte {
	w := NewWriter()
	w.U32(e.Flags)
	w.GUID(e.ProviderUID)
	w.U16(e.FolderType)
	w.GUID(e.DatabaseGUID)
	gc := GlobalCounterBytes(e.GlobalCounter)
	w.Raw(gc[:])
	w.U16(0)
	return w.Bytes()
}

// ParseFolderEntryID parses a folder entry ID.
func ParseFolderEntryID(b []byte) (FolderEntryID, error) {
	if len(b) != 46 {
		return FolderEntryID{}, fmt.Errorf("%w: folder entry ID of %d bytes", ErrMalformed, len(b))
	}
	r := NewReader(b)
	e := FolderEntryID{Flags: r.U32(), ProviderUID: r.GUID(), FolderType: r.U16(), DatabaseGUID: r.GUID()}
	e.GlobalCounter = GlobalCounterFromBytes(r.Bytes(6))
	r.U16()
	switch e.FolderType {
	case EntryTypePrivateFolder, EntryTypePublicFolder, EntryTypeWackyFolder:
	default:
		return FolderEntryID{}, fmt.Errorf("%w: folder entry ID of type 0x%04X", ErrMalformed, e.FolderType)
	}
	return e, r.Err()
}

// MessageEntryID identifies a message in a store (MS-OXCDATA 2.2.4.2), 70
// bytes.
type MessageEntryID struct {
	Flags                uint32
	ProviderUID          GUID
	MessageType          uint16
	FolderDatabaseGUID   GUID
	FolderGlobalCounter  uint64
	MessageDatabaseGUID  GUID
	MessageGlobalCounter uint64
}

// NewPrivateMessageEntryID builds the entry ID of a private-mailbox message.
func NewPrivateMessageEntryID(storeGUID, replGUID GUID, folderGC, messageGC uint64) MessageEntryID {
	return MessageEntryID{ProviderUID: storeGUID, MessageType: EntryTypePrivateMessage,
		FolderDatabaseGUID: replGUID, FolderGlobalCounter: folderGC,
		MessageDatabaseGUID: replGUID, MessageGlobalCounter: messageGC}
}

// Bytes returns the 70-byte wire form.
func (e MessageEntryID) Bytes() []byte {
	w := NewWriter()
	w.U32(e.Flags)
	w.GUID(e.ProviderUID)
	w.U16(e.MessageType)
	w.GUID(e.FolderDatabaseGUID)
	gc := GlobalCounterBytes(e.FolderGlobalCounter)
	w.Raw(gc[:])
	w.U16(0)
	w.GUID(e.MessageDatabaseGUID)
	gc = GlobalCounterBytes(e.MessageGlobalCounter)
	w.Raw(gc[:])
	w.U16(0)
	return w.Bytes()
}

// ParseMessageEntryID parses a message entry ID.
func ParseMessageEntryID(b []byte) (MessageEntryID, error) {
	if len(b) != 70 {
		return MessageEntryID{}, fmt.Errorf("%w: message entry ID of %d bytes", ErrMalformed, len(b))
	}
	r := NewReader(b)
	e := MessageEntryID{Flags: r.U32(), ProviderUID: r.GUID(), MessageType: r.U16(), FolderDatabaseGUID: r.GUID()}
	e.FolderGlobalCounter = GlobalCounterFromBytes(r.Bytes(6))
	r.U16()
	e.MessageDatabaseGUID = r.GUID()
	e.MessageGlobalCounter = GlobalCounterFromBytes(r.Bytes(6))
	r.U16()
	switch e.MessageType {
	case EntryTypePrivateMessage, EntryTypePublicMessage, EntryTypeWackyMessage:
	default:
		return MessageEntryID{}, fmt.Errorf("%w: message entry ID of type 0x%04X", ErrMalformed, e.MessageType)
	}
	return e, r.Err()
}

// StoreEntryID identifies a message store (MS-OXCDATA 2.2.4.3): an
// muidStoreWrap wrapper naming emsmdb.dll, the server and, for a private
// mailbox, the mailbox DN.
type StoreEntryID struct {
	Flags              uint32
	WrappedFlags       uint32
	WrappedProviderUID GUID   // ProviderUIDPrivateStore or ProviderUIDPublicStore
	WrappedType        uint32 // WrappedTypePrivate or WrappedTypePublic
	ServerShortname    string
	MailboxDN          string // private stores only
}

// NewPrivateStoreEntryID builds the entry ID of a user's mailbox.
func NewPrivateStoreEntryID(server, mailboxDN string) StoreEntryID {
	return StoreEntryID{WrappedProviderUID: ProviderUIDPrivateStore, WrappedType: WrappedTypePrivate,
		ServerShortname: server, MailboxDN: mailboxDN}
}

var emsmdbDLL = [14]byte{'e', 'm', 's', 'm', 'd', 'b', '.', 'd', 'l', 'l'}

// Bytes returns the wire form.
func (e StoreEntryID) Bytes() []byte {
	w := NewWriter()
	w.U32(e.Flags)
	w.GUID(ProviderUIDStoreWrap)
	w.U8(0) // Version
	w.U8(0) // Flag
	w.Raw(emsmdbDLL[:])
	w.U32(e.WrappedFlags)
	w.GUID(e.WrappedProviderUID)
	w.U32(e.WrappedType)
	w.ASCIIString(e.ServerShortname)
	if e.WrappedProviderUID != ProviderUIDPublicStore {
		w.ASCIIString(e.MailboxDN)
	}
	return w.Bytes()
}

// ParseStoreEntryID parses a store entry ID.
func ParseStoreEntryID(b []byte) (StoreEntryID, error) {
	r := NewReader(b)
	e := StoreEntryID{Flags: r.U32()}
	if uid := r.GUID(); r.Err() == nil && uid != ProviderUIDStoreWrap {
		return StoreEntryID{}, fmt.Errorf("%w: store entry ID with provider %s", ErrMalformed, uid)
	}
	r.U8()
	r.U8()
	if dll := r.Bytes(14); r.Err() == nil && !bytes.EqualFold(bytes.TrimRight(dll, "\x00"), []byte("emsmdb.dll")) {
		return StoreEntryID{}, fmt.Errorf("%w: store entry ID for %q", ErrMalformed, bytes.TrimRight(dll, "\x00"))
	}
	e.WrappedFlags = r.U32()
	e.WrappedProviderUID = r.GUID()
	e.WrappedType = r.U32()
	e.ServerShortname = r.ASCIIString()
	if r.Len() > 0 {
		e.MailboxDN = r.ASCIIString()
	}
	return e, r.Err()
}

// One-off entry ID flags (MS-OXCDATA 2.2.5.1), the 16-bit field after the
// version, as a little-endian value.
const (
	OneOffNoRichInfo uint16 = 0x0001 // M: recipient does not support rich text
	OneOffUnicode    uint16 = 0x8000 // U: strings are UTF-16
)

// OneOffEntryID names a recipient that is not in any address book by
// display name, address type and address (MS-OXCDATA 2.2.5.1).
type OneOffEntryID struct {
	Flags        uint16
	DisplayName  string
	AddressType  string
	EmailAddress string
}

// NewSMTPOneOff builds a Unicode one-off entry ID for an SMTP address.
func NewSMTPOneOff(displayName, address string) OneOffEntryID {
	return OneOffEntryID{Flags: OneOffUnicode, DisplayName: displayName, AddressType: "SMTP", EmailAddress: address}
}

// Bytes returns the wire form.
func (e OneOffEntryID) Bytes() []byte {
	w := NewWriter()
	w.U32(0)
	w.GUID(ProviderUIDOneOff)
	w.U16(0) // Version
	w.U16(e.Flags)
	for _, s := range []string{e.DisplayName, e.AddressType, e.EmailAddress} {
		if e.Flags&OneOffUnicode != 0 {
			w.UTF16String(s)
		} else {
			w.CString(s)
		}
	}
	return w.Bytes()
}

// ParseOneOffEntryID parses a one-off entry ID (8-bit strings as 1252).
func ParseOneOffEntryID(b []byte) (OneOffEntryID, error) {
	r := NewReader(b)
	r.U32()
	if uid := r.GUID(); r.Err() == nil && uid != ProviderUIDOneOff {
		return OneOffEntryID{}, fmt.Errorf("%w: one-off entry ID with provider %s", ErrMalformed, uid)
	}
	r.U16()
	e := OneOffEntryID{Flags: r.U16()}
	for _, dst := range []*string{&e.DisplayName, &e.AddressType, &e.EmailAddress} {
		if e.Flags&OneOffUnicode != 0 {
			*dst = r.UTF16String()
		} else {
			*dst = r.CString()
		}
	}
	return e, r.Err()
}

// AddressBookEntryID is a permanent address book entry ID (MS-OXCDATA
// 2.2.5.2; MS-OXNSPI 2.2.9.3): display type and X.500 DN (the ESSDN).
type AddressBookEntryID struct {
	Flags       uint32 // abFlags, 0 for permanent IDs
	DisplayType uint32
	X500DN      string
}

// Bytes returns the wire form (28 bytes + DN + NUL).
func (e AddressBookEntryID) Bytes() []byte {
	w := NewWriter()
	w.U32(e.Flags)
	w.GUID(ProviderUIDAddressBook)
	w.U32(1) // Version
	w.U32(e.DisplayType)
	w.ASCIIString(e.X500DN)
	return w.Bytes()
}

// ParseAddressBookEntryID parses a permanent address book entry ID.
func ParseAddressBookEntryID(b []byte) (AddressBookEntryID, error) {
	r := NewReader(b)
	e := AddressBookEntryID{Flags: r.U32()}
	if uid := r.GUID(); r.Err() == nil && uid != ProviderUIDAddressBook {
		return AddressBookEntryID{}, fmt.Errorf("%w: address book entry ID with provider %s", ErrMalformed, uid)
	}
	r.U32()
	e.DisplayType = r.U32()
	e.X500DN = r.ASCIIString()
	return e, r.Err()
}

// EphemeralEntryID is an NSPI ephemeral entry ID (MS-OXNSPI 2.2.9.2): valid
// only for the NSPI session whose server GUID it carries.
type EphemeralEntryID struct {
	ProviderUID GUID // the NSPI server GUID returned by Bind
	DisplayType uint32
	MId         uint32
}

// Bytes returns the 32-byte wire form.
func (e EphemeralEntryID) Bytes() []byte {
	w := NewWriter()
	w.U8(0x87)
	w.Raw([]byte{0, 0, 0})
	w.GUID(e.ProviderUID)
	w.U32(1)
	w.U32(e.DisplayType)
	w.U32(e.MId)
	return w.Bytes()
}

// ParseEphemeralEntryID parses an ephemeral entry ID.
func ParseEphemeralEntryID(b []byte) (EphemeralEntryID, error) {
	if len(b) != 32 || b[0] != 0x87 {
		return EphemeralEntryID{}, fmt.Errorf("%w: not an ephemeral entry ID", ErrMalformed)
	}
	r := NewReader(b[4:])
	e := EphemeralEntryID{ProviderUID: r.GUID()}
	r.U32()
	e.DisplayType = r.U32()
	e.MId = r.U32()
	return e, r.Err()
}

// EntryIDKind classifies an entry ID by its provider UID and shape.
type EntryIDKind int

// Entry ID kinds.
const (
	EntryIDUnknown EntryIDKind = iota
	EntryIDFolder
	EntryIDMessage
	EntryIDStore
	EntryIDOneOff
	EntryIDAddressBook
	EntryIDEphemeral
)

// ClassifyEntryID reports what kind of entry ID b is. Folder and message
// entry IDs are recognised by length and type field, since their provider
// UID is the store's own GUID.
func ClassifyEntryID(b []byte) EntryIDKind {
	if len(b) == 32 && b[0] == 0x87 {
		return EntryIDEphemeral
	}
	if len(b) < 20 {
		return EntryIDUnknown
	}
	var uid GUID
	copy(uid[:], b[4:20])
	switch uid {
	case ProviderUIDStoreWrap:
		return EntryIDStore
	case ProviderUIDOneOff:
		return EntryIDOneOff
	case ProviderUIDAddressBook:
		return EntryIDAddressBook
	}
	if _, err := ParseFolderEntryID(b); err == nil {
		return EntryIDFolder
	}
	if _, err := ParseMessageEntryID(b); err == nil {
		return EntryIDMessage
	}
	return EntryIDUnknown
}
