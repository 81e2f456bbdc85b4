package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/hep/heptest"
)

// tamperer goes around the store as a superuser can: its own connection
// with session_replication_role = replica, which switches the append-only
// triggers off for that session.
type tamperer struct {
	t   *testing.T
	url string
}

func (tm tamperer) conn(ctx context.Context) *pgx.Conn {
	c, err := pgx.Connect(ctx, tm.url)
	if err != nil {
		tm.t.Fatalf("tamperer: %v", err)
	}
	if _, err := c.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		tm.t.Fatalf("tamperer: %v", err)
	}
	return c
}

func (tm tamperer) DeleteAuditEvents(ctx context.Context, chain string, from, to int64) error {
	table, _ := auditTable(chain)
	c := tm.conn(ctx)
	defer c.Close(context.Background())
	_, err := c.Exec(ctx, "DELETE FROM "+table+" WHERE seq BETWEEN $1 AND $2", from, to)
	return err
}

func (tm tamperer) PutAuditEvent(ctx context.Context, e hep.AuditEvent) error {
	table, _ := auditTable(e.Chain)
	c := tm.conn(ctx)
	defer c.Close(context.Background())
	_, err := c.Exec(ctx, "INSERT INTO "+table+" "+auditInsertColumns+` ON CONFLICT (seq) DO UPDATE SET
		time = EXCLUDED.time, actor_id = EXCLUDED.actor_id, actor_role = EXCLUDED.actor_role, patient_id = EXCLUDED.patient_id,
		action = EXCLUDED.action, resource = EXCLUDED.resource, outcome = EXCLUDED.outcome, request_id = EXCLUDED.request_id,
		peer = EXCLUDED.peer, prev_hash = EXCLUDED.prev_hash, hash = EXCLUDED.hash`, auditArgs(e)...)
	return err
}

func TestTamper(t *testing.T) {
	heptest.RunTamper(t, func(t *testing.T, clock hep.Clock) (hep.Store, heptest.Tamperer) {
		url := newURL(t)
		return openTest(t, url, WithClock(clock)), tamperer{t: t, url: url}
	})
}
