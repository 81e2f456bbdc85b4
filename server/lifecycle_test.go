//go:build unix

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestRestartKeepsData stops hepd and starts it again on the same database:
// the data and the tokens issued before the restart are still good.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	c := newClinic(t, t.TempDir())
	ids := map[string]string{}
	for _, name := range []string{"Ana", "Bruno", "Carla"} {
		ids[c.createPatient(t, name)] = name
	}
	// A backup taken while hepd serves is a consistent copy of the data.
	backup := filepath.Join(t.TempDir(), "backup.db")
	if r := runHepd(t, "", "backup", "--db", c.srv.db, "--out", backup); r.code != 0 {
		t.Errorf("hepd backup of a serving database: %v", r)
	} else if r := runHepd(t, "", "audit", "verify", "--db", backup); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("hepd audit verify of a backup taken while serving: %v", r)
	}

	if code := c.srv.stop(); code != 0 {
		t.Fatalf("hepd serve exit status after SIGTERM = %d, want 0", code)
	}
	if !strings.Contains(c.srv.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("hepd did not log \"stopped\" on SIGTERM")
	}

	srv := startServer(t, c.srv.db)
	if srv.addr == c.srv.addr {
		t.Logf("restarted hepd reuses port %s", srv.addr)
	}
	waitServing(t, srv)
	if strings.Contains(srv.stderr.String(), "hepd admin create") {
		t.Errorf("restarted hepd asks for an admin although one exists:\n%s", srv.stderr.String())
	}
	a := newAPI(srv.dial(t))

	// Access tokens from before the restart still verify: the signing key is
	// in the database, not in memory.
	list := listAllPatients(t, a, c.clinicianTok, 2)
	if len(list) != len(ids) {
		t.Errorf("after restart ListPatients = %d patients, want %d", len(list), len(ids))
	}
	for _, p := range list {
		if ids[p.GetId()] != p.GetDisplayName() {
			t.Errorf("after restart: patient %s %q, want one of %v", p.GetId(), p.GetDisplayName(), ids)
		}
	}
	for id, name := range ids {
		got, err := a.patient.GetPatient(callCtx(t, c.clinicianTok, ""), &hepv1.GetPatientRequest{PatientId: id})
		must(t, "GetPatient after restart", err)
		if got.GetPatient().GetDisplayName() != name || got.GetPatient().GetTimeZone() != "Europe/Lisbon" {
			t.Errorf("after restart GetPatient(%s) = %v, want %s in Europe/Lisbon", id, got.GetPatient(), name)
		}
	}
	who, err := a.auth.WhoAmI(callCtx(t, c.adminTok, ""), &hepv1.WhoAmIRequest{})
	must(t, "admin WhoAmI with a token from before the restart", err)
	if who.GetPrincipal().GetAccountId() != c.adminID {
		t.Errorf("admin WhoAmI after restart = %v, want account %s", who.GetPrincipal(), c.adminID)
	}
	// So do refresh tokens.
	ref, err := a.auth.RefreshToken(callCtx(t, "", ""), &hepv1.RefreshTokenRequest{RefreshToken: c.clinicianRefresh})
	must(t, "RefreshToken with a token from before the restart", err)
	if _, err := a.patient.ListPatients(callCtx(t, ref.GetTokens().GetAccessToken(), ""), &hepv1.ListPatientsRequest{}); err != nil {
		t.Errorf("ListPatients with the refreshed token: %v", err)
	}
}

// TestSIGTERMDuringBurst stops hepd while clinicians create patients as fast as
// they can: every creation that was acknowledged must survive, the process
// must exit 0 after draining, health must turn NOT_SERVING first, and later
// calls must fail UNAVAILABLE instead of hanging.
func TestSIGTERMDuringBurst(t *testing.T) {
	// Not parallel: it measures a shutdown under load on a small machine.
	c := newClinic(t, t.TempDir())

	// A health watcher on its own connection, like a load balancer's.
	hc := healthpb.NewHealthClient(c.srv.dial(t))
	watchCtx, stopWatch := context.WithTimeout(context.Background(), 60*time.Second)
	defer stopWatch()
	watch, err := hc.Watch(watchCtx, &healthpb.HealthCheckRequest{})
	must(t, "health Watch", err)
	first, err := watch.Recv()
	must(t, "health Watch first status", err)
	if first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before SIGTERM = %v, want SERVING", first.GetStatus())
	}

	const workers = 8
	var (
		mu    sync.Mutex
		acked []string
		errs  []error
		wg    sync.WaitGroup
		quit  = make(chan struct{})
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-quit:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
				ctx = withBearer(ctx, c.clinicianTok)
				p, err := c.api.patient.CreatePatient(ctx, &hepv1.CreatePatientRequest{DisplayName: fmt.Sprintf("Burst %d-%d", w, i), TimeZone: "America/Sao_Paulo"})
				cancel()
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("worker %d call %d: %w", w, i, err))
					mu.Unlock()
					return
				}
				acked = append(acked, p.GetPatient().GetId())
				mu.Unlock()
			}
		}()
	}
	// Whatever happens, the workers stop before the test returns.
	defer func() { close(quit); wg.Wait() }()

	time.Sleep(time.Second)
	mu.Lock()
	before, early := len(acked), errs
	mu.Unlock()
	if len(early) > 0 {
		t.Fatalf("errors before SIGTERM: %v", early)
	}
	if before == 0 {
		t.Fatalf("no patient created in the first second; nothing to test")
	}
	sigterm := time.Now()
	c.srv.signal(syscall.SIGTERM)

	// Health turns NOT_SERVING, then the server ends the watch itself, so a
	// watcher that never hangs up cannot hold the drain open.
	st, err := watch.Recv()
	if err != nil {
		t.Errorf("health Watch after SIGTERM: %v; want a NOT_SERVING update", err)
	} else if st.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health after SIGTERM = %v, want NOT_SERVING", st.GetStatus())
	}
	watchEnd := make(chan error, 1)
	go func() {
		for {
			if _, err := watch.Recv(); err != nil {
				watchEnd <- err
				return
			}
		}
	}()
	select {
	case <-watchEnd:
	case <-time.After(5 * time.Second):
		t.Errorf("health Watch still open 5 s after SIGTERM: the server does not end watchers when draining")
	}
	stopWatch()

	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	select {
	case <-workersDone:
	case <-time.After(30 * time.Second):
		t.Fatalf("workers still running 30 s after SIGTERM")
	}
	code, exited := c.srv.wait(exitTimeout)
	if !exited {
		t.Fatalf("hepd still running %v after SIGTERM", exitTimeout)
	}
	t.Logf("%d patients acknowledged (%d before SIGTERM); hepd exited %v after SIGTERM", len(acked), before, time.Since(sigterm).Round(time.Millisecond))
	if code != 0 {
		t.Errorf("hepd exit status after SIGTERM = %d, want 0", code)
	}
	if d := time.Since(sigterm); d > 5*time.Second {
		t.Errorf("hepd took %v to exit after SIGTERM; in-flight calls are short, so the drain should be quick", d)
	}
	if len(errs) != workers {
		t.Errorf("%d workers stopped on an error, want all %d", len(errs), workers)
	}
	for _, err := range errs {
		if status.Code(err) != codes.Unavailable {
			t.Errorf("call during shutdown: %v; want UNAVAILABLE (in-flight calls complete, later ones are refused)", err)
		}
	}

	// After exit, calls fail fast instead of hanging.
	callStart := time.Now()
	_, err = c.api.patient.ListPatients(callCtx(t, c.clinicianTok, ""), &hepv1.ListPatientsRequest{})
	checkStatus(t, "ListPatients after exit", err, codes.Unavailable, "")
	if d := time.Since(callStart); d > 5*time.Second {
		t.Errorf("ListPatients after exit took %v", d)
	}

	// Zero acknowledged writes lost.
	srv := startServer(t, c.srv.db)
	a := newAPI(srv.dial(t))
	stored := map[string]bool{}
	for _, p := range listAllPatients(t, a, c.clinicianTok, 500) {
		if stored[p.GetId()] {
			t.Errorf("ListPatients lists %s twice", p.GetId())
		}
		stored[p.GetId()] = true
	}
	var lost []string
	for _, id := range acked {
		if !stored[id] {
			lost = append(lost, id)
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged patients lost after SIGTERM: %v", len(lost), len(acked), lost)
	}
	if extra := len(stored) - len(acked); extra != 0 {
		t.Logf("%d patients stored but not acknowledged (created while their response was lost)", extra)
	}
	if code := srv.stop(); code != 0 {
		t.Errorf("restarted hepd exit status = %d", code)
	}
	if r := runHepd(t, "", "audit", "verify", "--db", c.srv.db); r.code != 0 {
		t.Errorf("hepd audit verify after the burst: %v", r)
	}
}
