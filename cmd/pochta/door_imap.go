package main

import (
	"context"

	"github.com/pochta/pochta/imap"
)

func init() { registerDoor("imap", startIMAP) }

// startIMAP starts IMAP with STARTTLS (imap.listen) and IMAP over implicit
// TLS (imap.tls_listen). Both listeners share one server, so sessions on
// either see the same selected mailboxes and live updates.
func startIMAP(ctx context.Context, a *app, rg *runGroup) error {
	cfg := a.Config.IMAP
	if cfg.Listen == "" && cfg.TLSListen == "" {
		return nil
	}
	opts := imap.Options{
		Store: a.Store, Directory: a.Dir, Deliverer: a.Deliverer, TLS: a.TLS,
		Logger: a.Logger, Metrics: a.Metrics,
		AppendLimit: cfg.AppendLimit, MaxConnsPerIP: cfg.MaxConnsPerIP, MaxConns: cfg.MaxConns, IdleTimeout: cfg.IdleTimeout,
		AllowInsecureAuthLoopback: cfg.AllowInsecureAuthLoopback,
	}
	if a.Throttle != nil { // a nil *throttle.Throttle must not become a non-nil interface
		opts.Throttle = a.Throttle
	}
	srv, err := imap.New(opts)
	if err != nil {
		return err
	}
	return serveTwoListeners(rg, "imap", cfg.Listen, cfg.TLSListen, srv, imap.ErrServerClosed)
}
