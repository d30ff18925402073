package mapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/pochta/pochta/directory"
)

// LegacyDN (ESSDN) is the X.500-style distinguished name Exchange clients
// use to name a mailbox user: Autodiscover hands it out (User/LegacyDN),
// the client sends it back as UserDn in Connect (MS-OXCMAPIHTTP 2.2.4.1.1)
// and as Essdn in RopLogon (MS-OXCSTOR 2.2.1.1.1), and the address book
// returns it as the PidTagEmailAddress of "EX" entries (MS-OXNSPI). One
// format is used everywhere:
//
//	/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=<account id hex>-<local part>
//
// The account id makes the DN stable across renames of the address; the
// local part is only there for people reading logs. ESSDNs travel as 8-bit
// ASCII strings, so the local part is reduced to a safe ASCII subset.

// Organization is the o= component of every DN this server makes.
const Organization = "Pochta"

// AdminGroup is the ou= component Exchange 2007 and later use for every
// object: the "FYDIBOHF23SPDLT" suffix is what clients expect to see.
const AdminGroup = "Exchange Administrative Group (FYDIBOHF23SPDLT)"

// orgPrefix is the DN of the administrative group.
const orgPrefix = "/o=" + Organization + "/ou=" + AdminGroup

// recipientsPrefix starts every user DN.
const recipientsPrefix = orgPrefix + "/cn=Recipients/cn="

// LegacyDN returns the ESSDN of an account. It has the signature of
// rop.Options.LegacyDN.
func LegacyDN(acc *directory.Account) string {
	local, _, _ := strings.Cut(acc.Address, "@")
	return recipientsPrefix + strconv.FormatInt(acc.ID, 16) + "-" + dnSafe(local)
}

// ParseLegacyDN returns the account id named by a user ESSDN made by
// LegacyDN. The comparison is case-insensitive, as ESSDNs are (MS-OXNSPI
// 2.2.9: DNs are compared without regard to case). The organization and
// local-part components are not checked: the id alone names the account,
// so a DN stays valid after a rename.
func ParseLegacyDN(dn string) (accountID int64, ok bool) {
	lower := strings.ToLower(dn)
	// The org may differ in case or name (an older deployment); find the
	// recipients container instead of comparing the whole prefix.
	const container = "/ou=" + AdminGroup + "/cn=recipients/cn="
	if !strings.HasPrefix(lower, "/o=") {
		return 0, false
	}
	i := strings.Index(lower, strings.ToLower(container))
	if i < 0 || strings.Contains(lower[3:i], "/") {
		return 0, false
	}
	last := lower[i+len(container):]
	if strings.Contains(last, "/") {
		return 0, false
	}
	hexID, _, found := strings.Cut(last, "-")
	if !found || hexID == "" || len(hexID) > 16 {
		return 0, false
	}
	id, err := strconv.ParseUint(hexID, 16, 63)
	if err != nil || id == 0 {
		return 0, false
	}
	return int64(id), true
}

// AccountByLegacyDN returns a function mapping a user ESSDN to its
// account through dir (rop.Options.AccountByLegacyDN): directory.ErrNotFound
// for a DN that is not one of ours.
func AccountByLegacyDN(dir directory.Directory) func(ctx context.Context, dn string) (*directory.Account, error) {
	return func(ctx context.Context, dn string) (*directory.Account, error) {
		id, ok := ParseLegacyDN(dn)
		if !ok {
			return nil, fmt.Errorf("mapi: %s: %w", describeDN(dn), directory.ErrNotFound)
		}
		return dir.Account(ctx, id)
	}
}

// ServerLegacyDN is the DN of this server's configuration object, used
// where Exchange names a server (store entry ids, PidTagHomeServer-style
// properties, NSPI).
func ServerLegacyDN(hostname string) string {
	return orgPrefix + "/cn=Configuration/cn=Servers/cn=" + dnSafe(hostname)
}

// MailboxStoreLegacyDN is the DN of the private mailbox database on this
// server (the MdbDN of Exchange).
func MailboxStoreLegacyDN(hostname string) string {
	return ServerLegacyDN(hostname) + "/cn=Microsoft Private MDB"
}

// dnSafe keeps the characters of an RFC 5322 dot-atom that are printable
// ASCII and not "/" (the DN separator); anything else becomes "_".
func dnSafe(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case strings.ContainsRune(".-_+=!#$%&'*?^`{|}~", c):
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// describeDN is for logs: a DN is client input and may be anything.
func describeDN(dn string) string {
	if len(dn) > 200 {
		dn = dn[:200] + "…"
	}
	return fmt.Sprintf("%q", dn)
}
