//go:build unix

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/telemetry/telemetrytest"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

const metricsPrefix = "hepd metrics on "

// metricsAddrOf returns the address hepd printed for its metrics listener
// (before "hepd listening on", so it is there once startServer returns).
func metricsAddrOf(t *testing.T, s *server) string {
	t.Helper()
	out := s.stdout.String()
	i := strings.Index(out, metricsPrefix)
	if i < 0 {
		t.Fatalf("hepd did not print %q:\n%s", metricsPrefix, out)
	}
	rest := out[i+len(metricsPrefix):]
	return strings.TrimSpace(rest[:strings.IndexByte(rest, '\n')])
}

// enrollPhone enrolls a device for the patient and returns its id and
// access token.
func (c *clinic) enrollPhone(t *testing.T, patientID string) (deviceID, token string) {
	t.Helper()
	code, err := c.api.device.CreateEnrollmentCode(callCtx(t, c.clinicianTok, ""), &hepv1.CreateEnrollmentCodeRequest{PatientId: patientID})
	must(t, "CreateEnrollmentCode", err)
	enr, err := c.api.auth.EnrollDevice(callCtx(t, "", ""), &hepv1.EnrollDeviceRequest{EnrollmentCode: code.GetCode(), DeviceName: "phone", Platform: hepv1.Platform_PLATFORM_IOS})
	must(t, "EnrollDevice", err)
	return enr.GetDeviceId(), enr.GetTokens().GetAccessToken()
}

// TestMetricsEndToEnd runs the real binary with --metrics-listen :0 (a
// bare port: loopback), pushes through the real Push RPC (new check-ins,
// one rejected, the whole batch replayed, one more), exports a CSV, and
// scrapes /metrics before and after: every counter moved by exactly what
// was done, audit rows by the rows the trail gained, and no label or value
// anywhere in the exposition is an id, an email, a name or a request id
// the test used. SIGTERM then stops the metrics listener with the rest.
func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "hep.db")
	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}
	c := &clinic{srv: startServer(t, db, "--metrics-listen", ":0")}
	addr := metricsAddrOf(t, c.srv)
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Fatalf("--metrics-listen :0 listens on %s; want loopback", addr)
	}
	url := "http://" + addr + "/metrics"
	cc := c.srv.dial(t)
	c.api = newAPI(cc)
	c.signInAll(t)
	const name = "Quentin Zephyrine"
	patientID := c.createPatient(t, name)
	deviceID, devTok := c.enrollPhone(t, patientID)
	syncc := hepv1.NewSyncServiceClient(cc)
	exports := hepv1.NewExportServiceClient(cc)

	before := telemetrytest.Parse(t, telemetrytest.Scrape(t, url))
	start := time.Now()
	ids := []string{uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()}
	checkin := func(seq int64, id string, score int32) *hepv1.Mutation {
		return &hepv1.Mutation{Sequence: seq, Change: &hepv1.Mutation_Checkin{Checkin: &hepv1.PainCheckin{
			Id: id, RecordTime: timestamppb.New(time.Now().Add(-time.Minute)), Score: score, Location: hepv1.PainLocation_PAIN_LOCATION_LOW_BACK}}}
	}
	// Three new check-ins (one severe: a PAIN_SEVERE alert) and the first
	// one's id again with other content: rejected.
	batch := []*hepv1.Mutation{checkin(1, ids[0], 3), checkin(2, ids[1], 8), checkin(3, ids[2], 4), checkin(4, ids[0], 5)}
	rid := 0
	push := func(muts []*hepv1.Mutation) []hepv1.MutationStatus {
		t.Helper()
		rid++
		resp, err := syncc.Push(callCtx(t, devTok, fmt.Sprintf("metrics-e2e-%d", rid)), &hepv1.PushRequest{DeviceId: deviceID, DeviceTime: timestamppb.Now(), Mutations: muts})
		must(t, "Push", err)
		var out []hepv1.MutationStatus
		for _, r := range resp.GetResults() {
			out = append(out, r.GetStatus())
		}
		return out
	}
	ok, rej := hepv1.MutationStatus_MUTATION_STATUS_APPLIED, hepv1.MutationStatus_MUTATION_STATUS_REJECTED
	if got := fmt.Sprint(push(batch)); got != fmt.Sprint([]hepv1.MutationStatus{ok, ok, ok, rej}) {
		t.Fatalf("first push: %s", got)
	}
	if got := fmt.Sprint(push(batch)); got != fmt.Sprint([]hepv1.MutationStatus{ok, ok, ok, rej}) {
		t.Fatalf("replayed push: %s", got)
	}
	if got := fmt.Sprint(push([]*hepv1.Mutation{checkin(5, ids[3], 2)})); got != fmt.Sprint([]hepv1.MutationStatus{ok}) {
		t.Fatalf("third push: %s", got)
	}
	stream, err := exports.Export(callCtx(t, c.clinicianTok, "metrics-e2e-export"), &hepv1.ExportRequest{PatientId: patientID, Format: hepv1.ExportFormat_EXPORT_FORMAT_CSV})
	must(t, "Export", err)
	exported := 0
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		must(t, "Export Recv", err)
		exported += len(m.GetData())
	}
	if exported == 0 {
		t.Fatal("the export sent no bytes")
	}
	end := time.Now()
	text := telemetrytest.Scrape(t, url)
	after := telemetrytest.Parse(t, text)

	trail := len(listAudit(t, c.api, c.adminTok, start, end, 100))
	if trail < 4 {
		t.Fatalf("the trail gained %d rows over three pushes and an export; want at least 4", trail)
	}
	const pushOK = `grpc_server_handled_total{grpc_code="OK",grpc_method="Push",grpc_service="hep.v1.SyncService",grpc_type="unary"}`
	for series, want := range map[string]float64{
		`hep_push_records_total{result="applied"}`:  4,
		`hep_push_records_total{result="replayed"}`: 4,
		`hep_push_records_total{result="rejected"}`: 1,
		pushOK: 3,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Export",grpc_service="hep.v1.ExportService",grpc_type="server_stream"}`: 1,
		`hep_store_tx_duration_seconds_count{engine="sqlite",mode="write",op="sync.push",outcome="OK"}`:                                3,
		`hep_alerts_raised_total{kind="PAIN_SEVERE"}`:                                                                                  1,
		`hep_audit_rows_total`:                 float64(trail),
		`hep_audit_write_failures_total`:       0,
		`hep_export_bytes_total{format="CSV"}`: float64(exported),
	} {
		if got := after.Delta(before, series); got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	if got := after[`hep_alerts_open{kind="PAIN_SEVERE"}`]; got != 1 {
		t.Errorf("hep_alerts_open PAIN_SEVERE = %v, want 1", got)
	}
	if got := after.Delta(before, `hep_store_tx_wait_seconds_count{engine="sqlite",mode="write"}`); got < 3 {
		t.Errorf("write transactions waited %v times, want at least the pushes'", got)
	}
	if got := after.Delta(before, `hep_store_tx_wait_seconds_count{engine="sqlite",mode="audit"}`); got < 1 {
		t.Errorf("reads-chain appends waited %v times, want at least the export's", got)
	}
	if after[`hep_sqlite_db_bytes`] <= 0 {
		t.Error("hep_sqlite_db_bytes is not the database's size")
	}
	if after[`hep_build_info{go_version="`+goVersionOf(t, text)+`",version="`+testVersion+`"}`] != 1 {
		t.Errorf("hep_build_info does not name %s", testVersion)
	}

	// Nothing in the exposition names a patient, a device, an account, a
	// record, an email, a name or a request.
	for _, secret := range append([]string{patientID, deviceID, c.adminID, c.clinicianID, adminEmail, clinicianEmail,
		"clinic.example", "Quentin", "Zephyrine", "metrics-e2e", devTok, c.clinicianTok}, ids...) {
		if strings.Contains(text, secret) {
			t.Errorf("the exposition contains %q", secret)
		}
	}

	// SIGTERM: the metrics listener closes with the server.
	if code := c.srv.stop(); code != 0 {
		t.Fatalf("hepd exited %d after SIGTERM", code)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("the metrics listener %s still accepts after hepd exited", addr)
	}
	if strings.Contains(c.srv.stderr.String(), "metrics listener failed") {
		t.Errorf("the metrics listener failed:\n%s", c.srv.stderr.String())
	}
}

// goVersionOf reads the go_version label of hep_build_info.
func goVersionOf(t *testing.T, text string) string {
	t.Helper()
	const p = `hep_build_info{go_version="`
	i := strings.Index(text, p)
	if i < 0 {
		t.Fatalf("no hep_build_info in the exposition")
	}
	rest := text[i+len(p):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestMetricsListenRefused checks the loopback rule: metrics on a
// non-loopback address need --metrics-public, and a bad address is a usage
// error; either way hepd exits before it serves anything.
func TestMetricsListenRefused(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "hep.db")
	for _, tt := range []struct{ addr, want string }{
		{"0.0.0.0:0", "refusing metrics on non-loopback address"},
		{"192.0.2.1:9090", "--metrics-public"},
		{"127.0.0.1:notaport:x", "--metrics-listen"},
	} {
		r := runHepd(t, "", "serve", "--db", db, "--listen", "127.0.0.1:0", "--metrics-listen", tt.addr)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stdout, "listening") {
			t.Errorf("--metrics-listen %s: %v; want exit 2 naming %q", tt.addr, r, tt.want)
		}
	}
}
