package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// schemaVersion records which migrations ran. Each component (storage,
// directory) keeps its own sequence in the same table.
type schemaVersion struct {
	Component string `gorm:"primaryKey"`
	Version   int    `gorm:"not null"`
	AppliedAt time.Time
}

func (schemaVersion) TableName() string { return "schema_versions" }

// migration n moves the schema from version n to n+1. Append only: never
// edit a migration that has shipped.
type migration func(tx *gorm.DB) error

var storageMigrations = []migration{
	// 1: the initial schema.
	func(tx *gorm.DB) error {
		return tx.Migrator().CreateTable(&Mailbox{}, &Folder{}, &Message{}, &Tombstone{}, &Blob{}, &BlobChunk{},
			&Property{}, &NamedProp{}, &QueueMessage{}, &QueueRecipient{}, &DeliveryLog{})
	},
	// 2: lists sorted by sent date (MAPI PidTagClientSubmitTime, the
	// webmail's "Date" column) use an index instead of sorting the folder.
	func(tx *gorm.DB) error {
		return tx.Exec("CREATE INDEX IF NOT EXISTS message_sent_date ON messages (folder_id, sent_at)").Error
	},
	// 3: two indexes no query uses (blobs are found by their own table;
	// dates are searched per folder with migration 2's index) cost every
	// delivery and expunge a B-tree update each.
	func(tx *gorm.DB) error {
		for _, idx := range []string{"idx_messages_blob_hash", "idx_messages_sent_at"} {
			if err := tx.Exec("DROP INDEX IF EXISTS " + idx).Error; err != nil {
				return err
			}
		}
		return nil
	},
}

func (s *Store) migrate(ctx context.Context) error {
	return runMigrations(ctx, s.write, "storage", storageMigrations)
}

func runMigrations(ctx context.Context, db *gorm.DB, component string, ms []migration) error {
	db = db.WithContext(ctx)
	if err := db.Migrator().AutoMigrate(&schemaVersion{}); err != nil {
		return fmt.Errorf("storage: creating schema_versions: %w", err)
	}
	return db.Transaction(func(tx *gorm.DB) error {
		// Several nodes may start at once on one PostgreSQL: one migrates.
		if tx.Dialector.Name() == "postgres" {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(7226470)").Error; err != nil {
				return fmt.Errorf("storage: migration lock: %w", err)
			}
		}
		var v schemaVersion
		err := tx.Where("component = ?", component).Limit(1).Find(&v).Error
		if err != nil {
			return fmt.Errorf("storage: reading schema version: %w", err)
		}
		if v.Version > len(ms) {
			return fmt.Errorf("storage: database schema %s is version %d, newer than this binary knows (%d)", component, v.Version, len(ms))
		}
		for i := v.Version; i < len(ms); i++ {
			if err := ms[i](tx); err != nil {
				return fmt.Errorf("storage: migration %s %d: %w", component, i+1, err)
			}
		}
		if v.Version == len(ms) {
			return nil
		}
		v = schemaVersion{Component: component, Version: len(ms), AppliedAt: time.Now().UTC()}
		return tx.Save(&v).Error
	})
}
