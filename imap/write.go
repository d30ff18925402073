package imap

import (
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/storage"
)

// setFlags, copyMessages: the store's operations under the account lock
// (storage.WriteAccountLocked), so concurrent sessions on PostgreSQL
// neither lose each other's flag changes nor copy what is being expunged.
func (s *session) setFlags(folder int64, ids []int64, op storage.FlagOp, bits storage.Flags, kws []string, unchangedSince int64) ([]storage.FlagUpdate, error) {
	var out []storage.FlagUpdate
	// A flag change is not mail: it may be acknowledged before its fsync
	// when the store allows (storage.sqlite_flag_changes).
	err := s.srv.store.WriteAccountLocked(storage.WithRelaxedDurability(s.ctx), s.accountID, func(tx *storage.Tx) error {
		var err error
		out, err = tx.SetFlags(s.accountID, folder, ids, op, bits, kws, unchangedSince)
		return err
	})
	return out, err
}

func (s *session) copyMessages(src int64, ids []int64, dst int64, move bool) ([]storage.Copied, error) {
	var out []storage.Copied
	err := s.srv.store.WriteAccountLocked(s.ctx, s.accountID, func(tx *storage.Tx) error {
		var err error
		if move {
			out, err = tx.MoveMessages(s.accountID, src, ids, dst)
		} else {
			out, err = tx.CopyMessages(s.accountID, src, ids, dst)
		}
		return err
	})
	return out, err
}

func (s *session) writable() error {
	if s.sel == nil {
		return badError("No mailbox selected")
	}
	if s.sel.readOnly {
		return noError(imap.ResponseCodeCannot, "Mailbox is read-only (EXAMINE)")
	}
	return nil
}

// Store implements STORE and UID STORE (RFC 9051 §6.4.6).
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if err := s.writable(); err != nil {
		return err
	}
	bits, kws, err := storeFlags(flags.Flags)
	if err != nil {
		return err
	}
	targets, err := s.targets(numSet)
	if err != nil || len(targets) == 0 {
		return err
	}
	op := storage.FlagsReplace
	switch flags.Op {
	case imap.StoreFlagsAdd:
		op = storage.FlagsAdd
	case imap.StoreFlagsDel:
		op = storage.FlagsRemove
	}
	sel := s.sel
	// A STORE that changes nothing needs no write. When memory says so,
	// a read confirms it (the reader pool: no writer queue, no fsync); that
	// read is where such a STORE takes effect, so a change committed just
	// before it is seen and one committed after it is ordered after it.
	var write, maybeSame []int64
	for _, t := range targets {
		if changesFlags(op, t.flags, t.keywords, bits, kws) {
			write = append(write, t.id)
		} else {
			maybeSame = append(maybeSame, t.id)
		}
	}
	var updates []storage.FlagUpdate
	if len(maybeSame) > 0 {
		rows, err := s.srv.store.MessagesForFetch(s.ctx, s.accountID, sel.folder.ID, maybeSame, false)
		if err != nil {
			return s.fail("reading flags", err)
		}
		for _, m := range rows {
			if changesFlags(op, m.Flags, m.Keywords, bits, kws) {
				write = append(write, m.ID)
				continue
			}
			updates = append(updates, storage.FlagUpdate{ID: m.ID, UID: m.UID, Flags: m.Flags, Keywords: strings.Fields(m.Keywords), ChangeNum: m.ChangeNum})
		}
	}
	if len(write) > 0 {
		written, err := s.setFlags(sel.folder.ID, write, op, bits, kws, int64(options.UnchangedSince))
		if err != nil {
			return s.fail("storing flags", err)
		}
		updates = append(updates, written...)
	}
	sel.mb.applyFlags(updates, sel.v)
	if flags.Silent {
		return nil
	}
	byID := make(map[int64]storage.FlagUpdate, len(updates))
	for _, u := range updates {
		byID[u.ID] = u
	}
	for _, t := range targets {
		u, ok := byID[t.id]
		if !ok {
			continue // expunged meanwhile
		}
		rw := w.CreateMessage(t.seq)
		rw.WriteUID(imap.UID(t.uid))
		rw.WriteFlags(imapFlags(u.Flags, strings.Join(u.Keywords, " ")))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// changesFlags reports whether applying op with bits and kws to a
// message's flags would change them (keywords compare case-insensitively,
// as the store keeps them).
func changesFlags(op storage.FlagOp, cur storage.Flags, curKW string, bits storage.Flags, kws []string) bool {
	have := func(k string) bool {
		for _, c := range strings.Fields(curKW) {
			if strings.EqualFold(c, k) {
				return true
			}
		}
		return false
	}
	switch op {
	case storage.FlagsAdd:
		if cur&bits != bits {
			return true
		}
		for _, k := range kws {
			if !have(k) {
				return true
			}
		}
		return false
	case storage.FlagsRemove:
		if cur&bits != 0 {
			return true
		}
		for _, k := range kws {
			if have(k) {
				return true
			}
		}
		return false
	}
	if cur&^storage.FlagAssociated != bits {
		return true
	}
	for _, c := range strings.Fields(curKW) {
		found := false
		for _, k := range kws {
			found = found || strings.EqualFold(c, k)
		}
		if !found {
			return true
		}
	}
	for _, k := range kws {
		if !have(k) {
			return true
		}
	}
	return false
}

// Expunge implements EXPUNGE, UID EXPUNGE (RFC 4315) and the expunge of
// CLOSE (RFC 9051 §6.4.3, §6.4.9, §6.4.2). The EXPUNGE responses go out
// when go-imap polls after the command.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if s.sel == nil {
		return badError("No mailbox selected")
	}
	if s.sel.readOnly {
		// CLOSE on an EXAMINEd mailbox expunges nothing (RFC 9051 §6.4.2);
		// go-imap's CLOSE passes a writer without a connection.
		if w == nil || *w == (imapserver.ExpungeWriter{}) {
			return nil
		}
		return noError(imap.ResponseCodeCannot, "Mailbox is read-only (EXAMINE)")
	}
	sel := s.sel
	sel.mb.mu.Lock()
	maxUID := sel.v.knownMax
	var ranges []storage.UIDRange
	if uids != nil && imap.IsSearchRes(*uids) {
		res := sel.searchRes
		uids = &res
	}
	if uids != nil {
		top := sel.v.maxUIDLocked()
		ranges = make([]storage.UIDRange, 0, len(*uids))
		for _, r := range *uids {
			lo, hi := staticRange(uint32(r.Start), uint32(r.Stop), top)
			ranges = append(ranges, storage.UIDRange{Start: lo, Stop: hi})
		}
	}
	inRange := func(uid uint32) bool {
		if uids == nil {
			return true
		}
		for _, r := range ranges {
			if uid >= r.Start && uid <= r.Stop {
				return true
			}
		}
		return false
	}
	seemsDeleted := false
	for _, m := range sel.mb.msgs {
		if m.uid > maxUID {
			break
		}
		if m.flags&storage.FlagDeleted != 0 && inRange(m.uid) {
			seemsDeleted = true
			break
		}
	}
	sel.mb.mu.Unlock()
	if uids != nil && len(ranges) == 0 {
		return nil
	}
	if !seemsDeleted {
		// Most EXPUNGEs and CLOSEs find nothing to do; when memory agrees,
		// a read confirms it instead of a write (as for STORE above).
		cond := storage.SearchCond{Kind: storage.SearchFlagsSet, Flags: storage.FlagDeleted}
		if uids != nil {
			cond = storage.SearchCond{Kind: storage.SearchAnd, Sub: []storage.SearchCond{cond, {Kind: storage.SearchUID, UIDs: ranges}}}
		}
		if exact, _ := storage.SearchExact(&cond); exact {
			found, err := s.srv.store.SearchUIDs(s.ctx, s.accountID, sel.folder.ID, maxUID, &cond)
			if err != nil {
				return s.fail("expunging", err)
			}
			if len(found) == 0 {
				return nil
			}
		}
	}
	// An expunge undone by a power loss brings mail back, never loses it.
	removed, err := s.srv.store.ExpungeDeleted(storage.WithRelaxedDurability(s.ctx), s.accountID, sel.folder.ID, maxUID, ranges)
	if err != nil {
		return s.fail("expunging", err)
	}
	sel.mb.applyExpunged(removed)
	return nil
}

// destination finds the mailbox of COPY, MOVE and APPEND; a missing one is
// NO [TRYCREATE] (RFC 9051 §6.4.7).
func (s *session) destination(name string) (*mbox, error) {
	m, _, err := s.mailbox(name)
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeNonExistent {
		return nil, noError(imap.ResponseCodeTryCreate, "No such mailbox")
	}
	return m, err
}

// Copy implements COPY and UID COPY with COPYUID (RFC 9051 §6.4.7, RFC
// 4315). Copies share the original's stored bytes.
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	if s.sel == nil {
		return nil, badError("No mailbox selected")
	}
	dst, err := s.destination(dest)
	if err != nil {
		return nil, err
	}
	targets, err := s.targets(numSet)
	if err != nil || len(targets) == 0 {
		return nil, err
	}
	ids := make([]int64, len(targets))
	for i, t := range targets {
		ids[i] = t.id
	}
	copied, err := s.copyMessages(s.sel.folder.ID, ids, dst.folder.ID, false)
	if err != nil {
		return nil, s.fail("copying", err)
	}
	if dst.folder.ID == s.sel.folder.ID {
		s.sel.mb.sync(s.ctx) // the copies show up in this very session's view
	}
	return copyData(dst, copied), nil
}

func copyData(dst *mbox, copied []storage.Copied) *imap.CopyData {
	if len(copied) == 0 {
		return nil
	}
	data := &imap.CopyData{UIDValidity: dst.folder.UIDValidity}
	for _, c := range copied {
		data.SourceUIDs.AddNum(imap.UID(c.SrcUID))
		data.DestUIDs.AddNum(imap.UID(c.DstUID))
	}
	return data
}

// Move implements MOVE and UID MOVE (RFC 6851): COPYUID first, then the
// EXPUNGEs when go-imap polls after the command.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if err := s.writable(); err != nil {
		return err
	}
	dst, err := s.destination(dest)
	if err != nil {
		return err
	}
	sel := s.sel
	if dst.folder.ID == sel.folder.ID {
		return noError(imap.ResponseCodeCannot, "Source and destination are the same mailbox")
	}
	targets, err := s.targets(numSet)
	if err != nil || len(targets) == 0 {
		return err
	}
	ids := make([]int64, len(targets))
	for i, t := range targets {
		ids[i] = t.id
	}
	moved, err := s.copyMessages(sel.folder.ID, ids, dst.folder.ID, true)
	if err != nil {
		return s.fail("moving", err)
	}
	removed := make([]storage.Expunged, len(moved))
	for i, m := range moved {
		removed[i] = storage.Expunged{ID: m.SrcID, UID: m.SrcUID}
	}
	sel.mb.applyExpunged(removed)
	if data := copyData(dst, moved); data != nil {
		return w.WriteCopyData(data)
	}
	return nil
}

// Append implements APPEND with APPENDUID (RFC 9051 §6.3.12, RFC 4315)
// through the one ingest path, internal/delivery.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	dst, err := s.destination(mailbox)
	if err != nil {
		return nil, err
	}
	bits, kws, err := storeFlags(options.Flags)
	if err != nil {
		return nil, err
	}
	limit := s.srv.opts.AppendLimit
	if r.Size() > limit {
		return nil, noError(imap.ResponseCodeTooBig, "Message is larger than APPENDLIMIT")
	}
	raw := make([]byte, r.Size())
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, err // the connection broke; go-imap drops it
	}
	if len(raw) == 0 {
		return nil, noError(imap.ResponseCodeCannot, "Empty message")
	}
	res, err := s.srv.opts.Deliverer.Ingest(s.ctx, &delivery.Ingest{
		Raw:          raw,
		InternalDate: options.Time,
		Targets:      []delivery.Target{{AccountID: s.accountID, FolderID: dst.folder.ID, Flags: bits, Keywords: kws}},
	})
	if err != nil {
		return nil, s.fail("appending", err)
	}
	tr := res.Targets[0]
	if tr.Err != nil {
		return nil, s.fail("appending", tr.Err)
	}
	if s.sel != nil && s.sel.folder.ID == dst.folder.ID {
		s.sel.mb.sync(s.ctx) // EXISTS in the poll that follows
	}
	return &imap.AppendData{UID: imap.UID(tr.UID), UIDValidity: dst.folder.UIDValidity}, nil
}
