package hep_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// answered returns a screening with one answer per flag, from src.
func answered(src hep.Source, m map[hep.Flag]hep.FlagStatus) hep.Screening {
	sc := screeningOf(m)
	for f, a := range sc {
		a.Source = src
		sc[f] = a
	}
	return sc
}

func TestTakesEffect(t *testing.T) {
	P, A, U := hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown
	verified := func(st hep.FlagStatus) hep.Screening {
		return answered(hep.SourceClinicianVerified, map[hep.Flag]hep.FlagStatus{hep.FlagOsteoporosis: st})
	}
	reported := func(st hep.FlagStatus) hep.Screening {
		return answered(hep.SourcePatientReported, map[hep.Flag]hep.FlagStatus{hep.FlagOsteoporosis: st})
	}
	tests := []struct {
		name    string
		current hep.Screening
		src     hep.Source
		status  hep.FlagStatus
		want    bool
	}{
		// A clinician's answer always takes effect.
		{"clinician lowers verified present", verified(P), hep.SourceClinicianVerified, A, true},
		{"clinician lowers patient's present", reported(P), hep.SourceClinicianVerified, A, true},
		{"clinician on unanswered", hep.Screening{}, hep.SourceClinicianVerified, A, true},
		// A patient's answer takes effect unless it lowers a verified one.
		{"patient on unanswered", hep.Screening{}, hep.SourcePatientReported, A, true},
		{"patient revises own present to absent", reported(P), hep.SourcePatientReported, A, true},
		{"patient revises own absent to present", reported(A), hep.SourcePatientReported, P, true},
		{"patient raises verified absent to present", verified(A), hep.SourcePatientReported, P, true},
		{"patient raises verified absent to unknown", verified(A), hep.SourcePatientReported, U, true},
		{"patient raises verified unknown to present", verified(U), hep.SourcePatientReported, P, true},
		{"patient repeats verified present", verified(P), hep.SourcePatientReported, P, true},
		{"patient repeats verified absent", verified(A), hep.SourcePatientReported, A, true},
		{"patient lowers verified present to absent", verified(P), hep.SourcePatientReported, A, false},
		{"patient lowers verified present to unknown", verified(P), hep.SourcePatientReported, U, false},
		{"patient lowers verified unknown to absent", verified(U), hep.SourcePatientReported, A, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := hep.ScreeningInput{Flag: hep.FlagOsteoporosis, Status: tt.status}
			if got := hep.TakesEffect(tt.current, in, tt.src); got != tt.want {
				t.Errorf("TakesEffect = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSplitAnswers(t *testing.T) {
	P, A := hep.StatusPresent, hep.StatusAbsent
	current := answered(hep.SourceClinicianVerified, map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: P, hep.FlagHernia: P, hep.FlagObesity: A})
	answers := []hep.ScreeningInput{
		{Flag: hep.FlagPregnancy, Status: A},      // lowers a verified answer: overridden
		{Flag: hep.FlagObesity, Status: P},        // adds caution: effective
		{Flag: hep.FlagHernia, Status: A},         // lowers: overridden
		{Flag: hep.FlagSpinalFracture, Status: A}, // unanswered: effective
	}
	eff, over := hep.SplitAnswers(current, answers, hep.SourcePatientReported)
	if want := []hep.ScreeningInput{answers[1], answers[3]}; !slices.Equal(eff, want) {
		t.Errorf("effective = %v, want %v", eff, want)
	}
	if want := []hep.ScreeningInput{answers[0], answers[2]}; !slices.Equal(over, want) {
		t.Errorf("overridden = %v, want %v", over, want)
	}
	eff, over = hep.SplitAnswers(current, answers, hep.SourceClinicianVerified)
	if !slices.Equal(eff, answers) || len(over) != 0 {
		t.Errorf("clinician: effective %v overridden %v, want every answer effective", eff, over)
	}
}

func TestAlertForScreening(t *testing.T) {
	P, A, U := hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown
	items := []hep.PlanItem{{Spec: specFor("cat-cow")}, {Spec: specFor("inversion-table")}}
	before := answered(hep.SourceClinicianVerified, map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: A, hep.FlagOsteoporosis: P})
	suspended := []hep.ItemChange{{Index: 1, Old: hep.ItemActive, New: hep.ItemSuspended}}
	in := func(f hep.Flag, st hep.FlagStatus) hep.ScreeningInput { return hep.ScreeningInput{Flag: f, Status: st} }
	tests := []struct {
		name       string
		src        hep.Source
		effective  []hep.ScreeningInput
		overridden []hep.ScreeningInput
		changes    []hep.ItemChange
		want       string // "" for no alert
	}{
		{"clinician, nothing changed", hep.SourceClinicianVerified, []hep.ScreeningInput{in(hep.FlagHernia, A)}, nil, nil, ""},
		{"clinician, status moved but no item changed", hep.SourceClinicianVerified, []hep.ScreeningInput{in(hep.FlagHernia, P)}, nil, nil, ""},
		{"clinician, item changed", hep.SourceClinicianVerified, []hep.ScreeningInput{in(hep.FlagPregnancy, P)}, nil, suspended,
			"Screening recorded by a clinician: PREGNANCY PRESENT. Plan items now: inversion-table suspended."},
		{"patient, item changed", hep.SourcePatientReported, []hep.ScreeningInput{in(hep.FlagPregnancy, P)}, nil, suspended,
			"Screening reported by the patient: PREGNANCY PRESENT. Plan items now: inversion-table suspended."},
		{"patient, status moved, no item changed", hep.SourcePatientReported, []hep.ScreeningInput{in(hep.FlagPregnancy, P), in(hep.FlagHernia, U)}, nil, nil,
			"Screening reported by the patient: PREGNANCY PRESENT. No plan item changed."},
		{"patient, same status again", hep.SourcePatientReported, []hep.ScreeningInput{in(hep.FlagPregnancy, A)}, nil, nil, ""},
		{"patient, overridden only", hep.SourcePatientReported, nil, []hep.ScreeningInput{in(hep.FlagOsteoporosis, A)}, nil,
			"The patient reports OSTEOPOROSIS ABSENT (verified PRESENT); the clinician-verified answers stand until a clinician records new ones."},
		{"patient, item changed and overridden", hep.SourcePatientReported, []hep.ScreeningInput{in(hep.FlagPregnancy, P)},
			[]hep.ScreeningInput{in(hep.FlagOsteoporosis, U)}, suspended,
			"Screening reported by the patient: PREGNANCY PRESENT. Plan items now: inversion-table suspended. " +
				"The patient reports OSTEOPOROSIS UNKNOWN (verified PRESENT); the clinician-verified answers stand until a clinician records new ones."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := hep.AlertForScreening("p1", tt.src, before, tt.effective, tt.overridden, tt.changes, items)
			if tt.want == "" {
				if a != nil {
					t.Errorf("alert %+v, want none", *a)
				}
				return
			}
			if a == nil {
				t.Fatalf("no alert, want %q", tt.want)
			}
			want := hep.Alert{PatientID: "p1", Kind: hep.AlertScreeningChanged, Severity: hep.AlertRoutine, Status: hep.AlertOpen, Summary: tt.want}
			if *a != want {
				t.Errorf("alert\n got  %+v\n want %+v", *a, want)
			}
		})
	}
}

func TestPlanToday(t *testing.T) {
	now := time.Date(2030, 6, 30, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		zone string
		want hep.Date
	}{
		{"Europe/Lisbon", d(2030, 7, 1)},
		{"America/Sao_Paulo", d(2030, 6, 30)},
		{"UTC", d(2030, 6, 30)},
		{"", d(2030, 6, 30)},
		{"Not/AZone", d(2030, 6, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			if got := (hep.Plan{TimeZone: tt.zone}).Today(now); got != tt.want {
				t.Errorf("Today = %v, want %v", got, tt.want)
			}
		})
	}
}
