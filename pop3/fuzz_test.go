package pop3

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pochta/pochta/internal/testutil/testenv"
	"github.com/pochta/pochta/storage"
)

var quitRe = regexp.MustCompile(`(?i)q\s*u\s*i\s*t`)

var fuzzSeeds = []string{
	"USER alice@example.com", "PASS correct horse battery staple", "PASS  two  spaces ",
	"STAT", "LIST", "LIST 1", "UIDL", "UIDL 2", "RETR 1", "TOP 1 0", "TOP 2 10", "DELE 1",
	"NOOP", "RSET", "QUIT", "CAPA", "STLS", "AUTH", "AUTH PLAIN", "AUTH PLAIN AGFsaWNlAHBhc3M=",
	"AUTH PLAIN =", "APOP alice c4c9334bac560ecc979e58001b3e22fb", "UTF8", "list 1", "RETR 0",
	"RETR 99999999999", "TOP 1 -1", "", " ", "\t", "LIST 1 2 3", "XYZZY", "RE", "\x00\x01",
	"USER \xff\xfe", "AUTH PLAIN " + strings.Repeat("A", 400),
}

// FuzzParseCommand: any line parses into a command or an error, never a
// panic, and a parsed command respects the documented shape.
func FuzzParseCommand(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, err := ParseCommand(line)
		if err != nil {
			if cmd.Name != "" || cmd.Args != nil {
				t.Fatalf("error %v with a command %+v", err, cmd)
			}
			return
		}
		if n := len(cmd.Name); n < 3 || n > 4 || strings.ToUpper(cmd.Name) != cmd.Name {
			t.Fatalf("keyword %q", cmd.Name)
		}
		if len(cmd.Args) > maxArgs {
			t.Fatalf("%d arguments", len(cmd.Args))
		}
		for _, a := range cmd.Args {
			if a == "" || strings.ContainsAny(a, "\r\n\x00") {
				t.Fatalf("argument %q", a)
			}
			if cmd.Name != "PASS" && strings.ContainsAny(a, " ") {
				t.Fatalf("argument with a space %q", a)
			}
		}
		// Re-parsing the canonical form gives the same command.
		again, err := ParseCommand([]byte(strings.Join(append([]string{cmd.Name}, cmd.Args...), " ")))
		if err != nil || again.Name != cmd.Name || len(again.Args) != len(cmd.Args) {
			t.Fatalf("canonical form of %+v parses as %+v, %v", cmd, again, err)
		}
		if n, ok := parseNumber(string(line)); ok && n < 0 {
			t.Fatalf("negative number %d", n)
		}
	})
}

// FuzzDotStuffer: whatever the message bytes, the multi-line answer has
// CRLF line ends, no line that is a lone "." before the end, and un-stuffs
// to the message with LF normalised to CRLF.
func FuzzDotStuffer(f *testing.F) {
	f.Add([]byte("a\r\n.b\r\n..\r\n.\r\nc"), 3)
	f.Add([]byte(".\n\n\r\r\n."), 1)
	f.Add([]byte(""), 7)
	f.Fuzz(func(t *testing.T, msg []byte, split int) {
		var out bytes.Buffer
		w := bufio.NewWriterSize(&out, 16)
		d := newDotStuffer(w)
		// Feed in pieces so chunk boundaries fall anywhere.
		step := max(1, split%17)
		for p := msg; len(p) > 0; {
			n := min(step, len(p))
			d.Write(p[:n])
			p = p[n:]
		}
		if err := d.close(); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		wire := out.String()
		if !strings.HasSuffix(wire, ".\r\n") {
			t.Fatalf("no terminator: %q", wire)
		}
		lines := strings.SplitAfter(wire, "\r\n")
		lines = lines[:len(lines)-1] // the empty string after the last CRLF
		var unstuffed strings.Builder
		hasCR := bytes.IndexByte(msg, '\r') >= 0
		for i, l := range lines {
			if !hasCR && strings.Contains(strings.TrimSuffix(l, "\r\n"), "\n") {
				t.Fatalf("bare LF on the wire: %q", wire)
			}
			if l == ".\r\n" {
				if i != len(lines)-1 {
					t.Fatalf("early terminator in %q", wire)
				}
				break
			}
			unstuffed.WriteString(strings.TrimPrefix(l, "."))
		}
		want := string(normalizeLF(msg))
		if want != "" && !strings.HasSuffix(want, "\r\n") {
			if strings.HasSuffix(want, "\r") {
				want += "\n"
			} else {
				want += "\r\n"
			}
		}
		if unstuffed.String() != want {
			t.Fatalf("un-stuffed %q, want %q", unstuffed.String(), want)
		}
	})
}

// normalizeLF turns every LF not preceded by CR into CRLF.
func normalizeLF(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// loopbackPipe is a net.Pipe end that claims to come from 127.0.0.1, so the
// fuzzed session may log in without TLS (AllowInsecureAuthLoopback).
type loopbackPipe struct{ net.Conn }

func (loopbackPipe) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
}

// sessionRig is a server over a store with one user and three messages,
// driven over net.Pipe.
type sessionRig struct {
	env   *testenv.Env
	srv   *Server
	acct  int64
	inbox int64
}

func newSessionRig(tb testing.TB) *sessionRig {
	env := testenv.New(tb)
	acct := env.AddUser(tb, "alice@example.com", "secret")
	for i := range 3 {
		env.Deliver(tb, []byte("From: a@example.org\r\nSubject: "+strings.Repeat("s", i)+"\r\n\r\n.dot\r\nbody\n"), acct.ID)
	}
	srv, err := New(Options{Store: env.Store, Directory: env.Dir, TLS: env.TLS, AllowInsecureAuthLoopback: true,
		AuthFailureDelay: -1, Logger: env.Logger, MaxErrors: 50})
	if err != nil {
		tb.Fatal(err)
	}
	inbox, err := env.Store.FolderByRole(context.Background(), acct.ID, storage.RoleInbox)
	if err != nil {
		tb.Fatal(err)
	}
	return &sessionRig{env: env, srv: srv, acct: acct.ID, inbox: inbox.ID}
}

// run logs in, sends input (with any QUIT turned into NOOP), drops the
// connection, and checks every answer and that nothing was deleted.
func (rig *sessionRig) run(t *testing.T, input []byte) {
	input = quitRe.ReplaceAll(input, []byte("NOOP"))
	server, client := net.Pipe()
	done := make(chan struct{})
	rig.srv.wg.Add(1)
	go func() {
		defer close(done)
		rig.srv.handle(loopbackPipe{server})
	}()
	defer func() {
		client.Close()
		<-done
	}()
	client.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(client)
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("greeting %q", l)
	}
	io.WriteString(client, "USER alice@example.com\r\nPASS secret\r\n")
	r.ReadString('\n')
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "+OK Maildrop has 3") {
		t.Fatalf("login %q", l)
	}
	// Write the input while reading every answer, then drop the connection
	// (no QUIT).
	go func() {
		client.Write(input)
		client.Write([]byte("\r\n"))
		time.Sleep(10 * time.Millisecond)
		client.Close()
	}()
	inMulti, tlsStarted := false, false
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			break
		}
		if tlsStarted {
			continue // TLS records of a handshake fed with garbage
		}
		if inMulti {
			if l == ".\r\n" {
				inMulti = false
			}
			continue
		}
		switch {
		case strings.HasPrefix(l, "+OK Begin TLS"):
			tlsStarted = true
		case strings.HasPrefix(l, "+OK"):
			// Multi-line answers say "follows" (CAPA, UIDL, TOP) or give
			// octets (RETR, LIST); "Maildrop has" (RSET) is one line.
			inMulti = strings.Contains(l, "follows") || strings.Contains(l, "octets") && !strings.Contains(l, "Maildrop")
		case strings.HasPrefix(l, "-ERR"), strings.HasPrefix(l, "+ "):
		default:
			t.Fatalf("not a POP3 answer: %q", l)
		}
	}
	client.Close()
	<-done
	meta, err := rig.env.Store.FolderMeta(context.Background(), rig.acct, rig.inbox)
	if err != nil || len(meta) != 3 {
		t.Fatalf("a session without QUIT changed the maildrop: %d messages, %v", len(meta), err)
	}
}

// FuzzSession drives a whole session over net.Pipe with random input after
// a valid login: the server never panics, always answers with +OK, -ERR, a
// SASL "+ " or multi-line data, ends the session cleanly, and a session
// without QUIT deletes nothing.
func FuzzSession(f *testing.F) {
	rig := newSessionRig(f)
	for _, s := range []string{
		"STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 3\r\nRSET\r\nNOOP\r\nCAPA\r\n",
		"DELE 1\r\nDELE 2\r\nDELE 3\r\n",
		"RETR 4\r\nLIST 0\r\nUSER x\r\nPASS y\r\nAUTH PLAIN\r\n*\r\n",
		"STLS\r\nQUIT\r\n", "\x00\r\n\n\r\nTOP 1 99999999\r\n", strings.Repeat("A", 3000) + "\r\nNOOP\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(rig.run)
}

// TestSessionRandomInput runs the session fuzz body over generated inputs,
// so plain `go test` covers combinations of commands and corrupted bytes.
func TestSessionRandomInput(t *testing.T) {
	rig := newSessionRig(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		var b []byte
		for range 1 + rng.IntN(6) {
			s := []byte(fuzzSeeds[rng.IntN(len(fuzzSeeds))])
			if len(s) > 0 && rng.IntN(3) == 0 {
				s[rng.IntN(len(s))] = byte(rng.IntN(256))
			}
			b = append(b, s...)
			if rng.IntN(5) != 0 {
				b = append(b, '\r', '\n')
			}
		}
		rig.run(t, b)
	}
}
