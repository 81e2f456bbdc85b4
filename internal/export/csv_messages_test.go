package export_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
)

// TestCSVMessages checks messages.csv against the fixture's thread: one
// row per message of the range in thread order, the sender in words, the
// clinician's name, times in the patient's zone, the read marks, the body
// as written (a multi-line list starting with "-" inert), and nothing of
// the messages outside the range or of the other patient.
func TestCSVMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, hep.ExportCSV)
	checkMessageSnapshot(t, e)
	files := readZip(t, e.export(t, hep.ExportCSV, 500))
	rows, ok := files[export.CSVMessages]
	if !ok || len(rows) == 0 || !slices.Equal(rows[0], export.HeaderMessages) {
		t.Fatalf("%s: %v, want the header %v", export.CSVMessages, rows, export.HeaderMessages)
	}
	mt := table{export.HeaderMessages, rows[1:]}
	if len(mt.rows) != len(e.f.Messages) {
		t.Fatalf("%d message rows, want %d", len(mt.rows), len(e.f.Messages))
	}
	wantName := map[hep.MessageSender]string{hep.SenderPatient: "", hep.SenderClinician: "Dr Rivera", hep.SenderSystem: ""}
	wantID := map[hep.MessageSender]string{hep.SenderPatient: e.f.Device.ID, hep.SenderClinician: e.f.Clinician.ID,
		hep.SenderSystem: hep.SystemSenderID}
	for i, m := range e.snap.Messages {
		r := mt.rows[i]
		if mt.get(r, "message_id") != m.ID || mt.get(r, "thread_seq") != strconv.FormatInt(m.ThreadSeq, 10) ||
			mt.get(r, "sender") != strings.ToLower(string(wantSenders[i])) || mt.get(r, "sender_id") != wantID[m.Sender] ||
			mt.get(r, "sender_name") != wantName[m.Sender] ||
			mt.get(r, "sent_time") != m.SentTime.In(e.f.Zone).Format(time.RFC3339) ||
			mt.get(r, "receive_time") != m.ReceiveTime.In(e.f.Zone).Format(time.RFC3339) ||
			mt.get(r, "read_by_other_side") != map[bool]string{true: "yes", false: "no"}[wantReadByOther[i]] ||
			mt.get(r, "body") != e.f.Messages[i].Body {
			t.Errorf("message %d: %q, store %+v", i, r, m)
		}
	}
	if raw := mt.rows[0][slices.Index(mt.header, "body")]; !strings.HasPrefix(raw, "'- stiff") || !strings.Contains(raw, "\n") {
		t.Errorf("the patient's list is not inert, or lost its lines: %q", raw)
	}
	for name, rows := range files {
		for _, row := range rows {
			line := strings.Join(row, ",")
			for _, s := range []string{e.f.Welcome.ID, e.f.Welcome.Body, e.f.After.ID, "other patient's message"} {
				if strings.Contains(line, s) {
					t.Errorf("%s holds %q: %s", name, s, line)
				}
			}
		}
	}
}
