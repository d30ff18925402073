package rop

import (
	"context"
	"fmt"
	"os"
	"testing"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// TestTransportROPs: the spooler-side ROPs answer as a server that is its
// own spooler (MS-OXOMSG 3.2.5.2-3.2.5.8), and TransportSend sends.
func TestTransportROPs(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	bob := env.AddUser(t, "bob@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	at := c.one(&GetAddressTypesRequest{RequestHeader: hdr(0)}).(*GetAddressTypesResponse)
	if fmt.Sprint(at.AddressTypes) != "[SMTP EX]" {
		t.Errorf("address types %v", at.AddressTypes)
	}
	if tf := c.one(&GetTransportFolderRequest{RequestHeader: hdr(0)}).(*GetTransportFolderResponse); tf.FolderID != roleFID(storage.RoleOutbox) {
		t.Errorf("transport folder %v", tf.FolderID)
	}
	c.one(&OptionsDataRequest{RequestHeader: hdr(0), AddressType: "SMTP"})
	c.one(&SetSpoolerRequest{RequestHeader: hdr(0)})
	if ec := c.ec(&AbortSubmitRequest{RequestHeader: hdr(0), FolderID: roleFID(storage.RoleOutbox), MessageID: mp.MakeID(1, 5)}); ec != mp.ErrUnableToAbort {
		t.Errorf("AbortSubmit: %v", ec)
	}
	if ec := c.ec(&SpoolerLockMessageRequest{RequestHeader: hdr(0), MessageID: mp.MakeID(1, 0xFFFF)}); ec != mp.ErrNotFound {
		t.Errorf("SpoolerLockMessage of nothing: %v", ec)
	}
	c.one(&RegisterNotificationRequest{RequestHeader: hdr(0), OutputHandleIndex: 3, NotificationTypes: 0x04, WantWholeStore: true})
	// TransportSend with an EX recipient named by its DN.
	c.one(&CreateMessageRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleOutbox)})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(1), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "via DN")}})
	ex := &mp.RecipientRow{Flags: mp.RecipientTypeX500DN | mp.RecipientFlagDisplay | mp.RecipientFlagUnicode, X500DN: DefaultLegacyDN(bob), DisplayName: "Bob",
		ColumnCount: 1, Properties: mp.NewPropertyRow([]mp.Tag{mp.PidTagDisplayType}, []mp.Value{mp.Int32Value(mp.PidTagDisplayType, 0)})}
	c.one(&ModifyRecipientsRequest{RequestHeader: hdr(1), RecipientColumns: []mp.Tag{mp.PidTagDisplayType}, Rows: []ModifyRecipientRow{{RowID: 0, RecipientType: 1, Row: ex}}})
	c.one(&TransportSendRequest{RequestHeader: hdr(1)})
	if in := messagesIn(t, env, bob.ID, storage.RoleInbox); len(in) != 1 || in[0].Subject != "via DN" {
		t.Errorf("bob's Inbox after TransportSend: %v", in)
	}
}

// TestRecipientsAndAttachmentsEdit: ReadRecipients pages, RemoveAll,
// DeleteAttachment, GetValidAttachments and ReloadCachedInformation.
func TestRecipientsAndAttachmentsEdit(t *testing.T) {
	env := testenv.New(t)
	alice := env.AddUser(t, "alice@example.com", "pw")
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.one(&CreateMessageRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleDrafts)})
	var rows []ModifyRecipientRow
	for i := 0; i < 300; i++ {
		rows = append(rows, composeRecipient(uint32(i), 1, fmt.Sprintf("Person %d", i), fmt.Sprintf("p%d@remote.example", i)))
	}
	for i := 0; i < len(rows); i += 100 {
		c.one(&ModifyRecipientsRequest{RequestHeader: hdr(1), RecipientColumns: composeColumns, Rows: rows[i : i+100]})
	}
	// Delete one row.
	c.one(&ModifyRecipientsRequest{RequestHeader: hdr(1), RecipientColumns: composeColumns, Rows: []ModifyRecipientRow{{RowID: 7}}})
	for _, n := range []uint32{0, 1} {
		c.one(&CreateAttachmentRequest{RequestHeader: hdr(1), OutputHandleIndex: 2})
		c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{mp.StringValue(mp.PidTagAttachLongFilename, fmt.Sprintf("f%d.txt", n)),
			mp.BinaryValue(mp.PidTagAttachDataBinary, []byte("data")), mp.Int32Value(mp.PidTagAttachMethod, 1)}})
		c.one(&SaveChangesAttachmentRequest{RequestHeader: hdr(2), ResponseHandleIndex: 2})
	}
	c.one(&DeleteAttachmentRequest{RequestHeader: hdr(1), AttachmentID: 0})
	if va := c.one(&GetValidAttachmentsRequest{RequestHeader: hdr(1)}).(*GetValidAttachmentsResponse); fmt.Sprint(va.AttachmentIDs) != "[1]" {
		t.Errorf("valid attachments %v", va.AttachmentIDs)
	}
	sv := c.one(&SaveChangesMessageRequest{RequestHeader: hdr(1), ResponseHandleIndex: 1, SaveFlags: SaveKeepOpenReadWrite}).(*SaveChangesMessageResponse)
	om := c.one(&OpenMessageRequest{RequestHeader: hdr(0), OutputHandleIndex: 3, FolderID: roleFID(storage.RoleDrafts), MessageID: sv.MessageID}).(*OpenMessageResponse)
	if om.RecipientCount != 299 || len(om.RecipientRows) == 0 || len(om.RecipientRows) >= 299 {
		t.Fatalf("OpenMessage: %d recipients, %d rows inline", om.RecipientCount, len(om.RecipientRows))
	}
	seen := len(om.RecipientRows)
	next := uint32(seen)
	for seen < 299 {
		rr := c.one(&ReadRecipientsRequest{RequestHeader: hdr(3), RowID: next}).(*ReadRecipientsResponse)
		if len(rr.Rows) == 0 {
			t.Fatal("ReadRecipients returned nothing")
		}
		for _, r := range rr.Rows {
			if r.RowID == 7 {
				t.Errorf("deleted row 7 came back")
			}
		}
		seen += len(rr.Rows)
		next = rr.Rows[len(rr.Rows)-1].RowID + 1
	}
	if ec := c.ec(&ReadRecipientsRequest{RequestHeader: hdr(3), RowID: 1000}); ec != mp.ErrNotFound {
		t.Errorf("ReadRecipients past the end: %v", ec)
	}
	c.one(&RemoveAllRecipientsRequest{RequestHeader: hdr(1)})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(1), ResponseHandleIndex: 1, SaveFlags: SaveKeepOpenReadWrite})
	rc := c.one(&ReloadCachedInformationRequest{RequestHeader: hdr(3)}).(*ReloadCachedInformationResponse)
	if rc.RecipientCount != 0 {
		t.Errorf("reload after RemoveAllRecipients: %d recipients", rc.RecipientCount)
	}
}

// TestPostgresScenario runs the read, submit and draft paths on
// PostgreSQL, the production backend.
func TestPostgresScenario(t *testing.T) {
	env := testenv.New(t, testenv.Options{Postgres: true})
	alice := env.AddUser(t, "alice@example.com", "pw")
	bob := env.AddUser(t, "bob@example.com", "pw")
	env.Deliver(t, mimeMessage("hello postgres", 5000, "bytes"), alice.ID)
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	c.one(&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode})
	rows := c.rows(2, []mp.Tag{mp.PidTagSubject, mp.PidTagMid}, 10)
	if len(rows) != 1 || str(t, rows[0], mp.PidTagSubject) != "hello postgres" {
		t.Fatalf("rows %v", rows)
	}
	mid, _ := rows[0].Get(mp.PidTagMid.ID())
	c.one(&OpenMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 3, FolderID: roleFID(storage.RoleInbox), MessageID: mp.ID(mid.Data.(int64)), OpenModeFlags: OpenModeReadWrite})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(3), Properties: []mp.Value{mp.Int32Value(mp.PidTagFlagStatus, 2)}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(3), ResponseHandleIndex: 3})
	c.one(&SetReadFlagsRequest{RequestHeader: hdr(1)})
	in := messagesIn(t, env, alice.ID, storage.RoleInbox)
	if in[0].Flags&(storage.FlagSeen|storage.FlagFlagged) != storage.FlagSeen|storage.FlagFlagged {
		t.Errorf("flags %v", in[0].Flags)
	}
	c.one(&CreateMessageRequest{RequestHeader: hdr(0), OutputHandleIndex: 4, FolderID: roleFID(storage.RoleDrafts)})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(4), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "pg draft"), mp.StringValue(mp.PidTagBody, "text")}})
	c.one(&ModifyRecipientsRequest{RequestHeader: hdr(4), RecipientColumns: composeColumns, Rows: []ModifyRecipientRow{composeRecipient(0, 1, "Bob", "bob@example.com")}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(4), ResponseHandleIndex: 4, SaveFlags: SaveKeepOpenReadWrite})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(4), Properties: []mp.Value{mp.StringValue(mp.PidTagSubject, "pg draft v2")}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(4), ResponseHandleIndex: 4, SaveFlags: SaveKeepOpenReadWrite})
	c.one(&SubmitMessageRequest{RequestHeader: hdr(4)})
	if got := messagesIn(t, env, bob.ID, storage.RoleInbox); len(got) != 1 || got[0].Subject != "pg draft v2" {
		t.Errorf("bob's Inbox %v", got)
	}
	if d := messagesIn(t, env, alice.ID, storage.RoleDrafts); len(d) != 0 {
		t.Errorf("Drafts keeps %d", len(d))
	}
	if n, err := env.Store.CountMessages(context.Background(), alice.ID, folderByRole(t, env, alice.ID, storage.RoleSent).ID, false); err != nil || n != 1 {
		t.Errorf("Sent Items %d, %v", n, err)
	}
}
