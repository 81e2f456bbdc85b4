package hep

import (
	"context"
	"time"
)

// Store is what hep remembers. Each method is one transaction.
//
// Audit: every method marked "audited" writes exactly one audit row, for
// ActorFrom(ctx) with outcome OK. A method that changes data writes it in
// the same transaction as its work; a method that only reads writes it
// after its read and before it returns, durably (a store may keep such rows
// in a chain of their own, so that reads never wait for data writes). If the
// audit row cannot be written the method fails, nothing changes and nothing
// is returned. Methods that fail write nothing (the transport records
// failures with AppendAudit).
// Methods not marked audited are lookups the transport itself makes while
// authenticating and authorizing a call.
//
// Errors: methods return *Error values with the codes documented on them;
// anything else is an internal failure.
type Store interface {
	// Secret returns the named 32-byte server secret, creating it at random on
	// first use. Not audited.
	Secret(ctx context.Context, name string) ([]byte, error)

	// CreateAccount stores a new account with the given password hash.
	// ALREADY_EXISTS if the email is taken. Audited (resource accounts/ID).
	CreateAccount(ctx context.Context, a AccountCreate, passwordHash string) (Account, error)
	// EnsureAdmin creates an admin account unless one with that email exists.
	// created is false (and nothing changes) if an admin with the email exists;
	// ALREADY_EXISTS if a clinician has it. Audited when it creates.
	EnsureAdmin(ctx context.Context, a AccountCreate, passwordHash string) (acct Account, created bool, err error)
	// GetAccount returns an account. NOT_FOUND. Audited.
	GetAccount(ctx context.Context, id string) (Account, error)
	// ListAccounts returns a page of accounts. Audited (resource accounts).
	ListAccounts(ctx context.Context, f AccountFilter) ([]Account, error)
	// UpdateAccount applies u. Disabling revokes every live session of the
	// account in the same transaction. NOT_FOUND. Audited.
	UpdateAccount(ctx context.Context, id string, u AccountUpdate) (Account, error)
	// AccountCredentials returns the account with this (normalized) email and
	// its password hash. NOT_FOUND. Not audited: SignIn audits its outcome.
	AccountCredentials(ctx context.Context, email string) (Account, string, error)
	// CountAdmins returns how many enabled admin accounts exist. Not audited.
	CountAdmins(ctx context.Context) (int, error)

	// StartSession starts a session for an enabled account with its first
	// refresh token. NOT_FOUND for an unknown account, FAILED_PRECONDITION if
	// it is disabled. Audited (resource sessions/ID).
	StartSession(ctx context.Context, s SessionStart) (Session, error)
	// RotateRefreshToken marks the refresh token with oldHash used and stores
	// next in the same session. If oldHash was already used, the session is
	// revoked (and that revocation committed) and the error is UNAUTHENTICATED
	// with reason REFRESH_TOKEN_REUSED. Unknown, expired or revoked:
	// UNAUTHENTICATED. Audited (resource sessions/ID) as the session's
	// principal, on reuse too.
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken) (Session, error)
	// Session returns a session by id with its live/revoked state; a session
	// whose account is disabled or whose device is revoked is reported
	// revoked. NOT_FOUND. Not audited.
	Session(ctx context.Context, id string) (Session, error)
	// RevokeSession revokes a session (idempotent). NOT_FOUND. Audited.
	RevokeSession(ctx context.Context, id string) error

	// CreateEnrollmentCode stores the hash of a one-time enrollment code for
	// a patient. NOT_FOUND if the patient does not exist. Audited.
	CreateEnrollmentCode(ctx context.Context, patientID, codeHash string, expire time.Time) error
	// EnrollDevice redeems an enrollment code (unused, unexpired) for a new
	// device and its first session, all in one transaction; the code can never
	// be used again. UNAUTHENTICATED with reason ENROLLMENT_CODE_INVALID
	// otherwise (an expired code is one whose expiry is <= now). Audited
	// (resource patients/P/devices/D; the actor becomes the new device).
	EnrollDevice(ctx context.Context, d DeviceEnroll, refresh RefreshToken) (Device, Session, error)
	// ListDevices returns a patient's devices, oldest first (empty for an
	// unknown patient: callers authorize the patient first). Audited.
	ListDevices(ctx context.Context, patientID string) ([]Device, error)
	// RevokeDevice revokes a patient's device and every session of it
	// (idempotent). NOT_FOUND if the device is not that patient's. Audited.
	RevokeDevice(ctx context.Context, patientID, deviceID string) (Device, error)

	// CreatePatient stores a new patient and puts clinicianID on its care
	// team. NOT_FOUND if the clinician account does not exist,
	// FAILED_PRECONDITION if it is not an enabled clinician. Audited.
	CreatePatient(ctx context.Context, p PatientCreate, clinicianID string) (Patient, error)
	// GetPatient returns a patient. NOT_FOUND. Audited.
	GetPatient(ctx context.Context, id string) (Patient, error)
	// ListPatients returns a page of a clinician's care-team patients.
	// Audited (resource patients).
	ListPatients(ctx context.Context, f PatientFilter) ([]Patient, error)
	// UpdatePatient applies u. NOT_FOUND. Audited.
	UpdatePatient(ctx context.Context, id string, u PatientUpdate) (Patient, error)
	// OnCareTeam reports whether clinicianID is on patientID's care team (false
	// for a patient that does not exist). Not audited.
	OnCareTeam(ctx context.Context, clinicianID, patientID string) (bool, error)
	// PatientExists reports whether a patient exists. Not audited.
	PatientExists(ctx context.Context, patientID string) (bool, error)
	// AddCareTeamMember puts an enabled clinician on a patient's care team
	// (idempotent). NOT_FOUND for an unknown patient; FAILED_PRECONDITION if
	// the account is not an enabled clinician (NOT_FOUND if it does not
	// exist). Audited.
	AddCareTeamMember(ctx context.Context, patientID, clinicianID string) (CareTeamMember, error)
	// RemoveCareTeamMember takes a clinician off a care team. NOT_FOUND if the
	// clinician was not on it. Audited.
	RemoveCareTeamMember(ctx context.Context, patientID, clinicianID string) error
	// ListCareTeamMembers lists a patient's care team, oldest first (empty
	// for an unknown patient). Audited.
	ListCareTeamMembers(ctx context.Context, patientID string) ([]CareTeamMember, error)

	// AppendAudit appends one event built from its fields (Chain, Seq,
	// Time, PrevHash and Hash are assigned by the store) in its own
	// transaction: the transport's record of a call that failed or was
	// refused, which changed nothing. A store may write it to a chain that
	// data writes do not wait for.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAuditEvents returns a page of events of every chain, in listing
	// order (time, chain, sequence), after f.After. Audited (the read of
	// the trail is itself recorded, after the page is read).
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// AuditHeads and ScanAudit (AuditReader) read the chains for
	// VerifyAudit and for checkpoints. Not audited.
	AuditReader

	// ---- Clinical core. Every method below is audited. ----

	// ---- Clinical core. Every method below is audited. ----

	// ListExercises returns the catalog: built-in entries first (by id), then
	// clinic entries in creation order; retired ones only if asked.
	ListExercises(ctx context.Context, includeRetired bool) ([]Exercise, error)
	// GetExercise returns a catalog entry. NOT_FOUND.
	GetExercise(ctx context.Context, id string) (Exercise, error)
	// CreateExercise stores a validated clinic entry (BuiltIn false,
	// CatalogVersion 0). ALREADY_EXISTS if the id is taken.
	CreateExercise(ctx context.Context, e Exercise) (Exercise, error)
	// RetireExercise retires a clinic entry (idempotent). NOT_FOUND;
	// FAILED_PRECONDITION for a built-in entry.
	RetireExercise(ctx context.Context, id string) (Exercise, error)

	// RecordScreening appends validated answers with the source and
	// recorder taken from ActorFrom(ctx) (SourceFor(role), actor id), each
	// marked effective or not by TakesEffect (a device cannot lower a
	// clinician-verified answer). In the same transaction it ends the
	// clearances EndedClearances names for the effective answers, re-gates
	// the current plan with Regate, stores the changed item states, keeps a
	// GatingDecision per changed item (cause SCREENING_CHANGED) and raises
	// AlertForScreening. Returns the new current screening (latest effective
	// answer per flag) and the exercise ids of the changed items.
	RecordScreening(ctx context.Context, patientID string, answers []ScreeningInput) (Screening, []string, error)
	// GetScreening returns the current screening (latest answer per flag).
	GetScreening(ctx context.Context, patientID string) (Screening, error)
	// ListScreeningHistory returns a page of answers, newest first.
	ListScreeningHistory(ctx context.Context, f ScreeningFilter) ([]ScreeningAnswer, error)
	// ReportRedFlags records a red-flag report by the actor, raises
	// RedFlagAlert, puts the plan on red-flag hold and re-gates it (every
	// item SUSPENDED; decisions with cause RED_FLAG), in one transaction.
	ReportRedFlags(ctx context.Context, patientID string, symptoms []RedFlag, note string) (Alert, error)

	// GetPlan returns plan version v (0: the current one; a patient without a
	// plan gets Plan{PatientID, Version: 0}). NOT_FOUND for an unknown
	// version.
	GetPlan(ctx context.Context, patientID string, version int64) (Plan, error)
	// SetPlan writes a new plan version, in one transaction: ABORTED with
	// reason VERSION_MISMATCH unless in.ExpectedVersion is the current
	// version; ValidateItems against the catalog and the current version
	// (INVALID_ARGUMENT); GateItems against the current screening and live
	// clearances. If the gate blocks an item, the refused decisions are kept
	// (cause PLAN_REFUSED, committed on their own) and the GateItems error
	// is returned: nothing else is written. Otherwise items get
	// StateFor(decision, hold), and decisions resting on clearances are
	// kept (cause PLAN_WRITTEN).
	SetPlan(ctx context.Context, patientID string, in PlanInput) (Plan, error)
	// CheckPlan validates items like SetPlan and returns the gate's decision
	// for each, writing nothing but the audit row.
	CheckPlan(ctx context.Context, patientID string, items []ItemSpec) ([]Decision, error)
	// ClearItem stores a clearance given by the actor: NOT_FOUND for an
	// unknown exercise; CheckClearance (FAILED_PRECONDITION); ALREADY_EXISTS
	// if a live clearance for the exercise and flag exists. It keeps a
	// decision for the cleared exercise (cause CLEARANCE), re-gates the plan
	// and returns the exercise ids of the items that changed.
	ClearItem(ctx context.Context, c Clearance) (Clearance, []string, error)
	// ListClearances returns every clearance of a patient, newest first.
	ListClearances(ctx context.Context, patientID string) ([]Clearance, error)
	// ListGatingDecisions returns a page of the decision trail, newest first.
	ListGatingDecisions(ctx context.Context, f DecisionFilter) ([]GatingDecision, error)

	// Alerts are coalesced: every method that raises one (RecordScreening,
	// ReportRedFlags, Push, EvaluateAdherence) stores each occurrence as a
	// record of its own (an AlertOccurrence, with its trigger, time and
	// summary; at most one per patient, kind and non-empty trigger, so the
	// same data raises nothing twice) and folds it with Coalesce into the
	// patient's one OPEN alert of its kind and subject, opening a new alert
	// when there is none. A store keeps at most one OPEN alert per patient,
	// kind and subject.

	// ListAlerts returns a page of alerts, newest first (by their first
	// occurrence, the id): a patient's, or with f.PatientID empty those of
	// f.ClinicianID's care-team patients, narrowed by status, kinds and
	// severity.
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// ListAlertOccurrences returns a page of one alert's occurrences, newest
	// first. NOT_FOUND unless the alert is the patient's.
	ListAlertOccurrences(ctx context.Context, f AlertOccurrenceFilter) ([]AlertOccurrence, error)
	// AcknowledgeAlert marks an open alert of the patient acknowledged by the
	// actor with a note, after CheckAck(alert, expectedOccurrences):
	// FAILED_PRECONDITION if already acknowledged, ABORTED with reason
	// ALERT_CHANGED if expectedOccurrences > 0 and the alert has another
	// number of occurrences (nothing changes then). NOT_FOUND (also for
	// another patient's alert). Acknowledging the last open RED_FLAG alert
	// lifts the hold and re-gates (cause RED_FLAG); returns the exercise
	// ids of the items that changed. The next occurrence of the same kind
	// and subject opens a new alert.
	AcknowledgeAlert(ctx context.Context, patientID, alertID, note string, expectedOccurrences int32) (Alert, []string, error)
	// OpenAlertCounts returns how many alerts are open over every patient,
	// by kind (kinds without an open alert are absent), for the operator's
	// metrics. Counts only, no patient's data: not audited (housekeeping).
	// It must stay cheap: it runs on every metrics scrape.
	OpenAlertCounts(ctx context.Context) (map[AlertKind]int, error)

	// ---- Patient sync. Every method below is audited. ----

	// Push applies a device's mutations in one transaction, for the device
	// and patient of ActorFrom(ctx) (a PATIENT actor). Mutations must pass
	// ValidateBatch (the transport checks). The SEQUENCE_GAP error carries
	// Metadata "last_sequence". With last the
	// device's highest stored sequence: a mutation with Seq <= last returns
	// its stored result (Replayed); if the first new Seq is not last+1 the
	// call fails FAILED_PRECONDITION with reason SEQUENCE_GAP and applies
	// nothing. Each new mutation is validated (ValidateMutation, with times
	// already corrected by the transport) and applied; a mutation that can
	// never apply (invalid, unknown exercise, an id reused with other
	// content, a correction or deletion of a record the patient does not
	// have) is stored REJECTED and the sequence still advances. Applying:
	// logs and check-ins are inserted (a replay of identical content is
	// APPLIED); Supersedes and deletions tombstone the older record; a log
	// of a SUSPENDED plan item is kept, marked ItemSuspended and alerted
	// (LogAlerts: one LOGGED_WHILE_SUSPENDED occurrence per log, coalesced per
	// exercise); a check-in with red flags acts as ReportRedFlags;
	// screening acts as RecordScreening; a questionnaire response must name
	// one of the patient's assignments (active, or ended after the slot)
	// and a slot of it due by the patient's today, and pass ValidateAnswers
	// (else REJECTED); it supersedes the slot's live response, whose
	// tombstone the phone pulls; a message is stored like SendMessage's
	// with sender PATIENT (the whole push fails RESOURCE_EXHAUSTED past
	// MaxPatientMessagesRate, so nothing is lost: the phone retries later);
	// messages_read moves the patient's read mark forward (REJECTED beyond
	// the last message); reminder_preferences are stored as
	// SetReminderPreferences stores them (REJECTED if invalid). Every change bumps the patient's
	// change sequence in the same transaction. Returns one result per
	// mutation and the new last sequence.
	Push(ctx context.Context, deviceID string, muts []Mutation) ([]MutationResult, int64, error)
	// Pull returns up to limit changes of the patient with sequence > after,
	// in sequence order: the live logs and check-ins of all the patient's
	// devices, the current plan ("current"), the current screening
	// ("current"), the catalog entries the plan refers to, and tombstones.
	// On the last page it sets Count and Hash (ConvergenceHash of every live
	// entry) and Next is the patient's current sequence. FAILED_PRECONDITION
	// with reason CURSOR_EXPIRED if after > 0 and tombstones after it were
	// purged, or if after is ahead of the patient's sequence (a server
	// restored from an older backup). A pull from 0 first re-bumps live
	// entries below the purge horizon, so a reset always completes, whatever
	// the page size.
	Pull(ctx context.Context, patientID string, after int64, limit int) (PullPage, error)
	// PurgeTombstones forgets tombstones deleted before cutoff, and every
	// tombstone below the resulting purge horizon (not audited:
	// housekeeping); cursors older than the horizon then expire.
	PurgeTombstones(ctx context.Context, cutoff time.Time) (int, error)
	// ListExerciseLogs returns a page of a patient's live logs, newest
	// corrected perform time first.
	ListExerciseLogs(ctx context.Context, f LogFilter) ([]ExerciseLog, error)
	// ListPainCheckins returns a page of a patient's live check-ins, newest
	// corrected record time first.
	ListPainCheckins(ctx context.Context, f LogFilter) ([]PainCheckin, error)

	// ---- Outcome questionnaires. Every method below is audited. ----

	// ListInstruments returns the built-in instruments (Instruments), each
	// with the newest text a clinic imported for it applied (WithText).
	// Audited (resource instruments).
	ListInstruments(ctx context.Context) ([]Instrument, error)
	// ImportInstrumentText stores the clinic's own text for a built-in
	// instrument whose text hep does not ship, as in.Raw, imported by the
	// actor; the newest import applies from
	// then on (the patients' questionnaires records of its active
	// assignments are bumped, so phones pull the new text). NOT_FOUND for
	// an unknown instrument; FAILED_PRECONDITION if its text ships with hep.
	// INVALID_ARGUMENT (field questionnaire_json) unless WithText accepts
	// in.Raw. Audited (resource instruments/ID).
	ImportInstrumentText(ctx context.Context, in Instrument) (Instrument, error)
	// AssignQuestionnaire gives a patient an instrument, actor as the
	// creator, after ValidateAssignment with the patient's today (a zero
	// Start becomes today): NOT_FOUND for an unknown patient;
	// FAILED_PRECONDITION if the instrument's text is not available
	// (TextAvailable, with the clinic's imports) or the patient has an
	// active assignment of it. Bumps the patient's questionnaires record
	// ("current").
	AssignQuestionnaire(ctx context.Context, patientID string, in AssignmentInput) (Assignment, error)
	// EndAssignment ends an active assignment now, by the actor:
	// NOT_FOUND (also another patient's); FAILED_PRECONDITION if ended.
	// Bumps the questionnaires record.
	EndAssignment(ctx context.Context, patientID, assignmentID string) (Assignment, error)
	// ListAssignments returns a patient's assignments, newest first (ended
	// ones only if asked), each with the due days of its live responses,
	// and the patient's time zone. NOT_FOUND for an unknown patient.
	ListAssignments(ctx context.Context, patientID string, includeEnded bool) ([]AssignmentStatus, string, error)
	// ListQuestionnaireResponses returns a page of a patient's live
	// responses, newest slot first (then id), optionally of one
	// assignment. NOT_FOUND for an unknown patient.
	ListQuestionnaireResponses(ctx context.Context, f ResponseFilter) ([]QuestionnaireResponse, error)

	// ---- Messages. Every method below is audited. ----

	// ListMessages returns a page of a patient's thread, newest first, with
	// the thread's read marks. NOT_FOUND for an unknown patient.
	ListMessages(ctx context.Context, f MessageFilter) ([]Message, MessageThread, error)
	// SendMessage stores a care-team message from the actor (sender
	// CLINICIAN) with the next thread sequence, and bumps the message and
	// thread records. NOT_FOUND; RESOURCE_EXHAUSTED (ErrMessageRate) past
	// MaxTeamMessagesRate care-team messages to the patient in
	// MessageRateWindow.
	SendMessage(ctx context.Context, patientID, body string) (Message, error)
	// MarkMessagesRead moves the care team's read mark forward to through
	// (a lower one changes nothing), by the actor, and bumps the thread
	// record if it moved. NOT_FOUND; INVALID_ARGUMENT (field
	// read_through) beyond the thread's last message.
	MarkMessagesRead(ctx context.Context, patientID string, through int64) (MessageThread, error)

	// ReminderPreferences returns the patient's (DefaultReminderPreferences
	// until set). NOT_FOUND.
	ReminderPreferences(ctx context.Context, patientID string) (ReminderPreferences, error)
	// SetReminderPreferences stores validated preferences set by the
	// actor. NOT_FOUND; INVALID_ARGUMENT (fields under "preferences").
	SetReminderPreferences(ctx context.Context, patientID string, p ReminderPreferences) (ReminderPreferences, error)

	// ---- Clinician review. Audited unless noted. ----

	// Thresholds returns the clinic's thresholds (DefaultThresholds until
	// set).
	Thresholds(ctx context.Context) (Thresholds, error)
	// SetThresholds stores validated thresholds; they apply to data that
	// arrives afterwards.
	SetThresholds(ctx context.Context, t Thresholds) (Thresholds, error)
	// ProgressFacts reads what ComputeProgress needs for a patient over
	// [from, to] (patient's days), with the clinic's thresholds, in one
	// read transaction. A zero to is the patient's today, a zero from
	// DefaultProgressDays-1 days before to; the resolved range must pass
	// ValidateRange with MaxProgressDays (INVALID_ARGUMENT). NOT_FOUND for
	// an unknown patient.
	ProgressFacts(ctx context.Context, patientID string, from, to Date) (ProgressFacts, Thresholds, error)
	// TriageFacts reads, for every patient on the clinician's care team, the
	// facts Triage orders by, as of now (windows are the patient's days: the
	// pain windows end today, adherence covers the 7 closed days before
	// today), with the clinic's thresholds.
	TriageFacts(ctx context.Context, clinicianID string, now time.Time) ([]TriageFacts, Thresholds, error)
	// EvaluateAdherence raises NON_ADHERENCE alerts for the days that have
	// closed in each patient's time zone since the last evaluation (at most
	// the 14 newest; a patient never evaluated starts with its last closed
	// day), using the plan versions in force and the logs stored by then,
	// and remembers how far it got, in one transaction per patient. Calling
	// it again for the same days raises nothing. Returns the number of
	// alerts raised. Audited per raised alert (actor SystemActorID).
	EvaluateAdherence(ctx context.Context, now time.Time) (int, error)

	// ---- Export. ----

	// ExportSnapshot reads everything of a patient's export over [from, to]
	// except the logs and check-ins themselves, in one read transaction.
	// An unset from or to is resolved by ExportRange in the patient's zone
	// (the snapshot's From and To are the resolved days); the range must
	// pass ValidateRange with MaxExportDays (INVALID_ARGUMENT). Audited as
	// the export (action names the format). NOT_FOUND.
	ExportSnapshot(ctx context.Context, patientID string, from, to Date, format string) (ExportSnapshot, error)
	// ExportLogs returns up to limit live logs of the patient with corrected
	// perform time in [start, end), oldest first, after the cursor (time
	// and id of the last one returned; zero for the first page). Not
	// audited: pages of an audited export.
	ExportLogs(ctx context.Context, patientID string, start, end time.Time, after ExportCursor, limit int) ([]ExerciseLog, error)
	// ExportCheckins is ExportLogs for pain check-ins (corrected record
	// time).
	ExportCheckins(ctx context.Context, patientID string, start, end time.Time, after ExportCursor, limit int) ([]PainCheckin, error)

	// Close releases the store. Calls after Close fail.
	Close() error
}

// Clock is the time source stores and services use, so tests can move time.
type Clock func() time.Time
