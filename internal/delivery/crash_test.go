package delivery_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/storage"
)

// The crash test: a child process delivers messages in a loop and prints
// each one it has acknowledged; the parent kills it with SIGKILL at a random
// moment, reopens the store, and checks that every acknowledged message is
// there, complete, and that nothing half-written is visible.

const crashEnv = "POCHTA_CRASH_CHILD"

func openCrashStore(t testing.TB, driver, dsn string) (*storage.Store, *directory.Local) {
	ctx := context.Background()
	st, err := storage.Open(ctx, storage.Options{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	w, r := st.DBs()
	dir, err := directory.NewLocal(ctx, directory.LocalOptions{DB: w, ReadDB: r, Durable: st.Sync})
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

func crashMessage(round string, worker, n int) []byte {
	// Bodies of varying size, some spanning several blob chunks.
	size := 200 + (worker*7919+n*104729)%40000
	if n%50 == 7 {
		size = 600 << 10
	}
	body := strings.Repeat(fmt.Sprintf("line %d of message %d-%d\r\n", n, worker, n), size/30+1)
	return []byte(fmt.Sprintf("From: crash@example.org\r\nTo: r@example.com\r\nSubject: crash %s-%d-%d\r\nMessage-ID: <crash-%s-%d-%d@example.org>\r\n\r\n%s", round, worker, n, round, worker, n, body))
}

// TestCrashChild is the child's loop; it only runs when re-executed.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("runs only as the crash test's child process")
	}
	round, spec, _ := strings.Cut(spec, "|")
	driver, dsn, _ := strings.Cut(spec, "|")
	st, dir := openCrashStore(t, driver, dsn)
	d := delivery.New(delivery.Options{Store: st, Directory: dir})
	ctx := context.Background()
	var ids []int64
	for i := range 3 {
		a, err := dir.AccountByAddress(ctx, fmt.Sprintf("crash%d@example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				raw := crashMessage(round, w, n)
				if _, err := d.DeliverLocal(ctx, raw, ids); err != nil {
					fmt.Fprintln(os.Stderr, "deliver:", err)
					return
				}
				sum := sha256.Sum256(raw)
				mu.Lock()
				fmt.Fprintf(out, "ACK %s-%d-%d %s\n", round, w, n, hex.EncodeToString(sum[:]))
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is slow")
	}
	t.Run("sqlite", func(t *testing.T) {
		crashRounds(t, "sqlite", filepath.Join(t.TempDir(), "crash.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		crashRounds(t, "postgres", pgtest.DSN(t))
	})
}

func crashRounds(t *testing.T, driver, dsn string) {
	ctx := context.Background()
	st, dir := openCrashStore(t, driver, dsn)
	for i := range 3 {
		a, err := dir.AddAccount(ctx, directory.NewAccount{Address: fmt.Sprintf("crash%d@example.com", i), Password: "pw"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.EnsureMailbox(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	acked := map[string]string{} // subject -> sha256
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d|%s|%s", crashEnv, round, driver, dsn))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the first acknowledgements, then kill at a random moment.
		killAfter := time.Duration(300+rand.IntN(1200)) * time.Millisecond
		var deadline <-chan time.Time
		killed := false
		for line := range lines {
			if subj, sum, ok := strings.Cut(strings.TrimPrefix(line, "ACK "), " "); ok && strings.HasPrefix(line, "ACK ") {
				acked["crash "+subj] = sum
				if deadline == nil {
					deadline = time.After(killAfter)
				}
			}
			if !killed && deadline != nil {
				select {
				case <-deadline:
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				default:
				}
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child ended before it was killed", round)
		}
		t.Logf("round %d: %d acknowledged so far", round, len(acked))
	}
	// Reopen and check.
	st, dir = openCrashStore(t, driver, dsn)
	defer st.Close()
	for i := range 3 {
		a, _ := dir.AccountByAddress(ctx, fmt.Sprintf("crash%d@example.com", i))
		inbox, err := st.FolderByRole(ctx, a.ID, storage.RoleInbox)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := st.FolderMeta(ctx, a.ID, inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, len(meta))
		for j, m := range meta {
			ids[j] = m.ID
		}
		msgs, err := st.MessagesByIDs(ctx, a.ID, ids)
		if err != nil {
			t.Fatal(err)
		}
		present := map[string]string{}
		for _, m := range msgs {
			raw, err := st.ReadBlob(ctx, m.BlobHash)
			if err != nil {
				t.Fatalf("visible message %d unreadable: %v", m.ID, err)
			}
			sum := sha256.Sum256(raw)
			if int64(len(raw)) != m.Size || hex.EncodeToString(sum[:]) != m.BlobHash {
				t.Fatalf("visible message %d is incomplete (%d of %d bytes)", m.ID, len(raw), m.Size)
			}
			if _, err := message.Unmarshal(m.Parsed); err != nil {
				t.Fatalf("message %d part tree: %v", m.ID, err)
			}
			if present[m.Subject] != "" {
				t.Fatalf("message %q stored twice", m.Subject)
			}
			present[m.Subject] = m.BlobHash
		}
		for subj, sum := range acked {
			if present[subj] != sum {
				t.Fatalf("acknowledged message %q lost or changed in account %d", subj, a.ID)
			}
		}
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
}
