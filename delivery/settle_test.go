package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"yubin/storage"
)

// A message delivered to one local mailbox costs one transaction after
// its acceptance: recipient state and record removal together, and no
// delivered mark (the message is gone with it).
func TestDeliverySettlesInOneCommit(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test")
	settled, ch := settledChan()
	dir := t.TempDir()
	q, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil), Settled: settled})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, err := q.Enqueue(context.Background(), Envelope{From: "bob@remote.test", To: []string{"alice@acme.test"}}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, ch, id)
	if n := q.commitCount(); n != 2 {
		t.Errorf("%d commits for one accepted and delivered message, want 2 (enqueue, settle)", n)
	}
	if n := rowsOutside(t, dir, id); n != 0 {
		t.Errorf("record still in queue.db after delivery")
	}
	if n := len(inbox(t, st, "alice@acme.test")); n != 1 {
		t.Errorf("delivered %d times, want 1", n)
	}
}

// failFirst fails the first delivery into user's mailbox temporarily.
type failFirst struct {
	StoreDirectory
	user   string
	failed atomic.Bool
}

func (d *failFirst) Deliver(ctx context.Context, user storage.Address, mailbox string, r io.Reader, opts storage.DeliverOptions) (storage.Message, error) {
	if user.String() == d.user && d.failed.CompareAndSwap(false, true) {
		return storage.Message{}, errors.New("injected I/O error")
	}
	return d.StoreDirectory.Deliver(ctx, user, mailbox, r, opts)
}

// An alias to two mailboxes where one fails: the retry delivers to that
// one only, because the other's mark went to queue.db with the deferral.
// Two recipients expanding to the same mailbox get one copy.
func TestRetrySkipsDeliveredTargets(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test", "bob@acme.test")
	ctx := context.Background()
	if err := st.AddAlias(ctx, "team@acme.test", []string{"alice@acme.test", "bob@acme.test"}); err != nil {
		t.Fatal(err)
	}
	for _, failing := range []string{"alice@acme.test", "bob@acme.test"} {
		settled, ch := settledChan()
		dir := &failFirst{StoreDirectory: StoreDirectory{st}, user: failing}
		q, err := Open(Options{Dir: t.TempDir(), Local: NewMDA(dir, nil), Settled: settled, RetryMin: time.Millisecond, RetryMax: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		id, err := q.Enqueue(ctx, Envelope{From: "carol@remote.test", To: []string{"team@acme.test", "alice@acme.test"}}, strings.NewReader("Subject: team\r\n\r\nx\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		waitSettled(t, ch, id)
		q.Close()
		if !dir.failed.Load() {
			t.Fatal("no delivery failed")
		}
	}
	for _, u := range []string{"alice@acme.test", "bob@acme.test"} {
		if n := len(inbox(t, st, u)); n != 2 {
			t.Errorf("%s got %d copies of 2 messages", u, n)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// When the settling transaction fails (a full disk), the message stays
// queued with its recipient pending and its spool file, and is tried
// again later: at worst delivered twice, never lost.
func TestSettleFailureKeepsMessage(t *testing.T) {
	t.Parallel()
	st := testStore(t, "alice@acme.test")
	settled, ch := settledChan()
	dir := t.TempDir()
	var logs syncBuffer
	q, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil), Settled: settled, RetryMin: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.db.Exec(`CREATE TRIGGER keep_messages BEFORE DELETE ON messages
		BEGIN SELECT RAISE(ABORT, 'injected settle failure'); END`); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := q.Enqueue(ctx, Envelope{From: "bob@remote.test", To: []string{"alice@acme.test"}}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "injected settle failure") {
		if time.Now().After(deadline) {
			t.Fatalf("settle failure not logged; log:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	e, err := q.Show(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Recipients[0]; r.State != "pending" || r.Attempts != 0 {
		t.Errorf("after a failed settle the recipient is %+v, want pending and unattempted", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "spool", string(id))); err != nil {
		t.Errorf("spool file: %v", err)
	}

	if _, err := q.db.Exec(`DROP TRIGGER keep_messages`); err != nil {
		t.Fatal(err)
	}
	if err := q.Retry(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, ch, id)
	n := len(inbox(t, st, "alice@acme.test"))
	if n < 1 {
		t.Fatal("message lost")
	}
	t.Logf("%d copies delivered (a failed settle may repeat the delivery)", n)
}

// The settlement finds a message's pending recipients by its key, not by
// scanning the recipients_pending index over the whole queue.
func TestSettleQueryUsesMessageKey(t *testing.T) {
	t.Parallel()
	db, err := openDB(filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id, parent, notused int
	var detail string
	if err := db.QueryRow(`EXPLAIN QUERY PLAN `+earliestPendingSQL, "x").Scan(&id, &parent, &notused, &detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "(msg_id=?)") {
		t.Errorf("plan %q does not look the message up by its key", detail)
	}
}

// TestSpoolFilesRecycled: a delivered message's spool file is emptied
// and reused by the next Enqueue instead of being deleted, and a restart
// drops the pool without touching queued messages.
func TestSpoolFilesRecycled(t *testing.T) {
	st := testStore(t, "u@acme.test", "w@acme.test")
	dir := t.TempDir()
	settled := make(chan ID, 8)
	q, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil), Settled: func(id ID) { settled <- id }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// Two recipients: copied into the Maildirs (one recipient would be
	// linked, see TestSingleRecipientLinked).
	env := Envelope{From: "a@example.net", To: []string{"u@acme.test", "w@acme.test"}}
	if _, err := q.Enqueue(ctx, env, strings.NewReader("Subject: one\r\n\r\nfirst, a longer body\r\n")); err != nil {
		t.Fatal(err)
	}
	<-settled
	free, _ := filepath.Glob(filepath.Join(dir, "tmp", "free.*"))
	if len(free) != 1 {
		t.Fatalf("free files after one delivery: %v", free)
	}
	if fi, err := os.Stat(free[0]); err != nil || fi.Size() != 0 {
		t.Fatalf("recycled file not empty: %v %v", fi, err)
	}
	id, err := q.Enqueue(ctx, env, strings.NewReader("Subject: two\r\n\r\nsecond\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(free[0]); !os.IsNotExist(err) {
		t.Errorf("free file not reused: %v", err)
	}
	<-settled
	q.Close()
	got := inbox(t, st, "u@acme.test")
	if len(got) != 2 || !strings.HasSuffix(got[1], "Subject: two\r\n\r\nsecond\r\n") {
		t.Fatalf("INBOX after two deliveries (second %s): %q", id, got)
	}
	// A restart keeps the pool (emptied again: a file taken by an
	// Enqueue that was interrupted holds part of a message) and removes
	// anything else an interrupted Enqueue left in tmp/.
	free, _ = filepath.Glob(filepath.Join(dir, "tmp", "free.*"))
	if len(free) != 1 {
		t.Fatalf("free files after two deliveries: %v", free)
	}
	os.WriteFile(free[0], []byte("half a message"), 0o640)
	os.WriteFile(filepath.Join(dir, "tmp", "AAAAAAAAAAAAAAAAAA"), []byte("half"), 0o640)
	q2, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	ents, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(ents) != 1 || ents[0].Name() != filepath.Base(free[0]) {
		t.Fatalf("tmp/ after a restart: %v", ents)
	}
	if fi, _ := ents[0].Info(); fi.Size() != 0 {
		t.Errorf("adopted free file holds %d bytes", fi.Size())
	}
	if _, err := q2.Enqueue(ctx, env, strings.NewReader("Subject: three\r\n\r\nthird\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(free[0]); !os.IsNotExist(err) {
		t.Errorf("adopted free file not reused: %v", err)
	}
}

// TestSingleRecipientLinked: a message for one local user is spooled with
// the delivery header in front and hard-linked into the Maildir (the same
// file, nothing copied); every other reader of the spool file sees the
// message without that header; and the delivered file is never emptied
// for reuse, however many messages pass through the spool afterwards.
func TestSingleRecipientLinked(t *testing.T) {
	st := testStore(t, "u@acme.test", "w@acme.test")
	dir := t.TempDir()
	settled := make(chan ID, 8)
	q, err := Open(Options{Dir: dir, Local: NewMDA(StoreDirectory{st}, nil), Settled: func(id ID) { settled <- id }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := t.Context()
	msg := "Received: from x\r\nSubject: linked\r\n\r\nbody of the linked message\r\n"
	id, err := q.Enqueue(ctx, Envelope{From: "a@example.net", To: []string{"u@acme.test"}}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	<-settled
	want := "Return-Path: <a@example.net>\r\nDelivered-To: u@acme.test\r\n" + msg
	if got := inbox(t, st, "u@acme.test"); len(got) != 1 || got[0] != want {
		t.Fatalf("INBOX = %q, want %q", got, want)
	}
	addr, _ := storage.ParseAddress("u@acme.test")
	acct, _ := st.Account(ctx, addr)
	msgs, _ := acct.Messages(ctx, "INBOX")
	fi, err := os.Stat(msgs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if n := fi.Sys().(*syscall.Stat_t).Nlink; n != 1 {
		t.Errorf("delivered file has %d links after the spool name is gone", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "spool", string(id))); !os.IsNotExist(err) {
		t.Errorf("spool file of %s still there: %v", id, err)
	}
	if free, _ := filepath.Glob(filepath.Join(dir, "tmp", "free.*")); len(free) != 0 {
		t.Errorf("the linked spool file went to the free pool: %v", free)
	}
	// Copied messages recycle their spool files; the linked one stays.
	for i := range 3 {
		body := fmt.Sprintf("Subject: copy %d\r\n\r\n%s\r\n", i, strings.Repeat("y", 100))
		if _, err := q.Enqueue(ctx, Envelope{From: "b@example.net", To: []string{"u@acme.test", "w@acme.test"}}, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		<-settled
	}
	if got := inbox(t, st, "u@acme.test"); len(got) != 4 || got[0] != want {
		t.Fatalf("INBOX after more mail: %d messages, first %q", len(got), got[0])
	}

	// Readers other than the link see the message without the header: a
	// message held for a later attempt shows its original size and bytes.
	body := "Subject: held\r\n\r\nheld\r\n"
	if err := st.SetQuota(ctx, "u@acme.test", 1); err != nil {
		t.Fatal(err)
	}
	hid, err := q.Enqueue(ctx, Envelope{From: "a@example.net", To: []string{"u@acme.test"}}, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := q.load(ctx, hid)
	if err != nil || m == nil {
		t.Fatalf("load %s: %v", hid, err)
	}
	r, err := m.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	if string(b) != body || m.Size != int64(len(body)) {
		t.Errorf("spooled message reads %q (size %d), want %q", b, m.Size, body)
	}
}
