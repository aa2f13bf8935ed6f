package iamd_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"iamd"
)

// userCaller returns the caller a request signed by the named user's key
// would have, with the request facts given.
func userCaller(t *testing.T, svc *iamd.Service, name string, req iamd.RequestInfo) *iamd.Caller {
	t.Helper()
	k, _, err := svc.CreateAccessKey(context.Background(), root, name)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := svc.Credential(context.Background(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := cc.Caller
	c.Request = req
	return &c
}

func put(t *testing.T, svc *iamd.Service, user, name, doc string) {
	t.Helper()
	if err := svc.PutInlinePolicy(context.Background(), root, iamd.Entity{Kind: iamd.EntityUser, Name: user}, name, doc); err != nil {
		t.Fatal(err)
	}
}

func allowed(err error) string {
	switch {
	case err == nil:
		return "allowed"
	case errors.Is(err, iamd.ErrAccessDenied):
		return "denied"
	}
	return "error: " + err.Error()
}

// TestAuthorizeActionsAndResources checks the action names and resource
// ARNs the Service asks about, through policies scoped to them.
func TestAuthorizeActionsAndResources(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)})
	svc.CreateUser(ctx, root, "op", "/ops/", nil)
	svc.CreateUser(ctx, root, "alice", "/team-a/", nil)
	svc.CreateUser(ctx, root, "bob", "/", nil)
	b, _, err := svc.CreateBucket(ctx, root, "logs", "small_1_0", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	svc.CreateBucket(ctx, root, "other", "small_1_0", nil, false)
	put(t, svc, "op", "scoped", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iam:ListAccessKeys","Resource":"arn:aws:iam::123456789012:user/team-a/*"},
		{"Effect":"Allow","Action":"iam:ListUsers","Resource":"arn:aws:iam::123456789012:user/team-a/"},
		{"Effect":"Allow","Action":"lightsail:GetBucketAccessKeys","Resource":"arn:aws:lightsail:us-east-1:123456789012:Bucket/`+b.ID+`"},
		{"Effect":"Allow","Action":"lightsail:GetBuckets","Resource":"*"},
		{"Effect":"Allow","Action":"sts:GetAccessKeyInfo","Resource":"*"}]}`)
	op := userCaller(t, svc, "op", iamd.RequestInfo{})
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"keys of a user under the path", second(svc.ListAccessKeys(ctx, op, "alice", iamd.Page{MaxItems: 10})), "allowed"},
		{"keys of a user elsewhere", second(svc.ListAccessKeys(ctx, op, "bob", iamd.Page{MaxItems: 10})), "denied"},
		{"its own keys", second(svc.ListAccessKeys(ctx, op, "", iamd.Page{MaxItems: 10})), "denied"},
		{"list users under the prefix", second(svc.ListUsers(ctx, op, "/team-a/", iamd.Page{MaxItems: 10})), "allowed"},
		{"list every user", second(svc.ListUsers(ctx, op, "/", iamd.Page{MaxItems: 10})), "denied"},
		{"keys of the allowed bucket", first(svc.ListBucketAccessKeys(ctx, op, "logs")), "allowed"},
		{"keys of another bucket", first(svc.ListBucketAccessKeys(ctx, op, "other")), "denied"},
		{"list buckets", second(svc.ListBuckets(ctx, op, iamd.Page{MaxItems: 10})), "allowed"},
		{"GetAccessKeyInfo", first(svc.AccessKeyAccount(ctx, op, "AKIAAAAAAAAAAAAAAAAA")), "error: The access key AKIAAAAAAAAAAAAAAAAA was not issued by this service."},
		{"create a bucket", second(svc.CreateBucket(ctx, op, "new", "small_1_0", nil, false)), "denied"},
	} {
		if got := allowed(tt.err); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	_, _, err = svc.ListAccessKeys(ctx, op, "bob", iamd.Page{MaxItems: 10})
	if want := "User: arn:aws:iam::123456789012:user/ops/op is not authorized to perform: iam:ListAccessKeys on resource: user bob because no identity-based policy allows the iam:ListAccessKeys action"; iamd.MessageOf(err) != want {
		t.Errorf("message %q", iamd.MessageOf(err))
	}
}

func first[A any](_ A, err error) error          { return err }
func second[A, B any](_ A, _ B, err error) error { return err }

// TestAuthorizeConditions: request facts reach the conditions.
func TestAuthorizeConditions(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	svc, _ := newService(t, c)
	svc.CreateUser(ctx, root, "ci", "/", []iamd.Tag{{Key: "team", Value: "a"}})
	put(t, svc, "ci", "cond", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*",
		"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"},
			"StringEquals":{"aws:PrincipalTag/team":"a","aws:RequestedRegion":"eu-west-1"},
			"DateLessThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"}}}]}`)
	good := iamd.RequestInfo{SourceIP: netip.MustParseAddr("10.1.2.3"), SecureTransport: true, Region: "eu-west-1"}
	for _, tt := range []struct {
		name string
		req  func(*iamd.RequestInfo)
		want string
	}{
		{"all conditions hold", func(*iamd.RequestInfo) {}, "allowed"},
		{"another network", func(r *iamd.RequestInfo) { r.SourceIP = netip.MustParseAddr("192.0.2.1") }, "denied"},
		{"plain HTTP", func(r *iamd.RequestInfo) { r.SecureTransport = false }, "denied"},
		{"another region", func(r *iamd.RequestInfo) { r.Region = "us-east-1" }, "denied"},
	} {
		req := good
		tt.req(&req)
		ci := userCaller(t, svc, "ci", req)
		if got := allowed(second(svc.ListUsers(ctx, ci, "/", iamd.Page{MaxItems: 1}))); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
		svc.DeleteAccessKey(ctx, root, "ci", ci.AccessKeyID)
	}
	ci := userCaller(t, svc, "ci", good)
	c.t = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) // past the date, and past the cache's TTL
	if got := allowed(second(svc.ListUsers(ctx, ci, "/", iamd.Page{MaxItems: 1}))); got != "denied" {
		t.Errorf("after the date: %s", got)
	}
}

// TestPolicyChangesApplyAtOnce: attaching, detaching, group membership and
// a new default version change the very next decision, cache or not.
func TestPolicyChangesApplyAtOnce(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)})
	svc.CreateUser(ctx, root, "u", "/", nil)
	u := userCaller(t, svc, "u", iamd.RequestInfo{})
	list := func() string { return allowed(second(svc.ListUsers(ctx, u, "/", iamd.Page{MaxItems: 1}))) }
	step := func(what string, err error, want string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := list(); got != want {
			t.Fatalf("after %s: %s, want %s", what, got, want)
		}
	}
	step("nothing", nil, "denied")
	user := iamd.Entity{Kind: iamd.EntityUser, Name: "u"}
	step("attach IAMReadOnlyAccess", svc.AttachPolicy(ctx, root, user, "arn:aws:iam::aws:policy/IAMReadOnlyAccess"), "allowed")
	step("detach it", svc.DetachPolicy(ctx, root, user, "arn:aws:iam::aws:policy/IAMReadOnlyAccess"), "denied")
	p, err := svc.CreatePolicy(ctx, root, "p", "/", "", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:List*","Resource":"*"}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := svc.CreateGroup(ctx, root, "g", "/")
	step("attach to the group", svc.AttachPolicy(ctx, root, iamd.Entity{Kind: iamd.EntityGroup, Name: g.Name}, p.ARN("123456789012")), "denied")
	step("join the group", svc.AddUserToGroup(ctx, root, "g", "u"), "allowed")
	step("a new default version", first(svc.CreatePolicyVersion(ctx, root, p.ARN("123456789012"), `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}}`, true)), "denied")
	step("back to v1", svc.SetDefaultPolicyVersion(ctx, root, p.ARN("123456789012"), "v1"), "allowed")
	step("an inline Deny", svc.PutInlinePolicy(ctx, root, user, "deny", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`), "denied")
	step("delete the Deny", svc.DeleteInlinePolicy(ctx, root, user, "deny"), "allowed")
	step("leave the group", svc.RemoveUserFromGroup(ctx, root, "g", "u"), "denied")
}

// TestBucketKeysKeepTheirScope: a bucket's key may use STS and nothing
// else, whatever policies exist.
func TestBucketKeysKeepTheirScope(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)})
	svc.CreateBucket(ctx, root, "logs", "small_1_0", nil, false)
	k, _, _, err := svc.CreateBucketAccessKey(ctx, root, "logs")
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := svc.Credential(ctx, k.ID)
	bk := &cc.Caller
	if got := allowed(first(svc.AccessKeyAccount(ctx, bk, k.ID))); got != "allowed" {
		t.Errorf("GetAccessKeyInfo: %s", got)
	}
	for name, err := range map[string]error{
		"ListBucketAccessKeys": first(svc.ListBucketAccessKeys(ctx, bk, "logs")),
		"ListUsers":            second(svc.ListUsers(ctx, bk, "/", iamd.Page{MaxItems: 1})),
		"CreatePolicy":         first(svc.CreatePolicy(ctx, bk, "p", "/", "", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, nil)),
	} {
		if got := allowed(err); got != "denied" {
			t.Errorf("%s: %s", name, got)
		}
	}
}

// TestMalformedPoliciesRefused: what iamd cannot evaluate is never stored.
func TestMalformedPoliciesRefused(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)})
	svc.CreateUser(ctx, root, "u", "/", nil)
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"SourceVpce":"x"}}}}`
	err := svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "u"}, "p", doc)
	if !errors.Is(err, iamd.ErrMalformed) || !strings.Contains(iamd.MessageOf(err), "SourceVpce") {
		t.Fatalf("PutInlinePolicy: %v", err)
	}
	if names, _, _ := svc.ListInlinePolicies(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "u"}, iamd.Page{MaxItems: 10}); len(names) != 0 {
		t.Fatalf("stored %v", names)
	}
	big := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::*:user/` + strings.Repeat("a", 6200) + `"}}`
	if _, err := svc.CreatePolicy(ctx, root, "big", "/", "", big, nil); !errors.Is(err, iamd.ErrLimitExceeded) {
		t.Fatalf("CreatePolicy of %d characters: %v", len(big), err)
	}
}

// TestDeniedResource: a refusal names the resource as AWS's public answers
// do.
func TestDeniedResource(t *testing.T) {
	for _, c := range []struct{ action, resource, want string }{
		{"iam:GetUser", "arn:aws:iam::123456789012:user/boundary", "user boundary"},             // hashicorp/boundary#3877
		{"iam:CreateAccessKey", "arn:aws:iam::123456789012:user/team-b/carl", "user carl"},      // the path is not shown
		{"iam:GetRole", "arn:aws:iam::123456789012:role/helloworld-dev", "role helloworld-dev"}, // aws/chalice#591
		{"iam:UpdateRole", "arn:aws:iam::123456789012:role/svc/op", "role op"},                  // alphagov/gsp#990
		{"iam:AddUserToGroup", "arn:aws:iam::123456789012:group/devs", "group devs"},
		{"iam:ListPolicyVersions", "arn:aws:iam::123456789012:policy/p1", "policy arn:aws:iam::123456789012:policy/p1"}, // aws-amplify/amplify-js#7540
		{"iam:CreateRole", "arn:aws:iam::123456789012:role/new", "arn:aws:iam::123456789012:role/new"},                  // serverless-components/backend#10
		{"iam:PassRole", "arn:aws:iam::123456789012:role/r", "arn:aws:iam::123456789012:role/r"},
		{"iam:ListUsers", "arn:aws:iam::123456789012:user/team-a/", "arn:aws:iam::123456789012:user/team-a/"},
		{"iam:ListUsers", "*", "*"},
		{"lightsail:GetBuckets", "arn:aws:lightsail:us-east-1:123456789012:Bucket/x", "arn:aws:lightsail:us-east-1:123456789012:Bucket/x"},
	} {
		if got := iamd.DeniedResource(c.action, c.resource); got != c.want {
			t.Errorf("%s on %s: %q, want %q", c.action, c.resource, got, c.want)
		}
	}
}

// abacPolicy lets a user manage only roles tagged with its own team: create
// them with that tag and no other, change and delete them, and never
// retag or untag their team. AWS's IAM tutorial's pattern
// (tutorial_attribute-based-access-control).
const abacPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"iam:CreateRole","Resource":"*","Condition":{
   "StringEquals":{"aws:RequestTag/team":"${aws:PrincipalTag/team}"},"ForAllValues:StringEquals":{"aws:TagKeys":["team","owner"]}}},
 {"Effect":"Allow","Action":["iam:UpdateRole","iam:TagRole","iam:UntagRole","iam:DeleteRole"],"Resource":"arn:aws:iam::*:role/*",
   "Condition":{"StringEquals":{"iam:ResourceTag/team":"${aws:PrincipalTag/team}"}}},
 {"Effect":"Deny","Action":["iam:TagRole","iam:UntagRole"],"Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}}]}`

// TestAttributeBasedAccessControl: aws:RequestTag/…, aws:TagKeys and
// iam:ResourceTag/… decide IAM actions as AWS documents them.
func TestAttributeBasedAccessControl(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)})
	if _, err := svc.CreateUser(ctx, root, "alice", "/", []iamd.Tag{{Key: "team", Value: "blue"}}); err != nil {
		t.Fatal(err)
	}
	put(t, svc, "alice", "abac", abacPolicy)
	alice := userCaller(t, svc, "alice", iamd.RequestInfo{})
	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`
	if _, err := svc.CreateRole(ctx, root, "red-app", "/", "", trust, 3600, []iamd.Tag{{Key: "Team", Value: "red"}}); err != nil {
		t.Fatal(err)
	}
	create := func(name string, tags ...iamd.Tag) func() error {
		return func() error { _, err := svc.CreateRole(ctx, alice, name, "/", "", trust, 3600, tags); return err }
	}
	for _, c := range []struct {
		what string
		do   func() error
		want string
	}{
		{"create tagged with its team", create("blue-app", iamd.Tag{Key: "team", Value: "blue"}), "allowed"},
		{"create tagged with another team", create("x1", iamd.Tag{Key: "team", Value: "red"}), "denied"},
		{"create untagged", create("x2"), "denied"},
		{"create with a tag key not allowed", create("x3", iamd.Tag{Key: "team", Value: "blue"}, iamd.Tag{Key: "cost", Value: "1"}), "denied"},
		{"create with team and owner", create("blue-2", iamd.Tag{Key: "team", Value: "blue"}, iamd.Tag{Key: "owner", Value: "alice"}), "allowed"},
		{"update its team's role", func() error { return svc.UpdateRole(ctx, alice, "blue-app", iamd.RoleUpdate{Description: aws("d")}) }, "allowed"},
		{"update another team's role (tag key in another case)", func() error { return svc.UpdateRole(ctx, alice, "red-app", iamd.RoleUpdate{Description: aws("d")}) }, "denied"},
		{"tag its team's role", func() error { return svc.TagRole(ctx, alice, "blue-app", []iamd.Tag{{Key: "owner", Value: "alice"}}) }, "allowed"},
		{"retag its team's role's team", func() error { return svc.TagRole(ctx, alice, "blue-app", []iamd.Tag{{Key: "team", Value: "red"}}) }, "denied"},
		{"untag its team's role's team", func() error { return svc.UntagRole(ctx, alice, "blue-app", []string{"team"}) }, "denied"},
		{"untag another key", func() error { return svc.UntagRole(ctx, alice, "blue-app", []string{"owner"}) }, "allowed"},
		{"delete another team's role", func() error { return svc.DeleteRole(ctx, alice, "red-app") }, "denied"},
		{"delete its team's role", func() error { return svc.DeleteRole(ctx, alice, "blue-2") }, "allowed"},
	} {
		if got := allowed(c.do()); got != c.want {
			t.Errorf("%s: %s, want %s", c.what, got, c.want)
		}
	}
}

// TestABACOnPolicies: iam:ResourceTag/… on a managed policy, and
// aws:RequestTag/… and aws:TagKeys when tagging it.
func TestABACOnPolicies(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)})
	if _, err := svc.CreateUser(ctx, root, "alice", "/", []iamd.Tag{{Key: "team", Value: "blue"}}); err != nil {
		t.Fatal(err)
	}
	put(t, svc, "alice", "abac", `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["iam:CreatePolicyVersion","iam:TagPolicy"],"Resource":"*","Condition":{"StringEquals":{"iam:ResourceTag/team":"${aws:PrincipalTag/team}"}}},
 {"Effect":"Deny","Action":"iam:TagPolicy","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}}]}`)
	alice := userCaller(t, svc, "alice", iamd.RequestInfo{})
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`
	for _, team := range []string{"blue", "red"} {
		if _, err := svc.CreatePolicy(ctx, root, team+"-read", "/", "", doc, []iamd.Tag{{Key: "team", Value: team}}); err != nil {
			t.Fatal(err)
		}
	}
	arn := func(name string) string { return "arn:aws:iam::123456789012:policy/" + name }
	for _, c := range []struct {
		what string
		err  error
		want string
	}{
		{"a version of its team's policy", func() error { _, err := svc.CreatePolicyVersion(ctx, alice, arn("blue-read"), doc, false); return err }(), "allowed"},
		{"a version of another team's", func() error { _, err := svc.CreatePolicyVersion(ctx, alice, arn("red-read"), doc, false); return err }(), "denied"},
		{"tag its team's policy", svc.TagPolicy(ctx, alice, arn("blue-read"), []iamd.Tag{{Key: "owner", Value: "alice"}}), "allowed"},
		{"retag its team", svc.TagPolicy(ctx, alice, arn("blue-read"), []iamd.Tag{{Key: "team", Value: "red"}}), "denied"},
	} {
		if got := allowed(c.err); got != c.want {
			t.Errorf("%s: %s, want %s", c.what, got, c.want)
		}
	}
}

func aws(s string) *string { return &s }
