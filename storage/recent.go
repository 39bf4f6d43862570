package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// \Recent (RFC 3501 §2.3.2): a message is recent in exactly one session,
// the first to be told of it. The index keeps one high-water mark per
// mailbox, mailboxes.recentuid: every UID at or below it has been
// claimed by some session, every UID above it is still recent for the
// next session that claims it. ClaimRecent raises the mark in one index
// write transaction (the index's write lock, across processes), so two
// sessions, in one maild or in two processes, never claim one UID, and
// one claim covers any number of messages. \Recent is no change to the
// message: it takes no MODSEQ and no change log row (RFC 7162 leaves it
// out of MODSEQ).
//
// A new mailbox row starts at 0: everything in it is recent to the first
// claimer (also after an index rebuild, as a Maildir reader sees new/).
// An index migrated from version 3 starts at UIDNEXT-1: mail that was
// there before is not announced as recent again.

// migrateRecent adds mailboxes.recentuid to an index of version 3 or
// older, set to UIDNEXT-1. It is idempotent.
func migrateRecent(tx *sql.Tx) error {
	added, err := addColumn(tx, "mailboxes", "recentuid", "INTEGER NOT NULL DEFAULT 0")
	if err != nil || !added {
		return err
	}
	_, err = tx.Exec(`UPDATE mailboxes SET recentuid = uidnext - 1`)
	return err
}

// ClaimRecent makes the calling session the one that sees UIDs (old
// mark, upTo] of mailbox as \Recent (RFC 3501 §2.3.2) and raises the
// mark to upTo. It returns the UIDs claimed as first..last, or 0, 0 when
// none are left (another session claimed them, or upTo is at or below
// the mark). upTo is capped at UIDNEXT-1: a UID not yet given out is
// never claimed. The read and the raise are one index transaction, so
// concurrent claimers, in this process or another, get disjoint ranges.
//
// A session that SELECTs claims up to its UIDNEXT-1 and flags the
// claimed UIDs it lists \Recent; on each poll that brings new messages
// (Changes with MessageAdded) it claims up to the highest new UID. A
// session that EXAMINEs does not claim (RFC 3501 §6.3.2: EXAMINE must
// not cause messages to lose \Recent); Status.Recent counts without
// claiming.
func (a *Account) ClaimRecent(ctx context.Context, mailbox string, upTo uint32) (first, last uint32, err error) {
	canon, _, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return 0, 0, fmt.Errorf("claim recent: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("claim recent in %q: %w", canon, err)
	}
	defer tx.Rollback()
	var mark, next uint32
	if err := tx.QueryRowContext(ctx, `SELECT recentuid, uidnext FROM mailboxes WHERE name = ?`, canon).Scan(&mark, &next); err != nil {
		return 0, 0, fmt.Errorf("claim recent in %q: %w", canon, err)
	}
	upTo = min(upTo, next-1)
	if upTo <= mark {
		return 0, 0, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET recentuid = ? WHERE name = ?`, upTo, canon); err != nil {
		return 0, 0, fmt.Errorf("claim recent in %q: %w", canon, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("claim recent in %q: %w", canon, err)
	}
	return mark + 1, upTo, nil
}

// Unclaimed counts the messages of mailbox no session has claimed yet
// (Status.Recent) without the rest of Status: it reads the mark (one
// row) and counts the UIDs above it in the mailbox's snapshot
// (snapshot.go), so EXAMINE of a large mailbox does not scan every row
// for counts and sizes it does not show.
func (a *Account) Unclaimed(ctx context.Context, mailbox string) (int, error) {
	canon, _, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return 0, fmt.Errorf("unclaimed: %w", err)
	}
	var mark uint32
	a.idxMu.RLock()
	err = a.st.recentMark.QueryRowContext(ctx, canon).Scan(&mark)
	a.idxMu.RUnlock()
	if err != nil {
		return 0, fmt.Errorf("unclaimed in %q: %w", canon, err)
	}
	var n int
	_, err = a.readMessages(ctx, canon, func(msgs []Message) []Message {
		i, found := slices.BinarySearchFunc(msgs, mark, byUID)
		if found {
			i++
		}
		n = len(msgs) - i
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("unclaimed: %w", err)
	}
	return n, nil
}
