package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRemoteDelivery measures outbound messages per second from the
// queue (Enqueue with its fsyncs included) to a loopback go-smtp sink, one
// recipient per message spread over 100 destination domains that the
// fake resolver maps to the sink.
func BenchmarkRemoteDelivery(b *testing.B) {
	const domains = 100
	sk := startSink(b, sinkOptions{})
	names := make([]string, domains)
	for i := range names {
		names[i] = fmt.Sprintf("d%03d.test", i)
	}
	dns := oneMX(names...)
	st := testStore(b)
	done := make(chan ID, 1024)
	remote := NewRemote(RemoteOptions{Hostname: "mail.acme.test", Resolver: dns, Port: sk.port, Logger: slog.New(slog.DiscardHandler)})
	q, err := Open(Options{Dir: b.TempDir(), Local: NewMDA(StoreDirectory{st}, nil), Remote: remote, Workers: 16,
		Settled: func(id ID) { done <- id }})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	body := "From: <alice@acme.test>\r\nSubject: bench\r\n\r\n" + strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 50)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	go func() {
		for i := range b.N {
			to := fmt.Sprintf("user%d@%s", i, names[i%domains])
			if _, err := q.Enqueue(context.Background(), Envelope{From: "alice@acme.test", To: []string{to}}, strings.NewReader(body)); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	for range b.N {
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			b.Fatal("deliveries stalled")
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(sk.conns.Load()), "conns")
}

// BenchmarkRemoteDeliverer measures the SMTP side alone: Remote.Deliver
// of one spooled message to one recipient, in parallel, over the 100
// domains (no queue bookkeeping).
func BenchmarkRemoteDeliverer(b *testing.B) {
	const domains = 100
	sk := startSink(b, sinkOptions{})
	names := make([]string, domains)
	for i := range names {
		names[i] = fmt.Sprintf("d%03d.test", i)
	}
	remote := NewRemote(RemoteOptions{Hostname: "mail.acme.test", Resolver: oneMX(names...), Port: sk.port, Logger: slog.New(slog.DiscardHandler)})
	defer remote.Close()
	q, err := Open(Options{Dir: b.TempDir(), Local: NewMDA(StoreDirectory{testStore(b)}, nil), RetryMin: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	body := "From: <alice@acme.test>\r\nSubject: bench\r\n\r\n" + strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 50)
	id, err := q.Enqueue(context.Background(), Envelope{From: "alice@acme.test", To: []string{"x@d000.test"}}, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	m := &Spooled{ID: id, Envelope: Envelope{ID: id, From: "alice@acme.test"}, Size: int64(len(body)), q: q}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := names[n.Add(1)%domains]
			rcpt := "u@" + d
			if err := remote.Deliver(context.Background(), m, d, []string{rcpt})[rcpt]; err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
