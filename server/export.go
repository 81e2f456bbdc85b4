package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/export/partfile"
	"github.com/hepclinic/hep/internal/hep"
)

const exportUsage = "hepd export [--db PATH] PATIENT_ID --format fhir|csv|pdf [--from YYYY-MM-DD] [--to YYYY-MM-DD] -o FILE [--force]"

// cmdExport writes a patient's export from the database file itself, for
// a clinic whose workstation cannot reach the server: the same snapshot
// (audited, actor local:hepd), the same writers and the same FILE.part
// then rename as hepctl export. It reads; it never migrates: a database
// whose schema is older than this hepd is refused (run hepd migrate, which
// the server does at start anyway), and a newer one is refused by the
// store.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\nFlags:\n", exportUsage)
		fs.PrintDefaults()
	}
	db := dbFlag(fs)
	format := fs.String("format", "", "fhir, csv or pdf (required)")
	fromFlag := fs.String("from", "", "first day, YYYY-MM-DD, the patient's calendar (default: 89 days before --to)")
	toFlag := fs.String("to", "", "last day, YYYY-MM-DD (default: the patient's today)")
	var out string
	fs.StringVar(&out, "o", "", "file to write (required)")
	fs.StringVar(&out, "out", "", "same as -o")
	force := fs.Bool("force", false, "overwrite FILE if it exists")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: %s", errUsage, exportUsage)
	}
	patientID := pos[0]
	f, err := exportFormat(*format)
	if err != nil {
		return err
	}
	from, err := exportDay("from", *fromFlag)
	if err != nil {
		return err
	}
	to, err := exportDay("to", *toFlag)
	if err != nil {
		return err
	}
	if out == "" {
		return fmt.Errorf("%w: -o FILE is required", errUsage)
	}

	if err := checkDBFlag(fs, *db); err != nil {
		return err
	}
	if err := checkSchemaCurrent(ctx, *db, "export"); err != nil {
		return err
	}
	store, err := openStore(ctx, *db, openOptions{})
	if err != nil {
		return err
	}
	defer store.Close()

	file, err := partfile.Create(out, *force)
	if err != nil {
		return err
	}
	defer file.Abort() // after Commit, nothing
	snap, err := store.ExportSnapshot(localActor(ctx, "export.export"), patientID, from, to, string(f))
	if err != nil {
		return err
	}
	var rows int64
	if err := export.Write(ctx, file, f, &snap, export.StoreSource(store, &snap), export.Options{Progress: func(n int64) { rows = n }}); err != nil {
		return err
	}
	if err := file.Commit(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote %s (%s, %s to %s, %d records; suggested name %s)\n", out, export.MediaType(f), snap.From, snap.To,
		rows, export.FileName(f, &snap))
	return err
}

// parseInterspersed parses flags before and after the positional
// arguments ("export --db F ID --format csv") and returns the positional
// ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func exportFormat(s string) (hep.ExportFormat, error) {
	switch f := hep.ExportFormat(strings.ToUpper(strings.TrimSpace(s))); f {
	case hep.ExportFHIR, hep.ExportCSV, hep.ExportPDF:
		return f, nil
	case "":
		return "", fmt.Errorf("%w: --format is required: fhir, csv or pdf", errUsage)
	}
	return "", fmt.Errorf("%w: --format must be fhir, csv or pdf, not %q", errUsage, s)
}

// exportDay parses a YYYY-MM-DD flag; the zero Date when empty.
func exportDay(name, s string) (hep.Date, error) {
	if s == "" {
		return hep.Date{}, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return hep.Date{}, fmt.Errorf("%w: --%s: %q is not a date (YYYY-MM-DD)", errUsage, name, s)
	}
	return hep.Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}, nil
}
