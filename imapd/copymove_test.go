package imapd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestCopyMove: COPY answers COPYUID (RFC 4315), a missing destination
// TRYCREATE, a copy into the selected mailbox shows as EXISTS; MOVE sends
// COPYUID in an untagged OK before the EXPUNGE (RFC 6851 §4.3), or
// VANISHED for a QRESYNC client.
func TestCopyMove(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 3)
	ctx := context.Background()
	if err := ts.acct.CreateMailbox(ctx, "Other"); err != nil {
		t.Fatal(err)
	}
	dv, _, _ := ts.acct.UIDs(ctx, "Other")
	iv, _, _ := ts.acct.UIDs(ctx, "INBOX")
	c := ts.loginWire(t)
	c.mustOK("S", "SELECT INBOX")
	if _, st := c.cmd("C", "COPY 1:2 Other"); st != fmt.Sprintf("OK [COPYUID %d 1:2 1:2] COPY completed", dv) {
		t.Errorf("COPY: %s", st)
	}
	if _, st := c.cmd("C", "COPY 1 nosuch"); !strings.HasPrefix(st, "NO [TRYCREATE]") {
		t.Errorf("COPY to a missing mailbox: %s", st)
	}
	if _, st := c.cmd("C", "COPY 4 Other"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("COPY 4 of 3: %s", st)
	}
	got, st := c.cmd("C", "UID COPY 3 INBOX")
	if st != fmt.Sprintf("OK [COPYUID %d 3 4] UID COPY completed", iv) || !slices.Contains(got, "* 4 EXISTS") {
		t.Errorf("COPY into the selected mailbox: %q %s", got, st)
	}
	got, st = c.cmd("M", "MOVE 2 Other")
	want := []string{fmt.Sprintf("* OK [COPYUID %d 2 3] Moved", dv), "* 2 EXPUNGE"}
	if !slices.Equal(got, want) || st != "OK MOVE completed" {
		t.Errorf("MOVE: %q %s, want %q", got, st, want)
	}
	c.mustOK("E", "ENABLE QRESYNC")
	got, _ = c.cmd("M", "UID MOVE 3:4 Other")
	want = []string{fmt.Sprintf("* OK [COPYUID %d 3:4 4:5] Moved", dv), "* VANISHED 3:4"}
	if !slices.Equal(got, want) {
		t.Errorf("UID MOVE with QRESYNC: %q, want %q", got, want)
	}
	if st, _ := ts.acct.Status(ctx, "Other"); st.Messages != 5 {
		t.Errorf("Other has %d messages, want 5", st.Messages)
	}
	c.mustOK("E", "EXAMINE INBOX")
	if _, st := c.cmd("M", "MOVE 1 Other"); !strings.HasPrefix(st, "NO [CANNOT]") {
		t.Errorf("MOVE from a read-only mailbox: %s", st)
	}
}
