package smtp

import (
	"errors"
	"strings"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/directory"
)

// authAllowed: AUTH only over TLS (RFC 4954 §4, RFC 8314), or from the
// loopback when the configuration allows it for local tools.
func (s *session) authAllowed() bool {
	if _, ok := s.conn.TLSConnectionState(); ok {
		return true
	}
	return s.srv.opts.AllowInsecureAuthLoopback && s.remoteIP.IsLoopback()
}

// AuthMechanisms implements gosmtp.AuthSession: what EHLO advertises.
func (s *session) AuthMechanisms() []string {
	if !s.authAllowed() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth implements gosmtp.AuthSession (RFC 4954).
func (s *session) Auth(mech string) (sasl.Server, error) {
	if !s.authAllowed() {
		return nil, errTLSRequired
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			// RFC 4616: an authorization identity other than the login would
			// mean acting as someone else; we do not offer that.
			if identity != "" && !strings.EqualFold(identity, username) {
				s.authFailed(username, password)
				return errAuthzRefused
			}
			return s.authenticate(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: s.authenticate}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// authenticate checks a password through the shared throttle and the
// directory.
func (s *session) authenticate(login, password string) error {
	th := s.srv.opts.Throttle
	if th != nil {
		if ok, _ := th.Allow(s.remoteIP, login); !ok {
			s.srv.opts.Metrics.AuthFailed(s.srv.opts.Mode.door())
			s.log.Info("authentication throttled", "login", login)
			return errAuthThrottled
		}
	}
	acct, err := s.srv.opts.Directory.Authenticate(s.ctx, login, password)
	switch {
	case err == nil:
	case errors.Is(err, directory.ErrAuthFailed):
		s.authFailed(login, password)
		return gosmtp.ErrAuthFailed
	default:
		// Directory down: a temporary failure, never "wrong password".
		s.log.Warn("authentication could not be checked", "login", login, "err", err)
		return errAuthTemp
	}
	if th != nil {
		th.Succeed(s.remoteIP, login)
	}
	s.account = acct
	s.owned = nil
	s.log = s.log.With("user", acct.Address)
	s.log.Info("authenticated", "login", login)
	return nil
}

func (s *session) authFailed(login, password string) {
	if th := s.srv.opts.Throttle; th != nil {
		th.Fail(s.remoteIP, login, password)
	}
	s.srv.opts.Metrics.AuthFailed(s.srv.opts.Mode.door())
	s.log.Info("authentication failed", "login", login)
}

// loginServer is the LOGIN mechanism (draft-murchison-sasl-login): the
// server asks "Username:" then "Password:", each answer base64 encoded.
// go-sasl has only its client side.
type loginServer struct {
	check    func(login, password string) error
	username string
	step     int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(response) > 0 {
			// An initial response carries the user name already.
			l.username, l.step = string(response), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.username, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.username, string(response))
	}
	return nil, false, errors.New("smtp: unexpected LOGIN response")
}
