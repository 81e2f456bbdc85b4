package rpc

// Clinician review benchmarks (issue 5) with raw SQL baselines measured in
// the same run, on a database of 1,000,000 exercise logs of 200 patients
// built once per process. The figures to compare are the ratios and the
// latency targets of docs/performance.md ("Clinician review"), not the
// absolute times: the machines this runs on are small and shared.
//
//	go test -run '^$' -bench Review -benchtime 1x -count 6 ./internal/rpc/
//
// The fixture takes about half a minute to build (it is logged); plain
// `go test` never builds it, because only these benchmarks ask for it.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// The fixture's shape.
const (
	rvPatients       = 200
	rvLogsPerPatient = 5000
	rvDays           = 730 // days with data, ending yesterday (patient's zone)
	rvClinicianEmail = "review@clinic.example"
)

// rvQueries is how many calls of each kind one b.N makes in the warm and
// ingest benchmarks (one per patient in turn, so every patient is read).
const rvQueries = 200

// rvPatient is one fixture patient.
type rvPatient struct {
	id, tz string
	loc    *time.Location
}

// reviewFixture is the database the review benchmarks share, built once
// per process (reviewFixtureFor).
type reviewFixture struct {
	dir       string
	base      string // as built: checkpointed, closed, never opened again
	read      string // the copy the read-only benchmarks open (they add audit rows only)
	clinician string // account id; signs in with testPassword
	patients  []rvPatient
	logs      int
	checkins  int
	alerts    int
	openAlert int
	build     time.Duration // building the database (schema to closed file)
	size      int64         // bytes of base
	plan      string        // the raw progress query's plan, for the log
	logged    bool
	err       error
}

var (
	rvOnce sync.Once
	rvFix  *reviewFixture
)

// reviewFixtureFor returns the shared fixture, building it on first use.
func reviewFixtureFor(b *testing.B) *reviewFixture {
	b.Helper()
	rvOnce.Do(func() { rvFix = buildReviewFixture() })
	if rvFix.err != nil {
		b.Fatal(rvFix.err)
	}
	if !rvFix.logged {
		rvFix.logged = true
		b.Logf("review fixture: %d patients, %d logs, %d check-ins, %d alerts (%d open), %.0f MB, built in %.1f s; raw query plan: %s",
			len(rvFix.patients), rvFix.logs, rvFix.checkins, rvFix.alerts, rvFix.openAlert, float64(rvFix.size)/1e6,
			rvFix.build.Seconds(), rvFix.plan)
	}
	return rvFix
}

// rvDirPrefix names the fixture directories: the prefix, the process id,
// then MkdirTemp's random part.
const rvDirPrefix = "hep-review-bench-"

// cleanStaleReviewFixtures removes the fixtures of processes that ended
// (there is no TestMain to remove a process's own at exit).
func cleanStaleReviewFixtures() {
	if runtime.GOOS != "linux" { // /proc tells which processes live
		return
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), rvDirPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), rvDirPrefix)
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(d)
		}
	}
}

func buildReviewFixture() *reviewFixture {
	f := &reviewFixture{}
	cleanStaleReviewFixtures()
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", rvDirPrefix, os.Getpid()))
	if err != nil {
		f.err = err
		return f
	}
	f.dir, f.base, f.read = dir, filepath.Join(dir, "base.db"), filepath.Join(dir, "read.db")
	start := time.Now()
	if f.err = f.write(time.Now()); f.err != nil {
		return f
	}
	f.build = time.Since(start)
	if fi, err := os.Stat(f.base); err == nil {
		f.size = fi.Size()
	}
	f.err = copyFile(f.base, f.read)
	return f
}

// copyFile copies a closed, checkpointed database file.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// rvUUID is a UUIDv7 for time t with random bits from r: ids grow with
// time, as the phones' do.
func rvUUID(t time.Time, r *rand.Rand) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	x, y := r.Uint64(), r.Uint64()
	for i := range 5 {
		u[6+i] = byte(x >> (8 * i))
		u[11+i] = byte(y >> (8 * i))
	}
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u.String()
}

// rvHash stands in for a content hash (64 hex characters).
func rvHash(id string) string {
	h := strings.ReplaceAll(id, "-", "")
	return h + h
}

func rvTS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// rvItem is a plan item of the fixture.
type rvItem struct {
	exercise                   string
	sets, reps, hold, duration int
	timesPerDay, daysPerWeek   int
	weekdays                   int64 // mask, Sunday = bit 0
	start                      hep.Date
	suspendFrom, suspendTo     int  // days of the data (0 = first); suspendTo < 0: still suspended
	suspended                  bool // suspended now
}

// rvVersion is a plan version of the fixture.
type rvVersion struct {
	version int64
	created time.Time
	day     int // the day of the data it was created on
	items   []rvItem
}

// rvStreak reports whether fixture patient idx logged every day (a fifth
// of them): their current streak is the whole history, and progress
// walks the most days back to measure it (sqlite's maxActivityDays).
func rvStreak(idx int) bool { return idx%5 == 0 }

// rvGen makes one patient's data, a day at a time.
type rvGen struct {
	p        rvPatient
	idx      int
	device   string
	rng      *rand.Rand
	first    hep.Date // day 0
	perDay   []int    // logs on each day (0: inactive)
	versions []rvVersion
	seq      int64
	nlogs    int
	worsen   bool
	// openFlare: the exercises with an open PAIN_FLARE alert. Alerts are
	// coalesced (one open alert per patient, kind and subject: the index
	// alerts_open_key), so a later flare with the same exercise while one
	// is open is written acknowledged.
	openFlare map[string]bool
}

func (g *rvGen) date(d int) hep.Date { return g.first.AddDays(d) }

func (g *rvGen) versionOn(d int) *rvVersion {
	var v *rvVersion
	for i := range g.versions {
		if g.versions[i].day <= d {
			v = &g.versions[i]
		}
	}
	return v
}

func newRVGen(idx int, p rvPatient, device string, today hep.Date) *rvGen {
	g := &rvGen{p: p, idx: idx, device: device, rng: rand.New(rand.NewPCG(uint64(idx)+1, 0x5eed)),
		first: today.AddDays(-rvDays), worsen: idx%8 == 5}
	// Activity: a fifth of the patients never miss a day; the others miss
	// 5-20% of days at random.
	pActive := []float64{1, 0.95, 0.9, 0.85, 0.8}[idx%5] // rvStreak
	active := make([]bool, rvDays)
	n := 0
	for d := range active {
		active[d] = d == rvDays-1 || g.rng.Float64() < pActive
		if active[d] {
			n++
		}
	}
	g.perDay = make([]int, rvDays)
	k := 0
	for d := range active {
		if active[d] {
			g.perDay[d] = rvLogsPerPatient/n + (k+1)*(rvLogsPerPatient%n)/n - k*(rvLogsPerPatient%n)/n
			k++
		}
	}
	// Two plan versions: the second a year in, with a new item and a
	// changed schedule. Some patients have an item suspended for a month,
	// some one suspended now.
	monFri := int64(0b0111110)
	monWedFri := int64(1<<time.Monday | 1<<time.Wednesday | 1<<time.Friday)
	v1 := rvVersion{version: 1, day: 0, created: g.first.Start(p.loc).Add(8 * time.Hour)}
	v1.items = []rvItem{
		{exercise: "cat-cow", sets: 2, reps: 10, timesPerDay: 3, daysPerWeek: 7, start: g.first},
		{exercise: "childs-pose", sets: 3, hold: 30, timesPerDay: 2, daysPerWeek: 7, start: g.first},
		{exercise: "bar-hang", sets: 3, hold: 20, timesPerDay: 1, weekdays: monFri, start: g.first},
	}
	v2 := rvVersion{version: 2, day: 365, created: g.date(365).Start(p.loc).Add(9 * time.Hour)}
	v2.items = []rvItem{
		{exercise: "cat-cow", sets: 2, reps: 10, timesPerDay: 3, daysPerWeek: 7, start: g.first},
		{exercise: "childs-pose", sets: 3, hold: 30, timesPerDay: 2, daysPerWeek: 7, start: g.first},
		{exercise: "bar-hang", sets: 3, hold: 20, timesPerDay: 1, weekdays: monWedFri, start: g.first},
		{exercise: "overhead-stretch", sets: 2, reps: 10, hold: 10, timesPerDay: 1, daysPerWeek: 5, start: g.date(365)},
	}
	for i := range v2.items {
		v2.items[i].suspendFrom, v2.items[i].suspendTo = -1, -1
	}
	if idx%10 == 3 {
		v2.items[2].suspendFrom, v2.items[2].suspendTo = 400, 430
	}
	if idx%20 == 7 {
		v2.items[3].suspendFrom, v2.items[3].suspendTo, v2.items[3].suspended = 700, -1, true
	}
	for i := range v1.items {
		v1.items[i].suspendFrom, v1.items[i].suspendTo = -1, -1
	}
	g.versions = []rvVersion{v1, v2}
	return g
}

// suspendedOn reports whether item it was suspended on day d.
func (it rvItem) suspendedOn(d int) bool {
	return it.suspendFrom >= 0 && d >= it.suspendFrom && (it.suspendTo < 0 || d < it.suspendTo)
}

// painOn is the patient's typical pain on day d: falling from 6 to 2 over
// the two years, or rising from 2 to 5 for the patients who get worse.
func (g *rvGen) painOn(d int) float64 {
	x := float64(d) / rvDays
	if g.worsen {
		return 2 + 3*x
	}
	return 6 - 4*x
}

func clampScore(x float64, hi int) int { return max(0, min(hi, int(math.Round(x)))) }

// rvDayRows are one patient's rows of one day.
type rvDayRows struct {
	logs, checkins, alerts [][]any
}

// day makes patient g's logs, check-in and alerts of day d.
func (g *rvGen) day(d int, clinician string, today hep.Date) rvDayRows {
	var out rvDayRows
	n := g.perDay[d]
	if n == 0 {
		return out
	}
	date := g.date(d)
	start := date.Start(g.p.loc)
	v := g.versionOn(d)
	// The day's sessions, in proportion to what the plan prescribes.
	var menu []string
	for _, it := range v.items {
		if it.suspendedOn(d) || date.Before(it.start) {
			continue
		}
		if it.weekdays != 0 && it.weekdays&(1<<uint(date.Weekday())) == 0 {
			continue
		}
		for range it.timesPerDay {
			menu = append(menu, it.exercise)
		}
	}
	receive := start.Add(22 * time.Hour)
	for k := range n {
		at := start.Add(7*time.Hour + time.Duration(k)*14*time.Hour/time.Duration(n) + time.Duration(g.rng.IntN(600))*time.Second)
		id := rvUUID(at, g.rng)
		g.seq++
		g.nlogs++
		var before, after any
		flare := g.nlogs%50 == 0
		if flare || g.rng.Float64() < 0.6 {
			b := clampScore(g.painOn(d)+g.rng.NormFloat64(), 6)
			a := clampScore(float64(b)+float64(g.rng.IntN(3)-1), 6)
			if flare {
				b = min(b, 4)
				a = b + 2
			}
			before, after = b, a
		}
		ex := menu[k%len(menu)]
		out.logs = append(out.logs, []any{id, g.p.id, g.device, ex, v.version, rvTS(at), rvTS(at), rvTS(receive),
			2, 10, 0, 300, before, after, "JUST_RIGHT", "", nil, 0, rvHash(id), g.seq})
		if flare {
			created := receive.Add(time.Minute)
			status, ackBy, ackNote, ackTime := "OPEN", any(nil), "", any(nil)
			if (date.DaysUntil(today) > 14 && g.rng.Float64() >= 0.05) || g.openFlare[ex] {
				status, ackBy, ackNote, ackTime = "ACKNOWLEDGED", clinician, "seen", rvTS(created.Add(20*time.Hour))
			} else {
				if g.openFlare == nil {
					g.openFlare = map[string]bool{}
				}
				g.openFlare[ex] = true
			}
			out.alerts = append(out.alerts, []any{rvUUID(created, g.rng), g.p.id, "PAIN_FLARE", "ROUTINE", status,
				fmt.Sprintf("Pain rose from %d to %d during %s", before, after, ex), rvTS(created), ackBy, ackNote, ackTime,
				"exercise_logs/" + id, ex})
		}
	}
	if g.rng.Float64() < 0.9 {
		at := start.Add(20*time.Hour + time.Duration(g.rng.IntN(1800))*time.Second)
		id := rvUUID(at, g.rng)
		out.checkins = append(out.checkins, []any{id, g.p.id, g.device, rvTS(at), rvTS(at), rvTS(receive),
			clampScore(g.painOn(d)+g.rng.NormFloat64(), 10), "LOW_BACK", "[]", "", rvHash(id)})
	}
	if d == rvDays-3 && g.idx%25 == 0 {
		created := start.Add(12 * time.Hour)
		report := rvUUID(created, g.rng)
		out.alerts = append(out.alerts, []any{rvUUID(created, g.rng), g.p.id, "RED_FLAG", "URGENT", "OPEN",
			"Red flag reported: new numbness", rvTS(created), nil, "", nil, "", "red_flag_reports/" + report})
	}
	return out
}

// rvInserter inserts rows of one table many to a statement.
type rvInserter struct {
	cols  int
	chunk int
	bulk  *sql.Stmt
	one   *sql.Stmt
	buf   []any
	n     int
}

func newRVInserter(tx *sql.Tx, head string, cols, chunk int) (*rvInserter, error) {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	bulk, err := tx.Prepare(head + strings.TrimSuffix(strings.Repeat(row+", ", chunk), ", "))
	if err != nil {
		return nil, err
	}
	one, err := tx.Prepare(head + row)
	if err != nil {
		return nil, err
	}
	return &rvInserter{cols: cols, chunk: chunk, bulk: bulk, one: one}, nil
}

func (w *rvInserter) add(rows ...[]any) error {
	for _, r := range rows {
		w.buf = append(w.buf, r...)
		w.n++
		if w.n == w.chunk {
			if _, err := w.bulk.Exec(w.buf...); err != nil {
				return err
			}
			w.buf, w.n = w.buf[:0], 0
		}
	}
	return nil
}

func (w *rvInserter) flush() error {
	for i := 0; i < w.n; i++ {
		if _, err := w.one.Exec(w.buf[i*w.cols : (i+1)*w.cols]...); err != nil {
			return err
		}
	}
	w.buf, w.n = w.buf[:0], 0
	return nil
}

func (w *rvInserter) close() {
	w.bulk.Close()
	w.one.Close()
}

const (
	rvInsertLogs = `INSERT INTO exercise_logs (id, patient_id, device_id, exercise_id, plan_version, perform_time,
		corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done, duration_seconds_done, pain_before,
		pain_after, difficulty, note, supersedes, item_suspended, content_hash, change_seq) VALUES `
	rvInsertCheckins = `INSERT INTO pain_checkins (id, patient_id, device_id, record_time, corrected_record_time, receive_time,
		score, location, red_flags, note, content_hash) VALUES `
	rvInsertAlerts = `INSERT INTO alerts (id, patient_id, kind, severity, status, summary, create_time, ack_by, ack_note,
		ack_time, "trigger", subject) VALUES `
)

// write builds the database at f.base: the schema by opening the store,
// the clinician through the store (so that it can sign in), everything
// else with batched SQL in phone order (day by day, each patient's day as
// one sync), then one open and close of the store (PRAGMA optimize and a
// checkpoint, as hepd leaves a database).
func (f *reviewFixture) write(now time.Time) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, f.base)
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
	if err != nil {
		st.Close()
		return err
	}
	f.clinician = c.ID
	if err := st.Close(); err != nil {
		return err
	}

	db, err := sql.Open("sqlite", sqlite.DSN(f.base))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Building only: no journal, no fsync, a page cache that holds the
	// whole file, few commits. WAL is back on before the store opens the
	// file again; what is measured uses the store's own settings.
	// Foreign keys are off too: the generator makes every reference from
	// rows it wrote (CHECK constraints still run).
	for _, p := range []string{"PRAGMA journal_mode = OFF", "PRAGMA synchronous = OFF", "PRAGMA cache_size = -2000000",
		"PRAGMA foreign_keys = OFF"} {
		if _, err := db.Exec(p); err != nil {
			return err
		}
	}
	zones := []string{"Europe/Lisbon", "Europe/Lisbon", "America/New_York", "Europe/Berlin", "Australia/Sydney"}
	gens := make([]*rvGen, rvPatients)
	seed := rand.New(rand.NewPCG(42, 42))
	tx, err := db.Begin()
	if err != nil {
		return err
	}
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
		if _, err := tx.Exec(`INSERT INTO patients (id, display_name, time_zone, create_time, update_time) VALUES (?, ?, ?, ?, ?)`,
			p.id, fmt.Sprintf("Patient %03d", i), tz, rvTS(created), rvTS(created)); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO care_team (patient_id, clinician_id, add_time) VALUES (?, ?, ?)`, p.id, f.clinician, rvTS(created)); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO devices (id, patient_id, name, platform, enroll_time) VALUES (?, ?, 'phone', 'ANDROID', ?)`,
			device, p.id, rvTS(created.Add(time.Hour))); err != nil {
			return err
		}
		for _, v := range g.versions {
			if _, err := tx.Exec(`INSERT INTO plans (patient_id, version, note, author_id, create_time) VALUES (?, ?, '', ?, ?)`,
				p.id, v.version, f.clinician, rvTS(v.created)); err != nil {
				return err
			}
			for pos, it := range v.items {
				state, reasons, stateTime := "ACTIVE", "[]", v.created
				if it.suspended {
					state = "SUSPENDED"
					reasons = `[{"flag":"OSTEOPOROSIS","status":"PRESENT","outcome":"NEEDS_CLEARANCE","source":"bench"}]`
					stateTime = g.date(it.suspendFrom).Start(loc).Add(10 * time.Hour)
				}
				dpw := it.daysPerWeek
				if it.weekdays != 0 {
					dpw = 0
				}
				if _, err := tx.Exec(`INSERT INTO plan_items (patient_id, version, position, exercise_id, sets, reps, hold_seconds,
					duration_seconds, times_per_day, days_per_week, weekdays, start_date, notes, state, state_reasons, state_time)
					VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, '', ?, ?, ?)`,
					p.id, v.version, pos, it.exercise, it.sets, it.reps, it.hold, it.timesPerDay, dpw, it.weekdays,
					it.start.String(), state, reasons, rvTS(stateTime)); err != nil {
					return err
				}
				decide := func(at time.Time, prev, next, outcome, cause, reasons string) error {
					_, err := tx.Exec(`INSERT INTO gating_decisions (id, patient_id, plan_version, exercise_id, outcome, reasons, cause,
						previous_state, new_state, screening_answer_ids, actor_id, decide_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?)`,
						rvUUID(at, seed), p.id, v.version, it.exercise, outcome, reasons, cause, prev, next, f.clinician, rvTS(at))
					return err
				}
				if err := decide(v.created, "", "ACTIVE", "ALLOWED", "PLAN_WRITTEN", "[]"); err != nil {
					return err
				}
				susp := `[{"flag":"OSTEOPOROSIS","status":"PRESENT","outcome":"NEEDS_CLEARANCE","source":"bench"}]`
				if it.suspendFrom >= 0 {
					if err := decide(g.date(it.suspendFrom).Start(loc).Add(10*time.Hour), "ACTIVE", "SUSPENDED", "NEEDS_CLEARANCE",
						"SCREENING_CHANGED", susp); err != nil {
						return err
					}
				}
				if it.suspendTo >= 0 {
					if err := decide(g.date(it.suspendTo).Start(loc).Add(10*time.Hour), "SUSPENDED", "ACTIVE", "ALLOWED",
						"CLEARANCE", "[]"); err != nil {
						return err
					}
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}

	// The logs, check-ins and alerts, day by day; each day the patients
	// sync in a new random order.
	order := make([]int, rvPatients)
	for i := range order {
		order[i] = i
	}
	todays := make([]hep.Date, rvPatients)
	for i, p := range f.patients {
		todays[i] = hep.DateOf(now, p.loc)
	}
	const daysPerTx = 30
	for d0 := 0; d0 < rvDays; d0 += daysPerTx {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		logs, err := newRVInserter(tx, rvInsertLogs, 20, 32)
		if err != nil {
			return err
		}
		checkins, err := newRVInserter(tx, rvInsertCheckins, 11, 32)
		if err != nil {
			return err
		}
		alerts, err := newRVInserter(tx, rvInsertAlerts, 12, 8)
		if err != nil {
			return err
		}
		for d := d0; d < min(d0+daysPerTx, rvDays); d++ {
			seed.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for _, i := range order {
				rows := gens[i].day(d, f.clinician, todays[i])
				if err := logs.add(rows.logs...); err != nil {
					return err
				}
				if err := checkins.add(rows.checkins...); err != nil {
					return err
				}
				if err := alerts.add(rows.alerts...); err != nil {
					return err
				}
				f.logs += len(rows.logs)
				f.checkins += len(rows.checkins)
				f.alerts += len(rows.alerts)
				for _, a := range rows.alerts {
					if a[4] == "OPEN" {
						f.openAlert++
					}
				}
			}
		}
		for _, w := range []*rvInserter{logs, checkins, alerts} {
			if err := w.flush(); err != nil {
				return err
			}
			w.close()
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	for _, g := range gens {
		if _, err := db.Exec(`UPDATE patients SET change_seq = ? WHERE id = ?`, g.seq, g.p.id); err != nil {
			return err
		}
	}
	// The raw progress query's plan: it must read the covering index alone.
	rows, err := db.Query("EXPLAIN QUERY PLAN "+rvRawLogsQuery, rvTS(now.Add(-24*time.Hour)), f.patients[0].id, rvTS(now))
	if err != nil {
		return err
	}
	var plan []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			rows.Close()
			return err
		}
		plan = append(plan, detail)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	f.plan = strings.Join(plan, "; ")
	if _, err := db.Exec("PRAGMA journal_mode = WAL"); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	st, err = sqlite.Open(ctx, f.base)
	if err != nil {
		return err
	}
	return st.Close()
}

// ---- Raw baselines ----

// rvRawLogsQuery is the weekly aggregate one would write by hand over the
// logs progress reads: sessions, suspended sessions, mean pain after and
// mean pain response per week (UTC weeks from the range's start), on the
// covering index exercise_logs_live.
const rvRawLogsQuery = `SELECT CAST((julianday(l.corrected_perform_time) - julianday(?1)) / 7 AS INTEGER) AS w,
		count(*), sum(l.item_suspended), avg(l.pain_after), avg(l.pain_after - l.pain_before)
	FROM exercise_logs l
	WHERE l.patient_id = ?2 AND l.deleted_time IS NULL AND l.superseded_by IS NULL
		AND l.corrected_perform_time >= ?1 AND l.corrected_perform_time < ?3
	GROUP BY w`

// rvRawCheckinsQuery is the weekly count and mean of the check-ins of the
// same range, on pain_checkins_live.
const rvRawCheckinsQuery = `SELECT CAST((julianday(k.corrected_record_time) - julianday(?1)) / 7 AS INTEGER) AS w,
		count(*), avg(k.score)
	FROM pain_checkins k
	WHERE k.patient_id = ?2 AND k.deleted_time IS NULL AND k.superseded_by IS NULL
		AND k.corrected_record_time >= ?1 AND k.corrected_record_time < ?3
	GROUP BY w`

// rawProgress runs both raw aggregates over [start, end) and returns the
// number of logs they counted.
func rawProgress(db *sql.DB, patientID string, start, end time.Time) (int, error) {
	rows, err := db.Query(rvRawLogsQuery, rvTS(start), patientID, rvTS(end))
	if err != nil {
		return 0, err
	}
	logs := 0
	for rows.Next() {
		var w, n, susp int64
		var pain, resp sql.NullFloat64
		if err := rows.Scan(&w, &n, &susp, &pain, &resp); err != nil {
			rows.Close()
			return 0, err
		}
		logs += int(n - susp)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	rows, err = db.Query(rvRawCheckinsQuery, rvTS(start), patientID, rvTS(end))
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
	return logs, rows.Close()
}

// rvRowsLogsQuery and rvRowsCheckinsQuery read the columns progress reads
// of the same rows, with nothing computed: what any computation in Go pays
// before it starts.
const (
	rvRowsLogsQuery = `SELECT l.corrected_perform_time, l.exercise_id, l.pain_before, l.pain_after, l.item_suspended
	FROM exercise_logs l WHERE l.patient_id = ? AND l.deleted_time IS NULL AND l.superseded_by IS NULL
		AND l.corrected_perform_time >= ? AND l.corrected_perform_time < ?`
	rvRowsCheckinsQuery = `SELECT k.corrected_record_time, k.score
	FROM pain_checkins k WHERE k.patient_id = ? AND k.deleted_time IS NULL AND k.superseded_by IS NULL
		AND k.corrected_record_time >= ? AND k.corrected_record_time < ?`
)

// rawRows reads the rows of rvRowsLogsQuery and rvRowsCheckinsQuery into
// Go values (scanned into any, as the store does) and returns the number
// of logs not made while suspended.
func rawRows(db *sql.DB, patientID string, start, end time.Time) (int, error) {
	logs := 0
	for k, q := range []string{rvRowsLogsQuery, rvRowsCheckinsQuery} {
		rows, err := db.Query(q, patientID, rvTS(start), rvTS(end))
		if err != nil {
			return 0, err
		}
		cols := 5 - 3*k
		vals, ptrs := make([]any, cols), make([]any, cols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return 0, err
			}
			if k == 0 && vals[4] == int64(0) {
				logs++
			}
		}
		if err := rows.Close(); err != nil {
			return 0, err
		}
	}
	return logs, nil
}

// rvRawTriageAlertsQuery counts the open alerts of each care-team patient.
const rvRawTriageAlertsQuery = `SELECT c.patient_id, count(a.id)
	FROM care_team c LEFT JOIN alerts a ON a.patient_id = c.patient_id AND a.status = 'OPEN'
	WHERE c.clinician_id = ? GROUP BY c.patient_id`

// rvRawTriageCheckinsQuery counts and averages each care-team patient's
// check-ins of the last 14 days.
const rvRawTriageCheckinsQuery = `SELECT c.patient_id, count(*), avg(k.score)
	FROM care_team c JOIN pain_checkins k ON k.patient_id = c.patient_id
		AND k.deleted_time IS NULL AND k.superseded_by IS NULL
		AND k.corrected_record_time >= ? AND k.corrected_record_time < ?
	WHERE c.clinician_id = ? GROUP BY c.patient_id`

// rawTriage runs the triage baseline and returns the number of patients.
func rawTriage(db *sql.DB, clinicianID string, now time.Time) (int, error) {
	rows, err := db.Query(rvRawTriageAlertsQuery, clinicianID)
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var id string
		var open int64
		if err := rows.Scan(&id, &open); err != nil {
			rows.Close()
			return 0, err
		}
		n++
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	rows, err = db.Query(rvRawTriageCheckinsQuery, rvTS(now.Add(-14*24*time.Hour)), rvTS(now), clinicianID)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id string
		var k int64
		var mean float64
		if err := rows.Scan(&id, &k, &mean); err != nil {
			rows.Close()
			return 0, err
		}
	}
	return n, rows.Close()
}

// openRaw opens the baseline's connection: the store's DSN, one connection.
func openRaw(b *testing.B, path string) *sql.DB {
	b.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(path))
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return db
}

// ---- The server ----

// rvServer is the real server over a fixture file, reached through
// bufconn, with the clinician signed in.
type rvServer struct {
	store  *sqlite.Store
	srv    *Server
	conn   *grpc.ClientConn
	review hepv1.ReviewServiceClient
	tok    string
	ctx    context.Context // the clinician's calls
	actor  context.Context // the clinician as the store's actor
}

// startReviewServer opens the store at path and serves it; tok is an
// access token to reuse (one from an earlier server over the same file),
// or "" to sign in.
func startReviewServer(b *testing.B, path, clinicianID, tok string) *rvServer {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
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
	s := &rvServer{store: st, srv: srv, conn: conn, review: hepv1.NewReviewServiceClient(conn), tok: tok}
	if s.tok == "" {
		r, err := hepv1.NewAuthServiceClient(conn).SignIn(ctx, &hepv1.SignInRequest{Email: rvClinicianEmail, Password: testPassword})
		if err != nil {
			b.Fatalf("SignIn: %v", err)
		}
		s.tok = r.Tokens.AccessToken
	}
	s.ctx = benchCtx(s.tok)
	s.actor = hep.WithActor(ctx, hep.Actor{ID: clinicianID, Role: hep.RoleClinician, Action: "review.progress", RequestID: "bench", Peer: "bench"})
	return s
}

func (s *rvServer) close() {
	s.conn.Close()
	s.srv.GRPC.Stop()
	s.store.Close()
}

func protoDate(d hep.Date) *hepv1.Date {
	return &hepv1.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

// rvRange is a progress read: the GetProgress calls it takes (each at
// most hep.MaxProgressDays) and the one span the raw aggregate covers.
type rvRange struct {
	calls      [][2]hep.Date
	start, end time.Time
}

// rangeOf returns the last days days of patient p up to today, in calls of
// at most hep.MaxProgressDays days, newest last.
func rangeOf(p rvPatient, now time.Time, days int) rvRange {
	today := hep.DateOf(now, p.loc)
	from := today.AddDays(1 - days)
	r := rvRange{start: from.Start(p.loc), end: today.AddDays(1).Start(p.loc)}
	for d := from; !today.Before(d); {
		to := d.AddDays(hep.MaxProgressDays - 1)
		if today.Before(to) {
			to = today
		}
		r.calls = append(r.calls, [2]hep.Date{d, to})
		d = to.AddDays(1)
	}
	return r
}

// progressRPC reads r through GetProgress and returns the logs counted.
func (s *rvServer) progressRPC(p rvPatient, r rvRange) (int, error) {
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

// progressStore reads r with the store and computes it, without gRPC,
// and returns the logs counted and the time spent computing.
func (s *rvServer) progressStore(p rvPatient, r rvRange) (int, time.Duration, error) {
	n := 0
	var compute time.Duration
	for _, c := range r.calls {
		f, t, err := s.store.ProgressFacts(s.actor, p.id, c[0], c[1])
		if err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		n += int(hep.ComputeProgress(f, t, time.Now()).Adherence.Logged)
		compute += time.Since(t0)
	}
	return n, compute, nil
}

// ---- Benchmarks ----

// pairRatio is the median over i of a[i]/b[i]: the ratio of two calls
// made back to back, which a shared machine's bursts of load disturb less
// than the ratio of two medians.
func pairRatio(a, b []time.Duration) float64 {
	rs := make([]time.Duration, len(a))
	for i := range a {
		rs[i] = time.Duration(float64(time.Millisecond) * float64(a[i]) / float64(b[i]))
	}
	return percentile(rs, 50)
}

// BenchmarkReviewProgress reads one patient's progress at a time (each
// call the next of the 200 patients) through GetProgress on the real
// server over bufconn (p50_ms, p99_ms), through the store alone
// (ProgressFacts + ComputeProgress: store_*, of which compute_p50_ms is
// ComputeProgress), with the raw weekly aggregates over the same rows on a
// connection with the store's DSN (raw_*), and with a plain SELECT of the
// columns progress reads of those rows into Go values (rows_p50_ms, the
// floor of any computation in Go), interleaved in the same run, warm;
// ratio is p50/raw_p50, pair_ratio the median of each call's ratio to the
// raw aggregate run next to it. range=366d is one call over the last
// 366 days (about 2,500 logs); range=731d is every log of the patient
// (5,000), two calls, against one raw aggregate. streak_p50_ms is the
// GetProgress p50 of the patients who logged every day (rvStreak);
// read_audit_p50_ms an audited read alone (Thresholds: one row read, its
// audit row made durable in the reads chain), the floor every audited read
// pays.
func BenchmarkReviewProgress(b *testing.B) {
	for _, days := range []int{hep.MaxProgressDays, rvDays + 1} {
		b.Run(fmt.Sprintf("range=%dd", days), func(b *testing.B) {
			f := reviewFixtureFor(b)
			s := startReviewServer(b, f.read, f.clinician, "")
			defer s.close()
			db := openRaw(b, f.read)
			defer db.Close()
			now := time.Now()
			ranges := make([]rvRange, len(f.patients))
			for i, p := range f.patients {
				ranges[i] = rangeOf(p, now, days)
			}
			kinds := []string{"raw", "rows", "store", "grpc"}
			var compute []time.Duration
			run := func(kind string, i int) (int, error) {
				p, r := f.patients[i], ranges[i]
				switch kind {
				case "raw":
					return rawProgress(db, p.id, r.start, r.end)
				case "rows":
					return rawRows(db, p.id, r.start, r.end)
				case "store":
					n, c, err := s.progressStore(p, r)
					compute = append(compute, c)
					return n, err
				}
				return s.progressRPC(p, r)
			}
			// Warm every patient's pages once, and check that the three
			// count the same logs.
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
			var audit, streak []time.Duration
			compute = nil
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
						if kind == "grpc" && rvStreak(i) {
							streak = append(streak, time.Since(t0))
						}
					}
					if q%4 == 0 { // an audited read alone: what the read's audit row costs
						t0 := time.Now()
						if _, err := s.store.Thresholds(s.actor); err != nil {
							b.Fatal(err)
						}
						audit = append(audit, time.Since(t0))
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
			b.ReportMetric(percentile(lat["store"], 50)/raw50, "store_ratio")
			b.ReportMetric(pairRatio(lat["grpc"], lat["raw"]), "pair_ratio")
			b.ReportMetric(percentile(compute, 50), "compute_p50_ms")
			b.ReportMetric(percentile(audit, 50), "read_audit_p50_ms")
			b.ReportMetric(percentile(streak, 50), "streak_p50_ms")
			b.ReportMetric(float64(logs)/float64(len(f.patients)), "logs/patient")
		})
	}
}

// BenchmarkReviewProgressIngest is BenchmarkReviewProgress (366 days,
// gRPC and raw, interleaved) while one goroutine pushes batches of 500
// new logs through SyncService.Push for 8 other patients, round robin,
// back to back, on a copy of the fixture of its own. The ingest rate is
// measured alone for 2 s first (ingest_alone_rec/s), then during the
// reads (ingest_rec/s). Between the reads, two probes: read_audit is an
// audited read alone (Thresholds: its audit row goes to the reads chain,
// whose writer the pushes do not hold), write_tx an audited write alone
// (SetThresholds of the same values: it queues on the writer the pushes
// hold). Before the reads chain had its own file, read_audit was write_tx.
func BenchmarkReviewProgressIngest(b *testing.B) {
	const devices, batch = 8, 500
	f := reviewFixtureFor(b)
	path := filepath.Join(f.dir, fmt.Sprintf("ingest-%d.db", time.Now().UnixNano()))
	if err := copyFile(f.base, path); err != nil {
		b.Fatal(err)
	}
	defer func() {
		for _, p := range []string{path, sqlite.ReadsPath(path)} {
			for _, suf := range []string{"", "-wal", "-shm"} {
				os.Remove(p + suf)
			}
		}
	}()
	s := startReviewServer(b, path, f.clinician, "")
	defer s.close()
	db := openRaw(b, path)
	defer db.Close()

	// The phones: patients of their own, enrolled through the API.
	type phone struct {
		id, device string
		ctx        context.Context
		seq        int64
		tmpl       []*hepv1.Mutation
	}
	patients, devs := hepv1.NewPatientServiceClient(s.conn), hepv1.NewDeviceServiceClient(s.conn)
	authc := hepv1.NewAuthServiceClient(s.conn)
	var phones []*phone
	for i := range devices {
		p, err := patients.CreatePatient(s.ctx, &hepv1.CreatePatientRequest{DisplayName: fmt.Sprintf("Ingest %d", i), TimeZone: "Europe/Lisbon"})
		if err != nil {
			b.Fatal(err)
		}
		code, err := devs.CreateEnrollmentCode(s.ctx, &hepv1.CreateEnrollmentCodeRequest{PatientId: p.Patient.Id})
		if err != nil {
			b.Fatal(err)
		}
		r, err := authc.EnrollDevice(context.Background(), &hepv1.EnrollDeviceRequest{EnrollmentCode: code.Code, DeviceName: "phone", Platform: hepv1.Platform_PLATFORM_ANDROID})
		if err != nil {
			b.Fatal(err)
		}
		ph := &phone{id: p.Patient.Id, device: r.DeviceId, ctx: benchCtx(r.Tokens.AccessToken)}
		for range batch {
			ph.tmpl = append(ph.tmpl, logMutation(0, validLog("", time.Now())))
		}
		phones = append(phones, ph)
	}
	syncc := hepv1.NewSyncServiceClient(s.conn)
	// next fills a phone's batch with new logs (new UUIDv7 ids, the next
	// sequence numbers, times in the last hours), as a phone makes them.
	next := func(ph *phone) []*hepv1.Mutation {
		now := time.Now()
		for i, m := range ph.tmpl {
			ph.seq++
			m.Sequence = ph.seq
			l := m.GetLog()
			l.Id = newID()
			l.PerformTime = timestamppb.New(now.Add(-time.Duration(batch-i) * time.Second))
		}
		return ph.tmpl
	}

	now := time.Now()
	ranges := make([]rvRange, len(f.patients))
	for i, p := range f.patients {
		ranges[i] = rangeOf(p, now, hep.MaxProgressDays)
		if _, err := s.progressRPC(p, ranges[i]); err != nil { // warm
			b.Fatal(err)
		}
		if _, err := rawProgress(db, p.id, ranges[i].start, ranges[i].end); err != nil {
			b.Fatal(err)
		}
	}

	var pushed atomic.Int64
	var stop atomic.Bool
	var pushLat []time.Duration // of the pushes that started after the reads did
	var readStart atomic.Value
	readStart.Store(time.Now().Add(time.Hour))
	ingestErr := make(chan error, 1)
	first := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 0; !stop.Load(); k++ {
			ph := phones[k%len(phones)]
			t0 := time.Now()
			resp, err := syncc.Push(ph.ctx, &hepv1.PushRequest{DeviceId: ph.device, DeviceTime: timestamppb.Now(), Mutations: next(ph)})
			if err != nil {
				ingestErr <- err
				return
			}
			if t0.After(readStart.Load().(time.Time)) {
				pushLat = append(pushLat, time.Since(t0))
			}
			for _, r := range resp.Results {
				if r.Status != applied {
					ingestErr <- fmt.Errorf("mutation %d: %v %s", r.Sequence, r.Status, r.Reason)
					return
				}
			}
			pushed.Add(batch)
			if k == 0 {
				close(first)
			}
		}
	}()
	select {
	case <-first:
	case err := <-ingestErr:
		b.Fatal(err)
	}
	// The ingest rate alone, for 2 s, before the reads start.
	alone0, aloneStart := pushed.Load(), time.Now()
	time.Sleep(2 * time.Second)
	alone := float64(pushed.Load()-alone0) / time.Since(aloneStart).Seconds()

	var grpcLat, rawLat, audit, write []time.Duration
	b.ResetTimer()
	from, start := pushed.Load(), time.Now()
	readStart.Store(start)
	for n := range b.N {
		for q := range rvQueries {
			i := (n*rvQueries + q) % len(f.patients)
			p, r := f.patients[i], ranges[i]
			t0 := time.Now()
			if _, err := s.progressRPC(p, r); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if _, err := rawProgress(db, p.id, r.start, r.end); err != nil {
				b.Fatal(err)
			}
			grpcLat, rawLat = append(grpcLat, t1.Sub(t0)), append(rawLat, time.Since(t1))
			if q%4 == 0 { // an audited read alone, then an audited write alone
				t0 := time.Now()
				th, err := s.store.Thresholds(s.actor)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := s.store.SetThresholds(s.actor, th); err != nil {
					b.Fatal(err)
				}
				audit, write = append(audit, t1.Sub(t0)), append(write, time.Since(t1))
			}
		}
	}
	end := time.Now()
	rate := float64(pushed.Load()-from) / end.Sub(start).Seconds()
	b.StopTimer()
	stop.Store(true)
	<-done
	select {
	case err := <-ingestErr:
		b.Fatal(err)
	default:
	}
	var wal int64
	if fi, err := os.Stat(path + "-wal"); err == nil {
		wal = fi.Size()
	}
	raw50 := percentile(rawLat, 50)
	b.ReportMetric(percentile(grpcLat, 50), "p50_ms")
	b.ReportMetric(percentile(grpcLat, 99), "p99_ms")
	b.ReportMetric(raw50, "raw_p50_ms")
	b.ReportMetric(percentile(rawLat, 99), "raw_p99_ms")
	b.ReportMetric(percentile(grpcLat, 50)/raw50, "ratio")
	b.ReportMetric(pairRatio(grpcLat, rawLat), "pair_ratio")
	b.ReportMetric(rate, "ingest_rec/s")
	b.ReportMetric(alone, "ingest_alone_rec/s")
	b.ReportMetric(percentile(audit, 50), "read_audit_p50_ms")
	b.ReportMetric(percentile(audit, 99), "read_audit_p99_ms")
	b.ReportMetric(percentile(write, 50), "write_tx_p50_ms")
	b.ReportMetric(percentile(write, 99), "write_tx_p99_ms")
	b.ReportMetric(percentile(pushLat, 50), "push_p50_ms")
	b.ReportMetric(percentile(pushLat, 99), "push_p99_ms")
	b.ReportMetric(float64(wal)/1e6, "wal_MB")
}

// dropCaches writes the dirty pages out and drops the OS page cache
// (root only).
func dropCaches() error {
	if err := exec.Command("sync").Run(); err != nil {
		return err
	}
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0)
}

// BenchmarkReviewProgressCold times the first GetProgress (366 days) of
// a store opened after the OS page cache was dropped, against the first
// raw aggregate of a connection opened after the same drop. Each b.N
// makes three tries of each, alternating, each on another patient.
func BenchmarkReviewProgressCold(b *testing.B) {
	const tries = 3
	f := reviewFixtureFor(b)
	if err := dropCaches(); err != nil {
		b.Skipf("cannot drop the OS page cache (needs root on Linux): %v", err)
	}
	// A token, signed in once: it stays valid for servers over the same file.
	s := startReviewServer(b, f.read, f.clinician, "")
	tok := s.tok
	s.close()
	now := time.Now()
	var cold, raw []time.Duration
	b.ResetTimer()
	for n := range b.N {
		for t := range tries {
			p := f.patients[(n*tries+t)*37%len(f.patients)]
			r := rangeOf(p, now, hep.MaxProgressDays)
			b.StopTimer()
			if err := dropCaches(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			s := startReviewServer(b, f.read, f.clinician, tok)
			t0 := time.Now()
			if _, err := s.progressRPC(p, r); err != nil {
				b.Fatal(err)
			}
			cold = append(cold, time.Since(t0))
			s.close()

			p = f.patients[((n*tries+t)*37+1)%len(f.patients)]
			r = rangeOf(p, now, hep.MaxProgressDays)
			b.StopTimer()
			if err := dropCaches(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			db := openRaw(b, f.read)
			if err := db.Ping(); err != nil {
				b.Fatal(err)
			}
			t0 = time.Now()
			if _, err := rawProgress(db, p.id, r.start, r.end); err != nil {
				b.Fatal(err)
			}
			raw = append(raw, time.Since(t0))
			db.Close()
		}
	}
	b.StopTimer()
	b.ReportMetric(percentile(cold, 50), "cold_p50_ms")
	b.ReportMetric(percentile(cold, 100), "cold_max_ms")
	b.ReportMetric(percentile(raw, 50), "raw_cold_p50_ms")
	b.ReportMetric(percentile(raw, 100), "raw_cold_max_ms")
	b.ReportMetric(percentile(cold, 50)/percentile(raw, 50), "ratio")
}

// BenchmarkReviewTriage lists the clinician's 200 patients through
// ListTriage: the first page of 50, and every page (4 calls, each
// computing the whole list), against the raw baseline on a connection
// with the store's DSN: open alerts counted per care-team patient, and one
// aggregate of each patient's check-ins of the last 14 days. Interleaved,
// warm, 50 of each per b.N.
func BenchmarkReviewTriage(b *testing.B) {
	const calls = 50
	f := reviewFixtureFor(b)
	s := startReviewServer(b, f.read, f.clinician, "")
	defer s.close()
	db := openRaw(b, f.read)
	defer db.Close()
	page := func(token string) (*hepv1.ListTriageResponse, error) {
		return s.review.ListTriage(s.ctx, &hepv1.ListTriageRequest{PageSize: 50, PageToken: token})
	}
	all := func() (int, error) {
		n, token := 0, ""
		for {
			r, err := page(token)
			if err != nil {
				return 0, err
			}
			n += len(r.Entries)
			if token = r.NextPageToken; token == "" {
				return n, nil
			}
		}
	}
	if n, err := all(); err != nil || n != len(f.patients) {
		b.Fatalf("triage listed %d patients (%v), want %d", n, err, len(f.patients))
	}
	if n, err := rawTriage(db, f.clinician, time.Now()); err != nil || n != len(f.patients) {
		b.Fatalf("raw triage counted %d patients (%v), want %d", n, err, len(f.patients))
	}
	var rawLat, pageLat, allLat []time.Duration
	b.ResetTimer()
	for range b.N {
		for range calls {
			t0 := time.Now()
			if _, err := rawTriage(db, f.clinician, time.Now()); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if _, err := page(""); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			if _, err := all(); err != nil {
				b.Fatal(err)
			}
			rawLat, pageLat, allLat = append(rawLat, t1.Sub(t0)), append(pageLat, t2.Sub(t1)), append(allLat, time.Since(t2))
		}
	}
	b.StopTimer()
	raw50 := percentile(rawLat, 50)
	b.ReportMetric(raw50, "raw_p50_ms")
	b.ReportMetric(percentile(rawLat, 99), "raw_p99_ms")
	b.ReportMetric(percentile(pageLat, 50), "page_p50_ms")
	b.ReportMetric(percentile(pageLat, 99), "page_p99_ms")
	b.ReportMetric(percentile(allLat, 50), "all_p50_ms")
	b.ReportMetric(percentile(allLat, 99), "all_p99_ms")
	b.ReportMetric(percentile(pageLat, 50)/raw50, "ratio")
	b.ReportMetric(pairRatio(pageLat, rawLat), "pair_ratio")
}
