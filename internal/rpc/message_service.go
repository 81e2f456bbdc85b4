package rpc

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

type messageService struct {
	hepv1.UnimplementedMessageServiceServer
	s *Server
}

var senderToProto = map[hep.MessageSender]hepv1.MessageSender{
	hep.SenderPatient:   hepv1.MessageSender_MESSAGE_SENDER_PATIENT,
	hep.SenderClinician: hepv1.MessageSender_MESSAGE_SENDER_CLINICIAN,
	hep.SenderSystem:    hepv1.MessageSender_MESSAGE_SENDER_SYSTEM,
}

func messageToProto(m hep.Message) *hepv1.Message {
	return &hepv1.Message{Id: m.ID, PatientId: m.PatientID, Sender: senderToProto[m.Sender], SenderId: m.SenderID, SenderName: m.SenderName,
		Body: m.Body, ThreadSeq: m.ThreadSeq, SentTime: timestamppb.New(m.SentTime), ReceiveTime: timestamppb.New(m.ReceiveTime)}
}

func threadToProto(t hep.MessageThread) *hepv1.MessageThread {
	out := &hepv1.MessageThread{ReadByPatientThrough: t.ReadByPatientThrough, ReadByTeamThrough: t.ReadByTeamThrough,
		TeamReadBy: t.TeamReadBy, TeamReadTime: ts(t.TeamReadTime), UnreadByTeam: t.UnreadByTeam, UnreadByPatient: t.UnreadByPatient,
		LastThreadSeq: t.LastThreadSeq}
	return out
}

func (x *messageService) ListMessages(ctx context.Context, req *hepv1.ListMessagesRequest) (*hepv1.ListMessagesResponse, error) {
	pid := patientOf(ctx)
	var v hep.Violations
	size, after, err := x.s.openPage(&v, "messages", req.GetPageSize(), req.GetPageToken(), pid)
	if err != nil {
		return nil, err
	}
	f := hep.MessageFilter{PatientID: pid, Limit: size + 1}
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n < 1 {
			var bad hep.Violations
			bad.Add("page_token", "is not a page token of this list with this filter")
			return nil, bad.Err()
		}
		f.BeforeSeq = n
	}
	list, th, err := x.s.store.ListMessages(ctx, f)
	if err != nil {
		return nil, err
	}
	resp := &hepv1.ListMessagesResponse{Thread: threadToProto(th)}
	list, resp.NextPageToken = nextPage(x.s, "messages", pid, list, size, func(m hep.Message) string {
		return strconv.FormatInt(m.ThreadSeq, 10)
	})
	for _, m := range list {
		resp.Messages = append(resp.Messages, messageToProto(m))
	}
	return resp, nil
}

func (x *messageService) SendMessage(ctx context.Context, req *hepv1.SendMessageRequest) (*hepv1.SendMessageResponse, error) {
	var v hep.Violations
	hep.ValidateMessageBody(&v, "body", req.GetBody())
	if err := v.Err(); err != nil {
		return nil, err
	}
	m, err := x.s.store.SendMessage(ctx, patientOf(ctx), req.GetBody())
	if err != nil {
		return nil, err
	}
	return &hepv1.SendMessageResponse{Message: messageToProto(m)}, nil
}

func (x *messageService) MarkMessagesRead(ctx context.Context, req *hepv1.MarkMessagesReadRequest) (*hepv1.MarkMessagesReadResponse, error) {
	if req.GetReadThrough() < 1 {
		var v hep.Violations
		v.Add("read_through", "must be a thread sequence number, 1 or more")
		return nil, v.Err()
	}
	th, err := x.s.store.MarkMessagesRead(ctx, patientOf(ctx), req.GetReadThrough())
	if err != nil {
		return nil, err
	}
	return &hepv1.MarkMessagesReadResponse{Thread: threadToProto(th)}, nil
}

func remindersToProto(p hep.ReminderPreferences) *hepv1.ReminderPreferences {
	out := &hepv1.ReminderPreferences{WindowStartMinute: p.WindowStart, WindowEndMinute: p.WindowEnd, SetBy: p.SetBy, SetTime: ts(p.SetTime)}
	for _, d := range p.QuietDays {
		out.QuietDays = append(out.QuietDays, weekdayToProto(d))
	}
	return out
}

// remindersFromProto converts preferences; an unknown weekday becomes an
// invalid one that Validate refuses.
func remindersFromProto(p *hepv1.ReminderPreferences) hep.ReminderPreferences {
	out := hep.ReminderPreferences{WindowStart: p.GetWindowStartMinute(), WindowEnd: p.GetWindowEndMinute()}
	for _, d := range p.GetQuietDays() {
		if d < hepv1.Weekday_WEEKDAY_MONDAY || d > hepv1.Weekday_WEEKDAY_SUNDAY {
			out.QuietDays = append(out.QuietDays, -1)
			continue
		}
		out.QuietDays = append(out.QuietDays, weekdayFromProto(d))
	}
	return out
}

func (x *messageService) GetReminderPreferences(ctx context.Context, _ *hepv1.GetReminderPreferencesRequest) (*hepv1.GetReminderPreferencesResponse, error) {
	p, err := x.s.store.ReminderPreferences(ctx, patientOf(ctx))
	if err != nil {
		return nil, err
	}
	return &hepv1.GetReminderPreferencesResponse{Preferences: remindersToProto(p)}, nil
}

func (x *messageService) SetReminderPreferences(ctx context.Context, req *hepv1.SetReminderPreferencesRequest) (*hepv1.SetReminderPreferencesResponse, error) {
	in := remindersFromProto(req.GetPreferences())
	if err := in.Validate("preferences"); err != nil {
		return nil, err
	}
	p, err := x.s.store.SetReminderPreferences(ctx, patientOf(ctx), in)
	if err != nil {
		return nil, err
	}
	return &hepv1.SetReminderPreferencesResponse{Preferences: remindersToProto(p)}, nil
}
