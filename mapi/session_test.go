package mapi_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pochta/pochta/directory"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/mapiclient"
	"github.com/pochta/pochta/mapi/rop"
)

// executeBody is an Execute request body carrying a ROP buffer with one
// RopRelease and a one-slot handle table.
func executeBody(t *testing.T) []byte {
	t.Helper()
	in, err := mapiclient.EncodeROPInput([]rop.Request{&rop.ReleaseRequest{}}, []uint32{0x0C000001}, 1252, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&mapi.ExecuteRequest{Flags: 3, RopBuffer: in, MaxRopOut: 0x8000}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// execute sends a RopRelease and returns the error.
func execute(c *mapiclient.Client) error {
	_, err := c.Execute(context.Background(), []rop.Request{&rop.ReleaseRequest{}}, []uint32{0x0C000001})
	return err
}

// Connect, Execute and Disconnect, with the headers and framing of
// MS-OXCMAPIHTTP 2.2.2.2 and 2.2.7 checked on the wire.
func TestConnectExecuteDisconnect(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice")
	c := h.client(alice)
	ctx := context.Background()

	body, _ := (&mapi.ConnectRequest{UserDN: mapi.LegacyDN(alice), DefaultCodePage: 1252, LcidSort: 1033, LcidString: 1033}).MarshalBinary()
	resp, err := c.Do(ctx, "connect", body) // request types are case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	if resp.HTTPStatus != http.StatusOK || resp.Code != mapi.CodeSuccess {
		t.Fatalf("Connect: HTTP %d, code %d: %s", resp.HTTPStatus, resp.Code, resp.Frame.Body)
	}
	for name, want := range map[string]string{
		"Content-Type": mapi.ContentType, mapi.HeaderRequestType: "connect", mapi.HeaderResponseCode: "0",
		mapi.HeaderPendingPeriod: "30000", mapi.HeaderExpirationInfo: "1800000",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if !strings.HasSuffix(resp.Header.Get(mapi.HeaderRequestID), ":1") || !strings.HasPrefix(resp.Header.Get(mapi.HeaderRequestID), "{") {
		t.Errorf("X-RequestId not echoed: %q", resp.Header.Get(mapi.HeaderRequestID))
	}
	if resp.Header.Get(mapi.HeaderClientInfo) == "" || !strings.HasPrefix(resp.Header.Get(mapi.HeaderServerApplication), "Exchange/15.") {
		t.Errorf("X-ClientInfo %q, X-ServerApplication %q", resp.Header.Get(mapi.HeaderClientInfo), resp.Header.Get(mapi.HeaderServerApplication))
	}
	f := resp.Frame
	if !f.Processing || !f.Done || f.Pending != 0 {
		t.Errorf("frame %+v", f)
	}
	if ms, err := strconv.Atoi(f.Headers.Get(mapi.HeaderElapsedTime)); err != nil || ms < 0 {
		t.Errorf("X-ElapsedTime %q", f.Headers.Get(mapi.HeaderElapsedTime))
	}
	if _, err := http.ParseTime(f.Headers.Get(mapi.HeaderStartTime)); err != nil {
		t.Errorf("X-StartTime %q: %v", f.Headers.Get(mapi.HeaderStartTime), err)
	}
	var cr mapi.ConnectResponse
	if err := cr.UnmarshalBinary(f.Body); err != nil {
		t.Fatal(err)
	}
	if cr.StatusCode != 0 || cr.ErrorCode != 0 || cr.DisplayName != alice.Address || cr.MaxPollingInterval == 0 || cr.RetryCount == 0 {
		t.Errorf("Connect response %+v", cr)
	}
	var cookieNames []string
	for _, ck := range (&http.Response{Header: resp.Header}).Cookies() {
		cookieNames = append(cookieNames, ck.Name)
		if ck.Path != mapi.EMSMDBPath || !ck.Secure || !ck.HttpOnly {
			t.Errorf("cookie %s: path %q secure %v httponly %v", ck.Name, ck.Path, ck.Secure, ck.HttpOnly)
		}
	}
	if strings.Join(cookieNames, ",") != mapi.ContextCookie+","+mapi.SequenceCookie {
		t.Errorf("cookies %v", cookieNames)
	}
	fs := h.rop.last()
	if fs.acc.ID != alice.ID || fs.info.CodePage != 1252 || fs.info.ClientApplication != "Outlook/16.0.10000.0" || fs.info.UserDN != mapi.LegacyDN(alice) {
		t.Errorf("ROP session made with %+v %+v", fs.acc, fs.info)
	}

	// Execute: the ROP layer gets the payload of the RPC_HEADER_EXT, the
	// client the framed output; the sequence cookie rotates.
	seqBefore := c.Cookies()[mapi.SequenceCookie]
	reqs := []rop.Request{&rop.ReleaseRequest{RequestHeader: rop.RequestHeader{LogonID: 3, InputHandleIndex: 1}}}
	handles := []uint32{0x03000000, 0x03000007}
	res, err := c.Execute(ctx, reqs, handles)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 0 || len(res.Handles) != 2 || res.Handles[1] != 0x03000007 {
		t.Errorf("Execute result %+v", res)
	}
	list, _ := rop.MarshalRequests(reqs, 1252)
	wantIn, _ := rop.ROPBuffer{Rops: list, Handles: handles}.Bytes()
	if len(fs.inputs) != 1 || !bytes.Equal(fs.inputs[0], wantIn) {
		t.Errorf("ROP layer got % x, want % x", fs.inputs, wantIn)
	}
	if fs.maxOut[0] != 0x40000-rop.HeaderExtSize {
		t.Errorf("maxRopOut %d", fs.maxOut[0])
	}
	if c.Cookies()[mapi.SequenceCookie] == seqBefore {
		t.Error("MapiSequence did not rotate")
	}
	// XOR-obfuscated input is undone by the transport.
	obf := h.client(alice, func(o *mapiclient.Options) { o.Obfuscate = true })
	obf.SetCookies(c.Cookies())
	if _, err := obf.Execute(ctx, reqs, handles); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fs.inputs[1], wantIn) {
		t.Errorf("obfuscated input reached the ROP layer as % x", fs.inputs[1])
	}
	c.SetCookies(obf.Cookies())
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	// Disconnect closes the ROP session and forgets the context.
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if !fs.isClosed() {
		t.Error("ROP session not closed")
	}
	if len(c.Cookies()) != 0 {
		t.Errorf("cookies after Disconnect: %v", c.Cookies())
	}
	if all, _ := mapi.SessionCount(h.srv, alice.ID); all != 0 {
		t.Errorf("%d contexts after Disconnect", all)
	}
}

// An unparseable ROP buffer fails the Execute with ecRpcFormat, the
// session stays usable.
func TestExecuteBadROPBuffer(t *testing.T) {
	h := newHarness(t)
	c := h.connected(h.user("alice"))
	ctx := context.Background()
	for name, ropBuf := range map[string][]byte{
		"truncated header": {0, 0, 4},
		"size past end":    {0, 0, 4, 0, 9, 0, 9, 0, 1},
		"no Last flag":     {0, 0, 0, 0, 2, 0, 2, 0, 2, 0},
	} {
		body, _ := (&mapi.ExecuteRequest{RopBuffer: ropBuf, MaxRopOut: 0x8000}).MarshalBinary()
		resp, err := c.Do(ctx, mapi.RequestExecute, body)
		if err != nil || resp.Code != mapi.CodeSuccess {
			t.Fatalf("%s: %v %+v", name, err, resp)
		}
		var er mapi.ExecuteResponse
		if err := er.UnmarshalBinary(resp.Frame.Body); err != nil || er.ErrorCode != mp.ErrRPCFormat || len(er.RopBuffer) != 0 {
			t.Errorf("%s: %v %+v", name, err, er)
		}
	}
	if err := execute(c); err != nil {
		t.Errorf("Execute after bad ones: %v", err)
	}
	// A body that is not an Execute body at all: X-ResponseCode 12.
	resp, err := c.Do(ctx, mapi.RequestExecute, []byte{1, 2, 3})
	if err != nil || resp.Code != mapi.CodeInvalidRequestBody {
		t.Errorf("garbage body: %v %+v", err, resp)
	}
}

// The session-context rules of MS-OXCMAPIHTTP 3.2.5: stale sequence 15,
// unknown context 10, malformed cookie 6, missing cookie 13, another
// user's context 11.
func TestSessionContextCodes(t *testing.T) {
	h := newHarness(t)
	alice, bob := h.user("alice"), h.user("bob")
	ctx := context.Background()
	c := h.connected(alice)
	old := c.Cookies()
	if err := execute(c); err != nil {
		t.Fatal(err)
	}

	// The cookies of before the last request: stale sequence.
	stale := h.client(alice)
	stale.SetCookies(old)
	if err := execute(stale); !mapiclient.IsCode(err, mapi.CodeInvalidSequence) {
		t.Errorf("stale sequence: %v", err)
	}
	// The context itself is unharmed.
	if err := execute(c); err != nil {
		t.Errorf("current cookies after a stale attempt: %v", err)
	}

	cases := []struct {
		name    string
		cookies map[string]string
		as      *directory.Account
		code    mapi.ResponseCode
	}{
		{"unknown context", map[string]string{mapi.ContextCookie: "AAAAAAAAAAAAAAAAAAAAAA", mapi.SequenceCookie: c.Cookies()[mapi.SequenceCookie]}, alice, mapi.CodeContextNotFound},
		{"malformed context", map[string]string{mapi.ContextCookie: "not-a-cookie", mapi.SequenceCookie: "x"}, alice, mapi.CodeInvalidContextCookie},
		{"no cookies", map[string]string{}, alice, mapi.CodeMissingCookie},
		{"no sequence", map[string]string{mapi.ContextCookie: c.Cookies()[mapi.ContextCookie]}, alice, mapi.CodeMissingCookie},
		{"another user's context", c.Cookies(), bob, mapi.CodeNoPrivilege},
	}
	for _, tc := range cases {
		other := h.client(tc.as)
		other.SetCookies(tc.cookies)
		if err := execute(other); !mapiclient.IsCode(err, tc.code) {
			t.Errorf("%s: %v, want X-ResponseCode %d", tc.name, err, tc.code)
		}
	}
	// Bob may not Disconnect or wait on alice's context either.
	bobc := h.client(bob)
	bobc.SetCookies(c.Cookies())
	if err := bobc.Disconnect(ctx); !mapiclient.IsCode(err, mapi.CodeNoPrivilege) {
		t.Errorf("bob's Disconnect: %v", err)
	}
	if _, err := bobc.NotificationWait(ctx); !mapiclient.IsCode(err, mapi.CodeNoPrivilege) {
		t.Errorf("bob's NotificationWait: %v", err)
	}
	if err := execute(c); err != nil {
		t.Errorf("alice after bob's attempts: %v", err)
	}
	// After Disconnect the context is unknown.
	cookies := c.Cookies()
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	c.SetCookies(cookies)
	if err := execute(c); !mapiclient.IsCode(err, mapi.CodeContextNotFound) {
		t.Errorf("after Disconnect: %v", err)
	}
}

// An idle context expires: the next request gets 10, and a Connect with
// the old cookies reconnects (MS-OXCMAPIHTTP 3.2.5.6).
func TestSessionExpiryAndReconnect(t *testing.T) {
	h := newHarness(t, func(o *mapi.Options) { o.SessionIdleTimeout = 10 * time.Minute })
	alice := h.user("alice")
	c := h.connected(alice)
	first := h.rop.last()
	if err := execute(c); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(9 * time.Minute)
	if err := execute(c); err != nil {
		t.Fatalf("within the idle timeout: %v", err)
	}
	h.clock.Advance(10*time.Minute + time.Second)
	if err := execute(c); !mapiclient.IsCode(err, mapi.CodeContextNotFound) {
		t.Fatalf("expired context: %v", err)
	}
	if !first.isClosed() {
		t.Error("expired context's ROP session not closed")
	}
	// Reconnect: Connect with the old cookies makes a new context.
	oldID := c.Cookies()[mapi.ContextCookie]
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.Cookies()[mapi.ContextCookie] == oldID {
		t.Error("reconnect kept the old context id")
	}
	if err := execute(c); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
	if h.rop.last() == first {
		t.Error("reconnect made no new ROP session")
	}

	// Reconnecting a live context destroys it.
	live := h.rop.last()
	liveCookies := c.Cookies()
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !live.isClosed() {
		t.Error("reconnect left the previous live context open")
	}
	replay := h.client(alice)
	replay.SetCookies(liveCookies)
	if err := execute(replay); !mapiclient.IsCode(err, mapi.CodeContextNotFound) {
		t.Errorf("replaced context: %v", err)
	}

	// The sweep drops expired contexts without a request.
	if _, mine := mapi.SessionCount(h.srv, alice.ID); mine != 1 {
		t.Fatalf("%d contexts", mine)
	}
	h.clock.Advance(11 * time.Minute)
	mapi.Sweep(h.srv)
	if _, mine := mapi.SessionCount(h.srv, alice.ID); mine != 0 {
		t.Errorf("%d contexts after the sweep", mine)
	}
}

// A second request on a context while one runs is refused with 15 (not
// queued); NotificationWait and PING run beside it.
func TestConcurrentExecuteRefused(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice")
	c := h.connected(alice)
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	h.rop.mu.Lock()
	h.rop.gate, h.rop.entered = gate, entered
	h.rop.mu.Unlock()

	cookies := c.Cookies()
	var wg sync.WaitGroup
	var firstErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		firstErr = execute(c)
	}()
	<-entered // the first Execute is inside the ROP layer

	second := h.client(alice)
	second.SetCookies(cookies) // what a client sending in parallel would carry
	if err := execute(second); !mapiclient.IsCode(err, mapi.CodeInvalidSequence) {
		t.Errorf("concurrent Execute: %v", err)
	}
	if err := second.Ping(context.Background()); err != nil {
		t.Errorf("PING beside a running Execute: %v", err)
	}
	close(gate)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("first Execute: %v", firstErr)
	}
	h.rop.mu.Lock()
	h.rop.gate = nil
	h.rop.mu.Unlock()
	if err := execute(c); err != nil {
		t.Errorf("Execute after the first ended: %v", err)
	}
}

// A slow request streams PENDING keep-alives between PROCESSING and DONE.
func TestPendingKeepAlive(t *testing.T) {
	h := newHarness(t, func(o *mapi.Options) { o.PendingPeriod = 5 * time.Millisecond })
	alice := h.user("alice")
	c := h.connected(alice)
	gate := make(chan struct{})
	h.rop.mu.Lock()
	h.rop.gate = gate
	h.rop.mu.Unlock()

	req, _ := http.NewRequest(http.MethodPost, h.base+mapi.EMSMDBPath, bytes.NewReader(executeBody(t)))
	req.SetBasicAuth(alice.Address, "secret-alice")
	for k, v := range map[string]string{
		mapi.HeaderRequestType: "Execute", mapi.HeaderRequestID: "{1}:1", mapi.HeaderClientInfo: "{2}:1",
		"Content-Type": mapi.ContentType,
	} {
		req.Header.Set(k, v)
	}
	for name, value := range c.Cookies() {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get(mapi.HeaderPendingPeriod) != "5" || resp.Header.Get(mapi.HeaderResponseCode) != "0" {
		t.Errorf("headers %v", resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	line := func() string {
		s, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		return s
	}
	if got := line(); got != "PROCESSING\r\n" {
		t.Fatalf("first line %q", got)
	}
	// The work is blocked, so what comes now can only be keep-alives.
	for i := 0; i < 2; i++ {
		if got := line(); got != "PENDING\r\n" {
			t.Fatalf("keep-alive %d: %q", i, got)
		}
	}
	close(gate)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	f, err := mapiclient.ParseFrame(io.MultiReader(strings.NewReader("PROCESSING\r\n"), bytes.NewReader(rest)), 1<<20)
	if err != nil {
		t.Fatalf("%v\n%q", err, rest)
	}
	var er mapi.ExecuteResponse
	if err := er.UnmarshalBinary(f.Body); err != nil || er.ErrorCode != 0 || len(er.RopBuffer) == 0 {
		t.Errorf("Execute response %v %+v", err, er)
	}
	if f.Headers.Get(mapi.HeaderResponseCode) != "0" {
		t.Errorf("additional headers %v", f.Headers)
	}
}

// NotificationWait answers "no events" after its wait, EventPending when
// the ROP layer has notifications, and ends when the context goes.
func TestNotificationWait(t *testing.T) {
	h := newHarness(t, func(o *mapi.Options) { o.NotificationWaitTimeout = 20 * time.Millisecond })
	alice := h.user("alice")
	c := h.connected(alice)
	ctx := context.Background()
	fs := h.rop.last()

	pending, err := c.NotificationWait(ctx)
	if err != nil || pending {
		t.Fatalf("no events: %v %v", pending, err)
	}
	<-fs.waits
	fs.events <- struct{}{}
	if pending, err := c.NotificationWait(ctx); err != nil || !pending {
		t.Errorf("with an event: %v %v", pending, err)
	}
	<-fs.waits

	// A long wait ended by Disconnect.
	h2 := newHarness(t, func(o *mapi.Options) { o.NotificationWaitTimeout = time.Hour })
	bob := h2.user("bob")
	bc := h2.connected(bob)
	bfs := h2.rop.last()
	done := make(chan error, 1)
	waiter := h2.client(bob)
	waiter.SetCookies(bc.Cookies())
	go func() {
		_, err := waiter.NotificationWait(ctx)
		done <- err
	}()
	<-bfs.waits
	if err := bc.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !mapiclient.IsCode(err, mapi.CodeContextNotFound) {
		t.Errorf("wait ended by Disconnect: %v", err)
	}
}

// Header and verb checks answer the documented codes.
func TestRequestValidation(t *testing.T) {
	h := newHarness(t, func(o *mapi.Options) { o.MaxBodyBytes = 4096 })
	alice := h.user("alice")
	c := h.connected(alice)
	send := func(method string, headers map[string]string, body []byte) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, h.base+mapi.EMSMDBPath, bytes.NewReader(body))
		req.SetBasicAuth(alice.Address, "secret-alice")
		base := map[string]string{
			mapi.HeaderRequestType: "Execute", mapi.HeaderRequestID: "{1}:1", mapi.HeaderClientInfo: "{2}:1",
			"Content-Type": mapi.ContentType, mapi.HeaderClientApplication: "Outlook/16.0.1.1",
		}
		for k, v := range headers {
			base[k] = v
		}
		for k, v := range base {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		for name, value := range c.Cookies() {
			req.AddCookie(&http.Cookie{Name: name, Value: value})
		}
		resp, err := h.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	body := executeBody(t)
	for _, tc := range []struct {
		name    string
		method  string
		headers map[string]string
		body    []byte
		code    mapi.ResponseCode
	}{
		{"GET", http.MethodGet, nil, nil, mapi.CodeInvalidVerb},
		{"no X-RequestType", "POST", map[string]string{mapi.HeaderRequestType: ""}, body, mapi.CodeMissingHeader},
		{"no X-RequestId", "POST", map[string]string{mapi.HeaderRequestID: ""}, body, mapi.CodeMissingHeader},
		{"no X-ClientInfo", "POST", map[string]string{mapi.HeaderClientInfo: ""}, body, mapi.CodeMissingHeader},
		{"Connect without X-ClientApplication", "POST", map[string]string{mapi.HeaderRequestType: "Connect", mapi.HeaderClientApplication: ""}, body, mapi.CodeMissingHeader},
		{"unknown type", "POST", map[string]string{mapi.HeaderRequestType: "Bind"}, body, mapi.CodeInvalidRequestType},
		{"wrong content type", "POST", map[string]string{"Content-Type": "text/plain"}, body, mapi.CodeInvalidHeader},
		{"too large", "POST", nil, make([]byte, 5000), mapi.CodeTooLarge},
		{"truncated body", "POST", nil, body[:len(body)-2], mapi.CodeInvalidRequestBody},
	} {
		resp, text := send(tc.method, tc.headers, tc.body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get(mapi.HeaderResponseCode) != strconv.Itoa(int(tc.code)) {
			t.Errorf("%s: HTTP %d, X-ResponseCode %q, want %d", tc.name, resp.StatusCode, resp.Header.Get(mapi.HeaderResponseCode), tc.code)
			continue
		}
		// The diagnostic body follows the meta-tags, after the first empty
		// line, where clients that skip to it look.
		if _, diag, ok := strings.Cut(text, "\r\n\r\n"); !ok || !strings.Contains(diag, "X-ResponseCode "+strconv.Itoa(int(tc.code))) {
			t.Errorf("%s: body %q", tc.name, text)
		}
	}
	// Other /mapi/ paths: 3; the address book endpoint: 16.
	for path, code := range map[string]mapi.ResponseCode{"/mapi/other/": mapi.CodeInvalidPath, "/mapi/nspi/?MailboxId=x": mapi.CodeEndpointDisabled, "/MAPI/NSPI": mapi.CodeEndpointDisabled} {
		req, _ := http.NewRequest(http.MethodPost, h.base+path, nil)
		req.SetBasicAuth(alice.Address, "secret-alice")
		resp, err := h.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get(mapi.HeaderResponseCode) != strconv.Itoa(int(code)) {
			t.Errorf("%s: X-ResponseCode %q, want %d", path, resp.Header.Get(mapi.HeaderResponseCode), code)
		}
	}
	// The path is case-insensitive and the trailing slash optional.
	cc := h.client(alice, func(o *mapiclient.Options) { o.MailStoreURL = h.base + "/MAPI/EMSMDB" })
	cc.SetCookies(c.Cookies())
	if err := execute(cc); err != nil {
		t.Errorf("/MAPI/EMSMDB: %v", err)
	}
}

// Basic authentication on every request: 401 without or with wrong
// credentials, counted and throttled; DOMAIN\user accepted; a disabled
// account cannot use its old context.
func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice")
	ctx := context.Background()

	anon := h.client(alice, func(o *mapiclient.Options) { o.User = "" })
	_, err := anon.Connect(ctx)
	var re *mapiclient.ResponseError
	if !errors.As(err, &re) || re.HTTPStatus != http.StatusUnauthorized {
		t.Errorf("anonymous Connect: %v", err)
	}
	resp, err := anon.Do(ctx, mapi.RequestPing, nil)
	if err != nil || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") ||
		resp.Header.Get(mapi.HeaderResponseCode) != strconv.Itoa(int(mapi.CodeAnonymousNotAllowed)) {
		t.Errorf("anonymous PING: %v %+v", err, resp)
	}

	dom := h.client(alice, func(o *mapiclient.Options) { o.User = `example.com\alice` })
	if _, err := dom.Connect(ctx); err != nil {
		t.Errorf(`example.com\alice: %v`, err)
	}

	// Wrong passwords: 401, counted; after the throttle's limit even the
	// right password is refused from that address.
	limit := 10 // throttle default IPPerMinute
	for i := 0; i < limit; i++ {
		bad := h.client(alice, func(o *mapiclient.Options) { o.Password = "wrong-" + strconv.Itoa(i) })
		_, err := bad.Connect(ctx)
		if !errors.As(err, &re) || re.HTTPStatus != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if n := counterValue(t, h.metrics.AuthFailures.WithLabelValues("mapi")); n != float64(limit) {
		t.Errorf("pochta_auth_failures_total{door=mapi} = %v, want %d", n, limit)
	}
	_, err = h.client(alice).Connect(ctx)
	if !errors.As(err, &re) || re.HTTPStatus != http.StatusTooManyRequests {
		t.Errorf("right password after too many failures: %v", err)
	}
}

// Plain HTTP is refused unless it comes from loopback and the dev switch
// is on.
func TestPlainHTTP(t *testing.T) {
	for _, allow := range []bool{false, true} {
		h := newHarness(t, func(o *mapi.Options) { o.AllowInsecureLoopback = allow })
		alice := h.user("alice")
		e := echoFor(h)
		ln := listenPlain(t, e)
		c := h.client(alice, func(o *mapiclient.Options) {
			o.MailStoreURL = "http://" + ln + mapi.EMSMDBPath
			o.HTTPClient = &http.Client{}
		})
		_, err := c.Connect(context.Background())
		var re *mapiclient.ResponseError
		switch {
		case allow && err != nil:
			t.Errorf("loopback with the dev switch: %v", err)
		case !allow && (!errors.As(err, &re) || re.HTTPStatus != http.StatusForbidden):
			t.Errorf("plain HTTP without the dev switch: %v", err)
		}
	}
}

// A panic in the ROP layer answers X-ResponseCode 1, is counted, and the
// server goes on.
func TestPanicInROPLayer(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice")
	c := h.connected(alice)
	h.rop.mu.Lock()
	h.rop.panicOnExecute = true
	h.rop.mu.Unlock()
	if err := execute(c); !mapiclient.IsCode(err, mapi.CodeUnknownFailure) {
		t.Errorf("panicking Execute: %v", err)
	}
	if n := counterValue(t, h.metrics.Panics.WithLabelValues("mapi")); n != 1 {
		t.Errorf("pochta_panics_total{component=mapi} = %v", n)
	}
	h.rop.mu.Lock()
	h.rop.panicOnExecute = false
	h.rop.mu.Unlock()
	if err := execute(c); err != nil {
		t.Errorf("Execute after the panic: %v", err)
	}
}

// Connect checks the user DN; the ROP layer failing fails the Connect
// without leaving a context.
func TestConnectRefusals(t *testing.T) {
	h := newHarness(t)
	alice, bob := h.user("alice"), h.user("bob")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		dn   string
		want mp.ErrorCode
	}{
		{"another user's DN", mapi.LegacyDN(bob), mp.ErrAccessDenied},
		{"unknown DN", "/o=Other/cn=nobody", mp.ErrUnknownUser},
	} {
		c := h.client(alice, func(o *mapiclient.Options) { o.UserDN = tc.dn })
		if _, err := c.Connect(ctx); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// The DN compares without regard to case.
	c := h.client(alice, func(o *mapiclient.Options) { o.UserDN = strings.ToUpper(mapi.LegacyDN(alice)) })
	if _, err := c.Connect(ctx); err != nil {
		t.Errorf("upper-case DN: %v", err)
	}
	h.rop.mu.Lock()
	h.rop.failConnect = mp.ErrMailboxDisabled
	h.rop.mu.Unlock()
	before, _ := mapi.SessionCount(h.srv, alice.ID)
	if _, err := h.client(alice).Connect(ctx); !errors.Is(err, mp.ErrMailboxDisabled) {
		t.Errorf("failing ROP session: %v", err)
	}
	if after, _ := mapi.SessionCount(h.srv, alice.ID); after != before {
		t.Errorf("contexts %d → %d after a failed Connect", before, after)
	}
}

// At the per-user cap, a new Connect drops the least recently used idle
// context.
func TestSessionCap(t *testing.T) {
	h := newHarness(t, func(o *mapi.Options) { o.MaxSessionsPerUser = 2 })
	alice, bob := h.user("alice"), h.user("bob")
	c1 := h.connected(alice)
	h.clock.Advance(time.Second)
	c2 := h.connected(alice)
	h.clock.Advance(time.Second)
	if err := execute(c1); err != nil { // c1 is now the most recent
		t.Fatal(err)
	}
	h.clock.Advance(time.Second)
	bc := h.connected(bob) // other users do not count
	c3 := h.connected(alice)
	if _, mine := mapi.SessionCount(h.srv, alice.ID); mine != 2 {
		t.Errorf("alice has %d contexts", mine)
	}
	if err := execute(c2); !mapiclient.IsCode(err, mapi.CodeContextNotFound) {
		t.Errorf("least recently used context: %v", err)
	}
	for i, c := range []*mapiclient.Client{c1, c3, bc} {
		if err := execute(c); err != nil {
			t.Errorf("context %d: %v", i, err)
		}
	}
}

// Shutdown ends contexts and refuses requests with 18.
func TestShutdown(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice")
	c := h.connected(alice)
	fs := h.rop.last()
	if err := h.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !fs.isClosed() {
		t.Error("ROP session not closed at shutdown")
	}
	if err := execute(c); !mapiclient.IsCode(err, mapi.CodeEndpointShuttingDown) {
		t.Errorf("Execute after shutdown: %v", err)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// panickyDirectory panics when asked about one login.
type panickyDirectory struct{ directory.Directory }

func (d panickyDirectory) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	if login == "boom@example.com" {
		panic("directory exploded")
	}
	return d.Directory.Authenticate(ctx, login, password)
}

// A panic in the request goroutine (here in the directory) is a 500,
// counted; the next request is served.
func TestPanicInRequest(t *testing.T) {
	h := newHarness(t, func(o *mapi.Options) { o.Directory = panickyDirectory{o.Directory} })
	alice := h.user("alice")
	boom := h.client(alice, func(o *mapiclient.Options) { o.User = "boom@example.com" })
	_, err := boom.Connect(context.Background())
	var re *mapiclient.ResponseError
	if !errors.As(err, &re) || re.HTTPStatus != http.StatusInternalServerError {
		t.Errorf("panicking directory: %v", err)
	}
	if n := counterValue(t, h.metrics.Panics.WithLabelValues("mapi")); n != 1 {
		t.Errorf("pochta_panics_total{component=mapi} = %v", n)
	}
	if _, err := h.client(alice).Connect(context.Background()); err != nil {
		t.Errorf("Connect after the panic: %v", err)
	}
}

// downDirectory cannot answer.
type downDirectory struct{ directory.Directory }

func (downDirectory) Authenticate(context.Context, string, string) (*directory.Account, error) {
	return nil, fmt.Errorf("ldap: connection refused: %w", directory.ErrUnavailable)
}

// A directory that cannot answer is a temporary 503, never a 401 (the
// client would ask the user for the password again), and no failure is
// counted against the user.
func TestDirectoryUnavailable(t *testing.T) {
	h := newHarness(t, func(o *mapi.Options) { o.Directory = downDirectory{o.Directory} })
	alice := h.user("alice")
	resp, err := h.client(alice).Do(context.Background(), mapi.RequestPing, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.HTTPStatus != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("HTTP %d, Retry-After %q", resp.HTTPStatus, resp.Header.Get("Retry-After"))
	}
	if n := counterValue(t, h.metrics.AuthFailures.WithLabelValues("mapi")); n != 0 {
		t.Errorf("%v authentication failures counted", n)
	}
}
