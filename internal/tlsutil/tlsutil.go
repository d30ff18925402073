// Package tlsutil makes the server's TLS configuration: a configured
// certificate pair (re-read when the files change, so renewals need no
// restart) or a self-signed certificate kept in the data directory.
package tlsutil

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Self-signed certificate lifetime, and how long before its end a kept one
// is replaced.
const (
	selfSignedValidity = 10 * 365 * 24 * time.Hour
	renewBefore        = 30 * 24 * time.Hour
)

// SelfSignedPaths returns where LoadOrCreate keeps the self-signed
// certificate and key for dataDir.
func SelfSignedPaths(dataDir string) (certPath, keyPath string) {
	dir := filepath.Join(dataDir, "tls")
	return filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
}

// LoadOrCreate returns the server TLS configuration. With certFile and
// keyFile set it serves that pair and re-reads it when either file changes
// (a failed re-read keeps the previous pair). With both empty it serves a
// self-signed ECDSA P-256 certificate for hostnames plus localhost,
// 127.0.0.1 and ::1, made on first start in <dataDir>/tls and reused after;
// a kept certificate is replaced only when it stops covering hostnames or
// nears its end. The configuration accepts TLS 1.2 and 1.3, with only
// ECDHE key exchange and AEAD ciphers for 1.2; raise MinVersion with
// ParseMinVersion if configured.
func LoadOrCreate(dataDir, certFile, keyFile string, hostnames []string) (*tls.Config, error) {
	cfg := serverBase()
	switch {
	case certFile != "" && keyFile != "":
		fc := &fileCert{certFile: certFile, keyFile: keyFile}
		if err := fc.load(); err != nil {
			return nil, err
		}
		cfg.GetCertificate = fc.get
	case certFile == "" && keyFile == "":
		cert, err := loadOrCreateSelfSigned(dataDir, hostnames, time.Now())
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	default:
		return nil, errors.New("tlsutil: certificate and key files must be given together")
	}
	return cfg, nil
}

// serverBase is the protocol policy shared by every listener.
func serverBase() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Only consulted for TLS 1.2; every TLS 1.3 suite is AEAD already.
		// Forward secrecy (ECDHE) and AEAD only: no RSA key exchange, no CBC.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// ParseMinVersion maps the configuration's "1.2" or "1.3" to a crypto/tls
// version constant.
func ParseMinVersion(s string) (uint16, error) {
	switch s {
	case "1.2", "":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("tlsutil: unsupported minimum TLS version %q (want 1.2 or 1.3)", s)
}

// fileCert serves a configured pair and reloads it when the files change.
type fileCert struct {
	certFile, keyFile string

	mu        sync.Mutex
	cert      *tls.Certificate
	certStamp fileStamp
	keyStamp  fileStamp
}

// fileStamp identifies a version of a file cheaply.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

func (f *fileCert) load() error {
	cs, err := stamp(f.certFile)
	if err != nil {
		return fmt.Errorf("tlsutil: certificate: %w", err)
	}
	ks, err := stamp(f.keyFile)
	if err != nil {
		return fmt.Errorf("tlsutil: key: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("tlsutil: load %s and %s: %w", f.certFile, f.keyFile, err)
	}
	f.mu.Lock()
	f.cert, f.certStamp, f.keyStamp = &cert, cs, ks
	f.mu.Unlock()
	return nil
}

// get is tls.Config.GetCertificate: it checks the files' stamps (two stat
// calls per handshake) and reloads after a change. While a renewal is half
// written the pair does not match, load fails, and the old pair is served
// until the next handshake finds both files updated.
func (f *fileCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cs, errC := stamp(f.certFile)
	ks, errK := stamp(f.keyFile)
	f.mu.Lock()
	changed := errC == nil && errK == nil && (cs != f.certStamp || ks != f.keyStamp)
	cert := f.cert
	f.mu.Unlock()
	if changed && f.load() == nil {
		f.mu.Lock()
		cert = f.cert
		f.mu.Unlock()
	}
	return cert, nil
}

// loadOrCreateSelfSigned reuses the kept certificate when it is still good
// at now for hostnames, and makes and keeps a new one otherwise.
func loadOrCreateSelfSigned(dataDir string, hostnames []string, now time.Time) (tls.Certificate, error) {
	if dataDir == "" {
		return tls.Certificate{}, errors.New("tlsutil: no data directory for the self-signed certificate")
	}
	certPath, keyPath := SelfSignedPaths(dataDir)
	dir := filepath.Dir(certPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsutil: %w", err)
	}
	// The key lives here; keep the directory private even if it was made
	// by hand with a looser mode.
	if err := os.Chmod(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsutil: %w", err)
	}
	names := subjectNames(hostnames)

	certPEM, errC := os.ReadFile(certPath)
	keyPEM, errK := os.ReadFile(keyPath)
	for _, err := range []error{errC, errK} {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			// Unreadable (permissions?) is not the same as absent: do not
			// overwrite what an operator may have put there.
			return tls.Certificate{}, fmt.Errorf("tlsutil: %w", err)
		}
	}
	if errC == nil && errK == nil {
		if cert, err := tls.X509KeyPair(certPEM, keyPEM); err == nil && stillGood(cert.Leaf, names, now) {
			return cert, nil
		}
	}

	certPEM, keyPEM, err := makeSelfSigned(names, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsutil: new self-signed certificate: %w", err)
	}
	return cert, nil
}

// subjectNames is hostnames plus the loopback names, lower-cased, without
// duplicates or empties, in order.
func subjectNames(hostnames []string) []string {
	var names []string
	seen := map[string]bool{}
	for _, h := range append(append([]string(nil), hostnames...), "localhost", "127.0.0.1", "::1") {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		if h != "" && !seen[h] {
			seen[h] = true
			names = append(names, h)
		}
	}
	return names
}

func stillGood(leaf *x509.Certificate, names []string, now time.Time) bool {
	if leaf == nil || now.Before(leaf.NotBefore) || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

func makeSelfSigned(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"Pochta self-signed"}},
		NotBefore:             now.Add(-time.Hour), // tolerate clients whose clock is a little behind
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip, err := netip.ParseAddr(n); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: encode key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so a crash leaves the old or the new file, never a
// torn one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("tlsutil: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("tlsutil: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("tlsutil: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("tlsutil: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tlsutil: close %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("tlsutil: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("tlsutil: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("tlsutil: sync %s: %w", dir, err)
	}
	return nil
}

// CertPEM returns the certificate chain cfg serves, PEM-encoded; tests hand
// it to ClientConfigTrusting, and `pochta` can print it for clients to pin.
func CertPEM(cfg *tls.Config) ([]byte, error) {
	var cert *tls.Certificate
	switch {
	case len(cfg.Certificates) > 0:
		cert = &cfg.Certificates[0]
	case cfg.GetCertificate != nil:
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			return nil, fmt.Errorf("tlsutil: %w", err)
		}
		cert = c
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, errors.New("tlsutil: configuration has no certificate")
	}
	var buf bytes.Buffer
	for _, der := range cert.Certificate {
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
			return nil, fmt.Errorf("tlsutil: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// ClientConfigTrusting returns a client configuration that trusts exactly
// the certificates in certPEM (the server's self-signed one), for tests and
// tools talking to a local server.
func ClientConfigTrusting(certPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("tlsutil: no certificate in PEM data")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
