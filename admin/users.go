package admin

import (
	"context"
	"time"

	"yubin/storage"
)

// UserInfo is a user as `mailctl user list` shows it.
type UserInfo struct {
	Address    string    `json:"address"`
	Enabled    bool      `json:"enabled"`
	QuotaBytes int64     `json:"quota_bytes"`
	UsedBytes  int64     `json:"used_bytes"`
	Created    time.Time `json:"created"`
}

// ListUsers returns the users of domain ("" = all) with their mailbox usage.
func ListUsers(ctx context.Context, st *storage.Store, domain string) ([]UserInfo, error) {
	users, err := st.Users(ctx, domain)
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, 0, len(users))
	for _, u := range users {
		info := UserInfo{Address: u.Address.String(), Enabled: u.Enabled, QuotaBytes: u.QuotaBytes, Created: u.Created}
		acct, err := st.Account(ctx, u.Address)
		if err != nil {
			return nil, err
		}
		if info.UsedBytes, err = acct.Usage(ctx); err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}
