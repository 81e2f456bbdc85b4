package export_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
)

// The FHIR R4 JSON schema, compiled once (see schemaFor).
var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// schemaFor compiles HL7's FHIR R4 JSON schema, installed by
// .ci/fhir-schema.sh into .tools/fhir/r4/ (or at $HEP_FHIR_SCHEMA).
func schemaFor(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := os.Getenv("HEP_FHIR_SCHEMA")
	if path == "" {
		path = filepath.Join(repoRoot(t), ".tools", "fhir", "r4", "fhir.schema.json")
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the FHIR R4 JSON schema is missing on CI (%v): .ci/tools.sh runs .ci/fhir-schema.sh", err)
		}
		t.Skipf("the FHIR R4 JSON schema is missing (%v): run bash .ci/fhir-schema.sh (CI fails here instead of skipping)", err)
	}
	schemaOnce.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if schemaErr = c.AddResource("fhir.schema.json", doc); schemaErr != nil {
			return
		}
		schema, schemaErr = c.Compile("fhir.schema.json")
	})
	if schemaErr != nil {
		t.Fatalf("FHIR schema: %v", schemaErr)
	}
	return schema
}

// validate checks a JSON document against the FHIR R4 schema.
func validate(t *testing.T, doc []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("the export is not JSON: %v", err)
	}
	return schemaFor(t).Validate(inst)
}

type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type resource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

// references collects every "reference" value anywhere in v.
func references(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "reference" {
				*out = append(*out, s)
			} else {
				references(x, out)
			}
		}
	case []any:
		for _, x := range v {
			references(x, out)
		}
	}
}

// TestFHIRBundleValidates exports the rich fixture as FHIR and checks it
// against HL7's R4 JSON schema, that every reference resolves inside the
// Bundle, that resource counts equal the store's for the range, that
// nothing of the other patient is in it, that re-exports are identical,
// and the clinical content of CarePlans, Flags and DetectedIssues.
func TestFHIRBundleValidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hep.ExportFHIR)
	out := e.export(t, hep.ExportFHIR, 7) // small pages: many Provenance pages
	if err := validate(t, out); err != nil {
		t.Fatalf("the Bundle does not validate against the FHIR R4 schema:\n%v", err)
	}

	var b bundle
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	if b.ResourceType != "Bundle" || b.Type != "collection" {
		t.Fatalf("a %s of type %s", b.ResourceType, b.Type)
	}
	full := map[string]bool{}
	count := map[string]int{}
	byType := map[string][]map[string]any{}
	var refs []string
	for _, en := range b.Entry {
		var r resource
		if err := json.Unmarshal(en.Resource, &r); err != nil {
			t.Fatal(err)
		}
		if full[en.FullURL] {
			t.Errorf("fullUrl %s twice", en.FullURL)
		}
		full[en.FullURL] = true
		if en.FullURL != "urn:uuid:"+r.ID || len(r.ID) != 36 {
			t.Errorf("fullUrl %s for id %s", en.FullURL, r.ID)
		}
		count[r.ResourceType]++
		var m map[string]any
		if err := json.Unmarshal(en.Resource, &m); err != nil {
			t.Fatal(err)
		}
		byType[r.ResourceType] = append(byType[r.ResourceType], m)
		references(m, &refs)
	}
	for _, r := range refs {
		if !full[r] {
			t.Errorf("reference %s resolves to no entry", r)
		}
	}
	if len(refs) < len(b.Entry) {
		t.Errorf("only %d references in %d entries", len(refs), len(b.Entry))
	}

	// Counts: the store's, for the range.
	logs, checkins := e.logs(t), e.checkins(t)
	scores := 0
	for _, l := range logs {
		if l.PainBefore != nil {
			scores++
		}
		if l.PainAfter != nil {
			scores++
		}
	}
	present := 0
	for _, a := range screening(e) {
		if a.Status == hep.StatusPresent {
			present++
		}
	}
	want := map[string]int{
		"Patient":               1,
		"CarePlan":              len(e.snap.Plans),
		"Procedure":             len(logs),
		"Observation":           len(checkins) + scores + len(e.f.Responses), // every PSFS response is scorable
		"Flag":                  present,
		"DetectedIssue":         len(e.snap.Decisions),
		"Questionnaire":         1,
		"QuestionnaireResponse": len(e.f.Responses),
	}
	for typ, n := range want {
		if count[typ] != n {
			t.Errorf("%d %s, want %d", count[typ], typ, n)
		}
	}
	if int64(len(logs)) != e.snap.LogCount || int64(len(checkins)) != e.snap.CheckinCount || present != 2 ||
		len(e.snap.Plans) != 2 || len(e.snap.Decisions) == 0 {
		t.Errorf("fixture: %d logs (%d), %d check-ins (%d), %d flags, %d plans, %d decisions", len(logs), e.snap.LogCount,
			len(checkins), e.snap.CheckinCount, present, len(e.snap.Plans), len(e.snap.Decisions))
	}
	if count["Provenance"] < 2+(len(logs)+6)/7 {
		t.Errorf("%d Provenance", count["Provenance"])
	}
	for _, o := range byType["Observation"] {
		code := o["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if code["system"] == export.SystemQuestionnaireScore {
			continue // TestFHIROutcomes
		}
		if code["system"] != "http://loinc.org" || code["code"] != export.LOINCPain || o["valueInteger"] == nil || o["effectiveDateTime"] == nil {
			t.Errorf("observation %v", o)
		}
	}

	// Nothing of the other patient.
	other := e.f.Other
	for _, s := range []string{other.ID, other.ExternalMRN, other.DisplayName, "other patient's note", "other patient's activity"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("the export holds %q of the other patient", s)
		}
	}
	for _, s := range []string{"after the range", "wrong time", "duplicate", "typo"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("the export holds %q, of a record outside the range or not live", s)
		}
	}

	// Plans: version 2 active and replacing version 1 (revoked); the
	// suspended items gated out.
	var v1, v2 map[string]any
	for _, cp := range byType["CarePlan"] {
		switch cp["title"] {
		case "Home exercise program, version 1":
			v1 = cp
		case "Home exercise program, version 2":
			v2 = cp
		}
	}
	if v1 == nil || v2 == nil || v1["status"] != "revoked" || v2["status"] != "active" ||
		v2["replaces"].([]any)[0].(map[string]any)["reference"] != export.FullURL("CarePlan/"+e.f.Patient.ID+"/1") {
		t.Fatalf("care plans: %v\n%v", v1, v2)
	}
	gated := map[string]bool{}
	for _, a := range v2["activity"].([]any) {
		d := a.(map[string]any)["detail"].(map[string]any)
		code := d["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if code["system"] != export.SystemExercise {
			t.Errorf("activity code %v", code)
		}
		if d["doNotPerform"] == true {
			gated[code["code"].(string)] = true
			if d["status"] != "on-hold" || !strings.Contains(d["statusReason"].(map[string]any)["text"].(string), "Suspended") {
				t.Errorf("gated activity %v", d)
			}
		}
		if d["scheduledTiming"].(map[string]any)["repeat"].(map[string]any)["boundsPeriod"] == nil {
			t.Errorf("activity without bounds: %v", d)
		}
	}
	if len(gated) != 2 || !gated["childs-pose"] || !gated["traction-machine"] {
		t.Errorf("gated out: %v, want child's pose and traction", gated)
	}

	// Practitioners carry the account's name (hep.ExportSnapshot.Names).
	if len(byType["Practitioner"]) == 0 {
		t.Error("no Practitioner")
	}
	for _, p := range byType["Practitioner"] {
		names := asList(p["name"])
		if len(names) != 1 || names[0].(map[string]any)["text"] != "Dr Rivera" {
			t.Errorf("practitioner without its name: %v", p)
		}
	}

	// Decisions: severity by outcome; a clearance as mitigation with its
	// clinician.
	sev := map[string]string{"CONTRAINDICATED": "high", "NEEDS_CLEARANCE": "moderate", "NEEDS_SCREENING": "low", "ALLOWED": "low"}
	cleared := 0
	for _, di := range byType["DetectedIssue"] {
		outcome := di["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
		if di["severity"] != sev[outcome] || di["status"] != "final" || len(di["implicated"].([]any)) == 0 {
			t.Errorf("detected issue %v", di)
		}
		for _, m := range asList(di["mitigation"]) {
			m := m.(map[string]any)
			if m["action"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] == "CLINICIAN_CLEARANCE" {
				cleared++
				if m["author"] == nil || !strings.Contains(m["action"].(map[string]any)["text"].(string), "Cleared by a clinician") {
					t.Errorf("clearance mitigation %v", m)
				}
			}
		}
	}
	if cleared == 0 {
		t.Error("no DetectedIssue names a clearance")
	}

	// Stable: the same snapshot gives the same bytes; a new export of the
	// same range gives the same resource ids.
	if again := e.export(t, hep.ExportFHIR, 500); !bytes.Equal(entriesOf(t, again, "Patient"), entriesOf(t, out, "Patient")) {
		t.Error("a re-export changed the Patient entry")
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// entriesOf returns the raw entries of a resource type.
func entriesOf(t *testing.T, doc []byte, typ string) []byte {
	t.Helper()
	var b bundle
	if err := json.Unmarshal(doc, &b); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, en := range b.Entry {
		var r resource
		json.Unmarshal(en.Resource, &r)
		if r.ResourceType == typ {
			out = append(out, en.Resource...)
		}
	}
	return out
}

// screening returns the latest effective answer per flag at the end of the
// range, from the store's history.
func screening(e *env) map[hep.Flag]hep.ScreeningAnswer {
	out := map[hep.Flag]hep.ScreeningAnswer{}
	for _, a := range e.snap.Screening {
		if a.Effective {
			out[a.Flag] = a
		}
	}
	return out
}

// TestFHIRSchemaRejects makes sure the validator is not vacuous: a wrong
// type, an unknown element and a bad dateTime are each refused.
func TestFHIRSchemaRejects(t *testing.T) {
	schemaFor(t)
	good := `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:0b9d6d3e-3f5c-5a4e-9f55-6a2d1f5c7e11",
		"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueInteger":3,"effectiveDateTime":"2030-03-18T08:00:00+01:00"}}]}`
	if err := validate(t, []byte(good)); err != nil {
		t.Fatalf("a valid Bundle is refused: %v", err)
	}
	for name, bad := range map[string]string{
		"string as integer": strings.Replace(good, `"valueInteger":3`, `"valueInteger":"3"`, 1),
		"unknown element":   strings.Replace(good, `"status":"final"`, `"status":"final","painScore":3`, 1),
		"bad dateTime":      strings.Replace(good, `2030-03-18T08:00:00+01:00`, `2030-03-18 08:00`, 1),
		"bad status code":   strings.Replace(good, `"status":"final"`, `"status":"fi nal "`, 1),
	} {
		if err := validate(t, []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestFullURLStable pins the UUID scheme: changing it would break the
// merging of exports in a receiving system.
func TestFullURLStable(t *testing.T) {
	if got, want := export.FullURL("Patient/x"), export.FullURL("Patient/x"); got != want {
		t.Fatal("FullURL is not deterministic")
	}
	if export.FullURL("Patient/x") == export.FullURL("Patient/y") {
		t.Fatal("FullURL collides")
	}
	const want = "urn:uuid:" // v5 UUIDs: version nibble 5
	if u := export.FullURL("Patient/x"); !strings.HasPrefix(u, want) || u[len(want)+14] != '5' {
		t.Fatalf("FullURL %s is not a v5 urn:uuid", u)
	}
}
