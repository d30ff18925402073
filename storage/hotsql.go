package storage

import (
	"context"
	"database/sql"
	"fmt"

	"gorm.io/gorm"
)

// The writer's hottest statements, prepared once on the sqlite writer's
// connection. gorm's statement cache prepares inside a transaction, and
// database/sql prepares such a statement again in every later transaction,
// so without this every delivery, flag change and expunge paid sqlite's
// parser for each of its statements. On PostgreSQL (and for any other
// text) the statements go through gorm as usual.
const (
	sqlAllocIDs         = "UPDATE mailboxes SET change_num = change_num + 1, glob_cnt = glob_cnt + ? WHERE account_id = ? RETURNING change_num, glob_cnt"
	sqlAllocForMessage  = "UPDATE mailboxes SET change_num = change_num + 1, glob_cnt = glob_cnt + 1, used_bytes = used_bytes + ? WHERE account_id = ? AND (? OR quota_bytes = 0 OR used_bytes + ? <= quota_bytes) RETURNING change_num, glob_cnt"
	sqlTakeUID          = "UPDATE folders SET uid_next = uid_next + 1, highest_mod_seq = ? WHERE id = ? AND account_id = ? RETURNING uid_next"
	sqlInsertMessage    = "INSERT INTO messages (account_id, folder_id, uid, glob_cnt, change_num, flags, keywords, internal_date, size, blob_hash, parsed, message_class, subject, from_name, from_addr, to_display, cc_display, sent_at, received_at, has_attachments, importance, message_id_header, preview, mime_from_change) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
	sqlSetMessageFlags  = "UPDATE messages SET flags = ?, keywords = ?, change_num = ? WHERE id = ?"
	sqlFlagRow          = "SELECT id, uid, flags, keywords, change_num, glob_cnt FROM messages WHERE account_id = ? AND folder_id = ? AND id IN (?)"
	sqlHighestModSeq    = "UPDATE folders SET highest_mod_seq = ?, updated_at = ? WHERE id = ?"
	sqlExpungeDeleted   = "SELECT id, uid, glob_cnt, blob_hash, size FROM messages WHERE account_id = ? AND folder_id = ? AND (" + condDeletedUpTo + ") ORDER BY uid"
	sqlAllocForExpunge  = "UPDATE mailboxes SET change_num = change_num + 1, used_bytes = CASE WHEN used_bytes > ? THEN used_bytes - ? ELSE 0 END WHERE account_id = ? RETURNING change_num"
	sqlDeleteProps1     = "DELETE FROM properties WHERE object_kind = ? AND object_id IN (?)"
	sqlDeleteMessage1   = "DELETE FROM messages WHERE id IN (?)"
	sqlInsertTombstone  = "INSERT INTO tombstones (account_id, folder_id, uid, glob_cnt, change_num) VALUES (?, ?, ?, ?, ?)"
	sqlBlobExists       = "SELECT 1 FROM blobs WHERE hash = ?"
	sqlInsertBlob       = "INSERT INTO blobs (hash, size, refs) VALUES (?, ?, 0) ON CONFLICT DO NOTHING"
	sqlInsertBlobChunk  = "INSERT INTO blob_chunks (hash, seq, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
	sqlRefBlob          = "UPDATE blobs SET refs = refs + ? WHERE hash = ?"
	sqlUnrefBlob        = "UPDATE blobs SET refs = refs - ? WHERE hash = ? RETURNING refs"
	sqlDeleteBlobChunks = "DELETE FROM blob_chunks WHERE hash = ?"
	sqlDeleteBlob       = "DELETE FROM blobs WHERE hash = ?"

	// condDeletedUpTo selects what an IMAP EXPUNGE may remove.
	condDeletedUpTo = "flags & ? <> 0 AND flags & ? = 0 AND uid <= ?"
)

var hotSQL = []string{
	sqlAllocIDs, sqlAllocForMessage, sqlTakeUID, sqlInsertMessage, sqlSetMessageFlags, sqlFlagRow, sqlHighestModSeq,
	sqlExpungeDeleted, sqlAllocForExpunge, sqlDeleteProps1, sqlDeleteMessage1, sqlInsertTombstone,
	sqlBlobExists, sqlInsertBlob, sqlInsertBlobChunk, sqlRefBlob, sqlUnrefBlob, sqlDeleteBlobChunks, sqlDeleteBlob,
}

// prepareHot prepares hotSQL on the writer's one connection, before the
// writer starts (a prepare needs the connection free).
func (s *Store) prepareHot(ctx context.Context) error {
	sdb, err := s.write.DB()
	if err != nil {
		return err
	}
	s.hot = make(map[string]*sql.Stmt, len(hotSQL))
	for _, q := range hotSQL {
		st, err := sdb.PrepareContext(ctx, q)
		if err != nil {
			s.closeHot()
			return fmt.Errorf("storage: preparing %q: %w", q, err)
		}
		s.hot[q] = st
	}
	return nil
}

func (s *Store) closeHot() {
	for _, st := range s.hot {
		st.Close()
	}
	s.hot = nil
}

// stmt returns the prepared form of query for this transaction, or nil.
func (tx *Tx) stmt(query string) *sql.Stmt {
	st := tx.s.hot[query]
	if st == nil {
		return nil
	}
	var sqlTx *sql.Tx
	switch p := tx.db.Statement.ConnPool.(type) {
	case *sql.Tx:
		sqlTx = p
	case *gorm.PreparedStmtTX:
		sqlTx, _ = p.Tx.(*sql.Tx)
	}
	if sqlTx == nil {
		return nil
	}
	return sqlTx.Stmt(st)
}

// execSQL runs a statement that returns no rows.
func (tx *Tx) execSQL(query string, args ...any) (rowsAffected int64, err error) {
	if st := tx.stmt(query); st != nil {
		res, err := st.Exec(args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	res := tx.db.Exec(query, args...)
	return res.RowsAffected, res.Error
}

// queryRowSQL runs a statement that returns one row.
func (tx *Tx) queryRowSQL(query string, args ...any) *sql.Row {
	if st := tx.stmt(query); st != nil {
		return st.QueryRow(args...)
	}
	return tx.db.Raw(query, args...).Row()
}

// querySQL runs a statement that returns rows.
func (tx *Tx) querySQL(query string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(query); st != nil {
		return st.Query(args...)
	}
	return tx.db.Raw(query, args...).Rows()
}
