package storage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// loginCache remembers recent successful logins, as Dovecot's auth cache
// does: a client that logs in again (a desktop client's several
// connections, a phone polling every few minutes) does not cost another
// argon2id hash (19 MiB and ~20 ms of CPU), and owners are not refused as
// busy while the hash slots are taken, for instance by a flood of wrong
// passwords. Only successes are cached; every other password is still
// hashed, so guessing gains nothing. An entry holds an HMAC of the stored
// hash and the password under a key made at start, never the password, and
// matches only while the stored hash is unchanged: a password change ends
// it. Whether the account is enabled is read on every login.
type loginCache struct {
	key [32]byte
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]loginCacheEntry // key: normalised account address
}

type loginCacheEntry struct {
	mac     [sha256.Size]byte
	expires int64 // UnixNano
}

// newLoginCache returns a cache of at most max accounts whose entries last
// ttl; ttl <= 0 disables it.
func newLoginCache(ttl time.Duration, max int) *loginCache {
	c := &loginCache{ttl: ttl, max: max, m: make(map[string]loginCacheEntry)}
	rand.Read(c.key[:]) // crypto/rand.Read never fails (Go 1.24+)
	return c
}

func (c *loginCache) mac(hash, password string) [sha256.Size]byte {
	h := hmac.New(sha256.New, c.key[:])
	h.Write([]byte(hash))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// hit reports whether account logged in with password against the same
// stored hash within the ttl.
func (c *loginCache) hit(account, hash, password string, now int64) bool {
	if c.ttl <= 0 || account == "" {
		return false
	}
	c.mu.Lock()
	e, ok := c.m[account]
	c.mu.Unlock()
	if !ok || now >= e.expires {
		return false
	}
	want := c.mac(hash, password)
	return hmac.Equal(e.mac[:], want[:])
}

// add records a successful login.
func (c *loginCache) add(account, hash, password string, now int64) {
	if c.ttl <= 0 || account == "" {
		return
	}
	e := loginCacheEntry{mac: c.mac(hash, password), expires: now + int64(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[account]; !ok && len(c.m) >= c.max {
		for k, old := range c.m {
			if now >= old.expires {
				delete(c.m, k)
			}
		}
		for k := range c.m { // still full: drop any one
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[account] = e
}

func (c *loginCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
