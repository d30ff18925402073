// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb and
// pg_ctl from the system's PostgreSQL, run as the postgres user when the
// tests run as root, listening on a free loopback port and a private socket
// folder. Locally a missing PostgreSQL skips the test with a loud message;
// with CI=true it fails the test.
package pgtest

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for CREATE DATABASE
)

// binDirs are searched for initdb and pg_ctl.
var binDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/14/bin"}

type cluster struct {
	dir, bin, port, runAs string
	err                   error
}

var (
	once    sync.Once
	shared  *cluster
	counter atomic.Int64
)

// Run wraps testing.M so the shared cluster is stopped after the package's
// tests: func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }.
func Run(m *testing.M) int {
	code := m.Run()
	if shared != nil && shared.err == nil {
		shared.stop()
	}
	return code
}

func findBin() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	for _, d := range binDirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// Required reports whether missing components must fail tests (CI=true).
func Required() bool { return os.Getenv("CI") == "true" }

// DSN returns the connection string of a new, empty database in the shared
// cluster, starting the cluster on first use.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(func() { shared = start() })
	if shared.err != nil {
		if Required() {
			t.Fatalf("pgtest: PostgreSQL is required in CI: %v", shared.err)
		}
		t.Skipf("pgtest: SKIPPING PostgreSQL tests: %v", shared.err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), counter.Add(1))
	admin := fmt.Sprintf("host=127.0.0.1 port=%s user=postgres dbname=postgres sslmode=disable", shared.port)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: creating database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	return fmt.Sprintf("host=127.0.0.1 port=%s user=postgres dbname=%s sslmode=disable", shared.port, name)
}

func start() *cluster {
	c := &cluster{bin: findBin()}
	if c.bin == "" {
		c.err = fmt.Errorf("initdb not found (install PostgreSQL server binaries)")
		return c
	}
	dir, err := os.MkdirTemp("", "pochta-pg-")
	if err != nil {
		c.err = err
		return c
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			c.err = fmt.Errorf("running as root but no postgres user: %w", err)
			return c
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			c.err = err
			return c
		}
		c.runAs = "postgres"
	}
	port, err := freePort()
	if err != nil {
		c.err = err
		return c
	}
	c.port = port
	data := filepath.Join(dir, "data")
	if out, err := c.run(filepath.Join(c.bin, "initdb"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", data); err != nil {
		c.err = fmt.Errorf("initdb: %v: %s", err, out)
		return c
	}
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 -c shared_buffers=64MB", port, dir)
	if out, err := c.run(filepath.Join(c.bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		c.err = fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
		return c
	}
	return c
}

func (c *cluster) run(name string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", name}, args...)...)
	} else {
		cmd = exec.Command(name, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func (c *cluster) stop() {
	_, _ = c.run(filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "-t", "30", "stop")
	time.Sleep(50 * time.Millisecond)
	_ = os.RemoveAll(c.dir)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := strings.Cut(l.Addr().String(), ":")
	return port, nil
}
