package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// newID returns a fresh UUIDv7: random enough to be unguessable across
// objects, and time-ordered so that id order is creation order.
func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

var errEmailTaken = hep.Errorf(hep.CodeAlreadyExists, "an account with this email exists")

const accountColumns = "id, email, display_name, role, disabled, create_time, update_time"

func scanAccount(sc interface{ Scan(...any) error }, extra ...any) (hep.Account, error) {
	var a hep.Account
	var role string
	dest := append([]any{&a.ID, &a.Email, &a.DisplayName, &role, &a.Disabled, tcol(&a.CreateTime), tcol(&a.UpdateTime)}, extra...)
	err := sc.Scan(dest...)
	a.Role = hep.Role(role)
	return a, err
}

// getAccount reads one account; NOT_FOUND if there is none. lock, if not
// "", is appended to the query ("FOR NO KEY UPDATE" to change the row,
// "FOR SHARE" to keep it as read until the transaction ends).
func getAccount(ctx context.Context, q querier, id string, lock ...string) (hep.Account, error) {
	query := "SELECT " + accountColumns + " FROM accounts WHERE id = $1"
	for _, l := range lock {
		query += " " + l
	}
	a, err := scanAccount(q.QueryRowContext(ctx, query, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, hep.NotFound("account")
	}
	return a, err
}

// insertAccount stores a new account; ALREADY_EXISTS if the email is taken.
func (s *Store) insertAccount(ctx context.Context, tx *sql.Tx, in hep.AccountCreate, passwordHash string) (hep.Account, error) {
	id, err := newID()
	if err != nil {
		return hep.Account{}, err
	}
	now := s.now()
	a := hep.Account{ID: id, Email: in.Email, DisplayName: in.DisplayName, Role: in.Role, CreateTime: now, UpdateTime: now}
	_, err = tx.ExecContext(ctx, `INSERT INTO accounts (id, email, display_name, role, password_hash, disabled, create_time, update_time)
		VALUES ($1, $2, $3, $4, $5, 0, $6, $7)`, a.ID, a.Email, a.DisplayName, string(a.Role), passwordHash, ts(now), ts(now))
	if isUnique(err, "accounts.email") {
		return hep.Account{}, errEmailTaken
	}
	if err != nil {
		return hep.Account{}, err
	}
	return a, s.appendAudit(ctx, tx, "", resAccount(a.ID), hep.OutcomeOK)
}

// CreateAccount implements hep.Store.
func (s *Store) CreateAccount(ctx context.Context, in hep.AccountCreate, passwordHash string) (hep.Account, error) {
	var a hep.Account
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		a, err = s.insertAccount(ctx, tx, in, passwordHash)
		return err
	})
	if err != nil {
		return hep.Account{}, err
	}
	return a, nil
}

// EnsureAdmin implements hep.Store. The lookup and the insert share one
// transaction, so two concurrent bootstraps cannot both create.
func (s *Store) EnsureAdmin(ctx context.Context, in hep.AccountCreate, passwordHash string) (hep.Account, bool, error) {
	var a hep.Account
	var created bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAccount(tx.QueryRowContext(ctx, "SELECT "+accountColumns+" FROM accounts WHERE email = $1", in.Email))
		switch {
		case err == nil && a.Role == hep.RoleAdmin:
			return nil // already there: nothing changes, nothing is audited
		case err == nil:
			return errEmailTaken
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		in.Role = hep.RoleAdmin
		a, err = s.insertAccount(ctx, tx, in, passwordHash)
		if errors.Is(err, errEmailTaken) {
			// A concurrent bootstrap inserted the email first: look again
			// (an admin with it: created false).
			return errRetry
		}
		created = err == nil
		return err
	})
	if err != nil {
		return hep.Account{}, false, err
	}
	return a, created, nil
}

// GetAccount implements hep.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (hep.Account, error) {
	var a hep.Account
	err := s.view(ctx, "", resAccount(id), func(tx *sql.Tx) (err error) {
		if a, err = getAccount(ctx, tx, id); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return hep.Account{}, err
	}
	return a, nil
}

// ListAccounts implements hep.Store. Pages are keyed on id (UUIDv7, so in
// creation order): stable under concurrent inserts, no gaps, no repeats.
func (s *Store) ListAccounts(ctx context.Context, f hep.AccountFilter) ([]hep.Account, error) {
	var a args
	q := "SELECT " + accountColumns + " FROM accounts WHERE id > " + a.add(f.After)
	if f.Role != "" {
		q += " AND role = " + a.add(string(f.Role))
	}
	q += " ORDER BY id LIMIT " + a.add(limit(f.Limit))
	var out []hep.Account
	err := s.view(ctx, "", resAccounts, func(tx *sql.Tx) error {
		got, err := queryAll(ctx, tx, func(r scanner) (hep.Account, error) { return scanAccount(r) }, q, a...)
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

// UpdateAccount implements hep.Store. Disabling also revokes the account's
// live sessions, so a stolen refresh token dies with the account.
func (s *Store) UpdateAccount(ctx context.Context, id string, u hep.AccountUpdate) (hep.Account, error) {
	var a hep.Account
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		if a, err = getAccount(ctx, tx, id, "FOR NO KEY UPDATE"); err != nil {
			return err
		}
		if u.DisplayName != nil {
			a.DisplayName = *u.DisplayName
		}
		if u.Disabled != nil {
			a.Disabled = *u.Disabled
		}
		a.UpdateTime = s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET display_name = $1, disabled = $2, update_time = $3 WHERE id = $4",
			a.DisplayName, b2i(a.Disabled), ts(a.UpdateTime), id); err != nil {
			return err
		}
		if a.Disabled {
			if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoke_time = $1 WHERE account_id = $2 AND revoke_time IS NULL",
				ts(a.UpdateTime), id); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, "", resAccount(id), hep.OutcomeOK)
	})
	if err != nil {
		return hep.Account{}, err
	}
	return a, nil
}

// AccountCredentials implements hep.Store.
func (s *Store) AccountCredentials(ctx context.Context, email string) (hep.Account, string, error) {
	var hash string
	a, err := scanAccount(s.r.QueryRowContext(ctx,
		"SELECT "+accountColumns+", password_hash FROM accounts WHERE email = $1", email), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return hep.Account{}, "", hep.NotFound("account")
	}
	if err != nil {
		return hep.Account{}, "", mapErr(err)
	}
	return a, hash, nil
}

// CountAdmins implements hep.Store.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE role = 'ADMIN' AND disabled = 0").Scan(&n)
	return n, mapErr(err)
}
