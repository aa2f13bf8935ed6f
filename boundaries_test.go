package iamd_test

import (
	"context"
	"strings"
	"testing"

	"iamd"
)

const (
	everything = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	// limits allows reading IAM and managing roles, and denies deleting
	// users outright.
	limits = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:CreateRole","iam:PutRolePermissionsBoundary","iam:DeleteRole","iam:DeleteRolePermissionsBoundary"],"Resource":"*"},
 {"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}]}`
	boundaryARN = "arn:aws:iam::" + acct + ":policy/limits"
	// delegate may create roles only with the limits boundary, and may not
	// remove a boundary: AWS's "delegate role creation" pattern.
	delegate = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["iam:CreateRole","iam:PutRolePermissionsBoundary"],"Resource":"*","Condition":{"StringEquals":{"iam:PermissionsBoundary":"` + boundaryARN + `"}}},
 {"Effect":"Allow","Action":["iam:GetRole","iam:DeleteRole"],"Resource":"*"},
 {"Effect":"Deny","Action":"iam:DeleteRolePermissionsBoundary","Resource":"*"}]}`
)

// TestPermissionsBoundaries: a boundary bounds what identity policies
// grant (the intersection; an explicit deny in it wins), for a user and
// for a role's sessions; iam:PermissionsBoundary lets an administrator
// delegate role creation under a boundary; a boundary whose policy is gone
// allows nothing.
func TestPermissionsBoundaries(t *testing.T) {
	ctx := context.Background()
	f := newSessionFixture(t)
	if _, err := f.svc.CreatePolicy(ctx, root, "limits", "/", "", limits, nil); err != nil {
		t.Fatal(err)
	}
	createUser := func(c *iamd.Caller, name string) error {
		_, err := f.svc.CreateUser(ctx, c, name, "/", nil)
		return err
	}
	refresh := func(c *iamd.Caller) *iamd.Caller {
		cc, err := f.svc.Credential(ctx, c.AccessKeyID)
		if err != nil {
			t.Fatal(err)
		}
		out := cc.Caller
		return &out
	}
	f.userPolicy("alice", everything)
	alice := f.caller("alice", "127.0.0.1")
	if err := createUser(alice, "probe"); err != nil {
		t.Fatalf("unbounded, alice creates a user: %v", err)
	}
	if err := f.svc.PutPermissionsBoundary(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, "ARN:aws:iam::"+acct+":policy/LIMITS"); err == nil {
		t.Fatal("a boundary ARN that is not an ARN was accepted")
	}
	if err := f.svc.PutPermissionsBoundary(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, "arn:aws:iam::"+acct+":policy/LIMITS"); err != nil {
		t.Fatal(err)
	}
	u, err := f.svc.GetUser(ctx, root, "alice")
	if err != nil || u.Boundary != boundaryARN {
		t.Fatalf("the boundary as stored: %+v %v (want the policy's own spelling)", u, err)
	}
	alice = refresh(alice) // its credential is read again, as after any change
	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"}}`
	for _, c := range []struct {
		what string
		do   func() error
		want string
	}{
		{"within both: GetUser", func() error { _, err := f.svc.GetUser(ctx, alice, "bob"); return err }, "allowed"},
		{"identity only: CreateUser", func() error { return createUser(alice, "x") }, "denied"},
		{"denied by the boundary: DeleteUser", func() error { return f.svc.DeleteUser(ctx, alice, "probe") }, "denied"},
		{"within both: CreateRole", func() error { _, err := f.svc.CreateRole(ctx, alice, "r1", "/", "", trust, 0, nil); return err }, "allowed"},
	} {
		if got := allowed(c.do()); got != c.want {
			t.Errorf("%s: %s, want %s", c.what, got, c.want)
		}
	}
	if err := f.svc.DeleteUser(ctx, alice, "probe"); err == nil || !strings.Contains(iamd.MessageOf(err), "explicit deny") {
		t.Errorf("the boundary's Deny is explicit: %v", err)
	}
	// The simulator agrees, with the user's own boundary and with one
	// given in its place.
	res, err := f.svc.SimulatePrincipalPolicy(ctx, root, "arn:aws:iam::"+acct+":user/alice", iamd.SimulationInput{
		Actions: []string{"iam:GetUser", "iam:CreateUser", "iam:DeleteUser"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"allowed", "implicitDeny", "explicitDeny"} {
		if res[i].Decision.String() != want || res[i].BoundaryAllowed == nil || *res[i].BoundaryAllowed != (want == "allowed") {
			t.Errorf("simulating %s: %s (boundary allows: %v), want %s", res[i].Action, res[i].Decision, res[i].BoundaryAllowed, want)
		}
	}
	res, err = f.svc.SimulatePrincipalPolicy(ctx, root, "arn:aws:iam::"+acct+":user/alice", iamd.SimulationInput{
		Actions: []string{"iam:CreateUser"}, Boundaries: []string{everything}})
	if err != nil || res[0].Decision.String() != "allowed" {
		t.Errorf("simulating CreateUser under a boundary that allows it: %+v %v", res, err)
	}

	// Delegation: bob may create roles only under the limits boundary.
	f.userPolicy("bob", delegate)
	bob := f.caller("bob", "127.0.0.1")
	create := func(name string, opts ...iamd.CreateOption) func() error {
		return func() error { _, err := f.svc.CreateRole(ctx, bob, name, "/", "", trust, 0, nil, opts...); return err }
	}
	other := "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
	for _, c := range []struct {
		what string
		do   func() error
		want string
	}{
		{"a role without a boundary", create("d1"), "denied"},
		{"a role under another boundary", create("d2", iamd.WithBoundary(other)), "denied"},
		{"a role under the boundary", create("d3", iamd.WithBoundary(boundaryARN)), "allowed"},
		{"move it to another boundary", func() error {
			return f.svc.PutPermissionsBoundary(ctx, bob, iamd.Entity{Kind: iamd.EntityRole, Name: "d3"}, other)
		}, "denied"},
		{"remove its boundary", func() error {
			return f.svc.DeletePermissionsBoundary(ctx, bob, iamd.Entity{Kind: iamd.EntityRole, Name: "d3"})
		}, "denied"},
	} {
		if got := allowed(c.do()); got != c.want {
			t.Errorf("delegation, %s: %s, want %s", c.what, got, c.want)
		}
	}

	// A role's sessions are bounded by the role's boundary.
	f.role("ops", "/", trustOf(`"*"`, ""), everything)
	if err := f.svc.PutPermissionsBoundary(ctx, root, iamd.Entity{Kind: iamd.EntityRole, Name: "ops"}, boundaryARN); err != nil {
		t.Fatal(err)
	}
	f.userPolicy("alice", everything)
	if err := f.svc.DeletePermissionsBoundary(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	sess := f.assumed(refresh(alice), iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/ops", SessionName: "s"})
	if got := allowed(func() error { _, err := f.svc.GetUser(ctx, sess, "bob"); return err }()); got != "allowed" {
		t.Errorf("the session, within the boundary: %s", got)
	}
	if got := allowed(createUser(sess, "y")); got != "denied" {
		t.Errorf("the session, beyond the boundary: %s", got)
	}

	// The boundary's policy deleted: the role's sessions may do nothing.
	if err := f.svc.DeletePermissionsBoundary(ctx, root, iamd.Entity{Kind: iamd.EntityRole, Name: "d3"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeletePolicy(ctx, root, boundaryARN); err != nil {
		t.Fatalf("DeletePolicy: %v", err)
	}
	sess = f.assumed(refresh(alice), iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/ops", SessionName: "s2"})
	if got := allowed(func() error { _, err := f.svc.GetUser(ctx, sess, "bob"); return err }()); got != "denied" {
		t.Errorf("a boundary whose policy is gone: %s, want denied", got)
	}
}
