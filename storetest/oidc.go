package storetest

import (
	"reflect"
	"testing"

	"iamd"
)

// testOIDCProviders: providers by URL, unique; their client IDs,
// thumbprints and tags change atomically; a deleted one is gone.
func testOIDCProviders(t *testing.T, s iamd.Store) {
	gh := &iamd.OIDCProvider{ID: "p-gh", URL: "token.actions.githubusercontent.com", ClientIDs: []string{"sts.amazonaws.com"},
		Thumbprints: []string{"6938fd4d98bab03faadb97b34396831e3780aea1"}, CreatedAt: ts(1), Tags: []iamd.Tag{{Key: "ci", Value: "github"}}}
	if err := s.CreateOIDCProvider(ctx, gh); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOIDCProvider(ctx, &iamd.OIDCProvider{ID: "p-k8s", URL: "oidc.example.com/id/ABC", CreatedAt: ts(2)}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "a second provider of one URL", s.CreateOIDCProvider(ctx, &iamd.OIDCProvider{ID: "p-2", URL: gh.URL, CreatedAt: ts(3)}), iamd.ErrAlreadyExists)
	got, err := s.GetOIDCProvider(ctx, gh.URL)
	if err != nil || !reflect.DeepEqual(got, gh) {
		t.Fatalf("GetOIDCProvider: %+v %v, want %+v", got, err, gh)
	}
	k8s, err := s.GetOIDCProvider(ctx, "oidc.example.com/id/ABC")
	if err != nil || k8s.ClientIDs == nil || len(k8s.ClientIDs) != 0 || len(k8s.Thumbprints) != 0 {
		t.Fatalf("a provider without client IDs: %+v %v", k8s, err)
	}
	_, err = s.GetOIDCProvider(ctx, "TOKEN.actions.githubusercontent.com")
	wantKind(t, "another spelling of the URL", err, iamd.ErrNotFound)
	all, err := s.ListOIDCProviders(ctx)
	if err != nil || len(all) != 2 || all[0].URL != "oidc.example.com/id/ABC" || all[1].URL != gh.URL {
		t.Fatalf("ListOIDCProviders: %+v %v", all, err)
	}
	if err := s.UpdateOIDCProvider(ctx, gh.URL, func(p *iamd.OIDCProvider) error {
		p.ClientIDs = append(p.ClientIDs, "my-app")
		p.Thumbprints = []string{"0000000000000000000000000000000000000000"}
		p.Tags = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetOIDCProvider(ctx, gh.URL)
	if !reflect.DeepEqual(got.ClientIDs, []string{"sts.amazonaws.com", "my-app"}) || got.Thumbprints[0] != "0000000000000000000000000000000000000000" || len(got.Tags) != 0 {
		t.Fatalf("after the update: %+v", got)
	}
	failing := iamd.Errorf(iamd.Invalid, "no")
	if err := s.UpdateOIDCProvider(ctx, gh.URL, func(p *iamd.OIDCProvider) error { p.ClientIDs = nil; return failing }); err != failing {
		t.Fatalf("a refused update: %v", err)
	}
	if got, _ = s.GetOIDCProvider(ctx, gh.URL); len(got.ClientIDs) != 2 {
		t.Fatalf("a refused update was written: %+v", got)
	}
	wantKind(t, "update a missing provider", s.UpdateOIDCProvider(ctx, "nope.example.com", func(*iamd.OIDCProvider) error { return nil }), iamd.ErrNotFound)
	if err := s.DeleteOIDCProvider(ctx, gh.URL); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetOIDCProvider(ctx, gh.URL)
	wantKind(t, "a deleted provider", err, iamd.ErrNotFound)
	wantKind(t, "delete it again", s.DeleteOIDCProvider(ctx, gh.URL), iamd.ErrNotFound)
}
