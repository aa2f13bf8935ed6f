package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
// setup may return the credentials to sign with; "" means the root's.
func benchHandler(b *testing.B, service, body string, setup func(*iamd.Service) (string, string)) {
	benchHandlerToken(b, service, body, func(svc *iamd.Service) (string, string, string) {
		if setup == nil {
			return "", "", ""
		}
		id, sec := setup(svc)
		return id, sec, ""
	})
}

func benchHandlerToken(b *testing.B, service, body string, setup func(*iamd.Service) (string, string, string)) {
	benchHandlerOn(b, viewStore, service, body, setup)
}

func benchHandlerOn(b *testing.B, v view, service, body string, setup func(*iamd.Service) (string, string, string)) {
	at := time.Now()
	h, svc := newServerOn(b, func() time.Time { return at }, v)
	id, sec, token := keyID, secret, ""
	if i, s, tok := setup(svc); i != "" {
		id, sec, token = i, s, tok
	}
	r := httptest.NewRequest("POST", "http://127.0.0.1:8600/", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.ContentLength = int64(len(body))
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: sec, SessionToken: token},
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

// BenchmarkAuthPath is a signed GetCallerIdentity by an IAM user's key
// with its decisions read three ways, in one run: from the store through
// the 10 s cache (before the replica), from the store on every request
// (what each of that cache's misses cost, on SQLite; a network round trip
// more on PostgreSQL), and from the replica (now).
func BenchmarkAuthPath(b *testing.B) {
	for _, c := range []struct {
		name string
		v    view
	}{{"store-cached", viewStore}, {"store-uncached", viewStoreUncached}, {"replica", viewReplica}} {
		b.Run(c.name, func(b *testing.B) {
			benchHandlerOn(b, c.v, "sts", "Action=GetCallerIdentity&Version=2011-06-15", func(svc *iamd.Service) (string, string, string) {
				ctx := context.Background()
				root := &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}
				if _, err := svc.CreateUser(ctx, root, "bob", "/", nil); err != nil {
					b.Fatal(err)
				}
				k, sec, err := svc.CreateAccessKey(ctx, root, "bob")
				if err != nil {
					b.Fatal(err)
				}
				return k.ID, sec, ""
			})
		})
	}
}

// BenchmarkHandlerGetCallerIdentitySession is the same call signed with
// temporary credentials from GetSessionToken.
func BenchmarkHandlerGetCallerIdentitySession(b *testing.B) {
	benchHandlerToken(b, "sts", "Action=GetCallerIdentity&Version=2011-06-15", func(svc *iamd.Service) (string, string, string) {
		cc, err := svc.Credential(context.Background(), keyID)
		if err != nil {
			b.Fatal(err)
		}
		creds, err := svc.GetSessionToken(context.Background(), &cc.Caller, 3600)
		if err != nil {
			b.Fatal(err)
		}
		return creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
	})
}

func BenchmarkHandlerListAccessKeys(b *testing.B) {
	benchHandler(b, "iam", "Action=ListAccessKeys&UserName=bob&Version=2010-05-08", func(svc *iamd.Service) (string, string) {
		root := &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}
		svc.CreateUser(context.Background(), root, "bob", "/team-a/", nil)
		svc.CreateAccessKey(context.Background(), root, "bob")
		return "", ""
	})
}

// BenchmarkHandlerListAccessKeysAuthorized is BenchmarkHandlerListAccessKeys
// signed by an operator whose 10 attached policies of 10 statements each
// are evaluated in full (the allowing statement is the last), so the
// difference between the two is what authorization costs a request: the
// evaluation and the look-up of the target user's path.
func BenchmarkHandlerListAccessKeysAuthorized(b *testing.B) {
	benchHandler(b, "iam", "Action=ListAccessKeys&UserName=bob&Version=2010-05-08", func(svc *iamd.Service) (string, string) {
		ctx := context.Background()
		root := &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}
		svc.CreateUser(ctx, root, "bob", "/team-a/", nil)
		svc.CreateAccessKey(ctx, root, "bob")
		svc.CreateUser(ctx, root, "op", "/ops/", nil)
		for i := range 10 {
			var sts []string
			for j := range 10 {
				st := fmt.Sprintf(`{"Effect":"Allow","Action":["iam:CreateUser","iam:Put*Policy","iam:Attach*"],"Resource":"arn:aws:iam::123456789012:user/team-%d-%d/*"}`, i, j)
				if i == 9 && j == 9 {
					st = `{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::123456789012:user/team-a/*"}`
				}
				sts = append(sts, st)
			}
			p, err := svc.CreatePolicy(ctx, root, fmt.Sprint("p", i), "/", "", `{"Version":"2012-10-17","Statement":[`+strings.Join(sts, ",")+`]}`, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := svc.AttachPolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "op"}, p.ARN("123456789012")); err != nil {
				b.Fatal(err)
			}
		}
		k, sec, err := svc.CreateAccessKey(ctx, root, "op")
		if err != nil {
			b.Fatal(err)
		}
		return k.ID, sec
	})
}
