package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// The change log: one ordered log of mod-sequences per mailbox, kept in
// the account index (RFC 7162 CONDSTORE/QRESYNC).
//
// Every change to a message (a new message, a flag or keyword change, an
// expunge) takes the next MODSEQ of its mailbox: the mailbox's
// highestmodseq goes up by one, the message row gets it (or is deleted),
// and a changelog row (modseq, uid, kind) is written, all in the
// transaction that makes the change, whichever process makes it (maild,
// mailctl import/restore/verify --repair, a rescan of files other tools
// wrote). The log lives in the SQLite file, so a second process's
// changes are in it too. Readers (IMAP sessions, POP3, metrics) ask
// Changes; nobody keeps a second copy.
//
// Each changed message takes its own MODSEQ, also when one call changes
// several (Expunge of many UIDs, a rescan): RFC 7162 only needs every
// change to get a mod-sequence above all earlier ones and lets messages
// changed by one command share one; one per change keeps the log a
// gap-free sequence (logfloor+1 .. highestmodseq), which makes a lost or
// reordered row detectable and the retention a count.
//
// MODSEQ values are positive (RFC 7162 §7: mod-sequence-value is
// 1 <= n < 2^63; 0 only appears as UNCHANGEDSINCE 0 and in
// mod-sequence-valzer). HIGHESTMODSEQ (RFC 7162 §3.1.2.1) is the MODSEQ
// of the latest change, expunges included, so it is at least every
// message's MODSEQ and rises on EXPUNGE as QRESYNC needs. A mailbox
// starts at HIGHESTMODSEQ 1 with no log rows; an index migrated from version 2
// gives every existing message and mailbox modseq 1. logfloor is the
// highest MODSEQ no longer in the log: 1 at the start, raised when the
// oldest rows are dropped (maxChangeLog). Changes(since) for since <
// logfloor cannot list every expunge and reports ErrChangesExpired; the
// caller then resynchronises fully (every message with its flags and
// modseq, and as VANISHED every UID below UIDNEXT that is not listed,
// which VANISHED (EARLIER) allows: a client ignores UIDs it does not
// have, RFC 7162 §3.2.10.1).

// maxChangeLog is how many changes per mailbox the log keeps (the newest;
// expunge tombstones among them). A client that last synchronised more
// changes ago than this resynchronises fully (see ErrChangesExpired).
const maxChangeLog = 100_000

// The log may grow by 1/changeLogSlack of its limit before the oldest
// rows are dropped, so the trim is one DELETE per 1,000 changes.
const changeLogSlack = 100

// ErrModified is returned by StoreFlags when the message changed after
// the UNCHANGEDSINCE mod-sequence (RFC 7162 §3.1.3).
var ErrModified = errors.New("message modified since")

// ErrChangesExpired is returned by Changes when the log no longer holds
// every change after the given mod-sequence.
var ErrChangesExpired = errors.New("change log no longer reaches back that far")

const (
	kindNew     = "new"
	kindFlags   = "flags"
	kindExpunge = "expunge"
)

var kindOf = map[string]ChangeKind{kindNew: MessageAdded, kindFlags: MessageFlags, kindExpunge: MessageExpunged}

// changelogSchema is the change log table, part of indexSchema and added
// to older indexes by migrateModSeq. There is no index on
// messages.modseq: Changes reads the log, and each secondary index is one
// more page written by every flag change.
const changelogSchema = `
CREATE TABLE IF NOT EXISTS changelog (
	mailbox TEXT NOT NULL,
	modseq  INTEGER NOT NULL,
	uid     INTEGER NOT NULL,
	kind    TEXT NOT NULL CHECK (kind IN ('new', 'flags', 'expunge')),
	PRIMARY KEY (mailbox, modseq)
) WITHOUT ROWID;
`

// migrateModSeq brings an index of version 1 or 2 to the change log
// schema in one transaction: it adds mailboxes.highestmodseq and
// logfloor and messages.modseq (1 for existing rows) and the changelog
// table. It is idempotent, so a version 1 index (whose size recount
// sets the version later) can be opened again before that. A version 2
// index becomes indexVersion.
func migrateModSeq(db *sql.DB, version int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range []struct{ table, column, def string }{
		{"mailboxes", "highestmodseq", "INTEGER NOT NULL DEFAULT 1"},
		{"mailboxes", "logfloor", "INTEGER NOT NULL DEFAULT 1"},
		{"messages", "modseq", "INTEGER NOT NULL DEFAULT 1"},
	} {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := tx.Exec(`ALTER TABLE ` + c.table + ` ADD COLUMN ` + c.column + ` ` + c.def); err != nil {
				return err
			}
		}
	}
	if _, err := tx.Exec(changelogSchema); err != nil {
		return err
	}
	if version >= sizesVersion {
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, indexVersion)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// logChange gives the change the mailbox's next MODSEQ, writes its log
// row and returns the MODSEQ. It runs in the transaction of the change
// (the mailbox row exists) and drops the oldest rows beyond limit.
func logChange(ctx context.Context, tx *sql.Tx, mailbox string, uid uint32, kind string, limit uint64) (uint64, error) {
	var modseq, floor uint64
	err := tx.QueryRowContext(ctx, `UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE name = ?
		RETURNING highestmodseq, logfloor`, mailbox).Scan(&modseq, &floor)
	if err != nil {
		return 0, fmt.Errorf("next modseq of %q: %w", mailbox, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO changelog (mailbox, modseq, uid, kind) VALUES (?, ?, ?, ?)`,
		mailbox, modseq, uid, kind); err != nil {
		return 0, fmt.Errorf("log change of %q: %w", mailbox, err)
	}
	if modseq-floor > limit+limit/changeLogSlack {
		floor = modseq - limit
		if _, err := tx.ExecContext(ctx, `DELETE FROM changelog WHERE mailbox = ? AND modseq <= ?`, mailbox, floor); err != nil {
			return 0, fmt.Errorf("trim change log of %q: %w", mailbox, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET logfloor = ? WHERE name = ?`, floor, mailbox); err != nil {
			return 0, fmt.Errorf("trim change log of %q: %w", mailbox, err)
		}
	}
	return modseq, nil
}

// logLimit is the number of changes per mailbox the log keeps.
func (a *Account) logLimit() uint64 {
	if a.changeLogLimit > 0 {
		return a.changeLogLimit
	}
	return maxChangeLog
}

// HighestModSeq returns the mailbox's HIGHESTMODSEQ (RFC 7162 §3.1.2.1):
// the MODSEQ of its latest change, 1 if it never changed.
func (a *Account) HighestModSeq(ctx context.Context, mailbox string) (uint64, error) {
	canon, _, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return 0, fmt.Errorf("highestmodseq: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	var n uint64
	if err := a.idx.QueryRowContext(ctx, `SELECT highestmodseq FROM mailboxes WHERE name = ?`, canon).Scan(&n); err != nil {
		return 0, fmt.Errorf("highestmodseq of %q: %w", canon, err)
	}
	return n, nil
}

// Changes returns the changes to mailbox with a MODSEQ above since, in
// MODSEQ order, whichever process made them. MessageAdded and
// MessageFlags carry the message as it is now (Flags, Message.ModSeq):
// a message expunged since is left out there and reported by its
// MessageExpunged entry; of several flag changes of one message only the
// last is reported. MessageExpunged entries are the tombstones QRESYNC's
// VANISHED (EARLIER) needs (RFC 7162 §3.2.5.1, §3.2.10.1). Change.ModSeq is the
// MODSEQ of the logged change. If the log no longer reaches back to
// since (since is below the mailbox's log floor, 1 after a migration,
// higher after maxChangeLog changes), the error is ErrChangesExpired and
// the caller resynchronises fully.
func (a *Account) Changes(ctx context.Context, mailbox string, since uint64) ([]Change, error) {
	canon, dir, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	// One statement: the log rows and the messages' state are one snapshot.
	rows, err := a.idx.QueryContext(ctx, `SELECT c.modseq, c.uid, c.kind,
			m.key, m.filename, m.flags, m.internal_date, m.size, m.modseq
		FROM changelog c LEFT JOIN messages m ON m.mailbox = c.mailbox AND m.uid = c.uid
		WHERE c.mailbox = ? AND c.modseq > ? ORDER BY c.modseq`, canon, since)
	if err != nil {
		return nil, fmt.Errorf("changes of %q: %w", canon, err)
	}
	defer rows.Close()
	type entry struct {
		c       Change
		present bool
	}
	var log []entry
	last := make(map[uint32]uint64) // UID → MODSEQ of its last change
	for rows.Next() {
		var e entry
		var kind string
		var key, rel, flags sql.NullString
		var date, size sql.NullInt64
		var modseq sql.NullInt64
		if err := rows.Scan(&e.c.ModSeq, &e.c.UID, &kind, &key, &rel, &flags, &date, &size, &modseq); err != nil {
			return nil, fmt.Errorf("changes of %q: %w", canon, err)
		}
		e.c.User, e.c.Mailbox, e.c.Kind = a.addr, canon, kindOf[kind]
		if e.present = key.Valid; e.present {
			fl := splitFlags(flags.String)
			e.c.Flags = fl
			e.c.Message = Message{UID: e.c.UID, Key: key.String, Flags: fl, InternalDate: time.Unix(0, date.Int64),
				Size: size.Int64, Path: filepath.Join(dir, rel.String), ModSeq: uint64(modseq.Int64)}
		}
		last[e.c.UID] = e.c.ModSeq
		log = append(log, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("changes of %q: %w", canon, err)
	}
	// The floor only rises: read after the rows, a floor at or below since
	// means no row above since was dropped before they were read.
	var floor uint64
	if err := a.idx.QueryRowContext(ctx, `SELECT logfloor FROM mailboxes WHERE name = ?`, canon).Scan(&floor); err != nil {
		return nil, fmt.Errorf("changes of %q: %w", canon, err)
	}
	if since < floor {
		return nil, fmt.Errorf("changes of %q since %d (log starts after %d): %w", canon, since, floor, ErrChangesExpired)
	}
	out := make([]Change, 0, len(log))
	for _, e := range log {
		switch e.c.Kind {
		case MessageExpunged:
		case MessageAdded:
			if !e.present {
				continue
			}
		case MessageFlags:
			if !e.present || last[e.c.UID] != e.c.ModSeq {
				continue
			}
		}
		out = append(out, e.c)
	}
	return out, nil
}

// StoreOptions makes StoreFlags conditional.
type StoreOptions struct {
	// Conditional enables the UNCHANGEDSINCE test (RFC 7162 §3.1.3): the
	// flags are set only if the message's MODSEQ is at most
	// UnchangedSince; otherwise StoreFlags returns ErrModified and
	// changes nothing. UNCHANGEDSINCE 0 always fails, as the RFC has it.
	Conditional    bool
	UnchangedSince uint64
}

// StoreFlags replaces the flags of a message as SetFlags does, and
// returns the message's MODSEQ afterwards: the new one if the flags
// changed, the old one if they were already so (no change, no MODSEQ).
// With opts.Conditional, a message modified after opts.UnchangedSince is
// left alone and the error is ErrModified (the caller reports the UID in
// MODIFIED); the test and the change are one index transaction, so a
// change by another process cannot slip in between.
func (a *Account) StoreFlags(ctx context.Context, mailbox string, uid uint32, flags []string, opts StoreOptions) (uint64, error) {
	norm, err := normalizeFlags(flags)
	if err != nil {
		return 0, fmt.Errorf("set flags: %w", err)
	}
	m, err := a.storeFlags(ctx, mailbox, uid, func([]string) []string { return norm }, opts)
	return m.ModSeq, err
}

// UpdateResult is the outcome of UpdateFlags.
type UpdateResult struct {
	// Messages are the messages stored, as they are now (changed or
	// already so), in the order of the UIDs given.
	Messages []Message
	// Modified are the UIDs refused by the UNCHANGEDSINCE test (RFC 7162
	// §3.1.3 MODIFIED), in the order given.
	Modified []uint32
}

// UpdateFlags is IMAP STORE over a set of messages: for each UID, update
// gets the message's current flags and returns its new ones (+FLAGS,
// -FLAGS, FLAGS). The current flags are read in the transaction that
// writes the new ones, so a concurrent change by another process is
// never lost. Each message changed takes its own MODSEQ; UIDs that do
// not exist are skipped; with opts.Conditional, messages modified after
// opts.UnchangedSince are left alone and listed in Modified. update must
// not call back into the account.
func (a *Account) UpdateFlags(ctx context.Context, mailbox string, uids []uint32, update func(old []string) []string, opts StoreOptions) (UpdateResult, error) {
	var res UpdateResult
	if _, _, err := a.ensureIndexed(ctx, mailbox); err != nil {
		return res, fmt.Errorf("set flags: %w", err)
	}
	for _, uid := range uids {
		m, err := a.storeFlags(ctx, mailbox, uid, update, opts)
		switch {
		case errors.Is(err, ErrModified):
			res.Modified = append(res.Modified, uid)
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return res, err
		default:
			res.Messages = append(res.Messages, m)
		}
	}
	return res, nil
}

// forgetMailbox drops a mailbox's index rows, its messages and its
// change log in one transaction (the folder is gone; a folder created
// under the name again gets a new UIDVALIDITY, so its log starts anew).
func forgetMailbox(ctx context.Context, db *sql.DB, name string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM messages WHERE mailbox = ?`, `DELETE FROM mailboxes WHERE name = ?`,
		`DELETE FROM changelog WHERE mailbox = ?`} {
		if _, err := tx.ExecContext(ctx, q, name); err != nil {
			return err
		}
	}
	return tx.Commit()
}
