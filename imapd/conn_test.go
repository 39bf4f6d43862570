package imapd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// TestCoalescedRepliesReachClient: replies the server writes just before
// it closes the connection (LOGOUT, a BYE after a bad command) are not
// lost in the write buffer.
func TestCoalescedRepliesReachClient(t *testing.T) {
	t.Parallel()
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
		// The client sends nothing more: the server's read ends and it
		// closes the connection right after its last reply, which must
		// not be lost (and the test does not wait for the autologout).
		c.(*net.TCPConn).CloseWrite()
		all, _ := io.ReadAll(bufio.NewReader(c))
		c.Close()
		if !strings.Contains(string(all), tc.want) {
			t.Errorf("after %q got %q, want %q", tc.send, all, tc.want)
		}
	}
}
