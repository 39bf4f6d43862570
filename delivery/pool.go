package delivery

import (
	"context"
	"sync"
	"time"
)

// pool keeps idle outbound connections per destination host for reuse,
// and the per-domain limits: concurrent transactions and a message rate.
//
// Connections are keyed by host (its name and port, or the smarthost), so
// two domains served by the same MX share them. MaxConnectionsPerDomain
// bounds the connections in use for one domain at once; idle ones are
// bounded per host by the same number and closed after IdleTimeout.
type pool struct {
	maxIdle int
	idleFor time.Duration

	mu      sync.Mutex
	idle    map[string][]*conn
	slots   map[string]chan struct{}
	buckets map[string]*bucket
	closed  bool
}

func newPool(maxIdle int, idleFor time.Duration) *pool {
	return &pool{maxIdle: maxIdle, idleFor: idleFor, idle: map[string][]*conn{}, slots: map[string]chan struct{}{}, buckets: map[string]*bucket{}}
}

// acquire takes one of the max connection slots of domain, waiting for
// one if all are in use. The returned func gives it back.
func (p *pool) acquire(ctx context.Context, domain string, max int) (func(), error) {
	p.mu.Lock()
	sem := p.slots[domain]
	if sem == nil {
		sem = make(chan struct{}, max)
		p.slots[domain] = sem
	}
	p.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// get returns an idle connection to host, most recently used first, or nil.
func (p *pool) get(host string) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[host]
	if len(list) == 0 {
		return nil
	}
	c := list[len(list)-1]
	p.idle[host] = list[:len(list)-1]
	c.idleTimer.Stop()
	return c
}

// put keeps c for reuse, or closes it when the host has enough idle
// connections or the pool is closed.
func (p *pool) put(c *conn) {
	p.mu.Lock()
	if p.closed || len(p.idle[c.key]) >= p.maxIdle {
		p.mu.Unlock()
		c.quit()
		return
	}
	p.idle[c.key] = append(p.idle[c.key], c)
	c.idleTimer = time.AfterFunc(p.idleFor, func() { p.expire(c) })
	p.mu.Unlock()
}

// idleCount returns how many idle connections host has.
func (p *pool) idleCount(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle[host])
}

// expire closes c if it is still idle.
func (p *pool) expire(c *conn) {
	p.mu.Lock()
	list := p.idle[c.key]
	for i, x := range list {
		if x == c {
			p.idle[c.key] = append(list[:i:i], list[i+1:]...)
			p.mu.Unlock()
			c.quit()
			return
		}
	}
	p.mu.Unlock()
}

// close quits every idle connection; later puts close theirs.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	var all []*conn
	for k, list := range p.idle {
		for _, c := range list {
			c.idleTimer.Stop()
			all = append(all, c)
		}
		delete(p.idle, k)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Go(c.quit)
	}
	wg.Wait()
}

// wait returns how long to wait before the next message to domain may be
// sent under a limit of perMinute messages, and takes that message's
// token. Zero perMinute means no limit.
func (p *pool) wait(domain string, perMinute int, now time.Time) time.Duration {
	if perMinute <= 0 {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buckets[domain]
	if b == nil {
		b = newBucket(perMinute, now)
		p.buckets[domain] = b
	}
	return b.take(now)
}

// bucket is a token bucket: rate tokens per minute, holding at most burst
// (ten seconds' worth, at least one). A message waits until its token is
// due; tokens may go negative so that waiters queue up in order.
type bucket struct {
	interval time.Duration // time per token
	burst    float64
	tokens   float64
	last     time.Time
}

func newBucket(perMinute int, now time.Time) *bucket {
	burst := max(1, float64(perMinute)/6)
	return &bucket{interval: time.Minute / time.Duration(perMinute), burst: burst, tokens: burst, last: now}
}

func (b *bucket) take(now time.Time) time.Duration {
	b.tokens = min(b.burst, b.tokens+float64(now.Sub(b.last))/float64(b.interval))
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens * float64(b.interval))
}

// giveBack returns a token taken by wait when the message did not go.
func (p *pool) giveBack(domain string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.buckets[domain]; b != nil {
		b.tokens = min(b.burst, b.tokens+1)
	}
}
