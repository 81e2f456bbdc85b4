//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// lockedBuffer is a log sink the loop's goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAdherenceLoopRunsAndStops: the evaluator runs at once with the clock's
// time and a system actor, then on every tick; stop cancels a run in
// progress, waits for it, and nothing runs afterwards; logs carry counts
// only.
func TestAdherenceLoopRunsAndStops(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	fixed := time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)
	var calls atomic.Int32
	blocked := make(chan struct{})
	cancelled := make(chan struct{})
	eval := func(ctx context.Context, now time.Time) (int, error) {
		n := calls.Add(1)
		if !now.Equal(fixed) {
			t.Errorf("evaluated at %v, want the clock's %v", now, fixed)
		}
		if a := hep.ActorFrom(ctx); a.ID == "" || a.Action != "alert.evaluate_adherence" || a.RequestID == "" {
			t.Errorf("evaluated without a system actor: %+v", a)
		}
		switch {
		case n == 1:
			return 3, nil
		case n == 2:
			return 0, errors.New("database is locked")
		case n == 4:
			close(blocked)
			<-ctx.Done() // a long run, cut short by stop
			close(cancelled)
			return 0, ctx.Err()
		}
		return 0, nil
	}
	stop := startAdherenceLoop(context.Background(), log, 5*time.Millisecond, func() time.Time { return fixed }, eval)
	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("the evaluator did not run on its ticker")
	}
	stop()
	select {
	case <-cancelled:
	default:
		t.Fatal("stop returned before the run in progress ended")
	}
	stop() // idempotent
	n := calls.Load()
	time.Sleep(30 * time.Millisecond)
	if calls.Load() != n {
		t.Errorf("the evaluator ran after stop")
	}
	out := buf.String()
	if !strings.Contains(out, `"alerts_raised":3`) || !strings.Contains(out, "adherence evaluation failed") {
		t.Errorf("log lacks the count or the failure:\n%s", out)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("runs that raised nothing or were cancelled logged lines:\n%s", out)
	}
}

// TestAdherenceLoopDisabledAndContext: interval 0 never evaluates; the loop
// also ends when its context ends (SIGTERM), and stop then returns at once.
func TestAdherenceLoopDisabledAndContext(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	var calls atomic.Int32
	eval := func(context.Context, time.Time) (int, error) { calls.Add(1); return 0, nil }
	stop := startAdherenceLoop(context.Background(), log, 0, time.Now, eval)
	time.Sleep(20 * time.Millisecond)
	stop()
	if calls.Load() != 0 {
		t.Errorf("a disabled evaluator ran %d times", calls.Load())
	}

	ctx, cancel := context.WithCancel(context.Background())
	stop = startAdherenceLoop(ctx, log, time.Hour, time.Now, eval)
	if !waitFor(5*time.Second, func() bool { return calls.Load() == 1 }) {
		t.Fatal("the evaluator did not run at start")
	}
	cancel()
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop hangs after the context ended")
	}
}

// TestServeRejectsNegativeAdherenceInterval: a negative interval is a usage
// error, before anything is opened.
func TestServeRejectsNegativeAdherenceInterval(t *testing.T) {
	t.Parallel()
	r := runHepd(t, "", "serve", "--db", t.TempDir()+"/hep.db", "--adherence-interval", "-1s")
	if r.code != 2 || !strings.Contains(r.stderr, "--adherence-interval") {
		t.Errorf("hepd serve --adherence-interval -1s: %v", r)
	}
}

// TestServeRunsAdherenceEvaluator: hepd serve with a short interval runs
// the evaluator against its database without failures, and still stops
// cleanly on SIGTERM (the evaluator stops before the database closes).
func TestServeRunsAdherenceEvaluator(t *testing.T) {
	t.Parallel()
	srv := startServer(t, t.TempDir()+"/hep.db", "--adherence-interval", "5ms")
	waitServing(t, srv)
	time.Sleep(100 * time.Millisecond) // some twenty runs
	if code := srv.stop(); code != 0 {
		t.Fatalf("hepd serve exit status after SIGTERM = %d, want 0", code)
	}
	out := srv.stderr.String()
	if strings.Contains(out, "adherence evaluation failed") || !strings.Contains(out, `"msg":"stopped"`) {
		t.Errorf("stderr:\n%s", out)
	}
	if i, j := strings.Index(out, `"msg":"shutting down"`), strings.Index(out, `"msg":"stopped"`); i < 0 || j < i {
		t.Errorf("no orderly shutdown in stderr:\n%s", out)
	}
	if r := startServer(t, t.TempDir()+"/off.db", "--adherence-interval", "0"); !waitFor(5*time.Second, func() bool {
		return strings.Contains(r.stderr.String(), "adherence evaluation disabled")
	}) {
		t.Errorf("--adherence-interval 0 does not say the evaluator is off:\n%s", r.stderr.String())
	}
}
