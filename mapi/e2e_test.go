package mapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/directory"
	imapdoor "github.com/pochta/pochta/imap"
	"github.com/pochta/pochta/internal/delivery"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/rop"
	smtpdoor "github.com/pochta/pochta/smtp"
	"github.com/pochta/pochta/storage"
)

// The end-to-end tests of issue 7's first done-when line: the project's
// client over HTTPS against the MAPI door with the real ROP layer, mail
// arriving over SMTP, and what MAPI does read back over IMAP and through
// the outbound queue.

// withRealROP wires the ROP layer the way cmd/pochta does.
func withRealROP(env *testenv.Env) func(*mapi.Options) {
	return func(o *mapi.Options) {
		srv := rop.NewServer(rop.Options{
			Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, Logger: env.Logger,
			Hostname: "mail.example.com", LegacyDN: mapi.LegacyDN, AccountByLegacyDN: mapi.AccountByLegacyDN(env.Dir),
		})
		o.NewROPSession = func(ctx context.Context, acc *directory.Account, _ mapi.ConnectInfo) (mapi.ROPSession, error) {
			s, err := srv.NewSession(ctx, acc)
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	}
}

// world is the MAPI door with the real ROP layer, an SMTP MX, an IMAP
// server, and an outbound queue runner whose smarthost records what it
// gets.
type world struct {
	*harness
	smtpAddr  string
	imapAddr  string
	runner    *delivery.Runner
	smarthost *smarthost
}

func newWorld(t *testing.T, opts ...testenv.Options) *world {
	t.Helper()
	env := testenv.New(t, opts...)
	w := &world{harness: newHarnessOn(t, env, withRealROP(env))}

	mx, err := smtpdoor.New(smtpdoor.Options{Mode: smtpdoor.ModeMX, Hostname: "mx.example.com",
		Deliverer: env.Deliverer, Directory: env.Dir, Store: env.Store, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	ln := testenv.Listen(t)
	go mx.Serve(ln)
	t.Cleanup(func() { mx.Shutdown(context.Background()) })
	w.smtpAddr = ln.Addr().String()

	is, err := imapdoor.New(imapdoor.Options{Store: env.Store, Directory: env.Dir, Deliverer: env.Deliverer, TLS: env.TLS, Logger: env.Logger})
	if err != nil {
		t.Fatal(err)
	}
	iln := testenv.Listen(t)
	go is.ServeTLS(iln)
	t.Cleanup(func() { is.Shutdown(context.Background()) })
	w.imapAddr = iln.Addr().String()

	w.smarthost = newSmarthost(t)
	r, err := delivery.NewRunner(delivery.RunnerOptions{Deliverer: env.Deliverer, Smarthost: w.smarthost.addr, SmarthostTLS: "none",
		Hostname: "mx.example.com", Logger: env.Logger, RetryBase: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.runner = r
	return w
}

// sendSMTP delivers raw to rcpt through the MX.
func (w *world) sendSMTP(from, rcpt string, raw []byte) {
	w.t.Helper()
	c, err := gosmtp.Dial(w.smtpAddr)
	if err != nil {
		w.t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, []string{rcpt}, bytes.NewReader(raw)); err != nil {
		w.t.Fatalf("SMTP delivery to %s: %v", rcpt, err)
	}
}

// imapLogin opens an IMAP session over TLS.
func (w *world) imapLogin(user, password string) *imapclient.Client {
	w.t.Helper()
	c, err := imapclient.DialTLS(w.imapAddr, &imapclient.Options{TLSConfig: w.env.ClientTLS})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		w.t.Fatalf("IMAP login %s: %v", user, err)
	}
	return c
}

// smarthost is a go-smtp server standing in for the outside world.
type smarthost struct {
	addr string
	mu   sync.Mutex
	got  []received
}

type received struct {
	from string
	to   []string
	data []byte
}

func newSmarthost(t *testing.T) *smarthost {
	t.Helper()
	sh := &smarthost{}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &shSession{sh: sh}, nil }))
	s.Domain = "relay.remote.example"
	s.AllowInsecureAuth = true
	ln := testenv.Listen(t)
	sh.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return sh
}

func (sh *smarthost) messages() []received {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return slices.Clone(sh.got)
}

type shSession struct {
	sh  *smarthost
	cur received
}

func (s *shSession) Mail(from string, _ *gosmtp.MailOptions) error { s.cur.from = from; return nil }
func (s *shSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *shSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.sh.mu.Lock()
	s.sh.got = append(s.sh.got, s.cur)
	s.sh.mu.Unlock()
	s.cur = received{}
	return nil
}
func (s *shSession) Reset()        { s.cur = received{} }
func (s *shSession) Logout() error { return nil }

// inboundMessage is a message from outside with a text body of bodyLen
// bytes and, when attachment is not empty, a file attachment.
func inboundMessage(subject string, bodyLen int, attachment string) []byte {
	body := strings.Repeat("line of body text\r\n", bodyLen/19+1)[:bodyLen]
	var b strings.Builder
	fmt.Fprintf(&b, "From: Zed Sender <zed@outside.example>\r\nTo: Alice <alice@example.com>\r\nCc: bob@example.com\r\n"+
		"Subject: %s\r\nDate: Mon, 02 Jan 2026 10:00:00 +0000\r\nMessage-ID: <%x@outside.example>\r\nMIME-Version: 1.0\r\n",
		subject, time.Now().UnixNano())
	if attachment == "" {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s", body)
		return []byte(b.String())
	}
	enc := base64.StdEncoding.EncodeToString([]byte(attachment))
	var lines []string
	for len(enc) > 76 {
		lines, enc = append(lines, enc[:76]), enc[76:]
	}
	lines = append(lines, enc)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"+
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"+
		"Content-Disposition: attachment; filename=data.bin\r\n\r\n%s\r\n--b1--\r\n",
		body, strings.Join(lines, "\r\n"))
	return []byte(b.String())
}

func str(t *testing.T, row mp.PropertyRow, tag mp.Tag) string {
	t.Helper()
	v, ok := row.Get(tag.ID())
	if !ok {
		t.Fatalf("row lacks %v: %v", tag, row.Values)
	}
	s, ok := v.Data.(string)
	if !ok {
		t.Fatalf("%v is %T %v, not a string", tag, v.Data, v.Data)
	}
	return s
}

// rawValue returns the column of tag's id, error values included (Get
// skips those).
func rawValue(row mp.PropertyRow, tag mp.Tag) mp.Value {
	for _, v := range row.Values {
		if v.Tag.ID() == tag.ID() {
			return v
		}
	}
	return mp.Value{}
}

func i32(t *testing.T, row mp.PropertyRow, tag mp.Tag) int32 {
	t.Helper()
	v, ok := row.Get(tag.ID())
	if !ok {
		t.Fatalf("row lacks %v", tag)
	}
	n, ok := v.Data.(int32)
	if !ok {
		t.Fatalf("%v is %T %v, not an int32", tag, v.Data, v.Data)
	}
	return n
}

// logonRoles are the folders of RopLogon's FolderIds, in order
// (MS-OXCSTOR 2.2.1.1.3).
var logonRoles = []string{
	storage.RoleRoot, storage.RoleDeferredAction, storage.RoleSpoolerQueue, storage.RoleIPMSubtree,
	storage.RoleInbox, storage.RoleOutbox, storage.RoleSent, storage.RoleDeleted, storage.RoleCommonViews,
	storage.RoleSchedule, storage.RoleFinder, storage.RoleViews, storage.RoleShortcuts,
}

func TestEndToEnd(t *testing.T) { endToEnd(t, newWorld(t)) }

func TestEndToEndPostgres(t *testing.T) { endToEnd(t, newWorld(t, testenv.Options{Postgres: true})) }

func endToEnd(t *testing.T, w *world) {
	alice := w.user("alice")
	bob := w.user("bob")
	ctx := context.Background()

	// Autodiscover tells the client everything it needs.
	ad, err := mapiclient.Autodiscover(ctx, w.hc, w.base+"/autodiscover/autodiscover.xml", alice.Address, alice.Address, "secret-alice")
	if err != nil {
		t.Fatal(err)
	}
	c, err := mapiclient.New(mapiclient.Options{MailStoreURL: ad.MailStoreURL, UserDN: ad.LegacyDN,
		User: alice.Address, Password: "secret-alice", HTTPClient: w.hc})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cr.DisplayName != alice.Address {
		t.Errorf("Connect DisplayName %q", cr.DisplayName)
	}

	// Mail arrives over SMTP: a large message with an attachment between
	// two small ones.
	attachment := strings.Repeat("0123456789abcdef", 300)
	w.sendSMTP("zed@outside.example", alice.Address, inboundMessage("older note", 50, ""))
	w.sendSMTP("zed@outside.example", alice.Address, inboundMessage("Quarterly report", 9000, attachment))
	w.sendSMTP("zed@outside.example", alice.Address, inboundMessage("newest note", 50, ""))

	// Logon: the 13 special folder ids in order, the logon handle
	// LogonId<<24 (MAPI.md §5.3).
	const logonID = 0x0C
	logon, lr, err := c.Logon(ctx, logonID)
	if err != nil {
		t.Fatal(err)
	}
	if logon != logonID<<24 {
		t.Errorf("logon handle 0x%08X", logon)
	}
	mb, _ := w.env.Store.Mailbox(ctx, alice.ID)
	if g, _ := mp.ParseGUID(mb.GUID); lr.MailboxGUID != g || lr.ReplID != 1 {
		t.Errorf("MailboxGuid %v ReplId %d", lr.MailboxGUID, lr.ReplID)
	}
	for i, role := range logonRoles {
		f, err := w.env.Store.FolderByRole(ctx, alice.ID, role)
		if err != nil {
			t.Fatal(err)
		}
		if lr.FolderIDs[i] != mp.MakeID(1, uint64(f.GlobCnt)) {
			t.Errorf("FolderIds[%d] (%s) = %v, want GLOBCNT 0x%X", i, role, lr.FolderIDs[i], f.GlobCnt)
		}
	}

	// The IPM subtree's hierarchy table: the 11 default folders with their
	// counts.
	ipm, err := c.OpenFolder(ctx, logon, lr.FolderIDs[rop.FolderIPMSubtree])
	if err != nil {
		t.Fatal(err)
	}
	hier, err := c.HierarchyTable(ctx, ipm, rop.TableFlagUseUnicode, mapiclient.TableQuery{
		Columns: []mp.Tag{mp.PidTagDisplayName, mp.PidTagContentCount, mp.PidTagContentUnreadCount, mp.PidTagFolderId, mp.PidTagContainerClass},
	})
	if err != nil {
		t.Fatal(err)
	}
	folders := map[string]mp.PropertyRow{}
	for _, r := range hier.Rows {
		folders[str(t, r, mp.PidTagDisplayName)] = r
	}
	for _, name := range []string{"Inbox", "Outbox", "Sent Items", "Deleted Items", "Drafts", "Junk Email", "Calendar", "Contacts", "Tasks", "Notes", "Journal"} {
		r, ok := folders[name]
		if !ok {
			t.Errorf("hierarchy lacks %q", name)
			continue
		}
		count, unread := i32(t, r, mp.PidTagContentCount), i32(t, r, mp.PidTagContentUnreadCount)
		want := int32(0)
		if name == "Inbox" {
			want = 3
		}
		if count != want || unread != want {
			t.Errorf("%s: %d messages, %d unread; want %d", name, count, unread, want)
		}
	}
	if int(hier.RowCount) != len(hier.Rows) {
		t.Errorf("RowCount %d for %d rows", hier.RowCount, len(hier.Rows))
	}

	// The Inbox contents table, sorted and restricted.
	inboxFID := lr.FolderIDs[rop.FolderInbox]
	inbox, err := c.OpenFolder(ctx, logon, inboxFID)
	if err != nil {
		t.Fatal(err)
	}
	cols := []mp.Tag{mp.PidTagMid, mp.PidTagSubject, mp.PidTagSenderName, mp.PidTagMessageFlags, mp.PidTagHasAttachments, mp.PidTagMessageDeliveryTime}
	newestFirst := &mp.SortOrderSet{SortOrders: []mp.SortOrder{{PropTag: mp.PidTagMessageDeliveryTime, Order: mp.SortDescending}}}
	all, err := c.ContentsTable(ctx, inbox, rop.TableFlagUseUnicode, mapiclient.TableQuery{Columns: cols, Sort: newestFirst})
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, r := range all.Rows {
		subjects = append(subjects, str(t, r, mp.PidTagSubject))
	}
	if strings.Join(subjects, "|") != "newest note|Quarterly report|older note" {
		t.Errorf("sorted contents: %v", subjects)
	}
	restricted, err := c.ContentsTable(ctx, inbox, rop.TableFlagUseUnicode, mapiclient.TableQuery{Columns: cols, Sort: newestFirst,
		Restrict: &mp.ContentRestriction{FuzzyLevelLow: mp.FuzzySubstring, FuzzyLevelHigh: mp.FuzzyIgnoreCase,
			PropTag: mp.PidTagSubject, Value: mp.StringValue(mp.PidTagSubject, "quarterly")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(restricted.Rows) != 1 {
		t.Fatalf("restricted contents: %d rows", len(restricted.Rows))
	}
	row := restricted.Rows[0]
	if str(t, row, mp.PidTagSubject) != "Quarterly report" || str(t, row, mp.PidTagSenderName) != "Zed Sender" {
		t.Errorf("restricted row %v", row.Values)
	}
	if v, _ := row.Get(mp.PidTagHasAttachments.ID()); v.Data != true {
		t.Errorf("HasAttachments %v", v.Data)
	}
	midV, _ := row.Get(mp.PidTagMid.ID())
	mid := mp.ID(midV.Data.(int64))

	// OpenMessage + GetPropertiesSpecific: subject, sender, recipients;
	// the large body through a stream; the attachment through the
	// attachment table.
	msg, om, err := c.OpenMessage(ctx, inbox, inboxFID, mid, rop.OpenModeReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	var rcpts []string
	for _, r := range om.RecipientRows {
		rcpts = append(rcpts, r.Row.EmailAddress)
	}
	slices.Sort(rcpts)
	if om.NormalizedSubject.Value != "Quarterly report" || strings.Join(rcpts, ",") != "alice@example.com,bob@example.com" {
		t.Errorf("OpenMessage: subject %q, recipients %v", om.NormalizedSubject.Value, rcpts)
	}
	props, err := c.GetProps(ctx, msg, mp.PidTagSubject, mp.PidTagSenderName, mp.PidTagSenderEmailAddress, mp.PidTagDisplayTo, mp.PidTagDisplayCc, mp.PidTagBody)
	if err != nil {
		t.Fatal(err)
	}
	if got := str(t, props, mp.PidTagSenderEmailAddress); got != "zed@outside.example" {
		t.Errorf("sender address %q", got)
	}
	if got := str(t, props, mp.PidTagDisplayTo); !strings.Contains(got, "Alice") {
		t.Errorf("DisplayTo %q", got)
	}
	if got := str(t, props, mp.PidTagDisplayCc); !strings.Contains(got, "bob@example.com") {
		t.Errorf("DisplayCc %q", got)
	}
	if v := rawValue(props, mp.PidTagBody); v.Data != mp.ErrMAPIOOM {
		t.Errorf("a 9000-byte body in GetPropertiesSpecific: %v, want ecMAPIOOM", v.Data)
	}
	bodyBytes, err := c.ReadStream(ctx, msg, mp.PidTagBody)
	if err != nil {
		t.Fatal(err)
	}
	if body := mp.DecodeUTF16(bodyBytes); !strings.HasPrefix(body, "line of body text\r\n") || len(body) < 9000 {
		t.Errorf("streamed body: %d characters", len(body))
	}
	atts, err := c.AttachmentTable(ctx, msg, mapiclient.TableQuery{Columns: []mp.Tag{mp.PidTagAttachNumber, mp.PidTagAttachLongFilename, mp.PidTagAttachSize}})
	if err != nil {
		t.Fatal(err)
	}
	if len(atts.Rows) != 1 || str(t, atts.Rows[0], mp.PidTagAttachLongFilename) != "data.bin" {
		t.Fatalf("attachment table %v", atts.Rows)
	}
	att, err := c.OpenAttachment(ctx, msg, uint32(i32(t, atts.Rows[0], mp.PidTagAttachNumber)))
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.ReadStream(ctx, att, mp.PidTagAttachDataBinary)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != attachment {
		t.Errorf("attachment: %d bytes", len(data))
	}
	if err := c.Release(ctx, att, msg); err != nil {
		t.Fatal(err)
	}

	// SetReadFlags: \Seen in IMAP for that message only.
	if err := c.SetReadFlags(ctx, inbox, rop.ReadFlagDefault, mid); err != nil {
		t.Fatal(err)
	}
	ic := w.imapLogin(alice.Address, "secret-alice")
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	fetched, err := ic.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range fetched {
		seen := slices.Contains(m.Flags, imap.FlagSeen)
		if seen != (m.Envelope.Subject == "Quarterly report") {
			t.Errorf("IMAP %q: \\Seen %v", m.Envelope.Subject, seen)
		}
	}

	// Compose and submit: the local recipient reads it over IMAP, the
	// remote one gets it from the queue through the smarthost.
	draft, err := c.CreateMessage(ctx, logon, lr.FolderIDs[rop.FolderOutbox], false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetProps(ctx, draft,
		mp.StringValue(mp.PidTagSubject, "Lunch on Friday"),
		mp.StringValue(mp.PidTagBody, "Shall we meet at noon?"),
		mp.StringValue(mp.PidTagMessageClass, "IPM.Note"),
	); err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyRecipients(ctx, draft,
		mapiclient.Recipient{Type: mapiclient.RecipientTo, DisplayName: "Bob", Address: bob.Address},
		mapiclient.Recipient{Type: mapiclient.RecipientCc, DisplayName: "Carol", Address: "carol@remote.example"},
	); err != nil {
		t.Fatal(err)
	}
	if err := c.SubmitMessage(ctx, draft); err != nil {
		t.Fatal(err)
	}
	bc := w.imapLogin(bob.Address, "secret-bob")
	sel, err := bc.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 {
		t.Fatalf("bob's INBOX has %d messages", sel.NumMessages)
	}
	bm, err := bc.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true, BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	raw := bm[0].FindBodySection(&imap.FetchItemBodySection{})
	p := message.Parse(raw)
	if bm[0].Envelope.Subject != "Lunch on Friday" || !strings.Contains(p.FromAddr, alice.Address) ||
		!strings.Contains(message.TextBody(raw, p), "meet at noon") {
		t.Errorf("bob's message: subject %q from %q\n%s", bm[0].Envelope.Subject, p.FromAddr, raw)
	}
	if n, err := w.runner.RunOnce(ctx); err != nil || n == 0 {
		t.Fatalf("queue run: %d, %v", n, err)
	}
	got := w.smarthost.messages()
	if len(got) != 1 || !slices.Equal(got[0].to, []string{"carol@remote.example"}) || got[0].from != alice.Address ||
		!bytes.Contains(got[0].data, []byte("Subject: Lunch on Friday")) {
		t.Fatalf("smarthost got %+v", got)
	}

	// A draft saved in Drafts is valid MIME over IMAP, flagged \Draft.
	draftsFID := mp.ID(0)
	if f, err := w.env.Store.FolderByRole(ctx, alice.ID, storage.RoleDrafts); err == nil {
		draftsFID = mp.MakeID(1, uint64(f.GlobCnt))
	} else {
		t.Fatal(err)
	}
	d, err := c.CreateMessage(ctx, logon, draftsFID, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetProps(ctx, d,
		mp.StringValue(mp.PidTagSubject, "Plans for next week ✓"),
		mp.StringValue(mp.PidTagBody, "Step one, then step two."),
		mp.StringValue(mp.PidTagMessageClass, "IPM.Note"),
	); err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyRecipients(ctx, d, mapiclient.Recipient{Type: mapiclient.RecipientTo, DisplayName: "Dave", Address: "dave@remote.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SaveMessage(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.Select("Drafts", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	dm, err := ic.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, Envelope: true, BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(dm) != 1 {
		t.Fatalf("IMAP Drafts: %v %d", err, len(dm))
	}
	draftRaw := dm[0].FindBodySection(&imap.FetchItemBodySection{})
	dp := message.Parse(draftRaw)
	if len(dp.Warnings) > 0 {
		t.Errorf("draft MIME warnings %v\n%s", dp.Warnings, draftRaw)
	}
	if dm[0].Envelope.Subject != "Plans for next week ✓" || len(dm[0].Envelope.To) != 1 || dm[0].Envelope.To[0].Addr() != "dave@remote.example" ||
		!slices.Contains(dm[0].Flags, imap.FlagDraft) || !strings.Contains(message.TextBody(draftRaw, dp), "Step one") {
		t.Errorf("draft over IMAP: %+v flags %v\n%s", dm[0].Envelope, dm[0].Flags, draftRaw)
	}

	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}
