package directory

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func newTokenTestLocal(t *testing.T) (*Local, *gorm.DB) {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "dir.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	l, err := NewLocal(context.Background(), LocalOptions{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	return l, db
}

func TestAPITokenLifecycle(t *testing.T) {
	ctx := context.Background()
	l, db := newTokenTestLocal(t)

	tok, info, err := l.CreateAPIToken(ctx, "provisioning", ScopeAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "pochta_") || info.Scope != ScopeAdmin || info.Name != "provisioning" {
		t.Fatalf("token %q info %+v", tok, info)
	}
	if !strings.Contains(tok, info.KeyID) {
		t.Fatalf("token %q does not carry its key id %q", tok, info.KeyID)
	}
	// Only the hash is stored: the secret must not appear in the row.
	var row dirAPIToken
	if err := db.Where("name = ?", "provisioning").Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	_, secret, _ := ParseAPIToken(tok)
	if strings.Contains(row.SecretHash, secret) || row.SecretHash == secret {
		t.Fatal("secret stored in clear")
	}

	got, err := l.VerifyAPIToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != info.ID || got.Scope != ScopeAdmin || got.LastUsed.IsZero() {
		t.Fatalf("verified %+v", got)
	}

	// A wrong secret with the right key id, a truncated token and garbage all fail alike.
	wrong := tok[:len(tok)-2] + "AA"
	if wrong == tok {
		wrong = tok[:len(tok)-2] + "BB"
	}
	for _, bad := range []string{wrong, tok[:len(tok)-1], "", "pochta_", "Bearer " + tok, strings.ToUpper(tok)} {
		if _, err := l.VerifyAPIToken(ctx, bad); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("VerifyAPIToken(%q) = %v, want ErrAuthFailed", bad, err)
		}
	}

	if _, _, err := l.CreateAPIToken(ctx, "provisioning", ScopeRead); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, bad := range [][2]string{{"", ScopeRead}, {" x", ScopeRead}, {"x\ny", ScopeRead}, {"ok", "root"}, {strings.Repeat("n", MaxTokenNameLen+1), ScopeRead}} {
		if _, _, err := l.CreateAPIToken(ctx, bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateAPIToken(%q, %q) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}

	rtok, rinfo, err := l.CreateAPIToken(ctx, "monitoring", ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	list, err := l.APITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "monitoring" || list[1].Name != "provisioning" {
		t.Fatalf("list %+v", list)
	}

	// Revoke by name, then by key id; both stop working at once.
	if err := l.RevokeAPIToken(ctx, "provisioning"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.VerifyAPIToken(ctx, tok); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("revoked token: %v", err)
	}
	if err := l.RevokeAPIToken(ctx, rinfo.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := l.VerifyAPIToken(ctx, rtok); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("revoked token: %v", err)
	}
	if err := l.RevokeAPIToken(ctx, "provisioning"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
}

func FuzzParseAPIToken(f *testing.F) {
	f.Add("pochta_0123456789abcdef_" + strings.Repeat("A", 43))
	f.Add("pochta_0123456789abcdef_")
	f.Add("pochta_0123456789ABCDEF_" + strings.Repeat("A", 43))
	f.Add("pochta__")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		keyID, secret, ok := ParseAPIToken(s)
		if !ok {
			return
		}
		if s != tokenPrefix+keyID+"_"+secret {
			t.Fatalf("parts %q %q do not make %q", keyID, secret, s)
		}
		if len(keyID) != tokenKeyIDLen {
			t.Fatalf("key id %q", keyID)
		}
	})
}
