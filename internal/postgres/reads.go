package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hepclinic/hep/internal/hep"
)

// The reads chain is the table audit_reads, beside audit_events in the
// same database, with a lock of its own (its row of audit_chains): a
// clinician's read commits its audit row without waiting behind the
// pushes that hold the main chain's lock. Each replica group-commits its
// read rows: one goroutine takes every row waiting when it starts a
// transaction, appends them under the chain's lock, and releases each
// caller only once the commit returned. Across replicas the chain's lock
// orders the groups, so the reads chain stays one verifiable chain.

// maxGroup bounds how many rows one group commit writes: enough to take
// every read waiting on a busy server, few enough to keep the transaction
// (and the chain's lock) short.
const maxGroup = 256

// readsLog is the reads chain's writer, run by a goroutine that
// group-commits the rows callers hand it.
type readsLog struct {
	s *Store

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
	// writer's goroutine touches it.
	answered bool
}

var errReadsClosed = errors.New("postgres: store closed")

// newReadsLog starts the reads chain's writer of s.
func newReadsLog(s *Store) *readsLog {
	l := &readsLog{s: s, reqs: make(chan *readsReq, maxGroup), quit: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
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
		// A caller that gave up (its context ended) gets no row: its
		// read returned nothing.
		live := batch[:0:0]
		for _, r := range batch {
			if cerr := r.ctx.Err(); cerr != nil {
				r.answered = true
				r.res <- mapErr(cerr)
				continue
			}
			live = append(live, r)
		}
		if len(live) == 0 {
			continue
		}
		err := l.write(live)
		for _, r := range live {
			rerr := err
			if err != nil && len(live) > 1 {
				// One row the trail refuses must not fail the reads
				// grouped with it: each is tried alone.
				rerr = l.write([]*readsReq{r})
			}
			r.answered = true
			r.res <- rerr
		}
	}
}

// write appends the rows of batch in one transaction, retried like the
// store's transactions (a lost connection, a deadlock) a few times.
func (l *readsLog) write(batch []*readsReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if berr := backoff(ctx, attempt); berr != nil {
				return mapErr(errors.Join(berr, err))
			}
		}
		err = l.writeOnce(ctx, batch)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return mapErr(err)
		}
	}
}

func (l *readsLog) writeOnce(ctx context.Context, batch []*readsReq) (err error) {
	tx, err := l.s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	last, prev, err := lockChain(ctx, tx, hep.ChainReads)
	if err != nil {
		return err
	}
	for _, r := range batch {
		e := r.e
		e.Chain, e.Seq, e.PrevHash, e.Time = hep.ChainReads, last+1, prev, l.s.now()
		e.Hash = hep.ChainHash(prev, e)
		if _, err := tx.ExecContext(ctx, insertReadQuery, auditArgs(e)...); err != nil {
			return err
		}
		last, prev = e.Seq, e.Hash
	}
	return tx.Commit()
}

// close stops the writer after the rows already handed to it. Rows handed
// over after the writer's last look get errReadsClosed from append.
func (l *readsLog) close() error {
	close(l.quit)
	<-l.done
	return nil
}

// chainHead reads the last event of chain: its sequence and hash, or 0
// and the chain's genesis if it has none.
func chainHead(ctx context.Context, q querier, chain string) (int64, string, error) {
	query := lastAuditQuery
	if chain == hep.ChainReads {
		query = lastReadQuery
	}
	var last int64
	var prev string
	err := q.QueryRowContext(ctx, query).Scan(&last, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, hep.ChainGenesis(chain), nil
	}
	return last, prev, err
}
