package hardening

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowBodyWorld cuts request bodies off quickly: 300 ms of grace, then
// 1 KiB/s on average.
func slowBodyWorld(t *testing.T) *world {
	return newWorld(t, worldOptions{minBodyRate: 1024, bodyGrace: 300 * time.Millisecond})
}

// slowloris sends, over HTTPS from src, a request whose headers are
// complete and whose body then trickles in at 20 bytes/s, far below the
// minimum. It returns a reader of the server's side of the conversation.
func slowloris(t *testing.T, w *world, src, head string) *bufio.Reader {
	t.Helper()
	raw, err := from(src).Dial("tcp", w.httpsAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, w.clientTLS.Clone())
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head+"Content-Length: 4000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range 3998 { // never the whole body; bounded at 200 s
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			// Spaces after the "{": JSON that is always still incomplete.
			if _, err := c.Write([]byte{' '}); err != nil {
				return
			}
		}
	}()
	// The cut comes after about 300 ms; a stalled machine gets two minutes.
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	return bufio.NewReader(c)
}

// expectCutOff reads the server's answer to a slowloris body and then the
// end of the connection.
func expectCutOff(t *testing.T, door string, br *bufio.Reader) *http.Response {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: no answer to a slow body: %v", door, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "too slow") {
		t.Errorf("%s: the answer does not say the body was too slow: %d %s", door, res.StatusCode, body)
	}
	var ne net.Error
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) && !(errors.As(err, &ne) && !ne.Timeout()) && !strings.Contains(fmt.Sprint(err), "reset") {
		t.Errorf("%s: connection not closed after the cut: %v", door, err)
	}
	return res
}

// A slowloris body on the MAPI endpoint (an authenticated Connect, so
// the handler reads it) is cut off, while another client connects and
// works at the same time.
func TestSlowBodyMAPI(t *testing.T) {
	w := slowBodyWorld(t)
	auth := base64.StdEncoding.EncodeToString([]byte(w.alice.Address + ":" + alicePassword))
	br := slowloris(t, w, "127.0.0.2", "POST /mapi/emsmdb/ HTTP/1.1\r\nHost: localhost\r\n"+
		"Authorization: Basic "+auth+"\r\nContent-Type: application/mapi-http\r\nX-RequestType: Connect\r\n"+
		"X-ClientApplication: Outlook/16.0.17928.20114\r\n"+
		"X-ClientInfo: {2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1\r\nX-RequestId: {2EF33C39-49C8-421C-B876-CDF7F2AC3AA0}:1\r\n")

	c := w.mapiClient(t, "127.0.0.3", w.alice, alicePassword)
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatalf("another client's Connect while a body trickles: %v", err)
	}
	res := expectCutOff(t, "MAPI", br)
	if code := res.Header.Get("X-ResponseCode"); code == "" || code == "0" {
		t.Errorf("MAPI answered the slow body with X-ResponseCode %q", code)
	}
	if _, err := c.Connect(context.Background()); err != nil {
		t.Errorf("Connect after the cut: %v", err)
	}
}

// A slowloris body on the REST API (an admin creating an account) is cut
// off with a problem, while another client is served.
func TestSlowBodyAPI(t *testing.T) {
	w := slowBodyWorld(t)
	br := slowloris(t, w, "127.0.0.2", "POST /api/v1/accounts HTTP/1.1\r\nHost: localhost\r\n"+
		"Authorization: Bearer "+w.adminToken+"\r\nContent-Type: application/json\r\n")

	req, _ := http.NewRequest(http.MethodGet, "https://"+w.httpsAddr+"/api/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	if code := status(t, w.httpClient("127.0.0.3"), req); code != http.StatusOK {
		t.Fatalf("another client while a body trickles: %d", code)
	}
	res := expectCutOff(t, "REST API", br)
	if res.StatusCode != http.StatusBadRequest || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("REST API answered the slow body %d %s, want a 400 problem", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
