package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/postgres"
	"github.com/hepclinic/hep/internal/sqlite"
)

// cmdCopy moves a clinic from its SQLite file to an empty PostgreSQL
// database: every table from one snapshot, in one transaction on the
// target; then both audit trails are verified and, for every patient, the
// sync state a phone would pull (record count and convergence hash) is
// compared on both sides. Stop hepd on the file first: rows written after
// the snapshot would not be copied.
func cmdCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("copy", stderr)
	from := fs.String("from", "", "the SQLite database file to copy (required)")
	to := fs.String("to", envOr("HEP_COPY_TO", ""), "the PostgreSQL URL, without its password (env HEP_COPY_TO; the password in PGPASSFILE or PGPASSWORD)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return fmt.Errorf("%w: hepd copy --from FILE.db --to postgres://...", errUsage)
	}
	if isPostgres(*from) || !isPostgres(*to) {
		return fmt.Errorf("%w: hepd copy moves an SQLite file (--from) to a postgres:// URL (--to)", errUsage)
	}
	if err := checkURLFlag(fs, "to", *to); err != nil {
		return err
	}
	if _, err := os.Stat(*from); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	begin := time.Now()
	bar := newProgress(stderr, *quiet)

	// The source: its trail must verify before anything moves.
	src, err := sqlite.Open(ctx, *from)
	if err != nil {
		return err
	}
	defer src.Close()
	srcAudit, err := hep.VerifyAudit(ctx, src, nil)
	if err != nil {
		return fmt.Errorf("verifying the source's audit trail: %w", err)
	}
	if !srcAudit.OK() {
		return fmt.Errorf("the source's audit trail does not verify (%s): run hepd audit verify --db %s; nothing was copied", srcAudit.Problem, *from)
	}
	dump, err := sqlite.OpenDump(ctx, *from)
	if err != nil {
		return err
	}
	defer dump.Close()

	dst, err := postgres.Open(ctx, *to)
	if err != nil {
		return fmt.Errorf("opening %s: %w", displayDB(*to), err)
	}
	defer dst.Close()
	loaded, err := dst.Load(ctx, dump, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	dump.Close()

	// Checks, after the copy committed: the target's trail verifies and
	// holds as many events as the source's did; every table has the
	// source's row count; every patient's phone would pull the same.
	res, err := hep.VerifyAudit(ctx, dst, nil)
	if err != nil {
		return fmt.Errorf("verifying the copy's audit trail: %w", err)
	}
	if !res.OK() {
		return fmt.Errorf("the copy's audit trail does not verify: %s", res.Problem)
	}
	if fmt.Sprint(res.Heads) != fmt.Sprint(srcAudit.Heads) {
		return fmt.Errorf("the copy's audit heads %v are not the source's %v: was hepd writing to %s during the copy? Stop it, empty the target and copy again", res.Heads, srcAudit.Heads, *from)
	}
	counts, err := dst.TableCounts(ctx)
	if err != nil {
		return err
	}
	for _, t := range loaded.Tables {
		if got := counts[t.Name]; got < t.Rows {
			return fmt.Errorf("table %s: %d rows in the copy, %d in the source", t.Name, got, t.Rows)
		}
	}
	for i, p := range loaded.Patients {
		a, err := pullAll(localActor(ctx, "copy.verify"), src, p)
		if err != nil {
			return fmt.Errorf("reading the source's sync state: %w", err)
		}
		b, err := pullAll(localActor(ctx, "copy.verify"), dst, p)
		if err != nil {
			return fmt.Errorf("reading the copy's sync state: %w", err)
		}
		if a != b {
			return fmt.Errorf("patient %d of %d: the copy's sync state (%s) differs from the source's (%s)", i+1, len(loaded.Patients), b, a)
		}
		bar.verify(i+1, len(loaded.Patients))
	}
	bar.done()
	fmt.Fprintf(stdout, "copied %d rows of %d tables, %d patients, audit trail verified on both sides (%d events), sync state equal for every patient, in %v\n",
		loaded.RowCount(), len(loaded.Tables), len(loaded.Patients), res.Events, time.Since(begin).Round(time.Millisecond))
	return nil
}

// pullAll pages through a patient's sync state as a phone pulling from
// the start would, and returns its live count and convergence hash.
func pullAll(ctx context.Context, s hep.Store, patientID string) (string, error) {
	var after int64
	for {
		page, err := s.Pull(ctx, patientID, after, 1000)
		if err != nil {
			return "", err
		}
		if !page.HasMore {
			return fmt.Sprintf("%d records, hash %s", page.Count, page.Hash), nil
		}
		after = page.Next
	}
}

// progress draws a one-line progress bar on a terminal; elsewhere (a log,
// a pipe, --quiet) it prints nothing.
type progress struct {
	w    io.Writer
	on   bool
	last time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && !quiet {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *progress) line(s string) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r\033[K%s", s)
}

func (p *progress) update(st postgres.LoadProgress) {
	const width = 30
	filled := 0
	if st.TotalRows > 0 {
		filled = int(int64(width) * st.Rows / st.TotalRows)
	}
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < filled {
			bar[i] = '#'
		}
	}
	p.line(fmt.Sprintf("[%s] %d/%d rows  %s", bar, st.Rows, st.TotalRows, st.Table))
}

func (p *progress) verify(n, of int) {
	p.line(fmt.Sprintf("verifying patients %d/%d", n, of))
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
		p.last = time.Time{}
	}
}
