package storage

import "time"

// failureTable counts recent failed logins per key (a client address, or
// a client address and an account) over a sliding window. It is not safe
// for concurrent use: LoginGuard holds its mutex around every call.
//
// Memory stays bounded however many distinct keys arrive: a key keeps at
// most limit timestamps, keys whose failures all left the window are
// swept out on insert (at most once per sweepEvery), and when maxKeys are
// tracked an arbitrary idle key is dropped to make room. In practice the
// hash slots bound the number of failures per window long before that.
type failureTable struct {
	limit      int   // failures (recorded + in flight) at which a key is blocked
	window     int64 // nanoseconds
	maxKeys    int
	sweepEvery int64
	lastSweep  int64
	m          map[string]*failures
}

// failures is one key's record.
type failures struct {
	times   []int64 // Unix nanoseconds of recent failures, oldest first, at most limit
	pending int     // attempts counted before hashing and not yet decided
}

func newFailureTable(limit int, window time.Duration, maxKeys int) *failureTable {
	return &failureTable{
		limit:      limit,
		window:     int64(window),
		maxKeys:    maxKeys,
		sweepEvery: max(int64(window)/4, int64(time.Second)),
		m:          map[string]*failures{},
	}
}

// blocked reports whether key's recent failures reach the limit (throttled),
// or do so only with the attempts in flight counted (busy).
func (t *failureTable) blocked(key string, now int64) (throttled, busy bool) {
	f := t.m[key]
	if f == nil {
		return false, false
	}
	t.expire(key, f, now)
	return len(f.times) >= t.limit, len(f.times)+f.pending >= t.limit
}

// begin counts an attempt for key before its password is checked.
func (t *failureTable) begin(key string, now int64) {
	t.get(key, now).pending++
}

// end decides an attempt begun with begin: failed records a failure,
// otherwise the attempt is just uncounted. It returns key's number of
// recent failures.
func (t *failureTable) end(key string, now int64, failed bool) int {
	f := t.get(key, now)
	if f.pending > 0 {
		f.pending--
	}
	if failed {
		if len(f.times) >= t.limit {
			f.times = append(f.times[:0], f.times[1:]...)
		}
		f.times = append(f.times, now)
	}
	n := len(f.times)
	t.expire(key, f, now)
	return n
}

// forget drops key's recorded failures (attempts in flight stay counted).
func (t *failureTable) forget(key string, now int64) {
	if f := t.m[key]; f != nil {
		f.times = nil
		t.expire(key, f, now)
	}
}

// expire drops failures that left the window, and the key once nothing
// is left.
func (t *failureTable) expire(key string, f *failures, now int64) {
	cutoff := now - t.window
	i := 0
	for i < len(f.times) && f.times[i] <= cutoff {
		i++
	}
	if i > 0 {
		f.times = append(f.times[:0], f.times[i:]...)
	}
	if len(f.times) == 0 && f.pending == 0 {
		delete(t.m, key)
	}
}

// get returns key's record, inserting one (and making room) if needed.
func (t *failureTable) get(key string, now int64) *failures {
	if f := t.m[key]; f != nil {
		return f
	}
	if now-t.lastSweep >= t.sweepEvery || len(t.m) >= t.maxKeys {
		t.sweep(now)
	}
	for k, f := range t.m {
		if len(t.m) < t.maxKeys {
			break
		}
		if f.pending == 0 { // an attempt in flight keeps its record
			delete(t.m, k)
		}
	}
	f := &failures{}
	t.m[key] = f
	return f
}

// sweep expires every key, at most once per sweepEvery.
func (t *failureTable) sweep(now int64) {
	if now-t.lastSweep < t.sweepEvery {
		return
	}
	t.lastSweep = now
	for k, f := range t.m {
		t.expire(k, f, now)
	}
}

// len returns the number of keys tracked.
func (t *failureTable) len() int { return len(t.m) }
