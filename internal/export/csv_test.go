package export_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
)

// readZip parses every CSV file of an export: each must start with a BOM
// and a header row. Cells come back as written (still inert).
func readZip(t *testing.T, data []byte) map[string][][]string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][][]string{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
			t.Errorf("%s has no UTF-8 byte-order mark", f.Name)
		}
		rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out[f.Name] = rows
	}
	return out
}

// uninert undoes Inert for a cell that was made inert.
func uninert(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// table indexes a file's rows by header name.
type table struct {
	header []string
	rows   [][]string
}

func (tb table) get(row []string, col string) string {
	i := slices.Index(tb.header, col)
	if i < 0 {
		panic("no column " + col)
	}
	return uninert(row[i])
}

// TestCSVRoundTrip exports the rich fixture as CSV, parses every file back
// and compares it with the store: sessions, check-ins, screening history,
// plan items, decisions, clearances and alerts, times as RFC 3339 with the
// patient's offset (+01:00 before 2030-03-31, +02:00 after), and every
// formula-injection note inert.
func TestCSVRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hep.ExportCSV)
	files := readZip(t, e.export(t, hep.ExportCSV, 5))
	tables := map[string]table{}
	for name, header := range map[string][]string{
		export.CSVPatient: export.HeaderPatient, export.CSVSessions: export.HeaderSessions,
		export.CSVCheckins: export.HeaderCheckins, export.CSVScreening: export.HeaderScreening,
		export.CSVPlanItems: export.HeaderPlanItems, export.CSVDecisions: export.HeaderDecisions,
		export.CSVClearances: export.HeaderClearances, export.CSVAlerts: export.HeaderAlerts,
		export.CSVOccurrences: export.HeaderOccurrences,
	} {
		rows, ok := files[name]
		if !ok || len(rows) == 0 || !slices.Equal(rows[0], header) {
			t.Fatalf("%s: header %v, want %v", name, rows, header)
		}
		tables[name] = table{header, rows[1:]}
	}
	loc := e.f.Zone
	parse := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("time %q: %v", s, err)
		}
		return tm
	}
	sameSecond := func(a, b time.Time) bool { return a.Truncate(time.Second).Equal(b.Truncate(time.Second)) }
	offsets := map[string]bool{}

	// Sessions.
	logs := e.logs(t)
	st := tables[export.CSVSessions]
	if len(st.rows) != len(logs) {
		t.Fatalf("%d sessions in the CSV, %d in the store", len(st.rows), len(logs))
	}
	for i, l := range logs {
		r := st.rows[i]
		at := st.get(r, "performed_at")
		offsets[at[len(at)-6:]] = true
		if st.get(r, "id") != l.ID || !sameSecond(parse(at), l.CorrectedPerformTime) ||
			at != l.CorrectedPerformTime.In(loc).Format(time.RFC3339) ||
			!sameSecond(parse(st.get(r, "received_at")), l.ReceiveTime) ||
			st.get(r, "exercise_id") != l.ExerciseID || st.get(r, "plan_version") != strconv.FormatInt(l.PlanVersion, 10) ||
			st.get(r, "sets_done") != itoa(l.SetsDone) || st.get(r, "reps_done") != itoa(l.RepsDone) ||
			st.get(r, "pain_before") != optScore(l.PainBefore) || st.get(r, "pain_after") != optScore(l.PainAfter) ||
			st.get(r, "difficulty") != string(l.Difficulty) || st.get(r, "note") != l.Note ||
			st.get(r, "device_id") != l.DeviceID || st.get(r, "supersedes") != l.Supersedes ||
			st.get(r, "logged_while_suspended") != map[bool]string{true: "yes", false: "no"}[l.ItemSuspended] ||
			st.get(r, "counts_toward_adherence") != map[bool]string{true: "no", false: "yes"}[l.ItemSuspended] {
			t.Errorf("session %d: %v, store %+v", i, r, l)
		}
	}
	if !offsets["+01:00"] || !offsets["+02:00"] {
		t.Errorf("offsets %v: want the patient's +01:00 and +02:00", offsets)
	}

	// Check-ins.
	checkins := e.checkins(t)
	ct := tables[export.CSVCheckins]
	if len(ct.rows) != len(checkins) {
		t.Fatalf("%d check-ins in the CSV, %d in the store", len(ct.rows), len(checkins))
	}
	for i, c := range checkins {
		r := ct.rows[i]
		if ct.get(r, "id") != c.ID || !sameSecond(parse(ct.get(r, "recorded_at")), c.CorrectedRecordTime) ||
			ct.get(r, "score") != itoa(c.Score) || ct.get(r, "location") != string(c.Location) ||
			ct.get(r, "note") != c.Note || ct.get(r, "device_id") != c.DeviceID {
			t.Errorf("check-in %d: %v, store %+v", i, r, c)
		}
	}

	// Screening history: every answer before the end, oldest first.
	sc := tables[export.CSVScreening]
	if len(sc.rows) != len(e.snap.Screening) {
		t.Fatalf("%d answers in the CSV, %d in the snapshot", len(sc.rows), len(e.snap.Screening))
	}
	history, err := e.store.ListScreeningHistory(e.f.Doctor, hep.ScreeningFilter{PatientID: e.f.Patient.ID})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(history)
	for i, a := range history {
		r := sc.rows[i]
		if sc.get(r, "id") != a.ID || sc.get(r, "flag") != string(a.Flag) || sc.get(r, "status") != string(a.Status) ||
			sc.get(r, "source") != string(a.Source) || sc.get(r, "recorded_by") != a.RecordedBy || sc.get(r, "note") != a.Note ||
			!sameSecond(parse(sc.get(r, "recorded_at")), a.RecordTime) {
			t.Errorf("answer %d: %v, store %+v", i, r, a)
		}
	}

	// Plan items: both versions, as GetPlan has them.
	pt := tables[export.CSVPlanItems]
	i := 0
	for v := int64(1); v <= 2; v++ {
		pl, err := e.store.GetPlan(e.f.Doctor, e.f.Patient.ID, v)
		if err != nil {
			t.Fatal(err)
		}
		for pos, it := range pl.Items {
			if i >= len(pt.rows) {
				t.Fatalf("plan items: only %d rows", len(pt.rows))
			}
			r := pt.rows[i]
			i++
			if pt.get(r, "plan_version") != strconv.FormatInt(v, 10) || pt.get(r, "position") != strconv.Itoa(pos) ||
				pt.get(r, "exercise_id") != it.Spec.ExerciseID || pt.get(r, "state") != string(it.State) ||
				pt.get(r, "sets") != itoa(it.Spec.Dose.Sets) || pt.get(r, "reps") != itoa(it.Spec.Dose.Reps) ||
				pt.get(r, "start_date") != it.Spec.StartDate.String() || pt.get(r, "notes") != it.Spec.Notes ||
				pt.get(r, "plan_author") != pl.AuthorID || pt.get(r, "times_per_day") != itoa(it.Spec.Frequency.TimesPerDay) {
				t.Errorf("plan %d item %d: %v, store %+v", v, pos, r, it)
			}
		}
	}
	if i != len(pt.rows) {
		t.Errorf("%d plan item rows, %d items in the store", len(pt.rows), i)
	}

	// Decisions, clearances and alerts: the snapshot's, in order.
	dt := tables[export.CSVDecisions]
	if len(dt.rows) != len(e.snap.Decisions) {
		t.Errorf("%d decisions, want %d", len(dt.rows), len(e.snap.Decisions))
	}
	for i, g := range e.snap.Decisions {
		if i < len(dt.rows) && (dt.get(dt.rows[i], "id") != g.ID || dt.get(dt.rows[i], "outcome") != string(g.Decision.Outcome) ||
			dt.get(dt.rows[i], "cause") != string(g.Cause)) {
			t.Errorf("decision %d: %v", i, dt.rows[i])
		}
	}
	if cl := tables[export.CSVClearances]; len(cl.rows) != len(e.snap.Clearances) {
		t.Errorf("%d clearances, want %d", len(cl.rows), len(e.snap.Clearances))
	}
	at := tables[export.CSVAlerts]
	if len(at.rows) != len(e.snap.Alerts) {
		t.Errorf("%d alerts, want %d", len(at.rows), len(e.snap.Alerts))
	}
	acked := false
	for i, a := range e.snap.Alerts {
		r := at.rows[i]
		if at.get(r, "id") != a.ID || at.get(r, "status") != string(a.Status) || at.get(r, "acknowledgement_note") != a.AckNote {
			t.Errorf("alert %d: %v", i, r)
		}
		acked = acked || at.get(r, "acknowledged_by") == e.f.Clinician.ID
	}
	if !acked {
		t.Error("no alert acknowledged by the clinician")
	}
	// Every occurrence of the range is a row, under its alert; an alert
	// holding more than one shows the count and the latest.
	ot := tables[export.CSVOccurrences]
	if len(ot.rows) != len(e.snap.AlertOccurrences) || len(ot.rows) == 0 {
		t.Errorf("%d occurrences, want %d", len(ot.rows), len(e.snap.AlertOccurrences))
	}
	perAlert := map[string]int{}
	for i, o := range e.snap.AlertOccurrences {
		if i >= len(ot.rows) {
			break
		}
		r := ot.rows[i]
		if ot.get(r, "id") != o.ID || ot.get(r, "alert_id") != o.AlertID || ot.get(r, "kind") != string(o.Kind) ||
			ot.get(r, "trigger") != o.Trigger || !sameSecond(parse(ot.get(r, "occurred_at")), o.Time) {
			t.Errorf("occurrence %d: %v, want %+v", i, r, o)
		}
		perAlert[o.AlertID]++
	}
	several := false
	for i, a := range e.snap.Alerts {
		r := at.rows[i]
		if at.get(r, "occurrences") != itoa(a.Occurrences) || perAlert[a.ID] == 0 || perAlert[a.ID] > int(a.Occurrences) {
			t.Errorf("alert %d: occurrences %q, %d rows in %s; want %d", i, at.get(r, "occurrences"), perAlert[a.ID],
				export.CSVOccurrences, a.Occurrences)
		}
		several = several || a.Occurrences > 1
	}
	if !several {
		t.Error("no alert of the fixture holds more than one occurrence")
	}
	if p := tables[export.CSVPatient]; len(p.rows) != 1 || p.get(p.rows[0], "external_mrn") != "MRN-0042" ||
		p.get(p.rows[0], "from") != "2030-03-18" || p.get(p.rows[0], "display_name") != e.f.Patient.DisplayName {
		t.Errorf("patient.csv: %v", p.rows)
	}

	// Injection: every fixture note is in the files, and inert.
	seen := map[string]bool{}
	for name, rows := range files {
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s: live formula cell %q", name, cell)
				}
				for _, n := range e.f.InjectionNotes {
					if cell == "'"+n {
						seen[n] = true
					}
				}
			}
		}
	}
	for _, n := range e.f.InjectionNotes {
		if !seen[n] {
			t.Errorf("injection note %q is not in the export as '%s", n, n)
		}
	}

	// Nothing of the other patient, nothing outside the range.
	for name, rows := range files {
		for _, row := range rows {
			line := strings.Join(row, ",")
			for _, s := range []string{e.f.Other.ID, "other patient", "after the range", "wrong time", "typo"} {
				if strings.Contains(line, s) {
					t.Errorf("%s holds %q: %s", name, s, line)
				}
			}
		}
	}
}

func itoa[T ~int32 | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func optScore(p *int32) string {
	if p == nil {
		return ""
	}
	return itoa(*p)
}

// TestInert pins the formula-injection rule.
func TestInert(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://x","y")`: `'=HYPERLINK("http://x","y")`,
		"+1":                         "'+1", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "ok": "ok", "2030-03-18T08:00:00+01:00": "2030-03-18T08:00:00+01:00", "a=1": "a=1", "'=x": "'=x",
	} {
		if got := export.Inert(in); got != want {
			t.Errorf("Inert(%q) = %q, want %q", in, got, want)
		}
	}
}

// outcomeTables reads the two questionnaire files of a CSV export,
// checking their headers.
func outcomeTables(t *testing.T, files map[string][][]string) (table, table) {
	t.Helper()
	var out [2]table
	for i, f := range []struct {
		name   string
		header []string
	}{{export.CSVResponses, export.HeaderResponses}, {export.CSVAnswers, export.HeaderAnswers}} {
		rows, ok := files[f.name]
		if !ok || len(rows) == 0 || !slices.Equal(rows[0], f.header) {
			t.Fatalf("%s: %v, want the header %v", f.name, rows, f.header)
		}
		out[i] = table{f.header, rows[1:]}
	}
	return out[0], out[1]
}

// TestCSVOutcomes checks the fixture's PSFS series in
// questionnaire_responses.csv (scores equal hep.ScoreResponse's, the change
// from the baseline and its class against the MCID) and every answer in
// questionnaire_answers.csv, formula characters inert.
func TestCSVOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hep.ExportCSV)
	files := readZip(t, e.export(t, hep.ExportCSV, 500))
	rt, at := outcomeTables(t, files)
	psfs, _ := hep.LookupInstrument(hep.InstrumentPSFS)
	rs := e.snap.Outcomes[0].Responses
	if len(rt.rows) != len(e.f.Responses) || len(rs) != 3 {
		t.Fatalf("%d response rows, %d responses", len(rt.rows), len(e.f.Responses))
	}
	wantDelta := []string{"", "-2", "3"}
	wantRaw := []string{"", "'-2", "3"} // a negative number is inert text
	wantClass := []string{"", "WORSENED", "IMPROVED"}
	answers := 0
	for i, r := range rs {
		row := rt.rows[i]
		sc := hep.ScoreResponse(psfs, r.Answers)
		if rt.get(row, "response_id") != r.ID || rt.get(row, "assignment_id") != e.f.Assignment.ID ||
			rt.get(row, "instrument") != "psfs" || rt.get(row, "slot_date") != r.Slot.String() ||
			rt.get(row, "authored_time") != r.CorrectedAuthoredTime.In(e.f.Zone).Format(time.RFC3339) ||
			rt.get(row, "score") != strconv.FormatFloat(sc.Value, 'f', -1, 64) ||
			rt.get(row, "scored_items_answered") != strconv.Itoa(sc.Answered) || rt.get(row, "scored_items_skipped") != "0" ||
			rt.get(row, "change_from_baseline") != wantDelta[i] || row[slices.Index(rt.header, "change_from_baseline")] != wantRaw[i] ||
			rt.get(row, "change_vs_mcid") != wantClass[i] || rt.get(row, "supersedes") != "" {
			t.Errorf("response %d: %v (score %v)", i, row, sc)
		}
		for _, a := range r.Answers {
			ar := at.rows[answers]
			answers++
			if at.get(ar, "response_id") != r.ID || at.get(ar, "link_id") != a.LinkID || at.get(ar, "value") != optScore(a.Value) ||
				at.get(ar, "text") != a.Text || at.get(ar, "skipped") != "no" {
				t.Errorf("answer %s of response %d: %v", a.LinkID, i, ar)
			}
		}
	}
	if answers != len(at.rows) || answers != 3*2+3*2+4*2 {
		t.Errorf("%d answer rows, %d answers", len(at.rows), answers)
	}
	found := false
	for _, row := range at.rows {
		found = found || row[slices.Index(at.header, "text")] == "'@gym: rowing machine, 10 min"
	}
	if !found {
		t.Error("the activity starting with @ is not inert in questionnaire_answers.csv")
	}
}

// TestCSVOutcomesODI checks an unscorable response (empty score and
// change) and a skipped section.
func TestCSVOutcomesODI(t *testing.T) {
	snap := odiSnapshot()
	var buf bytes.Buffer
	if err := export.WriteCSV(t.Context(), &buf, snap, &synthetic{}, export.Options{}); err != nil {
		t.Fatal(err)
	}
	rt, at := outcomeTables(t, readZip(t, buf.Bytes()))
	want := [][]string{ // score, answered, skipped, change, class
		{"60", "9", "1", "", ""},
		{"", "5", "0", "", ""},
		{"20", "10", "0", "-40", "IMPROVED"},
	}
	if len(rt.rows) != len(want) {
		t.Fatalf("rows %v", rt.rows)
	}
	for i, w := range want {
		row := rt.rows[i]
		got := []string{rt.get(row, "score"), rt.get(row, "scored_items_answered"), rt.get(row, "scored_items_skipped"),
			rt.get(row, "change_from_baseline"), rt.get(row, "change_vs_mcid")}
		if !slices.Equal(got, w) {
			t.Errorf("response %d: %v, want %v", i, got, w)
		}
	}
	skipped := 0
	for _, row := range at.rows {
		if at.get(row, "skipped") == "yes" {
			skipped++
			if at.get(row, "link_id") != "section-8" || at.get(row, "value") != "" {
				t.Errorf("skipped answer %v", row)
			}
		}
	}
	if len(at.rows) != 25 || skipped != 1 {
		t.Errorf("%d answer rows, %d skipped", len(at.rows), skipped)
	}
}
