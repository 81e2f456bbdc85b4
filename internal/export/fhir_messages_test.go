package export_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
)

// wantReadByOther is whether the other side had read each of the
// fixture's messages of the range at export time (see exporttest): the
// team read through the second question, the patient through its answer.
var wantReadByOther = []bool{true, true, true, true, true, false, false}

// wantSenders are the senders of the fixture's messages of the range.
var wantSenders = []hep.MessageSender{hep.SenderPatient, hep.SenderClinician, hep.SenderSystem, hep.SenderPatient,
	hep.SenderClinician, hep.SenderPatient, hep.SenderClinician}

// checkMessageSnapshot checks that the snapshot holds the fixture's
// messages of the range, in thread order, and none other.
func checkMessageSnapshot(t *testing.T, e *env) {
	t.Helper()
	ms := e.snap.Messages
	if len(ms) != len(e.f.Messages) || len(ms) != len(wantSenders) {
		t.Fatalf("%d messages in the snapshot, %d in the fixture's range", len(ms), len(e.f.Messages))
	}
	for i, m := range ms {
		if m.ID != e.f.Messages[i].ID || m.Sender != wantSenders[i] || m.Body != e.f.Messages[i].Body ||
			(i > 0 && m.ThreadSeq <= ms[i-1].ThreadSeq) {
			t.Errorf("message %d: %+v, want %+v", i, m, e.f.Messages[i])
		}
	}
	if th := e.snap.Thread; th.UnreadByTeam != 2 || th.ReadByTeamThrough != ms[3].ThreadSeq || th.ReadByPatientThrough != ms[4].ThreadSeq {
		t.Errorf("thread %+v", th)
	}
}

// TestFHIRMessages checks the fixture's thread in the Bundle: one
// Communication per message of the range (sender, recipient, times in the
// patient's zone, the body as the payload, the notice's category, the
// read marks), each in a Provenance naming its author, and nothing of the
// messages outside the range or of the other patient.
func TestFHIRMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hep.ExportFHIR)
	checkMessageSnapshot(t, e)
	out := e.export(t, hep.ExportFHIR, 500)
	if err := validate(t, out); err != nil {
		t.Fatalf("the Bundle does not validate: %v", err)
	}
	res, byType := entriesByURL(t, out)
	if n := len(byType["Communication"]); n != len(e.snap.Messages) {
		t.Errorf("%d Communications, want %d", n, len(e.snap.Messages))
	}
	patient := export.FullURL("Patient/" + e.f.Patient.ID)
	device := export.FullURL("Device/" + e.f.Device.ID)
	doctor := export.FullURL("Practitioner/" + e.f.Clinician.ID)
	server := export.FullURL("Device/hep-server")
	author := map[string]string{} // Communication -> the Provenance agent's who
	for _, u := range byType["Provenance"] {
		p := res[u]
		agents := asList(p["agent"])
		for _, tg := range asList(p["target"]) {
			if len(agents) == 1 {
				author[refOf(tg)] = refOf(agents[0].(map[string]any)["who"])
				if refOf(agents[0].(map[string]any)["who"]) == device && refOf(agents[0].(map[string]any)["onBehalfOf"]) != patient {
					t.Errorf("provenance %v: the phone not on behalf of the patient", p)
				}
			}
		}
	}
	for i, m := range e.snap.Messages {
		u := export.FullURL("Communication/" + m.ID)
		c := res[u]
		if c == nil {
			t.Fatalf("no Communication for message %d", i)
		}
		id := asList(c["identifier"])[0].(map[string]any)
		payload := asList(c["payload"])
		cat := asList(asList(c["category"])[0].(map[string]any)["coding"])[0].(map[string]any)
		if c["status"] != "completed" || refOf(c["subject"]) != patient || id["system"] != export.SystemIDMessage || id["value"] != m.ID ||
			c["sent"] != m.SentTime.In(e.f.Zone).Format(time.RFC3339) || c["received"] != m.ReceiveTime.In(e.f.Zone).Format(time.RFC3339) ||
			len(payload) != 1 || len(payload[0].(map[string]any)) != 1 || payload[0].(map[string]any)["contentString"] != m.Body ||
			cat["system"] != export.SystemMessageKind {
			t.Errorf("message %d: %v", i, c)
		}
		recipients := asList(c["recipient"])
		var wantSender, wantRecipient, wantKind, readExt, wantAuthor string
		switch m.Sender {
		case hep.SenderPatient:
			wantSender, wantRecipient, wantKind, readExt, wantAuthor = patient, "", "message", export.ExtReadByTeam, device
			if len(recipients) != 1 || recipients[0].(map[string]any)["display"] != "The patient's care team" {
				t.Errorf("message %d: recipients %v", i, recipients)
			}
		case hep.SenderClinician:
			wantSender, wantRecipient, wantKind, readExt, wantAuthor = doctor, patient, "message", export.ExtReadByPatient, doctor
		case hep.SenderSystem:
			wantSender, wantRecipient, wantKind, readExt, wantAuthor = server, patient, "notice", export.ExtReadByPatient, server
		}
		if refOf(c["sender"]) != wantSender || (wantRecipient != "" && (len(recipients) != 1 || refOf(recipients[0]) != wantRecipient)) ||
			cat["code"] != wantKind || author[u] != wantAuthor {
			t.Errorf("message %d (%s): sender %v, recipients %v, category %v, author %q", i, m.Sender, c["sender"], recipients, cat, author[u])
		}
		exts := map[string]any{}
		for _, x := range asList(c["extension"]) {
			x := x.(map[string]any)
			for k, v := range x {
				if k != "url" {
					exts[x["url"].(string)] = v
				}
			}
		}
		if len(exts) != 2 || exts[readExt] != wantReadByOther[i] || exts[export.ExtThreadSeq] != float64(m.ThreadSeq) {
			t.Errorf("message %d (%s): extensions %v, want %s %v", i, m.Sender, exts, readExt, wantReadByOther[i])
		}
	}
	if p := res[doctor]; p == nil || asList(p["name"])[0].(map[string]any)["text"] != "Dr Rivera" {
		t.Errorf("the clinician's Practitioner %v", p)
	}
	for _, s := range []string{e.f.Welcome.ID, e.f.Welcome.Body, e.f.After.ID, "other patient's message"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("the export holds %q, of a message outside the range or of the other patient", s)
		}
	}
}

// TestFHIRMessagesSynthetic: a clinician the snapshot's Names lack is
// named from the message, a patient's message without a device is the
// Patient's own in its Provenance, and a snapshot without messages has
// no Communication.
func TestFHIRMessagesSynthetic(t *testing.T) {
	snap := syntheticSnapshot(0)
	at := snap.Start.Add(time.Hour)
	snap.Messages = []hep.Message{
		{ID: "m1", PatientID: "p", Sender: hep.SenderClinician, SenderID: "dr-x", SenderName: "Dr X", Body: "Hello <b>&</b>\nline two",
			ThreadSeq: 1, SentTime: at, ReceiveTime: at},
		{ID: "m2", PatientID: "p", Sender: hep.SenderPatient, Body: "=1+1", ThreadSeq: 2, SentTime: at, ReceiveTime: at.Add(time.Minute)},
	}
	snap.Thread = hep.MessageThread{ReadByPatientThrough: 1, LastThreadSeq: 2, UnreadByTeam: 1}
	var buf bytes.Buffer
	if err := export.WriteFHIR(t.Context(), &buf, snap, &synthetic{}, export.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, buf.Bytes()); err != nil {
		t.Fatalf("the Bundle does not validate: %v", err)
	}
	res, byType := entriesByURL(t, buf.Bytes())
	if p := res[export.FullURL("Practitioner/dr-x")]; p == nil || asList(p["name"])[0].(map[string]any)["text"] != "Dr X" {
		t.Errorf("practitioner %v", p)
	}
	c := res[export.FullURL("Communication/m1")]
	if asList(c["payload"])[0].(map[string]any)["contentString"] != "Hello <b>&</b>\nline two" {
		t.Errorf("payload %v", c["payload"])
	}
	found := false
	for _, u := range byType["Provenance"] {
		p := res[u]
		if refOf(asList(p["target"])[0]) == export.FullURL("Communication/m2") {
			found = true
			if a := asList(p["agent"]); len(a) != 1 || refOf(a[0].(map[string]any)["who"]) != export.FullURL("Patient/p") {
				t.Errorf("provenance of the patient's message %v", p)
			}
		}
	}
	if !found || len(byType["Communication"]) != 2 {
		t.Errorf("%d Communications, provenance found %v", len(byType["Communication"]), found)
	}

	snap.Messages = nil
	buf.Reset()
	if err := export.WriteFHIR(t.Context(), &buf, snap, &synthetic{}, export.Options{}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("Communication")) {
		t.Error("a snapshot without messages has a Communication")
	}
}
