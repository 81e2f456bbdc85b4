package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// refreshMargin is how long before its expiry an access token is replaced.
const refreshMargin = 30 * time.Second

// app is one hepctl invocation: its streams, options, connection and
// credentials.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time

	opts globalOptions
	args []string // the command and its arguments

	conn *grpc.ClientConn

	mu    sync.Mutex
	creds *credentials // nil until requireLogin or login
}

func (a *app) close() {
	if a.conn != nil {
		a.conn.Close()
	}
}

// isLoopback reports whether addr names this machine.
func isLoopback(addr string) bool {
	if strings.HasPrefix(addr, "unix:") {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// transportCredentials picks TLS or plaintext: TLS when asked for (--tls,
// a CA file) or when the server is not on this machine; plaintext to another
// machine only with --insecure-plaintext.
func (a *app) transportCredentials() (grpccreds.TransportCredentials, error) {
	o := a.opts
	useTLS := o.tls || o.caFile != "" || (!isLoopback(o.server) && !o.insecurePlaintext)
	if !useTLS {
		if !isLoopback(o.server) {
			fmt.Fprintf(a.stderr, "hepctl: warning: talking to %s without TLS; tokens and patient data travel unencrypted\n", o.server)
		}
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.caFile)
		}
		cfg.RootCAs = pool
	}
	return grpccreds.NewTLS(cfg), nil
}

// dial returns the connection to the server, creating it on first use. The
// connection itself is lazy: nothing touches the network until a call.
func (a *app) dial() (*grpc.ClientConn, error) {
	if a.conn != nil {
		return a.conn, nil
	}
	tc, err := a.transportCredentials()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(a.opts.server,
		grpc.WithTransportCredentials(tc),
		grpc.WithUnaryInterceptor(a.intercept),
		grpc.WithUserAgent("hepctl/"+version),
	)
	if err != nil {
		return nil, usageErrorf("bad server address %q: %v", a.opts.server, err)
	}
	a.conn = conn
	return conn, nil
}

// publicMethod reports whether a method needs no access token.
func publicMethod(method string) bool {
	switch method {
	case hepv1.AuthService_SignIn_FullMethodName, hepv1.AuthService_RefreshToken_FullMethodName,
		hepv1.AuthService_EnrollDevice_FullMethodName:
		return true
	}
	return false
}

// intercept gives every call its deadline (--timeout) and, unless the method
// is public, a fresh access token; failures become *rpcError with the
// server's request id.
func (a *app) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	ctx, cancel := context.WithTimeout(ctx, a.opts.timeout)
	defer cancel()
	if !publicMethod(method) {
		tok, err := a.accessToken(ctx)
		if err != nil {
			return err
		}
		if tok != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
		}
	}
	var header metadata.MD
	err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Header(&header))...)
	if err != nil {
		re := &rpcError{err: err, method: method, server: a.opts.server}
		if v := header.Get("x-request-id"); len(v) > 0 {
			re.requestID = v[0]
		}
		return re
	}
	return nil
}

// authed returns the connection for a command that needs a signed-in user:
// it loads the cached credentials, which must belong to the current server.
func (a *app) authed() (*grpc.ClientConn, error) {
	c, err := a.loadCredentials()
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errNotSignedIn
	}
	if c.Server != a.opts.server {
		return nil, fmt.Errorf("not signed in to %s (the cached session is for %s): run hepctl login", a.opts.server, c.Server)
	}
	a.mu.Lock()
	a.creds = c
	a.mu.Unlock()
	return a.dial()
}

// accessToken returns the cached access token, refreshing the pair first if
// it expires within refreshMargin.
func (a *app) accessToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.creds == nil {
		return "", nil
	}
	if a.creds.AccessExpireTime.After(a.now().Add(refreshMargin)) {
		return a.creds.AccessToken, nil
	}
	if err := a.refreshLocked(ctx); err != nil {
		return "", err
	}
	return a.creds.AccessToken, nil
}

// refreshLocked exchanges the refresh token for a new pair and saves it. a.mu
// is held. If the server rejects the refresh token, the cache is deleted.
func (a *app) refreshLocked(ctx context.Context) error {
	unlock, err := a.lockCredentials(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// Another hepctl may have refreshed while we waited for the lock: its
	// pair is the live one, ours is now used.
	if c, err := a.loadCredentials(); err == nil && c != nil && c.Server == a.creds.Server &&
		c.RefreshToken != a.creds.RefreshToken && c.AccessExpireTime.After(a.now().Add(refreshMargin)) {
		a.creds = c
		return nil
	}
	if !a.creds.RefreshExpireTime.IsZero() && !a.creds.RefreshExpireTime.After(a.now()) {
		a.creds = nil
		if err := a.deleteCredentials(); err != nil {
			return err
		}
		return errSessionExpired
	}
	resp, err := hepv1.NewAuthServiceClient(a.conn).RefreshToken(ctx, &hepv1.RefreshTokenRequest{RefreshToken: a.creds.RefreshToken})
	if status.Code(err) == codes.Unauthenticated {
		a.creds = nil
		if err := a.deleteCredentials(); err != nil {
			return err
		}
		return errSessionExpired
	}
	if err != nil {
		return fmt.Errorf("refreshing the session: %w", err)
	}
	next := *a.creds
	next.setTokens(resp.GetTokens())
	if p := resp.GetPrincipal(); p != nil {
		next.Role = p.GetRole().String()
		next.AccountID = p.GetAccountId()
	}
	if err := a.saveCredentials(&next); err != nil {
		return err
	}
	a.creds = &next
	return nil
}

// setTokens stores a token pair in c.
func (c *credentials) setTokens(t *hepv1.TokenPair) {
	c.AccessToken = t.GetAccessToken()
	c.AccessExpireTime = t.GetAccessExpireTime().AsTime()
	c.RefreshToken = t.GetRefreshToken()
	c.RefreshExpireTime = t.GetRefreshExpireTime().AsTime()
	if t.GetRefreshExpireTime() == nil {
		c.RefreshExpireTime = time.Time{}
	}
}
