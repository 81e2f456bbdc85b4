package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/rpc"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

const (
	adminEmail    = "admin@clinic.example"
	adminPassword = "admin-password-123"
)

// fastParams keep argon2id cheap in tests.
var fastParams = auth.Params{Memory: 64, Time: 1, Threads: 1}

// testServer is a real hep server (SQLite store in a temporary directory)
// listening on a loopback port.
type testServer struct {
	addr string
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	// The environment must not leak into the resolution of flags.
	for _, v := range []string{"HEP_SERVER", "HEP_CA_FILE", "HEP_CONFIG_DIR"} {
		t.Setenv(v, "")
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hep.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	hash, err := auth.HashPassword(adminPassword, fastParams)
	if err != nil {
		t.Fatal(err)
	}
	actx := hep.WithActor(ctx, hep.Actor{ID: "test", Role: hep.RoleAdmin, Action: "account.bootstrap_admin", RequestID: "t"})
	if _, _, err := store.EnsureAdmin(actx, hep.AccountCreate{
		Email: adminEmail, DisplayName: "Admin", Role: hep.RoleAdmin, Password: adminPassword,
	}, hash); err != nil {
		t.Fatalf("EnsureAdmin: %v", err)
	}
	limits := rpc.DefaultLimits
	limits.PublicPerMinute = 0 // the tests sign in more often than a person would
	srv, err := rpc.New(ctx, rpc.Config{Store: store, PasswordParams: fastParams, Limits: limits})
	if err != nil {
		t.Fatalf("rpc.New: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.GRPC.Serve(lis)
	t.Cleanup(srv.GRPC.Stop)
	return &testServer{addr: lis.Addr().String()}
}

// result is what one hepctl run produced.
type result struct {
	code           int
	stdout, stderr string
}

// hepctl runs the CLI in-process against s with the given config directory
// and standard input.
func (s *testServer) hepctl(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	full := append([]string{"--server", s.addr, "--config-dir", dir}, args...)
	code := run(context.Background(), full, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ok runs hepctl and fails the test unless it exits 0.
func (s *testServer) ok(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	r := s.hepctl(t, dir, stdin, args...)
	if r.code != 0 {
		t.Fatalf("hepctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// login signs dir in as email.
func (s *testServer) login(t *testing.T, dir, email, password string) {
	t.Helper()
	out := s.ok(t, dir, password+"\n", "login", "--email", email)
	if !strings.HasPrefix(out, "signed in as "+email) {
		t.Fatalf("login output = %q", out)
	}
}

// createClinician creates a clinician as the admin signed in at adminDir and
// returns the account id.
func (s *testServer) createClinician(t *testing.T, adminDir, email, password string) string {
	t.Helper()
	out := s.ok(t, adminDir, password+"\n", "-o", "json", "accounts", "create",
		"--email", email, "--name", "Dr "+email, "--role", "clinician", "--password-file", "-")
	var resp struct {
		Account struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		} `json:"account"`
	}
	decodeJSON(t, out, &resp)
	if resp.Account.ID == "" || resp.Account.Role != "ROLE_CLINICIAN" {
		t.Fatalf("accounts create output = %s", out)
	}
	return resp.Account.ID
}

// enrollDevice redeems an enrollment code the way the patient app does.
func (s *testServer) enrollDevice(t *testing.T, code, name string) *hepv1.EnrollDeviceResponse {
	t.Helper()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := hepv1.NewAuthServiceClient(conn).EnrollDevice(context.Background(), &hepv1.EnrollDeviceRequest{
		EnrollmentCode: code, DeviceName: name, Platform: hepv1.Platform_PLATFORM_ANDROID,
	})
	if err != nil {
		t.Fatalf("EnrollDevice: %v", err)
	}
	return resp
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

func readCredentials(t *testing.T, dir string) credentials {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, credentialsName))
	if err != nil {
		t.Fatal(err)
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func writeCredentials(t *testing.T, dir string, c credentials) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, credentialsName), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
