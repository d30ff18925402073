package delivery_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/rules"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// subjectRule is an enabled rule matching subjects that contain word.
func subjectRule(t *testing.T, id int64, seq int32, word string, actions ...mp.ActionBlock) rules.Rule {
	t.Helper()
	return rules.Rule{
		ID: id, Sequence: seq, State: rules.StateEnabled, Name: "rule " + word,
		Condition: &mp.ContentRestriction{FuzzyLevelLow: mp.FuzzySubstring, FuzzyLevelHigh: mp.FuzzyIgnoreCase, PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, word)},
		Actions:   actions,
	}
}

func moveTo(t *testing.T, op uint8, f *storage.Folder) mp.ActionBlock {
	t.Helper()
	data, err := rules.EncodeMoveCopy(rules.MoveCopy{InThisStore: true, FolderID: mp.MakeID(1, uint64(f.GlobCnt))})
	if err != nil {
		t.Fatal(err)
	}
	return mp.ActionBlock{Type: op, Data: data}
}

func saveInboxRules(t *testing.T, e *testenv.Env, acc *directory.Account, rs ...rules.Rule) *storage.Folder {
	t.Helper()
	ctx := context.Background()
	inbox, err := e.Store.FolderByRole(ctx, acc.ID, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := rules.Save(ctx, e.Store, acc.ID, inbox.ID, rs); err != nil {
		t.Fatal(err)
	}
	return inbox
}

func send(t *testing.T, e *testenv.Env, sender, raw string, to ...string) *delivery.SendResult {
	t.Helper()
	out := &delivery.Outgoing{Sender: sender, Raw: []byte(raw)}
	for _, a := range to {
		out.Recipients = append(out.Recipients, delivery.Recipient{Address: a})
	}
	res, err := e.Deliverer.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func folderMessages(t *testing.T, e *testenv.Env, accountID, folderID int64) []storage.MessageMeta {
	t.Helper()
	meta, err := e.Store.FolderMeta(context.Background(), accountID, folderID)
	if err != nil {
		t.Fatal(err)
	}
	return meta
}

func TestRuleMovesMatchingDelivery(t *testing.T) {
	backends(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		bob := e.AddUser(t, "bob@example.com", "pw")
		inbox, _ := e.Store.FolderByRole(ctx, bob.ID, storage.RoleInbox)
		reports, err := e.Store.CreateFolder(ctx, bob.ID, inbox.ID, "Reports", "IPF.Note")
		if err != nil {
			t.Fatal(err)
		}
		archive, err := e.Store.CreateFolder(ctx, bob.ID, inbox.ID, "Archive", "IPF.Note")
		if err != nil {
			t.Fatal(err)
		}
		saveInboxRules(t, e, bob,
			subjectRule(t, 1, 1, "figures", moveTo(t, mp.ActionMove, reports), moveTo(t, mp.ActionCopy, archive), mp.ActionBlock{Type: mp.ActionMarkAsRead}),
		)
		send(t, e, "ann@example.org", sample, "bob@example.com")
		send(t, e, "ann@example.org", strings.Replace(sample, "Quarterly figures", "Lunch", 1), "bob@example.com")

		in := folderMessages(t, e, bob.ID, inbox.ID)
		rep := folderMessages(t, e, bob.ID, reports.ID)
		arc := folderMessages(t, e, bob.ID, archive.ID)
		if len(in) != 1 || len(rep) != 1 || len(arc) != 1 {
			t.Fatalf("inbox %d, reports %d, archive %d messages; want 1 each", len(in), len(rep), len(arc))
		}
		m, err := e.Store.MessageByID(ctx, bob.ID, rep[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "Quarterly figures" || m.Flags&storage.FlagSeen == 0 {
			t.Fatalf("reports holds %q flags %v; want the read figures message", m.Subject, m.Flags)
		}
		if m, _ := e.Store.MessageByID(ctx, bob.ID, in[0].ID); m.Subject != "Lunch" || m.Flags&storage.FlagSeen != 0 {
			t.Fatalf("inbox holds %q flags %v; want the unread lunch message", m.Subject, m.Flags)
		}
	})
}

func TestRuleSequenceExitLevelAndBrokenRules(t *testing.T) {
	backends(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		bob := e.AddUser(t, "bob@example.com", "pw")
		inbox, _ := e.Store.FolderByRole(ctx, bob.ID, storage.RoleInbox)
		first, _ := e.Store.CreateFolder(ctx, bob.ID, inbox.ID, "First", "IPF.Note")
		second, _ := e.Store.CreateFolder(ctx, bob.ID, inbox.ID, "Second", "IPF.Note")
		gone, _ := e.Store.CreateFolder(ctx, bob.ID, inbox.ID, "Gone", "IPF.Note")
		goneMove := moveTo(t, mp.ActionMove, gone)
		if err := e.Store.DeleteFolder(ctx, bob.ID, gone.ID); err != nil {
			t.Fatal(err)
		}
		exit := subjectRule(t, 2, 1, "figures", moveTo(t, mp.ActionMove, first))
		exit.State |= rules.StateExitLevel
		disabled := subjectRule(t, 3, 0, "figures", moveTo(t, mp.ActionMove, second))
		disabled.State = 0
		later := subjectRule(t, 4, 5, "figures", moveTo(t, mp.ActionMove, second))
		broken := subjectRule(t, 5, 0, "lunch", mp.ActionBlock{Type: mp.ActionMove, Data: []byte{1, 2}})
		missing := subjectRule(t, 6, 0, "tea", goneMove)
		high, _ := rules.EncodeTag(mp.Int32Value(mp.PidTagImportance, 2))
		important := subjectRule(t, 7, 0, "tea", mp.ActionBlock{Type: mp.ActionTag, Data: high})
		saveInboxRules(t, e, bob, later, exit, disabled, broken, missing, important)

		send(t, e, "ann@example.org", sample, "bob@example.com")
		send(t, e, "ann@example.org", strings.Replace(sample, "Quarterly figures", "Lunch", 1), "bob@example.com")
		send(t, e, "ann@example.org", strings.Replace(sample, "Quarterly figures", "Tea", 1), "bob@example.com")
		if n := len(folderMessages(t, e, bob.ID, first.ID)); n != 1 {
			t.Fatalf("first folder has %d messages; the lower sequence rule should file it", n)
		}
		if n := len(folderMessages(t, e, bob.ID, second.ID)); n != 0 {
			t.Fatalf("second folder has %d messages; exit level and the disabled state should stop it", n)
		}
		in := folderMessages(t, e, bob.ID, inbox.ID)
		if len(in) != 2 {
			t.Fatalf("inbox has %d messages; a broken rule and a missing folder must leave mail in the Inbox", len(in))
		}
		var tea *storage.Message
		for _, mm := range in {
			m, _ := e.Store.MessageByID(ctx, bob.ID, mm.ID)
			if m.Subject == "Tea" {
				tea = m
			}
		}
		if tea == nil || tea.Importance != 2 {
			t.Fatalf("tea message %+v; want importance set high by the tag action", tea)
		}
	})
}

func TestRuleDeleteDropsMessage(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	bob := e.AddUser(t, "bob@example.com", "pw")
	inbox := saveInboxRules(t, e, bob, subjectRule(t, 1, 1, "figures", mp.ActionBlock{Type: mp.ActionDelete}))
	res := send(t, e, "ann@example.org", sample, "bob@example.com")
	if res.Delivered != 1 {
		t.Fatalf("result %+v", res)
	}
	if n := len(folderMessages(t, e, bob.ID, inbox.ID)); n != 0 {
		t.Fatalf("inbox has %d messages after a delete rule", n)
	}
	_ = ctx
}

// queued returns the queued messages with their raw bytes.
func queued(t *testing.T, e *testenv.Env) ([]storage.QueueMessage, []string) {
	t.Helper()
	ctx := context.Background()
	qs, err := e.Store.QueueMessages(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for _, q := range qs {
		b, err := e.Store.ReadBlob(ctx, q.BlobHash)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, string(b))
	}
	return qs, raws
}

func TestRuleForwardAndRedirectGoThroughQueue(t *testing.T) {
	backends(t, func(t *testing.T, e *testenv.Env) {
		bob := e.AddUser(t, "bob@example.com", "pw")
		carol := e.AddUser(t, "carol@example.com", "pw")
		fwd, err := rules.EncodeForward([][]mp.Value{rules.SMTPRecipient("Dan", "dan@remote.example")})
		if err != nil {
			t.Fatal(err)
		}
		redir, err := rules.EncodeForward([][]mp.Value{rules.SMTPRecipient("", "eve@remote.example")})
		if err != nil {
			t.Fatal(err)
		}
		saveInboxRules(t, e, bob,
			subjectRule(t, 1, 1, "figures", mp.ActionBlock{Type: mp.ActionForward, Data: fwd}),
			subjectRule(t, 2, 2, "figures", mp.ActionBlock{Type: mp.ActionForward, Flavor: rules.Redirect, Data: redir}),
		)
		// Carol forwards everything back to Bob: the auto-generated copy
		// must not be forwarded again.
		back, _ := rules.EncodeForward([][]mp.Value{rules.SMTPRecipient("", "bob@example.com")})
		saveInboxRules(t, e, carol, rules.Rule{ID: 1, State: rules.StateEnabled, Actions: mp.RuleActions{{Type: mp.ActionForward, Data: back}}})

		send(t, e, "ann@example.org", sample, "bob@example.com")
		qs, raws := queued(t, e)
		if len(qs) != 2 {
			t.Fatalf("%d queued messages; want a forward and a redirect", len(qs))
		}
		got := map[string]string{}
		for i, q := range qs {
			if len(q.Recipients) != 1 || q.Sender != "bob@example.com" {
				t.Fatalf("queued %+v", q)
			}
			got[q.Recipients[0].Address] = raws[i]
		}
		f, r := got["dan@remote.example"], got["eve@remote.example"]
		if !strings.Contains(f, "Auto-Submitted: auto-generated") || !strings.Contains(f, "Subject: FW: Quarterly figures") || !strings.Contains(f, "message/rfc822") || !strings.Contains(f, sample) {
			t.Fatalf("forward:\n%s", f)
		}
		if !strings.HasSuffix(r, sample) || !strings.Contains(r, "Resent-From: <bob@example.com>") || !strings.Contains(r, "Auto-Submitted: auto-generated") {
			t.Fatalf("redirect:\n%s", r)
		}

		// A bounce (null sender) and machine-made mail are never forwarded.
		send(t, e, "", strings.Replace(sample, "Quarterly", "Bounced", 1), "bob@example.com")
		send(t, e, "ann@example.org", "Auto-Submitted: auto-replied\r\n"+sample, "bob@example.com")
		// Carol's forward-all rule sends one copy to Bob, whose rules do
		// not forward it again (it is auto-generated).
		send(t, e, "ann@example.org", sample, "carol@example.com")
		if qs, _ := queued(t, e); len(qs) != 2 {
			t.Fatalf("%d queued messages; automatic mail was forwarded", len(qs))
		}
		ctx := context.Background()
		inbox, _ := e.Store.FolderByRole(ctx, bob.ID, storage.RoleInbox)
		if n := len(folderMessages(t, e, bob.ID, inbox.ID)); n != 4 {
			t.Fatalf("bob's inbox has %d messages; want 4 (original, bounce, auto-reply, carol's forward)", n)
		}
	})
}

func TestOutOfOfficeOncePerSenderNeverToBulk(t *testing.T) {
	backends(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		bob := e.AddUser(t, "bob@example.com", "pw")
		if err := rules.SaveOOF(ctx, e.Store, bob.ID, rules.OOF{Enabled: true, Text: "Back on Monday."}); err != nil {
			t.Fatal(err)
		}
		send(t, e, "ann@example.org", sample, "bob@example.com")
		send(t, e, "ann@example.org", strings.Replace(sample, "Quarterly", "Second", 1), "bob@example.com")
		send(t, e, "", sample, "bob@example.com")
		send(t, e, "news@lists.example.org", "Precedence: bulk\r\n"+sample, "bob@example.com")
		send(t, e, "list@lists.example.org", "List-Id: <team.lists.example.org>\r\n"+sample, "bob@example.com")
		send(t, e, "robot@example.org", "Auto-Submitted: auto-generated\r\n"+sample, "bob@example.com")
		send(t, e, "bob@example.com", sample, "bob@example.com")
		qs, raws := queued(t, e)
		if len(qs) != 1 {
			t.Fatalf("%d replies queued; want one to ann", len(qs))
		}
		if qs[0].Sender != "" || len(qs[0].Recipients) != 1 || qs[0].Recipients[0].Address != "ann@example.org" {
			t.Fatalf("reply %+v; want null sender to ann", qs[0])
		}
		if r := raws[0]; !strings.Contains(r, "Back on Monday.") || !strings.Contains(r, "Auto-Submitted: auto-replied") || !strings.Contains(r, "In-Reply-To: <q1@example.org>") {
			t.Fatalf("reply:\n%s", r)
		}
		// Turning it off and on again starts a new period.
		if err := rules.SaveOOF(ctx, e.Store, bob.ID, rules.OOF{}); err != nil {
			t.Fatal(err)
		}
		send(t, e, "ann@example.org", sample, "bob@example.com")
		if err := rules.SaveOOF(ctx, e.Store, bob.ID, rules.OOF{Enabled: true}); err != nil {
			t.Fatal(err)
		}
		send(t, e, "ann@example.org", sample, "bob@example.com")
		if qs, _ := queued(t, e); len(qs) != 2 {
			t.Fatalf("%d replies queued; want a second one in the new absence", len(qs))
		}
	})
}

// A forward recipient picked from the address book (an EX entry id) is
// resolved through AccountByLegacyDN; a local one gets the copy at once.
func TestRuleForwardToAddressBookEntry(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	bob := e.AddUser(t, "bob@example.com", "pw")
	carol := e.AddUser(t, "carol@example.com", "pw")
	const dn = "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=carol"
	d := delivery.New(delivery.Options{Store: e.Store, Directory: e.Dir, AccountByLegacyDN: func(ctx context.Context, got string) (*directory.Account, error) {
		if !strings.EqualFold(got, dn) {
			return nil, directory.ErrNotFound
		}
		return carol, nil
	}})
	fwd, err := rules.EncodeForward([][]mp.Value{{
		mp.StringValue(mp.PidTagDisplayName, "Carol"), mp.StringValue(mp.PidTagAddressType, "EX"), mp.StringValue(mp.PidTagEmailAddress, dn),
		mp.BinaryValue(mp.PidTagEntryId, mp.AddressBookEntryID{DisplayType: mp.DisplayTypeMailUser, X500DN: dn}.Bytes()),
	}})
	if err != nil {
		t.Fatal(err)
	}
	saveInboxRules(t, e, bob, subjectRule(t, 1, 1, "figures", mp.ActionBlock{Type: mp.ActionForward, Data: fwd}))
	if _, err := d.Send(ctx, &delivery.Outgoing{Sender: "ann@example.org", Raw: []byte(sample), Recipients: []delivery.Recipient{{Address: "bob@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	inbox, _ := e.Store.FolderByRole(ctx, carol.ID, storage.RoleInbox)
	meta := folderMessages(t, e, carol.ID, inbox.ID)
	if len(meta) != 1 {
		t.Fatalf("carol has %d messages; want bob's forward", len(meta))
	}
	m, _ := e.Store.MessageByID(ctx, carol.ID, meta[0].ID)
	if m.Subject != "FW: Quarterly figures" || m.FromAddr != "bob@example.com" {
		t.Fatalf("carol got %q from %q", m.Subject, m.FromAddr)
	}
}

// A reply rule answers with its template message, to people only.
func TestRuleReplyWithTemplate(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	bob := e.AddUser(t, "bob@example.com", "pw")
	inbox, _ := e.Store.FolderByRole(ctx, bob.ID, storage.RoleInbox)
	tplRaw := "From: <bob@example.com>\r\nSubject: Thanks for the figures\r\n\r\nI will read them tomorrow.\r\n"
	res, err := e.Deliverer.Ingest(ctx, &delivery.Ingest{Raw: []byte(tplRaw), Targets: []delivery.Target{{AccountID: bob.ID, FolderID: inbox.ID, Flags: storage.FlagAssociated}}})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := e.Store.MessageByID(ctx, bob.ID, res.Targets[0].MessageID)
	if err != nil {
		t.Fatal(err)
	}
	data := rules.EncodeReply(rules.ReplyTemplate{FolderID: mp.MakeID(1, uint64(inbox.GlobCnt)), MessageID: mp.MakeID(1, uint64(tpl.GlobCnt))})
	saveInboxRules(t, e, bob, subjectRule(t, 1, 1, "figures", mp.ActionBlock{Type: mp.ActionReply, Data: data}))
	send(t, e, "ann@example.org", sample, "bob@example.com")
	send(t, e, "news@example.org", "Precedence: list\r\n"+sample, "bob@example.com")
	qs, raws := queued(t, e)
	if len(qs) != 1 || qs[0].Sender != "" || qs[0].Recipients[0].Address != "ann@example.org" {
		t.Fatalf("queued %+v; want one reply to ann with the null sender", qs)
	}
	if r := raws[0]; !strings.Contains(r, "Subject: Thanks for the figures") || !strings.Contains(r, "I will read them tomorrow.") || !strings.Contains(r, "Auto-Submitted: auto-replied") {
		t.Fatalf("reply:\n%s", r)
	}
}
