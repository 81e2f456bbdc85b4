//go:build unix

package main

// End-to-end tests of hepd on PostgreSQL: the real binary, a throwaway
// cluster (internal/pgtest), and several hepd replicas on one database.
// Without PostgreSQL they skip locally and fail under CI=true.

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/clients/hepclient"
	"github.com/hepclinic/hep/internal/pgtest"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// pgDatabase returns the URL of a new, empty database (hepd migrates it).
func pgDatabase(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabase(t, "")
}

// withPassword returns u with its password replaced by pw.
func withPassword(t *testing.T, u, pw string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.User = url.UserPassword(p.User.Username(), pw)
	return p.String()
}

func passwordOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := p.User.Password()
	if pw == "" {
		t.Fatal("the test cluster's URL has no password")
	}
	return pw
}

// TestPostgresCommands runs hepd's commands on a PostgreSQL URL: migrate,
// admin create, serve, audit verify, export; and the refusals: a password
// on the command line, a wrong password (one clear line at start, no
// secret in it), hepd backup.
func TestPostgresCommands(t *testing.T) {
	db := pgDatabase(t)
	pw := passwordOf(t, db)
	noSecret := func(what string, r cliResult) {
		t.Helper()
		if strings.Contains(r.stdout+r.stderr, pw) {
			t.Errorf("%s printed the database password:\n%v", what, r)
		}
	}

	// A password in --db is refused before anything connects.
	r := runHepd(t, "", "migrate", "--db", db)
	noSecret("migrate --db URL-with-password", r)
	if r.code != 2 || !strings.Contains(r.stderr, "PGPASSFILE") {
		t.Errorf("hepd migrate --db URL-with-password = %v; want exit 2 naming PGPASSFILE", r)
	}
	// Without the password in the URL, PGPASSWORD gives it.
	p, _ := url.Parse(db)
	p.User = url.User(p.User.Username())
	bare := p.String()
	r = runHepdEnv(t, "", []string{"PGPASSWORD=" + pw}, "migrate", "--db", bare)
	if r.code != 0 || !strings.Contains(r.stdout, "applied migration 0001") {
		t.Fatalf("hepd migrate --db URL with PGPASSWORD = %v", r)
	}
	r = runHepdDB(t, "", db, []string{"migrate"})
	if r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("second hepd migrate = %v; want up to date", r)
	}

	// A wrong password fails serve at start, in one line, without the
	// password given or the real one.
	wrong := withPassword(t, db, "not-the-password-1234")
	start := time.Now()
	r = runHepdEnv(t, "", []string{"HEP_DB=" + wrong}, "serve", "--listen", "127.0.0.1:0")
	if r.code != 1 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 || !strings.Contains(r.stderr, "password authentication failed") {
		t.Errorf("hepd serve with a wrong password = %v; want exit 1 with one line naming the failed authentication", r)
	}
	if strings.Contains(r.stdout+r.stderr, "not-the-password-1234") {
		t.Errorf("hepd serve printed the wrong password:\n%v", r)
	}
	noSecret("serve with a wrong password", r)
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("hepd serve took %v to give up on a wrong password", d)
	}
	// An unreachable database: the same, UNAVAILABLE in words.
	p, _ = url.Parse(db)
	p.Host = "127.0.0.1:1"
	r = runHepdEnv(t, "", []string{"HEP_DB=" + p.String()}, "serve", "--listen", "127.0.0.1:0")
	if r.code != 1 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("hepd serve on a closed port = %v; want exit 1 with one line", r)
	}
	noSecret("serve on a closed port", r)

	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}
	if r := createAdmin(t, db); r.code != 0 || !strings.Contains(r.stdout, "already exists") {
		t.Errorf("second hepd admin create = %v", r)
	}
	c := &clinic{srv: startServer(t, db)}
	c.api = newAPI(c.srv.dial(t))
	c.signInAll(t)
	noSecret("hepd serve", cliResult{stdout: c.srv.stdout.String(), stderr: c.srv.stderr.String()})
	patientID := c.createPatient(t, "Pia Postgres")
	_, devTok := c.enrollPhone(t, patientID)
	_ = devTok
	if code := c.srv.stop(); code != 0 {
		t.Fatalf("hepd exit status after SIGTERM = %d\nstderr:\n%s", code, c.srv.stderr.String())
	}
	noSecret("hepd serve's logs", cliResult{stdout: c.srv.stdout.String(), stderr: c.srv.stderr.String()})

	r = runHepdDB(t, "", db, []string{"audit", "verify"})
	if r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("hepd audit verify = %v", r)
	}
	out := filepath.Join(t.TempDir(), "visit.json")
	r = runHepdDB(t, "", db, []string{"export"}, patientID, "--format", "fhir", "-o", out)
	if r.code != 0 || !strings.Contains(r.stdout, "wrote "+out) {
		t.Errorf("hepd export = %v", r)
	}
	r = runHepdDB(t, "", db, []string{"backup"}, "--out", filepath.Join(t.TempDir(), "copy.db"))
	if r.code != 2 || !strings.Contains(r.stderr, "pg_dump") {
		t.Errorf("hepd backup on PostgreSQL = %v; want exit 2 pointing at pg_dump", r)
	}
	noSecret("hepd backup", r)
}

// replicas starts n hepd processes on db.
func replicas(t *testing.T, db string, n int, extra ...string) []*server {
	t.Helper()
	srvs := make([]*server, n)
	for i := range srvs {
		srvs[i] = startServer(t, db, extra...)
	}
	return srvs
}

// TestReplicas runs three hepd processes on one database and checks what
// must hold across them: one patient's concurrent pushes through
// different replicas with pulls interleaved never make a cursor skip a row
// (no phone ever needs a reset) and every phone converges on the
// database's records; a batch replayed through another replica, or
// through two at once, gets the stored results and no duplicate; a refresh
// token rotated on two replicas at once rotates once and is then reuse;
// the background loop runs on one replica (the one holding the lock), and
// another takes it over when that one stops; the audit trail verifies.
func TestReplicas(t *testing.T) {
	db := pgDatabase(t)
	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}
	srvs := replicas(t, db, 3, "--adherence-interval", "100ms")
	apis := make([]*api, len(srvs))
	for i, s := range srvs {
		apis[i] = newAPI(s.dial(t))
	}
	c := &clinic{srv: srvs[0], api: apis[0]}
	c.signInAll(t)

	t.Run("RefreshRotation", func(t *testing.T) {
		in, err := apis[1].auth.SignIn(callCtx(t, "", ""), &hepv1.SignInRequest{Email: clinicianEmail, Password: clinicianPassword})
		must(t, "SignIn", err)
		tok := in.GetTokens().GetRefreshToken()
		var wg sync.WaitGroup
		res := make([]*hepv1.RefreshTokenResponse, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				res[i], errs[i] = apis[1+i].auth.RefreshToken(callCtx(t, "", ""), &hepv1.RefreshTokenRequest{RefreshToken: tok})
			})
		}
		wg.Wait()
		ok := 0
		var next string
		for i := range 2 {
			if errs[i] == nil {
				ok++
				next = res[i].GetTokens().GetRefreshToken()
			} else {
				checkStatus(t, fmt.Sprintf("RefreshToken on replica %d", i+2), errs[i], codes.Unauthenticated, "REFRESH_TOKEN_REUSED")
			}
		}
		if ok != 1 {
			t.Fatalf("%d of two concurrent rotations of one token succeeded (%v); want exactly one", ok, errs)
		}
		// The reuse revoked the session: the winner's new token is dead too,
		// on every replica.
		_, err = apis[0].auth.RefreshToken(callCtx(t, "", ""), &hepv1.RefreshTokenRequest{RefreshToken: next})
		checkStatus(t, "RefreshToken with the new token after a reuse", err, codes.Unauthenticated, "")
	})

	patientID := c.createPatient(t, "Rita Replica")

	t.Run("IdempotentPush", func(t *testing.T) {
		deviceID, devTok := c.enrollPhone(t, patientID)
		syncs := make([]hepv1.SyncServiceClient, len(srvs))
		for i, s := range srvs {
			syncs[i] = hepv1.NewSyncServiceClient(s.dial(t))
		}
		var muts []*hepv1.Mutation
		for i := range 20 {
			before, after := int32(i%11), int32((i+3)%11)
			muts = append(muts, &hepv1.Mutation{Sequence: int64(i + 1), Change: &hepv1.Mutation_Log{Log: &hepv1.ExerciseLog{
				Id: uuid.Must(uuid.NewV7()).String(), ExerciseId: "cat-cow", PerformTime: timestamppb.New(time.Now().Add(-time.Duration(i) * time.Minute)),
				SetsDone: 2, RepsDone: 10, DurationSecondsDone: 300, PainBefore: &before, PainAfter: &after, Difficulty: hepv1.Difficulty_DIFFICULTY_JUST_RIGHT}}})
		}
		push := func(i int, batch []*hepv1.Mutation) (*hepv1.PushResponse, error) {
			return syncs[i].Push(callCtx(t, devTok, ""), &hepv1.PushRequest{DeviceId: deviceID, DeviceTime: timestamppb.Now(), Mutations: batch})
		}
		// The first half through two replicas at once, then all of it
		// through the third: every answer the same, nothing twice.
		var wg sync.WaitGroup
		resps := make([]*hepv1.PushResponse, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() { resps[i], errs[i] = push(i, muts[:10]) })
		}
		wg.Wait()
		for i := range 2 {
			must(t, fmt.Sprintf("concurrent Push on replica %d", i+1), errs[i])
		}
		all, err := push(2, muts)
		must(t, "Push of the whole batch on replica 3", err)
		again, err := push(0, muts)
		must(t, "Push of the whole batch again on replica 1", err)
		// Every answer is the stored one; only "replayed" tells a replay,
		// and of the two concurrent pushes exactly one applied each
		// mutation.
		same := func(a, b *hepv1.MutationResult) bool {
			a, b = proto.Clone(a).(*hepv1.MutationResult), proto.Clone(b).(*hepv1.MutationResult)
			a.Replayed, b.Replayed = false, false
			return proto.Equal(a, b)
		}
		for i, r := range all.GetResults() {
			if r.GetStatus() != hepv1.MutationStatus_MUTATION_STATUS_APPLIED {
				t.Errorf("result %d = %v, want APPLIED", i, r)
			}
			if a := again.GetResults()[i]; !same(r, a) || !a.GetReplayed() {
				t.Errorf("result %d: %v, replayed through another replica %v", i, r, a)
			}
			if i < 10 {
				fresh := 0
				for j := range 2 {
					if !same(r, resps[j].GetResults()[i]) {
						t.Errorf("result %d: %v, on replica %d %v", i, r, j+1, resps[j].GetResults()[i])
					}
					if !resps[j].GetResults()[i].GetReplayed() {
						fresh++
					}
				}
				if fresh != 1 || !r.GetReplayed() {
					t.Errorf("mutation %d: applied by %d of the two concurrent pushes (and replayed %v by the third); want exactly one", i+1, fresh, r.GetReplayed())
				}
			} else if r.GetReplayed() {
				t.Errorf("mutation %d: replayed on its first push", i+1)
			}
		}
		el := hepv1.NewExerciseLogServiceClient(srvs[1].dial(t))
		logs, _, dups := serverRecords(t, el, c.clinicianTok, patientID)
		if len(logs) != len(muts) || len(dups) != 0 {
			t.Errorf("after replays through three replicas: %d logs (%d listed twice), want %d", len(logs), len(dups), len(muts))
		}
	})

	t.Run("OrderAcrossReplicas", func(t *testing.T) {
		// Three phones of one patient, each on its own replica, and a
		// fourth that moves to the next replica at every sync (its cursor
		// from one replica used on another).
		dir := t.TempDir()
		type phone struct {
			c     *hepclient.Client
			state string
			at    int
			made  int
		}
		dialPhone := func(state string, at int) *hepclient.Client {
			ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
			defer cancel()
			pc, err := hepclient.Dial(ctx, srvs[at].addr, hepclient.Options{StatePath: state, CallTimeout: 10 * time.Second, PullPageSize: 7})
			must(t, "hepclient.Dial", err)
			return pc
		}
		phones := make([]*phone, 4)
		for i := range phones {
			p := &phone{state: filepath.Join(dir, fmt.Sprintf("phone-%d.db", i)), at: i % len(srvs)}
			p.c = dialPhone(p.state, p.at)
			code, err := c.api.device.CreateEnrollmentCode(callCtx(t, c.clinicianTok, ""), &hepv1.CreateEnrollmentCodeRequest{PatientId: patientID})
			must(t, "CreateEnrollmentCode", err)
			ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
			must(t, "Enroll", p.c.Enroll(ctx, code.GetCode()))
			cancel()
			phones[i] = p
		}
		defer func() {
			for _, p := range phones {
				p.c.Close()
			}
		}()
		const rounds = 12
		var wg sync.WaitGroup
		var mu sync.Mutex
		var problems []string
		for i, p := range phones {
			wg.Go(func() {
				for round := range rounds {
					if i == 3 && round > 0 {
						p.c.Close()
						p.at = (p.at + 1) % len(srvs)
						p.c = dialPhone(p.state, p.at)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					for range 1 + round%3 {
						before, after := int32(round%11), int32(i)
						_, err := p.c.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "childs-pose", PerformTime: timestamppb.Now(),
							SetsDone: 1, RepsDone: 5, DurationSecondsDone: 120, PainBefore: &before, PainAfter: &after, Difficulty: hepv1.Difficulty_DIFFICULTY_TOO_EASY})
						if err != nil {
							mu.Lock()
							problems = append(problems, fmt.Sprintf("phone %d: LogExercise: %v", i, err))
							mu.Unlock()
						}
						p.made++
					}
					res, err := p.c.Sync(ctx)
					cancel()
					mu.Lock()
					if err != nil {
						problems = append(problems, fmt.Sprintf("phone %d round %d: Sync: %v", i, round, err))
					} else if res.Reset || !res.Converged || res.Rejected != 0 || res.Lost != 0 {
						problems = append(problems, fmt.Sprintf("phone %d round %d on replica %d: Sync = %+v: a cursor skipped or repeated a row", i, round, p.at+1, res))
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, s := range problems {
			t.Error(s)
		}
		// Quiet now: every phone syncs once more and holds exactly what
		// the database holds.
		el := hepv1.NewExerciseLogServiceClient(srvs[2].dial(t))
		logs, _, dups := serverRecords(t, el, c.clinicianTok, patientID)
		made := 20 // IdempotentPush's
		for _, p := range phones {
			made += p.made
		}
		if len(logs) != made || len(dups) != 0 {
			t.Errorf("the database holds %d logs (%d listed twice), the phones made %d", len(logs), len(dups), made)
		}
		for i, p := range phones {
			ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
			res, err := p.c.Sync(ctx)
			n, h, herr := p.c.LocalHash(ctx)
			cancel()
			if err != nil || herr != nil || !res.Converged || res.Reset {
				t.Errorf("phone %d: final Sync = %+v, %v, %v", i, res, err, herr)
				continue
			}
			if n != res.RecordCount || h != res.RecordsHash {
				t.Errorf("phone %d holds %d records hashing %s; the server says %d hashing %s", i, n, h, res.RecordCount, res.RecordsHash)
			}
		}
	})

	t.Run("BackgroundLeader", func(t *testing.T) {
		leaders := func() []int {
			var out []int
			for i, s := range srvs {
				for _, line := range strings.Split(s.stderr.String(), "\n") {
					if strings.Contains(line, `"lock":"hep.evaluate_adherence"`) && strings.Contains(line, "leading background work") {
						out = append(out, i)
						break
					}
				}
			}
			return out
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(leaders()) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		got := leaders()
		if len(got) != 1 {
			t.Fatalf("replicas leading adherence evaluation: %v, want exactly one", got)
		}
		// The leader stops; another takes over within a few intervals.
		lead := got[0]
		if code := srvs[lead].stop(); code != 0 {
			t.Fatalf("leader's exit status after SIGTERM = %d", code)
		}
		deadline = time.Now().Add(20 * time.Second)
		for len(leaders()) < 2 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := leaders(); len(got) != 2 {
			t.Errorf("after the leader stopped, replicas that led: %v; want the old one and one other", got)
		}
	})

	for _, s := range srvs {
		s.stop()
	}
	r := runHepdDB(t, "", db, []string{"audit", "verify"})
	if r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("hepd audit verify after three replicas: %v", r)
	}
}
