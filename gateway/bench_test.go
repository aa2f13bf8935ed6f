package gateway_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"iamd"
	"iamd/gateway"
)

// BenchmarkDecision is one evaluate-policy call as versitygw makes it for
// an IAM user's GetObject, signature check included, without the network,
// with the decision's reads made three ways in one run: from the store
// through the 10 s cache (before the replica), from the store on every
// call (what each of that cache's misses costs, on SQLite), and from the
// replica (now).
func BenchmarkDecision(b *testing.B) {
	b.Run("store-cached", func(b *testing.B) { benchEvaluate(b, viewStore) })
	b.Run("store-uncached", func(b *testing.B) { benchEvaluate(b, viewStoreUncached) })
	b.Run("replica", func(b *testing.B) { benchEvaluate(b, viewReplica) })
}

func benchEvaluate(b *testing.B, v view) {
	svc := newServiceOn(b, v)
	h := gateway.New(gateway.Config{Service: svc})
	svc.CreateUser(ctx, root, "bob", "/", nil)
	uk, _, _ := svc.CreateAccessKey(ctx, root, "bob")
	svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "bob"}, "p",
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::photos/*"}}`)
	body := `{"accessKeyId":"` + uk.ID + `","actions":["s3:GetObject"],"resources":["arn:aws:s3:::photos/a.txt"],"condition":{"aws:CurrentTime":["2026-12-01T00:00:00Z"],"aws:EpochTime":["1796000000"],"aws:SecureTransport":["false"],"aws:SourceIp":["127.0.0.1"]},"region":"us-east-1","service":"s3"}`
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	// One signed request, replayed: the signature stays valid for minutes.
	r := httptest.NewRequest("POST", "http://unix/private/evaluate-policy", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(gateway.ProtocolHeader, "1")
	r.Header.Set("X-Amz-Content-Sha256", hash)
	v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: rootID, SecretAccessKey: rootSecret}, r, hash, "iam", "us-east-1", time.Now())
	b.ReportAllocs()
	for b.Loop() {
		req := r.Clone(ctx)
		req.Body = ioNop(body)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
