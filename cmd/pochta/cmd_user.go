package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/pochta/pochta/directory"
)

func init() {
	register(
		command{name: "user add", usage: "[-name DISPLAY-NAME] ADDRESS", help: "create an account (password from stdin, or a prompt on a terminal)", run: cmdUserAdd},
		command{name: "user list", usage: "[SEARCH]", help: "list accounts", run: cmdUserList},
		command{name: "user passwd", usage: "ADDRESS", help: "set an account's password (from stdin, or a prompt)", run: cmdUserPasswd},
		command{name: "user delete", usage: "ADDRESS", help: "delete an account and its mailbox", run: cmdUserDelete},
		command{name: "domain add", usage: "DOMAIN", help: "make a domain local", run: cmdDomainAdd},
		command{name: "domain list", help: "list the local domains", run: cmdDomainList},
		command{name: "domain delete", usage: "DOMAIN", help: "remove a local domain (it must be empty)", run: cmdDomainDelete},
	)
}

// readPassword takes a password from stdin when it is not a terminal (one
// line), else prompts twice without echo. Never from argv: it would show in
// ps and shell history.
func (c *cli) readPassword() (string, error) {
	if f, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(c.stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(c.stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password (give it on standard input)")
	}
	return pw, nil
}

func cmdUserAdd(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	name := fs.String("name", "", "display name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("one address expected")
	}
	pw, err := c.readPassword()
	if err != nil {
		return err
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	acc, err := a.Local.AddAccount(ctx, directory.NewAccount{Address: fs.Arg(0), Password: pw, DisplayName: *name})
	if err != nil {
		return err
	}
	if err := a.Store.EnsureMailbox(ctx, acc.ID); err != nil {
		return fmt.Errorf("account created but its mailbox failed: %w", err)
	}
	fmt.Fprintf(c.stdout, "added %s (id %d)\n", acc.Address, acc.ID)
	return nil
}

func cmdUserList(ctx context.Context, c *cli, args []string) error {
	if len(args) > 1 {
		return usagef("at most one search text")
	}
	search := ""
	if len(args) == 1 {
		search = args[0]
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tNAME\tSOURCE\tSTATE\tUSED\tQUOTA")
	var after int64
	for {
		page, err := a.Local.ListAccounts(ctx, search, after, 500)
		if err != nil {
			return err
		}
		for _, acc := range page {
			state := "active"
			if acc.Disabled {
				state = "disabled"
			}
			used, quota := "-", "-"
			if mb, err := a.Store.Mailbox(ctx, acc.ID); err == nil {
				used = humanBytes(mb.UsedBytes)
				if mb.QuotaBytes > 0 {
					quota = humanBytes(mb.QuotaBytes)
				} else {
					quota = "none"
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", acc.ID, acc.Address, acc.DisplayName, acc.Source, state, used, quota)
			after = acc.ID
		}
		if len(page) < 500 {
			break
		}
	}
	return tw.Flush()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func cmdUserPasswd(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return usagef("one address expected")
	}
	pw, err := c.readPassword()
	if err != nil {
		return err
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	acc, err := a.Local.AccountByAddress(ctx, args[0])
	if err != nil {
		return err
	}
	if err := a.Local.SetPassword(ctx, acc.ID, pw); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "password of %s changed\n", acc.Address)
	return nil
}

func cmdUserDelete(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return usagef("one address expected")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	acc, err := a.Local.AccountByAddress(ctx, args[0])
	if err != nil {
		return err
	}
	if acc.Address != directory.NormalizeAddress(args[0]) {
		return fmt.Errorf("%s is an alias of %s; delete the alias or name the account", args[0], acc.Address)
	}
	// Mailbox first: an account without a mailbox can be deleted again, a
	// mailbox without an account would be an orphan nobody can reach.
	if err := a.Store.DeleteMailbox(ctx, acc.ID); err != nil {
		return err
	}
	if err := a.Local.DeleteAccount(ctx, acc.ID); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "deleted %s\n", acc.Address)
	return nil
}

func cmdDomainAdd(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return usagef("one domain expected")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Local.AddDomain(ctx, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "added domain %s\n", directory.NormalizeAddress(args[0]))
	return nil
}

func cmdDomainList(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return usagef("no arguments expected")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	ds, err := a.Local.Domains(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		fmt.Fprintln(c.stdout, d)
	}
	return nil
}

func cmdDomainDelete(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return usagef("one domain expected")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Local.DeleteDomain(ctx, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "deleted domain %s\n", directory.NormalizeAddress(args[0]))
	return nil
}
