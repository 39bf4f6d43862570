package storage

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy is returned by LoginGuard.Login when every password-hash slot
// stayed taken for the whole wait: a temporary failure, the password was
// not checked. Protocols answer it like a server that is busy (IMAP NO
// [UNAVAILABLE], POP3 -ERR [SYS/TEMP], SMTP 454 4.7.0, HTTP 503).
var ErrBusy = errors.New("too many logins in progress; try again later")

// DefaultPasswordChecks is the number of password hashes computed at once
// when LoginOptions.MaxPasswordChecks is 0: one per CPU the process may
// use, at most 4. An argon2id hash holds 19 MiB while it runs, so this
// bounds the memory logins can take (4 × 19 MiB), and more hashes than
// CPUs would only wait for each other.
func DefaultPasswordChecks() int {
	return min(max(runtime.GOMAXPROCS(0), 1), 4)
}

// hashSlots bounds concurrent password hashing (a counting semaphore).
// A caller that finds every slot taken waits at most wait, and only while
// fewer than maxWaiters others wait: under a flood, attempts are refused
// quickly with ErrBusy instead of queueing without limit.
type hashSlots struct {
	slots      chan struct{}
	waiters    atomic.Int64
	maxWaiters int64
	wait       time.Duration
}

func newHashSlots(n int, wait time.Duration) *hashSlots {
	return &hashSlots{slots: make(chan struct{}, n), maxWaiters: int64(16 * n), wait: wait}
}

// acquire takes a slot or returns ErrBusy (wrapping the context's error
// when ctx ended first).
// release must be called once per successful acquire.
func (h *hashSlots) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if h.waiters.Add(1) > h.maxWaiters {
		h.waiters.Add(-1)
		return ErrBusy
	}
	defer h.waiters.Add(-1)
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (h *hashSlots) release() { <-h.slots }
