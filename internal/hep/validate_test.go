package hep_test

import (
	"strings"
	"testing"

	"github.com/hepclinic/hep/internal/hep"
)

func TestValidateScreeningInputs(t *testing.T) {
	P, A, U := hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown
	every := func(st hep.FlagStatus) []hep.ScreeningInput {
		var out []hep.ScreeningInput
		for _, f := range flagOrder {
			out = append(out, hep.ScreeningInput{Flag: f, Status: st})
		}
		return out
	}
	tests := []struct {
		name string
		in   []hep.ScreeningInput
		want []string
	}{
		{"one present", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: P}}, nil},
		{"one unknown", []hep.ScreeningInput{{Flag: hep.FlagHernia, Status: U}}, nil},
		{"every flag absent", every(A), nil},
		{"with a note", []hep.ScreeningInput{{Flag: hep.FlagObesity, Status: P, Note: "BMI 41 measured in clinic"}}, nil},
		{"note at the limit", []hep.ScreeningInput{{Flag: hep.FlagObesity, Status: P, Note: strings.Repeat("ü", hep.MaxNoteLen)}}, nil},
		{"none", nil, []string{"answers"}},
		{"empty", []hep.ScreeningInput{}, []string{"answers"}},
		{"21 answers", append(append(every(A), every(P)...)[:hep.MaxAnswersPerCall], hep.ScreeningInput{Flag: hep.FlagHernia, Status: P}),
			[]string{"answers", "answers[11].flag", "answers[12].flag", "answers[13].flag", "answers[14].flag", "answers[15].flag",
				"answers[16].flag", "answers[17].flag", "answers[18].flag", "answers[19].flag", "answers[20].flag"}},
		{"same flag twice", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: P}, {Flag: hep.FlagPregnancy, Status: A}}, []string{"answers[1].flag"}},
		{"unknown flag", []hep.ScreeningInput{{Flag: "DIABETES", Status: P}}, []string{"answers[0].flag"}},
		{"lower-case flag", []hep.ScreeningInput{{Flag: "pregnancy", Status: P}}, []string{"answers[0].flag"}},
		{"no flag", []hep.ScreeningInput{{Flag: hep.FlagNone, Status: P}}, []string{"answers[0].flag"}},
		{"no status", []hep.ScreeningInput{{Flag: hep.FlagPregnancy}}, []string{"answers[0].status"}},
		{"bad status", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: "YES"}}, []string{"answers[0].status"}},
		{"lower-case status", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: "present"}}, []string{"answers[0].status"}},
		{"note too long", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: P, Note: strings.Repeat("x", hep.MaxNoteLen+1)}}, []string{"answers[0].note"}},
		{"note with newline", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: P, Note: "a\nb"}}, []string{"answers[0].note"}},
		{"note with NUL", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: P, Note: "a\x00"}}, []string{"answers[0].note"}},
		{"note with surrounding space", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: P, Note: " 12 weeks"}}, []string{"answers[0].note"}},
		{"note not UTF-8", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: P, Note: "\xff"}}, []string{"answers[0].note"}},
		{"everything wrong in one answer", []hep.ScreeningInput{{Flag: "X", Status: "Y", Note: "\x01"}},
			[]string{"answers[0].flag", "answers[0].status", "answers[0].note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, hep.ValidateScreeningInputs(tt.in), tt.want...)
		})
	}
}

func TestValidateRedFlags(t *testing.T) {
	tests := []struct {
		name     string
		symptoms []hep.RedFlag
		note     string
		want     []string
	}{
		{"saddle numbness", []hep.RedFlag{hep.RedFlagSaddleNumbness}, "", nil},
		{"every symptom", hep.RedFlags, "since this morning", nil},
		{"bladder or bowel", []hep.RedFlag{hep.RedFlagBladderOrBowel}, "", nil},
		{"weakness and fever", []hep.RedFlag{hep.RedFlagProgressiveWeakness, hep.RedFlagFeverWithBackPain}, "", nil},
		{"weight loss", []hep.RedFlag{hep.RedFlagUnexplainedWeight}, "", nil},
		{"none", nil, "", []string{"symptoms"}},
		{"six", append(append([]hep.RedFlag{}, hep.RedFlags...), hep.RedFlagSaddleNumbness), "", []string{"symptoms", "symptoms[5]"}},
		{"twice", []hep.RedFlag{hep.RedFlagSaddleNumbness, hep.RedFlagSaddleNumbness}, "", []string{"symptoms[1]"}},
		{"unknown", []hep.RedFlag{"HEADACHE"}, "", []string{"symptoms[0]"}},
		{"empty symptom", []hep.RedFlag{""}, "", []string{"symptoms[0]"}},
		{"screening flag is not a red flag", []hep.RedFlag{"PREGNANCY"}, "", []string{"symptoms[0]"}},
		{"note too long", []hep.RedFlag{hep.RedFlagSaddleNumbness}, strings.Repeat("x", hep.MaxNoteLen+1), []string{"note"}},
		{"note with control", []hep.RedFlag{hep.RedFlagSaddleNumbness}, "x\x1b", []string{"note"}},
		{"note not UTF-8", []hep.RedFlag{hep.RedFlagSaddleNumbness}, "\xc3", []string{"note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, hep.ValidateRedFlags(tt.symptoms, tt.note), tt.want...)
		})
	}
	if len(hep.RedFlags) != 5 {
		t.Errorf("RedFlags = %v, want the five NICE/AHCPR symptoms", hep.RedFlags)
	}
}

func TestExerciseValidate(t *testing.T) {
	exercise := func() hep.Exercise {
		return hep.Exercise{ID: "wall-slide", Kind: hep.KindExercise, Name: "Wall slide", Instructions: "Back to the wall.\nSlide down slowly.",
			DefaultDose: hep.Dose{Sets: 2, Reps: 8},
			Rules: []hep.Rule{
				{Flag: hep.FlagPregnancy, Severity: hep.SeverityNeedsClearance, Source: "clinic protocol 2030-01"},
				{Flag: hep.FlagHernia, Severity: hep.SeverityContraindicated, Source: "clinic protocol 2030-01"},
			}}
	}
	device := func() hep.Exercise {
		return hep.Exercise{ID: "heat-pad", Kind: hep.KindDevice, Name: "Heat pad", Instructions: "Twenty minutes.",
			DefaultDose: hep.Dose{DurationSeconds: 1200}, RequiresClearance: true}
	}
	with := func(e hep.Exercise, change func(*hep.Exercise)) hep.Exercise {
		change(&e)
		return e
	}
	tests := []struct {
		name string
		e    hep.Exercise
		want []string
	}{
		{"exercise", exercise(), nil},
		{"device", device(), nil},
		{"no rules", with(exercise(), func(e *hep.Exercise) { e.Rules = nil }), nil},
		{"exercise that requires clearance", with(exercise(), func(e *hep.Exercise) { e.RequiresClearance = true }), nil},
		{"two-character slug", with(exercise(), func(e *hep.Exercise) { e.ID = "a1" }), nil},
		{"63-character slug", with(exercise(), func(e *hep.Exercise) { e.ID = strings.Repeat("a", 63) }), nil},
		{"no slug", with(exercise(), func(e *hep.Exercise) { e.ID = "" }), []string{"exercise.id"}},
		{"one-character slug", with(exercise(), func(e *hep.Exercise) { e.ID = "a" }), []string{"exercise.id"}},
		{"64-character slug", with(exercise(), func(e *hep.Exercise) { e.ID = strings.Repeat("a", 64) }), []string{"exercise.id"}},
		{"upper-case slug", with(exercise(), func(e *hep.Exercise) { e.ID = "Cat-Cow" }), []string{"exercise.id"}},
		{"underscore", with(exercise(), func(e *hep.Exercise) { e.ID = "cat_cow" }), []string{"exercise.id"}},
		{"leading dash", with(exercise(), func(e *hep.Exercise) { e.ID = "-cat" }), []string{"exercise.id"}},
		{"trailing dash", with(exercise(), func(e *hep.Exercise) { e.ID = "cat-" }), []string{"exercise.id"}},
		{"space", with(exercise(), func(e *hep.Exercise) { e.ID = "cat cow" }), []string{"exercise.id"}},
		{"no kind", with(exercise(), func(e *hep.Exercise) { e.Kind = "" }), []string{"exercise.kind"}},
		{"bad kind", with(exercise(), func(e *hep.Exercise) { e.Kind = "MACHINE" }), []string{"exercise.kind"}},
		{"no name", with(exercise(), func(e *hep.Exercise) { e.Name = "" }), []string{"exercise.name"}},
		{"name too long", with(exercise(), func(e *hep.Exercise) { e.Name = strings.Repeat("n", hep.MaxDisplayNameLen+1) }), []string{"exercise.name"}},
		{"name with newline", with(exercise(), func(e *hep.Exercise) { e.Name = "a\nb" }), []string{"exercise.name"}},
		{"no instructions", with(exercise(), func(e *hep.Exercise) { e.Instructions = "" }), []string{"exercise.instructions"}},
		{"instructions too long", with(exercise(), func(e *hep.Exercise) { e.Instructions = strings.Repeat("i", hep.MaxInstructionsLen+1) }), []string{"exercise.instructions"}},
		{"instructions with control", with(exercise(), func(e *hep.Exercise) { e.Instructions = "ok\x00" }), []string{"exercise.instructions"}},
		{"empty default dose", with(exercise(), func(e *hep.Exercise) { e.DefaultDose = hep.Dose{} }), []string{"exercise.default_dose"}},
		{"angle on an exercise", with(exercise(), func(e *hep.Exercise) { e.DefaultDose.AngleDegrees = 10 }), []string{"exercise.default_dose"}},
		{"absurd default reps", with(exercise(), func(e *hep.Exercise) { e.DefaultDose.Reps = 100000 }), []string{"exercise.default_dose.reps"}},
		{"device without clearance", with(device(), func(e *hep.Exercise) { e.RequiresClearance = false }), []string{"exercise.requires_clearance"}},
		{"rule without flag", with(exercise(), func(e *hep.Exercise) { e.Rules[0].Flag = hep.FlagNone }), []string{"exercise.rules[0].flag"}},
		{"rule with unknown flag", with(exercise(), func(e *hep.Exercise) { e.Rules[1].Flag = "DIABETES" }), []string{"exercise.rules[1].flag"}},
		{"two rules for a flag", with(exercise(), func(e *hep.Exercise) { e.Rules[1].Flag = hep.FlagPregnancy }), []string{"exercise.rules[1].flag"}},
		{"no severity", with(exercise(), func(e *hep.Exercise) { e.Rules[0].Severity = "" }), []string{"exercise.rules[0].severity"}},
		{"bad severity", with(exercise(), func(e *hep.Exercise) { e.Rules[0].Severity = "ALLOWED" }), []string{"exercise.rules[0].severity"}},
		{"no source", with(exercise(), func(e *hep.Exercise) { e.Rules[0].Source = "" }), []string{"exercise.rules[0].source"}},
		{"source too long", with(exercise(), func(e *hep.Exercise) { e.Rules[1].Source = strings.Repeat("s", hep.MaxSourceLen+1) }), []string{"exercise.rules[1].source"}},
		{"everything wrong", hep.Exercise{Kind: hep.KindDevice, Rules: []hep.Rule{{}}},
			[]string{"exercise.id", "exercise.name", "exercise.instructions", "exercise.default_dose", "exercise.requires_clearance",
				"exercise.rules[0].flag", "exercise.rules[0].severity", "exercise.rules[0].source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, tt.e.Validate(), tt.want...)
		})
	}
}

func TestExerciseRule(t *testing.T) {
	ex := entry("inversion-table")
	if r, ok := ex.Rule(hep.FlagGlaucomaOrRetinal); !ok || r.Severity != hep.SeverityContraindicated {
		t.Errorf("Rule(GLAUCOMA) = %+v, %v", r, ok)
	}
	if r, ok := ex.Rule(hep.FlagSpinalMetalImplant); ok {
		t.Errorf("Rule(SPINAL_METAL_IMPLANT) = %+v, want none", r)
	}
	if _, ok := ex.Rule(hep.FlagNone); ok {
		t.Errorf("Rule(FlagNone) found")
	}
}

func TestValidateAckNote(t *testing.T) {
	tests := []struct {
		name string
		note string
		want []string
	}{
		{"plain", "Called the patient; referred to A&E.", nil},
		{"multiline", "Called.\nReferred.", nil},
		{"empty", "", []string{"note"}},
		{"blank", "  \n ", []string{"note"}},
		{"too long", strings.Repeat("a", hep.MaxNoteLen+1), []string{"note"}},
		{"control", "\x1b[2J", []string{"note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFields(t, hep.ValidateAckNote(tt.note), tt.want...)
		})
	}
}

func TestRedFlagAlert(t *testing.T) {
	a := hep.RedFlagAlert("p1", "r1", []hep.RedFlag{hep.RedFlagUnexplainedWeight, hep.RedFlagBladderOrBowel})
	want := hep.Alert{PatientID: "p1", Kind: hep.AlertRedFlag, Severity: hep.AlertUrgent, Status: hep.AlertOpen,
		Subject: "red_flag_reports/r1",
		Summary: "Red-flag symptoms reported: BLADDER_OR_BOWEL_DYSFUNCTION, UNEXPLAINED_WEIGHT_LOSS. Plan suspended until reviewed."}
	if a != want {
		t.Errorf("RedFlagAlert:\n got  %+v\n want %+v", a, want)
	}
}

func TestScreeningAlert(t *testing.T) {
	items := []hep.PlanItem{{Spec: specFor("cat-cow")}, {Spec: specFor("inversion-table")}}
	answers := []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: hep.StatusPresent, Note: "patient free text must not leak"}}
	if a := hep.ScreeningAlert("p1", hep.SourcePatientReported, answers, nil, items); a != nil {
		t.Errorf("ScreeningAlert(no changes) = %+v, want nil", a)
	}
	changes := []hep.ItemChange{{Index: 1, Old: hep.ItemActive, New: hep.ItemSuspended}}
	tests := []struct {
		src  hep.Source
		want string
	}{
		{hep.SourcePatientReported, "Screening reported by the patient: PREGNANCY PRESENT. Plan items now: inversion-table suspended."},
		{hep.SourceClinicianVerified, "Screening recorded by a clinician: PREGNANCY PRESENT. Plan items now: inversion-table suspended."},
	}
	for _, tt := range tests {
		t.Run(string(tt.src), func(t *testing.T) {
			a := hep.ScreeningAlert("p1", tt.src, answers, changes, items)
			if a == nil {
				t.Fatal("nil alert")
			}
			want := hep.Alert{PatientID: "p1", Kind: hep.AlertScreeningChanged, Severity: hep.AlertRoutine, Status: hep.AlertOpen, Summary: tt.want}
			if *a != want {
				t.Errorf("ScreeningAlert:\n got  %+v\n want %+v", *a, want)
			}
		})
	}
}
