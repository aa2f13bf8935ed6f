package federation_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"iamd"
	"iamd/federation"
	"iamd/internal/oidctest"
	"iamd/internal/svctest"
	"iamd/sigv4"
)

var ctx = context.Background()

const acct = svctest.Account

var root = svctest.Root

type env struct {
	svc   *iamd.Service
	fed   *federation.Federation
	clock *svctest.Clock
	is    *oidctest.Issuer
	arn   string // the issuer's provider ARN
	host  string // its URL without https://: the prefix of its keys
}

func setup(t *testing.T, edit ...func(*federation.Config)) *env {
	t.Helper()
	se := svctest.New(t, time.Now()) // tokens are minted with the real clock
	svc, st, ck := se.Service, se.Store, se.Clock
	cfg := federation.Config{Service: svc, Store: st, Now: ck.Now, FetchTimeout: 500 * time.Millisecond}
	for _, e := range edit {
		e(&cfg)
	}
	e := &env{svc: svc, fed: federation.New(cfg), clock: ck, is: oidctest.New(t, "")}
	p, err := e.fed.CreateProvider(ctx, root, e.is.URL, []string{"sts.amazonaws.com", "https://gitlab.example.com"}, []string{e.is.Thumbprint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.arn, e.host = p.ARN(acct), p.URL
	return e
}

// role makes a role whose trust policy allows the provider under cond.
func (e *env) role(t *testing.T, name, cond string, extra ...string) string {
	t.Helper()
	actions := `"sts:AssumeRoleWithWebIdentity"`
	if len(extra) > 0 {
		actions = `["sts:AssumeRoleWithWebIdentity","` + strings.Join(extra, `","`) + `"]`
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + actions + `,"Principal":{"Federated":"` + e.arn + `"},"Condition":` + cond + `}]}`
	r, err := e.svc.CreateRole(ctx, root, name, "/", "", trust, 7200, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.ARN(acct)
}

func (e *env) assume(roleARN, token string) (*federation.WebIdentityOutput, error) {
	return e.fed.AssumeRoleWithWebIdentity(ctx, federation.WebIdentityInput{RoleARN: roleARN, SessionName: "ci", Token: token})
}

func wantErr(t *testing.T, what string, err error, kind iamd.Kind, text string) {
	t.Helper()
	if err == nil || iamd.KindOf(err) != kind || !strings.Contains(iamd.MessageOf(err), text) {
		t.Errorf("%s: %v (kind %v), want kind %v with %q", what, err, iamd.KindOf(err), kind, text)
	}
}

// TestTrustConditions: a role limited to one repository's main branch
// admits that job's token and refuses another branch, another repository
// and another audience, saying which condition was not met; GitLab CI's
// and a Kubernetes service account's tokens under their own conditions.
func TestTrustConditions(t *testing.T) {
	e := setup(t)
	gh := e.role(t, "deploy-web", `{"StringEquals":{"`+e.host+`:aud":"sts.amazonaws.com"},"StringLike":{"`+e.host+`:sub":"repo:acme/web:ref:refs/heads/main"}}`)
	out, err := e.assume(gh, e.is.Sign(t, oidctest.GitHubActions("acme/web", "refs/heads/main")))
	if err != nil {
		t.Fatal(err)
	}
	if out.Caller.ARN() != "arn:aws:sts::"+acct+":assumed-role/deploy-web/ci" || out.Subject != "repo:acme/web:ref:refs/heads/main" ||
		out.Provider != e.is.URL || out.Audience != "sts.amazonaws.com" || !strings.HasPrefix(out.Credentials.AccessKeyID, "ASIA") ||
		out.Caller.Session.Subject != out.Subject || out.Caller.Session.Source != e.arn {
		t.Fatalf("the exchange: %+v %+v", out, out.Caller.Session)
	}
	for _, c := range []struct {
		name   string
		claims map[string]any
		kind   iamd.Kind
		text   string
	}{
		{"another branch", oidctest.GitHubActions("acme/web", "refs/heads/dev"), iamd.AccessDenied, "StringLike on " + e.host + ":sub"},
		{"another repository", oidctest.GitHubActions("acme/api", "refs/heads/main"), iamd.AccessDenied, "StringLike on " + e.host + ":sub"},
		{"another audience, a client ID of the provider", merge(oidctest.GitHubActions("acme/web", "refs/heads/main"), map[string]any{"aud": "https://gitlab.example.com"}),
			iamd.AccessDenied, "StringEquals on " + e.host + ":aud"},
		{"an audience not a client ID", merge(oidctest.GitHubActions("acme/web", "refs/heads/main"), map[string]any{"aud": "someone-else"}),
			iamd.InvalidIdentityToken, "Incorrect token audience"},
	} {
		_, err := e.assume(gh, e.is.Sign(t, c.claims))
		wantErr(t, c.name, err, c.kind, c.text)
	}
	gl := e.role(t, "deploy-gitlab", `{"StringLike":{"`+e.host+`:sub":"project_path:acme/*:ref_type:branch:ref:main"}}`)
	if _, err := e.assume(gl, e.is.Sign(t, oidctest.GitLabCI("acme/web", "main"))); err != nil {
		t.Errorf("GitLab CI: %v", err)
	}
	k8s := e.role(t, "pod", `{"StringEquals":{"`+e.host+`:sub":"system:serviceaccount:shop:checkout","`+e.host+`:aud":"sts.amazonaws.com"}}`)
	if _, err := e.assume(k8s, e.is.Sign(t, oidctest.Kubernetes("shop", "checkout"))); err != nil {
		t.Errorf("Kubernetes: %v", err)
	}
	_, err = e.assume(k8s, e.is.Sign(t, oidctest.Kubernetes("shop", "cart")))
	wantErr(t, "another service account", err, iamd.AccessDenied, "StringEquals on")
	// A role that does not exist, another account's, and one that trusts
	// the account, not the provider, are refused in the same words: a
	// provider's token does not tell which roles exist.
	r, _ := e.svc.CreateRole(ctx, root, "users-only", "/", "", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"`+acct+`"}}}`, 3600, nil)
	tok := e.is.Sign(t, oidctest.Kubernetes("shop", "checkout"))
	for _, arn := range []string{"arn:aws:iam::" + acct + ":role/nope", "arn:aws:iam::210987654321:role/pod", r.ARN(acct)} {
		_, err = e.assume(arn, tok)
		want := "Not authorized to perform sts:AssumeRoleWithWebIdentity: no trust policy allows sts:AssumeRoleWithWebIdentity on " + arn + " to " + e.arn
		if iamd.KindOf(err) != iamd.AccessDenied || iamd.MessageOf(err) != want {
			t.Errorf("%s: %v, want %q", arn, err, want)
		}
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

// TestHostileTokens: each refused with the right kind, none a failure of
// iamd's own, none echoing the token.
func TestHostileTokens(t *testing.T) {
	e := setup(t)
	roleARN := e.role(t, "r", `{"StringLike":{"`+e.host+`:sub":"*"}}`)
	good := oidctest.Kubernetes("ns", "sa")
	unsigned := func(header, claims map[string]any) string {
		h, _ := json.Marshal(header)
		c, _ := json.Marshal(e.is.Claims(claims))
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
	}
	// HS256 with the provider's public key as the HMAC secret: the
	// algorithm-confusion attack.
	pub := e.is.JWKS().Keys[0]
	der, _ := x509.MarshalPKIXPublicKey(pub.Key)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	other := oidctest.New(t, "/other")
	for _, c := range []struct {
		name  string
		token string
		kind  iamd.Kind
		text  string
	}{
		{"alg none", unsigned(map[string]any{"alg": "none", "typ": "JWT"}, good), iamd.InvalidIdentityToken, "algorithm is not accepted"},
		{"HS256 signed with the public key", oidctest.SignWith(t, jose.HS256, pemKey, pub.KeyID, e.is.Claims(good)), iamd.InvalidIdentityToken, "algorithm is not accepted"},
		{"an unknown kid", oidctest.SignWith(t, jose.RS256, stranger, "made-up", e.is.Claims(good)), iamd.InvalidIdentityToken, `kid "made-up"`},
		{"a known kid, another key", oidctest.SignWith(t, jose.RS256, stranger, pub.KeyID, e.is.Claims(good)), iamd.InvalidIdentityToken, "does not verify"},
		{"a wrong issuer", other.Sign(t, good), iamd.InvalidIdentityToken, "No OpenIDConnect provider found in your account for " + other.URL},
		{"an issuer that is not https", e.is.Sign(t, merge(good, map[string]any{"iss": "http://" + e.host})), iamd.InvalidIdentityToken, "No OpenIDConnect provider"},
		{"expired", e.is.Sign(t, merge(good, map[string]any{"exp": time.Now().Add(-10 * time.Minute).Unix()})), iamd.ExpiredIdentityToken, "Token expired"},
		{"no expiry", e.is.Sign(t, merge(good, map[string]any{"exp": nil})), iamd.InvalidIdentityToken, "no expiry"},
		{"nbf in the future", e.is.Sign(t, merge(good, map[string]any{"nbf": time.Now().Add(time.Hour).Unix()})), iamd.InvalidIdentityToken, "not valid before"},
		{"iat in the future", e.is.Sign(t, merge(good, map[string]any{"iat": time.Now().Add(time.Hour).Unix()})), iamd.InvalidIdentityToken, "issued in the future"},
		{"no subject", e.is.Sign(t, merge(good, map[string]any{"sub": nil})), iamd.InvalidIdentityToken, "no subject"},
		{"not a JWT", "not.a.jwt", iamd.InvalidIdentityToken, "not a signed JWT"},
		{"20,001 characters", strings.Repeat("a", 20001), iamd.InvalidIdentityToken, "not a signed JWT"},
		{"aws: tags", e.is.Sign(t, merge(good, map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"aws:x": []string{"y"}}}})), iamd.InvalidInput, "aws:"},
		{"tags of two values", e.is.Sign(t, merge(good, map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"team": []string{"a", "b"}}}})), iamd.IDPRejectedClaim, "one value"},
	} {
		_, err := e.assume(roleARN, c.token)
		wantErr(t, c.name, err, c.kind, c.text)
		if err != nil && len(c.token) > 20 && strings.Contains(err.Error(), c.token[len(c.token)-20:]) {
			t.Errorf("%s: the refusal holds the token", c.name)
		}
	}
	// A provider deleted before use.
	tok := e.is.Sign(t, good)
	if err := e.fed.DeleteProvider(ctx, root, e.arn); err != nil {
		t.Fatal(err)
	}
	_, err := e.assume(roleARN, tok)
	wantErr(t, "a deleted provider", err, iamd.InvalidIdentityToken, "No OpenIDConnect provider found")
}

// TestKeyRotation: a token signed with a key published after the keys were
// first fetched verifies (fetched again for its kid); made-up kids cost one
// fetch per interval, not one per token.
func TestKeyRotation(t *testing.T) {
	e := setup(t)
	roleARN := e.role(t, "r", `{"StringLike":{"`+e.host+`:sub":"*"}}`)
	if _, err := e.assume(roleARN, e.is.Sign(t, oidctest.Kubernetes("ns", "a"))); err != nil {
		t.Fatal(err)
	}
	e.is.Rotate() // an ECDSA key now signs
	e.clock.Add(11 * time.Second)
	if _, err := e.assume(roleARN, e.is.Sign(t, oidctest.Kubernetes("ns", "b"))); err != nil {
		t.Fatalf("a token of the new key: %v", err)
	}
	before := e.is.Fetches.Load()
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	for i := range 50 {
		_, err := e.assume(roleARN, oidctest.SignWith(t, jose.RS256, stranger, "made-up-"+string(rune('a'+i%26)), e.is.Claims(oidctest.Kubernetes("ns", "x"))))
		wantErr(t, "a made-up kid", err, iamd.InvalidIdentityToken, "is not among the keys")
	}
	if n := e.is.Fetches.Load() - before; n > 1 {
		t.Fatalf("50 made-up kids made %d fetches of the keys", n)
	}
	// The old key, no longer published: refused once the keys are fetched again.
	old := e.is.Sign(t, oidctest.Kubernetes("ns", "c"))
	e.is.Rotate()
	e.is.Unpublish()
	e.clock.Add(2 * time.Hour)
	_, err := e.assume(roleARN, oidctest.SignWith(t, jose.RS256, stranger, "key-1", e.is.Claims(oidctest.Kubernetes("ns", "x"))))
	wantErr(t, "a key no longer published", err, iamd.InvalidIdentityToken, "is not among the keys")
	_ = old
}

// TestProviderUnreachable: a JWKS endpoint that is slow, huge or down is
// IDPCommunicationError, within the fetch timeout, and sessions issued
// before keep working; a certificate neither the roots nor a thumbprint
// vouch for is refused.
func TestProviderUnreachable(t *testing.T) {
	e := setup(t)
	roleARN := e.role(t, "r", `{"StringLike":{"`+e.host+`:sub":"*"}}`)
	out, err := e.assume(roleARN, e.is.Sign(t, oidctest.Kubernetes("ns", "a")))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []oidctest.Mode{oidctest.Down, oidctest.Huge, oidctest.Slow} {
		e.is.SetMode(m)
		e.is.Rotate()
		e.clock.Add(11 * time.Second)
		began := time.Now()
		_, err := e.assume(roleARN, e.is.Sign(t, oidctest.Kubernetes("ns", "b")))
		wantErr(t, "mode "+string(rune('0'+m)), err, iamd.IDPCommunication, "Couldn't retrieve verification key")
		if time.Since(began) > 5*time.Second {
			t.Errorf("mode %d took %v", m, time.Since(began))
		}
	}
	e.is.SetMode(oidctest.Normal)
	// The session issued before still decides (its key, not its token, is
	// what the Service checks).
	if _, _, err := e.svc.SigningKeyFor(ctx, &sigv4.Auth{AccessKeyID: out.Credentials.AccessKeyID, SecurityToken: out.Credentials.SessionToken,
		Date: "20260101", Region: "us-east-1", Service: "s3"}); err != nil {
		t.Fatalf("a session issued before the outage: %v", err)
	}
	// A wrong thumbprint: the issuer's certificate is self-signed.
	if err := e.fed.UpdateThumbprints(ctx, root, e.arn, []string{strings.Repeat("0", 40)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.assume(roleARN, e.is.Sign(t, oidctest.Kubernetes("ns", "c")))
	wantErr(t, "an untrusted certificate", err, iamd.IDPCommunication, "trusted neither")
	if !errors.Is(err, iamd.ErrNotFound) && iamd.KindOf(err) == iamd.Internal {
		t.Fatal("an internal failure")
	}
}

// TestSessionTags: the token's https://aws.amazon.com/tags claim becomes
// the session's tags when the trust policy allows sts:TagSession too.
func TestSessionTags(t *testing.T) {
	e := setup(t)
	claims := merge(oidctest.Kubernetes("ns", "a"), map[string]any{"https://aws.amazon.com/tags": map[string]any{
		"principal_tags": map[string]any{"team": []string{"red"}, "env": []string{"prod"}}, "transitive_tag_keys": []string{"team"}},
		"https://aws.amazon.com/source_identity": "alice@example.com"})
	without := e.role(t, "no-tags", `{"StringLike":{"`+e.host+`:sub":"*"}}`)
	_, err := e.assume(without, e.is.Sign(t, claims))
	wantErr(t, "tags without sts:TagSession", err, iamd.AccessDenied, "sts:TagSession")
	with := e.role(t, "tags", `{"StringLike":{"`+e.host+`:sub":"*"}}`, "sts:TagSession")
	out, err := e.assume(with, e.is.Sign(t, claims))
	if err != nil {
		t.Fatal(err)
	}
	s := out.Caller.Session
	if len(s.Tags) != 2 || s.Tags[0] != (iamd.Tag{Key: "env", Value: "prod"}) || len(s.Transitive) != 1 || s.SourceIdentity != "alice@example.com" || out.SourceIdentity != "alice@example.com" {
		t.Fatalf("the session: %+v", s)
	}
}

// TestProviderActions: IAM's provider actions, their validation and
// errors.
func TestProviderActions(t *testing.T) {
	e := setup(t)
	_, err := e.fed.CreateProvider(ctx, root, e.is.URL+"/", nil, nil, nil)
	wantErr(t, "the same URL with a slash", err, iamd.AlreadyExists, "Provider with url https://"+e.host+" already exists.")
	for _, u := range []string{"http://example.com", "https://example.com/?x=1", "https://user@example.com", "example.com", "https://"} {
		_, err := e.fed.CreateProvider(ctx, root, u, nil, nil, nil)
		wantErr(t, u, err, iamd.InvalidInput, "is not valid")
	}
	_, err = e.fed.CreateProvider(ctx, root, "https://a.example.com", nil, []string{"abc"}, nil)
	wantErr(t, "a short thumbprint", err, iamd.InvalidInput, "40 hexadecimal digits")
	_, err = e.fed.CreateProvider(ctx, root, "https://a.example.com", nil, []string{"a", "b", "c", "d", "e", "f"}, nil)
	wantErr(t, "six thumbprints", err, iamd.LimitExceeded, "Thumbprint list")
	if err := e.fed.AddClientID(ctx, root, e.arn, "my-app"); err != nil {
		t.Fatal(err)
	}
	if err := e.fed.AddClientID(ctx, root, e.arn, "my-app"); err != nil {
		t.Fatal(err)
	}
	p, _ := e.fed.GetProvider(ctx, root, e.arn)
	if strings.Join(p.ClientIDs, ",") != "sts.amazonaws.com,https://gitlab.example.com,my-app" {
		t.Fatalf("client IDs: %v", p.ClientIDs)
	}
	if err := e.fed.RemoveClientID(ctx, root, e.arn, "sts.amazonaws.com"); err != nil {
		t.Fatal(err)
	}
	if err := e.fed.TagProvider(ctx, root, e.arn, []iamd.Tag{{Key: "ci", Value: "k8s"}}); err != nil {
		t.Fatal(err)
	}
	tags, _ := e.fed.ListProviderTags(ctx, root, e.arn)
	if len(tags) != 1 || tags[0].Value != "k8s" {
		t.Fatalf("tags: %v", tags)
	}
	_, err = e.fed.GetProvider(ctx, root, "arn:aws:iam::"+acct+":oidc-provider/nope.example.com")
	wantErr(t, "a missing provider", err, iamd.NotFound, "OpenIDConnect Provider not found for arn arn:aws:iam::"+acct+":oidc-provider/nope.example.com")
	u, err := e.svc.CreateUser(ctx, root, "nobody", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	nobody := &iamd.Caller{Kind: iamd.CallerUser, Account: acct, User: u}
	_, err = e.fed.ListProviders(ctx, nobody)
	wantErr(t, "a user without permission", err, iamd.AccessDenied, "iam:ListOpenIDConnectProviders")
	ps, err := e.fed.ListProviders(ctx, root)
	if err != nil || len(ps) != 1 {
		t.Fatalf("ListProviders: %v %v", ps, err)
	}
}

// TestProviderTagConditions: iam:ResourceTag/… on a provider, and
// aws:RequestTag/… on creating and tagging one, decide as on AWS.
func TestProviderTagConditions(t *testing.T) {
	e := setup(t)
	if _, err := e.svc.CreateUser(ctx, root, "ops", "/", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "ops"}, "p", `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"iam:CreateOpenIDConnectProvider","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/owner":"ops"}}},
 {"Effect":"Allow","Action":"iam:AddClientIDToOpenIDConnectProvider","Resource":"*","Condition":{"StringEquals":{"iam:ResourceTag/owner":"ops"}}}]}`); err != nil {
		t.Fatal(err)
	}
	k, _, err := e.svc.CreateAccessKey(ctx, root, "ops")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := e.svc.Credential(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	ops := cc.Caller
	if _, err := e.fed.CreateProvider(ctx, &ops, "https://b.example.com", nil, nil, nil); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Fatalf("untagged: %v", err)
	}
	p, err := e.fed.CreateProvider(ctx, &ops, "https://c.example.com", nil, nil, []iamd.Tag{{Key: "owner", Value: "ops"}})
	if err != nil {
		t.Fatalf("tagged owner=ops: %v", err)
	}
	if err := e.fed.AddClientID(ctx, &ops, p.ARN(acct), "app"); err != nil {
		t.Fatalf("its own provider: %v", err)
	}
	if err := e.fed.AddClientID(ctx, &ops, e.arn, "app"); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Fatalf("a provider not tagged owner=ops: %v", err)
	}
}
