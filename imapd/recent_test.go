package imapd

import (
	"context"
	"slices"
	"strings"
	"testing"

	"yubin/storage"
)

// TestRecentOnce: a message is \Recent in exactly one session, the first
// told of it (RFC 3501 §2.3.2); EXAMINE shows recent messages without
// taking them; an IMAP4rev2 client is never told of RECENT.
func TestRecentOnce(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 2)
	a, b, rev2 := ts.loginWire(t), ts.loginWire(t), ts.loginWire(t)
	if got := b.mustOK("E", "EXAMINE INBOX"); !slices.Contains(got, "* 2 RECENT") {
		t.Errorf("EXAMINE before any SELECT: %q, want 2 RECENT", got)
	}
	if got := a.mustOK("S", "SELECT INBOX"); !slices.Contains(got, "* 2 RECENT") {
		t.Errorf("A's SELECT: %q, want 2 RECENT", got)
	}
	if got := b.mustOK("S", "SELECT INBOX"); !slices.Contains(got, "* 0 RECENT") {
		t.Errorf("B's SELECT: %q, want 0 RECENT", got)
	}
	rev2.mustOK("E", "ENABLE IMAP4rev2")
	if got := rev2.mustOK("S", "SELECT INBOX"); hasPrefixLine(got, "* 0 RECENT") || hasPrefixLine(got, "* 2 RECENT") {
		t.Errorf("IMAP4rev2 SELECT: %q", got)
	}
	ts.deliver(t, "INBOX", 1)
	if got := b.mustOK("N", "NOOP"); !slices.Equal(got, []string{"* 3 EXISTS", "* 1 RECENT"}) {
		t.Errorf("B first to see message 3: %q", got)
	}
	if got := a.mustOK("N", "NOOP"); !slices.Equal(got, []string{"* 3 EXISTS", "* 2 RECENT"}) {
		t.Errorf("A after B took message 3: %q", got)
	}
	if got := rev2.mustOK("N", "NOOP"); !slices.Equal(got, []string{"* 3 EXISTS"}) {
		t.Errorf("IMAP4rev2 client: %q", got)
	}
	if got := b.mustOK("T", `STORE 1,3 -FLAGS (\Seen)`); !slices.Equal(got, []string{`* 1 FETCH (UID 1 FLAGS ())`, `* 3 FETCH (UID 3 FLAGS (\Recent))`}) {
		t.Errorf("B's FLAGS show \\Recent only for its message: %q", got)
	}
}

// TestNewMessageKeyword: a message arriving with a keyword new to the
// mailbox (APPEND with flags, a copy) is preceded by FLAGS (RFC 3501
// §7.2.6).
func TestNewMessageKeyword(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	c := ts.loginWire(t)
	c.mustOK("S", "SELECT INBOX")
	if _, err := ts.acct.Deliver(context.Background(), "INBOX", strings.NewReader("Subject: kw\r\n\r\nx\r\n"), storage.DeliverOptions{Flags: []string{"Fresh"}}); err != nil {
		t.Fatal(err)
	}
	got := c.mustOK("N", "NOOP")
	if len(got) < 3 || got[0] != `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Forwarded Fresh)` || got[2] != "* 1 EXISTS" {
		t.Errorf("NOOP after a delivery with a keyword: %q", got)
	}
}

// TestStatusRecent: STATUS RECENT counts the messages no session has
// been told of yet, and claims none of them.
func TestStatusRecent(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver(t, "INBOX", 2)
	addr, _ := storage.ParseAddress(testUser)
	s := &session{srv: ts.srv, acct: ts.acct, user: addr}
	ctx := context.Background()
	for range 2 {
		if n, err := s.statusRecent(ctx, "INBOX"); err != nil || n != 2 {
			t.Fatalf("STATUS RECENT before any SELECT: %d, %v; want 2", n, err)
		}
	}
	ts.loginWire(t).mustOK("S", "SELECT INBOX")
	ts.deliver(t, "INBOX", 1)
	if n, err := s.statusRecent(ctx, "INBOX"); err != nil || n != 1 {
		t.Errorf("STATUS RECENT after a SELECT and a delivery: %d, %v; want 1", n, err)
	}
}
