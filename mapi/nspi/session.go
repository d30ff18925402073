package nspi

import (
	"context"
	"sync"

	"github.com/pochta/pochta/directory"
)

// Session is the state of one NSPI session context: made by Bind, freed by
// Unbind (or when the transport drops an idle context). It keeps, per
// container, a sorted window of the rows it last read, so walking the
// address list costs one directory page per request.
type Session struct {
	srv       *Server
	accountID int64

	mu      sync.Mutex
	closed  bool
	windows map[uint32]*window
}

// AccountID is the account the session was bound for.
func (s *Session) AccountID() int64 { return s.accountID }

// Close frees the session. It is safe to call more than once.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.windows = nil
}

// Closed reports whether Unbind or Close ended the session.
func (s *Session) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// row is one row of a container at a known position.
type row struct {
	entry directory.Entry
	mid   uint32
}

// window is a run of consecutive rows of one container, from position
// start; complete is set when it reaches the container's end.
type window struct {
	start    int
	rows     []row
	complete bool
}

// Window sizes: rows read ahead of what a request asks for, and the most
// a window keeps (Server.readAhead and windowMax; tests shrink them).
const (
	defaultReadAhead = 100
	defaultWindowMax = 2000
)

// table is a container as one request sees it.
type table struct {
	sess  *Session
	id    uint32
	src   source
	total int
}

// table returns the container named by a STAT's ContainerID.
func (s *Session) table(ctx context.Context, containerID uint32) (*table, bool, error) {
	src, ok, err := s.srv.container(ctx, containerID)
	if err != nil || !ok {
		return nil, ok, err
	}
	total, err := src.total(ctx)
	if err != nil {
		return nil, true, err
	}
	return &table{sess: s, id: containerID, src: src, total: total}, true, nil
}

func (t *table) window() *window {
	if t.sess.windows == nil {
		t.sess.windows = map[uint32]*window{}
	}
	w := t.sess.windows[t.id]
	if w == nil {
		w = &window{}
		t.sess.windows[t.id] = w
	}
	return w
}

func (t *table) toRows(entries []directory.Entry) []row {
	out := make([]row, 0, len(entries))
	for _, e := range entries {
		if mid := t.sess.srv.mids.assign(e); mid != 0 {
			out = append(out, row{entry: e, mid: mid})
		}
	}
	return out
}

// rows returns up to n rows from position pos, from the window when it
// covers them, extending it when they follow it, reading afresh otherwise.
func (t *table) rows(ctx context.Context, pos, n int) ([]row, error) {
	if pos < 0 || n <= 0 {
		return nil, nil
	}
	w := t.window()
	end := w.start + len(w.rows)
	if pos >= w.start && len(w.rows) > 0 && (pos+n <= end || (w.complete && pos <= end)) {
		return w.rows[pos-w.start : min(pos+n, end)-w.start], nil
	}
	if pos >= w.start && pos <= end && len(w.rows) > 0 && !w.complete {
		need := pos + n - end
		ahead := t.sess.srv.readAhead
		more, err := t.src.after(ctx, keyOf(w.rows[len(w.rows)-1].entry), need+ahead)
		if err != nil {
			return nil, err
		}
		w.rows = append(w.rows, t.toRows(more)...)
		w.complete = len(more) < need+ahead
		if drop := min(len(w.rows)-t.sess.srv.windowMax, pos-w.start); drop > 0 {
			w.rows = append([]row(nil), w.rows[drop:]...)
			w.start += drop
		}
		end = w.start + len(w.rows)
		return w.rows[pos-w.start : min(pos+n, end)-w.start], nil
	}
	entries, err := t.src.at(ctx, pos, n+t.sess.srv.readAhead)
	if err != nil {
		return nil, err
	}
	*w = window{start: pos, rows: t.toRows(entries), complete: len(entries) < n+t.sess.srv.readAhead}
	return w.rows[:min(n, len(w.rows))], nil
}

// position returns the position of the row with a MId, or false when the
// MId names no row of the container.
func (t *table) position(ctx context.Context, mid uint32) (int, bool, error) {
	w := t.window()
	for i, r := range w.rows {
		if r.mid == mid {
			return w.start + i, true, nil
		}
	}
	o, ok := t.sess.srv.mids.lookup(mid)
	if !ok || !t.src.holds(o.entry) {
		return 0, false, nil
	}
	ahead := t.sess.srv.readAhead
	pos, entries, err := t.src.from(ctx, keyOf(o.entry), ahead)
	if err != nil {
		return 0, false, err
	}
	rows := t.toRows(entries)
	*w = window{start: pos, rows: rows, complete: len(entries) < ahead}
	if len(rows) == 0 || rows[0].mid != mid {
		return 0, false, nil // gone from the directory since
	}
	return pos, true, nil
}

// seekName returns the position of the first row whose sort name is not
// before name (MS-OXNSPI 3.1.4.1.9) and the row, or false past the end.
func (t *table) seekName(ctx context.Context, name string) (int, row, bool, error) {
	ahead := t.sess.srv.readAhead
	pos, entries, err := t.src.atName(ctx, name, ahead)
	if err != nil {
		return 0, row{}, false, err
	}
	rows := t.toRows(entries)
	*t.window() = window{start: pos, rows: rows, complete: len(entries) < ahead}
	if len(rows) == 0 {
		return pos, row{}, false, nil
	}
	return pos, rows[0], true, nil
}

// startPosition is the position a STAT names before its Delta applies:
// absolute (a MId or the beginning/end markers) or fractional
// (MIdCurrent: NumPos out of TotalRecs), MS-OXNSPI 3.1.4.5. A MId not in
// the container starts at the beginning, as gromox does.
func (t *table) startPosition(ctx context.Context, st STAT) (int, error) {
	switch st.CurrentRec {
	case MIdBeginningOfTable:
		return 0, nil
	case MIdEndOfTable:
		return t.total, nil
	case MIdCurrent:
		if st.TotalRecs == 0 || t.total == 0 {
			return 0, nil
		}
		p := int(uint64(st.NumPos) * uint64(t.total) / uint64(st.TotalRecs))
		return min(p, t.total-1), nil
	}
	pos, ok, err := t.position(ctx, st.CurrentRec)
	if err != nil || !ok {
		return 0, err
	}
	return pos, nil
}

// move applies a Delta to a position, within [0, total].
func (t *table) move(pos int, delta int32) int {
	return min(max(pos+int(delta), 0), t.total)
}

// currentRec is the CurrentRec of a position: a row's MId, or
// MIdEndOfTable past the last row.
func (t *table) currentRec(ctx context.Context, pos int) (uint32, error) {
	if pos >= t.total {
		return MIdEndOfTable, nil
	}
	rows, err := t.rows(ctx, pos, 1)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return MIdEndOfTable, nil
	}
	return rows[0].mid, nil
}
