//go:build unix

package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// otlpCollector is a stand-in OTLP/HTTP collector on loopback: it keeps
// every span exported to /v1/traces.
type otlpCollector struct {
	mu    sync.Mutex
	spans []*tracepb.ResourceSpans
	bad   []string
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req collectorpb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		c.bad = append(c.bad, r.URL.Path+" "+r.Header.Get("Content-Type")+" "+errString(err))
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	c.spans = append(c.spans, req.GetResourceSpans()...)
	out, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func attrOf(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// TestTracingEndToEnd turns tracing on the standard way, with
// OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector on loopback, and
// checks what the real binary exports by the time it has stopped
// (SIGTERM flushes): service.name hepd and the build's version, the gRPC
// server span of each call with a span per store transaction under it,
// the call's log line carrying the trace id, and no patient identifier,
// email or name in any attribute.
func TestTracingEndToEnd(t *testing.T) {
	t.Parallel()
	col := &otlpCollector{}
	web := httptest.NewServer(col)
	t.Cleanup(web.Close)
	db := filepath.Join(t.TempDir(), "hep.db")
	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}
	c := &clinic{srv: startServerEnv(t, db, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + web.URL, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"})}
	if strings.Contains(c.srv.stdout.String(), metricsPrefix) {
		t.Error("metrics are served without --metrics-listen")
	}
	c.api = newAPI(c.srv.dial(t))
	c.signInAll(t)
	const name = "Quentin Zephyrine"
	patientID := c.createPatient(t, name)
	_, err := c.api.patient.GetPatient(callCtx(t, c.clinicianTok, "trace-e2e-get"), &hepv1.GetPatientRequest{PatientId: patientID})
	must(t, "GetPatient", err)
	if code := c.srv.stop(); code != 0 {
		t.Fatalf("hepd exited %d after SIGTERM", code)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.bad) > 0 {
		t.Errorf("bad exports: %v", col.bad)
	}
	type span struct {
		name, parent string
		trace, id    string
	}
	var spans []span
	for _, rs := range col.spans {
		res := rs.GetResource().GetAttributes()
		if attrOf(res, "service.name") != "hepd" || attrOf(res, "service.version") != testVersion {
			t.Errorf("resource %v; want service.name hepd, service.version %s", res, testVersion)
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				spans = append(spans, span{name: s.GetName(), parent: hex.EncodeToString(s.GetParentSpanId()),
					trace: hex.EncodeToString(s.GetTraceId()), id: hex.EncodeToString(s.GetSpanId())})
				var texts []string
				for _, kv := range s.GetAttributes() {
					texts = append(texts, kv.GetKey()+"="+kv.GetValue().String())
				}
				for _, ev := range s.GetEvents() {
					for _, kv := range ev.GetAttributes() {
						texts = append(texts, kv.GetKey()+"="+kv.GetValue().String())
					}
				}
				for _, text := range texts {
					for _, secret := range []string{patientID, c.adminID, c.clinicianID, "clinic.example", "Quentin", "trace-e2e"} {
						if strings.Contains(text, secret) {
							t.Errorf("span %s carries %q: %s", s.GetName(), secret, text)
						}
					}
				}
			}
		}
	}
	var get *span
	for i := range spans {
		if spans[i].name == "hep.v1.PatientService/GetPatient" {
			get = &spans[i]
		}
	}
	if get == nil {
		t.Fatalf("no GetPatient server span among %d spans: %v", len(spans), spans)
	}
	var children []string
	for _, s := range spans {
		if s.parent == get.id && s.trace == get.trace {
			children = append(children, s.name)
		}
	}
	// The read's snapshot and its audit row's append to the reads chain
	// (the exporter's order is not the calls').
	slices.Sort(children)
	if len(children) != 2 || children[0] != "store.audit patient.get" || children[1] != "store.read patient.get" {
		t.Errorf("GetPatient's children: %v, want its read and its audit row", children)
	}

	// The call's log line names the trace.
	found := false
	sc := bufio.NewScanner(strings.NewReader(c.srv.stderr.String()))
	for sc.Scan() {
		var line struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
			TraceID   string `json:"trace_id"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "rpc" && line.RequestID == "trace-e2e-get" {
			found = true
			if line.TraceID != get.trace {
				t.Errorf("the GetPatient log line's trace_id %q, want %q", line.TraceID, get.trace)
			}
		}
	}
	if !found {
		t.Error("no log line for the GetPatient call")
	}
}
