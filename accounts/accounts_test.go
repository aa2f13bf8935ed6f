package accounts_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"iamd"
	"iamd/accounts"
	"iamd/internal/svctest"
)

var ctx = context.Background()

// TestAlias: the account's alias is set, replaced, listed, checked by
// name and deleted as AWS does it; a malformed one, or an account ID, is
// refused; a user needs its policies' leave.
func TestAlias(t *testing.T) {
	s := svctest.New(t, time.Now())
	root := svctest.Root
	a := accounts.New(s.Service, s.Store)
	for _, bad := range []string{"Acme", "ac", "acme--prod", "-acme", "acme-", "123456789012"} {
		if err := a.CreateAlias(ctx, root, bad); err == nil {
			t.Errorf("alias %q accepted", bad)
		}
	}
	for _, alias := range []string{"acme-prod", "acme-production"} {
		if err := a.CreateAlias(ctx, root, alias); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := a.Aliases(ctx, root); err != nil || !slices.Equal(got, []string{"acme-production"}) {
		t.Fatalf("Aliases: %v %v", got, err)
	}
	for name, want := range map[string]bool{"acme-production": true, "123456789012": true, "acme-prod": false, "other": false} {
		if a.Names(ctx, name) != want {
			t.Errorf("Names(%q) = %v", name, !want)
		}
	}
	if err := a.DeleteAlias(ctx, root, "acme-prod"); iamd.KindOf(err) != iamd.NotFound {
		t.Fatalf("deleting an alias the account does not have: %v", err)
	}
	if err := a.DeleteAlias(ctx, root, "acme-production"); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Aliases(ctx, root); len(got) != 0 {
		t.Fatalf("after deletion: %v", got)
	}
}
