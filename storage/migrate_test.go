package storage_test

import (
	"testing"
)

// Migration 3 drops two unused message indexes from a database made by an
// older binary, and a new database never has them.
func TestMigrationDropsUnusedIndexes(t *testing.T) {
	dir := t.TempDir()
	s := OpenSQLite(t, dir)
	w, r := s.DBs()
	indexes := func() map[string]bool {
		var names []string
		if err := r.Raw("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'").Scan(&names).Error; err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	if got := indexes(); got["idx_messages_blob_hash"] || got["idx_messages_sent_at"] || !got["message_sent_date"] || !got["idx_messages_glob_cnt"] {
		t.Fatalf("new database's message indexes: %v", got)
	}
	// What version 2 left behind.
	for _, stmt := range []string{
		"CREATE INDEX idx_messages_blob_hash ON messages (blob_hash)",
		"CREATE INDEX idx_messages_sent_at ON messages (sent_at)",
		"UPDATE schema_versions SET version = 2 WHERE component = 'storage'",
	} {
		if err := w.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s2 := OpenSQLite(t, dir)
	_, r = s2.DBs()
	if got := indexes(); got["idx_messages_blob_hash"] || got["idx_messages_sent_at"] {
		t.Fatalf("after upgrading from version 2: %v", got)
	}
	var v int
	if err := r.Raw("SELECT version FROM schema_versions WHERE component = 'storage'").Scan(&v).Error; err != nil || v != 3 {
		t.Fatalf("schema version %d, %v", v, err)
	}
}
