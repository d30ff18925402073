package pop3

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

const errNeedTLS = "[AUTH] Plaintext authentication is disallowed without TLS; use STLS"

// cmdCAPA lists what this server does in the current state (RFC 2449 §5).
func cmdCAPA(s *session, _ Command) bool {
	o := &s.srv.opts
	s.ok("Capability list follows")
	s.w.WriteString("TOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n")
	s.w.WriteString("EXPIRE " + o.Expire + "\r\n")
	if o.LoginDelay > 0 {
		s.w.WriteString("LOGIN-DELAY " + strconv.Itoa(int(math.Ceil(o.LoginDelay.Seconds()))) + "\r\n")
	}
	s.w.WriteString("IMPLEMENTATION Pochta\r\n")
	if s.state == stateAuthorization {
		if s.authAllowed() {
			s.w.WriteString("USER\r\nSASL PLAIN\r\n")
		}
		if o.TLS != nil && !s.isTLS {
			s.w.WriteString("STLS\r\n")
		}
	}
	s.w.WriteString(".\r\n")
	return false
}

// cmdSTLS upgrades the connection to TLS (RFC 2595 §4).
func cmdSTLS(s *session, cmd Command) bool {
	if len(cmd.Args) != 0 {
		s.protoError("Syntax: STLS")
		return false
	}
	if s.srv.opts.TLS == nil || s.isTLS {
		s.protoError("STLS is not available on this connection")
		return false
	}
	s.ok("Begin TLS negotiation")
	if err := s.flush(); err != nil {
		return true
	}
	// Anything the client sent after STLS and before the handshake was sent
	// in the clear and is dropped (the STARTTLS command injection of
	// CVE-2011-0411); Reset below discards the buffer.
	if s.r.Buffered() > 0 {
		s.log.Info("discarding commands pipelined after STLS", "bytes", s.r.Buffered())
	}
	tc := tls.Server(s.raw, s.srv.opts.TLS)
	_ = s.raw.SetReadDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := tc.HandshakeContext(s.ctx); err != nil {
		s.log.Debug("STLS handshake failed", "err", err)
		return true
	}
	s.conn, s.isTLS = tc, true
	s.r.Reset(tc)
	// RFC 2595 §4: the session starts over in AUTHORIZATION.
	s.user = ""
	return false
}

// cmdUSER names the login PASS checks (RFC 1939 §7).
func cmdUSER(s *session, cmd Command) bool {
	if len(cmd.Args) != 1 {
		s.protoError("Syntax: USER name")
		return false
	}
	if !s.authAllowed() {
		s.protoError(errNeedTLS)
		return false
	}
	s.user = cmd.Args[0]
	s.ok("Send your password")
	return false
}

// cmdPASS checks the password of the USER login (RFC 1939 §7).
func cmdPASS(s *session, cmd Command) bool {
	if s.user == "" {
		s.protoError("Send USER first")
		return false
	}
	if len(cmd.Args) != 1 {
		s.protoError("Syntax: PASS password")
		return false
	}
	login := s.user
	s.user = ""
	return s.authenticate(login, cmd.Args[0])
}

// cmdAPOP checks an MD5 digest of the greeting's timestamp and the shared
// secret (RFC 1939 §7); only when Options.APOP is set.
func cmdAPOP(s *session, cmd Command) bool {
	if s.srv.opts.APOP == nil {
		s.protoError("APOP is not enabled on this server")
		return false
	}
	if len(cmd.Args) != 2 {
		s.protoError("Syntax: APOP name digest")
		return false
	}
	if !s.authAllowed() {
		s.protoError(errNeedTLS)
		return false
	}
	login, digest := cmd.Args[0], strings.ToLower(cmd.Args[1])
	if !s.throttleAllows(login) {
		return s.tooManyAuthFailures()
	}
	acct, secret, err := s.srv.opts.APOP(s.ctx, login)
	if err != nil && !errors.Is(err, directory.ErrAuthFailed) {
		s.storeError("authentication", err)
		return false
	}
	good := err == nil
	if good {
		sum := md5.Sum([]byte(s.apopStamp + secret))
		want := hex.EncodeToString(sum[:])
		good = subtle.ConstantTimeCompare([]byte(want), []byte(digest)) == 1 && !acct.Disabled
	}
	if !good {
		return s.authFailed(login, digest)
	}
	return s.loggedIn(login, acct)
}

// cmdAUTH runs a SASL exchange (RFC 5034); PLAIN (RFC 4616) is the one
// mechanism, with or without an initial response. Without arguments it
// lists the mechanisms, as many clients expect.
func cmdAUTH(s *session, cmd Command) bool {
	if len(cmd.Args) == 0 {
		s.ok("Supported mechanisms follow")
		if s.authAllowed() {
			s.w.WriteString("PLAIN\r\n")
		}
		s.w.WriteString(".\r\n")
		return false
	}
	if !s.authAllowed() {
		s.protoError(errNeedTLS)
		return false
	}
	if !strings.EqualFold(cmd.Args[0], "PLAIN") {
		s.protoError("Unsupported authentication mechanism")
		return false
	}
	var resp string
	if len(cmd.Args) == 2 {
		resp = cmd.Args[1]
	} else {
		s.writeLine("+ ")
		if err := s.flush(); err != nil {
			return true
		}
		line, err := s.readLine(MaxSASLLineLength)
		if errors.Is(err, errLineTooLong) {
			s.protoError("SASL response too long")
			return false
		}
		if err != nil {
			return true
		}
		if s.trace {
			s.log.Log(s.ctx, obs.LevelTrace, "C: "+s.redact.Redact(string(line)))
		}
		resp = string(line)
	}
	if resp == "*" {
		s.fail("Authentication cancelled")
		return false
	}
	if resp == "=" { // RFC 5034 §4: an empty initial response
		resp = ""
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		s.protoError("Invalid base64 in SASL response")
		return false
	}
	// RFC 4616 §2: [authzid] NUL authcid NUL passwd
	parts := bytes.Split(raw, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		s.protoError("Malformed PLAIN response")
		return false
	}
	authz, login, password := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && !strings.EqualFold(authz, login) {
		// Acting as someone else is not offered.
		return s.authFailed(login, password)
	}
	return s.authenticate(login, password)
}

// authenticate checks a login and password and opens the maildrop.
func (s *session) authenticate(login, password string) bool {
	if !s.throttleAllows(login) {
		return s.tooManyAuthFailures()
	}
	acct, err := s.srv.opts.Directory.Authenticate(s.ctx, login, password)
	switch {
	case errors.Is(err, directory.ErrAuthFailed):
		return s.authFailed(login, password)
	case err != nil:
		s.storeError("authentication", err)
		return false
	}
	return s.loggedIn(login, acct)
}

// throttleAllows asks the shared throttle before a password is checked and
// answers the client when it says no.
func (s *session) throttleAllows(login string) bool {
	th := s.srv.opts.Throttle
	if th == nil {
		return true
	}
	ok, retry := th.Allow(s.remote, login)
	if !ok {
		s.srv.opts.Metrics.AuthFailed(obs.DoorPOP3)
		s.fail("[SYS/TEMP] Too many failed logins; try again in " + strconv.Itoa(int(math.Ceil(retry.Seconds()))) + " seconds")
	}
	return ok
}

// authFailed answers a refused login, slowly, and ends the connection after
// too many.
func (s *session) authFailed(login, password string) bool {
	s.srv.opts.Metrics.AuthFailed(obs.DoorPOP3)
	if th := s.srv.opts.Throttle; th != nil {
		th.Fail(s.remote, login, password)
	}
	s.log.Info("authentication failed", "login", login)
	if d := s.srv.opts.AuthFailureDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
	}
	s.fail("[AUTH] Invalid login or password")
	return s.tooManyAuthFailures()
}

func (s *session) tooManyAuthFailures() bool {
	s.authFailures++
	if s.authFailures >= s.srv.opts.MaxAuthFailures {
		s.fail("Too many failed logins; closing connection")
		return true
	}
	return false
}

// loggedIn locks and loads the maildrop of an authenticated account and
// enters TRANSACTION (RFC 1939 §4).
func (s *session) loggedIn(login string, acct *directory.Account) bool {
	if th := s.srv.opts.Throttle; th != nil {
		th.Succeed(s.remote, login)
	}
	now := time.Now()
	if wait := s.srv.loginWait(acct.ID, now); wait > 0 {
		// RFC 2449 §8.1.1
		s.fail("[LOGIN-DELAY] Wait " + strconv.Itoa(int(math.Ceil(wait.Seconds()))) + " seconds between logins")
		return false
	}
	got, err := s.lock(acct)
	if err != nil {
		s.storeError("locking the maildrop", err)
		return false
	}
	if !got {
		// RFC 2449 §8.1.2; the session stays in AUTHORIZATION and may retry.
		s.fail("[IN-USE] Maildrop is locked by another session")
		return false
	}
	drop, err := s.srv.opts.Store.POP3Maildrop(s.ctx, acct.ID)
	if errors.Is(err, storage.ErrNotFound) {
		// First login of a directory user: make the mailbox.
		if err = s.srv.opts.Store.EnsureMailbox(s.ctx, acct.ID); err == nil {
			drop, err = s.srv.opts.Store.POP3Maildrop(s.ctx, acct.ID)
		}
	}
	if err != nil {
		s.unlock(nil)
		s.account = nil
		s.storeError("opening the maildrop", err)
		return false
	}
	s.srv.recordLogin(acct.ID, now)
	s.drop = drop
	s.deleted = make([]bool, len(drop.Messages))
	s.retrieved = make([]bool, len(drop.Messages))
	s.liveCount, s.liveOctets = len(drop.Messages), 0
	for _, m := range drop.Messages {
		s.liveOctets += m.Size
	}
	s.state = stateTransaction
	s.log = s.log.With("account", acct.ID)
	s.log.Debug("logged in", "login", login, "messages", s.liveCount)
	s.ok("Maildrop has " + strconv.Itoa(s.liveCount) + " messages (" + strconv.FormatInt(s.liveOctets, 10) + " octets)")
	return false
}
