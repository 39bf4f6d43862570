package imapd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"yubin/storage"
)

// mustOK runs a command and fails the test unless it answers OK.
func (w *rawConn) mustOK(tag, command string) []string {
	w.t.Helper()
	untagged, st := w.cmd(tag, command)
	if !strings.HasPrefix(st, "OK") {
		w.t.Fatalf("%s: %s (after %q)", command, st, untagged)
	}
	return untagged
}

// hasPrefixLine reports whether lines hold one starting with prefix.
func hasPrefixLine(lines []string, prefix string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// TestSelectResponses: SELECT lists the flags in use (keywords included),
// the counts and the UID data, PERMANENTFLAGS with \* and HIGHESTMODSEQ,
// and ends with READ-WRITE; EXAMINE has no PERMANENTFLAGS and is
// READ-ONLY; a failed SELECT leaves the client unselected.
func TestSelectResponses(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	uids := ts.deliver(t, "INBOX", 2)
	ctx := context.Background()
	if err := ts.acct.SetFlags(ctx, "INBOX", uids[1], []string{"$Label1", storage.FlagSeen}); err != nil {
		t.Fatal(err)
	}
	hm, err := ts.acct.HighestModSeq(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	validity, _, _ := ts.acct.UIDs(ctx, "INBOX")
	c := ts.loginWire(t)
	untagged, st := c.cmd("S", "SELECT INBOX")
	want := []string{
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Forwarded $Label1)`,
		"* 2 EXISTS",
		"* 2 RECENT",
		fmt.Sprintf("* OK [UIDVALIDITY %d]", validity),
		"* OK [UIDNEXT 3]",
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Forwarded $Label1 \*)]`,
		fmt.Sprintf("* OK [HIGHESTMODSEQ %d]", hm),
	}
	for _, w := range want {
		if !hasPrefixLine(untagged, w) {
			t.Errorf("SELECT lacks %q: %q", w, untagged)
		}
	}
	if !strings.HasPrefix(st, "OK [READ-WRITE]") {
		t.Errorf("SELECT: %s", st)
	}
	untagged, st = c.cmd("E", "EXAMINE INBOX")
	if hasPrefixLine(untagged, "* OK [PERMANENTFLAGS") || hasPrefixLine(untagged, "* OK [CLOSED]") || !strings.HasPrefix(st, "OK [READ-ONLY]") {
		t.Errorf("EXAMINE: %q %s", untagged, st)
	}
	if _, st := c.cmd("N", "SELECT nosuch"); !strings.HasPrefix(st, "NO [NONEXISTENT]") {
		t.Errorf("SELECT nosuch: %s", st)
	}
	// RFC 9051 §6.3.2: a failed SELECT closed the previous mailbox.
	if _, st := c.cmd("X", "EXPUNGE"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("EXPUNGE after a failed SELECT: %s, want BAD (not selected)", st)
	}
}

// TestSelectClosed: a client that enabled QRESYNC or IMAP4rev2 is told
// [CLOSED] when a SELECT replaces its mailbox (RFC 7162 §3.2.11); others
// are not.
func TestSelectClosed(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	for _, tc := range []struct {
		enable string
		closed bool
	}{{"", false}, {"QRESYNC", true}, {"IMAP4rev2", true}} {
		c := ts.loginWire(t)
		if tc.enable != "" {
			c.mustOK("EN", "ENABLE "+tc.enable)
		}
		first := c.mustOK("S1", "SELECT INBOX")
		if hasPrefixLine(first, "* OK [CLOSED]") {
			t.Errorf("%s: [CLOSED] on the first SELECT", tc.enable)
		}
		again := c.mustOK("S2", "EXAMINE INBOX")
		if got := len(again) > 0 && strings.HasPrefix(again[0], "* OK [CLOSED]"); got != tc.closed {
			t.Errorf("ENABLE %q: second SELECT begins %q; [CLOSED] expected: %v", tc.enable, again, tc.closed)
		}
		if tc.enable == "IMAP4rev2" && hasPrefixLine(again, "* 0 RECENT") {
			t.Errorf("IMAP4rev2 client got RECENT: %q", again)
		}
	}
}

// TestSelectParams: SELECT (CONDSTORE) turns CONDSTORE on; QRESYNC
// parameters without ENABLE QRESYNC and malformed ones are BAD.
func TestSelectParams(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 1)
	c := ts.loginWire(t)
	for _, tc := range []struct{ cmd, want string }{
		{"SELECT INBOX (QRESYNC (1 1))", "BAD"},
		{"SELECT INBOX (FOO)", "BAD"},
		{"SELECT INBOX ()", "BAD"},
		{"SELECT INBOX (CONDSTORE)", "OK"},
	} {
		if _, st := c.cmd("P", tc.cmd); !strings.HasPrefix(st, tc.want) {
			t.Errorf("%s: %s, want %s", tc.cmd, st, tc.want)
		}
	}
	untagged := c.mustOK("T", "STORE 1 +FLAGS (\\Seen)")
	if !hasPrefixLine(untagged, "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ (") {
		t.Errorf("STORE after SELECT (CONDSTORE): %q, want MODSEQ", untagged)
	}
	c.mustOK("E", "ENABLE QRESYNC")
	for _, tc := range []struct{ cmd, want string }{
		{"SELECT INBOX (QRESYNC (1 0))", "BAD"},
		{"SELECT INBOX (QRESYNC (1))", "BAD"},
		{"SELECT INBOX (QRESYNC (1 1 1:5 (1:2 1:2) 7))", "BAD"},
		{"SELECT INBOX (QRESYNC (1 1 1:5 (1:2 1:2)))", "OK"},
		{"SELECT INBOX (QRESYNC (1 1 (1 1)))", "OK"},
		{"SELECT INBOX (CONDSTORE QRESYNC (1 1 1:*))", "BAD"}, // RFC 7162 §7 known-uids: no "*"
		{"SELECT INBOX (CONDSTORE QRESYNC (1 1 1:9))", "OK"},
	} {
		if _, st := c.cmd("P", tc.cmd); !strings.HasPrefix(st, tc.want) {
			t.Errorf("%s: %s, want %s", tc.cmd, st, tc.want)
		}
	}
}

// TestUIDValidityChangeEndsSession: a mailbox deleted and created again
// under a session that has it selected has a new UIDVALIDITY: the
// client's UIDs mean nothing any more, and the session ends with BYE
// (RFC 3501 §2.3.1.1) rather than mixing the two mailboxes' messages.
func TestUIDValidityChangeEndsSession(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ctx := context.Background()
	if err := ts.acct.CreateMailbox(ctx, "Box"); err != nil {
		t.Fatal(err)
	}
	ts.deliver(t, "Box", 2)
	c := ts.loginWire(t)
	c.mustOK("S", "SELECT Box")
	if err := ts.acct.DeleteMailbox(ctx, "Box"); err != nil {
		t.Fatal(err)
	}
	if got := c.mustOK("N", "NOOP"); len(got) != 0 {
		t.Errorf("NOOP with the mailbox gone: %q", got)
	}
	if err := ts.acct.CreateMailbox(ctx, "Box"); err != nil {
		t.Fatal(err)
	}
	ts.deliver(t, "Box", 1)
	untagged, _ := c.cmd("N", "NOOP")
	if !hasPrefixLine(untagged, "* BYE") || hasPrefixLine(untagged, "* 3 EXISTS") {
		t.Errorf("NOOP after the mailbox was made anew: %q, want BYE", untagged)
	}
}
