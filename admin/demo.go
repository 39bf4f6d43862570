package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"yubin/storage"
)

// Demo names the domain and user that `maild --dev` creates.
const (
	DemoDomain = "example.test"
	DemoUser   = "demo@example.test"
)

// EnsureDemo creates the dev demo domain, its demo user and a postmaster
// alias when they are missing. It returns the new user's password, or ""
// when the user already existed (the password is shown only once).
func EnsureDemo(ctx context.Context, st *storage.Store) (string, error) {
	if _, err := st.AddDomain(ctx, DemoDomain); err != nil && !errors.Is(err, storage.ErrExists) {
		return "", fmt.Errorf("demo domain: %w", err)
	}
	if _, err := st.User(ctx, DemoUser); err == nil {
		return "", nil
	} else if !errors.Is(err, storage.ErrNoSuchUser) {
		return "", err
	}
	pw := GeneratePassword()
	if _, err := st.AddUser(ctx, DemoUser, pw, 0); err != nil {
		return "", fmt.Errorf("demo user: %w", err)
	}
	if err := st.AddAlias(ctx, "postmaster@"+DemoDomain, []string{DemoUser}); err != nil && !errors.Is(err, storage.ErrExists) {
		return "", fmt.Errorf("postmaster alias: %w", err)
	}
	return pw, nil
}

// GeneratePassword returns a random password: 26 base32 characters,
// about 130 bits.
func GeneratePassword() string { return rand.Text() }
