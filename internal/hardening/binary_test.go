package hardening

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/tlsutil"
)

// The tests that drive the real binary build it once per test binary.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// pochtaBinary builds ./cmd/pochta into a temporary folder (TestMain
// removes it).
func pochtaBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pochta-hardening-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "pochta")
		root, err := moduleRoot()
		if err != nil {
			binErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/pochta")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building pochta: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func cleanupBinary() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(mod), nil
}

// Done-when 5, the short version `make test` runs: a few SIGKILL/restart
// cycles of the real server under SMTP load lose and duplicate nothing
// that got 250. scripts/soak/crash-soak.sh runs the same with CYCLES=100
// (CI-sized) or 1000 (release).
func TestCrashSoakShort(t *testing.T) {
	bin := pochtaBinary(t)
	var progress strings.Builder
	res, err := RunCrashSoak(context.Background(), SoakOptions{
		Binary: bin, WorkDir: t.TempDir(), Cycles: 5, StartupKillEvery: 5, Progress: &progress,
	})
	if res != nil {
		t.Log(res.String())
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if res.Cycles != 5 {
		t.Fatalf("only %d cycles ran", res.Cycles)
	}
	if res.Acknowledged == 0 {
		t.Fatalf("no message was acknowledged in 5 cycles:\n%s", progress.String())
	}
	if !res.OK() {
		log, _ := os.ReadFile(res.ServerLogPath)
		t.Fatalf("%s\n%s\nserver log:\n%s", res, strings.Join(res.Examples, "\n"), log)
	}
}

// binaryServer is a running `pochta serve` with every door on a free
// loopback port, seen through a world so the in-process clients work
// against it.
type binaryServer struct {
	*world
	cmd  *exec.Cmd
	log  *logBuffer
	dir  string
	env  []string
	bin  string
	done chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	a, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// startBinary runs the real server with extra settings (POCHTA_*=value)
// in a scratch folder, with alice, bob and a read API token.
func startBinary(t *testing.T, extra ...string) *binaryServer {
	t.Helper()
	bin := pochtaBinary(t)
	dir := t.TempDir()
	w := &world{t: t}
	w.smtpAddr, w.submissionAddr, w.submissionsAddr = freeAddr(t), freeAddr(t), freeAddr(t)
	w.imapAddr, w.imapsAddr, w.pop3Addr, w.pop3sAddr = freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	w.httpAddr, w.httpsAddr = freeAddr(t), freeAddr(t)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POCHTA_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"POCHTA_SERVER_DATA_DIR="+filepath.Join(dir, "data"), "POCHTA_SERVER_HOSTNAME=mx.example.com",
		"POCHTA_SERVER_SHUTDOWN_GRACE=2s",
		"POCHTA_SMTP_LISTEN="+w.smtpAddr, "POCHTA_SMTP_SUBMISSION_LISTEN="+w.submissionAddr,
		"POCHTA_SMTP_SUBMISSIONS_LISTEN="+w.submissionsAddr,
		"POCHTA_IMAP_LISTEN="+w.imapAddr, "POCHTA_IMAP_TLS_LISTEN="+w.imapsAddr,
		"POCHTA_POP3_LISTEN="+w.pop3Addr, "POCHTA_POP3_TLS_LISTEN="+w.pop3sAddr,
		"POCHTA_HTTP_LISTEN="+w.httpAddr, "POCHTA_HTTP_TLS_LISTEN="+w.httpsAddr, "POCHTA_HTTP_METRICS_LISTEN=",
	)
	env = append(env, extra...)
	b := &binaryServer{world: w, log: &logBuffer{}, dir: dir, env: env, bin: bin, done: make(chan struct{})}
	for _, u := range []struct{ addr, pw string }{{"alice@example.com", alicePassword}, {"bob@example.com", bobPassword}} {
		b.run(u.pw+"\n", "user", "add", u.addr)
	}
	out := b.run("", "token", "create", "--name", "hardening", "--scope", "read")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	w.token = lines[len(lines)-1]
	w.alice = &directory.Account{Address: "alice@example.com"}
	w.bob = &directory.Account{Address: "bob@example.com"}

	b.cmd = exec.Command(bin, "serve")
	b.cmd.Dir, b.cmd.Env = dir, env
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.cmd.Wait(); close(b.done) }()
	t.Cleanup(b.stop)
	// "pochta ready" comes after every listener is bound: a port taken by
	// another process in the meantime fails the start instead of being
	// mistaken for ours.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(b.log.String(), "pochta ready") {
		select {
		case <-b.done:
			t.Fatalf("pochta serve exited:\n%s", b.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pochta serve not ready:\n%s", b.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Trust the certificate the server made in its data folder.
	certPath, _ := tlsutil.SelfSignedPaths(filepath.Join(dir, "data"))
	pem, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.log.String())
	}
	if w.clientTLS, err = tlsutil.ClientConfigTrusting(pem); err != nil {
		t.Fatal(err)
	}
	w.clientTLS.ServerName = "localhost"
	return b
}

func (b *binaryServer) run(stdin string, args ...string) string {
	b.t.Helper()
	cmd := exec.Command(b.bin, args...)
	cmd.Dir, cmd.Env = b.dir, b.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.t.Fatalf("pochta %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (b *binaryServer) stop() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
	case <-time.After(20 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// metric reads one sample of the server's /metrics.
func (b *binaryServer) metric(name, label string) string {
	b.t.Helper()
	resp, err := b.httpClient("127.0.0.1").Get("http://" + b.httpAddr + "/metrics")
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, name+"{"+label+"} ") {
			return strings.TrimPrefix(l, name+"{"+label+"} ")
		}
	}
	return ""
}

// The binary wires one throttle into every door: ten failed IMAP logins
// from one address make POP3, SMTP AUTH, the REST API, MAPI and the
// webmail refuse that address too, while another address logs in; the
// failures are in the binary's /metrics. The TLS policy is the binary's.
func TestBinaryOneThrottleAndTLS(t *testing.T) {
	b := startBinary(t)
	user := b.alice.Address
	for i := range 10 {
		if got := imapLogin(t, b.world, "127.0.0.2", user, wrongPassword(b.world, user, i)); got != rejected {
			t.Fatalf("IMAP failure %d: %s\n%s", i+1, got, b.log.String())
		}
	}
	for _, d := range authDoors() {
		if got := d.try(t, b.world, "127.0.0.2", user, d.secret(b.world, user)); got != throttled {
			t.Errorf("%s from the address that failed on IMAP: %s, want %s", d.name, got, throttled)
		}
	}
	if got := pop3Login(t, b.world, "127.0.0.3", user, alicePassword); got != accepted {
		t.Errorf("POP3 from another address: %s", got)
	}
	if got, err := strconv.ParseFloat(b.metric("pochta_auth_failures_total", `door="imap"`), 64); err != nil || got < 10 {
		t.Errorf("pochta_auth_failures_total{door=imap} = %v (%v), want at least 10", got, err)
	}
	if strings.Contains(b.log.String(), wrongPassword(b.world, user, 3)) || strings.Contains(b.log.String(), alicePassword) {
		t.Error("a password reached the server log")
	}

	for _, ep := range b.tlsEndpoints() {
		old := b.clientTLS.Clone()
		old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		if err := ep.handshake(t, old); err == nil {
			t.Errorf("%s: a TLS 1.1 client was accepted", ep.name)
		}
		cbc := b.clientTLS.Clone()
		cbc.MaxVersion = tls.VersionTLS12
		cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
		if err := ep.handshake(t, cbc); err == nil {
			t.Errorf("%s: a CBC-only client was accepted", ep.name)
		}
		if err := ep.handshake(t, b.clientTLS); err != nil {
			t.Errorf("%s: a modern client was refused: %v", ep.name, err)
		}
	}
}

// A client sending its request headers one byte at a time is cut off by
// the binary's http.read_header_timeout, and the server keeps serving.
func TestBinaryHTTPSlowHeaders(t *testing.T) {
	b := startBinary(t, "POCHTA_HTTP_READ_HEADER_TIMEOUT=2s")
	c, err := tls.Dial("tcp", b.httpsAddr, b.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	trickle := "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + strings.Repeat("x", 400)
	cut := make(chan error, 1)
	go func() {
		for i := 0; i < len(trickle); i++ {
			if _, err := c.Write([]byte{trickle[i]}); err != nil {
				cut <- err
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		cut <- nil
	}()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Minute))
	buf := make([]byte, 512)
	for err == nil {
		_, err = c.Read(buf)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the slow client was never cut off")
	}
	if err := <-cut; err == nil {
		t.Fatal("the whole trickle was accepted")
	}
	if got := mapiBasic(t, b.world, "127.0.0.3", b.alice.Address, alicePassword); got != accepted {
		t.Errorf("another client after the slow one: %s", got)
	}
}
