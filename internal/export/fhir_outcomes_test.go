package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
)

// entriesByURL reads a Bundle's entries: fullUrl -> resource.
func entriesByURL(t *testing.T, doc []byte) (map[string]map[string]any, map[string][]string) {
	t.Helper()
	var b bundle
	if err := json.Unmarshal(doc, &b); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	byType := map[string][]string{}
	for _, en := range b.Entry {
		var m map[string]any
		if err := json.Unmarshal(en.Resource, &m); err != nil {
			t.Fatal(err)
		}
		out[en.FullURL] = m
		typ := m["resourceType"].(string)
		byType[typ] = append(byType[typ], en.FullURL)
	}
	return out, byType
}

func refOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["reference"].(string)
	return s
}

// TestFHIROutcomes checks the fixture's PSFS series in the Bundle: the
// Questionnaire as hep defines it, one QuestionnaireResponse per response
// mirroring the instrument's groups, one score Observation each with
// hep.ScoreResponse's score and the change from the baseline, and one
// Provenance naming the phone.
func TestFHIROutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hep.ExportFHIR)
	out := e.export(t, hep.ExportFHIR, 500)
	if err := validate(t, out); err != nil {
		t.Fatalf("the Bundle does not validate: %v", err)
	}
	res, byType := entriesByURL(t, out)
	psfs, _ := hep.LookupInstrument(hep.InstrumentPSFS)
	patient := export.FullURL("Patient/" + e.f.Patient.ID)
	device := export.FullURL("Device/" + e.f.Device.ID)

	// The Questionnaire: hep's own, with the entry's id.
	qu := export.FullURL("Questionnaire/psfs/1995")
	q := res[qu]
	if q == nil || q["url"] != psfs.URL || q["version"] != psfs.Version || q["id"] != strings.TrimPrefix(qu, "urn:uuid:") ||
		q["title"] != psfs.Title || len(q["item"].([]any)) != 5 || len(q["extension"].([]any)) == 0 {
		t.Fatalf("questionnaire %v", q)
	}

	if len(e.f.Responses) != 3 || len(e.snap.Outcomes) != 1 || len(e.snap.Outcomes[0].Responses) != 3 {
		t.Fatalf("fixture: %d responses pushed, snapshot %+v", len(e.f.Responses), e.snap.Outcomes)
	}
	wantScores := []float64{4, 2, 7}
	wantChange := []string{"Baseline of the series", "-2 points, at least the MCID of 2 points: worsened",
		"+3 points, at least the MCID of 2 points: improved"}
	wantInterp := []string{"", "W", "B"}
	var targets []string
	var newest time.Time
	for i, r := range e.snap.Outcomes[0].Responses {
		if r.ID != e.f.Responses[i].ID {
			t.Fatalf("response %d is %s, want %s (oldest slot first)", i, r.ID, e.f.Responses[i].ID)
		}
		if r.ReceiveTime.After(newest) {
			newest = r.ReceiveTime
		}
		ru := export.FullURL("QuestionnaireResponse/" + r.ID)
		qr := res[ru]
		if qr == nil {
			t.Fatalf("no QuestionnaireResponse for %s", r.ID)
		}
		id := qr["identifier"].(map[string]any)
		if qr["status"] != "completed" || qr["questionnaire"] != "urn:hep:questionnaire:psfs|1995" || refOf(qr["subject"]) != patient ||
			refOf(qr["author"]) != device || qr["authored"] != r.CorrectedAuthoredTime.In(e.f.Zone).Format(time.RFC3339) ||
			id["system"] != export.SystemIDResponse || id["value"] != r.ID {
			t.Errorf("response %d: %v", i, qr)
		}
		// Items: one group per activity answered, name then rating.
		groups := qr["item"].([]any)
		if len(groups) != len(r.Answers)/2 {
			t.Errorf("response %d: %d groups for %d answers", i, len(groups), len(r.Answers))
		}
		for g, gi := range groups {
			gm := gi.(map[string]any)
			items := gm["item"].([]any)
			name, rating := items[0].(map[string]any), items[1].(map[string]any)
			want := fmt.Sprintf("activity-%d", g+1)
			if gm["linkId"] != want || name["linkId"] != want+"-name" || rating["linkId"] != want+"-rating" ||
				name["answer"].([]any)[0].(map[string]any)["valueString"] != r.Answers[2*g].Text ||
				rating["answer"].([]any)[0].(map[string]any)["valueInteger"] != float64(*r.Answers[2*g+1].Value) {
				t.Errorf("response %d group %d: %v", i, g, gm)
			}
		}
		targets = append(targets, ru)

		ou := export.FullURL("Observation/score/" + r.ID)
		ob := res[ou]
		if ob == nil {
			t.Fatalf("no score Observation for %s", r.ID)
		}
		targets = append(targets, ou)
		score := hep.ScoreResponse(psfs, r.Answers)
		vq := ob["valueQuantity"].(map[string]any)
		code := ob["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		derived := ob["derivedFrom"].([]any)
		if vq["value"] != score.Value || score.Value != wantScores[i] || vq["unit"] != "{score}" || vq["system"] != "http://unitsofmeasure.org" ||
			code["system"] != export.SystemQuestionnaireScore || code["code"] != "psfs" ||
			ob["code"].(map[string]any)["text"] != "Patient-Specific Functional Scale score" ||
			len(derived) != 1 || refOf(derived[0]) != ru || refOf(ob["subject"]) != patient || ob["status"] != "final" ||
			ob["effectiveDateTime"] != qr["authored"] {
			t.Errorf("score %d (%v): %v", i, score, ob)
		}
		interp := ob["interpretation"].([]any)[0].(map[string]any)
		if !strings.Contains(interp["text"].(string), wantChange[i]) {
			t.Errorf("score %d interpretation %q, want %q", i, interp["text"], wantChange[i])
		}
		if c := asList(interp["coding"]); (wantInterp[i] == "") != (len(c) == 0) ||
			(len(c) > 0 && c[0].(map[string]any)["code"] != wantInterp[i]) {
			t.Errorf("score %d interpretation coding %v, want %q", i, c, wantInterp[i])
		}
	}

	// One Provenance for the responses and scores, the phone as author.
	var prov map[string]any
	for _, u := range byType["Provenance"] {
		p := res[u]
		for _, tg := range asList(p["target"]) {
			if refOf(tg) == targets[0] {
				prov = p
			}
		}
	}
	if prov == nil {
		t.Fatal("no Provenance targets the responses")
	}
	var got []string
	for _, tg := range asList(prov["target"]) {
		got = append(got, refOf(tg))
	}
	sort.Strings(got)
	sort.Strings(targets)
	agents := asList(prov["agent"])
	if strings.Join(got, " ") != strings.Join(targets, " ") || len(agents) != 1 ||
		refOf(agents[0].(map[string]any)["who"]) != device || refOf(agents[0].(map[string]any)["onBehalfOf"]) != patient ||
		prov["recorded"] != newest.In(e.f.Zone).Format(time.RFC3339) {
		t.Errorf("provenance %v, want targets %v recorded %v", prov, targets, newest)
	}
}

// odiSnapshot is a snapshot with an ODI assignment (the store refuses ODI
// without its licensed text, so no store fixture has one): a baseline
// with section 8 skipped, a response too sparse to score, and a better
// one, by at least the MCID.
func odiSnapshot() *hep.ExportSnapshot {
	snap := syntheticSnapshot(0)
	snap.From, snap.To = hep.Date{Year: 2026, Month: 1, Day: 1}, hep.Date{Year: 2026, Month: 3, Day: 31}
	snap.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap.End = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	snap.GenerateTime = snap.End
	snap.Facts.From, snap.Facts.To, snap.Facts.TimeZone = snap.From, snap.To, "UTC" // the PDF's weeks
	a := hep.Assignment{ID: "0f1e2d3c-0000-4000-8000-000000000001", PatientID: "p", InstrumentID: hep.InstrumentODI,
		Start: hep.Date{Year: 2026, Month: 1, Day: 5}, EveryWeeks: 4, CreateTime: snap.Start}
	sections := func(skip map[int]bool, n int, vals ...int32) []hep.Answer {
		var out []hep.Answer
		for i := 1; i <= n; i++ {
			id := fmt.Sprintf("section-%d", i)
			if skip[i] {
				out = append(out, hep.Answer{LinkID: id, Skipped: true})
				continue
			}
			v := vals[(i-1)%len(vals)]
			out = append(out, hep.Answer{LinkID: id, Value: &v})
		}
		return out
	}
	at := func(d int) time.Time { return time.Date(2026, 1, d, 10, 0, 0, 0, time.UTC) }
	resp := func(n int, slot hep.Date, answers []hep.Answer) hep.QuestionnaireResponse {
		t := at(slot.Day)
		if slot.Month > 1 {
			t = t.AddDate(0, slot.Month-1, 0)
		}
		return hep.QuestionnaireResponse{ID: fmt.Sprintf("0f1e2d3c-0000-4000-8000-00000000010%d", n), PatientID: "p", DeviceID: "phone-1",
			AssignmentID: a.ID, Slot: slot, AuthoredTime: t, CorrectedAuthoredTime: t, ReceiveTime: t.Add(time.Minute),
			Answers: answers, InstrumentID: hep.InstrumentODI}
	}
	// 3 x 9 sections = 27 of 45: 60%; then 5 sections only (fewer than 8):
	// not scorable; then 1 x 10 = 10 of 50: 20%, better by 40 points.
	snap.Outcomes = []hep.AssignmentResponses{{Assignment: a, Responses: []hep.QuestionnaireResponse{
		resp(1, hep.Date{Year: 2026, Month: 1, Day: 5}, sections(map[int]bool{8: true}, 10, 3)),
		resp(2, hep.Date{Year: 2026, Month: 2, Day: 2}, sections(nil, 5, 2)),
		resp(3, hep.Date{Year: 2026, Month: 3, Day: 2}, sections(nil, 10, 1)),
	}}}
	return snap
}

// TestFHIROutcomesODI checks what the PSFS fixture cannot reach: choice
// answers as the option's Coding, a skipped item, an unscorable response
// (no Observation), a LOINC score code, and the lower-is-better direction.
func TestFHIROutcomesODI(t *testing.T) {
	snap := odiSnapshot()
	var buf bytes.Buffer
	if err := export.WriteFHIR(t.Context(), &buf, snap, &synthetic{}, export.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, buf.Bytes()); err != nil {
		t.Fatalf("the Bundle does not validate: %v", err)
	}
	res, byType := entriesByURL(t, buf.Bytes())
	if len(byType["Questionnaire"]) != 1 || len(byType["QuestionnaireResponse"]) != 3 || len(byType["Observation"]) != 2 {
		t.Fatalf("resources %v", byType)
	}
	rs := snap.Outcomes[0].Responses
	base := res[export.FullURL("QuestionnaireResponse/"+rs[0].ID)]
	items := base["item"].([]any)
	if len(items) != 10 {
		t.Fatalf("baseline items %v", items)
	}
	s1 := items[0].(map[string]any)
	c := s1["answer"].([]any)[0].(map[string]any)["valueCoding"].(map[string]any)
	if s1["linkId"] != "section-1" || c["system"] != "urn:hep:questionnaire:odi-statement" || c["code"] != "3" {
		t.Errorf("section 1: %v", s1)
	}
	s8 := items[7].(map[string]any)
	ext := asList(s8["extension"])
	if s8["linkId"] != "section-8" || s8["answer"] != nil || len(ext) != 1 ||
		ext[0].(map[string]any)["url"] != export.ExtSkipped || ext[0].(map[string]any)["valueBoolean"] != true {
		t.Errorf("skipped section 8: %v", s8)
	}
	if res[export.FullURL("Observation/score/"+rs[1].ID)] != nil {
		t.Error("an unscorable response has a score Observation")
	}
	for i, want := range map[int]float64{0: 60, 2: 20} {
		ob := res[export.FullURL("Observation/score/"+rs[i].ID)]
		code := ob["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if ob["valueQuantity"].(map[string]any)["value"] != want || code["system"] != "http://loinc.org" || code["code"] != "97909-6" {
			t.Errorf("ODI score %d: %v", i, ob)
		}
	}
	better := res[export.FullURL("Observation/score/"+rs[2].ID)]
	if txt := better["interpretation"].([]any)[0].(map[string]any)["text"].(string); !strings.Contains(txt, "-40 points") ||
		!strings.Contains(txt, "improved") || !strings.Contains(txt, "10 points or 30% of the baseline") {
		t.Errorf("ODI change %q", txt)
	}
	// Same snapshot, same bytes.
	var again bytes.Buffer
	if err := export.WriteFHIR(t.Context(), &again, snap, &synthetic{}, export.Options{}); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("a second export differs (%v)", err)
	}
}
