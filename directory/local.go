package directory

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Tables of the local directory, beside the store's on the same database.

type dirDomain struct {
	Name      string `gorm:"primaryKey"`
	CreatedAt time.Time
}

func (dirDomain) TableName() string { return "dir_domains" }

type dirAccount struct {
	ID           int64  `gorm:"primaryKey"`
	Address      string `gorm:"uniqueIndex;not null"`
	DisplayName  string `gorm:"not null;default:''"`
	PasswordHash string `gorm:"not null;default:''"`
	Disabled     bool   `gorm:"not null;default:false"`
	Source       string `gorm:"not null;default:'local'"`
	ExternalID   string `gorm:"not null;default:'';index"`
	Title        string `gorm:"not null;default:''"`
	Department   string `gorm:"not null;default:''"`
	Phone        string `gorm:"not null;default:''"`
	Office       string `gorm:"not null;default:''"`
	Company      string `gorm:"not null;default:''"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (dirAccount) TableName() string { return "dir_accounts" }

type dirAlias struct {
	Address   string `gorm:"primaryKey"`
	AccountID int64  `gorm:"not null;index"`
	CreatedAt time.Time
}

func (dirAlias) TableName() string { return "dir_aliases" }

type dirGroup struct {
	Address     string `gorm:"primaryKey"`
	DisplayName string `gorm:"not null;default:''"`
	CreatedAt   time.Time
}

func (dirGroup) TableName() string { return "dir_groups" }

type dirGroupMember struct {
	Group  string `gorm:"column:group_address;primaryKey"`
	Member string `gorm:"column:member_address;primaryKey"`
}

func (dirGroupMember) TableName() string { return "dir_group_members" }

func (a *dirAccount) account() *Account {
	return &Account{ID: a.ID, Address: a.Address, DisplayName: a.DisplayName, Disabled: a.Disabled,
		Source: a.Source, ExternalID: a.ExternalID, Title: a.Title, Department: a.Department,
		Phone: a.Phone, Office: a.Office, Company: a.Company}
}

// Local is the directory kept in Pochta's own database.
type Local struct {
	w, r    *gorm.DB
	durable func(ctx context.Context) error
	// credCache remembers recently verified (login, password) pairs under a
	// keyed hash, so a client that logs in every few seconds does not pay the
	// argon2 cost each time. Password changes clear it.
	cacheKey  [32]byte
	cacheMu   sync.Mutex
	credCache map[string]credEntry
	cacheTTL  time.Duration
}

type credEntry struct {
	accountID int64
	expires   time.Time
}

// LocalOptions configure NewLocal.
type LocalOptions struct {
	// DB is for writes; ReadDB (optional) for reads.
	DB, ReadDB *gorm.DB
	// CredentialCacheTTL is how long a verified password is remembered
	// (0 = 2 minutes, negative = off).
	CredentialCacheTTL time.Duration
	// Durable, when set, makes what DB committed durable (the store's
	// Sync, whose writer connection does not wait for the disk itself).
	Durable func(ctx context.Context) error
}

// NewLocal opens the local directory, migrating its tables.
func NewLocal(ctx context.Context, opts LocalOptions) (*Local, error) {
	if opts.ReadDB == nil {
		opts.ReadDB = opts.DB
	}
	l := &Local{w: opts.DB, r: opts.ReadDB, durable: opts.Durable, credCache: map[string]credEntry{}, cacheTTL: opts.CredentialCacheTTL}
	if l.cacheTTL == 0 {
		l.cacheTTL = 2 * time.Minute
	}
	if _, err := rand.Read(l.cacheKey[:]); err != nil {
		return nil, err
	}
	if err := migrate(ctx, opts.DB); err != nil {
		return nil, err
	}
	return l, nil
}

var _ Directory = (*Local)(nil)

type schemaVersion struct {
	Component string `gorm:"primaryKey"`
	Version   int    `gorm:"not null"`
	AppliedAt time.Time
}

func (schemaVersion) TableName() string { return "schema_versions" }

var migrations = []func(tx *gorm.DB) error{
	func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(&dirDomain{}, &dirAccount{}, &dirAlias{}, &dirGroup{}, &dirGroupMember{})
	},
	migrateAPITokens,
}

func migrate(ctx context.Context, db *gorm.DB) error {
	db = db.WithContext(ctx)
	if err := db.Migrator().AutoMigrate(&schemaVersion{}); err != nil {
		return fmt.Errorf("directory: schema_versions: %w", err)
	}
	return db.Transaction(func(tx *gorm.DB) error {
		if tx.Dialector.Name() == "postgres" {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7226471)").Error; err != nil {
				return err
			}
		}
		var v schemaVersion
		if err := tx.Where("component = ?", "directory").Limit(1).Find(&v).Error; err != nil {
			return err
		}
		if v.Version > len(migrations) {
			return fmt.Errorf("directory: schema version %d is newer than this binary knows", v.Version)
		}
		if v.Version == len(migrations) {
			return nil
		}
		for i := v.Version; i < len(migrations); i++ {
			if err := migrations[i](tx); err != nil {
				return fmt.Errorf("directory: migration %d: %w", i+1, err)
			}
		}
		return tx.Save(&schemaVersion{Component: "directory", Version: len(migrations), AppliedAt: time.Now().UTC()}).Error
	})
}

func dbErr(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("directory: %s: %w", what, ErrNotFound)
	}
	if err != nil && (strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "connection")) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("directory: %s: %w", what, err)
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint") || strings.Contains(m, "23505") || errors.Is(err, gorm.ErrDuplicatedKey)
}

// ValidAddress reports whether addr is a plausible mailbox address for an
// account, alias or group: one "@", a dot-atom-ish local part, a domain.
func ValidAddress(addr string) bool {
	local, domain, ok := SplitAddress(addr)
	if !ok || len(addr) > 254 || len(local) > 64 {
		return false
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`"(),:;<>@[\]`, r) {
			return false
		}
	}
	return ValidDomain(domain)
}

// ValidDomain reports whether d is a plausible DNS domain name.
func ValidDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r >= 0x80) {
				return false
			}
		}
	}
	return true
}

// AddDomain makes a domain local.
func (l *Local) AddDomain(ctx context.Context, name string) error {
	name = NormalizeAddress(name)
	if !ValidDomain(name) {
		return fmt.Errorf("%w: domain %q", ErrInvalid, name)
	}
	err := l.write(ctx, func(tx *gorm.DB) error {
		return tx.Create(&dirDomain{Name: name, CreatedAt: time.Now().UTC()}).Error
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("directory: domain %s: %w", name, ErrExists)
	}
	return err
}

// Domains lists the local domains.
func (l *Local) Domains(ctx context.Context) ([]string, error) {
	var names []string
	err := l.r.WithContext(ctx).Model(&dirDomain{}).Order("name").Pluck("name", &names).Error
	return names, err
}

// DeleteDomain removes a domain; it must have no accounts, aliases or groups left.
func (l *Local) DeleteDomain(ctx context.Context, name string) error {
	name = NormalizeAddress(name)
	return l.write(ctx, func(tx *gorm.DB) error {
		for _, m := range []any{&dirAccount{}, &dirAlias{}, &dirGroup{}} {
			var n int64
			if err := tx.Model(m).Where("address LIKE ?", "%@"+name).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: domain %s still has accounts, aliases or groups", ErrInvalid, name)
			}
		}
		res := tx.Delete(&dirDomain{}, "name = ?", name)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("directory: domain %s: %w", name, ErrNotFound)
		}
		return nil
	})
}

// IsLocalDomain implements Directory.
func (l *Local) IsLocalDomain(ctx context.Context, domain string) (bool, error) {
	var n int64
	if err := l.r.WithContext(ctx).Model(&dirDomain{}).Where("name = ?", NormalizeAddress(domain)).Count(&n).Error; err != nil {
		return false, dbErr(err, "domain")
	}
	return n > 0, nil
}

// NewAccount is what AddAccount creates.
type NewAccount struct {
	Address     string
	Password    string
	DisplayName string
	// Source and ExternalID link an account to an external directory entry.
	Source, ExternalID                        string
	Title, Department, Phone, Office, Company string
}

// AddAccount creates an account. The first account of a domain makes the
// domain local.
func (l *Local) AddAccount(ctx context.Context, na NewAccount) (*Account, error) {
	addr := NormalizeAddress(na.Address)
	if !ValidAddress(addr) {
		return nil, fmt.Errorf("%w: address %q", ErrInvalid, na.Address)
	}
	if na.Source == "" {
		na.Source = "local"
	}
	var hash string
	if na.Source == "local" {
		var err error
		if hash, err = HashPassword(na.Password); err != nil {
			return nil, err
		}
	}
	_, domain, _ := SplitAddress(addr)
	a := dirAccount{Address: addr, DisplayName: strings.TrimSpace(na.DisplayName), PasswordHash: hash, Source: na.Source,
		ExternalID: na.ExternalID, Title: na.Title, Department: na.Department, Phone: na.Phone, Office: na.Office, Company: na.Company}
	err := l.write(ctx, func(tx *gorm.DB) error {
		if err := l.addressFree(tx, addr); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&dirDomain{}).Where("name = ?", domain).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			if err := tx.Create(&dirDomain{Name: domain, CreatedAt: time.Now().UTC()}).Error; err != nil {
				return err
			}
		}
		return tx.Create(&a).Error
	})
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("directory: %s: %w", addr, ErrExists)
	}
	if err != nil {
		return nil, err
	}
	return a.account(), nil
}

// addressFree fails with ErrExists if an account, alias or group has addr.
func (l *Local) addressFree(tx *gorm.DB, addr string) error {
	for _, m := range []any{&dirAccount{}, &dirAlias{}, &dirGroup{}} {
		var n int64
		if err := tx.Model(m).Where("address = ?", addr).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("directory: %s: %w", addr, ErrExists)
		}
	}
	return nil
}

func (l *Local) accountRow(ctx context.Context, db *gorm.DB, cond string, args ...any) (*dirAccount, error) {
	var a dirAccount
	if err := db.WithContext(ctx).Where(cond, args...).Take(&a).Error; err != nil {
		return nil, dbErr(err, "account")
	}
	return &a, nil
}

// Account implements Directory.
func (l *Local) Account(ctx context.Context, id int64) (*Account, error) {
	a, err := l.accountRow(ctx, l.r, "id = ?", id)
	if err != nil {
		return nil, err
	}
	return a.account(), nil
}

// AccountByAddress finds an account by its primary address or an alias.
func (l *Local) AccountByAddress(ctx context.Context, addr string) (*Account, error) {
	addr = NormalizeAddress(addr)
	a, err := l.accountRow(ctx, l.r, "address = ?", addr)
	if errors.Is(err, ErrNotFound) {
		var al dirAlias
		if err2 := l.r.WithContext(ctx).Where("address = ?", addr).Take(&al).Error; err2 != nil {
			return nil, dbErr(err2, "account")
		}
		a, err = l.accountRow(ctx, l.r, "id = ?", al.AccountID)
	}
	if err != nil {
		return nil, err
	}
	return a.account(), nil
}

// AccountByExternalID finds the account linked to an external entry.
func (l *Local) AccountByExternalID(ctx context.Context, source, externalID string) (*Account, error) {
	a, err := l.accountRow(ctx, l.r, "source = ? AND external_id = ?", source, externalID)
	if err != nil {
		return nil, err
	}
	return a.account(), nil
}

// SetPassword replaces an account's password.
func (l *Local) SetPassword(ctx context.Context, id int64, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	err = l.updateLocal(ctx, id, map[string]any{"password_hash": hash})
	l.clearCache()
	return err
}

// SetDisabled disables or enables an account.
func (l *Local) SetDisabled(ctx context.Context, id int64, disabled bool) error {
	err := l.update(ctx, id, map[string]any{"disabled": disabled})
	l.clearCache()
	return err
}

// AccountUpdate holds the fields UpdateAccount changes (nil = keep).
type AccountUpdate struct {
	DisplayName, Title, Department, Phone, Office, Company *string
}

// UpdateAccount changes an account's descriptive attributes.
func (l *Local) UpdateAccount(ctx context.Context, id int64, u AccountUpdate) error {
	m := map[string]any{}
	for col, v := range map[string]*string{"display_name": u.DisplayName, "title": u.Title, "department": u.Department, "phone": u.Phone, "office": u.Office, "company": u.Company} {
		if v != nil {
			m[col] = strings.TrimSpace(*v)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return l.updateLocal(ctx, id, m)
}

// SyncExternal refreshes the attributes of an account linked to an external
// directory (its address may change with the entry).
func (l *Local) SyncExternal(ctx context.Context, id int64, na NewAccount) error {
	return l.update(ctx, id, map[string]any{"address": NormalizeAddress(na.Address), "display_name": na.DisplayName,
		"title": na.Title, "department": na.Department, "phone": na.Phone, "office": na.Office, "company": na.Company})
}

func (l *Local) updateLocal(ctx context.Context, id int64, cols map[string]any) error {
	a, err := l.accountRow(ctx, l.w, "id = ?", id)
	if err != nil {
		return err
	}
	if a.Source != "local" {
		return fmt.Errorf("directory: account %s is managed by %s: %w", a.Address, a.Source, ErrReadOnly)
	}
	return l.update(ctx, id, cols)
}

func (l *Local) update(ctx context.Context, id int64, cols map[string]any) error {
	cols["updated_at"] = time.Now().UTC()
	res := l.w.WithContext(ctx).Model(&dirAccount{}).Where("id = ?", id).Updates(cols)
	if res.Error != nil {
		if isUniqueViolation(res.Error) {
			return fmt.Errorf("directory: %w", ErrExists)
		}
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("directory: account %d: %w", id, ErrNotFound)
	}
	return l.sync(ctx)
}

// DeleteAccount removes an account with its aliases and group memberships.
// The caller deletes the mailbox.
func (l *Local) DeleteAccount(ctx context.Context, id int64) error {
	err := l.write(ctx, func(tx *gorm.DB) error {
		var a dirAccount
		if err := tx.Where("id = ?", id).Take(&a).Error; err != nil {
			return dbErr(err, "account")
		}
		var aliases []string
		if err := tx.Model(&dirAlias{}).Where("account_id = ?", id).Pluck("address", &aliases).Error; err != nil {
			return err
		}
		if err := tx.Where("member_address IN ?", append(aliases, a.Address)).Delete(&dirGroupMember{}).Error; err != nil {
			return err
		}
		if err := tx.Where("account_id = ?", id).Delete(&dirAlias{}).Error; err != nil {
			return err
		}
		return tx.Delete(&dirAccount{}, id).Error
	})
	l.clearCache()
	return err
}

// ListAccounts returns accounts whose address or name contains search,
// ordered by id, after the cursor id.
func (l *Local) ListAccounts(ctx context.Context, search string, afterID int64, limit int) ([]Account, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := l.r.WithContext(ctx).Where("id > ?", afterID)
	if search != "" {
		like := "%" + escapeLike(strings.ToLower(search)) + "%"
		q = q.Where("(address LIKE ? ESCAPE '\\' OR lower(display_name) LIKE ? ESCAPE '\\')", like, like)
	}
	var rows []dirAccount
	if err := q.Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbErr(err, "accounts")
	}
	out := make([]Account, len(rows))
	for i := range rows {
		out[i] = *rows[i].account()
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Authenticate implements Directory.
func (l *Local) Authenticate(ctx context.Context, login, password string) (*Account, error) {
	login = NormalizeAddress(login)
	if login == "" || password == "" {
		return nil, ErrAuthFailed
	}
	key := l.credKey(login, password)
	if id, ok := l.cached(key); ok {
		a, err := l.accountRow(ctx, l.r, "id = ?", id)
		if err == nil && !a.Disabled {
			return a.account(), nil
		}
	}
	a, err := l.accountRow(ctx, l.r, "address = ?", login)
	if errors.Is(err, ErrNotFound) {
		var al dirAlias
		if err2 := l.r.WithContext(ctx).Where("address = ?", login).Take(&al).Error; err2 == nil {
			a, err = l.accountRow(ctx, l.r, "id = ?", al.AccountID)
		}
	}
	if errors.Is(err, ErrNotFound) {
		// Spend the same time as a real check so timing does not tell.
		CheckPassword(dummyHash, password)
		return nil, ErrAuthFailed
	}
	if err != nil {
		return nil, err
	}
	if a.Source != "local" || a.Disabled || !CheckPassword(a.PasswordHash, password) {
		return nil, ErrAuthFailed
	}
	l.remember(key, a.ID)
	return a.account(), nil
}

// dummyHash is checked against when a login does not exist.
var dummyHash, _ = HashPassword("pochta-timing-equaliser")

func (l *Local) credKey(login, password string) string {
	m := hmac.New(sha256.New, l.cacheKey[:])
	m.Write([]byte(login))
	m.Write([]byte{0})
	m.Write([]byte(password))
	return string(m.Sum(nil))
}

func (l *Local) cached(key string) (int64, bool) {
	if l.cacheTTL < 0 {
		return 0, false
	}
	l.cacheMu.Lock()
	defer l.cacheMu.Unlock()
	e, ok := l.credCache[key]
	if !ok || time.Now().After(e.expires) {
		return 0, false
	}
	return e.accountID, true
}

func (l *Local) remember(key string, id int64) {
	if l.cacheTTL < 0 {
		return
	}
	l.cacheMu.Lock()
	defer l.cacheMu.Unlock()
	if len(l.credCache) > 10000 {
		now := time.Now()
		for k, e := range l.credCache {
			if now.After(e.expires) {
				delete(l.credCache, k)
			}
		}
		if len(l.credCache) > 10000 {
			clear(l.credCache)
		}
	}
	l.credCache[key] = credEntry{accountID: id, expires: time.Now().Add(l.cacheTTL)}
}

func (l *Local) clearCache() {
	l.cacheMu.Lock()
	clear(l.credCache)
	l.cacheMu.Unlock()
}

// AddAlias makes alias deliver to an account.
func (l *Local) AddAlias(ctx context.Context, alias string, accountID int64) error {
	alias = NormalizeAddress(alias)
	if !ValidAddress(alias) {
		return fmt.Errorf("%w: alias %q", ErrInvalid, alias)
	}
	err := l.write(ctx, func(tx *gorm.DB) error {
		if err := l.addressFree(tx, alias); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&dirAccount{}).Where("id = ?", accountID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("directory: account %d: %w", accountID, ErrNotFound)
		}
		return tx.Create(&dirAlias{Address: alias, AccountID: accountID, CreatedAt: time.Now().UTC()}).Error
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("directory: %s: %w", alias, ErrExists)
	}
	return err
}

// DeleteAlias removes an alias.
func (l *Local) DeleteAlias(ctx context.Context, alias string) error {
	res := l.w.WithContext(ctx).Delete(&dirAlias{}, "address = ?", NormalizeAddress(alias))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("directory: alias %s: %w", alias, ErrNotFound)
	}
	return l.sync(ctx)
}

// Alias is an alias address and the account it delivers to.
type Alias struct {
	Address   string
	AccountID int64
}

// Aliases lists aliases, of one account or (accountID 0) all.
func (l *Local) Aliases(ctx context.Context, accountID int64) ([]Alias, error) {
	q := l.r.WithContext(ctx).Order("address")
	if accountID != 0 {
		q = q.Where("account_id = ?", accountID)
	}
	var rows []dirAlias
	if err := q.Find(&rows).Error; err != nil {
		return nil, dbErr(err, "aliases")
	}
	out := make([]Alias, len(rows))
	for i, r := range rows {
		out[i] = Alias{Address: r.Address, AccountID: r.AccountID}
	}
	return out, nil
}

// Addresses implements Directory.
func (l *Local) Addresses(ctx context.Context, accountID int64) ([]string, error) {
	a, err := l.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	aliases, err := l.Aliases(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := []string{a.Address}
	for _, al := range aliases {
		out = append(out, al.Address)
	}
	return out, nil
}

// Group is a local distribution group.
type Group struct {
	Address     string
	DisplayName string
	Members     []string
}

// AddGroup creates a group.
func (l *Local) AddGroup(ctx context.Context, address, displayName string) error {
	address = NormalizeAddress(address)
	if !ValidAddress(address) {
		return fmt.Errorf("%w: group %q", ErrInvalid, address)
	}
	err := l.write(ctx, func(tx *gorm.DB) error {
		if err := l.addressFree(tx, address); err != nil {
			return err
		}
		return tx.Create(&dirGroup{Address: address, DisplayName: displayName, CreatedAt: time.Now().UTC()}).Error
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("directory: %s: %w", address, ErrExists)
	}
	return err
}

// DeleteGroup removes a group and its memberships.
func (l *Local) DeleteGroup(ctx context.Context, address string) error {
	address = NormalizeAddress(address)
	return l.write(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&dirGroup{}, "address = ?", address)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("directory: group %s: %w", address, ErrNotFound)
		}
		return tx.Where("group_address = ? OR member_address = ?", address, address).Delete(&dirGroupMember{}).Error
	})
}

// AddGroupMember adds an address (account, alias, group or external) to a group.
func (l *Local) AddGroupMember(ctx context.Context, group, member string) error {
	group, member = NormalizeAddress(group), NormalizeAddress(member)
	if !ValidAddress(member) {
		return fmt.Errorf("%w: member %q", ErrInvalid, member)
	}
	err := l.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&dirGroup{}).Where("address = ?", group).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("directory: group %s: %w", group, ErrNotFound)
		}
		return tx.Create(&dirGroupMember{Group: group, Member: member}).Error
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("directory: %s in %s: %w", member, group, ErrExists)
	}
	return err
}

// RemoveGroupMember removes a member from a group.
func (l *Local) RemoveGroupMember(ctx context.Context, group, member string) error {
	res := l.w.WithContext(ctx).Delete(&dirGroupMember{}, "group_address = ? AND member_address = ?", NormalizeAddress(group), NormalizeAddress(member))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("directory: member %s of %s: %w", member, group, ErrNotFound)
	}
	return l.sync(ctx)
}

// Groups lists the local groups with their direct members.
func (l *Local) Groups(ctx context.Context) ([]Group, error) {
	var gs []dirGroup
	if err := l.r.WithContext(ctx).Order("address").Find(&gs).Error; err != nil {
		return nil, dbErr(err, "groups")
	}
	var ms []dirGroupMember
	if err := l.r.WithContext(ctx).Order("member_address").Find(&ms).Error; err != nil {
		return nil, dbErr(err, "group members")
	}
	byGroup := map[string][]string{}
	for _, m := range ms {
		byGroup[m.Group] = append(byGroup[m.Group], m.Member)
	}
	out := make([]Group, len(gs))
	for i, g := range gs {
		out[i] = Group{Address: g.Address, DisplayName: g.DisplayName, Members: byGroup[g.Address]}
	}
	return out, nil
}

// maxGroupDepth cuts group expansion (and loops) at this depth.
const maxGroupDepth = 16

// Resolve implements Directory: account, alias, group (expanded
// recursively, loops cut), sub-address (user+tag@) or unknown.
func (l *Local) Resolve(ctx context.Context, address string) (*Resolution, error) {
	address = NormalizeAddress(address)
	res := &Resolution{}
	seen := map[string]bool{}
	accounts := map[int64]bool{}
	kind, err := l.expand(ctx, address, res, seen, accounts, 0)
	if err != nil {
		return nil, err
	}
	if kind == Unknown {
		// user+tag@domain delivers to user@domain.
		if local, domain, ok := SplitAddress(address); ok {
			if base, _, found := strings.Cut(local, "+"); found && base != "" {
				return l.Resolve(ctx, base+"@"+domain)
			}
		}
	}
	res.Kind = kind
	return res, nil
}

func (l *Local) expand(ctx context.Context, addr string, res *Resolution, seen map[string]bool, accounts map[int64]bool, depth int) (ResolutionKind, error) {
	if seen[addr] || depth > maxGroupDepth {
		return KindGroup, nil
	}
	seen[addr] = true
	db := l.r.WithContext(ctx)
	var a dirAccount
	err := db.Where("address = ?", addr).Limit(1).Find(&a).Error
	if err != nil {
		return Unknown, dbErr(err, "resolve")
	}
	if a.ID == 0 {
		var al dirAlias
		if err := db.Where("address = ?", addr).Limit(1).Find(&al).Error; err != nil {
			return Unknown, dbErr(err, "resolve")
		}
		if al.AccountID != 0 {
			if err := db.Where("id = ?", al.AccountID).Limit(1).Find(&a).Error; err != nil {
				return Unknown, dbErr(err, "resolve")
			}
		}
	}
	if a.ID != 0 {
		if !accounts[a.ID] {
			accounts[a.ID] = true
			res.Accounts = append(res.Accounts, *a.account())
		}
		return KindAccount, nil
	}
	var g dirGroup
	if err := db.Where("address = ?", addr).Limit(1).Find(&g).Error; err != nil {
		return Unknown, dbErr(err, "resolve")
	}
	if g.Address == "" {
		return Unknown, nil
	}
	var members []string
	if err := db.Model(&dirGroupMember{}).Where("group_address = ?", addr).Order("member_address").Pluck("member_address", &members).Error; err != nil {
		return Unknown, dbErr(err, "resolve")
	}
	for _, m := range members {
		k, err := l.expand(ctx, m, res, seen, accounts, depth+1)
		if err != nil {
			return Unknown, err
		}
		if k == Unknown {
			_, domain, _ := SplitAddress(m)
			local, err := l.IsLocalDomain(ctx, domain)
			if err != nil {
				return Unknown, err
			}
			if !local {
				res.External = append(res.External, m)
			}
		}
	}
	return KindGroup, nil
}

// SearchGAL implements Directory over accounts and groups. The cursor is the
// last display name and address of the previous page.
func (l *Local) SearchGAL(ctx context.Context, query string, limit int, cursor string) ([]Entry, string, error) {
	return l.searchGAL(ctx, query, limit, cursor, "")
}

// searchGAL is SearchGAL, limited to accounts of one Source when source is
// not empty (Chain lists only "local" ones here; LDAP lists its own).
func (l *Local) searchGAL(ctx context.Context, query string, limit int, cursor, source string) ([]Entry, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := strings.ToLower(strings.TrimSpace(query))
	prefix := escapeLike(q) + "%"
	var afterName, afterAddr string
	if cursor != "" {
		afterName, afterAddr, _ = strings.Cut(cursor, "\x00")
	}
	db := l.r.WithContext(ctx)
	// Sort key: the display name, or the address when there is none.
	var accs []dirAccount
	aq := db.Where("disabled = ?", false)
	if source != "" {
		aq = aq.Where("source = ?", source)
	}
	if q != "" {
		aq = aq.Where("(lower(display_name) LIKE ? ESCAPE '\\' OR address LIKE ? ESCAPE '\\' OR lower(display_name) LIKE ? ESCAPE '\\')", prefix, prefix, "% "+prefix)
	}
	if cursor != "" {
		aq = aq.Where("(lower(CASE WHEN display_name = '' THEN address ELSE display_name END) > ? OR (lower(CASE WHEN display_name = '' THEN address ELSE display_name END) = ? AND address > ?))", afterName, afterName, afterAddr)
	}
	if err := aq.Order("lower(CASE WHEN display_name = '' THEN address ELSE display_name END), address").Limit(limit + 1).Find(&accs).Error; err != nil {
		return nil, "", dbErr(err, "address list")
	}
	var groups []dirGroup
	gq := db.Model(&dirGroup{})
	if q != "" {
		gq = gq.Where("(lower(display_name) LIKE ? ESCAPE '\\' OR address LIKE ? ESCAPE '\\')", prefix, prefix)
	}
	if cursor != "" {
		gq = gq.Where("(lower(CASE WHEN display_name = '' THEN address ELSE display_name END) > ? OR (lower(CASE WHEN display_name = '' THEN address ELSE display_name END) = ? AND address > ?))", afterName, afterName, afterAddr)
	}
	if err := gq.Order("lower(CASE WHEN display_name = '' THEN address ELSE display_name END), address").Limit(limit + 1).Find(&groups).Error; err != nil {
		return nil, "", dbErr(err, "address list")
	}
	entries := make([]Entry, 0, len(accs)+len(groups))
	for _, a := range accs {
		entries = append(entries, Entry{AccountID: a.ID, Address: a.Address, DisplayName: a.DisplayName, Title: a.Title,
			Department: a.Department, Phone: a.Phone, Office: a.Office, Company: a.Company})
	}
	for _, g := range groups {
		entries = append(entries, Entry{Address: g.Address, DisplayName: g.DisplayName, IsGroup: true})
	}
	SortEntries(entries)
	next := ""
	if len(entries) > limit {
		entries = entries[:limit]
		last := entries[limit-1]
		next = strings.ToLower(EntrySortName(last)) + "\x00" + last.Address
	}
	return entries, next, nil
}

// EntrySortName is the name an address list sorts on.
func EntrySortName(e Entry) string {
	if e.DisplayName != "" {
		return e.DisplayName
	}
	return e.Address
}

// SortEntries orders entries as SearchGAL pages them.
func SortEntries(es []Entry) {
	less := func(a, b Entry) int {
		an, bn := strings.ToLower(EntrySortName(a)), strings.ToLower(EntrySortName(b))
		if c := strings.Compare(an, bn); c != 0 {
			return c
		}
		return strings.Compare(a.Address, b.Address)
	}
	slices.SortFunc(es, less)
}

// Health implements Directory.
func (l *Local) Health(ctx context.Context) error {
	sdb, err := l.r.DB()
	if err != nil {
		return err
	}
	if err := sdb.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// write runs fn in a write transaction and returns once it is durable.
func (l *Local) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if err := l.w.WithContext(ctx).Transaction(fn); err != nil {
		return err
	}
	return l.sync(ctx)
}

// sync makes committed writes durable (see LocalOptions.Durable).
func (l *Local) sync(ctx context.Context) error {
	if l.durable == nil {
		return nil
	}
	if err := l.durable(ctx); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	return nil
}
