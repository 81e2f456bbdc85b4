package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/hepclinic/hep/internal/dbcopy"
)

// Dump is a read-only snapshot of an SQLite hep database (both its files)
// for hepd copy: a dbcopy.Source. The database must be at the schema this
// code writes (run hepd migrate first); hepd may keep serving meanwhile.
type Dump struct {
	main, reads *sql.DB
	mtx, rtx    *sql.Tx // the snapshots: one read transaction per file
}

var _ dbcopy.Source = (*Dump)(nil)

// OpenDump opens the database at path for a copy.
func OpenDump(ctx context.Context, path string) (*Dump, error) {
	v, err := SchemaVersionOf(ctx, path)
	if err != nil {
		return nil, err
	}
	if latest := LatestVersion(); v != latest {
		return nil, fmt.Errorf("sqlite: %s has schema version %d, this hepd copies version %d: run hepd migrate on it first", path, v, latest)
	}
	d := &Dump{}
	for _, f := range []struct {
		path string
		db   **sql.DB
		tx   **sql.Tx
	}{{path, &d.main, &d.mtx}, {readsPath(path), &d.reads, &d.rtx}} {
		db, err := openDB(ctx, f.path, true, 1)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("sqlite: opening %s: %w", f.path, err)
		}
		*f.db = db
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			d.Close()
			return nil, mapErr(err)
		}
		*f.tx = tx
		// A read transaction takes its snapshot at its first read.
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
			d.Close()
			return nil, mapErr(err)
		}
	}
	return d, nil
}

// skipped are tables that are SQLite's or the migrator's, not hep's data.
func skipped(name string) bool {
	return name == "schema_migrations" || strings.HasPrefix(name, "sqlite_")
}

// Tables lists the main file's tables, parents first, then the reads
// chain as dbcopy.ReadsChain.
func (d *Dump) Tables(ctx context.Context) ([]dbcopy.Table, error) {
	rows, err := d.mtx.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		return nil, mapErr(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, mapErr(err)
		}
		if !skipped(n) {
			names = append(names, n)
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	for _, n := range names {
		ps, err := queryAll(ctx, d.mtx, func(s scanner) (string, error) {
			var p string
			return p, s.Scan(&p)
		}, `SELECT "table" FROM pragma_foreign_key_list(?)`, n)
		if err != nil {
			return nil, err
		}
		parents[n] = ps
	}
	order, err := parentsFirst(names, parents)
	if err != nil {
		return nil, err
	}
	var out []dbcopy.Table
	for _, n := range order {
		t, err := describe(ctx, d.mtx, n, n)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	t, err := describe(ctx, d.rtx, "audit_events", dbcopy.ReadsChain)
	if err != nil {
		return nil, err
	}
	return append(out, t), nil
}

// parentsFirst orders names so that each comes after the tables it
// references (a table referencing itself is no constraint on the order).
func parentsFirst(names []string, parents map[string][]string) ([]string, error) {
	sort.Strings(names)
	done := map[string]bool{}
	var order []string
	for len(order) < len(names) {
		progress := false
		for _, n := range names {
			if done[n] {
				continue
			}
			ready := true
			for _, p := range parents[n] {
				if p != n && !done[p] {
					ready = false
				}
			}
			if ready {
				done[n] = true
				order = append(order, n)
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("sqlite: foreign keys form a cycle among %v", names)
		}
	}
	return order, nil
}

// describe reads a table's columns and row count; as is the name the
// table is given in the copy.
func describe(ctx context.Context, tx *sql.Tx, name, as string) (dbcopy.Table, error) {
	cols, err := queryAll(ctx, tx, func(s scanner) (string, error) {
		var c string
		return c, s.Scan(&c)
	}, "SELECT name FROM pragma_table_info(?) ORDER BY cid", name)
	if err != nil {
		return dbcopy.Table{}, err
	}
	t := dbcopy.Table{Name: as, Columns: cols}
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(name)).Scan(&t.Rows); err != nil {
		return dbcopy.Table{}, mapErr(err)
	}
	return t, nil
}

// Scan gives every row of t in rowid order (each table's insertion order,
// which keeps a row after the rows it supersedes or points back to).
func (d *Dump) Scan(ctx context.Context, t dbcopy.Table, fn func(row []any) error) error {
	tx, name := d.mtx, t.Name
	if t.Name == dbcopy.ReadsChain {
		tx, name = d.rtx, "audit_events"
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quoteIdent(c)
	}
	order := "rowid"
	var withoutRowid int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = ? AND sql LIKE '%WITHOUT ROWID%'", name).Scan(&withoutRowid); err != nil {
		return mapErr(err)
	}
	if withoutRowid > 0 {
		order = "1"
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+quoteIdent(name)+" ORDER BY "+order)
	if err != nil {
		return mapErr(err)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return mapErr(err)
		}
		if err := fn(vals); err != nil {
			rows.Close()
			return err
		}
	}
	return closeRows(rows)
}

// Close ends the snapshots and closes the files.
func (d *Dump) Close() error {
	for _, tx := range []*sql.Tx{d.mtx, d.rtx} {
		if tx != nil {
			_ = tx.Rollback()
		}
	}
	for _, db := range []*sql.DB{d.main, d.reads} {
		if db != nil {
			db.Close()
		}
	}
	return nil
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
