// Package directory answers who is who: who is this login (Authenticate),
// who receives mail for this address (Resolve), and who matches this text
// (the global address list). Local keeps accounts in its own tables on the
// shared database; an LDAP implementation sits behind the same interface.
package directory

import (
	"context"
	"errors"
	"strings"
)

// Errors callers match with errors.Is.
var (
	// ErrAuthFailed: wrong login or password, disabled account. Deliberately
	// one error for all of them, so doors cannot leak which.
	ErrAuthFailed = errors.New("directory: authentication failed")
	ErrNotFound   = errors.New("directory: not found")
	ErrExists     = errors.New("directory: already exists")
	// ErrUnavailable: the directory cannot answer now (LDAP down). Doors turn
	// it into a temporary answer, never into "no such user".
	ErrUnavailable = errors.New("directory: temporarily unavailable")
	// ErrReadOnly: the entry is owned by an external directory.
	ErrReadOnly = errors.New("directory: read-only entry")
	ErrInvalid  = errors.New("directory: invalid value")
)

// Account is a person (or service) that has a mailbox.
type Account struct {
	ID          int64
	Address     string // primary address, lower-case
	DisplayName string
	Disabled    bool
	// Source is "local" or "ldap"; ldap accounts are read-only here.
	Source string
	// ExternalID links an LDAP entry (entryUUID/objectGUID) to the account.
	ExternalID string
	// Address-book attributes.
	Title, Department, Phone, Office, Company string
}

// Domain returns the domain of the primary address.
func (a *Account) Domain() string {
	_, d, _ := strings.Cut(a.Address, "@")
	return d
}

// ResolutionKind says what an address is.
type ResolutionKind int

const (
	Unknown ResolutionKind = iota
	KindAccount
	KindGroup
)

// Resolution is what an address resolves to: the accounts that receive mail
// for it (one for an account or alias, the expanded members for a group).
type Resolution struct {
	Kind     ResolutionKind
	Accounts []Account
	// External lists group members outside the local domains (forwarded).
	External []string
}

// Entry is one row of the global address list.
type Entry struct {
	AccountID                                 int64 // 0 for groups
	Address                                   string
	DisplayName                               string
	IsGroup                                   bool
	Title, Department, Phone, Office, Company string
}

// Directory is what every door asks.
type Directory interface {
	// Authenticate checks a login (an address or a bare user name) and a
	// password. ErrAuthFailed for any refusal; ErrUnavailable when it cannot tell.
	Authenticate(ctx context.Context, login, password string) (*Account, error)
	// Resolve says who receives mail for an address. Unknown addresses give
	// Kind Unknown and no error.
	Resolve(ctx context.Context, address string) (*Resolution, error)
	// Account returns an account by id.
	Account(ctx context.Context, id int64) (*Account, error)
	// Addresses returns every address an account may send as (primary first).
	Addresses(ctx context.Context, accountID int64) ([]string, error)
	// IsLocalDomain tells whether mail for a domain is ours.
	IsLocalDomain(ctx context.Context, domain string) (bool, error)
	// SearchGAL returns address-list entries whose name or address starts
	// with query (all when empty), ordered by display name, after the cursor
	// (an opaque value from the previous page; "" for the first).
	SearchGAL(ctx context.Context, query string, limit int, cursor string) (entries []Entry, next string, err error)
	// Health reports whether the directory can answer.
	Health(ctx context.Context) error
}

// NormalizeAddress lower-cases an address and trims spaces. The local part
// is case-insensitive here, as users expect, although RFC 5321 lets it be
// case-sensitive.
func NormalizeAddress(addr string) string {
	return strings.ToLower(strings.TrimSpace(addr))
}

// SplitAddress returns local part and domain; ok is false unless there is
// exactly one usable "@".
func SplitAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}
