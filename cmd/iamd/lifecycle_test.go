package main

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestMaxKeyAge: with a maximum key age of one day, a key made two days
// ago is Expired in ListAccessKeys, refused, cannot be made Active again
// and can be deleted; a fresh key of the same user is unaffected.
func TestMaxKeyAge(t *testing.T) {
	clk := &testClock{}
	s := start(t, func(c *Config) { c.Now = clk.now; c.MaxKeyAge = "1d" })
	mustUser(t, s, "alice")
	old := mustKey(t, s.root(), "alice")
	clk.advance(48 * time.Hour)
	fresh := mustKey(t, s.root(), "alice")

	keys, err := s.root().ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]iamtypes.StatusType{}
	for _, k := range keys.AccessKeyMetadata {
		status[*k.AccessKeyId] = k.Status
	}
	if status[*old.AccessKeyId] != iamtypes.StatusTypeExpired || status[*fresh.AccessKeyId] != iamtypes.StatusTypeActive {
		t.Fatalf("statuses %v", status)
	}
	_, err = s.sts(*old.AccessKeyId, *old.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	if _, err := s.sts(*fresh.AccessKeyId, *fresh.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("the fresh key: %v", err)
	}
	for _, st := range []iamtypes.StatusType{iamtypes.StatusTypeActive, iamtypes.StatusTypeInactive} {
		_, err = s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: old.AccessKeyId, Status: st})
		wantAPIError(t, err, "InvalidInput", 400)
	}
	_, err = s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: old.AccessKeyId, Status: iamtypes.StatusTypeExpired})
	wantAPIError(t, err, "InvalidInput", 400)
	if _, err := s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: old.AccessKeyId}); err != nil {
		t.Fatalf("deleting the expired key: %v", err)
	}
	// The root's key is exempt: rotating it is the operator's (IAMD_ROOT_*).
	if _, err := s.root().ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("the root after two days: %v", err)
	}
}
