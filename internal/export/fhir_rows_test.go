package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hepclinic/hep/internal/hep"
)

// TestFastRowsMatchLibrary checks that every row assembler writes exactly
// what json.Marshal makes of the fhir-models struct it stands for, over
// rows covering each optional element and text that needs escaping.
func TestFastRowsMatchLibrary(t *testing.T) {
	loc, err := time.LoadLocation("America/St_Johns") // a half-hour offset
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 3, 18, 8, 0, 0, 123456789, time.UTC)
	snap := &hep.ExportSnapshot{Patient: hep.Patient{ID: "p1", TimeZone: "America/St_Johns"},
		Exercises: map[string]hep.Exercise{"cat-cow": {ID: "cat-cow", Name: "Cat-cow <&> \"quoted\""}}}
	x := &fhirExport{snap: snap, loc: loc, b: &bundleWriter{w: bufio.NewWriter(io.Discard)},
		patient: FullURL("Patient/p1"), practitioners: map[string]string{}, devices: map[string]string{},
		plans: map[int64]string{1: FullURL("CarePlan/p1/1")}}
	x.devices["d1"], x.devices["d2"] = FullURL("Device/d1"), FullURL("Device/d2")

	notes := []string{"", "plain note", `=HYPERLINK("http://x","y")`, "tab\there\nnew line\r\n", "<b>&amp;</b> \\ back",
		"Rücken ✓ 痛み", "\u2028 line separator", "\x01 control", "bad \xff utf-8"}
	score := func(n int32) *int32 { return &n }
	var logs []hep.ExerciseLog
	for i, n := range notes {
		l := hep.ExerciseLog{ID: fmt.Sprintf("log-%d", i), ExerciseID: "cat-cow", PlanVersion: int64(i % 3),
			CorrectedPerformTime: at.Add(time.Duration(i) * time.Hour), ReceiveTime: at.Add(time.Duration(i)*time.Hour + time.Minute),
			SetsDone: int32(i % 3), RepsDone: 10, HoldSecondsDone: int32(i * 15), DurationSecondsDone: int32(i * 60),
			Difficulty: []hep.Difficulty{"", hep.DifficultyTooEasy, hep.DifficultyJustRight, hep.DifficultyTooHard}[i%4],
			Note:       n, ItemSuspended: i%2 == 1}
		if i%3 == 1 {
			l.ExerciseID = "not-in-the-snapshot"
		}
		if i%2 == 0 {
			l.PainBefore, l.PainAfter = score(int32(i)), score(10)
		}
		logs = append(logs, l)
	}
	for _, l := range logs {
		id := rowID("Procedure/" + l.ID)
		check(t, "procedure "+l.ID, x.appendProcedure(nil, l, id), x.procedureOf(l, id))
		if l.PainBefore != nil {
			oid := rowID("Observation/" + l.ID + "/before")
			check(t, "session pain "+l.ID, x.appendSessionPain(nil, l, "before", *l.PainBefore, "urn:uuid:"+id, oid),
				x.sessionPainOf(l, "before", *l.PainBefore, "urn:uuid:"+id, oid))
		}
	}
	for i, n := range notes {
		c := hep.PainCheckin{ID: fmt.Sprintf("c-%d", i), CorrectedRecordTime: at.Add(time.Duration(i) * time.Hour),
			ReceiveTime: at.Add(time.Duration(i)*time.Hour + time.Second), Score: int32(i),
			Location: []hep.PainLocation{hep.PainLowBack, hep.PainNeck, hep.PainLeg, hep.PainOther, ""}[i%5], Note: n}
		if i%3 == 0 {
			c.RedFlags = []hep.RedFlag{hep.RedFlagSaddleNumbness, hep.RedFlagFeverWithBackPain}
		}
		id := rowID("Observation/" + c.ID)
		check(t, "check-in "+c.ID, x.appendCheckin(nil, c, id), x.checkinOf(c, id))
	}
	targets := []string{FullURL("a"), FullURL("b")}
	for _, devs := range [][]string{{"d2", "d1"}, {"d1"}} {
		check(t, "provenance", x.appendProvenance(nil, rowID("p"), targets, devs, at), x.provenanceOf(rowID("p"), targets, devs, at))
	}
}

func check(t *testing.T, what string, fast []byte, ref any) {
	t.Helper()
	want, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fast, want) {
		t.Errorf("%s:\nfast %s\nlib  %s", what, fast, want)
	}
}

// TestRowIDMatchesLibrary: the stack-built UUIDs are the library's v5
// UUIDs, for short and long names.
func TestRowIDMatchesLibrary(t *testing.T) {
	long := strings.Repeat("x", 500)
	for _, name := range []string{"", "Patient/x", "Procedure/0190a5a0-0000-7000-8000-000000000000", "Observation/" + long + "/before"} {
		if got, want := rowID(name), uuid.NewSHA1(Namespace, []byte(name)).String(); got != want {
			t.Errorf("rowID(%q) = %s, want %s", name, got, want)
		}
	}
	if rowID3("Observation/", "abc", "/after") != rowID("Observation/abc/after") {
		t.Error("rowID3 differs from rowID of the joined name")
	}
}
