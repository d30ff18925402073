package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/pochta/pochta/internal/httpguard"
	stdlog "log"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/config"
	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/throttle"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/storage"
)

// app is the wired server state every command and door works with.
type app struct {
	Config *config.Config
	Logger *slog.Logger
	Store  *storage.Store
	// Dir is what doors ask (local, LDAP or a chain); Local is the local
	// directory underneath, for administration.
	Dir       directory.Directory
	Local     *directory.Local
	Deliverer *delivery.Deliverer
	Metrics   *obs.Metrics
	// Throttle is the one authentication throttle every door shares.
	Throttle *throttle.Throttle
	// Set by serve only:
	TLS  *tls.Config // server certificate for every TLS listener and STARTTLS
	HTTP *echo.Echo  // routes of the HTTP and HTTPS listeners
	// Transport is the HTTP doors' one view of TLS, trusted proxies and
	// client addresses (http.trusted_proxies, http.allow_insecure_auth_loopback).
	Transport *httpguard.Policy

	closers []func() error
}

// loadConfig reads the configuration named by --config (or none) and the
// POCHTA_* environment.
func (c *cli) loadConfig() (*config.Config, error) {
	path := c.configPath
	if path == "" {
		// POCHTA_CONFIG names the file where no flag can (sendmail called
		// through its symlink takes sendmail's flags, not ours).
		path = envValue(c.environ, config.EnvConfigFile)
	}
	cfg, err := config.Load(path, c.environ)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// openMode says who opens the app.
type openMode int

const (
	// adminCommand: user, token, queue, sendmail… log only warnings.
	adminCommand openMode = iota
	// serving: pochta serve, at the configured log level; the store
	// watches for its unclean stops (storage.Options.Serving).
	serving
)

// openApp opens the store and directory for a command.
func (c *cli) openApp(ctx context.Context, mode openMode) (*app, error) {
	quiet := mode == adminCommand
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	level := cfg.Log.Level
	if cfg.Log.Trace {
		level = "trace"
	}
	if quiet {
		level = "warn"
	}
	logger, err := obs.NewLogger(c.stderr, level, cfg.Log.Format)
	if err != nil {
		return nil, err
	}
	so := storage.Options{
		Driver:             cfg.Storage.Driver,
		DSN:                cfg.Storage.DSN,
		Synchronous:        cfg.Storage.SQLiteSynchronous,
		RelaxedFlagChanges: cfg.Storage.SQLiteFlagChanges == "relaxed",
		Serving:            mode == serving,
		MaxOpenConns:       cfg.Storage.MaxOpenConns,
		Logger:             logger,
	}
	if so.Driver == "sqlite" && so.DSN == "" {
		so.DSN = filepath.Join(cfg.Server.DataDir, "pochta.db")
	}
	st, err := storage.Open(ctx, so)
	if err != nil {
		return nil, err
	}
	w, r := st.DBs()
	local, err := directory.NewLocal(ctx, directory.LocalOptions{DB: w, ReadDB: r, Durable: st.Sync})
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &app{Config: cfg, Logger: logger, Store: st, Local: local, Dir: local, Metrics: obs.NewMetrics()}
	a.Throttle = throttle.New(throttle.Options{
		IPPerMinute: cfg.Throttle.IPFailuresPerMinute, IPPerDay: cfg.Throttle.IPFailuresPerDay,
		LoginPerMinute: cfg.Throttle.LoginFailuresPerMinute, LoginPerDay: cfg.Throttle.LoginFailuresPerDay,
	})
	if dir, err := a.buildDirectory(ctx); err != nil {
		st.Close()
		return nil, err
	} else if dir != nil {
		a.Dir = dir
	}
	a.Deliverer = delivery.New(delivery.Options{
		Store: st, Directory: a.Dir, Logger: logger, QueueLifetime: cfg.SMTP.Queue.Lifetime,
		Hostname: cfg.Server.Hostname, BounceContent: cfg.SMTP.BounceContent,
		// Rules written in Outlook name recipients by their Exchange DN.
		AccountByLegacyDN: mapi.AccountByLegacyDN(a.Dir),
	})
	return a, nil
}

// buildDirectory returns the directory doors use when it is not the local
// one: LDAP, or LDAP with local service accounts beside it.
func (a *app) buildDirectory(ctx context.Context) (directory.Directory, error) {
	cfg := a.Config.Directory
	switch cfg.Kind {
	case "", "local":
		return nil, nil
	case "ldap", "ldap+local":
	default:
		return nil, fmt.Errorf("unknown directory kind %q", cfg.Kind)
	}
	l := cfg.LDAP
	opts := directory.LDAPOptions{
		Preset: l.Preset, URLs: l.URLs, StartTLS: l.StartTLS, CAFile: l.CAFile,
		BindDN: l.BindDN, BindPassword: l.BindPassword, BaseDN: l.BaseDN, UserFilter: l.UserFilter,
		Attributes: directory.LDAPAttributes{
			Mail: l.Attributes.Mail, Aliases: l.Attributes.Aliases, DisplayName: l.Attributes.DisplayName,
			Title: l.Attributes.Title, Department: l.Attributes.Department, Phone: l.Attributes.Phone,
			Office: l.Attributes.Office, UniqueID: l.Attributes.UniqueID,
		},
		GroupBaseDN: l.GroupBaseDN, GroupFilter: l.GroupFilter, GroupMemberAttribute: l.GroupMemberAttribute,
		Timeout: l.Timeout, CacheTTL: l.CacheTTL, PoolSize: l.PoolSize,
		Local: a.Local, Logger: a.Logger,
	}
	if l.LoginAttribute != "" {
		opts.LoginAttributes = []string{l.LoginAttribute}
	}
	ld, err := directory.NewLDAP(opts)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, ld.Close)
	if cfg.Kind == "ldap+local" {
		return directory.NewChain(ld, a.Local, a.Logger), nil
	}
	return ld, nil
}

func envValue(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func slogStd(log *slog.Logger) *stdlog.Logger { return obs.StdLogger(log, slog.LevelWarn) }

func (a *app) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	return errors.Join(append(errs, a.Store.Close())...)
}
