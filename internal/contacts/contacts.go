// Package contacts reads the e-mail addresses of an account's own contacts:
// the IPM.Contact items of its contact folders, whose truth is their MAPI
// properties (Outlook makes them over MAPI). The webmail's recipient
// autocomplete uses it beside the global address list.
//
// Property rows are stored as mapi/rop stores them: the MS-OXCDATA 2.11
// value encoding with 32-bit counts (the mapiprop "Wide" format) and
// 8-bit strings turned into Unicode ones. Reading them here, not in a
// frontend, keeps the frontends from importing one another.
package contacts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/storage"
)

// Contact is one e-mail address of a contact item. A contact with several
// addresses gives several Contacts.
type Contact struct {
	Name    string
	Address string
}

// MaxScanned bounds how many contact items one Search reads.
const MaxScanned = 5000

// PSETID_Address named properties of the three e-mail addresses
// (MS-OXOCNTC 2.2.1.2): PidLidEmail1EmailAddress, Email2, Email3.
var emailLIDs = []uint32{0x8083, 0x8093, 0x80A3}

// Search returns up to limit contact addresses of the account whose name
// or address contains query (case-insensitive; "" matches all), sorted by
// name. Items without an Internet address (an Exchange DN, say) are left
// out.
func Search(ctx context.Context, st *storage.Store, accountID int64, query string, limit int) ([]Contact, error) {
	folders, err := st.Folders(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, f := range folders {
		if f.Role != storage.RoleContacts && f.ContainerClass != "IPF.Contact" {
			continue
		}
		for offset := 0; len(ids) < MaxScanned; {
			page, err := st.ListMessages(ctx, accountID, f.ID, storage.ListQuery{Sort: storage.SortUID, Offset: offset, Limit: 500})
			if err != nil {
				return nil, err
			}
			for _, m := range page {
				if strings.HasPrefix(strings.ToLower(m.MessageClass), "ipm.contact") && len(ids) < MaxScanned {
					ids = append(ids, m.ID)
				}
			}
			if len(page) < 500 {
				break
			}
			offset += len(page)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	names := make([]storage.PropertyName, len(emailLIDs))
	guid := strings.ToLower(strings.Trim(mp.PSETID_Address.String(), "{}"))
	for i, lid := range emailLIDs {
		names[i] = storage.PropertyName{GUID: guid, IsLID: true, LID: lid}
	}
	propIDs, err := st.NamedPropIDs(ctx, accountID, names, false)
	if err != nil {
		return nil, fmt.Errorf("contacts: named properties: %w", err)
	}
	emailIDs := map[uint16]bool{}
	for _, id := range propIDs {
		if id != 0 {
			emailIDs[id] = true
		}
	}
	if len(emailIDs) == 0 {
		return nil, nil
	}
	props, err := st.PropsOf(ctx, accountID, storage.ObjectMessage, ids, false)
	if err != nil {
		return nil, fmt.Errorf("contacts: reading properties: %w", err)
	}
	q := strings.ToLower(strings.TrimSpace(query))
	var out []Contact
	seen := map[string]bool{}
	for _, id := range ids {
		var name string
		var addrs []string
		for _, p := range props[id] {
			tag := mp.Tag(p.Tag)
			switch {
			case tag == mp.PidTagDisplayName:
				name, _ = decodeString(p)
			case emailIDs[tag.ID()]:
				if a, ok := decodeString(p); ok && strings.Contains(a, "@") {
					addrs = append(addrs, strings.TrimSpace(a))
				}
			}
		}
		for _, a := range addrs {
			key := strings.ToLower(a)
			if seen[key] {
				continue
			}
			if q != "" && !strings.Contains(strings.ToLower(name), q) && !strings.Contains(key, q) {
				continue
			}
			seen[key] = true
			out = append(out, Contact{Name: name, Address: a})
		}
	}
	slices.SortFunc(out, func(a, b Contact) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Address, b.Address)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// decodeString reads a stored string property (Unicode, or 8-bit as UTF-8).
func decodeString(p storage.PropValue) (string, bool) {
	t := mp.Tag(p.Tag).Type()
	if t != mp.PtypString && t != mp.PtypString8 {
		return "", false
	}
	r := mp.NewReader(p.Value)
	r.Wide, r.CodePage = true, mp.CodePageUTF8
	s, ok := r.PropertyValue(t).(string)
	if r.Err() != nil || !ok {
		return "", false
	}
	return s, true
}
