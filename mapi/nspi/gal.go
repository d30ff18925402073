package nspi

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pochta/pochta/directory"
)

// sortKey orders address list entries the way directory.SearchGAL pages
// them: by lower-cased sort name (display name, or address without one),
// then by address.
type sortKey struct{ name, addr string }

func keyOf(e directory.Entry) sortKey {
	return sortKey{name: strings.ToLower(directory.EntrySortName(e)), addr: e.Address}
}

func (k sortKey) less(o sortKey) bool {
	if k.name != o.name {
		return k.name < o.name
	}
	return k.addr < o.addr
}

// cursorAfter is the SearchGAL cursor whose page starts right after the
// entry with key k. directory.Local, LDAP and Chain all document this
// cursor form (the last entry's sort name and address); a test here pins
// it, so a change there fails loudly rather than paging wrongly.
func (k sortKey) cursorAfter() string { return k.name + "\x00" + k.addr }

// cursorAtName is the SearchGAL cursor whose page starts at the first
// entry whose sort name is not before name (every address is after "").
func cursorAtName(name string) string { return strings.ToLower(name) + "\x00" }

// searchPageLimit is the most SearchGAL returns per call.
const searchPageLimit = 1000

// census is what the server knows of the whole GAL without keeping it: its
// size, a checkpoint every censusStep entries to start pages from, and the
// groups (few, listed in their own container).
type census struct {
	built  time.Time
	total  int
	cps    []checkpoint
	groups []directory.Entry
}

// checkpoint is the entry at position i*censusStep and the cursor whose
// page starts with it.
type checkpoint struct {
	cursor string
	key    sortKey
}

// censusStep is the distance between checkpoints: reading any position
// costs one SearchGAL page of at most censusStep+n entries.
const censusStep = 100

// gal reads the directory's address list for all sessions of a Server.
type gal struct {
	dir        directory.Directory
	mids       *midTable
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	log *slog.Logger

	mu       sync.Mutex
	current  *census
	lastErr  error
	building chan struct{} // closed when the build in progress ends
}

// search wraps SearchGAL and records the entries' snapshots and MIds.
func (g *gal) search(ctx context.Context, query string, limit int, cursor string) ([]directory.Entry, string, error) {
	entries, next, err := g.dir.SearchGAL(ctx, query, min(max(limit, 1), searchPageLimit), cursor)
	if err != nil {
		return nil, "", fmt.Errorf("nspi: address list: %w", err)
	}
	for _, e := range entries {
		g.mids.assign(e)
	}
	return entries, next, nil
}

// read returns up to n entries from cursor on, paging as needed.
func (g *gal) read(ctx context.Context, cursor string, n int) ([]directory.Entry, error) {
	var out []directory.Entry
	for len(out) < n {
		page, next, err := g.search(ctx, "", n-len(out), cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || next == cursor || len(page) == 0 {
			break
		}
		cursor = next
	}
	return out, nil
}

// census returns the current census. The first one is built while the
// caller waits; later, a census older than the TTL is still returned while
// a new one is built behind it, so no request pays for a rebuild (NumPos
// and TotalRecs are approximate anyway, MS-OXNSPI 2.2.8). Concurrent
// callers share one build, which runs on its own context so a request
// that gives up does not abort it for the others.
func (g *gal) census(ctx context.Context) (*census, error) {
	g.mu.Lock()
	c := g.current
	if c != nil {
		if g.now().Sub(c.built) >= g.ttl && g.building == nil {
			g.startBuildLocked(ctx)
		}
		g.mu.Unlock()
		return c, nil
	}
	if g.building == nil {
		g.startBuildLocked(ctx)
	}
	wait := g.building
	g.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.current == nil {
		return nil, g.lastErr
	}
	return g.current, nil
}

// censusBuildTimeout bounds one census build.
const censusBuildTimeout = 2 * time.Minute

func (g *gal) startBuildLocked(ctx context.Context) {
	done := make(chan struct{})
	g.building = done
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), censusBuildTimeout)
	go func() {
		defer close(done)
		defer cancel()
		var c *census
		err := fmt.Errorf("nspi: address list census: internal error")
		defer func() {
			if p := recover(); p != nil {
				g.log.Error("nspi: panic building the address list census", "panic", p)
			}
			g.mu.Lock()
			if err == nil {
				g.current = c
			} else {
				g.log.Warn("nspi: address list census failed; keeping the last one", "err", err)
			}
			g.lastErr = err
			g.building = nil
			g.mu.Unlock()
		}()
		c, err = g.build(bctx)
	}()
}

// waitBuild waits for a census build under way (tests).
func (g *gal) waitBuild() {
	g.mu.Lock()
	wait := g.building
	g.mu.Unlock()
	if wait != nil {
		<-wait
	}
}

// invalidate drops the census (tests change the directory and want to see
// it at once).
func (g *gal) invalidate() {
	g.mu.Lock()
	g.current = nil
	g.mu.Unlock()
}

// build pages through the whole address list once.
func (g *gal) build(ctx context.Context) (*census, error) {
	c := &census{built: g.now()}
	cursor := ""
	var prev sortKey
	for c.total < g.maxEntries {
		page, next, err := g.search(ctx, "", searchPageLimit, cursor)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if c.total >= g.maxEntries {
				break
			}
			k := keyOf(e)
			if c.total%censusStep == 0 {
				cp := checkpoint{key: k}
				if c.total > 0 {
					cp.cursor = prev.cursorAfter()
				}
				c.cps = append(c.cps, cp)
			}
			if e.IsGroup {
				c.groups = append(c.groups, e)
			}
			prev = k
			c.total++
		}
		if next == "" || next == cursor || len(page) == 0 {
			break
		}
		cursor = next
	}
	return c, nil
}

// source is one container's rows in sort order.
type source interface {
	// total is the (approximate) number of rows.
	total(ctx context.Context) (int, error)
	// at returns up to n rows from position pos.
	at(ctx context.Context, pos, n int) ([]directory.Entry, error)
	// from returns the position of the first row whose key is not before
	// k, and up to n rows from there.
	from(ctx context.Context, k sortKey, n int) (int, []directory.Entry, error)
	// after returns up to n rows following the row with key k.
	after(ctx context.Context, k sortKey, n int) ([]directory.Entry, error)
	// holds reports whether an entry belongs to the container.
	holds(e directory.Entry) bool
	// atName returns the position of the first row whose sort name is not
	// before name, and up to n rows from there.
	atName(ctx context.Context, name string, n int) (int, []directory.Entry, error)
}

// galSource is the Global Address List, read through SearchGAL pages from
// the census checkpoints.
type galSource struct{ g *gal }

func (s galSource) total(ctx context.Context) (int, error) {
	c, err := s.g.census(ctx)
	if err != nil {
		return 0, err
	}
	return c.total, nil
}

func (s galSource) at(ctx context.Context, pos, n int) ([]directory.Entry, error) {
	c, err := s.g.census(ctx)
	if err != nil {
		return nil, err
	}
	if pos < 0 || n <= 0 || pos >= c.total || len(c.cps) == 0 {
		return nil, nil
	}
	i := min(pos/censusStep, len(c.cps)-1)
	skip := pos - i*censusStep
	rows, err := s.g.read(ctx, c.cps[i].cursor, skip+n)
	if err != nil {
		return nil, err
	}
	if skip >= len(rows) {
		return nil, nil
	}
	return rows[skip:], nil
}

func (s galSource) from(ctx context.Context, k sortKey, n int) (int, []directory.Entry, error) {
	return s.seek(ctx, func(e directory.Entry) bool { return keyOf(e).less(k) }, k, n)
}

func (s galSource) atName(ctx context.Context, name string, n int) (int, []directory.Entry, error) {
	lower := strings.ToLower(name)
	return s.seek(ctx, func(e directory.Entry) bool { return keyOf(e).name < lower }, sortKey{name: lower}, n)
}

// seek starts at the last checkpoint before k and skips the rows before
// it, so the position is exact for the census the checkpoint belongs to.
func (s galSource) seek(ctx context.Context, before func(directory.Entry) bool, k sortKey, n int) (int, []directory.Entry, error) {
	c, err := s.g.census(ctx)
	if err != nil {
		return 0, nil, err
	}
	i := sort.Search(len(c.cps), func(i int) bool { return k.less(c.cps[i].key) }) - 1
	i = max(i, 0)
	cursor := ""
	if i < len(c.cps) {
		cursor = c.cps[i].cursor
	}
	pos := i * censusStep
	var rows []directory.Entry
	for len(rows) < n {
		page, next, err := s.g.search(ctx, "", min(censusStep+n, searchPageLimit), cursor)
		if err != nil {
			return 0, nil, err
		}
		for _, e := range page {
			switch {
			case len(rows) >= n:
			case len(rows) == 0 && before(e):
				pos++
			default:
				rows = append(rows, e)
			}
		}
		if next == "" || next == cursor || len(page) == 0 {
			break
		}
		cursor = next
	}
	return pos, rows, nil
}

func (s galSource) after(ctx context.Context, k sortKey, n int) ([]directory.Entry, error) {
	return s.g.read(ctx, k.cursorAfter(), n)
}

func (galSource) holds(directory.Entry) bool { return true }

// listSource is a container held in memory: the groups of the census.
type listSource struct{ entries []directory.Entry }

func (s listSource) total(context.Context) (int, error) { return len(s.entries), nil }

func (s listSource) at(_ context.Context, pos, n int) ([]directory.Entry, error) {
	if pos < 0 || pos >= len(s.entries) || n <= 0 {
		return nil, nil
	}
	return s.entries[pos:min(pos+n, len(s.entries))], nil
}

func (s listSource) from(ctx context.Context, k sortKey, n int) (int, []directory.Entry, error) {
	i := sort.Search(len(s.entries), func(i int) bool { return !keyOf(s.entries[i]).less(k) })
	rows, _ := s.at(ctx, i, n)
	return i, rows, nil
}

func (s listSource) atName(ctx context.Context, name string, n int) (int, []directory.Entry, error) {
	lower := strings.ToLower(name)
	i := sort.Search(len(s.entries), func(i int) bool { return keyOf(s.entries[i]).name >= lower })
	rows, _ := s.at(ctx, i, n)
	return i, rows, nil
}

func (s listSource) after(ctx context.Context, k sortKey, n int) ([]directory.Entry, error) {
	i := sort.Search(len(s.entries), func(i int) bool { return k.less(keyOf(s.entries[i])) })
	return s.at(ctx, i, n)
}

func (listSource) holds(e directory.Entry) bool { return e.IsGroup }
