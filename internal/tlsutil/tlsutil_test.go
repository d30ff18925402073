package tlsutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// leafOf returns the certificate cfg would serve now.
func leafOf(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	pemData, err := CertPEM(cfg)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemData)
	if block == nil {
		t.Fatalf("CertPEM returned no PEM: %q", pemData)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestSelfSignedIsCreatedThenReused(t *testing.T) {
	dataDir := t.TempDir()
	first, err := LoadOrCreate(dataDir, "", "", []string{"mail.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := SelfSignedPaths(dataDir)
	for path, mode := range map[string]os.FileMode{keyPath: 0o600, filepath.Dir(keyPath): 0o700 | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s mode %v, want %v", path, fi.Mode(), mode)
		}
	}
	if _, err := os.Stat(certPath); err != nil {
		t.Fatal(err)
	}

	leaf := leafOf(t, first)
	if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", leaf.PublicKey)
	}
	for _, name := range []string{"mail.example.com", "localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not cover %s: %v", name, err)
		}
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life < 9*365*24*time.Hour {
		t.Errorf("validity %v, want about 10 years", life)
	}

	second, err := LoadOrCreate(dataDir, "", "", []string{"mail.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Certificates[0].Certificate[0], second.Certificates[0].Certificate[0]) {
		t.Error("second start made a new certificate instead of reusing the kept one")
	}
}

func TestSelfSignedReplacedForNewHostname(t *testing.T) {
	dataDir := t.TempDir()
	first, err := LoadOrCreate(dataDir, "", "", []string{"old.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreate(dataDir, "", "", []string{"new.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.Certificates[0].Certificate[0], second.Certificates[0].Certificate[0]) {
		t.Fatal("kept certificate reused although it does not cover the new hostname")
	}
	if err := leafOf(t, second).VerifyHostname("new.example.com"); err != nil {
		t.Error(err)
	}
}

func TestSelfSignedReplacedNearExpiry(t *testing.T) {
	dataDir := t.TempDir()
	old, err := loadOrCreateSelfSigned(dataDir, []string{"localhost"}, time.Now().Add(-selfSignedValidity+24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := LoadOrCreate(dataDir, "", "", []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(old.Certificate[0], fresh.Certificates[0].Certificate[0]) {
		t.Fatal("certificate expiring tomorrow was reused")
	}
}

func TestSelfSignedReplacesCorruptFiles(t *testing.T) {
	dataDir := t.TempDir()
	if _, err := LoadOrCreate(dataDir, "", "", nil); err != nil {
		t.Fatal(err)
	}
	certPath, _ := SelfSignedPaths(dataDir)
	if err := os.WriteFile(certPath, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadOrCreate(dataDir, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := leafOf(t, cfg).VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
}

// writePair makes a self-signed pair in a directory of its own and returns
// the file paths, as an operator's configured certificate.
func writePair(t *testing.T, host string) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := loadOrCreateSelfSigned(dir, []string{host}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return SelfSignedPaths(dir)
}

func TestConfiguredPairIsServedAndReloaded(t *testing.T) {
	dataDir := t.TempDir()
	certFile, keyFile := writePair(t, "configured.example.com")
	cfg, err := LoadOrCreate(dataDir, certFile, keyFile, []string{"ignored.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := leafOf(t, cfg).VerifyHostname("configured.example.com"); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "tls")); !os.IsNotExist(err) {
		t.Errorf("self-signed directory made although a pair is configured (%v)", err)
	}

	// A renewal replaces both files.
	newCert, newKey := writePair(t, "renewed.example.com")
	future := time.Now().Add(time.Hour)
	for src, dst := range map[string]string{newCert: certFile, newKey: keyFile} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dst, future, future); err != nil {
			t.Fatal(err)
		}
	}
	if err := leafOf(t, cfg).VerifyHostname("renewed.example.com"); err != nil {
		t.Errorf("renewed certificate not picked up: %v", err)
	}

	// A half-written renewal (cert without its key) keeps the working pair.
	otherCert, _ := writePair(t, "half.example.com")
	data, err := os.ReadFile(otherCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	later := future.Add(time.Hour)
	if err := os.Chtimes(certFile, later, later); err != nil {
		t.Fatal(err)
	}
	if err := leafOf(t, cfg).VerifyHostname("renewed.example.com"); err != nil {
		t.Errorf("mismatched renewal replaced the working pair: %v", err)
	}
}

func TestConfiguredPairErrors(t *testing.T) {
	certFile, keyFile := writePair(t, "a.example.com")
	otherCert, _ := writePair(t, "b.example.com")
	tests := []struct {
		name, cert, key, want string
	}{
		{"cert only", certFile, "", "together"},
		{"key only", "", keyFile, "together"},
		{"missing cert", filepath.Join(t.TempDir(), "none.pem"), keyFile, "none.pem"},
		{"mismatched pair", otherCert, keyFile, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadOrCreate(t.TempDir(), tt.cert, tt.key, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// handshake serves one TLS connection on loopback with server and dials it
// with client; it returns the client's error and the negotiated state.
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.(*tls.Conn).Handshake() // failures are seen by the client
	}()
	defer func() { <-done }()
	conn, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

func TestHandshakePolicy(t *testing.T) {
	server, err := LoadOrCreate(t.TempDir(), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := CertPEM(server)
	if err != nil {
		t.Fatal(err)
	}
	trusting := func() *tls.Config {
		c, err := ClientConfigTrusting(pemData)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	state, err := handshake(t, server, trusting())
	if err != nil {
		t.Fatalf("trusting client: %v", err)
	}
	if state.Version != tls.VersionTLS13 {
		t.Errorf("negotiated %x, want TLS 1.3", state.Version)
	}

	tls12 := trusting()
	tls12.MaxVersion = tls.VersionTLS12
	state, err = handshake(t, server, tls12)
	if err != nil {
		t.Fatalf("TLS 1.2 client: %v", err)
	}
	if !slices.Contains(serverBase().CipherSuites, state.CipherSuite) {
		t.Errorf("TLS 1.2 suite %s not in the policy", tls.CipherSuiteName(state.CipherSuite))
	}

	tls11 := trusting()
	tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := handshake(t, server, tls11); err == nil {
		t.Error("TLS 1.1 client accepted")
	}

	cbc := trusting()
	cbc.MaxVersion = tls.VersionTLS12
	cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
	if _, err := handshake(t, server, cbc); err == nil {
		t.Error("CBC-only TLS 1.2 client accepted")
	}

	if _, err := handshake(t, server, &tls.Config{MinVersion: tls.VersionTLS12}); err == nil {
		t.Error("client without the self-signed certificate trusted it")
	}
}

func TestParseMinVersion(t *testing.T) {
	for in, want := range map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13} {
		if got, err := ParseMinVersion(in); err != nil || got != want {
			t.Errorf("ParseMinVersion(%q) = %x, %v", in, got, err)
		}
	}
	if _, err := ParseMinVersion("1.1"); err == nil {
		t.Error("1.1 accepted")
	}
}

func TestClientConfigTrustingRejectsGarbage(t *testing.T) {
	if _, err := ClientConfigTrusting([]byte("not pem")); err == nil {
		t.Error("accepted")
	}
}
