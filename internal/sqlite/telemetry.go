package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
)

// Telemetry: every transaction of tx and read is observed (the wait for
// a connection, its run time, its outcome, a span), and the audit rows
// and alerts written in it are counted once it commits. Single-statement
// lookups on the reader pool (sessions, care-team checks) are not
// transactions and are not observed.

// engine names this store in metrics and spans.
const engine = "sqlite"

// WithTelemetry reports the store's transactions to t (nil: none).
func WithTelemetry(t *telemetry.Telemetry) Option {
	return func(o *options) { o.tel = t }
}

// errPanicked is the outcome of a transaction whose function panicked.
var errPanicked = errors.New("sqlite: transaction panicked")

// observers maps each observed write transaction in flight to its
// observer, so that the helpers deep inside one (appendEvent, raiseAlert)
// can note what they wrote without another parameter everywhere. A
// *sql.Tx is unique while it lives, so one map serves every store.
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

// registerMetrics adds the database file sizes to the telemetry's
// registry: the WAL grows when checkpoints are starved (docs/operations.md).
func (s *Store) registerMetrics() {
	if !s.tel.MetricsOn() {
		return
	}
	reg := s.tel.Registry()
	size := func(path string) func() float64 {
		return func() float64 {
			fi, err := os.Stat(path)
			if err != nil {
				return 0
			}
			return float64(fi.Size())
		}
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hep_sqlite_db_bytes",
			Help: "Size of the SQLite database file.",
		}, size(s.path)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hep_sqlite_wal_bytes",
			Help: "Size of the SQLite write-ahead log; it shrinks only when a checkpoint completes.",
		}, size(s.path+"-wal")),
	} {
		// A second store on the same telemetry (tests) keeps the first's.
		var are prometheus.AlreadyRegisteredError
		if err := reg.Register(c); err != nil && !errors.As(err, &are) {
			s.log.Warn("sqlite: registering metrics failed", "err", err.Error())
		}
	}
}

// openAlertCountsQuery counts open alerts by kind through alerts_status,
// one index range of the open alerts: no patient's row is returned.
const openAlertCountsQuery = "SELECT kind, count(*) FROM alerts WHERE status = 'OPEN' GROUP BY kind"

// OpenAlertCounts implements hep.Store. One statement on a reader (a
// consistent snapshot in WAL mode); not audited.
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
