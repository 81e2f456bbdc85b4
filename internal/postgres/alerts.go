package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

func resAlerts(patientID string) string { return "patients/" + patientID + "/alerts" }

func resAlert(patientID, id string) string { return resAlerts(patientID) + "/" + id }

const alertColumns = `id, patient_id, kind, severity, status, summary, create_time, ack_by, ack_note, ack_time, "trigger",
	subject, occurrences, latest_time`

func scanAlert(sc interface{ Scan(...any) error }) (hep.Alert, error) {
	var a hep.Alert
	var kind, severity, status string
	var ackBy sql.NullString
	err := sc.Scan(&a.ID, &a.PatientID, &kind, &severity, &status, &a.Summary, tcol(&a.CreateTime), &ackBy, &a.AckNote, tcol(&a.AckTime),
		&a.Trigger, &a.Subject, &a.Occurrences, tcol(&a.LatestTime))
	a.Kind, a.Severity, a.Status, a.AckBy = hep.AlertKind(kind), hep.AlertSeverity(severity), hep.AlertStatus(status), ackBy.String
	return a, err
}

// Raising an alert (migrations/0005_alert_occurrences.sql): the occurrence
// is stored first, unless its trigger is stored already; then the alert
// it belongs to is inserted or updated as hep.Coalesce says. The
// occurrence's reference to its alert is checked at commit, so the
// occurrence can go first and decide whether anything happens.
const (
	// openAlertQuery reads the patient's open alert of a kind and subject,
	// on alerts_open_key.
	openAlertQuery = "SELECT " + alertColumns + " FROM alerts WHERE patient_id = $1 AND kind = $2 AND subject = $3 AND status = 'OPEN'"
	// insertOccurrenceQuery stores an occurrence unless the patient has one
	// of its kind and (non-empty) trigger (alert_occurrences_trigger).
	insertOccurrenceQuery = `INSERT INTO alert_occurrences (id, alert_id, patient_id, kind, "trigger", occur_time, summary)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`
	insertAlertQuery = `INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time, "trigger", subject,
		occurrences, latest_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	// foldAlertQuery records one more occurrence in an open alert.
	foldAlertQuery = `UPDATE alerts SET severity = $1, summary = $2, occurrences = $3, latest_time = $4
		WHERE id = $5 AND status = 'OPEN' AND occurrences = $6`
)

// raiseAlert stores one occurrence of a (an alert a rule raised) and folds
// it into the patient's open alert of its kind and subject, or opens one.
// raised is false, and nothing changes, if the patient has an occurrence
// of a's kind and trigger already. On success *a is the alert as stored.
//
// The caller holds the patient's row lock (every writer of a patient's
// data takes it first), so no other transaction raises an alert of the
// patient between the read of the open alert and the write: two replicas
// raising the same alert take turns, and the second folds into the first's
// alert or, for the same trigger, raises nothing. alerts_open_key and
// alert_occurrences_trigger refuse a duplicate should a caller forget the
// lock (the fold's occurrences check too).
func (s *Store) raiseAlert(ctx context.Context, tx *sql.Tx, a *hep.Alert, now time.Time) (raised bool, err error) {
	var open *hep.Alert
	cur, err := scanAlert(tx.QueryRowContext(ctx, openAlertQuery, a.PatientID, string(a.Kind), a.Subject))
	switch {
	case err == nil:
		open = &cur
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	next, occ := hep.Coalesce(open, *a, now)
	if next.ID == "" {
		if next.ID, err = newID(); err != nil {
			return false, err
		}
	}
	if occ.ID, err = newID(); err != nil {
		return false, err
	}
	occ.AlertID = next.ID
	res, err := tx.ExecContext(ctx, insertOccurrenceQuery, occ.ID, occ.AlertID, occ.PatientID, string(occ.Kind), occ.Trigger, ts(occ.Time), occ.Summary)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	// Without the patient's lock another transaction may have opened the
	// alert, or folded into it, since it was read: alerts_open_key refuses
	// the second open alert and the fold's occurrences check finds the
	// change. Either way the transaction runs again (errRetry) and reads
	// what the other committed.
	if open == nil {
		_, err = tx.ExecContext(ctx, insertAlertQuery, next.ID, next.PatientID, string(next.Kind), string(next.Severity), string(next.Status),
			next.Summary, ts(next.CreateTime), next.Trigger, next.Subject, next.Occurrences, ts(next.LatestTime))
		if isUnique(err, "alerts.") {
			err = errRetry
		}
	} else {
		var res sql.Result
		if res, err = tx.ExecContext(ctx, foldAlertQuery, string(next.Severity), next.Summary, next.Occurrences, ts(next.LatestTime), next.ID,
			open.Occurrences); err == nil {
			var n int64
			if n, err = res.RowsAffected(); err == nil && n != 1 {
				err = errRetry
			}
		}
	}
	if err != nil {
		return false, err
	}
	observed(tx).AlertRaised(next.Kind)
	*a = next
	return true, nil
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
	if _, err := tx.ExecContext(ctx, "UPDATE patients SET red_flag_hold = $1 WHERE id = $2", b2i(hold), patientID); err != nil {
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
		if err := lockPatient(ctx, tx, patientID); err != nil {
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
	id, err := newID()
	if err != nil {
		return hep.Alert{}, err
	}
	a := hep.RedFlagAlert(patientID, id, symptoms)
	now := s.now()
	if ok, err := s.raiseAlert(ctx, tx, &a, now); err != nil {
		return hep.Alert{}, err
	} else if !ok { // cannot happen: its occurrence has no trigger
		return hep.Alert{}, errors.New("postgres: a red-flag report raised no alert")
	}
	list, err := json.Marshal(symptoms)
	if err != nil {
		return hep.Alert{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO red_flag_reports (id, patient_id, symptoms, note, reported_by, report_time, alert_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, patientID, string(list), note, hep.ActorFrom(ctx).ID, ts(now), a.ID); err != nil {
		return hep.Alert{}, err
	}
	if _, err := s.setHold(ctx, tx, patientID, true, now); err != nil {
		return hep.Alert{}, err
	}
	if err := s.notify(ctx, tx, patientID, hep.NoticeRedFlagHold, now); err != nil {
		return hep.Alert{}, err
	}
	return a, nil
}

// alertListQuery returns the query and arguments of a page of alerts,
// newest first, keyed on the id. A patient's alerts are read through
// alerts_patient (or alerts_patient_status). A care team's are walked
// newest first, through alerts_status for a status or the primary key
// otherwise, keeping those of the clinician's patients
// (0004_review.sql has the measurements that chose this plan over reading
// every patient's alerts and sorting them).
func alertListQuery(f hep.AlertFilter) (string, []any) {
	var a params
	var q string
	if f.PatientID != "" {
		q = "SELECT " + alertColumns + " FROM alerts WHERE patient_id = " + a.add(f.PatientID)
	} else {
		q = "SELECT " + alertColumns + " FROM alerts a WHERE true"
	}
	if f.Before != "" {
		q += " AND id < " + a.add(f.Before)
	}
	if f.Status != "" {
		q += " AND status = " + a.add(string(f.Status))
	}
	if len(f.Kinds) > 0 {
		kinds := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = string(k)
		}
		q += " AND kind = ANY(" + a.add(kinds) + "::text[])"
	}
	if f.Severity != "" {
		q += " AND severity = " + a.add(string(f.Severity))
	}
	if f.PatientID == "" {
		q += " AND EXISTS (SELECT 1 FROM care_team c WHERE c.patient_id = a.patient_id AND c.clinician_id = " + a.add(f.ClinicianID) + ")"
	}
	return q + " ORDER BY id DESC LIMIT " + a.add(limit(f.Limit)), a
}

// params collects the arguments of a query built piece by piece.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
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
const alertQuery = "SELECT " + alertColumns + " FROM alerts WHERE id = $1 AND patient_id = $2"

// openRedFlagsQuery counts a patient's open RED_FLAG alerts on
// alerts_patient_status.
const openRedFlagsQuery = "SELECT count(*) FROM alerts WHERE patient_id = $1 AND status = 'OPEN' AND kind = 'RED_FLAG'"

// AcknowledgeAlert implements hep.Store. Acknowledging the patient's last
// open RED_FLAG alert lifts the hold and re-gates the plan in the same
// transaction.
func (s *Store) AcknowledgeAlert(ctx context.Context, patientID, alertID, note string, expectedOccurrences int32) (hep.Alert, []string, error) {
	var a hep.Alert
	var changed []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		changed = nil
		if err := lockPatient(ctx, tx, patientID); err != nil {
			if hep.ErrorCode(err) == hep.CodeNotFound {
				return hep.NotFound("alert")
			}
			return err
		}
		var err error
		a, err = scanAlert(tx.QueryRowContext(ctx, alertQuery, alertID, patientID))
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("alert")
		}
		if err != nil {
			return err
		}
		if err := hep.CheckAck(a, expectedOccurrences); err != nil {
			return err
		}
		now := s.now()
		a.Status, a.AckBy, a.AckNote, a.AckTime = hep.AlertAcknowledged, hep.ActorFrom(ctx).ID, note, now
		if _, err := tx.ExecContext(ctx, "UPDATE alerts SET status = $1, ack_by = $2, ack_note = $3, ack_time = $4 WHERE id = $5 AND status = 'OPEN'",
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
				if err := s.notify(ctx, tx, patientID, hep.NoticeHoldLifted, now); err != nil {
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

func resAlertOccurrences(patientID, alertID string) string {
	return resAlert(patientID, alertID) + "/occurrences"
}

const occurrenceColumns = `id, alert_id, patient_id, kind, "trigger", occur_time, summary`

func scanOccurrence(sc interface{ Scan(...any) error }) (hep.AlertOccurrence, error) {
	var o hep.AlertOccurrence
	var kind string
	err := sc.Scan(&o.ID, &o.AlertID, &o.PatientID, &kind, &o.Trigger, tcol(&o.Time), &o.Summary)
	o.Kind = hep.AlertKind(kind)
	return o, err
}

// occurrencesQuery pages an alert's occurrences newest first, on
// alert_occurrences_alert: after the id before, or from the newest if
// before is "" (no text sorts above every id under every collation).
const occurrencesQuery = "SELECT " + occurrenceColumns + ` FROM alert_occurrences
	WHERE alert_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`

// ListAlertOccurrences implements hep.Store: a read, audited in the reads
// chain like every other.
func (s *Store) ListAlertOccurrences(ctx context.Context, f hep.AlertOccurrenceFilter) ([]hep.AlertOccurrence, error) {
	var out []hep.AlertOccurrence
	err := s.view(ctx, f.PatientID, resAlertOccurrences(f.PatientID, f.AlertID), func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM alerts WHERE id = $1 AND patient_id = $2", f.AlertID, f.PatientID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("alert")
		}
		if err != nil {
			return err
		}
		got, err := queryAll(ctx, tx, scanOccurrence, occurrencesQuery, f.AlertID, f.Before, limit(f.Limit))
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
