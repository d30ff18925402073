package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NewMessage is what AddMessage stores. BlobHash must name a blob stored
// with PutBlob in the same transaction (or an existing one).
type NewMessage struct {
	BlobHash        string
	Size            int64
	InternalDate    time.Time
	Flags           Flags
	Keywords        []string
	Parsed          []byte
	MessageClass    string
	Subject         string
	FromName        string
	FromAddr        string
	ToDisplay       string
	CcDisplay       string
	SentAt          time.Time
	HasAttachments  bool
	Importance      int
	MessageIDHeader string
	Preview         string
}

// AddMessage stores a message in a folder: it takes the folder's next UID,
// the account's next change number and a new GLOBCNT, references the blob,
// counts the bytes against the quota (unless ignoreQuota) and publishes
// MessageAdded after the commit.
func (tx *Tx) AddMessage(accountID, folderID int64, nm *NewMessage, ignoreQuota bool) (*Message, error) {
	if nm.BlobHash == "" {
		return nil, fmt.Errorf("storage: message without blob")
	}
	// One statement takes the change number and GLOBCNT and charges the
	// quota; it matches no row when the quota would be exceeded.
	var cn, gc int64
	row := tx.queryRowSQL(sqlAllocForMessage, nm.Size, accountID, ignoreQuota, nm.Size)
	if err := row.Scan(&cn, &gc); err != nil {
		if !errors.Is(err, errNoRows) {
			return nil, fmt.Errorf("storage: allocating ids: %w", err)
		}
		var n int64
		if err := tx.db.Model(&Mailbox{}).Where("account_id = ?", accountID).Count(&n).Error; err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("storage: mailbox %d: %w", accountID, ErrNotFound)
		}
		return nil, ErrQuotaExceeded
	}
	var uid uint32
	row = tx.queryRowSQL(sqlTakeUID, cn, folderID, accountID)
	if err := row.Scan(&uid); err != nil {
		return nil, notFound(err, "folder")
	}
	uid--
	m := &Message{
		AccountID: accountID, FolderID: folderID, UID: uid, GlobCnt: gc, ChangeNum: cn,
		Flags: nm.Flags, Keywords: joinKeywords(nm.Keywords), InternalDate: nm.InternalDate.UTC(),
		Size: nm.Size, BlobHash: nm.BlobHash, Parsed: nm.Parsed,
		MessageClass: nm.MessageClass, Subject: nm.Subject, FromName: nm.FromName, FromAddr: nm.FromAddr,
		ToDisplay: nm.ToDisplay, CcDisplay: nm.CcDisplay, SentAt: nm.SentAt.UTC(),
		ReceivedAt: time.Now().UTC(), HasAttachments: nm.HasAttachments, Importance: nm.Importance,
		MessageIDHeader: nm.MessageIDHeader, Preview: nm.Preview,
	}
	if m.MessageClass == "" {
		m.MessageClass = "IPM.Note"
	}
	if m.InternalDate.IsZero() {
		m.InternalDate = m.ReceivedAt
	}
	// A raw INSERT: gorm's Create reflects over these 24 columns on every
	// delivery, inside the single writer.
	err := tx.queryRowSQL(sqlInsertMessage,
		m.AccountID, m.FolderID, m.UID, m.GlobCnt, m.ChangeNum, m.Flags, m.Keywords, m.InternalDate, m.Size,
		m.BlobHash, m.Parsed, m.MessageClass, m.Subject, m.FromName, m.FromAddr, m.ToDisplay, m.CcDisplay, m.SentAt, m.ReceivedAt,
		m.HasAttachments, m.Importance, m.MessageIDHeader, m.Preview, m.MIMEFromChange).Scan(&m.ID)
	if err != nil {
		return nil, fmt.Errorf("storage: adding message: %w", err)
	}
	if err := tx.refBlob(nm.BlobHash, 1); err != nil {
		return nil, err
	}
	tx.publish(Change{Kind: MessageAdded, AccountID: accountID, FolderID: folderID, MessageID: m.ID, UID: uid, GlobCnt: gc, Flags: m.Flags, Keywords: splitKeywords(m.Keywords), ChangeNum: cn})
	return m, nil
}

func joinKeywords(kw []string) string {
	kw = normKeywords(kw)
	return strings.Join(kw, " ")
}

func normKeywords(kw []string) []string {
	out := make([]string, 0, len(kw))
	for _, k := range kw {
		k = strings.TrimSpace(k)
		if k == "" || strings.ContainsAny(k, " \t\r\n") {
			continue
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, k) }) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func splitKeywords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// KeywordList returns a message's keywords.
func (m *Message) KeywordList() []string { return splitKeywords(m.Keywords) }

// MessageByID returns one message of an account.
func (s *Store) MessageByID(ctx context.Context, accountID, messageID int64) (*Message, error) {
	var m Message
	if err := s.readDB(ctx).Where("account_id = ? AND id = ?", accountID, messageID).Take(&m).Error; err != nil {
		return nil, notFound(err, "message")
	}
	return &m, nil
}

// MessageByGlobCnt finds a message by its MAPI id counter.
func (s *Store) MessageByGlobCnt(ctx context.Context, accountID, globCnt int64) (*Message, error) {
	var m Message
	if err := s.readDB(ctx).Where("account_id = ? AND glob_cnt = ?", accountID, globCnt).Take(&m).Error; err != nil {
		return nil, notFound(err, "message")
	}
	return &m, nil
}

// MessageMeta is the small per-message state a session keeps in memory
// (IMAP sequence numbers, POP3 scan listings).
type MessageMeta struct {
	ID        int64
	UID       uint32 `gorm:"column:uid"`
	Flags     Flags
	Keywords  string
	ChangeNum int64
	Size      int64
	GlobCnt   int64
}

// FolderMeta returns the meta of every message in a folder in UID order
// (FAI messages excluded).
func (s *Store) FolderMeta(ctx context.Context, accountID, folderID int64) ([]MessageMeta, error) {
	return s.FolderMetaAfter(ctx, accountID, folderID, 0)
}

// MessagesByIDs returns the listed messages of an account (any order).
func (s *Store) MessagesByIDs(ctx context.Context, accountID int64, ids []int64) ([]Message, error) {
	var out []Message
	for chunk := range slices.Chunk(ids, 500) {
		var ms []Message
		if err := s.readDB(ctx).Where("account_id = ? AND id IN ?", accountID, chunk).Find(&ms).Error; err != nil {
			return nil, fmt.Errorf("storage: reading messages: %w", classify(err))
		}
		out = append(out, ms...)
	}
	return out, nil
}

// SortField names a promoted column lists sort on.
type SortField string

const (
	SortReceived SortField = "received_at"
	SortSent     SortField = "sent_at"
	SortSubject  SortField = "subject"
	SortFrom     SortField = "from_name"
	SortSize     SortField = "size"
	SortUID      SortField = "uid"
)

// ListQuery selects a page of a folder.
type ListQuery struct {
	Sort       SortField
	Descending bool
	Offset     int
	Limit      int
	Associated bool // list FAI messages instead of normal ones
}

// ListMessages returns a sorted page of a folder's messages without their
// part trees.
func (s *Store) ListMessages(ctx context.Context, accountID, folderID int64, q ListQuery) ([]Message, error) {
	switch q.Sort {
	case "":
		q.Sort = SortReceived
	case SortReceived, SortSent, SortSubject, SortFrom, SortSize, SortUID:
	default:
		return nil, fmt.Errorf("storage: unknown sort field %q", q.Sort)
	}
	dir := " ASC"
	if q.Descending {
		dir = " DESC"
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	fai := "flags & ? = 0"
	if q.Associated {
		fai = "flags & ? <> 0"
	}
	var ms []Message
	err := s.readDB(ctx).Omit("parsed").
		Where("account_id = ? AND folder_id = ? AND "+fai, accountID, folderID, FlagAssociated).
		Order(string(q.Sort) + dir + ", id" + dir).Offset(q.Offset).Limit(q.Limit).Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("storage: listing messages: %w", classify(err))
	}
	return ms, nil
}

// FlagOp says how SetFlags combines flags.
type FlagOp int

const (
	FlagsAdd FlagOp = iota
	FlagsRemove
	FlagsReplace
)

// FlagUpdate is the result of a flag change for one message.
type FlagUpdate struct {
	ID        int64
	UID       uint32
	Flags     Flags
	Keywords  []string
	ChangeNum int64
	// Skipped is set when UnchangedSince refused the change (RFC 7162).
	Skipped bool
}

// SetFlags changes flags and keywords of messages in a folder. Messages whose
// flags would not change keep their change number. unchangedSince > 0 applies
// RFC 7162's UNCHANGEDSINCE test.
func (s *Store) SetFlags(ctx context.Context, accountID, folderID int64, ids []int64, op FlagOp, flags Flags, keywords []string, unchangedSince int64) ([]FlagUpdate, error) {
	var out []FlagUpdate
	err := s.WriteAccountLocked(ctx, accountID, func(tx *Tx) error {
		var err error
		out, err = tx.SetFlags(accountID, folderID, ids, op, flags, keywords, unchangedSince)
		return err
	})
	return out, err
}

// SetFlags is the transactional form of Store.SetFlags.
func (tx *Tx) SetFlags(accountID, folderID int64, ids []int64, op FlagOp, flags Flags, keywords []string, unchangedSince int64) ([]FlagUpdate, error) {
	var out []FlagUpdate
	var cn int64
	for chunk := range slices.Chunk(ids, 500) {
		ms, err := tx.flagRows(accountID, folderID, chunk)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			nf, nk := applyFlags(m.Flags, splitKeywords(m.Keywords), op, flags, keywords)
			if unchangedSince > 0 && m.ChangeNum > unchangedSince {
				out = append(out, FlagUpdate{ID: m.ID, UID: m.UID, Flags: m.Flags, Keywords: splitKeywords(m.Keywords), ChangeNum: m.ChangeNum, Skipped: true})
				continue
			}
			nkw := joinKeywords(nk)
			if nf == m.Flags && nkw == m.Keywords {
				out = append(out, FlagUpdate{ID: m.ID, UID: m.UID, Flags: m.Flags, Keywords: nk, ChangeNum: m.ChangeNum})
				continue
			}
			if cn == 0 {
				var err error
				if cn, _, err = tx.alloc(accountID, 0); err != nil {
					return nil, err
				}
			}
			if _, err := tx.execSQL(sqlSetMessageFlags, nf, nkw, cn, m.ID); err != nil {
				return nil, err
			}
			u := FlagUpdate{ID: m.ID, UID: m.UID, Flags: nf, Keywords: splitKeywords(nkw), ChangeNum: cn}
			out = append(out, u)
			tx.publish(Change{Kind: MessageFlagsChanged, AccountID: accountID, FolderID: folderID, MessageID: m.ID, UID: m.UID, GlobCnt: m.GlobCnt, Flags: nf, Keywords: u.Keywords, ChangeNum: cn,
				PrevFlags: m.Flags, KeywordsChanged: nkw != m.Keywords})
		}
	}
	if cn != 0 {
		if err := tx.setHighestModSeq(folderID, cn); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func applyFlags(cur Flags, curKW []string, op FlagOp, flags Flags, kw []string) (Flags, []string) {
	switch op {
	case FlagsAdd:
		return cur | flags, normKeywords(append(slices.Clone(curKW), kw...))
	case FlagsRemove:
		out := slices.DeleteFunc(slices.Clone(curKW), func(k string) bool {
			return slices.ContainsFunc(kw, func(r string) bool { return strings.EqualFold(r, k) })
		})
		return cur &^ flags, normKeywords(out)
	default:
		// Replace keeps flags that are not the client's to set.
		return flags | cur&FlagAssociated, normKeywords(kw)
	}
}

// Expunged describes a removed message.
type Expunged struct {
	ID  int64
	UID uint32
}

// Expunge removes messages from a folder: the listed ids, or (ids == nil)
// every message flagged \Deleted. It returns what it removed in UID order.
func (s *Store) Expunge(ctx context.Context, accountID, folderID int64, ids []int64) ([]Expunged, error) {
	var out []Expunged
	err := s.WriteAccountLocked(ctx, accountID, func(tx *Tx) error {
		var err error
		out, err = tx.Expunge(accountID, folderID, ids)
		return err
	})
	return out, err
}

// Expunge is the transactional form of Store.Expunge.
func (tx *Tx) Expunge(accountID, folderID int64, ids []int64) ([]Expunged, error) {
	if ids == nil {
		return tx.expungeWhere(accountID, folderID, "flags & ? <> 0", FlagDeleted)
	}
	var out []Expunged
	for chunk := range slices.Chunk(ids, 500) {
		e, err := tx.expungeWhere(accountID, folderID, "id IN ?", chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, e...)
	}
	slices.SortFunc(out, func(a, b Expunged) int { return int(a.UID) - int(b.UID) })
	return out, nil
}

func (tx *Tx) expungeWhere(accountID, folderID int64, cond string, args ...any) ([]Expunged, error) {
	ms, err := tx.expungeCandidates(accountID, folderID, cond, args...)
	if err != nil {
		return nil, err
	}
	return tx.expungeRows(accountID, folderID, ms)
}

// expungeCandidates reads what expungeRows needs of the messages matching
// cond, in UID order.
func (tx *Tx) expungeCandidates(accountID, folderID int64, cond string, args ...any) ([]Message, error) {
	rows, err := tx.querySQL("SELECT id, uid, glob_cnt, blob_hash, size FROM messages WHERE account_id = ? AND folder_id = ? AND ("+cond+") ORDER BY uid",
		append([]any{accountID, folderID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []Message
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.ID, &m.UID, &m.GlobCnt, &m.BlobHash, &m.Size); err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// expungeRows removes messages read by expungeCandidates.
func (tx *Tx) expungeRows(accountID, folderID int64, ms []Message) ([]Expunged, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	var freed int64
	for _, m := range ms {
		freed += m.Size
	}
	// The change number and the freed quota in one statement.
	var cn int64
	err := tx.queryRowSQL(sqlAllocForExpunge, freed, freed, accountID).Scan(&cn)
	if errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("storage: mailbox %d: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: allocating change number: %w", err)
	}
	out := make([]Expunged, 0, len(ms))
	blobs := map[string]int64{}
	ids := make([]int64, 0, len(ms))
	tombs := make([]Tombstone, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.ID)
		blobs[m.BlobHash]++
		tombs = append(tombs, Tombstone{AccountID: accountID, FolderID: folderID, UID: m.UID, GlobCnt: m.GlobCnt, ChangeNum: cn})
		out = append(out, Expunged{ID: m.ID, UID: m.UID})
		tx.publish(Change{Kind: MessageExpunged, AccountID: accountID, FolderID: folderID, MessageID: m.ID, UID: m.UID, GlobCnt: m.GlobCnt, ChangeNum: cn})
	}
	for chunk := range slices.Chunk(ids, 500) {
		if len(chunk) == 1 { // the usual case, prepared once
			if _, err := tx.execSQL(sqlDeleteProps1, ObjectMessage, chunk[0]); err != nil {
				return nil, err
			}
			if _, err := tx.execSQL(sqlDeleteMessage1, chunk[0]); err != nil {
				return nil, err
			}
			continue
		}
		if err := tx.db.Exec("DELETE FROM properties WHERE object_kind = ? AND object_id IN ?", ObjectMessage, chunk).Error; err != nil {
			return nil, err
		}
		if err := tx.db.Exec("DELETE FROM messages WHERE id IN ?", chunk).Error; err != nil {
			return nil, err
		}
	}
	for _, tb := range tombs {
		if _, err := tx.execSQL(sqlInsertTombstone, tb.AccountID, tb.FolderID, tb.UID, tb.GlobCnt, tb.ChangeNum); err != nil {
			return nil, err
		}
	}
	for h, n := range blobs {
		if err := tx.unrefBlob(h, n); err != nil {
			return nil, err
		}
	}
	if err := tx.setHighestModSeq(folderID, cn); err != nil {
		return nil, err
	}
	return out, nil
}

// Copied pairs a source message with its copy.
type Copied struct {
	SrcID, DstID   int64
	SrcUID, DstUID uint32
}

// CopyMessages copies messages into another folder of the same account; the
// copies share the originals' blobs and properties.
func (s *Store) CopyMessages(ctx context.Context, accountID, srcFolderID int64, ids []int64, dstFolderID int64) ([]Copied, error) {
	var out []Copied
	err := s.WriteAccountLocked(ctx, accountID, func(tx *Tx) error {
		var err error
		out, err = tx.CopyMessages(accountID, srcFolderID, ids, dstFolderID)
		return err
	})
	return out, err
}

// CopyMessages is the transactional form of Store.CopyMessages.
func (tx *Tx) CopyMessages(accountID, srcFolderID int64, ids []int64, dstFolderID int64) ([]Copied, error) {
	var dst Folder
	if err := tx.db.Where("account_id = ? AND id = ?", accountID, dstFolderID).Take(&dst).Error; err != nil {
		return nil, notFound(err, "destination folder")
	}
	var out []Copied
	for chunk := range slices.Chunk(ids, 500) {
		var ms []Message
		if err := tx.db.Where("account_id = ? AND folder_id = ? AND id IN ?", accountID, srcFolderID, chunk).Order("uid").Find(&ms).Error; err != nil {
			return nil, err
		}
		for _, m := range ms {
			nm := &NewMessage{
				BlobHash: m.BlobHash, Size: m.Size, InternalDate: m.InternalDate, Flags: m.Flags,
				Keywords: splitKeywords(m.Keywords), Parsed: m.Parsed, MessageClass: m.MessageClass,
				Subject: m.Subject, FromName: m.FromName, FromAddr: m.FromAddr, ToDisplay: m.ToDisplay,
				CcDisplay: m.CcDisplay, SentAt: m.SentAt, HasAttachments: m.HasAttachments,
				Importance: m.Importance, MessageIDHeader: m.MessageIDHeader, Preview: m.Preview,
			}
			c, err := tx.AddMessage(accountID, dstFolderID, nm, false)
			if err != nil {
				return nil, err
			}
			if err := tx.db.Model(&Message{}).Where("id = ?", c.ID).Updates(map[string]any{"received_at": m.ReceivedAt, "mime_from_change": m.MIMEFromChange}).Error; err != nil {
				return nil, err
			}
			if err := tx.copyProps(ObjectMessage, m.ID, c.ID, accountID); err != nil {
				return nil, err
			}
			tx.markChange(MessageAdded, c.ID, func(ch *Change) {
				ch.SourceFolderID, ch.SourceMessageID, ch.SourceGlobCnt = srcFolderID, m.ID, m.GlobCnt
			})
			out = append(out, Copied{SrcID: m.ID, DstID: c.ID, SrcUID: m.UID, DstUID: c.UID})
		}
	}
	return out, nil
}

// MoveMessages moves messages to another folder: a copy then an expunge in
// one transaction (new UIDs in the destination, as RFC 6851 wants). The blob
// is kept, never duplicated.
func (s *Store) MoveMessages(ctx context.Context, accountID, srcFolderID int64, ids []int64, dstFolderID int64) ([]Copied, error) {
	var out []Copied
	err := s.WriteAccountLocked(ctx, accountID, func(tx *Tx) error {
		var err error
		out, err = tx.MoveMessages(accountID, srcFolderID, ids, dstFolderID)
		return err
	})
	return out, err
}

// MoveMessages is the transactional form of Store.MoveMessages.
func (tx *Tx) MoveMessages(accountID, srcFolderID int64, ids []int64, dstFolderID int64) ([]Copied, error) {
	if srcFolderID == dstFolderID {
		return nil, fmt.Errorf("storage: move into the same folder")
	}
	first := len(tx.changes)
	out, err := tx.CopyMessages(accountID, srcFolderID, ids, dstFolderID)
	if err != nil {
		return nil, err
	}
	src := make([]int64, len(out))
	halves := make(map[[2]int64]bool, 2*len(out))
	for i, c := range out {
		src[i] = c.SrcID
		halves[[2]int64{int64(MessageAdded), c.DstID}] = true
		halves[[2]int64{int64(MessageExpunged), c.SrcID}] = true
	}
	if _, err := tx.Expunge(accountID, srcFolderID, src); err != nil {
		return nil, err
	}
	for i := first; i < len(tx.changes); i++ {
		if ch := &tx.changes[i]; halves[[2]int64{int64(ch.Kind), ch.MessageID}] {
			ch.Moved = true
		}
	}
	return out, nil
}

// markChange amends the latest pending change of kind for a message (the
// one the call just made published).
func (tx *Tx) markChange(kind ChangeKind, messageID int64, mark func(*Change)) {
	for i := len(tx.changes) - 1; i >= 0; i-- {
		if tx.changes[i].Kind == kind && tx.changes[i].MessageID == messageID {
			mark(&tx.changes[i])
			return
		}
	}
}

// ChangedSince returns meta of messages in a folder changed after changeNum
// (IMAP CONDSTORE FETCH CHANGEDSINCE, MAPI sync).
func (s *Store) ChangedSince(ctx context.Context, accountID, folderID, changeNum int64) ([]MessageMeta, error) {
	var ms []MessageMeta
	err := s.readDB(ctx).Model(&Message{}).Select("id, uid, flags, keywords, change_num, size, glob_cnt").
		Where("account_id = ? AND folder_id = ? AND change_num > ?", accountID, folderID, changeNum).Order("uid").Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("storage: changes: %w", classify(err))
	}
	return ms, nil
}

// ExpungedSince returns tombstones of a folder after changeNum.
func (s *Store) ExpungedSince(ctx context.Context, accountID, folderID, changeNum int64) ([]Tombstone, error) {
	var ts []Tombstone
	err := s.readDB(ctx).Where("account_id = ? AND folder_id = ? AND change_num > ?", accountID, folderID, changeNum).Order("uid").Find(&ts).Error
	if err != nil {
		return nil, fmt.Errorf("storage: tombstones: %w", classify(err))
	}
	return ts, nil
}

// flagRows reads what SetFlags needs of the listed messages.
func (tx *Tx) flagRows(accountID, folderID int64, ids []int64) ([]MessageMeta, error) {
	var rows *sql.Rows
	var err error
	if len(ids) == 1 { // the usual case, prepared once
		rows, err = tx.querySQL(sqlFlagRow, accountID, folderID, ids[0])
	} else {
		rows, err = tx.db.Raw("SELECT id, uid, flags, keywords, change_num, glob_cnt FROM messages WHERE account_id = ? AND folder_id = ? AND id IN ?",
			accountID, folderID, ids).Rows()
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []MessageMeta
	for rows.Next() {
		var m MessageMeta
		if err := rows.Scan(&m.ID, &m.UID, &m.Flags, &m.Keywords, &m.ChangeNum, &m.GlobCnt); err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// setHighestModSeq records a folder's latest change (and, as gorm's
// updates do, when the row changed).
func (tx *Tx) setHighestModSeq(folderID, cn int64) error {
	_, err := tx.execSQL(sqlHighestModSeq, cn, time.Now().UTC(), folderID)
	return err
}
