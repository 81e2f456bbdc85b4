package sqlite

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/telemetry"
	"github.com/hepclinic/hep/internal/telemetry/telemetrytest"
)

// TestTelemetry checks what the store reports per transaction: audit rows
// and alerts only when the transaction commits, audit write failures when
// the trail refuses a row (a trigger injects the fault), the op and
// outcome of every write and read, the wait for a connection, the open
// alerts at scrape time, and a span per transaction that names the op and
// outcome but no patient.
func TestTelemetry(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	tel := telemetry.New(telemetry.Options{Metrics: true, TracerProvider: tp})
	f := newSyncFixture(t, WithTelemetry(tel))
	tel.CountOpenAlerts(f.s.OpenAlertCounts)
	web := httptest.NewServer(tel.Handler())
	t.Cleanup(web.Close)
	scrape := func() telemetrytest.Samples {
		t.Helper()
		return telemetrytest.Parse(t, telemetrytest.Scrape(t, web.URL))
	}
	for path, q := range map[string]string{
		f.path: `CREATE TRIGGER inject_log_failure BEFORE INSERT ON exercise_logs WHEN new.note = 'boom'
			BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
		// Failure rows go to the reads chain, in the file beside.
		ReadsPath(f.path): `CREATE TRIGGER inject_audit_failure BEFORE INSERT ON audit_events WHEN new.action = 'test.audit_fails'
			BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
	} {
		if _, err := rawDB(t, path).Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	phone := hep.WithActor(f.phone, func() hep.Actor { a := hep.ActorFrom(f.phone); a.Action = "sync.push"; return a }())
	severe, boom := f.log("hurt"), f.log("boom")
	severe.PainBefore, severe.PainAfter = score(3), score(8) // PAIN_SEVERE and PAIN_FLARE
	at := f.clock.Add(-time.Minute)
	ci := hep.PainCheckin{ID: uuid.Must(uuid.NewV7()).String(), RecordTime: at, CorrectedRecordTime: at, Score: 9, Location: hep.PainLeg}
	batch := []hep.Mutation{{Seq: 1, Log: &severe}, {Seq: 2, Checkin: &ci}, {Seq: 3, Log: &boom}}

	const (
		pushOK     = `hep_store_tx_duration_seconds_count{engine="sqlite",mode="write",op="sync.push",outcome="OK"}`
		pushFailed = `hep_store_tx_duration_seconds_count{engine="sqlite",mode="write",op="sync.push",outcome="INTERNAL"}`
		writeWait  = `hep_store_tx_wait_seconds_count{engine="sqlite",mode="write"}`
		readWait   = `hep_store_tx_wait_seconds_count{engine="sqlite",mode="read"}`
		auditRows  = `hep_audit_rows_total`
		auditFail  = `hep_audit_write_failures_total`
		severeKind = `hep_alerts_raised_total{kind="PAIN_SEVERE"}`
		flareKind  = `hep_alerts_raised_total{kind="PAIN_FLARE"}`
		openSevere = `hep_alerts_open{kind="PAIN_SEVERE"}`
		openFlare  = `hep_alerts_open{kind="PAIN_FLARE"}`
	)
	type move struct {
		series string
		want   float64
	}
	check := func(what string, before, after telemetrytest.Samples, moves ...move) {
		t.Helper()
		for _, m := range moves {
			if got := after.Delta(before, m.series); got != m.want {
				t.Errorf("%s: %s moved by %v, want %v", what, m.series, got, m.want)
			}
		}
	}

	// A push that fails on its last log: counted as a failed transaction,
	// and neither its alerts nor its audit row, which were rolled back.
	s0 := scrape()
	if _, _, err := f.s.Push(phone, f.device, batch); err == nil {
		t.Fatal("Push with an injected failure succeeded")
	}
	s1 := scrape()
	check("failed push", s0, s1, move{pushFailed, 1}, move{pushOK, 0}, move{writeWait, 1},
		move{auditRows, 0}, move{auditFail, 0}, move{severeKind, 0}, move{flareKind, 0})
	if _, ok := s1[openSevere]; ok {
		t.Errorf("%s reported with no alert ever open", openSevere)
	}

	// The same batch, applied: three alerts and one audit row.
	boom.Note = "fine"
	if _, _, err := f.s.Push(phone, f.device, batch); err != nil {
		t.Fatal(err)
	}
	s2 := scrape()
	check("push", s1, s2, move{pushOK, 1}, move{pushFailed, 0}, move{writeWait, 1},
		move{auditRows, 1}, move{auditFail, 0}, move{severeKind, 2}, move{flareKind, 1})
	if s2[openSevere] != 2 || s2[openFlare] != 1 {
		t.Errorf("open alerts: PAIN_SEVERE %v, PAIN_FLARE %v; want 2 and 1", s2[openSevere], s2[openFlare])
	}

	// An audit row the trail refuses: the call fails, the failure is
	// counted, no row is.
	fails := hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleAdmin, Action: "test.audit_fails"})
	if err := f.s.AppendAudit(fails, hep.NewAuditEvent(hep.ActorFrom(fails), time.Now(), "", "x", hep.OutcomeOK)); err == nil {
		t.Fatal("AppendAudit with an injected failure succeeded")
	}
	s3 := scrape()
	check("refused audit row", s2, s3, move{auditRows, 0}, move{auditFail, 1},
		move{`hep_store_tx_duration_seconds_count{engine="sqlite",mode="audit",op="test.audit_fails",outcome="INTERNAL"}`, 1})

	// A read transaction (progress) and its audit row, appended to the
	// reads chain.
	doctor := hep.WithActor(t.Context(), hep.Actor{ID: "local:test", Role: hep.RoleClinician, Action: "review.progress"})
	if _, _, err := f.s.ProgressFacts(doctor, f.patient, hep.Date{}, hep.Date{}); err != nil {
		t.Fatal(err)
	}
	s4 := scrape()
	check("progress", s3, s4, move{readWait, 1}, move{auditRows, 1},
		move{`hep_store_tx_duration_seconds_count{engine="sqlite",mode="read",op="review.progress",outcome="OK"}`, 1},
		move{`hep_store_tx_duration_seconds_count{engine="sqlite",mode="audit",op="review.progress",outcome="OK"}`, 1})

	// Spans: one per transaction, op and outcome named, no patient.
	var failed, ok, read int
	for _, s := range spans.GetSpans() {
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes {
			attrs[kv.Key] = kv.Value
			if v := kv.Value.Emit(); strings.Contains(v, f.patient) || strings.Contains(v, f.device) || strings.Contains(v, ci.ID) || strings.Contains(v, severe.ID) {
				t.Errorf("span %s attribute %s = %q names a patient, device or record", s.Name, kv.Key, v)
			}
		}
		if attrs["db.system.name"].AsString() != "sqlite" {
			t.Errorf("span %s: db.system.name %v", s.Name, attrs["db.system.name"])
		}
		switch {
		case s.Name == "store.write sync.push" && attrs["hep.outcome"].AsString() == "INTERNAL":
			failed++
			if s.Status.Code != codes.Error || s.Status.Description != "INTERNAL" {
				t.Errorf("failed push span status %+v, want Error INTERNAL (the code only)", s.Status)
			}
		case s.Name == "store.write sync.push" && attrs["hep.outcome"].AsString() == "OK":
			ok++
			if attrs["hep.audit.rows"].AsInt64() != 1 || !attrs["hep.store.committed"].AsBool() || attrs["db.operation.name"].AsString() != "sync.push" {
				t.Errorf("push span attributes %v", s.Attributes)
			}
			if len(s.Events) != 1 || s.Events[0].Name != "begun" {
				t.Errorf("push span events %v, want the wait's end", s.Events)
			}
		case s.Name == "store.read review.progress":
			read++
		}
	}
	if failed != 1 || ok != 1 || read != 1 {
		t.Errorf("spans: %d failed pushes, %d pushes, %d progress reads; want 1 of each", failed, ok, read)
	}
}

// TestNoTelemetry checks that a store without telemetry tracks no
// transaction (nothing is left in the observers map).
func TestNoTelemetry(t *testing.T) {
	f := newSyncFixture(t)
	l := f.log("")
	if _, _, err := f.s.Push(f.phone, f.device, []hep.Mutation{{Seq: 1, Log: &l}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	observers.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d transactions observed without telemetry", n)
	}
}
