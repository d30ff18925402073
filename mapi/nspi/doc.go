// Package nspi is the address book of MAPI over HTTP: the NSPI request
// and response bodies of the /mapi/nspi/ endpoint (MS-OXCMAPIHTTP 2.2.5,
// with the structures of 2.2.1 and the STAT of MS-OXNSPI 2.2.8) and the
// server that answers them from a directory.Directory (MS-OXNSPI 3.1.4).
//
// The codec works in both directions, for the server (decode a request,
// encode its response) and for clients and tests (encode a request, decode
// the response); every request and response type is a struct implementing
// Message, used with Marshal and Unmarshal. Decoding never panics and never
// reads past its input, whatever the bytes.
//
// The address book has two containers: the Global Address List (container
// MId 0: every person and group SearchGAL lists) and, when the directory
// has groups, a container of distribution lists. Entries are named by
// Minimal Entry IDs (MIds) assigned lazily by address and kept for the life
// of the Server, so a MId stays valid across sessions of one server run.
// Browsing never loads the directory whole per request: the server keeps a
// small census of the GAL (its size, every hundredth entry as a paging
// checkpoint, and the groups), rebuilt when older than CensusTTL, and each
// session keeps a sorted window of the rows around its current position;
// rows come from SearchGAL pages read from the nearest checkpoint.
//
// Entries are named by ESSDNs: an account's LegacyDN (Options.LegacyDN,
// the transport's one format) for people with an account here, and, for
// groups and directory people who never logged in, a DN under the same
// recipients container whose last component is "smtp-" and the address
// in hex, so DNToMId finds any entry again in a later run.
//
// Ambiguous name resolution (MS-OXNSPI 3.1.4.7 leaves the algorithm to the
// server): "=SMTP:address" and text with an "@" are looked up as an
// address, primary or alias; other text matches entries whose display
// name, any word of it, or address starts with it. One match resolves;
// several are ambiguous unless exactly one has the very name, account or
// address typed. PidTagAnr restrictions of GetMatches use the same rule.
//
// The HTTP side (cookies, session contexts, framing, authentication) is
// the transport's (package mapi, mapi.AddressBook): it calls Handle with
// the request type, the authenticated account, the session of the
// request's session context (nil for Bind) and the body.
package nspi
