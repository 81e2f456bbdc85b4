package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/hepclinic/hep/internal/hep"
)

const resExercises = "exercises"

func resExercise(id string) string { return "exercises/" + id }

const exerciseColumns = `id, kind, name, instructions, sets, reps, hold_seconds, duration_seconds, angle_degrees, force_kg,
	requires_clearance, built_in, retired, catalog_version, create_time`

// exerciseOrder is the catalog's order: built-in entries by id, then clinic
// entries in creation order.
const exerciseOrder = " ORDER BY built_in DESC, CASE built_in WHEN 1 THEN id END, create_seq"

func scanExercise(sc interface{ Scan(...any) error }) (hep.Exercise, error) {
	var e hep.Exercise
	var kind string
	d := &e.DefaultDose
	err := sc.Scan(&e.ID, &kind, &e.Name, &e.Instructions, &d.Sets, &d.Reps, &d.HoldSeconds, &d.DurationSeconds,
		&d.AngleDegrees, &d.ForceKg, &e.RequiresClearance, &e.BuiltIn, &e.Retired, &e.CatalogVersion, tcol(&e.CreateTime))
	e.Kind = hep.Kind(kind)
	return e, err
}

// ruleQuery reads rules in the order they were written.
const ruleQuery = "SELECT exercise_id, flag, severity, source FROM exercise_rules"

// queryExercises reads the entries that where selects (with args), in
// catalog order, with their rules.
func queryExercises(ctx context.Context, q querier, where string, args ...any) ([]hep.Exercise, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+exerciseColumns+" FROM exercises"+where+exerciseOrder, args...)
	if err != nil {
		return nil, err
	}
	var out []hep.Exercise
	index := map[string]int{}
	for rows.Next() {
		e, err := scanExercise(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		index[e.ID] = len(out)
		out = append(out, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	// The catalog is small: one pass over every rule beats a query per
	// entry. A single entry reads only its own.
	rq, rargs := ruleQuery+" ORDER BY exercise_id, position", []any(nil)
	if len(out) == 1 {
		rq, rargs = ruleQuery+" WHERE exercise_id = $1 ORDER BY position", []any{out[0].ID}
	}
	rows, err = q.QueryContext(ctx, rq, rargs...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, flag, severity string
		var r hep.Rule
		if err := rows.Scan(&id, &flag, &severity, &r.Source); err != nil {
			rows.Close()
			return nil, err
		}
		r.Flag, r.Severity = hep.Flag(flag), hep.Severity(severity)
		if i, ok := index[id]; ok {
			out[i].Rules = append(out[i].Rules, r)
		}
	}
	return out, closeRows(rows)
}

// getExercise reads one entry with its rules; NOT_FOUND if there is none.
func getExercise(ctx context.Context, q querier, id string) (hep.Exercise, error) {
	list, err := queryExercises(ctx, q, " WHERE id = $1", id)
	if err != nil {
		return hep.Exercise{}, err
	}
	if len(list) == 0 {
		return hep.Exercise{}, hep.NotFound("exercise")
	}
	return list[0], nil
}

// loadCatalog reads the whole catalog, retired entries included: the gate
// needs them for plans that still hold them.
func loadCatalog(ctx context.Context, q querier) (hep.Catalog, error) {
	list, err := queryExercises(ctx, q, "")
	if err != nil {
		return nil, err
	}
	cat := make(hep.Catalog, len(list))
	for _, e := range list {
		cat[e.ID] = e
	}
	return cat, nil
}

// ListExercises implements hep.Store.
func (s *Store) ListExercises(ctx context.Context, includeRetired bool) ([]hep.Exercise, error) {
	where := " WHERE retired = 0"
	if includeRetired {
		where = ""
	}
	var out []hep.Exercise
	err := s.view(ctx, "", resExercises, func(tx *sql.Tx) (err error) {
		if out, err = queryExercises(ctx, tx, where); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetExercise implements hep.Store.
func (s *Store) GetExercise(ctx context.Context, id string) (hep.Exercise, error) {
	var e hep.Exercise
	err := s.view(ctx, "", resExercise(id), func(tx *sql.Tx) (err error) {
		if e, err = getExercise(ctx, tx, id); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return hep.Exercise{}, err
	}
	return e, nil
}

var errExerciseTaken = hep.Errorf(hep.CodeAlreadyExists, "a catalog entry with this id exists")

// CreateExercise implements hep.Store. The entry keeps its rules in the
// order given.
func (s *Store) CreateExercise(ctx context.Context, in hep.Exercise) (hep.Exercise, error) {
	e := in
	e.BuiltIn, e.Retired, e.CatalogVersion = false, false, 0
	e.Rules = append([]hep.Rule(nil), in.Rules...)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		e.CreateTime = s.now()
		d := e.DefaultDose
		_, err := tx.ExecContext(ctx, `INSERT INTO exercises (id, kind, name, instructions, sets, reps, hold_seconds,
				duration_seconds, angle_degrees, force_kg, requires_clearance, built_in, retired, catalog_version, create_seq, create_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 0, 0, (SELECT COALESCE(MAX(create_seq), 0) + 1 FROM exercises), $12)`,
			e.ID, string(e.Kind), e.Name, e.Instructions, d.Sets, d.Reps, d.HoldSeconds, d.DurationSeconds, d.AngleDegrees,
			d.ForceKg, b2i(e.RequiresClearance), ts(e.CreateTime))
		if isUnique(err, "exercises.id") {
			return errExerciseTaken
		}
		if isUnique(err, "exercises.create_seq") {
			return errRetry // a concurrent CreateExercise took the number
		}
		if err != nil {
			return err
		}
		for i, r := range e.Rules {
			if _, err := tx.ExecContext(ctx, "INSERT INTO exercise_rules (exercise_id, flag, severity, source, position) VALUES ($1, $2, $3, $4, $5)",
				e.ID, string(r.Flag), string(r.Severity), r.Source, i); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, "", resExercise(e.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Exercise{}, err
	}
	return e, nil
}

// RetireExercise implements hep.Store. Retiring keeps the entry (plans,
// logs and decisions name it); it only leaves the list and new plans.
func (s *Store) RetireExercise(ctx context.Context, id string) (hep.Exercise, error) {
	var e hep.Exercise
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		var one int
		err = tx.QueryRowContext(ctx, "SELECT 1 FROM exercises WHERE id = $1 FOR NO KEY UPDATE", id).Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if e, err = getExercise(ctx, tx, id); err != nil {
			return err
		}
		if e.BuiltIn {
			return hep.Errorf(hep.CodeFailedPrecondition, "%s is a built-in entry and cannot be retired", id)
		}
		if !e.Retired {
			if _, err := tx.ExecContext(ctx, "UPDATE exercises SET retired = 1 WHERE id = $1", id); err != nil {
				return err
			}
			e.Retired = true
			if err := s.bumpHolders(ctx, tx, id); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, "", resExercise(id), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Exercise{}, err
	}
	return e, nil
}
