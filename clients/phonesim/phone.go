package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/hepclinic/hep/clients/hepclient"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// summary is what a simulation did.
type summary struct {
	mu sync.Mutex

	cfg       config
	phones    int
	converged int

	sessions, checkins, corrections, deletions int
	syncOK, syncFailed, resets                 int
	pushed, acked, rejected, replayed, pulled  int
	outboxLeft                                 int
	faults                                     map[string]int
	problems                                   []string
}

func (s *summary) add(f func(s *summary)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *summary) addSync(res hepclient.SyncResult, err error) {
	s.add(func(s *summary) {
		s.pushed += res.Pushed
		s.acked += res.Acked
		s.rejected += res.Rejected
		s.replayed += res.Replayed
		s.pulled += res.Pulled
		if res.Reset {
			s.resets++
		}
		if err != nil {
			s.syncFailed++
		} else {
			s.syncOK++
		}
	})
}

func (s *summary) print(w io.Writer) {
	c := s.cfg
	fmt.Fprintf(w, "phonesim: %d phones for %v, seed %d; clocks off by up to %v, offline %.0f%% of the time, faults on %.0f%% of sync calls\n",
		s.phones, c.duration, c.seed, c.clockSkew.Abs(), 100*c.offlineProbability, 100*c.faultRate)
	fmt.Fprintf(w, "  made       %d sessions logged, %d check-ins, %d corrections, %d deletions\n", s.sessions, s.checkins, s.corrections, s.deletions)
	fmt.Fprintf(w, "  pushed     %d mutations: acked %d, rejected %d (replayed answers %d)\n", s.pushed, s.acked, s.rejected, s.replayed)
	fmt.Fprintf(w, "  pulled     %d changes\n", s.pulled)
	fmt.Fprintf(w, "  syncs      %d ok, %d failed (offline or faults), %d resets\n", s.syncOK, s.syncFailed, s.resets)
	var names []string
	for k := range s.faults {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprint(w, "  faults    ")
	for _, k := range names {
		fmt.Fprintf(w, " %s %d;", k, s.faults[k])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  converged  %d/%d phones (outbox empty, records match the server's count and hash); %d mutations left in outboxes\n",
		s.converged, s.phones, s.outboxLeft)
	for _, p := range s.problems {
		fmt.Fprintf(w, "  problem    %s\n", p)
	}
}

// simulate runs the phones for the configured duration, then heals the
// network and syncs every phone until it converges.
func simulate(ctx context.Context, cfg config, stderr io.Writer) (*summary, error) {
	warn := func(format string, args ...any) { fmt.Fprintf(stderr, "phonesim: "+format+"\n", args...) }
	var codes []string
	var err error
	if cfg.codesFile != "" {
		if codes, err = readCodes(cfg.codesFile); err != nil {
			return nil, err
		}
		if len(codes) < cfg.patients {
			warn("%s holds %d codes: simulating %d phones", cfg.codesFile, len(codes), len(codes))
			cfg.patients = len(codes)
		}
		if cfg.patients == 0 {
			return nil, errors.New("no enrollment codes")
		}
	} else if codes, err = makeCodes(ctx, cfg, cfg.patients, warn); err != nil {
		return nil, err
	}
	dir := cfg.stateDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "phonesim-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	sum := &summary{cfg: cfg, phones: cfg.patients, faults: map[string]int{}}
	var phones []*simPhone
	defer func() {
		for _, p := range phones {
			p.c.Close()
		}
	}()
	for i := range cfg.patients {
		rng := rand.New(rand.NewPCG(cfg.seed, uint64(i)))
		p := &simPhone{cfg: cfg, sum: sum, rng: rng,
			skew: time.Duration((2*rng.Float64() - 1) * float64(cfg.clockSkew)),
			net:  &network{rate: cfg.faultRate, rng: rand.New(rand.NewPCG(cfg.seed, uint64(i)+1<<32)), sum: sum},
			pain: painModel{baseline: 4 + 3*rng.Float64()},
		}
		p.c, err = hepclient.Dial(ctx, cfg.server, hepclient.Options{
			StatePath: filepath.Join(dir, fmt.Sprintf("phone-%d.db", i+1)), TLS: tc, Plaintext: cfg.plaintext,
			Clock: p.now, Interceptor: p.net.intercept, DeviceName: fmt.Sprintf("sim phone %d", i+1), Platform: hepv1.Platform_PLATFORM_OTHER,
			Retry: hepclient.Backoff{Base: 20 * time.Millisecond, Max: time.Second, Attempts: 4},
		})
		if err != nil {
			return nil, err
		}
		phones = append(phones, p)
		if !p.c.Enrolled() {
			if err := p.c.Enroll(ctx, codes[i]); err != nil {
				return nil, fmt.Errorf("phone %d: enrolling: %w", i+1, err)
			}
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	var wg sync.WaitGroup
	for _, p := range phones {
		wg.Go(func() { p.run(runCtx) })
	}
	wg.Wait()
	cancel()

	// The network heals: every phone syncs until it converges with an empty
	// outbox (a few rounds, since phones may share a patient).
	final, cancelFinal := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelFinal()
	for _, p := range phones {
		p.net.heal()
	}
	done := make([]bool, len(phones))
	for range 3 {
		for i, p := range phones {
			res, err := p.c.Sync(final)
			sum.addSync(res, err)
			pending, perr := p.c.Pending(final)
			n, h, herr := p.c.LocalHash(final)
			done[i] = err == nil && perr == nil && herr == nil && res.Converged && len(pending) == 0 &&
				n == res.RecordCount && h == res.RecordsHash
			if err != nil {
				warn("phone %d: final sync: %v", i+1, err)
			}
		}
	}
	for i, p := range phones {
		pending, _ := p.c.Pending(final)
		sum.outboxLeft += len(pending)
		if done[i] {
			sum.converged++
		} else {
			sum.problems = append(sum.problems, fmt.Sprintf("phone %d (device %s) did not converge", i+1, p.c.DeviceID()))
		}
	}
	return sum, nil
}

// simPhone is one patient's phone.
type simPhone struct {
	cfg  config
	sum  *summary
	c    *hepclient.Client
	rng  *rand.Rand // used by the phone's goroutine only
	skew time.Duration
	net  *network
	pain painModel
	last string // the last log, for corrections
}

func (p *simPhone) now() time.Time { return time.Now().Add(p.skew) }

// run acts until ctx ends: sessions, check-ins, the odd correction or
// deletion, and syncs whenever the phone is online. Offline stretches
// follow a two-state chain whose long-run offline share is the configured
// probability.
func (p *simPhone) run(ctx context.Context) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / p.cfg.rate))
	defer tick.Stop()
	const comeBack = 0.2 // chance per tick that an offline phone is back
	q := p.cfg.offlineProbability
	goOffline := q * comeBack / (1 - q)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if p.net.isOffline() {
			if p.rng.Float64() < comeBack {
				p.net.setOffline(false)
			}
		} else if p.rng.Float64() < goOffline {
			p.net.setOffline(true)
		}
		var err error
		switch x := p.rng.Float64(); {
		case x < 0.30:
			err = p.session(ctx)
		case x < 0.45:
			err = p.checkin(ctx)
		case x < 0.48:
			err = p.correct(ctx)
		case x < 0.50:
			err = p.deleteCheckin(ctx)
		default:
			if !p.net.isOffline() {
				res, serr := p.c.Sync(ctx)
				p.sum.addSync(res, serr)
			}
		}
		if err != nil && ctx.Err() == nil {
			p.sum.add(func(s *summary) { s.problems = append(s.problems, err.Error()) })
		}
	}
}

// painModel is a patient's back pain: a baseline of 4-7 that slowly
// improves with exercise, noise, and flares after some sessions that fade
// over the next ones.
type painModel struct {
	baseline, flare float64
}

func (m *painModel) score(rng *rand.Rand) int32 {
	v := m.baseline + m.flare + rng.NormFloat64()*0.7
	return int32(math.Round(math.Max(0, math.Min(10, v))))
}

// afterSession moves the model on by one session and returns the pain
// after it.
func (m *painModel) afterSession(rng *rand.Rand, before int32) int32 {
	m.baseline = math.Max(1, m.baseline-0.01-0.03*rng.Float64())
	m.flare *= 0.7
	after := before - int32(rng.IntN(3))
	if rng.Float64() < 0.06 { // a flare
		m.flare += 2 + 2*rng.Float64()
		after = before + 1 + int32(rng.IntN(2))
	}
	return max(0, min(10, after))
}

// planned is the exercises of a session: the plan's active items with their
// dose, or cat-cow and child's pose when there is no plan yet.
func (p *simPhone) planned(ctx context.Context) ([]*hepv1.PlanItemSpec, int64) {
	plan, err := p.c.Plan(ctx)
	var out []*hepv1.PlanItemSpec
	if err == nil && plan != nil {
		for _, it := range plan.GetItems() {
			if it.GetState() == hepv1.ItemState_ITEM_STATE_ACTIVE {
				out = append(out, it.GetSpec())
			}
		}
		if len(out) > 0 {
			return out, plan.GetVersion()
		}
	}
	return []*hepv1.PlanItemSpec{
		{ExerciseId: "cat-cow", Dose: &hepv1.Dose{Sets: 2, Reps: 10}},
		{ExerciseId: "childs-pose", Dose: &hepv1.Dose{Sets: 3, HoldSeconds: 30}},
	}, 0
}

func (p *simPhone) session(ctx context.Context) error {
	items, version := p.planned(ctx)
	for _, it := range items {
		before := p.pain.score(p.rng)
		after := p.pain.afterSession(p.rng, before)
		d := it.GetDose()
		l := &hepv1.ExerciseLog{ExerciseId: it.GetExerciseId(), PlanVersion: version,
			SetsDone: max(0, d.GetSets()-int32(p.rng.IntN(2))), RepsDone: d.GetReps(), HoldSecondsDone: d.GetHoldSeconds(),
			DurationSecondsDone: max(d.GetDurationSeconds(), 60+int32(p.rng.IntN(600))),
			PainBefore:          &before, PainAfter: &after, Difficulty: hepv1.Difficulty_DIFFICULTY_JUST_RIGHT}
		switch {
		case after > before:
			l.Difficulty, l.Note = hepv1.Difficulty_DIFFICULTY_TOO_HARD, "hurt more afterwards"
		case after+2 <= before:
			l.Difficulty = hepv1.Difficulty_DIFFICULTY_TOO_EASY
		}
		id, err := p.c.LogExercise(ctx, l)
		if err != nil {
			return err
		}
		p.last = id
		p.sum.add(func(s *summary) { s.sessions++ })
	}
	return nil
}

func (p *simPhone) checkin(ctx context.Context) error {
	loc := hepv1.PainLocation_PAIN_LOCATION_LOW_BACK
	if p.rng.IntN(5) == 0 {
		loc = hepv1.PainLocation_PAIN_LOCATION_LEG
	}
	if _, err := p.c.LogPain(ctx, &hepv1.PainCheckin{Score: p.pain.score(p.rng), Location: loc}); err != nil {
		return err
	}
	p.sum.add(func(s *summary) { s.checkins++ })
	return nil
}

// correct fixes the last log: the patient did one more set than logged.
func (p *simPhone) correct(ctx context.Context) error {
	if p.last == "" {
		return nil
	}
	logs, err := p.c.Logs(ctx)
	if err != nil {
		return err
	}
	for _, l := range logs {
		if l.GetId() != p.last {
			continue
		}
		fixed := &hepv1.ExerciseLog{ExerciseId: l.GetExerciseId(), PlanVersion: l.GetPlanVersion(), PerformTime: l.GetPerformTime(),
			SetsDone: min(20, l.GetSetsDone()+1), RepsDone: l.GetRepsDone(), HoldSecondsDone: l.GetHoldSecondsDone(),
			DurationSecondsDone: l.GetDurationSecondsDone(), PainBefore: l.PainBefore, PainAfter: l.PainAfter,
			Difficulty: l.GetDifficulty(), Note: "corrected: one more set", Supersedes: l.GetId()}
		if p.last, err = p.c.LogExercise(ctx, fixed); err != nil {
			return err
		}
		p.sum.add(func(s *summary) { s.corrections++ })
		return nil
	}
	return nil
}

func (p *simPhone) deleteCheckin(ctx context.Context) error {
	cs, err := p.c.Checkins(ctx)
	if err != nil || len(cs) == 0 {
		return err
	}
	if err := p.c.Delete(ctx, hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN, cs[p.rng.IntN(len(cs))].GetId()); err != nil {
		return err
	}
	p.sum.add(func(s *summary) { s.deletions++ })
	return nil
}

// network is a phone's connection: off while the phone is offline, and
// losing requests or answers of sync calls at the fault rate.
type network struct {
	mu      sync.Mutex
	offline bool
	rate    float64
	rng     *rand.Rand
	sum     *summary
}

func (n *network) isOffline() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.offline
}

func (n *network) setOffline(v bool) {
	n.mu.Lock()
	n.offline = v
	n.mu.Unlock()
}

func (n *network) heal() {
	n.mu.Lock()
	n.offline, n.rate = false, 0
	n.mu.Unlock()
}

func (n *network) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	n.mu.Lock()
	offline := n.offline
	fault := -1
	if method == hepv1.SyncService_Push_FullMethodName || method == hepv1.SyncService_Pull_FullMethodName {
		if n.rng.Float64() < n.rate {
			fault = n.rng.IntN(3)
		}
	}
	n.mu.Unlock()
	if offline {
		return status.Error(codes.Unavailable, "offline")
	}
	count := func(name string) { n.sum.add(func(s *summary) { s.faults[name]++ }) }
	switch fault {
	case 0:
		count("request lost")
		return status.Error(codes.Unavailable, "request lost")
	case 1:
		count("answer lost")
		invoker(ctx, method, req, reply, cc, opts...)
		return status.Error(codes.Unavailable, "answer lost")
	case 2:
		count("duplicated")
		invoker(ctx, method, req, reply.(proto.Message).ProtoReflect().New().Interface(), cc, opts...)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
