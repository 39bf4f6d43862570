package submission

import (
	"fmt"
	"sync"
	"time"

	"yubin/delivery"
)

// rateWindow is the period MaxMessagesPerHour counts over.
const rateWindow = time.Hour

// rateLimiter counts the messages each authenticated user submitted in
// the last hour, so a stolen password cannot turn the server into a spam
// cannon. Counters live in memory: a restart forgets them.
type rateLimiter struct {
	max int
	now func() time.Time

	mu   sync.Mutex
	sent map[string][]time.Time
}

func newRateLimiter(max int, now func() time.Time) *rateLimiter {
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{max: max, now: now, sent: map[string][]time.Time{}}
}

// check refuses user once the hour's quota is used up.
func (r *rateLimiter) check(user string) error {
	if r == nil || r.max <= 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.prune(user)
	if len(ts) < r.max {
		return nil
	}
	retry := ts[0].Add(rateWindow).Sub(r.now()).Round(time.Minute)
	return &delivery.Error{Code: 451, Enhanced: [3]int{4, 7, 1}, Temporary: true,
		Public: fmt.Sprintf("Sending limit of %d messages per hour reached; try again in %v", r.max, max(retry, time.Minute)),
		Err:    fmt.Errorf("user %s over %d messages per hour", user, r.max)}
}

// record counts one message for user.
func (r *rateLimiter) record(user string) {
	if r == nil || r.max <= 0 || user == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[user] = append(r.prune(user), r.now())
}

func (r *rateLimiter) prune(user string) []time.Time {
	cutoff := r.now().Add(-rateWindow)
	ts := r.sent[user]
	i := 0
	for i < len(ts) && !ts[i].After(cutoff) {
		i++
	}
	if i == len(ts) {
		delete(r.sent, user)
		return nil
	}
	r.sent[user] = ts[i:]
	return ts[i:]
}
