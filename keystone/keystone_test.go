package keystone_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"iamd"
	"iamd/keystone"
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
