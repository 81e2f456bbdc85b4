package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// errEnrollmentCode is the one answer to every bad code (unknown, used,
// expired), so that a guesser learns nothing about which it was.
var errEnrollmentCode = hep.Errorf(hep.CodeUnauthenticated, "enrollment code is invalid or expired").
	WithReason(hep.ReasonEnrollmentCodeInvalid)

const deviceColumns = "id, patient_id, name, platform, enroll_time, revoke_time"

func scanDevice(sc interface{ Scan(...any) error }) (hep.Device, error) {
	var d hep.Device
	var platform string
	err := sc.Scan(&d.ID, &d.PatientID, &d.Name, &platform, tcol(&d.EnrollTime), tcol(&d.RevokeTime))
	d.Platform = hep.Platform(platform)
	return d, err
}

// patientExists reports whether patient id exists.
func patientExists(ctx context.Context, q querier, id string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM patients WHERE id = $1", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// CreateEnrollmentCode implements hep.Store. Only the code's hash is kept;
// the audit row names the patient, never the code.
func (s *Store) CreateEnrollmentCode(ctx context.Context, patientID, codeHash string, expire time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		ok, err := patientExists(ctx, tx, patientID)
		if err != nil {
			return err
		}
		if !ok {
			return hep.NotFound("patient")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO enrollment_codes (code_hash, patient_id, created_by, create_time, expire_time)
			VALUES ($1, $2, $3, $4, $5)`, codeHash, patientID, hep.ActorFrom(ctx).ID, ts(s.now()), ts(expire)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resEnrollmentCodes(patientID), hep.OutcomeOK)
	})
}

// EnrollDevice implements hep.Store. Redeeming the code, creating the device
// and starting its session are one transaction: a code can never yield two
// devices, and a failure leaves the code usable.
func (s *Store) EnrollDevice(ctx context.Context, in hep.DeviceEnroll, refresh hep.RefreshToken) (hep.Device, hep.Session, error) {
	var dev hep.Device
	var sess hep.Session
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var patientID string
		var expire time.Time
		var used sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT patient_id, expire_time, used_time FROM enrollment_codes WHERE code_hash = $1 FOR UPDATE", in.CodeHash).
			Scan(&patientID, tcol(&expire), &used)
		if errors.Is(err, sql.ErrNoRows) {
			return errEnrollmentCode
		}
		if err != nil {
			return err
		}
		if used.Valid || !now.Before(expire) {
			return errEnrollmentCode
		}
		deviceID, err := newID()
		if err != nil {
			return err
		}
		sessionID, err := newID()
		if err != nil {
			return err
		}
		dev = hep.Device{ID: deviceID, PatientID: patientID, Name: in.Name, Platform: in.Platform, EnrollTime: now}
		if _, err := tx.ExecContext(ctx, "INSERT INTO devices (id, patient_id, name, platform, enroll_time) VALUES ($1, $2, $3, $4, $5)",
			dev.ID, dev.PatientID, dev.Name, string(dev.Platform), ts(now)); err != nil {
			return err
		}
		// used_time IS NULL again in the WHERE: belt and braces for the
		// single-use rule, besides the code's row lock.
		res, err := tx.ExecContext(ctx, "UPDATE enrollment_codes SET used_time = $1, device_id = $2 WHERE code_hash = $3 AND used_time IS NULL",
			ts(now), dev.ID, in.CodeHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = errEnrollmentCode
			}
			return err
		}
		sess = hep.Session{ID: sessionID, Role: hep.RolePatient, DeviceID: dev.ID, PatientID: patientID, CreateTime: now}
		if err := s.insertSession(ctx, tx, sess, refresh); err != nil {
			return err
		}
		// The caller was anonymous; from here on it is the device.
		return s.appendAudit(asPrincipal(ctx, sess), tx, patientID, resDevice(patientID, dev.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Device{}, hep.Session{}, err
	}
	return dev, sess, nil
}

// ListDevices implements hep.Store.
func (s *Store) ListDevices(ctx context.Context, patientID string) ([]hep.Device, error) {
	var out []hep.Device
	err := s.view(ctx, patientID, resDevices(patientID), func(tx *sql.Tx) error {
		got, err := queryAll(ctx, tx, scanDevice, "SELECT "+deviceColumns+" FROM devices WHERE patient_id = $1 ORDER BY enroll_time, id", patientID)
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

// RevokeDevice implements hep.Store. Revoking twice keeps the first time.
func (s *Store) RevokeDevice(ctx context.Context, patientID, deviceID string) (hep.Device, error) {
	var d hep.Device
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDevice(tx.QueryRowContext(ctx, "SELECT "+deviceColumns+" FROM devices WHERE id = $1 AND patient_id = $2 FOR NO KEY UPDATE", deviceID, patientID))
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("device")
		}
		if err != nil {
			return err
		}
		now := s.now()
		if d.RevokeTime.IsZero() {
			d.RevokeTime = now
			if _, err := tx.ExecContext(ctx, "UPDATE devices SET revoke_time = $1 WHERE id = $2", ts(now), deviceID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoke_time = $1 WHERE device_id = $2 AND revoke_time IS NULL", ts(now), deviceID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID, resDevice(patientID, deviceID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Device{}, err
	}
	return d, nil
}
