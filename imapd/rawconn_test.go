package imapd

import (
	"bufio"
	"fmt"
	"net"
	"strings"
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
