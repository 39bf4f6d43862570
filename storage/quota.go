package storage

import (
	"context"
	"fmt"
)

// OverQuota reports whether user already uses at least its quota, so that
// no message at all fits (SMTP refuses it at RCPT time, RFC 3463 4.2.2).
// A user without a quota is never over it.
func (s *Store) OverQuota(ctx context.Context, user Address) (bool, error) {
	u, err := s.user(ctx, user)
	if err != nil {
		return false, err
	}
	if u.QuotaBytes <= 0 {
		return false, nil
	}
	acct, err := s.Account(ctx, user)
	if err != nil {
		return false, err
	}
	used, err := acct.Usage(ctx)
	if err != nil {
		return false, fmt.Errorf("quota of %q: %w", user, err)
	}
	return used >= u.QuotaBytes, nil
}

// usageSchema keeps the account's totals (bytes and messages over every
// mailbox) in one row that triggers update in the transaction of each
// insert, delete or size correction of a message, whichever process or
// path makes it (Deliver, Expunge, a rescan, a recount, DeleteMailbox).
// Reading them is one row, so QUOTA (GETQUOTAROOT on every SELECT) and
// Deliver's quota check do not sum the messages table. Part of
// indexSchema; added to older indexes by migrateIndex, which fills the
// row from the messages there (INSERT OR IGNORE keeps it idempotent).
const usageSchema = `
CREATE TABLE IF NOT EXISTS usage (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	bytes    INTEGER NOT NULL,
	messages INTEGER NOT NULL
);
INSERT OR IGNORE INTO usage (id, bytes, messages) SELECT 1, COALESCE(SUM(size), 0), COUNT(*) FROM messages;
CREATE TRIGGER IF NOT EXISTS usage_insert AFTER INSERT ON messages BEGIN
	UPDATE usage SET bytes = bytes + NEW.size, messages = messages + 1 WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS usage_delete AFTER DELETE ON messages BEGIN
	UPDATE usage SET bytes = bytes - OLD.size, messages = messages - 1 WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS usage_size AFTER UPDATE OF size ON messages BEGIN
	UPDATE usage SET bytes = bytes - OLD.size + NEW.size WHERE id = 1;
END;
`

// Quota is an account's storage use and limits, as QUOTA reports them
// (RFC 9208 §5: the STORAGE resource in units of 1024 octets, MESSAGE
// in messages; the caller rounds Bytes up to KiB).
type Quota struct {
	// Bytes is the size of every message in every mailbox (the sizes
	// clients see, RFC822.SIZE), Messages their number.
	Bytes    int64
	Messages int64
	// LimitBytes is the user's quota (User.QuotaBytes); 0 means none,
	// and the STORAGE resource is not reported.
	LimitBytes int64
	// LimitMessages is the most messages allowed; 0 means none. Yubin
	// has no message-count quota today, so it is always 0 and the
	// MESSAGE resource is not reported.
	LimitMessages int64
}

// Quota returns the account's usage and limits: one directory lookup
// (the limit is never cached, so `mailctl user quota` is seen at once)
// and one index row (usageSchema). One quota root covers every mailbox
// of the account (RFC 9208 §3.2: GETQUOTAROOT of any mailbox names the
// same root, "" by convention).
func (a *Account) Quota(ctx context.Context) (Quota, error) {
	u, err := a.store.user(ctx, a.addr)
	if err != nil {
		return Quota{}, fmt.Errorf("quota of %q: %w", a.addr, err)
	}
	q := Quota{LimitBytes: max(u.QuotaBytes, 0)}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	if err := a.st.usage.QueryRowContext(ctx).Scan(&q.Bytes, &q.Messages); err != nil {
		return Quota{}, fmt.Errorf("quota of %q: %w", a.addr, err)
	}
	return q, nil
}
