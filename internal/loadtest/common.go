package loadtest

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// credential is one login.
type credential struct {
	User, Pass string
}

// parseCredential splits "user:pass" at the first colon (user names do not
// contain one; passwords may).
func parseCredential(s string) (credential, error) {
	user, pass, ok := strings.Cut(s, ":")
	if !ok || user == "" {
		return credential{}, fmt.Errorf("want user:pass, got %q", s)
	}
	return credential{User: user, Pass: pass}, nil
}

// parseCredentialList parses "u1:p1,u2:p2".
func parseCredentialList(s string) ([]credential, error) {
	var out []credential
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		c, err := parseCredential(item)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// patternCredentials expands a printf pattern such as "bench%d@example.com"
// for 1..n, all with the same password.
func patternCredentials(pattern, pass string, n int) ([]credential, error) {
	if strings.Count(pattern, "%d") != 1 || strings.Count(pattern, "%") != 1 {
		return nil, fmt.Errorf("user pattern %q must contain exactly one %%d", pattern)
	}
	out := make([]credential, n)
	for i := range out {
		out[i] = credential{User: fmt.Sprintf(pattern, i+1), Pass: pass}
	}
	return out, nil
}

// tlsConfigFor builds the client TLS config for addr. insecure skips
// certificate checks, which a loopback benchmark against a self-signed
// certificate needs.
func tlsConfigFor(addr string, insecure bool) *tls.Config {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return &tls.Config{ServerName: host, InsecureSkipVerify: insecure} //nolint:gosec // opt-in via -insecure
}

// dial opens a TCP connection (with implicit TLS when implicitTLS) bounded by
// ctx and timeout. The connection is closed when ctx ends, which unblocks any
// protocol client stuck reading from it.
func dial(ctx context.Context, addr string, implicitTLS, insecure bool, timeout time.Duration) (net.Conn, func(), error) {
	d := net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if implicitTLS {
		td := tls.Dialer{NetDialer: &d, Config: tlsConfigFor(addr, insecure)}
		conn, err = td.DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return conn, func() { stop() }, nil
}

// newFlagSet makes a flag set that prints its usage to w and returns errors
// instead of exiting, so that `pochta bench X -h` returns flag.ErrHelp.
func newFlagSet(name, summary string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "usage: pochta bench %s [flags]\n\n%s\n\nflags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and rejects positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err // flag.ErrHelp for -h; the message was already printed
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench %s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
