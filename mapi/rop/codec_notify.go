package rop

import (
	"fmt"

	"github.com/pochta/pochta/internal/mapiprop"
)

// Notification ROPs (MS-OXCROPS 2.2.14; MS-OXCNOTIF) and the ROPs without
// a request/response pair (MS-OXCROPS 2.2.15).

// Notification types, the low 12 bits of NotificationFlags
// (MS-OXCNOTIF 2.2.1.4.1.2), also used as RegisterNotification types.
const (
	NotifyNewMail        uint16 = 0x0002
	NotifyObjectCreated  uint16 = 0x0004
	NotifyObjectDeleted  uint16 = 0x0008
	NotifyObjectModified uint16 = 0x0010
	NotifyObjectMoved    uint16 = 0x0020
	NotifyObjectCopied   uint16 = 0x0040
	NotifySearchComplete uint16 = 0x0080
	NotifyTableModified  uint16 = 0x0100
	NotifyICS            uint16 = 0x0200
	NotifyStatusObject   uint16 = 0x0400

	notifyTypeMask uint16 = 0x0FFF
	// NotificationFlags bits above the type.
	NotifyFlagTotalCount  uint16 = 0x1000 // T: TotalMessageCount present
	NotifyFlagUnreadCount uint16 = 0x2000 // U: UnreadMessageCount present
	NotifyFlagSearch      uint16 = 0x4000 // S: the event is in a search folder
	NotifyFlagMessage     uint16 = 0x8000 // M: the object is a message
)

// Table event types of TableModified notifications (MS-OXCNOTIF 2.2.1.4.1.2).
const (
	TableChanged         uint16 = 0x0001
	TableError           uint16 = 0x0002
	TableRowAdded        uint16 = 0x0003
	TableRowDeleted      uint16 = 0x0004
	TableRowModified     uint16 = 0x0005
	TableSortDone        uint16 = 0x0006
	TableRestrictionDone uint16 = 0x0007
	TableSetColumnsDone  uint16 = 0x0008
	TableReload          uint16 = 0x0009
)

// RegisterNotificationRequest (MS-OXCROPS 2.2.14.1.1). FolderID and
// MessageID are on the wire only when WantWholeStore is false.
type RegisterNotificationRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	NotificationTypes uint8
	Reserved          uint8
	WantWholeStore    bool
	FolderID          ID
	MessageID         ID
}

func (*RegisterNotificationRequest) RopID() RopID                 { return RopRegisterNotification }
func (x *RegisterNotificationRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *RegisterNotificationRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U8(x.NotificationTypes)
	w.U8(x.Reserved)
	w.Bool(x.WantWholeStore)
	if !x.WantWholeStore {
		w.U64(uint64(x.FolderID))
		w.U64(uint64(x.MessageID))
	}
}
func (x *RegisterNotificationRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.NotificationTypes = r.U8()
	x.Reserved = r.U8()
	x.WantWholeStore = r.Bool()
	if !x.WantWholeStore {
		x.FolderID = ID(r.U64())
		x.MessageID = ID(r.U64())
	}
}

// RegisterNotificationResponse (MS-OXCROPS 2.2.14.1.2).
type RegisterNotificationResponse struct{ ResponseHeader }

func (*RegisterNotificationResponse) RopID() RopID { return RopRegisterNotification }

// NotificationData describes one event (MS-OXCNOTIF 2.2.1.4.1.2). Which
// fields are on the wire follows from NotificationFlags and TableEventType;
// the comments name the condition. Fields not on the wire are ignored when
// encoding and zero after decoding.
type NotificationData struct {
	NotificationFlags uint16
	TableEventType    uint16 // TableModified

	TableRowFolderID            ID     // row added, deleted, modified
	TableRowMessageID           ID     // … and M
	TableRowInstance            uint32 // … and M
	InsertAfterTableRowFolderID ID     // row added, modified
	InsertAfterTableRowID       ID     // … and M
	InsertAfterTableRowInstance uint32 // … and M
	// TableRowData is a PropertyRow over the table's columns (row added,
	// modified); see EncodeTableRow and NotificationData.TableRow.
	TableRowData []byte

	HierarchyChanged bool           // ICS
	FolderGIDs       []mapiprop.GID // ICS
	ICSChangeNumbers []uint32       // ICS, one per GID

	FolderID          ID // all but TableModified, ICS, StatusObject
	MessageID         ID // … and M
	ParentFolderID    ID // created, deleted, moved, copied, when S and M agree
	OldFolderID       ID // moved, copied
	OldMessageID      ID // moved, copied, and M
	OldParentFolderID ID // moved, copied, and not M
	// TagCount and Tags: created, modified. TagCount 0xFFFF means the
	// changed properties are not listed.
	TagCount           uint16
	Tags               []Tag
	TotalMessageCount  uint32 // T
	UnreadMessageCount uint32 // U
	MessageFlags       uint32 // NewMail
	UnicodeFlag        bool   // NewMail
	MessageClass       string // NewMail
}

// Type returns the notification type bits.
func (d *NotificationData) Type() uint16 { return d.NotificationFlags & notifyTypeMask }

func (d *NotificationData) has(f uint16) bool { return d.NotificationFlags&f != 0 }

func (d *NotificationData) tableRowEvent() bool {
	if d.Type()&NotifyTableModified == 0 {
		return false
	}
	switch d.TableEventType {
	case TableRowAdded, TableRowDeleted, TableRowModified:
		return true
	}
	return false
}

func (d *NotificationData) tableRowInsert() bool {
	return d.tableRowEvent() && (d.TableEventType == TableRowAdded || d.TableEventType == TableRowModified)
}

func (d *NotificationData) hasFolderID() bool {
	return d.Type()&(NotifyTableModified|NotifyICS|NotifyStatusObject) == 0
}

func (d *NotificationData) hasParentFolderID() bool {
	if d.Type()&(NotifyObjectCreated|NotifyObjectDeleted|NotifyObjectMoved|NotifyObjectCopied) == 0 {
		return false
	}
	return d.has(NotifyFlagSearch) == d.has(NotifyFlagMessage)
}

func (d *NotificationData) put(w *mapiprop.Writer) {
	w.U16(d.NotificationFlags)
	m := d.has(NotifyFlagMessage)
	t := d.Type()
	if t&NotifyTableModified != 0 {
		w.U16(d.TableEventType)
	}
	if d.tableRowEvent() {
		w.U64(uint64(d.TableRowFolderID))
		if m {
			w.U64(uint64(d.TableRowMessageID))
			w.U32(d.TableRowInstance)
		}
		if d.tableRowInsert() {
			w.U64(uint64(d.InsertAfterTableRowFolderID))
			if m {
				w.U64(uint64(d.InsertAfterTableRowID))
				w.U32(d.InsertAfterTableRowInstance)
			}
			putSized(w, d.TableRowData, "table row data")
		}
	}
	if t&NotifyICS != 0 {
		w.Bool(d.HierarchyChanged)
		if len(d.ICSChangeNumbers) != len(d.FolderGIDs) {
			w.Failf("%d ICS change numbers for %d folders", len(d.ICSChangeNumbers), len(d.FolderGIDs))
		}
		w.U32(uint32(len(d.FolderGIDs)))
		for _, g := range d.FolderGIDs {
			w.Raw(g.Bytes())
		}
		for _, cn := range d.ICSChangeNumbers {
			w.U32(cn)
		}
	}
	if d.hasFolderID() {
		w.U64(uint64(d.FolderID))
		if m {
			w.U64(uint64(d.MessageID))
		}
	}
	if d.hasParentFolderID() {
		w.U64(uint64(d.ParentFolderID))
	}
	if t&(NotifyObjectMoved|NotifyObjectCopied) != 0 {
		w.U64(uint64(d.OldFolderID))
		if m {
			w.U64(uint64(d.OldMessageID))
		} else {
			w.U64(uint64(d.OldParentFolderID))
		}
	}
	if t&(NotifyObjectCreated|NotifyObjectModified) != 0 {
		w.U16(d.TagCount)
		if d.TagCount != 0xFFFF {
			if int(d.TagCount) != len(d.Tags) {
				w.Failf("TagCount %d for %d tags", d.TagCount, len(d.Tags))
			}
			for _, tag := range d.Tags {
				w.U32(uint32(tag))
			}
		}
	}
	if d.has(NotifyFlagTotalCount) {
		w.U32(d.TotalMessageCount)
	}
	if d.has(NotifyFlagUnreadCount) {
		w.U32(d.UnreadMessageCount)
	}
	if t == NotifyNewMail {
		w.U32(d.MessageFlags)
		w.Bool(d.UnicodeFlag)
		putString(w, d.MessageClass, d.UnicodeFlag)
	}
}

func (d *NotificationData) get(r *mapiprop.Reader) {
	d.NotificationFlags = r.U16()
	m := d.has(NotifyFlagMessage)
	t := d.Type()
	if t&NotifyTableModified != 0 {
		d.TableEventType = r.U16()
	}
	if d.tableRowEvent() {
		d.TableRowFolderID = ID(r.U64())
		if m {
			d.TableRowMessageID = ID(r.U64())
			d.TableRowInstance = r.U32()
		}
		if d.tableRowInsert() {
			d.InsertAfterTableRowFolderID = ID(r.U64())
			if m {
				d.InsertAfterTableRowID = ID(r.U64())
				d.InsertAfterTableRowInstance = r.U32()
			}
			d.TableRowData = getSized(r)
		}
	}
	if t&NotifyICS != 0 {
		d.HierarchyChanged = r.Bool()
		n := r.U32()
		if uint64(n)*26 > uint64(r.Len()) {
			r.Failf("%d ICS folders in %d bytes", n, r.Len())
			return
		}
		d.FolderGIDs = make([]mapiprop.GID, n)
		for i := range d.FolderGIDs {
			d.FolderGIDs[i], _ = mapiprop.ParseGID(r.Bytes(22))
		}
		d.ICSChangeNumbers = make([]uint32, n)
		for i := range d.ICSChangeNumbers {
			d.ICSChangeNumbers[i] = r.U32()
		}
	}
	if d.hasFolderID() {
		d.FolderID = ID(r.U64())
		if m {
			d.MessageID = ID(r.U64())
		}
	}
	if d.hasParentFolderID() {
		d.ParentFolderID = ID(r.U64())
	}
	if t&(NotifyObjectMoved|NotifyObjectCopied) != 0 {
		d.OldFolderID = ID(r.U64())
		if m {
			d.OldMessageID = ID(r.U64())
		} else {
			d.OldParentFolderID = ID(r.U64())
		}
	}
	if t&(NotifyObjectCreated|NotifyObjectModified) != 0 {
		d.TagCount = r.U16()
		if d.TagCount != 0xFFFF {
			d.Tags = r.TagsN(int(d.TagCount))
		}
	}
	if d.has(NotifyFlagTotalCount) {
		d.TotalMessageCount = r.U32()
	}
	if d.has(NotifyFlagUnreadCount) {
		d.UnreadMessageCount = r.U32()
	}
	if t == NotifyNewMail {
		d.MessageFlags = r.U32()
		d.UnicodeFlag = r.Bool()
		d.MessageClass = getString(r, d.UnicodeFlag)
	}
}

// EncodeTableRow encodes a row for NotificationData.TableRowData.
func EncodeTableRow(columns []Tag, row mapiprop.PropertyRow) ([]byte, error) {
	w := mapiprop.NewWriter()
	w.PropertyRow(columns, row)
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("rop: encoding notification row: %w", err)
	}
	return w.Bytes(), nil
}

// TableRow decodes TableRowData over the table's columns.
func (d *NotificationData) TableRow(columns []Tag) (mapiprop.PropertyRow, error) {
	r := mapiprop.NewReader(d.TableRowData)
	row := r.PropertyRow(columns)
	if err := r.Err(); err != nil {
		return mapiprop.PropertyRow{}, fmt.Errorf("rop: decoding notification row: %w", err)
	}
	if r.Len() != 0 {
		// The data is exactly one row; leftovers mean the columns are wrong.
		return mapiprop.PropertyRow{}, fmt.Errorf("rop: notification row has %d bytes after %d columns", r.Len(), len(columns))
	}
	return row, nil
}

// NotifyResponse delivers an event for a subscription or table handle
// (MS-OXCROPS 2.2.14.2); it has no request.
type NotifyResponse struct {
	NotificationHandle uint32
	LogonID            uint8
	Data               NotificationData
}

func (*NotifyResponse) RopID() RopID { return RopNotify }
func (x *NotifyResponse) encodeResponse(w *mapiprop.Writer) {
	w.U32(x.NotificationHandle)
	w.U8(x.LogonID)
	x.Data.put(w)
}
func (x *NotifyResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.NotificationHandle = r.U32()
	x.LogonID = r.U8()
	x.Data.get(r)
}

// PendingResponse tells the client more notifications wait on the server
// (MS-OXCROPS 2.2.14.3).
type PendingResponse struct {
	SessionIndex uint16
}

func (*PendingResponse) RopID() RopID { return RopPending }
func (x *PendingResponse) encodeResponse(w *mapiprop.Writer) {
	w.U16(x.SessionIndex)
}
func (x *PendingResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.SessionIndex = r.U16()
}

// BufferTooSmallResponse ends a ROP output list that could not hold every
// response; RequestBuffers holds the unprocessed request ROPs
// (MS-OXCROPS 2.2.15.1; see RequestList.Remainder).
type BufferTooSmallResponse struct {
	SizeNeeded     uint16
	RequestBuffers []byte
}

func (*BufferTooSmallResponse) RopID() RopID { return RopBufferTooSmall }
func (x *BufferTooSmallResponse) encodeResponse(w *mapiprop.Writer) {
	w.U16(x.SizeNeeded)
	w.Raw(x.RequestBuffers)
}
func (x *BufferTooSmallResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.SizeNeeded = r.U16()
	x.RequestBuffers = r.Rest()
}

// BackoffRop asks the client to delay one ROP type (MS-OXCROPS 2.2.15.2.1.1).
type BackoffRop struct {
	RopID    RopID
	Duration uint32 // milliseconds
}

// BackoffResponse asks the client to delay requests for a logon, or for
// the listed ROPs (MS-OXCROPS 2.2.15.2).
type BackoffResponse struct {
	LogonID        uint8
	Duration       uint32 // milliseconds
	Rops           []BackoffRop
	AdditionalData []byte
}

func (*BackoffResponse) RopID() RopID { return RopBackoff }
func (x *BackoffResponse) encodeResponse(w *mapiprop.Writer) {
	w.U8(x.LogonID)
	w.U32(x.Duration)
	if len(x.Rops) > 0xFF {
		w.Failf("%d backoff ROPs exceed 255", len(x.Rops))
	}
	w.U8(uint8(len(x.Rops)))
	for _, b := range x.Rops {
		w.U8(uint8(b.RopID))
		w.U32(b.Duration)
	}
	putSized(w, x.AdditionalData, "backoff additional data")
}
func (x *BackoffResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.LogonID = r.U8()
	x.Duration = r.U32()
	n := int(r.U8())
	if n*5 > r.Len() {
		r.Failf("%d backoff ROPs in %d bytes", n, r.Len())
		return
	}
	x.Rops = make([]BackoffRop, n)
	for i := range x.Rops {
		x.Rops[i] = BackoffRop{RopID: RopID(r.U8()), Duration: r.U32()}
	}
	x.AdditionalData = getSized(r)
}

// ReleaseRequest frees the object in InputHandleIndex (MS-OXCROPS
// 2.2.15.3). It has no response.
type ReleaseRequest struct{ RequestHeader }

func (*ReleaseRequest) RopID() RopID { return RopRelease }
