//go:build unix

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/clients/hepclient"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestCopyFromSQLite moves a clinic made by phonesim (five phones syncing
// through a lossy network) from its SQLite file to PostgreSQL with hepd
// copy: the copy checks itself (audit trails verified on both sides, row
// counts, every patient's sync state); a second copy into the now
// non-empty database is refused; hepd serves the copy, where the admin
// signs in with the old password and every phone, with the cursor it got
// from the SQLite hepd, syncs without a reset and converges.
func TestCopyFromSQLite(t *testing.T) {
	target := pgDatabase(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "hep.db")
	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}
	srv := startServer(t, db)

	sim := filepath.Join(dir, "phonesim")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", sim, "../clients/phonesim").CombinedOutput(); err != nil {
		t.Fatalf("building phonesim: %v\n%s", err, out)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(adminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	states := filepath.Join(dir, "phones")
	if err := os.Mkdir(states, 0o700); err != nil {
		t.Fatal(err)
	}
	run := exec.CommandContext(ctx, sim, "--server", srv.addr, "--patients", "5", "--duration", "3s", "--offline-probability", "0.2",
		"--fault-rate", "0.05", "--seed", "11", "--admin-email", adminEmail, "--password-file", pwFile, "--state-dir", states)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("phonesim: %v\n%s", err, out)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("hepd exit status after SIGTERM = %d", code)
	}

	// The URL's password may not be on the command line.
	r := runHepd(t, "", "copy", "--from", db, "--to", target)
	if r.code != 2 || strings.Contains(r.stdout+r.stderr, passwordOf(t, target)) {
		t.Errorf("hepd copy --to URL-with-password = %v; want exit 2, no password printed", r)
	}
	env := []string{"HEP_COPY_TO=" + target}
	begin := time.Now()
	r = runHepdEnv(t, "", env, "copy", "--from", db)
	if r.code != 0 || !strings.Contains(r.stdout, "copied") || !strings.Contains(r.stdout, "sync state equal for every patient") {
		t.Fatalf("hepd copy = %v", r)
	}
	t.Logf("%s (%v)", strings.TrimSpace(r.stdout), time.Since(begin).Round(time.Millisecond))
	if !strings.Contains(r.stdout, " 5 patients") {
		t.Errorf("hepd copy moved other than phonesim's 5 patients: %s", r.stdout)
	}
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("hepd copy drew a progress bar on a pipe: %q", r.stderr)
	}
	r = runHepdEnv(t, "", env, "copy", "--from", db)
	if r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("a second hepd copy into the same database = %v; want exit 1, not empty", r)
	}
	if r := runHepdDB(t, "", target, []string{"audit", "verify"}); r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("hepd audit verify on the copy: %v", r)
	}

	pgSrv := startServer(t, target)
	a := newAPI(pgSrv.dial(t))
	in, err := a.auth.SignIn(callCtx(t, "", ""), &hepv1.SignInRequest{Email: adminEmail, Password: adminPassword})
	must(t, "admin SignIn on the copy", err)
	accts, err := a.account.ListAccounts(callCtx(t, in.GetTokens().GetAccessToken(), ""), &hepv1.ListAccountsRequest{PageSize: 100})
	must(t, "ListAccounts on the copy", err)
	if len(accts.GetAccounts()) != 2 { // the admin and phonesim's clinician
		t.Errorf("the copy holds %d accounts, want 2", len(accts.GetAccounts()))
	}
	phones, err := filepath.Glob(filepath.Join(states, "*"))
	if err != nil || len(phones) != 5 {
		t.Fatalf("phone state files: %v, %v; want 5", phones, err)
	}
	for _, state := range phones {
		ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
		c, err := hepclient.Dial(ctx, pgSrv.addr, hepclient.Options{StatePath: state})
		if err != nil {
			cancel()
			t.Fatalf("hepclient.Dial %s: %v", filepath.Base(state), err)
		}
		res, err := c.Sync(ctx)
		c.Close()
		cancel()
		if err != nil || !res.Converged || res.Reset || res.Lost != 0 || res.Resent != 0 || res.Renumbered != 0 {
			t.Errorf("phone %s on the copy: Sync = %+v, %v; want converged with no repair or reset", filepath.Base(state), res, err)
		}
	}
}
