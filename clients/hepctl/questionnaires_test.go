package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestQuestionnaireCommands: a clinician lists the instruments, assigns
// the PSFS, sees it due, reads the phone's scored answers and the change
// in progress, and ends the assignment, through a real server.
func TestQuestionnaireCommands(t *testing.T) {
	c := newClinic(t)
	dr, pid := c.drDir, c.pid
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(lisbon)
	day := func(t time.Time) string { return t.Format("2006-01-02") }
	start := today.AddDate(0, 0, -14)

	out := c.ok(t, dr, "", "questionnaires", "instruments")
	if !regexp.MustCompile(`(?m)^psfs\s+Patient-Specific Functional Scale\s+0-10, higher is better\s+2 points\s+ships with hep$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^odi\s+Oswestry Disability Index\s+0-100, lower is better\s+10 points or 30%\s+licensed: not shipped$`).MatchString(out) {
		t.Errorf("instruments:\n%s", out)
	}
	if r := c.hepctl(t, dr, "", "questionnaires", "assign", pid, "odi"); r.code == 0 || !strings.Contains(r.stderr, "licensed") {
		t.Errorf("assigning the ODI: %+v", r)
	}
	// An admin imports the clinic's licensed ODI text (here a stand-in):
	// the built-in's Questionnaire with other statements.
	var ins hepv1.ListInstrumentsResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "questionnaires", "instruments"), &ins)
	ours := strings.ReplaceAll(ins.GetInstruments()[0].GetQuestionnaireJson(), `"display": "Statement `, `"display": "Our statement `)
	if r := c.hepctl(t, dr, ours, "questionnaires", "import", "-"); r.code == 0 {
		t.Errorf("a clinician imported text: %+v", r)
	}
	if r := c.hepctl(t, c.adminDir, strings.Replace(ours, `"linkId": "section-3"`, `"linkId": "lifting"`, 1), "questionnaires", "import", "-"); r.code == 0 ||
		!strings.Contains(r.stderr, "structure") {
		t.Errorf("an import of another structure: %+v", r)
	}
	if out := c.ok(t, c.adminDir, ours, "questionnaires", "import", "-"); !strings.Contains(out, "the clinic's import") {
		t.Errorf("import:\n%s", out)
	}
	c.ok(t, dr, "", "questionnaires", "assign", pid, "odi", "--every-weeks", "4")
	if r := c.hepctl(t, dr, "", "questionnaires", "assign", pid, "psfs", "--every-weeks", "60"); r.code != 2 {
		t.Errorf("--every-weeks 60: %+v", r)
	}
	var ar hepv1.AssignQuestionnaireResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "questionnaires", "assign", pid, "PSFS", "--start", day(start), "--every-weeks", "2",
		"--visit", day(today.AddDate(0, 0, 30))), &ar)
	aid := ar.GetAssignment().GetId()
	if aid == "" || ar.GetAssignment().GetEveryWeeks() != 2 || len(ar.GetAssignment().GetVisitDates()) != 1 {
		t.Fatalf("assign: %v", &ar)
	}

	// Nothing answered: the baseline (14 days ago) is overdue, today's
	// slot is next.
	out = c.ok(t, dr, "", "questionnaires", "list", pid)
	if len(nonEmptyLines(out)) != 3 || !regexp.MustCompile(aid+`\s+psfs\s+baseline `+day(start)+`, then every 2 weeks, before visits `+day(today.AddDate(0, 0, 30))+
		`\s+active\s+`+day(today)+`\s+`+day(start)).MatchString(out) {
		t.Errorf("list:\n%s", out)
	}

	answer := func(slot time.Time, ratings ...int32) *hepv1.Mutation {
		r := &hepv1.QuestionnaireResponse{Id: uuid.Must(uuid.NewV7()).String(), AssignmentId: aid, AuthoredTime: timestamppb.Now(),
			SlotDate: &hepv1.Date{Year: int32(slot.Year()), Month: int32(slot.Month()), Day: int32(slot.Day())}}
		for i, x := range ratings {
			n := string(rune('1' + i))
			v := x
			r.Answers = append(r.Answers, &hepv1.QuestionnaireAnswer{LinkId: "activity-" + n + "-name", Text: "carrying shopping"},
				&hepv1.QuestionnaireAnswer{LinkId: "activity-" + n + "-rating", Value: &v})
		}
		return &hepv1.Mutation{Change: &hepv1.Mutation_Response{Response: r}}
	}
	c.pushAsPhone(t, answer(start, 2, 3, 4), answer(today, 5, 5, 5))

	out = c.ok(t, dr, "", "questionnaires", "responses", pid)
	if lines := nonEmptyLines(out); len(lines) != 3 || !regexp.MustCompile(`^`+day(today)+`\s+psfs\s+5\s+6\s`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^`+day(start)+`\s+psfs\s+3\s+6\s`).MatchString(lines[2]) {
		t.Errorf("responses:\n%s", out)
	}
	out = c.ok(t, dr, "", "progress", pid)
	if !strings.Contains(out, "Outcome measures:") ||
		!regexp.MustCompile(`(?m)^psfs\s+3\s+\+2(\.0+)? \(improved\)\s+2 points\s+`+day(start)+` 3, `+day(today)+` 5`).MatchString(out) {
		t.Errorf("progress:\n%s", out)
	}
	out = c.ok(t, dr, "", "questionnaires", "end", pid, aid)
	if !strings.Contains(out, "ended") {
		t.Errorf("end:\n%s", out)
	}
	if out := c.ok(t, dr, "", "questionnaires", "list", pid); len(nonEmptyLines(out)) != 2 || strings.Contains(out, aid) {
		t.Errorf("list after end:\n%s", out)
	}
	if out := c.ok(t, dr, "", "questionnaires", "list", pid, "--ended"); !strings.Contains(out, "ended ") {
		t.Errorf("list --ended:\n%s", out)
	}
}
