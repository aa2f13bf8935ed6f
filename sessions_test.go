package iamd_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"iamd"
	"iamd/sigv4"
)

const acct = "123456789012"

func trustOf(principal string, cond string) string {
	if cond != "" {
		cond = `,"Condition":` + cond
	}
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"` + cond + `}}`
}

// sessionFixture is a service with users alice (no policies) and bob, and
// helpers to act as them.
type sessionFixture struct {
	t   *testing.T
	svc *iamd.Service
	clk *clock
}

func newSessionFixture(t *testing.T) *sessionFixture {
	c := &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	svc, _ := newService(t, c)
	f := &sessionFixture{t: t, svc: svc, clk: c}
	for _, u := range []string{"alice", "bob"} {
		if _, err := svc.CreateUser(context.Background(), root, u, "/", nil); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// caller returns a Caller for a new key of user, as a request from ip.
func (f *sessionFixture) caller(user, ip string) *iamd.Caller {
	f.t.Helper()
	k, _, err := f.svc.CreateAccessKey(context.Background(), root, user)
	if err != nil {
		f.t.Fatal(err)
	}
	cc, err := f.svc.Credential(context.Background(), k.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	c := cc.Caller
	c.Request.SourceIP = netip.MustParseAddr(ip)
	return &c
}

func (f *sessionFixture) role(name, path, trust, policy string) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.svc.CreateRole(ctx, root, name, path, "", trust, 0, nil); err != nil {
		f.t.Fatalf("CreateRole %s: %v", name, err)
	}
	if policy != "" {
		if err := f.svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityRole, Name: name}, "p", policy); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *sessionFixture) userPolicy(user, doc string) {
	f.t.Helper()
	if err := f.svc.PutInlinePolicy(context.Background(), root, iamd.Entity{Kind: iamd.EntityUser, Name: user}, "p", doc); err != nil {
		f.t.Fatal(err)
	}
}

// session authenticates temporary credentials as a request would.
func (f *sessionFixture) session(creds *iamd.Credentials) (*iamd.Caller, error) {
	cc, _, err := f.svc.SigningKeyFor(context.Background(), &sigv4.Auth{AccessKeyID: creds.AccessKeyID, SecurityToken: creds.SessionToken,
		Date: "20261124", Region: "us-east-1", Service: "iam"})
	if err != nil {
		return nil, err
	}
	c := cc.Caller
	return &c, nil
}

// assumed assumes a role as c and returns the session's caller.
func (f *sessionFixture) assumed(c *iamd.Caller, in iamd.AssumeRoleInput) *iamd.Caller {
	f.t.Helper()
	creds, _, err := f.svc.AssumeRole(context.Background(), c, in)
	if err != nil {
		f.t.Fatal(err)
	}
	sc, err := f.session(creds)
	if err != nil {
		f.t.Fatal(err)
	}
	return sc
}

const allowAssume = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}`
const listAndGet = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["iam:ListUsers","iam:GetUser"],"Resource":"*"}}`

// TestAssumeRoleTrust is the trust-policy table: who may assume a role, as
// AWS decides it within one account.
func TestAssumeRoleTrust(t *testing.T) {
	aliceARN := `{"AWS":"arn:aws:iam::` + acct + `:user/alice"}`
	for _, tt := range []struct {
		name, path, trust string
		identity          string // alice's own policy, if any
		ip                string
		in                iamd.AssumeRoleInput
		allowed           bool
	}{
		{name: "user ARN, no identity policy needed", trust: trustOf(aliceARN, ""), allowed: true},
		{name: "account, without identity policy", trust: trustOf(`{"AWS":"`+acct+`"}`, ""), allowed: false},
		{name: "account root ARN, with identity policy", trust: trustOf(`{"AWS":"arn:aws:iam::`+acct+`:root"}`, ""), identity: allowAssume, allowed: true},
		{name: "another principal", trust: trustOf(`{"AWS":"arn:aws:iam::`+acct+`:user/bob"}`, ""), identity: allowAssume, allowed: false},
		{name: "wildcard", trust: trustOf(`"*"`, ""), allowed: true},
		{name: "ExternalId required, missing", trust: trustOf(aliceARN, `{"StringEquals":{"sts:ExternalId":"s3cr3t"}}`), allowed: false},
		{name: "ExternalId required, wrong", trust: trustOf(aliceARN, `{"StringEquals":{"sts:ExternalId":"s3cr3t"}}`), in: iamd.AssumeRoleInput{ExternalID: "guess"}, allowed: false},
		{name: "ExternalId required, right", trust: trustOf(aliceARN, `{"StringEquals":{"sts:ExternalId":"s3cr3t"}}`), in: iamd.AssumeRoleInput{ExternalID: "s3cr3t"}, allowed: true},
		{name: "source IP outside", trust: trustOf(aliceARN, `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), ip: "192.0.2.1", allowed: false},
		{name: "source IP inside", trust: trustOf(aliceARN, `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), ip: "10.1.2.3", allowed: true},
		{name: "role in a path, asked with it", path: "/ops/", trust: trustOf(aliceARN, ""), in: iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/ops/r"}, allowed: true},
		{name: "role in a path, asked without it", path: "/ops/", trust: trustOf(aliceARN, ""), allowed: false},
		{name: "explicit Deny in the caller's policy wins over a trust naming it", trust: trustOf(aliceARN, ""),
			identity: `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}}`, allowed: false},
		{name: "explicit Deny in the trust policy", trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":` + aliceARN + `,"Action":"sts:AssumeRole"}]}`, allowed: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newSessionFixture(t)
			f.role("r", tt.path, tt.trust, listAndGet)
			if tt.identity != "" {
				f.userPolicy("alice", tt.identity)
			}
			in := tt.in
			if in.RoleARN == "" {
				in.RoleARN = "arn:aws:iam::" + acct + ":role/r"
			}
			in.SessionName = "s"
			creds, who, err := f.svc.AssumeRole(context.Background(), f.caller("alice", cmpOr(tt.ip, "127.0.0.1")), in)
			if tt.allowed != (err == nil) {
				t.Fatalf("allowed %v, want %v (%v)", err == nil, tt.allowed, err)
			}
			if err != nil {
				if !errors.Is(err, iamd.ErrAccessDenied) {
					t.Fatalf("refusal %v, want AccessDenied", err)
				}
				return
			}
			if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || who.ARN() != "arn:aws:sts::"+acct+":assumed-role/r/s" {
				t.Fatalf("credentials %s for %s", creds.AccessKeyID, who.ARN())
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestSessionPolicies: a role session may do only what both the role's
// policies and the session policies allow; a Deny in either wins.
func TestSessionPolicies(t *testing.T) {
	f := newSessionFixture(t)
	f.role("r", "/", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":["sts:AssumeRole","sts:TagSession"]}}`, listAndGet)
	alice := f.caller("alice", "127.0.0.1")
	ctx := context.Background()
	assume := func(policy string) *iamd.Caller {
		t.Helper()
		return f.assumed(alice, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/r", SessionName: "s", Policy: policy,
			Tags: []iamd.Tag{{Key: "team", Value: "blue"}}})
	}
	user := "arn:aws:iam::" + acct + ":user/bob"
	for _, tt := range []struct {
		name, policy, action string
		want                 error // nil: allowed
	}{
		{"no session policy: the role's", "", "iam:ListUsers", nil},
		{"no session policy: beyond the role's", "", "iam:DeleteUser", iamd.ErrAccessDenied},
		{"narrowed: kept", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}}`, "iam:GetUser", nil},
		{"narrowed: dropped", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}}`, "iam:ListUsers", iamd.ErrAccessDenied},
		{"session policy cannot widen", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "iam:DeleteUser", iamd.ErrAccessDenied},
		{"explicit Deny in the session policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:GetUser","Resource":"*"}]}`, "iam:GetUser", iamd.ErrAccessDenied},
		{"session keys as AWS sets them", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{
			"Bool":{"aws:MultiFactorAuthPresent":"false"},"Null":{"aws:TokenIssueTime":"false","aws:username":"true"},
			"StringLike":{"aws:userid":"AROA*:s"},"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/r"},
			"StringEquals":{"aws:PrincipalTag/team":"blue"}}}}`, "iam:GetUser", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := f.svc.Authorize(ctx, assume(tt.policy), tt.action, user)
			if (tt.want == nil) != (err == nil) || err != nil && !errors.Is(err, tt.want) {
				t.Fatalf("%s: %v, want %v", tt.action, err, tt.want)
			}
			if strings.Contains(tt.name, "explicit") && !strings.Contains(iamd.MessageOf(err), "explicit deny") {
				t.Fatalf("message %q does not name the explicit deny", iamd.MessageOf(err))
			}
		})
	}
}

// TestSessionLifecycle: expiry by the clock, the rules of GetSessionToken's
// credentials, and revocation by what a session rests on.
func TestSessionLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newSessionFixture(t)
	f.role("r", "/", trustOf(`"*"`, ""), listAndGet)
	f.userPolicy("alice", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	alice := f.caller("alice", "127.0.0.1")

	// Expiry: 900 s later the credentials are refused as expired.
	creds, _, err := f.svc.AssumeRole(ctx, alice, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/r", SessionName: "s", Duration: 900})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.session(creds); err != nil {
		t.Fatal(err)
	}
	f.clk.t = f.clk.t.Add(899 * time.Second)
	if _, err := f.session(creds); err != nil {
		t.Fatalf("at 899 s: %v", err)
	}
	f.clk.t = f.clk.t.Add(time.Second)
	if _, err := f.session(creds); iamd.KindOf(err) != iamd.ExpiredToken {
		t.Fatalf("at 900 s: %v, want ExpiredToken", err)
	}
	if _, _, err := f.svc.AssumeRole(ctx, alice, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/r", SessionName: "s", Duration: 7200}); !errors.Is(err, iamd.ErrInvalid) {
		t.Fatalf("beyond MaxSessionDuration: %v", err)
	}

	// The token is bound to its key; a temporary key needs its token.
	c1, _, _ := f.svc.AssumeRole(ctx, alice, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/r", SessionName: "a"})
	c2, _, _ := f.svc.AssumeRole(ctx, alice, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/r", SessionName: "b"})
	swapped := *c1
	swapped.SessionToken = c2.SessionToken
	if _, err := f.session(&swapped); !errors.Is(err, iamd.ErrInvalidSessionToken) {
		t.Fatalf("another key's token: %v", err)
	}
	swapped.SessionToken = ""
	if _, err := f.session(&swapped); !errors.Is(err, iamd.ErrNoSuchIdentity) {
		t.Fatalf("no token: %v", err)
	}
	if !f.svc.IsIssuedSessionKey(c1.AccessKeyID) || f.svc.IsIssuedSessionKey("ASIAAAAAAAAAAAAAAAAA") {
		t.Fatal("GetAccessKeyInfo cannot tell iamd's temporary key IDs")
	}

	// Deleting the role ends its sessions, also when a role of that name
	// is made again.
	s1, err := f.session(c1)
	if err != nil || s1.ARN() != "arn:aws:sts::"+acct+":assumed-role/r/a" || s1.UserID() != s1.Role.ID+":a" {
		t.Fatalf("session: %v %v", s1, err)
	}
	f.svc.DeleteInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityRole, Name: "r"}, "p")
	if err := f.svc.DeleteRole(ctx, root, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.session(c1); !errors.Is(err, iamd.ErrNoSuchIdentity) {
		t.Fatalf("session of a deleted role: %v", err)
	}
	f.role("r", "/", trustOf(`"*"`, ""), listAndGet)
	if _, err := f.session(c1); !errors.Is(err, iamd.ErrNoSuchIdentity) {
		t.Fatalf("session of a role made again: %v", err)
	}

	// GetSessionToken: the user's own permissions, but no IAM and no STS
	// beyond AssumeRole and GetCallerIdentity; deactivating the key that
	// asked ends the session.
	st, err := f.svc.GetSessionToken(ctx, alice, 0)
	if err != nil || st.Expiration.Sub(f.clk.t) != 12*time.Hour {
		t.Fatalf("GetSessionToken: %v %v", st, err)
	}
	us, err := f.session(st)
	if err != nil || us.ARN() != "arn:aws:iam::"+acct+":user/alice" {
		t.Fatalf("user session: %v %v", us, err)
	}
	for action, allowed := range map[string]bool{"iam:ListUsers": false, "sts:GetAccessKeyInfo": false, "sts:AssumeRole": true, "lightsail:GetBuckets": true} {
		if err := f.svc.Authorize(ctx, us, action, "*"); (err == nil) != allowed {
			t.Errorf("%s with GetSessionToken's credentials: %v, want allowed %v", action, err, allowed)
		}
	}
	if _, err := f.svc.GetSessionToken(ctx, us, 0); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Fatalf("GetSessionToken with session credentials: %v", err)
	}
	if _, err := f.svc.GetSessionToken(ctx, alice, 129601); !errors.Is(err, iamd.ErrInvalid) {
		t.Fatalf("GetSessionToken beyond 36 h: %v", err)
	}
	if err := f.svc.UpdateAccessKey(ctx, root, "alice", alice.AccessKeyID, iamd.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if _, err := f.session(st); !errors.Is(err, iamd.ErrNoSuchIdentity) {
		t.Fatalf("session of a deactivated key: %v", err)
	}
}

// TestTrustFollowsUniqueIDs: a trust policy trusts the users and roles it
// named as they were when it was written: renamed they still may assume
// the role; a user deleted and made again under the same name, or a role
// made again, may not, as in IAM.
func TestTrustFollowsUniqueIDs(t *testing.T) {
	f := newSessionFixture(t)
	ctx := context.Background()
	f.role("chain", "/", trustOf(`{"AWS":"arn:aws:iam::`+acct+`:user/alice"}`, ""), "")
	f.role("r", "/", trustOf(`{"AWS":["arn:aws:iam::`+acct+`:user/bob","arn:aws:iam::`+acct+`:role/chain"]}`, ""), "")
	assume := func(c *iamd.Caller, role string) error {
		_, _, err := f.svc.AssumeRole(ctx, c, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/" + role, SessionName: "s"})
		return err
	}
	bob := f.caller("bob", "10.0.0.1")
	if err := assume(bob, "r"); err != nil {
		t.Fatalf("bob, named: %v", err)
	}
	// Renamed, bob is still the principal the policy named.
	newName := "robert"
	if err := f.svc.UpdateUser(ctx, root, "bob", &newName, nil); err != nil {
		t.Fatal(err)
	}
	if err := assume(f.caller("robert", "10.0.0.1"), "r"); err != nil {
		t.Errorf("bob renamed robert: %v", err)
	}
	// A new bob is somebody else.
	if _, err := f.svc.CreateUser(ctx, root, "bob", "/", nil); err != nil {
		t.Fatal(err)
	}
	if err := assume(f.caller("bob", "10.0.0.1"), "r"); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Errorf("a new user named bob: %v, want AccessDenied", err)
	}
	// A session of role chain may assume r; of a new role named chain, not.
	chain := func() *iamd.Caller {
		return f.assumed(f.caller("alice", "10.0.0.1"), iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/chain", SessionName: "c"})
	}
	if err := assume(chain(), "r"); err != nil {
		t.Errorf("a session of role chain: %v", err)
	}
	if err := f.svc.DeleteRole(ctx, root, "chain"); err != nil {
		t.Fatal(err)
	}
	f.role("chain", "/", trustOf(`{"AWS":"arn:aws:iam::`+acct+`:user/alice"}`, ""), "")
	if err := assume(chain(), "r"); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Errorf("a session of a new role named chain: %v, want AccessDenied", err)
	}
	// Written again, the policy names the principals as they are now.
	if err := f.svc.UpdateAssumeRolePolicy(ctx, root, "r", trustOf(`{"AWS":"arn:aws:iam::`+acct+`:user/bob"}`, "")); err != nil {
		t.Fatal(err)
	}
	if err := assume(f.caller("bob", "10.0.0.1"), "r"); err != nil {
		t.Errorf("the new bob, once the policy names him again: %v", err)
	}
}

// TestCheckedSessionsBoundedByBytes: every checked session was kept, up to
// 100,000 of them (~25 KB each at most: 2.4 GB). They are bounded by the
// memory they hold.
func TestCheckedSessionsBoundedByBytes(t *testing.T) {
	f := newSessionFixture(t)
	bob := f.caller("bob", "10.0.0.1")
	var tags []iamd.Tag
	for i := range 12 {
		tags = append(tags, iamd.Tag{Key: strings.Repeat(string(rune('a'+i)), 128), Value: strings.Repeat("v", 256)})
	}
	f.svc.PutInlinePolicy(context.Background(), root, iamd.Entity{Kind: iamd.EntityUser, Name: "bob"}, "tag", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:TagSession","Resource":"*"}}`)
	f.role("t", "/", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:user/bob"},"Action":["sts:AssumeRole","sts:TagSession"]}}`, "")
	const limit = 64 << 20
	most := int64(0)
	for i := range 4000 {
		creds, _, err := f.svc.AssumeRole(context.Background(), bob, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/t", SessionName: "s", Tags: tags})
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if _, err := f.session(creds); err != nil {
			t.Fatal(err)
		}
		most = max(most, f.svc.KeptSessionBytes())
	}
	if most > limit || most < limit/2 {
		t.Fatalf("checked sessions held up to %d bytes; the bound is %d", most, limit)
	}
	// A session whose tags would not fit a token is refused at once.
	for i := range 40 {
		tags = append(tags, iamd.Tag{Key: strings.Repeat(string(rune('A'+i%26)), 127) + string(rune('0'+i/26)), Value: strings.Repeat("w", 256)})
	}
	_, _, err := f.svc.AssumeRole(context.Background(), bob, iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/t", SessionName: "s", Tags: tags})
	if iamd.KindOf(err) != iamd.LimitExceeded || !strings.Contains(iamd.MessageOf(err), "Packed size") {
		t.Fatalf("50 long tags: %v", err)
	}
}
