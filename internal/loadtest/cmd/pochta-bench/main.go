// Command pochta-bench runs the loadtest tools on their own, with the same
// flags as `pochta bench smtp|imap|pop3`. The peer-benchmark scripts in
// scripts/bench build it so they work before (or without) a pochta binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/pochta/pochta/internal/loadtest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "usage: pochta-bench smtp|imap|pop3 [flags]   (-h after the tool name for its flags)")
	}
	if len(args) == 0 {
		usage()
		return 2
	}
	tools := map[string]func(context.Context, []string, io.Writer) error{
		"smtp": loadtest.RunSMTP,
		"imap": loadtest.RunIMAP,
		"pop3": loadtest.RunPOP3,
	}
	tool, ok := tools[args[0]]
	if !ok {
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := tool(ctx, args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "pochta-bench:", err)
		return 1
	}
	return 0
}
