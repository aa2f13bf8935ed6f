package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lightsail"

	"iamd/sigv4"
)

// keystoneSetup is an iamd serving Keystone's API, with a service user
// "swift" allowed only iamd:DecideRequests; it returns that user's key.
func keystoneSetup(t *testing.T) (*testServer, string, string) {
	t.Helper()
	s := start(t, func(c *Config) { c.KeystoneAddr = "127.0.0.1:0"; c.KeystoneRoles = "member,reader" })
	userWith(t, s, "swift", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iamd:DecideRequests","Resource":"*"}}`)
	k := mustKey(t, s.root(), "swift")
	return s, *k.AccessKeyId, *k.SecretAccessKey
}

// ksCall posts body to the Keystone API and returns status, headers and
// the decoded body.
func ksCall(t *testing.T, s *testServer, path, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.KeystoneAddr()+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: not JSON: %q", path, raw)
	}
	return resp.StatusCode, resp.Header, out
}

func loginBody(id, secret string) string {
	return fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"domain":{"name":"Default"},"password":%q}}},"scope":{"project":{"name":"service","domain":{"name":"Default"}}}}}`, id, secret)
}

// ksLogin logs in as key id and returns the service token.
func ksLogin(t *testing.T, s *testServer, id, secret string) string {
	t.Helper()
	status, h, _ := ksCall(t, s, "/v3/auth/tokens", "", loginBody(id, secret))
	if status != http.StatusCreated || h.Get("X-Subject-Token") == "" {
		t.Fatalf("login: %d", status)
	}
	return h.Get("X-Subject-Token")
}

// stringToSign is an S3 request's SigV4 string to sign at time at, and its
// signature under secret, as the client computed them.
func stringToSign(secret string, at time.Time, region, service string) (string, string) {
	canonical := sha256.Sum256([]byte("GET\n/photos\n\nhost:127.0.0.1\n\nhost\nUNSIGNED-PAYLOAD"))
	scope := at.Format("20060102") + "/" + region + "/" + service + "/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + at.UTC().Format("20060102T150405Z") + "\n" + scope + "\n" + hex.EncodeToString(canonical[:])
	m := hmac.New(sha256.New, sigv4.SigningKey([]byte(secret), at.Format("20060102"), region, service))
	m.Write([]byte(sts))
	return sts, hex.EncodeToString(m.Sum(nil))
}

func s3tokenBody(access, sts, sig string, std bool) string {
	enc := base64.URLEncoding
	if std {
		enc = base64.StdEncoding
	}
	return fmt.Sprintf(`{"credentials":{"access":%q,"token":%q,"signature":%q}}`, access, enc.EncodeToString([]byte(sts)), sig)
}

// TestKeystoneWire drives Keystone's API as Swift's s3token and Ceph RGW
// do, with each way a request must be refused.
func TestKeystoneWire(t *testing.T) {
	s, svcID, svcSecret := keystoneSetup(t)
	mustUser(t, s, "alice")
	alice := mustKey(t, s.root(), "alice")
	ls := lightsail.NewFromConfig(s.awsConfig(rootID, rootSecret))
	if _, err := ls.CreateBucket(ctx, &lightsail.CreateBucketInput{BucketName: aws.String("photos"), BundleId: aws.String("small_1_0")}); err != nil {
		t.Fatal(err)
	}
	bkID, bkSecret := bucketKey(t, ls, "photos")
	bucket, err := ls.GetBuckets(ctx, &lightsail.GetBucketsInput{BucketName: aws.String("photos")})
	if err != nil {
		t.Fatal(err)
	}
	arn := *bucket.Buckets[0].Arn
	bucketProject := strings.ReplaceAll(arn[strings.LastIndex(arn, "/")+1:], "-", "")

	var seen bytes.Buffer // every answer, searched for secrets at the end
	call := func(path, token, body string) (int, map[string]any) {
		status, h, out := ksCall(t, s, path, token, body)
		b, _ := json.Marshal(out)
		fmt.Fprintf(&seen, "%v %s\n", h, b)
		return status, out
	}

	// Login: the token is issued to a key allowed iamd:DecideRequests only.
	status, lh, login := ksCall(t, s, "/v3/auth/tokens", "", loginBody(svcID, svcSecret))
	tok := lh.Get("X-Subject-Token")
	if status != 201 || tok == "" || login["token"].(map[string]any)["expires_at"] == nil {
		t.Fatalf("login: %d %v", status, login)
	}
	if status, _ := call("/v3/auth/tokens", "", loginBody(svcID, svcSecret+"x")); status != 401 {
		t.Errorf("wrong password: %d, want 401", status)
	}
	if status, _ := call("/v3/auth/tokens", "", loginBody(*alice.AccessKeyId, *alice.SecretAccessKey)); status != 403 {
		t.Errorf("key without iamd:DecideRequests: %d, want 403", status)
	}

	now := time.Now().UTC()
	sts, sig := stringToSign(bkSecret, now, "us-east-1", "s3")
	for _, c := range []struct {
		name, token, body string
		status            int
	}{
		{"no service token", "", s3tokenBody(bkID, sts, sig, false), 401},
		{"forged service token", tok[:len(tok)-4] + "AAAA", s3tokenBody(bkID, sts, sig, false), 401},
		{"the client's signature as a token", sig, s3tokenBody(bkID, sts, sig, false), 401},
		{"tampered signature", tok, s3tokenBody(bkID, sts, strings.Repeat("0", 64), false), 401},
		{"another key's signature", tok, s3tokenBody(*alice.AccessKeyId, sts, sig, false), 401},
		{"unknown key", tok, s3tokenBody("AKIAUNKNOWNUNKNOWN00", sts, sig, false), 401},
		{"not JSON", tok, `{"credentials":`, 400},
		{"signature version 2", tok, s3tokenBody(bkID, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/photos/", sig, false), 401},
	} {
		if status, out := call("/v3/s3tokens", c.token, c.body); status != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, status, out, c.status)
		}
	}
	for _, c := range []struct {
		name    string
		at      time.Time
		service string
	}{
		{"8 days old", now.Add(-8 * 24 * time.Hour), "s3"},
		{"an hour ahead", now.Add(time.Hour), "s3"},
		{"scoped to iam", now, "iam"},
	} {
		sts, sig := stringToSign(bkSecret, c.at, "us-east-1", c.service)
		if status, _ := call("/v3/s3tokens", tok, s3tokenBody(bkID, sts, sig, false)); status != 401 {
			t.Errorf("%s: %d, want 401", c.name, status)
		}
	}

	// A bucket key: the bucket's own project; Swift's URL-safe and RGW's
	// standard base64 alike; a presigned URL's 6-day-old time too.
	old, oldSig := stringToSign(bkSecret, now.Add(-6*24*time.Hour), "us-east-1", "s3")
	for _, body := range []string{s3tokenBody(bkID, sts, sig, false), s3tokenBody(bkID, sts, sig, true), s3tokenBody(bkID, old, oldSig, false)} {
		status, out := call("/v3/s3tokens", tok, body)
		if status != 200 {
			t.Fatalf("bucket key: %d %v", status, out)
		}
		tk := out["token"].(map[string]any)
		proj := tk["project"].(map[string]any)
		if proj["id"] != bucketProject || proj["name"] != "photos" || tk["user"].(map[string]any)["name"] != "bucket/photos" {
			t.Errorf("bucket key mapped to %v", tk)
		}
		exp, err := time.Parse(time.RFC3339, tk["expires_at"].(string))
		if err != nil || exp.After(time.Now().Add(11*time.Second)) {
			t.Errorf("expires_at %v: want at most 10 s ahead", tk["expires_at"])
		}
		var roles []string
		for _, r := range tk["roles"].([]any) {
			roles = append(roles, r.(map[string]any)["name"].(string))
		}
		if strings.Join(roles, ",") != "member,reader" {
			t.Errorf("roles %v", roles)
		}
	}
	// An IAM user: the account's project, its own user ID.
	asts, asig := stringToSign(*alice.SecretAccessKey, now, "us-east-1", "s3")
	status, out := call("/v3/s3tokens", tok, s3tokenBody(*alice.AccessKeyId, asts, asig, false))
	if status != 200 || out["token"].(map[string]any)["project"].(map[string]any)["id"] != account ||
		out["token"].(map[string]any)["user"].(map[string]any)["name"] != "alice" {
		t.Errorf("IAM user: %d %v", status, out)
	}

	// ec2tokens: a whole request as keystoneclient's Ec2Signer describes it.
	req, _ := http.NewRequest("GET", "http://127.0.0.1:8773/?Action=DescribeInstances&Version=2016-11-15", nil)
	signer := v4.NewSigner()
	bodyHash := hex.EncodeToString(sha256.New().Sum(nil))
	if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: bkID, SecretAccessKey: bkSecret}, req, bodyHash, "ec2", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	ec2 := func(sig string) string {
		b, _ := json.Marshal(map[string]any{"credentials": map[string]any{
			"access": bkID, "signature": sig, "host": "127.0.0.1:8773", "verb": "GET", "path": "/",
			"params":    map[string]string{"Action": "DescribeInstances", "Version": "2016-11-15"},
			"headers":   map[string]string{"Host": "127.0.0.1:8773", "X-Amz-Date": req.Header.Get("X-Amz-Date"), "Authorization": auth},
			"body_hash": bodyHash,
		}})
		return string(b)
	}
	goodSig := auth[strings.LastIndex(auth, "=")+1:]
	if status, out := call("/v3/ec2tokens", tok, ec2(goodSig)); status != 200 {
		t.Errorf("ec2tokens: %d %v", status, out)
	}
	if status, _ := call("/v3/ec2tokens", tok, ec2(strings.Repeat("1", 64))); status != 401 {
		t.Errorf("ec2tokens with a wrong signature: %d, want 401", status)
	}

	// No API hands out a secret or accepts the token elsewhere.
	for _, path := range []string{"/v3/users/x/credentials/OS-EC2/" + bkID, "/v3/credentials"} {
		r, _ := http.NewRequest("GET", "http://"+s.KeystoneAddr()+path, nil)
		r.Header.Set("X-Auth-Token", tok)
		resp, err := s.HTTP.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}

	// Revocation: the key's deactivation is felt by the next s3tokens; the
	// service's token dies with its key's policy and with the key.
	if _, err := ls.DeleteBucketAccessKey(ctx, &lightsail.DeleteBucketAccessKeyInput{BucketName: aws.String("photos"), AccessKeyId: aws.String(bkID)}); err != nil {
		t.Fatal(err)
	}
	if status, _ := call("/v3/s3tokens", tok, s3tokenBody(bkID, sts, sig, false)); status != 401 {
		t.Errorf("deleted bucket key: %d, want 401", status)
	}
	if _, err := s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: alice.AccessKeyId, Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	if status, _ := call("/v3/s3tokens", tok, s3tokenBody(*alice.AccessKeyId, asts, asig, false)); status != 401 {
		t.Errorf("inactive user key: %d, want 401", status)
	}
	if _, err := s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: alice.AccessKeyId, Status: "Active"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("swift"), PolicyName: aws.String("p")}); err != nil {
		t.Fatal(err)
	}
	if status, _ := call("/v3/s3tokens", tok, s3tokenBody(*alice.AccessKeyId, asts, asig, false)); status != 403 {
		t.Errorf("service without iamd:DecideRequests: %d, want 403", status)
	}
	if _, err := s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("swift"), AccessKeyId: aws.String(svcID)}); err != nil {
		t.Fatal(err)
	}
	if status, _ := call("/v3/s3tokens", tok, s3tokenBody(*alice.AccessKeyId, asts, asig, false)); status != 401 {
		t.Errorf("token of a deleted key: %d, want 401", status)
	}

	for _, secret := range []string{svcSecret, bkSecret, *alice.SecretAccessKey} {
		if strings.Contains(seen.String(), secret) || strings.Contains(s.Logs.String(), secret) {
			t.Error("a secret reached an answer or the log")
		}
	}
}
