package authdetails_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"iamd"
	"iamd/authdetails"
	"iamd/internal/svctest"
)

var ctx = context.Background()

var root = &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}

func service(t *testing.T) *iamd.Service {
	t.Helper()
	return svctest.New(t, time.Now()).Service
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const allow = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`

// TestDetails: every entity with the policies that apply to it; managed
// policies with every version's document, AWS-managed ones only when
// attached; paging that visits each entity once; the filter; and a caller
// needs iam:GetAccountAuthorizationDetails and nothing else.
func TestDetails(t *testing.T) {
	svc := service(t)
	_, err := svc.CreateUser(ctx, root, "alice", "/team/", []iamd.Tag{{Key: "team", Value: "blue"}})
	must(t, err)
	_, err = svc.CreateUser(ctx, root, "auditor", "/", nil)
	must(t, err)
	_, err = svc.CreateGroup(ctx, root, "devs", "/")
	must(t, err)
	must(t, svc.AddUserToGroup(ctx, root, "devs", "alice"))
	must(t, svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, "own", allow))
	must(t, svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityGroup, Name: "devs"}, "shared", allow))
	p, err := svc.CreatePolicy(ctx, root, "read", "/", "reads", allow, nil)
	must(t, err)
	arn := p.ARN("123456789012")
	_, err = svc.CreatePolicyVersion(ctx, root, arn, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, true)
	must(t, err)
	must(t, svc.AttachPolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, arn))
	_, err = svc.CreateRole(ctx, root, "deploy", "/", "", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`, 3600, nil)
	must(t, err)
	must(t, svc.AttachPolicy(ctx, root, iamd.Entity{Kind: iamd.EntityRole, Name: "deploy"}, "arn:aws:iam::aws:policy/IAMReadOnlyAccess"))

	d, err := authdetails.Get(ctx, svc, root, authdetails.Filter{}, iamd.Page{MaxItems: 100})
	must(t, err)
	if len(d.Users) != 2 || len(d.Groups) != 1 || len(d.Roles) != 1 || d.Truncated {
		t.Fatalf("users %d, groups %d, roles %d, truncated %v", len(d.Users), len(d.Groups), len(d.Roles), d.Truncated)
	}
	alice := d.Users[0]
	if alice.Name != "alice" || len(alice.Inline) != 1 || alice.Inline[0].Document != allow || len(alice.Attached) != 1 ||
		alice.Attached[0].ARN != arn || !slices.Equal(alice.Groups, []string{"devs"}) {
		t.Errorf("alice: %+v", alice)
	}
	if g := d.Groups[0]; len(g.Inline) != 1 || g.Inline[0].Name != "shared" {
		t.Errorf("devs: %+v", g)
	}
	if r := d.Roles[0]; len(r.Attached) != 1 || r.Attached[0].ARN != "arn:aws:iam::aws:policy/IAMReadOnlyAccess" {
		t.Errorf("deploy: %+v", r)
	}
	var names []string
	for _, p := range d.Policies {
		names = append(names, p.Name)
		if p.Name == "read" && (len(p.Versions) != 2 || p.Versions[0].Document == "" || p.AttachmentCount != 1) {
			t.Errorf("read: %d versions, %d attachments", len(p.Versions), p.AttachmentCount)
		}
	}
	if !slices.Equal(names, []string{"read", "IAMReadOnlyAccess"}) {
		t.Errorf("policies %v: want the local one and the attached AWS-managed one", names)
	}

	// Two at a time: every entity once, in order.
	var seen []string
	page := iamd.Page{MaxItems: 2}
	for i := 0; ; i++ {
		d, err := authdetails.Get(ctx, svc, root, authdetails.Filter{}, page)
		must(t, err)
		for _, u := range d.Users {
			seen = append(seen, "user "+u.Name)
		}
		for _, g := range d.Groups {
			seen = append(seen, "group "+g.Name)
		}
		for _, r := range d.Roles {
			seen = append(seen, "role "+r.Name)
		}
		for _, p := range d.Policies {
			seen = append(seen, "policy "+p.Name)
		}
		if !d.Truncated {
			break
		}
		page.Marker = d.Marker
		if i > 10 {
			t.Fatal("no end")
		}
	}
	if want := []string{"user alice", "user auditor", "group devs", "role deploy", "policy read", "policy IAMReadOnlyAccess"}; !slices.Equal(seen, want) {
		t.Errorf("pages: %v, want %v", seen, want)
	}
	if _, err := authdetails.Get(ctx, svc, root, authdetails.Filter{}, iamd.Page{MaxItems: 2, Marker: "x"}); iamd.KindOf(err) != iamd.InvalidInput {
		t.Errorf("a foreign marker: %v", err)
	}

	d, err = authdetails.Get(ctx, svc, root, authdetails.Filter{Roles: true, AWSPolicies: true}, iamd.Page{MaxItems: 100})
	must(t, err)
	if len(d.Users)+len(d.Groups) != 0 || len(d.Roles) != 1 || len(d.Policies) != 1 {
		t.Errorf("filter Role, AWSManagedPolicy: %d users, %d groups, %d roles, %d policies", len(d.Users), len(d.Groups), len(d.Roles), len(d.Policies))
	}

	// A user with only iam:GetAccountAuthorizationDetails reads it all; one
	// without is refused.
	k, _, err := svc.CreateAccessKey(ctx, root, "auditor")
	must(t, err)
	cred, err := svc.Credential(ctx, k.ID)
	must(t, err)
	auditor := cred.Caller
	_, err = authdetails.Get(ctx, svc, &auditor, authdetails.Filter{}, iamd.Page{MaxItems: 100})
	if !errors.Is(err, iamd.ErrAccessDenied) {
		t.Fatalf("without the permission: %v", err)
	}
	must(t, svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "auditor"}, "audit",
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:GetAccountAuthorizationDetails","Resource":"*"}}`))
	cred, err = svc.Credential(ctx, k.ID)
	must(t, err)
	auditor = cred.Caller
	d, err = authdetails.Get(ctx, svc, &auditor, authdetails.Filter{}, iamd.Page{MaxItems: 100})
	must(t, err)
	if len(d.Users) != 2 || len(d.Users[0].Inline) != 1 {
		t.Errorf("the auditor's view: %+v", d.Users)
	}
}
