package rpc

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
	"github.com/hepclinic/hep/internal/telemetry"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// fastParams keep argon2id cheap in tests; production uses auth.DefaultParams.
var fastParams = auth.Params{Memory: 64, Time: 1, Threads: 1}

const testPassword = "correct horse battery staple"

// env is a real server on a loopback port over a real SQLite file, with the
// cast of the access matrix signed in.
type env struct {
	snapDB *sql.DB // snapshot's read-only handle
	t      *testing.T
	srv    *Server
	store  *sqlite.Store
	dbPath string
	conn   grpc.ClientConnInterface // gRPC, or Connect/gRPC-Web (withProtocol)

	auth     hepv1.AuthServiceClient
	accounts hepv1.AccountServiceClient
	patients hepv1.PatientServiceClient
	devices  hepv1.DeviceServiceClient
	audit    hepv1.AuditServiceClient

	catalog   hepv1.CatalogServiceClient
	screening hepv1.ScreeningServiceClient
	plans     hepv1.PlanServiceClient
	alerts    hepv1.AlertServiceClient

	sync hepv1.SyncServiceClient
	logs hepv1.ExerciseLogServiceClient

	review hepv1.ReviewServiceClient

	adminID, clinAID, clinBID string
	patientA, patientB        string
	deviceA, deviceB, deviceR string // deviceR: A's second device, revoked

	tok map[string]string // caller name -> access token ("" = none)
	// refresh tokens of the cast, for RefreshToken requests
	refresh map[string]string
}

// Callers of the access matrix.
const (
	callerNone      = "no token"
	callerExpired   = "expired token"
	callerPatientA  = "patient A"
	callerPatientB  = "patient B"
	callerClinA     = "clinician on A's team"
	callerClinB     = "clinician not on A's team"
	callerAdmin     = "admin"
	callerRevokedDv = "revoked device"
)

var allCallers = []string{callerNone, callerExpired, callerPatientA, callerPatientB, callerClinA, callerClinB, callerAdmin, callerRevokedDv}

// envOption configures newEnv.
type envOption func(*envOptions)

type envOptions struct {
	clock hep.Clock // the server's and the store's clock (time.Now when nil)
	tel   *telemetry.Telemetry
	// protocol the env's clients speak (gRPC when empty).
	protocol protocol
}

// withClock gives the server and the store one clock the test moves.
func withClock(c hep.Clock) envOption { return func(o *envOptions) { o.clock = c } }

// withTelemetry observes the server and the store with t.
func withTelemetry(t *telemetry.Telemetry) envOption { return func(o *envOptions) { o.tel = t } }

// template is a database file migrated once per test binary (and its
// reads file): each env starts from a copy instead of running every
// migration again, which the access matrix alone would do hundreds of
// times. Open still checks the schema version.
var template struct {
	once sync.Once
	path string
	err  error
}

func copyTemplate(t *testing.T, dst string) {
	t.Helper()
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "hep-rpc-template-")
		if err != nil {
			template.err = err
			return
		}
		template.path = filepath.Join(dir, "hep.db")
		_, template.err = sqlite.Migrate(context.Background(), template.path)
	})
	if template.err != nil {
		t.Fatalf("template database: %v", template.err)
	}
	for _, pair := range [][2]string{{template.path, dst}, {sqlite.ReadsPath(template.path), sqlite.ReadsPath(dst)}} {
		if _, err := os.Stat(pair[0] + "-wal"); err == nil {
			t.Fatalf("the template %s has a WAL file left", pair[0])
		}
		b, err := os.ReadFile(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pair[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	dir := t.TempDir()
	e := &env{t: t, dbPath: filepath.Join(dir, "hep.db"), tok: map[string]string{}, refresh: map[string]string{}}
	storeOpts := []sqlite.Option{sqlite.WithTelemetry(o.tel)}
	if o.clock != nil {
		storeOpts = append(storeOpts, sqlite.WithClock(o.clock))
	}
	copyTemplate(t, e.dbPath)
	st, err := sqlite.Open(ctx, e.dbPath, storeOpts...)
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	lim := DefaultLimits
	lim.PublicPerMinute = 0 // the matrix signs in many times from one address
	e.srv, err = New(ctx, Config{Store: st, PasswordParams: fastParams, Limits: lim, Clock: o.clock, Telemetry: o.tel})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.GRPC.Serve(lis)
	gconn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		gconn.Close()
		e.srv.GRPC.Stop()
		st.Close()
	})
	e.conn = gconn
	if o.protocol != "" && o.protocol != protoGRPC {
		e.conn = serveWeb(t, e.srv, o.protocol)
	}
	e.auth = hepv1.NewAuthServiceClient(e.conn)
	e.accounts = hepv1.NewAccountServiceClient(e.conn)
	e.patients = hepv1.NewPatientServiceClient(e.conn)
	e.devices = hepv1.NewDeviceServiceClient(e.conn)
	e.audit = hepv1.NewAuditServiceClient(e.conn)
	e.catalog = hepv1.NewCatalogServiceClient(e.conn)
	e.screening = hepv1.NewScreeningServiceClient(e.conn)
	e.plans = hepv1.NewPlanServiceClient(e.conn)
	e.alerts = hepv1.NewAlertServiceClient(e.conn)
	e.sync = hepv1.NewSyncServiceClient(e.conn)
	e.logs = hepv1.NewExerciseLogServiceClient(e.conn)
	e.review = hepv1.NewReviewServiceClient(e.conn)

	hash, _ := auth.HashPassword(testPassword, fastParams)
	boot := hep.WithActor(ctx, hep.Actor{ID: "test", Role: hep.RoleAdmin, Action: "account.bootstrap_admin", RequestID: "boot"})
	adm, _, err := st.EnsureAdmin(boot, hep.AccountCreate{Email: "admin@clinic.example", DisplayName: "Admin", Role: hep.RoleAdmin, Password: testPassword}, hash)
	if err != nil {
		t.Fatal(err)
	}
	e.adminID = adm.ID
	e.tok[callerAdmin], e.refresh[callerAdmin] = e.signIn("admin@clinic.example")
	e.clinAID = e.createClinician("a@clinic.example")
	e.clinBID = e.createClinician("b@clinic.example")
	e.tok[callerClinA], e.refresh[callerClinA] = e.signIn("a@clinic.example")
	e.tok[callerClinB], e.refresh[callerClinB] = e.signIn("b@clinic.example")
	e.patientA = e.createPatient(callerClinA, "Patient A")
	e.patientB = e.createPatient(callerClinB, "Patient B")
	e.deviceA, e.tok[callerPatientA], e.refresh[callerPatientA] = e.enroll(callerClinA, e.patientA)
	e.deviceB, e.tok[callerPatientB], e.refresh[callerPatientB] = e.enroll(callerClinB, e.patientB)
	e.deviceR, e.tok[callerRevokedDv], _ = e.enroll(callerClinA, e.patientA)
	if _, err := e.devices.RevokeDevice(e.as(callerClinA), &hepv1.RevokeDeviceRequest{PatientId: e.patientA, DeviceId: e.deviceR}); err != nil {
		t.Fatal(err)
	}
	// An expired token: validly signed, for a live session, but past expiry.
	wai, err := e.auth.WhoAmI(e.as(callerClinA), &hepv1.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	e.tok[callerExpired] = e.srv.signer.Sign(auth.Claims{SessionID: wai.Principal.SessionId, Subject: e.clinAID, Role: "CLINICIAN",
		IssuedAt: past.Add(-10 * time.Minute).Unix(), ExpiresAt: past.Unix()})
	e.tok[callerNone] = ""
	return e
}

func (e *env) as(caller string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	if tok := e.tok[caller]; tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	return ctx
}

func (e *env) signIn(email string) (access, refresh string) {
	e.t.Helper()
	r, err := e.auth.SignIn(e.as(callerNone), &hepv1.SignInRequest{Email: email, Password: testPassword})
	if err != nil {
		e.t.Fatalf("SignIn(%s): %v", email, err)
	}
	return r.Tokens.AccessToken, r.Tokens.RefreshToken
}

func (e *env) createClinician(email string) string {
	e.t.Helper()
	r, err := e.accounts.CreateAccount(e.as(callerAdmin), &hepv1.CreateAccountRequest{
		Email: email, DisplayName: "Dr " + email, Role: hepv1.Role_ROLE_CLINICIAN, Password: testPassword})
	if err != nil {
		e.t.Fatalf("CreateAccount: %v", err)
	}
	return r.Account.Id
}

func (e *env) createPatient(caller, name string) string {
	e.t.Helper()
	r, err := e.patients.CreatePatient(e.as(caller), &hepv1.CreatePatientRequest{DisplayName: name, TimeZone: "Europe/Lisbon"})
	if err != nil {
		e.t.Fatalf("CreatePatient: %v", err)
	}
	return r.Patient.Id
}

func (e *env) enrollCode(caller, patientID string) string {
	e.t.Helper()
	c, err := e.devices.CreateEnrollmentCode(e.as(caller), &hepv1.CreateEnrollmentCodeRequest{PatientId: patientID})
	if err != nil {
		e.t.Fatalf("CreateEnrollmentCode: %v", err)
	}
	return c.Code
}

func (e *env) enroll(caller, patientID string) (deviceID, access, refresh string) {
	e.t.Helper()
	code := e.enrollCode(caller, patientID)
	r, err := e.auth.EnrollDevice(e.as(callerNone), &hepv1.EnrollDeviceRequest{EnrollmentCode: code, DeviceName: "phone", Platform: hepv1.Platform_PLATFORM_ANDROID})
	if err != nil {
		e.t.Fatalf("EnrollDevice: %v", err)
	}
	return r.DeviceId, r.Tokens.AccessToken, r.Tokens.RefreshToken
}

// domainTables are every table except the audit trail and bookkeeping
// (TestSnapshotCoversEveryTable keeps the list complete).
var domainTables = []string{
	"accounts", "patients", "care_team", "devices", "enrollment_codes", "sessions", "refresh_tokens",
	"exercises", "exercise_rules", "screening_answers", "red_flag_reports", "plans", "plan_items", "clearances",
	"gating_decisions", "alerts", "alert_occurrences", "clinic_settings",
	"exercise_logs", "pain_checkins", "device_mutations", "sync_state",
	"questionnaire_assignments", "questionnaire_responses", "instrument_texts", "messages",
}

// bookkeepingTables are the tables snapshot leaves out.
var bookkeepingTables = []string{"audit_events", "secrets", "schema_migrations"}

// snapshot fingerprints the domain tables and counts audit rows, through a
// separate read-only connection to the same file.
func (e *env) snapshot() (domain string, auditRows int) {
	e.t.Helper()
	return e.snapshotExcept()
}

// snapshotExcept is snapshot without some domain tables.
func (e *env) snapshotExcept(skip ...string) (domain string, auditRows int) {
	e.t.Helper()
	// One read-only handle per env, opened on first use: each query reads
	// the newest commit (WAL), and the schema is parsed once.
	if e.snapDB == nil {
		db, err := sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			e.t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		e.snapDB = db
		e.t.Cleanup(func() { db.Close() })
	}
	db := e.snapDB
	h := sha256.New()
	for _, tbl := range domainTables {
		if slices.Contains(skip, tbl) {
			continue
		}
		rows, err := db.Query("SELECT * FROM " + tbl + " ORDER BY rowid")
		if err != nil {
			// WITHOUT ROWID tables: order by every column.
			rows, err = db.Query("SELECT * FROM " + tbl + " LIMIT 0")
			if err != nil {
				e.t.Fatalf("snapshot %s: %v", tbl, err)
			}
			cols, _ := rows.Columns()
			rows.Close()
			order := make([]string, len(cols))
			for i := range cols {
				order[i] = fmt.Sprint(i + 1)
			}
			rows, err = db.Query("SELECT * FROM " + tbl + " ORDER BY " + strings.Join(order, ", "))
			if err != nil {
				e.t.Fatalf("snapshot %s: %v", tbl, err)
			}
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				e.t.Fatal(err)
			}
			fmt.Fprintf(h, "%s:%v\n", tbl, vals)
		}
		if err := rows.Err(); err != nil {
			e.t.Fatal(err)
		}
		rows.Close()
	}
	if err := db.QueryRow("SELECT count(*) FROM audit_events").Scan(&auditRows); err != nil {
		e.t.Fatal(err)
	}
	// And the reads chain's file, where reads and refusals are audited.
	rdb, err := sql.Open("sqlite", "file:"+sqlite.ReadsPath(e.dbPath)+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rdb.Close()
	var reads int
	if err := rdb.QueryRow("SELECT count(*) FROM audit_events").Scan(&reads); err != nil {
		e.t.Fatal(err)
	}
	auditRows += reads
	return hex.EncodeToString(h.Sum(nil)), auditRows
}

// TestSnapshotCoversEveryTable: every table of the schema is either
// fingerprinted by snapshot or named as bookkeeping, so a new migration's
// table cannot escape the "refused calls change nothing" checks.
func TestSnapshotCoversEveryTable(t *testing.T) {
	e := newEnv(t)
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for _, n := range append(append([]string{}, domainTables...), bookkeepingTables...) {
		known[n] = true
	}
	seen := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		seen[name] = true
		if !known[name] {
			t.Errorf("table %s is neither in domainTables nor in bookkeepingTables", name)
		}
	}
	for n := range known {
		if !seen[n] {
			t.Errorf("%s is listed but not in the schema", n)
		}
	}
}
