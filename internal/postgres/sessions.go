package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// errRefreshInvalid is the one answer for an unknown, expired or revoked
// token: the caller learns nothing about which.
var errRefreshInvalid = hep.Errorf(hep.CodeUnauthenticated, "refresh token is invalid, expired or revoked")

var errRefreshReused = hep.Errorf(hep.CodeUnauthenticated, "refresh token was already used; the session is revoked").
	WithReason(hep.ReasonRefreshTokenReused)

// sessionQuery reads a session with what decides whether it is live: its own
// revocation, its account's disabled flag and its device's revocation.
const sessionQuery = `SELECT s.id, s.role, s.account_id, s.device_id, s.patient_id, s.create_time, s.revoke_time,
		COALESCE(a.disabled, 0), d.revoke_time
	FROM sessions s
	LEFT JOIN accounts a ON a.id = s.account_id
	LEFT JOIN devices d ON d.id = s.device_id`

// getSession reads a session as Session reports it: revoked if it was
// revoked, or its account is disabled, or its device is revoked. now stands
// in for the revocation time of a disabled account's session (disabling
// revokes sessions too, so that case only arises for rows written otherwise).
func getSession(ctx context.Context, q querier, id string, now time.Time) (hep.Session, error) {
	var sess hep.Session
	var role string
	var accountID, deviceID, patientID sql.NullString
	var disabled bool
	var deviceRevoked time.Time
	err := q.QueryRowContext(ctx, sessionQuery+" WHERE s.id = $1", id).Scan(&sess.ID, &role, &accountID, &deviceID, &patientID,
		tcol(&sess.CreateTime), tcol(&sess.RevokeTime), &disabled, tcol(&deviceRevoked))
	if errors.Is(err, sql.ErrNoRows) {
		return hep.Session{}, hep.NotFound("session")
	}
	if err != nil {
		return hep.Session{}, err
	}
	sess.Role = hep.Role(role)
	sess.AccountID, sess.DeviceID, sess.PatientID = accountID.String, deviceID.String, patientID.String
	if sess.RevokeTime.IsZero() {
		switch {
		case !deviceRevoked.IsZero():
			sess.RevokeTime = deviceRevoked
		case disabled:
			sess.RevokeTime = now
		}
	}
	return sess, nil
}

// insertSession stores a new session and its first refresh token.
func (s *Store) insertSession(ctx context.Context, tx *sql.Tx, sess hep.Session, refresh hep.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, role, account_id, device_id, patient_id, create_time)
		VALUES ($1, $2, $3, $4, $5, $6)`, sess.ID, string(sess.Role), nullStr(sess.AccountID), nullStr(sess.DeviceID),
		nullStr(sess.PatientID), ts(sess.CreateTime))
	if err != nil {
		return err
	}
	return insertRefresh(ctx, tx, sess.ID, refresh, sess.CreateTime)
}

func insertRefresh(ctx context.Context, tx *sql.Tx, sessionID string, r hep.RefreshToken, now time.Time) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO refresh_tokens (hash, session_id, create_time, expire_time) VALUES ($1, $2, $3, $4)",
		r.Hash, sessionID, ts(now), ts(r.ExpireTime))
	return err
}

// nullStr stores "" as NULL, for optional references.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// StartSession implements hep.Store.
func (s *Store) StartSession(ctx context.Context, in hep.SessionStart) (hep.Session, error) {
	var sess hep.Session
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// FOR SHARE: a concurrent disable (UpdateAccount) waits for this
		// session to commit, and then revokes it too.
		a, err := getAccount(ctx, tx, in.AccountID, "FOR SHARE")
		if err != nil {
			return err
		}
		if a.Disabled {
			return hep.Errorf(hep.CodeFailedPrecondition, "the account is disabled")
		}
		id, err := newID()
		if err != nil {
			return err
		}
		sess = hep.Session{ID: id, Role: a.Role, AccountID: a.ID, CreateTime: s.now()}
		if err := s.insertSession(ctx, tx, sess, in.Refresh); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, "", resSession(id), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Session{}, err
	}
	return sess, nil
}

// asPrincipal returns ctx with its actor replaced by the session's principal:
// a refresh is an unauthenticated call until the token names its session, and
// the trail should say whose session it was. Action, request id and peer stay.
func asPrincipal(ctx context.Context, sess hep.Session) context.Context {
	a := hep.ActorFrom(ctx)
	a.ID, a.Role, a.PatientID, a.SessionID = sess.PrincipalID(), sess.Role, sess.PatientID, sess.ID
	return hep.WithActor(ctx, a)
}

// RotateRefreshToken implements hep.Store.
//
// The token's row is locked first (FOR UPDATE): of two replicas rotating
// the same token at once, the second waits for the first to commit and
// then finds the token used, a reuse.
//
// A used token presented again means two parties hold the token family (the
// legitimate client and a thief) and the store cannot tell which is which,
// so it revokes the whole session and commits that, audited, before failing.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next hep.RefreshToken) (hep.Session, error) {
	var sess hep.Session
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var sessionID string
		var expire, used time.Time
		err := tx.QueryRowContext(ctx, "SELECT session_id, expire_time, used_time FROM refresh_tokens WHERE hash = $1 FOR UPDATE", oldHash).
			Scan(&sessionID, tcol(&expire), tcol(&used))
		if errors.Is(err, sql.ErrNoRows) {
			return errRefreshInvalid
		}
		if err != nil {
			return err
		}
		if sess, err = getSession(ctx, tx, sessionID, now); err != nil {
			return err
		}
		actx := asPrincipal(ctx, sess)
		if !used.IsZero() {
			if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoke_time = $1 WHERE id = $2 AND revoke_time IS NULL",
				ts(now), sess.ID); err != nil {
				return err
			}
			if err := s.appendAudit(actx, tx, sess.PatientID, resSession(sess.ID), string(hep.CodeUnauthenticated)); err != nil {
				return err
			}
			return &commitThen{errRefreshReused}
		}
		if !sess.Live() || !now.Before(expire) {
			return errRefreshInvalid
		}
		if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET used_time = $1 WHERE hash = $2", ts(now), oldHash); err != nil {
			return err
		}
		if err := insertRefresh(ctx, tx, sess.ID, next, now); err != nil {
			return err
		}
		return s.appendAudit(actx, tx, sess.PatientID, resSession(sess.ID), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Session{}, err
	}
	return sess, nil
}

// Session implements hep.Store.
func (s *Store) Session(ctx context.Context, id string) (hep.Session, error) {
	sess, err := getSession(ctx, s.r, id, s.now())
	return sess, mapErr(err)
}

// RevokeSession implements hep.Store. Revoking twice keeps the first time.
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var patientID sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT patient_id FROM sessions WHERE id = $1", id).Scan(&patientID)
		if errors.Is(err, sql.ErrNoRows) {
			return hep.NotFound("session")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoke_time = $1 WHERE id = $2 AND revoke_time IS NULL",
			ts(s.now()), id); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, patientID.String, resSession(id), hep.OutcomeOK)
	})
}
