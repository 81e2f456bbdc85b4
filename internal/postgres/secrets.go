package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"

	"github.com/hepclinic/hep/internal/hep"
)

// secretLen is the size of every server secret: a 256-bit key.
const secretLen = 32

// Secret implements hep.Store. The common case, an existing secret, is one
// lookup; a first use inserts a random value unless another replica's
// insert got there first (ON CONFLICT DO NOTHING, which waits for that
// insert to commit or roll back), then reads back the value that won, so
// concurrent first uses agree on one value.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, hep.Errorf(hep.CodeInvalid, "secret name is required")
	}
	var v []byte
	err := s.r.QueryRowContext(ctx, "SELECT value FROM secrets WHERE name = $1", name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		fresh := make([]byte, secretLen)
		if _, err := rand.Read(fresh); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO secrets (name, value, create_time) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
			name, fresh, ts(s.now())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT value FROM secrets WHERE name = $1", name).Scan(&v)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
