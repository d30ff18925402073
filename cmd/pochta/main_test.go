package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/storage"
)

var pochtaBin string

// TestMain builds the real binary once: these tests drive it the way an
// operator does.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pochta-bin-")
	if err != nil {
		panic(err)
	}
	pochtaBin = filepath.Join(dir, "pochta")
	out, err := exec.Command("go", "build", "-o", pochtaBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building pochta: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serverEnv gives the binary free loopback ports (every door that has a
// listener gets one, so tests never collide with a running server).
func serverEnv(t *testing.T) (env []string, httpAddr string) {
	httpAddr = freeAddr(t)
	env = append(os.Environ(),
		"POCHTA_HTTP_LISTEN="+httpAddr,
		"POCHTA_HTTP_TLS_LISTEN="+freeAddr(t),
		"POCHTA_SMTP_LISTEN="+freeAddr(t),
		"POCHTA_SMTP_SUBMISSION_LISTEN="+freeAddr(t),
		"POCHTA_SMTP_SUBMISSIONS_LISTEN="+freeAddr(t),
		"POCHTA_IMAP_LISTEN="+freeAddr(t),
		"POCHTA_IMAP_TLS_LISTEN="+freeAddr(t),
		"POCHTA_POP3_LISTEN="+freeAddr(t),
		"POCHTA_POP3_TLS_LISTEN="+freeAddr(t),
	)
	return env, httpAddr
}

type server struct {
	cmd *exec.Cmd
	log *syncBuffer
}

// syncBuffer collects the server's output, written by exec's copying
// goroutine while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs `pochta serve` without a config file in dir and waits
// until /healthz answers.
func startServer(t *testing.T, dir string, env []string, httpAddr string) *server {
	t.Helper()
	cmd := exec.Command(pochtaBin, "serve")
	cmd.Dir, cmd.Env = dir, env
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, log: log}
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.TrimSpace(string(body)) == "ok" {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

func runPochta(t *testing.T, dir string, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(pochtaBin, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The embedded default: no config, a data folder with the database and a
// self-signed certificate, reused by the next start; user administration
// works while the server runs.
func TestServeDefaultAndUserAdmin(t *testing.T) {
	dir := t.TempDir()
	env, httpAddr := serverEnv(t)
	srv := startServer(t, dir, env, httpAddr)
	data := filepath.Join(dir, "pochta-data")
	for _, f := range []string{"pochta.db", "tls/cert.pem", "tls/key.pem"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Fatalf("data folder lacks %s: %v", f, err)
		}
	}
	if !strings.Contains(srv.log.String(), "listening") || !strings.Contains(srv.log.String(), httpAddr) {
		t.Fatalf("no log line for the listener:\n%s", srv.log.String())
	}
	cert1, _ := os.ReadFile(filepath.Join(data, "tls/cert.pem"))

	out, err := runPochta(t, dir, env, "secret\n", "user", "add", "alice@example.com")
	if err != nil || !strings.Contains(out, "added alice@example.com") {
		t.Fatalf("user add while serving: %v\n%s", err, out)
	}
	out, err = runPochta(t, dir, env, "", "user", "list")
	if err != nil || !strings.Contains(out, "alice@example.com") {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	if out, err := runPochta(t, dir, env, "secret\n", "user", "add", "alice@example.com"); err == nil {
		t.Fatalf("duplicate user accepted:\n%s", out)
	}
	out, _ = runPochta(t, dir, env, "", "domain", "list")
	if strings.TrimSpace(out) != "example.com" {
		t.Fatalf("first user did not make its domain local: %q", out)
	}
	if out, err := runPochta(t, dir, env, "", "user", "add", "bob@example.com"); err == nil {
		t.Fatalf("user add without a password succeeded:\n%s", out)
	}
	srv.stop()

	// Her default folder tree exists.
	st, err := storage.Open(context.Background(), storage.Options{Driver: "sqlite", DSN: filepath.Join(data, "pochta.db")})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := st.Folders(context.Background(), 1)
	st.Close()
	if err != nil || len(fs) == 0 {
		t.Fatalf("no folders for alice: %v", err)
	}
	names := map[string]bool{}
	for _, f := range fs {
		names[f.Name] = true
	}
	for _, want := range []string{"Inbox", "Outbox", "Sent Items", "Deleted Items", "Drafts", "Junk Email", "Calendar", "Contacts", "Tasks", "Notes", "Journal"} {
		if !names[want] {
			t.Errorf("folder %s missing", want)
		}
	}

	// A second start reuses the database and the certificate.
	startServer(t, dir, env, httpAddr)
	cert2, _ := os.ReadFile(filepath.Join(data, "tls/cert.pem"))
	if !bytes.Equal(cert1, cert2) {
		t.Fatal("second start made a new certificate")
	}
	out, _ = runPochta(t, dir, env, "", "user", "list")
	if !strings.Contains(out, "alice@example.com") {
		t.Fatalf("second start lost the user:\n%s", out)
	}
	if out, err := runPochta(t, dir, env, "", "health"); err != nil || !strings.Contains(out, "healthy") {
		t.Fatalf("health: %v %s", err, out)
	}
}

func TestBadConfigRefusedByName(t *testing.T) {
	dir := t.TempDir()
	env, _ := serverEnv(t)
	conf := filepath.Join(dir, "pochta.toml")
	os.WriteFile(conf, []byte("[smtp]\nlisten = \":2525\"\nmax_mesage_bytes = 10\n"), 0o600)
	out, err := runPochta(t, dir, env, "", "--config", conf, "serve")
	if err == nil || !strings.Contains(out, "smtp.max_mesage_bytes") {
		t.Fatalf("unknown key not refused by name: %v\n%s", err, out)
	}
	os.WriteFile(conf, []byte("[imap]\nidle_timeout = \"soon\"\n"), 0o600)
	out, err = runPochta(t, dir, env, "", "--config", conf, "serve")
	if err == nil || !strings.Contains(out, "imap.idle_timeout") {
		t.Fatalf("bad value not refused by name: %v\n%s", err, out)
	}
	out, err = runPochta(t, dir, append(env, "POCHTA_POP3_DELETE_POLICY=shred"), "", "serve")
	if err == nil || !strings.Contains(out, "POCHTA_POP3_DELETE_POLICY") && !strings.Contains(out, "pop3.delete_policy") {
		t.Fatalf("bad env value not refused by name: %v\n%s", err, out)
	}
	// The generated example is a valid configuration.
	ex, err := runPochta(t, dir, env, "", "config", "example")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(conf, []byte(ex), 0o600)
	if out, err := runPochta(t, dir, env, "", "--config", conf, "config", "check"); err != nil {
		t.Fatalf("example does not load: %v\n%s", err, out)
	}
}
