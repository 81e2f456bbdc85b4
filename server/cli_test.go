//go:build unix

package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestAuditTamper changes one audit row behind hepd's back and expects
// "hepd audit verify" to name it.
func TestAuditTamper(t *testing.T) {
	t.Parallel()
	c := newClinic(t, t.TempDir())
	for i := range 4 {
		c.createPatient(t, fmt.Sprintf("Patient %d", i))
	}
	if code := c.srv.stop(); code != 0 {
		t.Fatalf("hepd serve exit status after SIGTERM = %d, want 0", code)
	}
	db := c.srv.db

	r := runHepd(t, "", "audit", "verify", "--db", db)
	if r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Fatalf("hepd audit verify on an untouched trail: %v", r)
	}

	sqldb, err := sql.Open("sqlite", db)
	must(t, "opening the database", err)
	defer sqldb.Close()
	seqCol := auditSeqColumn(t, sqldb)
	var seqs []int64
	rows, err := sqldb.Query(fmt.Sprintf("SELECT %q FROM audit_events ORDER BY 1", seqCol))
	must(t, "reading audit sequence numbers", err)
	for rows.Next() {
		var s int64
		must(t, "scanning a sequence number", rows.Scan(&s))
		seqs = append(seqs, s)
	}
	must(t, "reading audit sequence numbers", rows.Err())
	rows.Close()
	if len(seqs) < 5 {
		t.Fatalf("only %d audit events after sign-ins and 4 patients", len(seqs))
	}
	victim := seqs[len(seqs)/2]
	update := fmt.Sprintf("UPDATE audit_events SET outcome = 'OK_TAMPERED' WHERE %q = ?", seqCol)

	// The trail is append-only: an UPDATE fails while the trigger is there.
	if _, err := sqldb.Exec(update, victim); err == nil {
		t.Errorf("UPDATE of audit_events succeeded; want it refused by a trigger")
	}
	var triggers []string
	rows, err = sqldb.Query(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'`)
	must(t, "listing triggers", err)
	for rows.Next() {
		var name, text string
		must(t, "scanning a trigger", rows.Scan(&name, &text))
		if updateTrigger.MatchString(text) {
			triggers = append(triggers, name)
		}
	}
	must(t, "listing triggers", rows.Err())
	rows.Close()
	if len(triggers) == 0 {
		t.Fatalf("no UPDATE trigger on audit_events")
	}
	for _, name := range triggers {
		if _, err := sqldb.Exec(fmt.Sprintf("DROP TRIGGER %q", name)); err != nil {
			t.Fatalf("DROP TRIGGER %s: %v", name, err)
		}
	}
	res, err := sqldb.Exec(update, victim)
	must(t, "tampering", err)
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tampering changed %d rows, want 1", n)
	}
	must(t, "closing the database", sqldb.Close())

	r = runHepd(t, "", "audit", "verify", "--db", db)
	if r.code != 1 {
		t.Errorf("hepd audit verify on a tampered trail: exit %d, want 1\n%v", r.code, r)
	}
	m := regexp.MustCompile(`sequence (\d+)`).FindStringSubmatch(r.stdout + r.stderr)
	if m == nil {
		t.Fatalf("hepd audit verify does not name a sequence number:\n%v", r)
	}
	if got, _ := strconv.ParseInt(m[1], 10, 64); got != victim {
		t.Errorf("hepd audit verify names sequence %d, want %d (the changed row)\n%v", got, victim, r)
	}
}

// updateTrigger matches the CREATE TRIGGER text of an UPDATE trigger.
var updateTrigger = regexp.MustCompile(`(?i)\b(BEFORE|AFTER|INSTEAD\s+OF)\s+UPDATE\b`)

// auditSeqColumn finds the sequence column of audit_events.
func auditSeqColumn(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM pragma_table_info('audit_events')`)
	must(t, "reading audit_events columns", err)
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name string
		must(t, "scanning a column", rows.Scan(&name))
		cols = append(cols, name)
	}
	for _, want := range []string{"seq", "sequence"} {
		for _, c := range cols {
			if strings.EqualFold(c, want) {
				return c
			}
		}
	}
	t.Fatalf("audit_events has no seq or sequence column: %v", cols)
	return ""
}

// TestVersionAndUsage runs the commands that do not serve.
func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	if r := runHepd(t, "", "version"); r.code != 0 || r.stdout != "hepd "+testVersion+"\n" {
		t.Errorf("hepd version: %v\nwant stdout %q", r, "hepd "+testVersion+"\n")
	}
	if r := runHepd(t, "", "help"); r.code != 0 || !strings.Contains(r.stdout, "audit verify") {
		t.Errorf("hepd help: %v", r)
	}
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"admin"},
		{"admin", "delete"},
		{"audit"},
		{"serve", "--no-such-flag"},
		{"serve", "--tls-cert", filepath.Join(dir, "cert.pem")},
		{"migrate", "extra-argument"},
		{"backup", "--db", filepath.Join(dir, "x.db")},
	} {
		if r := runHepd(t, "", args...); r.code != 2 {
			t.Errorf("hepd %s: exit %d, want 2\n%v", strings.Join(args, " "), r.code, r)
		}
	}

	db := filepath.Join(dir, "hep.db")
	r := runHepd(t, "", "migrate", "--db", db)
	if r.code != 0 || !strings.Contains(r.stdout, "applied migration") {
		t.Errorf("hepd migrate on a new database: %v", r)
	}
	if r := runHepd(t, "", "migrate", "--db", db); r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("hepd migrate, again: %v", r)
	}

	// A bad admin is a usage error and creates nothing.
	if r := runHepd(t, "short\n", "admin", "create", "--db", db, "--email", adminEmail, "--password-file", "-"); r.code != 2 {
		t.Errorf("hepd admin create with a short password: %v", r)
	}
	if r := runHepd(t, adminPassword+"\n", "admin", "create", "--db", db, "--email", "not-an-email", "--password-file", "-"); r.code != 2 {
		t.Errorf("hepd admin create with a bad email: %v", r)
	}
	pwFile := filepath.Join(dir, "pw")
	must(t, "writing the password file", os.WriteFile(pwFile, []byte(adminPassword+"\n"), 0o600))
	if r := runHepd(t, "", "admin", "create", "--db", db, "--email", adminEmail, "--password-file", pwFile); r.code != 0 || !strings.Contains(r.stdout, "created") {
		t.Fatalf("hepd admin create --password-file FILE: %v", r)
	}

	// A backup is a database hepd accepts, with the same data.
	out := filepath.Join(dir, "backup.db")
	if r := runHepd(t, "", "backup", "--db", db, "--out", out); r.code != 0 {
		t.Fatalf("hepd backup: %v", r)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("hepd backup wrote no file: %v", err)
	}
	if r := runHepd(t, "", "backup", "--db", db, "--out", out); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("hepd backup over an existing file: %v", r)
	}
	r = runHepd(t, "", "audit", "verify", "--db", out)
	if r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Errorf("hepd audit verify of the backup: %v", r)
	}
	if !strings.Contains(r.stdout, "1 events") {
		t.Errorf("hepd audit verify of the backup: want the admin bootstrap's 1 event\n%v", r)
	}
	if r := createAdmin(t, out); r.code != 0 || !strings.Contains(r.stdout, "already exists") {
		t.Errorf("hepd admin create on the backup: want the admin to exist there\n%v", r)
	}
}
