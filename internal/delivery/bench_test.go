package delivery_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pochta/pochta/internal/testutil/testenv"
)

// message4K is a 4 KB message, the size BENCH.md's peers were measured with.
func message4K(n int64) []byte {
	head := fmt.Sprintf("From: bench@example.org\r\nTo: r@example.com\r\nSubject: bench %d\r\nMessage-ID: <bench-%d@example.org>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n", n, n)
	return []byte(head + strings.Repeat("x", 4096-len(head)-2) + "\r\n")
}

func benchDeliver(b *testing.B, postgres bool, recipients int) {
	e := testenv.New(b, testenv.Options{Postgres: postgres})
	var ids []int64
	for i := range recipients {
		ids = append(ids, e.AddUser(b, fmt.Sprintf("r%d@example.com", i), "pw").ID)
	}
	ctx := context.Background()
	var n atomic.Int64
	b.SetBytes(4096)
	b.ResetTimer()
	// Parallel: deliveries arrive concurrently, as from many SMTP sessions;
	// that is what the grouped commit is for.
	b.SetParallelism(10)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Deliverer.DeliverLocal(ctx, message4K(n.Add(1)), ids); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDeliver4K(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, rcpts := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/rcpt=%d", backend, rcpts), func(b *testing.B) {
				benchDeliver(b, backend == "postgres", rcpts)
			})
		}
	}
}

// BenchmarkDeliver4KSerial is one delivery at a time: the latency of a
// single durable commit.
func BenchmarkDeliver4KSerial(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			e := testenv.New(b, testenv.Options{Postgres: backend == "postgres"})
			id := e.AddUser(b, "r@example.com", "pw").ID
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if _, err := e.Deliverer.DeliverLocal(ctx, message4K(int64(i)), []int64{id}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
