package replica_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iamd"
	"iamd/replica"
	"iamd/sqlite"
)

var ctx = context.Background()

const doc = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(path, sqlite.Options{Synchronous: "NORMAL", ChangeLog: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Init(ctx, iamd.Account{ID: "123456789012", CreatedAt: time.Unix(1, 0), KeyCheck: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	return st
}

// fill makes user alice in group devs with a key, an inline and an
// attached policy; a role; a bucket with a key.
func fill(t testing.TB, st iamd.Store) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateUser(ctx, &iamd.User{ID: "AIDAALICE", Name: "Alice", Path: "/team/", CreatedAt: time.Unix(2, 0), Tags: []iamd.Tag{{Key: "team", Value: "red"}}}))
	must(st.CreateAccessKey(ctx, &iamd.AccessKey{ID: "AKIAALICE00000000001", Owner: iamd.UserOwner("alice"), Status: iamd.StatusActive, CreatedAt: time.Unix(3, 0), SealedSecret: []byte("sealed")}, 2))
	must(st.CreateGroup(ctx, &iamd.Group{ID: "AGPADEVS", Name: "devs", Path: "/", CreatedAt: time.Unix(4, 0)}))
	must(st.AddUserToGroup(ctx, "devs", "alice", 10))
	must(st.PutInlinePolicy(ctx, iamd.Entity{Kind: iamd.EntityGroup, Name: "devs"}, "g", doc, 5120))
	must(st.PutInlinePolicy(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, "u", doc, 2048))
	must(st.CreatePolicy(ctx, &iamd.ManagedPolicy{ID: "ANPAREADER", Name: "reader", Path: "/", CreatedAt: time.Unix(5, 0)}, doc))
	must(st.AttachPolicy(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, iamd.AttachedPolicy{ID: "ANPAREADER", ARN: "arn:aws:iam::123456789012:policy/reader"}, 10))
	must(st.AttachPolicy(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, iamd.AttachedPolicy{ID: "ANPAIWMBCKSKIEE64ZLYK", ARN: "arn:aws:iam::aws:policy/AdministratorAccess"}, 10))
	must(st.CreateRole(ctx, &iamd.Role{ID: "AROADEPLOY", Name: "deploy", Path: "/ci/", TrustPolicy: `{}`, MaxSessionDuration: 3600, CreatedAt: time.Unix(6, 0)}))
	must(st.PutInlinePolicy(ctx, iamd.Entity{Kind: iamd.EntityRole, Name: "deploy"}, "r", doc, 10240))
	must(st.CreateBucket(ctx, &iamd.Bucket{ID: "b-1", Name: "photos", BundleID: "small_1_0", CreatedAt: time.Unix(7, 0), PrincipalID: "AIDABUCKET"}))
	must(st.CreateAccessKey(ctx, &iamd.AccessKey{ID: "AKIABUCKET0000000001", Owner: iamd.BucketOwner("photos"), Status: iamd.StatusActive, CreatedAt: time.Unix(8, 0), SealedSecret: []byte("s2")}, 2))
	must(st.CreateOIDCProvider(ctx, &iamd.OIDCProvider{ID: "p-gh", URL: "token.actions.githubusercontent.com", ClientIDs: []string{"sts.amazonaws.com"}, CreatedAt: time.Unix(9, 0)}))
}

// sameAsStore checks the replica's answers against the store's.
func sameAsStore(t *testing.T, r *replica.Replica, st iamd.Store) {
	t.Helper()
	for _, id := range []string{"AKIAALICE00000000001", "AKIABUCKET0000000001", "AKIANOSUCHKEY0000000"} {
		want, werr := st.GetCredential(ctx, id)
		got, gerr := r.GetCredential(ctx, id)
		if (werr == nil) != (gerr == nil) || iamd.KindOf(werr) != iamd.KindOf(gerr) {
			t.Fatalf("credential %s: replica %v, store %v", id, gerr, werr)
		}
		if werr != nil {
			continue
		}
		want.Key.LastUsed = iamd.LastUsed{} // not the replica's
		if got.Key.ID != want.Key.ID || got.Key.Owner != want.Key.Owner || got.Key.UserID != want.Key.UserID || got.Key.Status != want.Key.Status ||
			string(got.Key.SealedSecret) != string(want.Key.SealedSecret) || !got.Key.CreatedAt.Equal(want.Key.CreatedAt) ||
			(got.User == nil) != (want.User == nil) || got.User != nil && (got.User.Name != want.User.Name || got.User.Path != want.User.Path || len(got.User.Tags) != len(want.User.Tags)) ||
			(got.Bucket == nil) != (want.Bucket == nil) {
			t.Fatalf("credential %s: replica %+v, store %+v", id, got, want)
		}
	}
	for _, name := range []string{"alice", "ALICE", "nobody"} {
		w, werr := st.UserPolicies(ctx, name)
		g, gerr := r.UserPolicies(ctx, name)
		if iamd.KindOf(werr) != iamd.KindOf(gerr) || len(w) != len(g) {
			t.Fatalf("policies of %s: replica %d %v, store %d %v", name, len(g), gerr, len(w), werr)
		}
		docs := map[string]int{}
		for _, s := range w {
			docs[s.Entity.Name+"/"+s.Name+"/"+s.Policy.ARN+"/"+s.Document]++
		}
		for _, s := range g {
			docs[s.Entity.Name+"/"+s.Name+"/"+s.Policy.ARN+"/"+s.Document]--
		}
		for k, n := range docs {
			if n != 0 {
				t.Fatalf("policies of %s differ at %s", name, k)
			}
		}
	}
	w, werr := st.RolePolicies(ctx, "deploy")
	g, gerr := r.RolePolicies(ctx, "deploy")
	if werr != nil || gerr != nil || len(w) != len(g) {
		t.Fatalf("role policies: %v %v", w, g)
	}
	for _, name := range []string{"deploy", "nosuchrole"} {
		_, werr := st.GetRole(ctx, name)
		_, gerr := r.GetRole(ctx, name)
		if iamd.KindOf(werr) != iamd.KindOf(gerr) || (werr == nil) != (gerr == nil) {
			t.Fatalf("role %s: %v %v", name, gerr, werr)
		}
	}
	for _, url := range []string{"token.actions.githubusercontent.com", "gitlab.com"} {
		w, werr := st.GetOIDCProvider(ctx, url)
		g, gerr := r.GetOIDCProvider(ctx, url)
		if iamd.KindOf(werr) != iamd.KindOf(gerr) || (werr == nil) != (gerr == nil) || w != nil && (g.ID != w.ID || len(g.ClientIDs) != len(w.ClientIDs)) {
			t.Fatalf("provider %s: replica %+v %v, store %+v %v", url, g, gerr, w, werr)
		}
	}
}

func TestLoadFollowAndReadYourWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "iamd.db")
	st := openStore(t, path)
	fill(t, st)
	r, err := replica.Open(ctx, replica.Config{Log: st, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sameAsStore(t, r, st)

	// The writer's own changes: applied before the write returns.
	st.OnCommit(r.Committed)
	var keys []string
	r.Subscribe(iamd.Changes{Key: func(id string) { keys = append(keys, id) }})
	if err := st.UpdateAccessKey(ctx, iamd.UserOwner("alice"), "AKIAALICE00000000001", iamd.StatusInactive, time.Unix(9, 0)); err != nil {
		t.Fatal(err)
	}
	if c, _ := r.GetCredential(ctx, "AKIAALICE00000000001"); c.Key.Status != iamd.StatusInactive {
		t.Fatal("the writer's change is not read back before its write returned")
	}
	if len(keys) != 1 || keys[0] != "AKIAALICE00000000001" {
		t.Fatalf("subscribers heard %v", keys)
	}
	// A rename: the key signs as the new name, the old one is free.
	if err := st.UpdateUser(ctx, "alice", func(u *iamd.User) error { u.Name = "alicia"; return nil }); err != nil {
		t.Fatal(err)
	}
	if c, _ := r.GetCredential(ctx, "AKIAALICE00000000001"); c.User.Name != "alicia" || c.Key.Owner.Name != "alicia" {
		t.Fatalf("after a rename: %+v", c)
	}
	if _, err := r.GetUser(ctx, "alice"); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("the old name: %v", err)
	}
	if len(keys) != 2 {
		t.Fatalf("a user's change tells of its keys: %v", keys)
	}

	// Another node's changes (another handle on the file), seen at the
	// next read of the log.
	other, err := sqlite.Open(path, sqlite.Options{ChangeLog: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.DeleteAccessKey(ctx, iamd.BucketOwner("photos"), "AKIABUCKET0000000001"); err != nil {
		t.Fatal(err)
	}
	if err := other.DetachPolicy(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: "alicia"}, "arn:aws:iam::123456789012:policy/reader"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetCredential(ctx, "AKIABUCKET0000000001"); err != nil {
		t.Fatal("another node's change applied before the log was read")
	}
	head, _ := other.ChangesSince(ctx, 0, 1)
	if err := r.WaitFor(ctx, head.Last); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetCredential(ctx, "AKIABUCKET0000000001"); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("a key another node deleted: %v", err)
	}
	sameAsStore(t, r, st)
}

// failingLog is a change log that fails while down is set.
type failingLog struct {
	iamd.ChangeLog
	down  atomic.Bool
	reads atomic.Int64
}

var errDown = &iamd.Error{Kind: iamd.Unavailable, Message: "The database is unavailable."}

func (l *failingLog) Snapshot(ctx context.Context) (*iamd.Snapshot, error) {
	l.reads.Add(1)
	if l.down.Load() {
		return nil, errDown
	}
	return l.ChangeLog.Snapshot(ctx)
}

func (l *failingLog) ChangesSince(ctx context.Context, seq int64, max int) (*iamd.Delta, error) {
	l.reads.Add(1)
	if l.down.Load() {
		return nil, errDown
	}
	return l.ChangeLog.ChangesSince(ctx, seq, max)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestStaticStability: with the database gone, the replica answers until
// MaxStale has passed since the database last confirmed it, then refuses;
// the database back, it catches up by itself and answers again.
func TestStaticStability(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "iamd.db"))
	fill(t, st)
	log := &failingLog{ChangeLog: st}
	clk := &clock{t: time.Now()}
	r, err := replica.Open(ctx, replica.Config{Log: log, MaxStale: 15 * time.Minute, Poll: 10 * time.Millisecond, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer func() { stop(); r.Close() }()
	r.Start(rctx)
	log.down.Store(true)
	clk.add(14 * time.Minute)
	time.Sleep(50 * time.Millisecond) // polls fail meanwhile
	if _, err := r.GetCredential(ctx, "AKIAALICE00000000001"); err != nil {
		t.Fatalf("14 minutes into an outage: %v", err)
	}
	if s := r.Status(); s.Err == nil || s.Stale {
		t.Fatalf("status during the outage: %+v", s)
	}
	clk.add(2 * time.Minute)
	if _, err := r.GetCredential(ctx, "AKIAALICE00000000001"); iamd.KindOf(err) != iamd.Unavailable {
		t.Fatalf("16 minutes into an outage: %v", err)
	}
	if _, err := r.UserPolicies(ctx, "alice"); iamd.KindOf(err) != iamd.Unavailable {
		t.Fatalf("policies 16 minutes into an outage: %v", err)
	}
	if !r.Status().Stale {
		t.Fatal("not stale")
	}
	// A change made elsewhere during the outage, then the database back.
	if err := st.DeleteAccessKey(ctx, iamd.UserOwner("alice"), "AKIAALICE00000000001"); err != nil {
		t.Fatal(err)
	}
	log.down.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for r.Status().Stale || r.Status().Err != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not caught up: %+v", r.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := r.GetCredential(ctx, "AKIAALICE00000000001"); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("a key deleted during the outage, after it: %v", err)
	}
}

// TestOwnChangeNotReadBackFailsClosed: a node that committed a change it
// cannot apply yet (another node's change came between, and the database
// went away before the log could be read) refuses what the change names,
// rather than decide on what it replaced.
func TestOwnChangeNotReadBackFailsClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "iamd.db")
	st := openStore(t, path)
	fill(t, st)
	log := &failingLog{ChangeLog: st}
	r, err := replica.Open(ctx, replica.Config{Log: log, SyncTimeout: 100 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer func() { stop(); r.Close() }()
	r.Start(rctx)
	other, err := sqlite.Open(path, sqlite.Options{ChangeLog: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.CreateUser(ctx, &iamd.User{ID: "AIDAOTHER", Name: "other", Path: "/", CreatedAt: time.Unix(9, 0)}); err != nil {
		t.Fatal(err)
	}
	st.OnCommit(func(ctx context.Context, d *iamd.Delta) {
		log.down.Store(true) // gone right after the commit
		r.Committed(ctx, d)
	})
	if err := st.DeleteAccessKey(ctx, iamd.UserOwner("alice"), "AKIAALICE00000000001"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetCredential(ctx, "AKIAALICE00000000001"); iamd.KindOf(err) != iamd.Unavailable {
		t.Fatalf("a key deleted here and not read back: %v", err)
	}
	if _, err := r.GetCredential(ctx, "AKIABUCKET0000000001"); err != nil {
		t.Fatalf("another key: %v", err)
	}
	// The database back, the change is read back and the key is gone.
	log.down.Store(false)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	head, _ := st.ChangesSince(ctx, 0, 1)
	if err := r.WaitFor(wctx, head.Last); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetCredential(ctx, "AKIAALICE00000000001"); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("the deleted key once read back: %v", err)
	}
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if err := r.WaitFor(short, head.Last+1000); err == nil {
		t.Fatal("waited for an entry that does not exist")
	}
}

func TestSnapshotFile(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "iamd.db"))
	fill(t, st)
	snap := filepath.Join(dir, "replica.snapshot")
	r, err := replica.Open(ctx, replica.Config{Log: st, Path: snap, MaxStale: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	fi, err := os.Stat(snap)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(snap); len(b) == 0 {
		t.Fatal("empty snapshot")
	}
	// Restarted with the database unreachable: the snapshot answers.
	down := &failingLog{ChangeLog: st}
	down.down.Store(true)
	r2, err := replica.Open(ctx, replica.Config{Log: down, Path: snap, MaxStale: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sameAsStore(t, r2, st)
	if r2.Account().ID != "123456789012" {
		t.Fatalf("account %+v", r2.Account())
	}
	// Without a snapshot and without the database: no replica.
	if _, err := replica.Open(ctx, replica.Config{Log: down, Path: filepath.Join(dir, "none")}); !errors.Is(err, replica.ErrNoReplica) {
		t.Fatalf("no snapshot, no database: %v", err)
	}
	// A snapshot of another database (another epoch) is loaded again in
	// full once the database answers.
	other := openStore(t, filepath.Join(dir, "other.db"))
	r3, err := replica.Open(ctx, replica.Config{Log: other, Path: snap})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r3.GetCredential(ctx, "AKIAALICE00000000001"); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("a key of another database's snapshot: %v", err)
	}
}

// TestJournalSurvivesAKill: what the replica applied after its last
// snapshot is in its journal, so a node killed (no Close) and started
// again without its database decides by it.
func TestJournalSurvivesAKill(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "iamd.db"))
	fill(t, st)
	snap := filepath.Join(dir, "replica.snapshot")
	r, err := replica.Open(ctx, replica.Config{Log: st, Path: snap, MaxStale: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	st.OnCommit(r.Committed)
	if err := st.DeleteAccessKey(ctx, iamd.UserOwner("alice"), "AKIAALICE00000000001"); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAccessKey(ctx, &iamd.AccessKey{ID: "AKIANEW0000000000001", Owner: iamd.UserOwner("alice"), Status: iamd.StatusActive,
		CreatedAt: time.Unix(10, 0), SealedSecret: []byte("x")}, 2); err != nil {
		t.Fatal(err)
	}
	st.OnCommit(func(context.Context, *iamd.Delta) {})
	// Killed: no Close. Started again with the database gone.
	down := &failingLog{ChangeLog: st}
	down.down.Store(true)
	r2, err := replica.Open(ctx, replica.Config{Log: down, Path: snap, MaxStale: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.GetCredential(ctx, "AKIAALICE00000000001"); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("a key deleted before the kill: %v", err)
	}
	if _, err := r2.GetCredential(ctx, "AKIANEW0000000000001"); err != nil {
		t.Fatalf("a key made before the kill: %v", err)
	}
	for _, name := range []string{"replica.snapshot", "replica.snapshot.journal"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", name, fi, err)
		}
	}
}

// gappyLog loses the first entry after any position: as if the log had
// been pruned past it.
type gappyLog struct{ iamd.ChangeLog }

func (l gappyLog) ChangesSince(ctx context.Context, seq int64, max int) (*iamd.Delta, error) {
	d, err := l.ChangeLog.ChangesSince(ctx, seq, max)
	if err == nil && len(d.Entries) > 1 {
		d.Entries = d.Entries[1:]
	}
	return d, err
}

// TestGapReloads: a replica that finds entries missing after its
// position (pruned, or the database restored) loads everything again
// rather than apply what follows.
func TestGapReloads(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "iamd.db"))
	r, err := replica.Open(ctx, replica.Config{Log: gappyLog{st}})
	if err != nil {
		t.Fatal(err)
	}
	resets := 0
	r.Subscribe(iamd.Changes{Reset: func() { resets++ }})
	fill(t, st)
	if err := r.WaitFor(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if resets == 0 {
		t.Fatal("a gap was applied over, not reloaded")
	}
	sameAsStore(t, r, st)
}

// TestAccounts: the replica of each account finds that account's
// entities under names another account also uses, and nothing of the
// other's, loaded in full, followed, and read back from its file.
func TestAccounts(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "iamd.db"))
	const other = "210987654321"
	accounts := []iamd.Store{st, st.In(other)}
	mk := func(s iamd.Store, id string) {
		t.Helper()
		for _, err := range []error{
			s.CreateUser(ctx, &iamd.User{ID: "AIDA" + id, Name: "alice", Path: "/", CreatedAt: time.Unix(2, 0)}),
			s.CreateAccessKey(ctx, &iamd.AccessKey{ID: "AKIA" + id, Owner: iamd.UserOwner("alice"), Status: iamd.StatusActive, CreatedAt: time.Unix(3, 0), SealedSecret: []byte(id)}, 2),
			s.CreateAccessKey(ctx, &iamd.AccessKey{ID: "AKIAROOT" + id, Owner: iamd.RootOwner, Status: iamd.StatusActive, CreatedAt: time.Unix(3, 0), SealedSecret: []byte(id)}, 2),
			s.CreateRole(ctx, &iamd.Role{ID: "AROA" + id, Name: "ops", Path: "/", TrustPolicy: `{}`, MaxSessionDuration: 3600, CreatedAt: time.Unix(4, 0)}),
			s.PutInlinePolicy(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, "p-"+id, doc, 2048),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	mk(accounts[0], "FIRST")
	snap := filepath.Join(dir, "replica.snap")
	r, err := replica.Open(ctx, replica.Config{Log: st, Path: snap, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	st.OnCommit(r.Committed)
	mk(accounts[1], "OTHER") // followed
	check := func(r *replica.Replica) {
		t.Helper()
		for i, id := range []string{"FIRST", "OTHER"} {
			v := r.In([]string{"123456789012", other}[i])
			theirs := []string{"OTHER", "FIRST"}[i]
			if u, err := v.GetUser(ctx, "ALICE"); err != nil || u.ID != "AIDA"+id {
				t.Fatalf("account %d: alice %+v %v", i, u, err)
			}
			if ro, err := v.GetRole(ctx, "ops"); err != nil || ro.ID != "AROA"+id {
				t.Fatalf("account %d: role %+v %v", i, ro, err)
			}
			if ps, err := v.UserPolicies(ctx, "alice"); err != nil || len(ps) != 1 || ps[0].Name != "p-"+id {
				t.Fatalf("account %d: policies %+v %v", i, ps, err)
			}
			for _, k := range []string{"AKIA" + id, "AKIAROOT" + id} {
				if _, err := v.GetCredential(ctx, k); err != nil {
					t.Fatalf("account %d: its key %s: %v", i, k, err)
				}
			}
			for _, k := range []string{"AKIA" + theirs, "AKIAROOT" + theirs} {
				if _, err := v.GetCredential(ctx, k); iamd.KindOf(err) != iamd.NotFound {
					t.Fatalf("account %d: the other's key %s: %v", i, k, err)
				}
			}
		}
		if u, err := r.GetUser(ctx, "alice"); err != nil || u.ID != "AIDAFIRST" {
			t.Fatalf("the replica's own reads are the first account's: %+v %v", u, err)
		}
	}
	check(r)
	r.Close()
	r2, err := replica.Open(ctx, replica.Config{Log: st, Path: snap, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	check(r2)
}

// TestOrganization: the organization's document is in the replica, from a
// full load, from the log, and from its file; deleting it empties it.
func TestOrganization(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "iamd.db"))
	set := func(doc []byte) {
		t.Helper()
		if err := st.UpdateOrganization(ctx, func([]byte) ([]byte, error) { return doc, nil }); err != nil {
			t.Fatal(err)
		}
	}
	set([]byte(`{"id":"o-1"}`))
	snap := filepath.Join(dir, "replica.snap")
	r, err := replica.Open(ctx, replica.Config{Log: st, Path: snap, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want := func(r *replica.Replica, doc string) {
		t.Helper()
		got, err := r.Organization(ctx)
		if err != nil || string(got) != doc {
			t.Fatalf("the replica's organization: %q %v, want %q", got, err, doc)
		}
	}
	want(r, `{"id":"o-1"}`)
	st.OnCommit(r.Committed)
	set([]byte(`{"id":"o-1","members":[]}`))
	want(r, `{"id":"o-1","members":[]}`)
	r.Close()
	down := &failingLog{ChangeLog: st}
	down.down.Store(true)
	r2, err := replica.Open(ctx, replica.Config{Log: down, Path: snap, MaxStale: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want(r2, `{"id":"o-1","members":[]}`)
	r2.Close()
	r3, err := replica.Open(ctx, replica.Config{Log: st, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	st.OnCommit(r3.Committed)
	set(nil)
	want(r3, "")
}
