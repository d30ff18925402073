package main

import (
	"context"

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
	return serveTwoListeners(rg, "pop3", cfg.Listen, cfg.TLSListen, srv, pop3.ErrServerClosed)
}
