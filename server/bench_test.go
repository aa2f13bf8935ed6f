package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"iamd"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmark
// measures the handler and not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// benchHandler serves one signed request repeatedly, as a Go server would
// hand it over: a fresh body reader each time.
func benchHandler(b *testing.B, service, body string, setup func(*iamd.Service)) {
	at := time.Now()
	h, svc := newServer(b, func() time.Time { return at })
	if setup != nil {
		setup(svc)
	}
	r := httptest.NewRequest("POST", "http://127.0.0.1:8600/", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.ContentLength = int64(len(body))
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), service, "us-east-1", at); err != nil {
		b.Fatal(err)
	}
	w := &discard{h: http.Header{}}
	rd := bytes.NewReader([]byte(body))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset([]byte(body))
		r.Body = io.NopCloser(rd)
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	// One last time with a recorder: the answer must be a success.
	rec := httptest.NewRecorder()
	rd.Reset([]byte(body))
	r.Body = io.NopCloser(rd)
	h.ServeHTTP(rec, r)
	if rec.Code != 200 {
		b.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}

func BenchmarkHandlerGetCallerIdentity(b *testing.B) {
	benchHandler(b, "sts", "Action=GetCallerIdentity&Version=2011-06-15", nil)
}

func BenchmarkHandlerListAccessKeys(b *testing.B) {
	benchHandler(b, "iam", "Action=ListAccessKeys&UserName=bob&Version=2010-05-08", func(svc *iamd.Service) {
		root := &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}
		svc.CreateUser(context.Background(), root, "bob", "/", nil)
		svc.CreateAccessKey(context.Background(), root, "bob")
	})
}
