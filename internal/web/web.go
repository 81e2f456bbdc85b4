// Package web is hepd's HTTP face: one http.Handler, served on the gRPC
// listener, that answers
//
//   - gRPC (HTTP/2, application/grpc) by handing the request to the grpc-go
//     server itself;
//   - Connect and gRPC-Web (the browser's protocols) through a vanguard
//     transcoder in front of the same grpc-go server, so every call runs the
//     same services and the same interceptor chain (authentication, the
//     authorization table, audit, limits) as a gRPC call: nothing here
//     implements an RPC;
//   - /auth/, the dashboard's session endpoints, which keep the refresh
//     token in an HttpOnly cookie (session.go) and call AuthService through
//     the transcoder too;
//   - everything else from the dashboard's embedded, prebuilt assets
//     (assets.go), under a strict Content-Security-Policy.
//
// It must not decide anything about patients or accounts: the rpc package
// and the domain do.
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"connectrpc.com/vanguard"
	"connectrpc.com/vanguard/vanguardgrpc"
	"google.golang.org/grpc"
)

// Config configures the handler.
type Config struct {
	// GRPC is the server whose services are answered in every protocol.
	GRPC *grpc.Server
	// Logger logs refused requests (never a body, a cookie or a token).
	Logger *slog.Logger
	// MaxRequestBytes is the gRPC server's request message limit (0: 4
	// MiB). The transcoder buffers a little more, so that the gRPC server,
	// not the transcoder, refuses a message just over it (with
	// RESOURCE_EXHAUSTED after reading it, as for gRPC); a body far over
	// it is cut off while it is still arriving.
	MaxRequestBytes int64
}

// transcodeSlack is how much more than a message the transcoder buffers.
const transcodeSlack = 1 << 20

// Handler routes each request to the protocol it speaks.
type Handler struct {
	grpc      http.Handler
	transcode http.Handler
	session   *session
	assets    http.Handler
	log       *slog.Logger
}

// New builds the handler over cfg.GRPC, whose services must all be
// registered already.
func New(cfg Config) (*Handler, error) {
	if cfg.GRPC == nil {
		return nil, errors.New("web: no gRPC server")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = 4 << 20
	}
	tc, err := vanguardgrpc.NewTranscoder(cfg.GRPC,
		vanguard.WithDefaultServiceOptions(vanguard.WithMaxMessageBufferBytes(uint32(cfg.MaxRequestBytes+transcodeSlack))),
		vanguard.WithUnknownHandler(http.NotFoundHandler()))
	if err != nil {
		return nil, err
	}
	h := &Handler{grpc: cfg.GRPC, transcode: tc, log: cfg.Logger}
	h.session = &session{rpc: tc, log: cfg.Logger}
	h.assets, err = newAssets()
	if err != nil {
		return nil, err
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if r.ProtoMajor == 2 && strings.HasPrefix(ct, "application/grpc") && !strings.HasPrefix(ct, "application/grpc-web") {
		// Native gRPC (phones, hepctl, grpcurl): straight to grpc-go.
		h.grpc.ServeHTTP(w, r)
		return
	}
	setCommonHeaders(w.Header())
	if !sameOrigin(r) {
		// A browser page of another origin: no CORS is ever granted, and a
		// request that would not need a preflight is refused here.
		h.log.Warn("cross-origin request refused", "path", safePath(r.URL.Path))
		http.Error(w, "cross-origin requests are refused", http.StatusForbidden)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/auth/"):
		h.session.ServeHTTP(w, r)
	case isRPCPath(r.URL.Path):
		h.transcode.ServeHTTP(w, r)
	default:
		h.assets.ServeHTTP(w, r)
	}
}

// isRPCPath reports whether a path names a method ("/package.Service/Method").
func isRPCPath(p string) bool {
	svc, method, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return ok && strings.Contains(svc, ".") && method != "" && !strings.Contains(method, "/")
}

// safePath is a path fit for a log line: a method name or a static asset,
// cut short; hep's URLs carry no patient data, the fragment never reaches
// the server, and query strings are not logged.
func safePath(p string) string {
	if len(p) > 80 {
		p = p[:80]
	}
	return p
}

// sameOrigin reports whether a request either names no Origin (not a
// cross-site browser request: gRPC, Connect and curl clients, or a
// same-origin GET) or names this server's own host. Fetch metadata, when
// the browser sends it, must not say cross-site.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// setCommonHeaders are sent with every HTTP (non-gRPC) response.
func setCommonHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}
