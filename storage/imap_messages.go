package storage

import (
	"context"
	"fmt"
	"slices"
)

// Reads and writes the IMAP session needs beyond the general message API:
// incremental folder listings for its in-memory view, rows for FETCH
// without the part tree when it is not needed, and EXPUNGE that removes only
// what is still flagged \Deleted when it commits.

// FolderMetaAfter returns the meta of the folder's messages with a UID above
// afterUID in UID order (FAI messages excluded): what arrived since a
// session last looked. UIDs are taken in commit order, so a message with a
// lower UID can never become visible after one with a higher UID.
// With afterUID 0 it is FolderMeta, scanned without gorm's per-row
// reflection: a session selecting a 100,000-message folder reads them all.
func (s *Store) FolderMetaAfter(ctx context.Context, accountID, folderID int64, afterUID uint32) ([]MessageMeta, error) {
	rows, err := s.readDB(ctx).Raw("SELECT id, uid, flags, keywords, change_num, size, glob_cnt FROM messages "+
		"WHERE account_id = ? AND folder_id = ? AND uid > ? AND flags & ? = 0 ORDER BY uid",
		accountID, folderID, afterUID, int64(FlagAssociated)).Rows()
	if err != nil {
		return nil, fmt.Errorf("storage: listing messages: %w", classify(err))
	}
	defer rows.Close()
	var ms []MessageMeta
	for rows.Next() {
		var m MessageMeta
		if err := rows.Scan(&m.ID, &m.UID, &m.Flags, &m.Keywords, &m.ChangeNum, &m.Size, &m.GlobCnt); err != nil {
			return nil, fmt.Errorf("storage: listing messages: %w", classify(err))
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: listing messages: %w", classify(err))
	}
	return ms, nil
}

// MessagesForFetch returns the listed messages of a folder (any order);
// withParsed false leaves the part tree out, for FETCH items that do not
// need it (INTERNALDATE). Messages no longer in the folder are absent.
func (s *Store) MessagesForFetch(ctx context.Context, accountID, folderID int64, ids []int64, withParsed bool) ([]Message, error) {
	out := make([]Message, 0, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		var ms []Message
		q := s.readDB(ctx).Where("account_id = ? AND folder_id = ? AND id IN ?", accountID, folderID, chunk)
		if !withParsed {
			q = q.Omit("parsed")
		}
		if err := q.Find(&ms).Error; err != nil {
			return nil, fmt.Errorf("storage: reading messages: %w", classify(err))
		}
		out = append(out, ms...)
	}
	return out, nil
}

// ExpungeDeleted removes the folder's messages that are flagged \Deleted at
// commit time, have a UID at most maxUID and, when uids is not nil, a UID in
// one of its ranges (IMAP EXPUNGE, UID EXPUNGE and CLOSE, RFC 9051 §6.4.3,
// §6.4.9). Testing the flag in the same transaction keeps a message whose
// \Deleted another session just cleared. It returns what it removed in UID
// order and publishes MessageExpunged for each after the commit.
func (s *Store) ExpungeDeleted(ctx context.Context, accountID, folderID int64, maxUID uint32, uids []UIDRange) ([]Expunged, error) {
	var out []Expunged
	err := s.WriteAccountLocked(ctx, accountID, func(tx *Tx) error {
		// One statement text whatever the ranges (the writer's prepared
		// statements are cached by text); the few messages flagged
		// \Deleted are filtered here.
		ms, err := tx.expungeCandidates(accountID, folderID, condDeletedUpTo,
			int64(FlagDeleted), int64(FlagAssociated), maxUID)
		if err != nil {
			return err
		}
		if uids != nil {
			ms = slices.DeleteFunc(ms, func(m Message) bool { return !inUIDRanges(uids, m.UID) })
		}
		out, err = tx.expungeRows(accountID, folderID, ms)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Expunged) int { return int(a.UID) - int(b.UID) })
	return out, nil
}

// WriteAccountLocked is Write for read-then-write work on one account's
// messages (flag changes, copies, moves, expunges): on PostgreSQL it first
// locks the account's mailbox row, which every writer of the account takes
// anyway to number its change, so fn's reads see every earlier commit and
// no concurrent writer can slip in between a read and the write based on
// it. Without the lock, READ COMMITTED lets a copy read a message that a
// concurrent expunge is deleting (and fail on its freed blob), and two
// flag changes overwrite each other. sqlite has one writer; nothing to do.
func (s *Store) WriteAccountLocked(ctx context.Context, accountID int64, fn func(tx *Tx) error) error {
	return s.Write(ctx, func(tx *Tx) error {
		if s.driver == "postgres" {
			if err := tx.db.Exec("SELECT 1 FROM mailboxes WHERE account_id = ? FOR UPDATE", accountID).Error; err != nil {
				return fmt.Errorf("storage: locking mailbox: %w", err)
			}
		}
		return fn(tx)
	})
}

func inUIDRanges(rs []UIDRange, uid uint32) bool {
	for _, r := range rs {
		if uid >= r.Start && uid <= r.Stop {
			return true
		}
	}
	return false
}
