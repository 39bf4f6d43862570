package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkDeliverConcurrent: 20 goroutines deliver 10 KiB messages into
// one account's INBOX, as the queue's MDA does for a busy user. It
// reports messages per second.
func BenchmarkDeliverConcurrent(b *testing.B) {
	const writers = 20
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	if _, err := s.AddDomain(ctx, "example.com"); err != nil {
		b.Fatal(err)
	}
	u, err := s.AddUser(ctx, "u@example.com", "pw", 0)
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.Account(ctx, u.Address)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat(strings.Repeat("x", 78)+"\r\n", 10240/80))
	b.SetBytes(int64(len(body)))
	work := make(chan struct{})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range work {
				if _, err := a.Deliver(ctx, Inbox, bytes.NewReader(body), DeliverOptions{}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/float64(a.dq.batches.Load()), "msgs/batch")
}

// batchGate holds a's first delivery batch until wait more deliveries are
// queued, so that they are written together, and records each batch's
// size. later, if not nil, decides the fate of the later batches. held is
// closed when the first batch is being held.
type batchGate struct {
	held  chan struct{}
	mu    sync.Mutex
	sizes []int
}

func newBatchGate(a *Account, wait int, later func(n int) error) *batchGate {
	g := &batchGate{held: make(chan struct{})}
	a.dq.beforeSync = func(n int) error {
		g.mu.Lock()
		g.sizes = append(g.sizes, n)
		first := len(g.sizes) == 1
		g.mu.Unlock()
		if !first {
			if later != nil {
				return later(n)
			}
			return nil
		}
		close(g.held)
		for deadline := time.Now().Add(10 * time.Second); pending(a) < wait; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				return fmt.Errorf("only %d of %d deliveries queued", pending(a), wait)
			}
		}
		return nil
	}
	return g
}

func (g *batchGate) batches() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sizes)
}

func pending(a *Account) int {
	a.dq.mu.Lock()
	defer a.dq.mu.Unlock()
	return len(a.dq.pending)
}

// deliverAll delivers n messages concurrently while the first is held by
// g; msg(i) says where message i goes and what it holds.
func deliverAll(t *testing.T, a *Account, g *batchGate, n int, msg func(i int) (string, string, DeliverOptions)) ([]Message, []error) {
	t.Helper()
	ms, errs := make([]Message, n), make([]error, n)
	var wg sync.WaitGroup
	deliver := func(i int) {
		box, body, opts := msg(i)
		ms[i], errs[i] = a.Deliver(t.Context(), box, strings.NewReader(body), opts)
	}
	wg.Go(func() { deliver(0) })
	<-g.held
	for i := 1; i < n; i++ {
		wg.Go(func() { deliver(i) })
	}
	wg.Wait()
	return ms, errs
}

// addedObserver records the MessageAdded changes per mailbox.
func addedObserver(s *Store) func() map[string][]Change {
	var mu sync.Mutex
	added := map[string][]Change{}
	s.SetObserver(func(_ context.Context, c Change) {
		if c.Kind == MessageAdded {
			mu.Lock()
			added[c.Mailbox] = append(added[c.Mailbox], c)
			mu.Unlock()
		}
	})
	return func() map[string][]Change {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(added)
	}
}

// checkDelivered checks that box holds exactly want (by UID, with the entry
// Deliver returned), UIDs 1..len(want) in order, and that the observer
// saw the same messages added in UID order.
func checkDelivered(t *testing.T, a *Account, box string, want []Message, added []Change) {
	t.Helper()
	slices.SortFunc(want, func(x, y Message) int { return int(x.UID) - int(y.UID) })
	got, err := a.Messages(t.Context(), box)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages indexed, want %d", box, len(got), len(want))
	}
	for i, m := range want {
		if m.UID != uint32(i+1) {
			t.Errorf("%s: UIDs %v..., want 1..%d", box, m.UID, len(want))
			break
		}
		if g := got[i]; g.UID != m.UID || g.Key != m.Key || g.Path != m.Path || g.Size != m.Size || !slices.Equal(g.Flags, m.Flags) || !g.InternalDate.Equal(m.InternalDate) {
			t.Errorf("%s: index has %+v, Deliver returned %+v", box, g, m)
		}
	}
	if len(added) != len(want) {
		t.Fatalf("%s: observer saw %d additions, want %d", box, len(added), len(want))
	}
	for i, c := range added {
		if c.UID != want[i].UID || c.Message.UID != c.UID || !reflect.DeepEqual(c.Message, want[i]) || !slices.Equal(c.Flags, want[i].Flags) {
			t.Errorf("%s: addition %d = %+v, want UID %d %+v", box, i, c, want[i].UID, want[i])
		}
	}
}

func TestDeliverBatch(t *testing.T) {
	t.Parallel()
	s, a := newTestAccount(t, 0)
	added := addedObserver(s)
	const n = maxDeliverBatch + 44 // the second batch is cut at the cap
	g := newBatchGate(a, n-1, nil)
	boxes := []string{Inbox, "Sent", "Archive"}
	ms, errs := deliverAll(t, a, g, n, func(i int) (string, string, DeliverOptions) {
		var opts DeliverOptions
		if i%2 == 0 {
			opts.Flags = []string{FlagSeen} // into cur/
		}
		return boxes[i%3], fmt.Sprintf("message %d\r\n", i), opts
	})
	byBox := map[string][]Message{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		byBox[boxes[i%3]] = append(byBox[boxes[i%3]], ms[i])
	}
	if got, want := g.batches(), []int{1, maxDeliverBatch, n - 1 - maxDeliverBatch}; !slices.Equal(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
	for _, box := range boxes {
		checkDelivered(t, a, box, byBox[box], added()[box])
		// Our own deliveries keep the stamps fresh: no rescan.
		if rescanned, err := a.Refresh(t.Context(), box); err != nil || rescanned {
			t.Errorf("Refresh(%s) = %v, %v; want no rescan", box, rescanned, err)
		}
		_, dir, _ := a.mailboxDir(box)
		if tmp := dirNames(t, filepath.Join(dir, "tmp")); len(tmp) != 0 {
			t.Errorf("%s: tmp/ not empty: %v", box, tmp)
		}
	}
	// The committer goroutine goes when idle.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		a.dq.mu.Lock()
		running := a.dq.running
		a.dq.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("committer still running")
		}
	}
}

func TestDeliverBatchFailureFailsAll(t *testing.T) {
	t.Parallel()
	s, a := newTestAccount(t, 0)
	added := addedObserver(s)
	errSync := errors.New("injected fsync failure")
	const n = 11
	g := newBatchGate(a, n-1, func(int) error { return errSync })
	ms, errs := deliverAll(t, a, g, n, func(i int) (string, string, DeliverOptions) {
		if i%2 == 1 {
			return "Sent", "sent\r\n", DeliverOptions{Flags: []string{FlagSeen}}
		}
		return Inbox, "inbox\r\n", DeliverOptions{}
	})
	if errs[0] != nil {
		t.Fatalf("held delivery: %v", errs[0])
	}
	for i, err := range errs[1:] {
		if !errors.Is(err, errSync) {
			t.Errorf("message %d: %v, want the batch's error", i+1, err)
		}
	}
	if got := g.batches(); !slices.Equal(got, []int{1, n - 1}) {
		t.Errorf("batches %v", got)
	}
	checkDelivered(t, a, Inbox, ms[:1], added()[Inbox])
	checkDelivered(t, a, "Sent", nil, added()["Sent"])
	for _, d := range []string{"new", "cur", "tmp", ".Sent/new", ".Sent/cur", ".Sent/tmp"} {
		names := dirNames(t, filepath.Join(a.Dir(), d))
		if d == "new" && len(names) == 1 && names[0] == filepath.Base(ms[0].Path) {
			continue
		}
		if len(names) != 0 {
			t.Errorf("%s/ holds %v", d, names)
		}
	}
	// The failed batch used no UIDs.
	a.dq.beforeSync = nil
	if m, err := a.Deliver(t.Context(), Inbox, strings.NewReader("again\r\n"), DeliverOptions{}); err != nil || m.UID != 2 {
		t.Errorf("next Deliver: UID %d, %v; want 2", m.UID, err)
	}
}

func TestDeliverBatchOneFailure(t *testing.T) {
	t.Parallel()
	s, a := newTestAccount(t, 0)
	added := addedObserver(s)
	// One rename fails (Junk has no new/), one row insert fails.
	if err := os.Remove(filepath.Join(a.Dir(), ".Junk", "new")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.idx.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.size = 4242
		BEGIN SELECT RAISE(ABORT, 'injected'); END`); err != nil {
		t.Fatal(err)
	}
	const n = 12
	g := newBatchGate(a, n-1, nil)
	ms, errs := deliverAll(t, a, g, n, func(i int) (string, string, DeliverOptions) {
		switch i {
		case 4:
			return "Junk", "junk\r\n", DeliverOptions{}
		case 7:
			return Inbox, strings.Repeat("x", 4240) + "\r\n", DeliverOptions{}
		}
		return Inbox, fmt.Sprintf("message %d\r\n", i), DeliverOptions{}
	})
	var ok []Message
	for i, err := range errs {
		switch {
		case i == 4 && !errors.Is(err, os.ErrNotExist):
			t.Errorf("delivery into Junk without new/: %v", err)
		case i == 7 && (err == nil || !strings.Contains(err.Error(), "injected")):
			t.Errorf("delivery with a refused row: %v", err)
		case i != 4 && i != 7 && err != nil:
			t.Errorf("message %d: %v", i, err)
		case err == nil:
			ok = append(ok, ms[i])
		}
	}
	if got := g.batches(); !slices.Equal(got, []int{1, n - 1}) {
		t.Errorf("batches %v", got)
	}
	// The failures left no UID gap, no file and no event.
	checkDelivered(t, a, Inbox, ok, added()[Inbox])
	for _, d := range []string{"new", "tmp", ".Junk/cur", ".Junk/tmp"} {
		if names := dirNames(t, filepath.Join(a.Dir(), d)); d == "new" && len(names) != len(ok) || d != "new" && len(names) != 0 {
			t.Errorf("%s/ holds %v", d, names)
		}
	}
	// A lone delivery (no savepoint) fails the same way.
	if _, err := a.Deliver(t.Context(), Inbox, strings.NewReader(strings.Repeat("x", 4240)+"\r\n"), DeliverOptions{}); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Errorf("lone delivery with a refused row: %v", err)
	}
	m, err := a.Deliver(t.Context(), Inbox, strings.NewReader("last\r\n"), DeliverOptions{})
	if err != nil || m.UID != uint32(len(ok)+1) {
		t.Errorf("next Deliver: UID %d, %v; want %d", m.UID, err, len(ok)+1)
	}
	checkDelivered(t, a, Inbox, append(ok, m), added()[Inbox])
	if names := dirNames(t, filepath.Join(a.Dir(), "new")); len(names) != len(ok)+1 {
		t.Errorf("new/ holds %d files, want %d", len(names), len(ok)+1)
	}
}

// TestDeliverIndexedMeanwhile: another process's rescan indexes the file
// between the rename and the index row; Deliver takes that row's UID.
func TestDeliverIndexedMeanwhile(t *testing.T) {
	t.Parallel()
	s, a := newTestAccount(t, 0)
	added := addedObserver(s)
	a.dq.beforeSync = func(int) error {
		other, err := Open(s.dir, Options{})
		if err != nil {
			return err
		}
		defer other.Close()
		_, err = other.Account(context.Background(), a.Address()) // rescans
		return err
	}
	date := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	m, err := a.Deliver(t.Context(), Inbox, strings.NewReader("hello\r\n"), DeliverOptions{Flags: []string{"$Later"}, InternalDate: date})
	if err != nil {
		t.Fatal(err)
	}
	a.dq.beforeSync = nil
	got, err := a.Messages(t.Context(), Inbox)
	if err != nil || len(got) != 1 || got[0].UID != m.UID || m.UID != 1 {
		t.Fatalf("Messages = %+v, %v; Deliver returned %+v", got, err, m)
	}
	if !slices.Equal(got[0].Flags, []string{"$Later"}) || !got[0].InternalDate.Equal(date) {
		t.Errorf("row not updated with the delivery's flags and date: %+v", got[0])
	}
	if n := len(added()[Inbox]); n != 0 {
		t.Errorf("observer saw %d additions made by the other process", n)
	}
	if m, err := a.Deliver(t.Context(), Inbox, strings.NewReader("again\r\n"), DeliverOptions{}); err != nil || m.UID != 2 {
		t.Errorf("next Deliver: UID %d, %v; want 2", m.UID, err)
	}
}

// TestDeliverBatchStampsPerMailbox: a batch into a mailbox changed by
// another program must not make its stamps look fresh, while the other
// mailboxes of the batch stay fresh.
func TestDeliverBatchStampsPerMailbox(t *testing.T) {
	t.Parallel()
	_, a := newTestAccount(t, 0)
	outside := filepath.Join(a.Dir(), "new", "1700000000.outside.host,S=3")
	if err := writeFileSync(outside, []byte("c\r\n")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour) // unlike any stamp, however coarse the clock
	if err := os.Chtimes(filepath.Join(a.Dir(), "new"), old, old); err != nil {
		t.Fatal(err)
	}
	g := newBatchGate(a, 2, nil)
	_, errs := deliverAll(t, a, g, 3, func(i int) (string, string, DeliverOptions) {
		return []string{"Sent", Inbox, "Sent"}[i], "m\r\n", DeliverOptions{}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := g.batches(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("batches %v", got)
	}
	if rescanned, err := a.Refresh(t.Context(), Inbox); err != nil || !rescanned {
		t.Errorf("Refresh(INBOX) = %v, %v; want a rescan for the outside file", rescanned, err)
	}
	if msgs, _ := a.Messages(t.Context(), Inbox); len(msgs) != 2 {
		t.Errorf("INBOX has %d messages, want 2", len(msgs))
	}
	if rescanned, err := a.Refresh(t.Context(), "Sent"); err != nil || rescanned {
		t.Errorf("Refresh(Sent) = %v, %v; want no rescan", rescanned, err)
	}
}
