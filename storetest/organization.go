package storetest

import (
	"errors"
	"sync"
	"testing"

	"iamd"
)

// testOrganization: the organization's document is absent, then created,
// replaced and deleted whole; an update whose function fails changes
// nothing; a second creation of one that exists sees it.
func testOrganization(t *testing.T, s iamd.Store) {
	doc, err := s.Organization(ctx)
	if err != nil || doc != nil {
		t.Fatalf("no organization: %q %v", doc, err)
	}
	set := func(want []byte, next []byte) {
		t.Helper()
		if err := s.UpdateOrganization(ctx, func(cur []byte) ([]byte, error) {
			if string(cur) != string(want) {
				t.Fatalf("UpdateOrganization saw %q, want %q", cur, want)
			}
			return next, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(nil, []byte(`{"id":"o-1"}`))
	set([]byte(`{"id":"o-1"}`), []byte(`{"id":"o-1","types":["SERVICE_CONTROL_POLICY"]}`))
	boom := errors.New("refused")
	if err := s.UpdateOrganization(ctx, func([]byte) ([]byte, error) { return []byte(`{}`), boom }); !errors.Is(err, boom) {
		t.Fatalf("a failing update: %v", err)
	}
	if doc, err := s.Organization(ctx); err != nil || string(doc) != `{"id":"o-1","types":["SERVICE_CONTROL_POLICY"]}` {
		t.Fatalf("after a failed update: %q %v", doc, err)
	}
	if a, err := s.AccountAlias(ctx); err != nil || a != "" {
		t.Fatalf("the organization is not the alias: %q %v", a, err)
	}
	set([]byte(`{"id":"o-1","types":["SERVICE_CONTROL_POLICY"]}`), nil)
	if doc, err := s.Organization(ctx); err != nil || doc != nil {
		t.Fatalf("deleted: %q %v", doc, err)
	}

	// Eight creations at once: exactly one creates it; each other sees it
	// or is told of the conflict, and none overwrites it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range 8 {
		wg.Go(func() {
			var creating bool // in the transaction's last run
			err := s.UpdateOrganization(ctx, func(cur []byte) ([]byte, error) {
				if creating = cur == nil; !creating {
					return cur, nil
				}
				return []byte(`{"id":"o-` + string(rune('a'+i)) + `"}`), nil
			})
			switch {
			case err == nil && !creating:
				return
			case err == nil:
			case iamd.KindOf(err) == iamd.Conflict:
				return
			default:
				t.Errorf("a concurrent creation: %v", err)
				return
			}
			mu.Lock()
			created++
			mu.Unlock()
		})
	}
	wg.Wait()
	doc, err = s.Organization(ctx)
	if err != nil || len(doc) != len(`{"id":"o-a"}`) {
		t.Fatalf("after concurrent creations: %q %v", doc, err)
	}
	if created != 1 {
		t.Fatalf("%d concurrent creations succeeded, want 1", created)
	}
}
