package export

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// The CSV export is a zip with one file per kind of record, each UTF-8 with
// a byte-order mark (so spreadsheet programs read it as UTF-8), a header
// row, and times in RFC 3339 with the offset of the patient's zone. Rows
// stream into the zip entry a page at a time.
//
// Formula injection: a cell starting with = + - @, a tab or a carriage
// return would be run as a formula by a spreadsheet; Inert prefixes it with
// a single quote, which shows the text as typed and runs nothing. Every
// cell goes through it, coded values and numbers too: none of ours starts
// with those characters except a negative change_from_baseline, which so
// reads as text ('-2) in a spreadsheet.

// CSV file names in the zip.
const (
	CSVPatient    = "patient.csv"
	CSVSessions   = "sessions.csv"
	CSVCheckins   = "pain_checkins.csv"
	CSVScreening  = "screening_history.csv"
	CSVPlanItems  = "plan_items.csv"
	CSVDecisions  = "gating_decisions.csv"
	CSVClearances = "clearances.csv"
	CSVAlerts     = "alerts.csv"
	// CSVOccurrences holds every occurrence of the range: an alert
	// coalesces repeats, its occurrences keep each one.
	CSVOccurrences = "alert_occurrences.csv"
	// CSVResponses holds one row per questionnaire response of the
	// snapshot (the baseline too when it is older than the range) with its
	// score; CSVAnswers one row per answer.
	CSVResponses = "questionnaire_responses.csv"
	CSVAnswers   = "questionnaire_answers.csv"
	// CSVMessages holds one row per message of the thread received in the
	// range, in thread order.
	CSVMessages = "messages.csv"
)

// Headers of the CSV files, in column order.
var (
	HeaderPatient = []string{"patient_id", "display_name", "external_mrn", "time_zone", "from", "to",
		"generated_at", "generated_by"}
	HeaderSessions = []string{"id", "performed_at", "performed_at_phone_clock", "received_at", "exercise_id",
		"exercise_name", "plan_version", "sets_done", "reps_done", "hold_seconds_done", "duration_seconds_done",
		"pain_before", "pain_after", "difficulty", "logged_while_suspended", "note", "device_id", "supersedes",
		"counts_toward_adherence"}
	HeaderCheckins = []string{"id", "recorded_at", "recorded_at_phone_clock", "received_at", "score", "location",
		"red_flags", "note", "device_id", "supersedes"}
	HeaderScreening = []string{"id", "recorded_at", "flag", "status", "source", "recorded_by", "effective", "note"}
	HeaderPlanItems = []string{"plan_version", "plan_created_at", "plan_author", "plan_note", "position",
		"exercise_id", "exercise_name", "sets", "reps", "hold_seconds", "duration_seconds", "angle_degrees",
		"force_kg", "times_per_day", "days_per_week", "weekdays", "start_date", "end_date", "state",
		"state_reasons", "state_since", "notes"}
	HeaderDecisions = []string{"id", "decided_at", "plan_version", "exercise_id", "outcome", "cause",
		"previous_state", "new_state", "reasons", "clearance_ids", "screening_answer_ids", "actor_id"}
	HeaderClearances = []string{"id", "created_at", "ended_at", "exercise_id", "flag", "reason", "cleared_by"}
	HeaderAlerts     = []string{"id", "raised_at", "kind", "severity", "status", "summary", "acknowledged_at",
		"acknowledged_by", "acknowledgement_note", "occurrences", "latest_at"}
	HeaderOccurrences = []string{"id", "alert_id", "occurred_at", "kind", "trigger", "summary"}
	HeaderResponses   = []string{"response_id", "assignment_id", "instrument", "slot_date", "authored_time", "score",
		"scored_items_answered", "scored_items_skipped", "change_from_baseline", "change_vs_mcid", "supersedes"}
	HeaderAnswers  = []string{"response_id", "link_id", "value", "text", "skipped"}
	HeaderMessages = []string{"message_id", "thread_seq", "sender", "sender_id", "sender_name", "sent_time",
		"receive_time", "read_by_other_side", "body"}
)

// Inert makes a cell safe to open in a spreadsheet: a cell that starts
// with = + - @, a tab or a carriage return gets a leading single quote.
func Inert(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// bom is the UTF-8 byte-order mark.
const bom = "\uFEFF"

// csvFile streams one file of the zip.
type csvFile struct {
	w   *csv.Writer
	row []string
}

func (f *csvFile) write(cells ...string) error {
	f.row = f.row[:0]
	for _, c := range cells {
		f.row = append(f.row, Inert(c))
	}
	return f.w.Write(f.row)
}

// csvZip is the zip being written.
type csvZip struct {
	z   *zip.Writer
	mod time.Time
}

// file starts the next file of the zip with its BOM and header row.
func (c *csvZip) file(name string, header []string) (*csvFile, error) {
	w, err := c.z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: c.mod})
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, bom); err != nil {
		return nil, err
	}
	f := &csvFile{w: csv.NewWriter(w)}
	f.w.UseCRLF = true // what spreadsheet programs expect
	return f, f.write(header...)
}

// done flushes a file.
func (f *csvFile) done() error {
	f.w.Flush()
	return f.w.Error()
}

func itoa[T ~int32 | ~int64 | ~int](n T) string { return strconv.FormatInt(int64(n), 10) }

func score(p *int32) string {
	if p == nil {
		return ""
	}
	return itoa(*p)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// WriteCSV writes snap and the Source's rows as a zip of CSV files.
func WriteCSV(ctx context.Context, w io.Writer, snap *hep.ExportSnapshot, src Source, opt Options) error {
	loc := zoneOf(snap)
	c := &csvZip{z: zip.NewWriter(w), mod: snap.GenerateTime.In(loc)}
	prog := &progress{fn: opt.Progress}
	size := opt.pageSize()

	f, err := c.file(CSVPatient, HeaderPatient)
	if err != nil {
		return err
	}
	p := snap.Patient
	if err := f.write(p.ID, p.DisplayName, p.ExternalMRN, p.TimeZone, snap.From.String(), snap.To.String(),
		timeIn(snap.GenerateTime, loc), snap.Actor.ID); err != nil {
		return err
	}
	if err := f.done(); err != nil {
		return err
	}

	// Plan items.
	if f, err = c.file(CSVPlanItems, HeaderPlanItems); err != nil {
		return err
	}
	for _, pl := range snap.Plans {
		for i, it := range pl.Items {
			sp, d := it.Spec, it.Spec.Dose
			days := make([]string, len(sp.Frequency.Weekdays))
			for j, wd := range sp.Frequency.Weekdays {
				days[j] = weekdayAbbr[wd]
			}
			if err := f.write(itoa(pl.Version), timeIn(pl.CreateTime, loc), pl.AuthorID, pl.Note, itoa(i),
				sp.ExerciseID, exerciseName(snap, sp.ExerciseID), itoa(d.Sets), itoa(d.Reps), itoa(d.HoldSeconds),
				itoa(d.DurationSeconds), itoa(d.AngleDegrees), itoa(d.ForceKg), itoa(sp.Frequency.TimesPerDay),
				itoa(sp.Frequency.DaysPerWeek), strings.Join(days, " "), dateText(sp.StartDate), dateText(sp.EndDate),
				string(it.State), reasonsText(it.StateReasons), timeIn(it.StateTime, loc), sp.Notes); err != nil {
				return err
			}
		}
	}
	if err := f.done(); err != nil {
		return err
	}

	// Screening history.
	if f, err = c.file(CSVScreening, HeaderScreening); err != nil {
		return err
	}
	for _, a := range snap.Screening {
		if err := f.write(a.ID, timeIn(a.RecordTime, loc), string(a.Flag), string(a.Status), string(a.Source),
			a.RecordedBy, yesNo(a.Effective), a.Note); err != nil {
			return err
		}
	}
	if err := f.done(); err != nil {
		return err
	}

	// Gating decisions.
	if f, err = c.file(CSVDecisions, HeaderDecisions); err != nil {
		return err
	}
	for _, g := range snap.Decisions {
		var cleared []string
		for _, r := range g.Decision.Reasons {
			if r.Cleared() {
				cleared = append(cleared, r.ClearanceID)
			}
		}
		if err := f.write(g.ID, timeIn(g.DecideTime, loc), itoa(g.PlanVersion), g.Decision.ExerciseID,
			string(g.Decision.Outcome), string(g.Cause), string(g.PreviousState), string(g.NewState),
			reasonsText(g.Decision.Reasons), strings.Join(cleared, " "), strings.Join(g.ScreeningAnswerIDs, " "),
			g.ActorID); err != nil {
			return err
		}
	}
	if err := f.done(); err != nil {
		return err
	}

	// Clearances.
	if f, err = c.file(CSVClearances, HeaderClearances); err != nil {
		return err
	}
	for _, cl := range snap.Clearances {
		if err := f.write(cl.ID, timeIn(cl.CreateTime, loc), timeIn(cl.EndTime, loc), cl.ExerciseID,
			string(cl.Flag), cl.Reason, cl.ClearedBy); err != nil {
			return err
		}
	}
	if err := f.done(); err != nil {
		return err
	}

	// Alerts.
	if f, err = c.file(CSVAlerts, HeaderAlerts); err != nil {
		return err
	}
	for _, a := range snap.Alerts {
		if err := f.write(a.ID, timeIn(a.CreateTime, loc), string(a.Kind), string(a.Severity), string(a.Status),
			a.Summary, timeIn(a.AckTime, loc), a.AckBy, a.AckNote, itoa(a.Occurrences), timeIn(a.LatestTime, loc)); err != nil {
			return err
		}
	}
	if err := f.done(); err != nil {
		return err
	}
	if f, err = c.file(CSVOccurrences, HeaderOccurrences); err != nil {
		return err
	}
	for _, o := range snap.AlertOccurrences {
		if err := f.write(o.ID, o.AlertID, timeIn(o.Time, loc), string(o.Kind), o.Trigger, o.Summary); err != nil {
			return err
		}
	}
	if err := f.done(); err != nil {
		return err
	}
	if err := writeOutcomesCSV(c, snap, loc); err != nil {
		return err
	}
	if err := writeMessagesCSV(c, snap, loc); err != nil {
		return err
	}
	prog.add(snapshotRows(snap))

	// Sessions, a page at a time.
	if f, err = c.file(CSVSessions, HeaderSessions); err != nil {
		return err
	}
	err = eachLogPage(ctx, src, size, func(page []hep.ExerciseLog) error {
		for _, l := range page {
			if err := f.write(l.ID, timeIn(l.CorrectedPerformTime, loc), timeIn(l.PerformTime, loc),
				timeIn(l.ReceiveTime, loc), l.ExerciseID, exerciseName(snap, l.ExerciseID), itoa(l.PlanVersion),
				itoa(l.SetsDone), itoa(l.RepsDone), itoa(l.HoldSecondsDone), itoa(l.DurationSecondsDone),
				score(l.PainBefore), score(l.PainAfter), string(l.Difficulty), yesNo(l.ItemSuspended), l.Note,
				l.DeviceID, l.Supersedes, yesNo(hep.UseOfSession(l.ItemSuspended).Adherence)); err != nil {
				return err
			}
		}
		if err := f.done(); err != nil {
			return err
		}
		prog.add(int64(len(page)))
		return nil
	})
	if err != nil {
		return err
	}

	// Check-ins, a page at a time.
	if f, err = c.file(CSVCheckins, HeaderCheckins); err != nil {
		return err
	}
	err = eachCheckinPage(ctx, src, size, func(page []hep.PainCheckin) error {
		for _, ci := range page {
			flags := make([]string, len(ci.RedFlags))
			for i, r := range ci.RedFlags {
				flags[i] = string(r)
			}
			if err := f.write(ci.ID, timeIn(ci.CorrectedRecordTime, loc), timeIn(ci.RecordTime, loc),
				timeIn(ci.ReceiveTime, loc), itoa(ci.Score), string(ci.Location), strings.Join(flags, " "), ci.Note,
				ci.DeviceID, ci.Supersedes); err != nil {
				return err
			}
		}
		if err := f.done(); err != nil {
			return err
		}
		prog.add(int64(len(page)))
		return nil
	})
	if err != nil {
		return err
	}
	return c.z.Close()
}

// writeOutcomesCSV writes the questionnaire responses, scored, and their
// answers.
func writeOutcomesCSV(c *csvZip, snap *hep.ExportSnapshot, loc *time.Location) error {
	series := outcomesOf(snap)
	f, err := c.file(CSVResponses, HeaderResponses)
	if err != nil {
		return err
	}
	for _, s := range series {
		for _, p := range s.Points {
			r := p.Response
			var sc, delta string
			if p.Score.Valid {
				sc = scoreText(p.Score.Value)
			}
			if p.HasChange {
				delta = scoreText(p.Delta)
			}
			if err := f.write(r.ID, r.AssignmentID, string(s.Instrument.ID), dateText(r.Slot), timeIn(r.CorrectedAuthoredTime, loc),
				sc, itoa(p.Score.Answered), itoa(p.Score.Skipped), delta, string(p.Change), r.Supersedes); err != nil {
				return err
			}
		}
	}
	if err := f.done(); err != nil {
		return err
	}
	if f, err = c.file(CSVAnswers, HeaderAnswers); err != nil {
		return err
	}
	for _, s := range series {
		for _, p := range s.Points {
			for _, a := range p.Response.Answers {
				if err := f.write(p.Response.ID, a.LinkID, score(a.Value), a.Text, yesNo(a.Skipped)); err != nil {
					return err
				}
			}
		}
	}
	return f.done()
}

// writeMessagesCSV writes the thread's messages of the range. sender is
// patient, clinician or system; sender_id the phone's device id, the
// clinician's account id or "system"; sender_name a clinician's display
// name (empty for the patient and hep); read_by_other_side whether the
// other side's read mark covered the message at export time.
func writeMessagesCSV(c *csvZip, snap *hep.ExportSnapshot, loc *time.Location) error {
	f, err := c.file(CSVMessages, HeaderMessages)
	if err != nil {
		return err
	}
	for _, m := range snap.Messages {
		if err := f.write(m.ID, itoa(m.ThreadSeq), strings.ToLower(string(m.Sender)), m.SenderID, m.SenderName,
			timeIn(m.SentTime, loc), timeIn(m.ReceiveTime, loc), yesNo(readByOther(m, snap.Thread)), m.Body); err != nil {
			return err
		}
	}
	return f.done()
}
