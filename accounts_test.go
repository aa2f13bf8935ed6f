package iamd_test

import (
	"context"
	"testing"
	"time"

	"iamd"
	"iamd/internal/svctest"
	"iamd/policy"
)

// TestObjectsOfAnotherAccount: an account's own policies open its own
// buckets and none of another account's, its root's neither; a bucket
// iamd does not know (the object store's own) is the first account's; an
// ARN naming an account is that account's.
func TestObjectsOfAnotherAccount(t *testing.T) {
	ctx := context.Background()
	env := svctest.New(t, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	const other = "210987654321"
	member, err := iamd.NewService(ctx, iamd.Config{Store: env.Store.In(other), Sealer: env.Sealer, Account: iamd.Account{ID: other}, Now: env.Clock.Now, Member: true})
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	memberRoot := &iamd.Caller{Kind: iamd.CallerRoot, Account: other}
	for _, b := range []struct {
		svc  *iamd.Service
		c    *iamd.Caller
		name string
	}{{env.Service, svctest.Root, "first-bucket"}, {member, memberRoot, "member-bucket"}} {
		if _, _, err := b.svc.CreateBucket(ctx, b.c, b.name, "small_1_0", nil, false); err != nil {
			t.Fatal(err)
		}
	}
	rootKeys := map[*iamd.Service]string{}
	for svc, id := range map[*iamd.Service]string{env.Service: "AKIAFIRSTROOT0000001", member: "AKIAOTHERROOT0000001"} {
		if err := svc.EnsureRootKey(ctx, id, "secret-of-"+id); err != nil {
			t.Fatal(err)
		}
		rootKeys[svc] = id
	}
	resources := []string{"arn:aws:s3:::first-bucket/x", "arn:aws:s3:::member-bucket/x", "arn:aws:s3:::unknown-bucket", "*",
		"arn:aws:execute-api:us-east-1:" + svctest.Account + ":api1/prod/GET/x"}
	for _, tt := range []struct {
		svc  *iamd.Service
		want []policy.Decision
	}{
		{env.Service, []policy.Decision{policy.Allowed, policy.ImplicitDeny, policy.Allowed, policy.Allowed, policy.Allowed}},
		{member, []policy.Decision{policy.ImplicitDeny, policy.Allowed, policy.ImplicitDeny, policy.Allowed, policy.ImplicitDeny}},
	} {
		ds, who, err := tt.svc.DecideObjects(ctx, iamd.ObjectRequest{AccessKeyID: rootKeys[tt.svc], Actions: []string{"s3:GetObject"}, Resources: resources})
		if err != nil {
			t.Fatal(err)
		}
		for i, res := range resources {
			if ds[i][0] != tt.want[i] {
				t.Errorf("%s's root on %s: %v, want %v", who.Account, res, ds[i][0], tt.want[i])
			}
		}
	}
}
