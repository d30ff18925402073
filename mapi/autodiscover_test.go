package mapi_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
)

// poxRequest posts a raw Autodiscover request.
func (h *harness) poxRequest(path, user, password, body string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

func poxBody(email, schema string) string {
	return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="` + mapi.NSRequest + `"><Request><EMailAddress>` +
		email + `</EMailAddress><AcceptableResponseSchema>` + schema + `</AcceptableResponseSchema></Request></Autodiscover>`
}

// The POX answer, checked element by element against MS-OXDSCLI 2.2.4 and
// what ruler reads (MAPI.md §2.3).
func TestAutodiscoverPOX(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice")
	ctx := context.Background()

	res, err := mapiclient.Autodiscover(ctx, h.hc, h.base+"/autodiscover/autodiscover.xml", alice.Address, alice.Address, "secret-alice")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := h.env.Store.Mailbox(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	mailboxID := strings.ToLower(mb.GUID) + "@example.com"
	wantStore := h.base + "/mapi/emsmdb/?MailboxId=" + mailboxID
	wantBook := h.base + "/mapi/nspi/?MailboxId=" + mailboxID
	checks := []struct{ name, got, want string }{
		{"DisplayName", res.DisplayName, alice.Address}, // no display name set: the address
		{"LegacyDN", res.LegacyDN, mapi.LegacyDN(alice)},
		{"AutoDiscoverSMTPAddress", res.SMTPAddress, alice.Address},
		{"MailStore URL", res.MailStoreURL, wantStore},
		{"AddressBook URL", res.AddressBookURL, wantBook},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !strings.HasPrefix(res.LegacyDN, "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=") {
		t.Errorf("LegacyDN %q is not in the Exchange form", res.LegacyDN)
	}
	if id, ok := mapi.ParseLegacyDN(res.LegacyDN); !ok || id != alice.ID {
		t.Errorf("ParseLegacyDN(%q) = %d, %v; want %d", res.LegacyDN, id, ok, alice.ID)
	}
	if len(res.DeploymentID) != 36 {
		t.Errorf("DeploymentId %q is not a GUID", res.DeploymentID)
	}

	// The raw XML: namespaces, the Protocol attributes, both URLs.
	resp, raw := h.poxRequest("/autodiscover/autodiscover.xml", alice.Address, "secret-alice", poxBody(alice.Address, mapi.NSOutlookResponse))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		XMLName  xml.Name
		Response struct {
			XMLName xml.Name
			User    struct {
				DisplayName, LegacyDN, AutoDiscoverSMTPAddress, DeploymentId string
			}
			Account struct {
				AccountType, Action, MicrosoftOnline string
				Protocol                             []struct {
					Type      string `xml:"Type,attr"`
					Version   string `xml:"Version,attr"`
					MailStore struct {
						InternalUrl, ExternalUrl string
					}
					AddressBook struct {
						InternalUrl, ExternalUrl string
					}
				}
			}
		}
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if doc.XMLName.Space != mapi.NSResponse || doc.XMLName.Local != "Autodiscover" {
		t.Errorf("root %v", doc.XMLName)
	}
	if doc.Response.XMLName.Space != mapi.NSOutlookResponse {
		t.Errorf("Response namespace %q", doc.Response.XMLName.Space)
	}
	a := doc.Response.Account
	if a.AccountType != "email" || a.Action != "settings" || a.MicrosoftOnline != "False" {
		t.Errorf("Account %+v", a)
	}
	if len(a.Protocol) != 1 || a.Protocol[0].Type != "mapiHttp" || a.Protocol[0].Version != "1" {
		t.Fatalf("Protocols %+v", a.Protocol)
	}
	p := a.Protocol[0]
	if p.MailStore.InternalUrl != wantStore || p.MailStore.ExternalUrl != wantStore ||
		p.AddressBook.InternalUrl != wantBook || p.AddressBook.ExternalUrl != wantBook {
		t.Errorf("URLs %+v", p)
	}
	if doc.Response.User.LegacyDN != mapi.LegacyDN(alice) || doc.Response.User.DeploymentId != res.DeploymentID {
		t.Errorf("User %+v", doc.Response.User)
	}

	// Any case of the path; GET is tolerated and answers for the user.
	for _, path := range []string{"/Autodiscover/Autodiscover.xml", "/AUTODISCOVER/AUTODISCOVER.XML"} {
		if _, err := mapiclient.Autodiscover(ctx, h.hc, h.base+path, alice.Address, alice.Address, "secret-alice"); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, h.base+"/autodiscover/autodiscover.xml", nil)
	req.SetBasicAuth(alice.Address, "secret-alice")
	gresp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	graw, _ := io.ReadAll(gresp.Body)
	gresp.Body.Close()
	if gresp.StatusCode != http.StatusOK || !strings.Contains(string(graw), "<LegacyDN>"+mapi.LegacyDN(alice)+"</LegacyDN>") {
		t.Errorf("GET: %d %s", gresp.StatusCode, graw)
	}
}

func TestAutodiscoverErrors(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice")
	bob := h.user("bob")
	if err := h.env.Dir.AddAlias(context.Background(), "ally@example.com", alice.ID); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	url := h.base + "/autodiscover/autodiscover.xml"

	// An alias of the user is the user.
	if res, err := mapiclient.Autodiscover(ctx, h.hc, url, "Ally@Example.com", alice.Address, "secret-alice"); err != nil || res.LegacyDN != mapi.LegacyDN(alice) {
		t.Errorf("alias: %v %+v", err, res)
	}
	// Another user's address is not disclosed.
	_, err := mapiclient.Autodiscover(ctx, h.hc, url, bob.Address, alice.Address, "secret-alice")
	var ae *mapiclient.AutodiscoverError
	if !errors.As(err, &ae) || ae.Code != mapi.AutodiscoverErrNotFound {
		t.Errorf("bob's address as alice: %v", err)
	}
	// Wrong password, no credentials: 401 with a Basic challenge.
	resp, _ := h.poxRequest("/autodiscover/autodiscover.xml", alice.Address, "wrong", poxBody(alice.Address, mapi.NSOutlookResponse))
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("wrong password: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = h.poxRequest("/autodiscover/autodiscover.xml", "", "", poxBody(alice.Address, mapi.NSOutlookResponse))
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("anonymous: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// A schema other than Outlook's: 601; malformed XML or no address: 600.
	for _, c := range []struct {
		name, body string
		code       int
	}{
		{"mobilesync schema", poxBody(alice.Address, "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"), mapi.AutodiscoverErrNoSchemaHandler},
		{"malformed", "<Autodiscover><Request><EMailAddress>", mapi.AutodiscoverErrInvalidRequest},
		{"no address", poxBody("", mapi.NSOutlookResponse), mapi.AutodiscoverErrInvalidRequest},
		{"other charset", `<?xml version="1.0" encoding="koi8-r"?><Autodiscover/>`, mapi.AutodiscoverErrInvalidRequest},
	} {
		resp, raw := h.poxRequest("/autodiscover/autodiscover.xml", alice.Address, "secret-alice", c.body)
		var doc mapi.AutodiscoverResponse
		if err := xml.Unmarshal(raw, &doc); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %v\n%s", c.name, resp.StatusCode, err, raw)
			continue
		}
		if doc.Response.Error == nil || doc.Response.Error.ErrorCode != c.code || doc.Response.User != nil {
			t.Errorf("%s: %s", c.name, raw)
		}
	}
}

// A configured external URL replaces the request's host in the answer.
func TestAutodiscoverExternalURL(t *testing.T) {
	h := newHarness(t, func(o *mapi.Options) { o.ExternalURL = "https://Mail.Example.com/" })
	alice := h.user("alice")
	res, err := mapiclient.Autodiscover(context.Background(), h.hc, h.base+"/autodiscover/autodiscover.xml", alice.Address, alice.Address, "secret-alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.MailStoreURL, "https://mail.example.com/mapi/emsmdb/?MailboxId=") ||
		!strings.HasPrefix(res.AddressBookURL, "https://mail.example.com/mapi/nspi/?MailboxId=") {
		t.Errorf("URLs %q %q", res.MailStoreURL, res.AddressBookURL)
	}
}

func TestAutodiscoverJSON(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	res, err := mapiclient.AutodiscoverJSON(ctx, h.hc, h.base, "anyone@example.com", "AutodiscoverV1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Protocol != "AutodiscoverV1" || res.URL != h.base+"/autodiscover/autodiscover.xml" {
		t.Errorf("%+v", res)
	}
	// The same answer for every address, and for the ?Email= form and any
	// case of the path.
	req, _ := http.NewRequest(http.MethodGet, h.base+"/Autodiscover/Autodiscover.json?Email=x%40y.org&protocol=autodiscoverv1", nil)
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"Url":"`+h.base+`/autodiscover/autodiscover.xml"`) {
		t.Errorf("?Email= form: %d %s", resp.StatusCode, b)
	}
	_, err = mapiclient.AutodiscoverJSON(ctx, h.hc, h.base, "anyone@example.com", "Ews")
	var re *mapiclient.ResponseError
	if !errors.As(err, &re) || re.HTTPStatus != http.StatusBadRequest || !strings.HasPrefix(re.Detail, "InvalidProtocol") {
		t.Errorf("Ews: %v", err)
	}
}
