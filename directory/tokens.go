package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
)

// API tokens are the identities of the REST admin API: scripts and
// monitoring, not people. A token is shown once when it is made and only its
// SHA-256 is kept, so a copy of the database does not hand out admin access.
//
// Wire format: "pochta_" + key id (16 hex digits, public, the row's lookup
// key) + "_" + secret (32 random bytes, base64url). The key id lets a check
// find the row without a lookup by secret; the secret's hash is then
// compared in constant time.

// API token scopes.
const (
	// ScopeAdmin may read and change everything the API offers.
	ScopeAdmin = "admin"
	// ScopeRead may only read.
	ScopeRead = "read"
)

const (
	tokenPrefix    = "pochta_"
	tokenKeyIDLen  = 16 // hex digits
	tokenSecretLen = 32 // random bytes
	// MaxTokenNameLen bounds a token's name.
	MaxTokenNameLen = 64
	// tokenTouchEvery is how stale last_used_at may get before a use
	// writes it again, so a busy script does not cost a write per request.
	tokenTouchEvery = time.Minute
)

type dirAPIToken struct {
	ID         int64  `gorm:"primaryKey"`
	Name       string `gorm:"uniqueIndex;not null"`
	KeyID      string `gorm:"uniqueIndex;not null"`
	SecretHash string `gorm:"not null"` // hex SHA-256 of the secret part
	Scope      string `gorm:"not null"`
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

func (dirAPIToken) TableName() string { return "dir_api_tokens" }

// migrateAPITokens creates the API token table (directory migration 2).
func migrateAPITokens(tx *gorm.DB) error { return tx.Migrator().CreateTable(&dirAPIToken{}) }

// APIToken describes a token; the secret itself is never kept.
type APIToken struct {
	ID      int64
	Name    string
	Scope   string
	KeyID   string // public part of the token, for recognising it in lists
	Created time.Time
	// LastUsed is zero when the token was never used; it is refreshed at
	// most once a minute.
	LastUsed time.Time
}

func (t *dirAPIToken) token() *APIToken {
	out := &APIToken{ID: t.ID, Name: t.Name, Scope: t.Scope, KeyID: t.KeyID, Created: t.CreatedAt}
	if t.LastUsedAt != nil {
		out.LastUsed = *t.LastUsedAt
	}
	return out
}

// ValidScope reports whether s is a known API token scope.
func ValidScope(s string) bool { return s == ScopeAdmin || s == ScopeRead }

// ValidTokenName reports whether name is usable as a token name: 1 to
// MaxTokenNameLen printable characters without spaces at either end.
func ValidTokenName(name string) bool {
	if name == "" || len(name) > MaxTokenNameLen || strings.TrimSpace(name) != name {
		return false
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// CreateAPIToken makes a token with a unique name and a scope. The returned
// string is the token itself: it cannot be recovered later.
func (l *Local) CreateAPIToken(ctx context.Context, name, scope string) (string, *APIToken, error) {
	if !ValidTokenName(name) {
		return "", nil, fmt.Errorf("%w: token name %q", ErrInvalid, name)
	}
	if !ValidScope(scope) {
		return "", nil, fmt.Errorf("%w: token scope %q (admin or read)", ErrInvalid, scope)
	}
	var keyID [tokenKeyIDLen / 2]byte
	var secret [tokenSecretLen]byte
	if _, err := rand.Read(keyID[:]); err != nil {
		return "", nil, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, err
	}
	secretText := base64.RawURLEncoding.EncodeToString(secret[:])
	row := dirAPIToken{Name: name, KeyID: hex.EncodeToString(keyID[:]), SecretHash: hashTokenSecret(secretText),
		Scope: scope, CreatedAt: time.Now().UTC()}
	err := l.write(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error })
	if isUniqueViolation(err) {
		return "", nil, fmt.Errorf("directory: token %q: %w", name, ErrExists)
	}
	if err != nil {
		return "", nil, dbErr(err, "creating token")
	}
	return tokenPrefix + row.KeyID + "_" + secretText, row.token(), nil
}

func hashTokenSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ParseAPIToken splits a presented token into its key id and secret; ok is
// false for anything not shaped like a token this package makes.
func ParseAPIToken(token string) (keyID, secret string, ok bool) {
	rest, found := strings.CutPrefix(token, tokenPrefix)
	if !found || len(rest) < tokenKeyIDLen+2 || rest[tokenKeyIDLen] != '_' {
		return "", "", false
	}
	keyID, secret = rest[:tokenKeyIDLen], rest[tokenKeyIDLen+1:]
	for i := 0; i < len(keyID); i++ {
		c := keyID[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", "", false
		}
	}
	if b, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(b) != tokenSecretLen {
		return "", "", false
	}
	return keyID, secret, true
}

// VerifyAPIToken checks a presented token. Unknown, malformed and revoked
// tokens all give ErrAuthFailed; a database that cannot answer gives
// ErrUnavailable.
func (l *Local) VerifyAPIToken(ctx context.Context, token string) (*APIToken, error) {
	keyID, secret, ok := ParseAPIToken(token)
	if !ok {
		return nil, ErrAuthFailed
	}
	var row dirAPIToken
	err := l.r.WithContext(ctx).Where("key_id = ?", keyID).Take(&row).Error
	presented := hashTokenSecret(secret)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// Compare anyway so a missing key id costs what a wrong secret does.
		subtle.ConstantTimeCompare([]byte(presented), []byte(presented))
		return nil, ErrAuthFailed
	}
	if err != nil {
		return nil, fmt.Errorf("%w: token: %w", ErrUnavailable, err)
	}
	if subtle.ConstantTimeCompare([]byte(presented), []byte(row.SecretHash)) != 1 {
		return nil, ErrAuthFailed
	}
	now := time.Now().UTC()
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= tokenTouchEvery {
		// Best effort: a failed bookkeeping write must not refuse a valid token.
		if err := l.w.WithContext(ctx).Model(&dirAPIToken{}).Where("id = ?", row.ID).Update("last_used_at", now).Error; err == nil {
			row.LastUsedAt = &now
		}
	}
	return row.token(), nil
}

// APITokens lists the tokens by name.
func (l *Local) APITokens(ctx context.Context) ([]APIToken, error) {
	var rows []dirAPIToken
	if err := l.r.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, dbErr(err, "tokens")
	}
	out := make([]APIToken, len(rows))
	for i := range rows {
		out[i] = *rows[i].token()
	}
	return out, nil
}

// RevokeAPIToken deletes the token with this name (or, failing that, this
// key id); it stops working at once.
func (l *Local) RevokeAPIToken(ctx context.Context, nameOrKeyID string) error {
	res := l.w.WithContext(ctx).Where("name = ?", nameOrKeyID).Delete(&dirAPIToken{})
	if res.Error == nil && res.RowsAffected == 0 {
		res = l.w.WithContext(ctx).Where("key_id = ?", nameOrKeyID).Delete(&dirAPIToken{})
	}
	if res.Error != nil {
		return dbErr(res.Error, "revoking token")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("directory: token %q: %w", nameOrKeyID, ErrNotFound)
	}
	return l.sync(ctx)
}
