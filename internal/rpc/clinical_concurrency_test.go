package rpc

import (
	"math/rand/v2"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestSetPlanCompareAndSet: two care-team clinicians writing over the same
// version at once: exactly one wins, the other gets ABORTED
// (VERSION_MISMATCH), every round.
func TestSetPlanCompareAndSet(t *testing.T) {
	e := newEnv(t)
	if _, err := e.patients.AddCareTeamMember(e.as(callerAdmin), &hepv1.AddCareTeamMemberRequest{PatientId: e.patientA, ClinicianId: e.clinBID}); err != nil {
		t.Fatal(err)
	}
	e.screenAll(callerClinA, e.patientA, absent)
	const rounds = 20
	for round := 0; round < rounds; round++ {
		v := e.plan(callerClinA, e.patientA).Version
		if v != int64(round) {
			t.Fatalf("round %d: version %d", round, v)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, caller := range []string{callerClinA, callerClinB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				items := []*hepv1.PlanItemSpec{item(catCow)}
				if i == 1 {
					items = append(items, item(childsPose))
				}
				_, errs[i] = e.plans.SetPlan(e.as(caller), &hepv1.SetPlanRequest{PatientId: e.patientA, ExpectedVersion: v, Items: items})
			}()
		}
		wg.Wait()
		var ok, aborted int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case status.Code(err) == codes.Aborted && reasonOf(err) == hep.ReasonVersionMismatch:
				aborted++
			default:
				t.Errorf("round %d: %v", round, err)
			}
		}
		if ok != 1 || aborted != 1 {
			t.Fatalf("round %d: %d OK, %d ABORTED", round, ok, aborted)
		}
	}
	if v := e.plan(callerClinB, e.patientA).Version; v != rounds {
		t.Errorf("final version %d, want %d", v, rounds)
	}
}

// TestGateStress: many goroutines change screening (clinicians and the
// patient's device), plans, clearances and red-flag holds at once. Whatever
// the interleaving, the stored plan ends exactly as the gate says for the
// stored screening and clearances: no ACTIVE item the gate blocks, no
// SUSPENDED item it allows.
func TestGateStress(t *testing.T) {
	e := newEnv(t)
	if _, err := e.patients.AddCareTeamMember(e.as(callerAdmin), &hepv1.AddCareTeamMemberRequest{PatientId: e.patientA, ClinicianId: e.clinBID}); err != nil {
		t.Fatal(err)
	}
	e.screenAll(callerClinA, e.patientA, absent)
	if _, err := e.clear(callerClinA, e.patientA, inversionTable, noFlag); err != nil {
		t.Fatal(err)
	}
	if _, err := e.setPlan(callerClinA, e.patientA, item(catCow), item(inversionTable)); err != nil {
		t.Fatal(err)
	}

	const workers, ops = 8, 40
	exercises := []string{catCow, childsPose, inversionTable, tractionDevice}
	flags := []hepv1.ScreeningFlag{pregnancy, osteoporosis, hypertension, fracture}
	clinicians := []string{callerClinA, callerClinB}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			clin := clinicians[w%2]
			for op := 0; op < ops; op++ {
				var err error
				var what string
				allowed := map[codes.Code]bool{codes.OK: true}
				switch k := rng.IntN(10); {
				case k < 4:
					what = "screen"
					caller := clin
					if rng.IntN(2) == 0 {
						caller = callerPatientA
					}
					var as []*hepv1.ScreeningAnswerInput
					for _, i := range rng.Perm(len(flags))[:1+rng.IntN(2)] {
						st := absent
						if rng.IntN(3) == 0 {
							st = present
						}
						as = append(as, &hepv1.ScreeningAnswerInput{Flag: flags[i], Status: st})
					}
					_, err = e.screening.RecordScreeningAnswers(e.as(caller), &hepv1.RecordScreeningAnswersRequest{PatientId: e.patientA, Answers: as})
				case k < 6:
					what = "set"
					allowed[codes.Aborted], allowed[codes.FailedPrecondition] = true, true
					var items []*hepv1.PlanItemSpec
					for _, i := range rng.Perm(len(exercises))[:1+rng.IntN(3)] {
						items = append(items, item(exercises[i]))
					}
					var r *hepv1.GetPlanResponse
					if r, err = e.plans.GetPlan(e.as(clin), &hepv1.GetPlanRequest{PatientId: e.patientA}); err == nil {
						_, err = e.plans.SetPlan(e.as(clin), &hepv1.SetPlanRequest{PatientId: e.patientA, ExpectedVersion: r.Plan.Version, Items: items})
					}
				case k < 9:
					what = "clear"
					allowed[codes.FailedPrecondition], allowed[codes.AlreadyExists] = true, true
					f := noFlag
					if rng.IntN(3) > 0 {
						f = flags[rng.IntN(2)] // pregnancy or osteoporosis: NEEDS_CLEARANCE for exercises
					}
					_, err = e.clear(clin, e.patientA, exercises[rng.IntN(len(exercises))], f)
				default:
					what = "red flag"
					if rng.IntN(2) == 0 {
						_, err = e.screening.ReportRedFlags(e.as(callerPatientA), &hepv1.ReportRedFlagsRequest{
							Symptoms: []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_FEVER_WITH_BACK_PAIN}})
						break
					}
					what = "acknowledge"
					allowed[codes.FailedPrecondition] = true // another worker acknowledged it first
					var r *hepv1.ListAlertsResponse
					if r, err = e.alerts.ListAlerts(e.as(clin), &hepv1.ListAlertsRequest{PatientId: e.patientA, Status: hepv1.AlertStatus_ALERT_STATUS_OPEN}); err == nil {
						for _, a := range r.Alerts {
							if a.Kind == hepv1.AlertKind_ALERT_KIND_RED_FLAG {
								_, err = e.alerts.AcknowledgeAlert(e.as(clin), &hepv1.AcknowledgeAlertRequest{PatientId: e.patientA, AlertId: a.Id, Note: "reviewed"})
								break
							}
						}
					}
				}
				code := status.Code(err)
				if !allowed[code] {
					t.Errorf("%s: %v", what, err)
				}
				mu.Lock()
				counts[what+" "+code.String()]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("outcomes: %v", counts)

	// The plan may end on hold or not: either way it matches the gate.
	p := e.plan(callerClinA, e.patientA)
	sc, err := e.screening.GetScreening(e.as(callerClinA), &hepv1.GetScreeningRequest{PatientId: e.patientA})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := e.plans.ListClearances(e.as(callerClinA), &hepv1.ListClearancesRequest{PatientId: e.patientA})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := e.catalog.ListExercises(e.as(callerClinA), &hepv1.ListExercisesRequest{IncludeRetired: true})
	if err != nil {
		t.Fatal(err)
	}
	checkPlanMatchesGate(t, p, screeningFromProto(sc.Current), clearancesFromProto(cls.Clearances), catalogFromProto(cat.Exercises))

	// Clearances are consistent with the screening: a live clearance for a
	// flag is only ever for a flag currently PRESENT (the answer that ended
	// it would otherwise have ended it).
	live := map[[2]string]int{}
	for _, c := range clearancesFromProto(cls.Clearances) {
		if !c.Live() {
			continue
		}
		live[[2]string{c.ExerciseID, string(c.Flag)}]++
		if c.Flag != hep.FlagNone && screeningFromProto(sc.Current).Status(c.Flag) != hep.StatusPresent {
			t.Errorf("live clearance %v for a flag that is %s", c, screeningFromProto(sc.Current).Status(c.Flag))
		}
	}
	for k, n := range live {
		if n > 1 {
			t.Errorf("%d live clearances for %v", n, k)
		}
	}
}

// checkPlanMatchesGate: every item's state is hep.StateFor(hep.Gate(...)),
// and no ACTIVE item has a blocking reason.
func checkPlanMatchesGate(t *testing.T, p *hepv1.Plan, sc hep.Screening, cls []hep.Clearance, cat hep.Catalog) {
	t.Helper()
	for _, it := range p.Items {
		id := it.Spec.ExerciseId
		d := hep.Gate(cat[id], sc, cls)
		want, reasons := hep.StateFor(d, p.RedFlagHold)
		if it.State != itemStateToProto[want] {
			t.Errorf("%s: state %v, gate says %s (hold %v, decision %+v)", id, it.State, want, p.RedFlagHold, d)
			continue
		}
		if it.State == active && (len(d.Blocking()) > 0 || p.RedFlagHold) {
			t.Errorf("%s: ACTIVE with blocking decision %+v", id, d)
		}
		if len(it.StateReasons) != len(reasons) {
			t.Errorf("%s: %d state reasons, gate gives %d", id, len(it.StateReasons), len(reasons))
			continue
		}
		for i, r := range reasons {
			got := it.StateReasons[i]
			if got.Flag != flagToProto[r.Flag] || got.Outcome != outcomeToProto[r.Outcome] || got.RedFlagHold != r.RedFlagHold {
				t.Errorf("%s: reason %d = %v, gate gives %+v", id, i, got, r)
			}
		}
	}
}
