package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

const dateLayout = "2006-01-02"

var auditCommands = []*command{
	{
		name:     "audit list",
		synopsis: "[--from TIME] [--to TIME] [--patient ID] [--page-size N] [--page-token T] [--all]",
		summary:  "list audit events in the order they were written (admins only)",
		help: `TIME is RFC 3339 (2025-03-01T09:00:00Z) or a local date (2025-03-01). Events
with --from <= time < --to are listed. A date given to --from means the start
of that day; a date given to --to includes that whole day. Without --to the
range ends now; without --from it starts 24 hours before its end.`,
		define: func(fs *flag.FlagSet) runner {
			from := fs.String("from", "", "start of the range (RFC 3339 or YYYY-MM-DD), inclusive")
			to := fs.String("to", "", "end of the range (RFC 3339 or YYYY-MM-DD), exclusive; a date includes that day")
			patient := fs.String("patient", "", "only events about this patient id")
			pg := pageFlags(fs)
			return func(ctx context.Context, a *app, _ []string) error {
				if err := pg.check(); err != nil {
					return err
				}
				end := a.now()
				if *to != "" {
					t, err := parseTimeFlag(*to, true)
					if err != nil {
						return usageErrorf("audit list: --to: %v", err)
					}
					end = t
				}
				start := end.Add(-24 * time.Hour)
				if *from != "" {
					t, err := parseTimeFlag(*from, false)
					if err != nil {
						return usageErrorf("audit list: --from: %v", err)
					}
					start = t
				}
				if !end.After(start) {
					return usageErrorf("audit list: --to must be after --from")
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				client := hepv1.NewAuditServiceClient(conn)
				req := &hepv1.ListAuditEventsRequest{
					StartTime: timestamppb.New(start), EndTime: timestamppb.New(end),
					PatientId: *patient, PageSize: int32(pg.size), PageToken: pg.token,
				}
				all := &hepv1.ListAuditEventsResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListAuditEvents(ctx, req)
					if err != nil {
						return "", err
					}
					all.Events = append(all.Events, resp.GetEvents()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				rows := make([][]string, 0, len(all.Events))
				for _, e := range all.Events {
					rows = append(rows, []string{strconv.FormatInt(e.GetSequence(), 10), fmtTime(e.GetTime()),
						e.GetActorId(), roleName(e.GetActorRole()), e.GetAction(), e.GetResource(), e.GetPatientId(), e.GetOutcome()})
				}
				if err := a.printTable([]string{"SEQ", "TIME", "ACTOR", "ROLE", "ACTION", "RESOURCE", "PATIENT", "OUTCOME"}, rows); err != nil {
					return err
				}
				// A page token is bound to the exact range and filter, so the
				// hint repeats them.
				cmd := fmt.Sprintf("audit list --from %s --to %s", start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
				if *patient != "" {
					cmd += " --patient " + *patient
				}
				a.nextPageHint(cmd, all.NextPageToken)
				return nil
			}
		},
	},
}

// parseTimeFlag parses RFC 3339 or a local date. A date that ends a range
// (end) means the start of the next day, so the range includes the date.
func parseTimeFlag(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(dateLayout, s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2025-03-01T09:00:00Z) nor a date (2025-03-01)", s)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}
