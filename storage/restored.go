package storage

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
)

// A restored backup takes every mailbox back to the moment the backup
// was taken, but clients may have seen more: messages delivered later
// (with UIDs above the backup's UIDNEXT), flag changes and expunges
// (with MODSEQs above its HIGHESTMODSEQ). Left as it is, the index would
// hand those UIDs to new messages, and a client's CHANGEDSINCE or
// QRESYNC from its later MODSEQ would hear of nothing (RFC 3501
// §2.3.1.1: a UID never names another message under one UIDVALIDITY;
// RFC 7162 §3.1: MODSEQs never go back).
//
// MarkRestored therefore moves every mailbox past anything a client can
// have seen, keeping UIDVALIDITY (the restored messages keep their UIDs,
// so clients keep their caches of them):
//   - UIDNEXT rises by restoreUIDGap: a new message never takes a UID
//     given out after the backup (unless more than that many arrived in
//     one mailbox between the backup and the restore);
//   - HIGHESTMODSEQ rises by restoreModSeqGap and the log is emptied,
//     its floor at the new HIGHESTMODSEQ: every client's MODSEQ is below
//     the floor, so Poll and Changes answer ErrChangesExpired and each
//     session resynchronises fully (flags of every message, VANISHED for
//     the UIDs gone), once;
//   - the \Recent mark moves to the new UIDNEXT-1: restored mail is not
//     recent.
//
// A mailbox whose UIDNEXT cannot rise that far gets a new UIDVALIDITY
// instead (clients then drop their caches of it).
const (
	restoreUIDGap    = 1 << 20
	restoreModSeqGap = 1 << 32
)

// MarkRestored prepares the account index in the Maildir root, restored
// from a backup and not yet opened by maild, for clients that saw later
// state (see restoreUIDGap). mailctl restore calls it for every account
// it restores. It is one index transaction: run twice, it moves the
// mailboxes twice, which is harmless.
func MarkRestored(ctx context.Context, root string) error {
	idxPath := filepath.Join(root, indexFile)
	own, err := ownerOf(root)
	if err != nil {
		return fmt.Errorf("mark restored %q: %w", root, err)
	}
	s := &Store{log: slog.New(slog.DiscardHandler), hostname: "restore", own: own}
	idx, _, err := s.openIndex(idxPath)
	if err != nil {
		return fmt.Errorf("mark restored %q: %w", root, err)
	}
	a := &Account{store: s, dir: root, idxPath: idxPath, stamps: map[string]dirStamp{}}
	if err := a.setIndex(idx); err != nil {
		idx.Close()
		return fmt.Errorf("mark restored %q: %w", root, err)
	}
	defer a.close()
	tx, err := a.idx.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mark restored %q: %w", root, err)
	}
	defer tx.Rollback()
	type box struct {
		name    string
		uidNext uint64
		highest uint64
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, uidnext, highestmodseq FROM mailboxes`)
	if err != nil {
		return fmt.Errorf("mark restored %q: %w", root, err)
	}
	var boxes []box
	for rows.Next() {
		var b box
		if err := rows.Scan(&b.name, &b.uidNext, &b.highest); err != nil {
			rows.Close()
			return fmt.Errorf("mark restored %q: %w", root, err)
		}
		boxes = append(boxes, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("mark restored %q: %w", root, err)
	}
	for _, b := range boxes {
		next := b.uidNext + restoreUIDGap
		if next >= 1<<32 {
			v, err := a.nextUIDValidity()
			if err != nil {
				return fmt.Errorf("mark restored %q: %w", root, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET uidvalidity = ? WHERE name = ?`, v, b.name); err != nil {
				return fmt.Errorf("mark restored %q: %w", root, err)
			}
			next = b.uidNext
		}
		highest := b.highest + restoreModSeqGap
		if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = ?, recentuid = ?, highestmodseq = ?, logfloor = ? WHERE name = ?`,
			next, next-1, highest, highest, b.name); err != nil {
			return fmt.Errorf("mark restored %q: %w", root, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM changelog WHERE mailbox = ?`, b.name); err != nil {
			return fmt.Errorf("mark restored %q: %w", root, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mark restored %q: %w", root, err)
	}
	return nil
}
