package storage

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// ErrThrottled is returned by LoginGuard.Login while a client address, or
// a client address for one account, has had too many failed logins.
var ErrThrottled = errors.New("too many failed logins; try again later")

// LoginOptions configure a LoginGuard. Zero values take the defaults.
type LoginOptions struct {
	// MaxFailures per client address and account within Window (default
	// 10). Beyond it that address may not try that account again until
	// the oldest failure leaves the window. The account itself is never
	// locked: its owner still logs in from an address that has not
	// failed.
	MaxFailures int
	// MaxFailuresPerAddress per client address, all accounts together,
	// within Window (default 50). Beyond it the address may not log in
	// at all until the oldest failure leaves the window.
	MaxFailuresPerAddress int
	// Window over which failures count (default 15m).
	Window time.Duration
	// Delay before a failed login is answered; it doubles with each
	// further failure of the same address and account, up to 8 times
	// Delay (default 1s). It slows password guessing without a lock-out.
	Delay time.Duration
	// MaxPasswordChecks is how many password hashes run at once (default
	// DefaultPasswordChecks). Each argon2id check holds 19 MiB.
	MaxPasswordChecks int
	// HashWait is how long a login waits for a free hash slot before it
	// fails with ErrBusy (default 2s).
	HashWait time.Duration
	// MaxTracked is how many client addresses, and how many (address,
	// account) pairs, the throttle remembers at most (default 100000).
	MaxTracked int
	// CacheTTL is how long a successful login is remembered, so that the
	// same account logging in again with the same password needs no hash
	// (default 10m; negative: no cache). See loginCache.
	CacheTTL time.Duration
	// Now and Sleep replace the clock in tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration)
}

// LoginGuard checks passwords through a brute-force throttle and bounded
// hashing. IMAP, POP3, submission and HTTP share one guard, so failures
// on one protocol count for all. It keeps its counters in memory: a
// restart forgets them.
//
// Every attempt is counted before its password is hashed, so concurrent
// attempts cannot overtake the limits; it is uncounted again if it
// succeeds or was never checked. Client addresses are grouped by
// ClientKey (IPv6 by /64).
type LoginGuard struct {
	store *Store
	opts  LoginOptions
	slots *hashSlots
	cache *loginCache

	mu      sync.Mutex
	flights map[string]*loginFlight // key: account + MAC of hash and password
	byAddr  *failureTable           // key: ClientKey
	byPair  *failureTable           // key: ClientKey + "\x00" + account
}

// NewLoginGuard returns a guard over the store's users.
func NewLoginGuard(s *Store, opts LoginOptions) *LoginGuard {
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 10
	}
	if opts.MaxFailuresPerAddress <= 0 {
		opts.MaxFailuresPerAddress = 50
	}
	if opts.Window <= 0 {
		opts.Window = 15 * time.Minute
	}
	if opts.Delay <= 0 {
		opts.Delay = time.Second
	}
	if opts.MaxPasswordChecks <= 0 {
		opts.MaxPasswordChecks = DefaultPasswordChecks()
	}
	if opts.HashWait <= 0 {
		opts.HashWait = 2 * time.Second
	}
	if opts.MaxTracked <= 0 {
		opts.MaxTracked = 100_000
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 10 * time.Minute
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
	return &LoginGuard{
		store:   s,
		opts:    opts,
		slots:   newHashSlots(opts.MaxPasswordChecks, opts.HashWait),
		cache:   newLoginCache(opts.CacheTTL, opts.MaxTracked),
		flights: make(map[string]*loginFlight),
		byAddr:  newFailureTable(opts.MaxFailuresPerAddress, opts.Window, opts.MaxTracked),
		byPair:  newFailureTable(opts.MaxFailures, opts.Window, opts.MaxTracked),
	}
}

// Login authenticates user with password for a client at remote. It
// returns ErrThrottled while remote is over its failure limit, overall or
// for this account (without checking the password, so guessing gains
// nothing), ErrBusy when no hash slot freed up in time or when the
// attempts already in flight from remote reach a limit, ErrAuthFailed for
// bad credentials (after the failure delay), or the user.
func (g *LoginGuard) Login(ctx context.Context, remote netip.Addr, user, password string) (User, error) {
	addrKey := ClientKey(remote)
	// Names that are not addresses share one key: no account has them,
	// and an attacker's junk names cost no memory each.
	account := ""
	if a, err := ParseAddress(user); err == nil {
		account = a.String()
	}
	pairKey := addrKey + "\x00" + account
	if err := g.throttled(addrKey, pairKey); err != nil {
		return User{}, err
	}
	cred, err := g.store.credentials(ctx, user)
	if err != nil {
		return User{}, err
	}
	if cred.usable() && password != "" && g.cache.hit(account, cred.hash, password, g.now()) {
		return g.finish(ctx, addrKey, pairKey, false, cred.user, nil)
	}
	// Logins of one account with the same password that arrive while its
	// check runs (a client's several connections, every client of an
	// office after a restart) wait for that check's result instead of
	// each taking a slot and hashing again. Only the attempt that hashes
	// is counted in flight (begin), so such a burst is not refused for
	// the attempts in flight.
	f, lead := g.join(g.flightKey(account, cred, password))
	if !lead {
		u, err := f.wait(ctx)
		return g.finish(ctx, addrKey, pairKey, false, u, err)
	}
	if err := g.begin(addrKey, pairKey); err != nil {
		g.land(f, User{}, ErrBusy)
		return User{}, err
	}
	u, err := g.hash(ctx, cred, password)
	if err == nil {
		g.cache.add(account, cred.hash, password, g.now())
	}
	g.land(f, u, err)
	return g.finish(ctx, addrKey, pairKey, true, u, err)
}

// loginFlight is one password check that concurrent logins with the same
// account and password share.
type loginFlight struct {
	key     string
	done    chan struct{} // closed when user and err are set
	user    User
	err     error
	waiters int // logins waiting for it (tests watch this)
}

// flightKey names the check of password for an existing, enabled
// account; "" (not shared) otherwise.
func (g *LoginGuard) flightKey(account string, cred credentials, password string) string {
	if !cred.usable() || password == "" {
		return ""
	}
	mac := g.cache.mac(cred.hash, password)
	return account + "\x00" + string(mac[:])
}

// join returns the check running under key and false, or a new one that
// the caller leads (and must land) and true. An empty key is never shared.
func (g *LoginGuard) join(key string) (*loginFlight, bool) {
	f := &loginFlight{key: key, done: make(chan struct{})}
	if key == "" {
		return f, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if running := g.flights[key]; running != nil {
		running.waiters++
		return running, false
	}
	g.flights[key] = f
	return f, true
}

// land publishes the led check's result to those waiting for it.
func (g *LoginGuard) land(f *loginFlight, u User, err error) {
	if f.key != "" {
		g.mu.Lock()
		delete(g.flights, f.key)
		g.mu.Unlock()
	}
	f.user, f.err = u, err
	close(f.done)
}

// wait returns the shared check's result, or ErrBusy if ctx ends first.
func (f *loginFlight) wait(ctx context.Context) (User, error) {
	select {
	case <-f.done:
		return f.user, f.err
	case <-ctx.Done():
		return User{}, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

// hash runs one password check in a hash slot.
func (g *LoginGuard) hash(ctx context.Context, cred credentials, password string) (User, error) {
	if err := g.slots.acquire(ctx); err != nil {
		return User{}, err
	}
	u, err := g.store.verify(cred, password)
	// An argon2id check leaves 19 MiB of garbage. Collecting it before
	// the slot is free keeps a login flood from growing the heap to
	// twice its live size (GOGC): peak RSS under 500 concurrent logins
	// went from 124-165 MiB to about 90 MiB. A collection costs about a
	// millisecond, little next to the hash itself.
	runtime.GC()
	g.slots.release()
	return u, err
}

// finish ends an attempt with the check's outcome: a failure is counted
// and answered after the failure delay. An attempt not counted by begin
// (a cache hit, one that shared another's check) is counted here first.
func (g *LoginGuard) finish(ctx context.Context, addrKey, pairKey string, counted bool, u User, err error) (User, error) {
	if !counted {
		g.mu.Lock()
		now := g.now()
		g.byAddr.begin(addrKey, now)
		g.byPair.begin(pairKey, now)
		g.mu.Unlock()
	}
	if err == nil {
		g.succeeded(addrKey, pairKey)
		return u, nil
	}
	failed := errors.Is(err, ErrAuthFailed)
	n := g.end(addrKey, pairKey, failed)
	if !failed {
		return User{}, err
	}
	delay := g.opts.Delay
	for i := 1; i < n && delay < 8*g.opts.Delay; i++ {
		delay *= 2
	}
	g.opts.Sleep(ctx, min(delay, 8*g.opts.Delay))
	return User{}, err
}

func (g *LoginGuard) now() int64 { return g.opts.Now().UnixNano() }

// succeeded ends an attempt that logged in. A user who mistyped is not
// slowed down for the rest of the window; the address's count stays, so a
// guesser cannot reset it with a login of its own.
func (g *LoginGuard) succeeded(addrKey, pairKey string) {
	g.end(addrKey, pairKey, false)
	g.mu.Lock()
	g.byPair.forget(pairKey, g.now())
	g.mu.Unlock()
}

// throttled returns ErrThrottled while the address, or the address for
// this account, has reached its limit of recorded failures.
func (g *LoginGuard) throttled(addrKey, pairKey string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	at, _ := g.byAddr.blocked(addrKey, now)
	pt, _ := g.byPair.blocked(pairKey, now)
	if at || pt {
		return ErrThrottled
	}
	return nil
}

// begin counts an attempt unless the address or the pair is at its
// limit: ErrThrottled when its recorded failures reach it, ErrBusy when
// only the attempts in flight would (they may yet succeed: many devices
// behind one address logging in at once are not told they failed).
func (g *LoginGuard) begin(addrKey, pairKey string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	at, ab := g.byAddr.blocked(addrKey, now)
	pt, pb := g.byPair.blocked(pairKey, now)
	switch {
	case at || pt:
		return ErrThrottled
	case ab || pb:
		return ErrBusy
	}
	g.byAddr.begin(addrKey, now)
	g.byPair.begin(pairKey, now)
	return nil
}

// end decides an attempt counted by begin and returns the pair's number
// of recent failures.
func (g *LoginGuard) end(addrKey, pairKey string, failed bool) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.byAddr.end(addrKey, now, failed)
	return g.byPair.end(pairKey, now, failed)
}

// Tracked returns how many client addresses and (address, account) pairs
// the throttle currently remembers.
func (g *LoginGuard) Tracked() (addresses, pairs int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.byAddr.len(), g.byPair.len()
}
