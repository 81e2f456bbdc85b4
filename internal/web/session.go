package web

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// The dashboard's session, in the browser:
//
//   - the access token (15 minutes at most) lives in the page's memory only,
//     never in localStorage, sessionStorage or a cookie, and goes in the
//     Authorization header of each Connect call, so no RPC is ever
//     authenticated by a cookie (a cross-site page cannot make the browser
//     attach it);
//   - the refresh token lives in a cookie the page's script cannot read
//     (HttpOnly), sent only over TLS or to loopback (Secure), never on a
//     request started by another site (SameSite=Strict), and only to
//     /auth/ (Path);
//   - the three endpoints that read or set that cookie are POSTs that also
//     need the X-HEP-Session header, which a cross-site form cannot send
//     and a cross-site script can only send after a CORS preflight hepd
//     never answers, and an Origin, when the browser sends one, naming
//     this host (ServeHTTP's sameOrigin).
//
// Each endpoint calls AuthService through the transcoder, so sign-in, token
// rotation with reuse detection, sign-out's revocation, rate limits and the
// audit trail are the RPCs' own.
const (
	cookieName   = "hep_refresh"
	cookiePath   = "/auth/"
	csrfHeader   = "X-HEP-Session"
	maxAuthBody  = 4 << 10
	signInPath   = "/auth/signin"
	refreshPath  = "/auth/refresh"
	signOutPath  = "/auth/signout"
	jsonType     = "application/json"
	protoVersion = "1"
)

type session struct {
	rpc http.Handler // the transcoder
	log *slog.Logger
}

var marshal = protojson.MarshalOptions{}

func (s *session) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get(csrfHeader) != "1" {
		http.Error(w, "missing "+csrfHeader+" header", http.StatusForbidden)
		return
	}
	switch r.URL.Path {
	case signInPath:
		s.signIn(w, r)
	case refreshPath:
		s.refresh(w, r)
	case signOutPath:
		s.signOut(w, r)
	default:
		http.NotFound(w, r)
	}
}

// signIn: the body is a SignInRequest in JSON; the answer is the
// SignInResponse without its refresh token, which goes in the cookie.
func (s *session) signIn(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAuthBody))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	var req hepv1.SignInRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		writeConnectError(w, http.StatusBadRequest, "invalid_argument", "the body must be a SignInRequest in JSON")
		return
	}
	var resp hepv1.SignInResponse
	if fail := s.call(r, "/hep.v1.AuthService/SignIn", &req, &resp, ""); fail != nil {
		fail.writeTo(w)
		return
	}
	s.setCookie(w, r, resp.GetTokens())
	resp.Tokens.RefreshToken = ""
	writeJSON(w, &resp)
}

// refresh exchanges the cookie's refresh token for a new pair (the RPC
// rotates it and detects reuse); the answer has no refresh token.
func (s *session) refresh(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		writeConnectError(w, http.StatusUnauthorized, "unauthenticated", "no session: sign in")
		return
	}
	var resp hepv1.RefreshTokenResponse
	if fail := s.call(r, "/hep.v1.AuthService/RefreshToken", &hepv1.RefreshTokenRequest{RefreshToken: c.Value}, &resp, ""); fail != nil {
		// A used, revoked or expired token will never work again.
		clearCookie(w, r)
		fail.writeTo(w)
		return
	}
	s.setCookie(w, r, resp.GetTokens())
	resp.Tokens.RefreshToken = ""
	writeJSON(w, &resp)
}

// signOut revokes the session (AuthService.SignOut) and clears the cookie.
// The caller's access token names the session; when it has expired, the
// cookie's refresh token is exchanged first, so a sign-out always revokes.
func (s *session) signOut(w http.ResponseWriter, r *http.Request) {
	clearCookie(w, r)
	if authz := r.Header.Get("Authorization"); authz != "" {
		if s.call(r, "/hep.v1.AuthService/SignOut", &hepv1.SignOutRequest{}, &hepv1.SignOutResponse{}, authz) == nil {
			writeJSON(w, &hepv1.SignOutResponse{})
			return
		}
	}
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		writeConnectError(w, http.StatusUnauthorized, "unauthenticated", "no session to sign out of")
		return
	}
	var ref hepv1.RefreshTokenResponse
	if fail := s.call(r, "/hep.v1.AuthService/RefreshToken", &hepv1.RefreshTokenRequest{RefreshToken: c.Value}, &ref, ""); fail != nil {
		fail.writeTo(w) // the session is already over
		return
	}
	if fail := s.call(r, "/hep.v1.AuthService/SignOut", &hepv1.SignOutRequest{}, &hepv1.SignOutResponse{}, "Bearer "+ref.GetTokens().GetAccessToken()); fail != nil {
		fail.writeTo(w)
		return
	}
	writeJSON(w, &hepv1.SignOutResponse{})
}

// call runs one AuthService method as a Connect unary call through the
// transcoder, with the browser's peer address and request id. It returns
// nil on success, or the failed call's Connect error response to pass on.
func (s *session) call(r *http.Request, method string, req, resp proto.Message, authz string) *recorder {
	body, err := proto.Marshal(req)
	if err != nil {
		return internalError()
	}
	in, err := http.NewRequestWithContext(r.Context(), http.MethodPost, method, bytes.NewReader(body))
	if err != nil {
		return internalError()
	}
	in.RemoteAddr = r.RemoteAddr
	in.Host = r.Host
	in.Header.Set("Content-Type", "application/proto")
	in.Header.Set("Connect-Protocol-Version", protoVersion)
	in.Header.Set("Connect-Timeout-Ms", "30000")
	if rid := r.Header.Get("X-Request-Id"); rid != "" {
		in.Header.Set("X-Request-Id", rid)
	}
	if authz != "" {
		in.Header.Set("Authorization", authz)
	}
	rec := &recorder{header: http.Header{}}
	s.rpc.ServeHTTP(rec, in)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	if rec.code != http.StatusOK {
		return rec
	}
	if err := proto.Unmarshal(rec.body.Bytes(), resp); err != nil {
		s.log.Error("session endpoint: undecodable response", "method", method)
		return internalError()
	}
	return nil
}

func internalError() *recorder {
	rec := &recorder{header: http.Header{}, code: http.StatusInternalServerError}
	rec.header.Set("Content-Type", jsonType)
	rec.body.WriteString(`{"code":"internal","message":"internal error"}`)
	return rec
}

// writeTo passes a failed call's response on.
func (r *recorder) writeTo(w http.ResponseWriter) {
	for k, v := range r.header {
		if strings.EqualFold(k, "content-type") || strings.EqualFold(k, "x-request-id") {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(r.code)
	_, _ = w.Write(r.body.Bytes())
}

func (s *session) setCookie(w http.ResponseWriter, _ *http.Request, t *hepv1.TokenPair) {
	exp := t.GetRefreshExpireTime().AsTime()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: t.GetRefreshToken(), Path: cookiePath,
		Expires: exp, MaxAge: max(1, int(time.Until(exp).Seconds())),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

func clearCookie(w http.ResponseWriter, _ *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

func writeJSON(w http.ResponseWriter, m proto.Message) {
	b, err := marshal.Marshal(m)
	if err != nil {
		writeConnectError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	w.Header().Set("Content-Type", jsonType)
	_, _ = w.Write(b)
}

// writeConnectError writes an error in the Connect protocol's JSON shape,
// which the dashboard reads like any RPC error.
func writeConnectError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"code":"`+code+`","message":"`+msg+`"}`)
}

// recorder keeps a whole (small) unary response in memory.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if r.body.Len()+len(b) > 1<<20 {
		return 0, errors.New("web: response too large")
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Flush() {}
