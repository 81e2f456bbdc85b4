package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hepclinic/hep/internal/rpc"
	"github.com/hepclinic/hep/internal/web"
)

// front is hepd's one listener: Go's HTTP server, speaking HTTP/1.1 and
// HTTP/2 (h2c in plaintext, ALPN under TLS), in front of internal/web's
// handler, which passes gRPC to the grpc-go server and the browser's
// Connect and gRPC-Web calls through vanguard to the same server.
//
// grpc-go's own transport is not used: its HTTP/2 server cannot share a
// port with anything else. Its transport options become the HTTP
// server's: concurrent streams per connection, idle connections closed
// after 15 minutes, keepalive pings every 2 minutes answered within 20 s.
// Message size limits and deadlines stay in rpc, where they were.
type front struct {
	http *http.Server
	grpc *rpc.Server
	tls  bool
}

func newFront(srv *rpc.Server, log *slog.Logger, tlsConfig *tls.Config) (*front, error) {
	h, err := web.New(web.Config{GRPC: srv.GRPC, Logger: log, MaxRequestBytes: int64(rpc.DefaultLimits.MaxRecvMsgSize)})
	if err != nil {
		return nil, err
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if tlsConfig != nil {
		protocols.SetHTTP2(true)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	hs := &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       15 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: int(rpc.DefaultLimits.MaxConcurrentStreams),
			SendPingTimeout:      2 * time.Minute,
			PingTimeout:          20 * time.Second,
		},
		// The standard library's own log lines (a bad TLS handshake) go to
		// the structured log, at warning level.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return &front{http: hs, grpc: srv, tls: tlsConfig != nil}, nil
}

// serve accepts on lis until shutdown.
func (f *front) serve(lis net.Listener) error {
	var err error
	if f.tls {
		err = f.http.ServeTLS(lis, "", "")
	} else {
		err = f.http.Serve(lis)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdown stops accepting, lets in-flight calls finish for up to drain
// (HTTP/2 connections get a GOAWAY; idle ones close), then cancels the
// rest. The gRPC server stops after the HTTP server: grpc-go closes the
// calls it serves through ServeHTTP at once on GracefulStop, so it must
// not be asked before they are done.
func (f *front) shutdown(log *slog.Logger, drain time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := f.http.Shutdown(ctx); err != nil {
		log.Warn("drain timeout: cancelling remaining calls")
		_ = f.http.Close()
	}
	f.grpc.GRPC.Stop()
}
