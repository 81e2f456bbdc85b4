package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry/telemetrytest"
)

func TestTracingWanted(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr bool
	}{
		{"Nothing", nil, false, false},
		{"Endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, false},
		{"TracesEndpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true, false},
		{"ExporterOTLP", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, false},
		{"ExporterNone", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, false, false},
		{"SDKDisabled", map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, false, false},
		{"ErrExporterConsole", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, false, true},
		{"ErrExporterZipkin", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TracingWanted(func(k string) string { return tt.env[k] })
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("TracingWanted = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTracerFromEnv(t *testing.T) {
	for _, k := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"} {
		t.Setenv(k, "")
	}
	if tp, err := TracerFromEnv(t.Context(), "v1"); tp != nil || err != nil {
		t.Errorf("without OTEL_* variables: %v, %v; want no provider", tp, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	for _, p := range []string{"", "http/protobuf", "grpc"} {
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", p)
		tp, err := TracerFromEnv(t.Context(), "v1")
		if err != nil || tp == nil {
			t.Errorf("protocol %q: %v, %v; want a provider", p, tp, err)
			continue
		}
		// Nothing was recorded: shutting down sends nothing.
		if err := tp.Shutdown(t.Context()); err != nil {
			t.Errorf("protocol %q: Shutdown: %v", p, err)
		}
	}
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := TracerFromEnv(t.Context(), "v1"); err == nil {
		t.Error("protocol http/json accepted; hepd ships grpc and http/protobuf only")
	}
}

// TestNil checks that a nil Telemetry, and one with everything off, is
// safe to report to and reports nothing.
func TestNil(t *testing.T) {
	for _, tel := range []*Telemetry{nil, New(Options{})} {
		x := tel.BeginTx(t.Context(), "sqlite", Write)
		if x != nil {
			t.Errorf("BeginTx with telemetry off = %v, want nil", x)
		}
		x.Acquired()
		x.AuditRow(nil)
		x.AlertRaised(hep.AlertRedFlag)
		x.End(true, nil)
		tel.PushResults([]hep.MutationResult{{Status: hep.MutationApplied}})
		tel.ExportBytes("CSV", 10)
		tel.CountOpenAlerts(func(context.Context) (map[hep.AlertKind]int, error) { return nil, nil })
		g := tel.GRPC()
		if len(g.Options)+len(g.Unary)+len(g.Stream) != 0 {
			t.Errorf("GRPC with telemetry off adds %d options, %d and %d interceptors", len(g.Options), len(g.Unary), len(g.Stream))
		}
		if tel.MetricsOn() || tel.TracingOn() {
			t.Error("telemetry off reports itself on")
		}
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "OK"},
		{hep.NotFound("patient"), "NOT_FOUND"},
		{fmt.Errorf("wrapped: %w", hep.Errorf(hep.CodeUnavailable, "busy")), "UNAVAILABLE"},
		{context.Canceled, "CANCELLED"},
		{fmt.Errorf("sqlite: %w", context.DeadlineExceeded), "DEADLINE_EXCEEDED"},
		{errors.New("disk I/O error"), "INTERNAL"},
	}
	for _, tt := range tests {
		if got := outcome(tt.err); got != tt.want {
			t.Errorf("outcome(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestExposition scrapes a Telemetry after some of everything: the
// counters hold what was reported, a failing open-alert query leaves the
// rest served (and is logged), a kind that had open alerts drops to 0
// rather than vanishing, and the names pass Prometheus' own linter.
func TestExposition(t *testing.T) {
	var logs bytes.Buffer
	tel := New(Options{Metrics: true, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Version: "v9.9.9"})
	counts := map[hep.AlertKind]int{hep.AlertRedFlag: 2, hep.AlertPainSevere: 1}
	var countErr error
	tel.CountOpenAlerts(func(context.Context) (map[hep.AlertKind]int, error) { return counts, countErr })
	web := httptest.NewServer(tel.Handler())
	t.Cleanup(web.Close)

	ctx := hep.WithActor(t.Context(), hep.Actor{Action: "sync.push"})
	x := tel.BeginTx(ctx, "sqlite", Write)
	x.Acquired()
	x.AuditRow(nil)
	x.AlertRaised(hep.AlertPainSevere)
	x.End(true, nil)
	x = tel.BeginTx(ctx, "sqlite", Write)
	x.Acquired()
	x.AuditRow(nil)
	x.AuditRow(errors.New("disk full"))
	x.AlertRaised(hep.AlertPainSevere)
	x.End(false, errors.New("disk full"))
	tel.BeginTx(t.Context(), "sqlite", Read).End(true, nil) // never acquired, no action
	tel.PushResults([]hep.MutationResult{
		{Status: hep.MutationApplied}, {Status: hep.MutationApplied}, {Status: hep.MutationRejected},
		{Status: hep.MutationApplied, Replayed: true}, {Status: hep.MutationRejected, Replayed: true},
	})
	tel.ExportBytes(string(hep.ExportPDF), 1000)
	tel.ExportBytes(string(hep.ExportPDF), 24)

	text := telemetrytest.Scrape(t, web.URL)
	got := telemetrytest.Parse(t, text)
	for series, want := range map[string]float64{
		`hep_store_tx_duration_seconds_count{engine="sqlite",mode="write",op="sync.push",outcome="OK"}`:       1,
		`hep_store_tx_duration_seconds_count{engine="sqlite",mode="write",op="sync.push",outcome="INTERNAL"}`: 1,
		`hep_store_tx_duration_seconds_count{engine="sqlite",mode="read",op="none",outcome="OK"}`:             1,
		`hep_store_tx_wait_seconds_count{engine="sqlite",mode="write"}`:                                       2,
		`hep_audit_rows_total`:                                              1,
		`hep_audit_write_failures_total`:                                    1,
		`hep_alerts_raised_total{kind="PAIN_SEVERE"}`:                       1,
		`hep_alerts_open{kind="RED_FLAG"}`:                                  2,
		`hep_alerts_open{kind="PAIN_SEVERE"}`:                               1,
		`hep_push_records_total{result="applied"}`:                          2,
		`hep_push_records_total{result="replayed"}`:                         2,
		`hep_push_records_total{result="rejected"}`:                         1,
		`hep_export_bytes_total{format="PDF"}`:                              1024,
		`hep_build_info{go_version="` + goVersion() + `",version="v9.9.9"}`: 1,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
	if _, ok := got[`go_goroutines`]; !ok {
		t.Error("no Go runtime metrics")
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "hep_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}

	// The red flags are acknowledged: RED_FLAG drops to 0.
	delete(counts, hep.AlertRedFlag)
	got = telemetrytest.Parse(t, telemetrytest.Scrape(t, web.URL))
	if v, ok := got[`hep_alerts_open{kind="RED_FLAG"}`]; !ok || v != 0 {
		t.Errorf(`hep_alerts_open{kind="RED_FLAG"} = %v (present %v), want 0`, v, ok)
	}
	// The store fails: no gauge, the rest still served, the failure logged.
	countErr = errors.New("database is closed")
	got = telemetrytest.Parse(t, telemetrytest.Scrape(t, web.URL))
	if _, ok := got[`hep_alerts_open{kind="PAIN_SEVERE"}`]; ok {
		t.Error("hep_alerts_open served although counting failed")
	}
	if got[`hep_push_records_total{result="applied"}`] != 2 {
		t.Error("a failing collector took the other metrics with it")
	}
	if !strings.Contains(logs.String(), "counting open alerts failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}

// TestSpans checks a transaction's span without a gRPC call around it.
func TestSpans(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tel := New(Options{TracerProvider: newTestProvider(t, spans)})
	if tel.MetricsOn() || !tel.TracingOn() {
		t.Fatal("tracing only: want metrics off, tracing on")
	}
	x := tel.BeginTx(hep.WithActor(t.Context(), hep.Actor{Action: "plan.set"}), "postgres", Write)
	x.Acquired()
	x.AuditRow(nil)
	x.End(false, hep.Errorf(hep.CodeAborted, "version mismatch for patient p-123"))
	got := spans.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans, want 1", len(got))
	}
	s := got[0]
	attrs := map[string]string{}
	for _, kv := range s.Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	want := map[string]string{"db.system.name": "postgres", "db.operation.name": "plan.set", "hep.store.mode": "write",
		"hep.outcome": "ABORTED", "hep.store.committed": "false"}
	if s.Name != "store.write plan.set" || fmt.Sprint(attrs) != fmt.Sprint(want) {
		t.Errorf("span %q %v, want %q %v", s.Name, attrs, "store.write plan.set", want)
	}
	if strings.Contains(fmt.Sprint(s), "p-123") {
		t.Error("the span carries the error's text")
	}
}

func newTestProvider(t *testing.T, spans *tracetest.InMemoryExporter) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp
}
