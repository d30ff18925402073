package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// What the webmail needs beyond the general message API: a search across
// several folders on the promoted columns, newest first with a keyset
// cursor (the web layer tests body text itself, row by row), and the
// candidates of a conversation.

// WebSearch selects messages of some folders of one account. Empty
// conditions match everything. Text conditions are case-insensitive
// substrings (folded as FoldCase does).
type WebSearch struct {
	// FolderIDs are the folders searched; empty matches nothing.
	FolderIDs []int64
	// From matches the first From name or address.
	From string
	// Subject matches the decoded subject.
	Subject string
	// Since and Before bound the received time: on or after Since,
	// strictly before Before. Zero means unbounded.
	Since, Before time.Time
	// After is the cursor: only rows that sort after it (older, or as old
	// with a smaller id) are returned. The zero value starts at the newest.
	After WebCursor
	// Limit bounds the rows returned; 0 means 100.
	Limit int
	// WithParsed includes the part trees (for body tests).
	WithParsed bool
}

// WebCursor is a position in the newest-first order of WebSearchMessages:
// the received time and id of the last row seen.
type WebCursor struct {
	ReceivedAt time.Time
	ID         int64
}

// IsZero tells whether the cursor is the start.
func (c WebCursor) IsZero() bool { return c.ID == 0 }

// WebSearchMessages returns messages of q.FolderIDs matching q's
// conditions, newest received first (ties by id, descending), after the
// cursor; FAI messages are never included.
func (s *Store) WebSearchMessages(ctx context.Context, accountID int64, q WebSearch) ([]Message, error) {
	if len(q.FolderIDs) == 0 {
		return nil, nil
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	where := []string{"account_id = ?", "folder_id IN ?", "flags & ? = 0"}
	args := []any{accountID, q.FolderIDs, int64(FlagAssociated)}
	if q.From != "" {
		p := "%" + likeEscape(q.From) + "%"
		where = append(where, "(lower(from_name) LIKE lower(?)"+escapeClause+" OR lower(from_addr) LIKE lower(?)"+escapeClause+")")
		args = append(args, p, p)
	}
	if q.Subject != "" {
		where = append(where, "lower(subject) LIKE lower(?)"+escapeClause)
		args = append(args, "%"+likeEscape(q.Subject)+"%")
	}
	if !q.Since.IsZero() {
		where = append(where, "received_at >= ?")
		args = append(args, q.Since.UTC())
	}
	if !q.Before.IsZero() {
		where = append(where, "received_at < ?")
		args = append(args, q.Before.UTC())
	}
	if !q.After.IsZero() {
		at := q.After.ReceivedAt.UTC()
		where = append(where, "(received_at < ? OR (received_at = ? AND id < ?))")
		args = append(args, at, at, q.After.ID)
	}
	db := s.readDB(ctx).Where(strings.Join(where, " AND "), args...)
	if !q.WithParsed {
		db = db.Omit("parsed")
	}
	var ms []Message
	if err := db.Order("received_at DESC, id DESC").Limit(q.Limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("storage: searching messages: %w", classify(err))
	}
	return ms, nil
}

// WebThreadCandidates returns messages of the listed folders that may
// belong to one conversation: those whose Message-ID is one of messageIDs
// (without angle brackets), and those whose subject contains subject
// (case-insensitive; "" adds none). Newest first, at most limit (0 means
// 200), part trees included so the caller can follow References.
func (s *Store) WebThreadCandidates(ctx context.Context, accountID int64, folderIDs []int64, messageIDs []string, subject string, limit int) ([]Message, error) {
	if len(folderIDs) == 0 || (len(messageIDs) == 0 && subject == "") {
		return nil, nil
	}
	if limit <= 0 {
		limit = 200
	}
	var conds []string
	var args []any
	if len(messageIDs) > 0 {
		if len(messageIDs) > 500 {
			messageIDs = messageIDs[len(messageIDs)-500:]
		}
		conds = append(conds, "message_id_header IN ?")
		args = append(args, messageIDs)
	}
	if subject != "" {
		conds = append(conds, "lower(subject) LIKE lower(?)"+escapeClause)
		args = append(args, "%"+likeEscape(subject)+"%")
	}
	var ms []Message
	err := s.readDB(ctx).
		Where("account_id = ? AND folder_id IN ? AND flags & ? = 0", accountID, folderIDs, int64(FlagAssociated)).
		Where("("+strings.Join(conds, " OR ")+")", args...).
		Order("received_at DESC, id DESC").Limit(limit).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("storage: conversation: %w", classify(err))
	}
	return ms, nil
}
