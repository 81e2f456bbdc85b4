package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestReviewCommands: a clinician reads the triage list, a patient's
// progress and the care team's alerts through a real server, after the
// patient's phone synced a session that flared and a check-in.
func TestReviewCommands(t *testing.T) {
	c := newClinic(t) // Maria S., Europe/Lisbon
	dr, pid := c.drDir, c.pid
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	today := now.In(lisbon)
	day := func(t time.Time) string { return t.Format("2006-01-02") }

	args := []string{"screening", "set", pid, "--note", "intake"}
	for n := range len(hepv1.ScreeningFlag_name) - 1 {
		args = append(args, flagName(hepv1.ScreeningFlag(n+1))+"=absent")
	}
	c.ok(t, dr, "", args...)
	start := today.AddDate(0, 0, -20)
	plan := fmt.Sprintf(`[{"exercise_id": "cat-cow", "frequency": {"times_per_day": 1, "days_per_week": 7},
	  "start_date": {"year": %d, "month": %d, "day": %d}}]`, start.Year(), start.Month(), start.Day())
	c.ok(t, dr, plan, "plan", "set", pid, "--file", "-")

	// Nothing logged yet: on track is not claimed for a patient who never
	// logged a session.
	out := c.ok(t, dr, "", "triage")
	if lines := nonEmptyLines(out); len(lines) != 2 ||
		!regexp.MustCompile(`^1\s+Maria S\.\s+`+pid+`\s+inactive\s+inactive: no session logged yet$`).MatchString(lines[1]) {
		t.Fatalf("triage before any session:\n%s", out)
	}

	// One session, pain 3 -> 6 (a flare), and a check-in of 4, a moment ago.
	c.pushAsPhone(t,
		&hepv1.Mutation{Change: &hepv1.Mutation_Log{Log: &hepv1.ExerciseLog{Id: uuid.Must(uuid.NewV7()).String(), ExerciseId: "cat-cow",
			PerformTime: timestamppb.New(now.Add(-time.Second)), SetsDone: 2, RepsDone: 10, PainBefore: proto.Int32(3), PainAfter: proto.Int32(6)}}},
		&hepv1.Mutation{Change: &hepv1.Mutation_Checkin{Checkin: &hepv1.PainCheckin{Id: uuid.Must(uuid.NewV7()).String(),
			RecordTime: timestamppb.New(now.Add(-2 * time.Second)), Score: 4, Location: hepv1.PainLocation_PAIN_LOCATION_LOW_BACK}}},
	)

	out = c.ok(t, dr, "", "triage")
	if lines := nonEmptyLines(out); len(lines) != 2 || !regexp.MustCompile(`^RANK\s+PATIENT\s+PATIENT_ID\s+TIER\s+REASON$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^1\s+Maria S\.\s+`+pid+`\s+open alerts\s+1 pain flare with cat-cow, open since \d{4}-\d\d-\d\d \d\d:\d\d UTC$`).MatchString(lines[1]) {
		t.Errorf("triage:\n%s", out)
	}
	var tri hepv1.ListTriageResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "triage", "--all", "--page-size", "1"), &tri)
	if tri.GetTotal() != 1 || len(tri.GetEntries()) != 1 || tri.GetEntries()[0].GetOpenAlerts() != 1 {
		t.Errorf("triage --all: %v", &tri)
	}

	// Progress over the last 7 days: the plan was written today, so only
	// today prescribes (1 session), and it was done.
	from := today.AddDate(0, 0, -6)
	var pr hepv1.GetProgressResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "progress", pid, "--from", day(from), "--to", day(today)), &pr)
	p := pr.GetProgress()
	if p.GetTimeZone() != "Europe/Lisbon" || fmtDate(p.GetFrom()) != day(from) || fmtDate(p.GetTo()) != day(today) ||
		len(p.GetPlanVersions()) != 1 || p.GetAdherence().GetPrescribed() != 1 || p.GetAdherence().GetCompleted() != 1 ||
		len(p.GetItems()) != 1 || p.GetItems()[0].GetScoredSessions() != 1 || p.GetItems()[0].GetMeanPainResponse() != 3 ||
		p.GetItems()[0].GetFlares() != 1 || p.GetDaysSinceActivity() != 0 || p.GetStreakDays() != 1 {
		t.Errorf("progress: %v", p)
	}
	out = c.ok(t, dr, "", "progress", pid, "--from", day(from), "--to", day(today))
	for _, want := range []string{
		"patient:             " + pid + "\n",
		"range:               " + day(from) + " to " + day(today) + " (7 days, Europe/Lisbon)\n",
		"plan versions:       1\n",
		"adherence:           1 of 1 sessions, 100%: adherent (line 80%)\n",
		"pain baseline:       4 (week of ",
		"since last session:  0 days (last " + day(today) + "T",
		"streak:              1 day\n",
		"red-flag hold:       no\n",
		"weekly adherence:  ",
		"+3 (1 scored)  1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("progress: no %q in:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`\ncat-cow\s+Cat-cow\s+1/1\s+100% ✓\s+\S+\s+1\s+-\s+-\s+\+3 \(1 scored\)\s+1\n`).MatchString(out) {
		t.Errorf("progress exercise row:\n%s", out)
	}
	// Without dates: the 28 days ending today.
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "progress", pid), &pr)
	if fmtDate(pr.GetProgress().GetFrom()) != day(today.AddDate(0, 0, -27)) || fmtDate(pr.GetProgress().GetTo()) != day(today) {
		t.Errorf("default range %s..%s", fmtDate(pr.GetProgress().GetFrom()), fmtDate(pr.GetProgress().GetTo()))
	}

	// The care team's alerts, filtered.
	out = c.ok(t, dr, "", "alerts", "list")
	lines := nonEmptyLines(out)
	if len(lines) != 2 || !regexp.MustCompile(`^PATIENT_ID\s+ID\s+RAISED\s+SEVERITY\s+KIND\s+STATUS\s+TIMES\s+LATEST\s+SUMMARY$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^`+pid+`\s+\S+\s+\S+\s+routine\s+pain flare\s+open\s+1\s+\S+\s+Pain rose from 3 to 6`).MatchString(lines[1]) {
		t.Fatalf("alerts list (care team):\n%s", out)
	}
	alertID := strings.Fields(lines[1])[1]
	if out := c.ok(t, dr, "", "alerts", "list", "--severity", "urgent"); len(nonEmptyLines(out)) != 1 {
		t.Errorf("urgent alerts:\n%s", out)
	}
	if out := c.ok(t, dr, "", "alerts", "list", pid, "--kind", "pain-severe", "--kind", "RED_FLAG"); len(nonEmptyLines(out)) != 1 {
		t.Errorf("severe and red-flag alerts:\n%s", out)
	}
	if out := c.ok(t, dr, "", "alerts", "list", pid, "--kind", "pain_flare,pain_severe", "--status", "open"); !strings.Contains(out, alertID) ||
		strings.Contains(out, "PATIENT_ID") {
		t.Errorf("open flare alerts of the patient:\n%s", out)
	}
	c.ok(t, dr, "", "alerts", "ack", pid, alertID, "--note", "phoned; eased the range of motion")
	if out := c.ok(t, dr, "", "alerts", "list", "--status", "open"); len(nonEmptyLines(out)) != 1 {
		t.Errorf("open alerts after ack:\n%s", out)
	}
	// Acknowledged, active today, nothing prescribed over the closed days:
	// on track.
	if out := c.ok(t, dr, "", "triage"); !regexp.MustCompile(`\n1\s+Maria S\.\s+` + pid + `\s+on track\s+on track\n`).MatchString(out) {
		t.Errorf("triage after ack:\n%s", out)
	}

	// Another clinician sees none of it.
	c.createClinician(t, c.adminDir, "other@clinic.example", "other-password-1")
	other := t.TempDir()
	c.login(t, other, "other@clinic.example", "other-password-1")
	if out := c.ok(t, other, "", "triage"); len(nonEmptyLines(out)) != 1 {
		t.Errorf("another clinician's triage:\n%s", out)
	}
	if out := c.ok(t, other, "", "alerts", "list"); len(nonEmptyLines(out)) != 1 {
		t.Errorf("another clinician's alerts:\n%s", out)
	}
	for _, tt := range []struct {
		name, dir string
		args      []string
		code      int
		stderr    string
	}{
		{"another clinician's patient", other, []string{"progress", pid}, 1, "hepctl: not found: "},
		{"admin triage", c.adminDir, []string{"triage"}, 1, "hepctl: permission denied: "},
		{"reversed range", dr, []string{"progress", pid, "--from", day(today), "--to", day(from)}, 1, "hepctl: invalid argument: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.hepctl(t, tt.dir, "", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || r.stdout != "" {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
		})
	}
}
