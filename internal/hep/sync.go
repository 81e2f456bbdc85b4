package hep

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// Difficulty is how hard a session felt.
type Difficulty string

// The difficulties; "" means the patient did not say.
const (
	DifficultyTooEasy    Difficulty = "TOO_EASY"
	DifficultyJustRight  Difficulty = "JUST_RIGHT"
	DifficultyTooHard    Difficulty = "TOO_HARD"
	DifficultyUnreported Difficulty = ""
)

// PainLocation is where a check-in's pain is.
type PainLocation string

// The pain locations.
const (
	PainLowBack PainLocation = "LOW_BACK"
	PainNeck    PainLocation = "NECK"
	PainLeg     PainLocation = "LEG"
	PainOther   PainLocation = "OTHER"
)

// RecordKind names a kind of synced record.
type RecordKind string

// The synced record kinds. Plan and screening have the single id "current".
const (
	KindLog       RecordKind = "EXERCISE_LOG"
	KindCheckin   RecordKind = "PAIN_CHECKIN"
	KindPlan      RecordKind = "PLAN"
	KindCatalog   RecordKind = "EXERCISE"
	KindScreening RecordKind = "SCREENING"
	// KindQuestionnaires is the patient's active questionnaire assignments
	// (id "current"); KindResponse a questionnaire response.
	KindQuestionnaires RecordKind = "QUESTIONNAIRES"
	KindResponse       RecordKind = "QUESTIONNAIRE_RESPONSE"
)

// CurrentID is the id of the single plan and screening records.
const CurrentID = "current"

// ExerciseLog is one session a patient did, as the phone recorded it. Logs
// are append-only: a correction is a new log that supersedes an old one, a
// deletion is a tombstone.
type ExerciseLog struct {
	ID                   string // phone-made UUID
	PatientID            string
	DeviceID             string
	ExerciseID           string
	PlanVersion          int64
	PerformTime          time.Time // phone clock: informational
	CorrectedPerformTime time.Time // PerformTime shifted by the phone's clock skew
	ReceiveTime          time.Time
	SetsDone             int32
	RepsDone             int32
	HoldSecondsDone      int32
	DurationSecondsDone  int32
	PainBefore           *int32 // NRS 0-10
	PainAfter            *int32
	Difficulty           Difficulty
	Note                 string
	Supersedes           string
	ItemSuspended        bool // the plan item was SUSPENDED when it arrived
}

// PainCheckin is a pain score reported outside a session.
type PainCheckin struct {
	ID                  string
	PatientID           string
	DeviceID            string
	RecordTime          time.Time // phone clock: informational
	CorrectedRecordTime time.Time
	ReceiveTime         time.Time
	Score               int32 // NRS 0-10
	Location            PainLocation
	RedFlags            []RedFlag
	Note                string
	Supersedes          string
}

// DeleteRecord is a phone's request to delete one of its patient's logs or
// check-ins.
type DeleteRecord struct {
	Kind RecordKind // KindLog or KindCheckin
	ID   string
}

// Mutation is one numbered change a phone made offline. Exactly one of Log,
// Checkin, Delete, Screening and Response is set.
type Mutation struct {
	Seq       int64
	Log       *ExerciseLog
	Checkin   *PainCheckin
	Delete    *DeleteRecord
	Screening []ScreeningInput
	Response  *QuestionnaireResponse
	Message   *Message
	// MessagesRead moves the patient's read mark to this thread sequence.
	MessagesRead *int64
	Reminders    *ReminderPreferences
}

// MutationStatus is what became of a mutation.
type MutationStatus string

// The statuses.
const (
	MutationApplied  MutationStatus = "APPLIED"
	MutationRejected MutationStatus = "REJECTED"
)

// MutationResult is the stored outcome of one mutation.
type MutationResult struct {
	Seq      int64
	Status   MutationStatus
	Reason   string
	Field    string
	Replayed bool
}

// Sync limits.
const (
	MaxMutationsPerPush = 500
	MaxPullPage         = 1000
	DefaultPullPage     = 500
	// MaxTimeDrift bounds skew-corrected times: further than this from the
	// server's clock a time is not a typo the server can store.
	MaxTimeDrift = 10 * 365 * 24 * time.Hour
	// MaxFutureDrift bounds how far ahead a corrected time may be.
	MaxFutureDrift = 24 * time.Hour
	// TombstoneRetention is how long a deletion stays pullable; a cursor
	// older than the oldest purged tombstone must reset.
	TombstoneRetention = 90 * 24 * time.Hour
)

// CorrectTime shifts a phone-clock time by the phone's skew: the difference
// between the server's clock and the phone's when it sent the push. Without
// a device time the time is taken as it is.
func CorrectTime(t, deviceTime, now time.Time) time.Time {
	if deviceTime.IsZero() {
		return t
	}
	return t.Add(now.Sub(deviceTime))
}

func checkCorrected(v *Violations, field string, t, now time.Time) {
	switch {
	case t.IsZero():
		v.Add(field, "is required")
	case t.Before(now.Add(-MaxTimeDrift)):
		v.Add(field, "is more than 10 years in the past even after correcting the phone's clock")
	case t.After(now.Add(MaxFutureDrift)):
		v.Add(field, "is in the future even after correcting the phone's clock")
	}
}

func checkPain(v *Violations, field string, p *int32) {
	if p != nil && (*p < 0 || *p > 10) {
		v.Add(field, "must be an NRS score from 0 to 10")
	}
}

// ValidateLog checks a pushed log (after time correction). Field names are
// relative to the mutation ("log.pain_after").
func ValidateLog(l ExerciseLog, now time.Time) error {
	var v Violations
	if !isUUID(l.ID) {
		v.Add("log.id", "must be a UUID in canonical lower-case form")
	}
	CheckSlug(&v, "log.exercise_id", l.ExerciseID)
	if l.PlanVersion < 0 {
		v.Add("log.plan_version", "must not be negative")
	}
	checkCorrected(&v, "log.perform_time", l.CorrectedPerformTime, now)
	for _, c := range []struct {
		name string
		x    int32
		max  int32
	}{{"sets_done", l.SetsDone, MaxSets}, {"reps_done", l.RepsDone, MaxReps},
		{"hold_seconds_done", l.HoldSecondsDone, MaxHoldSeconds}, {"duration_seconds_done", l.DurationSecondsDone, MaxDurationSeconds}} {
		if c.x < 0 || c.x > c.max {
			v.Add("log."+c.name, "must be between 0 and %d", c.max)
		}
	}
	checkPain(&v, "log.pain_before", l.PainBefore)
	checkPain(&v, "log.pain_after", l.PainAfter)
	switch l.Difficulty {
	case DifficultyUnreported, DifficultyTooEasy, DifficultyJustRight, DifficultyTooHard:
	default:
		v.Add("log.difficulty", "unknown difficulty")
	}
	checkMultiline(&v, "log.note", l.Note, false, MaxNoteLen)
	if l.Supersedes != "" && (!isUUID(l.Supersedes) || l.Supersedes == l.ID) {
		v.Add("log.supersedes", "must be the UUID of another log")
	}
	return v.Err()
}

// ValidateCheckin checks a pushed check-in (after time correction).
func ValidateCheckin(c PainCheckin, now time.Time) error {
	var v Violations
	if !isUUID(c.ID) {
		v.Add("checkin.id", "must be a UUID in canonical lower-case form")
	}
	checkCorrected(&v, "checkin.record_time", c.CorrectedRecordTime, now)
	if c.Score < 0 || c.Score > 10 {
		v.Add("checkin.score", "must be an NRS score from 0 to 10")
	}
	switch c.Location {
	case PainLowBack, PainNeck, PainLeg, PainOther:
	default:
		v.Add("checkin.location", "must be LOW_BACK, NECK, LEG or OTHER")
	}
	seen := map[RedFlag]bool{}
	for i, r := range c.RedFlags {
		known := false
		for _, x := range RedFlags {
			known = known || r == x
		}
		if !known || seen[r] {
			v.Add(fmt.Sprintf("checkin.red_flags[%d]", i), "must be a distinct red-flag symptom")
		}
		seen[r] = true
	}
	checkMultiline(&v, "checkin.note", c.Note, false, MaxNoteLen)
	if c.Supersedes != "" && (!isUUID(c.Supersedes) || c.Supersedes == c.ID) {
		v.Add("checkin.supersedes", "must be the UUID of another check-in")
	}
	return v.Err()
}

// ValidateMutation checks one mutation's content. An error here is
// permanent: the mutation is recorded as rejected and never retried.
func ValidateMutation(m Mutation, now time.Time) error {
	n := 0
	for _, set := range []bool{m.Log != nil, m.Checkin != nil, m.Delete != nil, m.Screening != nil, m.Response != nil,
		m.Message != nil, m.MessagesRead != nil, m.Reminders != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		var v Violations
		v.Add("change", "exactly one of log, checkin, delete, screening, response, message, messages_read, reminder_preferences must be set")
		return v.Err()
	}
	switch {
	case m.Log != nil:
		return ValidateLog(*m.Log, now)
	case m.Checkin != nil:
		return ValidateCheckin(*m.Checkin, now)
	case m.Message != nil:
		return ValidatePatientMessage(*m.Message, now)
	case m.Reminders != nil:
		return m.Reminders.Validate("reminder_preferences")
	case m.MessagesRead != nil:
		var v Violations
		if *m.MessagesRead < 1 {
			v.Add("messages_read.read_through", "must be a thread sequence number, 1 or more")
		}
		return v.Err()
	case m.Response != nil:
		// The answers are checked against the assignment's instrument
		// when the store applies the mutation.
		return ValidateResponseShape(*m.Response, now)
	case m.Delete != nil:
		var v Violations
		if m.Delete.Kind != KindLog && m.Delete.Kind != KindCheckin {
			v.Add("delete.kind", "must be EXERCISE_LOG or PAIN_CHECKIN")
		}
		if !isUUID(m.Delete.ID) {
			v.Add("delete.id", "must be a UUID")
		}
		return v.Err()
	default:
		if err := ValidateScreeningInputs(m.Screening); err != nil {
			e := err.(*Error)
			for i := range e.Violations {
				e.Violations[i].Field = "screening." + e.Violations[i].Field
			}
			return e
		}
		return nil
	}
}

// ValidateBatch checks the shape of a push as a whole (a failure rejects
// the call and stores nothing): 1 to MaxMutationsPerPush mutations whose
// sequence numbers start at 1 or more and are consecutive.
func ValidateBatch(muts []Mutation) error {
	var v Violations
	if len(muts) == 0 || len(muts) > MaxMutationsPerPush {
		v.Add("mutations", "must hold 1 to %d mutations", MaxMutationsPerPush)
		return v.Err()
	}
	if muts[0].Seq < 1 {
		v.Add("mutations[0].sequence", "must be 1 or more")
		return v.Err()
	}
	for i := 1; i < len(muts); i++ {
		if muts[i].Seq != muts[i-1].Seq+1 {
			v.Add(fmt.Sprintf("mutations[%d].sequence", i),
				"must be mutations[%d].sequence + 1: the sequence numbers of a push are consecutive", i-1)
			break
		}
	}
	return v.Err()
}

// RejectionOf turns a validation error into a rejected result.
func RejectionOf(seq int64, err error) MutationResult {
	r := MutationResult{Seq: seq, Status: MutationRejected, Reason: err.Error()}
	if e, ok := err.(*Error); ok {
		r.Reason = e.Message
		if len(e.Violations) > 0 {
			r.Field, r.Reason = e.Violations[0].Field, e.Violations[0].Description
		}
	}
	return r
}

// ContentHash fingerprints what the phone sent for a log, so that the same
// id arriving again with other content is told apart from a replay. Times
// are the phone's own (not corrected), so a replay hashes the same whatever
// the skew.
func (l ExerciseLog) ContentHash() string {
	h := newHasher()
	h.str(l.ID).str(l.ExerciseID).i64(l.PlanVersion).time(l.PerformTime).
		i64(int64(l.SetsDone)).i64(int64(l.RepsDone)).i64(int64(l.HoldSecondsDone)).i64(int64(l.DurationSecondsDone)).
		opt(l.PainBefore).opt(l.PainAfter).str(string(l.Difficulty)).str(l.Note).str(l.Supersedes)
	return h.sum()
}

// ContentHash fingerprints what the phone sent for a check-in.
func (c PainCheckin) ContentHash() string {
	h := newHasher()
	h.str(c.ID).time(c.RecordTime).i64(int64(c.Score)).str(string(c.Location))
	for _, r := range c.RedFlags {
		h.str(string(r))
	}
	h.str("|").str(c.Note).str(c.Supersedes)
	return h.sum()
}

type hasher struct{ b []byte }

func newHasher() *hasher { return &hasher{} }

func (h *hasher) str(s string) *hasher {
	h.b = binary.BigEndian.AppendUint64(h.b, uint64(len(s)))
	h.b = append(h.b, s...)
	return h
}

func (h *hasher) i64(x int64) *hasher {
	h.b = binary.BigEndian.AppendUint64(h.b, uint64(x))
	return h
}

func (h *hasher) time(t time.Time) *hasher { return h.str(t.UTC().Format(time.RFC3339Nano)) }

func (h *hasher) opt(p *int32) *hasher {
	if p == nil {
		return h.i64(-1)
	}
	return h.i64(int64(*p))
}

func (h *hasher) sum() string {
	s := sha256.Sum256(h.b)
	return hex.EncodeToString(s[:])
}

// SyncEntry is one record's place in a patient's change sequence.
type SyncEntry struct {
	Kind    RecordKind
	ID      string
	Seq     int64
	Deleted bool // a tombstone
}

// RecordHash is one record's share of the convergence hash.
func RecordHash(kind RecordKind, id string, seq int64) [32]byte {
	return sha256.Sum256([]byte(fmt.Sprintf("%s:%s:%d", kind, id, seq)))
}

// ConvergenceHash is the hex XOR of RecordHash over live records: it does
// not depend on order, so the phone computes it over its local copy.
func ConvergenceHash(live []SyncEntry) string {
	var acc [32]byte
	for _, e := range live {
		if e.Deleted {
			continue
		}
		h := RecordHash(e.Kind, e.ID, e.Seq)
		for i := range acc {
			acc[i] ^= h[i]
		}
	}
	return hex.EncodeToString(acc[:])
}

// Change is one entry of a pull page: a record to upsert (one of the value
// fields set) or a tombstone.
type Change struct {
	SyncEntry
	Log       *ExerciseLog
	Checkin   *PainCheckin
	Plan      *Plan
	Exercise  *Exercise
	Screening Screening
	// Questionnaires is the active assignments (KindQuestionnaires).
	Questionnaires *QuestionnairesSnapshot
	Response       *QuestionnaireResponse
	Message        *Message
	Thread         *MessageThread
}

// QuestionnairesSnapshot is what a phone needs to ask its questionnaires:
// the active assignments, oldest first, and the patient's time zone their
// schedules are in.
type QuestionnairesSnapshot struct {
	Assignments []Assignment
	Instruments []Instrument // those the assignments name, with the clinic's text
	TimeZone    string
}

// PullPage is one page of a pull.
type PullPage struct {
	Changes []Change
	Next    int64 // the sequence to resume after
	HasMore bool
	// On the last page: what the phone should hold, and what is due
	// (DueList) in the patient's zone.
	Count     int64
	Hash      string
	Due       []DueEntry
	TimeZone  string
	Reminders ReminderPreferences
}

// LogFilter selects a page of a patient's live logs or check-ins, newest
// first by corrected time.
type LogFilter struct {
	PatientID  string
	BeforeTime time.Time // with BeforeID, where the previous page ended
	BeforeID   string
	Limit      int
}

// SuspendedLogAlert is the alert for a log of a suspended plan item
// (LogAlerts raises it): the log is kept, and the care team should know
// the patient did it anyway. Each such log is an occurrence (its trigger
// names it), coalesced per exercise.
func SuspendedLogAlert(l ExerciseLog) Alert {
	return Alert{PatientID: l.PatientID, Kind: AlertLoggedWhileSuspended, Severity: AlertRoutine, Status: AlertOpen,
		Subject: l.ExerciseID, Trigger: LogTrigger(l.ID),
		Summary: fmt.Sprintf("The patient logged %s while it is suspended.", l.ExerciseID)}
}
