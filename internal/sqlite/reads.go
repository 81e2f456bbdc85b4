package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// The reads chain lives in a second SQLite file beside the main one (see
// migrations_reads/0001_reads_chain.sql for why). SQLite allows one writer
// per file: with the read rows in the main file, a clinician's read waited
// for every phone push queued before it; in a file of their own they wait
// only for one fsync, shared by every read row waiting at that moment.

// readsPath is the reads file of the database at path: "hep.db" has
// "hep-reads.db" beside it (and any other name gets "-reads.db" appended).
func readsPath(path string) string {
	if strings.HasSuffix(path, ".db") {
		return strings.TrimSuffix(path, ".db") + "-reads.db"
	}
	return path + "-reads.db"
}

// ReadsPath is the file beside the database at path that holds its audit
// trail's reads chain. A copy of a database is both files.
func ReadsPath(path string) string { return readsPath(path) }

// maxGroup bounds how many rows one group commit writes: enough to take
// every read waiting on a busy server, few enough to keep the transaction
// short.
const maxGroup = 256

// readsLog is the reads chain: its file's one writer, run by a goroutine
// that group-commits the rows callers hand it, and a small reader pool.
type readsLog struct {
	w, r *sql.DB
	now  func() time.Time
	log  *slog.Logger

	reqs chan *readsReq
	quit chan struct{}
	done chan struct{}
}

// readsReq is one row waiting to be written, and where to say it is.
type readsReq struct {
	ctx context.Context
	e   hep.AuditEvent
	res chan error // buffered (1): answered exactly once, by the writer
	// answered is set by the writer when it has sent on res; only the
	// writer's goroutine touches it (the caller only receives on res).
	answered bool
}

var errReadsClosed = errors.New("sqlite: store closed")

// openReads opens (creating and migrating if needed) the reads file of the
// database at path and starts its writer.
func openReads(ctx context.Context, path string, now func() time.Time, log *slog.Logger) (*readsLog, error) {
	rp := readsPath(path)
	w, err := openWriter(ctx, rp, readsMigrations, log)
	if err != nil {
		return nil, err
	}
	r, err := openDB(ctx, rp, true, 2)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: opening readers of %s: %w", rp, err)
	}
	l := &readsLog{w: w, r: r, now: now, log: log,
		reqs: make(chan *readsReq, maxGroup), quit: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l, nil
}

// append makes e, chained by the store, durable in the reads chain and
// returns when it is (or when ctx ends first: then the row may or may not
// be written, and the caller must return no data).
func (l *readsLog) append(ctx context.Context, e hep.AuditEvent) error {
	r := &readsReq{ctx: ctx, e: e, res: make(chan error, 1)}
	select {
	case l.reqs <- r:
	case <-l.quit:
		return errReadsClosed
	case <-ctx.Done():
		return mapErr(ctx.Err())
	}
	select {
	case err := <-r.res:
		return err
	case <-ctx.Done():
		return mapErr(ctx.Err())
	case <-l.done:
		select {
		case err := <-r.res:
			return err
		default:
			return errReadsClosed
		}
	}
}

// run is the writer: it takes the first waiting row, every other row
// waiting by then (up to maxGroup), writes them in one transaction and
// releases their callers after the commit.
func (l *readsLog) run() {
	defer close(l.done)
	batch := make([]*readsReq, 0, maxGroup)
	for {
		batch = batch[:0]
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		case <-l.quit:
			return
		}
	fill:
		for len(batch) < maxGroup {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		err := l.write(batch)
		for _, r := range batch {
			if r.answered {
				continue
			}
			rerr := err
			if err != nil && len(batch) > 1 {
				// One row the trail refuses must not fail the reads
				// grouped with it: each is tried alone.
				if rerr = l.write([]*readsReq{r}); r.answered {
					continue
				}
			}
			r.answered = true
			r.res <- rerr
		}
	}
}

// write appends the rows of the callers still waiting, in one
// transaction. A caller that gave up (its context ended) gets no row: its
// read returned nothing.
func (l *readsLog) write(batch []*readsReq) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	last, prev, err := chainHead(ctx, tx, hep.ChainReads)
	if err != nil {
		return mapErr(err)
	}
	st, err := tx.PrepareContext(ctx, insertAuditQuery)
	if err != nil {
		return mapErr(err)
	}
	defer st.Close()
	wrote := 0
	for _, r := range batch {
		if r.answered {
			continue
		}
		if cerr := r.ctx.Err(); cerr != nil {
			r.answered = true
			r.res <- mapErr(cerr)
			continue
		}
		e := r.e
		e.Chain, e.Seq, e.PrevHash, e.Time = hep.ChainReads, last+1, prev, l.now()
		e.Hash = hep.ChainHash(prev, e)
		if _, err := st.ExecContext(ctx, auditArgs(e)...); err != nil {
			return mapErr(err)
		}
		last, prev = e.Seq, e.Hash
		wrote++
	}
	if wrote == 0 {
		_ = tx.Rollback()
		return nil
	}
	return mapErr(tx.Commit())
}

// close stops the writer after the rows already handed to it, and closes
// the file.
func (l *readsLog) close() error {
	close(l.quit)
	<-l.done
	// Rows handed over after the writer's last look get errReadsClosed
	// from append (their callers see l.done).
	var errs []error
	errs = append(errs, l.r.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := l.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		l.log.Warn("sqlite checkpoint of the reads file on close failed", "err", err.Error())
	}
	errs = append(errs, l.w.Close())
	return errors.Join(errs...)
}

// chainHead reads the last event of the chain in q's file: its sequence
// and hash, or 0 and the chain's genesis if it has none.
func chainHead(ctx context.Context, q querier, chain string) (int64, string, error) {
	var last int64
	var prev string
	err := q.QueryRowContext(ctx, lastAuditQuery).Scan(&last, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, hep.ChainGenesis(chain), nil
	}
	return last, prev, err
}
