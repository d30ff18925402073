package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pochta/pochta/internal/delivery"
	"github.com/pochta/pochta/smtp"
)

func init() { registerDoor("smtp", startSMTP) }

// startSMTP starts the MX listener (smtp.listen), the submission listeners
// (smtp.submission_listen with STARTTLS, smtp.submissions_listen with
// implicit TLS) and the outbound queue runner.
func startSMTP(ctx context.Context, a *app, rg *runGroup) error {
	cfg := a.Config.SMTP
	d := a.Deliverer
	base := smtp.Options{
		Hostname: a.Config.Server.Hostname, Deliverer: d, Directory: a.Dir, Store: a.Store, TLS: a.TLS,
		MaxMessageBytes: cfg.MaxMessageBytes, MaxRecipients: cfg.MaxRecipients, MaxConnsPerIP: cfg.MaxConnsPerIP, MaxConns: cfg.MaxConns,
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, DataTimeout: cfg.DataTimeout,
		AllowInsecureAuthLoopback: cfg.AllowInsecureAuthLoopback, QuotaPermanent: cfg.QuotaExceeded == "permanent",
		Logger: a.Logger, Metrics: a.Metrics,
	}
	if a.Throttle != nil {
		base.Throttle = a.Throttle
	}
	if cfg.Listen != "" {
		o := base
		o.Mode = smtp.ModeMX
		mx, err := smtp.New(o)
		if err != nil {
			return err
		}
		ln, err := rg.Listen("smtp", cfg.Listen)
		if err != nil {
			return err
		}
		rg.Serve("smtp", ln, mx.Serve, mx.Shutdown)
	}
	if cfg.SubmissionListen != "" || cfg.SubmissionsListen != "" {
		o := base
		o.Mode = smtp.ModeSubmission
		sub, err := smtp.New(o)
		if err != nil {
			return err
		}
		stopped := false
		stop := func(ctx context.Context) error {
			if stopped { // one server behind two listeners: stop it once
				return nil
			}
			stopped = true
			return sub.Shutdown(ctx)
		}
		if cfg.SubmissionListen != "" {
			ln, err := rg.Listen("submission", cfg.SubmissionListen)
			if err != nil {
				return err
			}
			rg.Serve("submission", ln, sub.Serve, stop)
		}
		if cfg.SubmissionsListen != "" {
			ln, err := rg.Listen("submissions", cfg.SubmissionsListen)
			if err != nil {
				return err
			}
			rg.Serve("submissions", ln, sub.ServeTLS, stop)
		}
	}
	q := cfg.Queue
	runner, err := delivery.NewRunner(delivery.RunnerOptions{
		Deliverer: d, Workers: q.Workers, Hostname: a.Config.Server.Hostname,
		Smarthost: q.Smarthost, SmarthostUsername: q.SmarthostUsername, SmarthostPassword: q.SmarthostPassword, SmarthostTLS: q.SmarthostTLS,
		DelayDSN: q.DelayDSN, DelayDSNAfter: q.DelayDSNAfter, Logger: a.Logger, Metrics: a.Metrics,
	})
	if err != nil {
		return fmt.Errorf("smtp queue: %w", err)
	}
	// The runner stops when serve cancels ctx at shutdown.
	rg.Go("queue", func(context.Context) error {
		if err := runner.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
	return nil
}
