package export_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
)

// TestPDFSummary exports the rich fixture's visit summary and reads it back
// with pdftotext (Debian's poppler-utils): the file opens and holds the
// patient, the period, the adherence figures (overall and per week), the
// pain trend, every gating decision and clearance, the alerts and how they
// were handled, and the signature line. It also renders the first page
// with pdftoppm, as the closing note's visual check did; set
// HEP_EXPORT_KEEP to a directory to keep the PDF, its text and the PNGs.
func TestPDFSummary(t *testing.T) {
	t.Parallel()
	pdftotext := tool(t, "pdftotext", "apt-get install poppler-utils; .ci/tools.sh does it on CI")
	pdftoppm := tool(t, "pdftoppm", "apt-get install poppler-utils")
	e := newEnv(t, hep.ExportPDF)
	out := e.export(t, hep.ExportPDF, 0)
	if !strings.HasPrefix(string(out), "%PDF-") {
		t.Fatalf("not a PDF: %q", out[:min(len(out), 16)])
	}
	dir := t.TempDir()
	if keep := os.Getenv("HEP_EXPORT_KEEP"); keep != "" {
		dir = keep
	}
	path := filepath.Join(dir, "summary.pdf")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	// -raw keeps the content stream's order: a table row's cells one after
	// the other, each cell's wrapped lines in turn.
	raw, err := exec.Command(pdftotext, "-raw", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, raw)
	}
	os.WriteFile(filepath.Join(dir, "summary.txt"), raw, 0o600)
	// Cells wrap: compare with runs of white space collapsed.
	text := regexp.MustCompile(`\s+`).ReplaceAllString(string(raw), " ")
	has := func(what, s string) {
		t.Helper()
		if !strings.Contains(text, s) {
			t.Errorf("the summary lacks %s: %q", what, s)
		}
	}

	s := e.snap
	p := hep.ComputeProgress(s.Facts, s.Thresholds, s.GenerateTime)
	has("the patient", s.Patient.DisplayName)
	has("the MRN", "MRN-0042")
	has("the period", "2030-03-18 to 2030-04-14")
	// Accounts by name (hep.ExportSnapshot.Names), never by bare id.
	has("the generation", "2030-04-20 12:00 by Dr Rivera (clinician)")
	has("plan version 1's author", "Version 1 — written 2030-03-11 09:00 by Dr Rivera")
	has("the acknowledging clinician", "by Dr Rivera: Called her")
	if strings.Contains(text, e.f.Clinician.ID) {
		t.Errorf("the summary names the clinician by id %s", e.f.Clinician.ID)
	}
	has("overall adherence", fmt.Sprintf("%.0f%% overall: %d of %d prescribed sessions completed", p.Adherence.Percent,
		p.Adherence.Completed, p.Adherence.Prescribed))
	if p.Adherence.Prescribed == 0 || len(p.Weeks) != 4 {
		t.Fatalf("fixture progress: %+v, %d weeks", p.Adherence, len(p.Weeks))
	}
	for _, w := range p.Weeks {
		has("a week's adherence", fmt.Sprintf("%s to %s %d %d %d %d %.0f%%", w.Start, w.End, w.Adherence.Prescribed,
			w.Adherence.Completed, w.Adherence.Logged, w.Adherence.LoggedWhileSuspended, w.Adherence.Percent))
		if w.Checkins > 0 {
			has("a week's pain", fmt.Sprintf("%d %.1f %.1f", w.Checkins, w.PainMean, w.PainMedian))
		}
	}
	has("the pain change", "improved (clinically important)")
	for _, it := range p.Items {
		has("an exercise's pain response", it.ExerciseName)
		a := it.Adherence
		has("an exercise's sessions, those logged while suspended apart", fmt.Sprintf("%d / %d %d (%d) %d", a.Completed, a.Prescribed,
			a.Logged+a.LoggedWhileSuspended, a.LoggedWhileSuspended, it.ScoredSessions))
	}
	// The fixture logs child's pose while it is suspended: the summary's
	// session count says so, and the count is the sum the tables show.
	if p.Adherence.LoggedWhileSuspended == 0 || s.LogCount != int64(p.Adherence.Logged+p.Adherence.LoggedWhileSuspended) {
		t.Errorf("fixture: %d sessions, progress %+v; want some logged while suspended, adding up", s.LogCount, p.Adherence)
	}
	has("the sessions logged", fmt.Sprintf("Sessions logged %d, of which %d logged while the item was suspended", s.LogCount,
		p.Adherence.LoggedWhileSuspended))
	for _, g := range s.Decisions {
		has("a decision", g.DecideTime.In(e.f.Zone).Format("2006-01-02 15:04")+" "+exerciseName(e, g.Decision.ExerciseID)+" "+
			strings.ToLower(strings.ReplaceAll(string(g.Decision.Outcome), "_", " ")))
	}
	for _, c := range s.Clearances {
		has("a clearance", c.Reason)
	}
	for _, a := range s.Alerts {
		has("an alert", a.CreateTime.In(e.f.Zone).Format("2006-01-02 15:04"))
		if a.Occurrences > 1 {
			has("a coalesced alert's count", fmt.Sprintf("%d times, latest %s", a.Occurrences, a.LatestTime.In(e.f.Zone).Format("2006-01-02 15:04")))
		}
		if a.Status == hep.AlertAcknowledged {
			has("an acknowledgement", a.AckNote)
		}
	}
	has("the present flags", "Present: pregnancy, hypertension.")
	has("plan version 2", "Version 2 — written 2030-03-25 10:00")
	has("the signature line", "Clinician (name) Signature Date")

	png := filepath.Join(dir, "page")
	old, _ := filepath.Glob(png + "-*.png")
	for _, f := range old {
		os.Remove(f)
	}
	if raw, err := exec.Command(pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "2", path, png).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, raw)
	}
	if m, _ := filepath.Glob(png + "-*.png"); len(m) != 2 {
		t.Errorf("pdftoppm made %v", m)
	}
}

func exerciseName(e *env, id string) string {
	if x, ok := e.snap.Exercises[id]; ok {
		return x.Name
	}
	return id
}

// pdfText writes a PDF to a file and returns pdftotext's reading of it,
// white space collapsed.
func pdfText(t *testing.T, pdf []byte, name string) string {
	t.Helper()
	pdftotext := tool(t, "pdftotext", "apt-get install poppler-utils; .ci/tools.sh does it on CI")
	dir := t.TempDir()
	if keep := os.Getenv("HEP_EXPORT_KEEP"); keep != "" {
		dir = keep
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	raw, err := exec.Command(pdftotext, "-raw", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, raw)
	}
	return regexp.MustCompile(`\s+`).ReplaceAllString(string(raw), " ")
}

// TestPDFOutcomes reads the fixture's "Outcome measures" section: the
// instrument, its MCID and source, and one table row per response with
// the score (hep.ScoreResponse's), the change from the baseline and what
// it means against the MCID.
func TestPDFOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hep.ExportPDF)
	text := pdfText(t, e.export(t, hep.ExportPDF, 0), "outcomes.pdf")
	psfs, _ := hep.LookupInstrument(hep.InstrumentPSFS)
	i := strings.Index(text, "Outcome measures")
	if i < 0 {
		t.Fatalf("no Outcome measures section in %q", text)
	}
	section := text[i:]
	if j := strings.Index(section, "Plan and its changes"); j > 0 {
		section = section[:j]
	}
	for _, s := range []string{psfs.Title, "from 2030-03-11, every 2 weeks (active)", "MCID 2 points (source: Stratford et al.",
		"baseline 4 on 2030-03-11, latest 7 on 2030-04-08: +3 points, improved", "within the MCID of the baseline (± 2 points)"} {
		if !strings.Contains(section, s) {
			t.Errorf("the section lacks %q:\n%s", s, section)
		}
	}
	rs := e.snap.Outcomes[0].Responses
	change := []string{"baseline", "-2 worsened", "+3 improved"}
	for k, r := range rs {
		sc := hep.ScoreResponse(psfs, r.Answers)
		slot := r.Slot.String()
		if k == 0 {
			slot += " (before this period)"
		}
		row := fmt.Sprintf("%s %s %g %s", slot, r.CorrectedAuthoredTime.In(e.f.Zone).Format("2006-01-02 15:04"), sc.Value, change[k])
		if !strings.Contains(section, row) {
			t.Errorf("the section lacks the row %q:\n%s", row, section)
		}
	}
	if strings.Contains(section, "not scorable") {
		t.Error("a not scorable mark in a series where every response scores")
	}
}

// TestPDFOutcomesODI: an unscorable response says so, a skipped section
// is counted, the lower-is-better change reads as improved; a snapshot
// without assignments has no section.
func TestPDFOutcomesODI(t *testing.T) {
	var buf bytes.Buffer
	if err := export.WritePDF(t.Context(), &buf, odiSnapshot(), &synthetic{}, export.Options{}); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes(), "odi.pdf")
	for _, s := range []string{"Oswestry Disability Index", "10 points or 30% of the baseline", "lower is better",
		"2026-01-05 2026-01-05 10:00 60 (1 skipped) baseline", "2026-02-02 2026-02-02 10:00 not scorable (too few items answered)",
		"2026-03-02 2026-03-02 10:00 20 -40 improved", "baseline 60 on 2026-01-05, latest 20 on 2026-03-02: -40 points, improved"} {
		if !strings.Contains(text, s) {
			t.Errorf("the ODI summary lacks %q:\n%s", s, text)
		}
	}
	buf.Reset()
	none := odiSnapshot()
	none.Outcomes = nil
	if err := export.WritePDF(t.Context(), &buf, none, &synthetic{}, export.Options{}); err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, buf.Bytes(), "none.pdf"); strings.Contains(text, "Outcome measures") {
		t.Error("a summary without assignments has an Outcome measures section")
	}
}
