package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/hepclinic/hep/internal/hep"
)

// checkClinician keeps care teams to enabled clinician accounts: NOT_FOUND
// for an unknown account, FAILED_PRECONDITION for an admin or a disabled
// clinician. It is an integrity rule of the care_team table that SQL cannot
// express as a constraint (it spans two tables and a state).
func checkClinician(ctx context.Context, q querier, id string) error {
	var role string
	var disabled bool
	err := q.QueryRowContext(ctx, "SELECT role, disabled FROM accounts WHERE id = $1", id).Scan(&role, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return hep.NotFound("account")
	}
	if err != nil {
		return err
	}
	if hep.Role(role) != hep.RoleClinician || disabled {
		return hep.Errorf(hep.CodeFailedPrecondition, "the account is not an enabled clinician")
	}
	return nil
}

const memberQuery = `SELECT c.patient_id, c.clinician_id, a.display_name, c.add_time
	FROM care_team c JOIN accounts a ON a.id = c.clinician_id`

func scanMember(sc interface{ Scan(...any) error }) (hep.CareTeamMember, error) {
	var m hep.CareTeamMember
	err := sc.Scan(&m.PatientID, &m.ClinicianID, &m.ClinicianDisplayName, tcol(&m.AddTime))
	return m, err
}

// AddCareTeamMember implements hep.Store. Adding a member twice keeps the
// first add time and still succeeds (and is audited: the call happened).
func (s *Store) AddCareTeamMember(ctx context.Context, patientID, clinicianID string) (hep.CareTeamMember, error) {
	var m hep.CareTeamMember
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ok, err := patientExists(ctx, tx, patientID)
		if err != nil {
			return err
		}
		if !ok {
			return hep.NotFound("patient")
		}
		if err := checkClinician(ctx, tx, clinicianID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_team (patient_id, clinician_id, add_time) VALUES ($1, $2, $3)
			ON CONFLICT (patient_id, clinician_id) DO NOTHING`, patientID, clinicianID, ts(s.now())); err != nil {
			return err
		}
		if m, err = scanMember(tx.QueryRowContext(ctx, memberQuery+" WHERE c.patient_id = $1 AND c.clinician_id = $2",
			patientID, clinicianID)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resCareTeamMember(patientID, clinicianID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.CareTeamMember{}, err
	}
	return m, nil
}

// RemoveCareTeamMember implements hep.Store.
func (s *Store) RemoveCareTeamMember(ctx context.Context, patientID, clinicianID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM care_team WHERE patient_id = $1 AND clinician_id = $2", patientID, clinicianID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return hep.NotFound("care team member")
		}
		return s.appendAudit(ctx, tx, patientID, resCareTeamMember(patientID, clinicianID), hep.OutcomeOK)
	})
}

// ListCareTeamMembers implements hep.Store.
func (s *Store) ListCareTeamMembers(ctx context.Context, patientID string) ([]hep.CareTeamMember, error) {
	var out []hep.CareTeamMember
	err := s.view(ctx, patientID, resCareTeam(patientID), func(tx *sql.Tx) error {
		got, err := queryAll(ctx, tx, scanMember, memberQuery+" WHERE c.patient_id = $1 ORDER BY c.add_time, c.clinician_id", patientID)
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

// OnCareTeam implements hep.Store.
func (s *Store) OnCareTeam(ctx context.Context, clinicianID, patientID string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, "SELECT 1 FROM care_team WHERE patient_id = $1 AND clinician_id = $2", patientID, clinicianID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr(err)
}
