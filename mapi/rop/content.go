package rop

import (
	"context"
	"fmt"
	"github.com/pochta/pochta/internal/rules"
	"slices"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/storage"
)

// A message has two shapes in the store (ARCHITECTURE.md "One message, two
// shapes"). One that arrived as MIME is derived with oxcmail.InetToMAPI
// (cached) and the client's own edits are stored as property rows on top
// (stored rows win; an empty row deletes a derived property). One made or
// edited through MAPI keeps its properties, recipient table and
// attachments as rows (the truth) and its rendering with
// oxcmail.MAPIToInet as the blob IMAP and POP3 read.

// maxEmbedDepth bounds embedded messages in stored content.
const maxEmbedDepth = 16

// derive returns the (shared, read-only) MAPI view of a MIME message.
func (s *Session) derive(ctx context.Context, m *storage.Message) (*oxcmail.Message, error) {
	if d := s.srv.derived.get(m.ID); d != nil {
		return d, nil
	}
	raw, err := s.srv.store.ReadBlob(ctx, m.BlobHash)
	if err != nil {
		return nil, fmt.Errorf("rop: reading message %d: %w", m.ID, err)
	}
	parsedTree := m.Parsed
	if parsedTree == nil {
		if parsedTree, err = s.srv.store.MessageParsed(ctx, s.mbox.accountID, m.ID); err != nil {
			parsedTree = nil
		}
	}
	var p *message.Parsed
	if parsedTree != nil {
		if p, err = message.Unmarshal(parsedTree); err != nil {
			p = nil
		}
	}
	if p == nil {
		p = message.Parse(raw)
	}
	d, err := oxcmail.InetToMAPI(ctx, raw, p, namedProps{s.srv, s.mbox.accountID}, oxcmail.ToMAPIOptions{
		DeliveryTime: m.ReceivedAt,
		ReceivedBy:   oxcmail.Mailbox{Name: s.acc.DisplayName, Address: s.acc.Address},
		AddressBook:  s.srv.ab,
	})
	if err != nil {
		return nil, fmt.Errorf("rop: deriving message %d: %w", m.ID, err)
	}
	s.srv.derived.put(m.ID, d, int64(len(raw))+int64(len(parsedTree))+4096)
	return d, nil
}

// cloneMessage copies a message so the copy can be changed; attachment data
// read from the raw MIME is shared.
func cloneMessage(m *oxcmail.Message) *oxcmail.Message {
	if m == nil {
		return nil
	}
	c := &oxcmail.Message{Props: m.Props.Clone()}
	for _, r := range m.Recipients {
		c.Recipients = append(c.Recipients, r.Clone())
	}
	for _, a := range m.Attachments {
		na := *a
		na.Props = a.Props.Clone()
		na.Embedded = cloneMessage(a.Embedded)
		c.Attachments = append(c.Attachments, &na)
	}
	return c
}

// loadContent returns the MAPI content of a stored message for the caller
// to change.
func (s *Session) loadContent(ctx context.Context, m *storage.Message) (*oxcmail.Message, error) {
	if m.MIMEFromChange != 0 {
		rows, err := s.srv.store.PropsOf(ctx, s.mbox.accountID, storage.ObjectMessage, []int64{m.ID}, true)
		if err != nil {
			return nil, err
		}
		return decodeContent(rows[m.ID])
	}
	d, err := s.derive(ctx, m)
	if err != nil {
		return nil, err
	}
	c := cloneMessage(d)
	rows, err := s.srv.store.PropsOf(ctx, s.mbox.accountID, storage.ObjectMessage, []int64{m.ID}, false)
	if err != nil {
		return nil, err
	}
	overlay(&c.Props, rows[m.ID])
	return c, nil
}

// overlay applies stored edits to derived properties.
func overlay(p *oxcmail.Props, rows []storage.PropValue) {
	for _, r := range rows {
		if len(r.Value) == 0 {
			p.Delete(mp.Tag(r.Tag).ID())
			continue
		}
		if v, ok := decodeStored(r); ok {
			p.Set(v)
		}
	}
}

// decodeContent reads the rows of a MAPI-made message.
func decodeContent(rows []storage.PropValue) (*oxcmail.Message, error) {
	m := &oxcmail.Message{}
	for _, r := range rows {
		switch {
		case r.Tag >= storage.InternalTagLimit:
			if v, ok := decodeStored(r); ok {
				m.Props.Set(v)
			}
		case r.Tag == tagInternalRecipients:
			rd := storedReader(r.Value)
			n := rd.U32()
			if uint64(n)*4 > uint64(rd.Len()) {
				return nil, fmt.Errorf("rop: stored recipient table is corrupt")
			}
			for i := uint32(0); i < n && rd.Err() == nil; i++ {
				m.Recipients = append(m.Recipients, propsFromValues(rules.GetValues(rd)))
			}
			if rd.Err() != nil {
				return nil, fmt.Errorf("rop: stored recipient table: %w", rd.Err())
			}
		case r.Tag >= tagInternalAttachBase:
			rd := storedReader(r.Value)
			a := getAttachment(rd, 0)
			if rd.Err() != nil || a == nil {
				return nil, fmt.Errorf("rop: stored attachment %d is corrupt: %v", r.Tag-tagInternalAttachBase, rd.Err())
			}
			m.Attachments = append(m.Attachments, a)
		}
	}
	return m, nil
}

// putMessage writes a message's props, recipients and attachments (the
// stored form of an embedded message).
func putMessage(w *mp.Writer, m *oxcmail.Message, depth int) {
	if depth > maxEmbedDepth {
		w.Failf("embedded messages nested deeper than %d", maxEmbedDepth)
		return
	}
	rules.PutValues(w, storableValues(m.Props))
	w.U32(uint32(len(m.Recipients)))
	for _, r := range m.Recipients {
		rules.PutValues(w, storableValues(r))
	}
	w.U32(uint32(len(m.Attachments)))
	for _, a := range m.Attachments {
		putAttachment(w, a, depth)
	}
}

func getMessage(r *mp.Reader, depth int) *oxcmail.Message {
	if depth > maxEmbedDepth {
		r.Failf("embedded messages nested deeper than %d", maxEmbedDepth)
		return nil
	}
	m := &oxcmail.Message{Props: propsFromValues(rules.GetValues(r))}
	n := r.U32()
	if uint64(n)*4 > uint64(r.Len()) {
		r.Failf("%d recipients in %d bytes", n, r.Len())
		return nil
	}
	for i := uint32(0); i < n && r.Err() == nil; i++ {
		m.Recipients = append(m.Recipients, propsFromValues(rules.GetValues(r)))
	}
	n = r.U32()
	if uint64(n)*5 > uint64(r.Len()) {
		r.Failf("%d attachments in %d bytes", n, r.Len())
		return nil
	}
	for i := uint32(0); i < n && r.Err() == nil; i++ {
		if a := getAttachment(r, depth); a != nil {
			m.Attachments = append(m.Attachments, a)
		}
	}
	return m
}

// putAttachment writes an attachment with its data: content read from MIME
// is materialised, since the stored message no longer has that MIME.
func putAttachment(w *mp.Writer, a *oxcmail.Attachment, depth int) {
	p := a.Props.Clone()
	if a.Embedded == nil && !p.Has(mp.PidTagAttachDataBinary) && a.Part != nil {
		p.Set(mp.BinaryValue(mp.PidTagAttachDataBinary, a.Bytes()))
	}
	rules.PutValues(w, storableValues(p))
	if a.Embedded == nil {
		w.U8(0)
		return
	}
	w.U8(1)
	putMessage(w, a.Embedded, depth+1)
}

func getAttachment(r *mp.Reader, depth int) *oxcmail.Attachment {
	a := &oxcmail.Attachment{Props: propsFromValues(rules.GetValues(r))}
	if r.U8() != 0 {
		a.Embedded = getMessage(r, depth+1)
	}
	if r.Err() != nil {
		return nil
	}
	return a
}

// storableValues returns the values of p worth keeping.
func storableValues(p oxcmail.Props) []mp.Value {
	vals := p.Values()
	out := vals[:0]
	for _, v := range vals {
		if storable(v) && !computedMessageTag(v.Tag.ID()) {
			out = append(out, v)
		}
	}
	return out
}

// encodeContent returns the rows a MAPI-made message is stored as.
func encodeContent(m *oxcmail.Message) ([]storage.PropValue, error) {
	var rows []storage.PropValue
	for _, v := range storableValues(m.Props) {
		pv, err := encodeStored(v)
		if err != nil {
			continue // a value the codec refuses is dropped, not fatal
		}
		rows = append(rows, pv)
	}
	if len(m.Recipients) > 0 {
		w := storedWriter()
		w.U32(uint32(len(m.Recipients)))
		for _, r := range m.Recipients {
			rules.PutValues(w, storableValues(r))
		}
		if err := w.Err(); err != nil {
			return nil, fmt.Errorf("rop: storing recipients: %w", err)
		}
		rows = append(rows, storage.PropValue{Tag: tagInternalRecipients, Value: w.Bytes()})
	}
	if len(m.Attachments) > int(maxAttachments) {
		return nil, mp.ErrTooBig
	}
	for i, a := range m.Attachments {
		w := storedWriter()
		putAttachment(w, a, 0)
		if err := w.Err(); err != nil {
			return nil, fmt.Errorf("rop: storing attachment: %w", err)
		}
		rows = append(rows, storage.PropValue{Tag: tagInternalAttachBase + uint32(i), Value: w.Bytes()})
	}
	return rows, nil
}

// computedMessageTag reports properties a message object computes itself
// (ids, keys, sizes, states); they are never stored.
func computedMessageTag(id uint16) bool {
	switch mp.Tag(uint32(id) << 16) {
	case mp.PidTagMid.WithType(0), mp.PidTagFolderId.WithType(0), mp.PidTagParentFolderId.WithType(0),
		mp.PidTagEntryId.WithType(0), mp.PidTagRecordKey.WithType(0), mp.PidTagParentEntryId.WithType(0),
		mp.PidTagSourceKey.WithType(0), mp.PidTagParentSourceKey.WithType(0), mp.PidTagChangeKey.WithType(0),
		mp.PidTagPredecessorChangeList.WithType(0), mp.PidTagChangeNumber.WithType(0),
		mp.PidTagStoreRecordKey.WithType(0), mp.PidTagStoreEntryId.WithType(0), mp.PidTagMappingSignature.WithType(0),
		mp.PidTagMessageSize.WithType(0), mp.PidTagHasAttachments.WithType(0), mp.PidTagAccess.WithType(0),
		mp.PidTagAccessLevel.WithType(0), mp.PidTagObjectType.WithType(0), mp.PidTagInstanceKey.WithType(0),
		mp.PidTagInstID.WithType(0), mp.PidTagInstanceNum.WithType(0), mp.PidTagRowType.WithType(0),
		mp.PidTagDepth.WithType(0), mp.PidTagAssociated.WithType(0), mp.PidTagHasNamedProperties.WithType(0),
		mp.PidTagDisplayTo.WithType(0), mp.PidTagDisplayCc.WithType(0), mp.PidTagDisplayBcc.WithType(0),
		mp.PidTagMessageRecipients.WithType(0), mp.PidTagMessageAttachments.WithType(0):
		return true
	}
	return false
}

// overlayTag reports properties whose change leaves a MIME message's
// rendering alone: follow-up flags, verbs, icons, read and status bits,
// and every named property (categories, reminders, Outlook's own state).
// Changing anything else, or the recipients or attachments, makes the
// message one whose properties are its truth.
func overlayTag(id uint16) bool {
	if id >= 0x8000 {
		return true
	}
	switch mp.Tag(uint32(id) << 16) {
	case mp.PidTagFlagStatus.WithType(0), mp.PidTagFlagCompleteTime.WithType(0), mp.PidTagFollowupIcon.WithType(0),
		mp.PidTagToDoItemFlags.WithType(0), mp.PidTagLastVerbExecuted.WithType(0), mp.PidTagLastVerbExecutionTime.WithType(0),
		mp.PidTagIconIndex.WithType(0), mp.PidTagMessageFlags.WithType(0), mp.PidTagMessageStatus.WithType(0),
		mp.PidTagBlockStatus.WithType(0), mp.PidTagConversationIndexTracking.WithType(0), pidTagRead.WithType(0),
		mp.PidTagMessageLocaleId.WithType(0), mp.PidTagLocalCommitTime.WithType(0), mp.PidTagLastModificationTime.WithType(0),
		mp.PidTagLastModifierName.WithType(0), mp.PidTagLastModifierEntryId.WithType(0), mp.PidTagRtfInSync.WithType(0),
		mp.PidTagSearchKey.WithType(0), mp.PidTagSensitivity.WithType(0):
		return true
	}
	return false
}

// newMessageRow builds the promoted columns of a rendering.
func newMessageRow(raw []byte, p *message.Parsed, c *oxcmail.Message, flags storage.Flags, now time.Time) *storage.NewMessage {
	class := c.Props.String(mp.PidTagMessageClass)
	if class == "" {
		class = "IPM.Note"
	}
	imp := 1
	if v, ok := c.Props.Int32(mp.PidTagImportance); ok && v >= 0 && v <= 2 {
		imp = int(v)
	}
	subject := c.Props.String(mp.PidTagSubject)
	if subject == "" {
		subject = p.Subject
	}
	return &storage.NewMessage{
		BlobHash: storage.BlobHash(raw), Size: int64(len(raw)), InternalDate: now, Flags: flags,
		Parsed: p.Marshal(), MessageClass: class, Subject: subject, FromName: p.FromName, FromAddr: p.FromAddr,
		ToDisplay: p.ToDisplay, CcDisplay: p.CcDisplay, SentAt: p.SentAt, HasAttachments: len(c.Attachments) > 0,
		Importance: imp, MessageIDHeader: p.MessageID, Preview: p.Preview,
	}
}

// render makes the MIME a stored MAPI message is kept as (Bcc included:
// it is the sender's own copy).
func (s *Session) render(c *oxcmail.Message) ([]byte, error) {
	if !c.Props.Has(mp.PidTagInternetMessageId) {
		c.Props.Set(mp.StringValue(mp.PidTagInternetMessageId, oxcmail.NewMessageID(s.srv.opts.Hostname)))
	}
	raw, err := oxcmail.MAPIToInet(c, oxcmail.ToInetOptions{Hostname: s.srv.opts.Hostname, KeepBcc: true})
	if err != nil {
		return nil, fmt.Errorf("rop: rendering message: %w", err)
	}
	return raw, nil
}

// flagsFromProps maps PidTagMessageFlags and the follow-up properties to
// the store's flags (the ones IMAP shows).
func flagsFromProps(p oxcmail.Props, assoc bool) storage.Flags {
	var f storage.Flags
	mf, _ := p.Int32(mp.PidTagMessageFlags)
	if mf&mp.MessageFlagRead != 0 {
		f |= storage.FlagSeen
	}
	if mf&mp.MessageFlagUnsent != 0 {
		f |= storage.FlagDraft
	}
	if st, ok := p.Int32(mp.PidTagFlagStatus); ok && st == followupFlagged {
		f |= storage.FlagFlagged
	}
	if v, ok := p.Int32(mp.PidTagLastVerbExecuted); ok {
		switch v {
		case verbReplyToSender, verbReplyToAll:
			f |= storage.FlagAnswered
		case verbForward:
			f |= storage.FlagForwarded
		}
	}
	if assoc {
		f |= storage.FlagAssociated
	}
	return f
}

// Follow-up and verb values (MS-OXOFLAG 2.2.1.1, MS-OXOMSG 2.2.1.4).
const (
	followupComplete  int32 = 1
	followupFlagged   int32 = 2
	verbReplyToSender int32 = 102
	verbReplyToAll    int32 = 103
	verbForward       int32 = 104
)

// sortedAttachNums returns the attachment numbers of a content in order.
func attachNum(a *oxcmail.Attachment, i int) uint32 {
	if v, ok := a.Props.Int32(mp.PidTagAttachNumber); ok && v >= 0 {
		return uint32(v)
	}
	return uint32(i)
}

// nextAttachNum is one above the largest attachment number in use.
func nextAttachNum(m *oxcmail.Message) uint32 {
	var n uint32
	for i, a := range m.Attachments {
		n = max(n, attachNum(a, i)+1)
	}
	return n
}

// numberAttachments makes PidTagAttachNumber explicit, so numbers stay
// stable when attachments are deleted.
func numberAttachments(m *oxcmail.Message) {
	used := map[uint32]bool{}
	for i, a := range m.Attachments {
		n := attachNum(a, i)
		for used[n] {
			n++
		}
		used[n] = true
		a.Props.Set(mp.Int32Value(mp.PidTagAttachNumber, int32(n)))
	}
	slices.SortStableFunc(m.Attachments, func(a, b *oxcmail.Attachment) int {
		return int(attachNum(a, 0)) - int(attachNum(b, 0))
	})
}
