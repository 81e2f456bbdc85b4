package hepclient_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/clients/hepclient"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

func pain(n int32) *int32 { return &n }

// TestOfflineThenSync: a phone enrolls, logs offline (every call fails),
// and syncs when the network is back; the server then has exactly the logs,
// a second device of the patient pulls them, and both phones' records
// match the server's count and hash.
func TestOfflineThenSync(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	net := &offline{}
	a := s.enrolledPhone(t, patient, hepclient.Options{Interceptor: net.intercept})

	net.on.Store(true)
	want := map[string]*hepv1.ExerciseLog{}
	for i, ex := range []string{"cat-cow", "childs-pose", "cat-cow"} {
		l := &hepv1.ExerciseLog{ExerciseId: ex, SetsDone: 2, RepsDone: int32(10 + i), PainBefore: pain(6), PainAfter: pain(4),
			Difficulty: hepv1.Difficulty_DIFFICULTY_JUST_RIGHT, Note: "felt ok"}
		id, err := a.LogExercise(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		l.Id = id
		want[id] = l
	}
	checkin, err := a.LogPain(ctx, &hepv1.PainCheckin{Score: 5, Location: hepv1.PainLocation_PAIN_LOCATION_LOW_BACK})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx); status.Code(err) != codes.Unavailable {
		t.Fatalf("Sync offline: %v, want UNAVAILABLE", err)
	}
	if p, _ := a.Pending(ctx); len(p) != 4 {
		t.Fatalf("offline outbox holds %d mutations, want 4", len(p))
	}
	logs, err := a.Logs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 3 || !logs[0].Pending {
		t.Fatalf("offline Logs = %d logs (pending %v), want 3 pending", len(logs), len(logs) > 0 && logs[0].Pending)
	}

	net.on.Store(false)
	res, err := a.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Acked != 4 || res.Rejected != 0 || !res.Converged {
		t.Fatalf("Sync = %+v, want 4 acked, converged", res)
	}
	if p, _ := a.Pending(ctx); len(p) != 0 {
		t.Fatalf("outbox holds %d after the sync, want 0", len(p))
	}
	got := s.logs(patient)
	if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
		t.Fatalf("server logs %v, want %v", sortedKeys(got), sortedKeys(want))
	}
	for id, w := range want {
		g := got[id]
		if g.ExerciseId != w.ExerciseId || g.RepsDone != w.RepsDone || g.GetPainAfter() != 4 || g.Note != w.Note || g.DeviceId != a.DeviceID() {
			t.Errorf("server log %s = %v, want %v", id, g, w)
		}
	}
	if cs := s.checkins(patient); len(cs) != 1 || cs[checkin] == nil {
		t.Errorf("server check-ins %v, want only %s", sortedKeys(cs), checkin)
	}
	logs, _ = a.Logs(ctx)
	for _, l := range logs {
		if l.Pending {
			t.Errorf("log %s still pending after a sync", l.Id)
		}
	}

	b := s.enrolledPhone(t, patient, hepclient.Options{})
	resB, err := b.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	blogs, err := b.Logs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range blogs {
		ids = append(ids, l.Id)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, sortedKeys(want)) {
		t.Errorf("second device has logs %v, want %v", ids, sortedKeys(want))
	}
	ca, ha, _ := a.LocalHash(ctx)
	cb, hb, _ := b.LocalHash(ctx)
	if ca != cb || ha != hb || cb != resB.RecordCount || hb != resB.RecordsHash {
		t.Errorf("local views: A %d %s, B %d %s, server %d %s", ca, ha, cb, hb, resB.RecordCount, resB.RecordsHash)
	}
	// A second sync of A has nothing to push and converges again.
	res, err = a.Sync(ctx)
	if err != nil || res.Pushed != 0 || !res.Converged || res.RecordsHash != hb {
		t.Errorf("second Sync = %+v, %v", res, err)
	}
}

// TestCorrectDeleteReject: corrections supersede, deletions tombstone, an
// invalid mutation is kept in Rejected with the server's reason, and a
// second device sees the result.
func TestCorrectDeleteReject(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	a := s.enrolledPhone(t, patient, hepclient.Options{})
	first, _ := a.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "cat-cow", SetsDone: 2, RepsDone: 10})
	gone, _ := a.LogPain(ctx, &hepv1.PainCheckin{Score: 7, Location: hepv1.PainLocation_PAIN_LOCATION_LOW_BACK})
	if _, err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	fixed, _ := a.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "cat-cow", SetsDone: 2, RepsDone: 12, Supersedes: first})
	if err := a.Delete(ctx, hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN, gone); err != nil {
		t.Fatal(err)
	}
	bad, _ := a.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "cat-cow", SetsDone: 99})
	// Before the sync the phone shows its own changes.
	logs, _ := a.Logs(ctx)
	if len(logs) != 2 || logs[0].Id == first || logs[1].Id == first {
		t.Errorf("pending view %v, want the correction and the bad log, not %s", logs, first)
	}
	res, err := a.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Acked != 2 || res.Rejected != 1 {
		t.Errorf("Sync = %+v, want 2 acked, 1 rejected", res)
	}
	rej, err := a.Rejected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].Mutation.GetLog().GetId() != bad || rej[0].Field != "log.sets_done" || rej[0].Reason == "" {
		t.Fatalf("Rejected = %+v, want the log %s on log.sets_done", rej, bad)
	}
	if got := sortedKeys(s.logs(patient)); !slices.Equal(got, []string{fixed}) {
		t.Errorf("server logs %v, want only the correction %s", got, fixed)
	}
	if got := s.checkins(patient); len(got) != 0 {
		t.Errorf("server check-ins %v, want none", sortedKeys(got))
	}
	b := s.enrolledPhone(t, patient, hepclient.Options{})
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	blogs, _ := b.Logs(ctx)
	if len(blogs) != 1 || blogs[0].Id != fixed || blogs[0].RepsDone != 12 || blogs[0].Supersedes != first {
		t.Errorf("second device logs %v, want only %s", blogs, fixed)
	}
	if cs, _ := b.Checkins(ctx); len(cs) != 0 {
		t.Errorf("second device check-ins %v, want none", cs)
	}
	// Logs disappear from A's view once the pull confirmed the rejection.
	logs, _ = a.Logs(ctx)
	if len(logs) != 1 || logs[0].Id != fixed || logs[0].Pending {
		t.Errorf("A's view after sync %v, want only %s, not pending", logs, fixed)
	}
}

// TestClockSkew: a phone whose clock is a week fast logs "now"; the server
// stores the phone's time as sent and corrects it to the real time with the
// push's device_time.
func TestClockSkew(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	for _, skew := range []time.Duration{7 * 24 * time.Hour, -7 * 24 * time.Hour} {
		c := s.enrolledPhone(t, patient, hepclient.Options{Clock: func() time.Time { return time.Now().Add(skew) }})
		id, err := c.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "childs-pose", SetsDone: 3, HoldSecondsDone: 30})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Sync(ctx); err != nil {
			t.Fatalf("skew %v: %v", skew, err)
		}
		l := s.logs(patient)[id]
		if l == nil {
			t.Fatalf("skew %v: log %s not on the server", skew, id)
		}
		if d := l.PerformTime.AsTime().Sub(time.Now()) - skew; d.Abs() > time.Minute {
			t.Errorf("skew %v: perform_time %v is not the phone's clock", skew, l.PerformTime.AsTime())
		}
		if d := time.Since(l.CorrectedPerformTime.AsTime()); d.Abs() > time.Minute {
			t.Errorf("skew %v: corrected_perform_time %v, want about now", skew, l.CorrectedPerformTime.AsTime())
		}
	}
}

// TestNoRetryOnPermanentErrors: INVALID_ARGUMENT and PERMISSION_DENIED are
// answers about the request; retrying cannot change them. UNAVAILABLE is
// retried up to the attempt bound.
func TestNoRetryOnPermanentErrors(t *testing.T) {
	ctx := context.Background()
	s := startServer(t)
	patient := s.newPatient()
	for _, tc := range []struct {
		code  codes.Code
		calls int
	}{
		{codes.InvalidArgument, 1},
		{codes.PermissionDenied, 1},
		{codes.Unavailable, fastRetry.Attempts},
		{codes.ResourceExhausted, fastRetry.Attempts},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			h := &failing{code: tc.code, method: hepv1.SyncService_Pull_FullMethodName}
			c := s.enrolledPhone(t, patient, hepclient.Options{Interceptor: h.intercept})
			_, err := c.Sync(ctx)
			if status.Code(err) != tc.code {
				t.Fatalf("Sync: %v, want %v", err, tc.code)
			}
			if h.calls != tc.calls {
				t.Errorf("%d calls, want %d", h.calls, tc.calls)
			}
		})
	}
}

// TestSyncHonorsContext: a canceled context stops the retries at once.
func TestSyncHonorsContext(t *testing.T) {
	s := startServer(t)
	patient := s.newPatient()
	h := &failing{code: codes.Unavailable, method: hepv1.SyncService_Pull_FullMethodName}
	c := s.enrolledPhone(t, patient, hepclient.Options{Interceptor: h.intercept, Retry: hepclient.Backoff{Base: time.Hour, Max: time.Hour, Attempts: 10}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Sync(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("Sync = %v after %v, want the context's deadline", err, time.Since(start))
	}
}

// TestBackoffBounds: full jitter stays within [0, min(Max, Base<<attempt)].
func TestBackoffBounds(t *testing.T) {
	b := hepclient.Backoff{Base: 10 * time.Millisecond, Max: time.Second, Attempts: 20}
	for attempt := range 12 {
		ceil := min(b.Max, b.Base<<attempt)
		for range 200 {
			if d := hepclient.BackoffWait(b, attempt); d < 0 || d > ceil {
				t.Fatalf("attempt %d: wait %v outside [0, %v]", attempt, d, ceil)
			}
		}
	}
}

// failing fails every call of one method with a code, counting them.
type failing struct {
	code   codes.Code
	method string
	calls  int
}

func (f *failing) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if method != f.method {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	f.calls++
	return status.Error(f.code, "injected")
}
