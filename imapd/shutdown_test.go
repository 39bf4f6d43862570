package imapd

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCloseSendsBye: Close tells every session, idling, selected or not
// yet logged in, "* BYE" before closing it, and accepts no more
// connections.
func TestCloseSendsBye(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	idling := ts.loginWire(t)
	if _, st := idling.cmd("S", "SELECT INBOX"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("SELECT: %s", st)
	}
	idling.send("I IDLE")
	if l := idling.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	loggedIn := ts.loginWire(t)
	fresh := ts.dialWire(t)

	if err := ts.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*rawConn{"idling": idling, "logged in": loggedIn, "not logged in": fresh} {
		if l := c.line(); l != "* BYE Server shutting down" {
			t.Errorf("%s: got %q, want * BYE", name, l)
		}
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.r.ReadByte(); err != io.EOF {
			t.Errorf("%s: after BYE: %v, want EOF", name, err)
		}
	}
	if c, err := net.Dial("tcp", ts.ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("the listener still accepts after Close")
	}
}
