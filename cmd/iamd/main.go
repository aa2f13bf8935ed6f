// Command iamd is a self-hosted, AWS-compatible access-key service.
//
//	iamd serve [flags]              run the server
//	iamd migrate [flags]            bring the database's schema up to date
//	iamd backup --to FILE [flags]   copy the SQLite database, online
//	iamd rotate-master-key [flags]  re-encrypt every secret under a new master key
//	iamd proxy [flags]              an authenticating front for an HTTP API
//	iamd version
//
// Every flag also reads an environment variable; see docs/OPERATIONS.md.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, errHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "iamd:", err)
		os.Exit(2)
	}
}

var (
	// errHelp: help was asked for and printed.
	errHelp = errors.New("help")
	// errUsage: the command line names no command; usage was printed.
	errUsage = errors.New("usage")
)

const usage = `usage: iamd <command> [flags]      (iamd <command> -h lists a command's flags)

  serve              run the server
  migrate            bring the database's schema up to date, then exit
  backup --to FILE   copy the SQLite database while the server runs
  rotate-master-key  re-encrypt every stored secret under a new master key (server stopped)
  proxy              an authenticating front for an HTTP API
  version            print the version and the revision it was built from
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return errHelp
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, version())
		return nil
	case "proxy":
		pc, err := ParseProxyConfig(args[1:], os.Getenv, stdout)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runProxy(ctx, pc, stderr)
	case "migrate":
		return runMigrate(args[1:], stdout, stderr)
	case "backup":
		return runBackup(args[1:], stdout, stderr)
	case "rotate-master-key":
		return runRotate(args[1:], stdout, stderr)
	case "serve":
	default:
		fmt.Fprintf(stderr, "iamd: unknown command %q\n%s", args[0], usage)
		return errUsage
	}
	cfg, err := ParseConfig(args[1:], os.Getenv, stdout)
	if err != nil {
		return err
	}
	// Every file iamd makes (the database and its journal, the master key,
	// the root's credentials) is for its own user only.
	syscall.Umask(0o077)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got os.Signal
	go func() {
		select {
		case got = <-signals:
			cancel()
		case <-ctx.Done():
		}
	}()
	m := NewMain(cfg, stderr)
	if err := m.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.log.Info("shutting down: answering the requests in flight, then stopping", "signal", fmt.Sprint(got))
	return m.Close()
}

// buildVersion is the release's version, set by scripts/release
// (-ldflags "-X main.buildVersion=v1.2.3"); empty in other builds.
var buildVersion string

// version is the release or module version and the VCS revision of the
// build.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "iamd " + cmp.Or(buildVersion, "(no build information)")
	}
	v := "iamd " + cmp.Or(buildVersion, bi.Main.Version)
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev != "" {
		v += " " + rev + " " + at + modified
	}
	return v + " " + bi.GoVersion
}
