package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func resGatingDecisions(patientID string) string {
	return "patients/" + patientID + "/gating_decisions"
}

// reasonJSON is how a hep.Reason is stored inside a JSON column. The names
// are the store's own, so renaming a Go field never changes stored data.
type reasonJSON struct {
	Flag        string `json:"flag,omitempty"`
	Status      string `json:"status,omitempty"`
	Outcome     string `json:"outcome"`
	Source      string `json:"source,omitempty"`
	ClearanceID string `json:"clearance_id,omitempty"`
	RedFlagHold bool   `json:"red_flag_hold,omitempty"`
	Message     string `json:"message,omitempty"`
}

// reasonsText encodes reasons for a JSON column; none is "[]".
func reasonsText(rs []hep.Reason) (string, error) {
	out := make([]reasonJSON, len(rs))
	for i, r := range rs {
		out[i] = reasonJSON{Flag: string(r.Flag), Status: string(r.Status), Outcome: string(r.Outcome), Source: r.Source,
			ClearanceID: r.ClearanceID, RedFlagHold: r.RedFlagHold, Message: r.Message}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// parseReasons decodes a JSON column written by reasonsText; "[]" is nil.
func parseReasons(s string) ([]hep.Reason, error) {
	var in []reasonJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("postgres: stored reasons: %w", err)
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]hep.Reason, len(in))
	for i, r := range in {
		out[i] = hep.Reason{Flag: hep.Flag(r.Flag), Status: hep.FlagStatus(r.Status), Outcome: hep.Outcome(r.Outcome),
			Source: r.Source, ClearanceID: r.ClearanceID, RedFlagHold: r.RedFlagHold, Message: r.Message}
	}
	return out, nil
}

// stringsText encodes a list of strings for a JSON column; none is "[]".
func stringsText(ss []string) (string, error) {
	if ss == nil {
		ss = []string{}
	}
	b, err := json.Marshal(ss)
	return string(b), err
}

// parseStrings decodes a JSON column written by stringsText; "[]" is nil.
func parseStrings(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("postgres: stored list: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// decision returns the trail entry for a gate decision made now by the
// actor in ctx, with the answers it was made from.
func decision(ctx context.Context, patientID string, version int64, d hep.Decision, cause hep.DecisionCause,
	prev, next hep.ItemState, sc hep.Screening, now time.Time) hep.GatingDecision {
	return hep.GatingDecision{
		PatientID: patientID, PlanVersion: version, Decision: d, Cause: cause, PreviousState: prev, NewState: next,
		ScreeningAnswerIDs: sc.AnswerIDs(d.ReasonFlags()), ActorID: hep.ActorFrom(ctx).ID, DecideTime: now,
	}
}

// insertDecision assigns g an id and appends it to the trail.
func insertDecision(ctx context.Context, tx *sql.Tx, g *hep.GatingDecision) error {
	id, err := newID()
	if err != nil {
		return err
	}
	reasons, err := reasonsText(g.Decision.Reasons)
	if err != nil {
		return err
	}
	answers, err := stringsText(g.ScreeningAnswerIDs)
	if err != nil {
		return err
	}
	g.ID = id
	_, err = tx.ExecContext(ctx, `INSERT INTO gating_decisions (id, patient_id, plan_version, exercise_id, outcome, reasons, cause,
			previous_state, new_state, screening_answer_ids, actor_id, decide_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		g.ID, g.PatientID, g.PlanVersion, g.Decision.ExerciseID, string(g.Decision.Outcome), reasons, string(g.Cause),
		string(g.PreviousState), string(g.NewState), answers, g.ActorID, ts(g.DecideTime))
	return err
}

// keepChanges appends a decision per item that hep.Regate changed, except
// for the item of exercise skip (whose decision the caller keeps itself).
func keepChanges(ctx context.Context, tx *sql.Tx, p hep.Plan, changes []hep.ItemChange, cause hep.DecisionCause,
	sc hep.Screening, skip string, now time.Time) error {
	for _, c := range changes {
		if p.Items[c.Index].Spec.ExerciseID == skip {
			continue
		}
		g := decision(ctx, p.PatientID, p.Version, c.Decision, cause, c.Old, c.New, sc, now)
		if err := insertDecision(ctx, tx, &g); err != nil {
			return err
		}
	}
	return nil
}

const decisionColumns = `id, patient_id, plan_version, exercise_id, outcome, reasons, cause, previous_state, new_state,
	screening_answer_ids, actor_id, decide_time`

func scanDecision(sc interface{ Scan(...any) error }) (hep.GatingDecision, error) {
	var g hep.GatingDecision
	var outcome, reasons, cause, prev, next, answers string
	err := sc.Scan(&g.ID, &g.PatientID, &g.PlanVersion, &g.Decision.ExerciseID, &outcome, &reasons, &cause, &prev, &next,
		&answers, &g.ActorID, tcol(&g.DecideTime))
	if err != nil {
		return g, err
	}
	g.Decision.Outcome, g.Cause = hep.Outcome(outcome), hep.DecisionCause(cause)
	g.PreviousState, g.NewState = hep.ItemState(prev), hep.ItemState(next)
	if g.Decision.Reasons, err = parseReasons(reasons); err != nil {
		return g, err
	}
	g.ScreeningAnswerIDs, err = parseStrings(answers)
	return g, err
}

// decisionsQuery pages a patient's trail newest first on
// gating_decisions_patient.
const decisionsQuery = "SELECT " + decisionColumns + " FROM gating_decisions WHERE patient_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"

// ListGatingDecisions implements hep.Store.
func (s *Store) ListGatingDecisions(ctx context.Context, f hep.DecisionFilter) ([]hep.GatingDecision, error) {
	var out []hep.GatingDecision
	err := s.view(ctx, f.PatientID, resGatingDecisions(f.PatientID), func(tx *sql.Tx) error {
		got, err := queryAll(ctx, tx, scanDecision, decisionsQuery, f.PatientID, before(f.Before), limit(f.Limit))
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

// before is the upper bound of a newest-first page keyed on a UUIDv7 id:
// "" (the first page) is above every id, since ids are lower-case hex and
// "~" sorts after all of it.
func before(id string) string {
	if id == "" {
		return "~"
	}
	return id
}
