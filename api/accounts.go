package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/storage"
)

const (
	maxTextLen     = 256
	maxPasswordLen = 1024
)

// accountJSON is an account as the API shows it.
type accountJSON struct {
	ID          int64  `json:"id"`
	Address     string `json:"address"`
	DisplayName string `json:"display_name"`
	Disabled    bool   `json:"disabled"`
	// Source is "local", or the external directory that owns the account.
	Source string `json:"source"`
	// ReadOnly: only the quota may be changed here.
	ReadOnly   bool   `json:"read_only"`
	Title      string `json:"title"`
	Department string `json:"department"`
	Phone      string `json:"phone"`
	Office     string `json:"office"`
	Company    string `json:"company"`
	// QuotaBytes and UsedBytes are absent while the account has no mailbox
	// (an LDAP account that never logged in or received mail).
	QuotaBytes *int64 `json:"quota_bytes,omitempty"`
	UsedBytes  *int64 `json:"used_bytes,omitempty"`
	// Aliases only in single-account responses.
	Aliases []string `json:"aliases,omitempty"`
}

func (s *Server) accountJSON(ctx context.Context, a *directory.Account, withAliases bool) (*accountJSON, error) {
	out := &accountJSON{ID: a.ID, Address: a.Address, DisplayName: a.DisplayName, Disabled: a.Disabled, Source: a.Source,
		ReadOnly: a.Source != "local", Title: a.Title, Department: a.Department, Phone: a.Phone, Office: a.Office, Company: a.Company}
	mb, err := s.opts.Store.Mailbox(ctx, a.ID)
	switch {
	case err == nil:
		out.QuotaBytes, out.UsedBytes = &mb.QuotaBytes, &mb.UsedBytes
	case !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	if withAliases {
		als, err := s.opts.Local.Aliases(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		for _, al := range als {
			out.Aliases = append(out.Aliases, al.Address)
		}
	}
	return out, nil
}

// lookupAccount finds the account a path names: by id (digits) or by its
// primary address. An alias does not name the account here, so DELETE on
// an alias's address cannot remove the account behind it.
func (s *Server) lookupAccount(ctx context.Context, ref string) (*directory.Account, error) {
	if ref != "" && strings.Trim(ref, "0123456789") == "" {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			return nil, invalid(pathField("account", "not a valid account id"))
		}
		a, err := s.opts.Local.Account(ctx, id)
		if errors.Is(err, directory.ErrNotFound) {
			return nil, problemf(ptNotFound, "no account with id %d", id)
		}
		return a, err
	}
	addr := directory.NormalizeAddress(ref)
	if !directory.ValidAddress(addr) {
		return nil, invalid(pathField("account", "must be an account id or an e-mail address"))
	}
	a, err := s.opts.Local.AccountByAddress(ctx, addr)
	if errors.Is(err, directory.ErrNotFound) || err == nil && a.Address != addr {
		return nil, problemf(ptNotFound, "no account with the address %s", addr)
	}
	return a, err
}

// localOnly refuses changes to accounts an external directory owns.
func localOnly(a *directory.Account) error {
	if a.Source != "local" {
		return problemf(ptDirectoryManaged, "%s belongs to the %s directory; change it there (only its quota can be set here)", a.Address, a.Source)
	}
	return nil
}

func checkText(errs *fieldErrors, field, v string) {
	if utf8.RuneCountInString(v) > maxTextLen {
		errs.add(bodyField(field, fmt.Sprintf("must be at most %d characters", maxTextLen)))
		return
	}
	if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		errs.add(bodyField(field, "must not contain control characters"))
	}
}

func (s *Server) checkPassword(errs *fieldErrors, pw string, present bool) {
	switch {
	case !present || pw == "":
		errs.add(bodyField("password", "required"))
	case utf8.RuneCountInString(pw) < s.opts.MinPasswordLength:
		errs.add(bodyField("password", fmt.Sprintf("must be at least %d characters", s.opts.MinPasswordLength)))
	case len(pw) > maxPasswordLen:
		errs.add(bodyField("password", fmt.Sprintf("must be at most %d bytes", maxPasswordLen)))
	case !utf8.ValidString(pw) || strings.IndexFunc(pw, unicode.IsControl) >= 0:
		errs.add(bodyField("password", "must not contain control characters"))
	}
}

func checkAddress(errs *fieldErrors, field, in, v string) string {
	addr := directory.NormalizeAddress(v)
	switch {
	case addr == "":
		errs.add(FieldError{Field: field, In: in, Detail: "required"})
	case !directory.ValidAddress(addr):
		errs.add(FieldError{Field: field, In: in, Detail: "must be an e-mail address (local@domain)"})
	}
	return addr
}

func (s *Server) listAccounts(c echo.Context) error {
	var errs fieldErrors
	search := c.QueryParam("search")
	if utf8.RuneCountInString(search) > maxTextLen {
		errs.add(queryField("search", fmt.Sprintf("must be at most %d characters", maxTextLen)))
	}
	limit := limitParam(c, &errs)
	after := cursorParam(c, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	accs, err := s.opts.Local.ListAccounts(ctx, search, after, limit+1)
	if err != nil {
		return err
	}
	out := page[*accountJSON]{Items: make([]*accountJSON, 0, len(accs))}
	if len(accs) > limit {
		accs = accs[:limit]
		out.NextCursor = encodeCursor(accs[limit-1].ID)
	}
	for i := range accs {
		j, err := s.accountJSON(ctx, &accs[i], false)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, j)
	}
	return c.JSON(http.StatusOK, out)
}

type accountCreate struct {
	Address     string `json:"address"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
	Title       string `json:"title"`
	Department  string `json:"department"`
	Phone       string `json:"phone"`
	Office      string `json:"office"`
	Company     string `json:"company"`
	// QuotaBytes sets the mailbox quota at once (0 or absent: unlimited).
	QuotaBytes *int64 `json:"quota_bytes"`
}

// checkAccountCreate validates a creation request; it returns the
// normalized address.
func (s *Server) checkAccountCreate(in *accountCreate) (string, error) {
	var errs fieldErrors
	addr := checkAddress(&errs, "address", "body", in.Address)
	s.checkPassword(&errs, in.Password, true)
	for _, f := range [][2]string{{"display_name", in.DisplayName}, {"title", in.Title}, {"department", in.Department},
		{"phone", in.Phone}, {"office", in.Office}, {"company", in.Company}} {
		checkText(&errs, f[0], f[1])
	}
	if in.QuotaBytes != nil && *in.QuotaBytes < 0 {
		errs.add(bodyField("quota_bytes", "must not be negative (0 means unlimited)"))
	}
	return addr, errs.err()
}

// createAccount makes a local account and its mailbox: it can log in and
// receive mail as soon as the answer arrives.
func (s *Server) createAccount(c echo.Context) error {
	var in accountCreate
	if err := s.decodeBody(c, &in); err != nil {
		return err
	}
	addr, err := s.checkAccountCreate(&in)
	if err != nil {
		return err
	}
	if s.opts.DirectoryKind == "ldap" {
		return newProblem(ptDirectoryManaged, "accounts come from the LDAP directory; create them there")
	}
	ctx := c.Request().Context()
	a, err := s.opts.Local.AddAccount(ctx, directory.NewAccount{Address: addr, Password: in.Password, DisplayName: in.DisplayName,
		Title: in.Title, Department: in.Department, Phone: in.Phone, Office: in.Office, Company: in.Company})
	if errors.Is(err, directory.ErrExists) {
		return problemf(ptAlreadyExists, "%s is already the address of an account, alias or group", addr)
	}
	if err != nil {
		return err
	}
	if err := s.opts.Store.EnsureMailbox(ctx, a.ID); err != nil {
		// Without a mailbox the account would accept logins it cannot serve.
		if derr := s.opts.Local.DeleteAccount(context.WithoutCancel(ctx), a.ID); derr != nil {
			s.log.Error("removing account whose mailbox failed", "account", a.Address, "err", derr)
		}
		return fmt.Errorf("creating the mailbox of %s: %w", a.Address, err)
	}
	if in.QuotaBytes != nil && *in.QuotaBytes > 0 {
		if err := s.opts.Store.SetQuota(ctx, a.ID, *in.QuotaBytes); err != nil {
			return fmt.Errorf("setting the quota of %s: %w", a.Address, err)
		}
	}
	j, err := s.accountJSON(ctx, a, true)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("%s/accounts/%d", Prefix, a.ID))
	return c.JSON(http.StatusCreated, j)
}

func (s *Server) getAccount(c echo.Context) error {
	ctx := c.Request().Context()
	a, err := s.lookupAccount(ctx, pathParam(c, "account"))
	if err != nil {
		return err
	}
	j, err := s.accountJSON(ctx, a, true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j)
}

type accountPatch struct {
	DisplayName *string `json:"display_name"`
	Title       *string `json:"title"`
	Department  *string `json:"department"`
	Phone       *string `json:"phone"`
	Office      *string `json:"office"`
	Company     *string `json:"company"`
	Disabled    *bool   `json:"disabled"`
}

// updateAccount changes the members present in the body (RFC 7396 style:
// absent members stay as they are).
func (s *Server) updateAccount(c echo.Context) error {
	var in accountPatch
	if err := s.decodeBody(c, &in); err != nil {
		return err
	}
	var errs fieldErrors
	for _, f := range []struct {
		name string
		v    *string
	}{{"display_name", in.DisplayName}, {"title", in.Title}, {"department", in.Department}, {"phone", in.Phone}, {"office", in.Office}, {"company", in.Company}} {
		if f.v != nil {
			checkText(&errs, f.name, *f.v)
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.lookupAccount(ctx, pathParam(c, "account"))
	if err != nil {
		return err
	}
	if err := localOnly(a); err != nil {
		return err
	}
	err = s.opts.Local.UpdateAccount(ctx, a.ID, directory.AccountUpdate{DisplayName: in.DisplayName, Title: in.Title,
		Department: in.Department, Phone: in.Phone, Office: in.Office, Company: in.Company})
	if err != nil {
		return err
	}
	if in.Disabled != nil && *in.Disabled != a.Disabled {
		if err := s.opts.Local.SetDisabled(ctx, a.ID, *in.Disabled); err != nil {
			return err
		}
	}
	return s.respondAccount(c, a.ID, http.StatusOK)
}

func (s *Server) respondAccount(c echo.Context, id int64, status int) error {
	ctx := c.Request().Context()
	a, err := s.opts.Local.Account(ctx, id)
	if err != nil {
		return err
	}
	j, err := s.accountJSON(ctx, a, true)
	if err != nil {
		return err
	}
	return c.JSON(status, j)
}

// deleteAccount removes the account and its mailbox with all its mail.
func (s *Server) deleteAccount(c echo.Context) error {
	ctx := c.Request().Context()
	a, err := s.lookupAccount(ctx, pathParam(c, "account"))
	if err != nil {
		return err
	}
	if err := localOnly(a); err != nil {
		return err
	}
	// Mailbox first: an account without a mailbox can be deleted again, a
	// mailbox without an account would be an orphan nobody can reach.
	if err := s.opts.Store.DeleteMailbox(ctx, a.ID); err != nil {
		return err
	}
	if err := s.opts.Local.DeleteAccount(ctx, a.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type passwordBody struct {
	Password *string `json:"password"`
}

func (s *Server) setPassword(c echo.Context) error {
	var in passwordBody
	if err := s.decodeBody(c, &in); err != nil {
		return err
	}
	var errs fieldErrors
	pw := ""
	if in.Password != nil {
		pw = *in.Password
	}
	s.checkPassword(&errs, pw, in.Password != nil)
	if err := errs.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.lookupAccount(ctx, pathParam(c, "account"))
	if err != nil {
		return err
	}
	if err := localOnly(a); err != nil {
		return err
	}
	if err := s.opts.Local.SetPassword(ctx, a.ID, pw); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type quotaBody struct {
	QuotaBytes *int64 `json:"quota_bytes"`
}

// setQuota sets the mailbox quota; allowed for directory-owned accounts
// too, because the quota is the store's, not the directory's.
func (s *Server) setQuota(c echo.Context) error {
	var in quotaBody
	if err := s.decodeBody(c, &in); err != nil {
		return err
	}
	switch {
	case in.QuotaBytes == nil:
		return invalid(bodyField("quota_bytes", "required (0 means unlimited)"))
	case *in.QuotaBytes < 0:
		return invalid(bodyField("quota_bytes", "must not be negative (0 means unlimited)"))
	}
	ctx := c.Request().Context()
	a, err := s.lookupAccount(ctx, pathParam(c, "account"))
	if err != nil {
		return err
	}
	// An LDAP account gets its mailbox on first use; a quota set before
	// that must not be lost.
	if err := s.opts.Store.EnsureMailbox(ctx, a.ID); err != nil {
		return err
	}
	if err := s.opts.Store.SetQuota(ctx, a.ID, *in.QuotaBytes); err != nil {
		return err
	}
	return s.respondAccount(c, a.ID, http.StatusOK)
}

func (s *Server) disableAccount(c echo.Context) error { return s.setDisabled(c, true) }
func (s *Server) enableAccount(c echo.Context) error  { return s.setDisabled(c, false) }

// setDisabled refuses or allows logins; mail to a disabled account is
// still delivered.
func (s *Server) setDisabled(c echo.Context, disabled bool) error {
	ctx := c.Request().Context()
	a, err := s.lookupAccount(ctx, pathParam(c, "account"))
	if err != nil {
		return err
	}
	if err := localOnly(a); err != nil {
		return err
	}
	if err := s.opts.Local.SetDisabled(ctx, a.ID, disabled); err != nil {
		return err
	}
	return s.respondAccount(c, a.ID, http.StatusOK)
}

type folderJSON struct {
	ID       int64  `json:"id"`
	Path     string `json:"path"`
	Role     string `json:"role,omitempty"`
	Messages int64  `json:"messages"`
	Unseen   int64  `json:"unseen"`
	Bytes    int64  `json:"bytes"`
}

type mailboxJSON struct {
	AccountID  int64 `json:"account_id"`
	QuotaBytes int64 `json:"quota_bytes"`
	UsedBytes  int64 `json:"used_bytes"`
	// QuotaUsedPercent is absent when the quota is unlimited.
	QuotaUsedPercent *float64     `json:"quota_used_percent,omitempty"`
	Messages         int64        `json:"messages"`
	Unseen           int64        `json:"unseen"`
	Folders          []folderJSON `json:"folders"`
}

// mailboxStats shows the mail folders (the IPM subtree, as IMAP and the
// webmail see it) with their counts and sizes, and the quota use.
func (s *Server) mailboxStats(c echo.Context) error {
	ctx := c.Request().Context()
	a, err := s.lookupAccount(ctx, pathParam(c, "account"))
	if err != nil {
		return err
	}
	mb, err := s.opts.Store.Mailbox(ctx, a.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return problemf(ptNotFound, "%s has no mailbox yet (it is made at first login or delivery)", a.Address)
	}
	if err != nil {
		return err
	}
	folders, err := s.opts.Store.Folders(ctx, a.ID)
	if err != nil {
		return err
	}
	paths := storage.FolderPaths(folders)
	out := mailboxJSON{AccountID: a.ID, QuotaBytes: mb.QuotaBytes, UsedBytes: mb.UsedBytes, Folders: []folderJSON{}}
	if mb.QuotaBytes > 0 {
		p := float64(mb.UsedBytes) * 100 / float64(mb.QuotaBytes)
		out.QuotaUsedPercent = &p
	}
	for _, f := range folders {
		path, ok := paths[f.ID]
		if !ok {
			continue
		}
		st, err := s.opts.Store.FolderStatus(ctx, a.ID, f.ID)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		out.Folders = append(out.Folders, folderJSON{ID: f.ID, Path: path, Role: f.Role, Messages: st.Messages, Unseen: st.Unseen, Bytes: st.Size})
		out.Messages += st.Messages
		out.Unseen += st.Unseen
	}
	sort.Slice(out.Folders, func(i, j int) bool { return out.Folders[i].Path < out.Folders[j].Path })
	return c.JSON(http.StatusOK, out)
}
