package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pochta/pochta/storage"
)

// selected is the state of the Selected state (RFC 9051 §3.3).
type selected struct {
	mb       *mailbox
	v        *view
	folder   storage.Folder
	name     string
	readOnly bool
	// searchRes is the saved search result "$" (RFC 5182), as UIDs.
	searchRes imap.UIDSet
}

// Select implements SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3).
func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.unselect()
	m, _, err := s.mailbox(name)
	if err != nil {
		return nil, err
	}
	mb, err := s.srv.openMailbox(s.ctx, s.accountID, m.folder.ID)
	if err != nil {
		return nil, s.fail("opening a mailbox", err)
	}
	mb.sync(s.ctx)
	f := &m.folder
	v := mb.newView()
	s.selMu.Lock()
	s.sel = &selected{mb: mb, v: v, folder: *f, name: m.name, readOnly: options.ReadOnly}
	s.selMu.Unlock()

	mb.mu.Lock()
	defer mb.mu.Unlock()
	flags := mailboxFlags(mb.keywords)
	data := &imap.SelectData{
		Flags:       flags,
		NumMessages: v.countLocked(),
		// The folder row was read before the messages: UIDNEXT must still be
		// above every UID the client now knows.
		UIDNext:     imap.UID(max(f.UIDNext, mb.lastUID+1)),
		UIDValidity: f.UIDValidity,
	}
	if !options.ReadOnly {
		data.PermanentFlags = append(append([]imap.Flag{}, flags...), imap.FlagWildcard)
	}
	for i := range v.knownLocked() {
		if mb.msgs[i].flags&storage.FlagSeen == 0 {
			data.FirstUnseenSeqNum = v.seqOfIndex(i)
			break
		}
	}
	if s.conn.EnabledCaps().Has(imap.CapIMAP4rev2) {
		// RFC 9051 §6.3.2: tell the client the mailbox's own name.
		data.List = &imap.ListData{Delim: delim, Mailbox: m.name}
	}
	return data, nil
}

// Unselect implements UNSELECT and the end of CLOSE (RFC 9051 §6.4.1,
// §6.4.2).
func (s *session) Unselect() error {
	s.unselect()
	return nil
}

func (s *session) unselect() {
	s.selMu.Lock()
	sel := s.sel
	s.sel = nil
	s.selMu.Unlock()
	if sel == nil {
		return
	}
	sel.v.close()
	sel.mb.release()
}

// Poll implements go-imap's end-of-command hook: bring the client's view
// up to date (RFC 9051 §7: EXISTS, EXPUNGE, FETCH FLAGS). Expunges wait
// while allowExpunge is false (during FETCH, STORE, SEARCH).
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	sel := s.sel
	if sel == nil {
		return nil
	}
	sel.mb.sync(s.ctx)
	return s.flush(w, sel, allowExpunge)
}

func (s *session) flush(w *imapserver.UpdateWriter, sel *selected, allowExpunge bool) error {
	sel.mb.mu.Lock()
	ups := sel.v.flushLocked(allowExpunge)
	deleted := sel.mb.deleted
	sel.mb.mu.Unlock()
	if err := writeUpdates(w, ups); err != nil {
		return err
	}
	if deleted {
		s.bye("Selected mailbox was deleted, have to disconnect")
	}
	return nil
}

// Idle implements IDLE (RFC 9051 §6.3.13, RFC 2177): changes reach the
// client as the store's feed reports them.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	// go-imap may end the connection (and so Close, which unselects)
	// before this goroutine has finished.
	s.selMu.Lock()
	sel := s.sel
	s.selMu.Unlock()
	if sel == nil {
		select {
		case <-stop:
		case <-s.ctx.Done():
		}
		return nil
	}
	sel.mb.sync(s.ctx)
	if err := s.flush(w, sel, true); err != nil {
		return err
	}
	for {
		select {
		case <-sel.v.notify:
			if err := s.flush(w, sel, true); err != nil {
				return err
			}
		case <-stop:
			return nil
		case <-s.ctx.Done():
			return nil
		}
	}
}

// targets resolves a command's message set in the client's view; "$" is
// the saved search result.
func (s *session) targets(set imap.NumSet) ([]target, error) {
	sel := s.sel
	if sel == nil {
		return nil, badError("No mailbox selected")
	}
	if imap.IsSearchRes(set) {
		set = sel.searchRes
	}
	sel.mb.mu.Lock()
	defer sel.mb.mu.Unlock()
	return sel.v.resolveLocked(set), nil
}
