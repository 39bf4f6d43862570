package storage

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// TestLoginCache: once an account has logged in, the same password logs
// in again without a hash slot (all slots are held here), while a wrong
// password, a changed password, a disabled account and an expired entry
// still need the hash (and so get ErrBusy while the slots are held).
func TestLoginCache(t *testing.T) {
	t.Parallel()
	s := guardStore(t, "eve@acme.test", "fay@acme.test")
	ctx := context.Background()
	clock := &testClock{now: time.Unix(1_000_000, 0)}
	g := NewLoginGuard(s, LoginOptions{MaxPasswordChecks: 1, HashWait: time.Millisecond, CacheTTL: time.Minute, Now: clock.Now,
		Sleep: func(context.Context, time.Duration) {}})
	ip := netip.MustParseAddr("192.0.2.20")
	if _, err := g.Login(ctx, ip, "eve@acme.test", "right"); err != nil {
		t.Fatal(err)
	}
	if err := g.slots.acquire(ctx); err != nil { // every slot taken from here on
		t.Fatal(err)
	}
	defer g.slots.release()
	for _, name := range []string{"eve@acme.test", "EVE@Acme.Test"} {
		if u, err := g.Login(ctx, netip.MustParseAddr("198.51.100.1"), name, "right"); err != nil || u.Address.String() != "eve@acme.test" {
			t.Fatalf("cached login as %s = %v, %v; want eve without a hash", name, u, err)
		}
	}
	busy := func(what, user, password string) {
		t.Helper()
		if _, err := g.Login(ctx, ip, user, password); !errors.Is(err, ErrBusy) {
			t.Errorf("%s: %v, want ErrBusy (a hash was needed)", what, err)
		}
	}
	busy("wrong password", "eve@acme.test", "wrong")
	busy("never logged in", "fay@acme.test", "right")
	busy("empty password", "eve@acme.test", "")

	if err := s.SetPassword(ctx, "eve@acme.test", "new-pw"); err != nil {
		t.Fatal(err)
	}
	busy("old password after a change", "eve@acme.test", "right")
	g.slots.release()
	if _, err := g.Login(ctx, ip, "eve@acme.test", "new-pw"); err != nil {
		t.Fatal(err)
	}
	g.slots.acquire(ctx)
	if _, err := g.Login(ctx, ip, "eve@acme.test", "new-pw"); err != nil {
		t.Errorf("new password cached: %v", err)
	}
	if err := s.SetEnabled(ctx, "eve@acme.test", false); err != nil {
		t.Fatal(err)
	}
	busy("disabled account", "eve@acme.test", "new-pw")
	if err := s.SetEnabled(ctx, "eve@acme.test", true); err != nil {
		t.Fatal(err)
	}
	clock.add(2 * time.Minute)
	busy("expired entry", "eve@acme.test", "new-pw")
}

// TestLoginCacheBounded: the cache holds at most its maximum number of
// accounts, expired entries going first; a zero or negative ttl disables it.
func TestLoginCacheBounded(t *testing.T) {
	t.Parallel()
	c := newLoginCache(time.Minute, 3)
	now := int64(0)
	for i, a := range []string{"a@x", "b@x", "c@x"} {
		c.add(a, "h", "p", now+int64(i))
	}
	later := now + int64(time.Minute) + 10 // a, b, c expired by then
	c.add("d@x", "h", "p", later)
	if n := c.len(); n != 1 || !c.hit("d@x", "h", "p", later+1) {
		t.Errorf("after expiry: %d entries, d cached %v", n, c.hit("d@x", "h", "p", later+1))
	}
	for i := range 10 {
		c.add(string(rune('e'+i))+"@x", "h", "p", now)
	}
	if n := c.len(); n > 3 {
		t.Errorf("%d entries, want at most 3", n)
	}
	off := newLoginCache(-1, 3)
	off.add("a@x", "h", "p", 0)
	if off.hit("a@x", "h", "p", 1) || off.len() != 0 {
		t.Error("a disabled cache remembered a login")
	}
}

// TestLoginSharedCheck: concurrent logins of one account with the same
// password share one password check: with the only hash slot held, the
// first waits for the slot and the nine others wait for its result (not
// for slots of their own), and all ten log in once the slot is free. A
// different password is not shared.
func TestLoginSharedCheck(t *testing.T) {
	t.Parallel()
	s := guardStore(t, "gus@acme.test")
	ctx := context.Background()
	g := NewLoginGuard(s, LoginOptions{MaxPasswordChecks: 1, HashWait: time.Minute, CacheTTL: -1,
		Sleep: func(context.Context, time.Duration) {}})
	if err := g.slots.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 11)
	for i := range 10 {
		go func() {
			_, err := g.Login(ctx, netip.AddrFrom4([4]byte{192, 0, 2, byte(30 + i)}), "gus@acme.test", "right")
			errs <- err
		}()
	}
	go func() {
		_, err := g.Login(ctx, netip.MustParseAddr("192.0.2.99"), "gus@acme.test", "wrong")
		errs <- err
	}()
	// Wait until nine logins wait on the shared check and two (the first
	// "right" and the "wrong" one) on the slot.
	for deadline := time.Now().Add(10 * time.Second); ; {
		g.mu.Lock()
		shared := 0
		for _, f := range g.flights {
			shared += f.waiters
		}
		g.mu.Unlock()
		if shared == 9 && g.slots.waiters.Load() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d logins share a check and %d wait for a slot, want 9 and 2", shared, g.slots.waiters.Load())
		}
		runtime.Gosched()
	}
	g.slots.release()
	var ok, failed int
	for range 11 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrAuthFailed):
			failed++
		default:
			t.Errorf("login: %v", err)
		}
	}
	if ok != 10 || failed != 1 {
		t.Errorf("%d logged in and %d failed, want 10 and 1", ok, failed)
	}
	if len(g.flights) != 0 {
		t.Errorf("%d checks left behind", len(g.flights))
	}
}
