package imap

import (
	"context"
	"testing"

	"github.com/pochta/pochta/imap/internal/imaptest"
	"github.com/pochta/pochta/internal/testutil/testenv"
)

// TestIMAPConsistencyUnderConcurrency: 20 clients APPEND, STORE, COPY,
// MOVE and EXPUNGE at random on one folder while deliveries arrive through
// internal/delivery (the path SMTP takes). Every client's view must stay
// consistent: no UID reused or going backwards, nothing lost or
// duplicated, flags converge, EXISTS and EXPUNGE add up. The variant with
// deliveries through the SMTP server is in imap/smtpcross.
func TestIMAPConsistencyUnderConcurrency(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { consistency(t, testenv.New(t), 20, 30, 60) })
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			t.Skip("short")
		}
		consistency(t, testenv.New(t, testenv.Options{Postgres: true}), 20, 15, 30)
	})
}

func consistency(t *testing.T, env *testenv.Env, clients, ops, deliveries int) {
	ts := newTestServerEnv(t, env)
	imaptest.Consistency(t, imaptest.Config{
		Addr: ts.tlsAddr, TLS: env.ClientTLS, User: ts.user, Password: testPassword,
		Store: env.Store, AccountID: ts.accountID,
		Clients: clients, Ops: ops, Deliveries: deliveries,
		Deliver: func(ctx context.Context, raw []byte) (uint32, error) {
			res, err := env.Deliverer.DeliverLocal(ctx, raw, []int64{ts.accountID})
			if err != nil {
				return 0, err
			}
			return res.Targets[0].UID, nil
		},
	})
}
