package hep

import "time"

// ExportFormat is the shape of an export.
type ExportFormat string

// The formats.
const (
	ExportFHIR ExportFormat = "FHIR"
	ExportCSV  ExportFormat = "CSV"
	ExportPDF  ExportFormat = "PDF"
)

// NeedsRowFacts reports whether a format's export summarises the logs and
// check-ins from the snapshot's facts (the PDF visit summary) rather than
// streaming them; a snapshot for the other formats leaves Facts.Logs,
// Facts.Checkins and the activity empty, so a long range does not hold
// every row's facts in memory while it streams.
func NeedsRowFacts(format ExportFormat) bool { return format == ExportPDF }

// MaxExportDays caps an export's range (ten years).
const MaxExportDays = 3660

// DefaultExportDays is the range of an export without a from day.
const DefaultExportDays = 90

// ExportRange resolves an export's range against the patient's today: an
// unset (zero) to is today, an unset from is DefaultExportDays-1 days
// before to. The result still needs ValidateRange(from, to, MaxExportDays).
func ExportRange(from, to, today Date) (Date, Date) {
	if to.IsZero() {
		to = today
	}
	if from.IsZero() {
		from = to.AddDays(-(DefaultExportDays - 1))
	}
	return from, to
}

// ExportCursor is where a page of an export's records ended.
type ExportCursor struct {
	Time time.Time
	ID   string
}

// ExportSnapshot is everything of a patient's export over a range except
// the logs and check-ins, which are streamed in pages.
type ExportSnapshot struct {
	Patient  Patient
	From, To Date
	// Start and End bound the range: the first instant of From and of the
	// day after To in the patient's zone.
	Start, End time.Time
	// Plans are the plan versions in force on any day of the range, oldest
	// first, each with its items as stored (the current version's states are
	// today's).
	Plans []Plan
	// Screening is every answer recorded before End, oldest first (the
	// flags present at the end of the range follow from it).
	Screening []ScreeningAnswer
	// Decisions are the gating decisions made in the range, oldest first.
	Decisions []GatingDecision
	// Clearances are those created before End, oldest first.
	Clearances []Clearance
	// Alerts are those with an occurrence in the range, oldest first, and
	// AlertOccurrences those occurrences (every one of the range), oldest
	// first. An alert's Occurrences counts all of its occurrences, also
	// those outside the range.
	Alerts           []Alert
	AlertOccurrences []AlertOccurrence
	// Outcomes are the questionnaire assignments made before End (ended
	// ones too), oldest first, each with its live responses authored before
	// End, oldest slot first: a series keeps its baseline even when the
	// baseline is older than the range.
	Outcomes []AssignmentResponses
	// Messages are the patient's thread messages received in the range,
	// oldest first, and Thread the thread's read marks now.
	Messages []Message
	Thread   MessageThread
	// Exercises are the catalog entries the plans, logs and decisions name.
	Exercises map[string]Exercise
	// Names are the display names of the accounts the record names (plan
	// authors, the clinicians of verified answers, decisions, clearances
	// and acknowledgements) and of the exporter: account id -> name. An id
	// missing here (a device, a system actor) is shown as it is.
	Names map[string]string
	// Facts are the progress facts of the range, and Thresholds the
	// clinic's. The facts' logs and check-ins (and activity) are read only
	// for the formats that summarise them (PDF, see NeedsRowFacts); the
	// other formats stream the rows themselves and get the plan versions,
	// the current plan and the exercise names only.
	Facts      ProgressFacts
	Thresholds Thresholds
	// LogCount and CheckinCount are the live records of the range.
	LogCount, CheckinCount int64
	// Actor is who exported, at GenerateTime.
	Actor        Actor
	GenerateTime time.Time
}
