package delivery

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openHeld opens a queue whose workers never deliver (see heldLocal), so
// the records Enqueue writes stay as written.
func openHeld(t *testing.T) (*Queue, string) {
	t.Helper()
	dir := t.TempDir()
	hold := heldLocal{release: make(chan struct{})}
	q, err := Open(Options{Dir: dir, Local: hold, RetryMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(hold.release)
		q.Close()
	})
	return q, dir
}

// rowsOutside counts the messages rows of queue.db as another process
// would see them: a new connection, opened after Enqueue returned.
func rowsOutside(t *testing.T, dir string, ids ...ID) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "queue.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	for _, id := range ids {
		var c int
		if err := db.QueryRow(`SELECT COUNT(*) FROM messages WHERE id = ?`, string(id)).Scan(&c); err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}

func enqueueN(t *testing.T, q *Queue, n int, from func(i int) string) ([]ID, []error) {
	t.Helper()
	ids := make([]ID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = q.Enqueue(context.Background(), Envelope{From: from(i), To: []string{"bob@acme.test"}}, strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
		})
	}
	wg.Wait()
	return ids, errs
}

// Each Enqueue that returned has its record committed: another
// connection sees the row, and the spool file is in spool/.
func TestGroupCommitDurableOnReturn(t *testing.T) {
	t.Parallel()
	q, dir := openHeld(t)
	ids, errs := enqueueN(t, q, 30, func(int) string { return "alice@acme.test" })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
		if got := rowsOutside(t, dir, ids[i]); got != 1 {
			t.Errorf("message %s: %d rows seen from another connection, want 1", ids[i], got)
		}
		if _, err := os.Stat(filepath.Join(dir, "spool", string(ids[i]))); err != nil {
			t.Errorf("spool file: %v", err)
		}
	}
	// Sequential calls: each returns after its own commit.
	for range 3 {
		id, err := q.Enqueue(context.Background(), Envelope{From: "a@acme.test", To: []string{"b@acme.test"}}, strings.NewReader("x\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOutside(t, dir, id); got != 1 {
			t.Fatalf("sequential enqueue %s not visible after return", id)
		}
	}
}

// Concurrent calls share commits. The first batch is held in the
// committer until the other callers are waiting for it, so they must
// form (at most a few) larger batches.
func TestGroupCommitBatches(t *testing.T) {
	t.Parallel()
	q, dir := openHeld(t)
	const n = 40
	var waiting atomic.Int32
	release := make(chan struct{})
	var first sync.Once
	var sizes []int
	var mu sync.Mutex
	q.gc.beforeCommit = func(size int) error {
		first.Do(func() { <-release })
		mu.Lock()
		sizes = append(sizes, size)
		mu.Unlock()
		return nil
	}
	go func() {
		// Let the first batch go once every caller is past spooling.
		for waiting.Load() < n {
			runtime.Gosched()
		}
		close(release)
	}()
	ids := make([]ID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			env := Envelope{ID: NewID(), From: "alice@acme.test", To: []string{"bob@acme.test"}, ReceivedAt: time.Now()}
			size, err := q.spool(env.ID, strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
			if err != nil {
				errs[i] = err
				waiting.Add(1)
				return
			}
			waiting.Add(1)
			ids[i], errs[i] = env.ID, q.commit(context.Background(), env, size, 0)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
	}
	if got := rowsOutside(t, dir, ids...); got != n {
		t.Fatalf("%d rows committed, want %d", got, n)
	}
	commits := q.commitCount()
	t.Logf("%d records in %d commits, batch sizes %v", n, commits, sizes)
	if commits >= n/4 {
		t.Errorf("%d commits for %d concurrent records: batches did not form (sizes %v)", commits, n, sizes)
	}
}

// A record that fails fails only its own Enqueue; a batch that fails
// (here: an injected directory-fsync error) fails exactly its callers,
// and each failed Enqueue leaves no spool file and no row.
func TestGroupCommitErrors(t *testing.T) {
	t.Parallel()
	q, dir := openHeld(t)
	// A trigger rejects records from bad@: a real SQLite error inside the
	// shared transaction.
	if _, err := q.db.Exec(`CREATE TRIGGER reject_bad BEFORE INSERT ON messages WHEN NEW.mail_from = 'bad@acme.test'
		BEGIN SELECT RAISE(ABORT, 'injected record failure'); END`); err != nil {
		t.Fatal(err)
	}
	ids, errs := enqueueN(t, q, 30, func(i int) string {
		if i%5 == 0 {
			return "bad@acme.test"
		}
		return "alice@acme.test"
	})
	for i, err := range errs {
		bad := i%5 == 0
		if bad != (err != nil) {
			t.Errorf("enqueue %d (bad=%v): err %v", i, bad, err)
		}
		if bad && err != nil && !strings.Contains(err.Error(), "injected record failure") {
			t.Errorf("enqueue %d: unexpected error %v", i, err)
		}
	}
	good := 0
	for i := range ids {
		if errs[i] == nil {
			good++
			if rowsOutside(t, dir, ids[i]) != 1 {
				t.Errorf("good message %s not committed", ids[i])
			}
		}
	}
	if good != 24 {
		t.Errorf("%d good enqueues, want 24", good)
	}
	assertSpoolCount(t, dir, good)

	// Whole-batch failure: the first batch after this point fails, the
	// next ones succeed.
	var calls atomic.Int32
	q.gc.beforeCommit = func(int) error {
		if calls.Add(1) == 1 {
			return errors.New("injected batch failure")
		}
		return nil
	}
	_, err := q.Enqueue(context.Background(), Envelope{From: "alice@acme.test", To: []string{"bob@acme.test"}}, strings.NewReader("x\r\n"))
	if err == nil || !strings.Contains(err.Error(), "injected batch failure") {
		t.Fatalf("enqueue in failed batch: err %v", err)
	}
	id, err := q.Enqueue(context.Background(), Envelope{From: "alice@acme.test", To: []string{"bob@acme.test"}}, strings.NewReader("x\r\n"))
	if err != nil {
		t.Fatalf("enqueue in next batch: %v", err)
	}
	if rowsOutside(t, dir, id) != 1 {
		t.Fatal("next batch not committed")
	}
	assertSpoolCount(t, dir, good+1)
	var e *Error
	if _, err := q.Enqueue(context.Background(), Envelope{From: "bad@acme.test", To: []string{"bob@acme.test"}}, strings.NewReader("x\r\n")); !errors.As(err, &e) || !e.Temporary {
		t.Errorf("record failure is %#v, want a temporary *Error", err)
	}
}

func assertSpoolCount(t *testing.T, dir string, want int) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != want {
		t.Errorf("%d spool files, want %d", len(ents), want)
	}
}

// Enqueue after Close fails instead of hanging.
func TestEnqueueAfterClose(t *testing.T) {
	t.Parallel()
	q, err := Open(Options{Dir: t.TempDir(), Local: heldLocal{release: make(chan struct{})}})
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	done := make(chan error, 1)
	go func() {
		_, err := q.Enqueue(context.Background(), Envelope{From: "a@acme.test", To: []string{"b@acme.test"}}, strings.NewReader("x\r\n"))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("enqueue after Close succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("enqueue after Close hangs")
	}
}
