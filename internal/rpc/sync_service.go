package rpc

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// syncService is the phone's side of patient sync (docs/sync.md). Only a
// patient's own enrolled device calls it: the patient and the device come
// from the access token, and a request naming another device is NOT_FOUND.
type syncService struct {
	hepv1.UnimplementedSyncServiceServer
	s *Server
}

// ownDevice checks that the request names the calling device and returns
// the caller. It also names the caller's patient in the failure audit row
// of the call, which the authorization table (scopeNone) does not resolve.
func (s *Server) ownDevice(ctx context.Context, deviceID string) (hep.Actor, error) {
	a := hep.ActorFrom(ctx)
	callFrom(ctx).patientID = a.PatientID
	var v hep.Violations
	hep.CheckID(&v, "device_id", deviceID)
	if err := v.Err(); err != nil {
		return a, err
	}
	if a.Role != hep.RolePatient || deviceID != a.ID {
		// Exactly what an unknown device gets: no oracle for other
		// devices' ids.
		return a, hep.NotFound("device")
	}
	return a, nil
}

// Push validates the batch as a whole (the call fails and nothing is
// stored), converts each mutation (a bad mutation is rejected on its own),
// and hands the batch to the store as one transaction.
func (x *syncService) Push(ctx context.Context, req *hepv1.PushRequest) (*hepv1.PushResponse, error) {
	a, err := x.s.ownDevice(ctx, req.GetDeviceId())
	if err != nil {
		return nil, err
	}
	var v hep.Violations
	in := req.GetMutations()
	clock := pushClock{now: x.s.now()}
	if dt := req.GetDeviceTime(); dt != nil {
		if dt.CheckValid() != nil {
			v.Add("device_time", "must be a valid timestamp")
		} else {
			clock.device = dt.AsTime()
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	muts := make([]hep.Mutation, len(in))
	for i, m := range in {
		muts[i] = mutationFromProto(m, a, clock)
	}
	if err := hep.ValidateBatch(muts); err != nil {
		return nil, err
	}
	results, last, err := x.s.store.Push(ctx, a.ID, muts)
	if err != nil {
		return nil, err
	}
	x.s.tel.PushResults(results)
	resp := &hepv1.PushResponse{LastSequence: last, Results: make([]*hepv1.MutationResult, len(results))}
	for i, r := range results {
		resp.Results[i] = mutationResultToProto(r)
	}
	return resp, nil
}

// syncCursor is what a pull cursor carries: the patient change sequence to
// resume after, bound to the patient. It is sealed, so a phone can neither
// read another patient's progress into it nor edit it.
type syncCursor struct {
	PatientID string `json:"p"`
	Seq       int64  `json:"s"`
}

const syncCursorKind = "sync-cursor"

func (s *Server) sealCursor(patientID string, seq int64) string {
	b, _ := json.Marshal(syncCursor{PatientID: patientID, Seq: seq})
	return s.signer.Seal(syncCursorKind, b)
}

// openCursor returns the sequence a cursor resumes after (0 for the empty
// cursor). Forged, edited and other patients' cursors are all refused the
// same way.
func (s *Server) openCursor(patientID, cursor string) (int64, bool) {
	if cursor == "" {
		return 0, true
	}
	b, err := s.signer.Open(syncCursorKind, cursor)
	if err != nil {
		return 0, false
	}
	var c syncCursor
	if json.Unmarshal(b, &c) != nil || c.PatientID != patientID || c.Seq < 0 {
		return 0, false
	}
	return c.Seq, true
}

func (x *syncService) Pull(ctx context.Context, req *hepv1.PullRequest) (*hepv1.PullResponse, error) {
	a, err := x.s.ownDevice(ctx, req.GetDeviceId())
	if err != nil {
		return nil, err
	}
	var v hep.Violations
	size := hep.CheckPageSize(&v, req.GetPageSize(), hep.DefaultPullPage, hep.MaxPullPage)
	after, ok := x.s.openCursor(a.PatientID, req.GetCursor())
	if !ok {
		v.Add("cursor", "is not a cursor of this patient's sync; pull from an empty cursor")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := x.s.store.Pull(ctx, a.PatientID, after, size)
	if err != nil {
		return nil, err
	}
	now := x.s.now()
	// A cursor never moves back, whatever a store reports for an empty page.
	resp := &hepv1.PullResponse{NextCursor: x.s.sealCursor(a.PatientID, max(page.Next, after)), HasMore: page.HasMore}
	resp.Changes = make([]*hepv1.Change, len(page.Changes))
	for i, c := range page.Changes {
		resp.Changes[i] = changeToProto(a.PatientID, c, now)
	}
	if !page.HasMore {
		resp.RecordCount, resp.RecordsHash = page.Count, page.Hash
		resp.TimeZone, resp.ReminderPreferences = page.TimeZone, remindersToProto(page.Reminders)
		for _, e := range page.Due {
			resp.Due = append(resp.Due, dueToProto(e))
		}
	}
	return resp, nil
}

// exerciseLogService lets the care team read what the patient logged.
type exerciseLogService struct {
	hepv1.UnimplementedExerciseLogServiceServer
	s *Server
}

// openLogPage validates page_size and opens a page token of a log list: it
// carries the corrected time (Unix nanoseconds) and id of the last entry of
// the previous page, bound to the patient.
func (s *Server) openLogPage(kind string, pageSize int32, token, patientID string) (hep.LogFilter, int, error) {
	var v hep.Violations
	size := hep.CheckPageSize(&v, pageSize, defaultPageSize, maxPageSize)
	if err := v.Err(); err != nil {
		return hep.LogFilter{}, 0, err
	}
	cur, err := s.decodePage(kind, token, patientID)
	if err != nil {
		return hep.LogFilter{}, 0, err
	}
	f := hep.LogFilter{PatientID: patientID, BeforeID: cur.After, Limit: size + 1}
	if cur.After != "" {
		f.BeforeTime = time.Unix(0, cur.Seq).UTC()
	}
	return f, size, nil
}

// nextLogPage cuts a list fetched with limit size+1 and returns the next
// page's token ("" on the last page).
func nextLogPage[T any](s *Server, kind, patientID string, list []T, size int, key func(T) (time.Time, string)) ([]T, string) {
	if len(list) <= size {
		return list, ""
	}
	list = list[:size]
	t, id := key(list[size-1])
	return list, s.encodePage(kind, pageCursor{After: id, Seq: t.UnixNano(), Filter: patientID})
}

func (x *exerciseLogService) ListExerciseLogs(ctx context.Context, req *hepv1.ListExerciseLogsRequest) (*hepv1.ListExerciseLogsResponse, error) {
	pid := patientOf(ctx)
	f, size, err := x.s.openLogPage("exercise_logs", req.GetPageSize(), req.GetPageToken(), pid)
	if err != nil {
		return nil, err
	}
	list, err := x.s.store.ListExerciseLogs(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListExerciseLogsResponse{}
	list, resp.NextPageToken = nextLogPage(x.s, "exercise_logs", pid, list, size, func(l hep.ExerciseLog) (time.Time, string) {
		return l.CorrectedPerformTime, l.ID
	})
	for _, l := range list {
		resp.Logs = append(resp.Logs, logToProto(l))
	}
	return resp, nil
}

func (x *exerciseLogService) ListPainCheckins(ctx context.Context, req *hepv1.ListPainCheckinsRequest) (*hepv1.ListPainCheckinsResponse, error) {
	pid := patientOf(ctx)
	f, size, err := x.s.openLogPage("pain_checkins", req.GetPageSize(), req.GetPageToken(), pid)
	if err != nil {
		return nil, err
	}
	list, err := x.s.store.ListPainCheckins(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListPainCheckinsResponse{}
	list, resp.NextPageToken = nextLogPage(x.s, "pain_checkins", pid, list, size, func(c hep.PainCheckin) (time.Time, string) {
		return c.CorrectedRecordTime, c.ID
	})
	for _, c := range list {
		resp.Checkins = append(resp.Checkins, checkinToProto(c))
	}
	return resp, nil
}
