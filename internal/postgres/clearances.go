package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func resClearances(patientID string) string { return "patients/" + patientID + "/clearances" }

func resClearance(patientID, id string) string { return resClearances(patientID) + "/" + id }

var errClearanceExists = hep.Errorf(hep.CodeAlreadyExists, "a live clearance for this exercise and flag exists")

const clearanceColumns = "id, patient_id, exercise_id, flag, reason, cleared_by, create_time, end_time"

func scanClearance(sc interface{ Scan(...any) error }) (hep.Clearance, error) {
	var c hep.Clearance
	var flag string
	err := sc.Scan(&c.ID, &c.PatientID, &c.ExerciseID, &flag, &c.Reason, &c.ClearedBy, tcol(&c.CreateTime), tcol(&c.EndTime))
	c.Flag = hep.Flag(flag)
	return c, err
}

func queryClearances(ctx context.Context, q querier, query string, args ...any) ([]hep.Clearance, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []hep.Clearance
	for rows.Next() {
		c, err := scanClearance(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	return out, closeRows(rows)
}

// liveQuery reads a patient's live clearances, in the order of the partial
// index clearances_live (at most one per exercise and flag).
const liveQuery = "SELECT " + clearanceColumns + " FROM clearances WHERE patient_id = $1 AND end_time IS NULL ORDER BY exercise_id, flag"

// clearancesQuery reads every clearance of a patient, newest first, on
// clearances_patient.
const clearancesQuery = "SELECT " + clearanceColumns + " FROM clearances WHERE patient_id = $1 ORDER BY id DESC"

// liveClearances reads the clearances in force for a patient.
func liveClearances(ctx context.Context, q querier, patientID string) ([]hep.Clearance, error) {
	return queryClearances(ctx, q, liveQuery, patientID)
}

// endClearance ends a live clearance now.
func endClearance(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	_, err := tx.ExecContext(ctx, "UPDATE clearances SET end_time = $1 WHERE id = $2 AND end_time IS NULL", ts(now), id)
	return err
}

// ClearItem implements hep.Store. In one transaction it checks the
// clearance with hep.CheckClearance against the current screening, stores
// it, keeps the gate's new decision for the cleared exercise (cause
// CLEARANCE; with the item's old and new state if the plan holds it) and
// re-gates the plan, keeping a decision for any other item that changed.
func (s *Store) ClearItem(ctx context.Context, in hep.Clearance) (hep.Clearance, []string, error) {
	c := hep.Clearance{PatientID: in.PatientID, ExerciseID: in.ExerciseID, Flag: in.Flag, Reason: in.Reason,
		ClearedBy: hep.ActorFrom(ctx).ID}
	var changed []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := lockPatient(ctx, tx, c.PatientID); err != nil {
			return err
		}
		ex, err := getExercise(ctx, tx, c.ExerciseID)
		if err != nil {
			return err
		}
		sc, err := loadScreening(ctx, tx, c.PatientID)
		if err != nil {
			return err
		}
		if err := hep.CheckClearance(ex, sc, c.Flag); err != nil {
			return err
		}
		g, err := loadGateInputs(ctx, tx, c.PatientID, sc)
		if err != nil {
			return err
		}
		for _, l := range g.live {
			if l.ExerciseID == c.ExerciseID && l.Flag == c.Flag {
				return errClearanceExists
			}
		}
		if c.ID, err = newID(); err != nil {
			return err
		}
		now := s.now()
		c.CreateTime = now
		_, err = tx.ExecContext(ctx, `INSERT INTO clearances (id, patient_id, exercise_id, flag, reason, cleared_by, create_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.PatientID, c.ExerciseID, string(c.Flag), c.Reason, c.ClearedBy, ts(now))
		if isUnique(err, "clearances.") {
			return errClearanceExists
		}
		if err != nil {
			return err
		}
		live := append(g.live, c)
		var prev hep.ItemState
		index := -1
		for i, it := range g.plan.Items {
			if it.Spec.ExerciseID == ex.ID {
				prev, index = it.State, i
			}
		}
		changes, stored, err := regatePlan(ctx, tx, &g.plan, g.cat, sc, live, now)
		if err != nil {
			return err
		}
		if stored {
			if _, err := s.bump(ctx, tx, c.PatientID, hep.KindPlan, hep.CurrentID, false); err != nil {
				return err
			}
		}
		var next hep.ItemState
		if index >= 0 {
			next = g.plan.Items[index].State
		}
		d := decision(ctx, c.PatientID, g.plan.Version, hep.Gate(ex, sc, live), hep.CauseClearance, prev, next, sc, now)
		if err := insertDecision(ctx, tx, &d); err != nil {
			return err
		}
		if err := keepChanges(ctx, tx, g.plan, changes, hep.CauseClearance, sc, ex.ID, now); err != nil {
			return err
		}
		changed = changedIDs(g.plan, changes)
		return s.appendAudit(ctx, tx, c.PatientID, resClearance(c.PatientID, c.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Clearance{}, nil, err
	}
	return c, changed, nil
}

// ListClearances implements hep.Store: live and ended, newest first.
func (s *Store) ListClearances(ctx context.Context, patientID string) ([]hep.Clearance, error) {
	var out []hep.Clearance
	err := s.view(ctx, patientID, resClearances(patientID), func(tx *sql.Tx) (err error) {
		out, err = queryClearances(ctx, tx, clearancesQuery, patientID)
		if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
