package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yubin/delivery"
	"yubin/storage"
)

// fakeQueue is a QueueControl over a map, recording the calls.
type fakeQueue struct {
	mu      sync.Mutex
	entries []delivery.Entry
	calls   []string
}

func (q *fakeQueue) record(op string, id delivery.ID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, op+" "+string(id))
	if id == "" {
		return nil
	}
	for _, e := range q.entries {
		if e.ID == id {
			return nil
		}
	}
	return fmt.Errorf("queue: %s: %w", id, delivery.ErrNotQueued)
}

func (q *fakeQueue) List(context.Context) ([]delivery.Entry, error) { return q.entries, nil }
func (q *fakeQueue) Show(_ context.Context, id delivery.ID) (delivery.Entry, error) {
	if err := q.record("show", id); err != nil {
		return delivery.Entry{}, err
	}
	for _, e := range q.entries {
		if e.ID == id {
			return e, nil
		}
	}
	return delivery.Entry{}, delivery.ErrNotQueued
}
func (q *fakeQueue) Retry(_ context.Context, id delivery.ID) error  { return q.record("retry", id) }
func (q *fakeQueue) Delete(_ context.Context, id delivery.ID) error { return q.record("delete", id) }
func (q *fakeQueue) Bounce(_ context.Context, id delivery.ID) error { return q.record("bounce", id) }

// fakeSubmitter keeps the last submission; it refuses "nobody@" recipients.
type fakeSubmitter struct {
	mu   sync.Mutex
	from string
	to   []string
	msg  string
}

func (s *fakeSubmitter) Submit(_ context.Context, from string, to []string, msg io.Reader) (delivery.ID, error) {
	for _, rcpt := range to {
		if strings.HasPrefix(rcpt, "nobody@") {
			return "", &delivery.Error{Code: 550, Enhanced: [3]int{5, 1, 1}, Public: "No such user"}
		}
		if strings.HasPrefix(rcpt, "later@") {
			return "", delivery.AsError(errors.New("disk full"))
		}
	}
	b, err := io.ReadAll(msg)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from, s.to, s.msg = from, to, string(b)
	return "AGRATXYZ2345", nil
}

// fakeResolver knows alice@acme.test and sales@acme.test.
type fakeResolver struct{}

func (fakeResolver) Resolve(_ context.Context, addr string) ([]storage.Target, error) {
	a, _ := storage.ParseAddress(addr)
	switch {
	case a.Domain != "acme.test":
		return nil, fmt.Errorf("resolve %q: %w", addr, storage.ErrNotLocalDomain)
	case a.Local == "alice":
		return []storage.Target{{Address: a, Local: true}}, nil
	case a.Local == "sales":
		return []storage.Target{
			{Address: storage.Address{Local: "alice", Domain: "acme.test"}, Local: true},
			{Address: storage.Address{Local: "ext", Domain: "remote.test"}},
		}, nil
	}
	return nil, fmt.Errorf("resolve %q: %w", addr, storage.ErrNoSuchUser)
}

// startServer serves opts on a socket in a temp dir and returns a client.
func startServer(t *testing.T, opts Options) (*Client, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "control.sock")
	mode, group := ControlMode, ""
	if opts.SubmitOnly {
		mode, group = SubmitMode, SubmitGroup
	}
	l, err := Listen(path, mode, group)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(opts)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return Dial(path), path
}

var received = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

func newFakeQueue() *fakeQueue {
	return &fakeQueue{entries: []delivery.Entry{{
		ID: "AGRATAAAAAAA", From: "bob@example.org", ReceivedAt: received, Size: 371,
		Recipients: []delivery.EntryRecipient{{Address: "alice@acme.test", State: "pending", Attempts: 2, NextAttempt: received.Add(time.Minute), LastError: "452 4.2.2 Mailbox full"}},
	}}}
}

func statusOf(err error) int {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

func TestQueueEndpoints(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q := newFakeQueue()
	c, _ := startServer(t, Options{Queue: q, Version: "v1.2.3", Hostname: "mail.acme.test"})

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "v1.2.3" || st.Hostname != "mail.acme.test" || st.PID != os.Getpid() || st.Messages != 1 || st.Recipients != 1 {
		t.Errorf("Status = %+v", st)
	}

	list, err := c.Queue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := QueueEntry{ID: "AGRATAAAAAAA", From: "bob@example.org", ReceivedAt: received, Size: 371,
		Recipients: []QueueRecipient{{Address: "alice@acme.test", State: "pending", Attempts: 2, NextAttempt: received.Add(time.Minute), LastError: "452 4.2.2 Mailbox full"}}}
	if len(list) != 1 || fmt.Sprint(list[0]) != fmt.Sprint(want) {
		t.Fatalf("Queue = %+v", list)
	}
	e, err := c.QueueShow(ctx, "AGRATAAAAAAA")
	if err != nil || fmt.Sprint(e) != fmt.Sprint(want) {
		t.Fatalf("QueueShow = %+v, %v", e, err)
	}
	for _, op := range []func(context.Context, string) error{c.QueueRetry, c.QueueDelete, c.QueueBounce} {
		if err := op(ctx, "AGRATAAAAAAA"); err != nil {
			t.Errorf("op: %v", err)
		}
	}
	if err := c.QueueRetry(ctx, ""); err != nil {
		t.Errorf("retry all: %v", err)
	}
	wantCalls := "show AGRATAAAAAAA|retry AGRATAAAAAAA|delete AGRATAAAAAAA|bounce AGRATAAAAAAA|retry "
	if got := strings.Join(q.calls, "|"); got != wantCalls {
		t.Errorf("calls = %q, want %q", got, wantCalls)
	}

	// Unknown ids are 404, malformed ones 400 and never reach the queue.
	q.calls = nil
	_, err = c.QueueShow(ctx, "AGRATBBBBBBB")
	if statusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "not queued") {
		t.Errorf("show unknown: %v", err)
	}
	for _, op := range []func(context.Context, string) error{c.QueueRetry, c.QueueDelete, c.QueueBounce} {
		if err := op(ctx, "AGRATBBBBBBB"); statusOf(err) != http.StatusNotFound {
			t.Errorf("unknown id: %v, want 404", err)
		}
	}
	q.calls = nil
	for _, bad := range []string{"agratbbbbbbb", "../../etc/passwd", "A", "AGRAT;rm", "AGRAT0000000", strings.Repeat("A", 40)} {
		_, err := c.QueueShow(ctx, bad)
		if statusOf(err) != http.StatusBadRequest && statusOf(err) != http.StatusNotFound {
			t.Errorf("show %q: %v, want 400", bad, err)
		}
		if err := c.QueueDelete(ctx, bad); err == nil {
			t.Errorf("delete %q succeeded", bad)
		}
		if err := c.QueueBounce(ctx, bad); err == nil {
			t.Errorf("bounce %q succeeded", bad)
		}
	}
	if len(q.calls) != 0 {
		t.Errorf("malformed ids reached the queue: %q", q.calls)
	}
	if _, err := c.QueueShow(ctx, "agratbbbbbbb"); statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "invalid queue id") {
		t.Errorf("lower-case id: %v", err)
	}

	// An unknown endpoint answers JSON too.
	err = c.doJSON(ctx, http.MethodGet, "/v2/nothing", nil, nil)
	if statusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "no such endpoint") {
		t.Errorf("unknown endpoint: %v", err)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, _ := startServer(t, Options{Resolver: fakeResolver{}})
	for _, tc := range []struct {
		addr, want string
		status     int
	}{
		{"Alice@ACME.test", "alice@acme.test local=true [alice@acme.test:local]", 0},
		{"sales@acme.test", "sales@acme.test local=true [alice@acme.test:local ext@remote.test:remote]", 0},
		{"someone@elsewhere.test", "someone@elsewhere.test local=false [someone@elsewhere.test:remote]", 0},
		{"ghost@acme.test", "", http.StatusNotFound},
		{"not an address", "", http.StatusBadRequest},
	} {
		r, err := c.Resolve(ctx, tc.addr)
		if tc.status != 0 {
			if statusOf(err) != tc.status {
				t.Errorf("Resolve(%q) = %+v, %v; want status %d", tc.addr, r, err, tc.status)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.addr, err)
			continue
		}
		var ts []string
		for _, tg := range r.Targets {
			kind := "remote"
			if tg.Local {
				kind = "local"
			}
			ts = append(ts, tg.Address+":"+kind)
		}
		if got := fmt.Sprintf("%s local=%v %v", r.Address, r.LocalDomain, ts); got != tc.want {
			t.Errorf("Resolve(%q) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	sub := &fakeSubmitter{}
	c, _ := startServer(t, Options{Submitter: sub, MaxMessageBytes: 1000})
	id, err := c.Submit(ctx, "root@mail.acme.test", []string{"alice@acme.test", "ext@remote.test"},
		strings.NewReader("Subject: hi\n\nline 1\r\nline 2\n"))
	if err != nil || id != "AGRATXYZ2345" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	if sub.from != "root@mail.acme.test" || strings.Join(sub.to, ",") != "alice@acme.test,ext@remote.test" {
		t.Errorf("envelope %q %q", sub.from, sub.to)
	}
	if sub.msg != "Subject: hi\r\n\r\nline 1\r\nline 2\r\n" {
		t.Errorf("message %q (bare LFs should become CRLF)", sub.msg)
	}
	// The null sender passes as "".
	if _, err := c.Submit(ctx, "", []string{"alice@acme.test"}, strings.NewReader("x\n")); err != nil || sub.from != "" {
		t.Errorf("null sender: %v, from %q", err, sub.from)
	}

	// Exactly the limit passes; one byte more is 413 / 552 5.3.4.
	if _, err := c.Submit(ctx, "a@b.test", []string{"alice@acme.test"}, strings.NewReader(strings.Repeat("x", 1000))); err != nil {
		t.Errorf("message at the limit: %v", err)
	}
	_, err = c.Submit(ctx, "a@b.test", []string{"alice@acme.test"}, strings.NewReader(strings.Repeat("x", 1001)))
	var ce *Error
	if !errors.As(err, &ce) || ce.Status != http.StatusRequestEntityTooLarge || ce.Code != 552 || ce.Enhanced != "5.3.4" {
		t.Errorf("too large: %v", err)
	}

	for _, tc := range []struct {
		to        []string
		status    int
		code      int
		enhanced  string
		temporary bool
	}{
		{[]string{"nobody@acme.test"}, http.StatusUnprocessableEntity, 550, "5.1.1", false},
		{[]string{"later@acme.test"}, http.StatusServiceUnavailable, 451, "4.3.0", true},
		{nil, http.StatusBadRequest, 554, "5.5.1", false},
	} {
		_, err := c.Submit(ctx, "a@b.test", tc.to, strings.NewReader("x\n"))
		if !errors.As(err, &ce) || ce.Status != tc.status || ce.Code != tc.code || ce.Enhanced != tc.enhanced || ce.Temporary != tc.temporary {
			t.Errorf("Submit to %q: %#v", tc.to, err)
		}
	}
	// A broken envelope line.
	err = c.do(ctx, http.MethodPost, "/v1/submit", SubmitContentType, strings.NewReader("{nope\nmessage"), nil)
	if statusOf(err) != http.StatusBadRequest {
		t.Errorf("bad envelope: %v", err)
	}
	err = c.do(ctx, http.MethodPost, "/v1/submit", SubmitContentType, strings.NewReader(`{"to":["a@b.test"]}`), nil)
	if statusOf(err) != http.StatusBadRequest {
		t.Errorf("envelope without newline: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, _ := startServer(t, Options{})
	if _, err := c.Submit(ctx, "a@b.test", []string{"c@d.test"}, strings.NewReader("x\n")); statusOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "submission not available") {
		t.Errorf("Submit without Submitter: %v", err)
	}
	if _, err := c.Queue(ctx); statusOf(err) != http.StatusServiceUnavailable {
		t.Errorf("Queue without queue: %v", err)
	}
	if _, err := c.Resolve(ctx, "a@b.test"); statusOf(err) != http.StatusServiceUnavailable {
		t.Errorf("Resolve without resolver: %v", err)
	}
	if st, err := c.Status(ctx); err != nil || st.Messages != 0 {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

func TestSocket(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, path := startServer(t, Options{})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want socket 0600", fi.Mode())
	}
	// A second server on the same path is refused while the first runs.
	if l, err := Listen(path, ControlMode, ""); err == nil {
		l.Close()
		t.Errorf("Listen on a live socket succeeded")
	}

	// No socket: a clear "not running" error naming the path.
	missing := filepath.Join(t.TempDir(), "control.sock")
	_, err = Dial(missing).Status(ctx)
	if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "maild is not running (no control socket at "+missing+")") {
		t.Errorf("missing socket: %v", err)
	}

	// A stale socket (its server gone) counts as not running, and Listen
	// replaces it.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := Dial(stale).Status(ctx); !errors.Is(err, ErrNotRunning) {
		t.Errorf("stale socket: %v", err)
	}
	l, err = Listen(stale, ControlMode, "")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	l.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("closing the listener left the socket: %v", err)
	}

	// A regular file is never removed.
	file := filepath.Join(t.TempDir(), "file.sock")
	os.WriteFile(file, []byte("data"), 0o600)
	if l, err := Listen(file, ControlMode, ""); err == nil {
		l.Close()
		t.Errorf("Listen replaced a regular file")
	}
}

// The submit socket (0660) takes messages and tells sendmail the hostname;
// it refuses everything the control socket does with the queue and the
// directory.
func TestSubmitSocketOnlySubmits(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	sub := &fakeSubmitter{}
	q := &fakeQueue{}
	c, path := startServer(t, Options{Submitter: sub, Queue: q, Resolver: fakeResolver{}, Hostname: "mail.acme.test", Version: "1.2.3", SubmitOnly: true,
		Listeners: []Listener{{Proto: "smtp", Addr: "127.0.0.1:25"}}})
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("submit socket mode %v, %v; want 0660", fi.Mode(), err)
	}
	if id, err := c.Submit(ctx, "root@mail.acme.test", []string{"alice@acme.test"}, strings.NewReader("Subject: hi\n\nx\n")); err != nil || id == "" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Hostname != "mail.acme.test" || st.Version != "1.2.3" {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if len(st.Listeners) != 0 || st.PID != 0 {
		t.Errorf("the submit socket's status tells more than the hostname: %+v", st)
	}
	var ce *Error
	if _, err := c.Queue(ctx); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Errorf("queue list over the submit socket: %v, want 403", err)
	}
	if err := c.QueueDelete(ctx, "AGRATXYZ2345"); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Errorf("queue delete over the submit socket: %v, want 403", err)
	}
	if err := c.QueueRetry(ctx, ""); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Errorf("queue retry over the submit socket: %v, want 403", err)
	}
	if _, err := c.Resolve(ctx, "alice@acme.test"); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Errorf("resolve over the submit socket: %v, want 403", err)
	}
	if len(q.calls) != 0 {
		t.Errorf("the queue was reached through the submit socket: %q", q.calls)
	}
}
