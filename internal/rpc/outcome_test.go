package rpc

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var (
	kindQuestionnaires = hepv1.RecordKind_RECORD_KIND_QUESTIONNAIRES
	kindResponse       = hepv1.RecordKind_RECORD_KIND_QUESTIONNAIRE_RESPONSE
)

// psfsResponse answers the PSFS for a slot with the given ratings.
func psfsResponse(id, assignment string, slot hep.Date, ratings ...int32) *hepv1.QuestionnaireResponse {
	r := &hepv1.QuestionnaireResponse{Id: id, AssignmentId: assignment, SlotDate: dateToProto(slot), AuthoredTime: timestamppb.Now()}
	for i, x := range ratings {
		n := string(rune('1' + i))
		v := x
		r.Answers = append(r.Answers, &hepv1.QuestionnaireAnswer{LinkId: "activity-" + n + "-name", Text: "an activity"},
			&hepv1.QuestionnaireAnswer{LinkId: "activity-" + n + "-rating", Value: &v})
	}
	return r
}

// odiText is the built-in ODI with the option displays replaced by a
// clinic's (stand-in) licensed statements, prefixed by prefix.
func odiText(prefix string) string {
	in, _ := hep.LookupInstrument(hep.InstrumentODI)
	return strings.ReplaceAll(string(in.Raw), `"display": "Statement `, `"display": "`+prefix+` `)
}

func responseMutation(r *hepv1.QuestionnaireResponse) *hepv1.Mutation {
	return &hepv1.Mutation{Change: &hepv1.Mutation_Response{Response: r}}
}

// TestOutcomesOverGRPC drives outcome questionnaires end to end over the
// real server and store: a clinician assigns the PSFS every two weeks, the
// phone pulls the assignment, answers the baseline twice (the second
// supersedes), answers the next slot two weeks later, and the clinician
// sees the change against the MCID in progress, the responses listed and
// the next slot overdue when it is missed.
func TestOutcomesOverGRPC(t *testing.T) {
	clock := &testClock{}
	e := newEnv(t, withClock(clock.now))
	oc := hepv1.NewOutcomeServiceClient(e.conn)
	clin := e.as(callerClinA)
	today := hep.DateOf(clock.now(), lisbon)

	ins, err := oc.ListInstruments(clin, &hepv1.ListInstrumentsRequest{})
	if err != nil || len(ins.Instruments) != 2 || ins.Instruments[1].Id != "psfs" || ins.Instruments[1].QuestionnaireJson == "" {
		t.Fatalf("ListInstruments: %v %v", ins, err)
	}

	// Bad input is refused and changes nothing.
	before, _ := e.snapshot()
	for _, c := range []struct {
		req   *hepv1.AssignQuestionnaireRequest
		code  codes.Code
		field string
	}{
		{&hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "sf-36"}, codes.InvalidArgument, "instrument_id"},
		{&hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "psfs", EveryWeeks: 53}, codes.InvalidArgument, "every_weeks"},
		{&hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "psfs", StartDate: &hepv1.Date{Year: 2026, Month: 2, Day: 30}}, codes.InvalidArgument, "start_date"},
		{&hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "psfs", VisitDates: []*hepv1.Date{dateToProto(today.AddDays(-1))}}, codes.InvalidArgument, "visit_dates[0]"},
		{&hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "odi"}, codes.FailedPrecondition, ""},
	} {
		_, err := oc.AssignQuestionnaire(clin, c.req)
		if status.Code(err) != c.code || (c.field != "" && !violationMentions(err, c.field)) {
			t.Errorf("AssignQuestionnaire(%v): %v, want %v on %s", c.req, err, c.code, c.field)
		}
	}
	if after, _ := e.snapshot(); after != before {
		t.Fatal("a refused assignment changed data")
	}

	ar, err := oc.AssignQuestionnaire(clin, &hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "psfs", EveryWeeks: 2})
	if err != nil {
		t.Fatal(err)
	}
	a := ar.Assignment
	if dateFromProto(a.StartDate) != today || a.CreatedBy != e.clinAID {
		t.Fatalf("assignment %v", a)
	}
	if _, err := oc.AssignQuestionnaire(clin, &hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "psfs"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a second active PSFS: %v", err)
	}
	// Patient B's assignment, for the cross-patient push below.
	br, err := oc.AssignQuestionnaire(e.as(callerClinB), &hepv1.AssignQuestionnaireRequest{PatientId: e.patientB, InstrumentId: "psfs"})
	if err != nil {
		t.Fatal(err)
	}

	ph := e.phone(callerPatientA, e.deviceA)
	ph.pull(100)
	if _, ok := ph.records[recordKey(kindQuestionnaires, hep.CurrentID)]; !ok {
		t.Fatalf("the phone has no questionnaires record: %v", ph.records)
	}
	snap := pullRecord(t, e, kindQuestionnaires, hep.CurrentID).GetQuestionnaires()
	if len(snap.Assignments) != 1 || snap.Assignments[0].Id != a.Id || len(snap.Instruments) != 1 || snap.TimeZone != "Europe/Lisbon" {
		t.Fatalf("questionnaires snapshot %v", snap)
	}

	first, second := newID(), newID()
	res := ph.push(
		responseMutation(psfsResponse(first, a.Id, today, 3, 4, 2)),
		responseMutation(psfsResponse(newID(), a.Id, today, 3, 4, 11)),            // rating out of range
		responseMutation(psfsResponse(newID(), a.Id, today.AddDays(1), 3, 4, 2)),  // not a slot
		responseMutation(psfsResponse(newID(), a.Id, today.AddDays(14), 3, 4, 2)), // a slot, not due yet
		responseMutation(psfsResponse(newID(), br.Assignment.Id, today, 3, 4, 2)), // patient B's
		responseMutation(psfsResponse(newID(), newID(), today, 3, 4, 2)),          // nobody's
		responseMutation(psfsResponse(first, a.Id, today, 3, 4, 5)),               // id reused
		responseMutation(psfsResponse(newID(), a.Id, today, 3, 4)),                // two activities
	)
	want := []struct {
		status hepv1.MutationStatus
		field  string
	}{{applied, ""}, {rejected, "response.answers[5].value"}, {rejected, "response.slot_date"}, {rejected, "response.slot_date"},
		{rejected, "response.assignment_id"}, {rejected, "response.assignment_id"}, {rejected, "response.id"}, {rejected, "response.answers"}}
	for i, w := range want {
		if r := res.Results[i]; r.Status != w.status || r.Field != w.field {
			t.Errorf("mutation %d: %v %s (%s), want %v %s", i, r.Status, r.Field, r.Reason, w.status, w.field)
		}
	}
	if res.Results[4].Reason != res.Results[5].Reason {
		t.Errorf("another patient's assignment reads differently from none: %q, %q", res.Results[4].Reason, res.Results[5].Reason)
	}
	// The baseline answered again supersedes the first answer.
	ph.pushOK(responseMutation(psfsResponse(second, a.Id, today, 3, 4, 3)))
	last := ph.pull(100)
	if _, ok := ph.records[recordKey(kindResponse, first)]; ok {
		t.Error("the superseded response is still on the phone")
	}
	if _, ok := ph.records[recordKey(kindResponse, second)]; !ok {
		t.Error("the phone lacks the new response")
	}
	if last.RecordsHash != ph.hash() {
		t.Errorf("phone hash %s, server %s", ph.hash(), last.RecordsHash)
	}
	got := pullRecord(t, e, kindResponse, second).GetResponse()
	if got.Supersedes != first || got.GetScore() != 3.33 || got.InstrumentId != "psfs" {
		t.Errorf("pulled response %v", got)
	}

	// Two weeks on, the second slot; then progress shows the change.
	clock.advance(14 * 24 * time.Hour)
	e.reauth()
	clin = e.as(callerClinA)
	slot2 := today.AddDays(14)
	ph.pushOK(responseMutation(psfsResponse(newID(), a.Id, slot2, 5, 6, 6)))
	pr, err := e.review.GetProgress(clin, &hepv1.GetProgressRequest{PatientId: e.patientA})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Progress.Outcomes) != 1 {
		t.Fatalf("outcomes %v", pr.Progress.Outcomes)
	}
	o := pr.Progress.Outcomes[0]
	if o.GetBaseline() != 3.33 || o.GetLatest() != 5.67 || o.Delta != 2.34 || o.Change != hepv1.OutcomeChange_OUTCOME_CHANGE_IMPROVED ||
		len(o.Points) != 2 || o.McidPoints != 2 || !o.HigherIsBetter || len(o.Overdue) != 0 {
		t.Errorf("series %v", o)
	}

	// The clinician lists the live responses, newest slot first, a page
	// at a time.
	l1, err := oc.ListQuestionnaireResponses(clin, &hepv1.ListQuestionnaireResponsesRequest{PatientId: e.patientA, PageSize: 1})
	if err != nil || len(l1.Responses) != 1 || dateFromProto(l1.Responses[0].SlotDate) != slot2 || l1.NextPageToken == "" {
		t.Fatalf("page 1: %v %v", l1, err)
	}
	l2, err := oc.ListQuestionnaireResponses(clin, &hepv1.ListQuestionnaireResponsesRequest{PatientId: e.patientA, PageSize: 1, PageToken: l1.NextPageToken})
	if err != nil || len(l2.Responses) != 1 || l2.Responses[0].Id != second || l2.NextPageToken != "" {
		t.Fatalf("page 2: %v %v", l2, err)
	}
	if _, err := oc.ListQuestionnaireResponses(clin, &hepv1.ListQuestionnaireResponsesRequest{PatientId: e.patientA, AssignmentId: a.Id, PageToken: l1.NextPageToken}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a token of another filter: %v", err)
	}

	// The third slot is missed: three days after it is due it is overdue.
	clock.advance(17 * 24 * time.Hour)
	e.reauth()
	clin = e.as(callerClinA)
	la, err := oc.ListAssignments(clin, &hepv1.ListAssignmentsRequest{PatientId: e.patientA})
	if err != nil || len(la.Assignments) != 1 {
		t.Fatalf("ListAssignments: %v %v", la, err)
	}
	if ov := la.Assignments[0].Overdue; len(ov) != 1 || dateFromProto(ov[0].DueDate) != today.AddDays(28) || ov[0].SlotId != a.Id+"/"+today.AddDays(28).String() {
		t.Errorf("overdue %v", ov)
	}
	if nd := la.Assignments[0].NextDue; nd == nil || dateFromProto(nd.DueDate) != today.AddDays(42) {
		t.Errorf("next due %v", nd)
	}

	// Ending it: the phone's record empties, and nothing after is due.
	if _, err := oc.EndAssignment(clin, &hepv1.EndAssignmentRequest{PatientId: e.patientA, AssignmentId: a.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.EndAssignment(clin, &hepv1.EndAssignmentRequest{PatientId: e.patientA, AssignmentId: a.Id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("ending twice: %v", err)
	}
	if _, err := oc.EndAssignment(clin, &hepv1.EndAssignmentRequest{PatientId: e.patientA, AssignmentId: br.Assignment.Id}); status.Code(err) != codes.NotFound {
		t.Errorf("ending patient B's assignment as patient A's: %v", err)
	}
	if _, err := oc.EndAssignment(clin, &hepv1.EndAssignmentRequest{PatientId: e.patientA, AssignmentId: "x"}); !violationMentions(err, "assignment_id") {
		t.Errorf("a bad assignment id: %v", err)
	}
	if s := pullRecord(t, e, kindQuestionnaires, hep.CurrentID).GetQuestionnaires(); len(s.Assignments) != 0 {
		t.Errorf("an ended assignment is still on the phone: %v", s)
	}
	// The missed slot (due before the end) may still be answered late.
	ph.pushOK(responseMutation(psfsResponse(newID(), a.Id, today.AddDays(28), 6, 6, 6)))
	if la, _ := oc.ListAssignments(clin, &hepv1.ListAssignmentsRequest{PatientId: e.patientA, IncludeEnded: true}); len(la.GetAssignments()) != 1 ||
		la.Assignments[0].EndTime == nil || len(la.Assignments[0].Overdue) != 0 || la.Assignments[0].NextDue != nil {
		t.Errorf("ended assignment listed as %v", la)
	}
	if la, _ := oc.ListAssignments(clin, &hepv1.ListAssignmentsRequest{PatientId: e.patientA}); len(la.GetAssignments()) != 0 {
		t.Errorf("ended assignment listed without include_ended: %v", la)
	}
}

// pullRecord pulls patient A from scratch on a fresh cursor and returns
// the record of that kind and id.
func pullRecord(t *testing.T, e *env, kind hepv1.RecordKind, id string) *hepv1.Record {
	t.Helper()
	resp, err := e.sync.Pull(e.as(callerPatientA), &hepv1.PullRequest{DeviceId: e.deviceA, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Changes {
		if u := c.GetUpsert(); u != nil && u.Kind == kind && u.Id == id {
			return u
		}
	}
	t.Fatalf("no %v %s in the pull", kind, id)
	return nil
}

// TestODIImportOverGRPC: the ODI cannot be assigned until an admin imports
// the clinic's licensed text; the import must keep the built-in structure;
// then the phone gets the clinic's text and its answers, one section
// skipped, are scored by the ODI's rule.
func TestODIImportOverGRPC(t *testing.T) {
	e := newEnv(t)
	oc := hepv1.NewOutcomeServiceClient(e.conn)
	admin, clin := e.as(callerAdmin), e.as(callerClinA)
	if _, err := oc.AssignQuestionnaire(clin, &hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "odi"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("ODI before the import: %v", err)
	}
	before, _ := e.snapshot()
	odi, _ := hep.LookupInstrument(hep.InstrumentODI)
	psfs, _ := hep.LookupInstrument(hep.InstrumentPSFS)
	for name, c := range map[string]struct {
		doc  string
		code codes.Code
	}{
		"not JSON":            {"{", codes.InvalidArgument},
		"an option's value":   {strings.Replace(odiText("Ours"), `"valueDecimal": 5`, `"valueDecimal": 6`, 1), codes.InvalidArgument},
		"a section less":      {strings.Replace(odiText("Ours"), `"linkId": "section-10"`, `"linkId": "section-11"`, 1), codes.InvalidArgument},
		"another MCID":        {strings.Replace(odiText("Ours"), `"valueDecimal": 10`, `"valueDecimal": 5`, 1), codes.InvalidArgument},
		"an unknown id":       {strings.Replace(odiText("Ours"), `"id": "odi"`, `"id": "sf-36"`, 1), codes.InvalidArgument},
		"the PSFS (ships)":    {string(psfs.Raw), codes.FailedPrecondition},
		"larger than 256 KiB": {strings.Replace(odiText("Ours"), `"description": "`, `"description": "`+strings.Repeat("x", 300<<10), 1), codes.InvalidArgument},
	} {
		_, err := oc.ImportInstrumentText(admin, &hepv1.ImportInstrumentTextRequest{QuestionnaireJson: c.doc})
		if status.Code(err) != c.code || (c.code == codes.InvalidArgument && !violationMentions(err, "questionnaire_json")) {
			t.Errorf("%s: %v, want %v", name, err, c.code)
		}
	}
	if after, _ := e.snapshot(); after != before {
		t.Fatal("a refused import changed data")
	}
	if !strings.Contains(string(odi.Raw), `"display": "Statement 0"`) {
		t.Fatal("the built-in ODI changed")
	}
	imp, err := oc.ImportInstrumentText(admin, &hepv1.ImportInstrumentTextRequest{QuestionnaireJson: odiText("Clinic statement")})
	if err != nil || !imp.Instrument.TextImported || !strings.Contains(imp.Instrument.QuestionnaireJson, "Clinic statement 3") {
		t.Fatalf("import: %v %v", imp, err)
	}
	list, err := oc.ListInstruments(clin, &hepv1.ListInstrumentsRequest{})
	if err != nil || !list.Instruments[0].TextImported || list.Instruments[1].TextImported {
		t.Fatalf("instruments after the import: %v %v", list, err)
	}
	ar, err := oc.AssignQuestionnaire(clin, &hepv1.AssignQuestionnaireRequest{PatientId: e.patientA, InstrumentId: "odi"})
	if err != nil {
		t.Fatal(err)
	}
	snap := pullRecord(t, e, kindQuestionnaires, hep.CurrentID).GetQuestionnaires()
	if len(snap.Instruments) != 1 || !strings.Contains(snap.Instruments[0].QuestionnaireJson, "Clinic statement 5") {
		t.Fatalf("the phone's instrument: %v", snap.Instruments)
	}
	r := &hepv1.QuestionnaireResponse{Id: newID(), AssignmentId: ar.Assignment.Id, SlotDate: ar.Assignment.StartDate, AuthoredTime: timestamppb.Now()}
	for i, v := range []int32{2, 1, 2, 2, 2, 2, 2, -1, 2, 1} {
		a := &hepv1.QuestionnaireAnswer{LinkId: "section-" + strconv.Itoa(i+1)}
		if v < 0 {
			a.Skipped = true
		} else {
			a.Value = &v
		}
		r.Answers = append(r.Answers, a)
	}
	e.phone(callerPatientA, e.deviceA).pushOK(responseMutation(r))
	got := pullRecord(t, e, kindResponse, r.Id).GetResponse()
	if got.Score == nil || got.GetScore() != 35.5 {
		t.Errorf("ODI score %v, want 35.5 (16 of 45)", got.Score)
	}
}
