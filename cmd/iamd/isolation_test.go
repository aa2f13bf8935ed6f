package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lightsail"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"iamd/proxy"
)

// twoTenants is an organization of two tenant accounts, A and B, each with
// an administrator's key.
func twoTenants(t *testing.T, s *testServer) (tenant, tenant) {
	t.Helper()
	adminID, adminSecret := managementAdmin(t, s)
	if _, err := s.organizations(adminID, adminSecret).CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	return newTenant(t, s, adminID, adminSecret, "tenant-a"), newTenant(t, s, adminID, adminSecret, "tenant-b")
}

// refusal is an API error as a client sees it, with the name asked for
// written as NAME: a refusal of B's entity must read as the refusal of a
// name no account has.
func refusal(err error, name string) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "no API error: " + errString(err)
	}
	return ae.ErrorCode() + ": " + strings.ReplaceAll(ae.ErrorMessage(), name, "NAME")
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestIsolationQueryAndLightsail: with tenant A's administrator key, every
// read and write of B's IAM entities and buckets, by name and by ARN with
// B's account ID, is refused exactly as for a name no account has, and
// changes nothing.
func TestIsolationQueryAndLightsail(t *testing.T) {
	s := start(t)
	a, b := twoTenants(t, s)
	inB := s.iam(b.keyID, b.secret)
	bARN := func(kind, name string) string { return "arn:aws:iam::" + b.id + ":" + kind + "/" + name }
	for _, err := range []error{
		func() error {
			_, err := inB.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("b-user")})
			return err
		}(),
		func() error {
			_, err := inB.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("b-group")})
			return err
		}(),
		func() error {
			_, err := inB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("b-role"), AssumeRolePolicyDocument: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + b.id + `"},"Action":"sts:AssumeRole"}]}`)})
			return err
		}(),
		func() error {
			_, err := inB.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("b-policy"), PolicyDocument: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
			return err
		}(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	lsB := s.lightsail(b.keyID, b.secret)
	mustBucket(t, lsB, "b-bucket")
	bBucketKey, _ := bucketKey(t, lsB, "b-bucket")

	inA := s.iam(a.keyID, a.secret)
	lsA := s.lightsail(a.keyID, a.secret)
	// Each call is made for B's entity and for a name nobody has.
	calls := []struct {
		name   string
		exists string // B's
		call   func(name string) error
	}{
		{"GetUser", "b-user", func(n string) error {
			_, err := inA.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(n)})
			return err
		}},
		{"DeleteUser", "b-user", func(n string) error {
			_, err := inA.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(n)})
			return err
		}},
		{"CreateAccessKey", "b-user", func(n string) error {
			_, err := inA.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(n)})
			return err
		}},
		{"ListAccessKeys", "b-user", func(n string) error {
			_, err := inA.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(n)})
			return err
		}},
		{"PutUserPolicy", "b-user", func(n string) error {
			_, err := inA.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(n), PolicyName: aws.String("p"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
			return err
		}},
		{"GetGroup", "b-group", func(n string) error {
			_, err := inA.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String(n)})
			return err
		}},
		{"AddUserToGroup", "b-group", func(n string) error {
			_, err := inA.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String(n), UserName: aws.String("admin")})
			return err
		}},
		{"GetRole", "b-role", func(n string) error {
			_, err := inA.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(n)})
			return err
		}},
		{"UpdateAssumeRolePolicy", "b-role", func(n string) error {
			_, err := inA.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(n), PolicyDocument: aws.String(
				`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + a.id + `"},"Action":"sts:AssumeRole"}]}`)})
			return err
		}},
		{"GetPolicy by B's ARN", "b-policy", func(n string) error {
			_, err := inA.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(bARN("policy", n))})
			return err
		}},
		{"AttachUserPolicy of B's ARN", "b-policy", func(n string) error {
			_, err := inA.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("admin"), PolicyArn: aws.String(bARN("policy", n))})
			return err
		}},
		{"DeletePolicy by B's ARN", "b-policy", func(n string) error {
			_, err := inA.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(bARN("policy", n))})
			return err
		}},
		{"GetBuckets", "b-bucket", func(n string) error {
			_, err := lsA.GetBuckets(ctx, &lightsail.GetBucketsInput{BucketName: aws.String(n)})
			return err
		}},
		{"CreateBucketAccessKey", "b-bucket", func(n string) error {
			_, err := lsA.CreateBucketAccessKey(ctx, &lightsail.CreateBucketAccessKeyInput{BucketName: aws.String(n)})
			return err
		}},
		{"GetBucketAccessKeys", "b-bucket", func(n string) error {
			_, err := lsA.GetBucketAccessKeys(ctx, &lightsail.GetBucketAccessKeysInput{BucketName: aws.String(n)})
			return err
		}},
		{"DeleteBucketAccessKey", "b-bucket", func(n string) error {
			_, err := lsA.DeleteBucketAccessKey(ctx, &lightsail.DeleteBucketAccessKeyInput{BucketName: aws.String(n), AccessKeyId: aws.String(bBucketKey)})
			return err
		}},
		{"DeleteBucket", "b-bucket", func(n string) error {
			_, err := lsA.DeleteBucket(ctx, &lightsail.DeleteBucketInput{BucketName: aws.String(n), ForceDelete: aws.Bool(true)})
			return err
		}},
	}
	for _, c := range calls {
		got, none := c.call(c.exists), c.call("nobody-has-this")
		if got == nil {
			t.Errorf("%s on B's %s: succeeded", c.name, c.exists)
			continue
		}
		if refusal(got, c.exists) != refusal(none, "nobody-has-this") {
			t.Errorf("%s: B's %s is refused as %q, a name nobody has as %q", c.name, c.exists, refusal(got, c.exists), refusal(none, "nobody-has-this"))
		}
	}
	// Nothing of B's changed.
	for _, check := range []func() error{
		func() error {
			_, err := inB.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("b-user")})
			return err
		},
		func() error {
			_, err := inB.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(bARN("policy", "b-policy"))})
			return err
		},
		func() error {
			out, err := lsB.GetBucketAccessKeys(ctx, &lightsail.GetBucketAccessKeysInput{BucketName: aws.String("b-bucket")})
			if err == nil && len(out.AccessKeys) != 1 {
				return errors.New("B's bucket keys changed")
			}
			return err
		},
	} {
		if err := check(); err != nil {
			t.Fatalf("B after A's attempts: %v", err)
		}
	}
	if keys, err := inB.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("b-user")}); err != nil || len(keys.AccessKeyMetadata) != 0 {
		t.Fatalf("b-user's keys after A's attempts: %+v %v", keys, err)
	}
}

// TestIsolationObjects: through versitygw, tenant A's administrator (its
// policies allow s3:*) and its bucket key open A's bucket and nothing of
// B's: no object read, written or listed.
func TestIsolationObjects(t *testing.T) {
	s, g, _ := objectsSetup(t)
	a, b := twoTenants(t, s)
	mustBucket(t, s.lightsail(a.keyID, a.secret), "a-bucket")
	mustBucket(t, s.lightsail(b.keyID, b.secret), "b-bucket")
	aBucketID, aBucketSecret := bucketKey(t, s.lightsail(a.keyID, a.secret), "a-bucket")
	bBucketID, bBucketSecret := bucketKey(t, s.lightsail(b.keyID, b.secret), "b-bucket")
	put := func(id, secret, bucket string) error {
		_, err := s.s3(g, id, secret).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("o"), Body: strings.NewReader("x")})
		return err
	}
	if err := put(bBucketID, bBucketSecret, "b-bucket"); err != nil {
		t.Fatalf("B's bucket key in its bucket: %v", err)
	}
	for _, who := range []struct{ name, id, secret string }{{"A's administrator", a.keyID, a.secret}, {"A's bucket key", aBucketID, aBucketSecret}} {
		if err := put(who.id, who.secret, "a-bucket"); err != nil {
			t.Fatalf("%s in A's bucket: %v", who.name, err)
		}
		c := s.s3(g, who.id, who.secret)
		for op, call := range map[string]func() error{
			"PutObject": func() error { return put(who.id, who.secret, "b-bucket") },
			"GetObject": func() error {
				_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-bucket"), Key: aws.String("o")})
				return err
			},
			"ListObjectsV2": func() error {
				_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("b-bucket")})
				return err
			},
			"DeleteObject": func() error {
				_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("b-bucket"), Key: aws.String("o")})
				return err
			},
		} {
			if err := call(); s3Code(err) != "AccessDenied" {
				t.Errorf("%s: %s on B's bucket: %v, want AccessDenied", who.name, op, err)
			}
		}
	}
	if _, err := s.s3(g, bBucketID, bBucketSecret).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("b-bucket"), Key: aws.String("o")}); err != nil {
		t.Fatalf("B's object after A's attempts: %v", err)
	}
}

// TestIsolationSwift: through Swift's S3 API and iamd's Keystone, each
// account is its own project: tenant A's container is none of B's, and B
// reads, lists or deletes nothing of A's.
func TestIsolationSwift(t *testing.T) {
	s := start(t, func(c *Config) { c.KeystoneAddr = "127.0.0.1:0"; c.KeystoneRoles = "member" })
	userWith(t, s, "swift", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iamd:DecideRequests","Resource":"*"}}`)
	svc := mustKey(t, s.root(), "swift")
	sw := startSwift(t, s.KeystoneAddr(), *svc.AccessKeyId, *svc.SecretAccessKey)
	a, b := twoTenants(t, s)
	s3c := func(tn tenant) *s3.Client {
		return s3.NewFromConfig(s.awsConfig(tn.keyID, tn.secret), func(o *s3.Options) { o.BaseEndpoint = aws.String(sw.URL); o.UsePathStyle = true })
	}
	if _, err := s3c(a).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatalf("A's container: %v\n%s", err, sw.output())
	}
	if _, err := s3c(a).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("o"), Body: strings.NewReader("a's")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c(b).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("o")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("B reading A's object: %v, want NoSuchBucket (B's project has no such container)", err)
	}
	if _, err := s3c(b).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("photos")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("B listing A's container: %v, want NoSuchBucket", err)
	}
	// B's container of the same name is B's own.
	if _, err := s3c(b).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatalf("B's container of the same name: %v", err)
	}
	if out, err := s3c(b).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("photos")}); err != nil || len(out.Contents) != 0 {
		t.Fatalf("B's own container: %+v %v", out, err)
	}
	if _, err := s3c(b).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("o")}); err != nil {
		t.Fatalf("B deleting in its own container: %v", err)
	}
	got, err := s3c(a).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("o")})
	if err != nil {
		t.Fatalf("A's object after B's delete in B's container: %v", err)
	}
	got.Body.Close()
}

// TestIsolationProxy: iamd proxy's API is the first account's. A tenant's
// key, whatever its own policies allow, is refused (no resource policy
// grants another account's principals); the first account's callers
// reach the upstream with their account in the identity headers.
func TestIsolationProxy(t *testing.T) {
	s, up, front, _ := proxySetup(t)
	a, _ := twoTenants(t, s)
	now := time.Now()
	before := up.calls.Load()
	code, body := send(t, signedRequest(t, "GET", front+"/pets/1", "", a.keyID, a.secret, now, false))
	if code != http.StatusForbidden || !strings.Contains(messageOf(body), "arn:aws:iam::"+a.id+":user/admin is not authorized to perform: execute-api:Invoke") {
		t.Fatalf("tenant A's administrator through the proxy: %d %s", code, body)
	}
	if up.calls.Load() != before {
		t.Fatal("a tenant's refused call reached the upstream")
	}
	userWith(t, s, "caller", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`)
	k := mustKey(t, s.root(), "caller")
	if code, body := send(t, signedRequest(t, "GET", front+"/pets/1", "", *k.AccessKeyId, *k.SecretAccessKey, now, false)); code != http.StatusOK {
		t.Fatalf("the first account's caller: %d %s", code, body)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if got := up.headers.Get(proxy.HeaderAccount); got != account {
		t.Fatalf("the identity's account: %q", got)
	}
}

// TestIsolationBucketPolicy: what the gateway protocol allows across
// accounts. B's bucket policy may name a principal of A (iamd checks that
// it exists, in A); versitygw then grants that principal what the policy
// allows, and nothing else of B's. A principal A does not have is refused
// in the policy.
func TestIsolationBucketPolicy(t *testing.T) {
	s, g, _ := objectsSetup(t)
	a, b := twoTenants(t, s)
	mustBucket(t, s.lightsail(b.keyID, b.secret), "b-shared")
	bID, bSecret := bucketKey(t, s.lightsail(b.keyID, b.secret), "b-shared")
	inB := s.s3(g, bID, bSecret)
	if _, err := inB.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-shared"), Key: aws.String("o"), Body: strings.NewReader("b's")}); err != nil {
		t.Fatal(err)
	}
	policy := func(principal string) *string {
		return aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal +
			`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b-shared/*"}]}`)
	}
	_, err := inB.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("b-shared"), Policy: policy("arn:aws:iam::" + a.id + ":user/nobody")})
	if code := s3Code(err); code != "MalformedPolicy" {
		t.Fatalf("a bucket policy naming a user A does not have: %v", err)
	}
	if _, err := inB.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("b-shared"), Policy: policy("arn:aws:iam::" + a.id + ":user/admin")}); err != nil {
		t.Fatalf("a bucket policy naming A's admin: %v", err)
	}
	inA := s.s3(g, a.keyID, a.secret)
	got, err := inA.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-shared"), Key: aws.String("o")})
	if err != nil {
		t.Fatalf("A's admin reading what B's bucket policy grants it: %v", err)
	}
	got.Body.Close()
	if _, err := inA.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-shared"), Key: aws.String("o"), Body: strings.NewReader("a's")}); s3Code(err) != "AccessDenied" {
		t.Fatalf("A's admin writing what B's policy does not grant: %v", err)
	}
}
