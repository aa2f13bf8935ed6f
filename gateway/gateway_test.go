package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"iamd"
	"iamd/gateway"
	"iamd/replica"
	"iamd/sigv4"
	"iamd/sqlite"
)

const (
	rootID     = "AKIAGATEWAYROOT00001"
	rootSecret = "gatewayrootsecretgatewayrootsecret000001"
)

var ctx = context.Background()

func newService(t *testing.T) *iamd.Service { return newServiceB(t) }

func newServiceB(t testing.TB) *iamd.Service { return newServiceOn(t, viewStore) }

// How a test's Service reads what decisions need.
type view int

const (
	viewStore         view = iota // the store, through a cache of 10 s
	viewStoreUncached             // the store on every request
	viewReplica                   // a replica (package replica)
)

func newServiceOn(t testing.TB, v view) *iamd.Service {
	t.Helper()
	// A replica follows the change log, which SQLite keeps for one.
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "iamd.db"), sqlite.Options{ChangeLog: v == viewReplica})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	cfg := iamd.Config{Store: st, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}}
	var rep *replica.Replica
	switch v {
	case viewStoreUncached:
		// A clock that moves on a microsecond a reading: every cached
		// credential and policy set has expired when read.
		var tick atomic.Int64
		start := time.Now()
		cfg.CredentialTTL, cfg.Now = time.Nanosecond, func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Microsecond) }
	case viewReplica:
		if rep, err = replica.Open(ctx, replica.Config{Log: st}); err != nil {
			t.Fatal(err)
		}
		st.OnCommit(rep.Committed)
		cfg.Replica = rep
	}
	svc, err := iamd.NewService(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		if rep != nil {
			rep.Close()
		}
		st.Close()
	})
	if err := svc.EnsureRootKey(ctx, rootID, rootSecret); err != nil {
		t.Fatal(err)
	}
	return svc
}

var root = &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}

// call signs a protocol call as versitygw does and serves it.
func call(t *testing.T, h http.Handler, path, body string, edit ...func(*http.Request)) (int, map[string]any, http.Header) {
	t.Helper()
	return callAs(t, h, rootID, rootSecret, path, body, edit...)
}

func callAs(t *testing.T, h http.Handler, id, secret, path, body string, edit ...func(*http.Request)) (int, map[string]any, http.Header) {
	t.Helper()
	r := httptest.NewRequest("POST", "http://unix"+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(gateway.ProtocolHeader, "1")
	sum := sha256.Sum256([]byte(body))
	r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	for _, e := range edit {
		e(r)
	}
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out)
	if w.Header().Get(gateway.ProtocolHeader) != "1" {
		t.Fatalf("%s: no protocol header on a %d answer", path, w.Code)
	}
	return w.Code, out, w.Header()
}

func TestVersionAndProtocolHeader(t *testing.T) {
	svc := newService(t)
	h := gateway.New(gateway.Config{Service: svc})
	code, out, _ := call(t, h, "/private/version", `{}`, func(r *http.Request) { r.Header.Del(gateway.ProtocolHeader) })
	if code != 200 || out["protocol"] != 1.0 || out["minClient"] != 1.0 || out["accountId"] != "123456789012" {
		t.Fatalf("version: %d %v", code, out)
	}
	for _, tt := range []struct{ header, want string }{
		{"", "no X-Vgw-Private-Protocol header"}, {"0", "malformed"}, {"x1", "malformed"}, {"12345", "malformed"}, {"-1", "malformed"},
	} {
		code, out, _ := call(t, h, "/private/derive-signing-key", `{}`, func(r *http.Request) { r.Header.Set(gateway.ProtocolHeader, tt.header) })
		if code != 400 || out["code"] != "ProtocolMismatch" || !strings.Contains(out["error"].(string), tt.want) {
			t.Errorf("header %q: %d %v", tt.header, code, out)
		}
	}
	if code, _, _ := call(t, h, "/private/derive-signing-key", `{}`, func(r *http.Request) { r.Header.Set(gateway.ProtocolHeader, "7") }); code != 403 {
		t.Errorf("a newer gateway: %d, want the call served (403 NoSuchIdentity for {})", code)
	}
}

func TestAuthenticationOfTheGateway(t *testing.T) {
	svc := newService(t)
	h := gateway.New(gateway.Config{Service: svc})
	if _, err := svc.CreateUser(ctx, root, "gw", "/", nil); err != nil {
		t.Fatal(err)
	}
	k, secret, err := svc.CreateAccessKey(ctx, root, "gw")
	if err != nil {
		t.Fatal(err)
	}
	// Unsigned, wrong secret, a user key without the permission: refused.
	r := httptest.NewRequest("POST", "http://unix/private/version", strings.NewReader(`{}`))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "MissingAuthenticationToken") {
		t.Fatalf("unsigned: %d %s", w.Code, w.Body.String())
	}
	if code, out, _ := callAs(t, h, rootID, rootSecret+"x", "/private/version", `{}`); code != 403 || !strings.HasPrefix(out["error"].(string), "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret: %d %v", code, out)
	}
	// A body other than the one whose hash was signed.
	other := sha256.Sum256([]byte(`{"accessKeyIds":[]}`))
	if code, out, _ := call(t, h, "/private/resolve-identity", `{"accessKeyIds":["AKIAX"]}`, func(r *http.Request) {
		r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(other[:]))
	}); code != 403 || !strings.HasPrefix(out["error"].(string), "SignatureDoesNotMatch") {
		t.Fatalf("swapped body: %d %v", code, out)
	}
	if code, out, _ := callAs(t, h, k.ID, secret, "/private/version", `{}`); code != 403 || !strings.Contains(out["error"].(string), "iamd:DecideRequests") {
		t.Fatalf("user without the permission: %d %v", code, out)
	}
	// With iamd:DecideRequests the user's key may speak for a gateway.
	if err := svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "gw"}, "p",
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iamd:DecideRequests","Resource":"*"}}`); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := callAs(t, h, k.ID, secret, "/private/version", `{}`); code != 200 {
		t.Fatalf("user with the permission: %d %v", code, out)
	}
}

func TestDeriveAndEvaluate(t *testing.T) {
	svc := newService(t)
	h := gateway.New(gateway.Config{Service: svc})
	if _, _, err := svc.CreateBucket(ctx, root, "photos", "small_1_0", nil, false); err != nil {
		t.Fatal(err)
	}
	bk, bsecret, _, err := svc.CreateBucketAccessKey(ctx, root, "photos")
	if err != nil {
		t.Fatal(err)
	}
	svc.CreateUser(ctx, root, "bob", "/team/", nil)
	uk, _, _ := svc.CreateAccessKey(ctx, root, "bob")
	svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "bob"}, "p", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"StringLike":{"s3:prefix":"${aws:username}/*"}}},
		{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/secret/*"}]}`)

	today := time.Now().UTC().Format("20060102")
	code, out, _ := call(t, h, "/private/derive-signing-key", `{"accessKeyId":"`+bk.ID+`","date":"`+today+`","region":"us-east-1","service":"s3"}`)
	want := sigv4.SigningKey([]byte(bsecret), today, "us-east-1", "s3")
	if code != 200 || out["derivedKey"] != base64.StdEncoding.EncodeToString(want) || !strings.HasPrefix(out["principalArn"].(string), "arn:aws:lightsail:") {
		t.Fatalf("derive: %d %v", code, out)
	}
	if strings.Contains(strings.Join([]string{out["derivedKey"].(string)}, ""), bsecret) {
		t.Fatal("the secret in a derive answer")
	}
	for _, tt := range []struct {
		body, code string
		status     int
	}{
		{`{"accessKeyId":"AKIANOSUCHKEY0000000","date":"` + today + `","region":"us-east-1","service":"s3"}`, "NoSuchIdentity", 403},
		{`{"accessKeyId":"` + bk.ID + `","sessionToken":"tok","date":"` + today + `","region":"us-east-1","service":"s3"}`, "InvalidToken", 403},
		{`{}`, "NoSuchIdentity", 403},
		{`{"accessKeyId":`, "BadRequest", 400},
	} {
		if code, out, _ := call(t, h, "/private/derive-signing-key", tt.body); code != tt.status || out["code"] != tt.code {
			t.Errorf("derive %s: %d %v", tt.body, code, out)
		}
	}

	evaluate := func(id string, actions, resources []string, cond map[string][]string) [][]string {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"accessKeyId": id, "actions": actions, "resources": resources, "condition": cond, "region": "us-east-1", "service": "s3"})
		code, out, _ := call(t, h, "/private/evaluate-policy", string(b))
		if code != 200 {
			t.Fatalf("evaluate: %d %v", code, out)
		}
		var m [][]string
		raw, _ := json.Marshal(out["decisions"])
		json.Unmarshal(raw, &m)
		return m
	}
	got := evaluate(bk.ID, []string{"s3:GetObject", "s3:PutObject", "s3:CreateBucket"}, []string{"arn:aws:s3:::photos/a", "arn:aws:s3:::other/a", "arn:aws:s3:::photosx/a"}, nil)
	if want := [][]string{{"allow", "allow", "no_match"}, {"no_match", "no_match", "no_match"}, {"no_match", "no_match", "no_match"}}; !equal(got, want) {
		t.Fatalf("bucket key decisions %v, want %v", got, want)
	}
	got = evaluate(uk.ID, []string{"s3:GetObject"}, []string{"arn:aws:s3:::photos/a", "arn:aws:s3:::photos/secret/x"}, nil)
	if want := [][]string{{"allow"}, {"deny"}}; !equal(got, want) {
		t.Fatalf("user decisions %v, want %v", got, want)
	}
	// s3:prefix from the gateway is used; aws:username sent by it is not.
	list := []string{"arn:aws:s3:::photos"}
	if got := evaluate(uk.ID, []string{"s3:ListBucket"}, list, map[string][]string{"s3:prefix": {"bob/x"}}); got[0][0] != "allow" {
		t.Fatalf("own prefix: %v", got)
	}
	if got := evaluate(uk.ID, []string{"s3:ListBucket"}, list, map[string][]string{"s3:prefix": {"eve/x"}, "aws:username": {"eve"}, "aws:PrincipalTag/x": {"y"}}); got[0][0] != "no_match" {
		t.Fatalf("spoofed aws:username: %v", got)
	}
	// The use is recorded for s3.
	_, lu, err := svc.GetAccessKeyLastUsed(ctx, root, uk.ID)
	if err != nil || lu.Service != "s3" || lu.Region != "us-east-1" {
		t.Fatalf("last used %+v %v", lu, err)
	}
}

func TestResolve(t *testing.T) {
	svc := newService(t)
	h := gateway.New(gateway.Config{Service: svc})
	svc.CreateUser(ctx, root, "alice", "/team/", nil)
	uk, _, _ := svc.CreateAccessKey(ctx, root, "alice")
	code, out, _ := call(t, h, "/private/resolve-identity", `{"accessKeyIds":["`+uk.ID+`","AKIANOSUCHKEY0000000"]}`)
	ids, _ := json.Marshal(out["identities"])
	if code != 200 || string(ids) != `[{"found":true,"kind":"user","principalArn":"arn:aws:iam::123456789012:user/team/alice"},{"found":false}]` {
		t.Fatalf("resolve-identity: %d %s", code, ids)
	}
	code, out, _ = call(t, h, "/private/resolve-principals", `{"principals":["123456789012","arn:aws:iam::123456789012:root",
		"arn:aws:iam::123456789012:user/team/alice","arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:user/team/ALICE",
		"arn:aws:iam::123456789012:user/*","arn:aws:iam::999999999999:root","AKIANOSUCHKEY0000000"]}`)
	inv, _ := json.Marshal(out["invalid"])
	if code != 200 || string(inv) != `["arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:user/team/ALICE","arn:aws:iam::123456789012:user/*","arn:aws:iam::999999999999:root","AKIANOSUCHKEY0000000"]` {
		t.Fatalf("resolve-principals: %d %s", code, inv)
	}
	if code, out, _ := call(t, h, "/private/nope", `{}`); code != 404 {
		t.Fatalf("unknown path: %d %v", code, out)
	}
}

func ioNop(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

func equal(a, b [][]string) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
