package rop

import "fmt"

// RopID identifies a remote operation (MS-OXCROPS 2.2.2).
type RopID uint8

// ROP identifiers (MS-OXCROPS 2.2.2).
const (
	RopRelease                                  RopID = 0x01
	RopOpenFolder                               RopID = 0x02
	RopOpenMessage                              RopID = 0x03
	RopGetHierarchyTable                        RopID = 0x04
	RopGetContentsTable                         RopID = 0x05
	RopCreateMessage                            RopID = 0x06
	RopGetPropertiesSpecific                    RopID = 0x07
	RopGetPropertiesAll                         RopID = 0x08
	RopGetPropertiesList                        RopID = 0x09
	RopSetProperties                            RopID = 0x0A
	RopDeleteProperties                         RopID = 0x0B
	RopSaveChangesMessage                       RopID = 0x0C
	RopRemoveAllRecipients                      RopID = 0x0D
	RopModifyRecipients                         RopID = 0x0E
	RopReadRecipients                           RopID = 0x0F
	RopReloadCachedInformation                  RopID = 0x10
	RopSetMessageReadFlag                       RopID = 0x11
	RopSetColumns                               RopID = 0x12
	RopSortTable                                RopID = 0x13
	RopRestrict                                 RopID = 0x14
	RopQueryRows                                RopID = 0x15
	RopGetStatus                                RopID = 0x16
	RopQueryPosition                            RopID = 0x17
	RopSeekRow                                  RopID = 0x18
	RopSeekRowBookmark                          RopID = 0x19
	RopSeekRowFractional                        RopID = 0x1A
	RopCreateBookmark                           RopID = 0x1B
	RopCreateFolder                             RopID = 0x1C
	RopDeleteFolder                             RopID = 0x1D
	RopDeleteMessages                           RopID = 0x1E
	RopGetMessageStatus                         RopID = 0x1F
	RopSetMessageStatus                         RopID = 0x20
	RopGetAttachmentTable                       RopID = 0x21
	RopOpenAttachment                           RopID = 0x22
	RopCreateAttachment                         RopID = 0x23
	RopDeleteAttachment                         RopID = 0x24
	RopSaveChangesAttachment                    RopID = 0x25
	RopSetReceiveFolder                         RopID = 0x26
	RopGetReceiveFolder                         RopID = 0x27
	RopRegisterNotification                     RopID = 0x29
	RopNotify                                   RopID = 0x2A
	RopOpenStream                               RopID = 0x2B
	RopReadStream                               RopID = 0x2C
	RopWriteStream                              RopID = 0x2D
	RopSeekStream                               RopID = 0x2E
	RopSetStreamSize                            RopID = 0x2F
	RopSetSearchCriteria                        RopID = 0x30
	RopGetSearchCriteria                        RopID = 0x31
	RopSubmitMessage                            RopID = 0x32
	RopMoveCopyMessages                         RopID = 0x33
	RopAbortSubmit                              RopID = 0x34
	RopMoveFolder                               RopID = 0x35
	RopCopyFolder                               RopID = 0x36
	RopQueryColumnsAll                          RopID = 0x37
	RopAbort                                    RopID = 0x38
	RopCopyTo                                   RopID = 0x39
	RopCopyToStream                             RopID = 0x3A
	RopCloneStream                              RopID = 0x3B
	RopGetPermissionsTable                      RopID = 0x3E
	RopGetRulesTable                            RopID = 0x3F
	RopModifyPermissions                        RopID = 0x40
	RopModifyRules                              RopID = 0x41
	RopGetOwningServers                         RopID = 0x42
	RopLongTermIdFromId                         RopID = 0x43
	RopIdFromLongTermId                         RopID = 0x44
	RopPublicFolderIsGhosted                    RopID = 0x45
	RopOpenEmbeddedMessage                      RopID = 0x46
	RopSetSpooler                               RopID = 0x47
	RopSpoolerLockMessage                       RopID = 0x48
	RopGetAddressTypes                          RopID = 0x49
	RopTransportSend                            RopID = 0x4A
	RopFastTransferSourceCopyMessages           RopID = 0x4B
	RopFastTransferSourceCopyFolder             RopID = 0x4C
	RopFastTransferSourceCopyTo                 RopID = 0x4D
	RopFastTransferSourceGetBuffer              RopID = 0x4E
	RopFindRow                                  RopID = 0x4F
	RopProgress                                 RopID = 0x50
	RopTransportNewMail                         RopID = 0x51
	RopGetValidAttachments                      RopID = 0x52
	RopFastTransferDestinationConfigure         RopID = 0x53
	RopFastTransferDestinationPutBuffer         RopID = 0x54
	RopGetNamesFromPropertyIds                  RopID = 0x55
	RopGetPropertyIdsFromNames                  RopID = 0x56
	RopUpdateDeferredActionMessages             RopID = 0x57
	RopEmptyFolder                              RopID = 0x58
	RopExpandRow                                RopID = 0x59
	RopCollapseRow                              RopID = 0x5A
	RopLockRegionStream                         RopID = 0x5B
	RopUnlockRegionStream                       RopID = 0x5C
	RopCommitStream                             RopID = 0x5D
	RopGetStreamSize                            RopID = 0x5E
	RopQueryNamedProperties                     RopID = 0x5F
	RopGetPerUserLongTermIds                    RopID = 0x60
	RopGetPerUserGuid                           RopID = 0x61
	RopReadPerUserInformation                   RopID = 0x63
	RopWritePerUserInformation                  RopID = 0x64
	RopSetReadFlags                             RopID = 0x66
	RopCopyProperties                           RopID = 0x67
	RopGetReceiveFolderTable                    RopID = 0x68
	RopFastTransferSourceCopyProperties         RopID = 0x69
	RopGetCollapseState                         RopID = 0x6B
	RopSetCollapseState                         RopID = 0x6C
	RopGetTransportFolder                       RopID = 0x6D
	RopPending                                  RopID = 0x6E
	RopOptionsData                              RopID = 0x6F
	RopSynchronizationConfigure                 RopID = 0x70
	RopSynchronizationImportMessageChange       RopID = 0x72
	RopSynchronizationImportHierarchyChange     RopID = 0x73
	RopSynchronizationImportDeletes             RopID = 0x74
	RopSynchronizationUploadStateStreamBegin    RopID = 0x75
	RopSynchronizationUploadStateStreamContinue RopID = 0x76
	RopSynchronizationUploadStateStreamEnd      RopID = 0x77
	RopSynchronizationImportMessageMove         RopID = 0x78
	RopSetPropertiesNoReplicate                 RopID = 0x79
	RopDeletePropertiesNoReplicate              RopID = 0x7A
	RopGetStoreState                            RopID = 0x7B
	RopSynchronizationOpenCollector             RopID = 0x7E
	RopGetLocalReplicaIds                       RopID = 0x7F
	RopSynchronizationImportReadStateChanges    RopID = 0x80
	RopResetTable                               RopID = 0x81
	RopSynchronizationGetTransferState          RopID = 0x82
	RopTellVersion                              RopID = 0x86
	RopFreeBookmark                             RopID = 0x89
	RopWriteAndCommitStream                     RopID = 0x90
	RopHardDeleteMessages                       RopID = 0x91
	RopHardDeleteMessagesAndSubfolders          RopID = 0x92
	RopSetLocalReplicaMidsetDeleted             RopID = 0x93
	RopFastTransferDestinationPutBufferExtended RopID = 0x9D
	RopWriteStreamExtended                      RopID = 0xA3
	RopBackoff                                  RopID = 0xF9
	RopLogon                                    RopID = 0xFE
	RopBufferTooSmall                           RopID = 0xFF
)

var ropNames = map[RopID]string{
	RopRelease: "RopRelease", RopOpenFolder: "RopOpenFolder", RopOpenMessage: "RopOpenMessage",
	RopGetHierarchyTable: "RopGetHierarchyTable", RopGetContentsTable: "RopGetContentsTable",
	RopCreateMessage: "RopCreateMessage", RopGetPropertiesSpecific: "RopGetPropertiesSpecific",
	RopGetPropertiesAll: "RopGetPropertiesAll", RopGetPropertiesList: "RopGetPropertiesList",
	RopSetProperties: "RopSetProperties", RopDeleteProperties: "RopDeleteProperties",
	RopSaveChangesMessage: "RopSaveChangesMessage", RopRemoveAllRecipients: "RopRemoveAllRecipients",
	RopModifyRecipients: "RopModifyRecipients", RopReadRecipients: "RopReadRecipients",
	RopReloadCachedInformation: "RopReloadCachedInformation", RopSetMessageReadFlag: "RopSetMessageReadFlag",
	RopSetColumns: "RopSetColumns", RopSortTable: "RopSortTable", RopRestrict: "RopRestrict",
	RopQueryRows: "RopQueryRows", RopGetStatus: "RopGetStatus", RopQueryPosition: "RopQueryPosition",
	RopSeekRow: "RopSeekRow", RopSeekRowBookmark: "RopSeekRowBookmark",
	RopSeekRowFractional: "RopSeekRowFractional", RopCreateBookmark: "RopCreateBookmark",
	RopCreateFolder: "RopCreateFolder", RopDeleteFolder: "RopDeleteFolder",
	RopDeleteMessages: "RopDeleteMessages", RopGetMessageStatus: "RopGetMessageStatus",
	RopSetMessageStatus: "RopSetMessageStatus", RopGetAttachmentTable: "RopGetAttachmentTable",
	RopOpenAttachment: "RopOpenAttachment", RopCreateAttachment: "RopCreateAttachment",
	RopDeleteAttachment: "RopDeleteAttachment", RopSaveChangesAttachment: "RopSaveChangesAttachment",
	RopSetReceiveFolder: "RopSetReceiveFolder", RopGetReceiveFolder: "RopGetReceiveFolder",
	RopRegisterNotification: "RopRegisterNotification", RopNotify: "RopNotify",
	RopOpenStream: "RopOpenStream", RopReadStream: "RopReadStream", RopWriteStream: "RopWriteStream",
	RopSeekStream: "RopSeekStream", RopSetStreamSize: "RopSetStreamSize",
	RopSetSearchCriteria: "RopSetSearchCriteria", RopGetSearchCriteria: "RopGetSearchCriteria",
	RopSubmitMessage: "RopSubmitMessage", RopMoveCopyMessages: "RopMoveCopyMessages",
	RopAbortSubmit: "RopAbortSubmit", RopMoveFolder: "RopMoveFolder", RopCopyFolder: "RopCopyFolder",
	RopQueryColumnsAll: "RopQueryColumnsAll", RopAbort: "RopAbort", RopCopyTo: "RopCopyTo",
	RopCopyToStream: "RopCopyToStream", RopCloneStream: "RopCloneStream",
	RopGetPermissionsTable: "RopGetPermissionsTable", RopGetRulesTable: "RopGetRulesTable",
	RopModifyPermissions: "RopModifyPermissions", RopModifyRules: "RopModifyRules",
	RopGetOwningServers: "RopGetOwningServers", RopLongTermIdFromId: "RopLongTermIdFromId",
	RopIdFromLongTermId: "RopIdFromLongTermId", RopPublicFolderIsGhosted: "RopPublicFolderIsGhosted",
	RopOpenEmbeddedMessage: "RopOpenEmbeddedMessage", RopSetSpooler: "RopSetSpooler",
	RopSpoolerLockMessage: "RopSpoolerLockMessage", RopGetAddressTypes: "RopGetAddressTypes",
	RopTransportSend:                  "RopTransportSend",
	RopFastTransferSourceCopyMessages: "RopFastTransferSourceCopyMessages",
	RopFastTransferSourceCopyFolder:   "RopFastTransferSourceCopyFolder",
	RopFastTransferSourceCopyTo:       "RopFastTransferSourceCopyTo",
	RopFastTransferSourceGetBuffer:    "RopFastTransferSourceGetBuffer", RopFindRow: "RopFindRow",
	RopProgress: "RopProgress", RopTransportNewMail: "RopTransportNewMail",
	RopGetValidAttachments:              "RopGetValidAttachments",
	RopFastTransferDestinationConfigure: "RopFastTransferDestinationConfigure",
	RopFastTransferDestinationPutBuffer: "RopFastTransferDestinationPutBuffer",
	RopGetNamesFromPropertyIds:          "RopGetNamesFromPropertyIds",
	RopGetPropertyIdsFromNames:          "RopGetPropertyIdsFromNames",
	RopUpdateDeferredActionMessages:     "RopUpdateDeferredActionMessages",
	RopEmptyFolder:                      "RopEmptyFolder", RopExpandRow: "RopExpandRow", RopCollapseRow: "RopCollapseRow",
	RopLockRegionStream: "RopLockRegionStream", RopUnlockRegionStream: "RopUnlockRegionStream",
	RopCommitStream: "RopCommitStream", RopGetStreamSize: "RopGetStreamSize",
	RopQueryNamedProperties: "RopQueryNamedProperties", RopGetPerUserLongTermIds: "RopGetPerUserLongTermIds",
	RopGetPerUserGuid: "RopGetPerUserGuid", RopReadPerUserInformation: "RopReadPerUserInformation",
	RopWritePerUserInformation: "RopWritePerUserInformation", RopSetReadFlags: "RopSetReadFlags",
	RopCopyProperties: "RopCopyProperties", RopGetReceiveFolderTable: "RopGetReceiveFolderTable",
	RopFastTransferSourceCopyProperties: "RopFastTransferSourceCopyProperties",
	RopGetCollapseState:                 "RopGetCollapseState", RopSetCollapseState: "RopSetCollapseState",
	RopGetTransportFolder: "RopGetTransportFolder", RopPending: "RopPending", RopOptionsData: "RopOptionsData",
	RopSynchronizationConfigure:                 "RopSynchronizationConfigure",
	RopSynchronizationImportMessageChange:       "RopSynchronizationImportMessageChange",
	RopSynchronizationImportHierarchyChange:     "RopSynchronizationImportHierarchyChange",
	RopSynchronizationImportDeletes:             "RopSynchronizationImportDeletes",
	RopSynchronizationUploadStateStreamBegin:    "RopSynchronizationUploadStateStreamBegin",
	RopSynchronizationUploadStateStreamContinue: "RopSynchronizationUploadStateStreamContinue",
	RopSynchronizationUploadStateStreamEnd:      "RopSynchronizationUploadStateStreamEnd",
	RopSynchronizationImportMessageMove:         "RopSynchronizationImportMessageMove",
	RopSetPropertiesNoReplicate:                 "RopSetPropertiesNoReplicate",
	RopDeletePropertiesNoReplicate:              "RopDeletePropertiesNoReplicate", RopGetStoreState: "RopGetStoreState",
	RopSynchronizationOpenCollector:          "RopSynchronizationOpenCollector",
	RopGetLocalReplicaIds:                    "RopGetLocalReplicaIds",
	RopSynchronizationImportReadStateChanges: "RopSynchronizationImportReadStateChanges",
	RopResetTable:                            "RopResetTable", RopSynchronizationGetTransferState: "RopSynchronizationGetTransferState",
	RopTellVersion: "RopTellVersion", RopFreeBookmark: "RopFreeBookmark",
	RopWriteAndCommitStream: "RopWriteAndCommitStream", RopHardDeleteMessages: "RopHardDeleteMessages",
	RopHardDeleteMessagesAndSubfolders: "RopHardDeleteMessagesAndSubfolders",
	RopSetLocalReplicaMidsetDeleted:    "RopSetLocalReplicaMidsetDeleted", RopBackoff: "RopBackoff",
	RopFastTransferDestinationPutBufferExtended: "RopFastTransferDestinationPutBufferExtended",
	RopWriteStreamExtended:                      "RopWriteStreamExtended",
	RopLogon:                                    "RopLogon", RopBufferTooSmall: "RopBufferTooSmall",
}

func (id RopID) String() string {
	if n, ok := ropNames[id]; ok {
		return n
	}
	return fmt.Sprintf("Rop(0x%02X)", uint8(id))
}
