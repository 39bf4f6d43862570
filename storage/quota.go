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
