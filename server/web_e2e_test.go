package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// browser is what the dashboard does over HTTP: the session endpoints with
// a cookie jar, and Connect or gRPC-Web calls with the access token.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string, tr http.RoundTripper) *browser {
	jar, err := cookiejar.New(nil)
	must(t, "cookie jar", err)
	return &browser{t: t, base: base, client: &http.Client{Jar: jar, Transport: tr, Timeout: rpcTimeout}}
}

// post calls a session endpoint as the dashboard does (the X-HEP-Session
// header, this origin), with extra headers set or removed ("" value).
func (b *browser) post(path, body string, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(body))
	must(b.t, "request", err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-HEP-Session", "1")
	req.Header.Set("Origin", b.base)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := b.client.Do(req)
	must(b.t, "POST "+path, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func (b *browser) refreshCookie() *http.Cookie {
	u, _ := url.Parse(b.base + "/auth/refresh")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "hep_refresh" {
			return c
		}
	}
	return nil
}

// whoAmI calls AuthService.WhoAmI with connect-go in the Connect protocol
// or, with grpcWeb, in gRPC-Web.
func (b *browser) whoAmI(token string, grpcWeb bool) (*hepv1.WhoAmIResponse, error) {
	var opts []connect.ClientOption
	if grpcWeb {
		opts = append(opts, connect.WithGRPCWeb())
	}
	c := connect.NewClient[hepv1.WhoAmIRequest, hepv1.WhoAmIResponse](b.client, b.base+hepv1.AuthService_WhoAmI_FullMethodName, opts...)
	req := connect.NewRequest(&hepv1.WhoAmIRequest{})
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	resp, err := c.CallUnary(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func signInBody(email, password string) string {
	b, _ := protojson.Marshal(&hepv1.SignInRequest{Email: email, Password: password})
	return string(b)
}

// TestBrowserEndToEnd: the real hepd serves the dashboard with its security
// headers, the cookie session (sign-in, rotation, reuse, sign-out that
// revokes) and Connect and gRPC-Web on the gRPC listener, and gRPC still
// works beside them.
func TestBrowserEndToEnd(t *testing.T) {
	t.Parallel()
	c := newClinic(t, t.TempDir())
	b := newBrowser(t, "http://"+c.srv.addr, nil)

	// The dashboard at /, under a strict policy.
	resp, err := b.client.Get(b.base + "/")
	must(t, "GET /", err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<html") {
		t.Fatalf("GET / = %d %q", resp.StatusCode, page)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}

	// Refused before any RPC: no session header, another origin, a
	// cross-site fetch, a GET.
	for name, hdr := range map[string]map[string]string{
		"no X-HEP-Session": {"X-HEP-Session": ""},
		"other origin":     {"Origin": "https://evil.example"},
		"cross-site fetch": {"Sec-Fetch-Site": "cross-site", "Origin": ""},
	} {
		resp, _ := b.post("/auth/signin", signInBody(clinicianEmail, clinicianPassword), hdr)
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("%s: %d, cookies %v; want 403 and none", name, resp.StatusCode, resp.Cookies())
		}
	}
	if resp, err := b.client.Get(b.base + "/auth/refresh"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /auth/refresh: %v %v", resp.StatusCode, err)
	}

	// A wrong password: the RPC's own error, no cookie.
	resp, body := b.post("/auth/signin", signInBody(clinicianEmail, "not the passphrase"), nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"unauthenticated"`) || b.refreshCookie() != nil {
		t.Errorf("wrong password: %d %s", resp.StatusCode, body)
	}

	// Sign in: the refresh token is in an HttpOnly, Secure, SameSite=Strict
	// cookie for /auth/ only, never in the body.
	resp, body = b.post("/auth/signin", signInBody(clinicianEmail, clinicianPassword), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	var in hepv1.SignInResponse
	must(t, "decoding the sign-in", protojson.Unmarshal([]byte(body), &in))
	if in.GetTokens().GetAccessToken() == "" || in.GetTokens().GetRefreshToken() != "" || strings.Contains(body, "refresh_token\"") || strings.Contains(body, "refreshToken") {
		t.Errorf("sign-in body holds the refresh token or no access token: %s", body)
	}
	var set *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "hep_refresh" {
			set = ck
		}
	}
	if set == nil || !set.HttpOnly || !set.Secure || set.SameSite != http.SameSiteStrictMode || set.Path != "/auth/" || set.Value == "" {
		t.Fatalf("refresh cookie = %+v", set)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("session answer is cacheable: %q", resp.Header.Get("Cache-Control"))
	}
	// The jar would not send a Secure cookie over http; a browser does to
	// loopback. Keep it by hand, as the browser does.
	u, _ := url.Parse(b.base + "/auth/")
	set.Secure = false
	b.client.Jar.SetCookies(u, []*http.Cookie{set})

	// The access token works in Connect and in gRPC-Web.
	for _, web := range []bool{false, true} {
		who, err := b.whoAmI(in.GetTokens().GetAccessToken(), web)
		if err != nil || who.GetPrincipal().GetAccountId() != c.clinicianID {
			t.Errorf("WhoAmI (grpc-web %v): %v, %v", web, who, err)
		}
	}
	if _, err := b.whoAmI("", false); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("WhoAmI without a token over Connect: %v", err)
	}

	// Refresh rotates the cookie; the old value, presented again, is reuse:
	// the RPC revokes the whole session, the new cookie stops working too.
	old := b.refreshCookie()
	resp, body = b.post("/auth/refresh", "", nil)
	if resp.StatusCode != 200 || strings.Contains(body, "refreshToken") {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	var ref hepv1.RefreshTokenResponse
	must(t, "decoding the refresh", protojson.Unmarshal([]byte(body), &ref))
	rotated := cookieFrom(resp)
	if rotated == nil || rotated.Value == old.Value {
		t.Fatalf("refresh did not rotate the cookie: %v", rotated)
	}
	if who, err := b.whoAmI(ref.GetTokens().GetAccessToken(), true); err != nil || who.GetPrincipal().GetSessionId() != in.GetPrincipal().GetSessionId() {
		t.Errorf("refreshed token: %v %v", who, err)
	}

	// Sign-out revokes the session: the access token fails at once, the
	// cookie is cleared.
	resp, body = b.post("/auth/signout", "", map[string]string{"Authorization": "Bearer " + ref.GetTokens().GetAccessToken()})
	if resp.StatusCode != 200 {
		t.Fatalf("sign out: %d %s", resp.StatusCode, body)
	}
	if ck := cookieFrom(resp); ck == nil || ck.MaxAge >= 0 && ck.Value != "" {
		t.Errorf("sign-out did not clear the cookie: %+v", ck)
	}
	if _, err := b.whoAmI(ref.GetTokens().GetAccessToken(), false); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("access token after sign-out: %v, want UNAUTHENTICATED", err)
	}

	// A second sign-in, then reuse of a used refresh token: the session
	// dies (RefreshToken's reuse detection) and the cookie is cleared.
	resp, body = b.post("/auth/signin", signInBody(clinicianEmail, clinicianPassword), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("second sign in: %d %s", resp.StatusCode, body)
	}
	first := cookieFrom(resp)
	b2 := newBrowser(t, b.base, nil)
	first.Secure = false
	b2.client.Jar.SetCookies(u, []*http.Cookie{first})
	if resp, body := b2.post("/auth/refresh", "", nil); resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	b2.client.Jar.SetCookies(u, []*http.Cookie{first}) // the used one again
	if resp, body := b2.post("/auth/refresh", "", nil); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "REFRESH_TOKEN_REUSED") {
		t.Errorf("reused refresh token: %d %s", resp.StatusCode, body)
	}
	var in2 hepv1.SignInResponse
	must(t, "decoding", protojson.Unmarshal([]byte(body), &in2))
	if _, err := b.whoAmI(in2.GetTokens().GetAccessToken(), false); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("access token of a session whose refresh token was reused: %v", err)
	}

	// The session endpoints' calls are the RPCs' own: audited like gRPC's.
	events := listAudit(t, c.api, c.adminTok, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), 500)
	counts := map[string]int{}
	for _, e := range events {
		counts[e.GetAction()+" "+e.GetOutcome()]++
	}
	if counts["auth.sign_out OK"] != 1 || counts["auth.sign_in OK"] < 4 || counts["auth.refresh OK"] < 2 {
		t.Errorf("audit rows of the browser session: %v", counts)
	}
}

func cookieFrom(resp *http.Response) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == "hep_refresh" {
			return ck
		}
	}
	return nil
}

// TestBrowserOverTLS: under TLS the same listener speaks HTTP/2 to a
// browser (ALPN), serves the dashboard and answers Connect.
func TestBrowserOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	srv := startServer(t, filepath.Join(dir, "hep.db"), "--tls-cert", certFile, "--tls-key", keyFile)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	b := newBrowser(t, "https://"+srv.addr, tr)
	resp, err := b.client.Get(b.base + "/")
	must(t, "GET / over TLS", err)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET / over TLS: %d, HTTP/%d, CSP %q", resp.StatusCode, resp.ProtoMajor, resp.Header.Get("Content-Security-Policy"))
	}
	if _, err := b.whoAmI("", true); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("gRPC-Web WhoAmI over TLS without a token: %v", err)
	}
}
