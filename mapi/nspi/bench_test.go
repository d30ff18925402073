package nspi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
)

// benchPeople makes n people with distinct display names ("Ada K.
// Brook"), the shape of a company directory.
func benchPeople(n int) []person {
	rng := rand.New(rand.NewPCG(5, 8))
	seen := map[string]bool{}
	out := make([]person, 0, n)
	for i := 0; len(out) < n; i++ {
		name := fmt.Sprintf("%s %c. %s", givenNames[rng.IntN(len(givenNames))], 'A'+rng.IntN(26), familyNames[rng.IntN(len(familyNames))])
		if seen[name] {
			name = fmt.Sprintf("%s %d", name, i)
		}
		seen[name] = true
		out = append(out, person{login: fmt.Sprintf("user%05d", i), address: fmt.Sprintf("user%05d@example.com", i), name: name,
			title: "Staff", department: fmt.Sprintf("Dept %d", i%40)})
	}
	return out
}

const benchSize = 5000

// benchBooks are the two 5,000-person directories of the benchmarks.
func benchBooks(b *testing.B) map[string]func() (*Server, *directory.Account, []person) {
	people := benchPeople(benchSize)
	return map[string]func() (*Server, *directory.Account, []person){
		"local": func() (*Server, *directory.Account, []person) {
			env := testenv.New(b)
			ctx := context.Background()
			var first *directory.Account
			for i, p := range people {
				a, err := env.Dir.AddAccount(ctx, directory.NewAccount{Address: p.address, DisplayName: p.name,
					Source: "seed", ExternalID: fmt.Sprint(i), Title: p.title, Department: p.department})
				if err != nil {
					b.Fatal(err)
				}
				if first == nil {
					first = a
				}
			}
			return newServer(b, env.Dir), first, people
		},
		"ldap": func() (*Server, *directory.Account, []person) {
			return ldapBench(b, people, time.Minute)
		},
		// Every SearchGAL a search of slapd.
		"ldap-nocache": func() (*Server, *directory.Account, []person) {
			return ldapBench(b, people, 0)
		},
	}
}

func ldapBench(b *testing.B, people []person, cacheTTL time.Duration) (*Server, *directory.Account, []person) {
	d, _ := ldapDirectory(b, startSlapd(b, people, false), func(o *directory.LDAPOptions) { o.CacheTTL = cacheTTL })
	acc, err := d.Authenticate(context.Background(), people[0].login, people[0].login+"-pw")
	if err != nil {
		b.Fatal(err)
	}
	return newServer(b, d), acc, people
}

// measure runs op b.N times and reports the median and 99th percentile
// latency of one call.
func measure(b *testing.B, op func(i int)) {
	lat := make([]time.Duration, 0, max(b.N, 1))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		op(i)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds()), "p99-µs")
}

// BenchmarkResolveNames resolves one name per call against a 5,000-person
// directory, cycling through an exact address, a full name (resolved), a
// family name (ambiguous) and an unknown name.
func BenchmarkResolveNames(b *testing.B) {
	for _, name := range []string{"local", "ldap", "ldap-nocache"} {
		b.Run(name, func(b *testing.B) {
			srv, acc, people := benchBooks(b)[name]()
			c := bind(b, srv, acc)
			cols := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagSmtpAddress, mapiprop.PidTagEntryId,
				mapiprop.PidTagAddressType, mapiprop.PidTagEmailAddress, mapiprop.PidTagObjectType, mapiprop.PidTagDisplayType}
			rng := rand.New(rand.NewPCG(3, 4))
			want := []uint32{MIdResolved, MIdResolved, MIdAmbiguous, MIdUnresolved}
			measure(b, func(i int) {
				p := people[rng.IntN(len(people))]
				q := []string{p.address, p.name, familyNames[i%len(familyNames)], fmt.Sprintf("Nobody %d", i)}[i%4]
				var resp ResolveNamesResponse
				c.do(&ResolveNamesRequest{State: stat(0, 0), PropertyTags: cols, Names: []string{q}}, &resp)
				if resp.ErrorCode != 0 || resp.MinimalIDs[0] != want[i%4] {
					b.Fatalf("ResolveNames(%q) = %v, %v", q, resp.MinimalIDs, resp.ErrorCode)
				}
			})
		})
	}
}

// BenchmarkGetMatches runs a display-name prefix restriction (what
// Outlook's "type to find" sends) for up to 50 rows per call.
func BenchmarkGetMatches(b *testing.B) {
	for _, name := range []string{"local", "ldap", "ldap-nocache"} {
		b.Run(name, func(b *testing.B) {
			srv, acc, people := benchBooks(b)[name]()
			c := bind(b, srv, acc)
			cols := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagSmtpAddress, mapiprop.PidTagEntryId, mapiprop.PidTagDisplayType}
			rng := rand.New(rand.NewPCG(9, 9))
			measure(b, func(i int) {
				p := people[rng.IntN(len(people))]
				prefix := p.name[:min(len(p.name), 3+i%5)]
				res := &mapiprop.ContentRestriction{FuzzyLevelLow: mapiprop.FuzzyPrefix, FuzzyLevelHigh: mapiprop.FuzzyIgnoreCase,
					PropTag: mapiprop.PidTagDisplayName, Value: mapiprop.StringValue(mapiprop.PidTagDisplayName, prefix)}
				var resp GetMatchesResponse
				c.do(&GetMatchesRequest{State: stat(0, 0), Filter: res, RowCount: 50, Columns: cols}, &resp)
				if resp.ErrorCode != 0 || len(resp.MinimalIDs) == 0 || len(resp.MinimalIDs) > 50 ||
					!strings.HasPrefix(strings.ToLower(str(resp.Rows.Rows[0], mapiprop.PidTagDisplayName)), strings.ToLower(prefix)) {
					b.Fatalf("GetMatches(%q): %v, %d MIds", prefix, resp.ErrorCode, len(resp.MinimalIDs))
				}
			})
		})
	}
}

// BenchmarkQueryRowsWalk reads the whole 5,000-person GAL 100 rows at a
// time, as ruler does; one op is one QueryRows.
func BenchmarkQueryRowsWalk(b *testing.B) {
	for _, name := range []string{"local", "ldap", "ldap-nocache"} {
		b.Run(name, func(b *testing.B) {
			srv, acc, _ := benchBooks(b)[name]()
			c := bind(b, srv, acc)
			cols := []mapiprop.Tag{mapiprop.PidTagDisplayName, mapiprop.PidTagSmtpAddress}
			st := stat(0, MIdBeginningOfTable)
			measure(b, func(int) {
				var resp QueryRowsResponse
				c.do(&QueryRowsRequest{State: st, RowCount: 100, Columns: cols}, &resp)
				if resp.ErrorCode != 0 {
					b.Fatal(resp.ErrorCode)
				}
				st = resp.State
				if st.CurrentRec == MIdEndOfTable {
					st = stat(0, MIdBeginningOfTable)
				}
			})
		})
	}
}
