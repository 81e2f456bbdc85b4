//go:build unix

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/clients/hepclient"
	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestOutcomesEndToEnd runs outcome questionnaires through the real hepd
// binary: a clinician assigns the PSFS every two weeks, starting two weeks
// ago; the patient's phone (hepclient, offline first) pulls the assignment,
// answers the baseline and today's slot, and syncs; the clinician sees the
// improvement against the MCID in progress, and in the FHIR, CSV and PDF
// exports.
func TestOutcomesEndToEnd(t *testing.T) {
	t.Parallel()
	c := newClinic(t, t.TempDir())
	cc := c.srv.dial(t)
	outcomes := hepv1.NewOutcomeServiceClient(cc)
	review := hepv1.NewReviewServiceClient(cc)
	exports := hepv1.NewExportServiceClient(cc)
	patientID := c.createPatient(t, "Rui")

	lisbon := hep.LoadZone("Europe/Lisbon")
	today := hep.DateOf(time.Now(), lisbon)
	start := today.AddDays(-14)
	date := func(d hep.Date) *hepv1.Date {
		return &hepv1.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
	}
	ar, err := outcomes.AssignQuestionnaire(callCtx(t, c.clinicianTok, ""), &hepv1.AssignQuestionnaireRequest{
		PatientId: patientID, InstrumentId: "psfs", StartDate: date(start), EveryWeeks: 2})
	must(t, "AssignQuestionnaire", err)
	assignment := ar.GetAssignment().GetId()

	// The phone enrolls and pulls its questionnaires.
	code, err := c.api.device.CreateEnrollmentCode(callCtx(t, c.clinicianTok, ""), &hepv1.CreateEnrollmentCodeRequest{PatientId: patientID})
	must(t, "CreateEnrollmentCode", err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	phone, err := hepclient.Dial(ctx, c.srv.addr, hepclient.Options{StatePath: filepath.Join(t.TempDir(), "phone.db"),
		CallTimeout: 10 * time.Second, DeviceName: "Rui's phone"})
	must(t, "hepclient.Dial", err)
	defer phone.Close()
	must(t, "Enroll", phone.Enroll(ctx, code.GetCode()))
	if _, err := phone.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	qs, err := phone.Questionnaires(ctx)
	must(t, "Questionnaires", err)
	if len(qs.GetAssignments()) != 1 || qs.GetAssignments()[0].GetId() != assignment || len(qs.GetInstruments()) != 1 ||
		!strings.Contains(qs.GetInstruments()[0].GetQuestionnaireJson(), `"resourceType": "Questionnaire"`) {
		t.Fatalf("the phone's questionnaires: %v", qs)
	}

	// Offline, it answers the baseline and today's slot; then it syncs.
	answer := func(slot hep.Date, ratings ...int32) {
		r := &hepv1.QuestionnaireResponse{AssignmentId: assignment, SlotDate: date(slot)}
		for i, x := range ratings {
			n := string(rune('1' + i))
			v := x
			r.Answers = append(r.Answers, &hepv1.QuestionnaireAnswer{LinkId: "activity-" + n + "-name", Text: "walking the dog"},
				&hepv1.QuestionnaireAnswer{LinkId: "activity-" + n + "-rating", Value: &v})
		}
		if _, err := phone.AnswerQuestionnaire(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	answer(start, 3, 2, 4)    // 3.00
	answer(today, 6, 5, 5, 4) // 5.00: +2, the MCID
	res, err := phone.Sync(ctx)
	if err != nil || !res.Converged {
		t.Fatalf("Sync after answering: %+v, %v", res, err)
	}
	if rej, _ := phone.Rejected(ctx); len(rej) != 0 {
		t.Fatalf("rejected: %v", rej)
	}

	pr, err := review.GetProgress(callCtx(t, c.clinicianTok, ""), &hepv1.GetProgressRequest{PatientId: patientID})
	must(t, "GetProgress", err)
	if o := pr.GetProgress().GetOutcomes(); len(o) != 1 || o[0].GetBaseline() != 3 || o[0].GetLatest() != 5 || o[0].GetDelta() != 2 ||
		o[0].GetChange() != hepv1.OutcomeChange_OUTCOME_CHANGE_IMPROVED || len(o[0].GetPoints()) != 2 {
		t.Fatalf("progress outcomes: %v", o)
	}

	exportOf := func(format hepv1.ExportFormat) []byte {
		t.Helper()
		st, err := exports.Export(callCtx(t, c.clinicianTok, ""), &hepv1.ExportRequest{PatientId: patientID, Format: format,
			From: date(start), To: date(today)})
		must(t, "Export", err)
		var buf bytes.Buffer
		for {
			m, err := st.Recv()
			if err == io.EOF {
				return buf.Bytes()
			}
			must(t, "Export stream", err)
			buf.Write(m.GetData())
		}
	}

	// FHIR: a QuestionnaireResponse per answer, each with the score's
	// Observation, and the Questionnaire they answer.
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(exportOf(hepv1.ExportFormat_EXPORT_FORMAT_FHIR), &bundle); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	var scores []float64
	for _, e := range bundle.Entry {
		var r struct {
			ResourceType  string `json:"resourceType"`
			ValueQuantity struct {
				Value float64 `json:"value"`
			} `json:"valueQuantity"`
			DerivedFrom []json.RawMessage `json:"derivedFrom"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatal(err)
		}
		count[r.ResourceType]++
		if r.ResourceType == "Observation" && len(r.DerivedFrom) > 0 {
			scores = append(scores, r.ValueQuantity.Value)
		}
	}
	if count["Questionnaire"] != 1 || count["QuestionnaireResponse"] != 2 || len(scores) != 2 || scores[0]+scores[1] != 8 {
		t.Errorf("FHIR: resources %v, scores %v", count, scores)
	}

	// CSV: the responses file, one row per answer with its score.
	zipped := exportOf(hepv1.ExportFormat_EXPORT_FORMAT_CSV)
	z, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, f := range z.File {
		if f.Name == "questionnaire_responses.csv" {
			rc, err := f.Open()
			must(t, "open questionnaire_responses.csv", err)
			rows, err = csv.NewReader(rc).ReadAll()
			rc.Close()
			must(t, "read questionnaire_responses.csv", err)
		}
	}
	if len(rows) != 3 || !strings.Contains(strings.Join(rows[1], ",")+strings.Join(rows[2], ","), "IMPROVED") {
		t.Errorf("questionnaire_responses.csv: %v", rows)
	}

	// PDF: the outcome measures section.
	pdfPath := filepath.Join(t.TempDir(), "visit.pdf")
	if err := os.WriteFile(pdfPath, exportOf(hepv1.ExportFormat_EXPORT_FORMAT_PDF), 0o600); err != nil {
		t.Fatal(err)
	}
	if pdftotext, err := exec.LookPath("pdftotext"); err == nil {
		out, err := exec.Command(pdftotext, "-raw", pdfPath, "-").CombinedOutput()
		text := regexp.MustCompile(`\s+`).ReplaceAllString(string(out), " ")
		if err != nil || !strings.Contains(text, "Outcome measures") || !strings.Contains(text, "Patient-Specific Functional Scale") {
			t.Errorf("pdftotext: %v; no outcome measures section in:\n%s", err, text)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("pdftotext is missing on CI")
	}
}
