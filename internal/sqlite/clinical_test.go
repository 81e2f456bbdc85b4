package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestClinicalQueryPlans checks with EXPLAIN QUERY PLAN that the clinical
// core's per-patient queries search an index rather than scan a table: each
// runs on every screening change, plan write or page of a list.
func TestClinicalQueryPlans(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "hep.db"))
	checkQueryPlans(t, s, []queryPlanTest{
		{"current screening", screeningQuery, 1, []string{"screening_answers_current", "INDEX sqlite_autoindex_screening_answers_1"}},
		{"screening history", historyQuery(false), 3, []string{"screening_answers_patient"}},
		{"screening history by flag", historyQuery(true), 4, []string{"screening_answers_flag"}},
		{"live clearances", liveQuery, 1, []string{"clearances_live"}},
		{"clearances", clearancesQuery, 1, []string{"clearances_patient"}},
		{"decision trail", decisionsQuery, 3, []string{"gating_decisions_patient"}},
		{"alerts", alertsQuery(false), 3, []string{"alerts_patient"}},
		{"alerts by status", alertsQuery(true), 4, []string{"alerts_patient_status"}},
		{"one alert", alertQuery, 2, []string{"sqlite_autoindex_alerts_1"}},
		{"open red flags", openRedFlagsQuery, 1, []string{"alerts_open_key"}},
		{"current version", versionQuery, 1, []string{"PRIMARY KEY"}},
		{"plan items", itemsQuery, 2, []string{"PRIMARY KEY"}},
		{"item state update", `UPDATE plan_items SET state = ?, state_reasons = ?, state_time = ?
			WHERE patient_id = ? AND version = ? AND position = ?`, 6, []string{"PRIMARY KEY"}},
		{"clearance end", "UPDATE clearances SET end_time = ? WHERE id = ? AND end_time IS NULL", 2, []string{"sqlite_autoindex_clearances_1"}},
	})
}

// queryPlanTest is a query whose plan must search the named indexes.
type queryPlanTest struct {
	name, query string
	args        int
	want        []string // index names (or "PRIMARY KEY") the plan must use
}

// checkQueryPlans fails each query whose EXPLAIN QUERY PLAN scans a table
// or does not use the indexes it names.
func checkQueryPlans(t *testing.T, s *Store, tests []queryPlanTest) {
	t.Helper()
	for _, tt := range tests {
		args := make([]any, tt.args)
		for i := range args {
			args[i] = "x"
		}
		rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tt.query, args...)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := closeRows(rows); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(plan, "; ")
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN ") {
				t.Errorf("%s scans: %s", tt.name, all)
			}
		}
		for _, w := range tt.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: plan %q does not use %s", tt.name, all, w)
			}
		}
		t.Logf("%s: %s", tt.name, all)
	}
}

// TestMigrateClinicalOverExistingData upgrades a version-1 database that
// already holds a patient: the patient gets no hold, and the built-in
// catalog arrives with the schema.
func TestMigrateClinicalOverExistingData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hep.db")
	ms, err := migrations(mainMigrations)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, path)
	for _, q := range []string{
		createSchemaMigrations,
		ms[0].sql,
		"INSERT INTO schema_migrations (version, applied_time) VALUES (1, '2030-01-01T00:00:00.000000000Z')",
		`INSERT INTO patients (id, display_name, time_zone, create_time, update_time) VALUES
			('00000000-0000-7000-8000-000000000001', 'P', 'UTC', '2030-01-01T00:00:00.000000000Z', '2030-01-01T00:00:00.000000000Z')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	raw.Close()

	s := openTest(t, path)
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, LatestVersion())
	}
	p, err := s.GetPlan(t.Context(), "00000000-0000-7000-8000-000000000001", 0)
	if err != nil || p.Version != 0 || p.RedFlagHold {
		t.Errorf("GetPlan of a patient from before 0002 = %+v, %v; want no plan, no hold", p, err)
	}
	list, err := s.ListExercises(t.Context(), false)
	if err != nil || len(list) != 7 {
		t.Errorf("ListExercises after the upgrade = %d entries, %v; want the 7 built-in ones", len(list), err)
	}
	if err := s.IntegrityCheck(t.Context()); err != nil {
		t.Error(err)
	}
}
