package storetest

import (
	"testing"

	"iamd"
)

// testInstanceProfiles: instance profiles by folded name, listed by path
// and by role, holding one role at most; neither the profile nor its role
// can be deleted while it holds the role.
func testInstanceProfiles(t *testing.T, s iamd.Store) {
	mustRole(t, s, "web", "/")
	mustRole(t, s, "batch", "/")
	for i, n := range []string{"web-profile", "Batch-Profile", "spare"} {
		path := "/"
		if i == 1 {
			path = "/jobs/"
		}
		if err := s.CreateInstanceProfile(ctx, &iamd.InstanceProfile{ID: "AIPA" + n, Name: n, Path: path, CreatedAt: ts(5), Tags: []iamd.Tag{{Key: "k", Value: n}}}); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, "same name, other case", s.CreateInstanceProfile(ctx, &iamd.InstanceProfile{ID: "AIPAX", Name: "WEB-PROFILE", Path: "/", CreatedAt: ts(5)}), iamd.ErrAlreadyExists)
	_, err := s.GetInstanceProfile(ctx, "nope")
	wantKind(t, "a missing profile", err, iamd.ErrNotFound)

	if err := s.SetInstanceProfileRole(ctx, "WEB-profile", "Web", true); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "a second role", s.SetInstanceProfileRole(ctx, "web-profile", "batch", true), iamd.ErrLimitExceeded)
	wantKind(t, "a missing role", s.SetInstanceProfileRole(ctx, "spare", "nobody", true), iamd.ErrNotFound)
	wantKind(t, "removing a role it does not hold", s.SetInstanceProfileRole(ctx, "spare", "web", false), iamd.ErrNotFound)
	p, err := s.GetInstanceProfile(ctx, "web-profile")
	if err != nil || p.Role != "web" || p.Name != "web-profile" || len(p.Tags) != 1 || !p.CreatedAt.Equal(ts(5)) {
		t.Fatalf("GetInstanceProfile: %+v %v", p, err)
	}
	wantKind(t, "deleting the profile holding a role", s.DeleteInstanceProfile(ctx, "web-profile"), iamd.ErrConflict)
	wantKind(t, "deleting the role in a profile", s.DeleteRole(ctx, "web"), iamd.ErrConflict)

	all, next, err := s.ListInstanceProfiles(ctx, "/", "", iamd.Page{MaxItems: 2})
	if err != nil || len(all) != 2 || all[0].Name != "Batch-Profile" || next == "" {
		t.Fatalf("first page: %+v %q %v", all, next, err)
	}
	rest, next, err := s.ListInstanceProfiles(ctx, "/", "", iamd.Page{MaxItems: 2, Marker: next})
	if err != nil || len(rest) != 1 || rest[0].Name != "web-profile" || next != "" {
		t.Fatalf("second page: %+v %q %v", rest, next, err)
	}
	jobs, _, err := s.ListInstanceProfiles(ctx, "/jobs/", "", iamd.Page{MaxItems: 10})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("by path: %+v %v", jobs, err)
	}
	forWeb, _, err := s.ListInstanceProfiles(ctx, "/", "WEB", iamd.Page{MaxItems: 10})
	if err != nil || len(forWeb) != 1 || forWeb[0].Name != "web-profile" {
		t.Fatalf("by role: %+v %v", forWeb, err)
	}
	_, _, err = s.ListInstanceProfiles(ctx, "/", "nobody", iamd.Page{MaxItems: 10})
	wantKind(t, "by a missing role", err, iamd.ErrNotFound)

	if err := s.UpdateInstanceProfileTags(ctx, "spare", func(have []iamd.Tag) ([]iamd.Tag, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.GetInstanceProfile(ctx, "spare"); len(p.Tags) != 0 {
		t.Fatalf("tags after removing them: %+v", p.Tags)
	}
	if err := s.SetInstanceProfileRole(ctx, "web-profile", "web", false); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteInstanceProfile(ctx, "web-profile"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRole(ctx, "web"); err != nil {
		t.Fatalf("the role, out of every profile: %v", err)
	}
}
