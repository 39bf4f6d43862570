package storage

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for LoginOptions.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func guardStore(t *testing.T, users ...string) *Store {
	t.Helper()
	s := newTestStore(t)
	ctx := context.Background()
	s.AddDomain(ctx, "acme.test")
	for _, u := range users {
		if _, err := s.AddUser(ctx, u, "right", 0); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestLoginGuard(t *testing.T) {
	t.Parallel()
	s := guardStore(t, "alice@acme.test")
	ctx := context.Background()
	clock := &testClock{now: time.Unix(1_000_000, 0)}
	var mu sync.Mutex
	var slept []time.Duration
	g := NewLoginGuard(s, LoginOptions{
		MaxFailures: 3, Window: time.Minute, Delay: time.Second,
		Now:   clock.Now,
		Sleep: func(_ context.Context, d time.Duration) { mu.Lock(); slept = append(slept, d); mu.Unlock() },
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
	// Over the limit: even the right password is refused from this
	// address...
	if _, err := g.Login(ctx, ip, "alice@acme.test", "right"); !errors.Is(err, ErrThrottled) {
		t.Errorf("throttled address: %v", err)
	}
	// ...but the account is not locked: its owner logs in from an
	// address that has not failed.
	if _, err := g.Login(ctx, other, "alice@acme.test", "right"); err != nil {
		t.Errorf("owner from a fresh address: %v", err)
	}
	// The window passes.
	clock.add(2 * time.Minute)
	if _, err := g.Login(ctx, ip, "alice@acme.test", "right"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// TestLoginGuardPerAddress: one address guessing across many accounts is
// stopped at MaxFailuresPerAddress, for every account, while other
// addresses are unaffected.
func TestLoginGuardPerAddress(t *testing.T) {
	t.Parallel()
	s := guardStore(t, "bob@acme.test")
	ctx := context.Background()
	g := NewLoginGuard(s, LoginOptions{
		MaxFailures: 3, MaxFailuresPerAddress: 5, Window: time.Minute,
		Sleep: func(context.Context, time.Duration) {},
	})
	ip := netip.MustParseAddr("2001:db8:1:2::7")
	for i := range 5 {
		if _, err := g.Login(ctx, ip, fmt.Sprintf("user%d@acme.test", i), "x"); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Another address in the same /64 is the same client.
	if _, err := g.Login(ctx, netip.MustParseAddr("2001:db8:1:2::8"), "bob@acme.test", "right"); !errors.Is(err, ErrThrottled) {
		t.Errorf("same /64: %v", err)
	}
	if _, err := g.Login(ctx, netip.MustParseAddr("2001:db8:1:3::7"), "bob@acme.test", "right"); err != nil {
		t.Errorf("other /64: %v", err)
	}
}

// TestLoginGuardCountsBeforeHashing: 100 concurrent wrong passwords from
// one address hash at most MaxFailures of them; the rest are refused
// before hashing, as busy while the first are in flight, as throttled
// once they failed. (Counting after the hash let all 100 through at once,
// 19 MiB each.)
func TestLoginGuardCountsBeforeHashing(t *testing.T) {
	t.Parallel()
	s := guardStore(t, "carol@acme.test")
	ctx := context.Background()
	g := NewLoginGuard(s, LoginOptions{
		MaxFailures: 3, Window: time.Minute, HashWait: time.Minute,
		Sleep: func(context.Context, time.Duration) {},
	})
	ip := netip.MustParseAddr("192.0.2.9")
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	for i := range 100 {
		wg.Go(func() {
			// Each a different guess: the same password would share one
			// check (TestLoginSharedCheck).
			_, err := g.Login(ctx, ip, "carol@acme.test", fmt.Sprint("wrong", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrAuthFailed):
				got["failed"]++
			case errors.Is(err, ErrThrottled), errors.Is(err, ErrBusy):
				got["refused"]++
			default:
				got[fmt.Sprint(err)]++
			}
		})
	}
	wg.Wait()
	if got["failed"] != 3 || got["refused"] != 97 {
		t.Errorf("results %v, want 3 failed (hashed) and 97 refused", got)
	}
}

// TestLoginGuardBusy: when every hash slot stays taken, a login gives up
// after HashWait with ErrBusy, is not counted as a failure, and once
// enough callers wait, more are refused at once.
func TestLoginGuardBusy(t *testing.T) {
	t.Parallel()
	s := guardStore(t, "dan@acme.test")
	ctx := context.Background()
	g := NewLoginGuard(s, LoginOptions{MaxPasswordChecks: 1, HashWait: 20 * time.Millisecond})
	if err := g.slots.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.10")
	if _, err := g.Login(ctx, ip, "dan@acme.test", "right"); !errors.Is(err, ErrBusy) {
		t.Fatalf("all slots taken: %v", err)
	}
	if a, p := g.Tracked(); a != 0 || p != 0 {
		t.Errorf("a refused attempt left %d addresses and %d pairs tracked", a, p)
	}
	// With the waiting room full, the next caller is refused at once
	// (this one would otherwise wait an hour).
	slow := newHashSlots(1, time.Hour)
	slow.acquire(ctx)
	slow.waiters.Store(slow.maxWaiters)
	if err := slow.acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Errorf("full waiting room: %v", err)
	}
	// A caller whose context ends stops waiting, also with ErrBusy.
	slow.waiters.Store(0)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := slow.acquire(cctx); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
	g.slots.release()
	if _, err := g.Login(ctx, ip, "dan@acme.test", "right"); err != nil {
		t.Errorf("slot free again: %v", err)
	}
}

// TestLoginGuardPrunes: 200,000 distinct client addresses leave at most
// MaxTracked entries, and entries whose failures left the window are
// swept out.
func TestLoginGuardPrunes(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Unix(1_000_000, 0)}
	tab := newFailureTable(10, time.Minute, 1000)
	for i := range 200_000 {
		now := clock.Now().UnixNano()
		key := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
		tab.begin(key, now)
		tab.end(key, now, true)
		if tab.len() > 1000 {
			t.Fatalf("after %d keys %d are tracked, want <= 1000", i+1, tab.len())
		}
		if i%1000 == 0 {
			clock.add(time.Millisecond)
		}
	}
	clock.add(2 * time.Minute)
	now := clock.Now().UnixNano()
	tab.begin("fresh", now)
	tab.end("fresh", now, true)
	if tab.len() != 1 {
		t.Errorf("after the window %d keys are tracked, want 1", tab.len())
	}
	// Through the guard, with the default cap: failures from distinct
	// addresses are forgotten once the window has passed.
	s := guardStore(t)
	g := NewLoginGuard(s, LoginOptions{Window: time.Minute, Now: clock.Now, Sleep: func(context.Context, time.Duration) {}})
	ctx := context.Background()
	for i := range 20 {
		g.Login(ctx, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), fmt.Sprintf("u%d@acme.test", i), "x")
	}
	if a, p := g.Tracked(); a != 20 || p != 20 {
		t.Errorf("tracked %d addresses, %d pairs; want 20, 20", a, p)
	}
	clock.add(2 * time.Minute)
	g.Login(ctx, netip.MustParseAddr("10.1.0.0"), "x@acme.test", "x")
	if a, p := g.Tracked(); a != 1 || p != 1 {
		t.Errorf("after the window: tracked %d addresses, %d pairs; want 1, 1", a, p)
	}
}

// TestLoginGuardManyDevices: more concurrent right-password logins from
// one address than the failure limit are never reported as throttled
// (none failed): those over the limit in flight are busy, and nothing is
// left counted afterwards.
func TestLoginGuardManyDevices(t *testing.T) {
	t.Parallel()
	s := guardStore(t, "eve@acme.test")
	ctx := context.Background()
	g := NewLoginGuard(s, LoginOptions{MaxFailures: 2, MaxFailuresPerAddress: 3, HashWait: time.Minute})
	ip := netip.MustParseAddr("192.0.2.11")
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	for range 20 {
		wg.Go(func() {
			_, err := g.Login(ctx, ip, "eve@acme.test", "right")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				got["ok"]++
			case errors.Is(err, ErrBusy):
				got["busy"]++
			default:
				got[err.Error()]++
			}
		})
	}
	wg.Wait()
	if got["ok"] < 2 || got["ok"]+got["busy"] != 20 {
		t.Errorf("results %v, want only ok (at least 2) and busy", got)
	}
	if a, p := g.Tracked(); a != 0 || p != 0 {
		t.Errorf("successful logins left %d addresses and %d pairs tracked", a, p)
	}
}
