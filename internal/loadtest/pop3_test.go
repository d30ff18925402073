package loadtest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// pop3Responder is a minimal in-test POP3 server (RFC 1939 subset: USER,
// PASS, STAT, RETR, QUIT, and STLS when it has a TLS config).
type pop3Responder struct {
	user, pass string
	maildrop   [][]byte
	refuse     map[int]bool // RETR numbers answered with -ERR
	tlsConfig  *tls.Config

	retrs    atomic.Int64
	sessions atomic.Int64
	wg       sync.WaitGroup
}

func (p *pop3Responder) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			p.session(c)
		}()
	}
}

func (p *pop3Responder) session(c net.Conn) {
	r := textproto.NewReader(bufio.NewReader(c))
	w := bufio.NewWriter(c)
	reply := func(format string, args ...any) {
		fmt.Fprintf(w, format+"\r\n", args...)
		w.Flush()
	}
	reply("+OK test POP3 ready")
	var user string
	authed := false
	for {
		line, err := r.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "STLS":
			if p.tlsConfig == nil || authed {
				reply("-ERR no TLS")
				continue
			}
			reply("+OK begin TLS")
			tc := tls.Server(c, p.tlsConfig)
			if tc.Handshake() != nil {
				return
			}
			c = tc
			r = textproto.NewReader(bufio.NewReader(c))
			w = bufio.NewWriter(c)
		case "USER":
			user = arg
			reply("+OK")
		case "PASS":
			if user != p.user || arg != p.pass {
				reply("-ERR [AUTH] invalid login")
				continue
			}
			authed = true
			p.sessions.Add(1)
			reply("+OK logged in")
		case "STAT":
			if !authed {
				reply("-ERR log in first")
				continue
			}
			size := 0
			for _, m := range p.maildrop {
				size += len(m)
			}
			reply("+OK %d %d", len(p.maildrop), size)
		case "RETR":
			n, err := strconv.Atoi(arg)
			if !authed || err != nil || n < 1 || n > len(p.maildrop) || p.refuse[n] {
				reply("-ERR no such message")
				continue
			}
			p.retrs.Add(1)
			fmt.Fprintf(w, "+OK %d octets\r\n", len(p.maildrop[n-1]))
			dw := textproto.NewWriter(w).DotWriter() // byte-stuffs and ends with "."
			dw.Write(p.maildrop[n-1])
			dw.Close()
			w.Flush()
		case "QUIT":
			reply("+OK bye")
			return
		default:
			reply("-ERR unknown command")
		}
	}
}

func startPOP3(t *testing.T, p *pop3Responder, implicitTLS bool) string {
	t.Helper()
	var ln net.Listener = listenLoopback(t)
	if implicitTLS {
		ln = tls.NewListener(ln, p.tlsConfig)
	}
	go p.serve(ln)
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return ln.Addr().String()
}

// testMaildrop makes n messages, some with lines that start with "." so the
// byte-stuffing path is exercised; sizes vary.
func testMaildrop(n int) ([][]byte, int64) {
	var drop [][]byte
	var total int64
	for i := range n {
		m := fullMessage("a@x.test", "pop@y.test", "pop", i, 1024+i*37, testNow())
		if i%3 == 0 {
			m = append(m, ".leading dot\r\n..two dots\r\n.\r\n"...)
		}
		drop = append(drop, m)
		total += int64(len(m))
	}
	return drop, total
}

func TestPOP3RetrievesTheWholeMaildrop(t *testing.T) {
	drop, total := testMaildrop(25)
	p := &pop3Responder{user: "pop", pass: "pw", maildrop: drop}
	addr := startPOP3(t, p, false)
	var out bytes.Buffer
	if err := RunPOP3(testContext(t), []string{"-addr", addr, "-user", "pop", "-pass", "pw", "-c", "3"}, &out); err != nil {
		t.Fatalf("RunPOP3: %v\n%s", err, out.String())
	}
	report := out.String()
	if got := resultInt(t, report, "messages"); got != 75 {
		t.Errorf("messages = %d, want 75", got)
	}
	// Byte-stuffing undone: the bytes counted are the messages' own bytes.
	if got := resultInt(t, report, "bytes"); got != 3*total {
		t.Errorf("bytes = %d, want %d", got, 3*total)
	}
	if got := resultInt(t, report, "errors"); got != 0 {
		t.Errorf("errors = %d\n%s", got, report)
	}
	if p.retrs.Load() != 75 || p.sessions.Load() != 3 {
		t.Errorf("server saw %d RETRs in %d sessions, want 75 in 3", p.retrs.Load(), p.sessions.Load())
	}
}

func TestPOP3CountsRefusedRetrAndGoesOn(t *testing.T) {
	drop, _ := testMaildrop(10)
	p := &pop3Responder{user: "pop", pass: "pw", maildrop: drop, refuse: map[int]bool{4: true}}
	addr := startPOP3(t, p, false)
	cfg, err := parsePOP3Flags([]string{"-addr", addr, "-user", "pop", "-pass", "pw", "-c", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runPOP3(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 18 || res.Errors.count != 2 || res.Sessions != 2 {
		t.Errorf("messages %d errors %d sessions %d, want 18, 2, 2", res.Messages, res.Errors.count, res.Sessions)
	}
	if len(res.Errors.texts) != 1 || !strings.Contains(res.Errors.texts[0], "-ERR no such message") {
		t.Errorf("error texts %q", res.Errors.texts)
	}
}

func TestPOP3WrongPasswordFails(t *testing.T) {
	drop, _ := testMaildrop(2)
	p := &pop3Responder{user: "pop", pass: "pw", maildrop: drop}
	addr := startPOP3(t, p, false)
	var out bytes.Buffer
	err := RunPOP3(testContext(t), []string{"-addr", addr, "-user", "pop", "-pass", "nope"}, &out)
	if err == nil {
		t.Fatalf("wrong password succeeded:\n%s", out.String())
	}
	if strings.Contains(out.String(), "nope") {
		t.Errorf("report leaks the password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "PASS: -ERR [AUTH] invalid login") {
		t.Errorf("report lacks the refusal:\n%s", out.String())
	}
	if p.retrs.Load() != 0 {
		t.Errorf("RETRs without login: %d", p.retrs.Load())
	}
}

func TestPOP3OverTLSAndSTLS(t *testing.T) {
	drop, total := testMaildrop(7)
	tlsCfg := selfSignedTLS(t)
	for _, mode := range []string{"-tls", "-starttls"} {
		t.Run(mode, func(t *testing.T) {
			p := &pop3Responder{user: "pop", pass: "pw", maildrop: drop, tlsConfig: tlsCfg}
			addr := startPOP3(t, p, mode == "-tls")
			cfg, err := parsePOP3Flags([]string{"-addr", addr, "-user", "pop", "-pass", "pw", mode, "-insecure", "-max", "5"}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			res, err := runPOP3(testContext(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Messages != 5 || res.Errors.count != 0 {
				t.Errorf("messages %d errors %d %q, want 5 and 0", res.Messages, res.Errors.count, res.Errors.texts)
			}
			if res.Bytes <= 0 || res.Bytes >= total {
				t.Errorf("bytes %d for 5 of 7 messages (all 7: %d)", res.Bytes, total)
			}
			// Without -insecure the self-signed certificate is refused.
			cfg.Insecure = false
			res, err = runPOP3(testContext(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sessions != 0 || res.Errors.count != 1 {
				t.Errorf("unverified cert: sessions %d errors %d", res.Sessions, res.Errors.count)
			}
		})
	}
}

func TestPOP3Flags(t *testing.T) {
	var out bytes.Buffer
	if err := RunPOP3(testContext(t), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v", err)
	}
	if !strings.Contains(out.String(), "usage: pochta bench pop3") {
		t.Errorf("-h output:\n%s", out.String())
	}
	for _, args := range [][]string{{}, {"-user", "u", "-c", "0"}, {"-user", "u", "-tls", "-starttls"}, {"-user", "u", "-max", "-1"}} {
		if _, err := parsePOP3Flags(args, io.Discard); err == nil {
			t.Errorf("flags %q accepted", args)
		}
	}
}
