package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/internal/message"
)

// maxThreadCandidates bounds the rows one conversation lookup reads.
const maxThreadCandidates = 300

// baseSubject strips reply and forward prefixes ("Re: Fwd: Re[2]: x" → "x").
func baseSubject(s string) string {
	for {
		t := strings.TrimSpace(s)
		l := strings.ToLower(t)
		cut := false
		for _, p := range []string{"re:", "fwd:", "fw:", "aw:", "wg:", "sv:", "vs:"} {
			if strings.HasPrefix(l, p) {
				t, cut = t[len(p):], true
				break
			}
		}
		if !cut && strings.HasPrefix(l, "re[") {
			if i := strings.Index(t, "]:"); i > 0 && i < 8 {
				t, cut = t[i+2:], true
			}
		}
		if !cut {
			return t
		}
		s = t
	}
}

// thread returns the conversation a message belongs to, oldest first: the
// messages linked to it by Message-ID, In-Reply-To and References, found
// among those whose Message-ID it names or whose subject has its base.
func (s *Server) thread(c echo.Context) error {
	l, err := s.messageParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ws := sess(c)
	t, err := s.mailTree(ctx, ws.AccountID)
	if err != nil {
		return err
	}
	ids := map[string]bool{}
	addIDs := func(p *message.Parsed) {
		for _, id := range append([]string{p.MessageID, p.InReplyTo}, p.References...) {
			if id != "" {
				ids[id] = true
			}
		}
	}
	addIDs(l.p)
	var known []string
	for id := range ids {
		known = append(known, id)
	}
	slices.Sort(known)
	base := baseSubject(l.p.Subject)
	if len(base) < 3 {
		base = ""
	}
	cands, err := s.opts.Store.WebThreadCandidates(ctx, ws.AccountID, t.ids(), known, base, maxThreadCandidates)
	if err != nil {
		return err
	}
	in := map[int64]bool{l.m.ID: true}
	members := []messageSummary{summarize(l.m)}
	parsed := make([]*message.Parsed, len(cands))
	for i := range cands {
		if p, err := message.Unmarshal(cands[i].Parsed); err == nil {
			parsed[i] = p
		}
	}
	for changed := true; changed; {
		changed = false
		for i := range cands {
			m := &cands[i]
			if in[m.ID] || parsed[i] == nil {
				continue
			}
			p := parsed[i]
			linked := ids[m.MessageIDHeader] && m.MessageIDHeader != ""
			for _, r := range append([]string{p.InReplyTo}, p.References...) {
				linked = linked || (r != "" && ids[r])
			}
			if !linked {
				continue
			}
			in[m.ID] = true
			members = append(members, summarize(m))
			addIDs(p)
			changed = true
		}
	}
	slices.SortFunc(members, func(a, b messageSummary) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return c.JSON(http.StatusOK, map[string]any{"messages": members})
}
