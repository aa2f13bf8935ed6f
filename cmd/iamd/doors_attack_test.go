package main

// Regression tests for attacks through the doors other services use (the
// object-gateway protocol, iamd proxy, Keystone), each written as what the
// attacker sends and what must come back. docs/SECURITY.md lists them.

import (
	"bufio"
	"encoding/json"
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
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"iamd/gateway"
	"iamd/sigv4"
)

const decideOnly = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iamd:DecideRequests","Resource":"*"}}`

// auditLines reads the audit log's records.
func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// doorSetup is iamd with the gateway protocol on a socket and the audit
// log on, and a user "door" allowed iamd:DecideRequests only, as every
// versitygw, iamd proxy and iamdauth service holds; it returns the door's
// client.
func doorSetup(t *testing.T) (*testServer, *gateway.Client, string, string) {
	t.Helper()
	sock := gatewaySocket(t)
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	s := start(t, func(c *Config) { c.GatewaySocket = sock; c.AuditLog = auditPath })
	userWith(t, s, "door", decideOnly)
	k := mustKey(t, s.root(), "door")
	door, err := gateway.NewClient("unix://"+sock, nil, *k.AccessKeyId, *k.SecretAccessKey)
	if err != nil {
		t.Fatal(err)
	}
	return s, door, sock, auditPath
}

// TestAttackDecisionKeyBecomesRoot: a key allowed only iamd:DecideRequests
// asked /private/derive-signing-key for the root key's signing key for
// iam (and sts, lightsail), signed PutUserPolicy and CreateAccessKey for
// the root with it, and owned the account. It also got keys for dates
// 300 days ahead, and a root session barred from IAM escaped its bar the
// same way; none of it was audited. Every one of these asks is refused
// now, and audited with the door that asked.
func TestAttackDecisionKeyBecomesRoot(t *testing.T) {
	s, door, sock, auditPath := doorSetup(t)
	now := time.Now().UTC()
	today := now.Format("20060102")
	for _, tt := range []struct{ what, date, service string }{
		{"the root's iam key", today, "iam"},
		{"the root's IAM key (upper case)", today, "IAM"},
		{"the root's sts key", today, "sts"},
		{"the root's lightsail key", today, "lightsail"},
		{"an s3 key 300 days ahead", now.AddDate(0, 0, 300).Format("20060102"), "s3"},
		{"an s3 key 2 days ahead", now.AddDate(0, 0, 2).Format("20060102"), "s3"},
		{"an s3 key 9 days back", now.AddDate(0, 0, -9).Format("20060102"), "s3"},
		{"a malformed date", "2026-12-01", "s3"},
	} {
		if key, _, err := door.Derive(ctx, rootID, "", tt.date, "us-east-1", tt.service); err == nil || key != nil {
			t.Errorf("%s: handed out (%v)", tt.what, err)
		}
	}
	// What an object gateway does need still works: s3, today and a
	// presigned URL's 7 days back.
	for _, date := range []string{today, now.AddDate(0, 0, -7).Format("20060102")} {
		want := sigv4.SigningKey([]byte(rootSecret), date, "us-east-1", "s3")
		if key, arn, err := door.Derive(ctx, rootID, "", date, "us-east-1", "s3"); err != nil || string(key) != string(want) || !strings.HasSuffix(arn, ":root") {
			t.Fatalf("s3 on %s: %v", date, err)
		}
	}

	// A root session (GetSessionToken, barred from IAM) speaking as a door:
	// no iam key for the root's long-term key either.
	st, err := s.sts(rootID, rootSecret).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	sessDoor, err := gateway.NewClient("unix://"+sock, nil, *st.Credentials.AccessKeyId, *st.Credentials.SecretAccessKey)
	if err != nil {
		t.Fatal(err)
	}
	sessDoor = sessDoor.WithSessionToken(*st.Credentials.SessionToken)
	if _, _, err := sessDoor.Derive(ctx, rootID, "", today, "us-east-1", "iam"); err == nil {
		t.Fatal("a root session got the root's iam key through the door")
	}

	// Decisions on iamd's own actions are not a door's to ask for.
	for _, tt := range []struct {
		service string
		action  string
	}{{"iam", "iam:CreateAccessKey"}, {"s3", "iam:PutUserPolicy"}, {"s3", "sts:AssumeRole"}, {"s3", "*:*"}, {"s3", "iamd:DecideRequests"}} {
		if _, err := door.Evaluate(ctx, rootID, "", tt.service, "us-east-1", []string{tt.action}, []string{"*"}, nil); err == nil {
			t.Errorf("evaluate %s for %s: answered", tt.action, tt.service)
		}
	}

	// Nothing changed on the account: the door still has its one policy.
	if out, err := s.root().ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("door")}); err != nil || len(out.PolicyNames) != 1 {
		t.Fatalf("door's policies: %v %v", out, err)
	}

	// Every ask is in the audit log, with the door that asked, the key it
	// asked about and the scope; the refused ones as denied.
	var refused, allowed int
	for _, rec := range auditLines(t, auditPath) {
		if rec["door"] != "gateway" || rec["action"] != "derive-signing-key" {
			continue
		}
		if rec["target"] != rootID || rec["scope"] == nil || rec["principal"] == "" {
			t.Fatalf("audit record without the key or scope asked for, or the door: %v", rec)
		}
		switch rec["outcome"] {
		case "denied":
			refused++
		case "allowed":
			allowed++
		}
		for _, secret := range []string{rootSecret} {
			b, _ := json.Marshal(rec)
			if strings.Contains(string(b), secret) {
				t.Fatal("a secret in the audit log")
			}
		}
	}
	if refused < 4 || allowed != 2 {
		t.Fatalf("audit: %d refused and %d allowed derive records, want at least 4 (iam, sts, lightsail, ahead) and 2", refused, allowed)
	}
}

// TestDoorLimitedToItsService: a door's key may be narrowed to the service
// it serves with iamd:Service; the version and watch calls, which name no
// service, still work under StringEqualsIfExists.
func TestDoorLimitedToItsService(t *testing.T) {
	s, _, sock, _ := doorSetup(t)
	userWith(t, s, "front", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iamd:DecideRequests","Resource":"*",
		"Condition":{"StringEqualsIfExists":{"iamd:Service":"execute-api"}}}}`)
	k := mustKey(t, s.root(), "front")
	front, _ := gateway.NewClient("unix://"+sock, nil, *k.AccessKeyId, *k.SecretAccessKey)
	today := time.Now().UTC().Format("20060102")
	if _, err := front.Version(ctx); err != nil {
		t.Fatalf("version: %v", err)
	}
	if _, _, err := front.Derive(ctx, rootID, "", today, "us-east-1", "execute-api"); err != nil {
		t.Fatalf("its own service: %v", err)
	}
	if _, _, err := front.Derive(ctx, rootID, "", today, "us-east-1", "s3"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a front got an s3 key: %v", err)
	}
	if _, err := front.Evaluate(ctx, rootID, "", "s3", "us-east-1", []string{"s3:GetObject"}, []string{"arn:aws:s3:::b/k"}, nil); err == nil {
		t.Fatal("a front was answered an s3 decision")
	}
}

// TestAttackWatchOutlivesItsKey: /private/watch kept streaming every
// key change to a key deleted after it connected. The stream ends as soon
// as the key or its permission goes.
func TestAttackWatchOutlivesItsKey(t *testing.T) {
	for _, revoke := range []string{"delete the key", "remove the permission"} {
		t.Run(revoke, func(t *testing.T) {
			s, _, sock, _ := doorSetup(t)
			userWith(t, s, "watcher", decideOnly)
			k := mustKey(t, s.root(), "watcher")
			w, _ := gateway.NewClient("unix://"+sock, nil, *k.AccessKeyId, *k.SecretAccessKey)
			ready := make(chan struct{})
			ended := make(chan error, 1)
			go func() { ended <- w.Watch(ctx, func() { close(ready) }, func(gateway.Change) {}) }()
			select {
			case <-ready:
			case err := <-ended:
				t.Fatalf("watch: %v", err)
			}
			switch revoke {
			case "delete the key":
				if _, err := s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("watcher"), AccessKeyId: k.AccessKeyId}); err != nil {
					t.Fatal(err)
				}
			default:
				if _, err := s.root().DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("watcher"), PolicyName: aws.String("p")}); err != nil {
					t.Fatal(err)
				}
			}
			// Another key's change, which the stream must not carry to it.
			mustUser(t, s, "other")
			ok := mustKey(t, s.root(), "other")
			s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("other"), AccessKeyId: ok.AccessKeyId})
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("the watch streams on after its key lost the right to it")
			}
		})
	}
}

// TestAttackIdentityHeadersThroughProxy: "Connection: close,
// X-Iamd-Identity-User-Arn" made Go's reverse proxy drop the identity
// headers the front set, and X_Iamd_Identity_User_Arn then reached a WSGI
// upstream as HTTP_X_IAMD_IDENTITY_USER_ARN = the root. "..;" segments
// reached Tomcat as "..".
func TestAttackIdentityHeadersThroughProxy(t *testing.T) {
	_, up, front, _ := proxySetup(t)
	at := time.Now()
	r := signedRequest(t, "GET", front+"/pets", "", rootID, rootSecret, at, false)
	r.Header.Set("Connection", "close, X-Iamd-Identity-User-Arn, X-Iamd-Identity-Account-Id")
	if status, body := send(t, r); status != http.StatusBadRequest {
		t.Fatalf("Connection naming identity headers: %d %s", status, body)
	}
	r = signedRequest(t, "GET", front+"/pets", "", rootID, rootSecret, at, false)
	r.Header["X_Iamd_Identity_User_Arn"] = []string{"arn:aws:iam::" + account + ":user/admin"}
	r.Header["X-Iamd-Identity_User-Arn"] = []string{"arn:aws:iam::" + account + ":user/admin"}
	if status, body := send(t, r); status != http.StatusOK {
		t.Fatalf("signed request: %d %s", status, body)
	}
	up.mu.Lock()
	got := up.headers
	up.mu.Unlock()
	for k, v := range got {
		if strings.Contains(strings.ToLower(k), "iamd") && strings.Contains(strings.ReplaceAll(strings.ToLower(k), "_", "-"), "identity") &&
			k != "X-Iamd-Identity-User-Arn" && k != "X-Iamd-Identity-Account-Id" && k != "X-Iamd-Identity-Access-Key" &&
			k != "X-Iamd-Identity-Caller" && k != "X-Iamd-Identity-User" {
			t.Fatalf("the upstream received the client's %s: %v", k, v)
		}
	}
	if got.Get("X-Iamd-Identity-User-Arn") != "arn:aws:iam::"+account+":root" {
		t.Fatalf("identity %q", got.Get("X-Iamd-Identity-User-Arn"))
	}
	for _, p := range []string{"/pets/..;/admin", "/pets/..;x=1/admin", "/pets/.;/admin", "/pets/;/admin"} {
		r := signedRequest(t, "GET", front+p, "", rootID, rootSecret, at, false)
		if status, body := send(t, r); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", p, status, body)
		}
	}
}

// TestEveryListenerBounded: 19,979 idle connections to --metrics-addr took
// every descriptor and a signed request on the main port hung. Every
// listener iamd opens has the main one's bounds.
func TestEveryListenerBounded(t *testing.T) {
	sock := gatewaySocket(t)
	s := start(t, func(c *Config) {
		c.MetricsAddr, c.DebugAddr, c.KeystoneAddr, c.GatewaySocket = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", sock
		c.MaxConnections, c.KeystoneRoles = 8, "member"
	})
	for name, srv := range map[string]*http.Server{"main": s.http, "metrics": s.mhttp, "pprof": s.debug, "gateway": s.gw, "keystone": s.ks} {
		if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.IdleTimeout == 0 || srv.MaxHeaderBytes == 0 || srv.WriteTimeout == 0 {
			t.Errorf("%s: unbounded: header %v, read %v, write %v, idle %v, header bytes %d", name, srv.ReadHeaderTimeout, srv.ReadTimeout,
				srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
		}
	}
	// Fill the metrics port with idle connections, and more.
	var conns []net.Conn
	for range 12 {
		c, err := net.Dial("tcp", s.MetricsAddr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// The main port answers at once.
	start := time.Now()
	if _, err := s.sts(rootID, rootSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil || time.Since(start) > 5*time.Second {
		t.Fatalf("a signed request while the metrics port is full: %v after %v", err, time.Since(start))
	}
	// A scrape beyond the 8 held connections waits: the limit holds.
	c := &http.Client{Timeout: 500 * time.Millisecond}
	if resp, err := c.Get("http://" + s.MetricsAddr() + "/metrics"); err == nil {
		resp.Body.Close()
		t.Fatal("a ninth connection to the metrics port was served while 8 were held")
	}
}

// TestAttackTransitiveTagOverridden: session A (team=red, transitive)
// assumed role B passing team=blue (or Team=blue) and B's
// aws:PrincipalTag/team became blue. AWS refuses a session tag that
// conflicts with an inherited transitive one, and any aws: key.
func TestAttackTransitiveTagOverridden(t *testing.T) {
	s := start(t)
	id, secret := roleForAlice(t, s)
	trustReader := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/reader"},"Action":["sts:AssumeRole","sts:TagSession"]}}`
	trustAliceTags := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":["sts:AssumeRole","sts:TagSession"]}}`
	if _, err := s.root().UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("reader"), PolicyDocument: aws.String(trustAliceTags)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("b"), AssumeRolePolicyDocument: aws.String(trustReader)}); err != nil {
		t.Fatal(err)
	}
	a, err := s.sts(id, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("sa"),
		Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("red")}}, TransitiveTagKeys: []string{"team"}})
	if err != nil {
		t.Fatal(err)
	}
	chained := sts.NewFromConfig(s.withSession(a.Credentials))
	for _, key := range []string{"team", "Team", "TEAM"} {
		_, err := chained.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/b"), RoleSessionName: aws.String("sb"),
			Tags: []ststypes.Tag{{Key: aws.String(key), Value: aws.String("blue")}}})
		wantAPIError(t, err, "InvalidParameterValue", 400)
	}
	_, err = s.sts(id, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("sa"),
		Tags: []ststypes.Tag{{Key: aws.String("aws:team"), Value: aws.String("red")}}})
	wantAPIError(t, err, "InvalidParameterValue", 400)
	// Other keys are fine, and team=red carries over.
	b, err := chained.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/b"), RoleSessionName: aws.String("sb"),
		Tags: []ststypes.Tag{{Key: aws.String("project"), Value: aws.String("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(s.withSession(b.Credentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
}

// TestAttackRootAssumesRole: AWS refuses root credentials in AssumeRole.
func TestAttackRootAssumesRole(t *testing.T) {
	s := start(t)
	if _, err := s.root().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}`)}); err != nil {
		t.Fatal(err)
	}
	_, err := s.sts(rootID, rootSecret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("sx")})
	wantAPIError(t, err, "AccessDenied", 403)
	if msg := apiMessage(err); msg != "Roles may not be assumed by root accounts." {
		t.Fatalf("message %q", msg)
	}
	st, err := s.sts(rootID, rootSecret).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(s.withSession(st.Credentials)).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("sx")})
	wantAPIError(t, err, "AccessDenied", 403)
}

// TestMaxSessionDurationAppliesAtOnce: UpdateRole --max-session-duration
// took up to 10 s to apply: a 12 h session was minted after it was
// lowered.
func TestMaxSessionDurationAppliesAtOnce(t *testing.T) {
	s := start(t)
	id, secret := roleForAlice(t, s)
	if _, err := s.root().UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("reader"), MaxSessionDuration: aws.Int32(43200)}); err != nil {
		t.Fatal(err)
	}
	assume := func(d int32) error {
		_, err := s.sts(id, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("sx"), DurationSeconds: aws.Int32(d)})
		return err
	}
	if err := assume(43200); err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("reader"), MaxSessionDuration: aws.Int32(3600)}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, assume(43200), "ValidationError", 400)
}

// TestDeactivationRevokesSessionsForGood: a GetSessionToken session
// refused after its parent key went Inactive worked again when the key was
// made Active. Deactivating a key revokes its sessions for good; sessions
// asked for after re-activation work.
func TestDeactivationRevokesSessionsForGood(t *testing.T) {
	s := start(t)
	id, secret := roleForAlice(t, s)
	st, err := s.sts(id, secret).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	sess := sts.NewFromConfig(s.withSession(st.Credentials))
	if _, err := sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"Inactive", "Active"} {
		if _, err := s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: aws.String(id), Status: iamtypes.StatusType(status)}); err != nil {
			t.Fatal(err)
		}
		_, err := sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantAPIError(t, err, "InvalidClientTokenId", 403)
	}
	time.Sleep(1100 * time.Millisecond) // sessions of the deactivation's second are refused too
	st2, err := s.sts(id, secret).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(s.withSession(st2.Credentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("a session asked for after re-activation: %v", err)
	}
}

// TestAttackKeystoneTemporaryCredentials: ec2tokens accepted temporary
// credentials (the README says it does not) and presented a role session
// as user "root"; Keystone logins, refused ones included, and s3tokens
// answers were not audited.
func TestAttackKeystoneTemporaryCredentials(t *testing.T) {
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	s := start(t, func(c *Config) { c.KeystoneAddr = "127.0.0.1:0"; c.KeystoneRoles = "member"; c.AuditLog = auditPath })
	userWith(t, s, "swift", decideOnly)
	k := mustKey(t, s.root(), "swift")
	if status, _, _ := ksCall(t, s, "/v3/auth/tokens", "", loginBody(*k.AccessKeyId, "wrong-secret-wrong-secret")); status != http.StatusUnauthorized {
		t.Fatalf("a wrong secret: %d", status)
	}
	tok := ksLogin(t, s, *k.AccessKeyId, *k.SecretAccessKey)
	id, secret := roleForAlice(t, s)
	role, err := s.sts(id, secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/reader"), RoleSessionName: aws.String("sx")})
	if err != nil {
		t.Fatal(err)
	}
	user, err := s.sts(id, secret).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	ec2 := func(creds aws.Credentials, service string) string {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:8773/?Action=DescribeInstances&Version=2016-11-15", nil)
		body := sigv4.EmptySHA256
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, body, service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		auth := req.Header.Get("Authorization")
		headers := map[string]string{"Host": "127.0.0.1:8773", "X-Amz-Date": req.Header.Get("X-Amz-Date"), "Authorization": auth}
		if creds.SessionToken != "" {
			headers["X-Amz-Security-Token"] = creds.SessionToken
		}
		b, _ := json.Marshal(map[string]any{"credentials": map[string]any{
			"access": creds.AccessKeyID, "signature": auth[strings.LastIndex(auth, "=")+1:], "host": "127.0.0.1:8773", "verb": "GET", "path": "/",
			"params": map[string]string{"Action": "DescribeInstances", "Version": "2016-11-15"}, "headers": headers, "body_hash": body}})
		return string(b)
	}
	for what, creds := range map[string]aws.Credentials{
		"a role session": {AccessKeyID: *role.Credentials.AccessKeyId, SecretAccessKey: *role.Credentials.SecretAccessKey, SessionToken: *role.Credentials.SessionToken},
		"a user session": {AccessKeyID: *user.Credentials.AccessKeyId, SecretAccessKey: *user.Credentials.SecretAccessKey, SessionToken: *user.Credentials.SessionToken},
	} {
		if status, _, out := ksCall(t, s, "/v3/ec2tokens", tok, ec2(creds, "ec2")); status != http.StatusUnauthorized {
			t.Errorf("ec2tokens with %s: %d %v", what, status, out)
		}
	}
	// A signed IAM call replayed to ec2tokens does not authenticate.
	if status, _, out := ksCall(t, s, "/v3/ec2tokens", tok, ec2(aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, "iam")); status != http.StatusUnauthorized {
		t.Errorf("ec2tokens with a request for iam: %d %v", status, out)
	}
	if status, _, out := ksCall(t, s, "/v3/ec2tokens", tok, ec2(aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, "ec2")); status != http.StatusOK {
		t.Errorf("ec2tokens with alice's key: %d %v", status, out)
	}
	var logins, refusedLogins, ec2Answers int
	for _, rec := range auditLines(t, auditPath) {
		switch {
		case rec["door"] == "keystone" && rec["action"] == "Login" && rec["outcome"] == "allowed":
			logins++
		case rec["door"] == "keystone" && rec["action"] == "Login" && rec["outcome"] == "denied" && rec["target"] == *k.AccessKeyId:
			refusedLogins++
		case rec["door"] == "keystone" && rec["action"] == "EC2Tokens":
			ec2Answers++
			if rec["principal"] != "arn:aws:iam::123456789012:user/swift" {
				t.Errorf("an ec2tokens record without the store that asked: %v", rec)
			}
		}
	}
	if logins != 1 || refusedLogins != 1 || ec2Answers != 4 {
		t.Fatalf("audit: %d logins, %d refused logins, %d ec2tokens records; want 1, 1, 4", logins, refusedLogins, ec2Answers)
	}
	if b, _ := os.ReadFile(auditPath); strings.Contains(string(b), *k.SecretAccessKey) || strings.Contains(string(b), "wrong-secret") {
		t.Fatal("a password in the audit log")
	}
}

// TestKeystoneRefusesPlainHTTPOffLoopback: the login carries a secret.
func TestKeystoneRefusesPlainHTTPOffLoopback(t *testing.T) {
	c := Config{Addr: "127.0.0.1:8600", DataDir: "d", Region: "us-east-1", LogFormat: "text", Durability: "full", KeystoneAddr: "0.0.0.0:5000", KeystoneRoles: "member"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--keystone-addr") {
		t.Fatalf("plain HTTP on 0.0.0.0: %v", err)
	}
	c.InsecureHTTP = true
	if err := c.Validate(); err != nil {
		t.Fatalf("with --insecure-http: %v", err)
	}
}
