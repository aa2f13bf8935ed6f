package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const (
	rootID     = "AKIAROOTROOTROOT0001"
	rootSecret = "rootsecretrootsecretrootsecretrootsecre1"
	account    = "123456789012"
)

// syncBuffer is a log sink that tests search for secrets.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	*Main
	URL  string
	Dir  string
	Logs *syncBuffer
	// HTTP is the connection pool of every SDK client of this server, so
	// that tests making many clients reuse connections; it is closed with
	// the server, and no other test's server shares it.
	HTTP *http.Client
}

func newHTTPClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: shapeChecker{tr, t}}
}

// start runs iamd as main wires it, on 127.0.0.1:0 with a temp data dir.
func start(t testing.TB, edit ...func(*Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{
		Addr: "127.0.0.1:0", DataDir: dir, AccountID: account, Region: "us-east-1",
		LogFormat: "text", Durability: "full",
		RootAccessKeyID: rootID, RootSecretAccessKey: rootSecret,
		FlushInterval: 50 * time.Millisecond,
	}
	for _, e := range edit {
		e(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	m := NewMain(cfg, logs)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return &testServer{Main: m, URL: "http://" + m.Addr(), Dir: dir, Logs: logs, HTTP: newHTTPClient(t)}
}

func (s *testServer) awsConfig(id, secret string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.HTTP,
	}
}

func (s *testServer) iam(id, secret string) *iam.Client {
	return iam.NewFromConfig(s.awsConfig(id, secret))
}
func (s *testServer) sts(id, secret string) *sts.Client {
	return sts.NewFromConfig(s.awsConfig(id, secret))
}
func (s *testServer) root() *iam.Client { return s.iam(rootID, rootSecret) }

var ctx = context.Background()

// wantAPIError checks an SDK error's code and HTTP status.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("code %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("%s: HTTP %d, want %d", code, re.HTTPStatusCode(), status)
	}
}

func mustUser(t testing.TB, s *testServer, name string) {
	t.Helper()
	if _, err := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
}

func mustKey(t testing.TB, c *iam.Client, user string) *iamtypes.AccessKey {
	t.Helper()
	in := &iam.CreateAccessKeyInput{}
	if user != "" {
		in.UserName = aws.String(user)
	}
	out, err := c.CreateAccessKey(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.AccessKey
}

var (
	reKeyID  = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	reSecret = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
	reUserID = regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`)
)

// TestBob is the README's example: create Bob, give him a key, use it at once.
func TestBob(t *testing.T) {
	s := start(t)
	u, err := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Bob")})
	if err != nil {
		t.Fatal(err)
	}
	if !reUserID.MatchString(*u.User.UserId) || *u.User.Arn != "arn:aws:iam::123456789012:user/Bob" || *u.User.Path != "/" ||
		u.User.CreateDate == nil || time.Since(*u.User.CreateDate) > time.Minute {
		t.Fatalf("user %+v", u.User)
	}
	k := mustKey(t, s.root(), "Bob")
	if !reKeyID.MatchString(*k.AccessKeyId) || !reSecret.MatchString(*k.SecretAccessKey) || k.Status != iamtypes.StatusTypeActive ||
		*k.UserName != "Bob" || k.CreateDate == nil || time.Since(*k.CreateDate) > time.Minute {
		t.Fatalf("key %+v", k)
	}
	id, err := s.sts(*k.AccessKeyId, *k.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *id.Arn != "arn:aws:iam::123456789012:user/Bob" || *id.Account != account || *id.UserId != *u.User.UserId {
		t.Fatalf("caller identity %+v", id)
	}
	rid, err := s.sts(rootID, rootSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *rid.Arn != "arn:aws:iam::123456789012:root" || *rid.UserId != account {
		t.Fatalf("root identity %+v %v", rid, err)
	}
	// GetCallerIdentity needs no permission; GetAccessKeyInfo does.
	_, err = s.sts(*k.AccessKeyId, *k.SecretAccessKey).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: k.AccessKeyId})
	wantAPIError(t, err, "AccessDenied", 403)
	info, err := s.sts(rootID, rootSecret).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: k.AccessKeyId})
	if err != nil || *info.Account != account {
		t.Fatalf("GetAccessKeyInfo %+v %v", info, err)
	}
	// A key names its account as AWS's new-generation keys do: another
	// account's key (the one Aidan Steele's and Tal Be'ery's write-ups
	// decode) is answered from its ID; an older key iamd does not know
	// is refused.
	info, err = s.sts(rootID, rootSecret).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("ASIAY34FZKBOKMUTVV7A")})
	if err != nil || *info.Account != "609629065308" {
		t.Fatalf("GetAccessKeyInfo of another account's key: %+v %v", info, err)
	}
	_, err = s.sts(rootID, rootSecret).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIANOTISSUEDHERE000")})
	wantAPIError(t, err, "InvalidParameterValue", 400)
}

// TestKeyLimitConcurrent sends 16 CreateAccessKey calls at once.
func TestKeyLimitConcurrent(t *testing.T) {
	s := start(t)
	mustUser(t, s, "Bob")
	var wg sync.WaitGroup
	errs := make([]error, 16)
	c := s.root()
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Bob")})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantAPIError(t, err, "LimitExceeded", 409)
	}
	if ok != 2 {
		t.Fatalf("%d creates succeeded, want exactly 2", ok)
	}
	// Inactive keys count too.
	keys, _ := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("Bob")})
	c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: keys.AccessKeyMetadata[0].AccessKeyId, Status: iamtypes.StatusTypeInactive})
	_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Bob")})
	wantAPIError(t, err, "LimitExceeded", 409)
}

// TestCallerOwnKeys: no UserName means the signing caller, root included;
// with the self-service policy a user manages its own keys and nothing else.
func TestCallerOwnKeys(t *testing.T) {
	s := start(t)
	mustUser(t, s, "Bob")
	// The root has one key from the environment; it may have one more.
	rk := mustKey(t, s.root(), "")
	if rk.UserName != nil && *rk.UserName != "" {
		t.Fatalf("root key has UserName %q", *rk.UserName)
	}
	_, err := s.root().CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	wantAPIError(t, err, "LimitExceeded", 409)
	rootKeys, err := s.root().ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil || len(rootKeys.AccessKeyMetadata) != 2 {
		t.Fatalf("root keys %v %v", rootKeys, err)
	}

	bk := mustKey(t, s.root(), "Bob")
	bob := s.iam(*bk.AccessKeyId, *bk.SecretAccessKey)
	// Without a policy a user may do nothing, not even to its own keys.
	_, err = bob.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	if _, err := s.root().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("Bob"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMSelfManageAccessKeys")}); err != nil {
		t.Fatal(err)
	}
	own := mustKey(t, bob, "")
	if *own.UserName != "Bob" {
		t.Fatalf("self-created key belongs to %q", *own.UserName)
	}
	list, err := bob.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil || len(list.AccessKeyMetadata) != 2 {
		t.Fatalf("Bob lists %v %v", list, err)
	}
	for _, k := range list.AccessKeyMetadata {
		if *k.UserName != "Bob" {
			t.Fatalf("listed key of %q", *k.UserName)
		}
	}
	if _, err := bob.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: own.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	// The policy allows nothing else.
	mustUser(t, s, "Alice")
	_, err = bob.ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	_, err = bob.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Alice")})
	wantAPIError(t, err, "AccessDenied", 403)
	if !strings.Contains(err.Error(), "User: arn:aws:iam::123456789012:user/Bob is not authorized to perform: iam:CreateAccessKey on resource: user Alice") {
		t.Fatalf("AccessDenied message: %v", err)
	}
	_, err = bob.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Mallory")})
	wantAPIError(t, err, "AccessDenied", 403)
	_, err = bob.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: rk.AccessKeyId})
	wantAPIError(t, err, "AccessDenied", 403)
}

// TestUpdateAndDelete: an Inactive or deleted key is refused on its very
// next request; a reactivated key works again.
func TestUpdateAndDelete(t *testing.T) {
	s := start(t)
	mustUser(t, s, "Bob")
	k := mustKey(t, s.root(), "Bob")
	bob := s.sts(*k.AccessKeyId, *k.SecretAccessKey)
	if _, err := bob.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	set := func(st iamtypes.StatusType) {
		t.Helper()
		if _, err := s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("bob"), AccessKeyId: k.AccessKeyId, Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	set(iamtypes.StatusTypeInactive)
	_, err := bob.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	list, _ := s.root().ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("Bob")})
	if list.AccessKeyMetadata[0].Status != iamtypes.StatusTypeInactive {
		t.Fatalf("listed status %s", list.AccessKeyMetadata[0].Status)
	}
	set(iamtypes.StatusTypeActive)
	if _, err := bob.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("reactivated key: %v", err)
	}
	_, err = s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: k.AccessKeyId, Status: "Expired"})
	wantAPIError(t, err, "InvalidInput", 400)
	_, err = s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: k.AccessKeyId, Status: "Bogus"})
	wantAPIError(t, err, "ValidationError", 400)
	mustUser(t, s, "Alice")
	_, err = s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("Alice"), AccessKeyId: k.AccessKeyId})
	wantAPIError(t, err, "NoSuchEntity", 404)

	_, err = s.root().DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("Bob")})
	wantAPIError(t, err, "DeleteConflict", 409)
	if _, err := s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: k.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = bob.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	_, err = s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: k.AccessKeyId})
	wantAPIError(t, err, "NoSuchEntity", 404)
	if _, err := s.root().DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("Bob")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.root().GetUser(ctx, &iam.GetUserInput{UserName: aws.String("Bob")})
	wantAPIError(t, err, "NoSuchEntity", 404)
}

func TestLastUsed(t *testing.T) {
	s := start(t, func(c *Config) { c.Regions = "*" })
	mustUser(t, s, "Bob")
	k := mustKey(t, s.root(), "Bob")
	lu, err := s.root().GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
	if err != nil {
		t.Fatal(err)
	}
	if *lu.UserName != "Bob" || *lu.AccessKeyLastUsed.Region != "N/A" || *lu.AccessKeyLastUsed.ServiceName != "N/A" || lu.AccessKeyLastUsed.LastUsedDate != nil {
		t.Fatalf("before use: %+v", lu.AccessKeyLastUsed)
	}
	cfg := s.awsConfig(*k.AccessKeyId, *k.SecretAccessKey)
	cfg.Region = "eu-west-1"
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		lu, err := s.root().GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
		if err != nil {
			t.Fatal(err)
		}
		a := lu.AccessKeyLastUsed
		if *a.Region != "eu-west-1" || *a.ServiceName != "sts" || a.LastUsedDate == nil || time.Since(*a.LastUsedDate).Abs() > 5*time.Second {
			t.Fatalf("%s: %s %s %v", when, *a.Region, *a.ServiceName, a.LastUsedDate)
		}
	}
	check("at once")
	time.Sleep(200 * time.Millisecond) // past the flush interval: now from the store
	check("after flush")
	_, err = s.root().GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String("AKIANOSUCHKEY0000000")})
	wantAPIError(t, err, "NoSuchEntity", 404)
}

func TestListPaging(t *testing.T) {
	s := start(t)
	names := []string{"eve", "Bob", "alice", "dave", "Carol"}
	for _, n := range names {
		mustUser(t, s, n)
	}
	var got []string
	var marker *string
	pages := 0
	for {
		out, err := s.root().ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(2), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range out.Users {
			got = append(got, *u.UserName)
		}
		if !out.IsTruncated {
			if out.Marker != nil {
				t.Fatal("Marker on the last page")
			}
			break
		}
		marker = out.Marker
	}
	if strings.Join(got, ",") != "alice,Bob,Carol,dave,eve" || pages != 3 {
		t.Fatalf("pages %d: %v", pages, got)
	}
	// The SDK's paginator agrees.
	p := iam.NewListUsersPaginator(s.root(), &iam.ListUsersInput{MaxItems: aws.Int32(1)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Users)
	}
	if n != len(names) {
		t.Fatalf("paginator saw %d users", n)
	}
	_, err := s.root().ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(1001)})
	wantAPIError(t, err, "ValidationError", 400)
	_, err = s.root().ListUsers(ctx, &iam.ListUsersInput{Marker: aws.String("not-a-marker!")})
	wantAPIError(t, err, "ValidationError", 400)
}

func TestUserErrors(t *testing.T) {
	s := start(t)
	c := s.root()
	mustUser(t, s, "Bob")
	for _, tt := range []struct {
		name   string
		err    error
		code   string
		status int
	}{
		{"duplicate, other case", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("BOB")})
			return err
		}(), "EntityAlreadyExists", 409},
		{"bad pattern", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("a b")})
			return err
		}(), "ValidationError", 400},
		{"too long", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(strings.Repeat("a", 65))})
			return err
		}(), "ValidationError", 400},
		{"bad path", func() error {
			_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x"), Path: aws.String("nopath")})
			return err
		}(), "ValidationError", 400},
		{"unknown user", func() error {
			_, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
			return err
		}(), "NoSuchEntity", 404},
		{"key for unknown user", func() error {
			_, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nobody")})
			return err
		}(), "NoSuchEntity", 404},
		{"list keys of unknown user", func() error {
			_, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("nobody")})
			return err
		}(), "NoSuchEntity", 404},
	} {
		t.Run(tt.name, func(t *testing.T) { wantAPIError(t, tt.err, tt.code, tt.status) })
	}
	u, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Juan"), Path: aws.String("/division_abc/engineering/"),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	if *u.User.Arn != "arn:aws:iam::123456789012:user/division_abc/engineering/Juan" {
		t.Fatalf("arn %s", *u.User.Arn)
	}
	g, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("juan")})
	if err != nil || *g.User.UserName != "Juan" || len(g.User.Tags) != 1 || *g.User.Tags[0].Value != "a" {
		t.Fatalf("GetUser %+v %v", g, err)
	}
	l, err := c.ListUsers(ctx, &iam.ListUsersInput{PathPrefix: aws.String("/division_abc/")})
	if err != nil || len(l.Users) != 1 || l.Users[0].Tags != nil {
		t.Fatalf("ListUsers by prefix %+v %v", l, err)
	}
	root, err := c.GetUser(ctx, &iam.GetUserInput{})
	if err != nil || *root.User.Arn != "arn:aws:iam::123456789012:root" || *root.User.UserId != account {
		t.Fatalf("root GetUser %+v %v", root, err)
	}
}

// TestSecretOnlyOnCreate: no later response, log line or file on disk
// holds an issued secret.
func TestSecretOnlyOnCreate(t *testing.T) {
	s := start(t)
	mustUser(t, s, "Bob")
	k := mustKey(t, s.root(), "Bob")
	secret := *k.SecretAccessKey
	bob := s.sts(*k.AccessKeyId, secret)
	bob.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	s.sts(*k.AccessKeyId, "wrong"+secret[5:]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})

	// Record every later response body.
	var bodies syncBuffer
	cfg := s.awsConfig(rootID, rootSecret)
	cfg.HTTPClient = &http.Client{Transport: recorder{&bodies}}
	c := iam.NewFromConfig(cfg)
	c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("Bob")})
	c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("Bob")})
	c.ListUsers(ctx, &iam.ListUsersInput{})
	c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
	c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Bob")})
	c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Bob")}) // LimitExceeded
	if strings.Contains(bodies.String(), secret) {
		t.Fatal("a later response holds the secret")
	}
	if !strings.Contains(bodies.String(), *k.AccessKeyId) {
		t.Fatal("recorder saw nothing")
	}
	if err := s.Close(); err != nil { // flush everything to disk
		t.Fatal(err)
	}
	if strings.Contains(s.Logs.String(), secret) || strings.Contains(s.Logs.String(), rootSecret) {
		t.Fatal("the log holds a secret")
	}
	files, _ := filepath.Glob(filepath.Join(s.Dir, "iamd.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte(rootSecret)) {
			t.Fatalf("%s holds an issued secret in the clear", filepath.Base(f))
		}
		if f == filepath.Join(s.Dir, "iamd.db") && !bytes.Contains(raw, []byte(*k.AccessKeyId)) {
			t.Fatalf("%s does not hold the key at all: the test would prove nothing", f)
		}
	}
}

type recorder struct{ w *syncBuffer }

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	r.w.Write(b.Bytes())
	resp.Body = ioNopCloser{bytes.NewReader(b.Bytes())}
	return resp, nil
}

type ioNopCloser struct{ *bytes.Reader }

func (ioNopCloser) Close() error { return nil }

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	cfg := func(c *Config) { c.DataDir = dir; c.RootAccessKeyID, c.RootSecretAccessKey = "", "" }
	s := start(t, cfg)
	creds, err := os.ReadFile(filepath.Join(dir, "root-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "root-credentials")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("root-credentials mode %v", fi.Mode())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "master.key")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("master.key mode %v", fi.Mode())
	}
	id := regexp.MustCompile(`aws_access_key_id = (\S+)`).FindStringSubmatch(string(creds))[1]
	secret := regexp.MustCompile(`aws_secret_access_key = (\S+)`).FindStringSubmatch(string(creds))[1]
	if strings.Contains(s.Logs.String(), secret) || !strings.Contains(s.Logs.String(), id) || !strings.Contains(s.Logs.String(), "root-credentials") {
		t.Fatalf("start-up log: %s", s.Logs.String())
	}
	if _, err := s.iam(id, secret).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Bob")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := start(t, cfg)
	if _, err := s2.iam(id, secret).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("Bob")}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "root-credentials"))
	if !bytes.Equal(after, creds) {
		t.Fatal("root-credentials rewritten on restart")
	}
	keys, _ := s2.iam(id, secret).ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if len(keys.AccessKeyMetadata) != 1 {
		t.Fatalf("root has %d keys after restart", len(keys.AccessKeyMetadata))
	}
	s2.Close()
	// Root keys from the environment are created once, not per start.
	env := func(c *Config) { cfg(c); c.RootAccessKeyID, c.RootSecretAccessKey = rootID, rootSecret }
	for range 2 {
		s3 := start(t, env)
		s3.Close()
	}
	s4 := start(t, cfg)
	keys, _ = s4.iam(rootID, rootSecret).ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if len(keys.AccessKeyMetadata) != 2 {
		t.Fatalf("root has %d keys after two env starts, want 2", len(keys.AccessKeyMetadata))
	}
}

func TestStartErrors(t *testing.T) {
	s := start(t)
	cfg := Config{Addr: s.Addr(), DataDir: t.TempDir(), Region: "us-east-1", LogFormat: "text", Durability: "full"}
	if err := NewMain(cfg, &syncBuffer{}).Start(ctx); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("port in use: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", filepath.Join(file, "sub")
	if err := NewMain(cfg, &syncBuffer{}).Start(ctx); err == nil || !strings.Contains(err.Error(), "data dir") {
		t.Fatalf("unusable data dir: %v", err)
	}
	cfg.DataDir = s.Dir
	cfg.AccountID = "999999999999"
	if err := NewMain(cfg, &syncBuffer{}).Start(ctx); err == nil {
		t.Fatal("started on another account's data")
	}
	for _, args := range [][]string{{"--bogus"}, {"--account-id", "12"}, {"--region", "US EAST"}, {"extra"}, {"--durability", "none"}} {
		if _, err := ParseConfig(args, func(string) string { return "" }, &syncBuffer{}); err == nil {
			t.Errorf("ParseConfig(%v) accepted", args)
		}
	}
	c, err := ParseConfig(nil, func(k string) string {
		return map[string]string{"IAMD_ADDR": "127.0.0.1:9", "IAMD_REGION": "eu-west-1"}[k]
	}, &syncBuffer{})
	if err != nil || c.Addr != "127.0.0.1:9" || c.Region != "eu-west-1" || c.DataDir != "./iamd-data" {
		t.Fatalf("env defaults: %+v %v", c, err)
	}
}
