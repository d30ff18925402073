package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
)

// Domains, aliases and local groups: the names mail is addressed to.

type domainJSON struct {
	Name string `json:"name"`
}

func (s *Server) listDomains(c echo.Context) error {
	names, err := s.opts.Local.Domains(c.Request().Context())
	if err != nil {
		return err
	}
	out := page[domainJSON]{Items: make([]domainJSON, 0, len(names))}
	for _, n := range names {
		out.Items = append(out.Items, domainJSON{Name: n})
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) createDomain(c echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := s.decodeBody(c, &in); err != nil {
		return err
	}
	name := directory.NormalizeAddress(in.Name)
	switch {
	case name == "":
		return invalid(bodyField("name", "required"))
	case !directory.ValidDomain(name):
		return invalid(bodyField("name", "must be a DNS domain name such as example.com"))
	}
	err := s.opts.Local.AddDomain(c.Request().Context(), name)
	if errors.Is(err, directory.ErrExists) {
		return problemf(ptAlreadyExists, "%s is already a local domain", name)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, Prefix+"/domains/"+name)
	return c.JSON(http.StatusCreated, domainJSON{Name: name})
}

// deleteDomain removes a local domain; it must be empty.
func (s *Server) deleteDomain(c echo.Context) error {
	name := directory.NormalizeAddress(pathParam(c, "domain"))
	if !directory.ValidDomain(name) {
		return invalid(pathField("domain", "must be a DNS domain name"))
	}
	err := s.opts.Local.DeleteDomain(c.Request().Context(), name)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return problemf(ptNotFound, "%s is not a local domain", name)
	case errors.Is(err, directory.ErrInvalid):
		// The only refusal DeleteDomain makes for a valid name: not empty.
		return problemf(ptNotEmpty, "%s still has accounts, aliases or groups", name)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type aliasJSON struct {
	Address        string `json:"address"`
	AccountID      int64  `json:"account_id"`
	AccountAddress string `json:"account_address"`
}

// listAliases lists all aliases, or those of ?account= (id or address).
func (s *Server) listAliases(c echo.Context) error {
	ctx := c.Request().Context()
	var accountID int64
	if ref := c.QueryParam("account"); ref != "" {
		a, err := s.lookupAccount(ctx, ref)
		var p *Problem
		if errors.As(err, &p) && p.Status == http.StatusUnprocessableEntity {
			return invalid(queryField("account", "must be an account id or an e-mail address"))
		}
		if err != nil {
			return err
		}
		accountID = a.ID
	}
	als, err := s.opts.Local.Aliases(ctx, accountID)
	if err != nil {
		return err
	}
	owners := map[int64]string{}
	out := page[aliasJSON]{Items: make([]aliasJSON, 0, len(als))}
	for _, al := range als {
		owner, ok := owners[al.AccountID]
		if !ok {
			a, err := s.opts.Local.Account(ctx, al.AccountID)
			if err != nil && !errors.Is(err, directory.ErrNotFound) {
				return err
			}
			if a != nil {
				owner = a.Address
			}
			owners[al.AccountID] = owner
		}
		out.Items = append(out.Items, aliasJSON{Address: al.Address, AccountID: al.AccountID, AccountAddress: owner})
	}
	return c.JSON(http.StatusOK, out)
}

// createAlias makes an extra address deliver to an account; the account
// may also send as it.
func (s *Server) createAlias(c echo.Context) error {
	var in struct {
		Address string `json:"address"`
		// Account is the account's id (as a string) or primary address.
		Account string `json:"account"`
	}
	if err := s.decodeBody(c, &in); err != nil {
		return err
	}
	var errs fieldErrors
	addr := checkAddress(&errs, "address", "body", in.Address)
	if strings.TrimSpace(in.Account) == "" {
		errs.add(bodyField("account", "required (an account id or address)"))
	}
	if err := errs.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, err := s.lookupAccount(ctx, strings.TrimSpace(in.Account))
	var p *Problem
	if errors.As(err, &p) {
		// The account is named in the body, so say it there.
		switch p.Status {
		case http.StatusNotFound:
			return invalid(bodyField("account", "no such account"))
		case http.StatusUnprocessableEntity:
			return invalid(bodyField("account", "must be an account id or an e-mail address"))
		}
	}
	if err != nil {
		return err
	}
	if err := localOnly(a); err != nil {
		return err
	}
	err = s.opts.Local.AddAlias(ctx, addr, a.ID)
	if errors.Is(err, directory.ErrExists) {
		return problemf(ptAlreadyExists, "%s is already the address of an account, alias or group", addr)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, Prefix+"/aliases/"+addr)
	return c.JSON(http.StatusCreated, aliasJSON{Address: addr, AccountID: a.ID, AccountAddress: a.Address})
}

func (s *Server) deleteAlias(c echo.Context) error {
	var errs fieldErrors
	addr := checkAddress(&errs, "alias", "path", pathParam(c, "alias"))
	if err := errs.err(); err != nil {
		return err
	}
	err := s.opts.Local.DeleteAlias(c.Request().Context(), addr)
	if errors.Is(err, directory.ErrNotFound) {
		return problemf(ptNotFound, "%s is not an alias", addr)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type groupJSON struct {
	Address     string   `json:"address"`
	DisplayName string   `json:"display_name"`
	Members     []string `json:"members"`
}

func toGroupJSON(g directory.Group) groupJSON {
	members := g.Members
	if members == nil {
		members = []string{}
	}
	return groupJSON{Address: g.Address, DisplayName: g.DisplayName, Members: members}
}

func (s *Server) listGroups(c echo.Context) error {
	gs, err := s.opts.Local.Groups(c.Request().Context())
	if err != nil {
		return err
	}
	out := page[groupJSON]{Items: make([]groupJSON, 0, len(gs))}
	for _, g := range gs {
		out.Items = append(out.Items, toGroupJSON(g))
	}
	return c.JSON(http.StatusOK, out)
}

// findGroup returns one local group by address.
func (s *Server) findGroup(c echo.Context, addr string) (*directory.Group, error) {
	gs, err := s.opts.Local.Groups(c.Request().Context())
	if err != nil {
		return nil, err
	}
	for i := range gs {
		if gs[i].Address == addr {
			return &gs[i], nil
		}
	}
	return nil, problemf(ptNotFound, "no group %s", addr)
}

// createGroup makes a distribution group, optionally with its members.
func (s *Server) createGroup(c echo.Context) error {
	var in struct {
		Address     string   `json:"address"`
		DisplayName string   `json:"display_name"`
		Members     []string `json:"members"`
	}
	if err := s.decodeBody(c, &in); err != nil {
		return err
	}
	var errs fieldErrors
	addr := checkAddress(&errs, "address", "body", in.Address)
	checkText(&errs, "display_name", in.DisplayName)
	members := make([]string, 0, len(in.Members))
	seen := map[string]bool{}
	for i, m := range in.Members {
		ma := checkAddress(&errs, fmt.Sprintf("members[%d]", i), "body", m)
		if !seen[ma] {
			seen[ma] = true
			members = append(members, ma)
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	err := s.opts.Local.AddGroup(ctx, addr, strings.TrimSpace(in.DisplayName))
	if errors.Is(err, directory.ErrExists) {
		return problemf(ptAlreadyExists, "%s is already the address of an account, alias or group", addr)
	}
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := s.opts.Local.AddGroupMember(ctx, addr, m); err != nil {
			return fmt.Errorf("adding %s to the new group %s: %w", m, addr, err)
		}
	}
	g, err := s.findGroup(c, addr)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, Prefix+"/groups/"+addr)
	return c.JSON(http.StatusCreated, toGroupJSON(*g))
}

func groupParam(c echo.Context) (string, error) {
	var errs fieldErrors
	addr := checkAddress(&errs, "group", "path", pathParam(c, "group"))
	return addr, errs.err()
}

func (s *Server) getGroup(c echo.Context) error {
	addr, err := groupParam(c)
	if err != nil {
		return err
	}
	g, err := s.findGroup(c, addr)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toGroupJSON(*g))
}

func (s *Server) deleteGroup(c echo.Context) error {
	addr, err := groupParam(c)
	if err != nil {
		return err
	}
	err = s.opts.Local.DeleteGroup(c.Request().Context(), addr)
	if errors.Is(err, directory.ErrNotFound) {
		return problemf(ptNotFound, "no group %s", addr)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// addGroupMember adds an address (account, alias, group or an external
// address) to a group.
func (s *Server) addGroupMember(c echo.Context) error {
	addr, err := groupParam(c)
	if err != nil {
		return err
	}
	var in struct {
		Address string `json:"address"`
	}
	if err := s.decodeBody(c, &in); err != nil {
		return err
	}
	var errs fieldErrors
	member := checkAddress(&errs, "address", "body", in.Address)
	if err := errs.err(); err != nil {
		return err
	}
	if member == addr {
		return invalid(bodyField("address", "a group cannot be its own member"))
	}
	err = s.opts.Local.AddGroupMember(c.Request().Context(), addr, member)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return problemf(ptNotFound, "no group %s", addr)
	case errors.Is(err, directory.ErrExists):
		return problemf(ptAlreadyExists, "%s is already a member of %s", member, addr)
	case err != nil:
		return err
	}
	g, err := s.findGroup(c, addr)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, Prefix+"/groups/"+addr+"/members/"+member)
	return c.JSON(http.StatusCreated, toGroupJSON(*g))
}

func (s *Server) removeGroupMember(c echo.Context) error {
	addr, err := groupParam(c)
	if err != nil {
		return err
	}
	var errs fieldErrors
	member := checkAddress(&errs, "member", "path", pathParam(c, "member"))
	if err := errs.err(); err != nil {
		return err
	}
	err = s.opts.Local.RemoveGroupMember(c.Request().Context(), addr, member)
	if errors.Is(err, directory.ErrNotFound) {
		return problemf(ptNotFound, "%s is not a member of %s", member, addr)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
