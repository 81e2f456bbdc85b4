package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Outcome questionnaires: assignments (written by clinicians) and
// responses (pushed by phones). The schedule is the assignment's rule;
// the due slots are hep.DueSlots of it, computed when needed.

func resQuestionnaires(patientID string) string { return "patients/" + patientID + "/questionnaires" }

func resAssignment(patientID, id string) string { return resQuestionnaires(patientID) + "/" + id }

func resResponses(patientID string) string {
	return "patients/" + patientID + "/questionnaire-responses"
}

const assignmentColumns = `id, patient_id, instrument_id, start_date, every_weeks, visit_dates, end_date, created_by,
	create_time, end_time, ended_by`

func scanAssignment(sc scanner) (hep.Assignment, error) {
	var a hep.Assignment
	var instrument, start, visits string
	var end, endTime, endedBy sql.NullString
	if err := sc.Scan(&a.ID, &a.PatientID, &instrument, &start, &a.EveryWeeks, &visits, &end, &a.CreatedBy,
		tcol(&a.CreateTime), &endTime, &endedBy); err != nil {
		return a, err
	}
	a.InstrumentID = hep.InstrumentID(instrument)
	var err error
	if a.Start, err = parseDate(sql.NullString{String: start, Valid: true}); err != nil {
		return a, err
	}
	if a.End, err = parseDate(end); err != nil {
		return a, err
	}
	var days []string
	if err := json.Unmarshal([]byte(visits), &days); err != nil {
		return a, fmt.Errorf("postgres: stored visit dates: %w", err)
	}
	for _, d := range days {
		v, err := parseDate(sql.NullString{String: d, Valid: true})
		if err != nil {
			return a, err
		}
		a.VisitDates = append(a.VisitDates, v)
	}
	if endTime.Valid {
		if a.EndTime, err = parseTS(endTime.String); err != nil {
			return a, err
		}
		a.EndedBy = endedBy.String
	}
	return a, nil
}

// AssignQuestionnaire implements hep.Store.
func (s *Store) AssignQuestionnaire(ctx context.Context, patientID string, in hep.AssignmentInput) (hep.Assignment, error) {
	var a hep.Assignment
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Under the patient's lock: the checks of the active assignments
		// and the bump are ordered with every other writer's.
		if err := lockPatient(ctx, tx, patientID); err != nil {
			return err
		}
		var tz string
		err := tx.QueryRowContext(ctx, patientZoneQuery, patientID).Scan(&tz)
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("patient")
		}
		if err != nil {
			return err
		}
		now := s.now()
		today := hep.DateOf(now, zoneOf(tz))
		if err := hep.ValidateAssignment(in, today); err != nil {
			return err
		}
		all, err := instruments(ctx, tx)
		if err != nil {
			return err
		}
		instrument := all[in.InstrumentID]
		if !instrument.TextAvailable() {
			return hep.Errorf(hep.CodeFailedPrecondition,
				"the %s's item text is licensed and does not ship with hep; it cannot be assigned until an admin imports the clinic's licensed text (hepctl questionnaires import)", instrument.Title)
		}
		var one int
		err = tx.QueryRowContext(ctx, "SELECT 1 FROM questionnaire_assignments WHERE patient_id = $1 AND instrument_id = $2 AND end_time IS NULL",
			patientID, string(in.InstrumentID)).Scan(&one)
		if err == nil {
			return hep.Errorf(hep.CodeFailedPrecondition, "the patient already has the %s assigned: end that assignment first", instrument.Title)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var active int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM questionnaire_assignments WHERE patient_id = $1 AND end_time IS NULL",
			patientID).Scan(&active); err != nil {
			return err
		}
		if active >= hep.MaxAssignments {
			return hep.Errorf(hep.CodeFailedPrecondition, "the patient has %d active questionnaires, the most hep allows", active)
		}
		id, err := newID()
		if err != nil {
			return err
		}
		a = hep.Assignment{ID: id, PatientID: patientID, InstrumentID: in.InstrumentID, Start: in.Start, EveryWeeks: in.EveryWeeks,
			VisitDates: in.VisitDates, End: in.End, CreatedBy: hep.ActorFrom(ctx).ID, CreateTime: now}
		if a.Start.IsZero() {
			a.Start = today
		}
		days := []string{}
		for _, d := range a.VisitDates {
			days = append(days, d.String())
		}
		visits, err := json.Marshal(days)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO questionnaire_assignments (`+assignmentColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)`, a.ID, patientID, string(a.InstrumentID), a.Start.String(), a.EveryWeeks,
			string(visits), dateText(a.End), a.CreatedBy, ts(now)); err != nil {
			return mapErr(err)
		}
		if _, err := s.bump(ctx, tx, patientID, hep.KindQuestionnaires, hep.CurrentID, false); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resAssignment(patientID, a.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Assignment{}, err
	}
	return a, nil
}

// EndAssignment implements hep.Store.
func (s *Store) EndAssignment(ctx context.Context, patientID, assignmentID string) (hep.Assignment, error) {
	var a hep.Assignment
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := lockPatient(ctx, tx, patientID); err != nil {
			if hep.ErrorCode(err) == hep.CodeNotFound {
				return hep.NotFound("questionnaire assignment")
			}
			return err
		}
		var err error
		a, err = scanAssignment(tx.QueryRowContext(ctx, "SELECT "+assignmentColumns+
			" FROM questionnaire_assignments WHERE id = $1 AND patient_id = $2", assignmentID, patientID))
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("questionnaire assignment")
		}
		if err != nil {
			return err
		}
		if !a.Active() {
			return hep.Errorf(hep.CodeFailedPrecondition, "the assignment is ended already")
		}
		a.EndTime, a.EndedBy = s.now(), hep.ActorFrom(ctx).ID
		if _, err := tx.ExecContext(ctx, "UPDATE questionnaire_assignments SET end_time = $1, ended_by = $2 WHERE id = $3",
			ts(a.EndTime), a.EndedBy, a.ID); err != nil {
			return err
		}
		if _, err := s.bump(ctx, tx, patientID, hep.KindQuestionnaires, hep.CurrentID, false); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resAssignment(patientID, a.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Assignment{}, err
	}
	return a, nil
}

// ListAssignments implements hep.Store.
func (s *Store) ListAssignments(ctx context.Context, patientID string, includeEnded bool) ([]hep.AssignmentStatus, string, error) {
	var out []hep.AssignmentStatus
	var tz string
	err := s.view(ctx, patientID, resQuestionnaires(patientID), func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, patientZoneQuery, patientID).Scan(&tz)
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("patient")
		}
		if err != nil {
			return err
		}
		as, err := loadAssignments(ctx, tx, patientID, includeEnded)
		if err != nil {
			return err
		}
		answered, err := answeredSlots(ctx, tx, patientID)
		if err != nil {
			return err
		}
		for i := len(as) - 1; i >= 0; i-- { // newest first
			out = append(out, hep.AssignmentStatus{Assignment: as[i], Answered: answered[as[i].ID]})
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, tz, nil
}

// loadAssignments reads a patient's assignments, oldest first.
func loadAssignments(ctx context.Context, q querier, patientID string, includeEnded bool) ([]hep.Assignment, error) {
	query := "SELECT " + assignmentColumns + " FROM questionnaire_assignments WHERE patient_id = $1"
	if !includeEnded {
		query += " AND end_time IS NULL"
	}
	return queryAll(ctx, q, scanAssignment, query+" ORDER BY create_time, id", patientID)
}

// answeredSlots reads the due days of a patient's live responses, by
// assignment.
func answeredSlots(ctx context.Context, q querier, patientID string) (map[string]map[hep.Date]bool, error) {
	rows, err := q.QueryContext(ctx, "SELECT assignment_id, slot_date FROM questionnaire_responses WHERE patient_id = $1 AND superseded_by IS NULL", patientID)
	if err != nil {
		return nil, err
	}
	out := map[string]map[hep.Date]bool{}
	for rows.Next() {
		var a, d string
		if err := rows.Scan(&a, &d); err != nil {
			rows.Close()
			return nil, err
		}
		day, err := parseDate(sql.NullString{String: d, Valid: true})
		if err != nil {
			rows.Close()
			return nil, err
		}
		if out[a] == nil {
			out[a] = map[hep.Date]bool{}
		}
		out[a][day] = true
	}
	return out, closeRows(rows)
}

// storedAnswer is an answer as stored in questionnaire_responses.answers.
type storedAnswer struct {
	LinkID  string `json:"link_id"`
	Value   *int32 `json:"value,omitempty"`
	Text    string `json:"text,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
}

const responseColumns = `r.id, r.patient_id, r.device_id, r.assignment_id, r.slot_date, r.authored_time, r.corrected_authored_time,
	r.receive_time, r.answers, r.supersedes, a.instrument_id`

const responseFrom = " FROM questionnaire_responses r JOIN questionnaire_assignments a ON a.id = r.assignment_id"

func scanResponse(sc scanner) (hep.QuestionnaireResponse, error) {
	var r hep.QuestionnaireResponse
	var slot, answers, instrument string
	var supersedes sql.NullString
	if err := sc.Scan(&r.ID, &r.PatientID, &r.DeviceID, &r.AssignmentID, &slot, tcol(&r.AuthoredTime), tcol(&r.CorrectedAuthoredTime),
		tcol(&r.ReceiveTime), &answers, &supersedes, &instrument); err != nil {
		return r, err
	}
	r.Supersedes, r.InstrumentID = supersedes.String, hep.InstrumentID(instrument)
	var err error
	if r.Slot, err = parseDate(sql.NullString{String: slot, Valid: true}); err != nil {
		return r, err
	}
	var as []storedAnswer
	if err := json.Unmarshal([]byte(answers), &as); err != nil {
		return r, fmt.Errorf("postgres: stored answers: %w", err)
	}
	for _, a := range as {
		r.Answers = append(r.Answers, hep.Answer{LinkID: a.LinkID, Value: a.Value, Text: a.Text, Skipped: a.Skipped})
	}
	return r, nil
}

// ListQuestionnaireResponses implements hep.Store.
func (s *Store) ListQuestionnaireResponses(ctx context.Context, f hep.ResponseFilter) ([]hep.QuestionnaireResponse, error) {
	var out []hep.QuestionnaireResponse
	err := s.view(ctx, f.PatientID, resResponses(f.PatientID), func(tx *sql.Tx) error {
		ok, err := patientExists(ctx, tx, f.PatientID)
		if err != nil {
			return err
		}
		if !ok {
			return hep.NotFound("patient")
		}
		var a params
		query := "SELECT " + responseColumns + responseFrom + " WHERE r.patient_id = " + a.add(f.PatientID) + " AND r.superseded_by IS NULL"
		if !f.BeforeSlot.IsZero() {
			query += " AND (r.slot_date, r.id) < (" + a.add(f.BeforeSlot.String()) + ", " + a.add(f.BeforeID) + ")"
		}
		if f.AssignmentID != "" {
			query += " AND r.assignment_id = " + a.add(f.AssignmentID)
		}
		query += " ORDER BY r.slot_date DESC, r.id DESC LIMIT " + a.add(f.Limit)
		out, err = queryAll(ctx, tx, scanResponse, query, a...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// liveResponses reads every live response of a patient, oldest slot
// first.
func liveResponses(ctx context.Context, q querier, patientID string) ([]hep.QuestionnaireResponse, error) {
	return queryAll(ctx, q, scanResponse, "SELECT "+responseColumns+responseFrom+
		" WHERE r.patient_id = $1 AND r.superseded_by IS NULL ORDER BY r.slot_date, r.id", patientID)
}

// outcomeFacts reads a patient's assignments (ended too) with their live
// responses, for progress.
func outcomeFacts(ctx context.Context, q querier, patientID string) ([]hep.AssignmentResponses, error) {
	as, err := loadAssignments(ctx, q, patientID, true)
	if err != nil {
		return nil, err
	}
	rs, err := liveResponses(ctx, q, patientID)
	if err != nil {
		return nil, err
	}
	by := map[string][]hep.QuestionnaireResponse{}
	for _, r := range rs {
		by[r.AssignmentID] = append(by[r.AssignmentID], r)
	}
	var out []hep.AssignmentResponses
	for _, a := range as {
		out = append(out, hep.AssignmentResponses{Assignment: a, Responses: by[a.ID]})
	}
	return out, nil
}

// loadQuestionnaires is the patient's questionnaires record for Pull.
func loadQuestionnaires(ctx context.Context, q querier, patientID string) (*hep.QuestionnairesSnapshot, error) {
	var tz string
	if err := q.QueryRowContext(ctx, patientZoneQuery, patientID).Scan(&tz); err != nil {
		return nil, err
	}
	as, err := loadAssignments(ctx, q, patientID, false)
	if err != nil {
		return nil, err
	}
	snap := &hep.QuestionnairesSnapshot{Assignments: as, TimeZone: tz}
	if len(as) == 0 {
		return snap, nil
	}
	all, err := instruments(ctx, q)
	if err != nil {
		return nil, err
	}
	seen := map[hep.InstrumentID]bool{}
	for _, a := range as {
		if in, ok := all[a.InstrumentID]; ok && !seen[a.InstrumentID] {
			seen[a.InstrumentID] = true
			snap.Instruments = append(snap.Instruments, in)
		}
	}
	return snap, nil
}

// responseByIDQuery reads a patient's response by id for Pull.
const responseByIDQuery = "SELECT " + responseColumns + responseFrom + " WHERE r.id = $1 AND r.patient_id = $2"

// Push: a questionnaire response.

const (
	reasonNoAssignment = "must name one of the patient's questionnaire assignments"
	reasonNoSlot       = "is not a due slot of the assignment, or not due yet"
)

// response applies a QuestionnaireResponse mutation (shape already
// validated).
func (p *push) response(seq int64, r hep.QuestionnaireResponse) (hep.MutationResult, error) {
	r.PatientID, r.DeviceID, r.ReceiveTime = p.patientID, p.deviceID, p.now
	hash := r.ContentHash()
	var owner, stored string
	err := p.tx.QueryRowContext(p.ctx, "SELECT patient_id, content_hash FROM questionnaire_responses WHERE id = $1", r.ID).Scan(&owner, &stored)
	switch {
	case err == nil && owner == p.patientID && stored == hash:
		return applied(seq), nil // a replay
	case err == nil:
		return rejected(seq, "response.id", reasonIDReused), nil
	case !errors.Is(err, sql.ErrNoRows):
		return hep.MutationResult{}, err
	}
	if !storable(r.AuthoredTime) {
		return rejected(seq, "response.authored_time", reasonTimeUnstored), nil
	}
	a, err := scanAssignment(p.tx.QueryRowContext(p.ctx, "SELECT "+assignmentColumns+
		" FROM questionnaire_assignments WHERE id = $1 AND patient_id = $2", r.AssignmentID, p.patientID))
	if errors.Is(err, sql.ErrNoRows) {
		return rejected(seq, "response.assignment_id", reasonNoAssignment), nil
	}
	if err != nil {
		return hep.MutationResult{}, err
	}
	instrument, ok := hep.LookupInstrument(a.InstrumentID)
	if !ok {
		return hep.MutationResult{}, fmt.Errorf("postgres: assignment of unknown instrument %q", a.InstrumentID)
	}
	if err := hep.ValidateAnswers(instrument, r.Answers); err != nil {
		return hep.RejectionOf(seq, err), nil
	}
	loc, err := p.zone()
	if err != nil {
		return hep.MutationResult{}, err
	}
	if !hep.IsSlot(a, loc, r.Slot, hep.DateOf(p.now, loc)) {
		return rejected(seq, "response.slot_date", reasonNoSlot), nil
	}
	var old string
	err = p.tx.QueryRowContext(p.ctx, "SELECT id FROM questionnaire_responses WHERE assignment_id = $1 AND slot_date = $2 AND superseded_by IS NULL",
		a.ID, r.Slot.String()).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return hep.MutationResult{}, err
	}
	if old != "" {
		if _, err := p.tx.ExecContext(p.ctx, "UPDATE questionnaire_responses SET superseded_by = $1 WHERE id = $2", r.ID, old); err != nil {
			return hep.MutationResult{}, err
		}
		if err := p.bump(hep.KindResponse, old, true); err != nil {
			return hep.MutationResult{}, err
		}
	}
	answers := make([]storedAnswer, 0, len(r.Answers))
	for _, x := range r.Answers {
		answers = append(answers, storedAnswer{LinkID: x.LinkID, Value: x.Value, Text: x.Text, Skipped: x.Skipped})
	}
	js, err := json.Marshal(answers)
	if err != nil {
		return hep.MutationResult{}, err
	}
	if _, err := p.tx.ExecContext(p.ctx, `INSERT INTO questionnaire_responses (id, patient_id, device_id, assignment_id, slot_date,
		authored_time, corrected_authored_time, receive_time, answers, supersedes, content_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.PatientID, r.DeviceID, a.ID, r.Slot.String(), ts(r.AuthoredTime), ts(r.CorrectedAuthoredTime), ts(r.ReceiveTime),
		string(js), idArg(old), hash); err != nil {
		return hep.MutationResult{}, err
	}
	if err := p.bump(hep.KindResponse, r.ID, false); err != nil {
		return hep.MutationResult{}, err
	}
	if err := p.responseAlerts(a, r.ID); err != nil {
		return hep.MutationResult{}, err
	}
	return applied(seq), nil
}

// responseAlerts raises FUNCTION_WORSENED if the new response is worse
// than the assignment's baseline by the MCID.
func (p *push) responseAlerts(a hep.Assignment, newID string) error {
	rs, err := queryAll(p.ctx, p.tx, scanResponse, "SELECT "+responseColumns+responseFrom+
		" WHERE r.assignment_id = $1 AND r.superseded_by IS NULL ORDER BY r.slot_date, r.id", a.ID)
	if err != nil {
		return err
	}
	al := hep.FunctionWorsenedAlert(a, rs, newID)
	if al == nil {
		return nil
	}
	_, err = p.s.raiseAlert(p.ctx, p.tx, al, p.now)
	return err
}

// overdueAlerts raises QUESTIONNAIRE_OVERDUE for every slot of the
// patient's active assignments overdue today (each once: the trigger names
// the slot) and returns how many it raised.
func (s *Store) overdueAlerts(ctx context.Context, tx *sql.Tx, patientID string, loc *time.Location, today hep.Date) ([]hep.Alert, error) {
	as, err := loadAssignments(ctx, tx, patientID, false)
	if err != nil || len(as) == 0 {
		return nil, err
	}
	answered, err := answeredSlots(ctx, tx, patientID)
	if err != nil {
		return nil, err
	}
	var out []hep.Alert
	for _, a := range as {
		for _, slot := range hep.OverdueSlots(a, loc, today, answered[a.ID]) {
			al := hep.QuestionnaireOverdueAlert(a, slot)
			ok, err := s.raiseAlert(ctx, tx, &al, s.now())
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, al)
			}
		}
	}
	return out, nil
}

func resInstruments() string { return "instruments" }

func resInstrument(id hep.InstrumentID) string { return resInstruments() + "/" + string(id) }

// instruments reads the built-in instruments with the clinic's newest
// imported text of each applied.
func instruments(ctx context.Context, q querier) (map[hep.InstrumentID]hep.Instrument, error) {
	out := map[hep.InstrumentID]hep.Instrument{}
	for _, in := range hep.Instruments() {
		out[in.ID] = in
	}
	rows, err := q.QueryContext(ctx, `SELECT t.instrument_id, t.questionnaire FROM instrument_texts t
		WHERE t.seq = (SELECT max(u.seq) FROM instrument_texts u WHERE u.instrument_id = t.instrument_id)`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return nil, err
		}
		in, ok := out[hep.InstrumentID(id)]
		if !ok {
			continue
		}
		if in, err = in.WithText([]byte(raw)); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: stored text of instrument %s: %w", id, err)
		}
		out[in.ID] = in
	}
	return out, closeRows(rows)
}

// ListInstruments implements hep.Store.
func (s *Store) ListInstruments(ctx context.Context) ([]hep.Instrument, error) {
	var out []hep.Instrument
	err := s.view(ctx, "", resInstruments(), func(tx *sql.Tx) error {
		all, err := instruments(ctx, tx)
		if err != nil {
			return err
		}
		for _, in := range hep.Instruments() {
			out = append(out, all[in.ID])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ImportInstrumentText implements hep.Store.
func (s *Store) ImportInstrumentText(ctx context.Context, in hep.Instrument) (hep.Instrument, error) {
	builtin, ok := hep.LookupInstrument(in.ID)
	if !ok {
		return hep.Instrument{}, hep.NotFound("instrument")
	}
	if builtin.TextLicensed {
		return hep.Instrument{}, hep.Errorf(hep.CodeFailedPrecondition, "the %s's text ships with hep: there is nothing to import", builtin.Title)
	}
	out, err := builtin.WithText(in.Raw)
	if err != nil {
		var v hep.Violations
		v.Add("questionnaire_json", "%v", err)
		return hep.Instrument{}, v.Err()
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO instrument_texts (instrument_id, questionnaire, imported_by, import_time) VALUES ($1, $2, $3, $4)",
			string(out.ID), string(out.Raw), hep.ActorFrom(ctx).ID, ts(s.now())); err != nil {
			return err
		}
		// Phones of patients with an active assignment pull the new text.
		ps, err := queryAll(ctx, tx, func(sc scanner) (string, error) {
			var p string
			return p, sc.Scan(&p)
		}, "SELECT DISTINCT patient_id FROM questionnaire_assignments WHERE instrument_id = $1 AND end_time IS NULL ORDER BY patient_id", string(out.ID))
		if err != nil {
			return err
		}
		if err := lockPatients(ctx, tx, ps); err != nil {
			return err
		}
		for _, p := range ps {
			if _, err := s.bump(ctx, tx, p, hep.KindQuestionnaires, hep.CurrentID, false); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, "", resInstrument(out.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Instrument{}, err
	}
	return out, nil
}

// dueList is hep.DueList for the patient as of now with the reminder
// times, the patient's zone and reminder preferences.
func dueList(ctx context.Context, q querier, patientID string, now time.Time) ([]hep.DueEntry, string, hep.ReminderPreferences, error) {
	due, tz, err := dueEntries(ctx, q, patientID, now)
	if err != nil {
		return nil, "", hep.ReminderPreferences{}, err
	}
	prefs, err := loadReminders(ctx, q, patientID)
	if err != nil {
		return nil, "", hep.ReminderPreferences{}, err
	}
	return hep.WithReminders(due, prefs, zoneOf(tz), now), tz, prefs, nil
}

func dueEntries(ctx context.Context, q querier, patientID string, now time.Time) ([]hep.DueEntry, string, error) {
	var tz string
	if err := q.QueryRowContext(ctx, patientZoneQuery, patientID).Scan(&tz); err != nil {
		return nil, "", err
	}
	plan, err := loadPlan(ctx, q, patientID, 0)
	if err != nil {
		return nil, "", err
	}
	as, err := loadAssignments(ctx, q, patientID, false)
	if err != nil {
		return nil, "", err
	}
	var st []hep.AssignmentStatus
	if len(as) > 0 {
		answered, err := answeredSlots(ctx, q, patientID)
		if err != nil {
			return nil, "", err
		}
		for _, a := range as {
			st = append(st, hep.AssignmentStatus{Assignment: a, Answered: answered[a.ID]})
		}
	}
	loc := zoneOf(tz)
	return hep.DueList(plan, st, loc, hep.DateOf(now, loc)), tz, nil
}
