package heptest

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Fixtures of the clinical tests: a patient with a care-team clinician and
// an enrolled device, and helpers that fail the test on any error.

// clinic is one subtest's store with a clinician, a patient and the
// patient's device.
type clinic struct {
	*env
	clinician hep.Account
	patient   hep.Patient
	device    hep.Device
}

func newClinic(t *testing.T, open OpenFunc) *clinic {
	t.Helper()
	e := newEnv(t, open)
	c := &clinic{env: e, clinician: e.account(hep.RoleClinician)}
	c.patient = e.patient(c.clinician.ID)
	c.device, _, _ = e.enroll(c.patient.ID)
	return c
}

// doctor returns a context for a call by the clinician.
func (c *clinic) doctor(action string) (context.Context, hep.Actor) {
	return c.as(actorOf(c.clinician), action)
}

// phone returns a context for a call by the patient's device.
func (c *clinic) phone(action string) (context.Context, hep.Actor) {
	return c.as(hep.Actor{ID: c.device.ID, Role: hep.RolePatient, PatientID: c.patient.ID}, action)
}

// ans is one screening answer.
func ans(f hep.Flag, st hep.FlagStatus) hep.ScreeningInput {
	return hep.ScreeningInput{Flag: f, Status: st}
}

// allAbsent answers every flag ABSENT.
func allAbsent() []hep.ScreeningInput {
	var out []hep.ScreeningInput
	for _, f := range hep.Flags {
		out = append(out, ans(f, hep.StatusAbsent))
	}
	return out
}

// screen records answers as the clinician and returns the changed items.
func (c *clinic) screen(answers ...hep.ScreeningInput) []string {
	c.t.Helper()
	ctx, _ := c.doctor("screening.record")
	_, changed, err := c.store.RecordScreening(ctx, c.patient.ID, answers)
	if err != nil {
		c.t.Fatalf("RecordScreening(%v): %v", answers, err)
	}
	return changed
}

// screening returns the current screening.
func (c *clinic) screening() hep.Screening {
	c.t.Helper()
	sc, err := c.store.GetScreening(c.ctx(), c.patient.ID)
	if err != nil {
		c.t.Fatalf("GetScreening: %v", err)
	}
	return sc
}

// startDate is the first day of every test item.
var startDate = hep.Date{Year: 2030, Month: 1, Day: 2}

// spec is a valid item for an entry of the given kind.
func spec(exerciseID string, kind hep.Kind) hep.ItemSpec {
	d := hep.Dose{Sets: 2, Reps: 10}
	if kind == hep.KindDevice {
		d = hep.Dose{DurationSeconds: 300}
	}
	return hep.ItemSpec{ExerciseID: exerciseID, Dose: d, Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 5}, StartDate: startDate}
}

// item is a valid item for a built-in entry.
func item(exerciseID string) hep.ItemSpec {
	for _, b := range builtIns {
		if b.id == exerciseID {
			return spec(exerciseID, b.kind)
		}
	}
	panic("heptest: no built-in entry " + exerciseID)
}

func items(ids ...string) []hep.ItemSpec {
	out := make([]hep.ItemSpec, len(ids))
	for i, id := range ids {
		out[i] = item(id)
	}
	return out
}

// plan returns the current plan.
func (c *clinic) plan() hep.Plan {
	c.t.Helper()
	p, err := c.store.GetPlan(c.ctx(), c.patient.ID, 0)
	if err != nil {
		c.t.Fatalf("GetPlan: %v", err)
	}
	return p
}

// setPlan writes a new version of built-in items over the current one.
func (c *clinic) setPlan(ids ...string) hep.Plan {
	c.t.Helper()
	ctx, _ := c.doctor("plan.set")
	p, err := c.store.SetPlan(ctx, c.patient.ID, hep.PlanInput{ExpectedVersion: c.plan().Version, Items: items(ids...)})
	if err != nil {
		c.t.Fatalf("SetPlan(%v): %v", ids, err)
	}
	return p
}

// clear gives a clearance as the clinician.
func (c *clinic) clear(exerciseID string, f hep.Flag) (hep.Clearance, []string) {
	c.t.Helper()
	ctx, _ := c.doctor("plan.clear_item")
	cl, changed, err := c.store.ClearItem(ctx, hep.Clearance{PatientID: c.patient.ID, ExerciseID: exerciseID, Flag: f, Reason: "reviewed in clinic"})
	if err != nil {
		c.t.Fatalf("ClearItem(%s, %q): %v", exerciseID, f, err)
	}
	return cl, changed
}

// clearances returns the live clearances.
func (c *clinic) liveClearances() []hep.Clearance {
	c.t.Helper()
	all, err := c.store.ListClearances(c.ctx(), c.patient.ID)
	if err != nil {
		c.t.Fatalf("ListClearances: %v", err)
	}
	var out []hep.Clearance
	for _, cl := range all {
		if cl.Live() {
			out = append(out, cl)
		}
	}
	return out
}

// decisions returns the whole decision trail, newest first.
func (c *clinic) decisions() []hep.GatingDecision {
	c.t.Helper()
	ds, err := c.store.ListGatingDecisions(c.ctx(), hep.DecisionFilter{PatientID: c.patient.ID})
	if err != nil {
		c.t.Fatalf("ListGatingDecisions: %v", err)
	}
	return ds
}

// newDecisions runs call and returns the decisions it added, oldest first.
func (c *clinic) newDecisions(call func()) []hep.GatingDecision {
	c.t.Helper()
	before := len(c.decisions())
	call()
	all := c.decisions()
	var out []hep.GatingDecision
	for i := len(all) - before - 1; i >= 0; i-- {
		out = append(out, all[i])
	}
	return out
}

// alerts returns every alert, newest first.
func (c *clinic) alerts() []hep.Alert {
	c.t.Helper()
	as, err := c.store.ListAlerts(c.ctx(), hep.AlertFilter{PatientID: c.patient.ID})
	if err != nil {
		c.t.Fatalf("ListAlerts: %v", err)
	}
	return as
}

// states returns the stored state of each current item by exercise id.
func states(p hep.Plan) map[string]hep.ItemState {
	out := map[string]hep.ItemState{}
	for _, it := range p.Items {
		out[it.Spec.ExerciseID] = it.State
	}
	return out
}

// catalog returns the whole catalog by id.
func (c *clinic) catalog() hep.Catalog {
	c.t.Helper()
	list, err := c.store.ListExercises(c.ctx(), true)
	if err != nil {
		c.t.Fatalf("ListExercises: %v", err)
	}
	cat := hep.Catalog{}
	for _, e := range list {
		cat[e.ID] = e
	}
	return cat
}

// wantGated checks that every stored item of the current plan has the
// state and reasons that the domain's rules give for the stored screening,
// live clearances and hold: StateFor(Gate(...), hold).
func (c *clinic) wantGated(what string) {
	c.t.Helper()
	p, sc, live, cat := c.plan(), c.screening(), c.liveClearances(), c.catalog()
	for _, it := range p.Items {
		st, reasons := hep.StateFor(hep.Gate(cat[it.Spec.ExerciseID], sc, live), p.RedFlagHold)
		if it.State != st || !sameReasons(it.StateReasons, reasons) {
			c.t.Errorf("%s: item %s is %s %+v; the gate says %s %+v (hold %v)", what, it.Spec.ExerciseID,
				it.State, it.StateReasons, st, reasons, p.RedFlagHold)
		}
	}
}

// wantStates checks the current plan's item states.
func (c *clinic) wantStates(what string, want map[string]hep.ItemState) {
	c.t.Helper()
	if got := states(c.plan()); !reflect.DeepEqual(got, want) {
		c.t.Errorf("%s: item states %v, want %v", what, got, want)
	}
}

// sameReasons compares reason lists, nil and empty alike.
func sameReasons(a, b []hep.Reason) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// sameDecision compares decisions, nil and empty reasons alike.
func sameDecision(a, b hep.Decision) bool {
	return a.ExerciseID == b.ExerciseID && a.Outcome == b.Outcome && sameReasons(a.Reasons, b.Reasons)
}

// wantDecision checks a stored trail entry (any id).
func wantDecision(t *testing.T, what string, got hep.GatingDecision, want hep.GatingDecision) {
	t.Helper()
	if got.ID == "" {
		t.Errorf("%s: decision without an id", what)
	}
	want.ID = got.ID
	if g, w := normDecision(got), normDecision(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: decision\n got  %+v\n want %+v", what, g, w)
	}
}

func normDecision(g hep.GatingDecision) hep.GatingDecision {
	g.DecideTime = norm(g.DecideTime)
	if len(g.Decision.Reasons) == 0 {
		g.Decision.Reasons = nil
	}
	if len(g.ScreeningAnswerIDs) == 0 {
		g.ScreeningAnswerIDs = nil
	}
	return g
}

func normPlan(p hep.Plan) hep.Plan {
	p.CreateTime = norm(p.CreateTime)
	p.Items = append([]hep.PlanItem(nil), p.Items...)
	for i := range p.Items {
		p.Items[i].StateTime = norm(p.Items[i].StateTime)
		if len(p.Items[i].StateReasons) == 0 {
			p.Items[i].StateReasons = nil
		}
		if len(p.Items[i].Spec.Frequency.Weekdays) == 0 {
			p.Items[i].Spec.Frequency.Weekdays = nil
		}
	}
	if len(p.Items) == 0 {
		p.Items = nil
	}
	return p
}

// firstOccurrence is want (an alert as a rule raises it) as a store keeps
// it when it opens an alert with it at time at: got's id, one occurrence,
// at as its first and latest time. A red-flag alert's subject is its
// report, whose id only the store knows: got's is taken if it names a
// report.
func firstOccurrence(want, got hep.Alert, at time.Time) hep.Alert {
	want.ID, want.CreateTime, want.LatestTime, want.Occurrences = got.ID, norm(at), norm(at), 1
	if want.Kind == hep.AlertRedFlag {
		if id, ok := strings.CutPrefix(got.Subject, "red_flag_reports/"); ok && len(id) > 0 {
			want.Subject = got.Subject
		}
	}
	return want
}

func normAlert(a hep.Alert) hep.Alert {
	a.CreateTime, a.LatestTime, a.AckTime = norm(a.CreateTime), norm(a.LatestTime), norm(a.AckTime)
	return a
}

func normClearance(c hep.Clearance) hep.Clearance {
	c.CreateTime, c.EndTime = norm(c.CreateTime), norm(c.EndTime)
	return c
}

func normAnswer(a hep.ScreeningAnswer) hep.ScreeningAnswer {
	a.RecordTime = norm(a.RecordTime)
	return a
}

func normExercise(e hep.Exercise) hep.Exercise {
	e.CreateTime = norm(e.CreateTime)
	return e
}

// testClinicalAudit checks that every clinical call writes exactly one
// audit row, for the caller, naming the patient and the resource, and
// that failed calls write none.
func testClinicalAudit(t *testing.T, open OpenFunc) {
	c := newClinic(t, open)
	p := c.patient.ID
	c.screen(allAbsent()...)
	cl, _ := c.clear("inversion-table", hep.FlagNone)
	c.setPlan("cat-cow", "inversion-table")
	custom := hep.Exercise{ID: "wall-sit", Kind: hep.KindExercise, Name: "Wall sit", Instructions: "Sit against a wall.",
		DefaultDose: hep.Dose{Sets: 2, HoldSeconds: 20}}
	var alert hep.Alert
	var plan hep.Plan
	calls := []struct {
		name, action, patient string
		resource              func() string
		call                  func(context.Context) error
	}{
		{"ListExercises", "catalog.list", "", func() string { return resExercises }, func(ctx context.Context) error {
			_, err := c.store.ListExercises(ctx, false)
			return err
		}},
		{"GetExercise", "catalog.get", "", func() string { return resExercise("cat-cow") }, func(ctx context.Context) error {
			_, err := c.store.GetExercise(ctx, "cat-cow")
			return err
		}},
		{"CreateExercise", "catalog.create", "", func() string { return resExercise(custom.ID) }, func(ctx context.Context) error {
			_, err := c.store.CreateExercise(ctx, custom)
			return err
		}},
		{"RetireExercise", "catalog.retire", "", func() string { return resExercise(custom.ID) }, func(ctx context.Context) error {
			_, err := c.store.RetireExercise(ctx, custom.ID)
			return err
		}},
		{"RecordScreening", "screening.record", p, func() string { return resScreening(p) }, func(ctx context.Context) error {
			_, _, err := c.store.RecordScreening(ctx, p, []hep.ScreeningInput{ans(hep.FlagHernia, hep.StatusPresent)})
			return err
		}},
		{"GetScreening", "screening.get", p, func() string { return resScreening(p) }, func(ctx context.Context) error {
			_, err := c.store.GetScreening(ctx, p)
			return err
		}},
		{"ListScreeningHistory", "screening.history", p, func() string { return resScreening(p) }, func(ctx context.Context) error {
			_, err := c.store.ListScreeningHistory(ctx, hep.ScreeningFilter{PatientID: p, Limit: 5})
			return err
		}},
		{"ReportRedFlags", "screening.report_red_flags", p, func() string { return resAlert(p, alert.ID) }, func(ctx context.Context) (err error) {
			alert, err = c.store.ReportRedFlags(ctx, p, []hep.RedFlag{hep.RedFlagSaddleNumbness}, "")
			return err
		}},
		{"GetPlan", "plan.get", p, func() string { return resPlanVersion(p, 1) }, func(ctx context.Context) error {
			_, err := c.store.GetPlan(ctx, p, 0)
			return err
		}},
		{"GetPlan(version)", "plan.get", p, func() string { return resPlanVersion(p, 1) }, func(ctx context.Context) error {
			_, err := c.store.GetPlan(ctx, p, 1)
			return err
		}},
		{"CheckPlan", "plan.check", p, func() string { return resPlan(p) }, func(ctx context.Context) error {
			_, err := c.store.CheckPlan(ctx, p, items("cat-cow"))
			return err
		}},
		{"SetPlan", "plan.set", p, func() string { return resPlanVersion(p, plan.Version) }, func(ctx context.Context) (err error) {
			plan, err = c.store.SetPlan(ctx, p, hep.PlanInput{ExpectedVersion: 1, Items: items("cat-cow")})
			return err
		}},
		{"ClearItem", "plan.clear_item", p, func() string { return resClearance(p, cl.ID) }, func(ctx context.Context) (err error) {
			cl, _, err = c.store.ClearItem(ctx, hep.Clearance{PatientID: p, ExerciseID: "traction-machine", Reason: "ok"})
			return err
		}},
		{"ListClearances", "plan.list_clearances", p, func() string { return resClearances(p) }, func(ctx context.Context) error {
			_, err := c.store.ListClearances(ctx, p)
			return err
		}},
		{"ListGatingDecisions", "plan.list_decisions", p, func() string { return resGatingDecisions(p) }, func(ctx context.Context) error {
			_, err := c.store.ListGatingDecisions(ctx, hep.DecisionFilter{PatientID: p, Limit: 3})
			return err
		}},
		{"ListAlerts", "alert.list", p, func() string { return resAlerts(p) }, func(ctx context.Context) error {
			_, err := c.store.ListAlerts(ctx, hep.AlertFilter{PatientID: p})
			return err
		}},
		{"AcknowledgeAlert", "alert.acknowledge", p, func() string { return resAlert(p, alert.ID) }, func(ctx context.Context) error {
			_, _, err := c.store.AcknowledgeAlert(ctx, p, alert.ID, "called the patient", 0)
			return err
		}},
	}
	for _, tt := range calls {
		c.clock.Advance(time.Second)
		ctx, actor := c.doctor(tt.action)
		if tt.name == "RecordScreening" || tt.name == "ReportRedFlags" {
			ctx, actor = c.phone(tt.action)
		}
		events := c.audited(func() {
			if err := tt.call(ctx); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		})
		c.wantEvent(tt.name, events, actor, tt.patient, tt.resource(), hep.OutcomeOK)
	}

	// Failures write nothing: the transport records them.
	ctx, _ := c.doctor("fail")
	fails := []struct {
		name string
		call func() error
	}{
		{"GetExercise(unknown)", func() error { _, err := c.store.GetExercise(ctx, "no-such-thing"); return err }},
		{"CreateExercise(taken)", func() error { _, err := c.store.CreateExercise(ctx, custom); return err }},
		{"RetireExercise(built-in)", func() error { _, err := c.store.RetireExercise(ctx, "cat-cow"); return err }},
		{"RecordScreening(unknown patient)", func() error {
			_, _, err := c.store.RecordScreening(ctx, missingID, allAbsent())
			return err
		}},
		{"ReportRedFlags(unknown patient)", func() error {
			_, err := c.store.ReportRedFlags(ctx, missingID, []hep.RedFlag{hep.RedFlagFeverWithBackPain}, "")
			return err
		}},
		{"GetPlan(unknown version)", func() error { _, err := c.store.GetPlan(ctx, p, 99); return err }},
		{"SetPlan(stale)", func() error {
			_, err := c.store.SetPlan(ctx, p, hep.PlanInput{ExpectedVersion: 1, Items: items("cat-cow")})
			return err
		}},
		{"SetPlan(invalid)", func() error {
			_, err := c.store.SetPlan(ctx, p, hep.PlanInput{ExpectedVersion: plan.Version, Items: items("cat-cow", "cat-cow")})
			return err
		}},
		{"CheckPlan(invalid)", func() error {
			_, err := c.store.CheckPlan(ctx, p, []hep.ItemSpec{spec("no-such-thing", hep.KindExercise)})
			return err
		}},
		{"ClearItem(duplicate)", func() error {
			_, _, err := c.store.ClearItem(ctx, hep.Clearance{PatientID: p, ExerciseID: "traction-machine", Reason: "again"})
			return err
		}},
		{"AcknowledgeAlert(again)", func() error {
			_, _, err := c.store.AcknowledgeAlert(ctx, p, alert.ID, "again", 0)
			return err
		}},
	}
	for _, f := range fails {
		c.notAudited(f.name, func() {
			if err := f.call(); err == nil {
				t.Errorf("%s succeeded", f.name)
			}
		})
	}
}
