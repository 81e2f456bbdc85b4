//go:build unix

package main

// The end-to-end tests run the real hepd binary: TestMain builds it once, and
// the helpers below start "hepd serve" on a loopback port with its own
// database, wait for it to say where it listens, dial it, and stop it with
// SIGTERM (SIGKILL only if it does not exit in time). Every process a test
// starts is stopped by that test's cleanup.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hepclinic/hep/internal/pgtest"
)

// testVersion is stamped into the test binary, so that "hepd version" can be
// checked exactly.
const testVersion = "v0.0.0-e2etest"

// Time limits. They bound every wait of these tests; none is a sleep.
const (
	buildTimeout = 5 * time.Minute  // building hepd (the first build compiles SQLite)
	readyTimeout = 20 * time.Second // from exec to "hepd listening on"
	exitTimeout  = 20 * time.Second // from SIGTERM to exit; then SIGKILL
	cliTimeout   = 60 * time.Second // one CLI command (migrate, admin create, ...)
)

// hepdBin is the path of the hepd binary TestMain built.
var hepdBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hepd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	hepdBin = filepath.Join(dir, "hepd")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// The test runs in the package directory (server/): build it.
	build := exec.CommandContext(ctx, "go", "build", "-o", hepdBin, "-ldflags=-X main.version="+testVersion, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building hepd: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if err := pgtest.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: stopping PostgreSQL:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// hepdEnv is the environment of hepd processes: the test's, without HEP_*
// and OTEL_* variables, so that only the flags (and the environment) the
// tests pass configure hepd.
func hepdEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEP_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	return env
}

// cliResult is the outcome of one hepd command run to completion.
type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runHepd runs "hepd args..." with stdin, bounded by cliTimeout.
func runHepd(t testing.TB, stdin string, args ...string) cliResult {
	t.Helper()
	return runHepdEnv(t, stdin, nil, args...)
}

// runHepdEnv is runHepd with env added to hepd's environment.
func runHepdEnv(t testing.TB, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, hepdBin, args...)
	cmd.Env = append(hepdEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("hepd %s: did not finish within %v\nstderr:\n%s", strings.Join(args, " "), cliTimeout, stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("hepd %s: %v", strings.Join(args, " "), err)
	}
	return cliResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// dbArgs is how a hepd command is given the database db: an SQLite file
// as --db, a PostgreSQL URL (which holds the test cluster's password) in
// HEP_DB, as hepd refuses a password on its command line.
func dbArgs(db string) (args, env []string) {
	if strings.HasPrefix(db, "postgres://") {
		return nil, []string{"HEP_DB=" + db}
	}
	return []string{"--db", db}, nil
}

// runHepdDB runs "hepd cmd... [--db db] args..." with db passed as dbArgs
// says.
func runHepdDB(t testing.TB, stdin, db string, cmd []string, args ...string) cliResult {
	t.Helper()
	a, env := dbArgs(db)
	return runHepdEnv(t, stdin, env, append(append(cmd, a...), args...)...)
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listenWatcher is hepd's standard output: it keeps everything and reports the
// address of the first "hepd listening on ADDR" line.
type listenWatcher struct {
	syncBuffer
	once sync.Once
	addr chan string // buffered, 1
}

const listeningPrefix = "hepd listening on "

func (w *listenWatcher) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	out := w.String()
	if i := strings.Index(out, listeningPrefix); i >= 0 {
		rest := out[i+len(listeningPrefix):]
		if j := strings.IndexByte(rest, '\n'); j >= 0 {
			w.once.Do(func() { w.addr <- strings.TrimSpace(rest[:j]) })
		}
	}
	return n, err
}

// server is one running "hepd serve" process.
type server struct {
	t      testing.TB
	db     string
	addr   string // host:port it listens on
	cmd    *exec.Cmd
	stdout *listenWatcher
	stderr *syncBuffer

	exited chan struct{} // closed when the process has been waited for
	stopMu sync.Mutex
}

// startServer starts "hepd serve --listen 127.0.0.1:0 --db db extra..." and
// waits until it listens. Later flags in extra override the defaults.
func startServer(t testing.TB, db string, extra ...string) *server {
	t.Helper()
	return startServerEnv(t, db, nil, extra...)
}

// startServerEnv is startServer with env added to hepd's environment.
func startServerEnv(t testing.TB, db string, env []string, extra ...string) *server {
	t.Helper()
	dbArgs, dbEnv := dbArgs(db)
	args := append(append([]string{"serve", "--listen", "127.0.0.1:0", "--shutdown-timeout", "10s"}, dbArgs...), extra...)
	env = append(env, dbEnv...)
	s := &server{
		t: t, db: db,
		cmd:    exec.Command(hepdBin, args...),
		stdout: &listenWatcher{addr: make(chan string, 1)},
		stderr: &syncBuffer{},
		exited: make(chan struct{}),
	}
	s.cmd.Env = append(hepdEnv(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting hepd: %v", err)
	}
	go func() {
		_ = s.cmd.Wait() // the exit status is read from ProcessState
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("hepd serve --db %s stderr (last 8 KiB):\n%s", displayDB(db), tail(s.stderr.String(), 8<<10))
		}
	})
	select {
	case s.addr = <-s.stdout.addr:
	case <-s.exited:
		t.Fatalf("hepd exited (%v) before listening\nstdout:\n%s\nstderr:\n%s", s.cmd.ProcessState, s.stdout.String(), s.stderr.String())
	case <-time.After(readyTimeout):
		t.Fatalf("hepd did not print %q within %v\nstderr:\n%s", listeningPrefix, readyTimeout, s.stderr.String())
	}
	return s
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// signal sends sig to the process, unless it has exited.
func (s *server) signal(sig os.Signal) {
	select {
	case <-s.exited:
	default:
		if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.t.Errorf("signalling hepd: %v", err)
		}
	}
}

// wait waits up to d for the process to exit and returns its exit status.
func (s *server) wait(d time.Duration) (code int, exited bool) {
	select {
	case <-s.exited:
		return s.cmd.ProcessState.ExitCode(), true
	case <-time.After(d):
		return 0, false
	}
}

// stop sends SIGTERM, waits up to exitTimeout, then kills the process (and
// fails the test). It returns the exit status; -1 means killed by a signal.
// Calling it again returns the same status.
func (s *server) stop() int {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	s.signal(syscall.SIGTERM)
	if code, ok := s.wait(exitTimeout); ok {
		return code
	}
	s.t.Errorf("hepd did not exit within %v of SIGTERM; killing it", exitTimeout)
	_ = s.cmd.Process.Kill()
	<-s.exited
	return s.cmd.ProcessState.ExitCode()
}

// dial returns a plaintext client connection to the server, closed by the
// test's cleanup.
func (s *server) dial(t testing.TB) *grpc.ClientConn {
	t.Helper()
	return dialAddr(t, s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

func dialAddr(t testing.TB, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", addr, err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// waitFor polls cond every 20 ms until it is true or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
