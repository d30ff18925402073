package directory

import (
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// fuzzLDAP is an LDAP directory that never connects (filters only).
func fuzzLDAP(t testing.TB, preset string) *LDAP {
	t.Helper()
	d, err := NewLDAP(LDAPOptions{Preset: preset, URLs: []string{"ldap://127.0.0.1:1"}, BaseDN: "dc=example,dc=com", Local: &Local{}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// equality returns attribute and value of an equality-match filter packet.
func equality(t *testing.T, p *ber.Packet) (string, string) {
	t.Helper()
	if p.ClassType != ber.ClassContext || p.Tag != ldap.FilterEqualityMatch || len(p.Children) != 2 {
		t.Fatalf("not an equality match: %s", ldap.FilterMap[uint64(p.Tag)])
	}
	return p.Children[0].Value.(string), p.Children[1].Value.(string)
}

// FuzzLDAPLoginFilter: whatever a client sends as its login name, the
// search filter keeps its shape (user filter AND one equality per login
// attribute) and each assertion value is exactly the login: no injection.
func FuzzLDAPLoginFilter(f *testing.F) {
	for _, s := range []string{"alice", "alice@example.com", "*", ")(uid=*", "alice)(|(uid=*", `\2a`, "a\x00b", "(&)", "é", "\xff\xfe", "uid=a,dc=x", ""} {
		f.Add(s)
	}
	ol, ad := fuzzLDAP(f, "openldap"), fuzzLDAP(f, "activedirectory")
	f.Fuzz(func(t *testing.T, login string) {
		for _, d := range []*LDAP{ol, ad} {
			p, err := ldap.CompileFilter(d.loginFilter(login))
			if err != nil {
				t.Fatalf("login %q: filter does not compile: %v", login, err)
			}
			if p.Tag != ldap.FilterAnd || len(p.Children) != 2 {
				t.Fatalf("login %q: filter shape changed: %s", login, d.loginFilter(login))
			}
			or := p.Children[1]
			if or.Tag != ldap.FilterOr || len(or.Children) != len(d.loginAttrs) {
				t.Fatalf("login %q: login part changed: %s", login, d.loginFilter(login))
			}
			for i, c := range or.Children {
				attr, val := equality(t, c)
				if attr != d.loginAttrs[i] || val != login {
					t.Fatalf("login %q: assertion %s=%q", login, attr, val)
				}
			}
			// The address lookup and the GAL prefix keep their shape too.
			ap, err := ldap.CompileFilter(d.addressFilter(login))
			if err != nil || ap.Tag != ldap.FilterOr || len(ap.Children) != 2 {
				t.Fatalf("address %q: %v %s", login, err, d.addressFilter(login))
			}
			if _, v := equality(t, ap.Children[0]); v != login {
				t.Fatalf("address %q: mail assertion %q", login, v)
			}
			if _, v := equality(t, ap.Children[1]); v != d.opts.AliasPrefix+login {
				t.Fatalf("address %q: alias assertion %q", login, v)
			}
			if login != "" {
				gp, err := ldap.CompileFilter(d.galMatch(login, true))
				if err != nil || gp.Tag != ldap.FilterOr {
					t.Fatalf("gal %q: %v %s", login, err, d.galMatch(login, true))
				}
				for _, c := range gp.Children {
					if c.Tag != ldap.FilterSubstrings || len(c.Children) != 2 || len(c.Children[1].Children) != 1 ||
						c.Children[1].Children[0].Tag != ldap.FilterSubstringsInitial {
						t.Fatalf("gal %q: not a single prefix: %s", login, d.galMatch(login, true))
					}
					if v := c.Children[1].Children[0].Value.(string); !strings.HasSuffix(v, login) {
						t.Fatalf("gal %q: prefix %q", login, v)
					}
				}
			}
		}
	})
}

// FuzzLDAPExternalID: any unique-id value read from the directory is kept
// as a string that finds exactly that value again.
func FuzzLDAPExternalID(f *testing.F) {
	for _, s := range []string{"61d9344a-7e09-1041-95a5-99667c32a729", "\x00*()\\\xff\x10 ABCDEFGH", "hex:zz", "a"} {
		f.Add([]byte(s))
	}
	d := fuzzLDAP(f, "activedirectory")
	f.Fuzz(func(t *testing.T, raw []byte) {
		id := externalID(raw)
		if len(raw) == 0 {
			if id != "" {
				t.Fatalf("empty value gave id %q", id)
			}
			return
		}
		filter, ok := d.externalIDFilter(id)
		if !ok {
			t.Fatalf("id %q from %x is not searchable", id, raw)
		}
		p, err := ldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("id %q: %v", id, err)
		}
		attr, val := equality(t, p)
		if attr != "objectGUID" || val != string(raw) {
			t.Fatalf("id %q searches %s=%x, want %x", id, attr, val, raw)
		}
	})
}

// FuzzLDAPAliases: alias values from the directory give only valid,
// normalized addresses, and with a prefix only prefixed values count.
func FuzzLDAPAliases(f *testing.F) {
	f.Add("SMTP:a@example.com\nsmtp:b@example.com\nX400:c=US;\nsip:a@example.com", "smtp:")
	f.Add("A@Example.com\nnot an address\n@x\na@b@c", "")
	f.Add("smtp:\nsmtp:@\nSMTP", "smtp:")
	f.Fuzz(func(t *testing.T, joined, prefix string) {
		values := strings.Split(joined, "\n")
		prefix = strings.ToLower(prefix)
		out := parseAliases(values, prefix)
		seen := map[string]bool{}
		for _, a := range out {
			if !ValidAddress(a) || a != NormalizeAddress(a) || seen[a] {
				t.Fatalf("alias %q from %q", a, values)
			}
			seen[a] = true
			found := false
			for _, v := range values {
				if len(v) >= len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) && NormalizeAddress(v[len(prefix):]) == a {
					found = true
				}
			}
			if !found {
				t.Fatalf("alias %q comes from no value with prefix %q in %q", a, prefix, values)
			}
		}
	})
}
