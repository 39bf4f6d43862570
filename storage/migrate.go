package storage

import (
	"context"
	"fmt"
	"time"
)

// migrations are applied in order; migrations[i] brings the schema to
// version i+1. Never edit a released migration: append a new one.
var migrations = []string{
	// 1: directory.
	`
CREATE TABLE domains (
	name    TEXT PRIMARY KEY,          -- NormalizeDomain form
	created INTEGER NOT NULL           -- unix seconds
);
CREATE TABLE users (
	local       TEXT NOT NULL,         -- ValidAccountLocal, lower-case
	domain      TEXT NOT NULL REFERENCES domains(name),
	password    TEXT NOT NULL,         -- argon2id PHC string or bcrypt hash
	quota_bytes INTEGER NOT NULL DEFAULT 0,
	enabled     INTEGER NOT NULL DEFAULT 1,
	created     INTEGER NOT NULL,
	PRIMARY KEY (local, domain)
);
CREATE TABLE aliases (
	source   TEXT NOT NULL,            -- "local@domain" or "@domain"
	domain   TEXT NOT NULL REFERENCES domains(name),
	target   TEXT NOT NULL,            -- normalised full address
	position INTEGER NOT NULL,         -- keeps targets in insertion order
	PRIMARY KEY (source, target)
);
CREATE INDEX aliases_domain ON aliases(domain);
`,
	// 2: DKIM signing keys, one per domain, removed with the domain.
	`
CREATE TABLE dkim_keys (
	domain      TEXT PRIMARY KEY REFERENCES domains(name) ON DELETE CASCADE,
	selector    TEXT NOT NULL,         -- DNS label(s): <selector>._domainkey.<domain>
	algorithm   TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
	private_key TEXT NOT NULL,         -- PKCS#8 PEM
	created     INTEGER NOT NULL       -- unix seconds
);
`,
	// 3: resume points of mailctl import (see import_state.go).
	importStateSchema,
	// 4: Sieve scripts, vacation replies (see rules.go).
	rulesSchema,
}

// migrate creates schema_version and applies the missing migrations, each
// in its own transaction. Concurrent openers serialise on the immediate
// write lock and re-check the version inside the transaction.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program (%d)", v, len(migrations))
	}
	for i, m := range migrations {
		version := i + 1
		if err := s.applyMigration(ctx, version, m); err != nil {
			return fmt.Errorf("migration %d: %w", version, err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, version int, stmt string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return err
	}
	if current >= version {
		return nil
	}
	if current != version-1 {
		return fmt.Errorf("schema at version %d, cannot apply %d", current, version)
	}
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`,
		version, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion returns the highest migration applied to yubin.db.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}
