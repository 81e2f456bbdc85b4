package rpc

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/export/exporttest"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// serverStreams are the hep.v1 methods that are server streams: call runs
// them to their end, and TestAuthzTableCoversEveryMethod checks the list.
var serverStreams = map[string]bool{hepv1.ExportService_Export_FullMethodName: true}

// callStream runs a server stream to its end, discarding its messages. A
// *rawRequest goes out as its wire bytes.
func callStream(ctx context.Context, conn grpc.ClientConnInterface, method string, req proto.Message) error {
	var opts []grpc.CallOption
	var msg any = req
	if r, ok := req.(*rawRequest); ok {
		opts = append(opts, grpc.ForceCodecV2(rawCodec{}))
		msg = r.wire
	}
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method, opts...)
	if err != nil {
		return err
	}
	// io.EOF: the server ended the stream already; RecvMsg has its status.
	if err := cs.SendMsg(msg); err != nil && err != io.EOF {
		return err
	}
	if err := cs.CloseSend(); err != nil {
		return err
	}
	for {
		if err := cs.RecvMsg(new(hepv1.ExportResponse)); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// exportEnv is a real server over the rich export fixture (its store, its
// clock), with the fixture's clinician signed in, a recorder of the store's
// export pages, and the server's log captured.
type exportEnv struct {
	t      testing.TB
	f      *exporttest.Fixture
	store  *sqlite.Store
	path   string
	rec    *pageRecorder
	srv    *Server
	conn   *grpc.ClientConn
	client hepv1.ExportServiceClient
	token  string
	log    *lockedBuffer
}

// exportEnvOptions configure newExportEnv.
type exportEnvOptions struct {
	// bufconn serves over an in-memory listener instead of loopback TCP.
	bufconn bool
	// smallWindows fixes the client's flow-control windows at 64 KiB (no
	// BDP growth), so a slow reader holds little in its own buffers and
	// the process's heap is the server's.
	smallWindows bool
}

func newExportEnv(tb testing.TB, o exportEnvOptions) *exportEnv {
	tb.Helper()
	ctx := context.Background()
	e := &exportEnv{t: tb, path: filepath.Join(tb.TempDir(), "hep.db"), log: &lockedBuffer{}}
	e.f = exporttest.Build(tb, func(clock hep.Clock) hep.Store {
		s, err := sqlite.Open(ctx, e.path, sqlite.WithClock(clock))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		e.store = s
		return s
	})
	clock := func() time.Time { return *e.f.Clock }
	e.rec = &pageRecorder{Store: e.store}
	lim := DefaultLimits
	lim.PublicPerMinute = 0
	var err error
	e.srv, err = New(ctx, Config{Store: e.rec, PasswordParams: fastParams, Limits: lim, Clock: clock,
		Logger: slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		tb.Fatal(err)
	}
	var lis net.Listener
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	target := ""
	if o.bufconn {
		bl := bufconn.Listen(1 << 20)
		lis = bl
		target = "passthrough:///bufconn"
		dialOpts = append(dialOpts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return bl.DialContext(ctx)
		}))
	} else {
		if lis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			tb.Fatal(err)
		}
		target = lis.Addr().String()
	}
	if o.smallWindows {
		dialOpts = append(dialOpts, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	}
	go e.srv.GRPC.Serve(lis)
	if e.conn, err = grpc.NewClient(target, dialOpts...); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		e.conn.Close()
		e.srv.GRPC.Stop()
	})
	e.client = hepv1.NewExportServiceClient(e.conn)

	// The fixture's clinician has no password: start a session in the
	// store and sign its access token, as SignIn would.
	now := clock()
	sess, err := e.store.StartSession(hep.WithActor(ctx, hep.Actor{ID: e.f.Clinician.ID, Role: hep.RoleClinician,
		Action: "auth.sign_in", RequestID: "export-test"}),
		hep.SessionStart{AccountID: e.f.Clinician.ID, Refresh: hep.RefreshToken{Hash: "refresh-export-test", ExpireTime: now.Add(time.Hour)}})
	if err != nil {
		tb.Fatal(err)
	}
	e.token = e.srv.signer.Sign(auth.Claims{SessionID: sess.ID, Subject: e.f.Clinician.ID, Role: string(hep.RoleClinician),
		IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	return e
}

// ctx is a context of the signed-in clinician.
func (e *exportEnv) ctx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+e.token)
}

// fixtureRequest asks for the fixture's range in a format.
func (e *exportEnv) fixtureRequest(format hepv1.ExportFormat) *hepv1.ExportRequest {
	return &hepv1.ExportRequest{PatientId: e.f.Patient.ID, Format: format, From: dateToProto(e.f.From), To: dateToProto(e.f.To)}
}

// received is a whole export stream as the client saw it.
type received struct {
	header *hepv1.ExportHeader
	data   []byte
	chunks []int   // data bytes per message after the header
	rows   []int64 // rows_done per message after the header
}

// export runs an export to its end and checks the stream's shape: the
// header alone first, then data messages of at most 256 KiB whose rows_done
// never goes back and ends at total_rows.
func (e *exportEnv) export(ctx context.Context, req *hepv1.ExportRequest) (*received, error) {
	e.t.Helper()
	st, err := e.client.Export(e.ctx(ctx), req)
	if err != nil {
		return nil, err
	}
	r := &received{}
	for i := 0; ; i++ {
		m, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, err
		}
		if i == 0 {
			if m.GetHeader() == nil || len(m.GetData()) != 0 || m.GetRowsDone() != 0 {
				e.t.Errorf("first message: header %v, %d bytes, rows_done %d; want the header alone", m.GetHeader(), len(m.GetData()), m.GetRowsDone())
			}
			r.header = m.GetHeader()
			continue
		}
		if m.GetHeader() != nil {
			e.t.Errorf("message %d carries a header", i)
		}
		if n := len(m.GetData()); n == 0 || n > exportChunk {
			e.t.Errorf("message %d carries %d bytes", i, n)
		}
		if len(r.rows) > 0 && m.GetRowsDone() < r.rows[len(r.rows)-1] {
			e.t.Errorf("rows_done goes back: %d after %d", m.GetRowsDone(), r.rows[len(r.rows)-1])
		}
		r.data = append(r.data, m.GetData()...)
		r.chunks = append(r.chunks, len(m.GetData()))
		r.rows = append(r.rows, m.GetRowsDone())
	}
	if r.header == nil {
		e.t.Fatal("the stream ended without a header")
	}
	if len(r.rows) == 0 || r.rows[len(r.rows)-1] != r.header.GetTotalRows() {
		e.t.Errorf("rows_done %v does not end at total_rows %d", r.rows, r.header.GetTotalRows())
	}
	return r, nil
}

// pageRecorder is the server's store: it counts the export pages read and
// notes when the last one was (a wrapper to observe, nothing else).
type pageRecorder struct {
	hep.Store
	pages    atomic.Int64
	lastRead atomic.Int64 // UnixNano when the latest page was read
	// onLastPage, if set, runs (on the server) when the short page of
	// check-ins that ends an export has been read.
	onLastPage atomic.Pointer[func()]
}

func (p *pageRecorder) ExportLogs(ctx context.Context, patientID string, start, end time.Time, after hep.ExportCursor, limit int) ([]hep.ExerciseLog, error) {
	out, err := p.Store.ExportLogs(ctx, patientID, start, end, after, limit)
	p.pages.Add(1)
	p.lastRead.Store(time.Now().UnixNano())
	return out, err
}

func (p *pageRecorder) ExportCheckins(ctx context.Context, patientID string, start, end time.Time, after hep.ExportCursor, limit int) ([]hep.PainCheckin, error) {
	out, err := p.Store.ExportCheckins(ctx, patientID, start, end, after, limit)
	p.pages.Add(1)
	p.lastRead.Store(time.Now().UnixNano())
	if err == nil && len(out) < limit {
		if fn := p.onLastPage.Load(); fn != nil {
			(*fn)()
		}
	}
	return out, err
}

// lockedBuffer is a log destination safe for the server's goroutines.
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

// seedRecords stores sessions and check-ins of a patient's device directly
// with SQL (test setup, not the code under test): sessions every 41
// minutes and check-ins every 163 minutes from start, live, sessions with
// notes and pain scores. The rows are made inside SQLite by a recursive
// CTE, without per-row constraint checks and with the indexes built after
// the insert: under -race, 62,500 rows took 34 s bound from Go with every
// check, 14 s this way.
func seedRecords(tb testing.TB, path, patientID, deviceID string, start time.Time, sessions, checkins int) {
	tb.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(path))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Setup of rows known to be valid: no foreign-key or CHECK evaluation
	// per row (this connection only), and a cache that holds the tables.
	for _, p := range []string{"PRAGMA cache_size = -131072", "PRAGMA foreign_keys = OFF", "PRAGMA ignore_check_constraints = ON"} {
		if _, err := db.Exec(p); err != nil {
			tb.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	// The tables' indexes are dropped and made again after the insert, as
	// they were (a sort instead of a B-tree insert per row and index).
	var indexes []string
	rows, err := tx.Query(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL
		AND tbl_name IN ('exercise_logs', 'pain_checkins')`)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			tb.Fatal(err)
		}
		names, indexes = append(names, name), append(indexes, ddl)
	}
	rows.Close()
	for _, n := range names {
		if _, err := tx.Exec(`DROP INDEX "` + n + `"`); err != nil {
			tb.Fatal(err)
		}
	}
	defer func() {
		for _, ddl := range indexes {
			if _, err := tx.Exec(ddl); err != nil {
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}()
	// Ids: the patient id's first 8 characters (they differ between the
	// seeded patients of a test) and the row number, in the shape of a UUID.
	prefix := patientID[:8]
	hash := strings.Repeat("ab", 32)
	// Each row's time is made once (t), and is its perform, corrected and
	// receive time.
	series := func(step int) string {
		return fmt.Sprintf(`WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < ?),
			r(n, t) AS (SELECT n, strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000000Z', ?, '+' || (n * %d) || ' minutes') FROM s) `, step)
	}
	if _, err := tx.Exec(series(41)+`INSERT INTO exercise_logs (id, patient_id, device_id, exercise_id, plan_version, perform_time,
		corrected_perform_time, receive_time, sets_done, reps_done, hold_seconds_done, duration_seconds_done,
		pain_before, pain_after, difficulty, note, item_suspended, content_hash)
		SELECT printf('%s-0000-7000-8000-%012d', ?, n), ?, ?, CASE n % 3 WHEN 0 THEN 'cat-cow' WHEN 1 THEN 'childs-pose' ELSE 'overhead-stretch' END,
			2, t, t, t, 2, 10, 0, 0, n % 11, (n + 3) % 11, 'JUST_RIGHT', 'a note of some length, as patients write them', 0, ? FROM r`,
		sessions, rawTS(start), prefix, patientID, deviceID, hash); err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Exec(series(163)+`INSERT INTO pain_checkins (id, patient_id, device_id, record_time, corrected_record_time, receive_time,
		score, location, red_flags, note, content_hash)
		SELECT printf('%s-0000-7000-9000-%012d', ?, n), ?, ?, t, t, t, n % 11, 'LOW_BACK', '[]', '', ? FROM r`,
		checkins, rawTS(start), prefix, patientID, deviceID, hash); err != nil {
		tb.Fatal(err)
	}
}
