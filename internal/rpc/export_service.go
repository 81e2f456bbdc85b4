package rpc

import (
	"context"

	"github.com/hepclinic/hep/internal/export"
	"github.com/hepclinic/hep/internal/hep"
	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// exportService streams one patient's export for a follow-up visit. The
// store reads the snapshot (one read transaction and the export's audit
// row); internal/export writes the file while paging through the logs and
// check-ins; this service cuts the file into messages as it is written, so
// a history of years never sits whole in memory.
type exportService struct {
	hepv1.UnimplementedExportServiceServer
	s *Server
}

// exportChunk is the most file bytes in one ExportResponse.
const exportChunk = 256 << 10

// exportFormats maps the API's formats to the domain's.
var exportFormats = map[hepv1.ExportFormat]hep.ExportFormat{
	hepv1.ExportFormat_EXPORT_FORMAT_FHIR: hep.ExportFHIR,
	hepv1.ExportFormat_EXPORT_FORMAT_CSV:  hep.ExportCSV,
	hepv1.ExportFormat_EXPORT_FORMAT_PDF:  hep.ExportPDF,
}

// exportRequest validates an export request: a known format, and days
// that are set valid (both set: in order, at most hep.MaxExportDays). The
// defaults of unset days need the patient's zone; the store resolves and
// checks them (hep.ExportRange), still before anything is sent.
func exportRequest(req *hepv1.ExportRequest) (hep.ExportFormat, hep.Date, hep.Date, error) {
	var v hep.Violations
	format, ok := exportFormats[req.GetFormat()]
	switch {
	case req.GetFormat() == hepv1.ExportFormat_EXPORT_FORMAT_UNSPECIFIED:
		v.Add("format", "is required: FHIR, CSV or PDF")
	case !ok:
		v.Add("format", "is not a known format (FHIR, CSV or PDF)")
	}
	from, to := dateFromProto(req.GetFrom()), dateFromProto(req.GetTo())
	if req.GetFrom() != nil && !from.Valid() {
		v.Add("from", "must be a valid day between 2000 and 2100, or unset for %d days before to", hep.DefaultExportDays-1)
	}
	if req.GetTo() != nil && !to.Valid() {
		v.Add("to", "must be a valid day between 2000 and 2100, or unset for the patient's today")
	}
	if len(v) == 0 && req.GetFrom() != nil && req.GetTo() != nil {
		if err := hep.ValidateRange(from, to, hep.MaxExportDays); err != nil {
			return "", hep.Date{}, hep.Date{}, err
		}
	}
	return format, from, to, v.Err()
}

// Export validates the request, reads the snapshot (audited), sends the
// header, then the file in chunks of at most 256 KiB, each with the
// records done so far. A client that goes away cancels the stream's
// context: the writer stops at its next page and no further page is read.
func (x *exportService) Export(req *hepv1.ExportRequest, stream hepv1.ExportService_ExportServer) error {
	ctx := stream.Context()
	format, from, to, err := exportRequest(req)
	if err != nil {
		return err
	}
	snap, err := x.s.store.ExportSnapshot(ctx, patientOf(ctx), from, to, string(format))
	if err != nil {
		return err
	}
	total := export.TotalRows(&snap)
	c := &chunker{ctx: ctx, send: func(m *hepv1.ExportResponse) error {
		if err := stream.Send(m); err != nil {
			return err
		}
		x.s.tel.ExportBytes(string(format), len(m.GetData()))
		return nil
	}}
	err = c.send(&hepv1.ExportResponse{Header: &hepv1.ExportHeader{
		FileName:  export.FileName(format, &snap),
		MediaType: export.MediaType(format),
		TotalRows: total,
		From:      dateToProto(snap.From),
		To:        dateToProto(snap.To),
	}})
	if err != nil {
		return c.sendErr(err)
	}
	err = export.Write(ctx, c, format, &snap, export.StoreSource(x.s.store, &snap),
		export.Options{Progress: func(n int64) { c.rows = n }})
	if err == nil {
		err = c.flush()
	}
	if err != nil {
		return c.sendErr(err)
	}
	return nil
}

// chunker is the writer's io.Writer: it fills a message's data and sends
// it when full. Each message gets a fresh buffer (grpc may still hold a
// sent message), so at most one chunk is being filled at a time.
type chunker struct {
	ctx  context.Context
	send func(*hepv1.ExportResponse) error
	buf  []byte
	rows int64 // records whose bytes are all written (Options.Progress)
	err  error // the first failed send
}

func (c *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.buf == nil {
			c.buf = make([]byte, 0, exportChunk)
		}
		k := min(len(p), cap(c.buf)-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush sends the filled part of the chunk, if any.
func (c *chunker) flush() error {
	if c.err != nil {
		return c.err
	}
	if len(c.buf) == 0 {
		return nil
	}
	m := &hepv1.ExportResponse{Data: c.buf, RowsDone: c.rows}
	c.buf = nil
	if err := c.send(m); err != nil {
		c.err = err
		return err
	}
	return nil
}

// sendErr is the stream's error once it has started: the context's when
// the client went away or the deadline passed (whatever the send, the
// writer or a store page made of it: a cancellation is no server error and
// is not logged as one), else err itself.
func (c *chunker) sendErr(err error) error {
	if cerr := c.ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}
