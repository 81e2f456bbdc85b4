package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func resPlan(patientID string) string { return "patients/" + patientID + "/plan" }

func resPlanVersion(patientID string, version int64) string {
	return resPlan(patientID) + "/" + strconv.FormatInt(version, 10)
}

// dateText stores a calendar day as YYYY-MM-DD; the zero Date is NULL.
func dateText(d hep.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

// parseDate reads a stored YYYY-MM-DD; NULL is the zero Date.
func parseDate(s sql.NullString) (hep.Date, error) {
	if !s.Valid {
		return hep.Date{}, nil
	}
	t, err := time.Parse(time.DateOnly, s.String)
	if err != nil {
		return hep.Date{}, fmt.Errorf("postgres: stored date %q: %w", s.String, err)
	}
	return hep.Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}, nil
}

// weekdayMask stores listed weekdays as bits (Sunday 1 ... Saturday 64).
func weekdayMask(ds []time.Weekday) int64 {
	var m int64
	for _, d := range ds {
		m |= 1 << uint(d)
	}
	return m
}

// weekdays reads a mask back, Sunday first; 0 is nil.
func weekdays(m int64) []time.Weekday {
	var out []time.Weekday
	for d := time.Sunday; d <= time.Saturday; d++ {
		if m&(1<<uint(d)) != 0 {
			out = append(out, d)
		}
	}
	return out
}

// versionQuery finds the current version at the end of the patient's
// primary-key range.
const versionQuery = "SELECT COALESCE(MAX(version), 0) FROM plans WHERE patient_id = $1"

// itemsQuery reads a version's items in position order by primary key.
const itemsQuery = "SELECT " + itemColumns + " FROM plan_items WHERE patient_id = $1 AND version = $2 ORDER BY position"

// currentVersion returns the patient's current plan version, 0 if none.
func currentVersion(ctx context.Context, q querier, patientID string) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, versionQuery, patientID).Scan(&v)
	return v, err
}

// redFlagHold reports whether the patient's plan is on red-flag hold
// (false for an unknown patient).
func redFlagHold(ctx context.Context, q querier, patientID string) (bool, error) {
	var hold bool
	err := q.QueryRowContext(ctx, "SELECT red_flag_hold FROM patients WHERE id = $1", patientID).Scan(&hold)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return hold, err
}

const itemColumns = `exercise_id, sets, reps, hold_seconds, duration_seconds, angle_degrees, force_kg, times_per_day,
	days_per_week, weekdays, start_date, end_date, notes, state, state_reasons, state_time`

func scanItem(sc interface{ Scan(...any) error }) (hep.PlanItem, error) {
	var it hep.PlanItem
	sp, d := &it.Spec, &it.Spec.Dose
	var mask int64
	var start, end sql.NullString
	var state, reasons string
	err := sc.Scan(&sp.ExerciseID, &d.Sets, &d.Reps, &d.HoldSeconds, &d.DurationSeconds, &d.AngleDegrees, &d.ForceKg,
		&sp.Frequency.TimesPerDay, &sp.Frequency.DaysPerWeek, &mask, &start, &end, &sp.Notes, &state, &reasons, tcol(&it.StateTime))
	if err != nil {
		return it, err
	}
	sp.Frequency.Weekdays = weekdays(mask)
	it.State = hep.ItemState(state)
	if sp.StartDate, err = parseDate(start); err != nil {
		return it, err
	}
	if sp.EndDate, err = parseDate(end); err != nil {
		return it, err
	}
	it.StateReasons, err = parseReasons(reasons)
	return it, err
}

// loadPlan reads plan version v of a patient (0: the current one, which is
// Plan{PatientID, Version: 0} for a patient without a plan) with its items
// in position order and the patient's hold. NOT_FOUND for an unknown
// version.
func loadPlan(ctx context.Context, q querier, patientID string, version int64) (hep.Plan, error) {
	p := hep.Plan{PatientID: patientID}
	var err error
	if p.RedFlagHold, err = redFlagHold(ctx, q, patientID); err != nil {
		return hep.Plan{}, err
	}
	err = q.QueryRowContext(ctx, "SELECT time_zone FROM patients WHERE id = $1", patientID).Scan(&p.TimeZone)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return hep.Plan{}, err
	}
	if version == 0 {
		if version, err = currentVersion(ctx, q, patientID); err != nil || version == 0 {
			return p, err
		}
	}
	err = q.QueryRowContext(ctx, "SELECT version, note, author_id, create_time FROM plans WHERE patient_id = $1 AND version = $2",
		patientID, version).Scan(&p.Version, &p.Note, &p.AuthorID, tcol(&p.CreateTime))
	if errors.Is(err, sql.ErrNoRows) {
		return hep.Plan{}, hep.NotFound("plan version")
	}
	if err != nil {
		return hep.Plan{}, err
	}
	got, err := queryAll(ctx, q, scanItem, itemsQuery, patientID, version)
	if err != nil {
		return hep.Plan{}, err
	}
	p.Items = append(p.Items, got...)
	return p, nil
}

// gateInputs is what the gate needs besides the screening: the catalog,
// the live clearances, and the current plan with the hold.
type gateInputs struct {
	cat  hep.Catalog
	live []hep.Clearance
	plan hep.Plan
}

func loadGateInputs(ctx context.Context, q querier, patientID string, sc hep.Screening) (gateInputs, error) {
	var g gateInputs
	var err error
	if g.cat, err = loadCatalog(ctx, q); err != nil {
		return g, err
	}
	if g.live, err = liveClearances(ctx, q, patientID); err != nil {
		return g, err
	}
	g.plan, err = loadPlan(ctx, q, patientID, 0)
	return g, err
}

// regatePlan re-gates the stored plan p in place with hep.Regate and
// stores every item whose state or reasons changed (Regate updates reasons
// even when the state stays). It returns Regate's state changes and
// whether it stored any item: the phone's copy of the plan is then stale.
func regatePlan(ctx context.Context, tx *sql.Tx, p *hep.Plan, cat hep.Catalog, sc hep.Screening, live []hep.Clearance,
	now time.Time) ([]hep.ItemChange, bool, error) {
	old := slices.Clone(p.Items)
	changes := hep.Regate(p, cat, sc, live, now)
	stored := false
	for i, it := range p.Items {
		if it.State == old[i].State && it.StateTime.Equal(old[i].StateTime) && slices.Equal(it.StateReasons, old[i].StateReasons) {
			continue
		}
		reasons, err := reasonsText(it.StateReasons)
		if err != nil {
			return nil, false, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE plan_items SET state = $1, state_reasons = $2, state_time = $3
			WHERE patient_id = $4 AND version = $5 AND position = $6`,
			string(it.State), reasons, ts(it.StateTime), p.PatientID, p.Version, i); err != nil {
			return nil, false, err
		}
		stored = true
	}
	return changes, stored, nil
}

// changedIDs returns the exercise ids of the changed items.
func changedIDs(p hep.Plan, changes []hep.ItemChange) []string {
	var out []string
	for _, c := range changes {
		out = append(out, p.Items[c.Index].Spec.ExerciseID)
	}
	return out
}

// GetPlan implements hep.Store.
func (s *Store) GetPlan(ctx context.Context, patientID string, version int64) (hep.Plan, error) {
	var p hep.Plan
	err := s.read(ctx, func(tx *sql.Tx) (err error) {
		p, err = loadPlan(ctx, tx, patientID, version)
		return err
	})
	if err == nil { // the row names the version read, known only now
		err = s.auditRead(ctx, patientID, resPlanVersion(patientID, p.Version))
	}
	if err != nil {
		return hep.Plan{}, err
	}
	return p, nil
}

// SetPlan implements hep.Store. The version check, validation, gate and
// write are one transaction under the write lock, so two writers with the
// same expected version cannot both succeed. A refusal is kept in a second
// transaction of its own, after the first has rolled back.
func (s *Store) SetPlan(ctx context.Context, patientID string, in hep.PlanInput) (hep.Plan, error) {
	var p hep.Plan
	var refused []hep.GatingDecision
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := lockPatient(ctx, tx, patientID); err != nil {
			return err
		}
		sc, err := loadScreening(ctx, tx, patientID)
		if err != nil {
			return err
		}
		g, err := loadGateInputs(ctx, tx, patientID, sc)
		if err != nil {
			return err
		}
		if in.ExpectedVersion != g.plan.Version {
			return &hep.Error{Code: hep.CodeAborted, Reason: hep.ReasonVersionMismatch,
				Message: fmt.Sprintf("plan version is %d, not %d", g.plan.Version, in.ExpectedVersion)}
		}
		if err := hep.ValidateItems(in.Items, g.cat, g.plan); err != nil {
			return err
		}
		now := s.now()
		ds, gerr := hep.GateItems(in.Items, g.cat, sc, g.live)
		if gerr != nil {
			for _, d := range ds {
				if d.Outcome != hep.OutcomeAllowed {
					refused = append(refused, decision(ctx, patientID, g.plan.Version, d, hep.CausePlanRefused, "", "", sc, now))
				}
			}
			return gerr
		}
		actor := hep.ActorFrom(ctx)
		p = hep.Plan{PatientID: patientID, Version: g.plan.Version + 1, Note: in.Note, AuthorID: actor.ID, CreateTime: now,
			RedFlagHold: g.plan.RedFlagHold, TimeZone: g.plan.TimeZone}
		if _, err := tx.ExecContext(ctx, "INSERT INTO plans (patient_id, version, note, author_id, create_time) VALUES ($1, $2, $3, $4, $5)",
			patientID, p.Version, p.Note, p.AuthorID, ts(now)); err != nil {
			return err
		}
		for i, spec := range in.Items {
			it := hep.PlanItem{Spec: spec, StateTime: now}
			it.Spec.Frequency.Weekdays = weekdays(weekdayMask(spec.Frequency.Weekdays)) // as it reads back
			it.State, it.StateReasons = hep.StateFor(ds[i], p.RedFlagHold)
			if err := insertItem(ctx, tx, patientID, p.Version, i, it); err != nil {
				return err
			}
			p.Items = append(p.Items, it)
			for _, r := range ds[i].Reasons {
				if r.Cleared() {
					kept := decision(ctx, patientID, p.Version, ds[i], hep.CausePlanWritten, "", it.State, sc, now)
					if err := insertDecision(ctx, tx, &kept); err != nil {
						return err
					}
					break
				}
			}
		}
		if _, err := s.bump(ctx, tx, patientID, hep.KindPlan, hep.CurrentID, false); err != nil {
			return err
		}
		if err := s.bumpExercises(ctx, tx, patientID, p.Items); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resPlanVersion(patientID, p.Version), hep.OutcomeOK)
	})
	if err != nil && refused != nil {
		// The plan is refused; what the gate decided is kept all the same.
		if kerr := s.tx(ctx, func(tx *sql.Tx) error {
			if err := lockPatient(ctx, tx, patientID); err != nil {
				return err
			}
			for i := range refused {
				if err := insertDecision(ctx, tx, &refused[i]); err != nil {
					return err
				}
			}
			return nil
		}); kerr != nil {
			return hep.Plan{}, kerr
		}
	}
	if err != nil {
		return hep.Plan{}, err
	}
	return p, nil
}

func insertItem(ctx context.Context, tx *sql.Tx, patientID string, version int64, position int, it hep.PlanItem) error {
	sp, d := it.Spec, it.Spec.Dose
	reasons, err := reasonsText(it.StateReasons)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO plan_items (patient_id, version, position, exercise_id, sets, reps, hold_seconds,
			duration_seconds, angle_degrees, force_kg, times_per_day, days_per_week, weekdays, start_date, end_date, notes,
			state, state_reasons, state_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		patientID, version, position, sp.ExerciseID, d.Sets, d.Reps, d.HoldSeconds, d.DurationSeconds, d.AngleDegrees, d.ForceKg,
		sp.Frequency.TimesPerDay, sp.Frequency.DaysPerWeek, weekdayMask(sp.Frequency.Weekdays), sp.StartDate.String(),
		dateText(sp.EndDate), sp.Notes, string(it.State), reasons, ts(it.StateTime))
	return err
}

// CheckPlan implements hep.Store: the validation and gate of SetPlan
// against the current version, screening and live clearances, writing
// nothing but the audit row.
func (s *Store) CheckPlan(ctx context.Context, patientID string, items []hep.ItemSpec) ([]hep.Decision, error) {
	var ds []hep.Decision
	err := s.view(ctx, patientID, resPlan(patientID), func(tx *sql.Tx) error {
		if err := requirePatient(ctx, tx, patientID); err != nil {
			return err
		}
		sc, err := loadScreening(ctx, tx, patientID)
		if err != nil {
			return err
		}
		g, err := loadGateInputs(ctx, tx, patientID, sc)
		if err != nil {
			return err
		}
		if err := hep.ValidateItems(items, g.cat, g.plan); err != nil {
			return err
		}
		// A dry run reports blocked items in its decisions, not as an error.
		ds, _ = hep.GateItems(items, g.cat, sc, g.live)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}
