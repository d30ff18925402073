package main

import (
	"context"
	"io"

	"github.com/pochta/pochta/internal/loadtest"
)

func init() {
	register(
		command{name: "bench smtp", usage: "[-h] [flags]", help: "send N messages to any SMTP server and report messages/s and latency", run: benchCmd(loadtest.RunSMTP)},
		command{name: "bench imap", usage: "[-h] [flags]", help: "run a mixed IMAP workload at N clients against any IMAP server", run: benchCmd(loadtest.RunIMAP)},
		command{name: "bench pop3", usage: "[-h] [flags]", help: "retrieve a maildrop at N clients from any POP3 server", run: benchCmd(loadtest.RunPOP3)},
	)
}

func benchCmd(run func(ctx context.Context, args []string, stdout io.Writer) error) func(context.Context, *cli, []string) error {
	return func(ctx context.Context, c *cli, args []string) error { return run(ctx, args, c.stdout) }
}
