package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"iamd/internal/pgtest"
)

// failovers is how many times TestPatroniFailover fails the leader: at
// least 5, more with IAMD_FAILOVERS.
func failovers() int {
	if n, err := strconv.Atoi(os.Getenv("IAMD_FAILOVERS")); err == nil && n > 5 {
		return n
	}
	return 5
}

// TestPatroniFailover is PostgreSQL failing over under iamd, as
// docs/OPERATIONS.md sets it up: three members under Patroni with etcd, in
// synchronous_mode_strict, two iamd nodes on the multi-host DSN
// (target_session_attrs=read-write), eight writers (CreateUser,
// CreateAccessKey, UpdateAccessKey, DeleteAccessKey, PutUserPolicy), and
// the leader's PostgreSQL failed over and over: SIGKILL of its postmaster
// (a crash) and SIGSTOP of its PostgreSQL and Patroni (a hang), in turn.
// Every acknowledged write holds on both nodes afterwards (creates exist
// and authenticate, deletes and deactivations hold, the last acknowledged
// policy is the one stored, no user holds three keys); keys made before
// are never refused on either node while it happens (the replicas decide).
func TestPatroniFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("fails PostgreSQL over five times")
	}
	started := time.Now()
	p := pgtest.NewPatroni(t)
	t.Logf("Patroni: three members and a synchronous standby in %v", time.Since(started).Truncate(time.Millisecond))
	a := start(t, func(c *Config) { c.DB, c.MasterKey = p.DSN, testMasterKey })
	b := start(t, func(c *Config) { c.DB, c.MasterKey = p.DSN, testMasterKey })

	// Keys made before, authenticated on both nodes throughout.
	var probers []*prober
	for i := range 3 {
		name := fmt.Sprintf("reader%d", i)
		mustUser(t, a, name)
		k := mustKey(t, a.root(), name)
		for _, n := range []*testServer{a, b} {
			c := n.sts(*k.AccessKeyId, *k.SecretAccessKey)
			probers = append(probers, &prober{name: name + " on " + n.URL, call: func(ctx context.Context) error {
				_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				return err
			}})
		}
	}
	lctx, stopProbes := context.WithCancel(ctx)
	var pwg sync.WaitGroup
	for _, pr := range probers {
		pr.run(lctx, 50*time.Millisecond, &pwg)
	}

	// One writer that notes when writes are accepted, to time each
	// failover's unavailability: from the signal to the answer of the
	// first write sent after it that was accepted.
	type write struct{ sent, answered time.Time }
	var okMu sync.Mutex
	var oks []write
	pwg.Go(func() {
		c := a.root()
		for i := 0; lctx.Err() == nil; i++ {
			wctx, cancel := context.WithTimeout(lctx, 10*time.Second)
			sent := time.Now()
			_, err := c.CreateUser(wctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("tick%d", i))})
			cancel()
			if err == nil {
				okMu.Lock()
				oks = append(oks, write{sent, time.Now()})
				okMu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	firstWriteAfter := func(at time.Time) (time.Duration, bool) {
		okMu.Lock()
		defer okMu.Unlock()
		for _, w := range oks {
			if w.sent.After(at) {
				return w.answered.Sub(at), true
			}
		}
		return 0, false
	}

	m := &model{keys: map[string]*modelKey{}}
	stop := make(chan struct{})
	wg := m.load([]string{a.URL, b.URL}, stop)
	rng := rand.New(rand.NewPCG(3, uint64(time.Now().UnixNano())))
	type round struct {
		sig                        syscall.Signal
		elected, writesBack, total time.Duration
	}
	var rounds []round
	for i := range failovers() {
		time.Sleep(time.Duration(1000+rng.IntN(2000)) * time.Millisecond)
		sig := syscall.SIGKILL
		if i%2 == 1 {
			sig = syscall.SIGSTOP
		}
		leader, at, elected := p.Failover(t, sig)
		t.Logf("failover %d: %v at %s, new leader %s", i+1, sig, at.UTC().Format("15:04:05.000"), leader.Name)
		var back time.Duration
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if d, ok := firstWriteAfter(at); ok {
				back = d
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("failover %d: no write accepted within 60 s of the new leader %s", i+1, leader.Name)
			}
		}
		rounds = append(rounds, round{sig, elected, back, time.Since(at)})
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	stopProbes()
	pwg.Wait()

	// Every acknowledged write holds, on both nodes.
	checkedA := m.check(t, a.URL)
	m.check(t, b.URL)
	t.Logf("failover: %d failovers under 8 writers and 2 nodes; acknowledged %d users, %d key creates, %d updates, %d deletes, %d policies (%d refused, %d unanswered); %d keys checked on both nodes, lost 0",
		len(rounds), m.acked.users, m.acked.creates, m.acked.updates, m.acked.deletes, m.acked.policies, m.acked.refused, m.acked.unknown, checkedA)
	for i, r := range rounds {
		how := "SIGKILL of the leader's postmaster (crash)"
		if r.sig == syscall.SIGSTOP {
			how = "SIGSTOP of the leader's PostgreSQL and Patroni (hang)"
		}
		t.Logf("  failover %d, %s: new leader elected after %v, writes accepted again after %v", i+1, how,
			r.elected.Truncate(time.Millisecond), r.writesBack.Truncate(time.Millisecond))
	}
	var answered, refused int64
	for _, pr := range probers {
		answered += pr.ok.Load() + pr.bad.Load()
		refused += pr.bad.Load()
		if pr.bad.Load() > 0 {
			t.Errorf("%s: %d authentications refused, the last: %v", pr.name, pr.bad.Load(), pr.lastBad)
		}
	}
	t.Logf("  authentications of keys made before, on both nodes: %d, refused: %d", answered, refused)
}
