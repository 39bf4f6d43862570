package imapd

import (
	"context"
	"slices"
	"strings"
	"testing"

	"yubin/storage"
)

// TestExpungeHeldBack: another session's EXPUNGE is not announced during
// STORE (RFC 9051 §7.5.1): the sequence numbers the client holds stay
// valid, the expunged message is skipped, and the EXPUNGE comes at the
// next NOOP; a delivery meanwhile counts the held-back message in EXISTS.
func TestExpungeHeldBack(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 3)
	a, b := ts.loginWire(t), ts.loginWire(t)
	a.mustOK("S", "SELECT INBOX")
	b.mustOK("S", "SELECT INBOX")
	a.mustOK("D", `STORE 1 +FLAGS.SILENT (\Deleted)`)
	if got := a.mustOK("X", "EXPUNGE"); !slices.Equal(got, []string{"* 1 EXPUNGE"}) {
		t.Errorf("A's EXPUNGE: %q", got)
	}
	ts.deliver(t, "INBOX", 1)
	got := b.mustOK("T", `STORE 1:3 +FLAGS (\Seen)`)
	// B is the first to see message 4: it is recent to B.
	want := []string{`* 2 FETCH (UID 2 FLAGS (\Seen))`, `* 3 FETCH (UID 3 FLAGS (\Seen))`, "* 4 EXISTS", "* 1 RECENT"}
	if !slices.Equal(got, want) {
		t.Errorf("B's STORE with an EXPUNGE pending: %q, want %q", got, want)
	}
	if got := b.mustOK("N", "NOOP"); !slices.Equal(got, []string{"* 1 EXPUNGE"}) {
		t.Errorf("B's NOOP: %q", got)
	}
	if got := b.mustOK("T", `STORE 3 +FLAGS (\Flagged)`); !slices.Equal(got, []string{`* 3 FETCH (UID 4 FLAGS (\Flagged \Recent))`}) {
		t.Errorf("B's STORE 3 after the EXPUNGE: %q", got)
	}
	// UID EXPUNGE removes only the given \Deleted messages (RFC 4315).
	a.mustOK("D", `STORE 1:* +FLAGS.SILENT (\Deleted)`)
	got = a.mustOK("X", "UID EXPUNGE 3")
	if !slices.Equal(got, []string{"* 2 EXPUNGE"}) {
		t.Errorf("A's UID EXPUNGE 3: %q", got)
	}
	msgs, _ := ts.acct.Messages(context.Background(), "INBOX")
	if len(msgs) != 2 || msgs[0].UID != 2 || msgs[1].UID != 4 {
		t.Errorf("after UID EXPUNGE 3: %v", msgs)
	}
}

// TestCloseExpungesSilently: CLOSE removes \Deleted messages without
// EXPUNGE responses; CLOSE after EXAMINE removes nothing (RFC 3501
// §6.4.2); UNSELECT removes nothing.
func TestCloseExpungesSilently(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	uids := ts.deliver(t, "INBOX", 3)
	ctx := context.Background()
	for _, u := range uids[:2] {
		if err := ts.acct.SetFlags(ctx, "INBOX", u, []string{storage.FlagDeleted}); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.loginWire(t)
	c.mustOK("E", "EXAMINE INBOX")
	if got := c.mustOK("C", "CLOSE"); len(got) != 0 {
		t.Errorf("CLOSE after EXAMINE: %q", got)
	}
	c.mustOK("S", "SELECT INBOX")
	c.mustOK("U", "UNSELECT")
	if st, _ := ts.acct.Status(ctx, "INBOX"); st.Messages != 3 {
		t.Errorf("after EXAMINE/CLOSE and UNSELECT: %d messages, want 3", st.Messages)
	}
	c.mustOK("S", "SELECT INBOX")
	if got := c.mustOK("C", "CLOSE"); len(got) != 0 {
		t.Errorf("CLOSE: %q, want no untagged responses", got)
	}
	if st, _ := ts.acct.Status(ctx, "INBOX"); st.Messages != 1 {
		t.Errorf("after CLOSE: %d messages, want 1", st.Messages)
	}
	if _, st := c.cmd("N", "EXPUNGE"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("EXPUNGE after CLOSE: %s, want BAD", st)
	}
}
