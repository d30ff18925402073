package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/pochta/pochta/internal/delivery"
)

func init() {
	register(command{
		name:  "sendmail",
		usage: "[-t] [-i|-oi] [-f SENDER] [-F NAME] [RECIPIENT...]",
		help:  "submit a message from standard input, as sendmail does (also when called through a symlink named sendmail)",
		run:   cmdSendmail,
	})
}

// cmdSendmail is the sendmail-compatible submission for local programs:
// cron, scripts, PHP's mail(). It writes to the store directly (no network),
// through the same ingest path as SMTP; the server's queue runner picks up
// remote recipients. Exit status: 0 when at least one recipient took the
// message (others are bounced by mail), 1 otherwise.
func cmdSendmail(ctx context.Context, c *cli, args []string) error {
	sa, err := delivery.ParseSendmailArgs(args)
	if err != nil {
		return usagef("%v", err)
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := a.Deliverer.Sendmail(ctx, sa, c.stdin, localUser(c.environ), a.Config.SMTP.MaxMessageBytes)
	if err != nil {
		return err
	}
	if res.AllFailed() {
		var why []string
		for _, o := range res.Recipients {
			why = append(why, fmt.Sprintf("%s: %s", o.Address, o.Diagnostic))
		}
		return errors.New("no recipient accepted the message: " + strings.Join(why, "; "))
	}
	for _, o := range res.Recipients {
		if o.Outcome == delivery.OutcomeFailed {
			fmt.Fprintf(c.stderr, "pochta sendmail: %s: %s (a notice was mailed to the sender)\n", o.Address, o.Diagnostic)
		}
	}
	return nil
}

// localUser names the invoking user for the default envelope sender.
func localUser(environ []string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "USER="); ok && v != "" {
			return v
		}
	}
	if v := os.Getenv("LOGNAME"); v != "" {
		return v
	}
	return "nobody"
}
