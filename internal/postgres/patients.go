package postgres

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/hepclinic/hep/internal/hep"
)

const patientColumns = "p.id, p.display_name, p.time_zone, p.external_mrn, p.create_time, p.update_time"

func scanPatient(sc interface{ Scan(...any) error }) (hep.Patient, error) {
	var p hep.Patient
	err := sc.Scan(&p.ID, &p.DisplayName, &p.TimeZone, &p.ExternalMRN, tcol(&p.CreateTime), tcol(&p.UpdateTime))
	return p, err
}

func getPatient(ctx context.Context, q querier, id string) (hep.Patient, error) {
	p, err := scanPatient(q.QueryRowContext(ctx, "SELECT "+patientColumns+" FROM patients p WHERE p.id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, hep.NotFound("patient")
	}
	return p, err
}

// CreatePatient implements hep.Store. The patient and its first care-team
// member are one transaction, so no patient is ever unreachable.
func (s *Store) CreatePatient(ctx context.Context, in hep.PatientCreate, clinicianID string) (hep.Patient, error) {
	var p hep.Patient
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkClinician(ctx, tx, clinicianID); err != nil {
			return err
		}
		id, err := newID()
		if err != nil {
			return err
		}
		now := s.now()
		p = hep.Patient{ID: id, DisplayName: in.DisplayName, TimeZone: in.TimeZone, ExternalMRN: in.ExternalMRN, CreateTime: now, UpdateTime: now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO patients (id, display_name, time_zone, external_mrn, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6)`, p.ID, p.DisplayName, p.TimeZone, p.ExternalMRN, ts(now), ts(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO care_team (patient_id, clinician_id, add_time) VALUES ($1, $2, $3)",
			p.ID, clinicianID, ts(now)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, p.ID, resPatient(p.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Patient{}, err
	}
	return p, nil
}

// GetPatient implements hep.Store.
func (s *Store) GetPatient(ctx context.Context, id string) (hep.Patient, error) {
	var p hep.Patient
	err := s.view(ctx, id, resPatient(id), func(tx *sql.Tx) (err error) {
		if p, err = getPatient(ctx, tx, id); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return hep.Patient{}, err
	}
	return p, nil
}

// ListPatients implements hep.Store. Pages are keyed on patient id through
// the care_team (clinician_id, patient_id) index.
func (s *Store) ListPatients(ctx context.Context, f hep.PatientFilter) ([]hep.Patient, error) {
	var out []hep.Patient
	err := s.view(ctx, "", resPatients, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT "+patientColumns+` FROM care_team c JOIN patients p ON p.id = c.patient_id
			WHERE c.clinician_id = $1 AND c.patient_id > $2 ORDER BY c.patient_id LIMIT $3`, f.ClinicianID, f.After, limit(f.Limit))
		if err != nil {
			return err
		}
		out = nil
		for rows.Next() {
			p, err := scanPatient(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, p)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdatePatient implements hep.Store.
func (s *Store) UpdatePatient(ctx context.Context, id string, u hep.PatientUpdate) (hep.Patient, error) {
	var p hep.Patient
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		if err := lockPatient(ctx, tx, id); err != nil {
			return err
		}
		if p, err = getPatient(ctx, tx, id); err != nil {
			return err
		}
		if u.DisplayName != nil {
			p.DisplayName = *u.DisplayName
		}
		zoneChanged := u.TimeZone != nil && *u.TimeZone != p.TimeZone
		if u.TimeZone != nil {
			p.TimeZone = *u.TimeZone
		}
		if u.ExternalMRN != nil {
			p.ExternalMRN = *u.ExternalMRN
		}
		p.UpdateTime = s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE patients SET display_name = $1, time_zone = $2, external_mrn = $3, update_time = $4 WHERE id = $5",
			p.DisplayName, p.TimeZone, p.ExternalMRN, ts(p.UpdateTime), id); err != nil {
			return err
		}
		// The plan the phones hold carries the zone that says which day
		// it is for the patient.
		if zoneChanged {
			if _, err := s.bump(ctx, tx, id, hep.KindPlan, hep.CurrentID, false); err != nil {
				return err
			}
			// So does the questionnaires record, whose schedules are in
			// the patient's days.
			var active int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM questionnaire_assignments WHERE patient_id = $1 AND end_time IS NULL", id).
				Scan(&active); err != nil {
				return err
			}
			if active > 0 {
				if _, err := s.bump(ctx, tx, id, hep.KindQuestionnaires, hep.CurrentID, false); err != nil {
					return err
				}
			}
		}
		return s.appendAudit(ctx, tx, id, resPatient(id), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Patient{}, err
	}
	return p, nil
}

// PatientExists implements hep.Store.
func (s *Store) PatientExists(ctx context.Context, patientID string) (bool, error) {
	ok, err := patientExists(ctx, s.r, patientID)
	return ok, mapErr(err)
}

// lockPatient takes the patient's lock, its row FOR NO KEY UPDATE, held to
// the end of tx: the first statement of every transaction that writes the
// patient's data (see the package doc, "Lock order"). NOT_FOUND if there
// is no such patient.
func lockPatient(ctx context.Context, tx *sql.Tx, patientID string) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM patients WHERE id = $1 FOR NO KEY UPDATE", patientID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return hep.NotFound("patient")
	}
	return err
}

// lockPatients takes the locks of several patients, in id order (so two
// such transactions never wait for each other in a cycle); unknown ids
// are skipped.
func lockPatients(ctx context.Context, tx *sql.Tx, ids []string) error {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	for _, id := range sorted {
		if err := lockPatient(ctx, tx, id); err != nil && hep.ErrorCode(err) != hep.CodeNotFound {
			return err
		}
	}
	return nil
}
