package telemetry

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/hepclinic/hep/internal/hep"
)

// Mode is whether a store transaction reads or writes.
type Mode string

// The modes. Audit is the append of a read's audit row to the reads
// chain (a group commit of its own, after the read).
const (
	Read  Mode = "read"
	Write Mode = "write"
	Audit Mode = "audit"
)

// noOp is the op of a transaction whose context names no audited action
// (start-up lookups, tests).
const noOp = "none"

// Tx observes one store transaction: a store calls BeginTx before it asks
// for a connection, Acquired once the transaction has begun, notes the
// audit rows and alerts it writes, and End once it committed or rolled
// back. Counts reach the metrics only if the transaction committed. A nil
// *Tx (from a nil or all-off Telemetry) does nothing.
//
// A Tx is used by the goroutine running the transaction; the notes may
// also come from others (a store's helpers), so they are guarded.
type Tx struct {
	t        *Telemetry
	engine   string
	mode     Mode
	op       string
	start    time.Time
	acquired time.Time
	span     trace.Span

	mu          sync.Mutex
	auditRows   int
	auditFailed int
	alerts      []hep.AlertKind
}

// BeginTx starts observing a transaction of the named engine ("sqlite",
// "postgres"). The op is the audited action of the actor in ctx
// (hep.ActorFrom(ctx).Action), a name from a fixed set. When tracing is on
// the transaction gets a span, a child of the span in ctx (the gRPC call's).
func (t *Telemetry) BeginTx(ctx context.Context, engine string, mode Mode) *Tx {
	if t == nil || (t.m == nil && t.tracer == nil) {
		return nil
	}
	op := hep.ActorFrom(ctx).Action
	if op == "" {
		op = noOp
	}
	x := &Tx{t: t, engine: engine, mode: mode, op: op, start: time.Now()}
	if t.tracer != nil {
		_, x.span = t.tracer.Start(ctx, "store."+string(mode)+" "+op,
			trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(x.start),
			trace.WithAttributes(
				attribute.String("db.system.name", engine),
				attribute.String("db.operation.name", op),
				attribute.String("hep.store.mode", string(mode)),
			))
	}
	return x
}

// Acquired marks the end of the wait for a connection: the transaction has
// begun (or failed to begin).
func (x *Tx) Acquired() {
	if x == nil {
		return
	}
	x.acquired = time.Now()
	if x.span != nil {
		x.span.AddEvent("begun", trace.WithTimestamp(x.acquired),
			trace.WithAttributes(attribute.Float64("hep.store.wait_seconds", x.acquired.Sub(x.start).Seconds())))
	}
}

// AuditRow notes an audit row written in the transaction (err nil) or one
// that could not be written (err not nil: the transaction will fail).
func (x *Tx) AuditRow(err error) {
	if x == nil {
		return
	}
	x.mu.Lock()
	if err == nil {
		x.auditRows++
	} else {
		x.auditFailed++
	}
	x.mu.Unlock()
}

// AlertRaised notes an alert of kind stored in the transaction.
func (x *Tx) AlertRaised(kind hep.AlertKind) {
	if x == nil {
		return
	}
	x.mu.Lock()
	x.alerts = append(x.alerts, kind)
	x.mu.Unlock()
}

// End records the transaction: committed says whether its work stuck
// (a store may commit and still return an error, such as a refresh-token
// reuse whose revocation must stick); err is what the store method
// returns, and names the outcome.
func (x *Tx) End(committed bool, err error) {
	if x == nil {
		return
	}
	end := time.Now()
	if x.acquired.IsZero() {
		x.acquired = end
	}
	out := outcome(err)
	x.mu.Lock()
	rows, failed, alerts := x.auditRows, x.auditFailed, x.alerts
	x.mu.Unlock()
	if m := x.t.m; m != nil {
		m.txWait.WithLabelValues(x.engine, string(x.mode)).Observe(x.acquired.Sub(x.start).Seconds())
		m.txDuration.WithLabelValues(x.engine, string(x.mode), x.op, out).Observe(end.Sub(x.acquired).Seconds())
		if failed > 0 {
			m.auditFailed.Add(float64(failed))
		}
		if committed {
			if rows > 0 {
				m.auditRows.Add(float64(rows))
			}
			for _, k := range alerts {
				m.alertsRaised.WithLabelValues(string(k)).Inc()
			}
		}
	}
	if x.span != nil {
		x.span.SetAttributes(
			attribute.String("hep.outcome", out),
			attribute.Bool("hep.store.committed", committed),
		)
		if committed {
			x.span.SetAttributes(attribute.Int("hep.audit.rows", rows))
		}
		if out == string(hep.CodeInternal) || out == string(hep.CodeUnavailable) {
			// The code only: error texts may one day carry more than
			// the domain promises.
			x.span.SetStatus(codes.Error, out)
		}
		x.span.End(trace.WithTimestamp(end))
	}
}
