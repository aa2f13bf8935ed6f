package storetest

import (
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
}
