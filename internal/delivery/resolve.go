package delivery

import (
	"context"
	"fmt"
	"strings"

	"github.com/pochta/pochta/directory"
)

// RouteKind says where mail for an address goes.
type RouteKind int

const (
	// RouteUnknown: the domain is ours but nobody receives mail for the
	// address (SMTP answers 550 5.1.1).
	RouteUnknown RouteKind = iota
	// RouteLocal: one or more local accounts receive it (an account, an
	// alias, or a group with its members expanded).
	RouteLocal
	// RouteRemote: the domain is not ours; the message is queued.
	RouteRemote
)

func (k RouteKind) String() string {
	switch k {
	case RouteLocal:
		return "local"
	case RouteRemote:
		return "remote"
	}
	return "unknown"
}

// Route is the answer to "where does mail for this address go".
type Route struct {
	// Address is the normalised address (lower-case).
	Address string
	Kind    RouteKind
	// Accounts receive a copy (RouteLocal). Disabled accounts are left out.
	Accounts []directory.Account
	// External lists members of a local group outside the local domains;
	// they are queued with the group as their original recipient.
	External []string
	// Group is true when the address is a distribution group.
	Group bool
	// Disabled is true when every account the address names is disabled.
	Disabled bool
}

// SplitAddress returns the local part and the lower-cased domain of an
// envelope address; ok is false without a usable "@".
func SplitAddress(addr string) (local, domain string, ok bool) {
	local, domain, ok = directory.SplitAddress(addr)
	if !ok {
		return "", "", false
	}
	return local, strings.ToLower(domain), true
}

// IsAddressLiteral tells whether a domain is an RFC 5321 §4.1.3 address
// literal such as [192.0.2.1] or [IPv6:2001:db8::1].
func IsAddressLiteral(domain string) bool {
	return strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]")
}

// Route resolves one envelope recipient through the directory. A directory
// that cannot answer gives an error wrapping directory.ErrUnavailable (the
// caller answers temporarily, never "no such user").
func (d *Deliverer) Route(ctx context.Context, addr string) (*Route, error) {
	norm := directory.NormalizeAddress(addr)
	_, domain, ok := SplitAddress(norm)
	if !ok {
		return nil, fmt.Errorf("delivery: %q is not an address: %w", addr, directory.ErrInvalid)
	}
	r := &Route{Address: norm}
	if IsAddressLiteral(domain) {
		r.Kind = RouteRemote
		return r, nil
	}
	local, err := d.dir.IsLocalDomain(ctx, domain)
	if err != nil {
		return nil, fmt.Errorf("delivery: is %s local: %w", domain, err)
	}
	if !local {
		r.Kind = RouteRemote
		return r, nil
	}
	res, err := d.dir.Resolve(ctx, norm)
	if err != nil {
		return nil, fmt.Errorf("delivery: resolving %s: %w", norm, err)
	}
	r.Group = res.Kind == directory.KindGroup
	r.External = res.External
	disabled := 0
	for _, a := range res.Accounts {
		if a.Disabled {
			disabled++
			continue
		}
		r.Accounts = append(r.Accounts, a)
	}
	switch {
	case res.Kind == directory.Unknown:
		r.Kind = RouteUnknown
	case len(r.Accounts) > 0 || len(r.External) > 0:
		r.Kind = RouteLocal
	case disabled > 0:
		r.Kind, r.Disabled = RouteUnknown, true
	default:
		// An empty group: accepted and delivered to nobody, as Exchange does.
		r.Kind = RouteLocal
	}
	return r, nil
}
