package rop

import "github.com/pochta/pochta/internal/mapiprop"

// Message and attachment ROPs (MS-OXCROPS 2.2.6; semantics in MS-OXCMSG).

// OpenMessage mode flags (MS-OXCMSG 2.2.3.1.1).
const (
	OpenModeReadOnly    uint8 = 0x00
	OpenModeReadWrite   uint8 = 0x01
	OpenModeBestAccess  uint8 = 0x03
	OpenModeSoftDeleted uint8 = 0x04
	OpenModeCreate      uint8 = 0x02 // RopOpenEmbeddedMessage only
)

// SaveFlags of RopSaveChangesMessage / RopSaveChangesAttachment
// (MS-OXCMSG 2.2.3.3.1).
const (
	SaveKeepOpenReadOnly  uint8 = 0x01
	SaveKeepOpenReadWrite uint8 = 0x02
	SaveForceSave         uint8 = 0x04
	SaveDelayedCall       uint8 = 0x08
)

// ReadFlags of RopSetMessageReadFlag / RopSetReadFlags (MS-OXCMSG 2.2.3.10.1).
const (
	ReadFlagDefault           uint8 = 0x00
	ReadFlagSuppressReceipt   uint8 = 0x01
	ReadFlagClearReadFlag     uint8 = 0x04
	ReadFlagGenerateReceipt   uint8 = 0x10
	ReadFlagClearNotifyRead   uint8 = 0x20
	ReadFlagClearNotifyUnread uint8 = 0x40
)

// recipientCodePage picks the code page for 8-bit strings of a recipient
// row: the row's own if this codec supports it.
func recipientCodePage(cp uint16, fallback uint32) uint32 {
	if mapiprop.SupportedCodePage(uint32(cp)) && cp != 0 {
		return uint32(cp)
	}
	return fallback
}

// putRecipientRow writes RecipientRowSize and the RecipientRow.
func putRecipientRow(w *mapiprop.Writer, columns []Tag, cp uint16, row *mapiprop.RecipientRow) {
	sub := mapiprop.NewWriter()
	sub.Format = w.Format
	sub.CodePage = recipientCodePage(cp, w.CodePage)
	sub.RecipientRow(columns, row)
	w.Fail(sub.Err())
	w.U16Len(sub.Len(), "recipient row")
	w.Raw(sub.Bytes())
}

// getRecipientRow reads RecipientRowSize and the RecipientRow inside it.
func getRecipientRow(r *mapiprop.Reader, columns []Tag, cp uint16) mapiprop.RecipientRow {
	sub := r.Sub(int(r.U16()))
	sub.CodePage = recipientCodePage(cp, r.CodePage)
	row := sub.RecipientRow(columns)
	r.Fail(sub.Err())
	return row
}

// OpenRecipientRow is one recipient in RopOpenMessage and related
// responses (MS-OXCROPS 2.2.6.1.2).
type OpenRecipientRow struct {
	RecipientType uint8
	CodePageID    uint16
	Reserved      uint16
	Row           mapiprop.RecipientRow
}

// MessageInfo is the message summary shared by the responses of
// RopOpenMessage, RopReloadCachedInformation and RopOpenEmbeddedMessage:
// subject parts, recipient columns and the first recipient rows
// (RecipientCount is the total; read the rest with RopReadRecipients).
type MessageInfo struct {
	HasNamedProperties bool
	SubjectPrefix      mapiprop.TypedString
	NormalizedSubject  mapiprop.TypedString
	RecipientCount     uint16
	RecipientColumns   []Tag
	RecipientRows      []OpenRecipientRow
}

func (m *MessageInfo) putInfo(w *mapiprop.Writer) {
	w.Bool(m.HasNamedProperties)
	w.TypedString(m.SubjectPrefix)
	w.TypedString(m.NormalizedSubject)
	w.U16(m.RecipientCount)
	w.Tags(m.RecipientColumns)
	if len(m.RecipientRows) > 0xFF {
		w.Failf("%d recipient rows exceed 255", len(m.RecipientRows))
	}
	w.U8(uint8(len(m.RecipientRows)))
	for i := range m.RecipientRows {
		row := &m.RecipientRows[i]
		w.U8(row.RecipientType)
		w.U16(row.CodePageID)
		w.U16(row.Reserved)
		putRecipientRow(w, m.RecipientColumns, row.CodePageID, &row.Row)
	}
}

func (m *MessageInfo) getInfo(r *mapiprop.Reader) {
	m.HasNamedProperties = r.Bool()
	m.SubjectPrefix = r.TypedString()
	m.NormalizedSubject = r.TypedString()
	m.RecipientCount = r.U16()
	m.RecipientColumns = r.Tags()
	n := int(r.U8())
	if n*7 > r.Len() {
		r.Failf("%d recipient rows in %d bytes", n, r.Len())
		return
	}
	m.RecipientRows = make([]OpenRecipientRow, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		row := OpenRecipientRow{RecipientType: r.U8(), CodePageID: r.U16(), Reserved: r.U16()}
		row.Row = getRecipientRow(r, m.RecipientColumns, row.CodePageID)
		m.RecipientRows = append(m.RecipientRows, row)
	}
}

// OpenMessageRequest (MS-OXCROPS 2.2.6.1.1). CodePageID 0x0FFF means the
// logon's code page.
type OpenMessageRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	CodePageID        uint16
	FolderID          ID
	OpenModeFlags     uint8
	MessageID         ID
}

func (*OpenMessageRequest) RopID() RopID                 { return RopOpenMessage }
func (x *OpenMessageRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *OpenMessageRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U16(x.CodePageID)
	w.U64(uint64(x.FolderID))
	w.U8(x.OpenModeFlags)
	w.U64(uint64(x.MessageID))
}
func (x *OpenMessageRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.CodePageID = r.U16()
	x.FolderID = ID(r.U64())
	x.OpenModeFlags = r.U8()
	x.MessageID = ID(r.U64())
}

// OpenMessageResponse (MS-OXCROPS 2.2.6.1.2).
type OpenMessageResponse struct {
	ResponseHeader
	MessageInfo
}

func (*OpenMessageResponse) RopID() RopID { return RopOpenMessage }
func (x *OpenMessageResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		x.MessageInfo.putInfo(w)
	}
}
func (x *OpenMessageResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.MessageInfo.getInfo(r)
	}
}

// CreateMessageRequest (MS-OXCROPS 2.2.6.2.1).
type CreateMessageRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	CodePageID        uint16
	FolderID          ID
	AssociatedFlag    bool
}

func (*CreateMessageRequest) RopID() RopID                 { return RopCreateMessage }
func (x *CreateMessageRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *CreateMessageRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U16(x.CodePageID)
	w.U64(uint64(x.FolderID))
	w.Bool(x.AssociatedFlag)
}
func (x *CreateMessageRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.CodePageID = r.U16()
	x.FolderID = ID(r.U64())
	x.AssociatedFlag = r.Bool()
}

// CreateMessageResponse (MS-OXCROPS 2.2.6.2.2); MessageID nil means
// HasMessageId 0 (what ruler expects for new messages).
type CreateMessageResponse struct {
	ResponseHeader
	MessageID *ID
}

func (*CreateMessageResponse) RopID() RopID { return RopCreateMessage }
func (x *CreateMessageResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		if x.MessageID == nil {
			w.U8(0)
			return
		}
		w.U8(1)
		w.U64(uint64(*x.MessageID))
	}
}
func (x *CreateMessageResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) && r.Bool() {
		id := ID(r.U64())
		x.MessageID = &id
	}
}

// SaveChangesMessageRequest (MS-OXCROPS 2.2.6.3.1). The third header byte
// is ResponseHandleIndex; InputHandleIndex (the message) follows it.
type SaveChangesMessageRequest struct {
	RequestHeader
	ResponseHandleIndex uint8
	SaveFlags           uint8
}

func (*SaveChangesMessageRequest) RopID() RopID                 { return RopSaveChangesMessage }
func (x *SaveChangesMessageRequest) responseHandleIndex() uint8 { return x.ResponseHandleIndex }
func (x *SaveChangesMessageRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.ResponseHandleIndex)
	w.U8(x.InputHandleIndex)
	w.U8(x.SaveFlags)
}
func (x *SaveChangesMessageRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.ResponseHandleIndex = r.U8()
	x.InputHandleIndex = r.U8()
	x.SaveFlags = r.U8()
}

// SaveChangesMessageResponse (MS-OXCROPS 2.2.6.3.2); HandleIndex is the
// ResponseHandleIndex.
type SaveChangesMessageResponse struct {
	ResponseHeader
	InputHandleIndex uint8
	MessageID        ID
}

func (*SaveChangesMessageResponse) RopID() RopID { return RopSaveChangesMessage }
func (x *SaveChangesMessageResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U8(x.InputHandleIndex)
		w.U64(uint64(x.MessageID))
	}
}
func (x *SaveChangesMessageResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.InputHandleIndex = r.U8()
		x.MessageID = ID(r.U64())
	}
}

// RemoveAllRecipientsRequest (MS-OXCROPS 2.2.6.4.1).
type RemoveAllRecipientsRequest struct {
	RequestHeader
	Reserved uint32
}

func (*RemoveAllRecipientsRequest) RopID() RopID { return RopRemoveAllRecipients }
func (x *RemoveAllRecipientsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U32(x.Reserved)
}
func (x *RemoveAllRecipientsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Reserved = r.U32()
}

// RemoveAllRecipientsResponse (MS-OXCROPS 2.2.6.4.2).
type RemoveAllRecipientsResponse struct{ ResponseHeader }

func (*RemoveAllRecipientsResponse) RopID() RopID { return RopRemoveAllRecipients }

// ModifyRecipientRow adds, replaces or (Row nil, RecipientRowSize 0)
// deletes the recipient RowID (MS-OXCROPS 2.2.6.5.1.1).
type ModifyRecipientRow struct {
	RowID         uint32
	RecipientType uint8
	Row           *mapiprop.RecipientRow
}

// ModifyRecipientsRequest (MS-OXCROPS 2.2.6.5.1).
type ModifyRecipientsRequest struct {
	RequestHeader
	RecipientColumns []Tag
	Rows             []ModifyRecipientRow
}

func (*ModifyRecipientsRequest) RopID() RopID { return RopModifyRecipients }
func (x *ModifyRecipientsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Tags(x.RecipientColumns)
	w.U16Len(len(x.Rows), "recipient row count")
	for _, row := range x.Rows {
		w.U32(row.RowID)
		w.U8(row.RecipientType)
		if row.Row == nil {
			w.U16(0)
			continue
		}
		putRecipientRow(w, x.RecipientColumns, 0, row.Row)
	}
}
func (x *ModifyRecipientsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.RecipientColumns = r.Tags()
	n := int(r.U16())
	if n*7 > r.Len() {
		r.Failf("%d recipient rows in %d bytes", n, r.Len())
		return
	}
	x.Rows = make([]ModifyRecipientRow, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		row := ModifyRecipientRow{RowID: r.U32(), RecipientType: r.U8()}
		size := int(r.U16())
		if size > 0 {
			sub := r.Sub(size)
			rr := sub.RecipientRow(x.RecipientColumns)
			r.Fail(sub.Err())
			row.Row = &rr
		}
		x.Rows = append(x.Rows, row)
	}
}

// ModifyRecipientsResponse (MS-OXCROPS 2.2.6.5.2).
type ModifyRecipientsResponse struct{ ResponseHeader }

func (*ModifyRecipientsResponse) RopID() RopID { return RopModifyRecipients }

// ReadRecipientsRequest (MS-OXCROPS 2.2.6.6.1).
type ReadRecipientsRequest struct {
	RequestHeader
	RowID    uint32
	Reserved uint16
}

func (*ReadRecipientsRequest) RopID() RopID { return RopReadRecipients }
func (x *ReadRecipientsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U32(x.RowID)
	w.U16(x.Reserved)
}
func (x *ReadRecipientsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.RowID = r.U32()
	x.Reserved = r.U16()
}

// ReadRecipientRow is one row of RopReadRecipients (MS-OXCROPS 2.2.6.6.2.1).
type ReadRecipientRow struct {
	RowID         uint32
	RecipientType uint8
	CodePageID    uint16
	Reserved      uint16
	Row           mapiprop.RecipientRow
}

// ReadRecipientsResponse (MS-OXCROPS 2.2.6.6.2). Columns is not on the
// wire: it is the message's recipient column set (from RopOpenMessage),
// needed to encode and decode the rows.
type ReadRecipientsResponse struct {
	ResponseHeader
	Columns []Tag
	Rows    []ReadRecipientRow
}

func (*ReadRecipientsResponse) RopID() RopID { return RopReadRecipients }
func (x *ReadRecipientsResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		if len(x.Rows) > 0xFF {
			w.Failf("%d recipient rows exceed 255", len(x.Rows))
		}
		w.U8(uint8(len(x.Rows)))
		for i := range x.Rows {
			row := &x.Rows[i]
			w.U32(row.RowID)
			w.U8(row.RecipientType)
			w.U16(row.CodePageID)
			w.U16(row.Reserved)
			putRecipientRow(w, x.Columns, row.CodePageID, &row.Row)
		}
	}
}
func (x *ReadRecipientsResponse) decodeResponse(r *mapiprop.Reader, ctx *ResponseContext) {
	if x.get(r) {
		x.Columns = ctx.Columns
		n := int(r.U8())
		if n*11 > r.Len() {
			r.Failf("%d recipient rows in %d bytes", n, r.Len())
			return
		}
		x.Rows = make([]ReadRecipientRow, 0, n)
		for i := 0; i < n && r.Err() == nil; i++ {
			row := ReadRecipientRow{RowID: r.U32(), RecipientType: r.U8(), CodePageID: r.U16(), Reserved: r.U16()}
			row.Row = getRecipientRow(r, x.Columns, row.CodePageID)
			x.Rows = append(x.Rows, row)
		}
	}
}

// ReloadCachedInformationRequest (MS-OXCROPS 2.2.6.7.1).
type ReloadCachedInformationRequest struct {
	RequestHeader
	Reserved uint16
}

func (*ReloadCachedInformationRequest) RopID() RopID { return RopReloadCachedInformation }
func (x *ReloadCachedInformationRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U16(x.Reserved)
}
func (x *ReloadCachedInformationRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Reserved = r.U16()
}

// ReloadCachedInformationResponse (MS-OXCROPS 2.2.6.7.2).
type ReloadCachedInformationResponse struct {
	ResponseHeader
	MessageInfo
}

func (*ReloadCachedInformationResponse) RopID() RopID { return RopReloadCachedInformation }
func (x *ReloadCachedInformationResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		x.MessageInfo.putInfo(w)
	}
}
func (x *ReloadCachedInformationResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.MessageInfo.getInfo(r)
	}
}

// SetMessageStatusRequest (MS-OXCROPS 2.2.6.8.1).
type SetMessageStatusRequest struct {
	RequestHeader
	MessageID          ID
	MessageStatusFlags uint32
	MessageStatusMask  uint32
}

func (*SetMessageStatusRequest) RopID() RopID { return RopSetMessageStatus }
func (x *SetMessageStatusRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.MessageID))
	w.U32(x.MessageStatusFlags)
	w.U32(x.MessageStatusMask)
}
func (x *SetMessageStatusRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.MessageID = ID(r.U64())
	x.MessageStatusFlags = r.U32()
	x.MessageStatusMask = r.U32()
}

// MessageStatusResponse is the body of RopSetMessageStatus (the previous
// flags) and RopGetMessageStatus (the current flags).
type MessageStatusResponse struct {
	ResponseHeader
	MessageStatusFlags uint32
}

func (x *MessageStatusResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(x.MessageStatusFlags)
	}
}
func (x *MessageStatusResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.MessageStatusFlags = r.U32()
	}
}

// SetMessageStatusResponse (MS-OXCROPS 2.2.6.8.2).
type SetMessageStatusResponse struct{ MessageStatusResponse }

func (*SetMessageStatusResponse) RopID() RopID { return RopSetMessageStatus }

// GetMessageStatusRequest (MS-OXCROPS 2.2.6.9.1).
type GetMessageStatusRequest struct {
	RequestHeader
	MessageID ID
}

func (*GetMessageStatusRequest) RopID() RopID { return RopGetMessageStatus }
func (x *GetMessageStatusRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.MessageID))
}
func (x *GetMessageStatusRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.MessageID = ID(r.U64())
}

// GetMessageStatusResponse (MS-OXCROPS 2.2.6.9.2). On the wire its RopId
// is 0x20, the value of RopSetMessageStatus.
type GetMessageStatusResponse struct{ MessageStatusResponse }

func (*GetMessageStatusResponse) RopID() RopID { return RopGetMessageStatus }

// SetReadFlagsRequest (MS-OXCROPS 2.2.6.10.1).
type SetReadFlagsRequest struct {
	RequestHeader
	WantAsynchronous bool
	ReadFlags        uint8
	MessageIDs       []ID
}

func (*SetReadFlagsRequest) RopID() RopID { return RopSetReadFlags }
func (x *SetReadFlagsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.U8(x.ReadFlags)
	putIDs(w, x.MessageIDs)
}
func (x *SetReadFlagsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.ReadFlags = r.U8()
	x.MessageIDs = getIDs(r)
}

// SetReadFlagsResponse (MS-OXCROPS 2.2.6.10.2): PartialCompletion is on
// the wire whatever the ReturnValue.
type SetReadFlagsResponse struct{ PartialResponse }

func (*SetReadFlagsResponse) RopID() RopID { return RopSetReadFlags }

// SetMessageReadFlagRequest (MS-OXCROPS 2.2.6.11.1). The third header byte
// is ResponseHandleIndex (a folder); InputHandleIndex (the message)
// follows. ClientData is on the wire only for public-folder logons (see
// RequestContext.PublicLogon); nil otherwise.
type SetMessageReadFlagRequest struct {
	RequestHeader
	ResponseHandleIndex uint8
	ReadFlags           uint8
	ClientData          *[24]byte
}

func (*SetMessageReadFlagRequest) RopID() RopID                 { return RopSetMessageReadFlag }
func (x *SetMessageReadFlagRequest) responseHandleIndex() uint8 { return x.ResponseHandleIndex }
func (x *SetMessageReadFlagRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.ResponseHandleIndex)
	w.U8(x.InputHandleIndex)
	w.U8(x.ReadFlags)
	if x.ClientData != nil {
		w.Raw(x.ClientData[:])
	}
}
func (x *SetMessageReadFlagRequest) decodeRequest(r *mapiprop.Reader, ctx *RequestContext) {
	x.ResponseHandleIndex = r.U8()
	x.InputHandleIndex = r.U8()
	x.ReadFlags = r.U8()
	if ctx.public(x.LogonID) {
		var cd [24]byte
		copy(cd[:], r.Bytes(24))
		x.ClientData = &cd
	}
}

// SetMessageReadFlagResponse (MS-OXCROPS 2.2.6.11.2). LogonID and
// ClientData follow only when ReadStatusChanged is set (public folders).
type SetMessageReadFlagResponse struct {
	ResponseHeader
	ReadStatusChanged bool
	LogonID           uint8
	ClientData        [24]byte
}

func (*SetMessageReadFlagResponse) RopID() RopID { return RopSetMessageReadFlag }
func (x *SetMessageReadFlagResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Bool(x.ReadStatusChanged)
		if x.ReadStatusChanged {
			w.U8(x.LogonID)
			w.Raw(x.ClientData[:])
		}
	}
}
func (x *SetMessageReadFlagResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.ReadStatusChanged = r.Bool()
		if x.ReadStatusChanged {
			x.LogonID = r.U8()
			copy(x.ClientData[:], r.Bytes(24))
		}
	}
}

// OpenAttachment flags (MS-OXCMSG 2.2.3.12.1).
const (
	AttachReadOnly   uint8 = 0x00
	AttachReadWrite  uint8 = 0x01
	AttachBestAccess uint8 = 0x03
)

// OpenAttachmentRequest (MS-OXCROPS 2.2.6.12.1).
type OpenAttachmentRequest struct {
	RequestHeader
	OutputHandleIndex   uint8
	OpenAttachmentFlags uint8
	AttachmentID        uint32
}

func (*OpenAttachmentRequest) RopID() RopID                 { return RopOpenAttachment }
func (x *OpenAttachmentRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *OpenAttachmentRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U8(x.OpenAttachmentFlags)
	w.U32(x.AttachmentID)
}
func (x *OpenAttachmentRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.OpenAttachmentFlags = r.U8()
	x.AttachmentID = r.U32()
}

// OpenAttachmentResponse (MS-OXCROPS 2.2.6.12.2).
type OpenAttachmentResponse struct{ ResponseHeader }

func (*OpenAttachmentResponse) RopID() RopID { return RopOpenAttachment }

// CreateAttachmentRequest (MS-OXCROPS 2.2.6.13.1).
type CreateAttachmentRequest struct {
	RequestHeader
	OutputHandleIndex uint8
}

func (*CreateAttachmentRequest) RopID() RopID                 { return RopCreateAttachment }
func (x *CreateAttachmentRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *CreateAttachmentRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
}
func (x *CreateAttachmentRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
}

// CreateAttachmentResponse (MS-OXCROPS 2.2.6.13.2).
type CreateAttachmentResponse struct {
	ResponseHeader
	AttachmentID uint32
}

func (*CreateAttachmentResponse) RopID() RopID { return RopCreateAttachment }
func (x *CreateAttachmentResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(x.AttachmentID)
	}
}
func (x *CreateAttachmentResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.AttachmentID = r.U32()
	}
}

// DeleteAttachmentRequest (MS-OXCROPS 2.2.6.14.1).
type DeleteAttachmentRequest struct {
	RequestHeader
	AttachmentID uint32
}

func (*DeleteAttachmentRequest) RopID() RopID { return RopDeleteAttachment }
func (x *DeleteAttachmentRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U32(x.AttachmentID)
}
func (x *DeleteAttachmentRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.AttachmentID = r.U32()
}

// DeleteAttachmentResponse (MS-OXCROPS 2.2.6.14.2).
type DeleteAttachmentResponse struct{ ResponseHeader }

func (*DeleteAttachmentResponse) RopID() RopID { return RopDeleteAttachment }

// SaveChangesAttachmentRequest (MS-OXCROPS 2.2.6.15.1). The third header
// byte is ResponseHandleIndex; InputHandleIndex (the attachment) follows.
type SaveChangesAttachmentRequest struct {
	RequestHeader
	ResponseHandleIndex uint8
	SaveFlags           uint8
}

func (*SaveChangesAttachmentRequest) RopID() RopID                 { return RopSaveChangesAttachment }
func (x *SaveChangesAttachmentRequest) responseHandleIndex() uint8 { return x.ResponseHandleIndex }
func (x *SaveChangesAttachmentRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.ResponseHandleIndex)
	w.U8(x.InputHandleIndex)
	w.U8(x.SaveFlags)
}
func (x *SaveChangesAttachmentRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.ResponseHandleIndex = r.U8()
	x.InputHandleIndex = r.U8()
	x.SaveFlags = r.U8()
}

// SaveChangesAttachmentResponse (MS-OXCROPS 2.2.6.15.2).
type SaveChangesAttachmentResponse struct{ ResponseHeader }

func (*SaveChangesAttachmentResponse) RopID() RopID { return RopSaveChangesAttachment }

// OpenEmbeddedMessageRequest (MS-OXCROPS 2.2.6.16.1).
type OpenEmbeddedMessageRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	CodePageID        uint16
	OpenEmbeddedFlags uint8
}

func (*OpenEmbeddedMessageRequest) RopID() RopID                 { return RopOpenEmbeddedMessage }
func (x *OpenEmbeddedMessageRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *OpenEmbeddedMessageRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U16(x.CodePageID)
	w.U8(x.OpenEmbeddedFlags)
}
func (x *OpenEmbeddedMessageRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.CodePageID = r.U16()
	x.OpenEmbeddedFlags = r.U8()
}

// OpenEmbeddedMessageResponse (MS-OXCROPS 2.2.6.16.2).
type OpenEmbeddedMessageResponse struct {
	ResponseHeader
	Reserved  uint8
	MessageID ID
	MessageInfo
}

func (*OpenEmbeddedMessageResponse) RopID() RopID { return RopOpenEmbeddedMessage }
func (x *OpenEmbeddedMessageResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U8(x.Reserved)
		w.U64(uint64(x.MessageID))
		x.MessageInfo.putInfo(w)
	}
}
func (x *OpenEmbeddedMessageResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Reserved = r.U8()
		x.MessageID = ID(r.U64())
		x.MessageInfo.getInfo(r)
	}
}

// GetAttachmentTableRequest (MS-OXCROPS 2.2.6.17.1).
type GetAttachmentTableRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	TableFlags        uint8
}

func (*GetAttachmentTableRequest) RopID() RopID                 { return RopGetAttachmentTable }
func (x *GetAttachmentTableRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *GetAttachmentTableRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U8(x.TableFlags)
}
func (x *GetAttachmentTableRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.TableFlags = r.U8()
}

// GetAttachmentTableResponse (MS-OXCROPS 2.2.6.17.2).
type GetAttachmentTableResponse struct{ ResponseHeader }

func (*GetAttachmentTableResponse) RopID() RopID { return RopGetAttachmentTable }

// GetValidAttachmentsRequest (MS-OXCROPS 2.2.6.18.1).
type GetValidAttachmentsRequest struct{ RequestHeader }

func (*GetValidAttachmentsRequest) RopID() RopID { return RopGetValidAttachments }

// GetValidAttachmentsResponse (MS-OXCROPS 2.2.6.18.2).
type GetValidAttachmentsResponse struct {
	ResponseHeader
	AttachmentIDs []uint32
}

func (*GetValidAttachmentsResponse) RopID() RopID { return RopGetValidAttachments }
func (x *GetValidAttachmentsResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U16Len(len(x.AttachmentIDs), "attachment ID count")
		for _, id := range x.AttachmentIDs {
			w.U32(id)
		}
	}
}
func (x *GetValidAttachmentsResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		n := int(r.U16())
		if n*4 > r.Len() {
			r.Failf("%d attachment IDs in %d bytes", n, r.Len())
			return
		}
		x.AttachmentIDs = make([]uint32, n)
		for i := range x.AttachmentIDs {
			x.AttachmentIDs[i] = r.U32()
		}
	}
}
