package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/hepclinic/hep/internal/export/partfile"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// exportCommands write a patient's export for a follow-up visit to a file.
var exportCommands = []*command{
	{
		name:     "export",
		args:     []string{"PATIENT_ID"},
		synopsis: "--format fhir|csv|pdf [--from YYYY-MM-DD] [--to YYYY-MM-DD] -o FILE [--force]",
		summary:  "export a patient's record over a range of days as FHIR R4 JSON, a zip of CSV files or a PDF visit summary (care-team clinicians only)",
		help: `Days are the patient's calendar days, both ends included (at most 3,660).
Without --to the range ends on the patient's today; without --from it is
the 90 days ending on --to.

The file is written as FILE.part while the server streams it and renamed
to FILE only once the whole export has arrived: an export cut short (a
lost connection, Ctrl-C) leaves no FILE and no FILE.part. An existing FILE
is never overwritten without --force. On a terminal, progress is shown on
standard error (records done of the export's total); nothing is shown
otherwise. The export is audited on the server.

--timeout (a global flag) is how long the server may stay silent, not the
length of the whole export.`,
		define: func(fs *flag.FlagSet) runner {
			format := fs.String("format", "", "fhir, csv or pdf (required)")
			from := fs.String("from", "", "first day, YYYY-MM-DD (default: 89 days before --to)")
			to := fs.String("to", "", "last day, YYYY-MM-DD (default: the patient's today)")
			var out string
			fs.StringVar(&out, "o", "", "file to write (required)")
			fs.StringVar(&out, "out", "", "same as -o")
			force := fs.Bool("force", false, "overwrite FILE if it exists")
			return func(ctx context.Context, a *app, args []string) error {
				req := &hepv1.ExportRequest{PatientId: args[0]}
				var err error
				if req.Format, err = parseExportFormat(*format); err != nil {
					return err
				}
				if req.From, err = parseDateFlag("export", "from", *from); err != nil {
					return err
				}
				if req.To, err = parseDateFlag("export", "to", *to); err != nil {
					return err
				}
				if out == "" {
					return usageErrorf("export: -o FILE is required")
				}
				if !*force {
					// Before asking the server for anything.
					if _, err := os.Lstat(out); err == nil {
						return fmt.Errorf("%s: %w; use --force to overwrite it", out, partfile.ErrExists)
					}
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				h, n, err := a.exportTo(ctx, conn, req, out, *force)
				if err != nil {
					return err
				}
				if a.json() {
					return a.printJSON(&hepv1.ExportResponse{Header: h, RowsDone: n})
				}
				_, err = fmt.Fprintf(a.stdout, "wrote %s (%s, %s to %s, %d records)\n", out, h.GetMediaType(),
					fmtDate(h.GetFrom()), fmtDate(h.GetTo()), n)
				return err
			}
		},
	},
}

func parseExportFormat(s string) (hepv1.ExportFormat, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fhir":
		return hepv1.ExportFormat_EXPORT_FORMAT_FHIR, nil
	case "csv":
		return hepv1.ExportFormat_EXPORT_FORMAT_CSV, nil
	case "pdf":
		return hepv1.ExportFormat_EXPORT_FORMAT_PDF, nil
	case "":
		return 0, usageErrorf("export: --format is required: fhir, csv or pdf")
	}
	return 0, usageErrorf("export: --format must be fhir, csv or pdf, not %q", s)
}

// exportTo streams an export into path+".part" and renames it to path once
// the stream has ended well (partfile); on any failure the partial file is
// removed. Without force an existing path is never replaced, even one that
// appeared during the export. It returns the header and the records done.
func (a *app) exportTo(ctx context.Context, conn *grpc.ClientConn, req *hepv1.ExportRequest, path string, force bool) (*hepv1.ExportHeader, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tok, err := a.accessToken(ctx)
	if err != nil {
		return nil, 0, err
	}
	if tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	// --timeout bounds each wait for the server, not the whole export.
	var stalled bool
	var mu sync.Mutex
	idle := time.AfterFunc(a.opts.timeout, func() {
		mu.Lock()
		stalled = true
		mu.Unlock()
		cancel()
	})
	defer idle.Stop()
	wrap := func(err error, stream grpc.ClientStream) error {
		mu.Lock()
		defer mu.Unlock()
		if stalled {
			return fmt.Errorf("export: no data from %s for %s (--timeout); nothing was written", a.opts.server, a.opts.timeout)
		}
		re := &rpcError{err: err, method: hepv1.ExportService_Export_FullMethodName, server: a.opts.server}
		if stream != nil {
			if md, herr := stream.Header(); herr == nil {
				if v := md.Get("x-request-id"); len(v) > 0 {
					re.requestID = v[0]
				}
			}
		}
		return re
	}
	stream, err := hepv1.NewExportServiceClient(conn).Export(ctx, req)
	if err != nil {
		return nil, 0, wrap(err, nil)
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, 0, wrap(err, stream)
	}
	idle.Reset(a.opts.timeout)
	h := first.GetHeader()
	if h == nil {
		return nil, 0, errors.New("export: the server's stream did not start with a header")
	}

	f, err := partfile.Create(path, force)
	if err != nil {
		return nil, 0, err
	}
	defer f.Abort() // after Commit, nothing
	bar := newProgressBar(a.stderr, h.GetTotalRows(), a.now)
	var rows int64
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			bar.abandon()
			return nil, 0, wrap(err, stream)
		}
		idle.Reset(a.opts.timeout)
		if _, err := f.Write(m.GetData()); err != nil {
			bar.abandon()
			return nil, 0, err
		}
		rows = m.GetRowsDone()
		bar.update(rows)
	}
	idle.Stop()
	if err := f.Commit(); err != nil {
		bar.abandon()
		return nil, 0, err
	}
	bar.finish(rows)
	return h, rows, nil
}

// isTerminal reports whether w is a terminal (tests replace it).
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar draws "export [#####.....]  42%  12,345 / 29,000 records" on
// one line of a terminal, redrawn with \r at most every progressEvery; it
// draws nothing when w is not a terminal.
type progressBar struct {
	w     io.Writer
	total int64
	now   func() time.Time
	last  time.Time
	drawn bool
}

const (
	progressEvery = 100 * time.Millisecond
	progressWidth = 30
)

func newProgressBar(w io.Writer, total int64, now func() time.Time) *progressBar {
	if !isTerminal(w) {
		return &progressBar{}
	}
	return &progressBar{w: w, total: total, now: now}
}

func (p *progressBar) update(done int64) {
	if p.w == nil {
		return
	}
	if t := p.now(); !p.drawn || t.Sub(p.last) >= progressEvery {
		p.last = t
		p.draw(done)
	}
}

// finish draws the last state and ends the line.
func (p *progressBar) finish(done int64) {
	if p.w == nil {
		return
	}
	p.draw(done)
	fmt.Fprintln(p.w)
}

// abandon ends the line, so an error starts on a line of its own.
func (p *progressBar) abandon() {
	if p.w != nil && p.drawn {
		fmt.Fprintln(p.w)
	}
}

func (p *progressBar) draw(done int64) {
	p.drawn = true
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	fill := int(frac * progressWidth)
	fmt.Fprintf(p.w, "\rexport [%s%s] %3.0f%%  %s / %s records", strings.Repeat("#", fill), strings.Repeat(".", progressWidth-fill),
		frac*100, thousands(done), thousands(p.total))
}

// thousands writes n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
