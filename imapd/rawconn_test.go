package imapd

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawConn is a raw IMAP connection for tests that need exact transcripts:
// lines are sent as written and responses read line by line.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// dialWire connects to the test server and reads the greeting.
func (ts *testServer) dialWire(t testing.TB) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", ts.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := &rawConn{t: t, conn: c, r: bufio.NewReader(c)}
	if l := w.line(); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("greeting %q", l)
	}
	return w
}

// loginWire is dialWire plus LOGIN as testUser.
func (ts *testServer) loginWire(t testing.TB) *rawConn {
	t.Helper()
	w := ts.dialWire(t)
	w.cmd("L", fmt.Sprintf("LOGIN %s %s", testUser, testPassword))
	return w
}

// send writes s and CRLF.
func (w *rawConn) send(s string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(s + "\r\n")); err != nil {
		w.t.Fatal(err)
	}
}

// line reads one response line (without CRLF). A line that does not come
// within 10 seconds fails the test: the server should have answered.
func (w *rawConn) line() string {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := w.r.ReadString('\n')
	if err != nil {
		w.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends "tag command" and returns the untagged lines and the tagged
// status line.
func (w *rawConn) cmd(tag, command string) (untagged []string, status string) {
	w.t.Helper()
	w.send(tag + " " + command)
	return w.until(tag)
}

// until reads lines up to the one tagged tag.
func (w *rawConn) until(tag string) (untagged []string, status string) {
	w.t.Helper()
	for {
		l := w.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

// logRecorder is a slog.Handler keeping the server's log lines, so tests
// can wait for an event the server logs (a session's end) instead of
// sleeping.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	added chan struct{} // closed and replaced on every line
	attrs []slog.Attr
	root  *logRecorder
}

func newLogRecorder() *logRecorder {
	r := &logRecorder{added: make(chan struct{})}
	r.root = r
	return r
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Level.String() + " " + rec.Message)
	for _, a := range r.attrs {
		b.WriteString(" " + a.String())
	}
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	root := r.root
	root.mu.Lock()
	root.lines = append(root.lines, b.String())
	close(root.added)
	root.added = make(chan struct{})
	root.mu.Unlock()
	return nil
}

func (r *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logRecorder{root: r.root, attrs: append(slices.Clone(r.attrs), attrs...)}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// wait returns the first line containing every one of parts, waiting up
// to 10 seconds for it.
func (r *logRecorder) wait(t testing.TB, parts ...string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for _, l := range r.lines {
			if containsAll(l, parts) {
				r.mu.Unlock()
				return l
			}
		}
		added := r.added
		r.mu.Unlock()
		select {
		case <-added:
		case <-timeout:
			t.Fatalf("no log line with %q", parts)
			return ""
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
