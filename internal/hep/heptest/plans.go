package heptest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func testPlans(t *testing.T, open OpenFunc) {
	t.Run("WriteAndRead", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		standing, _ := c.clear("inversion-table", hep.FlagNone)
		empty := hep.Plan{PatientID: p, TimeZone: c.patient.TimeZone}
		if got := c.plan(); !reflect.DeepEqual(normPlan(got), empty) {
			t.Errorf("GetPlan before any plan = %+v, want %+v", got, empty)
		}

		c.clock.Advance(time.Hour)
		tilt := item("cat-cow")
		tilt.Frequency = hep.Frequency{TimesPerDay: 2, Weekdays: []time.Weekday{time.Monday, time.Wednesday, time.Friday}}
		tilt.EndDate = hep.Date{Year: 2030, Month: 3, Day: 31}
		tilt.Notes = "Slowly.\nStop if it hurts."
		inv := item("inversion-table")
		inv.Dose = hep.Dose{Sets: 1, DurationSeconds: 90, AngleDegrees: 15}
		in := hep.PlanInput{ExpectedVersion: 0, Items: []hep.ItemSpec{tilt, inv, item("childs-pose")}, Note: "First plan."}
		ctx, actor := c.doctor("plan.set")
		var got hep.Plan
		var decisions []hep.GatingDecision
		events := c.audited(func() {
			decisions = c.newDecisions(func() {
				var err error
				if got, err = c.store.SetPlan(ctx, p, in); err != nil {
					t.Fatalf("SetPlan: %v", err)
				}
			})
		})
		// newDecisions reads the trail (audited) twice around the call.
		if len(events) != 3 {
			t.Errorf("SetPlan: %d audit events around it, want 1 (and 2 trail reads)", len(events))
		} else {
			c.wantEvent("SetPlan", notFixture(events), actor, p, resPlanVersion(p, 1), hep.OutcomeOK)
		}
		now := c.clock.Now()
		want := hep.Plan{PatientID: p, Version: 1, Note: in.Note, AuthorID: c.clinician.ID, CreateTime: now, TimeZone: c.patient.TimeZone}
		for _, s := range in.Items {
			want.Items = append(want.Items, hep.PlanItem{Spec: s, State: hep.ItemActive, StateTime: now})
		}
		if !reflect.DeepEqual(normPlan(got), want) {
			t.Errorf("SetPlan:\n got  %+v\n want %+v", normPlan(got), want)
		}
		for _, v := range []int64{0, 1} {
			ctx, actor := c.doctor("plan.get")
			events := c.audited(func() {
				back, err := c.store.GetPlan(ctx, p, v)
				if err != nil || !reflect.DeepEqual(normPlan(back), want) {
					t.Errorf("GetPlan(%d):\n got  %+v, %v\n want %+v", v, normPlan(back), err, want)
				}
			})
			c.wantEvent("GetPlan", events, actor, p, resPlanVersion(p, 1), hep.OutcomeOK)
		}
		// The device item rests on its standing clearance: that decision
		// is kept. The others rest on nothing and are not.
		if len(decisions) != 1 {
			t.Fatalf("SetPlan kept %d decisions, want 1 (the cleared device): %+v", len(decisions), decisions)
		}
		sc := c.screening()
		wantDecision(t, "PLAN_WRITTEN", decisions[0], hep.GatingDecision{
			PatientID: p, PlanVersion: 1, Decision: hep.Gate(c.catalog()["inversion-table"], sc, []hep.Clearance{standing}),
			Cause: hep.CausePlanWritten, NewState: hep.ItemActive, ActorID: c.clinician.ID, DecideTime: now,
		})
		if r := decisions[0].Decision.Reasons; len(r) != 1 || r[0].ClearanceID != standing.ID {
			t.Errorf("PLAN_WRITTEN reasons %+v; want the standing clearance %s", r, standing.ID)
		}

		// A second version leaves the first as it was.
		c.clock.Advance(time.Hour)
		v2 := c.setPlan("bar-hang")
		if v2.Version != 2 || len(v2.Items) != 1 {
			t.Errorf("second SetPlan = %+v", v2)
		}
		if back, err := c.store.GetPlan(c.ctx(), p, 1); err != nil || !reflect.DeepEqual(normPlan(back), want) {
			t.Errorf("GetPlan(1) after version 2:\n got  %+v, %v\n want %+v", normPlan(back), err, want)
		}
		if cur := c.plan(); cur.Version != 2 || cur.Items[0].Spec.ExerciseID != "bar-hang" {
			t.Errorf("GetPlan(current) = %+v, want version 2", cur)
		}
		// An empty version is a plan too.
		if _, err := c.store.SetPlan(c.ctx(), p, hep.PlanInput{ExpectedVersion: 2}); err != nil {
			t.Errorf("SetPlan(no items): %v", err)
		}
		if cur := c.plan(); cur.Version != 3 || len(cur.Items) != 0 {
			t.Errorf("GetPlan after an empty version = %+v", cur)
		}
		for _, v := range []int64{4, 99, -1} {
			c.notAudited("GetPlan(unknown version)", func() {
				_, err := c.store.GetPlan(ctx, p, v)
				wantErr(t, fmt.Sprintf("GetPlan(%d)", v), err, hep.CodeNotFound, "")
			})
		}
	})

	t.Run("VersionMismatch", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		ctx, _ := c.doctor("plan.set")
		set := func(expected int64) error {
			_, err := c.store.SetPlan(ctx, p, hep.PlanInput{ExpectedVersion: expected, Items: items("cat-cow")})
			return err
		}
		for _, tt := range []struct {
			current, expected int64
		}{{0, 1}, {0, -1}, {1, 0}, {1, 2}, {2, 1}} {
			for c.plan().Version < tt.current {
				if err := set(c.plan().Version); err != nil {
					t.Fatal(err)
				}
			}
			c.notAudited("SetPlan(stale)", func() {
				err := set(tt.expected)
				wantErr(t, fmt.Sprintf("SetPlan(expected %d, current %d)", tt.expected, tt.current), err, hep.CodeAborted, hep.ReasonVersionMismatch)
			})
			if v := c.plan().Version; v != tt.current {
				t.Errorf("after a stale SetPlan the version is %d, want %d", v, tt.current)
			}
		}
		c.notAudited("SetPlan(unknown patient)", func() {
			_, err := c.store.SetPlan(ctx, missingID, hep.PlanInput{Items: items("cat-cow")})
			wantErr(t, "SetPlan(unknown patient)", err, hep.CodeNotFound, "")
		})
	})

	t.Run("Refused", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		c.setPlan("bar-hang")
		c.screen(ans(hep.FlagHypertension, hep.StatusPresent), ans(hep.FlagPregnancy, hep.StatusUnknown))
		c.clock.Advance(time.Hour)
		ctx, _ := c.doctor("plan.set")
		in := hep.PlanInput{ExpectedVersion: 1, Items: items("childs-pose", "overhead-stretch", "inversion-table"), Note: "refused"}
		in.Items = append(in.Items, spec("no-rules", hep.KindExercise))
		if _, err := c.store.CreateExercise(c.ctx(), hep.Exercise{ID: "no-rules", Kind: hep.KindExercise, Name: "No rules",
			Instructions: "Walk.", DefaultDose: hep.Dose{DurationSeconds: 600}}); err != nil {
			t.Fatal(err)
		}
		trail := len(c.decisions())
		var err error
		c.notAudited("SetPlan(refused)", func() {
			_, err = c.store.SetPlan(ctx, p, in)
		})
		wantErr(t, "SetPlan(blocked items)", err, hep.CodeFailedPrecondition, hep.ReasonGateBlocked)
		// The error is the gate's: every reason of every blocked item, as
		// a field violation naming the item.
		sc := c.screening()
		cat := c.catalog()
		_, gerr := hep.GateItems(in.Items, cat, sc, nil)
		if !reflect.DeepEqual(err, gerr) {
			t.Errorf("SetPlan error\n got  %v\n want %v (GateItems' error)", err, gerr)
		}
		// Nothing was written but the decisions.
		if cur := c.plan(); cur.Version != 1 || cur.Items[0].Spec.ExerciseID != "bar-hang" {
			t.Errorf("after a refusal the plan is %+v, want version 1 unchanged", cur)
		}
		all := c.decisions()
		if len(all)-trail != 3 {
			t.Fatalf("refusal kept %d decisions, want 3 (one per blocked item)", len(all)-trail)
		}
		kept := all[:3]
		slices.Reverse(kept)
		for i, id := range []string{"childs-pose", "overhead-stretch", "inversion-table"} {
			d := hep.Gate(cat[id], sc, nil)
			wantDecision(t, "PLAN_REFUSED "+id, kept[i], hep.GatingDecision{
				PatientID: p, PlanVersion: 1, Decision: d, Cause: hep.CausePlanRefused,
				ScreeningAnswerIDs: sc.AnswerIDs(d.ReasonFlags()), ActorID: c.clinician.ID, DecideTime: c.clock.Now(),
			})
		}
		if ids := kept[2].ScreeningAnswerIDs; len(ids) != 2 || ids[0] != sc[hep.FlagPregnancy].ID || ids[1] != sc[hep.FlagHypertension].ID {
			t.Errorf("inversion-table refusal rests on answers %v; want the PREGNANCY and HYPERTENSION answers", ids)
		}

		// Invalid input is refused before the gate and keeps nothing.
		trail = len(c.decisions())
		for _, bad := range [][]hep.ItemSpec{
			{spec("no-such-exercise", hep.KindExercise)},
			items("inversion-table", "inversion-table"),
			{{ExerciseID: "inversion-table"}},
		} {
			c.notAudited("SetPlan(invalid)", func() {
				_, err := c.store.SetPlan(ctx, p, hep.PlanInput{ExpectedVersion: 1, Items: bad})
				wantErr(t, "SetPlan(invalid)", err, hep.CodeInvalid, "")
			})
		}
		if n := len(c.decisions()) - trail; n != 0 {
			t.Errorf("invalid plans kept %d decisions, want 0", n)
		}
	})

	t.Run("WrittenOnHold", func(t *testing.T) {
		// A plan written during a red-flag hold is stored, every item
		// SUSPENDED; the hold is no reason to refuse it.
		c := newClinic(t, open)
		c.screen(allAbsent()...)
		if _, err := c.store.ReportRedFlags(c.ctx(), c.patient.ID, []hep.RedFlag{hep.RedFlagBladderOrBowel}, ""); err != nil {
			t.Fatal(err)
		}
		got := c.setPlan("cat-cow")
		if !got.RedFlagHold || got.Items[0].State != hep.ItemSuspended || len(got.Items[0].StateReasons) == 0 ||
			!got.Items[0].StateReasons[0].RedFlagHold {
			t.Errorf("SetPlan during a hold = %+v; want the item SUSPENDED for the hold", got)
		}
		c.wantGated("plan written on hold")
	})

	t.Run("CheckPlan", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		c.screen(ans(hep.FlagObesity, hep.StatusPresent), ans(hep.FlagPregnancy, hep.StatusUnknown))
		c.clear("traction-machine", hep.FlagNone)
		check := items("inversion-table", "traction-machine", "cat-cow")
		trail := len(c.decisions())
		ctx, actor := c.doctor("plan.check")
		var ds []hep.Decision
		events := c.audited(func() {
			var err error
			if ds, err = c.store.CheckPlan(ctx, p, check); err != nil {
				t.Fatalf("CheckPlan: %v", err)
			}
		})
		c.wantEvent("CheckPlan", events, actor, p, resPlan(p), hep.OutcomeOK)
		sc, live, cat := c.screening(), c.liveClearances(), c.catalog()
		for i, it := range check {
			if want := hep.Gate(cat[it.ExerciseID], sc, live); !sameDecision(ds[i], want) {
				t.Errorf("CheckPlan[%d]:\n got  %+v\n want %+v", i, ds[i], want)
			}
		}
		if n := len(c.decisions()) - trail; n != 0 || c.plan().Version != 0 {
			t.Errorf("CheckPlan kept %d decisions and wrote version %d; want nothing", n, c.plan().Version)
		}
		c.notAudited("CheckPlan(invalid)", func() {
			_, err := c.store.CheckPlan(ctx, p, []hep.ItemSpec{{ExerciseID: "cat-cow"}})
			wantErr(t, "CheckPlan(invalid)", err, hep.CodeInvalid, "")
		})
	})

	t.Run("ClearItem", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		c.screen(ans(hep.FlagOsteoporosis, hep.StatusPresent), ans(hep.FlagHernia, hep.StatusPresent),
			ans(hep.FlagPregnancy, hep.StatusUnknown))
		c.screen(ans(hep.FlagPregnancy, hep.StatusAbsent))
		// A plan needs every item allowed: clear what may be cleared first.
		c.clock.Advance(time.Minute)
		ctx, actor := c.doctor("plan.clear_item")
		in := hep.Clearance{PatientID: p, ExerciseID: "cat-cow", Flag: hep.FlagOsteoporosis, Reason: "DEXA reviewed; gentle range only",
			// The store assigns these.
			ID: "ignored", ClearedBy: "someone-else", CreateTime: time.Unix(1, 0), EndTime: time.Unix(2, 0)}
		var cl hep.Clearance
		var changed []string
		var decisions []hep.GatingDecision
		events := c.audited(func() {
			decisions = c.newDecisions(func() {
				var err error
				if cl, changed, err = c.store.ClearItem(ctx, in); err != nil {
					t.Fatalf("ClearItem: %v", err)
				}
			})
		})
		if len(events) != 3 {
			t.Errorf("ClearItem: %d audit events around it, want 1 (and 2 trail reads)", len(events))
		} else {
			c.wantEvent("ClearItem", notFixture(events), actor, p, resClearance(p, cl.ID), hep.OutcomeOK)
		}
		now := c.clock.Now()
		want := hep.Clearance{ID: cl.ID, PatientID: p, ExerciseID: "cat-cow", Flag: hep.FlagOsteoporosis, Reason: in.Reason,
			ClearedBy: c.clinician.ID, CreateTime: now}
		if cl.ID == "" || cl.ID == "ignored" || normClearance(cl) != want {
			t.Errorf("ClearItem:\n got  %+v\n want %+v", cl, want)
		}
		if len(changed) != 0 {
			t.Errorf("ClearItem without a plan changed %v", changed)
		}
		sc := c.screening()
		gate := hep.Gate(c.catalog()["cat-cow"], sc, []hep.Clearance{cl})
		if gate.Outcome != hep.OutcomeAllowed {
			t.Fatalf("cat-cow cleared for OSTEOPOROSIS: the gate says %s", gate.Outcome)
		}
		if len(decisions) != 1 {
			t.Fatalf("ClearItem kept %d decisions, want 1", len(decisions))
		}
		wantDecision(t, "CLEARANCE", decisions[0], hep.GatingDecision{
			PatientID: p, PlanVersion: 0, Decision: gate, Cause: hep.CauseClearance,
			ScreeningAnswerIDs: sc.AnswerIDs(gate.ReasonFlags()), ActorID: c.clinician.ID, DecideTime: now,
		})

		// Refusals: nothing written, nothing audited.
		for _, tt := range []struct {
			name     string
			patient  string
			exercise string
			flag     hep.Flag
			code     hep.Code
		}{
			{"contraindicated", p, "inversion-table", hep.FlagOsteoporosis, hep.CodeFailedPrecondition},
			{"contraindicated (hernia)", p, "inversion-table", hep.FlagHernia, hep.CodeFailedPrecondition},
			{"unknown flag", p, "cat-cow", hep.Flag("BROKEN_LEG"), hep.CodeFailedPrecondition},
			{"absent flag", p, "cat-cow", hep.FlagPregnancy, hep.CodeFailedPrecondition},
			{"no rule for the flag", p, "cat-cow", hep.FlagHernia, hep.CodeFailedPrecondition},
			{"no standing requirement", p, "cat-cow", hep.FlagNone, hep.CodeFailedPrecondition},
			{"duplicate", p, "cat-cow", hep.FlagOsteoporosis, hep.CodeAlreadyExists},
			{"unknown exercise", p, "no-such-exercise", hep.FlagNone, hep.CodeNotFound},
			{"unknown patient", missingID, "inversion-table", hep.FlagNone, hep.CodeNotFound},
		} {
			trail := len(c.decisions())
			live := len(c.liveClearances())
			c.notAudited("ClearItem("+tt.name+")", func() {
				_, _, err := c.store.ClearItem(ctx, hep.Clearance{PatientID: tt.patient, ExerciseID: tt.exercise, Flag: tt.flag, Reason: "because"})
				wantErr(t, "ClearItem("+tt.name+")", err, tt.code, "")
			})
			if len(c.decisions()) != trail || len(c.liveClearances()) != live {
				t.Errorf("ClearItem(%s) wrote a decision or a clearance", tt.name)
			}
		}
		// UNKNOWN is screened, not cleared.
		c.screen(ans(hep.FlagSpinalFracture, hep.StatusUnknown))
		_, _, err := c.store.ClearItem(ctx, hep.Clearance{PatientID: p, ExerciseID: "cat-cow", Flag: hep.FlagSpinalFracture, Reason: "x"})
		wantErr(t, "ClearItem(unknown status)", err, hep.CodeFailedPrecondition, "")
		c.screen(ans(hep.FlagSpinalFracture, hep.StatusAbsent))

		// With a plan: clearing re-gates it and says which items changed.
		c.setPlan("cat-cow")
		c.screen(ans(hep.FlagRecentSpinalSurgery, hep.StatusPresent))
		c.wantStates("surgery", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended})
		c.clock.Advance(time.Minute)
		decisions = c.newDecisions(func() {
			var err error
			cl, changed, err = c.store.ClearItem(ctx, hep.Clearance{PatientID: p, ExerciseID: "cat-cow", Flag: hep.FlagRecentSpinalSurgery, Reason: "surgeon agrees"})
			if err != nil {
				t.Fatalf("ClearItem: %v", err)
			}
		})
		if !slices.Equal(changed, []string{"cat-cow"}) {
			t.Errorf("ClearItem changed %v, want [cat-cow]", changed)
		}
		c.wantStates("surgery cleared", map[string]hep.ItemState{"cat-cow": hep.ItemActive})
		if len(decisions) != 1 || decisions[0].PreviousState != hep.ItemSuspended || decisions[0].NewState != hep.ItemActive ||
			decisions[0].PlanVersion != 1 || decisions[0].Cause != hep.CauseClearance || decisions[0].Decision.Outcome != hep.OutcomeAllowed {
			t.Errorf("ClearItem with a plan kept %+v; want one CLEARANCE decision SUSPENDED -> ACTIVE on version 1", decisions)
		}
		c.wantGated("surgery cleared")

		// Every clearance, newest first, live and ended.
		ctx, actor = c.doctor("plan.list_clearances")
		events = c.audited(func() {
			list, err := c.store.ListClearances(ctx, p)
			if err != nil || len(list) != 2 || list[0].ID != cl.ID || !list[0].Live() || !list[1].Live() {
				t.Errorf("ListClearances = %+v, %v; want the two, newest first", list, err)
			}
		})
		c.wantEvent("ListClearances", events, actor, p, resClearances(p), hep.OutcomeOK)
	})

	t.Run("DecisionPaging", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		c.setPlan("cat-cow", "childs-pose", "bar-hang")
		for range 3 { // 6 x 3 decisions
			c.screen(ans(hep.FlagPregnancy, hep.StatusPresent))
			c.screen(ans(hep.FlagPregnancy, hep.StatusAbsent))
		}
		all := c.decisions()
		if len(all) != 18 {
			t.Fatalf("%d decisions, want 18", len(all))
		}
		if !slices.IsSortedFunc(all, func(a, b hep.GatingDecision) int { return -cmpString(a.ID, b.ID) }) {
			t.Errorf("decisions are not newest first")
		}
		for _, size := range []int{1, 4, 18, 50} {
			var got []hep.GatingDecision
			before := ""
			for pages := 0; pages <= len(all)+1; pages++ {
				ctx, actor := c.doctor("plan.list_decisions")
				var page []hep.GatingDecision
				events := c.audited(func() {
					var err error
					if page, err = c.store.ListGatingDecisions(ctx, hep.DecisionFilter{PatientID: p, Before: before, Limit: size}); err != nil {
						t.Fatal(err)
					}
				})
				c.wantEvent("ListGatingDecisions", events, actor, p, resGatingDecisions(p), hep.OutcomeOK)
				got = append(got, page...)
				if len(page) < size {
					break
				}
				before = page[len(page)-1].ID
			}
			if !reflect.DeepEqual(got, all) {
				t.Errorf("size %d: paged trail differs from the whole (%d vs %d decisions)", size, len(got), len(all))
			}
		}
		if ds, err := c.store.ListGatingDecisions(c.ctx(), hep.DecisionFilter{PatientID: missingID}); err != nil || len(ds) != 0 {
			t.Errorf("ListGatingDecisions(unknown patient) = %v, %v; want none", ds, err)
		}
	})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testClinicalConcurrency(t *testing.T, open OpenFunc) {
	const workers = 8

	t.Run("SetPlanSameVersion", func(t *testing.T) {
		c := newClinic(t, open)
		c.screen(allAbsent()...)
		c.setPlan("cat-cow")
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				ctx, _ := c.doctor(fmt.Sprintf("plan.set.%d", w))
				_, errs[w] = c.store.SetPlan(ctx, c.patient.ID, hep.PlanInput{ExpectedVersion: 1, Items: items("bar-hang")})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if hep.ErrorCode(err) != hep.CodeAborted || reasonOf(err) != hep.ReasonVersionMismatch {
				t.Errorf("SetPlan: %v; want success or ABORTED/VERSION_MISMATCH", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d SetPlan calls with one expected version succeeded, want 1", ok, workers)
		}
		if v := c.plan().Version; v != 2 {
			t.Errorf("after the race the version is %d, want 2", v)
		}
	})

	t.Run("GatingInterleaved", func(t *testing.T) {
		// Screening changes, plan writes, clearances and red-flag reports
		// race; afterwards every stored item is what the rules say for
		// what is stored, and every successful call wrote one audit row.
		const rounds = 12
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		c.clear("inversion-table", hep.FlagNone)
		c.clear("traction-machine", hep.FlagNone)
		c.setPlan("cat-cow", "childs-pose", "inversion-table", "traction-machine")
		flags := []hep.Flag{hep.FlagPregnancy, hep.FlagHypertension, hep.FlagOsteoporosis, hep.FlagSpinalMetalImplant}
		statuses := []hep.FlagStatus{hep.StatusPresent, hep.StatusAbsent, hep.StatusUnknown}
		ids := []string{"cat-cow", "childs-pose", "bar-hang", "overhead-stretch", "inversion-table", "traction-machine"}
		before := c.auditCount()
		var mu sync.Mutex
		calls := 0
		succeeded := func() {
			mu.Lock()
			calls++
			mu.Unlock()
		}
		tolerate := func(w int, what string, err error, codes ...hep.Code) {
			if err == nil {
				succeeded()
			} else if !slices.Contains(codes, hep.ErrorCode(err)) {
				t.Errorf("worker %d: %s: %v", w, what, err)
			}
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 42))
				for range rounds {
					switch w % 4 {
					case 0, 1: // screening, from the phone or the clinician
						ctx, _ := c.doctor("screening.record")
						if w%2 == 1 {
							ctx, _ = c.phone("screening.record")
						}
						var in []hep.ScreeningInput
						for _, i := range r.Perm(len(flags))[:1+r.IntN(2)] {
							in = append(in, ans(flags[i], statuses[r.IntN(len(statuses))]))
						}
						_, _, err := c.store.RecordScreening(ctx, p, in)
						tolerate(w, "RecordScreening", err)
					case 2: // plan writes
						ctx, _ := c.doctor("plan.set")
						cur, err := c.store.GetPlan(ctx, p, 0)
						tolerate(w, "GetPlan", err)
						var pick []string
						for _, i := range r.Perm(len(ids))[:1+r.IntN(3)] {
							pick = append(pick, ids[i])
						}
						_, err = c.store.SetPlan(ctx, p, hep.PlanInput{ExpectedVersion: cur.Version, Items: items(pick...)})
						tolerate(w, "SetPlan", err, hep.CodeAborted, hep.CodeFailedPrecondition)
					case 3: // clearances and red flags
						ctx, _ := c.doctor("plan.clear_item")
						_, _, err := c.store.ClearItem(ctx, hep.Clearance{PatientID: p, ExerciseID: ids[r.IntN(4)],
							Flag: flags[r.IntN(len(flags))], Reason: "race"})
						tolerate(w, "ClearItem", err, hep.CodeFailedPrecondition, hep.CodeAlreadyExists)
						if r.IntN(3) == 0 {
							a, err := c.store.ReportRedFlags(ctx, p, []hep.RedFlag{hep.RedFlagProgressiveWeakness}, "")
							tolerate(w, "ReportRedFlags", err)
							if err == nil && r.IntN(2) == 0 {
								_, _, err = c.store.AcknowledgeAlert(ctx, p, a.ID, "seen", 0)
								tolerate(w, "AcknowledgeAlert", err)
							}
						}
					}
				}
			})
		}
		wg.Wait()
		if got := c.auditCount() - before; got != int64(calls) {
			t.Errorf("%d audit rows for %d successful calls", got, calls)
		}
		c.wantGated("after the race")
		openRedFlags := 0
		for _, a := range c.alerts() {
			if a.Kind == hep.AlertRedFlag && a.Status == hep.AlertOpen {
				openRedFlags++
			}
		}
		if hold := c.plan().RedFlagHold; hold != (openRedFlags > 0) {
			t.Errorf("red-flag hold %v with %d open red-flag alerts", hold, openRedFlags)
		}
		// Lifting every hold leaves the plan as the gate says.
		for _, a := range c.alerts() {
			if a.Status == hep.AlertOpen {
				if _, _, err := c.store.AcknowledgeAlert(c.ctx(), p, a.ID, "done", 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		if c.plan().RedFlagHold {
			t.Errorf("hold still on after every alert is acknowledged")
		}
		c.wantGated("after acknowledging everything")
	})
}
