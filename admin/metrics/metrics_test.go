package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"yubin/delivery"
)

type fakeQueue struct{ calls int }

func (q *fakeQueue) List(context.Context) ([]delivery.Entry, error) {
	q.calls++
	return []delivery.Entry{
		{ID: "A", ReceivedAt: time.Now().Add(-time.Minute), Recipients: make([]delivery.EntryRecipient, 2)},
		{ID: "B", ReceivedAt: time.Now(), Recipients: make([]delivery.EntryRecipient, 1)},
	}, nil
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return w.Body.String()
}

func TestLogEvents(t *testing.T) {
	t.Parallel()
	m := New(Options{Version: "test"})
	q := &fakeQueue{}
	m.SetQueue(q)
	base := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})
	log := slog.New(m.LogHandler(base))
	smtp := log.With("proto", "smtp")
	smtp.With("conn_id", "x").Info("connected")
	smtp.Info("accepted", "queue_id", string(delivery.NewID()))
	smtp.Info("rejected", "stage", "rcpt", "code", 550)
	smtp.Warn("rejected", "reason", "too many connections")
	log.With("proto", "imaps").Warn("login failed", "user", "a@b")
	log.With("proto", "imaps").Warn("login busy", "user", "a@b")
	log.With("component", "queue").Info("queued", "queue_id", "X")
	log.With("component", "mda").With("queue_id", string(delivery.NewID())).Info("delivered")
	log.With("component", "remote").Warn("deferred", "queue_id", "X")
	smtp.Info("disconnected")
	out := scrape(t, m)
	for _, want := range []string{
		`yubin_connections_total{proto="smtp"} 1`,
		`yubin_sessions_active{proto="smtp"} 0`,
		`yubin_messages_received_total{proto="smtp"} 1`,
		`yubin_messages_rejected_total{code="550",proto="smtp",stage="rcpt"} 1`,
		`yubin_connections_rejected_total{proto="smtp"} 1`,
		`yubin_logins_total{proto="imaps",result="failed"} 1`,
		`yubin_logins_total{proto="imaps",result="busy"} 1`,
		`yubin_messages_queued_total 1`,
		`yubin_deliveries_total{result="delivered",transport="local"} 1`,
		`yubin_deliveries_total{result="deferred",transport="remote"} 1`,
		`yubin_delivery_latency_seconds_count{transport="local"} 1`,
		`yubin_queue_messages 2`,
		`yubin_queue_recipients 3`,
		`yubin_build_info{goversion=`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	scrape(t, m)
	if q.calls != 1 {
		t.Errorf("queue listed %d times for two scrapes, want 1 (cached)", q.calls)
	}
}

func TestIDTime(t *testing.T) {
	t.Parallel()
	before := time.Now().Truncate(time.Millisecond)
	id := delivery.NewID()
	got, ok := IDTime(string(id))
	if !ok || got.Before(before) || got.After(time.Now()) {
		t.Errorf("IDTime(%s) = %v, %v; want about %v", id, got, ok, before)
	}
	if _, ok := IDTime("bad"); ok {
		t.Error("IDTime accepted a malformed id")
	}
}
