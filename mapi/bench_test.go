package mapi_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/delivery"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/rop"
)

// BenchmarkExecute measures Execute round trips over loopback HTTPS with
// the real ROP layer on sqlite (issue 7, done-when 5): Logon, then the
// requests that list a 10,000-message Inbox, each reported with its p50
// and p99 latency and requests per second.
//
//	go test ./mapi/ -run '^$' -bench Execute -benchtime 2000x
func BenchmarkExecute(b *testing.B) {
	const messages = 10000
	env := testenv.New(b)
	h := newHarnessOn(b, env, withRealROP(env))
	alice := env.AddUser(b, "alice@example.com", "secret-alice")
	fillInbox(b, env, alice.ID, messages)
	ctx := context.Background()

	c := h.client(alice)
	if _, err := c.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	logon, lr, err := c.Logon(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	inboxFID := lr.FolderIDs[rop.FolderInbox]
	cols := []mp.Tag{mp.PidTagMid, mp.PidTagSubject, mp.PidTagSenderName, mp.PidTagMessageDeliveryTime, mp.PidTagMessageFlags, mp.PidTagMessageSize}
	inbox, err := c.OpenFolder(ctx, logon, inboxFID)
	if err != nil {
		b.Fatal(err)
	}
	// A table kept open for the QueryRows benchmark.
	tb := c.NewBatch()
	tin, tout := tb.In(inbox), tb.Out()
	tb.Add(&rop.GetContentsTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tin}, OutputHandleIndex: tout},
		&rop.SetColumnsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tout}, PropertyTags: cols})
	tres, err := tb.Run(ctx, true)
	if err != nil {
		b.Fatal(err)
	}
	if n := tres.Responses[0].(*rop.GetContentsTableResponse).RowCount; n != messages {
		b.Fatalf("Inbox has %d rows", n)
	}
	table := tres.Handle(tout)

	run := func(name string, build func(*mapiclient.Batch), check func(*mapiclient.Result) error) {
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				batch := c.NewBatch()
				build(batch)
				t0 := time.Now()
				res, err := batch.Run(ctx, true)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if check != nil {
					if err := check(res); err != nil {
						b.Fatal(err)
					}
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			report(b, lat, elapsed)
		})
	}
	rowsOf := func(res *mapiclient.Result) int {
		for _, r := range res.Responses {
			if q, ok := r.(*rop.QueryRowsResponse); ok {
				return len(q.Rows)
			}
		}
		return -1
	}
	want50 := func(res *mapiclient.Result) error {
		if n := rowsOf(res); n != 50 {
			return fmt.Errorf("%d rows", n)
		}
		return nil
	}

	run("Logon", func(batch *mapiclient.Batch) {
		out := batch.Out()
		batch.Add(&rop.LogonRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: out}, OutputHandleIndex: out,
			LogonFlags: rop.LogonFlagPrivate, OpenFlags: rop.OpenFlagUsePerMDBReplIDMapping | rop.OpenFlagHomeLogon, Essdn: mapi.LegacyDN(alice)})
	}, nil)
	// RopLogon replaced the logon (same LogonId); open the Inbox again
	// under the new one.
	b.StopTimer()
	if logon, _, err = c.Logon(ctx, 0); err != nil {
		b.Fatal(err)
	}
	if inbox, err = c.OpenFolder(ctx, logon, inboxFID); err != nil {
		b.Fatal(err)
	}
	tb = c.NewBatch()
	tin, tout = tb.In(inbox), tb.Out()
	tb.Add(&rop.GetContentsTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tin}, OutputHandleIndex: tout},
		&rop.SetColumnsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tout}, PropertyTags: cols})
	if tres, err = tb.Run(ctx, true); err != nil {
		b.Fatal(err)
	}
	table = tres.Handle(tout)
	b.StartTimer()

	run("OpenFolder", func(batch *mapiclient.Batch) {
		in, out := batch.In(logon), batch.Out()
		batch.Add(&rop.OpenFolderRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out, FolderID: inboxFID},
			&rop.ReleaseRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: out}})
	}, nil)
	run("GetContentsTable+SetColumns", func(batch *mapiclient.Batch) {
		in, out := batch.In(inbox), batch.Out()
		batch.Add(&rop.GetContentsTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: out},
			&rop.SetColumnsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: out}, PropertyTags: cols},
			&rop.ReleaseRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: out}})
	}, nil)
	run("QueryRows50", func(batch *mapiclient.Batch) {
		in := batch.In(table)
		batch.Add(&rop.SeekRowRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, Origin: rop.BookmarkBeginning},
			&rop.QueryRowsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, ForwardRead: true, RowCount: 50})
	}, want50)
	run("OpenFolder+GetContentsTable+SetColumns+QueryRows50", func(batch *mapiclient.Batch) {
		in, folder, tbl := batch.In(logon), batch.Out(), batch.Out()
		batch.Add(&rop.OpenFolderRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: folder, FolderID: inboxFID},
			&rop.GetContentsTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: folder}, OutputHandleIndex: tbl},
			&rop.SetColumnsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}, PropertyTags: cols},
			&rop.QueryRowsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}, ForwardRead: true, RowCount: 50},
			&rop.ReleaseRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}},
			&rop.ReleaseRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: folder}})
	}, want50)
	// The same, sorted newest first as a client lists a folder.
	newestFirst := mp.SortOrderSet{SortOrders: []mp.SortOrder{{PropTag: mp.PidTagMessageDeliveryTime, Order: mp.SortDescending}}}
	run("Sorted:GetContentsTable+SetColumns+SortTable+QueryRows50", func(batch *mapiclient.Batch) {
		in, tbl := batch.In(inbox), batch.Out()
		batch.Add(&rop.GetContentsTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: in}, OutputHandleIndex: tbl},
			&rop.SetColumnsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}, PropertyTags: cols},
			&rop.SortTableRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}, SortOrderSet: newestFirst},
			&rop.QueryRowsRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}, ForwardRead: true, RowCount: 50},
			&rop.ReleaseRequest{RequestHeader: rop.RequestHeader{InputHandleIndex: tbl}})
	}, want50)

	// PING: the transport alone (authentication, framing), no ROP layer.
	b.Run("PING", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		start := time.Now()
		for range b.N {
			t0 := time.Now()
			if err := c.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		report(b, lat, time.Since(start))
	})
}

// report adds the latency percentiles and the request rate.
func report(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	b.ReportMetric(float64(pct(0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(pct(0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
}

// fillInbox delivers n small messages to the Inbox through the one ingest
// path, concurrently so sqlite's writer commits them in groups.
func fillInbox(b *testing.B, env *testenv.Env, accountID int64, n int) {
	b.Helper()
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				raw := fmt.Appendf(nil, "From: Sender %d <s%d@outside.example>\r\nTo: alice@example.com\r\nSubject: Message number %d\r\n"+
					"Date: %s\r\nMessage-ID: <%d@outside.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nBody of message %d.\r\n",
					i%97, i%97, i, base.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z), i, i)
				_, err := env.Deliverer.Ingest(ctx, &delivery.Ingest{Raw: raw, Targets: []delivery.Target{{AccountID: accountID}},
					InternalDate: base.Add(time.Duration(i) * time.Minute)})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkTransport is the transport alone: an Execute carrying one
// RopRelease through authentication, the session table and the framing,
// answered by the stand-in ROP layer.
func BenchmarkTransport(b *testing.B) {
	h := newHarness(b)
	alice := h.user("alice")
	c := h.connected(alice)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		if _, err := c.Execute(ctx, []rop.Request{&rop.ReleaseRequest{}}, []uint32{0x0C000001}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	report(b, lat, time.Since(start))
}
