package nspi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
)

// countingDirectory counts SearchGAL calls and the entries they return.
type countingDirectory struct {
	directory.Directory
	mu      sync.Mutex
	calls   int
	entries int
}

func (c *countingDirectory) SearchGAL(ctx context.Context, q string, limit int, cursor string) ([]directory.Entry, string, error) {
	es, next, err := c.Directory.SearchGAL(ctx, q, limit, cursor)
	c.mu.Lock()
	c.calls++
	c.entries += len(es)
	c.mu.Unlock()
	return es, next, err
}

func (c *countingDirectory) take() (calls, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls, entries = c.calls, c.entries
	c.calls, c.entries = 0, 0
	return calls, entries
}

var givenNames = []string{"Ada", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena", "Milo", "Nia", "Otto"}
var familyNames = []string{"Abe", "Brook", "Cruz", "Dale", "Ellis", "Ford", "Grey", "Hale", "Iver", "Jones", "Kerr", "Lee", "Moss", "Nash"}

// seedLocal adds n people to a local directory quickly (accounts of an
// external source have no password to hash), with repeated names and a
// few without a display name, and returns the directory's own order.
func seedLocal(t testing.TB, env *testenv.Env, n int) []directory.Entry {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range n {
		name := givenNames[rng.IntN(len(givenNames))] + " " + familyNames[rng.IntN(len(familyNames))]
		if i%50 == 7 {
			name = ""
		}
		_, err := env.Dir.AddAccount(ctx, directory.NewAccount{Address: fmt.Sprintf("user%05d@example.com", i),
			DisplayName: name, Source: "seed", ExternalID: fmt.Sprint(i), Title: "Staff", Department: fmt.Sprintf("Dept %d", i%7)})
		if err != nil {
			t.Fatal(err)
		}
	}
	var all []directory.Entry
	cursor := ""
	for {
		page, next, err := env.Dir.SearchGAL(ctx, "", 1000, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

// The cursor this package builds for "after this entry" is the one the
// directories return: paging from it continues exactly where SearchGAL's
// own cursor does.
func TestCursorFormatMatchesDirectory(t *testing.T) {
	env := testenv.New(t)
	seedLocal(t, env, 30)
	check := func(t *testing.T, d directory.Directory) {
		ctx := context.Background()
		page, next, err := d.SearchGAL(ctx, "", 4, "")
		if err != nil || len(page) != 4 {
			t.Fatalf("SearchGAL: %d entries, %v", len(page), err)
		}
		if got := keyOf(page[3]).cursorAfter(); got != next {
			t.Fatalf("cursor after %+v = %q, the directory says %q", page[3], got, next)
		}
		// A cursor at a name starts at the first entry not before it.
		page, _, err = d.SearchGAL(ctx, "", 2, cursorAtName("Dale"))
		if err != nil || len(page) == 0 || keyOf(page[0]).name < "dale" {
			t.Fatalf("cursor at a name: %+v, %v", page, err)
		}
	}
	t.Run("local", func(t *testing.T) { check(t, env.Dir) })
	t.Run("ldap", func(t *testing.T) {
		people := make([]person, 0, 30)
		for i := range 30 {
			people = append(people, person{login: fmt.Sprintf("u%02d", i), address: fmt.Sprintf("u%02d@example.com", i),
				name: givenNames[i%len(givenNames)] + " " + familyNames[i%len(familyNames)]})
		}
		d, _ := ldapDirectory(t, startSlapd(t, people, false))
		check(t, d)
	})
}

// Browsing a directory larger than a window and than several checkpoints:
// every position, seek and comparison agrees with the directory's order,
// and no request reads more than a checkpoint's distance plus its rows.
func TestBrowsingLargeDirectory(t *testing.T) {
	env := testenv.New(t)
	want := seedLocal(t, env, 347)
	cd := &countingDirectory{Directory: env.Dir}
	srv := newServer(t, cd)
	srv.readAhead, srv.windowMax = 10, 40
	c := bind(t, srv, &directory.Account{ID: 1, Address: want[0].Address})
	cols := []mapiprop.Tag{mapiprop.PidTagSmtpAddress}
	addr := func(r mapiprop.PropertyRow) string { return str(r, mapiprop.PidTagSmtpAddress) }

	// The whole walk, 37 rows at a time.
	st := stat(0, MIdBeginningOfTable)
	var got []string
	for st.CurrentRec != MIdEndOfTable {
		var resp QueryRowsResponse
		c.do(&QueryRowsRequest{State: st, RowCount: 37, Columns: cols}, &resp)
		if resp.ErrorCode != 0 || len(resp.Rows.Rows) > 37 {
			t.Fatalf("QueryRows: %v, %d rows", resp.ErrorCode, len(resp.Rows.Rows))
		}
		for _, r := range resp.Rows.Rows {
			got = append(got, addr(r))
		}
		st = resp.State
		if len(got) > len(want) {
			t.Fatal("the walk does not end")
		}
	}
	if len(got) != len(want) {
		t.Fatalf("walked %d rows of %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i].Address {
			t.Fatalf("row %d is %s, want %s", i, got[i], want[i].Address)
		}
	}

	cd.take()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		p := rng.IntN(len(want))
		// Absolute: the beginning plus a Delta.
		s := stat(0, MIdBeginningOfTable)
		s.Delta = int32(p)
		var resp QueryRowsResponse
		c.do(&QueryRowsRequest{State: s, RowCount: 3, Columns: cols}, &resp)
		if addr(resp.Rows.Rows[0]) != want[p].Address || resp.State.NumPos != uint32(min(p+3, len(want))) {
			t.Fatalf("position %d: %s at NumPos %d, want %s", p, addr(resp.Rows.Rows[0]), resp.State.NumPos, want[p].Address)
		}
		calls, entries := cd.take()
		if calls > 2 || entries > censusStep+3+srv.readAhead+1 {
			t.Fatalf("position %d cost %d SearchGAL calls and %d entries", p, calls, entries)
		}
		// Fractional: NumPos out of TotalRecs.
		s = stat(0, MIdCurrent)
		s.NumPos, s.TotalRecs = uint32(p*2), uint32(len(want)*2)
		c.do(&QueryRowsRequest{State: s, RowCount: 1, Columns: cols}, &resp)
		if addr(resp.Rows.Rows[0]) != want[p].Address {
			t.Fatalf("fractional %d/%d: %s, want %s", p*2, len(want)*2, addr(resp.Rows.Rows[0]), want[p].Address)
		}
		cd.take()
	}

	// From a MId read long ago (outside the session's window).
	var first QueryRowsResponse
	c.do(&QueryRowsRequest{State: stat(0, MIdBeginningOfTable), RowCount: 1, Columns: cols}, &first)
	farMId := first.State.CurrentRec // the MId of row 1
	s := stat(0, MIdBeginningOfTable)
	s.Delta = 300
	var resp QueryRowsResponse
	c.do(&QueryRowsRequest{State: s, RowCount: 1, Columns: cols}, &resp)
	c.do(&QueryRowsRequest{State: stat(0, farMId), RowCount: 2, Columns: cols}, &resp)
	if addr(resp.Rows.Rows[0]) != want[1].Address || resp.State.NumPos != 3 {
		t.Fatalf("from a far MId: %s at %d", addr(resp.Rows.Rows[0]), resp.State.NumPos)
	}

	// SeekEntries lands on the first name not before the target.
	for _, target := range []string{"b", "Dan Ford", "hana", "Otto Z", "user"} {
		tv := mapiprop.StringValue(mapiprop.PidTagDisplayName, target)
		var seek SeekEntriesResponse
		c.do(&SeekEntriesRequest{State: stat(0, 0), Target: &tv, Columns: cols}, &seek)
		wantPos := len(want)
		for i, e := range want {
			if keyOf(e).name >= keyOf(directory.Entry{DisplayName: target}).name {
				wantPos = i
				break
			}
		}
		if wantPos == len(want) {
			if seek.ErrorCode != mapiprop.ErrNotFound {
				t.Errorf("seek %q past the end: %v", target, seek.ErrorCode)
			}
			continue
		}
		if seek.ErrorCode != 0 || seek.State.NumPos != uint32(wantPos) || addr(seek.Rows.Rows[0]) != want[wantPos].Address {
			t.Errorf("seek %q: %v at %d, want %d (%s)", target, seek.ErrorCode, seek.State.NumPos, wantPos, want[wantPos].Address)
		}
	}

	// CompareMIds agrees with the order.
	mid := func(i int) uint32 {
		m, ok := srv.mids.byAddress(want[i].Address)
		if !ok {
			t.Fatalf("no MId for row %d", i)
		}
		return m
	}
	for range 20 {
		i, j := rng.IntN(len(want)), rng.IntN(len(want))
		var cmp CompareMIdsResponse
		c.do(&CompareMIdsRequest{State: stat(0, 0), MinimalID1: mid(i), MinimalID2: mid(j)}, &cmp)
		if cmp.ErrorCode != 0 || (i < j) != (cmp.Compared < 0) || (i == j) != (cmp.Compared == 0) {
			t.Fatalf("CompareMIds(row %d, row %d) = %d, %v", i, j, cmp.Compared, cmp.ErrorCode)
		}
	}
}

// The census follows the directory once it is older than CensusTTL, and
// a MId's snapshot once it is older than EntryTTL.
func TestCensusAndEntriesFollowTheDirectory(t *testing.T) {
	b := localBook(t)
	now := time.Now()
	b.srv.now = func() time.Time { return now }
	c := bind(t, b.srv, b.accounts["alice"])
	total := func() uint32 {
		var resp QueryRowsResponse
		c.do(&QueryRowsRequest{State: stat(0, 0), RowCount: 1}, &resp)
		return resp.State.TotalRecs
	}
	if n := total(); n != uint32(len(wantGAL)) {
		t.Fatalf("TotalRecs %d", n)
	}
	ctx := context.Background()
	local := b.dir.(*directory.Local)
	if _, err := local.AddAccount(ctx, directory.NewAccount{Address: "eve@example.com", DisplayName: "Eve Evans", Source: "seed", ExternalID: "eve"}); err != nil {
		t.Fatal(err)
	}
	if n := total(); n != uint32(len(wantGAL)) {
		t.Fatalf("TotalRecs %d before the census expires", n)
	}
	now = now.Add(2 * time.Minute)
	// The stale census still answers while a new one is built.
	if n := total(); n != uint32(len(wantGAL)) {
		t.Fatalf("TotalRecs %d while the census is rebuilt", n)
	}
	b.srv.gal.waitBuild()
	if n := total(); n != uint32(len(wantGAL)+1) {
		t.Fatalf("TotalRecs %d after the census was rebuilt", n)
	}

	var dn DNToMIdResponse
	bob := b.accounts["bob"]
	c.do(&DNToMIdRequest{Names: []string{testLegacyDN(bob)}}, &dn)
	newName := "Robert Baker"
	if err := local.UpdateAccount(ctx, bob.ID, directory.AccountUpdate{DisplayName: &newName}); err != nil {
		t.Fatal(err)
	}
	name := func() string {
		var resp GetPropsResponse
		c.do(&GetPropsRequest{State: stat(0, dn.MinimalIDs[0]), PropertyTags: []mapiprop.Tag{mapiprop.PidTagDisplayName}}, &resp)
		s, _ := resp.Values[0].AsString()
		return s
	}
	if got := name(); got != "Bob Baker" {
		t.Fatalf("name %q before EntryTTL", got)
	}
	now = now.Add(3 * time.Minute)
	if got := name(); got != newName {
		t.Fatalf("name %q after EntryTTL", got)
	}
	// Gone from the directory: the MId names nothing any more.
	if err := local.DeleteAccount(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * time.Minute)
	var resp GetPropsResponse
	c.do(&GetPropsRequest{State: stat(0, dn.MinimalIDs[0]), PropertyTags: []mapiprop.Tag{mapiprop.PidTagDisplayName}}, &resp)
	if resp.ErrorCode != mapiprop.ErrWarnWithErrors || !resp.Values[0].IsError() {
		t.Fatalf("deleted entry: %+v", resp)
	}
}
