package storage

import (
	"bytes"
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
}
