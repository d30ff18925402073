package smtp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/testutil/pgtest"
	"github.com/pochta/pochta/storage"
)

// The crash test re-executes the test binary as the server (crashChild);
// these variables carry the store to it.
const (
	crashChildEnv  = "POCHTA_SMTP_CRASH_CHILD"
	crashDriverEnv = "POCHTA_SMTP_CRASH_DRIVER"
	crashDSNEnv    = "POCHTA_SMTP_CRASH_DSN"
)

// crashChild runs an MX over the store named in the environment and prints
// its address; the parent kills it with SIGKILL.
func crashChild() {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := storage.Open(ctx, storage.Options{Driver: os.Getenv(crashDriverEnv), DSN: os.Getenv(crashDSNEnv), Logger: log})
	if err != nil {
		fail(err)
	}
	w, r := st.DBs()
	dir, err := directory.NewLocal(ctx, directory.LocalOptions{DB: w, ReadDB: r, Durable: st.Sync})
	if err != nil {
		fail(err)
	}
	d := delivery.New(delivery.Options{Store: st, Directory: dir, Logger: log, Hostname: "mx.example.com"})
	srv, err := New(Options{Mode: ModeMX, Hostname: "mx.example.com", Deliverer: d, Directory: dir, Store: st, Logger: log})
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	fail(srv.Serve(ln))
}

// crashMsg is the message a sender sends; its Message-ID names it.
func crashMsg(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: storm@remote.example\r\nTo: alice@example.com\r\nSubject: storm %s\r\nMessage-ID: <%s@remote.example>\r\n\r\n", id, id)
	for b.Len() < 4096 {
		fmt.Fprintf(&b, "%s line %d of a message that must arrive whole or not at all\r\n", id, b.Len())
	}
	b.WriteString("END " + id + "\r\n")
	return b.String()
}

// Done-when 5: SIGKILL during a delivery storm loses no message that got
// 250, and leaves no partial message visible — on sqlite and PostgreSQL.
func TestCrashDuringDeliveryStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "pochta.db")
			if driver == "postgres" {
				dsn = pgtest.DSN(t)
			}
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
			alice, err := dir.AddAccount(ctx, directory.NewAccount{Address: "alice@example.com", Password: "pw"})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()

			acked := map[string]bool{}
			for round := 0; round < 2; round++ {
				for id := range crashRound(t, driver, dsn, round) {
					acked[id] = true
				}
			}
			if len(acked) == 0 {
				t.Fatal("no message was acknowledged before the kills")
			}

			st, err = storage.Open(ctx, storage.Options{Driver: driver, DSN: dsn})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			inbox, err := st.FolderByRole(ctx, alice.ID, storage.RoleInbox)
			if err != nil {
				t.Fatal(err)
			}
			stored := map[string]bool{}
			for offset := 0; ; offset += 500 {
				ms, err := st.ListMessages(ctx, alice.ID, inbox.ID, storage.ListQuery{Sort: storage.SortUID, Offset: offset, Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					raw, err := st.ReadBlob(ctx, m.BlobHash)
					if err != nil {
						t.Fatalf("message %d: blob: %v", m.ID, err)
					}
					id := strings.TrimSuffix(m.MessageIDHeader, "@remote.example")
					if int64(len(raw)) != m.Size || !strings.HasSuffix(string(raw), crashMsg(id)) {
						t.Fatalf("message %s stored incomplete (%d bytes)", id, len(raw))
					}
					stored[id] = true
				}
				if len(ms) < 500 {
					break
				}
			}
			lost := 0
			for id := range acked {
				if !stored[id] {
					lost++
					t.Errorf("message %s got 250 but is not in the Inbox", id)
				}
			}
			t.Logf("%s: %d acknowledged, %d stored (the rest were in flight), %d lost", driver, len(acked), len(stored), lost)
		})
	}
}

// crashRound starts the server child, runs senders until a random moment
// after the storm is under way, kills the child with SIGKILL, and returns
// the ids of the messages that got 250.
func crashRound(t *testing.T, driver, dsn string, round int) map[string]bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDriverEnv+"="+driver, crashDSNEnv+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if err != nil || !ok {
		t.Fatalf("child did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, out)

	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		count atomic.Int64
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := gosmtp.Dial(addr)
			if err != nil {
				return
			}
			defer c.Close()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("r%dw%ds%d", round, w, seq)
				if err := send(c, "storm@remote.example", []string{"alice@example.com"}, crashMsg(id)); err != nil {
					if code, _ := smtpCode(err); code >= 400 && code < 500 {
						continue // refused for now: not acknowledged, keep storming
					}
					return // the server is gone: not acknowledged
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
				count.Add(1)
			}
		}()
	}
	// Let the storm build up, then kill at a random moment.
	deadline := time.Now().Add(60 * time.Second)
	for count.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.N(800)) * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("round %d: %d acknowledged before SIGKILL", round, len(acked))
	return acked
}
