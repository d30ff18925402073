package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/message"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/storage"
)

// session is one client connection (go-smtp makes a new one after
// STARTTLS, so TLS state never changes under a session).
type session struct {
	srv      *Server
	conn     *gosmtp.Conn
	ctx      context.Context
	cancel   context.CancelFunc
	log      *slog.Logger
	id       string
	remoteIP netip.Addr

	account *directory.Account // after AUTH
	owned   []string           // addresses account may send as (loaded on first use)

	// The transaction.
	from     string
	mailOpts *gosmtp.MailOptions
	rcpts    []delivery.Recipient
}

var (
	_ gosmtp.Session     = (*session)(nil)
	_ gosmtp.AuthSession = (*session)(nil)
)

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	sess := &session{srv: s, conn: c, ctx: ctx, cancel: cancel, id: delivery.NewID(), remoteIP: addrOf(c.Conn().RemoteAddr())}
	sess.log = s.log.With("cid", sess.id, "remote", sess.remoteIP.String())
	sess.log.Debug("session", "helo", c.Hostname())
	return sess, nil
}

// Reset implements gosmtp.Session (RSET, and after each message).
func (s *session) Reset() {
	s.from, s.mailOpts, s.rcpts = "", nil, nil
}

// Logout implements gosmtp.Session.
func (s *session) Logout() error {
	s.cancel()
	return nil
}

// recoverTo turns a panic in a session method into a temporary reply
// (never a 250), logs it with its stack and counts it; go-smtp's own
// recovery would answer 421 without our metrics.
func (s *session) recoverTo(err *error) {
	if p := recover(); p != nil {
		s.log.Error("panic recovered", "component", "smtp", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if m := s.srv.opts.Metrics; m != nil {
			m.Panics.WithLabelValues("smtp").Inc()
		}
		*err = errStoreTemp
	}
}

// Mail implements gosmtp.Session: MAIL FROM (RFC 5321 §4.1.1.2).
func (s *session) Mail(from string, opts *gosmtp.MailOptions) (err error) {
	defer s.recoverTo(&err)
	s.Reset()
	if s.srv.opts.Mode == ModeSubmission && s.account == nil {
		return errAuthRequired // RFC 6409 §4.3
	}
	if from != "" && !validSender(from) {
		return errBadSendSyntax
	}
	if s.account != nil {
		// RFC 6409 §6.1: the MSA checks the submitter may use this sender.
		if from == "" {
			return errNullSubmission
		}
		ok, err := s.owns(from)
		if err != nil {
			s.log.Warn("loading sender addresses", "err", err)
			return errDirectoryTemp
		}
		if !ok {
			s.log.Info("sender refused", "from", from)
			return errNotOwner
		}
	}
	s.from, s.mailOpts = from, opts
	return nil
}

// owns tells whether the authenticated account may send as addr: its
// primary address, an alias, or a sub-address (user+tag@) of either.
func (s *session) owns(addr string) (bool, error) {
	if s.owned == nil {
		list, err := s.srv.opts.Directory.Addresses(s.ctx, s.account.ID)
		if err != nil {
			return false, err
		}
		s.owned = list
	}
	norm := directory.NormalizeAddress(addr)
	local, domain, ok := delivery.SplitAddress(norm)
	if !ok {
		return false, nil
	}
	base := norm
	if b, _, found := strings.Cut(local, "+"); found && b != "" {
		base = b + "@" + domain
	}
	for _, a := range s.owned {
		a = directory.NormalizeAddress(a)
		if a == norm || a == base {
			return true, nil
		}
	}
	return false, nil
}

// Rcpt implements gosmtp.Session: RCPT TO (RFC 5321 §4.1.1.3). Recipients
// are resolved now, so an unknown one is refused at once with 550 5.1.1
// and the relay policy is applied before any data is sent.
func (s *session) Rcpt(to string, opts *gosmtp.RcptOptions) (err error) {
	defer s.recoverTo(&err)
	c := classifyAddress(to)
	if !c.ok {
		return errBadRcptSyntax
	}
	authed := s.account != nil
	if c.literal && !authed {
		return errRelayDenied
	}
	rt, err := s.srv.opts.Deliverer.Route(s.ctx, to)
	if err != nil {
		if errors.Is(err, directory.ErrInvalid) {
			return errBadRcptSyntax
		}
		s.log.Warn("resolving recipient", "rcpt", to, "err", err)
		return tempError(err)
	}
	switch rt.Kind {
	case delivery.RouteRemote:
		if !authed {
			s.log.Info("relay refused", "rcpt", to)
			return errRelayDenied
		}
	case delivery.RouteUnknown:
		if c.routed && !authed {
			return errRoutedLocal
		}
		if rt.Disabled {
			return errDisabledUser
		}
		return errUnknownUser
	case delivery.RouteLocal:
		if c.routed && !authed {
			return errRoutedLocal
		}
		if err := s.checkQuota(rt); err != nil {
			return err
		}
	}
	r := delivery.Recipient{Address: to, Route: rt}
	if opts != nil {
		for _, n := range opts.Notify {
			r.Notify = append(r.Notify, string(n))
		}
		if opts.OriginalRecipient != "" {
			r.ORcpt = strings.ToLower(string(opts.OriginalRecipientType)) + ";" + opts.OriginalRecipient
		}
	}
	s.rcpts = append(s.rcpts, r)
	return nil
}

// checkQuota refuses a single-account recipient whose mailbox is already
// full (or would be with the announced SIZE), so the sender hears it at
// RCPT rather than by bounce.
func (s *session) checkQuota(rt *delivery.Route) error {
	st := s.srv.opts.Store
	if st == nil || rt.Group || len(rt.Accounts) != 1 {
		return nil
	}
	mb, err := st.Mailbox(s.ctx, rt.Accounts[0].ID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil // made on first delivery; nothing stored yet
		}
		s.log.Warn("reading quota", "err", err)
		return nil // the commit checks again
	}
	var size int64
	if s.mailOpts != nil {
		size = s.mailOpts.Size
	}
	if mb.QuotaBytes > 0 && mb.UsedBytes+size >= mb.QuotaBytes {
		return s.quotaError()
	}
	return nil
}

func (s *session) quotaError() error {
	if s.srv.opts.QuotaPermanent {
		return errQuotaPerm
	}
	return errQuotaTemp
}

// tempError maps an internal failure to a temporary reply: the directory's
// own, or the store's.
func tempError(err error) error {
	if errors.Is(err, directory.ErrUnavailable) {
		return errDirectoryTemp
	}
	return errStoreTemp
}

// Data implements gosmtp.Session: DATA and BDAT (RFC 5321 §4.1.1.4, RFC
// 3030). The 250 goes out only after the message is durably stored.
func (s *session) Data(r io.Reader) (err error) {
	s.srv.inData.Add(1)
	defer s.srv.inData.Add(-1)
	defer s.recoverTo(&err)
	start := time.Now()
	if d := s.srv.opts.DataTimeout; d > 0 {
		_ = s.conn.Conn().SetReadDeadline(start.Add(d))
	}
	tlsState, hasTLS := s.conn.TLSConnectionState()
	rcv := delivery.Received{
		Helo: s.conn.Hostname(), RemoteIP: s.remoteIP.String(), By: s.srv.opts.Hostname,
		With: s.protocol(hasTLS), ID: s.id, TLS: tlsText(tlsState, hasTLS), Date: start,
	}
	if s.account != nil {
		rcv.AuthUser = s.account.Address
	}
	if len(s.rcpts) == 1 {
		rcv.For = s.rcpts[0].Address
	}
	trace := delivery.ReturnPathHeader(s.from) + rcv.Header()
	size := int64(4096)
	if s.mailOpts != nil && s.mailOpts.Size > 0 && s.mailOpts.Size < s.srv.opts.MaxMessageBytes {
		size = s.mailOpts.Size
	}
	buf := bytes.NewBuffer(make([]byte, 0, int64(len(trace))+size+512))
	buf.WriteString(trace)
	if _, err := buf.ReadFrom(r); err != nil {
		var se *gosmtp.SMTPError
		if errors.As(err, &se) {
			return se // ErrDataTooLarge: 552 5.3.4
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errDataTimeout
		}
		s.log.Info("reading message", "err", err)
		return errStoreTemp
	}
	raw := buf.Bytes()
	if s.account != nil {
		var err error
		if raw, err = s.submissionHeaders(raw, len(trace), start); err != nil {
			return err
		}
	}
	out := &delivery.Outgoing{
		Sender: s.from, Recipients: s.rcpts, Raw: raw, Parsed: message.Parse(raw),
		ArrivedAt: start, SentCopy: s.account != nil,
	}
	if s.account != nil {
		out.AccountID = s.account.ID
	}
	if s.mailOpts != nil {
		out.EnvID, out.Ret = s.mailOpts.EnvelopeID, string(s.mailOpts.Return)
	}
	res, err := s.srv.opts.Deliverer.Send(s.ctx, out)
	if err != nil {
		s.log.Error("storing message", "err", err)
		return tempError(err)
	}
	m := s.srv.opts.Metrics
	for range res.Delivered {
		m.Delivered(obs.DeliveryDelivered)
	}
	for range res.Failed {
		m.Delivered(obs.DeliveryFailed)
	}
	if res.AllFailed() {
		if res.QuotaOnly() {
			return s.quotaError()
		}
		return errStoreTemp
	}
	s.log.Info("message accepted", "from", s.from, "rcpts", len(s.rcpts), "size", len(raw),
		"delivered", res.Delivered, "queued", res.Queued, "failed", res.Failed, "ms", time.Since(start).Milliseconds())
	return nil
}

// submissionHeaders checks From: against the authenticated user and adds
// Message-ID:, Date: (RFC 6409 §8) and, when missing, From:. raw is the
// trace fields (the first traceLen bytes) followed by the message.
func (s *session) submissionHeaders(raw []byte, traceLen int, now time.Time) ([]byte, error) {
	body := raw[traceLen:]
	fields := delivery.Header(body)
	var froms []message.Address
	for _, f := range fields {
		switch strings.ToLower(f.Key) {
		case "from", "sender":
			froms = append(froms, message.ParseAddressList(f.Value)...)
		}
	}
	for _, a := range froms {
		if a.GroupStart || a.GroupEnd {
			continue
		}
		ok, err := s.owns(a.Addr())
		if err != nil {
			s.log.Warn("loading sender addresses", "err", err)
			return nil, errDirectoryTemp
		}
		if !ok {
			s.log.Info("From header refused", "from", a.Addr())
			return nil, errFromNotOwner
		}
	}
	add := delivery.MissingOriginHeaders(fields, s.srv.opts.Hostname, now)
	if !delivery.HasField(fields, "From") {
		add = "From: <" + s.from + ">\r\n" + add
	}
	if add == "" {
		return raw, nil
	}
	out := make([]byte, 0, len(raw)+len(add))
	out = append(out, raw[:traceLen]...)
	out = append(out, add...)
	return append(out, body...), nil
}

// protocol is the RFC 3848 "with" keyword (RFC 6531 §4.3 for UTF8).
func (s *session) protocol(hasTLS bool) string {
	p := "ESMTP"
	if s.mailOpts != nil && s.mailOpts.UTF8 {
		p = "UTF8SMTP"
	}
	if hasTLS {
		p += "S"
	}
	if s.account != nil {
		p += "A"
	}
	return p
}

func tlsText(st tls.ConnectionState, ok bool) string {
	if !ok {
		return ""
	}
	return "using " + tls.VersionName(st.Version) + " with cipher " + tls.CipherSuiteName(st.CipherSuite)
}
