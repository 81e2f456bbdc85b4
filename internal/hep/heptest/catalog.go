package heptest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// The built-in catalog as DESIGN.md ("Exercise catalog") lists it, written
// out here on its own so that the suite checks the seeded rules rather than
// trusting them.
const (
	srcExercises = "Seed article: home exercises for back pain — avoid or clear with a clinician during pregnancy, " +
		"after recent spinal surgery, with spinal fracture or osteoporosis"
	srcInversion = "Seed article list of inversion-table contraindications"
	srcTeeter    = "Inversion-table manufacturer's published contraindications (Teeter)"
	srcTraction  = "In-office spinal decompression exclusions (seed article), applied by analogy to home traction devices"
)

type builtIn struct {
	id              string
	kind            hep.Kind
	contraindicated map[hep.Flag]string // flag -> source
	needsClearance  map[hep.Flag]string
}

var (
	exerciseRules = map[hep.Flag]string{
		hep.FlagPregnancy: srcExercises, hep.FlagRecentSpinalSurgery: srcExercises,
		hep.FlagSpinalFracture: srcExercises, hep.FlagOsteoporosis: srcExercises,
	}
	inversionRules = map[hep.Flag]string{
		hep.FlagHypertension: srcInversion, hep.FlagOsteoporosis: srcInversion, hep.FlagHernia: srcInversion,
		hep.FlagSpinalFracture: srcInversion, hep.FlagObesity: srcInversion, hep.FlagPregnancy: srcInversion,
		hep.FlagRecentSpinalSurgery: srcInversion, hep.FlagGlaucomaOrRetinal: srcTeeter,
		hep.FlagHeartOrCirculatoryDisease: srcTeeter, hep.FlagAnticoagulantUse: srcTeeter,
	}
	tractionRules = map[hep.Flag]string{
		hep.FlagPregnancy: srcTraction, hep.FlagSpinalFracture: srcTraction, hep.FlagOsteoporosis: srcTraction,
		hep.FlagRecentSpinalSurgery: srcTraction, hep.FlagSpinalMetalImplant: srcTraction,
	}
)

// builtIns is in catalog order (by id).
var builtIns = []builtIn{
	{"bar-hang", hep.KindExercise, nil, exerciseRules},
	{"cat-cow", hep.KindExercise, nil, exerciseRules},
	{"childs-pose", hep.KindExercise, nil, exerciseRules},
	{"decompression-belt", hep.KindDevice, tractionRules, nil},
	{"inversion-table", hep.KindDevice, inversionRules, nil},
	{"overhead-stretch", hep.KindExercise, nil, exerciseRules},
	{"traction-machine", hep.KindDevice, tractionRules, nil},
}

func builtInIDs() []string {
	var ids []string
	for _, b := range builtIns {
		ids = append(ids, b.id)
	}
	return ids
}

// expectOutcome is what DESIGN.md says the gate decides for entry b when
// flag f has status st and every other flag is ABSENT; standing says
// whether a device has its standing clearance.
func (b builtIn) expectOutcome(f hep.Flag, st hep.FlagStatus, standing bool) hep.Outcome {
	_, contra := b.contraindicated[f]
	_, clear := b.needsClearance[f]
	switch {
	case (contra || clear) && st == hep.StatusUnknown:
		return hep.OutcomeNeedsScreening
	case contra && st == hep.StatusPresent:
		return hep.OutcomeContraindicated
	case clear && st == hep.StatusPresent:
		return hep.OutcomeNeedsClearance
	case b.kind == hep.KindDevice && !standing:
		return hep.OutcomeNeedsClearance
	}
	return hep.OutcomeAllowed
}

func testCatalog(t *testing.T, open OpenFunc) {
	t.Run("BuiltIn", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		ctx, actor := e.as(actorOf(c), "catalog.list")
		var list []hep.Exercise
		events := e.audited(func() {
			var err error
			if list, err = e.store.ListExercises(ctx, false); err != nil {
				t.Fatalf("ListExercises: %v", err)
			}
		})
		e.wantEvent("ListExercises", events, actor, "", resExercises, hep.OutcomeOK)
		var ids []string
		for _, x := range list {
			ids = append(ids, x.ID)
		}
		if !slices.Equal(ids, builtInIDs()) {
			t.Fatalf("ListExercises of a new store = %v, want the built-in catalog %v", ids, builtInIDs())
		}
		for i, b := range builtIns {
			x := list[i]
			if x.Kind != b.kind || !x.BuiltIn || x.Retired || x.CatalogVersion != 2 || x.RequiresClearance != (b.kind == hep.KindDevice) {
				t.Errorf("%s: kind %s, built-in %v, retired %v, catalog version %d, requires clearance %v; want %s, built-in, "+
					"not retired, catalog version 2, requires clearance for devices only",
					b.id, x.Kind, x.BuiltIn, x.Retired, x.CatalogVersion, x.RequiresClearance, b.kind)
			}
			// The seeded entry is as valid as a clinic entry must be: name,
			// instructions, a dose that fits its kind, sources of at most
			// 500 characters.
			if err := x.Validate(); err != nil {
				t.Errorf("%s does not validate: %v", b.id, err)
			}
			if x.CreateTime.IsZero() {
				t.Errorf("%s has no create time", b.id)
			}
			got := map[hep.Flag]hep.Rule{}
			for _, r := range x.Rules {
				got[r.Flag] = r
			}
			want := map[hep.Flag]hep.Rule{}
			for f, src := range b.contraindicated {
				want[f] = hep.Rule{Flag: f, Severity: hep.SeverityContraindicated, Source: src}
			}
			for f, src := range b.needsClearance {
				want[f] = hep.Rule{Flag: f, Severity: hep.SeverityNeedsClearance, Source: src}
			}
			if len(x.Rules) != len(got) || !reflect.DeepEqual(got, want) {
				t.Errorf("%s rules:\n got  %+v\n want %+v", b.id, x.Rules, want)
			}
			ctx, actor := e.as(actorOf(c), "catalog.get")
			events := e.audited(func() {
				g, err := e.store.GetExercise(ctx, b.id)
				if err != nil || !reflect.DeepEqual(normExercise(g), normExercise(x)) {
					t.Errorf("GetExercise(%s) = %+v, %v; want %+v", b.id, g, err, x)
				}
			})
			e.wantEvent("GetExercise", events, actor, "", resExercise(b.id), hep.OutcomeOK)
		}
		e.notAudited("GetExercise(unknown)", func() {
			_, err := e.store.GetExercise(ctx, "no-such-exercise")
			wantErr(t, "GetExercise(unknown)", err, hep.CodeNotFound, "")
		})
		e.notAudited("RetireExercise(built-in)", func() {
			_, err := e.store.RetireExercise(ctx, "cat-cow")
			wantErr(t, "RetireExercise(built-in)", err, hep.CodeFailedPrecondition, "")
		})
		e.notAudited("CreateExercise(built-in id)", func() {
			_, err := e.store.CreateExercise(ctx, hep.Exercise{ID: "cat-cow", Kind: hep.KindExercise, Name: "Mine",
				Instructions: "Mine.", DefaultDose: hep.Dose{Reps: 1}})
			wantErr(t, "CreateExercise(built-in id)", err, hep.CodeAlreadyExists, "")
		})
	})

	t.Run("GateMatrix", func(t *testing.T) {
		// Every built-in entry x every flag x every status, with every
		// other flag ABSENT: first without clearances, then with the
		// devices' standing clearances (which no screening change ends).
		c := newClinic(t, open)
		c.screen(allAbsent()...)
		all := items(builtInIDs()...)
		check := func(f hep.Flag, st hep.FlagStatus, standing bool) {
			t.Helper()
			ctx, _ := c.doctor("plan.check")
			ds, err := c.store.CheckPlan(ctx, c.patient.ID, all)
			if err != nil {
				t.Fatalf("CheckPlan: %v", err)
			}
			if len(ds) != len(builtIns) {
				t.Fatalf("CheckPlan returned %d decisions for %d items", len(ds), len(builtIns))
			}
			for i, b := range builtIns {
				d := ds[i]
				want := b.expectOutcome(f, st, standing)
				if d.ExerciseID != b.id || d.Outcome != want {
					t.Errorf("%s with %s %s (standing clearance %v): %s %s, want %s; reasons %+v",
						b.id, f, st, standing, d.ExerciseID, d.Outcome, want, d.Reasons)
					continue
				}
				// The reason names the flag and carries the rule's source.
				if src, ok := b.contraindicated[f]; ok && st != hep.StatusAbsent {
					wantReason(t, b.id, d, f, st, src)
				}
				if src, ok := b.needsClearance[f]; ok && st != hep.StatusAbsent {
					wantReason(t, b.id, d, f, st, src)
				}
				standingReason := false
				for _, r := range d.Reasons {
					if r.Flag == hep.FlagNone {
						standingReason = true
						if (r.Outcome == hep.OutcomeAllowed) != standing || r.Cleared() != standing {
							t.Errorf("%s: standing reason %+v with standing clearance %v", b.id, r, standing)
						}
					}
				}
				if standingReason != (b.kind == hep.KindDevice) {
					t.Errorf("%s: standing-clearance reason present %v, want %v", b.id, standingReason, b.kind == hep.KindDevice)
				}
			}
		}
		for _, standing := range []bool{false, true} {
			if standing {
				for _, b := range builtIns {
					if b.kind == hep.KindDevice {
						c.clear(b.id, hep.FlagNone)
					}
				}
			}
			check("", hep.StatusAbsent, standing)
			for _, f := range hep.Flags {
				for _, st := range []hep.FlagStatus{hep.StatusPresent, hep.StatusUnknown, hep.StatusAbsent} {
					c.screen(ans(f, st))
					check(f, st, standing)
				}
			}
		}

		// Never answered is unknown, not absent: a new patient needs
		// screening for every built-in entry (each has rules).
		fresh := c.env.patient(c.clinician.ID)
		ds, err := c.store.CheckPlan(c.ctx(), fresh.ID, all)
		if err != nil {
			t.Fatalf("CheckPlan(never screened): %v", err)
		}
		for i, b := range builtIns {
			want := len(b.contraindicated) + len(b.needsClearance)
			if b.kind == hep.KindDevice {
				want++
			}
			if ds[i].Outcome != hep.OutcomeNeedsScreening || len(ds[i].Blocking()) != want {
				t.Errorf("%s never screened: %s with %d blocking reasons; want NEEDS_SCREENING with one per rule (and the standing one)",
					b.id, ds[i].Outcome, len(ds[i].Blocking()))
			}
		}
	})

	t.Run("ClinicEntries", func(t *testing.T) {
		e := newEnv(t, open)
		c := e.account(hep.RoleClinician)
		mk := func(id string, kind hep.Kind, rules ...hep.Rule) hep.Exercise {
			x := hep.Exercise{ID: id, Kind: kind, Name: "Entry " + id, Instructions: "Do it slowly.\nStop if it hurts.",
				DefaultDose: hep.Dose{Sets: 1, Reps: 8}, Rules: rules,
				// Whatever the caller says, a clinic entry is not built in,
				// not retired and has catalog version 0.
				BuiltIn: true, Retired: true, CatalogVersion: 7}
			if kind == hep.KindDevice {
				x.RequiresClearance, x.DefaultDose = true, hep.Dose{DurationSeconds: 120, AngleDegrees: 10}
			}
			return x
		}
		// Created in this order; listed in this order after the built-in
		// entries, whatever their ids.
		inputs := []hep.Exercise{
			mk("zz-bridge", hep.KindExercise,
				hep.Rule{Flag: hep.FlagSpinalFracture, Severity: hep.SeverityContraindicated, Source: "Clinic protocol 4"},
				hep.Rule{Flag: hep.FlagPregnancy, Severity: hep.SeverityNeedsClearance, Source: "Clinic protocol 4"}),
			mk("aa-foam-roller", hep.KindDevice),
			mk("mm-pelvic-tilt", hep.KindExercise),
		}
		var created []hep.Exercise
		for _, in := range inputs {
			e.clock.Advance(time.Second)
			ctx, actor := e.as(actorOf(c), "catalog.create")
			var got hep.Exercise
			events := e.audited(func() {
				var err error
				if got, err = e.store.CreateExercise(ctx, in); err != nil {
					t.Fatalf("CreateExercise(%s): %v", in.ID, err)
				}
			})
			e.wantEvent("CreateExercise", events, actor, "", resExercise(in.ID), hep.OutcomeOK)
			want := in
			want.BuiltIn, want.Retired, want.CatalogVersion, want.CreateTime = false, false, 0, e.clock.Now()
			if !reflect.DeepEqual(normExercise(got), want) {
				t.Errorf("CreateExercise:\n got  %+v\n want %+v", got, want)
			}
			if back, err := e.store.GetExercise(e.ctx(), in.ID); err != nil || !reflect.DeepEqual(normExercise(back), want) {
				t.Errorf("GetExercise after CreateExercise:\n got  %+v, %v\n want %+v", back, err, want)
			}
			created = append(created, want)
		}
		e.notAudited("CreateExercise(taken)", func() {
			_, err := e.store.CreateExercise(e.ctx(), inputs[1])
			wantErr(t, "CreateExercise(taken)", err, hep.CodeAlreadyExists, "")
		})
		listIDs := func(includeRetired bool) []string {
			list, err := e.store.ListExercises(e.ctx(), includeRetired)
			if err != nil {
				t.Fatalf("ListExercises: %v", err)
			}
			var ids []string
			for _, x := range list {
				ids = append(ids, x.ID)
			}
			return ids
		}
		want := append(builtInIDs(), "zz-bridge", "aa-foam-roller", "mm-pelvic-tilt")
		if got := listIDs(false); !slices.Equal(got, want) {
			t.Errorf("ListExercises = %v, want %v (built-in by id, then clinic entries in creation order)", got, want)
		}

		for i := range 2 { // idempotent
			e.clock.Advance(time.Second)
			ctx, actor := e.as(actorOf(c), "catalog.retire")
			events := e.audited(func() {
				got, err := e.store.RetireExercise(ctx, "aa-foam-roller")
				w := created[1]
				w.Retired = true
				if err != nil || !reflect.DeepEqual(normExercise(got), w) {
					t.Errorf("RetireExercise #%d = %+v, %v; want %+v", i+1, got, err, w)
				}
			})
			e.wantEvent("RetireExercise", events, actor, "", resExercise("aa-foam-roller"), hep.OutcomeOK)
		}
		if got, want := listIDs(false), append(builtInIDs(), "zz-bridge", "mm-pelvic-tilt"); !slices.Equal(got, want) {
			t.Errorf("ListExercises after a retirement = %v, want %v", got, want)
		}
		if got := listIDs(true); !slices.Equal(got, want) {
			t.Errorf("ListExercises(include retired) = %v, want %v", got, want)
		}
		if x, err := e.store.GetExercise(e.ctx(), "aa-foam-roller"); err != nil || !x.Retired {
			t.Errorf("GetExercise(retired) = %+v, %v; want it, retired", x, err)
		}
		e.notAudited("RetireExercise(unknown)", func() {
			_, err := e.store.RetireExercise(e.ctx(), "no-such-exercise")
			wantErr(t, "RetireExercise(unknown)", err, hep.CodeNotFound, "")
		})
	})

	t.Run("ClinicEntriesGate", func(t *testing.T) {
		// A clinic entry's rules gate like the built-in ones, and a
		// retired entry stays in the plans that hold it but joins no new
		// plan.
		c := newClinic(t, open)
		x := hep.Exercise{ID: "wall-sit", Kind: hep.KindExercise, Name: "Wall sit", Instructions: "Slide down a wall.",
			DefaultDose: hep.Dose{Sets: 3, HoldSeconds: 20},
			Rules:       []hep.Rule{{Flag: hep.FlagHernia, Severity: hep.SeverityContraindicated, Source: "Clinic protocol 9"}}}
		if _, err := c.store.CreateExercise(c.ctx(), x); err != nil {
			t.Fatal(err)
		}
		c.screen(allAbsent()...)
		ctx, _ := c.doctor("plan.set")
		wallSit := spec("wall-sit", hep.KindExercise)
		if _, err := c.store.SetPlan(ctx, c.patient.ID, hep.PlanInput{Items: []hep.ItemSpec{wallSit, item("cat-cow")}}); err != nil {
			t.Fatalf("SetPlan: %v", err)
		}
		if changed := c.screen(ans(hep.FlagHernia, hep.StatusPresent)); !slices.Equal(changed, []string{"wall-sit"}) {
			t.Errorf("HERNIA PRESENT changed %v, want [wall-sit]", changed)
		}
		if _, err := c.store.RetireExercise(c.ctx(), "wall-sit"); err != nil {
			t.Fatal(err)
		}
		c.screen(ans(hep.FlagHernia, hep.StatusAbsent))
		c.wantStates("retired entry in the plan", map[string]hep.ItemState{"wall-sit": hep.ItemActive, "cat-cow": hep.ItemActive})
		// The next version may keep it...
		if _, err := c.store.SetPlan(ctx, c.patient.ID, hep.PlanInput{ExpectedVersion: 1, Items: []hep.ItemSpec{wallSit}}); err != nil {
			t.Errorf("SetPlan keeping a retired entry: %v", err)
		}
		// ... but once dropped it cannot come back, and no other patient
		// gets it.
		if _, err := c.store.SetPlan(ctx, c.patient.ID, hep.PlanInput{ExpectedVersion: 2, Items: items("cat-cow")}); err != nil {
			t.Fatal(err)
		}
		c.notAudited("SetPlan(retired entry)", func() {
			_, err := c.store.SetPlan(ctx, c.patient.ID, hep.PlanInput{ExpectedVersion: 3, Items: []hep.ItemSpec{wallSit}})
			wantErr(t, "SetPlan(re-adding a retired entry)", err, hep.CodeInvalid, "")
		})
		other := c.env.patient(c.clinician.ID)
		_, err := c.store.CheckPlan(ctx, other.ID, []hep.ItemSpec{wallSit})
		wantErr(t, "CheckPlan(retired entry, new plan)", err, hep.CodeInvalid, "")
	})
}

// wantReason checks that d has exactly one reason for flag f, with the
// status and the rule's source.
func wantReason(t *testing.T, id string, d hep.Decision, f hep.Flag, st hep.FlagStatus, src string) {
	t.Helper()
	var found []hep.Reason
	for _, r := range d.Reasons {
		if r.Flag == f {
			found = append(found, r)
		}
	}
	if len(found) != 1 || found[0].Status != st || found[0].Source != src || found[0].Message == "" {
		t.Errorf("%s with %s %s: reasons %s; want one for the flag with source %q", id, f, st, fmt.Sprintf("%+v", found), src)
	}
}
