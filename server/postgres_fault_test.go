//go:build unix

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hepclinic/hep/internal/pgtest"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// The replica fault test: three hepd replicas on one PostgreSQL database,
// phones pushing to whichever replica their connection reaches (each new
// connection goes to the next live replica), SIGKILL of a random replica
// every 0.3-1.2 s (HEP_REPLICA_KILLS kills, default 30; each is replaced
// at once) and one restart of PostgreSQL itself halfway. Then: nothing
// acknowledged is lost, nothing is stored twice, every device's sequence
// is exactly what it sent, every phone converges within two Syncs and
// holds exactly what it made, and the audit trail verifies.
func TestReplicasKill(t *testing.T) {
	kills := 30
	if v := os.Getenv("HEP_REPLICA_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("HEP_REPLICA_KILLS=%q: want a number >= 2", v)
		}
		kills = n
	}
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("%d kills, seed %d (HEP_CRASH_SEED to replay)", kills, seed)
	begin := time.Now()
	pg := pgtest.Get(t)
	db := pgDatabase(t)
	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}

	// The live replicas; pick gives each new connection the next one.
	var mu sync.Mutex
	var all []*server // every replica started, for the log of a failure
	start := func() *server {
		s := startCrashServer(t, db)
		all = append(all, s)
		return s
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, s := range all {
			for _, line := range strings.Split(s.stderr.String(), "\n") {
				if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"code":"Internal"`) {
					t.Logf("replica %d: %s", i+1, line)
				}
			}
		}
	})
	live := make([]*server, 3)
	for i := range live {
		live[i] = start()
	}
	var next atomic.Uint64
	pick := func() string {
		mu.Lock()
		defer mu.Unlock()
		return live[int(next.Add(1))%len(live)].addr
	}

	c := &clinic{srv: live[0], api: newAPI(live[0].dial(t))}
	c.signInAll(t)
	dir := t.TempDir()
	var pushing atomic.Int64
	phones := make([]*crashPhone, crashPatients)
	for i := range phones {
		p := &crashPhone{n: i + 1, rng: rand.New(rand.NewPCG(seed, uint64(i)+1)),
			logs: map[string]*hepv1.ExerciseLog{}, checkins: map[string]*hepv1.PainCheckin{}, acked: map[string]bool{}}
		p.patientID = c.createPatient(t, fmt.Sprintf("Replica %d", i+1))
		p.c = dialPhoneTo(t, filepath.Join(dir, fmt.Sprintf("phone-%d.db", i+1)), pick, &pushing)
		code, err := c.api.device.CreateEnrollmentCode(callCtx(t, c.clinicianTok, ""), &hepv1.CreateEnrollmentCodeRequest{PatientId: p.patientID})
		must(t, "CreateEnrollmentCode", err)
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		must(t, fmt.Sprintf("phone %d: Enroll", p.n), p.c.Enroll(ctx, code.GetCode()))
		cancel()
		phones[i] = p
	}

	// Every Sync may meet a killed replica: UNAVAILABLE is expected, any
	// other failure is a problem (work records it).
	var killed atomic.Bool
	killed.Store(true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range phones {
		wg.Go(func() { p.work(stop, &killed) })
	}
	pgRestartAt := kills / 2
	var restartTook time.Duration
	for k := 1; k <= kills; k++ {
		time.Sleep(300*time.Millisecond + time.Duration(rng.Int64N(int64(900*time.Millisecond))))
		if k == pgRestartAt {
			t0 := time.Now()
			if err := pg.Restart(); err != nil {
				t.Fatalf("restarting PostgreSQL: %v", err)
			}
			restartTook = time.Since(t0)
		}
		mu.Lock()
		i := rng.IntN(len(live))
		victim := live[i]
		mu.Unlock()
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: SIGKILL: %v", k, err)
		}
		if _, ok := victim.wait(exitTimeout); !ok {
			t.Fatalf("kill %d: hepd still running after SIGKILL", k)
		}
		if ws, ok := victim.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("kill %d: hepd ended with %v before the SIGKILL\nstderr (tail):\n%s", k, victim.cmd.ProcessState, tail(victim.stderr.String(), 4<<10))
		}
		replacement := start()
		mu.Lock()
		live[i] = replacement
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	for _, p := range phones {
		if !p.settle(t, kills) {
			t.FailNow()
		}
	}
	var made, acked, ok, failed int
	for _, p := range phones {
		made += len(p.logs) + len(p.checkins)
		acked += len(p.acked)
		ok += p.syncOK
		failed += p.syncFailed
	}
	t.Logf("%d replica kills and a PostgreSQL restart (%v) in %v: %d records made, %d acknowledged, %d syncs ok, %d failed (UNAVAILABLE)",
		kills, restartTook.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond), made, acked, ok, failed)
	if acked == 0 {
		t.Fatal("no record was ever acknowledged: nothing was tested")
	}

	el := hepv1.NewExerciseLogServiceClient(live[1].dial(t))
	if !checkAckedOnServer(t, "after the kills", el, c.clinicianTok, phones) {
		t.FailNow()
	}
	for _, p := range phones {
		p.converge(t)
	}
	for _, p := range phones {
		p.checkServer(t, el, c.clinicianTok)
		p.checkRecords(t, "its own read model", p.c)
	}
	checkDeviceSequencesPG(t, db, phones)
	mu.Lock()
	for _, s := range live {
		if code := s.stop(); code != 0 {
			t.Errorf("replica exit status after SIGTERM = %d", code)
		}
	}
	mu.Unlock()
	if r := runHepdDB(t, "", db, []string{"audit", "verify"}); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("hepd audit verify after %d replica kills: %v", kills, r)
	}
	t.Logf("done in %v", time.Since(begin).Round(time.Millisecond))
}

// checkDeviceSequencesPG is checkDeviceSequences on PostgreSQL: each
// device's last sequence is the number of records its phone made, and
// every stored mutation was applied, within 1..that.
func checkDeviceSequencesPG(t *testing.T, db string, phones []*crashPhone) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	must(t, "connecting to the database", err)
	defer conn.Close(context.Background())
	for _, p := range phones {
		want := int64(len(p.logs) + len(p.checkins))
		var last, rows, rejected, beyond int64
		if err := conn.QueryRow(ctx, "SELECT last_seq FROM devices WHERE id = $1", p.c.DeviceID()).Scan(&last); err != nil {
			t.Errorf("reading devices.last_seq: %v", err)
			return
		}
		err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status <> 'APPLIED'), count(*) FILTER (WHERE seq > $1 OR seq < 1)
			FROM device_mutations WHERE device_id = $2`, want, p.c.DeviceID()).Scan(&rows, &rejected, &beyond)
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
