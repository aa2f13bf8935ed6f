package storetest

import (
	"fmt"
	"testing"

	"iamd"
)

// testBoundaries: a user's and a role's permissions boundary is stored
// with it, set and cleared by an update, and listed with it.
func testBoundaries(t *testing.T, s iamd.Store) {
	const b1, b2 = "arn:aws:iam::123456789012:policy/limits", "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
	if err := s.CreateUser(ctx, &iamd.User{ID: "AIDABOUNDED", Name: "bounded", Path: "/", CreatedAt: ts(1), Boundary: b1}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.GetUser(ctx, "bounded"); err != nil || u.Boundary != b1 {
		t.Fatalf("GetUser: %+v %v", u, err)
	}
	if err := s.UpdateUser(ctx, "bounded", func(u *iamd.User) error { u.Boundary = b2; return nil }); err != nil {
		t.Fatal(err)
	}
	us, _, err := s.ListUsers(ctx, "/", iamd.Page{MaxItems: 10})
	if err != nil || len(us) != 1 || us[0].Boundary != b2 {
		t.Fatalf("ListUsers after the update: %+v %v", us, err)
	}
	if err := s.UpdateUser(ctx, "bounded", func(u *iamd.User) error { u.Boundary = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.GetUser(ctx, "bounded"); u.Boundary != "" {
		t.Fatalf("a cleared boundary: %q", u.Boundary)
	}

	r := &iamd.Role{ID: "AROABOUNDED", Name: "bounded-role", Path: "/", TrustPolicy: trustDoc, MaxSessionDuration: 3600, CreatedAt: ts(1), Boundary: b1}
	if err := s.CreateRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetRole(ctx, "bounded-role"); err != nil || got.Boundary != b1 {
		t.Fatalf("GetRole: %+v %v", got, err)
	}
	if err := s.UpdateRole(ctx, "bounded-role", func(r *iamd.Role) error { r.Boundary = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetRole(ctx, "bounded-role"); got.Boundary != "" {
		t.Fatalf("a cleared role boundary: %q", got.Boundary)
	}
	testBoundaryUses(t, s)
}

// testBoundaryUses: a policy counts the users and roles it bounds
// (PermissionsBoundaryUsageCount), by its ARN in the account the store
// was initialized with, and ListPolicies can select the policies that
// bound someone.
func testBoundaryUses(t *testing.T, s iamd.Store) {
	const limits, aws = "arn:aws:iam::123456789012:policy/ops/limits", "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
	mustPolicy(t, s, "limits", "/ops/")
	mustPolicy(t, s, "unused", "/ops/")
	for i, b := range []string{limits, limits, aws} {
		name := fmt.Sprintf("u%d", i)
		if err := s.CreateUser(ctx, &iamd.User{ID: "AIDAUSES" + name, Name: name, Path: "/", CreatedAt: ts(1), Boundary: b}); err != nil {
			t.Fatal(err)
		}
	}
	r := &iamd.Role{ID: "AROAUSES", Name: "uses", Path: "/", TrustPolicy: trustDoc, MaxSessionDuration: 3600, CreatedAt: ts(1), Boundary: limits}
	if err := s.CreateRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	if p, err := s.GetPolicy(ctx, "limits"); err != nil || p.BoundaryCount != 3 {
		t.Fatalf("GetPolicy(limits): %+v %v, want a boundary count of 3", p, err)
	}
	if n, err := s.CountBoundaryUses(ctx, aws); err != nil || n != 1 {
		t.Fatalf("CountBoundaryUses(aws) = %d %v, want 1", n, err)
	}
	ps, _, err := s.ListPolicies(ctx, iamd.PolicyFilter{PathPrefix: "/ops/", OnlyBoundaries: true}, iamd.Page{MaxItems: 10})
	if err != nil || len(ps) != 1 || ps[0].Name != "limits" || ps[0].BoundaryCount != 3 {
		t.Fatalf("ListPolicies(OnlyBoundaries) = %+v %v, want limits alone", ps, err)
	}
	if err := s.UpdateRole(ctx, "uses", func(r *iamd.Role) error { r.Boundary = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.GetPolicy(ctx, "limits"); p.BoundaryCount != 2 {
		t.Fatalf("after a role's boundary is cleared, the count is %d, want 2", p.BoundaryCount)
	}
}
