//go:build unix

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/export/exporttest"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
)

// TestHepdExport runs the real hepd binary's export against a database
// file holding the rich export fixture: each format comes out whole (and
// equal in content to the store's snapshot), audited as local:hepd, with no
// .part left; refusals (an unknown patient, an existing file, a database
// that needs migrating, a missing database) write nothing and change no
// schema.
func TestHepdExport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hep.db")
	var store *sqlite.Store
	f := exporttest.Build(t, func(clock hep.Clock) hep.Store {
		s, err := sqlite.Open(context.Background(), db, sqlite.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		store = s
		return s
	})
	// What the export must hold, from the store itself.
	snap, err := store.ExportSnapshot(f.Doctor, f.Patient.ID, f.From, f.To, "CSV")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	pid, from, to := f.Patient.ID, f.From.String(), f.To.String()

	// FHIR: the Bundle's sessions and plans are the snapshot's.
	fhirPath := filepath.Join(dir, "out", "visit.fhir.json")
	os.Mkdir(filepath.Dir(fhirPath), 0o700)
	r := runHepd(t, "", "export", "--db", db, pid, "--format", "fhir", "--from", from, "--to", to, "-o", fhirPath)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "wrote "+fhirPath+" (application/fhir+json, "+from+" to "+to+", ") {
		t.Fatalf("hepd export fhir: %v", r)
	}
	noPartFile(t, fhirPath)
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	b, err := os.ReadFile(fhirPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatalf("the Bundle does not parse: %v", err)
	}
	count := map[string]int{}
	for _, e := range bundle.Entry {
		count[e.Resource.ResourceType]++
	}
	if bundle.ResourceType != "Bundle" || int64(count["Procedure"]) != snap.LogCount || count["CarePlan"] != len(snap.Plans) ||
		count["DetectedIssue"] != len(snap.Decisions) {
		t.Errorf("resources %v; the store has %d sessions, %d plan versions, %d decisions", count, snap.LogCount, len(snap.Plans), len(snap.Decisions))
	}
	if bytes.Contains(b, []byte(f.Other.ID)) {
		t.Error("the Bundle holds the other patient")
	}
	// local:hepd is no account: no Practitioner stands for it.
	if bytes.Contains(b, []byte("local:hepd")) {
		t.Error("the Bundle names local:hepd")
	}
	if st, _ := os.Stat(fhirPath); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode())
	}

	// CSV: the zip opens and holds one session row per live session.
	csvPath := filepath.Join(dir, "visit.csv.zip")
	if r := runHepd(t, "", "export", pid, "--db", db, "--format", "CSV", "--from", from, "--to", to, "--out", csvPath); r.code != 0 {
		t.Fatalf("hepd export csv: %v", r)
	}
	z, err := zip.OpenReader(csvPath)
	if err != nil {
		t.Fatalf("the zip does not open: %v", err)
	}
	for _, zf := range z.File {
		if zf.Name == export.CSVSessions {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(rc).ReadAll()
			rc.Close()
			if err != nil || int64(len(recs)-1) != snap.LogCount {
				t.Errorf("sessions.csv: %d rows (%v), want %d", len(recs)-1, err, snap.LogCount)
			}
		}
	}
	z.Close()

	// PDF: opens, and shows the period.
	pdfPath := filepath.Join(dir, "visit.pdf")
	if r := runHepd(t, "", "export", "--db", db, pid, "--format", "pdf", "--from", from, "--to", to, "-o", pdfPath); r.code != 0 {
		t.Fatalf("hepd export pdf: %v", r)
	}
	pdf, _ := os.ReadFile(pdfPath)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	if pdftotext, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(pdftotext, "-raw", pdfPath, "-").CombinedOutput()
		text := regexp.MustCompile(`\s+`).ReplaceAllString(string(out), " ")
		if err != nil || !strings.Contains(text, from+" to "+to) || !strings.Contains(text, "by local:hepd (admin)") {
			t.Errorf("pdftotext: %v; the period or the exporter is missing", err)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("pdftotext is missing on CI")
	}

	// Audited: one row per export, by local:hepd, naming the format.
	conn, err := sql.Open("sqlite", "file:"+sqlite.ReadsPath(db)+"?mode=ro") // exports are reads: the reads chain
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query("SELECT action FROM audit_events WHERE actor_id = 'local:hepd' AND resource = ? ORDER BY seq", "patients/"+pid+"/export")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		actions = append(actions, a)
	}
	rows.Close()
	if strings.Join(actions, " ") != "export.export:FHIR export.export:CSV export.export:PDF" {
		t.Errorf("audit actions %v", actions)
	}

	// Refusals.
	before, _ := os.ReadFile(fhirPath)
	r = runHepd(t, "", "export", "--db", db, pid, "--format", "fhir", "-o", fhirPath)
	if r.code != 1 || !strings.Contains(r.stderr, "use --force") {
		t.Errorf("over an existing file: %v", r)
	}
	if after, _ := os.ReadFile(fhirPath); !bytes.Equal(before, after) {
		t.Error("the existing file changed")
	}
	if r := runHepd(t, "", "export", "--db", db, pid, "--format", "fhir", "-o", fhirPath, "--force", "--from", from, "--to", to); r.code != 0 {
		t.Errorf("--force: %v", r)
	}
	gone := filepath.Join(dir, "gone.pdf")
	r = runHepd(t, "", "export", "--db", db, "0190a5a0-0000-7000-8000-000000000000", "--format", "pdf", "-o", gone)
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown patient: %v", r)
	}
	noFile(t, gone)
	noPartFile(t, gone)
	r = runHepd(t, "", "export", "--db", db, pid, "--format", "pdf", "--from", to, "--to", from, "-o", gone)
	if r.code != 1 || !strings.Contains(r.stderr, "must not be before from") {
		t.Errorf("reversed range: %v", r)
	}
	noFile(t, gone)
	for _, args := range [][]string{
		{"export", "--db", db, pid, "-o", gone},
		{"export", "--db", db, pid, "--format", "xml", "-o", gone},
		{"export", "--db", db, "--format", "pdf", "-o", gone},
		{"export", "--db", db, pid, "--format", "pdf"},
		{"export", "--db", db, pid, "--format", "pdf", "--from", "2030-02-30", "-o", gone},
	} {
		if r := runHepd(t, "", args...); r.code != 2 {
			t.Errorf("hepd %s: %v, want a usage error", strings.Join(args, " "), r)
		}
	}
	noFile(t, gone)

	// A missing database is not created.
	missing := filepath.Join(dir, "nope.db")
	if r := runHepd(t, "", "export", "--db", missing, pid, "--format", "csv", "-o", gone); r.code != 1 {
		t.Errorf("missing database: %v", r)
	}
	noFile(t, missing)

	// A database one migration behind is refused, and stays behind.
	old := filepath.Join(dir, "old.db")
	if r := runHepd(t, "", "backup", "--db", db, "--out", old); r.code != 0 {
		t.Fatalf("backup: %v", r)
	}
	oldConn, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	latest := sqlite.LatestVersion()
	if _, err := oldConn.Exec("DELETE FROM schema_migrations WHERE version = ?", latest); err != nil {
		t.Fatal(err)
	}
	oldConn.Close()
	r = runHepd(t, "", "export", "--db", old, pid, "--format", "csv", "-o", gone)
	if r.code != 1 || !strings.Contains(r.stderr, "hepd migrate") {
		t.Errorf("old schema: %v", r)
	}
	noFile(t, gone)
	oldConn, _ = sql.Open("sqlite", "file:"+old+"?mode=ro")
	var v int
	oldConn.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&v)
	oldConn.Close()
	if v != latest-1 {
		t.Errorf("the old database is at version %d after the refused export, want %d", v, latest-1)
	}
}

func noFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s exists (%v)", path, err)
	}
}

func noPartFile(t *testing.T, path string) {
	t.Helper()
	noFile(t, path+".part")
}
