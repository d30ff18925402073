package imap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// session is one connection. go-imap calls its methods one command at a
// time, except Idle, which runs beside the read of DONE.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	ip     netip.Addr
	ipKey  netip.Prefix
	log    *slog.Logger
	closed func() // connection gauge

	// ctx lives as long as the connection: go-imap's methods take none, so
	// every store and directory call uses this one, cancelled by Close.
	ctx    context.Context
	cancel context.CancelFunc

	accountID int64 // 0 until authenticated
	login     string

	// folders is the folder tree as of foldersGen (see tree).
	folders    *tree
	foldersGen uint64

	// sel is nil unless a mailbox is selected. The command goroutine reads
	// it freely; changes take selMu, which Idle's goroutine reads it under.
	sel   *selected
	selMu sync.Mutex

	byeOnce sync.Once
}

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

// Close ends the session (LOGOUT or a dropped connection).
func (s *session) Close() error {
	s.unselect()
	s.cancel()
	s.closed()
	s.srv.sessionEnded(s)
	return nil
}

// bye ends the connection with an untagged BYE (shutdown, a deleted
// selected mailbox). Safe from any goroutine.
func (s *session) bye(text string) {
	s.byeOnce.Do(func() {
		if err := s.conn.Bye(text); err != nil {
			s.log.Debug("writing BYE", "err", err)
		}
	})
}

// Login checks a user name and password (LOGIN, and AUTHENTICATE PLAIN,
// which go-imap maps onto Login; RFC 9051 §6.2.3, RFC 4616).
func (s *session) Login(username, password string) error {
	th := s.srv.opts.Throttle
	if th != nil {
		if ok, wait := th.Allow(s.ip, username); !ok {
			s.log.Info("login refused by the throttle", "login", username, "retry_after", wait)
			s.srv.opts.Metrics.AuthFailed(obs.DoorIMAP)
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
				Text: fmt.Sprintf("Too many failed logins; try again in %d seconds", int(wait.Seconds())+1)}
		}
	}
	// Password hashes are memory-hard (argon2id, 19 MiB each): checking
	// more at once than there are CPUs gains nothing and multiplies the
	// memory (ten clients logging in together cost 250 MB without this).
	select {
	case s.srv.logins <- struct{}{}:
	case <-s.ctx.Done():
		return s.fail("authenticating", s.ctx.Err())
	}
	acct, err := s.srv.opts.Directory.Authenticate(s.ctx, username, password)
	<-s.srv.logins
	switch {
	case errors.Is(err, directory.ErrAuthFailed):
		if th != nil {
			th.Fail(s.ip, username, password)
		}
		s.srv.opts.Metrics.AuthFailed(obs.DoorIMAP)
		s.log.Info("login failed", "login", username)
		return imapserver.ErrAuthFailed
	case err != nil:
		return s.fail("authenticating", err)
	}
	if th != nil {
		th.Succeed(s.ip, username)
	}
	if err := s.srv.store.EnsureMailbox(s.ctx, acct.ID); err != nil {
		return s.fail("opening the mailbox", err)
	}
	s.accountID, s.login = acct.ID, acct.Address
	s.log = s.log.With("account", acct.Address)
	s.log.Debug("logged in")
	return nil
}

// AppendLimit implements imapserver.SessionAppendLimit (RFC 7889).
func (s *session) AppendLimit() uint32 { return uint32(s.srv.opts.AppendLimit) }

// Namespace implements RFC 2342: one personal namespace, "/" separated.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: delim}}}, nil
}

// fail turns an internal error into what the client may see: temporary
// conditions become NO [UNAVAILABLE], the rest a generic NO [SERVERBUG];
// the cause goes to the log only.
func (s *session) fail(what string, err error) error {
	var ie *imap.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return ie
	case errors.Is(err, directory.ErrUnavailable), errors.Is(err, storage.ErrTemporary),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, storage.ErrClosed):
		s.log.Warn(what+": temporary failure", "err", err)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Temporary failure; please try again"}
	case errors.Is(err, context.Canceled):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Connection closing"}
	case errors.Is(err, storage.ErrQuotaExceeded):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Mailbox is over quota"}
	case errors.Is(err, storage.ErrSearchTooComplex):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "Search is nested too deeply"}
	}
	s.log.Error(what, "err", err)
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "Internal error; it has been logged"}
}

func noError(code imap.ResponseCode, text string) *imap.Error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
}

func badError(text string) *imap.Error {
	return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: text}
}
