package smtp

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// benchMsg is a 4 KB message like the peer benchmarks send.
func benchMsg(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: bench@remote.example\r\nTo: bench@example.com\r\nSubject: bench %d\r\nMessage-ID: <b%d@remote.example>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n", i, i)
	for b.Len() < 4096-2 {
		b.WriteString("0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n")
	}
	return b.String()[:4094] + "\r\n"
}

// BenchmarkSMTPDelivery measures MX delivery into one local Inbox over
// reused connections at concurrency 1 and 20, on sqlite with
// synchronous=FULL (every 250 is a durable commit) and on PostgreSQL.
// msgs/s is the delivered-to-Inbox rate: the 250 comes after the commit.
func BenchmarkSMTPDelivery(b *testing.B) {
	for _, pg := range []bool{false, true} {
		for _, conc := range []int{1, 20} {
			name := fmt.Sprintf("%s/c%d", map[bool]string{false: "sqlite", true: "postgres"}[pg], conc)
			b.Run(name, func(b *testing.B) {
				h := newHarness(b, harnessConfig{postgres: pg})
				h.addUser("bench@example.com", "pw")
				clients := make([]*gosmtp.Client, conc)
				for i := range clients {
					c, err := gosmtp.Dial(h.mxAddr)
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					clients[i] = c
				}
				msgs := make([]string, 64)
				for i := range msgs {
					msgs[i] = benchMsg(i)
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				var failed atomic.Int64
				b.SetBytes(4096)
				b.ResetTimer()
				start := time.Now()
				for _, c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							if err := send(c, "bench@remote.example", []string{"bench@example.com"}, msgs[i%64]); err != nil {
								failed.Add(1)
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				el := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
				if failed.Load() > 0 {
					b.Fatalf("%d failures", failed.Load())
				}
			})
		}
	}
}
