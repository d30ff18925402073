package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Validate checks every value and the rules between values, and returns all
// problems at once, each naming its key, e.g.
// "config: smtp.max_message_bytes: must be positive".
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
	}

	listeners := map[string]string{} // normalized address -> key
	for _, l := range c.leaves() {
		key := l.key()
		if enum := l.field.Tag.Get("enum"); enum != "" {
			allowed := strings.Split(enum, "|")
			if v := l.value.String(); !slices.Contains(allowed, v) {
				bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
			}
		}
		switch check := l.field.Tag.Get("check"); check {
		case "":
		case "required":
			if l.value.String() == "" {
				bad(key, "must not be empty")
			}
		case "positive":
			if l.value.Int() <= 0 {
				bad(key, "must be positive")
			}
		case "nonneg":
			if l.value.Int() < 0 {
				bad(key, "must not be negative")
			}
		case "listen":
			addr := l.value.String()
			if addr == "" {
				continue
			}
			norm, err := checkListen(addr)
			if err != nil {
				bad(key, "%v", err)
				continue
			}
			if other, dup := listeners[norm]; dup && !strings.HasSuffix(norm, ":0") {
				bad(key, "%q is already used by %s", addr, other)
				continue
			}
			listeners[norm] = key
		case "hostport":
			if addr := l.value.String(); addr != "" {
				if err := checkHostPort(addr); err != nil {
					bad(key, "%v", err)
				}
			}
		case "url":
			if s := l.value.String(); s != "" {
				if err := checkHTTPURL(s); err != nil {
					bad(key, "%v", err)
				}
			}
		case "ldapurls":
			for _, s := range l.value.Interface().([]string) {
				if err := checkLDAPURL(s); err != nil {
					bad(key, "%v", err)
				}
			}
		case "cidrs":
			for _, s := range l.value.Interface().([]string) {
				if _, err := ParsePrefix(s); err != nil {
					bad(key, "%v", err)
				}
			}
		case "expire":
			if s := l.value.String(); s != "never" {
				if n, err := strconv.Atoi(s); err != nil || n < 0 {
					bad(key, "%q is neither \"never\" nor a number of days", s)
				}
			}
		default:
			// A typo in a struct tag is a programming error; say so loudly.
			bad(key, "unknown check %q in struct tag", check)
		}
	}

	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "cert_file and key_file must be set together")
	}
	if c.Storage.Driver == "postgres" && c.Storage.DSN == "" {
		bad("storage.dsn", "must be set when driver is postgres")
	}
	if c.Directory.Kind == "ldap" || c.Directory.Kind == "ldap+local" {
		if len(c.Directory.LDAP.URLs) == 0 {
			bad("directory.ldap.urls", "must list at least one server when directory.kind is %s", c.Directory.Kind)
		}
		if c.Directory.LDAP.BaseDN == "" {
			bad("directory.ldap.base_dn", "must be set when directory.kind is %s", c.Directory.Kind)
		}
	}
	if c.Directory.LDAP.BindPassword != "" && c.Directory.LDAP.BindDN == "" {
		bad("directory.ldap.bind_password", "is set but bind_dn is empty")
	}
	q := c.SMTP.Queue
	if q.SmarthostUsername != "" && q.Smarthost == "" {
		bad("smtp.queue.smarthost_username", "is set but smarthost is empty")
	}
	if q.SmarthostPassword != "" && q.SmarthostUsername == "" {
		bad("smtp.queue.smarthost_password", "is set but smarthost_username is empty")
	}
	if q.SmarthostUsername != "" && q.SmarthostTLS == "none" {
		bad("smtp.queue.smarthost_tls", "must not be none when a smarthost password is sent")
	}
	return errors.Join(errs...)
}

// checkListen accepts "host:port", ":port" and "[v6]:port" with a numeric
// port, and returns a form in which equal addresses compare equal.
func checkListen(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not host:port or :port", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if host != "" {
		if ip, err := netip.ParseAddr(host); err == nil {
			host = ip.Unmap().String()
		} else if !validHostname(host) {
			return "", fmt.Errorf("%q: %q is neither an IP address nor a host name", addr, host)
		}
	}
	return net.JoinHostPort(host, strconv.FormatUint(p, 10)), nil
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("%q: port %q is not a number from 1 to 65535", addr, port)
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
		return fmt.Errorf("%q: %q is neither an IP address nor a host name", addr, host)
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: a base URL has no user, query or fragment", s)
	}
	return nil
}

func checkLDAPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return fmt.Errorf("%q is not an ldap:// or ldaps:// URL with a host", s)
	}
	return nil
}

// validHostname is a loose RFC 1123 check: dot-separated labels of letters,
// digits and hyphens, not starting or ending with a hyphen.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// ExpireDays interprets pop3.expire: never reports true for "never";
// otherwise days is the number of days. Call it on a validated Config.
func (p POP3) ExpireDays() (days int, never bool) {
	if p.Expire == "never" {
		return 0, true
	}
	n, _ := strconv.Atoi(p.Expire)
	return n, false
}

// ParsePrefix reads an address ("192.0.2.1", "::1") or a CIDR range
// ("10.0.0.0/8") as a prefix; a bare address is a range of one.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR range", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR range", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
