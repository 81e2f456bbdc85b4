package postgres

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
)

// Telemetry: every transaction of tx and read is observed (the wait for
// a connection, its run time, its outcome, a span), each attempt of a
// retried one on its own, and the audit rows and alerts written in it
// are counted once it commits. Single-statement lookups on the pool
// (sessions, care-team checks) are not transactions and are not observed.

// engine names this store in metrics and spans.
const engine = "postgres"

// WithTelemetry reports the store's transactions to t (nil: none).
func WithTelemetry(t *telemetry.Telemetry) Option {
	return func(o *options) { o.tel = t }
}

// errPanicked is the outcome of a transaction whose function panicked.
var errPanicked = errors.New("postgres: transaction panicked")

// observers maps each observed write transaction in flight to its
// observer, so that the helpers deep inside one (appendEvent, raiseAlert)
// can note what they wrote without another parameter everywhere.
var observers sync.Map // *sql.Tx -> *telemetry.Tx

// track registers obs as tx's observer until the returned forget is
// called; nothing when obs is nil (telemetry off).
func track(tx *sql.Tx, obs *telemetry.Tx) (forget func()) {
	if obs == nil {
		return func() {}
	}
	observers.Store(tx, obs)
	return func() { observers.Delete(tx) }
}

// observed returns tx's observer, or nil (which notes nothing).
func observed(tx *sql.Tx) *telemetry.Tx {
	if o, ok := observers.Load(tx); ok {
		return o.(*telemetry.Tx)
	}
	return nil
}

// registerMetrics adds the pool's connection counts to the telemetry's
// registry: a pool that is always fully acquired is too small for the
// replica's load (docs/operations.md).
func (s *Store) registerMetrics() {
	if !s.tel.MetricsOn() {
		return
	}
	reg := s.tel.Registry()
	stat := func(f func() float64) func() float64 { return f }
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hep_postgres_pool_acquired_conns",
			Help: "Connections of the PostgreSQL pool in use.",
		}, stat(func() float64 { return float64(s.pool.Stat().AcquiredConns()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hep_postgres_pool_total_conns",
			Help: "Connections of the PostgreSQL pool, in use or idle.",
		}, stat(func() float64 { return float64(s.pool.Stat().TotalConns()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hep_postgres_pool_max_conns",
			Help: "The PostgreSQL pool's size.",
		}, stat(func() float64 { return float64(s.pool.Stat().MaxConns()) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "hep_postgres_pool_empty_acquire_total",
			Help: "Acquisitions that waited because every connection of the pool was in use.",
		}, stat(func() float64 { return float64(s.pool.Stat().EmptyAcquireCount()) })),
	} {
		// A second store on the same telemetry (tests) keeps the first's.
		var are prometheus.AlreadyRegisteredError
		if err := reg.Register(c); err != nil && !errors.As(err, &are) {
			s.log.Warn("postgres: registering metrics failed", "err", err.Error())
		}
	}
}

// openAlertCountsQuery counts open alerts by kind through alerts_status,
// one index range of the open alerts: no patient's row is returned.
const openAlertCountsQuery = "SELECT kind, count(*) FROM alerts WHERE status = 'OPEN' GROUP BY kind"

// OpenAlertCounts implements hep.Store. One statement (one snapshot); not
// audited.
func (s *Store) OpenAlertCounts(ctx context.Context) (map[hep.AlertKind]int, error) {
	rows, err := s.r.QueryContext(ctx, openAlertCountsQuery)
	if err != nil {
		return nil, mapErr(err)
	}
	out := map[hep.AlertKind]int{}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			rows.Close()
			return nil, mapErr(err)
		}
		out[hep.AlertKind(kind)] = n
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return out, nil
}
