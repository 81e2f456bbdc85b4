package hep_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// violationFields returns the fields an error's violations name, in order,
// or nil for a nil error. It fails the test for any other kind of error.
func violationFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	he, ok := err.(*hep.Error)
	if !ok || he.Code != hep.CodeInvalid || he.Reason != hep.ReasonInvalidArgument {
		t.Fatalf("error %v, want an INVALID_ARGUMENT *hep.Error", err)
	}
	var out []string
	for _, v := range he.Violations {
		if v.Description == "" {
			t.Errorf("violation of %s has no description", v.Field)
		}
		out = append(out, v.Field)
	}
	return out
}

// wantFields fails unless err's violations name exactly want, in order.
func wantFields(t *testing.T, err error, want ...string) {
	t.Helper()
	if got := violationFields(t, err); !slices.Equal(got, want) {
		t.Errorf("violations %v, want %v (error: %v)", got, want, err)
	}
}

func d(y, m, day int) hep.Date { return hep.Date{Year: y, Month: m, Day: day} }

// planCatalog is the built-in catalog plus a retired clinic entry and 60
// plain ones, for the size limit.
func planCatalog() hep.Catalog {
	cat := builtinCatalog()
	cat["wall-slide"] = hep.Exercise{ID: "wall-slide", Kind: hep.KindExercise, Name: "Wall slide", Instructions: "Slide.", DefaultDose: hep.Dose{Reps: 10}, Retired: true}
	for i := range 60 {
		id := fmt.Sprintf("ex-%02d", i)
		cat[id] = hep.Exercise{ID: id, Kind: hep.KindExercise, Name: id, Instructions: "Do it.", DefaultDose: hep.Dose{Reps: 5}}
	}
	return cat
}

func TestValidateItems(t *testing.T) {
	cat := planCatalog()
	ok := func(id string) hep.ItemSpec {
		return hep.ItemSpec{ExerciseID: id, Dose: hep.Dose{Sets: 2, Reps: 10}, Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 5},
			StartDate: d(2030, 1, 2)}
	}
	dev := func(id string) hep.ItemSpec {
		it := ok(id)
		it.Dose = hep.Dose{DurationSeconds: 300, AngleDegrees: 30, ForceKg: 20}
		return it
	}
	with := func(it hep.ItemSpec, change func(*hep.ItemSpec)) hep.ItemSpec {
		change(&it)
		return it
	}
	n := func(k int) []hep.ItemSpec {
		var out []hep.ItemSpec
		for i := range k {
			out = append(out, ok(fmt.Sprintf("ex-%02d", i)))
		}
		return out
	}
	hadWallSlide := hep.Plan{Version: 1, Items: []hep.PlanItem{{Spec: ok("wall-slide"), State: hep.ItemActive}}}
	weekdays := func(ds ...time.Weekday) func(*hep.ItemSpec) {
		return func(it *hep.ItemSpec) { it.Frequency.DaysPerWeek, it.Frequency.Weekdays = 0, ds }
	}

	tests := []struct {
		name     string
		items    []hep.ItemSpec
		previous hep.Plan
		want     []string
	}{
		// Valid plans.
		{"empty plan", nil, hep.Plan{}, nil},
		{"one exercise", []hep.ItemSpec{ok("cat-cow")}, hep.Plan{}, nil},
		{"every built-in", []hep.ItemSpec{ok("cat-cow"), ok("childs-pose"), ok("bar-hang"), ok("overhead-stretch"),
			dev("inversion-table"), dev("traction-machine"), dev("decompression-belt")}, hep.Plan{}, nil},
		{"device with angle and force at their limits", []hep.ItemSpec{with(dev("inversion-table"), func(it *hep.ItemSpec) {
			it.Dose = hep.Dose{HoldSeconds: 60, AngleDegrees: hep.MaxAngleDegrees, ForceKg: hep.MaxForceKg}
		})}, hep.Plan{}, nil},
		{"every dose field at its limit", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) {
			it.Dose = hep.Dose{Sets: hep.MaxSets, Reps: hep.MaxReps, HoldSeconds: hep.MaxHoldSeconds, DurationSeconds: hep.MaxDurationSeconds}
		})}, hep.Plan{}, nil},
		{"hold only", []hep.ItemSpec{with(ok("childs-pose"), func(it *hep.ItemSpec) { it.Dose = hep.Dose{HoldSeconds: 30} })}, hep.Plan{}, nil},
		{"weekdays", []hep.ItemSpec{with(ok("cat-cow"), weekdays(time.Sunday, time.Wednesday, time.Saturday))}, hep.Plan{}, nil},
		{"times per day 10, days per week 7", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) {
			it.Frequency = hep.Frequency{TimesPerDay: 10, DaysPerWeek: 7}
		})}, hep.Plan{}, nil},
		{"end on start", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.EndDate = it.StartDate })}, hep.Plan{}, nil},
		{"leap day", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate, it.EndDate = d(2028, 2, 29), d(2100, 12, 31) })}, hep.Plan{}, nil},
		{"year 2000", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate = d(2000, 1, 1) })}, hep.Plan{}, nil},
		{"50 items", n(50), hep.Plan{}, nil},
		{"retired entry kept from the previous version", []hep.ItemSpec{ok("wall-slide")}, hadWallSlide, nil},
		{"notes at the limit, multi-byte, multiline", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) {
			it.Notes = strings.Repeat("ã", hep.MaxNoteLen-2) + "\n\t"
		})}, hep.Plan{}, nil},

		// Doses.
		{"negative sets", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose.Sets = -1 })}, hep.Plan{}, []string{"items[0].dose.sets"}},
		{"negative reps", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose.Reps = -10 })}, hep.Plan{}, []string{"items[0].dose.reps"}},
		{"reps 1001", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose.Reps = hep.MaxReps + 1 })}, hep.Plan{}, []string{"items[0].dose.reps"}},
		{"reps 10000 (typo)", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose.Reps = 10000 })}, hep.Plan{}, []string{"items[0].dose.reps"}},
		{"reps max int32", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose.Reps = math.MaxInt32 })}, hep.Plan{}, []string{"items[0].dose.reps"}},
		{"reps min int32", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose.Reps = math.MinInt32 })}, hep.Plan{}, []string{"items[0].dose.reps"}},
		{"21 sets", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose.Sets = hep.MaxSets + 1 })}, hep.Plan{}, []string{"items[0].dose.sets"}},
		{"hold over an hour", []hep.ItemSpec{with(ok("childs-pose"), func(it *hep.ItemSpec) { it.Dose.HoldSeconds = 3601 })}, hep.Plan{}, []string{"items[0].dose.hold_seconds"}},
		{"90-minute hold", []hep.ItemSpec{with(ok("childs-pose"), func(it *hep.ItemSpec) { it.Dose.HoldSeconds = 90 * 60 })}, hep.Plan{}, []string{"items[0].dose.hold_seconds"}},
		{"negative hold", []hep.ItemSpec{with(ok("childs-pose"), func(it *hep.ItemSpec) { it.Dose.HoldSeconds = -30 })}, hep.Plan{}, []string{"items[0].dose.hold_seconds"}},
		{"duration over four hours", []hep.ItemSpec{with(dev("traction-machine"), func(it *hep.ItemSpec) { it.Dose.DurationSeconds = 4*3600 + 1 })}, hep.Plan{}, []string{"items[0].dose.duration_seconds"}},
		{"nothing to do", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose = hep.Dose{Sets: 3} })}, hep.Plan{}, []string{"items[0].dose"}},
		{"zero dose", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Dose = hep.Dose{} })}, hep.Plan{}, []string{"items[0].dose"}},
		{"angle on an exercise", []hep.ItemSpec{with(ok("bar-hang"), func(it *hep.ItemSpec) { it.Dose.AngleDegrees = 10 })}, hep.Plan{}, []string{"items[0].dose"}},
		{"force on an exercise", []hep.ItemSpec{with(ok("bar-hang"), func(it *hep.ItemSpec) { it.Dose.ForceKg = 5 })}, hep.Plan{}, []string{"items[0].dose"}},
		{"angle over 90", []hep.ItemSpec{with(dev("inversion-table"), func(it *hep.ItemSpec) { it.Dose.AngleDegrees = 91 })}, hep.Plan{}, []string{"items[0].dose.angle_degrees"}},
		{"negative angle", []hep.ItemSpec{with(dev("inversion-table"), func(it *hep.ItemSpec) { it.Dose.AngleDegrees = -5 })}, hep.Plan{}, []string{"items[0].dose.angle_degrees"}},
		{"force over 100 kg", []hep.ItemSpec{with(dev("decompression-belt"), func(it *hep.ItemSpec) { it.Dose.ForceKg = 101 })}, hep.Plan{}, []string{"items[0].dose.force_kg"}},

		// Frequency.
		{"times per day 0", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Frequency.TimesPerDay = 0 })}, hep.Plan{}, []string{"items[0].frequency.times_per_day"}},
		{"times per day 11", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Frequency.TimesPerDay = 11 })}, hep.Plan{}, []string{"items[0].frequency.times_per_day"}},
		{"times per day negative", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Frequency.TimesPerDay = -1 })}, hep.Plan{}, []string{"items[0].frequency.times_per_day"}},
		{"days per week 0 and no weekdays", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Frequency.DaysPerWeek = 0 })}, hep.Plan{}, []string{"items[0].frequency.days_per_week"}},
		{"days per week 8", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Frequency.DaysPerWeek = 8 })}, hep.Plan{}, []string{"items[0].frequency.days_per_week"}},
		{"days per week and weekdays", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) {
			it.Frequency.DaysPerWeek, it.Frequency.Weekdays = 2, []time.Weekday{time.Monday, time.Thursday}
		})}, hep.Plan{}, []string{"items[0].frequency.days_per_week"}},
		{"duplicate weekday", []hep.ItemSpec{with(ok("cat-cow"), weekdays(time.Monday, time.Friday, time.Monday))}, hep.Plan{}, []string{"items[0].frequency.weekdays[2]"}},
		{"weekday 7", []hep.ItemSpec{with(ok("cat-cow"), weekdays(time.Monday, 7))}, hep.Plan{}, []string{"items[0].frequency.weekdays[1]"}},
		{"weekday -1", []hep.ItemSpec{with(ok("cat-cow"), weekdays(-1))}, hep.Plan{}, []string{"items[0].frequency.weekdays[0]"}},

		// Dates.
		{"end before start", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.EndDate = d(2030, 1, 1) })}, hep.Plan{}, []string{"items[0].end_date"}},
		{"end a year before start", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.EndDate = d(2029, 12, 31) })}, hep.Plan{}, []string{"items[0].end_date"}},
		{"February 30", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate = d(2030, 2, 30) })}, hep.Plan{}, []string{"items[0].start_date"}},
		{"February 29 in a common year", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate = d(2031, 2, 29) })}, hep.Plan{}, []string{"items[0].start_date"}},
		{"April 31 end", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.EndDate = d(2030, 4, 31) })}, hep.Plan{}, []string{"items[0].end_date"}},
		{"year 1999", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate = d(1999, 12, 31) })}, hep.Plan{}, []string{"items[0].start_date"}},
		{"year 2101 end", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.EndDate = d(2101, 1, 1) })}, hep.Plan{}, []string{"items[0].end_date"}},
		{"no start date", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate = hep.Date{} })}, hep.Plan{}, []string{"items[0].start_date"}},
		{"month 13", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate = d(2030, 13, 1) })}, hep.Plan{}, []string{"items[0].start_date"}},
		{"day 0", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate = d(2030, 1, 0) })}, hep.Plan{}, []string{"items[0].start_date"}},
		{"bad start, end not compared", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.StartDate, it.EndDate = d(2030, 2, 30), d(2030, 1, 1) })}, hep.Plan{}, []string{"items[0].start_date"}},

		// Exercises.
		{"duplicate exercise", []hep.ItemSpec{ok("cat-cow"), ok("childs-pose"), ok("cat-cow")}, hep.Plan{}, []string{"items[2].exercise_id"}},
		{"unknown exercise", []hep.ItemSpec{ok("sit-ups")}, hep.Plan{}, []string{"items[0].exercise_id"}},
		{"unknown exercise with device fields", []hep.ItemSpec{with(dev("moon-boots"), func(*hep.ItemSpec) {})}, hep.Plan{}, []string{"items[0].exercise_id"}},
		{"no exercise id", []hep.ItemSpec{ok("")}, hep.Plan{}, []string{"items[0].exercise_id"}},
		{"retired entry not in the previous version", []hep.ItemSpec{ok("wall-slide")}, hep.Plan{}, []string{"items[0].exercise_id"}},
		{"retired entry, previous version without it", []hep.ItemSpec{ok("wall-slide")},
			hep.Plan{Version: 2, Items: []hep.PlanItem{{Spec: ok("cat-cow")}}}, []string{"items[0].exercise_id"}},
		{"51 items", n(51), hep.Plan{}, []string{"items"}},

		// Notes.
		{"notes too long", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Notes = strings.Repeat("a", hep.MaxNoteLen+1) })}, hep.Plan{}, []string{"items[0].notes"}},
		{"notes with NUL", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Notes = "gently\x00" })}, hep.Plan{}, []string{"items[0].notes"}},
		{"notes with escape", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Notes = "\x1b[31mred" })}, hep.Plan{}, []string{"items[0].notes"}},
		{"notes with C1 control", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Notes = "a\u0085b" })}, hep.Plan{}, []string{"items[0].notes"}},
		{"notes not UTF-8", []hep.ItemSpec{with(ok("cat-cow"), func(it *hep.ItemSpec) { it.Notes = "caf\xe9" })}, hep.Plan{}, []string{"items[0].notes"}},

		// Several at once, reported in order.
		{"several violations", []hep.ItemSpec{
			ok("cat-cow"),
			with(ok("bar-hang"), func(it *hep.ItemSpec) {
				it.Dose.Reps, it.Frequency.TimesPerDay, it.StartDate, it.Notes = 5000, 0, d(1999, 1, 1), "\x07"
			}),
			ok("cat-cow"),
		}, hep.Plan{}, []string{"items[1].dose.reps", "items[1].frequency.times_per_day", "items[1].start_date", "items[1].notes", "items[2].exercise_id"}},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violationFields(t, hep.ValidateItems(tt.items, cat, tt.previous))
			if !slices.Equal(got, tt.want) {
				t.Errorf("violations:\n got  %v\n want %v", got, tt.want)
			}
		})
	}
}

func TestValidateItemsLongUnknownID(t *testing.T) {
	id := strings.Repeat("x", 10000)
	err := hep.ValidateItems([]hep.ItemSpec{{ExerciseID: id, Dose: hep.Dose{Reps: 1}, Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 1}, StartDate: d(2030, 1, 1)}}, planCatalog(), hep.Plan{})
	he, ok := err.(*hep.Error)
	if !ok || len(he.Violations) != 1 {
		t.Fatalf("err = %v", err)
	}
	if got := len(he.Violations[0].Description); got > 200 {
		t.Errorf("description is %d bytes: an unknown id must be truncated", got)
	}
}

func TestValidateDose(t *testing.T) {
	tests := []struct {
		name string
		dose hep.Dose
		kind hep.Kind
		want []string
	}{
		{"reps", hep.Dose{Reps: 10}, hep.KindExercise, nil},
		{"duration", hep.Dose{DurationSeconds: 60}, hep.KindDevice, nil},
		{"device fields on device", hep.Dose{HoldSeconds: 30, AngleDegrees: 45, ForceKg: 30}, hep.KindDevice, nil},
		{"device fields on exercise", hep.Dose{Reps: 1, AngleDegrees: 45, ForceKg: 30}, hep.KindExercise, []string{"d"}},
		{"device fields on unknown kind", hep.Dose{Reps: 1, AngleDegrees: 45}, "", []string{"d"}},
		{"angle alone is not a dose", hep.Dose{AngleDegrees: 45}, hep.KindDevice, []string{"d"}},
		{"sets alone is not a dose", hep.Dose{Sets: 3}, hep.KindExercise, []string{"d"}},
		{"all negative", hep.Dose{Sets: -1, Reps: -1, HoldSeconds: -1, DurationSeconds: -1, AngleDegrees: -1, ForceKg: -1}, hep.KindDevice,
			[]string{"d.sets", "d.reps", "d.hold_seconds", "d.duration_seconds", "d.angle_degrees", "d.force_kg"}},
		{"all too big", hep.Dose{Sets: 21, Reps: 1001, HoldSeconds: 3601, DurationSeconds: 14401, AngleDegrees: 91, ForceKg: 101}, hep.KindDevice,
			[]string{"d.sets", "d.reps", "d.hold_seconds", "d.duration_seconds", "d.angle_degrees", "d.force_kg"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v hep.Violations
			hep.ValidateDose(&v, "d", tt.dose, tt.kind)
			wantFields(t, v.Err(), tt.want...)
		})
	}
}

func TestDate(t *testing.T) {
	valid := []struct {
		name string
		d    hep.Date
		want bool
	}{
		{"ordinary", d(2030, 6, 15), true},
		{"first day", d(2000, 1, 1), true},
		{"last day", d(2100, 12, 31), true},
		{"leap day 2000", d(2000, 2, 29), true},
		{"no leap day 2100", d(2100, 2, 29), false},
		{"leap day 2028", d(2028, 2, 29), true},
		{"February 30", d(2030, 2, 30), false},
		{"June 31", d(2030, 6, 31), false},
		{"day 32", d(2030, 1, 32), false},
		{"day 0", d(2030, 1, 0), false},
		{"negative day", d(2030, 1, -1), false},
		{"huge day", d(2030, 1, math.MaxInt), false},
		{"month 0", d(2030, 0, 1), false},
		{"month 13", d(2030, 13, 1), false},
		{"year 1999", d(1999, 12, 31), false},
		{"year 2101", d(2101, 1, 1), false},
		{"zero", hep.Date{}, false},
	}
	for _, tt := range valid {
		t.Run("Valid/"+tt.name, func(t *testing.T) {
			if got := tt.d.Valid(); got != tt.want {
				t.Errorf("%v.Valid() = %v, want %v", tt.d, got, tt.want)
			}
		})
	}
	before := []struct {
		a, b hep.Date
		want bool
	}{
		{d(2030, 1, 1), d(2030, 1, 2), true},
		{d(2030, 1, 2), d(2030, 1, 1), false},
		{d(2030, 1, 1), d(2030, 1, 1), false},
		{d(2030, 1, 31), d(2030, 2, 1), true},
		{d(2029, 12, 31), d(2030, 1, 1), true},
		{d(2030, 12, 1), d(2029, 12, 31), false},
	}
	for _, tt := range before {
		if got := tt.a.Before(tt.b); got != tt.want {
			t.Errorf("%v.Before(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	if got, want := d(2030, 3, 7).String(), "2030-03-07"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !(hep.Date{}).IsZero() || d(2030, 1, 1).IsZero() {
		t.Errorf("IsZero wrong")
	}
	// DateOf is the patient's day: 23:30 UTC is already tomorrow in Lisbon
	// in summer and still today in São Paulo.
	utc := time.Date(2030, 6, 30, 23, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		zone string
		want hep.Date
	}{{"UTC", d(2030, 6, 30)}, {"Europe/Lisbon", d(2030, 7, 1)}, {"America/Sao_Paulo", d(2030, 6, 30)}, {"Asia/Tokyo", d(2030, 7, 1)}} {
		loc, err := time.LoadLocation(tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := hep.DateOf(utc, loc); got != tt.want {
			t.Errorf("DateOf(%v, %s) = %v, want %v", utc, tt.zone, got, tt.want)
		}
	}
}

func TestItemStateOn(t *testing.T) {
	item := func(st hep.ItemState, end hep.Date) hep.PlanItem {
		return hep.PlanItem{Spec: hep.ItemSpec{ExerciseID: "cat-cow", StartDate: d(2030, 1, 1), EndDate: end}, State: st}
	}
	tests := []struct {
		name  string
		it    hep.PlanItem
		today hep.Date
		want  hep.ItemState
	}{
		{"open-ended", item(hep.ItemActive, hep.Date{}), d(2099, 1, 1), hep.ItemActive},
		{"before the end", item(hep.ItemActive, d(2030, 2, 1)), d(2030, 1, 31), hep.ItemActive},
		{"on the end date", item(hep.ItemActive, d(2030, 2, 1)), d(2030, 2, 1), hep.ItemActive},
		{"after the end date", item(hep.ItemActive, d(2030, 2, 1)), d(2030, 2, 2), hep.ItemEnded},
		{"suspended, not ended", item(hep.ItemSuspended, d(2030, 2, 1)), d(2030, 1, 15), hep.ItemSuspended},
		{"suspended, ended", item(hep.ItemSuspended, d(2030, 2, 1)), d(2031, 1, 1), hep.ItemEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.it.StateOn(tt.today); got != tt.want {
				t.Errorf("StateOn(%v) = %s, want %s", tt.today, got, tt.want)
			}
		})
	}
}

func TestValidatePlanNote(t *testing.T) {
	tests := []struct {
		name string
		note string
		want []string
	}{
		{"empty", "", nil},
		{"multiline", "Week 1.\nWeek 2: more.", nil},
		{"too long", strings.Repeat("n", hep.MaxNoteLen+1), []string{"note"}},
		{"control", "bell\x07", []string{"note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, hep.ValidatePlanNote(tt.note), tt.want...)
		})
	}
}
