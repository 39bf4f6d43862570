package delivery

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// downEnv is a queue whose only remote MX always answers 451, with
// retries an hour apart: mail stays queued until a test acts on it.
func downEnv(t *testing.T) (*remoteEnv, *sink) {
	s := startSink(t, sinkOptions{rcpt: func(string, int) error { return reply(451, smtp.EnhancedCode{4, 4, 5}, "Busy, later") }})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, func(o *Options, _ *RemoteOptions) {
		o.RetryMin, o.RetryMax = time.Hour, time.Hour
	})
	return e, s
}

func TestQueueShowRetryDelete(t *testing.T) {
	t.Parallel()
	e, _ := downEnv(t)
	ctx := context.Background()
	id := e.send(t, "alice@acme.test", "bob@remote.test", "carol@remote.test")
	e.logs.waitCount(t, 2, "deferred", "queue_id", string(id))

	ent, err := e.q.Show(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ent.ID != id || ent.From != "alice@acme.test" || len(ent.Recipients) != 2 {
		t.Fatalf("Show = %+v", ent)
	}
	for _, r := range ent.Recipients {
		if r.State != "pending" || r.Attempts != 1 || !strings.Contains(r.LastError, "451 4.4.5 Busy, later") || time.Until(r.NextAttempt) < 30*time.Minute {
			t.Errorf("recipient %+v", r)
		}
	}

	// Retry one message, then all: each makes a new attempt at once.
	if err := e.q.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.logs.waitCount(t, 4, "deferred", "queue_id", string(id))
	if err := e.q.Retry(ctx, ""); err != nil {
		t.Fatal(err)
	}
	e.logs.waitCount(t, 6, "deferred", "queue_id", string(id))

	if err := e.q.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.q.Show(ctx, id); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("Show after Delete = %v, want ErrNotQueued", err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "spool", string(id))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool file still there: %v", err)
	}
	if len(e.dsns(t)) != 0 || e.logs.count("dsn sent") != 0 {
		t.Errorf("Delete sent a DSN")
	}
	for _, f := range []func(context.Context, ID) error{e.q.Retry, e.q.Delete, e.q.Bounce} {
		if err := f(ctx, "AAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrNotQueued) {
			t.Errorf("unknown id: %v, want ErrNotQueued", err)
		}
		if err := f(ctx, "../etc"); !errors.Is(err, ErrNotQueued) {
			t.Errorf("invalid id: %v, want ErrNotQueued", err)
		}
	}
}

func TestQueueBounce(t *testing.T) {
	t.Parallel()
	e, _ := downEnv(t)
	ctx := context.Background()
	id := e.send(t, "alice@acme.test", "bob@remote.test", "carol@remote.test")
	e.logs.waitCount(t, 2, "deferred", "queue_id", string(id))
	if err := e.q.Bounce(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.q.Show(ctx, id); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("Show after Bounce = %v", err)
	}
	e.logs.waitCount(t, 1, "delivered", "rcpt", "alice@acme.test")
	d := e.dsns(t)
	if len(d) != 1 {
		t.Fatalf("%d DSNs, want 1", len(d))
	}
	for _, want := range []string{"Final-Recipient: rfc822; bob@remote.test", "Final-Recipient: rfc822; carol@remote.test", "Status: 5.0.0", "Diagnostic-Code: smtp; 550 5.0.0 Message deleted by the administrator"} {
		if !strings.Contains(d[0].status, want) {
			t.Errorf("DSN lacks %q:\n%s", want, d[0].status)
		}
	}
}

func TestDelayNoticeThenExpiry(t *testing.T) {
	t.Parallel()
	s := startSink(t, sinkOptions{rcpt: func(string, int) error { return reply(451, smtp.EnhancedCode{4, 2, 1}, "Mailbox busy") }})
	e := newRemoteEnv(t, oneMX("remote.test"), s.port, func(o *Options, _ *RemoteOptions) {
		o.DelayNotice = time.Nanosecond
		o.MaxAge = 300 * time.Millisecond
		o.RetryMin, o.RetryMax = 20*time.Millisecond, 40*time.Millisecond
	})
	id := e.send(t, "alice@acme.test", "bob@remote.test")
	e.waitSettled(t, id)
	e.logs.waitCount(t, 2, "delivered", "rcpt", "alice@acme.test")
	d := e.dsns(t)
	if len(d) != 2 {
		t.Fatalf("%d DSNs, want a delay notice and a failure", len(d))
	}
	if e.logs.count("deferred", "queue_id", string(id)) < 2 {
		t.Fatalf("want several attempts before expiry")
	}
	var delayed, failed parsedDSN
	for _, x := range d {
		if strings.Contains(x.status, "Action: delayed") {
			delayed = x
		} else {
			failed = x
		}
	}
	for _, want := range []string{"Action: delayed", "Status: 4.2.1", "Will-Retry-Until:", "Diagnostic-Code: smtp; 451 4.2.1 Mailbox busy"} {
		if !strings.Contains(delayed.status, want) {
			t.Errorf("delay notice lacks %q:\n%s", want, delayed.status)
		}
	}
	for _, want := range []string{"Action: failed", "Status: 4.4.7", "Diagnostic-Code: smtp; 451 4.2.1 Mailbox busy"} {
		if !strings.Contains(failed.status, want) {
			t.Errorf("expiry DSN lacks %q:\n%s", want, failed.status)
		}
	}
	if !strings.Contains(delayed.raw, "Subject: Delayed Mail") {
		t.Errorf("delay notice subject:\n%s", delayed.raw)
	}
}

// TestMigrateUnversionedQueueDB opens a queue.db made before schema
// versioning (user_version 0, no delay_notified) with a message in it.
func TestMigrateUnversionedQueueDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "spool"), 0o750)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(migrations[0]); err != nil {
		t.Fatal(err)
	}
	const id = "AAAAAAAAAAAAAAAAAA"
	now := time.Now().Add(time.Hour).UnixNano()
	db.Exec(`INSERT INTO messages(id, mail_from, auth_user, remote, helo, tls, received_at, size) VALUES (?, 'a@x.test', '', '', '', 0, ?, 3)`, id, time.Now().UnixNano())
	db.Exec(`INSERT INTO recipients(msg_id, rcpt, next_attempt) VALUES (?, 'b@y.test', ?)`, id, now)
	db.Close()
	os.WriteFile(filepath.Join(dir, "spool", id), []byte("x\r\n"), 0o640)

	st := testStore(t)
	q, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil), RetryMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var v int
	q.db.QueryRow(`PRAGMA user_version`).Scan(&v)
	if v != len(migrations) {
		t.Fatalf("user_version = %d, want %d", v, len(migrations))
	}
	ent, err := q.Show(context.Background(), id)
	if err != nil || ent.DelayNotified || len(ent.Recipients) != 1 {
		t.Fatalf("Show = %+v, %v", ent, err)
	}
	q.Close()
	// A database from a newer maild is refused.
	db, _ = sql.Open("sqlite3", "file:"+filepath.Join(dir, "queue.db"))
	db.Exec(`PRAGMA user_version = 99`)
	db.Close()
	if q2, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil)}); err == nil {
		q2.Close()
		t.Fatal("opened a queue.db from the future")
	}
}
