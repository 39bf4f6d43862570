package imapd

import (
	"context"
	"os"
	"path/filepath"
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

// TestIdleEnds: IDLE ends with DONE (any case); anything else is BAD;
// a change by another session during IDLE arrives at once; IDLE without
// a selected mailbox just waits for DONE.
func TestIdleEnds(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 2)
	c := ts.loginWire(t)
	c.send("I IDLE") // authenticated state
	if l := c.line(); l != "+ idling" {
		t.Fatalf("IDLE: %q", l)
	}
	c.send("done")
	if untagged, st := c.until("I"); !strings.HasPrefix(st, "OK") || len(untagged) != 0 {
		t.Fatalf("end of IDLE: %q %s", untagged, st)
	}
	c.mustOK("S", "SELECT INBOX")
	other := ts.loginWire(t)
	other.mustOK("S", "SELECT INBOX")
	c.send("I IDLE")
	if l := c.line(); l != "+ idling" {
		t.Fatalf("IDLE: %q", l)
	}
	other.mustOK("D", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	if l := c.line(); l != `* 1 FETCH (UID 1 FLAGS (\Deleted \Recent))` {
		t.Errorf("in IDLE after another's STORE: %q", l)
	}
	other.mustOK("X", "EXPUNGE")
	if l := c.line(); l != "* 1 EXPUNGE" {
		t.Errorf("in IDLE after another's EXPUNGE: %q", l)
	}
	c.send("NOT DONE")
	if untagged, st := c.until("I"); !strings.HasPrefix(st, "BAD") || len(untagged) != 0 {
		t.Errorf("IDLE ended by another line: %q %s, want BAD", untagged, st)
	}
	if got := c.mustOK("N", "NOOP"); len(got) != 0 {
		t.Errorf("NOOP after IDLE: %q", got)
	}
}

// TestIdleSeesOtherProgram: a message another program drops into the
// Maildir reaches an idling client by the poll (no observer call tells
// of it).
func TestIdleSeesOtherProgram(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.mustOK("S", "SELECT INBOX")
	c.send("I IDLE")
	if l := c.line(); l != "+ idling" {
		t.Fatalf("IDLE: %q", l)
	}
	name := filepath.Join(ts.acct.Dir(), "new", "1700000000.M1P1.other")
	if err := os.WriteFile(name, []byte("Subject: dropped\r\n\r\nx\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l := c.line(); l != "* 1 EXISTS" {
		t.Errorf("in IDLE after a file appeared: %q", l)
	}
	c.send("DONE")
	c.until("I")
}
