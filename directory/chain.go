package directory

import (
	"context"
	"errors"
	"log/slog"
	"strings"
)

// Chain puts an external directory (LDAP) first and Pochta's own accounts
// beside it: people come from LDAP, a few service accounts (Source "local")
// live in Local. Accounts are always rows of Local (LDAP users are linked
// there), so account ids are one space.
//
// When the external directory is unreachable, what Local alone can answer
// for certain (a local service account's login, an address that resolves
// only to local accounts) is still answered; everything else gets the
// external directory's ErrUnavailable.
type Chain struct {
	primary Directory
	local   *Local
	log     *slog.Logger
}

var _ Directory = (*Chain)(nil)

// NewChain asks primary first and local beside it.
func NewChain(primary Directory, local *Local, logger *slog.Logger) *Chain {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Chain{primary: primary, local: local, log: logger.With("component", "directory", "backend", "chain")}
}

// Authenticate implements Directory: the external directory first, then
// Local, which only accepts accounts with Source "local".
func (c *Chain) Authenticate(ctx context.Context, login, password string) (*Account, error) {
	a, err := c.primary.Authenticate(ctx, login, password)
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, ErrAuthFailed) && !errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	la, lerr := c.local.Authenticate(ctx, login, password)
	if lerr == nil {
		return la, nil
	}
	if errors.Is(err, ErrUnavailable) {
		// The external directory might have accepted this login.
		return nil, err
	}
	return nil, lerr
}

// Resolve implements Directory: the external directory first; an address
// it does not know is asked of Local (service accounts, local aliases and
// groups).
func (c *Chain) Resolve(ctx context.Context, address string) (*Resolution, error) {
	r, err := c.primary.Resolve(ctx, address)
	if err == nil && r.Kind != Unknown {
		return r, nil
	}
	if err != nil && !errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	lr, lerr := c.local.Resolve(ctx, address)
	if lerr != nil {
		if err != nil {
			return nil, err
		}
		return nil, lerr
	}
	if err != nil {
		// Only an answer made of local accounts alone is certain without
		// the external directory (it might also know the address).
		if lr.Kind == Unknown || len(lr.External) > 0 {
			return nil, err
		}
		for _, a := range lr.Accounts {
			if a.Source != "local" {
				return nil, err
			}
		}
	}
	return lr, nil
}

// Account implements Directory.
func (c *Chain) Account(ctx context.Context, id int64) (*Account, error) {
	a, err := c.local.Account(ctx, id)
	if err != nil || a.Source == "local" {
		return a, err
	}
	return c.primary.Account(ctx, id)
}

// Addresses implements Directory.
func (c *Chain) Addresses(ctx context.Context, accountID int64) ([]string, error) {
	a, err := c.local.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.Source == "local" {
		return c.local.Addresses(ctx, accountID)
	}
	return c.primary.Addresses(ctx, accountID)
}

// IsLocalDomain implements Directory: a domain of either.
func (c *Chain) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	if ok, err := c.local.IsLocalDomain(ctx, domain); err != nil || ok {
		return ok, err
	}
	return c.primary.IsLocalDomain(ctx, domain)
}

// SearchGAL implements Directory: both lists merged in one order; Local
// contributes its own accounts (Source "local") and groups, the external
// directory everyone else. Both take the same cursor (the last entry's
// sort name and address), so one cursor pages the merged list.
func (c *Chain) SearchGAL(ctx context.Context, query string, limit int, cursor string) ([]Entry, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	pe, pnext, err := c.primary.SearchGAL(ctx, query, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	le, lnext, err := c.local.searchGAL(ctx, query, limit, cursor, "local")
	if err != nil {
		return nil, "", err
	}
	seen := make(map[string]bool, len(pe))
	merged := make([]Entry, 0, len(pe)+len(le))
	for _, e := range pe {
		seen[e.Address] = true
		merged = append(merged, e)
	}
	for _, e := range le {
		if !seen[e.Address] {
			merged = append(merged, e)
		}
	}
	SortEntries(merged)
	more := len(merged) > limit || pnext != "" || lnext != ""
	if len(merged) > limit {
		merged = merged[:limit]
	}
	next := ""
	if more && len(merged) > 0 {
		last := merged[len(merged)-1]
		next = strings.ToLower(EntrySortName(last)) + "\x00" + last.Address
	}
	return merged, next, nil
}

// Health implements Directory: both must answer.
func (c *Chain) Health(ctx context.Context) error {
	if err := c.local.Health(ctx); err != nil {
		return err
	}
	return c.primary.Health(ctx)
}
