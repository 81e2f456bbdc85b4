package rpc

// Ingest and pull benchmarks with a baseline measured in the same process:
// the figures to compare are the ratios, not the absolute rates (the
// machines this runs on are small and shared). See docs/performance.md.
//
//	go test -run '^$' -bench . -benchtime 1x ./internal/rpc/

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
	"github.com/hepclinic/hep/internal/telemetry"
	"github.com/hepclinic/hep/internal/web"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// benchRecords is the least number of logs one sub-benchmark pushes per
// b.N (each device pushes whole batches, so it may push a few more).
const benchRecords = 20000

// benchDevice is one enrolled phone of its own patient.
type benchDevice struct {
	patientID, deviceID, token string
	conn                       *grpc.ClientConn
}

// benchServer is a real server on a loopback port over a fresh SQLite
// file, with devices enrolled through the API (real tokens).
type benchServer struct {
	store *sqlite.Store
	srv   *Server
	addr  string
	path  string
	devs  []*benchDevice
}

func benchCtx(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// benchTelemetry is what the benchmark servers report to, by
// HEP_BENCH_TELEMETRY: "metrics" (the default: hepd with --metrics-listen),
// "off" (no --metrics-listen, no OTEL_*), or "traces" (metrics, and every
// call traced into a batch processor whose exporter drops the spans).
func benchTelemetry(b *testing.B) *telemetry.Telemetry {
	switch mode := os.Getenv("HEP_BENCH_TELEMETRY"); mode {
	case "off":
		return nil
	case "", "metrics":
		return telemetry.New(telemetry.Options{Metrics: true})
	case "traces":
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
		b.Cleanup(func() { tp.Shutdown(context.Background()) })
		return telemetry.New(telemetry.Options{Metrics: true, TracerProvider: tp})
	default:
		b.Fatalf("HEP_BENCH_TELEMETRY=%q: want off, metrics or traces", mode)
		return nil
	}
}

// discardSpans is an exporter that drops what it is given.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// newBenchServer starts a server and enrolls n devices, each for a patient
// of its own, each with its own connection.
func newBenchServer(b *testing.B, n int) *benchServer { return newBenchServerVia(b, n, false) }

// newBenchServerVia is newBenchServer; with front, gRPC reaches the server
// the way hepd serves it: Go's HTTP server (h2c) in front of
// internal/web's handler, which hands gRPC to grpc-go's ServeHTTP (and
// Connect/gRPC-Web to vanguard), instead of grpc-go's own transport.
func newBenchServerVia(b *testing.B, n int, front bool) *benchServer {
	b.Helper()
	ctx := context.Background()
	bs := &benchServer{path: filepath.Join(b.TempDir(), "hep.db")}
	tel := benchTelemetry(b)
	st, err := sqlite.Open(ctx, bs.path, sqlite.WithTelemetry(tel))
	if err != nil {
		b.Fatal(err)
	}
	bs.store = st
	lim := DefaultLimits
	lim.PublicPerMinute = 0
	lim.MaxConcurrentStreams = 1000
	bs.srv, err = New(ctx, Config{Store: st, PasswordParams: fastParams, Limits: lim, Telemetry: tel})
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bs.addr = lis.Addr().String()
	var hs *http.Server
	if front {
		h, err := web.New(web.Config{GRPC: bs.srv.GRPC, MaxRequestBytes: int64(lim.MaxRecvMsgSize)})
		if err != nil {
			b.Fatal(err)
		}
		var protocols http.Protocols
		protocols.SetHTTP1(true)
		protocols.SetUnencryptedHTTP2(true)
		hs = &http.Server{Handler: h, Protocols: &protocols, HTTP2: &http.HTTP2Config{MaxConcurrentStreams: int(lim.MaxConcurrentStreams)}}
		go hs.Serve(lis)
	} else {
		go bs.srv.GRPC.Serve(lis)
	}
	b.Cleanup(func() {
		for _, d := range bs.devs {
			d.conn.Close()
		}
		if hs != nil {
			hs.Close()
		}
		bs.srv.GRPC.Stop()
		st.Close()
	})
	admin, err := grpc.NewClient(bs.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	authc := hepv1.NewAuthServiceClient(admin)
	signIn := func(email string) string {
		r, err := authc.SignIn(ctx, &hepv1.SignInRequest{Email: email, Password: testPassword})
		if err != nil {
			b.Fatalf("SignIn: %v", err)
		}
		return r.Tokens.AccessToken
	}
	hash, _ := auth.HashPassword(testPassword, fastParams)
	boot := hep.WithActor(ctx, hep.Actor{ID: "bench", Role: hep.RoleAdmin, Action: "account.bootstrap_admin", RequestID: "boot"})
	if _, _, err := st.EnsureAdmin(boot, hep.AccountCreate{Email: "admin@clinic.example", DisplayName: "Admin", Role: hep.RoleAdmin, Password: testPassword}, hash); err != nil {
		b.Fatal(err)
	}
	adminTok := signIn("admin@clinic.example")
	if _, err := hepv1.NewAccountServiceClient(admin).CreateAccount(benchCtx(adminTok), &hepv1.CreateAccountRequest{
		Email: "c@clinic.example", DisplayName: "Dr C", Role: hepv1.Role_ROLE_CLINICIAN, Password: testPassword}); err != nil {
		b.Fatal(err)
	}
	clin := benchCtx(signIn("c@clinic.example"))
	patients, devices := hepv1.NewPatientServiceClient(admin), hepv1.NewDeviceServiceClient(admin)
	for i := range n {
		p, err := patients.CreatePatient(clin, &hepv1.CreatePatientRequest{DisplayName: fmt.Sprintf("P%d", i), TimeZone: "Europe/Lisbon"})
		if err != nil {
			b.Fatal(err)
		}
		code, err := devices.CreateEnrollmentCode(clin, &hepv1.CreateEnrollmentCodeRequest{PatientId: p.Patient.Id})
		if err != nil {
			b.Fatal(err)
		}
		r, err := authc.EnrollDevice(ctx, &hepv1.EnrollDeviceRequest{EnrollmentCode: code.Code, DeviceName: "phone", Platform: hepv1.Platform_PLATFORM_ANDROID})
		if err != nil {
			b.Fatal(err)
		}
		conn, err := grpc.NewClient(bs.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		bs.devs = append(bs.devs, &benchDevice{patientID: p.Patient.Id, deviceID: r.DeviceId, token: r.Tokens.AccessToken, conn: conn})
	}
	return bs
}

// benchBatches makes each device's batches of new logs as a phone would:
// UUIDv7 ids, consecutive sequence numbers from 1, times in the last days.
func benchBatches(devices, perDevice, size int, now time.Time) [][][]*hepv1.Mutation {
	out := make([][][]*hepv1.Mutation, devices)
	for d := range out {
		seq := int64(0)
		for range perDevice {
			batch := make([]*hepv1.Mutation, size)
			for i := range batch {
				seq++
				batch[i] = logMutation(seq, validLog(newID(), now.Add(-time.Duration(seq)*time.Minute)))
			}
			out[d] = append(out[d], batch)
		}
	}
	return out
}

// rawInsertQuery inserts the same columns as the store's Push.
const rawInsertQuery = `INSERT INTO exercise_logs (id, patient_id, device_id, exercise_id, plan_version,
		perform_time, corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done,
		duration_seconds_done, pain_before, pain_after, difficulty, note, supersedes, item_suspended, content_hash)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func rawTS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func rawScore(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

// rawBaseline stores the same batches with plain database/sql in a fresh
// database made by sqlite.Open (same schema, same pragmas), one transaction
// per batch, on one connection with the store's DSN: the most the store
// could do. The batches go in round-robin order over the devices, as the
// server would see them. It returns records/s and each transaction's time.
func rawBaseline(b *testing.B, batches [][][]*hepv1.Mutation, now time.Time) (float64, []time.Duration) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "raw.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	// The rows' patients and devices, for the foreign keys.
	admin := hep.WithActor(ctx, hep.Actor{ID: "local:bench", Role: hep.RoleAdmin})
	c, err := st.CreateAccount(admin, hep.AccountCreate{Email: "c@clinic.example", DisplayName: "C", Role: hep.RoleClinician}, "h")
	if err != nil {
		b.Fatal(err)
	}
	actors := make([]hep.Actor, len(batches))
	for i := range actors {
		p, err := st.CreatePatient(admin, hep.PatientCreate{DisplayName: "P", TimeZone: "UTC"}, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		code := fmt.Sprintf("code-%d", i)
		if err := st.CreateEnrollmentCode(admin, p.ID, code, now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		d, _, err := st.EnrollDevice(admin, hep.DeviceEnroll{CodeHash: code, Name: "Phone"}, hep.RefreshToken{Hash: "r-" + code, ExpireTime: now.Add(time.Hour)})
		if err != nil {
			b.Fatal(err)
		}
		actors[i] = hep.Actor{ID: d.ID, Role: hep.RolePatient, PatientID: p.ID}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", sqlite.DSN(path))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// The rows exactly as Push would store them, made before the clock runs.
	clock := pushClock{now: now, device: now}
	rows := make([][][][]any, len(batches))
	for d, dev := range batches {
		for _, batch := range dev {
			var bt [][]any
			for _, m := range batch {
				l := *mutationFromProto(m, actors[d], clock).Log
				bt = append(bt, []any{l.ID, l.PatientID, l.DeviceID, l.ExerciseID, l.PlanVersion, rawTS(l.PerformTime),
					rawTS(l.CorrectedPerformTime), rawTS(now), l.SetsDone, l.RepsDone, l.HoldSecondsDone, l.DurationSecondsDone,
					rawScore(l.PainBefore), rawScore(l.PainAfter), string(l.Difficulty), l.Note, nil, false, l.ContentHash()})
			}
			rows[d] = append(rows[d], bt)
		}
	}
	var lat []time.Duration
	n := 0
	start := time.Now()
	for k := range rows[0] {
		for d := range rows {
			t0 := time.Now()
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			ins, err := tx.PrepareContext(ctx, rawInsertQuery)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range rows[d][k] {
				if _, err := ins.ExecContext(ctx, r...); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
	}
	return float64(n) / time.Since(start).Seconds(), lat
}

// percentile returns the p-th percentile (0-100) of ds, in milliseconds.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return float64(s[i]) / float64(time.Millisecond)
}

// BenchmarkIngest pushes new logs through gRPC Push from concurrent
// devices (each its own patient) and compares the rate with a raw batched
// insert of the same rows measured just before and just after, in the
// same process.
// b.N scales the record budget (benchRecords per b.N).
func BenchmarkIngest(b *testing.B) {
	for _, size := range []int{100, 500} {
		for _, devices := range []int{8, 50} {
			b.Run(fmt.Sprintf("batch=%d/devices=%d", size, devices), func(b *testing.B) {
				perDevice := max(1, (b.N*benchRecords+size*devices-1)/(size*devices))
				now := time.Now()
				batches := benchBatches(devices, perDevice, size, now)
				// The baseline runs before and after the pushes (each time
				// into a fresh database) and the mean is the one compared:
				// the machines are shared and their speed drifts.
				base1, baseLat := rawBaseline(b, batches, now)

				bs := newBenchServer(b, devices)
				lat := make([][]time.Duration, devices)
				var wg sync.WaitGroup
				errs := make(chan error, devices)
				b.ResetTimer()
				start := time.Now()
				for d, dev := range bs.devs {
					wg.Go(func() {
						cl := hepv1.NewSyncServiceClient(dev.conn)
						ctx := benchCtx(dev.token)
						for _, batch := range batches[d] {
							t0 := time.Now()
							resp, err := cl.Push(ctx, &hepv1.PushRequest{DeviceId: dev.deviceID, DeviceTime: timestamppb.Now(), Mutations: batch})
							if err != nil {
								errs <- err
								return
							}
							lat[d] = append(lat[d], time.Since(t0))
							for _, r := range resp.Results {
								if r.Status != applied {
									errs <- fmt.Errorf("mutation %d: %v %s", r.Sequence, r.Status, r.Reason)
									return
								}
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				base2, baseLat2 := rawBaseline(b, batches, now)
				base := (base1 + base2) / 2
				baseLat = append(baseLat, baseLat2...)
				records := devices * perDevice * size
				rate := float64(records) / elapsed.Seconds()
				all := slices.Concat(lat...)
				b.ReportMetric(base, "base_rec/s")
				b.ReportMetric(rate, "push_rec/s")
				b.ReportMetric(rate/base, "ratio")
				b.ReportMetric(percentile(all, 50), "p50_ms")
				b.ReportMetric(percentile(all, 99), "p99_ms")
				b.ReportMetric(percentile(baseLat, 50), "base_tx_p50_ms")
				b.ReportMetric(percentile(baseLat, 99), "base_tx_p99_ms")
				b.ReportMetric(float64(records), "records")
			})
		}
	}
}

// rawPullQuery reads a page of a patient's logs in change-sequence order:
// what Pull reads, without the checks, the audit row and the conversion.
const rawPullQuery = `SELECT l.id, l.patient_id, l.device_id, l.exercise_id, l.plan_version, l.perform_time,
	l.corrected_perform_time, l.receive_time, l.sets_done, l.reps_done, l.hold_seconds_done, l.duration_seconds_done,
	l.pain_before, l.pain_after, l.difficulty, l.note, l.supersedes, l.item_suspended, l.change_seq
	FROM exercise_logs l
	WHERE l.patient_id = ? AND l.change_seq > ? AND l.deleted_time IS NULL AND l.superseded_by IS NULL
	ORDER BY l.change_seq LIMIT ?`

// BenchmarkPull pulls a patient's 5,000 logs from the start in pages of
// 500 through gRPC, against a raw paged SELECT of the same rows in the
// same database (same DSN). Each b.N is one pass of each.
func BenchmarkPull(b *testing.B) {
	const records, page = 5000, 500
	bs := newBenchServer(b, 1)
	dev := bs.devs[0]
	cl := hepv1.NewSyncServiceClient(dev.conn)
	ctx := benchCtx(dev.token)
	for _, batch := range benchBatches(1, records/500, 500, time.Now())[0] {
		if _, err := cl.Push(ctx, &hepv1.PushRequest{DeviceId: dev.deviceID, DeviceTime: timestamppb.Now(), Mutations: batch}); err != nil {
			b.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", sqlite.DSN(bs.path))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	raw := func() int {
		n, after := 0, int64(0)
		for {
			rows, err := db.Query(rawPullQuery, dev.patientID, after, page)
			if err != nil {
				b.Fatal(err)
			}
			k := 0
			for rows.Next() {
				var id, pid, did, eid, pt, cpt, rt, diff, note string
				var pv, sets, reps, hold, dur int64
				var before, afterPain sql.NullInt64
				var sup sql.NullString
				var susp bool
				if err := rows.Scan(&id, &pid, &did, &eid, &pv, &pt, &cpt, &rt, &sets, &reps, &hold, &dur,
					&before, &afterPain, &diff, &note, &sup, &susp, &after); err != nil {
					b.Fatal(err)
				}
				for _, s := range []string{pt, cpt, rt} {
					if _, err := time.Parse("2006-01-02T15:04:05.000000000Z", s); err != nil {
						b.Fatal(err)
					}
				}
				k++
			}
			if err := rows.Close(); err != nil {
				b.Fatal(err)
			}
			n += k
			if k < page {
				return n
			}
		}
	}
	viaGRPC := func() int {
		n, cursor := 0, ""
		for {
			resp, err := cl.Pull(ctx, &hepv1.PullRequest{DeviceId: dev.deviceID, Cursor: cursor, PageSize: page})
			if err != nil {
				b.Fatal(err)
			}
			n += len(resp.Changes)
			cursor = resp.NextCursor
			if !resp.HasMore {
				return n
			}
		}
	}
	raw()
	viaGRPC() // warm both
	var rawTime, pullTime time.Duration
	var pageLat []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if n := raw(); n != records {
			b.Fatalf("raw read %d rows, want %d", n, records)
		}
		rawTime += time.Since(t0)
		t0 = time.Now()
		if n := viaGRPC(); n != records {
			b.Fatalf("pulled %d changes, want %d", n, records)
		}
		d := time.Since(t0)
		pullTime += d
		pageLat = append(pageLat, d/(records/page))
	}
	b.StopTimer()
	base := float64(b.N*records) / rawTime.Seconds()
	rate := float64(b.N*records) / pullTime.Seconds()
	b.ReportMetric(base, "base_rec/s")
	b.ReportMetric(rate, "pull_rec/s")
	b.ReportMetric(rate/base, "ratio")
	b.ReportMetric(percentile(pageLat, 50), "page_ms")
}

// BenchmarkTransport compares Push through hepd's HTTP front (gRPC via
// grpc-go's ServeHTTP behind Go's HTTP/2 server, which lets Connect and
// gRPC-Web share the listener) with grpc-go's own transport, in the same
// run: rounds alternate between the two, each into a fresh database, and
// the figure to read is ratio = front rate / native rate.
func BenchmarkTransport(b *testing.B) {
	const size, devices, rounds = 500, 8, 3
	for _, tc := range []struct{ size, devices int }{{100, 8}, {size, devices}} {
		b.Run(fmt.Sprintf("batch=%d/devices=%d", tc.size, tc.devices), func(b *testing.B) {
			perDevice := max(1, (b.N*benchRecords+tc.size*tc.devices-1)/(tc.size*tc.devices))
			var rates [2][]float64
			var lats [2][]time.Duration
			for r := 0; r < rounds; r++ {
				for via := range 2 {
					batches := benchBatches(tc.devices, perDevice, tc.size, time.Now())
					bs := newBenchServerVia(b, tc.devices, via == 1)
					rate, lat := pushAll(b, bs, batches)
					rates[via] = append(rates[via], rate)
					lats[via] = append(lats[via], lat...)
				}
			}
			native, front := median(rates[0]), median(rates[1])
			b.ReportMetric(native, "native_rec/s")
			b.ReportMetric(front, "front_rec/s")
			b.ReportMetric(front/native, "ratio")
			b.ReportMetric(percentile(lats[0], 50), "native_p50_ms")
			b.ReportMetric(percentile(lats[1], 50), "front_p50_ms")
			b.ReportMetric(percentile(lats[0], 99), "native_p99_ms")
			b.ReportMetric(percentile(lats[1], 99), "front_p99_ms")
		})
	}
}

// pushAll pushes every device's batches concurrently and returns the rate
// in records per second and each Push's latency.
func pushAll(b *testing.B, bs *benchServer, batches [][][]*hepv1.Mutation) (float64, []time.Duration) {
	b.Helper()
	lat := make([][]time.Duration, len(bs.devs))
	errs := make(chan error, len(bs.devs))
	var wg sync.WaitGroup
	records := 0
	for d := range bs.devs {
		for _, batch := range batches[d] {
			records += len(batch)
		}
	}
	start := time.Now()
	for d, dev := range bs.devs {
		wg.Go(func() {
			cl := hepv1.NewSyncServiceClient(dev.conn)
			ctx := benchCtx(dev.token)
			for _, batch := range batches[d] {
				t0 := time.Now()
				if _, err := cl.Push(ctx, &hepv1.PushRequest{DeviceId: dev.deviceID, DeviceTime: timestamppb.Now(), Mutations: batch}); err != nil {
					errs <- err
					return
				}
				lat[d] = append(lat[d], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(records) / elapsed.Seconds(), slices.Concat(lat...)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
