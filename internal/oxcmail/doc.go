// Package oxcmail converts between Internet mail (RFC 5322 with MIME) and
// MAPI message objects, following MS-OXCMAIL.
//
// A message that arrives as MIME (SMTP, IMAP APPEND, import) is stored
// byte-exact; its MAPI properties are derived from it by InetToMAPI each
// time they are needed and never stored a second time. A message made
// through MAPI keeps its properties as the truth; MAPIToInet renders it to
// MIME for submission, IMAP FETCH and POP3 RETR.
//
// Both directions work on a Message: message-level properties, one property
// set per recipient and one per attachment (an embedded message is a
// Message itself). Attachments derived from MIME do not copy their data:
// Attachment.Reader decodes it from the raw message on demand, so a 50 MB
// attachment costs nothing until a client streams it.
//
// Named properties (X- header fields in PS_INTERNET_HEADERS) are reached
// through the NamedProps interface, which the MAPI layer implements over the
// store's per-mailbox named-property map. Address-book entry ids for the
// organisation's own users come from the optional AddressBook; everyone
// else gets a one-off entry id (MS-OXCDATA 2.2.5.1).
//
// The package imports only internal/message and internal/mapiprop of
// Pochta.
package oxcmail
