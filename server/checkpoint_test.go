package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/sqlite"
)

// TestAuditCheckpoints runs hepd with an audit key: it writes signed
// checkpoints while serving and at shutdown; "hepd audit verify" without a
// checkpoint cannot see a cut-off tail and says so, with the checkpoints it
// names the first missing event; "hepd audit checkpoint" prints one that
// verifies.
func TestAuditCheckpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, vkey := filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.pub")
	r := runHepd(t, "", "audit", "keygen", "--name", "test-clinic", "--out", key)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "test-clinic+") {
		t.Fatalf("hepd audit keygen: %v", r)
	}
	must(t, "writing the verifier key", os.WriteFile(vkey, []byte(r.stdout), 0o644))
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signer key file: %v, %v; want mode 0600", fi, err)
	}
	if r := runHepd(t, "", "audit", "keygen", "--out", key); r.code == 0 {
		t.Errorf("keygen over an existing key succeeded: %v", r)
	}

	cps := filepath.Join(dir, "checkpoints")
	db := filepath.Join(dir, "hep.db")
	if r := createAdmin(t, db); r.code != 0 {
		t.Fatalf("hepd admin create: %v", r)
	}
	c := &clinic{srv: startServer(t, db, "--audit-key-file", key, "--audit-checkpoint-file", cps, "--audit-checkpoint-interval", "200ms")}
	c.api = newAPI(c.srv.dial(t))
	c.signInAll(t)
	c.createPatient(t, "P1")
	// A periodic checkpoint arrives while serving.
	if !waitFor(10*time.Second, func() bool { b, _ := os.ReadFile(cps); return strings.Count(string(b), "hep audit checkpoint v1") >= 1 }) {
		t.Fatalf("no checkpoint written within 10 s\n%s", tail(c.srv.stderr.String(), 4096))
	}
	for i := range 3 {
		c.createPatient(t, fmt.Sprint("P", i+2))
	}
	if code := c.srv.stop(); code != 0 {
		t.Fatalf("hepd exit status %d", code)
	}
	if !strings.Contains(c.srv.stderr.String(), `"msg":"audit checkpoint"`) {
		t.Errorf("checkpoints are not logged")
	}

	// The final checkpoint covers every event: the trail as it stands.
	r = runHepd(t, "", "audit", "verify", "--db", db, "--checkpoint", cps, "--verifier-key", vkey)
	if r.code != 0 || !strings.Contains(r.stdout, "agrees with") {
		t.Fatalf("verify of an untouched trail: %v", r)
	}
	n := strings.Count(readFile(t, cps), "hep audit checkpoint v1")
	if n < 2 {
		t.Errorf("%d checkpoints, want a periodic one and the final one", n)
	}
	last := lastCheckpoint(t, cps, vkey)
	mainSeq := int64(0)
	for _, h := range last.Heads {
		if h.Chain == hep.ChainMain {
			mainSeq = h.Seq
		}
	}

	// "hepd audit checkpoint" signs the same heads.
	r = runHepd(t, "", "audit", "checkpoint", "--db", db, "--audit-key-file", key)
	if r.code != 0 {
		t.Fatalf("hepd audit checkpoint: %v", r)
	}
	v, _ := hep.NewCheckpointVerifier(readFile(t, vkey))
	one, err := hep.ParseCheckpoints([]byte(r.stdout), v)
	if err != nil || !one[0].SameHeads(last) {
		t.Errorf("hepd audit checkpoint = %v, %v; want the heads of the final checkpoint %+v", one, err, last)
	}

	// Cut the last two events of the main chain, as someone with the file
	// can.
	raw, err := sql.Open("sqlite", db)
	must(t, "opening the database", err)
	for _, q := range []string{"DROP TRIGGER audit_events_no_delete", fmt.Sprintf("DELETE FROM audit_events WHERE seq > %d", mainSeq-2)} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	r = runHepd(t, "", "audit", "verify", "--db", db)
	if r.code != 0 || !strings.Contains(r.stdout, "no checkpoint given") {
		t.Errorf("verify without a checkpoint: %v; want OK with the warning that a cut tail cannot be seen", r)
	}
	r = runHepd(t, "", "audit", "verify", "--db", db, "--checkpoint", cps, "--verifier-key", vkey)
	want := fmt.Sprintf("audit chain main BROKEN at sequence %d", mainSeq-1)
	if r.code != 1 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "missing") {
		t.Errorf("verify with the checkpoints: %v\nwant exit 1 and %q", r, want)
	}
	// The key itself can also come from the environment (not shown here:
	// hepdEnv drops HEP_*), and a checkpoint file needs a verifier key.
	if r := runHepd(t, "", "audit", "verify", "--db", db, "--checkpoint", cps); r.code != 2 {
		t.Errorf("verify --checkpoint without a verifier key: %v; want a usage error", r)
	}
	// A forged checkpoint is refused outright.
	forged := strings.Replace(readFile(t, cps), "head main", "head main 1", 1)
	bad := filepath.Join(dir, "forged")
	must(t, "writing", os.WriteFile(bad, []byte(forged), 0o600))
	if r := runHepd(t, "", "audit", "verify", "--db", db, "--checkpoint", bad, "--verifier-key", vkey); r.code != 1 ||
		!regexp.MustCompile(`checkpoint \d+`).MatchString(r.stderr) {
		t.Errorf("verify with a forged checkpoint: %v; want it refused", r)
	}

	// Restarting on the cut database: hepd reports the mismatch at start.
	s := startServer(t, db, "--audit-key-file", key, "--audit-checkpoint-file", cps)
	if !waitFor(5*time.Second, func() bool { return strings.Contains(s.stderr.String(), "DOES NOT MATCH THE LAST CHECKPOINT") }) {
		t.Errorf("hepd started on a cut trail without saying so:\n%s", tail(s.stderr.String(), 4096))
	}
	s.stop()

	// Serving without a key says checkpoints are off.
	s = startServer(t, filepath.Join(dir, "other.db"))
	if !waitFor(5*time.Second, func() bool { return strings.Contains(s.stderr.String(), "audit checkpoints are off") }) {
		t.Errorf("no warning that checkpoints are off:\n%s", tail(s.stderr.String(), 4096))
	}
	s.stop()
	if _, err := os.Stat(sqlite.ReadsPath(db)); err != nil {
		t.Errorf("the reads file: %v", err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, "reading "+p, err)
	return string(b)
}

func lastCheckpoint(t *testing.T, file, vkeyFile string) hep.Checkpoint {
	t.Helper()
	v, err := hep.NewCheckpointVerifier(readFile(t, vkeyFile))
	must(t, "verifier key", err)
	cps, err := hep.ParseCheckpoints([]byte(readFile(t, file)), v)
	must(t, "parsing checkpoints", err)
	return cps[len(cps)-1]
}
