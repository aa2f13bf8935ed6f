// Package console is iamd's web console: static files embedded in the
// binary, served at /console/ on iamd's own port. The console holds no
// privilege of its own: it calls iamd's AWS APIs from the browser, signed
// with SigV4 by the key the person signs in with (static/sigv4.js), so
// every action is decided by the same policies as the CLI's. The key is
// kept in the tab's memory only.
package console

import (
	"embed"
	"io/fs"
	"net/http"
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

// Handler serves the console's files with strict security headers.
func Handler() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fileServer := http.StripPrefix(Prefix, http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", Policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != Prefix {
			http.NotFound(w, r) // no directory listings
			return
		}
		fileServer.ServeHTTP(w, r)
	})
}
