package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// SEARCH (RFC 9051 §6.4.4) runs in the database: flags, keywords, sizes,
// dates, sequence and UID sets, and SUBJECT, FROM and Message-ID on the
// promoted columns, combined with NOT and OR. What the columns cannot
// answer (TO, CC, BCC, other header fields, BODY, TEXT) is an external test
// that reads the stored part tree or bytes of only the messages the rest of
// the condition leaves.

// extTest is a search key the store cannot answer.
type extTest struct {
	kind  int
	field string // header field name for extHeader; "to", "cc", "bcc" for extAddr
	value string
}

const (
	extHeader = iota // a header field contains value (present, when value is empty)
	extAddr          // an address list (To, Cc, Bcc) contains value
	extBody          // a text part contains value
	extText          // the header or a text part contains value
)

// searchMapper turns go-imap's criteria into the store's condition tree.
type searchMapper struct {
	// seqRanges maps a sequence set of the client's view to UID ranges.
	seqRanges func(imap.SeqSet) []storage.UIDRange
	// uidStar is "*" in UID sets; searchRes is "$" (RFC 5182).
	uidStar   uint32
	searchRes imap.UIDSet
	exts      []extTest
}

func (m *searchMapper) ext(t extTest) storage.SearchCond {
	m.exts = append(m.exts, t)
	return storage.SearchCond{Kind: storage.SearchExternal, Ext: len(m.exts) - 1}
}

func (m *searchMapper) uidRanges(set imap.UIDSet) []storage.UIDRange {
	if imap.IsSearchRes(set) {
		set = m.searchRes
	}
	out := make([]storage.UIDRange, 0, len(set))
	for _, r := range set {
		lo, hi := staticRange(uint32(r.Start), uint32(r.Stop), m.uidStar)
		out = append(out, storage.UIDRange{Start: lo, Stop: hi})
	}
	return out
}

// cond maps one criteria node (an AND of all its keys).
func (m *searchMapper) cond(c *imap.SearchCriteria, depth int) (storage.SearchCond, error) {
	if depth > storage.MaxSearchDepth {
		return storage.SearchCond{}, storage.ErrSearchTooComplex
	}
	var and []storage.SearchCond
	add := func(k storage.SearchKind, f func(*storage.SearchCond)) {
		sc := storage.SearchCond{Kind: k}
		if f != nil {
			f(&sc)
		}
		and = append(and, sc)
	}
	for _, set := range c.SeqNum {
		if imap.IsSearchRes(set) {
			add(storage.SearchUID, func(sc *storage.SearchCond) { sc.UIDs = m.uidRanges(m.searchRes) })
			continue
		}
		add(storage.SearchUID, func(sc *storage.SearchCond) { sc.UIDs = m.seqRanges(set) })
	}
	for _, set := range c.UID {
		add(storage.SearchUID, func(sc *storage.SearchCond) { sc.UIDs = m.uidRanges(set) })
	}
	if !c.Since.IsZero() {
		add(storage.SearchSince, func(sc *storage.SearchCond) { sc.Time = c.Since })
	}
	if !c.Before.IsZero() {
		add(storage.SearchBefore, func(sc *storage.SearchCond) { sc.Time = c.Before })
	}
	if !c.SentSince.IsZero() {
		add(storage.SearchSentSince, func(sc *storage.SearchCond) { sc.Time = c.SentSince })
	}
	if !c.SentBefore.IsZero() {
		add(storage.SearchSentBefore, func(sc *storage.SearchCond) { sc.Time = c.SentBefore })
	}
	for _, h := range c.Header {
		and = append(and, m.header(h.Key, h.Value))
	}
	for _, v := range c.Body {
		and = append(and, m.ext(extTest{kind: extBody, value: v}))
	}
	for _, v := range c.Text {
		and = append(and, m.ext(extTest{kind: extText, value: v}))
	}
	for _, f := range c.Flag {
		and = append(and, flagCond(f, true))
	}
	for _, f := range c.NotFlag {
		and = append(and, flagCond(f, false))
	}
	if c.Larger > 0 {
		add(storage.SearchLarger, func(sc *storage.SearchCond) { sc.Size = c.Larger })
	}
	if c.Smaller > 0 {
		add(storage.SearchSmaller, func(sc *storage.SearchCond) { sc.Size = c.Smaller })
	}
	for i := range c.Not {
		sub, err := m.cond(&c.Not[i], depth+1)
		if err != nil {
			return storage.SearchCond{}, err
		}
		and = append(and, storage.SearchCond{Kind: storage.SearchNot, Sub: []storage.SearchCond{sub}})
	}
	for i := range c.Or {
		a, err := m.cond(&c.Or[i][0], depth+1)
		if err != nil {
			return storage.SearchCond{}, err
		}
		b, err := m.cond(&c.Or[i][1], depth+1)
		if err != nil {
			return storage.SearchCond{}, err
		}
		and = append(and, storage.SearchCond{Kind: storage.SearchOr, Sub: []storage.SearchCond{a, b}})
	}
	switch len(and) {
	case 0:
		return storage.SearchCond{Kind: storage.SearchAll}, nil
	case 1:
		return and[0], nil
	}
	return storage.SearchCond{Kind: storage.SearchAnd, Sub: and}, nil
}

// header maps HEADER, FROM, TO, CC, BCC and SUBJECT keys.
func (m *searchMapper) header(key, value string) storage.SearchCond {
	k := strings.ToLower(key)
	if value != "" {
		switch k {
		case "subject":
			return storage.SearchCond{Kind: storage.SearchSubject, Text: value}
		case "from":
			return storage.SearchCond{Kind: storage.SearchFrom, Text: value}
		case "message-id":
			return storage.SearchCond{Kind: storage.SearchMessageID, Text: strings.Trim(value, "<> \t")}
		case "to", "cc", "bcc":
			return m.ext(extTest{kind: extAddr, field: k, value: value})
		}
	}
	return m.ext(extTest{kind: extHeader, field: key, value: value})
}

func flagCond(f imap.Flag, set bool) storage.SearchCond {
	if strings.EqualFold(string(f), string(flagRecent)) {
		// No message is ever \Recent here (IMAP4rev2 dropped it).
		if set {
			return storage.SearchCond{Kind: storage.SearchNone}
		}
		return storage.SearchCond{Kind: storage.SearchAll}
	}
	for _, sf := range systemFlags {
		if strings.EqualFold(string(f), string(sf.flag)) {
			if set {
				return storage.SearchCond{Kind: storage.SearchFlagsSet, Flags: sf.bit}
			}
			return storage.SearchCond{Kind: storage.SearchFlagsClear, Flags: sf.bit}
		}
	}
	kw := storage.SearchCond{Kind: storage.SearchKeyword, Text: string(f)}
	if set {
		return kw
	}
	return storage.SearchCond{Kind: storage.SearchNot, Sub: []storage.SearchCond{kw}}
}

// Search implements SEARCH and UID SEARCH with ESEARCH (RFC 4731) and
// SEARCHRES (RFC 5182).
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	sel := s.sel
	if sel == nil {
		return nil, badError("No mailbox selected")
	}
	mapper := &searchMapper{searchRes: sel.searchRes}
	mb, v := sel.mb, sel.v
	mb.mu.Lock()
	maxUID := v.knownMax
	mapper.uidStar = v.maxUIDLocked()
	mapper.seqRanges = func(set imap.SeqSet) []storage.UIDRange {
		var out []storage.UIDRange
		for _, t := range v.resolveLocked(set) {
			if n := len(out); n > 0 {
				if i, _ := mb.index(t.uid); i > 0 && mb.msgs[i-1].uid == out[n-1].Stop {
					out[n-1].Stop = t.uid
					continue
				}
			}
			out = append(out, storage.UIDRange{Start: t.uid, Stop: t.uid})
		}
		return out
	}
	cond, err := mapper.cond(criteria, 0)
	mb.mu.Unlock()
	if err != nil {
		return nil, s.fail("searching", err)
	}
	uids, err := s.runSearch(sel, maxUID, &cond, mapper.exts)
	if err != nil {
		return nil, err
	}

	data := &imap.SearchData{}
	var seqs imap.SeqSet
	var uidSet imap.UIDSet
	mb.mu.Lock()
	for _, uid := range uids {
		i, ok := mb.index(uid)
		if !ok || uid > v.knownMax {
			continue // expunged meanwhile
		}
		uidSet.AddNum(imap.UID(uid))
		num := uid
		if kind == imapserver.NumKindSeq {
			num = v.seqOfIndex(i)
			seqs.AddNum(num)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		data.Max = max(data.Max, num)
		data.Count++
	}
	mb.mu.Unlock()
	if kind == imapserver.NumKindSeq {
		data.All = seqs
		if seqs == nil {
			data.All = imap.SeqSet{}
		}
	} else {
		data.All = uidSet
		if uidSet == nil {
			data.All = imap.UIDSet{}
		}
	}
	if options.ReturnSave {
		sel.searchRes = uidSet
	}
	return data, nil
}

// candidatePage bounds the rows one external-test query reads.
const candidatePage = 200

// runSearch returns the matching UIDs in ascending order.
func (s *session) runSearch(sel *selected, maxUID uint32, cond *storage.SearchCond, exts []extTest) ([]uint32, error) {
	st := s.srv.store
	exact, err := storage.SearchExact(cond)
	if err != nil {
		return nil, s.fail("searching", err)
	}
	if exact {
		uids, err := st.SearchUIDs(s.ctx, s.accountID, sel.folder.ID, maxUID, cond)
		if err != nil {
			return nil, s.fail("searching", err)
		}
		return uids, nil
	}
	var out []uint32
	var after uint32
	for {
		rows, err := st.SearchCandidates(s.ctx, s.accountID, sel.folder.ID, after, maxUID, cond, candidatePage)
		if err != nil {
			return nil, s.fail("searching", err)
		}
		for i := range rows {
			row := &rows[i]
			after = row.UID
			ev := &extEval{s: s, row: row}
			ok, err := st.MatchSearch(cond, row, func(c *storage.SearchCond) (bool, error) {
				return ev.test(exts[c.Ext])
			})
			if err != nil {
				return nil, s.fail("searching", err)
			}
			if ok {
				out = append(out, row.UID)
			}
		}
		if len(rows) < candidatePage {
			return out, nil
		}
	}
}

// extEval answers external tests for one message, reading its part tree
// and bytes at most once.
type extEval struct {
	s      *session
	row    *storage.Message
	parsed *message.Parsed
	raw    []byte
	rawErr error
	loaded bool
}

func (e *extEval) tree() *message.Parsed {
	if e.parsed == nil {
		e.parsed = e.s.partTree(e.row)
	}
	return e.parsed
}

func (e *extEval) bytes() ([]byte, error) {
	if !e.loaded {
		e.raw, e.rawErr = e.s.srv.store.ReadBlob(e.s.ctx, e.row.BlobHash)
		e.loaded = true
	}
	return e.raw, e.rawErr
}

func (e *extEval) test(t extTest) (bool, error) {
	st := e.s.srv.store
	switch t.kind {
	case extAddr:
		env := e.tree().Envelope
		list := env.To
		switch t.field {
		case "cc":
			list = env.Cc
		case "bcc":
			list = env.Bcc
		}
		return addressesContain(st, list, t.value), nil
	case extHeader:
		raw, err := e.bytes()
		if err != nil {
			return false, err
		}
		return headerContains(st, e.tree(), raw, t.field, t.value), nil
	case extBody:
		raw, err := e.bytes()
		if err != nil {
			return false, err
		}
		return bodyContains(st, e.tree(), raw, t.value), nil
	case extText:
		raw, err := e.bytes()
		if err != nil {
			return false, err
		}
		p := e.tree()
		if headerContains(st, p, raw, "", t.value) {
			return true, nil
		}
		return bodyContains(st, p, raw, t.value), nil
	}
	return false, nil
}

// folder is the case folding the store's SQL uses, so a key means the
// same in SQL and here.
type folder interface {
	ContainsFold(haystack, needle string) bool
}

func addressesContain(f folder, list []message.Address, v string) bool {
	for _, a := range list {
		if f.ContainsFold(a.DisplayName(), v) || f.ContainsFold(a.Addr(), v) {
			return true
		}
	}
	return false
}

// headerContains tests the top-level header: field "" means any field.
func headerContains(f folder, p *message.Parsed, raw []byte, field, v string) bool {
	if p == nil || p.Root == nil {
		return false
	}
	hdr := p.Root.HeaderBytes(raw)
	for _, h := range message.ReadHeader(hdr) {
		if field != "" && !strings.EqualFold(h.Key, field) {
			continue
		}
		if v == "" && field != "" {
			return true
		}
		if f.ContainsFold(h.Value, v) || f.ContainsFold(message.DecodeHeaderText(h.Value), v) {
			return true
		}
	}
	return false
}

// bodyContains tests the decoded text of every text part, embedded
// messages included (RFC 9051 §6.4.4 BODY).
func bodyContains(f folder, p *message.Parsed, raw []byte, v string) bool {
	if p == nil || p.Root == nil {
		return false
	}
	found := false
	p.Root.Walk(func(_ []int, part *message.Part) bool {
		if found {
			return false
		}
		if part.MediaType == "text" && len(part.Parts) == 0 {
			found = f.ContainsFold(message.DecodeText(raw, part), v)
		}
		return true
	})
	return found
}
