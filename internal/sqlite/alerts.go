package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func resAlerts(patientID string) string { return "patients/" + patientID + "/alerts" }

func resAlert(patientID, id string) string { return resAlerts(patientID) + "/" + id }

const alertColumns = "id, patient_id, kind, severity, status, summary, create_time, ack_by, ack_note, ack_time"

func scanAlert(sc interface{ Scan(...any) error }) (hep.Alert, error) {
	var a hep.Alert
	var kind, severity, status string
	var ackBy sql.NullString
	err := sc.Scan(&a.ID, &a.PatientID, &kind, &severity, &status, &a.Summary, tcol(&a.CreateTime), &ackBy, &a.AckNote, tcol(&a.AckTime))
	a.Kind, a.Severity, a.Status, a.AckBy = hep.AlertKind(kind), hep.AlertSeverity(severity), hep.AlertStatus(status), ackBy.String
	return a, err
}

// insertAlert assigns a an id and creation time and stores it.
func insertAlert(ctx context.Context, tx *sql.Tx, a *hep.Alert, now time.Time) error {
	id, err := newID()
	if err != nil {
		return err
	}
	a.ID, a.CreateTime = id, now
	_, err = tx.ExecContext(ctx, `INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, a.PatientID, string(a.Kind), string(a.Severity), string(a.Status), a.Summary, ts(now))
	return err
}

// setHold puts the patient's plan on red-flag hold or lifts it, and
// re-gates the current plan under the new hold (decisions: cause RED_FLAG).
// The plan is bumped in the change sequence if the hold or an item changed.
// It returns the exercise ids of the items that changed.
func (s *Store) setHold(ctx context.Context, tx *sql.Tx, patientID string, hold bool, now time.Time) ([]string, error) {
	was, err := redFlagHold(ctx, tx, patientID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE patients SET red_flag_hold = ? WHERE id = ?", hold, patientID); err != nil {
		return nil, err
	}
	sc, err := loadScreening(ctx, tx, patientID)
	if err != nil {
		return nil, err
	}
	g, err := loadGateInputs(ctx, tx, patientID, sc)
	if err != nil {
		return nil, err
	}
	changes, stored, err := regatePlan(ctx, tx, &g.plan, g.cat, sc, g.live, now)
	if err != nil {
		return nil, err
	}
	if err := keepChanges(ctx, tx, g.plan, changes, hep.CauseRedFlag, sc, "", now); err != nil {
		return nil, err
	}
	if stored || was != hold {
		if _, err := s.bump(ctx, tx, patientID, hep.KindPlan, hep.CurrentID, false); err != nil {
			return nil, err
		}
	}
	return changedIDs(g.plan, changes), nil
}

// ReportRedFlags implements hep.Store: reportRedFlags and the audit row, in
// one transaction.
func (s *Store) ReportRedFlags(ctx context.Context, patientID string, symptoms []hep.RedFlag, note string) (hep.Alert, error) {
	var a hep.Alert
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		if err := requirePatient(ctx, tx, patientID); err != nil {
			return err
		}
		if a, err = s.reportRedFlags(ctx, tx, patientID, symptoms, note); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resAlert(patientID, a.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Alert{}, err
	}
	return a, nil
}

// reportRedFlags records a red-flag report of an existing patient by the
// actor in ctx, inside tx (ReportRedFlags, and Push for a check-in with red
// flags): the report, its URGENT alert, the hold and the re-gate.
func (s *Store) reportRedFlags(ctx context.Context, tx *sql.Tx, patientID string, symptoms []hep.RedFlag, note string) (hep.Alert, error) {
	a := hep.RedFlagAlert(patientID, symptoms)
	now := s.now()
	if err := insertAlert(ctx, tx, &a, now); err != nil {
		return hep.Alert{}, err
	}
	list, err := json.Marshal(symptoms)
	if err != nil {
		return hep.Alert{}, err
	}
	id, err := newID()
	if err != nil {
		return hep.Alert{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO red_flag_reports (id, patient_id, symptoms, note, reported_by, report_time, alert_id)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, patientID, string(list), note, hep.ActorFrom(ctx).ID, ts(now), a.ID); err != nil {
		return hep.Alert{}, err
	}
	if _, err := s.setHold(ctx, tx, patientID, true, now); err != nil {
		return hep.Alert{}, err
	}
	return a, nil
}

// alertsQuery pages a patient's alerts newest first, keyed on the id,
// through alerts_patient (or, by status, alerts_patient_status).
func alertsQuery(byStatus bool) string {
	q := "SELECT " + alertColumns + " FROM alerts WHERE patient_id = ? AND id < ?"
	if byStatus {
		q += " AND status = ?"
	}
	return q + " ORDER BY id DESC LIMIT ?"
}

// ListAlerts implements hep.Store.
func (s *Store) ListAlerts(ctx context.Context, f hep.AlertFilter) ([]hep.Alert, error) {
	q := alertsQuery(f.Status != "")
	args := []any{f.PatientID, before(f.Before)}
	if f.Status != "" {
		args = append(args, string(f.Status))
	}
	args = append(args, limit(f.Limit))
	var out []hep.Alert
	err := s.tx(ctx, func(tx *sql.Tx) error {
		got, err := queryAll(ctx, tx, scanAlert, q, args...)
		if err != nil {
			return err
		}
		out = append(out, got...)
		return s.appendAudit(ctx, tx, f.PatientID, resAlerts(f.PatientID), hep.OutcomeOK)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// alertQuery reads one alert of a patient by primary key.
const alertQuery = "SELECT " + alertColumns + " FROM alerts WHERE id = ? AND patient_id = ?"

// openRedFlagsQuery counts a patient's open RED_FLAG alerts on
// alerts_patient_status.
const openRedFlagsQuery = "SELECT count(*) FROM alerts WHERE patient_id = ? AND status = 'OPEN' AND kind = 'RED_FLAG'"

// AcknowledgeAlert implements hep.Store. Acknowledging the patient's last
// open RED_FLAG alert lifts the hold and re-gates the plan in the same
// transaction.
func (s *Store) AcknowledgeAlert(ctx context.Context, patientID, alertID, note string) (hep.Alert, []string, error) {
	var a hep.Alert
	var changed []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAlert(tx.QueryRowContext(ctx, alertQuery, alertID, patientID))
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("alert")
		}
		if err != nil {
			return err
		}
		if a.Status != hep.AlertOpen {
			return hep.Errorf(hep.CodeFailedPrecondition, "the alert is already acknowledged")
		}
		now := s.now()
		a.Status, a.AckBy, a.AckNote, a.AckTime = hep.AlertAcknowledged, hep.ActorFrom(ctx).ID, note, now
		if _, err := tx.ExecContext(ctx, "UPDATE alerts SET status = ?, ack_by = ?, ack_note = ?, ack_time = ? WHERE id = ?",
			string(a.Status), a.AckBy, a.AckNote, ts(now), a.ID); err != nil {
			return err
		}
		if a.Kind == hep.AlertRedFlag {
			var open int
			if err := tx.QueryRowContext(ctx, openRedFlagsQuery, patientID).Scan(&open); err != nil {
				return err
			}
			if open == 0 {
				if changed, err = s.setHold(ctx, tx, patientID, false, now); err != nil {
					return err
				}
			}
		}
		return s.appendAudit(ctx, tx, patientID, resAlert(patientID, a.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Alert{}, nil, err
	}
	return a, changed, nil
}
