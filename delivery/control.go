package delivery

import (
	"context"
	"errors"
	"time"
)

// ErrNotQueued is returned for a queue ID that is not (or no longer) in
// the queue.
var ErrNotQueued = errors.New("delivery: message not in the queue")

// The queue control API, used by the control socket (`mailctl queue`).
// Every method acts on the daemon's own queue; an invalid or unknown ID is
// ErrNotQueued.

// Show returns one message with all its recipients, settled ones
// included (State tells which).
func (q *Queue) Show(ctx context.Context, id ID) (Entry, error) {
	if !id.Valid() {
		return Entry{}, ErrNotQueued
	}
	es, err := q.entries(ctx, `WHERE m.id = ?`, string(id))
	if err != nil {
		return Entry{}, err
	}
	if len(es) == 0 {
		return Entry{}, ErrNotQueued
	}
	return es[0], nil
}

// Retry makes the pending recipients of id due now and schedules the
// message at once; id "" does so for every queued message. Backoff goes
// on from the recipients' attempt counts.
func (q *Queue) Retry(ctx context.Context, id ID) error {
	if id != "" && !id.Valid() {
		return ErrNotQueued
	}
	now := time.Now()
	var ids []ID
	if id == "" {
		pending, err := q.pendingMessages()
		if err != nil {
			return err
		}
		for pid := range pending {
			ids = append(ids, pid)
		}
		if _, err := q.db.ExecContext(ctx, `UPDATE recipients SET next_attempt = ? WHERE state = 0`, now.UnixNano()); err != nil {
			return err
		}
	} else {
		if ok, err := q.exists(ctx, id); err != nil {
			return err
		} else if !ok {
			return ErrNotQueued
		}
		// "+state": by the message key, not recipients_pending (see writeSettlement).
		if _, err := q.db.ExecContext(ctx, `UPDATE recipients SET next_attempt = ? WHERE msg_id = ? AND +state = 0`, now.UnixNano(), string(id)); err != nil {
			return err
		}
		ids = []ID{id}
	}
	for _, i := range ids {
		q.sched.add(i, now)
	}
	q.log.Info("retry requested", "queue_id", string(id), "messages", len(ids))
	return nil
}

// Delete drops id from the queue without telling its sender. A delivery
// in progress finishes first.
func (q *Queue) Delete(ctx context.Context, id ID) error {
	if !id.Valid() {
		return ErrNotQueued
	}
	if err := q.locks.lock(ctx, id); err != nil {
		return err
	}
	defer q.locks.unlock(id)
	if ok, err := q.exists(ctx, id); err != nil {
		return err
	} else if !ok {
		return ErrNotQueued
	}
	q.remove(id)
	q.log.Warn("deleted by the administrator", "queue_id", id)
	return nil
}

// Bounce fails every pending recipient of id now, with one DSN to the
// sender ("deleted by the administrator", 5.0.0), and removes the message.
// A delivery in progress finishes first.
func (q *Queue) Bounce(ctx context.Context, id ID) error {
	if !id.Valid() {
		return ErrNotQueued
	}
	if err := q.locks.lock(ctx, id); err != nil {
		return err
	}
	defer q.locks.unlock(id)
	m, rcpts, err := q.load(ctx, id)
	if err != nil {
		return err
	}
	if m == nil {
		return ErrNotQueued
	}
	e := Permanentf([3]int{5, 0, 0}, "Message deleted by the administrator", nil)
	outcomes := make([]outcome, len(rcpts))
	for i, r := range rcpts {
		outcomes[i] = outcome{r, e}
	}
	q.finish(ctx, m, q.record(ctx, m, outcomes))
	return nil
}

func (q *Queue) exists(ctx context.Context, id ID) (bool, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE id = ?`, string(id)).Scan(&n)
	return n > 0, err
}
