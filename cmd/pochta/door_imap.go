package main

import (
	"context"
	"errors"
	"net"

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
	stopped := false
	stop := func(ctx context.Context) error {
		if stopped { // one server behind two listeners: stop it once
			return nil
		}
		stopped = true
		return srv.Shutdown(ctx)
	}
	// Serve returns imap.ErrServerClosed after a shutdown: a normal end.
	serve := func(serve func(net.Listener) error) func(net.Listener) error {
		return func(ln net.Listener) error {
			if err := serve(ln); !errors.Is(err, imap.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
	if cfg.Listen != "" {
		ln, err := rg.Listen("imap", cfg.Listen)
		if err != nil {
			return err
		}
		rg.Serve("imap", ln, serve(srv.Serve), stop)
	}
	if cfg.TLSListen != "" {
		ln, err := rg.Listen("imaps", cfg.TLSListen)
		if err != nil {
			return err
		}
		rg.Serve("imaps", ln, serve(srv.ServeTLS), stop)
	}
	return nil
}
