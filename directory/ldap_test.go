package directory_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/pochta/pochta/directory"
)

func TestLDAPAuthenticate(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv)
	d := e.LDAP

	a := mustAuth(t, d, "alice", "alice-pw")
	if a.Address != "alice@example.com" || a.DisplayName != "Alice Archer" || a.Source != "ldap" || a.ExternalID == "" ||
		a.Title != "Engineer" || a.Department != "R&D" || a.Phone != "+1 555 0101" || a.Office != "Room 101" || a.Company != "Example Corp" {
		t.Errorf("alice = %+v", a)
	}
	// The link is the entry's entryUUID.
	c := adminConn(t, srv)
	res, err := c.Search(ldap.NewSearchRequest("uid=alice,ou=people,dc=example,dc=com", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"entryUUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if uuid := res.Entries[0].GetAttributeValue("entryUUID"); a.ExternalID != uuid {
		t.Errorf("ExternalID = %q, entryUUID = %q", a.ExternalID, uuid)
	}
	// By mail, in any case, and again: always the same account.
	for _, login := range []string{"alice@example.com", "ALICE", " alice "} {
		if b := mustAuth(t, d, login, "alice-pw"); b.ID != a.ID {
			t.Errorf("login %q gave account %d, want %d", login, b.ID, a.ID)
		}
	}
	if got, err := e.Dir.AccountByExternalID(context.Background(), "ldap", a.ExternalID); err != nil || got.ID != a.ID {
		t.Errorf("local link = %+v, %v", got, err)
	}
	// A DN full of special characters binds like any other.
	if f := mustAuth(t, d, "frank", "frank-pw"); f.Address != "frank@example.com" {
		t.Errorf("frank = %+v", f)
	}

	wantAuthFailed(t, d, "alice", "wrong")
	wantAuthFailed(t, d, "alice", "")
	wantAuthFailed(t, d, "", "alice-pw")
	wantAuthFailed(t, d, "nobody", "alice-pw")
	wantAuthFailed(t, d, "alice", "alice-pw ")
	// nomail binds fine but has no address, hence no mailbox.
	wantAuthFailed(t, d, "nomail", "nomail-pw")

	// dave is locked (pwdAccountLockedTime). slapd itself lets him bind
	// (no lockout policy), so the refusal below is Pochta's own check.
	dc, err := ldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if err := dc.Bind("uid=dave,ou=people,dc=example,dc=com", "dave-pw"); err != nil {
		t.Fatalf("slapd refuses dave's bind itself (%v); the test would not show Pochta's check", err)
	}
	wantAuthFailed(t, d, "dave", "dave-pw")
	wantAuthFailed(t, d, "dave@example.com", "dave-pw")

	// The service account's entry is not a user.
	wantAuthFailed(t, d, "pochta", servicePW)
}

// An empty password is refused before anything is sent: even with no
// server at all the answer is "refused", not "unavailable".
func TestLDAPEmptyPasswordNeverBinds(t *testing.T) {
	e := newOpenLDAP(t, deadServer(t))
	wantAuthFailed(t, e.LDAP, "alice", "")
	_, err := e.LDAP.Authenticate(context.Background(), "alice", "x")
	wantUnavailable(t, "Authenticate with a password and no server", err)
}

func TestLDAPDisabledFilterIsPochtasCheck(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.DisabledFilter = "(employeeType=suspended)" })
	mustAuth(t, e.LDAP, "bob", "bob-pw")
	c := adminConn(t, srv)
	mod := ldap.NewModifyRequest("uid=bob,ou=people,dc=example,dc=com", nil)
	mod.Add("employeeType", []string{"suspended"})
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}
	wantAuthFailed(t, e.LDAP, "bob", "bob-pw")
	// Not cached: lifting the suspension works at once.
	mod = ldap.NewModifyRequest("uid=bob,ou=people,dc=example,dc=com", nil)
	mod.Delete("employeeType", nil)
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}
	mustAuth(t, e.LDAP, "bob", "bob-pw")
}

func TestLDAPInjection(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv)
	d := e.LDAP
	ctx := context.Background()
	// The control: the real login works with this very setup.
	mustAuth(t, d, "alice", "alice-pw")
	logins := []string{
		"*", "al*", "alice*", "*alice", ")(uid=*", "alice)(uid=*", "*)(|(uid=*", "alice)(|(uid=*)",
		"alice\x00", "\x00", `alice\00`, `\2a`, `alice\2a`, "(uid=alice)", "alice)(objectClass=*",
		"uid=alice,ou=people,dc=example,dc=com", "uid=alice", "cn=admin,dc=example,dc=com",
		serviceDN, `uid=alice\,ou=people`, "alice,ou=people", "+alice", "#alice", `"alice"`, "alice;", "alice<>",
	}
	for _, login := range logins {
		for _, pw := range []string{"alice-pw", servicePW, srv.AdminPassword} {
			wantAuthFailed(t, d, login, pw)
		}
	}
	for _, addr := range []string{"*@example.com", "alice*@example.com", ")(mail=*@example.com", "*", "alice@example.com)(mail=*", "alice@*"} {
		r, err := d.Resolve(ctx, addr)
		if err != nil || r.Kind != directory.Unknown || len(r.Accounts) != 0 {
			t.Errorf("Resolve(%q) = %+v, %v; want Unknown", addr, r, err)
		}
	}
	if ok, err := d.IsLocalDomain(ctx, "*"); err != nil || ok {
		t.Errorf("IsLocalDomain(*) = %v, %v", ok, err)
	}
	// A search for "*" in the address list is a search for a literal star.
	if es, _, err := d.SearchGAL(ctx, "*", 100, ""); err != nil || len(es) != 0 {
		t.Errorf("SearchGAL(*) = %d entries, %v", len(es), err)
	}
	logs := e.Logs.String()
	for _, secret := range []string{"alice-pw", servicePW, srv.AdminPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("a password is in the log:\n%s", logs)
		}
	}
	if strings.ContainsRune(logs, 0) {
		t.Errorf("a raw NUL from a login name reached the log")
	}
}

func TestLDAPResolve(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.CacheTTL = 60e9 })
	d := e.LDAP
	ctx := context.Background()
	alice := mustAuth(t, d, "alice", "alice-pw")

	for _, addr := range []string{"alice@example.com", "Alice@Example.COM", "a.archer@example.com", "alice.sales@example.com", "alice+news@example.com"} {
		r, err := d.Resolve(ctx, addr)
		if err != nil || r.Kind != directory.KindAccount || len(r.Accounts) != 1 || r.Accounts[0].ID != alice.ID {
			t.Errorf("Resolve(%s) = %+v, %v; want alice's account %d", addr, r, err, alice.ID)
		}
	}
	// Delivery creates the account of a user who never logged in.
	r, err := d.Resolve(ctx, "postmaster@example.com")
	if err != nil || r.Kind != directory.KindAccount || len(r.Accounts) != 1 || r.Accounts[0].Address != "bob@example.com" {
		t.Fatalf("Resolve(postmaster) = %+v, %v", r, err)
	}
	bob := r.Accounts[0]
	if b := mustAuth(t, d, "bob", "bob-pw"); b.ID != bob.ID {
		t.Errorf("bob logged in as account %d, resolved as %d", b.ID, bob.ID)
	}

	groups := []struct {
		addr     string
		members  []string
		external []string
	}{
		// all-staff = {engineering, sales, carol}; engineering contains
		// all-staff again (a loop); alice is in two of them.
		{"all@example.com", []string{"alice@example.com", "bob@example.com", "carol@example.com"}, []string{"pat@partner.example"}},
		{"eng@example.com", []string{"alice@example.com", "bob@example.com", "carol@example.com"}, []string{"pat@partner.example"}},
		{"sales-team@example.com", []string{"alice@example.com", "carol@example.com"}, []string{"pat@partner.example"}},
		{"ops@example.com", []string{"bob@example.com", "carol@example.com"}, nil},
	}
	for _, g := range groups {
		r, err := d.Resolve(ctx, g.addr)
		if err != nil || r.Kind != directory.KindGroup {
			t.Errorf("Resolve(%s) = %+v, %v; want a group", g.addr, r, err)
			continue
		}
		if got := addresses(r.Accounts); !slices.Equal(got, g.members) {
			t.Errorf("Resolve(%s) members = %v, want %v", g.addr, got, g.members)
		}
		if ids := accountIDs(r.Accounts); len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Errorf("Resolve(%s) repeats an account: %v", g.addr, ids)
		}
		if !slices.Equal(r.External, g.external) {
			t.Errorf("Resolve(%s) external = %v, want %v", g.addr, r.External, g.external)
		}
	}
	for _, addr := range []string{"nobody@example.com", "alice@other.example", "pat@partner.example", "not-an-address", "nomail@example.com"} {
		r, err := d.Resolve(ctx, addr)
		if err != nil || r.Kind != directory.Unknown {
			t.Errorf("Resolve(%s) = %+v, %v; want Unknown", addr, r, err)
		}
	}
	for dom, want := range map[string]bool{"example.com": true, "EXAMPLE.com": true, "partner.example": false, "other.example": false} {
		if ok, err := d.IsLocalDomain(ctx, dom); err != nil || ok != want {
			t.Errorf("IsLocalDomain(%s) = %v, %v; want %v", dom, ok, err, want)
		}
	}

	// Account and Addresses come from the entry.
	got, err := d.Account(ctx, alice.ID)
	if err != nil || got.Address != "alice@example.com" || got.Disabled {
		t.Errorf("Account(alice) = %+v, %v", got, err)
	}
	addrs, err := d.Addresses(ctx, alice.ID)
	if err != nil || !slices.Equal(addrs, []string{"alice@example.com", "a.archer@example.com", "alice.sales@example.com"}) {
		t.Errorf("Addresses(alice) = %v, %v", addrs, err)
	}
	// A locked user still receives mail (as Exchange does) but shows Disabled.
	r, err = d.Resolve(ctx, "dave@example.com")
	if err != nil || r.Kind != directory.KindAccount {
		t.Fatalf("Resolve(dave) = %+v, %v", r, err)
	}
	if dave, err := d.Account(ctx, r.Accounts[0].ID); err != nil || !dave.Disabled {
		t.Errorf("Account(dave) = %+v, %v; want Disabled", dave, err)
	}
	if err := d.Health(ctx); err != nil {
		t.Errorf("Health: %v", err)
	}
}

// A renamed and re-addressed entry keeps its account (and so its mailbox).
func TestLDAPRenameKeepsAccount(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv)
	d := e.LDAP
	ctx := context.Background()
	alice := mustAuth(t, d, "alice", "alice-pw")

	c := adminConn(t, srv)
	// Move her to a new RDN in another subtree, and change her address.
	add := ldap.NewAddRequest("ou=staff,ou=people,dc=example,dc=com", nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{"staff"})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyDN(ldap.NewModifyDNRequest("uid=alice,ou=people,dc=example,dc=com", "uid=alice.archer", true, "ou=staff,ou=people,dc=example,dc=com")); err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest("uid=alice.archer,ou=staff,ou=people,dc=example,dc=com", nil)
	mod.Replace("mail", []string{"alice.archer@example.com"})
	mod.Replace("displayName", []string{"Alice Archer-Smith"})
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}

	wantAuthFailed(t, d, "alice", "alice-pw")
	b := mustAuth(t, d, "alice.archer", "alice-pw")
	if b.ID != alice.ID || b.Address != "alice.archer@example.com" || b.DisplayName != "Alice Archer-Smith" {
		t.Errorf("after rename: %+v; want account %d with the new address", b, alice.ID)
	}
	r, err := d.Resolve(ctx, "alice.archer@example.com")
	if err != nil || len(r.Accounts) != 1 || r.Accounts[0].ID != alice.ID {
		t.Errorf("Resolve(new address) = %+v, %v", r, err)
	}
	if r, err := d.Resolve(ctx, "alice@example.com"); err != nil || r.Kind != directory.Unknown {
		t.Errorf("Resolve(old address) = %+v, %v; want Unknown", r, err)
	}
	if got, err := d.Account(ctx, alice.ID); err != nil || got.Address != "alice.archer@example.com" {
		t.Errorf("Account = %+v, %v", got, err)
	}
	// The entry is deleted: the account stays but reads as Disabled.
	if err := c.Del(ldap.NewDelRequest("uid=alice.archer,ou=staff,ou=people,dc=example,dc=com", nil)); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Account(ctx, alice.ID); err != nil || !got.Disabled {
		t.Errorf("Account of a deleted entry = %+v, %v; want Disabled", got, err)
	}
	if _, err := d.Addresses(ctx, alice.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Addresses of a deleted entry: %v; want ErrNotFound", err)
	}
}

// slapd stopped: every call is ErrUnavailable, never a refusal or "not
// found"; slapd started again: the same directory value works again.
func TestLDAPOutageAndRecovery(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.PoolSize = 2 })
	d := e.LDAP
	ctx := context.Background()
	alice := mustAuth(t, d, "alice", "alice-pw")
	// Fill the pools with connections that the restart will break.
	if _, err := d.Resolve(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.SearchGAL(ctx, "a", 10, ""); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	_, err := d.Authenticate(ctx, "alice", "alice-pw")
	wantUnavailable(t, "Authenticate", err)
	_, err = d.Authenticate(ctx, "alice", "wrong")
	wantUnavailable(t, "Authenticate with a wrong password", err)
	_, err = d.Authenticate(ctx, "nobody", "x")
	wantUnavailable(t, "Authenticate of an unknown login", err)
	_, err = d.Resolve(ctx, "carol@example.com")
	wantUnavailable(t, "Resolve", err)
	_, err = d.Resolve(ctx, "nobody@example.com")
	wantUnavailable(t, "Resolve of an unknown address", err)
	_, err = d.IsLocalDomain(ctx, "partner.example")
	wantUnavailable(t, "IsLocalDomain", err)
	_, err = d.Account(ctx, alice.ID)
	wantUnavailable(t, "Account", err)
	_, err = d.Addresses(ctx, alice.ID)
	wantUnavailable(t, "Addresses", err)
	_, _, err = d.SearchGAL(ctx, "b", 10, "")
	wantUnavailable(t, "SearchGAL", err)
	wantUnavailable(t, "Health", d.Health(ctx))
	if !strings.Contains(e.Logs.String(), "directory unreachable") {
		t.Errorf("the outage was not logged:\n%s", e.Logs.String())
	}

	srv.Start()
	if err := d.Health(ctx); err != nil {
		t.Fatalf("Health after restart: %v", err)
	}
	if a := mustAuth(t, d, "alice", "alice-pw"); a.ID != alice.ID {
		t.Errorf("after restart alice is account %d, was %d", a.ID, alice.ID)
	}
	wantAuthFailed(t, d, "alice", "wrong")
	if r, err := d.Resolve(ctx, "carol@example.com"); err != nil || r.Kind != directory.KindAccount {
		t.Errorf("Resolve after restart = %+v, %v", r, err)
	}
	if es, _, err := d.SearchGAL(ctx, "b", 10, ""); err != nil || len(es) == 0 {
		t.Errorf("SearchGAL after restart = %v, %v", es, err)
	}
	if !strings.Contains(e.Logs.String(), "reachable again") {
		t.Errorf("the recovery was not logged")
	}
}

// A stale pooled connection (the server restarted between two calls) is
// replaced without the caller seeing an error.
func TestLDAPReconnectsTransparently(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.PoolSize = 1 })
	mustAuth(t, e.LDAP, "alice", "alice-pw")
	srv.Stop()
	srv.Start()
	// The pool still holds the connections of the old process.
	mustAuth(t, e.LDAP, "alice", "alice-pw")
	if r, err := e.LDAP.Resolve(context.Background(), "bob@example.com"); err != nil || r.Kind != directory.KindAccount {
		t.Errorf("Resolve = %+v, %v", r, err)
	}
}

func TestLDAPAnonymousSearch(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.BindDN, o.BindPassword = "", "" })
	mustAuth(t, e.LDAP, "carol", "carol-pw")
	wantAuthFailed(t, e.LDAP, "carol", "bad")
}

func TestLDAPOptionsRefused(t *testing.T) {
	e := newOpenLDAP(t, deadServer(t))
	base := directory.LDAPOptions{URLs: []string{"ldap://127.0.0.1:1"}, BaseDN: "dc=example,dc=com", Local: e.Dir}
	cases := map[string]func(o *directory.LDAPOptions){
		"bind DN without password": func(o *directory.LDAPOptions) { o.BindDN = serviceDN },
		"bad URL":                  func(o *directory.LDAPOptions) { o.URLs = []string{"http://x"} },
		"no URL":                   func(o *directory.LDAPOptions) { o.URLs = nil },
		"bad filter":               func(o *directory.LDAPOptions) { o.UserFilter = "(objectClass=person" },
		"bad attribute":            func(o *directory.LDAPOptions) { o.Attributes.Mail = "mail)(uid=*" },
		"bad preset":               func(o *directory.LDAPOptions) { o.Preset = "novell" },
		"no local":                 func(o *directory.LDAPOptions) { o.Local = nil },
		"bad base":                 func(o *directory.LDAPOptions) { o.BaseDN = "not a dn" },
	}
	for name, mod := range cases {
		o := base
		mod(&o)
		if _, err := directory.NewLDAP(o); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := directory.NewLDAP(base); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

// The primary address is always a login, whatever LoginAttributes says.
func TestLDAPLoginByMailAlways(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.LoginAttributes = []string{"uid"} })
	a := mustAuth(t, e.LDAP, "carol@example.com", "carol-pw")
	if b := mustAuth(t, e.LDAP, "carol", "carol-pw"); b.ID != a.ID {
		t.Errorf("uid and mail logins give accounts %d and %d", b.ID, a.ID)
	}
	// An alias is an address to deliver to, not a login.
	wantAuthFailed(t, e.LDAP, "a.archer@example.com", "alice-pw")
}

// An LDAP user whose address a local account already has cannot be
// linked: asking for that user is an error (not "unknown"), and a group
// that contains the user still reaches its other members.
func TestLDAPAddressClash(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv)
	ctx := context.Background()
	if _, err := e.Dir.AddAccount(ctx, directory.NewAccount{Address: "carol@example.com", Password: "local-pw"}); err != nil {
		t.Fatal(err)
	}
	if r, err := e.LDAP.Resolve(ctx, "carol@example.com"); !errors.Is(err, directory.ErrExists) {
		t.Errorf("Resolve(carol) = %+v, %v; want ErrExists", r, err)
	}
	if _, err := e.LDAP.Authenticate(ctx, "carol", "carol-pw"); !errors.Is(err, directory.ErrExists) {
		t.Errorf("Authenticate(carol): %v; want ErrExists", err)
	}
	r, err := e.LDAP.Resolve(ctx, "all@example.com")
	if err != nil || !slices.Equal(addresses(r.Accounts), []string{"alice@example.com", "bob@example.com"}) {
		t.Errorf("Resolve(all) = %+v, %v; want alice and bob", r, err)
	}
	if !strings.Contains(e.Logs.String(), "belongs to another account") {
		t.Error("the clash was not logged")
	}
}

// Configured Domains decide alone which domains are local.
func TestLDAPConfiguredDomains(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.Domains = []string{"Example.COM", "lists.example.com"} })
	ctx := context.Background()
	for dom, want := range map[string]bool{"example.com": true, "lists.example.com": true, "partner.example": false} {
		if ok, err := e.LDAP.IsLocalDomain(ctx, dom); err != nil || ok != want {
			t.Errorf("IsLocalDomain(%s) = %v, %v; want %v", dom, ok, err, want)
		}
	}
	// Answered without the server.
	srv.Stop()
	if ok, err := e.LDAP.IsLocalDomain(ctx, "example.com"); err != nil || !ok {
		t.Errorf("IsLocalDomain during an outage = %v, %v", ok, err)
	}
}
