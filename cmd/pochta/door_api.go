package main

import (
	"context"
	"time"

	"github.com/pochta/pochta/api"
	"github.com/pochta/pochta/internal/config"
)

func init() { registerDoor("api", startAPI) }

// startAPI mounts the REST admin API (/api/v1) on the HTTP door's echo
// instance; it has no listener of its own. Tokens come from
// "pochta token create".
func startAPI(ctx context.Context, a *app, rg *runGroup) error {
	cfg := a.Config
	if cfg.HTTP.Listen == "" && cfg.HTTP.TLSListen == "" {
		return nil
	}
	opts := api.Options{
		Transport: a.Transport,
		Store:     a.Store, Local: a.Local, Directory: a.Dir, DirectoryKind: cfg.Directory.Kind,
		Logger: a.Logger, Metrics: a.Metrics,
		Version: version, Started: time.Now(), Listeners: configuredListeners(cfg),
	}
	if a.Throttle != nil { // a nil *throttle.Throttle must not become a non-nil interface
		opts.Throttle = a.Throttle
	}
	srv, err := api.New(opts)
	if err != nil {
		return err
	}
	srv.Mount(a.HTTP)
	return nil
}

// configuredListeners lists the listening addresses the configuration
// enables, for the API's status resource.
func configuredListeners(cfg *config.Config) []api.Listener {
	var out []api.Listener
	for _, l := range []api.Listener{
		{Name: "smtp", Address: cfg.SMTP.Listen},
		{Name: "submission", Address: cfg.SMTP.SubmissionListen},
		{Name: "submissions", Address: cfg.SMTP.SubmissionsListen},
		{Name: "imap", Address: cfg.IMAP.Listen},
		{Name: "imaps", Address: cfg.IMAP.TLSListen},
		{Name: "pop3", Address: cfg.POP3.Listen},
		{Name: "pop3s", Address: cfg.POP3.TLSListen},
		{Name: "http", Address: cfg.HTTP.Listen},
		{Name: "https", Address: cfg.HTTP.TLSListen},
		{Name: "metrics", Address: cfg.HTTP.MetricsListen},
	} {
		if l.Address != "" {
			out = append(out, l)
		}
	}
	return out
}
