// Package oxcmail converts between Internet mail (RFC 5322 with MIME) and
// MAPI message objects, following MS-OXCMAIL.
//
// A message that arrives as MIME (SMTP, IMAP APPEND, import) is stored
// byte-exact; its MAPI properties are derived from it by InetToMAPI each
// time they are needed and never stored a second time. A message made
// through MAPI keeps its properties as the truth; MAPIToInet renders it to
// MIME for submission, IMAP FETCH and POP3 RETR.
//
// Both directions work on a Message: message-level properties (Props, one
// value per property id), one property set per recipient (PidTagRowid =
// index) and one per attachment (PidTagAttachNumber = index); an embedded
// message is a Message itself. Attachments derived from MIME do not copy
// their data: Attachment.Reader decodes it from the raw message on demand,
// so a 50 MB attachment costs nothing until a client streams it.
//
// How the ROP handlers use it:
//
//   - RopOpenMessage/GetPropertiesSpecific/GetPropertiesAll on a stored
//     MIME message: InetToMAPI(ctx, raw, parsed, namedProps, opts), then
//     Props.Get(tag) per requested tag (string types and the
//     PidTagHtml/PidTagBodyHtml pair convert), Props.Values for "all".
//   - RopReadRecipients / RopGetAttachmentTable: Message.Recipients and
//     Attachment.Props; RopOpenAttachment + RopOpenStream on
//     PidTagAttachDataBinary: Attachment.Reader; RopOpenEmbeddedMessage:
//     Attachment.Embedded.
//   - RopSubmitMessage: MAPIToInet(message, opts) for the bytes,
//     Message.Sender and Message.EnvelopeRecipients for the envelope;
//     recipients without an SMTP address (RecipientMailbox reports them)
//     must be resolved first. DisplayRecipients and SplitSubject compute
//     the derived properties of a message saved through MAPI.
//
// Named properties (X- header fields in PS_INTERNET_HEADERS, Keywords in
// PS_PUBLIC_STRINGS) are reached through the NamedProps interface, which
// the MAPI layer implements over the store's per-mailbox named-property
// map. Only well-known header names are created; other X- fields are
// mapped when a client registered their name before, so hostile mail
// cannot exhaust a mailbox's named property ids. Address-book entry ids
// for the organisation's own users come from the optional AddressBook;
// everyone else gets a one-off entry id (MS-OXCDATA 2.2.5.1).
//
// The package imports only internal/message and internal/mapiprop of
// Pochta.
package oxcmail
