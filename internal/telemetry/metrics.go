package telemetry

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hepclinic/hep/internal/hep"
)

// The metrics hep defines itself; docs/operations.md lists them with the
// gRPC and runtime ones. Changing a name or label breaks operators' alert
// rules: change the docs with it.
type metrics struct {
	txWait       *prometheus.HistogramVec // engine, mode
	txDuration   *prometheus.HistogramVec // engine, mode, op, outcome
	auditRows    prometheus.Counter
	auditFailed  prometheus.Counter
	alertsRaised *prometheus.CounterVec // kind
	push         *prometheus.CounterVec // result; the three below are its children
	pushApplied  prometheus.Counter
	pushReplayed prometheus.Counter
	pushRejected prometheus.Counter
	exportBytes  *prometheus.CounterVec // format
}

// txBuckets span a cached point read (100 µs) to a writer stuck behind a
// long transaction or a busy timeout (10 s).
var txBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics() *metrics {
	push := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hep_push_records_total",
		Help: "Mutations pushed by phones, by result: applied (new and stored), replayed (already stored; the stored result was returned) or rejected (new and permanently invalid).",
	}, []string{"result"})
	return &metrics{
		txWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hep_store_tx_wait_seconds",
			Help:    "Time a store transaction waited for its connection (for writes on SQLite: the one writer) before it began.",
			Buckets: txBuckets,
		}, []string{"engine", "mode"}),
		txDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hep_store_tx_duration_seconds",
			Help:    "Time a store transaction ran, from BEGIN to COMMIT or ROLLBACK, by the audited action it ran for (op) and outcome.",
			Buckets: txBuckets,
		}, []string{"engine", "mode", "op", "outcome"}),
		auditRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hep_audit_rows_total",
			Help: "Audit rows written by committed store transactions.",
		}),
		auditFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hep_audit_write_failures_total",
			Help: "Audit rows that could not be written; each failed its call, which changed nothing.",
		}),
		alertsRaised: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hep_alerts_raised_total",
			Help: "Alerts raised for care teams by committed store transactions, by kind.",
		}, []string{"kind"}),
		push:         push,
		pushApplied:  push.WithLabelValues("applied"),
		pushReplayed: push.WithLabelValues("replayed"),
		pushRejected: push.WithLabelValues("rejected"),
		exportBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hep_export_bytes_total",
			Help: "Bytes of export files sent to clients, by format.",
		}, []string{"format"}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.txWait, m.txDuration, m.auditRows, m.auditFailed, m.alertsRaised, m.push, m.exportBytes}
}

// multi collects several collectors as one.
type multi []prometheus.Collector

func (c multi) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c {
		x.Describe(ch)
	}
}

func (c multi) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c {
		x.Collect(ch)
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) { multi(m.collectors()).Describe(ch) }

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) { multi(m.collectors()).Collect(ch) }

// newBuildInfo is hep_build_info{version, go_version} 1.
func newBuildInfo(version string) prometheus.Collector {
	if version == "" {
		version = "dev"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "hep_build_info",
		Help:        "Always 1; the labels say which hepd build is running.",
		ConstLabels: prometheus.Labels{"version": version, "go_version": goVersion()},
	})
	g.Set(1)
	return g
}

// goVersion is the Go release the program was built with.
func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}

// openAlerts is the hep_alerts_open gauge, read from the store on every
// scrape, so that it is right after a restart and the same on every
// replica of a shared database. A kind once seen is reported as 0 when it
// has no open alert left, rather than vanishing.
type openAlerts struct {
	count func(context.Context) (map[hep.AlertKind]int, error)
	log   *slog.Logger

	mu   sync.Mutex
	seen map[hep.AlertKind]bool
}

var openAlertsDesc = prometheus.NewDesc("hep_alerts_open",
	"Open (unacknowledged) alerts of every care team, by kind, read from the store at scrape time.",
	[]string{"kind"}, nil)

// openAlertsTimeout bounds the scrape's query.
const openAlertsTimeout = 5 * time.Second

func (o *openAlerts) Describe(ch chan<- *prometheus.Desc) { ch <- openAlertsDesc }

func (o *openAlerts) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), openAlertsTimeout)
	defer cancel()
	counts, err := o.count(ctx)
	if err != nil {
		o.log.Error("metrics: counting open alerts failed", "err", err.Error())
		ch <- prometheus.NewInvalidMetric(openAlertsDesc, err)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[hep.AlertKind]bool{}
	}
	for k := range counts {
		o.seen[k] = true
	}
	kinds := make([]string, 0, len(o.seen))
	for k := range o.seen {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		ch <- prometheus.MustNewConstMetric(openAlertsDesc, prometheus.GaugeValue, float64(counts[hep.AlertKind(k)]), k)
	}
}
