// Package dbcopy is the contract between the stores for moving a clinic's
// database from one engine to another (hepd copy): a Source yields every
// table of a hep database, row by row, from one consistent snapshot, and a
// target store loads them column for column. Both engines keep the same
// tables, columns and value encodings (times as fixed-width UTC text, JSON
// as text), so no value is reinterpreted on the way: what was hashed into
// the audit chain on one side verifies on the other.
package dbcopy

import "context"

// ReadsChain is the name a Source gives the audit trail's reads chain
// (hep.ChainReads), wherever its engine keeps it (SQLite: the
// audit_events table of a file of its own).
const ReadsChain = "audit_reads"

// Table is one table of a Source.
type Table struct {
	Name    string
	Columns []string // in the order Scan gives values
	Rows    int64    // how many rows Scan will give
}

// Source is a hep database read for a copy.
type Source interface {
	// Tables lists the tables to copy, parents before the tables whose
	// foreign keys point at them. It leaves out the engine's own
	// bookkeeping (schema versions, statistics).
	Tables(ctx context.Context) ([]Table, error)
	// Scan calls fn with each row of t, in primary-key order; the slice is
	// reused between calls. Values are int64, float64, string, []byte or
	// nil.
	Scan(ctx context.Context, t Table, fn func(row []any) error) error
	// Close ends the snapshot.
	Close() error
}
