package nspi

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/slapdtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
)

// testLegacyDN and testParseLegacyDN follow mapi.LegacyDN and
// mapi.ParseLegacyDN (package mapi imports this one, so its tests cannot
// import mapi); the endpoint's tests in package mapi check the real pair.
const testRecipients = "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="

func testLegacyDN(a *directory.Account) string {
	local, _, _ := strings.Cut(a.Address, "@")
	return testRecipients + strconv.FormatInt(a.ID, 16) + "-" + local
}

func testParseLegacyDN(dn string) (int64, bool) {
	if len(dn) <= len(testRecipients) || !strings.EqualFold(dn[:len(testRecipients)], testRecipients) {
		return 0, false
	}
	hexID, _, ok := strings.Cut(dn[len(testRecipients):], "-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(hexID, 16, 64)
	return id, err == nil && id > 0
}

// person is one entry of the test address book, created the same way in
// the local directory and in slapd.
type person struct {
	login, address, name, title, department, phone, office, company string
	aliases                                                         []string
}

var testPeople = []person{
	{login: "alice", address: "alice@example.com", name: "Alice Archer", title: "Engineer", department: "R&D",
		phone: "+1 555 0101", office: "Room 101", company: "Example Corp", aliases: []string{"a.archer@example.com"}},
	{login: "bob", address: "bob@example.com", name: "Bob Baker", title: "Operator", department: "Operations"},
	{login: "chris.carter", address: "chris.carter@example.com", name: "Chris Carter"},
	{login: "chris.cole", address: "chris.cole@example.com", name: "Chris Cole"},
	{login: "dora", address: "dora@example.com", name: "Dora Diaz"},
	{login: "zoe", address: "zoe@example.com", name: "Zoe Unal"},
}

// testGroup is the one distribution list, with alice and bob.
const (
	testGroupAddress = "sales@example.com"
	testGroupName    = "Sales Team"
)

// wantGAL is the address list in display name order.
var wantGAL = []string{"Alice Archer", "Bob Baker", "Chris Carter", "Chris Cole", "Dora Diaz", "Sales Team", "Zoe Unal"}

// book is an address book server over a seeded directory, and the
// accounts that can log in to it.
type book struct {
	srv      *Server
	dir      directory.Directory
	accounts map[string]*directory.Account // by login
}

func newServer(t testing.TB, dir directory.Directory, mod ...func(*Options)) *Server {
	t.Helper()
	o := Options{
		Directory: dir, LegacyDN: testLegacyDN, ParseLegacyDN: testParseLegacyDN,
		HomeMDB: "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=mail/cn=Microsoft Private MDB",
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, m := range mod {
		m(&o)
	}
	s, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// localBook seeds a directory.Local.
func localBook(t testing.TB, mod ...func(*Options)) *book {
	t.Helper()
	env := testenv.New(t)
	ctx := context.Background()
	b := &book{dir: env.Dir, accounts: map[string]*directory.Account{}}
	for _, p := range testPeople {
		a, err := env.Dir.AddAccount(ctx, directory.NewAccount{Address: p.address, Password: p.login + "-pw", DisplayName: p.name,
			Title: p.title, Department: p.department, Phone: p.phone, Office: p.office, Company: p.company})
		if err != nil {
			t.Fatal(err)
		}
		for _, al := range p.aliases {
			if err := env.Dir.AddAlias(ctx, al, a.ID); err != nil {
				t.Fatal(err)
			}
		}
		b.accounts[p.login] = a
	}
	if err := env.Dir.AddGroup(ctx, testGroupAddress, testGroupName); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"alice@example.com", "bob@example.com"} {
		if err := env.Dir.AddGroupMember(ctx, testGroupAddress, m); err != nil {
			t.Fatal(err)
		}
	}
	b.srv = newServer(t, env.Dir, mod...)
	return b
}

// peopleLDIF is the slapd seed: the suffix, people and groups under it.
func peopleLDIF(people []person, groups bool) []byte {
	var sb strings.Builder
	sb.WriteString("dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Corp\n\n")
	sb.WriteString("dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n")
	sb.WriteString("dn: ou=groups,dc=example,dc=com\nobjectClass: organizationalUnit\nou: groups\n\n")
	for _, p := range people {
		sn := p.name[strings.LastIndexByte(p.name, ' ')+1:]
		given, _, _ := strings.Cut(p.name, " ")
		fmt.Fprintf(&sb, "dn: uid=%s,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: mailRecipient\n", p.login)
		fmt.Fprintf(&sb, "uid: %s\ncn: %s\nsn: %s\ngivenName: %s\ndisplayName: %s\nmail: %s\nuserPassword: %s-pw\n",
			p.login, p.name, sn, given, p.name, p.address, p.login)
		for _, al := range p.aliases {
			fmt.Fprintf(&sb, "mailAlternateAddress: %s\n", al)
		}
		for attr, v := range map[string]string{"title": p.title, "departmentNumber": p.department,
			"telephoneNumber": p.phone, "physicalDeliveryOfficeName": p.office, "o": p.company} {
			if v != "" {
				fmt.Fprintf(&sb, "%s: %s\n", attr, v)
			}
		}
		sb.WriteString("\n")
	}
	if groups {
		fmt.Fprintf(&sb, "dn: cn=%s,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\nobjectClass: mailRecipient\ncn: %s\nmail: %s\n",
			testGroupName, testGroupName, testGroupAddress)
		sb.WriteString("member: uid=alice,ou=people,dc=example,dc=com\nmember: uid=bob,ou=people,dc=example,dc=com\n\n")
	}
	return []byte(sb.String())
}

// startSlapd starts a slapd seeded with people (and the test group).
func startSlapd(t testing.TB, people []person, groups bool) *slapdtest.Server {
	t.Helper()
	schema, err := filepath.Abs(filepath.Join("testdata", "mailrecipient.schema"))
	if err != nil {
		t.Fatal(err)
	}
	return slapdtest.Start(t, slapdtest.Options{
		LDIF:           peopleLDIF(people, groups),
		Schemas:        []string{schema},
		DatabaseConfig: "index uid,mail,mailAlternateAddress,cn,sn,givenName,displayName eq,sub\nindex member eq\n",
	})
}

// ldapDirectory is a directory.LDAP over srv, linked to a fresh local
// directory, with the GAL cache a production setup has.
func ldapDirectory(t testing.TB, srv *slapdtest.Server, mod ...func(*directory.LDAPOptions)) (*directory.LDAP, *testenv.Env) {
	t.Helper()
	env := testenv.New(t)
	o := directory.LDAPOptions{
		Preset: "openldap", URLs: []string{srv.URL}, BindDN: srv.AdminDN, BindPassword: srv.AdminPassword,
		BaseDN: "ou=people,dc=example,dc=com", GroupBaseDN: "ou=groups,dc=example,dc=com",
		Timeout: 10 * time.Second, CacheTTL: time.Minute, Local: env.Dir,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, m := range mod {
		m(&o)
	}
	d, err := directory.NewLDAP(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, env
}

// ldapBook seeds slapd with the test people and logs each in once, as
// their first Outlook start would, so they have accounts.
func ldapBook(t testing.TB, mod ...func(*Options)) *book {
	t.Helper()
	srv := startSlapd(t, testPeople, true)
	d, _ := ldapDirectory(t, srv)
	b := &book{dir: d, accounts: map[string]*directory.Account{}}
	for _, p := range testPeople {
		a, err := d.Authenticate(context.Background(), p.login, p.login+"-pw")
		if err != nil {
			t.Fatalf("Authenticate(%s): %v", p.login, err)
		}
		b.accounts[p.login] = a
	}
	b.srv = newServer(t, d, mod...)
	return b
}

// client drives a Server in process, the way the transport does.
type client struct {
	t    testing.TB
	srv  *Server
	acc  *directory.Account
	sess *Session
	guid mapiprop.GUID
}

// do sends req and decodes the answer into resp.
func (c *client) do(req, resp Message) {
	c.t.Helper()
	body, err := Marshal(req)
	if err != nil {
		c.t.Fatal(err)
	}
	out, ns, err := c.srv.Handle(context.Background(), RequestType(req), c.acc, c.sess, body)
	if err != nil {
		c.t.Fatalf("%s: %v", RequestType(req), err)
	}
	if ns != nil {
		c.sess = ns
	}
	if err := Unmarshal(out, resp); err != nil {
		c.t.Fatalf("%s response: %v", RequestType(req), err)
	}
}

// bind opens a session for acc.
func bind(t testing.TB, srv *Server, acc *directory.Account) *client {
	t.Helper()
	c := &client{t: t, srv: srv, acc: acc}
	var resp BindResponse
	c.do(&BindRequest{State: &STAT{CodePage: 1252, TemplateLocale: 1033, SortLocale: 1033}}, &resp)
	if resp.StatusCode != 0 || resp.ErrorCode != 0 || c.sess == nil {
		t.Fatalf("Bind: %+v", resp)
	}
	c.guid = resp.ServerGUID
	return c
}

func stat(container, current uint32) *STAT {
	return &STAT{ContainerID: container, CurrentRec: current, CodePage: 1252, TemplateLocale: 1033, SortLocale: 1033}
}

// str returns the string value of a row's column by property ID.
func str(row mapiprop.PropertyRow, tag mapiprop.Tag) string {
	v, ok := row.Get(tag.ID())
	if !ok {
		return ""
	}
	s, _ := v.AsString()
	return s
}
