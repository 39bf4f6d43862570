package delivery

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heldLocal is a LocalDeliverer that takes every recipient and holds the
// worker until release is closed, so a benchmark measures Enqueue alone
// (no delivery competes for queue.db).
type heldLocal struct{ release chan struct{} }

func (h heldLocal) Accepts(ctx context.Context, rcpt string) (bool, error) {
	<-h.release
	return true, nil
}

func (h heldLocal) Deliver(ctx context.Context, m *Spooled, rcpt string) ([]string, error) {
	return nil, nil
}

// BenchmarkEnqueueConcurrent measures durable acceptance: 20 goroutines
// call Enqueue with 10 KiB messages (spool file fsynced, spool directory
// fsynced, record committed with synchronous=FULL), as 20 SMTP sessions
// would. It reports messages per second, the p50 and p99 latency of one
// Enqueue and, with group commit, the mean number of messages per commit.
// Sub-benchmarks vary Options.CommitWait.
func BenchmarkEnqueueConcurrent(b *testing.B) {
	for _, wait := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond} {
		b.Run("wait="+wait.String(), func(b *testing.B) { benchEnqueue(b, 20, wait) })
	}
}

func benchEnqueue(b *testing.B, sessions int, wait time.Duration) {
	hold := heldLocal{release: make(chan struct{})}
	q, err := Open(Options{Dir: b.TempDir(), Local: hold, RetryMin: time.Hour, CommitWait: wait})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	defer close(hold.release)
	body := "From: <alice@acme.test>\r\nSubject: bench\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 10240/80)
	b.SetBytes(int64(len(body)))
	var next atomic.Int64
	lat := make([][]time.Duration, sessions)
	commits0 := q.commitCount()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for s := range sessions {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := q.Enqueue(context.Background(), Envelope{From: "alice@acme.test", To: []string{"bob@acme.test"}}, strings.NewReader(body)); err != nil {
					b.Error(err)
					return
				}
				lat[s] = append(lat[s], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	if c := q.commitCount() - commits0; c > 0 {
		b.ReportMetric(float64(len(all))/float64(c), "msgs/commit")
	}
}

// BenchmarkInboundLocal is the inbound path after the SMTP session: 20
// goroutines enqueue 10 KiB messages for 10 local users and the queue
// delivers them into the Maildirs (MDA, Maildir fsyncs, account index,
// queue bookkeeping). It reports messages per second from the first
// Enqueue to the last message settled; run it with -cpuprofile to see
// where the inbound path spends its time.
func BenchmarkInboundLocal(b *testing.B) {
	const sessions = 20
	users := make([]string, 10)
	for i := range users {
		users[i] = "u" + string(rune('0'+i)) + "@acme.test"
	}
	st := testStore(b, users...)
	settled := make(chan ID, 1024)
	q, err := Open(Options{Dir: b.TempDir(), Local: NewMDA(StoreDirectory{st}, nil), Settled: func(id ID) { settled <- id }})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	body := "From: <alice@example.net>\r\nSubject: bench\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 10240/80)
	b.SetBytes(int64(len(body)))
	var next atomic.Int64
	commits0 := q.commitCount()
	b.ResetTimer()
	start := time.Now()
	for range sessions {
		go func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if _, err := q.Enqueue(context.Background(), Envelope{From: "alice@example.net", To: []string{users[i%10]}}, strings.NewReader(body)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for range b.N {
		select {
		case <-settled:
		case <-time.After(60 * time.Second):
			b.Fatal("deliveries stalled")
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	// Enqueue batches and worker writes (settlements, delivered marks).
	b.ReportMetric(float64(q.commitCount()-commits0)/float64(b.N), "commits/msg")
}
