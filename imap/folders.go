package imap

import (
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pochta/pochta/storage"
)

// delim is the hierarchy separator (storage.FolderPathSep).
const delim = '/'

const inboxName = "INBOX"

// mbox is one folder as an IMAP mailbox.
type mbox struct {
	folder     storage.Folder
	name       string
	parent     *mbox
	children   []*mbox
	specialUse imap.MailboxAttr
}

// tree is the account's mail folders as IMAP sees them: the IPM subtree's
// folders of container class IPF.Note (or none), not hidden, whose parents
// are mail folders too. Calendar, Contacts, Tasks, Notes, Journal and the
// hidden system folders are not mailboxes.
type tree struct {
	all      []storage.Folder
	list     []*mbox // INBOX first, then by name
	byName   map[string]*mbox
	byFold   map[string]*mbox
	ipm      *storage.Folder
	children map[int64][]int64 // every folder's children, mail or not
}

func isMailClass(class string) bool {
	return class == "" || class == "IPF.Note" || strings.HasPrefix(class, "IPF.Note.")
}

// specialUse maps folder roles to RFC 6154 attributes.
func specialUse(role string) imap.MailboxAttr {
	switch role {
	case storage.RoleSent:
		return imap.MailboxAttrSent
	case storage.RoleDeleted:
		return imap.MailboxAttrTrash
	case storage.RoleDrafts:
		return imap.MailboxAttrDrafts
	case storage.RoleJunk:
		return imap.MailboxAttrJunk
	}
	return ""
}

func buildTree(folders []storage.Folder) *tree {
	t := &tree{all: folders, byName: map[string]*mbox{}, byFold: map[string]*mbox{}, children: map[int64][]int64{}}
	byID := make(map[int64]*storage.Folder, len(folders))
	for i := range folders {
		f := &folders[i]
		byID[f.ID] = f
		t.children[f.ParentID] = append(t.children[f.ParentID], f.ID)
		if f.Role == storage.RoleIPMSubtree {
			t.ipm = f
		}
	}
	if t.ipm == nil {
		return t
	}
	var walk func(parent *mbox, parentID int64, depth int)
	walk = func(parent *mbox, parentID int64, depth int) {
		if depth > 64 {
			return
		}
		for _, id := range t.children[parentID] {
			f := byID[id]
			if f.Hidden || !isMailClass(f.ContainerClass) {
				continue
			}
			m := &mbox{folder: *f, parent: parent, specialUse: specialUse(f.Role)}
			switch {
			case parent == nil && f.Role == storage.RoleInbox:
				m.name = inboxName
			case parent == nil:
				if strings.EqualFold(f.Name, inboxName) {
					continue // would hide behind INBOX, which is case-insensitive
				}
				m.name = f.Name
			default:
				m.name = parent.name + string(delim) + f.Name
			}
			if parent != nil {
				parent.children = append(parent.children, m)
			}
			t.byName[m.name] = m
			if _, dup := t.byFold[strings.ToLower(m.name)]; !dup {
				t.byFold[strings.ToLower(m.name)] = m
			}
			t.list = append(t.list, m)
			walk(m, f.ID, depth+1)
		}
	}
	walk(nil, t.ipm.ID, 0)
	slices.SortFunc(t.list, func(a, b *mbox) int {
		ai, bi := a.name == inboxName || strings.HasPrefix(a.name, inboxName+"/"), b.name == inboxName || strings.HasPrefix(b.name, inboxName+"/")
		if ai != bi {
			if ai {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return t
}

// canonicalName makes the INBOX prefix of a name upper-case (INBOX is
// case-insensitive, RFC 9051 §5.1) and drops a trailing separator.
func canonicalName(name string) string {
	name = strings.TrimRight(name, string(delim))
	first, rest, hasRest := strings.Cut(name, string(delim))
	if strings.EqualFold(first, inboxName) {
		if hasRest {
			return inboxName + string(delim) + rest
		}
		return inboxName
	}
	return name
}

// lookup finds a mailbox by name: exactly, else ignoring case (Exchange
// folder names are case-insensitive).
func (t *tree) lookup(name string) *mbox {
	name = canonicalName(name)
	if m := t.byName[name]; m != nil {
		return m
	}
	return t.byFold[strings.ToLower(name)]
}

func (t *tree) hasAnyChildren(id int64) bool { return len(t.children[id]) > 0 }

// tree returns the account's folder tree, reusing the last one built while
// no folder has changed (most commands need it, folders rarely change).
// Callers must not modify it.
func (s *session) tree() (*tree, error) {
	gen := s.srv.store.FolderGeneration(s.accountID) // before reading: a change during the read makes the next call reload
	if s.folders != nil && s.foldersGen == gen {
		return s.folders, nil
	}
	fs, err := s.srv.store.Folders(s.ctx, s.accountID)
	if err != nil {
		return nil, s.fail("listing folders", err)
	}
	t := buildTree(fs)
	if t.ipm == nil {
		return nil, s.fail("listing folders", errors.New("imap: account has no IPM subtree"))
	}
	s.folders, s.foldersGen = t, gen
	return t, nil
}

// mailbox finds an existing mailbox or answers NO [NONEXISTENT].
func (s *session) mailbox(name string) (*mbox, *tree, error) {
	t, err := s.tree()
	if err != nil {
		return nil, nil, err
	}
	m := t.lookup(name)
	if m == nil {
		return nil, t, noError(imap.ResponseCodeNonExistent, "No such mailbox")
	}
	return m, t, nil
}

// List implements LIST and LSUB (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED,
// RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE, RFC 3348 CHILDREN).
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy delimiter (RFC 9051 §6.3.9).
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	t, err := s.tree()
	if err != nil {
		return err
	}
	ref = canonicalRef(ref)
	for i, p := range patterns {
		patterns[i] = canonicalPattern(ref, p)
	}
	matches := func(name string) bool {
		for _, p := range patterns {
			if imapserver.MatchList(name, delim, ref, p) {
				return true
			}
		}
		return false
	}
	for _, m := range t.list {
		if !matches(m.name) {
			continue
		}
		sub := m.folder.Subscribed
		var childInfo *imap.ListDataChildInfo
		if options.SelectSubscribed && !sub {
			// RFC 5258 §3.5: RECURSIVEMATCH names an unsubscribed parent
			// of subscribed children.
			if !options.SelectRecursiveMatch || !subscribedBelow(m) {
				continue
			}
			childInfo = &imap.ListDataChildInfo{Subscribed: true}
		}
		if options.SelectSpecialUse && m.specialUse == "" {
			continue
		}
		data := &imap.ListData{Delim: delim, Mailbox: m.name, ChildInfo: childInfo}
		if len(m.children) > 0 {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
		} else {
			data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if sub && (options.SelectSubscribed || options.ReturnSubscribed) {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
		}
		if m.specialUse != "" {
			data.Attrs = append(data.Attrs, m.specialUse)
		}
		if options.ReturnStatus != nil {
			st, err := s.status(m, options.ReturnStatus)
			if err != nil {
				return err
			}
			data.Status = st
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func subscribedBelow(m *mbox) bool {
	for _, c := range m.children {
		if c.folder.Subscribed || subscribedBelow(c) {
			return true
		}
	}
	return false
}

func canonicalRef(ref string) string {
	if ref == "" {
		return ref
	}
	trail := strings.HasSuffix(ref, string(delim))
	ref = canonicalName(ref)
	if trail {
		ref += string(delim)
	}
	return ref
}

// canonicalPattern upper-cases a literal INBOX at the start of the
// effective name (reference plus pattern).
func canonicalPattern(ref, p string) string {
	if ref != "" && !strings.HasPrefix(p, string(delim)) {
		return p
	}
	lead := ""
	if strings.HasPrefix(p, string(delim)) {
		lead, p = string(delim), p[1:]
	}
	first, rest, hasRest := strings.Cut(p, string(delim))
	if strings.EqualFold(first, inboxName) {
		p = inboxName
		if hasRest {
			p += string(delim) + rest
		}
	}
	return lead + p
}

// Status implements STATUS (RFC 9051 §6.3.11, RFC 8438 STATUS=SIZE,
// RFC 7889 APPENDLIMIT).
func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	m, _, err := s.mailbox(name)
	if err != nil {
		return nil, err
	}
	return s.status(m, options)
}

func (s *session) status(m *mbox, options *imap.StatusOptions) (*imap.StatusData, error) {
	if options.DeletedStorage || options.HighestModSeq {
		return nil, badError("STATUS item not supported")
	}
	st, err := s.srv.store.FolderStatus(s.ctx, s.accountID, m.folder.ID)
	if err != nil {
		return nil, s.fail("folder status", err)
	}
	data := &imap.StatusData{Mailbox: m.name, UIDNext: imap.UID(st.UIDNext), UIDValidity: st.UIDValidity}
	u32 := func(v int64) *uint32 { n := uint32(v); return &n }
	if options.NumMessages {
		data.NumMessages = u32(st.Messages)
	}
	if options.NumUnseen {
		data.NumUnseen = u32(st.Unseen)
	}
	if options.NumDeleted {
		data.NumDeleted = u32(st.Deleted)
	}
	if options.NumRecent {
		data.NumRecent = u32(0)
	}
	if options.Size {
		size := st.Size
		data.Size = &size
	}
	if options.AppendLimit {
		data.AppendLimit = u32(s.srv.opts.AppendLimit)
	}
	return data, nil
}

// Create implements CREATE (RFC 9051 §6.3.4): missing parents are made
// too, as the RFC suggests.
func (s *session) Create(name string, options *imap.CreateOptions) error {
	if len(options.SpecialUse) > 0 {
		return noError(imap.ResponseCodeCannot, "Special-use attributes cannot be assigned")
	}
	name = canonicalName(name)
	if name == "" {
		return badError("Empty mailbox name")
	}
	t, err := s.tree()
	if err != nil {
		return err
	}
	if t.lookup(name) != nil {
		return noError(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	}
	_, err = s.ensurePath(t, name)
	return err
}

// ensurePath returns the folder named by name, creating it and any missing
// parent. Components must be valid folder names.
func (s *session) ensurePath(t *tree, name string) (int64, error) {
	parts := strings.Split(name, string(delim))
	parent := t.ipm.ID
	path := ""
	for i, p := range parts {
		if i == 0 && p == inboxName {
			path = inboxName
		} else if path == "" {
			path = p
		} else {
			path += string(delim) + p
		}
		if m := t.lookup(path); m != nil {
			parent = m.folder.ID
			continue
		}
		if !storage.ValidFolderName(p) {
			return 0, noError(imap.ResponseCodeCannot, "Invalid mailbox name")
		}
		f, err := s.srv.store.CreateFolder(s.ctx, s.accountID, parent, p, "IPF.Note")
		if errors.Is(err, storage.ErrExists) {
			return 0, noError(imap.ResponseCodeAlreadyExists, "A folder of another kind has that name")
		}
		if err != nil {
			return 0, s.fail("creating a folder", err)
		}
		parent = f.ID
	}
	return parent, nil
}

// Delete implements DELETE (RFC 9051 §6.3.5). INBOX and the special
// folders stay; a mailbox with children is refused rather than deleting
// the children with it.
func (s *session) Delete(name string) error {
	m, t, err := s.mailbox(name)
	if err != nil {
		return err
	}
	if m.folder.Role != "" {
		return noError(imap.ResponseCodeCannot, "This special mailbox cannot be deleted")
	}
	if t.hasAnyChildren(m.folder.ID) {
		return noError(imap.ResponseCodeHasChildren, "Mailbox has children; delete them first")
	}
	if err := s.srv.store.DeleteFolder(s.ctx, s.accountID, m.folder.ID); err != nil {
		return s.fail("deleting a folder", err)
	}
	return nil
}

// Rename implements RENAME (RFC 9051 §6.3.6): children follow; renaming
// INBOX moves its messages to the new mailbox and leaves INBOX empty.
func (s *session) Rename(oldName, newName string, _ *imap.RenameOptions) error {
	m, t, err := s.mailbox(oldName)
	if err != nil {
		return err
	}
	newName = canonicalName(newName)
	if newName == "" {
		return badError("Empty mailbox name")
	}
	if existing := t.lookup(newName); existing != nil && existing != m {
		return noError(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
	}
	if m.name == inboxName {
		return s.renameInbox(t, m, newName)
	}
	if strings.HasPrefix(newName, m.name+string(delim)) {
		return noError(imap.ResponseCodeCannot, "Cannot move a mailbox into itself")
	}
	parentName, leaf := "", newName
	if i := strings.LastIndexByte(newName, delim); i >= 0 {
		parentName, leaf = newName[:i], newName[i+1:]
	}
	if !storage.ValidFolderName(leaf) {
		return noError(imap.ResponseCodeCannot, "Invalid mailbox name")
	}
	parent := t.ipm.ID
	if parentName != "" {
		if parent, err = s.ensurePath(t, parentName); err != nil {
			return err
		}
	}
	if err := s.srv.store.RenameFolder(s.ctx, s.accountID, m.folder.ID, parent, leaf); err != nil {
		if errors.Is(err, storage.ErrExists) {
			return noError(imap.ResponseCodeAlreadyExists, "Mailbox already exists")
		}
		return s.fail("renaming a folder", err)
	}
	return nil
}

func (s *session) renameInbox(t *tree, inbox *mbox, newName string) error {
	dst, err := s.ensurePath(t, newName)
	if err != nil {
		return err
	}
	metas, err := s.srv.store.FolderMeta(s.ctx, s.accountID, inbox.folder.ID)
	if err != nil {
		return s.fail("listing INBOX", err)
	}
	ids := make([]int64, len(metas))
	for i, m := range metas {
		ids[i] = m.ID
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.copyMessages(inbox.folder.ID, ids, dst, true); err != nil {
		return s.fail("moving INBOX", err)
	}
	return nil
}

// Subscribe implements SUBSCRIBE (RFC 9051 §6.3.7).
func (s *session) Subscribe(name string) error { return s.setSubscribed(name, true) }

// Unsubscribe implements UNSUBSCRIBE (RFC 9051 §6.3.8).
func (s *session) Unsubscribe(name string) error { return s.setSubscribed(name, false) }

func (s *session) setSubscribed(name string, on bool) error {
	m, _, err := s.mailbox(name)
	if err != nil {
		return err
	}
	if err := s.srv.store.SetSubscribed(s.ctx, s.accountID, m.folder.ID, on); err != nil {
		return s.fail("subscribing", err)
	}
	return nil
}
