package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// IMAP SEARCH support (RFC 9051 §6.4.4): a small condition tree the imap
// package builds from the client's criteria, run as SQL where the promoted
// columns can answer it and evaluated row by row (MatchSearch) where they
// cannot. The tree is the store's own type so that storage does not depend
// on the IMAP library.

// SearchKind says what a SearchCond tests.
type SearchKind int

const (
	SearchAll  SearchKind = iota // every message
	SearchNone                   // no message
	SearchAnd                    // all of Sub
	SearchOr                     // any of Sub
	SearchNot                    // not Sub[0]
	// SearchUID: the UID lies in one of UIDs.
	SearchUID
	// SearchFlagsSet: every flag of Flags is set; SearchFlagsClear: none is.
	SearchFlagsSet
	SearchFlagsClear
	// SearchKeyword: the message has keyword Text (case-insensitive).
	SearchKeyword
	// SearchSince and SearchBefore compare the internal date with Time:
	// since is "on or after", before is "strictly before".
	SearchSince
	SearchBefore
	// SearchSentSince and SearchSentBefore compare the Date header (the
	// internal date when the message has none) with Time.
	SearchSentSince
	SearchSentBefore
	// SearchLarger and SearchSmaller compare the size with Size (strictly).
	SearchLarger
	SearchSmaller
	// Substring tests on promoted columns (case-insensitive): the decoded
	// subject; the first From name or address; the Message-ID.
	SearchSubject
	SearchFrom
	SearchMessageID
	// SearchExternal is a test the store cannot answer (body text, other
	// header fields): SQL treats it as true and MatchSearch asks the caller.
	// Ext identifies it for the caller.
	SearchExternal
)

// UIDRange is an inclusive range of UIDs, Start <= Stop.
type UIDRange struct{ Start, Stop uint32 }

// SearchCond is one node of a search condition tree.
type SearchCond struct {
	Kind  SearchKind
	Sub   []SearchCond
	UIDs  []UIDRange
	Flags Flags
	Text  string
	Time  time.Time
	Size  int64
	// Ext is the caller's tag for a SearchExternal node.
	Ext int
}

// MaxSearchDepth bounds the nesting of a condition tree; deeper trees are
// refused with ErrSearchTooComplex (SQL engines have expression depth limits).
const MaxSearchDepth = 64

// maxSQLRanges bounds the UID ranges written into one SQL statement; a
// longer list becomes its hull in SQL and is checked row by row.
const maxSQLRanges = 200

// ErrSearchTooComplex: the condition tree nests too deeply.
var ErrSearchTooComplex = errors.New("storage: search condition too complex")

// noDate is below any real Date header: messages whose SentAt is earlier
// have none, and their internal date stands in (as Dovecot does).
var noDate = time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)

// likeEscape escapes LIKE wildcards; the pattern uses ESCAPE '\'.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

const escapeClause = ` ESCAPE '\'`

// searchSQL returns a WHERE fragment selecting a superset of the messages
// matching c, and whether the superset is exact.
func searchSQL(c *SearchCond, depth int) (string, []any, bool, error) {
	if depth > MaxSearchDepth {
		return "", nil, false, ErrSearchTooComplex
	}
	switch c.Kind {
	case SearchAll:
		return "1 = 1", nil, true, nil
	case SearchNone:
		return "1 = 0", nil, true, nil
	case SearchAnd, SearchOr:
		if len(c.Sub) == 0 {
			if c.Kind == SearchAnd {
				return "1 = 1", nil, true, nil
			}
			return "1 = 0", nil, true, nil
		}
		op := " AND "
		if c.Kind == SearchOr {
			op = " OR "
		}
		parts := make([]string, 0, len(c.Sub))
		var args []any
		exact := true
		for i := range c.Sub {
			f, a, ex, err := searchSQL(&c.Sub[i], depth+1)
			if err != nil {
				return "", nil, false, err
			}
			parts = append(parts, "("+f+")")
			args = append(args, a...)
			exact = exact && ex
		}
		return strings.Join(parts, op), args, exact, nil
	case SearchNot:
		if len(c.Sub) != 1 {
			return "", nil, false, fmt.Errorf("storage: NOT needs one operand, has %d", len(c.Sub))
		}
		f, a, ex, err := searchSQL(&c.Sub[0], depth+1)
		if err != nil {
			return "", nil, false, err
		}
		if !ex {
			// The complement of a superset is not a superset of the complement.
			return "1 = 1", nil, false, nil
		}
		return "NOT (" + f + ")", a, true, nil
	case SearchUID:
		if len(c.UIDs) == 0 {
			return "1 = 0", nil, true, nil
		}
		if len(c.UIDs) > maxSQLRanges {
			lo, hi := c.UIDs[0].Start, c.UIDs[0].Stop
			for _, r := range c.UIDs {
				lo, hi = min(lo, r.Start), max(hi, r.Stop)
			}
			return "uid BETWEEN ? AND ?", []any{lo, hi}, false, nil
		}
		parts := make([]string, 0, len(c.UIDs))
		args := make([]any, 0, 2*len(c.UIDs))
		for _, r := range c.UIDs {
			if r.Start == r.Stop {
				parts = append(parts, "uid = ?")
				args = append(args, r.Start)
				continue
			}
			parts = append(parts, "uid BETWEEN ? AND ?")
			args = append(args, r.Start, r.Stop)
		}
		return strings.Join(parts, " OR "), args, true, nil
	case SearchFlagsSet:
		return "flags & ? = ?", []any{int64(c.Flags), int64(c.Flags)}, true, nil
	case SearchFlagsClear:
		return "flags & ? = 0", []any{int64(c.Flags)}, true, nil
	case SearchKeyword:
		return "(' ' || lower(keywords) || ' ') LIKE lower(?)" + escapeClause, []any{"% " + likeEscape(c.Text) + " %"}, true, nil
	case SearchSince:
		return "internal_date >= ?", []any{c.Time.UTC()}, true, nil
	case SearchBefore:
		return "internal_date < ?", []any{c.Time.UTC()}, true, nil
	case SearchSentSince:
		return "(CASE WHEN sent_at < ? THEN internal_date ELSE sent_at END) >= ?", []any{noDate, c.Time.UTC()}, true, nil
	case SearchSentBefore:
		return "(CASE WHEN sent_at < ? THEN internal_date ELSE sent_at END) < ?", []any{noDate, c.Time.UTC()}, true, nil
	case SearchLarger:
		return "size > ?", []any{c.Size}, true, nil
	case SearchSmaller:
		return "size < ?", []any{c.Size}, true, nil
	case SearchSubject:
		return "lower(subject) LIKE lower(?)" + escapeClause, []any{"%" + likeEscape(c.Text) + "%"}, true, nil
	case SearchFrom:
		p := "%" + likeEscape(c.Text) + "%"
		return "lower(from_name) LIKE lower(?)" + escapeClause + " OR lower(from_addr) LIKE lower(?)" + escapeClause, []any{p, p}, true, nil
	case SearchMessageID:
		return "lower(message_id_header) LIKE lower(?)" + escapeClause, []any{"%" + likeEscape(c.Text) + "%"}, true, nil
	case SearchExternal:
		return "1 = 1", nil, false, nil
	}
	return "", nil, false, fmt.Errorf("storage: unknown search kind %d", c.Kind)
}

// SearchExact reports whether the store answers c without MatchSearch (no
// external tests, no overlong UID lists), so SearchUIDs may be used.
func SearchExact(c *SearchCond) (bool, error) {
	_, _, exact, err := searchSQL(c, 0)
	return exact, err
}

func (s *Store) searchQuery(ctx context.Context, accountID, folderID int64, maxUID uint32, c *SearchCond) (q *searchScope, exact bool, err error) {
	frag, args, exact, err := searchSQL(c, 0)
	if err != nil {
		return nil, false, err
	}
	return &searchScope{
		where: "account_id = ? AND folder_id = ? AND flags & ? = 0 AND uid <= ? AND (" + frag + ")",
		args:  append([]any{accountID, folderID, int64(FlagAssociated), maxUID}, args...),
	}, exact, nil
}

type searchScope struct {
	where string
	args  []any
}

// SearchUIDs returns, in ascending order, the UIDs of the folder's messages
// (UID at most maxUID, FAI excluded) that match c. c must be exact
// (SearchExact); otherwise use SearchCandidates and MatchSearch.
func (s *Store) SearchUIDs(ctx context.Context, accountID, folderID int64, maxUID uint32, c *SearchCond) ([]uint32, error) {
	q, exact, err := s.searchQuery(ctx, accountID, folderID, maxUID, c)
	if err != nil {
		return nil, err
	}
	if !exact {
		return nil, errors.New("storage: SearchUIDs needs an exact condition")
	}
	var uids []uint32
	if err := s.readDB(ctx).Model(&Message{}).Where(q.where, q.args...).Order("uid").Pluck("uid", &uids).Error; err != nil {
		return nil, fmt.Errorf("storage: searching: %w", classify(err))
	}
	return uids, nil
}

// SearchCandidates returns, in UID order, at most limit messages with a UID
// above afterUID and at most maxUID whose rows may match c (a superset when
// c is not exact), part trees included. The caller pages by passing the last
// UID back as afterUID and filters each row with MatchSearch.
func (s *Store) SearchCandidates(ctx context.Context, accountID, folderID int64, afterUID, maxUID uint32, c *SearchCond, limit int) ([]Message, error) {
	q, _, err := s.searchQuery(ctx, accountID, folderID, maxUID, c)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 200
	}
	var ms []Message
	err = s.readDB(ctx).Where(q.where, q.args...).Where("uid > ?", afterUID).Order("uid").Limit(limit).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("storage: searching: %w", classify(err))
	}
	return ms, nil
}

// MatchSearch evaluates c on one message row with the same meaning as the
// SQL SearchUIDs runs; ext answers SearchExternal nodes (nil: they are
// false). Text comparisons fold case the way the database's lower() does:
// ASCII only on sqlite, Unicode on PostgreSQL.
func (s *Store) MatchSearch(c *SearchCond, m *Message, ext func(*SearchCond) (bool, error)) (bool, error) {
	return s.match(c, m, ext, 0)
}

func (s *Store) match(c *SearchCond, m *Message, ext func(*SearchCond) (bool, error), depth int) (bool, error) {
	if depth > MaxSearchDepth {
		return false, ErrSearchTooComplex
	}
	switch c.Kind {
	case SearchAll:
		return true, nil
	case SearchNone:
		return false, nil
	case SearchAnd:
		for i := range c.Sub {
			ok, err := s.match(&c.Sub[i], m, ext, depth+1)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case SearchOr:
		for i := range c.Sub {
			ok, err := s.match(&c.Sub[i], m, ext, depth+1)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case SearchNot:
		if len(c.Sub) != 1 {
			return false, fmt.Errorf("storage: NOT needs one operand, has %d", len(c.Sub))
		}
		ok, err := s.match(&c.Sub[0], m, ext, depth+1)
		return !ok && err == nil, err
	case SearchUID:
		return slices.ContainsFunc(c.UIDs, func(r UIDRange) bool { return m.UID >= r.Start && m.UID <= r.Stop }), nil
	case SearchFlagsSet:
		return m.Flags&c.Flags == c.Flags, nil
	case SearchFlagsClear:
		return m.Flags&c.Flags == 0, nil
	case SearchKeyword:
		want := s.FoldCase(c.Text)
		return slices.ContainsFunc(splitKeywords(m.Keywords), func(k string) bool { return s.FoldCase(k) == want }), nil
	case SearchSince:
		return !m.InternalDate.Before(c.Time), nil
	case SearchBefore:
		return m.InternalDate.Before(c.Time), nil
	case SearchSentSince, SearchSentBefore:
		sent := m.SentAt
		if sent.Before(noDate) {
			sent = m.InternalDate
		}
		if c.Kind == SearchSentSince {
			return !sent.Before(c.Time), nil
		}
		return sent.Before(c.Time), nil
	case SearchLarger:
		return m.Size > c.Size, nil
	case SearchSmaller:
		return m.Size < c.Size, nil
	case SearchSubject:
		return s.ContainsFold(m.Subject, c.Text), nil
	case SearchFrom:
		return s.ContainsFold(m.FromName, c.Text) || s.ContainsFold(m.FromAddr, c.Text), nil
	case SearchMessageID:
		return s.ContainsFold(m.MessageIDHeader, c.Text), nil
	case SearchExternal:
		if ext == nil {
			return false, nil
		}
		return ext(c)
	}
	return false, fmt.Errorf("storage: unknown search kind %d", c.Kind)
}

// FoldCase folds s the way the database's lower() does for searches.
func (s *Store) FoldCase(x string) string {
	if s.driver == "sqlite" {
		return asciiLower(x)
	}
	return strings.ToLower(x)
}

// ContainsFold reports whether needle occurs in haystack, case folded as
// FoldCase does.
func (s *Store) ContainsFold(haystack, needle string) bool {
	return strings.Contains(s.FoldCase(haystack), s.FoldCase(needle))
}

func asciiLower(x string) string {
	for i := 0; i < len(x); i++ {
		if c := x[i]; c >= 'A' && c <= 'Z' {
			b := []byte(x)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return x
}
