package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/pochta/pochta/directory"
)

func init() {
	register(
		command{name: "token create", usage: "--name NAME --scope admin|read", help: "make a REST API token (printed once, on the last line)", run: cmdTokenCreate},
		command{name: "token list", help: "list the REST API tokens (never their secrets)", run: cmdTokenList},
		command{name: "token revoke", usage: "NAME|KEY-ID", help: "revoke a REST API token at once", run: cmdTokenRevoke},
	)
}

func cmdTokenCreate(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	name := fs.String("name", "", "a unique name saying who uses the token (\"provisioning\", \"monitoring\")")
	scope := fs.String("scope", "", "admin (read and change everything) or read (read only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *name == "" {
		return usagef("--name is required")
	}
	if !directory.ValidScope(*scope) {
		return usagef("--scope must be admin or read")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	token, info, err := a.Local.CreateAPIToken(ctx, *name, *scope)
	if err != nil {
		return err
	}
	// The token alone on the last line, so scripts can take it with tail -n1.
	fmt.Fprintf(c.stdout, "created %s token %q (key id %s); it is shown only now:\n%s\n", info.Scope, info.Name, info.KeyID, token)
	return nil
}

func cmdTokenList(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return usagef("no arguments expected")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	ts, err := a.Local.APITokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPE\tKEY ID\tCREATED\tLAST USED")
	for _, t := range ts {
		used := "never"
		if !t.LastUsed.IsZero() {
			used = t.LastUsed.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Scope, t.KeyID, t.Created.Local().Format(time.DateTime), used)
	}
	return tw.Flush()
}

func cmdTokenRevoke(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return usagef("one token name or key id expected")
	}
	a, err := c.openApp(ctx, adminCommand)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Local.RevokeAPIToken(ctx, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "revoked %s\n", args[0])
	return nil
}
