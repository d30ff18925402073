package rop

import (
	"time"

	"github.com/pochta/pochta/internal/mapiprop"
)

// Logon and store ROPs (MS-OXCROPS 2.2.3; semantics in MS-OXCSTOR).

type (
	// Writer and Reader are the wire codec types, re-exported for callers
	// that build or parse fields by hand.
	Writer = mapiprop.Writer
	Reader = mapiprop.Reader
	// ID is a FID or MID (MS-OXCDATA 2.2.1.1).
	ID = mapiprop.ID
	// GUID is a GUID in wire byte order.
	GUID = mapiprop.GUID
	// Tag is a property tag.
	Tag = mapiprop.Tag
)

// LogonFlags (MS-OXCSTOR 2.2.1.1.1).
const (
	LogonFlagPrivate    uint8 = 0x01
	LogonFlagUndercover uint8 = 0x02
	LogonFlagGhosted    uint8 = 0x04
	LogonFlagSplProcess uint8 = 0x08
)

// OpenFlags of RopLogon (MS-OXCSTOR 2.2.1.1.1).
const (
	OpenFlagUseAdminPrivilege      uint32 = 0x00000001
	OpenFlagPublic                 uint32 = 0x00000002
	OpenFlagHomeLogon              uint32 = 0x00000004
	OpenFlagTakeOwnership          uint32 = 0x00000008
	OpenFlagAlternateServer        uint32 = 0x00000100
	OpenFlagIgnoreHomeMDB          uint32 = 0x00000200
	OpenFlagNoMail                 uint32 = 0x00000400
	OpenFlagUsePerMDBReplIDMapping uint32 = 0x01000000
	OpenFlagSupportProgress        uint32 = 0x20000000
)

// Logon response flags (MS-OXCSTOR 2.2.1.1.3).
const (
	LogonResponseReserved    uint8 = 0x01 // must be set
	LogonResponseOwnerRight  uint8 = 0x02
	LogonResponseSendAsRight uint8 = 0x04
	LogonResponseOOF         uint8 = 0x10
)

// Indexes into LogonResponse.FolderIDs for a private mailbox
// (MS-OXCSTOR 2.2.1.1.3).
const (
	FolderRoot = iota
	FolderDeferredAction
	FolderSpoolerQueue
	FolderIPMSubtree
	FolderInbox
	FolderOutbox
	FolderSentItems
	FolderDeletedItems
	FolderCommonViews
	FolderSchedule
	FolderSearch
	FolderViews
	FolderShortcuts
)

// LogonRequest opens a mailbox or the public folders (MS-OXCROPS 2.2.3.1.1).
// InputHandleIndex is not used: the third header byte is OutputHandleIndex.
type LogonRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	LogonFlags        uint8
	OpenFlags         uint32
	StoreState        uint32
	// Essdn is the mailbox's DN without terminator; empty for a public
	// folder logon (EssdnSize 0).
	Essdn string
}

func (*LogonRequest) RopID() RopID                 { return RopLogon }
func (x *LogonRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *LogonRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.OutputHandleIndex)
	w.U8(x.LogonFlags)
	w.U32(x.OpenFlags)
	w.U32(x.StoreState)
	if x.Essdn == "" {
		w.U16(0)
		return
	}
	at := w.Len()
	w.U16(0)
	w.ASCIIString(x.Essdn)
	w.PatchU16(at, uint16(w.Len()-at-2))
}
func (x *LogonRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.OutputHandleIndex = r.U8()
	x.LogonFlags = r.U8()
	x.OpenFlags = r.U32()
	x.StoreState = r.U32()
	n := int(r.U16())
	if n == 0 {
		return
	}
	s := r.Sub(n)
	x.Essdn = s.ASCIIString()
	r.Fail(s.Err())
}

// LogonTime is the server's local time at logon (MS-OXCROPS 2.2.3.1.2).
type LogonTime struct {
	Seconds, Minutes, Hour uint8
	DayOfWeek              uint8 // 0 = Sunday
	Day, Month             uint8 // Month 1-12
	Year                   uint16
}

// NewLogonTime converts t.
func NewLogonTime(t time.Time) LogonTime {
	return LogonTime{Seconds: uint8(t.Second()), Minutes: uint8(t.Minute()), Hour: uint8(t.Hour()),
		DayOfWeek: uint8(t.Weekday()), Day: uint8(t.Day()), Month: uint8(t.Month()), Year: uint16(t.Year())}
}

// LogonResponse answers RopLogon (MS-OXCROPS 2.2.3.1.2-4). The layout
// depends on LogonFlags: with LogonFlagPrivate the private mailbox fields
// (ResponseFlags … StoreState) follow the folder IDs, otherwise the public
// folder fields (ReplID, ReplGUID, PerUserGUID). A failure with
// ecWrongServer carries LogonFlags and ServerName (the redirect).
type LogonResponse struct {
	ResponseHeader
	LogonFlags uint8
	FolderIDs  [13]ID

	ResponseFlags uint8     // private
	MailboxGUID   GUID      // private
	ReplID        uint16    // private and public
	ReplGUID      GUID      // private and public
	LogonTime     LogonTime // private
	GwartTime     uint64    // private, FILETIME
	StoreState    uint32    // private
	PerUserGUID   GUID      // public

	ServerName string // ecWrongServer redirect
}

func (*LogonResponse) RopID() RopID { return RopLogon }
func (x *LogonResponse) encodeResponse(w *mapiprop.Writer) {
	if !x.put(w) {
		if x.ReturnValue == mapiprop.ErrWrongServer {
			w.U8(x.LogonFlags)
			n := len(x.ServerName) + 1
			if n > 0xFF {
				w.Failf("redirect server name of %d bytes", n)
			}
			w.U8(uint8(n))
			w.ASCIIString(x.ServerName)
		}
		return
	}
	w.U8(x.LogonFlags)
	for _, id := range x.FolderIDs {
		w.U64(uint64(id))
	}
	if x.LogonFlags&LogonFlagPrivate != 0 {
		w.U8(x.ResponseFlags)
		w.GUID(x.MailboxGUID)
		w.U16(x.ReplID)
		w.GUID(x.ReplGUID)
		t := x.LogonTime
		w.U8(t.Seconds)
		w.U8(t.Minutes)
		w.U8(t.Hour)
		w.U8(t.DayOfWeek)
		w.U8(t.Day)
		w.U8(t.Month)
		w.U16(t.Year)
		w.U64(x.GwartTime)
		w.U32(x.StoreState)
		return
	}
	w.U16(x.ReplID)
	w.GUID(x.ReplGUID)
	w.GUID(x.PerUserGUID)
}
func (x *LogonResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if !x.get(r) {
		if x.ReturnValue == mapiprop.ErrWrongServer {
			x.LogonFlags = r.U8()
			s := r.Sub(int(r.U8()))
			x.ServerName = s.ASCIIString()
			r.Fail(s.Err())
		}
		return
	}
	x.LogonFlags = r.U8()
	for i := range x.FolderIDs {
		x.FolderIDs[i] = ID(r.U64())
	}
	if x.LogonFlags&LogonFlagPrivate != 0 {
		x.ResponseFlags = r.U8()
		x.MailboxGUID = r.GUID()
		x.ReplID = r.U16()
		x.ReplGUID = r.GUID()
		x.LogonTime = LogonTime{Seconds: r.U8(), Minutes: r.U8(), Hour: r.U8(), DayOfWeek: r.U8(), Day: r.U8(), Month: r.U8(), Year: r.U16()}
		x.GwartTime = r.U64()
		x.StoreState = r.U32()
		return
	}
	x.ReplID = r.U16()
	x.ReplGUID = r.GUID()
	x.PerUserGUID = r.GUID()
}

// GetReceiveFolderRequest asks for the folder that receives a message
// class (MS-OXCROPS 2.2.3.2.1).
type GetReceiveFolderRequest struct {
	RequestHeader
	MessageClass string
}

func (*GetReceiveFolderRequest) RopID() RopID { return RopGetReceiveFolder }
func (x *GetReceiveFolderRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.ASCIIString(x.MessageClass)
}
func (x *GetReceiveFolderRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.MessageClass = r.ASCIIString()
}

// GetReceiveFolderResponse (MS-OXCROPS 2.2.3.2.2).
type GetReceiveFolderResponse struct {
	ResponseHeader
	FolderID             ID
	ExplicitMessageClass string
}

func (*GetReceiveFolderResponse) RopID() RopID { return RopGetReceiveFolder }
func (x *GetReceiveFolderResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U64(uint64(x.FolderID))
		w.ASCIIString(x.ExplicitMessageClass)
	}
}
func (x *GetReceiveFolderResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.FolderID = ID(r.U64())
		x.ExplicitMessageClass = r.ASCIIString()
	}
}

// SetReceiveFolderRequest (MS-OXCROPS 2.2.3.3.1). FolderID 0 removes the
// setting.
type SetReceiveFolderRequest struct {
	RequestHeader
	FolderID     ID
	MessageClass string
}

func (*SetReceiveFolderRequest) RopID() RopID { return RopSetReceiveFolder }
func (x *SetReceiveFolderRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.FolderID))
	w.ASCIIString(x.MessageClass)
}
func (x *SetReceiveFolderRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.FolderID = ID(r.U64())
	x.MessageClass = r.ASCIIString()
}

// SetReceiveFolderResponse (MS-OXCROPS 2.2.3.3.2).
type SetReceiveFolderResponse struct{ ResponseHeader }

func (*SetReceiveFolderResponse) RopID() RopID { return RopSetReceiveFolder }

// GetReceiveFolderTableRequest (MS-OXCROPS 2.2.3.4.1).
type GetReceiveFolderTableRequest struct{ RequestHeader }

func (*GetReceiveFolderTableRequest) RopID() RopID { return RopGetReceiveFolderTable }

// ReceiveFolderTableColumns are the fixed columns of the rows of
// RopGetReceiveFolderTable (MS-OXCROPS 2.2.3.4.2).
func ReceiveFolderTableColumns() []Tag {
	return []Tag{mapiprop.PidTagFolderId, mapiprop.PidTagMessageClass.WithType(mapiprop.PtypString8), mapiprop.PidTagLastModificationTime}
}

// GetReceiveFolderTableResponse (MS-OXCROPS 2.2.3.4.2): rows over
// ReceiveFolderTableColumns.
type GetReceiveFolderTableResponse struct {
	ResponseHeader
	Rows []mapiprop.PropertyRow
}

func (*GetReceiveFolderTableResponse) RopID() RopID { return RopGetReceiveFolderTable }
func (x *GetReceiveFolderTableResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(uint32(len(x.Rows)))
		w.PropertyRows(ReceiveFolderTableColumns(), x.Rows)
	}
}
func (x *GetReceiveFolderTableResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		n := r.U32()
		if uint64(n) > uint64(r.Len()) {
			r.Failf("%d receive folder rows in %d bytes", n, r.Len())
			return
		}
		x.Rows = r.PropertyRows(ReceiveFolderTableColumns(), int(n))
	}
}

// GetStoreStateRequest (MS-OXCROPS 2.2.3.5.1).
type GetStoreStateRequest struct{ RequestHeader }

func (*GetStoreStateRequest) RopID() RopID { return RopGetStoreState }

// GetStoreStateResponse (MS-OXCROPS 2.2.3.5.2).
type GetStoreStateResponse struct {
	ResponseHeader
	StoreState uint32
}

func (*GetStoreStateResponse) RopID() RopID { return RopGetStoreState }
func (x *GetStoreStateResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(x.StoreState)
	}
}
func (x *GetStoreStateResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.StoreState = r.U32()
	}
}

// GhostServers lists the servers holding a public folder replica; the first
// CheapServerCount are the cheap ones (MS-OXCROPS 2.2.3.6.2).
type GhostServers struct {
	CheapServerCount uint16
	Servers          []string
}

func putGhost(w *mapiprop.Writer, g GhostServers) {
	w.U16Len(len(g.Servers), "server count")
	w.U16(g.CheapServerCount)
	for _, s := range g.Servers {
		w.ASCIIString(s)
	}
}

func getGhost(r *mapiprop.Reader) GhostServers {
	n := int(r.U16())
	g := GhostServers{CheapServerCount: r.U16()}
	if n > r.Len() {
		r.Failf("%d server names in %d bytes", n, r.Len())
		return g
	}
	g.Servers = make([]string, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		g.Servers = append(g.Servers, r.ASCIIString())
	}
	return g
}

// GetOwningServersRequest (MS-OXCROPS 2.2.3.6.1).
type GetOwningServersRequest struct {
	RequestHeader
	FolderID ID
}

func (*GetOwningServersRequest) RopID() RopID { return RopGetOwningServers }
func (x *GetOwningServersRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.FolderID))
}
func (x *GetOwningServersRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.FolderID = ID(r.U64())
}

// GetOwningServersResponse (MS-OXCROPS 2.2.3.6.2).
type GetOwningServersResponse struct {
	ResponseHeader
	GhostServers
}

func (*GetOwningServersResponse) RopID() RopID { return RopGetOwningServers }
func (x *GetOwningServersResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		putGhost(w, x.GhostServers)
	}
}
func (x *GetOwningServersResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.GhostServers = getGhost(r)
	}
}

// PublicFolderIsGhostedRequest (MS-OXCROPS 2.2.3.7.1).
type PublicFolderIsGhostedRequest struct {
	RequestHeader
	FolderID ID
}

func (*PublicFolderIsGhostedRequest) RopID() RopID { return RopPublicFolderIsGhosted }
func (x *PublicFolderIsGhostedRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.FolderID))
}
func (x *PublicFolderIsGhostedRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.FolderID = ID(r.U64())
}

// PublicFolderIsGhostedResponse (MS-OXCROPS 2.2.3.7.2); Ghost is nil when
// the folder is not ghosted.
type PublicFolderIsGhostedResponse struct {
	ResponseHeader
	Ghost *GhostServers
}

func (*PublicFolderIsGhostedResponse) RopID() RopID { return RopPublicFolderIsGhosted }
func (x *PublicFolderIsGhostedResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		putGhostOpt(w, x.Ghost)
	}
}
func (x *PublicFolderIsGhostedResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Ghost = getGhostOpt(r)
	}
}

// putGhostOpt writes IsGhosted and, if set, the server list.
func putGhostOpt(w *mapiprop.Writer, g *GhostServers) {
	if g == nil {
		w.U8(0)
		return
	}
	w.U8(1)
	putGhost(w, *g)
}

func getGhostOpt(r *mapiprop.Reader) *GhostServers {
	if r.U8() == 0 {
		return nil
	}
	g := getGhost(r)
	return &g
}

// LongTermIdFromIdRequest (MS-OXCROPS 2.2.3.8.1).
type LongTermIdFromIdRequest struct {
	RequestHeader
	ObjectID ID
}

func (*LongTermIdFromIdRequest) RopID() RopID { return RopLongTermIdFromId }
func (x *LongTermIdFromIdRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U64(uint64(x.ObjectID))
}
func (x *LongTermIdFromIdRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.ObjectID = ID(r.U64())
}

// LongTermIdFromIdResponse (MS-OXCROPS 2.2.3.8.2).
type LongTermIdFromIdResponse struct {
	ResponseHeader
	LongTermID mapiprop.LongTermID
}

func (*LongTermIdFromIdResponse) RopID() RopID { return RopLongTermIdFromId }
func (x *LongTermIdFromIdResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.LongTermID(x.LongTermID)
	}
}
func (x *LongTermIdFromIdResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.LongTermID = r.LongTermID()
	}
}

// IdFromLongTermIdRequest (MS-OXCROPS 2.2.3.9.1).
type IdFromLongTermIdRequest struct {
	RequestHeader
	LongTermID mapiprop.LongTermID
}

func (*IdFromLongTermIdRequest) RopID() RopID { return RopIdFromLongTermId }
func (x *IdFromLongTermIdRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.LongTermID(x.LongTermID)
}
func (x *IdFromLongTermIdRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.LongTermID = r.LongTermID()
}

// IdFromLongTermIdResponse (MS-OXCROPS 2.2.3.9.2).
type IdFromLongTermIdResponse struct {
	ResponseHeader
	ObjectID ID
}

func (*IdFromLongTermIdResponse) RopID() RopID { return RopIdFromLongTermId }
func (x *IdFromLongTermIdResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U64(uint64(x.ObjectID))
	}
}
func (x *IdFromLongTermIdResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.ObjectID = ID(r.U64())
	}
}

// GetPerUserLongTermIdsRequest (MS-OXCROPS 2.2.3.10.1).
type GetPerUserLongTermIdsRequest struct {
	RequestHeader
	DatabaseGUID GUID
}

func (*GetPerUserLongTermIdsRequest) RopID() RopID { return RopGetPerUserLongTermIds }
func (x *GetPerUserLongTermIdsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.GUID(x.DatabaseGUID)
}
func (x *GetPerUserLongTermIdsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.DatabaseGUID = r.GUID()
}

// GetPerUserLongTermIdsResponse (MS-OXCROPS 2.2.3.10.2).
type GetPerUserLongTermIdsResponse struct {
	ResponseHeader
	LongTermIDs []mapiprop.LongTermID
}

func (*GetPerUserLongTermIdsResponse) RopID() RopID { return RopGetPerUserLongTermIds }
func (x *GetPerUserLongTermIdsResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U16Len(len(x.LongTermIDs), "long-term ID count")
		for _, l := range x.LongTermIDs {
			w.LongTermID(l)
		}
	}
}
func (x *GetPerUserLongTermIdsResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		n := int(r.U16())
		if n*24 > r.Len() {
			r.Failf("%d long-term IDs in %d bytes", n, r.Len())
			return
		}
		x.LongTermIDs = make([]mapiprop.LongTermID, n)
		for i := range x.LongTermIDs {
			x.LongTermIDs[i] = r.LongTermID()
		}
	}
}

// GetPerUserGuidRequest (MS-OXCROPS 2.2.3.11.1).
type GetPerUserGuidRequest struct {
	RequestHeader
	LongTermID mapiprop.LongTermID
}

func (*GetPerUserGuidRequest) RopID() RopID { return RopGetPerUserGuid }
func (x *GetPerUserGuidRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.LongTermID(x.LongTermID)
}
func (x *GetPerUserGuidRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.LongTermID = r.LongTermID()
}

// GetPerUserGuidResponse (MS-OXCROPS 2.2.3.11.2).
type GetPerUserGuidResponse struct {
	ResponseHeader
	DatabaseGUID GUID
}

func (*GetPerUserGuidResponse) RopID() RopID { return RopGetPerUserGuid }
func (x *GetPerUserGuidResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.GUID(x.DatabaseGUID)
	}
}
func (x *GetPerUserGuidResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.DatabaseGUID = r.GUID()
	}
}

// ReadPerUserInformationRequest (MS-OXCROPS 2.2.3.12.1).
type ReadPerUserInformationRequest struct {
	RequestHeader
	FolderID    mapiprop.LongTermID
	Reserved    uint8
	DataOffset  uint32
	MaxDataSize uint16
}

func (*ReadPerUserInformationRequest) RopID() RopID { return RopReadPerUserInformation }
func (x *ReadPerUserInformationRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.LongTermID(x.FolderID)
	w.U8(x.Reserved)
	w.U32(x.DataOffset)
	w.U16(x.MaxDataSize)
}
func (x *ReadPerUserInformationRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.FolderID = r.LongTermID()
	x.Reserved = r.U8()
	x.DataOffset = r.U32()
	x.MaxDataSize = r.U16()
}

// ReadPerUserInformationResponse (MS-OXCROPS 2.2.3.12.2).
type ReadPerUserInformationResponse struct {
	ResponseHeader
	HasFinished bool
	Data        []byte
}

func (*ReadPerUserInformationResponse) RopID() RopID { return RopReadPerUserInformation }
func (x *ReadPerUserInformationResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Bool(x.HasFinished)
		w.U16Len(len(x.Data), "data")
		w.Raw(x.Data)
	}
}
func (x *ReadPerUserInformationResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.HasFinished = r.Bool()
		x.Data = r.Bytes(int(r.U16()))
	}
}

// WritePerUserInformationRequest (MS-OXCROPS 2.2.3.13.1). ReplGUID is on
// the wire only when DataOffset is 0 and the logon is private.
type WritePerUserInformationRequest struct {
	RequestHeader
	FolderID    mapiprop.LongTermID
	HasFinished bool
	DataOffset  uint32
	Data        []byte
	ReplGUID    *GUID
}

func (*WritePerUserInformationRequest) RopID() RopID { return RopWritePerUserInformation }
func (x *WritePerUserInformationRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.LongTermID(x.FolderID)
	w.Bool(x.HasFinished)
	w.U32(x.DataOffset)
	w.U16Len(len(x.Data), "data")
	w.Raw(x.Data)
	if x.ReplGUID != nil {
		w.GUID(*x.ReplGUID)
	}
}
func (x *WritePerUserInformationRequest) decodeRequest(r *mapiprop.Reader, ctx *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.FolderID = r.LongTermID()
	x.HasFinished = r.Bool()
	x.DataOffset = r.U32()
	x.Data = r.Bytes(int(r.U16()))
	if x.DataOffset == 0 && !ctx.public(x.LogonID) {
		g := r.GUID()
		x.ReplGUID = &g
	}
}

// WritePerUserInformationResponse (MS-OXCROPS 2.2.3.13.2).
type WritePerUserInformationResponse struct{ ResponseHeader }

func (*WritePerUserInformationResponse) RopID() RopID { return RopWritePerUserInformation }

// GetLocalReplicaIdsRequest reserves IdCount GLOBCNTs for client-side ID
// allocation (MS-OXCROPS 2.2.13.13.1; MS-OXCFXICS 2.2.3.2.4.7).
type GetLocalReplicaIdsRequest struct {
	RequestHeader
	IdCount uint32
}

func (*GetLocalReplicaIdsRequest) RopID() RopID { return RopGetLocalReplicaIds }
func (x *GetLocalReplicaIdsRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U32(x.IdCount)
}
func (x *GetLocalReplicaIdsRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.IdCount = r.U32()
}

// GetLocalReplicaIdsResponse (MS-OXCROPS 2.2.13.13.2): the replica GUID and
// the first GLOBCNT of the reserved range.
type GetLocalReplicaIdsResponse struct {
	ResponseHeader
	ReplGUID    GUID
	GlobalCount [6]byte
}

func (*GetLocalReplicaIdsResponse) RopID() RopID { return RopGetLocalReplicaIds }
func (x *GetLocalReplicaIdsResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.GUID(x.ReplGUID)
		w.Raw(x.GlobalCount[:])
	}
}
func (x *GetLocalReplicaIdsResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.ReplGUID = r.GUID()
		copy(x.GlobalCount[:], r.Bytes(6))
	}
}

// TellVersionRequest tells the server the client's version
// (MS-OXCROPS 2.2.12.8.1).
type TellVersionRequest struct {
	RequestHeader
	Version [3]uint16
}

func (*TellVersionRequest) RopID() RopID { return RopTellVersion }
func (x *TellVersionRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	for _, v := range x.Version {
		w.U16(v)
	}
}
func (x *TellVersionRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	for i := range x.Version {
		x.Version[i] = r.U16()
	}
}

// TellVersionResponse (MS-OXCROPS 2.2.12.8.2).
type TellVersionResponse struct{ ResponseHeader }

func (*TellVersionResponse) RopID() RopID { return RopTellVersion }
