package pop3_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/pop3"
	"github.com/pochta/pochta/storage"
)

// benchMessage is a 4 KB message like the peer benchmark's (BENCH.md).
func benchMessage(i, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: sender@bench.test\r\nTo: pop@example.com\r\nSubject: bench %d\r\nMessage-ID: <b%d@bench.test>\r\n\r\n", i, i)
	for b.Len() < size-2 {
		line := strings.Repeat("abcdefghij", 7)
		if n := size - 2 - b.Len(); n < len(line)+2 {
			line = line[:max(0, n-2)]
		}
		b.WriteString(line + "\r\n")
	}
	return b.Bytes()[:size]
}

// BenchmarkRETR logs in over one plain loopback connection and retrieves
// every message of a 1,000 × 4 KB maildrop, one RETR at a time, waiting for
// each answer (as poplib and `pochta bench pop3` do). msg/s is the figure to
// set beside Dovecot's.
func BenchmarkRETR(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		count := 1000
		if size > 64<<10 {
			count = 20
		}
		b.Run(fmt.Sprintf("%dx%dB", count, size), func(b *testing.B) {
			env := testenv.New(b)
			acct := env.AddUser(b, "pop@example.com", "pass")
			ctx := context.Background()
			inbox, err := env.Store.FolderByRole(ctx, acct.ID, storage.RoleInbox)
			if err != nil {
				b.Fatal(err)
			}
			// Fill in a few transactions: the figure is about reading.
			for start := 0; start < count; start += 200 {
				err := env.Store.Write(ctx, func(tx *storage.Tx) error {
					for i := start; i < min(count, start+200); i++ {
						raw := benchMessage(i, size)
						h, err := tx.PutBlob(raw)
						if err != nil {
							return err
						}
						if _, err := tx.AddMessage(acct.ID, inbox.ID, &storage.NewMessage{BlobHash: h, Size: int64(len(raw))}, false); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			srv, err := pop3.New(pop3.Options{Store: env.Store, Directory: env.Dir, AllowInsecureAuthLoopback: true, Logger: env.Logger})
			if err != nil {
				b.Fatal(err)
			}
			ln := testenv.Listen(b)
			go srv.Serve(ln)
			defer srv.Close()
			var bytesRead int64
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				bytesRead += retrieveAll(b, ln.Addr().String(), count)
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(count)*float64(b.N)/elapsed.Seconds(), "msg/s")
			b.ReportMetric(float64(bytesRead)/elapsed.Seconds()/1e6, "MB/s")
		})
	}
}

// retrieveAll is one session: USER/PASS, STAT, RETR 1..n, QUIT.
func retrieveAll(b *testing.B, addr string, want int) int64 {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 64<<10)
	w := bufio.NewWriter(conn)
	status := func(cmd string) string {
		if cmd != "" {
			w.WriteString(cmd + "\r\n")
			w.Flush()
		}
		l, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, "+OK") {
			b.Fatalf("%s: %q %v", cmd, l, err)
		}
		return l
	}
	status("")
	status("USER pop@example.com")
	status("PASS pass")
	var n int
	fmt.Sscanf(status("STAT"), "+OK %d", &n)
	if n != want {
		b.Fatalf("STAT says %d messages, want %d", n, want)
	}
	var total int64
	for i := 1; i <= n; i++ {
		status(fmt.Sprintf("RETR %d", i))
		for {
			l, err := r.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				b.Fatal(err)
			}
			total += int64(len(l))
			if len(l) == 3 && string(l) == ".\r\n" {
				break
			}
		}
	}
	status("QUIT")
	return total
}
