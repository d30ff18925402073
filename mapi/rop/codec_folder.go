package rop

import "github.com/pochta/pochta/internal/mapiprop"

// Folder ROPs (MS-OXCROPS 2.2.4; semantics in MS-OXCFOLD).

// putIDs writes a uint16 count followed by 64-bit IDs.
func putIDs(w *mapiprop.Writer, ids []ID) {
	w.U16Len(len(ids), "ID count")
	for _, id := range ids {
		w.U64(uint64(id))
	}
}

// getIDs reads a uint16 count followed by 64-bit IDs.
func getIDs(r *mapiprop.Reader) []ID {
	n := int(r.U16())
	if n*8 > r.Len() {
		r.Failf("%d IDs in %d bytes", n, r.Len())
		return nil
	}
	ids := make([]ID, n)
	for i := range ids {
		ids[i] = ID(r.U64())
	}
	return ids
}

// putString writes a NUL-terminated string, UTF-16 when unicode is set and
// 8-bit in the writer's code page otherwise.
func putString(w *mapiprop.Writer, s string, unicode bool) {
	if unicode {
		w.UTF16String(s)
	} else {
		w.CString(s)
	}
}

func getString(r *mapiprop.Reader, unicode bool) string {
	if unicode {
		return r.UTF16String()
	}
	return r.CString()
}

// OpenFolder mode flags (MS-OXCFOLD 2.2.1.1.1).
const OpenModeOpenSoftDeleted uint8 = 0x04

// OpenFolderRequest (MS-OXCROPS 2.2.4.1.1).
type OpenFolderRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	FolderID          ID
	OpenModeFlags     uint8
}

func (*OpenFolderRequest) RopID() RopID                 { return RopOpenFolder }
func (x *OpenFolderRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *OpenFolderRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U64(uint64(x.FolderID))
	w.U8(x.OpenModeFlags)
}
func (x *OpenFolderRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.FolderID = ID(r.U64())
	x.OpenModeFlags = r.U8()
}

// OpenFolderResponse (MS-OXCROPS 2.2.4.1.2); Ghost is set for ghosted
// public folders only.
type OpenFolderResponse struct {
	ResponseHeader
	HasRules bool
	Ghost    *GhostServers
}

func (*OpenFolderResponse) RopID() RopID { return RopOpenFolder }
func (x *OpenFolderResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.Bool(x.HasRules)
		putGhostOpt(w, x.Ghost)
	}
}
func (x *OpenFolderResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.HasRules = r.Bool()
		x.Ghost = getGhostOpt(r)
	}
}

// Folder types of RopCreateFolder (MS-OXCFOLD 2.2.1.2.1).
const (
	FolderTypeGeneric uint8 = 0x01
	FolderTypeSearch  uint8 = 0x02
)

// CreateFolderRequest (MS-OXCROPS 2.2.4.2.1). DisplayName and Comment are
// UTF-16 on the wire when UseUnicodeStrings is set.
type CreateFolderRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	FolderType        uint8
	UseUnicodeStrings bool
	OpenExisting      bool
	Reserved          uint8
	DisplayName       string
	Comment           string
}

func (*CreateFolderRequest) RopID() RopID                 { return RopCreateFolder }
func (x *CreateFolderRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *CreateFolderRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U8(x.FolderType)
	w.Bool(x.UseUnicodeStrings)
	w.Bool(x.OpenExisting)
	w.U8(x.Reserved)
	putString(w, x.DisplayName, x.UseUnicodeStrings)
	putString(w, x.Comment, x.UseUnicodeStrings)
}
func (x *CreateFolderRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.FolderType = r.U8()
	x.UseUnicodeStrings = r.Bool()
	x.OpenExisting = r.Bool()
	x.Reserved = r.U8()
	x.DisplayName = getString(r, x.UseUnicodeStrings)
	x.Comment = getString(r, x.UseUnicodeStrings)
}

// CreateFolderResponse (MS-OXCROPS 2.2.4.2.2). HasRules and Ghost are on
// the wire only when IsExistingFolder is set.
type CreateFolderResponse struct {
	ResponseHeader
	FolderID         ID
	IsExistingFolder bool
	HasRules         bool
	Ghost            *GhostServers
}

func (*CreateFolderResponse) RopID() RopID { return RopCreateFolder }
func (x *CreateFolderResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U64(uint64(x.FolderID))
		w.Bool(x.IsExistingFolder)
		if x.IsExistingFolder {
			w.Bool(x.HasRules)
			putGhostOpt(w, x.Ghost)
		}
	}
}
func (x *CreateFolderResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.FolderID = ID(r.U64())
		x.IsExistingFolder = r.Bool()
		if x.IsExistingFolder {
			x.HasRules = r.Bool()
			x.Ghost = getGhostOpt(r)
		}
	}
}

// DeleteFolder flags (MS-OXCFOLD 2.2.1.3.1).
const (
	DeleteFolderMessages   uint8 = 0x01 // DEL_MESSAGES
	DeleteFolderFolders    uint8 = 0x04 // DEL_FOLDERS
	DeleteFolderHardDelete uint8 = 0x10 // DELETE_HARD_DELETE
)

// DeleteFolderRequest (MS-OXCROPS 2.2.4.3.1).
type DeleteFolderRequest struct {
	RequestHeader
	DeleteFolderFlags uint8
	FolderID          ID
}

func (*DeleteFolderRequest) RopID() RopID { return RopDeleteFolder }
func (x *DeleteFolderRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.DeleteFolderFlags)
	w.U64(uint64(x.FolderID))
}
func (x *DeleteFolderRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.DeleteFolderFlags = r.U8()
	x.FolderID = ID(r.U64())
}

// PartialResponse is the body shared by ROPs that report
// PartialCompletion; it is on the wire whatever the ReturnValue.
type PartialResponse struct {
	ResponseHeader
	PartialCompletion bool
}

func (x *PartialResponse) encodeResponse(w *mapiprop.Writer) {
	x.put(w)
	w.Bool(x.PartialCompletion)
}
func (x *PartialResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.get(r)
	x.PartialCompletion = r.Bool()
}

// DeleteFolderResponse (MS-OXCROPS 2.2.4.3.2).
type DeleteFolderResponse struct{ PartialResponse }

func (*DeleteFolderResponse) RopID() RopID { return RopDeleteFolder }

// Search flags of RopSetSearchCriteria (MS-OXCFOLD 2.2.1.4.1).
const (
	SearchStop              uint32 = 0x00000001
	SearchRestart           uint32 = 0x00000002
	SearchRecursive         uint32 = 0x00000004
	SearchShallow           uint32 = 0x00000008
	SearchContentIndexed    uint32 = 0x00010000
	SearchNonContentIndexed uint32 = 0x00020000
	SearchStatic            uint32 = 0x00040000
)

// SetSearchCriteriaRequest (MS-OXCROPS 2.2.4.4.1); a nil Restriction keeps
// the current one.
type SetSearchCriteriaRequest struct {
	RequestHeader
	Restriction mapiprop.Restriction
	FolderIDs   []ID
	SearchFlags uint32
}

func (*SetSearchCriteriaRequest) RopID() RopID { return RopSetSearchCriteria }
func (x *SetSearchCriteriaRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.SizedRestriction(x.Restriction)
	putIDs(w, x.FolderIDs)
	w.U32(x.SearchFlags)
}
func (x *SetSearchCriteriaRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.Restriction = r.SizedRestriction()
	x.FolderIDs = getIDs(r)
	x.SearchFlags = r.U32()
}

// SetSearchCriteriaResponse (MS-OXCROPS 2.2.4.4.2).
type SetSearchCriteriaResponse struct{ ResponseHeader }

func (*SetSearchCriteriaResponse) RopID() RopID { return RopSetSearchCriteria }

// GetSearchCriteriaRequest (MS-OXCROPS 2.2.4.5.1).
type GetSearchCriteriaRequest struct {
	RequestHeader
	UseUnicode         bool
	IncludeRestriction bool
	IncludeFolders     bool
}

func (*GetSearchCriteriaRequest) RopID() RopID { return RopGetSearchCriteria }
func (x *GetSearchCriteriaRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Bool(x.UseUnicode)
	w.Bool(x.IncludeRestriction)
	w.Bool(x.IncludeFolders)
}
func (x *GetSearchCriteriaRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.UseUnicode = r.Bool()
	x.IncludeRestriction = r.Bool()
	x.IncludeFolders = r.Bool()
}

// Search status bits of RopGetSearchCriteria (MS-OXCFOLD 2.2.1.5.2).
const (
	SearchRunning       uint32 = 0x00000001
	SearchRebuild       uint32 = 0x00000002
	SearchRecursiveStat uint32 = 0x00000004
	SearchComplete      uint32 = 0x00001000
	SearchPartial       uint32 = 0x00002000
	SearchStaticStat    uint32 = 0x00010000
	SearchMaybeStatic   uint32 = 0x00020000
	SearchCIFull        uint32 = 0x00040000
	SearchCIMixed       uint32 = 0x00080000
)

// GetSearchCriteriaResponse (MS-OXCROPS 2.2.4.5.2).
type GetSearchCriteriaResponse struct {
	ResponseHeader
	Restriction  mapiprop.Restriction
	LogonID      uint8
	FolderIDs    []ID
	SearchStatus uint32
}

func (*GetSearchCriteriaResponse) RopID() RopID { return RopGetSearchCriteria }
func (x *GetSearchCriteriaResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.SizedRestriction(x.Restriction)
		w.U8(x.LogonID)
		putIDs(w, x.FolderIDs)
		w.U32(x.SearchStatus)
	}
}
func (x *GetSearchCriteriaResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.Restriction = r.SizedRestriction()
		x.LogonID = r.U8()
		x.FolderIDs = getIDs(r)
		x.SearchStatus = r.U32()
	}
}

// MoveCopyResponse is the body of RopMoveCopyMessages, RopMoveFolder and
// RopCopyFolder: PartialCompletion always, preceded by the 32-bit
// DestHandleIndex when ReturnValue is ecDstNullObject (MS-OXCROPS
// 2.2.4.6.3).
type MoveCopyResponse struct {
	ResponseHeader
	DestHandleIndex   uint32
	PartialCompletion bool
}

func (x *MoveCopyResponse) encodeResponse(w *mapiprop.Writer) {
	x.put(w)
	if x.ReturnValue == mapiprop.ErrDstNullObject {
		w.U32(x.DestHandleIndex)
	}
	w.Bool(x.PartialCompletion)
}
func (x *MoveCopyResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	x.get(r)
	if x.ReturnValue == mapiprop.ErrDstNullObject {
		x.DestHandleIndex = r.U32()
	}
	x.PartialCompletion = r.Bool()
}

// MoveCopyMessagesRequest (MS-OXCROPS 2.2.4.6.1); InputHandleIndex is the
// source folder (SourceHandleIndex).
type MoveCopyMessagesRequest struct {
	RequestHeader
	DestHandleIndex  uint8
	MessageIDs       []ID
	WantAsynchronous bool
	WantCopy         bool
}

func (*MoveCopyMessagesRequest) RopID() RopID { return RopMoveCopyMessages }
func (x *MoveCopyMessagesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.DestHandleIndex)
	putIDs(w, x.MessageIDs)
	w.Bool(x.WantAsynchronous)
	w.Bool(x.WantCopy)
}
func (x *MoveCopyMessagesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.DestHandleIndex = r.U8()
	x.MessageIDs = getIDs(r)
	x.WantAsynchronous = r.Bool()
	x.WantCopy = r.Bool()
}

// MoveCopyMessagesResponse (MS-OXCROPS 2.2.4.6.2-3).
type MoveCopyMessagesResponse struct{ MoveCopyResponse }

func (*MoveCopyMessagesResponse) RopID() RopID { return RopMoveCopyMessages }

// MoveFolderRequest (MS-OXCROPS 2.2.4.7.1); InputHandleIndex is the source
// (parent) folder.
type MoveFolderRequest struct {
	RequestHeader
	DestHandleIndex  uint8
	WantAsynchronous bool
	UseUnicode       bool
	FolderID         ID
	NewFolderName    string
}

func (*MoveFolderRequest) RopID() RopID { return RopMoveFolder }
func (x *MoveFolderRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.DestHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.Bool(x.UseUnicode)
	w.U64(uint64(x.FolderID))
	putString(w, x.NewFolderName, x.UseUnicode)
}
func (x *MoveFolderRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.DestHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.UseUnicode = r.Bool()
	x.FolderID = ID(r.U64())
	x.NewFolderName = getString(r, x.UseUnicode)
}

// MoveFolderResponse (MS-OXCROPS 2.2.4.7.2-3).
type MoveFolderResponse struct{ MoveCopyResponse }

func (*MoveFolderResponse) RopID() RopID { return RopMoveFolder }

// CopyFolderRequest (MS-OXCROPS 2.2.4.8.1).
type CopyFolderRequest struct {
	RequestHeader
	DestHandleIndex  uint8
	WantAsynchronous bool
	WantRecursive    bool
	UseUnicode       bool
	FolderID         ID
	NewFolderName    string
}

func (*CopyFolderRequest) RopID() RopID { return RopCopyFolder }
func (x *CopyFolderRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.DestHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.Bool(x.WantRecursive)
	w.Bool(x.UseUnicode)
	w.U64(uint64(x.FolderID))
	putString(w, x.NewFolderName, x.UseUnicode)
}
func (x *CopyFolderRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.DestHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.WantRecursive = r.Bool()
	x.UseUnicode = r.Bool()
	x.FolderID = ID(r.U64())
	x.NewFolderName = getString(r, x.UseUnicode)
}

// CopyFolderResponse (MS-OXCROPS 2.2.4.8.2-3).
type CopyFolderResponse struct{ MoveCopyResponse }

func (*CopyFolderResponse) RopID() RopID { return RopCopyFolder }

// EmptyFolderRequest (MS-OXCROPS 2.2.4.9.1).
type EmptyFolderRequest struct {
	RequestHeader
	WantAsynchronous     bool
	WantDeleteAssociated bool
}

func (*EmptyFolderRequest) RopID() RopID { return RopEmptyFolder }
func (x *EmptyFolderRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.Bool(x.WantDeleteAssociated)
}
func (x *EmptyFolderRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.WantDeleteAssociated = r.Bool()
}

// EmptyFolderResponse (MS-OXCROPS 2.2.4.9.2).
type EmptyFolderResponse struct{ PartialResponse }

func (*EmptyFolderResponse) RopID() RopID { return RopEmptyFolder }

// HardDeleteMessagesAndSubfoldersRequest (MS-OXCROPS 2.2.4.10.1).
type HardDeleteMessagesAndSubfoldersRequest struct {
	RequestHeader
	WantAsynchronous     bool
	WantDeleteAssociated bool
}

func (*HardDeleteMessagesAndSubfoldersRequest) RopID() RopID {
	return RopHardDeleteMessagesAndSubfolders
}
func (x *HardDeleteMessagesAndSubfoldersRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.Bool(x.WantDeleteAssociated)
}
func (x *HardDeleteMessagesAndSubfoldersRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.WantDeleteAssociated = r.Bool()
}

// HardDeleteMessagesAndSubfoldersResponse (MS-OXCROPS 2.2.4.10.2).
type HardDeleteMessagesAndSubfoldersResponse struct{ PartialResponse }

func (*HardDeleteMessagesAndSubfoldersResponse) RopID() RopID {
	return RopHardDeleteMessagesAndSubfolders
}

// DeleteMessagesRequest (MS-OXCROPS 2.2.4.11.1).
type DeleteMessagesRequest struct {
	RequestHeader
	WantAsynchronous bool
	NotifyNonRead    bool
	MessageIDs       []ID
}

func (*DeleteMessagesRequest) RopID() RopID { return RopDeleteMessages }
func (x *DeleteMessagesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.Bool(x.NotifyNonRead)
	putIDs(w, x.MessageIDs)
}
func (x *DeleteMessagesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.NotifyNonRead = r.Bool()
	x.MessageIDs = getIDs(r)
}

// DeleteMessagesResponse (MS-OXCROPS 2.2.4.11.2).
type DeleteMessagesResponse struct{ PartialResponse }

func (*DeleteMessagesResponse) RopID() RopID { return RopDeleteMessages }

// HardDeleteMessagesRequest (MS-OXCROPS 2.2.4.12.1).
type HardDeleteMessagesRequest struct {
	RequestHeader
	WantAsynchronous bool
	NotifyNonRead    bool
	MessageIDs       []ID
}

func (*HardDeleteMessagesRequest) RopID() RopID { return RopHardDeleteMessages }
func (x *HardDeleteMessagesRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.Bool(x.WantAsynchronous)
	w.Bool(x.NotifyNonRead)
	putIDs(w, x.MessageIDs)
}
func (x *HardDeleteMessagesRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.WantAsynchronous = r.Bool()
	x.NotifyNonRead = r.Bool()
	x.MessageIDs = getIDs(r)
}

// HardDeleteMessagesResponse (MS-OXCROPS 2.2.4.12.2).
type HardDeleteMessagesResponse struct{ PartialResponse }

func (*HardDeleteMessagesResponse) RopID() RopID { return RopHardDeleteMessages }

// Table flags of RopGetHierarchyTable and RopGetContentsTable
// (MS-OXCFOLD 2.2.1.13.1, 2.2.1.14.1).
const (
	TableFlagAssociated            uint8 = 0x02 // contents: FAI messages
	TableFlagDepth                 uint8 = 0x04 // hierarchy: all descendants
	TableFlagDeferredErrors        uint8 = 0x08
	TableFlagNoNotifications       uint8 = 0x10
	TableFlagSoftDeletes           uint8 = 0x20
	TableFlagUseUnicode            uint8 = 0x40
	TableFlagSuppressNotifications uint8 = 0x80 // hierarchy
	TableFlagConversationMembers   uint8 = 0x80 // contents
)

// GetHierarchyTableRequest (MS-OXCROPS 2.2.4.13.1).
type GetHierarchyTableRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	TableFlags        uint8
}

func (*GetHierarchyTableRequest) RopID() RopID                 { return RopGetHierarchyTable }
func (x *GetHierarchyTableRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *GetHierarchyTableRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U8(x.TableFlags)
}
func (x *GetHierarchyTableRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.TableFlags = r.U8()
}

// TableCountResponse is the body of RopGetHierarchyTable and
// RopGetContentsTable: the number of rows.
type TableCountResponse struct {
	ResponseHeader
	RowCount uint32
}

func (x *TableCountResponse) encodeResponse(w *mapiprop.Writer) {
	if x.put(w) {
		w.U32(x.RowCount)
	}
}
func (x *TableCountResponse) decodeResponse(r *mapiprop.Reader, _ *ResponseContext) {
	if x.get(r) {
		x.RowCount = r.U32()
	}
}

// GetHierarchyTableResponse (MS-OXCROPS 2.2.4.13.2).
type GetHierarchyTableResponse struct{ TableCountResponse }

func (*GetHierarchyTableResponse) RopID() RopID { return RopGetHierarchyTable }

// GetContentsTableRequest (MS-OXCROPS 2.2.4.14.1).
type GetContentsTableRequest struct {
	RequestHeader
	OutputHandleIndex uint8
	TableFlags        uint8
}

func (*GetContentsTableRequest) RopID() RopID                 { return RopGetContentsTable }
func (x *GetContentsTableRequest) responseHandleIndex() uint8 { return x.OutputHandleIndex }
func (x *GetContentsTableRequest) encodeRequest(w *mapiprop.Writer) {
	w.U8(x.InputHandleIndex)
	w.U8(x.OutputHandleIndex)
	w.U8(x.TableFlags)
}
func (x *GetContentsTableRequest) decodeRequest(r *mapiprop.Reader, _ *RequestContext) {
	x.InputHandleIndex = r.U8()
	x.OutputHandleIndex = r.U8()
	x.TableFlags = r.U8()
}

// GetContentsTableResponse (MS-OXCROPS 2.2.4.14.2).
type GetContentsTableResponse struct{ TableCountResponse }

func (*GetContentsTableResponse) RopID() RopID { return RopGetContentsTable }
