// Command iamd-load drives an IAM/STS endpoint with aws-sdk-go-v2 (retries
// off) and prints ok/s, p50, p99 and errors. With -compare it runs the same
// scenario against a do-nothing reference handler and moto_server too
// (which must be on PATH: pip's moto[server]), so that every figure comes
// with its ratios from the same run. The users it makes live under the path
// /iamd-load/<run>/ and are deleted when it ends, unless -keep; the peers
// it starts are stopped however it ends.
//
//	iamd-load -endpoint http://127.0.0.1:8600 -credentials iamd-data/root-credentials \
//	    -op caller-identity -c 8 -d 10s -compare null,moto
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.endpoint, "endpoint", "http://127.0.0.1:8600", "endpoint of the server under test")
	flag.StringVar(&o.credentials, "credentials", "", "shared-credentials file (e.g. iamd-data/root-credentials); default: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	flag.StringVar(&o.profile, "profile", "default", "the profile of -credentials to use")
	flag.StringVar(&o.region, "region", "us-east-1", "signing region")
	flag.StringVar(&o.ops, "op", "caller-identity", "comma-separated: caller-identity, session-caller-identity, create-delete, list-access-keys, create-user, mix")
	flag.IntVar(&o.concurrency, "c", 8, "concurrent clients (one connection each)")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "measured duration per scenario")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up per scenario")
	flag.IntVar(&o.preload, "preload-users", 0, "users to create before measuring")
	flag.IntVar(&o.keysPerUser, "keys-per-user", 1, "access keys to give each preloaded user (at most 2)")
	flag.IntVar(&o.rounds, "rounds", 1, "measure each target this many times, alternating targets, and report the median round")
	flag.StringVar(&o.compare, "compare", "", "also run against: null (a do-nothing handler started here), moto (moto_server, which must be on PATH, started here)")
	flag.BoolVar(&o.keep, "keep", false, "keep the users this run made (under /iamd-load/<run>/) instead of deleting them at the end")
	serveNullAddr := flag.String("serve-null", "", "internal: serve the do-nothing reference handler on this address")
	flag.Parse()
	if *serveNullAddr != "" {
		fmt.Fprintln(os.Stderr, "iamd-load:", serveNull(*serveNullAddr))
		os.Exit(1)
	}
	// An interrupt ends the run the same way: peers stopped, users removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "iamd-load:", err)
		os.Exit(1)
	}
}

type options struct {
	endpoint, credentials, profile, region, ops, compare string
	concurrency, preload, rounds, keysPerUser            int
	duration, warmup                                     time.Duration
	keep                                                 bool
}

// target is a server to measure.
type target struct {
	name           string
	endpoint       string
	id, secret     string
	stop           func()
	usersPrepared  bool
	preloadedUsers int
}

func run(ctx context.Context, o options) error {
	id, secret, err := readCredentials(o.credentials, o.profile)
	if err != nil {
		return err
	}
	targets := []*target{{name: "iamd", endpoint: o.endpoint, id: id, secret: secret}}
	defer func() {
		for _, t := range targets {
			if t.stop != nil {
				t.stop()
			}
		}
	}()
	if !o.keep {
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if n, err := cleanUp(ctx, targets[0], o.region); err != nil {
				fmt.Fprintf(os.Stderr, "iamd-load: deleting the %d users under %s: %v\n", n, runPath, err)
			} else if n > 0 {
				fmt.Fprintf(os.Stderr, "iamd-load: deleted the %d users this run made (under %s)\n", n, runPath)
			}
		}()
	}
	for _, c := range strings.Split(o.compare, ",") {
		switch strings.TrimSpace(c) {
		case "":
		case "null":
			t, err := startNull()
			if err != nil {
				return err
			}
			targets = append(targets, t)
		case "moto":
			t, err := startMoto(ctx)
			if err != nil {
				return err
			}
			targets = append(targets, t)
		default:
			return fmt.Errorf("-compare: unknown target %q", c)
		}
	}
	if o.preload > 0 {
		start := time.Now()
		n, err := preload(ctx, targets[0], o)
		if err != nil {
			return fmt.Errorf("preload: %w", err)
		}
		took := time.Since(start)
		fmt.Printf("preloaded %d users with %d keys each into %s in %v (%.0f writes/s)\n", n, o.keysPerUser, targets[0].endpoint,
			took.Round(time.Millisecond), float64(n*(1+o.keysPerUser))/took.Seconds())
	}
	fmt.Printf("%-23s %-6s %5s %10s %9s %9s %7s %9s %9s\n", "scenario", "target", "conns", "ok/s", "p50", "p99", "errors", "vs null", "vs moto")
	var ops []string
	for _, op := range strings.Split(o.ops, ",") {
		op = strings.TrimSpace(op)
		if _, ok := scenarios[op]; !ok {
			return fmt.Errorf("-op: unknown scenario %q", op)
		}
		ops = append(ops, op)
	}
	// Rounds interleave scenarios and targets, so that a drift of the
	// machine's speed weighs on all of them alike.
	rounds := map[string]map[string][]result{} // op → target → rounds
	for range max(o.rounds, 1) {
		for _, op := range ops {
			if rounds[op] == nil {
				rounds[op] = map[string][]result{}
			}
			for _, t := range targets {
				r, err := measure(ctx, t, op, o)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", op, t.name, err)
				}
				rounds[op][t.name] = append(rounds[op][t.name], r)
			}
		}
	}
	for _, op := range ops {
		results := map[string]result{}
		for name, rs := range rounds[op] {
			sort.Slice(rs, func(i, j int) bool { return rs[i].rate() < rs[j].rate() })
			results[name] = rs[len(rs)/2]
		}
		for _, t := range targets {
			r := results[t.name]
			fmt.Printf("%-23s %-6s %5d %10.0f %9s %9s %7d %9s %9s\n", op, t.name, o.concurrency, r.rate(),
				r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors,
				ratio(r, results, "null"), ratio(r, results, "moto"))
		}
		if e := results["iamd"].firstErr; e != nil {
			fmt.Printf("  first iamd error: %v\n", e)
		}
	}
	return nil
}

func ratio(r result, all map[string]result, base string) string {
	b, ok := all[base]
	if !ok || b.rate() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", r.rate()/b.rate())
}

// readCredentials reads the key of profile from a shared-credentials
// file, or from the environment.
func readCredentials(file, profile string) (string, string, error) {
	if file == "" {
		id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if id == "" || secret == "" {
			return "", "", fmt.Errorf("give -credentials or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
		return id, secret, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", "", err
	}
	var id, secret, section string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != profile {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || secret == "" {
		return "", "", fmt.Errorf("%s has no aws_access_key_id and aws_secret_access_key in [%s]", file, profile)
	}
	return id, secret, nil
}
