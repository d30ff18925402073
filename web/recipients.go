package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/internal/contacts"
)

// maxSuggestions bounds the autocomplete answer.
const maxSuggestions = 10

type suggestion struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Source  string `json:"source"` // "contacts" or "directory"
	Group   bool   `json:"group,omitempty"`
}

// recipients suggests addresses for the compose form: the user's own
// contacts first, then the global address list. A directory that does not
// answer only leaves its part out.
func (s *Server) recipients(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	out := []suggestion{}
	if q == "" || len(q) > 200 {
		return c.JSON(http.StatusOK, map[string]any{"recipients": out})
	}
	ctx := c.Request().Context()
	ws := sess(c)
	seen := map[string]bool{}
	own, err := contacts.Search(ctx, s.opts.Store, ws.AccountID, q, maxSuggestions)
	if err != nil {
		s.log.Warn("searching contacts", "account", ws.AccountID, "err", err)
	}
	for _, ct := range own {
		key := strings.ToLower(ct.Address)
		if !seen[key] {
			seen[key] = true
			out = append(out, suggestion{Name: ct.Name, Address: ct.Address, Source: "contacts"})
		}
	}
	gal, _, err := s.opts.Directory.SearchGAL(ctx, q, maxSuggestions, "")
	if err != nil {
		s.log.Warn("searching the address list", "err", err)
	}
	for _, e := range gal {
		key := strings.ToLower(e.Address)
		if len(out) >= maxSuggestions {
			break
		}
		if !seen[key] && e.Address != "" {
			seen[key] = true
			out = append(out, suggestion{Name: e.DisplayName, Address: e.Address, Source: "directory", Group: e.IsGroup})
		}
	}
	if len(out) > maxSuggestions {
		out = out[:maxSuggestions]
	}
	return c.JSON(http.StatusOK, map[string]any{"recipients": out})
}
