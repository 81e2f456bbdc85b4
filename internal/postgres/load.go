package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hepclinic/hep/internal/dbcopy"
)

// LoadProgress is where a Load is: rows copied so far, of how many, and
// the table being copied.
type LoadProgress struct {
	Table           string
	Rows, TotalRows int64
}

// Loaded is what a Load copied.
type Loaded struct {
	Tables   []dbcopy.Table // as the source described them
	Patients []string       // every patient id, in the source's order
}

// RowCount is the number of rows copied.
func (l Loaded) RowCount() int64 {
	var n int64
	for _, t := range l.Tables {
		n += t.Rows
	}
	return n
}

// seeded are the tables the migrations fill (the built-in catalog): the
// source's rows are merged into them, and the built-in rows must agree.
var seeded = map[string]bool{"exercises": true, "exercise_rules": true}

// Load copies every table of src into this store's database, which must
// hold no data yet (only what the migrations put there), in one
// transaction: on any failure nothing is left behind. Rows keep their
// values exactly (the two engines share tables, columns and encodings), so
// the audit chains verify on the copy with the same hashes, and the sync
// state every phone holds (sequences, cursors) stays valid. progress, if
// not nil, is called as rows go.
func (s *Store) Load(ctx context.Context, src dbcopy.Source, progress func(LoadProgress)) (Loaded, error) {
	tables, err := src.Tables(ctx)
	if err != nil {
		return Loaded{}, err
	}
	out := Loaded{Tables: tables}
	var total int64
	for _, t := range tables {
		total += t.Rows
	}
	if progress == nil {
		progress = func(LoadProgress) {}
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return Loaded{}, mapErr(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Nobody else may write while the copy runs (a replica started too
	// early would interleave): take every chain's and patient's writers
	// out by locking the tables for the transaction.
	names := make([]string, 0, len(tables))
	for _, t := range tables {
		names = append(names, quoteIdent(targetTable(t.Name)))
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN EXCLUSIVE MODE"); err != nil {
		return Loaded{}, mapErr(err)
	}
	for _, t := range tables {
		if seeded[t.Name] {
			continue
		}
		var any bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+quoteIdent(targetTable(t.Name))+")").Scan(&any); err != nil {
			return Loaded{}, mapErr(err)
		}
		if any {
			return Loaded{}, fmt.Errorf("postgres: the target database is not empty (table %s has rows): hepd copy only fills a new database", targetTable(t.Name))
		}
	}
	// Rows arrive parents first, but a table may point at itself (a log
	// superseded by a later one): foreign keys are checked at commit.
	if _, err := tx.Exec(ctx, "SET CONSTRAINTS ALL DEFERRED"); err != nil {
		return Loaded{}, mapErr(err)
	}
	var done int64
	for _, t := range tables {
		name := targetTable(t.Name)
		types, err := columnTypes(ctx, tx, name)
		if err != nil {
			return Loaded{}, err
		}
		conv := make([]func(any) (any, error), len(t.Columns))
		for i, c := range t.Columns {
			typ, ok := types[c]
			if !ok {
				return Loaded{}, fmt.Errorf("postgres: table %s has no column %s, which the source has: is this hepd older than the source's schema?", name, c)
			}
			conv[i] = converter(typ)
		}
		idCol := -1
		if t.Name == "patients" {
			for i, c := range t.Columns {
				if c == "id" {
					idCol = i
				}
			}
		}
		convert := func(row []any) ([]any, error) {
			vals := make([]any, len(row))
			for i, v := range row {
				cv, err := conv[i](v)
				if err != nil {
					return nil, fmt.Errorf("postgres: table %s column %s: %w", name, t.Columns[i], err)
				}
				vals[i] = cv
			}
			if idCol >= 0 {
				id, _ := row[idCol].(string)
				out.Patients = append(out.Patients, id)
			}
			return vals, nil
		}
		if seeded[t.Name] {
			// Few rows: insert each, keeping the built-in ones the
			// migrations wrote (which must be the source's, checked below).
			cols := quoteList(t.Columns)
			ph := make([]string, len(t.Columns))
			for i := range ph {
				ph[i] = fmt.Sprintf("$%d", i+1)
			}
			q := "INSERT INTO " + quoteIdent(name) + " (" + cols + ") VALUES (" + strings.Join(ph, ", ") + ") ON CONFLICT DO NOTHING"
			err = src.Scan(ctx, t, func(row []any) error {
				vals, err := convert(row)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, q, vals...); err != nil {
					return mapErr(err)
				}
				done++
				progress(LoadProgress{Table: name, Rows: done, TotalRows: total})
				return nil
			})
			if err != nil {
				return Loaded{}, err
			}
			var n int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+quoteIdent(name)).Scan(&n); err != nil {
				return Loaded{}, mapErr(err)
			}
			if n != t.Rows {
				return Loaded{}, fmt.Errorf("postgres: table %s holds %d rows after the copy, the source %d: the built-in catalogs differ (is one hepd older than the other?)", name, n, t.Rows)
			}
			continue
		}
		rows := &sourceRows{ctx: ctx, src: src, t: t, convert: convert, progress: func() {
			done++
			if done%1000 == 0 || done == total {
				progress(LoadProgress{Table: name, Rows: done, TotalRows: total})
			}
		}}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{name}, t.Columns, rows.start())
		rows.halt()
		if err != nil {
			if rows.err != nil {
				return Loaded{}, rows.err
			}
			return Loaded{}, mapErr(err)
		}
		if n != t.Rows {
			return Loaded{}, fmt.Errorf("postgres: table %s: copied %d rows, the source has %d", name, n, t.Rows)
		}
		progress(LoadProgress{Table: name, Rows: done, TotalRows: total})
	}
	if err := afterLoad(ctx, tx); err != nil {
		return Loaded{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Loaded{}, mapErr(err)
	}
	return out, nil
}

// TableCounts returns the row count of every table hep keeps.
func (s *Store) TableCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`)
	if err != nil {
		return nil, mapErr(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapErr(err)
	}
	out := map[string]int64{}
	for _, n := range names {
		var c int64
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+quoteIdent(n)).Scan(&c); err != nil {
			return nil, mapErr(err)
		}
		out[n] = c
		if n == readsTable {
			out[dbcopy.ReadsChain] = c
		}
	}
	return out, nil
}

// targetTable is the table of this schema that holds a source table.
func targetTable(name string) string {
	if name == dbcopy.ReadsChain {
		return readsTable
	}
	return name
}

// columnTypes maps each column of table to its data type.
func columnTypes(ctx context.Context, tx pgx.Tx, table string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, mapErr(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var c, t string
		if err := rows.Scan(&c, &t); err != nil {
			rows.Close()
			return nil, mapErr(err)
		}
		out[c] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("postgres: the target has no table %s", table)
	}
	return out, nil
}

// converter turns a source value (int64, float64, string, []byte or nil)
// into one for a column of type typ. Only representations change, never
// values: a boolean kept as 0/1 becomes false/true, text kept as bytes
// becomes text.
func converter(typ string) func(any) (any, error) {
	switch typ {
	case "boolean":
		return func(v any) (any, error) {
			switch v := v.(type) {
			case nil:
				return nil, nil
			case int64:
				if v == 0 || v == 1 {
					return v == 1, nil
				}
			case bool:
				return v, nil
			}
			return nil, fmt.Errorf("%v is not a boolean", v)
		}
	case "text", "character varying":
		return func(v any) (any, error) {
			if b, ok := v.([]byte); ok {
				return string(b), nil
			}
			return v, nil
		}
	case "bytea":
		return func(v any) (any, error) {
			if s, ok := v.(string); ok {
				return []byte(s), nil
			}
			return v, nil
		}
	}
	return func(v any) (any, error) { return v, nil }
}

// sourceRows feeds a Source's Scan into CopyFrom: Scan pushes rows, CopyFrom
// pulls them, so the scan runs in a goroutine handing rows over a channel.
type sourceRows struct {
	ctx      context.Context
	src      dbcopy.Source
	t        dbcopy.Table
	convert  func([]any) ([]any, error)
	progress func()

	ch   chan []any
	stop chan struct{}
	done chan error
	cur  []any
	err  error
}

var errCopyStopped = errors.New("copy stopped")

func (r *sourceRows) start() *sourceRows {
	r.ch = make(chan []any, 256)
	r.stop = make(chan struct{})
	r.done = make(chan error, 1)
	go func() {
		r.done <- r.src.Scan(r.ctx, r.t, func(row []any) error {
			vals, err := r.convert(row)
			if err != nil {
				return err
			}
			select {
			case r.ch <- vals:
				return nil
			case <-r.stop:
				return errCopyStopped
			}
		})
		close(r.ch)
	}()
	return r
}

func (r *sourceRows) Next() bool {
	row, ok := <-r.ch
	if !ok {
		if err := <-r.done; err != nil {
			r.err = err
		}
		return false
	}
	r.cur = row
	r.progress()
	return true
}

func (r *sourceRows) Values() ([]any, error) { return r.cur, nil }

func (r *sourceRows) Err() error { return r.err }

// halt ends the scan, if CopyFrom stopped before the rows did, and waits
// for its goroutine.
func (r *sourceRows) halt() {
	close(r.stop)
	for range r.ch {
	}
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// quoteList quotes and joins column names.
func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// readsTable holds the reads chain (dbcopy.ReadsChain of a source).
const readsTable = "audit_reads"

// afterLoad moves every identity column's sequence past the largest value
// copied into it, so the next row inserted gets a new one.
func afterLoad(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return mapErr(err)
	}
	type col struct{ table, column string }
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.table, &c.column)
	})
	if err != nil {
		return mapErr(err)
	}
	for _, c := range cols {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence($1, $2), max(%s)) FROM %s HAVING max(%s) IS NOT NULL`,
			quoteIdent(c.column), quoteIdent(c.table), quoteIdent(c.column))
		if _, err := tx.Exec(ctx, q, quoteIdent(c.table), c.column); err != nil {
			return mapErr(err)
		}
	}
	return nil
}
