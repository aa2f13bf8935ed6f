package tenants_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"iamd"
	"iamd/internal/svctest"
	"iamd/tenants"
)

var ctx = context.Background()

// openList is the organization's open accounts as a test sets them.
type openList struct {
	mu    sync.Mutex
	ids   map[string]time.Time
	reads int
	err   error
}

func (o *openList) open(context.Context) (map[string]time.Time, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reads++
	if o.err != nil {
		return nil, o.err
	}
	out := map[string]time.Time{}
	for k, v := range o.ids {
		out[k] = v
	}
	return out, nil
}

func (o *openList) set(ids map[string]time.Time, err error) {
	o.mu.Lock()
	o.ids, o.err = ids, err
	o.mu.Unlock()
}

// TestSet: the first account's Service is the deployment's; an open
// account gets a Service of its own, once, for its account; an unknown
// account is NotFound; a closed one stops at once and stays stopped; the
// last list read serves while the organization cannot be read.
func TestSet(t *testing.T) {
	env := svctest.New(t, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	const a = "210987654321"
	list := &openList{ids: map[string]time.Time{a: env.Clock.Now()}}
	set := tenants.New(tenants.Config{First: env.Service, Open: list.open, Now: env.Clock.Now,
		Service: iamd.Config{Store: env.Store, Sealer: env.Sealer, Now: env.Clock.Now}})
	defer set.Close()
	if svc, err := set.Service(ctx, svctest.Account); err != nil || svc != env.Service {
		t.Fatalf("the first account: %v %v", svc, err)
	}
	svc, err := set.Service(ctx, a)
	if err != nil || svc.Account().ID != a {
		t.Fatalf("an open account: %v %v", svc, err)
	}
	if again, _ := set.Service(ctx, a); again != svc {
		t.Fatal("a second Service for one account")
	}
	if _, err := set.Service(ctx, "999999999999"); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("an account not served: %v", err)
	}
	reads := list.reads
	for range 10 {
		set.Service(ctx, "999999999999") // unknown keys read the list at most every 100 ms
	}
	if list.reads != reads {
		t.Fatalf("%d reads of the list for unknown accounts within 100 ms", list.reads-reads)
	}
	// A key of the first account that reads as another account's (iamd's
	// older keys are random) is the first account's, found without
	// reading the list.
	older, _ := iamd.NewAccessKeyID(rand.Reader, "410987654321")
	if err := env.Service.EnsureRootKey(ctx, older, "secret-of-an-older-key"); err != nil {
		t.Fatal(err)
	}
	const b = "310987654321"
	list.set(map[string]time.Time{a: env.Clock.Now(), b: env.Clock.Now()}, nil)
	env.Clock.Add(time.Second) // the list is older than missAfter, younger than Fresh
	reads = list.reads
	if got := set.ForKey(ctx, older); got != env.Service {
		t.Fatalf("an older key of the first account went to %v", got.Account())
	}
	if list.reads != reads {
		t.Fatal("an older key of the first account read the list")
	}
	// A key of an account made since the list was read: read again.
	newKey, _ := iamd.NewAccessKeyID(rand.Reader, b)
	if got := set.ForKey(ctx, newKey); list.reads != reads+1 || got != env.Service {
		t.Fatalf("a key of an account made since: %d reads, went to %v (the account has no such key)", list.reads-reads, got.Account())
	}
	if svc, err := set.Service(ctx, b); err != nil || svc.Account().ID != b {
		t.Fatalf("the account made since: %v %v", svc, err)
	}

	// The organization cannot be read: what was read serves.
	list.set(nil, &iamd.Error{Kind: iamd.Unavailable, Message: "down"})
	env.Clock.Add(time.Minute)
	if got, err := set.Service(ctx, a); err != nil || got != svc {
		t.Fatalf("while the organization cannot be read: %v %v", got, err)
	}
	set.Closed(a)
	if _, err := set.Service(ctx, a); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("a closed account: %v", err)
	}
	// A list read before the close does not open it again.
	list.set(map[string]time.Time{a: env.Clock.Now()}, nil)
	env.Clock.Add(time.Minute)
	if _, err := set.Service(ctx, a); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("a closed account after a stale list: %v", err)
	}
}
