// Command iamd is a self-hosted, AWS-compatible access-key service.
//
//	iamd serve [flags]
//	iamd migrate [flags]
//	iamd proxy [flags]
//
// Every flag also reads an environment variable; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, errHelp) {
			fmt.Fprintln(os.Stderr, "iamd:", err)
		}
		os.Exit(2)
	}
}

var errHelp = errors.New("help")

func run(args []string, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "serve" && args[0] != "migrate" && args[0] != "proxy") {
		fmt.Fprintln(stderr, "usage: iamd serve [flags]    run the server (iamd serve -h lists the flags)\n       iamd migrate [flags]  bring the database's schema up to date, then exit\n       iamd proxy [flags]    an authenticating front for an HTTP API (iamd proxy -h lists the flags)")
		return errHelp
	}
	if args[0] == "proxy" {
		pc, err := ParseProxyConfig(args[1:], os.Getenv, stderr)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runProxy(ctx, pc, stderr)
	}
	cfg, err := ParseConfig(args[1:], os.Getenv, stderr)
	if err != nil {
		return err
	}
	// Every file iamd makes (the database and its journal, the master key,
	// the root's credentials) is for its own user only.
	syscall.Umask(0o077)
	if args[0] == "migrate" {
		st, name, err := openStore(context.Background(), cfg, true)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "iamd: the schema of", name, "is current")
		return st.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain(cfg, stderr)
	if err := m.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return m.Close()
}
