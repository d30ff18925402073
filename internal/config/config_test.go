package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile puts a config file in a temporary directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pochta.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestLoadWithoutFileResolvesDerivedValues(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("./pochta-data", "pochta.db"); cfg.Storage.DSN != want {
		t.Errorf("Storage.DSN = %q, want %q", cfg.Storage.DSN, want)
	}
	l := cfg.Directory.LDAP
	if l.LoginAttribute != "" || l.Attributes.UniqueID != "entryUUID" || l.UserFilter == "" || !strings.Contains(l.GroupFilter, "posixGroup") {
		t.Errorf("openldap preset not applied: %+v", l)
	}
	if cfg.SMTP.Listen != ":2525" || cfg.SMTP.MaxMessageBytes != 50<<20 || cfg.SMTP.Queue.Lifetime != 120*time.Hour {
		t.Errorf("defaults not kept: %+v", cfg.SMTP)
	}
}

func TestExampleLoadsBackToDefaults(t *testing.T) {
	example := Example()
	cfg, err := Load(writeFile(t, example), nil)
	if err != nil {
		t.Fatalf("Load(Example()) = %v", err)
	}
	want, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("example loads to\n%+v\nwant\n%+v", cfg, want)
	}
	// Every key is documented in the example, with its variable.
	for _, l := range Default().leaves() {
		if !strings.Contains(example, "\n"+l.path[len(l.path)-1]+" = ") && !strings.Contains(example, "\n#"+l.path[len(l.path)-1]+" = ") {
			t.Errorf("example lacks key %s", l.key())
		}
		if !strings.Contains(example, "# Environment: "+l.envName()+"\n") {
			t.Errorf("example lacks variable %s", l.envName())
		}
	}
}

func TestExampleRoundTripsNonDefaultValues(t *testing.T) {
	c := Default()
	c.Server.DataDir = `C:\mail "data"` + "\tdir\u00e9"
	c.Log.Trace = true
	c.Storage.Driver = "postgres"
	c.Storage.DSN = "host=db user=pochta password='x\\y' sslmode=verify-full"
	c.SMTP.MaxMessageBytes = 12345
	c.SMTP.Queue.DelayDSNAfter = 90 * time.Minute
	c.POP3.LoginDelay = 1500 * time.Millisecond
	c.Directory.Kind = "ldap+local"
	c.Directory.LDAP.URLs = []string{"ldap://a.example.com", "ldaps://b.example.com:636"}
	c.Directory.LDAP.BaseDN = "dc=example,dc=com"
	c.Directory.LDAP.Attributes.Aliases = "mailAlias"
	c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "::1"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := Default()
	if err := got.decodeTOML(exampleFor(c), "example"); err != nil {
		t.Fatalf("decode: %v\n%s", err, exampleFor(c))
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip gave\n%+v\nwant\n%+v", got, c)
	}
}

func TestLoadFileOverridesDefaults(t *testing.T) {
	path := writeFile(t, `
[server]
data_dir = "/var/lib/pochta"

[smtp]
listen = "0.0.0.0:25"
max_message_bytes = 1048576

[smtp.queue]
smarthost = "relay.example.com:587"
smarthost_username = "pochta"

[directory]
kind = "ldap"

[directory.ldap]
urls = ["ldap://127.0.0.1:3389"]
base_dn = "ou=people,dc=example,dc=com"
preset = "activedirectory"
login_attribute = "userPrincipalName"
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SMTP.Listen != "0.0.0.0:25" || cfg.SMTP.MaxMessageBytes != 1<<20 {
		t.Errorf("smtp = %+v", cfg.SMTP)
	}
	if cfg.SMTP.SubmissionListen != ":2587" {
		t.Errorf("unset key lost its default: %q", cfg.SMTP.SubmissionListen)
	}
	if cfg.Storage.DSN != "/var/lib/pochta/pochta.db" {
		t.Errorf("dsn = %q", cfg.Storage.DSN)
	}
	l := cfg.Directory.LDAP
	if l.LoginAttribute != "userPrincipalName" {
		t.Errorf("explicit login_attribute replaced by preset: %q", l.LoginAttribute)
	}
	if l.Attributes.UniqueID != "objectGUID" || l.Attributes.Aliases != "proxyAddresses" || l.GroupFilter != "(objectClass=group)" {
		t.Errorf("activedirectory preset not applied: %+v", l)
	}
	if l.GroupBaseDN != l.BaseDN {
		t.Errorf("group_base_dn = %q, want base_dn", l.GroupBaseDN)
	}
}

func TestLoadRefusesWithKeyNamed(t *testing.T) {
	tests := []struct {
		name, toml string
		want       []string // substrings of the error
	}{
		{"unknown key", "[smtp]\nlissten = \":25\"\n", []string{"unknown key smtp.lissten"}},
		{"unknown section", "[smtpp]\nlisten = \":25\"\n", []string{"unknown key smtpp"}},
		{"unknown nested key", "[directory.ldap.attributes]\nemail = \"mail\"\n", []string{"unknown key directory.ldap.attributes.email"}},
		{"unknown top-level key", "verbose = true\n", []string{"unknown key verbose"}},
		{"negative size", "[smtp]\nmax_message_bytes = -1\n", []string{"config: smtp.max_message_bytes: must be positive"}},
		{"zero recipients", "[smtp]\nmax_recipients = 0\n", []string{"config: smtp.max_recipients: must be positive"}},
		{"negative conns", "[imap]\nmax_conns_per_ip = -3\n", []string{"config: imap.max_conns_per_ip: must not be negative"}},
		{"bad duration", "[imap]\nidle_timeout = \"soon\"\n", []string{"imap.idle_timeout", "soon"}},
		{"integer duration", "[imap]\nidle_timeout = 30\n", []string{"imap.idle_timeout: must be a duration string"}},
		{"negative duration", "[server]\nshutdown_grace = \"-5s\"\n", []string{"config: server.shutdown_grace: must not be negative"}},
		{"wrong type", "[smtp]\nmax_recipients = \"ten\"\n", []string{"max_recipients"}},
		{"listen without port", "[smtp]\nlisten = \"2525\"\n", []string{"config: smtp.listen:", "2525"}},
		{"listen port too big", "[pop3]\nlisten = \":99999\"\n", []string{"config: pop3.listen:", "99999"}},
		{"listen bad host", "[http]\nlisten = \"bad_host!:80\"\n", []string{"config: http.listen:"}},
		{"duplicate listen", "[imap]\nlisten = \":2525\"\n", []string{"config: imap.listen:", "already used by smtp.listen"}},
		{"duplicate listen spelled differently", "[smtp]\nlisten = \"127.0.0.1:9000\"\n[http]\nmetrics_listen = \"[::ffff:127.0.0.1]:9000\"\n", []string{"http.metrics_listen", "already used by smtp.listen"}},
		{"unknown enum", "[log]\nlevel = \"verbose\"\n", []string{"config: log.level:", "\"verbose\" is not one of debug, info, warn, error"}},
		{"enum is case sensitive", "[storage]\ndriver = \"SQLite\"\n", []string{"config: storage.driver:"}},
		{"bad expire", "[pop3]\nexpire = \"-1\"\n", []string{"config: pop3.expire:"}},
		{"external url without scheme", "[http]\nexternal_url = \"mail.example.com\"\n", []string{"config: http.external_url:"}},
		{"smarthost without port", "[smtp.queue]\nsmarthost = \"relay.example.com\"\n", []string{"config: smtp.queue.smarthost:"}},
		{"smarthost password in clear", "[smtp.queue]\nsmarthost = \"relay.example.com:25\"\nsmarthost_username = \"u\"\nsmarthost_tls = \"none\"\n", []string{"config: smtp.queue.smarthost_tls:"}},
		{"cert without key", "[tls]\ncert_file = \"/etc/cert.pem\"\n", []string{"config: tls: cert_file and key_file"}},
		{"postgres without dsn", "[storage]\ndriver = \"postgres\"\n", []string{"config: storage.dsn: must be set"}},
		{"ldap without urls", "[directory]\nkind = \"ldap\"\n[directory.ldap]\nbase_dn = \"dc=x\"\n", []string{"config: directory.ldap.urls:"}},
		{"ldap url scheme", "[directory]\nkind = \"ldap\"\n[directory.ldap]\nbase_dn = \"dc=x\"\nurls = [\"http://x\"]\n", []string{"config: directory.ldap.urls:", "http://x"}},
		{"empty data dir", "[server]\ndata_dir = \"\"\n", []string{"config: server.data_dir: must not be empty"}},
		{"syntax error", "[smtp\nlisten = 1\n", []string{"pochta.toml:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.toml), nil)
			if err == nil {
				t.Fatalf("Load accepted %q", tt.toml)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(writeFile(t, "[smtp]\nmax_recipients = 0\nmax_message_bytes = -1\n[log]\nformat = \"xml\"\n"), nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"smtp.max_recipients", "smtp.max_message_bytes", "log.format"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	path := writeFile(t, "[smtp]\nlisten = \":25\"\n[smtp.queue]\nworkers = 2\n")
	env := []string{
		"PATH=/usr/bin",
		"POCHTA_CONFIG=/elsewhere.toml",
		"POCHTA_SMTP_LISTEN=127.0.0.1:2500",
		"POCHTA_SMTP_QUEUE_WORKERS=8",
		"POCHTA_IMAP_IDLE_TIMEOUT=45m",
		"POCHTA_LOG_TRACE=true",
		"POCHTA_POP3_LISTEN=",
		"POCHTA_DIRECTORY_KIND=ldap",
		"POCHTA_DIRECTORY_LDAP_URLS=ldap://127.0.0.1:3389, ldap://127.0.0.1:3390",
		"POCHTA_DIRECTORY_LDAP_BASE_DN=dc=example,dc=com",
		"POCHTA_DIRECTORY_LDAP_ATTRIBUTES_MAIL=email",
		"POCHTA_DIRECTORY_LDAP_BIND_DN=cn=svc",
		"POCHTA_DIRECTORY_LDAP_BIND_PASSWORD=a=b=c",
	}
	cfg, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Directory.LDAP
	checks := []struct {
		name      string
		got, want any
	}{
		{"smtp.listen", cfg.SMTP.Listen, "127.0.0.1:2500"},
		{"smtp.queue.workers", cfg.SMTP.Queue.Workers, 8},
		{"imap.idle_timeout", cfg.IMAP.IdleTimeout, 45 * time.Minute},
		{"log.trace", cfg.Log.Trace, true},
		{"pop3.listen", cfg.POP3.Listen, ""},
		{"directory.ldap.urls", l.URLs, []string{"ldap://127.0.0.1:3389", "ldap://127.0.0.1:3390"}},
		{"directory.ldap.base_dn", l.BaseDN, "dc=example,dc=com"},
		{"directory.ldap.attributes.mail", l.Attributes.Mail, "email"},
		{"directory.ldap.bind_password", l.BindPassword, "a=b=c"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEnvironmentRefusesWithNameNamed(t *testing.T) {
	tests := []struct {
		env  string
		want []string
	}{
		{"POCHTA_SMTP_LISTN=:25", []string{"unknown environment variable POCHTA_SMTP_LISTN"}},
		{"POCHTA_SMTP=x", []string{"unknown environment variable POCHTA_SMTP"}},
		{"POCHTA_SMTP_MAX_RECIPIENTS=abc", []string{"POCHTA_SMTP_MAX_RECIPIENTS (smtp.max_recipients)", "not an integer"}},
		{"POCHTA_SMTP_MAX_MESSAGE_BYTES=-5", []string{"config: smtp.max_message_bytes: must be positive"}},
		{"POCHTA_LOG_TRACE=maybe", []string{"POCHTA_LOG_TRACE (log.trace)", "not a boolean"}},
		{"POCHTA_SMTP_DATA_TIMEOUT=10", []string{"POCHTA_SMTP_DATA_TIMEOUT (smtp.data_timeout)", "not a duration"}},
		{"POCHTA_LOG_LEVEL=loud", []string{"config: log.level:"}},
		{"POCHTA_IMAP_APPEND_LIMIT=99999999999999999999", []string{"POCHTA_IMAP_APPEND_LIMIT"}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, err := Load("", []string{tt.env})
			if err == nil {
				t.Fatalf("Load accepted %s", tt.env)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// Every leaf must have its own variable, a doc tag, and a type that both
// the environment and Example can handle.
func TestEveryKeyIsDocumentedAndSettable(t *testing.T) {
	seen := map[string]string{}
	c := Default()
	for _, l := range c.leaves() {
		if other, dup := seen[l.envName()]; dup {
			t.Errorf("%s and %s share variable %s", l.key(), other, l.envName())
		}
		seen[l.envName()] = l.key()
		if doc := l.field.Tag.Get("doc"); len(doc) < 10 || !strings.HasSuffix(doc, ".") {
			t.Errorf("%s: doc tag missing or not a sentence: %q", l.key(), doc)
		}
		sample := "1"
		if l.value.Type() == durationType {
			sample = "1s"
		} else if l.value.Kind() == reflect.Bool {
			sample = "true"
		}
		if err := setFromString(l, sample); err != nil {
			t.Errorf("%s: %v", l.key(), err)
		}
	}
	if len(seen) < 60 {
		t.Errorf("only %d keys found; the walk is missing sections", len(seen))
	}
}

func TestRedactedHidesSecretsOnly(t *testing.T) {
	c := Default()
	c.Directory.LDAP.BindPassword = "hunter2"
	c.SMTP.Queue.SmarthostPassword = "swordfish"
	c.Directory.LDAP.URLs = []string{"ldap://x"}
	r := c.Redacted()
	if r.Directory.LDAP.BindPassword == "hunter2" || r.SMTP.Queue.SmarthostPassword == "swordfish" {
		t.Errorf("secrets kept: %+v", r)
	}
	if c.Directory.LDAP.BindPassword != "hunter2" {
		t.Errorf("Redacted modified the original")
	}
	if r.SMTP.Listen != c.SMTP.Listen || !strings.Contains(exampleFor(r), "********") || strings.Contains(exampleFor(r), "hunter2") {
		t.Errorf("redacted copy wrong")
	}
}

func TestCheckListen(t *testing.T) {
	tests := []struct {
		in, norm string
		ok       bool
	}{
		{":25", ":25", true},
		{"0.0.0.0:25", "0.0.0.0:25", true},
		{"[::1]:143", "[::1]:143", true},
		{"[::ffff:10.0.0.1]:143", "10.0.0.1:143", true},
		{"localhost:8080", "localhost:8080", true},
		{":0", ":0", true},
		{":025", ":25", true},
		{"25", "", false},
		{":http", "", false},
		{":65536", "", false},
		{"::1:25", "", false},
		{"-bad-:25", "", false},
	}
	for _, tt := range tests {
		norm, err := checkListen(tt.in)
		if (err == nil) != tt.ok || norm != tt.norm {
			t.Errorf("checkListen(%q) = %q, %v; want %q ok=%v", tt.in, norm, err, tt.norm, tt.ok)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		30 * time.Minute:        "30m",
		120 * time.Hour:         "120h",
		90 * time.Minute:        "1h30m",
		time.Hour + time.Second: "1h0m1s",
		10 * time.Second:        "10s",
		0:                       "0s",
		1500 * time.Millisecond: "1.5s",
	}
	for d, want := range tests {
		got := formatDuration(d)
		if got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("%q parses back to %v, %v", got, back, err)
		}
	}
}

func TestPOP3ExpireDays(t *testing.T) {
	if d, never := (POP3{Expire: "never"}).ExpireDays(); !never || d != 0 {
		t.Errorf("never: %d %v", d, never)
	}
	if d, never := (POP3{Expire: "30"}).ExpireDays(); never || d != 30 {
		t.Errorf("30: %d %v", d, never)
	}
}

func TestTrustedProxiesChecked(t *testing.T) {
	c := Default()
	c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7", "::1", "not-a-range", "10.0.0.0/99"}
	err := c.Validate()
	if err == nil {
		t.Fatal("bad trusted_proxies accepted")
	}
	for _, want := range []string{`http.trusted_proxies: "not-a-range" is not an address or CIDR range`, `"10.0.0.0/99"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "192.0.2.7") || strings.Contains(err.Error(), "10.0.0.0/8") {
		t.Errorf("good entries refused: %v", err)
	}
	p, err := ParsePrefix("::ffff:192.0.2.7")
	if err != nil || p.String() != "192.0.2.7/32" {
		t.Errorf("ParsePrefix(v4-mapped) = %v, %v", p, err)
	}
}
