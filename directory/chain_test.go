package directory_test

import (
	"context"
	"slices"
	"testing"

	"github.com/pochta/pochta/directory"
)

func TestChain(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv)
	ctx := context.Background()
	svc, err := e.Dir.AddAccount(ctx, directory.NewAccount{Address: "scanner@example.com", Password: "scan-pw", DisplayName: "Office Scanner"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Dir.AddAlias(ctx, "printer@example.com", svc.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Dir.AddGroup(ctx, "helpdesk@example.com", "Helpdesk"); err != nil {
		t.Fatal(err)
	}
	if err := e.Dir.AddGroupMember(ctx, "helpdesk@example.com", "scanner@example.com"); err != nil {
		t.Fatal(err)
	}
	c := directory.NewChain(e.LDAP, e.Dir, nil)

	alice := mustAuth(t, c, "alice", "alice-pw")
	if alice.Source != "ldap" {
		t.Errorf("alice = %+v", alice)
	}
	if s := mustAuth(t, c, "scanner@example.com", "scan-pw"); s.ID != svc.ID {
		t.Errorf("scanner = %+v", s)
	}
	wantAuthFailed(t, c, "scanner@example.com", "wrong")
	wantAuthFailed(t, c, "alice", "wrong")
	wantAuthFailed(t, c, "alice@example.com", "")
	// alice's linked row is not a local login.
	wantAuthFailed(t, e.Dir, "alice@example.com", "alice-pw")

	for addr, want := range map[string][]int64{
		"alice@example.com":    {alice.ID},
		"scanner@example.com":  {svc.ID},
		"printer@example.com":  {svc.ID},
		"helpdesk@example.com": {svc.ID},
	} {
		r, err := c.Resolve(ctx, addr)
		if err != nil || !slices.Equal(accountIDs(r.Accounts), want) {
			t.Errorf("Resolve(%s) = %+v, %v; want accounts %v", addr, r, err, want)
		}
	}
	if r, err := c.Resolve(ctx, "all@example.com"); err != nil || r.Kind != directory.KindGroup || len(r.Accounts) != 3 {
		t.Errorf("Resolve(all) = %+v, %v", r, err)
	}
	if r, err := c.Resolve(ctx, "nobody@example.com"); err != nil || r.Kind != directory.Unknown {
		t.Errorf("Resolve(nobody) = %+v, %v", r, err)
	}
	if a, err := c.Account(ctx, svc.ID); err != nil || a.Address != "scanner@example.com" {
		t.Errorf("Account(scanner) = %+v, %v", a, err)
	}
	if addrs, err := c.Addresses(ctx, svc.ID); err != nil || !slices.Equal(addrs, []string{"scanner@example.com", "printer@example.com"}) {
		t.Errorf("Addresses(scanner) = %v, %v", addrs, err)
	}
	if addrs, err := c.Addresses(ctx, alice.ID); err != nil || len(addrs) != 3 {
		t.Errorf("Addresses(alice) = %v, %v", addrs, err)
	}

	// One address list: LDAP's people and groups, the local service
	// account and group, alice once although she also has a local row.
	all, _, err := c.SearchGAL(ctx, "", 100, "")
	want := []string{"alice@example.com", "all@example.com", "bob@example.com", "carol@example.com", "eng@example.com",
		"frank@example.com", "helpdesk@example.com", "scanner@example.com", "ops@example.com", "sales@example.com"}
	if err != nil || !slices.Equal(galAddresses(all), want) {
		t.Fatalf("chain GAL = %v, %v\nwant %v", galAddresses(all), err, want)
	}
	if all[0].AccountID != alice.ID {
		t.Errorf("alice's entry has account %d, want %d", all[0].AccountID, alice.ID)
	}
	for _, limit := range []int{1, 2, 3} {
		if got := galAddresses(walkGAL(t, c, "", limit)); !slices.Equal(got, want) {
			t.Errorf("chain GAL in pages of %d = %v", limit, got)
		}
	}
	if es, _, err := c.SearchGAL(ctx, "off", 10, ""); err != nil || !slices.Equal(galAddresses(es), []string{"scanner@example.com"}) {
		t.Errorf("chain GAL(off) = %v, %v", galAddresses(es), err)
	}

	// LDAP down: the service account still works; LDAP people get
	// "unavailable", and so does anything Local cannot answer alone.
	srv.Stop()
	mustAuth(t, c, "scanner@example.com", "scan-pw")
	_, err = c.Authenticate(ctx, "alice", "alice-pw")
	wantUnavailable(t, "chain Authenticate(alice)", err)
	_, err = c.Authenticate(ctx, "scanner@example.com", "wrong")
	wantUnavailable(t, "chain Authenticate(scanner, wrong)", err)
	if r, err := c.Resolve(ctx, "printer@example.com"); err != nil || !slices.Equal(accountIDs(r.Accounts), []int64{svc.ID}) {
		t.Errorf("Resolve(printer) during the outage = %+v, %v", r, err)
	}
	_, err = c.Resolve(ctx, "alice@example.com")
	wantUnavailable(t, "chain Resolve(alice)", err)
	_, err = c.Resolve(ctx, "nobody@example.com")
	wantUnavailable(t, "chain Resolve(nobody)", err)
	if _, err := c.Account(ctx, svc.ID); err != nil {
		t.Errorf("Account(scanner) during the outage: %v", err)
	}
	_, err = c.Account(ctx, alice.ID)
	wantUnavailable(t, "chain Account(alice)", err)
	wantUnavailable(t, "chain Health", c.Health(ctx))

	srv.Start()
	mustAuth(t, c, "alice", "alice-pw")
	if err := c.Health(ctx); err != nil {
		t.Errorf("Health after restart: %v", err)
	}
}
