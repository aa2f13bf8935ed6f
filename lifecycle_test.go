package iamd_test

import (
	"context"
	"errors"
	"testing"

	"iamd"
)

// TestTagsAndRenameApplyAtOnce: aws:PrincipalTag follows TagUser and
// UntagUser on the next request; after UpdateUser the user's key signs
// as the new name at once, and the old name is free.
func TestTagsAndRenameApplyAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newSessionFixture(t)
	f.userPolicy("alice", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*",
		"Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}}`)
	alice := f.caller("alice", "127.0.0.1")
	again := func() *iamd.Caller {
		cc, err := f.svc.Credential(ctx, alice.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		c := cc.Caller
		return &c
	}
	if err := f.svc.Authorize(ctx, again(), "iam:ListUsers", "*"); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Fatalf("untagged: %v", err)
	}
	if err := f.svc.TagUser(ctx, root, "alice", []iamd.Tag{{Key: "Team", Value: "blue"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Authorize(ctx, again(), "iam:ListUsers", "*"); err != nil {
		t.Fatalf("tagged blue: %v", err)
	}
	if err := f.svc.UntagUser(ctx, root, "alice", []string{"TEAM"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Authorize(ctx, again(), "iam:ListUsers", "*"); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Fatalf("untagged again: %v", err)
	}
	newName, newPath := "alicia", "/ops/"
	if err := f.svc.UpdateUser(ctx, root, "alice", &newName, &newPath); err != nil {
		t.Fatal(err)
	}
	if c := again(); c.ARN() != "arn:aws:iam::123456789012:user/ops/alicia" {
		t.Fatalf("the key signs as %s after the rename", c.ARN())
	}
	if _, err := f.svc.CreateUser(ctx, root, "alice", "/", nil); err != nil {
		t.Fatalf("the old name is not free: %v", err)
	}
	if err := f.svc.TagUser(ctx, root, "alicia", []iamd.Tag{{Key: "aws:x", Value: "y"}}); iamd.KindOf(err) != iamd.InvalidInput {
		t.Fatalf("reserved tag key: %v", err)
	}
}
