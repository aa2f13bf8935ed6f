package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"iamd/gateway"
	"iamd/proxy"
)

// echoUpstream records what reaches it: the headers, the body's first
// 64 KiB and its length.
type echoUpstream struct {
	mu      sync.Mutex
	headers http.Header
	body    []byte
	n       int64
	bodyErr error
	calls   atomic.Int64
}

func (u *echoUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	var head bytes.Buffer
	n, err := io.Copy(io.Discard, io.TeeReader(r.Body, &limitedWriter{&head, 64 << 10}))
	u.mu.Lock()
	u.headers, u.body, u.n, u.bodyErr = r.Header.Clone(), head.Bytes(), n, err
	u.mu.Unlock()
	w.Write([]byte("upstream saw " + r.Method + " " + r.URL.Path + " with " + strconv.FormatInt(n, 10) + " bytes"))
}

// limitedWriter keeps the first max bytes written to it.
type limitedWriter struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// proxySetup is an iamd with its gateway socket, an echoing upstream, and
// iamd proxy in front of it for API "api1", stage "prod", asking iamd with
// the key of a user allowed only iamd:DecideRequests.
func proxySetup(t testing.TB) (*testServer, *echoUpstream, string, *proxy.Proxy) {
	t.Helper()
	socket := gatewaySocket(t)
	s := start(t, func(c *Config) { c.GatewaySocket = socket })
	userWith(t, s, "front", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iamd:DecideRequests","Resource":"*"}}`)
	fk := mustKey(t, s.root(), "front")
	client, err := gateway.NewClient("unix://"+socket, nil, *fk.AccessKeyId, *fk.SecretAccessKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := client.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	up := &echoUpstream{}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	u, _ := url.Parse(upSrv.URL)
	pctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	p := proxy.New(pctx, proxy.Config{Upstream: u, APIID: "api1", Stage: "prod", Region: "us-east-1", IAMD: client, Account: v.AccountID})
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	return s, up, front.URL, p
}

// signedRequest signs a request for execute-api as botocore's SigV4Auth
// does; with hashHeader it also sends and signs X-Amz-Content-Sha256.
func signedRequest(t testing.TB, method, url, body, id, secret string, at time.Time, hashHeader bool) *http.Request {
	t.Helper()
	r, _ := http.NewRequest(method, url, strings.NewReader(body))
	sum := sha256.Sum256([]byte(body))
	h := hex.EncodeToString(sum[:])
	if hashHeader {
		r.Header.Set("X-Amz-Content-Sha256", h)
	}
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, r, h, "execute-api", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return r
}

func send(t testing.TB, r *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

func messageOf(body string) string {
	var m map[string]string
	json.Unmarshal([]byte(body), &m)
	return m["message"]
}

// TestProxyDecides: requests signed for execute-api are forwarded or
// refused by the caller's policies on API Gateway's ARNs, with the
// caller's identity (and only iamd's word for it) in the headers.
func TestProxyDecides(t *testing.T) {
	s, up, front, _ := proxySetup(t)
	userWith(t, s, "caller", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/*"},
		{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:api1/*/POST/orders"},
		{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/secret"}]}`)
	k := mustKey(t, s.root(), "caller")
	id, secret := *k.AccessKeyId, *k.SecretAccessKey
	now := time.Now()
	for _, tt := range []struct {
		method, path string
		status       int
		msg          string
	}{
		{"GET", "/pets/1", 200, ""},
		{"GET", "/pets/secret", 403, "with an explicit deny"},
		{"POST", "/orders", 200, ""},
		{"DELETE", "/pets/1", 403, "is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:123456789012:api1/prod/DELETE/pets/1"},
		{"GET", "/orders", 403, "is not authorized"},
	} {
		r := signedRequest(t, tt.method, front+tt.path, "", id, secret, now, false)
		r.Header.Set(proxy.HeaderUserARN, "arn:aws:iam::123456789012:user/admin") // spoofed
		r.Header.Set("X-Iamd-Identity-Extra", "spoofed")
		before := up.calls.Load()
		code, body := send(t, r)
		if code != tt.status || !strings.Contains(messageOf(body), tt.msg) {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, code, body)
		}
		if forwarded := up.calls.Load() > before; forwarded != (tt.status == 200) {
			t.Errorf("%s %s: forwarded %v", tt.method, tt.path, forwarded)
		}
		if tt.status != 200 {
			continue
		}
		up.mu.Lock()
		h := up.headers
		up.mu.Unlock()
		if h.Get(proxy.HeaderUserARN) != "arn:aws:iam::123456789012:user/caller" || h.Get(proxy.HeaderAccessKey) != id ||
			h.Get(proxy.HeaderAccount) != "123456789012" || !strings.HasPrefix(h.Get(proxy.HeaderUser), "AIDA") || h.Get("X-Iamd-Identity-Extra") != "" {
			t.Errorf("%s %s: identity headers %v", tt.method, tt.path, h)
		}
	}
	lu, err := s.root().GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
	if err != nil || *lu.AccessKeyLastUsed.ServiceName != "execute-api" {
		t.Fatalf("last used %+v %v", lu.AccessKeyLastUsed, err)
	}
}

// TestProxyRefusesForgeries: a tampered body, an expired signature, a
// signature replayed to another path, a deactivated key, no signature.
func TestProxyRefusesForgeries(t *testing.T) {
	s, up, front, _ := proxySetup(t)
	userWith(t, s, "caller", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`)
	k := mustKey(t, s.root(), "caller")
	id, secret := *k.AccessKeyId, *k.SecretAccessKey
	now := time.Now()
	cases := map[string]func() *http.Request{
		"tampered body": func() *http.Request {
			r := signedRequest(t, "POST", front+"/orders", `{"amount":1}`, id, secret, now, false)
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(`{"amount":9}`)), 12
			return r
		},
		"expired": func() *http.Request {
			return signedRequest(t, "GET", front+"/pets", "", id, secret, now.Add(-20*time.Minute), false)
		},
		"another path": func() *http.Request {
			r := signedRequest(t, "GET", front+"/pets", "", id, secret, now, false)
			r.URL.Path = "/admin"
			return r
		},
		"no signature": func() *http.Request { r, _ := http.NewRequest("GET", front+"/pets", nil); return r },
		"wrong secret": func() *http.Request { return signedRequest(t, "GET", front+"/pets", "", id, secret+"x", now, false) },
	}
	for name, mk := range cases {
		before := up.calls.Load()
		code, body := send(t, mk())
		if code != 403 || messageOf(body) == "" || up.calls.Load() != before {
			t.Errorf("%s: %d %s (upstream called: %v)", name, code, body, up.calls.Load() != before)
		}
	}
	// A body whose signed hash does not match is cut off before its end.
	r := signedRequest(t, "PUT", front+"/blob", "the signed body", id, secret, now, true)
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader("a forged body!!")), 15
	if code, _ := send(t, r); code == 200 {
		t.Fatal("a body not matching its signed hash was forwarded")
	}
	up.mu.Lock()
	if up.bodyErr == nil && string(up.body) == "a forged body!!" {
		t.Fatal("the upstream received the forged body whole")
	}
	up.mu.Unlock()
	if _, err := s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("caller"), AccessKeyId: k.AccessKeyId, Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, signedRequest(t, "GET", front+"/pets", "", id, secret, time.Now(), false)); code != 403 || !strings.Contains(body, "security token") {
		t.Fatalf("deactivated key: %d %s", code, body)
	}
}

// zeros is an endless reader of a repeated byte, to stream large bodies.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), z.n)
	for i := range p[:n] {
		p[i] = 'z'
	}
	z.n -= n
	return int(n), nil
}

// TestProxyStreams100MiB: a 100 MiB upload passes with flat memory, both
// when its hash is signed (streamed, checked as it goes) and when it is
// not (spooled to disk, checked, then sent).
func TestProxyStreams100MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MiB")
	}
	s, _, front, _ := proxySetup(t)
	userWith(t, s, "caller", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`)
	k := mustKey(t, s.root(), "caller")
	const size = 100 << 20
	h := sha256.New()
	io.Copy(h, &zeros{size})
	sum := hex.EncodeToString(h.Sum(nil))
	// The heap other tests of this process left is collected first, and
	// the growth over it is what counts.
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	base := m0.HeapInuse
	var peak atomic.Uint64
	peak.Store(base)
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	for _, signedHash := range []bool{true, false} {
		r, _ := http.NewRequest("PUT", front+"/upload", &zeros{size})
		r.ContentLength = size
		if signedHash {
			r.Header.Set("X-Amz-Content-Sha256", sum)
		}
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: *k.AccessKeyId, SecretAccessKey: *k.SecretAccessKey}, r, sum, "execute-api", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		if code, body := send(t, r); code != 200 || !strings.HasSuffix(body, " with 104857600 bytes") {
			t.Fatalf("100 MiB upload (hash signed: %v): %d %s", signedHash, code, body)
		}
	}
	close(stop)
	grew := peak.Load() - base
	t.Logf("two 100 MiB uploads through the front: heap in use %d MiB before, peak %d MiB (+%d MiB; client, front and upstream in this process)", base>>20, peak.Load()>>20, grew>>20)
	if grew > 48<<20 {
		t.Fatalf("the heap grew by %d MiB: the body was held in memory", grew>>20)
	}
}

// BenchmarkProxy measures a signed request through iamd proxy (asking iamd
// over its unix socket twice per request) against the same request sent
// to the upstream directly, with an empty body and with 1 MiB. Client,
// front, iamd and upstream share the process and its cores.
func BenchmarkProxy(b *testing.B) {
	s, _, front, _ := proxySetup(b)
	userWith(b, s, "caller", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`)
	k := mustKey(b, s.root(), "caller")
	upSrv := httptest.NewServer(&echoUpstream{})
	b.Cleanup(upSrv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	big := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name, base, body string
		hashHeader       bool
	}{
		{"direct/empty", upSrv.URL, "", false}, {"proxy/empty", front, "", false},
		{"direct/1MiB", upSrv.URL, big, false}, {"proxy/1MiB-spooled", front, big, false}, {"proxy/1MiB-streamed", front, big, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := signedRequest(b, "PUT", tc.base+"/items/1", tc.body, *k.AccessKeyId, *k.SecretAccessKey, time.Now(), tc.hashHeader)
					resp, err := client.Do(r)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}

// TestProxyDecidesOnTheCanonicalPath: SigV4 signs the path with dot
// segments removed and empty ones collapsed, so a signature for /admin is
// valid for /pets/../admin; a path not in that canonical form is refused,
// never decided on the form a policy matches and forwarded for an upstream
// to clean.
func TestProxyDecidesOnTheCanonicalPath(t *testing.T) {
	s, up, front, _ := proxySetup(t)
	userWith(t, s, "caller", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/*"}]}`)
	k := mustKey(t, s.root(), "caller")
	for _, p := range []string{"/pets/../admin", "/pets/./../admin", "/pets/%2e%2e/admin", "//pets/../../admin", "/pets//../admin"} {
		r := signedRequest(t, "GET", front+"/admin", "", *k.AccessKeyId, *k.SecretAccessKey, time.Now(), false)
		r.URL.Opaque = p // sent as written
		before := up.calls.Load()
		code, body := send(t, r)
		if code == 200 || up.calls.Load() != before {
			t.Errorf("%s: %d %s (forwarded: %v)", p, code, body, up.calls.Load() != before)
		}
	}
	if code, body := send(t, signedRequest(t, "GET", front+"/pets/1", "", *k.AccessKeyId, *k.SecretAccessKey, time.Now(), false)); code != 200 {
		t.Fatalf("canonical path: %d %s", code, body)
	}
}

// TestProxySessions: a role's temporary credentials pass the front as its
// policies allow; without their token, or once the role is deleted, they
// are refused.
func TestProxySessions(t *testing.T) {
	s, up, front, _ := proxySetup(t)
	mustUser(t, s, "alice")
	k := mustKey(t, s.root(), "alice")
	if _, err := s.root().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("caller"), AssumeRolePolicyDocument: aws.String(trustAlice)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("caller"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:api1/prod/GET/*"}}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := s.sts(*k.AccessKeyId, *k.SecretAccessKey).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/caller"), RoleSessionName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	sign := func(method string, token string) *http.Request {
		r, _ := http.NewRequest(method, front+"/pets", nil)
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: token},
			r, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if code, body := send(t, sign("GET", *c.SessionToken)); code != 200 {
		t.Fatalf("GET with the role's session: %d %s", code, body)
	}
	up.mu.Lock()
	arn := up.headers.Get(proxy.HeaderUserARN)
	up.mu.Unlock()
	if arn != "arn:aws:sts::123456789012:assumed-role/caller/web" {
		t.Errorf("identity header %q", arn)
	}
	if code, body := send(t, sign("POST", *c.SessionToken)); code != 403 || !strings.Contains(messageOf(body), "assumed-role/caller/web is not authorized") {
		t.Errorf("POST beyond the role's policy: %d %s", code, body)
	}
	if code, _ := send(t, sign("GET", "")); code != 403 {
		t.Errorf("temporary key without its token: %d", code)
	}
	s.root().DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("caller"), PolicyName: aws.String("p")})
	if _, err := s.root().DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("caller")}); err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, sign("GET", *c.SessionToken)); code != 403 || !strings.Contains(messageOf(body), "security token") {
		t.Errorf("session of a deleted role: %d %s", code, body)
	}
}
