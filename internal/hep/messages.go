package hep

import (
	"fmt"
	"strings"
	"time"
)

// Messages: one thread per patient between the patient's phones and the
// care team, plus notices hep writes for the patient. A message is health
// data: stores audit every read and write, and nothing logs its body.

// MessageSender is who wrote a message.
type MessageSender string

// The senders.
const (
	SenderPatient   MessageSender = "PATIENT"
	SenderClinician MessageSender = "CLINICIAN"
	SenderSystem    MessageSender = "SYSTEM"
)

// SystemSenderID is the sender id of hep's own notices.
const SystemSenderID = "system"

// The record kinds of the thread: each message (its id), and the read
// marks (id "current").
const (
	KindMessage RecordKind = "MESSAGE"
	KindThread  RecordKind = "MESSAGE_THREAD"
)

// Limits of messages.
const (
	MaxMessageLen = 2000
	// MessageRateWindow and the limits below bound how many messages one
	// side of a thread stores in a sliding window (RESOURCE_EXHAUSTED
	// past them; a phone's push is retried later, nothing is lost).
	MessageRateWindow      = time.Hour
	MaxPatientMessagesRate = 30
	MaxTeamMessagesRate    = 60
)

// Message is one message of a patient's thread.
type Message struct {
	ID         string
	PatientID  string
	Sender     MessageSender
	SenderID   string // device, account or SystemSenderID
	SenderName string // a clinician's display name (read with the message)
	Body       string
	ThreadSeq  int64 // 1, 2, 3, ... in the order the server stored them
	// SentTime is when it was written: the phone's clock corrected for
	// skew for a patient's message (PhoneSentTime is the phone's own), the
	// server's otherwise.
	SentTime      time.Time
	PhoneSentTime time.Time
	ReceiveTime   time.Time
}

// ContentHash fingerprints what the phone sent for a message.
func (m Message) ContentHash() string {
	return newHasher().str(m.ID).str(m.Body).time(m.PhoneSentTime).sum()
}

// MessageThread is a thread's read marks and counts.
type MessageThread struct {
	ReadByPatientThrough int64
	ReadByTeamThrough    int64
	TeamReadBy           string
	TeamReadTime         time.Time
	UnreadByTeam         int32 // the patient's messages after the team's mark
	UnreadByPatient      int32 // the others' messages after the patient's mark
	LastThreadSeq        int64
}

// MessageFilter selects a page of a thread, newest first: messages with a
// thread sequence below BeforeSeq (0: from the newest).
type MessageFilter struct {
	PatientID string
	BeforeSeq int64
	Limit     int
}

// ValidateMessageBody checks a message's text: 1-2000 characters of valid
// UTF-8, not only white space, no control characters but newlines and
// tabs.
func ValidateMessageBody(v *Violations, field, body string) {
	checkMultiline(v, field, body, true, MaxMessageLen)
	if body != "" && strings.TrimSpace(body) == "" {
		v.Add(field, "must not be only white space")
	}
}

// ValidatePatientMessage checks a phone's message (after time
// correction).
func ValidatePatientMessage(m Message, now time.Time) error {
	var v Violations
	if !isUUID(m.ID) {
		v.Add("message.id", "must be a UUID in canonical lower-case form")
	}
	ValidateMessageBody(&v, "message.body", m.Body)
	checkCorrected(&v, "message.sent_time", m.SentTime, now)
	return v.Err()
}

// ErrMessageRate is the error past a side's message rate.
func ErrMessageRate(limit int) error {
	return &Error{Code: CodeResourceExhausted, Reason: ReasonResourceExhausted,
		Message: fmt.Sprintf("more than %d messages in an hour; try again later", limit)}
}

// The notices hep writes to a patient, in plain words. They name no
// condition, no answer and no clinician: a phone's lock screen may show
// them.
const (
	NoticeRedFlagHold = "Thank you for telling us about your symptoms. Your exercise plan is paused " +
		"until your care team has looked at them; please do not do your exercises until they contact you. " +
		"If your symptoms are severe or getting worse, or you have new numbness, weakness, or trouble " +
		"controlling your bladder or bowels, call your local emergency number or go to an emergency department now."
	NoticeItemsPaused = "Some exercises in your plan are paused after your latest health answers. " +
		"Please do not do the paused exercises until your care team has reviewed them; the others are unchanged. " +
		"Your care team has been told."
	NoticeHoldLifted = "Your care team has reviewed your report and your exercise plan is active again. " +
		"Open the app to see today's exercises."
)
