package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/pochta/pochta/storage"
)

func init() {
	register(
		command{name: "queue list", help: "list the outbound queue", run: cmdQueueList},
		command{name: "queue show", usage: "ID", help: "show a queued message, its recipients and their last errors", run: cmdQueueShow},
		command{name: "queue retry", usage: "ID|all", help: "make a queued message (or all) due now; a running server delivers it", run: cmdQueueRetry},
		command{name: "queue delete", usage: "ID", help: "remove a message from the queue without a bounce", run: cmdQueueDelete},
	)
}

func cmdQueueList(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return usagef("no arguments expected")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUED\tSIZE\tSENDER\tNEXT ATTEMPT\tATTEMPTS\tRECIPIENTS")
	n := 0
	for offset := 0; ; {
		ms, err := a.Store.QueueMessages(ctx, offset, 500)
		if err != nil {
			return err
		}
		for i := range ms {
			m := &ms[i]
			pending := 0
			for _, r := range m.Recipients {
				if r.State == storage.RcptPending {
					pending++
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\t%d pending of %d\n", m.ID, m.CreatedAt.Local().Format(time.DateTime), m.Size,
				senderText(m.Sender), m.NextAttemptAt.Local().Format(time.DateTime), m.Attempts, pending, len(m.Recipients))
			n++
		}
		if len(ms) < 500 {
			break
		}
		offset += len(ms)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%d queued\n", n)
	return nil
}

func senderText(s string) string {
	if s == "" {
		return "<>"
	}
	return s
}

func queueID(args []string) (int64, error) {
	if len(args) != 1 {
		return 0, usagef("one queue id expected")
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("bad queue id %q", args[0])
	}
	return id, nil
}

func cmdQueueShow(ctx context.Context, c *cli, args []string) error {
	id, err := queueID(args)
	if err != nil {
		return err
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	m, err := a.Store.QueueMessage(ctx, id)
	if err != nil {
		return err
	}
	w := c.stdout
	fmt.Fprintf(w, "id:           %d\n", m.ID)
	fmt.Fprintf(w, "sender:       %s\n", senderText(m.Sender))
	fmt.Fprintf(w, "message-id:   %s\n", m.MessageID)
	fmt.Fprintf(w, "size:         %d\n", m.Size)
	fmt.Fprintf(w, "queued:       %s\n", m.CreatedAt.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "next attempt: %s\n", m.NextAttemptAt.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "expires:      %s\n", m.ExpiresAt.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "attempts:     %d\n", m.Attempts)
	if m.EnvID != "" || m.Ret != "" {
		fmt.Fprintf(w, "dsn:          envid=%q ret=%s\n", m.EnvID, m.Ret)
	}
	if m.LastError != "" {
		fmt.Fprintf(w, "last error:   %s\n", m.LastError)
	}
	fmt.Fprintln(w, "recipients:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range m.Recipients {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Address, r.State, r.LastError)
	}
	return tw.Flush()
}

func cmdQueueRetry(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return usagef("one queue id (or all) expected")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	if args[0] != "all" {
		id, err := queueID(args)
		if err != nil {
			return err
		}
		return a.Store.RetryQueued(ctx, id)
	}
	n := 0
	for offset := 0; ; {
		ms, err := a.Store.QueueMessages(ctx, offset, 500)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := a.Store.RetryQueued(ctx, m.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			n++
		}
		if len(ms) < 500 {
			break
		}
		offset += len(ms)
	}
	fmt.Fprintf(c.stdout, "%d messages due now\n", n)
	return nil
}

func cmdQueueDelete(ctx context.Context, c *cli, args []string) error {
	id, err := queueID(args)
	if err != nil {
		return err
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Store.DeleteQueued(ctx, id)
}
