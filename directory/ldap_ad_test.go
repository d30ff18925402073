package directory_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/testutil/slapdtest"
)

// startAD starts slapd dressed as an Active Directory domain controller
// (testdata/ad-emulation.schema, testdata/ad.ldif).
func startAD(t testing.TB) *slapdtest.Server {
	t.Helper()
	seed, err := os.ReadFile(testdataPath(t, "ad.ldif"))
	if err != nil {
		t.Fatal(err)
	}
	return slapdtest.Start(t, slapdtest.Options{
		Suffix:  "DC=corp,DC=example",
		LDIF:    seed,
		Schemas: []string{testdataPath(t, "ad-emulation.schema")},
		DatabaseConfig: `index sAMAccountName,userPrincipalName,mail,proxyAddresses,cn,sn,givenName,displayName eq,sub
index memberOf,member,objectGUID eq
access to attrs=userPassword by anonymous auth by * none
access to * by * read
`,
	})
}

func newAD(t testing.TB, srv *slapdtest.Server, mod ...func(*directory.LDAPOptions)) *ldapEnv {
	t.Helper()
	return newOpenLDAP(t, srv, append([]func(*directory.LDAPOptions){func(o *directory.LDAPOptions) {
		o.Preset = "activedirectory"
		o.BindDN, o.BindPassword = "CN=svc-pochta,OU=Services,DC=corp,DC=example", servicePW
		o.BaseDN, o.GroupBaseDN = "OU=Users,DC=corp,DC=example", "OU=Groups,DC=corp,DC=example"
	}}, mod...)...)
}

func TestLDAPActiveDirectoryPreset(t *testing.T) {
	srv := startAD(t)
	e := newAD(t, srv, func(o *directory.LDAPOptions) { o.CacheTTL = time.Minute })
	d := e.LDAP
	ctx := context.Background()

	ivan := mustAuth(t, d, "ipetrov", "ivan-pw")
	// objectGUID is binary: kept as hex, and searched for with every
	// special byte escaped (Account below finds the entry by it).
	if ivan.Address != "ivan.petrov@example.org" || ivan.ExternalID != "hex:002a28295cff10204142434445464748" ||
		ivan.Department != "Sales" || ivan.Company != "Corp" || ivan.Title != "Account Manager" {
		t.Errorf("ivan = %+v", ivan)
	}
	for _, login := range []string{"IPETROV", "ipetrov@corp.example", "ivan.petrov@example.org"} {
		if a := mustAuth(t, d, login, "ivan-pw"); a.ID != ivan.ID {
			t.Errorf("login %q: account %d, want %d", login, a.ID, ivan.ID)
		}
	}
	wantAuthFailed(t, d, "ipetrov", "olga-pw")
	// userAccountControl 514: ACCOUNTDISABLE.
	wantAuthFailed(t, d, "ddan", "dan-pw")
	// 66048 = NORMAL_ACCOUNT|DONT_EXPIRE_PASSWORD: not disabled. Olga has
	// no mail attribute; her SMTP: proxy address is her primary.
	olga := mustAuth(t, d, "osmirnova", "olga-pw")
	if olga.Address != "olga.smirnova@example.org" {
		t.Errorf("olga = %+v", olga)
	}

	for addr, want := range map[string]int64{"ivan@example.org": ivan.ID, "IVAN@example.org": ivan.ID, "olga@example.org": olga.ID} {
		r, err := d.Resolve(ctx, addr)
		if err != nil || r.Kind != directory.KindAccount || r.Accounts[0].ID != want {
			t.Errorf("Resolve(%s) = %+v, %v", addr, r, err)
		}
	}
	// Only smtp: values are addresses.
	for _, addr := range []string{"sip:ivan.petrov@example.org", "c=RU;a= ;p=Corp;o=Exchange;s=Petrov;g=Ivan;", "nobody@example.org"} {
		if r, err := d.Resolve(ctx, addr); err != nil || r.Kind != directory.Unknown {
			t.Errorf("Resolve(%q) = %+v, %v; want Unknown", addr, r, err)
		}
	}
	// Groups expand through memberOf, nested and looping.
	for addr, want := range map[string][]string{
		"all-ru@example.org":   {"ivan.petrov@example.org", "olga.smirnova@example.org"},
		"moscow@example.org":   {"ivan.petrov@example.org", "olga.smirnova@example.org"},
		"vertrieb@example.org": {"ivan.petrov@example.org"},
	} {
		r, err := d.Resolve(ctx, addr)
		if err != nil || r.Kind != directory.KindGroup || !slices.Equal(addresses(r.Accounts), want) {
			t.Errorf("Resolve(%s) = %+v, %v; want %v", addr, r, err, want)
		}
	}

	if a, err := d.Account(ctx, ivan.ID); err != nil || a.Address != "ivan.petrov@example.org" || a.Disabled {
		t.Errorf("Account(ivan) = %+v, %v", a, err)
	}
	if addrs, err := d.Addresses(ctx, ivan.ID); err != nil || !slices.Equal(addrs, []string{"ivan.petrov@example.org", "ivan@example.org"}) {
		t.Errorf("Addresses(ivan) = %v, %v", addrs, err)
	}
	r, err := d.Resolve(ctx, "dan@example.org")
	if err != nil || r.Kind != directory.KindAccount {
		t.Fatalf("Resolve(dan) = %+v, %v", r, err)
	}
	if a, err := d.Account(ctx, r.Accounts[0].ID); err != nil || !a.Disabled {
		t.Errorf("Account(dan) = %+v, %v; want Disabled", a, err)
	}

	es, _, err := d.SearchGAL(ctx, "", 100, "")
	want := []string{"all-ru@example.org", "ivan.petrov@example.org", "moscow@example.org", "olga.smirnova@example.org", "sales@example.org"}
	if err != nil || !slices.Equal(galAddresses(es), want) {
		t.Errorf("GAL = %v, %v; want %v", galAddresses(es), err, want)
	}
	if es, _, err := d.SearchGAL(ctx, "vert", 100, ""); err != nil || !slices.Equal(galAddresses(es), []string{"sales@example.org"}) {
		t.Errorf("GAL(vert) = %v, %v", galAddresses(es), err)
	}
}
