package directory

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// LDAP is the directory kept in an LDAP server (OpenLDAP, Active
// Directory). It searches with a service account, checks passwords by
// binding as the user, and links every LDAP user to an account row of
// Local by the entry's unique id, so the user has a stable account id (and
// mailbox) even when the entry is renamed or its address changes.
//
// When the server cannot be reached every call fails with an error
// wrapping ErrUnavailable (cached lookups excepted), never with "not
// found"; the next call after the server is back succeeds.
type LDAP struct {
	opts     LDAPOptions
	local    *Local
	log      *slog.Logger
	svc      *ldapPool // service-bound connections for searches
	auth     *ldapPool // connections for password binds only
	cache    *ldapCache
	galCache *ldapCache // whole result lists, so far fewer of them
	baseDN   *ldap.DN
	down     atomic.Bool
	userAttr []string
	grpAttr  []string
	// loginAttrs are LoginAttributes and the mail attribute: a user can
	// always log in with the primary address.
	loginAttrs []string
}

var _ Directory = (*LDAP)(nil)

// NewLDAP makes an LDAP directory. It does not connect: the first call
// does, so Pochta starts while the directory is down.
func NewLDAP(opts LDAPOptions) (*LDAP, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &LDAP{opts: o, local: o.Local, log: o.Logger.With("component", "directory", "backend", "ldap"),
		cache: newLDAPCache(o.CacheTTL, 20000), galCache: newLDAPCache(o.CacheTTL, 64)}
	if d.baseDN, err = ldap.ParseDN(o.BaseDN); err != nil {
		return nil, fmt.Errorf("%w: LDAP base DN: %v", ErrInvalid, err)
	}
	d.svc = newLDAPPool(d, o.PoolSize, true)
	d.auth = newLDAPPool(d, o.PoolSize, false)
	a := o.Attributes
	d.loginAttrs = nonEmpty(append(slices.Clone(o.LoginAttributes), a.Mail)...)
	d.userAttr = nonEmpty("cn", "sn", "givenName", a.Mail, a.Aliases, a.DisplayName, a.Title, a.Department, a.Phone, a.Office, a.Company, a.UniqueID)
	d.grpAttr = nonEmpty("cn", a.Mail, a.Aliases, a.DisplayName, a.UniqueID, o.GroupMemberAttribute, o.GroupMemberUIDAttribute)
	return d, nil
}

func nonEmpty(ss ...string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Close closes the pooled connections.
func (d *LDAP) Close() error {
	d.svc.close()
	d.auth.close()
	return nil
}

// PurgeCache forgets cached lookups, so changes made in LDAP show at once.
func (d *LDAP) PurgeCache() {
	d.cache.purge()
	d.galCache.purge()
}

// ldapUser is what Pochta reads of a user entry.
type ldapUser struct {
	dn, externalID                                         string
	mail                                                   string
	aliases                                                []string
	displayName, title, department, phone, office, company string
}

// ldapGroup is what Pochta reads of a group entry.
type ldapGroup struct {
	dn, mail, displayName string
	aliases               []string
	members, memberUIDs   []string
}

// Filters are built from configured filters (trusted) and values that went
// through ldap.EscapeFilter (RFC 4515 3); nothing else goes into one.

func eqFilter(attr, value string) string { return "(" + attr + "=" + ldap.EscapeFilter(value) + ")" }

// prefixFilter matches values starting with value.
func prefixFilter(attr, value string) string {
	return "(" + attr + "=" + ldap.EscapeFilter(value) + "*)"
}

func andFilter(parts ...string) string {
	parts = nonEmpty(parts...)
	if len(parts) == 1 {
		return parts[0]
	}
	return "(&" + strings.Join(parts, "") + ")"
}

func orFilter(parts ...string) string {
	parts = nonEmpty(parts...)
	if len(parts) == 1 {
		return parts[0]
	}
	return "(|" + strings.Join(parts, "") + ")"
}

// addressFilter matches entries whose primary or alias address is addr.
func (d *LDAP) addressFilter(addr string) string {
	f := []string{eqFilter(d.opts.Attributes.Mail, addr)}
	if d.opts.Attributes.Aliases != "" {
		f = append(f, eqFilter(d.opts.Attributes.Aliases, d.opts.AliasPrefix+addr))
	}
	return orFilter(f...)
}

// loginFilter matches user entries whose login attributes (or primary
// address) equal login.
func (d *LDAP) loginFilter(login string) string {
	var f []string
	for _, a := range d.loginAttrs {
		f = append(f, eqFilter(a, login))
	}
	return andFilter(d.opts.UserFilter, orFilter(f...))
}

// externalIDFilter matches the entry with a unique id (see externalID).
func (d *LDAP) externalIDFilter(id string) (string, bool) {
	raw := id
	if h, ok := strings.CutPrefix(id, "hex:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil {
			return "", false
		}
		raw = string(b)
	}
	return eqFilter(d.opts.Attributes.UniqueID, raw), true
}

// externalID turns a unique id value into the string kept with the
// account: text ids (entryUUID) as they are, binary ones (objectGUID), and
// text that itself starts with "hex:", as "hex:" and their hex digits.
func externalID(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	if strings.HasPrefix(string(raw), "hex:") {
		return "hex:" + hex.EncodeToString(raw)
	}
	for _, c := range raw {
		if c < 0x21 || c > 0x7e {
			return "hex:" + hex.EncodeToString(raw)
		}
	}
	return string(raw)
}

// parseAliases returns the addresses in alias values: with a prefix (AD
// "smtp:"), only prefixed values count and the prefix is dropped (an
// upper-case "SMTP:" marks the primary, which is an address too).
func parseAliases(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if prefix != "" {
			if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
				continue
			}
			v = v[len(prefix):]
		}
		v = NormalizeAddress(v)
		if ValidAddress(v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (d *LDAP) userFromEntry(e *ldap.Entry) *ldapUser {
	a := d.opts.Attributes
	get := func(attr string) string {
		if attr == "" {
			return ""
		}
		return strings.TrimSpace(e.GetEqualFoldAttributeValue(attr))
	}
	u := &ldapUser{dn: e.DN, mail: NormalizeAddress(get(a.Mail)), displayName: get(a.DisplayName), title: get(a.Title),
		department: get(a.Department), phone: get(a.Phone), office: get(a.Office), company: get(a.Company)}
	if u.displayName == "" {
		u.displayName = get("cn")
	}
	u.externalID = externalID(e.GetEqualFoldRawAttributeValue(a.UniqueID))
	if a.Aliases != "" {
		aliases := parseAliases(e.GetEqualFoldAttributeValues(a.Aliases), d.opts.AliasPrefix)
		if u.mail == "" && len(aliases) > 0 {
			u.mail = aliases[0]
		}
		for _, al := range aliases {
			if al != u.mail {
				u.aliases = append(u.aliases, al)
			}
		}
	}
	if !ValidAddress(u.mail) {
		u.mail = ""
	}
	return u
}

func (d *LDAP) groupFromEntry(e *ldap.Entry) *ldapGroup {
	a := d.opts.Attributes
	g := &ldapGroup{dn: e.DN, mail: NormalizeAddress(e.GetEqualFoldAttributeValue(a.Mail))}
	if a.DisplayName != "" {
		g.displayName = strings.TrimSpace(e.GetEqualFoldAttributeValue(a.DisplayName))
	}
	if g.displayName == "" {
		g.displayName = strings.TrimSpace(e.GetEqualFoldAttributeValue("cn"))
	}
	if a.Aliases != "" {
		for _, al := range parseAliases(e.GetEqualFoldAttributeValues(a.Aliases), d.opts.AliasPrefix) {
			if g.mail == "" {
				g.mail = al
			} else if al != g.mail {
				g.aliases = append(g.aliases, al)
			}
		}
	}
	if d.opts.GroupMemberAttribute != "" {
		g.members = e.GetEqualFoldAttributeValues(d.opts.GroupMemberAttribute)
	}
	if d.opts.GroupMemberUIDAttribute != "" {
		g.memberUIDs = e.GetEqualFoldAttributeValues(d.opts.GroupMemberUIDAttribute)
	}
	return g
}

// oneUser searches users and returns the single match, nil for none. More
// than one match for an address is a directory error: the first by DN is
// taken and the ambiguity logged.
func (d *LDAP) oneUser(ctx context.Context, filter, what string) (*ldapUser, error) {
	es, err := d.search(ctx, d.opts.BaseDN, ldap.ScopeWholeSubtree, filter, d.userAttr, 0)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, nil
	}
	if len(es) > 1 {
		slices.SortFunc(es, func(a, b *ldap.Entry) int { return strings.Compare(a.DN, b.DN) })
		d.log.Warn("ldap: several user entries match; using the first", "lookup", what, "first", es[0].DN, "count", len(es))
	}
	return d.userFromEntry(es[0]), nil
}

// userByAddress finds the user whose primary or alias address is addr.
func (d *LDAP) userByAddress(ctx context.Context, addr string) (*ldapUser, error) {
	return cached(d.cache, "ua\x00"+addr, func() (*ldapUser, error) {
		return d.oneUser(ctx, andFilter(d.opts.UserFilter, d.addressFilter(addr)), "address")
	})
}

// userByExternalID finds the user with a unique id.
func (d *LDAP) userByExternalID(ctx context.Context, id string) (*ldapUser, error) {
	f, ok := d.externalIDFilter(id)
	if !ok {
		return nil, nil
	}
	return cached(d.cache, "ux\x00"+id, func() (*ldapUser, error) {
		return d.oneUser(ctx, andFilter(d.opts.UserFilter, f), "unique id")
	})
}

// userByUID finds the user a posixGroup memberUid names.
func (d *LDAP) userByUID(ctx context.Context, uid string) (*ldapUser, error) {
	return cached(d.cache, "uu\x00"+uid, func() (*ldapUser, error) {
		return d.oneUser(ctx, andFilter(d.opts.UserFilter, eqFilter(d.opts.LoginAttributes[0], uid)), "memberUid")
	})
}

// groupByAddress finds the group whose address is addr.
func (d *LDAP) groupByAddress(ctx context.Context, addr string) (*ldapGroup, error) {
	return cached(d.cache, "ga\x00"+addr, func() (*ldapGroup, error) {
		es, err := d.search(ctx, d.opts.GroupBaseDN, ldap.ScopeWholeSubtree, andFilter(d.opts.GroupFilter, d.addressFilter(addr)), d.grpAttr, 0)
		if err != nil || len(es) == 0 {
			return nil, err
		}
		if len(es) > 1 {
			slices.SortFunc(es, func(a, b *ldap.Entry) int { return strings.Compare(a.DN, b.DN) })
			d.log.Warn("ldap: several groups have one address; using the first", "first", es[0].DN, "count", len(es))
		}
		return d.groupFromEntry(es[0]), nil
	})
}

// dnEntry is a member DN read: a user, a group or neither. A user-like
// entry outside BaseDN (a contact) is not a user: only its address counts.
type dnEntry struct {
	user    *ldapUser
	contact bool
	group   *ldapGroup
}

// underBase tells whether dn is in the user subtree.
func (d *LDAP) underBase(dn string) bool {
	pdn, err := ldap.ParseDN(dn)
	return err == nil && (d.baseDN.EqualFold(pdn) || d.baseDN.AncestorOfFold(pdn))
}

// entryByDN reads a member DN as a user or else as a group.
func (d *LDAP) entryByDN(ctx context.Context, dn string) (dnEntry, error) {
	return cached(d.cache, "dn\x00"+dn, func() (dnEntry, error) {
		es, err := d.search(ctx, dn, ldap.ScopeBaseObject, d.opts.UserFilter, d.userAttr, 0)
		if err != nil {
			return dnEntry{}, err
		}
		if len(es) == 1 {
			return dnEntry{user: d.userFromEntry(es[0]), contact: !d.underBase(dn)}, nil
		}
		es, err = d.search(ctx, dn, ldap.ScopeBaseObject, d.opts.GroupFilter, d.grpAttr, 0)
		if err != nil {
			return dnEntry{}, err
		}
		if len(es) == 1 {
			return dnEntry{group: d.groupFromEntry(es[0])}, nil
		}
		return dnEntry{}, nil
	})
}

// disabled tells whether the entry at dn matches DisabledFilter.
func (d *LDAP) disabled(ctx context.Context, dn string) (bool, error) {
	if d.opts.DisabledFilter == "" {
		return false, nil
	}
	es, err := d.search(ctx, dn, ldap.ScopeBaseObject, d.opts.DisabledFilter, []string{"1.1"}, 0)
	if err != nil {
		return false, err
	}
	return len(es) > 0, nil
}

// maxLoginLen bounds login names; longer ones are refused unsent.
const maxLoginLen = 256

// Authenticate implements Directory: the login (any LoginAttributes value)
// is looked up with the service account, then the password is checked by
// binding as the entry's DN. Empty passwords are refused before anything is
// sent (a simple bind without a password is an unauthenticated bind that
// servers accept, RFC 4513 5.1.2); so are disabled entries and users
// without an address.
func (d *LDAP) Authenticate(ctx context.Context, login, password string) (*Account, error) {
	login = strings.TrimSpace(login)
	if login == "" || password == "" || len(login) > maxLoginLen || !utf8.ValidString(login) || strings.ContainsRune(login, 0) {
		return nil, ErrAuthFailed
	}
	// Not cached: a disabled or removed user must be refused at once.
	es, err := d.search(ctx, d.opts.BaseDN, ldap.ScopeWholeSubtree, d.loginFilter(login), d.userAttr, 2)
	if err != nil {
		return nil, err
	}
	if len(es) != 1 {
		if len(es) > 1 {
			d.log.Warn("ldap: login matches several entries; refused", "first", es[0].DN)
		}
		return nil, ErrAuthFailed
	}
	u := d.userFromEntry(es[0])
	if u.dn == "" {
		return nil, ErrAuthFailed
	}
	off, err := d.disabled(ctx, u.dn)
	if err != nil {
		return nil, err
	}
	if off {
		d.log.Debug("ldap: login refused: account disabled", "dn", u.dn)
		return nil, ErrAuthFailed
	}
	err = d.withConn(ctx, d.auth, func(c *ldap.Conn) error {
		// Bind refuses an empty password itself too (AllowEmptyPassword false).
		return c.Bind(u.dn, password)
	})
	switch {
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInappropriateAuthentication, ldap.ErrorEmptyPassword):
		d.log.Debug("ldap: login refused: bind failed", "dn", u.dn)
		return nil, ErrAuthFailed
	case err != nil:
		return nil, d.unavailable(fmt.Errorf("bind: %w", err))
	}
	if u.mail == "" {
		d.log.Warn("ldap: login refused: the entry has no usable mail address", "dn", u.dn, "attribute", d.opts.Attributes.Mail)
		return nil, ErrAuthFailed
	}
	return d.link(ctx, u)
}

// link returns the account linked to u, creating it on first sight and
// refreshing its address and attributes when they changed in LDAP.
func (d *LDAP) link(ctx context.Context, u *ldapUser) (*Account, error) {
	if u.externalID == "" {
		return nil, fmt.Errorf("directory: ldap entry %s has no %s; cannot link it to an account", u.dn, d.opts.Attributes.UniqueID)
	}
	na := NewAccount{Address: u.mail, DisplayName: u.displayName, Source: "ldap", ExternalID: u.externalID,
		Title: u.title, Department: u.department, Phone: u.phone, Office: u.office, Company: u.company}
	a, err := d.local.AccountByExternalID(ctx, "ldap", u.externalID)
	if errors.Is(err, ErrNotFound) {
		a, err = d.local.AddAccount(ctx, na)
		if errors.Is(err, ErrExists) {
			// Either a concurrent first login linked it, or the address
			// belongs to another account.
			if a2, err2 := d.local.AccountByExternalID(ctx, "ldap", u.externalID); err2 == nil {
				return a2, nil
			}
			d.log.Error("ldap: cannot link entry: its address belongs to another account", "dn", u.dn, "address", u.mail)
			return nil, fmt.Errorf("directory: ldap entry %s: address %s is used by another account: %w", u.dn, u.mail, ErrExists)
		}
		if err == nil {
			d.log.Info("ldap: linked entry to a new account", "dn", u.dn, "account", a.ID, "address", a.Address)
		}
		return a, err
	}
	if err != nil {
		return nil, err
	}
	if a.Address != u.mail || a.DisplayName != strings.TrimSpace(u.displayName) || a.Title != u.title || a.Department != u.department ||
		a.Phone != u.phone || a.Office != u.office || a.Company != u.company {
		if err := d.local.SyncExternal(ctx, a.ID, na); err != nil {
			return nil, fmt.Errorf("directory: refreshing account %d from ldap entry %s: %w", a.ID, u.dn, err)
		}
		a.Address, a.DisplayName, a.Title, a.Department, a.Phone, a.Office, a.Company =
			u.mail, strings.TrimSpace(u.displayName), u.title, u.department, u.phone, u.office, u.company
	}
	return a, nil
}

// Resolve implements Directory: a user's primary or alias address gives
// the user; a group's address gives its members, expanded recursively
// (loops and depth cut), members outside the local domains listed as
// External; user+tag@ falls back to user@; anything else is Unknown.
func (d *LDAP) Resolve(ctx context.Context, address string) (*Resolution, error) {
	addr := NormalizeAddress(address)
	local, domain, ok := SplitAddress(addr)
	if !ok {
		return &Resolution{Kind: Unknown}, nil
	}
	isLocal, err := d.IsLocalDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	if !isLocal {
		return &Resolution{Kind: Unknown}, nil
	}
	x := &expansion{res: &Resolution{}, seen: map[string]bool{}, accounts: map[int64]bool{}, external: map[string]bool{}}
	kind, err := d.resolveAddress(ctx, addr, x)
	if err != nil {
		return nil, err
	}
	if kind == Unknown {
		if base, _, found := strings.Cut(local, "+"); found && base != "" {
			return d.Resolve(ctx, base+"@"+domain)
		}
	}
	x.res.Kind = kind
	return x.res, nil
}

// expansion is the state of one Resolve.
type expansion struct {
	res      *Resolution
	seen     map[string]bool // group DNs already expanded
	accounts map[int64]bool
	external map[string]bool
	inGroup  bool // expanding a group (not resolving one user)
}

func (d *LDAP) resolveAddress(ctx context.Context, addr string, x *expansion) (ResolutionKind, error) {
	u, err := d.userByAddress(ctx, addr)
	if err != nil {
		return Unknown, err
	}
	if u != nil {
		if err := d.addMember(ctx, u, x); err != nil {
			return Unknown, err
		}
		return KindAccount, nil
	}
	g, err := d.groupByAddress(ctx, addr)
	if err != nil {
		return Unknown, err
	}
	if g == nil {
		return Unknown, nil
	}
	return KindGroup, d.expandGroup(ctx, g, x, 0)
}

// addMember adds a user found during resolution: linked to its account
// when its address is in a local domain, listed as external otherwise.
func (d *LDAP) addMember(ctx context.Context, u *ldapUser, x *expansion) error {
	if u.mail == "" {
		d.log.Debug("ldap: member without a mail address skipped", "dn", u.dn)
		return nil
	}
	_, domain, _ := SplitAddress(u.mail)
	isLocal, err := d.IsLocalDomain(ctx, domain)
	if err != nil {
		return err
	}
	if !isLocal {
		if !x.external[u.mail] {
			x.external[u.mail] = true
			x.res.External = append(x.res.External, u.mail)
		}
		return nil
	}
	a, err := d.link(ctx, u)
	if errors.Is(err, ErrExists) && x.inGroup {
		// One member whose address clashes with another account must not
		// stop delivery to the rest of the group; link logged it.
		return nil
	}
	if err != nil {
		return err
	}
	if !x.accounts[a.ID] {
		x.accounts[a.ID] = true
		x.res.Accounts = append(x.res.Accounts, *a)
	}
	return nil
}

// addContact adds a member entry outside the user subtree by its address:
// what that address resolves to when it is local, external otherwise.
func (d *LDAP) addContact(ctx context.Context, u *ldapUser, x *expansion, depth int) error {
	if u.mail == "" {
		return nil
	}
	_, domain, _ := SplitAddress(u.mail)
	isLocal, err := d.IsLocalDomain(ctx, domain)
	if err != nil {
		return err
	}
	if !isLocal {
		if !x.external[u.mail] {
			x.external[u.mail] = true
			x.res.External = append(x.res.External, u.mail)
		}
		return nil
	}
	if depth > maxGroupDepth {
		return nil
	}
	_, err = d.resolveAddress(ctx, u.mail, x)
	return err
}

func (d *LDAP) expandGroup(ctx context.Context, g *ldapGroup, x *expansion, depth int) error {
	x.inGroup = true
	key := strings.ToLower(g.dn)
	if x.seen[key] || depth > maxGroupDepth {
		return nil
	}
	x.seen[key] = true
	if d.opts.MemberOfAttribute != "" {
		memberOf := eqFilter(d.opts.MemberOfAttribute, g.dn)
		users, _, err := d.searchPaged(ctx, d.opts.BaseDN, andFilter(d.opts.UserFilter, memberOf), d.userAttr, 0)
		if err != nil {
			return err
		}
		for _, e := range users {
			if err := d.addMember(ctx, d.userFromEntry(e), x); err != nil {
				return err
			}
		}
		groups, _, err := d.searchPaged(ctx, d.opts.GroupBaseDN, andFilter(d.opts.GroupFilter, memberOf), d.grpAttr, 0)
		if err != nil {
			return err
		}
		for _, e := range groups {
			if err := d.expandGroup(ctx, d.groupFromEntry(e), x, depth+1); err != nil {
				return err
			}
		}
	} else {
		for _, dn := range g.members {
			if x.seen[strings.ToLower(dn)] {
				continue
			}
			e, err := d.entryByDN(ctx, dn)
			if err != nil {
				return err
			}
			switch {
			case e.user != nil && e.contact:
				err = d.addContact(ctx, e.user, x, depth)
			case e.user != nil:
				err = d.addMember(ctx, e.user, x)
			case e.group != nil:
				err = d.expandGroup(ctx, e.group, x, depth+1)
			default:
				d.log.Debug("ldap: group member is neither a user nor a group", "group", g.dn, "member", dn)
			}
			if err != nil {
				return err
			}
		}
	}
	for _, uid := range g.memberUIDs {
		u, err := d.userByUID(ctx, uid)
		if err != nil {
			return err
		}
		if u == nil {
			d.log.Debug("ldap: group memberUid names no user", "group", g.dn, "uid", uid)
			continue
		}
		if err := d.addMember(ctx, u, x); err != nil {
			return err
		}
	}
	return nil
}

// Account implements Directory. An LDAP-linked account is refreshed from
// its entry (found by unique id, so renames do not matter); an entry that
// is gone or disabled gives a Disabled account.
func (d *LDAP) Account(ctx context.Context, id int64) (*Account, error) {
	a, err := d.local.Account(ctx, id)
	if err != nil || a.Source != "ldap" {
		return a, err
	}
	u, err := d.userByExternalID(ctx, a.ExternalID)
	if err != nil {
		return nil, err
	}
	if u == nil || u.mail == "" {
		a.Disabled = true
		return a, nil
	}
	off, err := cached(d.cache, "off\x00"+u.dn, func() (bool, error) { return d.disabled(ctx, u.dn) })
	if err != nil {
		return nil, err
	}
	la, err := d.link(ctx, u)
	if err != nil {
		return nil, err
	}
	la.Disabled = la.Disabled || off
	return la, nil
}

// Addresses implements Directory: an LDAP user's primary address and
// aliases, as the directory has them now.
func (d *LDAP) Addresses(ctx context.Context, accountID int64) ([]string, error) {
	a, err := d.local.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.Source != "ldap" {
		return d.local.Addresses(ctx, accountID)
	}
	u, err := d.userByExternalID(ctx, a.ExternalID)
	if err != nil {
		return nil, err
	}
	if u == nil || u.mail == "" {
		return nil, fmt.Errorf("directory: ldap entry of account %d: %w", accountID, ErrNotFound)
	}
	return append([]string{u.mail}, u.aliases...), nil
}

// IsLocalDomain implements Directory: the configured Domains when there
// are any; otherwise a domain of Pochta's own accounts, or one that a user
// or group address in the directory uses.
func (d *LDAP) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	domain = NormalizeAddress(domain)
	if domain == "" {
		return false, nil
	}
	if len(d.opts.Domains) > 0 {
		return slices.Contains(d.opts.Domains, domain), nil
	}
	if ok, err := d.local.IsLocalDomain(ctx, domain); err != nil || ok {
		return ok, err
	}
	return cached(d.cache, "dom\x00"+domain, func() (bool, error) {
		a := d.opts.Attributes
		// (mail=*@domain): a substring filter whose final part is escaped.
		inDomain := []string{"(" + a.Mail + "=*@" + ldap.EscapeFilter(domain) + ")"}
		if a.Aliases != "" {
			inDomain = append(inDomain, "("+a.Aliases+"="+ldap.EscapeFilter(d.opts.AliasPrefix)+"*@"+ldap.EscapeFilter(domain)+")")
		}
		for _, base := range nonEmpty(d.opts.BaseDN, d.opts.GroupBaseDN) {
			es, err := d.search(ctx, base, ldap.ScopeWholeSubtree,
				andFilter(orFilter(d.opts.UserFilter, d.opts.GroupFilter), orFilter(inDomain...)), []string{"1.1"}, 1)
			if err != nil {
				return false, err
			}
			if len(es) > 0 {
				return true, nil
			}
		}
		return false, nil
	})
}

// Health implements Directory: the base entry can be read.
func (d *LDAP) Health(ctx context.Context) error {
	es, err := d.search(ctx, d.opts.BaseDN, ldap.ScopeBaseObject, "(objectClass=*)", []string{"1.1"}, 0)
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return fmt.Errorf("%w: ldap: base DN %s not found", ErrUnavailable, d.opts.BaseDN)
	}
	return nil
}
