// Package slapdtest starts a real OpenLDAP slapd for tests: a temporary
// slapd.conf with back_mdb, the system schemas (core, cosine, inetorgperson,
// nis) plus any the test names, a database seeded with slapadd from an
// LDIF, served on a free loopback port by a slapd running in the foreground.
// Stop and Start let a test take the server away and bring it back on the
// same port. Locally a missing slapd skips the test with a loud message;
// with CI=true it fails the test.
package slapdtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options describe the directory to start.
type Options struct {
	// Suffix is the database suffix; "dc=example,dc=com" when empty.
	Suffix string
	// LDIF is loaded with slapadd before the server starts. It must contain
	// the suffix entry itself.
	LDIF []byte
	// Schemas are extra schema files (paths) included after the system ones.
	Schemas []string
	// Modules are extra modules loaded after back_mdb, such as "ppolicy".
	Modules []string
	// DatabaseConfig is appended to the database section (overlays, limits,
	// indexes, access rules).
	DatabaseConfig string
	// GlobalConfig is added to the global section (before the database),
	// such as "sizelimit 100".
	GlobalConfig string
	// TLSCertPEM and TLSKeyPEM, when set, enable StartTLS on URL and an
	// ldaps:// listener at LDAPSURL with this certificate.
	TLSCertPEM, TLSKeyPEM []byte
}

// Server is a running (or stopped) slapd.
type Server struct {
	// URL is ldap://127.0.0.1:PORT.
	URL string
	// Addr is 127.0.0.1:PORT.
	Addr string
	// LDAPSURL is ldaps://127.0.0.1:PORT2 when TLS is configured.
	LDAPSURL string
	// Suffix, AdminDN and AdminPassword: the rootdn may do anything.
	Suffix, AdminDN, AdminPassword string

	t       testing.TB
	slapd   string
	conf    string
	dir     string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	output  *lockedBuffer
	stopped bool
}

// Required reports whether a missing slapd must fail tests (CI=true).
func Required() bool { return os.Getenv("CI") == "true" }

// unavailable skips the test, or fails it in CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("slapdtest: OpenLDAP slapd is required in CI: %s (install slapd and ldap-utils)", msg)
	}
	t.Skipf("slapdtest: SKIPPING LDAP TESTS: %s (apt-get install slapd ldap-utils)", msg)
}

func findBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/libexec", "/usr/lib/openldap"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// findModuleDir returns the folder holding back_mdb, or "" when slapd has it
// built in (then no moduleload is needed).
func findModuleDir() string {
	for _, d := range []string{"/usr/lib/ldap", "/usr/lib/openldap", "/usr/lib64/openldap", "/usr/local/libexec/openldap", "/usr/libexec/openldap", "/usr/lib/x86_64-linux-gnu/openldap", "/usr/lib/aarch64-linux-gnu/openldap"} {
		for _, f := range []string{"back_mdb.la", "back_mdb.so"} {
			if _, err := os.Stat(filepath.Join(d, f)); err == nil {
				return d
			}
		}
	}
	return ""
}

func findSchemaDir() string {
	for _, d := range []string{"/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema", "/usr/share/openldap/schema"} {
		if _, err := os.Stat(filepath.Join(d, "core.schema")); err == nil {
			return d
		}
	}
	return ""
}

// Start makes, seeds and starts a slapd; it is stopped when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	slapd, slapadd := findBinary("slapd"), findBinary("slapadd")
	if slapd == "" || slapadd == "" {
		unavailable(t, "slapd or slapadd not found")
	}
	schemaDir := findSchemaDir()
	if schemaDir == "" {
		unavailable(t, "OpenLDAP schema folder (core.schema) not found")
	}
	if opts.Suffix == "" {
		opts.Suffix = "dc=example,dc=com"
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, slapd: slapd, dir: dir, Suffix: opts.Suffix, AdminDN: "cn=admin," + opts.Suffix,
		AdminPassword: randomString(), output: &lockedBuffer{}}
	s.conf = filepath.Join(dir, "slapd.conf")
	if len(opts.TLSCertPEM) > 0 {
		cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := os.WriteFile(cert, opts.TLSCertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(key, opts.TLSKeyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		opts.GlobalConfig = fmt.Sprintf("TLSCertificateFile %s\nTLSCertificateKeyFile %s\n", cert, key) + opts.GlobalConfig
	}
	if err := os.WriteFile(s.conf, []byte(s.config(opts, schemaDir)), 0o600); err != nil {
		t.Fatal(err)
	}
	ldif := filepath.Join(dir, "seed.ldif")
	if err := os.WriteFile(ldif, opts.LDIF, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-q", "-f", s.conf, "-l", ldif).CombinedOutput(); err != nil {
		t.Fatalf("slapdtest: slapadd: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stopLocked()
	})
	// A free port is found by binding and closing; another process could
	// take it in between, so try a few.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.URL = "ldap://" + s.Addr
		if len(opts.TLSCertPEM) > 0 {
			tlsPort, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			s.LDAPSURL = "ldaps://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
		}
		s.mu.Lock()
		lastErr = s.startLocked()
		s.mu.Unlock()
		if lastErr == nil {
			return s
		}
	}
	t.Fatalf("slapdtest: slapd did not start: %v\n%s", lastErr, s.output.String())
	return nil
}

func (s *Server) config(opts Options, schemaDir string) string {
	var b strings.Builder
	for _, name := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include %s\n", filepath.Join(schemaDir, name+".schema"))
	}
	for _, sc := range opts.Schemas {
		fmt.Fprintf(&b, "include %s\n", sc)
	}
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\n", filepath.Join(s.dir, "slapd.pid"), filepath.Join(s.dir, "slapd.args"))
	if md := findModuleDir(); md != "" {
		fmt.Fprintf(&b, "modulepath %s\nmoduleload back_mdb\n", md)
		for _, m := range opts.Modules {
			fmt.Fprintf(&b, "moduleload %s\n", m)
		}
	}
	b.WriteString(opts.GlobalConfig + "\n")
	fmt.Fprintf(&b, "database mdb\nmaxsize 1073741824\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s\n",
		opts.Suffix, s.AdminDN, s.AdminPassword, filepath.Join(s.dir, "db"))
	b.WriteString("index objectClass eq\nindex entryUUID eq\n")
	b.WriteString(opts.DatabaseConfig + "\n")
	return b.String()
}

// Stop terminates slapd and waits for it to exit; calls until the server is
// reachable again get connection errors.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopLocked(); err != nil {
		s.t.Fatalf("slapdtest: stopping slapd: %v", err)
	}
}

// Start starts a stopped slapd again on the same port.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		return
	}
	var err error
	// The old socket may linger for a moment; slapd sets SO_REUSEADDR, so
	// a retry or two suffices.
	for range 20 {
		if err = s.startLocked(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("slapdtest: restarting slapd: %v\n%s", err, s.output.String())
}

func (s *Server) startLocked() error {
	// -d 0 keeps slapd in the foreground without debug output, so the
	// process we started is the server and Stop can wait for it.
	urls := s.URL + "/"
	if s.LDAPSURL != "" {
		urls += " " + s.LDAPSURL + "/"
	}
	cmd := exec.Command(s.slapd, "-f", s.conf, "-h", urls, "-d", "0")
	cmd.Stdout, cmd.Stderr = s.output, s.output
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	// Wait until it accepts connections, or dies.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("slapd exited: %v", cmd.ProcessState)
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("slapd not listening on %s after 30s", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd, s.done, s.stopped = cmd, done, false
	return nil
}

func (s *Server) stopLocked() error {
	if s.cmd == nil || s.stopped {
		return nil
	}
	s.stopped = true
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// Output returns what slapd wrote (for failure messages).
func (s *Server) Output() string { return s.output.String() }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomString() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SSHA returns an OpenLDAP {SSHA} userPassword value for password.
func SSHA(password string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
