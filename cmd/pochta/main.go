// Command pochta is the whole Pochta mail server in one binary: the server
// itself (serve) and the administration commands that work on its data
// folder, also while the server runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// cli carries what a command may touch: its streams and environment.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	// configPath is the --config flag given before the command.
	configPath string
}

type command struct {
	name  string // "user add"
	usage string // arguments
	help  string
	run   func(ctx context.Context, c *cli, args []string) error
}

// commands is the table of subcommands; files add theirs in init (the
// table is fixed once main starts).
var commands []command

func register(cmds ...command) { commands = append(commands, cmds...) }

func init() {
	register(
		command{name: "version", help: "print the version", run: func(_ context.Context, c *cli, _ []string) error {
			fmt.Fprintln(c.stdout, "pochta", version)
			return nil
		}},
		command{name: "help", help: "list the commands", run: func(_ context.Context, c *cli, _ []string) error {
			usage(c.stdout)
			return nil
		}},
	)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: pochta [--config FILE] COMMAND [ARGS]\n\nCommands:\n")
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-34s %s\n", strings.TrimSpace(c.name+" "+c.usage), c.help)
	}
	fmt.Fprintf(w, "\nWithout --config the built-in defaults apply (data in ./pochta-data);\nPOCHTA_<SECTION>_<KEY> environment variables override file and defaults.\n")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()}
	args := os.Args[1:]
	// Called as sendmail (through a symlink): behave as "pochta sendmail".
	if base := filepath.Base(os.Args[0]); base == "sendmail" {
		args = append([]string{"sendmail"}, args...)
	}
	os.Exit(run(ctx, c, args))
}

// run dispatches a command line and returns the exit code.
func run(ctx context.Context, c *cli, args []string) int {
	fs := flag.NewFlagSet("pochta", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.configPath, "config", "", "TOML configuration file")
	fs.Usage = func() { usage(c.stderr) }
	// sendmail's own flags must not be taken for ours.
	if len(args) > 0 && args[0] == "sendmail" {
		fs = nil
	}
	if fs != nil {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		args = fs.Args()
	}
	if len(args) == 0 {
		usage(c.stderr)
		return 2
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		fmt.Fprintf(c.stderr, "pochta: unknown command %q\n\n", strings.Join(args, " "))
		usage(c.stderr)
		return 2
	}
	if err := cmd.run(ctx, c, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(c.stderr, "pochta %s: %v\nusage: pochta %s %s\n", cmd.name, err, cmd.name, cmd.usage)
			return 2
		}
		fmt.Fprintf(c.stderr, "pochta %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

// findCommand takes the longest command name that prefixes args.
func findCommand(args []string) (*command, []string) {
	var best *command
	bestLen := 0
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(words) <= len(args) && len(words) > bestLen && equalWords(words, args[:len(words)]) {
			best, bestLen = &commands[i], len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[bestLen:]
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// usageError marks a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }
