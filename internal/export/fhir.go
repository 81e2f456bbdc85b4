package export

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/hepclinic/hep/internal/hep"
)

// The FHIR export is a collection Bundle (a document would need a
// Composition first), streamed: the Bundle's own fields are marshalled by
// fhir-models and the entry array is written one entry at a time.
//
// Identity: every entry's fullUrl is urn:uuid:U and its resource id is U,
// where U is a UUID v5 (SHA-1) in Namespace of a name made of our own ids
// ("Patient/<patient id>", "CarePlan/<patient id>/<version>",
// "Procedure/<log id>", ...). Re-exporting the same records gives the same
// UUIDs, so a receiving system can merge overlapping exports, and ids never
// collide across patients because our ids do not. Every reference in the
// Bundle points at the fullUrl of an entry of the same Bundle; actors
// outside it are not referenced.
//
// Code systems of our own (stable URIs; never change one, a receiving
// system keys on it):
// SystemExercise (catalog slugs), SystemScreeningFlag (screening flags),
// SystemGateOutcome (gate outcomes), SystemMitigation (what was done about
// a decision), SystemQuestionnaireScore (the score of an instrument without
// a LOINC code), the questionnaire extensions under "urn:hep:questionnaire:"
// (as in the instruments' own Questionnaires), and identifier systems under
// "urn:hep:id:". Pain scores use LOINC 72514-3.
//
// Provenance: records come from the patient, the clinicians and hep, and
// each kind gets Provenance of its own, so memory stays bounded by a page:
//   - each CarePlan version: one Provenance naming its clinician author
//     (recorded: the version's creation);
//   - questionnaire responses and their scores: one Provenance for all of
//     the export's, the phones as authors on behalf of the Patient
//     (recorded: the newest receive time);
//   - messages (fhir_messages.go): the patient's in one Provenance, the
//     phones as authors on behalf of the Patient; each clinician's in one
//     naming the clinician; hep's notices in one naming the hep server
//     Device (recorded: the newest receive time of each);
//   - patient-reported records (sessions and their pain scores, check-ins):
//     one Provenance per page of at most Options.PageSize rows, targeting
//     that page's resources, with the patient's phones (Device) as authors
//     on behalf of the Patient (recorded: newest receive time of the page);
//   - what hep itself derived (Flags from the screening, DetectedIssues from
//     the gate): one Provenance with the hep server Device as assembler and
//     the exporting account, if the exporter is one, as composer
//     (recorded: the export time).

// Code and identifier systems of hep's own.
const (
	SystemExercise      = "urn:hep:exercise"
	SystemScreeningFlag = "urn:hep:screening-flag"
	SystemGateOutcome   = "urn:hep:gate-outcome"
	SystemMitigation    = "urn:hep:mitigation"
	SystemIDPatient     = "urn:hep:id:patient"
	SystemIDAccount     = "urn:hep:id:account"
	SystemIDDevice      = "urn:hep:id:device"
	SystemIDPlan        = "urn:hep:id:plan-version"
	SystemIDLog         = "urn:hep:id:exercise-log"
	SystemIDCheckin     = "urn:hep:id:pain-checkin"
	SystemIDAnswer      = "urn:hep:id:screening-answer"
	SystemIDDecision    = "urn:hep:id:gating-decision"
	SystemIDExport      = "urn:hep:id:export"
)

// External code systems.
const (
	systemLOINC       = "http://loinc.org"
	systemObsCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	systemFlagCat     = "http://terminology.hl7.org/CodeSystem/flag-category"
	systemV2ID        = "http://terminology.hl7.org/CodeSystem/v2-0203"
	systemProvAgent   = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
	systemDataOp      = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
	systemUCUM        = "http://unitsofmeasure.org"
)

// LOINC 72514-3: "Pain severity - 0-10 verbal numeric rating [Score] -
// Reported".
const (
	LOINCPain        = "72514-3"
	loincPainDisplay = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
)

// Namespace is the UUID namespace of hep's FHIR ids.
var Namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:hep:fhir"))

// FullURL is the fullUrl of the entry named name ("Procedure/<log id>").
func FullURL(name string) string { return "urn:uuid:" + rowID(name) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

func ref(fullURL string) fhir.Reference { return fhir.Reference{Reference: ptr(fullURL)} }

func refDisplay(fullURL, display string) fhir.Reference {
	r := ref(fullURL)
	if display != "" {
		r.Display = ptr(display)
	}
	return r
}

func coding(system, code, display string) fhir.Coding {
	c := fhir.Coding{System: ptr(system), Code: ptr(code)}
	if display != "" {
		c.Display = ptr(display)
	}
	return c
}

func concept(text string, codings ...fhir.Coding) fhir.CodeableConcept {
	cc := fhir.CodeableConcept{Coding: codings}
	if text != "" {
		cc.Text = ptr(text)
	}
	return cc
}

func ident(system, value string) fhir.Identifier {
	return fhir.Identifier{System: ptr(system), Value: ptr(value)}
}

func num(n int64) *json.Number { return ptr(json.Number(strconv.FormatInt(n, 10))) }

// bundleWriter streams the Bundle: head, entries separated by commas, tail.
type bundleWriter struct {
	w       *bufio.Writer
	entries int
}

func (b *bundleWriter) entry(fullURL string, res json.Marshaler) error {
	// MarshalJSON is called directly: json.Marshal would re-scan its output.
	raw, err := res.MarshalJSON()
	if err != nil {
		return err
	}
	return b.entryRaw(fullURL, raw)
}

// entryRaw writes an entry whose resource is already JSON.
func (b *bundleWriter) entryRaw(fullURL string, raw []byte) error {
	if b.entries > 0 {
		b.w.WriteByte(',')
	}
	b.entries++
	b.w.WriteString(`{"fullUrl":"`)
	b.w.WriteString(fullURL) // urn:uuid:..., nothing to escape
	b.w.WriteString(`","resource":`)
	b.w.Write(raw)
	_, err := b.w.WriteString("}")
	return err
}

// fhirExport holds what the writer knows while streaming: small maps
// bounded by the snapshot and the patient's devices, never by the rows.
type fhirExport struct {
	snap          *hep.ExportSnapshot
	loc           *time.Location
	b             *bundleWriter
	patient       string // fullUrl of the Patient
	server        string // fullUrl of the hep server Device
	practitioners map[string]string
	devices       map[string]string
	plans         map[int64]string // plan version -> CarePlan fullUrl
	rows          *rowCache        // fragments of the streamed rows
}

// WriteFHIR writes snap and the Source's rows as a FHIR R4 JSON collection
// Bundle.
func WriteFHIR(ctx context.Context, w io.Writer, snap *hep.ExportSnapshot, src Source, opt Options) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	x := &fhirExport{snap: snap, loc: zoneOf(snap), b: &bundleWriter{w: bw},
		patient:       FullURL("Patient/" + snap.Patient.ID),
		server:        FullURL("Device/hep-server"),
		practitioners: map[string]string{}, devices: map[string]string{}, plans: map[int64]string{}}
	prog := &progress{fn: opt.Progress}

	head, err := fhir.Bundle{
		Id:         ptr(strings.TrimPrefix(x.bundleURL(), "urn:uuid:")),
		Identifier: ptr(ident(SystemIDExport, strings.TrimPrefix(x.bundleURL(), "urn:uuid:"))),
		Type:       fhir.BundleTypeCollection,
		Timestamp:  ptr(timeIn(snap.GenerateTime, x.loc)),
	}.MarshalJSON()
	if err != nil {
		return err
	}
	// head is a JSON object: open it back up for the entry array.
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"entry":[`)

	if err := x.static(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	prog.add(snapshotRows(snap))

	size := opt.pageSize()
	err = eachLogPage(ctx, src, size, func(page []hep.ExerciseLog) error {
		if err := x.sessions(page); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		prog.add(int64(len(page)))
		return nil
	})
	if err != nil {
		return err
	}
	err = eachCheckinPage(ctx, src, size, func(page []hep.PainCheckin) error {
		if err := x.checkins(page); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		prog.add(int64(len(page)))
		return nil
	})
	if err != nil {
		return err
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// bundleURL names the export itself: patient, range and time.
func (x *fhirExport) bundleURL() string {
	s := x.snap
	return FullURL(fmt.Sprintf("Bundle/%s/%s/%s/%s", s.Patient.ID, s.From, s.To, s.GenerateTime.UTC().Format(time.RFC3339Nano)))
}

// practitioner returns the fullUrl of the Practitioner of an account,
// writing it on first use.
func (x *fhirExport) practitioner(accountID string) (string, error) {
	return x.practitionerNamed(accountID, "")
}

// practitionerNamed is practitioner with the name to give it when the
// snapshot's Names lack the account (a message carries its sender's name).
func (x *fhirExport) practitionerNamed(accountID, name string) (string, error) {
	if u, ok := x.practitioners[accountID]; ok {
		return u, nil
	}
	u := FullURL("Practitioner/" + accountID)
	x.practitioners[accountID] = u
	p := fhir.Practitioner{Id: ptr(uuidOf(u)), Identifier: []fhir.Identifier{ident(SystemIDAccount, accountID)}}
	if n := x.snap.Names[accountID]; n != "" {
		name = n
	}
	if name != "" {
		p.Name = []fhir.HumanName{{Text: ptr(name)}}
	}
	return u, x.b.entry(u, p)
}

// device returns the fullUrl of the Device of a patient's phone, writing
// it on first use.
func (x *fhirExport) device(deviceID string) (string, error) {
	if u, ok := x.devices[deviceID]; ok {
		return u, nil
	}
	u := FullURL("Device/" + deviceID)
	x.devices[deviceID] = u
	d := fhir.Device{Id: ptr(uuidOf(u)), Identifier: []fhir.Identifier{ident(SystemIDDevice, deviceID)},
		Type:    ptr(concept("Patient's phone running the hep app")),
		Patient: ptr(ref(x.patient))}
	return u, x.b.entry(u, d)
}

func uuidOf(fullURL string) string { return strings.TrimPrefix(fullURL, "urn:uuid:") }

// static writes everything of the snapshot: Patient, the hep server
// Device, CarePlans, the outcome measures (fhir_outcomes.go), the
// messages (fhir_messages.go), Flags,
// DetectedIssues and their Provenance.
func (x *fhirExport) static() error {
	s := x.snap
	p := fhir.Patient{Id: ptr(uuidOf(x.patient)), Active: ptr(true),
		Identifier: []fhir.Identifier{ident(SystemIDPatient, s.Patient.ID)},
		Name:       []fhir.HumanName{{Text: ptr(s.Patient.DisplayName)}}}
	if s.Patient.ExternalMRN != "" {
		p.Identifier = append(p.Identifier, fhir.Identifier{Use: ptr(fhir.IdentifierUseUsual),
			Type:  ptr(concept("Medical record number", coding(systemV2ID, "MR", "Medical record number"))),
			Value: ptr(s.Patient.ExternalMRN)})
	}
	if err := x.b.entry(x.patient, p); err != nil {
		return err
	}
	server := fhir.Device{Id: ptr(uuidOf(x.server)),
		DeviceName: []fhir.DeviceDeviceName{{Name: "hep", Type: fhir.DeviceNameTypeUserFriendlyName}},
		Type:       ptr(concept("hep home exercise program server: screening gate and export"))}
	if err := x.b.entry(x.server, server); err != nil {
		return err
	}
	for i := range s.Plans {
		if err := x.carePlan(i); err != nil {
			return err
		}
	}
	if err := x.outcomes(); err != nil {
		return err
	}
	if err := x.messages(); err != nil {
		return err
	}
	var derived []fhir.Reference
	for _, pf := range presentFlags(s) {
		u, err := x.flag(pf)
		if err != nil {
			return err
		}
		derived = append(derived, ref(u))
	}
	clearances := map[string]hep.Clearance{}
	for _, c := range s.Clearances {
		clearances[c.ID] = c
	}
	for _, g := range s.Decisions {
		u, err := x.detectedIssue(g, clearances)
		if err != nil {
			return err
		}
		derived = append(derived, ref(u))
	}
	if len(derived) == 0 {
		return nil
	}
	agents := []fhir.ProvenanceAgent{{
		Type: ptr(concept("Assembler", coding(systemProvAgent, "assembler", "Assembler"))),
		Who:  refDisplay(x.server, "hep"),
	}}
	// The exporter is the composer when it is an account (named in the
	// snapshot); a local export (hepd export, actor local:hepd) has only
	// the hep Device as its assembler.
	if a := s.Actor; a.ID != "" && (a.Role == hep.RoleClinician || a.Role == hep.RoleAdmin) && s.Names[a.ID] != "" {
		u, err := x.practitioner(a.ID)
		if err != nil {
			return err
		}
		agents = append(agents, fhir.ProvenanceAgent{
			Type: ptr(concept("Composer", coding(systemProvAgent, "composer", "Composer"))),
			Who:  ref(u),
		})
	}
	u := FullURL(fmt.Sprintf("Provenance/derived/%s/%s/%s", s.Patient.ID, s.From, s.To))
	return x.b.entry(u, fhir.Provenance{Id: ptr(uuidOf(u)), Target: derived, Recorded: timeIn(s.GenerateTime, x.loc),
		Activity: ptr(concept("Derived by hep from the screening answers and the gate's decision trail",
			coding(systemDataOp, "CREATE", "create"))),
		Agent: agents})
}

// carePlan writes plan version i of the snapshot and its Provenance.
func (x *fhirExport) carePlan(i int) error {
	s := x.snap
	pl := s.Plans[i]
	u := FullURL(fmt.Sprintf("CarePlan/%s/%d", s.Patient.ID, pl.Version))
	x.plans[pl.Version] = u
	current := pl.Version == s.Facts.Current.Version
	var next *hep.Plan
	if i+1 < len(s.Plans) {
		next = &s.Plans[i+1]
	}
	// The day item states are judged on: today for the current version,
	// the day it was superseded otherwise.
	day := hep.DateOf(s.GenerateTime, x.loc)
	if next != nil {
		day = hep.DateOf(next.CreateTime, x.loc)
	}

	cp := fhir.CarePlan{Id: ptr(uuidOf(u)),
		Identifier: []fhir.Identifier{ident(SystemIDPlan, fmt.Sprintf("%s/%d", s.Patient.ID, pl.Version))},
		Intent:     fhir.CarePlanIntentPlan,
		Category:   []fhir.CodeableConcept{concept("Home exercise program for back pain")},
		Title:      ptr(fmt.Sprintf("Home exercise program, version %d", pl.Version)),
		Subject:    refDisplay(x.patient, s.Patient.DisplayName),
		Period:     &fhir.Period{Start: ptr(timeIn(pl.CreateTime, x.loc))},
		Created:    ptr(timeIn(pl.CreateTime, x.loc)),
	}
	allEnded := len(pl.Items) > 0
	for _, it := range pl.Items {
		allEnded = allEnded && !it.Spec.EndDate.IsZero() && it.Spec.EndDate.Before(day)
	}
	switch {
	case current && s.Facts.Current.RedFlagHold:
		cp.Status = fhir.RequestStatusOnHold
		cp.Description = ptr("On hold: the patient reported red-flag symptoms; a clinician must review them.")
	case current:
		cp.Status = fhir.RequestStatusActive
	case allEnded:
		cp.Status = fhir.RequestStatusCompleted
	default:
		cp.Status = fhir.RequestStatusRevoked
	}
	if !current && next != nil {
		cp.Period.End = ptr(timeIn(next.CreateTime, x.loc))
		cp.Description = ptr(fmt.Sprintf("Superseded by version %d.", next.Version))
	} else if !current {
		cp.Description = ptr("Superseded by a later version (after the exported range).")
	}
	if i > 0 {
		cp.Replaces = []fhir.Reference{ref(x.plans[s.Plans[i-1].Version])}
	}
	var author string
	if pl.AuthorID != "" {
		var err error
		if author, err = x.practitioner(pl.AuthorID); err != nil {
			return err
		}
		cp.Author = ptr(ref(author))
	}
	if pl.Note != "" {
		n := fhir.Annotation{Text: pl.Note, Time: ptr(timeIn(pl.CreateTime, x.loc))}
		if author != "" {
			n.AuthorReference = ptr(ref(author))
		}
		cp.Note = []fhir.Annotation{n}
	}
	for _, it := range pl.Items {
		cp.Activity = append(cp.Activity, fhir.CarePlanActivity{Detail: x.activity(it, current, next, day)})
	}
	if err := x.b.entry(u, cp); err != nil {
		return err
	}
	if author == "" {
		return nil
	}
	pu := FullURL(fmt.Sprintf("Provenance/CarePlan/%s/%d", s.Patient.ID, pl.Version))
	return x.b.entry(pu, fhir.Provenance{Id: ptr(uuidOf(pu)), Target: []fhir.Reference{ref(u)},
		Recorded: timeIn(pl.CreateTime, x.loc),
		Activity: ptr(concept("Plan version written", coding(systemDataOp, "CREATE", "create"))),
		Agent: []fhir.ProvenanceAgent{{Type: ptr(concept("Author", coding(systemProvAgent, "author", "Author"))),
			Who: ref(author)}}})
}

var fhirDays = map[time.Weekday]fhir.DaysOfWeek{
	time.Monday: fhir.DaysOfWeekMon, time.Tuesday: fhir.DaysOfWeekTue, time.Wednesday: fhir.DaysOfWeekWed,
	time.Thursday: fhir.DaysOfWeekThu, time.Friday: fhir.DaysOfWeekFri, time.Saturday: fhir.DaysOfWeekSat,
	time.Sunday: fhir.DaysOfWeekSun,
}

// activity is one plan item as a CarePlan activity detail.
func (x *fhirExport) activity(it hep.PlanItem, current bool, next *hep.Plan, day hep.Date) *fhir.CarePlanActivityDetail {
	sp := it.Spec
	ex := x.snap.Exercises[sp.ExerciseID]
	name := exerciseName(x.snap, sp.ExerciseID)
	code := concept(name, coding(SystemExercise, sp.ExerciseID, name))
	d := &fhir.CarePlanActivityDetail{Kind: ptr(fhir.CarePlanActivityKindServiceRequest), Code: &code}
	if ex.Kind == hep.KindDevice {
		d.Kind = ptr(fhir.CarePlanActivityKindDeviceRequest)
		d.ProductCodeableConcept = &code
	}

	rep := &fhir.TimingRepeat{Period: num(1)}
	f := sp.Frequency
	if len(f.Weekdays) > 0 {
		rep.Frequency, rep.PeriodUnit = ptr(int(f.TimesPerDay)), ptr("d")
		for _, wd := range f.Weekdays {
			rep.DayOfWeek = append(rep.DayOfWeek, fhirDays[wd])
		}
	} else {
		rep.Frequency, rep.PeriodUnit = ptr(int(f.TimesPerDay*f.DaysPerWeek)), ptr("wk")
	}
	if ds := sp.Dose.DurationSeconds; ds > 0 {
		if ds%60 == 0 {
			rep.Duration, rep.DurationUnit = num(int64(ds/60)), ptr("min")
		} else {
			rep.Duration, rep.DurationUnit = num(int64(ds)), ptr("s")
		}
	}
	rep.BoundsPeriod = &fhir.Period{Start: ptr(sp.StartDate.String())}
	if !sp.EndDate.IsZero() {
		rep.BoundsPeriod.End = ptr(sp.EndDate.String())
	}
	d.ScheduledTiming = &fhir.Timing{Repeat: rep}
	if sp.Dose.Reps > 0 {
		d.Quantity = &fhir.Quantity{Value: num(int64(sp.Dose.Reps)), Unit: ptr("repetitions per set"),
			System: ptr(systemUCUM), Code: ptr("{repetitions}")}
	}
	desc := doseText(sp.Dose) + "; " + frequencyText(f)
	if sp.Notes != "" {
		desc += ". " + sp.Notes
	}
	d.Description = ptr(desc)

	ended := !sp.EndDate.IsZero() && sp.EndDate.Before(day)
	suspended := it.State == hep.ItemSuspended
	if suspended {
		// Gated out: the patient must not do it while it stays so.
		d.DoNotPerform = ptr(true)
	}
	switch {
	case ended:
		d.Status = fhir.CarePlanActivityStatusCompleted
	case !current:
		d.Status = fhir.CarePlanActivityStatusStopped
		reason := "Plan version superseded"
		if next != nil {
			reason = fmt.Sprintf("Superseded by plan version %d", next.Version)
		}
		d.StatusReason = ptr(concept(reason))
	case suspended:
		d.Status = fhir.CarePlanActivityStatusOnHold
	case day.Before(sp.StartDate):
		d.Status = fhir.CarePlanActivityStatusScheduled
	default:
		d.Status = fhir.CarePlanActivityStatusInProgress
	}
	if suspended && current && !ended {
		d.StatusReason = ptr(concept("Suspended: " + reasonsText(it.StateReasons)))
	} else if suspended && d.StatusReason != nil {
		d.StatusReason = ptr(concept(*d.StatusReason.Text + "; was suspended: " + reasonsText(it.StateReasons)))
	}
	return d
}

// flag writes the Flag of a screening flag present at the end of the range.
func (x *fhirExport) flag(pf presentFlag) (string, error) {
	a := pf.Answer
	u := FullURL("Flag/" + a.ID)
	src := "reported by the patient"
	author := ref(x.patient)
	if a.Source == hep.SourceClinicianVerified {
		src = "verified by a clinician"
		pu, err := x.practitioner(a.RecordedBy)
		if err != nil {
			return "", err
		}
		author = ref(pu)
	}
	fl := fhir.Flag{Id: ptr(uuidOf(u)), Status: fhir.FlagStatusActive,
		Identifier: []fhir.Identifier{ident(SystemIDAnswer, a.ID)},
		Category:   []fhir.CodeableConcept{concept("Clinical", coding(systemFlagCat, "clinical", "Clinical"))},
		Code: concept(fmt.Sprintf("Screening: %s present (%s)", flagName(a.Flag), src),
			coding(SystemScreeningFlag, string(a.Flag), flagName(a.Flag))),
		Subject: ref(x.patient),
		Period:  &fhir.Period{Start: ptr(timeIn(pf.Since, x.loc))},
		Author:  &author,
	}
	return u, x.b.entry(u, fl)
}

// Severity of a gate outcome as a DetectedIssue.
func severity(o hep.Outcome) fhir.DetectedIssueSeverity {
	switch o {
	case hep.OutcomeContraindicated:
		return fhir.DetectedIssueSeverityHigh
	case hep.OutcomeNeedsClearance:
		return fhir.DetectedIssueSeverityModerate
	}
	return fhir.DetectedIssueSeverityLow
}

// detectedIssue writes a gating decision as a DetectedIssue.
func (x *fhirExport) detectedIssue(g hep.GatingDecision, clearances map[string]hep.Clearance) (string, error) {
	s := x.snap
	u := FullURL("DetectedIssue/" + g.ID)
	ex := g.Decision.ExerciseID
	name := exerciseName(s, ex)
	di := fhir.DetectedIssue{Id: ptr(uuidOf(u)), Status: fhir.ObservationStatusFinal,
		Identifier: []fhir.Identifier{ident(SystemIDDecision, g.ID)},
		Code: ptr(concept(fmt.Sprintf("Screening gate: %s for %s", words(string(g.Decision.Outcome)), name),
			coding(SystemGateOutcome, string(g.Decision.Outcome), words(string(g.Decision.Outcome))))),
		Severity:           ptr(severity(g.Decision.Outcome)),
		Patient:            ptr(ref(x.patient)),
		IdentifiedDateTime: ptr(timeIn(g.DecideTime, x.loc)),
		Author:             ptr(refDisplay(x.server, "hep screening gate")),
	}
	// Implicated: the plan version the decision was made on, when the
	// Bundle holds it; a refused plan was never written.
	cp, inBundle := x.plans[g.PlanVersion]
	switch {
	case g.Cause == hep.CausePlanRefused:
		di.Implicated = []fhir.Reference{{Display: ptr(name + " in a proposed plan version that was refused (not written)")}}
	case inBundle:
		di.Implicated = []fhir.Reference{refDisplay(cp, fmt.Sprintf("%s in plan version %d", name, g.PlanVersion))}
	case g.PlanVersion == 0:
		di.Implicated = []fhir.Reference{{Display: ptr(name + " (the patient had no plan yet)")}}
	default:
		di.Implicated = []fhir.Reference{{Display: ptr(fmt.Sprintf("%s in plan version %d", name, g.PlanVersion))}}
	}
	detail := fmt.Sprintf("%s: %s (cause: %s", name, words(string(g.Decision.Outcome)), words(string(g.Cause)))
	if g.PreviousState != "" || g.NewState != "" {
		detail += fmt.Sprintf("; item %s → %s", orNone(g.PreviousState), orNone(g.NewState))
	}
	detail += ")."
	for _, r := range g.Decision.Reasons {
		detail += fmt.Sprintf(" %s: %s (source: %s).", words(string(r.Outcome)), r.Message, r.Source)
	}
	di.Detail = ptr(detail)
	var ev []fhir.CodeableConcept
	for _, r := range g.Decision.Reasons {
		if r.Flag != hep.FlagNone {
			ev = append(ev, concept(fmt.Sprintf("%s: %s", flagName(r.Flag), words(string(r.Status))),
				coding(SystemScreeningFlag, string(r.Flag), flagName(r.Flag))))
		}
	}
	if len(ev) > 0 {
		di.Evidence = []fhir.DetectedIssueEvidence{{Code: ev}}
	}

	// Mitigation: what was done about it.
	for _, r := range g.Decision.Reasons {
		if !r.Cleared() {
			continue
		}
		m := fhir.DetectedIssueMitigation{Action: concept("Clinician clearance",
			coding(SystemMitigation, "CLINICIAN_CLEARANCE", "Clinician clearance"))}
		if c, ok := clearances[r.ClearanceID]; ok {
			m.Action.Text = ptr(fmt.Sprintf("Cleared by a clinician for %s: %s", flagName(c.Flag), c.Reason))
			m.Date = ptr(timeIn(c.CreateTime, x.loc))
			pu, err := x.practitioner(c.ClearedBy)
			if err != nil {
				return "", err
			}
			m.Author = ptr(ref(pu))
		}
		di.Mitigation = append(di.Mitigation, m)
	}
	switch {
	case g.Cause == hep.CausePlanRefused:
		di.Mitigation = append(di.Mitigation, fhir.DetectedIssueMitigation{
			Action: concept("The plan was refused and not written", coding(SystemMitigation, "PLAN_REFUSED", "Plan refused")),
			Date:   ptr(timeIn(g.DecideTime, x.loc))})
	case g.NewState == hep.ItemSuspended && g.PreviousState != hep.ItemSuspended:
		di.Mitigation = append(di.Mitigation, fhir.DetectedIssueMitigation{
			Action: concept("The plan item was suspended", coding(SystemMitigation, "ITEM_SUSPENDED", "Item suspended")),
			Date:   ptr(timeIn(g.DecideTime, x.loc))})
	}
	return u, x.b.entry(u, di)
}

func orNone(s hep.ItemState) string {
	if s == "" {
		return "none"
	}
	return words(string(s))
}
