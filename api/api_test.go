package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/storage"
)

// TestAPI drives every route of the document with its successes and its
// errors, on sqlite and on PostgreSQL, validating every live response
// against openapi.json; at the end every documented status of every
// operation must have been seen (429, 500 and 503 have their own tests).
func TestAPI(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			h := newHarness(t, harnessOptions{postgres: backend == "postgres", maxBody: 64 << 10})
			t.Run("auth", h.testAuthSweep)
			t.Run("tls-required", h.testTLSRequiredSweep)
			t.Run("bodies", h.testBodySweep)
			t.Run("meta", h.testMeta)
			t.Run("status", func(t *testing.T) { h.testStatus(t, backend) })
			t.Run("accounts", h.testAccounts)
			t.Run("directory-managed", h.testDirectoryManaged)
			t.Run("domains", h.testDomains)
			t.Run("aliases", h.testAliases)
			t.Run("groups", h.testGroups)
			t.Run("queue", h.testQueue)
			t.Run("trace", h.testTrace)
			t.Run("delete-account", h.testDeleteAccount)
			t.Run("logging", h.testLogging)
			if !t.Failed() {
				h.checkCoverage(t, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable)
			}
		})
	}
}

// samplePath fills a path template with plausible values of resources that
// do not exist.
func samplePath(path string) string {
	return strings.NewReplacer("{account}", "nobody@example.com", "{domain}", "nowhere.example", "{alias}", "alias@nowhere.example",
		"{group}", "group@nowhere.example", "{member}", "member@nowhere.example", "{id}", "999999", "{type}", "validation").Replace(path)
}

func opScope(t *testing.T, method, path string) string {
	doc, _ := loadSpec(t)
	op := doc.Paths.Value(path).GetOperation(method)
	return strings.Trim(fmt.Sprint(op.Extensions["x-pochta-scope"]), `"`)
}

// testAuthSweep: every protected route refuses a missing, malformed or
// unknown token, and every admin route refuses a read token.
func (h *harness) testAuthSweep(t *testing.T) {
	unknown := "pochta_0123456789abcdef_" + strings.Repeat("A", 43)
	for _, key := range operations(t) {
		method, path, _ := strings.Cut(key, " ")
		scope := opScope(t, method, path)
		p := samplePath(path)
		if scope == "public" {
			continue
		}
		r := h.do(t, method, p, "", nil)
		expectProblem(t, r, http.StatusUnauthorized, "unauthenticated")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", key, r.Header.Get("WWW-Authenticate"))
		}
		for _, bad := range []string{"not-a-token", unknown} {
			r = h.do(t, method, p, bad, nil)
			expectProblem(t, r, http.StatusUnauthorized, "invalid-token")
			if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%s: WWW-Authenticate %q", key, r.Header.Get("WWW-Authenticate"))
			}
		}
		// Basic is not accepted, even with a real token as the password.
		req, _ := http.NewRequest(method, h.base+p, nil)
		req.SetBasicAuth("admin", h.admin)
		res, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with Basic auth: %d", key, res.StatusCode)
		}
		switch scope {
		case "admin":
			r = h.do(t, method, p, h.read, nil)
			expectProblem(t, r, http.StatusForbidden, "insufficient-scope")
			if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Errorf("%s: WWW-Authenticate %q", key, r.Header.Get("WWW-Authenticate"))
			}
		case "read":
		default:
			t.Errorf("%s: x-pochta-scope %q", key, scope)
		}
	}
}

// testBodySweep: every route with a body refuses malformed JSON, a
// non-JSON content type, an oversized body and an unknown member (with the
// member named).
func (h *harness) testBodySweep(t *testing.T) {
	doc, _ := loadSpec(t)
	for _, key := range operations(t) {
		method, path, _ := strings.Cut(key, " ")
		if doc.Paths.Value(path).GetOperation(method).RequestBody == nil {
			continue
		}
		p := samplePath(path)
		t.Run(key, func(t *testing.T) {
			expectProblem(t, h.do(t, method, p, h.admin, raw{[]byte(`{"address":`), "application/json"}), http.StatusBadRequest, "bad-request")
			expectProblem(t, h.do(t, method, p, h.admin, raw{nil, "application/json"}), http.StatusBadRequest, "bad-request")
			expectProblem(t, h.do(t, method, p, h.admin, raw{[]byte(`[]`), "application/json"}), http.StatusBadRequest, "bad-request")
			expectProblem(t, h.do(t, method, p, h.admin, raw{[]byte(`{} {}`), "application/json"}), http.StatusBadRequest, "bad-request")
			expectProblem(t, h.do(t, method, p, h.admin, raw{[]byte(`address=x`), "application/x-www-form-urlencoded"}), http.StatusUnsupportedMediaType, "unsupported-media-type")
			big := []byte(`{"address":"` + strings.Repeat("a", 70<<10) + `"}`)
			expectProblem(t, h.do(t, method, p, h.admin, raw{big, "application/json"}), http.StatusRequestEntityTooLarge, "request-too-large")
			expectField(t, h.do(t, method, p, h.admin, map[string]any{"bogus": 1}), "body", "bogus")
		})
	}
}

func (h *harness) testMeta(t *testing.T) {
	r := h.do(t, http.MethodGet, "/openapi.json", "", nil)
	expect(t, r, http.StatusOK)
	if string(r.Body) != string(OpenAPIDocument()) {
		t.Fatal("served document differs from the embedded one")
	}
	for _, pt := range ProblemTypes {
		r := h.do(t, http.MethodGet, "/problems/"+pt.Slug, "", nil)
		expect(t, r, http.StatusOK)
		var d struct {
			Type   string
			Status int
			Title  string
		}
		r.decode(t, &d)
		if d.Type != pt.URI() || d.Status != pt.Status || d.Title != pt.Title {
			t.Errorf("problem type %s described as %+v", pt.Slug, d)
		}
	}
	expectProblem(t, h.do(t, http.MethodGet, "/problems/no-such-problem", "", nil), http.StatusNotFound, "not-found")

	// Paths and methods the API does not have answer with problems too.
	expectProblem(t, h.do(t, http.MethodGet, "/no/such/thing", h.admin, nil), http.StatusNotFound, "not-found")
	r = h.do(t, http.MethodPut, "/accounts", h.admin, nil)
	expectProblem(t, r, http.StatusMethodNotAllowed, "method-not-allowed")
	if allow := r.Header.Get("Allow"); allow != "GET, POST" {
		t.Errorf("Allow %q", allow)
	}
}

func (h *harness) testStatus(t *testing.T, backend string) {
	r := h.do(t, http.MethodGet, "/status", h.read, nil)
	expect(t, r, http.StatusOK)
	var st struct {
		Version       string `json:"version"`
		UptimeSeconds int64  `json:"uptime_seconds"`
		Listeners     []Listener
		Store         struct {
			Backend string
			Healthy bool
		}
		Directory struct {
			Kind    string
			Healthy bool
		}
	}
	r.decode(t, &st)
	if st.Version != "test-1" || st.UptimeSeconds < 90 || len(st.Listeners) != 2 || st.Listeners[0].Name != "smtp" {
		t.Errorf("status %+v", st)
	}
	if st.Store.Backend != backend || !st.Store.Healthy || st.Directory.Kind != "local" || !st.Directory.Healthy {
		t.Errorf("status parts %+v", st)
	}
}

func (h *harness) account(t *testing.T, ref string) *accountJSON {
	t.Helper()
	r := h.do(t, http.MethodGet, "/accounts/"+ref, h.read, nil)
	expect(t, r, http.StatusOK)
	var a accountJSON
	r.decode(t, &a)
	return &a
}

func (h *harness) createAccount(t *testing.T, body map[string]any) *accountJSON {
	t.Helper()
	r := h.do(t, http.MethodPost, "/accounts", h.admin, body)
	expect(t, r, http.StatusCreated)
	var a accountJSON
	r.decode(t, &a)
	if want := fmt.Sprintf("%s/accounts/%d", Prefix, a.ID); r.Header.Get("Location") != want {
		t.Errorf("Location %q, want %q", r.Header.Get("Location"), want)
	}
	return &a
}

func (h *harness) authenticates(t *testing.T, login, password string) bool {
	t.Helper()
	_, err := h.env.Dir.Authenticate(context.Background(), login, password)
	if err != nil && !errors.Is(err, directory.ErrAuthFailed) {
		t.Fatal(err)
	}
	return err == nil
}

func (h *harness) testAccounts(t *testing.T) {
	ctx := context.Background()
	alice := h.createAccount(t, map[string]any{"address": " Alice@Example.com", "password": "correct horse", "display_name": "Alice",
		"department": "Board", "quota_bytes": 1000000})
	if alice.Address != "alice@example.com" || alice.DisplayName != "Alice" || alice.Department != "Board" || alice.Source != "local" ||
		alice.ReadOnly || alice.QuotaBytes == nil || *alice.QuotaBytes != 1000000 || *alice.UsedBytes != 0 {
		t.Fatalf("created %+v", alice)
	}
	// Real at once: the password works and the mailbox with its folders exists.
	if !h.authenticates(t, "alice@example.com", "correct horse") {
		t.Fatal("new account cannot log in")
	}
	if _, err := h.env.Store.FolderByRole(ctx, alice.ID, storage.RoleInbox); err != nil {
		t.Fatalf("no inbox: %v", err)
	}
	h.createAccount(t, map[string]any{"address": "bob@example.com", "password": "bob's password"})
	h.createAccount(t, map[string]any{"address": "carol@example.com", "password": "carol's password", "display_name": "Carol Bobbins"})

	// Conflict on a duplicate address, whatever its case.
	p := expectProblem(t, h.do(t, http.MethodPost, "/accounts", h.admin, map[string]any{"address": "ALICE@example.com", "password": "another one"}),
		http.StatusConflict, "already-exists")
	if !strings.Contains(p.Detail, "alice@example.com") {
		t.Errorf("detail %q", p.Detail)
	}

	// Validation names every bad field.
	r := h.do(t, http.MethodPost, "/accounts", h.admin, map[string]any{"address": "not-an-address", "password": "short", "display_name": "x\x00y", "quota_bytes": -1})
	p = expectProblem(t, r, http.StatusUnprocessableEntity, "validation")
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.In+":"+e.Field)
	}
	slices.Sort(fields)
	if want := []string{"body:address", "body:display_name", "body:password", "body:quota_bytes"}; !slices.Equal(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}
	expectField(t, h.do(t, http.MethodPost, "/accounts", h.admin, map[string]any{"address": 5, "password": "long enough"}), "body", "address")
	expectField(t, h.do(t, http.MethodPost, "/accounts", h.admin, map[string]any{"address": "dave@example.com"}), "body", "password")
	if _, err := h.env.Dir.AccountByAddress(ctx, "dave@example.com"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("refused account exists: %v", err)
	}

	// Read by address and by id.
	if a := h.account(t, "alice@example.com"); a.ID != alice.ID {
		t.Fatalf("by address: %+v", a)
	}
	if a := h.account(t, fmt.Sprint(alice.ID)); a.Address != "alice@example.com" {
		t.Fatalf("by id: %+v", a)
	}
	expectProblem(t, h.do(t, http.MethodGet, "/accounts/nobody@example.com", h.read, nil), http.StatusNotFound, "not-found")
	expectProblem(t, h.do(t, http.MethodGet, "/accounts/987654", h.read, nil), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodGet, "/accounts/"+url.PathEscape("no address"), h.read, nil), "path", "account")

	// List: pages cover everyone once, search narrows.
	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		q := "/accounts?limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := h.do(t, http.MethodGet, q, h.read, nil)
		expect(t, r, http.StatusOK)
		var pg page[accountJSON]
		r.decode(t, &pg)
		if len(pg.Items) > 2 {
			t.Fatalf("page of %d", len(pg.Items))
		}
		for _, a := range pg.Items {
			all = append(all, a.Address)
		}
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	if want := []string{"alice@example.com", "bob@example.com", "carol@example.com"}; !slices.Equal(all, want) {
		t.Fatalf("paged %v, want %v", all, want)
	}
	r = h.do(t, http.MethodGet, "/accounts?search=BOB", h.read, nil)
	expect(t, r, http.StatusOK)
	var pg page[accountJSON]
	r.decode(t, &pg)
	if len(pg.Items) != 2 || pg.Items[0].Address != "bob@example.com" || pg.Items[1].Address != "carol@example.com" {
		t.Fatalf("search bob (address or name): %+v", pg.Items)
	}
	expectField(t, h.do(t, http.MethodGet, "/accounts?limit=0", h.read, nil), "query", "limit")
	expectField(t, h.do(t, http.MethodGet, "/accounts?cursor=bm9wZQ", h.read, nil), "query", "cursor")

	// Update: present members change, absent ones stay.
	r = h.do(t, http.MethodPatch, "/accounts/alice@example.com", h.admin, map[string]any{"display_name": "Alice Liddell", "title": "CEO"})
	expect(t, r, http.StatusOK)
	var a accountJSON
	r.decode(t, &a)
	if a.DisplayName != "Alice Liddell" || a.Title != "CEO" || a.Department != "Board" {
		t.Fatalf("patched %+v", a)
	}
	r = h.do(t, http.MethodPatch, "/accounts/alice@example.com", h.admin, map[string]any{"disabled": true})
	expect(t, r, http.StatusOK)
	if h.authenticates(t, "alice@example.com", "correct horse") {
		t.Fatal("disabled by PATCH, still logs in")
	}
	h.do(t, http.MethodPatch, "/accounts/alice@example.com", h.admin, map[string]any{"disabled": false})
	expectField(t, h.do(t, http.MethodPatch, "/accounts/alice@example.com", h.admin, map[string]any{"title": 5}), "body", "title")
	expectField(t, h.do(t, http.MethodPatch, "/accounts/alice@example.com", h.admin, map[string]any{"phone": strings.Repeat("9", 300)}), "body", "phone")
	expectProblem(t, h.do(t, http.MethodPatch, "/accounts/nobody@example.com", h.admin, map[string]any{"title": "x"}), http.StatusNotFound, "not-found")

	// Disable and enable.
	r = h.do(t, http.MethodPost, "/accounts/alice@example.com/disable", h.admin, nil)
	expect(t, r, http.StatusOK)
	r.decode(t, &a)
	if !a.Disabled || h.authenticates(t, "alice@example.com", "correct horse") {
		t.Fatal("disable did not take")
	}
	r = h.do(t, http.MethodPost, "/accounts/alice@example.com/enable", h.admin, nil)
	expect(t, r, http.StatusOK)
	r.decode(t, &a)
	if a.Disabled || !h.authenticates(t, "alice@example.com", "correct horse") {
		t.Fatal("enable did not take")
	}
	for _, op := range []string{"disable", "enable"} {
		expectProblem(t, h.do(t, http.MethodPost, "/accounts/nobody@example.com/"+op, h.admin, nil), http.StatusNotFound, "not-found")
		expectField(t, h.do(t, http.MethodPost, "/accounts/@@/"+op, h.admin, nil), "path", "account")
	}

	// Password.
	expect(t, h.do(t, http.MethodPut, "/accounts/alice@example.com/password", h.admin, map[string]any{"password": "through the looking glass"}), http.StatusNoContent)
	if !h.authenticates(t, "alice@example.com", "through the looking glass") || h.authenticates(t, "alice@example.com", "correct horse") {
		t.Fatal("password change did not take")
	}
	expectField(t, h.do(t, http.MethodPut, "/accounts/alice@example.com/password", h.admin, map[string]any{}), "body", "password")
	expectField(t, h.do(t, http.MethodPut, "/accounts/alice@example.com/password", h.admin, map[string]any{"password": "short"}), "body", "password")
	expectProblem(t, h.do(t, http.MethodPut, "/accounts/nobody@example.com/password", h.admin, map[string]any{"password": "long enough"}), http.StatusNotFound, "not-found")

	// Quota.
	r = h.do(t, http.MethodPut, "/accounts/alice@example.com/quota", h.admin, map[string]any{"quota_bytes": 5000000})
	expect(t, r, http.StatusOK)
	r.decode(t, &a)
	if mb, err := h.env.Store.Mailbox(ctx, alice.ID); err != nil || mb.QuotaBytes != 5000000 || *a.QuotaBytes != 5000000 {
		t.Fatalf("quota: %+v %v %+v", mb, err, a)
	}
	expectField(t, h.do(t, http.MethodPut, "/accounts/alice@example.com/quota", h.admin, map[string]any{"quota_bytes": -1}), "body", "quota_bytes")
	expectField(t, h.do(t, http.MethodPut, "/accounts/alice@example.com/quota", h.admin, map[string]any{}), "body", "quota_bytes")
	expectField(t, h.do(t, http.MethodPut, "/accounts/alice@example.com/quota", h.admin, map[string]any{"quota_bytes": "5G"}), "body", "quota_bytes")
	expectProblem(t, h.do(t, http.MethodPut, "/accounts/nobody@example.com/quota", h.admin, map[string]any{"quota_bytes": 1}), http.StatusNotFound, "not-found")

	// Mailbox statistics after a delivery.
	msg := []byte("From: x@remote.example\r\nTo: alice@example.com\r\nSubject: hi\r\nMessage-ID: <stats@remote.example>\r\n\r\nhello\r\n")
	h.env.Deliver(t, msg, alice.ID)
	r = h.do(t, http.MethodGet, "/accounts/alice@example.com/mailbox", h.read, nil)
	expect(t, r, http.StatusOK)
	var mb mailboxJSON
	r.decode(t, &mb)
	if mb.AccountID != alice.ID || mb.Messages != 1 || mb.Unseen != 1 || mb.UsedBytes != int64(len(msg)) || mb.QuotaBytes != 5000000 ||
		mb.QuotaUsedPercent == nil || *mb.QuotaUsedPercent <= 0 {
		t.Fatalf("mailbox %+v", mb)
	}
	var inbox *folderJSON
	for i := range mb.Folders {
		if mb.Folders[i].Role == storage.RoleInbox {
			inbox = &mb.Folders[i]
		}
	}
	if inbox == nil || inbox.Path != "Inbox" || inbox.Messages != 1 || inbox.Bytes != int64(len(msg)) || len(mb.Folders) < 5 {
		t.Fatalf("folders %+v", mb.Folders)
	}
	expectProblem(t, h.do(t, http.MethodGet, "/accounts/nobody@example.com/mailbox", h.read, nil), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodGet, "/accounts/x@-/mailbox", h.read, nil), "path", "account")
}

// testDirectoryManaged: an account of the external directory is read-only
// except for its quota, and the API says why.
func (h *harness) testDirectoryManaged(t *testing.T) {
	ctx := context.Background()
	acc, err := h.env.Dir.AddAccount(ctx, directory.NewAccount{Address: "ldapuser@example.com", DisplayName: "From LDAP", Source: "ldap", ExternalID: "0f8b-uuid"})
	if err != nil {
		t.Fatal(err)
	}
	a := h.account(t, "ldapuser@example.com")
	if !a.ReadOnly || a.Source != "ldap" || a.QuotaBytes != nil {
		t.Fatalf("ldap account %+v", a)
	}
	expectProblem(t, h.do(t, http.MethodGet, "/accounts/ldapuser@example.com/mailbox", h.read, nil), http.StatusNotFound, "not-found")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPatch, "/accounts/ldapuser@example.com", map[string]any{"display_name": "Renamed"}},
		{http.MethodPut, "/accounts/ldapuser@example.com/password", map[string]any{"password": "long enough"}},
		{http.MethodPost, "/accounts/ldapuser@example.com/disable", nil},
		{http.MethodPost, "/accounts/ldapuser@example.com/enable", nil},
		{http.MethodDelete, "/accounts/ldapuser@example.com", nil},
		{http.MethodPost, "/aliases", map[string]any{"address": "ldapalias@example.com", "account": "ldapuser@example.com"}},
	} {
		p := expectProblem(t, h.do(t, c.method, c.path, h.admin, c.body), http.StatusConflict, "directory-managed")
		if !strings.Contains(p.Detail, "ldap") {
			t.Errorf("%s %s: detail %q", c.method, c.path, p.Detail)
		}
	}
	if b := h.account(t, "ldapuser@example.com"); b.DisplayName != "From LDAP" || b.Disabled {
		t.Fatalf("read-only account changed: %+v", b)
	}
	// The quota is the store's: allowed, and it makes the mailbox.
	r := h.do(t, http.MethodPut, "/accounts/ldapuser@example.com/quota", h.admin, map[string]any{"quota_bytes": 2048})
	expect(t, r, http.StatusOK)
	if mb, err := h.env.Store.Mailbox(ctx, acc.ID); err != nil || mb.QuotaBytes != 2048 {
		t.Fatalf("ldap quota: %+v %v", mb, err)
	}
	expect(t, h.do(t, http.MethodGet, "/accounts/ldapuser@example.com/mailbox", h.read, nil), http.StatusOK)
}

func (h *harness) testDomains(t *testing.T) {
	r := h.do(t, http.MethodPost, "/domains", h.admin, map[string]any{"name": "Example.ORG"})
	expect(t, r, http.StatusCreated)
	var d domainJSON
	r.decode(t, &d)
	if d.Name != "example.org" || r.Header.Get("Location") != Prefix+"/domains/example.org" {
		t.Fatalf("created %+v at %q", d, r.Header.Get("Location"))
	}
	if ok, _ := h.env.Dir.IsLocalDomain(context.Background(), "example.org"); !ok {
		t.Fatal("domain not local")
	}
	expectProblem(t, h.do(t, http.MethodPost, "/domains", h.admin, map[string]any{"name": "example.org"}), http.StatusConflict, "already-exists")
	expectField(t, h.do(t, http.MethodPost, "/domains", h.admin, map[string]any{"name": "bad_domain!"}), "body", "name")
	expectField(t, h.do(t, http.MethodPost, "/domains", h.admin, map[string]any{}), "body", "name")

	r = h.do(t, http.MethodGet, "/domains", h.read, nil)
	expect(t, r, http.StatusOK)
	var pg page[domainJSON]
	r.decode(t, &pg)
	if len(pg.Items) != 2 || pg.Items[0].Name != "example.com" || pg.Items[1].Name != "example.org" {
		t.Fatalf("domains %+v", pg.Items)
	}
	expect(t, h.do(t, http.MethodDelete, "/domains/example.org", h.admin, nil), http.StatusNoContent)
	expectProblem(t, h.do(t, http.MethodDelete, "/domains/example.org", h.admin, nil), http.StatusNotFound, "not-found")
	expectProblem(t, h.do(t, http.MethodDelete, "/domains/example.com", h.admin, nil), http.StatusConflict, "not-empty")
	expectField(t, h.do(t, http.MethodDelete, "/domains/-bad-", h.admin, nil), "path", "domain")
}

func (h *harness) testAliases(t *testing.T) {
	ctx := context.Background()
	alice := h.account(t, "alice@example.com")
	r := h.do(t, http.MethodPost, "/aliases", h.admin, map[string]any{"address": "Info@example.com", "account": "alice@example.com"})
	expect(t, r, http.StatusCreated)
	var al aliasJSON
	r.decode(t, &al)
	if al.Address != "info@example.com" || al.AccountID != alice.ID || al.AccountAddress != "alice@example.com" {
		t.Fatalf("alias %+v", al)
	}
	if res, err := h.env.Dir.Resolve(ctx, "info@example.com"); err != nil || len(res.Accounts) != 1 || res.Accounts[0].ID != alice.ID {
		t.Fatalf("resolve alias: %+v %v", res, err)
	}
	// By id too.
	expect(t, h.do(t, http.MethodPost, "/aliases", h.admin, map[string]any{"address": "ceo@example.com", "account": fmt.Sprint(alice.ID)}), http.StatusCreated)

	expectProblem(t, h.do(t, http.MethodPost, "/aliases", h.admin, map[string]any{"address": "info@example.com", "account": "bob@example.com"}), http.StatusConflict, "already-exists")
	expectProblem(t, h.do(t, http.MethodPost, "/aliases", h.admin, map[string]any{"address": "bob@example.com", "account": "alice@example.com"}), http.StatusConflict, "already-exists")
	expectProblem(t, h.do(t, http.MethodPost, "/accounts", h.admin, map[string]any{"address": "info@example.com", "password": "long enough"}), http.StatusConflict, "already-exists")
	expectField(t, h.do(t, http.MethodPost, "/aliases", h.admin, map[string]any{"address": "x@example.com", "account": "nobody@example.com"}), "body", "account")
	expectField(t, h.do(t, http.MethodPost, "/aliases", h.admin, map[string]any{"address": "x@example.com", "account": "no good"}), "body", "account")
	expectField(t, h.do(t, http.MethodPost, "/aliases", h.admin, map[string]any{"address": "x@", "account": "alice@example.com"}), "body", "address")
	expectField(t, h.do(t, http.MethodPost, "/aliases", h.admin, map[string]any{"address": "x@example.com"}), "body", "account")

	r = h.do(t, http.MethodGet, "/aliases", h.read, nil)
	expect(t, r, http.StatusOK)
	var pg page[aliasJSON]
	r.decode(t, &pg)
	if len(pg.Items) != 2 || pg.Items[0].Address != "ceo@example.com" || pg.Items[1].AccountAddress != "alice@example.com" {
		t.Fatalf("aliases %+v", pg.Items)
	}
	r = h.do(t, http.MethodGet, "/aliases?account=bob@example.com", h.read, nil)
	expect(t, r, http.StatusOK)
	r.decode(t, &pg)
	if len(pg.Items) != 0 {
		t.Fatalf("bob's aliases %+v", pg.Items)
	}
	expectProblem(t, h.do(t, http.MethodGet, "/aliases?account=nobody@example.com", h.read, nil), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodGet, "/aliases?account=bad", h.read, nil), "query", "account")
	if a := h.account(t, "alice@example.com"); !slices.Equal(a.Aliases, []string{"ceo@example.com", "info@example.com"}) {
		t.Fatalf("account aliases %v", a.Aliases)
	}
	// An alias does not name its account in paths.
	expectProblem(t, h.do(t, http.MethodGet, "/accounts/info@example.com", h.read, nil), http.StatusNotFound, "not-found")

	expect(t, h.do(t, http.MethodDelete, "/aliases/ceo@example.com", h.admin, nil), http.StatusNoContent)
	expectProblem(t, h.do(t, http.MethodDelete, "/aliases/ceo@example.com", h.admin, nil), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodDelete, "/aliases/ceo", h.admin, nil), "path", "alias")
}

func (h *harness) testGroups(t *testing.T) {
	ctx := context.Background()
	r := h.do(t, http.MethodPost, "/groups", h.admin, map[string]any{"address": "Team@example.com", "display_name": "The Team",
		"members": []string{"alice@example.com", "ext@other.example", "alice@example.com"}})
	expect(t, r, http.StatusCreated)
	var g groupJSON
	r.decode(t, &g)
	if g.Address != "team@example.com" || g.DisplayName != "The Team" || !slices.Equal(g.Members, []string{"alice@example.com", "ext@other.example"}) {
		t.Fatalf("group %+v", g)
	}
	res, err := h.env.Dir.Resolve(ctx, "team@example.com")
	if err != nil || res.Kind != directory.KindGroup || len(res.Accounts) != 1 || !slices.Equal(res.External, []string{"ext@other.example"}) {
		t.Fatalf("resolve group: %+v %v", res, err)
	}
	expectProblem(t, h.do(t, http.MethodPost, "/groups", h.admin, map[string]any{"address": "team@example.com"}), http.StatusConflict, "already-exists")
	expectProblem(t, h.do(t, http.MethodPost, "/groups", h.admin, map[string]any{"address": "alice@example.com"}), http.StatusConflict, "already-exists")
	expectField(t, h.do(t, http.MethodPost, "/groups", h.admin, map[string]any{"address": "g2@example.com", "members": []string{"bad"}}), "body", "members[0]")

	r = h.do(t, http.MethodGet, "/groups", h.read, nil)
	expect(t, r, http.StatusOK)
	var pg page[groupJSON]
	r.decode(t, &pg)
	if len(pg.Items) != 1 || pg.Items[0].Address != "team@example.com" {
		t.Fatalf("groups %+v", pg.Items)
	}
	expect(t, h.do(t, http.MethodGet, "/groups/team@example.com", h.read, nil), http.StatusOK)
	expectProblem(t, h.do(t, http.MethodGet, "/groups/nogroup@example.com", h.read, nil), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodGet, "/groups/team", h.read, nil), "path", "group")

	r = h.do(t, http.MethodPost, "/groups/team@example.com/members", h.admin, map[string]any{"address": "carol@example.com"})
	expect(t, r, http.StatusCreated)
	r.decode(t, &g)
	if !slices.Contains(g.Members, "carol@example.com") {
		t.Fatalf("members %v", g.Members)
	}
	expectProblem(t, h.do(t, http.MethodPost, "/groups/team@example.com/members", h.admin, map[string]any{"address": "carol@example.com"}), http.StatusConflict, "already-exists")
	expectProblem(t, h.do(t, http.MethodPost, "/groups/nogroup@example.com/members", h.admin, map[string]any{"address": "carol@example.com"}), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodPost, "/groups/team@example.com/members", h.admin, map[string]any{"address": ""}), "body", "address")
	expectField(t, h.do(t, http.MethodPost, "/groups/team@example.com/members", h.admin, map[string]any{"address": "team@example.com"}), "body", "address")

	expect(t, h.do(t, http.MethodDelete, "/groups/team@example.com/members/carol@example.com", h.admin, nil), http.StatusNoContent)
	expectProblem(t, h.do(t, http.MethodDelete, "/groups/team@example.com/members/carol@example.com", h.admin, nil), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodDelete, "/groups/team@example.com/members/carol", h.admin, nil), "path", "member")

	expect(t, h.do(t, http.MethodDelete, "/groups/team@example.com", h.admin, nil), http.StatusNoContent)
	expectProblem(t, h.do(t, http.MethodDelete, "/groups/team@example.com", h.admin, nil), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodDelete, "/groups/team", h.admin, nil), "path", "group")
	if res, _ := h.env.Dir.Resolve(ctx, "team@example.com"); res.Kind != directory.Unknown {
		t.Fatalf("deleted group resolves: %+v", res)
	}
}

// enqueue stores a message for remote recipients the way SMTP submission
// does (and a local copy for alice, so the trace has both outcomes).
func (h *harness) enqueue(t *testing.T, msgID string, rcpts ...string) int64 {
	t.Helper()
	alice := h.account(t, "alice@example.com")
	raw := []byte("From: alice@example.com\r\nTo: someone@remote.example\r\nSubject: out\r\nMessage-ID: <" + msgID + ">\r\n\r\nbody\r\n")
	remote := &storage.NewQueueMessage{Sender: "alice@example.com", AccountID: alice.ID}
	for _, r := range rcpts {
		remote.Recipients = append(remote.Recipients, storage.NewQueueRecipient{Address: r})
	}
	res, err := h.env.Deliverer.Ingest(context.Background(), &delivery.Ingest{Raw: raw, Sender: "alice@example.com", Remote: remote,
		Targets: []delivery.Target{{AccountID: alice.ID, FolderRole: storage.RoleSent, Recipient: "alice@example.com", IgnoreQuota: true}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.QueueID
}

func (h *harness) testQueue(t *testing.T) {
	ctx := context.Background()
	id1 := h.enqueue(t, "q1@example.com", "x@remote.example", "y@remote.example")
	id2 := h.enqueue(t, "q2@example.com", "z@remote.example")
	id3 := h.enqueue(t, "q3@example.com", "w@remote.example")

	var ids []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		q := "/queue?limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := h.do(t, http.MethodGet, q, h.read, nil)
		expect(t, r, http.StatusOK)
		var pg page[queueJSON]
		r.decode(t, &pg)
		for _, m := range pg.Items {
			ids = append(ids, m.ID)
		}
		if pg.NextCursor == "" {
			break
		}
		cursor = pg.NextCursor
	}
	if !slices.Equal(ids, []int64{id1, id2, id3}) {
		t.Fatalf("queue ids %v, want %v", ids, []int64{id1, id2, id3})
	}
	expectField(t, h.do(t, http.MethodGet, "/queue?cursor=!!!", h.read, nil), "query", "cursor")
	expectField(t, h.do(t, http.MethodGet, "/queue?limit=501", h.read, nil), "query", "limit")

	// A leased message is not due; retry makes it due now.
	if _, err := h.env.Store.ClaimQueue(ctx, 10, time.Hour); err != nil {
		t.Fatal(err)
	}
	r := h.do(t, http.MethodGet, fmt.Sprintf("/queue/%d", id1), h.read, nil)
	expect(t, r, http.StatusOK)
	var m queueJSON
	r.decode(t, &m)
	if m.MessageID != "q1@example.com" || m.Sender != "alice@example.com" || len(m.Recipients) != 2 ||
		m.Recipients[0].Address != "x@remote.example" || m.Recipients[0].State != storage.RcptPending || !m.NextAttemptAt.After(time.Now()) {
		t.Fatalf("queued %+v", m)
	}
	r = h.do(t, http.MethodPost, fmt.Sprintf("/queue/%d/retry", id1), h.admin, nil)
	expect(t, r, http.StatusOK)
	r.decode(t, &m)
	if m.NextAttemptAt.After(time.Now()) {
		t.Fatalf("retried message still due at %v", m.NextAttemptAt)
	}
	claimed, err := h.env.Store.ClaimQueue(ctx, 10, time.Hour)
	if err != nil || len(claimed) != 1 || claimed[0].ID != id1 {
		t.Fatalf("after retry the queue offers %+v (%v)", claimed, err)
	}

	expect(t, h.do(t, http.MethodDelete, fmt.Sprintf("/queue/%d", id2), h.admin, nil), http.StatusNoContent)
	if _, err := h.env.Store.QueueMessage(ctx, id2); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted message still queued: %v", err)
	}
	for _, c := range [][2]string{{http.MethodGet, ""}, {http.MethodDelete, ""}, {http.MethodPost, "/retry"}} {
		tok := h.admin
		expectProblem(t, h.do(t, c[0], fmt.Sprintf("/queue/%d%s", id2, c[1]), tok, nil), http.StatusNotFound, "not-found")
		expectField(t, h.do(t, c[0], "/queue/abc"+c[1], tok, nil), "path", "id")
		expectField(t, h.do(t, c[0], "/queue/0"+c[1], tok, nil), "path", "id")
	}
}

func (h *harness) testTrace(t *testing.T) {
	get := func(t *testing.T, q string) []traceJSON {
		t.Helper()
		r := h.do(t, http.MethodGet, "/trace?"+q, h.read, nil)
		expect(t, r, http.StatusOK)
		var pg page[traceJSON]
		r.decode(t, &pg)
		return pg.Items
	}
	// The queue test left q1 (x, y queued; alice's Sent copy delivered).
	es := get(t, "message_id="+url.QueryEscape("<q1@example.com>"))
	outcomes := map[string]string{}
	for _, e := range es {
		if e.MessageID != "q1@example.com" || e.Sender != "alice@example.com" {
			t.Fatalf("entry %+v", e)
		}
		outcomes[e.Recipient] = e.Outcome
	}
	if len(es) != 3 || outcomes["x@remote.example"] != "queued" || outcomes["y@remote.example"] != "queued" || outcomes["alice@example.com"] != "delivered" {
		t.Fatalf("trace of q1: %+v", es)
	}
	if es := get(t, "message_id=q1@example.com&recipient=Y@remote.example"); len(es) != 1 || es[0].Recipient != "y@remote.example" {
		t.Fatalf("by id and recipient: %+v", es)
	}
	if es := get(t, "sender=ALICE@example.com&limit=2"); len(es) != 2 {
		t.Fatalf("by sender, limit 2: %+v", es)
	}
	past, future := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if es := get(t, "since="+url.QueryEscape(future)); len(es) != 0 {
		t.Fatalf("since the future: %+v", es)
	}
	if es := get(t, "until="+url.QueryEscape(past)); len(es) != 0 {
		t.Fatalf("until the past: %+v", es)
	}
	if es := get(t, "message_id=q2@example.com&since="+url.QueryEscape(past)+"&until="+url.QueryEscape(future)); len(es) != 2 {
		t.Fatalf("in range: %+v", es)
	}
	if es := get(t, "message_id=nothing@example.com"); len(es) != 0 {
		t.Fatalf("unknown id: %+v", es)
	}
	expectField(t, h.do(t, http.MethodGet, "/trace?since=yesterday", h.read, nil), "query", "since")
	expectField(t, h.do(t, http.MethodGet, "/trace?since="+url.QueryEscape(future)+"&until="+url.QueryEscape(past), h.read, nil), "query", "until")
	expectField(t, h.do(t, http.MethodGet, "/trace?limit=0", h.read, nil), "query", "limit")
	expectField(t, h.do(t, http.MethodGet, "/trace?message_id="+url.QueryEscape("a b"), h.read, nil), "query", "message_id")
}

func (h *harness) testDeleteAccount(t *testing.T) {
	ctx := context.Background()
	bob := h.account(t, "bob@example.com")
	h.env.Deliver(t, []byte("Subject: x\r\n\r\nx\r\n"), bob.ID)
	expect(t, h.do(t, http.MethodDelete, "/accounts/bob@example.com", h.admin, nil), http.StatusNoContent)
	expectProblem(t, h.do(t, http.MethodGet, "/accounts/bob@example.com", h.read, nil), http.StatusNotFound, "not-found")
	if ok, err := h.env.Store.MailboxExists(ctx, bob.ID); err != nil || ok {
		t.Fatalf("mailbox of a deleted account: %v %v", ok, err)
	}
	if h.authenticates(t, "bob@example.com", "bob's password") {
		t.Fatal("deleted account logs in")
	}
	expectProblem(t, h.do(t, http.MethodDelete, "/accounts/bob@example.com", h.admin, nil), http.StatusNotFound, "not-found")
	expectField(t, h.do(t, http.MethodDelete, "/accounts/bob", h.admin, nil), "path", "account")
}

// testLogging: every request is logged once with its request id, route,
// status and, for failures, the problem type.
func (h *harness) testLogging(t *testing.T) {
	ok := h.do(t, http.MethodGet, "/domains", h.read, nil)
	bad := h.do(t, http.MethodPost, "/domains", h.read, map[string]any{"name": "x.example"})
	find := func(id string) map[string]any {
		var found map[string]any
		n := 0
		for _, l := range h.logs.lines() {
			if l["msg"] == "api request" && l["request_id"] == id {
				found = l
				n++
			}
		}
		if n != 1 {
			t.Fatalf("request %s logged %d times", id, n)
		}
		return found
	}
	l := find(ok.Header.Get("X-Request-Id"))
	if l["status"] != float64(200) || l["route"] != Prefix+"/domains" || l["token"] != "test-read" || l["level"] != "INFO" {
		t.Errorf("success logged as %v", l)
	}
	l = find(bad.Header.Get("X-Request-Id"))
	if l["status"] != float64(403) || l["problem"] != "insufficient-scope" || l["token"] != "test-read" {
		t.Errorf("refusal logged as %v", l)
	}
	for _, l := range h.logs.lines() {
		if l["msg"] == "api request" && (l["request_id"] == "" || l["status"] == nil) {
			t.Errorf("request logged without id or status: %v", l)
		}
	}
}
