package rpc

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// testClock is the server's and the store's clock in tests that need days
// to pass: real time plus an offset the test moves.
type testClock struct{ off atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// reauth renews every caller's access token with its refresh token, after
// the clock moved past the access tokens' lifetime.
func (e *env) reauth() {
	e.t.Helper()
	for caller, rt := range e.refresh {
		if rt == "" {
			continue
		}
		r, err := e.auth.RefreshToken(e.as(callerNone), &hepv1.RefreshTokenRequest{RefreshToken: rt})
		if err != nil {
			e.t.Fatalf("RefreshToken of %s: %v", caller, err)
		}
		e.tok[caller], e.refresh[caller] = r.Tokens.AccessToken, r.Tokens.RefreshToken
	}
}

// lisbon is the time zone of the test patients (env.createPatient).
var lisbon = hep.LoadZone("Europe/Lisbon")

// dayStart returns the first instant of the patient's day n days after
// now's day (n <= 0), plus a minute: a time on that day that is not in the
// future for any n <= 0 except in the first minute of today.
func dayStart(now time.Time, n int) time.Time {
	return hep.DateOf(now, lisbon).AddDays(n).Start(lisbon).Add(time.Minute)
}

// reviewPatient is a patient with an enrolled phone.
type reviewPatient struct {
	name, id, caller string
	ph               *phone
}

// patientWithPhone creates a patient as clinician caller and enrolls a
// phone for it; the phone's caller name is "phone of NAME".
func (e *env) patientWithPhone(clinician, name string) *reviewPatient {
	e.t.Helper()
	id := e.createPatient(clinician, name)
	dev, tok, rt := e.enroll(clinician, id)
	caller := "phone of " + name + " " + id
	e.tok[caller], e.refresh[caller] = tok, rt
	return &reviewPatient{name: name, id: id, caller: caller, ph: e.phone(caller, dev)}
}

// pushAt is phone.push with the phone's clock at device (the server's clock
// in tests that move it, so that no skew is corrected).
func (p *phone) pushAt(device time.Time, muts ...*hepv1.Mutation) *hepv1.PushResponse {
	p.e.t.Helper()
	for _, m := range muts {
		p.seq++
		m.Sequence = p.seq
	}
	return p.send(device, muts)
}

// send pushes muts as numbered (a replay when they were sent before).
func (p *phone) send(device time.Time, muts []*hepv1.Mutation) *hepv1.PushResponse {
	p.e.t.Helper()
	resp, err := p.e.sync.Push(p.e.as(p.caller), &hepv1.PushRequest{DeviceId: p.deviceID, DeviceTime: timestamppb.New(device), Mutations: muts})
	if err != nil {
		p.e.t.Fatalf("Push as %s: %v", p.caller, err)
	}
	for i, r := range resp.Results {
		if r.Status != applied {
			p.e.t.Fatalf("mutation %d: %v %s: %s", i, r.Status, r.Field, r.Reason)
		}
	}
	return resp
}

// painLog is a cat-cow session with pain before and after.
func painLog(performed time.Time, before, after int32) *hepv1.ExerciseLog {
	l := validLog(newID(), performed)
	l.PainBefore, l.PainAfter = proto.Int32(before), proto.Int32(after)
	return l
}

// scoreCheckin is a low-back check-in with score.
func scoreCheckin(recorded time.Time, score int32) *hepv1.PainCheckin {
	c := validCheckin(newID(), recorded)
	c.Score = score
	return c
}

// everyDay is a cat-cow item done once a day, every day, from today.
func everyDay() *hepv1.PlanItemSpec {
	it := item(catCow)
	it.Frequency = &hepv1.Frequency{TimesPerDay: 1, DaysPerWeek: 7}
	return it
}

// listAlerts lists every alert of req's selection as caller, page by page
// (page size 3, so that paging is exercised).
func (e *env) listAlerts(caller string, req *hepv1.ListAlertsRequest) []*hepv1.Alert {
	e.t.Helper()
	req = proto.Clone(req).(*hepv1.ListAlertsRequest)
	if req.PageSize == 0 {
		req.PageSize = 3
	}
	var out []*hepv1.Alert
	for {
		r, err := e.alerts.ListAlerts(e.as(caller), req)
		if err != nil {
			e.t.Fatalf("ListAlerts as %s: %v", caller, err)
		}
		out = append(out, r.Alerts...)
		if r.NextPageToken == "" {
			return out
		}
		req.PageToken = r.NextPageToken
	}
}

// alertsOfKind lists a patient's alerts of one kind as caller.
func (e *env) alertsOfKind(caller, patientID string, kind hepv1.AlertKind) []*hepv1.Alert {
	e.t.Helper()
	return e.listAlerts(caller, &hepv1.ListAlertsRequest{PatientId: patientID, Kinds: []hepv1.AlertKind{kind}})
}

// ack acknowledges an alert as caller with a note.
func (e *env) ack(caller string, a *hepv1.Alert, note string) *hepv1.AcknowledgeAlertResponse {
	e.t.Helper()
	r, err := e.alerts.AcknowledgeAlert(e.as(caller), &hepv1.AcknowledgeAlertRequest{PatientId: a.PatientId, AlertId: a.Id, Note: note})
	if err != nil {
		e.t.Fatalf("AcknowledgeAlert(%s) as %s: %v", a.Kind, caller, err)
	}
	return r
}

// systemCtx is how hepd serve calls the adherence evaluator.
func systemCtx() context.Context {
	return hep.WithActor(context.Background(), hep.Actor{ID: "local:hepd", Role: hep.RoleAdmin, Action: "alert.evaluate_adherence", RequestID: "evaluator", Peer: "local"})
}
