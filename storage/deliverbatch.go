package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// Group commit for Deliver. Each Deliver writes and fsyncs its file in
// tmp/ on its own, then hands the rest to the account's committer: the
// rename into new/ or cur/, the directory fsyncs, the index row and the
// change notification, all under a.mu. The committer takes every request
// waiting (up to maxDeliverBatch), renames them all, fsyncs each touched
// directory once, inserts the rows in one index transaction and only
// then releases the callers. While one batch is being written the next
// one gathers, so batches grow with the load; a lone message waits for
// nobody. The committer is the first caller to find none, for one batch,
// then a goroutine that is gone as soon as no request is waiting, so
// there is nothing to stop.
//
// Failures: a message that cannot be renamed or whose row cannot be
// inserted (its SAVEPOINT rolled back) fails only its own Deliver; a
// failed directory fsync, BEGIN, mailbox row or COMMIT fails every
// Deliver of the batch. A failed Deliver's file is removed, so nothing
// unacknowledged is left in the mailbox.

// maxDeliverBatch bounds one batch (and so one transaction).
const maxDeliverBatch = 256

// deliverReq is one Deliver waiting for its rename and index row.
type deliverReq struct {
	ctx     context.Context // the caller's, passed to the observer only
	mailbox string          // canonical name
	tmpPath string
	rel     string  // "new/<key>" or "cur/<key>:2,<info>"
	m       Message // m.Path is the destination; the UID is filled in

	renamed  bool  // the file left tmp/
	inserted bool  // a new index row (not one a rescan had made)
	err      error // the outcome, set before done is closed
	done     chan struct{}
}

// deliverQueue is the Deliver requests of one Account waiting for the
// committer.
type deliverQueue struct {
	mu      sync.Mutex
	pending []*deliverReq
	running bool         // a committer goroutine is draining pending
	batches atomic.Int64 // batches written (tests)
	// beforeSync, when set (tests only, per Account), runs after a
	// batch's renames with the number of requests; an error fails the
	// batch as a failed directory fsync would.
	beforeSync func(n int) error
}

// commitDelivery hands r to the committer and waits for its outcome.
// Once handed over, r is waited for whatever r.ctx says: the caller must
// not report a failure for a message that may be delivered.
func (a *Account) commitDelivery(r *deliverReq) {
	r.done = make(chan struct{})
	q := &a.dq
	q.mu.Lock()
	q.pending = append(q.pending, r)
	lead := !q.running
	q.running = true
	q.mu.Unlock()
	if lead {
		// No committer: the caller writes its own batch, so a lone
		// message needs no hand-off; what queued meanwhile goes to a
		// goroutine.
		if a.commitBatch() {
			go a.commitLoop()
		}
	}
	<-r.done
}

// commitLoop writes batches until no request is waiting.
func (a *Account) commitLoop() {
	for a.commitBatch() {
	}
}

// commitBatch writes the waiting requests, up to maxDeliverBatch, as one
// batch. It reports whether more are waiting; if none are, the committer
// is done (running is false). Only the committer calls it.
func (a *Account) commitBatch() bool {
	q := &a.dq
	q.mu.Lock()
	n := min(len(q.pending), maxDeliverBatch)
	batch := q.pending[:n:n]
	q.pending = q.pending[n:]
	q.mu.Unlock()

	a.mu.Lock()
	a.deliverBatchLocked(batch)
	a.mu.Unlock()
	q.batches.Add(1)
	for _, r := range batch {
		close(r.done)
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.running, q.pending = false, nil
		return false
	}
	return true
}

// deliverBatchLocked renames, syncs and indexes a batch, and sets each
// request's outcome. The caller holds a.mu.
func (a *Account) deliverBatchLocked(batch []*deliverReq) {
	// Per mailbox: did the index match the directories before our
	// renames? Then it matches them after the batch too (see restamp).
	fresh := make(map[string]bool)
	for _, r := range batch {
		if _, ok := fresh[r.mailbox]; !ok {
			fresh[r.mailbox] = a.stampFresh(r.mailbox)
		}
	}
	// tmp/ is fsynced too, once per batch. The destination's fsync makes
	// the message durable, and on ext4 it commits the whole rename; but
	// elsewhere a crash could bring the tmp/ name back as a second link
	// to the delivered file, and nothing cleans tmp/, so an expunged
	// message would stay on disk.
	var dirs []string
	for _, r := range batch {
		if err := os.Rename(r.tmpPath, r.m.Path); err != nil {
			r.err = err
			continue
		}
		r.renamed = true
		for _, d := range []string{filepath.Dir(r.m.Path), filepath.Dir(r.tmpPath)} {
			if !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	err := a.syncBatch(dirs, len(batch))
	if err == nil {
		err = a.indexBatch(batch)
	}
	if err != nil {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
	}
	a.undoFailed(batch)
	if err != nil {
		return // the stamps stay stale: the next Refresh rescans
	}
	for mailbox, f := range fresh {
		a.restamp(mailbox, f)
	}
	for _, r := range batch {
		if r.err == nil && r.inserted {
			a.notify(r.ctx, Change{Mailbox: r.mailbox, Kind: MessageAdded, UID: r.m.UID, ModSeq: r.m.ModSeq, Flags: r.m.Flags, Message: r.m})
		}
	}
}

// syncBatch fsyncs the directories the batch renamed into.
func (a *Account) syncBatch(dirs []string, n int) error {
	if h := a.dq.beforeSync; h != nil {
		if err := h(n); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// indexBatch records the renamed messages of a batch in one transaction,
// each under its own SAVEPOINT, and assigns the UIDs in batch order. It
// returns an error only when the whole batch failed.
func (a *Account) indexBatch(batch []*deliverReq) error {
	// The batch is written whatever the callers' contexts say: they wait
	// for the outcome (see commitDelivery).
	ctx := context.Background()
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer tx.Rollback()
	// A savepoint per row lets one row fail alone; a lone request needs
	// none, its failure is the batch's.
	savepoint := func(stmt string) error {
		if len(batch) == 1 {
			return nil
		}
		_, err := tx.ExecContext(ctx, stmt)
		return err
	}
	type uids struct{ first, next uint32 }
	next := make(map[string]*uids) // UIDNEXT per mailbox as the batch goes
	for _, r := range batch {
		if r.err != nil {
			continue
		}
		u := next[r.mailbox]
		if u == nil {
			_, n, err := a.ensureMailboxRow(ctx, tx, r.mailbox)
			if err != nil {
				return fmt.Errorf("index: %w", err)
			}
			u = &uids{n, n}
			next[r.mailbox] = u
		}
		if err := savepoint(`SAVEPOINT deliver`); err != nil {
			return fmt.Errorf("index: %w", err)
		}
		if err := a.st.indexDelivered(ctx, tx, r, u.next, a.logLimit()); err != nil {
			r.err = fmt.Errorf("index: %w", err)
			if err := savepoint(`ROLLBACK TO deliver`); err != nil {
				return fmt.Errorf("index: roll back %q: %w", r.m.Key, err)
			}
		} else if r.inserted {
			u.next++
		}
		if err := savepoint(`RELEASE deliver`); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	for mailbox, u := range next {
		if u.next == u.first {
			continue
		}
		if _, err := tx.StmtContext(ctx, a.st.setUIDNext).ExecContext(ctx, u.next, mailbox); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// indexDelivered writes r's row with UID uid and the next MODSEQ, or,
// if a rescan (of another process) already indexed the file, updates
// that row and takes its UID (and a new MODSEQ if the flags differ). It
// sets r.m.UID, r.m.ModSeq and r.inserted.
func (st *indexStmts) indexDelivered(ctx context.Context, tx *sql.Tx, r *deliverReq, uid uint32, limit uint64) error {
	m := r.m
	var old uint32
	var oldFlags string
	var modseq uint64
	err := tx.StmtContext(ctx, st.messageByKey).QueryRowContext(ctx, r.mailbox, m.Key).Scan(&old, &oldFlags, &modseq)
	switch {
	case err == nil:
		if joinFlags(m.Flags) != oldFlags {
			if modseq, err = st.logChange(ctx, tx, r.mailbox, old, kindFlags, limit); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET flags = ?, internal_date = ?, modseq = ? WHERE mailbox = ? AND uid = ?`,
			joinFlags(m.Flags), m.InternalDate.UnixNano(), modseq, r.mailbox, old); err != nil {
			return err
		}
		r.m.UID, r.m.ModSeq, r.inserted = old, modseq, false
	case errors.Is(err, sql.ErrNoRows):
		if modseq, err = st.logChange(ctx, tx, r.mailbox, uid, kindNew, limit); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, st.insertMessage).ExecContext(ctx, r.mailbox, uid, m.Key, r.rel, joinFlags(m.Flags),
			m.InternalDate.UnixNano(), m.Size, modseq); err != nil {
			return err
		}
		r.m.UID, r.m.ModSeq, r.inserted = uid, modseq, true
	default:
		return err
	}
	return nil
}

// undoFailed removes the files of the failed requests that were renamed
// and fsyncs their directories (best effort): a failed Deliver leaves
// nothing behind.
func (a *Account) undoFailed(batch []*deliverReq) {
	var dirs []string
	for _, r := range batch {
		if r.err == nil || !r.renamed {
			continue
		}
		if err := os.Remove(r.m.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.err = fmt.Errorf("%w (removing %q also failed: %v)", r.err, r.m.Path, err)
		}
		if d := filepath.Dir(r.m.Path); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		syncDir(d)
	}
}
