package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// pushAsPhone enrolls a phone for the clinic's patient and pushes muts
// through the real SyncService, numbering them from 1.
func (c *clinic) pushAsPhone(t *testing.T, muts ...*hepv1.Mutation) {
	t.Helper()
	out := c.ok(t, c.drDir, "", "enroll-code", c.pid)
	m := regexp.MustCompile(`^(\S+)  \(expires `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("enroll-code output = %q", out)
	}
	dev := c.enrollDevice(t, m[1], "Maria's phone")
	conn, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+dev.GetTokens().GetAccessToken())
	for i, mu := range muts {
		mu.Sequence = int64(i + 1)
	}
	resp, err := hepv1.NewSyncServiceClient(conn).Push(ctx, &hepv1.PushRequest{
		DeviceId: dev.GetDeviceId(), DeviceTime: timestamppb.Now(), Mutations: muts,
	})
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	for i, r := range resp.GetResults() {
		if r.GetStatus() != hepv1.MutationStatus_MUTATION_STATUS_APPLIED {
			t.Fatalf("mutation %d: %v", i, r)
		}
	}
}

// TestLogsAndPainLists: what a phone pushed, as the care team reads it.
func TestLogsAndPainLists(t *testing.T) {
	c := newClinic(t)
	now := time.Now()
	id := func() string { return uuid.Must(uuid.NewV7()).String() }
	logM := func(l *hepv1.ExerciseLog) *hepv1.Mutation {
		return &hepv1.Mutation{Change: &hepv1.Mutation_Log{Log: l}}
	}
	checkinM := func(ci *hepv1.PainCheckin) *hepv1.Mutation {
		return &hepv1.Mutation{Change: &hepv1.Mutation_Checkin{Checkin: ci}}
	}
	wrong, newest, middle, oldest := id(), id(), id(), id()
	c.pushAsPhone(t,
		logM(&hepv1.ExerciseLog{Id: oldest, ExerciseId: "cat-cow", PerformTime: timestamppb.New(now.Add(-50 * time.Hour)),
			SetsDone: 2, RepsDone: 10, HoldSecondsDone: 5, PainBefore: proto.Int32(4), PainAfter: proto.Int32(2),
			Difficulty: hepv1.Difficulty_DIFFICULTY_JUST_RIGHT}),
		logM(&hepv1.ExerciseLog{Id: wrong, ExerciseId: "childs-pose", PerformTime: timestamppb.New(now.Add(-26 * time.Hour)),
			SetsDone: 9, RepsDone: 9}),
		// The phone corrects the wrong log: only the correction counts.
		logM(&hepv1.ExerciseLog{Id: middle, ExerciseId: "childs-pose", PerformTime: timestamppb.New(now.Add(-26 * time.Hour)),
			SetsDone: 1, RepsDone: 3, HoldSecondsDone: 90, PainBefore: proto.Int32(5), Supersedes: wrong}),
		logM(&hepv1.ExerciseLog{Id: newest, ExerciseId: "cat-cow", PerformTime: timestamppb.New(now.Add(-2 * time.Hour)),
			SetsDone: 3, RepsDone: 12, Difficulty: hepv1.Difficulty_DIFFICULTY_TOO_HARD, Note: "hurt a bit"}),
		checkinM(&hepv1.PainCheckin{Id: id(), RecordTime: timestamppb.New(now.Add(-30 * time.Hour)), Score: 6,
			Location: hepv1.PainLocation_PAIN_LOCATION_LOW_BACK}),
		checkinM(&hepv1.PainCheckin{Id: id(), RecordTime: timestamppb.New(now.Add(-time.Hour)), Score: 8,
			Location: hepv1.PainLocation_PAIN_LOCATION_LEG, RedFlags: []hepv1.RedFlagSymptom{
				hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_SADDLE_NUMBNESS, hepv1.RedFlagSymptom_RED_FLAG_SYMPTOM_BLADDER_OR_BOWEL_DYSFUNCTION}}),
	)

	out := c.ok(t, c.drDir, "", "logs", "list", c.pid)
	lines := nonEmptyLines(out)
	if len(lines) != 4 || !regexp.MustCompile(`^WHEN\s+EXERCISE\s+SETS x REPS\s+HOLD\s+PAIN\s+DIFFICULTY$`).MatchString(lines[0]) {
		t.Fatalf("logs list:\n%s", out)
	}
	for i, want := range []string{
		`^\d{4}-\d\d-\d\dT\S+\s+cat-cow\s+3x12\s+-\s+-\s+too hard$`,
		`^\d{4}-\d\d-\d\dT\S+\s+childs-pose\s+1x3\s+1 min 30s\s+5→\?\s+-$`,
		`^\d{4}-\d\d-\d\dT\S+\s+cat-cow\s+2x10\s+5s\s+4→2\s+just right$`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i+1]) {
			t.Errorf("logs list row %d: %q, want %s", i+1, lines[i+1], want)
		}
	}

	var logs hepv1.ListExerciseLogsResponse
	unmarshal(t, c.ok(t, c.drDir, "", "-o", "json", "logs", "list", c.pid, "--all", "--page-size", "1"), &logs)
	var ids []string
	for _, l := range logs.GetLogs() {
		ids = append(ids, l.GetId())
	}
	if strings.Join(ids, ",") != strings.Join([]string{newest, middle, oldest}, ",") || logs.GetNextPageToken() != "" {
		t.Errorf("logs list --all: %v", &logs)
	}
	if l := logs.GetLogs()[1]; l.GetSupersedes() != wrong || l.GetCorrectedPerformTime() == nil || l.GetDeviceId() == "" {
		t.Errorf("the correction: %v", l)
	}
	r := c.hepctl(t, c.drDir, "", "logs", "list", c.pid, "--page-size", "2")
	if r.code != 0 || len(nonEmptyLines(r.stdout)) != 3 || !strings.Contains(r.stderr, "next page: hepctl logs list "+c.pid+" --page-token ") {
		t.Errorf("logs list --page-size 2: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	token := strings.TrimSpace(r.stderr[strings.LastIndex(r.stderr, " ")+1:])
	if out := c.ok(t, c.drDir, "", "logs", "list", c.pid, "--page-token", token); len(nonEmptyLines(out)) != 2 || !strings.Contains(out, "just right") {
		t.Errorf("logs list, second page:\n%s", out)
	}

	out = c.ok(t, c.drDir, "", "pain", "list", c.pid)
	lines = nonEmptyLines(out)
	if len(lines) != 3 || !regexp.MustCompile(`^WHEN\s+SCORE\s+LOCATION\s+RED FLAGS$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^\d{4}-\S+\s+8/10\s+leg\s+saddle_numbness, bladder_or_bowel_dysfunction$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^\d{4}-\S+\s+6/10\s+low back\s+-$`).MatchString(lines[2]) {
		t.Errorf("pain list:\n%s", out)
	}
	var checkins hepv1.ListPainCheckinsResponse
	unmarshal(t, c.ok(t, c.drDir, "", "-o", "json", "pain", "list", c.pid, "--all", "--page-size", "1"), &checkins)
	if len(checkins.GetCheckins()) != 2 || checkins.GetCheckins()[0].GetScore() != 8 {
		t.Errorf("pain list --all: %v", &checkins)
	}

	// Only the care team reads them.
	c.createClinician(t, c.adminDir, "other@clinic.example", "other-password-1")
	other := t.TempDir()
	c.login(t, other, "other@clinic.example", "other-password-1")
	for _, tt := range []struct {
		name, dir string
		args      []string
		code      int
		stderr    string
	}{
		{"another clinician's patient", other, []string{"logs", "list", c.pid}, 1, "hepctl: not found: "},
		{"another clinician's patient's pain", other, []string{"pain", "list", c.pid}, 1, "hepctl: not found: "},
		{"admin", c.adminDir, []string{"pain", "list", c.pid}, 1, "hepctl: permission denied: "},
		{"negative page size", c.drDir, []string{"logs", "list", c.pid, "--page-size", "-1"}, 2, "--page-size must be between"},
		{"page size over the maximum", c.drDir, []string{"pain", "list", c.pid, "--page-size", "501"}, 1, "hepctl: invalid argument: page_size: "},
		{"no patient", c.drDir, []string{"logs", "list"}, 2, "logs list: missing PATIENT_ID"},
		{"a token of another list", c.drDir, []string{"pain", "list", c.pid, "--page-token", token}, 1, "hepctl: invalid argument: page_token: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.hepctl(t, tt.dir, "", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) || r.stdout != "" {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
		})
	}
}
