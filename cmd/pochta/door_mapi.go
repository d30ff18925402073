package main

import (
	"context"
	"errors"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/mapi"
	"github.com/pochta/pochta/mapi/nspi"
	"github.com/pochta/pochta/mapi/rop"
)

func init() { registerDoor("mapi", startMAPI) }

// startMAPI mounts MAPI over HTTP (/mapi/emsmdb/ for the mailbox,
// /mapi/nspi/ for the address book) and Autodiscover
// (/autodiscover/autodiscover.xml and .json) on the HTTP door's echo
// instance; it has no listener of its own. Clients need HTTPS
// (http.tls_listen, or a TLS-terminating proxy listed in
// http.trusted_proxies): Basic credentials are refused over plain HTTP.
func startMAPI(ctx context.Context, a *app, rg *runGroup) error {
	cfg := a.Config
	if cfg.HTTP.Listen == "" && cfg.HTTP.TLSListen == "" {
		return nil
	}
	ropSrv := rop.NewServer(rop.Options{
		Store: a.Store, Directory: a.Dir, Deliverer: a.Deliverer, Logger: a.Logger,
		Hostname: cfg.Server.Hostname, LegacyDN: mapi.LegacyDN, AccountByLegacyDN: mapi.AccountByLegacyDN(a.Dir),
		Metrics: a.Metrics,
	})
	opts := mapi.Options{
		Transport: a.Transport,
		Directory: a.Dir, Store: a.Store, Logger: a.Logger, Metrics: a.Metrics,
		NewROPSession: func(ctx context.Context, acc *directory.Account, _ mapi.ConnectInfo) (mapi.ROPSession, error) {
			s, err := ropSrv.NewSession(ctx, acc)
			if err != nil {
				return nil, err // not a typed nil inside the interface
			}
			return s, nil
		},
		ExternalURL: cfg.HTTP.ExternalURL, Hostname: cfg.Server.Hostname,
		SessionIdleTimeout: cfg.MAPI.SessionIdleTimeout, MaxSessionsPerUser: cfg.MAPI.MaxSessionsPerUser,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
	}
	if a.Throttle != nil { // a nil *throttle.Throttle must not become a non-nil interface
		opts.Throttle = a.Throttle
	}
	srv, err := mapi.New(opts)
	if err != nil {
		return err
	}
	srv.Mount(a.HTTP)
	book, err := srv.NewAddressBook(nspi.Options{})
	if err != nil {
		_ = srv.Shutdown(ctx)
		return err
	}
	book.Mount(a.HTTP) // after srv.Mount: replaces its "endpoint disabled" route
	shutdown := func(ctx context.Context) error {
		return errors.Join(book.Shutdown(ctx), srv.Shutdown(ctx))
	}
	// The HTTP servers stop before the doors (shutdown runs in reverse)
	// and wait for running requests; held NotificationWaits would make
	// them wait for minutes. Start the MAPI shutdown, which ends those
	// waits, as soon as the server is told to stop.
	rg.Go("mapi", func(context.Context) error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace+time.Second)
		defer cancel()
		return shutdown(sctx)
	})
	rg.OnStop("mapi", shutdown)
	return nil
}
