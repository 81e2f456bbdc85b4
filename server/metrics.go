package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
)

// observability is hepd serve's metrics and tracing: --metrics-listen
// serves Prometheus metrics over plain HTTP on an address of its own (off
// by default), and the standard OTEL_* environment variables turn on
// OpenTelemetry tracing (docs/operations.md).
type observability struct {
	listen *string
	public *bool
	addr   string // the checked listen address; "" when off
}

// metricsFlags adds the metrics flags to fs.
func metricsFlags(fs *flag.FlagSet) *observability {
	return &observability{
		listen: fs.String("metrics-listen", envOr("HEP_METRICS_LISTEN", ""),
			"serve Prometheus metrics at http://ADDR/metrics; a bare port or :PORT means loopback (env HEP_METRICS_LISTEN; default off)"),
		public: fs.Bool("metrics-public", false, "allow --metrics-listen on a non-loopback address (plain HTTP, no authentication: a private network only)"),
	}
}

// metricsAddr resolves --metrics-listen: "" is off; "9090" and ":9090"
// mean 127.0.0.1:9090, since an operator who named no host meant this
// machine; any other host must be loopback unless public is set, the rule
// hepd applies to plaintext gRPC.
func metricsAddr(listen string, public bool) (string, error) {
	listen = strings.TrimSpace(listen)
	if listen == "" {
		return "", nil
	}
	if !strings.Contains(listen, ":") {
		listen = ":" + listen
	}
	host, port, err := net.SplitHostPort(listen)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("%w: --metrics-listen %q: want HOST:PORT, :PORT or PORT", errUsage, listen)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, port)
	if !public && !isLoopback(addr) {
		return "", fmt.Errorf("%w: refusing metrics on non-loopback address %q: give --metrics-public to serve them there", errUsage, addr)
	}
	return addr, nil
}

// setup checks the flags and builds the server's telemetry: metrics when
// --metrics-listen is given, tracing when the environment asks for it.
// shutdown flushes the spans still batched; call it after the servers have
// stopped.
func (o *observability) setup(ctx context.Context, log *slog.Logger) (tel *telemetry.Telemetry, shutdown func(), err error) {
	if o.addr, err = metricsAddr(*o.listen, *o.public); err != nil {
		return nil, nil, err
	}
	tp, err := telemetry.TracerFromEnv(ctx, version)
	if err != nil {
		return nil, nil, err
	}
	shutdown = func() {}
	opts := telemetry.Options{Metrics: o.addr != "", Logger: log, Version: version}
	if tp != nil {
		opts.TracerProvider = tp
		log.Info("tracing on: exporting spans over OTLP")
		shutdown = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tp.Shutdown(ctx); err != nil {
				log.Warn("flushing traces failed", "err", err.Error())
			}
		}
	}
	return telemetry.New(opts), shutdown, nil
}

// serve starts the metrics listener, if on, with the open-alert gauge read
// through count. stop shuts it down (scrapes in progress may finish for a
// few seconds) and may be called more than once.
func (o *observability) serve(log *slog.Logger, stdout io.Writer, tel *telemetry.Telemetry,
	count func(context.Context) (map[hep.AlertKind]int, error)) (stop func(), err error) {
	if o.addr == "" {
		return func() {}, nil
	}
	tel.CountOpenAlerts(count)
	lis, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "err", err.Error())
		}
	}()
	log.Info("serving metrics", "addr", lis.Addr().String())
	fmt.Fprintf(stdout, "hepd metrics on %s\n", lis.Addr())
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	}, nil
}
