package rop

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/storage"
)

// Message and attachment objects and their ROPs (MS-OXCMSG). A message
// object holds its whole MAPI content in memory; changes stay there until
// RopSaveChangesMessage (attachments until RopSaveChangesAttachment, then
// with the message).

// messageObj is an opened or new message.
type messageObj struct {
	folderID int64 // storage folder id (0 for an embedded message)
	folderGC int64
	row      *storage.Message // the stored row; nil until saved
	assoc    bool
	content  *oxcmail.Message
	writable bool
	// changed holds the property ids set or deleted since the content was
	// loaded; contentChanged that recipients or attachments changed.
	changed        map[uint16]bool
	contentChanged bool
	embedded       *attachObj // the attachment an embedded message belongs to
	submitted      bool
	nextAttach     uint32
}

func (m *messageObj) markChanged(id uint16) {
	if m.changed == nil {
		m.changed = map[uint16]bool{}
	}
	m.changed[id] = true
}

// attachObj is an opened or new attachment; att is a working copy that
// RopSaveChangesAttachment puts into the message.
type attachObj struct {
	msg      *messageObj
	num      uint32
	att      *oxcmail.Attachment
	writable bool
}

// messageFlags combines stored PidTagMessageFlags bits with the store's
// flags, which are the truth for read, unsent and associated.
func messageFlags(base int32, f storage.Flags, hasAttach bool) int32 {
	v := base &^ (mp.MessageFlagRead | mp.MessageFlagUnsent | mp.MessageFlagAssociated | mp.MessageFlagHasAttach)
	if f&storage.FlagSeen != 0 {
		v |= mp.MessageFlagRead | mp.MessageFlagEverRead
	}
	if f&storage.FlagDraft != 0 {
		v |= mp.MessageFlagUnsent
	}
	if f&storage.FlagAssociated != 0 {
		v |= mp.MessageFlagAssociated
	}
	if hasAttach {
		v |= mp.MessageFlagHasAttach
	}
	return v
}

// iconIndex is PidTagIconIndex from the message state (MS-OXOMSG 2.2.1.10).
func iconIndex(flags int32, f storage.Flags) int32 {
	switch {
	case flags&mp.MessageFlagSubmitted != 0:
		return 0x102
	case flags&mp.MessageFlagUnsent != 0:
		return 0x103
	case f&storage.FlagAnswered != 0:
		return 0x105
	case f&storage.FlagForwarded != 0:
		return 0x106
	case flags&mp.MessageFlagRead != 0:
		return 0x100
	}
	return 0x101
}

// setIdentity sets the ids and keys of a stored message.
func (s *Session) setIdentity(p *oxcmail.Props, folderGC, globCnt, changeNum int64) {
	s.setIDs(p, folderGC, globCnt, changeNum)
	for _, t := range identityTags {
		if v, ok := s.messageIdentity(t.ID(), folderGC, globCnt, changeNum); ok {
			p.Set(v)
		}
	}
}

// setIDs sets the numeric ids of a stored message.
func (s *Session) setIDs(p *oxcmail.Props, folderGC, globCnt, changeNum int64) {
	mid := makeID(globCnt)
	p.Set(mp.Int64Value(mp.PidTagMid, int64(mid)))
	p.Set(mp.Int64Value(mp.PidTagFolderId, int64(makeID(folderGC))))
	p.Set(mp.Int64Value(mp.PidTagParentFolderId, int64(makeID(folderGC))))
	p.Set(mp.Int64Value(mp.PidTagChangeNumber, int64(makeID(changeNum))))
	p.Set(mp.Int64Value(mp.PidTagInstID, int64(mid)))
	p.Set(mp.Int32Value(mp.PidTagInstanceNum, 0))
}

// identityTags are the binary ids and keys of a stored message, made only
// when asked for (table rows rarely need them all).
var identityTags = []mp.Tag{mp.PidTagEntryId, mp.PidTagRecordKey, mp.PidTagParentEntryId, mp.PidTagSourceKey,
	mp.PidTagParentSourceKey, mp.PidTagChangeKey, mp.PidTagPredecessorChangeList, mp.PidTagInstanceKey,
	mp.PidTagStoreRecordKey, mp.PidTagStoreEntryId, mp.PidTagMappingSignature}

// messageIdentity makes one of the identityTags.
func (s *Session) messageIdentity(id uint16, folderGC, globCnt, changeNum int64) (mp.Value, bool) {
	switch id {
	case mp.PidTagEntryId.ID():
		return mp.BinaryValue(mp.PidTagEntryId, s.messageEntryID(folderGC, globCnt)), true
	case mp.PidTagRecordKey.ID():
		return mp.BinaryValue(mp.PidTagRecordKey, s.messageEntryID(folderGC, globCnt)), true
	case mp.PidTagParentEntryId.ID():
		return mp.BinaryValue(mp.PidTagParentEntryId, s.folderEntryID(folderGC)), true
	case mp.PidTagSourceKey.ID():
		return mp.BinaryValue(mp.PidTagSourceKey, s.sourceKey(globCnt)), true
	case mp.PidTagParentSourceKey.ID():
		return mp.BinaryValue(mp.PidTagParentSourceKey, s.sourceKey(folderGC)), true
	case mp.PidTagChangeKey.ID():
		return mp.BinaryValue(mp.PidTagChangeKey, s.changeKey(changeNum)), true
	case mp.PidTagPredecessorChangeList.ID():
		return mp.BinaryValue(mp.PidTagPredecessorChangeList, s.predecessors(changeNum)), true
	case mp.PidTagInstanceKey.ID():
		ik := make([]byte, 20)
		binary.LittleEndian.PutUint64(ik[0:], uint64(makeID(folderGC)))
		binary.LittleEndian.PutUint64(ik[8:], uint64(makeID(globCnt)))
		return mp.BinaryValue(mp.PidTagInstanceKey, ik), true
	case mp.PidTagStoreRecordKey.ID():
		return mp.BinaryValue(mp.PidTagStoreRecordKey, append([]byte{}, s.mbox.storeGUID[:]...)), true
	case mp.PidTagStoreEntryId.ID():
		return mp.BinaryValue(mp.PidTagStoreEntryId, s.storeEntryID()), true
	case mp.PidTagMappingSignature.ID():
		return mp.BinaryValue(mp.PidTagMappingSignature, append([]byte{}, s.mbox.replGUID[:]...)), true
	}
	return mp.Value{}, false
}

// setCommon sets what every message object reports about itself.
func (s *Session) setCommon(p *oxcmail.Props, writable bool) {
	p.Set(mp.BinaryValue(mp.PidTagStoreRecordKey, append([]byte{}, s.mbox.storeGUID[:]...)))
	p.Set(mp.BinaryValue(mp.PidTagStoreEntryId, s.storeEntryID()))
	p.Set(mp.BinaryValue(mp.PidTagMappingSignature, append([]byte{}, s.mbox.replGUID[:]...)))
	s.setAccess(p, writable)
}

func (s *Session) setAccess(p *oxcmail.Props, writable bool) {
	p.Set(mp.Int32Value(mp.PidTagObjectType, mp.ObjectTypeMessage))
	p.Set(mp.Int32Value(mp.PidTagAccess, mp.AccessModify|mp.AccessRead|mp.AccessDelete))
	level := int32(0)
	if writable {
		level = 1
	}
	p.Set(mp.Int32Value(mp.PidTagAccessLevel, level))
	p.Set(mp.BoolValue(mp.PidTagHasNamedProperties, true))
}

// lightMessageProps are a contents table row made from the promoted
// columns and the stored properties, without reading the message.
func (s *Session) lightMessageProps(m *storage.Message, folderGC int64, stored []storage.PropValue) oxcmail.Props {
	var p oxcmail.Props
	prefix, normalized := oxcmail.SplitSubject(m.Subject)
	p.Set(mp.StringValue(mp.PidTagSubject, m.Subject))
	p.Set(mp.StringValue(mp.PidTagSubjectPrefix, prefix))
	p.Set(mp.StringValue(mp.PidTagNormalizedSubject, normalized))
	p.Set(mp.StringValue(mp.PidTagConversationTopic, normalized))
	p.Set(mp.StringValue(mp.PidTagMessageClass, m.MessageClass))
	from := m.FromName
	if from == "" {
		from = m.FromAddr
	}
	if from != "" {
		p.Set(mp.StringValue(mp.PidTagSenderName, from))
		p.Set(mp.StringValue(mp.PidTagSentRepresentingName, from))
	}
	if m.FromAddr != "" {
		for _, t := range []mp.Tag{mp.PidTagSenderEmailAddress, mp.PidTagSenderSmtpAddress, mp.PidTagSentRepresentingEmailAddress, mp.PidTagSentRepresentingSmtpAddress} {
			p.Set(mp.StringValue(t, m.FromAddr))
		}
		p.Set(mp.StringValue(mp.PidTagSenderAddressType, "SMTP"))
		p.Set(mp.StringValue(mp.PidTagSentRepresentingAddressType, "SMTP"))
	}
	p.Set(mp.StringValue(mp.PidTagDisplayTo, m.ToDisplay))
	p.Set(mp.StringValue(mp.PidTagDisplayCc, m.CcDisplay))
	p.Set(mp.TimeValue(mp.PidTagMessageDeliveryTime, m.ReceivedAt))
	p.Set(mp.TimeValue(mp.PidTagCreationTime, m.ReceivedAt))
	p.Set(mp.TimeValue(mp.PidTagLastModificationTime, m.ReceivedAt))
	if !m.SentAt.IsZero() && m.SentAt.Year() > 1601 {
		p.Set(mp.TimeValue(mp.PidTagClientSubmitTime, m.SentAt))
	}
	if m.MessageIDHeader != "" {
		p.Set(mp.StringValue(mp.PidTagInternetMessageId, m.MessageIDHeader))
	}
	p.Set(mp.Int32Value(mp.PidTagImportance, int32(m.Importance)))
	overlay(&p, stored)
	s.setState(&p, m, folderGC, m.HasAttachments)
	p.Set(mp.BoolValue(mp.PidTagHasAttachments, m.HasAttachments))
	s.setAccess(&p, true)
	return p
}

// setComputed sets the properties that follow the store's row: ids, keys,
// flags, sizes.
func (s *Session) setComputed(p *oxcmail.Props, m *storage.Message, folderGC int64, hasAttach bool) {
	s.setIdentity(p, folderGC, m.GlobCnt, m.ChangeNum)
	s.setState(p, m, folderGC, hasAttach)
}

// setState sets the numeric ids, flags and sizes of a stored message.
func (s *Session) setState(p *oxcmail.Props, m *storage.Message, folderGC int64, hasAttach bool) {
	s.setIDs(p, folderGC, m.GlobCnt, m.ChangeNum)
	base, _ := p.Int32(mp.PidTagMessageFlags)
	flags := messageFlags(base, m.Flags, hasAttach)
	p.Set(mp.Int32Value(mp.PidTagMessageFlags, flags))
	p.Set(mp.BoolValue(pidTagRead, flags&mp.MessageFlagRead != 0))
	p.Set(mp.BoolValue(mp.PidTagAssociated, m.Flags&storage.FlagAssociated != 0))
	p.Set(mp.Int32Value(mp.PidTagMessageSize, int32(min(m.Size, 1<<31-1))))
	p.Set(mp.Int64Value(mp.PidTagMessageSizeExtended, m.Size))
	if !p.Has(mp.PidTagIconIndex) {
		p.Set(mp.Int32Value(mp.PidTagIconIndex, iconIndex(flags, m.Flags)))
	}
	if m.Flags&storage.FlagFlagged != 0 && !p.Has(mp.PidTagFlagStatus) {
		p.Set(mp.Int32Value(mp.PidTagFlagStatus, followupFlagged))
	}
	if !p.Has(mp.PidTagLastVerbExecuted) {
		switch {
		case m.Flags&storage.FlagAnswered != 0:
			p.Set(mp.Int32Value(mp.PidTagLastVerbExecuted, verbReplyToSender))
		case m.Flags&storage.FlagForwarded != 0:
			p.Set(mp.Int32Value(mp.PidTagLastVerbExecuted, verbForward))
		}
	}
}

// messageProps returns every property of a message object.
func (s *Session) messageProps(m *messageObj) oxcmail.Props {
	p := m.content.Props.Clone()
	// The subject parts follow each other (MS-OXCMSG 2.2.1.5).
	subj, hasSubj := p.Get(mp.PidTagSubject)
	norm, hasNorm := p.Get(mp.PidTagNormalizedSubject)
	switch {
	case hasSubj && !hasNorm:
		prefix, n := oxcmail.SplitSubject(subj.Data.(string))
		if !p.Has(mp.PidTagSubjectPrefix) {
			p.Set(mp.StringValue(mp.PidTagSubjectPrefix, prefix))
		}
		p.Set(mp.StringValue(mp.PidTagNormalizedSubject, n))
	case hasNorm && !hasSubj:
		p.Set(mp.StringValue(mp.PidTagSubject, p.String(mp.PidTagSubjectPrefix)+norm.Data.(string)))
	}
	if !p.Has(mp.PidTagConversationTopic) && p.Has(mp.PidTagNormalizedSubject) {
		p.Set(mp.StringValue(mp.PidTagConversationTopic, p.String(mp.PidTagNormalizedSubject)))
	}
	// Bodies in the forms clients ask for (MS-OXCMSG 2.2.1.56.x).
	if !p.Has(mp.PidTagBody) {
		if html := p.Binary(mp.PidTagHtml); html != nil {
			p.Set(mp.StringValue(mp.PidTagBody, oxcmail.HTMLToText(string(html))))
		} else if rtf := p.Binary(mp.PidTagRtfCompressed); rtf != nil {
			if raw, err := oxcmail.DecompressRTF(rtf); err == nil {
				if h, ok := oxcmail.RTFToHTML(raw); ok {
					p.Set(mp.BinaryValue(mp.PidTagHtml, []byte(h)))
					p.Set(mp.StringValue(mp.PidTagBody, oxcmail.HTMLToText(h)))
				} else {
					p.Set(mp.StringValue(mp.PidTagBody, oxcmail.RTFToText(raw)))
				}
			}
		}
	}
	to, cc, bcc := oxcmail.DisplayRecipients(m.content.Recipients)
	p.Set(mp.StringValue(mp.PidTagDisplayTo, to))
	p.Set(mp.StringValue(mp.PidTagDisplayCc, cc))
	p.Set(mp.StringValue(mp.PidTagDisplayBcc, bcc))
	hasAttach := len(m.content.Attachments) > 0
	p.Set(mp.BoolValue(mp.PidTagHasAttachments, hasAttach))
	switch {
	case m.row != nil && m.embedded == nil:
		s.setComputed(&p, m.row, m.folderGC, hasAttach)
		if m.row.MIMEFromChange != 0 || len(m.changed) > 0 || m.contentChanged {
			size := contentSize(m.content)
			p.Set(mp.Int32Value(mp.PidTagMessageSize, int32(min(size, 1<<31-1))))
			p.Set(mp.Int64Value(mp.PidTagMessageSizeExtended, size))
		}
	default:
		base, _ := p.Int32(mp.PidTagMessageFlags)
		flags := base &^ mp.MessageFlagHasAttach
		if hasAttach {
			flags |= mp.MessageFlagHasAttach
		}
		if m.assoc {
			flags |= mp.MessageFlagAssociated
		}
		p.Set(mp.Int32Value(mp.PidTagMessageFlags, flags))
		p.Set(mp.BoolValue(mp.PidTagAssociated, m.assoc))
		size := contentSize(m.content)
		p.Set(mp.Int32Value(mp.PidTagMessageSize, int32(min(size, 1<<31-1))))
		p.Set(mp.Int64Value(mp.PidTagMessageSizeExtended, size))
		if m.embedded == nil {
			p.Set(mp.Int64Value(mp.PidTagFolderId, int64(makeID(m.folderGC))))
			p.Set(mp.BinaryValue(mp.PidTagParentEntryId, s.folderEntryID(m.folderGC)))
		}
	}
	s.setCommon(&p, m.writable)
	return p
}

// contentSize estimates the size of a message made through MAPI.
func contentSize(m *oxcmail.Message) int64 {
	var n int64
	for _, v := range m.Props.Values() {
		n += int64(approxSize(v))
	}
	for _, r := range m.Recipients {
		for _, v := range r.Values() {
			n += int64(approxSize(v))
		}
	}
	for _, a := range m.Attachments {
		for _, v := range a.Props.Values() {
			n += int64(approxSize(v))
		}
		if a.Embedded != nil {
			n += contentSize(a.Embedded)
		} else if a.Part != nil && !a.Props.Has(mp.PidTagAttachDataBinary) {
			n += int64(a.Part.Size)
		}
	}
	return n
}

// getProps returns the message's properties.
func (m *messageObj) getProps(ctx context.Context, s *Session, full bool) (oxcmail.Props, error) {
	if m.row != nil && m.embedded == nil {
		// Flags change through every door (IMAP \Seen): read them fresh.
		if ms, err := s.srv.store.MessagesByGlobCnt(ctx, s.mbox.accountID, m.folderID, []int64{m.row.GlobCnt}); err == nil && len(ms) == 1 && ms[0].ID == m.row.ID {
			m.row.Flags, m.row.ChangeNum = ms[0].Flags, ms[0].ChangeNum
		}
	}
	p := s.messageProps(m)
	if full && !p.Has(mp.PidTagRtfCompressed) {
		// RTF only when asked for (MS-OXCMSG 2.2.1.56.4): made from the
		// HTML or text body.
		if rtf := bodyRTF(p); rtf != nil {
			p.Set(mp.BinaryValue(mp.PidTagRtfCompressed, rtf))
			p.Set(mp.BoolValue(mp.PidTagRtfInSync, true))
		}
	}
	return p, nil
}

// messageReadOnlyTag reports message properties a client cannot set.
func messageReadOnlyTag(t mp.Tag) bool { return computedMessageTag(t.ID()) }

// setProps changes the message in memory (MS-OXCMSG 3.2.5.3: saved by
// RopSaveChangesMessage).
func (m *messageObj) setProps(_ context.Context, _ *Session, vals []mp.Value) ([]mp.PropertyProblem, error) {
	if !m.writable || m.submitted {
		return nil, mp.ErrAccessDenied
	}
	var problems []mp.PropertyProblem
	for i, v := range vals {
		switch {
		case messageReadOnlyTag(v.Tag):
			problems = append(problems, problem(i, v.Tag, mp.ErrAccessDenied))
			continue
		case !storable(v):
			problems = append(problems, problem(i, v.Tag, mp.ErrInvalidParam))
			continue
		case v.Tag.ID() == mp.PidTagMessageFlags.ID() && m.row != nil:
			// After the first save only RopSetMessageReadFlag changes the
			// read state (MS-OXCMSG 2.2.1.6); other bits are kept.
			continue
		}
		v = normalize(v)
		m.content.Props.Set(v)
		m.markChanged(v.Tag.ID())
		if subject, ok := v.Data.(string); ok && v.Tag.ID() == mp.PidTagSubject.ID() {
			// A new subject carries its own prefix and normalised form.
			prefix, n := oxcmail.SplitSubject(subject)
			m.content.Props.Set(mp.StringValue(mp.PidTagSubjectPrefix, prefix))
			m.content.Props.Set(mp.StringValue(mp.PidTagNormalizedSubject, n))
			m.markChanged(mp.PidTagSubjectPrefix.ID())
			m.markChanged(mp.PidTagNormalizedSubject.ID())
		}
		if isBodyTag(v.Tag) {
			// The other body forms are made again from the new one.
			for _, b := range []mp.Tag{mp.PidTagBody, mp.PidTagHtml, mp.PidTagRtfCompressed} {
				if b.ID() != v.Tag.ID() && !setInSameCall(vals, b) {
					m.content.Props.Delete(b.ID())
					m.markChanged(b.ID())
				}
			}
		}
	}
	return problems, nil
}

func isBodyTag(t mp.Tag) bool {
	switch t.ID() {
	case mp.PidTagBody.ID(), mp.PidTagHtml.ID(), mp.PidTagRtfCompressed.ID():
		return true
	}
	return false
}

func setInSameCall(vals []mp.Value, t mp.Tag) bool {
	return slices.ContainsFunc(vals, func(v mp.Value) bool { return v.Tag.ID() == t.ID() })
}

func (m *messageObj) deleteProps(_ context.Context, _ *Session, tags []mp.Tag) ([]mp.PropertyProblem, error) {
	if !m.writable || m.submitted {
		return nil, mp.ErrAccessDenied
	}
	var problems []mp.PropertyProblem
	for i, t := range tags {
		if messageReadOnlyTag(t) {
			problems = append(problems, problem(i, t, mp.ErrAccessDenied))
			continue
		}
		m.content.Props.Delete(t.ID())
		m.markChanged(t.ID())
	}
	return problems, nil
}

// attachmentProps returns an attachment's properties.
func attachmentProps(a *oxcmail.Attachment, num uint32) oxcmail.Props {
	p := a.Props.Clone()
	p.Set(mp.Int32Value(mp.PidTagAttachNumber, int32(num)))
	p.Set(mp.Int32Value(mp.PidTagObjectType, mp.ObjectTypeAttachment))
	p.Set(mp.Int32Value(mp.PidTagAccessLevel, 1))
	if !p.Has(mp.PidTagAttachMethod) {
		m := mp.AttachMethodNone
		if a.Embedded != nil {
			m = mp.AttachMethodEmbedded
		} else if a.Part != nil || p.Has(mp.PidTagAttachDataBinary) {
			m = mp.AttachMethodByValue
		}
		p.Set(mp.Int32Value(mp.PidTagAttachMethod, m))
	}
	if !p.Has(mp.PidTagAttachSize) {
		var n int64
		for _, v := range p.Values() {
			n += int64(approxSize(v))
		}
		if a.Embedded != nil {
			n += contentSize(a.Embedded)
		} else if a.Part != nil && !p.Has(mp.PidTagAttachDataBinary) {
			n += int64(a.Part.Size)
		}
		p.Set(mp.Int32Value(mp.PidTagAttachSize, int32(min(n, 1<<31-1))))
	}
	if !p.Has(mp.PidTagRenderingPosition) {
		p.Set(mp.Int32Value(mp.PidTagRenderingPosition, -1))
	}
	return p
}

func (a *attachObj) getProps(_ context.Context, _ *Session, _ bool) (oxcmail.Props, error) {
	return attachmentProps(a.att, a.num), nil
}

// attachData returns the content of an attachment's data property.
func (a *attachObj) data() []byte {
	if b := a.att.Props.Binary(mp.PidTagAttachDataBinary); b != nil {
		return b
	}
	if a.att.Embedded != nil {
		return nil
	}
	return a.att.Bytes()
}

func (a *attachObj) setProps(_ context.Context, _ *Session, vals []mp.Value) ([]mp.PropertyProblem, error) {
	if !a.writable {
		return nil, mp.ErrAccessDenied
	}
	var problems []mp.PropertyProblem
	for i, v := range vals {
		switch v.Tag.ID() {
		case mp.PidTagAttachNumber.ID(), mp.PidTagObjectType.ID(), mp.PidTagAccessLevel.ID(), mp.PidTagAttachSize.ID():
			problems = append(problems, problem(i, v.Tag, mp.ErrAccessDenied))
			continue
		}
		if !storable(v) {
			problems = append(problems, problem(i, v.Tag, mp.ErrInvalidParam))
			continue
		}
		if v.Tag.ID() == mp.PidTagAttachDataBinary.ID() {
			a.att.Part = nil // the client's data replaces what came from MIME
		}
		a.att.Props.Set(normalize(v))
	}
	return problems, nil
}

func (a *attachObj) deleteProps(_ context.Context, _ *Session, tags []mp.Tag) ([]mp.PropertyProblem, error) {
	if !a.writable {
		return nil, mp.ErrAccessDenied
	}
	for _, t := range tags {
		if t.ID() == mp.PidTagAttachDataBinary.ID() {
			a.att.Part = nil
		}
		a.att.Props.Delete(t.ID())
	}
	return nil, nil
}

// --- recipients ---

// recipientColumns are the columns the recipient rows of RopOpenMessage
// and RopReadRecipients carry: every property the recipients have.
func recipientColumns(recips []oxcmail.Props) []mp.Tag {
	seen := map[mp.Tag]bool{}
	var cols []mp.Tag
	for _, r := range recips {
		for _, t := range r.Tags() {
			t = t.WithType(unicodeType(t.Type()))
			if t.Type() == mp.PtypObject || seen[t] {
				continue
			}
			seen[t] = true
			cols = append(cols, t)
		}
	}
	slices.Sort(cols)
	return cols
}

// recipientType is the low byte of PidTagRecipientType.
func recipientType(r oxcmail.Props) uint8 {
	v, _ := r.Int32(mp.PidTagRecipientType)
	return uint8(v)
}

// recipientRowOf builds the RecipientRow of a recipient (MS-OXCDATA 2.8.3).
func recipientRowOf(r oxcmail.Props, cols []mp.Tag) mp.RecipientRow {
	rr := mp.RecipientRow{Flags: mp.RecipientFlagUnicode}
	addrType := r.String(mp.PidTagAddressType)
	email := r.String(mp.PidTagEmailAddress)
	switch strings.ToUpper(addrType) {
	case "EX":
		rr.Flags |= mp.RecipientTypeX500DN
		rr.X500DN = email
		if dt, ok := r.Int32(mp.PidTagDisplayType); ok {
			rr.DisplayType = uint8(dt)
		}
	case "SMTP":
		rr.Flags |= mp.RecipientTypeSMTP
	case "":
	default:
		rr.Flags |= mp.RecipientFlagOutOfStd
		rr.AddressType = addrType
	}
	if email != "" && rr.Type() != mp.RecipientTypeX500DN {
		rr.Flags |= mp.RecipientFlagEmail
		rr.EmailAddress = email
	}
	if name := r.String(mp.PidTagDisplayName); name != "" {
		rr.Flags |= mp.RecipientFlagDisplay
		rr.DisplayName = name
	}
	if tn := r.String(mp.PidTagTransmittableDisplayName); tn != "" {
		if tn == rr.DisplayName {
			rr.Flags |= mp.RecipientFlagSame
		} else {
			rr.Flags |= mp.RecipientFlagTransmit
			rr.TransmittableDisplayName = tn
		}
	}
	if v, ok := r.Get(mp.PidTagSendRichInfo); ok && v.Data == false {
		rr.Flags |= mp.RecipientFlagNonRich
	}
	vals := make([]mp.Value, len(cols))
	for i, c := range cols {
		vals[i] = outValue(c, r, getOptions{unicode: true})
	}
	rr.ColumnCount = uint16(len(cols))
	rr.Properties = mp.NewPropertyRow(cols, vals)
	return rr
}

// recipientOfRow turns a RopModifyRecipients row into recipient properties.
func recipientOfRow(rr *mp.RecipientRow, cols []mp.Tag, typ uint8, rowID uint32) oxcmail.Props {
	var p oxcmail.Props
	n := min(int(rr.ColumnCount), len(cols), len(rr.Properties.Values))
	for i := 0; i < n; i++ {
		v := rr.Properties.Values[i]
		if storable(v) {
			p.Set(normalize(v))
		}
	}
	addrType := ""
	switch rr.Type() {
	case mp.RecipientTypeX500DN:
		addrType = "EX"
		p.Set(mp.StringValue(mp.PidTagEmailAddress, rr.X500DN))
		if !p.Has(mp.PidTagDisplayType) {
			p.Set(mp.Int32Value(mp.PidTagDisplayType, int32(rr.DisplayType)))
		}
	case mp.RecipientTypeSMTP:
		addrType = "SMTP"
	case mp.RecipientTypeMsMail:
		addrType = "MSMAIL"
	case mp.RecipientTypeFax:
		addrType = "FAX"
	case mp.RecipientTypeOffice:
		addrType = "PROFS"
	case mp.RecipientTypeNone:
		if rr.Flags&mp.RecipientFlagOutOfStd != 0 {
			addrType = rr.AddressType
		}
	}
	if addrType != "" {
		p.Set(mp.StringValue(mp.PidTagAddressType, addrType))
	}
	if rr.Flags&mp.RecipientFlagEmail != 0 && rr.Type() != mp.RecipientTypeX500DN {
		p.Set(mp.StringValue(mp.PidTagEmailAddress, rr.EmailAddress))
	}
	if rr.Flags&mp.RecipientFlagDisplay != 0 {
		p.Set(mp.StringValue(mp.PidTagDisplayName, rr.DisplayName))
	}
	switch {
	case rr.Flags&mp.RecipientFlagTransmit != 0:
		p.Set(mp.StringValue(mp.PidTagTransmittableDisplayName, rr.TransmittableDisplayName))
	case rr.Flags&mp.RecipientFlagSame != 0:
		p.Set(mp.StringValue(mp.PidTagTransmittableDisplayName, rr.DisplayName))
	}
	if rr.Flags&mp.RecipientFlagNonRich != 0 {
		p.Set(mp.BoolValue(mp.PidTagSendRichInfo, false))
	}
	email := p.String(mp.PidTagEmailAddress)
	if strings.EqualFold(addrType, "SMTP") && !p.Has(mp.PidTagSmtpAddress) && email != "" {
		p.Set(mp.StringValue(mp.PidTagSmtpAddress, email))
	}
	if !p.Has(mp.PidTagDisplayName) {
		name := p.String(mp.PidTagRecipientDisplayName)
		if name == "" {
			name = email
		}
		p.Set(mp.StringValue(mp.PidTagDisplayName, name))
	}
	if !p.Has(mp.PidTagSearchKey) && addrType != "" && email != "" {
		p.Set(mp.BinaryValue(mp.PidTagSearchKey, oxcmail.SearchKey(addrType, email)))
	}
	if !p.Has(mp.PidTagEntryId) {
		switch strings.ToUpper(addrType) {
		case "SMTP":
			p.Set(mp.BinaryValue(mp.PidTagEntryId, oxcmail.OneOffEntryID(p.String(mp.PidTagDisplayName), email)))
		case "EX":
			p.Set(mp.BinaryValue(mp.PidTagEntryId, mp.AddressBookEntryID{X500DN: email}.Bytes()))
		}
	}
	if !p.Has(mp.PidTagObjectType) {
		p.Set(mp.Int32Value(mp.PidTagObjectType, mp.ObjectTypeMailUser))
	}
	if !p.Has(mp.PidTagDisplayType) {
		p.Set(mp.Int32Value(mp.PidTagDisplayType, int32(mp.DisplayTypeMailUser)))
	}
	p.Set(mp.Int32Value(mp.PidTagRecipientType, int32(typ)))
	p.Set(mp.Int32Value(mp.PidTagRowid, int32(rowID)))
	return p
}

func rowIDOf(r oxcmail.Props, i int) uint32 {
	if v, ok := r.Int32(mp.PidTagRowid); ok && v >= 0 {
		return uint32(v)
	}
	return uint32(i)
}

// messageInfo is the summary RopOpenMessage, RopReloadCachedInformation
// and RopOpenEmbeddedMessage answer with: recipient rows while they fit
// in budget (the client reads the rest with RopReadRecipients).
func (s *Session) messageInfo(m *messageObj, budget int) MessageInfo {
	p := s.messageProps(m)
	prefix, hasPrefix := p.Get(mp.PidTagSubjectPrefix)
	norm, hasNorm := p.Get(mp.PidTagNormalizedSubject)
	info := MessageInfo{HasNamedProperties: true}
	if hasPrefix {
		info.SubjectPrefix = mp.NewTypedString(prefix.Data.(string), true)
	} else {
		info.SubjectPrefix = mp.NewTypedString("", false)
	}
	if hasNorm {
		info.NormalizedSubject = mp.NewTypedString(norm.Data.(string), true)
	} else {
		info.NormalizedSubject = mp.NewTypedString("", false)
	}
	recips := m.content.Recipients
	info.RecipientCount = uint16(min(len(recips), 0xFFFF))
	info.RecipientColumns = recipientColumns(recips)
	w := mp.NewWriter()
	w.Tags(info.RecipientColumns)
	used := 64 + w.Len()
	for i, r := range recips {
		if i >= 0xFF {
			break
		}
		row := OpenRecipientRow{RecipientType: recipientType(r), CodePageID: uint16(mp.CodePageWindows1252), Row: recipientRowOf(r, info.RecipientColumns)}
		rw := mp.NewWriter()
		putRecipientRow(rw, info.RecipientColumns, row.CodePageID, &row.Row)
		if rw.Err() != nil || used+rw.Len()+5 > budget {
			break
		}
		used += rw.Len() + 5
		info.RecipientRows = append(info.RecipientRows, row)
	}
	return info
}

// messageOf returns the message object of an entry.
func messageOf(e *handleEntry) (*messageObj, error) {
	m, ok := e.obj.(*messageObj)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	return m, nil
}

// ropOpenMessage (MS-OXCMSG 3.2.5.1): the input is the logon or any folder.
func (s *Session) ropOpenMessage(ctx context.Context, x *OpenMessageRequest, in *handleEntry, st *execState) (Response, error) {
	switch in.obj.(type) {
	case *logonObj, *folderObj:
	default:
		return nil, mp.ErrNotSupported
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return nil, err
	}
	if x.OpenModeFlags&OpenModeSoftDeleted != 0 {
		return nil, mp.ErrNotFound // nothing is soft-deleted here
	}
	f, err := s.folderByID(ctx, x.FolderID)
	if err != nil {
		return nil, err
	}
	gc, ok := globCntOf(x.MessageID)
	if !ok {
		return nil, mp.ErrNotFound
	}
	ms, err := s.srv.store.MessagesByGlobCnt(ctx, s.mbox.accountID, f.ID, []int64{gc})
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, mp.ErrNotFound
	}
	row := &ms[0]
	c, err := s.loadContent(ctx, row)
	if err != nil {
		return nil, err
	}
	m := &messageObj{folderID: f.ID, folderGC: f.GlobCnt, row: row, assoc: row.Flags&storage.FlagAssociated != 0,
		content: c, writable: x.OpenModeFlags&OpenModeReadWrite != 0, nextAttach: nextAttachNum(c)}
	if err := s.open(st, x.OutputHandleIndex, in, m); err != nil {
		return nil, err
	}
	resp := newResp[*OpenMessageResponse](x)
	resp.MessageInfo = s.messageInfo(m, min(st.budget, 0x4000))
	return resp, nil
}

// ropCreateMessage makes a new message in a folder, saved by
// RopSaveChangesMessage (or RopSubmitMessage) (MS-OXCMSG 3.2.5.2).
func (s *Session) ropCreateMessage(ctx context.Context, x *CreateMessageRequest, in *handleEntry, st *execState) (Response, error) {
	switch in.obj.(type) {
	case *logonObj, *folderObj:
	default:
		return nil, mp.ErrNotSupported
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return nil, err
	}
	f, err := s.folderByID(ctx, x.FolderID)
	if err != nil {
		return nil, err
	}
	m := &messageObj{folderID: f.ID, folderGC: f.GlobCnt, assoc: x.AssociatedFlag, content: newContent(x.AssociatedFlag), writable: true}
	if err := s.open(st, x.OutputHandleIndex, in, m); err != nil {
		return nil, err
	}
	// HasMessageId 0: ruler's parser cannot skip the id (MAPI.md §13 item 2).
	return newResp[*CreateMessageResponse](x), nil
}

// newContent initialises a new message (MS-OXCMSG 3.2.5.2).
func newContent(assoc bool) *oxcmail.Message {
	c := &oxcmail.Message{}
	now := time.Now().UTC()
	c.Props.Set(mp.Int32Value(mp.PidTagImportance, 1))
	c.Props.Set(mp.StringValue(mp.PidTagMessageClass, "IPM.Note"))
	c.Props.Set(mp.Int32Value(mp.PidTagSensitivity, 0))
	flags := mp.MessageFlagRead | mp.MessageFlagUnsent
	if assoc {
		flags |= mp.MessageFlagAssociated
	}
	c.Props.Set(mp.Int32Value(mp.PidTagMessageFlags, flags))
	c.Props.Set(mp.Int32Value(mp.PidTagTrustSender, 1))
	c.Props.Set(mp.TimeValue(mp.PidTagCreationTime, now))
	c.Props.Set(mp.TimeValue(mp.PidTagLastModificationTime, now))
	c.Props.Set(mp.TimeValue(mp.PidTagLocalCommitTime, now))
	c.Props.Set(mp.BinaryValue(mp.PidTagSearchKey, newSearchKey()))
	return c
}

// ropSaveChangesMessage commits a message (MS-OXCMSG 3.2.5.3).
func (s *Session) ropSaveChangesMessage(ctx context.Context, x *SaveChangesMessageRequest, in *handleEntry) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	if !m.writable || m.submitted {
		return nil, mp.ErrAccessDenied
	}
	resp := newResp[*SaveChangesMessageResponse](x)
	resp.InputHandleIndex = x.InputHandleIndex
	if m.embedded != nil {
		// An embedded message is saved into its attachment, which is
		// saved into the message in turn.
		m.embedded.att.Embedded = cloneMessage(m.content)
		m.embedded.att.Part = nil
		m.changed, m.contentChanged = nil, false
	} else {
		if err := s.saveMessage(ctx, m); err != nil {
			return nil, err
		}
		resp.MessageID = makeID(m.row.GlobCnt)
	}
	if x.SaveFlags&(SaveKeepOpenReadWrite|SaveForceSave) == 0 && x.SaveFlags&SaveKeepOpenReadOnly != 0 {
		m.writable = false
	}
	return resp, nil
}

// needsRendering tells whether saving the message makes new MIME: it is
// new or made through MAPI, or something rendered changed.
func (m *messageObj) needsRendering() bool {
	if m.row == nil || m.row.MIMEFromChange != 0 || m.contentChanged || m.assoc {
		return true
	}
	for id := range m.changed {
		if !overlayTag(id) {
			return true
		}
	}
	return false
}

// saveMessage stores a message object: a full save (rendered MIME and all
// properties as the truth) or, for a MIME message whose rendering stays
// valid, its edits as stored properties over the derivation.
func (s *Session) saveMessage(ctx context.Context, m *messageObj) error {
	now := time.Now().UTC()
	if m.needsRendering() {
		return s.saveRendered(ctx, m, m.folderID, m.folderGC, now, false)
	}
	if len(m.changed) == 0 {
		return nil
	}
	var rows []storage.PropValue
	var ids []uint16
	var cols storage.MessageColumns
	for id := range m.changed {
		ids = append(ids, id)
		v, ok := m.content.Props.Get(mp.NewTag(id, mp.PtypUnspecified))
		if !ok {
			// Deleted: a tombstone hides the derived value.
			rows = append(rows, storage.PropValue{Tag: uint32(mp.NewTag(id, mp.PtypUnspecified)), Value: tombstone})
			continue
		}
		pv, err := encodeStored(v)
		if err != nil {
			continue
		}
		rows = append(rows, pv)
		if id == mp.PidTagImportance.ID() {
			if i, ok := v.Data.(int32); ok {
				n := int(i)
				cols.Importance = &n
			}
		}
	}
	flags := m.row.Flags
	touchFlags := m.changed[mp.PidTagFlagStatus.ID()] || m.changed[mp.PidTagLastVerbExecuted.ID()]
	if touchFlags {
		nf := flagsFromProps(m.content.Props, m.assoc)
		keep := storage.FlagSeen | storage.FlagDraft | storage.FlagDeleted | storage.FlagAssociated
		flags = m.row.Flags&keep | nf&^keep
	}
	err := s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		if err := tx.DeletePropIDs(s.mbox.accountID, storage.ObjectMessage, m.row.ID, ids); err != nil {
			return err
		}
		if err := tx.SetProps(s.mbox.accountID, storage.ObjectMessage, m.row.ID, rows); err != nil {
			return err
		}
		if touchFlags && flags != m.row.Flags {
			if _, err := tx.SetFlags(s.mbox.accountID, m.folderID, []int64{m.row.ID}, storage.FlagsReplace, flags, m.row.KeywordList(), 0); err != nil {
				return err
			}
		}
		_, err := tx.TouchMessage(s.mbox.accountID, m.row.ID, cols)
		return err
	})
	if err != nil {
		return err
	}
	row, err := s.srv.store.MessageByID(ctx, s.mbox.accountID, m.row.ID)
	if err != nil {
		return err
	}
	m.row = row
	m.changed = nil
	return nil
}

// saveRendered stores the message with its properties as the truth and a
// new MIME rendering, in folderID (a new row, or a replacement of the
// message's row when it stays in its folder).
func (s *Session) saveRendered(ctx context.Context, m *messageObj, folderID, folderGC int64, now time.Time, sent bool) error {
	c := cloneMessage(m.content)
	numberAttachments(c)
	c.Props.Set(mp.TimeValue(mp.PidTagLastModificationTime, now))
	if !c.Props.Has(mp.PidTagCreationTime) {
		c.Props.Set(mp.TimeValue(mp.PidTagCreationTime, now))
	}
	var flags storage.Flags
	switch {
	case m.row == nil || m.changed[mp.PidTagMessageFlags.ID()]:
		flags = flagsFromProps(c.Props, m.assoc)
	default:
		flags = m.row.Flags
		if m.changed[mp.PidTagFlagStatus.ID()] || m.changed[mp.PidTagLastVerbExecuted.ID()] {
			nf := flagsFromProps(c.Props, m.assoc)
			keep := storage.FlagSeen | storage.FlagDraft | storage.FlagDeleted | storage.FlagAssociated
			flags = flags&keep | nf&^keep
		}
	}
	if sent {
		flags = flags&^storage.FlagDraft | storage.FlagSeen
	}
	raw, err := s.render(c)
	if err != nil {
		return err
	}
	parsed := message.Parse(raw)
	nm := newMessageRow(raw, parsed, c, flags, now)
	if m.row != nil && m.row.FolderID == folderID {
		nm.InternalDate = m.row.InternalDate
	}
	rows, err := encodeContent(c)
	if err != nil {
		return err
	}
	replace := int64(0)
	if m.row != nil && m.row.FolderID == folderID {
		replace = m.row.ID
	}
	var saved *storage.Message
	err = s.srv.store.Write(ctx, func(tx *storage.Tx) error {
		if _, err := tx.PutBlob(raw); err != nil {
			return err
		}
		var err error
		saved, err = tx.SaveMAPIMessage(s.mbox.accountID, folderID, replace, nm, rows, false)
		return err
	})
	if err != nil {
		return err
	}
	saved.Parsed = nil
	m.row = saved
	m.folderID, m.folderGC = folderID, folderGC
	m.content = c
	m.changed, m.contentChanged = nil, false
	return nil
}

// newSearchKey is a server-made PidTagSearchKey (MS-OXCMSG 2.2.1.9).
func newSearchKey() []byte {
	g := newGUID()
	return g[:]
}

// ropSetMessageReadFlag sets or clears a message's read state
// (MS-OXCMSG 3.2.5.11): the store's \Seen for a saved message.
func (s *Session) ropSetMessageReadFlag(ctx context.Context, x *SetMessageReadFlagRequest, in *handleEntry) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	op, ok := readOp(x.ReadFlags)
	resp := newResp[*SetMessageReadFlagResponse](x)
	if !ok {
		return resp, nil
	}
	if m.row == nil || m.embedded != nil {
		f, _ := m.content.Props.Int32(mp.PidTagMessageFlags)
		if op == storage.FlagsAdd {
			f |= mp.MessageFlagRead
		} else {
			f &^= mp.MessageFlagRead
		}
		m.content.Props.Set(mp.Int32Value(mp.PidTagMessageFlags, f))
		return resp, nil
	}
	ups, err := s.srv.store.SetFlags(ctx, s.mbox.accountID, m.row.FolderID, []int64{m.row.ID}, op, storage.FlagSeen, nil, 0)
	if err != nil {
		return nil, err
	}
	if len(ups) == 1 {
		m.row.Flags, m.row.ChangeNum = ups[0].Flags, ups[0].ChangeNum
	}
	return resp, nil
}

// ropReadRecipients returns recipient rows from RowId on (MS-OXCMSG 3.2.5.5).
func (s *Session) ropReadRecipients(ctx context.Context, x *ReadRecipientsRequest, in *handleEntry, st *execState) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	cols := recipientColumns(m.content.Recipients)
	resp := newResp[*ReadRecipientsResponse](x)
	resp.Columns = cols
	used := 7
	for i, r := range m.content.Recipients {
		id := rowIDOf(r, i)
		if id < x.RowID {
			continue
		}
		if len(resp.Rows) == 0xFF {
			break
		}
		row := ReadRecipientRow{RowID: id, RecipientType: recipientType(r), CodePageID: uint16(mp.CodePageWindows1252), Row: recipientRowOf(r, cols)}
		w := mp.NewWriter()
		putRecipientRow(w, cols, row.CodePageID, &row.Row)
		if w.Err() != nil || used+w.Len()+9 > st.budget {
			break
		}
		used += w.Len() + 9
		resp.Rows = append(resp.Rows, row)
	}
	if len(resp.Rows) == 0 {
		return nil, mp.ErrNotFound
	}
	return resp, nil
}

// ropModifyRecipients adds, replaces and deletes recipient rows
// (MS-OXCMSG 3.2.5.6).
func (s *Session) ropModifyRecipients(ctx context.Context, x *ModifyRecipientsRequest, in *handleEntry) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	if !m.writable || m.submitted {
		return nil, mp.ErrAccessDenied
	}
	for _, col := range x.RecipientColumns {
		if col.Type() == mp.PtypUnspecified || !col.Type().Known() {
			return nil, mp.ErrInvalidParam
		}
	}
	recips := m.content.Recipients
	for _, mr := range x.Rows {
		i := slices.IndexFunc(recips, func(r oxcmail.Props) bool { return rowIDOf(r, -1) == mr.RowID })
		if mr.Row == nil {
			if i >= 0 {
				recips = slices.Delete(recips, i, i+1)
			}
			continue
		}
		p := recipientOfRow(mr.Row, x.RecipientColumns, mr.RecipientType, mr.RowID)
		if i >= 0 {
			recips[i] = p
		} else {
			recips = append(recips, p)
		}
	}
	if len(recips) > 0xFFFF {
		return nil, mp.ErrTooManyRecips
	}
	slices.SortStableFunc(recips, func(a, b oxcmail.Props) int { return int(rowIDOf(a, 0)) - int(rowIDOf(b, 0)) })
	m.content.Recipients = recips
	m.contentChanged = true
	return newResp[*ModifyRecipientsResponse](x), nil
}

// ropRemoveAllRecipients (MS-OXCMSG 3.2.5.7).
func (s *Session) ropRemoveAllRecipients(ctx context.Context, x *RemoveAllRecipientsRequest, in *handleEntry) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	if !m.writable || m.submitted {
		return nil, mp.ErrAccessDenied
	}
	m.content.Recipients = nil
	m.contentChanged = true
	return newResp[*RemoveAllRecipientsResponse](x), nil
}

// messageStatus reads a message's PidTagMessageStatus by MID in a folder.
func (s *Session) messageRow(ctx context.Context, folderID int64, mid ID) (*storage.Message, error) {
	gc, ok := globCntOf(mid)
	if !ok {
		return nil, mp.ErrNotFound
	}
	ms, err := s.srv.store.MessagesByGlobCnt(ctx, s.mbox.accountID, folderID, []int64{gc})
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, mp.ErrNotFound
	}
	return &ms[0], nil
}

func (s *Session) statusOf(ctx context.Context, m *storage.Message) (int32, error) {
	rows, err := s.srv.store.PropsOf(ctx, s.mbox.accountID, storage.ObjectMessage, []int64{m.ID}, false)
	if err != nil {
		return 0, err
	}
	for _, r := range rows[m.ID] {
		if mp.Tag(r.Tag) == mp.PidTagMessageStatus {
			if v, ok := decodeStored(r); ok {
				return v.Data.(int32), nil
			}
		}
	}
	return 0, nil
}

// ropGetMessageStatus (MS-OXCMSG 3.2.5.8).
func (s *Session) ropGetMessageStatus(ctx context.Context, x *GetMessageStatusRequest, in *handleEntry) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	row, err := s.messageRow(ctx, f.id, x.MessageID)
	if err != nil {
		return nil, err
	}
	st, err := s.statusOf(ctx, row)
	if err != nil {
		return nil, err
	}
	resp := newResp[*GetMessageStatusResponse](x)
	resp.MessageStatusFlags = uint32(st)
	return resp, nil
}

// ropSetMessageStatus changes the bits of the mask and answers the old
// flags (MS-OXCMSG 3.2.5.9).
func (s *Session) ropSetMessageStatus(ctx context.Context, x *SetMessageStatusRequest, in *handleEntry) (Response, error) {
	f, err := folderOf(in)
	if err != nil {
		return nil, err
	}
	row, err := s.messageRow(ctx, f.id, x.MessageID)
	if err != nil {
		return nil, err
	}
	old, err := s.statusOf(ctx, row)
	if err != nil {
		return nil, err
	}
	nv := uint32(old)&^x.MessageStatusMask | x.MessageStatusFlags&x.MessageStatusMask
	if nv != uint32(old) {
		pv, err := encodeStored(mp.Int32Value(mp.PidTagMessageStatus, int32(nv)))
		if err != nil {
			return nil, err
		}
		err = s.srv.store.Write(ctx, func(tx *storage.Tx) error {
			if err := tx.SetProps(s.mbox.accountID, storage.ObjectMessage, row.ID, []storage.PropValue{pv}); err != nil {
				return err
			}
			_, err := tx.TouchMessage(s.mbox.accountID, row.ID, storage.MessageColumns{})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	resp := newResp[*SetMessageStatusResponse](x)
	resp.MessageStatusFlags = uint32(old)
	return resp, nil
}

// ropReloadCachedInformation reloads a saved message (MS-OXCMSG 3.2.5.4).
func (s *Session) ropReloadCachedInformation(ctx context.Context, x *ReloadCachedInformationRequest, in *handleEntry, st *execState) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	if m.row != nil && m.embedded == nil && len(m.changed) == 0 && !m.contentChanged {
		ms, err := s.srv.store.MessagesByGlobCnt(ctx, s.mbox.accountID, m.folderID, []int64{m.row.GlobCnt})
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, mp.ErrObjectDeleted
		}
		c, err := s.loadContent(ctx, &ms[0])
		if err != nil {
			return nil, err
		}
		m.row, m.content = &ms[0], c
	}
	resp := newResp[*ReloadCachedInformationResponse](x)
	resp.MessageInfo = s.messageInfo(m, min(st.budget, 0x4000))
	return resp, nil
}

// ropGetAttachmentTable (MS-OXCMSG 3.2.5.14).
func (s *Session) ropGetAttachmentTable(ctx context.Context, x *GetAttachmentTableRequest, in *handleEntry, st *execState) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	t := &tableObj{kind: tableAttachments, flags: x.TableFlags, unicode: x.TableFlags&TableFlagUseUnicode != 0, msg: m}
	if err := s.open(st, x.OutputHandleIndex, in, t); err != nil {
		return nil, err
	}
	return newResp[*GetAttachmentTableResponse](x), nil
}

// findAttachment returns the attachment with a number.
func findAttachment(c *oxcmail.Message, num uint32) (int, *oxcmail.Attachment) {
	for i, a := range c.Attachments {
		if attachNum(a, i) == num {
			return i, a
		}
	}
	return -1, nil
}

// ropOpenAttachment (MS-OXCMSG 3.2.5.12).
func (s *Session) ropOpenAttachment(ctx context.Context, x *OpenAttachmentRequest, in *handleEntry, st *execState) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	_, a := findAttachment(m.content, x.AttachmentID)
	if a == nil {
		return nil, mp.ErrNotFound
	}
	writable := x.OpenAttachmentFlags&AttachReadWrite != 0 || x.OpenAttachmentFlags == AttachBestAccess
	if writable && !m.writable {
		if x.OpenAttachmentFlags != AttachBestAccess {
			return nil, mp.ErrAccessDenied
		}
		writable = false
	}
	na := *a
	na.Props = a.Props.Clone()
	na.Embedded = cloneMessage(a.Embedded)
	if err := s.open(st, x.OutputHandleIndex, in, &attachObj{msg: m, num: x.AttachmentID, att: &na, writable: writable}); err != nil {
		return nil, err
	}
	return newResp[*OpenAttachmentResponse](x), nil
}

// ropCreateAttachment (MS-OXCMSG 3.2.5.13).
func (s *Session) ropCreateAttachment(ctx context.Context, x *CreateAttachmentRequest, in *handleEntry, st *execState) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	if !m.writable || m.submitted {
		return nil, mp.ErrAccessDenied
	}
	if m.nextAttach >= uint32(maxAttachments) {
		return nil, mp.ErrTooBig
	}
	num := max(m.nextAttach, nextAttachNum(m.content))
	m.nextAttach = num + 1
	a := &oxcmail.Attachment{}
	a.Props.Set(mp.Int32Value(mp.PidTagAttachNumber, int32(num)))
	a.Props.Set(mp.Int32Value(mp.PidTagRenderingPosition, -1))
	now := time.Now().UTC()
	a.Props.Set(mp.TimeValue(mp.PidTagCreationTime, now))
	a.Props.Set(mp.TimeValue(mp.PidTagLastModificationTime, now))
	if err := s.open(st, x.OutputHandleIndex, in, &attachObj{msg: m, num: num, att: a, writable: true}); err != nil {
		return nil, err
	}
	resp := newResp[*CreateAttachmentResponse](x)
	resp.AttachmentID = num
	return resp, nil
}

// ropSaveChangesAttachment puts the attachment into its message
// (MS-OXCMSG 3.2.5.15); the message is stored with RopSaveChangesMessage.
func (s *Session) ropSaveChangesAttachment(ctx context.Context, x *SaveChangesAttachmentRequest, in *handleEntry) (Response, error) {
	a, ok := in.obj.(*attachObj)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	if !a.writable || !a.msg.writable {
		return nil, mp.ErrAccessDenied
	}
	a.att.Props.Set(mp.Int32Value(mp.PidTagAttachNumber, int32(a.num)))
	saved := *a.att
	saved.Props = a.att.Props.Clone()
	saved.Embedded = cloneMessage(a.att.Embedded)
	c := a.msg.content
	if i, _ := findAttachment(c, a.num); i >= 0 {
		c.Attachments[i] = &saved
	} else {
		c.Attachments = append(c.Attachments, &saved)
	}
	a.msg.contentChanged = true
	if x.SaveFlags&(SaveKeepOpenReadWrite|SaveForceSave) == 0 && x.SaveFlags&SaveKeepOpenReadOnly != 0 {
		a.writable = false
	}
	return newResp[*SaveChangesAttachmentResponse](x), nil
}

// ropDeleteAttachment (MS-OXCMSG 3.2.5.16).
func (s *Session) ropDeleteAttachment(ctx context.Context, x *DeleteAttachmentRequest, in *handleEntry) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	if !m.writable || m.submitted {
		return nil, mp.ErrAccessDenied
	}
	i, _ := findAttachment(m.content, x.AttachmentID)
	if i < 0 {
		return nil, mp.ErrNotFound
	}
	m.content.Attachments = slices.Delete(m.content.Attachments, i, i+1)
	m.contentChanged = true
	return newResp[*DeleteAttachmentResponse](x), nil
}

// ropGetValidAttachments lists the attachment numbers (MS-OXCMSG 3.2.5.17).
func (s *Session) ropGetValidAttachments(ctx context.Context, x *GetValidAttachmentsRequest, in *handleEntry) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	resp := newResp[*GetValidAttachmentsResponse](x)
	for i, a := range m.content.Attachments {
		resp.AttachmentIDs = append(resp.AttachmentIDs, attachNum(a, i))
	}
	return resp, nil
}

// ropOpenEmbeddedMessage opens (or with Create makes) the message of an
// embedded-message attachment (MS-OXCMSG 3.2.5.18).
func (s *Session) ropOpenEmbeddedMessage(ctx context.Context, x *OpenEmbeddedMessageRequest, in *handleEntry, st *execState) (Response, error) {
	a, ok := in.obj.(*attachObj)
	if !ok {
		return nil, mp.ErrNotSupported
	}
	if err := st.outputOK(x.OutputHandleIndex); err != nil {
		return nil, err
	}
	writable := x.OpenEmbeddedFlags&(OpenModeReadWrite|OpenModeCreate) != 0
	if writable && !a.writable {
		return nil, mp.ErrAccessDenied
	}
	if a.att.Embedded == nil {
		if x.OpenEmbeddedFlags&OpenModeCreate == 0 {
			return nil, mp.ErrNotFound
		}
		a.att.Embedded = newContent(false)
		a.att.Part = nil
		a.att.Props.Set(mp.Int32Value(mp.PidTagAttachMethod, mp.AttachMethodEmbedded))
	}
	m := &messageObj{content: cloneMessage(a.att.Embedded), writable: writable, embedded: a, folderGC: a.msg.folderGC}
	if err := s.open(st, x.OutputHandleIndex, in, m); err != nil {
		return nil, err
	}
	resp := newResp[*OpenEmbeddedMessageResponse](x)
	// An embedded message has no id of its own in this store; Exchange
	// answers an id clients only echo back.
	resp.MessageID = makeID(int64(a.num) + 1)
	resp.MessageInfo = s.messageInfo(m, min(st.budget, 0x4000))
	return resp, nil
}
