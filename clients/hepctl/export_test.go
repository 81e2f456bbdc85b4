package main

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// noPart fails if the export left its partial file behind.
func noPart(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path + ".part"); !os.IsNotExist(err) {
		t.Errorf("%s.part is left behind (%v)", path, err)
	}
}

// TestExportCommand exports a patient through a real server in every
// format: the file is whole (the zip opens, the JSON parses, the PDF has
// its magic number), no .part is left, nothing is drawn on a standard error
// that is not a terminal, an existing file is kept unless --force, and
// refusals leave no file.
func TestExportCommand(t *testing.T) {
	c := newClinic(t) // Maria S., Europe/Lisbon
	dr, pid := c.drDir, c.pid
	now := time.Now()
	c.pushAsPhone(t,
		&hepv1.Mutation{Change: &hepv1.Mutation_Log{Log: &hepv1.ExerciseLog{Id: uuid.Must(uuid.NewV7()).String(), ExerciseId: "cat-cow",
			PerformTime: timestamppb.New(now.Add(-time.Hour)), SetsDone: 2, RepsDone: 10, PainBefore: proto.Int32(3), PainAfter: proto.Int32(2),
			Note: "=HYPERLINK(\"http://x\")"}}},
		&hepv1.Mutation{Change: &hepv1.Mutation_Checkin{Checkin: &hepv1.PainCheckin{Id: uuid.Must(uuid.NewV7()).String(),
			RecordTime: timestamppb.New(now.Add(-time.Hour)), Score: 4, Location: hepv1.PainLocation_PAIN_LOCATION_LOW_BACK}}},
	)
	dir := t.TempDir()

	// CSV, default range.
	zipPath := filepath.Join(dir, "maria.csv.zip")
	r := c.hepctl(t, dr, "", "export", pid, "--format", "csv", "-o", zipPath)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "wrote "+zipPath+" (application/zip, ") || r.stderr != "" {
		t.Fatalf("export csv: exit %d\nstdout: %s\nstderr: %q", r.code, r.stdout, r.stderr)
	}
	noPart(t, zipPath)
	z, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatalf("the zip does not open: %v", err)
	}
	sessions := 0
	for _, f := range z.File {
		if f.Name != "sessions.csv" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(rc).ReadAll()
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		sessions = len(recs) - 1
		if len(recs) == 2 && !strings.Contains(strings.Join(recs[1], ","), "'=HYPERLINK") {
			t.Errorf("the formula in the note is not inert: %v", recs[1])
		}
	}
	z.Close()
	if sessions != 1 {
		t.Errorf("sessions.csv has %d rows, want 1", sessions)
	}
	// The default range: the 90 days ending on the patient's today; two
	// records (the session and the check-in).
	today := now.In(lisbonZone(t))
	if want := "wrote " + zipPath + " (application/zip, " + today.AddDate(0, 0, -89).Format("2006-01-02") + " to " +
		today.Format("2006-01-02") + ", 2 records)\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}

	// An existing file is kept without --force, replaced with it.
	before, _ := os.ReadFile(zipPath)
	r = c.hepctl(t, dr, "", "export", pid, "--format", "fhir", "-o", zipPath)
	if r.code != 1 || !strings.Contains(r.stderr, "exists; use --force") {
		t.Errorf("export over an existing file: exit %d, stderr %q", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(zipPath); !bytes.Equal(before, after) {
		t.Error("the existing file changed")
	}
	c.ok(t, dr, "", "export", pid, "--format", "fhir", "-o", zipPath, "--force")
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []any  `json:"entry"`
	}
	if b, _ := os.ReadFile(zipPath); json.Unmarshal(b, &bundle) != nil || bundle.ResourceType != "Bundle" || len(bundle.Entry) == 0 {
		t.Errorf("--force did not write the FHIR Bundle")
	}
	noPart(t, zipPath)

	// PDF, an explicit range, -o json output.
	pdfPath := filepath.Join(dir, "visit.pdf")
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	out := c.ok(t, dr, "", "-o", "json", "export", pid, "--format", "PDF", "--from", day(now.AddDate(0, 0, -7)), "--to", day(now.AddDate(0, 0, 1)),
		"--out", pdfPath)
	var resp struct {
		Header struct {
			FileName  string `json:"file_name"`
			MediaType string `json:"media_type"`
		} `json:"header"`
	}
	decodeJSON(t, out, &resp)
	if resp.Header.MediaType != "application/pdf" || !strings.HasSuffix(resp.Header.FileName, ".pdf") || strings.Contains(resp.Header.FileName, "Maria") {
		t.Errorf("json output %s", out)
	}
	if b, _ := os.ReadFile(pdfPath); !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Error("not a PDF")
	}

	// Refusals: nothing written.
	other := t.TempDir()
	c.createClinician(t, c.adminDir, "other@clinic.example", "other-password")
	c.login(t, other, "other@clinic.example", "other-password")
	for _, tc := range []struct {
		name, dir string
		args      []string
		code      int
		stderr    string
	}{
		{"no format", dr, []string{"export", pid, "-o", "F"}, 2, "--format is required"},
		{"unknown format", dr, []string{"export", pid, "--format", "xml", "-o", "F"}, 2, "--format must be fhir, csv or pdf"},
		{"no file", dr, []string{"export", pid, "--format", "csv"}, 2, "-o FILE is required"},
		{"bad date", dr, []string{"export", pid, "--format", "csv", "--from", "2030-02-30", "-o", "F"}, 2, "is not a date"},
		{"reversed range", dr, []string{"export", pid, "--format", "csv", "--from", day(now), "--to", day(now.AddDate(0, 0, -3)), "-o", "F"}, 1,
			"hepctl: invalid argument: "},
		{"another clinician's patient", other, []string{"export", pid, "--format", "csv", "-o", "F"}, 1, "hepctl: not found: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "F")
			args := append([]string{}, tc.args...)
			for i, a := range args {
				if a == "F" {
					args[i] = target
				}
			}
			r := c.hepctl(t, tc.dir, "", args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Errorf("a refused export wrote %s", target)
			}
			noPart(t, target)
		})
	}
}

func lisbonZone(t *testing.T) *time.Location {
	z, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// fakeExport is an ExportService that sends a header and chunks, then
// fails or ends as told.
type fakeExport struct {
	hepv1.UnimplementedExportServiceServer
	chunks int
	fail   error
}

func (f *fakeExport) Export(_ *hepv1.ExportRequest, st hepv1.ExportService_ExportServer) error {
	total := int64(f.chunks * 100)
	if err := st.Send(&hepv1.ExportResponse{Header: &hepv1.ExportHeader{FileName: "x.csv.zip", MediaType: "application/zip",
		TotalRows: total, From: &hepv1.Date{Year: 2030, Month: 1, Day: 1}, To: &hepv1.Date{Year: 2030, Month: 3, Day: 31}}}); err != nil {
		return err
	}
	for i := range f.chunks {
		if err := st.Send(&hepv1.ExportResponse{Data: bytes.Repeat([]byte{'x'}, 1000), RowsDone: int64(i+1) * 100}); err != nil {
			return err
		}
	}
	return f.fail
}

// fakeServer serves svc on loopback and signs dir in to it.
func fakeServer(t *testing.T, svc hepv1.ExportServiceServer) (addr, dir string) {
	t.Helper()
	for _, v := range []string{"HEP_SERVER", "HEP_CA_FILE", "HEP_CONFIG_DIR"} {
		t.Setenv(v, "")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hepv1.RegisterExportServiceServer(s, svc)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	addr, dir = lis.Addr().String(), t.TempDir()
	a := &app{opts: globalOptions{configDir: dir}}
	if err := a.saveCredentials(&credentials{Server: addr, AccessToken: "token", AccessExpireTime: time.Now().Add(time.Hour),
		RefreshToken: "refresh", RefreshExpireTime: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return addr, dir
}

// TestExportCutStream: a stream that fails after some data leaves neither
// the file nor its .part, and says why.
func TestExportCutStream(t *testing.T) {
	addr, dir := fakeServer(t, &fakeExport{chunks: 5, fail: status.Error(codes.Unavailable, "server going away")})
	target := filepath.Join(t.TempDir(), "out.zip")
	s := &testServer{addr: addr}
	r := s.hepctl(t, dir, "", "export", "0190a5a0-0000-7000-8000-000000000000", "--format", "csv", "-o", target)
	if r.code != 1 || !strings.Contains(r.stderr, "server going away") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Error("a cut export left the file")
	}
	noPart(t, target)
}

// TestExportProgress: on a terminal, progress is drawn on standard error
// with \r, throttled, and ends at 100% on a line of its own.
func TestExportProgress(t *testing.T) {
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	t.Cleanup(func() { isTerminal = old })
	addr, dir := fakeServer(t, &fakeExport{chunks: 50})
	target := filepath.Join(t.TempDir(), "out.zip")
	s := &testServer{addr: addr}
	r := s.hepctl(t, dir, "", "export", "0190a5a0-0000-7000-8000-000000000000", "--format", "csv", "-o", target)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if b, err := os.ReadFile(target); err != nil || len(b) != 50*1000 {
		t.Errorf("file: %d bytes, %v", len(b), err)
	}
	draws := strings.Count(r.stderr, "\r")
	if draws < 2 || draws > 10 || !strings.HasSuffix(r.stderr, "100%  5,000 / 5,000 records\n") ||
		!strings.HasPrefix(r.stderr, "\rexport [") {
		t.Errorf("%d draws; stderr %q", draws, r.stderr)
	}
}

// TestProgressBar draws a bar directly.
func TestProgressBar(t *testing.T) {
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	t.Cleanup(func() { isTerminal = old })
	var b strings.Builder
	now := time.Unix(0, 0)
	p := newProgressBar(&b, 12345, func() time.Time { return now })
	p.update(0)
	p.update(100) // throttled
	now = now.Add(time.Second)
	p.update(6000)
	p.finish(12345)
	want := "\rexport [..............................]   0%  0 / 12,345 records" +
		"\rexport [##############................]  49%  6,000 / 12,345 records" +
		"\rexport [##############################] 100%  12,345 / 12,345 records\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
	// Not a terminal: nothing.
	isTerminal = func(io.Writer) bool { return false }
	var quiet strings.Builder
	q := newProgressBar(&quiet, 10, time.Now)
	q.update(5)
	q.finish(10)
	if quiet.Len() != 0 {
		t.Errorf("drawn on a non-terminal: %q", quiet.String())
	}
}
