package httpguard

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// SlowBodyError is what reading a request body returns once the client
// fell below the minimum rate. It wraps os.ErrDeadlineExceeded.
type SlowBodyError struct {
	MinRate int64 // bytes per second
	Read    int64 // bytes that had arrived
	Err     error // the read error
}

func (e *SlowBodyError) Error() string {
	return fmt.Sprintf("request body too slow: %d bytes arrived, below the minimum of %d bytes/s", e.Read, e.MinRate)
}

func (e *SlowBodyError) Unwrap() error { return e.Err }

// MinBodyRate wraps next so that a request body may take grace and must
// then keep up an average of minRate bytes per second counted from the
// start of the body. The connection's read deadline is start + grace +
// bytesRead/minRate, moved forward as bytes arrive; a client that falls
// behind gets a read error (a *SlowBodyError), which the handlers answer
// as a bad request, and its connection is closed. A normal upload at
// network speed stays far ahead of its deadline.
//
// Only the body is timed. The deadline is cleared as soon as the body is
// complete, so a handler that is slow to respond (a MAPI NotificationWait,
// a server-sent event stream) is not affected, and requests without a
// body are not touched. minRate <= 0 returns next unchanged.
func MinBodyRate(next http.Handler, minRate int64, grace time.Duration) http.Handler {
	if minRate <= 0 {
		return next
	}
	return &rateGuard{next: next, minRate: minRate, grace: grace}
}

type rateGuard struct {
	next    http.Handler
	minRate int64
	grace   time.Duration
}

func (g *rateGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		g.next.ServeHTTP(w, r)
		return
	}
	rc := http.NewResponseController(w)
	start := time.Now()
	// Armed before the handler runs: a handler that answers without
	// reading (a 401, say) leaves the server to drain the body, and that
	// drain must not wait for a trickle either.
	if err := rc.SetReadDeadline(start.Add(g.grace)); err != nil {
		// Not a connection that supports deadlines (a test recorder).
		g.next.ServeHTTP(w, r)
		return
	}
	body := &rateBody{body: r.Body, rc: rc, start: start, guard: g, length: r.ContentLength}
	// A shallow copy: the server inspects its own request's Body after the
	// handler (to drain or close it) and must still find its own type.
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = body
	g.next.ServeHTTP(w, r2)
}

// rateBody moves the read deadline forward as the body arrives.
type rateBody struct {
	body   io.ReadCloser
	rc     *http.ResponseController
	guard  *rateGuard
	start  time.Time
	length int64 // Content-Length, -1 if unknown
	read   int64
	done   bool // complete or failed: the deadline is no longer moved
}

func (b *rateBody) deadline() time.Time {
	earned := time.Duration(float64(b.read) / float64(b.guard.minRate) * float64(time.Second))
	return b.start.Add(b.guard.grace + earned)
}

func (b *rateBody) Read(p []byte) (int, error) {
	if b.done {
		return b.body.Read(p)
	}
	// Ignoring the error: it was supported when the guard was armed.
	_ = b.rc.SetReadDeadline(b.deadline())
	n, err := b.body.Read(p)
	b.read += int64(n)
	switch {
	case err == nil && (b.length < 0 || b.read < b.length):
	case err == nil || errors.Is(err, io.EOF):
		// Complete. The server now watches the connection for the client
		// going away; a deadline left in place would end a long-poll.
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	default:
		// A failed body leaves the deadline as it is: whatever the server
		// still reads of this connection fails fast, and it is closed.
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, &SlowBodyError{MinRate: b.guard.minRate, Read: b.read, Err: err}
		}
	}
	return n, err
}

func (b *rateBody) Close() error { return b.body.Close() }
