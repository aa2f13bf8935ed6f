package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"iamd/internal/pgtest"
)

// TestPGReplicaFollowsStandby is a node far from the primary, the shape of
// a second region: its replica follows a streaming standby (polled: NOTIFY
// does not reach a standby) while its writes go to the primary. It reads
// its own writes (it waits for the standby to replay them), and it prints
// how far behind the primary it runs: from a change acknowledged by a
// node on the primary to the distant node deciding by it, for a new key
// (found on its first use: a miss reads the standby's log) and for a
// deleted one (learnt at the next poll).
func TestPGReplicaFollowsStandby(t *testing.T) {
	pg := pgtest.NewCluster(t)
	a := start(t, func(c *Config) { c.DB, c.MasterKey = pg.DSN, testMasterKey })
	sb := pg.Standby(t) // of a migrated primary
	far := start(t, func(c *Config) { c.DB, c.MasterKey, c.ReplicaDB = pg.DSN, testMasterKey, sb.DSN })

	// Read-your-writes on the distant node.
	mustUser(t, far, "own")
	k := mustKey(t, far.root(), "own")
	if _, err := far.sts(*k.AccessKeyId, *k.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("the distant node's own new key: %v", err)
	}
	if _, err := far.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("own"), AccessKeyId: k.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := far.sts(*k.AccessKeyId, *k.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		t.Fatal("the distant node accepts a key it deleted itself")
	}

	const n = 100
	var found, revoked []time.Duration
	for i := range n {
		user := fmt.Sprintf("u%d", i)
		mustUser(t, a, user)
		k := mustKey(t, a.root(), user)
		acked := time.Now()
		c := far.sts(*k.AccessKeyId, *k.SecretAccessKey)
		for {
			if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
				break
			}
			if time.Since(acked) > 10*time.Second {
				t.Fatalf("a key made on the primary is not found on the distant node 10 s later")
			}
			time.Sleep(time.Millisecond)
		}
		found = append(found, time.Since(acked))
		if _, err := a.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: k.AccessKeyId}); err != nil {
			t.Fatal(err)
		}
		acked = time.Now()
		for {
			if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				break
			}
			if time.Since(acked) > 10*time.Second {
				t.Fatalf("a key deleted on the primary is accepted on the distant node 10 s later")
			}
			time.Sleep(time.Millisecond)
		}
		revoked = append(revoked, time.Since(acked))
	}
	pct := func(ds []time.Duration, p int) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[min(len(s)-1, len(s)*p/100)].Round(100 * time.Microsecond)
	}
	t.Logf("a node following a standby (poll 100 ms), %d changes each: a new key decided by it after p50 %v, p99 %v, max %v; a deleted key refused after p50 %v, p99 %v, max %v",
		n, pct(found, 50), pct(found, 99), pct(found, 100), pct(revoked, 50), pct(revoked, 99), pct(revoked, 100))
	if worst := pct(revoked, 100); worst > time.Second {
		t.Errorf("a deletion reached the distant node after %v, over the second documented", worst)
	}
}
