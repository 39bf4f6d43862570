package storage

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// ErrThrottled is returned by LoginGuard.Login while a client address or an
// account has had too many failed logins.
var ErrThrottled = errors.New("too many failed logins; try again later")

// LoginOptions configure a LoginGuard. Zero values take the defaults.
type LoginOptions struct {
	// MaxFailures per client address, and per account, within Window
	// (default 10). Beyond it, logins are refused with ErrThrottled until
	// the oldest failure leaves the window.
	MaxFailures int
	// Window over which failures count (default 15m).
	Window time.Duration
	// Delay before a failed login is answered; it doubles with each
	// further failure up to 8 times Delay (default 1s). It slows password
	// guessing without a lock-out.
	Delay time.Duration
	// Now and Sleep replace the clock in tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration)
}

// LoginGuard checks passwords through a brute-force throttle. IMAP, POP3
// and submission share one guard, so failures on one protocol count for all.
// It keeps its counters in memory: a restart forgets them.
type LoginGuard struct {
	store *Store
	opts  LoginOptions

	mu     sync.Mutex
	byIP   map[string][]time.Time // by ClientKey
	byUser map[string][]time.Time
}

// NewLoginGuard returns a guard over the store's users.
func NewLoginGuard(s *Store, opts LoginOptions) *LoginGuard {
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 10
	}
	if opts.Window <= 0 {
		opts.Window = 15 * time.Minute
	}
	if opts.Delay <= 0 {
		opts.Delay = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	return &LoginGuard{store: s, opts: opts, byIP: map[string][]time.Time{}, byUser: map[string][]time.Time{}}
}

// Login authenticates user with password for a client at remote. It returns
// ErrThrottled while remote or user is over the failure limit (without
// checking the password, so guessing gains nothing), ErrAuthFailed for bad
// credentials (after the failure delay), or the user.
func (g *LoginGuard) Login(ctx context.Context, remote netip.Addr, user, password string) (User, error) {
	key := user
	if a, err := ParseAddress(user); err == nil {
		key = a.String()
	}
	remote = remote.Unmap()
	if g.blocked(remote, key) {
		return User{}, ErrThrottled
	}
	u, err := g.store.Authenticate(ctx, user, password)
	if err == nil {
		g.succeeded(remote)
		return u, nil
	}
	if !errors.Is(err, ErrAuthFailed) {
		return User{}, err
	}
	n := g.failed(remote, key)
	delay := g.opts.Delay
	for i := 1; i < n && delay < 8*g.opts.Delay; i++ {
		delay *= 2
	}
	g.opts.Sleep(ctx, min(delay, 8*g.opts.Delay))
	return User{}, err
}

// blocked reports whether either counter is at the limit, pruning old
// failures on the way.
func (g *LoginGuard) blocked(ip netip.Addr, user string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	cutoff := g.opts.Now().Add(-g.opts.Window)
	return len(prune(g.byIP, ClientKey(ip), cutoff)) >= g.opts.MaxFailures ||
		len(prune(g.byUser, user, cutoff)) >= g.opts.MaxFailures
}

// failed records a failure and returns the address's failure count.
func (g *LoginGuard) failed(ip netip.Addr, user string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.opts.Now()
	k := ClientKey(ip)
	g.byIP[k] = append(g.byIP[k], now)
	g.byUser[user] = append(g.byUser[user], now)
	return max(len(g.byIP[k]), len(g.byUser[user]))
}

// succeeded forgets the address's failures: a user who mistyped once is
// not slowed down for the rest of the window. The account's failures
// stay, so a guesser cannot reset them with a login of its own.
func (g *LoginGuard) succeeded(ip netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.byIP, ClientKey(ip))
}

// prune drops failures older than cutoff from m[k] and returns the rest.
func prune[K comparable](m map[K][]time.Time, k K, cutoff time.Time) []time.Time {
	ts := m[k]
	i := 0
	for i < len(ts) && ts[i].Before(cutoff) {
		i++
	}
	if i == len(ts) {
		delete(m, k)
		return nil
	}
	m[k] = ts[i:]
	return ts[i:]
}
