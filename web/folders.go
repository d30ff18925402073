package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/storage"
)

// The webmail shows the folders IMAP shows: the IPM subtree's mail folders
// (container class IPF.Note or none), not hidden, whose parents are mail
// folders too. Calendar, Contacts, Tasks, Notes and Journal are not mail.

func isMailClass(class string) bool {
	return class == "" || class == "IPF.Note" || strings.HasPrefix(class, "IPF.Note.")
}

// roleOrder puts the special folders first, in the order mail clients
// show them.
var roleOrder = map[string]int{
	storage.RoleInbox: 1, storage.RoleDrafts: 2, storage.RoleSent: 3,
	storage.RoleDeleted: 4, storage.RoleJunk: 5, storage.RoleOutbox: 6,
}

type folderJSON struct {
	ID     int64  `json:"id"`
	Parent int64  `json:"parent"` // 0 at the top level
	Name   string `json:"name"`
	Path   string `json:"path"`
	Role   string `json:"role,omitempty"`
	Depth  int    `json:"depth"`
	Total  int64  `json:"total"`
	Unread int64  `json:"unread"`
}

// mailTree is an account's mail folders in display order.
type mailTree struct {
	list []folderJSON
	byID map[int64]*storage.Folder
	ipm  int64
	role map[string]int64
}

func (t *mailTree) has(id int64) bool { _, ok := t.byID[id]; return ok }

func (t *mailTree) ids() []int64 {
	out := make([]int64, 0, len(t.list))
	for _, f := range t.list {
		out = append(out, f.ID)
	}
	return out
}

func buildMailTree(folders []storage.Folder) *mailTree {
	t := &mailTree{byID: map[int64]*storage.Folder{}, role: map[string]int64{}}
	children := map[int64][]*storage.Folder{}
	for i := range folders {
		f := &folders[i]
		children[f.ParentID] = append(children[f.ParentID], f)
		if f.Role == storage.RoleIPMSubtree {
			t.ipm = f.ID
		}
	}
	if t.ipm == 0 {
		return t
	}
	var walk func(parent int64, path string, depth int)
	walk = func(parent int64, path string, depth int) {
		if depth > 64 {
			return
		}
		kids := slices.Clone(children[parent])
		slices.SortFunc(kids, func(a, b *storage.Folder) int {
			ra, rb := roleOrder[a.Role], roleOrder[b.Role]
			if depth == 0 && (ra != 0 || rb != 0) {
				switch {
				case ra == 0:
					return 1
				case rb == 0:
					return -1
				default:
					return ra - rb
				}
			}
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		})
		for _, f := range kids {
			if f.Hidden || !isMailClass(f.ContainerClass) {
				continue
			}
			p := f.Name
			if path != "" {
				p = path + storage.FolderPathSep + f.Name
			}
			parentID := f.ParentID
			if parentID == t.ipm {
				parentID = 0
			}
			t.byID[f.ID] = f
			if f.Role != "" {
				if _, dup := t.role[f.Role]; !dup {
					t.role[f.Role] = f.ID
				}
			}
			t.list = append(t.list, folderJSON{ID: f.ID, Parent: parentID, Name: f.Name, Path: p, Role: f.Role, Depth: depth})
			walk(f.ID, p, depth+1)
		}
	}
	walk(t.ipm, "", 0)
	return t
}

// mailTree loads the session account's mail folders.
func (s *Server) mailTree(ctx context.Context, accountID int64) (*mailTree, error) {
	fs, err := s.opts.Store.Folders(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return buildMailTree(fs), nil
}

// paramID reads a numeric path parameter; anything else is "not found".
func paramID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// folderParam returns the mail folder a path names, or not found.
func (s *Server) folderParam(c echo.Context) (*mailTree, *storage.Folder, error) {
	id, err := paramID(c, "folder")
	if err != nil {
		return nil, nil, err
	}
	t, err := s.mailTree(c.Request().Context(), sess(c).AccountID)
	if err != nil {
		return nil, nil, err
	}
	f, ok := t.byID[id]
	if !ok {
		return nil, nil, errNotFound
	}
	return t, f, nil
}

func (s *Server) listFolders(c echo.Context) error {
	ctx := c.Request().Context()
	ws := sess(c)
	t, err := s.mailTree(ctx, ws.AccountID)
	if err != nil {
		return err
	}
	counts, err := s.opts.Store.FolderCounts(ctx, ws.AccountID)
	if err != nil {
		return err
	}
	out := make([]folderJSON, len(t.list))
	for i, f := range t.list {
		f.Total, f.Unread = counts[f.ID].Messages, counts[f.ID].Unread
		out[i] = f
	}
	return c.JSON(http.StatusOK, map[string]any{"folders": out})
}

func validateFolderName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", invalid("name", "enter a name")
	}
	if !storage.ValidFolderName(name) {
		return "", invalid("name", "a folder name must be at most 255 bytes without \"/\" or line breaks")
	}
	return name, nil
}

func (s *Server) createFolder(c echo.Context) error {
	var req struct {
		Name   string `json:"name"`
		Parent int64  `json:"parent"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, err := validateFolderName(req.Name)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	t, err := s.mailTree(ctx, ws.AccountID)
	if err != nil {
		return err
	}
	parent := t.ipm
	if req.Parent != 0 {
		if !t.has(req.Parent) {
			return errNotFound
		}
		parent = req.Parent
	}
	if parent == 0 {
		return errNotFound
	}
	f, err := s.opts.Store.CreateFolder(ctx, ws.AccountID, parent, name, "IPF.Note")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": f.ID, "name": f.Name})
}

func (s *Server) renameFolder(c echo.Context) error {
	t, f, err := s.folderParam(c)
	if err != nil {
		return err
	}
	var req struct {
		Name   string `json:"name"`
		Parent *int64 `json:"parent"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if f.Role != "" {
		return invalid("name", "special folders keep their names")
	}
	name, err := validateFolderName(req.Name)
	if err != nil {
		return err
	}
	parent := f.ParentID
	if req.Parent != nil {
		switch {
		case *req.Parent == 0:
			parent = t.ipm
		case t.has(*req.Parent):
			parent = *req.Parent
		default:
			return errNotFound
		}
	}
	ws := sess(c)
	if err := s.opts.Store.RenameFolder(c.Request().Context(), ws.AccountID, f.ID, parent, name); err != nil {
		if strings.Contains(err.Error(), "into itself") {
			return invalid("parent", "a folder cannot move into itself")
		}
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) deleteFolder(c echo.Context) error {
	_, f, err := s.folderParam(c)
	if err != nil {
		return err
	}
	if f.Role != "" {
		return invalid("folder", "special folders cannot be deleted")
	}
	if err := s.opts.Store.DeleteFolder(c.Request().Context(), sess(c).AccountID, f.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
