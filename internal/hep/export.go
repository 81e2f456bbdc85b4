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

// MaxExportDays caps an export's range (ten years).
const MaxExportDays = 3660

// DefaultExportDays is the range of an export without a from day.
const DefaultExportDays = 90

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
	// Alerts are those raised in the range, oldest first.
	Alerts []Alert
	// Exercises are the catalog entries the plans, logs and decisions name.
	Exercises map[string]Exercise
	// Facts are the progress facts of the range (for the summary), and
	// Thresholds the clinic's.
	Facts      ProgressFacts
	Thresholds Thresholds
	// LogCount and CheckinCount are the live records of the range.
	LogCount, CheckinCount int64
	// Actor is who exported, at GenerateTime.
	Actor        Actor
	GenerateTime time.Time
}
