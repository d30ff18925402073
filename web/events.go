package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// Live updates: one text/event-stream (server-sent events) per open page,
// fed by the store's change feed for the session's account. Each batch of
// committed changes becomes one "changes" event saying which folders
// changed and how; the page then refreshes what it shows.

const (
	// heartbeatEvery keeps proxies from closing an idle stream and notices
	// an expired session.
	heartbeatEvery = 25 * time.Second
	// eventWriteTimeout drops a client that stops reading.
	eventWriteTimeout = 15 * time.Second
	// maxEventIDs bounds the ids one event lists; past it the event asks
	// the page to reload instead.
	maxEventIDs = 1000
)

type flagChange struct {
	ID        int64 `json:"id"`
	Folder    int64 `json:"folder"`
	Seen      bool  `json:"seen"`
	Flagged   bool  `json:"flagged"`
	Answered  bool  `json:"answered"`
	Forwarded bool  `json:"forwarded"`
}

// changeEvent is the data of a "changes" event.
type changeEvent struct {
	// Folders whose messages changed.
	Folders []int64 `json:"folders"`
	// Added and Removed are message ids.
	Added   []int64      `json:"added"`
	Removed []int64      `json:"removed"`
	Flags   []flagChange `json:"flags"`
	// Tree is set when folders were created, deleted or renamed.
	Tree bool `json:"tree"`
	// Resync asks the page to reload everything (changes were dropped or
	// too many to list).
	Resync bool `json:"resync"`
}

func buildChangeEvent(changes []storage.Change, overflow bool) changeEvent {
	ev := changeEvent{Folders: []int64{}, Added: []int64{}, Removed: []int64{}, Flags: []flagChange{}, Resync: overflow}
	folders := map[int64]bool{}
	for _, ch := range changes {
		switch ch.Kind {
		case storage.MessageAdded, storage.MessageUpdated:
			folders[ch.FolderID] = true
			ev.Added = append(ev.Added, ch.MessageID)
		case storage.MessageExpunged:
			folders[ch.FolderID] = true
			ev.Removed = append(ev.Removed, ch.MessageID)
		case storage.MessageFlagsChanged:
			folders[ch.FolderID] = true
			ev.Flags = append(ev.Flags, flagChange{
				ID: ch.MessageID, Folder: ch.FolderID, Seen: ch.Flags&storage.FlagSeen != 0, Flagged: ch.Flags&storage.FlagFlagged != 0,
				Answered: ch.Flags&storage.FlagAnswered != 0, Forwarded: ch.Flags&storage.FlagForwarded != 0,
			})
		case storage.FolderCreated, storage.FolderDeleted, storage.FolderRenamed, storage.FolderUpdated:
			ev.Tree = true
		}
	}
	for id := range folders {
		ev.Folders = append(ev.Folders, id)
	}
	slices.Sort(ev.Folders)
	if len(ev.Added)+len(ev.Removed)+len(ev.Flags) > maxEventIDs {
		ev.Added, ev.Removed, ev.Flags, ev.Resync = []int64{}, []int64{}, []flagChange{}, true
	}
	return ev
}

// events streams the account's changes until the page goes away, the
// session ends or the server shuts down.
func (s *Server) events(c echo.Context) error {
	ws := sess(c)
	s.streams.Add(1)
	defer s.streams.Done()
	defer s.opts.Metrics.ConnOpened(obs.DoorWebmail)()
	sub := s.opts.Store.Subscribe(ws.AccountID)
	defer sub.Close()

	resp := c.Response()
	rc := http.NewResponseController(resp)
	h := resp.Header()
	h.Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	resp.WriteHeader(http.StatusOK)
	send := func(event string, data any) bool {
		b, err := json.Marshal(data)
		if err != nil {
			return false
		}
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := fmt.Fprintf(resp, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if _, err := fmt.Fprint(resp, "retry: 3000\n\n"); err != nil {
		return nil
	}
	if !send("ready", map[string]any{}) {
		return nil
	}
	ctx := c.Request().Context()
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.ctx.Done():
			send("bye", map[string]any{})
			return nil
		case <-tick.C:
			if !s.sessions.alive(ws) {
				send("expired", map[string]any{})
				return nil
			}
			_ = rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
			if _, err := fmt.Fprint(resp, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-sub.Notify():
			changes, overflow := sub.Take()
			if len(changes) == 0 && !overflow {
				continue
			}
			if !send("changes", buildChangeEvent(changes, overflow)) {
				return nil
			}
		}
	}
}
