package mapiclient_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/testutil/slapdtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/nspi"
)

// abDoor is the MAPI door over HTTPS on 127.0.0.1 with the address book
// endpoint mounted; the EMSMDB side has no ROP layer (not needed here).
type abDoor struct {
	env  *testenv.Env
	dir  directory.Directory
	book *mapi.AddressBook
	base string
	hc   *http.Client
}

func startDoor(t *testing.T, env *testenv.Env, dir directory.Directory) *abDoor {
	t.Helper()
	srv, err := mapi.New(mapi.Options{
		Directory: dir, Store: env.Store, Logger: env.Logger, Hostname: "mail.example.com",
		NewROPSession: func(context.Context, *directory.Account, mapi.ConnectInfo) (mapi.ROPSession, error) {
			return nil, errors.New("no ROP layer in the address book tests")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	book, err := srv.NewAddressBook(nspi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	srv.Mount(e)
	book.Mount(e)
	ln := testenv.Listen(t)
	hs := &http.Server{Handler: e, ErrorLog: obs.StdLogger(env.Logger, 0)}
	go hs.Serve(tls.NewListener(ln, env.TLS))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		book.Shutdown(ctx)
		srv.Shutdown(ctx)
		hs.Shutdown(ctx)
	})
	return &abDoor{env: env, dir: dir, book: book, base: "https://" + ln.Addr().String(),
		hc: &http.Client{Transport: &http.Transport{TLSClientConfig: env.ClientTLS}, Timeout: 30 * time.Second}}
}

// people of both directories: login, address, display name.
var abPeople = [][3]string{
	{"alice", "alice@example.com", "Alice Archer"},
	{"bob", "bob@example.com", "Bob Baker"},
	{"chris.carter", "chris.carter@example.com", "Chris Carter"},
	{"chris.cole", "chris.cole@example.com", "Chris Cole"},
	{"dora", "dora@example.com", "Dora Diaz"},
}

var abGAL = []string{"Alice Archer", "Bob Baker", "Chris Carter", "Chris Cole", "Dora Diaz", "Sales Team"}

func localDoor(t *testing.T) *abDoor {
	env := testenv.New(t)
	ctx := context.Background()
	for _, p := range abPeople {
		a, err := env.Dir.AddAccount(ctx, directory.NewAccount{Address: p[1], Password: p[0] + "-pw", DisplayName: p[2], Title: "Staff"})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Store.EnsureMailbox(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Dir.AddGroup(ctx, "sales@example.com", "Sales Team"); err != nil {
		t.Fatal(err)
	}
	return startDoor(t, env, env.Dir)
}

func ldapDoor(t *testing.T) *abDoor {
	var ldif strings.Builder
	ldif.WriteString("dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n")
	ldif.WriteString("dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n")
	ldif.WriteString("dn: ou=groups,dc=example,dc=com\nobjectClass: organizationalUnit\nou: groups\n\n")
	for _, p := range abPeople {
		first, last, _ := strings.Cut(p[2], " ")
		fmt.Fprintf(&ldif, "dn: uid=%s,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\ngivenName: %s\ndisplayName: %s\nmail: %s\ntitle: Staff\nuserPassword: %s-pw\n\n",
			p[0], p[0], p[2], last, first, p[2], p[1], p[0])
	}
	ldif.WriteString("dn: cn=Sales Team,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\nobjectClass: mailRecipient\ncn: Sales Team\nmail: sales@example.com\nmember: uid=alice,ou=people,dc=example,dc=com\n\n")
	schema, err := filepath.Abs(filepath.Join("..", "nspi", "testdata", "mailrecipient.schema"))
	if err != nil {
		t.Fatal(err)
	}
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: []byte(ldif.String()), Schemas: []string{schema}})
	env := testenv.New(t)
	d, err := directory.NewLDAP(directory.LDAPOptions{
		Preset: "openldap", URLs: []string{srv.URL}, BindDN: srv.AdminDN, BindPassword: srv.AdminPassword,
		BaseDN: "ou=people,dc=example,dc=com", GroupBaseDN: "ou=groups,dc=example,dc=com",
		Timeout: 10 * time.Second, CacheTTL: time.Minute, Local: env.Dir, Logger: env.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return startDoor(t, env, d)
}

func TestAddressBookOverHTTPSLocal(t *testing.T) { addressBookOverHTTPS(t, localDoor(t)) }

func TestAddressBookOverHTTPSLDAP(t *testing.T) { addressBookOverHTTPS(t, ldapDoor(t)) }

// addressBookOverHTTPS is Outlook's address book start: Autodiscover, Bind,
// the hierarchy, the whole GAL, name resolution, a prefix search, its own
// entry by DN; then Unbind.
func addressBookOverHTTPS(t *testing.T, d *abDoor) {
	ctx := context.Background()
	ad, err := mapiclient.Autodiscover(ctx, d.hc, d.base+mapi.AutodiscoverPath, "alice@example.com", "alice@example.com", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ad.AddressBookURL, d.base+mapi.NSPIPath+"?MailboxId=") {
		t.Fatalf("Autodiscover address book URL %q", ad.AddressBookURL)
	}
	ab, err := mapiclient.NewAddressBook(mapiclient.AddressBookOptions{URL: ad.AddressBookURL,
		User: "alice@example.com", Password: "alice-pw", HTTPClient: d.hc})
	if err != nil {
		t.Fatal(err)
	}
	if err := ab.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	if ab.ServerGUID().IsZero() {
		t.Error("Bind returned no server GUID")
	}

	containers, err := ab.Containers(ctx)
	if err != nil || len(containers) != 2 {
		t.Fatalf("containers %v, %v", containers, err)
	}

	cols := []mp.Tag{mp.PidTagDisplayName, mp.PidTagSmtpAddress, mp.PidTagEntryId, mp.PidTagDisplayType}
	rows, err := ab.ReadContainer(ctx, 0, 2, cols)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		v, _ := r.Get(mp.PidTagDisplayName.ID())
		s, _ := v.AsString()
		names = append(names, s)
	}
	if !slices.Equal(names, abGAL) {
		t.Fatalf("GAL %q, want %q", names, abGAL)
	}

	mids, resolved, err := ab.ResolveNames(ctx, []string{"bob@example.com", "dora", "chris", "nobody at all"}, cols)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mids, []uint32{nspi.MIdResolved, nspi.MIdResolved, nspi.MIdAmbiguous, nspi.MIdUnresolved}) || len(resolved.Rows) != 2 {
		t.Fatalf("ResolveNames %v, %d rows", mids, len(resolved.Rows))
	}
	if v, _ := resolved.Rows[1].Get(mp.PidTagSmtpAddress.ID()); v.Data != "dora@example.com" {
		t.Errorf("dora resolved to %v", v.Data)
	}

	prefix := &mp.ContentRestriction{FuzzyLevelLow: mp.FuzzyPrefix, FuzzyLevelHigh: mp.FuzzyIgnoreCase,
		PropTag: mp.PidTagDisplayName, Value: mp.StringValue(mp.PidTagDisplayName, "chris")}
	matched, matchRows, err := ab.GetMatches(ctx, 0, prefix, 10, cols)
	if err != nil || len(matched) != 2 || len(matchRows.Rows) != 2 {
		t.Fatalf("GetMatches chris: %v, %v", matched, err)
	}

	own, err := ab.DNToMId(ctx, ad.LegacyDN)
	if err != nil || len(own) != 1 || own[0] == 0 {
		t.Fatalf("DNToMId(%q) = %v, %v", ad.LegacyDN, own, err)
	}
	props, err := ab.GetProps(ctx, own[0], []mp.Tag{mp.PidTagDisplayName, mp.PidTagSmtpAddress, mp.PidTagEmailAddress, mp.PidTagTitle})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"Alice Archer", "alice@example.com", ad.LegacyDN, "Staff"}
	for i, v := range props {
		if v.Data != want[i] {
			t.Errorf("GetProps %s = %v, want %v", v.Tag, v.Data, want[i])
		}
	}
	mbx, err := ab.MailboxURL(ctx, "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=mail.example.com")
	if err != nil || mbx != ad.MailStoreURL {
		t.Errorf("GetMailboxUrl %q, %v; Autodiscover says %q", mbx, err, ad.MailStoreURL)
	}
	book, err := ab.AddressBookURL(ctx, ad.LegacyDN)
	if err != nil || book != ad.AddressBookURL {
		t.Errorf("GetAddressBookUrl %q, %v; Autodiscover says %q", book, err, ad.AddressBookURL)
	}

	if err := ab.Unbind(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ab.QueryRows(ctx, ab.Stat(0, 0), 1, cols); !mapiclient.IsCode(err, mapi.CodeMissingCookie) && !mapiclient.IsCode(err, mapi.CodeContextNotFound) {
		t.Fatalf("QueryRows after Unbind: %v", err)
	}
}

// The session contexts of the address book: cookies scoped to
// /mapi/nspi/, sequenced like EMSMDB, bound to their user; Outlook's Bind
// probe is accepted with any content type.
func TestAddressBookSessionContexts(t *testing.T) {
	d := localDoor(t)
	ctx := context.Background()
	url := d.base + mapi.NSPIPath
	ab, err := mapiclient.NewAddressBook(mapiclient.AddressBookOptions{URL: url, User: "bob@example.com", Password: "bob-pw", HTTPClient: d.hc})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := nspi.Marshal(&nspi.BindRequest{State: ab.Stat(0, 0)})
	resp, err := ab.Transport().Do(ctx, "BIND", body)
	if err != nil || resp.Code != mapi.CodeSuccess {
		t.Fatalf("Bind: %+v, %v", resp, err)
	}
	for _, ck := range resp.Header.Values("Set-Cookie") {
		if !strings.Contains(ck, "Path=/mapi/nspi/") {
			t.Errorf("cookie not scoped to the endpoint: %s", ck)
		}
	}
	if _, _, err := ab.QueryRows(ctx, ab.Stat(0, 0), 1, nil); err != nil {
		t.Fatal(err)
	}
	// A stale sequence cookie: Invalid Sequence.
	old := ab.Transport().Cookies()
	if _, _, err := ab.QueryRows(ctx, ab.Stat(0, 0), 1, nil); err != nil {
		t.Fatal(err)
	}
	ab.Transport().SetCookies(old)
	if _, _, err := ab.QueryRows(ctx, ab.Stat(0, 0), 1, nil); !mapiclient.IsCode(err, mapi.CodeInvalidSequence) {
		t.Fatalf("stale sequence: %v", err)
	}
	// Another user's cookies: No Privilege.
	mallory, _ := mapiclient.NewAddressBook(mapiclient.AddressBookOptions{URL: url, User: "dora@example.com", Password: "dora-pw", HTTPClient: d.hc})
	mallory.Transport().SetCookies(old)
	if _, _, err := mallory.QueryRows(ctx, ab.Stat(0, 0), 1, nil); !mapiclient.IsCode(err, mapi.CodeNoPrivilege) {
		t.Fatalf("another user's context: %v", err)
	}
	// An unknown request type, and a truncated body.
	if resp, err := ab.Transport().Do(ctx, "Connect", nil); err != nil || resp.Code != mapi.CodeInvalidRequestType {
		t.Fatalf("Connect on the address book: %+v, %v", resp, err)
	}
	ab.Transport().SetCookies(old)
	if err := ab.Bind(ctx); err != nil { // the old cookies: a reconnecting Bind
		t.Fatal(err)
	}
	if resp, err := ab.Transport().Do(ctx, nspi.RequestQueryRows, []byte{1, 2, 3}); err != nil || resp.Code != mapi.CodeInvalidRequestBody {
		t.Fatalf("truncated QueryRows: %+v, %v", resp, err)
	}
	if _, _, err := ab.QueryRows(ctx, ab.Stat(0, 0), 1, nil); err != nil {
		t.Fatalf("QueryRows after a refused body: %v", err)
	}
	// The context the reconnecting Bind replaced is gone.
	replay, _ := mapiclient.NewAddressBook(mapiclient.AddressBookOptions{URL: url, User: "bob@example.com", Password: "bob-pw", HTTPClient: d.hc})
	replay.Transport().SetCookies(old)
	if _, _, err := replay.QueryRows(ctx, ab.Stat(0, 0), 1, nil); !mapiclient.IsCode(err, mapi.CodeContextNotFound) {
		t.Fatalf("replaced context: %v", err)
	}

	// Outlook's probe: application/octet-stream and 45 zero bytes.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(make([]byte, 45)))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(mapi.HeaderRequestType, "Bind")
	req.Header.Set(mapi.HeaderRequestID, "{E2EA6C1C-E61B-49E9-9CFB-38184F907552}:1")
	req.Header.Set(mapi.HeaderClientInfo, "{2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1")
	req.SetBasicAuth("bob@example.com", "bob-pw")
	hr, err := d.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	f, err := mapiclient.ParseFrame(hr.Body, 1<<20)
	hr.Body.Close()
	var bind nspi.BindResponse
	if err != nil || hr.Header.Get(mapi.HeaderResponseCode) != "0" || nspi.Unmarshal(f.Body, &bind) != nil || bind.ErrorCode != 0 {
		t.Fatalf("bind probe: code %q, %+v, %v", hr.Header.Get(mapi.HeaderResponseCode), bind, err)
	}
	// Without credentials: 401.
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set(mapi.HeaderRequestType, "Bind")
	hr, err = d.hc.Do(req)
	if err != nil || hr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %v, %v", hr, err)
	}
	hr.Body.Close()
}
