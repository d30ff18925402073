package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// What the MAPI door (mapi/rop) needs beyond the general message API:
// batched property reads for table rows, whole property sets replaced at
// once, messages whose MAPI properties are their truth (saved with a
// rendered MIME blob, and replaced under the same MAPI id when edited),
// change stamps for property edits, counts for the folder hierarchy, and
// folder-level empty and copy.

// InternalTagLimit bounds the tags the store keeps for its own use on an
// object: property id 0 is PROP_ID_NULL, which no client may set, so every
// tag below 0x10000 is free for the MAPI door's private rows (a message's
// recipient table and attachments, a folder's rules and permissions).
const InternalTagLimit = 0x10000

// PropsOf returns the stored properties of several objects of one kind,
// keyed by object id, each sorted by tag. withInternal false leaves out the
// rows below InternalTagLimit, which can be large (attachment data).
func (s *Store) PropsOf(ctx context.Context, accountID int64, kind int, ids []int64, withInternal bool) (map[int64][]PropValue, error) {
	out := make(map[int64][]PropValue, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		var rows []Property
		// "+account_id" keeps sqlite from scanning the account's index
		// instead of the primary key (object_kind, object_id, tag).
		q := s.readDB(ctx).Where("+account_id = ? AND object_kind = ? AND object_id IN ?", accountID, kind, chunk)
		if !withInternal {
			q = q.Where("tag >= ?", InternalTagLimit)
		}
		if err := q.Order("object_id, tag").Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("storage: reading properties: %w", classify(err))
		}
		for _, r := range rows {
			out[r.ObjectID] = append(out[r.ObjectID], PropValue{Tag: r.Tag, Value: r.Value})
		}
	}
	return out, nil
}

// ReplaceProps makes props the whole property set of an object: rows not
// in props are removed.
func (tx *Tx) ReplaceProps(accountID int64, kind int, objectID int64, props []PropValue) error {
	if err := tx.db.Where("object_kind = ? AND object_id = ?", kind, objectID).Delete(&Property{}).Error; err != nil {
		return fmt.Errorf("storage: clearing properties: %w", err)
	}
	return tx.insertProps(accountID, kind, objectID, props)
}

// DeletePropIDs removes an object's properties with the given property
// ids, whatever their types.
func (tx *Tx) DeletePropIDs(accountID int64, kind int, objectID int64, ids []uint16) error {
	for _, id := range ids {
		lo := uint32(id) << 16
		if err := tx.db.Where("account_id = ? AND object_kind = ? AND object_id = ? AND tag >= ? AND tag <= ?",
			accountID, kind, objectID, lo, lo|0xFFFF).Delete(&Property{}).Error; err != nil {
			return fmt.Errorf("storage: deleting properties: %w", err)
		}
	}
	return nil
}

func (tx *Tx) insertProps(accountID int64, kind int, objectID int64, props []PropValue) error {
	if len(props) == 0 {
		return nil
	}
	rows := make([]Property, 0, len(props))
	seen := make(map[uint32]int, len(props))
	for _, p := range props {
		if i, ok := seen[p.Tag]; ok {
			rows[i].Value = p.Value // the last value of a tag wins
			continue
		}
		seen[p.Tag] = len(rows)
		v := p.Value
		if v == nil {
			v = []byte{}
		}
		rows = append(rows, Property{AccountID: accountID, ObjectKind: kind, ObjectID: objectID, Tag: p.Tag, Value: v})
	}
	if err := tx.db.CreateInBatches(rows, 100).Error; err != nil {
		return fmt.Errorf("storage: writing properties: %w", err)
	}
	return nil
}

// SaveMAPIMessage stores a message made or changed through MAPI, whose
// properties (props, the whole set) are its truth and nm its MIME rendering
// with the promoted columns. With replaceID 0 the message is added to the
// folder. Otherwise it replaces that message of the folder: the new row
// gets a new UID, so IMAP sees the old content expunged and the new one
// arrive as RFC 3501 wants, but keeps the old MAPI id (GLOBCNT) and
// arrival time, so MAPI clients see the same message changed. The stored
// rendering is marked as made from the new change number
// (Message.MIMEFromChange). It publishes MessageAdded (and MessageExpunged
// for the replaced row) after the commit.
func (tx *Tx) SaveMAPIMessage(accountID, folderID, replaceID int64, nm *NewMessage, props []PropValue, ignoreQuota bool) (*Message, error) {
	var old Message
	if replaceID != 0 {
		if err := tx.db.Omit("parsed").Where("account_id = ? AND folder_id = ? AND id = ?", accountID, folderID, replaceID).Take(&old).Error; err != nil {
			return nil, notFound(err, "message")
		}
		ignoreQuota = true // an edit must not fail halfway over quota
	}
	m, err := tx.AddMessage(accountID, folderID, nm, ignoreQuota)
	if err != nil {
		return nil, err
	}
	upd := map[string]any{"mime_from_change": m.ChangeNum}
	if replaceID != 0 {
		upd["glob_cnt"] = old.GlobCnt
		upd["received_at"] = old.ReceivedAt
		m.GlobCnt, m.ReceivedAt = old.GlobCnt, old.ReceivedAt
		// The MessageAdded change AddMessage recorded names the new
		// GLOBCNT; the message keeps its old one.
		for i := range tx.changes {
			if tx.changes[i].Kind == MessageAdded && tx.changes[i].MessageID == m.ID {
				tx.changes[i].GlobCnt = old.GlobCnt
			}
		}
	}
	if err := tx.db.Model(&Message{}).Where("id = ?", m.ID).Updates(upd).Error; err != nil {
		return nil, fmt.Errorf("storage: marking MAPI message: %w", err)
	}
	m.MIMEFromChange = m.ChangeNum
	if err := tx.insertProps(accountID, ObjectMessage, m.ID, props); err != nil {
		return nil, err
	}
	if replaceID != 0 {
		if _, err := tx.expungeWhere(accountID, folderID, "id = ?", replaceID); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// MessageColumns are promoted columns a property edit may change; nil
// fields are left as they are.
type MessageColumns struct {
	Subject      *string
	MessageClass *string
	Importance   *int
}

// TouchMessage records a change to a message's stored properties (not its
// flags, not its content): the message takes the account's next change
// number, the promoted columns in cols are updated, and MessageUpdated is
// published after the commit. It returns the change number.
func (tx *Tx) TouchMessage(accountID, messageID int64, cols MessageColumns) (int64, error) {
	var m Message
	if err := tx.db.Select("id, folder_id, uid, glob_cnt, flags").Where("account_id = ? AND id = ?", accountID, messageID).Take(&m).Error; err != nil {
		return 0, notFound(err, "message")
	}
	cn, _, err := tx.alloc(accountID, 0)
	if err != nil {
		return 0, err
	}
	upd := map[string]any{"change_num": cn}
	if cols.Subject != nil {
		upd["subject"] = *cols.Subject
	}
	if cols.MessageClass != nil {
		upd["message_class"] = *cols.MessageClass
	}
	if cols.Importance != nil {
		upd["importance"] = *cols.Importance
	}
	if err := tx.db.Model(&Message{}).Where("id = ?", messageID).Updates(upd).Error; err != nil {
		return 0, fmt.Errorf("storage: updating message: %w", err)
	}
	if err := tx.db.Model(&Folder{}).Where("id = ?", m.FolderID).Update("highest_mod_seq", cn).Error; err != nil {
		return 0, err
	}
	tx.publish(Change{Kind: MessageUpdated, AccountID: accountID, FolderID: m.FolderID, MessageID: m.ID, UID: m.UID, GlobCnt: m.GlobCnt, Flags: m.Flags, ChangeNum: cn})
	return cn, nil
}

// TouchFolder records a change to a folder's stored properties: the folder
// takes the account's next change number and FolderUpdated is published
// after the commit. It returns the change number.
func (tx *Tx) TouchFolder(accountID, folderID int64) (int64, error) {
	cn, _, err := tx.alloc(accountID, 0)
	if err != nil {
		return 0, err
	}
	res := tx.db.Model(&Folder{}).Where("account_id = ? AND id = ?", accountID, folderID).Updates(map[string]any{"change_num": cn, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return 0, fmt.Errorf("storage: updating folder: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return 0, fmt.Errorf("storage: folder %d: %w", folderID, ErrNotFound)
	}
	tx.publish(Change{Kind: FolderUpdated, AccountID: accountID, FolderID: folderID, ChangeNum: cn})
	return cn, nil
}

// FolderCount is what a folder holds, as the MAPI hierarchy shows it.
type FolderCount struct {
	Messages   int64 // normal (not associated) messages
	Unread     int64 // normal messages without \Seen
	Associated int64 // FAI messages
	Size       int64 // bytes of all messages
}

// FolderCounts counts the messages of every folder of an account in one
// query. Folders without messages are absent.
func (s *Store) FolderCounts(ctx context.Context, accountID int64) (map[int64]FolderCount, error) {
	rows, err := s.readDB(ctx).Raw(`SELECT folder_id,
		COALESCE(SUM(CASE WHEN flags & ? = 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN flags & ? = 0 AND flags & ? = 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN flags & ? <> 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(size), 0)
		FROM messages WHERE account_id = ? GROUP BY folder_id`,
		int64(FlagAssociated), int64(FlagAssociated), int64(FlagSeen), int64(FlagAssociated), accountID).Rows()
	if err != nil {
		return nil, fmt.Errorf("storage: counting messages: %w", classify(err))
	}
	defer rows.Close()
	out := map[int64]FolderCount{}
	for rows.Next() {
		var id int64
		var c FolderCount
		if err := rows.Scan(&id, &c.Messages, &c.Unread, &c.Associated, &c.Size); err != nil {
			return nil, fmt.Errorf("storage: counting messages: %w", classify(err))
		}
		out[id] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: counting messages: %w", classify(err))
	}
	return out, nil
}

// CountMessages counts a folder's normal or (associated) FAI messages:
// all rows through the folder's index, less the FAI ones through the
// partial index MigrateMAPI makes (both without reading the rows).
func (s *Store) CountMessages(ctx context.Context, accountID, folderID int64, associated bool) (int64, error) {
	var all, fai int64
	db := s.readDB(ctx)
	// The folder's owner is checked once, not on every row, so the count
	// never reads the rows themselves.
	const folder = "folder_id = (SELECT id FROM folders WHERE id = ? AND account_id = ?)"
	if err := db.Raw(fmt.Sprintf("SELECT COUNT(*) FROM messages WHERE "+folder+" AND flags & %d <> 0", FlagAssociated), folderID, accountID).Row().Scan(&fai); err != nil {
		return 0, fmt.Errorf("storage: counting messages: %w", classify(err))
	}
	if associated {
		return fai, nil
	}
	if err := db.Raw("SELECT COUNT(*) FROM messages WHERE "+folder, folderID, accountID).Row().Scan(&all); err != nil {
		return 0, fmt.Errorf("storage: counting messages: %w", classify(err))
	}
	return all - fai, nil
}

var mapiMigrations = []migration{
	// 1: FAI messages are few; a partial index finds them without reading
	// a folder's other rows (CountMessages).
	func(tx *gorm.DB) error {
		return tx.Exec(fmt.Sprintf("CREATE INDEX IF NOT EXISTS message_fai ON messages (folder_id) WHERE flags & %d <> 0", FlagAssociated)).Error
	},
}

// MigrateMAPI creates the MAPI door's indexes if they are missing. It is
// idempotent and safe to run from several nodes at once; the door works
// without it, only slower.
func (s *Store) MigrateMAPI(ctx context.Context) error {
	if err := runMigrations(ctx, s.write, "mapi", mapiMigrations); err != nil {
		return classify(err)
	}
	return nil
}

// MessagesByGlobCnt returns the messages of a folder with the given MAPI id
// counters (any order, without part trees); unknown counters are absent.
func (s *Store) MessagesByGlobCnt(ctx context.Context, accountID, folderID int64, globCnts []int64) ([]Message, error) {
	var out []Message
	for chunk := range slices.Chunk(globCnts, 500) {
		var ms []Message
		if err := s.readDB(ctx).Omit("parsed").Where("+account_id = ? AND folder_id = ? AND glob_cnt IN ?", accountID, folderID, chunk).Find(&ms).Error; err != nil {
			return nil, fmt.Errorf("storage: reading messages: %w", classify(err))
		}
		out = append(out, ms...)
	}
	return out, nil
}

// EmptyFolder removes a folder's normal messages, its FAI messages too when
// associated is set, and every subfolder that has no role (MS-OXCFOLD
// 3.2.5.9). It returns whether something was kept (a special subfolder).
func (tx *Tx) EmptyFolder(accountID, folderID int64, associated bool) (kept bool, err error) {
	var f Folder
	if err := tx.db.Where("account_id = ? AND id = ?", accountID, folderID).Take(&f).Error; err != nil {
		return false, notFound(err, "folder")
	}
	cond, arg := "flags & ? = 0", int64(FlagAssociated)
	if associated {
		cond, arg = "flags >= ?", 0 // every message
	}
	if _, err := tx.expungeWhere(accountID, folderID, cond, arg); err != nil {
		return false, err
	}
	var children []Folder
	if err := tx.db.Where("account_id = ? AND parent_id = ?", accountID, folderID).Find(&children).Error; err != nil {
		return false, err
	}
	for _, c := range children {
		if c.Role != "" {
			kept = true
			continue
		}
		if err := tx.DeleteFolder(accountID, c.ID); err != nil {
			return false, err
		}
	}
	return kept, nil
}

// CopyFolder copies a folder with its properties and messages under
// dstParentID as name; with recursive its subfolders come along. The copy
// never takes the source's role.
func (tx *Tx) CopyFolder(accountID, srcID, dstParentID int64, name string, recursive bool) (*Folder, error) {
	return tx.copyFolder(accountID, srcID, dstParentID, name, recursive, 0)
}

func (tx *Tx) copyFolder(accountID, srcID, dstParentID int64, name string, recursive bool, depth int) (*Folder, error) {
	if depth > 64 {
		return nil, fmt.Errorf("storage: folder tree too deep to copy")
	}
	var src Folder
	if err := tx.db.Where("account_id = ? AND id = ?", accountID, srcID).Take(&src).Error; err != nil {
		return nil, notFound(err, "folder")
	}
	// Copying a folder into itself or below it would never end.
	for p := dstParentID; p != 0; {
		if p == srcID {
			return nil, fmt.Errorf("storage: cannot copy a folder into itself")
		}
		var pf Folder
		if err := tx.db.Select("id, parent_id").Where("account_id = ? AND id = ?", accountID, p).Take(&pf).Error; err != nil {
			return nil, notFound(err, "parent folder")
		}
		p = pf.ParentID
	}
	dst, err := tx.CreateFolder(accountID, dstParentID, name, src.ContainerClass)
	if err != nil {
		return nil, err
	}
	if err := tx.copyProps(ObjectFolder, srcID, dst.ID, accountID); err != nil {
		return nil, err
	}
	var ids []int64
	if err := tx.db.Model(&Message{}).Where("account_id = ? AND folder_id = ?", accountID, srcID).Order("uid").Pluck("id", &ids).Error; err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		if _, err := tx.CopyMessages(accountID, srcID, ids, dst.ID); err != nil {
			return nil, err
		}
	}
	if recursive {
		var children []Folder
		if err := tx.db.Where("account_id = ? AND parent_id = ?", accountID, srcID).Order("id").Find(&children).Error; err != nil {
			return nil, err
		}
		for _, c := range children {
			if _, err := tx.copyFolder(accountID, c.ID, dst.ID, c.Name, true, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}

// NamedPropEntry is one mapping of the account's named-property map.
type NamedPropEntry struct {
	ID   uint16
	Name PropertyName
}

// NamedProps lists the account's named-property map in id order; guid
// (canonical lower-case, "" for all) limits it to one property set.
func (s *Store) NamedProps(ctx context.Context, accountID int64, guid string) ([]NamedPropEntry, error) {
	var rows []NamedProp
	q := s.readDB(ctx).Where("account_id = ?", accountID)
	if guid != "" {
		q = q.Where("guid = ?", strings.ToLower(guid))
	}
	if err := q.Order("prop_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("storage: listing named properties: %w", classify(err))
	}
	out := make([]NamedPropEntry, len(rows))
	for i, r := range rows {
		out[i] = NamedPropEntry{ID: r.PropID, Name: PropertyName{GUID: r.GUID, IsLID: r.Kind == 0, LID: r.LID, Name: r.Name}}
	}
	return out, nil
}
