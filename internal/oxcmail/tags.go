package oxcmail

import mp "github.com/pochta/pochta/internal/mapiprop"

// Property tags MS-OXCMAIL maps that internal/mapiprop does not list
// (MS-OXPROPS; canonical names).
const (
	PidTagNonDeliveryReportReasonCode     mp.Tag = 0x0C040003
	PidTagNonDeliveryReportDiagCode       mp.Tag = 0x0C050003
	PidTagNonReceiptNotificationRequested mp.Tag = 0x0C06000B
	PidTagSupplementaryInfo               mp.Tag = 0x0C1B001F
	PidTagNonDeliveryReportStatusCode     mp.Tag = 0x0C200003
	PidTagRemoteMessageTransferAgent      mp.Tag = 0x0C21001F
	PidTagReportingMessageTransferAgent   mp.Tag = 0x6820001F
	PidTagReportText                      mp.Tag = 0x1001001F
	PidTagReportTime                      mp.Tag = 0x00320040
	PidTagOriginalMessageClass            mp.Tag = 0x004B001F
	PidTagReadReceiptSearchKey            mp.Tag = 0x00530102
	PidTagReadReceiptAddressType          mp.Tag = 0x4029001F
	PidTagReadReceiptEmailAddress         mp.Tag = 0x402A001F
	PidTagReadReceiptName                 mp.Tag = 0x402B001F
	PidTagReadReceiptSmtpAddress          mp.Tag = 0x5D05001F
	PidTagReceivedBySmtpAddress           mp.Tag = 0x5D07001F
	PidTagReceivedRepresentingSmtpAddress mp.Tag = 0x5D08001F
	PidTagListHelp                        mp.Tag = 0x1043001F
	PidTagListSubscribe                   mp.Tag = 0x1044001F
	PidTagListUnsubscribe                 mp.Tag = 0x1045001F
	PidTagAttachmentLinkId                mp.Tag = 0x7FFA0003
	PidTagAttachmentFlags                 mp.Tag = 0x7FFD0003
	PidTagAttachmentHidden                mp.Tag = 0x7FFE000B
	PidTagAttachPayloadClass              mp.Tag = 0x371A001F
	PidTagTextAttachmentCharset           mp.Tag = 0x371B001F
	PidTagResponsibility                  mp.Tag = 0x0E0F000B
	PidTagAutoResponseSuppress            mp.Tag = 0x3FDF0003
	PidTagMessageLocaleID                 mp.Tag = 0x3FF10003
	PidTagPurportedSenderDomain           mp.Tag = 0x4083001F
)

// PidTagAttachFlags bits (MS-OXCMSG 2.2.2.18).
const (
	AttachInvisibleInHTML int32 = 0x00000001
	AttachInvisibleInRTF  int32 = 0x00000002
	AttachRenderedInBody  int32 = 0x00000004
)

// PidTagNativeBody values (MS-OXCMSG 2.2.1.49).
const (
	NativeBodyUndefined int32 = 0
	NativeBodyPlain     int32 = 1
	NativeBodyRTF       int32 = 2
	NativeBodyHTML      int32 = 3
)

// PidTagImportance values (MS-OXCMSG 2.2.1.11).
const (
	ImportanceLow    int32 = 0
	ImportanceNormal int32 = 1
	ImportanceHigh   int32 = 2
)

// PidTagPriority values (MS-OXCMSG 2.2.1.12).
const (
	PriorityNonUrgent int32 = -1
	PriorityNormal    int32 = 0
	PriorityUrgent    int32 = 1
)

// PidTagSensitivity values (MS-OXCMSG 2.2.1.13).
const (
	SensitivityNone                int32 = 0
	SensitivityPersonal            int32 = 1
	SensitivityPrivate             int32 = 2
	SensitivityCompanyConfidential int32 = 3
)

// PidTagRecipientFlags bit recipSendable (MS-OXOCAL 2.2.4.10.1).
const recipSendable int32 = 0x00000001

// tagNames names the tags this package produces, for Dump.
var tagNames = map[mp.Tag]string{
	mp.PidTagAutoForwarded:                     "PidTagAutoForwarded",
	mp.PidTagImportance:                        "PidTagImportance",
	mp.PidTagMessageClass:                      "PidTagMessageClass",
	mp.PidTagOriginatorDeliveryReportRequested: "PidTagOriginatorDeliveryReportRequested",
	mp.PidTagPriority:                          "PidTagPriority",
	mp.PidTagReadReceiptRequested:              "PidTagReadReceiptRequested",
	mp.PidTagSensitivity:                       "PidTagSensitivity",
	mp.PidTagSubject:                           "PidTagSubject",
	mp.PidTagClientSubmitTime:                  "PidTagClientSubmitTime",
	mp.PidTagSentRepresentingSearchKey:         "PidTagSentRepresentingSearchKey",
	mp.PidTagSubjectPrefix:                     "PidTagSubjectPrefix",
	mp.PidTagReceivedByEntryId:                 "PidTagReceivedByEntryId",
	mp.PidTagReceivedByName:                    "PidTagReceivedByName",
	mp.PidTagSentRepresentingEntryId:           "PidTagSentRepresentingEntryId",
	mp.PidTagSentRepresentingName:              "PidTagSentRepresentingName",
	mp.PidTagReceivedRepresentingEntryId:       "PidTagReceivedRepresentingEntryId",
	mp.PidTagReceivedRepresentingName:          "PidTagReceivedRepresentingName",
	mp.PidTagReadReceiptEntryId:                "PidTagReadReceiptEntryId",
	mp.PidTagReplyRecipientEntries:             "PidTagReplyRecipientEntries",
	mp.PidTagReplyRecipientNames:               "PidTagReplyRecipientNames",
	mp.PidTagReceivedBySearchKey:               "PidTagReceivedBySearchKey",
	mp.PidTagReceivedRepresentingSearchKey:     "PidTagReceivedRepresentingSearchKey",
	mp.PidTagMessageToMe:                       "PidTagMessageToMe",
	mp.PidTagMessageCcMe:                       "PidTagMessageCcMe",
	mp.PidTagMessageRecipientMe:                "PidTagMessageRecipientMe",
	mp.PidTagSentRepresentingAddressType:       "PidTagSentRepresentingAddressType",
	mp.PidTagSentRepresentingEmailAddress:      "PidTagSentRepresentingEmailAddress",
	mp.PidTagConversationTopic:                 "PidTagConversationTopic",
	mp.PidTagConversationIndex:                 "PidTagConversationIndex",
	mp.PidTagReceivedByAddressType:             "PidTagReceivedByAddressType",
	mp.PidTagReceivedByEmailAddress:            "PidTagReceivedByEmailAddress",
	mp.PidTagReceivedRepresentingAddressType:   "PidTagReceivedRepresentingAddressType",
	mp.PidTagReceivedRepresentingEmailAddress:  "PidTagReceivedRepresentingEmailAddress",
	mp.PidTagTransportMessageHeaders:           "PidTagTransportMessageHeaders",
	mp.PidTagRecipientType:                     "PidTagRecipientType",
	mp.PidTagSenderEntryId:                     "PidTagSenderEntryId",
	mp.PidTagSenderName:                        "PidTagSenderName",
	mp.PidTagSenderSearchKey:                   "PidTagSenderSearchKey",
	mp.PidTagSenderAddressType:                 "PidTagSenderAddressType",
	mp.PidTagSenderEmailAddress:                "PidTagSenderEmailAddress",
	mp.PidTagDisplayBcc:                        "PidTagDisplayBcc",
	mp.PidTagDisplayCc:                         "PidTagDisplayCc",
	mp.PidTagDisplayTo:                         "PidTagDisplayTo",
	mp.PidTagMessageDeliveryTime:               "PidTagMessageDeliveryTime",
	mp.PidTagMessageFlags:                      "PidTagMessageFlags",
	mp.PidTagMessageSize:                       "PidTagMessageSize",
	mp.PidTagMessageSizeExtended:               "PidTagMessageSizeExtended",
	mp.PidTagHasAttachments:                    "PidTagHasAttachments",
	mp.PidTagNormalizedSubject:                 "PidTagNormalizedSubject",
	mp.PidTagBody:                              "PidTagBody",
	mp.PidTagRtfCompressed:                     "PidTagRtfCompressed",
	mp.PidTagHtml:                              "PidTagHtml",
	mp.PidTagBodyContentLocation:               "PidTagBodyContentLocation",
	mp.PidTagBodyContentId:                     "PidTagBodyContentId",
	mp.PidTagNativeBody:                        "PidTagNativeBody",
	mp.PidTagInternetMessageId:                 "PidTagInternetMessageId",
	mp.PidTagInternetReferences:                "PidTagInternetReferences",
	mp.PidTagInReplyToId:                       "PidTagInReplyToId",
	mp.PidTagInternetCodepage:                  "PidTagInternetCodepage",
	mp.PidTagSenderSmtpAddress:                 "PidTagSenderSmtpAddress",
	mp.PidTagSentRepresentingSmtpAddress:       "PidTagSentRepresentingSmtpAddress",
	mp.PidTagObjectType:                        "PidTagObjectType",
	mp.PidTagEntryId:                           "PidTagEntryId",
	mp.PidTagRowid:                             "PidTagRowid",
	mp.PidTagDisplayName:                       "PidTagDisplayName",
	mp.PidTagAddressType:                       "PidTagAddressType",
	mp.PidTagEmailAddress:                      "PidTagEmailAddress",
	mp.PidTagCreationTime:                      "PidTagCreationTime",
	mp.PidTagLastModificationTime:              "PidTagLastModificationTime",
	mp.PidTagSearchKey:                         "PidTagSearchKey",
	mp.PidTagRecordKey:                         "PidTagRecordKey",
	mp.PidTagAttachSize:                        "PidTagAttachSize",
	mp.PidTagAttachNumber:                      "PidTagAttachNumber",
	mp.PidTagAttachDataBinary:                  "PidTagAttachDataBinary",
	mp.PidTagAttachExtension:                   "PidTagAttachExtension",
	mp.PidTagAttachFilename:                    "PidTagAttachFilename",
	mp.PidTagAttachMethod:                      "PidTagAttachMethod",
	mp.PidTagAttachLongFilename:                "PidTagAttachLongFilename",
	mp.PidTagRenderingPosition:                 "PidTagRenderingPosition",
	mp.PidTagAttachMimeTag:                     "PidTagAttachMimeTag",
	mp.PidTagAttachContentBase:                 "PidTagAttachContentBase",
	mp.PidTagAttachContentId:                   "PidTagAttachContentId",
	mp.PidTagAttachContentLocation:             "PidTagAttachContentLocation",
	mp.PidTagAttachFlags:                       "PidTagAttachFlags",
	mp.PidTagDisplayType:                       "PidTagDisplayType",
	mp.PidTagSmtpAddress:                       "PidTagSmtpAddress",
	mp.PidTagTransmittableDisplayName:          "PidTagTransmittableDisplayName",
	mp.PidTagSendRichInfo:                      "PidTagSendRichInfo",
	mp.PidTagRecipientOrder:                    "PidTagRecipientOrder",
	mp.PidTagRecipientDisplayName:              "PidTagRecipientDisplayName",
	mp.PidTagRecipientEntryId:                  "PidTagRecipientEntryId",
	mp.PidTagRecipientFlags:                    "PidTagRecipientFlags",
	mp.PidTagComment:                           "PidTagComment",
	PidTagNonDeliveryReportReasonCode:          "PidTagNonDeliveryReportReasonCode",
	PidTagNonDeliveryReportDiagCode:            "PidTagNonDeliveryReportDiagCode",
	PidTagNonReceiptNotificationRequested:      "PidTagNonReceiptNotificationRequested",
	PidTagSupplementaryInfo:                    "PidTagSupplementaryInfo",
	PidTagNonDeliveryReportStatusCode:          "PidTagNonDeliveryReportStatusCode",
	PidTagRemoteMessageTransferAgent:           "PidTagRemoteMessageTransferAgent",
	PidTagReportingMessageTransferAgent:        "PidTagReportingMessageTransferAgent",
	PidTagReportText:                           "PidTagReportText",
	PidTagReportTime:                           "PidTagReportTime",
	PidTagOriginalMessageClass:                 "PidTagOriginalMessageClass",
	PidTagReadReceiptSearchKey:                 "PidTagReadReceiptSearchKey",
	PidTagReadReceiptAddressType:               "PidTagReadReceiptAddressType",
	PidTagReadReceiptEmailAddress:              "PidTagReadReceiptEmailAddress",
	PidTagReadReceiptName:                      "PidTagReadReceiptName",
	PidTagReadReceiptSmtpAddress:               "PidTagReadReceiptSmtpAddress",
	PidTagReceivedBySmtpAddress:                "PidTagReceivedBySmtpAddress",
	PidTagReceivedRepresentingSmtpAddress:      "PidTagReceivedRepresentingSmtpAddress",
	PidTagListHelp:                             "PidTagListHelp",
	PidTagListSubscribe:                        "PidTagListSubscribe",
	PidTagListUnsubscribe:                      "PidTagListUnsubscribe",
	PidTagAttachmentLinkId:                     "PidTagAttachmentLinkId",
	PidTagAttachmentFlags:                      "PidTagAttachmentFlags",
	PidTagAttachmentHidden:                     "PidTagAttachmentHidden",
	PidTagTextAttachmentCharset:                "PidTagTextAttachmentCharset",
	PidTagResponsibility:                       "PidTagResponsibility",
	PidTagAutoResponseSuppress:                 "PidTagAutoResponseSuppress",
	PidTagMessageLocaleID:                      "PidTagMessageLocaleId",
	PidTagPurportedSenderDomain:                "PidTagPurportedSenderDomain",
}

// TagName returns the canonical name of a tag this package knows, or "".
// String tags are found in either string type.
func TagName(t mp.Tag) string {
	if n, ok := tagNames[t]; ok {
		return n
	}
	switch t.Type() {
	case mp.PtypString8:
		return tagNames[t.WithType(mp.PtypString)]
	}
	return ""
}
