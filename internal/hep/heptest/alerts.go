package heptest

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func testAlerts(t *testing.T, open OpenFunc) {
	t.Run("RedFlagHold", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		c.screen(allAbsent()...)
		c.clear("inversion-table", hep.FlagNone)
		c.setPlan("cat-cow", "childs-pose", "inversion-table")
		c.screen(ans(hep.FlagHypertension, hep.StatusPresent)) // inversion-table: SUSPENDED by the gate
		screeningAlert := c.alerts()[0]

		// A red-flag report suspends everything, at once.
		c.clock.Advance(time.Hour)
		ctx, actor := c.phone("screening.report_red_flags")
		symptoms := []hep.RedFlag{hep.RedFlagSaddleNumbness, hep.RedFlagProgressiveWeakness}
		var first hep.Alert
		var decisions []hep.GatingDecision
		events := c.audited(func() {
			decisions = c.newDecisions(func() {
				var err error
				if first, err = c.store.ReportRedFlags(ctx, p, symptoms, "can't feel the saddle area"); err != nil {
					t.Fatalf("ReportRedFlags: %v", err)
				}
			})
		})
		if len(events) != 3 {
			t.Errorf("ReportRedFlags: %d audit events around it, want 1 (and 2 trail reads)", len(events))
		} else {
			c.wantEvent("ReportRedFlags", notFixture(events), actor, p, resAlert(p, first.ID), hep.OutcomeOK)
		}
		reported := c.clock.Now()
		want := firstOccurrence(hep.RedFlagAlert(p, "", symptoms), first, reported)
		if first.ID == "" || normAlert(first) != want || want.Severity != hep.AlertUrgent {
			t.Errorf("ReportRedFlags:\n got  %+v\n want %+v", first, want)
		}
		if got := c.alerts(); len(got) != 2 || normAlert(got[0]) != want {
			t.Errorf("ListAlerts after the report = %+v; want the red-flag alert first", got)
		}
		plan := c.plan()
		if !plan.RedFlagHold {
			t.Errorf("plan not on hold after a red-flag report")
		}
		for _, it := range plan.Items {
			if it.State != hep.ItemSuspended || len(it.StateReasons) == 0 || !it.StateReasons[0].RedFlagHold {
				t.Errorf("on hold, item %s is %s %+v; want SUSPENDED, the hold first", it.Spec.ExerciseID, it.State, it.StateReasons)
			}
		}
		c.wantGated("on hold")
		// One decision per item the hold changed (inversion-table was
		// suspended already).
		sc, live, cat := c.screening(), c.liveClearances(), c.catalog()
		if len(decisions) != 2 {
			t.Fatalf("ReportRedFlags kept %d decisions, want 2", len(decisions))
		}
		for i, id := range []string{"cat-cow", "childs-pose"} {
			d := hep.Gate(cat[id], sc, live)
			wantDecision(t, "RED_FLAG "+id, decisions[i], hep.GatingDecision{
				PatientID: p, PlanVersion: 1, Decision: d, Cause: hep.CauseRedFlag, PreviousState: hep.ItemActive,
				NewState: hep.ItemSuspended, ScreeningAnswerIDs: sc.AnswerIDs(d.ReasonFlags()), ActorID: c.device.ID, DecideTime: reported,
			})
		}

		// A second report: a second alert, nothing more to suspend.
		c.clock.Advance(time.Minute)
		var second hep.Alert
		decisions = c.newDecisions(func() {
			var err error
			if second, err = c.store.ReportRedFlags(ctx, p, []hep.RedFlag{hep.RedFlagFeverWithBackPain}, ""); err != nil {
				t.Fatal(err)
			}
		})
		if len(decisions) != 0 {
			t.Errorf("a second report kept %d decisions, want 0", len(decisions))
		}
		// Screening changes during the hold change no state.
		for _, st := range []hep.FlagStatus{hep.StatusPresent, hep.StatusAbsent} {
			if changed := c.screen(ans(hep.FlagObesity, st)); len(changed) != 0 {
				t.Errorf("OBESITY %s on hold changed %v", st, changed)
			}
			c.wantGated("screening on hold")
		}

		// Acknowledging: the screening alert does not lift the hold, nor
		// does the first red flag while the second is open.
		ack := func(a hep.Alert, note string, wantChanged []string, wantHold bool) {
			t.Helper()
			c.clock.Advance(time.Minute)
			ctx, actor := c.doctor("alert.acknowledge")
			var got hep.Alert
			var changed []string
			events := c.audited(func() {
				var err error
				if got, changed, err = c.store.AcknowledgeAlert(ctx, p, a.ID, note, 0); err != nil {
					t.Fatalf("AcknowledgeAlert: %v", err)
				}
			})
			c.wantEvent("AcknowledgeAlert", events, actor, p, resAlert(p, a.ID), hep.OutcomeOK)
			want := normAlert(a)
			want.Status, want.AckBy, want.AckNote, want.AckTime = hep.AlertAcknowledged, c.clinician.ID, note, c.clock.Now()
			if normAlert(got) != want {
				t.Errorf("AcknowledgeAlert:\n got  %+v\n want %+v", got, want)
			}
			if !slices.Equal(changed, wantChanged) {
				t.Errorf("acknowledging %s changed %v, want %v", a.Kind, changed, wantChanged)
			}
			if hold := c.plan().RedFlagHold; hold != wantHold {
				t.Errorf("after acknowledging %s the hold is %v, want %v", a.Kind, hold, wantHold)
			}
			c.wantGated("after acknowledging")
		}
		ack(screeningAlert, "seen", nil, true)
		ack(first, "called the patient; sent to A&E", nil, true)
		c.wantStates("one red flag open", map[string]hep.ItemState{"cat-cow": hep.ItemSuspended, "childs-pose": hep.ItemSuspended, "inversion-table": hep.ItemSuspended})

		// The last one lifts it: items go back to what the gate says, and
		// inversion-table stays suspended for HYPERTENSION.
		decisions = c.newDecisions(func() { ack(second, "reviewed: no infection", []string{"cat-cow", "childs-pose"}, false) })
		c.wantStates("hold lifted", map[string]hep.ItemState{"cat-cow": hep.ItemActive, "childs-pose": hep.ItemActive, "inversion-table": hep.ItemSuspended})
		if len(decisions) != 2 {
			t.Fatalf("lifting the hold kept %d decisions, want 2", len(decisions))
		}
		for _, d := range decisions {
			if d.Cause != hep.CauseRedFlag || d.PreviousState != hep.ItemSuspended || d.NewState != hep.ItemActive || d.ActorID != c.clinician.ID {
				t.Errorf("lifting decision %+v; want RED_FLAG SUSPENDED -> ACTIVE by the clinician", d)
			}
		}
		for _, it := range c.plan().Items {
			for _, r := range it.StateReasons {
				if r.RedFlagHold {
					t.Errorf("%s still carries the hold reason: %+v", it.Spec.ExerciseID, it.StateReasons)
				}
			}
		}

		// Refusals.
		other := c.env.patient(c.clinician.ID)
		for _, tt := range []struct {
			name, patient, alert string
			code                 hep.Code
		}{
			{"again", p, second.ID, hep.CodeFailedPrecondition},
			{"another patient's alert", other.ID, first.ID, hep.CodeNotFound},
			{"unknown alert", p, missingID, hep.CodeNotFound},
		} {
			c.notAudited("AcknowledgeAlert("+tt.name+")", func() {
				_, _, err := c.store.AcknowledgeAlert(ctx, tt.patient, tt.alert, "x", 0)
				wantErr(t, "AcknowledgeAlert("+tt.name+")", err, tt.code, "")
			})
		}
		c.notAudited("ReportRedFlags(unknown patient)", func() {
			_, err := c.store.ReportRedFlags(ctx, missingID, symptoms, "")
			wantErr(t, "ReportRedFlags(unknown patient)", err, hep.CodeNotFound, "")
		})
	})

	t.Run("HoldWithoutPlan", func(t *testing.T) {
		c := newClinic(t, open)
		if _, err := c.store.ReportRedFlags(c.ctx(), c.patient.ID, []hep.RedFlag{hep.RedFlagUnexplainedWeight}, ""); err != nil {
			t.Fatal(err)
		}
		want := hep.Plan{PatientID: c.patient.ID, RedFlagHold: true, TimeZone: c.patient.TimeZone}
		if got := c.plan(); !reflect.DeepEqual(normPlan(got), want) {
			t.Errorf("GetPlan on hold without a plan = %+v, want %+v", got, want)
		}
	})

	t.Run("ListPaging", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		other := c.env.patient(c.clinician.ID)
		var all []hep.Alert // newest first
		for i := range 5 {
			c.clock.Advance(time.Minute)
			a, err := c.store.ReportRedFlags(c.ctx(), p, []hep.RedFlag{hep.RedFlags[i]}, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.store.ReportRedFlags(c.ctx(), other.ID, []hep.RedFlag{hep.RedFlags[i]}, ""); err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 {
				if a, _, err = c.store.AcknowledgeAlert(c.ctx(), p, a.ID, "ok", 0); err != nil {
					t.Fatal(err)
				}
			}
			all = append([]hep.Alert{normAlert(a)}, all...)
		}
		for _, status := range []hep.AlertStatus{"", hep.AlertOpen, hep.AlertAcknowledged} {
			var want []hep.Alert
			for _, a := range all {
				if status == "" || a.Status == status {
					want = append(want, a)
				}
			}
			for _, size := range []int{1, 2, 10} {
				var got []hep.Alert
				before := ""
				for pages := 0; pages <= len(want)+1; pages++ {
					ctx, actor := c.doctor("alert.list")
					var page []hep.Alert
					events := c.audited(func() {
						var err error
						if page, err = c.store.ListAlerts(ctx, hep.AlertFilter{PatientID: p, Status: status, Before: before, Limit: size}); err != nil {
							t.Fatal(err)
						}
					})
					c.wantEvent("ListAlerts", events, actor, p, resAlerts(p), hep.OutcomeOK)
					for _, a := range page {
						got = append(got, normAlert(a))
					}
					if len(page) < size {
						break
					}
					before = page[len(page)-1].ID
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("status %q size %d:\n got  %+v\n want %+v", status, size, got, want)
				}
			}
		}
	})

	t.Run("OpenAlertCounts", func(t *testing.T) {
		c := newClinic(t, open)
		p := c.patient.ID
		other := c.env.patient(c.clinician.ID)
		counts := func(what string, want map[hep.AlertKind]int) {
			t.Helper()
			var got map[hep.AlertKind]int
			c.notAudited("OpenAlertCounts", func() {
				var err error
				if got, err = c.store.OpenAlertCounts(t.Context()); err != nil {
					t.Fatalf("OpenAlertCounts: %v", err)
				}
			})
			if !maps.Equal(got, want) {
				t.Errorf("%s: OpenAlertCounts = %v, want %v", what, got, want)
			}
		}
		counts("no alerts", map[hep.AlertKind]int{})

		c.screen(allAbsent()...)
		c.clear("inversion-table", hep.FlagNone)
		c.setPlan("cat-cow", "inversion-table")
		c.screen(ans(hep.FlagHypertension, hep.StatusPresent)) // SCREENING_CHANGED
		mine, err := c.store.ReportRedFlags(c.ctx(), p, []hep.RedFlag{hep.RedFlags[0]}, "")
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := c.store.ReportRedFlags(c.ctx(), other.ID, []hep.RedFlag{hep.RedFlags[1]}, "")
		if err != nil {
			t.Fatal(err)
		}
		counts("three open", map[hep.AlertKind]int{hep.AlertRedFlag: 2, hep.AlertScreeningChanged: 1})

		if _, _, err := c.store.AcknowledgeAlert(c.ctx(), p, mine.ID, "seen", 0); err != nil {
			t.Fatal(err)
		}
		counts("one acknowledged", map[hep.AlertKind]int{hep.AlertRedFlag: 1, hep.AlertScreeningChanged: 1})
		if _, _, err := c.store.AcknowledgeAlert(c.ctx(), other.ID, theirs.ID, "seen", 0); err != nil {
			t.Fatal(err)
		}
		counts("red flags acknowledged", map[hep.AlertKind]int{hep.AlertScreeningChanged: 1})
	})
}
