// Package storetest is the conformance suite every iamd.Store must pass.
// A backend's test calls Run with a function that returns a new, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"iamd"
)

// Run runs the whole suite. open must return a new empty store; Run closes it.
func Run(t *testing.T, open func(t *testing.T) iamd.Store) { run(t, open, true) }

// RunWithoutChangeLog runs the suite but for the change log's tests, for
// a store configured to keep none (SQLite's default).
func RunWithoutChangeLog(t *testing.T, open func(t *testing.T) iamd.Store) { run(t, open, false) }

func run(t *testing.T, open func(t *testing.T) iamd.Store, changeLog bool) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s iamd.Store)
	}{
		{"Init", testInit},
		{"Users", testUsers},
		{"UserNamesFoldCase", testUserNamesFoldCase},
		{"ListUsersPaging", testListUsersPaging},
		{"ListUsersPathPrefix", testListUsersPathPrefix},
		{"AccessKeys", testAccessKeys},
		{"RootKeys", testRootKeys},
		{"DeletedKeysStayDeleted", testDeletedKeysStayDeleted},
		{"KeyOwnership", testKeyOwnership},
		{"KeyLimitConcurrent", testKeyLimitConcurrent},
		{"DeleteUserWithKeys", testDeleteUserWithKeys},
		{"ListAccessKeysPaging", testListAccessKeysPaging},
		{"RecordKeyUse", testRecordKeyUse},
		{"BadMarker", testBadMarker},
		{"Buckets", testBuckets},
		{"BucketKeys", testBucketKeys},
		{"BucketKeyLimitConcurrent", testBucketKeyLimitConcurrent},
		{"Operations", testOperations},
		{"OIDCProviders", testOIDCProviders},
		{"Boundaries", testBoundaries},
		{"InstanceProfiles", testInstanceProfiles},
		{"People", testPeople},
		{"AccountAlias", testAccountAlias},
		{"Organization", testOrganization},
		{"Accounts", testAccounts},
	}
	tests = append(tests, policyTests...)
	if changeLog {
		tests = append(tests, changeLogTests...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			ctx := context.Background()
			if _, err := s.Init(ctx, iamd.Account{ID: "123456789012", CreatedAt: ts(0), KeyCheck: []byte{1, 2, 3}}); err != nil {
				t.Fatalf("Init: %v", err)
			}
			tt.fn(t, s)
		})
	}
}

var ctx = context.Background()

func ts(sec int) time.Time {
	return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(sec) * time.Millisecond)
}

func mustUser(t *testing.T, s iamd.Store, name, path string) *iamd.User {
	t.Helper()
	u := &iamd.User{ID: "AIDA" + fmt.Sprintf("%017d", len(name)*1000+int(name[0])) + name, Name: name, Path: path, CreatedAt: ts(1)}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

var keySeq int
var keySeqMu sync.Mutex

func newKey(owner iamd.Owner, at int) *iamd.AccessKey {
	keySeqMu.Lock()
	keySeq++
	n := keySeq
	keySeqMu.Unlock()
	return &iamd.AccessKey{ID: fmt.Sprintf("AKIATEST%012d", n), Owner: owner, Status: iamd.StatusActive, CreatedAt: ts(at), SealedSecret: []byte{1, 2, 3, byte(n)}}
}

func wantKind(t *testing.T, what string, err error, target *iamd.Error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want kind %v", what, err, target.Kind)
	}
}

func testInit(t *testing.T, s iamd.Store) {
	a, err := s.Init(ctx, iamd.Account{ID: "999999999999", CreatedAt: ts(5), KeyCheck: []byte{9}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "123456789012" || !a.CreatedAt.Equal(ts(0)) || string(a.KeyCheck) != "\x01\x02\x03" {
		t.Fatalf("second Init returned %+v, want the first account kept", a)
	}
}

func testUsers(t *testing.T, s iamd.Store) {
	u := &iamd.User{ID: "AIDAAAAAAAAAAAAAAAAAA", Name: "Bob", Path: "/eng/", CreatedAt: ts(1234), Tags: []iamd.Tag{{Key: "team", Value: "a"}}}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, "Bob")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.Name != "Bob" || got.Path != "/eng/" || !got.CreatedAt.Equal(u.CreatedAt) || len(got.Tags) != 1 || got.Tags[0] != u.Tags[0] {
		t.Fatalf("GetUser = %+v, want %+v", got, u)
	}
	_, err = s.GetUser(ctx, "alice")
	wantKind(t, "GetUser(alice)", err, iamd.ErrNotFound)
	wantKind(t, "DeleteUser(alice)", s.DeleteUser(ctx, "alice"), iamd.ErrNotFound)
	if err := s.DeleteUser(ctx, "Bob"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetUser(ctx, "Bob")
	wantKind(t, "GetUser after delete", err, iamd.ErrNotFound)
}

func testUserNamesFoldCase(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	err := s.CreateUser(ctx, &iamd.User{ID: "AIDABBBBBBBBBBBBBBBBB", Name: "BOB", Path: "/", CreatedAt: ts(2)})
	wantKind(t, "CreateUser(BOB)", err, iamd.ErrAlreadyExists)
	got, err := s.GetUser(ctx, "bOb")
	if err != nil {
		t.Fatalf("GetUser(bOb): %v", err)
	}
	if got.Name != "Bob" {
		t.Fatalf("stored spelling = %q, want Bob", got.Name)
	}
}

func listAllUsers(t *testing.T, s iamd.Store, prefix string, max int) []string {
	t.Helper()
	var names []string
	marker := ""
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("paging does not end")
		}
		us, next, err := s.ListUsers(ctx, prefix, iamd.Page{Marker: marker, MaxItems: max})
		if err != nil {
			t.Fatal(err)
		}
		if len(us) > max {
			t.Fatalf("page of %d > MaxItems %d", len(us), max)
		}
		for _, u := range us {
			names = append(names, u.Name)
		}
		if next == "" {
			return names
		}
		marker = next
	}
}

func testListUsersPaging(t *testing.T, s iamd.Store) {
	// Byte order of the folded names: "_" (0x5F) sorts after digits and
	// before letters; "a" == "A".
	for _, n := range []string{"zed", "Alice", "bob", "_x", "9lives", "Carol", "a.b", "a-b", "dave"} {
		mustUser(t, s, n, "/")
	}
	want := []string{"9lives", "_x", "a-b", "a.b", "Alice", "bob", "Carol", "dave", "zed"}
	for _, max := range []int{1, 2, 4, 100} {
		got := listAllUsers(t, s, "/", max)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("MaxItems %d: %v, want %v", max, got, want)
		}
	}
	// A user added behind the marker is not returned twice; one added ahead is seen.
	us, next, err := s.ListUsers(ctx, "/", iamd.Page{MaxItems: 3})
	if err != nil || len(us) != 3 || next == "" {
		t.Fatalf("first page: %d users, next %q, err %v", len(us), next, err)
	}
	mustUser(t, s, "0first", "/")
	mustUser(t, s, "yan", "/")
	rest := []string{}
	for next != "" {
		var page []*iamd.User
		page, next, err = s.ListUsers(ctx, "/", iamd.Page{Marker: next, MaxItems: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			rest = append(rest, u.Name)
		}
	}
	if fmt.Sprint(rest) != fmt.Sprint([]string{"a.b", "Alice", "bob", "Carol", "dave", "yan", "zed"}) {
		t.Fatalf("pages after concurrent inserts: %v", rest)
	}
}

func testListUsersPathPrefix(t *testing.T, s iamd.Store) {
	mustUser(t, s, "a", "/team-a/")
	mustUser(t, s, "b", "/team-a/ops/")
	mustUser(t, s, "c", "/team-b/")
	mustUser(t, s, "d", "/")
	for prefix, want := range map[string]string{
		"/":            "[a b c d]",
		"/team-a/":     "[a b]",
		"/team-a/ops/": "[b]",
		"/team-":       "[a b c]",
		"/nobody/":     "[]",
	} {
		if got := fmt.Sprint(listAllUsers(t, s, prefix, 1)); got != want {
			t.Errorf("prefix %q: %s, want %s", prefix, got, want)
		}
	}
}

func testAccessKeys(t *testing.T, s iamd.Store) {
	u := mustUser(t, s, "Bob", "/")
	k := newKey(iamd.UserOwner("bob"), 10)
	if err := s.CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	if k.Owner.Name != "Bob" || k.UserID != u.ID {
		t.Fatalf("CreateAccessKey filled owner %+v / %q, want the stored Bob %s", k.Owner, k.UserID, u.ID)
	}
	c, err := s.GetCredential(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.User == nil || c.User.ID != u.ID || c.User.Name != "Bob" || c.Key.Status != iamd.StatusActive ||
		string(c.Key.SealedSecret) != string(k.SealedSecret) || !c.Key.CreatedAt.Equal(k.CreatedAt) || !c.Key.LastUsed.At.IsZero() {
		t.Fatalf("GetCredential = %+v", c)
	}
	if !c.Key.DisabledAt.IsZero() {
		t.Fatalf("a new key has DisabledAt %v", c.Key.DisabledAt)
	}
	off := time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)
	if err := s.UpdateAccessKey(ctx, iamd.UserOwner("BOB"), k.ID, iamd.StatusInactive, off); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.GetCredential(ctx, k.ID); c.Key.Status != iamd.StatusInactive || !c.Key.DisabledAt.Equal(off) {
		t.Fatalf("status after update = %s, disabled at %v", c.Key.Status, c.Key.DisabledAt)
	}
	// Made Active again, the key keeps when it was last made Inactive.
	if err := s.UpdateAccessKey(ctx, iamd.UserOwner("Bob"), k.ID, iamd.StatusActive, off.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.GetCredential(ctx, k.ID); c.Key.Status != iamd.StatusActive || !c.Key.DisabledAt.Equal(off) {
		t.Fatalf("after re-activation: status %s, disabled at %v", c.Key.Status, c.Key.DisabledAt)
	}
	wantKind(t, "CreateAccessKey(nobody)", s.CreateAccessKey(ctx, newKey(iamd.UserOwner("nobody"), 1), 2), iamd.ErrNotFound)
	_, _, err = s.ListAccessKeys(ctx, iamd.UserOwner("nobody"), iamd.Page{MaxItems: 10})
	wantKind(t, "ListAccessKeys(nobody)", err, iamd.ErrNotFound)
	wantKind(t, "UpdateAccessKey(unknown key)", s.UpdateAccessKey(ctx, iamd.UserOwner("Bob"), "AKIANOSUCHKEY0000000", iamd.StatusActive, time.Now()), iamd.ErrNotFound)
	if err := s.DeleteAccessKey(ctx, iamd.UserOwner("Bob"), k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetCredential(ctx, k.ID)
	wantKind(t, "GetCredential after delete", err, iamd.ErrNotFound)
	wantKind(t, "DeleteAccessKey twice", s.DeleteAccessKey(ctx, iamd.UserOwner("Bob"), k.ID), iamd.ErrNotFound)
}

func testRootKeys(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	for i := 0; i < 2; i++ {
		if err := s.CreateAccessKey(ctx, newKey(iamd.RootOwner, i), 2); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, "third root key", s.CreateAccessKey(ctx, newKey(iamd.RootOwner, 3), 2), iamd.ErrLimitExceeded)
	// The root's keys do not count against a user's, and vice versa.
	if err := s.CreateAccessKey(ctx, newKey(iamd.UserOwner("Bob"), 4), 2); err != nil {
		t.Fatal(err)
	}
	keys, _, err := s.ListAccessKeys(ctx, iamd.RootOwner, iamd.Page{MaxItems: 10})
	if err != nil || len(keys) != 2 {
		t.Fatalf("root keys: %d, %v", len(keys), err)
	}
	c, err := s.GetCredential(ctx, keys[0].ID)
	if err != nil || c.User != nil || c.Key.Owner.Kind != iamd.OwnerRoot {
		t.Fatalf("root credential %+v, %v", c, err)
	}
}

// testDeletedKeysStayDeleted: a key ID that was deleted, by DeleteAccessKey
// or with its bucket, cannot be created again, for any owner.
func testDeletedKeysStayDeleted(t *testing.T, s iamd.Store) {
	k := newKey(iamd.RootOwner, 0)
	if err := s.CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccessKey(ctx, iamd.RootOwner, k.ID); err != nil {
		t.Fatal(err)
	}
	again := *k
	wantKind(t, "re-creating a deleted root key", s.CreateAccessKey(ctx, &again, 2), iamd.ErrConflict)
	mustUser(t, s, "bob", "/")
	again.Owner = iamd.UserOwner("bob")
	wantKind(t, "re-creating it for a user", s.CreateAccessKey(ctx, &again, 2), iamd.ErrConflict)
	if _, err := s.GetCredential(ctx, k.ID); !errors.Is(err, iamd.ErrNotFound) {
		t.Fatalf("GetCredential of a deleted key: %v", err)
	}
	b := &iamd.Bucket{ID: "b-1", Name: "gone", BundleID: "small_1_0", CreatedAt: ts(1), PrincipalID: "AIDABUCKET0000000001"}
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	bk := newKey(iamd.BucketOwner("gone"), 2)
	if err := s.CreateAccessKey(ctx, bk, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteBucket(ctx, "gone", true); err != nil {
		t.Fatal(err)
	}
	bk.Owner = iamd.RootOwner
	wantKind(t, "re-creating a key deleted with its bucket", s.CreateAccessKey(ctx, bk, 2), iamd.ErrConflict)
}

func testKeyOwnership(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	mustUser(t, s, "Alice", "/")
	k := newKey(iamd.UserOwner("Bob"), 1)
	if err := s.CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "update via another user", s.UpdateAccessKey(ctx, iamd.UserOwner("Alice"), k.ID, iamd.StatusInactive, time.Now()), iamd.ErrNotFound)
	wantKind(t, "delete via another user", s.DeleteAccessKey(ctx, iamd.UserOwner("Alice"), k.ID), iamd.ErrNotFound)
	wantKind(t, "delete via root", s.DeleteAccessKey(ctx, iamd.RootOwner, k.ID), iamd.ErrNotFound)
	if c, err := s.GetCredential(ctx, k.ID); err != nil || c.Key.Status != iamd.StatusActive {
		t.Fatalf("key changed through another owner: %+v %v", c, err)
	}
}

func testKeyLimitConcurrent(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	const n = 16
	if ok := concurrently(t, n, func(i int) error { return s.CreateAccessKey(ctx, newKey(iamd.UserOwner("Bob"), i), 2) }); ok != 2 {
		t.Fatalf("%d of %d concurrent creates succeeded, want exactly 2", ok, n)
	}
	keys, _, err := s.ListAccessKeys(ctx, iamd.UserOwner("Bob"), iamd.Page{MaxItems: 100})
	if err != nil || len(keys) != 2 {
		t.Fatalf("listed %d keys, %v", len(keys), err)
	}
}

func testDeleteUserWithKeys(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	k := newKey(iamd.UserOwner("Bob"), 1)
	if err := s.CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "DeleteUser with keys", s.DeleteUser(ctx, "bob"), iamd.ErrConflict)
	if _, err := s.GetUser(ctx, "Bob"); err != nil {
		t.Fatalf("user gone after refused delete: %v", err)
	}
	if err := s.DeleteAccessKey(ctx, iamd.UserOwner("Bob"), k.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
}

func testListAccessKeysPaging(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	a, b := newKey(iamd.UserOwner("Bob"), 20), newKey(iamd.UserOwner("Bob"), 10)
	for _, k := range []*iamd.AccessKey{a, b} {
		if err := s.CreateAccessKey(ctx, k, 5); err != nil {
			t.Fatal(err)
		}
	}
	p1, next, err := s.ListAccessKeys(ctx, iamd.UserOwner("Bob"), iamd.Page{MaxItems: 1})
	if err != nil || len(p1) != 1 || p1[0].ID != b.ID || next == "" {
		t.Fatalf("page 1: %v next %q err %v (want the older key %s first)", p1, next, err, b.ID)
	}
	if p1[0].Owner.Name != "Bob" || p1[0].Status != iamd.StatusActive {
		t.Fatalf("listed key %+v", p1[0])
	}
	p2, next, err := s.ListAccessKeys(ctx, iamd.UserOwner("Bob"), iamd.Page{Marker: next, MaxItems: 1})
	if err != nil || len(p2) != 1 || p2[0].ID != a.ID || next != "" {
		t.Fatalf("page 2: %v next %q err %v", p2, next, err)
	}
}

func testRecordKeyUse(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	k := newKey(iamd.UserOwner("Bob"), 1)
	if err := s.CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	uses := []iamd.KeyUse{
		{AccessKeyID: k.ID, LastUsed: iamd.LastUsed{At: ts(5000), Region: "us-east-1", Service: "iam"}},
		{AccessKeyID: "AKIAGONE000000000000", LastUsed: iamd.LastUsed{At: ts(5000), Region: "x", Service: "y"}},
	}
	if err := s.RecordKeyUse(ctx, uses); err != nil {
		t.Fatal(err)
	}
	// An older use recorded later (another node's stale batch) does not win.
	if err := s.RecordKeyUse(ctx, []iamd.KeyUse{{AccessKeyID: k.ID, LastUsed: iamd.LastUsed{At: ts(1000), Region: "eu-west-1", Service: "sts"}}}); err != nil {
		t.Fatal(err)
	}
	c, err := s.GetCredential(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (iamd.LastUsed{At: ts(5000), Region: "us-east-1", Service: "iam"}); !c.Key.LastUsed.At.Equal(want.At) || c.Key.LastUsed.Region != want.Region || c.Key.LastUsed.Service != want.Service {
		t.Fatalf("last used = %+v, want %+v", c.Key.LastUsed, want)
	}
}

func testBadMarker(t *testing.T, s iamd.Store) {
	mustUser(t, s, "Bob", "/")
	for _, m := range []string{"!!!", "%%", "\x00"} {
		_, _, err := s.ListUsers(ctx, "/", iamd.Page{Marker: m, MaxItems: 10})
		wantKind(t, "ListUsers marker "+m, err, iamd.ErrInvalid)
		_, _, err = s.ListAccessKeys(ctx, iamd.UserOwner("Bob"), iamd.Page{Marker: m, MaxItems: 10})
		wantKind(t, "ListAccessKeys marker "+m, err, iamd.ErrInvalid)
	}
}

func mustBucket(t *testing.T, s iamd.Store, name string) *iamd.Bucket {
	t.Helper()
	b := &iamd.Bucket{ID: "uuid-" + name, Name: name, BundleID: "small_1_0", CreatedAt: ts(7), PrincipalID: "AIDABUCKET" + name,
		Tags: []iamd.Tag{{Key: "k", Value: "v"}}, Versioning: true}
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatalf("CreateBucket(%s): %v", name, err)
	}
	return b
}

func testBuckets(t *testing.T, s iamd.Store) {
	b := mustBucket(t, s, "photos")
	got, err := s.GetBucket(ctx, "photos")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != b.ID || got.BundleID != b.BundleID || !got.CreatedAt.Equal(b.CreatedAt) || !got.Versioning ||
		got.PrincipalID != b.PrincipalID || len(got.Tags) != 1 || got.Tags[0] != b.Tags[0] {
		t.Fatalf("GetBucket = %+v, want %+v", got, b)
	}
	err = s.CreateBucket(ctx, &iamd.Bucket{ID: "other", Name: "photos", BundleID: "x", CreatedAt: ts(8), PrincipalID: "p"})
	wantKind(t, "duplicate bucket", err, iamd.ErrAlreadyExists)
	_, err = s.GetBucket(ctx, "nope")
	wantKind(t, "GetBucket(nope)", err, iamd.ErrNotFound)
	for _, n := range []string{"zz-1", "aa-1", "mm-1"} {
		mustBucket(t, s, n)
	}
	var names []string
	marker := ""
	for {
		bs, next, err := s.ListBuckets(ctx, iamd.Page{Marker: marker, MaxItems: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			names = append(names, b.Name)
		}
		if next == "" {
			break
		}
		marker = next
	}
	if fmt.Sprint(names) != "[aa-1 mm-1 photos zz-1]" {
		t.Fatalf("ListBuckets: %v", names)
	}
	if _, err := s.DeleteBucket(ctx, "photos", false); err != nil {
		t.Fatal(err)
	}
	_, err = s.DeleteBucket(ctx, "photos", false)
	wantKind(t, "DeleteBucket twice", err, iamd.ErrNotFound)
}

func testBucketKeys(t *testing.T, s iamd.Store) {
	mustBucket(t, s, "photos")
	mustUser(t, s, "photos", "/") // a user of the same name is another owner
	k := newKey(iamd.BucketOwner("photos"), 1)
	if err := s.CreateAccessKey(ctx, k, 2); err != nil {
		t.Fatal(err)
	}
	if k.Owner.Name != "photos" || k.UserID != "" {
		t.Fatalf("bucket key owner %+v user %q", k.Owner, k.UserID)
	}
	c, err := s.GetCredential(ctx, k.ID)
	if err != nil || c.Bucket == nil || c.User != nil || c.Bucket.Name != "photos" || c.Key.Owner != iamd.BucketOwner("photos") {
		t.Fatalf("bucket credential %+v %v", c, err)
	}
	keys, _, err := s.ListAccessKeys(ctx, iamd.UserOwner("photos"), iamd.Page{MaxItems: 10})
	if err != nil || len(keys) != 0 {
		t.Fatalf("the user sees the bucket's keys: %v %v", keys, err)
	}
	wantKind(t, "key for unknown bucket", s.CreateAccessKey(ctx, newKey(iamd.BucketOwner("nope"), 1), 2), iamd.ErrNotFound)
	_, err = s.DeleteBucket(ctx, "photos", false)
	wantKind(t, "DeleteBucket with keys", err, iamd.ErrConflict)
	if _, err := s.GetCredential(ctx, k.ID); err != nil {
		t.Fatalf("refused delete removed the key: %v", err)
	}
	deleted, err := s.DeleteBucket(ctx, "photos", true)
	if err != nil || len(deleted) != 1 || deleted[0] != k.ID {
		t.Fatalf("force delete: %v %v", deleted, err)
	}
	_, err = s.GetCredential(ctx, k.ID)
	wantKind(t, "key after force delete", err, iamd.ErrNotFound)
}

func testBucketKeyLimitConcurrent(t *testing.T, s iamd.Store) {
	mustBucket(t, s, "photos")
	if ok := concurrently(t, 16, func(i int) error { return s.CreateAccessKey(ctx, newKey(iamd.BucketOwner("photos"), i), 2) }); ok != 2 {
		t.Fatalf("%d concurrent bucket key creates succeeded, want exactly 2", ok)
	}
}

func testOperations(t *testing.T, s iamd.Store) {
	for i, id := range []string{"op-b", "op-a", "op-c"} {
		if err := s.PutOperation(ctx, &iamd.Operation{ID: id, ResourceName: "photos", ResourceType: "Bucket", Type: "CreateBucket", CreatedAt: ts(i / 2)}); err != nil {
			t.Fatal(err)
		}
	}
	op, err := s.GetOperation(ctx, "op-a")
	if err != nil || op.ResourceName != "photos" || op.Type != "CreateBucket" || !op.CreatedAt.Equal(ts(0)) {
		t.Fatalf("GetOperation %+v %v", op, err)
	}
	_, err = s.GetOperation(ctx, "nope")
	wantKind(t, "GetOperation(nope)", err, iamd.ErrNotFound)
	var ids []string
	marker := ""
	for {
		ops, next, err := s.ListOperations(ctx, iamd.Page{Marker: marker, MaxItems: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			ids = append(ids, o.ID)
		}
		if next == "" {
			break
		}
		marker = next
	}
	if fmt.Sprint(ids) != "[op-c op-b op-a]" {
		t.Fatalf("ListOperations newest first: %v", ids)
	}
}
