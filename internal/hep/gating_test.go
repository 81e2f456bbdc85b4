package hep_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// ---- The built-in catalog, written here from DESIGN.md's table. ----
//
// The tests define the seven entries themselves rather than read them from a
// store, so that the gate is checked against the table a clinician signed
// off, not against whatever a migration seeded.

const (
	srcHomeExercises = "seed article: home exercises — check with a clinician first in pregnancy, after recent spinal surgery, with a spinal fracture or osteoporosis"
	srcInversion     = "seed article: inversion table contraindications"
	srcInversionMfr  = "inversion-table manufacturers' published contraindications"
	srcDecompression = "in-office spinal decompression exclusions, applied by analogy to home traction devices"
)

var exerciseSlugs = []string{"cat-cow", "childs-pose", "bar-hang", "overhead-stretch"}

// inversionContra is DESIGN.md's order, on purpose not hep.Flags' order.
var inversionContra = []hep.Flag{
	hep.FlagHypertension, hep.FlagOsteoporosis, hep.FlagHernia, hep.FlagSpinalFracture, hep.FlagObesity,
	hep.FlagPregnancy, hep.FlagRecentSpinalSurgery, hep.FlagGlaucomaOrRetinal, hep.FlagHeartOrCirculatoryDisease,
	hep.FlagAnticoagulantUse,
}

var tractionContra = []hep.Flag{
	hep.FlagPregnancy, hep.FlagSpinalFracture, hep.FlagOsteoporosis, hep.FlagRecentSpinalSurgery, hep.FlagSpinalMetalImplant,
}

var exerciseClearance = []hep.Flag{
	hep.FlagPregnancy, hep.FlagRecentSpinalSurgery, hep.FlagSpinalFracture, hep.FlagOsteoporosis,
}

func inversionSource(f hep.Flag) string {
	switch f {
	case hep.FlagGlaucomaOrRetinal, hep.FlagHeartOrCirculatoryDisease, hep.FlagAnticoagulantUse:
		return srcInversionMfr
	}
	return srcInversion
}

// builtins returns the seven built-in entries, in DESIGN.md's order.
func builtins() []hep.Exercise {
	var out []hep.Exercise
	for _, id := range exerciseSlugs {
		ex := hep.Exercise{ID: id, Kind: hep.KindExercise, Name: id, Instructions: "Slowly, within comfort.",
			DefaultDose: hep.Dose{Sets: 2, Reps: 10}, BuiltIn: true, CatalogVersion: 1}
		for _, f := range exerciseClearance {
			ex.Rules = append(ex.Rules, hep.Rule{Flag: f, Severity: hep.SeverityNeedsClearance, Source: srcHomeExercises})
		}
		out = append(out, ex)
	}
	inv := hep.Exercise{ID: "inversion-table", Kind: hep.KindDevice, Name: "Inversion table", Instructions: "Start at a small angle.",
		DefaultDose: hep.Dose{DurationSeconds: 60, AngleDegrees: 20}, RequiresClearance: true, BuiltIn: true, CatalogVersion: 1}
	for _, f := range inversionContra {
		inv.Rules = append(inv.Rules, hep.Rule{Flag: f, Severity: hep.SeverityContraindicated, Source: inversionSource(f)})
	}
	out = append(out, inv)
	for _, id := range []string{"traction-machine", "decompression-belt"} {
		ex := hep.Exercise{ID: id, Kind: hep.KindDevice, Name: id, Instructions: "Follow the device's manual.",
			DefaultDose: hep.Dose{DurationSeconds: 600}, RequiresClearance: true, BuiltIn: true, CatalogVersion: 1}
		for _, f := range tractionContra {
			ex.Rules = append(ex.Rules, hep.Rule{Flag: f, Severity: hep.SeverityContraindicated, Source: srcDecompression})
		}
		out = append(out, ex)
	}
	return out
}

func builtinCatalog() hep.Catalog {
	cat := hep.Catalog{}
	for _, ex := range builtins() {
		cat[ex.ID] = ex
	}
	return cat
}

var theCatalog = builtinCatalog()

func entry(id string) hep.Exercise { return theCatalog[id] }

// flagOrder is the order reasons must come in, written out here.
var flagOrder = []hep.Flag{
	"PREGNANCY", "RECENT_SPINAL_SURGERY", "SPINAL_FRACTURE", "OSTEOPOROSIS", "HYPERTENSION", "HERNIA", "OBESITY",
	"SPINAL_METAL_IMPLANT", "GLAUCOMA_OR_RETINAL_DETACHMENT", "HEART_OR_CIRCULATORY_DISEASE", "ANTICOAGULANT_USE",
}

func TestFlagsOrder(t *testing.T) {
	if !slices.Equal(hep.Flags, flagOrder) {
		t.Fatalf("hep.Flags = %v, want %v", hep.Flags, flagOrder)
	}
	for _, f := range flagOrder {
		if !f.Valid() {
			t.Errorf("%s.Valid() = false", f)
		}
	}
	for _, f := range []hep.Flag{hep.FlagNone, "pregnancy", "BOGUS", "PREGNANCY "} {
		if f.Valid() {
			t.Errorf("%q.Valid() = true", f)
		}
	}
}

func TestBuiltinsValidate(t *testing.T) {
	for _, ex := range builtins() {
		if err := ex.Validate(); err != nil {
			t.Errorf("%s: %v", ex.ID, err)
		}
	}
}

// ---- The expected gate, written independently of hep.Gate. ----

// severityIn returns the severity the DESIGN table gives entry id for flag
// f, or "" when the table says nothing.
func severityIn(id string, f hep.Flag) hep.Severity {
	switch id {
	case "cat-cow", "childs-pose", "bar-hang", "overhead-stretch":
		if slices.Contains(exerciseClearance, f) {
			return hep.SeverityNeedsClearance
		}
	case "inversion-table":
		if slices.Contains(inversionContra, f) {
			return hep.SeverityContraindicated
		}
	case "traction-machine", "decompression-belt":
		if slices.Contains(tractionContra, f) {
			return hep.SeverityContraindicated
		}
	}
	return ""
}

func isDevice(id string) bool {
	return id == "inversion-table" || id == "traction-machine" || id == "decompression-belt"
}

// wantReason is what the tests pin of a reason.
type wantReason struct {
	Flag        hep.Flag
	Status      hep.FlagStatus
	Outcome     hep.Outcome
	ClearanceID string
	Source      string
}

func (w wantReason) String() string {
	return fmt.Sprintf("{%s %s %s cleared=%q}", w.Flag, w.Status, w.Outcome, w.ClearanceID)
}

var severityRank = map[hep.Outcome]int{
	hep.OutcomeAllowed: 0, hep.OutcomeNeedsClearance: 1, hep.OutcomeNeedsScreening: 2, hep.OutcomeContraindicated: 3,
}

func worst(a, b hep.Outcome) hep.Outcome {
	if severityRank[b] > severityRank[a] {
		return b
	}
	return a
}

// liveFor returns the id of the first live clearance for (id, f).
func liveFor(cs []hep.Clearance, id string, f hep.Flag) string {
	for _, c := range cs {
		if c.ExerciseID == id && c.Flag == f && c.EndTime.IsZero() {
			return c.ID
		}
	}
	return ""
}

// expectGate is the DESIGN.md gate, for the built-in entries.
func expectGate(id string, status func(hep.Flag) hep.FlagStatus, cs []hep.Clearance) (hep.Outcome, []wantReason) {
	out := hep.OutcomeAllowed
	var rs []wantReason
	for _, f := range flagOrder {
		sev := severityIn(id, f)
		if sev == "" {
			continue
		}
		st := status(f)
		rule, _ := entry(id).Rule(f)
		w := wantReason{Flag: f, Status: st, Source: rule.Source}
		switch {
		case st == hep.StatusAbsent:
			continue
		case st == hep.StatusUnknown:
			w.Outcome = hep.OutcomeNeedsScreening
		case sev == hep.SeverityContraindicated:
			w.Outcome = hep.OutcomeContraindicated
		default:
			if c := liveFor(cs, id, f); c != "" {
				w.Outcome, w.ClearanceID = hep.OutcomeAllowed, c
			} else {
				w.Outcome = hep.OutcomeNeedsClearance
			}
		}
		rs = append(rs, w)
		out = worst(out, w.Outcome)
	}
	if isDevice(id) {
		w := wantReason{Flag: hep.FlagNone, Source: "every home device needs a clinician's clearance before use"}
		if c := liveFor(cs, id, hep.FlagNone); c != "" {
			w.Outcome, w.ClearanceID = hep.OutcomeAllowed, c
		} else {
			w.Outcome = hep.OutcomeNeedsClearance
		}
		rs = append(rs, w)
		out = worst(out, w.Outcome)
	}
	return out, rs
}

func gotReasons(d hep.Decision) []wantReason {
	var out []wantReason
	for _, r := range d.Reasons {
		out = append(out, wantReason{Flag: r.Flag, Status: r.Status, Outcome: r.Outcome, ClearanceID: r.ClearanceID, Source: r.Source})
	}
	return out
}

// checkDecision compares a decision with the expected one, and checks what
// the expectation leaves out: messages, Cleared and RedFlagHold.
func checkDecision(t *testing.T, d hep.Decision, id string, want hep.Outcome, wantRs []wantReason) {
	t.Helper()
	if d.ExerciseID != id {
		t.Errorf("ExerciseID = %q, want %q", d.ExerciseID, id)
	}
	if d.Outcome != want {
		t.Errorf("Outcome = %s, want %s", d.Outcome, want)
	}
	if got := gotReasons(d); !slices.Equal(got, wantRs) {
		t.Errorf("reasons:\n got  %v\n want %v", got, wantRs)
	}
	for _, r := range d.Reasons {
		if r.Message == "" || r.RedFlagHold {
			t.Errorf("reason %+v: want a message and no hold", r)
		}
	}
}

func screeningOf(m map[hep.Flag]hep.FlagStatus) hep.Screening {
	sc := hep.Screening{}
	for f, st := range m {
		sc[f] = hep.ScreeningAnswer{ID: "a-" + string(f), Flag: f, Status: st, Source: hep.SourceClinicianVerified}
	}
	return sc
}

// allAbsentBut returns a screening with every flag ABSENT except f, which
// has status st.
func allAbsentBut(f hep.Flag, st hep.FlagStatus) hep.Screening {
	m := map[hep.Flag]hep.FlagStatus{}
	for _, g := range flagOrder {
		m[g] = hep.StatusAbsent
	}
	m[f] = st
	return screeningOf(m)
}

var (
	t0    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ended = t0.Add(time.Hour)
	live  = func(id, ex string, f hep.Flag) hep.Clearance {
		return hep.Clearance{ID: id, PatientID: "p", ExerciseID: ex, Flag: f, Reason: "seen in clinic", ClearedBy: "c", CreateTime: t0}
	}
	stale = func(id, ex string, f hep.Flag) hep.Clearance {
		c := live(id, ex, f)
		c.EndTime = ended
		return c
	}
)

// TestGateMatrix: every built-in entry x every flag x every status x four
// kinds of clearance, with every other flag ABSENT.
func TestGateMatrix(t *testing.T) {
	clearanceCases := []struct {
		name string
		make func(ex string, f hep.Flag) []hep.Clearance
	}{
		{"no clearance", func(string, hep.Flag) []hep.Clearance { return nil }},
		{"live for flag", func(ex string, f hep.Flag) []hep.Clearance { return []hep.Clearance{live("c-flag", ex, f)} }},
		{"live standing", func(ex string, _ hep.Flag) []hep.Clearance {
			return []hep.Clearance{live("c-standing", ex, hep.FlagNone)}
		}},
		{"stale for flag", func(ex string, f hep.Flag) []hep.Clearance { return []hep.Clearance{stale("c-stale", ex, f)} }},
	}
	n := 0
	for _, ex := range builtins() {
		for _, f := range flagOrder {
			for _, st := range []hep.FlagStatus{hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown} {
				for _, cc := range clearanceCases {
					n++
					name := fmt.Sprintf("%s/%s=%s/%s", ex.ID, f, st, cc.name)
					t.Run(name, func(t *testing.T) {
						sc := allAbsentBut(f, st)
						cs := cc.make(ex.ID, f)
						want, wantRs := expectGate(ex.ID, sc.Status, cs)
						checkDecision(t, hep.Gate(ex, sc, cs), ex.ID, want, wantRs)
					})
				}
			}
		}
	}
	if n != 7*11*3*4 {
		t.Fatalf("ran %d cases, want %d", n, 7*11*3*4)
	}
}

// TestGateMatrixSpotChecks pins a few rows of the matrix by hand, so that a
// mistake shared by expectGate and hep.Gate cannot hide.
func TestGateMatrixSpotChecks(t *testing.T) {
	tests := []struct {
		name  string
		ex    string
		flag  hep.Flag
		st    hep.FlagStatus
		cs    []hep.Clearance
		want  hep.Outcome
		nWant int
	}{
		{"exercise, nothing present", "cat-cow", hep.FlagHypertension, hep.StatusPresent, nil, hep.OutcomeAllowed, 0},
		{"exercise, pregnancy", "cat-cow", hep.FlagPregnancy, hep.StatusPresent, nil, hep.OutcomeNeedsClearance, 1},
		{"exercise, pregnancy cleared", "childs-pose", hep.FlagPregnancy, hep.StatusPresent,
			[]hep.Clearance{live("c1", "childs-pose", hep.FlagPregnancy)}, hep.OutcomeAllowed, 1},
		{"exercise, osteoporosis unknown", "bar-hang", hep.FlagOsteoporosis, hep.StatusUnknown, nil, hep.OutcomeNeedsScreening, 1},
		{"exercise, stale clearance", "overhead-stretch", hep.FlagSpinalFracture, hep.StatusPresent,
			[]hep.Clearance{stale("c1", "overhead-stretch", hep.FlagSpinalFracture)}, hep.OutcomeNeedsClearance, 1},
		{"device, nothing present, no standing", "inversion-table", hep.FlagHernia, hep.StatusAbsent, nil, hep.OutcomeNeedsClearance, 1},
		{"device, nothing present, standing", "inversion-table", hep.FlagHernia, hep.StatusAbsent,
			[]hep.Clearance{live("c1", "inversion-table", hep.FlagNone)}, hep.OutcomeAllowed, 1},
		{"device, glaucoma, standing", "inversion-table", hep.FlagGlaucomaOrRetinal, hep.StatusPresent,
			[]hep.Clearance{live("c1", "inversion-table", hep.FlagNone)}, hep.OutcomeContraindicated, 2},
		{"device, metal implant on inversion table", "inversion-table", hep.FlagSpinalMetalImplant, hep.StatusPresent,
			[]hep.Clearance{live("c1", "inversion-table", hep.FlagNone)}, hep.OutcomeAllowed, 1},
		{"traction, metal implant", "traction-machine", hep.FlagSpinalMetalImplant, hep.StatusPresent,
			[]hep.Clearance{live("c1", "traction-machine", hep.FlagNone)}, hep.OutcomeContraindicated, 2},
		{"belt, hypertension", "decompression-belt", hep.FlagHypertension, hep.StatusPresent,
			[]hep.Clearance{live("c1", "decompression-belt", hep.FlagNone)}, hep.OutcomeAllowed, 1},
		{"belt, pregnancy unknown, standing", "decompression-belt", hep.FlagPregnancy, hep.StatusUnknown,
			[]hep.Clearance{live("c1", "decompression-belt", hep.FlagNone)}, hep.OutcomeNeedsScreening, 2},
		{"belt, pregnancy cleared per flag", "decompression-belt", hep.FlagPregnancy, hep.StatusPresent,
			[]hep.Clearance{live("c1", "decompression-belt", hep.FlagPregnancy), live("c2", "decompression-belt", hep.FlagNone)},
			hep.OutcomeContraindicated, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := hep.Gate(entry(tt.ex), allAbsentBut(tt.flag, tt.st), tt.cs)
			if got, want := d.Outcome, tt.want; got != want {
				t.Errorf("Outcome = %s, want %s", got, want)
			}
			if got, want := len(d.Reasons), tt.nWant; got != want {
				t.Errorf("%d reasons, want %d: %+v", got, want, d.Reasons)
			}
		})
	}
}

// TestGateAllCombinations: for each entry, every combination of statuses of
// its own rule flags (others ABSENT), with every subset of per-flag
// clearances for the exercises and with/without the standing clearance for
// devices.
func TestGateAllCombinations(t *testing.T) {
	statuses := []hep.FlagStatus{hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown}
	for _, ex := range builtins() {
		t.Run(ex.ID, func(t *testing.T) {
			var flags []hep.Flag
			for _, r := range ex.Rules {
				flags = append(flags, r.Flag)
			}
			combos := 1
			for range flags {
				combos *= 3
			}
			// Clearance subsets: one bit per rule flag plus one for standing.
			subsets := 1 << (len(flags) + 1)
			if isDevice(ex.ID) {
				subsets = 2 // per-flag clearances on contraindications are covered by the matrix
			}
			for c := 0; c < combos; c++ {
				m := map[hep.Flag]hep.FlagStatus{}
				for _, g := range flagOrder {
					m[g] = hep.StatusAbsent
				}
				x := c
				for _, f := range flags {
					m[f] = statuses[x%3]
					x /= 3
				}
				sc := screeningOf(m)
				for s := 0; s < subsets; s++ {
					var cs []hep.Clearance
					if s&1 != 0 {
						cs = append(cs, live("standing", ex.ID, hep.FlagNone))
					}
					for i, f := range flags {
						if s&(2<<i) != 0 {
							cs = append(cs, live("c-"+string(f), ex.ID, f))
						}
					}
					want, wantRs := expectGate(ex.ID, sc.Status, cs)
					d := hep.Gate(ex, sc, cs)
					if d.Outcome != want || !slices.Equal(gotReasons(d), wantRs) {
						t.Fatalf("screening %v clearances %v:\n got  %s %v\n want %s %v", m, cs, d.Outcome, gotReasons(d), want, wantRs)
					}
				}
			}
		})
	}
}

func TestGateReasonsInFlagOrder(t *testing.T) {
	for _, st := range []hep.FlagStatus{hep.StatusPresent, hep.StatusUnknown} {
		t.Run(string(st), func(t *testing.T) {
			m := map[hep.Flag]hep.FlagStatus{}
			for _, f := range flagOrder {
				m[f] = st
			}
			d := hep.Gate(entry("inversion-table"), screeningOf(m), nil)
			var got []hep.Flag
			for _, r := range d.Reasons {
				got = append(got, r.Flag)
			}
			// The entry lists its rules in DESIGN.md's order (hypertension
			// first); the reasons come in flag order, the standing one last.
			want := []hep.Flag{
				hep.FlagPregnancy, hep.FlagRecentSpinalSurgery, hep.FlagSpinalFracture, hep.FlagOsteoporosis,
				hep.FlagHypertension, hep.FlagHernia, hep.FlagObesity, hep.FlagGlaucomaOrRetinal,
				hep.FlagHeartOrCirculatoryDisease, hep.FlagAnticoagulantUse, hep.FlagNone,
			}
			if !slices.Equal(got, want) {
				t.Errorf("reason flags:\n got  %v\n want %v", got, want)
			}
			if got, want := d.ReasonFlags(), want[:len(want)-1]; !slices.Equal(got, want) {
				t.Errorf("ReasonFlags() = %v, want %v", got, want)
			}
		})
	}
}

func TestGateUnansweredIsUnknown(t *testing.T) {
	for _, ex := range builtins() {
		for _, f := range flagOrder {
			t.Run(ex.ID+"/"+string(f), func(t *testing.T) {
				unknown := allAbsentBut(f, hep.StatusUnknown)
				unanswered := allAbsentBut(f, hep.StatusUnknown)
				delete(unanswered, f)
				cs := []hep.Clearance{live("s", ex.ID, hep.FlagNone), live("f", ex.ID, f)}
				if got, want := hep.Gate(ex, unanswered, cs), hep.Gate(ex, unknown, cs); !reflect.DeepEqual(got, want) {
					t.Errorf("unanswered:\n got  %+v\n want %+v (UNKNOWN)", got, want)
				}
			})
		}
	}
	// An empty screening: every rule needs screening.
	d := hep.Gate(entry("cat-cow"), hep.Screening{}, nil)
	if d.Outcome != hep.OutcomeNeedsScreening || len(d.Reasons) != 4 {
		t.Errorf("empty screening: %+v, want NEEDS_SCREENING with 4 reasons", d)
	}
	var nilScreening hep.Screening
	if d := hep.Gate(entry("traction-machine"), nilScreening, nil); d.Outcome != hep.OutcomeNeedsScreening || len(d.Reasons) != 6 {
		t.Errorf("nil screening: %+v, want NEEDS_SCREENING with 6 reasons", d)
	}
}

func TestGateSeveralFlags(t *testing.T) {
	P, A, U := hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown
	tests := []struct {
		name string
		ex   string
		m    map[hep.Flag]hep.FlagStatus
		cs   []hep.Clearance
		want hep.Outcome
		rs   []wantReason
	}{
		{"two present, none cleared", "cat-cow",
			map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: P, hep.FlagRecentSpinalSurgery: A, hep.FlagSpinalFracture: A, hep.FlagOsteoporosis: P},
			nil, hep.OutcomeNeedsClearance,
			[]wantReason{
				{hep.FlagPregnancy, P, hep.OutcomeNeedsClearance, "", srcHomeExercises},
				{hep.FlagOsteoporosis, P, hep.OutcomeNeedsClearance, "", srcHomeExercises},
			}},
		{"two present, one cleared", "cat-cow",
			map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: P, hep.FlagRecentSpinalSurgery: A, hep.FlagSpinalFracture: A, hep.FlagOsteoporosis: P},
			[]hep.Clearance{live("c1", "cat-cow", hep.FlagOsteoporosis)}, hep.OutcomeNeedsClearance,
			[]wantReason{
				{hep.FlagPregnancy, P, hep.OutcomeNeedsClearance, "", srcHomeExercises},
				{hep.FlagOsteoporosis, P, hep.OutcomeAllowed, "c1", srcHomeExercises},
			}},
		{"two present, both cleared", "cat-cow",
			map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: P, hep.FlagRecentSpinalSurgery: A, hep.FlagSpinalFracture: A, hep.FlagOsteoporosis: P},
			[]hep.Clearance{live("c1", "cat-cow", hep.FlagOsteoporosis), live("c2", "cat-cow", hep.FlagPregnancy)}, hep.OutcomeAllowed,
			[]wantReason{
				{hep.FlagPregnancy, P, hep.OutcomeAllowed, "c2", srcHomeExercises},
				{hep.FlagOsteoporosis, P, hep.OutcomeAllowed, "c1", srcHomeExercises},
			}},
		{"cleared present and unknown", "bar-hang",
			map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: P, hep.FlagRecentSpinalSurgery: U, hep.FlagSpinalFracture: A, hep.FlagOsteoporosis: A},
			[]hep.Clearance{live("c1", "bar-hang", hep.FlagPregnancy)}, hep.OutcomeNeedsScreening,
			[]wantReason{
				{hep.FlagPregnancy, P, hep.OutcomeAllowed, "c1", srcHomeExercises},
				{hep.FlagRecentSpinalSurgery, U, hep.OutcomeNeedsScreening, "", srcHomeExercises},
			}},
		{"contraindicated beats unknown and standing", "inversion-table",
			map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: P, hep.FlagHernia: U, hep.FlagRecentSpinalSurgery: A, hep.FlagSpinalFracture: A,
				hep.FlagOsteoporosis: A, hep.FlagHypertension: A, hep.FlagObesity: A, hep.FlagGlaucomaOrRetinal: A,
				hep.FlagHeartOrCirculatoryDisease: A, hep.FlagAnticoagulantUse: A},
			nil, hep.OutcomeContraindicated,
			[]wantReason{
				{hep.FlagPregnancy, P, hep.OutcomeContraindicated, "", srcInversion},
				{hep.FlagHernia, U, hep.OutcomeNeedsScreening, "", srcInversion},
				{hep.FlagNone, "", hep.OutcomeNeedsClearance, "", "every home device needs a clinician's clearance before use"},
			}},
		{"unknown beats needs-clearance", "traction-machine",
			map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: A, hep.FlagSpinalFracture: A, hep.FlagOsteoporosis: A, hep.FlagRecentSpinalSurgery: A},
			nil, hep.OutcomeNeedsScreening,
			[]wantReason{
				{hep.FlagSpinalMetalImplant, U, hep.OutcomeNeedsScreening, "", srcDecompression},
				{hep.FlagNone, "", hep.OutcomeNeedsClearance, "", "every home device needs a clinician's clearance before use"},
			}},
		{"manufacturer sources", "inversion-table",
			map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: A, hep.FlagHernia: A, hep.FlagRecentSpinalSurgery: A, hep.FlagSpinalFracture: A,
				hep.FlagOsteoporosis: A, hep.FlagHypertension: A, hep.FlagObesity: A, hep.FlagGlaucomaOrRetinal: P,
				hep.FlagHeartOrCirculatoryDisease: P, hep.FlagAnticoagulantUse: P},
			[]hep.Clearance{live("s", "inversion-table", hep.FlagNone)}, hep.OutcomeContraindicated,
			[]wantReason{
				{hep.FlagGlaucomaOrRetinal, P, hep.OutcomeContraindicated, "", srcInversionMfr},
				{hep.FlagHeartOrCirculatoryDisease, P, hep.OutcomeContraindicated, "", srcInversionMfr},
				{hep.FlagAnticoagulantUse, P, hep.OutcomeContraindicated, "", srcInversionMfr},
				{hep.FlagNone, "", hep.OutcomeAllowed, "s", "every home device needs a clinician's clearance before use"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDecision(t, hep.Gate(entry(tt.ex), screeningOf(tt.m), tt.cs), tt.ex, tt.want, tt.rs)
		})
	}
}

func TestGateContraindicatedNeverCleared(t *testing.T) {
	for _, id := range []string{"inversion-table", "traction-machine", "decompression-belt"} {
		ex := entry(id)
		for _, r := range ex.Rules {
			t.Run(id+"/"+string(r.Flag), func(t *testing.T) {
				// Every clearance one could think of, live.
				cs := []hep.Clearance{live("a", id, r.Flag), live("b", id, hep.FlagNone)}
				for _, f := range flagOrder {
					cs = append(cs, live("x-"+string(f), id, f))
				}
				d := hep.Gate(ex, allAbsentBut(r.Flag, hep.StatusPresent), cs)
				if d.Outcome != hep.OutcomeContraindicated {
					t.Fatalf("Outcome = %s, want CONTRAINDICATED", d.Outcome)
				}
				for _, rr := range d.Reasons {
					if rr.Flag == r.Flag && (rr.Cleared() || rr.Outcome != hep.OutcomeContraindicated) {
						t.Errorf("reason %+v: a contraindication was cleared", rr)
					}
				}
			})
		}
	}
}

func TestGateForeignClearances(t *testing.T) {
	sc := allAbsentBut(hep.FlagPregnancy, hep.StatusPresent)
	tests := []struct {
		name string
		ex   string
		cs   []hep.Clearance
	}{
		{"other exercise, same flag", "cat-cow", []hep.Clearance{live("c", "childs-pose", hep.FlagPregnancy)}},
		{"same exercise, other flag", "cat-cow", []hep.Clearance{live("c", "cat-cow", hep.FlagOsteoporosis)}},
		{"same exercise, standing", "cat-cow", []hep.Clearance{live("c", "cat-cow", hep.FlagNone)}},
		{"ended", "cat-cow", []hep.Clearance{stale("c", "cat-cow", hep.FlagPregnancy)}},
		{"other device's standing", "inversion-table", []hep.Clearance{live("c", "traction-machine", hep.FlagNone)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := sc
			if isDevice(tt.ex) {
				sc = allAbsentBut(hep.FlagPregnancy, hep.StatusAbsent)
			}
			d := hep.Gate(entry(tt.ex), sc, tt.cs)
			if d.Outcome != hep.OutcomeNeedsClearance {
				t.Errorf("Outcome = %s, want NEEDS_CLEARANCE", d.Outcome)
			}
			for _, r := range d.Reasons {
				if r.Cleared() {
					t.Errorf("reason %+v is cleared by a clearance that does not apply", r)
				}
			}
		})
	}
}

func TestGateEntryWithoutRules(t *testing.T) {
	ex := hep.Exercise{ID: "walk", Kind: hep.KindExercise}
	d := hep.Gate(ex, hep.Screening{}, nil)
	if d.Outcome != hep.OutcomeAllowed || len(d.Reasons) != 0 || d.ExerciseID != "walk" {
		t.Errorf("Gate(no rules) = %+v, want ALLOWED without reasons", d)
	}
	if len(d.Blocking()) != 0 {
		t.Errorf("Blocking() = %+v, want none", d.Blocking())
	}
}

// ---- Clearances ----

func TestCheckClearance(t *testing.T) {
	P, A, U := hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown
	tests := []struct {
		name   string
		ex     string
		flag   hep.Flag
		status hep.FlagStatus // "" leaves the flag unanswered
		ok     bool
	}{
		{"exercise, present", "cat-cow", hep.FlagPregnancy, P, true},
		{"exercise, present osteoporosis", "overhead-stretch", hep.FlagOsteoporosis, P, true},
		{"exercise, absent", "cat-cow", hep.FlagPregnancy, A, false},
		{"exercise, unknown", "cat-cow", hep.FlagPregnancy, U, false},
		{"exercise, unanswered", "cat-cow", hep.FlagPregnancy, "", false},
		{"exercise, flag without rule", "cat-cow", hep.FlagHypertension, P, false},
		{"exercise, standing", "cat-cow", hep.FlagNone, P, false},
		{"exercise, unknown flag", "cat-cow", "BOGUS", P, false},
		{"device, standing", "inversion-table", hep.FlagNone, A, true},
		{"device, standing while contraindicated", "inversion-table", hep.FlagNone, P, true},
		{"device, contraindication present", "inversion-table", hep.FlagPregnancy, P, false},
		{"device, contraindication absent", "traction-machine", hep.FlagPregnancy, A, false},
		{"device, contraindication unknown", "decompression-belt", hep.FlagSpinalMetalImplant, U, false},
		{"device, flag without rule", "traction-machine", hep.FlagHypertension, P, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := hep.Screening{}
			switch {
			case tt.status == "":
			case tt.flag.Valid():
				sc = allAbsentBut(tt.flag, tt.status)
			default:
				sc = allAbsentBut(hep.FlagPregnancy, tt.status)
			}
			err := hep.CheckClearance(entry(tt.ex), sc, tt.flag)
			if tt.ok {
				if err != nil {
					t.Errorf("CheckClearance = %v, want nil", err)
				}
				return
			}
			var he *hep.Error
			if !errors.As(err, &he) || he.Code != hep.CodeFailedPrecondition || he.Reason != hep.ReasonFailedPrecondition || he.Message == "" {
				t.Errorf("CheckClearance = %v, want FAILED_PRECONDITION with a message", err)
			}
		})
	}
}

func TestEndedClearances(t *testing.T) {
	P, A, U := hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown
	before := screeningOf(map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: P, hep.FlagOsteoporosis: P, hep.FlagHernia: A})
	all := []hep.Clearance{
		live("preg-catcow", "cat-cow", hep.FlagPregnancy),
		live("preg-bar", "bar-hang", hep.FlagPregnancy),
		live("osteo-catcow", "cat-cow", hep.FlagOsteoporosis),
		live("standing-inv", "inversion-table", hep.FlagNone),
		stale("preg-old", "cat-cow", hep.FlagPregnancy),
	}
	tests := []struct {
		name    string
		answers []hep.ScreeningInput
		want    []string
	}{
		{"present to absent ends every clearance of the flag", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: A}}, []string{"preg-catcow", "preg-bar"}},
		{"present to unknown ends too", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: U}}, []string{"preg-catcow", "preg-bar"}},
		{"same status again ends nothing", []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: P}}, nil},
		{"other flag", []hep.ScreeningInput{{Flag: hep.FlagOsteoporosis, Status: A}}, []string{"osteo-catcow"}},
		{"two flags", []hep.ScreeningInput{{Flag: hep.FlagOsteoporosis, Status: U}, {Flag: hep.FlagPregnancy, Status: A}},
			[]string{"preg-catcow", "preg-bar", "osteo-catcow"}},
		{"unrelated flag changes", []hep.ScreeningInput{{Flag: hep.FlagHernia, Status: P}}, nil},
		{"unanswered to unknown is no change", []hep.ScreeningInput{{Flag: hep.FlagObesity, Status: U}}, nil},
		{"standing clearances never end by screening",
			[]hep.ScreeningInput{{Flag: hep.FlagHernia, Status: P}, {Flag: hep.FlagPregnancy, Status: A}}, []string{"preg-catcow", "preg-bar"}},
		{"no answers", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range hep.EndedClearances(all, before, tt.answers) {
				got = append(got, c.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("EndedClearances = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateClearanceReason(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		ok     bool
	}{
		{"plain", "Seen in clinic; pelvic floor fine.", true},
		{"multiline", "Line one\nline two\ttabbed", true},
		{"max", strings.Repeat("é", hep.MaxNoteLen), true},
		{"empty", "", false},
		{"blank", " \n\t ", false},
		{"too long", strings.Repeat("x", hep.MaxNoteLen+1), false},
		{"control", "ok\x07", false},
		{"bad utf8", "ok\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hep.ValidateClearanceReason(tt.reason)
			if got := err == nil; got != tt.ok {
				t.Errorf("ValidateClearanceReason(%q) = %v, want ok=%v", tt.reason, err, tt.ok)
			}
			if err != nil {
				wantFields(t, err, "reason")
			}
		})
	}
}

// ---- StateFor and Regate ----

func TestStateFor(t *testing.T) {
	allowed := hep.Gate(entry("cat-cow"), allAbsentBut(hep.FlagPregnancy, hep.StatusAbsent), nil)
	cleared := hep.Gate(entry("cat-cow"), allAbsentBut(hep.FlagPregnancy, hep.StatusPresent), []hep.Clearance{live("c", "cat-cow", hep.FlagPregnancy)})
	blocked := hep.Gate(entry("inversion-table"), allAbsentBut(hep.FlagPregnancy, hep.StatusPresent), nil)
	tests := []struct {
		name      string
		d         hep.Decision
		hold      bool
		want      hep.ItemState
		wantFlags []hep.Flag
		wantHold  bool // first reason is the hold reason
	}{
		{"allowed", allowed, false, hep.ItemActive, nil, false},
		{"allowed with clearance", cleared, false, hep.ItemActive, nil, false},
		{"blocked", blocked, false, hep.ItemSuspended, []hep.Flag{hep.FlagPregnancy, hep.FlagNone}, false},
		{"allowed on hold", allowed, true, hep.ItemSuspended, []hep.Flag{hep.FlagNone}, true},
		{"cleared on hold", cleared, true, hep.ItemSuspended, []hep.Flag{hep.FlagNone}, true},
		{"blocked on hold", blocked, true, hep.ItemSuspended, []hep.Flag{hep.FlagNone, hep.FlagPregnancy, hep.FlagNone}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, rs := hep.StateFor(tt.d, tt.hold)
			if st != tt.want {
				t.Errorf("state = %s, want %s", st, tt.want)
			}
			var flags []hep.Flag
			for _, r := range rs {
				flags = append(flags, r.Flag)
				if r.Cleared() || r.Outcome == hep.OutcomeAllowed {
					t.Errorf("reason %+v does not block", r)
				}
			}
			if !slices.Equal(flags, tt.wantFlags) {
				t.Errorf("reason flags = %v, want %v", flags, tt.wantFlags)
			}
			if tt.wantHold {
				h := rs[0]
				if !h.RedFlagHold || h.Outcome != hep.OutcomeContraindicated || h.Message == "" || h.Source == "" {
					t.Errorf("first reason %+v, want the red-flag hold", h)
				}
				for _, r := range rs[1:] {
					if r.RedFlagHold {
						t.Errorf("hold reason repeated: %+v", rs)
					}
				}
				if !slices.Equal(rs[1:], tt.d.Blocking()) {
					t.Errorf("reasons after the hold = %+v, want the decision's blocking reasons %+v", rs[1:], tt.d.Blocking())
				}
			} else if len(rs) > 0 && rs[0].RedFlagHold {
				t.Errorf("hold reason without a hold: %+v", rs)
			}
			if tt.want == hep.ItemActive && rs != nil {
				t.Errorf("an active item has reasons %+v", rs)
			}
		})
	}
}

func specFor(id string) hep.ItemSpec {
	ex := entry(id)
	return hep.ItemSpec{ExerciseID: id, Dose: ex.DefaultDose, Frequency: hep.Frequency{TimesPerDay: 1, DaysPerWeek: 7},
		StartDate: hep.Date{Year: 2030, Month: 1, Day: 2}}
}

// planOf builds a plan whose item states are what StateFor gives under sc,
// cs and hold, at time t0.
func planOf(sc hep.Screening, cs []hep.Clearance, hold bool, ids ...string) hep.Plan {
	p := hep.Plan{PatientID: "p", Version: 3, RedFlagHold: hold}
	cat := builtinCatalog()
	for _, id := range ids {
		st, rs := hep.StateFor(hep.Gate(cat[id], sc, cs), hold)
		p.Items = append(p.Items, hep.PlanItem{Spec: specFor(id), State: st, StateReasons: rs, StateTime: t0})
	}
	return p
}

type change struct {
	Index    int
	ID       string
	Old, New hep.ItemState
}

func TestRegate(t *testing.T) {
	cat := builtinCatalog()
	now := t0.Add(24 * time.Hour)
	absent := allAbsentBut(hep.FlagPregnancy, hep.StatusAbsent)
	pregnant := allAbsentBut(hep.FlagPregnancy, hep.StatusPresent)
	standing := []hep.Clearance{live("s", "inversion-table", hep.FlagNone), live("t", "traction-machine", hep.FlagNone)}
	pregCatCow := append(slices.Clone(standing), live("pc", "cat-cow", hep.FlagPregnancy))
	ids := []string{"cat-cow", "childs-pose", "inversion-table", "traction-machine"}

	tests := []struct {
		name        string
		plan        hep.Plan // states as they were
		sc          hep.Screening
		cs          []hep.Clearance
		hold        bool
		want        []change
		wantStates  []hep.ItemState
		wantReasons [][]hep.Flag
	}{
		{"nothing changed", planOf(absent, standing, false, ids...), absent, standing, false, nil,
			[]hep.ItemState{hep.ItemActive, hep.ItemActive, hep.ItemActive, hep.ItemActive}, [][]hep.Flag{nil, nil, nil, nil}},
		{"pregnancy reported", planOf(absent, standing, false, ids...), pregnant, standing, false,
			[]change{{0, "cat-cow", hep.ItemActive, hep.ItemSuspended}, {1, "childs-pose", hep.ItemActive, hep.ItemSuspended},
				{2, "inversion-table", hep.ItemActive, hep.ItemSuspended}, {3, "traction-machine", hep.ItemActive, hep.ItemSuspended}},
			[]hep.ItemState{hep.ItemSuspended, hep.ItemSuspended, hep.ItemSuspended, hep.ItemSuspended},
			[][]hep.Flag{{hep.FlagPregnancy}, {hep.FlagPregnancy}, {hep.FlagPregnancy}, {hep.FlagPregnancy}}},
		{"pregnancy with a clearance for cat-cow", planOf(absent, standing, false, ids...), pregnant, pregCatCow, false,
			[]change{{1, "childs-pose", hep.ItemActive, hep.ItemSuspended},
				{2, "inversion-table", hep.ItemActive, hep.ItemSuspended}, {3, "traction-machine", hep.ItemActive, hep.ItemSuspended}},
			[]hep.ItemState{hep.ItemActive, hep.ItemSuspended, hep.ItemSuspended, hep.ItemSuspended},
			[][]hep.Flag{nil, {hep.FlagPregnancy}, {hep.FlagPregnancy}, {hep.FlagPregnancy}}},
		{"standing clearance given", planOf(absent, nil, false, ids...), absent, standing[:1], false,
			[]change{{2, "inversion-table", hep.ItemSuspended, hep.ItemActive}},
			[]hep.ItemState{hep.ItemActive, hep.ItemActive, hep.ItemActive, hep.ItemSuspended},
			[][]hep.Flag{nil, nil, nil, {hep.FlagNone}}},
		{"hold suspends everything", planOf(pregnant, pregCatCow, false, ids...), pregnant, pregCatCow, true,
			[]change{{0, "cat-cow", hep.ItemActive, hep.ItemSuspended}},
			[]hep.ItemState{hep.ItemSuspended, hep.ItemSuspended, hep.ItemSuspended, hep.ItemSuspended},
			[][]hep.Flag{{hep.FlagNone}, {hep.FlagNone, hep.FlagPregnancy}, {hep.FlagNone, hep.FlagPregnancy}, {hep.FlagNone, hep.FlagPregnancy}}},
		{"lifting the hold returns to the gate's state", planOf(pregnant, pregCatCow, true, ids...), pregnant, pregCatCow, false,
			[]change{{0, "cat-cow", hep.ItemSuspended, hep.ItemActive}},
			[]hep.ItemState{hep.ItemActive, hep.ItemSuspended, hep.ItemSuspended, hep.ItemSuspended},
			[][]hep.Flag{nil, {hep.FlagPregnancy}, {hep.FlagPregnancy}, {hep.FlagPregnancy}}},
		{"pregnancy over, standing clearances kept", planOf(pregnant, standing, false, ids...), absent, standing, false,
			[]change{{0, "cat-cow", hep.ItemSuspended, hep.ItemActive}, {1, "childs-pose", hep.ItemSuspended, hep.ItemActive},
				{2, "inversion-table", hep.ItemSuspended, hep.ItemActive}, {3, "traction-machine", hep.ItemSuspended, hep.ItemActive}},
			[]hep.ItemState{hep.ItemActive, hep.ItemActive, hep.ItemActive, hep.ItemActive}, [][]hep.Flag{nil, nil, nil, nil}},
		{"reasons change, state does not", planOf(absent, nil, false, ids...), pregnant, nil, false,
			[]change{{0, "cat-cow", hep.ItemActive, hep.ItemSuspended}, {1, "childs-pose", hep.ItemActive, hep.ItemSuspended}},
			[]hep.ItemState{hep.ItemSuspended, hep.ItemSuspended, hep.ItemSuspended, hep.ItemSuspended},
			[][]hep.Flag{{hep.FlagPregnancy}, {hep.FlagPregnancy}, {hep.FlagPregnancy, hep.FlagNone}, {hep.FlagPregnancy, hep.FlagNone}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.plan
			p.RedFlagHold = tt.hold
			before := slices.Clone(p.Items)
			changes := hep.Regate(&p, cat, tt.sc, tt.cs, now)
			var got []change
			for _, c := range changes {
				got = append(got, change{c.Index, c.Decision.ExerciseID, c.Old, c.New})
				if st, rs := hep.StateFor(c.Decision, tt.hold); st != c.New || !reflect.DeepEqual(rs, c.Reasons) {
					t.Errorf("change %d: New %s reasons %+v, want StateFor = %s %+v", c.Index, c.New, c.Reasons, st, rs)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("changes:\n got  %v\n want %v", got, tt.want)
			}
			for i, it := range p.Items {
				if it.State != tt.wantStates[i] {
					t.Errorf("item %d state %s, want %s", i, it.State, tt.wantStates[i])
				}
				var flags []hep.Flag
				for _, r := range it.StateReasons {
					flags = append(flags, r.Flag)
				}
				if !slices.Equal(flags, tt.wantReasons[i]) {
					t.Errorf("item %d reason flags %v, want %v", i, flags, tt.wantReasons[i])
				}
				// After Regate every item is what StateFor(Gate) says.
				st, rs := hep.StateFor(hep.Gate(cat[it.Spec.ExerciseID], tt.sc, tt.cs), tt.hold)
				if it.State != st || !reflect.DeepEqual(it.StateReasons, rs) {
					t.Errorf("item %d: %s %+v, want StateFor(Gate) = %s %+v", i, it.State, it.StateReasons, st, rs)
				}
				// StateTime moves only for items whose state changed.
				changed := slices.ContainsFunc(changes, func(c hep.ItemChange) bool { return c.Index == i })
				if wantTime := map[bool]time.Time{true: now, false: before[i].StateTime}[changed]; !it.StateTime.Equal(wantTime) {
					t.Errorf("item %d StateTime %v, want %v", i, it.StateTime, wantTime)
				}
				if !reflect.DeepEqual(it.Spec, before[i].Spec) {
					t.Errorf("item %d spec changed", i)
				}
			}
			// Regate is idempotent.
			if again := hep.Regate(&p, cat, tt.sc, tt.cs, now.Add(time.Hour)); len(again) != 0 {
				t.Errorf("second Regate changed %+v", again)
			}
		})
	}
}

// TestRegateUnknownExercise: a plan item whose exercise is missing from the
// catalog fails closed.
func TestRegateUnknownExercise(t *testing.T) {
	cat := builtinCatalog()
	delete(cat, "inversion-table")
	p := planOf(hep.Screening{}, nil, false, "inversion-table")
	hep.Regate(&p, cat, hep.Screening{}, nil, t0)
	if p.Items[0].State != hep.ItemSuspended {
		t.Errorf("item for an entry missing from the catalog is %s, want SUSPENDED", p.Items[0].State)
	}
}

// ---- GateItems ----

func TestGateItems(t *testing.T) {
	cat := builtinCatalog()
	sc := allAbsentBut(hep.FlagPregnancy, hep.StatusPresent)
	sc[hep.FlagHernia] = hep.ScreeningAnswer{ID: "h", Flag: hep.FlagHernia, Status: hep.StatusUnknown}
	cs := []hep.Clearance{live("pc", "cat-cow", hep.FlagPregnancy), live("tm", "traction-machine", hep.FlagNone)}

	t.Run("blocked", func(t *testing.T) {
		items := []hep.ItemSpec{specFor("cat-cow"), specFor("childs-pose"), specFor("inversion-table"), specFor("traction-machine")}
		ds, err := hep.GateItems(items, cat, sc, cs)
		if len(ds) != len(items) {
			t.Fatalf("%d decisions for %d items", len(ds), len(items))
		}
		for i, d := range ds {
			if !reflect.DeepEqual(d, hep.Gate(cat[items[i].ExerciseID], sc, cs)) {
				t.Errorf("decision %d = %+v, want Gate's", i, d)
			}
		}
		var he *hep.Error
		if !errors.As(err, &he) {
			t.Fatalf("err = %v, want *hep.Error", err)
		}
		if he.Code != hep.CodeFailedPrecondition || he.Reason != hep.ReasonGateBlocked {
			t.Errorf("code %s reason %s, want FAILED_PRECONDITION GATE_BLOCKED", he.Code, he.Reason)
		}
		// cat-cow is cleared: no violation. childs-pose: pregnancy. The
		// inversion table: pregnancy, hernia, standing. The traction machine:
		// pregnancy only (its standing clearance is live).
		type v struct{ field, prefix string }
		want := []v{
			{"items[1]", "NEEDS_CLEARANCE: "},
			{"items[2]", "CONTRAINDICATED: "},
			{"items[2]", "NEEDS_SCREENING: "},
			{"items[2]", "NEEDS_CLEARANCE: "},
			{"items[3]", "CONTRAINDICATED: "},
		}
		if len(he.Violations) != len(want) {
			t.Fatalf("violations %+v, want %d", he.Violations, len(want))
		}
		for i, w := range want {
			got := he.Violations[i]
			if got.Field != w.field || !strings.HasPrefix(got.Description, w.prefix) || !strings.Contains(got.Description, "(source: ") {
				t.Errorf("violation %d = %+v, want field %s and description %q... with its source", i, got, w.field, w.prefix)
			}
		}
		if !strings.Contains(he.Violations[1].Description, srcInversion) {
			t.Errorf("violation %+v does not cite the rule's source", he.Violations[1])
		}
	})
	t.Run("allowed", func(t *testing.T) {
		items := []hep.ItemSpec{specFor("cat-cow"), specFor("bar-hang")}
		cs := append(slices.Clone(cs), live("bh", "bar-hang", hep.FlagPregnancy))
		ds, err := hep.GateItems(items, cat, sc, cs)
		if err != nil {
			t.Fatalf("GateItems = %v, want nil", err)
		}
		for i, d := range ds {
			if d.Outcome != hep.OutcomeAllowed || d.ExerciseID != items[i].ExerciseID {
				t.Errorf("decision %d = %+v", i, d)
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		ds, err := hep.GateItems(nil, cat, sc, cs)
		if err != nil || len(ds) != 0 {
			t.Errorf("GateItems(nil) = %v, %v", ds, err)
		}
	})
}

// ---- Decisions ----

func TestDecisionWorth(t *testing.T) {
	allowed := hep.Decision{ExerciseID: "cat-cow", Outcome: hep.OutcomeAllowed}
	cleared := hep.Decision{ExerciseID: "cat-cow", Outcome: hep.OutcomeAllowed,
		Reasons: []hep.Reason{{Flag: hep.FlagPregnancy, Status: hep.StatusPresent, Outcome: hep.OutcomeAllowed, ClearanceID: "c"}}}
	blocked := hep.Decision{ExerciseID: "cat-cow", Outcome: hep.OutcomeNeedsClearance,
		Reasons: []hep.Reason{{Flag: hep.FlagPregnancy, Status: hep.StatusPresent, Outcome: hep.OutcomeNeedsClearance}}}
	tests := []struct {
		name string
		g    hep.GatingDecision
		want bool
	}{
		{"allowed, no change", hep.GatingDecision{Decision: allowed, PreviousState: hep.ItemActive, NewState: hep.ItemActive}, false},
		{"allowed, new item", hep.GatingDecision{Decision: allowed, NewState: hep.ItemActive}, true},
		{"re-activated", hep.GatingDecision{Decision: allowed, PreviousState: hep.ItemSuspended, NewState: hep.ItemActive}, true},
		{"rests on a clearance", hep.GatingDecision{Decision: cleared, PreviousState: hep.ItemActive, NewState: hep.ItemActive}, true},
		{"blocked", hep.GatingDecision{Decision: blocked, PreviousState: hep.ItemSuspended, NewState: hep.ItemSuspended}, true},
		{"refused plan", hep.GatingDecision{Decision: blocked}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.Worth(); got != tt.want {
				t.Errorf("Worth() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnswerIDs(t *testing.T) {
	sc := screeningOf(map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: hep.StatusPresent, hep.FlagHernia: hep.StatusAbsent, hep.FlagObesity: hep.StatusUnknown})
	tests := []struct {
		name  string
		flags []hep.Flag
		want  []string
	}{
		{"flag order, not argument order", []hep.Flag{hep.FlagObesity, hep.FlagPregnancy}, []string{"a-PREGNANCY", "a-OBESITY"}},
		{"unanswered flags have no answer", []hep.Flag{hep.FlagSpinalFracture, hep.FlagHernia}, []string{"a-HERNIA"}},
		{"standing reason has none", []hep.Flag{hep.FlagNone}, nil},
		{"duplicates once", []hep.Flag{hep.FlagHernia, hep.FlagHernia}, []string{"a-HERNIA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sc.AnswerIDs(tt.flags); !slices.Equal(got, tt.want) {
				t.Errorf("AnswerIDs(%v) = %v, want %v", tt.flags, got, tt.want)
			}
		})
	}
}

func TestSourceFor(t *testing.T) {
	tests := []struct {
		role hep.Role
		want hep.Source
	}{
		{hep.RolePatient, hep.SourcePatientReported},
		{hep.RoleClinician, hep.SourceClinicianVerified},
		{hep.RoleAdmin, hep.SourceClinicianVerified},
	}
	for _, tt := range tests {
		if got := hep.SourceFor(tt.role); got != tt.want {
			t.Errorf("SourceFor(%s) = %s, want %s", tt.role, got, tt.want)
		}
	}
}

// ---- Fuzzing ----

// FuzzGate gates a random entry against a random screening and random
// clearances and checks the invariants any correct gate keeps.
func FuzzGate(f *testing.F) {
	f.Add([]byte{1, 1, 1, 1}, []byte{1, 2, 3, 0}, []byte{0, 0, 1}, true)
	f.Add([]byte{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []byte{}, false)
	f.Add([]byte{0, 1, 2}, []byte{3, 3, 3}, []byte{0, 11, 1, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, rules, statuses, clears []byte, requires bool) {
		// The entry: byte i decides flag i's rule (none, contraindicated,
		// needs clearance).
		ex := hep.Exercise{ID: "fuzz", Kind: hep.KindExercise, RequiresClearance: requires}
		for i, fl := range flagOrder {
			if i >= len(rules) {
				break
			}
			switch rules[i] % 3 {
			case 1:
				ex.Rules = append(ex.Rules, hep.Rule{Flag: fl, Severity: hep.SeverityContraindicated, Source: "s"})
			case 2:
				ex.Rules = append(ex.Rules, hep.Rule{Flag: fl, Severity: hep.SeverityNeedsClearance, Source: "s"})
			}
		}
		// Rules come in any order: reverse them when the first byte is odd.
		if len(rules) > 0 && rules[0]&4 != 0 {
			slices.Reverse(ex.Rules)
		}
		// The screening: 0 unanswered, 1 present, 2 absent, 3 unknown.
		sc := hep.Screening{}
		for i, fl := range flagOrder {
			if i >= len(statuses) {
				break
			}
			if s := statuses[i] % 4; s != 0 {
				sc[fl] = hep.ScreeningAnswer{ID: fmt.Sprint(i), Flag: fl, Status: []hep.FlagStatus{"", hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown}[s]}
			}
		}
		// Clearances: triples (exercise, flag, live).
		var cs []hep.Clearance
		for i := 0; i+2 < len(clears) && len(cs) < 30; i += 3 {
			c := hep.Clearance{ID: fmt.Sprint("c", i), ExerciseID: []string{"fuzz", "other"}[clears[i]%2]}
			if k := int(clears[i+1]) % (len(flagOrder) + 1); k < len(flagOrder) {
				c.Flag = flagOrder[k]
			}
			if clears[i+2]%2 == 0 {
				c.EndTime = ended
			}
			cs = append(cs, c)
		}

		d := hep.Gate(ex, sc, cs)

		// The outcome is the most severe reason's (ALLOWED if none).
		want := hep.OutcomeAllowed
		for _, r := range d.Reasons {
			want = worst(want, r.Outcome)
		}
		if d.Outcome != want {
			t.Fatalf("Outcome %s, want the worst reason's %s: %+v", d.Outcome, want, d.Reasons)
		}
		last := -1
		for _, r := range d.Reasons {
			idx := slices.Index(flagOrder, r.Flag)
			if r.Flag == hep.FlagNone {
				idx = len(flagOrder)
				if !requires {
					t.Fatalf("standing reason for an entry that does not require clearance: %+v", r)
				}
			} else {
				rule, ok := ex.Rule(r.Flag)
				if !ok {
					t.Fatalf("reason for %s, which has no rule", r.Flag)
				}
				// No reason for an ABSENT flag.
				if sc.Status(r.Flag) == hep.StatusAbsent || r.Status != sc.Status(r.Flag) {
					t.Fatalf("reason %+v, flag status %s", r, sc.Status(r.Flag))
				}
				if rule.Severity == hep.SeverityContraindicated && r.Status == hep.StatusPresent && r.Outcome != hep.OutcomeContraindicated {
					t.Fatalf("contraindication with a PRESENT flag gave %+v", r)
				}
			}
			if idx <= last {
				t.Fatalf("reasons out of flag order or repeated: %+v", d.Reasons)
			}
			last = idx
			// A cleared reason rests on a live clearance for this entry and
			// flag; an uncleared NEEDS_CLEARANCE has none.
			if r.Cleared() {
				if r.Outcome != hep.OutcomeAllowed || liveFor(cs, "fuzz", r.Flag) == "" {
					t.Fatalf("cleared reason %+v without a live clearance", r)
				}
			}
			if r.Outcome == hep.OutcomeNeedsClearance && liveFor(cs, "fuzz", r.Flag) != "" {
				t.Fatalf("reason %+v ignores a live clearance", r)
			}
			if r.Outcome == hep.OutcomeAllowed && !r.Cleared() {
				t.Fatalf("reason %+v allows without a clearance", r)
			}
		}
		// Every rule whose flag is not ABSENT has its reason.
		for _, rule := range ex.Rules {
			st := sc.Status(rule.Flag)
			has := slices.ContainsFunc(d.Reasons, func(r hep.Reason) bool { return r.Flag == rule.Flag })
			if has != (st != hep.StatusAbsent) {
				t.Fatalf("rule %+v with status %s: reason present = %v", rule, st, has)
			}
			if st == hep.StatusPresent && rule.Severity == hep.SeverityContraindicated && d.Outcome != hep.OutcomeContraindicated {
				t.Fatalf("a PRESENT contraindication gave %s", d.Outcome)
			}
			if st == hep.StatusUnknown && severityRank[d.Outcome] < severityRank[hep.OutcomeNeedsScreening] {
				t.Fatalf("an UNKNOWN rule flag gave %s", d.Outcome)
			}
		}
		if requires && !slices.ContainsFunc(d.Reasons, func(r hep.Reason) bool { return r.Flag == hep.FlagNone }) {
			t.Fatalf("no standing reason for an entry that requires clearance")
		}
		// The order of the clearances does not change the outcome.
		rev := slices.Clone(cs)
		slices.Reverse(rev)
		if d2 := hep.Gate(ex, sc, rev); d2.Outcome != d.Outcome || len(d2.Reasons) != len(d.Reasons) {
			t.Fatalf("reversed clearances: %+v, want %+v", d2, d)
		}
		// StateFor agrees.
		st, _ := hep.StateFor(d, false)
		if (st == hep.ItemActive) != (d.Outcome == hep.OutcomeAllowed) {
			t.Fatalf("StateFor(%s) = %s", d.Outcome, st)
		}
		if st, _ := hep.StateFor(d, true); st != hep.ItemSuspended {
			t.Fatalf("StateFor(hold) = %s", st)
		}
	})
}
