// Package metrics exports maild's Prometheus metrics at /metrics.
//
// The counters are fed by maild's own log: [Metrics.LogHandler] wraps the
// daemon's slog.Handler and counts the stable event messages the servers
// already log ("connected", "accepted", "delivered", ...), so no server
// package depends on Prometheus and the numbers match the log line for
// line. The queue gauges ask the queue itself, at most once per
// [Options.QueueCacheFor].
//
// Metrics (all prefixed yubin_):
//
//	connections_total{proto}                 connections accepted (smtp, submission, submissions, imap, imaps, pop3, pop3s)
//	sessions_active{proto}                   connections open now
//	connections_rejected_total{proto}        connections refused at connect (limits)
//	logins_total{proto,result}               logins: result ok, failed, throttled (auth failures) or busy (no password-hash slot)
//	messages_received_total{proto}           messages accepted (250 after DATA)
//	messages_rejected_total{proto,stage,code} refusals by SMTP stage (mail, rcpt, data) and reply code
//	messages_queued_total                    messages made durable in the queue (including DSNs)
//	deliveries_total{transport,result}       per recipient: transport local or remote; result delivered, deferred or bounced
//	dsn_sent_total{action}                   delivery status notifications sent (failed, delayed)
//	delivery_latency_seconds{transport}      histogram: enqueue to final delivery, per recipient
//	filter_verdicts_total{filter,verdict}    spam/virus filter verdicts (log records with a "verdict" key)
//	queue_messages, queue_recipients         what is queued now
//	queue_oldest_age_seconds                 age of the oldest queued message (0 when empty)
//	build_info{version,goversion}            always 1
//
// plus the Go runtime and process collectors. Nothing is registered
// globally: each Metrics has its own registry.
package metrics

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"yubin/delivery"
)

// Queue is what the gauges need from the queue (*delivery.Queue).
type Queue interface {
	List(ctx context.Context) ([]delivery.Entry, error)
}

// Options configure Metrics.
type Options struct {
	// Version is reported in yubin_build_info.
	Version string
	// QueueCacheFor is how long one queue listing answers the gauges.
	// Default 5s.
	QueueCacheFor time.Duration
}

// Metrics is one registry of maild's metrics. Create it with New.
type Metrics struct {
	reg  *prometheus.Registry
	opts Options

	connections         *prometheus.CounterVec
	sessions            *prometheus.GaugeVec
	connectionsRejected *prometheus.CounterVec
	logins              *prometheus.CounterVec
	received            *prometheus.CounterVec
	rejected            *prometheus.CounterVec
	queued              prometheus.Counter
	deliveries          *prometheus.CounterVec
	dsns                *prometheus.CounterVec
	latency             *prometheus.HistogramVec
	verdicts            *prometheus.CounterVec

	mu       sync.Mutex
	queue    Queue
	cachedAt time.Time
	snapshot queueSnapshot
}

type queueSnapshot struct {
	messages, recipients int
	oldest               time.Time
}

// New returns metrics with every collector registered.
func New(opts Options) *Metrics {
	if opts.QueueCacheFor <= 0 {
		opts.QueueCacheFor = 5 * time.Second
	}
	m := &Metrics{reg: prometheus.NewRegistry(), opts: opts}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "yubin", Name: name, Help: help}, labels)
	}
	m.connections = counterVec("connections_total", "Connections accepted, by protocol.", "proto")
	m.sessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "yubin", Name: "sessions_active", Help: "Connections open now, by protocol."}, []string{"proto"})
	m.connectionsRejected = counterVec("connections_rejected_total", "Connections refused at connect (connection limits).", "proto")
	m.logins = counterVec("logins_total", "Login attempts by protocol and result (ok, failed, throttled, busy).", "proto", "result")
	m.received = counterVec("messages_received_total", "Messages accepted (250 after DATA), by protocol.", "proto")
	m.rejected = counterVec("messages_rejected_total", "SMTP refusals by protocol, stage and reply code.", "proto", "stage", "code")
	m.queued = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "yubin", Name: "messages_queued_total", Help: "Messages made durable in the queue, DSNs included."})
	m.deliveries = counterVec("deliveries_total", "Delivery attempts' outcomes per recipient, by transport (local, remote) and result (delivered, deferred, bounced).", "transport", "result")
	m.dsns = counterVec("dsn_sent_total", "Delivery status notifications sent, by action.", "action")
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "yubin", Name: "delivery_latency_seconds",
		Help:    "Time from enqueue to final delivery of a recipient, by transport.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}}, []string{"transport"})
	m.verdicts = counterVec("filter_verdicts_total", "Spam and virus filter verdicts, by filter and verdict.", "filter", "verdict")
	gauge := func(name, help string, f func(queueSnapshot) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "yubin", Name: name, Help: help}, func() float64 { return f(m.queueSnapshot()) })
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "yubin", Name: "build_info", Help: "Always 1; labels name the build."}, []string{"version", "goversion"})
	build.WithLabelValues(opts.Version, runtime.Version()).Set(1)
	m.reg.MustRegister(m.connections, m.sessions, m.connectionsRejected, m.logins, m.received, m.rejected, m.queued,
		m.deliveries, m.dsns, m.latency, m.verdicts, build,
		gauge("queue_messages", "Messages in the queue now.", func(s queueSnapshot) float64 { return float64(s.messages) }),
		gauge("queue_recipients", "Recipients still pending in the queue now.", func(s queueSnapshot) float64 { return float64(s.recipients) }),
		gauge("queue_oldest_age_seconds", "Age of the oldest queued message; 0 when the queue is empty.", func(s queueSnapshot) float64 {
			if s.oldest.IsZero() {
				return 0
			}
			return time.Since(s.oldest).Seconds()
		}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SetQueue sets the queue the gauges read; until then they read 0.
func (m *Metrics) SetQueue(q Queue) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = q
	m.cachedAt = time.Time{}
}

// queueSnapshot lists the queue at most once per QueueCacheFor.
func (m *Metrics) queueSnapshot() queueSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.queue == nil || time.Since(m.cachedAt) < m.opts.QueueCacheFor {
		return m.snapshot
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	entries, err := m.queue.List(ctx)
	if err != nil {
		return m.snapshot
	}
	var s queueSnapshot
	for _, e := range entries {
		s.messages++
		s.recipients += len(e.Recipients)
		if s.oldest.IsZero() || e.ReceivedAt.Before(s.oldest) {
			s.oldest = e.ReceivedAt
		}
	}
	m.snapshot, m.cachedAt = s, time.Now()
	return s
}

// IDTime returns the enqueue time encoded in a queue ID (delivery.NewID:
// the first 48 bits are Unix milliseconds); false if id is malformed.
func IDTime(id string) (time.Time, bool) {
	if !delivery.ID(id).Valid() {
		return time.Time{}, false
	}
	padded := id + strings.Repeat("=", (8-len(id)%8)%8)
	b, err := base32.StdEncoding.DecodeString(padded)
	if err != nil || len(b) < 6 {
		return time.Time{}, false
	}
	var word [8]byte
	copy(word[2:], b[:6])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(word[:]))), true
}
