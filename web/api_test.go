package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
	"github.com/pochta/pochta/web"
)

func TestLoginSessionLogout(t *testing.T) {
	h := newHarness(t)
	c := h.client()

	res := c.login("alice@example.com", "wrong password")
	res.mustStatus(t, http.StatusUnauthorized)
	if res.problemCode() != "auth-failed" {
		t.Errorf("wrong password: code %q", res.problemCode())
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("problem content type %q", ct)
	}
	c.do(http.MethodGet, "/web/api/session", nil, false).mustStatus(t, http.StatusUnauthorized)

	res = c.login("alice@example.com", password).mustStatus(t, http.StatusOK)
	var sess struct {
		Account struct {
			Address string `json:"address"`
			Name    string `json:"name"`
		} `json:"account"`
		CSRF      string   `json:"csrf"`
		Addresses []string `json:"addresses"`
	}
	res.json(t, &sess)
	if sess.Account.Address != "alice@example.com" || sess.Account.Name != "Alice Archer" || sess.CSRF == "" || len(sess.Addresses) == 0 {
		t.Errorf("session: %+v", sess)
	}
	cookies := (&http.Response{Header: res.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", res.header["Set-Cookie"])
	}
	ck := cookies[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" {
		t.Errorf("cookie attributes over plain HTTP: %+v", ck)
	}
	c.do(http.MethodGet, "/web/api/session", nil, false).mustStatus(t, http.StatusOK)

	c.do(http.MethodPost, "/web/api/logout", nil, true).mustStatus(t, http.StatusNoContent)
	c.do(http.MethodGet, "/web/api/session", nil, false).mustStatus(t, http.StatusUnauthorized)
	c.do(http.MethodGet, "/web/api/folders", nil, false).mustStatus(t, http.StatusUnauthorized)
}

func TestSecureCookieOption(t *testing.T) {
	h := newHarness(t, harnessOptions{configure: func(o *web.Options) { o.SecureCookies = true }})
	res := h.client().login("alice@example.com", password).mustStatus(t, http.StatusOK)
	ck := (&http.Response{Header: res.header}).Cookies()[0]
	if !ck.Secure {
		t.Errorf("SecureCookies did not mark the cookie Secure: %+v", ck)
	}
}

func TestLoginRefusesCrossSiteAndForms(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	form := strings.NewReader(url.Values{"login": {"alice@example.com"}, "password": {password}}.Encode())
	res := c.do(http.MethodPost, "/web/api/login", form, false, "application/x-www-form-urlencoded")
	res.mustStatus(t, http.StatusUnsupportedMediaType)

	req, _ := http.NewRequest(http.MethodPost, h.url+"/web/api/login", strings.NewReader(`{"login":"alice@example.com","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example.net")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin sign-in: status %d", r.StatusCode)
	}
}

func TestLoginThrottled(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	var res *response
	for i := 0; i < 8; i++ {
		res = c.login("alice@example.com", fmt.Sprintf("guess %d", i))
		if res.status == http.StatusTooManyRequests {
			break
		}
		res.mustStatus(t, http.StatusUnauthorized)
	}
	res.mustStatus(t, http.StatusTooManyRequests)
	if res.header.Get("Retry-After") == "" || res.problemCode() != "throttled" {
		t.Errorf("throttled answer: %v %s", res.header, res.body)
	}
	// Even the right password is refused while throttled.
	c.login("alice@example.com", password).mustStatus(t, http.StatusTooManyRequests)
}

// TestCSRFRequired: every state-changing request needs the session's token.
func TestCSRFRequired(t *testing.T) {
	h := newHarness(t)
	h.env.Deliver(t, []byte("From: x@example.org\r\nSubject: hello\r\n\r\nhi\r\n"), h.alice.ID)
	c := h.client()
	c.mustLogin("alice@example.com")
	inbox := c.folderByRole(storage.RoleInbox)
	msgs := c.list(inbox.ID)
	if len(msgs) != 1 {
		t.Fatalf("inbox: %+v", msgs)
	}
	id := msgs[0].ID
	flags := map[string]any{"ids": []int64{id}, "add": []string{"flagged"}}

	for _, tc := range []struct {
		name  string
		token string
	}{{"no token", ""}, {"wrong token", "x" + c.csrf[1:]}, {"another session's token", ""}} {
		tok := tc.token
		if tc.name == "another session's token" {
			other := h.client()
			other.mustLogin("alice@example.com")
			tok = other.csrf
		}
		saved := c.csrf
		c.csrf = tok
		res := c.do(http.MethodPost, "/web/api/messages/flags", flags, tok != "")
		c.csrf = saved
		res.mustStatus(t, http.StatusForbidden)
		if res.problemCode() != "csrf" {
			t.Errorf("%s: code %q", tc.name, res.problemCode())
		}
	}
	if msgs := c.list(inbox.ID); msgs[0].Flagged {
		t.Fatal("a refused request changed the message")
	}
	// Every unsafe route is behind the check, the logout and uploads too.
	for _, r := range []struct{ method, path string }{
		{http.MethodPost, "/web/api/logout"},
		{http.MethodPost, "/web/api/folders"},
		{http.MethodPatch, fmt.Sprintf("/web/api/folders/%d", inbox.ID)},
		{http.MethodDelete, fmt.Sprintf("/web/api/folders/%d", inbox.ID)},
		{http.MethodPost, "/web/api/messages/move"},
		{http.MethodPost, "/web/api/messages/copy"},
		{http.MethodPost, "/web/api/messages/delete"},
		{http.MethodPost, "/web/api/send"},
		{http.MethodPost, "/web/api/drafts"},
	} {
		res := c.do(r.method, r.path, map[string]any{}, false)
		if res.status != http.StatusForbidden || res.problemCode() != "csrf" {
			t.Errorf("%s %s without token: %d %s", r.method, r.path, res.status, res.body)
		}
	}
	c.do(http.MethodGet, "/web/api/session", nil, false).mustStatus(t, http.StatusOK)
	c.do(http.MethodPost, "/web/api/messages/flags", flags, true).mustStatus(t, http.StatusOK)
	if msgs := c.list(inbox.ID); !msgs[0].Flagged {
		t.Fatal("the request with the token did not flag the message")
	}
}

// TestOtherAccountIsNotFound: another account's ids answer exactly like
// ids that do not exist.
func TestOtherAccountIsNotFound(t *testing.T) {
	h := newHarness(t)
	raw := "From: x@example.org\r\nSubject: bob's secret\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecret\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=s.pdf\r\n\r\n%PDF\r\n--b--\r\n"
	h.env.Deliver(t, []byte(raw), h.bob.ID)
	h.env.Deliver(t, []byte("From: x@example.org\r\nSubject: alice's\r\n\r\nmine\r\n"), h.alice.ID)

	bobc := h.client()
	bobc.mustLogin("bob@example.com")
	bobInbox := bobc.folderByRole(storage.RoleInbox)
	bobMsg := bobc.list(bobInbox.ID)[0].ID

	c := h.client()
	c.mustLogin("alice@example.com")
	inbox := c.folderByRole(storage.RoleInbox)
	mine := c.list(inbox.ID)[0].ID
	const missing = 999999

	gets := []string{"/web/api/messages/%d", "/web/api/messages/%d/body", "/web/api/messages/%d/parts/2",
		"/web/api/messages/%d/raw", "/web/api/messages/%d/thread", "/web/api/messages/%d/compose?mode=reply",
		"/web/api/folders/%d/messages"}
	for _, g := range gets {
		id := bobMsg
		if strings.HasPrefix(g, "/web/api/folders") {
			id = bobInbox.ID
		}
		theirs := c.do(http.MethodGet, fmt.Sprintf(g, id), nil, false)
		none := c.do(http.MethodGet, fmt.Sprintf(g, missing), nil, false)
		if theirs.status != http.StatusNotFound || !bytes.Equal(theirs.body, none.body) {
			t.Errorf("GET %s: another account's id gives %d %s; a missing one %d %s", g, theirs.status, theirs.body, none.status, none.body)
		}
	}
	posts := []struct {
		path string
		body func(id int64) any
	}{
		{"/web/api/messages/flags", func(id int64) any { return map[string]any{"ids": []int64{mine, id}, "add": []string{"seen"}} }},
		{"/web/api/messages/move", func(id int64) any { return map[string]any{"ids": []int64{id}, "folder": inbox.ID} }},
		{"/web/api/messages/copy", func(id int64) any { return map[string]any{"ids": []int64{id}, "folder": inbox.ID} }},
		{"/web/api/messages/delete", func(id int64) any { return map[string]any{"ids": []int64{id}} }},
		{"/web/api/messages/move", func(int64) any { return map[string]any{"ids": []int64{mine}, "folder": bobInbox.ID} }},
		{"/web/api/send", func(id int64) any {
			return map[string]any{"to": "bob@example.com", "subject": "x", "keep": []map[string]any{{"message": id, "part": "2"}}}
		}},
		{"/web/api/drafts", func(id int64) any { return map[string]any{"subject": "x", "draft": id} }},
	}
	for _, p := range posts {
		theirs := c.do(http.MethodPost, p.path, p.body(bobMsg), true)
		none := c.do(http.MethodPost, p.path, p.body(missing), true)
		if theirs.status != http.StatusNotFound || !bytes.Equal(theirs.body, none.body) {
			t.Errorf("POST %s: another account's id gives %d %s; a missing one %d %s", p.path, theirs.status, theirs.body, none.status, none.body)
		}
	}
	for _, m := range []string{http.MethodPatch, http.MethodDelete} {
		res := c.do(m, fmt.Sprintf("/web/api/folders/%d", bobInbox.ID), map[string]any{"name": "x"}, true)
		if res.status != http.StatusNotFound {
			t.Errorf("%s bob's folder: %d", m, res.status)
		}
	}
	c.do(http.MethodPost, "/web/api/folders", map[string]any{"name": "x", "parent": bobInbox.ID}, true).mustStatus(t, http.StatusNotFound)
	res := c.do(http.MethodGet, fmt.Sprintf("/web/api/search?q=secret&folder=%d", bobInbox.ID), nil, false)
	res.mustStatus(t, http.StatusNotFound)
	var found struct {
		Messages []summary `json:"messages"`
	}
	c.do(http.MethodGet, "/web/api/search?q=secret", nil, false).mustStatus(t, http.StatusOK).json(t, &found)
	if len(found.Messages) != 0 {
		t.Errorf("search across folders found bob's message: %+v", found.Messages)
	}
	// Bob's message is untouched.
	if got := bobc.list(bobInbox.ID); len(got) != 1 || got[0].Seen {
		t.Errorf("bob's inbox changed: %+v", got)
	}
}

// TestSendReplyDraftsAndFlags: alice writes to bob with an attachment,
// bob answers from the webmail, drafts replace each other and leave when
// sent.
func TestSendReplyDraftsAndFlags(t *testing.T) {
	h := newHarness(t)
	alice, bob := h.client(), h.client()
	alice.mustLogin("alice@example.com")
	bob.mustLogin("bob@example.com")

	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 250}, 3000)...)
	res := alice.sendForm("/web/api/send", map[string]any{
		"to": "Bob Baker <bob@example.com>", "cc": "", "subject": "Quarterly report ✓", "body": "Hello Bob,\n\nsee the attachment.\n",
	}, map[string][]byte{"report.pdf": pdf}).mustStatus(t, http.StatusOK)
	var sent struct {
		Delivered int `json:"delivered"`
	}
	res.json(t, &sent)
	if sent.Delivered != 1 {
		t.Fatalf("send result %s", res.body)
	}
	sentItems := alice.list(alice.folderByRole(storage.RoleSent).ID)
	if len(sentItems) != 1 || sentItems[0].Subject != "Quarterly report ✓" || !sentItems[0].Seen {
		t.Fatalf("Sent Items: %+v", sentItems)
	}
	inbox := bob.folderByRole(storage.RoleInbox)
	got := bob.list(inbox.ID)
	if len(got) != 1 || !got[0].Attachment || got[0].FromAddr != "alice@example.com" {
		t.Fatalf("bob's inbox: %+v", got)
	}
	var detail struct {
		Text        string `json:"text"`
		Attachments []struct {
			Part, Name, Type, URL string
		} `json:"attachments"`
		Bcc []struct{ Address string } `json:"bcc"`
	}
	bob.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d", got[0].ID), nil, false).mustStatus(t, http.StatusOK).json(t, &detail)
	if !strings.Contains(detail.Text, "see the attachment.") || len(detail.Attachments) != 1 || detail.Attachments[0].Name != "report.pdf" || detail.Attachments[0].Type != "application/pdf" {
		t.Fatalf("detail: %+v", detail)
	}
	dl := bob.do(http.MethodGet, detail.Attachments[0].URL, nil, false).mustStatus(t, http.StatusOK)
	if !bytes.Equal(dl.body, pdf) {
		t.Errorf("downloaded %d bytes, sent %d", len(dl.body), len(pdf))
	}
	if dl.header.Get("Content-Type") != "application/pdf" || dl.header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment") || !strings.Contains(dl.header.Get("Content-Disposition"), "report.pdf") {
		t.Errorf("download headers: %v", dl.header)
	}

	// Bob replies; the compose form is filled in for him.
	var form struct {
		To, Cc, Subject, Body, Mode string
		Ref                         int64
	}
	bob.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d/compose?mode=reply", got[0].ID), nil, false).mustStatus(t, http.StatusOK).json(t, &form)
	if form.To != "Alice Archer <alice@example.com>" || form.Subject != "Re: Quarterly report ✓" || !strings.Contains(form.Body, "> see the attachment.") {
		t.Fatalf("reply form: %+v", form)
	}
	form.Body = "Thanks!" + form.Body
	bob.sendForm("/web/api/send", map[string]any{"to": form.To, "subject": form.Subject, "body": form.Body, "mode": form.Mode, "ref": form.Ref}, nil).mustStatus(t, http.StatusOK)
	if got := bob.list(inbox.ID); !got[0].Answered {
		t.Error("the answered message is not marked answered")
	}
	aliceInbox := alice.list(alice.folderByRole(storage.RoleInbox).ID)
	if len(aliceInbox) != 1 || aliceInbox[0].Subject != "Re: Quarterly report ✓" {
		t.Fatalf("alice's inbox: %+v", aliceInbox)
	}
	m, err := h.env.Store.MessageByID(context.Background(), h.alice.ID, aliceInbox[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := message.Unmarshal(m.Parsed)
	orig, _ := h.env.Store.MessageByID(context.Background(), h.bob.ID, got[0].ID)
	if p.InReplyTo == "" || p.InReplyTo != orig.MessageIDHeader {
		t.Errorf("In-Reply-To %q, want %q", p.InReplyTo, orig.MessageIDHeader)
	}

	// Drafts: saving twice leaves one; Bcc survives in the draft only.
	drafts := alice.folderByRole(storage.RoleDrafts)
	var d1, d2 struct {
		ID int64 `json:"id"`
	}
	alice.sendForm("/web/api/drafts", map[string]any{"to": "bob@example.com", "bcc": "carol@example.net", "subject": "Draft one", "body": "first"},
		map[string][]byte{"notes.txt": []byte("notes\n")}).mustStatus(t, http.StatusOK).json(t, &d1)
	var draftForm struct {
		To, Bcc, Subject, Body string
		Draft                  int64
		Attachments            []struct {
			Message int64  `json:"message"`
			Part    string `json:"part"`
			Name    string `json:"name"`
		}
	}
	alice.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d/compose?mode=draft", d1.ID), nil, false).mustStatus(t, http.StatusOK).json(t, &draftForm)
	if draftForm.Bcc != "carol@example.net" || draftForm.Draft != d1.ID || len(draftForm.Attachments) != 1 || draftForm.Attachments[0].Name != "notes.txt" {
		t.Fatalf("draft form: %+v", draftForm)
	}
	keep := []map[string]any{{"message": draftForm.Attachments[0].Message, "part": draftForm.Attachments[0].Part}}
	alice.sendForm("/web/api/drafts", map[string]any{"to": "bob@example.com", "subject": "Draft two", "body": "second", "draft": d1.ID, "keep": keep}, nil).mustStatus(t, http.StatusOK).json(t, &d2)
	if list := alice.list(drafts.ID); len(list) != 1 || list[0].ID != d2.ID || list[0].Subject != "Draft two" || !list[0].Attachment {
		t.Fatalf("drafts after replacing: %+v", list)
	}
	alice.sendForm("/web/api/send", map[string]any{"to": "bob@example.com", "subject": "Draft two", "body": "second", "draft": d2.ID, "keep": []map[string]any{{"message": d2.ID, "part": "2"}}}, nil).mustStatus(t, http.StatusOK)
	if list := alice.list(drafts.ID); len(list) != 0 {
		t.Fatalf("the sent draft stayed: %+v", list)
	}
	if got := bob.list(inbox.ID); len(got) != 2 || got[0].Subject != "Draft two" || !got[0].Attachment {
		t.Fatalf("bob did not get the draft: %+v", got)
	}

	// Nothing to nobody, and a sender one does not own, are refused.
	alice.sendForm("/web/api/send", map[string]any{"subject": "x"}, nil).mustStatus(t, http.StatusUnprocessableEntity)
	alice.sendForm("/web/api/send", map[string]any{"to": "not an address", "subject": "x"}, nil).mustStatus(t, http.StatusUnprocessableEntity)
	res = alice.sendForm("/web/api/send", map[string]any{"from": "bob@example.com", "to": "bob@example.com", "subject": "x"}, nil)
	res.mustStatus(t, http.StatusUnprocessableEntity)
	res = alice.sendForm("/web/api/send", map[string]any{"to": "nobody@example.com", "subject": "x"}, nil)
	if res.status != http.StatusUnprocessableEntity || res.problemCode() != "send-failed" {
		t.Errorf("unknown local recipient: %d %s", res.status, res.body)
	}
	big := bytes.Repeat([]byte("x"), 3<<20)
	alice.sendForm("/web/api/send", map[string]any{"to": "bob@example.com", "subject": "big"}, map[string][]byte{"big.bin": big}).mustStatus(t, http.StatusRequestEntityTooLarge)
}

func TestFoldersMoveCopyDelete(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.env.Deliver(t, []byte(fmt.Sprintf("From: x@example.org\r\nSubject: m%d\r\n\r\nbody %d\r\n", i, i)), h.alice.ID)
	}
	c := h.client()
	c.mustLogin("alice@example.com")
	inbox := c.folderByRole(storage.RoleInbox)
	if inbox.Unread != 3 || inbox.Total != 3 {
		t.Fatalf("inbox counts: %+v", inbox)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	c.do(http.MethodPost, "/web/api/folders", map[string]any{"name": "Projects"}, true).mustStatus(t, http.StatusCreated).json(t, &created)
	c.do(http.MethodPost, "/web/api/folders", map[string]any{"name": "Projects"}, true).mustStatus(t, http.StatusConflict)
	c.do(http.MethodPost, "/web/api/folders", map[string]any{"name": "a/b"}, true).mustStatus(t, http.StatusUnprocessableEntity)
	var sub struct {
		ID int64 `json:"id"`
	}
	c.do(http.MethodPost, "/web/api/folders", map[string]any{"name": "2025", "parent": created.ID}, true).mustStatus(t, http.StatusCreated).json(t, &sub)

	msgs := c.list(inbox.ID)
	c.do(http.MethodPost, "/web/api/messages/move", map[string]any{"ids": []int64{msgs[0].ID}, "folder": created.ID}, true).mustStatus(t, http.StatusOK)
	c.do(http.MethodPost, "/web/api/messages/copy", map[string]any{"ids": []int64{msgs[1].ID}, "folder": sub.ID}, true).mustStatus(t, http.StatusOK)
	if n := len(c.list(inbox.ID)); n != 2 {
		t.Errorf("inbox after move: %d", n)
	}
	if l := c.list(created.ID); len(l) != 1 || l[0].Subject != msgs[0].Subject {
		t.Errorf("Projects: %+v", l)
	}
	if l := c.list(sub.ID); len(l) != 1 || l[0].Subject != msgs[1].Subject {
		t.Errorf("Projects/2025: %+v", l)
	}
	// Delete moves to Deleted Items; from there it is gone.
	trash := c.folderByRole(storage.RoleDeleted)
	c.do(http.MethodPost, "/web/api/messages/delete", map[string]any{"ids": []int64{msgs[1].ID}}, true).mustStatus(t, http.StatusOK)
	tl := c.list(trash.ID)
	if len(tl) != 1 || tl[0].Subject != msgs[1].Subject {
		t.Fatalf("Deleted Items: %+v", tl)
	}
	c.do(http.MethodPost, "/web/api/messages/delete", map[string]any{"ids": []int64{tl[0].ID}}, true).mustStatus(t, http.StatusOK)
	if tl := c.list(trash.ID); len(tl) != 0 {
		t.Fatalf("Deleted Items after deleting there: %+v", tl)
	}
	// Rename, refuse special folders, delete.
	c.do(http.MethodPatch, fmt.Sprintf("/web/api/folders/%d", created.ID), map[string]any{"name": "Work"}, true).mustStatus(t, http.StatusNoContent)
	c.do(http.MethodPatch, fmt.Sprintf("/web/api/folders/%d", inbox.ID), map[string]any{"name": "Post"}, true).mustStatus(t, http.StatusUnprocessableEntity)
	c.do(http.MethodDelete, fmt.Sprintf("/web/api/folders/%d", inbox.ID), nil, true).mustStatus(t, http.StatusUnprocessableEntity)
	c.do(http.MethodPatch, fmt.Sprintf("/web/api/folders/%d", created.ID), map[string]any{"name": "Work", "parent": sub.ID}, true).mustStatus(t, http.StatusUnprocessableEntity)
	names := map[string]bool{}
	for _, f := range c.folders() {
		names[f.Name] = true
	}
	if !names["Work"] || names["Projects"] || !names["2025"] {
		t.Errorf("folders after rename: %v", names)
	}
	c.do(http.MethodDelete, fmt.Sprintf("/web/api/folders/%d", created.ID), nil, true).mustStatus(t, http.StatusNoContent)
	for _, f := range c.folders() {
		if f.ID == created.ID || f.ID == sub.ID {
			t.Errorf("deleted folder %q still listed", f.Name)
		}
		if f.Role == storage.RoleCalendar || f.Role == storage.RoleContacts {
			t.Errorf("non-mail folder %q listed", f.Name)
		}
	}
	// Flags: read and unread.
	m := c.list(inbox.ID)[0]
	c.do(http.MethodPost, "/web/api/messages/flags", map[string]any{"ids": []int64{m.ID}, "add": []string{"seen", "flagged"}}, true).mustStatus(t, http.StatusOK)
	if f := c.folderByRole(storage.RoleInbox); f.Total != 1 || f.Unread != 0 {
		t.Errorf("inbox after marking its one message read: %+v", f)
	}
	c.do(http.MethodPost, "/web/api/messages/flags", map[string]any{"ids": []int64{m.ID}, "remove": []string{"seen"}}, true).mustStatus(t, http.StatusOK)
	if f := c.folderByRole(storage.RoleInbox); f.Unread != 1 {
		t.Errorf("unread after marking unread: %d", f.Unread)
	}
	c.do(http.MethodPost, "/web/api/messages/flags", map[string]any{"ids": []int64{m.ID}, "add": []string{"bogus"}}, true).mustStatus(t, http.StatusUnprocessableEntity)
}

func TestSearch(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("filler words here. ", 200) + "the needle phrase at the end"
	h.env.Deliver(t, []byte("From: Carol <carol@example.org>\r\nSubject: Budget 2025\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\n\r\n"+long+"\r\n"), h.alice.ID)
	h.env.Deliver(t, []byte("From: Dave <dave@example.org>\r\nSubject: Lunch\r\n\r\nSandwiches?\r\n"), h.alice.ID)
	h.env.Deliver(t, []byte("From: Dave <dave@example.org>\r\nSubject: Budget questions\r\nContent-Type: text/html\r\n\r\n<p>Is the <b>needle</b> in?</p>\r\n"), h.alice.ID)
	c := h.client()
	c.mustLogin("alice@example.com")
	search := func(q url.Values) []string {
		t.Helper()
		var res struct {
			Messages []summary `json:"messages"`
		}
		c.do(http.MethodGet, "/web/api/search?"+q.Encode(), nil, false).mustStatus(t, http.StatusOK).json(t, &res)
		var out []string
		for _, m := range res.Messages {
			out = append(out, m.Subject)
		}
		return out
	}
	eq := func(got []string, want ...string) bool { return strings.Join(got, "|") == strings.Join(want, "|") }
	if got := search(url.Values{"q": {"needle"}}); !eq(got, "Budget questions", "Budget 2025") {
		t.Errorf("body text (beyond the preview, and in HTML): %v", got)
	}
	if got := search(url.Values{"from": {"dave"}}); !eq(got, "Budget questions", "Lunch") {
		t.Errorf("from: %v", got)
	}
	if got := search(url.Values{"subject": {"budget"}, "from": {"carol"}}); !eq(got, "Budget 2025") {
		t.Errorf("subject and from: %v", got)
	}
	if got := search(url.Values{"body": {"SANDWICHES"}}); !eq(got, "Lunch") {
		t.Errorf("body: %v", got)
	}
	tomorrow := time.Now().Add(24 * time.Hour).UTC().Format("2006-01-02")
	if got := search(url.Values{"since": {tomorrow}}); len(got) != 0 {
		t.Errorf("since tomorrow: %v", got)
	}
	if got := search(url.Values{"before": {tomorrow}, "q": {"lunch"}}); !eq(got, "Lunch") {
		t.Errorf("before tomorrow: %v", got)
	}
	sent := c.folderByRole(storage.RoleSent)
	if got := search(url.Values{"q": {"needle"}, "folder": {fmt.Sprint(sent.ID)}}); len(got) != 0 {
		t.Errorf("scoped to Sent Items: %v", got)
	}
	// Paging with the cursor.
	var page struct {
		Messages []summary `json:"messages"`
		Cursor   string    `json:"cursor"`
	}
	c.do(http.MethodGet, "/web/api/search?q=budget&limit=1", nil, false).mustStatus(t, http.StatusOK).json(t, &page)
	if len(page.Messages) != 1 || page.Cursor == "" {
		t.Fatalf("first page: %+v", page)
	}
	first := page.Messages[0].Subject
	c.do(http.MethodGet, "/web/api/search?q=budget&limit=1&cursor="+url.QueryEscape(page.Cursor), nil, false).mustStatus(t, http.StatusOK).json(t, &page)
	if len(page.Messages) != 1 || page.Messages[0].Subject == first {
		t.Fatalf("second page: %+v", page)
	}
	c.do(http.MethodGet, "/web/api/search?q=x&cursor=bogus", nil, false).mustStatus(t, http.StatusUnprocessableEntity)
	c.do(http.MethodGet, "/web/api/search?since=yesterday", nil, false).mustStatus(t, http.StatusUnprocessableEntity)
}

func TestHTMLBodyIsSandboxed(t *testing.T) {
	h := newHarness(t)
	raw := "From: x@example.org\r\nSubject: html\r\nContent-Type: multipart/related; boundary=r\r\n\r\n" +
		"--r\r\nContent-Type: text/html\r\n\r\n" +
		`<html><head><script>alert(1)</script><style>body{background:url(http://remote.example/bg)}</style></head>` +
		`<body onload="alert(2)"><p style="color:red;width:expression(alert(3))">Hi</p>` +
		`<img src="http://remote.example/pixel.gif"><img src="cid:logo@x"><a href="javascript:alert(4)">x</a>` +
		`<a href="https://example.org/page">link</a></body></html>` + "\r\n" +
		"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n"
	h.env.Deliver(t, []byte(raw), h.alice.ID)
	c := h.client()
	c.mustLogin("alice@example.com")
	id := c.list(c.folderByRole(storage.RoleInbox).ID)[0].ID
	var d struct {
		HTML         bool   `json:"html"`
		BodyURL      string `json:"body_url"`
		RemoteImages int    `json:"remote_images"`
	}
	c.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d", id), nil, false).mustStatus(t, http.StatusOK).json(t, &d)
	if !d.HTML || d.RemoteImages != 1 {
		t.Fatalf("detail: %+v", d)
	}
	res := c.do(http.MethodGet, d.BodyURL, nil, false).mustStatus(t, http.StatusOK)
	csp := res.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "img-src data:;", "style-src 'unsafe-inline'", "sandbox"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") || strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") {
		t.Errorf("CSP allows scripts or the same origin: %q", csp)
	}
	body := string(res.body)
	for _, bad := range []string{"<script", "alert(", "onload", "javascript:", "expression", "remote.example"} {
		if strings.Contains(body, bad) {
			t.Errorf("sanitised body contains %q:\n%s", bad, body)
		}
	}
	for _, want := range []string{"data:image/png;base64,iVBORw0KGgo=", `href="https://example.org/page"`, `rel="noopener noreferrer nofollow"`, "color: red"} {
		if !strings.Contains(body, want) {
			t.Errorf("sanitised body lacks %q:\n%s", want, body)
		}
	}
	res = c.do(http.MethodGet, d.BodyURL+"?remote=1", nil, false).mustStatus(t, http.StatusOK)
	if !strings.Contains(string(res.body), "http://remote.example/pixel.gif") || !strings.Contains(res.header.Get("Content-Security-Policy"), "img-src data: https: http:") {
		t.Errorf("remote images allowed: %s / %s", res.header.Get("Content-Security-Policy"), res.body)
	}
	// The application itself is served under a strict CSP.
	app := c.do(http.MethodGet, "/", nil, false).mustStatus(t, http.StatusOK)
	if csp := app.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("application CSP: %q", csp)
	}
	c.do(http.MethodGet, "/web/assets/js/app.js", nil, false).mustStatus(t, http.StatusOK)
	res = c.do(http.MethodPut, "/web/api/messages/flags", nil, true)
	if res.status != http.StatusMethodNotAllowed || res.problemCode() != "method-not-allowed" || res.header.Get("Allow") != "POST" {
		t.Errorf("wrong method: %d %v %s", res.status, res.header, res.body)
	}
	if res := c.do(http.MethodGet, "/web/api/nothing/here", nil, false); res.status != http.StatusNotFound || res.problemCode() != "not-found" {
		t.Errorf("unknown path: %d %s", res.status, res.body)
	}
	c.do(http.MethodGet, "/web/assets/../server.go", nil, false).mustStatus(t, http.StatusNotFound)
}

// TestEventsStream: a delivery shows up on the event stream.
func TestEventsStream(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	c.mustLogin("alice@example.com")
	inbox := c.folderByRole(storage.RoleInbox)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/web/api/events", nil)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %v", res.StatusCode, res.Header)
	}
	type event struct {
		name string
		data string
	}
	events := make(chan event, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(res.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			case line == "" && ev.name != "":
				events <- ev
				ev = event{}
			}
		}
		close(events)
	}()
	next := func() event {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return ev
		case <-time.After(20 * time.Second):
			t.Fatal("no event")
		}
		return event{}
	}
	if ev := next(); ev.name != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	h.env.Deliver(t, []byte("From: x@example.org\r\nSubject: live\r\n\r\nnew\r\n"), h.alice.ID)
	h.env.Deliver(t, []byte("From: x@example.org\r\nSubject: for bob\r\n\r\nnot alice's\r\n"), h.bob.ID)
	ev := next()
	var ch struct {
		Folders []int64 `json:"folders"`
		Added   []int64 `json:"added"`
	}
	if err := json.Unmarshal([]byte(ev.data), &ch); err != nil || ev.name != "changes" {
		t.Fatalf("event %+v: %v", ev, err)
	}
	if len(ch.Folders) != 1 || ch.Folders[0] != inbox.ID || len(ch.Added) != 1 {
		t.Fatalf("changes %+v", ch)
	}
	// Shutdown ends the stream.
	if err := h.web.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.name == "changes" {
			t.Errorf("bob's delivery reached alice's stream: %+v", ev)
		}
	}
	wg.Wait()
}

func TestRecipientsFromDirectory(t *testing.T) {
	h := newHarness(t)
	h.addUser("carol@example.com", "Carol Clark")
	c := h.client()
	c.mustLogin("alice@example.com")
	var res struct {
		Recipients []struct {
			Name, Address, Source string
		} `json:"recipients"`
	}
	c.do(http.MethodGet, "/web/api/recipients?q=car", nil, false).mustStatus(t, http.StatusOK).json(t, &res)
	if len(res.Recipients) != 1 || res.Recipients[0].Address != "carol@example.com" || res.Recipients[0].Name != "Carol Clark" || res.Recipients[0].Source != "directory" {
		t.Errorf("suggestions: %+v", res.Recipients)
	}
}

// failingDir answers like a directory whose LDAP server is down.
type failingDir struct {
	directory.Directory
	down bool
}

func (d *failingDir) Authenticate(ctx context.Context, login, pw string) (*directory.Account, error) {
	if d.down {
		return nil, directory.ErrUnavailable
	}
	return d.Directory.Authenticate(ctx, login, pw)
}

func (d *failingDir) Addresses(ctx context.Context, id int64) ([]string, error) {
	if d.down {
		panic("directory exploded")
	}
	return d.Directory.Addresses(ctx, id)
}

func TestDirectoryDownAndPanics(t *testing.T) {
	fd := &failingDir{}
	h := newHarness(t, harnessOptions{configure: func(o *web.Options) { fd.Directory = o.Directory; o.Directory = fd }})
	c := h.client()
	c.mustLogin("alice@example.com")
	fd.down = true
	other := h.client()
	res := other.login("alice@example.com", password)
	if res.status != http.StatusServiceUnavailable || res.problemCode() != "unavailable" || res.header.Get("Retry-After") == "" {
		t.Errorf("sign-in with the directory down: %d %v %s", res.status, res.header, res.body)
	}
	res = c.do(http.MethodGet, "/web/api/session", nil, false)
	if res.status != http.StatusInternalServerError || res.problemCode() != "internal" || strings.Contains(string(res.body), "exploded") {
		t.Errorf("panicking handler: %d %s", res.status, res.body)
	}
	fd.down = false
	c.do(http.MethodGet, "/web/api/session", nil, false).mustStatus(t, http.StatusOK)
}

func TestSessionExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h := newHarness(t, harnessOptions{configure: func(o *web.Options) {
		o.Now, o.SessionIdleTimeout, o.SessionLifetime = clock, time.Hour, 3*time.Hour
	}})
	c := h.client()
	c.mustLogin("alice@example.com")
	advance(50 * time.Minute)
	c.do(http.MethodGet, "/web/api/folders", nil, false).mustStatus(t, http.StatusOK)
	// Background requests do not keep the session alive.
	advance(50 * time.Minute)
	req, _ := http.NewRequest(http.MethodGet, h.url+"/web/api/folders", nil)
	req.Header.Set("X-Pochta-Background", "1")
	r, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("background request: %d", r.StatusCode)
	}
	advance(20 * time.Minute)
	c.do(http.MethodGet, "/web/api/folders", nil, false).mustStatus(t, http.StatusUnauthorized)

	// The lifetime ends a session in use.
	c.mustLogin("alice@example.com")
	for i := 0; i < 3; i++ {
		advance(50 * time.Minute)
		c.do(http.MethodGet, "/web/api/folders", nil, false).mustStatus(t, http.StatusOK)
	}
	advance(50 * time.Minute)
	c.do(http.MethodGet, "/web/api/folders", nil, false).mustStatus(t, http.StatusUnauthorized)

	// A disabled account loses its sessions at the next check.
	c.mustLogin("alice@example.com")
	if err := h.env.Dir.SetDisabled(context.Background(), h.alice.ID, true); err != nil {
		t.Fatal(err)
	}
	advance(6 * time.Minute)
	c.do(http.MethodGet, "/web/api/folders", nil, false).mustStatus(t, http.StatusUnauthorized)
}

// TestComposePrefill: reply-all leaves out one's own addresses, forward
// takes the attachments along and marks the original forwarded.
func TestComposePrefill(t *testing.T) {
	h := newHarness(t)
	h.addUser("carol@example.com", "Carol Clark")
	raw := "From: Dave <dave@example.org>\r\nReply-To: team@example.org\r\nTo: Alice Archer <alice@example.com>, Carol Clark <carol@example.com>\r\n" +
		"Cc: erin@example.org, alice@example.com\r\nSubject: Plan\r\nDate: Tue, 04 Mar 2025 09:30:00 +0000\r\nMessage-ID: <plan@example.org>\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>The <b>plan</b></p>\r\n" +
		"--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=chart.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n"
	h.env.Deliver(t, []byte(raw), h.alice.ID)
	c := h.client()
	c.mustLogin("alice@example.com")
	id := c.list(c.folderByRole(storage.RoleInbox).ID)[0].ID
	type form struct {
		From, To, Cc, Subject, Body, Mode string
		Ref                               int64
		Attachments                       []struct {
			Message int64  `json:"message"`
			Part    string `json:"part"`
			Name    string `json:"name"`
			Type    string `json:"type"`
		}
	}
	var f form
	c.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d/compose?mode=reply-all", id), nil, false).mustStatus(t, http.StatusOK).json(t, &f)
	if f.To != "team@example.org, Carol Clark <carol@example.com>" || f.Cc != "erin@example.org" || f.Subject != "Re: Plan" || f.From != "alice@example.com" {
		t.Errorf("reply-all form: %+v", f)
	}
	if !strings.Contains(f.Body, "On Tue, 04 Mar 2025 09:30:00 +0000, Dave <dave@example.org> wrote:\n> The plan") {
		t.Errorf("quoted HTML body: %q", f.Body)
	}
	c.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d/compose?mode=forward", id), nil, false).mustStatus(t, http.StatusOK).json(t, &f)
	if f.To != "" || f.Subject != "Fwd: Plan" || len(f.Attachments) != 1 || f.Attachments[0].Name != "chart.png" || !strings.Contains(f.Body, "---------- Forwarded message ----------\nFrom: Dave <dave@example.org>") {
		t.Fatalf("forward form: %+v", f)
	}
	keep := []map[string]any{{"message": f.Attachments[0].Message, "part": f.Attachments[0].Part}}
	c.sendForm("/web/api/send", map[string]any{"to": "carol@example.com", "subject": f.Subject, "body": f.Body, "mode": f.Mode, "ref": f.Ref, "keep": keep}, nil).mustStatus(t, http.StatusOK)
	var d struct {
		Forwarded bool `json:"forwarded"`
		Answered  bool `json:"answered"`
	}
	c.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d", id), nil, false).mustStatus(t, http.StatusOK).json(t, &d)
	if !d.Forwarded || d.Answered {
		t.Errorf("original after forwarding: %+v", d)
	}
	carol := h.client()
	carol.mustLogin("carol@example.com")
	got := carol.list(carol.folderByRole(storage.RoleInbox).ID)
	if len(got) != 1 {
		t.Fatalf("carol's inbox: %+v", got)
	}
	var fwd struct {
		Attachments []struct{ Name, Type string } `json:"attachments"`
	}
	carol.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d", got[0].ID), nil, false).mustStatus(t, http.StatusOK).json(t, &fwd)
	if len(fwd.Attachments) != 1 || fwd.Attachments[0].Name != "chart.png" || fwd.Attachments[0].Type != "image/png" {
		t.Errorf("forwarded attachments: %+v", fwd.Attachments)
	}
	// The reply's Sent Items copy joins the original's conversation; the
	// forward, without In-Reply-To, does not.
	c.sendForm("/web/api/send", map[string]any{"to": "carol@example.com", "subject": "Re: Plan", "body": "ok", "mode": "reply-all", "ref": id}, nil).mustStatus(t, http.StatusOK)
	var th struct {
		Messages []summary `json:"messages"`
	}
	c.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d/thread", id), nil, false).mustStatus(t, http.StatusOK).json(t, &th)
	if len(th.Messages) != 2 || th.Messages[0].ID != id || th.Messages[1].Subject != "Re: Plan" {
		t.Errorf("thread: %+v", th.Messages)
	}
	c.do(http.MethodGet, fmt.Sprintf("/web/api/messages/%d/compose?mode=bogus", id), nil, false).mustStatus(t, http.StatusUnprocessableEntity)
}
