package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// planJSON is a plan of cat-cow and the inversion table. The table's item
// has no dose, so hepctl fills in the catalog's default.
const planJSON = `[
  {"exercise_id": "cat-cow",
   "dose": {"sets": 2, "reps": 10, "hold_seconds": 5},
   "frequency": {"times_per_day": 1, "days_per_week": 5},
   "start_date": {"year": 2026, "month": 3, "day": 2}},
  {"exercise_id": "inversion-table",
   "frequency": {"times_per_day": 1, "weekdays": ["WEEKDAY_MONDAY", "WEEKDAY_WEDNESDAY", "WEEKDAY_FRIDAY"]},
   "start_date": {"year": 2026, "month": 3, "day": 2},
   "end_date": {"year": 2099, "month": 12, "day": 31},
   "notes": "Stop at once if you feel dizzy."}
]`

// clinic is a server with a signed-in admin, a signed-in clinician and one
// patient on the clinician's care team.
type clinic struct {
	*testServer
	adminDir, drDir, pid string
}

func newClinic(t *testing.T) *clinic {
	t.Helper()
	s := startServer(t)
	c := &clinic{testServer: s, adminDir: t.TempDir(), drDir: t.TempDir()}
	s.login(t, c.adminDir, adminEmail, adminPassword)
	s.createClinician(t, c.adminDir, "dr@clinic.example", "clinician-password")
	s.login(t, c.drDir, "dr@clinic.example", "clinician-password")
	c.pid = fieldValue(t, s.ok(t, c.drDir, "", "patients", "create", "--name", "Maria S.", "--tz", "Europe/Lisbon"), "id")
	return c
}

// writeFile writes content to a new file and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// itemRow returns the table line of an exercise, failing if there is none.
func itemRow(t *testing.T, out, exercise string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == exercise {
			return l
		}
	}
	t.Fatalf("no row for %s in:\n%s", exercise, out)
	return ""
}

// TestClinicalWorkflow walks a clinician through screening, the catalog,
// gated plans, clearances, re-gating, alerts and the decision trail.
func TestClinicalWorkflow(t *testing.T) {
	c := newClinic(t)
	dr, pid := c.drDir, c.pid

	// Screening: every flag absent. Flags and statuses are read in any case,
	// with dashes or underscores.
	args := []string{"screening", "set", pid, "--note", "intake interview"}
	for n := range len(hepv1.ScreeningFlag_name) - 1 {
		name := flagName(hepv1.ScreeningFlag(n + 1))
		if n%2 == 0 {
			name = strings.ToUpper(strings.ReplaceAll(name, "_", "-"))
		}
		args = append(args, name+"=Absent")
	}
	out := c.ok(t, dr, "", args...)
	if lines := nonEmptyLines(out); len(lines) != 13 || !regexp.MustCompile(`^FLAG\s+STATUS\s+SOURCE\s+WHEN$`).MatchString(lines[0]) ||
		lines[12] != "no plan item changed" {
		t.Fatalf("screening set:\n%s", out)
	}
	if row := itemRow(t, out, "recent_spinal_surgery"); !regexp.MustCompile(`recent_spinal_surgery\s+absent\s+clinician verified\s+\d{4}-`).MatchString(row) {
		t.Errorf("screening set row: %q", row)
	}

	// The catalog holds the seven built-in entries.
	var cat hepv1.ListExercisesResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "exercises", "list"), &cat)
	var ids []string
	for _, e := range cat.GetExercises() {
		ids = append(ids, e.GetId())
		if !e.GetBuiltIn() {
			t.Errorf("%s is not built in", e.GetId())
		}
	}
	slices.Sort(ids)
	if want := []string{"bar-hang", "cat-cow", "childs-pose", "decompression-belt", "inversion-table", "overhead-stretch", "traction-machine"}; !slices.Equal(ids, want) {
		t.Errorf("catalog ids %v, want %v", ids, want)
	}
	out = c.ok(t, dr, "", "exercises", "list")
	if lines := nonEmptyLines(out); len(lines) != 8 || !regexp.MustCompile(`^ID\s+KIND\s+NAME\s+RULES\s+RETIRED$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^inversion-table\s+device\s+.*\s10\s+no$`).MatchString(itemRow(t, out, "inversion-table")) {
		t.Errorf("exercises list:\n%s", out)
	}
	out = c.ok(t, dr, "", "exercises", "show", "inversion-table")
	if !strings.HasPrefix(fieldValue(t, out, "requires clearance"), "yes") || fieldValue(t, out, "kind") != "device" ||
		!strings.Contains(out, "\nInstructions:\n  ") ||
		!regexp.MustCompile(`\nosteoporosis\s+CONTRAINDICATED\s+\S`).MatchString(out) {
		t.Errorf("exercises show inversion-table:\n%s", out)
	}
	out = c.ok(t, dr, "", "exercises", "show", "cat-cow")
	if fieldValue(t, out, "requires clearance") != "no" || !regexp.MustCompile(`\npregnancy\s+NEEDS_CLEARANCE\s+\S`).MatchString(out) {
		t.Errorf("exercises show cat-cow:\n%s", out)
	}

	// A dry run: the inversion table needs the standing clearance of every
	// home device. The exit status is 0 all the same.
	plan := writeFile(t, "plan.json", planJSON)
	out = c.ok(t, dr, "", "plan", "check", pid, "--file", plan)
	if !regexp.MustCompile(`(?m)^cat-cow\s+ALLOWED\s+-$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^inversion-table\s+NEEDS_CLEARANCE\s+NEEDS_CLEARANCE \(standing clearance\): .*\[source: `).MatchString(out) ||
		!strings.HasSuffix(out, "\nnot writable: plan set would refuse these items until the blocked ones are cleared, screened for or removed\n") {
		t.Errorf("plan check:\n%s", out)
	}
	var check hepv1.CheckPlanResponse
	unmarshal(t, c.ok(t, dr, planJSON, "-o", "json", "plan", "check", pid, "--file", "-"), &check)
	if check.GetWritable() || len(check.GetDecisions()) != 2 || check.GetDecisions()[1].GetOutcome() != hepv1.GateOutcome_GATE_OUTCOME_NEEDS_CLEARANCE {
		t.Errorf("plan check json: %v", &check)
	}

	// Writing it now is refused, with the reason.
	r := c.hepctl(t, dr, "", "plan", "set", pid, "--file", plan)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "hepctl: failed precondition: the gate blocks items of this plan, so nothing was written:\n") ||
		!strings.Contains(r.stderr, "\nhepctl:   items[1]: NEEDS_CLEARANCE: ") {
		t.Errorf("plan set before clearance: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}

	out = c.ok(t, dr, "", "plan", "clear", pid, "inversion-table", "--reason", "normal blood pressure; taught at the clinic")
	if !regexp.MustCompile(`^cleared inversion-table \(standing clearance\): clearance \S+\nno plan item changed\n$`).MatchString(out) {
		t.Errorf("plan clear inversion-table: %q", out)
	}
	if out := c.ok(t, dr, "", "plan", "check", pid, "--file", plan); !strings.HasSuffix(out, "\nwritable: plan set would accept these items\n") ||
		!regexp.MustCompile(`(?m)^inversion-table\s+ALLOWED\s+CLEARED \(standing clearance\)`).MatchString(out) {
		t.Errorf("plan check after clearance:\n%s", out)
	}

	// The first version; the expected version is read automatically.
	var set hepv1.SetPlanResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "plan", "set", pid, "--file", plan, "--note", "first plan"), &set)
	p := set.GetPlan()
	if p.GetVersion() != 1 || len(p.GetItems()) != 2 || p.GetNote() != "first plan" || p.GetRedFlagHold() {
		t.Fatalf("plan set: %v", p)
	}
	for _, it := range p.GetItems() {
		if it.GetState() != hepv1.ItemState_ITEM_STATE_ACTIVE {
			t.Errorf("%s: state %v", it.GetSpec().GetExerciseId(), it.GetState())
		}
	}
	if d := p.GetItems()[1].GetSpec().GetDose(); d.GetDurationSeconds() == 0 && d.GetReps() == 0 && d.GetHoldSeconds() == 0 {
		t.Errorf("inversion-table got no default dose: %v", d)
	}
	out = c.ok(t, dr, "", "plan", "show", pid)
	if fieldValue(t, out, "version") != "1" || fieldValue(t, out, "red-flag hold") != "no" ||
		!regexp.MustCompile(`(?m)^EXERCISE\s+DOSE\s+FREQUENCY\s+START\s+END\s+STATE\s+REASONS$`).MatchString(out) ||
		!regexp.MustCompile(`^cat-cow\s+2x10, hold 5s\s+1x/day, 5 days/wk\s+2026-03-02\s+-\s+ACTIVE\s+-$`).MatchString(itemRow(t, out, "cat-cow")) ||
		!regexp.MustCompile(`^inversion-table\s+.+\s+1x/day Mon,Wed,Fri\s+2026-03-02\s+2099-12-31\s+ACTIVE\s+-$`).MatchString(itemRow(t, out, "inversion-table")) {
		t.Errorf("plan show:\n%s", out)
	}

	// Osteoporosis: the table is contraindicated, cat-cow needs clearance.
	out = c.ok(t, dr, "", "screening", "set", pid, "osteoporosis=present", "--note", "DEXA scan")
	if !regexp.MustCompile(`^osteoporosis\s+present\s`).MatchString(itemRow(t, out, "osteoporosis")) ||
		!regexp.MustCompile(`\nplan items changed: .*\n$`).MatchString(out) || !strings.Contains(out, "cat-cow") || !strings.Contains(out, "inversion-table") {
		t.Errorf("screening set osteoporosis=present:\n%s", out)
	}
	out = c.ok(t, dr, "", "plan", "show", pid)
	if !regexp.MustCompile(`\sSUSPENDED\s+CONTRAINDICATED \(osteoporosis\)$`).MatchString(itemRow(t, out, "inversion-table")) ||
		!regexp.MustCompile(`\sSUSPENDED\s+NEEDS_CLEARANCE \(osteoporosis\)$`).MatchString(itemRow(t, out, "cat-cow")) {
		t.Errorf("plan show after osteoporosis:\n%s", out)
	}

	// A plan holding the table is now refused, one line per blocked reason.
	r = c.hepctl(t, dr, "", "plan", "set", pid, "--file", plan)
	if r.code != 1 || r.stdout != "" ||
		!regexp.MustCompile(`\nhepctl:   items\[1\]: CONTRAINDICATED: .*inversion-table.*\(source: .+\)\n`).MatchString(r.stderr) ||
		!regexp.MustCompile(`\nhepctl:   items\[0\]: NEEDS_CLEARANCE: .*cat-cow`).MatchString(r.stderr) {
		t.Errorf("plan set with a contraindicated item: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if r := c.hepctl(t, dr, "", "plan", "clear", pid, "inversion-table", "--flag", "osteoporosis", "--reason", "no"); r.code != 1 ||
		!strings.Contains(r.stderr, "hepctl: failed precondition: ") {
		t.Errorf("clearing a contraindication: exit %d, stderr %q", r.code, r.stderr)
	}

	// Cat-cow cleared despite osteoporosis comes back.
	out = c.ok(t, dr, "", "plan", "clear", pid, "cat-cow", "--flag", "OSTEOPOROSIS", "--reason", "gentle range only; reviewed with the patient")
	if !strings.HasPrefix(out, "cleared cat-cow (osteoporosis): clearance ") || !strings.Contains(out, "\nplan items re-activated: ") {
		t.Errorf("plan clear cat-cow: %q", out)
	}
	out = c.ok(t, dr, "", "plan", "show", pid)
	if !regexp.MustCompile(`\sACTIVE\s+-$`).MatchString(itemRow(t, out, "cat-cow")) ||
		!regexp.MustCompile(`\sSUSPENDED\s+CONTRAINDICATED \(osteoporosis\)$`).MatchString(itemRow(t, out, "inversion-table")) {
		t.Errorf("plan show after clearing cat-cow:\n%s", out)
	}

	// A stale expected version is refused with ABORTED.
	catCowOnly := `[{"exercise_id": "cat-cow", "frequency": {"times_per_day": 2, "days_per_week": 7}, "start_date": {"year": 2026, "month": 3, "day": 9}}]`
	r = c.hepctl(t, dr, catCowOnly, "plan", "set", pid, "--file", "-", "--expected-version", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "hepctl: aborted: ") || !strings.Contains(r.stderr, "the plan changed meanwhile") {
		t.Errorf("stale expected version: exit %d, stderr %q", r.code, r.stderr)
	}
	out = c.ok(t, dr, catCowOnly, "plan", "set", pid, "--file", "-", "--expected-version", "1")
	if !strings.HasPrefix(out, "wrote version 2 of the plan of patient "+pid+"\n") || strings.Contains(out, "inversion-table") ||
		!regexp.MustCompile(`\s2x/day, 7 days/wk\s+2026-03-09\s+-\s+ACTIVE\s+-$`).MatchString(itemRow(t, out, "cat-cow")) {
		t.Errorf("plan set version 2:\n%s", out)
	}
	var v1 hepv1.GetPlanResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "plan", "show", pid, "--version", "1"), &v1)
	if v1.GetPlan().GetVersion() != 1 || len(v1.GetPlan().GetItems()) != 2 {
		t.Errorf("plan show --version 1: %v", &v1)
	}

	// The screening change raised one routine alert.
	var alerts hepv1.ListAlertsResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "alerts", "list", pid), &alerts)
	if len(alerts.GetAlerts()) != 1 || alerts.GetAlerts()[0].GetKind() != hepv1.AlertKind_ALERT_KIND_SCREENING_CHANGED {
		t.Fatalf("alerts list: %v", &alerts)
	}
	alertID := alerts.GetAlerts()[0].GetId()
	out = c.ok(t, dr, "", "alerts", "list", pid, "--status", "OPEN")
	if lines := nonEmptyLines(out); len(lines) != 2 || !regexp.MustCompile(`^ID\s+RAISED\s+SEVERITY\s+KIND\s+STATUS\s+TIMES\s+LATEST\s+SUMMARY$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^`+alertID+`\s+\S+\s+routine\s+screening changed\s+open\s+1\s+\S+\s+\S`).MatchString(lines[1]) {
		t.Errorf("alerts list --status open:\n%s", out)
	}
	out = c.ok(t, dr, "", "alerts", "occurrences", pid, alertID)
	if lines := nonEmptyLines(out); len(lines) != 2 || !regexp.MustCompile(`^ID\s+OCCURRED\s+TRIGGER\s+SUMMARY$`).MatchString(lines[0]) {
		t.Errorf("alerts occurrences:\n%s", out)
	}
	// A count that is not the alert's acknowledges nothing.
	if r := c.hepctl(t, dr, "", "alerts", "ack", pid, alertID, "--note", "seen", "--times", "2"); r.code != 1 || r.stdout != "" ||
		!strings.Contains(r.stderr, "hepctl: aborted: ") || !strings.Contains(r.stderr, "hepctl alerts occurrences") {
		t.Errorf("alerts ack --times 2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out = c.ok(t, dr, "", "alerts", "ack", pid, alertID, "--note", "called the patient; table stopped", "--times", "1")
	if !strings.HasPrefix(out, "acknowledged alert "+alertID+" at ") {
		t.Errorf("alerts ack: %q", out)
	}
	if out := c.ok(t, dr, "", "alerts", "list", pid, "--status", "open"); len(nonEmptyLines(out)) != 1 {
		t.Errorf("open alerts after ack:\n%s", out)
	}
	if out := c.ok(t, dr, "", "alerts", "list", pid, "--status", "acknowledged"); !strings.Contains(out, alertID) {
		t.Errorf("acknowledged alerts:\n%s", out)
	}

	// A red-flag report holds the whole plan until its alert is acknowledged.
	out = c.ok(t, dr, "", "red-flags", pid, "saddle-numbness", "FEVER_WITH_BACK_PAIN", "--note", "phoned in")
	m := regexp.MustCompile(`^urgent alert (\S+) raised; `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("red-flags: %q", out)
	}
	out = c.ok(t, dr, "", "plan", "show", pid)
	if !strings.HasPrefix(fieldValue(t, out, "red-flag hold"), "yes") ||
		!regexp.MustCompile(`\sSUSPENDED\s+RED-FLAG HOLD`).MatchString(itemRow(t, out, "cat-cow")) {
		t.Errorf("plan show on hold:\n%s", out)
	}
	c.ok(t, dr, "", "alerts", "ack", pid, m[1], "--note", "seen in A&E; cleared to resume")
	if out := c.ok(t, dr, "", "plan", "show", pid); !regexp.MustCompile(`\sACTIVE\s+-$`).MatchString(itemRow(t, out, "cat-cow")) {
		t.Errorf("plan show after the hold:\n%s", out)
	}

	// The trail: decisions, clearances, screening history.
	var trail hepv1.ListGatingDecisionsResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "plan", "decisions", pid, "--all", "--page-size", "2"), &trail)
	causes := map[hepv1.DecisionCause]int{}
	for _, g := range trail.GetDecisions() {
		causes[g.GetCause()]++
	}
	for _, want := range []hepv1.DecisionCause{hepv1.DecisionCause_DECISION_CAUSE_PLAN_REFUSED, hepv1.DecisionCause_DECISION_CAUSE_SCREENING_CHANGED,
		hepv1.DecisionCause_DECISION_CAUSE_CLEARANCE, hepv1.DecisionCause_DECISION_CAUSE_RED_FLAG} {
		if causes[want] == 0 {
			t.Errorf("plan decisions has no %v (causes %v)", want, causes)
		}
	}
	out = c.ok(t, dr, "", "plan", "decisions", pid, "--all")
	if lines := nonEmptyLines(out); len(lines) != len(trail.GetDecisions())+1 ||
		!regexp.MustCompile(`^WHEN\s+VERSION\s+EXERCISE\s+CAUSE\s+OUTCOME\s+STATE\s+REASONS$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`(?m)\s1\s+inversion-table\s+screening changed\s+CONTRAINDICATED\s+ACTIVE -> SUSPENDED\s+CONTRAINDICATED \(osteoporosis\)`).MatchString(out) {
		t.Errorf("plan decisions:\n%s", out)
	}
	out = c.ok(t, dr, "", "plan", "clearances", pid)
	if lines := nonEmptyLines(out); len(lines) != 3 ||
		!regexp.MustCompile(`\scat-cow\s+osteoporosis\s+gentle range only`).MatchString(out) ||
		!regexp.MustCompile(`\sinversion-table\s+standing clearance\s+normal blood pressure`).MatchString(out) {
		t.Errorf("plan clearances:\n%s", out)
	}
	out = c.ok(t, dr, "", "screening", "history", pid, "--flag", "osteoporosis")
	if lines := nonEmptyLines(out); len(lines) != 3 || !regexp.MustCompile(`\sosteoporosis\s+present\s+clinician verified\s+\S+\s+DEXA scan$`).MatchString(lines[1]) ||
		!strings.Contains(lines[2], "absent") {
		t.Errorf("screening history --flag osteoporosis:\n%s", out)
	}
	r = c.hepctl(t, dr, "", "screening", "history", pid, "--page-size", "3")
	if r.code != 0 || len(nonEmptyLines(r.stdout)) != 4 || !strings.Contains(r.stderr, "next page: hepctl screening history "+pid+" --page-token ") {
		t.Errorf("screening history page: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var current hepv1.GetScreeningResponse
	unmarshal(t, c.ok(t, dr, "", "-o", "json", "screening", "show", pid), &current)
	if len(current.GetCurrent()) != 11 {
		t.Errorf("screening show: %v", &current)
	}
	for _, a := range current.GetCurrent() {
		want := hepv1.FlagStatus_FLAG_STATUS_ABSENT
		if a.GetFlag() == hepv1.ScreeningFlag_SCREENING_FLAG_OSTEOPOROSIS {
			want = hepv1.FlagStatus_FLAG_STATUS_PRESENT
		}
		if a.GetStatus() != want || a.GetSource() != hepv1.AnswerSource_ANSWER_SOURCE_CLINICIAN_VERIFIED {
			t.Errorf("screening show %v: %v from %v", a.GetFlag(), a.GetStatus(), a.GetSource())
		}
	}
}

// TestClinicCatalog: a clinician adds entries, an admin retires one.
func TestClinicCatalog(t *testing.T) {
	c := newClinic(t)
	instructions := "Back against a wall, slide down until the knees are bent.\nHold, then slide up.\n"
	out := c.ok(t, c.drDir, instructions, "exercises", "create", "--id", "wall-sit", "--name", "Wall sit",
		"--instructions-file", "-", "--sets", "3", "--hold", "30s",
		"--rule", "osteoporosis=needs-clearance:Clinic protocol 2026-04", "--rule", "Spinal-Fracture=CONTRAINDICATED:Clinic protocol: fractures")
	if fieldValue(t, out, "id") != "wall-sit" || fieldValue(t, out, "kind") != "exercise" || fieldValue(t, out, "default dose") != "3 sets, hold 30s" ||
		fieldValue(t, out, "built in") != "no (clinic-defined)" || fieldValue(t, out, "requires clearance") != "no" ||
		!strings.Contains(out, "\nInstructions:\n  Back against a wall, slide down until the knees are bent.\n  Hold, then slide up.\n") ||
		!regexp.MustCompile(`\nosteoporosis\s+NEEDS_CLEARANCE\s+Clinic protocol 2026-04\n`).MatchString(out) ||
		!regexp.MustCompile(`\nspinal_fracture\s+CONTRAINDICATED\s+Clinic protocol: fractures\n`).MatchString(out) {
		t.Errorf("exercises create:\n%s", out)
	}

	// A device requires clearance without being told.
	var dev hepv1.CreateExerciseResponse
	unmarshal(t, c.ok(t, c.drDir, "", "-o", "json", "exercises", "create", "--id", "lumbar-roll", "--kind", "device", "--name", "Lumbar roll",
		"--instructions-file", writeFile(t, "roll.txt", "Lie on the roll."), "--duration", "5m"), &dev)
	if e := dev.GetExercise(); !e.GetRequiresClearance() || e.GetKind() != hepv1.ExerciseKind_EXERCISE_KIND_DEVICE || e.GetDefaultDose().GetDurationSeconds() != 300 {
		t.Errorf("device created as %v", e)
	}

	if r := c.hepctl(t, c.drDir, "", "exercises", "retire", "wall-sit"); r.code != 1 || !strings.Contains(r.stderr, "hepctl: permission denied:") {
		t.Errorf("clinician retire: exit %d, stderr %q", r.code, r.stderr)
	}
	if out := c.ok(t, c.adminDir, "", "exercises", "retire", "wall-sit"); out != "retired wall-sit (Wall sit)\n" {
		t.Errorf("exercises retire: %q", out)
	}
	if out := c.ok(t, c.drDir, "", "exercises", "list"); strings.Contains(out, "wall-sit") || !strings.Contains(out, "lumbar-roll") {
		t.Errorf("exercises list after retire:\n%s", out)
	}
	out = c.ok(t, c.drDir, "", "exercises", "list", "--all")
	if !regexp.MustCompile(`^wall-sit\s+exercise\s+Wall sit\s+2\s+yes$`).MatchString(itemRow(t, out, "wall-sit")) {
		t.Errorf("exercises list --all:\n%s", out)
	}
	r := c.hepctl(t, c.drDir, `[{"exercise_id": "wall-sit", "frequency": {"times_per_day": 1, "days_per_week": 3}, "start_date": {"year": 2026, "month": 3, "day": 2}}]`,
		"plan", "check", c.pid, "--file", "-")
	if r.code != 1 || !strings.Contains(r.stderr, "hepctl: invalid argument: items[0].exercise_id: ") || !strings.Contains(r.stderr, "retired") {
		t.Errorf("plan with a retired entry: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestClinicalErrors checks that bad input is refused with exit status 2
// before any call, and server refusals with 1, readably.
func TestClinicalErrors(t *testing.T) {
	c := newClinic(t)
	dr, pid := c.drDir, c.pid
	okItem := `{"exercise_id": "cat-cow", "frequency": {"times_per_day": 1, "days_per_week": 3}, "start_date": {"year": 2026, "month": 3, "day": 2}}`
	tests := []struct {
		name       string
		dir, stdin string
		args       []string
		code       int
		stderr     []string // substrings
	}{
		{"unknown flag name", dr, "", []string{"screening", "set", pid, "preg=present"}, 2,
			[]string{`screening set: unknown screening flag "preg" (one of: pregnancy, recent_spinal_surgery, `}},
		{"bad status word", dr, "", []string{"screening", "set", pid, "pregnancy=maybe"}, 2,
			[]string{`screening set: pregnancy: unknown status "maybe" (one of: present, absent, unknown)`}},
		{"unspecified is no status", dr, "", []string{"screening", "set", pid, "pregnancy=unspecified"}, 2, []string{`unknown status "unspecified"`}},
		{"answer without =", dr, "", []string{"screening", "set", pid, "pregnancy"}, 2, []string{`"pregnancy" is not FLAG=STATUS`}},
		{"no answers", dr, "", []string{"screening", "set", pid}, 2, []string{"missing FLAG=STATUS", "usage: hepctl screening set PATIENT_ID FLAG=STATUS... [--note N]"}},
		{"flag answered twice", dr, "", []string{"screening", "set", pid, "hernia=absent", "HERNIA=present"}, 1, []string{"hepctl: invalid argument: answers[1].flag: "}},
		{"history of an unknown flag", dr, "", []string{"screening", "history", pid, "--flag", "gout"}, 2, []string{`--flag: unknown screening flag "gout"`}},
		{"admin may not read screening", c.adminDir, "", []string{"screening", "show", pid}, 1, []string{"hepctl: permission denied:"}},
		{"unknown symptom", dr, "", []string{"red-flags", pid, "headache"}, 2, []string{`unknown red-flag symptom "headache" (one of: saddle_numbness, `}},
		{"plan file is an object", dr, okItem, []string{"plan", "set", pid, "--file", "-"}, 2,
			[]string{"plan set: standard input: not a JSON array of plan items: it must start with [", `run "hepctl plan set -h" for the format`}},
		{"plan file syntax error", dr, "[\n" + okItem + ",\n]", []string{"plan", "check", pid, "--file", "-"}, 2,
			[]string{"plan check: standard input: line 3, column 1: invalid character ']'"}},
		{"plan file unknown field", dr, `[` + okItem + `, {"exercise": "bar-hang"}]`, []string{"plan", "check", pid, "--file", "-"}, 2,
			[]string{"plan check: standard input: items[1]: ", `unknown field "exercise"`}},
		{"plan file bad enum", dr, `[{"exercise_id": "cat-cow", "frequency": {"weekdays": ["MONDAY"]}}]`, []string{"plan", "check", pid, "--file", "-"}, 2,
			[]string{"items[0]: ", "MONDAY"}},
		{"plan file missing", dr, "", []string{"plan", "set", pid, "--file", filepath.Join(t.TempDir(), "nope.json")}, 1, []string{"hepctl: reading the plan: ", "nope.json"}},
		{"plan set without --file", dr, "", []string{"plan", "set", pid}, 2, []string{"plan set: --file is required"}},
		{"negative expected version", dr, "", []string{"plan", "set", pid, "--file", "-", "--expected-version", "-1"}, 2, []string{"--expected-version must be 0 or more"}},
		{"expected version not a number", dr, "", []string{"plan", "set", pid, "--file", "-", "--expected-version", "one"}, 2, []string{"-expected-version", "not a whole number"}},
		{"unknown exercise", dr, `[{"exercise_id": "handstand", "dose": {"reps": 1}, "frequency": {"times_per_day": 1, "days_per_week": 3}, "start_date": {"year": 2026, "month": 3, "day": 2}}]`,
			[]string{"plan", "check", pid, "--file", "-"}, 1, []string{`hepctl: invalid argument: items[0].exercise_id: unknown exercise "handstand"`}},
		{"invalid item fields, one line each", dr, `[{"exercise_id": "cat-cow", "frequency": {"times_per_day": 0, "days_per_week": 3}, "start_date": {"year": 1999, "month": 3, "day": 2}}]`,
			[]string{"plan", "set", pid, "--file", "-"}, 1,
			[]string{"hepctl: invalid argument: items[0].frequency.times_per_day: ", "\nhepctl: invalid argument: items[0].start_date: "}},
		{"clear without a reason", dr, "", []string{"plan", "clear", pid, "cat-cow", "--flag", "pregnancy"}, 2, []string{"plan clear: --reason is required"}},
		{"clear an unknown flag", dr, "", []string{"plan", "clear", pid, "cat-cow", "--flag", "pregnant", "--reason", "r"}, 2, []string{`--flag: unknown screening flag "pregnant"`}},
		{"clear a flag never answered", dr, "", []string{"plan", "clear", pid, "cat-cow", "--flag", "pregnancy", "--reason", "r"}, 1, []string{"hepctl: failed precondition: "}},
		{"negative plan version", dr, "", []string{"plan", "show", pid, "--version", "-2"}, 2, []string{"--version must be 1 or more"}},
		{"bad alert status", dr, "", []string{"alerts", "list", pid, "--status", "closed"}, 2, []string{`--status: unknown alert status "closed" (one of: open, acknowledged)`}},
		{"ack without a note", dr, "", []string{"alerts", "ack", pid, "x"}, 2, []string{"alerts ack: --note is required"}},
		{"rule without a source", dr, "", []string{"exercises", "create", "--id", "x-x", "--name", "X", "--instructions-file", "-", "--reps", "1", "--rule", "hernia=contraindicated"}, 2,
			[]string{`--rule "hernia=contraindicated": the rule needs its source after a colon`}},
		{"rule with a bad severity", dr, "", []string{"exercises", "create", "--id", "x-x", "--name", "X", "--instructions-file", "-", "--reps", "1", "--rule", "hernia=avoid:src"}, 2,
			[]string{`unknown severity "avoid" (one of: contraindicated, needs_clearance)`}},
		{"bad kind", dr, "", []string{"exercises", "create", "--id", "x-x", "--kind", "machine", "--name", "X", "--instructions-file", "-"}, 2, []string{`--kind: unknown kind "machine"`}},
		{"fractional hold", dr, "", []string{"exercises", "create", "--id", "x-x", "--name", "X", "--instructions-file", "-", "--hold", "1500ms"}, 2, []string{"--hold must be a whole number of seconds"}},
		{"no instructions", dr, "\n\n", []string{"exercises", "create", "--id", "x-x", "--name", "X", "--instructions-file", "-", "--reps", "1"}, 2, []string{"standard input holds no instructions"}},
		{"create without required flags", dr, "", []string{"exercises", "create", "--id", "x-x"}, 2, []string{"--id, --name and --instructions-file are required"}},
		{"dose the server refuses", dr, "Do it.", []string{"exercises", "create", "--id", "x-x", "--name", "X", "--instructions-file", "-", "--sets", "2"}, 1,
			[]string{"hepctl: invalid argument: exercise.default_dose: "}},
		{"unknown exercise shown", dr, "", []string{"exercises", "show", "handstand"}, 1, []string{"hepctl: not found:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.hepctl(t, tt.dir, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty on error: %q", r.stdout)
			}
		})
	}
}
