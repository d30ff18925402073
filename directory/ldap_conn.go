package directory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// ldapPool keeps up to size open connections. A connection is used by one
// caller at a time, so a search, its paging and a bind never interleave.
type ldapPool struct {
	d       *LDAP
	service bool // connections are bound as the service account
	slots   chan struct{}
	mu      sync.Mutex
	idle    []*ldap.Conn
	closed  bool
}

func newLDAPPool(d *LDAP, size int, service bool) *ldapPool {
	return &ldapPool{d: d, service: service, slots: make(chan struct{}, size)}
}

func (p *ldapPool) get(ctx context.Context) (*ldap.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if !c.IsClosing() {
			p.mu.Unlock()
			return c, nil
		}
		_ = c.Close()
	}
	closed := p.closed
	p.mu.Unlock()
	if closed {
		<-p.slots
		return nil, errors.New("ldap: directory closed")
	}
	c, err := p.d.dial(ctx, p.service)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return c, nil
}

// put returns a connection; a broken one is closed, and then the idle ones
// too, since a server that dropped one connection (a restart) has usually
// dropped them all.
func (p *ldapPool) put(c *ldap.Conn, broken bool) {
	p.mu.Lock()
	if broken || p.closed || c.IsClosing() {
		_ = c.Close()
		if broken {
			for _, ic := range p.idle {
				_ = ic.Close()
			}
			p.idle = p.idle[:0]
		}
	} else {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	<-p.slots
}

func (p *ldapPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.idle {
		_ = c.Close()
	}
	p.idle = nil
}

// dial connects to the first URL that answers and, for service
// connections, binds as the service account.
func (d *LDAP) dial(ctx context.Context, service bool) (*ldap.Conn, error) {
	var errs []error
	for _, u := range d.opts.URLs {
		c, err := d.dialURL(ctx, u, service)
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (d *LDAP) dialURL(ctx context.Context, rawURL string, service bool) (*ldap.Conn, error) {
	pu, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	tc := d.opts.TLSConfig.Clone()
	if tc.ServerName == "" {
		tc.ServerName = pu.Hostname()
	}
	dialer := &net.Dialer{Timeout: d.opts.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	c, err := ldap.DialURL(rawURL, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(d.requestTimeout(ctx))
	if d.opts.StartTLS && pu.Scheme == "ldap" {
		// RFC 4513 3: StartTLS before any bind, so no password crosses in clear.
		if err := c.StartTLS(tc); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	if service && d.opts.BindDN != "" {
		if err := c.Bind(d.opts.BindDN, d.opts.BindPassword); err != nil {
			_ = c.Close()
			if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				d.log.Error("ldap: the service account's bind is refused; check bind_dn and bind_password", "bind_dn", d.opts.BindDN)
			}
			return nil, fmt.Errorf("service bind: %w", err)
		}
	}
	return c, nil
}

// requestTimeout is the configured timeout, shortened to the context's
// deadline.
func (d *LDAP) requestTimeout(ctx context.Context) time.Duration {
	t := d.opts.Timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < t {
			t = max(left, time.Millisecond)
		}
	}
	return t
}

// connBroken tells whether err means the connection is unusable (rather
// than an answer from a working server).
func connBroken(err error) bool {
	if err == nil {
		return false
	}
	return ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultConnectError,
		ldap.LDAPResultTimeout, ldap.ErrorUnexpectedResponse, ldap.ErrorUnexpectedMessage, ldap.ErrorMalformedPacket, ldap.LDAPResultDecodingError, ldap.LDAPResultUnavailable,
		ldap.LDAPResultBusy) || errors.Is(err, net.ErrClosed)
}

// withConn runs fn on a pooled connection. A connection that breaks is
// dropped and fn retried once on a fresh one, so a restarted server is
// reached again without anyone noticing. The connection is closed if ctx
// ends first, which aborts the request under way.
func (d *LDAP) withConn(ctx context.Context, pool *ldapPool, fn func(c *ldap.Conn) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return d.unavailable(err)
		}
		c, err := pool.get(ctx)
		if err != nil {
			return d.unavailable(err)
		}
		c.SetTimeout(d.requestTimeout(ctx))
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		err = fn(c)
		interrupted := !stop()
		broken := interrupted || connBroken(err) || c.IsClosing()
		pool.put(c, broken)
		if err == nil {
			d.markUp()
			return nil
		}
		if !broken {
			// The server answered: a result code for the caller to judge.
			d.markUp()
			return err
		}
		if attempt == 0 && ctx.Err() == nil {
			continue
		}
		return d.unavailable(err)
	}
}

// unavailable wraps err as ErrUnavailable and logs the first failure of an
// outage once (and markUp the recovery), not every call.
func (d *LDAP) unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	if !errors.Is(err, context.Canceled) && d.down.CompareAndSwap(false, true) {
		d.log.Warn("ldap: directory unreachable; answering with temporary errors until it is back", "err", err)
	}
	return fmt.Errorf("%w: ldap: %w", ErrUnavailable, err)
}

func (d *LDAP) markUp() {
	if d.down.CompareAndSwap(true, false) {
		d.log.Info("ldap: directory reachable again")
	}
}

// search runs one search on a service connection. A base-scope search of
// an entry that does not exist gives no entries and no error.
func (d *LDAP) search(ctx context.Context, base string, scope int, filter string, attrs []string, sizeLimit int) ([]*ldap.Entry, error) {
	var entries []*ldap.Entry
	err := d.withConn(ctx, d.svc, func(c *ldap.Conn) error {
		req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, sizeLimit, 0, false, filter, attrs, nil)
		res, err := c.Search(req)
		if res != nil {
			entries = res.Entries
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && sizeLimit > 0 {
			return nil
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) && scope == ldap.ScopeBaseObject {
			entries = nil
			return nil
		}
		return err
	})
	if err != nil {
		return nil, d.unavailable(fmt.Errorf("search %s: %w", filterForLog(filter), err))
	}
	return entries, nil
}

// searchPaged collects up to max entries with RFC 2696 simple paged
// results, page by page on one connection, so the server's per-request
// size limit does not cut a large address list short. truncated reports
// that max (or a server limit) was reached.
func (d *LDAP) searchPaged(ctx context.Context, base, filter string, attrs []string, max int) (entries []*ldap.Entry, truncated bool, err error) {
	err = d.withConn(ctx, d.svc, func(c *ldap.Conn) error {
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, max, 0, false, filter, attrs, nil)
		res, err := c.SearchWithPaging(req, uint32(d.opts.PageSize))
		entries, truncated = nil, false
		if res != nil {
			entries = res.Entries
		}
		if ldap.IsErrorAnyOf(err, ldap.LDAPResultSizeLimitExceeded, ldap.LDAPResultAdminLimitExceeded) {
			truncated = true
			return nil
		}
		return err
	})
	if err != nil {
		return nil, false, d.unavailable(fmt.Errorf("paged search %s: %w", filterForLog(filter), err))
	}
	return entries, truncated, nil
}

// filterForLog keeps the shape of a filter for error messages while
// dropping its values (they may be login names or passwords typed into
// the login field).
func filterForLog(filter string) string {
	out := make([]byte, 0, len(filter))
	inValue := false
	for i := 0; i < len(filter); i++ {
		switch c := filter[i]; {
		case c == '=':
			inValue = true
			out = append(append(out, c), "..."...)
		case c == '(' || c == ')' || c == '&' || c == '|' || c == '!':
			if c == ')' {
				inValue = false
			}
			out = append(out, c)
		case !inValue:
			out = append(out, c)
		}
	}
	return string(out)
}
