package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/hepclinic/hep/internal/auth"
	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/rpc"
	"github.com/hepclinic/hep/internal/sqlite"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

const adminEmail, adminPassword = "admin@clinic.example", "correct horse battery staple"

// startServer runs a real hep server in this process, with an admin, and
// returns its address.
func startServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	fast := auth.Params{Memory: 64, Time: 1, Threads: 1}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hep.db"))
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.HashPassword(adminPassword, fast)
	boot := hep.WithActor(ctx, hep.Actor{ID: "test", Role: hep.RoleAdmin, Action: "account.bootstrap_admin", RequestID: "boot"})
	if _, _, err := st.EnsureAdmin(boot, hep.AccountCreate{Email: adminEmail, DisplayName: "Admin", Role: hep.RoleAdmin, Password: adminPassword}, hash); err != nil {
		t.Fatal(err)
	}
	lim := rpc.DefaultLimits
	lim.PublicPerMinute = 0
	srv, err := rpc.New(ctx, rpc.Config{Store: st, PasswordParams: fast, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.GRPC.Serve(lis)
	t.Cleanup(func() {
		srv.GRPC.Stop()
		st.Close()
	})
	return lis.Addr().String()
}

func passwordFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunCreatesPatients runs phonesim for two seconds against an
// in-process server, letting it create the clinician, patients and codes:
// every phone converges, and every mutation made was acknowledged exactly
// once.
func TestRunCreatesPatients(t *testing.T) {
	addr := startServer(t)
	cfg, err := parseFlags([]string{"--server", addr, "--patients", "3", "--duration", "2s", "--offline-probability", "0.3",
		"--clock-skew", "7d", "--fault-rate", "0.2", "--seed", "1", "--rate", "20",
		"--admin-email", adminEmail, "--password-file", passwordFile(t)}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	sum, err := simulate(context.Background(), cfg, &stderr)
	if err != nil {
		t.Fatalf("simulate: %v\n%s", err, stderr.String())
	}
	var out bytes.Buffer
	sum.print(&out)
	t.Log("\n" + out.String() + stderr.String())
	if sum.converged != 3 || sum.outboxLeft != 0 || len(sum.problems) != 0 {
		t.Errorf("converged %d/3, %d left, problems %v", sum.converged, sum.outboxLeft, sum.problems)
	}
	made := sum.sessions + sum.checkins + sum.corrections + sum.deletions
	if made == 0 || sum.acked+sum.rejected != made || sum.rejected != 0 {
		t.Errorf("made %d mutations; acked %d, rejected %d", made, sum.acked, sum.rejected)
	}
	if len(sum.faults) == 0 {
		t.Error("no fault was injected: the simulation did not test much")
	}
}

// TestRunWithCodesFile: phones enrolled with given codes (two phones of one
// patient) converge on the same records; the exit status and summary say
// so.
func TestRunWithCodesFile(t *testing.T) {
	addr := startServer(t)
	ctx := context.Background()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	authc := hepv1.NewAuthServiceClient(conn)
	in, err := authc.SignIn(ctx, &hepv1.SignInRequest{Email: adminEmail, Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	admin := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+in.Tokens.AccessToken)
	if _, err := hepv1.NewAccountServiceClient(conn).CreateAccount(admin, &hepv1.CreateAccountRequest{
		Email: "clin@clinic.example", DisplayName: "Dr C", Role: hepv1.Role_ROLE_CLINICIAN, Password: adminPassword}); err != nil {
		t.Fatal(err)
	}
	in, err = authc.SignIn(ctx, &hepv1.SignInRequest{Email: "clin@clinic.example", Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	clin := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+in.Tokens.AccessToken)
	p, err := hepv1.NewPatientServiceClient(conn).CreatePatient(clin, &hepv1.CreatePatientRequest{DisplayName: "P", TimeZone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for range 2 {
		c, err := hepv1.NewDeviceServiceClient(conn).CreateEnrollmentCode(clin, &hepv1.CreateEnrollmentCodeRequest{PatientId: p.Patient.Id})
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, c.Code)
	}
	codesFile := filepath.Join(t.TempDir(), "codes")
	os.WriteFile(codesFile, []byte("# two phones, one patient\n"+strings.Join(codes, "\n")+"\n"), 0o600)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"--server", addr, "--patients", "5", "--duration", "1500ms", "--codes-file", codesFile,
		"--fault-rate", "0.1", "--clock-skew", "-36h", "--seed", "7", "--rate", "20"}, &stdout, &stderr)
	t.Logf("exit %d after %v\n%s%s", code, time.Since(start).Round(time.Millisecond), stdout.String(), stderr.String())
	if code != 0 || !strings.Contains(stdout.String(), "converged  2/2 phones") {
		t.Errorf("exit status %d; want 0 and 2/2 converged", code)
	}
}

// TestUsage: mistakes on the command line exit 2.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{}, // no codes, no admin
		{"--codes-file", "x", "--admin-email", "a@b.example"}, // both
		{"--admin-email", "a@b.example"},                      // no password file
		{"--codes-file", "x", "--patients", "0"},
		{"--codes-file", "x", "--fault-rate", "1.5"},
		{"--codes-file", "x", "--clock-skew", "a week"},
		{"--codes-file", "x", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("phonesim %q: exit %d, want 2", args, code)
		}
	}
	if d, err := parseSkew("7d"); err != nil || d != 7*24*time.Hour {
		t.Errorf("parseSkew(7d) = %v, %v", d, err)
	}
}
