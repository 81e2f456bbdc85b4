package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

func TestTransportChoice(t *testing.T) {
	tests := []struct {
		server   string
		tls      bool
		insecure bool
		want     string // security protocol
	}{
		{"127.0.0.1:7070", false, false, "insecure"},
		{"localhost:7070", false, false, "insecure"},
		{"[::1]:7070", false, false, "insecure"},
		{"127.0.0.1:7070", true, false, "tls"},
		{"hep.clinic.example:443", false, false, "tls"},
		{"10.0.0.5:7070", false, false, "tls"},
		{"10.0.0.5:7070", false, true, "insecure"},
	}
	for _, tt := range tests {
		a := &app{stderr: io.Discard, opts: globalOptions{server: tt.server, tls: tt.tls, insecurePlaintext: tt.insecure}}
		tc, err := a.transportCredentials()
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.Info().SecurityProtocol; got != tt.want {
			t.Errorf("%s tls=%v insecure=%v: %s, want %s", tt.server, tt.tls, tt.insecure, got, tt.want)
		}
	}
}

func TestWithDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:7070":   "127.0.0.1:7070",
		"hep.example":      "hep.example:7070",
		"hep.example:443":  "hep.example:443",
		"::1":              "[::1]:7070",
		"[::1]":            "[::1]:7070",
		"unix:///tmp/hep":  "unix:///tmp/hep",
		"dns:///h.example": "dns:///h.example",
	} {
		if got := withDefaultPort(in); got != want {
			t.Errorf("withDefaultPort(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTimeFlag(t *testing.T) {
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.Local)
	tests := []struct {
		in   string
		end  bool
		want time.Time
		ok   bool
	}{
		{"2025-03-01T09:00:00Z", false, time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), true},
		{"2025-03-01T09:00:00.5+01:00", true, time.Date(2025, 3, 1, 8, 0, 0, 5e8, time.UTC), true},
		{"2025-03-01", false, day, true},
		{"2025-03-01", true, day.AddDate(0, 0, 1), true},
		{"03/01/2025", false, time.Time{}, false},
		{"", false, time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseTimeFlag(tt.in, tt.end)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseTimeFlag(%q, %v) = %v, %v", tt.in, tt.end, got, err)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantName string
	}{
		{[]string{"ID", "--name", "N"}, []string{"ID"}, "N"},
		{[]string{"--name", "N", "ID"}, []string{"ID"}, "N"},
		{[]string{"A", "--name=N", "B"}, []string{"A", "B"}, "N"},
		{[]string{"--", "--name"}, []string{"--name"}, ""},
		{[]string{"A", "--", "-x"}, []string{"A", "-x"}, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		name := fs.String("name", "", "")
		pos, err := parseInterspersed(fs, tt.args, io.Discard)
		if err != nil || !slices.Equal(pos, tt.wantPos) || *name != tt.wantName {
			t.Errorf("%q: pos %q name %q err %v", tt.args, pos, *name, err)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if _, err := parseInterspersed(fs, []string{"--nope"}, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("unknown flag: %v, want a usage error", err)
	}
}

func TestCodeWords(t *testing.T) {
	for c, want := range map[codes.Code]string{
		codes.InvalidArgument:  "invalid argument",
		codes.NotFound:         "not found",
		codes.Unauthenticated:  "unauthenticated",
		codes.PermissionDenied: "permission denied",
		codes.DeadlineExceeded: "deadline exceeded",
	} {
		if got := codeWords(c); got != want {
			t.Errorf("codeWords(%v) = %q, want %q", c, got, want)
		}
	}
}

func TestFormatDose(t *testing.T) {
	tests := []struct {
		dose *hepv1.Dose
		want string
	}{
		{&hepv1.Dose{Sets: 2, Reps: 10, HoldSeconds: 5}, "2x10, hold 5s"},
		{&hepv1.Dose{Reps: 12}, "12 reps"},
		{&hepv1.Dose{Sets: 1, DurationSeconds: 60}, "1 set, 1 min"},
		{&hepv1.Dose{Sets: 3, HoldSeconds: 90}, "3 sets, hold 1 min 30s"},
		{&hepv1.Dose{DurationSeconds: 180, AngleDegrees: 20}, "3 min, angle 20°"},
		{&hepv1.Dose{DurationSeconds: 600, ForceKg: 15}, "10 min, force 15 kg"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := fmtDose(tt.dose); got != tt.want {
			t.Errorf("fmtDose(%v) = %q, want %q", tt.dose, got, tt.want)
		}
	}
}

func TestFormatFrequency(t *testing.T) {
	tests := []struct {
		f    *hepv1.Frequency
		want string
	}{
		{&hepv1.Frequency{TimesPerDay: 1, DaysPerWeek: 5}, "1x/day, 5 days/wk"},
		{&hepv1.Frequency{TimesPerDay: 2, Weekdays: []hepv1.Weekday{hepv1.Weekday_WEEKDAY_MONDAY, hepv1.Weekday_WEEKDAY_WEDNESDAY, hepv1.Weekday_WEEKDAY_SUNDAY}},
			"2x/day Mon,Wed,Sun"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := fmtFrequency(tt.f); got != tt.want {
			t.Errorf("fmtFrequency(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
	if got := fmtDate(&hepv1.Date{Year: 2026, Month: 3, Day: 2}); got != "2026-03-02" {
		t.Errorf("fmtDate = %q", got)
	}
}

func TestParseEnum(t *testing.T) {
	for in, want := range map[string]hepv1.ScreeningFlag{
		"pregnancy":                        hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY,
		"Recent-Spinal-Surgery":            hepv1.ScreeningFlag_SCREENING_FLAG_RECENT_SPINAL_SURGERY,
		" OSTEOPOROSIS ":                   hepv1.ScreeningFlag_SCREENING_FLAG_OSTEOPOROSIS,
		"screening_flag_hernia":            hepv1.ScreeningFlag_SCREENING_FLAG_HERNIA,
		"glaucoma-or-retinal-detachment":   hepv1.ScreeningFlag_SCREENING_FLAG_GLAUCOMA_OR_RETINAL_DETACHMENT,
		"SCREENING_FLAG_ANTICOAGULANT_USE": hepv1.ScreeningFlag_SCREENING_FLAG_ANTICOAGULANT_USE,
		"heart_or_circulatory_disease":     hepv1.ScreeningFlag_SCREENING_FLAG_HEART_OR_CIRCULATORY_DISEASE,
		"spinal_metal_implant":             hepv1.ScreeningFlag_SCREENING_FLAG_SPINAL_METAL_IMPLANT,
	} {
		got, err := flagEnum.parse(in)
		if err != nil || hepv1.ScreeningFlag(got) != want {
			t.Errorf("parse(%q) = %v, %v; want %v", in, hepv1.ScreeningFlag(got), err, want)
		}
		if w := flagName(want); !strings.EqualFold(w, strings.TrimPrefix(want.String(), "SCREENING_FLAG_")) {
			t.Errorf("flagName(%v) = %q", want, w)
		}
	}
	for _, in := range []string{"", "unspecified", "SCREENING_FLAG_UNSPECIFIED", "preg", "pregnancy=present"} {
		if v, err := flagEnum.parse(in); err == nil {
			t.Errorf("parse(%q) = %v, want an error", in, v)
		}
	}
	if got, _ := severityEnum.parse("needs-clearance"); hepv1.RuleSeverity(got) != hepv1.RuleSeverity_RULE_SEVERITY_NEEDS_CLEARANCE {
		t.Errorf("severity needs-clearance = %v", got)
	}
	if got := flagStatusEnum.words(); got != "present, absent, unknown" {
		t.Errorf("status words = %q", got)
	}
}

func TestReasonLabel(t *testing.T) {
	tests := []struct {
		r    *hepv1.GateReason
		want string
	}{
		{&hepv1.GateReason{Flag: hepv1.ScreeningFlag_SCREENING_FLAG_OSTEOPOROSIS, Outcome: hepv1.GateOutcome_GATE_OUTCOME_CONTRAINDICATED}, "CONTRAINDICATED (osteoporosis)"},
		{&hepv1.GateReason{Outcome: hepv1.GateOutcome_GATE_OUTCOME_NEEDS_CLEARANCE}, "NEEDS_CLEARANCE (standing clearance)"},
		{&hepv1.GateReason{Flag: hepv1.ScreeningFlag_SCREENING_FLAG_PREGNANCY, Outcome: hepv1.GateOutcome_GATE_OUTCOME_ALLOWED, Cleared: true}, "CLEARED (pregnancy)"},
		{&hepv1.GateReason{Outcome: hepv1.GateOutcome_GATE_OUTCOME_CONTRAINDICATED, RedFlagHold: true}, "RED-FLAG HOLD"},
	}
	for _, tt := range tests {
		if got := reasonLabel(tt.r); got != tt.want {
			t.Errorf("reasonLabel(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
	r := &hepv1.GateReason{Flag: hepv1.ScreeningFlag_SCREENING_FLAG_HERNIA, Outcome: hepv1.GateOutcome_GATE_OUTCOME_NEEDS_SCREENING,
		Message: "HERNIA is unknown", Source: "manual"}
	if got, want := reasonText(r), "NEEDS_SCREENING (hernia): HERNIA is unknown [source: manual]"; got != want {
		t.Errorf("reasonText = %q, want %q", got, want)
	}
}

// TestPlanErrorLines: a refused plan lists every blocked reason under one
// header; a lost compare-and-set says to re-run.
func TestPlanErrorLines(t *testing.T) {
	st, err := status.New(codes.FailedPrecondition, "FAILED_PRECONDITION: the plan has items the gate blocks (...)").WithDetails(
		&errdetails.ErrorInfo{Reason: "GATE_BLOCKED", Domain: "hep.v1"},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "items[0]", Description: "NEEDS_CLEARANCE: cat-cow needs a clinician's clearance because of OSTEOPOROSIS (source: s1)"},
			{Field: "items[1]", Description: "CONTRAINDICATED: inversion-table is contraindicated with OSTEOPOROSIS (source: s2)"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	got := errorLines(&rpcError{err: st.Err(), method: hepv1.PlanService_SetPlan_FullMethodName})
	want := []string{
		"failed precondition: the gate blocks items of this plan, so nothing was written:",
		"  items[0]: NEEDS_CLEARANCE: cat-cow needs a clinician's clearance because of OSTEOPOROSIS (source: s1)",
		"  items[1]: CONTRAINDICATED: inversion-table is contraindicated with OSTEOPOROSIS (source: s2)",
		"see every reason with hepctl plan check; answer unknown flags with hepctl screening set; clear what needs clearance with hepctl plan clear",
	}
	if !slices.Equal(got, want) {
		t.Errorf("gate blocked lines:\n%q\nwant\n%q", got, want)
	}

	aborted := status.Error(codes.Aborted, "ABORTED: expected version 0, the current version is 1")
	got = errorLines(&rpcError{err: aborted, method: hepv1.PlanService_SetPlan_FullMethodName})
	if len(got) != 1 || !strings.HasPrefix(got[0], "aborted: expected version 0, the current version is 1 (the plan changed meanwhile: ") {
		t.Errorf("aborted lines: %q", got)
	}
}

func TestPosition(t *testing.T) {
	b := []byte("[\n  {},\n]")
	for _, tt := range []struct {
		offset    int64
		line, col int
	}{{0, 1, 1}, {1, 1, 1}, {2, 1, 2}, {5, 2, 3}, {9, 3, 1}, {99, 3, 1}} {
		if line, col := position(b, tt.offset); line != tt.line || col != tt.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tt.offset, line, col, tt.line, tt.col)
		}
	}
}
