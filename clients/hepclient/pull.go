package hepclient

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// errMismatch: the last page's count and hash differ from the local
// records. It starts a reset.
var errMismatch = errors.New("hepclient: local records differ from the server's")

// pull brings the read model up to date: pages until has_more is false,
// then the convergence check. A mismatch resets once (a fresh view pulled
// from an empty cursor); an expired cursor pushes the outbox first and then
// resets, because a reset must never run while the phone holds changes the
// server has not seen (they would vanish from the fresh view).
func (c *Client) pull(ctx context.Context, res *SyncResult) error {
	for {
		err := c.pullPages(ctx, res)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errMismatch):
		case isCursorExpired(err):
			if err := c.push(ctx, res); err != nil {
				return err
			}
		case isBadCursor(err):
			// The server no longer recognizes the cursor (another server,
			// a new key): it says to pull from an empty one. Like an
			// expired cursor, the outbox goes first.
			if err := c.push(ctx, res); err != nil {
				return err
			}
		default:
			return err
		}
		if res.Reset {
			return fmt.Errorf("%w: %v", ErrNotConverged, err)
		}
		res.Reset = true
		if err := c.beginReset(ctx); err != nil {
			return err
		}
	}
}

// beginReset starts pulling a fresh view into reset_records. The current
// view stays visible until the fresh one is complete and verified; an
// interrupted reset resumes at the next Sync.
func (c *Client) beginReset(ctx context.Context) error {
	return c.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM reset_records"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE device SET reset_cursor = ''")
		return err
	})
}

// pullPages pulls from the stored cursor until the last page. Each page and
// the cursor after it are stored in one local transaction, so an
// interruption anywhere resumes after the last stored page and never skips
// or half-applies one.
func (c *Client) pullPages(ctx context.Context, res *SyncResult) error {
	deviceID := c.DeviceID()
	for {
		var cursor string
		var resetCursor sql.NullString
		if err := c.db.QueryRowContext(ctx, "SELECT cursor, reset_cursor FROM device").Scan(&cursor, &resetCursor); err != nil {
			return err
		}
		resetting := resetCursor.Valid
		table, from := "records", cursor
		if resetting {
			table, from = "reset_records", resetCursor.String
		}
		var page *hepv1.PullResponse
		err := c.retry(ctx, func(ctx context.Context) error {
			r, err := c.sync.Pull(ctx, &hepv1.PullRequest{DeviceId: deviceID, Cursor: from, PageSize: c.opts.PullPageSize})
			page = r
			return err
		})
		if err != nil {
			return err
		}
		if page.GetHasMore() && len(page.GetChanges()) == 0 && page.GetNextCursor() == from {
			return fmt.Errorf("%w: an empty page with has_more that does not advance the cursor", ErrProtocol)
		}
		var verdict error
		err = c.inTx(ctx, func(tx *sql.Tx) error {
			verdict = nil
			for _, ch := range page.GetChanges() {
				if err := applyChange(ctx, tx, table, ch); err != nil {
					return err
				}
			}
			col := "cursor"
			if resetting {
				col = "reset_cursor"
			}
			if _, err := tx.ExecContext(ctx, "UPDATE device SET "+col+" = ?", page.GetNextCursor()); err != nil {
				return err
			}
			if page.GetHasMore() {
				return nil
			}
			count, hash, err := localHash(ctx, tx, table)
			if err != nil {
				return err
			}
			if count != page.GetRecordCount() || hash != page.GetRecordsHash() {
				verdict = fmt.Errorf("%w: %d records hashing %s, the server says %d hashing %s",
					errMismatch, count, hash, page.GetRecordCount(), page.GetRecordsHash())
				if resetting { // a fresh view that does not match: give it up
					verdict = fmt.Errorf("%w: %v", ErrNotConverged, verdict)
					return abandonReset(ctx, tx)
				}
				return nil
			}
			if resetting {
				if err := finishReset(ctx, tx); err != nil {
					return err
				}
			}
			// The records now include (or have tombstoned) everything the
			// journal holds: the view no longer needs to show those as
			// pending.
			if _, err := tx.ExecContext(ctx, "UPDATE journal SET pulled = 1 WHERE pulled = 0"); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "UPDATE device SET last_sync = ?", nanos(c.now()))
			res.Converged, res.RecordCount, res.RecordsHash = true, count, hash
			res.Due, res.Reminders, res.TimeZone = page.GetDue(), page.GetReminderPreferences(), page.GetTimeZone()
			return err
		})
		if err != nil {
			return err
		}
		res.Pulled += len(page.GetChanges())
		if verdict != nil || !page.GetHasMore() {
			return verdict
		}
	}
}

// finishReset replaces the view by the verified fresh one, in the page's
// transaction.
func finishReset(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{
		"DELETE FROM records",
		"INSERT INTO records (kind, id, seq, payload) SELECT kind, id, seq, payload FROM reset_records",
		"DELETE FROM reset_records",
		"UPDATE device SET cursor = reset_cursor, reset_cursor = NULL",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func abandonReset(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM reset_records"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "UPDATE device SET reset_cursor = NULL")
	return err
}

// kindName is a record kind's name in the convergence hash: the enum value
// name without its prefix (RECORD_KIND_EXERCISE_LOG -> EXERCISE_LOG).
func kindName(k hepv1.RecordKind) string {
	return strings.TrimPrefix(k.String(), "RECORD_KIND_")
}

// applyChange stores one change of a page. An upsert replaces an older
// version only; a tombstone removes the record only if it is not newer than
// the tombstone. Pages arrive in order, so these guards never fire in a
// correct exchange; they keep a confused one from going backwards.
func applyChange(ctx context.Context, tx *sql.Tx, table string, ch *hepv1.Change) error {
	switch x := ch.GetChange().(type) {
	case *hepv1.Change_Upsert:
		r := x.Upsert
		b, err := proto.Marshal(r)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO "+table+` (kind, id, seq, payload) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq, payload = excluded.payload WHERE excluded.seq >= `+table+`.seq`,
			kindName(r.GetKind()), r.GetId(), r.GetSequence(), b)
		return err
	case *hepv1.Change_Tombstone:
		t := x.Tombstone
		_, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE kind = ? AND id = ? AND seq <= ?",
			kindName(t.GetKind()), t.GetId(), t.GetSequence())
		return err
	default:
		return fmt.Errorf("%w: a change that is neither an upsert nor a tombstone", ErrProtocol)
	}
}

// localHash is the count and convergence hash of a records table, computed
// exactly as the server computes its own (hep.ConvergenceHash).
func localHash(ctx context.Context, q querier, table string) (int64, string, error) {
	rows, err := q.QueryContext(ctx, "SELECT kind, id, seq FROM "+table)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	var live []hep.SyncEntry
	for rows.Next() {
		var e hep.SyncEntry
		var kind string
		if err := rows.Scan(&kind, &e.ID, &e.Seq); err != nil {
			return 0, "", err
		}
		e.Kind = hep.RecordKind(kind)
		live = append(live, e)
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	return int64(len(live)), hep.ConvergenceHash(live), nil
}
