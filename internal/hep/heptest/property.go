package heptest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// RunProperty drives a store through seeded random sequences of clinical
// steps — screening answers from the patient and from a clinician, plan
// writes, clearances, red-flag reports and alert acknowledgements — and
// after every step checks the safety invariants against what the store
// returns:
//
//   - no ACTIVE item is contraindicated, unscreened, or needs a clearance
//     that is not live, and nothing is ACTIVE on red-flag hold (checked from
//     the catalog's rules directly, not through hep.Gate);
//   - every item's state and reasons are hep.StateFor(hep.Gate(...), hold);
//   - a refused SetPlan leaves the plan as it was;
//   - the hold is on exactly while a RED_FLAG alert is open;
//   - the current screening is the latest answer per flag that took effect
//     (a patient's report cannot lower a clinician-verified answer);
//   - the store agrees with the domain on every outcome it predicts (which
//     plan writes and clearances succeed, which clearances end, which items
//     change, which alert a screening call raises), and keeps a decision
//     for each change.
//
// Seeds 1-30 run by default (1-8 under -race, 1-5 with -short), 40 steps
// each. HEP_PROPERTY_SEED=n runs only seed n; HEP_PROPERTY_SEEDS=n runs
// seeds 1-n; HEP_PROPERTY_STEPS=n sets the steps per seed. A failure names
// its seed and the steps that led to it.
func RunProperty(t *testing.T, open OpenFunc) {
	t.Run("BuiltinCatalog", func(t *testing.T) { propBuiltinCatalog(t, open) })
	seeds, steps := propSeeds(t), propSteps(t)
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			w := newPropWorld(t, open, seed)
			for w.step = 1; w.step <= steps; w.step++ {
				w.e.clock.Advance(time.Minute + time.Duration(w.rng.IntN(120))*time.Second)
				w.randomStep() // every step ends with w.check()
				for _, it := range w.plan.Items {
					w.stats[string(it.State)]++
				}
			}
			t.Logf("seed %d: %v", seed, w.stats)
		})
	}
}

func propSeeds(t *testing.T) []uint64 {
	if s := os.Getenv("HEP_PROPERTY_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("HEP_PROPERTY_SEED=%q: %v", s, err)
		}
		return []uint64{n}
	}
	// The race detector makes the pure-Go SQLite engine about ten times
	// slower; the test is sequential, so fewer seeds lose little there.
	n := 30
	if raceEnabled() {
		n = 8
	}
	if testing.Short() {
		n = min(n, 5)
	}
	if s := os.Getenv("HEP_PROPERTY_SEEDS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("HEP_PROPERTY_SEEDS=%q: want a positive count", s)
		}
	}
	var out []uint64
	for i := 1; i <= n; i++ {
		out = append(out, uint64(i))
	}
	return out
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func propSteps(t *testing.T) int {
	if s := os.Getenv("HEP_PROPERTY_STEPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("HEP_PROPERTY_STEPS=%q: want a positive count", s)
		}
		return n
	}
	return 40
}

// propBuiltinTable is DESIGN.md's catalog table: flag -> severity per entry.
func propBuiltinTable() map[string]map[hep.Flag]hep.Severity {
	rules := func(sev hep.Severity, flags ...hep.Flag) map[hep.Flag]hep.Severity {
		m := map[hep.Flag]hep.Severity{}
		for _, f := range flags {
			m[f] = sev
		}
		return m
	}
	exercise := func() map[hep.Flag]hep.Severity {
		return rules(hep.SeverityNeedsClearance, hep.FlagPregnancy, hep.FlagRecentSpinalSurgery, hep.FlagSpinalFracture, hep.FlagOsteoporosis)
	}
	traction := func() map[hep.Flag]hep.Severity {
		return rules(hep.SeverityContraindicated, hep.FlagPregnancy, hep.FlagSpinalFracture, hep.FlagOsteoporosis,
			hep.FlagRecentSpinalSurgery, hep.FlagSpinalMetalImplant)
	}
	return map[string]map[hep.Flag]hep.Severity{
		"cat-cow": exercise(), "childs-pose": exercise(), "bar-hang": exercise(), "overhead-stretch": exercise(),
		"inversion-table": rules(hep.SeverityContraindicated, hep.FlagHypertension, hep.FlagOsteoporosis, hep.FlagHernia,
			hep.FlagSpinalFracture, hep.FlagObesity, hep.FlagPregnancy, hep.FlagRecentSpinalSurgery, hep.FlagGlaucomaOrRetinal,
			hep.FlagHeartOrCirculatoryDisease, hep.FlagAnticoagulantUse),
		"traction-machine":   traction(),
		"decompression-belt": traction(),
	}
}

// propBuiltinCatalog checks that a fresh store's catalog holds DESIGN.md's
// seven built-in entries, with their rules, sources and kinds.
func propBuiltinCatalog(t *testing.T, open OpenFunc) {
	e := newEnv(t, open)
	list, err := e.store.ListExercises(e.ctx(), false)
	if err != nil {
		t.Fatalf("ListExercises: %v", err)
	}
	table := propBuiltinTable()
	var ids []string
	for _, ex := range list {
		ids = append(ids, ex.ID)
		want, ok := table[ex.ID]
		if !ok {
			t.Errorf("unexpected entry %q in a fresh catalog", ex.ID)
			continue
		}
		device := ex.ID == "inversion-table" || ex.ID == "traction-machine" || ex.ID == "decompression-belt"
		if wantKind := map[bool]hep.Kind{true: hep.KindDevice, false: hep.KindExercise}[device]; ex.Kind != wantKind {
			t.Errorf("%s: kind %s, want %s", ex.ID, ex.Kind, wantKind)
		}
		if ex.RequiresClearance != device || !ex.BuiltIn || ex.Retired || ex.CatalogVersion < 1 {
			t.Errorf("%s: requires_clearance %v built_in %v retired %v catalog_version %d; want %v true false >=1",
				ex.ID, ex.RequiresClearance, ex.BuiltIn, ex.Retired, ex.CatalogVersion, device)
		}
		got := map[hep.Flag]hep.Severity{}
		for _, r := range ex.Rules {
			got[r.Flag] = r.Severity
			if strings.TrimSpace(r.Source) == "" {
				t.Errorf("%s: rule for %s has no source", ex.ID, r.Flag)
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: rules %v, want %v", ex.ID, got, want)
		}
		if err := ex.Validate(); err != nil {
			t.Errorf("%s does not validate: %v", ex.ID, err)
		}
	}
	wantIDs := slices.Sorted(maps.Keys(table))
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("ListExercises ids %v, want the built-ins by id %v", ids, wantIDs)
	}
}

// propWorld is one seed's store, actors and what the test knows.
type propWorld struct {
	t    *testing.T
	e    *env
	rng  *rand.Rand
	seed uint64
	step int
	log  []string

	clinician hep.Account
	patient   hep.Patient
	device    hep.Device
	devActor  hep.Actor

	// retired is the clinic entry retired during the run ("" until then).
	retired string

	// state after the last check
	plan       hep.Plan
	screening  hep.Screening
	clearances []hep.Clearance
	catalog    hep.Catalog
	alerts     []hep.Alert
	seenDec    map[string]bool
	stats      map[string]int // what happened, logged per seed

	reportedTimeZone bool                             // SetPlan's time zone was reported
	model            map[hep.Flag]hep.ScreeningAnswer // expected current screening
}

// Clinic entries the property test adds: an exercise with both severities
// and a device with a NEEDS_CLEARANCE rule, a mix the built-ins lack.
var propClinicEntries = []hep.Exercise{
	{ID: "wall-slide", Kind: hep.KindExercise, Name: "Wall slide", Instructions: "Back to the wall; slide down slowly.",
		DefaultDose: hep.Dose{Sets: 2, Reps: 8},
		Rules: []hep.Rule{
			{Flag: hep.FlagHernia, Severity: hep.SeverityContraindicated, Source: "clinic protocol (property test)"},
			{Flag: hep.FlagPregnancy, Severity: hep.SeverityNeedsClearance, Source: "clinic protocol (property test)"},
		}},
	{ID: "heat-wrap", Kind: hep.KindDevice, Name: "Heat wrap", Instructions: "Twenty minutes on the low back.",
		DefaultDose: hep.Dose{DurationSeconds: 1200}, RequiresClearance: true,
		Rules: []hep.Rule{{Flag: hep.FlagObesity, Severity: hep.SeverityNeedsClearance, Source: "clinic protocol (property test)"}}},
}

func newPropWorld(t *testing.T, open OpenFunc, seed uint64) *propWorld {
	w := &propWorld{t: t, e: newEnv(t, open), rng: rand.New(rand.NewPCG(seed, 0x4845502d50524f50)), seed: seed,
		seenDec: map[string]bool{}, stats: map[string]int{}, model: map[hep.Flag]hep.ScreeningAnswer{}}
	w.clinician = w.e.account(hep.RoleClinician)
	w.patient = w.e.patient(w.clinician.ID)
	d, s, _ := w.e.enroll(w.patient.ID)
	w.device = d
	w.devActor = hep.Actor{ID: d.ID, Role: hep.RolePatient, PatientID: w.patient.ID, SessionID: s.ID}
	for _, ex := range propClinicEntries {
		if _, err := w.e.store.CreateExercise(w.as(w.clinicianActor(), "exercise.create"), ex); err != nil {
			t.Fatalf("seed %d: CreateExercise(%s): %v", seed, ex.ID, err)
		}
	}
	w.check()
	return w
}

func (w *propWorld) clinicianActor() hep.Actor {
	return hep.Actor{ID: w.clinician.ID, Role: hep.RoleClinician}
}

func (w *propWorld) as(a hep.Actor, action string) context.Context {
	a.Action, a.RequestID, a.Peer = action, fmt.Sprintf("r-%d-%d-%s", w.seed, w.step, action), "127.0.0.1:1"
	return hep.WithActor(w.t.Context(), a)
}

func (w *propWorld) clin(action string) context.Context { return w.as(w.clinicianActor(), action) }

// fail stops the seed with its history.
func (w *propWorld) fail(format string, args ...any) {
	w.t.Helper()
	w.t.Fatalf("seed %d (HEP_PROPERTY_SEED=%d), step %d: %s\nsteps:\n  %s", w.seed, w.seed, w.step,
		fmt.Sprintf(format, args...), strings.Join(w.log, "\n  "))
}

func (w *propWorld) logf(format string, args ...any) {
	w.log = append(w.log, fmt.Sprintf("%d: ", w.step)+fmt.Sprintf(format, args...))
}

func (w *propWorld) randomStep() {
	switch r := w.rng.IntN(100); {
	case w.step == 1 && r < 80:
		w.screen(true, true)
	case r < 22:
		w.screen(w.rng.IntN(2) == 0, false)
	case r < 32:
		w.removeFlags()
	case r < 57:
		w.writePlan()
	case r < 60:
		w.writeStalePlan()
	case r < 80:
		w.clear()
	case r < 84:
		w.reportRedFlags()
	case r < 97:
		w.acknowledge()
	default:
		w.retire()
	}
}

// ---- Steps ----

func (w *propWorld) pickFlags(n int) []hep.Flag {
	fs := slices.Clone(hep.Flags)
	w.rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	return fs[:n]
}

func (w *propWorld) randomStatus() hep.FlagStatus {
	switch r := w.rng.IntN(100); {
	case r < 35:
		return hep.StatusPresent
	case r < 80:
		return hep.StatusAbsent
	}
	return hep.StatusUnknown
}

// screen records answers: every flag (mostly ABSENT) or a few random ones.
func (w *propWorld) screen(byClinician, everything bool) {
	var answers []hep.ScreeningInput
	if everything {
		for _, f := range hep.Flags {
			st := hep.StatusAbsent
			if w.rng.IntN(100) < 15 {
				st = w.randomStatus()
			}
			answers = append(answers, hep.ScreeningInput{Flag: f, Status: st})
		}
	} else {
		for _, f := range w.pickFlags(1 + w.rng.IntN(3)) {
			answers = append(answers, hep.ScreeningInput{Flag: f, Status: w.randomStatus()})
		}
	}
	if w.rng.IntN(4) == 0 {
		answers[0].Note = "noted at step " + strconv.Itoa(w.step)
	}
	w.record(byClinician, answers)
}

// removeFlags answers ABSENT for flags now PRESENT or UNKNOWN.
func (w *propWorld) removeFlags() {
	var answers []hep.ScreeningInput
	for _, f := range hep.Flags {
		if w.screening.Status(f) != hep.StatusAbsent && w.rng.IntN(2) == 0 {
			answers = append(answers, hep.ScreeningInput{Flag: f, Status: hep.StatusAbsent})
		}
	}
	if len(answers) == 0 {
		answers = []hep.ScreeningInput{{Flag: w.pickFlags(1)[0], Status: hep.StatusAbsent}}
	}
	w.record(w.rng.IntN(2) == 0, answers)
}

func (w *propWorld) record(byClinician bool, answers []hep.ScreeningInput) {
	actor := w.devActor
	if byClinician {
		actor = w.clinicianActor()
	}
	src := hep.SourceFor(actor.Role)
	var desc []string
	for _, a := range answers {
		desc = append(desc, fmt.Sprintf("%s=%s", a.Flag, a.Status))
	}
	w.logf("RecordScreening by %s: %s", actor.Role, strings.Join(desc, " "))
	if err := hep.ValidateScreeningInputs(answers); err != nil {
		w.fail("generated invalid answers: %v", err)
	}
	// A patient's report cannot make a clinician-verified answer less
	// cautious: it is kept in the history but does not take effect.
	var effective, overridden []hep.ScreeningInput
	for _, a := range answers {
		if propTakesEffect(w.screening, a, src) {
			effective = append(effective, a)
		} else {
			overridden = append(overridden, a)
		}
	}
	if len(overridden) > 0 {
		w.logf("  overridden by verified answers: %v", overridden)
		w.stats["RecordScreening overridden"]++
	}
	ended := hep.EndedClearances(w.live(), w.screening, effective)
	before, screeningBefore, alertsBefore := w.plan, w.screening, w.alerts
	sc, changed, err := w.e.store.RecordScreening(w.as(actor, "screening.record"), w.patient.ID, answers)
	if err != nil {
		w.fail("RecordScreening: %v", err)
	}
	w.stats["RecordScreening"]++
	now := w.e.clock.Now()
	for _, a := range effective {
		w.model[a.Flag] = hep.ScreeningAnswer{PatientID: w.patient.ID, Flag: a.Flag, Status: a.Status, Source: src,
			RecordedBy: actor.ID, Note: a.Note, RecordTime: now, Effective: true}
	}
	w.checkScreening("RecordScreening's result", sc)
	w.check()
	// Exactly the clearances EndedClearances names have ended, now.
	endedIDs := map[string]bool{}
	for _, c := range ended {
		endedIDs[c.ID] = true
	}
	for _, c := range w.clearances {
		if endedIDs[c.ID] && !norm(c.EndTime).Equal(now) {
			w.fail("clearance %s for %s/%s should have ended at %v: %+v", c.ID, c.ExerciseID, c.Flag, now, c)
		}
	}
	for _, c := range w.live() {
		if endedIDs[c.ID] {
			w.fail("clearance %+v is still live", c)
		}
	}
	w.checkChanged("RecordScreening", before, changed, hep.CauseScreeningChanged)
	w.checkVersionKept("RecordScreening", before)

	// One routine alert when items changed, when a patient's report moved
	// a status, or when a report was overridden; none otherwise.
	var changes []hep.ItemChange
	for i, it := range before.Items {
		if it.State != w.plan.Items[i].State {
			changes = append(changes, hep.ItemChange{Index: i, Old: it.State, New: w.plan.Items[i].State})
		}
	}
	moved := slices.ContainsFunc(effective, func(a hep.ScreeningInput) bool { return screeningBefore.Status(a.Flag) != a.Status })
	wantAlert := len(changes) > 0 || len(overridden) > 0 || (src == hep.SourcePatientReported && moved)
	want := hep.AlertForScreening(w.patient.ID, src, screeningBefore, effective, overridden, changes, w.plan.Items)
	if (want != nil) != wantAlert {
		w.fail("AlertForScreening = %+v; want an alert: %v", want, wantAlert)
	}
	// An open alert of the same kind and subject takes the occurrence
	// (hep.Coalesce); otherwise a new alert opens with it.
	fresh := w.newAlerts(alertsBefore)
	var open *hep.Alert
	if want != nil {
		if i := slices.IndexFunc(alertsBefore, func(a hep.Alert) bool {
			return a.Status == hep.AlertOpen && a.PatientID == want.PatientID && a.Kind == want.Kind && a.Subject == want.Subject
		}); i >= 0 {
			open = &alertsBefore[i]
		}
	}
	switch {
	case want == nil && len(fresh) != 0:
		w.fail("RecordScreening raised %+v, want no alert", fresh)
	case want != nil && open != nil:
		if len(fresh) != 0 {
			w.fail("RecordScreening opened %+v, want its occurrence on open alert %s", fresh, open.ID)
		}
		w.stats["RecordScreening coalesced"]++
		exp, _ := hep.Coalesce(open, *want, now)
		i := slices.IndexFunc(w.alerts, func(a hep.Alert) bool { return a.ID == open.ID })
		if i < 0 {
			w.fail("open alert %s is gone", open.ID)
		} else if got := propNormAlert(w.alerts[i]); got != propNormAlert(exp) {
			w.fail("RecordScreening coalesced alert\n got  %+v\n want %+v", got, propNormAlert(exp))
		}
	case want != nil && len(fresh) != 1:
		w.fail("RecordScreening raised %d alerts %+v, want one: %q", len(fresh), fresh, want.Summary)
	case want != nil:
		if got, exp := propNormAlert(fresh[0]), firstOccurrence(*want, fresh[0], now); got != exp {
			w.fail("RecordScreening alert\n got  %+v\n want %+v", got, exp)
		}
	}
}

// propTakesEffect is the override rule, written here from its
// description: a clinician's answer always takes effect; a patient's does
// unless the flag's current answer is clinician-verified and more cautious
// (PRESENT > UNKNOWN > ABSENT).
func propTakesEffect(current hep.Screening, in hep.ScreeningInput, src hep.Source) bool {
	cur, ok := current[in.Flag]
	if src == hep.SourceClinicianVerified || !ok || cur.Source != hep.SourceClinicianVerified {
		return true
	}
	rank := map[hep.FlagStatus]int{hep.StatusAbsent: 0, hep.StatusUnknown: 1, hep.StatusPresent: 2}
	return rank[in.Status] >= rank[cur.Status]
}

// newAlerts returns the alerts that are not in before.
func (w *propWorld) newAlerts(before []hep.Alert) []hep.Alert {
	var out []hep.Alert
	for _, a := range w.alerts {
		if !slices.ContainsFunc(before, func(b hep.Alert) bool { return b.ID == a.ID }) {
			out = append(out, a)
		}
	}
	return out
}

func (w *propWorld) countAlerts(kind hep.AlertKind) int {
	n := 0
	for _, a := range w.alerts {
		if a.Kind == kind {
			n++
			if a.PatientID != w.patient.ID || (kind == hep.AlertScreeningChanged && a.Severity != hep.AlertRoutine) {
				w.fail("alert %+v", a)
			}
		}
	}
	return n
}

// item returns a valid item spec for an entry.
func (w *propWorld) item(ex hep.Exercise) hep.ItemSpec {
	it := hep.ItemSpec{ExerciseID: ex.ID, StartDate: hep.DateOf(w.e.clock.Now(), time.UTC)}
	if ex.Kind == hep.KindDevice {
		it.Dose = hep.Dose{DurationSeconds: int32(60 * (1 + w.rng.IntN(20)))}
		if ex.ID == "inversion-table" {
			it.Dose.AngleDegrees = int32(10 + w.rng.IntN(50))
		}
		if ex.ID == "traction-machine" {
			it.Dose.ForceKg = int32(5 + w.rng.IntN(30))
		}
	} else {
		it.Dose = hep.Dose{Sets: int32(1 + w.rng.IntN(3)), Reps: int32(5 + w.rng.IntN(11))}
		if w.rng.IntN(3) == 0 {
			it.Dose.HoldSeconds = int32(5 + w.rng.IntN(55))
		}
	}
	it.Frequency.TimesPerDay = int32(1 + w.rng.IntN(3))
	if w.rng.IntN(2) == 0 {
		it.Frequency.DaysPerWeek = int32(1 + w.rng.IntN(7))
	} else {
		for d := time.Sunday; d <= time.Saturday; d++ {
			if w.rng.IntN(2) == 0 {
				it.Frequency.Weekdays = append(it.Frequency.Weekdays, d)
			}
		}
		if len(it.Frequency.Weekdays) == 0 {
			it.Frequency.Weekdays = []time.Weekday{time.Monday}
		}
	}
	if w.rng.IntN(3) == 0 {
		it.EndDate = hep.DateOf(w.e.clock.Now().AddDate(0, 0, 7+w.rng.IntN(60)), time.UTC)
	}
	if w.rng.IntN(4) == 0 {
		it.Notes = "Stop if pain rises.\nBreathe out on the way down."
	}
	return it
}

// planItems picks a random subset of the catalog, mostly of entries the
// gate allows now, sometimes anything.
func (w *propWorld) planItems() []hep.ItemSpec {
	anything := w.rng.IntN(3) == 0
	var items []hep.ItemSpec
	for _, id := range slices.Sorted(maps.Keys(w.catalog)) {
		ex := w.catalog[id]
		if w.rng.IntN(2) == 0 {
			continue
		}
		if ex.Retired && w.rng.IntN(3) != 0 {
			continue
		}
		if !anything && hep.Gate(ex, w.screening, w.clearances).Outcome != hep.OutcomeAllowed {
			continue
		}
		items = append(items, w.item(ex))
	}
	w.rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	return items
}

func (w *propWorld) writePlan() {
	items := w.planItems()
	invalid := w.rng.IntN(20) == 0 && len(items) > 0
	if invalid {
		items[0].Dose.Reps = 5000
	}
	in := hep.PlanInput{ExpectedVersion: w.plan.Version, Items: items, Note: "property step " + strconv.Itoa(w.step)}
	w.setPlan(in)
}

func (w *propWorld) writeStalePlan() {
	in := hep.PlanInput{ExpectedVersion: w.plan.Version + 1 + int64(w.rng.IntN(2)), Items: w.planItems()}
	if w.plan.Version > 0 && w.rng.IntN(2) == 0 {
		in.ExpectedVersion = w.plan.Version - 1
	}
	w.setPlan(in)
}

func (w *propWorld) setPlan(in hep.PlanInput) {
	var ids []string
	for _, it := range in.Items {
		ids = append(ids, it.ExerciseID)
	}
	w.logf("SetPlan expected=%d items=%v", in.ExpectedVersion, ids)

	// What the domain says must happen.
	var wantCode hep.Code
	var wantReason string
	var ds []hep.Decision
	if in.ExpectedVersion != w.plan.Version {
		wantCode, wantReason = hep.CodeAborted, hep.ReasonVersionMismatch
	} else if err := hep.ValidateItems(in.Items, w.catalog, w.plan); err != nil {
		wantCode, wantReason = hep.CodeInvalid, hep.ReasonInvalidArgument
	} else if ds, err = hep.GateItems(in.Items, w.catalog, w.screening, w.clearances); err != nil {
		wantCode, wantReason = hep.CodeFailedPrecondition, hep.ReasonGateBlocked
	}

	before := w.plan
	got, err := w.e.store.SetPlan(w.clin("plan.set"), w.patient.ID, in)
	if code := hep.ErrorCode(err); code != wantCode || (err != nil && reasonOf(err) != wantReason) {
		w.fail("SetPlan: error %v, want code %q reason %q", err, wantCode, wantReason)
	}
	w.stats["SetPlan "+cmp.Or(wantReason, "OK")]++
	w.check()
	if err != nil {
		w.logf("  refused: %s %s", wantCode, wantReason)
		// (c) A refused write changes nothing.
		if !reflect.DeepEqual(propNormPlan(w.plan), propNormPlan(before)) {
			w.fail("refused SetPlan changed the plan:\n before %+v\n after  %+v", before, w.plan)
		}
		if wantCode == hep.CodeFailedPrecondition {
			w.checkRefusedDecisions(in, ds)
		} else {
			w.newDecisions() // nothing to check, but mark them seen
		}
		return
	}
	w.logf("  written: version %d", got.Version)
	if got.Version != before.Version+1 || w.plan.Version != got.Version {
		w.fail("SetPlan wrote version %d (GetPlan %d), want %d", got.Version, w.plan.Version, before.Version+1)
	}
	// The time zone is reported on its own (once per seed) so that the
	// rest of the run still checks everything else.
	if got.TimeZone != w.plan.TimeZone && !w.reportedTimeZone {
		w.reportedTimeZone = true
		w.t.Errorf("seed %d, step %d: SetPlan returned time zone %q, GetPlan reads %q: the plan's \"today\" (and so ENDED) must be the patient's day",
			w.seed, w.step, got.TimeZone, w.plan.TimeZone)
	}
	got.TimeZone = w.plan.TimeZone
	if !reflect.DeepEqual(propNormPlan(got), propNormPlan(w.plan)) {
		w.fail("SetPlan returned\n %+v\nbut GetPlan reads\n %+v", got, w.plan)
	}
	if w.plan.AuthorID != w.clinician.ID || w.plan.Note != in.Note || !norm(w.plan.CreateTime).Equal(w.e.clock.Now()) {
		w.fail("plan author %q note %q time %v; want %q %q %v", w.plan.AuthorID, w.plan.Note, w.plan.CreateTime,
			w.clinician.ID, in.Note, w.e.clock.Now())
	}
	if len(w.plan.Items) != len(in.Items) {
		w.fail("plan has %d items, want %d", len(w.plan.Items), len(in.Items))
	}
	for i, it := range w.plan.Items {
		if !reflect.DeepEqual(propNormSpec(it.Spec), propNormSpec(in.Items[i])) {
			w.fail("item %d spec\n got  %+v\n want %+v", i, it.Spec, in.Items[i])
		}
		if !norm(it.StateTime).Equal(w.e.clock.Now()) {
			w.fail("item %d state time %v, want the write's time", i, it.StateTime)
		}
	}
	// Decisions resting on a clearance are kept (cause PLAN_WRITTEN).
	fresh := w.newDecisions()
	for i, d := range ds {
		if !slices.ContainsFunc(d.Reasons, hep.Reason.Cleared) {
			continue
		}
		if !slices.ContainsFunc(fresh, func(g hep.GatingDecision) bool {
			return g.Cause == hep.CausePlanWritten && g.Decision.ExerciseID == d.ExerciseID && g.PlanVersion == got.Version &&
				g.NewState == w.plan.Items[i].State
		}) {
			w.fail("no PLAN_WRITTEN decision kept for %s, which rests on a clearance; new decisions %+v", d.ExerciseID, fresh)
		}
	}
}

// clear gives a clearance, mostly one the domain would accept.
func (w *propWorld) clear() {
	// Mostly a clearance the domain accepts, if there is one; otherwise
	// any entry with its standing requirement or one of its rules' flags.
	type pair struct {
		id   string
		flag hep.Flag
	}
	var all, acceptable []pair
	for _, id := range slices.Sorted(maps.Keys(w.catalog)) {
		ex := w.catalog[id]
		flags := []hep.Flag{hep.FlagNone}
		for _, r := range ex.Rules {
			flags = append(flags, r.Flag)
		}
		for _, f := range flags {
			all = append(all, pair{id, f})
			if hep.CheckClearance(ex, w.screening, f) == nil &&
				!slices.ContainsFunc(w.live(), func(c hep.Clearance) bool { return c.ExerciseID == id && c.Flag == f }) {
				acceptable = append(acceptable, pair{id, f})
			}
		}
	}
	var inPlan []pair // acceptable and for a plan item: may re-activate it
	for _, p := range acceptable {
		if slices.ContainsFunc(w.plan.Items, func(it hep.PlanItem) bool { return it.Spec.ExerciseID == p.id }) {
			inPlan = append(inPlan, p)
		}
	}
	pick := all[w.rng.IntN(len(all))]
	switch r := w.rng.IntN(10); {
	case len(inPlan) > 0 && r < 6:
		pick = inPlan[w.rng.IntN(len(inPlan))]
	case len(acceptable) > 0 && r < 8:
		pick = acceptable[w.rng.IntN(len(acceptable))]
	}
	id, flag := pick.id, pick.flag
	ex := w.catalog[id]
	if w.rng.IntN(10) == 0 {
		flag = w.pickFlags(1)[0]
	}
	unknown := w.rng.IntN(25) == 0
	if unknown {
		id = "no-such-entry"
	}
	in := hep.Clearance{PatientID: w.patient.ID, ExerciseID: id, Flag: flag, Reason: "Assessed in clinic at step " + strconv.Itoa(w.step)}
	w.logf("ClearItem %s/%q", id, flag)

	var wantCode hep.Code
	switch {
	case unknown:
		wantCode = hep.CodeNotFound
	case hep.CheckClearance(ex, w.screening, flag) != nil:
		wantCode = hep.CodeFailedPrecondition
	case slices.ContainsFunc(w.live(), func(c hep.Clearance) bool { return c.ExerciseID == id && c.Flag == flag }):
		wantCode = hep.CodeAlreadyExists
	}
	before, liveBefore := w.plan, w.live()
	c, changed, err := w.e.store.ClearItem(w.clin("plan.clear_item"), in)
	if code := hep.ErrorCode(err); code != wantCode {
		w.fail("ClearItem: error %v, want code %q", err, wantCode)
	}
	w.stats["ClearItem "+cmp.Or(string(wantCode), "OK")]++
	w.check()
	w.checkVersionKept("ClearItem", before)
	if err != nil {
		w.logf("  refused: %s", wantCode)
		if !propSameClearances(w.live(), liveBefore) {
			w.fail("refused ClearItem changed the live clearances: %+v -> %+v", liveBefore, w.live())
		}
		if !reflect.DeepEqual(propNormPlan(w.plan), propNormPlan(before)) {
			w.fail("refused ClearItem changed the plan")
		}
		w.newDecisions()
		return
	}
	want := hep.Clearance{ID: c.ID, PatientID: w.patient.ID, ExerciseID: id, Flag: flag, Reason: in.Reason, ClearedBy: w.clinician.ID,
		CreateTime: w.e.clock.Now()}
	if c.ID == "" || propNormClearance(c) != want {
		w.fail("ClearItem returned\n %+v\nwant\n %+v", c, want)
	}
	if !propSameClearances(w.live(), append(liveBefore, c)) {
		w.fail("live clearances after ClearItem: %+v, want %+v plus %s", w.live(), liveBefore, c.ID)
	}
	fresh := w.checkChanged("ClearItem", before, changed, hep.CauseClearance)
	if !slices.ContainsFunc(fresh, func(g hep.GatingDecision) bool {
		return g.Cause == hep.CauseClearance && g.Decision.ExerciseID == id
	}) {
		w.fail("no CLEARANCE decision kept for %s; new decisions %+v", id, fresh)
	}
}

func (w *propWorld) reportRedFlags() {
	syms := slices.Clone(hep.RedFlags)
	w.rng.Shuffle(len(syms), func(i, j int) { syms[i], syms[j] = syms[j], syms[i] })
	syms = syms[:1+w.rng.IntN(len(syms))]
	actor := w.devActor
	if w.rng.IntN(4) == 0 {
		actor = w.clinicianActor()
	}
	w.logf("ReportRedFlags by %s: %v", actor.Role, syms)
	before := w.plan
	a, err := w.e.store.ReportRedFlags(w.as(actor, "screening.report_red_flags"), w.patient.ID, syms, "")
	if err != nil {
		w.fail("ReportRedFlags: %v", err)
	}
	w.stats["ReportRedFlags"]++
	want := firstOccurrence(hep.RedFlagAlert(w.patient.ID, "", syms), a, w.e.clock.Now())
	if a.ID == "" || propNormAlert(a) != want {
		w.fail("ReportRedFlags returned\n %+v\nwant\n %+v", a, want)
	}
	w.check()
	w.checkVersionKept("ReportRedFlags", before)
	if !w.plan.RedFlagHold {
		w.fail("plan not on hold after a red-flag report")
	}
	for i, it := range w.plan.Items {
		if it.State != hep.ItemSuspended {
			w.fail("item %d (%s) is %s after a red-flag report", i, it.Spec.ExerciseID, it.State)
		}
	}
	// A decision (cause RED_FLAG) for every item the report suspended.
	var changed []string
	for i, it := range before.Items {
		if it.State == hep.ItemActive {
			changed = append(changed, w.plan.Items[i].Spec.ExerciseID)
		}
	}
	w.checkDecisionsFor("ReportRedFlags", before, changed, hep.CauseRedFlag)
}

func (w *propWorld) acknowledge() {
	var open, done []hep.Alert
	for _, a := range w.alerts {
		if a.Status == hep.AlertOpen {
			open = append(open, a)
		} else {
			done = append(done, a)
		}
	}
	if len(open) == 0 && len(done) == 0 {
		w.reportRedFlags()
		return
	}
	before := w.plan
	if len(open) == 0 || (len(done) > 0 && w.rng.IntN(8) == 0) {
		a := done[w.rng.IntN(len(done))]
		w.logf("AcknowledgeAlert %s (%s, already acknowledged)", a.ID, a.Kind)
		_, _, err := w.e.store.AcknowledgeAlert(w.clin("alert.acknowledge"), w.patient.ID, a.ID, "again", 0)
		if hep.ErrorCode(err) != hep.CodeFailedPrecondition {
			w.fail("AcknowledgeAlert(acknowledged): %v, want FAILED_PRECONDITION", err)
		}
		w.check()
		if !reflect.DeepEqual(propNormPlan(w.plan), propNormPlan(before)) {
			w.fail("a refused AcknowledgeAlert changed the plan")
		}
		w.newDecisions()
		return
	}
	a := open[w.rng.IntN(len(open))]
	if i := slices.IndexFunc(open, func(a hep.Alert) bool { return a.Kind == hep.AlertRedFlag }); i >= 0 && w.rng.IntN(3) != 0 {
		a = open[i] // mostly lift holds, so that plans spend time active
	}
	w.logf("AcknowledgeAlert %s (%s)", a.ID, a.Kind)
	note := "Phoned the patient at step " + strconv.Itoa(w.step)
	got, changed, err := w.e.store.AcknowledgeAlert(w.clin("alert.acknowledge"), w.patient.ID, a.ID, note, a.Occurrences)
	if err != nil {
		w.fail("AcknowledgeAlert: %v", err)
	}
	w.stats["AcknowledgeAlert "+string(a.Kind)]++
	want := a
	want.Status, want.AckBy, want.AckNote, want.AckTime = hep.AlertAcknowledged, w.clinician.ID, note, w.e.clock.Now()
	if propNormAlert(got) != propNormAlert(want) {
		w.fail("AcknowledgeAlert returned\n %+v\nwant\n %+v", got, want)
	}
	w.check()
	w.checkVersionKept("AcknowledgeAlert", before)
	if a.Kind != hep.AlertRedFlag && !reflect.DeepEqual(propNormPlan(w.plan), propNormPlan(before)) {
		w.fail("acknowledging a %s alert changed the plan", a.Kind)
	}
	w.checkChanged("AcknowledgeAlert", before, changed, hep.CauseRedFlag)
}

// retire retires a clinic entry once per run.
func (w *propWorld) retire() {
	if w.retired != "" {
		w.clear()
		return
	}
	id := propClinicEntries[w.rng.IntN(len(propClinicEntries))].ID
	w.logf("RetireExercise %s", id)
	before := w.plan
	ex, err := w.e.store.RetireExercise(w.clin("exercise.retire"), id)
	if err != nil || !ex.Retired {
		w.fail("RetireExercise(%s) = %+v, %v", id, ex, err)
	}
	w.retired, w.catalog = id, nil
	w.stats["RetireExercise"]++
	if _, err := w.e.store.RetireExercise(w.clin("exercise.retire"), "cat-cow"); hep.ErrorCode(err) != hep.CodeFailedPrecondition {
		w.fail("RetireExercise(built-in): %v, want FAILED_PRECONDITION", err)
	}
	w.check()
	// Retiring changes no plan: an item of a retired entry is still gated
	// by its rules.
	if !reflect.DeepEqual(propNormPlan(w.plan), propNormPlan(before)) {
		w.fail("RetireExercise changed the plan")
	}
	w.newDecisions()
}

// ---- Checks ----

// check reloads everything and checks the invariants.
func (w *propWorld) check() {
	w.t.Helper()
	ctx := w.clin("property.read")
	var err error
	if w.plan, err = w.e.store.GetPlan(ctx, w.patient.ID, 0); err != nil {
		w.fail("GetPlan: %v", err)
	}
	if w.screening, err = w.e.store.GetScreening(ctx, w.patient.ID); err != nil {
		w.fail("GetScreening: %v", err)
	}
	if w.clearances, err = w.e.store.ListClearances(ctx, w.patient.ID); err != nil {
		w.fail("ListClearances: %v", err)
	}
	if w.catalog == nil { // the catalog changes only when the test retires an entry
		list, err := w.e.store.ListExercises(ctx, true)
		if err != nil {
			w.fail("ListExercises: %v", err)
		}
		w.catalog = hep.Catalog{}
		for _, ex := range list {
			w.catalog[ex.ID] = ex
		}
	}
	w.alerts = nil
	for f := (hep.AlertFilter{PatientID: w.patient.ID, Limit: 50}); ; {
		page, err := w.e.store.ListAlerts(ctx, f)
		if err != nil {
			w.fail("ListAlerts: %v", err)
		}
		w.alerts = append(w.alerts, page...)
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	hold := w.plan.RedFlagHold

	if w.plan.PatientID != w.patient.ID || w.plan.TimeZone != w.patient.TimeZone {
		w.fail("GetPlan patient %q time zone %q, want %q %q", w.plan.PatientID, w.plan.TimeZone, w.patient.ID, w.patient.TimeZone)
	}
	w.checkScreening("GetScreening", w.screening)

	// The hold is on exactly while a RED_FLAG alert is open.
	openRedFlag := slices.ContainsFunc(w.alerts, func(a hep.Alert) bool { return a.Kind == hep.AlertRedFlag && a.Status == hep.AlertOpen })
	if hold != openRedFlag {
		w.fail("plan hold %v, but an open RED_FLAG alert exists: %v", hold, openRedFlag)
	}

	// Clearances: a live one stands for a PRESENT flag (or is standing),
	// and there is at most one per exercise and flag.
	seen := map[string]bool{}
	for _, c := range w.clearances {
		if c.PatientID != w.patient.ID {
			w.fail("ListClearances returned another patient's clearance %+v", c)
		}
		if !c.Live() {
			continue
		}
		key := c.ExerciseID + "/" + string(c.Flag)
		if seen[key] {
			w.fail("two live clearances for %s", key)
		}
		seen[key] = true
		if c.Flag != hep.FlagNone && w.screening.Status(c.Flag) != hep.StatusPresent {
			w.fail("clearance %s for %s is live but the flag is %s", c.ID, key, w.screening.Status(c.Flag))
		}
	}

	for i, it := range w.plan.Items {
		id := it.Spec.ExerciseID
		ex, ok := w.catalog[id]
		if !ok {
			w.fail("item %d: exercise %q is not in the catalog", i, id)
		}
		if it.State != hep.ItemActive && it.State != hep.ItemSuspended {
			w.fail("item %d (%s): stored state %q", i, id, it.State)
		}
		// (a) From the rules directly, not through hep.Gate.
		if it.State == hep.ItemActive {
			if hold {
				w.fail("item %d (%s) is ACTIVE on red-flag hold", i, id)
			}
			for _, r := range ex.Rules {
				switch st := w.screening.Status(r.Flag); {
				case st == hep.StatusUnknown:
					w.fail("item %d (%s) is ACTIVE but %s is unknown (NEEDS_SCREENING)", i, id, r.Flag)
				case st == hep.StatusPresent && r.Severity == hep.SeverityContraindicated:
					w.fail("item %d (%s) is ACTIVE but contraindicated with %s", i, id, r.Flag)
				case st == hep.StatusPresent && !seen[id+"/"+string(r.Flag)]:
					w.fail("item %d (%s) is ACTIVE with %s PRESENT and no live clearance", i, id, r.Flag)
				}
			}
			if ex.RequiresClearance && !seen[id+"/"] {
				w.fail("item %d (%s) is ACTIVE without a live standing clearance", i, id)
			}
		}
		// (b) The stored state is what the domain says.
		st, reasons := hep.StateFor(hep.Gate(ex, w.screening, w.clearances), hold)
		if it.State != st || !propSameReasons(it.StateReasons, reasons) {
			w.fail("item %d (%s): stored %s %+v\nwant StateFor(Gate) = %s %+v", i, id, it.State, it.StateReasons, st, reasons)
		}
	}
}

// checkScreening compares a screening with the answers the test recorded.
func (w *propWorld) checkScreening(what string, sc hep.Screening) {
	w.t.Helper()
	if len(sc) != len(w.model) {
		w.fail("%s has %d flags, want %d: %+v", what, len(sc), len(w.model), sc)
	}
	for f, want := range w.model {
		got, ok := sc[f]
		if !ok {
			w.fail("%s lacks %s", what, f)
		}
		if got.ID == "" {
			w.fail("%s: answer for %s has no id", what, f)
		}
		want.ID = got.ID
		got.RecordTime = norm(got.RecordTime)
		if got != want {
			w.fail("%s[%s]\n got  %+v\n want %+v", what, f, got, want)
		}
	}
}

// checkChanged checks a method's changed exercise ids against the item
// states before and after, and the decisions kept for them.
func (w *propWorld) checkChanged(what string, before hep.Plan, changed []string, cause hep.DecisionCause) []hep.GatingDecision {
	w.t.Helper()
	var want []string
	if before.Version == w.plan.Version {
		for i, it := range before.Items {
			if it.State != w.plan.Items[i].State {
				want = append(want, it.Spec.ExerciseID)
			}
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(changed)), slices.Sorted(slices.Values(want))) {
		w.fail("%s reported changed items %v, but the states changed for %v", what, changed, want)
	}
	if len(want) > 0 {
		w.logf("  changed: %v", want)
		w.stats[what+" changed items"]++
	}
	return w.checkDecisionsFor(what, before, want, cause)
}

// checkDecisionsFor checks that a decision with the cause was kept for
// every changed item, with its old and new state and the gate's verdict.
func (w *propWorld) checkDecisionsFor(what string, before hep.Plan, changed []string, cause hep.DecisionCause) []hep.GatingDecision {
	w.t.Helper()
	fresh := w.newDecisions()
	for _, id := range changed {
		i := slices.IndexFunc(w.plan.Items, func(it hep.PlanItem) bool { return it.Spec.ExerciseID == id })
		want := hep.Gate(w.catalog[id], w.screening, w.clearances)
		if !slices.ContainsFunc(fresh, func(g hep.GatingDecision) bool {
			return g.Cause == cause && g.Decision.ExerciseID == id && g.PlanVersion == w.plan.Version &&
				g.PreviousState == before.Items[i].State && g.NewState == w.plan.Items[i].State &&
				g.Decision.Outcome == want.Outcome && propSameReasons(g.Decision.Reasons, want.Reasons)
		}) {
			w.fail("%s: no %s decision kept for %s (%s -> %s, %s); new decisions %+v", what, cause, id,
				before.Items[i].State, w.plan.Items[i].State, want.Outcome, fresh)
		}
	}
	// An outcome that changed nothing need not be kept, but every kept
	// decision must be worth keeping and belong to the patient.
	for _, g := range fresh {
		if g.PatientID != w.patient.ID || !g.Worth() {
			w.fail("%s kept decision %+v", what, g)
		}
	}
	return fresh
}

// checkRefusedDecisions: a refused plan keeps a PLAN_REFUSED decision for
// each blocked item.
func (w *propWorld) checkRefusedDecisions(in hep.PlanInput, ds []hep.Decision) {
	w.t.Helper()
	fresh := w.newDecisions()
	for _, d := range ds {
		if d.Outcome == hep.OutcomeAllowed {
			continue
		}
		if !slices.ContainsFunc(fresh, func(g hep.GatingDecision) bool {
			return g.Cause == hep.CausePlanRefused && g.Decision.ExerciseID == d.ExerciseID && g.Decision.Outcome == d.Outcome &&
				propSameReasons(g.Decision.Reasons, d.Reasons)
		}) {
			w.fail("refused SetPlan kept no PLAN_REFUSED decision for %s (%s); new decisions %+v", d.ExerciseID, d.Outcome, fresh)
		}
	}
	for _, g := range fresh {
		if g.Cause != hep.CausePlanRefused {
			w.fail("refused SetPlan kept a %s decision %+v", g.Cause, g)
		}
	}
}

// newDecisions returns the decisions kept since the last call.
func (w *propWorld) newDecisions() []hep.GatingDecision {
	w.t.Helper()
	// Newest first: read pages until one holds a decision already seen.
	var out []hep.GatingDecision
	for f := (hep.DecisionFilter{PatientID: w.patient.ID, Limit: 50}); ; {
		page, err := w.e.store.ListGatingDecisions(w.clin("property.read_decisions"), f)
		if err != nil {
			w.fail("ListGatingDecisions: %v", err)
		}
		old := false
		for _, g := range page {
			if w.seenDec[g.ID] {
				old = true
				continue
			}
			out = append(out, g)
		}
		if old || len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	for _, g := range out {
		w.seenDec[g.ID] = true
	}
	return out
}

func (w *propWorld) checkVersionKept(what string, before hep.Plan) {
	w.t.Helper()
	if w.plan.Version != before.Version {
		w.fail("%s changed the plan version from %d to %d", what, before.Version, w.plan.Version)
	}
	for i, it := range w.plan.Items {
		if !reflect.DeepEqual(propNormSpec(it.Spec), propNormSpec(before.Items[i].Spec)) {
			w.fail("%s changed item %d's spec", what, i)
		}
	}
}

func (w *propWorld) live() []hep.Clearance {
	var out []hep.Clearance
	for _, c := range w.clearances {
		if c.Live() {
			out = append(out, c)
		}
	}
	return out
}

// ---- Comparison helpers ----

func propSameReasons(a, b []hep.Reason) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return slices.Equal(a, b)
}

func propSameClearances(a, b []hep.Clearance) bool {
	ids := func(cs []hep.Clearance) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(ids(a), ids(b))
}

func propNormClearance(c hep.Clearance) hep.Clearance {
	c.CreateTime, c.EndTime = norm(c.CreateTime), norm(c.EndTime)
	return c
}

func propNormAlert(a hep.Alert) hep.Alert {
	a.CreateTime, a.LatestTime, a.AckTime = norm(a.CreateTime), norm(a.LatestTime), norm(a.AckTime)
	return a
}

// propNormSpec makes specs comparable: weekdays as a sorted set, no nil/empty
// distinction.
func propNormSpec(s hep.ItemSpec) hep.ItemSpec {
	if len(s.Frequency.Weekdays) == 0 {
		s.Frequency.Weekdays = nil
	} else {
		s.Frequency.Weekdays = slices.Sorted(slices.Values(s.Frequency.Weekdays))
	}
	return s
}

func propNormPlan(p hep.Plan) hep.Plan {
	p.CreateTime = norm(p.CreateTime)
	items := make([]hep.PlanItem, len(p.Items))
	for i, it := range p.Items {
		it.Spec = propNormSpec(it.Spec)
		it.StateTime = norm(it.StateTime)
		if len(it.StateReasons) == 0 {
			it.StateReasons = nil
		}
		items[i] = it
	}
	p.Items = items
	if len(p.Items) == 0 {
		p.Items = nil
	}
	return p
}
