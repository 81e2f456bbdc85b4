package rpc

import (
	"context"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type outcomeService struct {
	hepv1.UnimplementedOutcomeServiceServer
	s *Server
}

var scoringToProto = map[hep.ScoringRule]hepv1.ScoringRule{
	hep.ScoringMean:       hepv1.ScoringRule_SCORING_RULE_MEAN,
	hep.ScoringODIPercent: hepv1.ScoringRule_SCORING_RULE_ODI_PERCENT,
}

var outcomeChangeToProto = map[hep.OutcomeChange]hepv1.OutcomeChange{
	hep.OutcomeUnknown:  hepv1.OutcomeChange_OUTCOME_CHANGE_UNSPECIFIED,
	hep.OutcomeNone:     hepv1.OutcomeChange_OUTCOME_CHANGE_NONE,
	hep.OutcomeImproved: hepv1.OutcomeChange_OUTCOME_CHANGE_IMPROVED,
	hep.OutcomeWorsened: hepv1.OutcomeChange_OUTCOME_CHANGE_WORSENED,
}

func instrumentToProto(in hep.Instrument) *hepv1.Instrument {
	return &hepv1.Instrument{Id: string(in.ID), Title: in.Title, Version: in.Version, Scoring: scoringToProto[in.Scoring],
		ScoreMin: in.ScoreMin, ScoreMax: in.ScoreMax, HigherIsBetter: in.HigherIsBetter, McidPoints: in.MCIDPoints,
		McidPercent: in.MCIDPercent, McidSource: in.MCIDSource, PanelLoinc: in.PanelLOINC, ScoreLoinc: in.ScoreLOINC,
		TextLicensed: in.TextLicensed, QuestionnaireJson: string(in.Raw), TextImported: in.TextImported}
}

func assignmentToProto(a hep.Assignment) *hepv1.Assignment {
	out := &hepv1.Assignment{Id: a.ID, PatientId: a.PatientID, InstrumentId: string(a.InstrumentID), StartDate: dateToProto(a.Start),
		EveryWeeks: a.EveryWeeks, EndDate: dateToProto(a.End), CreatedBy: a.CreatedBy, CreateTime: timestamppb.New(a.CreateTime),
		EndedBy: a.EndedBy, EndTime: ts(a.EndTime)}
	for _, d := range a.VisitDates {
		out.VisitDates = append(out.VisitDates, dateToProto(d))
	}
	return out
}

func slotToProto(s hep.DueSlot) *hepv1.DueSlot {
	return &hepv1.DueSlot{SlotId: s.SlotID(), AssignmentId: s.AssignmentID, DueDate: dateToProto(s.Due), VisitDate: dateToProto(s.Visit)}
}

func responseToProto(r hep.QuestionnaireResponse) *hepv1.QuestionnaireResponse {
	out := &hepv1.QuestionnaireResponse{Id: r.ID, AssignmentId: r.AssignmentID, SlotDate: dateToProto(r.Slot),
		AuthoredTime: timestamppb.New(r.AuthoredTime), InstrumentId: string(r.InstrumentID),
		CorrectedAuthoredTime: timestamppb.New(r.CorrectedAuthoredTime), ReceiveTime: timestamppb.New(r.ReceiveTime),
		DeviceId: r.DeviceID, Supersedes: r.Supersedes}
	for _, a := range r.Answers {
		out.Answers = append(out.Answers, &hepv1.QuestionnaireAnswer{LinkId: a.LinkID, Value: optInt32(a.Value), Text: a.Text, Skipped: a.Skipped})
	}
	if in, ok := hep.LookupInstrument(r.InstrumentID); ok {
		if sc := hep.ScoreResponse(in, r.Answers); sc.Valid {
			v := sc.Value
			out.Score = &v
		}
	}
	return out
}

func optFloat(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func seriesToProto(s hep.OutcomeSeries) *hepv1.OutcomeSeries {
	out := &hepv1.OutcomeSeries{AssignmentId: s.AssignmentID, InstrumentId: string(s.Instrument.ID), Baseline: optFloat(s.Baseline),
		Latest: optFloat(s.Latest), Delta: s.Delta, Change: outcomeChangeToProto[s.Change], McidPoints: s.Instrument.MCIDPoints,
		McidPercent: s.Instrument.MCIDPercent, HigherIsBetter: s.Instrument.HigherIsBetter}
	for _, p := range s.Points {
		pt := &hepv1.OutcomePoint{ResponseId: p.ResponseID, SlotDate: dateToProto(p.Slot), AuthoredTime: timestamppb.New(p.Authored),
			Answered: int32(p.Score.Answered), Skipped: int32(p.Score.Skipped)}
		if p.Score.Valid {
			v := p.Score.Value
			pt.Score = &v
		}
		out.Points = append(out.Points, pt)
	}
	for _, d := range s.Overdue {
		out.Overdue = append(out.Overdue, slotToProto(d))
	}
	return out
}

func (x *outcomeService) ListInstruments(ctx context.Context, _ *hepv1.ListInstrumentsRequest) (*hepv1.ListInstrumentsResponse, error) {
	list, err := x.s.store.ListInstruments(ctx)
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListInstrumentsResponse{}
	for _, in := range list {
		resp.Instruments = append(resp.Instruments, instrumentToProto(in))
	}
	return resp, nil
}

func (x *outcomeService) ImportInstrumentText(ctx context.Context, req *hepv1.ImportInstrumentTextRequest) (*hepv1.ImportInstrumentTextResponse, error) {
	raw := []byte(req.GetQuestionnaireJson())
	var v hep.Violations
	if len(raw) == 0 || len(raw) > hep.MaxQuestionnaireBytes {
		v.Add("questionnaire_json", "must be a FHIR R4 Questionnaire of at most %d bytes", hep.MaxQuestionnaireBytes)
		return nil, v.Err()
	}
	parsed, err := hep.ParseInstrument(raw)
	if err != nil {
		v.Add("questionnaire_json", "%v", err)
		return nil, v.Err()
	}
	if _, ok := hep.LookupInstrument(parsed.ID); !ok {
		v.Add("questionnaire_json", "id %q is not an instrument hep scores", parsed.ID)
		return nil, v.Err()
	}
	parsed.Raw = raw
	in, err := x.s.store.ImportInstrumentText(ctx, parsed)
	if err != nil {
		return nil, err
	}
	return &hepv1.ImportInstrumentTextResponse{Instrument: instrumentToProto(in)}, nil
}

// optionalDate converts a request day: unset is the zero Date; a set but
// invalid one is a violation of field.
func optionalDate(v *hep.Violations, field string, d *hepv1.Date) hep.Date {
	if d == nil {
		return hep.Date{}
	}
	out := dateFromProto(d)
	if !out.Valid() {
		v.Add(field, "must be a valid day between 2000 and 2100")
	}
	return out
}

func (x *outcomeService) AssignQuestionnaire(ctx context.Context, req *hepv1.AssignQuestionnaireRequest) (*hepv1.AssignQuestionnaireResponse, error) {
	var v hep.Violations
	in := hep.AssignmentInput{InstrumentID: hep.InstrumentID(req.GetInstrumentId()), EveryWeeks: req.GetEveryWeeks(),
		Start: optionalDate(&v, "start_date", req.GetStartDate()), End: optionalDate(&v, "end_date", req.GetEndDate())}
	if len(req.GetVisitDates()) > hep.MaxVisitDates {
		v.Add("visit_dates", "must hold at most %d days", hep.MaxVisitDates)
	} else {
		for _, d := range req.GetVisitDates() {
			in.VisitDates = append(in.VisitDates, dateFromProto(d))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	a, err := x.s.store.AssignQuestionnaire(ctx, patientOf(ctx), in)
	if err != nil {
		return nil, err
	}
	return &hepv1.AssignQuestionnaireResponse{Assignment: assignmentToProto(a)}, nil
}

func checkAssignmentID(id string) error {
	var v hep.Violations
	if !hep.IsUUID(id) {
		v.Add("assignment_id", "must be an assignment id (a UUID)")
	}
	return v.Err()
}

func (x *outcomeService) EndAssignment(ctx context.Context, req *hepv1.EndAssignmentRequest) (*hepv1.EndAssignmentResponse, error) {
	if err := checkAssignmentID(req.GetAssignmentId()); err != nil {
		return nil, err
	}
	a, err := x.s.store.EndAssignment(ctx, patientOf(ctx), req.GetAssignmentId())
	if err != nil {
		return nil, err
	}
	return &hepv1.EndAssignmentResponse{Assignment: assignmentToProto(a)}, nil
}

func (x *outcomeService) ListAssignments(ctx context.Context, req *hepv1.ListAssignmentsRequest) (*hepv1.ListAssignmentsResponse, error) {
	list, tz, err := x.s.store.ListAssignments(ctx, patientOf(ctx), req.GetIncludeEnded())
	if err != nil {
		return nil, err
	}
	loc := hep.LoadZone(tz)
	today := hep.DateOf(x.s.now(), loc)
	resp := &hepv1.ListAssignmentsResponse{}
	for _, st := range list {
		p := assignmentToProto(st.Assignment)
		if next, ok := hep.NextDue(st.Assignment, loc, today, st.Answered); ok {
			p.NextDue = slotToProto(next)
		}
		for _, o := range hep.OverdueSlots(st.Assignment, loc, today, st.Answered) {
			p.Overdue = append(p.Overdue, slotToProto(o))
		}
		resp.Assignments = append(resp.Assignments, p)
	}
	return resp, nil
}

func (x *outcomeService) ListQuestionnaireResponses(ctx context.Context, req *hepv1.ListQuestionnaireResponsesRequest) (*hepv1.ListQuestionnaireResponsesResponse, error) {
	pid := patientOf(ctx)
	var v hep.Violations
	if id := req.GetAssignmentId(); id != "" && !hep.IsUUID(id) {
		v.Add("assignment_id", "must be an assignment id (a UUID), or empty for all")
	}
	filter := pid + "|" + req.GetAssignmentId()
	size, after, err := x.s.openPage(&v, "questionnaire_responses", req.GetPageSize(), req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	f := hep.ResponseFilter{PatientID: pid, AssignmentID: req.GetAssignmentId(), Limit: size + 1}
	if after != "" {
		day, id, _ := strings.Cut(after, "|")
		d, ok := hep.ParseDate(day)
		if !ok || !hep.IsUUID(id) {
			var bad hep.Violations
			bad.Add("page_token", "is not a page token of this list with this filter")
			return nil, bad.Err()
		}
		f.BeforeSlot, f.BeforeID = d, id
	}
	list, err := x.s.store.ListQuestionnaireResponses(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListQuestionnaireResponsesResponse{}
	list, resp.NextPageToken = nextPage(x.s, "questionnaire_responses", filter, list, size, func(r hep.QuestionnaireResponse) string {
		return r.Slot.String() + "|" + r.ID
	})
	for _, r := range list {
		resp.Responses = append(resp.Responses, responseToProto(r))
	}
	return resp, nil
}

var dueKindToProto = map[hep.DueKind]hepv1.DueKind{
	hep.DueSessions:       hepv1.DueKind_DUE_KIND_SESSIONS,
	hep.DueWeeklySessions: hepv1.DueKind_DUE_KIND_WEEKLY_SESSIONS,
	hep.DueQuestionnaire:  hepv1.DueKind_DUE_KIND_QUESTIONNAIRE,
}

func dueToProto(e hep.DueEntry) *hepv1.DueEntry {
	out := &hepv1.DueEntry{Id: e.ID, Kind: dueKindToProto[e.Kind], ExerciseId: e.ExerciseID, Sessions: e.Sessions, Day: dateToProto(e.Day)}
	if e.Kind == hep.DueWeeklySessions {
		out.LastDay = dateToProto(e.To)
	}
	if e.Kind == hep.DueQuestionnaire {
		out.Slot = slotToProto(e.Slot)
	}
	out.RemindTime = ts(e.RemindTime)
	return out
}
