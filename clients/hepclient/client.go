package hepclient

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// Options configure a Client. Only StatePath is required.
type Options struct {
	// StatePath is the local SQLite state file (created if missing). Keep it
	// out of cloud backups: a restored copy is an older phone (see
	// docs/sync.md, "Resets and repairs").
	StatePath string

	// TLS is the TLS configuration. Without it the client uses TLS with the
	// system roots for any address that is not this machine, and plaintext
	// for a loopback address.
	TLS *tls.Config
	// Plaintext allows plaintext to a non-loopback address (a TLS proxy in
	// front of the client). Tokens and health data then travel unencrypted.
	Plaintext bool

	// CallTimeout is the deadline of one call when the caller's context has
	// none (or a later one). Default 20 s.
	CallTimeout time.Duration
	// Retry bounds the retries of transient failures. Default: 6 attempts,
	// 200 ms base, 10 s cap.
	Retry Backoff

	// Clock is the phone's clock: it stamps perform and record times and the
	// device_time of pushes. Default time.Now. It may be wrong by days; the
	// server corrects for it.
	Clock func() time.Time

	// DeviceName and Platform are sent when enrolling. Defaults "phone" and
	// PLATFORM_OTHER.
	DeviceName string
	Platform   hepv1.Platform

	// PushBatch is the most mutations per Push, 1-500. Default 500.
	PushBatch int
	// PullPageSize is the most changes per Pull page, 1-1000. Default 500.
	PullPageSize int32
	// JournalRetention is how long acknowledged mutations are kept to repair
	// a server restored from a backup. Default 30 days.
	JournalRetention time.Duration
	// RefreshMargin: the access token is replaced when it expires within
	// this. Default 60 s.
	RefreshMargin time.Duration

	// Interceptor, when set, sits between the client's own interceptor
	// (deadline, authentication) and the network: it sees every call as
	// sent, the authorization header included. Tests use it to inject
	// faults; apps can use it for metrics.
	Interceptor grpc.UnaryClientInterceptor
	// DialOptions are appended to the client's own.
	DialOptions []grpc.DialOption
}

func (o *Options) defaults() {
	if o.CallTimeout <= 0 {
		o.CallTimeout = 20 * time.Second
	}
	o.Retry.defaults()
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.DeviceName == "" {
		o.DeviceName = "phone"
	}
	if o.Platform == hepv1.Platform_PLATFORM_UNSPECIFIED {
		o.Platform = hepv1.Platform_PLATFORM_OTHER
	}
	if o.PushBatch <= 0 || o.PushBatch > maxPushBatch {
		o.PushBatch = maxPushBatch
	}
	if o.PullPageSize <= 0 || o.PullPageSize > maxPullPage {
		o.PullPageSize = defaultPullPage
	}
	if o.JournalRetention <= 0 {
		o.JournalRetention = 30 * 24 * time.Hour
	}
	if o.RefreshMargin <= 0 {
		o.RefreshMargin = time.Minute
	}
}

// Protocol limits (proto/hep/v1/sync.proto).
const (
	maxPushBatch    = 500
	maxPullPage     = 1000
	defaultPullPage = 500
)

// Client is one phone: its state file and its connection to the server. Its
// methods are safe for concurrent use; Sync runs one at a time.
type Client struct {
	opts Options
	db   *sql.DB
	conn *grpc.ClientConn
	auth hepv1.AuthServiceClient
	sync hepv1.SyncServiceClient

	mu    sync.Mutex // guards creds and gen
	creds credentials
	gen   uint64 // counts the token pairs this process has held

	refreshMu sync.Mutex // single flight: one RefreshToken at a time
	syncMu    sync.Mutex // one Sync at a time
}

// Dial opens the state file and prepares a connection to the server at
// addr. Nothing touches the network until a call: a phone opens its client
// offline and logs.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	opts.defaults()
	db, err := openState(ctx, opts.StatePath)
	if err != nil {
		return nil, err
	}
	creds, err := loadCredentials(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("hepclient: reading state: %w", err)
	}
	tc, err := transportCredentials(addr, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	c := &Client{opts: opts, db: db, creds: creds}
	chain := []grpc.UnaryClientInterceptor{c.intercept}
	if opts.Interceptor != nil {
		chain = append(chain, opts.Interceptor)
	}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(tc),
		grpc.WithChainUnaryInterceptor(chain...),
		grpc.WithUserAgent("hepclient"),
	}, opts.DialOptions...)
	c.conn, err = grpc.NewClient(addr, dial...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("hepclient: bad server address %q: %w", addr, err)
	}
	c.auth = hepv1.NewAuthServiceClient(c.conn)
	c.sync = hepv1.NewSyncServiceClient(c.conn)
	return c, nil
}

// Close closes the connection and the state file. Nothing needs flushing:
// every change was committed when its method returned.
func (c *Client) Close() error {
	err := c.conn.Close()
	if e := c.db.Close(); err == nil {
		err = e
	}
	return err
}

// Conn is the authenticated connection, for the other services a device may
// call (PlanService.GetPlan, ScreeningService.ReportRedFlags). Calls through
// it get the client's deadline and token handling.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// DeviceID is the enrolled device's id ("" before enrollment).
func (c *Client) DeviceID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.creds.DeviceID
}

// PatientID is the patient the device acts for ("" before enrollment).
func (c *Client) PatientID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.creds.PatientID
}

// Enrolled reports whether the phone has a device identity with a live
// session.
func (c *Client) Enrolled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.creds.DeviceID != "" && c.creds.SessionEnded == ""
}

func (c *Client) now() time.Time { return c.opts.Clock() }

// isLoopback reports whether addr names this machine.
func isLoopback(addr string) bool {
	addr = strings.TrimPrefix(addr, "dns:///")
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

// transportCredentials: TLS when configured or when the server is another
// machine; plaintext only to loopback, or when explicitly allowed.
func transportCredentials(addr string, o Options) (grpccreds.TransportCredentials, error) {
	if o.TLS != nil {
		return grpccreds.NewTLS(o.TLS), nil
	}
	if isLoopback(addr) || o.Plaintext {
		return insecure.NewCredentials(), nil
	}
	return grpccreds.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12}), nil
}
