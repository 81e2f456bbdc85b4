// Package export renders a patient's record over a date range for a
// follow-up visit: a FHIR R4 collection Bundle (WriteFHIR), a zip of CSV
// files (WriteCSV) and a printable PDF visit summary (WritePDF).
//
// Each writer takes a snapshot (hep.ExportSnapshot: everything but the
// exercise logs and pain check-ins, read in one audited transaction) and a
// Source that pages through the logs and check-ins, and writes to an
// io.Writer as it goes: at most one page of rows is held at a time, so a
// history of years never sits whole in memory. Progress is reported in
// records done (the unit of ExportHeader.total_rows; see TotalRows).
//
// Patient free text (log and check-in notes, screening notes, messages) is part of
// the patient's record and is exported; it is never logged.
package export

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// Source pages through the live exercise logs and pain check-ins of one
// export (its patient and range), oldest first (corrected time, then id),
// after a cursor; the zero cursor starts at the beginning. A short or empty
// page ends the stream. A writer calls it one call at a time, but reads a
// page ahead on a goroutine of its own (see eachPage).
type Source interface {
	Logs(ctx context.Context, after hep.ExportCursor, limit int) ([]hep.ExerciseLog, error)
	Checkins(ctx context.Context, after hep.ExportCursor, limit int) ([]hep.PainCheckin, error)
}

// Pager is the part of hep.Store a Source reads from.
type Pager interface {
	ExportLogs(ctx context.Context, patientID string, start, end time.Time, after hep.ExportCursor, limit int) ([]hep.ExerciseLog, error)
	ExportCheckins(ctx context.Context, patientID string, start, end time.Time, after hep.ExportCursor, limit int) ([]hep.PainCheckin, error)
}

// StoreSource returns the Source of a snapshot's patient and range, read
// from a store (each page one short read).
func StoreSource(p Pager, snap *hep.ExportSnapshot) Source {
	return storeSource{p: p, patientID: snap.Patient.ID, start: snap.Start, end: snap.End}
}

type storeSource struct {
	p          Pager
	patientID  string
	start, end time.Time
}

func (s storeSource) Logs(ctx context.Context, after hep.ExportCursor, limit int) ([]hep.ExerciseLog, error) {
	return s.p.ExportLogs(ctx, s.patientID, s.start, s.end, after, limit)
}

func (s storeSource) Checkins(ctx context.Context, after hep.ExportCursor, limit int) ([]hep.PainCheckin, error) {
	return s.p.ExportCheckins(ctx, s.patientID, s.start, s.end, after, limit)
}

// DefaultPageSize is how many logs or check-ins a writer asks a Source
// for at a time.
const DefaultPageSize = 500

// Options tune a writer.
type Options struct {
	// PageSize is the page size asked of the Source (DefaultPageSize if 0).
	PageSize int
	// Progress, if set, is called with the records done so far, after each
	// part of the file is written (at least once per page of rows, and
	// once at the end with TotalRows).
	Progress func(rowsDone int64)
}

func (o Options) pageSize() int {
	if o.PageSize <= 0 {
		return DefaultPageSize
	}
	return o.PageSize
}

// progress counts records done and reports them.
type progress struct {
	fn   func(int64)
	done int64
}

func (p *progress) add(n int64) {
	p.done += n
	if p.fn != nil && n > 0 {
		p.fn(p.done)
	}
}

// TotalRows is how many records an export of snap holds: sessions,
// check-ins, screening answers, gating decisions, alerts and plan items
// (ExportHeader.total_rows). Every writer's last progress report is this.
func TotalRows(snap *hep.ExportSnapshot) int64 {
	n := snap.LogCount + snap.CheckinCount + int64(len(snap.Screening)+len(snap.Decisions)+len(snap.Alerts))
	for _, p := range snap.Plans {
		n += int64(len(p.Items))
	}
	return n
}

// snapshotRows is TotalRows without the streamed logs and check-ins.
func snapshotRows(snap *hep.ExportSnapshot) int64 {
	return TotalRows(snap) - snap.LogCount - snap.CheckinCount
}

// Write writes snap in a format.
func Write(ctx context.Context, w io.Writer, format hep.ExportFormat, snap *hep.ExportSnapshot, src Source, opt Options) error {
	switch format {
	case hep.ExportFHIR:
		return WriteFHIR(ctx, w, snap, src, opt)
	case hep.ExportCSV:
		return WriteCSV(ctx, w, snap, src, opt)
	case hep.ExportPDF:
		return WritePDF(ctx, w, snap, src, opt)
	}
	return fmt.Errorf("export: unknown format %q", format)
}

// MediaType is the media type of a format's file.
func MediaType(format hep.ExportFormat) string {
	switch format {
	case hep.ExportFHIR:
		return "application/fhir+json"
	case hep.ExportCSV:
		return "application/zip"
	case hep.ExportPDF:
		return "application/pdf"
	}
	return "application/octet-stream"
}

// FileName is a suggested file name for an export: the patient's id and
// the range, never the patient's name.
func FileName(format hep.ExportFormat, snap *hep.ExportSnapshot) string {
	ext := map[hep.ExportFormat]string{hep.ExportFHIR: ".fhir.json", hep.ExportCSV: ".csv.zip", hep.ExportPDF: ".pdf"}[format]
	return fmt.Sprintf("hep-%s-%s_%s%s", snap.Patient.ID, snap.From, snap.To, ext)
}

// Each of the two streams: a page loop over a Source with a keyset cursor.

// eachLogPage calls fn with every page of logs until a short page.
func eachLogPage(ctx context.Context, src Source, size int, fn func([]hep.ExerciseLog) error) error {
	return eachPage(ctx, size, src.Logs, func(l hep.ExerciseLog) hep.ExportCursor {
		return hep.ExportCursor{Time: l.CorrectedPerformTime, ID: l.ID}
	}, fn)
}

// eachCheckinPage calls fn with every page of check-ins until a short page.
func eachCheckinPage(ctx context.Context, src Source, size int, fn func([]hep.PainCheckin) error) error {
	return eachPage(ctx, size, src.Checkins, func(c hep.PainCheckin) hep.ExportCursor {
		return hep.ExportCursor{Time: c.CorrectedRecordTime, ID: c.ID}
	}, fn)
}

// eachPage calls fn with every page read until a short page, reading one
// page ahead: while fn writes a page, the next one is read on another
// goroutine, so the store's reading and the writer's formatting overlap
// (they take about as long as each other; the export's rate nearly
// doubles on two cores). At most two pages are held, and no read is left
// running when eachPage returns: on an error or a cancelled context the
// read ahead is cancelled and waited for.
func eachPage[T any](ctx context.Context, size int, read func(context.Context, hep.ExportCursor, int) ([]T, error),
	key func(T) hep.ExportCursor, fn func([]T) error) error {
	type result struct {
		page []T
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	var pending chan result
	defer func() {
		cancel()
		if pending != nil {
			<-pending
		}
	}()
	fetch := func(after hep.ExportCursor) chan result {
		ch := make(chan result, 1)
		go func() {
			page, err := read(ctx, after, size)
			ch <- result{page, err}
		}()
		return ch
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pending = fetch(hep.ExportCursor{})
	for {
		r := <-pending
		pending = nil
		if r.err != nil {
			return r.err
		}
		if len(r.page) >= size {
			pending = fetch(key(r.page[len(r.page)-1]))
		}
		if len(r.page) > 0 {
			if err := fn(r.page); err != nil {
				return err
			}
		}
		if len(r.page) < size {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// zoneOf is the snapshot's patient zone.
func zoneOf(snap *hep.ExportSnapshot) *time.Location { return hep.LoadZone(snap.Patient.TimeZone) }

// timeIn formats t as RFC 3339 (ISO 8601 with the offset) in the patient's
// zone, to the second; the zero time is "".
func timeIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

// dateText formats a day; the zero Date is "".
func dateText(d hep.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// doseText describes a dose in words ("2 sets × 10 reps, hold 30 s").
func doseText(d hep.Dose) string {
	var parts []string
	switch {
	case d.Sets > 0 && d.Reps > 0:
		parts = append(parts, fmt.Sprintf("%s × %s", count(d.Sets, "set"), count(d.Reps, "rep")))
	case d.Reps > 0:
		parts = append(parts, count(d.Reps, "rep"))
	case d.Sets > 0:
		parts = append(parts, count(d.Sets, "set"))
	}
	if d.HoldSeconds > 0 {
		parts = append(parts, "hold "+secondsText(d.HoldSeconds))
	}
	if d.DurationSeconds > 0 {
		parts = append(parts, secondsText(d.DurationSeconds))
	}
	if d.AngleDegrees > 0 {
		parts = append(parts, fmt.Sprintf("angle %d°", d.AngleDegrees))
	}
	if d.ForceKg > 0 {
		parts = append(parts, fmt.Sprintf("force %d kg", d.ForceKg))
	}
	return strings.Join(parts, ", ")
}

// count is "1 set", "2 sets".
func count(n int32, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// secondsText is a duration in seconds, or minutes when whole.
func secondsText(s int32) string {
	if s >= 60 && s%60 == 0 {
		return fmt.Sprintf("%d min", s/60)
	}
	return fmt.Sprintf("%d s", s)
}

var weekdayAbbr = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// frequencyText describes a frequency ("1×/day, 5 days a week").
func frequencyText(f hep.Frequency) string {
	if len(f.Weekdays) > 0 {
		days := make([]string, len(f.Weekdays))
		for i, d := range f.Weekdays {
			days[i] = weekdayAbbr[d]
		}
		return fmt.Sprintf("%d×/day on %s", f.TimesPerDay, strings.Join(days, ", "))
	}
	return fmt.Sprintf("%d×/day, %d days a week", f.TimesPerDay, f.DaysPerWeek)
}

// doneText describes what a session did.
func doneText(l hep.ExerciseLog) string {
	return doseText(hep.Dose{Sets: l.SetsDone, Reps: l.RepsDone, HoldSeconds: l.HoldSecondsDone, DurationSeconds: l.DurationSecondsDone})
}

// reasonsText joins reasons' messages.
func reasonsText(rs []hep.Reason) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Message
	}
	return strings.Join(out, "; ")
}

// flagName is a screening flag in words ("recent spinal surgery").
func flagName(f hep.Flag) string {
	if f == hep.FlagNone {
		return "home device (standing clearance)"
	}
	return strings.ToLower(strings.ReplaceAll(string(f), "_", " "))
}

// words turns a coded value into lower-case words ("JUST_RIGHT" -> "just
// right").
func words(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", " ")) }

// exerciseName is an exercise's catalog name, or its id.
func exerciseName(snap *hep.ExportSnapshot, id string) string {
	if e, ok := snap.Exercises[id]; ok && e.Name != "" {
		return e.Name
	}
	if n := snap.Facts.Names[id]; n != "" {
		return n
	}
	return id
}

// accountName is an account's display name from the snapshot, or its id
// when the snapshot does not know it (a device, a system actor, a snapshot
// without names).
func accountName(snap *hep.ExportSnapshot, id string) string {
	if n := snap.Names[id]; n != "" {
		return n
	}
	return id
}

// recorderName names who recorded a screening answer: a clinician by name,
// the patient's phone as such.
func recorderName(snap *hep.ExportSnapshot, a hep.ScreeningAnswer) string {
	if a.Source == hep.SourcePatientReported {
		if n := snap.Names[a.RecordedBy]; n != "" {
			return n
		}
		return "the patient (phone)"
	}
	return accountName(snap, a.RecordedBy)
}

// presentFlags returns, for every flag PRESENT at the end of the range
// (latest effective answer), that answer and the time its run of PRESENT
// answers began, in flag order.
func presentFlags(snap *hep.ExportSnapshot) []presentFlag {
	latest := map[hep.Flag]int{}
	since := map[hep.Flag]time.Time{}
	for i, a := range snap.Screening {
		if !a.Effective {
			continue
		}
		prev, had := latest[a.Flag]
		if a.Status == hep.StatusPresent && (!had || snap.Screening[prev].Status != hep.StatusPresent) {
			since[a.Flag] = a.RecordTime
		}
		latest[a.Flag] = i
	}
	var out []presentFlag
	for _, f := range hep.Flags {
		if i, ok := latest[f]; ok && snap.Screening[i].Status == hep.StatusPresent {
			out = append(out, presentFlag{Answer: snap.Screening[i], Since: since[f]})
		}
	}
	return out
}

type presentFlag struct {
	Answer hep.ScreeningAnswer
	Since  time.Time
}

// screeningAtEnd returns every flag's status at the end of the range
// (UNKNOWN when never answered) with its latest effective answer.
func screeningAtEnd(snap *hep.ExportSnapshot) hep.Screening {
	sc := hep.Screening{}
	for _, a := range snap.Screening {
		if a.Effective {
			sc[a.Flag] = a
		}
	}
	return sc
}
