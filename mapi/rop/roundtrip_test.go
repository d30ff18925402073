package rop

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

var (
	tFID   = mp.MakeID(1, 0x0D)
	tMID   = mp.MakeID(1, 0x1234)
	tGUID  = mp.MustParseGUID("{6B6F6F4C-2A6B-4C4E-8D9B-1C8A2C5E3F10}")
	tLTID  = mp.NewLongTermID(tGUID, 0x0D)
	tTime  = mp.FileTimeToTime(0x01D9C2A4E1F0C800)
	tRestr = &mp.OrRestriction{Restrictions: []mp.Restriction{
		&mp.ContentRestriction{FuzzyLevelLow: mp.FuzzySubstring, FuzzyLevelHigh: mp.FuzzyIgnoreCase, PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, "x")},
		&mp.BitmaskRestriction{RelOp: mp.BitmaskEqualZero, PropTag: mp.PidTagMessageFlags, Mask: 1},
	}}
	tCols = []Tag{mp.PidTagMid, mp.PidTagSubject, mp.NewTag(0x0E07, mp.PtypUnspecified), mp.PidTagMessageDeliveryTime}
	tRows = []mp.PropertyRow{
		{Values: []mp.Value{mp.Int64Value(mp.PidTagMid, int64(tMID)), mp.StringValue(mp.PidTagSubject, "Hi"), mp.Int32Value(mp.PidTagMessageFlags, 9), mp.TimeValue(mp.PidTagMessageDeliveryTime, tTime)}},
		{Flagged: true, Values: []mp.Value{mp.Int64Value(mp.PidTagMid, 7), mp.ErrorValue(mp.PidTagSubject, mp.ErrMAPIOOM), mp.NullValue(mp.NewTag(0x0E07, 0)), mp.TimeValue(mp.PidTagMessageDeliveryTime, tTime)}},
	}
	tRecipCols = []Tag{mp.PidTagObjectType, mp.PidTagDisplayType, mp.PidTagSmtpAddress, mp.PidTagRecipientTrackStatus}
	tRecip     = mp.RecipientRow{
		Flags:        mp.RecipientTypeSMTP | mp.RecipientFlagEmail | mp.RecipientFlagDisplay | mp.RecipientFlagUnicode,
		EmailAddress: "bob@example.com", DisplayName: "Bob", ColumnCount: 3,
		Properties: mp.PropertyRow{Values: []mp.Value{mp.Int32Value(mp.PidTagObjectType, 6), mp.Int32Value(mp.PidTagDisplayType, 0), mp.StringValue(mp.PidTagSmtpAddress, "bob@example.com")}},
	}
	tRecip8 = mp.RecipientRow{
		Flags: mp.RecipientTypeX500DN | mp.RecipientFlagDisplay, DisplayType: 0, AddressPrefixUsed: 0,
		X500DN: "/o=Pochta/cn=Recipients/cn=eve", DisplayName: "Ève", ColumnCount: 4,
		Properties: mp.PropertyRow{Flagged: true, Values: []mp.Value{mp.Int32Value(mp.PidTagObjectType, 6), mp.NullValue(mp.PidTagDisplayType), mp.StringValue(mp.PidTagSmtpAddress, "eve@x"), mp.ErrorValue(mp.PidTagRecipientTrackStatus, mp.ErrNotFound)}},
	}
	tInfo = MessageInfo{
		HasNamedProperties: true,
		SubjectPrefix:      mp.NewTypedString("RE: ", true),
		NormalizedSubject:  mp.NewTypedString("Привет", true),
		RecipientCount:     3,
		RecipientColumns:   tRecipCols,
		RecipientRows: []OpenRecipientRow{
			{RecipientType: 1, CodePageID: 1252, Row: tRecip},
			{RecipientType: 2, CodePageID: 65001, Row: tRecip8},
		},
	}
	tProps = []mp.Value{mp.StringValue(mp.PidTagSubject, "Hello"), mp.Int32Value(mp.PidTagImportance, 2), mp.BinaryValue(mp.PidTagEntryId, []byte{1, 2, 3})}
	tProbs = []mp.PropertyProblem{{Index: 1, Tag: mp.PidTagImportance, Err: mp.ErrAccessDenied}}
	tNames = []mp.PropertyName{mp.LIDName(mp.PSETID_Common, 0x8520), mp.StringName(mp.PS_PUBLIC_STRINGS, "Keywords")}
	tGhost = &GhostServers{CheapServerCount: 1, Servers: []string{"srv1", "srv2"}}
)

func rq(in uint8) RequestHeader   { return RequestHeader{LogonID: 3, InputHandleIndex: in} }
func rs(idx uint8) ResponseHeader { return ResponseHeader{HandleIndex: idx} }
func idPtr(id ID) *ID             { return &id }
func guidPtr(g GUID) *GUID        { return &g }

// ropCase is one ROP: a populated request and success response. failLen is
// the encoded size of the response with ReturnValue ecNotFound, which pins
// what a failure carries (6 = header only).
type ropCase struct {
	req     Request
	resp    Response
	cols    []Tag
	failLen int
}

func ropCases() []ropCase {
	return []ropCase{
		{&LogonRequest{RequestHeader: RequestHeader{LogonID: 0x0C}, OutputHandleIndex: 0, LogonFlags: LogonFlagPrivate, OpenFlags: 0x0100000C, Essdn: "/o=Pochta/cn=Recipients/cn=alice"},
			&LogonResponse{ResponseHeader: rs(0), LogonFlags: LogonFlagPrivate, FolderIDs: [13]ID{1, 2, 3, 4, tFID, 6, 7, 8, 9, 10, 11, 12, 13},
				ResponseFlags: LogonResponseReserved | LogonResponseOwnerRight, MailboxGUID: tGUID, ReplID: 5, ReplGUID: mp.PS_MAPI,
				LogonTime: LogonTime{Seconds: 1, Minutes: 2, Hour: 3, DayOfWeek: 4, Day: 26, Month: 11, Year: 2026}, GwartTime: 0x01D9C2A4E1F0C800, StoreState: 0}, nil, 6},
		{&GetReceiveFolderRequest{RequestHeader: rq(0), MessageClass: "IPM.Note"},
			&GetReceiveFolderResponse{ResponseHeader: rs(0), FolderID: tFID, ExplicitMessageClass: "IPM"}, nil, 6},
		{&SetReceiveFolderRequest{RequestHeader: rq(0), FolderID: tFID, MessageClass: "IPM.Note"}, &SetReceiveFolderResponse{rs(0)}, nil, 6},
		{&GetReceiveFolderTableRequest{rq(0)}, &GetReceiveFolderTableResponse{ResponseHeader: rs(0), Rows: []mp.PropertyRow{
			{Values: []mp.Value{mp.Int64Value(mp.PidTagFolderId, int64(tFID)), mp.String8Value(mp.PidTagMessageClass, "IPM"), mp.TimeValue(mp.PidTagLastModificationTime, tTime)}},
			{Values: []mp.Value{mp.Int64Value(mp.PidTagFolderId, 9), mp.String8Value(mp.PidTagMessageClass, ""), mp.TimeValue(mp.PidTagLastModificationTime, tTime)}},
		}}, nil, 6},
		{&GetStoreStateRequest{rq(0)}, &GetStoreStateResponse{ResponseHeader: rs(0), StoreState: 0x01000000}, nil, 6},
		{&GetOwningServersRequest{RequestHeader: rq(0), FolderID: tFID}, &GetOwningServersResponse{ResponseHeader: rs(0), GhostServers: *tGhost}, nil, 6},
		{&PublicFolderIsGhostedRequest{RequestHeader: rq(0), FolderID: tFID}, &PublicFolderIsGhostedResponse{ResponseHeader: rs(0), Ghost: tGhost}, nil, 6},
		{&LongTermIdFromIdRequest{RequestHeader: rq(0), ObjectID: tFID}, &LongTermIdFromIdResponse{ResponseHeader: rs(0), LongTermID: tLTID}, nil, 6},
		{&IdFromLongTermIdRequest{RequestHeader: rq(0), LongTermID: tLTID}, &IdFromLongTermIdResponse{ResponseHeader: rs(0), ObjectID: tFID}, nil, 6},
		{&GetPerUserLongTermIdsRequest{RequestHeader: rq(0), DatabaseGUID: tGUID}, &GetPerUserLongTermIdsResponse{ResponseHeader: rs(0), LongTermIDs: []mp.LongTermID{tLTID, mp.NewLongTermID(mp.PS_MAPI, 1)}}, nil, 6},
		{&GetPerUserGuidRequest{RequestHeader: rq(0), LongTermID: tLTID}, &GetPerUserGuidResponse{ResponseHeader: rs(0), DatabaseGUID: tGUID}, nil, 6},
		{&ReadPerUserInformationRequest{RequestHeader: rq(0), FolderID: tLTID, Reserved: 0, DataOffset: 10, MaxDataSize: 4096},
			&ReadPerUserInformationResponse{ResponseHeader: rs(0), HasFinished: true, Data: []byte{1, 2, 3}}, nil, 6},
		{&WritePerUserInformationRequest{RequestHeader: rq(0), FolderID: tLTID, HasFinished: true, DataOffset: 0, Data: []byte{9}, ReplGUID: guidPtr(tGUID)},
			&WritePerUserInformationResponse{rs(0)}, nil, 6},
		{&OpenFolderRequest{RequestHeader: rq(0), OutputHandleIndex: 1, FolderID: tFID, OpenModeFlags: OpenModeOpenSoftDeleted},
			&OpenFolderResponse{ResponseHeader: rs(1), HasRules: true, Ghost: tGhost}, nil, 6},
		{&CreateFolderRequest{RequestHeader: rq(1), OutputHandleIndex: 2, FolderType: FolderTypeGeneric, UseUnicodeStrings: true, OpenExisting: true, DisplayName: "Заметки", Comment: "c"},
			&CreateFolderResponse{ResponseHeader: rs(2), FolderID: tFID, IsExistingFolder: true, HasRules: false, Ghost: nil}, nil, 6},
		{&DeleteFolderRequest{RequestHeader: rq(1), DeleteFolderFlags: DeleteFolderMessages | DeleteFolderFolders, FolderID: tFID},
			&DeleteFolderResponse{PartialResponse{ResponseHeader: rs(1), PartialCompletion: true}}, nil, 7},
		{&SetSearchCriteriaRequest{RequestHeader: rq(1), Restriction: tRestr, FolderIDs: []ID{tFID, 99}, SearchFlags: SearchRestart | SearchRecursive},
			&SetSearchCriteriaResponse{rs(1)}, nil, 6},
		{&GetSearchCriteriaRequest{RequestHeader: rq(1), UseUnicode: true, IncludeRestriction: true, IncludeFolders: true},
			&GetSearchCriteriaResponse{ResponseHeader: rs(1), Restriction: tRestr, LogonID: 3, FolderIDs: []ID{tFID}, SearchStatus: SearchRunning}, nil, 6},
		{&MoveCopyMessagesRequest{RequestHeader: rq(1), DestHandleIndex: 2, MessageIDs: []ID{tMID, 5}, WantAsynchronous: false, WantCopy: true},
			&MoveCopyMessagesResponse{MoveCopyResponse{ResponseHeader: rs(1), PartialCompletion: true}}, nil, 7},
		{&MoveFolderRequest{RequestHeader: rq(1), DestHandleIndex: 2, WantAsynchronous: true, UseUnicode: false, FolderID: tFID, NewFolderName: "Ärger"},
			&MoveFolderResponse{MoveCopyResponse{ResponseHeader: rs(1)}}, nil, 7},
		{&CopyFolderRequest{RequestHeader: rq(1), DestHandleIndex: 2, WantAsynchronous: true, WantRecursive: true, UseUnicode: true, FolderID: tFID, NewFolderName: "Copy"},
			&CopyFolderResponse{MoveCopyResponse{ResponseHeader: rs(1)}}, nil, 7},
		{&EmptyFolderRequest{RequestHeader: rq(1), WantAsynchronous: true, WantDeleteAssociated: true},
			&EmptyFolderResponse{PartialResponse{ResponseHeader: rs(1), PartialCompletion: true}}, nil, 7},
		{&HardDeleteMessagesAndSubfoldersRequest{RequestHeader: rq(1), WantDeleteAssociated: true},
			&HardDeleteMessagesAndSubfoldersResponse{PartialResponse{ResponseHeader: rs(1)}}, nil, 7},
		{&DeleteMessagesRequest{RequestHeader: rq(1), NotifyNonRead: true, MessageIDs: []ID{tMID}},
			&DeleteMessagesResponse{PartialResponse{ResponseHeader: rs(1)}}, nil, 7},
		{&HardDeleteMessagesRequest{RequestHeader: rq(1), WantAsynchronous: true, MessageIDs: []ID{tMID, 1, 2}},
			&HardDeleteMessagesResponse{PartialResponse{ResponseHeader: rs(1), PartialCompletion: true}}, nil, 7},
		{&GetHierarchyTableRequest{RequestHeader: rq(1), OutputHandleIndex: 2, TableFlags: TableFlagDepth | TableFlagUseUnicode},
			&GetHierarchyTableResponse{TableCountResponse{ResponseHeader: rs(2), RowCount: 17}}, nil, 6},
		{&GetContentsTableRequest{RequestHeader: rq(1), OutputHandleIndex: 2, TableFlags: TableFlagAssociated},
			&GetContentsTableResponse{TableCountResponse{ResponseHeader: rs(2), RowCount: 3}}, nil, 6},
		{&SetColumnsRequest{RequestHeader: rq(2), SetColumnsFlags: TableAsync, PropertyTags: tCols},
			&SetColumnsResponse{TableStatusResponse{ResponseHeader: rs(2), TableStatus: TableStatusComplete}}, nil, 6},
		{&SortTableRequest{RequestHeader: rq(2), SortOrderSet: mp.SortOrderSet{CategorizedCount: 1, ExpandedCount: 0, SortOrders: []mp.SortOrder{{PropTag: mp.PidTagConversationTopic}, {PropTag: mp.PidTagMessageDeliveryTime, Order: mp.SortDescending}}}},
			&SortTableResponse{TableStatusResponse{ResponseHeader: rs(2), TableStatus: TableStatusSorting}}, nil, 6},
		{&RestrictRequest{RequestHeader: rq(2), RestrictFlags: 0, Restriction: tRestr},
			&RestrictResponse{TableStatusResponse{ResponseHeader: rs(2)}}, nil, 6},
		{&QueryRowsRequest{RequestHeader: rq(2), QueryRowsFlags: QueryRowsNoAdvance, ForwardRead: true, RowCount: 50},
			&QueryRowsResponse{ResponseHeader: rs(2), Origin: BookmarkEnd, Columns: tCols, Rows: tRows}, tCols, 6},
		{&AbortRequest{rq(2)}, &AbortResponse{TableStatusResponse{ResponseHeader: rs(2)}}, nil, 6},
		{&GetStatusRequest{rq(2)}, &GetStatusResponse{TableStatusResponse{ResponseHeader: rs(2), TableStatus: TableStatusRestricting}}, nil, 6},
		{&QueryPositionRequest{rq(2)}, &QueryPositionResponse{ResponseHeader: rs(2), Numerator: 4, Denominator: 17}, nil, 6},
		{&SeekRowRequest{RequestHeader: rq(2), Origin: BookmarkCurrent, RowCount: -5, WantRowMovedCount: true},
			&SeekRowResponse{ResponseHeader: rs(2), HasSoughtLess: true, RowsSought: -3}, nil, 6},
		{&SeekRowBookmarkRequest{RequestHeader: rq(2), Bookmark: []byte{0, 0, 0, 7}, RowCount: 2, WantRowMovedCount: true},
			&SeekRowBookmarkResponse{ResponseHeader: rs(2), RowNoLongerVisible: true, HasSoughtLess: false, RowsSought: 2}, nil, 6},
		{&SeekRowFractionalRequest{RequestHeader: rq(2), Numerator: 1, Denominator: 2}, &SeekRowFractionalResponse{rs(2)}, nil, 6},
		{&CreateBookmarkRequest{rq(2)}, &CreateBookmarkResponse{ResponseHeader: rs(2), Bookmark: []byte{1, 0, 0, 0}}, nil, 6},
		{&QueryColumnsAllRequest{rq(2)}, &QueryColumnsAllResponse{ResponseHeader: rs(2), PropertyTags: tCols}, nil, 6},
		{&FindRowRequest{RequestHeader: rq(2), FindRowFlags: FindRowBackward, Restriction: tRestr, Origin: BookmarkCustom, Bookmark: []byte{1, 2}},
			&FindRowResponse{ResponseHeader: rs(2), RowNoLongerVisible: false, Columns: tCols, Row: &tRows[1]}, tCols, 6},
		{&FreeBookmarkRequest{RequestHeader: rq(2), Bookmark: []byte{1, 2}}, &FreeBookmarkResponse{rs(2)}, nil, 6},
		{&ResetTableRequest{rq(2)}, &ResetTableResponse{rs(2)}, nil, 6},
		{&ExpandRowRequest{RequestHeader: rq(2), MaxRowCount: 10, CategoryID: 0x1122334455667788},
			&ExpandRowResponse{ResponseHeader: rs(2), ExpandedRowCount: 2, Columns: tCols, Rows: tRows}, tCols, 6},
		{&CollapseRowRequest{RequestHeader: rq(2), CategoryID: 42}, &CollapseRowResponse{ResponseHeader: rs(2), CollapsedRowCount: 5}, nil, 6},
		{&GetCollapseStateRequest{RequestHeader: rq(2), RowID: 42, RowInstanceNumber: 1},
			&GetCollapseStateResponse{ResponseHeader: rs(2), CollapseState: []byte{9, 9, 9}}, nil, 6},
		{&SetCollapseStateRequest{RequestHeader: rq(2), CollapseState: []byte{9, 9, 9}},
			&SetCollapseStateResponse{ResponseHeader: rs(2), Bookmark: []byte{3}}, nil, 6},
		{&OpenMessageRequest{RequestHeader: rq(1), OutputHandleIndex: 3, CodePageID: 0x0FFF, FolderID: tFID, OpenModeFlags: OpenModeBestAccess, MessageID: tMID},
			&OpenMessageResponse{ResponseHeader: rs(3), MessageInfo: tInfo}, nil, 6},
		{&CreateMessageRequest{RequestHeader: rq(1), OutputHandleIndex: 3, CodePageID: 0x0FFF, FolderID: tFID, AssociatedFlag: true},
			&CreateMessageResponse{ResponseHeader: rs(3), MessageID: idPtr(tMID)}, nil, 6},
		{&SaveChangesMessageRequest{RequestHeader: rq(3), ResponseHandleIndex: 1, SaveFlags: SaveKeepOpenReadWrite},
			&SaveChangesMessageResponse{ResponseHeader: rs(1), InputHandleIndex: 3, MessageID: tMID}, nil, 6},
		{&RemoveAllRecipientsRequest{RequestHeader: rq(3), Reserved: 0}, &RemoveAllRecipientsResponse{rs(3)}, nil, 6},
		{&ModifyRecipientsRequest{RequestHeader: rq(3), RecipientColumns: tRecipCols, Rows: []ModifyRecipientRow{
			{RowID: 0, RecipientType: 1, Row: &tRecip}, {RowID: 1, RecipientType: 2, Row: nil}, {RowID: 2, RecipientType: 3, Row: &tRecip8}}},
			&ModifyRecipientsResponse{rs(3)}, nil, 6},
		{&ReadRecipientsRequest{RequestHeader: rq(3), RowID: 1, Reserved: 0},
			&ReadRecipientsResponse{ResponseHeader: rs(3), Columns: tRecipCols, Rows: []ReadRecipientRow{
				{RowID: 1, RecipientType: 1, CodePageID: 1252, Row: tRecip}, {RowID: 2, RecipientType: 3, CodePageID: 1252, Row: tRecip8}}}, tRecipCols, 6},
		{&ReloadCachedInformationRequest{RequestHeader: rq(3), Reserved: 0},
			&ReloadCachedInformationResponse{ResponseHeader: rs(3), MessageInfo: tInfo}, nil, 6},
		{&SetMessageStatusRequest{RequestHeader: rq(1), MessageID: tMID, MessageStatusFlags: 0x1000, MessageStatusMask: 0x1000},
			&SetMessageStatusResponse{MessageStatusResponse{ResponseHeader: rs(1), MessageStatusFlags: 0x2000}}, nil, 6},
		{&GetMessageStatusRequest{RequestHeader: rq(1), MessageID: tMID},
			&GetMessageStatusResponse{MessageStatusResponse{ResponseHeader: rs(1), MessageStatusFlags: 0x1000}}, nil, 6},
		{&SetReadFlagsRequest{RequestHeader: rq(1), WantAsynchronous: false, ReadFlags: ReadFlagClearReadFlag | ReadFlagSuppressReceipt, MessageIDs: []ID{tMID}},
			&SetReadFlagsResponse{PartialResponse{ResponseHeader: rs(1), PartialCompletion: false}}, nil, 7},
		{&SetMessageReadFlagRequest{RequestHeader: rq(3), ResponseHandleIndex: 1, ReadFlags: ReadFlagSuppressReceipt},
			&SetMessageReadFlagResponse{ResponseHeader: rs(1), ReadStatusChanged: false}, nil, 6},
		{&SetMessageReadFlagRequest{RequestHeader: RequestHeader{LogonID: 9, InputHandleIndex: 3}, ResponseHandleIndex: 1, ReadFlags: 0, ClientData: &[24]byte{1, 2, 3, 4, 5}},
			&SetMessageReadFlagResponse{ResponseHeader: rs(1), ReadStatusChanged: true, LogonID: 9, ClientData: [24]byte{1, 2, 3, 4, 5}}, nil, 6},
		{&OpenAttachmentRequest{RequestHeader: rq(3), OutputHandleIndex: 4, OpenAttachmentFlags: AttachReadWrite, AttachmentID: 2},
			&OpenAttachmentResponse{rs(4)}, nil, 6},
		{&CreateAttachmentRequest{RequestHeader: rq(3), OutputHandleIndex: 4}, &CreateAttachmentResponse{ResponseHeader: rs(4), AttachmentID: 3}, nil, 6},
		{&DeleteAttachmentRequest{RequestHeader: rq(3), AttachmentID: 3}, &DeleteAttachmentResponse{rs(3)}, nil, 6},
		{&SaveChangesAttachmentRequest{RequestHeader: rq(4), ResponseHandleIndex: 3, SaveFlags: SaveKeepOpenReadOnly},
			&SaveChangesAttachmentResponse{rs(3)}, nil, 6},
		{&OpenEmbeddedMessageRequest{RequestHeader: rq(4), OutputHandleIndex: 5, CodePageID: 1252, OpenEmbeddedFlags: OpenModeCreate},
			&OpenEmbeddedMessageResponse{ResponseHeader: rs(5), Reserved: 0, MessageID: tMID, MessageInfo: tInfo}, nil, 6},
		{&GetAttachmentTableRequest{RequestHeader: rq(3), OutputHandleIndex: 4, TableFlags: TableFlagUseUnicode},
			&GetAttachmentTableResponse{rs(4)}, nil, 6},
		{&GetValidAttachmentsRequest{rq(3)}, &GetValidAttachmentsResponse{ResponseHeader: rs(3), AttachmentIDs: []uint32{0, 1, 5}}, nil, 6},
		{&SubmitMessageRequest{RequestHeader: rq(3), SubmitFlags: SubmitFlagNone}, &SubmitMessageResponse{rs(3)}, nil, 6},
		{&AbortSubmitRequest{RequestHeader: rq(0), FolderID: tFID, MessageID: tMID}, &AbortSubmitResponse{rs(0)}, nil, 6},
		{&GetAddressTypesRequest{rq(0)}, &GetAddressTypesResponse{ResponseHeader: rs(0), AddressTypes: []string{"SMTP", "EX"}}, nil, 6},
		{&SetSpoolerRequest{rq(0)}, &SetSpoolerResponse{rs(0)}, nil, 6},
		{&SpoolerLockMessageRequest{RequestHeader: rq(0), MessageID: tMID, LockState: LockStateFinished}, &SpoolerLockMessageResponse{rs(0)}, nil, 6},
		{&TransportSendRequest{rq(3)}, &TransportSendResponse{ResponseHeader: rs(3), Properties: tProps}, nil, 6},
		{&TransportNewMailRequest{RequestHeader: rq(0), MessageID: tMID, FolderID: tFID, MessageClass: "IPM.Note", MessageFlags: 1},
			&TransportNewMailResponse{rs(0)}, nil, 6},
		{&GetTransportFolderRequest{rq(0)}, &GetTransportFolderResponse{ResponseHeader: rs(0), FolderID: tFID}, nil, 6},
		{&OptionsDataRequest{RequestHeader: rq(0), AddressType: "SMTP", WantWin32: true},
			&OptionsDataResponse{ResponseHeader: rs(0), Reserved: 1, OptionsInfo: []byte{1}, HelpFile: []byte{2, 3}, HelpFileName: "help.hlp"}, nil, 6},
		{&GetPropertyIdsFromNamesRequest{RequestHeader: rq(0), Flags: GetPropertyIdsCreate, PropertyNames: tNames},
			&GetPropertyIdsFromNamesResponse{ResponseHeader: rs(0), PropertyIDs: []uint16{0x8001, 0x8002}}, nil, 6},
		{&GetNamesFromPropertyIdsRequest{RequestHeader: rq(0), PropertyIDs: []uint16{0x8001, 0x8002}},
			&GetNamesFromPropertyIdsResponse{ResponseHeader: rs(0), PropertyNames: tNames}, nil, 6},
		{&GetPropertiesSpecificRequest{RequestHeader: rq(3), PropertySizeLimit: 0, WantUnicode: 1, PropertyTags: tCols},
			&GetPropertiesSpecificResponse{ResponseHeader: rs(3), PropertyTags: tCols, Row: tRows[1]}, nil, 6},
		{&GetPropertiesAllRequest{RequestHeader: rq(3), PropertySizeLimit: 0x8000, WantUnicode: 1},
			&GetPropertiesAllResponse{ResponseHeader: rs(3), Properties: tProps}, nil, 6},
		{&GetPropertiesListRequest{rq(3)}, &GetPropertiesListResponse{ResponseHeader: rs(3), PropertyTags: tCols}, nil, 6},
		{&SetPropertiesRequest{RequestHeader: rq(3), Properties: tProps}, &SetPropertiesResponse{ProblemsResponse{ResponseHeader: rs(3), Problems: tProbs}}, nil, 6},
		{&SetPropertiesNoReplicateRequest{RequestHeader: rq(3), Properties: tProps},
			&SetPropertiesNoReplicateResponse{ProblemsResponse{ResponseHeader: rs(3), Problems: []mp.PropertyProblem{}}}, nil, 6},
		{&DeletePropertiesRequest{RequestHeader: rq(3), PropertyTags: tCols}, &DeletePropertiesResponse{ProblemsResponse{ResponseHeader: rs(3), Problems: tProbs}}, nil, 6},
		{&DeletePropertiesNoReplicateRequest{RequestHeader: rq(3), PropertyTags: tCols},
			&DeletePropertiesNoReplicateResponse{ProblemsResponse{ResponseHeader: rs(3), Problems: tProbs}}, nil, 6},
		{&QueryNamedPropertiesRequest{RequestHeader: rq(0), QueryFlags: QueryNamedNoStrings, PropertyGUID: guidPtr(mp.PSETID_Common)},
			&QueryNamedPropertiesResponse{ResponseHeader: rs(0), PropertyIDs: []uint16{0x8001, 0x8002}, PropertyNames: tNames}, nil, 6},
		{&CopyPropertiesRequest{RequestHeader: rq(3), DestHandleIndex: 5, WantAsynchronous: false, CopyFlags: CopyFlagNoOverwrite, PropertyTags: tCols},
			&CopyPropertiesResponse{CopyResponse{ResponseHeader: rs(3), Problems: tProbs}}, nil, 6},
		{&CopyToRequest{RequestHeader: rq(3), DestHandleIndex: 5, WantSubObjects: true, CopyFlags: CopyFlagMove, ExcludedTags: tCols},
			&CopyToResponse{CopyResponse{ResponseHeader: rs(3), Problems: tProbs}}, nil, 6},
		{&ProgressRequest{RequestHeader: rq(3), WantCancel: true},
			&ProgressResponse{ResponseHeader: rs(3), LogonID: 3, CompletedTaskCount: 5, TotalTaskCount: 10}, nil, 6},
		{&OpenStreamRequest{RequestHeader: rq(3), OutputHandleIndex: 6, PropertyTag: mp.PidTagBody, OpenModeFlags: StreamReadOnly},
			&OpenStreamResponse{StreamSizeResponse{ResponseHeader: rs(6), StreamSize: 12345}}, nil, 6},
		{&ReadStreamRequest{RequestHeader: rq(6), ByteCount: ReadStreamMaxSentinel, MaximumByteCount: 0x10000},
			&ReadStreamResponse{ResponseHeader: rs(6), Data: []byte("hello")}, nil, 8},
		{&WriteStreamRequest{RequestHeader: rq(6), Data: []byte("world")}, &WriteStreamResponse{WrittenSizeResponse{ResponseHeader: rs(6), WrittenSize: 5}}, nil, 8},
		{&CommitStreamRequest{rq(6)}, &CommitStreamResponse{rs(6)}, nil, 6},
		{&GetStreamSizeRequest{rq(6)}, &GetStreamSizeResponse{StreamSizeResponse{ResponseHeader: rs(6), StreamSize: 5}}, nil, 6},
		{&SetStreamSizeRequest{RequestHeader: rq(6), StreamSize: 1 << 33}, &SetStreamSizeResponse{rs(6)}, nil, 6},
		{&SeekStreamRequest{RequestHeader: rq(6), Origin: SeekEnd, Offset: -10}, &SeekStreamResponse{ResponseHeader: rs(6), NewPosition: 100}, nil, 6},
		{&CopyToStreamRequest{RequestHeader: rq(6), DestHandleIndex: 7, ByteCount: 100},
			&CopyToStreamResponse{ResponseHeader: rs(6), ReadByteCount: 100, WrittenByteCount: 99}, nil, 22},
		{&LockRegionStreamRequest{RegionRequest{RequestHeader: rq(6), RegionOffset: 1, RegionSize: 2, LockFlags: 1}}, &LockRegionStreamResponse{rs(6)}, nil, 6},
		{&UnlockRegionStreamRequest{RegionRequest{RequestHeader: rq(6), RegionOffset: 1, RegionSize: 2, LockFlags: 1}}, &UnlockRegionStreamResponse{rs(6)}, nil, 6},
		{&WriteAndCommitStreamRequest{RequestHeader: rq(6), Data: []byte{0}}, &WriteAndCommitStreamResponse{WrittenSizeResponse{ResponseHeader: rs(6), WrittenSize: 1}}, nil, 8},
		{&CloneStreamRequest{RequestHeader: rq(6), OutputHandleIndex: 7}, &CloneStreamResponse{rs(7)}, nil, 6},
		{&ModifyPermissionsRequest{RequestHeader: rq(1), ModifyFlags: ModifyPermissionsIncludeFreeBusy, PermissionsData: []RowData{
			{Flags: RowAdd, Properties: []mp.Value{mp.BinaryValue(mp.PidTagEntryId, []byte{1}), mp.Int32Value(mp.PidTagMemberRights, 0x7FB)}},
			{Flags: RowRemove, Properties: []mp.Value{mp.Int64Value(mp.PidTagMemberId, -1)}}}},
			&ModifyPermissionsResponse{rs(1)}, nil, 6},
		{&GetPermissionsTableRequest{RequestHeader: rq(1), OutputHandleIndex: 2, TableFlags: PermissionsTableIncludeFreeBusy}, &GetPermissionsTableResponse{rs(2)}, nil, 6},
		{&ModifyRulesRequest{RequestHeader: rq(1), ModifyRulesFlag: 0, RulesData: []RowData{
			{Flags: RowAdd, Properties: []mp.Value{mp.StringValue(mp.PidTagRuleName, "r"), mp.Int32Value(mp.PidTagRuleSequence, 10),
				{Tag: mp.PidTagRuleCondition, Data: mp.Restriction(tRestr)},
				{Tag: mp.PidTagRuleActions, Data: mp.RuleActions{{Type: mp.ActionDefer, Data: []byte("CRuleElement")}}}}}}},
			&ModifyRulesResponse{rs(1)}, nil, 6},
		{&GetRulesTableRequest{RequestHeader: rq(1), OutputHandleIndex: 2, TableFlags: RulesTableUnicode}, &GetRulesTableResponse{rs(2)}, nil, 6},
		{&UpdateDeferredActionMessagesRequest{RequestHeader: rq(0), ServerEntryID: []byte{1, 2}, ClientEntryID: []byte{3}},
			&UpdateDeferredActionMessagesResponse{rs(0)}, nil, 6},
		{&RegisterNotificationRequest{RequestHeader: rq(0), OutputHandleIndex: 8, NotificationTypes: uint8(NotifyNewMail | NotifyObjectCreated), WantWholeStore: false, FolderID: tFID, MessageID: tMID},
			&RegisterNotificationResponse{rs(8)}, nil, 6},
		{&RegisterNotificationRequest{RequestHeader: rq(0), OutputHandleIndex: 8, NotificationTypes: uint8(NotifyNewMail), WantWholeStore: true},
			&RegisterNotificationResponse{rs(8)}, nil, 6},
		{&WriteStreamExtendedRequest{RequestHeader: rq(6), Data: []byte("extended")},
			&WriteStreamExtendedResponse{ResponseHeader: rs(6), WrittenSize: 8}, nil, 10},
		{&GetLocalReplicaIdsRequest{RequestHeader: rq(0), IdCount: 1000},
			&GetLocalReplicaIdsResponse{ResponseHeader: rs(0), ReplGUID: tGUID, GlobalCount: mp.GlobalCounterBytes(0x100)}, nil, 6},
		{&TellVersionRequest{RequestHeader: rq(5), Version: [3]uint16{16, 0, 0x8000 | 17928}}, &TellVersionResponse{rs(5)}, nil, 6},
	}
}

func publicLogon9(logonID uint8) bool { return logonID == 9 }

func TestRoundTripEveryROP(t *testing.T) {
	cases := ropCases()
	seen := map[RopID]bool{}
	for _, c := range cases {
		id := c.req.RopID()
		seen[id] = true
		t.Run(id.String(), func(t *testing.T) {
			rops, err := MarshalRequests([]Request{c.req}, 0)
			if err != nil {
				t.Fatal(err)
			}
			l, err := DecodeRequests(rops, &RequestContext{PublicLogon: publicLogon9})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Requests) != 1 || !reflect.DeepEqual(l.Requests[0], c.req) {
				t.Fatalf("request round trip:\n got %#v\nwant %#v", l.Requests[0], c.req)
			}
			opts := ResponseOptions{Columns: func(Request) []Tag { return c.cols }}
			out, err := MarshalResponses([]Response{c.resp}, 0)
			if err != nil {
				t.Fatal(err)
			}
			resps, err := DecodeResponses(out, []Request{c.req}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(resps) != 1 || !reflect.DeepEqual(resps[0], c.resp) {
				t.Fatalf("response round trip:\n got %#v\nwant %#v", resps[0], c.resp)
			}
			// The failure form carries only what the spec keeps.
			fail, err := ErrorResponse(c.req, mp.ErrNotFound)
			if err != nil {
				t.Fatal(err)
			}
			fb, err := MarshalResponses([]Response{fail}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(fb) != c.failLen {
				t.Errorf("failure response is %d bytes (% x), want %d", len(fb), fb, c.failLen)
			}
			back, err := DecodeResponses(fb, []Request{c.req}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := MarshalResponses(back, 0); !bytes.Equal(again, fb) || back[0].(StandardResponse).Header().ReturnValue != mp.ErrNotFound {
				t.Errorf("failure round trip: got %#v want %#v", back[0], fail)
			}
		})
	}
	seen[RopRelease] = true // no response; covered by TestRoundTripWholeBuffer
	for id := 0; id < 256; id++ {
		if req := newRequest(RopID(id)); req != nil && !seen[RopID(id)] {
			t.Errorf("%s has a codec but no round-trip case", RopID(id))
		}
	}
}

func TestRoundTripWholeBuffer(t *testing.T) {
	// Every request in one ROP list, plus a RopRelease, decoded as one
	// buffer; then every response in one output list, decoded against it.
	var reqs []Request
	var resps []Response
	for _, c := range ropCases() {
		if c.cols != nil {
			continue // their columns come from a per-request callback, tested above
		}
		reqs = append(reqs, c.req)
		resps = append(resps, c.resp)
	}
	reqs = append(reqs, &ReleaseRequest{rq(4)})
	rops, err := MarshalRequests(reqs, 0)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := ROPBuffer{Rops: rops, Handles: []uint32{0x0C000000, 0x0C000001, EmptyHandle}}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(payload) > 0xFFFF {
		t.Skipf("all ROPs do not fit one buffer (%d bytes)", len(payload))
	}
	rb, err := ParseROPBuffer(payload)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rb.Handles, []uint32{0x0C000000, 0x0C000001, EmptyHandle}) {
		t.Fatalf("handles %x", rb.Handles)
	}
	l, err := DecodeRequests(rb.Rops, &RequestContext{PublicLogon: publicLogon9})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Requests, reqs) {
		t.Fatal("requests differ after a whole-buffer round trip")
	}
	for i, off := range l.Offsets {
		if i > 0 && off <= l.Offsets[i-1] {
			t.Fatalf("offsets not increasing: %v", l.Offsets)
		}
	}
	out, err := MarshalResponses(resps, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeResponses(out, l.Requests, ResponseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, resps) {
		t.Fatal("responses differ after a whole-buffer round trip")
	}
}

func TestResponseHandleIndexes(t *testing.T) {
	cases := []struct {
		req  Request
		want uint8
	}{
		{&LogonRequest{OutputHandleIndex: 7}, 7},
		{&OpenFolderRequest{RequestHeader: rq(1), OutputHandleIndex: 2}, 2},
		{&GetContentsTableRequest{RequestHeader: rq(1), OutputHandleIndex: 3}, 3},
		{&SaveChangesMessageRequest{RequestHeader: rq(4), ResponseHandleIndex: 1}, 1},
		{&SetMessageReadFlagRequest{RequestHeader: rq(4), ResponseHandleIndex: 2}, 2},
		{&SaveChangesAttachmentRequest{RequestHeader: rq(5), ResponseHandleIndex: 4}, 4},
		{&SetColumnsRequest{RequestHeader: rq(6)}, 6},
		{&MoveCopyMessagesRequest{RequestHeader: rq(1), DestHandleIndex: 2}, 1},
		{&RegisterNotificationRequest{RequestHeader: rq(0), OutputHandleIndex: 9}, 9},
	}
	for _, c := range cases {
		resp, err := ErrorResponse(c.req, mp.ErrNullObject)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header().HandleIndex != c.want || resp.Header().ReturnValue != mp.ErrNullObject || resp.RopID() != c.req.RopID() {
			t.Errorf("%s: index %d rv %v, want index %d", c.req.RopID(), resp.Header().HandleIndex, resp.Header().ReturnValue, c.want)
		}
	}
	if _, err := NewResponse(&ReleaseRequest{}); !errors.Is(err, ErrNoResponse) {
		t.Errorf("RopRelease response: %v", err)
	}
}

func TestSpecialFailureLayouts(t *testing.T) {
	enc := func(r Response) []byte {
		b, err := MarshalResponses([]Response{r}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dst := mp.ErrDstNullObject
	cases := []struct {
		name string
		resp Response
		hex  string
	}{
		// MS-OXCROPS 2.2.4.6.3: DestHandleIndex u32, PartialCompletion.
		{"movecopy null dest", &MoveCopyMessagesResponse{MoveCopyResponse{ResponseHeader{1, dst}, 2, true}}, "33 01 03050000 02000000 01"},
		{"copyto null dest", &CopyToResponse{CopyResponse{ResponseHeader: ResponseHeader{1, dst}, DestHandleIndex: 2}}, "39 01 03050000 02000000"},
		{"copytostream null dest", &CopyToStreamResponse{ResponseHeader{1, dst}, 2, 10, 9}, "3a 01 03050000 02000000 0a00000000000000 0900000000000000"},
		// MS-OXCSTOR 2.2.1.1.2: redirect carries LogonFlags and the server name.
		{"logon wrong server", &LogonResponse{ResponseHeader: ResponseHeader{0, mp.ErrWrongServer}, LogonFlags: 1, ServerName: "mbx2"}, "fe 00 78040000 01 05 6d62783200"},
		// MS-OXCPRPT 3.2.5.8: IDs still sent with ecWarnWithErrors.
		{"named ids with warnings", &GetPropertyIdsFromNamesResponse{ResponseHeader{0, mp.ErrWarnWithErrors}, []uint16{0x8001, 0}}, "56 00 80030400 0200 0180 0000"},
		// RopGetMessageStatus answers with RopId 0x20.
		{"get message status id", &GetMessageStatusResponse{MessageStatusResponse{ResponseHeader{1, 0}, 0x1000}}, "20 01 00000000 00100000"},
	}
	for _, c := range cases {
		if got, want := enc(c.resp), unhex(t, c.hex); !bytes.Equal(got, want) {
			t.Errorf("%s: got % x want % x", c.name, got, want)
		}
	}
	// Decoding a redirect against the logon request.
	resps, err := DecodeResponses(unhex(t, "fe 00 78040000 01 05 6d62783200"), []Request{&LogonRequest{}}, ResponseOptions{})
	if err != nil || resps[0].(*LogonResponse).ServerName != "mbx2" {
		t.Fatalf("redirect decode: %v %v", resps, err)
	}
}

func TestPublicLogonResponse(t *testing.T) {
	pub := &LogonResponse{ResponseHeader: rs(0), LogonFlags: 0, FolderIDs: [13]ID{1, 2, 3}, ReplID: 1, ReplGUID: tGUID, PerUserGUID: mp.PS_MAPI}
	b, err := MarshalResponses([]Response{pub}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// RopId, handle index, ReturnValue, flags, 13 IDs, ReplId, two GUIDs.
	if len(b) != 1+1+4+1+104+2+32 {
		t.Fatalf("public logon response is %d bytes", len(b))
	}
	got, err := DecodeResponses(b, []Request{&LogonRequest{}}, ResponseOptions{})
	if err != nil || !reflect.DeepEqual(got[0], Response(pub)) {
		t.Fatalf("got %#v %v", got, err)
	}
	priv := ropCases()[0].resp
	b, _ = MarshalResponses([]Response{priv}, 0)
	// MAPI.md §8.2: 160 bytes after ReturnValue (ruler parses exactly this).
	if len(b)-1-1-4 != 160 {
		t.Fatalf("private logon body is %d bytes", len(b)-6)
	}
}
