package delivery

import (
	"context"
	"sync"
)

// msgLocks gives one goroutine at a time a message: a worker delivering
// it, or an administrator's Delete or Bounce. The scheduler may hand the
// same ID out twice (Enqueue, Retry, a reschedule); the second worker
// does not wait but asks the holder to run once more.
type msgLocks struct {
	mu    sync.Mutex
	held  map[ID]chan struct{}
	again map[ID]bool
}

func newMsgLocks() *msgLocks {
	return &msgLocks{held: map[ID]chan struct{}{}, again: map[ID]bool{}}
}

// tryLock takes id if free; if held, it asks the holder to run again.
func (l *msgLocks) tryLock(id ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[id]; ok {
		l.again[id] = true
		return false
	}
	l.held[id] = make(chan struct{})
	return true
}

// lock waits for id.
func (l *msgLocks) lock(ctx context.Context, id ID) error {
	for {
		l.mu.Lock()
		ch, ok := l.held[id]
		if !ok {
			l.held[id] = make(chan struct{})
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// unlock releases id and reports whether someone asked for another run.
func (l *msgLocks) unlock(id ID) (again bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.held[id])
	delete(l.held, id)
	again = l.again[id]
	delete(l.again, id)
	return again
}
