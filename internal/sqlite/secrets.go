package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"

	"github.com/hepclinic/hep/internal/hep"
)

// secretLen is the size of every server secret: a 256-bit key.
const secretLen = 32

// Secret implements hep.Store. The common case, an existing secret, is a
// reader lookup; creation runs on the writer, where the lookup is repeated
// under the write lock so that concurrent first uses agree on one value.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, hep.Errorf(hep.CodeInvalid, "secret name is required")
	}
	var v []byte
	err := s.r.QueryRowContext(ctx, "SELECT value FROM secrets WHERE name = ?", name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT value FROM secrets WHERE name = ?", name).Scan(&v)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v = make([]byte, secretLen)
		if _, err := rand.Read(v); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO secrets (name, value, create_time) VALUES (?, ?, ?)", name, v, ts(s.now()))
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
