package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// firstGlobCnt leaves room below it for the well-known folders' fixed counters.
const firstGlobCnt = 0x100

type defaultFolder struct {
	globCnt int64
	parent  int64 // globCnt of the parent, 0 for the root
	name    string
	role    string
	class   string
	hidden  bool
}

// The Exchange default tree: a non-IPM root with the system folders, and the
// IPM subtree ("Top of Information Store") that clients show. The counters
// follow gromox's numbering; any stable numbering works.
var defaultFolders = []defaultFolder{
	{1, 0, "Root", RoleRoot, "", true},
	{2, 1, "Deferred Action", RoleDeferredAction, "", true},
	{3, 1, "Spooler Queue", RoleSpoolerQueue, "", true},
	{4, 1, "Shortcuts", RoleShortcuts, "", true},
	{5, 1, "Finder", RoleFinder, "", true},
	{6, 1, "Views", RoleViews, "", true},
	{7, 1, "Common Views", RoleCommonViews, "", true},
	{8, 1, "Schedule", RoleSchedule, "", true},
	{9, 1, "Top of Information Store", RoleIPMSubtree, "", false},
	{0x0A, 9, "Sent Items", RoleSent, "IPF.Note", false},
	{0x0B, 9, "Deleted Items", RoleDeleted, "IPF.Note", false},
	{0x0C, 9, "Outbox", RoleOutbox, "IPF.Note", false},
	{0x0D, 9, "Inbox", RoleInbox, "IPF.Note", false},
	{0x0E, 9, "Drafts", RoleDrafts, "IPF.Note", false},
	{0x0F, 9, "Calendar", RoleCalendar, "IPF.Appointment", false},
	{0x10, 9, "Journal", RoleJournal, "IPF.Journal", false},
	{0x11, 9, "Notes", RoleNotes, "IPF.StickyNote", false},
	{0x12, 9, "Tasks", RoleTasks, "IPF.Task", false},
	{0x13, 9, "Contacts", RoleContacts, "IPF.Contact", false},
	{0x17, 9, "Junk Email", RoleJunk, "IPF.Note", false},
	{0x19, 9, "Sync Issues", RoleSyncIssues, "IPF.Note", true},
	{0x1A, 0x19, "Conflicts", RoleConflicts, "IPF.Note", true},
	{0x1B, 0x19, "Local Failures", RoleLocalFailures, "IPF.Note", true},
	{0x1C, 0x19, "Server Failures", RoleServerFailures, "IPF.Note", true},
}

// WellKnownGlobCnt returns the fixed GLOBCNT of a default folder role.
func WellKnownGlobCnt(role string) (int64, bool) {
	for _, f := range defaultFolders {
		if f.role == role {
			return f.globCnt, true
		}
	}
	return 0, false
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// EnsureMailbox creates the account's mailbox with the default folder tree
// if it does not exist yet. It is idempotent and safe to call on every login
// or delivery.
func (s *Store) EnsureMailbox(ctx context.Context, accountID int64) error {
	exists, err := s.MailboxExists(ctx, accountID)
	if err != nil || exists {
		return err
	}
	return s.Write(ctx, func(tx *Tx) error { return tx.EnsureMailbox(accountID) })
}

// MailboxExists tells whether the account has a mailbox.
func (s *Store) MailboxExists(ctx context.Context, accountID int64) (bool, error) {
	var n int64
	if err := s.readDB(ctx).Model(&Mailbox{}).Where("account_id = ?", accountID).Count(&n).Error; err != nil {
		return false, fmt.Errorf("storage: looking up mailbox: %w", classify(err))
	}
	return n > 0, nil
}

// EnsureMailbox is the transactional form of Store.EnsureMailbox.
func (tx *Tx) EnsureMailbox(accountID int64) error {
	var n int64
	if err := tx.db.Model(&Mailbox{}).Where("account_id = ?", accountID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	mb := Mailbox{AccountID: accountID, GUID: newGUID(), ReplicaGUID: newGUID(), GlobCnt: firstGlobCnt, ChangeNum: 0, CreatedAt: time.Now().UTC()}
	// Two first deliveries may race (PostgreSQL): the loser's insert waits
	// for the winner's commit and then does nothing; the winner made the tree.
	res := tx.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&mb)
	if res.Error != nil {
		return fmt.Errorf("storage: creating mailbox: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	ids := map[int64]int64{} // globcnt -> folder id
	for _, df := range defaultFolders {
		cn, _, err := tx.alloc(accountID, 0)
		if err != nil {
			return err
		}
		f := Folder{
			AccountID: accountID, ParentID: ids[df.parent], Name: df.name, Role: df.role,
			ContainerClass: df.class, GlobCnt: df.globCnt, GlobAccount: accountID,
			UIDValidity: uint32(df.globCnt), UIDNext: 1, HighestModSeq: cn, ChangeNum: cn,
			Subscribed: !df.hidden, Hidden: df.hidden,
		}
		if err := tx.db.Create(&f).Error; err != nil {
			return fmt.Errorf("storage: creating folder %s: %w", df.name, err)
		}
		ids[df.globCnt] = f.ID
		tx.publish(Change{Kind: FolderCreated, AccountID: accountID, FolderID: f.ID, Name: f.Name, ParentID: f.ParentID, ChangeNum: cn})
	}
	return nil
}

// alloc takes the account's next change number and n new GLOBCNTs (returning
// the first). Row-locking the mailbox serialises an account's writers on
// PostgreSQL; sqlite has one writer anyway.
func (tx *Tx) alloc(accountID int64, n int64) (changeNum, firstGlobCnt int64, err error) {
	row := tx.queryRowSQL(sqlAllocIDs, n, accountID)
	var gc int64
	if err := row.Scan(&changeNum, &gc); err != nil {
		if errors.Is(err, errNoRows) {
			return 0, 0, fmt.Errorf("storage: mailbox %d: %w", accountID, ErrNotFound)
		}
		return 0, 0, fmt.Errorf("storage: allocating change number: %w", err)
	}
	return changeNum, gc - n + 1, nil
}

// Mailbox returns an account's mailbox row.
func (s *Store) Mailbox(ctx context.Context, accountID int64) (*Mailbox, error) {
	var mb Mailbox
	err := s.readDB(ctx).Where("account_id = ?", accountID).Take(&mb).Error
	if err != nil {
		return nil, notFound(err, "mailbox")
	}
	return &mb, nil
}

// SetQuota sets the account's quota in bytes (0 = unlimited).
func (s *Store) SetQuota(ctx context.Context, accountID, quotaBytes int64) error {
	if quotaBytes < 0 {
		return errors.New("storage: quota must not be negative")
	}
	return s.Write(ctx, func(tx *Tx) error {
		res := tx.db.Model(&Mailbox{}).Where("account_id = ?", accountID).Update("quota_bytes", quotaBytes)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("storage: mailbox %d: %w", accountID, ErrNotFound)
		}
		return nil
	})
}

// DeleteMailbox removes an account's mailbox and everything in it.
func (s *Store) DeleteMailbox(ctx context.Context, accountID int64) error {
	return s.Write(ctx, func(tx *Tx) error {
		var hashes []string
		if err := tx.db.Model(&Message{}).Where("account_id = ?", accountID).Pluck("blob_hash", &hashes).Error; err != nil {
			return err
		}
		for _, h := range hashes {
			if err := tx.unrefBlob(h, 1); err != nil {
				return err
			}
		}
		for _, m := range []any{&Message{}, &Tombstone{}, &Folder{}, &Property{}} {
			if err := tx.db.Where("account_id = ?", accountID).Delete(m).Error; err != nil {
				return err
			}
		}
		if err := tx.db.Where("account_id = ?", accountID).Delete(&NamedProp{}).Error; err != nil {
			return err
		}
		return tx.db.Where("account_id = ?", accountID).Delete(&Mailbox{}).Error
	})
}

func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("storage: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("storage: reading %s: %w", what, classify(err))
}

// FolderPathSep separates folder names in the paths IMAP and the web show.
const FolderPathSep = "/"

// Folders returns all folders of an account.
func (s *Store) Folders(ctx context.Context, accountID int64) ([]Folder, error) {
	var fs []Folder
	if err := s.readDB(ctx).Where("account_id = ?", accountID).Order("id").Find(&fs).Error; err != nil {
		return nil, fmt.Errorf("storage: listing folders: %w", classify(err))
	}
	return fs, nil
}

// Folder returns one folder of an account by id.
func (s *Store) Folder(ctx context.Context, accountID, folderID int64) (*Folder, error) {
	var f Folder
	if err := s.readDB(ctx).Where("account_id = ? AND id = ?", accountID, folderID).Take(&f).Error; err != nil {
		return nil, notFound(err, "folder")
	}
	return &f, nil
}

// FolderByRole returns the account's folder with a role.
func (s *Store) FolderByRole(ctx context.Context, accountID int64, role string) (*Folder, error) {
	var f Folder
	if err := s.readDB(ctx).Where("account_id = ? AND role = ?", accountID, role).Order("id").Take(&f).Error; err != nil {
		return nil, notFound(err, "folder "+role)
	}
	return &f, nil
}

// FolderByGlobCnt finds a folder by its MAPI id counter.
func (s *Store) FolderByGlobCnt(ctx context.Context, accountID, globCnt int64) (*Folder, error) {
	var f Folder
	if err := s.readDB(ctx).Where("account_id = ? AND glob_cnt = ?", accountID, globCnt).Take(&f).Error; err != nil {
		return nil, notFound(err, "folder")
	}
	return &f, nil
}

// FolderPaths returns each folder's path below the IPM subtree (the view IMAP
// and the webmail have), keyed by folder id. Folders outside the IPM subtree
// are absent.
func FolderPaths(folders []Folder) map[int64]string {
	byID := make(map[int64]*Folder, len(folders))
	var ipm int64
	for i := range folders {
		byID[folders[i].ID] = &folders[i]
		if folders[i].Role == RoleIPMSubtree {
			ipm = folders[i].ID
		}
	}
	paths := make(map[int64]string, len(folders))
	var pathOf func(id int64, depth int) (string, bool)
	pathOf = func(id int64, depth int) (string, bool) {
		if p, ok := paths[id]; ok {
			return p, true
		}
		f := byID[id]
		if f == nil || depth > 64 {
			return "", false
		}
		if f.ParentID == ipm {
			paths[id] = f.Name
			return f.Name, true
		}
		pp, ok := pathOf(f.ParentID, depth+1)
		if !ok {
			return "", false
		}
		p := pp + FolderPathSep + f.Name
		paths[id] = p
		return p, true
	}
	for _, f := range folders {
		if f.ID != ipm {
			pathOf(f.ID, 0)
		}
	}
	return paths
}

// CreateFolder makes a folder under parentID with a container class.
func (s *Store) CreateFolder(ctx context.Context, accountID, parentID int64, name, containerClass string) (*Folder, error) {
	var f *Folder
	err := s.Write(ctx, func(tx *Tx) error {
		var err error
		f, err = tx.CreateFolder(accountID, parentID, name, containerClass)
		return err
	})
	return f, err
}

// ValidFolderName reports whether a name may be used for a folder.
func ValidFolderName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.ContainsAny(name, "/\x00\r\n") && strings.TrimSpace(name) == name
}

// CreateFolder is the transactional form of Store.CreateFolder.
func (tx *Tx) CreateFolder(accountID, parentID int64, name, containerClass string) (*Folder, error) {
	if !ValidFolderName(name) {
		return nil, fmt.Errorf("storage: invalid folder name %q", name)
	}
	var parent Folder
	if err := tx.db.Where("account_id = ? AND id = ?", accountID, parentID).Take(&parent).Error; err != nil {
		return nil, notFound(err, "parent folder")
	}
	var n int64
	if err := tx.db.Model(&Folder{}).Where("account_id = ? AND parent_id = ? AND lower(name) = lower(?)", accountID, parentID, name).Count(&n).Error; err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("storage: folder %q: %w", name, ErrExists)
	}
	cn, gc, err := tx.alloc(accountID, 1)
	if err != nil {
		return nil, err
	}
	f := Folder{
		AccountID: accountID, ParentID: parentID, Name: name, ContainerClass: containerClass,
		GlobCnt: gc, GlobAccount: accountID, UIDValidity: uint32(gc), UIDNext: 1,
		HighestModSeq: cn, ChangeNum: cn, Subscribed: true,
	}
	if err := tx.db.Create(&f).Error; err != nil {
		return nil, fmt.Errorf("storage: creating folder: %w", err)
	}
	tx.publish(Change{Kind: FolderCreated, AccountID: accountID, FolderID: f.ID, Name: name, ParentID: parentID, ChangeNum: cn})
	return &f, nil
}

// RenameFolder renames and/or moves a folder (its children move with it).
// Special folders keep their role; the root and IPM subtree cannot move.
func (s *Store) RenameFolder(ctx context.Context, accountID, folderID, newParentID int64, newName string) error {
	if !ValidFolderName(newName) {
		return fmt.Errorf("storage: invalid folder name %q", newName)
	}
	return s.Write(ctx, func(tx *Tx) error {
		var f Folder
		if err := tx.db.Where("account_id = ? AND id = ?", accountID, folderID).Take(&f).Error; err != nil {
			return notFound(err, "folder")
		}
		if f.Role == RoleRoot || f.Role == RoleIPMSubtree {
			return fmt.Errorf("storage: the %s folder cannot be renamed", f.Role)
		}
		// The new parent must exist and must not be the folder or below it.
		for p := newParentID; p != 0; {
			if p == folderID {
				return errors.New("storage: cannot move a folder into itself")
			}
			var pf Folder
			if err := tx.db.Where("account_id = ? AND id = ?", accountID, p).Take(&pf).Error; err != nil {
				return notFound(err, "parent folder")
			}
			p = pf.ParentID
		}
		var n int64
		if err := tx.db.Model(&Folder{}).Where("account_id = ? AND parent_id = ? AND lower(name) = lower(?) AND id <> ?", accountID, newParentID, newName, folderID).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("storage: folder %q: %w", newName, ErrExists)
		}
		cn, _, err := tx.alloc(accountID, 0)
		if err != nil {
			return err
		}
		if err := tx.db.Model(&Folder{}).Where("id = ?", folderID).Updates(map[string]any{
			"name": newName, "parent_id": newParentID, "change_num": cn, "updated_at": time.Now().UTC(),
		}).Error; err != nil {
			return err
		}
		tx.publish(Change{Kind: FolderRenamed, AccountID: accountID, FolderID: folderID, Name: newName, ParentID: newParentID, ChangeNum: cn,
			SourceFolderID: f.ParentID, Moved: f.ParentID != newParentID})
		return nil
	})
}

// DeleteFolder deletes a folder, its subfolders and their messages. Folders
// with a role cannot be deleted.
func (s *Store) DeleteFolder(ctx context.Context, accountID, folderID int64) error {
	return s.Write(ctx, func(tx *Tx) error { return tx.DeleteFolder(accountID, folderID) })
}

// DeleteFolder is the transactional form of Store.DeleteFolder.
func (tx *Tx) DeleteFolder(accountID, folderID int64) error {
	var f Folder
	if err := tx.db.Where("account_id = ? AND id = ?", accountID, folderID).Take(&f).Error; err != nil {
		return notFound(err, "folder")
	}
	if f.Role != "" {
		return fmt.Errorf("storage: the special folder %q cannot be deleted", f.Name)
	}
	var children []int64
	if err := tx.db.Model(&Folder{}).Where("account_id = ? AND parent_id = ?", accountID, folderID).Pluck("id", &children).Error; err != nil {
		return err
	}
	for _, c := range children {
		if err := tx.DeleteFolder(accountID, c); err != nil {
			return err
		}
	}
	if _, err := tx.expungeWhere(accountID, folderID, "1 = 1"); err != nil {
		return err
	}
	cn, _, err := tx.alloc(accountID, 0)
	if err != nil {
		return err
	}
	if err := tx.db.Where("object_kind = ? AND object_id = ?", ObjectFolder, folderID).Delete(&Property{}).Error; err != nil {
		return err
	}
	if err := tx.db.Where("folder_id = ?", folderID).Delete(&Tombstone{}).Error; err != nil {
		return err
	}
	if err := tx.db.Delete(&Folder{}, folderID).Error; err != nil {
		return err
	}
	tx.publish(Change{Kind: FolderDeleted, AccountID: accountID, FolderID: folderID, ChangeNum: cn})
	return nil
}

// SetSubscribed sets a folder's IMAP subscription.
func (s *Store) SetSubscribed(ctx context.Context, accountID, folderID int64, subscribed bool) error {
	return s.Write(ctx, func(tx *Tx) error {
		res := tx.db.Model(&Folder{}).Where("account_id = ? AND id = ?", accountID, folderID).Update("subscribed", subscribed)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("storage: folder: %w", ErrNotFound)
		}
		tx.publish(Change{Kind: FolderUpdated, AccountID: accountID, FolderID: folderID})
		return nil
	})
}

// FolderStatus is what IMAP STATUS and folder views show.
type FolderStatus struct {
	Messages      int64
	Unseen        int64
	Deleted       int64
	Size          int64
	UIDNext       uint32
	UIDValidity   uint32
	HighestModSeq int64
}

// FolderStatus counts a folder's messages (FAI messages excluded).
func (s *Store) FolderStatus(ctx context.Context, accountID, folderID int64) (*FolderStatus, error) {
	f, err := s.Folder(ctx, accountID, folderID)
	if err != nil {
		return nil, err
	}
	st := &FolderStatus{UIDNext: f.UIDNext, UIDValidity: f.UIDValidity, HighestModSeq: f.HighestModSeq}
	row := s.readDB(ctx).Raw(`SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN flags & ? = 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN flags & ? <> 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(size), 0)
		FROM messages WHERE folder_id = ? AND flags & ? = 0`, FlagSeen, FlagDeleted, folderID, FlagAssociated).Row()
	if err := row.Scan(&st.Messages, &st.Unseen, &st.Deleted, &st.Size); err != nil {
		return nil, fmt.Errorf("storage: folder status: %w", classify(err))
	}
	return st, nil
}
