package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// dist is what hepd serves at /: the clinician dashboard as clients/web
// builds it (npm run build), committed so that hepd serves it with no Node
// installed, and checked fresh by CI (.ci/web.sh).
//
//go:embed all:dist
var dist embed.FS

// contentSecurityPolicy allows only this origin's own script, styles,
// images and calls: no inline script or style, no eval, no framing, no
// plugins, forms only to this origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

type assets struct {
	files fs.FS
	index []byte
}

func newAssets() (http.Handler, error) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		return nil, err
	}
	return &assets{files: sub, index: index}, nil
}

// ServeHTTP serves a built file, or index.html for "/" (the dashboard
// routes in the URL's fragment, which never reaches the server).
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if name == "" || name == "index.html" {
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(a.index)
		return
	}
	if strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	if fi, err := fs.Stat(a.files, name); err != nil || fi.IsDir() {
		http.NotFound(w, r)
		return
	}
	h.Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, a.files, name)
}
