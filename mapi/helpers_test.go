package mapi

import (
	"encoding/base64"
	"testing"

	"github.com/pochta/pochta/directory"
)

func TestLoginName(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":          "alice@example.com",
		` alice@example.com `:        "alice@example.com",
		`example.com\alice`:          "alice@example.com",
		`EXAMPLE\alice`:              "alice", // NetBIOS domain: the bare name
		`EXAMPLE\alice@example.com`:  "alice@example.com",
		`\alice`:                     "alice",
		`example.com\`:               `example.com\`,
		"alice":                      "alice",
		`sub.example.com\first.last`: "first.last@sub.example.com",
		`a\b\c`:                      `b\c`,
		"bob@example.com\\tail":      "bob@example.com\\tail",
	} {
		if got := loginName(in); got != want {
			t.Errorf("loginName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBasic(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		header, user, password string
		ok                     bool
	}{
		{"Basic " + enc("alice@example.com:pa:ss"), "alice@example.com", "pa:ss", true},
		{"basic   " + enc("a:"), "a", "", true},
		{"Basic " + enc(":nouser"), "", "", false},
		{"Basic " + enc("nocolon"), "", "", false},
		{"Basic !!!", "", "", false},
		{"Bearer " + enc("a:b"), "", "", false},
		{"", "", "", false},
	} {
		u, p, ok := parseBasic(c.header)
		if u != c.user || p != c.password || ok != c.ok {
			t.Errorf("parseBasic(%q) = %q, %q, %v", c.header, u, p, ok)
		}
	}
}

func TestCanonicalPrefix(t *testing.T) {
	for _, c := range []struct{ path, canon, want string }{
		{"/MAPI/EMSMDB", EMSMDBPath, "/mapi/emsmdb/"},
		{"/mapi/emsmdb/", EMSMDBPath, "/mapi/emsmdb/"},
		{"/Mapi/Emsmdb/x", EMSMDBPath, "/mapi/emsmdb/x"},
		{"/mapi/emsmdbx", EMSMDBPath, ""},
		{"/Autodiscover/Autodiscover.xml", AutodiscoverPath, AutodiscoverPath},
		{"/autodiscover/autodiscover.xmlx", AutodiscoverPath, ""},
		{"/AutoDiscover/AutoDiscover.json/v1.0/A@B.c", AutodiscoverJSON, "/autodiscover/autodiscover.json/v1.0/A@B.c"},
		{"/api/v1/x", EMSMDBPath, ""},
	} {
		got, ok := canonicalPrefix(c.path, c.canon)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("canonicalPrefix(%q, %q) = %q, %v; want %q", c.path, c.canon, got, ok, c.want)
		}
	}
}

func TestLegacyDNForm(t *testing.T) {
	acc := &directory.Account{ID: 0x2a, Address: "First.Last+tag/x ä@example.com"}
	dn := LegacyDN(acc)
	want := "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=2a-first.last+tag_x__"
	if dn != want {
		t.Errorf("LegacyDN = %q, want %q", dn, want)
	}
	for _, c := range []struct {
		dn string
		id int64
		ok bool
	}{
		{dn, 0x2a, true},
		{"/O=OTHER ORG/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=2A-X", 0x2a, true},
		{"/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=0-x", 0, false},
		{"/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=zz-x", 0, false},
		{"/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=2a-x/cn=more", 0, false},
		{"/o=a/b/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=2a-x", 0, false},
		{"/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=8000000000000000-x", 0, false},
		{"alice@example.com", 0, false},
	} {
		id, ok := ParseLegacyDN(c.dn)
		if id != c.id || ok != c.ok {
			t.Errorf("ParseLegacyDN(%q) = %d, %v; want %d, %v", c.dn, id, ok, c.id, c.ok)
		}
	}
	if got := MailboxStoreLegacyDN("Mail.Example.com"); got != "/o=Pochta/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=mail.example.com/cn=Microsoft Private MDB" {
		t.Errorf("MailboxStoreLegacyDN = %q", got)
	}
}
