package imapd

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestStoreAnnouncesKeywords: a keyword new to the mailbox reaches the
// storing client and the other sessions in FLAGS (and PERMANENTFLAGS)
// before any FETCH that shows it (RFC 3501 §7.2.6); the storing client is
// not told of its own change again.
func TestStoreAnnouncesKeywords(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 2)
	a, b := ts.loginWire(t), ts.loginWire(t)
	a.mustOK("S", "SELECT INBOX")
	b.mustOK("S", "SELECT INBOX")
	got := a.mustOK("T", "STORE 2 +FLAGS (NewKw \\Seen)")
	want := []string{
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Forwarded NewKw)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Forwarded NewKw \*)] Flags permitted`,
		`* 2 FETCH (UID 2 FLAGS (NewKw \Seen \Recent))`, // A selected first: the messages are recent to A
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("A's STORE:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := a.mustOK("N", "NOOP"); len(got) != 0 {
		t.Errorf("A was told of its own STORE: %q", got)
	}
	got = b.mustOK("N", "NOOP")
	want[2] = `* 2 FETCH (UID 2 FLAGS (NewKw \Seen))`
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("B's NOOP:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Another STORE with a known keyword needs no FLAGS; -FLAGS and
	// FLAGS work; keywords compare without case.
	got = b.mustOK("T", "STORE 1:2 FLAGS (newkw)")
	if len(got) != 2 || got[0] != `* 1 FETCH (UID 1 FLAGS (newkw))` || got[1] != `* 2 FETCH (UID 2 FLAGS (newkw))` {
		t.Errorf("B's STORE FLAGS: %q", got)
	}
	got = b.mustOK("T", "UID STORE 2 -FLAGS.SILENT (NEWKW)")
	if len(got) != 0 {
		t.Errorf("B's STORE .SILENT: %q", got)
	}
	got = a.mustOK("N", "NOOP")
	if len(got) != 2 || got[0] != `* 1 FETCH (UID 1 FLAGS (newkw \Recent))` || got[1] != `* 2 FETCH (UID 2 FLAGS (\Recent))` {
		t.Errorf("A after B's STOREs: %q", got)
	}
}

// TestStoreRefused: \Recent and unknown system flags are BAD, numbers
// beyond the mailbox are BAD, and a read-only mailbox is NO [CANNOT].
func TestStoreRefused(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 1)
	c := ts.loginWire(t)
	c.mustOK("S", "SELECT INBOX")
	for _, tc := range []struct{ cmd, want string }{
		{`STORE 1 +FLAGS (\Recent)`, "BAD"},
		{`STORE 1 +FLAGS (\Foo)`, "BAD [CLIENTBUG]"},
		{`STORE 2 +FLAGS (\Seen)`, "BAD"},
		{`UID STORE 2 +FLAGS (\Seen)`, "OK"},
		{`STORE 1 +FLAGS (a"b)`, "BAD"},
	} {
		if _, st := c.cmd("T", tc.cmd); !strings.HasPrefix(st, tc.want) {
			t.Errorf("%s: %s, want %s", tc.cmd, st, tc.want)
		}
	}
	ts.logs.wait(t, "refused", "op=store", "reply=BAD", "code=CLIENTBUG", "user="+testUser)
	c.mustOK("E", "EXAMINE INBOX")
	if _, st := c.cmd("T", `STORE 1 +FLAGS (\Seen)`); !strings.HasPrefix(st, "NO [CANNOT]") {
		t.Errorf("STORE in EXAMINE: %s", st)
	}
	ts.logs.wait(t, "refused", "op=store", "reply=NO", "code=CANNOT")
}

// TestStoreUnchangedSince: STORE (UNCHANGEDSINCE m) changes the messages
// not modified after m, answers with their MODSEQ, and lists the others
// in [MODIFIED] (RFC 7162 §3.1.3); .SILENT still reports the MODSEQ.
func TestStoreUnchangedSince(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	uids := ts.deliver(t, "INBOX", 2)
	ctx := context.Background()
	c := ts.loginWire(t)
	c.mustOK("S", "SELECT INBOX")
	m1, _ := ts.acct.Message(ctx, "INBOX", uids[0])
	m2, _ := ts.acct.Message(ctx, "INBOX", uids[1])
	// m1 is older than m2: UNCHANGEDSINCE m1 passes 1 and fails 2.
	untagged, st := c.cmd("T", fmt.Sprintf(`STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\Flagged)`, m1.ModSeq))
	if st != "OK [MODIFIED 2] Conditional STORE failed" {
		t.Errorf("STORE UNCHANGEDSINCE: %s", st)
	}
	after, _ := ts.acct.Message(ctx, "INBOX", uids[0])
	if len(untagged) != 1 || untagged[0] != fmt.Sprintf(`* 1 FETCH (UID 1 FLAGS (\Flagged \Recent) MODSEQ (%d))`, after.ModSeq) {
		t.Errorf("STORE UNCHANGEDSINCE untagged: %q", untagged)
	}
	untagged, st = c.cmd("T", fmt.Sprintf(`UID STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\Seen)`, m2.ModSeq))
	if st != "OK [MODIFIED 1] Conditional STORE failed" {
		t.Errorf("UID STORE UNCHANGEDSINCE: %s", st)
	}
	after2, _ := ts.acct.Message(ctx, "INBOX", uids[1])
	// RFC 7162 §3.1.3: UNCHANGEDSINCE 0 fails for every message.
	if untagged, st := c.cmd("T", `STORE 1:2 (UNCHANGEDSINCE 0) -FLAGS (\Flagged)`); st != "OK [MODIFIED 1:2] Conditional STORE failed" || len(untagged) != 0 {
		t.Errorf("UNCHANGEDSINCE 0: %q %s", untagged, st)
	}
	if len(untagged) != 1 || untagged[0] != fmt.Sprintf(`* 2 FETCH (UID 2 MODSEQ (%d))`, after2.ModSeq) {
		t.Errorf(".SILENT with CONDSTORE: %q", untagged)
	}
}
