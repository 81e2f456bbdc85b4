package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestClinicWorkflow walks the commands an admin and two clinicians use, in
// order, against a real server.
func TestClinicWorkflow(t *testing.T) {
	s := startServer(t)
	adminDir, drDir, dr2Dir := t.TempDir(), t.TempDir(), t.TempDir()
	const drPassword, dr2Password = "clinician-password-1", "clinician-password-2"

	s.login(t, adminDir, adminEmail, adminPassword)

	out := s.ok(t, adminDir, "", "whoami")
	for _, want := range []string{adminEmail, "role:", "admin", "account id:", "session id:", s.addr} {
		if !strings.Contains(out, want) {
			t.Errorf("whoami output lacks %q:\n%s", want, out)
		}
	}
	var who hepv1.WhoAmIResponse
	unmarshal(t, s.ok(t, adminDir, "", "-o", "json", "whoami"), &who)
	if who.GetPrincipal().GetRole() != hepv1.Role_ROLE_ADMIN || who.GetPrincipal().GetAccountId() == "" {
		t.Errorf("whoami json principal = %v", who.GetPrincipal())
	}

	// One clinician's password from --password-file -, the other's from a
	// standard input that is not a terminal (no --password-file at all).
	drID := s.createClinician(t, adminDir, "dr.ana@clinic.example", drPassword)
	out = s.ok(t, adminDir, dr2Password+"\n", "accounts", "create",
		"--email", "dr.rui@clinic.example", "--name", "Dr Rui", "--role", "clinician")
	dr2ID := fieldValue(t, out, "id")
	if !strings.Contains(out, "dr.rui@clinic.example") || !strings.Contains(out, "clinician") {
		t.Errorf("accounts create output:\n%s", out)
	}

	var accounts hepv1.ListAccountsResponse
	unmarshal(t, s.ok(t, adminDir, "", "-o", "json", "accounts", "list"), &accounts)
	if len(accounts.GetAccounts()) != 3 {
		t.Errorf("accounts list: %d accounts, want 3", len(accounts.GetAccounts()))
	}
	out = s.ok(t, adminDir, "", "accounts", "list", "--role", "clinician")
	if lines := nonEmptyLines(out); len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(out, drID) || !strings.Contains(out, dr2ID) || strings.Contains(out, adminEmail) {
		t.Errorf("accounts list --role clinician:\n%s", out)
	}
	out = s.ok(t, adminDir, "", "accounts", "get", drID)
	if fieldValue(t, out, "email") != "dr.ana@clinic.example" || fieldValue(t, out, "status") != "active" {
		t.Errorf("accounts get:\n%s", out)
	}

	s.login(t, drDir, "dr.ana@clinic.example", drPassword)
	s.login(t, dr2Dir, "dr.rui@clinic.example", dr2Password)

	// Patients.
	var created hepv1.CreatePatientResponse
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "patients", "create", "--name", "Maria S.", "--tz", "Europe/Lisbon", "--mrn", "MRN-001"), &created)
	pid := created.GetPatient().GetId()
	if pid == "" || created.GetPatient().GetTimeZone() != "Europe/Lisbon" {
		t.Fatalf("patients create: %v", &created)
	}
	out = s.ok(t, drDir, "", "patients", "create", "--name", "João P.", "--tz", "America/Sao_Paulo")
	pid2 := fieldValue(t, out, "id")
	if fieldValue(t, out, "mrn") != "-" {
		t.Errorf("patients create without --mrn shows mrn %q", fieldValue(t, out, "mrn"))
	}

	var list hepv1.ListPatientsResponse
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "patients", "list"), &list)
	if len(list.GetPatients()) != 2 || list.GetNextPageToken() != "" {
		t.Fatalf("patients list: %v", &list)
	}
	p := list.GetPatients()[0]
	if p.GetId() != pid || p.GetDisplayName() != "Maria S." || p.GetTimeZone() != "Europe/Lisbon" ||
		p.GetExternalMrn() != "MRN-001" || p.GetCreateTime() == nil {
		t.Errorf("patients list [0] = %v", p)
	}
	out = s.ok(t, drDir, "", "patients", "list")
	if lines := nonEmptyLines(out); len(lines) != 3 || !regexp.MustCompile(`^ID\s+NAME\s+TIME ZONE\s+MRN\s+CREATED$`).MatchString(lines[0]) {
		t.Errorf("patients list table:\n%s", out)
	}
	// The other clinician is on neither care team.
	if out := s.ok(t, dr2Dir, "", "patients", "list"); len(nonEmptyLines(out)) != 1 {
		t.Errorf("dr2 sees patients:\n%s", out)
	}

	out = s.ok(t, drDir, "", "patients", "get", pid)
	if fieldValue(t, out, "name") != "Maria S." || fieldValue(t, out, "time zone") != "Europe/Lisbon" {
		t.Errorf("patients get:\n%s", out)
	}

	// Only the flags given change; flags may follow the id.
	var updated hepv1.UpdatePatientResponse
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "patients", "update", pid, "--tz", "America/New_York"), &updated)
	if u := updated.GetPatient(); u.GetTimeZone() != "America/New_York" || u.GetDisplayName() != "Maria S." || u.GetExternalMrn() != "MRN-001" {
		t.Errorf("patients update --tz: %v", u)
	}
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "patients", "update", "--mrn", "", pid), &updated)
	if u := updated.GetPatient(); u.GetExternalMrn() != "" || u.GetTimeZone() != "America/New_York" {
		t.Errorf("patients update --mrn '': %v", u)
	}

	// Enrollment codes: table and JSON shapes, then a real enrollment.
	out = s.ok(t, drDir, "", "enroll-code", pid)
	m := regexp.MustCompile(`^([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})  \(expires (\S+)\)\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("enroll-code output = %q", out)
	}
	if exp, err := time.Parse(time.RFC3339, m[2]); err != nil || exp.Sub(time.Now()) < 23*time.Hour || exp.Sub(time.Now()) > 25*time.Hour {
		t.Errorf("enroll-code expiry %q (err %v), want about 24h from now", m[2], err)
	}
	var code struct {
		Code       string `json:"code"`
		ExpireTime string `json:"expire_time"`
	}
	decodeJSON(t, s.ok(t, drDir, "", "-o", "json", "enroll-code", pid, "--ttl", "30m"), &code)
	if !regexp.MustCompile(`^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$`).MatchString(code.Code) {
		t.Errorf("enroll-code json code = %q", code.Code)
	}
	if exp, err := time.Parse(time.RFC3339, code.ExpireTime); err != nil || exp.Sub(time.Now()) > 31*time.Minute || exp.Sub(time.Now()) < 29*time.Minute {
		t.Errorf("enroll-code --ttl 30m expire_time = %q (err %v)", code.ExpireTime, err)
	}
	dev := s.enrollDevice(t, m[1], "Maria's phone")

	var devices hepv1.ListDevicesResponse
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "devices", "list", pid), &devices)
	if len(devices.GetDevices()) != 1 || devices.GetDevices()[0].GetId() != dev.GetDeviceId() ||
		devices.GetDevices()[0].GetName() != "Maria's phone" || devices.GetDevices()[0].GetRevokeTime() != nil {
		t.Errorf("devices list: %v", &devices)
	}
	out = s.ok(t, drDir, "", "devices", "list", pid)
	if !strings.Contains(out, "Maria's phone") || !strings.Contains(out, "android") || !strings.Contains(out, "REVOKED") {
		t.Errorf("devices list table:\n%s", out)
	}
	if out := s.ok(t, drDir, "", "devices", "list", pid2); len(nonEmptyLines(out)) != 1 {
		t.Errorf("devices list of a patient without devices:\n%s", out)
	}
	out = s.ok(t, drDir, "", "devices", "revoke", pid, dev.GetDeviceId())
	if !strings.HasPrefix(out, "revoked device "+dev.GetDeviceId()) {
		t.Errorf("devices revoke: %q", out)
	}
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "devices", "list", pid), &devices)
	if devices.GetDevices()[0].GetRevokeTime() == nil {
		t.Errorf("device not revoked: %v", &devices)
	}

	// Care teams are managed by the admin.
	out = s.ok(t, adminDir, "", "careteam", "add", pid, dr2ID)
	if !strings.Contains(out, "Dr Rui") || !strings.Contains(out, pid) {
		t.Errorf("careteam add: %q", out)
	}
	out = s.ok(t, adminDir, "", "careteam", "list", pid)
	if lines := nonEmptyLines(out); len(lines) != 3 || !strings.Contains(out, drID) || !strings.Contains(out, dr2ID) {
		t.Errorf("careteam list:\n%s", out)
	}
	var members hepv1.ListCareTeamMembersResponse
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "careteam", "list", pid), &members)
	if len(members.GetMembers()) != 2 {
		t.Errorf("careteam list json: %v", &members)
	}
	s.ok(t, dr2Dir, "", "patients", "get", pid)
	s.ok(t, adminDir, "", "careteam", "remove", pid, dr2ID)
	if r := s.hepctl(t, dr2Dir, "", "patients", "get", pid); r.code != 1 || !strings.Contains(r.stderr, "hepctl: not found:") {
		t.Errorf("patients get after careteam remove: exit %d, stderr %q", r.code, r.stderr)
	}

	// Disabling an account ends its sessions.
	s.ok(t, adminDir, "", "accounts", "disable", dr2ID)
	if r := s.hepctl(t, dr2Dir, "", "patients", "list"); r.code != 1 || !strings.Contains(r.stderr, "hepctl login") {
		t.Errorf("disabled clinician: exit %d, stderr %q", r.code, r.stderr)
	}
	out = s.ok(t, adminDir, "", "accounts", "enable", dr2ID)
	if !strings.HasPrefix(out, "enabled account dr.rui@clinic.example") {
		t.Errorf("accounts enable: %q", out)
	}

	// The audit trail has recorded all of it.
	from := time.Now().Add(-time.Hour).Format(time.RFC3339)
	var audit hepv1.ListAuditEventsResponse
	unmarshal(t, s.ok(t, adminDir, "", "-o", "json", "audit", "list", "--from", from, "--to", time.Now().Add(time.Hour).Format(time.RFC3339), "--all"), &audit)
	actions := map[string]int{}
	for _, e := range audit.GetEvents() {
		actions[e.GetAction()]++
	}
	for _, want := range []string{"auth.sign_in", "account.create", "patient.create", "patient.update", "device.create_enrollment_code", "care_team.add", "device.revoke"} {
		if actions[want] == 0 {
			t.Errorf("audit list has no %s event (actions: %v)", want, actions)
		}
	}
	var byPatient hepv1.ListAuditEventsResponse
	unmarshal(t, s.ok(t, adminDir, "", "-o", "json", "audit", "list", "--from", time.Now().Format(dateLayout), "--to", time.Now().Format(dateLayout), "--patient", pid2), &byPatient)
	if len(byPatient.GetEvents()) == 0 {
		t.Errorf("audit list --patient found nothing")
	}
	for _, e := range byPatient.GetEvents() {
		if e.GetPatientId() != pid2 {
			t.Errorf("audit list --patient %s returned an event for %q", pid2, e.GetPatientId())
		}
	}
	out = s.ok(t, adminDir, "", "audit", "list", "--page-size", "2")
	if lines := nonEmptyLines(out); len(lines) != 3 || !strings.HasPrefix(lines[0], "SEQ") {
		t.Errorf("audit list table:\n%s", out)
	}

	// Logout revokes the session and forgets it.
	if out := s.ok(t, drDir, "", "logout"); out != "signed out\n" {
		t.Errorf("logout: %q", out)
	}
	if _, err := os.Stat(filepath.Join(drDir, credentialsName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("credentials still there after logout: %v", err)
	}
	if r := s.hepctl(t, drDir, "", "whoami"); r.code != 1 || !strings.Contains(r.stderr, "run hepctl login") {
		t.Errorf("whoami after logout: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestPagination(t *testing.T) {
	s := startServer(t)
	adminDir, drDir := t.TempDir(), t.TempDir()
	s.login(t, adminDir, adminEmail, adminPassword)
	s.createClinician(t, adminDir, "dr@clinic.example", "clinician-password")
	s.login(t, drDir, "dr@clinic.example", "clinician-password")
	for _, name := range []string{"A", "B", "C"} {
		s.ok(t, drDir, "", "patients", "create", "--name", "Patient "+name, "--tz", "UTC")
	}

	r := s.hepctl(t, drDir, "", "patients", "list", "--page-size", "2")
	m := regexp.MustCompile(`next page: hepctl patients list --page-token (\S+)`).FindStringSubmatch(r.stderr)
	if r.code != 0 || len(nonEmptyLines(r.stdout)) != 3 || m == nil {
		t.Fatalf("first page: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = s.hepctl(t, drDir, "", "patients", "list", "--page-size", "2", "--page-token", m[1])
	if r.code != 0 || !strings.Contains(r.stdout, "Patient C") || len(nonEmptyLines(r.stdout)) != 2 || r.stderr != "" {
		t.Fatalf("second page: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	var all hepv1.ListPatientsResponse
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "patients", "list", "--page-size", "1", "--all"), &all)
	if len(all.GetPatients()) != 3 || all.GetNextPageToken() != "" {
		t.Errorf("--all: %v", &all)
	}
	var page hepv1.ListPatientsResponse
	unmarshal(t, s.ok(t, drDir, "", "-o", "json", "patients", "list", "--page-size", "1"), &page)
	if len(page.GetPatients()) != 1 || page.GetNextPageToken() == "" {
		t.Errorf("one json page: %v", &page)
	}
	var accounts hepv1.ListAccountsResponse
	unmarshal(t, s.ok(t, adminDir, "", "-o", "json", "accounts", "list", "--page-size", "1", "--all"), &accounts)
	if len(accounts.GetAccounts()) != 2 {
		t.Errorf("accounts list --all: %v", &accounts)
	}
}

// TestErrors checks exit codes and that errors are readable and on stderr.
func TestErrors(t *testing.T) {
	s := startServer(t)
	adminDir, drDir, emptyDir := t.TempDir(), t.TempDir(), t.TempDir()
	s.login(t, adminDir, adminEmail, adminPassword)
	s.createClinician(t, adminDir, "dr@clinic.example", "clinician-password")
	s.login(t, drDir, "dr@clinic.example", "clinician-password")
	pid := fieldValue(t, s.ok(t, drDir, "", "patients", "create", "--name", "P", "--tz", "UTC"), "id")

	tests := []struct {
		name       string
		dir, stdin string
		args       []string
		code       int
		stderr     []string // substrings
	}{
		{"bad time zone names the field", drDir, "", []string{"patients", "create", "--name", "X", "--tz", "Mars/Olympus"}, 1,
			[]string{"hepctl: invalid argument: time_zone: "}},
		{"bad time zone on update", drDir, "", []string{"patients", "update", pid, "--tz", "Nowhere"}, 1,
			[]string{"hepctl: invalid argument: time_zone: "}},
		{"several violations, one per line", adminDir, "short\n", []string{"accounts", "create", "--email", "not-an-email", "--name", "N", "--password-file", "-"}, 1,
			[]string{"hepctl: invalid argument: email: ", "\nhepctl: invalid argument: password: "}},
		{"no credentials", emptyDir, "", []string{"patients", "list"}, 1, []string{"run hepctl login"}},
		{"no credentials whoami", emptyDir, "", []string{"whoami"}, 1, []string{"not signed in: run hepctl login"}},
		{"wrong password", emptyDir, "wrong-password-123\n", []string{"login", "--email", adminEmail}, 1,
			[]string{"hepctl: unauthenticated: email or password is wrong"}},
		{"password flag does not exist", emptyDir, "", []string{"login", "--email", adminEmail, "--password", "secret-secret"}, 2,
			[]string{"passwords are never accepted as flag values"}},
		{"password flag does not exist on accounts create", adminDir, "", []string{"accounts", "create", "--email", "x@clinic.example", "--name", "X", "--password=secret-secret"}, 2,
			[]string{"-password"}},
		{"clinician may not list accounts", drDir, "", []string{"accounts", "list"}, 1, []string{"hepctl: permission denied:"}},
		{"admin may not read patients", adminDir, "", []string{"patients", "list"}, 1, []string{"hepctl: permission denied:"}},
		{"unknown patient", drDir, "", []string{"patients", "get", "00000000-0000-4000-8000-000000000000"}, 1, []string{"hepctl: not found:"}},
		{"malformed id", drDir, "", []string{"patients", "get", "nope"}, 1, []string{"hepctl: invalid argument: patient_id:"}},
		{"unknown command", drDir, "", []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{"unknown subcommand", drDir, "", []string{"patients", "frobnicate"}, 2, []string{`unknown command "patients frobnicate"`}},
		{"group without subcommand", drDir, "", []string{"patients"}, 2, []string{"patients needs a subcommand"}},
		{"missing argument", drDir, "", []string{"patients", "get"}, 2, []string{"missing PATIENT_ID"}},
		{"extra argument", drDir, "", []string{"careteam", "list", "a", "b"}, 2, []string{`unexpected argument "b"`}},
		{"missing required flag", drDir, "", []string{"patients", "create", "--name", "X"}, 2, []string{"--tz are required"}},
		{"nothing to update", drDir, "", []string{"patients", "update", "x"}, 2, []string{"nothing to change"}},
		{"bad role", adminDir, "", []string{"accounts", "create", "--email", "x@clinic.example", "--name", "X", "--role", "patient"}, 2, []string{"--role must be clinician or admin"}},
		{"bad output format", drDir, "", []string{"-o", "yaml", "patients", "list"}, 2, []string{"-o must be table or json"}},
		{"bad audit time", adminDir, "", []string{"audit", "list", "--from", "yesterday"}, 2, []string{"--from"}},
		{"audit range backwards", adminDir, "", []string{"audit", "list", "--from", "2025-03-02", "--to", "2025-02-01"}, 2, []string{"--to must be after --from"}},
		{"ttl below a second", drDir, "", []string{"enroll-code", pid, "--ttl", "500ms"}, 2, []string{"--ttl"}},
		{"ttl out of the server's range", drDir, "", []string{"enroll-code", pid, "--ttl", "1000h"}, 1, []string{"hepctl: invalid argument: ttl_seconds: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.hepctl(t, tt.dir, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty on error: %q", r.stdout)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(emptyDir, credentialsName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed login left credentials behind: %v", err)
	}
}

// TestTokenRefresh makes the cached access token look expired: the next
// command must refresh, use the new token and save the rotated pair.
func TestTokenRefresh(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	s.login(t, dir, adminEmail, adminPassword)
	before := readCredentials(t, dir)

	expired := before
	expired.AccessExpireTime = time.Now().Add(-time.Minute)
	writeCredentials(t, dir, expired)
	s.ok(t, dir, "", "whoami")
	after := readCredentials(t, dir)
	// (The access token itself may be byte-identical when issued within the
	// same second for the same session.)
	if after.RefreshToken == before.RefreshToken {
		t.Errorf("refresh token not rotated")
	}
	if !after.AccessExpireTime.After(time.Now().Add(time.Minute)) {
		t.Errorf("new access token expires %v", after.AccessExpireTime)
	}
	if after.Email != adminEmail || after.Server != s.addr || after.Role != "ROLE_ADMIN" {
		t.Errorf("refresh lost fields: %+v", after)
	}
	assertPrivate(t, dir, false)
	if _, err := os.Stat(filepath.Join(dir, credentialsName+".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refresh left its lock file: %v", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".credentials-*")); len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}

	// A token within the 30 s margin is refreshed too; a fresh one is not.
	soon := after
	soon.AccessExpireTime = time.Now().Add(10 * time.Second)
	writeCredentials(t, dir, soon)
	s.ok(t, dir, "", "whoami")
	if again := readCredentials(t, dir); again.RefreshToken == after.RefreshToken {
		t.Errorf("token expiring in 10s not refreshed")
	}
	fresh := readCredentials(t, dir)
	s.ok(t, dir, "", "whoami")
	if again := readCredentials(t, dir); again.RefreshToken != fresh.RefreshToken {
		t.Errorf("fresh token refreshed needlessly")
	}

	// A rejected refresh token ends the cached session.
	bad := readCredentials(t, dir)
	bad.AccessExpireTime = time.Now().Add(-time.Minute)
	bad.RefreshToken = "not-a-real-refresh-token"
	writeCredentials(t, dir, bad)
	r := s.hepctl(t, dir, "", "whoami")
	if r.code != 1 || !strings.Contains(r.stderr, "hepctl: session expired: run hepctl login") {
		t.Errorf("rejected refresh: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, credentialsName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("credentials kept after a rejected refresh: %v", err)
	}
}

func TestCredentialsFile(t *testing.T) {
	s := startServer(t)
	dir := filepath.Join(t.TempDir(), "nested", "hep") // hepctl creates it
	s.login(t, dir, adminEmail, adminPassword)
	assertPrivate(t, dir, true)
	c := readCredentials(t, dir)
	if c.Server != s.addr || c.AccessToken == "" || c.RefreshToken == "" || c.AccessExpireTime.Before(time.Now()) {
		t.Errorf("credentials = %+v", c)
	}
	// A second login rewrites it, still private.
	s.login(t, dir, adminEmail, adminPassword)
	assertPrivate(t, dir, true)
	if readCredentials(t, dir).RefreshToken == c.RefreshToken {
		t.Errorf("second login did not replace the tokens")
	}

	// Cached credentials of another server are not sent elsewhere.
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"--server", "127.0.0.1:1", "--config-dir", dir, "whoami"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "not signed in to 127.0.0.1:1") {
		t.Errorf("other server: exit %d, stderr %q", code, stderr.String())
	}
}

// TestConfigResolution: without --server, HEP_SERVER wins over config.json,
// which wins over the default.
func TestConfigResolution(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	runNoServer := func(args ...string) result {
		var stdout, stderr strings.Builder
		code := run(t.Context(), append([]string{"--config-dir", dir, "--timeout", "5s"}, args...), strings.NewReader(adminPassword+"\n"), &stdout, &stderr)
		return result{code, stdout.String(), stderr.String()}
	}
	if err := os.WriteFile(filepath.Join(dir, configFileName), []byte(`{"server": "`+s.addr+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runNoServer("login", "--email", adminEmail); r.code != 0 {
		t.Fatalf("login via config.json: %+v", r)
	}
	if c := readCredentials(t, dir); c.Server != s.addr {
		t.Errorf("credentials server %q", c.Server)
	}
	t.Setenv("HEP_SERVER", "127.0.0.1:1")
	if r := runNoServer("whoami"); r.code != 1 || !strings.Contains(r.stderr, "not signed in to 127.0.0.1:1") {
		t.Errorf("HEP_SERVER not preferred: %+v", r)
	}
	t.Setenv("HEP_SERVER", "")
	t.Setenv("HEP_CONFIG_DIR", dir)
	var stdout, stderr strings.Builder
	if code := run(t.Context(), []string{"whoami"}, strings.NewReader(""), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), adminEmail) {
		t.Errorf("HEP_CONFIG_DIR: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestOfflineCommands(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string // substring
	}{
		{[]string{"version"}, 0, "hepctl dev"},
		{[]string{"help"}, 0, "patients update"},
		{[]string{"-h"}, 0, "Global flags"},
		{[]string{"help", "patients", "update"}, 0, "usage: hepctl patients update PATIENT_ID [--name N] [--tz ZONE] [--mrn M]"},
		{[]string{"patients", "update", "-h"}, 0, `--mrn "" clears the MRN`},
		{[]string{"login", "-h"}, 0, "-password-file"},
		{[]string{"accounts", "-h"}, 0, "hepctl accounts disable ACCOUNT_ID"},
		{[]string{"audit", "list", "--help"}, 0, "a date given to --to includes that whole day"},
		{[]string{"plan", "set", "-h"}, 0, `{"exercise_id": "cat-cow",`},
		{[]string{"plan", "-h"}, 0, "hepctl plan clear PATIENT_ID EXERCISE_ID [--flag FLAG] --reason R"},
		{[]string{"help", "screening", "set"}, 0, "usage: hepctl screening set PATIENT_ID FLAG=STATUS... [--note N]"},
		{[]string{"red-flags", "-h"}, 0, "saddle_numbness"},
		{[]string{}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("exit %d (want %d), stdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
		})
	}
}

// assertPrivate checks the credentials file is 0600 and, when hepctl created
// the directory, that it is 0700.
func assertPrivate(t *testing.T, dir string, createdDir bool) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(filepath.Join(dir, credentialsName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials mode %v, want 0600", fi.Mode().Perm())
	}
	if !createdDir {
		return
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("config dir mode %v, want 0700", di.Mode().Perm())
	}
}

func unmarshal(t *testing.T, s string, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal([]byte(s), m); err != nil {
		t.Fatalf("not protojson: %v\n%s", err, s)
	}
}

// fieldValue returns the value of a "name: value" line of a fields table.
func fieldValue(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in:\n%s", name, out)
	return ""
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
