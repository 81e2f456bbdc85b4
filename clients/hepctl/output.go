package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// jsonOptions render -o json. Field names are the proto names (time_zone,
// expire_time), the names error messages and the API documentation use.
var jsonOptions = protojson.MarshalOptions{Multiline: true, EmitUnpopulated: false, UseProtoNames: true}

func (a *app) json() bool { return a.opts.output == "json" }

// printJSON writes m as protobuf JSON.
func (a *app) printJSON(m proto.Message) error {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// printTable writes a header row and rows, aligned in columns.
func (a *app) printTable(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		for i := range r {
			r[i] = cell(r[i])
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// printFields writes "name: value" lines, aligned, for one object.
func (a *app) printFields(fields [][2]string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], cell(f[1]))
	}
	return tw.Flush()
}

// cell keeps a value on one table line and shows empty values as "-".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// fmtTime shows a timestamp as RFC 3339 in local time; "" when unset.
func fmtTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().Local().Format(time.RFC3339)
}

// roleName shows ROLE_CLINICIAN as "clinician".
func roleName(r hepv1.Role) string { return enumWord(r.String(), "ROLE_") }

// parseRole accepts "clinician", "admin" or the enum names.
func parseRole(s string) (hepv1.Role, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(u, "ROLE_") {
		u = "ROLE_" + u
	}
	switch v := hepv1.Role(hepv1.Role_value[u]); v {
	case hepv1.Role_ROLE_ADMIN, hepv1.Role_ROLE_CLINICIAN:
		return v, true
	}
	return 0, false
}

func platformName(p hepv1.Platform) string { return enumWord(p.String(), "PLATFORM_") }
