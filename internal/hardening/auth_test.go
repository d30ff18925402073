package hardening

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/obs"
)

// outcome is what a door made of one authentication attempt.
type outcome string

const (
	accepted  outcome = "accepted"
	rejected  outcome = "rejected"  // wrong credentials
	throttled outcome = "throttled" // refused before the credentials were checked
)

// authDoor is one door's way to authenticate, over TLS as a real client
// would (the insecure development switch is off).
type authDoor struct {
	name   string
	metric string // the door label of pochta_auth_failures_total
	// try authenticates from src (a loopback address) as user.
	try func(t *testing.T, w *world, src, user, secret string) outcome
	// secret is user's right credential; wrong(i) the i-th distinct wrong one.
	secret func(w *world, user string) string
	wrong  func(w *world, user string, i int) string
}

func passwordOf(w *world, user string) string {
	if user == w.bob.Address {
		return bobPassword
	}
	return alicePassword
}

func wrongPassword(_ *world, user string, i int) string {
	return fmt.Sprintf("Wrong-%s-%d-xyzzy", strings.Split(user, "@")[0], i)
}

// authDoors lists every door that takes credentials.
func authDoors() []authDoor {
	return []authDoor{
		{name: "IMAP", metric: obs.DoorIMAP, try: imapLogin, secret: passwordOf, wrong: wrongPassword},
		{name: "POP3", metric: obs.DoorPOP3, try: pop3Login, secret: passwordOf, wrong: wrongPassword},
		{name: "SMTP-AUTH", metric: obs.DoorSubmission, try: smtpAuth, secret: passwordOf, wrong: wrongPassword},
		{name: "MAPI-Basic", metric: obs.DoorMAPI, try: mapiBasic, secret: passwordOf, wrong: wrongPassword},
		{name: "webmail", metric: obs.DoorWebmail, try: webLogin, secret: passwordOf, wrong: wrongPassword},
		// The API authenticates tokens, not users: "alice" holds the read
		// token and "bob" the admin token; a wrong credential is the
		// token's key id with another secret, i.e. a guess at that token.
		{name: "REST-API", metric: obs.DoorAPI, try: apiBearer, secret: tokenOf, wrong: wrongToken},
	}
}

func imapLogin(t *testing.T, w *world, src, user, secret string) outcome {
	c := dialLines(t, src, w.imapsAddr, w.clientTLS)
	c.line() // greeting
	_, done := c.imapCmd("a1", "LOGIN %q %q", user, secret)
	c.imapCmd("a2", "LOGOUT")
	switch {
	case strings.HasPrefix(done, "OK"):
		return accepted
	case strings.HasPrefix(done, "NO [UNAVAILABLE]") && strings.Contains(done, "Too many failed logins"):
		return throttled
	case strings.HasPrefix(done, "NO [AUTHENTICATIONFAILED]"):
		return rejected
	}
	t.Fatalf("IMAP LOGIN: unexpected answer %q", done)
	return ""
}

func pop3Login(t *testing.T, w *world, src, user, secret string) outcome {
	c := dialLines(t, src, w.pop3sAddr, w.clientTLS)
	c.line() // greeting
	c.send("USER %s", user)
	if l := c.line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("POP3 USER: %q", l)
	}
	c.send("PASS %s", secret)
	l := c.line()
	switch {
	case strings.HasPrefix(l, "+OK"):
		c.send("QUIT")
		return accepted
	case strings.HasPrefix(l, "-ERR [SYS/TEMP] Too many failed logins"):
		return throttled
	case strings.HasPrefix(l, "-ERR [AUTH]"):
		return rejected
	}
	t.Fatalf("POP3 PASS: unexpected answer %q", l)
	return ""
}

func smtpAuth(t *testing.T, w *world, src, user, secret string) outcome {
	c := dialLines(t, src, w.submissionsAddr, w.clientTLS)
	c.smtpReply() // greeting
	if r := c.smtpCmd("EHLO client.example"); !strings.HasPrefix(r, "250") {
		t.Fatalf("EHLO: %q", r)
	}
	r := c.smtpCmd("AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+secret)))
	switch {
	case strings.HasPrefix(r, "235"):
		return accepted
	case strings.HasPrefix(r, "454 4.7.0 Too many"):
		return throttled
	case strings.HasPrefix(r, "535"):
		return rejected
	}
	t.Fatalf("SMTP AUTH: unexpected reply %q", r)
	return ""
}

func mapiBasic(t *testing.T, w *world, src, user, secret string) outcome {
	req, err := http.NewRequest(http.MethodGet, "https://"+w.httpsAddr+"/autodiscover/autodiscover.xml", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, secret)
	resp, err := w.httpClient(src).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		if !strings.Contains(string(body), user) {
			t.Fatalf("Autodiscover for %s does not name the user:\n%s", user, body)
		}
		return accepted
	case http.StatusTooManyRequests:
		return throttled
	case http.StatusUnauthorized:
		return rejected
	}
	t.Fatalf("MAPI Autodiscover: unexpected status %d: %s", resp.StatusCode, body)
	return ""
}

func webLogin(t *testing.T, w *world, src, user, secret string) outcome {
	code, body := w.webSignIn(t, src, user, secret, nil)
	switch code {
	case http.StatusOK:
		return accepted
	case http.StatusTooManyRequests:
		return throttled
	case http.StatusUnauthorized:
		return rejected
	}
	t.Fatalf("webmail sign-in: unexpected status %d: %s", code, body)
	return ""
}

func tokenOf(w *world, user string) string {
	if user == w.bob.Address {
		return w.adminToken
	}
	return w.token
}

// wrongToken keeps the token's key id and changes its secret: a guess at
// that token, which the throttle counts against the token's key id.
func wrongToken(w *world, user string, i int) string {
	good := tokenOf(w, user)
	_, text, ok := directory.ParseAPIToken(good)
	if !ok {
		panic("hardening: unparseable API token")
	}
	cut := len(good) - len(text) - 1
	secret, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		panic(err)
	}
	secret[0] ^= byte(i + 1)
	secret[1] ^= byte((i + 1) >> 8)
	secret[2] ^= 0x5a
	return good[:cut+1] + base64.RawURLEncoding.EncodeToString(secret)
}

func apiBearer(t *testing.T, w *world, src, _, secret string) outcome {
	req, err := http.NewRequest(http.MethodGet, "https://"+w.httpsAddr+"/api/v1/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := w.httpClient(src).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return accepted
	case http.StatusTooManyRequests:
		return throttled
	case http.StatusUnauthorized:
		return rejected
	}
	t.Fatalf("API: unexpected status %d: %s", resp.StatusCode, body)
	return ""
}

// Done-when 2, per door: ten failures within a minute from one address
// are answered as wrong credentials; the eleventh attempt from that
// address is refused even with the right credentials; the right
// credentials from another address still work (the login is not locked
// out); each failure is counted in pochta_auth_failures_total{door}; a
// client repeating one wrong password does not lock itself out; and no
// credential tried reaches the log, even at trace level.
func TestThrottlePerDoor(t *testing.T) {
	for _, d := range authDoors() {
		t.Run(d.name, func(t *testing.T) {
			w := newWorld(t, worldOptions{})
			user := w.alice.Address
			var tried []string
			for i := range 10 {
				secret := d.wrong(w, user, i)
				tried = append(tried, secret)
				if got := d.try(t, w, "127.0.0.2", user, secret); got != rejected {
					t.Fatalf("failure %d from 127.0.0.2: %s, want %s", i+1, got, rejected)
				}
			}
			if got := w.authFailures(d.metric); got < 10 {
				t.Fatalf("pochta_auth_failures_total{door=%q} = %v after 10 failures", d.metric, got)
			}
			good := d.secret(w, user)
			tried = append(tried, good)
			if got := d.try(t, w, "127.0.0.2", user, good); got != throttled {
				t.Fatalf("11th attempt from 127.0.0.2 (right credentials): %s, want %s", got, throttled)
			}
			if got := d.try(t, w, "127.0.0.3", user, good); got != accepted {
				t.Fatalf("right credentials from 127.0.0.3: %s, want %s", got, accepted)
			}

			// One stale password retried many times counts once.
			bob := w.bob.Address
			stale := d.wrong(w, bob, 99)
			tried = append(tried, stale, d.secret(w, bob))
			for i := range 15 {
				if got := d.try(t, w, "127.0.0.4", bob, stale); got != rejected {
					t.Fatalf("repeat %d of one wrong password: %s, want %s", i+1, got, rejected)
				}
			}
			if got := d.try(t, w, "127.0.0.4", bob, d.secret(w, bob)); got != accepted {
				t.Fatalf("right password after 15 repeats of one wrong one: %s, want %s", got, accepted)
			}

			logs := w.logs.String()
			if !strings.Contains(logs, "127.0.0.2") {
				t.Fatalf("failures were not logged:\n%s", logs)
			}
			for _, s := range tried {
				for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + s)),
					base64.StdEncoding.EncodeToString([]byte("\x00" + bob + "\x00" + s)),
					base64.StdEncoding.EncodeToString([]byte(user + ":" + s))} {
					if strings.Contains(logs, form) {
						t.Errorf("a credential (%q) is in the log", form)
					}
				}
			}
		})
	}
}

// The doors share one throttle: failures on IMAP, POP3 and SMTP from one
// address add up, and the address is then refused on every door, the
// HTTP ones included.
func TestThrottleSharedAcrossDoors(t *testing.T) {
	w := newWorld(t, worldOptions{})
	doors := authDoors()
	byName := map[string]authDoor{}
	for _, d := range doors {
		byName[d.name] = d
	}
	user := w.alice.Address
	n := 0
	for _, name := range []string{"IMAP", "IMAP", "IMAP", "IMAP", "POP3", "POP3", "POP3", "SMTP-AUTH", "SMTP-AUTH", "SMTP-AUTH"} {
		d := byName[name]
		if got := d.try(t, w, "127.0.0.5", user, wrongPassword(w, user, n)); got != rejected {
			t.Fatalf("failure %d (%s): %s", n+1, name, got)
		}
		n++
	}
	for _, d := range doors {
		if got := d.try(t, w, "127.0.0.5", user, d.secret(w, user)); got != throttled {
			t.Errorf("%s after 10 failures on other doors from the same address: %s, want %s", d.name, got, throttled)
		}
	}
}

// The throttle groups an IPv6 client by its /64: a neighbour in the same
// /64 is refused after the first address failed ten times; a client in
// another /64 is not. (Through the IMAP door, with the client addresses
// rewritten below it.)
func TestThrottleIPv6Slash64(t *testing.T) {
	w := newWorld(t, worldOptions{remap: remapTable(map[string]string{
		"127.0.0.6": "2001:db8:0:1::6",
		"127.0.0.7": "2001:db8:0:1:ffff::7", // same /64
		"127.0.0.8": "2001:db8:0:2::8",      // another /64
	})})
	user := w.alice.Address
	for i := range 10 {
		if got := imapLogin(t, w, "127.0.0.6", user, wrongPassword(w, user, i)); got != rejected {
			t.Fatalf("failure %d: %s", i+1, got)
		}
	}
	if got := imapLogin(t, w, "127.0.0.7", user, alicePassword); got != throttled {
		t.Errorf("same /64: %s, want %s", got, throttled)
	}
	if got := imapLogin(t, w, "127.0.0.8", user, alicePassword); got != accepted {
		t.Errorf("another /64: %s, want %s", got, accepted)
	}
	if !strings.Contains(w.logs.String(), "2001:db8:0:1::6") {
		t.Errorf("the log does not name the rewritten client address")
	}
}

// The throttle also counts per login across addresses: ten guesses at one
// login from ten addresses put it under attack, after which an address
// that guessed before is refused for that login even with the right
// password, while a clean address still logs in.
func TestThrottleLoginAcrossAddresses(t *testing.T) {
	w := newWorld(t, worldOptions{})
	user := w.alice.Address
	for i := range 10 {
		src := fmt.Sprintf("127.0.1.%d", i+1)
		if got := pop3Login(t, w, src, user, wrongPassword(w, user, i)); got != rejected {
			t.Fatalf("guess %d from %s: %s", i+1, src, got)
		}
	}
	if got := imapLogin(t, w, "127.0.1.1", user, alicePassword); got != throttled {
		t.Errorf("a guessing address with the right password: %s, want %s", got, throttled)
	}
	// The same address may still log in as someone else: it is not over
	// its own limit.
	if got := imapLogin(t, w, "127.0.1.1", w.bob.Address, bobPassword); got != accepted {
		t.Errorf("a guessing address as another user: %s, want %s", got, accepted)
	}
	if got := smtpAuth(t, w, "127.0.1.200", user, alicePassword); got != accepted {
		t.Errorf("a clean address with the right password: %s, want %s", got, accepted)
	}
}

// An authorization identity other than the login (acting as someone else
// with one's own password) is refused on every SASL door.
func TestNoAuthorizationIdentity(t *testing.T) {
	w := newWorld(t, worldOptions{})
	plain := base64.StdEncoding.EncodeToString([]byte(w.bob.Address + "\x00" + w.alice.Address + "\x00" + alicePassword))

	im := dialLines(t, "127.0.0.2", w.imapsAddr, w.clientTLS)
	im.line()
	if _, done := im.imapCmd("a1", "AUTHENTICATE PLAIN %s", plain); strings.HasPrefix(done, "OK") {
		t.Errorf("IMAP: alice authorized as bob: %q", done)
	}
	p3 := dialLines(t, "127.0.0.2", w.pop3sAddr, w.clientTLS)
	p3.line()
	p3.send("AUTH PLAIN %s", plain)
	if l := p3.line(); strings.HasPrefix(l, "+OK") {
		t.Errorf("POP3: alice authorized as bob: %q", l)
	}
	sm := dialLines(t, "127.0.0.2", w.submissionsAddr, w.clientTLS)
	sm.smtpReply()
	sm.smtpCmd("EHLO client.example")
	if r := sm.smtpCmd("AUTH PLAIN %s", plain); strings.HasPrefix(r, "235") {
		t.Errorf("SMTP: alice authorized as bob: %q", r)
	}
}
