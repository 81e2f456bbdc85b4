package export

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/hepclinic/hep/internal/hep"
)

// Messages in the Bundle: one Communication per message of the thread
// received in the range, in thread order.
//   - A patient's message: sender the Patient (the phone that sent it is
//     in the Provenance), recipient the care team by display (the Bundle
//     holds no CareTeam), ExtReadByTeam.
//   - A clinician's message: sender the clinician's Practitioner,
//     recipient the Patient, ExtReadByPatient.
//   - hep's notice: sender the hep server Device, recipient the Patient,
//     category "notice" (and HL7's "notification"), ExtReadByPatient.
//
// The read marks are the thread's at export time: a message is read by
// the other side when its thread sequence is at or below that side's mark
// (hep.MessageThread). FHIR's Communication has no element for it, so
// hep's extensions carry it. Provenance: the patient's messages have one,
// their phones as authors on behalf of the Patient (as other
// patient-reported records); each clinician's messages one naming that
// clinician; hep's notices one naming the hep server Device.

// Systems and extensions of the message resources.
const (
	SystemIDMessage = "urn:hep:id:message"
	// SystemMessageKind codes a message's category: "message" (between the
	// patient and the care team) or "notice" (hep's own, to the patient).
	SystemMessageKind = "urn:hep:message-kind"
	// ExtThreadSeq is a message's place in the patient's thread (1, 2, ...).
	ExtThreadSeq = "urn:hep:message:thread-seq"
	// ExtReadByPatient (on the team's messages and hep's notices) and
	// ExtReadByTeam (on the patient's) say whether the other side had read
	// the message when the export was made.
	ExtReadByPatient = "urn:hep:message:read-by-patient"
	ExtReadByTeam    = "urn:hep:message:read-by-team"

	systemCommCategory = "http://terminology.hl7.org/CodeSystem/communication-category"
)

// Categories of the messages.
var (
	messageCategory = []fhir.CodeableConcept{concept("Message between the patient and the care team",
		coding(SystemMessageKind, "message", "Message"))}
	noticeCategory = []fhir.CodeableConcept{concept("Notice from hep to the patient",
		coding(SystemMessageKind, "notice", "Notice"), coding(systemCommCategory, "notification", "Notification"))}
)

// readByOther reports whether the other side of the thread had read m
// when the snapshot was taken.
func readByOther(m hep.Message, th hep.MessageThread) bool {
	if m.Sender == hep.SenderPatient {
		return m.ThreadSeq <= th.ReadByTeamThrough
	}
	return m.ThreadSeq <= th.ReadByPatientThrough
}

// messages writes the Communications of the snapshot and their
// Provenance.
func (x *fhirExport) messages() error {
	s := x.snap
	if len(s.Messages) == 0 {
		return nil
	}
	var patientTargets, systemTargets []fhir.Reference
	var devices, clinicians []string
	seen := map[string]bool{}
	byClinician := map[string][]fhir.Reference{}
	var patientRecorded, systemRecorded time.Time
	recorded := map[string]time.Time{}
	for _, m := range s.Messages {
		u := FullURL("Communication/" + m.ID)
		c := fhir.Communication{Id: ptr(uuidOf(u)),
			Extension:  []fhir.Extension{{Url: ExtThreadSeq, ValuePositiveInt: ptr(int(m.ThreadSeq))}},
			Identifier: []fhir.Identifier{ident(SystemIDMessage, m.ID)},
			Status:     fhir.EventStatusCompleted,
			Category:   messageCategory,
			Subject:    ptr(ref(x.patient)),
			Sent:       ptr(timeIn(m.SentTime, x.loc)),
			Received:   ptr(timeIn(m.ReceiveTime, x.loc)),
		}
		readExt := ExtReadByPatient
		switch m.Sender {
		case hep.SenderPatient:
			readExt = ExtReadByTeam
			c.Sender = ptr(ref(x.patient))
			c.Recipient = []fhir.Reference{{Display: ptr("The patient's care team")}}
			if m.SenderID != "" {
				if _, err := x.device(m.SenderID); err != nil {
					return err
				}
				if !seen[m.SenderID] {
					seen[m.SenderID] = true
					devices = append(devices, m.SenderID)
				}
			}
			patientTargets = append(patientTargets, ref(u))
			patientRecorded = later(patientRecorded, m.ReceiveTime)
		case hep.SenderClinician:
			pu, err := x.practitionerNamed(m.SenderID, m.SenderName)
			if err != nil {
				return err
			}
			c.Sender = ptr(ref(pu))
			c.Recipient = []fhir.Reference{ref(x.patient)}
			if _, ok := byClinician[m.SenderID]; !ok {
				clinicians = append(clinicians, m.SenderID)
			}
			byClinician[m.SenderID] = append(byClinician[m.SenderID], ref(u))
			recorded[m.SenderID] = later(recorded[m.SenderID], m.ReceiveTime)
		default: // hep.SenderSystem
			c.Category = noticeCategory
			c.Sender = ptr(refDisplay(x.server, "hep"))
			c.Recipient = []fhir.Reference{ref(x.patient)}
			systemTargets = append(systemTargets, ref(u))
			systemRecorded = later(systemRecorded, m.ReceiveTime)
		}
		c.Extension = append(c.Extension, fhir.Extension{Url: readExt, ValueBoolean: ptr(readByOther(m, s.Thread))})
		raw, err := withPayload(c, m.Body)
		if err != nil {
			return err
		}
		if err := x.b.entryRaw(u, raw); err != nil {
			return err
		}
	}

	base := fmt.Sprintf("%s/%s/%s", s.Patient.ID, s.From, s.To)
	author := func(who fhir.Reference) []fhir.ProvenanceAgent {
		return []fhir.ProvenanceAgent{{Type: ptr(concept("Author", coding(systemProvAgent, "author", "Author"))), Who: who}}
	}
	if len(patientTargets) > 0 {
		agents := x.pageAgents(devices)
		if len(agents) == 0 {
			agents = author(ref(x.patient))
		}
		pu := FullURL("Provenance/messages/patient/" + base)
		if err := x.b.entry(pu, fhir.Provenance{Id: ptr(uuidOf(pu)), Target: patientTargets,
			Recorded: timeIn(patientRecorded, x.loc),
			Activity: ptr(concept("Written by the patient on the hep app", coding(systemDataOp, "CREATE", "create"))),
			Agent:    agents}); err != nil {
			return err
		}
	}
	for _, id := range clinicians {
		pu := FullURL(fmt.Sprintf("Provenance/messages/clinician/%s/%s", id, base))
		if err := x.b.entry(pu, fhir.Provenance{Id: ptr(uuidOf(pu)), Target: byClinician[id],
			Recorded: timeIn(recorded[id], x.loc),
			Activity: ptr(concept("Sent by a clinician through hep", coding(systemDataOp, "CREATE", "create"))),
			Agent:    author(ref(x.practitioners[id]))}); err != nil {
			return err
		}
	}
	if len(systemTargets) > 0 {
		pu := FullURL("Provenance/messages/system/" + base)
		if err := x.b.entry(pu, fhir.Provenance{Id: ptr(uuidOf(pu)), Target: systemTargets,
			Recorded: timeIn(systemRecorded, x.loc),
			Activity: ptr(concept("Written by hep when the patient's plan changed", coding(systemDataOp, "CREATE", "create"))),
			Agent:    author(refDisplay(x.server, "hep"))}); err != nil {
			return err
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// withPayload marshals a Communication with payload [{contentString:
// body}]. fhir-models' CommunicationPayload has its three content[x]
// choices as plain structs without omitempty, so marshalling it would
// write all three (empty attachment and reference too), which FHIR
// forbids; the payload is spliced in instead.
func withPayload(c fhir.Communication, body string) ([]byte, error) {
	c.Payload = nil
	raw, err := c.MarshalJSON()
	if err != nil {
		return nil, err
	}
	text, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(raw)+len(text)+32)
	out = append(out, raw[:len(raw)-1]...) // raw is a non-empty JSON object
	out = append(out, `,"payload":[{"contentString":`...)
	out = append(out, text...)
	return append(out, "}]}"...), nil
}
