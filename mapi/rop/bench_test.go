package rop

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

// fillInbox stores n distinct messages in the account's Inbox, in batches.
func fillInbox(b *testing.B, env *testenv.Env, acc int64, n int) {
	b.Helper()
	ctx := context.Background()
	inbox, err := env.Store.FolderByRole(ctx, acc, storage.RoleInbox)
	if err != nil {
		b.Fatal(err)
	}
	for done := 0; done < n; {
		batch := min(500, n-done)
		err := env.Store.Write(ctx, func(tx *storage.Tx) error {
			for i := 0; i < batch; i++ {
				raw := []byte(fmt.Sprintf("From: Sender %d <s%d@outside.example>\r\nTo: alice@example.com\r\nSubject: message number %d\r\nDate: Mon, 02 Jan 2026 10:%02d:00 +0000\r\nMessage-ID: <%d@bench>\r\n\r\nbody %d\r\n",
					(done+i)%37, (done+i)%37, done+i, (done+i)%60, done+i, done+i))
				p := message.Parse(raw)
				h, err := tx.PutBlob(raw)
				if err != nil {
					return err
				}
				_, err = tx.AddMessage(acc, inbox.ID, &storage.NewMessage{BlobHash: h, Size: int64(len(raw)), Parsed: p.Marshal(),
					Subject: p.Subject, FromName: p.FromName, FromAddr: p.FromAddr, ToDisplay: p.ToDisplay, SentAt: p.SentAt,
					MessageIDHeader: p.MessageID, Preview: p.Preview, Importance: 1}, true)
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		done += batch
	}
}

// latencies reports the median and 99th percentile of the runs.
func latencies(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkExecute measures Execute in process (no HTTP): a logon, and
// OpenFolder + GetContentsTable + SetColumns + QueryRows of 50 rows on a
// 10,000-message Inbox, sorted by delivery time as Outlook shows it.
func BenchmarkExecute(b *testing.B) {
	env := testenv.New(b)
	alice := env.AddUser(b, "alice@example.com", "pw")
	fillInbox(b, env, alice.ID, 10000)
	c := newTestClient(b, env, newTestServer(env), alice)
	c.logon()
	ctx := context.Background()
	run := func(b *testing.B, reqs []Request) {
		rops, err := MarshalRequests(reqs, 1252)
		if err != nil {
			b.Fatal(err)
		}
		handles := []uint32{c.handles[0], EmptyHandle, EmptyHandle, EmptyHandle}
		payload, _ := ROPBuffer{Rops: rops, Handles: handles}.Bytes()
		// Every ROP must succeed, or the numbers mean nothing.
		out, err := c.sess.Execute(ctx, payload, 0x8000)
		if err != nil {
			b.Fatal(err)
		}
		buf, _ := ParseROPBuffer(out)
		resps, err := DecodeResponses(buf.Rops, reqs, ResponseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range resps {
			if ec := r.(StandardResponse).Header().ReturnValue; ec != 0 {
				b.Fatalf("%s: %v", r.RopID(), ec)
			}
			if qr, ok := r.(*QueryRowsResponse); ok && len(qr.Rows) != 50 {
				b.Fatalf("QueryRows: %d rows", len(qr.Rows))
			}
		}
		d := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for b.Loop() {
			start := time.Now()
			out, err := c.sess.Execute(ctx, payload, 0x8000)
			d = append(d, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			if len(out) < 20 {
				b.Fatalf("short output % x", out)
			}
		}
		b.StopTimer()
		latencies(b, d)
	}
	b.Run("Logon", func(b *testing.B) {
		// A logon of its own id each time, so the main one stays.
		run(b, []Request{&LogonRequest{RequestHeader: RequestHeader{LogonID: 1}, OutputHandleIndex: 1, LogonFlags: LogonFlagPrivate,
			OpenFlags: 0x0100040C, Essdn: DefaultLegacyDN(alice)}})
	})
	cols := []mp.Tag{mp.PidTagMid, mp.PidTagInstanceKey, mp.PidTagSubject, mp.PidTagSenderName, mp.PidTagMessageDeliveryTime,
		mp.PidTagMessageFlags, mp.PidTagMessageSize, mp.PidTagHasAttachments, mp.PidTagImportance, mp.PidTagDisplayTo}
	contents := []Request{
		&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox)},
		&GetContentsTableRequest{RequestHeader: hdr(1), OutputHandleIndex: 2, TableFlags: TableFlagUseUnicode},
		&SetColumnsRequest{RequestHeader: hdr(2), PropertyTags: cols},
		&QueryRowsRequest{RequestHeader: hdr(2), ForwardRead: true, RowCount: 50},
		&ReleaseRequest{RequestHeader: hdr(2)},
		&ReleaseRequest{RequestHeader: hdr(1)},
	}
	b.Run("Contents50", func(b *testing.B) { run(b, contents) })
	sorted := slices.Insert(slices.Clone(contents), 3, Request(&SortTableRequest{RequestHeader: hdr(2),
		SortOrderSet: mp.SortOrderSet{SortOrders: []mp.SortOrder{{PropTag: mp.PidTagMessageDeliveryTime, Order: mp.SortDescending}}}}))
	b.Run("Contents50Sorted", func(b *testing.B) { run(b, sorted) })
	b.Run("OpenFolder", func(b *testing.B) {
		run(b, []Request{&OpenFolderRequest{RequestHeader: hdr(0), OutputHandleIndex: 1, FolderID: roleFID(storage.RoleInbox)}, &ReleaseRequest{RequestHeader: hdr(1)}})
	})
}
