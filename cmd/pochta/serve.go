package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pochta/pochta/internal/config"
	"github.com/pochta/pochta/internal/connlimit"
	"github.com/pochta/pochta/internal/httpguard"
	"github.com/pochta/pochta/internal/obs"
	"github.com/pochta/pochta/internal/tlsutil"
)

func init() {
	register(command{name: "serve", help: "run the server (without --config: sqlite in ./pochta-data, self-signed TLS, development ports)", run: cmdServe})
}

// door starts one protocol frontend. Door files register theirs in init.
type door struct {
	name  string
	start func(ctx context.Context, a *app, rg *runGroup) error
}

var doors []door

func registerDoor(name string, start func(ctx context.Context, a *app, rg *runGroup) error) {
	doors = append(doors, door{name: name, start: start})
}

// runGroup tracks what serve started so one shutdown stops it all.
type runGroup struct {
	log    *slog.Logger
	mu     sync.Mutex
	stops  []namedStop
	errs   chan error
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

type namedStop struct {
	name string
	stop func(ctx context.Context) error
}

// Listen opens a TCP listener and logs it; the returned listener is closed by shutdown.
func (rg *runGroup) Listen(door, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listening on %s: %w", door, addr, err)
	}
	rg.log.Info("listening", "door", door, "addr", ln.Addr().String())
	return ln, nil
}

// Serve runs serve(ln) in the background; stop is called at shutdown. An
// error from serve other than a normal close stops the whole server.
func (rg *runGroup) Serve(name string, ln net.Listener, serve func(net.Listener) error, stop func(context.Context) error) {
	rg.OnStop(name, stop)
	rg.Go(name, func(context.Context) error {
		err := serve(ln)
		if err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
}

// OnStop adds a shutdown step (run in reverse order of registration).
func (rg *runGroup) OnStop(name string, stop func(context.Context) error) {
	rg.mu.Lock()
	rg.stops = append(rg.stops, namedStop{name, stop})
	rg.mu.Unlock()
}

// Go runs a background task (a queue runner, say) until shutdown.
func (rg *runGroup) Go(name string, fn func(ctx context.Context) error) {
	rg.wg.Add(1)
	go func() {
		defer rg.wg.Done()
		if err := fn(context.Background()); err != nil {
			select {
			case rg.errs <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	}()
}

func (rg *runGroup) shutdown(ctx context.Context) {
	rg.mu.Lock()
	stops := rg.stops
	rg.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		if err := stops[i].stop(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
			rg.log.Warn("shutdown", "part", stops[i].name, "err", err)
		}
	}
}

func cmdServe(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return usagef("no arguments expected")
	}
	a, err := c.openApp(ctx, serving)
	if err != nil {
		return err
	}
	defer a.Close()
	cfg := a.Config
	a.TLS, err = tlsutil.LoadOrCreate(cfg.Server.DataDir, cfg.TLS.CertFile, cfg.TLS.KeyFile, []string{cfg.Server.Hostname})
	if err != nil {
		return err
	}
	if v, err := tlsutil.ParseMinVersion(cfg.TLS.MinVersion); err == nil {
		a.TLS.MinVersion = v
	}
	a.Logger.Info("pochta starting", "version", version, "data_dir", cfg.Server.DataDir, "store", a.Store.Driver(), "directory", cfg.Directory.Kind)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	rg := &runGroup{log: a.Logger, errs: make(chan error, 1), cancel: cancel}
	if a.Transport, err = transportPolicy(cfg); err != nil {
		return err
	}
	a.HTTP = newHTTP(a)
	for _, d := range doors {
		if err := d.start(runCtx, a, rg); err != nil {
			cancel()
			rg.shutdown(context.Background())
			return fmt.Errorf("starting %s: %w", d.name, err)
		}
	}
	if err := startHTTP(a, rg); err != nil {
		cancel()
		rg.shutdown(context.Background())
		return err
	}
	a.Logger.Info("pochta ready")
	var runErr error
	select {
	case <-ctx.Done():
		a.Logger.Info("shutting down", "grace", cfg.Server.ShutdownGrace)
	case runErr = <-rg.errs:
		a.Logger.Error("stopping after a failure", "err", runErr)
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
	defer scancel()
	rg.shutdown(sctx)
	done := make(chan struct{})
	go func() { rg.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.Server.ShutdownGrace + time.Second):
		a.Logger.Warn("some parts did not stop in time")
	}
	a.Logger.Info("pochta stopped")
	return runErr
}

// newHTTP builds the one echo instance behind the HTTP and HTTPS listeners;
// the webmail, REST API and MAPI doors add their routes to it.
func newHTTP(a *app) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(slogWriter{a.Logger})
	e.Use(recoverMiddleware(a))
	// RealIP follows the doors' rule: X-Forwarded-For only from a trusted proxy.
	e.IPExtractor = a.Transport.ExtractIP
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
		defer cancel()
		if err := a.Store.Ping(ctx); err != nil {
			return c.String(http.StatusServiceUnavailable, "store unavailable\n")
		}
		if err := a.Dir.Health(ctx); err != nil {
			return c.String(http.StatusServiceUnavailable, "directory unavailable\n")
		}
		return c.String(http.StatusOK, "ready\n")
	})
	if a.Config.HTTP.MetricsListen == "" {
		e.GET("/metrics", echo.WrapHandler(a.Metrics.Handler()))
	}
	return e
}

// recoverMiddleware turns a handler panic into a 500, logs it once and
// counts it, and the server keeps serving.
func recoverMiddleware(a *app) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			panicked := true
			defer func() {
				if panicked {
					a.Metrics.Recover(a.Logger, "http")
					err = echo.NewHTTPError(http.StatusInternalServerError)
				}
			}()
			err = next(c)
			panicked = false
			return err
		}
	}
}

type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(string(p), "component", "http")
	return len(p), nil
}

func startHTTP(a *app, rg *runGroup) error {
	cfg := a.Config.HTTP
	newServer := func(h http.Handler) *http.Server {
		// No WriteTimeout: NotificationWait and the webmail's event stream
		// answer slowly by design. Slow request bodies are cut off by the
		// minimum rate instead.
		return &http.Server{
			Handler: httpguard.MinBodyRate(h, cfg.MinBodyRate, cfg.BodyGrace), ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			IdleTimeout: cfg.IdleTimeout, ErrorLog: slogStd(a.Logger),
		}
	}
	// One count for both listeners (http.max_conns is their total). Over
	// it, plain HTTP gets a 503; HTTPS is cut below TLS, so a flood
	// costs no handshakes.
	connLimit := connlimit.New(cfg.MaxConnsPerIP, cfg.MaxConns)
	limited := func(ln net.Listener, reply string) net.Listener {
		return connlimit.NewListener(ln, connLimit, connlimit.ListenerOptions{Door: obs.DoorHTTP, Reply: reply, Metrics: a.Metrics, Logger: a.Logger})
	}
	if cfg.Listen != "" {
		ln, err := rg.Listen("http", cfg.Listen)
		if err != nil {
			return err
		}
		srv := newServer(a.HTTP)
		rg.Serve("http", limited(ln, connlimit.HTTPRefusal), srv.Serve, srv.Shutdown)
	}
	if cfg.TLSListen != "" {
		ln, err := rg.Listen("https", cfg.TLSListen)
		if err != nil {
			return err
		}
		srv := newServer(a.HTTP)
		rg.Serve("https", tls.NewListener(limited(ln, ""), a.TLS), srv.Serve, srv.Shutdown)
	}
	if cfg.MetricsListen != "" {
		ln, err := rg.Listen("metrics", cfg.MetricsListen)
		if err != nil {
			return err
		}
		srv := newServer(a.Metrics.Handler())
		rg.Serve("metrics", ln, srv.Serve, srv.Shutdown)
	}
	return nil
}

// transportPolicy is the HTTP doors' shared view of TLS, trusted proxies
// and the loopback development switch.
func transportPolicy(cfg *config.Config) (*httpguard.Policy, error) {
	p := &httpguard.Policy{AllowInsecureLoopback: cfg.HTTP.AllowInsecureAuthLoopback}
	for _, s := range cfg.HTTP.TrustedProxies {
		pre, err := config.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies: %w", err)
		}
		p.TrustedProxies = append(p.TrustedProxies, pre)
	}
	return p, nil
}
