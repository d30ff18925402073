package directory_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/testutil/slapdtest"
)

// selfSigned returns a PEM certificate for 127.0.0.1 and its PEM key.
func selfSigned(t testing.TB) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "slapd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// slapd requires an encrypted connection (security ssf=1) for everything,
// so a working login proves StartTLS or ldaps:// was used.
func TestLDAPTLS(t *testing.T) {
	cert, key := selfSigned(t)
	srv := startOpenLDAP(t, nil, func(o *slapdtest.Options) {
		o.TLSCertPEM, o.TLSKeyPEM = cert, key
		o.GlobalConfig = "security ssf=1\n"
	})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	plain := newOpenLDAP(t, srv)
	_, err := plain.LDAP.Authenticate(ctx, "alice", "alice-pw")
	wantUnavailable(t, "without TLS", err)

	startTLS := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.StartTLS, o.CAFile = true, caFile })
	mustAuth(t, startTLS.LDAP, "alice", "alice-pw")
	wantAuthFailed(t, startTLS.LDAP, "alice", "wrong")

	ldaps := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.URLs, o.CAFile = []string{srv.LDAPSURL}, caFile })
	mustAuth(t, ldaps.LDAP, "alice", "alice-pw")

	// A certificate from an unknown CA is refused: unavailable, not a
	// wrong password.
	other, _ := selfSigned(t)
	otherCA := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(otherCA, other, 0o600); err != nil {
		t.Fatal(err)
	}
	untrusted := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) { o.URLs, o.CAFile = []string{srv.LDAPSURL}, otherCA })
	_, err = untrusted.LDAP.Authenticate(ctx, "alice", "alice-pw")
	wantUnavailable(t, "untrusted certificate", err)

	// Failover: the first URL is dead, the second answers.
	failover := newOpenLDAP(t, srv, func(o *directory.LDAPOptions) {
		o.URLs, o.CAFile = []string{deadServer(t).URL, srv.LDAPSURL}, caFile
	})
	mustAuth(t, failover.LDAP, "alice", "alice-pw")
}
