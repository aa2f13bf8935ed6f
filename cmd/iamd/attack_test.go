package main

// Regression tests for attacks on iamd, each written as the requests an
// attacker sends and what must come back. docs/SECURITY.md lists them.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lightsail"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// userWith creates a user holding an inline policy and returns its client.
func userWith(t testing.TB, s *testServer, name, doc string) *iam.Client {
	t.Helper()
	mustUser(t, s, name)
	if doc != "" {
		if _, err := s.root().PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	k := mustKey(t, s.root(), name)
	return s.iam(*k.AccessKeyId, *k.SecretAccessKey)
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return fmt.Sprint(err)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// statusOf sends r and returns the answer's status.
func statusOf(t *testing.T, r *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

const guardrailDeny = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
 {"Effect":"Deny","Action":"*","Resource":"arn:aws:iam::123456789012:policy/Guardrail"}]}`

// TestAttackDenyByLetterCase: a Deny on policy/Guardrail holds whatever
// spelling of the ARN the caller types; the attack rewrote the guardrail
// through policy/guardrail.
func TestAttackDenyByLetterCase(t *testing.T) {
	s := start(t)
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}`
	if _, err := s.root().CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Guardrail"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	mallory := userWith(t, s, "mallory", guardrailDeny)
	for _, arn := range []string{"arn:aws:iam::123456789012:policy/guardrail", "arn:aws:iam::123456789012:policy/GUARDRAIL", "arn:aws:iam::123456789012:policy/Guardrail"} {
		_, err := mallory.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), SetAsDefault: true,
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)})
		wantAPIError(t, err, "AccessDenied", 403)
		if msg := apiMessage(err); !strings.Contains(msg, "explicit deny") || !strings.Contains(msg, "on resource: policy "+arn+" ") {
			t.Fatalf("message %q: want an explicit deny naming %s as typed", msg, arn)
		}
		for name, call := range map[string]func() error{
			"GetPolicy": func() error {
				_, err := mallory.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
				return err
			},
			"DeletePolicy": func() error {
				_, err := mallory.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)})
				return err
			},
			"ListVersions": func() error {
				_, err := mallory.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
				return err
			},
			"GetVersion": func() error {
				_, err := mallory.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
				return err
			},
			"SetDefault": func() error {
				_, err := mallory.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
				return err
			},
			"DeleteVersion": func() error {
				_, err := mallory.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
				return err
			},
			"ListEntities": func() error {
				_, err := mallory.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: aws.String(arn)})
				return err
			},
		} {
			if err := call(); err == nil {
				t.Fatalf("%s on %s was allowed", name, arn)
			} else {
				wantAPIError(t, err, "AccessDenied", 403)
			}
		}
	}
	v, err := s.root().GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/Guardrail"), VersionId: aws.String("v1")})
	if err != nil || !v.PolicyVersion.IsDefaultVersion {
		t.Fatalf("the guardrail's v1 is no longer the default: %+v %v", v, err)
	}
}

// TestAttackAttachUnderAnotherSpelling: attaching a policy under a
// mis-cased ARN attaches the same policy, once, under its own ARN; a
// detach with the real ARN removes it.
func TestAttackAttachUnderAnotherSpelling(t *testing.T) {
	s := start(t)
	deny := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}}`
	if _, err := s.root().CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("NoList"), PolicyDocument: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	bob := userWith(t, s, "bob", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}}`)
	real := "arn:aws:iam::123456789012:policy/NoList"
	for _, arn := range []string{"arn:aws:iam::123456789012:policy/nolist", real, "arn:aws:iam::123456789012:policy/NOLIST"} {
		if _, err := s.root().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.root().ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("bob")})
	if err != nil || len(list.AttachedPolicies) != 1 || *list.AttachedPolicies[0].PolicyArn != real {
		t.Fatalf("attached %+v %v: want %s once", list, err, real)
	}
	_, err = bob.ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	if _, err := s.root().DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(real)}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("the detached Deny still applies: %v", err)
	}
	// Detaching under another spelling works the same way.
	s.root().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String(real)})
	if _, err := s.root().DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("bob"), PolicyArn: aws.String("arn:aws:iam::123456789012:policy/nolist")}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.root().ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("bob")}); len(list.AttachedPolicies) != 0 {
		t.Fatalf("still attached: %+v", list.AttachedPolicies)
	}
}

// TestAttackRepeatedJSONKeys: a policy saying Deny first and Allow second
// in the same statement is refused, not evaluated as the last key says.
func TestAttackRepeatedJSONKeys(t *testing.T) {
	s := start(t)
	mustUser(t, s, "bob")
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"},"Bool":{"aws:SecureTransport":"false"}}}}`,
	} {
		_, err := s.root().PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)})
		wantAPIError(t, err, "MalformedPolicyDocument", 400)
		_, err = s.root().CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)})
		wantAPIError(t, err, "MalformedPolicyDocument", 400)
	}
}

// TestAttackSimulationInputs: the simulator refuses inputs beyond the
// model's lengths, and a pattern built to make matching quadratic is
// decided correctly.
func TestAttackSimulationInputs(t *testing.T) {
	s := start(t)
	reader := userWith(t, s, "reader", "")
	if _, err := s.root().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("reader"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	allow := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	for name, in := range map[string]*iam.SimulateCustomPolicyInput{
		"action too long":   {PolicyInputList: []string{allow}, ActionNames: []string{"iam:" + strings.Repeat("x", 200)}},
		"resource too long": {PolicyInputList: []string{allow}, ActionNames: []string{"iam:GetUser"}, ResourceArns: []string{"arn:aws:iam::1:user/" + strings.Repeat("x", 2100)}},
		"context too long": {PolicyInputList: []string{allow}, ActionNames: []string{"iam:GetUser"},
			ContextEntries: []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:username"), ContextKeyType: iamtypes.ContextKeyTypeEnumString, ContextKeyValues: []string{strings.Repeat("x", 3000)}}}},
	} {
		_, err := reader.SimulateCustomPolicy(ctx, in)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		wantAPIError(t, err, "ValidationError", 400)
	}
	// The shape that kept a CPU busy for 78 s: stars and marks before a
	// byte that never comes, against the longest resource accepted.
	pattern := "arn:aws:iam::*:user/" + strings.Repeat("*a?", 600) + "*b*"
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[%s]}`, strings.TrimSuffix(strings.Repeat(
		`{"Effect":"Allow","Action":"iam:*","Resource":"`+pattern+`"},`, 50), ","))
	var resources []string
	for i := range 20 {
		resources = append(resources, "arn:aws:iam::123456789012:user/"+strings.Repeat("a", 2000-i))
	}
	out, err := reader.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{doc},
		ActionNames: []string{"iam:GetUser", "iam:DeleteUser", "iam:CreateUser"}, ResourceArns: resources, MaxItems: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.EvaluationResults) != 60 {
		t.Fatalf("%d results", len(out.EvaluationResults))
	}
	for _, r := range out.EvaluationResults {
		if r.EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny {
			t.Fatalf("%s on …%d a's: %s", *r.EvalActionName, len(*r.EvalResourceName), r.EvalDecision)
		}
	}
}

// TestAttackRefusedWritesKeepNothing: policy writes refused for their size
// are refused before they are parsed, and nothing they held stays.
func TestAttackRefusedWritesKeepNothing(t *testing.T) {
	s := start(t)
	mustUser(t, s, "bob")
	big := `{"Version":"2012-10-17","Statement":[` + strings.TrimSuffix(strings.Repeat(`{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"},`, 150), ",") + `]}`
	for range 20 {
		_, err := s.root().PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("p"), PolicyDocument: aws.String(big)})
		wantAPIError(t, err, "LimitExceeded", 409)
		_, err = s.root().CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(big)})
		wantAPIError(t, err, "LimitExceeded", 409)
	}
	if n := s.svc.CompiledPolicyBytes(); n != 0 {
		t.Fatalf("refused documents left %d bytes compiled", n)
	}
}

// TestAttackDeletedRootKeyStaysDead: the root key named by the
// environment, deleted through the API, is not re-created at the next
// start: iamd refuses to start until the configuration names another.
func TestAttackDeletedRootKeyStaysDead(t *testing.T) {
	s := start(t)
	dir := s.Dir
	spare := mustKey(t, s.root(), "")
	if _, err := s.iam(*spare.AccessKeyId, *spare.SecretAccessKey).DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(rootID)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg := Config{Addr: "127.0.0.1:0", DataDir: dir, AccountID: account, Region: "us-east-1", LogFormat: "text", Durability: "full",
		RootAccessKeyID: rootID, RootSecretAccessKey: rootSecret}
	err := NewMain(cfg, &syncBuffer{}).Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "was deleted and is not created again") {
		t.Fatalf("start with a deleted root key: %v", err)
	}
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "", ""
	m := NewMain(cfg, &syncBuffer{})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	again := &testServer{Main: m, URL: "http://" + m.Addr(), HTTP: newHTTPClient(t)}
	_, err = again.sts(rootID, rootSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	if _, err := again.sts(*spare.AccessKeyId, *spare.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestAttackClaimBucketIdentity: a user made at /lightsail/bucket/ with a
// bucket's name does not get the identity the bucket's keys sign as.
func TestAttackClaimBucketIdentity(t *testing.T) {
	s := start(t)
	ls := s.lightsail(rootID, rootSecret)
	mustBucket(t, ls, "photos")
	bk, err := ls.CreateBucketAccessKey(ctx, &lightsail.CreateBucketAccessKeyInput{BucketName: aws.String("photos")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("photos"), Path: aws.String("/lightsail/bucket/")}); err != nil {
		t.Fatal(err)
	}
	uk := mustKey(t, s.root(), "photos")
	bid, err := s.sts(*bk.AccessKey.AccessKeyId, *bk.AccessKey.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	uid, err := s.sts(*uk.AccessKeyId, *uk.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *bid.Arn == *uid.Arn || *bid.UserId == *uid.UserId || !strings.HasPrefix(*bid.Arn, "arn:aws:lightsail:") {
		t.Fatalf("bucket key %s (%s), user %s (%s)", *bid.Arn, *bid.UserId, *uid.Arn, *uid.UserId)
	}
}

// TestAttackDeniedMessagesTellNothing: a user with no policies learns from
// a refusal neither whether another user exists, nor its spelling or path,
// nor who owns a key.
func TestAttackDeniedMessagesTellNothing(t *testing.T) {
	s := start(t)
	if _, err := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Alice"), Path: aws.String("/secret/team/")}); err != nil {
		t.Fatal(err)
	}
	aliceKey := mustKey(t, s.root(), "Alice")
	eve := userWith(t, s, "eve", "")
	_, errExists := eve.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})
	_, errMissing := eve.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	got, want := apiMessage(errExists), strings.ReplaceAll(apiMessage(errMissing), "nobody", "alice")
	if got != want || strings.Contains(got, "secret") || strings.Contains(got, "Alice") {
		t.Fatalf("refusal for an existing user %q, for a missing one %q", got, apiMessage(errMissing))
	}
	_, errKey := eve.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aliceKey.AccessKeyId})
	_, errNoKey := eve.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIAAAAAAAAAAAAAAAAA")})
	if apiMessage(errKey) != apiMessage(errNoKey) || strings.Contains(apiMessage(errKey), "Alice") {
		t.Fatalf("refusal for Alice's key %q, for no key %q", apiMessage(errKey), apiMessage(errNoKey))
	}
}

// rawRequest sends raw bytes on a new connection and returns the
// connection with a reader of what comes back.
func rawRequest(t *testing.T, addr, req string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// TestAttackBodyBeforeAuthentication: a request without a valid key is
// answered from its headers alone: no 100 Continue, no wait for a body
// that never comes.
func TestAttackBodyBeforeAuthentication(t *testing.T) {
	s := start(t)
	addr := s.Addr()
	for name, auth := range map[string]string{
		"unsigned":    "",
		"unknown key": "Authorization: AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNUNKNOWN00/20261201/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64) + "\r\nX-Amz-Date: " + time.Now().UTC().Format("20060102T150405Z") + "\r\n",
	} {
		for _, expect := range []string{"", "Expect: 100-continue\r\n"} {
			_, br := rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1048576\r\n"+expect+auth+"\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s %q: no answer before the body: %v", name, expect, err)
			}
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Fatalf("%s %q: first answer %d, want 403 (no 100 Continue)", name, expect, resp.StatusCode)
			}
		}
	}
}

// TestAttackAmbiguousSignatures: a second Authorization header, a second
// X-Amz-Signature and a Lightsail request that does not sign X-Amz-Target
// are refused, even when one copy is a valid signature.
func TestAttackAmbiguousSignatures(t *testing.T) {
	s := start(t)
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: rootID, SecretAccessKey: rootSecret}
	sign := func(r *http.Request, body, service string) {
		sum := sha256Hex(body)
		if err := signer.SignHTTP(ctx, creds, r, sum, service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	body := "Action=GetUser&Version=2010-05-08"
	r, _ := http.NewRequest("POST", s.URL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign(r, body, "iam")
	r.Header.Add("Authorization", r.Header.Get("Authorization"))
	if code := statusOf(t, r); code != 400 {
		t.Fatalf("two Authorization headers: %d", code)
	}
	r, _ = http.NewRequest("GET", s.URL+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	u, _, err := signer.PresignHTTP(ctx, creds, r, sha256Hex(""), "sts", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ok, _ := http.NewRequest("GET", u, nil)
	if code := statusOf(t, ok); code != 200 {
		t.Fatalf("the presigned URL itself: %d", code)
	}
	twice, _ := http.NewRequest("GET", u+"&X-Amz-Signature="+strings.Repeat("0", 64), nil)
	if code := statusOf(t, twice); code != 400 {
		t.Fatalf("a second X-Amz-Signature: %d", code)
	}
	body = `{"bucketName":"x"}`
	r, _ = http.NewRequest("POST", s.URL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sign(r, body, "lightsail") // X-Amz-Target is set after signing: not covered
	r.Header.Set("X-Amz-Target", "Lightsail_20161128.DeleteBucket")
	if code := statusOf(t, r); code != 400 {
		t.Fatalf("unsigned X-Amz-Target: %d", code)
	}
}

// TestAttackLogLines: values an unauthenticated client chooses are clipped
// in the access log.
func TestAttackLogLines(t *testing.T) {
	s := start(t)
	long := strings.Repeat("A", 20000)
	r, _ := http.NewRequest("GET", s.URL+"/?Action="+long+"&Version=2010-05-08", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+long+"/20261201/us-east-1/iam/aws4_request, SignedHeaders=host, Signature="+strings.Repeat("0", 64))
	r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
	statusOf(t, r)
	s.sink.Flush()
	for _, line := range strings.Split(s.Logs.String(), "\n") {
		if len(line) > 2000 {
			t.Fatalf("a log line of %d bytes", len(line))
		}
	}
}

// TestFilesArePrivate: the data dir is 0700 even if it existed with a wider
// mode, and the database, master key and root credentials are 0600.
func TestFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start(t, func(c *Config) { c.DataDir = dir; c.RootAccessKeyID, c.RootSecretAccessKey = "", "" })
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir %v", fi.Mode().Perm())
	}
	for _, f := range []string{"iamd.db", "iamd.db-wal", "master.key", "root-credentials"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s is %v", f, fi.Mode().Perm())
		}
	}
}

// TestFailedStartLeavesDataDirAsFound: a start that fails (the port in
// use, a database that cannot be made) leaves the data dir as it found it,
// so that the retry with the intended flags is not refused; and a SIGKILL
// during the first start cannot leave a database without its key, since
// the key is written before the database (Main.Start).
func TestFailedStartLeavesDataDirAsFound(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := Config{Addr: busy.Addr().String(), DataDir: dir, Region: "us-east-1", LogFormat: "text", Durability: "full"}
	err = NewMain(cfg, &syncBuffer{}).Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "is another server using the port?") {
		t.Fatalf("port in use: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a start refused for its port made the data dir: %v", err)
	}
	os.Mkdir(dir, 0o700)
	cfg.Addr = "127.0.0.1:0"
	cfg.GatewayAddr, cfg.GatewayTLSCert, cfg.GatewayTLSKey, cfg.GatewayClientCA = "127.0.0.1:0", "/nonexistent", "/nonexistent", "/nonexistent"
	if err := NewMain(cfg, &syncBuffer{}).Start(ctx); err == nil {
		t.Fatal("started without its gateway certificate")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("a failed start left %v in the data dir", left)
	}
	cfg.GatewayAddr = ""
	cfg.AccountID = account
	m := NewMain(cfg, &syncBuffer{})
	if err := m.Start(ctx); err != nil {
		t.Fatalf("the retry with the intended account: %v", err)
	}
	m.Close()
}

// TestOneProcessPerSQLiteStore: a second server on the same SQLite data
// dir is refused, with advice; once the first stops, it starts.
func TestOneProcessPerSQLiteStore(t *testing.T) {
	s := start(t)
	cfg := s.Main.cfg
	err := NewMain(cfg, &syncBuffer{}).Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "another iamd is using") {
		t.Fatalf("a second server on the same store: %v", err)
	}
	s.Main.Close()
	m := NewMain(cfg, &syncBuffer{})
	if err := m.Start(ctx); err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	m.Close()
}
