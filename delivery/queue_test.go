package delivery

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yubin/storage"
)

// testStore opens a real store with one domain and the given users.
func testStore(t testing.TB, users ...string) *storage.Store {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "acme.test"); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := st.AddUser(ctx, u, "pw", 0); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// settledChan returns an Options.Settled hook and the channel it feeds.
func settledChan() (func(ID), chan ID) {
	ch := make(chan ID, 100)
	return func(id ID) { ch <- id }, ch
}

func waitSettled(t *testing.T, ch chan ID, want ID) {
	t.Helper()
	select {
	case id := <-ch:
		if id != want {
			t.Fatalf("settled %s, want %s", id, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("message %s not settled", want)
	}
}

func inbox(t *testing.T, st *storage.Store, user string) []string {
	t.Helper()
	addr, _ := storage.ParseAddress(user)
	acct, err := st.Account(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := acct.Messages(context.Background(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		f, _, err := acct.Open(context.Background(), "INBOX", m.UID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		out = append(out, string(b))
	}
	return out
}

func TestEnqueueDeliversToMaildir(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test")
	settled, ch := settledChan()
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil), Settled: settled})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	msg := "Subject: hi\r\n\r\nbody\r\n"
	id, err := q.Enqueue(context.Background(), Envelope{From: "bob@remote.test", To: []string{"alice@acme.test"}}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, ch, id)
	got := inbox(t, st, "alice@acme.test")
	want := "Return-Path: <bob@remote.test>\r\nDelivered-To: alice@acme.test\r\n" + msg
	if len(got) != 1 || got[0] != want {
		t.Fatalf("inbox = %q, want [%q]", got, want)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "spool")); len(ents) != 0 {
		t.Errorf("spool not empty after delivery: %v", ents)
	}
}

// flaky fails its first n deliveries with a temporary error.
type flaky struct {
	LocalDeliverer
	mu        sync.Mutex
	fails     int
	err       error
	attempted chan ID // optional: told of every attempt
}

func (f *flaky) Deliver(ctx context.Context, m *Spooled, rcpt string) ([]string, error) {
	if f.attempted != nil {
		f.attempted <- m.ID
	}
	f.mu.Lock()
	if f.fails > 0 {
		f.fails--
		f.mu.Unlock()
		return nil, f.err
	}
	f.mu.Unlock()
	return f.LocalDeliverer.Deliver(ctx, m, rcpt)
}

func TestTemporaryFailureIsRetried(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test")
	settled, ch := settledChan()
	local := &flaky{LocalDeliverer: NewMDA(StoreDirectory{st}, nil), fails: 2, err: Temporaryf([3]int{4, 3, 0}, "try later", nil)}
	q, err := Open(Options{Dir: t.TempDir(), Local: local, Settled: settled, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, err := q.Enqueue(context.Background(), Envelope{From: "b@remote.test", To: []string{"alice@acme.test"}}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, ch, id)
	if n := len(inbox(t, st, "alice@acme.test")); n != 1 {
		t.Fatalf("delivered %d times, want 1", n)
	}
}

func TestPermanentFailureSettles(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	settled, ch := settledChan()
	q, err := Open(Options{Dir: t.TempDir(), Local: NewMDA(StoreDirectory{st}, nil), Settled: settled})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	// Accepted, then the user vanished: 5.1.1, no retry.
	id, err := q.Enqueue(context.Background(), Envelope{From: "b@remote.test", To: []string{"gone@acme.test"}}, strings.NewReader("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, ch, id)
}

func TestQueueSurvivesRestart(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test")
	dir := t.TempDir()
	// First life: every delivery fails temporarily, so mail stays queued.
	down := &flaky{LocalDeliverer: NewMDA(StoreDirectory{st}, nil), fails: 1 << 30, err: Temporaryf([3]int{4, 3, 0}, "down", nil), attempted: make(chan ID, 10)}
	q, err := Open(Options{Dir: dir, Local: down, RetryMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		_, err := q.Enqueue(context.Background(), Envelope{From: "b@remote.test", To: []string{"alice@acme.test"}}, strings.NewReader("Subject: q\r\n\r\nq\r\n"))
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every message is tried (and deferred) once before the stop.
	for range 5 {
		select {
		case <-down.attempted:
		case <-time.After(30 * time.Second):
			t.Fatal("messages not attempted")
		}
	}
	q.Close()
	// Debris of an Enqueue interrupted before its record: removed.
	os.WriteFile(filepath.Join(dir, "tmp", "AAAAAAAAAAAAAAAAAA"), []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(dir, "spool", "BBBBBBBBBBBBBBBBBB"), []byte("unacknowledged"), 0o600)

	q2, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil), RetryMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	// Pending recipients wait for their next attempt (an hour away);
	// the list shows them with their last error.
	entries, err := q2.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5 || entries[0].Recipients[0].LastError == "" {
		t.Fatalf("queue list after restart = %+v", entries)
	}
	for _, name := range []string{"tmp/AAAAAAAAAAAAAAAAAA", "spool/BBBBBBBBBBBBBBBBBB"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not cleaned up at start: %v", name, err)
		}
	}
}

func TestRestartDeliversDueMessages(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test")
	dir := t.TempDir()
	blocked := make(chan struct{})
	q, err := Open(Options{Dir: dir, Local: &blockingLocal{started: blocked}, Workers: 1, RetryMin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(context.Background(), Envelope{From: "b@remote.test", To: []string{"alice@acme.test"}}, strings.NewReader("Subject: r\r\n\r\nr\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	<-blocked // the worker holds the message; simulate a stop
	q.Close()
	settled, ch := settledChan()
	q2, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil), Settled: settled, RetryMin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	waitSettled(t, ch, id)
	if n := len(inbox(t, st, "alice@acme.test")); n != 1 {
		t.Fatalf("inbox has %d messages, want 1", n)
	}
}

// blockingLocal signals that a delivery started and then fails it
// temporarily, as an interrupted delivery would look.
type blockingLocal struct {
	started chan struct{}
	once    sync.Once
}

func (b *blockingLocal) Accepts(context.Context, string) (bool, error) { return true, nil }
func (b *blockingLocal) Deliver(context.Context, *Spooled, string) ([]string, error) {
	b.once.Do(func() { close(b.started) })
	return nil, Temporaryf([3]int{4, 3, 0}, "stopping", nil)
}

func TestEnqueueReaderErrorLeavesNothing(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test")
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	boom := errors.New("client went away")
	_, err = q.Enqueue(context.Background(), Envelope{From: "b@remote.test", To: []string{"alice@acme.test"}}, io.MultiReader(strings.NewReader("partial"), errReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("Enqueue error = %v, want it to wrap %v", err, boom)
	}
	for _, sub := range []string{"tmp", "spool"} {
		if ents, _ := os.ReadDir(filepath.Join(dir, sub)); len(ents) != 0 {
			t.Errorf("%s not empty: %v", sub, ents)
		}
	}
	if entries, _ := q.List(context.Background()); len(entries) != 0 {
		t.Errorf("queue has %d entries", len(entries))
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestAliasToRemoteAddsRecipient(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test")
	if err := st.AddAlias(context.Background(), "fwd@acme.test", []string{"alice@acme.test", "out@remote.test"}); err != nil {
		t.Fatal(err)
	}
	delivered := make(chan struct{}, 1)
	q, err := Open(Options{Dir: t.TempDir(), Local: NewMDA(StoreDirectory{st}, nil), Remote: remoteFunc(func(m *Spooled, rcpt string) error {
		if rcpt == "out@remote.test" {
			delivered <- struct{}{}
		}
		return nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Enqueue(context.Background(), Envelope{From: "b@remote.test", To: []string{"fwd@acme.test"}}, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-delivered:
	case <-time.After(30 * time.Second):
		t.Fatal("remote target never handed to the remote deliverer")
	}
}

type remoteFunc func(m *Spooled, rcpt string) error

func (f remoteFunc) Deliver(ctx context.Context, m *Spooled, domain string, rcpts []string) map[string]error {
	out := map[string]error{}
	for _, r := range rcpts {
		out[r] = f(m, r)
	}
	return out
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	q := &Queue{opts: Options{RetryMin: time.Minute, RetryMax: 10 * time.Minute}}
	for attempt, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 50: 10 * time.Minute} {
		if got := q.backoff(attempt); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}

func TestIDValid(t *testing.T) {
	t.Parallel()
	for range 100 {
		if id := NewID(); !id.Valid() {
			t.Fatalf("NewID() = %q is not Valid", id)
		}
	}
	for _, bad := range []ID{"", "../../etc/passwd", "abc", "AAAAAAAA/AAAA"} {
		if bad.Valid() {
			t.Errorf("%q reported valid", bad)
		}
	}
}
