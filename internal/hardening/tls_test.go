package hardening

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tlsEndpoint is one way into a door over TLS: implicit, or after the
// protocol's STARTTLS (upgrade speaks the protocol up to the handshake).
type tlsEndpoint struct {
	name    string
	addr    string
	upgrade func(c net.Conn) error
}

func (w *world) tlsEndpoints() []tlsEndpoint {
	smtpUpgrade := func(c net.Conn) error {
		r := bufio.NewReader(c)
		reply := func() (string, error) {
			for {
				l, err := r.ReadString('\n')
				if err != nil || len(l) < 4 || l[3] != '-' {
					return l, err
				}
			}
		}
		if _, err := reply(); err != nil {
			return err
		}
		fmt.Fprintf(c, "EHLO tls.example\r\n")
		if _, err := reply(); err != nil {
			return err
		}
		fmt.Fprintf(c, "STARTTLS\r\n")
		l, err := reply()
		if err == nil && !strings.HasPrefix(l, "220") {
			err = fmt.Errorf("STARTTLS: %q", l)
		}
		return err
	}
	lineUpgrade := func(command, ok string) func(net.Conn) error {
		return func(c net.Conn) error {
			r := bufio.NewReader(c)
			if _, err := r.ReadString('\n'); err != nil {
				return err
			}
			fmt.Fprintf(c, "%s\r\n", command)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return err
				}
				if strings.HasPrefix(l, "* ") {
					continue
				}
				if !strings.HasPrefix(l, ok) {
					return fmt.Errorf("%s: %q", command, l)
				}
				return nil
			}
		}
	}
	return []tlsEndpoint{
		{"smtps-submission", w.submissionsAddr, nil},
		{"imaps", w.imapsAddr, nil},
		{"pop3s", w.pop3sAddr, nil},
		{"https", w.httpsAddr, nil},
		{"smtp-starttls", w.smtpAddr, smtpUpgrade},
		{"submission-starttls", w.submissionAddr, smtpUpgrade},
		{"imap-starttls", w.imapAddr, lineUpgrade("a STARTTLS", "a OK")},
		{"pop3-stls", w.pop3Addr, lineUpgrade("STLS", "+OK")},
	}
}

// handshake dials ep and runs a TLS handshake with cfg.
func (ep tlsEndpoint) handshake(t *testing.T, cfg *tls.Config) error {
	t.Helper()
	c, err := net.DialTimeout("tcp", ep.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if ep.upgrade != nil {
		if err := ep.upgrade(c); err != nil {
			t.Fatalf("%s: before TLS: %v", ep.name, err)
		}
	}
	tc := tls.Client(c, cfg)
	return tc.Handshake()
}

// Every TLS endpoint, implicit or after STARTTLS, speaks TLS 1.2 and 1.3
// with forward-secret AEAD suites only: a TLS 1.1 client and a client
// offering only CBC suites are refused.
func TestTLSPolicy(t *testing.T) {
	w := newWorld(t, worldOptions{})
	client := func(min, max uint16, suites []uint16) *tls.Config {
		c := w.clientTLS.Clone()
		c.MinVersion, c.MaxVersion, c.CipherSuites = min, max, suites
		return c
	}
	cbc := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	}
	for _, ep := range w.tlsEndpoints() {
		t.Run(ep.name, func(t *testing.T) {
			if err := ep.handshake(t, client(tls.VersionTLS10, tls.VersionTLS11, nil)); err == nil {
				t.Error("a TLS 1.1 client was accepted")
			}
			if err := ep.handshake(t, client(tls.VersionTLS12, tls.VersionTLS12, cbc)); err == nil {
				t.Error("a client offering only CBC suites was accepted")
			}
			if err := ep.handshake(t, client(tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256})); err != nil {
				t.Errorf("TLS 1.2 with AES-GCM refused: %v", err)
			}
			if err := ep.handshake(t, client(tls.VersionTLS13, tls.VersionTLS13, nil)); err != nil {
				t.Errorf("TLS 1.3 refused: %v", err)
			}
		})
	}
}

// Without the development switch no door takes a password before TLS,
// not even from loopback: SMTP does not offer AUTH, IMAP says
// LOGINDISABLED, POP3 refuses USER, MAPI refuses plain HTTP. The right
// password is used, so a refusal cannot be a wrong-password answer.
func TestPlainTextAuthRefused(t *testing.T) {
	w := newWorld(t, worldOptions{})
	checkPlainRefused(t, w, "127.0.0.2")
}

// With the development switch (allow_insecure_auth_loopback), loopback
// clients may authenticate in plain text; a client from any other
// address still may not.
func TestPlainTextAuthDevelopmentSwitch(t *testing.T) {
	w := newWorld(t, worldOptions{insecureLoopback: true, remap: remapTable(map[string]string{
		"127.0.0.9": "192.0.2.9", // a remote client
	})})
	checkPlainRefused(t, w, "127.0.0.9")
	// From loopback, plain works.
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + w.alice.Address + "\x00" + alicePassword))
	sm := dialLines(t, "127.0.0.2", w.submissionAddr, nil)
	sm.smtpReply()
	sm.smtpCmd("EHLO dev.example")
	if r := sm.smtpCmd("AUTH PLAIN %s", plain); !strings.HasPrefix(r, "235") {
		t.Errorf("SMTP AUTH from loopback with the switch: %q", r)
	}
	im := dialLines(t, "127.0.0.2", w.imapAddr, nil)
	im.line()
	if _, done := im.imapCmd("a", "LOGIN %q %q", w.alice.Address, alicePassword); !strings.HasPrefix(done, "OK") {
		t.Errorf("IMAP LOGIN from loopback with the switch: %q", done)
	}
	p3 := dialLines(t, "127.0.0.2", w.pop3Addr, nil)
	p3.line()
	p3.send("USER %s", w.alice.Address)
	p3.line()
	p3.send("PASS %s", alicePassword)
	if l := p3.line(); !strings.HasPrefix(l, "+OK") {
		t.Errorf("POP3 from loopback with the switch: %q", l)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+w.httpAddr+"/autodiscover/autodiscover.xml", nil)
	req.SetBasicAuth(w.alice.Address, alicePassword)
	if code := status(t, w.httpClient("127.0.0.2"), req); code != http.StatusOK {
		t.Errorf("MAPI over plain HTTP from loopback with the switch: %d", code)
	}
}

func checkPlainRefused(t *testing.T, w *world, src string) {
	t.Helper()
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + w.alice.Address + "\x00" + alicePassword))
	for _, addr := range []string{w.smtpAddr, w.submissionAddr} {
		sm := dialLines(t, src, addr, nil)
		sm.smtpReply()
		sm.send("EHLO plain.example")
		for {
			l := sm.line()
			if strings.Contains(strings.ToUpper(l), "AUTH") {
				t.Errorf("SMTP %s offers AUTH before TLS: %q", addr, l)
			}
			if l[3] != '-' {
				break
			}
		}
		if r := sm.smtpCmd("AUTH PLAIN %s", plain); !strings.HasPrefix(r, "5") {
			t.Errorf("SMTP %s AUTH before TLS: %q", addr, r)
		}
	}

	im := dialLines(t, src, w.imapAddr, nil)
	if g := im.line(); !strings.Contains(g, "LOGINDISABLED") || strings.Contains(g, "AUTH=") {
		t.Errorf("IMAP greeting before TLS: %q", g)
	}
	if _, done := im.imapCmd("a", "LOGIN %q %q", w.alice.Address, alicePassword); strings.HasPrefix(done, "OK") {
		t.Errorf("IMAP LOGIN before TLS: %q", done)
	}
	if _, done := im.imapCmd("b", "AUTHENTICATE PLAIN %s", plain); strings.HasPrefix(done, "OK") {
		t.Errorf("IMAP AUTHENTICATE before TLS: %q", done)
	}

	p3 := dialLines(t, src, w.pop3Addr, nil)
	p3.line()
	p3.send("USER %s", w.alice.Address)
	if l := p3.line(); strings.HasPrefix(l, "+OK") {
		p3.send("PASS %s", alicePassword)
		if l := p3.line(); strings.HasPrefix(l, "+OK") {
			t.Errorf("POP3 USER/PASS before TLS accepted")
		}
	}
	p3.send("AUTH PLAIN %s", plain)
	if l := p3.line(); strings.HasPrefix(l, "+OK") {
		t.Errorf("POP3 AUTH before TLS: %q", l)
	}

	req, _ := http.NewRequest(http.MethodGet, "http://"+w.httpAddr+"/autodiscover/autodiscover.xml", nil)
	req.SetBasicAuth(w.alice.Address, alicePassword)
	if code := status(t, w.httpClient(src), req); code == http.StatusOK {
		t.Errorf("MAPI Basic over plain HTTP accepted")
	}
}
