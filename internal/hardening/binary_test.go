package hardening

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
