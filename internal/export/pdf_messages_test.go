package export_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
)

// TestPDFMessages reads the fixture's "Messages" section: the counts of
// the period, the messages the care team has not read, and one row per
// message (time sent, sender, the whole text, read by the other side),
// oldest first; nothing of the messages outside the period or of the
// other patient; and no section without messages.
func TestPDFMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hep.ExportPDF)
	checkMessageSnapshot(t, e)
	text := pdfText(t, e.export(t, hep.ExportPDF, 0), "messages.pdf")
	i := strings.Index(text, "Messages In this period")
	if i < 0 {
		t.Fatalf("no Messages section in %q", text)
	}
	section := text[i:]
	if j := strings.Index(section, "Reviewed at the visit"); j > 0 {
		section = section[:j]
	}
	for _, s := range []string{"In this period 7 messages: 3 from the patient, 3 from the care team, 1 notice from hep",
		"Unread by the team 2 messages now, 1 of them from this period"} {
		if !strings.Contains(section, s) {
			t.Errorf("the section lacks %q:\n%s", s, section)
		}
	}
	from := map[hep.MessageSender]string{hep.SenderPatient: "Patient", hep.SenderClinician: "Dr Rivera", hep.SenderSystem: "hep (notice)"}
	space := regexp.MustCompile(`\s+`)
	at := 0
	for k, m := range e.snap.Messages {
		row := fmt.Sprintf("%s %s %s %s", m.SentTime.In(e.f.Zone).Format("2006-01-02 15:04"), from[m.Sender],
			space.ReplaceAllString(m.Body, " "), map[bool]string{true: "yes", false: "no"}[wantReadByOther[k]])
		j := strings.Index(section, row)
		if j < 0 {
			t.Errorf("the section lacks the row %q:\n%s", row, section)
			continue
		}
		if j < at {
			t.Errorf("message %d comes before the one sent earlier", k)
		}
		at = j
	}
	for _, s := range []string{e.f.Welcome.Body, e.f.After.Body, "other patient's message"} {
		if strings.Contains(text, s) {
			t.Errorf("the summary holds %q, of a message outside the period or of the other patient", s)
		}
	}

	var buf bytes.Buffer
	if err := export.WritePDF(t.Context(), &buf, odiSnapshot(), &synthetic{}, export.Options{}); err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, buf.Bytes(), "none.pdf"); strings.Contains(text, "Unread by the team") {
		t.Error("a summary without messages has a Messages section")
	}
}
