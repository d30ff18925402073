package oxcmail

import (
	"context"
	"fmt"
	"strings"

	mp "github.com/pochta/pochta/internal/mapiprop"
)

// Mailbox is a display name and an SMTP address.
type Mailbox struct {
	Name    string
	Address string
}

// addrTags are the properties that describe one address in a message's
// property set (the PidTagSender* family and its relatives).
type addrTags struct {
	name, addrType, email, smtp, searchKey, entryID mp.Tag
}

var (
	senderTags = addrTags{mp.PidTagSenderName, mp.PidTagSenderAddressType, mp.PidTagSenderEmailAddress,
		mp.PidTagSenderSmtpAddress, mp.PidTagSenderSearchKey, mp.PidTagSenderEntryId}
	sentReprTags = addrTags{mp.PidTagSentRepresentingName, mp.PidTagSentRepresentingAddressType,
		mp.PidTagSentRepresentingEmailAddress, mp.PidTagSentRepresentingSmtpAddress,
		mp.PidTagSentRepresentingSearchKey, mp.PidTagSentRepresentingEntryId}
	receivedByTags = addrTags{mp.PidTagReceivedByName, mp.PidTagReceivedByAddressType,
		mp.PidTagReceivedByEmailAddress, PidTagReceivedBySmtpAddress, mp.PidTagReceivedBySearchKey,
		mp.PidTagReceivedByEntryId}
	receivedReprTags = addrTags{mp.PidTagReceivedRepresentingName, mp.PidTagReceivedRepresentingAddressType,
		mp.PidTagReceivedRepresentingEmailAddress, PidTagReceivedRepresentingSmtpAddress,
		mp.PidTagReceivedRepresentingSearchKey, mp.PidTagReceivedRepresentingEntryId}
	readReceiptTags = addrTags{PidTagReadReceiptName, PidTagReadReceiptAddressType,
		PidTagReadReceiptEmailAddress, PidTagReadReceiptSmtpAddress, PidTagReadReceiptSearchKey,
		mp.PidTagReadReceiptEntryId}
)

// SearchKey returns the search key of an SMTP address (MS-OXCPRPT
// 2.2.1.9): "SMTP:" and the upper-cased address, NUL-terminated.
func SearchKey(addrType, address string) []byte {
	return []byte(strings.ToUpper(addrType+":"+address) + "\x00")
}

// OneOffEntryID returns the Unicode one-off entry id of an SMTP address
// (MS-OXCDATA 2.2.5.1), marked as not supporting rich text so Outlook sends
// Internet mail to it.
func OneOffEntryID(name, address string) []byte {
	if name == "" {
		name = address
	}
	e := mp.NewSMTPOneOff(name, address)
	e.Flags |= mp.OneOffNoRichInfo
	return e.Bytes()
}

// entryIDFor returns the address-book entry id of address when the
// address book knows it, else a one-off entry id.
func entryIDFor(ctx context.Context, ab AddressBook, name, address string) ([]byte, uint32) {
	if ab != nil {
		if eid, dt, ok := ab.EntryID(ctx, address); ok && len(eid) > 0 {
			return eid, dt
		}
	}
	return OneOffEntryID(name, address), mp.DisplayTypeMailUser
}

// setAddress fills the address properties of one mailbox.
func setAddress(ctx context.Context, p *Props, t addrTags, ab AddressBook, mb Mailbox) {
	name := mb.Name
	if name == "" {
		name = mb.Address
	}
	if name != "" {
		p.setString(t.name, name)
	}
	if mb.Address == "" {
		return
	}
	p.setString(t.addrType, "SMTP")
	p.setString(t.email, mb.Address)
	p.setString(t.smtp, mb.Address)
	p.setBinary(t.searchKey, SearchKey("SMTP", mb.Address))
	eid, _ := entryIDFor(ctx, ab, mb.Name, mb.Address)
	p.setBinary(t.entryID, eid)
}

// addressOf returns the mailbox an address family names in p: the SMTP
// address from the SMTP property, the e-mail address when its type is
// SMTP, or the one-off entry id.
func addressOf(p Props, t addrTags) Mailbox {
	mb := Mailbox{Name: p.String(t.name)}
	mb.Address = p.String(t.smtp)
	if mb.Address == "" && strings.EqualFold(p.String(t.addrType), "SMTP") {
		mb.Address = p.String(t.email)
	}
	if mb.Address == "" {
		if e, err := mp.ParseOneOffEntryID(p.Binary(t.entryID)); err == nil && strings.EqualFold(e.AddressType, "SMTP") {
			mb.Address = e.EmailAddress
			if mb.Name == "" {
				mb.Name = e.DisplayName
			}
		}
	}
	return mb
}

// RecipientMailbox returns the display name and SMTP address of a
// recipient row: PidTagSmtpAddress, else PidTagEmailAddress when
// PidTagAddressType is SMTP, else the address in a one-off
// PidTagEntryId/PidTagRecipientEntryId. ok is false when the row has no
// SMTP address (an "EX" recipient the caller has to resolve and give a
// PidTagSmtpAddress before rendering).
func RecipientMailbox(r Props) (mb Mailbox, ok bool) {
	mb = addressOf(r, addrTags{name: mp.PidTagDisplayName, addrType: mp.PidTagAddressType,
		email: mp.PidTagEmailAddress, smtp: mp.PidTagSmtpAddress, entryID: mp.PidTagEntryId})
	if mb.Address == "" {
		mb = addressOf(r, addrTags{name: mp.PidTagDisplayName, addrType: mp.PidTagAddressType,
			email: mp.PidTagEmailAddress, smtp: mp.PidTagSmtpAddress, entryID: mp.PidTagRecipientEntryId})
	}
	if mb.Name == "" {
		mb.Name = r.String(mp.PidTagRecipientDisplayName)
	}
	mb.Address = strings.TrimSpace(mb.Address)
	return mb, validAddress(mb.Address)
}

// validAddress reports whether s looks like local@domain without
// characters that would break a header or an SMTP command. Addresses are
// ASCII: internationalised ones (RFC 6531) would need SMTPUTF8 all the way
// and 8-bit headers, which the renderer does not produce.
func validAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 320 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' || c == '\\' || c == '"' || c == '[' && i < at {
			return false
		}
	}
	return true
}

// newRecipient builds the property set of one recipient row.
func newRecipient(ctx context.Context, ab AddressBook, rowid int, typ int32, mb Mailbox) Props {
	var p Props
	name := mb.Name
	if name == "" {
		name = mb.Address
	}
	eid, dt := entryIDFor(ctx, ab, mb.Name, mb.Address)
	p.setInt32(mp.PidTagRowid, int32(rowid))
	p.setInt32(mp.PidTagRecipientType, typ)
	p.setString(mp.PidTagDisplayName, name)
	p.setString(mp.PidTagTransmittableDisplayName, name)
	p.setString(mp.PidTagRecipientDisplayName, name)
	p.setString(mp.PidTagAddressType, "SMTP")
	p.setString(mp.PidTagEmailAddress, mb.Address)
	p.setString(mp.PidTagSmtpAddress, mb.Address)
	p.setBinary(mp.PidTagSearchKey, SearchKey("SMTP", mb.Address))
	p.setBinary(mp.PidTagEntryId, eid)
	p.setBinary(mp.PidTagRecipientEntryId, eid)
	p.setBinary(mp.PidTagRecordKey, eid)
	objType := mp.ObjectTypeMailUser
	if dt == mp.DisplayTypeDistList {
		objType = mp.ObjectTypeDistList
	}
	p.setInt32(mp.PidTagObjectType, objType)
	p.setInt32(mp.PidTagDisplayType, int32(dt))
	p.setBool(mp.PidTagSendRichInfo, false)
	p.setInt32(mp.PidTagRecipientFlags, recipSendable)
	p.setInt32(mp.PidTagRecipientOrder, int32(rowid))
	p.setBool(PidTagResponsibility, true)
	return p
}

// FlatEntryList encodes entry ids as a FlatEntryList (MS-OXCDATA 2.3.3),
// the format of PidTagReplyRecipientEntries.
func FlatEntryList(entryIDs [][]byte) []byte {
	w := mp.NewWriter()
	w.U32(uint32(len(entryIDs)))
	sizeAt := w.Len()
	w.U32(0)
	start := w.Len()
	for _, e := range entryIDs {
		w.U32(uint32(len(e)))
		w.Raw(e)
		for pad := (4 - len(e)%4) % 4; pad > 0; pad-- {
			w.U8(0)
		}
	}
	b := w.Bytes()
	n := uint32(len(b) - start)
	b[sizeAt], b[sizeAt+1], b[sizeAt+2], b[sizeAt+3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	return b
}

// ParseFlatEntryList decodes a FlatEntryList.
func ParseFlatEntryList(b []byte) ([][]byte, error) {
	r := mp.NewReader(b)
	count := r.U32()
	size := r.U32()
	if r.Err() != nil {
		return nil, fmt.Errorf("flat entry list: %w", r.Err())
	}
	if uint64(size) > uint64(r.Len()) || uint64(count)*4 > uint64(size) {
		return nil, fmt.Errorf("flat entry list: %w: %d entries in %d bytes", mp.ErrMalformed, count, size)
	}
	r = r.Sub(int(size))
	out := make([][]byte, 0, count)
	for i := uint32(0); i < count; i++ {
		n := r.U32()
		if r.Err() != nil || uint64(n) > uint64(r.Len()) {
			return nil, fmt.Errorf("flat entry list: %w: entry %d", mp.ErrMalformed, i)
		}
		out = append(out, r.Bytes(int(n)))
		if pad := (4 - int(n)%4) % 4; pad > 0 && i+1 < count {
			r.Bytes(min(pad, r.Len()))
		}
	}
	if r.Err() != nil {
		return nil, fmt.Errorf("flat entry list: %w", r.Err())
	}
	return out, nil
}

// displayList joins display names like Outlook's PidTagDisplayTo.
func displayList(recips []Props, typ int32) string {
	var names []string
	for _, r := range recips {
		t, _ := r.Int32(mp.PidTagRecipientType)
		if t&0x0F != typ {
			continue
		}
		n := r.String(mp.PidTagDisplayName)
		if n == "" {
			n = r.String(mp.PidTagSmtpAddress)
		}
		if n == "" {
			n = r.String(mp.PidTagEmailAddress)
		}
		if n != "" {
			names = append(names, n)
		}
	}
	return strings.Join(names, "; ")
}

// DisplayRecipients computes PidTagDisplayTo, PidTagDisplayCc and
// PidTagDisplayBcc from a recipient table (MS-OXCMSG 2.2.1.7-2.2.1.9), for
// messages made through MAPI.
func DisplayRecipients(recips []Props) (to, cc, bcc string) {
	return displayList(recips, mp.RecipientTo), displayList(recips, mp.RecipientCc), displayList(recips, mp.RecipientBcc)
}
