// Command crashsoak is the driver of scripts/soak/crash-soak.sh: it runs
// SMTP load against a real `pochta serve`, kills the server with SIGKILL at
// random moments, restarts it, and checks that every message that got 250
// is in its mailboxes exactly once (see internal/hardening.RunCrashSoak).
// It exits 1 when anything acknowledged was lost, duplicated or damaged.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pochta/pochta/internal/hardening"
)

func main() {
	var opts hardening.SoakOptions
	flag.StringVar(&opts.Binary, "binary", "", "pochta binary to soak (required)")
	flag.StringVar(&opts.WorkDir, "dir", "", "empty scratch folder for the data and the server log (required)")
	flag.IntVar(&opts.Cycles, "cycles", 100, "kill/restart cycles (100 CI-sized, 1000 release)")
	flag.DurationVar(&opts.MaxDuration, "max-duration", 30*time.Minute, "no new cycle starts after this long")
	flag.IntVar(&opts.Senders, "senders", 4, "concurrent SMTP clients")
	flag.DurationVar(&opts.MinUp, "min-up", 200*time.Millisecond, "earliest kill after the server is ready")
	flag.DurationVar(&opts.MaxUp, "max-up", 1500*time.Millisecond, "latest kill after the server is ready")
	flag.IntVar(&opts.StartupKillEvery, "startup-kill-every", 10, "kill during start-up in about one cycle of N (0: never)")
	flag.Uint64Var(&opts.Seed, "seed", 0, "random seed (0: pick one; printed)")
	quiet := flag.Bool("q", false, "no line per cycle")
	flag.Parse()
	if opts.Binary == "" || opts.WorkDir == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if !*quiet {
		opts.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := hardening.RunCrashSoak(ctx, opts)
	if res != nil {
		fmt.Println(res.String())
		for _, e := range res.Examples {
			fmt.Println("  " + e)
		}
		fmt.Println("server log:", res.ServerLogPath)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashsoak:", err)
		os.Exit(2)
	}
	if !res.OK() {
		os.Exit(1)
	}
}
