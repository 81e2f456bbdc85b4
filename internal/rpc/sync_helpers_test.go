package rpc

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// newID is a phone-made record id: a UUIDv7 in canonical lower-case form.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// validLog is a session of cat-cow done at performed (by the phone's clock).
func validLog(id string, performed time.Time) *hepv1.ExerciseLog {
	return &hepv1.ExerciseLog{
		Id: id, ExerciseId: catCow, PerformTime: timestamppb.New(performed),
		SetsDone: 2, RepsDone: 10, HoldSecondsDone: 5, DurationSecondsDone: 600,
		PainBefore: proto.Int32(4), PainAfter: proto.Int32(3), Difficulty: hepv1.Difficulty_DIFFICULTY_JUST_RIGHT,
		Note: "a bit stiff at first",
	}
}

// validCheckin is a low-back pain score of 3 at recorded, without red flags.
func validCheckin(id string, recorded time.Time) *hepv1.PainCheckin {
	return &hepv1.PainCheckin{
		Id: id, RecordTime: timestamppb.New(recorded), Score: 3, Location: hepv1.PainLocation_PAIN_LOCATION_LOW_BACK,
		Note: "after the walk",
	}
}

func logMutation(seq int64, l *hepv1.ExerciseLog) *hepv1.Mutation {
	return &hepv1.Mutation{Sequence: seq, Change: &hepv1.Mutation_Log{Log: l}}
}

func checkinMutation(seq int64, c *hepv1.PainCheckin) *hepv1.Mutation {
	return &hepv1.Mutation{Sequence: seq, Change: &hepv1.Mutation_Checkin{Checkin: c}}
}

func deleteMutation(seq int64, kind hepv1.RecordKind, id string) *hepv1.Mutation {
	return &hepv1.Mutation{Sequence: seq, Change: &hepv1.Mutation_Delete{Delete: &hepv1.DeleteRecord{Kind: kind, Id: id}}}
}

func screeningMutation(seq int64, as []*hepv1.ScreeningAnswerInput) *hepv1.Mutation {
	return &hepv1.Mutation{Sequence: seq, Change: &hepv1.Mutation_Screening{Screening: &hepv1.ReportScreening{Answers: as}}}
}

const (
	kindLog     = hepv1.RecordKind_RECORD_KIND_EXERCISE_LOG
	kindCheckin = hepv1.RecordKind_RECORD_KIND_PAIN_CHECKIN

	applied  = hepv1.MutationStatus_MUTATION_STATUS_APPLIED
	rejected = hepv1.MutationStatus_MUTATION_STATUS_REJECTED
)

// phone is one enrolled device as the sync client would drive it: it
// numbers its mutations and keeps the records it pulled.
type phone struct {
	e        *env
	caller   string // a key of e.tok
	deviceID string
	seq      int64
	cursor   string
	records  map[string]int64 // "KIND:id" -> sequence
	pages    int
}

func (e *env) phone(caller, deviceID string) *phone {
	return &phone{e: e, caller: caller, deviceID: deviceID, records: map[string]int64{}}
}

// secondDevice enrolls another phone of patient A.
func (e *env) secondDevice(name string) *phone {
	e.t.Helper()
	id, tok, _ := e.enroll(callerClinA, e.patientA)
	e.tok[name] = tok
	return e.phone(name, id)
}

// push numbers the mutations after the phone's last and pushes them with the
// phone's clock equal to the server's; it fails the test on error.
func (p *phone) push(muts ...*hepv1.Mutation) *hepv1.PushResponse {
	p.e.t.Helper()
	for _, m := range muts {
		p.seq++
		m.Sequence = p.seq
	}
	resp, err := p.e.sync.Push(p.e.as(p.caller), &hepv1.PushRequest{DeviceId: p.deviceID, DeviceTime: timestamppb.Now(), Mutations: muts})
	if err != nil {
		p.e.t.Fatalf("Push as %s: %v", p.caller, err)
	}
	if len(resp.Results) != len(muts) || resp.LastSequence != p.seq {
		p.e.t.Fatalf("Push as %s: %d results, last %d; want %d, %d", p.caller, len(resp.Results), resp.LastSequence, len(muts), p.seq)
	}
	return resp
}

// pushOK pushes and fails the test unless every mutation applied.
func (p *phone) pushOK(muts ...*hepv1.Mutation) {
	p.e.t.Helper()
	for i, r := range p.push(muts...).Results {
		if r.Status != applied {
			p.e.t.Fatalf("mutation %d: %v %s: %s", i, r.Status, r.Field, r.Reason)
		}
	}
}

// pull pulls pages of pageSize from the phone's cursor until has_more is
// false, applying each page, and returns the last page.
func (p *phone) pull(pageSize int32) *hepv1.PullResponse {
	p.e.t.Helper()
	for n := 0; ; n++ {
		if n > 10000 {
			p.e.t.Fatal("pull never ends")
		}
		resp, err := p.e.sync.Pull(p.e.as(p.caller), &hepv1.PullRequest{DeviceId: p.deviceID, Cursor: p.cursor, PageSize: pageSize})
		if err != nil {
			p.e.t.Fatalf("Pull as %s: %v", p.caller, err)
		}
		p.pages++
		if int32(len(resp.Changes)) > pageSize {
			p.e.t.Fatalf("page of %d changes, page size %d", len(resp.Changes), pageSize)
		}
		last := int64(0)
		for _, c := range resp.Changes {
			var seq int64
			switch {
			case c.GetUpsert() != nil:
				u := c.GetUpsert()
				seq = u.Sequence
				p.records[recordKey(u.Kind, u.Id)] = u.Sequence
			case c.GetTombstone() != nil:
				tb := c.GetTombstone()
				seq = tb.Sequence
				delete(p.records, recordKey(tb.Kind, tb.Id))
			default:
				p.e.t.Fatalf("a change that is neither an upsert nor a tombstone: %v", c)
			}
			if seq <= last {
				p.e.t.Fatalf("changes out of sequence order: %d after %d", seq, last)
			}
			last = seq
		}
		if resp.NextCursor == "" {
			p.e.t.Fatal("no next cursor")
		}
		p.cursor = resp.NextCursor
		if !resp.HasMore {
			return resp
		}
		if resp.RecordCount != 0 || resp.RecordsHash != "" {
			p.e.t.Errorf("a page with has_more carries count %d, hash %q", resp.RecordCount, resp.RecordsHash)
		}
	}
}

// hash is the phone's own convergence hash, computed as sync.proto says:
// the hex XOR of SHA-256("KIND:id:sequence") over the records it holds.
func (p *phone) hash() string { return recordsHash(p.records) }

func recordKey(kind hepv1.RecordKind, id string) string {
	return strings.TrimPrefix(kind.String(), "RECORD_KIND_") + ":" + id
}

func recordsHash(records map[string]int64) string {
	var acc [32]byte
	for k, seq := range records {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", k, seq)))
		for i := range acc {
			acc[i] ^= h[i]
		}
	}
	return hex.EncodeToString(acc[:])
}

// liveLogs lists every live log of a patient as caller, by id.
func (e *env) liveLogs(caller, patientID string) map[string]*hepv1.ExerciseLog {
	e.t.Helper()
	out := map[string]*hepv1.ExerciseLog{}
	req := &hepv1.ListExerciseLogsRequest{PatientId: patientID, PageSize: 500}
	for {
		resp, err := e.logs.ListExerciseLogs(e.as(caller), req)
		if err != nil {
			e.t.Fatalf("ListExerciseLogs: %v", err)
		}
		for _, l := range resp.Logs {
			if out[l.Id] != nil {
				e.t.Fatalf("log %s listed twice", l.Id)
			}
			out[l.Id] = l
		}
		if resp.NextPageToken == "" {
			return out
		}
		req.PageToken = resp.NextPageToken
	}
}

// liveCheckins lists every live check-in of a patient as caller, by id.
func (e *env) liveCheckins(caller, patientID string) map[string]*hepv1.PainCheckin {
	e.t.Helper()
	out := map[string]*hepv1.PainCheckin{}
	req := &hepv1.ListPainCheckinsRequest{PatientId: patientID, PageSize: 500}
	for {
		resp, err := e.logs.ListPainCheckins(e.as(caller), req)
		if err != nil {
			e.t.Fatalf("ListPainCheckins: %v", err)
		}
		for _, c := range resp.Checkins {
			out[c.Id] = c
		}
		if resp.NextPageToken == "" {
			return out
		}
		req.PageToken = resp.NextPageToken
	}
}
