package heptest

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func testScreening(t *testing.T, open OpenFunc) {
	t.Run("SourceFromActor", func(t *testing.T) {
		// Who recorded an answer decides its source: the patient's device
		// reports, a clinician verifies. The caller never chooses.
		c := newClinic(t, open)
		p := c.patient.ID
		ctx, actor := c.phone("screening.record")
		in := []hep.ScreeningInput{
			{Flag: hep.FlagPregnancy, Status: hep.StatusPresent, Note: "about 10 weeks"},
			{Flag: hep.FlagHypertension, Status: hep.StatusAbsent},
		}
		var sc hep.Screening
		events := c.audited(func() {
			var changed []string
			var err error
			if sc, changed, err = c.store.RecordScreening(ctx, p, in); err != nil || len(changed) != 0 {
				t.Fatalf("RecordScreening = %v, %v; want no changed items (no plan)", changed, err)
			}
		})
		c.wantEvent("RecordScreening(patient)", events, actor, p, resScreening(p), hep.OutcomeOK)
		reported := c.clock.Now()
		want := hep.Screening{}
		for _, a := range in {
			got := sc[a.Flag]
			want[a.Flag] = hep.ScreeningAnswer{ID: got.ID, PatientID: p, Flag: a.Flag, Status: a.Status,
				Source: hep.SourcePatientReported, RecordedBy: c.device.ID, Note: a.Note, RecordTime: reported, Effective: true}
		}
		wantScreening(t, "after the patient's report", sc, want)

		c.clock.Advance(time.Hour)
		ctx, actor = c.doctor("screening.record")
		in2 := []hep.ScreeningInput{{Flag: hep.FlagPregnancy, Status: hep.StatusAbsent, Note: "test negative"}}
		events = c.audited(func() {
			var err error
			if sc, _, err = c.store.RecordScreening(ctx, p, in2); err != nil {
				t.Fatalf("RecordScreening: %v", err)
			}
		})
		c.wantEvent("RecordScreening(clinician)", events, actor, p, resScreening(p), hep.OutcomeOK)
		want[hep.FlagPregnancy] = hep.ScreeningAnswer{ID: sc[hep.FlagPregnancy].ID, PatientID: p, Flag: hep.FlagPregnancy,
			Status: hep.StatusAbsent, Source: hep.SourceClinicianVerified, RecordedBy: c.clinician.ID, Note: in2[0].Note,
			RecordTime: c.clock.Now(), Effective: true}
		wantScreening(t, "after the clinician's answer", sc, want)
		if sc.Status(hep.FlagObesity) != hep.StatusUnknown {
			t.Errorf("a flag never answered is %s, want UNKNOWN", sc.Status(hep.FlagObesity))
		}

		ctx, actor = c.doctor("screening.get")
		events = c.audited(func() {
			got, err := c.store.GetScreening(ctx, p)
			if err != nil {
				t.Fatalf("GetScreening: %v", err)
			}
			wantScreening(t, "GetScreening", got, want)
		})
		c.wantEvent("GetScreening", events, actor, p, resScreening(p), hep.OutcomeOK)

		c.notAudited("RecordScreening(unknown patient)", func() {
			_, _, err := c.store.RecordScreening(ctx, missingID, in)
			wantErr(t, "RecordScreening(unknown patient)", err, hep.CodeNotFound, "")
		})
	})

	t.Run("PatientCannotLowerVerified", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		dctx, _ := c.doctor("screening.record")
		pctx, _ := c.phone("screening.record")
		record := func(ctx context.Context, in ...hep.ScreeningInput) hep.Screening {
			t.Helper()
			sc, _, err := c.store.RecordScreening(ctx, p, in)
			if err != nil {
				t.Fatalf("RecordScreening: %v", err)
			}
			return sc
		}
		record(dctx, ans(hep.FlagOsteoporosis, hep.StatusPresent), ans(hep.FlagHernia, hep.StatusAbsent))
		// The phone says "no osteoporosis": kept, not effective.
		sc := record(pctx, ans(hep.FlagOsteoporosis, hep.StatusAbsent))
		if got := sc[hep.FlagOsteoporosis]; got.Status != hep.StatusPresent || got.Source != hep.SourceClinicianVerified {
			t.Errorf("after the phone's ABSENT, osteoporosis = %s from %s; want the verified PRESENT", got.Status, got.Source)
		}
		hctx, _ := c.doctor("screening.history")
		hist, err := c.store.ListScreeningHistory(hctx, hep.ScreeningFilter{PatientID: p, Flag: hep.FlagOsteoporosis, Limit: 10})
		if err != nil || len(hist) != 2 || hist[0].Effective || hist[0].Status != hep.StatusAbsent || !hist[1].Effective {
			t.Errorf("history = %+v, %v; want the phone's ABSENT kept as not effective", hist, err)
		}
		actx, _ := c.doctor("alert.list")
		alerts, err := c.store.ListAlerts(actx, hep.AlertFilter{PatientID: p, Limit: 10})
		if err != nil || len(alerts) != 1 || !strings.Contains(alerts[0].Summary, "OSTEOPOROSIS ABSENT (verified PRESENT)") {
			t.Errorf("alerts = %+v, %v; want one naming the overridden report", alerts, err)
		}
		// More caution from the phone always takes effect.
		sc = record(pctx, ans(hep.FlagHernia, hep.StatusUnknown))
		if sc.Status(hep.FlagHernia) != hep.StatusUnknown {
			t.Errorf("phone's UNKNOWN over verified ABSENT: %s, want UNKNOWN", sc.Status(hep.FlagHernia))
		}
		// The phone may revise its own report.
		record(pctx, ans(hep.FlagPregnancy, hep.StatusPresent))
		sc = record(pctx, ans(hep.FlagPregnancy, hep.StatusAbsent))
		if sc.Status(hep.FlagPregnancy) != hep.StatusAbsent {
			t.Errorf("phone revising its own PRESENT: %s, want ABSENT", sc.Status(hep.FlagPregnancy))
		}
		// A clinician's answer always takes effect.
		sc = record(dctx, ans(hep.FlagOsteoporosis, hep.StatusAbsent))
		if sc.Status(hep.FlagOsteoporosis) != hep.StatusAbsent {
			t.Errorf("clinician's ABSENT: %s", sc.Status(hep.FlagOsteoporosis))
		}
	})

	t.Run("History", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		batches := [][]hep.ScreeningInput{
			allAbsent(),
			{ans(hep.FlagPregnancy, hep.StatusPresent)},
			{ans(hep.FlagHernia, hep.StatusUnknown), ans(hep.FlagPregnancy, hep.StatusAbsent)},
			{ans(hep.FlagPregnancy, hep.StatusPresent), ans(hep.FlagObesity, hep.StatusPresent)},
		}
		type rec struct {
			flag   hep.Flag
			status hep.FlagStatus
			at     time.Time
		}
		var all []rec // oldest first
		for _, b := range batches {
			c.clock.Advance(time.Minute)
			c.screen(b...)
			for _, a := range b {
				all = append(all, rec{a.Flag, a.Status, c.clock.Now()})
			}
		}
		slices.Reverse(all)
		for _, flag := range []hep.Flag{hep.FlagNone, hep.FlagPregnancy, hep.FlagSpinalMetalImplant} {
			var want []rec
			for _, r := range all {
				if flag == hep.FlagNone || r.flag == flag {
					want = append(want, r)
				}
			}
			for _, size := range []int{1, 2, 5, 100} {
				var got []rec
				seen := map[string]bool{}
				before := ""
				for pages := 0; ; pages++ {
					if pages > len(want)+1 {
						t.Fatalf("flag %q size %d: paging does not end", flag, size)
					}
					ctx, actor := c.doctor("screening.history")
					var page []hep.ScreeningAnswer
					events := c.audited(func() {
						var err error
						if page, err = c.store.ListScreeningHistory(ctx, hep.ScreeningFilter{PatientID: p, Flag: flag, Before: before, Limit: size}); err != nil {
							t.Fatalf("ListScreeningHistory: %v", err)
						}
					})
					c.wantEvent("ListScreeningHistory", events, actor, p, resScreening(p), hep.OutcomeOK)
					for _, a := range page {
						if seen[a.ID] || a.PatientID != p {
							t.Errorf("flag %q size %d: answer %s repeated or another patient's", flag, size, a.ID)
						}
						seen[a.ID] = true
						got = append(got, rec{a.Flag, a.Status, norm(a.RecordTime)})
					}
					if len(page) < size {
						break
					}
					before = page[len(page)-1].ID
				}
				if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
					t.Errorf("flag %q size %d: history\n got  %v\n want %v (newest first)", flag, size, got, want)
				}
			}
		}
		// The current screening is the latest answer per flag.
		sc := c.screening()
		for f, st := range map[hep.Flag]hep.FlagStatus{hep.FlagPregnancy: hep.StatusPresent, hep.FlagHernia: hep.StatusUnknown,
			hep.FlagObesity: hep.StatusPresent, hep.FlagOsteoporosis: hep.StatusAbsent} {
			if sc.Status(f) != st {
				t.Errorf("current %s = %s, want %s", f, sc.Status(f), st)
			}
		}
		if len(sc) != len(hep.Flags) {
			t.Errorf("current screening has %d flags, want %d", len(sc), len(hep.Flags))
		}
	})

	t.Run("SuspendsInSameCall", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		c.clear("inversion-table", hep.FlagNone)
		c.clear("traction-machine", hep.FlagNone)
		written := c.setPlan("cat-cow", "inversion-table", "traction-machine")
		c.wantStates("new plan", map[string]hep.ItemState{"cat-cow": hep.ItemActive, "inversion-table": hep.ItemActive, "traction-machine": hep.ItemActive})

		c.clock.Advance(time.Hour)
		ctx, _ := c.phone("screening.record")
		in := []hep.ScreeningInput{ans(hep.FlagHypertension, hep.StatusPresent)}
		var sc hep.Screening
		var changed []string
		alertsBefore := len(c.alerts())
		decisions := c.newDecisions(func() {
			var err error
			if sc, changed, err = c.store.RecordScreening(ctx, p, in); err != nil {
				t.Fatalf("RecordScreening: %v", err)
			}
		})
		now := c.clock.Now()
		if !slices.Equal(changed, []string{"inversion-table"}) {
			t.Errorf("HYPERTENSION PRESENT changed %v, want [inversion-table]", changed)
		}
		// The same call stored the new state: the next pull shows it.
		plan := c.plan()
		c.wantStates("after HYPERTENSION PRESENT", map[string]hep.ItemState{"cat-cow": hep.ItemActive, "inversion-table": hep.ItemSuspended, "traction-machine": hep.ItemActive})
		c.wantGated("after HYPERTENSION PRESENT")
		for i, it := range plan.Items {
			wantTime := written.CreateTime
			if it.Spec.ExerciseID == "inversion-table" {
				wantTime = now
			}
			if !norm(it.StateTime).Equal(norm(wantTime)) {
				t.Errorf("item %d (%s) state time %v, want %v", i, it.Spec.ExerciseID, it.StateTime, wantTime)
			}
		}
		cat, live := c.catalog(), c.liveClearances()
		gate := hep.Gate(cat["inversion-table"], sc, live)
		if gate.Outcome != hep.OutcomeContraindicated {
			t.Fatalf("the gate says %s for inversion-table with HYPERTENSION", gate.Outcome)
		}
		if len(decisions) != 1 {
			t.Fatalf("RecordScreening kept %d decisions, want 1: %+v", len(decisions), decisions)
		}
		wantDecision(t, "SCREENING_CHANGED", decisions[0], hep.GatingDecision{
			PatientID: p, PlanVersion: 1, Decision: gate, Cause: hep.CauseScreeningChanged,
			PreviousState: hep.ItemActive, NewState: hep.ItemSuspended,
			ScreeningAnswerIDs: []string{sc[hep.FlagHypertension].ID}, ActorID: c.device.ID, DecideTime: now,
		})
		alerts := c.alerts()
		if len(alerts) != alertsBefore+1 {
			t.Fatalf("RecordScreening raised %d alerts, want 1", len(alerts)-alertsBefore)
		}
		want := *hep.ScreeningAlert(p, hep.SourcePatientReported, in,
			[]hep.ItemChange{{Index: 1, Old: hep.ItemActive, New: hep.ItemSuspended}}, plan.Items)
		want = firstOccurrence(want, alerts[0], now)
		if got := normAlert(alerts[0]); got != want {
			t.Errorf("screening alert:\n got  %+v\n want %+v", got, want)
		}

		// An answer that changes no item changes nothing else either.
		c.clock.Advance(time.Minute)
		decisions = c.newDecisions(func() {
			if changed := c.screen(ans(hep.FlagHypertension, hep.StatusPresent), ans(hep.FlagSpinalMetalImplant, hep.StatusAbsent)); len(changed) != 0 {
				t.Errorf("repeating answers changed %v", changed)
			}
		})
		if len(decisions) != 0 || len(c.alerts()) != alertsBefore+1 {
			t.Errorf("repeating answers kept %d decisions and raised %d alerts, want none", len(decisions), len(c.alerts())-alertsBefore-1)
		}

		// Several items in one call: SPINAL_FRACTURE suspends the three.
		c.clock.Advance(time.Minute)
		decisions = c.newDecisions(func() {
			changed := c.screen(ans(hep.FlagSpinalFracture, hep.StatusPresent))
			if !slices.Equal(changed, []string{"cat-cow", "traction-machine"}) {
				t.Errorf("SPINAL_FRACTURE PRESENT changed %v, want [cat-cow traction-machine] (inversion-table was already suspended)", changed)
			}
		})
		if len(decisions) != 2 {
			t.Errorf("SPINAL_FRACTURE PRESENT kept %d decisions, want 2", len(decisions))
		}
		c.wantGated("after SPINAL_FRACTURE PRESENT")
	})

	t.Run("ClearanceEndsWithItsFlag", func(t *testing.T) {
		c := newClinic(t, open)
		c.screen(allAbsent()...)
		c.setPlan("cat-cow", "childs-pose")
		if changed := c.screen(ans(hep.FlagPregnancy, hep.StatusPresent)); !slices.Equal(changed, []string{"cat-cow", "childs-pose"}) {
			t.Errorf("PREGNANCY PRESENT changed %v", changed)
		}
		c.clock.Advance(time.Minute)
		cl, changed := c.clear("cat-cow", hep.FlagPregnancy)
		if !slices.Equal(changed, []string{"cat-cow"}) {
			t.Errorf("clearing cat-cow changed %v, want [cat-cow]", changed)
		}
		c.wantStates("cleared", map[string]hep.ItemState{"cat-cow": hep.ItemActive, "childs-pose": hep.ItemSuspended})

		// The same status again: the clearance holds.
		c.clock.Advance(time.Minute)
		c.screen(ans(hep.FlagPregnancy, hep.StatusPresent))
		if live := c.liveClearances(); len(live) != 1 || live[0].ID != cl.ID {
			t.Errorf("after the same answer, live clearances %+v; want the pregnancy clearance", live)
		}

		// A changed status ends it, in the same call that re-gates.
		c.clock.Advance(time.Minute)
		ended := c.clock.Now()
		if changed := c.screen(ans(hep.FlagPregnancy, hep.StatusUnknown)); !slices.Equal(changed, []string{"cat-cow"}) {
			t.Errorf("PREGNANCY UNKNOWN changed %v, want [cat-cow]", changed)
		}
		all, err := c.store.ListClearances(c.ctx(), c.patient.ID)
		if err != nil || len(all) != 1 {
			t.Fatalf("ListClearances = %+v, %v", all, err)
		}
		want := normClearance(cl)
		want.EndTime = ended
		if got := normClearance(all[0]); got != want {
			t.Errorf("ended clearance:\n got  %+v\n want %+v", got, want)
		}
		c.wantStates("PREGNANCY UNKNOWN", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended, "childs-pose": hep.ItemSuspended})
		c.wantGated("PREGNANCY UNKNOWN") // childs-pose's reason changed from clearance to screening

		// Back to PRESENT: the ended clearance does not come back.
		c.screen(ans(hep.FlagPregnancy, hep.StatusPresent))
		c.wantStates("PREGNANCY PRESENT again", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended, "childs-pose": hep.ItemSuspended})
		c.wantGated("PREGNANCY PRESENT again")

		if changed := c.screen(ans(hep.FlagPregnancy, hep.StatusAbsent)); !slices.Equal(changed, []string{"cat-cow", "childs-pose"}) {
			t.Errorf("PREGNANCY ABSENT changed %v, want both", changed)
		}
		c.wantStates("PREGNANCY ABSENT", map[string]hep.ItemState{"cat-cow": hep.ItemActive, "childs-pose": hep.ItemActive})
	})

	t.Run("LiftingFollowsTheGate", func(t *testing.T) {
		// Lifting one condition re-activates an item only if nothing else
		// blocks it.
		c := newClinic(t, open)
		c.screen(allAbsent()...)
		c.clear("inversion-table", hep.FlagNone)
		c.setPlan("cat-cow", "inversion-table", "bar-hang")
		c.screen(ans(hep.FlagPregnancy, hep.StatusPresent))
		c.screen(ans(hep.FlagOsteoporosis, hep.StatusUnknown))
		c.wantGated("two conditions")
		c.clear("bar-hang", hep.FlagPregnancy)
		c.wantStates("two conditions, one cleared", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended, "inversion-table": hep.ItemSuspended, "bar-hang": hep.ItemSuspended})

		c.clock.Advance(time.Minute)
		var changed []string
		decisions := c.newDecisions(func() { changed = c.screen(ans(hep.FlagPregnancy, hep.StatusAbsent)) })
		if len(changed) != 0 || len(decisions) != 0 {
			t.Errorf("lifting PREGNANCY while OSTEOPOROSIS is unknown changed %v (decisions %+v); want nothing", changed, decisions)
		}
		c.wantStates("PREGNANCY lifted", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended, "inversion-table": hep.ItemSuspended, "bar-hang": hep.ItemSuspended})
		// The stored reasons follow the gate although the state stays.
		c.wantGated("PREGNANCY lifted")
		for _, it := range c.plan().Items {
			for _, r := range it.StateReasons {
				if r.Flag == hep.FlagPregnancy {
					t.Errorf("%s is still suspended for PREGNANCY after it was lifted: %+v", it.Spec.ExerciseID, it.StateReasons)
				}
			}
		}

		c.clock.Advance(time.Minute)
		decisions = c.newDecisions(func() { changed = c.screen(ans(hep.FlagOsteoporosis, hep.StatusAbsent)) })
		if !slices.Equal(changed, []string{"cat-cow", "inversion-table", "bar-hang"}) {
			t.Errorf("lifting OSTEOPOROSIS changed %v, want every item", changed)
		}
		for _, d := range decisions {
			if d.PreviousState != hep.ItemSuspended || d.NewState != hep.ItemActive || d.Decision.Outcome != hep.OutcomeAllowed ||
				d.Cause != hep.CauseScreeningChanged {
				t.Errorf("re-activation decision %+v", d)
			}
		}
		c.wantGated("all lifted")
	})
}

// wantScreening compares screenings, times normalized.
func wantScreening(t *testing.T, what string, got, want hep.Screening) {
	t.Helper()
	norm := hep.Screening{}
	for f, a := range got {
		if a.ID == "" {
			t.Errorf("%s: answer for %s has no id", what, f)
		}
		norm[f] = normAnswer(a)
	}
	if !reflect.DeepEqual(norm, want) {
		t.Errorf("%s: screening\n got  %+v\n want %+v", what, norm, want)
	}
}
