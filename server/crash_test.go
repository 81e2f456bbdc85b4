//go:build unix

package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	_ "modernc.org/sqlite"

	"github.com/hepclinic/hep/clients/hepclient"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// The crash test kills hepd with SIGKILL while phones push, many times over
// one database. Run more cycles with
//
//	go test -race -run TestCrashSIGKILL ./server/ -crash-cycles=500
//	HEP_CRASH_CYCLES=500 go test -race -run TestCrashSIGKILL ./server/
//
// and replay a run's random choices (durations, record contents; not the
// scheduling) with HEP_CRASH_SEED=<seed printed by the test>. A cycle costs
// more as the database grows (the integrity check and the listing of every
// acknowledged record are linear in it, and under -race the in-process
// SQLite that checks is slow): 50 cycles take about 40 s under -race on two
// cores, 200 about 5 minutes; without -race half that.
var crashCyclesFlag = flag.Int("crash-cycles", 0, "number of SIGKILL cycles of TestCrashSIGKILL (default 50; env HEP_CRASH_CYCLES)")

const (
	crashDefaultCycles = 50
	crashPatients      = 4
	crashMinRun        = 50 * time.Millisecond  // hepd serves at least this long before the kill
	crashMaxRun        = 400 * time.Millisecond // and at most this long
	crashSyncTimeout   = 10 * time.Second       // one Sync call of a phone
)

func crashCycles(t *testing.T) int {
	if *crashCyclesFlag > 0 {
		return *crashCyclesFlag
	}
	if v := os.Getenv("HEP_CRASH_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("HEP_CRASH_CYCLES=%q: want a positive number", v)
		}
		return n
	}
	return crashDefaultCycles
}

func crashSeed(t *testing.T) uint64 {
	if v := os.Getenv("HEP_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("HEP_CRASH_SEED=%q: %v", v, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// TestCrashSIGKILL: phones (hepclient) log exercise sessions and pain
// check-ins and sync concurrently while hepd is killed with SIGKILL at a
// random point, cycle after cycle, on one database. It checks:
//
//   - after every kill, PRAGMA integrity_check and foreign_key_check of the
//     database are clean;
//   - after every restart, before any phone syncs again, every record a
//     phone saw acknowledged (it left the outbox on an APPLIED result) is on
//     the server, listed once, and nothing is there that no phone made;
//   - no sync ever reports what only data loss causes (a SEQUENCE_GAP
//     repair: Resent, Lost; a renumbering; a reset of the read model) and no
//     mutation is rejected;
//   - at the end, each phone converges (outbox empty, count and hash
//     verified) within two Syncs, and the server holds exactly the records
//     the phones made, each once with its content, as the clinician lists
//     them, and as each phone and a newly enrolled device pull them; the
//     device's last sequence on the server is the number of records made
//     and none was rejected; the database is intact and the audit chain
//     verifies.
func TestCrashSIGKILL(t *testing.T) {
	// Not parallel: it times kills on a small machine.
	cycles := crashCycles(t)
	seed := crashSeed(t)
	t.Logf("%d cycles, %d phones, seed %d (HEP_CRASH_SEED to replay)", cycles, crashPatients, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	begin := time.Now()

	dir := t.TempDir()
	db := filepath.Join(dir, "hep.db")
	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}

	// Setup on a hepd stopped cleanly afterwards: a clinician, the
	// patients, and a phone enrolled for each.
	setup := startCrashServer(t, db)
	c := &clinic{srv: setup, api: newAPI(setup.dial(t))}
	c.signInAll(t)
	// Every phone reaches the current hepd, whatever port it got: the
	// clients live through all the cycles, like an app that stays open
	// while the server crashes.
	var addr atomic.Value
	addr.Store(setup.addr)
	var pushing atomic.Int64 // Push calls on the wire, all phones
	phones := make([]*crashPhone, crashPatients)
	for i := range phones {
		p := &crashPhone{n: i + 1, rng: rand.New(rand.NewPCG(seed, uint64(i)+1)),
			logs: map[string]*hepv1.ExerciseLog{}, checkins: map[string]*hepv1.PainCheckin{}, acked: map[string]bool{}}
		p.patientID = c.createPatient(t, fmt.Sprintf("Crash %d", i+1))
		p.c = dialCrashPhone(t, filepath.Join(dir, fmt.Sprintf("phone-%d.db", i+1)), &addr, &pushing)
		code, err := c.api.device.CreateEnrollmentCode(callCtx(t, c.clinicianTok, ""), &hepv1.CreateEnrollmentCodeRequest{PatientId: p.patientID})
		must(t, "CreateEnrollmentCode", err)
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		must(t, fmt.Sprintf("phone %d: Enroll", p.n), p.c.Enroll(ctx, code.GetCode()))
		cancel()
		if p.c.PatientID() != p.patientID {
			t.Fatalf("phone %d enrolled for patient %s, want %s", p.n, p.c.PatientID(), p.patientID)
		}
		phones[i] = p
	}
	if code := setup.stop(); code != 0 {
		t.Fatalf("setup hepd exit status after SIGTERM = %d, want 0", code)
	}

	scratch := t.TempDir() // copies of the database for integrity checks
	var killedAt []time.Duration
	pushKills := 0                                              // kills while a Push was on the wire
	var lastKilled string                                       // the stderr of the last hepd killed
	var tStart, tCheck, tRun, tIntegrity, tSettle time.Duration // where the time goes
	for cycle := 1; cycle <= cycles; cycle++ {
		t0 := time.Now()
		srv := startCrashServer(t, db)
		addr.Store(srv.addr)
		cc := srv.dial(t)
		el := hepv1.NewExerciseLogServiceClient(cc)
		t1 := time.Now()
		// What was acknowledged before the last kill is there, before any
		// phone can give it again.
		if !checkAckedOnServer(t, fmt.Sprintf("after restart %d", cycle), el, c.clinicianTok, phones) {
			t.Fatalf("cycle %d: acknowledged records lost or duplicated by the kill of cycle %d\nstderr of the hepd killed (tail):\n%s",
				cycle, cycle-1, tail(lastKilled, 4<<10))
		}

		t2 := time.Now()
		var killed atomic.Bool
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, p := range phones {
			wg.Go(func() { p.work(stop, &killed) })
		}
		run := crashMinRun + time.Duration(rng.Int64N(int64(crashMaxRun-crashMinRun)+1))
		time.Sleep(run)
		killed.Store(true)
		if pushing.Load() > 0 {
			pushKills++
		}
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("cycle %d: SIGKILL: %v", cycle, err)
		}
		if _, ok := srv.wait(exitTimeout); !ok {
			t.Fatalf("cycle %d: hepd still running %v after SIGKILL", cycle, exitTimeout)
		}
		if ws, ok := srv.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			// It died of something else first: that is a crash too, but not
			// the one this test means to cause.
			t.Errorf("cycle %d: hepd ended with %v before the SIGKILL\nstderr (tail):\n%s", cycle, srv.cmd.ProcessState, tail(srv.stderr.String(), 4<<10))
		}
		killedAt = append(killedAt, run)
		lastKilled = srv.stderr.String()
		close(stop)
		wg.Wait()
		cc.Close()
		t3 := time.Now()

		// Even cycles check the file itself; odd cycles a copy, so that hepd
		// replays the crashed WAL itself at the next start.
		if err := integrityCheck(db, cycle%2 == 1, scratch); err != nil {
			t.Fatalf("cycle %d: after SIGKILL at %v: %v\nstderr of the hepd killed (tail):\n%s", cycle, run, err, tail(lastKilled, 4<<10))
		}
		t4 := time.Now()
		for _, p := range phones {
			if !p.settle(t, cycle) {
				t.FailNow()
			}
		}
		tStart, tCheck, tRun, tIntegrity, tSettle = tStart+t1.Sub(t0), tCheck+t2.Sub(t1), tRun+t3.Sub(t2), tIntegrity+t4.Sub(t3), tSettle+time.Since(t4)
	}
	var made, acked int
	for _, p := range phones {
		made += len(p.logs) + len(p.checkins)
		acked += len(p.acked)
	}
	t.Logf("%d kills in %v, %v..%v after start, %d of them with a Push on the wire; %d records made, %d acknowledged before the last kill, %d answers replayed (committed, answer lost); %d syncs ok, %d failed (%d of them UNAVAILABLE before the kill: reconnecting)",
		cycles, time.Since(begin).Round(time.Millisecond), minDur(killedAt), maxDur(killedAt), pushKills, made, acked,
		sumOf(phones, func(p *crashPhone) int { return p.replayed }),
		sumOf(phones, func(p *crashPhone) int { return p.syncOK }), sumOf(phones, func(p *crashPhone) int { return p.syncFailed }),
		sumOf(phones, func(p *crashPhone) int { return p.unavailAlive }))
	t.Logf("time: starting hepd %v, checking acknowledged records %v, running until killed %v, integrity checks %v, reading outboxes %v",
		tStart.Round(time.Millisecond), tCheck.Round(time.Millisecond), tRun.Round(time.Millisecond), tIntegrity.Round(time.Millisecond), tSettle.Round(time.Millisecond))
	if acked == 0 {
		t.Fatalf("no record was ever acknowledged: the phones never synced, nothing was tested")
	}

	// A clean start: everything acknowledged is there, then every phone
	// converges within two Syncs and holds exactly what it made.
	srv := startCrashServer(t, db)
	addr.Store(srv.addr)
	cc := srv.dial(t)
	el := hepv1.NewExerciseLogServiceClient(cc)
	devices := hepv1.NewDeviceServiceClient(cc)
	if !checkAckedOnServer(t, "after the last restart", el, c.clinicianTok, phones) {
		t.FailNow()
	}
	for _, p := range phones {
		p.converge(t)
	}
	for _, p := range phones {
		for id := range p.logs {
			p.acked[id] = true
		}
		for id := range p.checkins {
			p.acked[id] = true
		}
	}
	checkAckedOnServer(t, "after convergence", el, c.clinicianTok, phones)
	for _, p := range phones {
		p.checkServer(t, el, c.clinicianTok)
		p.checkRecords(t, "its own read model", p.c)
		// A device enrolled now pulls the same.
		code, err := devices.CreateEnrollmentCode(callCtx(t, c.clinicianTok, ""), &hepv1.CreateEnrollmentCodeRequest{PatientId: p.patientID})
		must(t, "CreateEnrollmentCode", err)
		fresh := dialCrashPhone(t, filepath.Join(dir, fmt.Sprintf("fresh-%d.db", p.n)), &addr, &pushing)
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		must(t, "fresh device Enroll", fresh.Enroll(ctx, code.GetCode()))
		res, err := fresh.Sync(ctx)
		cancel()
		if err != nil || !res.Converged {
			t.Errorf("phone %d: a fresh device's Sync = %+v, %v; want converged", p.n, res, err)
		} else {
			p.checkRecords(t, "a fresh device's pull", fresh)
		}
	}
	cc.Close()
	if code := srv.stop(); code != 0 {
		t.Errorf("final hepd exit status after SIGTERM = %d, want 0", code)
	}
	if err := integrityCheck(db, false, ""); err != nil {
		t.Errorf("after the final stop: %v", err)
	}
	checkDeviceSequences(t, db, phones)
	if r := runHepd(t, "", "audit", "verify", "--db", db); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("hepd audit verify after %d kills: %v", cycles, r)
	}
	t.Logf("done in %v", time.Since(begin).Round(time.Millisecond))
}

// crashPhone is one patient's phone and what the test knows it made.
type crashPhone struct {
	n         int
	c         *hepclient.Client
	patientID string
	rng       *rand.Rand // the phone's goroutine only

	// Written by the phone's goroutine during a cycle, read by the test
	// between cycles (after wg.Wait); mu makes that explicit.
	mu           sync.Mutex
	logs         map[string]*hepv1.ExerciseLog // every log made, by id, as made
	checkins     map[string]*hepv1.PainCheckin
	acked        map[string]bool // ids that left the outbox: APPLIED
	made         int             // records made, to number their notes
	syncOK       int
	syncFailed   int
	replayed     int      // results answered from the server's store: an earlier answer was lost
	problems     []string // sync outcomes that must not happen
	unavailAlive int      // UNAVAILABLE while hepd was not yet killed (reconnecting)
}

// dialCrashPhone opens a hepclient whose connection always dials the
// address in addr: hepd gets a new port at every start.
func dialCrashPhone(t *testing.T, state string, addr *atomic.Value, inflight *atomic.Int64) *hepclient.Client {
	t.Helper()
	return dialPhoneTo(t, state, func() string { return addr.Load().(string) }, inflight)
}

// dialPhoneTo is dialCrashPhone with the address of each new connection
// chosen by pick.
func dialPhoneTo(t *testing.T, state string, pick func() string, inflight *atomic.Int64) *hepclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	c, err := hepclient.Dial(ctx, pick(), hepclient.Options{
		StatePath:   state,
		CallTimeout: 5 * time.Second,
		Retry:       hepclient.Backoff{Base: 5 * time.Millisecond, Max: 40 * time.Millisecond, Attempts: 4},
		DeviceName:  "crash phone",
		// Counts the Pushes on the wire, to tell how many kills hit one.
		Interceptor: func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if method == hepv1.SyncService_Push_FullMethodName {
				inflight.Add(1)
				defer inflight.Add(-1)
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		},
		DialOptions: []grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", pick())
			}),
			// Reconnect quickly once hepd is back.
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 5 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 50 * time.Millisecond},
				MinConnectTimeout: 2 * time.Second,
			}),
		},
	})
	if err != nil {
		t.Fatalf("hepclient.Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// work logs one to three records, syncs, and again, until stop.
func (p *crashPhone) work(stop <-chan struct{}, killed *atomic.Bool) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		for range 1 + p.rng.IntN(3) {
			if err := p.logOne(); err != nil {
				p.problem("saving to the outbox: %v", err)
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), crashSyncTimeout)
		alive := !killed.Load()
		res, err := p.c.Sync(ctx)
		cancel()
		p.mu.Lock()
		p.replayed += res.Replayed
		if res.Resent != 0 || res.Lost != 0 || res.Renumbered != 0 || res.Reset || res.Rejected != 0 {
			// A SEQUENCE_GAP repair or renumbering means the server lost or
			// forgot acknowledged mutations; a reset, that its view and
			// the phone's parted; a rejection, that a valid record (or a
			// replay) was refused.
			p.problems = append(p.problems, fmt.Sprintf("Sync = %+v (err %v)", res, err))
		}
		switch {
		case err == nil:
			p.syncOK++
			if !res.Converged {
				p.problems = append(p.problems, fmt.Sprintf("Sync succeeded without converging: %+v", res))
			}
		case status.Code(err) == codes.Unavailable && alive && !killed.Load():
			p.syncFailed++
			p.unavailAlive++ // the connection was still coming back
		case status.Code(err) == codes.Unavailable || status.Code(err) == codes.DeadlineExceeded:
			p.syncFailed++ // hepd was killed
		default:
			p.syncFailed++
			p.problems = append(p.problems, fmt.Sprintf("Sync failed with %v (code %v; hepd killed: %v)", err, status.Code(err), killed.Load()))
		}
		p.mu.Unlock()
		if p.rng.IntN(4) == 0 {
			time.Sleep(time.Duration(p.rng.IntN(10)) * time.Millisecond) // the phone idles
		}
	}
}

func (p *crashPhone) problem(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// logOne logs a session or a check-in with random content, and remembers it
// as made.
func (p *crashPhone) logOne() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.mu.Lock()
	p.made++
	note := fmt.Sprintf("phone %d record %d", p.n, p.made)
	p.mu.Unlock()
	now := timestamppb.New(time.Now())
	if p.rng.IntN(3) == 0 {
		ci := &hepv1.PainCheckin{RecordTime: now, Score: int32(p.rng.IntN(11)), Note: note,
			Location: []hepv1.PainLocation{hepv1.PainLocation_PAIN_LOCATION_LOW_BACK, hepv1.PainLocation_PAIN_LOCATION_NECK, hepv1.PainLocation_PAIN_LOCATION_LEG}[p.rng.IntN(3)]}
		id, err := p.c.LogPain(ctx, ci)
		if err != nil {
			return err
		}
		ci.Id = id
		p.mu.Lock()
		p.checkins[id] = ci
		p.mu.Unlock()
		return nil
	}
	before, after := int32(p.rng.IntN(11)), int32(p.rng.IntN(11))
	l := &hepv1.ExerciseLog{ExerciseId: []string{"cat-cow", "childs-pose"}[p.rng.IntN(2)], PerformTime: now,
		SetsDone: int32(1 + p.rng.IntN(3)), RepsDone: int32(5 + p.rng.IntN(11)), DurationSecondsDone: int32(60 + p.rng.IntN(600)),
		PainBefore: &before, PainAfter: &after, Difficulty: hepv1.Difficulty(1 + p.rng.IntN(3)), Note: note}
	id, err := p.c.LogExercise(ctx, l)
	if err != nil {
		return err
	}
	l.Id = id
	p.mu.Lock()
	p.logs[id] = l
	p.mu.Unlock()
	return nil
}

// settle runs between cycles: it reports the cycle's problems and moves
// every record no longer in the outbox to acked. An acknowledged record
// never comes back to the outbox, and nothing is rejected.
func (p *crashPhone) settle(t *testing.T, cycle int) bool {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := true
	for _, s := range p.problems {
		t.Errorf("cycle %d, phone %d: %s", cycle, p.n, s)
		ok = false
	}
	p.problems = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pending, err := p.c.Pending(ctx)
	if err != nil {
		t.Errorf("phone %d: Pending: %v", p.n, err)
		return false
	}
	if rej, err := p.c.Rejected(ctx); err != nil || len(rej) > 0 {
		t.Errorf("cycle %d, phone %d: Rejected = %d mutations (%v), want none: %v", cycle, p.n, len(rej), err, rejections(rej))
		ok = false
	}
	inOutbox := map[string]bool{}
	for _, m := range pending {
		id := mutationID(m)
		if id == "" || p.logs[id] == nil && p.checkins[id] == nil {
			t.Errorf("cycle %d, phone %d: outbox holds a mutation the test did not make: %v", cycle, p.n, m)
			ok = false
		}
		if inOutbox[id] {
			t.Errorf("cycle %d, phone %d: outbox holds %s twice", cycle, p.n, id)
			ok = false
		}
		if p.acked[id] {
			t.Errorf("cycle %d, phone %d: %s was acknowledged, and is in the outbox again (sequence %d)", cycle, p.n, id, m.GetSequence())
			ok = false
		}
		inOutbox[id] = true
	}
	for id := range p.logs {
		if !inOutbox[id] {
			p.acked[id] = true
		}
	}
	for id := range p.checkins {
		if !inOutbox[id] {
			p.acked[id] = true
		}
	}
	return ok
}

func mutationID(m *hepv1.Mutation) string {
	switch x := m.GetChange().(type) {
	case *hepv1.Mutation_Log:
		return x.Log.GetId()
	case *hepv1.Mutation_Checkin:
		return x.Checkin.GetId()
	}
	return ""
}

func rejections(rs []hepclient.Rejection) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("seq %d %s: %s (%s)", r.Mutation.GetSequence(), mutationID(r.Mutation), r.Reason, r.Field))
	}
	return out
}

// converge syncs with no faults until the outbox is empty and the read
// model's count and hash are verified: within two Syncs.
func (p *crashPhone) converge(t *testing.T) {
	t.Helper()
	var log []string
	for round := 1; round <= 2; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), crashSyncTimeout)
		res, err := p.c.Sync(ctx)
		pending, perr := p.c.Pending(ctx)
		n, h, herr := p.c.LocalHash(ctx)
		cancel()
		log = append(log, fmt.Sprintf("round %d: %+v, err %v, %d pending (%v)", round, res, err, len(pending), perr))
		if res.Resent != 0 || res.Lost != 0 || res.Renumbered != 0 || res.Reset || res.Rejected != 0 {
			t.Errorf("phone %d: final Sync round %d = %+v: a repair, reset or rejection", p.n, round, res)
		}
		if err == nil && perr == nil && herr == nil && res.Converged && len(pending) == 0 {
			if n != res.RecordCount || h != res.RecordsHash {
				t.Errorf("phone %d: converged on count %d hash %s, but holds %d %s", p.n, res.RecordCount, res.RecordsHash, n, h)
			}
			t.Logf("phone %d converged in %d round(s): %s", p.n, round, log[len(log)-1])
			return
		}
	}
	t.Errorf("phone %d did not converge within two Syncs:\n%s", p.n, strings.Join(log, "\n"))
}

// serverRecords lists a patient's logs and check-ins as the clinician sees
// them; ids listed more than once are returned in dups.
func serverRecords(t *testing.T, el hepv1.ExerciseLogServiceClient, token, patientID string) (logs map[string]*hepv1.ExerciseLog, checkins map[string]*hepv1.PainCheckin, dups []string) {
	t.Helper()
	logs, checkins = map[string]*hepv1.ExerciseLog{}, map[string]*hepv1.PainCheckin{}
	for tok, page := "", 0; ; page++ {
		if page > 10000 {
			t.Fatalf("ListExerciseLogs: more than 10000 pages")
		}
		r, err := el.ListExerciseLogs(callCtx(t, token, ""), &hepv1.ListExerciseLogsRequest{PatientId: patientID, PageSize: 500, PageToken: tok})
		must(t, "ListExerciseLogs", err)
		for _, l := range r.GetLogs() {
			if logs[l.GetId()] != nil {
				dups = append(dups, l.GetId())
			}
			logs[l.GetId()] = l
		}
		if tok = r.GetNextPageToken(); tok == "" {
			break
		}
	}
	for tok, page := "", 0; ; page++ {
		if page > 10000 {
			t.Fatalf("ListPainCheckins: more than 10000 pages")
		}
		r, err := el.ListPainCheckins(callCtx(t, token, ""), &hepv1.ListPainCheckinsRequest{PatientId: patientID, PageSize: 500, PageToken: tok})
		must(t, "ListPainCheckins", err)
		for _, c := range r.GetCheckins() {
			if checkins[c.GetId()] != nil {
				dups = append(dups, c.GetId())
			}
			checkins[c.GetId()] = c
		}
		if tok = r.GetNextPageToken(); tok == "" {
			break
		}
	}
	return logs, checkins, dups
}

// checkAckedOnServer: every acknowledged record of every phone is on the
// server, listed once, and the server holds nothing the phones did not
// make. (Made but unacknowledged records may be there or not: the answer
// may have been lost with the server.)
func checkAckedOnServer(t *testing.T, when string, el hepv1.ExerciseLogServiceClient, token string, phones []*crashPhone) bool {
	t.Helper()
	ok := true
	for _, p := range phones {
		p.mu.Lock()
		logs, checkins, dups := serverRecords(t, el, token, p.patientID)
		if len(dups) > 0 {
			t.Errorf("%s, phone %d: the server lists %d records twice: %v", when, p.n, len(dups), first(dups, 5))
			ok = false
		}
		var lost, unknown []string
		for id := range p.acked {
			if logs[id] == nil && checkins[id] == nil {
				lost = append(lost, id)
			}
		}
		for id := range logs {
			if p.logs[id] == nil {
				unknown = append(unknown, "log "+id)
			}
		}
		for id := range checkins {
			if p.checkins[id] == nil {
				unknown = append(unknown, "check-in "+id)
			}
		}
		p.mu.Unlock()
		if len(lost) > 0 {
			sort.Strings(lost)
			t.Errorf("%s, phone %d: %d of %d acknowledged records are not on the server: %v", when, p.n, len(lost), len(p.acked), first(lost, 10))
			ok = false
		}
		if len(unknown) > 0 {
			t.Errorf("%s, phone %d: the server holds %d records the phone never made: %v", when, p.n, len(unknown), first(unknown, 10))
			ok = false
		}
	}
	return ok
}

// checkServer compares the clinician's lists with what the phone made,
// content included.
func (p *crashPhone) checkServer(t *testing.T, el hepv1.ExerciseLogServiceClient, token string) {
	t.Helper()
	logs, checkins, dups := serverRecords(t, el, token, p.patientID)
	if len(dups) > 0 {
		t.Errorf("phone %d: the server lists %v twice", p.n, first(dups, 10))
	}
	if len(logs) != len(p.logs) || len(checkins) != len(p.checkins) {
		t.Errorf("phone %d: the server lists %d logs and %d check-ins, the phone made %d and %d", p.n, len(logs), len(checkins), len(p.logs), len(p.checkins))
	}
	deviceID := p.c.DeviceID()
	bad := 0
	for id, want := range p.logs {
		if d := logDiff(logs[id], want, deviceID); d != "" && bad < 10 {
			bad++
			t.Errorf("phone %d: server log %s: %s", p.n, id, d)
		}
	}
	for id, want := range p.checkins {
		if d := checkinDiff(checkins[id], want, deviceID); d != "" && bad < 10 {
			bad++
			t.Errorf("phone %d: server check-in %s: %s", p.n, id, d)
		}
	}
}

// checkRecords compares a client's pulled logs and check-ins with what the
// phone made.
func (p *crashPhone) checkRecords(t *testing.T, what string, c *hepclient.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	recs, err := c.Records(ctx)
	if err != nil {
		t.Errorf("phone %d: %s: Records: %v", p.n, what, err)
		return
	}
	logs, checkins := map[string]*hepv1.ExerciseLog{}, map[string]*hepv1.PainCheckin{}
	var dups []string
	for _, r := range recs {
		switch r.GetKind() {
		case hepv1.RecordKind_RECORD_KIND_EXERCISE_LOG:
			if logs[r.GetId()] != nil {
				dups = append(dups, r.GetId())
			}
			logs[r.GetId()] = r.GetLog()
		case hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN:
			if checkins[r.GetId()] != nil {
				dups = append(dups, r.GetId())
			}
			checkins[r.GetId()] = r.GetCheckin()
		}
	}
	if len(dups) > 0 {
		t.Errorf("phone %d: %s holds %v twice", p.n, what, first(dups, 10))
	}
	if len(logs) != len(p.logs) || len(checkins) != len(p.checkins) {
		t.Errorf("phone %d: %s holds %d logs and %d check-ins, the phone made %d and %d", p.n, what, len(logs), len(checkins), len(p.logs), len(p.checkins))
	}
	deviceID := p.c.DeviceID()
	bad := 0
	for id, want := range p.logs {
		if d := logDiff(logs[id], want, deviceID); d != "" && bad < 10 {
			bad++
			t.Errorf("phone %d: %s: log %s: %s", p.n, what, id, d)
		}
	}
	for id, want := range p.checkins {
		if d := checkinDiff(checkins[id], want, deviceID); d != "" && bad < 10 {
			bad++
			t.Errorf("phone %d: %s: check-in %s: %s", p.n, what, id, d)
		}
	}
}

// logDiff describes how a stored log differs from the one made ("" if it
// does not): the fields the phone sent must be as sent, the device the
// phone's.
func logDiff(got, want *hepv1.ExerciseLog, deviceID string) string {
	if got == nil {
		return "missing"
	}
	if got.GetDeviceId() != deviceID {
		return fmt.Sprintf("device %q, want %q", got.GetDeviceId(), deviceID)
	}
	if got.GetCorrectedPerformTime() == nil || got.GetReceiveTime() == nil {
		return fmt.Sprintf("no corrected perform time or receive time: %v", got)
	}
	g := proto.Clone(got).(*hepv1.ExerciseLog)
	g.CorrectedPerformTime, g.ReceiveTime, g.DeviceId, g.ItemSuspended = nil, nil, "", false
	if !proto.Equal(g, want) {
		return fmt.Sprintf("stored %v, made %v", g, want)
	}
	return ""
}

func checkinDiff(got, want *hepv1.PainCheckin, deviceID string) string {
	if got == nil {
		return "missing"
	}
	if got.GetDeviceId() != deviceID {
		return fmt.Sprintf("device %q, want %q", got.GetDeviceId(), deviceID)
	}
	if got.GetCorrectedRecordTime() == nil || got.GetReceiveTime() == nil {
		return fmt.Sprintf("no corrected record time or receive time: %v", got)
	}
	g := proto.Clone(got).(*hepv1.PainCheckin)
	g.CorrectedRecordTime, g.ReceiveTime, g.DeviceId = nil, nil, ""
	if !proto.Equal(g, want) {
		return fmt.Sprintf("stored %v, made %v", g, want)
	}
	return ""
}

// checkDeviceSequences reads the server's numbering of each phone's
// mutations: the device's last sequence is the number of records the phone
// made (each numbered once, none skipped), and no stored result is a
// rejection or beyond it. (Whether APPLIED results get a row of their own
// is the store's business: both ways are accepted.)
func checkDeviceSequences(t *testing.T, db string, phones []*crashPhone) {
	t.Helper()
	sqldb, err := sql.Open("sqlite", db)
	must(t, "opening the database", err)
	defer sqldb.Close()
	for _, p := range phones {
		want := int64(len(p.logs) + len(p.checkins))
		var last int64
		if err := sqldb.QueryRow("SELECT last_seq FROM devices WHERE id = ?", p.c.DeviceID()).Scan(&last); err != nil {
			t.Errorf("reading devices.last_seq: %v", err)
			return
		}
		var rows, rejected, beyond int64
		err := sqldb.QueryRow(`SELECT count(*), coalesce(sum(status <> 'APPLIED'), 0), coalesce(sum(seq > ? OR seq < 1), 0)
			FROM device_mutations WHERE device_id = ?`, want, p.c.DeviceID()).Scan(&rows, &rejected, &beyond)
		if err != nil {
			t.Errorf("reading device_mutations: %v", err)
			return
		}
		if last != want || rejected != 0 || beyond != 0 {
			t.Errorf("phone %d: the server's last sequence is %d, want %d (the records made); device_mutations: %d rows, %d not APPLIED, %d outside 1..%d",
				p.n, last, want, rows, rejected, beyond, want)
		}
	}
}

// integrityCheck runs PRAGMA integrity_check and foreign_key_check on the
// database at db, or, with onCopy, on a copy of it (and its WAL) made in
// scratch: SQLite recovers a crashed WAL when it opens the file, and on a
// copy that recovery is left for hepd to do on the original.
func integrityCheck(db string, onCopy bool, scratch string) error {
	path := db
	if onCopy {
		path = filepath.Join(scratch, "check.db")
		for _, suffix := range []string{"", "-wal"} {
			if err := copyFile(db+suffix, path+suffix); err != nil && !(suffix != "" && errors.Is(err, os.ErrNotExist)) {
				return fmt.Errorf("copying the database: %w", err)
			}
		}
	}
	sqldb, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer sqldb.Close()
	sqldb.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := sqldb.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("PRAGMA integrity_check: %w", err)
	}
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return err
		}
		lines = append(lines, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(lines) != 1 || lines[0] != "ok" {
		return fmt.Errorf("PRAGMA integrity_check = %q, want ok", first(lines, 20))
	}
	rows, err = sqldb.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("PRAGMA foreign_key_check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int64
		_ = rows.Scan(&table, &rowid, &parent, &fk)
		return fmt.Errorf("PRAGMA foreign_key_check: %s row %d references a missing %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// startCrashServer is startServer without the log dump on failure (fifty
// servers' logs would bury the message) and with a cleanup that kills: a
// test that fails midway leaves no hepd behind. The caller closes the
// server's connections with closeAPI.
func startCrashServer(t *testing.T, db string) *server {
	t.Helper()
	dbArgs, dbEnv := dbArgs(db)
	s := &server{
		t: t, db: db,
		cmd:    exec.Command(hepdBin, append([]string{"serve", "--listen", "127.0.0.1:0", "--shutdown-timeout", "10s"}, dbArgs...)...),
		stdout: &listenWatcher{addr: make(chan string, 1)},
		stderr: &syncBuffer{},
		exited: make(chan struct{}),
	}
	s.cmd.Env = append(hepdEnv(), dbEnv...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting hepd: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case s.addr = <-s.stdout.addr:
	case <-s.exited:
		t.Fatalf("hepd exited (%v) before listening\nstdout:\n%s\nstderr:\n%s", s.cmd.ProcessState, s.stdout.String(), tail(s.stderr.String(), 8<<10))
	case <-time.After(readyTimeout):
		t.Fatalf("hepd did not print %q within %v\nstderr:\n%s", listeningPrefix, readyTimeout, tail(s.stderr.String(), 8<<10))
	}
	return s
}

func first[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func minDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}

func maxDur(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

func sumOf(phones []*crashPhone, f func(p *crashPhone) int) int {
	n := 0
	for _, p := range phones {
		p.mu.Lock()
		n += f(p)
		p.mu.Unlock()
	}
	return n
}
