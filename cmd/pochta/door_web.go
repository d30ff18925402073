package main

import (
	"context"
	"strings"
	"time"

	"github.com/pochta/pochta/web"
)

func init() { registerDoor("web", startWeb) }

// startWeb mounts the webmail (the application at "/", its JSON endpoints
// under /web/api) on the HTTP door's echo instance; it has no listener of
// its own. Sessions live in this process's memory.
func startWeb(ctx context.Context, a *app, rg *runGroup) error {
	cfg := a.Config
	if cfg.HTTP.Listen == "" && cfg.HTTP.TLSListen == "" {
		return nil
	}
	opts := web.Options{
		Transport: a.Transport,
		Store:     a.Store, Directory: a.Dir, Deliverer: a.Deliverer,
		Logger: a.Logger, Metrics: a.Metrics, Hostname: cfg.Server.Hostname,
		// Behind a TLS-terminating proxy the request itself is plain HTTP.
		SecureCookies: strings.HasPrefix(strings.ToLower(cfg.HTTP.ExternalURL), "https://"),
		// Never compose what the SMTP door would refuse.
		MaxMessageBytes: cfg.SMTP.MaxMessageBytes,
	}
	if a.Throttle != nil { // a nil *throttle.Throttle must not become a non-nil interface
		opts.Throttle = a.Throttle
	}
	srv, err := web.New(opts)
	if err != nil {
		return err
	}
	srv.Mount(a.HTTP)
	// Live-update streams never go idle, so the HTTP server's own shutdown
	// would wait for them: end them as soon as serving stops.
	rg.Go("web", func(context.Context) error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return nil
}
