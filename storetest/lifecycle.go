package storetest

import (
	"errors"
	"fmt"
	"testing"

	"iamd"
)

func testUpdateUser(t *testing.T, s iamd.Store) {
	u := mustUser(t, s, "alice", "/a/")
	mustUser(t, s, "bob", "/")
	k := newKey(iamd.UserOwner("alice"), 1)
	if err := s.CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	g := mustGroup(t, s, "devs", "/")
	if err := s.AddUserToGroup(ctx, g.Name, "alice", 10); err != nil {
		t.Fatal(err)
	}
	if err := s.PutInlinePolicy(ctx, userE("alice"), "p", doc1, 2048); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "rename onto another user", s.UpdateUser(ctx, "alice", func(u *iamd.User) error { u.Name = "BOB"; return nil }), iamd.ErrAlreadyExists)
	wantKind(t, "update a missing user", s.UpdateUser(ctx, "nobody", func(*iamd.User) error { return nil }), iamd.ErrNotFound)
	if err := s.UpdateUser(ctx, "ALICE", func(u *iamd.User) error {
		u.Name, u.Path, u.Tags = "carol", "/c/", []iamd.Tag{{Key: "team", Value: "c"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, "carol")
	if err != nil || got.ID != u.ID || got.Path != "/c/" || len(got.Tags) != 1 || got.Tags[0].Value != "c" {
		t.Fatalf("after the rename: %+v %v", got, err)
	}
	_, err = s.GetUser(ctx, "alice")
	wantKind(t, "the old name", err, iamd.ErrNotFound)
	// The key, the group and the policy follow; the old name is free.
	cred, err := s.GetCredential(ctx, k.ID)
	if err != nil || cred.User.Name != "carol" || cred.Key.Owner != iamd.UserOwner("carol") {
		t.Fatalf("the key after the rename: %+v %v", cred, err)
	}
	members, _, err := s.ListGroupUsers(ctx, "devs", iamd.Page{MaxItems: 10})
	if err != nil || len(members) != 1 || members[0].Name != "carol" {
		t.Fatalf("group members after the rename: %+v %v", members, err)
	}
	srcs, err := s.UserPolicies(ctx, "carol")
	if err != nil || len(srcs) != 1 {
		t.Fatalf("policies after the rename: %+v %v", srcs, err)
	}
	if err := s.CreateUser(ctx, &iamd.User{ID: "AIDANEWALICE000000000", Name: "alice", Path: "/", CreatedAt: ts(9)}); err != nil {
		t.Fatalf("the old name is not free: %v", err)
	}
}

func testUpdateGroupPolicyBucket(t *testing.T, s iamd.Store) {
	mustGroup(t, s, "devs", "/")
	mustGroup(t, s, "ops", "/")
	wantKind(t, "rename a group onto another", s.UpdateGroup(ctx, "devs", func(g *iamd.Group) error { g.Name = "OPS"; return nil }), iamd.ErrAlreadyExists)
	if err := s.UpdateGroup(ctx, "devs", func(g *iamd.Group) error { g.Name, g.Path = "builders", "/b/"; return nil }); err != nil {
		t.Fatal(err)
	}
	if g, err := s.GetGroup(ctx, "builders"); err != nil || g.Path != "/b/" {
		t.Fatalf("group after update: %+v %v", g, err)
	}
	p := mustPolicy(t, s, "p", "/")
	if err := s.UpdatePolicyTags(ctx, "P", func(have []iamd.Tag) ([]iamd.Tag, error) {
		return append(have, iamd.Tag{Key: "k", Value: "v"}), nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetPolicy(ctx, p.Name); err != nil || len(got.Tags) != 1 || got.Tags[0].Key != "k" {
		t.Fatalf("policy tags: %+v %v", got, err)
	}
	wantKind(t, "tag a missing policy", s.UpdatePolicyTags(ctx, "nope", func(t []iamd.Tag) ([]iamd.Tag, error) { return t, nil }), iamd.ErrNotFound)
	b := &iamd.Bucket{ID: "00000000-0000-4000-8000-000000000001", Name: "photos", BundleID: "small_1_0", CreatedAt: ts(5), PrincipalID: "AIDAPHOTOS00000000000"}
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateBucket(ctx, "photos", func(b *iamd.Bucket) error {
		b.BundleID, b.Versioning, b.Tags = "medium_1_0", true, []iamd.Tag{{Key: "team", Value: "a"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetBucket(ctx, "photos"); err != nil || got.BundleID != "medium_1_0" || !got.Versioning || len(got.Tags) != 1 {
		t.Fatalf("bucket after update: %+v %v", got, err)
	}
	wantKind(t, "update a missing bucket", s.UpdateBucket(ctx, "nope", func(*iamd.Bucket) error { return nil }), iamd.ErrNotFound)
}

func testCredentialRows(t *testing.T, s iamd.Store) {
	for i, name := range []string{"zed", "amy", "Bea"} {
		mustUser(t, s, name, "/")
		for range i {
			if err := s.CreateAccessKey(ctx, newKey(iamd.UserOwner(name), 10+i), 2); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.CreateAccessKey(ctx, newKey(iamd.RootOwner, 1), 2); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.CredentialRows(ctx, func(uk iamd.UserKeys) error {
		got = append(got, fmt.Sprintf("%s:%d", uk.User.Name, len(uk.Keys)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[amy:1 Bea:2 zed:0]" {
		t.Fatalf("CredentialRows: %v", got)
	}
	stop := errors.New("stop")
	if err := s.CredentialRows(ctx, func(iamd.UserKeys) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn's error: %v", err)
	}
	n, err := s.AccountCounts(ctx)
	if err != nil || n.Users != 3 || n.RootKeys != 1 || n.Groups != 0 {
		t.Fatalf("AccountCounts: %+v %v", n, err)
	}
	_, err = s.GetCredentialReport(ctx, true)
	wantKind(t, "no report yet", err, iamd.ErrNotFound)
	for _, content := range []string{"first", "second"} {
		if err := s.PutCredentialReport(ctx, &iamd.CredentialReport{GeneratedAt: ts(7), Content: []byte(content)}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.GetCredentialReport(ctx, true)
	if err != nil || string(r.Content) != "second" || !r.GeneratedAt.Equal(ts(7)) {
		t.Fatalf("GetCredentialReport: %+v %v", r, err)
	}
	if r, err := s.GetCredentialReport(ctx, false); err != nil || r.Content != nil {
		t.Fatalf("GetCredentialReport without content: %+v %v", r, err)
	}
}
