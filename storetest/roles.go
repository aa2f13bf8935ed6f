package storetest

import (
	"errors"
	"fmt"
	"maps"
	"testing"

	"iamd"
)

func roleE(name string) iamd.Entity { return iamd.Entity{Kind: iamd.EntityRole, Name: name} }

const trustDoc = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`

func mustRole(t *testing.T, s iamd.Store, name, path string) *iamd.Role {
	t.Helper()
	r := &iamd.Role{ID: "AROA" + fmt.Sprintf("%017d", len(name)*1000+int(name[0])) + name, Name: name, Path: path,
		Description: "d " + name, TrustPolicy: trustDoc, MaxSessionDuration: 3600, CreatedAt: ts(4), Tags: []iamd.Tag{{Key: "team", Value: "a"}}}
	if err := s.CreateRole(ctx, r); err != nil {
		t.Fatalf("CreateRole(%q): %v", name, err)
	}
	return r
}

func testRoles(t *testing.T, s iamd.Store) {
	r := mustRole(t, s, "Deploy", "/ci/")
	wantKind(t, "same name, other case", s.CreateRole(ctx, &iamd.Role{ID: "AROAOTHER", Name: "deploy", Path: "/", TrustPolicy: trustDoc, MaxSessionDuration: 3600}), iamd.ErrAlreadyExists)
	got, err := s.GetRole(ctx, "DEPLOY")
	if err != nil || got.ID != r.ID || got.Name != "Deploy" || got.Path != "/ci/" || got.TrustPolicy != trustDoc ||
		got.MaxSessionDuration != 3600 || !got.CreatedAt.Equal(r.CreatedAt) || len(got.Tags) != 1 || got.Description != "d Deploy" {
		t.Fatalf("GetRole: %+v %v", got, err)
	}
	_, err = s.GetRole(ctx, "nobody")
	wantKind(t, "GetRole missing", err, iamd.ErrNotFound)

	// Update is read-modify-write; fn's error leaves the role unchanged.
	if got.TrustIDs != nil && len(got.TrustIDs) != 0 {
		t.Fatalf("a role made without trust IDs has %v", got.TrustIDs)
	}
	bound := map[string]string{"arn:aws:iam::123456789012:user/bob": "AIDABOB"}
	if err := s.UpdateRole(ctx, "deploy", func(r *iamd.Role) error {
		r.Description, r.MaxSessionDuration, r.Tags = "new", 7200, append(r.Tags, iamd.Tag{Key: "env", Value: "prod"})
		r.TrustIDs = bound
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	boom := iamd.Errorf(iamd.Invalid, "boom")
	if err := s.UpdateRole(ctx, "deploy", func(r *iamd.Role) error { r.Description = "lost"; return boom }); !errors.Is(err, iamd.ErrInvalid) || iamd.MessageOf(err) != "boom" {
		t.Fatalf("UpdateRole with failing fn: %v", err)
	}
	wantKind(t, "UpdateRole missing", s.UpdateRole(ctx, "nobody", func(*iamd.Role) error { return nil }), iamd.ErrNotFound)
	got, _ = s.GetRole(ctx, "deploy")
	if got.Description != "new" || got.MaxSessionDuration != 7200 || len(got.Tags) != 2 || !maps.Equal(got.TrustIDs, bound) {
		t.Fatalf("after UpdateRole: %+v", got)
	}

	// Listing pages by folded name, filtered by path.
	for i := range 5 {
		mustRole(t, s, fmt.Sprintf("r%d", i), "/")
	}
	var names []string
	p := iamd.Page{MaxItems: 2}
	for {
		rs, next, err := s.ListRoles(ctx, "/", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			names = append(names, r.Name)
		}
		if next == "" {
			break
		}
		p.Marker = next
	}
	if fmt.Sprint(names) != "[Deploy r0 r1 r2 r3 r4]" {
		t.Fatalf("ListRoles: %v", names)
	}
	if rs, _, _ := s.ListRoles(ctx, "/ci/", iamd.Page{MaxItems: 10}); len(rs) != 1 || rs[0].Name != "Deploy" {
		t.Fatalf("ListRoles /ci/: %v", rs)
	}

	// Policies: inline and attached, returned for authorization; they keep
	// the role from being deleted.
	pol := mustPolicy(t, s, "p", "/")
	if err := s.PutInlinePolicy(ctx, roleE("deploy"), "inline", doc2, iamd.MaxRoleInlineSize); err != nil {
		t.Fatal(err)
	}
	if err := s.AttachPolicy(ctx, roleE("deploy"), attached(pol), 10); err != nil {
		t.Fatal(err)
	}
	srcs, err := s.RolePolicies(ctx, "DEPLOY")
	if err != nil || len(srcs) != 2 {
		t.Fatalf("RolePolicies: %+v %v", srcs, err)
	}
	for _, src := range srcs {
		if src.Entity != roleE("Deploy") || (src.Inline && src.Document != doc2) || (!src.Inline && src.Document != doc1) {
			t.Errorf("RolePolicies source %+v", src)
		}
	}
	_, err = s.RolePolicies(ctx, "nobody")
	wantKind(t, "RolePolicies missing", err, iamd.ErrNotFound)
	es, _, err := s.ListEntitiesForPolicy(ctx, pol.ID, nil, "/", iamd.Page{MaxItems: 10})
	if err != nil || len(es) != 1 || es[0].Kind != iamd.EntityRole || es[0].Name != "Deploy" {
		t.Fatalf("ListEntitiesForPolicy: %+v %v", es, err)
	}
	wantKind(t, "delete with inline policy", s.DeleteRole(ctx, "deploy"), iamd.ErrConflict)
	s.DeleteInlinePolicy(ctx, roleE("deploy"), "inline")
	wantKind(t, "delete with attached policy", s.DeleteRole(ctx, "deploy"), iamd.ErrConflict)
	s.DetachPolicy(ctx, roleE("deploy"), pol.ARN("123456789012"))
	if err := s.DeleteRole(ctx, "deploy"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "DeleteRole twice", s.DeleteRole(ctx, "deploy"), iamd.ErrNotFound)
	// A user of the same name is another entity.
	mustUser(t, s, "r0", "/")
	if _, err := s.RolePolicies(ctx, "r0"); err != nil {
		t.Fatal(err)
	}
}
