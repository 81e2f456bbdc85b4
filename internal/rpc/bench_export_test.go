package rpc

// Export benchmarks with a baseline measured in the same run: the export
// rate of a patient's sessions and check-ins against reading the same rows
// from the same database with a plain SELECT into Go values. The figure to
// compare is the ratio (target: at least 0.35 for FHIR). See
// docs/performance.md.
//
//	go test -run '^$' -bench BenchmarkExport -benchtime 1x -count 6 ./internal/rpc/

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// rawExportLogs and rawExportCheckins read the rows an export of the
// range holds, oldest first, in one statement each: the most a reader of
// these rows could do.
const (
	rawExportLogs = `SELECT id, device_id, exercise_id, plan_version, perform_time, corrected_perform_time, receive_time,
		sets_done, reps_done, hold_seconds_done, duration_seconds_done, pain_before, pain_after, difficulty, note,
		supersedes, item_suspended FROM exercise_logs
		WHERE patient_id = ? AND deleted_time IS NULL AND superseded_by IS NULL
		AND corrected_perform_time >= ? AND corrected_perform_time < ? ORDER BY corrected_perform_time, id`
	rawExportCheckins = `SELECT id, device_id, record_time, corrected_record_time, receive_time, score, location, red_flags,
		note, supersedes FROM pain_checkins
		WHERE patient_id = ? AND deleted_time IS NULL AND superseded_by IS NULL
		AND corrected_record_time >= ? AND corrected_record_time < ? ORDER BY corrected_record_time, id`
)

// rawRead reads the range's sessions and check-ins into Go values (times
// as their stored text) and returns how many rows it read.
func rawRead(b *testing.B, db *sql.DB, patientID, start, end string) int64 {
	b.Helper()
	var n int64
	rows, err := db.Query(rawExportLogs, patientID, start, end)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, dev, ex, perf, corr, recv, diff, note string
		var version, sets, reps, hold, dur int64
		var before, after sql.NullInt64
		var supersedes sql.NullString
		var suspended bool
		if err := rows.Scan(&id, &dev, &ex, &version, &perf, &corr, &recv, &sets, &reps, &hold, &dur, &before, &after,
			&diff, &note, &supersedes, &suspended); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	rows.Close()
	rows, err = db.Query(rawExportCheckins, patientID, start, end)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id, dev, rec, corr, recv, loc, flags, note string
		var score int64
		var supersedes sql.NullString
		if err := rows.Scan(&id, &dev, &rec, &corr, &recv, &score, &loc, &flags, &note, &supersedes); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	rows.Close()
	return n
}

// BenchmarkExport: for a patient with 5,000 and 50,000 sessions (and a
// quarter as many check-ins), FHIR and CSV, through the RPC (bufconn, the
// client draining the stream) and the writer alone (snapshot, then
// export.Write to io.Discard): rows/s of the export and of the raw read
// of the same rows (each iteration reads them raw before and after the
// export), and their ratio.
func BenchmarkExport(b *testing.B) {
	for _, sessions := range []int{5000, 50000} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			e := newExportEnv(b, exportEnvOptions{bufconn: true})
			seedRecords(b, e.path, e.f.Patient.ID, e.f.Device.ID, bigStart, sessions, sessions/4)
			raw, err := sql.Open("sqlite", sqlite.DSN(e.path))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { raw.Close() })
			raw.SetMaxOpenConns(1)
			from, to := dateFromProto(bigFrom), dateFromProto(bigTo)
			loc := hep.LoadZone(e.f.Patient.TimeZone)
			start, end := rawTS(from.Start(loc)), rawTS(to.AddDays(1).Start(loc))
			actor := hep.WithActor(context.Background(), hep.Actor{ID: e.f.Clinician.ID, Role: hep.RoleClinician,
				Action: "export.export", RequestID: "bench"})

			for _, tc := range []struct {
				name   string
				format hep.ExportFormat
				proto  hepv1.ExportFormat
			}{{"FHIR", hep.ExportFHIR, fhirFormat}, {"CSV", hep.ExportCSV, csvFormat}} {
				for _, path := range []string{"rpc", "writer"} {
					b.Run(tc.name+"/"+path, func(b *testing.B) {
						var rawTime, expTime time.Duration
						var rawRows, expRows, bytesOut int64
						for b.Loop() {
							// The raw read before and after the export: a
							// shared machine's load drifts, and the two
							// sides of the ratio see the same drift.
							t0 := time.Now()
							rawRows += rawRead(b, raw, e.f.Patient.ID, start, end)
							t1 := time.Now()
							var rows, size int64
							if path == "rpc" {
								rows, size = benchRPCExport(b, e, &hepv1.ExportRequest{PatientId: e.f.Patient.ID, Format: tc.proto,
									From: bigFrom, To: bigTo})
							} else {
								rows, size = benchWriterExport(b, e, actor, tc.format, from, to)
							}
							t2 := time.Now()
							rawRows += rawRead(b, raw, e.f.Patient.ID, start, end)
							rawTime += t1.Sub(t0) + time.Since(t2)
							expTime += t2.Sub(t1)
							expRows += rows
							bytesOut += size
						}
						rawRate := float64(rawRows) / rawTime.Seconds()
						expRate := float64(expRows) / expTime.Seconds()
						b.ReportMetric(expRate, "rows/s")
						b.ReportMetric(rawRate, "raw_rows/s")
						b.ReportMetric(expRate/rawRate, "ratio")
						b.ReportMetric(float64(bytesOut)/float64(b.N)/(1<<20), "MiB")
					})
				}
			}
		})
	}
}

// benchRPCExport runs one export through the server and returns the rows
// it held (the streamed sessions and check-ins and the snapshot's) and the
// file's size.
func benchRPCExport(b *testing.B, e *exportEnv, req *hepv1.ExportRequest) (int64, int64) {
	b.Helper()
	st, err := e.client.Export(e.ctx(context.Background()), req)
	if err != nil {
		b.Fatal(err)
	}
	var rows, size int64
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return rows, size
		}
		if err != nil {
			b.Fatal(err)
		}
		size += int64(len(m.GetData()))
		rows = m.GetRowsDone()
	}
}

// benchWriterExport reads the snapshot and writes the file to io.Discard.
func benchWriterExport(b *testing.B, e *exportEnv, actor context.Context, format hep.ExportFormat, from, to hep.Date) (int64, int64) {
	b.Helper()
	snap, err := e.store.ExportSnapshot(actor, e.f.Patient.ID, from, to, string(format))
	if err != nil {
		b.Fatal(err)
	}
	w := &countWriter{}
	var rows int64
	if err := export.Write(context.Background(), w, format, &snap, export.StoreSource(e.store, &snap),
		export.Options{Progress: func(n int64) { rows = n }}); err != nil {
		b.Fatal(err)
	}
	return rows, w.n
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
