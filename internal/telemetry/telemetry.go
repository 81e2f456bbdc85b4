// Package telemetry is hep's metrics (Prometheus) and traces
// (OpenTelemetry). A Telemetry belongs to one server and has a registry of
// its own, so several servers in one process (tests) never share the
// global default registry.
//
// Every store reports its transactions through the same seam, Tx, whatever
// its engine, so that the SQLite and PostgreSQL stores publish the same
// metrics and spans; the transport reports gRPC calls, push results and
// export bytes. The domain (internal/hep) knows nothing of this package.
//
// Nothing here may carry a patient identifier. Every label and span
// attribute comes from a fixed, small set: gRPC method names, the store
// engine, the audited action a transaction ran for (such as "plan.set"),
// outcome codes, alert kinds, push results and export formats. Never an id,
// an email, a name, a request payload or an error message.
//
// A nil *Telemetry is valid and does nothing: code that reports need not
// check whether metrics or tracing are on.
package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/hepclinic/hep/internal/hep"
)

// Options configures New.
type Options struct {
	// Metrics turns the Prometheus metrics on. Off, nothing is counted and
	// Handler serves nothing.
	Metrics bool
	// TracerProvider, when not nil, makes spans for gRPC calls and store
	// transactions (see TracerFromEnv). Nil: no tracing.
	TracerProvider trace.TracerProvider
	// Logger receives scrape failures (counts and error texts only). The
	// default discards.
	Logger *slog.Logger
	// Version is reported by hep_build_info.
	Version string
}

// Telemetry is one server's metrics and tracer.
type Telemetry struct {
	reg    *prometheus.Registry
	m      *metrics // nil when metrics are off
	grpcm  *grpcprom.ServerMetrics
	tp     trace.TracerProvider
	tracer trace.Tracer // nil when tracing is off
	log    *slog.Logger
}

// instrumentation is the tracer's (and meter's) scope name.
const instrumentation = "github.com/hepclinic/hep"

// New returns a Telemetry. With neither metrics nor a tracer provider it is
// still usable and does nothing.
func New(o Options) *Telemetry {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Telemetry{reg: prometheus.NewRegistry(), log: o.Logger}
	if o.TracerProvider != nil {
		t.tp = o.TracerProvider
		t.tracer = o.TracerProvider.Tracer(instrumentation)
	}
	if o.Metrics {
		t.m = newMetrics()
		t.grpcm = newGRPCMetrics()
		t.reg.MustRegister(
			t.grpcm,
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			t.m,
			newBuildInfo(o.Version),
		)
	}
	return t
}

// CountOpenAlerts makes every scrape read the open alerts by kind with
// count (hep.Store.OpenAlertCounts) for the hep_alerts_open gauge. Call it
// once, when the store is open.
func (t *Telemetry) CountOpenAlerts(count func(ctx context.Context) (map[hep.AlertKind]int, error)) {
	if !t.MetricsOn() {
		return
	}
	t.reg.MustRegister(&openAlerts{count: count, log: t.log})
}

// Registry is the server's Prometheus registry (nil for a nil Telemetry).
// Engine-specific collectors (a database's file sizes) register here.
func (t *Telemetry) Registry() *prometheus.Registry {
	if t == nil {
		return nil
	}
	return t.reg
}

// MetricsOn reports whether metrics are counted.
func (t *Telemetry) MetricsOn() bool { return t != nil && t.m != nil }

// TracingOn reports whether spans are made.
func (t *Telemetry) TracingOn() bool { return t != nil && t.tracer != nil }

// Handler serves the registry in the Prometheus text format (and
// OpenMetrics, with exemplars, to scrapers that ask for it). A collector
// that fails (the open-alert query, say) leaves its metrics out and the
// rest is still served.
func (t *Telemetry) Handler() http.Handler {
	if !t.MetricsOn() {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(t.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		// A scrape runs a query; a slow or stuck scraper must not pile
		// them up.
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
	})
}

// PushResults counts what became of a push's mutations.
func (t *Telemetry) PushResults(results []hep.MutationResult) {
	if !t.MetricsOn() {
		return
	}
	var applied, replayed, rejected int
	for _, r := range results {
		switch {
		case r.Replayed:
			replayed++
		case r.Status == hep.MutationApplied:
			applied++
		default:
			rejected++
		}
	}
	t.m.pushApplied.Add(float64(applied))
	t.m.pushReplayed.Add(float64(replayed))
	t.m.pushRejected.Add(float64(rejected))
}

// ExportBytes counts n bytes of an export file sent in format (a
// hep.ExportFormat).
func (t *Telemetry) ExportBytes(format string, n int) {
	if !t.MetricsOn() || n <= 0 {
		return
	}
	t.m.exportBytes.WithLabelValues(format).Add(float64(n))
}

// TraceID returns the trace id of the span in ctx, for log lines, or ""
// when there is none (tracing off, or not sampled).
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}

// outcome names how a transaction or call ended: "OK", a hep error code,
// or CANCELLED / DEADLINE_EXCEEDED when the caller's context ended.
func outcome(err error) string {
	switch {
	case err == nil:
		return "OK"
	case errors.Is(err, context.Canceled):
		return "CANCELLED"
	case errors.Is(err, context.DeadlineExceeded):
		return "DEADLINE_EXCEEDED"
	}
	var he *hep.Error
	if errors.As(err, &he) {
		return string(he.Code)
	}
	return string(hep.CodeInternal)
}
