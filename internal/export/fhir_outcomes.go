package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/hepclinic/hep/internal/hep"
)

// Outcome measures in the Bundle: the Questionnaire of each instrument
// used (as hep defines it, with the entry's id), one QuestionnaireResponse
// per live response, one score Observation per response with a valid
// score, and one Provenance for all of them naming the phones as authors
// on behalf of the Patient.

// Systems and extensions of the outcome resources.
const (
	SystemIDResponse         = "urn:hep:id:questionnaire-response"
	SystemQuestionnaireScore = "urn:hep:questionnaire-score"
	// ExtSkipped marks an item the patient explicitly skipped (it has no
	// answer).
	ExtSkipped = "urn:hep:questionnaire:skipped"
	// ExtSlot is the due day a response answers; ExtAssignment the
	// assignment it belongs to (a series is one assignment's responses).
	ExtSlot       = "urn:hep:questionnaire:slot"
	ExtAssignment = "urn:hep:questionnaire:assignment"

	systemInterpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
)

// outcomes writes the outcome resources of the snapshot.
func (x *fhirExport) outcomes() error {
	series := outcomesOf(x.snap)
	if len(series) == 0 {
		return nil
	}
	questionnaires := map[hep.InstrumentID]string{}
	var targets []fhir.Reference
	var devices []string
	seenDevice := map[string]bool{}
	var recorded time.Time
	for _, s := range series {
		in := s.Instrument
		if len(s.Points) == 0 {
			continue
		}
		if _, ok := questionnaires[in.ID]; !ok {
			u := FullURL(fmt.Sprintf("Questionnaire/%s/%s", in.ID, in.Version))
			raw, err := withID(in.Raw, uuidOf(u))
			if err != nil {
				return fmt.Errorf("export: questionnaire %s: %w", in.ID, err)
			}
			if err := x.b.entryRaw(u, raw); err != nil {
				return err
			}
			questionnaires[in.ID] = u
		}
		systems := optionSystems(in)
		for _, p := range s.Points {
			r := p.Response
			var author string
			if r.DeviceID != "" {
				var err error
				if author, err = x.device(r.DeviceID); err != nil {
					return err
				}
				if !seenDevice[r.DeviceID] {
					seenDevice[r.DeviceID] = true
					devices = append(devices, r.DeviceID)
				}
			}
			qu := FullURL("QuestionnaireResponse/" + r.ID)
			if err := x.b.entry(qu, x.questionnaireResponse(s, r, qu, author, systems)); err != nil {
				return err
			}
			targets = append(targets, ref(qu))
			if r.ReceiveTime.After(recorded) {
				recorded = r.ReceiveTime
			}
			if !p.Score.Valid {
				continue
			}
			ou := FullURL("Observation/score/" + r.ID)
			if err := x.b.entry(ou, x.scoreObservation(s, p, ou, qu)); err != nil {
				return err
			}
			targets = append(targets, ref(ou))
		}
	}
	if len(targets) == 0 {
		return nil
	}
	sx := x.snap
	pu := FullURL(fmt.Sprintf("Provenance/outcomes/%s/%s/%s", sx.Patient.ID, sx.From, sx.To))
	prov := fhir.Provenance{Id: ptr(uuidOf(pu)), Target: targets, Recorded: timeIn(recorded, x.loc),
		Activity: ptr(concept("Answered by the patient on the hep app; scores computed by hep from the answers",
			coding(systemDataOp, "CREATE", "create"))),
		Agent: x.pageAgents(devices)}
	if len(prov.Agent) == 0 {
		// Every response comes from a phone; should one not name it, the
		// Patient is the author.
		prov.Agent = []fhir.ProvenanceAgent{{Type: ptr(concept("Author", coding(systemProvAgent, "author", "Author"))),
			Who: ref(x.patient)}}
	}
	return x.b.entry(pu, prov)
}

// questionnaireResponse is a response as FHIR: its items mirror the
// instrument's (a group holds its answered items; a group with none is
// left out), a skipped item carries ExtSkipped and no answer.
func (x *fhirExport) questionnaireResponse(s outcomeSeries, r hep.QuestionnaireResponse, fullURL, author string,
	systems map[string]string) fhir.QuestionnaireResponse {
	in := s.Instrument
	answers := make(map[string]hep.Answer, len(r.Answers))
	for _, a := range r.Answers {
		answers[a.LinkID] = a
	}
	qr := fhir.QuestionnaireResponse{Id: ptr(uuidOf(fullURL)),
		Extension: []fhir.Extension{
			{Url: ExtSlot, ValueDate: ptr(r.Slot.String())},
			{Url: ExtAssignment, ValueString: ptr(r.AssignmentID)},
		},
		Identifier:    ptr(ident(SystemIDResponse, r.ID)),
		Questionnaire: ptr(in.URL + "|" + in.Version),
		Status:        fhir.QuestionnaireResponseStatusCompleted,
		Subject:       ptr(ref(x.patient)),
		Authored:      ptr(timeIn(r.CorrectedAuthoredTime, x.loc)),
		Source:        ptr(ref(x.patient)),
	}
	if author != "" {
		qr.Author = ptr(ref(author))
	}
	var leaf func(it hep.InstrumentItem) (fhir.QuestionnaireResponseItem, bool)
	leaf = func(it hep.InstrumentItem) (fhir.QuestionnaireResponseItem, bool) {
		a, ok := answers[it.LinkID]
		if !ok {
			return fhir.QuestionnaireResponseItem{}, false
		}
		ri := fhir.QuestionnaireResponseItem{LinkId: it.LinkID}
		if it.Text != "" {
			ri.Text = ptr(it.Text)
		}
		if a.Skipped {
			ri.Extension = []fhir.Extension{{Url: ExtSkipped, ValueBoolean: ptr(true)}}
			return ri, true
		}
		var ans fhir.QuestionnaireResponseItemAnswer
		switch {
		case it.Type == hep.ItemString && a.Text != "":
			ans.ValueString = ptr(a.Text)
		case it.Type == hep.ItemInteger && a.Value != nil:
			ans.ValueInteger = ptr(int(*a.Value))
		case it.Type == hep.ItemChoice && a.Value != nil:
			for _, o := range it.Options {
				if o.Value == *a.Value {
					c := coding(systems[it.LinkID], o.Code, o.Display)
					if systems[it.LinkID] == "" {
						c.System = nil
					}
					ans.ValueCoding = &c
					break
				}
			}
			if ans.ValueCoding == nil {
				return ri, true // validated answers always name an option
			}
		default:
			return ri, true
		}
		ri.Answer = []fhir.QuestionnaireResponseItemAnswer{ans}
		return ri, true
	}
	for _, it := range in.Items {
		if it.Type != hep.ItemGroup {
			if ri, ok := leaf(it); ok {
				qr.Item = append(qr.Item, ri)
			}
			continue
		}
		g := fhir.QuestionnaireResponseItem{LinkId: it.LinkID}
		if it.Text != "" {
			g.Text = ptr(it.Text)
		}
		for _, sub := range it.Items {
			if ri, ok := leaf(sub); ok {
				g.Item = append(g.Item, ri)
			}
		}
		if len(g.Item) > 0 {
			qr.Item = append(qr.Item, g)
		}
	}
	return qr
}

// scoreObservation is a response's score, derived from it, with its change
// from the series' baseline as the interpretation.
func (x *fhirExport) scoreObservation(s outcomeSeries, p outcomePoint, fullURL, response string) fhir.Observation {
	in := s.Instrument
	name := in.Title + " score"
	code := concept(name, coding(SystemQuestionnaireScore, string(in.ID), name))
	if in.ScoreLOINC != "" {
		code = concept(name, coding(systemLOINC, in.ScoreLOINC, ""))
	}
	ob := fhir.Observation{Id: ptr(uuidOf(fullURL)), Status: fhir.ObservationStatusFinal,
		Category:          surveyCategory,
		Code:              code,
		Subject:           ptr(ref(x.patient)),
		EffectiveDateTime: ptr(timeIn(p.Response.CorrectedAuthoredTime, x.loc)),
		ValueQuantity: &fhir.Quantity{Value: ptr(json.Number(scoreText(p.Score.Value))), Unit: ptr("{score}"),
			System: ptr(systemUCUM), Code: ptr("{score}")},
		DerivedFrom: []fhir.Reference{ref(response)},
		Note: []fhir.Annotation{{Text: fmt.Sprintf("%s of %s to %s (%s); %d scored items answered, %d skipped.",
			name, scoreText(in.ScoreMin), scoreText(in.ScoreMax), betterText(in), p.Score.Answered, p.Score.Skipped)}},
	}
	if text := changeSentence(s, p); text != "" {
		cc := concept(text)
		switch p.Change {
		case hep.OutcomeImproved:
			cc.Coding = []fhir.Coding{coding(systemInterpretation, "B", "Better")}
		case hep.OutcomeWorsened:
			cc.Coding = []fhir.Coding{coding(systemInterpretation, "W", "Worse")}
		}
		ob.Interpretation = []fhir.CodeableConcept{cc}
	}
	return ob
}

// betterText says which way an instrument's score is better.
func betterText(in hep.Instrument) string {
	if in.HigherIsBetter {
		return "higher is better"
	}
	return "lower is better"
}

// withID returns a JSON object with its top-level "id" set to id, every
// other member kept in order, compacted.
func withID(raw []byte, id string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out bytes.Buffer
	out.WriteByte('{')
	n := 0
	member := func(k string, v []byte) {
		if n > 0 {
			out.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		out.Write(kb)
		out.WriteByte(':')
		json.Compact(&out, v)
	}
	idJSON, _ := json.Marshal(id)
	wrote := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if k == "id" {
			if !wrote {
				member("id", idJSON)
				wrote = true
			}
			continue
		}
		member(k, v)
		if k == "resourceType" && !wrote {
			member("id", idJSON)
			wrote = true
		}
	}
	if !wrote {
		member("id", idJSON)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}
