package smtp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzClassifyAddress: the relay policy's view of an address. Whatever the
// input, an address classified as plain (not routed, not a literal) has
// exactly one "@", no "%" or "!" and no quotes in its local part, and the
// domain the policy checked is the one delivery routes by.
func FuzzClassifyAddress(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "alice%foreign.example@example.com", "foreign!alice@example.com",
		"alice@foreign.example@example.com", "alice@[127.0.0.1]", "alice@[IPv6:::1]", "\"a b\"@example.com",
		"jürgen@bücher.example", "a@b", "@", "a@", "@b", "a..b@example.com", ".a@example.com", "a@-x.example",
		"a@example.com.", "a\x00@example.com", "a@exa\nmple.com", "user+tag@example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		c := classifyAddress(addr)
		if !c.ok {
			return
		}
		at := strings.LastIndexByte(addr, '@')
		if got := strings.ToLower(addr[at+1:]); c.domain != got || c.local != addr[:at] {
			t.Fatalf("%q split as %q @ %q", addr, c.local, c.domain)
		}
		if c.literal || c.routed {
			return
		}
		if strings.Count(addr, "@") != 1 || strings.ContainsAny(c.local, "%!\"\\ \t\r\n") {
			t.Fatalf("%q passes as a plain address", addr)
		}
		if !validDomain(c.domain) {
			t.Fatalf("%q: bad domain accepted", addr)
		}
	})
}

// pipeListener hands in-memory connections to a Server.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 25} }

// dialPipe connects a client end to the listener.
func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

// FuzzSMTPSession drives the MX with arbitrary client bytes. The server
// must always greet, answer and end the session on QUIT (no hang, no
// panic), and — the relay property — an unauthenticated client must never
// get a message into the outbound queue. The only queue entries it may
// cause are delivery notices (RFC 3461 NOTIFY=SUCCESS to its own sender),
// and those carry the null sender.
func FuzzSMTPSession(f *testing.F) {
	seeds := []string{
		"EHLO a\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n",
		"EHLO a\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<victim@foreign.example>\r\nRCPT TO:<alice%foreign.example@example.com>\r\nDATA\r\nx\r\n.\r\n",
		"EHLO a\r\nMAIL FROM:<x@remote.example> RET=FULL ENVID=a+2Bb\r\nRCPT TO:<alice@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b\r\nBDAT 5 LAST\r\nhello",
		"HELO a\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHB3\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<x@foreign.example>\r\n",
		"EHLO a\r\nMAIL FROM:<> SIZE=99999999999\r\nRCPT TO:<@a,@b:alice@example.com>\r\nRCPT TO:<\"a@b\"@example.com>\r\nRSET\r\nVRFY alice\r\nNOOP\r\n",
		"EHLO a\r\nMAIL FROM:<x@remote.example> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<alice@[127.0.0.1]>\r\nRCPT TO:<ALICE@EXAMPLE.COM>\r\nDATA\r\n\xff\xfe\r\n..\r\n.\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// Short timeouts: a script that stops inside DATA or BDAT leaves the
	// server waiting for bytes that never come, as it should; it must then
	// time out and hang up rather than hang.
	h := newHarness(f, harnessConfig{opts: func(o *Options) { o.ReadTimeout, o.DataTimeout = 500*time.Millisecond, 500*time.Millisecond }})
	h.addUser("alice@example.com", "pw")
	ln := newPipeListener()
	go h.mx.Serve(ln)
	f.Cleanup(func() { ln.Close() })
	f.Fuzz(func(t *testing.T, script []byte) {
		conn := ln.dial()
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		go func() {
			_, _ = conn.Write(script)
			// End any DATA, then leave.
			_, _ = conn.Write([]byte("\r\n.\r\nRSET\r\nQUIT\r\n"))
		}()
		out, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("session hung; output so far %q", out)
		}
		if !bytes.HasPrefix(out, []byte("220 ")) {
			t.Fatalf("no greeting: %q", out)
		}
		ms, err := h.env.Store.QueueMessages(context.Background(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Sender != "" {
				t.Fatalf("unauthenticated client queued a message from %q to %+v", m.Sender, m.Recipients)
			}
		}
	})
}
