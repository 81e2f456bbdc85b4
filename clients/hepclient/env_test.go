package hepclient_test

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hepclinic/hep/clients/hepclient"
	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/rpc"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

const testPassword = "correct horse battery staple"

// server is a real hepd server in this process: the SQLite store in a temp
// directory, the gRPC services on a loopback port, and a clinician signed
// in to create patients and enrollment codes.
type server struct {
	t      *testing.T
	dbPath string
	addr   string
	store  *sqlite.Store
	srv    *rpc.Server
	conn   *grpc.ClientConn // the clinician's

	clinToken string
}

func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, dbPath: filepath.Join(t.TempDir(), "hep.db")}
	s.start()
	t.Cleanup(s.stop)
	ctx := context.Background()
	hash, err := auth.HashPassword(testPassword, auth.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	boot := hep.WithActor(ctx, hep.Actor{ID: "test", Role: hep.RoleAdmin, Action: "account.bootstrap_admin", RequestID: "boot"})
	if _, _, err := s.store.EnsureAdmin(boot, hep.AccountCreate{Email: "admin@clinic.example", DisplayName: "Admin", Role: hep.RoleAdmin, Password: testPassword}, hash); err != nil {
		t.Fatal(err)
	}
	authc := hepv1.NewAuthServiceClient(s.conn)
	in, err := authc.SignIn(ctx, &hepv1.SignInRequest{Email: "admin@clinic.example", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	admin := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+in.Tokens.AccessToken)
	if _, err := hepv1.NewAccountServiceClient(s.conn).CreateAccount(admin, &hepv1.CreateAccountRequest{
		Email: "clin@clinic.example", DisplayName: "Dr Clin", Role: hepv1.Role_ROLE_CLINICIAN, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	in, err = authc.SignIn(ctx, &hepv1.SignInRequest{Email: "clin@clinic.example", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	s.clinToken = in.Tokens.AccessToken
	return s
}

// start opens the store and serves it on a new loopback port.
func (s *server) start() {
	t := s.t
	ctx := context.Background()
	st, err := sqlite.Open(ctx, s.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	lim := rpc.DefaultLimits
	lim.PublicPerMinute = 0 // many enrollments from one address
	srv, err := rpc.New(ctx, rpc.Config{Store: st, PasswordParams: auth.Params{Memory: 64, Time: 1, Threads: 1}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.GRPC.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	s.store, s.srv, s.conn, s.addr = st, srv, conn, lis.Addr().String()
}

func (s *server) stop() {
	if s.srv == nil {
		return
	}
	s.conn.Close()
	s.srv.GRPC.Stop()
	s.store.Close()
	s.srv = nil
}

// restart stops the server and starts it again on the same database, at a
// new address.
func (s *server) restart() {
	s.stop()
	s.start()
}

func (s *server) clin() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	s.t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.clinToken)
}

var patientCounter atomic.Int64

func (s *server) newPatient() string {
	s.t.Helper()
	r, err := hepv1.NewPatientServiceClient(s.conn).CreatePatient(s.clin(), &hepv1.CreatePatientRequest{
		DisplayName: "Patient " + string(rune('A'+patientCounter.Add(1)%26)), TimeZone: "Europe/Lisbon"})
	if err != nil {
		s.t.Fatalf("CreatePatient: %v", err)
	}
	return r.Patient.Id
}

// assignPSFS assigns the patient a weekly PSFS that started weeksAgo weeks
// ago (in the patient's zone) and returns it with its due slots so far.
func (s *server) assignPSFS(patientID string, weeksAgo int) (string, []*hepv1.Date) {
	s.t.Helper()
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		s.t.Fatal(err)
	}
	today := time.Now().In(lisbon)
	day := func(w int) *hepv1.Date {
		d := time.Date(today.Year(), today.Month(), today.Day()-7*w, 12, 0, 0, 0, time.UTC)
		return &hepv1.Date{Year: int32(d.Year()), Month: int32(d.Month()), Day: int32(d.Day())}
	}
	r, err := hepv1.NewOutcomeServiceClient(s.conn).AssignQuestionnaire(s.clin(), &hepv1.AssignQuestionnaireRequest{
		PatientId: patientID, InstrumentId: "psfs", EveryWeeks: 1, StartDate: day(weeksAgo)})
	if err != nil {
		s.t.Fatalf("AssignQuestionnaire: %v", err)
	}
	var slots []*hepv1.Date
	for w := weeksAgo; w >= 0; w-- {
		slots = append(slots, day(w))
	}
	return r.Assignment.Id, slots
}

// responses is every live questionnaire response of the patient, as the
// clinician sees them.
func (s *server) responses(patientID string) map[string]*hepv1.QuestionnaireResponse {
	s.t.Helper()
	out := map[string]*hepv1.QuestionnaireResponse{}
	c := hepv1.NewOutcomeServiceClient(s.conn)
	tok := ""
	for {
		r, err := c.ListQuestionnaireResponses(s.clin(), &hepv1.ListQuestionnaireResponsesRequest{PatientId: patientID, PageSize: 500, PageToken: tok})
		if err != nil {
			s.t.Fatalf("ListQuestionnaireResponses: %v", err)
		}
		for _, x := range r.Responses {
			out[x.Id] = x
		}
		if tok = r.NextPageToken; tok == "" {
			return out
		}
	}
}

// patientMessages is every patient message of the thread, as the
// clinician sees them: id -> body (each listed once).
func (s *server) patientMessages(patientID string) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	c := hepv1.NewMessageServiceClient(s.conn)
	tok := ""
	for {
		r, err := c.ListMessages(s.clin(), &hepv1.ListMessagesRequest{PatientId: patientID, PageSize: 500, PageToken: tok})
		if err != nil {
			s.t.Fatalf("ListMessages: %v", err)
		}
		for _, m := range r.Messages {
			if m.Sender != hepv1.MessageSender_MESSAGE_SENDER_PATIENT {
				continue
			}
			if _, dup := out[m.Id]; dup {
				s.t.Errorf("ListMessages lists %s twice", m.Id)
			}
			out[m.Id] = m.Body
		}
		if tok = r.NextPageToken; tok == "" {
			return out
		}
	}
}

func (s *server) code(patientID string) string {
	s.t.Helper()
	r, err := hepv1.NewDeviceServiceClient(s.conn).CreateEnrollmentCode(s.clin(), &hepv1.CreateEnrollmentCodeRequest{PatientId: patientID})
	if err != nil {
		s.t.Fatalf("CreateEnrollmentCode: %v", err)
	}
	return r.Code
}

// logs is every live log of the patient, as the clinician sees them.
func (s *server) logs(patientID string) map[string]*hepv1.ExerciseLog {
	s.t.Helper()
	out := map[string]*hepv1.ExerciseLog{}
	c := hepv1.NewExerciseLogServiceClient(s.conn)
	tok := ""
	for {
		r, err := c.ListExerciseLogs(s.clin(), &hepv1.ListExerciseLogsRequest{PatientId: patientID, PageSize: 500, PageToken: tok})
		if err != nil {
			s.t.Fatalf("ListExerciseLogs: %v", err)
		}
		for _, l := range r.Logs {
			if out[l.Id] != nil {
				s.t.Errorf("ListExerciseLogs lists %s twice", l.Id)
			}
			out[l.Id] = l
		}
		if tok = r.NextPageToken; tok == "" {
			return out
		}
	}
}

// checkins is every live check-in of the patient, as the clinician sees
// them.
func (s *server) checkins(patientID string) map[string]*hepv1.PainCheckin {
	s.t.Helper()
	out := map[string]*hepv1.PainCheckin{}
	c := hepv1.NewExerciseLogServiceClient(s.conn)
	tok := ""
	for {
		r, err := c.ListPainCheckins(s.clin(), &hepv1.ListPainCheckinsRequest{PatientId: patientID, PageSize: 500, PageToken: tok})
		if err != nil {
			s.t.Fatalf("ListPainCheckins: %v", err)
		}
		for _, x := range r.Checkins {
			if out[x.Id] != nil {
				s.t.Errorf("ListPainCheckins lists %s twice", x.Id)
			}
			out[x.Id] = x
		}
		if tok = r.NextPageToken; tok == "" {
			return out
		}
	}
}

// fastRetry keeps tests quick: a few attempts, millisecond waits.
var fastRetry = hepclient.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 4}

// newPhone opens a client on a new state file (or on path, when given).
func newPhone(t *testing.T, addr, path string, o hepclient.Options) *hepclient.Client {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "phone.db")
	}
	o.StatePath = path
	if o.Retry == (hepclient.Backoff{}) {
		o.Retry = fastRetry
	}
	c, err := hepclient.Dial(context.Background(), addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// enrolledPhone is a new phone enrolled for the patient.
func (s *server) enrolledPhone(t *testing.T, patientID string, o hepclient.Options) *hepclient.Client {
	t.Helper()
	c := newPhone(t, s.addr, "", o)
	if err := c.Enroll(context.Background(), s.code(patientID)); err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	return c
}

// crashCopy copies a state file as a crash at this instant would leave it:
// the database and its write-ahead log (committed transactions are in one
// or the other), without the shared-memory index SQLite rebuilds.
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "crashed.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// copyFile copies a closed database file (and a leftover WAL).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(dst + suffix)
		in, err := os.Open(src + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(dst + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// offline is a transport hook that, while on, fails every call as a phone
// without a network does.
type offline struct{ on atomic.Bool }

func (o *offline) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if o.on.Load() {
		return status.Error(codes.Unavailable, "offline")
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// recordKeys lists a phone's pulled records as "KIND:id:seq", sorted.
func recordKeys(t *testing.T, c *hepclient.Client) []string {
	t.Helper()
	rs, err := c.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.Kind.String()+":"+r.Id+":"+strconv.FormatInt(r.Sequence, 10))
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
