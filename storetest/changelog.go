package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"iamd"
)

var changeLogTests = []struct {
	name string
	fn   func(t *testing.T, s iamd.Store)
}{
	{"ChangeLog", testChangeLog},
	{"ChangeLogConcurrent", testChangeLogConcurrent},
}

func changeLog(t *testing.T, s iamd.Store) iamd.ChangeLog {
	t.Helper()
	l, ok := s.(iamd.ChangeLog)
	if !ok {
		t.Fatal("the store keeps no change log")
	}
	return l
}

// since reads the delta after seq and checks that its entries follow seq
// without a gap.
func since(t *testing.T, l iamd.ChangeLog, seq int64) *iamd.Delta {
	t.Helper()
	d, err := l.ChangesSince(ctx, seq, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range d.Entries {
		if e.Seq != seq+int64(i)+1 {
			t.Fatalf("entry %d after %d has seq %d: the log has a gap or is out of order", i, seq, e.Seq)
		}
	}
	if n := len(d.Entries); n > 0 && d.Entries[n-1].Seq != d.Last {
		t.Fatalf("last entry %d, head %d", d.Entries[n-1].Seq, d.Last)
	}
	return d
}

func named(d *iamd.Delta, kind iamd.ChangeKind, id string) bool {
	for _, e := range d.Entries {
		if e.Kind == kind && e.ID == id {
			return true
		}
	}
	return false
}

// testChangeLog: every change decisions depend on is logged, in the same
// transaction, and the delta carries each named entity's current record
// (or none when it was deleted); the snapshot agrees.
func testChangeLog(t *testing.T, s iamd.Store) {
	l := changeLog(t, s)
	snap, err := l.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Epoch == "" || snap.Account.ID != "123456789012" || len(snap.Keys)+len(snap.Users) != 0 {
		t.Fatalf("snapshot of an empty store: %+v", snap)
	}
	var committed []iamd.LogEntry
	var mu sync.Mutex
	var lastRecords iamd.Records
	l.OnCommit(func(_ context.Context, d *iamd.Delta) {
		mu.Lock()
		committed, lastRecords = append(committed, d.Entries...), d.Records
		mu.Unlock()
	})
	defer l.OnCommit(func(context.Context, *iamd.Delta) {})

	pos := snap.Seq
	step := func(what string, kind iamd.ChangeKind, id string) *iamd.Delta {
		t.Helper()
		d := since(t, l, pos)
		if !named(d, kind, id) {
			t.Fatalf("%s: no %s entry for %s in %+v", what, kind, id, d.Entries)
		}
		if d.Epoch != snap.Epoch {
			t.Fatalf("%s: epoch %q, was %q", what, d.Epoch, snap.Epoch)
		}
		pos = d.Last
		return d
	}

	u := mustUser(t, s, "alice", "/team/")
	d := step("CreateUser", iamd.ChangeUser, u.ID)
	if len(d.Users) != 1 || d.Users[0].Name != "alice" || d.Users[0].Path != "/team/" {
		t.Fatalf("CreateUser's record: %+v", d.Users)
	}
	k := newKey(iamd.UserOwner("alice"), 2)
	if err := s.CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	d = step("CreateAccessKey", iamd.ChangeKey, k.ID)
	if len(d.Keys) != 1 || d.Keys[0].OwnerID != u.ID || d.Keys[0].Owner != iamd.OwnerUser || string(d.Keys[0].SealedSecret) != string(k.SealedSecret) ||
		d.Keys[0].Status != iamd.StatusActive {
		t.Fatalf("CreateAccessKey's record: %+v", d.Keys)
	}
	if err := s.UpdateAccessKey(ctx, iamd.UserOwner("alice"), k.ID, iamd.StatusInactive, ts(5)); err != nil {
		t.Fatal(err)
	}
	d = step("UpdateAccessKey", iamd.ChangeKey, k.ID)
	if d.Keys[0].Status != iamd.StatusInactive || !d.Keys[0].DisabledAt.Equal(ts(5)) {
		t.Fatalf("UpdateAccessKey's record: %+v", d.Keys[0])
	}
	prov := &iamd.OIDCProvider{ID: "p-1", URL: "issuer.example.com", ClientIDs: []string{"a"}, CreatedAt: ts(3)}
	if err := s.CreateOIDCProvider(ctx, prov); err != nil {
		t.Fatal(err)
	}
	d = step("CreateOpenIDConnectProvider", iamd.ChangeProvider, prov.ID)
	if len(d.Providers) != 1 || d.Providers[0].URL != prov.URL || d.Providers[0].ClientIDs[0] != "a" {
		t.Fatalf("CreateOpenIDConnectProvider's record: %+v", d.Providers)
	}
	if err := s.UpdateOIDCProvider(ctx, prov.URL, func(p *iamd.OIDCProvider) error { p.ClientIDs = []string{"b"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if d = step("AddClientIDToOpenIDConnectProvider", iamd.ChangeProvider, prov.ID); d.Providers[0].ClientIDs[0] != "b" {
		t.Fatalf("the update's record: %+v", d.Providers)
	}
	if err := s.DeleteOIDCProvider(ctx, prov.URL); err != nil {
		t.Fatal(err)
	}
	if d = step("DeleteOpenIDConnectProvider", iamd.ChangeProvider, prov.ID); len(d.Providers) != 0 {
		t.Fatalf("a deleted provider's record: %+v", d.Providers)
	}
	g := &iamd.Group{ID: "AGPATESTGROUP0000001", Name: "devs", Path: "/", CreatedAt: ts(3)}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	step("CreateGroup", iamd.ChangeGroup, g.ID)
	if err := s.AddUserToGroup(ctx, "devs", "alice", 10); err != nil {
		t.Fatal(err)
	}
	d = step("AddUserToGroup", iamd.ChangeUser, u.ID)
	if len(d.Users) != 1 || len(d.Users[0].Groups) != 1 || d.Users[0].Groups[0] != g.ID {
		t.Fatalf("AddUserToGroup's record: %+v", d.Users)
	}
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`
	if err := s.PutInlinePolicy(ctx, iamd.Entity{Kind: iamd.EntityGroup, Name: "devs"}, "p", doc, 5120); err != nil {
		t.Fatal(err)
	}
	d = step("PutGroupPolicy", iamd.ChangeGroup, g.ID)
	if len(d.Groups) != 1 || len(d.Groups[0].Inline) != 1 || d.Groups[0].Inline[0].Document != doc {
		t.Fatalf("PutGroupPolicy's record: %+v", d.Groups)
	}
	mp := &iamd.ManagedPolicy{ID: "ANPATESTPOLICY000001", Name: "reader", Path: "/", CreatedAt: ts(4)}
	if err := s.CreatePolicy(ctx, mp, doc); err != nil {
		t.Fatal(err)
	}
	step("CreatePolicy", iamd.ChangePolicy, mp.ID)
	doc2 := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}`
	if _, err := s.CreatePolicyVersion(ctx, "reader", doc2, true, ts(6), 5); err != nil {
		t.Fatal(err)
	}
	d = step("CreatePolicyVersion", iamd.ChangePolicy, mp.ID)
	if len(d.Policies) != 1 || d.Policies[0].Document != doc2 || d.Policies[0].DefaultVersion != "v2" {
		t.Fatalf("the new default version's record: %+v", d.Policies)
	}
	if err := s.AttachPolicy(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, iamd.AttachedPolicy{ID: mp.ID, ARN: "arn:aws:iam::123456789012:policy/reader"}, 10); err != nil {
		t.Fatal(err)
	}
	d = step("AttachUserPolicy", iamd.ChangeUser, u.ID)
	if len(d.Users[0].Attached) != 1 || d.Users[0].Attached[0].ID != mp.ID {
		t.Fatalf("AttachUserPolicy's record: %+v", d.Users[0])
	}
	r := &iamd.Role{ID: "AROATESTROLE00000001", Name: "deployer", Path: "/", TrustPolicy: `{}`, MaxSessionDuration: 3600, CreatedAt: ts(7)}
	if err := s.CreateRole(ctx, r); err != nil {
		t.Fatal(err)
	}
	step("CreateRole", iamd.ChangeRole, r.ID)
	if err := s.UpdateRole(ctx, "deployer", func(r *iamd.Role) error { r.MaxSessionDuration = 7200; return nil }); err != nil {
		t.Fatal(err)
	}
	d = step("UpdateRole", iamd.ChangeRole, r.ID)
	if d.Roles[0].MaxSessionDuration != 7200 {
		t.Fatalf("UpdateRole's record: %+v", d.Roles[0])
	}
	if err := s.UpdateUser(ctx, "alice", func(u *iamd.User) error { u.Name = "alice2"; return nil }); err != nil {
		t.Fatal(err)
	}
	d = step("UpdateUser", iamd.ChangeUser, u.ID)
	if d.Users[0].Name != "alice2" || len(d.Users[0].Groups) != 1 || len(d.Users[0].Attached) != 1 {
		t.Fatalf("a renamed user's record keeps its groups and policies: %+v", d.Users[0])
	}
	b := &iamd.Bucket{ID: "00000000-0000-4000-8000-000000000001", Name: "photos", BundleID: "small_1_0", CreatedAt: ts(8), PrincipalID: "AIDABUCKETPRINCIPAL01"}
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	step("CreateBucket", iamd.ChangeBucket, b.ID)
	bk := newKey(iamd.BucketOwner("photos"), 9)
	if err := s.CreateAccessKey(ctx, bk, 2); err != nil {
		t.Fatal(err)
	}
	step("CreateBucketAccessKey", iamd.ChangeKey, bk.ID)
	if _, err := s.DeleteBucket(ctx, "photos", true); err != nil {
		t.Fatal(err)
	}
	d = step("DeleteBucket", iamd.ChangeBucket, b.ID)
	if !named(d, iamd.ChangeKey, bk.ID) || len(d.Keys) != 0 || len(d.Buckets) != 0 {
		t.Fatalf("DeleteBucket: the bucket's keys are named and gone: %+v", d)
	}
	if err := s.DeleteAccessKey(ctx, iamd.UserOwner("alice2"), k.ID); err != nil {
		t.Fatal(err)
	}
	d = step("DeleteAccessKey", iamd.ChangeKey, k.ID)
	if len(d.Keys) != 0 {
		t.Fatalf("a deleted key's record: %+v", d.Keys)
	}

	// A write that fails logs nothing; reads log nothing.
	before := pos
	if err := s.CreateUser(ctx, &iamd.User{ID: "AIDAOTHER", Name: "ALICE2", Path: "/", CreatedAt: ts(1)}); err == nil {
		t.Fatal("a second alice2")
	}
	s.GetUser(ctx, "alice2")
	if d := since(t, l, before); len(d.Entries) != 0 {
		t.Fatalf("a failed write or a read logged %+v", d.Entries)
	}

	// The snapshot now is the sum of the changes.
	snap2, err := l.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap2.Seq != pos || len(snap2.Users) != 1 || len(snap2.Keys) != 0 || len(snap2.Groups) != 1 || len(snap2.Roles) != 1 || len(snap2.Policies) != 1 ||
		snap2.Users[0].Name != "alice2" || len(snap2.Users[0].Groups) != 1 || len(snap2.Groups[0].Inline) != 1 || snap2.Policies[0].Document != doc2 {
		t.Fatalf("snapshot at %d: %+v", pos, snap2)
	}
	// OnCommit heard every entry, with its seq, before each write returned.
	mu.Lock()
	defer mu.Unlock()
	if len(committed) == 0 || committed[len(committed)-1].Seq != pos {
		t.Fatalf("OnCommit heard %d entries, the last %v; the log's head is %d", len(committed), committed, pos)
	}
	// With the records as the transaction left them: the last write was
	// DeleteAccessKey, whose key is gone.
	if last := committed[len(committed)-1]; last.Kind != iamd.ChangeKey || len(lastRecords.Keys) != 0 {
		t.Fatalf("the last commit's delta: %v, keys %v", last, lastRecords.Keys)
	}
	// A limit on the entries read stops the delta early.
	d, err = l.ChangesSince(ctx, snap.Seq, 2)
	if err != nil || len(d.Entries) != 2 || d.Last != pos {
		t.Fatalf("two entries: %+v %v", d, err)
	}
}

// testChangeLogConcurrent: concurrent writers' entries are numbered
// without gaps, each committed change exactly once.
func testChangeLogConcurrent(t *testing.T, s iamd.Store) {
	l := changeLog(t, s)
	snap, err := l.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	ids := make(chan string, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				u := &iamd.User{ID: fmt.Sprintf("AIDACONCURRENT%02d%03d", w, i), Name: fmt.Sprintf("u%d-%d", w, i), Path: "/", CreatedAt: ts(1)}
				if err := s.CreateUser(ctx, u); err != nil {
					t.Error(err)
					return
				}
				ids <- u.ID
			}
		})
	}
	wg.Wait()
	close(ids)
	d := since(t, l, snap.Seq)
	if len(d.Entries) != writers*each {
		t.Fatalf("%d entries for %d writes", len(d.Entries), writers*each)
	}
	for id := range ids {
		if !named(d, iamd.ChangeUser, id) {
			t.Fatalf("user %s committed and not logged", id)
		}
	}
}
