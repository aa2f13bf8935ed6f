package storetest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"iamd"
)

// policyTests are the PolicyStore part of the suite.
var policyTests = []struct {
	name string
	fn   func(t *testing.T, s iamd.Store)
}{
	{"Groups", testGroups},
	{"GroupMembers", testGroupMembers},
	{"GroupsPerUserConcurrent", testGroupsPerUserConcurrent},
	{"ManagedPolicies", testManagedPolicies},
	{"PolicyVersions", testPolicyVersions},
	{"Attachments", testAttachments},
	{"AttachLimitConcurrent", testAttachLimitConcurrent},
	{"InlinePolicies", testInlinePolicies},
	{"UserPolicies", testUserPolicies},
	{"DeleteUserWithDependents", testDeleteUserWithDependents},
	{"Roles", testRoles},
	{"UpdateUser", testUpdateUser},
	{"UpdateGroupPolicyBucket", testUpdateGroupPolicyBucket},
	{"CredentialRows", testCredentialRows},
}

const doc1 = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}}`
const doc2 = `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`

func groupE(name string) iamd.Entity { return iamd.Entity{Kind: iamd.EntityGroup, Name: name} }
func userE(name string) iamd.Entity  { return iamd.Entity{Kind: iamd.EntityUser, Name: name} }

func mustGroup(t *testing.T, s iamd.Store, name, path string) *iamd.Group {
	t.Helper()
	g := &iamd.Group{ID: "AGPA" + fmt.Sprintf("%017d", len(name)*1000+int(name[0])) + name, Name: name, Path: path, CreatedAt: ts(2)}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatalf("CreateGroup(%q): %v", name, err)
	}
	return g
}

func mustPolicy(t *testing.T, s iamd.Store, name, path string) *iamd.ManagedPolicy {
	t.Helper()
	p := &iamd.ManagedPolicy{ID: "ANPA" + fmt.Sprintf("%017d", len(name)*1000+int(name[0])) + name, Name: name, Path: path, Description: "d " + name, CreatedAt: ts(3)}
	if err := s.CreatePolicy(ctx, p, doc1); err != nil {
		t.Fatalf("CreatePolicy(%q): %v", name, err)
	}
	return p
}

func attached(p *iamd.ManagedPolicy) iamd.AttachedPolicy {
	return iamd.AttachedPolicy{ID: p.ID, ARN: p.ARN("123456789012")}
}

func testGroups(t *testing.T, s iamd.Store) {
	g := mustGroup(t, s, "Admins", "/ops/")
	wantKind(t, "duplicate", s.CreateGroup(ctx, &iamd.Group{ID: "AGPAOTHER", Name: "ADMINS", Path: "/", CreatedAt: ts(0)}), iamd.ErrAlreadyExists)
	got, err := s.GetGroup(ctx, "admins")
	if err != nil || got.ID != g.ID || got.Name != "Admins" || got.Path != "/ops/" || !got.CreatedAt.Equal(g.CreatedAt) {
		t.Fatalf("GetGroup = %+v, %v", got, err)
	}
	_, err = s.GetGroup(ctx, "nobody")
	wantKind(t, "GetGroup missing", err, iamd.ErrNotFound)
	for _, n := range []string{"b", "c", "d"} {
		mustGroup(t, s, n, "/")
	}
	var names []string
	p := iamd.Page{MaxItems: 2}
	for {
		gs, next, err := s.ListGroups(ctx, "/", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			names = append(names, g.Name)
		}
		if next == "" {
			break
		}
		p.Marker = next
	}
	if strings.Join(names, ",") != "Admins,b,c,d" {
		t.Fatalf("ListGroups paged = %v", names)
	}
	gs, _, err := s.ListGroups(ctx, "/ops", iamd.Page{MaxItems: 10})
	if err != nil || len(gs) != 1 || gs[0].Name != "Admins" {
		t.Fatalf("ListGroups(/ops) = %v, %v", gs, err)
	}
	if err := s.DeleteGroup(ctx, "ADMINS"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "DeleteGroup again", s.DeleteGroup(ctx, "Admins"), iamd.ErrNotFound)
}

func testGroupMembers(t *testing.T, s iamd.Store) {
	mustGroup(t, s, "devs", "/")
	mustUser(t, s, "Bob", "/")
	mustUser(t, s, "alice", "/")
	wantKind(t, "no such user", s.AddUserToGroup(ctx, "devs", "nobody", 10), iamd.ErrNotFound)
	wantKind(t, "no such group", s.AddUserToGroup(ctx, "nope", "bob", 10), iamd.ErrNotFound)
	for _, u := range []string{"bob", "ALICE", "bob"} { // the second add of bob is a no-op
		if err := s.AddUserToGroup(ctx, "DEVS", u, 10); err != nil {
			t.Fatalf("AddUserToGroup(%s): %v", u, err)
		}
	}
	us, _, err := s.ListGroupUsers(ctx, "devs", iamd.Page{MaxItems: 10})
	if err != nil || len(us) != 2 || us[0].Name != "alice" || us[1].Name != "Bob" {
		t.Fatalf("ListGroupUsers = %v, %v", us, err)
	}
	us, next, err := s.ListGroupUsers(ctx, "devs", iamd.Page{MaxItems: 1})
	if err != nil || len(us) != 1 || next == "" {
		t.Fatalf("ListGroupUsers page 1 = %v, %q, %v", us, next, err)
	}
	us, next, err = s.ListGroupUsers(ctx, "devs", iamd.Page{MaxItems: 1, Marker: next})
	if err != nil || len(us) != 1 || us[0].Name != "Bob" || next != "" {
		t.Fatalf("ListGroupUsers page 2 = %v, %q, %v", us, next, err)
	}
	gs, _, err := s.ListGroupsForUser(ctx, "BOB", iamd.Page{MaxItems: 10})
	if err != nil || len(gs) != 1 || gs[0].Name != "devs" {
		t.Fatalf("ListGroupsForUser = %v, %v", gs, err)
	}
	_, _, err = s.ListGroupsForUser(ctx, "nobody", iamd.Page{MaxItems: 10})
	wantKind(t, "ListGroupsForUser missing", err, iamd.ErrNotFound)
	wantKind(t, "DeleteGroup with members", s.DeleteGroup(ctx, "devs"), iamd.ErrConflict)
	if err := s.RemoveUserFromGroup(ctx, "devs", "bob"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "remove twice", s.RemoveUserFromGroup(ctx, "devs", "bob"), iamd.ErrNotFound)
	if err := s.RemoveUserFromGroup(ctx, "devs", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, "devs"); err != nil {
		t.Fatalf("DeleteGroup emptied: %v", err)
	}
}

func testGroupsPerUserConcurrent(t *testing.T, s iamd.Store) {
	mustUser(t, s, "bob", "/")
	const n = 8
	for i := range n {
		mustGroup(t, s, fmt.Sprintf("g%d", i), "/")
	}
	ok := concurrently(t, n, func(i int) error { return s.AddUserToGroup(ctx, fmt.Sprintf("g%d", i), "bob", 3) })
	gs, _, _ := s.ListGroupsForUser(ctx, "bob", iamd.Page{MaxItems: 100})
	if ok != 3 || len(gs) != 3 {
		t.Fatalf("%d adds succeeded and the user is in %d groups, want 3", ok, len(gs))
	}
}

func testManagedPolicies(t *testing.T, s iamd.Store) {
	p := mustPolicy(t, s, "ReadOnly", "/team/")
	if p.DefaultVersion != "v1" {
		t.Errorf("DefaultVersion = %q", p.DefaultVersion)
	}
	wantKind(t, "duplicate name, other path", s.CreatePolicy(ctx, &iamd.ManagedPolicy{ID: "ANPAX", Name: "readonly", Path: "/", CreatedAt: ts(0)}, doc1), iamd.ErrAlreadyExists)
	got, err := s.GetPolicy(ctx, "READONLY")
	if err != nil || got.ID != p.ID || got.Name != "ReadOnly" || got.Path != "/team/" || got.Description != "d ReadOnly" ||
		got.DefaultVersion != "v1" || got.AttachmentCount != 0 || !got.CreatedAt.Equal(ts(3)) || !got.UpdatedAt.Equal(ts(3)) {
		t.Fatalf("GetPolicy = %+v, %v", got, err)
	}
	_, err = s.GetPolicy(ctx, "nope")
	wantKind(t, "GetPolicy missing", err, iamd.ErrNotFound)
	mustPolicy(t, s, "b", "/")
	mustPolicy(t, s, "c", "/")
	mustUser(t, s, "bob", "/")
	if err := s.AttachPolicy(ctx, userE("bob"), attached(&iamd.ManagedPolicy{ID: p.ID, Name: "ReadOnly", Path: "/team/"}), 10); err != nil {
		t.Fatal(err)
	}
	var names []string
	pg := iamd.Page{MaxItems: 2}
	for {
		ps, next, err := s.ListPolicies(ctx, iamd.PolicyFilter{PathPrefix: "/"}, pg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			names = append(names, fmt.Sprintf("%s:%d", p.Name, p.AttachmentCount))
		}
		if next == "" {
			break
		}
		pg.Marker = next
	}
	if strings.Join(names, ",") != "b:0,c:0,ReadOnly:1" {
		t.Fatalf("ListPolicies = %v", names)
	}
	ps, _, err := s.ListPolicies(ctx, iamd.PolicyFilter{PathPrefix: "/", OnlyAttached: true}, iamd.Page{MaxItems: 10})
	if err != nil || len(ps) != 1 || ps[0].Name != "ReadOnly" {
		t.Fatalf("ListPolicies(onlyAttached) = %v, %v", ps, err)
	}
	ps, _, err = s.ListPolicies(ctx, iamd.PolicyFilter{PathPrefix: "/team/"}, iamd.Page{MaxItems: 10})
	if err != nil || len(ps) != 1 {
		t.Fatalf("ListPolicies(/team/) = %v, %v", ps, err)
	}
	wantKind(t, "DeletePolicy attached", s.DeletePolicy(ctx, "ReadOnly"), iamd.ErrConflict)
	if err := s.DeletePolicy(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "DeletePolicy again", s.DeletePolicy(ctx, "b"), iamd.ErrNotFound)
}

func testPolicyVersions(t *testing.T, s iamd.Store) {
	mustPolicy(t, s, "p", "/")
	_, err := s.CreatePolicyVersion(ctx, "nope", doc2, false, ts(4), 5)
	wantKind(t, "version of a missing policy", err, iamd.ErrNotFound)
	v, err := s.CreatePolicyVersion(ctx, "P", doc2, false, ts(4), 5)
	if err != nil || v.ID != "v2" || v.Default {
		t.Fatalf("CreatePolicyVersion = %+v, %v", v, err)
	}
	p, _ := s.GetPolicy(ctx, "p")
	if p.DefaultVersion != "v1" || !p.UpdatedAt.Equal(ts(3)) {
		t.Fatalf("after a non-default version: %+v", p)
	}
	v, err = s.CreatePolicyVersion(ctx, "p", doc1, true, ts(5), 5)
	if err != nil || v.ID != "v3" || !v.Default {
		t.Fatalf("CreatePolicyVersion default = %+v, %v", v, err)
	}
	p, _ = s.GetPolicy(ctx, "p")
	if p.DefaultVersion != "v3" || !p.UpdatedAt.Equal(ts(5)) {
		t.Fatalf("after a default version: %+v", p)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.CreatePolicyVersion(ctx, "p", doc1, false, ts(6), 5); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.CreatePolicyVersion(ctx, "p", doc1, false, ts(6), 5)
	wantKind(t, "sixth version", err, iamd.ErrLimitExceeded)
	vs, err := s.ListPolicyVersions(ctx, "p")
	var ids []string
	for _, v := range vs {
		ids = append(ids, fmt.Sprint(v.ID, v.Default))
	}
	if err != nil || strings.Join(ids, ",") != "v5false,v4false,v3true,v2false,v1false" {
		t.Fatalf("ListPolicyVersions = %v, %v", ids, err)
	}
	got, err := s.GetPolicyVersion(ctx, "p", "v2")
	if err != nil || got.Document != doc2 || got.Default || !got.CreatedAt.Equal(ts(4)) {
		t.Fatalf("GetPolicyVersion = %+v, %v", got, err)
	}
	_, err = s.GetPolicyVersion(ctx, "p", "v9")
	wantKind(t, "missing version", err, iamd.ErrNotFound)
	_, err = s.GetPolicyVersion(ctx, "p", "x")
	wantKind(t, "malformed version", err, iamd.ErrNotFound)
	wantKind(t, "delete default", s.DeletePolicyVersion(ctx, "p", "v3"), iamd.ErrConflict)
	if err := s.DeletePolicyVersion(ctx, "p", "v1"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "delete twice", s.DeletePolicyVersion(ctx, "p", "v1"), iamd.ErrNotFound)
	if v, err := s.CreatePolicyVersion(ctx, "p", doc1, false, ts(7), 5); err != nil || v.ID != "v6" {
		t.Fatalf("version numbers are not reused: %+v, %v", v, err)
	}
	wantKind(t, "set missing default", s.SetDefaultPolicyVersion(ctx, "p", "v1", ts(8)), iamd.ErrNotFound)
	if err := s.SetDefaultPolicyVersion(ctx, "p", "v2", ts(8)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetPolicyVersion(ctx, "p", "v2"); !got.Default {
		t.Fatal("v2 is not the default")
	}
	wantKind(t, "DeletePolicy with versions", s.DeletePolicy(ctx, "p"), iamd.ErrConflict)
	for _, v := range []string{"v3", "v4", "v5", "v6"} {
		if err := s.DeletePolicyVersion(ctx, "p", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeletePolicy(ctx, "p"); err != nil {
		t.Fatalf("DeletePolicy with only its default: %v", err)
	}
}

const awsReadOnly = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"

func testAttachments(t *testing.T, s iamd.Store) {
	p := mustPolicy(t, s, "p", "/team/")
	mustUser(t, s, "bob", "/")
	mustUser(t, s, "carol", "/x/")
	mustGroup(t, s, "devs", "/")
	aws := iamd.AttachedPolicy{ID: "ANPAAWSREADONLY000001", ARN: awsReadOnly}
	wantKind(t, "missing entity", s.AttachPolicy(ctx, userE("nobody"), attached(p), 10), iamd.ErrNotFound)
	wantKind(t, "missing policy", s.AttachPolicy(ctx, userE("bob"), iamd.AttachedPolicy{ID: "ANPANOPE", ARN: "arn:aws:iam::123456789012:policy/nope"}, 10), iamd.ErrNotFound)
	for _, e := range []iamd.Entity{userE("BOB"), userE("carol"), groupE("devs"), userE("bob")} {
		if err := s.AttachPolicy(ctx, e, attached(p), 10); err != nil {
			t.Fatalf("AttachPolicy(%v): %v", e, err)
		}
	}
	if err := s.AttachPolicy(ctx, userE("bob"), aws, 10); err != nil {
		t.Fatalf("attach an AWS-managed policy: %v", err)
	}
	// One policy is attached once, whatever the ARN it is given under.
	miscased := attached(p)
	miscased.ARN = "arn:aws:iam::123456789012:policy/team/P"
	if err := s.AttachPolicy(ctx, userE("bob"), miscased, 10); err != nil {
		t.Fatalf("attach again under another spelling: %v", err)
	}
	as, _, err := s.ListAttachedPolicies(ctx, userE("bob"), "/", iamd.Page{MaxItems: 10})
	if err != nil || len(as) != 2 || as[0].ARN != p.ARN("123456789012") || as[0].Name() != "p" || as[1].ARN != awsReadOnly {
		t.Fatalf("ListAttachedPolicies = %v, %v", as, err)
	}
	as, next, err := s.ListAttachedPolicies(ctx, userE("bob"), "/", iamd.Page{MaxItems: 1})
	if err != nil || len(as) != 1 || next == "" {
		t.Fatalf("page 1 = %v %q %v", as, next, err)
	}
	as, next, err = s.ListAttachedPolicies(ctx, userE("bob"), "/", iamd.Page{MaxItems: 1, Marker: next})
	if err != nil || len(as) != 1 || next != "" || as[0].ID != aws.ID {
		t.Fatalf("page 2 = %v %q %v", as, next, err)
	}
	as, _, err = s.ListAttachedPolicies(ctx, userE("bob"), "/team/", iamd.Page{MaxItems: 10})
	if err != nil || len(as) != 1 || as[0].ID != p.ID {
		t.Fatalf("ListAttachedPolicies(/team/) = %v, %v", as, err)
	}
	_, _, err = s.ListAttachedPolicies(ctx, groupE("nope"), "/", iamd.Page{MaxItems: 10})
	wantKind(t, "list for a missing group", err, iamd.ErrNotFound)
	if n, err := s.CountAttachments(ctx, p.ID); err != nil || n != 3 {
		t.Fatalf("CountAttachments = %d, %v", n, err)
	}
	if n, err := s.CountAttachments(ctx, aws.ID); err != nil || n != 1 {
		t.Fatalf("CountAttachments(aws) = %d, %v", n, err)
	}
	entities := func(kind *iamd.EntityKind, prefix string, max int) string {
		var out []string
		pg := iamd.Page{MaxItems: max}
		for {
			es, next, err := s.ListEntitiesForPolicy(ctx, p.ID, kind, prefix, pg)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				out = append(out, fmt.Sprint(e.Kind, e.Name))
			}
			if next == "" {
				return strings.Join(out, ",")
			}
			pg.Marker = next
		}
	}
	if got := entities(nil, "/", 1); got != "0bob,0carol,1devs" {
		t.Errorf("ListEntitiesForPolicy = %s", got)
	}
	g := iamd.EntityGroup
	if got := entities(&g, "/", 10); got != "1devs" {
		t.Errorf("ListEntitiesForPolicy(groups) = %s", got)
	}
	if got := entities(nil, "/x/", 10); got != "0carol" {
		t.Errorf("ListEntitiesForPolicy(/x/) = %s", got)
	}
	wantKind(t, "DetachPolicy not attached", s.DetachPolicy(ctx, groupE("devs"), awsReadOnly), iamd.ErrNotFound)
	wantKind(t, "DeleteGroup with a policy", s.DeleteGroup(ctx, "devs"), iamd.ErrConflict)
	if err := s.DetachPolicy(ctx, groupE("DEVS"), p.ARN("123456789012")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, "devs"); err != nil {
		t.Fatal(err)
	}
}

func testAttachLimitConcurrent(t *testing.T, s iamd.Store) {
	mustUser(t, s, "bob", "/")
	const n = 8
	var ps []*iamd.ManagedPolicy
	for i := range n {
		ps = append(ps, mustPolicy(t, s, fmt.Sprintf("p%d", i), "/"))
	}
	ok := concurrently(t, n, func(i int) error { return s.AttachPolicy(ctx, userE("bob"), attached(ps[i]), 3) })
	as, _, _ := s.ListAttachedPolicies(ctx, userE("bob"), "/", iamd.Page{MaxItems: 100})
	if ok != 3 || len(as) != 3 {
		t.Fatalf("%d attaches succeeded and %d are attached, want 3", ok, len(as))
	}
}

func testInlinePolicies(t *testing.T, s iamd.Store) {
	mustUser(t, s, "bob", "/")
	mustGroup(t, s, "devs", "/")
	wantKind(t, "missing user", s.PutInlinePolicy(ctx, userE("nobody"), "p", doc1, 2048), iamd.ErrNotFound)
	for _, e := range []iamd.Entity{userE("bob"), groupE("devs")} {
		if err := s.PutInlinePolicy(ctx, e, "Read", doc1, 2048); err != nil {
			t.Fatal(err)
		}
		if err := s.PutInlinePolicy(ctx, e, "READ", doc2, 2048); err != nil { // replaces, renamed
			t.Fatal(err)
		}
		if err := s.PutInlinePolicy(ctx, e, "b", doc1, 2048); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetInlinePolicy(ctx, e, "read")
		if err != nil || got.Name != "READ" || got.Document != doc2 {
			t.Fatalf("GetInlinePolicy = %+v, %v", got, err)
		}
		names, _, err := s.ListInlinePolicies(ctx, e, iamd.Page{MaxItems: 10})
		if err != nil || strings.Join(names, ",") != "b,READ" {
			t.Fatalf("ListInlinePolicies = %v, %v", names, err)
		}
		names, next, err := s.ListInlinePolicies(ctx, e, iamd.Page{MaxItems: 1})
		if err != nil || len(names) != 1 || next == "" {
			t.Fatalf("page 1 = %v %q %v", names, next, err)
		}
		if names, next, err = s.ListInlinePolicies(ctx, e, iamd.Page{MaxItems: 1, Marker: next}); err != nil || names[0] != "READ" || next != "" {
			t.Fatalf("page 2 = %v %q %v", names, next, err)
		}
	}
	// Sizes add up across a user's policies, white space not counted.
	size := iamd.PolicySize(doc1)
	big := strings.Repeat(" ", 100) + doc1
	if err := s.PutInlinePolicy(ctx, userE("bob"), "c", big, 3*size); err != nil {
		t.Fatalf("three policies of %d within %d: %v", size, 3*size, err)
	}
	wantKind(t, "a fourth", s.PutInlinePolicy(ctx, userE("bob"), "d", doc1, 3*size), iamd.ErrLimitExceeded)
	if err := s.PutInlinePolicy(ctx, userE("bob"), "c", doc1, 3*size); err != nil {
		t.Fatalf("replacing does not count the old size: %v", err)
	}
	_, err := s.GetInlinePolicy(ctx, userE("bob"), "zzz")
	wantKind(t, "GetInlinePolicy missing", err, iamd.ErrNotFound)
	wantKind(t, "DeleteGroup with inline", s.DeleteGroup(ctx, "devs"), iamd.ErrConflict)
	for _, n := range []string{"b", "read"} {
		if err := s.DeleteInlinePolicy(ctx, groupE("devs"), n); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, "delete twice", s.DeleteInlinePolicy(ctx, groupE("devs"), "b"), iamd.ErrNotFound)
	if err := s.DeleteGroup(ctx, "devs"); err != nil {
		t.Fatal(err)
	}
}

func testUserPolicies(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	mustUser(t, s, "other", "/")
	mustGroup(t, s, "devs", "/")
	mustGroup(t, s, "ops", "/")
	p := mustPolicy(t, s, "p", "/")
	q := mustPolicy(t, s, "q", "/")
	if _, err := s.CreatePolicyVersion(ctx, "q", doc2, true, ts(9), 5); err != nil {
		t.Fatal(err)
	}
	aws := iamd.AttachedPolicy{ID: "ANPAAWSREADONLY000001", ARN: awsReadOnly}
	steps := []error{
		s.PutInlinePolicy(ctx, userE("bob"), "own", doc1, 2048),
		s.AttachPolicy(ctx, userE("bob"), attached(p), 10),
		s.AttachPolicy(ctx, userE("bob"), aws, 10),
		s.AddUserToGroup(ctx, "devs", "bob", 10),
		s.PutInlinePolicy(ctx, groupE("devs"), "team", doc2, 5120),
		s.AttachPolicy(ctx, groupE("devs"), attached(q), 10),
		s.AttachPolicy(ctx, groupE("ops"), attached(p), 10), // bob is not in ops
		s.PutInlinePolicy(ctx, userE("other"), "x", doc1, 2048),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	srcs, err := s.UserPolicies(ctx, "BOB")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ps := range srcs {
		got = append(got, fmt.Sprintf("%d:%s inline=%v %s %s %s=%v", ps.Entity.Kind, ps.Entity.Name, ps.Inline, ps.Name, ps.Policy.ID, ps.Policy.ARN, ps.Document))
	}
	sort.Strings(got)
	want := []string{
		fmt.Sprintf("0:Bob inline=false  %s %s=%v", aws.ID, aws.ARN, ""),
		fmt.Sprintf("0:Bob inline=false  %s %s=%v", p.ID, p.ARN("123456789012"), doc1),
		fmt.Sprintf("0:Bob inline=true own  =%v", doc1),
		fmt.Sprintf("1:devs inline=false  %s %s=%v", q.ID, q.ARN("123456789012"), doc2), // the default version
		fmt.Sprintf("1:devs inline=true team  =%v", doc2),
	}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("UserPolicies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, err = s.UserPolicies(ctx, "nobody")
	wantKind(t, "UserPolicies of a missing user", err, iamd.ErrNotFound)
}

func testDeleteUserWithDependents(t *testing.T, s iamd.Store) {
	mustUser(t, s, "bob", "/")
	mustGroup(t, s, "devs", "/")
	p := mustPolicy(t, s, "p", "/")
	if err := errors.Join(s.AddUserToGroup(ctx, "devs", "bob", 10), s.PutInlinePolicy(ctx, userE("bob"), "x", doc1, 2048),
		s.AttachPolicy(ctx, userE("bob"), attached(p), 10)); err != nil {
		t.Fatal(err)
	}
	for _, undo := range []func() error{
		func() error { return s.RemoveUserFromGroup(ctx, "devs", "bob") },
		func() error { return s.DeleteInlinePolicy(ctx, userE("bob"), "x") },
		func() error { return s.DetachPolicy(ctx, userE("bob"), p.ARN("123456789012")) },
	} {
		wantKind(t, "DeleteUser with dependents", s.DeleteUser(ctx, "bob"), iamd.ErrConflict)
		if err := undo(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
}

// concurrently runs fn(0) … fn(n-1) at once and returns how many
// succeeded; any error other than LimitExceeded fails the test.
func concurrently(t *testing.T, n int, fn func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, iamd.ErrLimitExceeded):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok
}
