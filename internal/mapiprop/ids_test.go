package mapiprop

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func TestIDComposition(t *testing.T) {
	// MAPI.md §7.1 (verified with ruler): Inbox GLOBCNT 0x0D in replica 1
	// goes on the wire as 01 00 00 00 00 00 00 0d, i.e. 0x0d00000000000001.
	id := MakeID(1, 0x0D)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(id))
	if !bytes.Equal(b[:], unhex(t, "0100 00000000000d")) || uint64(id) != 0x0d00000000000001 {
		t.Fatalf("MakeID(1, 0x0D) = %#x", uint64(id))
	}
	if id.ReplicaID() != 1 || id.GlobalCounter() != 0x0D {
		t.Fatalf("accessors: %d %#x", id.ReplicaID(), id.GlobalCounter())
	}
	big := MakeID(0xABCD, 0x123456789ABC)
	if big.ReplicaID() != 0xABCD || big.GlobalCounter() != 0x123456789ABC {
		t.Fatalf("big: %v", big)
	}
	if MakeID(1, 1<<48|5).GlobalCounter() != 5 {
		t.Error("GLOBCNT not truncated to 48 bits")
	}
}

func TestLongTermIDAndGID(t *testing.T) {
	repl := MustParseGUID("{6B6F6F4C-2A6B-4C4E-8D9B-1C8A2C5E3F10}")
	l := NewLongTermID(repl, 0x0D)
	w := NewWriter()
	w.LongTermID(l)
	if w.Len() != 24 || !bytes.Equal(w.Bytes()[16:], unhex(t, "00000000000d 0000")) {
		t.Fatalf("long-term ID bytes % x", w.Bytes())
	}
	r := NewReader(w.Bytes())
	if got := r.LongTermID(); got != l || got.Counter() != 0x0D {
		t.Fatalf("got %v", got)
	}
	g := NewGID(repl, 0x10)
	if len(g.Bytes()) != 22 {
		t.Fatal("GID length")
	}
	back, err := ParseGID(g.Bytes())
	if err != nil || back != g {
		t.Fatalf("GID round trip: %v %v", back, err)
	}
	if _, err := ParseGID(make([]byte, 21)); err == nil {
		t.Error("21-byte GID accepted")
	}
}

func TestPCL(t *testing.T) {
	xids := []XID{
		{NamespaceGUID: PS_MAPI, LocalID: []byte{0, 0, 0, 0, 0, 1}},
		{NamespaceGUID: PSETID_Common, LocalID: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
	}
	b := EncodePCL(xids)
	if b[0] != 22 || b[23] != 24 {
		t.Fatalf("size bytes %d %d", b[0], b[23])
	}
	got, err := DecodePCL(b)
	if err != nil || !reflect.DeepEqual(got, xids) {
		t.Fatalf("got %v %v", got, err)
	}
	for _, bad := range [][]byte{{30, 1}, {2, 1, 2}} {
		if _, err := DecodePCL(bad); err == nil {
			t.Errorf("% x accepted", bad)
		}
	}
}

func TestGUIDParse(t *testing.T) {
	g := MustParseGUID("00020329-0000-0000-C000-000000000046")
	if !bytes.Equal(g[:], unhex(t, "29030200 0000 0000 c000 000000000046")) {
		t.Fatalf("bytes % x", g[:])
	}
	if g.String() != "{00020329-0000-0000-C000-000000000046}" {
		t.Fatalf("String = %s", g)
	}
	for _, bad := range []string{"", "{00020329-0000-0000-C000-00000000004}", "0002032900000000C000000000000046", "{0002032X-0000-0000-C000-000000000046}"} {
		if _, err := ParseGUID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if !(GUID{}).IsZero() || g.IsZero() {
		t.Error("IsZero")
	}
}

func TestFolderAndMessageEntryIDs(t *testing.T) {
	store := MustParseGUID("{A1B2C3D4-0000-1111-2222-333344445555}")
	repl := MustParseGUID("{6B6F6F4C-2A6B-4C4E-8D9B-1C8A2C5E3F10}")
	f := NewPrivateFolderEntryID(store, repl, 0x0D)
	fb := f.Bytes()
	if len(fb) != 46 || !bytes.Equal(fb[20:22], []byte{1, 0}) || !bytes.Equal(fb[38:46], unhex(t, "00000000000d 0000")) {
		t.Fatalf("folder entry ID % x", fb)
	}
	if got, err := ParseFolderEntryID(fb); err != nil || got != f {
		t.Fatalf("folder round trip: %v %v", got, err)
	}
	m := NewPrivateMessageEntryID(store, repl, 0x0D, 0x1234)
	mb := m.Bytes()
	if len(mb) != 70 || !bytes.Equal(mb[20:22], []byte{7, 0}) {
		t.Fatalf("message entry ID % x", mb)
	}
	if got, err := ParseMessageEntryID(mb); err != nil || got != m {
		t.Fatalf("message round trip: %v %v", got, err)
	}
	if ClassifyEntryID(fb) != EntryIDFolder || ClassifyEntryID(mb) != EntryIDMessage {
		t.Error("classify folder/message")
	}
	if _, err := ParseFolderEntryID(mb[:46]); err == nil {
		t.Error("message bytes parsed as folder")
	}
}

func TestStoreEntryID(t *testing.T) {
	e := NewPrivateStoreEntryID("mail.example.com", "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice")
	b := e.Bytes()
	// Flags, muidStoreWrap, version 0, flag 0, "emsmdb.dll" padded to 14.
	want := unhex(t, "00000000 38a1bb1005e5101aa1bb08002b2a56c2 00 00 656d736d64622e646c6c00000000")
	if !bytes.HasPrefix(b, want) {
		t.Fatalf("prefix % x", b[:36])
	}
	if !bytes.Equal(b[40:56], ProviderUIDPrivateStore[:]) || binary.LittleEndian.Uint32(b[56:]) != WrappedTypePrivate {
		t.Fatalf("wrapped part % x", b[36:60])
	}
	got, err := ParseStoreEntryID(b)
	if err != nil || got != e {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if ClassifyEntryID(b) != EntryIDStore {
		t.Error("classify store")
	}
	pub := StoreEntryID{WrappedProviderUID: ProviderUIDPublicStore, WrappedType: WrappedTypePublic, ServerShortname: "srv"}
	if got, err := ParseStoreEntryID(pub.Bytes()); err != nil || got != pub {
		t.Errorf("public store: %v %v", got, err)
	}
}

func TestAddressEntryIDs(t *testing.T) {
	o := NewSMTPOneOff("Bob", "bob@example.com")
	b := o.Bytes()
	if !bytes.Equal(b[4:20], unhex(t, "812b1fa4bea310199d6e00dd010f5402")) || !bytes.Equal(b[20:24], unhex(t, "0000 0080")) {
		t.Fatalf("one-off header % x", b[:24])
	}
	if got, err := ParseOneOffEntryID(b); err != nil || got != o {
		t.Fatalf("one-off: %v %v", got, err)
	}
	o8 := OneOffEntryID{Flags: OneOffNoRichInfo, DisplayName: "Zoë", AddressType: "SMTP", EmailAddress: "z@x"}
	if got, err := ParseOneOffEntryID(o8.Bytes()); err != nil || got != o8 {
		t.Fatalf("8-bit one-off: %v %v", got, err)
	}
	dn := "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
	ab := AddressBookEntryID{DisplayType: DisplayTypeMailUser, X500DN: dn}
	abb := ab.Bytes()
	if len(abb) != 28+len(dn)+1 || !bytes.Equal(abb[4:20], unhex(t, "dca740c8c042101ab4b908002b2fe182")) || binary.LittleEndian.Uint32(abb[20:]) != 1 {
		t.Fatalf("address book entry ID % x", abb[:28])
	}
	if got, err := ParseAddressBookEntryID(abb); err != nil || got != ab {
		t.Fatalf("address book: %v %v", got, err)
	}
	eph := EphemeralEntryID{ProviderUID: PS_MAPI, DisplayType: DisplayTypeMailUser, MId: 0x10}
	eb := eph.Bytes()
	if len(eb) != 32 || eb[0] != 0x87 {
		t.Fatalf("ephemeral % x", eb)
	}
	if got, err := ParseEphemeralEntryID(eb); err != nil || got != eph {
		t.Fatalf("ephemeral: %v %v", got, err)
	}
	kinds := map[EntryIDKind][]byte{EntryIDOneOff: b, EntryIDAddressBook: abb, EntryIDEphemeral: eb, EntryIDUnknown: []byte("short")}
	for want, bb := range kinds {
		if got := ClassifyEntryID(bb); got != want {
			t.Errorf("classify %d = %d", want, got)
		}
	}
	if _, err := ParseAddressBookEntryID(b); err == nil || !strings.Contains(err.Error(), "provider") {
		t.Errorf("one-off parsed as address book: %v", err)
	}
}
