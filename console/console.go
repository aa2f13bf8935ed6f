// Package console is iamd's web console: static files embedded in the
// binary, served at /console/ on iamd's own port. The console holds no
// privilege of its own: it calls iamd's AWS APIs from the browser, signed
// with SigV4 by the key the person signs in with (static/sigv4.js), so
// every action is decided by the same policies as the CLI's. People may
// also sign in through the deployment's OpenID Connect provider (SignIn),
// which yields a role session. Credentials are kept in the tab's memory
// only.
package console

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

//go:embed static
var files embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// Policy is the console's Content-Security-Policy: its own scripts and
// styles only (no inline code), calls to its own origin only, never framed.
const Policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// SignIn is the OpenID Connect client the console offers people to sign in
// with: the authorization-code flow with PKCE in the browser (no client
// secret), then AssumeRoleWithWebIdentity for RoleARN. The provider must be
// registered (CreateOpenIDConnectProvider) and the role must trust it.
type SignIn struct {
	Issuer   string `json:"issuer"`   // https://…, as the ID token's iss
	ClientID string `json:"clientId"` // the console's client at the provider
	RoleARN  string `json:"roleArn"`
	Name     string `json:"name"` // on the button: "Sign in with <Name>"
}

// Config is what the console is served with.
type Config struct {
	SignIn *SignIn // nil: keys only
}

// Handler serves the console's files with strict security headers, and
// config.json, which tells the page how people may sign in.
func Handler(cfg Config) http.Handler {
	sub, _ := fs.Sub(files, "static")
	fileServer := http.StripPrefix(Prefix, http.FileServer(http.FS(sub)))
	policy := Policy
	if cfg.SignIn != nil {
		// The page fetches the provider's discovery document and redeems
		// the code at its token endpoint: the issuer's origin, and no other.
		if u, err := url.Parse(cfg.SignIn.Issuer); err == nil {
			policy = strings.Replace(policy, "connect-src 'self'", "connect-src 'self' "+u.Scheme+"://"+u.Host, 1)
		}
	}
	conf, _ := json.Marshal(struct {
		SignIn *SignIn `json:"signIn,omitempty"`
	}{cfg.SignIn})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch {
		case r.URL.Path == Prefix+"config.json":
			h.Set("Content-Type", "application/json")
			w.Write(conf)
		case strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != Prefix:
			http.NotFound(w, r) // no directory listings
		default:
			fileServer.ServeHTTP(w, r)
		}
	})
}
