package iamd_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"iamd"
	"iamd/sqlite"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T, c *clock) (*iamd.Service, iamd.Store) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	svc, err := iamd.NewService(context.Background(), iamd.Config{
		Store: st, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}, Now: c.now, FlushInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); st.Close() })
	return svc, st
}

var root = &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}

// TestLastUseIsBatched: a use touches memory only; the store sees it on flush.
func TestLastUseIsBatched(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	svc, st := newService(t, c)
	svc.CreateUser(ctx, root, "bob", "/", nil)
	k, _, err := svc.CreateAccessKey(ctx, root, "bob")
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		svc.RecordUse(k.ID, "us-east-1", "iam")
	}
	cred, _ := st.GetCredential(ctx, k.ID)
	if !cred.Key.LastUsed.At.IsZero() {
		t.Fatal("a use was written through to the store")
	}
	_, lu, err := svc.GetAccessKeyLastUsed(ctx, root, k.ID)
	if err != nil || !lu.At.Equal(c.t) || lu.Service != "iam" {
		t.Fatalf("pending use not visible: %+v %v", lu, err)
	}
	if err := svc.FlushUses(ctx); err != nil {
		t.Fatal(err)
	}
	cred, _ = st.GetCredential(ctx, k.ID)
	if !cred.Key.LastUsed.At.Equal(c.t) || cred.Key.LastUsed.Region != "us-east-1" {
		t.Fatalf("after flush: %+v", cred.Key.LastUsed)
	}
}

// slowUses is a store whose RecordKeyUse waits for release before writing.
type slowUses struct {
	iamd.Store
	entered, release chan struct{}
	once             sync.Once
}

func (s *slowUses) RecordKeyUse(ctx context.Context, uses []iamd.KeyUse) error {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.Store.RecordKeyUse(ctx, uses)
}

// TestLastUseVisibleDuringFlush: while a batch is being written, a read
// still sees its uses; they were once lost in that window.
func TestLastUseVisibleDuringFlush(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slow := &slowUses{Store: st, entered: make(chan struct{}), release: make(chan struct{})}
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	c := &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	svc, err := iamd.NewService(ctx, iamd.Config{
		Store: slow, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}, Now: c.now, FlushInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.CreateUser(ctx, root, "bob", "/", nil)
	k, _, err := svc.CreateAccessKey(ctx, root, "bob")
	if err != nil {
		t.Fatal(err)
	}
	svc.RecordUse(k.ID, "us-east-1", "s3")
	flushed := make(chan error, 1)
	go func() { flushed <- svc.FlushUses(ctx) }()
	<-slow.entered
	_, lu, err := svc.GetAccessKeyLastUsed(ctx, root, k.ID)
	if err != nil || !lu.At.Equal(c.t) || lu.Service != "s3" {
		t.Errorf("during the flush: %+v %v", lu, err)
	}
	c.t = c.t.Add(time.Minute)
	svc.RecordUse(k.ID, "eu-west-1", "s3") // newer than the batch in flight
	close(slow.release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	_, lu, _ = svc.GetAccessKeyLastUsed(ctx, root, k.ID)
	if !lu.At.Equal(c.t) || lu.Region != "eu-west-1" {
		t.Errorf("the use that arrived during the flush was dropped: %+v", lu)
	}
}

// TestCredentialCache: changes through the service take effect at once;
// the TTL bounds how long a change made elsewhere goes unseen.
func TestCredentialCache(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	svc, st := newService(t, c)
	svc.CreateUser(ctx, root, "bob", "/", nil)
	k, secret, _ := svc.CreateAccessKey(ctx, root, "bob")
	cc, err := svc.Credential(ctx, k.ID)
	if err != nil || string(cc.Secret) != secret || cc.Caller.User.Name != "bob" {
		t.Fatalf("Credential: %+v %v", cc, err)
	}
	if err := svc.UpdateAccessKey(ctx, root, "bob", k.ID, iamd.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if cc, _ := svc.Credential(ctx, k.ID); cc.Status != iamd.StatusInactive {
		t.Fatal("deactivation through the service not seen at once")
	}
	// A change behind the service's back (another node) shows after the TTL.
	st.UpdateAccessKey(ctx, iamd.UserOwner("bob"), k.ID, iamd.StatusActive, time.Now())
	if cc, _ := svc.Credential(ctx, k.ID); cc.Status != iamd.StatusInactive {
		t.Fatal("cache was not used within its TTL")
	}
	c.t = c.t.Add(11 * time.Second)
	if cc, _ := svc.Credential(ctx, k.ID); cc.Status != iamd.StatusActive {
		t.Fatal("stale credential served past its TTL")
	}
	svc.DeleteAccessKey(ctx, root, "bob", k.ID)
	if _, err := svc.Credential(ctx, k.ID); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
}

func TestDerivedKeyCache(t *testing.T) {
	var cc iamd.CachedCredential
	n := 0
	derive := func() []byte { n++; return []byte{byte(n)} }
	a := cc.DerivedKey("20261124/us-east-1/iam/aws4_request", derive)
	b := cc.DerivedKey("20261124/us-east-1/iam/aws4_request", derive)
	c := cc.DerivedKey("20261124/us-east-1/sts/aws4_request", derive)
	if n != 2 || a[0] != 1 || b[0] != 1 || c[0] != 2 {
		t.Fatalf("derived %d times: %v %v %v", n, a, b, c)
	}
}

func TestEnsureRootKey(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t, &clock{time.Now()})
	if err := svc.EnsureRootKey(ctx, "AKIAROOT000000000001", "secret-one-secret-one"); err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureRootKey(ctx, "AKIAROOT000000000001", "secret-one-secret-one"); err != nil {
		t.Fatalf("second ensure: %v", err)
	}
	if err := svc.EnsureRootKey(ctx, "AKIAROOT000000000001", "another-secret-here"); !errors.Is(err, iamd.ErrConflict) {
		t.Fatalf("changed secret: %v", err)
	}
	svc.CreateUser(ctx, root, "bob", "/", nil)
	k, _, _ := svc.CreateAccessKey(ctx, root, "bob")
	if err := svc.EnsureRootKey(ctx, k.ID, "whatever-whatever"); !errors.Is(err, iamd.ErrConflict) {
		t.Fatalf("a user's key as root key: %v", err)
	}
}

// slowStore lets a test run code while GetCredential is in flight.
type slowStore struct {
	iamd.Store
	during func()
}

func (s *slowStore) GetCredential(ctx context.Context, id string) (*iamd.Credential, error) {
	c, err := s.Store.GetCredential(ctx, id)
	if s.during != nil {
		f := s.during
		s.during = nil
		f()
	}
	return c, err
}

// TestCredentialLoadRace: a credential read before a deactivation commits
// must not be cached after it, or the key would work until the TTL ends.
func TestCredentialLoadRace(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowStore{Store: st}
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	svc, err := iamd.NewService(ctx, iamd.Config{Store: slow, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { svc.Close(); st.Close() }()
	svc.CreateUser(ctx, root, "bob", "/", nil)
	k, _, _ := svc.CreateAccessKey(ctx, root, "bob")
	slow.during = func() {
		if err := svc.UpdateAccessKey(ctx, root, "bob", k.ID, iamd.StatusInactive); err != nil {
			t.Fatal(err)
		}
	}
	if cc, _ := svc.Credential(ctx, k.ID); cc.Status != iamd.StatusActive {
		t.Fatal("the in-flight read should still see the old state")
	}
	if cc, _ := svc.Credential(ctx, k.ID); cc.Status != iamd.StatusInactive {
		t.Fatal("a stale credential was cached after the deactivation")
	}
}
