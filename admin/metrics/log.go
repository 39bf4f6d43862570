package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// LogHandler wraps h so every record it handles also moves the counters;
// records below h's level (Info and above) are counted too. The events and their keys are
// the ones documented in DESIGN.md (connected, accepted, queued,
// delivered, deferred, bounced, rejected, login, "login failed", "dsn
// sent") with the keys proto, component, queue_id, stage and code.
func (m *Metrics) LogHandler(h slog.Handler) slog.Handler {
	return &logHandler{m: m, next: h}
}

// logHandler carries the attributes given by WithAttrs that name an
// event's context (proto, component, queue_id).
type logHandler struct {
	m    *Metrics
	next slog.Handler
	ctx  eventAttrs
}

type eventAttrs struct {
	proto, component, queueID, stage, code, action, filter, verdict string
}

func (a *eventAttrs) set(at slog.Attr) {
	v := func() string {
		if at.Value.Kind() == slog.KindInt64 {
			return strconv.FormatInt(at.Value.Int64(), 10)
		}
		return at.Value.String()
	}
	switch at.Key {
	case "proto":
		a.proto = v()
	case "component":
		a.component = v()
	case "queue_id":
		a.queueID = v()
	case "stage":
		a.stage = v()
	case "code":
		a.code = v()
	case "action":
		a.action = v()
	case "filter":
		a.filter = v()
	case "verdict":
		a.verdict = v()
	}
}

// Enabled lets every event through (they are all Info or above) and
// leaves finer levels to the wrapped handler.
func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	a := h.ctx
	r.Attrs(func(at slog.Attr) bool {
		a.set(at)
		return true
	})
	h.m.count(r.Message, a)
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &logHandler{m: h.m, next: h.next.WithAttrs(attrs), ctx: h.ctx}
	for _, at := range attrs {
		n.ctx.set(at)
	}
	return n
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{m: h.m, next: h.next.WithGroup(name), ctx: h.ctx}
}

// count moves the counters for one log event.
func (m *Metrics) count(msg string, a eventAttrs) {
	transport := func() string {
		if a.component == "mda" {
			return "local"
		}
		return "remote"
	}
	proto := a.proto
	if proto == "" {
		proto = "unknown"
	}
	switch msg {
	case "connected":
		m.connections.WithLabelValues(proto).Inc()
		m.sessions.WithLabelValues(proto).Inc()
	case "disconnected":
		m.sessions.WithLabelValues(proto).Dec()
	case "rejected":
		if a.stage == "" && a.queueID == "" {
			m.connectionsRejected.WithLabelValues(proto).Inc()
			return
		}
		m.rejected.WithLabelValues(proto, a.stage, a.code).Inc()
	case "accepted":
		m.received.WithLabelValues(proto).Inc()
	case "queued":
		m.queued.Inc()
	case "login":
		m.logins.WithLabelValues(proto, "ok").Inc()
	case "login failed":
		m.logins.WithLabelValues(proto, "failed").Inc()
	case "login throttled":
		m.logins.WithLabelValues(proto, "throttled").Inc()
	case "login busy":
		m.logins.WithLabelValues(proto, "busy").Inc()
	case "delivered":
		m.deliveries.WithLabelValues(transport(), "delivered").Inc()
		if t, ok := IDTime(a.queueID); ok {
			m.latency.WithLabelValues(transport()).Observe(max(time.Since(t).Seconds(), 0))
		}
	case "deferred":
		m.deliveries.WithLabelValues(transport(), "deferred").Inc()
	case "bounced":
		m.deliveries.WithLabelValues(transport(), "bounced").Inc()
	case "dsn sent":
		m.dsns.WithLabelValues(a.action).Inc()
	}
	if a.verdict != "" {
		m.verdicts.WithLabelValues(a.filter, a.verdict).Inc()
	}
}

// FromHandler returns the Metrics of a handler made by LogHandler (or
// derived from one with WithAttrs or WithGroup).
func FromHandler(h slog.Handler) (*Metrics, bool) {
	if lh, ok := h.(*logHandler); ok {
		return lh.m, true
	}
	return nil, false
}
