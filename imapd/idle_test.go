package imapd

import (
	"context"
	"strings"
	"testing"

	"yubin/storage"
)

// TestIdleFlushesPending: a message delivered after the client's last
// command and before its IDLE is announced right after "+ idling", not
// when IDLE ends.
func TestIdleFlushesPending(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	if _, st := c.cmd("S", "SELECT INBOX"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("SELECT: %s", st)
	}
	// Delivered between commands: the observer queues it for the session.
	ts.deliver(t, "INBOX", 1)

	c.send("I IDLE")
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	if l := c.line(); l != "* 1 EXISTS" {
		t.Fatalf("first line in IDLE = %q, want * 1 EXISTS", l)
	}
	// Changes during IDLE still arrive while it lasts.
	if err := ts.acct.SetFlags(context.Background(), "INBOX", 1, []string{storage.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	l := c.line()
	if l == "* 1 RECENT" { // RFC 3501 §7.3.2: RECENT goes with EXISTS
		l = c.line()
	}
	if !strings.HasPrefix(l, "* 1 FETCH") || !strings.Contains(l, `\Seen`) {
		t.Fatalf("in IDLE: %q, want * 1 FETCH (FLAGS (\\Seen))", l)
	}
	c.send("DONE")
	if untagged, st := c.until("I"); !strings.HasPrefix(st, "OK") || len(untagged) != 0 {
		t.Fatalf("end of IDLE: %q %s", untagged, st)
	}
}
