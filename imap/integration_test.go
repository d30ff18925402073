package imap

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"

	"github.com/pochta/pochta/storage"
)

// richMessage has a quoted-printable text part, a base64 attachment and an
// attached message, so every kind of section is exercised.
const richMessage = "From: Alice Example <alice@example.org>\r\n" +
	"To: Bob <bob@example.com>, carol@example.net\r\n" +
	"Cc: Dave <dave@example.com>\r\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= quarterly\r\n" +
	"Date: Mon, 04 Mar 2024 10:00:00 +0100\r\n" +
	"Message-ID: <m1@example.org>\r\n" +
	"X-Custom: hello world\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hello caf=C3=A9 needle\r\n" +
	"--b1\r\n" +
	"Content-Type: application/octet-stream; name=\"a.bin\"\r\n" +
	"Content-Disposition: attachment; filename=\"a.bin\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAECAwQF\r\n" +
	"--b1\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"From: inner@example.org\r\n" +
	"Subject: inner\r\n" +
	"\r\n" +
	"inner body\r\n" +
	"--b1--\r\n"

func plainMessage(subject, body string) string {
	return "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: " + subject +
		"\r\nDate: Tue, 05 Mar 2024 09:00:00 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", "") + "@example.com>\r\n\r\n" + body + "\r\n"
}

func appendMsg(t *testing.T, c *imapclient.Client, mailbox, raw string, opts *imap.AppendOptions) *imap.AppendData {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), opts)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND to %s: %v", mailbox, err)
	}
	return data
}

func listNames(t *testing.T, c *imapclient.Client, pattern string, opts *imap.ListOptions) map[string]*imap.ListData {
	t.Helper()
	l, err := c.List("", pattern, opts).Collect()
	if err != nil {
		t.Fatalf("LIST %q: %v", pattern, err)
	}
	out := map[string]*imap.ListData{}
	for _, d := range l {
		out[d.Mailbox] = d
	}
	return out
}

func hasAttr(d *imap.ListData, a imap.MailboxAttr) bool {
	return d != nil && slices.ContainsFunc(d.Attrs, func(x imap.MailboxAttr) bool { return strings.EqualFold(string(x), string(a)) })
}

func searchUIDs(t *testing.T, c *imapclient.Client, crit *imap.SearchCriteria) []imap.UID {
	t.Helper()
	data, err := c.UIDSearch(crit, nil).Wait()
	if err != nil {
		t.Fatalf("UID SEARCH %+v: %v", crit, err)
	}
	return data.AllUIDs()
}

// TestIMAPClientCommands drives every command and extension the door
// offers with go-imap's client over implicit TLS.
func TestIMAPClientCommands(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t)

	t.Run("capabilities", func(t *testing.T) {
		caps, err := c.Capability().Wait()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []imap.Cap{imap.CapIMAP4rev1, imap.CapIMAP4rev2, imap.CapIdle, imap.CapUIDPlus, imap.CapMove,
			imap.CapSpecialUse, imap.CapNamespace, imap.CapEnable, imap.CapLiteralPlus, imap.CapLiteralMinus, imap.CapUnselect,
			imap.CapChildren, imap.CapListExtended, imap.CapListStatus, imap.CapStatusSize, imap.CapSASLIR, imap.CapESearch,
			imap.CapSearchRes, imap.CapBinary, imap.Cap("APPENDLIMIT=52428800")} {
			if !caps.Has(want) {
				t.Errorf("capability %s missing from %v", want, caps)
			}
		}
		for _, not := range []imap.Cap{imap.CapCondStore, imap.CapID, imap.CapStartTLS} {
			if caps.Has(not) {
				t.Errorf("capability %s advertised but not implemented", not)
			}
		}
	})

	t.Run("list mail folders only", func(t *testing.T) {
		got := listNames(t, c, "*", nil)
		want := map[string]imap.MailboxAttr{"INBOX": "", "Sent Items": imap.MailboxAttrSent, "Deleted Items": imap.MailboxAttrTrash,
			"Drafts": imap.MailboxAttrDrafts, "Junk Email": imap.MailboxAttrJunk, "Outbox": ""}
		for name, use := range want {
			d := got[name]
			if d == nil {
				t.Errorf("LIST lacks %q (got %v)", name, mapKeys(got))
				continue
			}
			if use != "" && !hasAttr(d, use) {
				t.Errorf("%s lacks %s: %v", name, use, d.Attrs)
			}
			if !hasAttr(d, imap.MailboxAttrHasNoChildren) {
				t.Errorf("%s lacks \\HasNoChildren: %v", name, d.Attrs)
			}
			if d.Delim != '/' {
				t.Errorf("%s delimiter %q", name, d.Delim)
			}
		}
		if len(got) != len(want) {
			t.Errorf("LIST returned %v; calendar, contacts, tasks, notes, journal and hidden folders must not be mailboxes", mapKeys(got))
		}
		only := listNames(t, c, "*", &imap.ListOptions{SelectSpecialUse: true})
		if len(only) != 4 || only["Sent Items"] == nil {
			t.Errorf("LIST (SPECIAL-USE) returned %v", mapKeys(only))
		}
		if d := listNames(t, c, "inbox", nil)["INBOX"]; d == nil {
			t.Error(`LIST "" inbox does not find INBOX (case-insensitive)`)
		}
		l, err := c.List("", "", nil).Collect()
		if err != nil || len(l) != 1 || l[0].Delim != '/' || !hasAttr(l[0], imap.MailboxAttrNoSelect) {
			t.Errorf(`LIST "" "": %v %+v`, err, l)
		}
	})

	t.Run("namespace and enable", func(t *testing.T) {
		ns, err := c.Namespace().Wait()
		if err != nil {
			t.Fatal(err)
		}
		if len(ns.Personal) != 1 || ns.Personal[0].Delim != '/' || ns.Personal[0].Prefix != "" || ns.Other != nil || ns.Shared != nil {
			t.Errorf("NAMESPACE %+v", ns)
		}
	})

	t.Run("create rename subscribe delete", func(t *testing.T) {
		if err := c.Create("Projects/2024", nil).Wait(); err != nil {
			t.Fatalf("CREATE Projects/2024: %v", err)
		}
		got := listNames(t, c, "Projects*", nil)
		if !hasAttr(got["Projects"], imap.MailboxAttrHasChildren) || got["Projects/2024"] == nil {
			t.Fatalf("after CREATE: %v", got)
		}
		if err := c.Create("projects", nil).Wait(); err == nil {
			t.Error("CREATE of an existing name (other case) succeeded")
		}
		if err := c.Rename("Projects", "Work", nil).Wait(); err != nil {
			t.Fatalf("RENAME: %v", err)
		}
		got = listNames(t, c, "*", nil)
		if got["Work/2024"] == nil || got["Projects"] != nil || got["Projects/2024"] != nil {
			t.Fatalf("children did not follow the rename: %v", mapKeys(got))
		}
		if err := c.Unsubscribe("Work/2024").Wait(); err != nil {
			t.Fatal(err)
		}
		subs := listNames(t, c, "*", &imap.ListOptions{SelectSubscribed: true})
		if subs["Work/2024"] != nil || subs["Work"] == nil || !hasAttr(subs["Work"], imap.MailboxAttrSubscribed) {
			t.Errorf("LIST (SUBSCRIBED) after UNSUBSCRIBE: %v", subs)
		}
		if err := c.Unsubscribe("Work").Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe("Work/2024").Wait(); err != nil {
			t.Fatal(err)
		}
		rec := listNames(t, c, "*", &imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true})
		if w := rec["Work"]; w == nil || w.ChildInfo == nil || !w.ChildInfo.Subscribed || hasAttr(w, imap.MailboxAttrSubscribed) {
			t.Errorf("RECURSIVEMATCH did not report Work with CHILDINFO: %+v", w)
		}
		if err := c.Delete("Work").Wait(); err == nil || !strings.Contains(err.Error(), "HASCHILDREN") {
			t.Errorf("DELETE of a parent: %v, want NO [HASCHILDREN]", err)
		}
		if err := c.Delete("Work/2024").Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete("Work").Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete("Sent Items").Wait(); err == nil {
			t.Error("DELETE of Sent Items succeeded")
		}
		if err := c.Delete("INBOX").Wait(); err == nil {
			t.Error("DELETE of INBOX succeeded")
		}
		if _, err := c.Select("Calendar", nil).Wait(); err == nil {
			t.Error("SELECT Calendar succeeded; it is not a mail folder")
		}
	})

	internal := time.Date(2024, 3, 6, 8, 30, 0, 0, time.UTC)
	var richUID, plainUID1, plainUID2 imap.UID
	t.Run("append", func(t *testing.T) {
		d := appendMsg(t, c, "INBOX", richMessage, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagAnswered, "$Label1"}, Time: internal})
		if d.UID == 0 || d.UIDValidity == 0 {
			t.Fatalf("no APPENDUID: %+v", d)
		}
		richUID = d.UID
		plainUID1 = appendMsg(t, c, "INBOX", plainMessage("lunch plans", "pizza at noon"), nil).UID
		plainUID2 = appendMsg(t, c, "inbox", plainMessage("budget", "numbers inside"), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}}).UID
		if !(richUID < plainUID1 && plainUID1 < plainUID2) {
			t.Fatalf("UIDs not ascending: %d %d %d", richUID, plainUID1, plainUID2)
		}
		st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true, Size: true, AppendLimit: true, NumDeleted: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		wantSize := int64(len(richMessage) + len(plainMessage("lunch plans", "pizza at noon")) + len(plainMessage("budget", "numbers inside")))
		if *st.NumMessages != 3 || *st.NumUnseen != 2 || *st.Size != wantSize || st.UIDNext != plainUID2+1 || st.UIDValidity != inboxValidity(t, ts) || *st.AppendLimit != 50<<20 || *st.NumDeleted != 0 {
			t.Errorf("STATUS %+v (size %d, want %d)", st, *st.Size, wantSize)
		}
		if err := appendErr(c, "No Such Box", "x"); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
			t.Errorf("APPEND to a missing mailbox: %v, want TRYCREATE", err)
		}
	})

	t.Run("select", func(t *testing.T) {
		sd, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sd.NumMessages != 3 || sd.UIDNext != plainUID2+1 || sd.UIDValidity == 0 {
			t.Errorf("SELECT data %+v", sd)
		}
		if !slices.Contains(sd.PermanentFlags, imap.FlagWildcard) || !slices.Contains(sd.Flags, imap.Flag("$Label1")) {
			t.Errorf("FLAGS %v PERMANENTFLAGS %v", sd.Flags, sd.PermanentFlags)
		}
	})

	t.Run("fetch attributes", func(t *testing.T) {
		msgs, err := c.Fetch(imap.UIDSetNum(richUID), &imap.FetchOptions{
			Flags: true, InternalDate: true, RFC822Size: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		}).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("FETCH: %v %d", err, len(msgs))
		}
		m := msgs[0]
		if m.UID != richUID || m.SeqNum != 1 {
			t.Errorf("UID %d seq %d", m.UID, m.SeqNum)
		}
		if !slices.Contains(m.Flags, imap.FlagAnswered) || !slices.Contains(m.Flags, imap.Flag("$Label1")) || slices.Contains(m.Flags, imap.FlagSeen) {
			t.Errorf("FLAGS %v", m.Flags)
		}
		if !m.InternalDate.Equal(internal) {
			t.Errorf("INTERNALDATE %v, want %v", m.InternalDate, internal)
		}
		if m.RFC822Size != int64(len(richMessage)) {
			t.Errorf("RFC822.SIZE %d, want %d", m.RFC822Size, len(richMessage))
		}
		env := m.Envelope
		if env == nil || env.Subject != "Grüße quarterly" || env.MessageID != "m1@example.org" || len(env.To) != 2 || env.To[1].Addr() != "carol@example.net" ||
			env.From[0].Name != "Alice Example" || !env.Date.Equal(time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC)) {
			t.Errorf("ENVELOPE %+v", env)
		}
		oracle := imapserver.ExtractBodyStructure(strings.NewReader(richMessage))
		if got, want := fmt.Sprintf("%+v", flattenBS(m.BodyStructure)), fmt.Sprintf("%+v", flattenBS(oracle)); got != want {
			t.Errorf("BODYSTRUCTURE\n got  %s\n want %s", got, want)
		}
	})

	t.Run("fetch sections", func(t *testing.T) {
		sections := []*imap.FetchItemBodySection{
			{Peek: true},
			{Specifier: imap.PartSpecifierHeader, Peek: true},
			{Specifier: imap.PartSpecifierText, Peek: true},
			{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject", "x-custom"}, Peek: true},
			{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"Subject", "Received"}, Peek: true},
			{Part: []int{1}, Peek: true},
			{Part: []int{1}, Specifier: imap.PartSpecifierMIME, Peek: true},
			{Part: []int{2}, Peek: true},
			{Part: []int{3}, Peek: true},
			{Part: []int{3}, Specifier: imap.PartSpecifierHeader, Peek: true},
			{Part: []int{3}, Specifier: imap.PartSpecifierText, Peek: true},
			{Part: []int{3, 1}, Peek: true},
			{Part: []int{9}, Peek: true},
			{Peek: true, Partial: &imap.SectionPartial{Offset: 10, Size: 25}},
			{Part: []int{1}, Peek: true, Partial: &imap.SectionPartial{Offset: 100000, Size: 5}},
		}
		for _, sec := range sections {
			msgs, err := c.Fetch(imap.UIDSetNum(richUID), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
			if err != nil || len(msgs) != 1 {
				t.Fatalf("FETCH %+v: %v", sec, err)
			}
			got := msgs[0].FindBodySection(sec)
			want := imapserver.ExtractBodySection(strings.NewReader(richMessage), sec)
			if !bytes.Equal(got, want) {
				t.Errorf("BODY[%v %s %v %v]<%v>:\n got  %q\n want %q", sec.Part, sec.Specifier, sec.HeaderFields, sec.HeaderFieldsNot, sec.Partial, got, want)
			}
		}
		bin := []*imap.FetchItemBinarySection{{Part: []int{1}, Peek: true}, {Part: []int{2}, Peek: true}}
		msgs, err := c.Fetch(imap.UIDSetNum(richUID), &imap.FetchOptions{BinarySection: bin, BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{1}}, {Part: []int{2}}}}).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("FETCH BINARY: %v", err)
		}
		if got := string(msgs[0].FindBinarySection(bin[0])); got != "Hello café needle" {
			t.Errorf("BINARY[1] = %q", got)
		}
		if got := msgs[0].FindBinarySection(bin[1]); !bytes.Equal(got, []byte{0, 1, 2, 3, 4, 5}) {
			t.Errorf("BINARY[2] = %v", got)
		}
		// go-imap's writer leaves "<2>" out of the response, so the client
		// cannot tell a partial from the whole: ask for it alone.
		part := &imap.FetchItemBinarySection{Part: []int{2}, Peek: true, Partial: &imap.SectionPartial{Offset: 2, Size: 2}}
		msgs2, err := c.Fetch(imap.UIDSetNum(richUID), &imap.FetchOptions{BinarySection: []*imap.FetchItemBinarySection{part}}).Collect()
		if err != nil || len(msgs2) != 1 {
			t.Fatal(err)
		}
		if got := msgs2[0].FindBinarySection(part); !bytes.Equal(got, []byte{2, 3}) {
			t.Errorf("BINARY[2]<2.2> = %v", got)
		}
		if n, ok := msgs[0].FindBinarySectionSize([]int{2}); !ok || n != 6 {
			t.Errorf("BINARY.SIZE[2] = %d %v", n, ok)
		}
		if n, ok := msgs[0].FindBinarySectionSize([]int{1}); !ok || n != uint32(len("Hello café needle")) {
			t.Errorf("BINARY.SIZE[1] = %d %v", n, ok)
		}
	})

	t.Run("fetch sets seen", func(t *testing.T) {
		msgs, err := c.Fetch(imap.SeqSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatal(err)
		}
		if !slices.Contains(msgs[0].Flags, imap.FlagSeen) || msgs[0].UID != plainUID1 {
			t.Errorf("BODY[] did not report \\Seen: %+v", msgs[0])
		}
	})

	t.Run("store", func(t *testing.T) {
		msgs, err := c.Store(imap.UIDSetNum(richUID, plainUID2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "Work"}}, nil).Collect()
		if err != nil || len(msgs) != 2 {
			t.Fatalf("STORE: %v %d", err, len(msgs))
		}
		for _, m := range msgs {
			if !slices.Contains(m.Flags, imap.FlagFlagged) || !slices.Contains(m.Flags, "Work") {
				t.Errorf("after +FLAGS: %v", m.Flags)
			}
		}
		msgs, err = c.Store(imap.UIDSetNum(plainUID2), &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{"work"}}, nil).Collect()
		if err != nil || len(msgs) != 1 || slices.Contains(msgs[0].Flags, "Work") {
			t.Fatalf("-FLAGS work: %v %+v", err, msgs)
		}
		if err := c.Store(imap.UIDSetNum(plainUID1), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: []imap.Flag{imap.FlagDraft, "$Forwarded"}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		msgs, err = c.Fetch(imap.UIDSetNum(plainUID1), &imap.FetchOptions{Flags: true}).Collect()
		if err != nil || len(msgs) != 1 || !slices.Equal(msgs[0].Flags, []imap.Flag{imap.FlagDraft, imap.FlagForwarded}) {
			t.Fatalf("FLAGS replaced: %v %+v", err, msgs)
		}
		if err := c.Store(imap.UIDSetNum(plainUID1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{`\Bogus`}}, nil).Close(); err == nil {
			t.Error("STORE of an unknown system flag succeeded")
		}
	})

	t.Run("search", func(t *testing.T) {
		day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
		cases := []struct {
			name string
			crit imap.SearchCriteria
			want []imap.UID
		}{
			{"all", imap.SearchCriteria{}, []imap.UID{richUID, plainUID1, plainUID2}},
			{"flagged", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, []imap.UID{richUID, plainUID2}},
			{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []imap.UID{richUID, plainUID1}}, // STORE FLAGS replaced plainUID1's \Seen
			{"keyword", imap.SearchCriteria{Flag: []imap.Flag{"work"}}, []imap.UID{richUID}},
			{"unkeyword", imap.SearchCriteria{NotFlag: []imap.Flag{"$Label1"}}, []imap.UID{plainUID1, plainUID2}},
			{"forwarded", imap.SearchCriteria{Flag: []imap.Flag{"$forwarded"}}, []imap.UID{plainUID1}},
			{"subject decoded", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "grüße"}}}, []imap.UID{richUID}},
			{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "LUNCH"}}}, []imap.UID{plainUID1}},
			{"from", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "bob@"}}}, []imap.UID{plainUID1, plainUID2}},
			{"to address", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "To", Value: "carol@"}}}, []imap.UID{richUID}},
			{"cc name", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Cc", Value: "dave"}}}, []imap.UID{richUID}},
			{"bcc", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Bcc", Value: "x"}}}, nil},
			{"header other", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "X-Custom", Value: "WORLD"}}}, []imap.UID{richUID}},
			{"header present", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "MIME-Version", Value: ""}}}, []imap.UID{richUID}},
			{"message-id", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<budget@example.com>"}}}, []imap.UID{plainUID2}},
			{"body decoded", imap.SearchCriteria{Body: []string{"café"}}, []imap.UID{richUID}},
			{"body", imap.SearchCriteria{Body: []string{"PIZZA"}}, []imap.UID{plainUID1}},
			{"body not header", imap.SearchCriteria{Body: []string{"budget"}}, nil},
			{"text header", imap.SearchCriteria{Text: []string{"budget"}}, []imap.UID{plainUID2}},
			{"larger", imap.SearchCriteria{Larger: 500}, []imap.UID{richUID}},
			{"smaller", imap.SearchCriteria{Smaller: 500}, []imap.UID{plainUID1, plainUID2}},
			{"since internal", imap.SearchCriteria{Since: day(6), Before: day(7)}, []imap.UID{richUID}},
			{"sent on", imap.SearchCriteria{SentSince: day(5), SentBefore: day(6)}, []imap.UID{plainUID1, plainUID2}},
			{"uid set", imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(plainUID1, plainUID2)}}, []imap.UID{plainUID1, plainUID2}},
			{"seq set", imap.SearchCriteria{SeqNum: []imap.SeqSet{{imap.SeqRange{Start: 2, Stop: 0}}}}, []imap.UID{plainUID1, plainUID2}},
			{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Body: []string{"pizza"}}, {Flag: []imap.Flag{imap.FlagAnswered}}}}}, []imap.UID{richUID, plainUID1}},
			{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "budget"}}}}}, []imap.UID{richUID, plainUID1}},
			{"not external", imap.SearchCriteria{Not: []imap.SearchCriteria{{Body: []string{"needle"}}}, Flag: []imap.Flag{imap.FlagFlagged}}, []imap.UID{plainUID2}},
			{"recent", imap.SearchCriteria{Flag: []imap.Flag{`\Recent`}}, nil},
		}
		for _, tc := range cases {
			got := searchUIDs(t, c, &tc.crit)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
		// Sequence-number SEARCH and ESEARCH return options.
		data, err := c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDraft}}, &imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true, ReturnAll: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if data.Min != 1 || data.Max != 3 || data.Count != 2 || !slices.Equal(data.AllSeqNums(), []uint32{1, 3}) {
			t.Errorf("ESEARCH %+v %v", data, data.AllSeqNums())
		}
	})

	t.Run("copy keeps one blob", func(t *testing.T) {
		if err := c.Create("Archive", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		before, err := ts.env.Store.BlobCount(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		cd, err := c.Copy(imap.UIDSetNum(richUID, plainUID1), "Archive").Wait()
		if err != nil {
			t.Fatal(err)
		}
		src, _ := cd.SourceUIDs.Nums()
		dst, _ := cd.DestUIDs.Nums()
		if cd.UIDValidity == 0 || !slices.Equal(src, []imap.UID{richUID, plainUID1}) || !slices.Equal(dst, []imap.UID{1, 2}) {
			t.Errorf("COPYUID %+v %v %v", cd, src, dst)
		}
		after, _ := ts.env.Store.BlobCount(context.Background())
		if after != before {
			t.Errorf("COPY stored new blobs: %d -> %d", before, after)
		}
		if _, err := c.Copy(imap.UIDSetNum(richUID), "Nowhere").Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
			t.Errorf("COPY to a missing mailbox: %v", err)
		}
		// COPY into the selected mailbox shows up as EXISTS.
		if _, err := c.Copy(imap.UIDSetNum(plainUID2), "INBOX").Wait(); err != nil {
			t.Fatal(err)
		}
		if n := c.Mailbox().NumMessages; n != 4 {
			t.Errorf("EXISTS after COPY into INBOX: %d, want 4", n)
		}
	})

	t.Run("move", func(t *testing.T) {
		md, err := c.Move(imap.SeqSetNum(4), "Archive").Wait()
		if err != nil {
			t.Fatal(err)
		}
		dst, _ := md.DestUIDs.(imap.UIDSet).Nums()
		if md.UIDValidity == 0 || !slices.Equal(dst, []imap.UID{3}) {
			t.Errorf("MOVE COPYUID %+v", md)
		}
		if n := c.Mailbox().NumMessages; n != 3 {
			t.Errorf("messages after MOVE: %d, want 3", n)
		}
	})

	t.Run("expunge", func(t *testing.T) {
		if err := c.Store(imap.UIDSetNum(plainUID1, plainUID2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		seqs, err := c.UIDExpunge(imap.UIDSetNum(plainUID2)).Collect()
		if err != nil || !slices.Equal(seqs, []uint32{3}) {
			t.Fatalf("UID EXPUNGE: %v %v", err, seqs)
		}
		seqs, err = c.Expunge().Collect()
		if err != nil || !slices.Equal(seqs, []uint32{2}) {
			t.Fatalf("EXPUNGE: %v %v", err, seqs)
		}
		msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
		if err != nil || len(msgs) != 1 || msgs[0].UID != richUID {
			t.Fatalf("after EXPUNGE: %v %+v", err, msgs)
		}
	})

	t.Run("examine is read-only", func(t *testing.T) {
		if err := c.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Select("Archive", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err == nil {
			t.Error("STORE in an EXAMINEd mailbox succeeded")
		}
		msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
		if err != nil || len(msgs) != 1 || slices.Contains(msgs[0].Flags, imap.FlagSeen) {
			t.Fatalf("FETCH BODY[] in EXAMINE: %v %+v", err, msgs)
		}
		if err := c.UnselectAndExpunge().Wait(); err != nil {
			t.Errorf("CLOSE after EXAMINE: %v", err)
		}
	})

	t.Run("rename inbox", func(t *testing.T) {
		if err := c.Rename("INBOX", "Old Inbox", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status("Old Inbox", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || *st.NumMessages != 1 {
			t.Fatalf("STATUS Old Inbox: %v", err)
		}
		st, err = c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || *st.NumMessages != 0 {
			t.Fatalf("INBOX after RENAME INBOX: %v %v", err, st)
		}
	})

	t.Run("enable and logout", func(t *testing.T) {
		ed, err := c.Enable(imap.CapIMAP4rev2).Wait()
		if err != nil || !ed.Caps.Has(imap.CapIMAP4rev2) {
			t.Fatalf("ENABLE IMAP4rev2: %v %+v", err, ed)
		}
		if err := c.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Logout().Wait(); err != nil {
			t.Fatal(err)
		}
	})
}

func appendErr(c *imapclient.Client, mailbox, raw string) error {
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	cmd.Write([]byte(raw))
	cmd.Close()
	_, err := cmd.Wait()
	return err
}

func inboxValidity(t *testing.T, ts *testServer) uint32 {
	f, err := ts.env.Store.FolderByRole(context.Background(), ts.accountID, storage.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	return f.UIDValidity
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// flattenBS lists a body structure's parts in walk order with the fields
// that both our stored tree and go-imap's oracle fill the same way.
func flattenBS(bs imap.BodyStructure) []string {
	var out []string
	bs.Walk(func(path []int, part imap.BodyStructure) bool {
		switch p := part.(type) {
		case *imap.BodyStructureSinglePart:
			enc := strings.ToLower(p.Encoding)
			if enc == "" {
				enc = "7bit" // what the wire says for an absent encoding
			}
			s := fmt.Sprintf("%v %s params=%v enc=%s size=%d", path, p.MediaType(), p.Params, enc, p.Size)
			if p.Text != nil {
				s += fmt.Sprintf(" lines=%d", p.Text.NumLines)
			}
			if d := p.Disposition(); d != nil {
				s += fmt.Sprintf(" disp=%s %v", d.Value, d.Params)
			}
			out = append(out, s)
		case *imap.BodyStructureMultiPart:
			out = append(out, fmt.Sprintf("%v %s %v", path, p.MediaType(), p.Extended.Params))
		}
		return true
	})
	return out
}

// TestIMAPAuthentication covers LOGIN and AUTHENTICATE PLAIN over TLS and
// STARTTLS, the refusal without TLS, wrong passwords and the throttle.
func TestIMAPAuthentication(t *testing.T) {
	th := &fakeThrottle{}
	ts := newTestServer(t, func(o *Options) { o.Throttle = th })

	t.Run("plain port refuses login before STARTTLS", func(t *testing.T) {
		rc := ts.raw(t, false)
		untagged, done := rc.cmd("a1", "CAPABILITY")
		if len(untagged) != 1 || !strings.Contains(untagged[0], "LOGINDISABLED") || !strings.Contains(untagged[0], "STARTTLS") || strings.Contains(untagged[0], "AUTH=PLAIN") {
			t.Errorf("CAPABILITY on the plain port: %v", untagged)
		}
		if !strings.HasPrefix(done, "a1 OK") {
			t.Fatal(done)
		}
		if _, done := rc.cmd("a2", `LOGIN alice@example.com "`+testPassword+`"`); !strings.Contains(done, "PRIVACYREQUIRED") {
			t.Errorf("LOGIN without TLS: %s", done)
		}
	})

	t.Run("starttls then login", func(t *testing.T) {
		c, err := imapclient.DialStartTLS(ts.plainAddr, &imapclient.Options{TLSConfig: ts.env.ClientTLS})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(ts.user, testPassword).Wait(); err != nil {
			t.Fatalf("LOGIN after STARTTLS: %v", err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("authenticate plain with initial response", func(t *testing.T) {
		c := ts.connect(t)
		if !c.Caps().Has(imap.CapSASLIR) || !c.Caps().Has("AUTH=PLAIN") {
			t.Errorf("caps before login: %v", c.Caps())
		}
		if err := c.Authenticate(sasl.NewPlainClient("", ts.user, testPassword)); err != nil {
			t.Fatalf("AUTHENTICATE PLAIN: %v", err)
		}
		if err := c.Authenticate(sasl.NewPlainClient("", ts.user, testPassword)); err == nil {
			t.Error("second AUTHENTICATE succeeded")
		}
		c2 := ts.connect(t)
		if err := c2.Authenticate(sasl.NewPlainClient("bob@example.com", ts.user, testPassword)); err == nil {
			t.Error("AUTHENTICATE with a foreign authorization identity succeeded")
		}
	})

	t.Run("wrong password and throttle", func(t *testing.T) {
		c := ts.connect(t)
		err := c.Login(ts.user, "wrong").Wait()
		if err == nil || !strings.Contains(err.Error(), "AUTHENTICATIONFAILED") {
			t.Fatalf("wrong password: %v", err)
		}
		if th.fails != 1 {
			t.Errorf("throttle saw %d failures, want 1", th.fails)
		}
		th.refuse = true
		err = c.Login(ts.user, testPassword).Wait()
		if err == nil || !strings.Contains(err.Error(), "UNAVAILABLE") {
			t.Fatalf("login while throttled: %v", err)
		}
		th.refuse = false
		if err := c.Login(ts.user, testPassword).Wait(); err != nil {
			t.Fatal(err)
		}
		if th.successes == 0 {
			t.Error("throttle not told of the success")
		}
	})
}

// TestIMAPSearchResRaw checks SEARCHRES (RFC 5182) on the wire: go-imap's
// client sends neither RETURN (SAVE) nor "$" in a way that shows it.
func TestIMAPSearchResRaw(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t)
	for i := range 4 {
		appendMsg(t, c, "INBOX", plainMessage(fmt.Sprintf("m%d", i), "x"), nil)
	}
	rc := ts.raw(t, true)
	steps := []struct{ cmd, want string }{
		{`LOGIN alice@example.com "` + testPassword + `"`, ""},
		{"SELECT INBOX", ""},
		{"UID SEARCH RETURN (SAVE) UID 2:3", ""},
		{"FETCH $ (UID)", "* 2 FETCH (UID 2)|* 3 FETCH (UID 3)"},
		{"UID SEARCH $ UID 3:*", "* SEARCH 3"},
		{"SEARCH RETURN (COUNT MIN MAX) $", `* ESEARCH (TAG "x") MIN 2 MAX 3 COUNT 2`},
		{"UID STORE $ +FLAGS.SILENT (\\Deleted)", ""},
		{"UID EXPUNGE $", "* 3 EXPUNGE|* 2 EXPUNGE"},
		{"FETCH 1:* (UID)", "* 1 FETCH (UID 1)|* 2 FETCH (UID 4)"},
	}
	for _, st := range steps {
		untagged, done := rc.cmd("x", st.cmd)
		if !strings.HasPrefix(done, "x OK") {
			t.Fatalf("%s: %s", st.cmd, done)
		}
		if st.want != "" && strings.Join(untagged, "|") != st.want {
			t.Errorf("%s:\n got  %q\n want %q", st.cmd, strings.Join(untagged, "|"), st.want)
		}
	}
}

func TestIMAPLoopbackPlainAuthSwitch(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.AllowInsecureAuthLoopback = true })
	rc := ts.raw(t, false)
	if _, done := rc.cmd("a1", `LOGIN alice@example.com "`+testPassword+`"`); !strings.HasPrefix(done, "a1 OK") {
		t.Fatalf("LOGIN on loopback with the switch: %s", done)
	}
}

func TestIMAPConnectionLimitPerIP(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.MaxConnsPerIP = 2 })
	ts.client(t)
	ts.client(t)
	rc, err := tls.Dial("tcp", ts.tlsAddr, ts.env.ClientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 200)
	rc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _ := rc.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "* BYE") || !strings.Contains(string(buf[:n]), "LIMIT") {
		t.Fatalf("third connection greeted with %q, want BYE [LIMIT]", buf[:n])
	}
}

type fakeThrottle struct {
	refuse           bool
	fails, successes int
}

func (f *fakeThrottle) Allow(ip netip.Addr, login string) (bool, time.Duration) {
	if f.refuse {
		return false, time.Minute
	}
	return true, 0
}
func (f *fakeThrottle) Fail(ip netip.Addr, login, password string) { f.fails++ }
func (f *fakeThrottle) Succeed(ip netip.Addr, login string)        { f.successes++ }

// TestIMAPListStatusLiteralPlusAppendLimit covers LIST-STATUS (RFC 5819),
// a non-synchronising literal above 4096 bytes (LITERAL+, RFC 7888), the
// APPENDLIMIT refusal (RFC 7889) and BYE at shutdown.
func TestIMAPListStatusLiteralPlusAppendLimit(t *testing.T) {
	ts := newTestServer(t, func(o *Options) { o.AppendLimit = 10000 })
	c := ts.client(t)
	appendMsg(t, c, "INBOX", plainMessage("one", "1"), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	appendMsg(t, c, "INBOX", plainMessage("two", "2"), nil)

	l, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true, NumUnseen: true, Size: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var inbox *imap.ListData
	for _, d := range l {
		if d.Mailbox == "INBOX" {
			inbox = d
		}
	}
	if inbox == nil || inbox.Status == nil || *inbox.Status.NumMessages != 2 || *inbox.Status.NumUnseen != 1 || *inbox.Status.Size == 0 {
		t.Fatalf("LIST RETURN (STATUS): %+v", inbox)
	}

	rc := ts.raw(t, true)
	rc.cmd("a", `LOGIN alice@example.com "`+testPassword+`"`)
	body := plainMessage("big", strings.Repeat("x", 6000))
	if _, err := rc.conn.Write([]byte(fmt.Sprintf("b APPEND INBOX {%d+}\r\n%s\r\n", len(body), body))); err != nil {
		t.Fatal(err)
	}
	for l := rc.line(); ; l = rc.line() {
		if strings.HasPrefix(l, "b ") {
			if !strings.HasPrefix(l, "b OK [APPENDUID") {
				t.Fatalf("APPEND with a 6 KB LITERAL+: %s", l)
			}
			break
		}
		if strings.HasPrefix(l, "+") {
			t.Fatal("server asked to continue a non-synchronising literal")
		}
	}
	huge := plainMessage("huge", strings.Repeat("y", 20000))
	if err := appendErr(c, "INBOX", huge); err == nil || !strings.Contains(err.Error(), "TOOBIG") {
		t.Fatalf("APPEND above APPENDLIMIT: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l := rc.line(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("at shutdown the client got %q, want BYE", l)
	}
	if err := ts.srv.Shutdown(ctx); err != ErrServerClosed {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// TestIMAPIdleTimeout: an authenticated connection that sends nothing for
// Options.IdleTimeout is closed (go-imap's own wait is 35 minutes).
func TestIMAPIdleTimeout(t *testing.T) {
	// Long enough that a loaded CI machine does not stall an active client
	// past it, short enough to keep the test quick.
	ts := newTestServer(t, func(o *Options) { o.IdleTimeout = 2 * time.Second })
	c := ts.client(t)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Closed():
	case <-time.After(20 * time.Second):
		t.Fatal("an idle connection was not closed after IdleTimeout")
	}
	// A client that keeps talking stays.
	c2 := ts.client(t)
	for range 5 {
		time.Sleep(500 * time.Millisecond)
		if err := c2.Noop().Wait(); err != nil {
			t.Fatalf("NOOP on an active connection: %v", err)
		}
	}
}

func TestChangesFlags(t *testing.T) {
	seen, flagged := storage.FlagSeen, storage.FlagFlagged
	cases := []struct {
		op    storage.FlagOp
		cur   storage.Flags
		curKW string
		bits  storage.Flags
		kws   []string
		want  bool
	}{
		{storage.FlagsAdd, seen, "", seen, nil, false},
		{storage.FlagsAdd, seen, "", seen | flagged, nil, true},
		{storage.FlagsAdd, seen, "Work", 0, []string{"work"}, false},
		{storage.FlagsAdd, seen, "Work", 0, []string{"home"}, true},
		{storage.FlagsRemove, seen, "", flagged, nil, false},
		{storage.FlagsRemove, seen, "", seen, nil, true},
		{storage.FlagsRemove, 0, "a b", 0, []string{"B"}, true},
		{storage.FlagsRemove, 0, "a b", 0, []string{"c"}, false},
		{storage.FlagsReplace, seen, "a", seen, []string{"A"}, false},
		{storage.FlagsReplace, seen | storage.FlagAssociated, "", seen, nil, false},
		{storage.FlagsReplace, seen, "a", seen, nil, true},
		{storage.FlagsReplace, seen, "", seen, []string{"a"}, true},
		{storage.FlagsReplace, seen, "", flagged, nil, true},
	}
	for i, c := range cases {
		if got := changesFlags(c.op, c.cur, c.curKW, c.bits, c.kws); got != c.want {
			t.Errorf("case %d %+v: %v, want %v", i, c, got, c.want)
		}
	}
}
