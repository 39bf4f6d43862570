package pop3d

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"yubin/storage"
)

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func TestCommandsInWrongState(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, func(o *Options) { o.MaxBadCommands = 100 })
	e.deliver("Subject: x\r\n\r\ny\r\n")
	c := e.dial()
	for _, cmd := range []string{"STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL", "APOP a b", "XYZZY", "", "   ", "R\x01TR 1"} {
		c.errResp(cmd, " ")
	}
	c.login()
	for _, cmd := range []string{"USER " + testUser, "PASS x", "AUTH PLAIN", "STLS"} {
		c.errResp(cmd, " ")
	}
	for _, cmd := range []string{"RETR", "RETR x", "RETR -1", "RETR 1 2", "TOP 1", "TOP 1 x", "DELE", "STAT 1", "LIST 1 2", "NOOP x"} {
		c.errResp(cmd, " ")
	}
	c.errResp("RETR 2", " No such message")
	c.errResp("RETR 0", " No such message")
	c.ok("NOOP")
	c.ok("noop") // keywords are case-insensitive
}

func TestTooManyBadCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, func(o *Options) { o.MaxBadCommands = 3 })
	c := e.dial()
	c.errResp("FOO", " Unknown")
	c.errResp("BAR", " Unknown")
	c.errResp("BAZ", " Too many")
	c.waitClosed()
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	c := e.dial()
	c.errResp("NOOP "+strings.Repeat("x", 400), " Command not valid") // within the limit
	c.errResp("USER "+strings.Repeat("x", 600), " Line too long")
	c.waitClosed()
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, func(o *Options) { o.IdleTimeout = 100 * time.Millisecond })
	e.deliver("Subject: x\r\n\r\ny\r\n")
	c := e.dial()
	c.login()
	c.ok("DELE 1")
	// Say nothing: the server gives up, and deletes nothing.
	if l := c.line(); !strings.HasPrefix(l, "-ERR Idle timeout") {
		t.Fatalf("got %q", l)
	}
	c.waitClosed()
	if n := e.inboxCount(); n != 1 {
		t.Errorf("after idle timeout: %d messages, want 1", n)
	}
}

func TestDeleRset(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	for i := range 3 {
		e.deliver(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i))
	}
	c := e.dial()
	c.login()
	c.ok("DELE 2")
	c.errResp("DELE 2", " Message 2 already deleted")
	c.errResp("RETR 2", " ")
	c.errResp("LIST 2", " ")
	if r := c.ok("STAT"); r != "+OK 2 40" {
		t.Errorf("STAT after DELE = %q", r)
	}
	c.ok("LIST")
	if got := c.multi(); got != "1 20\r\n3 20\r\n" {
		t.Errorf("LIST after DELE = %q", got)
	}
	if r := c.ok("RSET"); r != "+OK Maildrop has 3 messages (60 octets)" {
		t.Errorf("RSET = %q", r)
	}
	c.ok("RETR 2")
	c.multi()
	if r := c.quit(); !strings.HasPrefix(r, "+OK") {
		t.Errorf("QUIT = %q", r)
	}
	if n := e.inboxCount(); n != 3 {
		t.Errorf("after RSET and QUIT: %d messages, want 3", n)
	}
}

func TestDeleQuitExpunges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	var uids []uint32
	for i := range 3 {
		uids = append(uids, e.deliver(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)))
	}
	c := e.dial()
	c.login()
	c.ok("DELE 1")
	c.ok("DELE 3")
	if n := e.inboxCount(); n != 3 {
		t.Fatalf("DELE removed a message before QUIT: %d left", n)
	}
	if r := c.quit(); r != "+OK Yubin POP3 server signing off (1 messages left)" {
		t.Errorf("QUIT = %q", r)
	}
	ms, err := e.acct.Messages(context.Background(), storage.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].UID != uids[1] {
		t.Fatalf("after QUIT: %+v, want only UID %d", ms, uids[1])
	}
	if ents, _ := os.ReadDir(filepath.Join(e.acct.Dir(), "new")); len(ents) != 1 {
		t.Errorf("%d files left in new/, want 1", len(ents))
	}
}

func TestDroppedConnectionDeletesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	e.deliver("Subject: a\r\n\r\nbody\r\n")
	e.deliver("Subject: b\r\n\r\nbody\r\n")
	c := e.dial()
	c.login()
	c.ok("DELE 1")
	c.ok("DELE 2")
	c.conn.Close()
	// Once the session is gone the lock is free; a new session sees both.
	c = e.dial()
	for {
		c.ok("USER " + testUser)
		r := c.cmd("PASS " + testPass)
		if strings.HasPrefix(r, "+OK") {
			if r != "+OK Maildrop has 2 messages (40 octets)" {
				t.Errorf("after drop: %q", r)
			}
			break
		}
		if !strings.HasPrefix(r, "-ERR [IN-USE]") {
			t.Fatalf("PASS: %q", r)
		}
	}
	// Close drops this session too, after DELE: still nothing deleted.
	c.ok("DELE 1")
	e.srv.Close()
	c.waitClosed()
	if n := e.inboxCount(); n != 2 {
		t.Errorf("after Close: %d messages, want 2", n)
	}
}

func TestTop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	hdr := "From: a@b.test\r\nSubject: top\r\n\r\n"
	e.deliver(hdr + "line 1\r\n.line 2\r\nline 3\r\n")
	e.deliver("Subject: no body") // no blank line, no final CRLF
	c := e.dial()
	c.login()
	for _, tc := range []struct {
		cmd, want string
	}{
		{"TOP 1 0", hdr},
		{"TOP 1 1", hdr + "line 1\r\n"},
		{"TOP 1 2", hdr + "line 1\r\n.line 2\r\n"},
		{"TOP 1 99", hdr + "line 1\r\n.line 2\r\nline 3\r\n"},
		{"TOP 2 0", "Subject: no body\r\n"},
	} {
		c.ok(tc.cmd)
		if got := c.multi(); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

func TestUIDLStable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	u1 := e.deliver("Subject: 1\r\n\r\nx\r\n")
	u2 := e.deliver("Subject: 2\r\n\r\nx\r\n")
	st, err := e.acct.Status(context.Background(), storage.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	v := strconv.FormatUint(uint64(st.UIDValidity), 10)
	want := fmt.Sprintf("1 %s.%d\r\n2 %s.%d\r\n", v, u1, v, u2)
	uidl := func() string {
		c := e.dial()
		c.login()
		c.ok("UIDL")
		got := c.multi()
		if r := c.ok("UIDL 2"); r != fmt.Sprintf("+OK 2 %s.%d", v, u2) {
			t.Errorf("UIDL 2 = %q", r)
		}
		c.quit()
		return got
	}
	if got := uidl(); got != want {
		t.Fatalf("UIDL = %q, want %q", got, want)
	}
	if got := uidl(); got != want {
		t.Errorf("UIDL in a second session = %q, want %q", got, want)
	}
	// Deleting message 1 does not renumber the id of the other one.
	c := e.dial()
	c.login()
	c.ok("DELE 1")
	c.quit()
	c = e.dial()
	c.login()
	c.ok("UIDL")
	if got := c.multi(); got != fmt.Sprintf("1 %s.%d\r\n", v, u2) {
		t.Errorf("UIDL after deleting 1 = %q", got)
	}
}

func TestUIDLStableAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	uidl := func(deliver bool) string {
		st, err := storage.Open(dir, storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if deliver {
			st.AddDomain(ctx, "acme.test")
			if _, err := st.AddUser(ctx, testUser, testPass, 0); err != nil {
				t.Fatal(err)
			}
			a, _ := storage.ParseAddress(testUser)
			acct, err := st.Account(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				acct.Deliver(ctx, storage.Inbox, strings.NewReader("Subject: s\r\n\r\nx\r\n"), storage.DeliverOptions{})
			}
		}
		srv, err := New(Options{Auth: storage.NewLoginGuard(st, storage.LoginOptions{}), Maildrops: st, PlaintextOnLoopback: true})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		e := &env{t: t, srv: srv}
		c := e.pipeSession("127.0.0.1")
		c.login()
		c.ok("UIDL")
		got := c.multi()
		c.quit()
		return got
	}
	first := uidl(true)
	if second := uidl(false); second != first || first == "" {
		t.Errorf("UIDL after restart = %q, before %q", second, first)
	}
}

// TestSizesMatchRetr checks that LIST and STAT report exactly the octets
// RETR delivers, for files Yubin wrote (CRLF) and files other tools
// dropped into the Maildir (LF only, no final line end, bare CR).
func TestSizesMatchRetr(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	e.deliver("Subject: crlf\r\n\r\n.dot line\r\n..two dots\r\n.\r\nend\r\n")
	foreign := []string{
		"Subject: lf\n\nline\n.dot\n",
		"Subject: no final newline\n\nlast",
		"Subject: cr\r\n\r\na\rb\r\nend\r",
		"",
		"\n\n.\n",
	}
	for i, body := range foreign {
		p := filepath.Join(e.acct.Dir(), "new", fmt.Sprintf("17000000%02d.M1P1.other", i))
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.acct.Rescan(context.Background(), storage.Inbox); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.login()
	c.ok("LIST")
	list := c.multi()
	var total, count int
	for _, l := range strings.Split(strings.TrimSuffix(list, "\r\n"), "\r\n") {
		var n, size int
		if _, err := fmt.Sscanf(l, "%d %d", &n, &size); err != nil {
			t.Fatalf("LIST line %q: %v", l, err)
		}
		r := c.ok(fmt.Sprintf("RETR %d", n))
		if r != fmt.Sprintf("+OK %d octets", size) {
			t.Errorf("RETR %d reply %q, LIST said %d", n, r, size)
		}
		got := c.multi()
		if len(got) != size {
			t.Errorf("message %d: LIST %d, RETR sent %d octets: %q", n, size, len(got), got)
		}
		if strings.Contains(strings.ReplaceAll(got, "\r\n", ""), "\n") {
			t.Errorf("message %d has a bare LF: %q", n, got)
		}
		total += size
		count++
	}
	if count != 1+len(foreign) {
		t.Errorf("LIST has %d messages, want %d", count, 1+len(foreign))
	}
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK %d %d", count, total) {
		t.Errorf("STAT = %q, want %d %d", r, count, total)
	}
	// The CRLF file goes out byte for byte.
	c.ok("RETR 1")
	if got := c.multi(); got != "Subject: crlf\r\n\r\n.dot line\r\n..two dots\r\n.\r\nend\r\n" {
		t.Errorf("RETR 1 = %q", got)
	}
}

func TestRetrOfMessageExpungedElsewhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	uid := e.deliver("Subject: gone\r\n\r\nx\r\n")
	e.deliver("Subject: stays\r\n\r\nx\r\n")
	c := e.dial()
	c.login()
	// An IMAP session expunges message 1 while POP3 has it listed.
	if err := e.acct.Expunge(context.Background(), storage.Inbox, []uint32{uid}); err != nil {
		t.Fatal(err)
	}
	c.errResp("RETR 1", " Message 1 was removed by another session")
	c.errResp("TOP 1 0", " Message 1 was removed")
	c.ok("RETR 2")
	c.multi()
	c.ok("DELE 1") // deleting what is already gone is harmless
	if r := c.quit(); !strings.HasPrefix(r, "+OK") {
		t.Errorf("QUIT = %q", r)
	}
	if n := e.inboxCount(); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestPipelining(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, nil)
	e.deliver("Subject: p\r\n\r\nx\r\n")
	c := e.dial()
	if _, err := c.conn.Write([]byte("USER " + testUser + "\r\nPASS " + testPass + "\r\nSTAT\r\nLIST\r\nRETR 1\r\nQUIT\r\n")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+OK Send", "+OK Maildrop has 1", "+OK 1 17", "+OK 1 messages"} {
		if l := c.line(); !strings.HasPrefix(l, want) {
			t.Fatalf("got %q, want %q", l, want)
		}
	}
	if got := c.multi(); got != "1 17\r\n" {
		t.Errorf("LIST = %q", got)
	}
	c.line()
	if got := c.multi(); got != "Subject: p\r\n\r\nx\r\n" {
		t.Errorf("RETR = %q", got)
	}
	if l := c.line(); !strings.HasPrefix(l, "+OK") {
		t.Errorf("QUIT = %q", l)
	}
}

func TestConnectionLimitPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storage.LoginOptions{}, func(o *Options) { o.MaxConnectionsPerIP = 1 })
	e.dial()
	c2, err := dialRaw(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	l, _ := bufio.NewReader(c2).ReadString('\n')
	if !strings.HasPrefix(l, "-ERR [SYS/TEMP] Too many connections") {
		t.Errorf("second connection got %q", l)
	}
}
