package connlimit

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/pochta/pochta/internal/obs"
)

// HTTPRefusal is the reply a plain HTTP listener writes to a connection
// over a limit (RFC 9110 §15.6.4: 503 with Retry-After for a temporary
// overload), without reading the request.
const HTTPRefusal = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Retry-After: 5\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 38\r\n" +
	"Connection: close\r\n" +
	"\r\n" +
	"Too many connections, try again later\n"

// ListenerOptions configure NewListener.
type ListenerOptions struct {
	// Door is the "door" label of refusals in the metric and the log.
	Door string
	// Reply is written to a refused connection before it is closed; empty
	// closes it at once. Leave it empty below a TLS listener: the client
	// expects a handshake, and doing one for every refused connection is
	// the work a flood wants the server to do.
	Reply string
	// ReplyTimeout bounds writing Reply and letting the client read it;
	// 0 means 2 seconds.
	ReplyTimeout time.Duration
	// Metrics counts refusals in pochta_connections_refused_total; nil
	// counts nothing.
	Metrics *obs.Metrics
	// Logger gets a debug line per refusal (the metric is the place to
	// watch: a flood would flood the log); nil discards.
	Logger *slog.Logger
}

// maxReplying bounds the refused connections being answered at once; over
// it, refused connections are closed without a reply, so a flood cannot
// pile up goroutines and descriptors.
const maxReplying = 64

// Listener passes on connections that get a slot from its Limiter and
// refuses the others. The slot is freed when the connection is closed.
type Listener struct {
	net.Listener
	lim      *Limiter
	opts     ListenerOptions
	replying chan struct{}
}

// NewListener wraps ln. For TLS, wrap the plain listener and put
// tls.NewListener on top, so refused connections cost no handshake.
func NewListener(ln net.Listener, lim *Limiter, opts ListenerOptions) *Listener {
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = obs.Discard()
	}
	return &Listener{Listener: ln, lim: lim, opts: opts, replying: make(chan struct{}, maxReplying)}
}

// Accept returns the next connection within the limits; refused ones are
// answered and closed in the background.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, reason := l.lim.AcquireAddr(c.RemoteAddr())
		if reason == Accepted {
			return &conn{Conn: c, release: release}, nil
		}
		l.opts.Metrics.ConnRefused(l.opts.Door, string(reason))
		l.opts.Logger.Debug("connection refused: limit reached", "door", l.opts.Door, "reason", string(reason), "remote", c.RemoteAddr().String())
		l.refuse(c)
	}
}

func (l *Listener) refuse(c net.Conn) {
	if l.opts.Reply == "" {
		_ = c.Close()
		return
	}
	select {
	case l.replying <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.replying }()
		defer l.opts.Metrics.Recover(l.opts.Logger, "connlimit")
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(l.opts.ReplyTimeout))
		// Clients take a reply that comes before their request for a
		// stray one (net/http's Transport fails the request): wait for
		// the request head first, as far as it comes.
		_ = readHead(c, 8<<10)
		if _, err := io.WriteString(c, l.opts.Reply); err != nil {
			return
		}
		// Closing with the request unread would make the kernel reset the
		// connection, and the client might lose the reply: half-close,
		// then read until the client closes (or the deadline).
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// readHead reads from r until the end of an HTTP request head (an empty
// line, RFC 9112 §2.1), limit bytes, or an error such as the deadline. It
// only looks for the empty line; nothing is parsed.
func readHead(r io.Reader, limit int) error {
	buf := make([]byte, 0, 1024)
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		start := max(0, len(buf)-3) // the empty line may straddle two reads
		buf = buf[:len(buf)+n]
		if headEnd(buf[start:]) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// headEnd reports whether b holds the empty line ending a request head
// (CRLF CRLF, or bare LFs, which RFC 9112 §2.2 lets servers accept).
func headEnd(b []byte) bool {
	return bytes.Contains(b, []byte("\n\r\n")) || bytes.Contains(b, []byte("\n\n"))
}

// conn frees its slot on the first Close.
type conn struct {
	net.Conn
	release func()
}

func (c *conn) Close() error {
	c.release()
	return c.Conn.Close()
}
