package sigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"iamd/sigv4"
)

const benchBody = "Action=GetCallerIdentity&Version=2011-06-15"

// benchRequest is a GetCallerIdentity as aws-sdk-go-v2 sends it.
func benchRequest(b *testing.B) (*http.Request, time.Time) {
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	r, _ := http.NewRequest("POST", "http://127.0.0.1:8600/", strings.NewReader(benchBody))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Amz-Sdk-Invocation-Id", "e35bd898-fae3-4594-b4b3-78c2f8816b19")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=1")
	r.ContentLength = int64(len(benchBody))
	r.RequestURI = "/"
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"},
		r, sha256Hex(benchBody), "sts", "us-east-1", at); err != nil {
		b.Fatal(err)
	}
	return r, at
}

// BenchmarkSDKSign is the reference: aws-sdk-go-v2 signing the same request.
func BenchmarkSDKSign(b *testing.B) {
	r, at := benchRequest(b)
	s := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"}
	ph := sha256Hex(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		r.Header.Del("Authorization")
		if err := s.SignHTTP(context.Background(), creds, r, ph, "sts", "us-east-1", at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyHeader verifies with the signing key cached, as iamd does
// for a key it has seen with the same scope.
func BenchmarkVerifyHeader(b *testing.B) {
	r, at := benchRequest(b)
	v := &sigv4.Verifier{Now: func() time.Time { return at }}
	key := sigv4.SigningKey([]byte("secret"), "20261124", "us-east-1", "sts")
	kf := func(*sigv4.Auth) ([]byte, error) { return key, nil }
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body, "sts", kf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyHeaderCold derives the signing key on every request.
func BenchmarkVerifyHeaderCold(b *testing.B) {
	r, at := benchRequest(b)
	v := &sigv4.Verifier{Now: func() time.Time { return at }}
	kf := func(a *sigv4.Auth) ([]byte, error) {
		return sigv4.SigningKey([]byte("secret"), a.Date, a.Region, a.Service), nil
	}
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body, "sts", kf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPresigned verifies a presigned GetCallerIdentity URL.
func BenchmarkVerifyPresigned(b *testing.B) {
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	r, _ := http.NewRequest("GET", "http://127.0.0.1:8600/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret"},
		r, sigv4.EmptySHA256, "sts", "us-east-1", at)
	if err != nil {
		b.Fatal(err)
	}
	r, _ = http.NewRequest("GET", u, nil)
	r.RequestURI = r.URL.RequestURI()
	v := &sigv4.Verifier{Now: func() time.Time { return at }}
	key := sigv4.SigningKey([]byte("secret"), "20261124", "us-east-1", "sts")
	kf := func(*sigv4.Auth) ([]byte, error) { return key, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, nil, "sts", kf); err != nil {
			b.Fatal(err)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
