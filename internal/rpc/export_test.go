package rpc

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

const (
	fhirFormat = hepv1.ExportFormat_EXPORT_FORMAT_FHIR
	csvFormat  = hepv1.ExportFormat_EXPORT_FORMAT_CSV
	pdfFormat  = hepv1.ExportFormat_EXPORT_FORMAT_PDF
)

// auditAfter reads the audit rows of the reads chain (where reads,
// exports among them, and failed calls are audited) after a sequence
// number straight from its file (ListAuditEvents would audit its own read).
func auditAfter(t testing.TB, path string, seq int64) []hep.AuditEvent {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+sqlite.ReadsPath(path)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT seq, actor_id, patient_id, action, resource, outcome, request_id FROM audit_events
		WHERE seq > ? ORDER BY seq`, seq)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []hep.AuditEvent
	for rows.Next() {
		var ev hep.AuditEvent
		if err := rows.Scan(&ev.Seq, &ev.ActorID, &ev.PatientID, &ev.Action, &ev.Resource, &ev.Outcome, &ev.RequestID); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *exportEnv) auditAfter(seq int64) []hep.AuditEvent { return auditAfter(e.t, e.path, seq) }

// lastSeq is the newest audit sequence number.
func (e *exportEnv) lastSeq() int64 {
	e.t.Helper()
	evs := e.auditAfter(0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// TestExportFixtureFormats exports the rich fixture through the RPC in
// every format: the bytes equal internal/export.Write's for the same
// snapshot inputs (same store, clock, actor and range); the header names
// the file without the patient's name; each export leaves exactly one
// audit row (the snapshot's); and each file opens as what it claims to be.
func TestExportFixtureFormats(t *testing.T) {
	e := newExportEnv(t, exportEnvOptions{})
	f := e.f
	for _, tc := range []struct {
		format hepv1.ExportFormat
		domain hep.ExportFormat
	}{{fhirFormat, hep.ExportFHIR}, {csvFormat, hep.ExportCSV}, {pdfFormat, hep.ExportPDF}} {
		t.Run(string(tc.domain), func(t *testing.T) {
			before := e.lastSeq()
			got, err := e.export(t.Context(), e.fixtureRequest(tc.format))
			if err != nil {
				t.Fatal(err)
			}
			evs := e.auditAfter(before)
			// The session's own rows aside, the export wrote one row.
			if len(evs) != 1 || evs[0].Action != "export.export:"+string(tc.domain) || evs[0].Resource != "patients/"+f.Patient.ID+"/export" ||
				evs[0].ActorID != f.Clinician.ID || evs[0].PatientID != f.Patient.ID || evs[0].Outcome != hep.OutcomeOK || evs[0].RequestID == "" {
				t.Errorf("audit rows %+v, want the export's one", evs)
			}

			// The same snapshot inputs, written directly.
			actor := hep.WithActor(t.Context(), hep.Actor{ID: f.Clinician.ID, Role: hep.RoleClinician, Action: "export.export"})
			snap, err := e.store.ExportSnapshot(actor, f.Patient.ID, f.From, f.To, string(tc.domain))
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := export.Write(t.Context(), &want, tc.domain, &snap, export.StoreSource(e.store, &snap), export.Options{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.data, want.Bytes()) {
				t.Errorf("the RPC's %d bytes differ from export.Write's %d", len(got.data), want.Len())
			}
			h := got.header
			if h.GetFileName() != export.FileName(tc.domain, &snap) || h.GetMediaType() != export.MediaType(tc.domain) ||
				h.GetTotalRows() != export.TotalRows(&snap) || dateFromProto(h.GetFrom()) != f.From || dateFromProto(h.GetTo()) != f.To {
				t.Errorf("header %v", h)
			}
			for _, part := range strings.Fields(f.Patient.DisplayName) {
				if strings.Contains(h.GetFileName(), part) {
					t.Errorf("file name %q holds the patient's name", h.GetFileName())
				}
			}

			switch tc.domain {
			case hep.ExportFHIR:
				checkFHIRCounts(t, got.data, &snap)
			case hep.ExportCSV:
				checkCSVZip(t, got.data, &snap)
			case hep.ExportPDF:
				checkPDF(t, got.data, "2030-03-18 to 2030-04-14")
			}
		})
	}
}

// checkFHIRCounts parses a Bundle and counts its resources against the
// snapshot: a Procedure per session, an Observation per check-in and per
// pain score of a session, a CarePlan per plan version, a DetectedIssue
// per decision.
func checkFHIRCounts(t *testing.T, doc []byte, snap *hep.ExportSnapshot) {
	t.Helper()
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				Component    []any  `json:"component"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(doc, &b); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	count := map[string]int{}
	for _, en := range b.Entry {
		count[en.Resource.ResourceType]++
	}
	if b.ResourceType != "Bundle" || int64(count["Procedure"]) != snap.LogCount || count["CarePlan"] != len(snap.Plans) ||
		count["DetectedIssue"] != len(snap.Decisions) || int64(count["Observation"]) < snap.CheckinCount || count["Patient"] != 1 {
		t.Errorf("resources %v; snapshot: %d sessions, %d check-ins, %d plans, %d decisions", count, snap.LogCount,
			snap.CheckinCount, len(snap.Plans), len(snap.Decisions))
	}
}

// checkCSVZip opens the zip: every file, sessions and check-ins with one
// row per record of the snapshot.
func checkCSVZip(t *testing.T, data []byte, snap *hep.ExportSnapshot) {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the zip does not open: %v", err)
	}
	rows := map[string]int{}
	for _, zf := range z.File {
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(r).ReadAll()
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
		rows[zf.Name] = len(recs) - 1
	}
	responses := 0
	for _, o := range snap.Outcomes {
		responses += len(o.Responses)
	}
	files := []string{export.CSVPatient, export.CSVSessions, export.CSVCheckins, export.CSVScreening, export.CSVPlanItems,
		export.CSVDecisions, export.CSVClearances, export.CSVAlerts, export.CSVOccurrences, export.CSVResponses, export.CSVAnswers, export.CSVMessages}
	for _, f := range files {
		if _, ok := rows[f]; !ok {
			t.Errorf("the zip has no %s", f)
		}
	}
	if int64(rows[export.CSVSessions]) != snap.LogCount || int64(rows[export.CSVCheckins]) != snap.CheckinCount || len(z.File) != len(files) ||
		rows[export.CSVOccurrences] != len(snap.AlertOccurrences) || rows[export.CSVAlerts] != len(snap.Alerts) || rows[export.CSVResponses] != responses {
		t.Errorf("CSV rows %v; snapshot: %d sessions, %d check-ins", rows, snap.LogCount, snap.CheckinCount)
	}
}

// checkPDF checks the magic number and, with pdftotext, the period.
func checkPDF(t *testing.T, data []byte, period string) {
	t.Helper()
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", data[:min(len(data), 16)])
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext is missing on CI (.ci/tools.sh installs poppler-utils)")
		}
		t.Log("pdftotext is missing: the PDF's text is not checked here")
		return
	}
	path := filepath.Join(t.TempDir(), "summary.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-raw", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	if text := regexp.MustCompile(`\s+`).ReplaceAllString(string(out), " "); !strings.Contains(text, period) {
		t.Errorf("the PDF does not show the period %q", period)
	}
}

// TestExportDefaultRange: without from and to, the export covers the 90
// days ending on the patient's today (Berlin; the clock is 2030-04-20).
func TestExportDefaultRange(t *testing.T) {
	e := newExportEnv(t, exportEnvOptions{bufconn: true})
	got, err := e.export(t.Context(), &hepv1.ExportRequest{PatientId: e.f.Patient.ID, Format: csvFormat})
	if err != nil {
		t.Fatal(err)
	}
	from, to := dateFromProto(got.header.GetFrom()), dateFromProto(got.header.GetTo())
	if to != (hep.Date{Year: 2030, Month: 4, Day: 20}) || from != (hep.Date{Year: 2030, Month: 1, Day: 21}) {
		t.Errorf("default range %s to %s", from, to)
	}
	// Only from: to is still the patient's today.
	got, err = e.export(t.Context(), &hepv1.ExportRequest{PatientId: e.f.Patient.ID, Format: csvFormat, From: dateToProto(e.f.From)})
	if err != nil {
		t.Fatal(err)
	}
	if from, to := dateFromProto(got.header.GetFrom()), dateFromProto(got.header.GetTo()); from != e.f.From || to != (hep.Date{Year: 2030, Month: 4, Day: 20}) {
		t.Errorf("from only: %s to %s", from, to)
	}
}

// Fifty thousand sessions (and 12,500 check-ins) of the fixture's patient,
// from 2025-01-01, and the range that holds them.
const bigSessions, bigCheckins = 50000, 12500

var (
	bigStart = time.Date(2025, 1, 1, 7, 0, 0, 0, time.UTC)
	bigFrom  = &hepv1.Date{Year: 2025, Month: 1, Day: 1}
	bigTo    = &hepv1.Date{Year: 2028, Month: 12, Day: 31}
)

func (e *exportEnv) seedBig(sessions, checkins int) {
	e.t.Helper()
	start := time.Now()
	seedRecords(e.t, e.path, e.f.Patient.ID, e.f.Device.ID, bigStart, sessions, checkins)
	e.t.Logf("seeded %d sessions and %d check-ins in %v", sessions, checkins, time.Since(start).Round(time.Millisecond))
}

// TestExportStreamsBounded exports 50,000 sessions as FHIR (about 150 MB)
// to a client that reads slowly (a millisecond per message, 64 KiB
// flow-control windows): the process's heap, sampled every 5 ms, never
// grows by more than 32 MiB over its baseline after GC, and its live heap
// (after a GC) when the store's last page has been read has grown by less
// than 8 MiB; the first data chunk reaches the client before the last page
// is read.
func TestExportStreamsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 50,000 sessions")
	}
	e := newExportEnv(t, exportEnvOptions{smallWindows: true})
	e.seedBig(bigSessions, bigCheckins)

	var liveAtLast atomic.Uint64
	hook := func() {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		liveAtLast.Store(m.HeapAlloc)
	}
	e.rec.onLastPage.Store(&hook)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peakAlloc, peakInuse uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peakAlloc, peakInuse = max(peakAlloc, m.HeapAlloc), max(peakInuse, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})

	req := &hepv1.ExportRequest{PatientId: e.f.Patient.ID, Format: fhirFormat, From: bigFrom, To: bigTo}
	st, err := e.client.Export(e.ctx(t.Context()), req)
	if err != nil {
		t.Fatal(err)
	}
	var total, bytesIn, rowsDone int64
	var firstChunk time.Time
	messages := 0
	for {
		m, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		messages++
		if h := m.GetHeader(); h != nil {
			total = h.GetTotalRows()
			continue
		}
		if firstChunk.IsZero() {
			firstChunk = time.Now()
		}
		bytesIn += int64(len(m.GetData()))
		rowsDone = m.GetRowsDone()
		time.Sleep(time.Millisecond) // a slow reader
	}
	close(stop)
	wg.Wait()

	lastRead := time.Unix(0, e.rec.lastRead.Load())
	growth := int64(peakAlloc) - int64(base.HeapAlloc)
	inuse := int64(peakInuse) - int64(base.HeapInuse)
	live := int64(liveAtLast.Load()) - int64(base.HeapAlloc)
	t.Logf("%d messages, %d MB; %d rows; %d pages; the first chunk came %v before the last page was read", messages,
		bytesIn>>20, rowsDone, e.rec.pages.Load(), lastRead.Sub(firstChunk).Round(time.Millisecond))
	t.Logf("heap over the baseline (%d MiB after GC): peak HeapAlloc +%.1f MiB, peak HeapInuse +%.1f MiB, live after GC at the last page +%.1f MiB",
		base.HeapAlloc>>20, float64(growth)/(1<<20), float64(inuse)/(1<<20), float64(live)/(1<<20))

	if total < bigSessions+bigCheckins || rowsDone != total {
		t.Errorf("rows: %d done of %d; want at least %d", rowsDone, total, bigSessions+bigCheckins)
	}
	if bytesIn < 100<<20 {
		t.Errorf("only %d bytes: the bound below would mean little", bytesIn)
	}
	if !firstChunk.Before(lastRead) {
		t.Errorf("the first chunk arrived at %v, after the last page was read at %v", firstChunk, lastRead)
	}
	const peakBound, liveBound = 32 << 20, 8 << 20
	if growth > peakBound || inuse > peakBound {
		t.Errorf("heap grew by %d (HeapAlloc) / %d (HeapInuse) bytes, over %d", growth, inuse, peakBound)
	}
	if live > liveBound {
		t.Errorf("live heap at the last page grew by %d bytes, over %d", live, liveBound)
	}
}

// TestExportClientCancels: a client that cancels mid-stream ends the call
// on the server: no store page is read after it, every goroutine of the
// call ends, nothing is logged at error level (and no log line holds the
// patient's data), and the audit trail has the export's OK row followed by
// its CANCELED row.
func TestExportClientCancels(t *testing.T) {
	const sessions, checkins = 10000, 2500 // about 30 MB of FHIR
	e := newExportEnv(t, exportEnvOptions{smallWindows: true})
	e.seedBig(sessions, checkins)
	// A whole small export first, so the connection's goroutines exist.
	if _, err := e.export(t.Context(), e.fixtureRequest(csvFormat)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	baseGoroutines := runtime.NumGoroutine()
	before := e.lastSeq()
	pagesBefore := e.rec.pages.Load()

	ctx, cancel := context.WithCancel(t.Context())
	st, err := e.client.Export(e.ctx(ctx), &hepv1.ExportRequest{PatientId: e.f.Patient.ID, Format: fhirFormat, From: bigFrom, To: bigTo})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 { // the header and three chunks
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if _, err := st.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("after cancel: %v", err)
	}

	// The server's call ends: its log line comes, with code Canceled.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.log.String(), `"method":"/hep.v1.ExportService/Export","code":"Canceled"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never ended the call; log:\n%s", e.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	pages := e.rec.pages.Load() - pagesBefore
	time.Sleep(200 * time.Millisecond)
	if later := e.rec.pages.Load() - pagesBefore; later != pages {
		t.Errorf("%d pages read after the call ended (%d before)", later-pages, pages)
	}
	if all := int64(sessions/export.DefaultPageSize + checkins/export.DefaultPageSize); pages >= all {
		t.Errorf("%d pages read: the export ran to its end (%d pages)", pages, all)
	}
	for {
		n := runtime.NumGoroutine()
		if n <= baseGoroutines {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the export:\n%s", n, baseGoroutines, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}

	logs := e.log.String()
	if strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", logs)
	}
	for _, s := range []string{e.f.Patient.DisplayName, e.f.Patient.ExternalMRN, "a note of some length"} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds patient data %q", s)
		}
	}

	evs := e.auditAfter(before)
	if len(evs) != 2 || evs[0].Action != "export.export:FHIR" || evs[0].Outcome != hep.OutcomeOK ||
		evs[1].Action != "export.export" || evs[1].Outcome != "CANCELED" || evs[1].PatientID != e.f.Patient.ID ||
		evs[1].RequestID != evs[0].RequestID {
		t.Errorf("audit rows %+v, want the export's OK row then its CANCELED row", evs)
	}
}

// TestExportBadInput: malformed export requests get INVALID_ARGUMENT
// naming the field (or NOT_FOUND / PERMISSION_DENIED) before anything is
// sent, and change no domain row.
func TestExportBadInput(t *testing.T) {
	e := newEnv(t)
	const m = hepv1.ExportService_Export_FullMethodName
	date := func(y, mo, d int32) *hepv1.Date { return &hepv1.Date{Year: y, Month: mo, Day: d} }
	req := func(format hepv1.ExportFormat, from, to *hepv1.Date) *hepv1.ExportRequest {
		return &hepv1.ExportRequest{PatientId: e.patientA, Format: format, From: from, To: to}
	}
	unknownID := "0190a5a0-0000-7000-8000-000000000000"
	cases := []badCase{
		{"ExportFormatUnspecified", callerClinA, m, req(0, nil, nil), codes.InvalidArgument, "format", ""},
		{"ExportFormatUnknown", callerClinA, m, req(99, nil, nil), codes.InvalidArgument, "format", ""},
		{"ExportFormatUnknownNegative", callerClinA, m, req(-1, nil, nil), codes.InvalidArgument, "format", ""},
		{"ExportReversed", callerClinA, m, req(fhirFormat, date(2030, 5, 10), date(2030, 5, 1)), codes.InvalidArgument, "to", ""},
		{"Export3661Days", callerClinA, m, req(csvFormat, date(2020, 1, 1), date(2030, 1, 8)), codes.InvalidArgument, "from", ""},
		{"Export3660DaysFromOnlyTooLong", callerClinA, m, req(csvFormat, date(2001, 1, 1), nil), codes.InvalidArgument, "from", ""},
		{"ExportFromAfterToday", callerClinA, m, req(pdfFormat, date(2100, 1, 1), nil), codes.InvalidArgument, "to", ""},
		{"ExportFeb30", callerClinA, m, req(fhirFormat, date(2030, 2, 30), date(2030, 3, 10)), codes.InvalidArgument, "from", ""},
		{"ExportMonth13", callerClinA, m, req(fhirFormat, nil, date(2030, 13, 1)), codes.InvalidArgument, "to", ""},
		{"ExportYear1999", callerClinA, m, req(fhirFormat, date(1999, 12, 1), date(2000, 1, 1)), codes.InvalidArgument, "from", ""},
		{"ExportDayZero", callerClinA, m, req(fhirFormat, date(2030, 1, 0), nil), codes.InvalidArgument, "from", ""},
		{"ExportEmptyDate", callerClinA, m, req(fhirFormat, &hepv1.Date{}, nil), codes.InvalidArgument, "from", ""},
		{"ExportBadFormatAndDay", callerClinA, m, req(0, date(2030, 2, 30), nil), codes.InvalidArgument, "from", ""},
		{"ExportBadPatient", callerClinA, m, &hepv1.ExportRequest{PatientId: "patient-a", Format: fhirFormat}, codes.InvalidArgument, "patient_id", ""},
		{"ExportNoPatient", callerClinA, m, &hepv1.ExportRequest{Format: fhirFormat}, codes.InvalidArgument, "patient_id", ""},
		{"ExportUnknownPatient", callerClinA, m, &hepv1.ExportRequest{PatientId: unknownID, Format: fhirFormat}, codes.NotFound, "", "NOT_FOUND"},
		{"ExportOtherTeam", callerClinB, m, req(fhirFormat, nil, nil), codes.NotFound, "", "NOT_FOUND"},
		{"ExportOtherTeamBadFormat", callerClinB, m, req(0, nil, nil), codes.NotFound, "", "NOT_FOUND"},
		{"ExportByDevice", callerPatientA, m, &hepv1.ExportRequest{Format: fhirFormat}, codes.PermissionDenied, "", "PERMISSION_DENIED"},
		{"ExportByAdmin", callerAdmin, m, req(fhirFormat, nil, nil), codes.PermissionDenied, "", "PERMISSION_DENIED"},
		{"ExportInvalidUTF8", callerClinA, m, rawMsg(&hepv1.ExportRequest{Format: fhirFormat}, 1, "\xff\xfe"), codes.InvalidArgument, "patient_id", ""},
	}
	for _, c := range cases {
		if _, ok := c.req.(*rawRequest); ok {
			// runBadCases sends raw requests unary; a stream needs callStream.
			t.Run(c.name, func(t *testing.T) {
				_, auditBefore := e.snapshot()
				err := call(e.as(c.caller), e.conn, c.method, c.req)
				if fv := violations(err); status.Code(err) != codes.InvalidArgument || len(fv) != 1 || fv[0].Field != c.field {
					t.Errorf("%v, want INVALID_ARGUMENT naming %s", err, c.field)
				}
				// As in unary calls, invalid UTF-8 is refused unaudited.
				if _, after := e.snapshot(); after != auditBefore {
					t.Errorf("audit rows %d -> %d", auditBefore, after)
				}
			})
			continue
		}
		runBadCases(t, e, []badCase{c})
	}

	// Nothing is sent before the refusal: the first Recv is the error, and
	// the refusal is audited with its outcome.
	_, auditBefore := e.snapshot()
	st, err := hepv1.NewExportServiceClient(e.conn).Export(e.as(callerClinA), req(fhirFormat, date(2030, 5, 10), date(2030, 5, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := st.Recv(); status.Code(err) != codes.InvalidArgument || msg != nil {
		t.Errorf("first Recv: %v, %v", msg, err)
	}
	if _, after := e.snapshot(); after != auditBefore+1 {
		t.Errorf("audit rows %d -> %d, want one failure row", auditBefore, after)
	}
	evs := auditAfter(t, e.dbPath, 0)
	if last := evs[len(evs)-1]; last.Action != "export.export" || last.Outcome != "INVALID_ARGUMENT" || last.ActorID != e.clinAID {
		t.Errorf("last audit row %+v", last)
	}
}
