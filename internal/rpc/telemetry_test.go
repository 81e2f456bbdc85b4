package rpc

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/telemetry"
	"github.com/hepclinic/hep/internal/telemetry/telemetrytest"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// tracedEnv is an env whose server and store are traced into an in-memory
// exporter and counted in metrics served over loopback HTTP.
func tracedEnv(t *testing.T) (*env, *tracetest.InMemoryExporter, string) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	tel := telemetry.New(telemetry.Options{Metrics: true, TracerProvider: tp})
	e := newEnv(t, withTelemetry(tel))
	tel.CountOpenAlerts(e.store.OpenAlertCounts)
	web := httptest.NewServer(tel.Handler())
	t.Cleanup(web.Close)
	spans.Reset()
	return e, spans, web.URL
}

// serverSpan waits (bounded: the server ends its span just after the
// response leaves) for the server span of method and returns it.
func serverSpan(t *testing.T, spans *tracetest.InMemoryExporter, method string) tracetest.SpanStub {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, s := range spans.GetSpans() {
			if s.Name == method && s.SpanKind == trace.SpanKindServer {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server span %s among %v", method, spanNames(spans.GetSpans()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func spanNames(ss tracetest.SpanStubs) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// childrenOf returns the names of the spans whose parent is s, sorted.
func childrenOf(ss tracetest.SpanStubs, s tracetest.SpanStub) []string {
	var out []string
	for _, c := range ss {
		if c.Parent.SpanID() == s.SpanContext.SpanID() && c.Parent.TraceID() == s.SpanContext.TraceID() {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return out
}

// TestTracing checks the spans of a push and of a progress read: the gRPC
// server span is the parent of one span per store transaction, in the
// same trace; a phone's traceparent is linked, not adopted (hepd is a
// public endpoint); and no span carries a patient, device, account or
// record id, an email or a token.
func TestTracing(t *testing.T) {
	e, spans, _ := tracedEnv(t)
	const remoteTrace, remoteSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	ctx := metadata.AppendToOutgoingContext(e.as(callerPatientA), "traceparent", "00-"+remoteTrace+"-"+remoteSpan+"-01")
	checkin := newID()
	if _, err := e.sync.Push(ctx, &hepv1.PushRequest{DeviceId: e.deviceA, DeviceTime: timestamppb.Now(),
		Mutations: []*hepv1.Mutation{checkinMutation(1, validCheckin(checkin, time.Now()))}}); err != nil {
		t.Fatal(err)
	}
	push := serverSpan(t, spans, "hep.v1.SyncService/Push")
	if push.Parent.IsValid() {
		t.Errorf("the push span's parent is %v; want a new root", push.Parent)
	}
	if push.SpanContext.TraceID().String() == remoteTrace {
		t.Errorf("the push span joined the phone's trace")
	}
	if len(push.Links) != 1 || push.Links[0].SpanContext.TraceID().String() != remoteTrace || push.Links[0].SpanContext.SpanID().String() != remoteSpan {
		t.Errorf("the push span's links %+v; want the phone's span", push.Links)
	}
	if got, want := childrenOf(spans.GetSpans(), push), []string{"store.write sync.push"}; !slices.Equal(got, want) {
		t.Errorf("children of the push span: %v, want %v", got, want)
	}

	if _, err := e.review.GetProgress(e.as(callerClinA), &hepv1.GetProgressRequest{PatientId: e.patientA}); err != nil {
		t.Fatal(err)
	}
	progress := serverSpan(t, spans, "hep.v1.ReviewService/GetProgress")
	// The read in one snapshot, then its audit row in the reads chain.
	if got, want := childrenOf(spans.GetSpans(), progress), []string{"store.audit review.progress", "store.read review.progress"}; !slices.Equal(got, want) {
		t.Errorf("children of the progress span: %v, want %v", got, want)
	}

	secrets := []string{e.patientA, e.patientB, e.deviceA, e.deviceB, e.clinAID, e.clinBID, e.adminID, checkin,
		"@clinic.example", "Patient A", e.tok[callerPatientA], e.tok[callerClinA]}
	for _, s := range spans.GetSpans() {
		texts := []string{s.Name, s.Status.Description}
		kvs := slices.Clone(s.Attributes)
		for _, ev := range s.Events {
			texts = append(texts, ev.Name)
			kvs = append(kvs, ev.Attributes...)
		}
		for _, l := range s.Links {
			kvs = append(kvs, l.Attributes...)
		}
		for _, kv := range kvs {
			texts = append(texts, string(kv.Key)+"="+kv.Value.Emit())
		}
		for _, text := range texts {
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("span %s carries %q: %s", s.Name, secret, text)
				}
			}
		}
		if s.SpanKind == trace.SpanKindServer {
			// What otelgrpc records: the method, the status, the server's
			// own address; never the peer.
			for _, kv := range s.Attributes {
				if strings.HasPrefix(string(kv.Key), "client.") || strings.HasPrefix(string(kv.Key), "network.peer") {
					t.Errorf("server span %s records the peer: %s", s.Name, kv.Key)
				}
			}
			if !slices.ContainsFunc(s.Attributes, func(kv attribute.KeyValue) bool { return kv.Key == "rpc.method" }) {
				t.Errorf("server span %s has no rpc.method: %v", s.Name, s.Attributes)
			}
		}
	}
}

// TestCallMetrics checks the gRPC metrics of a call that fails validation
// (counted with its code; no push result counted) and that every served
// method is reported before its first call.
func TestCallMetrics(t *testing.T) {
	e, _, url := tracedEnv(t)
	before := telemetrytest.Parse(t, telemetrytest.Scrape(t, url))
	const (
		pushInvalid = `grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="Push",grpc_service="hep.v1.SyncService",grpc_type="unary"}`
		neverCalled = `grpc_server_started_total{grpc_method="Pull",grpc_service="hep.v1.SyncService",grpc_type="unary"}`
		exportCalls = `grpc_server_started_total{grpc_method="Export",grpc_service="hep.v1.ExportService",grpc_type="server_stream"}`
	)
	for _, series := range []string{pushInvalid, neverCalled, exportCalls} {
		if _, ok := before[series]; !ok {
			t.Errorf("%s is not reported before its first call", series)
		}
	}
	bad := checkinMutation(1, validCheckin("not-a-uuid", time.Now()))
	bad.Sequence = 0
	if _, err := e.sync.Push(e.as(callerPatientA), &hepv1.PushRequest{DeviceId: e.deviceA, Mutations: []*hepv1.Mutation{bad}}); err == nil {
		t.Fatal("a push with sequence 0 succeeded")
	}
	after := telemetrytest.Parse(t, telemetrytest.Scrape(t, url))
	if d := after.Delta(before, pushInvalid); d != 1 {
		t.Errorf("%s moved by %v, want 1", pushInvalid, d)
	}
	for _, r := range []string{"applied", "replayed", "rejected"} {
		if d := after.Delta(before, `hep_push_records_total{result="`+r+`"}`); d != 0 {
			t.Errorf("a refused push counted %v %s records", d, r)
		}
	}
}
