// Package heptest is the conformance suite of hep.Store: one set of tests
// that every storage engine runs, so that the SQLite store and any later one
// (PostgreSQL) behave alike, in the manner of testing/fstest.
//
// A store's test calls Run with a function that opens a fresh, empty store
// whose every timestamp and expiry check uses the given clock:
//
//	func TestConformance(t *testing.T) {
//		heptest.Run(t, func(t *testing.T, clock hep.Clock) hep.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hep.db"), sqlite.WithClock(clock))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Besides what internal/hep/store.go documents, the suite pins the
// conventions stores must share so that the audit trail reads alike on every
// engine: the audit resource names (see the res* functions) and the actor of
// the rows that RotateRefreshToken and EnrollDevice write (the session's
// principal, the new device).
//
// The clock moves only when a test says so and only in whole microseconds,
// so times round-trip exactly through stores that keep microseconds.
package heptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// OpenFunc opens a fresh, empty store that reads the time from clock and is
// closed when t ends (t.Cleanup). Closing it twice must be harmless.
type OpenFunc func(t *testing.T, clock hep.Clock) hep.Store

// Run runs the whole suite against the stores open returns, one fresh store
// per subtest.
func Run(t *testing.T, open OpenFunc) {
	groups := []struct {
		name string
		run  func(*testing.T, OpenFunc)
	}{
		{"Secret", testSecret},
		{"Accounts", testAccounts},
		{"Sessions", testSessions},
		{"Devices", testDevices},
		{"Patients", testPatients},
		{"CareTeam", testCareTeam},
		{"Audit", testAudit},
		{"Concurrency", testConcurrency},
		{"Catalog", testCatalog},
		{"Screening", testScreening},
		{"Plans", testPlans},
		{"Alerts", testAlerts},
		{"ClinicalAudit", testClinicalAudit},
		{"ClinicalConcurrency", testClinicalConcurrency},
		{"Sync", testSync},
		{"SyncConcurrency", testSyncConcurrency},
		{"Review", testReview},
		{"Coalescing", testCoalescing},
		{"Outcomes", testOutcomes},
		{"Messages", testMessages},
		{"Close", testClose},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, open) })
	}
}

// Epoch is the time a new Clock shows.
var Epoch = time.Date(2030, time.January, 2, 3, 4, 5, 123456000, time.UTC)

// Clock is a manual clock for stores under test. It is safe for concurrent
// use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at Epoch.
func NewClock() *Clock { return &Clock{now: Epoch} }

// Now returns the clock's time, in UTC.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d, truncated to whole microseconds.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d.Truncate(time.Microsecond))
}

// Audit resources, as every store must name them.
const (
	resAccounts    = "accounts"
	resPatients    = "patients"
	resAuditEvents = "audit_events"
)

func resAccount(id string) string { return "accounts/" + id }

func resSession(id string) string { return "sessions/" + id }

func resPatient(id string) string { return "patients/" + id }

func resDevices(patientID string) string { return resPatient(patientID) + "/devices" }

func resDevice(patientID, deviceID string) string { return resDevices(patientID) + "/" + deviceID }

func resEnrollmentCodes(patientID string) string { return resPatient(patientID) + "/enrollment_codes" }

func resCareTeam(patientID string) string { return resPatient(patientID) + "/care_team" }

func resCareTeamMember(patientID, clinicianID string) string {
	return resCareTeam(patientID) + "/" + clinicianID
}

const resExercises = "exercises"

func resExercise(id string) string { return resExercises + "/" + id }

func resScreening(patientID string) string { return resPatient(patientID) + "/screening" }

func resPlan(patientID string) string { return resPatient(patientID) + "/plan" }

func resPlanVersion(patientID string, version int64) string {
	return fmt.Sprintf("%s/%d", resPlan(patientID), version)
}

func resClearances(patientID string) string { return resPatient(patientID) + "/clearances" }

func resClearance(patientID, id string) string { return resClearances(patientID) + "/" + id }

func resGatingDecisions(patientID string) string { return resPatient(patientID) + "/gating_decisions" }

func resAlerts(patientID string) string { return resPatient(patientID) + "/alerts" }

func resAlert(patientID, id string) string { return resAlerts(patientID) + "/" + id }

// env is one subtest's store, clock and fixture helpers.
type env struct {
	t     *testing.T
	store hep.Store
	clock *Clock
	n     int // makes fixture emails unique
}

func newEnv(t *testing.T, open OpenFunc) *env {
	t.Helper()
	c := NewClock()
	return &env{t: t, store: open(t, c.Now), clock: c}
}

// fixtureActor is the actor of calls that only set a test up.
var fixtureActor = hep.Actor{ID: "local:heptest", Role: hep.RoleAdmin, Action: "test.fixture", RequestID: "r-fixture", Peer: "local"}

// ctx returns the test's context carrying the fixture actor.
func (e *env) ctx() context.Context { return hep.WithActor(e.t.Context(), fixtureActor) }

// as returns a context for a call by a, with a distinct action, request id
// and peer so that audit rows can be told apart.
func (e *env) as(a hep.Actor, action string) (context.Context, hep.Actor) {
	a.Action, a.RequestID, a.Peer = action, "r-"+action, "127.0.0.1:1"
	return hep.WithActor(e.t.Context(), a), a
}

// actorOf is the actor of a signed-in account.
func actorOf(a hep.Account) hep.Actor { return hep.Actor{ID: a.ID, Role: a.Role} }

// token returns a fresh opaque hash, like the ones the transport stores.
func token() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (e *env) account(role hep.Role) hep.Account {
	e.t.Helper()
	e.n++
	in := hep.AccountCreate{Email: fmt.Sprintf("user%d@clinic.example", e.n), DisplayName: fmt.Sprintf("User %d", e.n), Role: role, Password: "correct horse battery"}
	a, err := e.store.CreateAccount(e.ctx(), in, "hash-"+in.Email)
	if err != nil {
		e.t.Fatalf("CreateAccount: %v", err)
	}
	return a
}

func (e *env) patient(clinicianID string) hep.Patient {
	e.t.Helper()
	e.n++
	p, err := e.store.CreatePatient(e.ctx(), hep.PatientCreate{DisplayName: fmt.Sprintf("Patient %d", e.n), TimeZone: "Europe/Lisbon"}, clinicianID)
	if err != nil {
		e.t.Fatalf("CreatePatient: %v", err)
	}
	return p
}

// signIn starts a session for an account and returns it with its refresh
// token hash.
func (e *env) signIn(accountID string) (hep.Session, string) {
	e.t.Helper()
	h := token()
	s, err := e.store.StartSession(e.ctx(), hep.SessionStart{AccountID: accountID, Refresh: e.refresh(h)})
	if err != nil {
		e.t.Fatalf("StartSession: %v", err)
	}
	return s, h
}

func (e *env) refresh(hash string) hep.RefreshToken {
	return hep.RefreshToken{Hash: hash, ExpireTime: e.clock.Now().Add(hep.RefreshTokenTTL)}
}

// code stores a new enrollment code for the patient and returns its hash.
func (e *env) code(patientID string, ttl time.Duration) string {
	e.t.Helper()
	h := token()
	if err := e.store.CreateEnrollmentCode(e.ctx(), patientID, h, e.clock.Now().Add(ttl)); err != nil {
		e.t.Fatalf("CreateEnrollmentCode: %v", err)
	}
	return h
}

// enroll enrolls a new device for the patient and returns it with its
// session and refresh token hash.
func (e *env) enroll(patientID string) (hep.Device, hep.Session, string) {
	e.t.Helper()
	h := token()
	d, s, err := e.store.EnrollDevice(e.ctx(), hep.DeviceEnroll{CodeHash: e.code(patientID, time.Hour), Name: "Phone", Platform: hep.PlatformIOS}, e.refresh(h))
	if err != nil {
		e.t.Fatalf("EnrollDevice: %v", err)
	}
	return d, s, h
}

// auditMark is where every chain of the trail ended at some moment.
type auditMark map[string]int64

// mark returns where the chains end now, and fails unless the trail
// verifies.
func (e *env) mark() auditMark {
	e.t.Helper()
	v, err := hep.VerifyAudit(e.t.Context(), e.store, nil)
	if err != nil {
		e.t.Fatalf("VerifyAudit: %v", err)
	}
	if !v.OK() {
		e.t.Fatalf("VerifyAudit: chain %s broken at %d: %s", v.BrokenChain, v.BrokenSeq, v.Problem)
	}
	m := auditMark{}
	for _, h := range v.Heads {
		m[h.Chain] = h.Seq
	}
	return m
}

// auditCount returns how many audit events the trail holds, in every
// chain, and fails unless it verifies.
func (e *env) auditCount() int64 {
	e.t.Helper()
	var n int64
	for _, seq := range e.mark() {
		n += seq
	}
	return n
}

// allTime is an audit filter range that holds every event.
var (
	beginning = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	end       = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// eventsAfter returns the audit events written since m, of every chain,
// in listing order (hep.LessAudit). It reads with ScanAudit, which writes
// no audit row of its own.
func (e *env) eventsAfter(m auditMark) []hep.AuditEvent {
	e.t.Helper()
	_, heads, err := e.store.AuditHeads(e.t.Context())
	if err != nil {
		e.t.Fatalf("AuditHeads: %v", err)
	}
	var out []hep.AuditEvent
	for _, h := range heads {
		err := e.store.ScanAudit(e.t.Context(), h.Chain, m[h.Chain], func(ev hep.AuditEvent) error {
			out = append(out, ev)
			return nil
		})
		if err != nil {
			e.t.Fatalf("ScanAudit %s: %v", h.Chain, err)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return hep.LessAudit(out[i], out[j]) })
	return out
}

// audited runs call and returns the audit events it wrote.
func (e *env) audited(call func()) []hep.AuditEvent {
	e.t.Helper()
	before := e.mark()
	call()
	return e.eventsAfter(before)
}

// notAudited runs call and fails if it wrote an audit event.
func (e *env) notAudited(what string, call func()) {
	e.t.Helper()
	if got := e.audited(call); len(got) != 0 {
		e.t.Errorf("%s wrote %d audit events, want none: %+v", what, len(got), got)
	}
}

// wantEvent checks that events is exactly one event for actor a (as set by
// e.as) with the given patient, resource and outcome, at the clock's time,
// correctly chained.
func (e *env) wantEvent(what string, events []hep.AuditEvent, a hep.Actor, patientID, resource, outcome string) {
	e.t.Helper()
	if len(events) != 1 {
		e.t.Errorf("%s wrote %d audit events, want 1: %+v", what, len(events), events)
		return
	}
	got := events[0]
	if h := hep.ChainHash(got.PrevHash, got); got.Hash != h {
		e.t.Errorf("%s: audit event hash %q, want ChainHash %q", what, got.Hash, h)
	}
	if got.Seq > 1 && got.PrevHash == "" {
		e.t.Errorf("%s: audit event %d has no prev_hash", what, got.Seq)
	}
	if got.Chain == "" {
		e.t.Errorf("%s: audit event %d has no chain", what, got.Seq)
	}
	// Which chain an event goes to is the store's to decide.
	got.Chain, got.Seq, got.PrevHash, got.Hash = "", 0, "", ""
	got.Time = norm(got.Time)
	want := hep.NewAuditEvent(a, e.clock.Now(), patientID, resource, outcome)
	if got != want {
		e.t.Errorf("%s audit event:\n got  %+v\n want %+v", what, got, want)
	}
}

// norm makes times comparable with ==: UTC, no monotonic reading.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

func normAccount(a hep.Account) hep.Account {
	a.CreateTime, a.UpdateTime = norm(a.CreateTime), norm(a.UpdateTime)
	return a
}

func normSession(s hep.Session) hep.Session {
	s.CreateTime, s.RevokeTime = norm(s.CreateTime), norm(s.RevokeTime)
	return s
}

func normDevice(d hep.Device) hep.Device {
	d.EnrollTime, d.RevokeTime = norm(d.EnrollTime), norm(d.RevokeTime)
	return d
}

func normPatient(p hep.Patient) hep.Patient {
	p.CreateTime, p.UpdateTime = norm(p.CreateTime), norm(p.UpdateTime)
	return p
}

func normMember(m hep.CareTeamMember) hep.CareTeamMember {
	m.AddTime = norm(m.AddTime)
	return m
}

// wantErr checks err's code and, if reason is not "", its reason.
func wantErr(t *testing.T, what string, err error, code hep.Code, reason string) {
	t.Helper()
	if got := hep.ErrorCode(err); got != code {
		t.Errorf("%s: error %v, want code %s", what, err, code)
		return
	}
	if reason == "" {
		return
	}
	var he *hep.Error
	if !errors.As(err, &he) || he.Reason != reason {
		t.Errorf("%s: error %v, want reason %s", what, err, reason)
	}
}

// reasonOf returns err's reason, or "".
func reasonOf(err error) string {
	var he *hep.Error
	if errors.As(err, &he) {
		return he.Reason
	}
	return ""
}

// notFixture leaves out the events of calls made with e.ctx() (fixture
// reads around the call under test): events at one instant are listed by
// chain, so the call's own row is not always in the middle.
func notFixture(events []hep.AuditEvent) []hep.AuditEvent {
	var out []hep.AuditEvent
	for _, ev := range events {
		if ev.ActorID != fixtureActor.ID {
			out = append(out, ev)
		}
	}
	return out
}
