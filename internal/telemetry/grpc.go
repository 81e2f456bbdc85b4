package telemetry

import (
	"context"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
)

// GRPC is what a gRPC server needs to be observed: options for
// grpc.NewServer (a tracing stats handler) and interceptors to put
// outermost in its chains (metrics), and Init to call once every service
// is registered.
type GRPC struct {
	Options []grpc.ServerOption
	Unary   []grpc.UnaryServerInterceptor
	Stream  []grpc.StreamServerInterceptor
	init    func(*grpc.Server)
}

// Init prepares the per-method series (at zero) of every registered
// method, so that rates and alerts see a method before its first call.
func (g GRPC) Init(s *grpc.Server) {
	if g.init != nil {
		g.init(s)
	}
}

// GRPC returns what a gRPC server needs for t. Metrics are the standard
// grpc_server_* of go-grpc-middleware's Prometheus provider, with the
// handling-time histogram; labels are the method's type, service and name
// and the status code. Tracing is otelgrpc's stats handler, which records
// the method, the status code and the server's own address, never message
// contents or the peer; it treats hepd as a public endpoint, so a phone's
// traceparent header links to the server's span instead of parenting it
// (an untrusted client cannot choose what is sampled or join its trace).
func (t *Telemetry) GRPC() GRPC {
	var g GRPC
	if t == nil {
		return g
	}
	if t.tracer != nil {
		g.Options = append(g.Options, grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(t.tp),
			// gRPC metrics come from Prometheus; no second copy.
			otelgrpc.WithMeterProvider(noop.NewMeterProvider()),
			otelgrpc.WithPropagators(propagation.TraceContext{}),
			otelgrpc.WithPublicEndpoint(),
		)))
	}
	if sm := t.grpcm; sm != nil {
		exemplar := grpcprom.WithExemplarFromContext(exemplarOf)
		g.Unary = append(g.Unary, sm.UnaryServerInterceptor(exemplar))
		g.Stream = append(g.Stream, sm.StreamServerInterceptor(exemplar))
		g.init = func(s *grpc.Server) { sm.InitializeMetrics(s) }
	}
	return g
}

// newGRPCMetrics are the grpc_server_* metrics. Buckets reach 5 minutes:
// exports of years stream for minutes.
func newGRPCMetrics() *grpcprom.ServerMetrics {
	return grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}),
	))
}

// exemplarOf attaches the trace id of a sampled call to its observations
// (shown to OpenMetrics scrapers), so a slow bucket leads to a trace.
func exemplarOf(ctx context.Context) prometheus.Labels {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsSampled() {
		return prometheus.Labels{"trace_id": sc.TraceID().String()}
	}
	return nil
}
