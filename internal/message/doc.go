// Package message parses Internet mail (RFC 5322 with MIME, RFC 2045-2049)
// once, at ingest, into a tree of parts that records byte offsets into the
// raw message instead of copies of it.
//
// The raw message is stored byte-exact; the Parsed result is stored beside
// it with Marshal. Every door then answers from the two without parsing
// again:
//
//   - IMAP FETCH: ENVELOPE from Parsed.Envelope (raw values, as RFC 3501
//     wants them) or Envelope.IMAP; BODYSTRUCTURE from Part.IMAPBodyStructure;
//     BODY[section]<partial> by PartByPath and slicing raw with
//     HeaderStart/BodyStart/End (n.MIME is the part's header, n.HEADER and
//     n.TEXT of a message/rfc822 part are those of Part.Embedded());
//     BINARY with DecodeBody.
//   - POP3 TOP: the header is raw[:Root.BodyStart].
//   - MAPI and the webmail: the promoted columns, TextBody, HTMLBody,
//     Attachments and DecodeBody.
//
// Parse never fails and never panics. Malformed mail (bare LF line ends,
// missing headers or header/body separator, missing or wrong boundaries,
// unclosed multiparts, 8-bit header junk, unknown charsets, absurd nesting)
// is parsed as well as possible and described in Parsed.Warnings. Nesting
// deeper than MaxDepth and trees with more than MaxParts parts are cut off
// (the rest is opaque), so hostile input costs time linear in its size.
//
// Boundary scanning is a single pass over the message: a line is checked
// against the delimiters of every enclosing multipart, so an inner
// multipart that never closes ends at its parent's next delimiter (RFC 2046
// §5.1.2). The line end before a delimiter belongs to the delimiter, so
// part sizes match what go-message, go-imap and Dovecot report.
//
// Header fields, addresses and charsets follow go-message's conventions
// (go-message/charset converts charsets; go-imap's imapserver extraction is
// the test oracle), with a lenient parser of our own where go-message gives
// up: parameter lists with RFC 2231 continuations and junk, address lists
// with groups and obsolete routes, and dates in the shapes seen in the wild.
package message
