package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pochta/pochta/storage"
)

// MXResolver looks up mail exchangers; *net.Resolver satisfies it, tests
// give a fake one.
type MXResolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
}

// rcptResult is the outcome of one attempt for one recipient.
type rcptResult struct {
	state     string // storage.RcptDelivered, RcptFailed or RcptPending
	code      int
	status    string // enhanced status code
	text      string // the reply, "550 5.1.1 No such user"
	remoteMTA string
	// dsnPassed: the remote server took the RFC 3461 parameters, so it
	// sends any notices itself from now on.
	dsnPassed bool
}

// smtpHop is one server to try.
type smtpHop struct {
	host     string // for TLS verification and the DSN's Remote-MTA
	addr     string // host:port to dial
	implicit bool   // TLS from the first byte
	tlsMode  string // "starttls" required, "opportunistic", or "none"
	verify   bool   // verify the certificate
	auth     bool
}

// outcome makes the per-recipient result of an error that affects the
// whole attempt (connection, greeting, MAIL, DATA).
func errorResult(err error, remote string) rcptResult {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		r := rcptResult{code: se.Code, remoteMTA: remote, state: storage.RcptPending}
		if se.Code >= 500 {
			r.state = storage.RcptFailed
		}
		r.status = fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		if ParseStatus(r.status) == "" || se.EnhancedCode[0] != se.Code/100 {
			r.status = fmt.Sprintf("%d.0.0", se.Code/100)
		}
		r.text = dsnText(fmt.Sprintf("%d %s %s", se.Code, r.status, se.Message), maxDSNField)
		return r
	}
	var pe *permanentError
	if errors.As(err, &pe) {
		return rcptResult{state: storage.RcptFailed, code: 550, status: pe.status, text: dsnText(fmt.Sprintf("550 %s %s", pe.status, pe.msg), maxDSNField), remoteMTA: remote}
	}
	status := "4.4.1" // no answer from host
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		status = "4.4.2" // bad connection
	}
	var te *tempError
	if errors.As(err, &te) {
		status = te.status
	}
	return rcptResult{state: storage.RcptPending, code: 451, status: status, text: dsnText(fmt.Sprintf("451 %s %v", status, err), maxDSNField), remoteMTA: remote}
}

// permanentError is a failure of ours that retrying cannot fix (no such
// domain, null MX).
type permanentError struct{ status, msg string }

func (e *permanentError) Error() string { return e.status + " " + e.msg }

// tempError is a temporary failure of ours with its status code.
type tempError struct {
	status string
	err    error
}

func (e *tempError) Error() string { return e.status + " " + e.err.Error() }
func (e *tempError) Unwrap() error { return e.err }

// hops returns the servers to try for a domain, best first.
func (r *Runner) hops(ctx context.Context, domain string) ([]smtpHop, error) {
	o := r.opts
	if o.Smarthost != "" {
		host, _, err := net.SplitHostPort(o.Smarthost)
		if err != nil {
			return nil, &tempError{"4.3.5", fmt.Errorf("smarthost %q: %w", o.Smarthost, err)}
		}
		h := smtpHop{host: host, addr: o.Smarthost, tlsMode: o.SmarthostTLS, verify: true, auth: o.SmarthostUsername != ""}
		if h.tlsMode == "" {
			h.tlsMode = "starttls"
		}
		h.implicit = h.tlsMode == "implicit"
		return []smtpHop{h}, nil
	}
	if IsAddressLiteral(domain) {
		lit := strings.TrimSuffix(strings.TrimPrefix(domain, "["), "]")
		lit = strings.TrimPrefix(strings.TrimPrefix(lit, "IPv6:"), "ipv6:")
		if net.ParseIP(lit) == nil {
			return nil, &permanentError{"5.1.2", "bad address literal " + domain}
		}
		return []smtpHop{{host: lit, addr: net.JoinHostPort(lit, o.MXPort), tlsMode: "opportunistic"}}, nil
	}
	mxs, err := o.Resolver.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	switch {
	case err == nil:
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		mxs = nil // no MX records: the domain itself is the implicit MX
	case len(mxs) > 0:
		// Some records were unusable; take the good ones.
	default:
		return nil, &tempError{"4.4.3", fmt.Errorf("MX lookup for %s: %w", domain, err)}
	}
	// RFC 7505: a single MX "." means the domain takes no mail.
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, &permanentError{"5.1.10", "domain " + domain + " accepts no mail (null MX)"}
	}
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	var out []smtpHop
	for _, mx := range mxs {
		h := strings.TrimSuffix(mx.Host, ".")
		if h == "" {
			continue
		}
		out = append(out, smtpHop{host: h, addr: net.JoinHostPort(h, o.MXPort), tlsMode: "opportunistic"})
	}
	if len(out) == 0 {
		// RFC 5321 §5.1: no MX, so the address records are the implicit MX.
		out = append(out, smtpHop{host: domain, addr: net.JoinHostPort(domain, o.MXPort), tlsMode: "opportunistic"})
	}
	return out, nil
}

// deliverGroup delivers data to the recipients of one domain (or, with a
// smarthost, to all of them), trying each hop until one takes the
// transaction. It returns one result per recipient.
func (r *Runner) deliverGroup(ctx context.Context, m *storage.QueueMessage, rcpts []storage.QueueRecipient, domain string, data []byte) []rcptResult {
	all := func(res rcptResult) []rcptResult {
		out := make([]rcptResult, len(rcpts))
		for i := range out {
			out[i] = res
		}
		return out
	}
	hops, err := r.hops(ctx, domain)
	if err != nil {
		return all(errorResult(err, ""))
	}
	var last []rcptResult
	for _, h := range hops {
		res, connErr := r.tryHop(ctx, h, m, rcpts, data)
		if connErr == nil {
			return res
		}
		var pe *permanentError
		if errors.As(connErr, &pe) {
			return all(errorResult(connErr, h.host))
		}
		// An unreachable host or one that would not talk: try the next MX
		// (RFC 5321 §5.1).
		r.log.Info("remote host failed", "host", h.addr, "queue_id", m.ID, "err", connErr)
		last = all(errorResult(connErr, h.host))
		if ctx.Err() != nil {
			break
		}
	}
	return last
}

// tryHop runs one SMTP session. A non-nil error means the session never got
// as far as a transaction (the caller tries the next host); once MAIL was
// answered the per-recipient results stand.
func (r *Runner) tryHop(ctx context.Context, h smtpHop, m *storage.QueueMessage, rcpts []storage.QueueRecipient, data []byte) ([]rcptResult, error) {
	o := r.opts
	d := net.Dialer{Timeout: o.ConnectTimeout}
	conn, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound && o.Smarthost == "" {
			return nil, &permanentError{"5.1.2", "domain has no mail server: " + h.host}
		}
		return nil, err
	}
	// The attempt ends when ctx does (shutdown): close the socket.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	tlsCfg := r.tlsConfig(h)
	if h.implicit {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, &tempError{"4.7.5", fmt.Errorf("TLS handshake with %s: %w", h.addr, err)}
		}
		conn = tc
	}
	if !h.implicit && h.tlsMode != "none" {
		tc, offered, err := r.startTLS(ctx, conn, h, tlsCfg)
		switch {
		case err != nil && h.tlsMode == "opportunistic" && offered:
			// Opportunistic TLS failed: start again in the clear, as other
			// MTAs do, rather than never delivering.
			conn.Close()
			return r.tryHop(ctx, smtpHop{host: h.host, addr: h.addr, tlsMode: "none"}, m, rcpts, data)
		case err != nil:
			conn.Close()
			return nil, err
		case tc == nil && h.tlsMode == "starttls":
			conn.Close()
			return nil, &tempError{"4.7.4", fmt.Errorf("%s does not offer STARTTLS", h.addr)}
		case tc != nil:
			conn = tc
		}
		// The greeting was read before STARTTLS (or before we found there
		// was none); the client library expects one, so give it one.
		conn = &greetedConn{Conn: conn, pending: []byte("220 " + h.host + " ready\r\n")}
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	c.CommandTimeout = o.CommandTimeout
	c.SubmissionTimeout = o.DataTimeout
	if err := c.Hello(o.Hostname); err != nil {
		return nil, err
	}
	if h.auth {
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, &tempError{"4.7.0", fmt.Errorf("%s does not offer AUTH", h.addr)}
		}
		if err := c.Auth(sasl.NewPlainClient("", o.SmarthostUsername, o.SmarthostPassword)); err != nil {
			// A refused login is a configuration problem here: keep retrying.
			return nil, &tempError{"4.7.0", fmt.Errorf("AUTH at %s: %w", h.addr, err)}
		}
	}
	dsnOK, _ := c.Extension("DSN")
	mo := &smtp.MailOptions{Size: int64(len(data)), EnvelopeID: m.EnvID}
	switch strings.ToUpper(m.Ret) {
	case "FULL":
		mo.Return = smtp.DSNReturnFull
	case "HDRS":
		mo.Return = smtp.DSNReturnHeaders
	}
	if !isASCII(m.Sender) || slices.ContainsFunc(rcpts, func(q storage.QueueRecipient) bool { return !isASCII(q.Address) }) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			// RFC 6531 §3.2: without SMTPUTF8 the message cannot go there.
			return nil, &permanentError{"5.6.7", "the receiving server does not support SMTPUTF8 addresses"}
		}
		mo.UTF8 = true
	}
	if mo.EnvelopeID != "" && !isPrintableASCII(mo.EnvelopeID) {
		mo.EnvelopeID = ""
	}
	results := make([]rcptResult, len(rcpts))
	if err := c.Mail(m.Sender, mo); err != nil {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			return nil, err
		}
		res := errorResult(err, h.host)
		for i := range results {
			results[i] = res
		}
		return results, nil
	}
	accepted := 0
	for i, q := range rcpts {
		ro := &smtp.RcptOptions{}
		for _, n := range SplitNotify(q.Notify) {
			ro.Notify = append(ro.Notify, smtp.DSNNotify(n))
		}
		if typ, addr, ok := strings.Cut(q.ORcpt, ";"); ok && addr != "" {
			if strings.EqualFold(typ, "utf-8") || !isPrintableASCII(addr) {
				ro.OriginalRecipientType = smtp.DSNAddressTypeUTF8
			} else {
				ro.OriginalRecipientType = smtp.DSNAddressTypeRFC822
			}
			ro.OriginalRecipient = addr
		}
		if err := c.Rcpt(q.Address, ro); err != nil {
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				// Our own options were refused by the client library
				// (malformed NOTIFY stored): retry without them.
				if err = c.Rcpt(q.Address, nil); err != nil && !errors.As(err, &se) {
					return nil, err
				}
			}
			if err != nil {
				results[i] = errorResult(err, h.host)
				continue
			}
		}
		results[i] = rcptResult{state: storage.RcptDelivered, code: 250, status: "2.0.0", remoteMTA: h.host, dsnPassed: dsnOK}
		accepted++
	}
	if accepted == 0 {
		_ = c.Quit()
		return results, nil
	}
	w, err := c.Data()
	if err == nil {
		if _, err = w.Write(data); err == nil {
			var resp *smtp.DataResponse
			resp, err = w.CloseWithResponse()
			if err == nil && resp != nil {
				for i := range results {
					if results[i].state == storage.RcptDelivered {
						results[i].text = dsnText("250 "+resp.StatusText, maxDSNField)
					}
				}
			}
		}
	}
	if err != nil {
		res := errorResult(err, h.host)
		for i := range results {
			if results[i].state == storage.RcptDelivered {
				results[i] = res
			}
		}
		return results, nil
	}
	_ = c.Quit()
	return results, nil
}

// startTLS reads the greeting, says EHLO and, when the server offers it,
// runs STARTTLS (RFC 3207). go-smtp's client has no STARTTLS on an open
// session that keeps our EHLO name, so the plain-text preamble is done here.
// It returns a nil conn when STARTTLS is not offered; offered tells whether
// it was.
func (r *Runner) startTLS(ctx context.Context, conn net.Conn, h smtpHop, cfg *tls.Config) (tc *tls.Conn, offered bool, err error) {
	_ = conn.SetDeadline(time.Now().Add(r.opts.CommandTimeout))
	defer conn.SetDeadline(time.Time{})
	tp := textproto.NewConn(struct {
		io.Reader
		io.Writer
		io.Closer
	}{conn, conn, io.NopCloser(nil)})
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, false, replyError(err)
	}
	if err := tp.PrintfLine("EHLO %s", r.opts.Hostname); err != nil {
		return nil, false, err
	}
	_, msg, err := tp.ReadResponse(250)
	if err != nil {
		return nil, false, replyError(err)
	}
	for _, line := range strings.Split(msg, "\n")[1:] {
		if strings.EqualFold(strings.TrimSpace(line), "STARTTLS") {
			offered = true
		}
	}
	if !offered {
		return nil, false, nil
	}
	if err := tp.PrintfLine("STARTTLS"); err != nil {
		return nil, true, err
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		return nil, true, &tempError{"4.7.5", fmt.Errorf("STARTTLS refused by %s: %w", h.addr, err)}
	}
	tc = tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, true, &tempError{"4.7.5", fmt.Errorf("TLS handshake with %s: %w", h.addr, err)}
	}
	return tc, true, nil
}

// replyError turns a textproto reply error into the *smtp.SMTPError the
// rest of the client code classifies.
func replyError(err error) error {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return err
	}
	se := &smtp.SMTPError{Code: te.Code, Message: te.Msg}
	if st := ParseStatus(te.Msg); st != "" {
		fmt.Sscanf(st, "%d.%d.%d", &se.EnhancedCode[0], &se.EnhancedCode[1], &se.EnhancedCode[2])
		se.Message = strings.TrimSpace(strings.TrimPrefix(te.Msg, st))
	}
	return se
}

// greetedConn replays a greeting before the connection's own bytes.
type greetedConn struct {
	net.Conn
	pending []byte
}

func (g *greetedConn) Read(p []byte) (int, error) {
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}

func (r *Runner) tlsConfig(h smtpHop) *tls.Config {
	var cfg *tls.Config
	if r.opts.TLSConfig != nil {
		cfg = r.opts.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	cfg.ServerName = h.host
	if !h.verify {
		// Opportunistic TLS to an MX (RFC 7435): encryption against passive
		// listeners; certificates of MX hosts are rarely verifiable.
		cfg.InsecureSkipVerify = true
	}
	return cfg
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// backoff is the wait before attempt n+1 (n ≥ 1): base doubling per
// attempt, capped at max.
func backoff(n int, base, max time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// statusClass is the first digit of an enhanced status code.
func statusClass(s string) int {
	if s == "" {
		return 0
	}
	n, _ := strconv.Atoi(s[:1])
	return n
}
