package main

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"iamd/internal/pgtest"
)

// testClock is a clock a test moves.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

const trustAlice = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}}`

// roleForAlice makes user alice with a key and role "reader" that alice
// may assume and that may list users.
func roleForAlice(t *testing.T, s *testServer) (string, string) {
	t.Helper()
	mustUser(t, s, "alice")
	k := mustKey(t, s.root(), "alice")
	if _, err := s.root().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("reader"), AssumeRolePolicyDocument: aws.String(trustAlice)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}}`)}); err != nil {
		t.Fatal(err)
	}
	return *k.AccessKeyId, *k.SecretAccessKey
}

func (s *testServer) withSession(c *ststypes.Credentials) aws.Config {
	cfg := s.awsConfig("", "")
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	return cfg
}

// TestSessionExpiresWithTheClock: the Go SDK assumes a role for 900 s and
// uses it; once iamd's clock passes the expiry every call is ExpiredToken.
func TestSessionExpiresWithTheClock(t *testing.T) {
	clk := &testClock{}
	s := start(t, func(c *Config) { c.Now = clk.now })
	id, secret := roleForAlice(t, s)
	out, err := s.sts(id, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"),
		RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(*out.Credentials.Expiration); d < 890*time.Second || d > 910*time.Second {
		t.Fatalf("expires in %v, want 900 s", d)
	}
	cfg := s.withSession(out.Credentials)
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != "arn:aws:sts::123456789012:assumed-role/reader/short" {
		t.Fatalf("GetCallerIdentity: %v %v", who, err)
	}
	if _, err := iam.NewFromConfig(cfg).ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("ListUsers with the role's session: %v", err)
	}
	_, err = iam.NewFromConfig(cfg).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mallory")})
	wantAPIError(t, err, "AccessDenied", 403)
	clk.advance(901 * time.Second)
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "ExpiredToken", 400)
	_, err = iam.NewFromConfig(cfg).ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "ExpiredToken", 400)
}

// TestPGSessionsAcrossNodes: a session minted on node A works on node B at
// once; deleting its role on B ends it on A within a second.
func TestPGSessionsAcrossNodes(t *testing.T) {
	ns := nodes(t, 2, pgtest.DSN(t))
	a, b := ns[0], ns[1]
	id, secret := roleForAlice(t, a)
	out, err := a.sts(id, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("job")})
	if err != nil {
		t.Fatal(err)
	}
	onA, onB := sts.NewFromConfig(a.withSession(out.Credentials)), sts.NewFromConfig(b.withSession(out.Credentials))
	if _, err := onB.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("session minted on A, used on B: %v", err)
	}
	if _, err := onA.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err) // A now holds the checked session
	}
	if _, err := b.root().DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("p")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.root().DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("reader")}); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	for {
		_, err := onA.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			wantAPIError(t, err, "InvalidClientTokenId", 403)
			break
		}
		if time.Since(begin) > time.Second {
			t.Fatal("node A still accepts the session 1 s after its role was deleted on node B")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("DeleteRole on node B refused the session on node A after %v", time.Since(begin))
}

// TestObjectsSessions: versitygw accepts a role's temporary credentials
// through iamd, decided by the role's policies and the session policy.
func TestObjectsSessions(t *testing.T) {
	s, g, _ := objectsSetup(t)
	mustBucket(t, s.lightsail(rootID, rootSecret), "alpha")
	mustBucket(t, s.lightsail(rootID, rootSecret), "beta")
	id, secret := roleForAlice(t, s)
	if _, err := s.root().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("s3"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::alpha","arn:aws:s3:::alpha/*"]}}`)}); err != nil {
		t.Fatal(err)
	}
	assume := func(policy *string) *s3.Client {
		out, err := s.sts(id, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"),
			RoleSessionName: aws.String("objects"), Policy: policy})
		if err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		return s3.NewFromConfig(s.awsConfig("", ""), func(o *s3.Options) {
			o.BaseEndpoint, o.UsePathStyle = aws.String(g.URL), true
			o.Credentials = credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
		})
	}
	c := assume(nil)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("put with the role's session: %v", err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k")}); err != nil {
		t.Fatalf("get with the role's session: %v", err)
	}
	if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("beta")}); s3Code(err) != "AccessDenied" {
		t.Errorf("list beta: %v, want AccessDenied", err)
	}
	ro := assume(aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`))
	if _, err := ro.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k")}); err != nil {
		t.Fatalf("get with a read-only session policy: %v", err)
	}
	if _, err := ro.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k2"), Body: strings.NewReader("v")}); s3Code(err) != "AccessDenied" {
		t.Errorf("put with a read-only session policy: %v, want AccessDenied", err)
	}
}

// TestSessionSurvivesRestart: a session is its token, so a restart (the
// same master key) keeps it working, and revoking it still holds after.
func TestSessionSurvivesRestart(t *testing.T) {
	s := start(t)
	id, secret := roleForAlice(t, s)
	out, err := s.sts(id, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("long")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Main.cfg
	s.Main.Close()
	cfg.Addr = "127.0.0.1:0"
	m := NewMain(cfg, &syncBuffer{})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r := &testServer{Main: m, URL: "http://" + m.Addr(), HTTP: newHTTPClient(t)}
	who, err := sts.NewFromConfig(r.withSession(out.Credentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != "arn:aws:sts::123456789012:assumed-role/reader/long" {
		t.Fatalf("after a restart: %v %v", who, err)
	}
	// Many requests at once on one session: one check, shared.
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if _, err := sts.NewFromConfig(r.withSession(out.Credentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of 160 concurrent requests on one session failed", failed.Load())
	}
	r.root().DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("reader"), PolicyName: aws.String("p")})
	if _, err := r.root().DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("reader")}); err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(r.withSession(out.Credentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
}
