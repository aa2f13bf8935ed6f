package replica_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"iamd"
	"iamd/policy"
	"iamd/replica"
	"iamd/sigv4"
	"iamd/sqlite"
)

// noReads is a store whose reads fail the test while forbid is set: a
// decision that needs one reads the database (perkeep's
// PreventStorageAccessForTesting).
type noReads struct {
	iamd.Store
	t      *testing.T
	forbid atomic.Bool
}

func (s *noReads) read(what string) error {
	if s.forbid.Load() {
		s.t.Errorf("a decision read the store: %s", what)
		return &iamd.Error{Kind: iamd.Unavailable, Message: "no reads"}
	}
	return nil
}

func (s *noReads) GetCredential(ctx context.Context, id string) (*iamd.Credential, error) {
	if err := s.read("GetCredential"); err != nil {
		return nil, err
	}
	return s.Store.GetCredential(ctx, id)
}
func (s *noReads) GetUser(ctx context.Context, n string) (*iamd.User, error) {
	if err := s.read("GetUser"); err != nil {
		return nil, err
	}
	return s.Store.GetUser(ctx, n)
}
func (s *noReads) GetGroup(ctx context.Context, n string) (*iamd.Group, error) {
	if err := s.read("GetGroup"); err != nil {
		return nil, err
	}
	return s.Store.GetGroup(ctx, n)
}
func (s *noReads) GetRole(ctx context.Context, n string) (*iamd.Role, error) {
	if err := s.read("GetRole"); err != nil {
		return nil, err
	}
	return s.Store.GetRole(ctx, n)
}
func (s *noReads) GetBucket(ctx context.Context, n string) (*iamd.Bucket, error) {
	if err := s.read("GetBucket"); err != nil {
		return nil, err
	}
	return s.Store.GetBucket(ctx, n)
}
func (s *noReads) GetPolicy(ctx context.Context, n string) (*iamd.ManagedPolicy, error) {
	if err := s.read("GetPolicy"); err != nil {
		return nil, err
	}
	return s.Store.GetPolicy(ctx, n)
}
func (s *noReads) GetPolicyVersion(ctx context.Context, n, v string) (*iamd.PolicyVersion, error) {
	if err := s.read("GetPolicyVersion"); err != nil {
		return nil, err
	}
	return s.Store.GetPolicyVersion(ctx, n, v)
}
func (s *noReads) UserPolicies(ctx context.Context, n string) ([]iamd.PolicySource, error) {
	if err := s.read("UserPolicies"); err != nil {
		return nil, err
	}
	return s.Store.UserPolicies(ctx, n)
}
func (s *noReads) RolePolicies(ctx context.Context, n string) ([]iamd.PolicySource, error) {
	if err := s.read("RolePolicies"); err != nil {
		return nil, err
	}
	return s.Store.RolePolicies(ctx, n)
}
func (s *noReads) ListAccessKeys(ctx context.Context, o iamd.Owner, p iamd.Page) ([]*iamd.AccessKey, string, error) {
	if err := s.read("ListAccessKeys"); err != nil {
		return nil, "", err
	}
	return s.Store.ListAccessKeys(ctx, o, p)
}

// TestDecisionsReadNoDatabase: authentication and authorization on every
// door read the replica alone: a store that fails every read does not
// change a decision. (Writes, and the answers of IAM's read actions, still
// go to the store.)
func TestDecisionsReadNoDatabase(t *testing.T) {
	inner, err := sqlite.Open(filepath.Join(t.TempDir(), "iamd.db"), sqlite.Options{Synchronous: "NORMAL", ChangeLog: true})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	st := &noReads{Store: inner, t: t}
	r, err := replica.Open(ctx, replica.Config{Log: inner})
	if err != nil {
		t.Fatal(err)
	}
	inner.OnCommit(r.Committed)
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	svc, err := iamd.NewService(ctx, iamd.Config{Store: st, Replica: r, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	root := &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The account: a user in a group with policies, a role it may assume,
	// a bucket with a key, the root's key.
	_, err = svc.CreateUser(ctx, root, "alice", "/", []iamd.Tag{{Key: "team", Value: "red"}})
	must(err)
	_, err = svc.CreateGroup(ctx, root, "devs", "/")
	must(err)
	must(svc.AddUserToGroup(ctx, root, "devs", "alice"))
	must(svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityGroup, Name: "devs"}, "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","sts:AssumeRole","iam:GetUser"],"Resource":"*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/secret/*"}]}`))
	_, err = svc.CreatePolicy(ctx, root, "lister", "/", "", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject"],"Resource":"*"}}`, nil)
	must(err)
	must(svc.AttachPolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"}, "arn:aws:iam::123456789012:policy/lister"))
	_, err = svc.CreateRole(ctx, root, "reader", "/", "", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}}`, 0, nil)
	must(err)
	must(svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityRole, Name: "reader"}, "p", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`))
	uk, usecret, err := svc.CreateAccessKey(ctx, root, "alice")
	must(err)
	_, _, err = svc.CreateBucket(ctx, root, "photos", "small_1_0", nil, false)
	must(err)
	bk, _, _, err := svc.CreateBucketAccessKey(ctx, root, "photos")
	must(err)

	st.forbid.Store(true)
	today := time.Now().UTC().Format("20060102")
	auth := func(id, token string) *iamd.Caller {
		t.Helper()
		cc, _, err := svc.SigningKeyFor(ctx, &sigv4.Auth{AccessKeyID: id, SecurityToken: token, Date: today, Region: "us-east-1", Service: "s3"})
		if err != nil {
			t.Fatalf("authenticate %s: %v", id, err)
		}
		c := cc.Caller
		return &c
	}
	alice := auth(uk.ID, "")
	auth(bk.ID, "")
	if err := svc.Authorize(ctx, alice, "iam:GetUser", "arn:aws:iam::123456789012:user/alice"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Authorize(ctx, alice, "iam:DeleteUser", "arn:aws:iam::123456789012:user/alice"); iamd.KindOf(err) != iamd.AccessDenied {
		t.Fatalf("a decision the policies refuse: %v", err)
	}
	ds, who, err := svc.DecideObjects(ctx, iamd.ObjectRequest{AccessKeyID: uk.ID, Actions: []string{"s3:GetObject", "s3:ListBucket", "s3:PutObject"},
		Resources: []string{"arn:aws:s3:::photos/a", "arn:aws:s3:::photos/secret/b"}})
	if err != nil || who.ID == "" {
		t.Fatal(err)
	}
	want := "[[allow allow none] [deny allow none]]"
	if got := decisions(ds); got != want {
		t.Fatalf("gateway decisions %s, want %s", got, want)
	}
	if _, _, err := svc.DecideObjects(ctx, iamd.ObjectRequest{AccessKeyID: bk.ID, Actions: []string{"s3:GetObject"}, Resources: []string{"arn:aws:s3:::photos/a"}}); err != nil {
		t.Fatal(err)
	}
	// Sessions: AssumeRole and GetSessionToken mint without the database,
	// and their credentials authenticate and decide without it.
	creds, _, err := svc.AssumeRole(ctx, alice, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::123456789012:role/reader", SessionName: "s1",
		PolicyARNs: []string{"arn:aws:iam::123456789012:policy/lister"}})
	if err != nil {
		t.Fatal(err)
	}
	sess := auth(creds.AccessKeyID, creds.SessionToken)
	if err := svc.Authorize(ctx, sess, "s3:GetObject", "arn:aws:s3:::photos/a"); err != nil {
		t.Fatal(err)
	}
	gst, err := svc.GetSessionToken(ctx, alice, 0)
	if err != nil {
		t.Fatal(err)
	}
	auth(gst.AccessKeyID, gst.SessionToken)
	// Keystone's check of a string to sign, and the gateway's lookups.
	if _, err := svc.ResolveIdentities(ctx, []string{uk.ID, "AKIANOSUCHKEY0000000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.InvalidPrincipals(ctx, []string{"arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:role/reader"}); err != nil {
		t.Fatal(err)
	}
	_ = usecret
}

func decisions(ds [][]policy.Decision) string {
	words := map[policy.Decision]string{policy.Allowed: "allow", policy.ExplicitDeny: "deny", policy.ImplicitDeny: "none"}
	var rows []string
	for _, row := range ds {
		var ws []string
		for _, d := range row {
			ws = append(ws, words[d])
		}
		rows = append(rows, "["+strings.Join(ws, " ")+"]")
	}
	return "[" + strings.Join(rows, " ") + "]"
}
