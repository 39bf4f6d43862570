package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Group commit. Every Enqueue needs the spool directory fsynced (for the
// rename of its file) and its record committed to queue.db, which costs
// one fsync of the WAL: two fsyncs per message, so acceptance would run
// at half the disk's fsync rate. Instead Enqueue hands its record to one
// committer goroutine and waits. The committer takes every request
// waiting (up to Options.CommitBatch), and optionally lingers up to
// Options.CommitWait for more; then it fsyncs the spool directory once,
// inserts each record under its own SAVEPOINT in one transaction, commits
// (one WAL fsync) and only then releases the waiters. While one batch is
// on disk the next one gathers, so batches grow with the load and a lone
// message waits for nobody.
//
// Failures: a record that cannot be inserted (its SAVEPOINT rolled back)
// fails only its own Enqueue; a failed directory fsync, BEGIN or COMMIT
// fails every Enqueue of that batch and none of another. A failed Enqueue
// removes its spool file, so nothing unacknowledged stays queued.

// commitReq is one Enqueue waiting for its record to be durable.
type commitReq struct {
	env  Envelope
	size int64
	done chan error // buffered, receives exactly one result
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

// commit makes env's record durable together with whatever other records
// are waiting. It returns when the record is committed or has failed.
// Once the request is taken it is waited for regardless of ctx: the
// caller must not report a failure for a record that may be committed.
func (q *Queue) commit(ctx context.Context, env Envelope, size int64) error {
	r := &commitReq{env: env, size: size, done: make(chan error, 1)}
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
	if err := syncDir(q.spoolDir); err != nil {
		return fail(err)
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
		if _, err := tx.ExecContext(ctx, `SAVEPOINT enqueue`); err != nil {
			return fail(err)
		}
		if err := insertRecord(ctx, tx, r.env, r.size); err != nil {
			errs[i] = err
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO enqueue`); err != nil {
				return fail(fmt.Errorf("roll back record %s: %w", r.env.ID, err))
			}
		} else {
			ok++
		}
		if _, err := tx.ExecContext(ctx, `RELEASE enqueue`); err != nil {
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
