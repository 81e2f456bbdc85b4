package main

import (
	"context"
	"flag"
	"fmt"

	"strconv"
	"strings"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var messageCommands = []*command{
	{
		name:     "messages list",
		args:     []string{"PATIENT_ID"},
		synopsis: "[--read] [--page-size N] [--page-token T] [--all]",
		summary:  "show a patient's message thread, newest first; --read marks what is shown read for the care team (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			read := fs.Bool("read", false, "mark the newest message shown read by the care team")
			pg := pageFlags(fs)
			return func(ctx context.Context, a *app, args []string) error {
				if err := pg.check(); err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				client := hepv1.NewMessageServiceClient(conn)
				req := &hepv1.ListMessagesRequest{PatientId: args[0], PageSize: int32(pg.size)}
				all := &hepv1.ListMessagesResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListMessages(ctx, req)
					if err != nil {
						return "", err
					}
					all.Messages = append(all.Messages, resp.GetMessages()...)
					all.Thread = resp.GetThread()
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if *read && len(all.Messages) > 0 {
					r, err := client.MarkMessagesRead(ctx, &hepv1.MarkMessagesReadRequest{PatientId: args[0], ReadThrough: all.Messages[0].GetThreadSeq()})
					if err != nil {
						return err
					}
					all.Thread = r.GetThread()
				}
				if a.json() {
					return a.printJSON(all)
				}
				th := all.GetThread()
				var rows [][]string
				for _, m := range all.GetMessages() {
					from := enumPhrase(m.GetSender().String(), "MESSAGE_SENDER_")
					if m.GetSenderName() != "" {
						from = m.GetSenderName()
					}
					state := ""
					switch {
					case m.GetSender() == hepv1.MessageSender_MESSAGE_SENDER_PATIENT && m.GetThreadSeq() > th.GetReadByTeamThrough():
						state = "unread"
					case m.GetSender() != hepv1.MessageSender_MESSAGE_SENDER_PATIENT && m.GetThreadSeq() <= th.GetReadByPatientThrough():
						state = "read by patient"
					}
					rows = append(rows, []string{strconv.FormatInt(m.GetThreadSeq(), 10), fmtTime(m.GetSentTime()), from, state, oneLine(m.GetBody())})
				}
				if err := a.printTable([]string{"#", "SENT", "FROM", "STATE", "MESSAGE"}, rows); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "%d unread from the patient\n", th.GetUnreadByTeam())
				a.nextPageHint("messages list "+args[0], all.NextPageToken)
				return nil
			}
		},
	},
	{
		name:     "messages send",
		args:     []string{"PATIENT_ID"},
		synopsis: "(--text T | --file F)",
		summary:  "send a message to a patient's phone, 1-2000 characters; --file - reads standard input (care-team clinicians only)",
		define: func(fs *flag.FlagSet) runner {
			text := fs.String("text", "", "the message")
			file := fs.String("file", "", `a file holding the message, or "-" for standard input`)
			return func(ctx context.Context, a *app, args []string) error {
				body := *text
				if (body == "") == (*file == "") {
					return usageErrorf("messages send: give exactly one of --text and --file")
				}
				if *file != "" {
					b, err := a.readInput(*file)
					if err != nil {
						return err
					}
					body = strings.TrimRight(string(b), "\n")
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewMessageServiceClient(conn).SendMessage(ctx, &hepv1.SendMessageRequest{PatientId: args[0], Body: body})
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(resp)
				}
				m := resp.GetMessage()
				return a.printFields([][2]string{{"message", m.GetId()}, {"number", strconv.FormatInt(m.GetThreadSeq(), 10)}, {"sent", fmtTime(m.GetSentTime())}})
			}
		},
	},
}

// oneLine shows a message on one table line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
