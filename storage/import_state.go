package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Import state (migration 3) lets `mailctl import` resume: per user,
// source and source folder it keeps the source's UIDVALIDITY and the
// highest UID copied, and per user and source the fingerprints
// (Message-ID, date, size, or a Maildir key) of every message copied, the
// fallback when UIDVALIDITY changed or the source has no UIDs.
const importStateSchema = `
CREATE TABLE import_folders (
	user        TEXT NOT NULL,         -- Address.String()
	source      TEXT NOT NULL,         -- e.g. "imaps://old@host:993"
	folder      TEXT NOT NULL,         -- the source's folder name
	uidvalidity INTEGER NOT NULL,
	last_uid    INTEGER NOT NULL,      -- highest source UID (or offset) copied
	updated     INTEGER NOT NULL,      -- unix seconds
	PRIMARY KEY (user, source, folder)
);
CREATE TABLE import_messages (
	user        TEXT NOT NULL,
	source      TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	PRIMARY KEY (user, source, fingerprint)
) WITHOUT ROWID;
`

// ImportFolder is the resume point of one source folder.
type ImportFolder struct {
	UIDValidity uint32
	LastUID     uint64 // highest UID copied; for mbox files, the byte offset
}

// ImportFolderState returns the resume point recorded for folder of
// source for user; ok is false if none was recorded.
func (s *Store) ImportFolderState(ctx context.Context, user Address, source, folder string) (st ImportFolder, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT uidvalidity, last_uid FROM import_folders WHERE user = ? AND source = ? AND folder = ?`,
		user.String(), source, folder).Scan(&st.UIDValidity, &st.LastUID)
	if errors.Is(err, sql.ErrNoRows) {
		return ImportFolder{}, false, nil
	}
	if err != nil {
		return ImportFolder{}, false, fmt.Errorf("import state of %q: %w", folder, err)
	}
	return st, true, nil
}

// ImportSeen reports whether a message with fingerprint was already
// copied from source for user.
func (s *Store) ImportSeen(ctx context.Context, user Address, source, fingerprint string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_messages WHERE user = ? AND source = ? AND fingerprint = ?`,
		user.String(), source, fingerprint).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("import state: %w", err)
	}
	return n > 0, nil
}

// RecordImport records, in one transaction, that a message was copied:
// its fingerprint (if not empty) and the folder's new resume point (if
// folder is not empty). Called after Deliver returned, so a crash in
// between can at worst copy that one message again.
func (s *Store) RecordImport(ctx context.Context, user Address, source, folder string, st ImportFolder, fingerprint string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record import: %w", err)
	}
	defer tx.Rollback()
	if fingerprint != "" {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO import_messages (user, source, fingerprint) VALUES (?, ?, ?)`,
			user.String(), source, fingerprint); err != nil {
			return fmt.Errorf("record import: %w", err)
		}
	}
	if folder != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_folders (user, source, folder, uidvalidity, last_uid, updated)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user, source, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,
				last_uid = excluded.last_uid, updated = excluded.updated`,
			user.String(), source, folder, st.UIDValidity, st.LastUID, time.Now().Unix()); err != nil {
			return fmt.Errorf("record import: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record import: %w", err)
	}
	return nil
}

// ForgetImport removes all import state of source for user, so the next
// import copies everything again.
func (s *Store) ForgetImport(ctx context.Context, user Address, source string) error {
	for _, q := range []string{`DELETE FROM import_folders WHERE user = ? AND source = ?`, `DELETE FROM import_messages WHERE user = ? AND source = ?`} {
		if _, err := s.db.ExecContext(ctx, q, user.String(), source); err != nil {
			return fmt.Errorf("forget import: %w", err)
		}
	}
	return nil
}
