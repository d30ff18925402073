// Package config holds the whole Pochta server configuration: the structs
// below are the documentation (every field has a doc tag that Example turns
// into comments), Default gives the built-in values, and Load reads a TOML
// file and POCHTA_* environment overrides and refuses anything it does not
// understand.
//
// Only cmd/pochta imports this package; it maps the sections onto each
// package's Options struct.
package config

import (
	"os"

	"github.com/pochta/pochta/directory"
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

// Config is the whole server configuration, one field per TOML section.
type Config struct {
	Server    Server    `toml:"server" doc:"Identity of this server and where it keeps its state."`
	Log       Log       `toml:"log" doc:"Logging to standard error."`
	Storage   Storage   `toml:"storage" doc:"The mail store database."`
	TLS       TLS       `toml:"tls" doc:"The certificate every TLS listener and STARTTLS uses."`
	Throttle  Throttle  `toml:"throttle" doc:"Authentication failure throttle, shared by every protocol (SMTP AUTH, IMAP, POP3, MAPI, webmail, REST API)."`
	SMTP      SMTP      `toml:"smtp" doc:"SMTP: incoming mail (MX), submission from users, and the outbound queue."`
	IMAP      IMAP      `toml:"imap" doc:"IMAP4rev2/IMAP4rev1 access to mailboxes."`
	POP3      POP3      `toml:"pop3" doc:"POP3 access to the inbox."`
	HTTP      HTTP      `toml:"http" doc:"HTTP: webmail, REST API, MAPI over HTTP, Autodiscover, health and metrics."`
	Directory Directory `toml:"directory" doc:"Where users, aliases and groups come from."`
	MAPI      MAPI      `toml:"mapi" doc:"MAPI over HTTP sessions for Outlook-style clients."`
}

// Server is the [server] section.
type Server struct {
	Hostname      string        `toml:"hostname" doc:"Fully qualified name of this server, used in the SMTP greeting, Message-IDs, DSNs and the self-signed certificate. Defaults to the system host name." example:"commented"`
	DataDir       string        `toml:"data_dir" doc:"Directory for the sqlite database, message files and the self-signed certificate. Created on first start." check:"required"`
	ShutdownGrace time.Duration `toml:"shutdown_grace" doc:"How long open connections may finish their work after a shutdown signal before they are closed." check:"nonneg"`
}

// Log is the [log] section.
type Log struct {
	Level  string `toml:"level" doc:"Least severe level written to the log." enum:"debug|info|warn|error"`
	Format string `toml:"format" doc:"Log line format: human-readable key=value text, or one JSON object per line." enum:"text|json"`
	Trace  bool   `toml:"trace" doc:"Also log every protocol line sent and received (passwords and authentication exchanges redacted). Very verbose; for debugging only."`
}

// Storage is the [storage] section.
type Storage struct {
	Driver            string        `toml:"driver" doc:"Database engine: embedded sqlite for one machine, postgres for several nodes sharing one database." enum:"sqlite|postgres"`
	DSN               string        `toml:"dsn" doc:"Database location. For sqlite a file path (empty means pochta.db in data_dir); for postgres a connection string such as \"host=db user=pochta dbname=pochta sslmode=verify-full\"."`
	SQLiteSynchronous string        `toml:"sqlite_synchronous" doc:"sqlite durability: full survives power loss for every acknowledged message; normal is faster but may lose the last transactions on power loss." enum:"full|normal"`
	SQLiteFlagChanges string        `toml:"sqlite_flag_changes" doc:"When an IMAP client's flag change or expunge is acknowledged: durable waits for the disk like every other write; relaxed answers once it is committed and lets the next fsync (milliseconds later) make it durable, as Dovecot does by default. A power loss can then undo the last flag changes or expunges, never a message. Mail is always acknowledged only once it is on disk." enum:"relaxed|durable"`
	SQLiteBusyTimeout time.Duration `toml:"sqlite_busy_timeout" doc:"How long a sqlite statement waits for a lock held by another connection before failing with a temporary error." check:"nonneg"`
	MaxOpenConns      int           `toml:"max_open_conns" doc:"Upper bound on open database connections; 0 lets the storage layer choose (one writer for sqlite)." check:"nonneg"`
}

// TLS is the [tls] section.
type TLS struct {
	CertFile   string `toml:"cert_file" doc:"PEM certificate chain, leaf first. Empty (with key_file empty) means a self-signed certificate kept in data_dir/tls. The files are re-read when they change, so a renewed certificate needs no restart."`
	KeyFile    string `toml:"key_file" doc:"PEM private key for cert_file."`
	MinVersion string `toml:"min_version" doc:"Oldest TLS version accepted from clients." enum:"1.2|1.3"`
}

// Throttle is the [throttle] section.
type Throttle struct {
	IPFailuresPerMinute    int `toml:"ip_failures_per_minute" doc:"Failed logins from one client address (IPv6: its /64) within a minute before that address is refused for a while." check:"positive"`
	IPFailuresPerDay       int `toml:"ip_failures_per_day" doc:"Failed logins from one client address within 24 hours before it is refused until the oldest failure is a day old." check:"positive"`
	LoginFailuresPerMinute int `toml:"login_failures_per_minute" doc:"Failed logins for one account name, from any address, within a minute before addresses that have failed before are refused for that account. Addresses without failures and addresses the account logged in from successfully are not refused, so an attack does not lock the owner out." check:"positive"`
	LoginFailuresPerDay    int `toml:"login_failures_per_day" doc:"Like login_failures_per_minute, over 24 hours." check:"positive"`
}

// SMTP is the [smtp] section.
type SMTP struct {
	Listen                    string        `toml:"listen" doc:"Address for incoming mail from other servers (port 25 in production). Empty disables it." check:"listen"`
	SubmissionListen          string        `toml:"submission_listen" doc:"Address for mail submission by users with STARTTLS and AUTH (RFC 6409, port 587 in production). Empty disables it." check:"listen"`
	SubmissionsListen         string        `toml:"submissions_listen" doc:"Address for mail submission over implicit TLS (RFC 8314, port 465 in production). Empty disables it." check:"listen"`
	MaxMessageBytes           int64         `toml:"max_message_bytes" unit:"bytes" doc:"Largest message accepted, in bytes; advertised with the SIZE extension." check:"positive"`
	MaxRecipients             int           `toml:"max_recipients" doc:"Most RCPT TO commands accepted for one message." check:"positive"`
	ReadTimeout               time.Duration `toml:"read_timeout" doc:"How long the server waits for the next command before closing the connection (RFC 5321 4.5.3.2 asks for at least 5m)." check:"positive"`
	WriteTimeout              time.Duration `toml:"write_timeout" doc:"How long a reply may take to be written to a slow client." check:"positive"`
	DataTimeout               time.Duration `toml:"data_timeout" doc:"How long receiving the whole message after DATA may take." check:"positive"`
	MaxConnsPerIP             int           `toml:"max_conns_per_ip" doc:"Simultaneous connections accepted from one client address; 0 means no limit." check:"nonneg"`
	MaxConns                  int           `toml:"max_conns" doc:"Simultaneous connections accepted on this door from all addresses together; 0 means no limit." check:"nonneg"`
	AllowInsecureAuthLoopback bool          `toml:"allow_insecure_auth_loopback" doc:"Allow AUTH without TLS from 127.0.0.1 and ::1, for local scripts and tests. Other addresses always need TLS."`
	BounceContent             string        `toml:"bounce_content" doc:"What a non-delivery report carries of the original message: only its headers, or the full message." enum:"headers|full"`
	QuotaExceeded             string        `toml:"quota_exceeded" doc:"Reply when a recipient's mailbox is over quota: temporary (452 4.2.2, the sender retries) or permanent (552 5.2.2, the sender bounces)." enum:"temporary|permanent"`
	Queue                     Queue         `toml:"queue" doc:"Outbound delivery of mail to other servers."`
}

// Queue is the [smtp.queue] section.
type Queue struct {
	Workers           int           `toml:"workers" doc:"Deliveries attempted at the same time." check:"positive"`
	Lifetime          time.Duration `toml:"lifetime" doc:"How long a message is retried before it is bounced to its sender." check:"positive"`
	Smarthost         string        `toml:"smarthost" doc:"host:port of a relay that takes all outbound mail. Empty means delivering directly to each domain's MX." check:"hostport"`
	SmarthostUsername string        `toml:"smarthost_username" doc:"User name for AUTH PLAIN at the smarthost. Empty means no authentication."`
	SmarthostPassword string        `toml:"smarthost_password" secret:"true" doc:"Password for the smarthost. Prefer setting it through POCHTA_SMTP_QUEUE_SMARTHOST_PASSWORD."`
	SmarthostTLS      string        `toml:"smarthost_tls" doc:"How to reach the smarthost: STARTTLS on a plain connection (required), implicit TLS from the first byte, or none (only on a trusted network)." enum:"starttls|implicit|none"`
	DelayDSN          bool          `toml:"delay_dsn" doc:"Tell senders once when their message is still undelivered after delay_dsn_after (RFC 3464 \"delayed\" report)."`
	DelayDSNAfter     time.Duration `toml:"delay_dsn_after" doc:"Age of an undelivered message at which the delay report is sent." check:"positive"`
}

// IMAP is the [imap] section.
type IMAP struct {
	Listen                    string        `toml:"listen" doc:"Address for IMAP with STARTTLS (port 143 in production). Empty disables it." check:"listen"`
	TLSListen                 string        `toml:"tls_listen" doc:"Address for IMAP over implicit TLS (port 993 in production). Empty disables it." check:"listen"`
	IdleTimeout               time.Duration `toml:"idle_timeout" doc:"Inactivity after which a connection is closed; RFC 9051 asks for at least 30m. IDLE clients are not idle." check:"positive"`
	MaxConnsPerIP             int           `toml:"max_conns_per_ip" doc:"Simultaneous connections accepted from one client address; 0 means no limit." check:"nonneg"`
	MaxConns                  int           `toml:"max_conns" doc:"Simultaneous connections accepted on this door from all addresses together; 0 means no limit." check:"nonneg"`
	AppendLimit               int64         `toml:"append_limit" unit:"bytes" doc:"Largest message accepted by APPEND, in bytes (advertised as APPENDLIMIT)." check:"positive"`
	AllowInsecureAuthLoopback bool          `toml:"allow_insecure_auth_loopback" doc:"Allow LOGIN and AUTHENTICATE without TLS from 127.0.0.1 and ::1, for local scripts and tests."`
}

// POP3 is the [pop3] section.
type POP3 struct {
	Listen                    string        `toml:"listen" doc:"Address for POP3 with STLS (port 110 in production). Empty disables it." check:"listen"`
	TLSListen                 string        `toml:"tls_listen" doc:"Address for POP3 over implicit TLS (port 995 in production). Empty disables it." check:"listen"`
	IdleTimeout               time.Duration `toml:"idle_timeout" doc:"Inactivity after which a connection is closed; RFC 1939 asks for at least 10m." check:"positive"`
	MaxConnsPerIP             int           `toml:"max_conns_per_ip" doc:"Simultaneous connections accepted from one client address; 0 means no limit." check:"nonneg"`
	MaxConns                  int           `toml:"max_conns" doc:"Simultaneous connections accepted on this door from all addresses together; 0 means no limit." check:"nonneg"`
	DeletePolicy              string        `toml:"delete_policy" doc:"What DELE followed by QUIT does: delete the message, or move it to the Deleted Items folder where other clients can still find it." enum:"delete|move-to-trash"`
	LoginDelay                time.Duration `toml:"login_delay" doc:"Minimum time between two logins of one user, advertised as LOGIN-DELAY (RFC 2449); 0 means none." check:"nonneg"`
	Expire                    string        `toml:"expire" doc:"Value advertised as EXPIRE (RFC 2449): never, or the number of days retrieved messages are kept." check:"expire"`
	AllowInsecureAuthLoopback bool          `toml:"allow_insecure_auth_loopback" doc:"Allow USER/PASS and AUTH without TLS from 127.0.0.1 and ::1, for local scripts and tests."`
}

// HTTP is the [http] section.
type HTTP struct {
	Listen                    string        `toml:"listen" doc:"Address for plain HTTP (behind a TLS-terminating proxy, or for development). Empty disables it." check:"listen"`
	TLSListen                 string        `toml:"tls_listen" doc:"Address for HTTPS (port 443 in production). Empty disables it." check:"listen"`
	ExternalURL               string        `toml:"external_url" doc:"Public base URL such as https://mail.example.com, used in Autodiscover answers and links. Empty means deriving it from each request's Host header." check:"url"`
	MetricsListen             string        `toml:"metrics_listen" doc:"Separate address for Prometheus /metrics. Empty means serving /metrics on the main listeners." check:"listen"`
	MaxBodyBytes              int64         `toml:"max_body_bytes" unit:"bytes" doc:"Largest request body accepted, in bytes; must leave room for a base64-encoded message of smtp.max_message_bytes." check:"positive"`
	ReadHeaderTimeout         time.Duration `toml:"read_header_timeout" doc:"How long a client may take to send the request headers." check:"positive"`
	MinBodyRate               int64         `toml:"min_body_rate" unit:"bytes" doc:"Slowest request body upload accepted, in bytes per second, averaged from the start of the body after body_grace; a slower client (slowloris) is cut off. 0 means no minimum." check:"nonneg"`
	BodyGrace                 time.Duration `toml:"body_grace" doc:"Time a request body may take before min_body_rate applies." check:"positive"`
	IdleTimeout               time.Duration `toml:"idle_timeout" doc:"How long a kept-alive connection may wait for its next request." check:"positive"`
	MaxConnsPerIP             int           `toml:"max_conns_per_ip" doc:"Simultaneous connections accepted from one client address (IPv6: its /64) on the HTTP listeners; 0 means no limit." check:"nonneg"`
	MaxConns                  int           `toml:"max_conns" doc:"Simultaneous connections accepted on the HTTP listeners from all addresses together; 0 means no limit." check:"nonneg"`
	TrustedProxies            []string      `toml:"trusted_proxies" doc:"Addresses or CIDR ranges of TLS-terminating reverse proxies. A request from one of them is believed about the client address (X-Forwarded-For) and, with X-Forwarded-Proto: https, counts as sent over TLS. Requests from anyone else are taken at face value." check:"cidrs"`
	AllowInsecureAuthLoopback bool          `toml:"allow_insecure_auth_loopback" doc:"Accept passwords, session cookies and API tokens over plain HTTP from 127.0.0.1 and ::1, for development. Other plain-HTTP requests that carry credentials are refused unless they come through a trusted proxy that terminated TLS."`
}

// Directory is the [directory] section.
type Directory struct {
	Kind string `toml:"kind" doc:"local: accounts in Pochta's own tables; ldap: accounts in LDAP only; ldap+local: LDAP first, then local accounts (for service accounts)." enum:"local|ldap|ldap+local"`
	LDAP LDAP   `toml:"ldap" doc:"LDAP directory, used when kind is ldap or ldap+local."`
}

// LDAP is the [directory.ldap] section. Empty filters and attribute names
// are filled from Preset by Load.
type LDAP struct {
	URLs                 []string       `toml:"urls" doc:"Servers tried in order, such as ldap://ldap1.example.com or ldaps://ldap2.example.com:636." check:"ldapurls"`
	StartTLS             bool           `toml:"start_tls" doc:"Upgrade ldap:// connections with StartTLS before binding."`
	BindDN               string         `toml:"bind_dn" doc:"Service account used for searches. Empty means anonymous searches."`
	BindPassword         string         `toml:"bind_password" secret:"true" doc:"Password of bind_dn. Prefer setting it through POCHTA_DIRECTORY_LDAP_BIND_PASSWORD."`
	BaseDN               string         `toml:"base_dn" doc:"Subtree searched for users, such as ou=people,dc=example,dc=com."`
	Preset               string         `toml:"preset" doc:"Schema defaults for the filters and attribute names left empty below." enum:"openldap|activedirectory"`
	UserFilter           string         `toml:"user_filter" doc:"LDAP filter matching user entries; combined with the login or address being looked up. Empty means the preset's."`
	LoginAttribute       string         `toml:"login_attribute" doc:"Attribute holding the login name. Empty means the preset's: uid or mail (openldap); sAMAccountName, userPrincipalName or mail (activedirectory)."`
	Attributes           LDAPAttributes `toml:"attributes" doc:"Which LDAP attribute holds each user property. Empty means the preset's."`
	GroupBaseDN          string         `toml:"group_base_dn" doc:"Subtree searched for groups (distribution lists). Empty means base_dn."`
	GroupFilter          string         `toml:"group_filter" doc:"LDAP filter matching group entries. Empty means the preset's."`
	GroupMemberAttribute string         `toml:"group_member_attribute" doc:"Group attribute listing member DNs. Empty means the preset's."`
	CAFile               string         `toml:"ca_file" doc:"PEM file of CA certificates trusted for ldaps:// and StartTLS. Empty means the system roots."`
	Timeout              time.Duration  `toml:"timeout" doc:"Limit for connecting to and each request to the LDAP server." check:"positive"`
	CacheTTL             time.Duration  `toml:"cache_ttl" doc:"How long lookups (never password checks) are remembered; 0 disables the cache." check:"nonneg"`
	PoolSize             int            `toml:"pool_size" doc:"Service-bound connections kept open for searches." check:"positive"`
}

// LDAPAttributes is the [directory.ldap.attributes] section.
type LDAPAttributes struct {
	Mail        string `toml:"mail" doc:"Primary e-mail address."`
	Aliases     string `toml:"aliases" doc:"Further addresses delivered to the same mailbox (Active Directory proxyAddresses values with an smtp: prefix are understood)."`
	DisplayName string `toml:"display_name" doc:"Full name shown in the address book."`
	Title       string `toml:"title" doc:"Job title."`
	Department  string `toml:"department" doc:"Department."`
	Phone       string `toml:"phone" doc:"Business telephone number."`
	Office      string `toml:"office" doc:"Office location."`
	UniqueID    string `toml:"unique_id" doc:"Attribute that never changes for an entry, even when it is renamed (entryUUID, objectGUID); links the LDAP entry to its mailbox."`
}

// MAPI is the [mapi] section.
type MAPI struct {
	SessionIdleTimeout time.Duration `toml:"session_idle_timeout" doc:"A MAPI session without requests for this long is dropped; the client then reconnects (MS-OXCMAPIHTTP 3.1.1.1)." check:"positive"`
	MaxSessionsPerUser int           `toml:"max_sessions_per_user" doc:"Simultaneous MAPI sessions one user may hold; 0 means no limit." check:"nonneg"`
}

// Default returns the built-in configuration: what Pochta runs with when
// nothing is configured. Development ports are unprivileged.
func Default() *Config {
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = "localhost"
	}
	const mib = 1 << 20
	return &Config{
		Server: Server{
			Hostname:      hostname,
			DataDir:       "./pochta-data",
			ShutdownGrace: 30 * time.Second,
		},
		Log: Log{Level: "info", Format: "text"},
		Storage: Storage{
			Driver:            "sqlite",
			SQLiteSynchronous: "full",
			SQLiteFlagChanges: "relaxed",
			SQLiteBusyTimeout: 10 * time.Second,
		},
		TLS: TLS{MinVersion: "1.2"},
		Throttle: Throttle{
			IPFailuresPerMinute:    10,
			IPFailuresPerDay:       50,
			LoginFailuresPerMinute: 10,
			LoginFailuresPerDay:    100,
		},
		SMTP: SMTP{
			Listen:            ":2525",
			SubmissionListen:  ":2587",
			SubmissionsListen: ":2465",
			MaxMessageBytes:   50 * mib,
			MaxRecipients:     1000,
			ReadTimeout:       5 * time.Minute,
			WriteTimeout:      5 * time.Minute,
			DataTimeout:       10 * time.Minute,
			MaxConnsPerIP:     20,
			MaxConns:          1000,
			BounceContent:     "headers",
			QuotaExceeded:     "temporary",
			Queue: Queue{
				Workers:       4,
				Lifetime:      120 * time.Hour,
				SmarthostTLS:  "starttls",
				DelayDSNAfter: 4 * time.Hour,
			},
		},
		IMAP: IMAP{
			Listen:        ":1143",
			TLSListen:     ":1993",
			IdleTimeout:   30 * time.Minute,
			MaxConnsPerIP: 20,
			MaxConns:      5000,
			AppendLimit:   50 * mib,
		},
		POP3: POP3{
			Listen:        ":1110",
			TLSListen:     ":1995",
			IdleTimeout:   10 * time.Minute,
			MaxConnsPerIP: 20,
			MaxConns:      1000,
			DeletePolicy:  "delete",
			Expire:        "never",
		},
		HTTP: HTTP{
			Listen:            ":8080",
			TLSListen:         ":8443",
			MaxBodyBytes:      80 * mib,
			ReadHeaderTimeout: 10 * time.Second,
			MinBodyRate:       1024,
			BodyGrace:         10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxConnsPerIP:     100,
			MaxConns:          5000,
		},
		Directory: Directory{
			Kind: "local",
			LDAP: LDAP{
				Preset:   "openldap",
				Timeout:  10 * time.Second,
				CacheTTL: 5 * time.Minute,
				PoolSize: 4,
			},
		},
		MAPI: MAPI{
			SessionIdleTimeout: 30 * time.Minute,
			MaxSessionsPerUser: 32,
		},
	}
}

// ldapPreset holds what a directory schema names its filters and attributes.
type ldapPreset struct {
	userFilter, loginAttribute, groupFilter, groupMember string
	attrs                                                LDAPAttributes
}

// presetFor returns the named preset, taken from the directory package so
// the two never disagree. The login attribute stays empty: the directory's
// preset accepts several (uid and mail; sAMAccountName, userPrincipalName
// and mail) and one configured name would narrow that.
func presetFor(name string) (ldapPreset, bool) {
	o, err := directory.LDAPPreset(name)
	if err != nil {
		return ldapPreset{}, false
	}
	return ldapPreset{
		userFilter: o.UserFilter, groupFilter: o.GroupFilter, groupMember: o.GroupMemberAttribute,
		attrs: LDAPAttributes{
			Mail: o.Attributes.Mail, Aliases: o.Attributes.Aliases, DisplayName: o.Attributes.DisplayName,
			Title: o.Attributes.Title, Department: o.Attributes.Department, Phone: o.Attributes.Phone,
			Office: o.Attributes.Office, UniqueID: o.Attributes.UniqueID,
		},
	}, true
}

// value returns the preset's value for a key below directory.ldap, such as
// "user_filter" or "attributes.mail", or "" when the preset has none.
func (p ldapPreset) value(key string) string {
	switch key {
	case "user_filter":
		return p.userFilter
	case "login_attribute":
		return p.loginAttribute
	case "group_filter":
		return p.groupFilter
	case "group_member_attribute":
		return p.groupMember
	case "attributes.mail":
		return p.attrs.Mail
	case "attributes.aliases":
		return p.attrs.Aliases
	case "attributes.display_name":
		return p.attrs.DisplayName
	case "attributes.title":
		return p.attrs.Title
	case "attributes.department":
		return p.attrs.Department
	case "attributes.phone":
		return p.attrs.Phone
	case "attributes.office":
		return p.attrs.Office
	case "attributes.unique_id":
		return p.attrs.UniqueID
	}
	return ""
}

// ldapPresetKey returns the key below directory.ldap for a leaf path, or ""
// for leaves outside that section.
func ldapPresetKey(path []string) string {
	if len(path) < 3 || path[0] != "directory" || path[1] != "ldap" {
		return ""
	}
	return strings.Join(path[2:], ".")
}

// resolve fills the values documented as "empty means ...": the sqlite
// path, the group base, and the LDAP preset's filters and attribute names.
// It runs after Validate, so the preset name is known to be valid.
func (c *Config) resolve() {
	if c.Storage.DSN == "" && c.Storage.Driver == "sqlite" {
		c.Storage.DSN = filepath.Join(c.Server.DataDir, "pochta.db")
	}
	if len(c.Directory.LDAP.URLs) == 0 {
		c.Directory.LDAP.URLs = nil // "urls = []" and no urls at all mean the same
	}
	if len(c.HTTP.TrustedProxies) == 0 {
		c.HTTP.TrustedProxies = nil
	}
	if c.Directory.LDAP.GroupBaseDN == "" {
		c.Directory.LDAP.GroupBaseDN = c.Directory.LDAP.BaseDN
	}
	p, ok := presetFor(c.Directory.LDAP.Preset)
	if !ok {
		return
	}
	for _, l := range c.leaves() {
		if key := ldapPresetKey(l.path); key != "" && l.value.Kind() == reflect.String && l.value.String() == "" {
			l.value.SetString(p.value(key))
		}
	}
}
