package export

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/hepclinic/hep/internal/hep"
)

// The streamed rows (sessions, their pain scores and check-ins: nearly all
// of a long export) are where the FHIR writer spends its time. Each row's
// resource is defined here twice:
//   - as fhir-models structs (procedureOf, sessionPainOf, checkinOf,
//     provenanceOf): the reference, in the library's types;
//   - as an append-only JSON assembler (appendProcedure, ...) that splices
//     the row's scalars between fragments marshalled once per export by
//     fhir-models (the patient reference, codes, categories).
//
// The writer uses the assemblers: marshalling the structs by reflection
// (about 60% of the writer's time) made a FHIR export of 50,000 sessions run
// at a fifth of the rate of reading the rows. TestFastRowsMatchLibrary
// checks, for rows covering every optional element and awkward text, that
// each assembler's output is byte for byte what json.Marshal makes of the
// reference struct, so the two cannot drift apart.

// rowCache holds the JSON fragments every row repeats, marshalled by
// fhir-models once per export.
type rowCache struct {
	patient     []byte            // Reference to the Patient
	survey      []byte            // Observation.category
	session     []byte            // Procedure.category
	checkinCode []byte            // Observation.code of a check-in
	activity    []byte            // Provenance.activity of patient records
	codes       map[string][]byte // exercise id -> its CodeableConcept
	painCodes   map[string][]byte // "before " or "after " + exercise id -> Observation.code
	planRefs    map[int64][]byte  // plan version -> Procedure.basedOn
	bodySites   map[hep.PainLocation][]byte
	summaries   map[summaryKey]string // sessionSummary by what it depends on
	buf         []byte                // scratch for one resource
}

// summaryKey is what sessionSummary depends on: sessions repeat a few
// combinations, so each summary is made once per export.
type summaryKey struct {
	sets, reps, hold, duration int32
	difficulty                 hep.Difficulty
	suspended                  bool
}

func (c *rowCache) summary(l hep.ExerciseLog) string {
	k := summaryKey{l.SetsDone, l.RepsDone, l.HoldSecondsDone, l.DurationSecondsDone, l.Difficulty, l.ItemSuspended}
	s, ok := c.summaries[k]
	if !ok {
		if len(c.summaries) >= 4096 { // bounded whatever the rows
			clear(c.summaries)
		}
		s = sessionSummary(l)
		c.summaries[k] = s
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("export: marshalling a constant FHIR element: %v", err))
	}
	return b
}

func (x *fhirExport) cache() *rowCache {
	if x.rows != nil {
		return x.rows
	}
	c := &rowCache{
		patient:     mustJSON(ref(x.patient)),
		survey:      mustJSON(surveyCategory),
		session:     mustJSON(sessionCategory),
		checkinCode: mustJSON(painCode("Pain 0-10 (check-in)")),
		activity:    mustJSON(patientActivity),
		codes:       map[string][]byte{}, painCodes: map[string][]byte{}, planRefs: map[int64][]byte{},
		bodySites: map[hep.PainLocation][]byte{}, summaries: map[summaryKey]string{},
	}
	x.rows = c
	return c
}

func (c *rowCache) code(x *fhirExport, exerciseID string) []byte {
	b, ok := c.codes[exerciseID]
	if !ok {
		b = mustJSON(exerciseCode(x.snap, exerciseID))
		c.codes[exerciseID] = b
	}
	return b
}

func (c *rowCache) painCode(x *fhirExport, which, exerciseID string) []byte {
	k := which + " " + exerciseID
	b, ok := c.painCodes[k]
	if !ok {
		b = mustJSON(sessionPainCode(x.snap, which, exerciseID))
		c.painCodes[k] = b
	}
	return b
}

func (c *rowCache) planRef(x *fhirExport, version int64) []byte {
	b, ok := c.planRefs[version]
	if !ok {
		if cp, in := x.plans[version]; in {
			b = mustJSON([]fhir.Reference{ref(cp)})
		}
		c.planRefs[version] = b
	}
	return b
}

func (c *rowCache) bodySite(l hep.PainLocation) []byte {
	b, ok := c.bodySites[l]
	if !ok {
		if t := locationText[l]; t != "" {
			b = mustJSON(concept(t))
		}
		c.bodySites[l] = b
	}
	return b
}

// Constant elements of the rows.
var (
	surveyCategory  = []fhir.CodeableConcept{{Coding: []fhir.Coding{coding(systemObsCategory, "survey", "Survey")}}}
	sessionCategory = concept("Home exercise session")
	patientActivity = concept("Recorded by the patient on the hep app", coding(systemDataOp, "CREATE", "create"))
	locationText    = map[hep.PainLocation]string{
		hep.PainLowBack: "Low back", hep.PainNeck: "Neck", hep.PainLeg: "Leg", hep.PainOther: "Other",
	}
)

// painCode is LOINC 72514-3 with a text saying which score it is.
func painCode(text string) fhir.CodeableConcept {
	return concept(text, coding(systemLOINC, LOINCPain, loincPainDisplay))
}

func exerciseCode(snap *hep.ExportSnapshot, id string) fhir.CodeableConcept {
	name := exerciseName(snap, id)
	return concept(name, coding(SystemExercise, id, name))
}

func sessionPainCode(snap *hep.ExportSnapshot, which, exerciseID string) fhir.CodeableConcept {
	return painCode(fmt.Sprintf("Pain 0-10 %s the exercise session (%s)", which, exerciseName(snap, exerciseID)))
}

// sessionSummary is the generated note of a session: what was done.
func sessionSummary(l hep.ExerciseLog) string {
	s := "Done: " + doneText(l)
	if l.Difficulty != hep.DifficultyUnreported {
		s += "; difficulty: " + words(string(l.Difficulty))
	}
	if !hep.UseOfSession(l.ItemSuspended).Adherence {
		s += "; logged while the plan item was suspended (not counted toward adherence)"
	}
	return s
}

// redFlagNote is the generated note of a check-in with red flags.
func redFlagNote(c hep.PainCheckin) string {
	names := make([]string, len(c.RedFlags))
	for i, r := range c.RedFlags {
		names[i] = words(string(r))
	}
	return "Red-flag symptoms reported: " + strings.Join(names, ", ")
}

// rowID is the UUID of a row's resource (see FullURL).
func rowID(name string) string { return rowID3(name, "", "") }

// rowID3 is rowID(a + b + c): uuid.NewSHA1(Namespace, name).String()
// computed on the stack, with the string as its one allocation (three
// UUIDs per session made the library's version a sixth of the writer's
// time). TestRowIDMatchesLibrary keeps the two equal.
func rowID3(a, b, c string) string {
	var buf [192]byte
	in := append(buf[:0], Namespace[:]...)
	in = append(append(append(in, a...), b...), c...)
	sum := sha1.Sum(in)
	sum[6] = sum[6]&0x0f | 0x50 // version 5
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], sum[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], sum[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], sum[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], sum[8:10])
	out[23] = '-'
	hex.Encode(out[24:], sum[10:16])
	return string(out[:])
}

// ---- The reference: fhir-models structs. ----

func (x *fhirExport) procedureOf(l hep.ExerciseLog, id string) fhir.Procedure {
	pr := fhir.Procedure{Id: ptr(id), Status: fhir.EventStatusCompleted,
		Identifier:        []fhir.Identifier{ident(SystemIDLog, l.ID)},
		Category:          ptr(sessionCategory),
		Code:              ptr(exerciseCode(x.snap, l.ExerciseID)),
		Subject:           ref(x.patient),
		PerformedDateTime: ptr(timeIn(l.CorrectedPerformTime, x.loc)),
		Recorder:          ptr(ref(x.patient)),
		Performer:         []fhir.ProcedurePerformer{{Actor: ref(x.patient)}},
		Note:              []fhir.Annotation{{Text: sessionSummary(l)}},
	}
	if cp, ok := x.plans[l.PlanVersion]; ok {
		pr.BasedOn = []fhir.Reference{ref(cp)}
	}
	if l.Note != "" {
		pr.Note = append(pr.Note, fhir.Annotation{AuthorReference: ptr(ref(x.patient)), Text: l.Note})
	}
	return pr
}

func (x *fhirExport) sessionPainOf(l hep.ExerciseLog, which string, score int32, procedure, id string) fhir.Observation {
	return fhir.Observation{Id: ptr(id), Status: fhir.ObservationStatusFinal,
		Category:          surveyCategory,
		Code:              sessionPainCode(x.snap, which, l.ExerciseID),
		Subject:           ptr(ref(x.patient)),
		PartOf:            []fhir.Reference{ref(procedure)},
		EffectiveDateTime: ptr(timeIn(l.CorrectedPerformTime, x.loc)),
		Issued:            ptr(timeIn(l.ReceiveTime, x.loc)),
		Performer:         []fhir.Reference{ref(x.patient)},
		ValueInteger:      ptr(int(score)),
	}
}

func (x *fhirExport) checkinOf(c hep.PainCheckin, id string) fhir.Observation {
	ob := fhir.Observation{Id: ptr(id), Status: fhir.ObservationStatusFinal,
		Identifier:        []fhir.Identifier{ident(SystemIDCheckin, c.ID)},
		Category:          surveyCategory,
		Code:              painCode("Pain 0-10 (check-in)"),
		Subject:           ptr(ref(x.patient)),
		EffectiveDateTime: ptr(timeIn(c.CorrectedRecordTime, x.loc)),
		Issued:            ptr(timeIn(c.ReceiveTime, x.loc)),
		Performer:         []fhir.Reference{ref(x.patient)},
		ValueInteger:      ptr(int(c.Score)),
	}
	if t := locationText[c.Location]; t != "" {
		ob.BodySite = ptr(concept(t))
	}
	if len(c.RedFlags) > 0 {
		ob.Note = append(ob.Note, fhir.Annotation{Text: redFlagNote(c)})
	}
	if c.Note != "" {
		ob.Note = append(ob.Note, fhir.Annotation{AuthorReference: ptr(ref(x.patient)), Text: c.Note})
	}
	return ob
}

// pageAgents are the authors of a page of patient records: its phones, on
// behalf of the Patient, in id order.
func (x *fhirExport) pageAgents(devices []string) []fhir.ProvenanceAgent {
	sort.Strings(devices)
	agents := make([]fhir.ProvenanceAgent, 0, len(devices))
	for _, d := range devices {
		agents = append(agents, fhir.ProvenanceAgent{
			Type:       ptr(concept("Author", coding(systemProvAgent, "author", "Author"))),
			Who:        ref(x.devices[d]),
			OnBehalfOf: ptr(ref(x.patient)),
		})
	}
	return agents
}

func (x *fhirExport) provenanceOf(id string, targets, devices []string, recorded time.Time) fhir.Provenance {
	p := fhir.Provenance{Id: ptr(id), Recorded: timeIn(recorded, x.loc), Activity: ptr(patientActivity),
		Agent: x.pageAgents(devices)}
	for _, t := range targets {
		p.Target = append(p.Target, ref(t))
	}
	return p
}

// ---- The assemblers. ----

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML-safe): plain ASCII is copied, anything else goes
// through json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime appends t in the patient's zone as a JSON string (timeIn).
func appendTime(b []byte, t time.Time, loc *time.Location) []byte {
	b = append(b, '"')
	b = t.In(loc).AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func (x *fhirExport) appendProcedure(b []byte, l hep.ExerciseLog, id string) []byte {
	c := x.cache()
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","identifier":[{"system":"`+SystemIDLog+`","value":`...)
	b = appendString(b, l.ID)
	b = append(b, "}]"...)
	if r := c.planRef(x, l.PlanVersion); r != nil {
		b = append(b, `,"basedOn":`...)
		b = append(b, r...)
	}
	b = append(b, `,"status":"completed","category":`...)
	b = append(b, c.session...)
	b = append(b, `,"code":`...)
	b = append(b, c.code(x, l.ExerciseID)...)
	b = append(b, `,"subject":`...)
	b = append(b, c.patient...)
	b = append(b, `,"performedDateTime":`...)
	b = appendTime(b, l.CorrectedPerformTime, x.loc)
	b = append(b, `,"recorder":`...)
	b = append(b, c.patient...)
	b = append(b, `,"performer":[{"actor":`...)
	b = append(b, c.patient...)
	b = append(b, `}],"note":[{"text":`...)
	b = appendString(b, c.summary(l))
	b = append(b, '}')
	if l.Note != "" {
		b = append(b, `,{"authorReference":`...)
		b = append(b, c.patient...)
		b = append(b, `,"text":`...)
		b = appendString(b, l.Note)
		b = append(b, '}')
	}
	return append(b, `],"resourceType":"Procedure"}`...)
}

func (x *fhirExport) appendSessionPain(b []byte, l hep.ExerciseLog, which string, score int32, procedure, id string) []byte {
	c := x.cache()
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","partOf":[{"reference":"`...)
	b = append(b, procedure...)
	b = append(b, `"}],"status":"final","category":`...)
	b = append(b, c.survey...)
	b = append(b, `,"code":`...)
	b = append(b, c.painCode(x, which, l.ExerciseID)...)
	b = append(b, `,"subject":`...)
	b = append(b, c.patient...)
	b = append(b, `,"effectiveDateTime":`...)
	b = appendTime(b, l.CorrectedPerformTime, x.loc)
	b = append(b, `,"issued":`...)
	b = appendTime(b, l.ReceiveTime, x.loc)
	b = append(b, `,"performer":[`...)
	b = append(b, c.patient...)
	b = append(b, `],"valueInteger":`...)
	b = strconv.AppendInt(b, int64(score), 10)
	return append(b, `,"resourceType":"Observation"}`...)
}

func (x *fhirExport) appendCheckin(b []byte, ci hep.PainCheckin, id string) []byte {
	c := x.cache()
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","identifier":[{"system":"`+SystemIDCheckin+`","value":`...)
	b = appendString(b, ci.ID)
	b = append(b, `}],"status":"final","category":`...)
	b = append(b, c.survey...)
	b = append(b, `,"code":`...)
	b = append(b, c.checkinCode...)
	b = append(b, `,"subject":`...)
	b = append(b, c.patient...)
	b = append(b, `,"effectiveDateTime":`...)
	b = appendTime(b, ci.CorrectedRecordTime, x.loc)
	b = append(b, `,"issued":`...)
	b = appendTime(b, ci.ReceiveTime, x.loc)
	b = append(b, `,"performer":[`...)
	b = append(b, c.patient...)
	b = append(b, `],"valueInteger":`...)
	b = strconv.AppendInt(b, int64(ci.Score), 10)
	if len(ci.RedFlags) > 0 || ci.Note != "" {
		b = append(b, `,"note":[`...)
		if len(ci.RedFlags) > 0 {
			b = append(b, `{"text":`...)
			b = appendString(b, redFlagNote(ci))
			b = append(b, '}')
			if ci.Note != "" {
				b = append(b, ',')
			}
		}
		if ci.Note != "" {
			b = append(b, `{"authorReference":`...)
			b = append(b, c.patient...)
			b = append(b, `,"text":`...)
			b = appendString(b, ci.Note)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if s := c.bodySite(ci.Location); s != nil {
		b = append(b, `,"bodySite":`...)
		b = append(b, s...)
	}
	return append(b, `,"resourceType":"Observation"}`...)
}

func (x *fhirExport) appendProvenance(b []byte, id string, targets, devices []string, recorded time.Time) []byte {
	c := x.cache()
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","target":[`...)
	for i, t := range targets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"reference":"`...)
		b = append(b, t...)
		b = append(b, `"}`...)
	}
	b = append(b, `],"recorded":`...)
	b = appendTime(b, recorded, x.loc)
	b = append(b, `,"activity":`...)
	b = append(b, c.activity...)
	b = append(b, `,"agent":`...)
	b = append(b, mustJSON(x.pageAgents(devices))...)
	return append(b, `,"resourceType":"Provenance"}`...)
}

// ---- Pages. ----

// page collects what a page's Provenance needs.
type page struct {
	targets  []string
	devices  []string
	seen     map[string]bool
	recorded time.Time
}

func (p *page) add(deviceID string, received time.Time) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[deviceID] {
		p.seen[deviceID] = true
		p.devices = append(p.devices, deviceID)
	}
	if received.After(p.recorded) {
		p.recorded = received
	}
}

// row writes one streamed resource.
func (x *fhirExport) row(p *page, id string, build func([]byte) []byte) error {
	c := x.cache()
	c.buf = build(c.buf[:0])
	u := "urn:uuid:" + id
	p.targets = append(p.targets, u)
	return x.b.entryRaw(u, c.buf)
}

// provenance writes a page's Provenance.
func (x *fhirExport) provenance(name string, p *page) error {
	if len(p.targets) == 0 {
		return nil
	}
	id := rowID(name)
	c := x.cache()
	c.buf = x.appendProvenance(c.buf[:0], id, p.targets, p.devices, p.recorded)
	return x.b.entryRaw("urn:uuid:"+id, c.buf)
}

// sessions writes a page of exercise logs: a Procedure per session, an
// Observation per pain score it holds, and the page's Provenance.
func (x *fhirExport) sessions(logs []hep.ExerciseLog) error {
	var p page
	for _, l := range logs {
		if _, err := x.device(l.DeviceID); err != nil {
			return err
		}
		p.add(l.DeviceID, l.ReceiveTime)
		procID := rowID3("Procedure/", l.ID, "")
		if err := x.row(&p, procID, func(b []byte) []byte { return x.appendProcedure(b, l, procID) }); err != nil {
			return err
		}
		for _, sc := range [...]struct {
			score *int32
			which string
		}{{l.PainBefore, "before"}, {l.PainAfter, "after"}} {
			if sc.score == nil {
				continue
			}
			id := rowID3("Observation/", l.ID, "/"+sc.which)
			err := x.row(&p, id, func(b []byte) []byte {
				return x.appendSessionPain(b, l, sc.which, *sc.score, "urn:uuid:"+procID, id)
			})
			if err != nil {
				return err
			}
		}
	}
	return x.provenance("Provenance/sessions/"+logs[0].ID, &p)
}

// checkins writes a page of pain check-ins as Observations and the page's
// Provenance.
func (x *fhirExport) checkins(cs []hep.PainCheckin) error {
	var p page
	for _, c := range cs {
		if _, err := x.device(c.DeviceID); err != nil {
			return err
		}
		p.add(c.DeviceID, c.ReceiveTime)
		id := rowID3("Observation/", c.ID, "")
		if err := x.row(&p, id, func(b []byte) []byte { return x.appendCheckin(b, c, id) }); err != nil {
			return err
		}
	}
	return x.provenance("Provenance/checkins/"+cs[0].ID, &p)
}
