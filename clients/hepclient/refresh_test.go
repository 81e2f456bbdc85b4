package hepclient_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/clients/hepclient"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// fakeClock is a phone clock the test moves forward.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// counter counts calls per method and lets a test act on them.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
	// before, when set, runs before a call is sent; a non-nil error fails
	// the call without sending it.
	before func(method string) error
	// after, when set, runs after a call returned; it may replace the error.
	after func(method string, reply any, err error) error
}

func (h *counter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	h.mu.Lock()
	if h.calls == nil {
		h.calls = map[string]int{}
	}
	h.calls[method]++
	before, after := h.before, h.after
	h.mu.Unlock()
	if before != nil {
		if err := before(method); err != nil {
			return err
		}
	}
	err := invoker(ctx, method, req, reply, cc, opts...)
	if after != nil {
		err = after(method, reply, err)
	}
	return err
}

func (h *counter) count(method string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[method]
}

const refreshMethod = hepv1.AuthService_RefreshToken_FullMethodName

// TestRefreshSingleFlight: when the access token is about to expire, many
// concurrent calls share one RefreshToken call (a second would present a
// used refresh token and revoke the session).
func TestRefreshSingleFlight(t *testing.T) {
	s := startServer(t)
	patient := s.newPatient()
	clock := &fakeClock{}
	h := &counter{}
	c := s.enrolledPhone(t, patient, hepclient.Options{Clock: clock.now, Interceptor: h.intercept})
	clock.advance(20 * time.Minute) // past the access token's expiry by the phone's clock
	who := hepv1.NewAuthServiceClient(c.Conn())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			_, err := who.WhoAmI(context.Background(), &hepv1.WhoAmIRequest{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("WhoAmI: %v", err)
		}
	}
	if n := h.count(refreshMethod); n != 1 {
		t.Errorf("%d RefreshToken calls, want 1", n)
	}
}

// TestRefreshOnUnauthenticated: a call refused with UNAUTHENTICATED (the
// phone's clock misjudged the expiry) is retried once after a refresh.
func TestRefreshOnUnauthenticated(t *testing.T) {
	s := startServer(t)
	patient := s.newPatient()
	var refused atomic.Bool
	h := &counter{before: func(method string) error {
		if method == hepv1.SyncService_Pull_FullMethodName && refused.CompareAndSwap(false, true) {
			return status.Error(codes.Unauthenticated, "access token expired")
		}
		return nil
	}}
	c := s.enrolledPhone(t, patient, hepclient.Options{Interceptor: h.intercept})
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, p := h.count(refreshMethod), h.count(hepv1.SyncService_Pull_FullMethodName); n != 1 || p != 2 {
		t.Errorf("%d refreshes and %d pulls, want 1 and 2", n, p)
	}
}

// TestRefreshRotationAcrossCrash: the rotated refresh token is in the
// state file before the new access token is first used; a phone that
// crashes right then and restarts from its file keeps syncing, refreshing
// again with the rotated token (the used one would revoke the session).
func TestRefreshRotationAcrossCrash(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	clock := &fakeClock{}
	var (
		mu          sync.Mutex
		rotated     string // the refresh token the last RefreshToken returned
		crashed     string // the state file as the crash left it
		armed       bool
		statePath   = t.TempDir() + "/phone.db"
		refreshSeen int
	)
	h := &counter{
		after: func(method string, reply any, err error) error {
			if method == refreshMethod && err == nil {
				mu.Lock()
				rotated, armed = reply.(*hepv1.RefreshTokenResponse).Tokens.RefreshToken, true
				refreshSeen++
				mu.Unlock()
			}
			return err
		},
	}
	h.before = func(method string) error {
		mu.Lock()
		defer mu.Unlock()
		if crashed != "" {
			return status.Error(codes.Unavailable, "the phone is dead")
		}
		if !armed || method == refreshMethod {
			return nil
		}
		// The first call with the new access token: the phone dies as it
		// sends it.
		armed = false
		crashed = crashCopy(t, statePath)
		return status.Error(codes.Unavailable, "the phone crashed")
	}
	c := newPhone(t, s.addr, statePath, hepclient.Options{Clock: clock.now, Interceptor: h.intercept})
	if err := c.Enroll(ctx, s.code(patient)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	logOne := func(c *hepclient.Client) {
		id, err := c.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "cat-cow", SetsDone: 1, RepsDone: 5})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	logOne(c)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	logOne(c)
	clock.advance(20 * time.Minute)
	if _, err := c.Sync(ctx); status.Code(err) != codes.Unavailable {
		t.Fatalf("Sync through the crash: %v", err)
	}
	c.Close()
	if crashed == "" {
		t.Fatal("no crash happened")
	}
	db, err := sql.Open("sqlite", "file:"+crashed)
	if err != nil {
		t.Fatal(err)
	}
	var saved string
	if err := db.QueryRow("SELECT refresh_token FROM device").Scan(&saved); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if saved != rotated {
		t.Fatalf("the crashed state file holds refresh token %.8q..., want the rotated %.8q...", saved, rotated)
	}

	// Restart from the crashed file; force another refresh.
	h.before = nil
	c2 := newPhone(t, s.addr, crashed, hepclient.Options{Clock: clock.now, Interceptor: h.intercept})
	logOne(c2)
	clock.advance(20 * time.Minute)
	if _, err := c2.Sync(ctx); err != nil {
		t.Fatalf("Sync after the restart: %v", err)
	}
	if refreshSeen != 2 {
		t.Errorf("%d refreshes, want 2", refreshSeen)
	}
	if got := sortedKeys(s.logs(patient)); len(got) != 3 {
		t.Errorf("server has %d logs, want 3 (%v)", len(got), ids)
	}
	if !c2.Enrolled() {
		t.Error("the restarted phone lost its session")
	}
}

// TestSessionEndedKeepsOutbox: a RefreshToken answer lost on the way
// leaves the phone with a used refresh token; the next refresh is a reuse
// and the server revokes the session. The phone reports ErrSessionEnded,
// keeps its outbox, and after a new enrollment pushes it with nothing lost
// or duplicated.
func TestSessionEndedKeepsOutbox(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	clock := &fakeClock{}
	var dropped atomic.Bool
	h := &counter{after: func(method string, reply any, err error) error {
		if method == refreshMethod && err == nil && dropped.CompareAndSwap(false, true) {
			return status.Error(codes.Unavailable, "answer lost")
		}
		return err
	}}
	c := s.enrolledPhone(t, patient, hepclient.Options{Clock: clock.now, Interceptor: h.intercept})
	synced, _ := c.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "cat-cow", SetsDone: 2, RepsDone: 10})
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	pending, _ := c.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "childs-pose", SetsDone: 3, HoldSecondsDone: 30})
	clock.advance(20 * time.Minute)
	_, err := c.Sync(ctx)
	if !errors.Is(err, hepclient.ErrSessionEnded) {
		t.Fatalf("Sync = %v, want ErrSessionEnded", err)
	}
	if c.Enrolled() {
		t.Error("Enrolled() after the session ended")
	}
	if _, err := c.Sync(ctx); !errors.Is(err, hepclient.ErrSessionEnded) {
		t.Errorf("second Sync = %v, want ErrSessionEnded", err)
	}
	if p, _ := c.Pending(ctx); len(p) != 1 {
		t.Fatalf("outbox holds %d, want the pending log", len(p))
	}
	old := c.DeviceID()
	if err := c.Enroll(ctx, s.code(patient)); err != nil {
		t.Fatal(err)
	}
	if c.DeviceID() == old {
		t.Error("the new enrollment kept the old device id")
	}
	p, _ := c.Pending(ctx)
	if len(p) != 1 || p[0].Sequence != 1 {
		t.Fatalf("outbox after enrolling again: %v, want one mutation numbered 1", p)
	}
	res, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Acked != 1 || !res.Converged {
		t.Errorf("Sync = %+v", res)
	}
	if got := sortedKeys(s.logs(patient)); len(got) != 2 || (got[0] != synced && got[1] != synced) || (got[0] != pending && got[1] != pending) {
		t.Errorf("server logs %v, want %s and %s", got, synced, pending)
	}
	logs, _ := c.Logs(ctx)
	if len(logs) != 2 {
		t.Errorf("phone shows %d logs, want 2", len(logs))
	}
}
