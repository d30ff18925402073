// Package testenv builds the pieces every protocol test needs: a store (on
// sqlite, or PostgreSQL), the local directory on the same database, a
// deliverer, and a TLS configuration with a throwaway certificate, plus
// helpers to add users and deliver mail.
package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/storage"
)

// Env is one test's server-side world.
type Env struct {
	Store     *storage.Store
	Dir       *directory.Local
	Deliverer *delivery.Deliverer
	// TLS is a server config with a certificate for 127.0.0.1 and localhost;
	// ClientTLS trusts it.
	TLS, ClientTLS *tls.Config
	Logger         *slog.Logger
	DataDir        string
}

// Options choose the backend.
type Options struct {
	// Postgres selects a throwaway PostgreSQL database instead of sqlite.
	Postgres bool
}

// New builds an Env; everything is closed when the test ends.
func New(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// As "pochta serve" runs by default (storage.sqlite_flag_changes = relaxed).
	so := storage.Options{Driver: "sqlite", DSN: filepath.Join(dir, "pochta.db"), Logger: logger, RelaxedFlagChanges: true}
	if o.Postgres {
		so = storage.Options{Driver: "postgres", DSN: pgtest.DSN(t), Logger: logger}
	}
	st, err := storage.Open(ctx, so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, r := st.DBs()
	d, err := directory.NewLocal(ctx, directory.LocalOptions{DB: w, ReadDB: r, Durable: st.Sync})
	if err != nil {
		t.Fatal(err)
	}
	srvTLS, cliTLS := TLSPair(t)
	return &Env{
		Store: st, Dir: d, TLS: srvTLS, ClientTLS: cliTLS, Logger: logger, DataDir: dir,
		Deliverer: delivery.New(delivery.Options{Store: st, Directory: d, Logger: logger}),
	}
}

// AddUser creates an account with a password and its mailbox.
func (e *Env) AddUser(t testing.TB, address, password string) *directory.Account {
	t.Helper()
	ctx := context.Background()
	a, err := e.Dir.AddAccount(ctx, directory.NewAccount{Address: address, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.EnsureMailbox(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	return a
}

// Deliver stores raw in the Inbox of each account.
func (e *Env) Deliver(t testing.TB, raw []byte, accountIDs ...int64) *delivery.Result {
	t.Helper()
	res, err := e.Deliverer.DeliverLocal(context.Background(), raw, accountIDs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TLSPair makes a self-signed certificate for 127.0.0.1/localhost and returns
// a server config using it and a client config trusting it.
func TLSPair(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pochta test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}

// Listen opens a loopback listener on a free port.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
