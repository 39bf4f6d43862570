package storage

import (
	"context"
	"fmt"
)

// Deleted counts the messages of mailbox flagged \Deleted and their
// total size (STATUS DELETED and DELETED-STORAGE, RFC 9051 §6.3.11, RFC
// 9208 §4.3): one index query, no message list.
func (a *Account) Deleted(ctx context.Context, mailbox string) (n int, size int64, err error) {
	canon, _, err := a.ensureIndexed(ctx, mailbox)
	if err != nil {
		return 0, 0, fmt.Errorf("deleted count: %w", err)
	}
	a.idxMu.RLock()
	defer a.idxMu.RUnlock()
	err = a.idx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0) FROM messages
		WHERE mailbox = ? AND instr(' ' || flags || ' ', ' \Deleted ') > 0`, canon).Scan(&n, &size)
	if err != nil {
		return 0, 0, fmt.Errorf("deleted count of %q: %w", canon, err)
	}
	return n, size, nil
}
