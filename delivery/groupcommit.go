package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Group commit. Every write to queue.db costs one fsync of the WAL
// (synchronous=FULL), and every Enqueue also needs the spool directory
// fsynced for the rename of its file: done one at a time, acceptance
// would run at half the disk's fsync rate and each delivered message
// would pay for its own settle commit. Instead Enqueue and the workers
// hand their writes to one committer goroutine and wait. The committer
// takes every request waiting (up to Options.CommitBatch), and optionally
// lingers up to Options.CommitWait for more; then, if the batch holds an
// Enqueue record, it fsyncs the spool directory once; it runs each write
// under its own SAVEPOINT in one transaction, commits (one WAL fsync) and
// only then releases the waiters. While one batch is on disk the next one
// gathers, so batches grow with the load and a lone write waits for
// nobody.
//
// Failures: a write that fails (its SAVEPOINT rolled back) fails only its
// own caller; a failed directory fsync, BEGIN or COMMIT fails every
// caller of that batch and none of another. A failed Enqueue removes its
// spool file, so nothing unacknowledged stays queued; a failed settlement
// leaves the message's recipients as they were (see Queue.finish).

// commitReq is one write waiting to be durable: an Enqueue's record or a
// worker's settlement of an attempt.
type commitReq struct {
	// write runs in the batch's transaction. It must not wait for the
	// committer (no Enqueue inside).
	write func(ctx context.Context, tx *sql.Tx) error
	// spooled: write records a file just renamed into spool/, so the
	// spool directory is fsynced before the batch commits.
	spooled bool
	done    chan error // buffered, receives exactly one result
}

// committer is the state of the group-commit goroutine of one Queue.
type committer struct {
	reqs     chan *commitReq // unbuffered: a request sent is a request taken
	stop     chan struct{}
	stopped  chan struct{}
	maxBatch int
	wait     time.Duration
	commits  atomic.Int64 // transactions committed (for tests and benchmarks)
	// beforeCommit, when set (tests only, per instance), runs before each
	// batch is written; an error fails the batch.
	beforeCommit func(n int) error
}

func newCommitter(maxBatch int, wait time.Duration) *committer {
	return &committer{
		reqs:     make(chan *commitReq),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		maxBatch: maxBatch,
		wait:     wait,
	}
}

// commit makes env's record durable together with whatever other writes
// are waiting (see groupWrite).
func (q *Queue) commit(ctx context.Context, env Envelope, size, prefix int64) error {
	return q.groupWrite(ctx, true, func(ctx context.Context, tx *sql.Tx) error {
		return insertRecord(ctx, tx, env, size, prefix)
	})
}

// groupWrite runs write in the committer's next transaction and returns
// when that is committed or has failed. Once the request is taken it is
// waited for regardless of ctx: the caller must not report a failure for
// a write that may be committed.
func (q *Queue) groupWrite(ctx context.Context, spooled bool, write func(context.Context, *sql.Tx) error) error {
	r := &commitReq{write: write, spooled: spooled, done: make(chan error, 1)}
	select {
	case q.gc.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-q.gc.stopped:
		return errors.New("queue is closed")
	}
	return <-r.done
}

// commitCount reports the transactions the committer has committed.
func (q *Queue) commitCount() int64 { return q.gc.commits.Load() }

// commitLoop runs until Close: one batch per iteration.
func (q *Queue) commitLoop() {
	defer close(q.gc.stopped)
	batch := make([]*commitReq, 0, q.gc.maxBatch)
	for {
		select {
		case r := <-q.gc.reqs:
			batch = append(batch[:0], r)
		case <-q.gc.stop:
			return
		}
		batch = q.gc.collect(batch)
		errs := q.writeBatch(batch)
		for i, r := range batch {
			r.done <- errs[i]
			batch[i] = nil
		}
	}
}

// collect adds the requests already waiting, then lingers up to c.wait
// for more, up to c.maxBatch in all.
func (c *committer) collect(batch []*commitReq) []*commitReq {
drain:
	for len(batch) < c.maxBatch {
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		default:
			break drain
		}
	}
	if c.wait <= 0 || len(batch) >= c.maxBatch {
		return batch
	}
	timer := time.NewTimer(c.wait)
	defer timer.Stop()
	for len(batch) < c.maxBatch {
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		case <-timer.C:
			return batch
		}
	}
	return batch
}

// writeBatch makes a batch durable and returns one result per request.
func (q *Queue) writeBatch(batch []*commitReq) []error {
	errs := make([]error, len(batch))
	fail := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if h := q.gc.beforeCommit; h != nil {
		if err := h(len(batch)); err != nil {
			return fail(err)
		}
	}
	// The renames into spool/ first: a record must never be durable
	// without its file. (A crash after this fsync and before the commit
	// leaves spool files without records, removed by recover.)
	if slices.ContainsFunc(batch, func(r *commitReq) bool { return r.spooled }) {
		if err := syncDir(q.spoolDir); err != nil {
			return fail(err)
		}
	}
	// The batch is written whatever the callers' contexts say: they wait
	// for the outcome (see commit).
	ctx := context.Background()
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	ok := 0
	for i, r := range batch {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT req`); err != nil {
			return fail(err)
		}
		if err := r.write(ctx, tx); err != nil {
			errs[i] = err
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO req`); err != nil {
				return fail(fmt.Errorf("roll back failed write: %w", err))
			}
		} else {
			ok++
		}
		if _, err := tx.ExecContext(ctx, `RELEASE req`); err != nil {
			return fail(err)
		}
	}
	if ok == 0 {
		return errs // nothing to commit; Rollback ends the transaction
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	q.gc.commits.Add(1)
	return errs
}
