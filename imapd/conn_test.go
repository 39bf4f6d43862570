package imapd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCoalescedRepliesReachClient: replies the server writes just before
// it closes the connection (LOGOUT, a BYE after a bad command) are not
// lost in the write buffer.
func TestCoalescedRepliesReachClient(t *testing.T) {
	ts := startTestServer(t)
	for _, tc := range []struct{ send, want string }{
		{"a LOGOUT\r\n", "a OK"},
		{"a LOGIN " + testUser + " " + testPassword + "\r\nb LOGOUT\r\n", "b OK"},
		{"a FOO\r\n", "a BAD"},
	} {
		c, err := net.Dial("tcp", ts.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, tc.send)
		all, _ := io.ReadAll(bufio.NewReader(c))
		c.Close()
		if !strings.Contains(string(all), tc.want) {
			t.Errorf("after %q got %q, want %q", tc.send, all, tc.want)
		}
	}
}

// TestCoalescedWriteBeforeDeadline: a write deadline set after a write
// (crypto/tls sets one of "now" after its close_notify) does not cut off
// what was written before it.
func TestCoalescedWriteBeforeDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := coalescingListener{ln}.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("* BYE bye\r\n"))
		c.SetWriteDeadline(time.Now())
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	all, _ := io.ReadAll(c)
	if string(all) != "* BYE bye\r\n" {
		t.Errorf("got %q", all)
	}
}
