package postgres

import (
	"context"
	"database/sql"

	"github.com/hepclinic/hep/internal/hep"
)

func resScreening(patientID string) string { return "patients/" + patientID + "/screening" }

const answerColumns = "id, patient_id, flag, status, source, recorded_by, note, record_time, effective"

func scanAnswer(sc interface{ Scan(...any) error }) (hep.ScreeningAnswer, error) {
	var a hep.ScreeningAnswer
	var flag, status, source string
	err := sc.Scan(&a.ID, &a.PatientID, &flag, &status, &source, &a.RecordedBy, &a.Note, tcol(&a.RecordTime), &a.Effective)
	a.Flag, a.Status, a.Source = hep.Flag(flag), hep.FlagStatus(status), hep.Source(source)
	return a, err
}

// screeningQuery reads the latest effective answer per flag: for each flag,
// the effective row with the highest id (UUIDv7, so the newest). The ids
// come from the covering index screening_answers_current, the rows by primary
// key.
const screeningQuery = "SELECT " + answerColumns + ` FROM screening_answers
	WHERE id IN (SELECT max(id) FROM screening_answers WHERE patient_id = $1 AND effective = 1 GROUP BY flag)`

// loadScreening reads a patient's current screening (empty, not nil, for a
// patient never screened).
func loadScreening(ctx context.Context, q querier, patientID string) (hep.Screening, error) {
	rows, err := q.QueryContext(ctx, screeningQuery, patientID)
	if err != nil {
		return nil, err
	}
	sc := hep.Screening{}
	for rows.Next() {
		a, err := scanAnswer(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		sc[a.Flag] = a
	}
	return sc, closeRows(rows)
}

// requirePatient fails with NOT_FOUND unless the patient exists.
func requirePatient(ctx context.Context, q querier, patientID string) error {
	ok, err := patientExists(ctx, q, patientID)
	if err != nil {
		return err
	}
	if !ok {
		return hep.NotFound("patient")
	}
	return nil
}

// RecordScreening implements hep.Store: recordScreening and the audit row,
// in one transaction.
func (s *Store) RecordScreening(ctx context.Context, patientID string, answers []hep.ScreeningInput) (hep.Screening, []string, error) {
	var sc hep.Screening
	var changed []string
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		if err := lockPatient(ctx, tx, patientID); err != nil {
			return err
		}
		if sc, changed, err = s.recordScreening(ctx, tx, patientID, answers); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resScreening(patientID), hep.OutcomeOK)
	})
	if err != nil {
		return nil, nil, err
	}
	return sc, changed, nil
}

// recordScreening records answers of an existing patient with the source
// and recorder of the actor in ctx, inside tx (RecordScreening, and Push for
// a phone's screening report): the clearances the answers end are ended
// (judged against the screening before them), the answers are appended,
// the current plan is re-gated against the new screening, the remaining
// live clearances and the hold, every item whose state or reasons changed
// is stored, each state change is kept as a decision (cause
// SCREENING_CHANGED), the screening alert is raised, and the screening (if
// an answer took effect) and the plan (if an item changed) are bumped in
// the change sequence. It returns the new current screening and the
// exercise ids of the changed items.
func (s *Store) recordScreening(ctx context.Context, tx *sql.Tx, patientID string, answers []hep.ScreeningInput) (hep.Screening, []string, error) {
	actor := hep.ActorFrom(ctx)
	source := hep.SourceFor(actor.Role)
	now := s.now()
	before, err := loadScreening(ctx, tx, patientID)
	if err != nil {
		return nil, nil, err
	}
	live, err := liveClearances(ctx, tx, patientID)
	if err != nil {
		return nil, nil, err
	}
	// A patient's report that would lower a clinician-verified answer is
	// kept but does not take effect (hep.TakesEffect).
	effective, overridden := hep.SplitAnswers(before, answers, source)
	for _, c := range hep.EndedClearances(live, before, effective) {
		if err := endClearance(ctx, tx, c.ID, now); err != nil {
			return nil, nil, err
		}
	}
	for _, in := range answers {
		id, err := newID()
		if err != nil {
			return nil, nil, err
		}
		takes := hep.TakesEffect(before, in, source)
		if _, err := tx.ExecContext(ctx, `INSERT INTO screening_answers (id, patient_id, flag, status, source, recorded_by, note, record_time, effective)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, patientID, string(in.Flag), string(in.Status), string(source), actor.ID,
			in.Note, ts(now), b2i(takes)); err != nil {
			return nil, nil, err
		}
	}
	sc, err := loadScreening(ctx, tx, patientID)
	if err != nil {
		return nil, nil, err
	}
	g, err := loadGateInputs(ctx, tx, patientID, sc)
	if err != nil {
		return nil, nil, err
	}
	changes, stored, err := regatePlan(ctx, tx, &g.plan, g.cat, sc, g.live, now)
	if err != nil {
		return nil, nil, err
	}
	if err := keepChanges(ctx, tx, g.plan, changes, hep.CauseScreeningChanged, sc, "", now); err != nil {
		return nil, nil, err
	}
	// The patient's phone is told, in plain words, when exercises stop.
	for _, c := range changes {
		if c.New == hep.ItemSuspended && c.Old != hep.ItemSuspended {
			if err := s.notify(ctx, tx, patientID, hep.NoticeItemsPaused, now); err != nil {
				return nil, nil, err
			}
			break
		}
	}
	if a := hep.AlertForScreening(patientID, source, before, effective, overridden, changes, g.plan.Items); a != nil {
		if _, err := s.raiseAlert(ctx, tx, a, now); err != nil {
			return nil, nil, err
		}
	}
	if len(effective) > 0 {
		if _, err := s.bump(ctx, tx, patientID, hep.KindScreening, hep.CurrentID, false); err != nil {
			return nil, nil, err
		}
	}
	if stored {
		if _, err := s.bump(ctx, tx, patientID, hep.KindPlan, hep.CurrentID, false); err != nil {
			return nil, nil, err
		}
	}
	return sc, changedIDs(g.plan, changes), nil
}

// GetScreening implements hep.Store. A patient never screened (or unknown)
// has an empty screening: every flag UNKNOWN.
func (s *Store) GetScreening(ctx context.Context, patientID string) (hep.Screening, error) {
	var sc hep.Screening
	err := s.view(ctx, patientID, resScreening(patientID), func(tx *sql.Tx) (err error) {
		if sc, err = loadScreening(ctx, tx, patientID); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sc, nil
}

// historyQuery pages a patient's answers newest first, keyed on the id,
// through screening_answers_patient (or, for one flag, screening_answers_flag).
func historyQuery(byFlag bool) string {
	q := "SELECT " + answerColumns + " FROM screening_answers WHERE patient_id = $1 AND id < $2"
	if byFlag {
		return q + " AND flag = $3 ORDER BY id DESC LIMIT $4"
	}
	return q + " ORDER BY id DESC LIMIT $3"
}

// ListScreeningHistory implements hep.Store.
func (s *Store) ListScreeningHistory(ctx context.Context, f hep.ScreeningFilter) ([]hep.ScreeningAnswer, error) {
	q := historyQuery(f.Flag != hep.FlagNone)
	args := []any{f.PatientID, before(f.Before)}
	if f.Flag != hep.FlagNone {
		args = append(args, string(f.Flag))
	}
	args = append(args, limit(f.Limit))
	var out []hep.ScreeningAnswer
	err := s.view(ctx, f.PatientID, resScreening(f.PatientID), func(tx *sql.Tx) error {
		got, err := queryAll(ctx, tx, scanAnswer, q, args...)
		if err != nil {
			return err
		}
		out = got
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
