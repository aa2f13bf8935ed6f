package main

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"iamd/internal/oidctest"
)

// federated registers issuer is as an OpenID Connect provider for the
// audience sts.amazonaws.com and makes role name trusting it under cond
// (a JSON condition block), allowed to read alpha's objects. It returns
// the role's ARN and the prefix of the provider's condition keys.
func federated(t *testing.T, s *testServer, is *oidctest.Issuer, name, cond string) (string, string) {
	t.Helper()
	host := strings.TrimPrefix(is.URL, "https://")
	arn := "arn:aws:iam::" + account + ":oidc-provider/" + host
	if _, err := s.root().GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)}); err != nil {
		out, err := s.root().CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(is.URL),
			ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{is.Thumbprint}})
		if err != nil {
			t.Fatal(err)
		}
		if *out.OpenIDConnectProviderArn != arn {
			t.Fatalf("provider ARN %s, want %s", *out.OpenIDConnectProviderArn, arn)
		}
	}
	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"` + arn + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` +
		strings.ReplaceAll(cond, "HOST", host) + `}}`
	if _, err := s.root().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::alpha/*"}}`)}); err != nil {
		t.Fatal(err)
	}
	return "arn:aws:iam::" + account + ":role/" + name, host
}

// writeToken replaces the token file as the kubelet does: a new file
// renamed over the old, so that a reader sees one token or the other.
func writeToken(t *testing.T, path, token string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestFederationGoSDK: the Go SDK, configured only by AWS_ROLE_ARN,
// AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ENDPOINT_URL_STS as a Kubernetes pod
// is, exchanges a service account token for a session that reads an
// object through versitygw; the token file is replaced while the client
// runs, and the next exchange uses the new token. The audit log names the
// token's issuer and subject, for the exchange and for the session's calls.
func TestFederationGoSDK(t *testing.T) {
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	clk := &testClock{}
	s, g, _ := objectsSetup(t, func(c *Config) { c.AuditLog = auditPath; c.Now = clk.now })
	mustBucket(t, s.lightsail(rootID, rootSecret), "alpha")
	if _, err := s.s3(g, rootID, rootSecret).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("build.txt"),
		Body: strings.NewReader("artifact")}); err != nil {
		t.Fatal(err)
	}
	is := oidctest.New(t, "/cluster")
	roleARN, _ := federated(t, s, is, "pod-reader",
		`{"StringEquals":{"HOST:sub":"system:serviceaccount:build:runner","HOST:aud":"sts.amazonaws.com"}}`)

	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenFile, is.Sign(t, merge(oidctest.Kubernetes("build", "runner"), map[string]any{"exp": time.Now().Add(5 * time.Minute).Unix()})))
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ROLE_ARN", roleARN)
	t.Setenv("AWS_ROLE_SESSION_NAME", "runner-1")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ENDPOINT_URL_STS", s.URL)
	cfg, err := config.LoadDefaultConfig(ctx, config.WithHTTPClient(s.HTTP), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with web identity credentials: %v", err)
	}
	if *who.Arn != "arn:aws:sts::"+account+":assumed-role/pod-reader/runner-1" {
		t.Fatalf("caller %s", *who.Arn)
	}
	objects := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(g.URL); o.UsePathStyle = true; o.Region = "us-east-1" }) // versitygw's region
	read := func() string {
		t.Helper()
		out, err := objects.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("alpha"), Key: aws.String("build.txt")})
		if err != nil {
			t.Fatalf("GetObject through versitygw: %v", err)
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		return string(b)
	}
	if got := read(); got != "artifact" {
		t.Fatalf("object %q", got)
	}
	if _, err := objects.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("x"), Body: strings.NewReader("x")}); s3Code(err) != "AccessDenied" {
		t.Fatalf("PutObject beyond the role's policy: %v", err)
	}

	// The kubelet rotates the token; the first one expires. The SDK reads
	// the file again when its credentials are refreshed: the old token
	// would now be refused, so success means the new one was read.
	writeToken(t, tokenFile, is.Sign(t, merge(oidctest.Kubernetes("build", "runner"), map[string]any{"exp": time.Now().Add(time.Hour).Unix()})))
	clk.advance(10 * time.Minute)
	cache, ok := cfg.Credentials.(*aws.CredentialsCache)
	if !ok {
		t.Fatalf("credentials are a %T, not the SDK's cache", cfg.Credentials)
	}
	cache.Invalidate()
	if got := read(); got != "artifact" {
		t.Fatalf("object after rotation %q", got)
	}
	// A call the role may not make is refused, and audited with who the
	// session came from.
	_, err = iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(s.URL) }).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mallory")})
	wantAPIError(t, err, "AccessDenied", 403)

	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	identity := "arn:aws:iam::" + account + ":oidc-provider/" + strings.TrimPrefix(is.URL, "https://") + " system:serviceaccount:build:runner"
	var exchanges, refusals int
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var rec struct{ Action, Outcome, Identity, Principal string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		switch {
		case rec.Action == "AssumeRoleWithWebIdentity" && rec.Outcome == "allowed":
			exchanges++
			if !strings.HasSuffix(rec.Identity, " system:serviceaccount:build:runner") || rec.Principal != "arn:aws:sts::"+account+":assumed-role/pod-reader/runner-1" {
				t.Errorf("exchange audited as %+v", rec)
			}
		case rec.Action == "CreateUser":
			refusals++
			if rec.Identity != identity {
				t.Errorf("the session's refusal audited with identity %q, want %q", rec.Identity, identity)
			}
		}
	}
	if exchanges != 2 || refusals != 1 {
		t.Fatalf("audit: %d exchanges (want 2), %d refusals (want 1):\n%s", exchanges, refusals, raw)
	}
	if strings.Contains(string(raw), "eyJ") {
		t.Fatal("the audit log holds a token")
	}
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// webIdentity posts an unsigned AssumeRoleWithWebIdentity as the SDKs do
// and returns the status, the error code (or "") and the body.
func webIdentity(t *testing.T, s *testServer, roleARN, token string) (int, string, string) {
	t.Helper()
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN},
		"RoleSessionName": {"ci"}, "WebIdentityToken": {token}}
	resp, err := s.HTTP.PostForm(s.URL+"/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code, Message string }
	}
	xml.Unmarshal(body, &e)
	return resp.StatusCode, e.Error.Code, string(body)
}

// TestFederationOverHTTP: GitHub Actions' and GitLab CI's tokens under
// trust policies limited to one branch, and hostile tokens, through the
// real server: each refused with AWS's code and status, a message that
// names the failed check and never the token, and never a 5xx. A
// provider whose keys cannot be fetched is IDPCommunicationError while
// the sessions issued before keep working.
func TestFederationOverHTTP(t *testing.T) {
	clk := &testClock{}
	s := start(t, func(c *Config) { c.Now = clk.now })
	gh := oidctest.New(t, "/github")
	mainOnly, ghHost := federated(t, s, gh, "deploy-web",
		`{"StringEquals":{"HOST:aud":"sts.amazonaws.com","HOST:sub":"repo:acme/web:ref:refs/heads/main"}}`)
	anyBranch, _ := federated(t, s, gh, "ci-acme", `{"StringEquals":{"HOST:aud":"sts.amazonaws.com"},"StringLike":{"HOST:sub":"repo:acme/*"}}`)
	gl := oidctest.New(t, "/gitlab")
	if _, err := s.root().CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(gl.URL),
		ClientIDList: []string{"https://gitlab.example.com"}, ThumbprintList: []string{gl.Thumbprint}}); err != nil {
		t.Fatal(err)
	}
	glRole, _ := federated(t, s, gl, "gitlab-deploy", `{"StringLike":{"HOST:sub":"project_path:acme/web:ref_type:branch:ref:main"}}`)

	tok := func(is *oidctest.Issuer, claims map[string]any, over map[string]any) string {
		return is.Sign(t, merge(claims, over))
	}
	good := oidctest.GitHubActions("acme/web", "refs/heads/main")
	status, code, body := webIdentity(t, s, mainOnly, tok(gh, good, nil))
	if status != 200 {
		t.Fatalf("main's token: %d %s", status, body)
	}
	for _, want := range []string{"<SubjectFromWebIdentityToken>repo:acme/web:ref:refs/heads/main</SubjectFromWebIdentityToken>",
		"<Arn>arn:aws:sts::" + account + ":assumed-role/deploy-web/ci</Arn>", "<Audience>sts.amazonaws.com</Audience>",
		"<Provider>" + gh.URL + "</Provider>", "<SessionToken>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the response lacks %s:\n%s", want, body)
		}
	}
	var issued struct {
		Result struct {
			Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		} `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if err := xml.Unmarshal([]byte(body), &issued); err != nil || issued.Result.Credentials.SessionToken == "" {
		t.Fatalf("credentials: %v %s", err, body)
	}
	if status, _, body := webIdentity(t, s, glRole, tok(gl, oidctest.GitLabCI("acme/web", "main"), nil)); status != 200 {
		t.Fatalf("GitLab CI's token: %d %s", status, body)
	}
	if status, _, body := webIdentity(t, s, anyBranch, tok(gh, oidctest.GitHubActions("acme/api", "refs/heads/dev"), nil)); status != 200 {
		t.Fatalf("repo:acme/* admits acme/api: %d %s", status, body)
	}

	noneAlg := func(claims map[string]any) string {
		h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT"})
		c, _ := json.Marshal(gh.Claims(claims))
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
	}
	stranger := oidctest.New(t, "/stranger")
	for _, c := range []struct {
		name, role, token string
		status            int
		code, text        string
	}{
		{"another branch", mainOnly, tok(gh, oidctest.GitHubActions("acme/web", "refs/heads/dev"), nil), 403, "AccessDenied", "StringEquals on " + ghHost + ":sub"},
		{"another repository", mainOnly, tok(gh, oidctest.GitHubActions("evil/web", "refs/heads/main"), nil), 403, "AccessDenied", ghHost + ":sub"},
		{"another audience", mainOnly, tok(gh, good, map[string]any{"aud": "https://example.com"}), 400, "InvalidIdentityToken", "Incorrect token audience"},
		{"another repository, repo:acme/*", anyBranch, tok(gh, oidctest.GitHubActions("evil/web", "refs/heads/main"), nil), 403, "AccessDenied", "StringLike on " + ghHost + ":sub"},
		{"alg none", mainOnly, noneAlg(good), 400, "InvalidIdentityToken", "algorithm"},
		{"an unregistered issuer", mainOnly, tok(stranger, good, nil), 400, "InvalidIdentityToken", "No OpenIDConnect provider found"},
		{"expired", mainOnly, tok(gh, good, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), 400, "ExpiredTokenException", "Token expired"},
		{"nbf ahead", mainOnly, tok(gh, good, map[string]any{"nbf": time.Now().Add(time.Hour).Unix()}), 400, "InvalidIdentityToken", "not valid before"},
		{"20,001 characters", mainOnly, strings.Repeat("x", 20001), 400, "ValidationError", "20000"},
		{"a role that does not exist", "arn:aws:iam::" + account + ":role/nope", tok(gh, good, nil), 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
	} {
		status, code, body := webIdentity(t, s, c.role, c.token)
		if status != c.status || code != c.code || !strings.Contains(body, c.text) {
			t.Errorf("%s: %d %s, want %d %s with %q:\n%s", c.name, status, code, c.status, c.code, c.text, body)
		}
		if len(c.token) > 40 && strings.Contains(body, c.token[len(c.token)-40:]) {
			t.Errorf("%s: the refusal echoes the token", c.name)
		}
	}

	// The provider's keys become unreachable: new tokens are
	// IDPCommunicationError, never a 5xx, and the session issued before
	// keeps working.
	gh.SetMode(oidctest.Down)
	gh.Rotate()                   // a kid iamd has not seen makes it fetch the keys again,
	clk.advance(11 * time.Second) // once the interval between fetches has passed
	status, code, body = webIdentity(t, s, mainOnly, tok(gh, good, nil))
	if status != 400 || code != "IDPCommunicationError" {
		t.Fatalf("keys down: %d %s\n%s", status, code, body)
	}
	c := issued.Result.Credentials
	cfg := s.awsConfig("", "")
	cfg.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyId, c.SecretAccessKey, c.SessionToken)
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("a session issued before the provider went down: %v", err)
	}
}

// TestConsoleOIDCFlags: the console's provider is configured whole or not
// at all, with an https issuer and a role's ARN.
func TestConsoleOIDCFlags(t *testing.T) {
	base := func(edit func(c *Config)) error {
		c := Config{Addr: "127.0.0.1:0", DataDir: "d", Region: "us-east-1", LogFormat: "text", Durability: "full",
			ConsoleOIDCIssuer: "https://sso.example.com/realms/acme", ConsoleOIDCClientID: "iamd", ConsoleOIDCRole: "arn:aws:iam::123456789012:role/console"}
		edit(&c)
		return c.Validate()
	}
	for _, c := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"whole", func(c *Config) {}, ""},
		{"none", func(c *Config) { c.ConsoleOIDCIssuer, c.ConsoleOIDCClientID, c.ConsoleOIDCRole = "", "", "" }, ""},
		{"no role", func(c *Config) { c.ConsoleOIDCRole = "" }, "together"},
		{"plain http", func(c *Config) { c.ConsoleOIDCIssuer = "http://sso.example.com" }, "https://"},
		{"a user, not a role", func(c *Config) { c.ConsoleOIDCRole = "arn:aws:iam::123456789012:user/bob" }, "role's ARN"},
	} {
		err := base(c.edit)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	c := Config{ConsoleOIDCIssuer: "https://sso.example.com/realms/acme", ConsoleOIDCClientID: "iamd", ConsoleOIDCRole: "arn:aws:iam::123456789012:role/console"}
	if got := c.consoleConfig().SignIn; got == nil || got.Name != "sso.example.com" {
		t.Errorf("the button's name by default: %+v", got)
	}
}
