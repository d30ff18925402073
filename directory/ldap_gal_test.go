package directory_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
)

func galAddresses(es []directory.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Address
	}
	return out
}

// walkGAL pages through a query with limit-sized pages.
func walkGAL(t testing.TB, d directory.Directory, q string, limit int) []directory.Entry {
	t.Helper()
	var all []directory.Entry
	cursor := ""
	for pages := 0; ; pages++ {
		es, next, err := d.SearchGAL(context.Background(), q, limit, cursor)
		if err != nil {
			t.Fatalf("SearchGAL(%q, cursor %q): %v", q, cursor, err)
		}
		if len(es) > limit {
			t.Fatalf("page of %d entries for limit %d", len(es), limit)
		}
		all = append(all, es...)
		if next == "" {
			return all
		}
		if pages > 10000 {
			t.Fatal("SearchGAL never ends")
		}
		cursor = next
	}
}

func TestLDAPGAL(t *testing.T) {
	srv := startOpenLDAP(t, nil)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.CacheTTL = time.Minute })
	d := e.LDAP
	ctx := context.Background()
	alice := mustAuth(t, d, "alice", "alice-pw")

	all, next, err := d.SearchGAL(ctx, "", 100, "")
	if err != nil || next != "" {
		t.Fatalf("SearchGAL: %v, next %q", err, next)
	}
	// Sorted by display name (cn when there is none); dave (locked),
	// nomail (no address) and the contact outside the user subtree are
	// not listed.
	want := []string{"alice@example.com", "all@example.com", "bob@example.com", "carol@example.com", "eng@example.com", "frank@example.com", "ops@example.com", "sales@example.com"}
	if got := galAddresses(all); !slices.Equal(got, want) {
		t.Fatalf("GAL = %v\nwant %v", got, want)
	}
	a := all[0]
	if a.DisplayName != "Alice Archer" || a.Title != "Engineer" || a.Department != "R&D" || a.Phone != "+1 555 0101" ||
		a.Office != "Room 101" || a.Company != "Example Corp" || a.IsGroup || a.AccountID != alice.ID {
		t.Errorf("alice's entry = %+v", a)
	}
	if b := all[2]; b.DisplayName != "Bob Baker" || b.AccountID != 0 {
		t.Errorf("bob (never seen) = %+v; want no account id yet", b)
	}
	if c := all[3]; c.DisplayName != "Carol Cook" {
		t.Errorf("carol's name falls back to cn: %+v", c)
	}
	if g := all[4]; !g.IsGroup || g.DisplayName != "engineering" || g.AccountID != 0 {
		t.Errorf("engineering = %+v", g)
	}

	for q, want := range map[string][]string{
		"ali":         {"alice@example.com"},
		"ALI":         {"alice@example.com"},
		"arch":        {"alice@example.com"}, // surname: a later word of the name
		"a.arch":      {"alice@example.com"}, // an alias
		"alice.sales": {"alice@example.com"},
		"o'b":         {"frank@example.com"},
		"sales-t":     {"sales@example.com"}, // a group's alias
		"s":           {"sales@example.com"},
		"postmaster":  {"bob@example.com"},
		"dave":        nil,
		"zz":          nil,
	} {
		es, _, err := d.SearchGAL(ctx, q, 100, "")
		if err != nil || !slices.Equal(galAddresses(es), want) {
			t.Errorf("SearchGAL(%q) = %v, %v; want %v", q, galAddresses(es), err, want)
		}
	}
	// Small pages give the same list.
	if got := galAddresses(walkGAL(t, d, "", 3)); !slices.Equal(got, want) {
		t.Errorf("paged GAL = %v", got)
	}
}

// galPerson is one generated address-list user.
type galPerson struct{ given, sur, mail string }

var (
	givenNames = []string{"Anna", "Andrew", "Anton", "Boris", "Beatrice", "Carl", "Chloe", "Daria", "Dmitri", "Elena",
		"Emil", "Fiona", "Felix", "Galina", "George", "Hanna", "Igor", "Irene", "Jonas", "Julia", "Kirill", "Klara",
		"Leo", "Lidia", "Maxim", "Maria", "Nikolai", "Nora", "Oleg", "Olga", "Pavel", "Petra", "Quentin", "Raisa",
		"Roman", "Sofia", "Stepan", "Tatiana", "Timur", "Ulla", "Vadim", "Vera", "Walter", "Xenia", "Yuri", "Zoe"}
	surnames = []string{"Abramov", "Baker", "Chekhov", "Dalton", "Evans", "Fischer", "Gorky", "Hughes", "Ivanova",
		"Jensen", "Kuznetsov", "Lopez", "Morozov", "Novak", "Orlov", "Petrov", "Quinn", "Romanov", "Smirnov", "Turner",
		"Ulyanov", "Volkov", "Walsh", "Yakovlev", "Zaitsev", "Andersson", "Bauer", "Castro", "Dubois", "Ernst"}
)

// galLDIF makes n users under ou=people, deterministically.
func galLDIF(n int) ([]byte, []galPerson) {
	var b strings.Builder
	people := make([]galPerson, n)
	for i := range n {
		p := galPerson{given: givenNames[(i*7)%len(givenNames)], sur: surnames[(i*11+i/7)%len(surnames)]}
		p.mail = fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(p.given), strings.ToLower(p.sur), i)
		people[i] = p
		fmt.Fprintf(&b, "dn: uid=gal%d,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: gal%d\ncn: %s %s\nsn: %s\ngivenName: %s\ndisplayName: %s %s\nmail: %s\ntitle: Title %d\ndepartmentNumber: Dept %d\ntelephoneNumber: +1 555 %04d\nphysicalDeliveryOfficeName: Office %d\n\n",
			i, i, p.given, p.sur, p.sur, p.given, p.given, p.sur, p.mail, i%40, i%12, i, i%90)
	}
	return []byte(b.String()), people
}

// matches is what a GAL prefix query should find among generated people.
func (p galPerson) matches(q string) bool {
	q = strings.ToLower(q)
	return strings.HasPrefix(strings.ToLower(p.given), q) || strings.HasPrefix(strings.ToLower(p.sur), q) || strings.HasPrefix(p.mail, q)
}

// 5,000 people: a prefix matching more than slapd's default size limit
// (500 per search) still comes back whole, because the directory pages
// its LDAP searches (RFC 2696), and in display-name order.
func TestLDAPGALLarge(t *testing.T) {
	extra, people := galLDIF(5000)
	srv := startOpenLDAP(t, extra)
	e := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.CacheTTL = time.Minute; o.PageSize = 200 })
	generated := map[string]bool{}
	for _, p := range people {
		generated[p.mail] = true
	}
	for _, q := range []string{"a", "an", "Vera", "zoe.z"} {
		var want []string
		for _, p := range people {
			if p.matches(q) {
				want = append(want, p.mail)
			}
		}
		got := walkGAL(t, e.LDAP, q, 100)
		// The seed's own people match some prefixes too; keep the generated ones.
		var gen []string
		for _, en := range got {
			if generated[en.Address] {
				gen = append(gen, en.Address)
			}
		}
		slices.Sort(want)
		sortedGen := slices.Clone(gen)
		slices.Sort(sortedGen)
		if !slices.Equal(sortedGen, want) {
			t.Errorf("query %q: %d generated entries, want %d", q, len(gen), len(want))
		}
		if q == "a" && len(want) <= 500 {
			t.Fatalf("query %q matches only %d; the test needs more than slapd's size limit", q, len(want))
		}
		if !slices.IsSortedFunc(got, func(a, b directory.Entry) int {
			return strings.Compare(strings.ToLower(directory.EntrySortName(a))+"\x00"+a.Address, strings.ToLower(directory.EntrySortName(b))+"\x00"+b.Address)
		}) {
			t.Errorf("query %q: not in display-name order", q)
		}
	}
}

// BenchmarkLDAPGAL measures address-list prefix searches over 5,000
// entries in a real slapd: "cold" collects every match with paged LDAP
// searches and sorts them (cache off), "page" serves one page of 50 from
// the cached result, "walk" pages through all matches of a prefix.
func BenchmarkLDAPGAL(b *testing.B) {
	extra, _ := galLDIF(5000)
	srv := startOpenLDAP(b, extra)
	ctx := context.Background()
	prefixes := []string{"an", "bo", "ma", "se", "vo", "ol", "ca", "ju"}
	cold := newOpenLDAP(b, srv)
	warm := newOpenLDAP(b, srv, func(o *directory.LDAPOptions) { o.CacheTTL = time.Hour })
	b.Run("cold", func(b *testing.B) {
		n := 0
		for i := 0; b.Loop(); i++ {
			es, _, err := cold.LDAP.SearchGAL(ctx, prefixes[i%len(prefixes)], 50, "")
			if err != nil {
				b.Fatal(err)
			}
			n += len(es)
		}
		b.ReportMetric(float64(n)/float64(b.N), "entries/op")
	})
	b.Run("page", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, _, err := warm.LDAP.SearchGAL(ctx, prefixes[i%len(prefixes)], 50, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("walk", func(b *testing.B) {
		total := 0
		for i := 0; b.Loop(); i++ {
			total += len(walkGAL(b, cold.LDAP, prefixes[i%len(prefixes)], 100))
		}
		b.ReportMetric(float64(total)/float64(b.N), "entries/op")
	})
}
