package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"iamd/gateway"
	"iamd/iamdauth"
)

// iamdRecorder keeps every byte iamd answers the middleware.
type iamdRecorder struct {
	rt    http.RoundTripper
	mu    sync.Mutex
	got   bytes.Buffer
	calls atomic.Int64 // calls other than the watch
}

func (r *iamdRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != gateway.WatchPath {
		r.calls.Add(1)
	}
	resp, err := r.rt.RoundTrip(req)
	if err == nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(resp.Body, r), resp.Body}
	}
	return resp, err
}

func (r *iamdRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got.Write(p)
}

// TestIamdauthMiddleware: a Go service built on package iamdauth accepts an
// iamd key, verifies its requests locally once it has the scope's signing
// key, refuses the key within 1 s of DeleteAccessKey, and never receives
// a secret.
func TestIamdauthMiddleware(t *testing.T) {
	socket := gatewaySocket(t)
	s := start(t, func(c *Config) { c.GatewaySocket = socket })
	userWith(t, s, "svc", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iamd:DecideRequests","Resource":"*"}}`)
	sk := mustKey(t, s.root(), "svc")
	userWith(t, s, "caller", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:svc/*"}}`)
	ck := mustKey(t, s.root(), "caller")
	rec := &iamdRecorder{rt: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	client := gateway.NewClientWith("http://unix", rec, *sk.AccessKeyId, *sk.SecretAccessKey)
	wctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	auth := iamdauth.New(wctx, iamdauth.Config{IAMD: client, Service: "execute-api", Region: "us-east-1",
		Decide: func(r *http.Request) (string, string) {
			return "execute-api:Invoke", "arn:aws:execute-api:us-east-1:123456789012:svc/" + r.Method + r.URL.Path
		}})
	svc := httptest.NewServer(auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := iamdauth.CallerFrom(r.Context())
		w.Write([]byte(c.ARN))
	})))
	t.Cleanup(svc.Close)
	for deadline := time.Now().Add(5 * time.Second); !auth.Live(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the change stream never came up")
		}
	}
	call := func(path string) (int, string) {
		return send(t, signedRequest(t, "GET", svc.URL+path, "", *ck.AccessKeyId, *ck.SecretAccessKey, time.Now(), false))
	}
	if code, body := call("/items"); code != 200 || body != "arn:aws:iam::123456789012:user/caller" {
		t.Fatalf("allowed: %d %s", code, body)
	}
	before := rec.calls.Load()
	if code, _ := call("/items"); code != 200 {
		t.Fatal("second request")
	}
	if n := rec.calls.Load() - before; n != 0 {
		t.Fatalf("the second request made %d calls to iamd, want 0: the signing key and the decision are kept", n)
	}
	if code, body := send(t, signedRequest(t, "GET", svc.URL+"/items", "", *ck.AccessKeyId, *ck.SecretAccessKey+"x", time.Now(), false)); code != 403 {
		t.Fatalf("wrong secret: %d %s", code, body)
	}
	if _, err := s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("caller"), AccessKeyId: ck.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	served := 0
	for {
		code, _ := call("/items")
		if code == 403 {
			break
		}
		served++
		if time.Since(deleted) > time.Second {
			t.Fatalf("still accepted %v after DeleteAccessKey", time.Since(deleted))
		}
	}
	t.Logf("iamdauth: a deleted key refused %v after DeleteAccessKey (%d requests served in between)", time.Since(deleted).Round(time.Microsecond), served)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, secret := range []string{*ck.SecretAccessKey, *sk.SecretAccessKey, rootSecret} {
		if strings.Contains(rec.got.String(), secret) {
			t.Fatal("iamd sent the middleware a secret")
		}
	}
	if rec.got.Len() == 0 {
		t.Fatal("recorded nothing")
	}
}

// BenchmarkIamdauth is a signed request through the middleware once the
// signing key and the decision are kept: verification alone, no call to iamd.
func BenchmarkIamdauth(b *testing.B) {
	socket := gatewaySocket(b)
	s := start(b, func(c *Config) { c.GatewaySocket = socket })
	userWith(b, s, "caller", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`)
	ck := mustKey(b, s.root(), "caller")
	client, err := gateway.NewClient("unix://"+socket, nil, rootID, rootSecret)
	if err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	b.Cleanup(cancel)
	auth := iamdauth.New(wctx, iamdauth.Config{IAMD: client, Service: "execute-api", Region: "us-east-1",
		Decide: func(r *http.Request) (string, string) {
			return "execute-api:Invoke", "arn:aws:execute-api:us-east-1:123456789012:svc/GET/x"
		}})
	for !auth.Live() {
		time.Sleep(time.Millisecond)
	}
	h := auth.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := signedRequest(b, "GET", "http://svc.example/x", "", *ck.AccessKeyId, *ck.SecretAccessKey, time.Now(), false)
	r.RemoteAddr = "127.0.0.1:1"
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// TestGatewayCloseEndsWatch: closing iamd ends a watch stream at once
// rather than waiting for it.
func TestGatewayCloseEndsWatch(t *testing.T) {
	socket := gatewaySocket(t)
	s := start(t, func(c *Config) { c.GatewaySocket = socket })
	client, err := gateway.NewClient("unix://"+socket, nil, rootID, rootSecret)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	ended := make(chan error, 1)
	go func() { ended <- client.Watch(ctx, func() { close(ready) }, func(gateway.Change) {}) }()
	<-ready
	t0 := time.Now()
	s.Close()
	select {
	case <-ended:
		if d := time.Since(t0); d > 3*time.Second {
			t.Fatalf("Close took %v with a watcher", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end when iamd closed")
	}
}
