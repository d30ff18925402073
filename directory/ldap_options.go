package directory

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPAttributes names the LDAP attribute that holds each user property.
type LDAPAttributes struct {
	// Mail is the primary address.
	Mail string
	// Aliases holds further addresses of the same mailbox (with
	// LDAPOptions.AliasPrefix, only values carrying that prefix count).
	Aliases     string
	DisplayName string
	Title       string
	Department  string
	Phone       string
	Office      string
	Company     string
	// UniqueID never changes for an entry, even when it is renamed or moved
	// (entryUUID, objectGUID); it links the entry to its account.
	UniqueID string
}

// LDAPOptions configure NewLDAP. Empty filters and attribute names are
// taken from Preset.
type LDAPOptions struct {
	// Preset is "openldap" or "activedirectory"; it fills the filters and
	// attribute names left empty. Empty means "openldap".
	Preset string
	// URLs are tried in order: ldap://host[:port] or ldaps://host[:port].
	URLs []string
	// StartTLS upgrades ldap:// connections before anything is sent.
	StartTLS bool
	// CAFile is a PEM file of CAs trusted for ldaps:// and StartTLS; empty
	// means the system roots. TLSConfig, when set, is used instead.
	CAFile    string
	TLSConfig *tls.Config
	// BindDN and BindPassword are the service account for searches; an
	// empty BindDN means anonymous searches.
	BindDN, BindPassword string
	// BaseDN is the subtree searched for users.
	BaseDN string
	// UserFilter matches user entries, such as (objectClass=inetOrgPerson).
	UserFilter string
	// LoginAttributes are matched against the login name, as is the mail
	// attribute; the first one is also what posixGroup memberUid values name.
	LoginAttributes []string
	Attributes      LDAPAttributes
	// AliasPrefix marks alias values that are mail addresses: "smtp:" for
	// Active Directory proxyAddresses (compared case-insensitively).
	AliasPrefix string
	// DisabledFilter matches user entries that may not log in (locked or
	// disabled accounts). Empty means none are.
	DisabledFilter string
	// GroupBaseDN is the subtree searched for groups; empty means BaseDN.
	GroupBaseDN string
	// GroupFilter matches group (distribution list) entries.
	GroupFilter string
	// GroupMemberAttribute lists member DNs (member).
	GroupMemberAttribute string
	// GroupMemberUIDAttribute lists member login names (posixGroup memberUid).
	GroupMemberUIDAttribute string
	// MemberOfAttribute, when set, expands groups by searching for entries
	// whose MemberOfAttribute names the group (Active Directory memberOf),
	// instead of reading each member DN: two paged searches per group, and
	// no ranged retrieval of very large member lists.
	MemberOfAttribute string
	// Domains are the mail domains this directory serves. Empty means any
	// domain that a user or group address of the directory uses, found by
	// searching, plus the domains of Pochta's own accounts.
	Domains []string
	// Timeout bounds connecting and each request (default 10s).
	Timeout time.Duration
	// CacheTTL is how long lookups are remembered (never password checks);
	// 0 disables the cache.
	CacheTTL time.Duration
	// PoolSize is the number of service-bound connections for searches and,
	// separately, of connections for password binds (default 4).
	PoolSize int
	// PageSize is the RFC 2696 page size of large searches (default 500).
	PageSize int
	// GALMaxEntries bounds the entries one address-list search collects
	// (default 10000).
	GALMaxEntries int
	// Local holds the accounts that LDAP entries are linked to: each LDAP
	// user gets an account (Source "ldap", ExternalID = its unique id) on
	// first login or first delivery, and so a stable account id.
	Local *Local
	// Logger receives operational messages; never passwords.
	Logger *slog.Logger
}

// LDAPPreset returns the filters and attribute names of a directory schema:
//
//   - "openldap": inetOrgPerson users logging in by uid or mail, aliases in
//     mailAlternateAddress, unique id entryUUID, locked accounts are those
//     with a ppolicy pwdAccountLockedTime, groups are groupOfNames (member
//     DNs) and posixGroup (memberUid).
//   - "activedirectory": person/user objects logging in by sAMAccountName,
//     userPrincipalName or mail, aliases in proxyAddresses with an smtp:
//     prefix, unique id objectGUID, disabled by the ACCOUNTDISABLE bit (2)
//     of userAccountControl, group objects expanded through memberOf.
func LDAPPreset(name string) (LDAPOptions, error) {
	switch name {
	case "", "openldap":
		return LDAPOptions{
			UserFilter:      "(objectClass=inetOrgPerson)",
			LoginAttributes: []string{"uid", "mail"},
			Attributes: LDAPAttributes{Mail: "mail", Aliases: "mailAlternateAddress", DisplayName: "displayName",
				Title: "title", Department: "departmentNumber", Phone: "telephoneNumber",
				Office: "physicalDeliveryOfficeName", Company: "o", UniqueID: "entryUUID"},
			// ppolicy: a locked account carries pwdAccountLockedTime. Without
			// the ppolicy overlay the attribute is unknown, the filter is
			// Undefined (RFC 4511 4.5.1.7) and no entry counts as locked.
			DisabledFilter:          "(pwdAccountLockedTime=*)",
			GroupFilter:             "(|(objectClass=groupOfNames)(objectClass=posixGroup))",
			GroupMemberAttribute:    "member",
			GroupMemberUIDAttribute: "memberUid",
		}, nil
	case "activedirectory":
		return LDAPOptions{
			UserFilter:      "(&(objectCategory=person)(objectClass=user))",
			LoginAttributes: []string{"sAMAccountName", "userPrincipalName", "mail"},
			Attributes: LDAPAttributes{Mail: "mail", Aliases: "proxyAddresses", DisplayName: "displayName",
				Title: "title", Department: "department", Phone: "telephoneNumber",
				Office: "physicalDeliveryOfficeName", Company: "company", UniqueID: "objectGUID"},
			AliasPrefix: "smtp:",
			// 1.2.840.113556.1.4.803 is the bitwise-AND matching rule; bit 2
			// of userAccountControl is ACCOUNTDISABLE.
			DisabledFilter:       "(userAccountControl:1.2.840.113556.1.4.803:=2)",
			GroupFilter:          "(objectClass=group)",
			GroupMemberAttribute: "member",
			MemberOfAttribute:    "memberOf",
		}, nil
	}
	return LDAPOptions{}, fmt.Errorf("%w: unknown LDAP preset %q (want openldap or activedirectory)", ErrInvalid, name)
}

// attrName accepts attribute descriptions (names, OIDs, options) only, so a
// configured name can never change the shape of a filter.
var attrName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)(;[A-Za-z0-9-]+)*$`)

// withDefaults fills empty fields from the preset and checks the result.
func (o LDAPOptions) withDefaults() (LDAPOptions, error) {
	p, err := LDAPPreset(o.Preset)
	if err != nil {
		return o, err
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&o.UserFilter, p.UserFilter)
	if len(o.LoginAttributes) == 0 {
		o.LoginAttributes = p.LoginAttributes
	}
	a, pa := &o.Attributes, p.Attributes
	fill(&a.Mail, pa.Mail)
	fill(&a.Aliases, pa.Aliases)
	fill(&a.DisplayName, pa.DisplayName)
	fill(&a.Title, pa.Title)
	fill(&a.Department, pa.Department)
	fill(&a.Phone, pa.Phone)
	fill(&a.Office, pa.Office)
	fill(&a.Company, pa.Company)
	fill(&a.UniqueID, pa.UniqueID)
	fill(&o.AliasPrefix, p.AliasPrefix)
	fill(&o.DisabledFilter, p.DisabledFilter)
	fill(&o.GroupFilter, p.GroupFilter)
	fill(&o.GroupMemberAttribute, p.GroupMemberAttribute)
	fill(&o.GroupMemberUIDAttribute, p.GroupMemberUIDAttribute)
	fill(&o.MemberOfAttribute, p.MemberOfAttribute)
	fill(&o.GroupBaseDN, o.BaseDN)
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 4
	}
	if o.PageSize <= 0 {
		o.PageSize = 500
	}
	if o.GALMaxEntries <= 0 {
		o.GALMaxEntries = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}

	if o.Local == nil {
		return o, fmt.Errorf("%w: LDAP directory needs the local directory to link accounts", ErrInvalid)
	}
	if len(o.URLs) == 0 {
		return o, fmt.Errorf("%w: no LDAP URL", ErrInvalid)
	}
	for _, u := range o.URLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "ldap" && pu.Scheme != "ldaps") || pu.Host == "" {
			return o, fmt.Errorf("%w: LDAP URL %q: want ldap://host[:port] or ldaps://host[:port]", ErrInvalid, u)
		}
	}
	if o.BaseDN == "" {
		return o, fmt.Errorf("%w: LDAP base DN is empty", ErrInvalid)
	}
	for _, dn := range []string{o.BaseDN, o.GroupBaseDN} {
		if _, err := ldap.ParseDN(dn); err != nil {
			return o, fmt.Errorf("%w: LDAP DN %q: %v", ErrInvalid, dn, err)
		}
	}
	if o.BindDN != "" && o.BindPassword == "" {
		// A simple bind with a DN and no password is an unauthenticated
		// bind (RFC 4513 5.1.2): it "succeeds" and proves nothing.
		return o, fmt.Errorf("%w: LDAP bind DN set without a password", ErrInvalid)
	}
	for name, f := range map[string]string{"user filter": o.UserFilter, "group filter": o.GroupFilter, "disabled filter": o.DisabledFilter} {
		if f == "" && name == "disabled filter" {
			continue
		}
		if _, err := ldap.CompileFilter(f); err != nil {
			return o, fmt.Errorf("%w: LDAP %s %q: %v", ErrInvalid, name, f, err)
		}
	}
	names := append([]string{}, o.LoginAttributes...)
	names = append(names, a.Mail, a.UniqueID)
	for _, n := range names {
		if !attrName.MatchString(n) {
			return o, fmt.Errorf("%w: LDAP attribute name %q", ErrInvalid, n)
		}
	}
	for _, n := range []string{a.Aliases, a.DisplayName, a.Title, a.Department, a.Phone, a.Office, a.Company,
		o.GroupMemberAttribute, o.GroupMemberUIDAttribute, o.MemberOfAttribute} {
		if n != "" && !attrName.MatchString(n) {
			return o, fmt.Errorf("%w: LDAP attribute name %q", ErrInvalid, n)
		}
	}
	domains := make([]string, 0, len(o.Domains))
	for _, d := range o.Domains {
		domains = append(domains, NormalizeAddress(d))
	}
	o.Domains = domains
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return o, fmt.Errorf("directory: LDAP CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return o, fmt.Errorf("%w: LDAP CA file %s holds no PEM certificate", ErrInvalid, o.CAFile)
			}
			o.TLSConfig.RootCAs = pool
		}
	}
	o.AliasPrefix = strings.ToLower(o.AliasPrefix)
	return o, nil
}
