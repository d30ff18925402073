package directory

import (
	"context"
	"sort"
	"strings"
)

// galResult is every address-list entry matching one query, sorted as
// SearchGAL pages them, with the unique ids of the users among them.
type galResult struct {
	entries     []Entry
	externalIDs []string // per entry; "" for groups
	truncated   bool
}

// SearchGAL implements Directory. LDAP cannot sort by display name without
// a server-side sort control (RFC 2891) that many servers lack, and an RFC
// 2696 paging cookie is valid only on the connection that got it; so the
// matching entries are collected with paged searches (up to GALMaxEntries),
// sorted here, kept in the cache for CacheTTL, and served page by page with
// the same cursor format as Local (the last entry's sort name and address).
// Users without an address and disabled users are left out.
func (d *LDAP) SearchGAL(ctx context.Context, query string, limit int, cursor string) ([]Entry, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := strings.ToLower(strings.TrimSpace(query))
	all, err := cached(d.galCache, q, func() (*galResult, error) { return d.galSearch(ctx, q) })
	if err != nil {
		return nil, "", err
	}
	start := 0
	if cursor != "" {
		afterName, afterAddr, _ := strings.Cut(cursor, "\x00")
		start = sort.Search(len(all.entries), func(i int) bool {
			e := all.entries[i]
			n := strings.ToLower(EntrySortName(e))
			return n > afterName || (n == afterName && e.Address > afterAddr)
		})
	}
	end := min(start+limit, len(all.entries))
	page := make([]Entry, end-start)
	copy(page, all.entries[start:end])
	// Account ids for the users of this page that already have one.
	var ids []string
	for i := start; i < end; i++ {
		if all.externalIDs[i] != "" {
			ids = append(ids, all.externalIDs[i])
		}
	}
	linked, err := d.local.accountIDsByExternalID(ctx, "ldap", ids)
	if err != nil {
		return nil, "", err
	}
	for i := range page {
		if x := all.externalIDs[start+i]; x != "" {
			page[i].AccountID = linked[x]
		}
	}
	next := ""
	if end < len(all.entries) {
		last := page[len(page)-1]
		next = strings.ToLower(EntrySortName(last)) + "\x00" + last.Address
	}
	return page, next, nil
}

// galMatch matches entries whose name (display name, cn, given name or
// surname) or address starts with q.
func (d *LDAP) galMatch(q string, user bool) string {
	if q == "" {
		return ""
	}
	a := d.opts.Attributes
	f := []string{prefixFilter("cn", q), prefixFilter(a.Mail, q)}
	if a.DisplayName != "" {
		f = append(f, prefixFilter(a.DisplayName, q))
	}
	// Later words of a person's name are found through sn and givenName:
	// an "any" substring such as (displayName=* q*) is not indexed for
	// short queries and doubled the cost of a search.
	if user {
		f = append(f, prefixFilter("sn", q), prefixFilter("givenName", q))
	}
	if a.Aliases != "" {
		f = append(f, prefixFilter(a.Aliases, d.opts.AliasPrefix+q))
	}
	return orFilter(f...)
}

func (d *LDAP) galSearch(ctx context.Context, q string) (*galResult, error) {
	a := d.opts.Attributes
	hasMail := "(" + a.Mail + "=*)"
	if a.Aliases != "" {
		// Entries with only alias addresses (AD: an SMTP: proxyAddress).
		hasMail = orFilter(hasMail, prefixFilter(a.Aliases, d.opts.AliasPrefix))
	}
	users, truncU, err := d.searchPaged(ctx, d.opts.BaseDN, andFilter(d.opts.UserFilter, hasMail, d.galMatch(q, true)), d.userAttr, d.opts.GALMaxEntries)
	if err != nil {
		return nil, err
	}
	// Disabled users are found by a positive search rather than left out
	// with (!filter): a filter on an attribute the server does not know is
	// Undefined, and so is its negation, which would hide everybody.
	off := map[string]bool{}
	if d.opts.DisabledFilter != "" && len(users) > 0 {
		es, _, err := d.searchPaged(ctx, d.opts.BaseDN, andFilter(d.opts.UserFilter, hasMail, d.opts.DisabledFilter, d.galMatch(q, true)), []string{"1.1"}, d.opts.GALMaxEntries)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			off[strings.ToLower(e.DN)] = true
		}
	}
	groups, truncG, err := d.searchPaged(ctx, d.opts.GroupBaseDN, andFilter(d.opts.GroupFilter, hasMail, d.galMatch(q, false)), d.grpAttr, d.opts.GALMaxEntries)
	if err != nil {
		return nil, err
	}
	type row struct {
		e  Entry
		id string
	}
	rows := make([]row, 0, len(users)+len(groups))
	seen := map[string]bool{}
	for _, e := range users {
		if off[strings.ToLower(e.DN)] {
			continue
		}
		u := d.userFromEntry(e)
		if u.mail == "" || seen[u.mail] {
			continue
		}
		seen[u.mail] = true
		rows = append(rows, row{e: Entry{Address: u.mail, DisplayName: u.displayName, Title: u.title, Department: u.department,
			Phone: u.phone, Office: u.office, Company: u.company}, id: u.externalID})
	}
	for _, e := range groups {
		g := d.groupFromEntry(e)
		if g.mail == "" || seen[g.mail] {
			continue
		}
		seen[g.mail] = true
		rows = append(rows, row{e: Entry{Address: g.mail, DisplayName: g.displayName, IsGroup: true}})
	}
	sort.Slice(rows, func(i, j int) bool {
		ni, nj := strings.ToLower(EntrySortName(rows[i].e)), strings.ToLower(EntrySortName(rows[j].e))
		if ni != nj {
			return ni < nj
		}
		return rows[i].e.Address < rows[j].e.Address
	})
	res := &galResult{entries: make([]Entry, len(rows)), externalIDs: make([]string, len(rows)), truncated: truncU || truncG}
	for i, r := range rows {
		res.entries[i], res.externalIDs[i] = r.e, r.id
	}
	if res.truncated {
		d.log.Warn("ldap: address list search reached its limit; narrow the query or raise GALMaxEntries", "limit", d.opts.GALMaxEntries)
	}
	return res, nil
}
