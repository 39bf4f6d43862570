package imapd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

// TestAppendCutShort: a connection that ends inside an APPEND literal
// stores nothing (not the bytes that did arrive), with synchronizing and
// non-synchronizing (LITERAL+) literals alike.
func TestAppendCutShort(t *testing.T) {
	t.Parallel()
	for _, lit := range []string{"{40000000}", "{40000000+}"} {
		t.Run(lit, func(t *testing.T) {
			t.Parallel()
			ts := startTestServer(t)
			c := ts.loginWire(t)
			c.send("A APPEND INBOX " + lit)
			if !strings.HasSuffix(lit, "+}") {
				if l := c.line(); !strings.HasPrefix(l, "+") {
					t.Fatalf("APPEND: %q", l)
				}
			}
			if _, err := c.conn.Write([]byte("Subject: x")); err != nil {
				t.Fatal(err)
			}
			c.conn.Close()
			ts.logs.wait(t, "disconnected")

			st, err := ts.acct.Status(context.Background(), "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			if st.Messages != 0 {
				t.Errorf("INBOX holds %d messages after a cut-short APPEND", st.Messages)
			}
			for _, sub := range []string{"tmp", "new", "cur"} {
				files, err := os.ReadDir(filepath.Join(ts.acct.Dir(), sub))
				if err != nil {
					t.Fatal(err)
				}
				if len(files) != 0 {
					t.Errorf("%s/ holds %d files", sub, len(files))
				}
			}
			line := ts.logs.wait(t, "append cut short")
			if !strings.Contains(line, "received=10") || !strings.Contains(line, "user="+testUser) {
				t.Errorf("log line %q", line)
			}
		})
	}
}

// TestAppendWhole: the same APPEND with every byte stores the message.
func TestAppendWhole(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	msg := "Subject: x\r\n\r\nhello\r\n"
	c.send(fmt.Sprintf("A APPEND INBOX {%d+}", len(msg)))
	c.send(msg)
	if _, st := c.until("A"); !strings.HasPrefix(st, "OK [APPENDUID") {
		t.Fatalf("APPEND: %s", st)
	}
	st, err := ts.acct.Status(context.Background(), "INBOX")
	if err != nil || st.Messages != 1 {
		t.Fatalf("status %+v %v", st, err)
	}
}

// startTestServerWith is startTestServer with Options changed by set.
func startTestServerWith(t *testing.T, set func(*Options)) *testServer {
	t.Helper()
	dir := t.TempDir()
	st, acct, err := openTestStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := newLogRecorder()
	opts := Options{
		Auth:                storage.NewLoginGuard(st, storage.LoginOptions{}),
		Accounts:            st,
		PlaintextOnLoopback: true,
		Logger:              slog.New(logs),
	}
	set(&opts)
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	st.SetObserver(srv.Observe)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{dir: dir, st: st, srv: srv, ln: ln, done: make(chan error, 1), acct: acct, logs: logs}
	go func() { ts.done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := ts.close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return ts
}

// TestAppendOptions: flags (a keyword too) and the internal date are
// kept; a missing mailbox is NO [TRYCREATE]; an unknown system flag is
// BAD [CLIENTBUG] and nothing is stored.
func TestAppendOptions(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	msg := "Subject: x\r\n\r\nhello\r\n"
	_, st := c.cmd("A", fmt.Sprintf(`APPEND Drafts (\Draft $Todo \Recent) "05-Dec-2026 09:08:07 +0100" {%d+}`+"\r\n%s", len(msg), msg))
	if !strings.HasPrefix(st, "OK [APPENDUID ") || !strings.Contains(st, " 1]") {
		t.Fatalf("APPEND: %s", st)
	}
	msgs, err := ts.acct.Messages(context.Background(), "Drafts")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Drafts: %v %v", msgs, err)
	}
	m := msgs[0]
	if !slices.Equal(m.Flags, []string{"$Todo", `\Draft`}) && !slices.Equal(m.Flags, []string{`\Draft`, "$Todo"}) {
		t.Errorf("flags %q", m.Flags)
	}
	if want := time.Date(2026, 12, 5, 8, 8, 7, 0, time.UTC); !m.InternalDate.Equal(want) {
		t.Errorf("internal date %v, want %v", m.InternalDate, want)
	}
	if m.Size != int64(len(msg)) {
		t.Errorf("size %d, want %d", m.Size, len(msg))
	}
	c.must("APPEND nosuch {5}\r\nx\r\n\r\n", "NO [TRYCREATE]")
	c.must("APPEND Drafts (\\Foo) {5+}\r\nx\r\n\r\n", "BAD [CLIENTBUG]")
	c.must("NOOP", "OK") // the session goes on after the literal was read
	if st, _ := ts.acct.Status(context.Background(), "Drafts"); st.Messages != 1 {
		t.Errorf("Drafts holds %d messages", st.Messages)
	}
}

// TestMultiAppend: several messages in one APPEND (RFC 3502) get one
// APPENDUID with their UIDs; when one of them is refused none is kept.
func TestMultiAppend(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	_, st := c.cmd("A", "APPEND Trash {5+}\r\na\r\n\r\n (\\Seen) {5+}\r\nb\r\n\r\n {5+}\r\nc\r\n\r\n")
	if !strings.HasPrefix(st, "OK [APPENDUID ") || !strings.Contains(st, " 1:3]") {
		t.Fatalf("MULTIAPPEND: %s", st)
	}
	c.must("APPEND Trash {5+}\r\na\r\n\r\n (\\Bogus) {5+}\r\nb\r\n\r\n {5+}\r\nc\r\n\r\n", "BAD [CLIENTBUG]")
	if st, _ := ts.acct.Status(context.Background(), "Trash"); st.Messages != 3 {
		t.Errorf("Trash holds %d messages after a refused MULTIAPPEND, want 3", st.Messages)
	}
}

// TestAppendTooBig: a literal over APPENDLIMIT is NO [TOOBIG] (RFC
// 7889): a synchronising one gets no "+" and its data never comes; a
// non-synchronising one is read and dropped; the session goes on.
func TestAppendTooBig(t *testing.T) {
	t.Parallel()
	ts := startTestServerWith(t, func(o *Options) { o.AppendLimit = 100 })
	c := ts.loginWire(t)
	c.must("APPEND INBOX {101}", "NO [TOOBIG]")
	c.must("APPEND INBOX {101+}\r\n"+strings.Repeat("x", 101), "NO [TOOBIG]")
	c.must("APPEND INBOX {100+}\r\n"+strings.Repeat("x", 100), "OK [APPENDUID")
	u := c.must("STATUS INBOX (MESSAGES APPENDLIMIT)", "OK")
	if !slices.Equal(u, []string{"* STATUS INBOX (MESSAGES 1 APPENDLIMIT 100)"}) {
		t.Errorf("STATUS: %q", u)
	}
}

// TestAppendOverQuota: a message that takes the user over quota is
// NO [OVERQUOTA] and not stored.
func TestAppendOverQuota(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	if err := ts.st.SetQuota(context.Background(), testUser, 1000); err != nil {
		t.Fatal(err)
	}
	c := ts.loginWire(t)
	c.must("APPEND INBOX {1500+}\r\n"+strings.Repeat("x", 1500), "NO [OVERQUOTA]")
	if st, _ := ts.acct.Status(context.Background(), "INBOX"); st.Messages != 0 {
		t.Errorf("INBOX holds %d messages", st.Messages)
	}
}
