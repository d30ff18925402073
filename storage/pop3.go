package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// POP3 support: the maildrop listing a session loads at login, the lease that
// lets one session at a time hold a maildrop (across nodes sharing one
// PostgreSQL), and the UPDATE state's single transaction.
//
// The lease table belongs to its own migration component ("pop3" in
// schema_versions) so it does not touch the storage sequence; the pop3
// server runs MigratePOP3 before it takes its first lease.

// POP3Lease is the row that holds an account's maildrop for one POP3
// session. A session renews it while it lives; a node that dies leaves a
// row that expires.
type POP3Lease struct {
	AccountID int64 `gorm:"primaryKey;autoIncrement:false"`
	// Holder is the session's random token.
	Holder string `gorm:"size:64;not null"`
	// ExpiresUnixMilli is a plain integer so that sqlite and PostgreSQL
	// compare it the same way.
	ExpiresUnixMilli int64 `gorm:"column:expires_unix_milli;not null"`
}

// TableName names the lease table.
func (POP3Lease) TableName() string { return "pop3_leases" }

var pop3Migrations = []migration{
	// 1: the maildrop lease.
	func(tx *gorm.DB) error { return tx.Migrator().CreateTable(&POP3Lease{}) },
}

// MigratePOP3 creates the POP3 tables if they are missing. It is idempotent
// and safe to run from several nodes at once.
func (s *Store) MigratePOP3(ctx context.Context) error {
	if err := runMigrations(ctx, s.write, "pop3", pop3Migrations); err != nil {
		return classify(err)
	}
	return nil
}

// POP3Message is one message of a maildrop as a POP3 session keeps it.
type POP3Message struct {
	ID       int64
	UID      uint32 `gorm:"column:uid"`
	Size     int64
	Flags    Flags
	BlobHash string
}

// POP3Maildrop is an account's Inbox as POP3 sees it at login.
type POP3Maildrop struct {
	FolderID    int64
	UIDValidity uint32
	// Messages in UID order; FAI (associated) messages are never listed.
	Messages []POP3Message
}

// POP3Maildrop lists the account's Inbox: two reads, no part trees.
// ErrNotFound when the account has no mailbox yet.
func (s *Store) POP3Maildrop(ctx context.Context, accountID int64) (*POP3Maildrop, error) {
	inbox, err := s.FolderByRole(ctx, accountID, RoleInbox)
	if err != nil {
		return nil, err
	}
	d := &POP3Maildrop{FolderID: inbox.ID, UIDValidity: inbox.UIDValidity}
	err = s.readDB(ctx).Model(&Message{}).
		Select("id, uid, size, flags, blob_hash").
		Where("account_id = ? AND folder_id = ? AND flags & ? = 0", accountID, inbox.ID, FlagAssociated).
		Order("uid").Find(&d.Messages).Error
	if err != nil {
		return nil, fmt.Errorf("storage: listing maildrop: %w", classify(err))
	}
	return d, nil
}

// AcquirePOP3Lease gives the account's maildrop to holder until ttl from now
// unless another holder has a lease that has not expired. It reports whether
// holder got it.
func (s *Store) AcquirePOP3Lease(ctx context.Context, accountID int64, holder string, ttl time.Duration) (bool, error) {
	if holder == "" || ttl <= 0 {
		return false, errors.New("storage: lease needs a holder and a positive ttl")
	}
	var got bool
	err := s.Write(ctx, func(tx *Tx) error {
		now := time.Now()
		if err := tx.db.Where("account_id = ? AND expires_unix_milli < ?", accountID, now.UnixMilli()).
			Delete(&POP3Lease{}).Error; err != nil {
			return fmt.Errorf("storage: dropping an expired lease: %w", err)
		}
		// A concurrent acquirer on another node conflicts on the primary key
		// and inserts nothing.
		res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&POP3Lease{AccountID: accountID, Holder: holder, ExpiresUnixMilli: now.Add(ttl).UnixMilli()})
		if res.Error != nil {
			return fmt.Errorf("storage: taking lease: %w", res.Error)
		}
		got = res.RowsAffected == 1
		return nil
	})
	return got, err
}

// RenewPOP3Lease moves holder's lease expiry to ttl from now. It reports
// false when holder no longer has the lease (it expired and was taken).
func (s *Store) RenewPOP3Lease(ctx context.Context, accountID int64, holder string, ttl time.Duration) (bool, error) {
	var kept bool
	err := s.Write(ctx, func(tx *Tx) error {
		res := tx.db.Model(&POP3Lease{}).Where("account_id = ? AND holder = ?", accountID, holder).
			Update("expires_unix_milli", time.Now().Add(ttl).UnixMilli())
		if res.Error != nil {
			return fmt.Errorf("storage: renewing lease: %w", res.Error)
		}
		kept = res.RowsAffected == 1
		return nil
	})
	return kept, err
}

// ReleasePOP3Lease drops holder's lease (nothing if it has none).
func (s *Store) ReleasePOP3Lease(ctx context.Context, accountID int64, holder string) error {
	return s.Write(ctx, func(tx *Tx) error { return tx.releasePOP3Lease(accountID, holder) })
}

func (tx *Tx) releasePOP3Lease(accountID int64, holder string) error {
	if err := tx.db.Where("account_id = ? AND holder = ?", accountID, holder).Delete(&POP3Lease{}).Error; err != nil {
		return fmt.Errorf("storage: releasing lease: %w", err)
	}
	return nil
}

// POP3Update is what a POP3 session's UPDATE state (RFC 1939 §6) changes.
type POP3Update struct {
	AccountID, FolderID int64
	// Seen are messages retrieved in the session: they get \Seen.
	Seen []int64
	// Delete are the messages marked with DELE.
	Delete []int64
	// MoveToRole, when set (RoleDeleted), moves the deleted messages to the
	// account's folder with that role instead of expunging them.
	MoveToRole string
	// ReleaseHolder, when set, drops that lease in the same transaction.
	ReleaseHolder string
}

// ApplyPOP3Update applies u in one transaction and returns how many messages
// left the folder. Messages another client removed meanwhile are skipped.
// Every change is published on the feed, so IMAP and MAPI see it at once.
func (s *Store) ApplyPOP3Update(ctx context.Context, u POP3Update) (removed int, err error) {
	err = s.Write(ctx, func(tx *Tx) error {
		if len(u.Seen) > 0 {
			if err := tx.addSeen(u.AccountID, u.FolderID, u.Seen); err != nil {
				return err
			}
		}
		if len(u.Delete) > 0 {
			if u.MoveToRole != "" {
				var dst Folder
				if err := tx.db.Where("account_id = ? AND role = ?", u.AccountID, u.MoveToRole).Order("id").Take(&dst).Error; err != nil {
					return notFound(err, "folder "+u.MoveToRole)
				}
				moved, err := tx.MoveMessages(u.AccountID, u.FolderID, u.Delete, dst.ID)
				if err != nil {
					return err
				}
				removed = len(moved)
			} else {
				gone, err := tx.Expunge(u.AccountID, u.FolderID, u.Delete)
				if err != nil {
					return err
				}
				removed = len(gone)
			}
		}
		if u.ReleaseHolder != "" {
			return tx.releasePOP3Lease(u.AccountID, u.ReleaseHolder)
		}
		return nil
	})
	return removed, err
}

// addSeen sets \Seen on the listed messages that lack it, with one change
// number and one UPDATE per chunk (a POP3 client may retrieve thousands).
func (tx *Tx) addSeen(accountID, folderID int64, ids []int64) error {
	var cn int64
	for chunk := range slices.Chunk(ids, 500) {
		var ms []MessageMeta
		if err := tx.db.Model(&Message{}).Select("id, uid, flags, keywords, glob_cnt").
			Where("account_id = ? AND folder_id = ? AND id IN ? AND flags & ? = 0", accountID, folderID, chunk, FlagSeen).
			Find(&ms).Error; err != nil {
			return fmt.Errorf("storage: reading flags: %w", err)
		}
		if len(ms) == 0 {
			continue
		}
		if cn == 0 {
			var err error
			if cn, _, err = tx.alloc(accountID, 0); err != nil {
				return err
			}
		}
		upd := make([]int64, len(ms))
		for i, m := range ms {
			upd[i] = m.ID
		}
		if err := tx.db.Model(&Message{}).Where("id IN ?", upd).Updates(map[string]any{
			"flags":      clause.Expr{SQL: "flags | ?", Vars: []any{FlagSeen}},
			"change_num": cn,
		}).Error; err != nil {
			return fmt.Errorf("storage: setting \\Seen: %w", err)
		}
		for _, m := range ms {
			tx.publish(Change{Kind: MessageFlagsChanged, AccountID: accountID, FolderID: folderID, MessageID: m.ID,
				UID: m.UID, GlobCnt: m.GlobCnt, Flags: m.Flags | FlagSeen, Keywords: splitKeywords(m.Keywords), ChangeNum: cn})
		}
	}
	if cn != 0 {
		if err := tx.db.Model(&Folder{}).Where("id = ?", folderID).Update("highest_mod_seq", cn).Error; err != nil {
			return fmt.Errorf("storage: folder modseq: %w", err)
		}
	}
	return nil
}

// MessageParsed returns only a message's serialised part tree (nil when it
// has none), for TOP and other readers that need offsets but not the row.
func (s *Store) MessageParsed(ctx context.Context, accountID, messageID int64) ([]byte, error) {
	var rows []struct{ Parsed []byte }
	err := s.readDB(ctx).Model(&Message{}).Select("parsed").
		Where("account_id = ? AND id = ?", accountID, messageID).Limit(1).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("storage: reading part tree: %w", classify(err))
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("storage: message %d: %w", messageID, ErrNotFound)
	}
	return rows[0].Parsed, nil
}

// ReadSmallBlobs returns, with one query, the bytes of those listed blobs
// that are stored in a single chunk (up to 256 KiB), keyed by hash. Larger
// and missing blobs are absent from the map: read them with OpenBlob or
// ReadBlob. A POP3 session uses it to fetch the next messages of a maildrop
// ahead of the client's RETRs.
func (s *Store) ReadSmallBlobs(ctx context.Context, hashes []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(hashes))
	for chunk := range slices.Chunk(hashes, 500) {
		var rows []struct {
			Hash string
			Data []byte
		}
		err := s.readDB(ctx).Table("blob_chunks AS c").Select("c.hash, c.data").
			Joins("JOIN blobs AS b ON b.hash = c.hash").
			Where("c.seq = 0 AND b.size <= ? AND c.hash IN ?", blobChunkSize, chunk).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("storage: reading blobs: %w", classify(err))
		}
		for _, r := range rows {
			out[r.Hash] = r.Data
		}
	}
	return out, nil
}
