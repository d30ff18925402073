package main

import (
	"context"
	"fmt"

	"github.com/pochta/pochta/internal/config"
)

func init() {
	register(
		command{name: "config check", help: "load the configuration and report the first problem", run: cmdConfigCheck},
		command{name: "config example", help: "print a commented configuration file with every setting and its default", run: cmdConfigExample},
	)
}

func cmdConfigCheck(_ context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return usagef("no arguments expected")
	}
	if _, err := c.loadConfig(); err != nil {
		return err
	}
	src := "built-in defaults"
	if c.configPath != "" {
		src = c.configPath
	}
	fmt.Fprintf(c.stdout, "configuration OK (%s)\n", src)
	return nil
}

func cmdConfigExample(_ context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return usagef("no arguments expected")
	}
	_, err := fmt.Fprint(c.stdout, config.Example())
	return err
}
