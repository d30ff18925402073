package hardening

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/rop"
	"github.com/pochta/pochta/storage"
)

// ropCode is the ROP error code of err (Success for nil).
func ropCode(t *testing.T, err error) mp.ErrorCode {
	t.Helper()
	if err == nil {
		return mp.Success
	}
	var re *mapiclient.ROPError
	if errors.As(err, &re) {
		return re.Code
	}
	t.Fatalf("not a ROP failure: %v", err)
	return 0
}

// logonAs sends RopLogon naming dn from c's session.
func logonAs(t *testing.T, c *mapiclient.Client, dn string) mp.ErrorCode {
	t.Helper()
	b := c.NewBatch()
	out := b.Out()
	b.Add(&rop.LogonRequest{
		RequestHeader: rop.RequestHeader{InputHandleIndex: out}, OutputHandleIndex: out,
		LogonFlags: rop.LogonFlagPrivate,
		OpenFlags:  rop.OpenFlagUsePerMDBReplIDMapping | rop.OpenFlagHomeLogon,
		Essdn:      dn,
	})
	res, err := b.Run(context.Background(), false)
	if err != nil {
		t.Fatalf("RopLogon as %s: %v", dn, err)
	}
	return ropCode(t, mapiclient.Check(res.Responses[0]))
}

// MAPI: alice, in her own session, names bob's mailbox (his LegacyDN in
// RopLogon), his folders and messages (by FID and MID, by long-term id and
// by entry id), asks for her sent copy to go into his folder, claims to
// send as him, and presents his session cookie. Each fails, bob's mail is
// neither read nor changed, and where alice's own mailbox has nothing by
// that id the answer is the one for an id that does not exist.
func TestIsolationMAPI(t *testing.T) {
	w := newWorld(t, worldOptions{})
	s := seedMail(t, w)
	ctx := context.Background()

	bob := w.mapiClient(t, "127.0.0.3", w.bob, bobPassword)
	if _, err := bob.Connect(ctx); err != nil {
		t.Fatalf("bob Connect: %v", err)
	}
	bobLogonHandle, bobLogon, err := bob.Logon(ctx, 0)
	if err != nil {
		t.Fatalf("bob Logon: %v", err)
	}
	alice := w.mapiClient(t, "127.0.0.2", w.alice, alicePassword)
	if _, err := alice.Connect(ctx); err != nil {
		t.Fatalf("alice Connect: %v", err)
	}

	// RopLogon with bob's DN, or with a DN nobody has. Both fail. (They
	// fail differently, as MS-OXCSTOR asks: ecLoginPerm for a mailbox that
	// exists, ecUnknownUser for none; the address book lists every user
	// to every user anyway, so this reveals nothing new.)
	ghost := mapi.LegacyDN(&directory.Account{ID: 987654, Address: "ghost@example.com"})
	if ec := logonAs(t, alice, mapi.LegacyDN(w.bob)); ec == mp.Success {
		t.Fatal("alice logged on to bob's mailbox")
	} else {
		t.Logf("RopLogon with bob's DN: %v; with an unknown DN: %v", ec, logonAs(t, alice, ghost))
	}
	if ec := logonAs(t, alice, ghost); ec == mp.Success {
		t.Fatal("alice logged on with an unknown DN")
	}
	logon, aliceLogon, err := alice.Logon(ctx, 0)
	if err != nil {
		t.Fatalf("alice Logon: %v", err)
	}
	if aliceLogon.MailboxGUID == bobLogon.MailboxGUID || aliceLogon.ReplGUID == bobLogon.ReplGUID {
		t.Fatal("alice and bob share a mailbox or replica GUID")
	}

	missingFID := mp.MakeID(1, 0xABCDEF)
	missingCode := ropCode(t, openFolderErr(alice, logon, missingFID))
	if missingCode == mp.Success {
		t.Fatal("a folder that does not exist was opened")
	}
	// bob's own folder, by FID, from alice's logon.
	secretFID := mp.MakeID(1, uint64(s.bobSecret.GlobCnt))
	if code := ropCode(t, openFolderErr(alice, logon, secretFID)); code != missingCode {
		t.Errorf("OpenFolder of bob's %s FID: %v; a missing FID: %v", bobFolder, code, missingCode)
	}

	// bob's message ids, in alice's Inbox and in bob's folder. Ids are
	// per mailbox, so one may name a message of alice's: then what opens
	// must be hers.
	aliceInbox, err := alice.OpenFolder(ctx, logon, aliceLogon.FolderIDs[rop.FolderInbox])
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = alice.OpenMessage(ctx, logon, aliceLogon.FolderIDs[rop.FolderInbox], mp.MakeID(1, 0xABCDEF), 0)
	missingMsg := ropCode(t, err)
	if missingMsg == mp.Success {
		t.Fatal("a message that does not exist was opened")
	}
	for _, m := range append(append([]storage.Message(nil), s.bobMessages...), s.bobSecretMessages...) {
		mid := mp.MakeID(1, uint64(m.GlobCnt))
		for _, fid := range []mp.ID{aliceLogon.FolderIDs[rop.FolderInbox], secretFID, bobLogon.FolderIDs[rop.FolderInbox]} {
			h, _, err := alice.OpenMessage(ctx, logon, fid, mid, 0)
			if code := ropCode(t, err); code != mp.Success {
				if fid == aliceLogon.FolderIDs[rop.FolderInbox] && code != missingMsg {
					t.Errorf("OpenMessage of bob's MID %v: %v; a missing MID: %v", mid, code, missingMsg)
				}
				continue
			}
			row, err := alice.GetProps(ctx, h, mp.PidTagSubject)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := row.Get(mp.PidTagSubject.ID()); !ok || strings.Contains(fmt.Sprint(v.Data), bobMarker) {
				t.Errorf("alice opened bob's message %d through MID %v in folder %v: %v", m.ID, mid, fid, row.Values)
			}
			_ = alice.Release(ctx, h)
		}
	}
	// Contents of alice's Inbox: hers only.
	tbl, err := alice.ContentsTable(ctx, aliceInbox, 0, mapiclient.TableQuery{Columns: []mp.Tag{mp.PidTagSubject}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl.Rows) != 1 {
		t.Errorf("alice's Inbox shows %d rows", len(tbl.Rows))
	}
	noLeak(t, "MAPI contents table", fmt.Sprint(tbl.Rows))

	// Long-term ids: bob's replica GUID is not alice's.
	for _, ltid := range []mp.LongTermID{
		mp.NewLongTermID(bobLogon.ReplGUID, uint64(s.bobSecret.GlobCnt)),
		mp.NewLongTermID(mp.GUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, uint64(s.bobSecret.GlobCnt)),
	} {
		b := alice.NewBatch()
		b.Add(&rop.IdFromLongTermIdRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: b.In(logon)}, LongTermID: ltid})
		res, err := b.Run(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if code := ropCode(t, mapiclient.Check(res.Responses[0])); code != mp.ErrNotFound {
			t.Errorf("IdFromLongTermId with a foreign replica GUID %v: %v", ltid.DatabaseGUID, code)
		}
	}

	// Entry ids: a submitted message asking for its sent copy in bob's
	// folder (PidTagSentMailEntryId, PidTagTargetEntryId) and claiming bob
	// as sender. The copy stays in alice's mailbox; the mail says alice.
	bobEntry := mp.NewPrivateFolderEntryID(bobLogon.MailboxGUID, bobLogon.ReplGUID, uint64(s.bobSecret.GlobCnt)).Bytes()
	draft, err := alice.CreateMessage(ctx, logon, aliceLogon.FolderIDs[rop.FolderOutbox], false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SetProps(ctx, draft,
		mp.StringValue(mp.PidTagSubject, "entry id test"),
		mp.StringValue(mp.PidTagBody, "hello"),
		mp.StringValue(mp.PidTagMessageClass, "IPM.Note"),
		mp.BinaryValue(mp.PidTagSentMailEntryId, bobEntry),
		mp.BinaryValue(mp.PidTagTargetEntryId, bobEntry),
		mp.StringValue(mp.PidTagSentRepresentingSmtpAddress, w.bob.Address),
		mp.StringValue(mp.PidTagSentRepresentingEmailAddress, w.bob.Address),
		mp.StringValue(mp.PidTagSenderSmtpAddress, w.bob.Address),
	); err != nil {
		t.Fatal(err)
	}
	if err := alice.ModifyRecipients(ctx, draft, mapiclient.Recipient{Type: mapiclient.RecipientTo, DisplayName: "Alice", Address: w.alice.Address}); err != nil {
		t.Fatal(err)
	}
	if err := alice.SubmitMessage(ctx, draft); err != nil {
		t.Fatalf("SubmitMessage: %v", err)
	}
	inbox, err := w.env.Store.ListMessages(ctx, w.alice.ID, s.aliceInbox.ID, storage.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range inbox {
		if m.Subject == "entry id test" {
			found = true
			if !strings.EqualFold(m.FromAddr, w.alice.Address) {
				t.Errorf("mail submitted by alice says it is from %q", m.FromAddr)
			}
		}
	}
	if !found {
		t.Error("alice's submitted message did not arrive")
	}

	// bob's session cookies, presented with alice's credentials, are
	// refused, for a sequenced request (an Execute that would log on to
	// bob's mailbox) and an unsequenced one. (MS-OXCMAPIHTTP has its own
	// answer for a context of another user, X-ResponseCode 11, where a
	// context that does not exist gets 10; the cookie is a 128-bit random
	// value alice could only have stolen, so the difference tells nothing
	// a guess could use.)
	execBody := executeBody(t, &rop.LogonRequest{
		LogonFlags: rop.LogonFlagPrivate, OpenFlags: rop.OpenFlagUsePerMDBReplIDMapping | rop.OpenFlagHomeLogon,
		Essdn: mapi.LegacyDN(w.bob),
	})
	probe := func(cookies map[string]string, requestType string, body []byte) string {
		c := w.mapiClient(t, "127.0.0.2", w.alice, alicePassword)
		c.SetCookies(cookies)
		resp, err := c.Do(ctx, requestType, body)
		if err != nil {
			t.Fatalf("%s: %v", requestType, err)
		}
		return fmt.Sprintf("HTTP %d, X-ResponseCode %d", resp.HTTPStatus, resp.Code)
	}
	bobCookies := bob.Cookies()
	if len(bobCookies) == 0 {
		t.Fatal("bob's session has no cookies")
	}
	made := map[string]string{}
	for k, v := range bobCookies {
		made[k] = strings.Repeat("0", len(v))
	}
	for _, req := range []struct {
		kind string
		body []byte
	}{{mapi.RequestExecute, execBody}, {mapi.RequestPing, nil}} {
		got, control := probe(bobCookies, req.kind, req.body), probe(made, req.kind, req.body)
		if got != "HTTP 200, X-ResponseCode 11" {
			t.Errorf("%s: alice with bob's session cookies: %s, want X-ResponseCode 11 (No Privilege)", req.kind, got)
		}
		if control != "HTTP 200, X-ResponseCode 10" {
			t.Errorf("%s: made-up session cookies: %s, want X-ResponseCode 10 (Context Not Found)", req.kind, control)
		}
	}
	// bob's session is still his and works: the attempts neither used nor
	// disturbed it.
	h, err := bob.OpenFolder(ctx, bobLogonHandle, mp.MakeID(1, uint64(s.bobSecret.GlobCnt)))
	if err != nil {
		t.Fatalf("bob's session after alice's attempts: %v", err)
	}
	tbl, err = bob.ContentsTable(ctx, h, 0, mapiclient.TableQuery{Columns: []mp.Tag{mp.PidTagSubject}})
	if err != nil || len(tbl.Rows) != 1 || !strings.Contains(fmt.Sprint(tbl.Rows[0].Values), bobMarker) {
		t.Errorf("bob's folder through his session: %v %v", tbl, err)
	}
	// Autodiscover for bob's address (or his alias) answers like one for
	// an address nobody has.
	autodiscover := func(address string) string {
		body := `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>` +
			`<EMailAddress>` + address + `</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`
		req, _ := http.NewRequest(http.MethodPost, "https://"+w.httpsAddr+mapi.AutodiscoverPath, strings.NewReader(body))
		req.SetBasicAuth(w.alice.Address, alicePassword)
		req.Header.Set("Content-Type", "text/xml")
		resp, err := w.httpClient("127.0.0.2").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		// The error's Time and Id differ on every answer.
		return fmt.Sprintf("%d %s", resp.StatusCode, regexp.MustCompile(` (Time|Id)="[^"]*"`).ReplaceAll(out, nil))
	}
	control := autodiscover("ghost@example.com")
	for _, a := range []string{w.bob.Address, w.bobAlias} {
		got := autodiscover(a)
		if got != control {
			t.Errorf("Autodiscover for %s: %s; for an unknown address: %s", a, got, control)
		}
		noLeak(t, "Autodiscover", strings.ReplaceAll(got, a, ""))
	}
	s.bobUntouched(t, w)
}

func openFolderErr(c *mapiclient.Client, parent uint32, fid mp.ID) error {
	h, err := c.OpenFolder(context.Background(), parent, fid)
	if err == nil {
		_ = c.Release(context.Background(), h)
	}
	return err
}

// executeBody is an Execute request body carrying req with an empty
// handle table slot for its output.
func executeBody(t *testing.T, req rop.Request) []byte {
	t.Helper()
	buf, err := mapiclient.EncodeROPInput([]rop.Request{req}, []uint32{rop.EmptyHandle}, 1252, false)
	if err != nil {
		t.Fatal(err)
	}
	body, err := (&mapi.ExecuteRequest{RopBuffer: buf, MaxRopOut: 0x40000}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return body
}
