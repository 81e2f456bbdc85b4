package export

import (
	"fmt"
	"strings"

	"github.com/hepclinic/hep/internal/hep"
)

// maxMessageLines bounds a message's lines in the PDF: a 2000-character
// message of short lines would otherwise be taller than a page. Lines
// past it are joined into the last (the text is all there; the FHIR and
// CSV exports keep its line breaks).
const maxMessageLines = 30

// messages writes the "Messages" section: how many messages the period
// holds and how many of the patient's the care team has not read, then
// the thread of the period, oldest first. Nothing when the period has no
// message.
func (d *pdfDoc) messages() {
	s := d.snap
	if len(s.Messages) == 0 {
		return
	}
	d.h2keep("Messages", 30)
	var fromPatient, fromTeam, notices, unreadInPeriod int
	var rows [][]string
	for _, m := range s.Messages {
		read := readByOther(m, s.Thread)
		switch m.Sender {
		case hep.SenderPatient:
			fromPatient++
			if !read {
				unreadInPeriod++
			}
		case hep.SenderClinician:
			fromTeam++
		default:
			notices++
		}
		rows = append(rows, []string{d.when(m.SentTime), d.messageFrom(m), messageText(m.Body), yesNo(read)})
	}
	unread := "none"
	if n := s.Thread.UnreadByTeam; n > 0 {
		unread = fmt.Sprintf("%s now, %d of them from this period", count(n, "message"), unreadInPeriod)
	}
	d.kv([][2]string{
		{"In this period", fmt.Sprintf("%s: %d from the patient, %d from the care team, %s from hep",
			count(int32(len(s.Messages)), "message"), fromPatient, fromTeam, count(int32(notices), "notice"))},
		{"Unread by the team", unread},
	})
	d.f.Ln(1)
	d.table([]pdfCol{{"Sent", 1.9, "L"}, {"From", 1.6, "L"}, {"Message", 7, "L"}, {"Read by the other side", 1.1, "C"}}, rows)
	d.f.Ln(1)
	d.para("Read by the other side: the care team's read mark (for the patient's messages) or the patient's " +
		"(for the team's messages and hep's notices) at the time of this export.")
}

// messageFrom names a message's sender: the patient, a clinician by name,
// or hep.
func (d *pdfDoc) messageFrom(m hep.Message) string {
	switch m.Sender {
	case hep.SenderPatient:
		return "Patient"
	case hep.SenderClinician:
		if n := d.snap.Names[m.SenderID]; n != "" {
			return n
		}
		if m.SenderName != "" {
			return m.SenderName
		}
		return m.SenderID
	}
	return "hep (notice)"
}

// messageText is a message's body as the PDF prints it: tabs as spaces, at
// most maxMessageLines lines.
func messageText(body string) string {
	lines := strings.Split(strings.ReplaceAll(body, "\t", " "), "\n")
	if len(lines) > maxMessageLines {
		last := strings.Join(lines[maxMessageLines-1:], " ")
		lines = append(lines[:maxMessageLines-1], last)
	}
	return strings.Join(lines, "\n")
}
