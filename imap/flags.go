package imap

import (
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/pochta/pochta/storage"
)

// systemFlags maps IMAP system flags (RFC 9051 §2.3.2) and $Forwarded to
// the store's flag bits. \Recent is not stored: IMAP4rev2 dropped it and
// this server never sets it.
var systemFlags = []struct {
	flag imap.Flag
	bit  storage.Flags
}{
	{imap.FlagSeen, storage.FlagSeen},
	{imap.FlagAnswered, storage.FlagAnswered},
	{imap.FlagFlagged, storage.FlagFlagged},
	{imap.FlagDeleted, storage.FlagDeleted},
	{imap.FlagDraft, storage.FlagDraft},
	{imap.FlagForwarded, storage.FlagForwarded},
}

const flagRecent = imap.Flag(`\Recent`)

// storeFlags splits a client's flag list into the store's bits and
// keywords. An unknown system flag (a backslash flag this server does not
// have) is a client error.
func storeFlags(flags []imap.Flag) (storage.Flags, []string, error) {
	var bits storage.Flags
	var kws []string
next:
	for _, f := range flags {
		for _, sf := range systemFlags {
			if strings.EqualFold(string(f), string(sf.flag)) {
				bits |= sf.bit
				continue next
			}
		}
		if strings.EqualFold(string(f), string(flagRecent)) {
			continue
		}
		if strings.HasPrefix(string(f), `\`) {
			return 0, nil, badError("Unknown system flag " + string(f))
		}
		kws = append(kws, string(f))
	}
	return bits, kws, nil
}

// imapFlags lists a message's flags: system flags first, then keywords.
func imapFlags(bits storage.Flags, keywords string) []imap.Flag {
	out := make([]imap.Flag, 0, 4)
	for _, sf := range systemFlags {
		if bits&sf.bit != 0 {
			out = append(out, sf.flag)
		}
	}
	for _, k := range strings.Fields(keywords) {
		out = append(out, imap.Flag(k))
	}
	return out
}

// mailboxFlags is the FLAGS list of a mailbox: the system flags and every
// keyword in use there.
func mailboxFlags(keywords map[string]struct{}) []imap.Flag {
	out := []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft, imap.FlagForwarded}
	kws := make([]string, 0, len(keywords))
	for k := range keywords {
		if !strings.EqualFold(k, string(imap.FlagForwarded)) {
			kws = append(kws, k)
		}
	}
	slices.Sort(kws)
	for _, k := range kws {
		out = append(out, imap.Flag(k))
	}
	return out
}
