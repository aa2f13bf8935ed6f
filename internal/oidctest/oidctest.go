// Package oidctest is an OpenID Connect issuer for tests: an HTTPS server
// on loopback with a discovery document and a JWKS, whose signing key can
// be rotated and whose endpoints can be made slow, huge or down, and which
// mints tokens shaped like GitHub Actions', GitLab CI's and a Kubernetes
// service account's.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Mode is how the issuer's endpoints behave.
type Mode int32

const (
	Normal Mode = iota
	Slow        // discovery and keys answer after 30 s
	Huge        // the keys document is 10 MiB
	Down        // 503 for everything
)

// Issuer is a test OpenID Connect issuer.
type Issuer struct {
	URL        string // https://127.0.0.1:port[/path]
	Thumbprint string // SHA-1 of its TLS certificate, hex
	server     *httptest.Server

	mu      sync.Mutex
	keys    []signingKey // the first signs; all are published
	mode    atomic.Int32
	Fetches atomic.Int32 // JWKS fetches served
}

type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv any
	pub  any
}

// New starts an issuer at path ("" for the root); it stops with t.
func New(t testing.TB, path string) *Issuer {
	is := &Issuer{}
	is.Rotate()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if !is.behave(w, r) {
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"issuer": is.URL, "jwks_uri": is.URL + "/keys",
			"authorization_endpoint": is.URL + "/authorize", "token_endpoint": is.URL + "/token",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"}})
	})
	mux.HandleFunc("GET "+path+"/keys", func(w http.ResponseWriter, r *http.Request) {
		if !is.behave(w, r) {
			return
		}
		is.Fetches.Add(1)
		if Mode(is.mode.Load()) == Huge {
			w.Write([]byte(`{"keys":[`))
			pad := strings.Repeat(" ", 1<<20)
			for range 10 {
				w.Write([]byte(pad))
			}
			w.Write([]byte(`]}`))
			return
		}
		json.NewEncoder(w).Encode(is.JWKS())
	})
	is.server = httptest.NewUnstartedServer(mux)
	is.server.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests provoke
	is.server.StartTLS()
	t.Cleanup(is.server.Close)
	is.URL = is.server.URL + path
	sum := sha1.Sum(is.server.Certificate().Raw)
	is.Thumbprint = hex.EncodeToString(sum[:])
	return is
}

func (is *Issuer) behave(w http.ResponseWriter, r *http.Request) bool {
	switch Mode(is.mode.Load()) {
	case Slow:
		select { // until the client gives up
		case <-time.After(30 * time.Second):
		case <-r.Context().Done():
			return false
		}
	case Down:
		http.Error(w, "down", http.StatusServiceUnavailable)
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	return true
}

// SetMode changes how the endpoints behave.
func (is *Issuer) SetMode(m Mode) { is.mode.Store(int32(m)) }

// Rotate makes a new signing key (RSA, then ECDSA, alternately), keeping
// the old ones published.
func (is *Issuer) Rotate() string {
	is.mu.Lock()
	defer is.mu.Unlock()
	n := len(is.keys)
	k := signingKey{kid: fmt.Sprintf("key-%d", n+1)}
	if n%2 == 0 {
		priv, _ := rsa.GenerateKey(rand.Reader, 2048)
		k.alg, k.priv, k.pub = jose.RS256, priv, &priv.PublicKey
	} else {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		k.alg, k.priv, k.pub = jose.ES256, priv, &priv.PublicKey
	}
	is.keys = append([]signingKey{k}, is.keys...)
	return k.kid
}

// Unpublish drops every key but the newest from the JWKS.
func (is *Issuer) Unpublish() {
	is.mu.Lock()
	is.keys = is.keys[:1]
	is.mu.Unlock()
}

// JWKS is the issuer's published key set.
func (is *Issuer) JWKS() jose.JSONWebKeySet {
	is.mu.Lock()
	defer is.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, k := range is.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	return set
}

// Sign mints a token with the newest key; claims override the defaults
// (iss, iat, nbf, exp in 10 minutes).
func (is *Issuer) Sign(t testing.TB, claims map[string]any) string {
	is.mu.Lock()
	k := is.keys[0]
	is.mu.Unlock()
	return SignWith(t, k.alg, k.priv, k.kid, is.Claims(claims))
}

// Claims is claims over the issuer's defaults.
func (is *Issuer) Claims(claims map[string]any) map[string]any {
	now := time.Now()
	all := map[string]any{"iss": is.URL, "iat": now.Unix(), "nbf": now.Add(-5 * time.Second).Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(all, k)
		} else {
			all[k] = v
		}
	}
	return all
}

// SignWith signs claims with any key and algorithm.
func SignWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// GitHubActions are claims shaped like a GitHub Actions job's token for
// repository repo on ref.
func GitHubActions(repo, ref string) map[string]any {
	return map[string]any{"sub": "repo:" + repo + ":ref:" + ref, "aud": "sts.amazonaws.com", "repository": repo, "ref": ref,
		"repository_owner": strings.Split(repo, "/")[0], "workflow": "deploy", "job_workflow_ref": repo + "/.github/workflows/deploy.yml@" + ref,
		"event_name": "push", "runner_environment": "github-hosted", "jti": fmt.Sprint(time.Now().UnixNano())}
}

// GitLabCI are claims shaped like a GitLab CI job's id_token.
func GitLabCI(project, ref string) map[string]any {
	return map[string]any{"sub": "project_path:" + project + ":ref_type:branch:ref:" + ref, "aud": "https://gitlab.example.com",
		"project_path": project, "ref": ref, "ref_type": "branch", "namespace_path": strings.Split(project, "/")[0], "pipeline_source": "push"}
}

// Kubernetes are claims shaped like a projected service account token.
func Kubernetes(namespace, account string) map[string]any {
	return map[string]any{"sub": "system:serviceaccount:" + namespace + ":" + account, "aud": []string{"sts.amazonaws.com"},
		"kubernetes.io": map[string]any{"namespace": namespace, "serviceaccount": map[string]any{"name": account, "uid": "f0c6f0ba"}}}
}
