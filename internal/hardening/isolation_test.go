package hardening

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pochta/pochta/storage"
)

// Isolation: alice tries, through every door, to reach bob's mail. The
// marker strings below are in bob's data only; none may ever reach alice.
const (
	bobMarker    = "bob-private"
	bobFolder    = "BobSecret"
	bobAttach    = "bob-attachment.txt"
	aliceSubject = "alice-own"
)

// seeded is what seedMail stored.
type seeded struct {
	bobInbox, bobSecret *storage.Folder
	bobMessages         []storage.Message // bob's Inbox
	bobSecretMessages   []storage.Message
	aliceInbox          *storage.Folder
	aliceMessages       []storage.Message
	bobMessageIDs       []int64 // store ids of every message of bob's
	bobFolderIDs        []int64
}

func bobMessage(i int) string {
	return fmt.Sprintf("From: Carol <carol@remote.example>\r\nTo: bob@example.com\r\nSubject: %s-%d\r\n"+
		"Message-ID: <%s-%d@remote.example>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"+
		"--b\r\nContent-Type: text/plain\r\n\r\n%s body %d\r\n"+
		"--b\r\nContent-Type: text/plain; name=%s\r\nContent-Disposition: attachment; filename=%s\r\n\r\n%s attachment %d\r\n--b--\r\n",
		bobMarker, i, bobMarker, i, bobMarker, i, bobAttach, bobAttach, bobMarker, i)
}

// seedMail gives bob three messages in his Inbox and a folder of his own
// with one more (made over IMAP as bob), and alice one message.
func seedMail(t *testing.T, w *world) *seeded {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		w.env.Deliver(t, []byte(bobMessage(i)), w.bob.ID)
	}
	w.env.Deliver(t, []byte("From: <dave@remote.example>\r\nTo: alice@example.com\r\nSubject: "+aliceSubject+"\r\n\r\nhello alice\r\n"), w.alice.ID)

	c := dialLines(t, "127.0.0.20", w.imapsAddr, w.clientTLS)
	c.line()
	for _, cmd := range []string{fmt.Sprintf("LOGIN %q %q", w.bob.Address, bobPassword), "CREATE " + bobFolder} {
		if _, done := c.imapCmd("s", "%s", cmd); !strings.HasPrefix(done, "OK") {
			t.Fatalf("bob: %s: %q", cmd, done)
		}
	}
	msg := bobMessage(4)
	c.send("s APPEND %s {%d+}", bobFolder, len(msg))
	c.send("%s", msg)
	if l := c.line(); !strings.HasPrefix(l, "s OK") {
		t.Fatalf("bob: APPEND: %q", l)
	}
	c.imapCmd("s", "LOGOUT")

	s := &seeded{}
	var err error
	if s.bobInbox, err = w.env.Store.FolderByRole(ctx, w.bob.ID, storage.RoleInbox); err != nil {
		t.Fatal(err)
	}
	if s.aliceInbox, err = w.env.Store.FolderByRole(ctx, w.alice.ID, storage.RoleInbox); err != nil {
		t.Fatal(err)
	}
	folders, err := w.env.Store.Folders(ctx, w.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range folders {
		s.bobFolderIDs = append(s.bobFolderIDs, folders[i].ID)
		if folders[i].Name == bobFolder {
			s.bobSecret = &folders[i]
		}
	}
	if s.bobSecret == nil {
		t.Fatal("bob's folder was not made")
	}
	list := func(acct, folder int64) []storage.Message {
		ms, err := w.env.Store.ListMessages(ctx, acct, folder, storage.ListQuery{Sort: storage.SortUID})
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	s.bobMessages = list(w.bob.ID, s.bobInbox.ID)
	s.bobSecretMessages = list(w.bob.ID, s.bobSecret.ID)
	s.aliceMessages = list(w.alice.ID, s.aliceInbox.ID)
	if len(s.bobMessages) != 3 || len(s.bobSecretMessages) != 1 || len(s.aliceMessages) != 1 {
		t.Fatalf("seeded %d+%d messages for bob, %d for alice", len(s.bobMessages), len(s.bobSecretMessages), len(s.aliceMessages))
	}
	for _, m := range append(append([]storage.Message(nil), s.bobMessages...), s.bobSecretMessages...) {
		s.bobMessageIDs = append(s.bobMessageIDs, m.ID)
	}
	return s
}

// bobUntouched checks bob's mail is as seeded: same messages, same
// folders, flags unchanged.
func (s *seeded) bobUntouched(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	for _, f := range []struct {
		folder *storage.Folder
		want   []storage.Message
	}{{s.bobInbox, s.bobMessages}, {s.bobSecret, s.bobSecretMessages}} {
		got, err := w.env.Store.ListMessages(ctx, w.bob.ID, f.folder.ID, storage.ListQuery{Sort: storage.SortUID})
		if err != nil {
			t.Fatalf("bob's folder %s: %v", f.folder.Name, err)
		}
		if len(got) != len(f.want) {
			t.Fatalf("bob's folder %s has %d messages, had %d", f.folder.Name, len(got), len(f.want))
		}
		for i := range got {
			if got[i].ID != f.want[i].ID || got[i].Flags != f.want[i].Flags || got[i].Keywords != f.want[i].Keywords {
				t.Errorf("bob's message %d changed: %+v → flags %v keywords %q", f.want[i].ID, f.want[i].Flags, got[i].Flags, got[i].Keywords)
			}
		}
	}
	folders, err := w.env.Store.Folders(ctx, w.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(folders) != len(s.bobFolderIDs) {
		t.Errorf("bob has %d folders, had %d", len(folders), len(s.bobFolderIDs))
	}
	for _, f := range folders {
		if f.ID == s.bobSecret.ID && f.Name != bobFolder {
			t.Errorf("bob's folder renamed to %q", f.Name)
		}
	}
}

// noLeak fails when any of the texts carries bob's data.
func noLeak(t *testing.T, door string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, marker := range []string{bobMarker, bobFolder, bobAttach, "bob@example.com", "robert@example.com"} {
			if strings.Contains(s, marker) {
				t.Errorf("%s: alice saw %q in %q", door, marker, s)
			}
		}
	}
}

// IMAP: alice names bob's folders in every form a client could try —
// plain, through "other users" and shared namespaces, relative paths, the
// address — with every mailbox command, and lists with wildcards. Each
// answer is the one for a mailbox that does not exist, and nothing of
// bob's is listed, fetched or changed.
func TestIsolationIMAP(t *testing.T) {
	w := newWorld(t, worldOptions{})
	s := seedMail(t, w)
	c := imapSession(t, w, "127.0.0.2")
	var seen []string
	run := func(tag, format string, args ...any) (untagged []string, done string) {
		untagged, done = c.imapCmd(tag, format, args...)
		seen = append(seen, untagged...)
		seen = append(seen, done)
		return untagged, done
	}

	listed := func(ref, pattern string) []string {
		untagged, done := run("l", "LIST %q %q", ref, pattern)
		if !strings.HasPrefix(done, "OK") && !strings.HasPrefix(done, "NO") && !strings.HasPrefix(done, "BAD") {
			t.Fatalf("LIST %q %q: %q", ref, pattern, done)
		}
		var names []string
		for _, l := range untagged {
			if strings.HasPrefix(l, "* LIST ") {
				names = append(names, l)
			}
		}
		return names
	}
	own := listed("", "*")
	if len(own) == 0 {
		t.Fatal("alice lists no mailbox")
	}
	ownSet := map[string]bool{}
	for _, l := range own {
		ownSet[l] = true
	}
	patterns := [][2]string{
		{"", "%"}, {"", "*"}, {"", "../*"}, {"../", "*"}, {"..", "%"}, {"", "/*"}, {"/", "*"},
		{"", "Other Users/*"}, {"Other Users/", "*"}, {"", "#shared/*"}, {"#shared/", "*"}, {"#shared", "%"},
		{"", "#public/*"}, {"", "~bob/*"}, {"~bob/", "*"}, {"", "bob@example.com/*"}, {"bob@example.com/", "*"},
		{"", "*" + bobFolder + "*"}, {"", "INBOX/../*"}, {"", "%/%"}, {"", "*/*"}, {"bob/", "*"}, {"", "user/bob/*"},
	}
	for _, p := range patterns {
		for _, l := range listed(p[0], p[1]) {
			if !ownSet[l] && !strings.Contains(l, `""`) { // LIST "" "" answers the hierarchy delimiter
				t.Errorf("LIST %q %q listed %q, not one of alice's mailboxes", p[0], p[1], l)
			}
		}
	}
	// NAMESPACE: only the personal namespace.
	ns, _ := run("n", "NAMESPACE")
	if len(ns) != 1 || !strings.HasSuffix(ns[0], " NIL NIL") {
		t.Errorf("NAMESPACE: %q", ns)
	}

	// Every mailbox command, with each name for bob's folder, answers as
	// for a name that does not exist.
	names := []string{
		bobFolder, strings.ToLower(bobFolder), "../bob/" + bobFolder, "../bob/INBOX", "Other Users/bob/INBOX",
		"Other Users/bob/" + bobFolder, "#shared/" + bobFolder, "#public/" + bobFolder, "~bob/" + bobFolder,
		"~bob/INBOX", "bob@example.com/" + bobFolder, "bob@example.com/INBOX", "user/bob/INBOX", "/" + bobFolder,
		"INBOX/../" + bobFolder, "INBOX/../../bob/INBOX",
	}
	if _, done := run("s", "SELECT INBOX"); !strings.HasPrefix(done, "OK") {
		t.Fatalf("SELECT INBOX: %q", done)
	}
	msg := "Subject: into bob's folder\r\n\r\nx\r\n"
	commands := []struct {
		name string
		run  func(mailbox string) string
	}{
		{"STATUS", func(m string) string { _, d := run("a", "STATUS %q (MESSAGES UIDNEXT)", m); return d }},
		{"COPY", func(m string) string { _, d := run("a", "UID COPY 1:* %q", m); return d }},
		{"MOVE", func(m string) string { _, d := run("a", "UID MOVE 999999 %q", m); return d }},
		{"APPEND", func(m string) string {
			c.send("a APPEND %q {%d+}", m, len(msg))
			c.send("%s", msg)
			l := c.line()
			seen = append(seen, l)
			return strings.TrimPrefix(l, "a ")
		}},
		{"DELETE", func(m string) string { _, d := run("a", "DELETE %q", m); return d }},
		{"RENAME", func(m string) string { _, d := run("a", "RENAME %q %q", m, "Stolen"); return d }},
		{"EXAMINE", func(m string) string { _, d := run("a", "EXAMINE %q", m); return d }},
		// Last: SELECT of a missing mailbox leaves nothing selected.
		{"SELECT", func(m string) string { _, d := run("a", "SELECT %q", m); return d }},
	}
	for _, cmd := range commands {
		control := cmd.run("NoSuchMailbox-x7")
		if strings.HasPrefix(control, "OK") {
			t.Fatalf("%s of a missing mailbox succeeded: %q", cmd.name, control)
		}
		for _, name := range names {
			if got := cmd.run(name); got != control {
				t.Errorf("%s %q: %q, but for a missing mailbox %q", cmd.name, name, got, control)
			}
		}
		if cmd.name == "COPY" || cmd.name == "MOVE" || cmd.name == "APPEND" {
			if _, done := run("s", "SELECT INBOX"); !strings.HasPrefix(done, "OK") {
				t.Fatalf("SELECT INBOX: %q", done)
			}
		}
	}

	// UIDs: bob's Inbox has UIDs 1-3, alice's only 1. Fetching bob's UIDs
	// in alice's Inbox gives nothing, sequence numbers beyond hers fail.
	if _, done := run("s", "SELECT INBOX"); !strings.HasPrefix(done, "OK") {
		t.Fatalf("SELECT INBOX: %q", done)
	}
	fetched, _ := run("f", "UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	fetchedText := strings.Join(fetched, "\n")
	if !strings.Contains(fetchedText, aliceSubject) {
		t.Errorf("alice's own message not fetched: %q", fetched)
	}
	run("f", "UID FETCH 2:10 (BODY.PEEK[])")
	run("f", "FETCH 2:3 (BODY.PEEK[])")
	run("f", "UID SEARCH ALL")
	run("f", "UID SEARCH TEXT %q", bobMarker)
	run("f", "UID STORE 2:10 +FLAGS (\\Deleted)")
	run("f", "UID EXPUNGE 2:10")
	run("f", "UNSELECT")

	// LIST-STATUS over everything alice can see.
	run("l", `LIST "" "*" RETURN (STATUS (MESSAGES))`)
	// CREATE of the same name makes alice's own folder, unrelated to bob's.
	if _, done := run("c", "CREATE %q", bobFolder); !strings.HasPrefix(done, "OK") {
		t.Errorf("alice cannot make a folder named like bob's: %q", done)
	}
	st, _ := run("c", "STATUS %q (MESSAGES)", bobFolder)
	if len(st) != 1 || !strings.Contains(st[0], "MESSAGES 0") {
		t.Errorf("alice's new %s is not empty: %q", bobFolder, st)
	}
	// (From here the folder name is alice's own; only bob's content counts.)
	for _, l := range seen {
		if strings.Contains(l, bobMarker) || strings.Contains(l, "bob@example.com") || strings.Contains(l, bobAttach) {
			t.Errorf("IMAP: alice saw %q", l)
		}
	}
	for _, l := range seen[:len(seen)-3] {
		if strings.Contains(l, bobFolder) {
			t.Errorf("IMAP: alice saw bob's folder name in %q", l)
		}
	}
	s.bobUntouched(t, w)
}

// POP3: alice's maildrop holds only her Inbox; message numbers beyond it
// fail like any missing message; bob's login with alice's password and
// alice acting as bob fail.
func TestIsolationPOP3(t *testing.T) {
	w := newWorld(t, worldOptions{})
	s := seedMail(t, w)
	c := dialLines(t, "127.0.0.2", w.pop3sAddr, w.clientTLS)
	c.line()
	c.send("USER %s", w.alice.Address)
	c.line()
	c.send("PASS %s", alicePassword)
	if l := c.line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("PASS: %q", l)
	}
	var seen []string
	multi := func(cmd string) []string {
		c.send("%s", cmd)
		first := c.line()
		seen = append(seen, first)
		if !strings.HasPrefix(first, "+OK") {
			return []string{first}
		}
		out := []string{first}
		for {
			l := c.line()
			seen = append(seen, l)
			if l == "." {
				return out
			}
			out = append(out, l)
		}
	}
	single := func(cmd string) string {
		c.send("%s", cmd)
		l := c.line()
		seen = append(seen, l)
		return l
	}
	if st := single("STAT"); st != fmt.Sprintf("+OK 1 %d", s.aliceMessages[0].Size) && !strings.HasPrefix(st, "+OK 1 ") {
		t.Errorf("STAT: %q", st)
	}
	if l := multi("LIST"); len(l) != 2 {
		t.Errorf("LIST: %q", l)
	}
	if l := multi("UIDL"); len(l) != 2 {
		t.Errorf("UIDL: %q", l)
	}
	multi("RETR 1")
	for _, n := range []string{"2", "3", "4"} {
		control := single("RETR 999")
		for _, cmd := range []string{"RETR " + n, "TOP " + n + " 10", "LIST " + n, "UIDL " + n, "DELE " + n} {
			got := single(cmd)
			if !strings.HasPrefix(got, "-ERR") {
				t.Errorf("%s: %q", cmd, got)
			}
			if strings.HasPrefix(cmd, "RETR") && got != control {
				t.Errorf("%s answered %q, a missing message %q", cmd, got, control)
			}
		}
	}
	single("QUIT")
	noLeak(t, "POP3", seen...)

	for _, try := range []struct{ user, pass string }{{w.bob.Address, alicePassword}, {"bob", alicePassword}, {w.bobAlias, alicePassword}} {
		if got := pop3Login(t, w, "127.0.0.2", try.user, try.pass); got != rejected {
			t.Errorf("POP3 login %s with alice's password: %s", try.user, got)
		}
	}
	s.bobUntouched(t, w)
}

// SMTP submission: alice may not send as bob — not in the envelope, not
// in From: or Sender:, not through bob's alias, a sub-address or another
// spelling — and the refusal for bob's address is the one for an address
// nobody owns.
func TestIsolationSMTPSendAs(t *testing.T) {
	w := newWorld(t, worldOptions{})
	s := seedMail(t, w)
	c := dialLines(t, "127.0.0.2", w.submissionsAddr, w.clientTLS)
	c.smtpReply()
	c.smtpCmd("EHLO alice.example")
	if r := c.smtpCmd("AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+w.alice.Address+"\x00"+alicePassword))); !strings.HasPrefix(r, "235") {
		t.Fatalf("AUTH: %q", r)
	}
	code := regexp.MustCompile(`^\d{3} [0-9.]+ `)
	control := c.smtpCmd("MAIL FROM:<nobody-at-all@example.com>")
	if strings.HasPrefix(control, "250") {
		t.Fatalf("sending as an address nobody owns was accepted: %q", control)
	}
	for _, from := range []string{"bob@example.com", "BOB@Example.COM", "bob+tag@example.com", w.bobAlias, " bob@example.com"} {
		got := c.smtpCmd("MAIL FROM:<%s>", strings.TrimSpace(from))
		if strings.HasPrefix(got, "250") {
			t.Errorf("MAIL FROM:<%s> accepted", from)
			c.smtpCmd("RSET")
			continue
		}
		if code.FindString(got) != code.FindString(control) || got != control {
			t.Errorf("MAIL FROM:<%s>: %q, for an address nobody owns %q", from, got, control)
		}
	}
	for _, header := range []string{
		"From: bob@example.com", "From: Bob <bob@example.com>", "From: alice@example.com, bob@example.com",
		"From: alice@example.com\r\nSender: bob@example.com", "From: " + w.bobAlias, "From: <BOB@EXAMPLE.COM>",
	} {
		if r := c.smtpCmd("MAIL FROM:<alice@example.com>"); !strings.HasPrefix(r, "250") {
			t.Fatalf("MAIL FROM alice: %q", r)
		}
		if r := c.smtpCmd("RCPT TO:<bob@example.com>"); !strings.HasPrefix(r, "250") {
			t.Fatalf("RCPT: %q", r)
		}
		if r := c.smtpCmd("DATA"); !strings.HasPrefix(r, "354") {
			t.Fatalf("DATA: %q", r)
		}
		if r := c.smtpCmd("%s\r\nTo: bob@example.com\r\nSubject: spoof\r\n\r\nspoofed\r\n.", header); strings.HasPrefix(r, "250") {
			t.Errorf("message with %q accepted", header)
		}
	}
	s.bobUntouched(t, w) // nothing arrived in bob's Inbox
}

// REST API: a read token changes nothing, on any write route, whether the
// object exists or not (the answer is the same), and a user's mail
// password is no API credential.
func TestIsolationAPI(t *testing.T) {
	w := newWorld(t, worldOptions{})
	s := seedMail(t, w)
	hc := w.httpClient("127.0.0.2")
	base := "https://" + w.httpsAddr + "/api/v1"
	ctx := context.Background()
	if err := w.env.Dir.AddGroup(ctx, "team@example.com", "Team"); err != nil {
		t.Fatal(err)
	}
	if err := w.env.Dir.AddGroupMember(ctx, "team@example.com", w.bob.Address); err != nil {
		t.Fatal(err)
	}
	type attempt struct{ method, path, body string }
	writes := func(account, group, queueID string) []attempt {
		return []attempt{
			{http.MethodPost, "/accounts", `{"address":"mallory@example.com","password":"long-enough-1"}`},
			{http.MethodPatch, "/accounts/" + account, `{"display_name":"owned"}`},
			{http.MethodDelete, "/accounts/" + account, ""},
			{http.MethodPut, "/accounts/" + account + "/password", `{"password":"taken-over-1"}`},
			{http.MethodPut, "/accounts/" + account + "/quota", `{"quota_bytes":1}`},
			{http.MethodPost, "/accounts/" + account + "/disable", ""},
			{http.MethodPost, "/accounts/" + account + "/enable", ""},
			{http.MethodPost, "/domains", `{"name":"evil.example"}`},
			{http.MethodDelete, "/domains/example.com", ""},
			{http.MethodPost, "/aliases", `{"alias":"steal@example.com","account":"` + account + `"}`},
			{http.MethodDelete, "/aliases/" + w.bobAlias, ""},
			{http.MethodPost, "/groups", `{"address":"all@example.com"}`},
			{http.MethodDelete, "/groups/" + group, ""},
			{http.MethodPost, "/groups/" + group + "/members", `{"member":"alice@example.com"}`},
			{http.MethodDelete, "/groups/" + group + "/members/bob@example.com", ""},
			{http.MethodPost, "/queue/" + queueID + "/retry", ""},
			{http.MethodDelete, "/queue/" + queueID, ""},
		}
	}
	do := func(token string, a attempt) (int, string) {
		var body *strings.Reader
		if a.body != "" {
			body = strings.NewReader(a.body)
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(a.method, base+a.path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		if a.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Header.Get("WWW-Authenticate"))
		return resp.StatusCode, b.String()
	}
	existing := writes(fmt.Sprint(w.bob.ID), "team@example.com", "1")
	missing := writes("99999999", "nogroup@example.com", "99999999")
	for i := range existing {
		gotE, hdrE := do(w.token, existing[i])
		gotM, hdrM := do(w.token, missing[i])
		if gotE != http.StatusForbidden {
			t.Errorf("read token: %s %s answered %d", existing[i].method, existing[i].path, gotE)
		}
		if gotE != gotM || hdrE != hdrM {
			t.Errorf("read token: %s %s answered %d %q for an existing object, %d %q for a missing one",
				existing[i].method, existing[i].path, gotE, hdrE, gotM, hdrM)
		}
	}
	// A user's password is no API credential, in any form.
	for _, auth := range []string{
		"Bearer " + alicePassword, "Basic " + base64.StdEncoding.EncodeToString([]byte(w.alice.Address+":"+alicePassword)),
	} {
		req, _ := http.NewRequest(http.MethodGet, base+"/accounts", nil)
		req.Header.Set("Authorization", auth)
		if code := status(t, hc, req); code != http.StatusUnauthorized {
			t.Errorf("API with %q: %d", strings.Fields(auth)[0], code)
		}
	}
	// Nothing changed: bob still logs in with his password, his alias
	// still works, mallory does not exist.
	if got := imapLogin(t, w, "127.0.0.3", w.bob.Address, bobPassword); got != accepted {
		t.Errorf("bob after the read token's attempts: %s", got)
	}
	if _, err := w.env.Dir.AccountByAddress(ctx, "mallory@example.com"); err == nil {
		t.Error("a read token created an account")
	}
	if res, err := w.env.Dir.Resolve(ctx, w.bobAlias); err != nil || len(res.Accounts) != 1 || res.Accounts[0].ID != w.bob.ID {
		t.Errorf("bob's alias changed: %+v %v", res, err)
	}
	s.bobUntouched(t, w)
}

// webClient is a signed-in webmail session: its cookie jar and CSRF token.
type webClient struct {
	t    *testing.T
	w    *world
	hc   *http.Client
	csrf string
}

func (w *world) webSession(t *testing.T, src, login, password string) *webClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	code, body := w.webSignIn(t, src, login, password, jar)
	if code != http.StatusOK {
		t.Fatalf("webmail sign-in of %s: %d %s", login, code, body)
	}
	var s struct {
		CSRF string `json:"csrf"`
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil || s.CSRF == "" {
		t.Fatalf("sign-in answer: %v %s", err, body)
	}
	hc := w.httpClient(src)
	hc.Jar = jar
	return &webClient{t: t, w: w, hc: hc, csrf: s.CSRF}
}

// do sends a webmail API request and returns the status and the body.
func (c *webClient) do(method, path string, body any) (int, string) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "https://"+c.w.httpsAddr+"/web/api"+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// Webmail: bob's message, attachment and folder ids, in every route that
// takes one (including as the source of a reply or a kept attachment),
// answer exactly like an id that does not exist; a search finds nothing
// of bob's; nothing of bob's changes.
func TestIsolationWebmail(t *testing.T) {
	w := newWorld(t, worldOptions{})
	s := seedMail(t, w)
	alice := w.webSession(t, "127.0.0.2", w.alice.Address, alicePassword)
	const missing = int64(987654321)
	// same checks that an attempt with bob's id answers like one with an
	// id that does not exist, and leaks nothing.
	same := func(what string, attempt func(id int64) (int, string), bobID int64) {
		t.Helper()
		// (An answer to a message that is gone is sent as a new message,
		// so some attempts succeed; then bob's must succeed the same way
		// and take nothing of his.)
		wantCode, wantBody := attempt(missing)
		gotCode, gotBody := attempt(bobID)
		if gotCode != wantCode || gotBody != wantBody {
			t.Errorf("%s with bob's id %d: %d %s; with a missing id: %d %s", what, bobID, gotCode, gotBody, wantCode, wantBody)
		}
		noLeak(t, "webmail "+what, gotBody)
	}
	aliceMsg := s.aliceMessages[0].ID
	for _, m := range s.bobMessageIDs {
		for _, path := range []string{"", "/body", "/parts/2", "/parts/1", "/raw", "/thread", "/compose?mode=reply", "/compose?mode=forward"} {
			same("GET /messages/{id}"+path, func(id int64) (int, string) {
				p, q, _ := strings.Cut(path, "?")
				url := fmt.Sprintf("/messages/%d%s", id, p)
				if q != "" {
					url += "?" + q
				}
				return alice.do(http.MethodGet, url, nil)
			}, m)
		}
		same("flags", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/messages/flags", map[string]any{"ids": []int64{id}, "add": []string{"flagged", "seen"}})
		}, m)
		same("flags with one of alice's", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/messages/flags", map[string]any{"ids": []int64{aliceMsg, id}, "add": []string{"deleted"}})
		}, m)
		for _, op := range []string{"move", "copy"} {
			same(op+" bob's message to alice's Inbox", func(id int64) (int, string) {
				return alice.do(http.MethodPost, "/messages/"+op, map[string]any{"ids": []int64{id}, "folder": s.aliceInbox.ID})
			}, m)
		}
		same("delete", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/messages/delete", map[string]any{"ids": []int64{id}})
		}, m)
		same("reply to bob's message", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/send", map[string]any{"to": "alice@example.com", "subject": "re", "body": "x", "ref": id, "mode": "reply"})
		}, m)
		same("keep bob's attachment", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/send", map[string]any{"to": "alice@example.com", "subject": "fw", "body": "x",
				"keep": []map[string]any{{"message": id, "part": "2"}}})
		}, m)
		same("draft replacing bob's message", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/drafts", map[string]any{"to": "alice@example.com", "subject": "d", "body": "x", "draft": id})
		}, m)
	}
	for _, f := range s.bobFolderIDs {
		same("list folder", func(id int64) (int, string) {
			return alice.do(http.MethodGet, fmt.Sprintf("/folders/%d/messages", id), nil)
		}, f)
		same("rename folder", func(id int64) (int, string) {
			return alice.do(http.MethodPatch, fmt.Sprintf("/folders/%d", id), map[string]any{"name": "Stolen"})
		}, f)
		same("create folder inside", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/folders", map[string]any{"name": "Planted", "parent": id})
		}, f)
		same("move alice's message into", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/messages/move", map[string]any{"ids": []int64{aliceMsg}, "folder": id})
		}, f)
		same("copy alice's message into", func(id int64) (int, string) {
			return alice.do(http.MethodPost, "/messages/copy", map[string]any{"ids": []int64{aliceMsg}, "folder": id})
		}, f)
		same("search in folder", func(id int64) (int, string) {
			return alice.do(http.MethodGet, fmt.Sprintf("/search?q=%s&folder=%d", bobMarker, id), nil)
		}, f)
		same("delete folder", func(id int64) (int, string) { return alice.do(http.MethodDelete, fmt.Sprintf("/folders/%d", id), nil) }, f)
	}
	// What alice can list and search is hers.
	for _, path := range []string{"/folders", "/search?q=" + bobMarker, "/search?q=bob", "/folders/" + fmt.Sprint(s.aliceInbox.ID) + "/messages"} {
		code, body := alice.do(http.MethodGet, path, nil)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
		noLeak(t, "webmail GET "+path, body)
	}
	// Everything alice sent herself above carries nothing of bob's
	// (no quoted text, no attachment, no In-Reply-To naming his message).
	ctx := context.Background()
	folders, err := w.env.Store.Folders(ctx, w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		ms, err := w.env.Store.ListMessages(ctx, w.alice.ID, f.ID, storage.ListQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			raw, err := w.env.Store.ReadBlob(ctx, m.BlobHash)
			if err != nil {
				t.Fatal(err)
			}
			noLeak(t, "webmail: alice's "+f.Name, string(raw))
		}
	}
	// Sending as bob is refused.
	if code, body := alice.do(http.MethodPost, "/send", map[string]any{"from": w.bob.Address, "to": "alice@example.com", "subject": "spoof", "body": "x"}); code < 400 {
		t.Errorf("webmail sent as bob: %d %s", code, body)
	}
	s.bobUntouched(t, w)
}

// Webmail sessions: a cookie that was never issued, one of a session that
// signed out, and another session's cookie with this session's CSRF token
// get nowhere; signing in never keeps a cookie the client brought.
func TestIsolationWebmailSessions(t *testing.T) {
	w := newWorld(t, worldOptions{})
	seedMail(t, w)
	alice := w.webSession(t, "127.0.0.2", w.alice.Address, alicePassword)
	bob := w.webSession(t, "127.0.0.3", w.bob.Address, bobPassword)
	base, _ := url.Parse("https://" + w.httpsAddr + "/")
	cookies := func(c *webClient) []*http.Cookie { return c.hc.Jar.Cookies(base) }
	if len(cookies(alice)) == 0 || len(cookies(bob)) == 0 {
		t.Fatal("no session cookies")
	}
	with := func(cks []*http.Cookie, csrf string) *webClient {
		jar, _ := cookiejar.New(nil)
		jar.SetCookies(base, cks)
		hc := w.httpClient("127.0.0.4")
		hc.Jar = jar
		return &webClient{t: t, w: w, hc: hc, csrf: csrf}
	}
	forged := []*http.Cookie{}
	for _, ck := range cookies(alice) {
		f := *ck
		f.Value = strings.Repeat("A", len(ck.Value))
		forged = append(forged, &f)
	}
	if code, body := with(forged, alice.csrf).do(http.MethodGet, "/folders", nil); code != http.StatusUnauthorized {
		t.Errorf("a forged cookie: %d %s", code, body)
	}
	// Bob's cookie with alice's CSRF token cannot change anything.
	if code, body := with(cookies(bob), alice.csrf).do(http.MethodPost, "/folders", map[string]any{"name": "ViaCSRF"}); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("bob's cookie with alice's CSRF token: %d %s", code, body)
	}
	// Bob signs out: his old cookie is dead.
	old := cookies(bob)
	if code, body := bob.do(http.MethodPost, "/logout", nil); code >= 300 {
		t.Fatalf("logout: %d %s", code, body)
	}
	if code, body := with(old, bob.csrf).do(http.MethodGet, "/folders", nil); code != http.StatusUnauthorized {
		t.Errorf("a signed-out session's cookie: %d %s", code, body)
	}
	// Session fixation: signing in with a cookie already set gives a new one.
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(base, cookies(alice))
	before := jar.Cookies(base)[0].Value
	if code, body := w.webSignIn(t, "127.0.0.5", w.bob.Address, bobPassword, jar); code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	if after := jar.Cookies(base)[0].Value; after == before {
		t.Error("sign-in kept the session cookie the client brought")
	}
	folders, err := w.env.Store.Folders(context.Background(), w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if f.Name == "ViaCSRF" {
			t.Error("a cross-session request created a folder")
		}
	}
}
