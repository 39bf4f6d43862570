package storage

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func TestLoginGuard(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	s.AddDomain(ctx, "acme.test")
	if _, err := s.AddUser(ctx, "alice@acme.test", "right", 0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	var slept []time.Duration
	g := NewLoginGuard(s, LoginOptions{
		MaxFailures: 3, Window: time.Minute, Delay: time.Second,
		Now:   func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Sleep: func(_ context.Context, d time.Duration) { slept = append(slept, d) },
	})
	ip := netip.MustParseAddr("192.0.2.7")
	other := netip.MustParseAddr("192.0.2.8")

	if _, err := g.Login(ctx, ip, "alice@acme.test", "right"); err != nil {
		t.Fatalf("good login: %v", err)
	}
	for range 3 {
		if _, err := g.Login(ctx, ip, "ALICE@acme.test", "wrong"); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("bad login: %v", err)
		}
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; len(slept) != 3 || slept[0] != want[0] || slept[2] != want[2] {
		t.Errorf("delays = %v, want %v", slept, want)
	}
	// Over the limit: even the right password is refused, from this
	// address and, for this account, from any address.
	if _, err := g.Login(ctx, ip, "alice@acme.test", "right"); !errors.Is(err, ErrThrottled) {
		t.Errorf("throttled address: %v", err)
	}
	if _, err := g.Login(ctx, other, "alice@acme.test", "right"); !errors.Is(err, ErrThrottled) {
		t.Errorf("throttled account from another address: %v", err)
	}
	// The window passes.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if _, err := g.Login(ctx, other, "alice@acme.test", "right"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
