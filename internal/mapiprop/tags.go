package mapiprop

// Property tags Outlook uses on stores, folders, messages, recipients,
// attachments and the address book (MS-OXPROPS; canonical names). Tags of
// string properties use PtypString; use WithType(PtypString8) for the 8-bit
// form.
const (
	// Message envelope and content.
	PidTagAlternateRecipientAllowed            Tag = 0x0002000B
	PidTagAutoForwarded                        Tag = 0x0005000B
	PidTagDeferredDeliveryTime                 Tag = 0x000F0040
	PidTagExpiryTime                           Tag = 0x00150040
	PidTagImportance                           Tag = 0x00170003
	PidTagMessageClass                         Tag = 0x001A001F
	PidTagOriginatorDeliveryReportRequested    Tag = 0x0023000B
	PidTagPriority                             Tag = 0x00260003
	PidTagReadReceiptRequested                 Tag = 0x0029000B
	PidTagRecipientReassignmentProhibited      Tag = 0x002B000B
	PidTagReportTag                            Tag = 0x00310102
	PidTagSensitivity                          Tag = 0x00360003
	PidTagSubject                              Tag = 0x0037001F
	PidTagClientSubmitTime                     Tag = 0x00390040
	PidTagSentRepresentingSearchKey            Tag = 0x003B0102
	PidTagSubjectPrefix                        Tag = 0x003D001F
	PidTagReceivedByEntryId                    Tag = 0x003F0102
	PidTagReceivedByName                       Tag = 0x0040001F
	PidTagSentRepresentingEntryId              Tag = 0x00410102
	PidTagSentRepresentingName                 Tag = 0x0042001F
	PidTagReceivedRepresentingEntryId          Tag = 0x00430102
	PidTagReceivedRepresentingName             Tag = 0x0044001F
	PidTagReadReceiptEntryId                   Tag = 0x00460102
	PidTagMessageSubmissionId                  Tag = 0x00470102
	PidTagOriginalSubject                      Tag = 0x0049001F
	PidTagReplyRecipientEntries                Tag = 0x004F0102
	PidTagReplyRecipientNames                  Tag = 0x0050001F
	PidTagReceivedBySearchKey                  Tag = 0x00510102
	PidTagReceivedRepresentingSearchKey        Tag = 0x00520102
	PidTagMessageToMe                          Tag = 0x0057000B
	PidTagMessageCcMe                          Tag = 0x0058000B
	PidTagMessageRecipientMe                   Tag = 0x0059000B
	PidTagStartDate                            Tag = 0x00600040
	PidTagEndDate                              Tag = 0x00610040
	PidTagSentRepresentingAddressType          Tag = 0x0064001F
	PidTagSentRepresentingEmailAddress         Tag = 0x0065001F
	PidTagConversationTopic                    Tag = 0x0070001F
	PidTagConversationIndex                    Tag = 0x00710102
	PidTagReceivedByAddressType                Tag = 0x0075001F
	PidTagReceivedByEmailAddress               Tag = 0x0076001F
	PidTagReceivedRepresentingAddressType      Tag = 0x0077001F
	PidTagReceivedRepresentingEmailAddress     Tag = 0x0078001F
	PidTagTransportMessageHeaders              Tag = 0x007D001F
	PidTagRecipientType                        Tag = 0x0C150003
	PidTagReplyRequested                       Tag = 0x0C17000B
	PidTagSenderEntryId                        Tag = 0x0C190102
	PidTagSenderName                           Tag = 0x0C1A001F
	PidTagSenderSearchKey                      Tag = 0x0C1D0102
	PidTagSenderAddressType                    Tag = 0x0C1E001F
	PidTagSenderEmailAddress                   Tag = 0x0C1F001F
	PidTagDeleteAfterSubmit                    Tag = 0x0E01000B
	PidTagDisplayBcc                           Tag = 0x0E02001F
	PidTagDisplayCc                            Tag = 0x0E03001F
	PidTagDisplayTo                            Tag = 0x0E04001F
	PidTagMessageDeliveryTime                  Tag = 0x0E060040
	PidTagMessageFlags                         Tag = 0x0E070003
	PidTagMessageSize                          Tag = 0x0E080003
	PidTagMessageSizeExtended                  Tag = 0x0E080014
	PidTagParentEntryId                        Tag = 0x0E090102
	PidTagSentMailEntryId                      Tag = 0x0E0A0102
	PidTagMessageRecipients                    Tag = 0x0E12000D
	PidTagMessageAttachments                   Tag = 0x0E13000D
	PidTagMessageStatus                        Tag = 0x0E170003
	PidTagHasAttachments                       Tag = 0x0E1B000B
	PidTagNormalizedSubject                    Tag = 0x0E1D001F
	PidTagRtfInSync                            Tag = 0x0E1F000B
	PidTagInternetArticleNumber                Tag = 0x0E230003
	PidTagToDoItemFlags                        Tag = 0x0E2B0003
	PidTagTrustSender                          Tag = 0x0E790003
	PidTagBody                                 Tag = 0x1000001F
	PidTagRtfCompressed                        Tag = 0x10090102
	PidTagHtml                                 Tag = 0x10130102
	PidTagBodyHtml                             Tag = 0x1013001F
	PidTagBodyContentLocation                  Tag = 0x1014001F
	PidTagBodyContentId                        Tag = 0x1015001F
	PidTagNativeBody                           Tag = 0x10160003
	PidTagInternetMessageId                    Tag = 0x1035001F
	PidTagInternetReferences                   Tag = 0x1039001F
	PidTagInReplyToId                          Tag = 0x1042001F
	PidTagIconIndex                            Tag = 0x10800003
	PidTagLastVerbExecuted                     Tag = 0x10810003
	PidTagLastVerbExecutionTime                Tag = 0x10820040
	PidTagFlagStatus                           Tag = 0x10900003
	PidTagFlagCompleteTime                     Tag = 0x10910040
	PidTagFollowupIcon                         Tag = 0x10950003
	PidTagBlockStatus                          Tag = 0x10960003
	PidTagAttributeHidden                      Tag = 0x10F4000B
	PidTagAttributeReadOnly                    Tag = 0x10F6000B
	PidTagInternetCodepage                     Tag = 0x3FDE0003
	PidTagMessageLocaleId                      Tag = 0x3FF10003
	PidTagCreatorName                          Tag = 0x3FF8001F
	PidTagCreatorEntryId                       Tag = 0x3FF90102
	PidTagLastModifierName                     Tag = 0x3FFA001F
	PidTagLastModifierEntryId                  Tag = 0x3FFB0102
	PidTagMessageCodepage                      Tag = 0x3FFD0003
	PidTagContentFilterSpamConfidenceLevel     Tag = 0x40760003
	PidTagSenderSmtpAddress                    Tag = 0x5D01001F
	PidTagSentRepresentingSmtpAddress          Tag = 0x5D02001F
	PidTagMessageEditorFormat                  Tag = 0x59090003
	PidTagLocalCommitTime                      Tag = 0x67090040
	PidTagAssociated                           Tag = 0x67AA000B
	PidTagHasNamedProperties                   Tag = 0x664A000B
	PidTagSentMailSvrEID                       Tag = 0x674000FB
	PidTagDeferredActionMessageOriginalEntryId Tag = 0x674100FB

	// Common object properties.
	PidTagAccess                    Tag = 0x0FF40003
	PidTagRowType                   Tag = 0x0FF50003
	PidTagInstanceKey               Tag = 0x0FF60102
	PidTagAccessLevel               Tag = 0x0FF70003
	PidTagMappingSignature          Tag = 0x0FF80102
	PidTagRecordKey                 Tag = 0x0FF90102
	PidTagStoreRecordKey            Tag = 0x0FFA0102
	PidTagStoreEntryId              Tag = 0x0FFB0102
	PidTagObjectType                Tag = 0x0FFE0003
	PidTagEntryId                   Tag = 0x0FFF0102
	PidTagRowid                     Tag = 0x30000003
	PidTagDisplayName               Tag = 0x3001001F
	PidTagAddressType               Tag = 0x3002001F
	PidTagEmailAddress              Tag = 0x3003001F
	PidTagComment                   Tag = 0x3004001F
	PidTagDepth                     Tag = 0x30050003
	PidTagCreationTime              Tag = 0x30070040
	PidTagLastModificationTime      Tag = 0x30080040
	PidTagSearchKey                 Tag = 0x300B0102
	PidTagTargetEntryId             Tag = 0x30100102
	PidTagConversationId            Tag = 0x30130102
	PidTagConversationIndexTracking Tag = 0x3016000B
	PidTagSourceKey                 Tag = 0x65E00102
	PidTagParentSourceKey           Tag = 0x65E10102
	PidTagChangeKey                 Tag = 0x65E20102
	PidTagPredecessorChangeList     Tag = 0x65E30102
	PidTagFolderId                  Tag = 0x67480014
	PidTagParentFolderId            Tag = 0x67490014
	PidTagMid                       Tag = 0x674A0014
	PidTagInstID                    Tag = 0x674D0014
	PidTagInstanceNum               Tag = 0x674E0003
	PidTagChangeNumber              Tag = 0x67A40014
	PidTagRights                    Tag = 0x66390003

	// Store (logon object) properties.
	PidTagStoreSupportMask         Tag = 0x340D0003
	PidTagStoreState               Tag = 0x340E0003
	PidTagStoreProvider            Tag = 0x34140102 // PR_MDB_PROVIDER
	PidTagStorageQuotaLimit        Tag = 0x3FF50003
	PidTagUserEntryId              Tag = 0x66190102
	PidTagMailboxOwnerEntryId      Tag = 0x661B0102
	PidTagMailboxOwnerName         Tag = 0x661C001F
	PidTagOutOfOfficeState         Tag = 0x661D000B
	PidTagTestLineSpeed            Tag = 0x662B0102
	PidTagProhibitReceiveQuota     Tag = 0x666A0003
	PidTagMaximumSubmitMessageSize Tag = 0x666D0003
	PidTagProhibitSendQuota        Tag = 0x666E0003
	PidTagLocaleId                 Tag = 0x66A10003
	PidTagCodePageId               Tag = 0x66C30003
	PidTagSortLocaleId             Tag = 0x67050003
	PidTagRootEntryId              Tag = 0x35D80102 // PR_ROOT_ENTRYID (gromox name; not in MS-OXPROPS)
	PidTagValidFolderMask          Tag = 0x35DF0003
	PidTagIpmSubtreeEntryId        Tag = 0x35E00102
	PidTagIpmInboxEntryId          Tag = 0x35E10102 // PR_IPM_INBOX_ENTRYID (gromox name; not in MS-OXPROPS)
	PidTagIpmOutboxEntryId         Tag = 0x35E20102
	PidTagIpmWastebasketEntryId    Tag = 0x35E30102
	PidTagIpmSentMailEntryId       Tag = 0x35E40102
	PidTagViewsEntryId             Tag = 0x35E50102
	PidTagCommonViewsEntryId       Tag = 0x35E60102
	PidTagFinderEntryId            Tag = 0x35E70102
	PidTagSpoolerQueueEntryId      Tag = 0x35E80102 // PR_SPOOLER_QUEUE_ENTRYID

	// Folder properties.
	PidTagContainerFlags           Tag = 0x36000003
	PidTagFolderType               Tag = 0x36010003
	PidTagContentCount             Tag = 0x36020003
	PidTagContentUnreadCount       Tag = 0x36030003
	PidTagSelectable               Tag = 0x3609000B
	PidTagSubfolders               Tag = 0x360A000B
	PidTagAnr                      Tag = 0x360C001F
	PidTagContainerHierarchy       Tag = 0x360E000D
	PidTagContainerContents        Tag = 0x360F000D
	PidTagFolderAssociatedContents Tag = 0x3610000D
	PidTagContainerClass           Tag = 0x3613001F
	PidTagAssociatedContentCount   Tag = 0x36170003
	PidTagIpmAppointmentEntryId    Tag = 0x36D00102
	PidTagIpmContactEntryId        Tag = 0x36D10102
	PidTagIpmJournalEntryId        Tag = 0x36D20102
	PidTagIpmNoteEntryId           Tag = 0x36D30102
	PidTagIpmTaskEntryId           Tag = 0x36D40102
	PidTagRemindersOnlineEntryId   Tag = 0x36D50102
	PidTagIpmDraftsEntryId         Tag = 0x36D70102
	PidTagAdditionalRenEntryIds    Tag = 0x36D81102
	PidTagAdditionalRenEntryIdsEx  Tag = 0x36D90102
	PidTagExtendedFolderFlags      Tag = 0x36DA0102
	PidTagFolderWebViewInfo        Tag = 0x36DF0102
	PidTagFreeBusyEntryIds         Tag = 0x36E41102
	PidTagDefaultPostMessageClass  Tag = 0x36E5001F
	PidTagFolderChildCount         Tag = 0x66380003
	PidTagHasRules                 Tag = 0x663A000B
	PidTagHierarchyChangeNumber    Tag = 0x663E0003
	PidTagFolderFlags              Tag = 0x66A80003
	PidTagLocalCommitTimeMax       Tag = 0x670A0040
	PidTagDeletedCountTotal        Tag = 0x670B0003
	PidTagDeletedOn                Tag = 0x668F0040

	// Attachments.
	PidTagAttachSize                  Tag = 0x0E200003
	PidTagAttachNumber                Tag = 0x0E210003
	PidTagAttachDataBinary            Tag = 0x37010102
	PidTagAttachDataObject            Tag = 0x3701000D
	PidTagAttachEncoding              Tag = 0x37020102
	PidTagAttachExtension             Tag = 0x3703001F
	PidTagAttachFilename              Tag = 0x3704001F
	PidTagAttachMethod                Tag = 0x37050003
	PidTagAttachLongFilename          Tag = 0x3707001F
	PidTagAttachPathname              Tag = 0x3708001F
	PidTagAttachRendering             Tag = 0x37090102
	PidTagAttachTag                   Tag = 0x370A0102
	PidTagRenderingPosition           Tag = 0x370B0003
	PidTagAttachTransportName         Tag = 0x370C001F
	PidTagAttachLongPathname          Tag = 0x370D001F
	PidTagAttachMimeTag               Tag = 0x370E001F
	PidTagAttachAdditionalInformation Tag = 0x370F0102
	PidTagAttachContentBase           Tag = 0x3711001F
	PidTagAttachContentId             Tag = 0x3712001F
	PidTagAttachContentLocation       Tag = 0x3713001F
	PidTagAttachFlags                 Tag = 0x37140003

	// Recipients and address book.
	PidTagDisplayType                     Tag = 0x39000003
	PidTagTemplateid                      Tag = 0x39020102
	PidTagDisplayTypeEx                   Tag = 0x39050003
	PidTagSmtpAddress                     Tag = 0x39FE001F
	PidTagAddressBookDisplayNamePrintable Tag = 0x39FF001F
	PidTagAccount                         Tag = 0x3A00001F
	PidTagCallbackTelephoneNumber         Tag = 0x3A02001F
	PidTagGeneration                      Tag = 0x3A05001F
	PidTagGivenName                       Tag = 0x3A06001F
	PidTagGovernmentIdNumber              Tag = 0x3A07001F
	PidTagBusinessTelephoneNumber         Tag = 0x3A08001F
	PidTagHomeTelephoneNumber             Tag = 0x3A09001F
	PidTagInitials                        Tag = 0x3A0A001F
	PidTagKeyword                         Tag = 0x3A0B001F
	PidTagLanguage                        Tag = 0x3A0C001F
	PidTagLocation                        Tag = 0x3A0D001F
	PidTagSurname                         Tag = 0x3A11001F
	PidTagPostalAddress                   Tag = 0x3A15001F
	PidTagCompanyName                     Tag = 0x3A16001F
	PidTagTitle                           Tag = 0x3A17001F
	PidTagDepartmentName                  Tag = 0x3A18001F
	PidTagOfficeLocation                  Tag = 0x3A19001F
	PidTagPrimaryTelephoneNumber          Tag = 0x3A1A001F
	PidTagBusiness2TelephoneNumber        Tag = 0x3A1B001F
	PidTagMobileTelephoneNumber           Tag = 0x3A1C001F
	PidTagRadioTelephoneNumber            Tag = 0x3A1D001F
	PidTagCarTelephoneNumber              Tag = 0x3A1E001F
	PidTagOtherTelephoneNumber            Tag = 0x3A1F001F
	PidTagTransmittableDisplayName        Tag = 0x3A20001F
	PidTagPagerTelephoneNumber            Tag = 0x3A21001F
	PidTagPrimaryFaxNumber                Tag = 0x3A23001F
	PidTagBusinessFaxNumber               Tag = 0x3A24001F
	PidTagHomeFaxNumber                   Tag = 0x3A25001F
	PidTagCountry                         Tag = 0x3A26001F
	PidTagLocality                        Tag = 0x3A27001F
	PidTagStateOrProvince                 Tag = 0x3A28001F
	PidTagStreetAddress                   Tag = 0x3A29001F
	PidTagPostalCode                      Tag = 0x3A2A001F
	PidTagPostOfficeBox                   Tag = 0x3A2B001F
	PidTagAssistant                       Tag = 0x3A30001F
	PidTagSendRichInfo                    Tag = 0x3A40000B
	PidTagSendInternetEncoding            Tag = 0x3A710003
	PidTagRecipientOrder                  Tag = 0x5FDF0003
	PidTagRecipientProposed               Tag = 0x5FE1000B
	PidTagRecipientDisplayName            Tag = 0x5FF6001F
	PidTagRecipientEntryId                Tag = 0x5FF70102
	PidTagRecipientFlags                  Tag = 0x5FFD0003
	PidTagRecipientTrackStatus            Tag = 0x5FFF0003
	PidTagAddressBookEntryId              Tag = 0x663B0102
	PidTagEmsAbHomeMdb                    Tag = 0x8006001F // PidTagAddressBookHomeMessageDatabase
	PidTagEmsAbProxyAddresses             Tag = 0x800F101F // PidTagAddressBookProxyAddresses
	PidTagEmsAbNetworkAddress             Tag = 0x8170101F
	PidTagEmsAbObjectGuid                 Tag = 0x8C6D0102
	PidTagEmsAbThumbnailPhoto             Tag = 0x8C9E0102
	PidTagEmsAbIsMaster                   Tag = 0xFFFB000B
	PidTagEmsAbParentEntryId              Tag = 0xFFFC0102
	PidTagEmsAbContainerid                Tag = 0xFFFD0003

	// Rules (MS-OXORULE) and permissions (MS-OXCPERM).
	PidTagMemberId         Tag = 0x66710014
	PidTagMemberName       Tag = 0x6672001F
	PidTagMemberRights     Tag = 0x66730003
	PidTagRuleId           Tag = 0x66740014
	PidTagRuleIds          Tag = 0x66750102
	PidTagRuleSequence     Tag = 0x66760003
	PidTagRuleState        Tag = 0x66770003
	PidTagRuleUserFlags    Tag = 0x66780003
	PidTagRuleCondition    Tag = 0x667900FD
	PidTagRuleActions      Tag = 0x668000FE
	PidTagRuleProvider     Tag = 0x6681001F
	PidTagRuleName         Tag = 0x6682001F
	PidTagRuleLevel        Tag = 0x66830003
	PidTagRuleProviderData Tag = 0x66840102
)

// PidTagObjectType values (MS-OXCPRPT 2.2.1.7; MS-OXNSPI).
const (
	ObjectTypeStore       int32 = 1
	ObjectTypeAddressBook int32 = 2
	ObjectTypeFolder      int32 = 3
	ObjectTypeMessage     int32 = 5
	ObjectTypeMailUser    int32 = 6
	ObjectTypeAttachment  int32 = 7
	ObjectTypeDistList    int32 = 8
)

// PidTagMessageFlags bits (MS-OXCMSG 2.2.1.6).
const (
	MessageFlagRead         int32 = 0x00000001
	MessageFlagUnmodified   int32 = 0x00000002
	MessageFlagSubmitted    int32 = 0x00000004
	MessageFlagUnsent       int32 = 0x00000008
	MessageFlagHasAttach    int32 = 0x00000010
	MessageFlagFromMe       int32 = 0x00000020
	MessageFlagAssociated   int32 = 0x00000040
	MessageFlagResend       int32 = 0x00000080
	MessageFlagNotifyRead   int32 = 0x00000100
	MessageFlagNotifyUnread int32 = 0x00000200
	MessageFlagEverRead     int32 = 0x00000400
	MessageFlagInternet     int32 = 0x00002000
	MessageFlagUntrusted    int32 = 0x00008000
)

// PidTagAccess bits (MS-OXCPRPT 2.2.1.1).
const (
	AccessModify           int32 = 0x00000001
	AccessRead             int32 = 0x00000002
	AccessDelete           int32 = 0x00000004
	AccessCreateHierarchy  int32 = 0x00000008
	AccessCreateContents   int32 = 0x00000010
	AccessCreateAssociated int32 = 0x00000020
)

// PidTagRowType values of categorized tables (MS-OXCTABL 2.2.1.3).
const (
	RowTypeLeaf          int32 = 1
	RowTypeEmptyCategory int32 = 2
	RowTypeExpanded      int32 = 3
	RowTypeCollapsed     int32 = 4
)

// PidTagAttachMethod values (MS-OXCMSG 2.2.2.9).
const (
	AttachMethodNone           int32 = 0
	AttachMethodByValue        int32 = 1
	AttachMethodByReference    int32 = 2
	AttachMethodByRefOnly      int32 = 4
	AttachMethodEmbedded       int32 = 5
	AttachMethodOLE            int32 = 6
	AttachMethodByWebReference int32 = 7
)

// Recipient types, the low bits of PidTagRecipientType (MS-OXOMSG 2.2.3.1).
const (
	RecipientOriginator int32 = 0
	RecipientTo         int32 = 1
	RecipientCc         int32 = 2
	RecipientBcc        int32 = 3
)
