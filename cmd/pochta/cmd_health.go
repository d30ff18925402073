package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

func init() {
	register(command{name: "health", help: "ask the running server's /healthz (for container health checks)", run: cmdHealth})
}

func cmdHealth(ctx context.Context, c *cli, args []string) error {
	if len(args) != 0 {
		return usagef("no arguments expected")
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	addr := cfg.HTTP.Listen
	if addr == "" {
		return fmt.Errorf("no plain HTTP listener configured to ask")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(strings.Trim(host, "[]"), port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s", resp.Status)
	}
	fmt.Fprintln(c.stdout, "healthy")
	return nil
}
