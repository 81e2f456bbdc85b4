package hepclient_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/clients/hepclient"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestModelUnderFaults is the model-based property test of sync. Two or
// three phones of one patient log, correct, delete and check in at random,
// with clocks up to a week off, and sync at random through a faulty network
// (faults: dropped requests and responses, duplicates, late replays,
// reordering); now and then a phone restarts from its state file. A
// reference model computes what the server must hold from the mutations in
// the order the server applied them, and predicts each mutation's status.
// At the end the network heals and every phone syncs until quiet; then:
//
//   - every mutation of every phone was applied exactly once, in sequence
//     order, with the content the phone made (no loss, no duplicate);
//   - every status the server gave is the model's, and every replay
//     answered the stored status;
//   - the server's live logs and check-ins (the clinician's lists, and a new
//     device's pull) equal the model's, content included: nothing lost,
//     nothing duplicated, no deleted or superseded record back;
//   - every phone's records equal the new device's (count, hash and
//     records), its outbox is empty and its rejected list is the model's.
//
// Seeds: HEP_SYNC_SEED runs one; otherwise HEP_SYNC_ITERATIONS (default 8)
// seeds from the clock, within a time budget. A failing seed is printed.
func TestModelUnderFaults(t *testing.T) {
	s := startServer(t)
	iterations, budget := 8, 12*time.Second
	if v := os.Getenv("HEP_SYNC_ITERATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("HEP_SYNC_ITERATIONS: %v", err)
		}
		iterations, budget = n, time.Duration(1<<62)
	}
	base := uint64(time.Now().UnixNano())
	if v := os.Getenv("HEP_SYNC_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("HEP_SYNC_SEED: %v", err)
		}
		base, iterations = n, 1
	}
	start := time.Now()
	for i := range iterations {
		if i >= 2 && time.Since(start) > budget {
			t.Logf("ran %d seeds in %v (time budget)", i, time.Since(start).Round(time.Millisecond))
			break
		}
		seed := base + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("reproduce: HEP_SYNC_SEED=%d go test -race -run TestModelUnderFaults ./clients/hepclient/", seed)
				}
			}()
			runModel(t, s, seed)
		})
	}
}

// phone is one simulated device of the model test.
type phone struct {
	c        *hepclient.Client
	path     string
	opts     hepclient.Options
	id       string
	nextSeq  int64
	skew     time.Duration
	lastPull int
}

func (p *phone) now() time.Time { return time.Now().Add(p.skew) }

var exercises = []string{"cat-cow", "childs-pose", "bar-hang", "overhead-stretch"}

func runModel(t *testing.T, s *server, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 1))
	patient := s.newPatient()
	// A weekly PSFS that started three weeks ago: four slots are due.
	assignment, slots := s.assignPSFS(patient, 3)
	f := newFaults(seed, 0.3)
	m := newModel()
	f.observe = m.observe

	skews := []time.Duration{0, 7 * 24 * time.Hour, -7 * 24 * time.Hour, 3 * time.Hour, -90 * time.Minute}
	var phones []*phone
	for range 2 + rng.IntN(2) {
		p := &phone{skew: skews[rng.IntN(len(skews))], nextSeq: 1}
		p.path = t.TempDir() + "/phone.db"
		// Few retries, so that faults reach the sync logic instead of
		// being absorbed by the retry loop.
		p.opts = hepclient.Options{Clock: p.now, Interceptor: f.intercept, PushBatch: 1 + rng.IntN(8), PullPageSize: int32(1 + rng.IntN(10)),
			Retry: hepclient.Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond, Attempts: 1 + rng.IntN(3)}}
		p.c = newPhone(t, s.addr, p.path, p.opts)
		if err := p.c.Enroll(ctx, s.code(patient)); err != nil {
			t.Fatal(err)
		}
		p.id = p.c.DeviceID()
		m.generated[p.id] = map[int64]*hepv1.Mutation{}
		phones = append(phones, p)
	}
	f.setOn(true)

	// record notes the mutation a phone just made under its next number.
	record := func(p *phone, mut *hepv1.Mutation) {
		m.generated[p.id][p.nextSeq] = mut
		p.nextSeq++
	}
	newLog := func(p *phone, supersedes string) *hepv1.ExerciseLog {
		l := &hepv1.ExerciseLog{Id: hepclient.NewID(), ExerciseId: exercises[rng.IntN(len(exercises))],
			PerformTime: timestamppb.New(p.now().Add(-time.Duration(rng.IntN(72)) * time.Hour)),
			SetsDone:    int32(rng.IntN(6)), RepsDone: int32(rng.IntN(21)), HoldSecondsDone: int32(rng.IntN(60)),
			DurationSecondsDone: int32(rng.IntN(900)), Difficulty: hepv1.Difficulty(rng.IntN(4)),
			Note: fmt.Sprintf("note %d", rng.IntN(1000)), Supersedes: supersedes}
		if rng.IntN(2) == 0 {
			l.PainBefore, l.PainAfter = pain(int32(rng.IntN(11))), pain(int32(rng.IntN(11)))
		}
		return l
	}
	newCheckin := func(p *phone, supersedes string) *hepv1.PainCheckin {
		c := &hepv1.PainCheckin{Id: hepclient.NewID(), RecordTime: timestamppb.New(p.now().Add(-time.Duration(rng.IntN(48)) * time.Hour)),
			Score: int32(rng.IntN(11)), Location: hepv1.PainLocation(1 + rng.IntN(4)), Note: fmt.Sprintf("check-in %d", rng.IntN(1000)),
			Supersedes: supersedes}
		if rng.IntN(40) == 0 {
			c.RedFlags = []hepv1.RedFlagSymptom{hepv1.RedFlagSymptom(1 + rng.IntN(5))}
		}
		return c
	}
	logExercise := func(p *phone, l *hepv1.ExerciseLog) {
		if _, err := p.c.LogExercise(ctx, l); err != nil {
			t.Fatal(err)
		}
		record(p, &hepv1.Mutation{Change: &hepv1.Mutation_Log{Log: l}})
	}
	logPain := func(p *phone, c *hepv1.PainCheckin) {
		if _, err := p.c.LogPain(ctx, c); err != nil {
			t.Fatal(err)
		}
		record(p, &hepv1.Mutation{Change: &hepv1.Mutation_Checkin{Checkin: c}})
	}
	// answer answers a random slot, or (invalid on purpose) a slot not
	// due or a rating out of range.
	answer := func(p *phone) {
		r := &hepv1.QuestionnaireResponse{Id: hepclient.NewID(), AssignmentId: assignment,
			SlotDate: slots[rng.IntN(len(slots))], AuthoredTime: timestamppb.New(p.now().Add(-time.Duration(rng.IntN(60)) * time.Minute))}
		for i := range 3 + rng.IntN(3) {
			n := string(rune('1' + i))
			v := int32(rng.IntN(11))
			r.Answers = append(r.Answers, &hepv1.QuestionnaireAnswer{LinkId: "activity-" + n + "-name", Text: fmt.Sprintf("activity %d", rng.IntN(100))},
				&hepv1.QuestionnaireAnswer{LinkId: "activity-" + n + "-rating", Value: &v})
		}
		switch rng.IntN(10) {
		case 0:
			v := int32(11)
			r.Answers[1].Value = &v
			m.invalid[r.Id] = true
		case 1:
			last := slots[len(slots)-1]
			r.SlotDate = &hepv1.Date{Year: last.Year + 1, Month: last.Month, Day: 1}
			m.invalid[r.Id] = true
		}
		if _, err := p.c.AnswerQuestionnaire(ctx, r); err != nil {
			t.Fatal(err)
		}
		record(p, &hepv1.Mutation{Change: &hepv1.Mutation_Response{Response: r}})
	}
	syncOnce := func(p *phone, faulty bool) {
		res, err := p.c.Sync(ctx)
		if err != nil && (!faulty || status.Code(err) != codes.Unavailable) {
			t.Errorf("phone %s: Sync: %v", p.id, err)
		}
		if res.Reset || res.Renumbered+res.Resent+res.Lost > 0 {
			t.Errorf("phone %s: Sync %+v: a reset or repair without a cause", p.id, res)
		}
	}

	steps := 60 + rng.IntN(60)
	for range steps {
		p := phones[rng.IntN(len(phones))]
		switch op := rng.IntN(100); {
		case op < 30:
			logExercise(p, newLog(p, ""))
		case op < 34:
			l := newLog(p, "")
			if rng.IntN(2) == 0 {
				l.SetsDone = 21
			} else {
				l.ExerciseId = "no-such-exercise"
			}
			m.invalid[l.Id] = true
			logExercise(p, l)
		case op < 48:
			logPain(p, newCheckin(p, ""))
		case op < 51:
			c := newCheckin(p, "")
			c.Score = 11
			m.invalid[c.Id] = true
			logPain(p, c)
		case op < 60:
			logs, err := p.c.Logs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(logs) == 0 {
				logExercise(p, newLog(p, ""))
				break
			}
			logExercise(p, newLog(p, logs[rng.IntN(len(logs))].Id))
		case op < 65:
			cs, err := p.c.Checkins(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) == 0 {
				logPain(p, newCheckin(p, ""))
				break
			}
			logPain(p, newCheckin(p, cs[rng.IntN(len(cs))].Id))
		case op < 73:
			logs, _ := p.c.Logs(ctx)
			cs, _ := p.c.Checkins(ctx)
			if len(logs)+len(cs) == 0 {
				logPain(p, newCheckin(p, ""))
				break
			}
			d := &hepv1.DeleteRecord{}
			if i := rng.IntN(len(logs) + len(cs)); i < len(logs) {
				d.Kind, d.Id = hepv1.RecordKind_RECORD_KIND_EXERCISE_LOG, logs[i].Id
			} else {
				d.Kind, d.Id = hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN, cs[i-len(logs)].Id
			}
			if err := p.c.Delete(ctx, d.Kind, d.Id); err != nil {
				t.Fatal(err)
			}
			record(p, &hepv1.Mutation{Change: &hepv1.Mutation_Delete{Delete: d}})
		case op < 76:
			answers := []*hepv1.ScreeningAnswerInput{{Flag: hepv1.ScreeningFlag(1 + rng.IntN(11)), Status: hepv1.FlagStatus(1 + rng.IntN(3))}}
			if err := p.c.ReportScreening(ctx, answers); err != nil {
				t.Fatal(err)
			}
			record(p, &hepv1.Mutation{Change: &hepv1.Mutation_Screening{Screening: &hepv1.ReportScreening{Answers: answers}}})
		case op < 81:
			answer(p)
		case op < 85:
			body := fmt.Sprintf("question %d", rng.IntN(1000))
			if rng.IntN(8) == 0 {
				body = strings.Repeat("x", 2001) // too long: rejected
			}
			id, err := p.c.SendMessage(ctx, body)
			if err != nil {
				t.Fatal(err)
			}
			if len(body) > 2000 {
				m.invalid[id] = true
			}
			pend, err := p.c.Pending(ctx)
			if err != nil || len(pend) == 0 {
				t.Fatalf("Pending: %v", err)
			}
			last := proto.Clone(pend[len(pend)-1]).(*hepv1.Mutation)
			last.Sequence = 0
			record(p, last)
		case op < 97:
			syncOnce(p, true)
		default:
			// The app is killed and started again: only the state file
			// carries over.
			p.c.Close()
			p.c = newPhone(t, s.addr, p.path, p.opts)
		}
		if t.Failed() {
			break
		}
	}

	// The network heals; late and held requests arrive; every phone syncs
	// until quiet (two rounds: the first pushes everything, the second
	// pulls what the others pushed).
	f.setOn(false)
	f.flush()
	for range 2 {
		for _, p := range phones {
			syncOnce(p, false)
		}
	}
	t.Logf("%d phones, %d steps, %d live questionnaire responses, %d messages, faults %s", len(phones), steps, len(m.liveResponses()), len(m.messages()), f)
	for _, e := range m.errs {
		t.Error(e)
	}

	// No loss, no duplicate: every mutation applied exactly once.
	for _, p := range phones {
		for seq := int64(1); seq < p.nextSeq; seq++ {
			if _, ok := m.applied[p.id][seq]; !ok {
				t.Errorf("phone %s: mutation %d never applied", p.id, seq)
			}
		}
		if n := len(m.applied[p.id]); int64(n) != p.nextSeq-1 {
			t.Errorf("phone %s: %d mutations applied, made %d", p.id, n, p.nextSeq-1)
		}
		if pend, _ := p.c.Pending(ctx); len(pend) != 0 {
			t.Errorf("phone %s: %d mutations still in the outbox", p.id, len(pend))
		}
		rej, err := p.c.Rejected(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []int64
		for _, r := range rej {
			got = append(got, r.Mutation.Sequence)
		}
		for seq := range m.rejected[p.id] {
			want = append(want, seq)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("phone %s: rejected %v, want %v", p.id, got, want)
		}
	}

	// The server equals the model: the clinician's view ...
	wantLogs, wantCheckins := m.live()
	gotLogs, gotCheckins := s.logs(patient), s.checkins(patient)
	compareLogs(t, "clinician's list", gotLogs, wantLogs)
	compareCheckins(t, "clinician's list", gotCheckins, wantCheckins)
	gotResponses := s.responses(patient)
	for id := range m.dead() {
		if gotLogs[id] != nil || gotCheckins[id] != nil || gotResponses[id] != nil {
			t.Errorf("deleted or superseded record %s is live again", id)
		}
	}
	// ... the patient's messages, each once, in the thread ...
	compareMessages(t, "clinician's thread", s.patientMessages(patient), m.messages())
	// ... its questionnaire responses, one live per slot ...
	compareResponses(t, "clinician's list", s.responses(patient), m.liveResponses())
	// ... and a new device's pull.
	fresh := s.enrolledPhone(t, patient, hepclient.Options{})
	res, err := fresh.Sync(ctx)
	if err != nil || !res.Converged {
		t.Fatalf("new device: Sync %+v, %v", res, err)
	}
	fl, _ := fresh.Logs(ctx)
	fc, _ := fresh.Checkins(ctx)
	pulledLogs, pulledCheckins := map[string]*hepv1.ExerciseLog{}, map[string]*hepv1.PainCheckin{}
	for _, l := range fl {
		pulledLogs[l.Id] = l.ExerciseLog
	}
	for _, c := range fc {
		pulledCheckins[c.Id] = c.PainCheckin
	}
	compareLogs(t, "new device's pull", pulledLogs, wantLogs)
	compareCheckins(t, "new device's pull", pulledCheckins, wantCheckins)
	fr, _ := fresh.Responses(ctx)
	pulledResponses := map[string]*hepv1.QuestionnaireResponse{}
	for _, r := range fr {
		pulledResponses[r.Id] = r.QuestionnaireResponse
	}
	compareResponses(t, "new device's pull", pulledResponses, m.liveResponses())
	fm, _ := fresh.Messages(ctx)
	pulledMessages := map[string]string{}
	for _, x := range fm {
		if x.GetSender() == hepv1.MessageSender_MESSAGE_SENDER_PATIENT {
			pulledMessages[x.GetId()] = x.GetBody()
		}
	}
	compareMessages(t, "new device's pull", pulledMessages, m.messages())

	// Every phone converged on the server's view.
	want := recordKeys(t, fresh)
	for _, p := range phones {
		n, h, err := p.c.LocalHash(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != res.RecordCount || h != res.RecordsHash {
			t.Errorf("phone %s: %d records hashing %s, the server %d hashing %s", p.id, n, h, res.RecordCount, res.RecordsHash)
		}
		if got := recordKeys(t, p.c); !slices.Equal(got, want) {
			t.Errorf("phone %s holds records %v, want %v", p.id, got, want)
		}
	}
}

// phoneFields is a log as the phone made it: without the server's output
// fields.
func phoneFields(l *hepv1.ExerciseLog) *hepv1.ExerciseLog {
	l = proto.Clone(l).(*hepv1.ExerciseLog)
	l.CorrectedPerformTime, l.ReceiveTime, l.DeviceId, l.ItemSuspended = nil, nil, "", false
	return l
}

func checkinFields(c *hepv1.PainCheckin) *hepv1.PainCheckin {
	c = proto.Clone(c).(*hepv1.PainCheckin)
	c.CorrectedRecordTime, c.ReceiveTime, c.DeviceId = nil, nil, ""
	return c
}

// messages is the model's patient messages: id -> body.
func (m *model) messages() map[string]string {
	out := map[string]string{}
	for _, r := range m.records {
		if r.message != nil {
			out[r.message.Id] = r.message.Body
		}
	}
	return out
}

func compareMessages(t *testing.T, where string, got, want map[string]string) {
	t.Helper()
	if g, w := sortedKeys(got), sortedKeys(want); !slices.Equal(g, w) {
		t.Errorf("%s: messages %v, want %v", where, g, w)
		return
	}
	for id, body := range want {
		if got[id] != body {
			t.Errorf("%s: message %s = %q, want %q", where, id, got[id], body)
		}
	}
}

// liveResponses is the model's live questionnaire responses, by id.
func (m *model) liveResponses() map[string]*hepv1.QuestionnaireResponse {
	out := map[string]*hepv1.QuestionnaireResponse{}
	for _, r := range m.records {
		if r.response != nil && r.live {
			out[r.response.Id] = r.response
		}
	}
	return out
}

func responseFields(r *hepv1.QuestionnaireResponse) *hepv1.QuestionnaireResponse {
	r = proto.Clone(r).(*hepv1.QuestionnaireResponse)
	r.InstrumentId, r.CorrectedAuthoredTime, r.ReceiveTime, r.DeviceId, r.Supersedes, r.Score = "", nil, nil, "", "", nil
	return r
}

func compareResponses(t *testing.T, where string, got, want map[string]*hepv1.QuestionnaireResponse) {
	t.Helper()
	if g, w := sortedKeys(got), sortedKeys(want); !slices.Equal(g, w) {
		t.Errorf("%s: responses %v, want %v", where, g, w)
		return
	}
	slotsSeen := map[string]bool{}
	for id, w := range want {
		if slotsSeen[slotKey(w)] {
			t.Errorf("%s: two live responses for slot %s", where, slotKey(w))
		}
		slotsSeen[slotKey(w)] = true
		if g := responseFields(got[id]); !proto.Equal(g, w) {
			t.Errorf("%s: response %s = %v, want %v", where, id, g, w)
		}
	}
}

func compareLogs(t *testing.T, where string, got, want map[string]*hepv1.ExerciseLog) {
	t.Helper()
	if g, w := sortedKeys(got), sortedKeys(want); !slices.Equal(g, w) {
		t.Errorf("%s: logs %v, want %v", where, g, w)
		return
	}
	for id, w := range want {
		if g := phoneFields(got[id]); !proto.Equal(g, w) {
			t.Errorf("%s: log %s = %v, want %v", where, id, g, w)
		}
	}
}

func compareCheckins(t *testing.T, where string, got, want map[string]*hepv1.PainCheckin) {
	t.Helper()
	if g, w := sortedKeys(got), sortedKeys(want); !slices.Equal(g, w) {
		t.Errorf("%s: check-ins %v, want %v", where, g, w)
		return
	}
	for id, w := range want {
		if g := checkinFields(got[id]); !proto.Equal(g, w) {
			t.Errorf("%s: check-in %s = %v, want %v", where, id, g, w)
		}
	}
}

// model is the reference server: the patient's logs and check-ins, built
// from the mutations in the order the server applied them.
type model struct {
	errs      []string
	records   map[string]*modelRecord // by "KIND:id"
	applied   map[string]map[int64]hepv1.MutationStatus
	rejected  map[string]map[int64]bool
	lastSeq   map[string]int64
	generated map[string]map[int64]*hepv1.Mutation // what each phone made, by sequence
	invalid   map[string]bool                      // ids of records made invalid on purpose
}

type modelRecord struct {
	log      *hepv1.ExerciseLog
	checkin  *hepv1.PainCheckin
	response *hepv1.QuestionnaireResponse
	message  *hepv1.PatientMessage
	live     bool
}

// slotKey names a questionnaire slot: one live response each.
func slotKey(r *hepv1.QuestionnaireResponse) string {
	d := r.GetSlotDate()
	return fmt.Sprintf("%s/%04d-%02d-%02d", r.GetAssignmentId(), d.GetYear(), d.GetMonth(), d.GetDay())
}

func newModel() *model {
	return &model{records: map[string]*modelRecord{}, applied: map[string]map[int64]hepv1.MutationStatus{},
		rejected: map[string]map[int64]bool{}, lastSeq: map[string]int64{}, generated: map[string]map[int64]*hepv1.Mutation{},
		invalid: map[string]bool{}}
}

func (m *model) fail(format string, args ...any) {
	m.errs = append(m.errs, fmt.Sprintf(format, args...))
}

const (
	applied  = hepv1.MutationStatus_MUTATION_STATUS_APPLIED
	rejected = hepv1.MutationStatus_MUTATION_STATUS_REJECTED
)

// observe checks one answer of the server (to a phone, or to a duplicate
// or replay the phone never saw) and advances the model.
func (m *model) observe(method string, req, reply proto.Message, err error) {
	if method != hepv1.SyncService_Push_FullMethodName {
		return
	}
	if err != nil {
		if status.Code(err) == codes.FailedPrecondition {
			m.fail("Push: %v (no phone of this test can cause a gap)", err)
		}
		return
	}
	preq, resp := req.(*hepv1.PushRequest), reply.(*hepv1.PushResponse)
	dev := preq.DeviceId
	if m.applied[dev] == nil {
		m.applied[dev], m.rejected[dev] = map[int64]hepv1.MutationStatus{}, map[int64]bool{}
	}
	if len(resp.Results) != len(preq.Mutations) {
		m.fail("Push of %d mutations answered %d results", len(preq.Mutations), len(resp.Results))
		return
	}
	for i, mut := range preq.Mutations {
		r, seq := resp.Results[i], mut.Sequence
		if r.Sequence != seq {
			m.fail("result %d is for sequence %d, not %d", i, r.Sequence, seq)
			continue
		}
		if r.Replayed {
			st, ok := m.applied[dev][seq]
			if !ok {
				m.fail("device %s seq %d: a replayed result for a mutation never applied", dev, seq)
			} else if st != r.Status {
				m.fail("device %s seq %d: replayed %v, first answered %v", dev, seq, r.Status, st)
			}
			continue
		}
		if _, ok := m.applied[dev][seq]; ok {
			m.fail("device %s seq %d: applied twice", dev, seq)
			continue
		}
		if seq != m.lastSeq[dev]+1 {
			m.fail("device %s seq %d: applied after %d", dev, seq, m.lastSeq[dev])
		}
		m.lastSeq[dev] = seq
		sent := proto.Clone(mut).(*hepv1.Mutation)
		sent.Sequence = 0
		if g := m.generated[dev][seq]; !proto.Equal(g, sent) {
			m.fail("device %s seq %d: sent %v, the phone made %v", dev, seq, sent, g)
		}
		want := m.apply(mut)
		if r.Status != want {
			m.fail("device %s seq %d (%v): server %v (%s %s), model %v", dev, seq, mut.Change, r.Status, r.Field, r.Reason, want)
		}
		m.applied[dev][seq] = r.Status
		if r.Status == rejected {
			m.rejected[dev][seq] = true
		}
	}
	if resp.LastSequence != m.lastSeq[dev] {
		m.fail("device %s: last_sequence %d, model %d", dev, resp.LastSequence, m.lastSeq[dev])
	}
}

// apply is the server's rule for one new mutation: its predicted status,
// and its effect on the model.
func (m *model) apply(mut *hepv1.Mutation) hepv1.MutationStatus {
	switch x := mut.Change.(type) {
	case *hepv1.Mutation_Log:
		l := x.Log
		if m.invalid[l.Id] {
			return rejected
		}
		if r := m.records["EXERCISE_LOG:"+l.Id]; r != nil { // a replay by id
			if proto.Equal(r.log, l) {
				return applied
			}
			return rejected
		}
		if l.Supersedes != "" {
			old := m.records["EXERCISE_LOG:"+l.Supersedes]
			if old == nil || !old.live {
				return rejected
			}
			old.live = false
		}
		m.records["EXERCISE_LOG:"+l.Id] = &modelRecord{log: l, live: true}
		return applied
	case *hepv1.Mutation_Checkin:
		c := x.Checkin
		if m.invalid[c.Id] {
			return rejected
		}
		if r := m.records["PAIN_CHECKIN:"+c.Id]; r != nil {
			if proto.Equal(r.checkin, c) {
				return applied
			}
			return rejected
		}
		if c.Supersedes != "" {
			old := m.records["PAIN_CHECKIN:"+c.Supersedes]
			if old == nil || !old.live {
				return rejected
			}
			old.live = false
		}
		m.records["PAIN_CHECKIN:"+c.Id] = &modelRecord{checkin: c, live: true}
		return applied
	case *hepv1.Mutation_Message:
		msg := x.Message
		if m.invalid[msg.Id] {
			return rejected
		}
		if old := m.records["MESSAGE:"+msg.Id]; old != nil {
			if proto.Equal(old.message, msg) {
				return applied
			}
			return rejected
		}
		m.records["MESSAGE:"+msg.Id] = &modelRecord{message: msg, live: true}
		return applied
	case *hepv1.Mutation_Response:
		r := x.Response
		if m.invalid[r.Id] {
			return rejected
		}
		if old := m.records["QUESTIONNAIRE_RESPONSE:"+r.Id]; old != nil { // a replay by id
			if proto.Equal(old.response, r) {
				return applied
			}
			return rejected
		}
		for _, old := range m.records { // the slot's live response is superseded
			if old.response != nil && old.live && slotKey(old.response) == slotKey(r) {
				old.live = false
			}
		}
		m.records["QUESTIONNAIRE_RESPONSE:"+r.Id] = &modelRecord{response: r, live: true}
		return applied
	case *hepv1.Mutation_Delete:
		kind := "EXERCISE_LOG:"
		if x.Delete.Kind == hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN {
			kind = "PAIN_CHECKIN:"
		}
		r := m.records[kind+x.Delete.Id]
		if r == nil {
			return rejected
		}
		r.live = false // deleting a deleted record is applied and changes nothing
		return applied
	default:
		return applied // screening answers
	}
}

// live returns the model's live logs and check-ins by id.
func (m *model) live() (map[string]*hepv1.ExerciseLog, map[string]*hepv1.PainCheckin) {
	logs, cs := map[string]*hepv1.ExerciseLog{}, map[string]*hepv1.PainCheckin{}
	for _, r := range m.records {
		switch {
		case !r.live:
		case r.log != nil:
			logs[r.log.Id] = r.log
		case r.checkin != nil:
			cs[r.checkin.Id] = r.checkin
		}
	}
	return logs, cs
}

// dead returns the ids of deleted and superseded records.
func (m *model) dead() map[string]bool {
	out := map[string]bool{}
	for _, r := range m.records {
		if !r.live {
			switch {
			case r.log != nil:
				out[r.log.Id] = true
			case r.checkin != nil:
				out[r.checkin.Id] = true
			case r.response != nil:
				out[r.response.Id] = true
			}
		}
	}
	return out
}
