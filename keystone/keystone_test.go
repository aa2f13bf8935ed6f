package keystone_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"iamd"
	"iamd/keystone"
	"iamd/sigv4"
	"iamd/sqlite"
)

// newHandler is a Handler over a fresh store, and the token of a service
// key (the root's) that may call s3tokens.
func newHandler(t testing.TB) (*keystone.Handler, string) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	svc, err := iamd.NewService(context.Background(), iamd.Config{Store: st, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); st.Close() })
	if err := svc.EnsureRootKey(context.Background(), "AKIAROOTROOTROOT0001", "rootsecretrootsecret1234"); err != nil {
		t.Fatal(err)
	}
	h := keystone.New(keystone.Config{Service: svc})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/v3/auth/tokens", strings.NewReader(
		`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"AKIAROOTROOTROOT0001","password":"rootsecretrootsecret1234"}}}}}`)))
	if w.Code != http.StatusCreated {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return h, w.Header().Get("X-Subject-Token")
}

// FuzzKeystone posts arbitrary bodies to every endpoint, with the service's
// token: nothing panics, every answer is JSON, and nothing is accepted,
// since no input carries a valid signature or password.
func FuzzKeystone(f *testing.F) {
	f.Add(0, `{"credentials":{"access":"AKIAROOTROOTROOT0001","token":"QVdTNC1ITUFDLVNIQTI1Ngo","signature":"00"}}`)
	f.Add(1, `{"credentials":{"access":"AKIAROOTROOTROOT0001","verb":"GET","path":"/","headers":{"Authorization":"AWS4-HMAC-SHA256 Credential=AKIAROOTROOTROOT0001/20261124/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00","X-Amz-Date":"20261124T073036Z","Host":"x"},"body_hash":""}}`)
	f.Add(2, `{"auth":{"identity":{"methods":["password"],"password":{"user":{"id":"AKIAROOTROOTROOT0001","password":"x"}}}}}`)
	f.Add(0, `{"credentials":{"access":"","token":"","signature":""}}`)
	f.Add(1, `{"credentials":{"verb":"\u0000","path":"/%zz","params":{"X-Amz-Algorithm":"AWS4-HMAC-SHA256"}}}`)
	h, tok := newHandler(f)
	paths := []string{"/v3/s3tokens", "/v3/ec2tokens", "/v3/auth/tokens"}
	f.Fuzz(func(t *testing.T, which int, body string) {
		path := paths[uint(which)%uint(len(paths))]
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("X-Auth-Token", tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code < 400 {
			t.Fatalf("%s accepted %q: %d %s", path, body, w.Code, w.Body)
		}
		var out map[string]map[string]any
		if json.Unmarshal(w.Body.Bytes(), &out) != nil || out["error"]["code"] == nil {
			t.Fatalf("%s answered %q to %q", path, w.Body, body)
		}
	})
}

// BenchmarkS3Tokens is one s3tokens answer for the root's key, as Swift
// asks for every S3 request: the service token opened, the signature
// checked, the answer encoded.
func BenchmarkS3Tokens(b *testing.B) {
	h, tok := newHandler(b)
	now := time.Now().UTC()
	scope := now.Format("20060102") + "/us-east-1/s3/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + now.Format("20060102T150405Z") + "\n" + scope + "\n" + strings.Repeat("ab", 32)
	m := hmac.New(sha256.New, sigv4.SigningKey([]byte("rootsecretrootsecret1234"), now.Format("20060102"), "us-east-1", "s3"))
	m.Write([]byte(sts))
	body := `{"credentials":{"access":"AKIAROOTROOTROOT0001","token":"` + base64.URLEncoding.EncodeToString([]byte(sts)) + `","signature":"` + hex.EncodeToString(m.Sum(nil)) + `"}}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v3/s3tokens", strings.NewReader(body))
		r.Header.Set("X-Auth-Token", tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
