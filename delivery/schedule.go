package delivery

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler hands message IDs to workers when their next attempt is due.
// One goroutine (run) owns the timer; add may be called from anywhere.
type scheduler struct {
	mu    sync.Mutex
	items timeHeap
	wake  chan struct{}
	ready chan ID
}

func newScheduler(buffer int) *scheduler {
	return &scheduler{wake: make(chan struct{}, 1), ready: make(chan ID, buffer)}
}

// add schedules id at t (now or earlier means at once).
func (s *scheduler) add(id ID, t time.Time) {
	s.mu.Lock()
	heap.Push(&s.items, timedID{id, t})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var due []ID
		now := time.Now()
		for len(s.items) > 0 && !s.items[0].at.After(now) {
			due = append(due, heap.Pop(&s.items).(timedID).id)
		}
		wait := time.Hour
		if len(s.items) > 0 {
			wait = s.items[0].at.Sub(now)
		}
		s.mu.Unlock()
		for _, id := range due {
			select {
			case s.ready <- id:
			case <-stop:
				return
			}
		}
		timer.Reset(wait)
		select {
		case <-stop:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

type timedID struct {
	id ID
	at time.Time
}

type timeHeap []timedID

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(timedID)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
