package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func resAlerts(patientID string) string { return "patients/" + patientID + "/alerts" }

func resAlert(patientID, id string) string { return resAlerts(patientID) + "/" + id }

const alertColumns = `id, patient_id, kind, severity, status, summary, create_time, ack_by, ack_note, ack_time, "trigger"`

func scanAlert(sc interface{ Scan(...any) error }) (hep.Alert, error) {
	var a hep.Alert
	var kind, severity, status string
	var ackBy sql.NullString
	err := sc.Scan(&a.ID, &a.PatientID, &kind, &severity, &status, &a.Summary, tcol(&a.CreateTime), &ackBy, &a.AckNote, tcol(&a.AckTime),
		&a.Trigger)
	a.Kind, a.Severity, a.Status, a.AckBy = hep.AlertKind(kind), hep.AlertSeverity(severity), hep.AlertStatus(status), ackBy.String
	return a, err
}

// insertAlert assigns a an id and creation time and stores it. An alert
// with a trigger goes through insertTriggered instead, which skips it if
// the patient has one of its kind and trigger.
func insertAlert(ctx context.Context, tx *sql.Tx, a *hep.Alert, now time.Time) error {
	id, err := newID()
	if err != nil {
		return err
	}
	a.ID, a.CreateTime = id, now
	_, err = tx.ExecContext(ctx, `INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time, "trigger")
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.PatientID, string(a.Kind), string(a.Severity), string(a.Status), a.Summary, ts(now),
		a.Trigger)
	if err == nil {
		observed(tx).AlertRaised(a.Kind)
	}
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
	f := hep.AlertFilter{PatientID: "-"}
	if byStatus {
		f.Status = hep.AlertOpen
	}
	q, _ := alertListQuery(f)
	return q
}

// alertListQuery returns the query and arguments of a page of alerts,
// newest first, keyed on the id. A patient's alerts are read through
// alerts_patient (or alerts_patient_status). A care team's are walked
// newest first, through alerts_status for a status or the primary key
// otherwise, keeping those of the clinician's patients
// (0004_review.sql has the measurements that chose this plan over reading
// every patient's alerts and sorting them).
func alertListQuery(f hep.AlertFilter) (string, []any) {
	var q string
	var args []any
	if f.PatientID != "" {
		q = "SELECT " + alertColumns + " FROM alerts WHERE patient_id = ? AND id < ?"
		args = append(args, f.PatientID, before(f.Before))
	} else {
		q = "SELECT " + alertColumns + " FROM alerts a WHERE a.id < ?"
		args = append(args, before(f.Before))
	}
	if f.Status != "" {
		q += " AND status = ?"
		args = append(args, string(f.Status))
	}
	if len(f.Kinds) > 0 {
		q += " AND kind IN (?" + strings.Repeat(", ?", len(f.Kinds)-1) + ")"
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
	}
	if f.Severity != "" {
		q += " AND severity = ?"
		args = append(args, string(f.Severity))
	}
	if f.PatientID == "" {
		q += " AND EXISTS (SELECT 1 FROM care_team c WHERE c.patient_id = a.patient_id AND c.clinician_id = ?)"
		args = append(args, f.ClinicianID)
	}
	return q + " ORDER BY id DESC LIMIT ?", append(args, limit(f.Limit))
}

// ListAlerts implements hep.Store: a patient's alerts, or with no patient
// those of the clinician's care-team patients (audited once, as a read of
// the care team's alerts).
func (s *Store) ListAlerts(ctx context.Context, f hep.AlertFilter) ([]hep.Alert, error) {
	q, args := alertListQuery(f)
	res := resAlerts(f.PatientID)
	if f.PatientID == "" {
		res = resCareTeamAlerts
	}
	var out []hep.Alert
	err := s.view(ctx, f.PatientID, res, func(tx *sql.Tx) error {
		got, err := queryAll(ctx, tx, scanAlert, q, args...)
		if err != nil {
			return err
		}
		out = append(out[:0], got...)
		return nil
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
