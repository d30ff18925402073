package main

import (
	"context"
	"errors"
	"net"
)

// twoListenerServer is a door served on a plain listener (with STARTTLS or
// STLS) and an implicit-TLS one by one server: IMAP and POP3.
type twoListenerServer interface {
	Serve(net.Listener) error
	ServeTLS(net.Listener) error
	Shutdown(context.Context) error
}

// serveTwoListeners opens the door's listeners that are configured and
// serves srv on them. closed is the error Serve returns after a shutdown,
// a normal end.
func serveTwoListeners(rg *runGroup, name, plainAddr, tlsAddr string, srv twoListenerServer, closed error) error {
	stopped := false
	stop := func(ctx context.Context) error {
		if stopped { // one server behind two listeners: stop it once
			return nil
		}
		stopped = true
		return srv.Shutdown(ctx)
	}
	serve := func(serve func(net.Listener) error) func(net.Listener) error {
		return func(ln net.Listener) error {
			if err := serve(ln); !errors.Is(err, closed) {
				return err
			}
			return nil
		}
	}
	if plainAddr != "" {
		ln, err := rg.Listen(name, plainAddr)
		if err != nil {
			return err
		}
		rg.Serve(name, ln, serve(srv.Serve), stop)
	}
	if tlsAddr != "" {
		ln, err := rg.Listen(name+"s", tlsAddr)
		if err != nil {
			return err
		}
		rg.Serve(name+"s", ln, serve(srv.ServeTLS), stop)
	}
	return nil
}
