package rop

import (
	"context"
	"strings"
	"testing"

	"github.com/pochta/pochta/internal/delivery"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/rules"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// Rules written through RopModifyRules and the out-of-office state set
// through RopSetProperties on the logon are what internal/delivery
// executes on the next delivery (MS-OXORULE 3.2.5.1).
func TestModifyRulesExecutedOnDelivery(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	alice := env.AddUser(t, "alice@example.com", "pw")
	inbox := folderByRole(t, env, alice.ID, storage.RoleInbox)
	reports, err := env.Store.CreateFolder(ctx, alice.ID, inbox.ID, "Reports", "IPF.Note")
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, env, newTestServer(env), alice)
	c.logon()
	c.openFolder(0, 1, storage.RoleInbox)
	move, err := rules.EncodeMoveCopy(rules.MoveCopy{InThisStore: true, FolderID: mp.MakeID(1, uint64(reports.GlobCnt))})
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := rules.EncodeForward([][]mp.Value{rules.SMTPRecipient("Dan", "dan@remote.example")})
	if err != nil {
		t.Fatal(err)
	}
	subject := func(word string) mp.Value {
		return mp.Value{Tag: mp.PidTagRuleCondition, Data: &mp.ContentRestriction{FuzzyLevelLow: mp.FuzzySubstring, FuzzyLevelHigh: mp.FuzzyIgnoreCase, PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, word)}}
	}
	c.one(&ModifyRulesRequest{RequestHeader: hdr(1), RulesData: []RowData{
		{Flags: RowAdd, Properties: []mp.Value{mp.StringValue(mp.PidTagRuleName, "file reports"), mp.StringValue(mp.PidTagRuleProvider, "RuleOrganizer"),
			subject("report"), {Tag: mp.PidTagRuleActions, Data: mp.RuleActions{{Type: mp.ActionMove, Data: move}}}}},
		{Flags: RowAdd, Properties: []mp.Value{mp.StringValue(mp.PidTagRuleName, "forward invoices"), mp.StringValue(mp.PidTagRuleProvider, "RuleOrganizer"),
			subject("invoice"), {Tag: mp.PidTagRuleActions, Data: mp.RuleActions{{Type: mp.ActionForward, Data: fwd}}}}},
	}})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(0), Properties: []mp.Value{mp.BoolValue(rules.PidTagOofState, true)}})
	// Outlook keeps the out-of-office text in an FAI template message of
	// the Inbox (MS-OXORULE 2.2.6.1).
	c.one(&CreateMessageRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, FolderID: roleFID(storage.RoleInbox), AssociatedFlag: true})
	c.one(&SetPropertiesRequest{RequestHeader: hdr(2), Properties: []mp.Value{
		mp.StringValue(mp.PidTagMessageClass, "IPM.Note.Rules.OofTemplate.Microsoft"), mp.StringValue(mp.PidTagBody, "Away until Monday, sorry.")}})
	c.one(&SaveChangesMessageRequest{RequestHeader: hdr(2), ResponseHandleIndex: 2})

	deliver := func(sender, subj string) {
		t.Helper()
		raw := "From: <" + sender + ">\r\nTo: <alice@example.com>\r\nSubject: " + subj + "\r\nMessage-ID: <" + strings.ReplaceAll(subj, " ", ".") + "@example.org>\r\n\r\nbody\r\n"
		if sender == "" {
			raw = strings.Replace(raw, "From: <>", "From: <mailer-daemon@example.org>", 1)
		}
		_, err := env.Deliverer.Send(ctx, &delivery.Outgoing{Sender: sender, Raw: []byte(raw), Recipients: []delivery.Recipient{{Address: "alice@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	deliver("ann@example.org", "Monthly report")
	deliver("ann@example.org", "Invoice 42")
	deliver("", "Undelivered invoice")
	deliver("news@example.org", "Lunch")

	count := func(folderID int64) int {
		meta, err := env.Store.FolderMeta(ctx, alice.ID, folderID)
		if err != nil {
			t.Fatal(err)
		}
		return len(meta)
	}
	if n := count(reports.ID); n != 1 {
		t.Fatalf("Reports has %d messages; the move rule should file the report", n)
	}
	if n := count(inbox.ID); n != 3 {
		t.Fatalf("Inbox has %d messages, want 3", n)
	}
	qs, err := env.Store.QueueMessages(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var forwards, replies []string
	for _, q := range qs {
		for _, r := range q.Recipients {
			if q.Sender == "" {
				raw, _ := env.Store.ReadBlob(ctx, q.BlobHash)
				if !strings.Contains(string(raw), "Away until Monday, sorry.") {
					t.Errorf("out-of-office reply without the template's text:\n%s", raw)
				}
				replies = append(replies, r.Address)
			} else {
				forwards = append(forwards, r.Address)
			}
		}
	}
	// One forward (not of the bounce); one out-of-office reply per sender,
	// none to the null sender.
	if strings.Join(forwards, ",") != "dan@remote.example" {
		t.Errorf("forwards to %v", forwards)
	}
	if strings.Join(replies, ",") != "ann@example.org,news@example.org" {
		t.Errorf("out-of-office replies to %v", replies)
	}
}
