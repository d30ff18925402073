package delivery_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const sample = "From: Ann <ann@example.org>\r\nTo: Team <team@example.com>\r\nSubject: Quarterly figures\r\nMessage-ID: <q1@example.org>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nThe figures are in.\r\n"

func backends(t *testing.T, f func(t *testing.T, e *testenv.Env)) {
	t.Run("sqlite", func(t *testing.T) { f(t, testenv.New(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, testenv.New(t, testenv.Options{Postgres: true})) })
}

// One delivery to 50 local recipients stores one blob, and each recipient
// reads the same bytes.
func TestFiftyRecipientsOneBlob(t *testing.T) {
	backends(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		var ids []int64
		for i := range 50 {
			ids = append(ids, e.AddUser(t, fmt.Sprintf("user%d@example.com", i), "pw").ID)
		}
		res := e.Deliver(t, []byte(sample), ids...)
		if len(res.Targets) != 50 {
			t.Fatalf("%d targets", len(res.Targets))
		}
		if n, _ := e.Store.BlobCount(ctx); n != 1 {
			t.Fatalf("50 recipients stored %d blobs", n)
		}
		for _, tr := range res.Targets {
			m, err := e.Store.MessageByID(ctx, tr.Target.AccountID, tr.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := e.Store.ReadBlob(ctx, m.BlobHash)
			if string(body) != sample || m.Subject != "Quarterly figures" || m.FromAddr != "ann@example.org" || m.MessageIDHeader != "q1@example.org" {
				t.Fatalf("stored %q subject %q from %q", body, m.Subject, m.FromAddr)
			}
		}
	})
}

func TestQuotaFailsOnlyThatRecipient(t *testing.T) {
	backends(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		a := e.AddUser(t, "a@example.com", "pw")
		b := e.AddUser(t, "b@example.com", "pw")
		if err := e.Store.SetQuota(ctx, b.ID, 10); err != nil {
			t.Fatal(err)
		}
		res, err := e.Deliverer.Ingest(ctx, &delivery.Ingest{Raw: []byte(sample), Targets: []delivery.Target{{AccountID: a.ID}, {AccountID: b.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Targets[0].Err != nil || res.Targets[1].Err != storage.ErrQuotaExceeded {
			t.Fatalf("results %+v", res.Targets)
		}
		inbox, _ := e.Store.FolderByRole(ctx, b.ID, storage.RoleInbox)
		if st, _ := e.Store.FolderStatus(ctx, b.ID, inbox.ID); st.Messages != 0 {
			t.Fatal("over-quota copy stored")
		}
	})
}
