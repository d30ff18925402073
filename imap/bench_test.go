package imap

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pochta/pochta/internal/loadtest"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/storage"
)

// fillFolder stores n messages in the account's Inbox straight through
// the store (thousands per transaction, one shared blob), with varied
// promoted columns and flags so searches select real subsets.
func fillFolder(tb testing.TB, ts *testServer, n int) {
	tb.Helper()
	ctx := context.Background()
	inbox, err := ts.env.Store.FolderByRole(ctx, ts.accountID, storage.RoleInbox)
	if err != nil {
		tb.Fatal(err)
	}
	raw := []byte(plainMessage("template", strings.Repeat("body text ", 200)))
	parsed := message.Parse(raw).Marshal()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	const perTx = 5000
	for start := 0; start < n; start += perTx {
		err := ts.env.Store.Write(ctx, func(tx *storage.Tx) error {
			h, err := tx.PutBlob(raw)
			if err != nil {
				return err
			}
			for i := start; i < min(start+perTx, n); i++ {
				_, err := tx.AddMessage(ts.accountID, inbox.ID, &storage.NewMessage{
					BlobHash: h, Size: int64(len(raw)), Parsed: parsed,
					InternalDate: base.Add(time.Duration(i) * time.Minute),
					Flags:        storage.Flags(i % 3), // some \Seen, some \Answered
					Subject:      fmt.Sprintf("Order %d confirmation", i),
					FromName:     fmt.Sprintf("Shop %d", i%97), FromAddr: fmt.Sprintf("shop%d@example.net", i%97),
					SentAt: base.Add(time.Duration(i) * time.Minute), MessageIDHeader: fmt.Sprintf("%d@example.net", i),
				}, true)
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

const largeFolder = 100_000

// BenchmarkIMAPLargeFolder: a 100,000-message INBOX. SELECT (first in the
// process loads the shared mailbox; later ones reuse it), UID FETCH 1:*
// (FLAGS), UID SEARCH on a header (SUBJECT and FROM run as SQL).
func BenchmarkIMAPLargeFolder(b *testing.B) {
	ts := newTestServer(b)
	fillFolder(b, ts, largeFolder)
	c := ts.client(b)

	b.Run("SELECT-cold", func(b *testing.B) {
		ts.srv.mu.Lock()
		ts.srv.linger = 0 // nothing kept loaded: every SELECT reads the folder
		ts.srv.mu.Unlock()
		defer func() {
			ts.srv.mu.Lock()
			ts.srv.linger = mailboxLinger
			ts.srv.mu.Unlock()
		}()
		for range b.N {
			time.Sleep(50 * time.Millisecond) // let the released mailbox stop
			// No session holds the folder: SELECT reads it from the store.
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				b.Fatal(err)
			}
			if err := c.Unselect().Wait(); err != nil {
				b.Fatal(err)
			}
		}
	})
	holder := ts.client(b)
	if _, err := holder.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	b.Run("SELECT-shared", func(b *testing.B) {
		for range b.N {
			d, err := c.Select("INBOX", nil).Wait()
			if err != nil {
				b.Fatal(err)
			}
			if d.NumMessages != largeFolder {
				b.Fatalf("%d messages", d.NumMessages)
			}
		}
	})
	// A wire-level reader, so the client's own parsing (imapclient hands
	// every item through channels) does not dominate the measurement.
	rc := ts.raw(b, true)
	rc.cmd("l", `LOGIN alice@example.com "`+testPassword+`"`)
	rc.cmd("s", "SELECT INBOX")
	b.Run("UID-FETCH-1:*-FLAGS", func(b *testing.B) {
		for range b.N {
			n := rc.count("f", "UID FETCH 1:* (FLAGS)")
			if n != largeFolder {
				b.Fatalf("%d responses", n)
			}
		}
	})
	b.Run("UID-SEARCH-SUBJECT", func(b *testing.B) {
		for range b.N {
			d, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "order 4242 "}}}, nil).Wait()
			if err != nil {
				b.Fatal(err)
			}
			if uids := d.AllUIDs(); len(uids) != 1 || uids[0] != 4243 {
				b.Fatalf("found %v", uids)
			}
		}
	})
	b.Run("UID-SEARCH-FROM-UNSEEN", func(b *testing.B) {
		for range b.N {
			d, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "shop42@"}}, NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
			if err != nil {
				b.Fatal(err)
			}
			if len(d.AllUIDs()) < 600 {
				b.Fatalf("found %d", len(d.AllUIDs()))
			}
		}
	})
	b.Run("UID-SEARCH-HEADER-Message-ID", func(b *testing.B) {
		for range b.N {
			d, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<77777@example.net>"}}}, nil).Wait()
			if err != nil {
				b.Fatal(err)
			}
			if len(d.AllUIDs()) != 1 {
				b.Fatalf("found %v", d.AllUIDs())
			}
		}
	})
}

// BenchmarkIMAPMemoryPerConnection measures the server's memory per
// logged-in connection with the 100,000-message INBOX selected. The
// clients run in a child process so their memory is not counted; the
// shared mailbox is loaded before the baseline, as it is paid once per
// folder, not per connection.
func BenchmarkIMAPMemoryPerConnection(b *testing.B) {
	const conns = 200
	ts := newTestServer(b, func(o *Options) { o.MaxConnsPerIP = 0 })
	fillFolder(b, ts, largeFolder)
	first := ts.client(b)
	before := heapAndStacks()
	if _, err := first.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	shared := heapAndStacks() - before
	b.ResetTimer()
	for range b.N {
		base := heapAndStacks()
		child := holdConnections(b, ts, conns)
		during := heapAndStacks()
		child()
		b.ReportMetric(float64(during-base)/conns, "bytes/conn")
	}
	b.ReportMetric(float64(shared), "bytes-shared-mailbox")
}

// count sends a command and counts its untagged responses without keeping
// them.
func (rc *rawConn) count(tag, command string) int {
	rc.t.Helper()
	if _, err := rc.conn.Write([]byte(tag + " " + command + "\r\n")); err != nil {
		rc.t.Fatal(err)
	}
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rc.buf), rc.conn), 64<<10)
	rc.buf = nil
	n := 0
	for {
		rc.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		l, err := br.ReadSlice('\n')
		if err != nil {
			rc.t.Fatalf("read: %v", err)
		}
		if bytes.HasPrefix(l, []byte(tag+" ")) {
			if !bytes.HasPrefix(l, []byte(tag+" OK")) {
				rc.t.Fatalf("%s: %s", command, l)
			}
			if br.Buffered() > 0 {
				rest, _ := br.Peek(br.Buffered())
				rc.buf = append(rc.buf, rest...)
			}
			return n
		}
		n++
	}
}

func heapAndStacks() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// holdConnections starts a child process that opens n TLS connections,
// logs each in and selects INBOX; it returns when they are all up, and
// the function it returns ends them.
func holdConnections(tb testing.TB, ts *testServer, n int) func() {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldConnections$", "-test.v")
	leaf := ts.env.TLS.Certificates[0].Leaf
	cmd.Env = append(os.Environ(), "POCHTA_IMAP_HOLD="+ts.tlsAddr, "POCHTA_IMAP_HOLD_N="+strconv.Itoa(n),
		"POCHTA_IMAP_HOLD_CERT="+fmt.Sprintf("%x", leaf.Raw), "POCHTA_IMAP_HOLD_USER="+ts.user)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "HOLDING") {
			ready = true
			break
		}
	}
	if !ready {
		tb.Fatal("connection holder did not start")
	}
	go io.Copy(io.Discard, stdout)
	// Let the server settle: sessions finish their SELECT bookkeeping.
	time.Sleep(500 * time.Millisecond)
	return func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			tb.Errorf("connection holder: %v", err)
		}
	}
}

// TestHelperHoldConnections is the child process of holdConnections; it
// does nothing in a normal test run.
func TestHelperHoldConnections(t *testing.T) {
	addr := os.Getenv("POCHTA_IMAP_HOLD")
	if addr == "" {
		t.Skip("only run as a child of BenchmarkIMAPMemoryPerConnection")
	}
	n, _ := strconv.Atoi(os.Getenv("POCHTA_IMAP_HOLD_N"))
	var der []byte
	fmt.Sscanf(os.Getenv("POCHTA_IMAP_HOLD_CERT"), "%x", &der)
	cfg := clientTLSFor(t, der)
	var clients []*imapclient.Client
	for range n {
		c, err := imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(os.Getenv("POCHTA_IMAP_HOLD_USER"), testPassword).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	fmt.Println("HOLDING")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range clients {
		c.Close()
	}
}

func clientTLSFor(t *testing.T, der []byte) *tls.Config {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12, RootCAs: pool}
}

// BenchmarkIMAPLoadMix runs `pochta bench imap` (internal/loadtest) in
// process against the door: 10 clients, sessions kept open, for profiling
// the mixed workload that scripts/bench/compare-imap.sh compares with
// Dovecot. One iteration is one 10-second run.
func BenchmarkIMAPLoadMix(b *testing.B) {
	ts := newTestServer(b, func(o *Options) { o.AllowInsecureAuthLoopback = true })
	for i := 1; i <= 10; i++ {
		ts.env.AddUser(b, fmt.Sprintf("u%d@example.com", i), "pass")
	}
	for range b.N {
		var out bytes.Buffer
		err := loadtest.RunIMAP(context.Background(), []string{"-addr", ts.plainAddr, "-c", "10", "-duration", "10s",
			"-user-pattern", "u%d@example.com", "-pass", "pass"}, &out)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(out.String())
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "result imap") {
				for _, f := range strings.Fields(l) {
					if v, ok := strings.CutPrefix(f, "commands_per_s="); ok {
						n, _ := strconv.ParseFloat(v, 64)
						b.ReportMetric(n, "commands/s")
					}
				}
			}
		}
	}
}
