package hepclient

import (
	"context"
	"fmt"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// SyncResult says what one Sync did.
type SyncResult struct {
	// Pushed counts the mutations in acknowledged Push batches.
	Pushed int
	// Acked counts mutations the server APPLIED (now or earlier: see
	// Replayed); they left the outbox.
	Acked int
	// Rejected counts mutations the server REJECTED; they moved to
	// Rejected.
	Rejected int
	// Replayed counts results the server had stored already: an earlier
	// answer to this phone was lost on the way.
	Replayed int
	// Resent counts acknowledged mutations given again to a server that had
	// lost them (restored from a backup: SEQUENCE_GAP).
	Resent int
	// Lost counts acknowledged mutations such a server lost that the
	// journal no longer held. The app should tell the patient.
	Lost int
	// Renumbered counts outbox entries renumbered because the server knew
	// sequence numbers this phone had not handed out (an older state file).
	Renumbered int
	// Pulled counts the changes applied from Pull pages.
	Pulled int
	// Reset: the read model was pulled again from scratch.
	Reset bool
	// Converged: the last page's count and hash matched the local records.
	Converged bool
	// RecordCount and RecordsHash are the verified count and hash.
	RecordCount int64
	RecordsHash string
	// Due is what the server said is due over the next 14 days, and
	// Reminders the patient's reminder preferences, from the last page of
	// a converged pull (nil otherwise): schedule local reminders from them
	// (docs/sync.md, "What is due, and reminders").
	Due       []*hepv1.DueEntry
	Reminders *hepv1.ReminderPreferences
	TimeZone  string
}

// Sync pushes the outbox, then pulls until the read model matches the
// server's. It may be interrupted at any point (a context canceled, the
// process killed): every step is a local transaction that the next Sync
// continues from, and nothing acknowledged is lost or applied twice.
// Transient failures are retried with backoff (Options.Retry); the error of
// a failed Sync says which step failed, and the outbox keeps whatever was
// not acknowledged.
func (c *Client) Sync(ctx context.Context) (SyncResult, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var res SyncResult
	c.mu.Lock()
	cr := c.creds
	c.mu.Unlock()
	switch {
	case cr.DeviceID == "":
		return res, ErrNotEnrolled
	case cr.SessionEnded != "":
		return res, fmt.Errorf("%w (%s)", ErrSessionEnded, cr.SessionEnded)
	}
	if err := c.push(ctx, &res); err != nil {
		return res, fmt.Errorf("hepclient: push: %w", err)
	}
	if err := c.pull(ctx, &res); err != nil {
		return res, fmt.Errorf("hepclient: pull: %w", err)
	}
	return res, nil
}
