package rpc

// Benchmarks of the PostgreSQL store through gRPC (issue 11, item 7), each
// with a raw limit measured in the same run on the same cluster: the
// figures to compare are the ratios, not the absolute rates (the machines
// this runs on are small and shared). See docs/performance.md,
// "PostgreSQL".
//
//	go test -run '^$' -bench Postgres -benchtime 1x -count 3 ./internal/rpc/
//
// They need PostgreSQL (internal/pgtest starts a throwaway cluster for the
// test binary) and skip without it.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/pgtest"
	"github.com/hepclinic/hep/internal/postgres"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// pgMigrated is the migrated template every benchmark database is a copy
// of (made once per test binary).
func pgMigrated(b *testing.B) string {
	b.Helper()
	return pgtest.Template(b, "hep_rpc_bench", func(ctx context.Context, url string) error {
		_, err := postgres.Migrate(ctx, url)
		return err
	})
}

// pgReplica is one in-process hepd replica: a postgres.Store (its own
// pool) and an rpc.Server on a loopback port.
type pgReplica struct {
	store *postgres.Store
	srv   *Server
	addr  string
}

// pgCluster is n replicas on one database, with devices enrolled through
// the API and spread round robin over the replicas (device i talks to
// replica i mod n).
type pgCluster struct {
	url      string
	replicas []*pgReplica
	devs     []*benchDevice
}

// newPGCluster starts n replicas on a fresh database and enrolls devices
// phones, each for a patient of its own, each with its own connection.
// maxConns bounds each replica's pool (0: the store's default).
func newPGCluster(b *testing.B, n int, maxConns int32, devices int) *pgCluster {
	b.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(b, pgMigrated(b))
	c := &pgCluster{url: url}
	lim := DefaultLimits
	lim.PublicPerMinute = 0
	lim.MaxConcurrentStreams = 1000
	for range n {
		tel := benchTelemetry(b)
		opts := []postgres.Option{postgres.WithTelemetry(tel)}
		if maxConns > 0 {
			opts = append(opts, postgres.WithMaxConns(maxConns))
		}
		st, err := postgres.Open(ctx, url, opts...)
		if err != nil {
			b.Fatal(err)
		}
		srv, err := New(ctx, Config{Store: st, PasswordParams: fastParams, Limits: lim, Telemetry: tel})
		if err != nil {
			st.Close()
			b.Fatal(err)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go srv.GRPC.Serve(lis)
		c.replicas = append(c.replicas, &pgReplica{store: st, srv: srv, addr: lis.Addr().String()})
	}
	b.Cleanup(func() {
		for _, d := range c.devs {
			d.conn.Close()
		}
		for _, r := range c.replicas {
			r.srv.GRPC.Stop()
			r.store.Close()
		}
	})
	first := c.replicas[0]
	admin, err := grpc.NewClient(first.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
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
	if _, _, err := first.store.EnsureAdmin(boot, hep.AccountCreate{Email: "admin@clinic.example", DisplayName: "Admin", Role: hep.RoleAdmin, Password: testPassword}, hash); err != nil {
		b.Fatal(err)
	}
	if _, err := hepv1.NewAccountServiceClient(admin).CreateAccount(benchCtx(signIn("admin@clinic.example")), &hepv1.CreateAccountRequest{
		Email: "c@clinic.example", DisplayName: "Dr C", Role: hepv1.Role_ROLE_CLINICIAN, Password: testPassword}); err != nil {
		b.Fatal(err)
	}
	clin := benchCtx(signIn("c@clinic.example"))
	patients, devs := hepv1.NewPatientServiceClient(admin), hepv1.NewDeviceServiceClient(admin)
	for i := range devices {
		p, err := patients.CreatePatient(clin, &hepv1.CreatePatientRequest{DisplayName: fmt.Sprintf("P%d", i), TimeZone: "Europe/Lisbon"})
		if err != nil {
			b.Fatal(err)
		}
		code, err := devs.CreateEnrollmentCode(clin, &hepv1.CreateEnrollmentCodeRequest{PatientId: p.Patient.Id})
		if err != nil {
			b.Fatal(err)
		}
		r, err := authc.EnrollDevice(ctx, &hepv1.EnrollDeviceRequest{EnrollmentCode: code.Code, DeviceName: "phone", Platform: hepv1.Platform_PLATFORM_ANDROID})
		if err != nil {
			b.Fatal(err)
		}
		conn, err := grpc.NewClient(c.replicas[i%n].addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		c.devs = append(c.devs, &benchDevice{patientID: p.Patient.Id, deviceID: r.DeviceId, token: r.Tokens.AccessToken, conn: conn})
	}
	return c
}

// push pushes every device's batches concurrently, each device through
// its replica, checks that every mutation came back APPLIED, and returns
// the rate in records per second and each Push's latency.
func (c *pgCluster) push(b *testing.B, batches [][][]*hepv1.Mutation) (float64, []time.Duration) {
	b.Helper()
	lat := make([][]time.Duration, len(c.devs))
	errs := make(chan error, len(c.devs))
	records := 0
	for d := range c.devs {
		for _, batch := range batches[d] {
			records += len(batch)
		}
	}
	var wg sync.WaitGroup
	stopWaits := c.sampleWaits(b)
	defer stopWaits()
	start := time.Now()
	for d, dev := range c.devs {
		wg.Go(func() {
			cl := hepv1.NewSyncServiceClient(dev.conn)
			ctx := benchCtx(dev.token)
			for _, batch := range batches[d] {
				t0 := time.Now()
				resp, err := cl.Push(ctx, &hepv1.PushRequest{DeviceId: dev.deviceID, DeviceTime: timestamppb.Now(), Mutations: batch})
				if err != nil {
					errs <- fmt.Errorf("device %d: %w", d, err)
					return
				}
				lat[d] = append(lat[d], time.Since(t0))
				for _, r := range resp.Results {
					if r.Status != applied {
						errs <- fmt.Errorf("device %d, mutation %d: %v %s", d, r.Sequence, r.Status, r.Reason)
						return
					}
				}
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

// sampleWaits, with HEP_BENCH_PGWAITS=1, samples what the database's
// backends are doing every 20 ms until the returned function is called,
// which logs the shares: active on CPU, active waiting (Lock:..., IO:...,
// LWLock:...), or idle in transaction (waiting for the client: the Go
// side's work between statements, with the transaction's locks held).
func (c *pgCluster) sampleWaits(b *testing.B) func() {
	if os.Getenv("HEP_BENCH_PGWAITS") != "1" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, c.url)
	if err != nil {
		b.Fatal(err)
	}
	counts, locks := map[string]int{}, map[string]int{}
	rounds := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			rows, err := conn.Query(ctx, `SELECT state || coalesce(' ' || wait_event_type || ':' || wait_event, ' CPU'), count(*)
				FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
					AND state IN ('active', 'idle in transaction') GROUP BY 1`)
			if err != nil {
				return
			}
			for rows.Next() {
				var k string
				var n int
				if rows.Scan(&k, &n) == nil {
					counts[k] += n
				}
			}
			rows.Close()
			// Whose row the tuple-lock waiters queue on.
			rows, err = conn.Query(ctx, `SELECT 'tuple lock on ' || l.relation::regclass::text, count(*)
				FROM pg_locks l JOIN pg_database d ON d.oid = l.database
				WHERE l.locktype = 'tuple' AND d.datname = current_database() GROUP BY 1`)
			if err != nil {
				return
			}
			for rows.Next() {
				var k string
				var n int
				if rows.Scan(&k, &n) == nil {
					locks[k] += n
				}
			}
			rows.Close()
			rounds++
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() {
		cancel()
		<-done
		conn.Close(context.Background())
		total := 0
		keys := make([]string, 0, len(counts))
		for k, n := range counts {
			total += n
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y string) int { return counts[y] - counts[x] })
		var parts []string
		for _, k := range keys[:min(len(keys), 8)] {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", k, 100*float64(counts[k])/float64(total)))
		}
		for k, n := range locks {
			parts = append(parts, fmt.Sprintf("%s: %.1f", k, float64(n)/float64(max(1, rounds))))
		}
		b.Logf("%d replicas (pools of %d): shares of busy backends over %d samples (%.1f busy per sample): %s (waiters per sample)",
			len(c.replicas), c.replicas[0].store.Pool().Config().MaxConns, rounds, float64(total)/float64(max(1, rounds)), strings.Join(parts, ", "))
	}
}

// pgRawColumns are the columns the raw limit writes into exercise_logs:
// those Push writes for a new log (insertLogsQuery in internal/postgres).
var pgRawColumns = []string{"id", "patient_id", "device_id", "exercise_id", "plan_version", "perform_time",
	"corrected_perform_time", "receive_time", "sets_done", "reps_done", "hold_seconds_done", "duration_seconds_done",
	"pain_before", "pain_after", "difficulty", "note", "supersedes", "item_suspended", "content_hash", "change_seq"}

// pgRawInsertQuery inserts one log row (pgRawColumns).
var pgRawInsertQuery = "INSERT INTO exercise_logs (" + strings.Join(pgRawColumns, ", ") + ") VALUES (" +
	func() string {
		ps := make([]string, len(pgRawColumns))
		for i := range ps {
			ps[i] = fmt.Sprintf("$%d", i+1)
		}
		return strings.Join(ps, ", ")
	}() + ")"

// pgRawMode is how the raw limit writes a batch's rows.
type pgRawMode int

const (
	pgRawBatch  pgRawMode = iota // a pgx.Batch of single-row INSERTs: one round trip
	pgRawCopy                    // COPY (pgx CopyFrom)
	pgRawUnnest                  // one INSERT ... SELECT FROM unnest of column arrays, as the store's own insertLogsQuery
)

// pgRawUnnestQuery inserts a batch's rows from one array per column
// (pgRawColumns), the shape of the store's insertLogsQuery without its
// ON CONFLICT, ORDER BY and RETURNING.
const pgRawUnnestQuery = `INSERT INTO exercise_logs (id, patient_id, device_id, exercise_id, plan_version, perform_time,
		corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done, duration_seconds_done,
		pain_before, pain_after, difficulty, note, supersedes, item_suspended, content_hash, change_seq)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
		$9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::text[], $16::text[],
		$17::text[], $18::bigint[], $19::text[], $20::bigint[])`

// pgColumnArrays turns rows of pgRawColumns into pgRawUnnestQuery's
// arguments: one typed array per column, NULLs as nil pointers.
func pgColumnArrays(rows [][]any) []any {
	out := make([]any, len(pgRawColumns))
	for j := range pgRawColumns {
		switch j {
		case 4, 8, 9, 10, 11, 17, 19: // BIGINT NOT NULL
			col := make([]int64, len(rows))
			for i, r := range rows {
				col[i] = r[j].(int64)
			}
			out[j] = col
		case 12, 13: // pain scores, NULL when not given
			col := make([]*int64, len(rows))
			for i, r := range rows {
				if v, ok := r[j].(int32); ok {
					x := int64(v)
					col[i] = &x
				}
			}
			out[j] = col
		case 16: // supersedes: NULL for a new log
			out[j] = make([]*string, len(rows))
		default:
			col := make([]string, len(rows))
			for i, r := range rows {
				col[i] = r[j].(string)
			}
			out[j] = col
		}
	}
	return out
}

// pgRawPoolSize is the raw limit's connection pool: the size of one
// replica's store pool (postgres' defaultMaxConns).
const pgRawPoolSize = 10

// pgRaw stores the same batches as Push would store them, in a fresh
// database from the same migrated template, with the rows made before the
// clock runs: per batch one transaction that writes the batch's
// exercise_logs rows (every column Push writes, change_seq numbered from
// the patient's counter), sets patients.change_seq and devices.last_seq,
// and commits. No patient or device lock, no checks, no audit row, no
// gRPC. The devices write concurrently, one goroutine each, over a pgx
// pool of pgRawPoolSize. It returns records/s and each transaction's time.
func pgRaw(b *testing.B, mode pgRawMode, batches [][][]*hepv1.Mutation, now time.Time) (float64, []time.Duration) {
	b.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(b, pgMigrated(b))
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = pgRawPoolSize
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	// The rows' patients and devices, for the foreign keys.
	created := rawTS(now.Add(-time.Hour))
	actors := make([]hep.Actor, len(batches))
	for i := range actors {
		a := hep.Actor{ID: newID(), Role: hep.RolePatient, PatientID: newID()}
		if _, err := pool.Exec(ctx, "INSERT INTO patients (id, display_name, time_zone, create_time, update_time) VALUES ($1, 'P', 'UTC', $2, $2)",
			a.PatientID, created); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "INSERT INTO devices (id, patient_id, name, platform, enroll_time) VALUES ($1, $2, 'Phone', 'ANDROID', $3)",
			a.ID, a.PatientID, created); err != nil {
			b.Fatal(err)
		}
		actors[i] = a
	}
	// The rows exactly as Push would store them.
	clock := pushClock{now: now, device: now}
	rows := make([][][][]any, len(batches))
	lastSeq := make([][]int64, len(batches))
	for d, dev := range batches {
		seq := int64(0)
		for _, batch := range dev {
			var bt [][]any
			for _, m := range batch {
				l := *mutationFromProto(m, actors[d], clock).Log
				seq++
				bt = append(bt, []any{l.ID, l.PatientID, l.DeviceID, l.ExerciseID, l.PlanVersion, rawTS(l.PerformTime),
					rawTS(l.CorrectedPerformTime), rawTS(now), int64(l.SetsDone), int64(l.RepsDone), int64(l.HoldSecondsDone),
					int64(l.DurationSecondsDone), rawScore(l.PainBefore), rawScore(l.PainAfter), string(l.Difficulty), l.Note, nil,
					int64(0), l.ContentHash(), seq})
			}
			rows[d] = append(rows[d], bt)
			lastSeq[d] = append(lastSeq[d], batch[len(batch)-1].Sequence)
		}
	}
	lat := make([][]time.Duration, len(batches))
	errs := make(chan error, len(batches))
	n := 0
	for d := range rows {
		for _, bt := range rows[d] {
			n += len(bt)
		}
	}
	var wg sync.WaitGroup
	start := time.Now()
	for d := range rows {
		wg.Go(func() {
			for k, bt := range rows[d] {
				t0 := time.Now()
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					seq := bt[len(bt)-1][len(pgRawColumns)-1]
					if mode != pgRawBatch {
						var err error
						if mode == pgRawCopy {
							_, err = tx.CopyFrom(ctx, pgx.Identifier{"exercise_logs"}, pgRawColumns, pgx.CopyFromRows(bt))
						} else {
							_, err = tx.Exec(ctx, pgRawUnnestQuery, pgColumnArrays(bt)...)
						}
						if err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, "UPDATE patients SET change_seq = $1 WHERE id = $2", seq, actors[d].PatientID); err != nil {
							return err
						}
						_, err = tx.Exec(ctx, "UPDATE devices SET last_seq = $1 WHERE id = $2", lastSeq[d][k], actors[d].ID)
						return err
					}
					var batch pgx.Batch
					for _, r := range bt {
						batch.Queue(pgRawInsertQuery, r...)
					}
					batch.Queue("UPDATE patients SET change_seq = $1 WHERE id = $2", seq, actors[d].PatientID)
					batch.Queue("UPDATE devices SET last_seq = $1 WHERE id = $2", lastSeq[d][k], actors[d].ID)
					return tx.SendBatch(ctx, &batch).Close()
				})
				if err != nil {
					errs <- fmt.Errorf("raw device %d: %w", d, err)
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
	return float64(n) / elapsed.Seconds(), slices.Concat(lat...)
}

// pgPushSetups are the replica set-ups BenchmarkPostgresPush measures:
// 1 replica, 3 replicas (each with the store's default pool of 10
// connections), and 3 replicas with pools of 3 (9 connections in all,
// about what 1 replica holds).
var pgPushSetups = []struct {
	name     string
	replicas int
	maxConns int32
}{{"r1", 1, 0}, {"r3", 3, 0}, {"r3p3", 3, 3}}

// pgPushRuns counts the runs of BenchmarkPostgresPush's cases, to rotate
// which set-up goes first.
var pgPushRuns int

// BenchmarkPostgresPush pushes new logs through gRPC Push from concurrent
// devices (each its own patient, device i on replica i mod n) through the
// replica set-ups of pgPushSetups on one PostgreSQL database, and compares
// the rates with three raw limits of the same rows into the same schema
// (pgRaw): a batched insert (pgx.Batch), COPY, and the store's own
// statement shape (one INSERT from unnest of column arrays). The raw
// limits run before and after the pushes (each into a fresh database; the
// mean is compared), each set-up pushes into a fresh database, and the
// order of the set-ups rotates between runs. b.N scales the record budget
// (benchRecords per b.N) of each of the nine phases.
//
// On one small machine the replicas, the phones and PostgreSQL share the
// cores: scale_3/1 (3 replicas' rate over 1 replica's) shows the
// database's ceiling there, not what replicas on machines of their own
// would give. HEP_BENCH_PGWAITS=1 logs what the backends were doing
// during each push phase (sampleWaits).
func BenchmarkPostgresPush(b *testing.B) {
	pgtest.Get(b) // skips without PostgreSQL
	for _, size := range []int{100, 500} {
		for _, devices := range []int{8, 50} {
			b.Run(fmt.Sprintf("batch=%d/devices=%d", size, devices), func(b *testing.B) {
				perDevice := max(1, (b.N*benchRecords+size*devices-1)/(size*devices))
				now := time.Now()
				batches := benchBatches(devices, perDevice, size, now)
				pgMigrated(b) // the cluster and template before the clock runs

				ins1, insLat := pgRaw(b, pgRawBatch, batches, now)
				copy1, copyLat := pgRaw(b, pgRawCopy, batches, now)
				un1, unLat := pgRaw(b, pgRawUnnest, batches, now)
				// The order of the three set-ups rotates between runs.
				k := pgPushRuns % len(pgPushSetups)
				pgPushRuns++
				rates, lats := map[string]float64{}, map[string][]time.Duration{}
				for i := range pgPushSetups {
					su := pgPushSetups[(k+i)%len(pgPushSetups)]
					c := newPGCluster(b, su.replicas, su.maxConns, devices)
					rates[su.name], lats[su.name] = c.push(b, batches)
				}
				un2, unLat2 := pgRaw(b, pgRawUnnest, batches, now)
				copy2, copyLat2 := pgRaw(b, pgRawCopy, batches, now)
				ins2, insLat2 := pgRaw(b, pgRawBatch, batches, now)
				ins, cp, un := (ins1+ins2)/2, (copy1+copy2)/2, (un1+un2)/2
				insLat, copyLat, unLat = append(insLat, insLat2...), append(copyLat, copyLat2...), append(unLat, unLat2...)

				b.ReportMetric(ins, "insert_rec/s")
				b.ReportMetric(cp, "copy_rec/s")
				b.ReportMetric(un, "unnest_rec/s")
				for _, su := range pgPushSetups {
					n := su.name
					b.ReportMetric(rates[n], n+"_rec/s")
					b.ReportMetric(rates[n]/ins, n+"_ratio")
					b.ReportMetric(rates[n]/cp, n+"_copy_ratio")
					b.ReportMetric(rates[n]/un, n+"_unnest_ratio")
					b.ReportMetric(percentile(lats[n], 50), n+"_p50_ms")
					b.ReportMetric(percentile(lats[n], 99), n+"_p99_ms")
				}
				b.ReportMetric(rates["r3"]/rates["r1"], "scale_3/1")
				b.ReportMetric(rates["r3p3"]/rates["r1"], "scale_3p3/1")
				b.ReportMetric(percentile(insLat, 50), "insert_tx_p50_ms")
				b.ReportMetric(percentile(copyLat, 50), "copy_tx_p50_ms")
				b.ReportMetric(percentile(unLat, 50), "unnest_tx_p50_ms")
				b.ReportMetric(float64(devices*perDevice*size), "records")
			})
		}
	}
}

// ---- Progress ----

// pgRVPatients is how many of the review fixture's patients the
// PostgreSQL fixture has: the same generator (rvGen) and so the same
// 5,000 logs per patient over 730 days, fewer patients.
const pgRVPatients = 200

// pgReviewFixture is the PostgreSQL copy of the review fixture's shape:
// built once per process into a database of its own, which the progress
// benchmark only reads (and adds audit rows to).
type pgReviewFixture struct {
	url       string
	clinician string
	patients  []rvPatient
	logs      int
	checkins  int
	build     time.Duration
	plan      string
	logged    bool
	err       error
}

var (
	pgRVOnce sync.Once
	pgRVFix  *pgReviewFixture
)

// pgReviewFixtureFor returns the shared PostgreSQL fixture, building it
// on first use into a database of its own on the binary's cluster
// (removed with the cluster), copied from the migrated template.
func pgReviewFixtureFor(b *testing.B) *pgReviewFixture {
	b.Helper()
	srv := pgtest.Get(b)
	tmpl := pgMigrated(b)
	pgRVOnce.Do(func() {
		f := &pgReviewFixture{}
		pgRVFix = f
		// Not pgtest.Template: its setup is bounded by a minute, and
		// building a million logs on a loaded 2-core machine can take
		// longer.
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, srv.URL(""))
		if err != nil {
			f.err = err
			return
		}
		defer admin.Close(ctx)
		const name = "hep_rpc_review"
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			f.err = err
			return
		}
		for i := 0; ; i++ { // the template may still be closing a session
			_, err = admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
			if err == nil || i == 20 || !strings.Contains(err.Error(), "is being accessed by other users") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			f.err = err
			return
		}
		f.url = srv.URL(name)
		start := time.Now()
		f.err = f.write(ctx, f.url, time.Now())
		f.build = time.Since(start)
	})
	f := pgRVFix
	if f.err != nil {
		b.Fatalf("postgres review fixture: %v", f.err)
	}
	if !f.logged {
		f.logged = true
		b.Logf("postgres review fixture: %d patients, %d logs, %d check-ins, built in %.1f s; raw query plan: %s",
			len(f.patients), f.logs, f.checkins, f.build.Seconds(), f.plan)
	}
	return f
}

// copyRows COPYs rows into table's columns.
func copyRows(ctx context.Context, conn *pgx.Conn, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	_, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
	return err
}

// write builds the fixture at url (migrated): the clinician
// through the store (so that it can sign in), everything else with COPY
// in phone order (rvGen's rows, as the SQLite fixture writes them; the
// alerts are left out: progress does not read them), then VACUUM ANALYZE,
// so that the visibility map allows index-only scans, as it would be on a
// database autovacuum has been through.
func (f *pgReviewFixture) write(ctx context.Context, url string, now time.Time) error {
	st, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(testPassword, fastParams)
	if err != nil {
		st.Close()
		return err
	}
	admin := hep.WithActor(ctx, hep.Actor{ID: "local:bench", Role: hep.RoleAdmin, Action: "account.create", RequestID: "bench"})
	c, err := st.CreateAccount(admin, hep.AccountCreate{Email: rvClinicianEmail, DisplayName: "Dr Review", Role: hep.RoleClinician}, hash)
	st.Close()
	if err != nil {
		return err
	}
	f.clinician = c.ID
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	zones := []string{"Europe/Lisbon", "Europe/Lisbon", "America/New_York", "Europe/Berlin", "Australia/Sydney"}
	gens := make([]*rvGen, pgRVPatients)
	seed := rand.New(rand.NewPCG(42, 42))
	var patients, team, devices, plans, items, decisions [][]any
	susp := `[{"flag":"OSTEOPOROSIS","status":"PRESENT","outcome":"NEEDS_CLEARANCE","source":"bench"}]`
	for i := range gens {
		tz := zones[i%len(zones)]
		loc := hep.LoadZone(tz)
		today := hep.DateOf(now, loc)
		created := today.AddDays(-rvDays - 1).Start(loc).Add(10 * time.Hour)
		p := rvPatient{id: rvUUID(created, seed), tz: tz, loc: loc}
		device := rvUUID(created.Add(time.Hour), seed)
		f.patients = append(f.patients, p)
		g := newRVGen(i, p, device, today)
		gens[i] = g
		patients = append(patients, []any{p.id, fmt.Sprintf("Patient %03d", i), tz, rvTS(created), rvTS(created)})
		team = append(team, []any{p.id, f.clinician, rvTS(created)})
		devices = append(devices, []any{device, p.id, "phone", "ANDROID", rvTS(created.Add(time.Hour))})
		for _, v := range g.versions {
			plans = append(plans, []any{p.id, v.version, "", f.clinician, rvTS(v.created)})
			for pos, it := range v.items {
				state, reasons, stateTime := "ACTIVE", "[]", v.created
				if it.suspended {
					state, reasons = "SUSPENDED", susp
					stateTime = g.date(it.suspendFrom).Start(loc).Add(10 * time.Hour)
				}
				dpw := it.daysPerWeek
				if it.weekdays != 0 {
					dpw = 0
				}
				items = append(items, []any{p.id, v.version, int64(pos), it.exercise, int64(it.sets), int64(it.reps), int64(it.hold),
					int64(0), int64(it.timesPerDay), int64(dpw), it.weekdays, it.start.String(), "", state, reasons, rvTS(stateTime)})
				decide := func(at time.Time, prev, next, outcome, cause, reasons string) {
					decisions = append(decisions, []any{rvUUID(at, seed), p.id, v.version, it.exercise, outcome, reasons, cause,
						prev, next, "[]", f.clinician, rvTS(at)})
				}
				decide(v.created, "", "ACTIVE", "ALLOWED", "PLAN_WRITTEN", "[]")
				if it.suspendFrom >= 0 {
					decide(g.date(it.suspendFrom).Start(loc).Add(10*time.Hour), "ACTIVE", "SUSPENDED", "NEEDS_CLEARANCE", "SCREENING_CHANGED", susp)
				}
				if it.suspendTo >= 0 {
					decide(g.date(it.suspendTo).Start(loc).Add(10*time.Hour), "SUSPENDED", "ACTIVE", "ALLOWED", "CLEARANCE", "[]")
				}
			}
		}
	}
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"patients", []string{"id", "display_name", "time_zone", "create_time", "update_time"}, patients},
		{"care_team", []string{"patient_id", "clinician_id", "add_time"}, team},
		{"devices", []string{"id", "patient_id", "name", "platform", "enroll_time"}, devices},
		{"plans", []string{"patient_id", "version", "note", "author_id", "create_time"}, plans},
		{"plan_items", []string{"patient_id", "version", "position", "exercise_id", "sets", "reps", "hold_seconds",
			"duration_seconds", "times_per_day", "days_per_week", "weekdays", "start_date", "notes", "state", "state_reasons", "state_time"}, items},
		{"gating_decisions", []string{"id", "patient_id", "plan_version", "exercise_id", "outcome", "reasons", "cause",
			"previous_state", "new_state", "screening_answer_ids", "actor_id", "decide_time"}, decisions},
	} {
		if err := copyRows(ctx, conn, t.table, t.cols, t.rows); err != nil {
			return fmt.Errorf("%s: %w", t.table, err)
		}
	}

	checkinCols := []string{"id", "patient_id", "device_id", "record_time", "corrected_record_time", "receive_time",
		"score", "location", "red_flags", "note", "content_hash"}
	order := make([]int, pgRVPatients)
	for i := range order {
		order[i] = i
	}
	todays := make([]hep.Date, pgRVPatients)
	for i, p := range f.patients {
		todays[i] = hep.DateOf(now, p.loc)
	}
	const daysPerCopy = 60
	for d0 := 0; d0 < rvDays; d0 += daysPerCopy {
		var logs, checkins [][]any
		for d := d0; d < min(d0+daysPerCopy, rvDays); d++ {
			seed.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for _, i := range order {
				rows := gens[i].day(d, f.clinician, todays[i])
				for _, r := range rows.logs {
					// The SQLite fixture's row, typed for COPY: BIGINTs
					// as int64, the flag item_suspended 0.
					for _, k := range []int{8, 9, 10, 11, 12, 13, 17} {
						if v, ok := r[k].(int); ok {
							r[k] = int64(v)
						}
					}
					logs = append(logs, r)
				}
				for _, r := range rows.checkins {
					if v, ok := r[6].(int); ok {
						r[6] = int64(v)
					}
					checkins = append(checkins, r)
				}
			}
		}
		if err := copyRows(ctx, conn, "exercise_logs", pgRawColumns, logs); err != nil {
			return fmt.Errorf("exercise_logs: %w", err)
		}
		if err := copyRows(ctx, conn, "pain_checkins", checkinCols, checkins); err != nil {
			return fmt.Errorf("pain_checkins: %w", err)
		}
		f.logs += len(logs)
		f.checkins += len(checkins)
	}
	for _, g := range gens {
		if _, err := conn.Exec(ctx, "UPDATE patients SET change_seq = $1 WHERE id = $2", g.seq, g.p.id); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return err
	}
	r := rangeOf(f.patients[0], now, hep.MaxProgressDays)
	rows, err := conn.Query(ctx, "EXPLAIN "+pgRawLogsQuery, rvTS(r.start), f.patients[0].id, rvTS(r.end))
	if err != nil {
		return err
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return err
		}
		plan = append(plan, strings.TrimSpace(line))
	}
	rows.Close()
	f.plan = strings.Join(plan, "; ")
	return rows.Err()
}

// pgRawLogsQuery is rvRawLogsQuery in PostgreSQL: the weekly aggregate
// over the logs progress reads (sessions, suspended sessions, mean pain
// after, mean pain response per UTC week from the range's start), on the
// covering index exercise_logs_live.
const pgRawLogsQuery = `SELECT floor((date_part('epoch', l.corrected_perform_time::timestamptz) - date_part('epoch', $1::text::timestamptz)) / 604800)::bigint AS w,
		count(*), sum(l.item_suspended), avg(l.pain_after)::float8, avg(l.pain_after - l.pain_before)::float8
	FROM exercise_logs l
	WHERE l.patient_id = $2 AND l.deleted_time IS NULL AND l.superseded_by IS NULL
		AND l.corrected_perform_time >= $1 AND l.corrected_perform_time < $3
	GROUP BY w`

// pgRawCheckinsQuery is rvRawCheckinsQuery in PostgreSQL, on
// pain_checkins_live.
const pgRawCheckinsQuery = `SELECT floor((date_part('epoch', k.corrected_record_time::timestamptz) - date_part('epoch', $1::text::timestamptz)) / 604800)::bigint AS w,
		count(*), avg(k.score)::float8
	FROM pain_checkins k
	WHERE k.patient_id = $2 AND k.deleted_time IS NULL AND k.superseded_by IS NULL
		AND k.corrected_record_time >= $1 AND k.corrected_record_time < $3
	GROUP BY w`

// pgRawProgress runs both raw aggregates over [start, end) on conn and
// returns the number of logs they counted (not made while suspended).
func pgRawProgress(ctx context.Context, conn *pgx.Conn, patientID string, start, end time.Time) (int, error) {
	rows, err := conn.Query(ctx, pgRawLogsQuery, rvTS(start), patientID, rvTS(end))
	if err != nil {
		return 0, err
	}
	logs := 0
	for rows.Next() {
		var w, n, susp int64
		var pain, resp *float64
		if err := rows.Scan(&w, &n, &susp, &pain, &resp); err != nil {
			rows.Close()
			return 0, err
		}
		logs += int(n - susp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows, err = conn.Query(ctx, pgRawCheckinsQuery, rvTS(start), patientID, rvTS(end))
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var w, n int64
		var mean float64
		if err := rows.Scan(&w, &n, &mean); err != nil {
			rows.Close()
			return 0, err
		}
	}
	rows.Close()
	return logs, rows.Err()
}

// pgRawRows reads the columns progress reads of the same rows (the
// queries of rawRows, with PostgreSQL placeholders) into Go values, and
// returns the logs not made while suspended: the floor of any computation
// in Go.
func pgRawRows(ctx context.Context, conn *pgx.Conn, patientID string, start, end time.Time) (int, error) {
	logs := 0
	for k, q := range []string{rvRowsLogsQuery, rvRowsCheckinsQuery} {
		q = strings.Replace(strings.Replace(strings.Replace(q, "?", "$1", 1), "?", "$2", 1), "?", "$3", 1)
		rows, err := conn.Query(ctx, q, patientID, rvTS(start), rvTS(end))
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return 0, err
			}
			if k == 0 && vals[4] == int64(0) {
				logs++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
	}
	return logs, nil
}

// pgReviewServer is the real server over the PostgreSQL fixture, reached
// through bufconn (as the SQLite review benchmarks are), with the
// clinician signed in.
type pgReviewServer struct {
	store  *postgres.Store
	srv    *Server
	conn   *grpc.ClientConn
	review hepv1.ReviewServiceClient
	ctx    context.Context // the clinician's calls
	actor  context.Context // the clinician as the store's actor
}

func startPGReviewServer(b *testing.B, f *pgReviewFixture) *pgReviewServer {
	b.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, f.url)
	if err != nil {
		b.Fatal(err)
	}
	lim := DefaultLimits
	lim.PublicPerMinute = 0
	lim.MaxConcurrentStreams = 1000
	srv, err := New(ctx, Config{Store: st, PasswordParams: fastParams, Limits: lim})
	if err != nil {
		st.Close()
		b.Fatal(err)
	}
	lis := bufconn.Listen(4 << 20)
	go srv.GRPC.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		b.Fatal(err)
	}
	s := &pgReviewServer{store: st, srv: srv, conn: conn, review: hepv1.NewReviewServiceClient(conn)}
	r, err := hepv1.NewAuthServiceClient(conn).SignIn(ctx, &hepv1.SignInRequest{Email: rvClinicianEmail, Password: testPassword})
	if err != nil {
		s.close()
		b.Fatalf("SignIn: %v", err)
	}
	s.ctx = benchCtx(r.Tokens.AccessToken)
	s.actor = hep.WithActor(ctx, hep.Actor{ID: f.clinician, Role: hep.RoleClinician, Action: "review.progress", RequestID: "bench", Peer: "bench"})
	return s
}

func (s *pgReviewServer) close() {
	s.conn.Close()
	s.srv.GRPC.Stop()
	s.store.Close()
}

// progressRPC reads r through GetProgress and returns the logs counted.
func (s *pgReviewServer) progressRPC(p rvPatient, r rvRange) (int, error) {
	n := 0
	for _, c := range r.calls {
		resp, err := s.review.GetProgress(s.ctx, &hepv1.GetProgressRequest{PatientId: p.id, From: protoDate(c[0]), To: protoDate(c[1])})
		if err != nil {
			return 0, err
		}
		n += int(resp.Progress.GetAdherence().GetLogged())
	}
	return n, nil
}

// progressStore reads r with the store and computes it, without gRPC.
func (s *pgReviewServer) progressStore(p rvPatient, r rvRange) (int, error) {
	n := 0
	for _, c := range r.calls {
		f, t, err := s.store.ProgressFacts(s.actor, p.id, c[0], c[1])
		if err != nil {
			return 0, err
		}
		n += int(hep.ComputeProgress(f, t, time.Now()).Adherence.Logged)
	}
	return n, nil
}

// BenchmarkPostgresProgress is BenchmarkReviewProgress (range=366d) on
// the PostgreSQL store: one patient's progress at a time (each call the
// next patient) through GetProgress on the real server over bufconn
// (p50_ms, p99_ms), through the store alone (ProgressFacts +
// ComputeProgress: store_*), against the raw weekly aggregates of the
// same numbers on one pgx connection to the same database (raw_*:
// pgRawLogsQuery and pgRawCheckinsQuery), and the rows progress reads
// scanned into Go values (rows_p50_ms), interleaved, warm, rvQueries of
// each per b.N. ratio is p50/raw_p50, pair_ratio the median of each
// call's time over the raw call made next to it.
func BenchmarkPostgresProgress(b *testing.B) {
	pgtest.Get(b) // skips without PostgreSQL
	b.Run(fmt.Sprintf("range=%dd", hep.MaxProgressDays), func(b *testing.B) {
		ctx := context.Background()
		f := pgReviewFixtureFor(b)
		s := startPGReviewServer(b, f)
		defer s.close()
		conn, err := pgx.Connect(ctx, f.url)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(context.Background())
		now := time.Now()
		ranges := make([]rvRange, len(f.patients))
		for i, p := range f.patients {
			ranges[i] = rangeOf(p, now, hep.MaxProgressDays)
		}
		kinds := []string{"raw", "rows", "store", "grpc"}
		run := func(kind string, i int) (int, error) {
			p, r := f.patients[i], ranges[i]
			switch kind {
			case "raw":
				return pgRawProgress(ctx, conn, p.id, r.start, r.end)
			case "rows":
				return pgRawRows(ctx, conn, p.id, r.start, r.end)
			case "store":
				return s.progressStore(p, r)
			}
			return s.progressRPC(p, r)
		}
		// Warm every patient once by each path, and check that they count
		// the same logs.
		logs := 0
		for i := range f.patients {
			var got [4]int
			for k, kind := range kinds {
				n, err := run(kind, i)
				if err != nil {
					b.Fatalf("%s: %v", kind, err)
				}
				got[k] = n
			}
			if got[0] != got[1] || got[0] != got[2] || got[0] != got[3] {
				b.Fatalf("patient %d: logs counted raw %d, rows %d, store %d, grpc %d", i, got[0], got[1], got[2], got[3])
			}
			logs += got[0]
		}
		lat := map[string][]time.Duration{}
		b.ResetTimer()
		for n := range b.N {
			for q := range rvQueries {
				i := (n*rvQueries + q) % len(f.patients)
				for k := range kinds { // rotate who goes first
					kind := kinds[(q+k)%len(kinds)]
					t0 := time.Now()
					if _, err := run(kind, i); err != nil {
						b.Fatalf("%s: %v", kind, err)
					}
					lat[kind] = append(lat[kind], time.Since(t0))
				}
			}
		}
		b.StopTimer()
		raw50 := percentile(lat["raw"], 50)
		b.ReportMetric(raw50, "raw_p50_ms")
		b.ReportMetric(percentile(lat["raw"], 99), "raw_p99_ms")
		b.ReportMetric(percentile(lat["rows"], 50), "rows_p50_ms")
		b.ReportMetric(percentile(lat["store"], 50), "store_p50_ms")
		b.ReportMetric(percentile(lat["store"], 99), "store_p99_ms")
		b.ReportMetric(percentile(lat["grpc"], 50), "p50_ms")
		b.ReportMetric(percentile(lat["grpc"], 99), "p99_ms")
		b.ReportMetric(percentile(lat["grpc"], 50)/raw50, "ratio")
		b.ReportMetric(percentile(lat["grpc"], 99)/percentile(lat["raw"], 99), "p99_ratio")
		b.ReportMetric(percentile(lat["store"], 50)/raw50, "store_ratio")
		b.ReportMetric(pairRatio(lat["grpc"], lat["raw"]), "pair_ratio")
		b.ReportMetric(float64(logs)/float64(len(f.patients)), "logs/patient")
	})
}
