package httpguard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Small numbers so a trickle is caught quickly; every wait below is for a
// condition, with a generous limit.
const (
	testGrace = 300 * time.Millisecond
	testRate  = 1024 // bytes/s
)

// serve runs h behind the guard on a real loopback listener.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: MinBodyRate(h, testRate, testGrace), ReadHeaderTimeout: 30 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// trickle sends a request with a large declared body, then one byte every
// 50 ms (20 bytes/s, far below the minimum) until the server closes the
// connection or stop is closed. It returns the connection to read from.
func trickle(t *testing.T, addr, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n", path)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range 2000 { // bounded: 100 s at most
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	// Generous: the cut comes after 300 ms; a stalled machine gets a minute.
	c.SetReadDeadline(time.Now().Add(time.Minute))
	return c, bufio.NewReader(c)
}

// expectCut reads one response and then the connection's end.
func expectCut(t *testing.T, br *bufio.Reader, wantStatus int) {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response to the trickled body: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != wantStatus {
		t.Errorf("status %d, want %d", res.StatusCode, wantStatus)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Errorf("connection still open after the cut: %v", err)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// A body trickling in below the minimum rate fails with a SlowBodyError
// in the handler, which answers; the server then closes the connection.
func TestMinBodyRateCutsOffTrickle(t *testing.T) {
	errs := make(chan error, 1)
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		errs <- err
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	_, br := trickle(t, addr, "/upload")
	expectCut(t, br, http.StatusBadRequest)
	err := <-errs
	var slow *SlowBodyError
	if !errors.As(err, &slow) || slow.MinRate != testRate {
		t.Fatalf("handler's read error %v, want a SlowBodyError", err)
	}
	if !errors.Is(err, errDeadline()) {
		t.Errorf("SlowBodyError does not wrap the deadline error: %v", err)
	}
}

// A handler that answers without reading (an authentication refusal)
// leaves the server to drain the body: the trickle is cut there too, and
// the answer still reaches the client.
func TestMinBodyRateCutsOffUnreadTrickle(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "who are you", http.StatusUnauthorized)
	}))
	_, br := trickle(t, addr, "/mapi/emsmdb/")
	expectCut(t, br, http.StatusUnauthorized)
}

// A large upload at network speed passes, and the kept-alive connection
// serves the next request after a pause longer than the grace.
func TestMinBodyRateLargeUploadPasses(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, n)
	}))
	client := &http.Client{Timeout: 5 * time.Minute}
	post := func(size int) {
		t.Helper()
		res, err := client.Post("http://"+addr+"/upload", "application/octet-stream", bytes.NewReader(make([]byte, size)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || string(body) != strconv.Itoa(size) {
			t.Fatalf("upload of %d bytes: %d %s", size, res.StatusCode, body)
		}
	}
	post(50 << 20)
	time.Sleep(2 * testGrace) // the connection idles past the grace
	post(1000)
}

// A handler that is slow to answer after reading its body (a long-poll)
// keeps its request: the deadline was cleared when the body completed,
// so the server does not take the connection for dead.
func TestMinBodyRateLongPollAfterBody(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Read again after the end, as a JSON decoder checking for
		// trailing data does: that must not re-arm the deadline.
		if n, err := r.Body.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
			http.Error(w, fmt.Sprintf("read after the end: %d %v", n, err), http.StatusInternalServerError)
			return
		}
		// Held well past grace + body/rate.
		select {
		case <-r.Context().Done():
			http.Error(w, "request cancelled while held", http.StatusInternalServerError)
		case <-time.After(5 * testGrace):
			fmt.Fprint(w, "held")
		}
	}))
	for _, body := range []io.Reader{strings.NewReader("notification wait"), http.NoBody} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+addr+"/wait", body)
		if err != nil {
			t.Fatal(err)
		}
		res, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(got) != "held" {
			t.Errorf("long-poll: %d %s", res.StatusCode, got)
		}
	}
}

// Rate 0 switches the guard off.
func TestMinBodyRateOff(t *testing.T) {
	h := http.NotFoundHandler()
	if MinBodyRate(h, 0, time.Second) == nil {
		t.Fatal("nil handler")
	}
	if _, wrapped := MinBodyRate(h, 0, time.Second).(*rateGuard); wrapped {
		t.Error("rate 0 still wraps the handler")
	}
}

func errDeadline() error { return os.ErrDeadlineExceeded }
