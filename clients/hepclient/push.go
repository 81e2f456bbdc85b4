package hepclient

import (
	"context"
	"database/sql"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// push sends the outbox, oldest first, in batches of at most PushBatch,
// until it is empty. Each batch is acknowledged in one local transaction
// (acknowledge); a batch that fails for good stops the push and leaves the
// outbox as it was.
func (c *Client) push(ctx context.Context, res *SyncResult) error {
	repaired := false
	batch := c.opts.PushBatch
	for {
		rows, err := outboxRows(ctx, c.db, 0, batch)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		muts := make([]*hepv1.Mutation, len(rows))
		for i, r := range rows {
			if muts[i], err = r.mutation(); err != nil {
				return err
			}
		}
		deviceID := c.DeviceID()
		var resp *hepv1.PushResponse
		err = c.retry(ctx, func(ctx context.Context) error {
			// A fresh request per attempt: device_time is the phone's clock
			// when this attempt leaves, which is what skew correction needs.
			r, err := c.sync.Push(ctx, &hepv1.PushRequest{DeviceId: deviceID, Mutations: muts, DeviceTime: timestamppb.New(c.now())})
			resp = r
			return err
		})
		if err != nil {
			if last, isGap, ok := gapLastSequence(err); isGap {
				if !ok {
					return fmt.Errorf("%w: SEQUENCE_GAP without a last_sequence: %v", ErrProtocol, err)
				}
				if repaired {
					return err
				}
				repaired = true
				if err := c.repairGap(ctx, last, rows[0].seq, res); err != nil {
					return err
				}
				continue
			}
			if status.Code(err) == codes.ResourceExhausted && len(rows) > 1 {
				batch = len(rows) / 2 // perhaps too big a message: try smaller batches
				continue
			}
			return err
		}
		if err := c.acknowledge(ctx, rows, resp, res); err != nil {
			return err
		}
	}
}

// acknowledge applies a Push response to the outbox, in one local
// transaction. An entry leaves the outbox only because the response holds a
// result for its own sequence number: APPLIED entries move to the journal,
// REJECTED ones to the rejected table. A response that does not answer the
// request exactly changes nothing.
func (c *Client) acknowledge(ctx context.Context, rows []outboxRow, resp *hepv1.PushResponse, res *SyncResult) error {
	results := resp.GetResults()
	if len(results) != len(rows) {
		return fmt.Errorf("%w: %d results for %d mutations", ErrProtocol, len(results), len(rows))
	}
	for i, r := range results {
		if r.GetSequence() != rows[i].seq {
			return fmt.Errorf("%w: result %d is for sequence %d, not %d", ErrProtocol, i, r.GetSequence(), rows[i].seq)
		}
		if s := r.GetStatus(); s != hepv1.MutationStatus_MUTATION_STATUS_APPLIED && s != hepv1.MutationStatus_MUTATION_STATUS_REJECTED {
			return fmt.Errorf("%w: sequence %d has status %v", ErrProtocol, r.GetSequence(), s)
		}
	}
	last := resp.GetLastSequence()
	if last < rows[len(rows)-1].seq {
		return fmt.Errorf("%w: last_sequence %d is below the acknowledged %d", ErrProtocol, last, rows[len(rows)-1].seq)
	}
	now := c.now()
	return c.inTx(ctx, func(tx *sql.Tx) error {
		var next int64
		if err := tx.QueryRowContext(ctx, "SELECT next_seq FROM device").Scan(&next); err != nil {
			return err
		}
		if last >= next {
			// The server knows sequence numbers this phone never handed out:
			// the state file is older than the server's view of the device
			// (restored from a backup, copied to a new phone). These results
			// are the stored outcomes of the old mutations with these
			// numbers, not of ours: trust none, number ours after the
			// server's and push again.
			n, err := renumber(ctx, tx, last+1, nil)
			if err != nil {
				return err
			}
			res.Renumbered += int(n - last - 1)
			_, err = tx.ExecContext(ctx, "UPDATE device SET acked_seq = ?", last)
			return err
		}
		deviceID := c.DeviceID()
		for i, r := range results {
			row := rows[i]
			if r.GetStatus() == hepv1.MutationStatus_MUTATION_STATUS_APPLIED {
				if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO journal (seq, mutation, ack_time, pulled) VALUES (?, ?, ?, 0)",
					row.seq, row.blob, nanos(now)); err != nil {
					return err
				}
				res.Acked++
			} else {
				if _, err := tx.ExecContext(ctx, `INSERT INTO rejected (seq, device_id, mutation, reason, field, reject_time)
					VALUES (?, ?, ?, ?, ?, ?)`, row.seq, deviceID, row.blob, r.GetReason(), r.GetField(), nanos(now)); err != nil {
					return err
				}
				res.Rejected++
			}
			if r.GetReplayed() {
				res.Replayed++
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE seq = ?", row.seq); err != nil {
				return err
			}
		}
		res.Pushed += len(rows)
		if _, err := tx.ExecContext(ctx, "UPDATE device SET acked_seq = max(acked_seq, ?)", last); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM journal WHERE ack_time < ?", nanos(now.Add(-c.opts.JournalRetention)))
		return err
	})
}

// repairGap handles SEQUENCE_GAP: the server's last sequence for this
// device is last, but the phone's outbox starts at first > last+1. The phone
// deletes an outbox entry only after the server acknowledged it, so the
// server once held last+1 .. first-1 and no longer does: it was restored
// from a backup. (Lost answers make the server ahead of the phone, never
// behind: a replay of sequences it has is answered from its stored results.)
//
// The repair gives the server back what it lost: the journal's
// acknowledged mutations after last, then the outbox, numbered from last+1.
// With a complete journal the numbers do not change. Mutations the journal
// no longer holds are counted in SyncResult.Lost. A restored server's change
// sequence went back too, so the pull cursor is no longer meaningful: the
// read model is pulled again from scratch (a reset).
func (c *Client) repairGap(ctx context.Context, last, first int64, res *SyncResult) error {
	if last >= first-1 {
		return fmt.Errorf("%w: SEQUENCE_GAP at last_sequence %d, but the outbox starts at %d", ErrProtocol, last, first)
	}
	return c.inTx(ctx, func(tx *sql.Tx) error {
		extra, err := journalRows(ctx, tx, last)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM journal WHERE seq > ?", last); err != nil {
			return err
		}
		if _, err := renumber(ctx, tx, last+1, extra); err != nil {
			return err
		}
		// Rejected mutations need no resending: they changed nothing.
		var rejected int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM rejected WHERE device_id = ? AND seq > ? AND seq < ?",
			c.DeviceID(), last, first).Scan(&rejected); err != nil {
			return err
		}
		res.Resent += len(extra)
		res.Lost += max(0, int(first-1-last)-len(extra)-rejected)
		res.Reset = true
		_, err = tx.ExecContext(ctx, "UPDATE device SET acked_seq = ?, reset_cursor = ''", last)
		if err == nil {
			_, err = tx.ExecContext(ctx, "DELETE FROM reset_records")
		}
		return err
	})
}

// journalRows reads the journal's entries after seq, in sequence order.
func journalRows(ctx context.Context, q querier, after int64) ([]outboxRow, error) {
	return queryMutations(ctx, q, "SELECT seq, mutation, ack_time FROM journal WHERE seq > ? ORDER BY seq", after)
}
