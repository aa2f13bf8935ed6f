package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"iamd/console"
)

// TestSecurityHeaders: every answer carries a CSP without inline code or
// framing, nosniff, no referrer, no caching; no directory is listed and
// nothing but GET and HEAD is served.
func TestSecurityHeaders(t *testing.T) {
	h := console.Handler(console.Config{})
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/console/", 200}, {"GET", "/console/app.js", 200}, {"GET", "/console/sigv4.js", 200},
		{"HEAD", "/console/app.css", 200}, {"GET", "/console/nope.js", 404}, {"POST", "/console/", 405},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, w.Code, tt.status)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", tt.path, csp)
		}
		want := map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
		if tt.status == 200 {
			want["Cache-Control"] = "no-store" // http.FileServer's errors drop it
		}
		for k, v := range want {
			if w.Header().Get(k) != v {
				t.Errorf("%s: %s %q, want %q", tt.path, k, w.Header().Get(k), v)
			}
		}
	}
	// No inline script or style in the page: the CSP would refuse it.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/console/", nil))
	page := w.Body.String()
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") || strings.Contains(page, "onclick") {
		t.Error("the page has inline code")
	}
}

// TestSignInConfig: without a provider, config.json offers none and the
// page may call its own origin only; with one, config.json names it and
// the CSP lets the page reach that issuer's origin, and no other.
func TestSignInConfig(t *testing.T) {
	get := func(h http.Handler) (string, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/console/config.json", nil))
		return w.Body.String(), w.Header().Get("Content-Security-Policy")
	}
	body, csp := get(console.Handler(console.Config{}))
	if body != "{}" || !strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("no provider: %s, CSP %q", body, csp)
	}
	body, csp = get(console.Handler(console.Config{SignIn: &console.SignIn{Issuer: "https://sso.example.com/realms/acme", ClientID: "iamd",
		RoleARN: "arn:aws:iam::123456789012:role/console", Name: "Acme SSO"}}))
	want := `{"signIn":{"issuer":"https://sso.example.com/realms/acme","clientId":"iamd","roleArn":"arn:aws:iam::123456789012:role/console","name":"Acme SSO"}}`
	if body != want {
		t.Errorf("config.json %s, want %s", body, want)
	}
	if !strings.Contains(csp, "connect-src 'self' https://sso.example.com;") {
		t.Errorf("CSP %q", csp)
	}
}
