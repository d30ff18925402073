package directory_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/testutil/slapdtest"
	"github.com/pochta/pochta/internal/testutil/testenv"
)

const (
	serviceDN = "cn=pochta,ou=services,dc=example,dc=com"
	servicePW = "service-secret"
)

// openLDAPConfig is the database section of the OpenLDAP test server:
// ppolicy for locked accounts, indexes, passwords readable by nobody, and
// for the service account what Active Directory does by default: at most
// 500 entries per plain search, any number through paged results (RFC
// 2696), which an OpenLDAP administrator grants a mail server this way.
const openLDAPConfig = `overlay ppolicy
index uid,mail,mailAlternateAddress,cn,sn,givenName,displayName eq,sub
index member,memberUid eq
limits dn.exact="cn=pochta,ou=services,dc=example,dc=com" size.soft=500 size.hard=500 size.prtotal=unlimited
access to attrs=userPassword by anonymous auth by * none
access to * by * read
`

func testdataPath(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startOpenLDAP starts slapd seeded with testdata/openldap.ldif and extra.
func startOpenLDAP(t testing.TB, extra []byte, mod ...func(*slapdtest.Options)) *slapdtest.Server {
	t.Helper()
	seed, err := os.ReadFile(testdataPath(t, "openldap.ldif"))
	if err != nil {
		t.Fatal(err)
	}
	o := slapdtest.Options{
		LDIF:           append(append(seed, '\n'), extra...),
		Schemas:        []string{testdataPath(t, "mailrecipient.schema")},
		Modules:        []string{"ppolicy"},
		DatabaseConfig: openLDAPConfig,
	}
	for _, m := range mod {
		m(&o)
	}
	return slapdtest.Start(t, o)
}

// logBuffer collects everything logged, at every level.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type ldapEnv struct {
	*testenv.Env
	LDAP *directory.LDAP
	Srv  *slapdtest.Server
	Logs *logBuffer
}

// newOpenLDAP makes an LDAP directory (cache off unless mod sets it) over
// srv, linked to a fresh testenv.
func newOpenLDAP(t testing.TB, srv *slapdtest.Server, mod ...func(*directory.LDAPOptions)) *ldapEnv {
	t.Helper()
	env := testenv.New(t)
	logs := &logBuffer{}
	o := directory.LDAPOptions{
		Preset:       "openldap",
		URLs:         []string{srv.URL},
		BindDN:       serviceDN,
		BindPassword: servicePW,
		BaseDN:       "ou=people,dc=example,dc=com",
		GroupBaseDN:  "ou=groups,dc=example,dc=com",
		Timeout:      5 * time.Second,
		Local:        env.Dir,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&o)
	}
	d, err := directory.NewLDAP(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &ldapEnv{Env: env, LDAP: d, Srv: srv, Logs: logs}
}

// adminConn is a connection bound as the server's rootdn, for tests that
// change the directory under Pochta.
func adminConn(t testing.TB, srv *slapdtest.Server) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(srv.AdminDN, srv.AdminPassword); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustAuth(t testing.TB, d directory.Directory, login, password string) *directory.Account {
	t.Helper()
	a, err := d.Authenticate(context.Background(), login, password)
	if err != nil {
		t.Fatalf("Authenticate(%q): %v", login, err)
	}
	return a
}

func wantAuthFailed(t testing.TB, d directory.Directory, login, password string) {
	t.Helper()
	a, err := d.Authenticate(context.Background(), login, password)
	if !errors.Is(err, directory.ErrAuthFailed) {
		t.Errorf("Authenticate(%q) = %+v, %v; want ErrAuthFailed", login, a, err)
	}
}

func wantUnavailable(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("%s: err = %v; want ErrUnavailable", what, err)
	}
	if errors.Is(err, directory.ErrAuthFailed) || errors.Is(err, directory.ErrNotFound) {
		t.Errorf("%s: err = %v also reads as a refusal or not-found", what, err)
	}
}

func accountIDs(as []directory.Account) []int64 {
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	slices.Sort(ids)
	return ids
}

func addresses(as []directory.Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Address
	}
	slices.Sort(out)
	return out
}

// deadServer names a loopback port where nothing listens.
func deadServer(t testing.TB) *slapdtest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return &slapdtest.Server{URL: "ldap://" + addr, Addr: addr}
}
