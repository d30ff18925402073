package main

import (
	"context"
	"errors"
	"net"

	"github.com/pochta/pochta/pop3"
)

func init() { registerDoor("pop3", startPOP3) }

// startPOP3 starts POP3 with STLS (pop3.listen) and POP3 over implicit TLS
// (pop3.tls_listen). Both listeners share one server, so a maildrop locked
// through one is locked for the other.
func startPOP3(ctx context.Context, a *app, rg *runGroup) error {
	cfg := a.Config.POP3
	if cfg.Listen == "" && cfg.TLSListen == "" {
		return nil
	}
	opts := pop3.Options{
		Store: a.Store, Directory: a.Dir, TLS: a.TLS, Hostname: a.Config.Server.Hostname,
		Logger: a.Logger, Metrics: a.Metrics,
		IdleTimeout: cfg.IdleTimeout, MaxConnsPerIP: cfg.MaxConnsPerIP, MaxConns: cfg.MaxConns, DeletePolicy: cfg.DeletePolicy,
		LoginDelay: cfg.LoginDelay, Expire: cfg.Expire, AllowInsecureAuthLoopback: cfg.AllowInsecureAuthLoopback,
	}
	if a.Throttle != nil {
		opts.Throttle = a.Throttle
	}
	srv, err := pop3.New(opts)
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
	// Serve returns pop3.ErrServerClosed after a shutdown: a normal end.
	serve := func(serve func(net.Listener) error) func(net.Listener) error {
		return func(ln net.Listener) error {
			if err := serve(ln); !errors.Is(err, pop3.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
	if cfg.Listen != "" {
		ln, err := rg.Listen("pop3", cfg.Listen)
		if err != nil {
			return err
		}
		rg.Serve("pop3", ln, serve(srv.Serve), stop)
	}
	if cfg.TLSListen != "" {
		ln, err := rg.Listen("pop3s", cfg.TLSListen)
		if err != nil {
			return err
		}
		rg.Serve("pop3s", ln, serve(srv.ServeTLS), stop)
	}
	return nil
}
