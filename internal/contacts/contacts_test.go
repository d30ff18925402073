package contacts_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pochta/pochta/internal/contacts"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/storage"
)

func open(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), storage.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "p.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// stored encodes a value the way mapi/rop stores property rows.
func stored(tag mp.Tag, s string) storage.PropValue {
	w := mp.NewWriter()
	w.Wide, w.CodePage = true, mp.CodePageUTF8
	w.PropertyValue(tag.Type(), s)
	return storage.PropValue{Tag: uint32(tag), Value: w.Bytes()}
}

// addContact saves an IPM.Contact item with a display name and addresses
// (Email1, Email2, …) in folder.
func addContact(t *testing.T, s *storage.Store, account, folder int64, class, name string, addrs ...string) {
	t.Helper()
	ctx := context.Background()
	guid := strings.ToLower(strings.Trim(mp.PSETID_Address.String(), "{}"))
	lids := []uint32{0x8083, 0x8093, 0x80A3}
	var names []storage.PropertyName
	for i := range addrs {
		names = append(names, storage.PropertyName{GUID: guid, IsLID: true, LID: lids[i]})
	}
	ids, err := s.NamedPropIDs(ctx, account, names, true)
	if err != nil {
		t.Fatal(err)
	}
	props := []storage.PropValue{stored(mp.PidTagDisplayName, name)}
	for i, a := range addrs {
		props = append(props, stored(mp.NewTag(ids[i], mp.PtypString), a))
	}
	raw := []byte("Subject: " + name + "\r\n\r\n")
	err = s.Write(ctx, func(tx *storage.Tx) error {
		h, err := tx.PutBlob(raw)
		if err != nil {
			return err
		}
		_, err = tx.SaveMAPIMessage(account, folder, 0, &storage.NewMessage{BlobHash: h, Size: int64(len(raw)), MessageClass: class, Subject: name}, props, false)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSearch(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for _, acct := range []int64{1, 2} {
		if err := s.EnsureMailbox(ctx, acct); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := s.FolderByRole(ctx, 1, storage.RoleContacts)
	if err != nil {
		t.Fatal(err)
	}
	addContact(t, s, 1, cf.ID, "IPM.Contact", "Zoë Example", "zoe@example.net", "zoe.home@example.org")
	addContact(t, s, 1, cf.ID, "IPM.Contact", "Adam Smith", "adam@example.net")
	addContact(t, s, 1, cf.ID, "IPM.Contact", "Exchange Only", "/o=Org/ou=Admin/cn=Recipients/cn=x")
	addContact(t, s, 1, cf.ID, "IPM.DistList", "A List", "list@example.net")
	other, err := s.FolderByRole(ctx, 2, storage.RoleContacts)
	if err != nil {
		t.Fatal(err)
	}
	addContact(t, s, 2, other.ID, "IPM.Contact", "Secret Person", "secret@example.net")

	all, err := contacts.Search(ctx, s, 1, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []contacts.Contact{{"Adam Smith", "adam@example.net"}, {"Zoë Example", "zoe.home@example.org"}, {"Zoë Example", "zoe@example.net"}}
	if len(all) != len(want) {
		t.Fatalf("got %+v, want %+v", all, want)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Errorf("%d: got %+v, want %+v", i, all[i], want[i])
		}
	}
	got, err := contacts.Search(ctx, s, 1, "ZOË", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "Zoë Example" {
		t.Errorf("query by name with limit 1: %+v", got)
	}
	got, err = contacts.Search(ctx, s, 1, "secret", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("another account's contact found: %+v", got)
	}
	got, err = contacts.Search(ctx, s, 3, "", 0)
	if err != nil || len(got) != 0 {
		t.Errorf("account without a mailbox: %+v, %v", got, err)
	}
}
