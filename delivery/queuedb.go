package delivery

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"time"
)

// Recipient states in queue.db.
const (
	statePending   = 0
	stateDelivered = 1
	stateFailed    = 2
)

// migrations bring queue.db from PRAGMA user_version i to i+1. Append
// only: a released step never changes. Version 1 is the original schema
// (its statements are idempotent, so databases created before versioning,
// at user_version 0 with the tables already there, pass through it).
var migrations = []string{
	// 1: messages, recipients and the targets already delivered.
	`CREATE TABLE IF NOT EXISTS messages (
	id          TEXT PRIMARY KEY,
	mail_from   TEXT NOT NULL,
	auth_user   TEXT NOT NULL,
	remote      TEXT NOT NULL,
	helo        TEXT NOT NULL,
	tls         INTEGER NOT NULL,
	received_at INTEGER NOT NULL,
	size        INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS recipients (
	msg_id       TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	rcpt         TEXT NOT NULL,
	state        INTEGER NOT NULL DEFAULT 0,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	last_error   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (msg_id, rcpt)
);
CREATE INDEX IF NOT EXISTS recipients_pending ON recipients(state, next_attempt);
CREATE TABLE IF NOT EXISTS delivered (
	msg_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	target TEXT NOT NULL,
	PRIMARY KEY (msg_id, target)
);`,
	// 2: one delay notice per message (Options.DelayNotice).
	`ALTER TABLE messages ADD COLUMN delay_notified INTEGER NOT NULL DEFAULT 0;`,
	// 3: the bytes at the start of the spool file that are the local
	// delivery's own header, not part of the message (see Spooled).
	`ALTER TABLE messages ADD COLUMN prefix INTEGER NOT NULL DEFAULT 0;`,
	// 4: the spool file is in the one stored form (Enqueue made it
	// canonical); files spooled before are not linked into a Maildir.
	`ALTER TABLE messages ADD COLUMN canonical INTEGER NOT NULL DEFAULT 0;`,
}

// openDB opens queue.db. synchronous=FULL: a commit is on disk before
// Enqueue returns, which is what the 250 promises (concurrent Enqueue
// calls share one commit: see groupcommit.go).
func openDB(path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open queue db: %w", err)
	}
	// One writer connection: SQLite allows one writer anyway, and this
	// keeps busy retries out of the hot path.
	db.SetMaxOpenConns(1)
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("queue schema in %s: %w", path, err)
	}
	return db, nil
}

// migrate runs the migrations the database has not seen, each in its own
// transaction with its user_version bump, so a crash leaves a consistent
// version. A database newer than this binary is refused, not downgraded.
func migrate(db *sql.DB) error {
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("queue.db has schema version %d; this maild knows up to %d", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		// PRAGMA takes no bound parameters; v+1 is an int.
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// insertRecord inserts one message and its recipients (see writeBatch).
func insertRecord(ctx context.Context, tx *sql.Tx, env Envelope, size, prefix int64) error {
	tlsFlag := 0
	if env.TLS {
		tlsFlag = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages(id, mail_from, auth_user, remote, helo, tls, received_at, size, prefix, canonical) VALUES (?,?,?,?,?,?,?,?,?,1)`,
		string(env.ID), env.From, env.AuthUser, remoteAddr(env.Remote), env.Helo, tlsFlag, env.ReceivedAt.UnixNano(), size, prefix); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	for _, rcpt := range env.To {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO recipients(msg_id, rcpt, next_attempt) VALUES (?,?,?)`, string(env.ID), rcpt, now); err != nil {
			return err
		}
	}
	return nil
}

type pendingRcpt struct {
	rcpt     string
	attempts int
	next     time.Time
}

// load reads a message and its pending recipients; nil when it is gone.
func (q *Queue) load(ctx context.Context, id ID) (*Spooled, []pendingRcpt, error) {
	m := &Spooled{ID: id, q: q, Envelope: Envelope{ID: id}}
	var remote string
	var tlsFlag int
	var received int64
	err := q.db.QueryRowContext(ctx, `SELECT mail_from, auth_user, remote, helo, tls, received_at, size, delay_notified, prefix, canonical FROM messages WHERE id = ?`, string(id)).
		Scan(&m.Envelope.From, &m.Envelope.AuthUser, &remote, &m.Envelope.Helo, &tlsFlag, &received, &m.Size, &m.delayNotified, &m.prefix, &m.canonical)
	if err == sql.ErrNoRows {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	m.Envelope.TLS = tlsFlag == 1
	m.Envelope.ReceivedAt = time.Unix(0, received)
	if remote != "" {
		m.Envelope.Remote, _ = netip.ParseAddrPort(remote)
	}
	rows, err := q.db.QueryContext(ctx, `SELECT rcpt, state, attempts, next_attempt FROM recipients WHERE msg_id = ? ORDER BY rowid`, string(id))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var pending []pendingRcpt
	for rows.Next() {
		var r pendingRcpt
		var st int
		var next int64
		if err := rows.Scan(&r.rcpt, &st, &r.attempts, &next); err != nil {
			return nil, nil, err
		}
		m.Envelope.To = append(m.Envelope.To, r.rcpt)
		if st == statePending {
			r.next = time.Unix(0, next)
			pending = append(pending, r)
		}
	}
	return m, pending, rows.Err()
}

// settlement is what one attempt on a message changes in queue.db. It
// is written in one transaction (writeSettlement), shared with other
// workers and Enqueue calls (group commit).
type settlement struct {
	id ID
	// marks are targets delivered in this attempt whose delivered row is
	// not written yet (Spooled.MarkDelivered).
	marks []string
	// adds are new recipients (alias targets elsewhere), due at once.
	adds    []string
	updates []rcptUpdate
	// delayNotified: the delay notice has been enqueued.
	delayNotified bool
	// logs report the deferred and bounced events once s is committed,
	// so that a log line never states what a crash could undo.
	logs []func()
}

// rcptUpdate is one recipient's outcome: settled (stateDelivered or
// stateFailed) or deferred (statePending) until next.
type rcptUpdate struct {
	rcpt    string
	state   int
	lastErr string
	next    time.Time
}

// earliestPendingSQL finds a message's earliest pending next attempt.
// "+state" makes SQLite find the rows by the message's key: with the
// state index (recipients_pending) it would scan every pending recipient
// in the queue.
const earliestPendingSQL = `SELECT MIN(next_attempt) FROM recipients WHERE msg_id = ? AND +state = 0`

// writeSettlement applies s in tx and returns the earliest next attempt
// of the recipients still pending. When none is, it deletes the message
// (recipients and delivered targets go with it: ON DELETE CASCADE), so a
// fully delivered message costs one transaction; otherwise it writes
// s.marks, which a retry must see.
func writeSettlement(ctx context.Context, tx *sql.Tx, s *settlement) (next time.Time, pending bool, err error) {
	id := string(s.id)
	now := time.Now().UnixNano()
	for _, rcpt := range s.adds {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO recipients(msg_id, rcpt, next_attempt) VALUES (?,?,?)`, id, rcpt, now); err != nil {
			return time.Time{}, false, err
		}
	}
	for _, u := range s.updates {
		var err error
		if u.state == statePending {
			_, err = tx.ExecContext(ctx, `UPDATE recipients SET attempts = attempts + 1, last_error = ?, next_attempt = ? WHERE msg_id = ? AND rcpt = ?`, u.lastErr, u.next.UnixNano(), id, u.rcpt)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE recipients SET state = ?, attempts = attempts + 1, last_error = ? WHERE msg_id = ? AND rcpt = ?`, u.state, u.lastErr, id, u.rcpt)
		}
		if err != nil {
			return time.Time{}, false, err
		}
	}
	if s.delayNotified {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET delay_notified = 1 WHERE id = ?`, id); err != nil {
			return time.Time{}, false, err
		}
	}
	var earliest sql.NullInt64
	if err := tx.QueryRowContext(ctx, earliestPendingSQL, id).Scan(&earliest); err != nil {
		return time.Time{}, false, err
	}
	if !earliest.Valid {
		_, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, id)
		return time.Time{}, false, err
	}
	return time.Unix(0, earliest.Int64), true, insertMarks(ctx, tx, s.id, s.marks)
}

func insertMarks(ctx context.Context, tx *sql.Tx, id ID, targets []string) error {
	for _, t := range targets {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO delivered(msg_id, target) VALUES (?, ?)`, string(id), t); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queue) isDelivered(ctx context.Context, id ID, target string) (bool, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM delivered WHERE msg_id = ? AND target = ?`, string(id), target).Scan(&n)
	return n > 0, err
}

func (q *Queue) deleteMessage(id ID) error {
	_, err := q.db.Exec(`DELETE FROM messages WHERE id = ?`, string(id))
	return err
}

// pendingMessages maps every message with pending recipients to its
// earliest next attempt.
func (q *Queue) pendingMessages() (map[ID]time.Time, error) {
	rows, err := q.db.Query(`SELECT msg_id, MIN(next_attempt) FROM recipients WHERE state = 0 GROUP BY msg_id`)
	if err != nil {
		return nil, fmt.Errorf("scan queue: %w", err)
	}
	defer rows.Close()
	out := map[ID]time.Time{}
	for rows.Next() {
		var id string
		var next int64
		if err := rows.Scan(&id, &next); err != nil {
			return nil, err
		}
		out[ID(id)] = time.Unix(0, next)
	}
	return out, rows.Err()
}

func (q *Queue) messageIDs() (map[ID]bool, error) {
	rows, err := q.db.Query(`SELECT id FROM messages`)
	if err != nil {
		return nil, fmt.Errorf("scan queue: %w", err)
	}
	defer rows.Close()
	out := map[ID]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[ID(id)] = true
	}
	return out, rows.Err()
}

// Entry is one queued message as `mailctl queue` shows it.
type Entry struct {
	ID         ID
	From       string // "" is the null sender (a DSN)
	AuthUser   string // the submitting user, "" for inbound mail
	ReceivedAt time.Time
	Size       int64
	// DelayNotified: the sender has had the delay notice.
	DelayNotified bool
	// Recipients are the pending ones in List; every one, with its
	// State, in Show.
	Recipients []EntryRecipient
}

// EntryRecipient is a recipient's delivery state.
type EntryRecipient struct {
	Address string
	// State is "pending", "delivered" or "failed".
	State       string
	Attempts    int
	NextAttempt time.Time
	LastError   string
}

func stateName(st int) string {
	switch st {
	case stateDelivered:
		return "delivered"
	case stateFailed:
		return "failed"
	}
	return "pending"
}

// List returns the messages still queued with their pending recipients,
// oldest first.
func (q *Queue) List(ctx context.Context) ([]Entry, error) {
	return q.entries(ctx, `WHERE r.state = 0`)
}

// entries reads messages joined with their recipients; where filters
// (fixed SQL with ? for args).
func (q *Queue) entries(ctx context.Context, where string, args ...any) ([]Entry, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT m.id, m.mail_from, m.auth_user, m.received_at, m.size, m.delay_notified,
		r.rcpt, r.state, r.attempts, r.next_attempt, r.last_error
		FROM messages m JOIN recipients r ON r.msg_id = m.id `+where+` ORDER BY m.received_at, m.id, r.rowid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var r EntryRecipient
		var received, next int64
		var st int
		if err := rows.Scan(&e.ID, &e.From, &e.AuthUser, &received, &e.Size, &e.DelayNotified, &r.Address, &st, &r.Attempts, &next, &r.LastError); err != nil {
			return nil, err
		}
		r.State = stateName(st)
		if st == statePending {
			r.NextAttempt = time.Unix(0, next)
		}
		if n := len(out); n > 0 && out[n-1].ID == e.ID {
			out[n-1].Recipients = append(out[n-1].Recipients, r)
			continue
		}
		e.ReceivedAt = time.Unix(0, received)
		e.Recipients = []EntryRecipient{r}
		out = append(out, e)
	}
	return out, rows.Err()
}
