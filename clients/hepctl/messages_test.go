package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestMessageCommands: a clinician writes to a patient, the phone replies,
// triage and the thread show one unread message, and reading it clears it.
func TestMessageCommands(t *testing.T) {
	c := newClinic(t)
	dr, pid := c.drDir, c.pid
	if r := c.hepctl(t, dr, "", "messages", "send", pid); r.code != 2 {
		t.Errorf("send without text: %+v", r)
	}
	if r := c.hepctl(t, dr, "   ", "messages", "send", pid, "--file", "-"); r.code == 0 || !strings.Contains(r.stderr, "body") {
		t.Errorf("send of white space: %+v", r)
	}
	out := c.ok(t, dr, "How are the stretches going?\n", "messages", "send", pid, "--file", "-")
	if !regexp.MustCompile(`(?m)^number:\s+1$`).MatchString(out) {
		t.Errorf("send:\n%s", out)
	}
	c.pushAsPhone(t, &hepv1.Mutation{Change: &hepv1.Mutation_Message{Message: &hepv1.PatientMessage{Id: uuid.Must(uuid.NewV7()).String(),
		Body: "Better, thanks.\nThe mornings are stiff.", SentTime: timestamppb.Now()}}})

	out = c.ok(t, dr, "", "triage")
	if !strings.Contains(out, "(1 unread message)") {
		t.Errorf("triage:\n%s", out)
	}
	r := c.hepctl(t, dr, "", "messages", "list", pid)
	if r.code != 0 || !regexp.MustCompile(`(?m)^2\s+\S+\s+patient\s+unread\s+Better, thanks\. The mornings are stiff\.$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^1\s+\S+\s+Dr dr@clinic\.example\s+-\s+How are the stretches going\?$`).MatchString(r.stdout) ||
		!strings.Contains(r.stderr, "1 unread from the patient") {
		t.Errorf("list: %+v", r)
	}
	r = c.hepctl(t, dr, "", "messages", "list", pid, "--read")
	if r.code != 0 || strings.Contains(r.stdout, "unread") || !strings.Contains(r.stderr, "0 unread from the patient") {
		t.Errorf("list --read: %+v", r)
	}
	if out := c.ok(t, dr, "", "triage"); strings.Contains(out, "unread") {
		t.Errorf("triage after reading:\n%s", out)
	}
}
