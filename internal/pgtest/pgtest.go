// Package pgtest runs a throwaway PostgreSQL cluster for the tests of one
// test binary: initdb into a temporary directory, a random superuser
// password (SCRAM), a free loopback port and a unix socket in that
// directory, pg_ctl start -w; and at the end pg_ctl stop and the directory
// removed. Tests get databases of their own, cloned from a template that is
// set up (migrated) once per binary, which is far faster than migrating
// each one.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		tmpl := pgtest.Template(t, "hep_migrated", func(ctx context.Context, url string) error { ... })
//		url := pgtest.NewDatabase(t, tmpl) // dropped when t ends
//	}
//
// The binaries are found in $HEP_PGTEST_BINDIR if set, else on PATH or
// under /usr/lib/postgresql/*/bin (the newest). Without them, a test that asks for a database is skipped with a
// message, except under CI=true, where it fails: CI must not pass by
// skipping the PostgreSQL store.
//
// initdb refuses to run as root; when the tests run as root the cluster is
// made and run as an unprivileged user (postgres if it exists, else
// nobody), owning the temporary directory.
//
// fsync is off by default (HEP_PGTEST_FSYNC=on turns it on): an fsync only
// matters when the operating system itself crashes or loses power, which
// no test here does. A killed or restarted postgres (Restart, kill -9 of
// the server) still recovers everything committed from the WAL in the
// OS's page cache, so the fault tests stay meaningful, and conformance
// runs several times faster on a shared 2-core machine.
//
// It must not be imported by non-test code.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timeouts: every step is bounded, so a wedged server fails the test
// instead of hanging the binary.
const (
	initTimeout  = 60 * time.Second
	startTimeout = 60 * time.Second
	stopTimeout  = 60 * time.Second
	queryTimeout = 60 * time.Second
)

// superuser is the cluster's superuser role.
const superuser = "postgres"

// Server is the binary's cluster.
type Server struct {
	bin      string // directory of initdb, pg_ctl, postgres
	dir      string // temporary directory: data/, the socket, the log
	data     string
	port     int
	password string
	cred     *syscall.Credential // nil: run as ourselves

	mu      sync.Mutex
	running bool
}

var (
	srvOnce sync.Once
	srv     *Server
	srvErr  error

	tmplMu sync.Mutex
	tmpls  = map[string]error{} // templates made, with the error of making them
	dbSeq  int
)

// Main runs the tests of m and then stops and removes the cluster, if one
// was started. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if srv != nil {
		if err := srv.destroy(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Available reports whether PostgreSQL binaries were found (and, if not,
// why), without starting anything.
func Available() (bool, string) {
	_, err := findBin()
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}

// Get returns the binary's running cluster, starting it on first use. It
// skips t without PostgreSQL (fails it under CI=true) and fails t if the
// cluster cannot start.
func Get(t testing.TB) *Server {
	t.Helper()
	srvOnce.Do(func() { srv, srvErr = start() })
	if srvErr != nil {
		var nf notFound
		if errors.As(srvErr, &nf) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: PostgreSQL not available (%v); install postgresql (see .ci/postgres.sh) to run these tests", srvErr)
		}
		t.Fatalf("pgtest: %v", srvErr)
	}
	return srv
}

// AdminURL is the superuser's URL of database db ("postgres" if empty)
// over TCP on the loopback.
func AdminURL(t testing.TB, db string) string {
	t.Helper()
	return Get(t).URL(db)
}

// URL is the superuser's URL of database db on the cluster.
func (s *Server) URL(db string) string {
	if db == "" {
		db = "postgres"
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(superuser, s.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), Path: "/" + db,
		RawQuery: "sslmode=disable&connect_timeout=10"}
	return u.String()
}

// Port is the cluster's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// SocketDir is the directory of the cluster's unix socket.
func (s *Server) SocketDir() string { return s.dir }

// Template makes the template database name once per binary by running
// setup against a fresh database of that name (for example, migrating it),
// and returns name. Later calls with the same name return at once (or
// fail again, if setup failed).
func Template(t testing.TB, name string, setup func(ctx context.Context, url string) error) string {
	t.Helper()
	s := Get(t)
	tmplMu.Lock()
	defer tmplMu.Unlock()
	if err, ok := tmpls[name]; ok {
		if err != nil {
			t.Fatalf("pgtest: template %s: %v", name, err)
		}
		return name
	}
	err := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		defer cancel()
		if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return err
		}
		if err := s.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
			return err
		}
		if err := setup(ctx, s.URL(name)); err != nil {
			return err
		}
		// Nobody may stay connected to a template (CREATE DATABASE
		// ... TEMPLATE refuses one in use).
		return s.exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
	}()
	tmpls[name] = err
	if err != nil {
		t.Fatalf("pgtest: template %s: %v", name, err)
	}
	return name
}

// NewDatabase creates a fresh database, a copy of template (template0 if
// empty), and returns its superuser URL. It is dropped when t ends (after
// the cleanups registered later, such as closing a store on it).
func NewDatabase(t testing.TB, template string) string {
	t.Helper()
	s := Get(t)
	if template == "" {
		template = "template0"
	}
	tmplMu.Lock()
	dbSeq++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq)
	tmplMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	// A template being copied must have no other session: CREATE
	// DATABASE waits for none, so a brief retry covers a closing one.
	var err error
	for i := 0; i < 20; i++ {
		err = s.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{template}.Sanitize())
		if err == nil || !strings.Contains(err.Error(), "is being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("pgtest: creating database from %s: %v", template, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		defer cancel()
		if !s.isRunning() {
			return // stopped by the test and left so: removed with the cluster
		}
		if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	return s.URL(name)
}

// exec runs one statement as the superuser on the postgres database.
func (s *Server) exec(ctx context.Context, sql string, args ...any) error {
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql, args...)
	return err
}

// Stop stops the cluster (fast shutdown: sessions are ended, nothing
// committed is lost). Tests of outages call it, then Start.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	if err := s.pgctl(stopTimeout, "stop", "-m", "fast"); err != nil {
		return err
	}
	s.running = false
	return nil
}

// Kill stops the cluster the hard way (immediate shutdown: no checkpoint,
// crash recovery at the next start).
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	if err := s.pgctl(stopTimeout, "stop", "-m", "immediate"); err != nil {
		return err
	}
	s.running = false
	return nil
}

// Start starts the stopped cluster again on the same port.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	if err := s.startLocked(); err != nil {
		return err
	}
	s.running = true
	return nil
}

// Restart stops and starts the cluster.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

func (s *Server) isRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// notFound is the error of a machine without PostgreSQL.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }

// findBin finds the directory of initdb and pg_ctl: on PATH, or the newest
// /usr/lib/postgresql/N/bin.
func findBin() (string, error) {
	if d := os.Getenv("HEP_PGTEST_BINDIR"); d != "" {
		// An explicit choice (a PostgreSQL built elsewhere; or a
		// directory without it, to check the skip).
		if fileExists(filepath.Join(d, "initdb")) && fileExists(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
		return "", notFound{"no initdb and pg_ctl in HEP_PGTEST_BINDIR=" + d}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "initdb")) && fileExists(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", notFound{"no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin"}
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// start makes and starts the cluster.
func start() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		if s.cred, err = unprivileged(); err != nil {
			return nil, err
		}
	}
	if s.dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(s.dir)
		}
	}()
	s.data = filepath.Join(s.dir, "data")
	pw := make([]byte, 18)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	s.password = hex.EncodeToString(pw)
	pwfile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if s.cred != nil {
		if err := chownAll(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return nil, err
		}
	}
	out, err := s.run(initTimeout, filepath.Join(bin, "initdb"), "-D", s.data, "-U", superuser, "--pwfile", pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	os.Remove(pwfile)
	if err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	// A port can be taken between our probe and the server's bind: a
	// few tries with fresh ports.
	for i := 0; i < 5; i++ {
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		if err = s.startLocked(); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	s.running = true
	ok = true
	return s, nil
}

// startLocked runs pg_ctl start -w with the cluster's settings.
func (s *Server) startLocked() error {
	fsync := "off"
	if os.Getenv("HEP_PGTEST_FSYNC") == "on" {
		fsync = "on"
	}
	opts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(s.port),
		"-k " + s.dir,
		"-c fsync=" + fsync,
		"-c max_connections=300",
		"-c shared_buffers=64MB",
		// Deadlocks are found and retried by the store; find them fast.
		"-c deadlock_timeout=100ms",
	}, " ")
	return s.pgctl(startTimeout, "start", "-w", "-t", strconv.Itoa(int(startTimeout/time.Second)), "-l", filepath.Join(s.dir, "server.log"), "-o", opts)
}

func (s *Server) pgctl(timeout time.Duration, args ...string) error {
	out, err := s.run(timeout, filepath.Join(s.bin, "pg_ctl"), append([]string{"-D", s.data}, args...)...)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		return fmt.Errorf("pg_ctl %s: %v: %s\nserver log:\n%s", args[0], err, out, log)
	}
	return nil
}

// run runs a PostgreSQL program as the cluster's user, bounded by timeout.
func (s *Server) run(timeout time.Duration, prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	// pg_ctl start leaves the server running with our stdout if we give
	// it one: collect output through files instead so Wait returns.
	f, err := os.CreateTemp(s.dir, "out-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return out, err
}

// destroy stops the cluster and removes its directory.
func (s *Server) destroy() error {
	err := s.Stop()
	if err != nil {
		// Last resort: an immediate stop, so no server outlives the binary.
		err = errors.Join(err, s.Kill())
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// unprivileged returns the credentials of the user that runs the cluster
// when the tests run as root.
func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and neither a postgres nor a nobody user exists to run initdb")
}

func chownAll(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Shutdown stops and removes the cluster, if one was started: for a
// TestMain that cannot hand over to Main (it has its own setup to undo).
func Shutdown() error {
	if srv == nil {
		return nil
	}
	return srv.destroy()
}
